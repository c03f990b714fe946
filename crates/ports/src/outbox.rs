//! The transactional outbox of credits: each credit committed while forwarding is on gets an
//! outbox entry in the same transaction; [`OutboxService`] hands every pending entry to a
//! forwarding [`Crediting`] adapter until it is delivered, with a persisted backoff schedule,
//! and gives up (dead letter) after [`RetryPolicy::max_attempts`].

use std::{fmt, str::FromStr, sync::Arc};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{Clock, Crediting, ErrorChain, RecordedCredit, RepositoryError, RetryPolicy};

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

/// Outbound port: the outbox entries, written by the repository with their credits.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OutboxRepository: Send + Sync {
    /// Pending entries due at `now`, the longest waiting first, at most `limit`.
    async fn due_outbox(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, RepositoryError>;

    /// Marks an entry delivered, counting the attempt.
    async fn outbox_delivered(
        &self,
        id: OutboxId,
        at: DateTime<Utc>,
    ) -> Result<(), RepositoryError>;

    /// Counts a failed attempt: still pending until `next_attempt_at`, or dead when `None`.
    async fn outbox_failed(
        &self,
        id: OutboxId,
        error: String,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<(), RepositoryError>;

    /// Entries in `state` (any state when `None`), newest first, at most `limit`.
    async fn list_outbox(
        &self,
        state: Option<OutboxState>,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, RepositoryError>;

    /// One entry, or `None` when the id is unknown.
    async fn find_outbox(&self, id: OutboxId) -> Result<Option<OutboxEntry>, RepositoryError>;
}

/// Inbound port: what driving adapters may ask of the outbox.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OutboxUseCases: Send + Sync {
    /// Entries in `state` (any when `None`), newest first.
    async fn entries(
        &self,
        state: Option<OutboxState>,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, RepositoryError>;

    /// Delivers one entry now, whatever its state or schedule (a delivered entry is sent
    /// again, with the same `webhook-id`); the entry after the attempt, `None` when unknown.
    async fn replay(&self, id: OutboxId) -> Result<Option<OutboxEntry>, RepositoryError>;

    /// Delivers every due entry (the worker's step); how many were attempted.
    async fn deliver_due(&self) -> Result<usize, RepositoryError>;
}

/// How many due entries one step of the worker takes on.
const OUTBOX_BATCH: u32 = 100;

/// The outbox use cases on top of the repository, a forwarding crediting adapter and a clock.
pub struct OutboxService {
    repo: Arc<dyn OutboxRepository>,
    forwarder: Arc<dyn Crediting>,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
}

impl OutboxService {
    #[must_use]
    pub fn new(
        repo: Arc<dyn OutboxRepository>,
        forwarder: Arc<dyn Crediting>,
        clock: Arc<dyn Clock>,
        retry: RetryPolicy,
    ) -> Self {
        Self { repo, forwarder, clock, retry }
    }

    /// One delivery attempt of `entry`, recorded.
    async fn attempt(&self, entry: &OutboxEntry) -> Result<(), RepositoryError> {
        match self.forwarder.credit(&entry.credit).await {
            Ok(()) => {
                tracing::info!(
                    outbox_id = entry.id,
                    credit_id = entry.credit.id,
                    attempt = entry.attempts + 1,
                    "credit forwarded"
                );
                self.repo.outbox_delivered(entry.id, self.clock.now()).await
            }
            Err(err) => {
                let error = ErrorChain(&err).to_string();
                let attempts = entry.attempts.saturating_add(1);
                let seed = u64::try_from(entry.id).unwrap_or_default();
                let next = self.retry.next_delay(attempts, seed).map(|delay| {
                    self.clock.now() + chrono::Duration::from_std(delay).unwrap_or_default()
                });
                if next.is_some() {
                    tracing::warn!(outbox_id = entry.id, credit_id = entry.credit.id, attempts,
                        %error, "forwarding a credit failed; it will be tried again");
                } else {
                    tracing::error!(outbox_id = entry.id, credit_id = entry.credit.id, attempts,
                        %error, "DEAD LETTER: forwarding a credit failed for the last time; \
                        replay it once the receiver is fixed");
                }
                self.repo.outbox_failed(entry.id, error, next).await
            }
        }
    }
}

#[async_trait]
impl OutboxUseCases for OutboxService {
    async fn entries(
        &self,
        state: Option<OutboxState>,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, RepositoryError> {
        self.repo.list_outbox(state, limit).await
    }

    async fn replay(&self, id: OutboxId) -> Result<Option<OutboxEntry>, RepositoryError> {
        let Some(entry) = self.repo.find_outbox(id).await? else { return Ok(None) };
        // A replay is one more attempt; a dead entry that fails again stays dead.
        let entry = if entry.state == OutboxState::Dead {
            OutboxEntry { attempts: self.retry.max_attempts.max(entry.attempts), ..entry }
        } else {
            entry
        };
        self.attempt(&entry).await?;
        self.repo.find_outbox(id).await
    }

    async fn deliver_due(&self) -> Result<usize, RepositoryError> {
        let due = self.repo.due_outbox(self.clock.now(), OUTBOX_BATCH).await?;
        for entry in &due {
            self.attempt(entry).await?;
        }
        Ok(due.len())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mockall::predicate::eq;
    use payram_domain::{Amount, CustomerId, PaymentStatus, ReferenceId};

    use super::*;
    use crate::{CreditError, MockClock, MockCrediting};

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
    }

    fn entry(id: OutboxId, attempts: u32, state: OutboxState) -> OutboxEntry {
        OutboxEntry {
            id,
            credit: RecordedCredit {
                id: 7,
                reference_id: ReferenceId::parse("ref-1").unwrap(),
                customer_id: CustomerId::parse("cust-1").unwrap(),
                amount_usd: Amount::parse("60").unwrap(),
                credited_total_usd: Amount::parse("100").unwrap(),
                status: PaymentStatus::Filled,
                event_id: 3,
                created_at: at(0),
            },
            state,
            attempts,
            next_attempt_at: Some(at(0)),
            last_error: None,
            created_at: at(0),
            delivered_at: None,
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_secs(10),
            max_delay: Duration::from_mins(1),
        }
    }

    fn clock() -> MockClock {
        let mut clock = MockClock::new();
        clock.expect_now().returning(|| at(100));
        clock
    }

    fn failing() -> MockCrediting {
        let mut forwarder = MockCrediting::new();
        forwarder
            .expect_credit()
            .returning(|_| Err(CreditError::Failed("receiver answered 500".into())));
        forwarder
    }

    fn service(repo: MockOutboxRepository, forwarder: MockCrediting) -> OutboxService {
        OutboxService::new(Arc::new(repo), Arc::new(forwarder), Arc::new(clock()), policy())
    }

    #[tokio::test]
    async fn a_due_entry_delivered_is_marked_delivered() {
        let mut repo = MockOutboxRepository::new();
        repo.expect_due_outbox()
            .with(eq(at(100)), eq(OUTBOX_BATCH))
            .returning(|_, _| Ok(vec![entry(1, 0, OutboxState::Pending)]));
        repo.expect_outbox_delivered().with(eq(1), eq(at(100))).times(1).returning(|_, _| Ok(()));
        let mut forwarder = MockCrediting::new();
        forwarder.expect_credit().withf(|credit| credit.id == 7).times(1).returning(|_| Ok(()));
        assert_eq!(service(repo, forwarder).deliver_due().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_failed_attempt_is_rescheduled_with_backoff_and_its_error() {
        let mut repo = MockOutboxRepository::new();
        repo.expect_due_outbox().returning(|_, _| Ok(vec![entry(1, 1, OutboxState::Pending)]));
        // Second failed attempt: between half and all of 2 x 10 s after now.
        repo.expect_outbox_failed()
            .withf(|id, error, next| {
                *id == 1
                    && error.contains("receiver answered 500")
                    && next.is_some_and(|next| next >= at(110) && next <= at(120))
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        assert_eq!(service(repo, failing()).deliver_due().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn the_last_failed_attempt_makes_the_entry_dead() {
        let mut repo = MockOutboxRepository::new();
        repo.expect_due_outbox().returning(|_, _| Ok(vec![entry(1, 2, OutboxState::Pending)]));
        repo.expect_outbox_failed()
            .withf(|id, _, next| *id == 1 && next.is_none())
            .times(1)
            .returning(|_, _, _| Ok(()));
        service(repo, failing()).deliver_due().await.unwrap();
    }

    #[tokio::test]
    async fn replaying_a_dead_entry_delivers_it_now() {
        let mut repo = MockOutboxRepository::new();
        let mut finds = 0;
        repo.expect_find_outbox().with(eq(4)).times(2).returning(move |_| {
            finds += 1;
            let state = if finds == 1 { OutboxState::Dead } else { OutboxState::Delivered };
            Ok(Some(entry(4, 3, state)))
        });
        repo.expect_outbox_delivered().with(eq(4), eq(at(100))).times(1).returning(|_, _| Ok(()));
        let mut forwarder = MockCrediting::new();
        forwarder.expect_credit().times(1).returning(|_| Ok(()));
        let replayed = service(repo, forwarder).replay(4).await.unwrap().unwrap();
        assert_eq!(replayed.state, OutboxState::Delivered);
    }

    #[tokio::test]
    async fn a_dead_entry_that_fails_again_on_replay_stays_dead() {
        let mut repo = MockOutboxRepository::new();
        repo.expect_find_outbox().returning(|_| Ok(Some(entry(4, 1, OutboxState::Dead))));
        repo.expect_outbox_failed()
            .withf(|_, _, next| next.is_none())
            .times(1)
            .returning(|_, _, _| Ok(()));
        service(repo, failing()).replay(4).await.unwrap();
    }

    #[tokio::test]
    async fn replaying_an_unknown_entry_is_none_and_sends_nothing() {
        let mut repo = MockOutboxRepository::new();
        repo.expect_find_outbox().returning(|_| Ok(None));
        let mut forwarder = MockCrediting::new();
        forwarder.expect_credit().never();
        assert_eq!(service(repo, forwarder).replay(9).await.unwrap(), None);
    }

    #[tokio::test]
    async fn storage_down_stops_the_step_without_sending() {
        let mut repo = MockOutboxRepository::new();
        repo.expect_due_outbox()
            .returning(|_, _| Err(RepositoryError::Unavailable("database is locked".into())));
        let mut forwarder = MockCrediting::new();
        forwarder.expect_credit().never();
        assert!(service(repo, forwarder).deliver_due().await.is_err());
    }

    #[test]
    fn states_round_trip_through_their_names() {
        for state in [OutboxState::Pending, OutboxState::Delivered, OutboxState::Dead] {
            assert_eq!(state.as_str().parse::<OutboxState>(), Ok(state));
        }
        assert!("sent".parse::<OutboxState>().is_err());
    }
}
