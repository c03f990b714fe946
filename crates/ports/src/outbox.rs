//! The transactional outbox of credits: each credit committed while forwarding is on gets an
//! outbox entry in the same transaction; the core hands every pending entry to a forwarding
//! [`crate::Crediting`] adapter until it is delivered, on a persisted backoff schedule.

use std::{fmt, str::FromStr};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{RecordedCredit, RepositoryError};

/// Row id of an outbox entry.
pub type OutboxId = i64;

/// Where an outbox entry stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutboxState {
    /// Not delivered yet; tried again at `next_attempt_at`.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed; never tried again unless replayed.
    Dead,
}

impl OutboxState {
    /// `pending`, `delivered` or `dead`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }
}

impl fmt::Display for OutboxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An outbox state name that is not one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown outbox state {0:?} (expected pending, delivered or dead)")]
pub struct UnknownOutboxState(pub String);

impl FromStr for OutboxState {
    type Err = UnknownOutboxState;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "dead" => Ok(Self::Dead),
            other => Err(UnknownOutboxState(other.to_owned())),
        }
    }
}

/// One credit to forward, and how its delivery stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: OutboxId,
    pub credit: RecordedCredit,
    pub state: OutboxState,
    /// Delivery attempts made so far.
    pub attempts: u32,
    /// When a pending entry is tried next.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Outbound port: the outbox entries, written by the ledger with their credits. The rules
/// (when to try again, when an entry is dead) are the core's; this port stores what it is told.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Claims the pending entries due at `now`, the longest waiting first, at most `limit`.
    /// An adapter shared by several processes MUST NOT hand one entry to two claimers at
    /// once (a lease); a single process may simply read them.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, RepositoryError>;

    /// One entry, or `None` when the id is unknown.
    async fn find(&self, id: OutboxId) -> Result<Option<OutboxEntry>, RepositoryError>;

    /// Marks an entry delivered at `at`, counting the attempt.
    async fn delivered(&self, id: OutboxId, at: DateTime<Utc>) -> Result<(), RepositoryError>;

    /// Counts a failed attempt: the entry is `state` (pending until `next_attempt_at`, or
    /// dead with none), with the error.
    async fn failed(
        &self,
        id: OutboxId,
        state: OutboxState,
        error: String,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<(), RepositoryError>;
}
