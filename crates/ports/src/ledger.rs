//! The ledger port: the commands that record a delivery and apply it, each in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use payram_domain::{CheckedNotification, EventOutcome, PayoutNotification, ReferenceId};

use crate::{Applied, EventId, NewEvent, RecordedPayout, RepositoryError};

/// Outbound port, write side: the payments, their event log and the credit ledger.
///
/// Each method is one whole command: it records the event and all its effects in **one**
/// transaction, so either all of it is committed or none of it, and it answers only after the
/// commit. Commands are independent of each other, so an adapter may run them in parallel
/// (a pool of PostgreSQL connections) or group several into one commit (a single SQLite
/// writer), as long as each keeps its own all-or-nothing effect.
///
/// Adapters MUST map "cannot commit now" (locked, read-only, full, unreachable) to
/// [`RepositoryError::Unavailable`], having written nothing.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Ledger: Send + Sync {
    /// Records the event and applies the notification to its payment, atomically: reads the
    /// payment, calls [`CheckedNotification::decide`], writes the payment, the credit it owes
    /// (unique per payment and credit sequence number), its outbox entry when forwarding is
    /// on, and the event with its outcome.
    ///
    /// MUST serialise concurrent commands for one payment, and MUST return
    /// [`RepositoryError::Conflict`] (having written nothing) if a concurrent writer committed
    /// the same credit first.
    async fn apply_notification(
        &self,
        event: NewEvent,
        notification: CheckedNotification,
    ) -> Result<Applied, RepositoryError>;

    /// Records a payout event; [`RecordedPayout::first_seen`] is false when the same
    /// `payout_id` and status were recorded before. Payouts never credit.
    async fn record_payout(
        &self,
        event: NewEvent,
        payout: PayoutNotification,
    ) -> Result<RecordedPayout, RepositoryError>;

    /// Records an event that changes nothing else: a refused body, a signed ping, a payment
    /// event whose processing failed, or one waiting for PayRam's confirmation. With
    /// [`EventNote::next_attempt_at`] the event counts one attempt made and is due again then.
    async fn record_event(
        &self,
        event: NewEvent,
        note: EventNote,
    ) -> Result<EventId, RepositoryError>;
}

/// What is known of an event recorded by [`Ledger::record_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventNote {
    pub outcome: EventOutcome,
    pub reference_id: Option<ReferenceId>,
    /// The notification's normalised status, when one was read.
    pub status: Option<String>,
    /// Why the body was refused, why processing failed, or why it waits.
    pub detail: Option<String>,
    /// For a failed or waiting event: when it is tried next.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl EventNote {
    /// A note with this outcome and nothing else.
    #[must_use]
    pub const fn new(outcome: EventOutcome) -> Self {
        Self { outcome, reference_id: None, status: None, detail: None, next_attempt_at: None }
    }
}
