use chrono::{DateTime, Utc};

use payram_domain::{
    Amount, AuthMethod, CustomerId, EventOutcome, Inbound, Outcome, Payment, PaymentStatus,
    ReferenceId, Total,
};

/// Row id of a recorded event.
pub type EventId = i64;

/// Where a recorded event came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A live request from PayRam.
    Webhook,
    /// The stored raw body of the given event, fed through the same path again.
    Replay(EventId),
    /// PayRam's answer to a lookup of the payment (its API), fed through the same path as a
    /// webhook; the raw body is the API's answer.
    Reconciliation,
}

impl Origin {
    /// `webhook`, `replay` or `reconciliation`: the value of the events' `origin` column.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Replay(_) => "replay",
            Self::Reconciliation => "reconciliation",
        }
    }

    /// The replayed event, for a replay.
    #[must_use]
    pub const fn replay_of(self) -> Option<EventId> {
        match self {
            Self::Webhook | Self::Reconciliation => None,
            Self::Replay(id) => Some(id),
        }
    }
}

/// One authenticated delivery, as a driving adapter hands it to the core.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub origin: Origin,
    /// `POST` or `GET`.
    pub method: String,
    pub auth: AuthMethod,
    /// The body exactly as received.
    pub raw_body: Vec<u8>,
    /// What the body says, or why it cannot be used.
    pub content: Result<Inbound, Rejection>,
}

/// Why a body was refused (answered 400, and recorded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// [`EventOutcome::MalformedJson`] or [`EventOutcome::InvalidPayload`].
    pub outcome: EventOutcome,
    pub message: String,
}

/// The event row the repository writes for a delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    pub origin: Origin,
    pub received_at: DateTime<Utc>,
    pub method: String,
    pub auth: AuthMethod,
    pub raw_body: Vec<u8>,
}

/// What the core answers for one delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The recorded event.
    pub event_id: EventId,
    pub outcome: EventOutcome,
    pub reference_id: Option<ReferenceId>,
    pub payout_id: Option<String>,
    /// The notification's normalised status.
    pub status: Option<String>,
    /// USD credited by this delivery (zero when none).
    pub credited: Amount,
    /// Why the body was refused, for [`EventOutcome::MalformedJson`] and
    /// [`EventOutcome::InvalidPayload`].
    pub message: Option<String>,
}

/// A credit as committed to the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedCredit {
    /// Ledger row id: the idempotency key of the credit.
    pub id: i64,
    pub reference_id: ReferenceId,
    pub customer_id: CustomerId,
    pub amount_usd: Amount,
    /// The payment's credited total after this credit.
    pub credited_total_usd: Amount,
    /// The payment's status after the notification that caused this credit.
    pub status: PaymentStatus,
    pub event_id: EventId,
    pub created_at: DateTime<Utc>,
}

impl RecordedCredit {
    /// `credit_<id>`: the id under which the credit is forwarded (`webhook-id`), the same on
    /// every attempt, so the receiving application can deduplicate.
    #[must_use]
    pub fn webhook_id(&self) -> String {
        format!("credit_{}", self.id)
    }
}

/// What [`crate::Ledger::apply_notification`] committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub event_id: EventId,
    pub outcome: Outcome,
    pub credit: Option<RecordedCredit>,
}

/// What [`crate::Ledger::record_payout`] committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordedPayout {
    pub event_id: EventId,
    /// False when this `payout_id` + status was recorded before.
    pub first_seen: bool,
}

/// One line of a payment's event history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventSummary {
    pub id: EventId,
    pub received_at: DateTime<Utc>,
    pub status: Option<String>,
    pub outcome: EventOutcome,
}

/// A payment with its events, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentView {
    pub payment: Payment,
    pub events: Vec<EventSummary>,
}

/// One credit in a customer's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreditEntry {
    pub reference_id: ReferenceId,
    pub amount_usd: Amount,
    pub created_at: DateTime<Utc>,
}

/// A customer's balance (the exact sum of its credits) and credits, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerView {
    pub customer_id: CustomerId,
    pub balance_usd: Total,
    pub credits: Vec<CreditEntry>,
}

/// A recorded event, raw body included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    pub id: EventId,
    pub received_at: DateTime<Utc>,
    pub origin: Origin,
    pub method: String,
    pub auth: AuthMethod,
    pub reference_id: Option<String>,
    pub payout_id: Option<String>,
    pub status: Option<String>,
    pub outcome: EventOutcome,
    pub credited_usd: Amount,
    /// Why the body was refused, or why processing failed.
    pub detail: Option<String>,
    /// The body exactly as received.
    pub raw_body: Vec<u8>,
    /// Processing attempts that failed (0 for an event processed at once).
    pub attempts: u32,
    /// When a failed event is retried next (`None` unless the outcome is failed).
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// Which events to list; every condition given must hold. Newest first unless `order` says
/// otherwise.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub outcome: Option<EventOutcome>,
    pub reference_id: Option<String>,
    /// Received at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// At most this many (the repository caps it at [`EventFilter::MAX_LIMIT`]).
    pub limit: u32,
    /// Only events older than this one (the cursor of the next page, newest first).
    pub before: Option<EventId>,
    /// Only events newer than this one (the cursor of the next page, oldest first).
    pub after: Option<EventId>,
    pub order: EventOrder,
}

/// The order of an event list, by id (the order in which events were recorded).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EventOrder {
    #[default]
    NewestFirst,
    OldestFirst,
}

impl EventFilter {
    /// The default page size.
    pub const DEFAULT_LIMIT: u32 = 100;
    /// The largest page size.
    pub const MAX_LIMIT: u32 = 10_000;
}

/// Figures about the whole store, for monitoring (`/metrics`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Credits in the ledger.
    pub credits: u64,
    /// Their exact sum.
    pub credited_usd: Total,
    /// Events waiting for a retry of their processing.
    pub failed_events: u64,
    /// Events whose processing failed for the last time.
    pub dead_events: u64,
    /// Outbox entries not delivered yet.
    pub outbox_pending: u64,
    /// Outbox entries that failed for the last time.
    pub outbox_dead: u64,
    /// When the oldest pending outbox entry was created.
    pub oldest_pending_outbox: Option<DateTime<Utc>>,
    /// Payments that reconciliation moved forward (events of origin `reconciliation` that
    /// were applied): webhooks that went missing.
    pub reconciliation_corrections: u64,
}

/// A payment that reconciliation should check with PayRam: not settled, and nothing heard of
/// it for a while.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReconcileCandidate {
    pub reference_id: ReferenceId,
    pub status: PaymentStatus,
    /// When the newest event about this payment was recorded (webhook, replay or lookup).
    pub last_event_at: DateTime<Utc>,
}

/// Which payments to list; every condition given must hold. Newest first (by creation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PaymentFilter {
    pub status: Option<PaymentStatus>,
    pub customer_id: Option<String>,
    /// Created at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// At most this many (capped at [`EventFilter::MAX_LIMIT`]).
    pub limit: u32,
    /// Only payments after this one in the listing order (the cursor of the next page).
    pub after: Option<PaymentCursor>,
}

/// A payment's place in the listing order: newest creation first, then reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentCursor {
    pub created_at: DateTime<Utc>,
    pub reference_id: String,
}

/// One payment of a list, with its times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentItem {
    pub payment: Payment,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PaymentItem {
    /// The cursor that lists the payments after this one.
    #[must_use]
    pub fn cursor(&self) -> PaymentCursor {
        PaymentCursor {
            created_at: self.created_at,
            reference_id: self.payment.reference_id().as_str().to_owned(),
        }
    }
}

/// A customer and its balance (the exact sum of its credits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerBalance {
    pub customer_id: CustomerId,
    pub balance_usd: Total,
    pub credits: u64,
    pub payments: u64,
}

/// Which credits to list: newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreditFilter {
    /// Created at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// At most this many (capped at [`EventFilter::MAX_LIMIT`]).
    pub limit: u32,
    /// Only credits older than this ledger id (the cursor of the next page).
    pub before: Option<i64>,
}

/// How one configured API key was last used by PayRam (webhooks only), by its position in
/// `PAYRAM_API_KEYS`: never the key itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyUse {
    pub key_index: usize,
    /// Webhook deliveries this key authenticated.
    pub deliveries: u64,
    pub last_used_at: DateTime<Utc>,
}
