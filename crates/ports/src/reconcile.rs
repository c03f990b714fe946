//! Reconciliation: asks PayRam about payments that have gone quiet and feeds its answer through
//! the webhook's own path, so a webhook that never arrived is still credited, exactly once.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};

use payram_domain::{AuthMethod, EventOutcome, Inbound, PaymentStatus, ReferenceId};

use crate::{
    Clock, Delivery, ErrorChain, EventFilter, GatewayError, Origin, PaymentRepository,
    PaymentUseCases, PayramGateway, Receipt, ServiceError,
};

/// Statuses reconciliation no longer asks about: the requested amount was received.
///
/// CANCELLED is not among them: PayRam may still receive (and report) money for a cancelled
/// payment, and such late money must be credited. OPEN and `PARTIALLY_FILLED` are where a
/// missed webhook leaves a payment.
pub const SETTLED: [PaymentStatus; 2] = [PaymentStatus::Filled, PaymentStatus::OverFilled];

/// The most payments one run looks up; the longest quiet go first, and each lookup recorded
/// moves its payment to the back, so successive runs work through any backlog.
pub const RECONCILE_BATCH: u32 = 1000;

/// The HTTP method recorded for a lookup's event.
const LOOKUP_METHOD: &str = "GET";

/// The use case: checks payments with PayRam and applies what it says.
pub struct ReconcileService {
    use_cases: Arc<dyn PaymentUseCases>,
    repo: Arc<dyn PaymentRepository>,
    gateway: Arc<dyn PayramGateway>,
    clock: Arc<dyn Clock>,
}

/// What checking one payment concluded.
#[derive(Debug)]
pub struct Check {
    pub reference_id: ReferenceId,
    /// The recorded event and what it did, or why nothing was recorded.
    pub result: Result<Receipt, CheckError>,
}

/// Why checking one payment failed.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// PayRam's view could not be read; nothing was recorded.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// PayRam's view was read but could not be recorded (storage); a retry is scheduled when
    /// the event itself could be recorded.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl Check {
    /// True when the check did not end in a usable answer recorded: the lookup failed, the
    /// answer could not be stored, or it was recorded but could not be acted on
    /// (`invalid_payload`, `failed`).
    #[must_use]
    pub const fn failed(&self) -> bool {
        match &self.result {
            Ok(receipt) => !matches!(
                receipt.outcome,
                EventOutcome::Applied
                    | EventOutcome::Duplicate
                    | EventOutcome::Stale
                    | EventOutcome::Ignored
            ),
            Err(_) => true,
        }
    }

    /// `applied`, `duplicate`, `stale`, `ignored`, `invalid_payload`, ... or `error` when
    /// nothing was recorded.
    #[must_use]
    pub const fn outcome(&self) -> &'static str {
        match &self.result {
            Ok(receipt) => receipt.outcome.as_str(),
            Err(_) => "error",
        }
    }
}

/// Every payment one run checked, in the order checked.
#[derive(Debug, Default)]
pub struct ReconcileReport {
    pub checks: Vec<Check>,
}

impl ReconcileReport {
    /// How many checks [`Check::failed`].
    #[must_use]
    pub fn failures(&self) -> usize {
        self.checks.iter().filter(|check| check.failed()).count()
    }

    /// How many checks ended with this outcome (as [`Check::outcome`] names it).
    #[must_use]
    pub fn count(&self, outcome: &str) -> usize {
        self.checks.iter().filter(|check| check.outcome() == outcome).count()
    }
}

impl ReconcileService {
    #[must_use]
    pub fn new(
        use_cases: Arc<dyn PaymentUseCases>,
        repo: Arc<dyn PaymentRepository>,
        gateway: Arc<dyn PayramGateway>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { use_cases, repo, gateway, clock }
    }

    /// Checks every payment that is not settled (see [`SETTLED`]) and of which nothing was
    /// heard for `older_than`, at most [`RECONCILE_BATCH`] of them. A failed check is
    /// reported and never stops the others; only failing to list the payments is an error.
    pub async fn reconcile_quiet(
        &self,
        older_than: Duration,
    ) -> Result<ReconcileReport, ServiceError> {
        let quiet_since = before(self.clock.now(), older_than);
        let unsettled =
            PaymentStatus::ALL.into_iter().filter(|status| !SETTLED.contains(status)).collect();
        let candidates =
            self.repo.payments_to_reconcile(unsettled, quiet_since, RECONCILE_BATCH).await?;
        let mut report = ReconcileReport { checks: Vec::with_capacity(candidates.len()) };
        for candidate in candidates {
            report.checks.push(self.check(candidate.reference_id).await);
        }
        Ok(report)
    }

    /// Checks one payment now, whatever its status and age, even one never heard of (PayRam's
    /// answer then creates it, as a first webhook would).
    pub async fn reconcile_reference(&self, reference_id: ReferenceId) -> Check {
        self.check(reference_id).await
    }

    async fn check(&self, reference_id: ReferenceId) -> Check {
        let result = self.look_up_and_apply(&reference_id).await;
        match &result {
            Ok(receipt) => tracing::info!(
                reference_id = %reference_id,
                event_id = receipt.event_id,
                status = receipt.status.as_deref(),
                outcome = %receipt.outcome,
                credited_usd = %receipt.credited,
                "payment reconciled with PayRam"
            ),
            Err(err) => tracing::warn!(
                reference_id = %reference_id,
                error = %ErrorChain(err),
                "payment could not be reconciled with PayRam"
            ),
        }
        Check { reference_id, result }
    }

    async fn look_up_and_apply(&self, reference_id: &ReferenceId) -> Result<Receipt, CheckError> {
        let answer = self.gateway.payment(reference_id).await?;
        if answer.notification.reference_id != *reference_id {
            return Err(GatewayError::Malformed(format!(
                "asked about {reference_id}, answered about {}",
                answer.notification.reference_id
            ))
            .into());
        }
        // The webhook's own path: recorded with the answer as raw body, checked against
        // CREDIT_ON, applied in one transaction, credited once, retried when it fails.
        let delivery = Delivery {
            origin: Origin::Reconciliation,
            method: LOOKUP_METHOD.to_owned(),
            // The lookup was authenticated with the first configured key.
            auth: AuthMethod::ApiKey { key_index: 0 },
            raw_body: answer.raw_body,
            content: Ok(Inbound::Payment(answer.notification)),
        };
        Ok(self.use_cases.receive(delivery).await?)
    }
}

/// `now - older_than`, or the earliest time when that is out of range.
fn before(now: DateTime<Utc>, older_than: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(older_than)
        .ok()
        .and_then(|delta| now.checked_sub_signed(delta))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Makes sure the batch never exceeds what the repository accepts.
const _: () = assert!(RECONCILE_BATCH <= EventFilter::MAX_LIMIT);

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use mockall::predicate::eq;

    use payram_domain::{Amount, CreditPolicy, CustomerId, Notification, Outcome, ReportedStatus};

    use super::*;
    use crate::{
        Applied, MockBodyParser, MockClock, MockCrediting, MockPaymentRepository,
        MockPayramGateway, PaymentService, PayramPayment, ReconcileCandidate, RecordedCredit,
        RepositoryError,
    };

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
    }

    fn clock() -> Arc<MockClock> {
        let mut clock = MockClock::new();
        clock.expect_now().returning(at);
        Arc::new(clock)
    }

    fn reference(text: &str) -> ReferenceId {
        ReferenceId::parse(text).unwrap()
    }

    fn amount(text: &str) -> Amount {
        Amount::parse(text).unwrap()
    }

    const ANSWER: &[u8] = br#"{"referenceID":"ref-1","paymentState":"FILLED"}"#;

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
            status: payram_domain::PaymentStatus::Filled,
            event_id: 3,
            created_at: at(),
        }
    }

    /// The reconciler over the real payment service, both on the same mocked repository.
    fn reconciler(
        repo: MockPaymentRepository,
        gateway: MockPayramGateway,
        crediting: MockCrediting,
    ) -> ReconcileService {
        let repo = Arc::new(repo);
        let use_cases = Arc::new(PaymentService::new(
            repo.clone(),
            Arc::new(crediting),
            clock(),
            Arc::new(MockBodyParser::new()),
            CreditPolicy::default(),
        ));
        ReconcileService::new(use_cases, repo, Arc::new(gateway), clock())
    }

    #[tokio::test]
    async fn a_missed_filled_is_applied_through_the_webhook_path_as_a_reconciliation_event() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_payments_to_reconcile()
            .returning(|_, _, _| Ok(vec![candidate("ref-1", PaymentStatus::Open)]));
        repo.expect_apply_notification()
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
                Ok(Applied {
                    event_id: 3,
                    outcome: Outcome::Applied,
                    credit: Some(credit("ref-1")),
                })
            });
        let mut gateway = MockPayramGateway::new();
        gateway
            .expect_payment()
            .with(eq(reference("ref-1")))
            .times(1)
            .returning(|_| Ok(filled("ref-1", Some("cust-1"))));
        let mut crediting = MockCrediting::new();
        crediting.expect_credit().with(eq(credit("ref-1"))).times(1).returning(|_| Ok(()));

        let report = reconciler(repo, gateway, crediting)
            .reconcile_quiet(Duration::from_mins(30))
            .await
            .unwrap();

        assert_eq!(report.checks.len(), 1);
        let receipt = report.checks[0].result.as_ref().unwrap();
        assert_eq!((receipt.event_id, receipt.outcome), (3, EventOutcome::Applied));
        assert_eq!(receipt.credited.to_string(), "50.00");
        assert_eq!(report.failures(), 0);
    }

    #[tokio::test]
    async fn only_unsettled_payments_quiet_for_the_threshold_are_asked_about() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_payments_to_reconcile()
            .with(
                eq(vec![
                    PaymentStatus::Open,
                    PaymentStatus::PartiallyFilled,
                    PaymentStatus::Cancelled,
                ]),
                eq(at() - TimeDelta::minutes(30)),
                eq(RECONCILE_BATCH),
            )
            .times(1)
            .returning(|_, _, _| Ok(vec![]));
        let mut gateway = MockPayramGateway::new();
        gateway.expect_payment().never();

        let report = reconciler(repo, gateway, MockCrediting::new())
            .reconcile_quiet(Duration::from_mins(30))
            .await
            .unwrap();

        assert!(report.checks.is_empty());
    }

    #[tokio::test]
    async fn a_failed_lookup_records_nothing_and_never_stops_the_others() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_payments_to_reconcile().returning(|_, _, _| {
            Ok(vec![
                candidate("ref-down", PaymentStatus::Open),
                candidate("ref-401", PaymentStatus::Cancelled),
                candidate("ref-1", PaymentStatus::PartiallyFilled),
            ])
        });
        repo.expect_apply_notification()
            .withf(|_, checked| checked.notification().reference_id.as_str() == "ref-1")
            .times(1)
            .returning(|_, _| {
                Ok(Applied { event_id: 4, outcome: Outcome::Duplicate, credit: None })
            });
        repo.expect_record_event().never();
        repo.expect_record_failure().never();
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

        let report = reconciler(repo, gateway, MockCrediting::new())
            .reconcile_quiet(Duration::ZERO)
            .await
            .unwrap();

        let outcomes: Vec<_> = report.checks.iter().map(Check::outcome).collect();
        assert_eq!(outcomes, ["error", "error", "duplicate"]);
        assert_eq!(report.failures(), 2);
        assert_eq!(report.count("error"), 2);
        let Err(err) = &report.checks[1].result else { panic!("expected an error") };
        assert!(err.to_string().contains("401") && err.to_string().contains("invalid api key"));
    }

    #[tokio::test]
    async fn an_answer_about_another_payment_is_refused() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_apply_notification().never();
        let mut gateway = MockPayramGateway::new();
        gateway.expect_payment().returning(|_| Ok(filled("ref-other", Some("cust-1"))));

        let check = reconciler(repo, gateway, MockCrediting::new())
            .reconcile_reference(reference("ref-1"))
            .await;

        assert!(check.failed());
        assert!(matches!(check.result, Err(CheckError::Gateway(GatewayError::Malformed(_)))));
    }

    #[tokio::test]
    async fn an_answer_that_cannot_be_credited_is_recorded_as_invalid_and_counts_as_failed() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_apply_notification().never();
        repo.expect_record_event()
            .withf(|event, outcome, reference, _| {
                event.origin == Origin::Reconciliation
                    && *outcome == EventOutcome::InvalidPayload
                    && reference.as_ref().map(ReferenceId::as_str) == Some("ref-1")
            })
            .times(1)
            .returning(|_, _, _, _| Ok(5));
        let mut gateway = MockPayramGateway::new();
        gateway.expect_payment().returning(|_| Ok(filled("ref-1", None)));

        let check = reconciler(repo, gateway, MockCrediting::new())
            .reconcile_reference(reference("ref-1"))
            .await;

        assert_eq!(check.outcome(), "invalid_payload");
        assert!(check.failed());
    }

    #[tokio::test]
    async fn a_storage_failure_is_reported_for_that_payment() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_apply_notification()
            .returning(|_, _| Err(RepositoryError::Unavailable("disk full".into())));
        // The webhook path keeps the answer for the retry worker when it can.
        repo.expect_record_failure()
            .withf(|event, _, _, _, _| event.origin == Origin::Reconciliation)
            .times(1)
            .returning(|_, _, _, _, _| Ok(6));
        let mut gateway = MockPayramGateway::new();
        gateway.expect_payment().returning(|_| Ok(filled("ref-1", Some("cust-1"))));

        let check = reconciler(repo, gateway, MockCrediting::new())
            .reconcile_reference(reference("ref-1"))
            .await;

        assert!(matches!(check.result, Err(CheckError::Service(_))));
        assert_eq!(check.outcome(), "error");
    }

    #[tokio::test]
    async fn listing_the_payments_failing_is_an_error_of_the_run() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_payments_to_reconcile()
            .returning(|_, _, _| Err(RepositoryError::Unavailable("locked".into())));
        let mut gateway = MockPayramGateway::new();
        gateway.expect_payment().never();

        let err = reconciler(repo, gateway, MockCrediting::new())
            .reconcile_quiet(Duration::from_mins(1))
            .await
            .unwrap_err();

        assert!(err.is_retryable());
    }

    #[test]
    fn an_enormous_threshold_means_the_beginning_of_time() {
        assert_eq!(before(at(), Duration::MAX), DateTime::<Utc>::MIN_UTC);
        assert_eq!(before(at(), Duration::from_secs(90)), at() - TimeDelta::seconds(90));
    }
}
