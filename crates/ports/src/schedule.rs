//! The retry schedule port: failed and waiting events, claimed when due and tried again in
//! place.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use payram_domain::{CheckedNotification, EventOutcome};

use crate::{Applied, EventId, EventRecord, RecordedCredit, RepositoryError};

/// Outbound port: the schedule of events to try again (outcome `failed` or `waiting`), and the
/// writes that conclude an attempt. The rules (how long to wait, when an event is dead) are
/// the core's; this port only stores what it is told.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RetrySchedule: Send + Sync {
    /// Claims the failed and waiting events due at `now`, the longest waiting first, at most
    /// `limit`. An adapter shared by several processes MUST NOT hand one event to two
    /// claimers at once (a lease); a single process may simply read them.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<EventRecord>, RepositoryError>;

    /// Events with `outcome` whose id is above `after`, oldest first, at most `limit`: one
    /// page of a walk through every failed, waiting or dead event.
    async fn with_outcome(
        &self,
        outcome: EventOutcome,
        after: Option<EventId>,
        limit: u32,
    ) -> Result<Vec<EventRecord>, RepositoryError>;

    /// Applies a recorded event's notification again, exactly as
    /// [`crate::Ledger::apply_notification`] does (one transaction, same guarantees), but
    /// updates that event in place instead of recording a new one. `at` stamps the writes.
    async fn retry_notification(
        &self,
        id: EventId,
        at: DateTime<Utc>,
        notification: CheckedNotification,
    ) -> Result<Applied, RepositoryError>;

    /// Counts one more attempt of an event and stores what the core concluded.
    async fn record_attempt(&self, id: EventId, attempt: Attempt) -> Result<(), RepositoryError>;

    /// Gives an event its final outcome and clears its schedule (attempts are not counted).
    async fn resolve(
        &self,
        id: EventId,
        outcome: EventOutcome,
        detail: Option<String>,
    ) -> Result<(), RepositoryError>;

    /// The credits an event caused, in order.
    async fn credits_of_event(&self, id: EventId) -> Result<Vec<RecordedCredit>, RepositoryError>;
}

/// What one more attempt at a scheduled event concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// `failed` or `waiting` while another attempt is due, `dead` when none is left.
    pub outcome: EventOutcome,
    /// Why the attempt did not succeed.
    pub detail: String,
    /// When the next attempt is due; `None` for a dead event.
    pub next_attempt_at: Option<DateTime<Utc>>,
}
