//! Unit tests of the use cases, every port mocked.
//!
//! The fixtures shared by the test modules live here: a fixed clock, the notification, credit
//! and event fixtures, and [`Mocks`], every port of [`PaymentService`] mocked (an unexpected
//! call fails the test).

mod confirm;
mod outbox;
mod receive;
mod reconcile;
mod replay;
mod retry;

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use payram_domain::{
    Amount, AuthMethod, CreditPolicy, CustomerId, EventOutcome, Inbound, Notification, Outcome,
    PaymentStatus, ReferenceId, ReportedStatus,
};
use payram_ports::{
    Applied, Delivery, EventId, EventRecord, MockBodyParser, MockClock, MockCrediting, MockLedger,
    MockQueries, MockRetrySchedule, Origin, RecordedCredit, Rejection, RepositoryError,
};

use crate::{PaymentService, RetryPolicy, Storage};

/// The time every mocked clock tells.
fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
}

fn clock() -> Arc<MockClock> {
    let mut clock = MockClock::new();
    clock.expect_now().returning(at);
    Arc::new(clock)
}

fn amount(text: &str) -> Amount {
    Amount::parse(text).unwrap()
}

fn reference(text: &str) -> ReferenceId {
    ReferenceId::parse(text).unwrap()
}

/// `ref-1` FILLED for 50.00 USD, for `customer`.
fn filled(customer: Option<&str>) -> Notification {
    Notification {
        reference_id: reference("ref-1"),
        status: ReportedStatus::Known(PaymentStatus::Filled),
        customer_id: customer.map(|c| CustomerId::parse(c).unwrap()),
        invoice_id: None,
        amount: None,
        currency: None,
        filled_amount: None,
        filled_amount_in_usd: Some(amount("50.00")),
    }
}

/// A signed webhook delivery with the raw body `{raw}`.
fn delivery(content: Result<Inbound, Rejection>) -> Delivery {
    Delivery {
        origin: Origin::Webhook,
        method: "POST".into(),
        auth: AuthMethod::Signature { key_index: 0 },
        raw_body: b"{raw}".to_vec(),
        content,
    }
}

/// The delivery of `filled(Some("cust-1"))`.
fn payment_delivery() -> Delivery {
    delivery(Ok(Inbound::Payment(filled(Some("cust-1")))))
}

/// Credit 7 of event 1: 50.00 USD to `cust-1` for `ref-1`.
fn credit() -> RecordedCredit {
    RecordedCredit {
        id: 7,
        reference_id: reference("ref-1"),
        customer_id: CustomerId::parse("cust-1").unwrap(),
        amount_usd: amount("50.00"),
        credited_total_usd: amount("50.00"),
        status: PaymentStatus::Filled,
        event_id: 1,
        created_at: at(),
    }
}

fn applied(outcome: Outcome, credit: Option<RecordedCredit>) -> Applied {
    Applied { event_id: 1, outcome, credit }
}

fn unavailable() -> RepositoryError {
    RepositoryError::Unavailable("disk full".into())
}

/// An applied webhook event about `ref-1`, raw body `{stored}`.
fn stored_event(id: EventId) -> EventRecord {
    EventRecord {
        id,
        received_at: at(),
        origin: Origin::Webhook,
        method: "GET".into(),
        auth: AuthMethod::ApiKey { key_index: 1 },
        reference_id: Some("ref-1".into()),
        payout_id: None,
        status: Some("FILLED".into()),
        outcome: EventOutcome::Applied,
        credited_usd: amount("50.00"),
        detail: None,
        raw_body: b"{stored}".to_vec(),
        attempts: 0,
        next_attempt_at: None,
    }
}

/// A failed event after `attempts` attempts; dead from the third (see [`quick_retry`]).
fn failed_event(id: EventId, attempts: u32) -> EventRecord {
    EventRecord {
        outcome: if attempts >= 3 { EventOutcome::Dead } else { EventOutcome::Failed },
        attempts,
        next_attempt_at: Some(at()),
        credited_usd: Amount::ZERO,
        detail: Some("disk I/O error".into()),
        ..stored_event(id)
    }
}

fn waiting_event(id: EventId, attempts: u32) -> EventRecord {
    EventRecord { outcome: EventOutcome::Waiting, ..failed_event(id, attempts) }
}

/// A parser that reads every webhook body as `filled(Some("cust-1"))`.
fn payment_parser() -> MockBodyParser {
    let mut parser = MockBodyParser::new();
    parser.expect_parse().returning(|_| Ok(Inbound::Payment(filled(Some("cust-1")))));
    parser
}

/// A parser that reads `{stored}` as a lookup answer, and refuses to read it as a webhook.
fn lookup_parser() -> MockBodyParser {
    let mut parser = MockBodyParser::new();
    parser.expect_parse().never();
    parser
        .expect_parse_lookup()
        .withf(|body| body == b"{stored}")
        .returning(|_| Ok(filled(Some("cust-1"))));
    parser
}

/// Three attempts in all, 10 s doubling: the first retry is due 5 to 10 s after a failure.
fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: std::time::Duration::from_secs(10),
        max_delay: std::time::Duration::from_mins(1),
    }
}

/// Every port of the payment service, mocked. Set the expectations, then build the service.
#[derive(Default)]
struct Mocks {
    ledger: MockLedger,
    schedule: MockRetrySchedule,
    queries: MockQueries,
    crediting: MockCrediting,
    parser: MockBodyParser,
}

impl Mocks {
    /// The service on these mocks, with the fixed clock and the default retry policy.
    fn service(self) -> PaymentService {
        let storage = Storage {
            ledger: Arc::new(self.ledger),
            schedule: Arc::new(self.schedule),
            queries: Arc::new(self.queries),
        };
        PaymentService::new(storage, Arc::new(self.parser), CreditPolicy::default())
            .with_crediting(Arc::new(self.crediting))
            .with_clock(clock())
    }

    /// The service with [`quick_retry`].
    fn retrying(self) -> PaymentService {
        self.service().with_retry_policy(quick_retry())
    }
}
