//! [`PaymentService`]: the payment use cases, wired to their ports.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use payram_domain::CreditPolicy;
use payram_ports::{
    BodyParser, Clock, Crediting, Delivery, EventId, Ledger, PaymentUseCases, PayramGateway,
    Queries, Receipt, RetrySchedule, ServiceError,
};

use crate::{LogCrediting, RetryPolicy, SystemClock};

/// The store's ports the payment use cases need.
#[derive(Clone)]
pub struct Storage {
    /// Records deliveries and applies them.
    pub ledger: Arc<dyn Ledger>,
    /// Failed and waiting events, tried again.
    pub schedule: Arc<dyn RetrySchedule>,
    /// Reads stored events (replays).
    pub queries: Arc<dyn Queries>,
}

/// The payment use cases: records every delivery, applies payment notifications with the
/// domain's decision in one ledger command, then hands new credits to [`Crediting`]; retries
/// and replays recorded events.
pub struct PaymentService {
    pub(crate) storage: Storage,
    pub(crate) crediting: Arc<dyn Crediting>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) parser: Arc<dyn BodyParser>,
    pub(crate) policy: CreditPolicy,
    pub(crate) retry: RetryPolicy,
    /// PayRam's API, asked before crediting (`CONFIRM_BEFORE_CREDIT`).
    pub(crate) confirm: Option<Arc<dyn PayramGateway>>,
}

impl PaymentService {
    /// The use cases on `storage`, reading bodies with `parser` and crediting what `policy`
    /// allows; with the system clock, the ledger-only crediting ([`LogCrediting`]), the
    /// default [`RetryPolicy`] and no confirmation.
    #[must_use]
    pub fn new(storage: Storage, parser: Arc<dyn BodyParser>, policy: CreditPolicy) -> Self {
        Self {
            storage,
            crediting: Arc::new(LogCrediting),
            clock: Arc::new(SystemClock),
            parser,
            policy,
            retry: RetryPolicy::default(),
            confirm: None,
        }
    }

    /// Replaces the crediting adapter.
    #[must_use]
    pub fn with_crediting(mut self, crediting: Arc<dyn Crediting>) -> Self {
        self.crediting = crediting;
        self
    }

    /// Replaces the clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the default [`RetryPolicy`].
    #[must_use]
    pub const fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Credits a notification only once PayRam's API confirms a state and USD amount at least
    /// as advanced (`CONFIRM_BEFORE_CREDIT`); until then the event waits and is asked again on
    /// the retry schedule.
    #[must_use]
    pub fn with_confirmation(mut self, gateway: Arc<dyn PayramGateway>) -> Self {
        self.confirm = Some(gateway);
        self
    }

    /// When the next attempt is due once `failed` attempts failed, or `None` when none is
    /// left.
    pub(crate) fn next_attempt_at(&self, failed: u32, seed: u64) -> Option<DateTime<Utc>> {
        self.retry.next_attempt_at(self.clock.now(), failed, seed)
    }
}

#[async_trait]
impl PaymentUseCases for PaymentService {
    async fn receive(&self, delivery: Delivery) -> Result<Receipt, ServiceError> {
        self.receive_delivery(delivery).await
    }

    async fn replay(&self, id: EventId) -> Result<Option<Receipt>, ServiceError> {
        self.replay_event(id).await
    }

    async fn replay_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(EventId, Receipt)>, ServiceError> {
        self.replay_webhooks_since(since).await
    }

    async fn retry_due(&self) -> Result<Vec<Receipt>, ServiceError> {
        self.retry_due_events().await
    }

    async fn retry_failed(&self) -> Result<Vec<Receipt>, ServiceError> {
        self.retry_every_failed_event().await
    }
}
