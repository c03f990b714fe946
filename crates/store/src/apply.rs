//! The writes shared by the ledger and the retry schedule: applying a notification to its
//! payment, and inserting an event row.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use payram_domain::{Amount, CheckedNotification, EventOutcome, Outcome, Payment};
use payram_ports::{Applied, EventId, NewEvent, Origin, OutboxState, RecordedCredit};

use crate::{
    error::Failure,
    model::{
        NewCreditRow, NewEventRow, PaymentChanges, PaymentRow, format_timestamp, stored_precision,
    },
    schema::{credits, events, outbox, payments},
};

/// Where the event of an application is written: a new row, or a failed event retried in place.
pub(crate) enum EventSlot<'a> {
    New(&'a NewEvent),
    Retry { id: EventId, at: DateTime<Utc> },
}

/// Loads the payment, decides, and writes the event, the payment, the credit it owes and its
/// outbox entry (with `outbox`). Runs inside the caller's immediate transaction.
pub(crate) fn apply_notification(
    conn: &mut SqliteConnection,
    slot: &EventSlot<'_>,
    checked: &CheckedNotification,
    outbox: bool,
) -> Result<Applied, Failure> {
    let notification = checked.notification();
    let reference_id = notification.reference_id.as_str();
    let current = payments::table
        .find(reference_id)
        .select(PaymentRow::as_select())
        .first(conn)
        .optional()?
        .map(PaymentRow::into_payment)
        .transpose()
        .map_err(|err| Failure::Corrupt(err.into()))?;
    let decision = checked.decide(current.as_ref());

    let facts = EventFacts {
        reference_id: Some(reference_id),
        status: Some(notification.status.as_str()),
        credited_usd: decision.credited(),
        ..EventFacts::new(decision.outcome.into())
    };
    let (event_id, at, origin) = write_event(conn, slot, facts)?;

    // Every row of this transaction carries the delivery's (or the retry's) time.
    let now = stored_precision(at);
    let now_text = format_timestamp(now);
    if let Some(payment) = &decision.payment {
        let changes = PaymentChanges::new(payment.record(), now_text.clone());
        if current.is_some() {
            let updated =
                diesel::update(payments::table.find(reference_id)).set(&changes).execute(conn)?;
            if updated != 1 {
                return Err(Failure::Conflict);
            }
        } else {
            // A concurrent insert of the same payment fails here with a unique violation.
            diesel::insert_into(payments::table)
                .values((
                    payments::reference_id.eq(reference_id),
                    payments::created_at.eq(&now_text),
                    &changes,
                ))
                .execute(conn)?;
        }
    }

    let credit = match decision.credit {
        None => None,
        Some(credit) => {
            let status = decision.payment.as_ref().map(Payment::status).ok_or_else(|| {
                Failure::Corrupt(format!("a credit of {reference_id} without a payment").into())
            })?;
            // UNIQUE (reference_id, seq): a second writer of this credit fails here.
            let id = diesel::insert_into(credits::table)
                .values(NewCreditRow {
                    reference_id,
                    seq: i64::from(credit.seq),
                    customer_id: credit.customer_id.as_str(),
                    amount_usd: credit.amount.to_string(),
                    credited_total_usd: credit.credited_total.to_string(),
                    event_id,
                    created_at: &now_text,
                    status: status.as_str(),
                })
                .returning(credits::id)
                .get_result::<i64>(conn)?;
            if outbox {
                // The outbox entry commits with its credit, or neither does.
                diesel::insert_into(outbox::table)
                    .values((
                        outbox::credit_id.eq(id),
                        outbox::state.eq(OutboxState::Pending.as_str()),
                        outbox::next_attempt_at.eq(&now_text),
                        outbox::created_at.eq(&now_text),
                    ))
                    .execute(conn)?;
            }
            Some(RecordedCredit {
                id,
                reference_id: notification.reference_id.clone(),
                customer_id: credit.customer_id,
                amount_usd: credit.amount,
                credited_total_usd: credit.credited_total,
                status,
                event_id,
                created_at: now,
            })
        }
    };
    let correction =
        decision.outcome == Outcome::Applied && origin == Origin::Reconciliation.as_str();
    crate::totals::count_applied(
        conn,
        credit.as_ref().map(|credit| credit.amount_usd),
        correction,
    )?;
    Ok(Applied { event_id, outcome: decision.outcome, credit })
}

/// Writes the event of an application: a new row, or the retried event updated in place.
/// Returns its id, the time that stamps the transaction's rows, and its origin.
fn write_event(
    conn: &mut SqliteConnection,
    slot: &EventSlot<'_>,
    facts: EventFacts<'_>,
) -> Result<(EventId, DateTime<Utc>, &'static str), Failure> {
    Ok(match slot {
        EventSlot::New(event) => {
            (insert_event(conn, event, facts)?, event.received_at, event.origin.as_str())
        }
        EventSlot::Retry { id, at } => {
            let origin: String = events::table.find(id).select(events::origin).first(conn)?;
            let updated = diesel::update(events::table.find(id))
                .set((
                    events::outcome.eq(facts.outcome.as_str()),
                    events::reference_id.eq(facts.reference_id),
                    events::status.eq(facts.status),
                    events::credited_usd.eq(facts.credited_usd.to_string()),
                    events::detail.eq(None::<String>),
                    events::next_attempt_at.eq(None::<String>),
                ))
                .execute(conn)?;
            if updated != 1 {
                return Err(Failure::Corrupt(format!("retried event {id} does not exist").into()));
            }
            let origin = if origin == Origin::Reconciliation.as_str() {
                Origin::Reconciliation.as_str()
            } else {
                Origin::Webhook.as_str()
            };
            (*id, *at, origin)
        }
    })
}

/// What an event row says beyond the delivery itself.
#[derive(Clone, Copy)]
pub(crate) struct EventFacts<'a> {
    pub(crate) outcome: EventOutcome,
    pub(crate) reference_id: Option<&'a str>,
    pub(crate) payout_id: Option<&'a str>,
    pub(crate) status: Option<&'a str>,
    pub(crate) credited_usd: Amount,
    pub(crate) detail: Option<&'a str>,
    /// For a failed or waiting event: when it is tried next.
    pub(crate) next_attempt_at: Option<DateTime<Utc>>,
}

impl EventFacts<'_> {
    pub(crate) const fn new(outcome: EventOutcome) -> Self {
        Self {
            outcome,
            reference_id: None,
            payout_id: None,
            status: None,
            credited_usd: Amount::ZERO,
            detail: None,
            next_attempt_at: None,
        }
    }
}

/// Inserts one event row and returns its id. Stores how the delivery authenticated and the
/// position of the matching key, never a key or a header.
pub(crate) fn insert_event(
    conn: &mut SqliteConnection,
    event: &NewEvent,
    facts: EventFacts<'_>,
) -> Result<EventId, Failure> {
    let row = NewEventRow {
        received_at: format_timestamp(event.received_at),
        method: &event.method,
        auth_method: event.auth.as_str(),
        // A key position never comes near i64::MAX; saturate rather than fail.
        key_index: i64::try_from(event.auth.key_index()).unwrap_or(i64::MAX),
        raw_body: &event.raw_body,
        reference_id: facts.reference_id,
        payout_id: facts.payout_id,
        status: facts.status,
        outcome: facts.outcome.as_str(),
        credited_usd: facts.credited_usd.to_string(),
        detail: facts.detail,
        origin: event.origin.as_str(),
        replay_of: event.origin.replay_of(),
        // A failed, waiting or dead event was one attempt that did not succeed.
        attempts: i64::from(matches!(
            facts.outcome,
            EventOutcome::Failed | EventOutcome::Waiting | EventOutcome::Dead
        )),
        next_attempt_at: facts.next_attempt_at.map(format_timestamp),
    };
    Ok(diesel::insert_into(events::table)
        .values(row)
        .returning(events::id)
        .get_result::<i64>(conn)?)
}
