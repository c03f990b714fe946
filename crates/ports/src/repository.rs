use async_trait::async_trait;
use chrono::{DateTime, Utc};

use payram_domain::{
    CheckedNotification, CustomerId, EventOutcome, PaymentStatus, PayoutNotification, ReferenceId,
};

use crate::{
    Applied, CreditFilter, CustomerBalance, CustomerView, EventFilter, EventId, EventRecord,
    KeyUse, NewEvent, PaymentFilter, PaymentItem, PaymentView, ReconcileCandidate, RecordedCredit,
    RecordedPayout, RepositoryError, Stats,
};

/// Outbound port: the payments, their event log and the credit ledger.
///
/// Every write method records the event and its effects in **one** transaction: either all of
/// it is committed or none of it. Adapters MUST map "cannot commit now" (locked, read-only,
/// full, unreachable) to [`RepositoryError::Unavailable`].
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PaymentRepository: Send + Sync {
    /// Records the event and applies the notification to its payment, atomically: reads the
    /// payment, calls [`CheckedNotification::decide`], writes the payment, the credit it owes
    /// (unique per payment and credit sequence number) and the event with its outcome.
    ///
    /// MUST serialise concurrent calls for one payment, and MUST return
    /// [`RepositoryError::Conflict`] (having written nothing) if a concurrent writer committed
    /// the same credit first.
    async fn apply_notification(
        &self,
        event: NewEvent,
        notification: CheckedNotification,
    ) -> Result<Applied, RepositoryError>;

    /// Records a payout event; [`RecordedPayout::first_seen`] is false when the same
    /// `payout_id` and status were recorded before.
    async fn record_payout(
        &self,
        event: NewEvent,
        payout: PayoutNotification,
    ) -> Result<RecordedPayout, RepositoryError>;

    /// Records an event that changes nothing else (a refused body, a signed ping), with the
    /// reason it was refused and the reference it named, if any.
    async fn record_event(
        &self,
        event: NewEvent,
        outcome: EventOutcome,
        reference_id: Option<ReferenceId>,
        detail: Option<String>,
    ) -> Result<EventId, RepositoryError>;

    /// A payment and its events, or `None` when the reference is unknown.
    async fn find_payment(
        &self,
        reference_id: &ReferenceId,
    ) -> Result<Option<PaymentView>, RepositoryError>;

    /// A customer's credits and balance; an unknown customer has none.
    async fn customer(&self, customer_id: &CustomerId) -> Result<CustomerView, RepositoryError>;

    /// Events matching the filter, newest first, at most `filter.limit`
    /// (capped at [`EventFilter::MAX_LIMIT`]).
    async fn list_events(&self, filter: EventFilter) -> Result<Vec<EventRecord>, RepositoryError>;

    /// One event with its raw body, or `None` when the id is unknown.
    async fn find_event(&self, id: EventId) -> Result<Option<EventRecord>, RepositoryError>;

    /// Records a payment event whose processing failed: outcome `failed`, one attempt made,
    /// the error in `detail`, the next attempt due at `next_attempt_at`.
    async fn record_failure(
        &self,
        event: NewEvent,
        reference_id: Option<ReferenceId>,
        status: Option<String>,
        error: String,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<EventId, RepositoryError>;

    /// Records a crediting notification waiting for PayRam's API to confirm it
    /// (`CONFIRM_BEFORE_CREDIT`): outcome `waiting`, one attempt made, the reason in
    /// `detail`, the next attempt due at `next_attempt_at`. Nothing else changes.
    async fn record_waiting(
        &self,
        event: NewEvent,
        reference_id: ReferenceId,
        status: String,
        reason: String,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<EventId, RepositoryError>;

    /// Counts one more unconfirmed attempt of an event: outcome `waiting` with the reason and
    /// the next attempt, or `dead` (never retried again) when `next_attempt_at` is `None`.
    async fn postpone(
        &self,
        id: EventId,
        reason: String,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<(), RepositoryError>;

    /// Applies a failed event's notification again, exactly as
    /// [`PaymentRepository::apply_notification`] does (one transaction, same guarantees), but
    /// updates that event in place instead of recording a new one. `at` stamps the writes.
    async fn retry_notification(
        &self,
        id: EventId,
        at: DateTime<Utc>,
        notification: CheckedNotification,
    ) -> Result<Applied, RepositoryError>;

    /// Counts one more failed attempt of an event: outcome `failed` with the error and the next
    /// attempt, or `dead` (never retried again) when `next_attempt_at` is `None`.
    async fn reschedule(
        &self,
        id: EventId,
        error: String,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<(), RepositoryError>;

    /// Gives a failed event its final outcome and clears its schedule.
    async fn resolve(
        &self,
        id: EventId,
        outcome: EventOutcome,
        detail: Option<String>,
    ) -> Result<(), RepositoryError>;

    /// Failed and waiting events whose next attempt is due at `now`, the longest waiting
    /// first.
    async fn due_events(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<EventRecord>, RepositoryError>;

    /// The credits an event caused, in order.
    async fn credits_of_event(&self, id: EventId) -> Result<Vec<RecordedCredit>, RepositoryError>;

    /// Payments matching the filter, newest first.
    async fn list_payments(
        &self,
        filter: PaymentFilter,
    ) -> Result<Vec<PaymentItem>, RepositoryError>;

    /// Customers named by a payment, by id, after `after`, with their balances.
    async fn list_customers(
        &self,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<CustomerBalance>, RepositoryError>;

    /// Credits of the ledger matching the filter, newest first.
    async fn list_credits(
        &self,
        filter: CreditFilter,
    ) -> Result<Vec<RecordedCredit>, RepositoryError>;

    /// For each key position that authenticated a webhook: how many and when last.
    async fn key_usage(&self) -> Result<Vec<KeyUse>, RepositoryError>;

    /// Figures about the whole store, for monitoring.
    async fn stats(&self) -> Result<Stats, RepositoryError>;

    /// Payments whose status is one of `statuses` and whose newest event (of any origin) was
    /// recorded at or before `quiet_since`, the longest quiet first, at most `limit`
    /// (capped at [`EventFilter::MAX_LIMIT`]). Reconciliation asks PayRam about these.
    async fn payments_to_reconcile(
        &self,
        statuses: Vec<PaymentStatus>,
        quiet_since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ReconcileCandidate>, RepositoryError>;
}
