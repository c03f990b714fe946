//! The read-only query port: what the admin API, the dashboard, the metrics and the tools read.

use async_trait::async_trait;

use payram_domain::{CustomerId, ReferenceId};

use crate::{
    CreditFilter, CustomerBalance, CustomerView, EventFilter, EventId, EventRecord, KeyUse,
    OutboxEntry, OutboxState, PaymentFilter, PaymentItem, PaymentView, RecordedCredit,
    RepositoryError, SessionDigest, Stats,
};

/// Outbound port, read side: answers from the store that change nothing. Adapters may serve
/// them from read-only connections that never wait for a writer. Every list is one page:
/// newest first, at most its limit (capped at [`EventFilter::MAX_LIMIT`]), with a cursor to
/// the next page in its filter.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Queries: Send + Sync {
    /// A payment and its events, or `None` when the reference is unknown.
    async fn payment(
        &self,
        reference_id: &ReferenceId,
    ) -> Result<Option<PaymentView>, RepositoryError>;

    /// A customer's credits and balance; an unknown customer has none.
    async fn customer(&self, customer_id: &CustomerId) -> Result<CustomerView, RepositoryError>;

    /// Events matching the filter, in the filter's order.
    async fn events(&self, filter: EventFilter) -> Result<Vec<EventRecord>, RepositoryError>;

    /// One event with its raw body, or `None` when the id is unknown.
    async fn event(&self, id: EventId) -> Result<Option<EventRecord>, RepositoryError>;

    /// Payments matching the filter, newest first.
    async fn payments(&self, filter: PaymentFilter) -> Result<Vec<PaymentItem>, RepositoryError>;

    /// Customers named by a payment, by id, after `after`, with their balances.
    async fn customers(
        &self,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<CustomerBalance>, RepositoryError>;

    /// Credits of the ledger matching the filter, newest first.
    async fn credits(&self, filter: CreditFilter) -> Result<Vec<RecordedCredit>, RepositoryError>;

    /// For each key position that authenticated a webhook: how many and when last.
    async fn key_usage(&self) -> Result<Vec<KeyUse>, RepositoryError>;

    /// Figures about the whole store, for monitoring. Adapters MUST answer it without scanning
    /// the ledger or the event log (running totals, indexed counts).
    async fn stats(&self) -> Result<Stats, RepositoryError>;

    /// Proves the database answers (readiness), reading a constant amount of data.
    async fn ping(&self) -> Result<(), RepositoryError>;

    /// Outbox entries in `state` (any state when `None`), newest first, at most `limit`.
    async fn outbox(
        &self,
        state: Option<OutboxState>,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, RepositoryError>;

    /// Whether the dashboard session was signed out ([`crate::SessionRevocations`]). Once the
    /// session has expired the answer may be either (its revocation may have been forgotten):
    /// callers check the expiry first. One indexed read.
    async fn is_session_revoked(&self, session: SessionDigest) -> Result<bool, RepositoryError>;
}
