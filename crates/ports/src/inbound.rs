//! Inbound ports: what driving adapters (HTTP, CLI, background workers) may ask of the core.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{Delivery, EventId, OutboxEntry, OutboxId, Receipt, RepositoryError, ServiceError};

/// The payment use cases: receiving deliveries, and trying recorded events again.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PaymentUseCases: Send + Sync {
    /// Records one authenticated delivery and applies it; the answer is given only after the
    /// commit.
    async fn receive(&self, delivery: Delivery) -> Result<Receipt, ServiceError>;

    /// Feeds an event's stored raw body through the same path as a live delivery, recorded as
    /// a new event with origin `replay`; `None` when the event is unknown. A failed, waiting
    /// or dead event is instead retried in place. Replaying never changes the total credited:
    /// the replay of an applied notification is a duplicate.
    async fn replay(&self, id: EventId) -> Result<Option<Receipt>, ServiceError>;

    /// Replays every webhook event received at or after `since` that exists when the call
    /// starts, oldest first, walking every page; each replayed id with its receipt.
    async fn replay_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(EventId, Receipt)>, ServiceError>;

    /// Retries every failed and waiting event whose next attempt is due (the background
    /// worker's step); returns what each retry concluded.
    async fn retry_due(&self) -> Result<Vec<Receipt>, ServiceError>;

    /// Retries every failed, waiting and dead event now, whatever its schedule
    /// (`events replay --failed`), walking every page.
    async fn retry_failed(&self) -> Result<Vec<Receipt>, ServiceError>;
}

/// The outbox use cases: delivering forwarded credits.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OutboxUseCases: Send + Sync {
    /// Delivers one entry now, whatever its state or schedule (a delivered entry is sent
    /// again, with the same `webhook-id`); the entry after the attempt, `None` when unknown.
    async fn replay(&self, id: OutboxId) -> Result<Option<OutboxEntry>, RepositoryError>;

    /// Delivers every due entry (the worker's step); how many were attempted.
    async fn deliver_due(&self) -> Result<usize, RepositoryError>;
}
