use std::sync::Arc;

use async_trait::async_trait;

use payram_domain::{
    Amount, CreditPolicy, CustomerId, EventOutcome, Inbound, Notification, Outcome, ReferenceId,
};

use crate::{
    Applied, BodyParser, Clock, Crediting, CustomerView, Delivery, ErrorChain, EventFilter,
    EventId, EventRecord, NewEvent, Origin, PaymentRepository, PaymentView, Receipt,
    RepositoryError, ServiceError,
};

/// How often a write that lost a race to a concurrent writer is tried again before the
/// delivery is answered as retryable.
const CONFLICT_ATTEMPTS: usize = 3;

/// Inbound port: what driving adapters may ask of the core.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PaymentUseCases: Send + Sync {
    /// Records one authenticated delivery and applies it; the answer is given only after the
    /// commit.
    async fn receive(&self, delivery: Delivery) -> Result<Receipt, ServiceError>;

    /// A payment and its events, or `None` when unknown.
    async fn payment(&self, reference_id: ReferenceId)
    -> Result<Option<PaymentView>, ServiceError>;

    /// A customer's balance and credits.
    async fn customer(&self, customer_id: CustomerId) -> Result<CustomerView, ServiceError>;

    /// Recorded events matching the filter, newest first.
    async fn events(&self, filter: EventFilter) -> Result<Vec<EventRecord>, ServiceError>;

    /// One recorded event with its raw body, or `None` when unknown.
    async fn event(&self, id: EventId) -> Result<Option<EventRecord>, ServiceError>;

    /// Feeds an event's stored raw body through the same path as a live delivery, recorded as
    /// a new event with origin `replay`; `None` when the event is unknown. Replaying never
    /// changes the total credited: the replay of an applied notification is a duplicate.
    async fn replay(&self, id: EventId) -> Result<Option<Receipt>, ServiceError>;
}

/// The use-case service: records every delivery, applies payment notifications with the
/// domain's decision in one repository transaction, then hands new credits to [`Crediting`].
pub struct PaymentService {
    repo: Arc<dyn PaymentRepository>,
    crediting: Arc<dyn Crediting>,
    clock: Arc<dyn Clock>,
    parser: Arc<dyn BodyParser>,
    policy: CreditPolicy,
}

impl PaymentService {
    #[must_use]
    pub fn new(
        repo: Arc<dyn PaymentRepository>,
        crediting: Arc<dyn Crediting>,
        clock: Arc<dyn Clock>,
        parser: Arc<dyn BodyParser>,
        policy: CreditPolicy,
    ) -> Self {
        Self { repo, crediting, clock, parser, policy }
    }

    async fn receive_payment(
        &self,
        event: NewEvent,
        notification: Notification,
    ) -> Result<Receipt, ServiceError> {
        let reference_id = notification.reference_id.clone();
        let status = notification.status.as_str().to_owned();
        let checked = match self.policy.check(notification) {
            Ok(checked) => checked,
            Err(invalid) => {
                let message = invalid.to_string();
                let event_id = self
                    .repo
                    .record_event(
                        event,
                        EventOutcome::InvalidPayload,
                        Some(reference_id.clone()),
                        Some(message.clone()),
                    )
                    .await?;
                return Ok(Receipt {
                    event_id,
                    outcome: EventOutcome::InvalidPayload,
                    reference_id: Some(reference_id),
                    payout_id: None,
                    status: Some(status),
                    credited: Amount::ZERO,
                    message: Some(message),
                });
            }
        };
        let applied = self.apply(event, checked).await?;
        if let Some(credit) = &applied.credit {
            // The credit is committed; the adapter is told after the fact, at least once.
            if let Err(err) = self.crediting.credit(credit).await {
                tracing::error!(
                    credit_id = credit.id,
                    event_id = applied.event_id,
                    error = %ErrorChain(&err),
                    "crediting adapter failed; the credit stays in the ledger"
                );
            }
        }
        Ok(Receipt {
            event_id: applied.event_id,
            outcome: event_outcome(applied.outcome),
            reference_id: Some(reference_id),
            payout_id: None,
            status: Some(status),
            credited: applied.credit.map_or(Amount::ZERO, |credit| credit.amount_usd),
            message: None,
        })
    }

    async fn apply(
        &self,
        event: NewEvent,
        checked: payram_domain::CheckedNotification,
    ) -> Result<Applied, ServiceError> {
        let mut attempt = 1;
        loop {
            match self.repo.apply_notification(event.clone(), checked.clone()).await {
                Err(RepositoryError::Conflict) if attempt < CONFLICT_ATTEMPTS => attempt += 1,
                res => return Ok(res?),
            }
        }
    }
}

const fn event_outcome(outcome: Outcome) -> EventOutcome {
    match outcome {
        Outcome::Applied => EventOutcome::Applied,
        Outcome::Duplicate => EventOutcome::Duplicate,
        Outcome::Stale => EventOutcome::Stale,
        Outcome::Ignored => EventOutcome::Ignored,
    }
}

#[async_trait]
impl PaymentUseCases for PaymentService {
    async fn receive(&self, delivery: Delivery) -> Result<Receipt, ServiceError> {
        let origin = delivery.origin;
        let event = NewEvent {
            origin,
            received_at: self.clock.now(),
            method: delivery.method,
            auth: delivery.auth,
            raw_body: delivery.raw_body,
        };
        let receipt = match delivery.content {
            Ok(Inbound::Payment(notification)) => self.receive_payment(event, notification).await,
            Ok(Inbound::Payout(payout)) => {
                let payout_id = payout.payout_id.clone();
                let status = payout.status.clone();
                let recorded = self.repo.record_payout(event, payout).await?;
                Ok(Receipt {
                    event_id: recorded.event_id,
                    outcome: EventOutcome::Payout,
                    reference_id: None,
                    payout_id: Some(payout_id),
                    status: Some(status),
                    credited: Amount::ZERO,
                    message: None,
                })
            }
            Ok(Inbound::Ping) => {
                let event_id =
                    self.repo.record_event(event, EventOutcome::Ping, None, None).await?;
                Ok(Receipt {
                    event_id,
                    outcome: EventOutcome::Ping,
                    reference_id: None,
                    payout_id: None,
                    status: None,
                    credited: Amount::ZERO,
                    message: None,
                })
            }
            Err(rejection) => {
                let event_id = self
                    .repo
                    .record_event(event, rejection.outcome, None, Some(rejection.message.clone()))
                    .await?;
                Ok(Receipt {
                    event_id,
                    outcome: rejection.outcome,
                    reference_id: None,
                    payout_id: None,
                    status: None,
                    credited: Amount::ZERO,
                    message: Some(rejection.message),
                })
            }
        };
        match &receipt {
            Ok(receipt) => tracing::info!(
                event_id = receipt.event_id,
                origin = origin.as_str(),
                reference_id = receipt.reference_id.as_ref().map(ReferenceId::as_str),
                payout_id = receipt.payout_id.as_deref(),
                status = receipt.status.as_deref(),
                outcome = %receipt.outcome,
                credited_usd = %receipt.credited,
                "webhook recorded"
            ),
            Err(err) => tracing::error!(error = %ErrorChain(err), "webhook not recorded"),
        }
        receipt
    }

    async fn payment(
        &self,
        reference_id: ReferenceId,
    ) -> Result<Option<PaymentView>, ServiceError> {
        Ok(self.repo.find_payment(&reference_id).await?)
    }

    async fn customer(&self, customer_id: CustomerId) -> Result<CustomerView, ServiceError> {
        Ok(self.repo.customer(&customer_id).await?)
    }

    async fn events(&self, filter: EventFilter) -> Result<Vec<EventRecord>, ServiceError> {
        Ok(self.repo.list_events(filter).await?)
    }

    async fn event(&self, id: EventId) -> Result<Option<EventRecord>, ServiceError> {
        Ok(self.repo.find_event(id).await?)
    }

    async fn replay(&self, id: EventId) -> Result<Option<Receipt>, ServiceError> {
        let Some(original) = self.repo.find_event(id).await? else {
            return Ok(None);
        };
        let content = self.parser.parse(&original.raw_body);
        let delivery = Delivery {
            origin: Origin::Replay(id),
            method: original.method,
            auth: original.auth,
            raw_body: original.raw_body,
            content,
        };
        self.receive(delivery).await.map(Some)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use mockall::predicate::eq;

    use payram_domain::{AuthMethod, PaymentStatus, PayoutNotification, ReportedStatus};

    use super::*;
    use crate::{
        CreditError, MockBodyParser, MockClock, MockCrediting, MockPaymentRepository,
        RecordedCredit, RecordedPayout, Rejection,
    };

    fn at() -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
    }

    fn clock() -> Arc<MockClock> {
        let mut clock = MockClock::new();
        clock.expect_now().returning(at);
        Arc::new(clock)
    }

    fn service(repo: MockPaymentRepository, crediting: MockCrediting) -> PaymentService {
        service_with_parser(repo, crediting, MockBodyParser::new())
    }

    fn service_with_parser(
        repo: MockPaymentRepository,
        crediting: MockCrediting,
        parser: MockBodyParser,
    ) -> PaymentService {
        PaymentService::new(
            Arc::new(repo),
            Arc::new(crediting),
            clock(),
            Arc::new(parser),
            CreditPolicy::default(),
        )
    }

    fn amount(text: &str) -> Amount {
        Amount::parse(text).unwrap()
    }

    fn filled(customer: Option<&str>) -> Notification {
        Notification {
            reference_id: ReferenceId::parse("ref-1").unwrap(),
            status: ReportedStatus::Known(PaymentStatus::Filled),
            customer_id: customer.map(|c| CustomerId::parse(c).unwrap()),
            invoice_id: None,
            amount: None,
            currency: None,
            filled_amount: None,
            filled_amount_in_usd: Some(amount("50.00")),
        }
    }

    fn delivery(content: Result<Inbound, Rejection>) -> Delivery {
        Delivery {
            origin: Origin::Webhook,
            method: "POST".into(),
            auth: AuthMethod::Signature { key_index: 0 },
            raw_body: b"{raw}".to_vec(),
            content,
        }
    }

    fn credit() -> RecordedCredit {
        RecordedCredit {
            id: 7,
            reference_id: ReferenceId::parse("ref-1").unwrap(),
            customer_id: CustomerId::parse("cust-1").unwrap(),
            amount_usd: amount("50.00"),
            credited_total_usd: amount("50.00"),
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

    #[tokio::test]
    async fn an_applied_credit_is_answered_and_handed_to_crediting_once() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_apply_notification()
            .withf(|event, checked| {
                event.received_at == at()
                    && event.raw_body == b"{raw}"
                    && checked.notification().reference_id.as_str() == "ref-1"
            })
            .times(1)
            .returning(|_, _| Ok(applied(Outcome::Applied, Some(credit()))));
        let mut crediting = MockCrediting::new();
        crediting.expect_credit().with(eq(credit())).times(1).returning(|_| Ok(()));

        let receipt = service(repo, crediting)
            .receive(delivery(Ok(Inbound::Payment(filled(Some("cust-1"))))))
            .await
            .unwrap();

        assert_eq!(receipt.outcome, EventOutcome::Applied);
        assert_eq!(receipt.credited.to_string(), "50.00");
        assert_eq!(receipt.status.as_deref(), Some("FILLED"));
    }

    #[tokio::test]
    async fn a_duplicate_credits_nothing() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_apply_notification().returning(|_, _| Ok(applied(Outcome::Duplicate, None)));
        let mut crediting = MockCrediting::new();
        crediting.expect_credit().never();

        let receipt = service(repo, crediting)
            .receive(delivery(Ok(Inbound::Payment(filled(Some("cust-1"))))))
            .await
            .unwrap();

        assert_eq!((receipt.outcome, receipt.credited), (EventOutcome::Duplicate, Amount::ZERO));
    }

    #[tokio::test]
    async fn a_crediting_notification_without_customer_is_recorded_as_invalid() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_apply_notification().never();
        repo.expect_record_event()
            .withf(|_, outcome, reference, detail| {
                *outcome == EventOutcome::InvalidPayload
                    && reference.as_ref().map(ReferenceId::as_str) == Some("ref-1")
                    && detail.as_deref().is_some_and(|d| d.contains("customer_id"))
            })
            .times(1)
            .returning(|_, _, _, _| Ok(3));

        let receipt = service(repo, MockCrediting::new())
            .receive(delivery(Ok(Inbound::Payment(filled(None)))))
            .await
            .unwrap();

        assert_eq!(receipt.outcome, EventOutcome::InvalidPayload);
        assert_eq!(receipt.event_id, 3);
        assert!(receipt.message.unwrap().contains("customer_id"));
    }

    #[tokio::test]
    async fn a_refused_body_is_recorded_with_its_reason() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_record_event()
            .with(
                mockall::predicate::always(),
                eq(EventOutcome::MalformedJson),
                eq(None),
                eq(Some("trailing comma".to_owned())),
            )
            .times(1)
            .returning(|_, _, _, _| Ok(9));
        let rejection =
            Rejection { outcome: EventOutcome::MalformedJson, message: "trailing comma".into() };

        let receipt =
            service(repo, MockCrediting::new()).receive(delivery(Err(rejection))).await.unwrap();

        assert_eq!((receipt.event_id, receipt.outcome), (9, EventOutcome::MalformedJson));
    }

    #[tokio::test]
    async fn a_payout_is_recorded_and_never_credits() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_record_payout()
            .withf(|_, payout| payout.payout_id == "120" && payout.status == "SENT")
            .times(1)
            .returning(|_, _| Ok(RecordedPayout { event_id: 4, first_seen: true }));
        let mut crediting = MockCrediting::new();
        crediting.expect_credit().never();
        let payout = PayoutNotification {
            payout_id: "120".into(),
            event_type: "payout.sent".into(),
            status: "SENT".into(),
        };

        let receipt =
            service(repo, crediting).receive(delivery(Ok(Inbound::Payout(payout)))).await.unwrap();

        assert_eq!(receipt.outcome, EventOutcome::Payout);
        assert_eq!(receipt.payout_id.as_deref(), Some("120"));
    }

    #[tokio::test]
    async fn a_signed_ping_is_recorded() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_record_event()
            .withf(|_, outcome, _, _| *outcome == EventOutcome::Ping)
            .times(1)
            .returning(|_, _, _, _| Ok(5));

        let receipt =
            service(repo, MockCrediting::new()).receive(delivery(Ok(Inbound::Ping))).await.unwrap();

        assert_eq!(receipt.outcome, EventOutcome::Ping);
    }

    #[tokio::test]
    async fn a_lost_race_is_retried_from_scratch() {
        let mut repo = MockPaymentRepository::new();
        let mut seq = mockall::Sequence::new();
        repo.expect_apply_notification()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Err(RepositoryError::Conflict));
        repo.expect_apply_notification()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(applied(Outcome::Duplicate, None)));

        let receipt = service(repo, MockCrediting::new())
            .receive(delivery(Ok(Inbound::Payment(filled(Some("cust-1"))))))
            .await
            .unwrap();

        assert_eq!(receipt.outcome, EventOutcome::Duplicate);
    }

    #[tokio::test]
    async fn endless_conflicts_give_up_as_retryable() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_apply_notification()
            .times(CONFLICT_ATTEMPTS)
            .returning(|_, _| Err(RepositoryError::Conflict));

        let err = service(repo, MockCrediting::new())
            .receive(delivery(Ok(Inbound::Payment(filled(Some("cust-1"))))))
            .await
            .unwrap_err();

        assert!(err.is_retryable());
    }

    #[tokio::test]
    async fn unavailable_storage_is_retryable_and_credits_nothing() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_apply_notification().times(1).returning(|_, _| Err(unavailable()));
        let mut crediting = MockCrediting::new();
        crediting.expect_credit().never();

        let err = service(repo, crediting)
            .receive(delivery(Ok(Inbound::Payment(filled(Some("cust-1"))))))
            .await
            .unwrap_err();

        assert!(err.is_retryable());
    }

    #[tokio::test]
    async fn corrupt_storage_is_not_retryable() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_find_payment()
            .returning(|_| Err(RepositoryError::Corrupt("credited more than received".into())));

        let err = service(repo, MockCrediting::new())
            .payment(ReferenceId::parse("ref-1").unwrap())
            .await
            .unwrap_err();

        assert!(!err.is_retryable());
    }

    #[tokio::test]
    async fn a_crediting_failure_does_not_undo_the_committed_credit() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_apply_notification()
            .returning(|_, _| Ok(applied(Outcome::Applied, Some(credit()))));
        let mut crediting = MockCrediting::new();
        crediting
            .expect_credit()
            .times(1)
            .returning(|_| Err(CreditError::Failed("merchant backend down".into())));

        let receipt = service(repo, crediting)
            .receive(delivery(Ok(Inbound::Payment(filled(Some("cust-1"))))))
            .await
            .unwrap();

        assert_eq!(receipt.credited.to_string(), "50.00");
    }

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
        }
    }

    #[tokio::test]
    async fn a_replay_feeds_the_stored_body_through_the_live_path_as_a_new_event() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_find_event().with(eq(41)).returning(|id| Ok(Some(stored_event(id))));
        repo.expect_apply_notification()
            .withf(|event, _| {
                event.origin == Origin::Replay(41)
                    && event.raw_body == b"{stored}"
                    && event.method == "GET"
                    && event.auth == AuthMethod::ApiKey { key_index: 1 }
            })
            .times(1)
            .returning(|_, _| Ok(applied(Outcome::Duplicate, None)));
        let mut parser = MockBodyParser::new();
        parser
            .expect_parse()
            .withf(|body| body == b"{stored}")
            .times(1)
            .returning(|_| Ok(Inbound::Payment(filled(Some("cust-1")))));
        let mut crediting = MockCrediting::new();
        crediting.expect_credit().never();

        let receipt = service_with_parser(repo, crediting, parser).replay(41).await.unwrap();

        assert_eq!(receipt.unwrap().outcome, EventOutcome::Duplicate);
    }

    #[tokio::test]
    async fn replaying_an_unknown_event_finds_nothing() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_find_event().returning(|_| Ok(None));
        repo.expect_apply_notification().never();

        let receipt = service(repo, MockCrediting::new()).replay(404).await.unwrap();

        assert_eq!(receipt, None);
    }

    #[tokio::test]
    async fn events_are_listed_through_the_repository() {
        let mut repo = MockPaymentRepository::new();
        let filter = EventFilter {
            outcome: Some(EventOutcome::Applied),
            reference_id: Some("ref-1".into()),
            since: Some(at()),
            limit: 5,
        };
        repo.expect_list_events().with(eq(filter.clone())).returning(|_| Ok(vec![stored_event(1)]));

        let events = service(repo, MockCrediting::new()).events(filter).await.unwrap();

        assert_eq!(events, vec![stored_event(1)]);
    }
}
