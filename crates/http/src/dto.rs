//! The JSON shapes of every answer. Amounts are exact decimal strings, never JSON numbers.

use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use payram_domain::{Amount, CustomerId, EventOutcome, PaymentRecord, ReferenceId};
use payram_ports::{CreditEntry, CustomerView, EventRecord, EventSummary, PaymentView, Receipt};

/// `{"error": code}`, with a `message` for 400s.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    pub(crate) error: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<String>,
}

/// `{"outcome":"ping"}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PingAnswer {
    /// Always `ping`.
    #[schema(pattern = "^ping$")]
    pub(crate) outcome: &'static str,
}

impl PingAnswer {
    pub(crate) const fn new() -> Self {
        Self { outcome: EventOutcome::Ping.as_str() }
    }
}

/// Every 200 answer of the webhook: a recorded notification, or the test ping. Only
/// describes the answers in the OpenAPI document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[expect(dead_code, reason = "a schema for the OpenAPI document; answers use its variants' types")]
pub(crate) enum WebhookAnswer {
    Receipt(ReceiptAnswer<'static>),
    Ping(PingAnswer),
}

/// The answer to a recorded notification: a payment's (applied, duplicate, stale, ignored)
/// or a payout's, which also names its `payout_id` and always has a null `reference_id`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ReceiptAnswer<'a> {
    #[schema(pattern = "^(applied|duplicate|stale|ignored|payout|waiting)$")]
    outcome: &'static str,
    reference_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payout_id: Option<&'a str>,
    status: Option<&'a str>,
    credited: String,
}

impl<'a> From<&'a Receipt> for ReceiptAnswer<'a> {
    fn from(receipt: &'a Receipt) -> Self {
        Self {
            outcome: receipt.outcome.as_str(),
            reference_id: receipt.reference_id.as_ref().map(ReferenceId::as_str),
            payout_id: receipt.payout_id.as_deref(),
            status: receipt.status.as_deref(),
            credited: receipt.credited.to_string(),
        }
    }
}

/// A payment's own fields, as every answer about a payment shows them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PaymentFields<'a> {
    reference_id: &'a str,
    status: &'static str,
    customer_id: Option<&'a str>,
    invoice_id: Option<&'a str>,
    amount: Option<String>,
    currency: Option<&'a str>,
    filled_amount: Option<String>,
    filled_amount_in_usd: Option<String>,
    credited_usd: String,
    late_payment: bool,
}

impl<'a> From<&'a PaymentRecord> for PaymentFields<'a> {
    fn from(record: &'a PaymentRecord) -> Self {
        Self {
            reference_id: record.reference_id.as_str(),
            status: record.status.as_str(),
            customer_id: record.customer_id.as_ref().map(CustomerId::as_str),
            invoice_id: record.invoice_id.as_deref(),
            amount: record.amount.as_ref().map(Amount::to_string),
            currency: record.currency.as_deref(),
            filled_amount: record.filled_amount.as_ref().map(Amount::to_string),
            filled_amount_in_usd: record.filled_amount_in_usd.as_ref().map(Amount::to_string),
            credited_usd: record.credited_usd.to_string(),
            late_payment: record.late_payment,
        }
    }
}

/// `GET /api/payments/{reference_id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PaymentBody<'a> {
    #[serde(flatten)]
    fields: PaymentFields<'a>,
    events: Vec<EventBody<'a>>,
}

/// One line of a payment's history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct EventBody<'a> {
    id: i64,
    received_at: String,
    status: Option<&'a str>,
    outcome: &'static str,
}

impl<'a> From<&'a PaymentView> for PaymentBody<'a> {
    fn from(view: &'a PaymentView) -> Self {
        Self {
            fields: PaymentFields::from(view.payment.record()),
            events: view.events.iter().map(EventBody::from).collect(),
        }
    }
}

impl<'a> From<&'a EventSummary> for EventBody<'a> {
    fn from(event: &'a EventSummary) -> Self {
        Self {
            id: event.id,
            received_at: rfc3339(event.received_at),
            status: event.status.as_deref(),
            outcome: event.outcome.as_str(),
        }
    }
}

/// `GET /api/customers/{customer_id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CustomerBody<'a> {
    customer_id: &'a str,
    balance_usd: String,
    credits: Vec<CreditBody<'a>>,
}

/// One credit of a customer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CreditBody<'a> {
    reference_id: &'a str,
    amount_usd: String,
    created_at: String,
}

impl<'a> From<&'a CustomerView> for CustomerBody<'a> {
    fn from(view: &'a CustomerView) -> Self {
        Self {
            customer_id: view.customer_id.as_str(),
            balance_usd: view.balance_usd.to_string(),
            credits: view.credits.iter().map(CreditBody::from).collect(),
        }
    }
}

impl<'a> From<&'a CreditEntry> for CreditBody<'a> {
    fn from(credit: &'a CreditEntry) -> Self {
        Self {
            reference_id: credit.reference_id.as_str(),
            amount_usd: credit.amount_usd.to_string(),
            created_at: rfc3339(credit.created_at),
        }
    }
}

/// `GET /api/events`: newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct EventListBody<'a> {
    events: Vec<EventDetailBody<'a>>,
    /// The cursor of the next page, `None` on the last.
    next_cursor: Option<String>,
}

impl<'a> EventListBody<'a> {
    pub(crate) fn new(events: &'a [EventRecord], next_cursor: Option<String>) -> Self {
        Self { events: events.iter().map(EventDetailBody::from).collect(), next_cursor }
    }
}

/// One recorded event. `raw_body` is the body as received when it is UTF-8 text (JSON bodies
/// always are), else null; `raw_body_base64` always holds the exact bytes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct EventDetailBody<'a> {
    id: i64,
    received_at: String,
    origin: &'static str,
    replay_of: Option<i64>,
    method: &'a str,
    auth_method: &'static str,
    key_index: usize,
    reference_id: Option<&'a str>,
    payout_id: Option<&'a str>,
    status: Option<&'a str>,
    outcome: &'static str,
    credited_usd: String,
    detail: Option<&'a str>,
    attempts: u32,
    next_attempt_at: Option<String>,
    raw_body: Option<&'a str>,
    raw_body_base64: String,
}

impl<'a> From<&'a EventRecord> for EventDetailBody<'a> {
    fn from(event: &'a EventRecord) -> Self {
        Self {
            id: event.id,
            received_at: rfc3339(event.received_at),
            origin: event.origin.as_str(),
            replay_of: event.origin.replay_of(),
            method: &event.method,
            auth_method: event.auth.as_str(),
            key_index: event.auth.key_index(),
            reference_id: event.reference_id.as_deref(),
            payout_id: event.payout_id.as_deref(),
            status: event.status.as_deref(),
            outcome: event.outcome.as_str(),
            credited_usd: event.credited_usd.to_string(),
            detail: event.detail.as_deref(),
            attempts: event.attempts,
            next_attempt_at: event.next_attempt_at.map(rfc3339),
            raw_body: std::str::from_utf8(&event.raw_body).ok(),
            raw_body_base64: base64::engine::general_purpose::STANDARD.encode(&event.raw_body),
        }
    }
}

/// `POST /api/events/{id}/replay`: the new event and what it did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ReplayAnswer<'a> {
    event_id: i64,
    replay_of: i64,
    #[serde(flatten)]
    receipt: ReceiptAnswer<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
}

impl<'a> ReplayAnswer<'a> {
    pub(crate) fn new(replay_of: i64, receipt: &'a Receipt) -> Self {
        Self {
            event_id: receipt.event_id,
            replay_of,
            receipt: ReceiptAnswer::from(receipt),
            message: receipt.message.as_deref(),
        }
    }
}

/// `{"status":"ok"}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct HealthBody {
    pub(crate) status: &'static str,
}

/// RFC 3339 in UTC with a `Z`, e.g. `2026-11-26T12:00:00Z`.
pub(crate) fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}
