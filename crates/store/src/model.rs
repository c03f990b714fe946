//! Rows as stored, and their mapping to and from the domain.
//!
//! Amounts are the canonical decimal text of [`Amount`]; timestamps are RFC 3339 UTC with six
//! fractional digits, so that text order is time order. Reading a row back parses every column
//! with the domain's own constructors: a value they refuse is a [`BadColumn`], never a panic.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;

use payram_domain::{
    Amount, AuthMethod, CorruptPayment, CustomerId, EventOutcome, Payment, PaymentRecord,
    PaymentStatus, ReferenceId,
};
use payram_ports::{
    BoxError, CreditEntry, EventRecord, EventSummary, Origin, OutboxEntry, OutboxState,
    ReconcileCandidate, RecordedCredit,
};

use crate::{
    error::{BadColumn, Failure},
    schema::{credits, events, outbox, payments, payouts},
};

const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// The precision of stored timestamps: what is written reads back equal.
pub(crate) fn stored_precision(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

pub(crate) fn format_timestamp(at: DateTime<Utc>) -> String {
    at.format(TIMESTAMP_FORMAT).to_string()
}

fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    NaiveDateTime::parse_from_str(text, TIMESTAMP_FORMAT).map(|naive| naive.and_utc())
}

/// A stored amount of row `id`, parsed.
pub(crate) fn stored_amount(
    table: &'static str,
    name: &'static str,
    id: i64,
    text: &str,
) -> Result<Amount, BadColumn> {
    amount(table, name, &id.to_string(), text)
}

/// A stored timestamp of row `id`, parsed.
pub(crate) fn stored_timestamp(
    table: &'static str,
    name: &'static str,
    id: i64,
    text: &str,
) -> Result<DateTime<Utc>, BadColumn> {
    column(table, name, &id.to_string(), parse_timestamp(text))
}

/// A stored timestamp of the row named `key`, parsed.
pub(crate) fn stored_timestamp_of(
    table: &'static str,
    name: &'static str,
    key: &str,
    text: &str,
) -> Result<DateTime<Utc>, BadColumn> {
    column(table, name, key, parse_timestamp(text))
}

/// Parses one column, naming it when it fails.
fn column<T, E: Into<BoxError>>(
    table: &'static str,
    column: &'static str,
    key: &str,
    parsed: Result<T, E>,
) -> Result<T, BadColumn> {
    parsed.map_err(|err| BadColumn { table, column, key: key.to_owned(), source: err.into() })
}

fn amount(
    table: &'static str,
    name: &'static str,
    key: &str,
    text: &str,
) -> Result<Amount, BadColumn> {
    column(table, name, key, Amount::parse(text))
}

fn optional_amount(
    name: &'static str,
    key: &str,
    text: Option<&str>,
) -> Result<Option<Amount>, BadColumn> {
    text.map(|text| amount("payments", name, key, text)).transpose()
}

/// A payment as stored (its timestamps are not part of the domain).
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = payments, check_for_backend(diesel::sqlite::Sqlite))]
pub(crate) struct PaymentRow {
    reference_id: String,
    status: String,
    customer_id: Option<String>,
    invoice_id: Option<String>,
    amount: Option<String>,
    currency: Option<String>,
    filled_amount: Option<String>,
    filled_amount_in_usd: Option<String>,
    credited_usd: String,
    late_payment: bool,
    credit_count: i64,
}

/// Why a stored payment cannot be read back.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BadPayment {
    #[error(transparent)]
    Column(#[from] BadColumn),
    #[error(transparent)]
    Inconsistent(#[from] CorruptPayment),
}

impl PaymentRow {
    /// The reference, to name the row in errors.
    pub(crate) fn key(&self) -> String {
        self.reference_id.clone()
    }

    /// Rebuilds the domain payment, checking every column and the payment's invariants.
    pub(crate) fn into_payment(self) -> Result<Payment, BadPayment> {
        let key = self.reference_id.as_str();
        let record = PaymentRecord {
            reference_id: column("payments", "reference_id", key, ReferenceId::parse(key))?,
            status: column("payments", "status", key, self.status.parse::<PaymentStatus>())?,
            customer_id: self
                .customer_id
                .as_deref()
                .map(|text| column("payments", "customer_id", key, CustomerId::parse(text)))
                .transpose()?,
            invoice_id: self.invoice_id,
            amount: optional_amount("amount", key, self.amount.as_deref())?,
            currency: self.currency,
            filled_amount: optional_amount("filled_amount", key, self.filled_amount.as_deref())?,
            filled_amount_in_usd: optional_amount(
                "filled_amount_in_usd",
                key,
                self.filled_amount_in_usd.as_deref(),
            )?,
            credited_usd: amount("payments", "credited_usd", key, &self.credited_usd)?,
            late_payment: self.late_payment,
            credit_count: column(
                "payments",
                "credit_count",
                key,
                u32::try_from(self.credit_count),
            )?,
        };
        Ok(Payment::from_record(record)?)
    }
}

/// The columns of a payment that a notification may change; inserted together with the
/// reference and `created_at`.
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = payments, treat_none_as_null = true, treat_none_as_default_value = false)]
pub(crate) struct PaymentChanges {
    status: &'static str,
    customer_id: Option<String>,
    invoice_id: Option<String>,
    amount: Option<String>,
    currency: Option<String>,
    filled_amount: Option<String>,
    filled_amount_in_usd: Option<String>,
    credited_usd: String,
    late_payment: bool,
    credit_count: i64,
    updated_at: String,
}

impl PaymentChanges {
    pub(crate) fn new(record: &PaymentRecord, updated_at: String) -> Self {
        let text = |amount: Option<Amount>| amount.map(|amount| amount.to_string());
        Self {
            status: record.status.as_str(),
            customer_id: record.customer_id.as_ref().map(|id| id.as_str().to_owned()),
            invoice_id: record.invoice_id.clone(),
            amount: text(record.amount),
            currency: record.currency.clone(),
            filled_amount: text(record.filled_amount),
            filled_amount_in_usd: text(record.filled_amount_in_usd),
            credited_usd: record.credited_usd.to_string(),
            late_payment: record.late_payment,
            credit_count: i64::from(record.credit_count),
            updated_at,
        }
    }
}

pub(crate) use new_event::NewEventRow;

/// The event row to insert, in a module of its own: Diesel's derive binds each `Option<&str>`
/// field by reference, which the `ref_option_ref` lint flags in code it generates.
mod new_event {
    #![expect(clippy::ref_option_ref, reason = "code generated by Diesel's Insertable derive")]

    use diesel::prelude::*;

    use crate::schema::events;

    /// `None` is bound as NULL (never left out), so the statement's text is the same for every row
    /// and SQLite's prepared statement is reused.
    #[derive(Debug, Insertable)]
    #[diesel(table_name = events, treat_none_as_default_value = false)]
    pub(crate) struct NewEventRow<'a> {
        pub(crate) received_at: String,
        pub(crate) method: &'a str,
        pub(crate) auth_method: &'static str,
        pub(crate) key_index: i64,
        pub(crate) raw_body: &'a [u8],
        pub(crate) reference_id: Option<&'a str>,
        pub(crate) payout_id: Option<&'a str>,
        pub(crate) status: Option<&'a str>,
        pub(crate) outcome: &'static str,
        pub(crate) credited_usd: String,
        pub(crate) detail: Option<&'a str>,
        pub(crate) origin: &'static str,
        pub(crate) replay_of: Option<i64>,
        pub(crate) attempts: i64,
        pub(crate) next_attempt_at: Option<String>,
    }
}

/// One line of a payment's history, as stored.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = events, check_for_backend(diesel::sqlite::Sqlite))]
pub(crate) struct EventSummaryRow {
    id: i64,
    received_at: String,
    status: Option<String>,
    outcome: String,
}

impl EventSummaryRow {
    pub(crate) fn into_summary(self) -> Result<EventSummary, BadColumn> {
        let key = self.id.to_string();
        Ok(EventSummary {
            id: self.id,
            received_at: column("events", "received_at", &key, parse_timestamp(&self.received_at))?,
            status: self.status,
            outcome: column("events", "outcome", &key, self.outcome.parse::<EventOutcome>())?,
        })
    }
}

/// A whole event, as stored.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = events, check_for_backend(diesel::sqlite::Sqlite))]
pub(crate) struct EventRow {
    id: i64,
    received_at: String,
    method: String,
    auth_method: String,
    key_index: i64,
    raw_body: Vec<u8>,
    reference_id: Option<String>,
    payout_id: Option<String>,
    status: Option<String>,
    outcome: String,
    credited_usd: String,
    detail: Option<String>,
    origin: String,
    replay_of: Option<i64>,
    attempts: i64,
    next_attempt_at: Option<String>,
}

impl EventRow {
    /// Loaded rows as records; a bad row makes the whole answer `Corrupt`.
    pub(crate) fn into_records(rows: Vec<Self>) -> Result<Vec<EventRecord>, Failure> {
        rows.into_iter()
            .map(|row| row.into_record().map_err(|err| Failure::Corrupt(err.into())))
            .collect()
    }

    pub(crate) fn into_record(self) -> Result<EventRecord, BadColumn> {
        let key = self.id.to_string();
        let key_index = column("events", "key_index", &key, usize::try_from(self.key_index))?;
        let auth = match self.auth_method.as_str() {
            "signature" => AuthMethod::Signature { key_index },
            "api_key" => AuthMethod::ApiKey { key_index },
            other => {
                return Err(column(
                    "events",
                    "auth_method",
                    &key,
                    Err(format!("unknown authentication method {other:?}")),
                )?);
            }
        };
        let origin = match (self.origin.as_str(), self.replay_of) {
            ("webhook", None) => Origin::Webhook,
            ("replay", Some(of)) => Origin::Replay(of),
            ("reconciliation", None) => Origin::Reconciliation,
            (other, of) => {
                return Err(column(
                    "events",
                    "origin",
                    &key,
                    Err(format!("origin {other:?} with replay_of {of:?}")),
                )?);
            }
        };
        Ok(EventRecord {
            id: self.id,
            received_at: column("events", "received_at", &key, parse_timestamp(&self.received_at))?,
            origin,
            method: self.method,
            auth,
            reference_id: self.reference_id,
            payout_id: self.payout_id,
            status: self.status,
            outcome: column("events", "outcome", &key, self.outcome.parse::<EventOutcome>())?,
            credited_usd: amount("events", "credited_usd", &key, &self.credited_usd)?,
            detail: self.detail,
            raw_body: self.raw_body,
            attempts: column("events", "attempts", &key, u32::try_from(self.attempts))?,
            next_attempt_at: self
                .next_attempt_at
                .as_deref()
                .map(|text| column("events", "next_attempt_at", &key, parse_timestamp(text)))
                .transpose()?,
        })
    }
}

/// A credit row to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = credits)]
pub(crate) struct NewCreditRow<'a> {
    pub(crate) reference_id: &'a str,
    pub(crate) seq: i64,
    pub(crate) customer_id: &'a str,
    pub(crate) amount_usd: String,
    pub(crate) credited_total_usd: String,
    pub(crate) event_id: i64,
    pub(crate) created_at: &'a str,
    pub(crate) status: &'a str,
}

/// One credit of a customer's history, as stored.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = credits, check_for_backend(diesel::sqlite::Sqlite))]
pub(crate) struct CreditEntryRow {
    id: i64,
    reference_id: String,
    amount_usd: String,
    created_at: String,
}

impl CreditEntryRow {
    pub(crate) fn into_entry(self) -> Result<CreditEntry, BadColumn> {
        let key = self.id.to_string();
        Ok(CreditEntry {
            reference_id: column(
                "credits",
                "reference_id",
                &key,
                ReferenceId::parse(&self.reference_id),
            )?,
            amount_usd: amount("credits", "amount_usd", &key, &self.amount_usd)?,
            created_at: column("credits", "created_at", &key, parse_timestamp(&self.created_at))?,
        })
    }
}

/// A whole credit, as stored.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = credits, check_for_backend(diesel::sqlite::Sqlite))]
pub(crate) struct CreditRow {
    id: i64,
    reference_id: String,
    customer_id: String,
    amount_usd: String,
    credited_total_usd: String,
    event_id: i64,
    created_at: String,
    status: String,
}

impl CreditRow {
    pub(crate) fn into_recorded(self) -> Result<RecordedCredit, BadColumn> {
        let key = self.id.to_string();
        Ok(RecordedCredit {
            id: self.id,
            reference_id: column(
                "credits",
                "reference_id",
                &key,
                ReferenceId::parse(&self.reference_id),
            )?,
            customer_id: column(
                "credits",
                "customer_id",
                &key,
                CustomerId::parse(&self.customer_id),
            )?,
            amount_usd: amount("credits", "amount_usd", &key, &self.amount_usd)?,
            credited_total_usd: amount(
                "credits",
                "credited_total_usd",
                &key,
                &self.credited_total_usd,
            )?,
            status: column("credits", "status", &key, self.status.parse::<PaymentStatus>())?,
            event_id: self.event_id,
            created_at: column("credits", "created_at", &key, parse_timestamp(&self.created_at))?,
        })
    }
}

/// An outbox entry as stored (joined with its credit).
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = outbox, check_for_backend(diesel::sqlite::Sqlite))]
pub(crate) struct OutboxRow {
    id: i64,
    state: String,
    attempts: i64,
    next_attempt_at: Option<String>,
    last_error: Option<String>,
    created_at: String,
    delivered_at: Option<String>,
}

impl OutboxRow {
    pub(crate) fn into_entry(self, credit: CreditRow) -> Result<OutboxEntry, BadColumn> {
        let key = self.id.to_string();
        let time = |name, text: Option<&str>| {
            text.map(|text| column("outbox", name, &key, parse_timestamp(text))).transpose()
        };
        Ok(OutboxEntry {
            id: self.id,
            credit: credit.into_recorded()?,
            state: column("outbox", "state", &key, self.state.parse::<OutboxState>())?,
            attempts: column("outbox", "attempts", &key, u32::try_from(self.attempts))?,
            next_attempt_at: time("next_attempt_at", self.next_attempt_at.as_deref())?,
            last_error: self.last_error,
            created_at: column("outbox", "created_at", &key, parse_timestamp(&self.created_at))?,
            delivered_at: time("delivered_at", self.delivered_at.as_deref())?,
        })
    }
}

/// A payment to reconcile, from `(reference_id, status, newest event's received_at)`.
pub(crate) fn reconcile_candidate(
    (reference_id, status, last_event_at): (String, String, Option<String>),
) -> Result<ReconcileCandidate, BadColumn> {
    let key = reference_id.as_str();
    let last_event_at = last_event_at.ok_or_else(|| BadColumn {
        table: "events",
        column: "received_at",
        key: key.to_owned(),
        source: "the payment has no event".into(),
    })?;
    Ok(ReconcileCandidate {
        reference_id: column("payments", "reference_id", key, ReferenceId::parse(key))?,
        status: column("payments", "status", key, status.parse::<PaymentStatus>())?,
        last_event_at: column("events", "received_at", key, parse_timestamp(&last_event_at))?,
    })
}

/// A payout row to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = payouts)]
pub(crate) struct NewPayoutRow<'a> {
    pub(crate) payout_id: &'a str,
    pub(crate) status: &'a str,
    pub(crate) first_event_id: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_fixed_microseconds_and_read_back_equal() {
        let at = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        let text = format_timestamp(at);
        assert_eq!(text, "2026-01-02T03:04:05.123456Z");
        assert_eq!(parse_timestamp(&text).unwrap(), stored_precision(at));
        let whole = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z").unwrap().to_utc();
        assert_eq!(format_timestamp(whole), "2026-01-02T03:04:05.000000Z");
    }

    #[test]
    fn timestamps_sort_as_text() {
        let early = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.9Z").unwrap().to_utc();
        let late = DateTime::parse_from_rfc3339("2026-01-02T03:04:06Z").unwrap().to_utc();
        assert!(format_timestamp(early) < format_timestamp(late));
    }
}
