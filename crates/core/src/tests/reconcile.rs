//! Reconciliation: quiet payments looked up at PayRam and fed through the webhook's path.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use mockall::predicate::{always, eq};

use payram_domain::{
    AuthMethod, CustomerId, EventOutcome, Notification, Outcome, PaymentStatus, ReferenceId,
    ReportedStatus,
};
use payram_ports::{
    Applied, GatewayError, MockPayramGateway, MockReconcileQueue, Origin, PayramPayment,
    ReconcileCandidate, RecordedCredit, RepositoryError,
};

use super::{Mocks, amount, at, clock, reference};
use crate::{Check, CheckError, RECONCILE_BATCH, ReconcileService};

const ANSWER: &[u8] = br#"{"referenceID":"ref-1","paymentState":"FILLED"}"#;

/// PayRam's answer: `reference_id` FILLED for 50.00 USD, for `customer`.
fn filled(reference_id: &str, customer: Option<&str>) -> PayramPayment {
    PayramPayment {
        notification: Notification {
            reference_id: reference(reference_id),
            status: ReportedStatus::Known(PaymentStatus::Filled),
            customer_id: customer.map(|c| CustomerId::parse(c).unwrap()),
            invoice_id: None,
            amount: None,
            currency: Some("USDC".into()),
            filled_amount: Some(amount("50.00")),
            filled_amount_in_usd: Some(amount("50.00")),
        },
        raw_body: ANSWER.to_vec(),
    }
}

fn candidate(reference_id: &str, status: PaymentStatus) -> ReconcileCandidate {
    ReconcileCandidate {
        reference_id: reference(reference_id),
        status,
        last_event_at: at() - TimeDelta::hours(1),
    }
}

fn credit(reference_id: &str) -> RecordedCredit {
    RecordedCredit {
        id: 7,
        reference_id: reference(reference_id),
        customer_id: CustomerId::parse("cust-1").unwrap(),
        amount_usd: amount("50.00"),
        credited_total_usd: amount("50.00"),
        status: PaymentStatus::Filled,
        event_id: 3,
        created_at: at(),
    }
}

/// The reconciler over the real payment service on `mocks`.
fn reconciler(
    mocks: Mocks,
    queue: MockReconcileQueue,
    gateway: MockPayramGateway,
) -> ReconcileService {
    ReconcileService::new(Arc::new(mocks.service()), Arc::new(queue), Arc::new(gateway), clock())
}

/// A queue whose walk from `after: None` finds `page`, then nothing after its last candidate.
fn one_page(page: Vec<ReconcileCandidate>) -> MockReconcileQueue {
    let last = page.last().cloned();
    let mut queue = MockReconcileQueue::new();
    queue
        .expect_quiet_payments()
        .withf(|_, _, after, _| after.is_none())
        .times(1)
        .return_once(move |_, _, _, _| Ok(page));
    queue
        .expect_quiet_payments()
        .withf(move |_, _, after, _| *after == last)
        .times(1)
        .returning(|_, _, _, _| Ok(vec![]));
    queue
}

#[tokio::test]
async fn a_missed_filled_is_applied_through_the_webhook_path_as_a_reconciliation_event() {
    let queue = one_page(vec![candidate("ref-1", PaymentStatus::Open)]);
    let mut mocks = Mocks::default();
    mocks
        .ledger
        .expect_apply_notification()
        .withf(|event, checked| {
            event.origin == Origin::Reconciliation
                && event.raw_body == ANSWER
                && event.method == "GET"
                && event.auth == AuthMethod::ApiKey { key_index: 0 }
                && event.received_at == at()
                && checked.notification().reference_id.as_str() == "ref-1"
        })
        .times(1)
        .returning(|_, _| {
            Ok(Applied { event_id: 3, outcome: Outcome::Applied, credit: Some(credit("ref-1")) })
        });
    let mut gateway = MockPayramGateway::new();
    gateway
        .expect_payment()
        .with(eq(reference("ref-1")))
        .times(1)
        .returning(|_| Ok(filled("ref-1", Some("cust-1"))));
    mocks.crediting.expect_credit().with(eq(credit("ref-1"))).times(1).returning(|_| Ok(()));

    let report =
        reconciler(mocks, queue, gateway).reconcile_quiet(Duration::from_mins(30)).await.unwrap();

    assert_eq!(report.checks.len(), 1);
    let receipt = report.checks[0].result.as_ref().unwrap();
    assert_eq!((receipt.event_id, receipt.outcome), (3, EventOutcome::Applied));
    assert_eq!(receipt.credited.to_string(), "50.00");
    assert_eq!(report.failures(), 0);
}

#[tokio::test]
async fn only_unsettled_payments_quiet_for_the_threshold_are_asked_about() {
    let mut queue = MockReconcileQueue::new();
    queue
        .expect_quiet_payments()
        .with(
            eq(vec![PaymentStatus::Open, PaymentStatus::PartiallyFilled, PaymentStatus::Cancelled]),
            eq(at() - TimeDelta::minutes(30)),
            eq(None),
            eq(RECONCILE_BATCH),
        )
        .times(1)
        .returning(|_, _, _, _| Ok(vec![]));
    let mut gateway = MockPayramGateway::new();
    gateway.expect_payment().never();

    let report = reconciler(Mocks::default(), queue, gateway)
        .reconcile_quiet(Duration::from_mins(30))
        .await
        .unwrap();

    assert!(report.checks.is_empty());
}

#[tokio::test]
async fn a_failed_lookup_records_nothing_and_never_stops_the_others() {
    let queue = one_page(vec![
        candidate("ref-down", PaymentStatus::Open),
        candidate("ref-401", PaymentStatus::Cancelled),
        candidate("ref-1", PaymentStatus::PartiallyFilled),
    ]);
    let mut mocks = Mocks::default();
    mocks
        .ledger
        .expect_apply_notification()
        .withf(|_, checked| checked.notification().reference_id.as_str() == "ref-1")
        .times(1)
        .returning(|_, _| Ok(Applied { event_id: 4, outcome: Outcome::Duplicate, credit: None }));
    mocks.ledger.expect_record_event().never();
    let mut gateway = MockPayramGateway::new();
    gateway
        .expect_payment()
        .with(eq(reference("ref-down")))
        .returning(|_| Err(GatewayError::Timeout));
    gateway
        .expect_payment()
        .with(eq(reference("ref-401")))
        .returning(|_| Err(GatewayError::Rejected(401, "invalid api key".into())));
    gateway
        .expect_payment()
        .with(eq(reference("ref-1")))
        .returning(|_| Ok(filled("ref-1", Some("cust-1"))));

    let report = reconciler(mocks, queue, gateway).reconcile_quiet(Duration::ZERO).await.unwrap();

    let outcomes: Vec<_> = report.checks.iter().map(Check::outcome).collect();
    assert_eq!(outcomes, ["error", "error", "duplicate"]);
    assert_eq!(report.failures(), 2);
    assert_eq!(report.count("error"), 2);
    let Err(err) = &report.checks[1].result else { panic!("expected an error") };
    assert!(err.to_string().contains("401") && err.to_string().contains("invalid api key"));
}

#[tokio::test]
async fn an_answer_about_another_payment_is_refused() {
    let mut mocks = Mocks::default();
    mocks.ledger.expect_apply_notification().never();
    let mut gateway = MockPayramGateway::new();
    gateway.expect_payment().returning(|_| Ok(filled("ref-other", Some("cust-1"))));

    let check = reconciler(mocks, MockReconcileQueue::new(), gateway)
        .reconcile_reference(reference("ref-1"))
        .await;

    assert!(check.failed());
    assert!(matches!(check.result, Err(CheckError::Gateway(GatewayError::Malformed(_)))));
}

#[tokio::test]
async fn an_answer_that_cannot_be_credited_is_recorded_as_invalid_and_counts_as_failed() {
    let mut mocks = Mocks::default();
    mocks.ledger.expect_apply_notification().never();
    mocks
        .ledger
        .expect_record_event()
        .withf(|event, note| {
            event.origin == Origin::Reconciliation
                && note.outcome == EventOutcome::InvalidPayload
                && note.reference_id.as_ref().map(ReferenceId::as_str) == Some("ref-1")
        })
        .times(1)
        .returning(|_, _| Ok(5));
    let mut gateway = MockPayramGateway::new();
    gateway.expect_payment().returning(|_| Ok(filled("ref-1", None)));

    let check = reconciler(mocks, MockReconcileQueue::new(), gateway)
        .reconcile_reference(reference("ref-1"))
        .await;

    assert_eq!(check.outcome(), "invalid_payload");
    assert!(check.failed());
}

#[tokio::test]
async fn a_storage_failure_is_reported_for_that_payment() {
    let mut mocks = Mocks::default();
    mocks
        .ledger
        .expect_apply_notification()
        .returning(|_, _| Err(RepositoryError::Unavailable("disk full".into())));
    // The webhook path keeps the answer for the retry worker when it can.
    mocks
        .ledger
        .expect_record_event()
        .withf(|event, note| {
            event.origin == Origin::Reconciliation
                && note.outcome == EventOutcome::Failed
                && note.next_attempt_at.is_some()
        })
        .times(1)
        .returning(|_, _| Ok(6));
    let mut gateway = MockPayramGateway::new();
    gateway.expect_payment().returning(|_| Ok(filled("ref-1", Some("cust-1"))));

    let check = reconciler(mocks, MockReconcileQueue::new(), gateway)
        .reconcile_reference(reference("ref-1"))
        .await;

    assert!(matches!(check.result, Err(CheckError::Service(_))));
    assert_eq!(check.outcome(), "error");
}

#[tokio::test]
async fn listing_the_payments_failing_is_an_error_of_the_run() {
    let mut queue = MockReconcileQueue::new();
    queue
        .expect_quiet_payments()
        .returning(|_, _, _, _| Err(RepositoryError::Unavailable("locked".into())));
    let mut gateway = MockPayramGateway::new();
    gateway.expect_payment().never();

    let err = reconciler(Mocks::default(), queue, gateway)
        .reconcile_quiet(Duration::from_mins(1))
        .await
        .unwrap_err();

    assert!(err.is_retryable());
}

/// `reconcile.rs`'s `before` is private: asserted through the time the queue is asked about.
#[tokio::test]
async fn an_enormous_threshold_means_the_beginning_of_time() {
    for (older_than, quiet_since) in [
        (Duration::MAX, DateTime::<Utc>::MIN_UTC),
        (Duration::from_secs(90), at() - TimeDelta::seconds(90)),
    ] {
        let mut queue = MockReconcileQueue::new();
        queue
            .expect_quiet_payments()
            .with(always(), eq(quiet_since), always(), always())
            .times(1)
            .returning(|_, _, _, _| Ok(vec![]));

        let report = reconciler(Mocks::default(), queue, MockPayramGateway::new())
            .reconcile_quiet(older_than)
            .await
            .unwrap();

        assert!(report.checks.is_empty());
    }
}

#[tokio::test]
async fn reconcile_quiet_walks_every_page() {
    let full: Vec<ReconcileCandidate> = (0..RECONCILE_BATCH)
        .map(|i| candidate(&format!("ref-{i:04}"), PaymentStatus::Open))
        .collect();
    let rest = vec![
        candidate("ref-tail-a", PaymentStatus::PartiallyFilled),
        candidate("ref-tail-b", PaymentStatus::Cancelled),
    ];
    let end_of_full = full.last().cloned();
    let end_of_rest = rest.last().cloned();
    let expected: Vec<ReferenceId> =
        full.iter().chain(&rest).map(|c| c.reference_id.clone()).collect();
    let mut queue = MockReconcileQueue::new();
    queue
        .expect_quiet_payments()
        .withf(|_, _, after, limit| after.is_none() && *limit == RECONCILE_BATCH)
        .times(1)
        .return_once(move |_, _, _, _| Ok(full));
    queue
        .expect_quiet_payments()
        .withf(move |_, _, after, _| *after == end_of_full)
        .times(1)
        .return_once(move |_, _, _, _| Ok(rest));
    // A short page may end the walk; if the walk asks again, nothing is left.
    queue
        .expect_quiet_payments()
        .withf(move |_, _, after, _| *after == end_of_rest)
        .times(0..=1)
        .returning(|_, _, _, _| Ok(vec![]));
    let mut gateway = MockPayramGateway::new();
    gateway.expect_payment().returning(|reference| Ok(filled(reference.as_str(), Some("cust-1"))));
    let mut mocks = Mocks::default();
    mocks
        .ledger
        .expect_apply_notification()
        .returning(|_, _| Ok(Applied { event_id: 4, outcome: Outcome::Duplicate, credit: None }));

    let report = reconciler(mocks, queue, gateway).reconcile_quiet(Duration::ZERO).await.unwrap();

    let checked: Vec<ReferenceId> = report.checks.iter().map(|c| c.reference_id.clone()).collect();
    assert_eq!(checked, expected, "each payment once, in the queue's order");
    assert_eq!(report.failures(), 0);
}
