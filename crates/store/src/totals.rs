//! The running totals of the credit ledger (`ledger_totals`, one row): updated in the
//! transaction of each credit and of each applied reconciliation event, written once by
//! summing the ledger when a database has none.

use diesel::prelude::*;

use payram_domain::{Amount, EventOutcome, Total};
use payram_ports::Origin;

use crate::{
    error::Failure,
    model::stored_amount,
    schema::{credits, events, ledger_totals},
};

/// How many credits the ledger holds and their exact sum.
///
/// The sum is a [`Total`]: every credit is an [`Amount`] below 10^15 with at most 18
/// decimals, and a `Total` holds `u128::MAX` (about 3.4e38) whole units, so it cannot
/// overflow before 3.4e23 credits of the largest amount, far beyond the 2^63 rows a table can
/// hold. The count is an `i64` column, and so is every row id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) credits: u64,
    pub(crate) credited_usd: Total,
    /// Applied events of origin `reconciliation`: payments moved forward by PayRam's API.
    pub(crate) corrections: u64,
}

/// The totals, or `None` when the row was never written.
pub(crate) fn read(conn: &mut SqliteConnection) -> Result<Option<Totals>, Failure> {
    let row: Option<(i64, String, i64)> = ledger_totals::table
        .find(1)
        .select((
            ledger_totals::credits,
            ledger_totals::credited_usd,
            ledger_totals::reconciliation_corrections,
        ))
        .first(conn)
        .optional()?;
    row.map(|(credits, text, corrections)| {
        Ok(Totals {
            credits: count("credits", credits)?,
            credited_usd: Total::parse(&text).map_err(|err| {
                Failure::Corrupt(format!("ledger_totals.credited_usd: {err}").into())
            })?,
            corrections: count("reconciliation_corrections", corrections)?,
        })
    })
    .transpose()
}

/// The totals, read from the row, or summed from the ledger when the row was never written
/// (a database no writer of this version has opened yet).
pub(crate) fn current(conn: &mut SqliteConnection) -> Result<Totals, Failure> {
    match read(conn)? {
        Some(totals) => Ok(totals),
        None => sum_ledger(conn),
    }
}

/// Writes the totals row when there is none; a no-op otherwise. Runs in one immediate
/// transaction, so two processes opening the same database agree. Costs one scan of the
/// ledger, once per database.
pub(crate) fn ensure(conn: &mut SqliteConnection) -> Result<(), Failure> {
    conn.immediate_transaction(|conn| {
        if read(conn)?.is_some() {
            return Ok(());
        }
        let totals = sum_ledger(conn)?;
        insert(conn, totals)
    })
}

/// Counts what one application of a notification did, inside its transaction, after its rows
/// were written: a credit of `credit`, and whether it was a `correction` (a reconciliation
/// event applied). A ledger whose sum would no longer be representable (past 3.4e23 of the
/// largest credits, see [`Totals`]) would refuse the credit (`Corrupt`) rather than make its
/// figures wrong.
pub(crate) fn count_applied(
    conn: &mut SqliteConnection,
    credit: Option<Amount>,
    correction: bool,
) -> Result<(), Failure> {
    if credit.is_none() && !correction {
        return Ok(());
    }
    let Some(totals) = read(conn)? else {
        // Never written: the sum of the ledger, this application included.
        let totals = sum_ledger(conn)?;
        return insert(conn, totals);
    };
    let credited_usd =
        totals.credited_usd.checked_add(credit.unwrap_or(Amount::ZERO)).ok_or_else(overflow)?;
    diesel::update(ledger_totals::table.find(1))
        .set((
            ledger_totals::credits.eq(ledger_totals::credits + i64::from(credit.is_some())),
            ledger_totals::credited_usd.eq(credited_usd.to_string()),
            ledger_totals::reconciliation_corrections
                .eq(ledger_totals::reconciliation_corrections + i64::from(correction)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every credit counted and summed exactly (SQLite's `SUM` would go through floating point).
fn sum_ledger(conn: &mut SqliteConnection) -> Result<Totals, Failure> {
    let amounts: Vec<(i64, String)> =
        credits::table.select((credits::id, credits::amount_usd)).load(conn)?;
    let mut credited_usd = Total::ZERO;
    for (id, text) in &amounts {
        let amount = stored_amount("credits", "amount_usd", *id, text)
            .map_err(|err| Failure::Corrupt(err.into()))?;
        credited_usd = credited_usd.checked_add(amount).ok_or_else(overflow)?;
    }
    let credits = u64::try_from(amounts.len())
        .map_err(|err| Failure::Corrupt(format!("credit count: {err}").into()))?;
    let corrections: i64 = events::table
        .filter(events::origin.eq(Origin::Reconciliation.as_str()))
        .filter(events::outcome.eq(EventOutcome::Applied.as_str()))
        .count()
        .get_result(conn)?;
    Ok(Totals { credits, credited_usd, corrections: count("corrections", corrections)? })
}

fn insert(conn: &mut SqliteConnection, totals: Totals) -> Result<(), Failure> {
    let stored = |n: u64| {
        i64::try_from(n).map_err(|err| Failure::Corrupt(format!("ledger totals: {err}").into()))
    };
    diesel::insert_into(ledger_totals::table)
        .values((
            ledger_totals::id.eq(1),
            ledger_totals::credits.eq(stored(totals.credits)?),
            ledger_totals::credited_usd.eq(totals.credited_usd.to_string()),
            ledger_totals::reconciliation_corrections.eq(stored(totals.corrections)?),
        ))
        .execute(conn)?;
    Ok(())
}

fn count(column: &str, value: i64) -> Result<u64, Failure> {
    u64::try_from(value)
        .map_err(|err| Failure::Corrupt(format!("ledger_totals.{column}: {err}").into()))
}

fn overflow() -> Failure {
    Failure::Corrupt("the sum of all credits would overflow".into())
}
