//! The figures of `/metrics` and `/readyz`, read in one go.

use diesel::prelude::*;

use payram_domain::EventOutcome;
use payram_ports::{OutboxState, Stats};

use crate::{
    error::{BadColumn, Failure},
    model::stored_timestamp,
    schema::{events, outbox},
};

/// Figures about the whole store: the ledger's running totals, and counts that indexes
/// answer without scanning the ledger or the event log.
pub(crate) fn stats(conn: &mut SqliteConnection) -> Result<Stats, Failure> {
    let corrupt = |err: BadColumn| Failure::Corrupt(err.into());
    // The running totals, not a scan of the ledger: a scrape reads a constant amount.
    let totals = crate::totals::current(conn)?;
    let count_events = |conn: &mut SqliteConnection, outcome: EventOutcome| {
        events::table.filter(events::outcome.eq(outcome.as_str())).count().get_result::<i64>(conn)
    };
    let count_outbox = |conn: &mut SqliteConnection, state: OutboxState| {
        outbox::table.filter(outbox::state.eq(state.as_str())).count().get_result::<i64>(conn)
    };
    let failed_events = count_events(conn, EventOutcome::Failed)?;
    let dead_events = count_events(conn, EventOutcome::Dead)?;
    let outbox_pending = count_outbox(conn, OutboxState::Pending)?;
    let outbox_dead = count_outbox(conn, OutboxState::Dead)?;
    let oldest: Option<String> = outbox::table
        .filter(outbox::state.eq(OutboxState::Pending.as_str()))
        .select(diesel::dsl::min(outbox::created_at))
        .first(conn)?;
    let oldest_pending_outbox = oldest
        .map(|text| stored_timestamp("outbox", "created_at", 0, &text))
        .transpose()
        .map_err(corrupt)?;
    let count = |n: i64| u64::try_from(n).unwrap_or_default();
    Ok(Stats {
        credits: totals.credits,
        credited_usd: totals.credited_usd,
        failed_events: count(failed_events),
        dead_events: count(dead_events),
        outbox_pending: count(outbox_pending),
        outbox_dead: count(outbox_dead),
        oldest_pending_outbox,
        reconciliation_corrections: totals.corrections,
    })
}
