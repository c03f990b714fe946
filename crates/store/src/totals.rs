//! The running totals of the credit ledger (`ledger_totals`, one row): updated in the
//! transaction of each credit, written once by summing the ledger when a database has none.

use diesel::prelude::*;

use payram_domain::Amount;

use crate::{
    error::Failure,
    model::stored_amount,
    schema::{credits, ledger_totals},
};

/// How many credits the ledger holds and their exact sum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) credits: u64,
    pub(crate) credited_usd: Amount,
}

/// The totals, or `None` when the row was never written.
pub(crate) fn read(conn: &mut SqliteConnection) -> Result<Option<Totals>, Failure> {
    let row: Option<(i64, String)> = ledger_totals::table
        .find(1)
        .select((ledger_totals::credits, ledger_totals::credited_usd))
        .first(conn)
        .optional()?;
    row.map(|(credits, text)| {
        Ok(Totals {
            credits: u64::try_from(credits)
                .map_err(|err| Failure::Corrupt(format!("ledger_totals.credits: {err}").into()))?,
            credited_usd: stored_amount("ledger_totals", "credited_usd", 1, &text)
                .map_err(|err| Failure::Corrupt(err.into()))?,
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

/// Counts one more credit of `amount`, inside the credit's transaction, after its row was
/// inserted. A ledger whose sum would no longer be representable refuses the credit
/// (`Corrupt`), rather than making its figures wrong.
pub(crate) fn add_credit(conn: &mut SqliteConnection, amount: Amount) -> Result<(), Failure> {
    let Some(totals) = read(conn)? else {
        // Never written: the sum of the ledger, this credit included.
        let totals = sum_ledger(conn)?;
        return insert(conn, totals);
    };
    let credited_usd = totals.credited_usd.checked_add(amount).ok_or_else(overflow)?;
    diesel::update(ledger_totals::table.find(1))
        .set((
            ledger_totals::credits.eq(ledger_totals::credits + 1),
            ledger_totals::credited_usd.eq(credited_usd.to_string()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every credit counted and summed exactly (SQLite's `SUM` would go through floating point).
fn sum_ledger(conn: &mut SqliteConnection) -> Result<Totals, Failure> {
    let amounts: Vec<(i64, String)> =
        credits::table.select((credits::id, credits::amount_usd)).load(conn)?;
    let mut credited_usd = Amount::ZERO;
    for (id, text) in &amounts {
        let amount = stored_amount("credits", "amount_usd", *id, text)
            .map_err(|err| Failure::Corrupt(err.into()))?;
        credited_usd = credited_usd.checked_add(amount).ok_or_else(overflow)?;
    }
    let credits = u64::try_from(amounts.len())
        .map_err(|err| Failure::Corrupt(format!("credit count: {err}").into()))?;
    Ok(Totals { credits, credited_usd })
}

fn insert(conn: &mut SqliteConnection, totals: Totals) -> Result<(), Failure> {
    let credits = i64::try_from(totals.credits)
        .map_err(|err| Failure::Corrupt(format!("credit count: {err}").into()))?;
    diesel::insert_into(ledger_totals::table)
        .values((
            ledger_totals::id.eq(1),
            ledger_totals::credits.eq(credits),
            ledger_totals::credited_usd.eq(totals.credited_usd.to_string()),
        ))
        .execute(conn)?;
    Ok(())
}

fn overflow() -> Failure {
    Failure::Corrupt("the sum of all credits would overflow".into())
}
