//! The reconciliation port: payments to ask PayRam about.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use payram_domain::PaymentStatus;

use crate::{ReconcileCandidate, RepositoryError};

/// Outbound port: the payments reconciliation should check with PayRam.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ReconcileQueue: Send + Sync {
    /// Payments whose status is one of `statuses` and whose newest event (of any origin) was
    /// recorded at or before `quiet_since`, the longest quiet first (then by reference), only
    /// those after the candidate `after` in that order, at most `limit` (capped at
    /// [`crate::EventFilter::MAX_LIMIT`]): one page of the walk.
    async fn quiet_payments(
        &self,
        statuses: Vec<PaymentStatus>,
        quiet_since: DateTime<Utc>,
        after: Option<ReconcileCandidate>,
        limit: u32,
    ) -> Result<Vec<ReconcileCandidate>, RepositoryError>;
}
