use std::sync::Arc;

use async_trait::async_trait;

use payram_domain::{
    Amount, CheckedNotification, Confirmation, CreditPolicy, CustomerId, EventOutcome, Inbound,
    Notification, Outcome, ReferenceId,
};

use crate::{
    Applied, BodyParser, Clock, CreditFilter, Crediting, CustomerBalance, CustomerView, Delivery,
    ErrorChain, EventFilter, EventId, EventRecord, KeyUse, NewEvent, Origin, PaymentFilter,
    PaymentItem, PaymentRepository, PaymentView, PayramGateway, Receipt, RecordedCredit, Rejection,
    RepositoryError, RetryPolicy, ServiceError, Stats,
};

/// How often a write that lost a race to a concurrent writer is tried again before the
/// delivery is answered as retryable.
const CONFLICT_ATTEMPTS: usize = 3;

/// How many due events one step of the retry worker takes on.
const RETRY_BATCH: u32 = 100;

/// The longest chain of replays followed back to find the format of a stored body.
const MAX_REPLAY_CHAIN: usize = 16;

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
    /// a new event with origin `replay`; `None` when the event is unknown. A failed or dead
    /// event is instead retried in place. Replaying never changes the total credited: the
    /// replay of an applied notification is a duplicate.
    async fn replay(&self, id: EventId) -> Result<Option<Receipt>, ServiceError>;

    /// Retries every failed event whose next attempt is due (the background worker's step);
    /// returns what each retry concluded.
    async fn retry_due(&self) -> Result<Vec<Receipt>, ServiceError>;

    /// Retries every failed and dead event now, whatever its schedule (`events replay --failed`).
    async fn retry_failed(&self) -> Result<Vec<Receipt>, ServiceError>;

    /// Figures about the whole store, for monitoring; also proves the database answers.
    async fn stats(&self) -> Result<Stats, ServiceError>;

    /// Payments matching the filter, newest first.
    async fn payments(&self, filter: PaymentFilter) -> Result<Vec<PaymentItem>, ServiceError>;

    /// Customers with their balances, by id, after `after`.
    async fn customers(
        &self,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<CustomerBalance>, ServiceError>;

    /// Credits matching the filter, newest first.
    async fn credits(&self, filter: CreditFilter) -> Result<Vec<RecordedCredit>, ServiceError>;

    /// When each configured key (by position) last authenticated a webhook.
    async fn key_usage(&self) -> Result<Vec<KeyUse>, ServiceError>;
}

/// The use-case service: records every delivery, applies payment notifications with the
/// domain's decision in one repository transaction, then hands new credits to [`Crediting`].
pub struct PaymentService {
    repo: Arc<dyn PaymentRepository>,
    crediting: Arc<dyn Crediting>,
    clock: Arc<dyn Clock>,
    parser: Arc<dyn BodyParser>,
    policy: CreditPolicy,
    retry: RetryPolicy,
    /// PayRam's API, asked before crediting (`CONFIRM_BEFORE_CREDIT`).
    confirm: Option<Arc<dyn PayramGateway>>,
}

/// What one more attempt at a recorded event came to.
enum Attempt {
    /// Processed, with its outcome and what it credited.
    Done(EventOutcome, Amount),
    /// Failed again, for this reason.
    Failed(String),
    /// PayRam's API did not confirm it yet, for this reason.
    Unconfirmed(String),
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
        Self {
            repo,
            crediting,
            clock,
            parser,
            policy,
            retry: RetryPolicy::default(),
            confirm: None,
        }
    }

    /// Credits a notification only once PayRam's API confirms a state and USD amount at least
    /// as advanced (`CONFIRM_BEFORE_CREDIT`); until then the event waits and is asked again on
    /// the retry schedule.
    #[must_use]
    pub fn with_confirmation(mut self, gateway: Arc<dyn PayramGateway>) -> Self {
        self.confirm = Some(gateway);
        self
    }

    /// `Ok` when the notification may be applied now: confirmation is off, it would not credit,
    /// it is PayRam's API's own answer (reconciliation), or the API confirms it. `Err` says why
    /// it must wait.
    async fn confirmation(
        &self,
        origin: Origin,
        checked: &CheckedNotification,
    ) -> Result<(), String> {
        let Some(gateway) = &self.confirm else { return Ok(()) };
        if origin == Origin::Reconciliation || !checked.may_credit() {
            return Ok(());
        }
        let reference_id = &checked.notification().reference_id;
        match gateway.payment(reference_id).await {
            Ok(view) => match checked.confirmed_by(&view.notification) {
                Confirmation::Confirmed => Ok(()),
                Confirmation::Unconfirmed(reason) => Err(reason.to_owned()),
            },
            Err(err) => Err(format!("PayRam's API could not confirm: {}", ErrorChain(&err))),
        }
    }

    /// Replaces the default [`RetryPolicy`].
    #[must_use]
    pub const fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
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
        if let Err(reason) = self.confirmation(event.origin, &checked).await {
            return self.wait(event, reference_id, status, reason).await;
        }
        let applied = match self.apply(event.clone(), checked).await {
            Ok(applied) => applied,
            Err(err) => {
                self.record_failure(event, reference_id, status, &err).await;
                return Err(err);
            }
        };
        if let Some(credit) = &applied.credit {
            // The credit is committed; the adapter is told after the fact, at least once.
            if let Err(err) = self.crediting.credit(credit).await {
                let error = format!("crediting: {}", ErrorChain(&err));
                tracing::error!(credit_id = credit.id, event_id = applied.event_id, %error,
                    "crediting adapter failed; the credit stays in the ledger and is retried");
                if let Err(err) = self.count_failure(applied.event_id, 0, error).await {
                    tracing::error!(event_id = applied.event_id, error = %ErrorChain(&err),
                        "could not schedule the crediting retry");
                }
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

    /// Records a crediting notification that PayRam's API has not confirmed yet; the retry
    /// worker asks again when it is due.
    async fn wait(
        &self,
        event: NewEvent,
        reference_id: ReferenceId,
        status: String,
        reason: String,
    ) -> Result<Receipt, ServiceError> {
        let seed = event.received_at.timestamp_nanos_opt().map_or(0, i64::unsigned_abs);
        let next = self.after(self.retry.next_delay(1, seed).unwrap_or_default());
        let event_id = self
            .repo
            .record_waiting(event, reference_id.clone(), status.clone(), reason.clone(), next)
            .await?;
        tracing::warn!(event_id, reference_id = %reference_id, %reason, next_attempt_at = %next,
            "credit waits for PayRam's confirmation");
        Ok(Receipt {
            event_id,
            outcome: EventOutcome::Waiting,
            reference_id: Some(reference_id),
            payout_id: None,
            status: Some(status),
            credited: Amount::ZERO,
            message: Some(reason),
        })
    }

    /// Keeps a payment event whose processing failed, for the retry worker. When even that
    /// cannot be written (storage is down), nothing is recorded and the caller answers 503.
    async fn record_failure(
        &self,
        event: NewEvent,
        reference_id: ReferenceId,
        status: String,
        err: &ServiceError,
    ) {
        let error = ErrorChain(err).to_string();
        let seed = event.received_at.timestamp_nanos_opt().map_or(0, i64::unsigned_abs);
        let Some(next) = self.retry.next_delay(1, seed).map(|delay| self.after(delay)) else {
            return;
        };
        match self.repo.record_failure(event, Some(reference_id), Some(status), error, next).await {
            Ok(event_id) => tracing::warn!(event_id, next_attempt_at = %next,
                "processing failed; the event is recorded as failed and will be retried"),
            Err(err) => tracing::error!(error = %ErrorChain(&err),
                "processing failed and the event could not be recorded"),
        }
    }

    /// Counts a failed attempt of a recorded event: failed with the next attempt scheduled, or
    /// dead when none is left. Returns the outcome it now has.
    async fn count_failure(
        &self,
        id: EventId,
        failed_before: u32,
        error: String,
    ) -> Result<EventOutcome, ServiceError> {
        let failed = failed_before.saturating_add(1);
        let seed = id.unsigned_abs();
        let next = self.retry.next_delay(failed, seed).map(|delay| self.after(delay));
        self.repo.reschedule(id, error.clone(), next).await?;
        if next.is_none() {
            tracing::error!(event_id = id, attempts = failed, %error,
                "DEAD LETTER: event failed on every attempt and will not be retried; \
                 fix the cause, then `payram-merchant events replay --failed`");
            return Ok(EventOutcome::Dead);
        }
        Ok(EventOutcome::Failed)
    }

    /// Counts one more unconfirmed attempt: waiting until the next one, or dead when none is
    /// left. Returns the outcome it now has.
    async fn postpone(
        &self,
        id: EventId,
        tried_before: u32,
        reason: String,
    ) -> Result<EventOutcome, ServiceError> {
        let tried = tried_before.saturating_add(1);
        let next = self.retry.next_delay(tried, id.unsigned_abs()).map(|delay| self.after(delay));
        self.repo.postpone(id, reason.clone(), next).await?;
        if next.is_none() {
            tracing::error!(event_id = id, attempts = tried, %reason,
                "DEAD LETTER: PayRam never confirmed this credit and it will not be asked again; \
                 check the payment in PayRam, then `payram-merchant events replay --failed`");
            return Ok(EventOutcome::Dead);
        }
        Ok(EventOutcome::Waiting)
    }

    fn after(&self, delay: std::time::Duration) -> chrono::DateTime<chrono::Utc> {
        let now = self.clock.now();
        chrono::TimeDelta::from_std(delay).map_or(now, |delay| now + delay)
    }

    /// One more attempt at a failed (or dead) event, in place.
    async fn retry_event(&self, event: EventRecord) -> Result<Receipt, ServiceError> {
        let credits = self.repo.credits_of_event(event.id).await?;
        let attempt = if credits.is_empty() {
            self.reapply(&event).await?
        } else {
            // Applied and credited before; only handing the credits over failed.
            match self.hand_over(&credits).await {
                Ok(()) => {
                    self.repo.resolve(event.id, EventOutcome::Applied, None).await?;
                    Attempt::Done(EventOutcome::Applied, Amount::ZERO)
                }
                Err(error) => Attempt::Failed(error),
            }
        };
        let (outcome, credited, message) = match attempt {
            Attempt::Done(outcome, credited) => (outcome, credited, None),
            Attempt::Failed(error) => {
                let outcome = self.count_failure(event.id, event.attempts, error.clone()).await?;
                (outcome, Amount::ZERO, Some(error))
            }
            Attempt::Unconfirmed(reason) => {
                let outcome = self.postpone(event.id, event.attempts, reason.clone()).await?;
                (outcome, Amount::ZERO, Some(reason))
            }
        };
        tracing::info!(event_id = event.id, %outcome, credited_usd = %credited, "event retried");
        Ok(Receipt {
            event_id: event.id,
            outcome,
            reference_id: event.reference_id.as_deref().and_then(|r| ReferenceId::parse(r).ok()),
            payout_id: event.payout_id,
            status: event.status,
            credited,
            message,
        })
    }

    /// Applies a failed event's stored body again, updating it in place. The outer error is
    /// storage failing to record anything; the inner one is why this attempt failed.
    async fn reapply(&self, event: &EventRecord) -> Result<Attempt, ServiceError> {
        let Ok(Inbound::Payment(notification)) = self.parse_stored(event).await? else {
            return Ok(Attempt::Failed("the stored body is not a payment notification".to_owned()));
        };
        let checked = match self.policy.check(notification) {
            Ok(checked) => checked,
            Err(invalid) => {
                self.repo
                    .resolve(event.id, EventOutcome::InvalidPayload, Some(invalid.to_string()))
                    .await?;
                return Ok(Attempt::Done(EventOutcome::InvalidPayload, Amount::ZERO));
            }
        };
        if let Err(reason) = self.confirmation(event.origin, &checked).await {
            return Ok(Attempt::Unconfirmed(reason));
        }
        let applied = match self.repo.retry_notification(event.id, self.clock.now(), checked).await
        {
            Ok(applied) => applied,
            Err(err) => return Ok(Attempt::Failed(ErrorChain(&err).to_string())),
        };
        let credited = applied.credit.as_ref().map_or(Amount::ZERO, |credit| credit.amount_usd);
        if let Some(credit) = &applied.credit
            && let Err(error) = self.hand_over(std::slice::from_ref(credit)).await
        {
            return Ok(Attempt::Failed(error));
        }
        Ok(Attempt::Done(event_outcome(applied.outcome), credited))
    }

    /// Reads a stored raw body in the format it arrived in: a reconciliation event holds an
    /// answer of PayRam's lookup API, a webhook event a webhook body, and a replay holds the
    /// body of the event it replayed.
    async fn parse_stored(
        &self,
        event: &EventRecord,
    ) -> Result<Result<Inbound, Rejection>, ServiceError> {
        let mut origin = event.origin;
        // Replays of replays form a chain back to the first event; bounded in case stored
        // rows point at each other.
        for _ in 0..MAX_REPLAY_CHAIN {
            match origin {
                Origin::Webhook => break,
                Origin::Reconciliation => {
                    return Ok(self.parser.parse_lookup(&event.raw_body).map(Inbound::Payment));
                }
                Origin::Replay(of) => match self.repo.find_event(of).await? {
                    Some(replayed) => origin = replayed.origin,
                    None => break,
                },
            }
        }
        Ok(self.parser.parse(&event.raw_body))
    }

    /// Hands committed credits to the crediting adapter.
    async fn hand_over(&self, credits: &[crate::RecordedCredit]) -> Result<(), String> {
        for credit in credits {
            self.crediting
                .credit(credit)
                .await
                .map_err(|err| format!("crediting: {}", ErrorChain(&err)))?;
        }
        Ok(())
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
        if matches!(
            original.outcome,
            EventOutcome::Failed | EventOutcome::Dead | EventOutcome::Waiting
        ) {
            return self.retry_event(original).await.map(Some);
        }
        let content = self.parse_stored(&original).await?;
        let delivery = Delivery {
            origin: Origin::Replay(id),
            method: original.method,
            auth: original.auth,
            raw_body: original.raw_body,
            content,
        };
        self.receive(delivery).await.map(Some)
    }

    async fn retry_due(&self) -> Result<Vec<Receipt>, ServiceError> {
        let due = self.repo.due_events(self.clock.now(), RETRY_BATCH).await?;
        let mut receipts = Vec::with_capacity(due.len());
        for event in due {
            receipts.push(self.retry_event(event).await?);
        }
        Ok(receipts)
    }

    async fn retry_failed(&self) -> Result<Vec<Receipt>, ServiceError> {
        let mut receipts = Vec::new();
        for outcome in [EventOutcome::Failed, EventOutcome::Waiting, EventOutcome::Dead] {
            let filter = EventFilter {
                outcome: Some(outcome),
                limit: EventFilter::MAX_LIMIT,
                ..EventFilter::default()
            };
            let mut events = self.repo.list_events(filter).await?;
            events.reverse();
            for event in events {
                receipts.push(self.retry_event(event).await?);
            }
        }
        Ok(receipts)
    }

    async fn stats(&self) -> Result<Stats, ServiceError> {
        Ok(self.repo.stats().await?)
    }

    async fn payments(&self, filter: PaymentFilter) -> Result<Vec<PaymentItem>, ServiceError> {
        Ok(self.repo.list_payments(filter).await?)
    }

    async fn customers(
        &self,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<CustomerBalance>, ServiceError> {
        Ok(self.repo.list_customers(after, limit).await?)
    }

    async fn credits(&self, filter: CreditFilter) -> Result<Vec<RecordedCredit>, ServiceError> {
        Ok(self.repo.list_credits(filter).await?)
    }

    async fn key_usage(&self) -> Result<Vec<KeyUse>, ServiceError> {
        Ok(self.repo.key_usage().await?)
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
        repo.expect_record_failure().times(1).returning(|_, _, _, _, _| Ok(2));

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
        // Storage is down: the failure cannot be recorded either.
        repo.expect_record_failure().times(1).returning(|_, _, _, _, _| Err(unavailable()));
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
        repo.expect_reschedule().times(1).returning(|_, _, _| Ok(()));

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
            attempts: 0,
            next_attempt_at: None,
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
            before: Some(40),
        };
        repo.expect_list_events().with(eq(filter.clone())).returning(|_| Ok(vec![stored_event(1)]));

        let events = service(repo, MockCrediting::new()).events(filter).await.unwrap();

        assert_eq!(events, vec![stored_event(1)]);
    }

    fn quick_retry() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base_delay: std::time::Duration::from_secs(10),
            max_delay: std::time::Duration::from_mins(1),
        }
    }

    fn retrying(
        repo: MockPaymentRepository,
        crediting: MockCrediting,
        parser: MockBodyParser,
    ) -> PaymentService {
        service_with_parser(repo, crediting, parser).with_retry_policy(quick_retry())
    }

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

    fn payment_parser() -> MockBodyParser {
        let mut parser = MockBodyParser::new();
        parser.expect_parse().returning(|_| Ok(Inbound::Payment(filled(Some("cust-1")))));
        parser
    }

    #[tokio::test]
    async fn a_processing_failure_is_recorded_for_retry_and_still_answered_as_retryable() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_apply_notification().times(1).returning(|_, _| Err(unavailable()));
        repo.expect_record_failure()
            .withf(|event, reference, status, error, next| {
                let wait = *next - at();
                event.raw_body == b"{raw}"
                    && reference.as_ref().map(ReferenceId::as_str) == Some("ref-1")
                    && status.as_deref() == Some("FILLED")
                    && error.contains("disk full")
                    && wait >= chrono::TimeDelta::seconds(5)
                    && wait <= chrono::TimeDelta::seconds(10)
            })
            .times(1)
            .returning(|_, _, _, _, _| Ok(8));
        let service = retrying(repo, MockCrediting::new(), MockBodyParser::new());

        let err = service
            .receive(delivery(Ok(Inbound::Payment(filled(Some("cust-1"))))))
            .await
            .unwrap_err();

        assert!(err.is_retryable());
    }

    #[tokio::test]
    async fn when_even_the_failure_cannot_be_recorded_the_error_stands() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_apply_notification().returning(|_, _| Err(unavailable()));
        repo.expect_record_failure().times(1).returning(|_, _, _, _, _| Err(unavailable()));

        let err = service(repo, MockCrediting::new())
            .receive(delivery(Ok(Inbound::Payment(filled(Some("cust-1"))))))
            .await
            .unwrap_err();

        assert!(err.is_retryable());
    }

    #[tokio::test]
    async fn a_crediting_failure_schedules_a_retry_of_the_hand_over() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_apply_notification()
            .returning(|_, _| Ok(applied(Outcome::Applied, Some(credit()))));
        repo.expect_reschedule()
            .withf(|id, error, next| *id == 1 && error.starts_with("crediting:") && next.is_some())
            .times(1)
            .returning(|_, _, _| Ok(()));
        let mut crediting = MockCrediting::new();
        crediting.expect_credit().returning(|_| Err(CreditError::Failed("backend down".into())));

        let receipt = retrying(repo, crediting, MockBodyParser::new())
            .receive(delivery(Ok(Inbound::Payment(filled(Some("cust-1"))))))
            .await
            .unwrap();

        assert_eq!(receipt.outcome, EventOutcome::Applied, "the credit itself is committed");
    }

    #[tokio::test]
    async fn a_due_event_is_applied_again_in_place_and_its_credit_handed_over() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_due_events().returning(|_, _| Ok(vec![failed_event(8, 1)]));
        repo.expect_credits_of_event().with(eq(8)).returning(|_| Ok(vec![]));
        repo.expect_apply_notification().never();
        repo.expect_retry_notification()
            .withf(|id, when, _| *id == 8 && *when == at())
            .times(1)
            .returning(|_, _, _| Ok(applied(Outcome::Applied, Some(credit()))));
        repo.expect_reschedule().never();
        let mut crediting = MockCrediting::new();
        crediting.expect_credit().times(1).returning(|_| Ok(()));

        let receipts = retrying(repo, crediting, payment_parser()).retry_due().await.unwrap();

        assert_eq!(receipts.len(), 1);
        assert_eq!((receipts[0].event_id, receipts[0].outcome), (8, EventOutcome::Applied));
        assert_eq!(receipts[0].credited.to_string(), "50.00");
    }

    #[tokio::test]
    async fn a_failing_retry_is_rescheduled_then_dead_after_the_last_attempt() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_due_events().returning(|_, _| Ok(vec![failed_event(8, 1), failed_event(9, 2)]));
        repo.expect_credits_of_event().returning(|_| Ok(vec![]));
        repo.expect_retry_notification().returning(|_, _, _| Err(unavailable()));
        repo.expect_reschedule()
            .withf(|id, error, next| *id == 8 && error.contains("disk full") && next.is_some())
            .times(1)
            .returning(|_, _, _| Ok(()));
        repo.expect_reschedule()
            .withf(|id, _, next| *id == 9 && next.is_none())
            .times(1)
            .returning(|_, _, _| Ok(()));

        let receipts =
            retrying(repo, MockCrediting::new(), payment_parser()).retry_due().await.unwrap();

        let outcomes: Vec<_> = receipts.iter().map(|r| r.outcome).collect();
        assert_eq!(outcomes, [EventOutcome::Failed, EventOutcome::Dead]);
        assert!(receipts[1].message.as_deref().unwrap().contains("disk full"));
    }

    #[tokio::test]
    async fn an_event_whose_credit_was_committed_only_hands_it_over_again() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_due_events().returning(|_, _| Ok(vec![failed_event(1, 1)]));
        repo.expect_credits_of_event().with(eq(1)).returning(|_| Ok(vec![credit()]));
        repo.expect_retry_notification().never();
        repo.expect_resolve()
            .with(eq(1), eq(EventOutcome::Applied), eq(None))
            .times(1)
            .returning(|_, _, _| Ok(()));
        let mut crediting = MockCrediting::new();
        crediting.expect_credit().with(eq(credit())).times(1).returning(|_| Ok(()));

        let receipts = retrying(repo, crediting, MockBodyParser::new()).retry_due().await.unwrap();

        assert_eq!(receipts[0].outcome, EventOutcome::Applied);
        assert_eq!(receipts[0].credited, Amount::ZERO, "credited when first applied");
    }

    #[tokio::test]
    async fn replaying_a_dead_event_retries_it_in_place() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_find_event().returning(|id| Ok(Some(failed_event(id, 3))));
        repo.expect_credits_of_event().returning(|_| Ok(vec![]));
        repo.expect_apply_notification().never();
        repo.expect_retry_notification()
            .times(1)
            .returning(|_, _, _| Ok(applied(Outcome::Duplicate, None)));

        let receipt = retrying(repo, MockCrediting::new(), payment_parser())
            .replay(5)
            .await
            .unwrap()
            .unwrap();

        assert_eq!((receipt.event_id, receipt.outcome), (5, EventOutcome::Duplicate));
    }

    fn lookup_parser() -> MockBodyParser {
        let mut parser = MockBodyParser::new();
        parser.expect_parse().never();
        parser
            .expect_parse_lookup()
            .withf(|body| body == b"{stored}")
            .returning(|_| Ok(filled(Some("cust-1"))));
        parser
    }

    #[tokio::test]
    async fn a_reconciliation_event_is_replayed_as_the_api_answer_it_holds() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_find_event().with(eq(41)).returning(|id| {
            Ok(Some(EventRecord { origin: Origin::Reconciliation, ..stored_event(id) }))
        });
        repo.expect_apply_notification()
            .withf(|event, _| event.origin == Origin::Replay(41) && event.raw_body == b"{stored}")
            .times(1)
            .returning(|_, _| Ok(applied(Outcome::Duplicate, None)));

        let receipt =
            service_with_parser(repo, MockCrediting::new(), lookup_parser()).replay(41).await;

        assert_eq!(receipt.unwrap().unwrap().outcome, EventOutcome::Duplicate);
    }

    #[tokio::test]
    async fn a_replay_of_a_replay_is_read_like_the_first_event() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_find_event().with(eq(42)).returning(|id| {
            Ok(Some(EventRecord { origin: Origin::Replay(41), ..stored_event(id) }))
        });
        repo.expect_find_event().with(eq(41)).returning(|id| {
            Ok(Some(EventRecord { origin: Origin::Reconciliation, ..stored_event(id) }))
        });
        repo.expect_apply_notification()
            .withf(|event, _| event.origin == Origin::Replay(42))
            .times(1)
            .returning(|_, _| Ok(applied(Outcome::Duplicate, None)));

        let receipt =
            service_with_parser(repo, MockCrediting::new(), lookup_parser()).replay(42).await;

        assert_eq!(receipt.unwrap().unwrap().outcome, EventOutcome::Duplicate);
    }

    #[tokio::test]
    async fn a_failed_reconciliation_event_is_retried_from_the_api_answer() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_due_events().returning(|_, _| {
            Ok(vec![EventRecord { origin: Origin::Reconciliation, ..failed_event(8, 1) }])
        });
        repo.expect_credits_of_event().returning(|_| Ok(vec![]));
        repo.expect_retry_notification()
            .withf(|id, _, checked| {
                *id == 8 && checked.notification().reference_id.as_str() == "ref-1"
            })
            .times(1)
            .returning(|_, _, _| Ok(applied(Outcome::Duplicate, None)));

        let receipts =
            retrying(repo, MockCrediting::new(), lookup_parser()).retry_due().await.unwrap();

        assert_eq!(receipts[0].outcome, EventOutcome::Duplicate);
    }

    // --- CONFIRM_BEFORE_CREDIT ---

    fn view(status: PaymentStatus, usd: Option<&str>) -> crate::PayramPayment {
        crate::PayramPayment {
            notification: Notification {
                status: ReportedStatus::Known(status),
                filled_amount_in_usd: usd.map(amount),
                ..filled(Some("cust-1"))
            },
            raw_body: b"{api}".to_vec(),
        }
    }

    fn gateway(
        answer: impl Fn() -> Result<crate::PayramPayment, crate::GatewayError> + Send + 'static,
    ) -> crate::MockPayramGateway {
        let mut gateway = crate::MockPayramGateway::new();
        gateway
            .expect_payment()
            .withf(|reference| reference.as_str() == "ref-1")
            .returning(move |_| answer());
        gateway
    }

    fn confirming(
        repo: MockPaymentRepository,
        crediting: MockCrediting,
        parser: MockBodyParser,
        gateway: crate::MockPayramGateway,
    ) -> PaymentService {
        retrying(repo, crediting, parser).with_confirmation(Arc::new(gateway))
    }

    #[tokio::test]
    async fn a_credit_confirmed_by_payram_is_applied() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_apply_notification()
            .times(1)
            .returning(|_, _| Ok(applied(Outcome::Applied, Some(credit()))));
        repo.expect_record_waiting().never();
        let mut crediting = MockCrediting::new();
        crediting.expect_credit().times(1).returning(|_| Ok(()));
        let gateway = gateway(|| Ok(view(PaymentStatus::OverFilled, Some("60.00"))));

        let receipt = confirming(repo, crediting, MockBodyParser::new(), gateway)
            .receive(delivery(Ok(Inbound::Payment(filled(Some("cust-1"))))))
            .await
            .unwrap();

        assert_eq!(
            (receipt.outcome, receipt.credited.to_string()),
            (EventOutcome::Applied, "50.00".into())
        );
    }

    #[tokio::test]
    async fn a_credit_payram_does_not_back_waits_and_changes_nothing() {
        for answer in [
            Ok(view(PaymentStatus::Open, None)),
            Ok(view(PaymentStatus::Filled, Some("49.99"))),
            Ok(view(PaymentStatus::Filled, None)),
            Err(crate::GatewayError::Timeout),
        ] {
            let expected_reason = match &answer {
                Ok(_) => "PayRam",
                Err(_) => "could not confirm",
            };
            let mut repo = MockPaymentRepository::new();
            repo.expect_apply_notification().never();
            repo.expect_record_waiting()
                .withf(move |event, reference, status, reason, next| {
                    let wait = *next - at();
                    event.raw_body == b"{raw}"
                        && reference.as_str() == "ref-1"
                        && status == "FILLED"
                        && reason.contains(expected_reason)
                        && wait >= chrono::TimeDelta::seconds(5)
                        && wait <= chrono::TimeDelta::seconds(10)
                })
                .times(1)
                .returning(|_, _, _, _, _| Ok(9));
            let mut crediting = MockCrediting::new();
            crediting.expect_credit().never();
            let answer = std::sync::Mutex::new(Some(answer));
            let gateway = gateway(move || answer.lock().unwrap().take().unwrap());

            let receipt = confirming(repo, crediting, MockBodyParser::new(), gateway)
                .receive(delivery(Ok(Inbound::Payment(filled(Some("cust-1"))))))
                .await
                .unwrap();

            assert_eq!(receipt.outcome, EventOutcome::Waiting);
            assert_eq!((receipt.event_id, receipt.credited), (9, Amount::ZERO));
            assert!(receipt.message.is_some());
        }
    }

    #[tokio::test]
    async fn notifications_that_cannot_credit_and_payrams_own_answers_are_not_confirmed() {
        let open = Notification {
            status: ReportedStatus::Known(PaymentStatus::Open),
            filled_amount_in_usd: None,
            ..filled(Some("cust-1"))
        };
        let reconciliation = Delivery {
            origin: Origin::Reconciliation,
            ..delivery(Ok(Inbound::Payment(filled(Some("cust-1")))))
        };
        for delivery in [delivery(Ok(Inbound::Payment(open))), reconciliation] {
            let mut repo = MockPaymentRepository::new();
            repo.expect_apply_notification()
                .times(1)
                .returning(|_, _| Ok(applied(Outcome::Applied, None)));
            let mut gateway = crate::MockPayramGateway::new();
            gateway.expect_payment().never();
            let receipt = confirming(repo, MockCrediting::new(), MockBodyParser::new(), gateway)
                .receive(delivery)
                .await
                .unwrap();
            assert_eq!(receipt.outcome, EventOutcome::Applied);
        }
    }

    fn waiting_event(id: EventId, attempts: u32) -> EventRecord {
        EventRecord { outcome: EventOutcome::Waiting, ..failed_event(id, attempts) }
    }

    #[tokio::test]
    async fn a_waiting_event_is_applied_in_place_once_payram_confirms() {
        let mut repo = MockPaymentRepository::new();
        repo.expect_due_events().returning(|_, _| Ok(vec![waiting_event(8, 1)]));
        repo.expect_credits_of_event().returning(|_| Ok(vec![]));
        repo.expect_retry_notification()
            .with(eq(8), eq(at()), mockall::predicate::always())
            .times(1)
            .returning(|_, _, _| Ok(applied(Outcome::Applied, Some(credit()))));
        let mut crediting = MockCrediting::new();
        crediting.expect_credit().times(1).returning(|_| Ok(()));
        let gateway = gateway(|| Ok(view(PaymentStatus::Filled, Some("50.00"))));

        let receipts =
            confirming(repo, crediting, payment_parser(), gateway).retry_due().await.unwrap();

        assert_eq!(
            (receipts[0].outcome, receipts[0].credited.to_string()),
            (EventOutcome::Applied, "50.00".into())
        );
    }

    #[tokio::test]
    async fn a_waiting_event_still_unconfirmed_waits_again_then_dies() {
        for (attempts, dies) in [(1, false), (2, true)] {
            let mut repo = MockPaymentRepository::new();
            repo.expect_due_events().returning(move |_, _| Ok(vec![waiting_event(8, attempts)]));
            repo.expect_credits_of_event().returning(|_| Ok(vec![]));
            repo.expect_retry_notification().never();
            repo.expect_postpone()
                .withf(move |id, reason, next| {
                    *id == 8 && reason.contains("less USD") && next.is_none() == dies
                })
                .times(1)
                .returning(|_, _, _| Ok(()));
            let gateway = gateway(|| Ok(view(PaymentStatus::PartiallyFilled, Some("20.00"))));

            let receipts = confirming(repo, MockCrediting::new(), payment_parser(), gateway)
                .retry_due()
                .await
                .unwrap();

            let expected = if dies { EventOutcome::Dead } else { EventOutcome::Waiting };
            assert_eq!(receipts[0].outcome, expected);
            assert_eq!(receipts[0].credited, Amount::ZERO);
        }
    }
}
