//! The single writer: a bounded queue that refuses at once, commands that fail alone, and the
//! ledger's running totals kept in the credit's transaction.

use std::time::Duration;

use diesel::{RunQueryDsl, connection::SimpleConnection};

use payram_domain::{EventOutcome, Outcome};
use payram_ports::{EventNote, Ledger, Queries, RepositoryError};
use payram_store::{StoreOptions, WriterOptions};

use crate::helpers::{TestDb, count, event, notification};

/// The error's whole chain, for messages.
fn chain(err: &RepositoryError) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn a_full_queue_refuses_a_write_at_once_and_writes_nothing_for_it() {
    let options = StoreOptions {
        busy_timeout: Duration::from_secs(5),
        writer: WriterOptions { queue: 1, max_batch: 1, ..WriterOptions::default() },
        ..StoreOptions::default()
    };
    let (db, repo) = TestDb::migrated_with(&options);
    // Another process holds the write lock: the writer is stuck on its first batch.
    let mut other = db.raw();
    other.batch_execute("BEGIN EXCLUSIVE;").unwrap();

    let write = |body: &'static [u8]| {
        let repo = repo.clone();
        async move { repo.record_event(event(body), EventNote::new(EventOutcome::Ping)).await }
    };
    // Each write is queued (or refused) on its first poll, in this order; the lock is released
    // only after all three were polled once. The writer holds one command and the queue one
    // more, so at least one of three is refused, without waiting.
    let (first, second, third, ()) = tokio::join!(write(b"1"), write(b"2"), write(b"3"), async {
        other.batch_execute("ROLLBACK;").unwrap();
    });
    let results = [first, second, third];
    let refused: Vec<String> =
        results.iter().filter_map(|res| res.as_ref().err()).map(chain).collect();
    assert!(!refused.is_empty(), "a full queue refuses");
    for why in &refused {
        assert!(why.contains("storage unavailable") && why.contains("queue is full"), "{why}");
    }
    let accepted = results.iter().filter(|res| res.is_ok()).count();
    assert_eq!(accepted + refused.len(), 3);
    assert_eq!(
        count(&db, "events"),
        i64::try_from(accepted).unwrap(),
        "a refused write left nothing"
    );
}

#[tokio::test]
async fn a_command_failing_on_its_own_data_does_not_fail_its_batch_mates() {
    let (db, repo) = TestDb::migrated();
    repo.apply_notification(event(b"open"), notification("ref-bad", "OPEN", None)).await.unwrap();
    diesel::sql_query("UPDATE payments SET credited_usd = 'five' WHERE reference_id = 'ref-bad'")
        .execute(&mut db.raw())
        .unwrap();

    // Hold the lock so that both commands queue behind a first one and share the next batch.
    let mut other = db.raw();
    other.batch_execute("BEGIN EXCLUSIVE;").unwrap();
    let (blocker, bad, good, ()) = tokio::join!(
        repo.record_event(event(b"ping"), EventNote::new(EventOutcome::Ping)),
        repo.apply_notification(event(b"bad"), notification("ref-bad", "FILLED", Some("10"))),
        repo.apply_notification(event(b"good"), notification("ref-good", "FILLED", Some("20"))),
        async { other.batch_execute("ROLLBACK;").unwrap() },
    );

    blocker.unwrap();
    assert!(matches!(bad, Err(RepositoryError::Corrupt(_))), "{bad:?}");
    let good = good.unwrap();
    assert_eq!(good.outcome, Outcome::Applied);
    assert_eq!(good.credit.unwrap().amount_usd.to_string(), "20");
    // The corrupt payment's command rolled back alone: no event, no credit of it.
    assert_eq!(count(&db, "events"), 3, "open, ping and good");
    assert_eq!(count(&db, "credits"), 1);
}

#[tokio::test]
async fn the_running_totals_follow_every_credit_exactly() {
    let (db, repo) = TestDb::migrated();
    for (reference, usd) in [("ref-1", "0.1"), ("ref-2", "0.2"), ("ref-3", "49.999999999999999999")]
    {
        repo.apply_notification(event(b"{}"), notification(reference, "FILLED", Some(usd)))
            .await
            .unwrap();
    }
    // A duplicate credits nothing and counts nothing.
    repo.apply_notification(event(b"{}"), notification("ref-1", "FILLED", Some("0.1")))
        .await
        .unwrap();

    let stats = repo.stats().await.unwrap();
    assert_eq!(
        (stats.credits, stats.credited_usd.to_string()),
        (3, "50.299999999999999999".into())
    );
    assert_eq!(count(&db, "ledger_totals"), 1);
}

#[tokio::test]
async fn a_database_without_totals_gets_them_summed_when_opened() {
    let (db, repo) = TestDb::migrated();
    repo.apply_notification(event(b"{}"), notification("ref-1", "FILLED", Some("12.50")))
        .await
        .unwrap();
    drop(repo);
    // As a database credited by an earlier version: the ledger, but no totals row.
    db.raw().batch_execute("DELETE FROM ledger_totals;").unwrap();

    let repo = payram_store::connect(&db.url(), &StoreOptions::default()).unwrap();
    assert_eq!(count(&db, "ledger_totals"), 1, "written on open");
    repo.apply_notification(event(b"{}"), notification("ref-2", "FILLED", Some("7.50")))
        .await
        .unwrap();
    let stats = repo.stats().await.unwrap();
    assert_eq!((stats.credits, stats.credited_usd.to_string()), (2, "20.00".into()));
}

#[tokio::test]
async fn a_credit_writes_missing_totals_itself_and_reads_sum_them_meanwhile() {
    let (db, repo) = TestDb::migrated();
    repo.apply_notification(event(b"{}"), notification("ref-1", "FILLED", Some("1.25")))
        .await
        .unwrap();
    db.raw().batch_execute("DELETE FROM ledger_totals;").unwrap();

    let stats = repo.stats().await.unwrap();
    assert_eq!((stats.credits, stats.credited_usd.to_string()), (1, "1.25".into()));
    repo.apply_notification(event(b"{}"), notification("ref-2", "FILLED", Some("2")))
        .await
        .unwrap();
    let stats = repo.stats().await.unwrap();
    assert_eq!((stats.credits, stats.credited_usd.to_string()), (2, "3.25".into()));
    assert_eq!(count(&db, "ledger_totals"), 1);
}

#[tokio::test]
async fn applied_reconciliation_events_are_counted_as_corrections() {
    use payram_ports::Origin;

    let (db, repo) = TestDb::migrated();
    let from_payram =
        |body: &[u8]| payram_ports::NewEvent { origin: Origin::Reconciliation, ..event(body) };
    repo.apply_notification(event(b"{}"), notification("ref-1", "OPEN", None)).await.unwrap();
    // PayRam's API moves the payment forward: a correction. Saying the same again is not.
    repo.apply_notification(from_payram(b"{}"), notification("ref-1", "FILLED", Some("5")))
        .await
        .unwrap();
    repo.apply_notification(from_payram(b"{}"), notification("ref-1", "FILLED", Some("5")))
        .await
        .unwrap();
    let stats = repo.stats().await.unwrap();
    assert_eq!((stats.reconciliation_corrections, stats.credits), (1, 1));

    // Summed again from the events when the row is missing.
    db.raw().batch_execute("DELETE FROM ledger_totals;").unwrap();
    assert_eq!(repo.stats().await.unwrap().reconciliation_corrections, 1);
}

/// Under a constant load the background checkpointer never copies every frame, and SQLite
/// restarts the WAL only once it has: past `wal_restart_frames` the writer finishes a
/// checkpoint between two batches, so the WAL stays bounded (it grew to 28 GB in a 4-minute
/// soak without that, and to 98 MB in this test).
#[tokio::test]
async fn the_wal_stays_bounded_under_a_constant_load() {
    let options = StoreOptions {
        writer: WriterOptions { wal_restart_frames: 256, ..WriterOptions::default() },
        ..StoreOptions::default()
    };
    let (db, repo) = TestDb::migrated_with(&options);
    for i in 0..2_000 {
        let reference = format!("ref-{i}");
        repo.apply_notification(event(b"{}"), notification(&reference, "FILLED", Some("1")))
            .await
            .unwrap();
    }
    let wal = std::fs::metadata(db.path.with_extension("db-wal")).unwrap().len();
    // 98 MB without the restart; with it, the frames of a tenth of a second beyond 256.
    assert!(wal < 32 * 1024 * 1024, "the WAL is {wal} bytes after 2000 commits");
    assert_eq!(count(&db, "credits"), 2_000);
}

#[tokio::test]
async fn the_largest_credits_sum_exactly_in_the_totals_the_balance_and_the_customer_list() {
    // Two of the attack's 79228162514264337593543950335 USD overflowed rust_decimal; amounts
    // are now bounded, and a sum of the largest ones (at full precision) stays exact.
    const LARGEST: &str = "999999999999999.999999999999";
    const SUM: &str = "2999999999999999.999999999997";
    let (db, repo) = TestDb::migrated();
    for reference in ["ref-1", "ref-2", "ref-3"] {
        repo.apply_notification(event(b"{}"), notification(reference, "FILLED", Some(LARGEST)))
            .await
            .unwrap();
    }
    let stats = repo.stats().await.unwrap();
    assert_eq!((stats.credits, stats.credited_usd.to_string()), (3, SUM.into()));
    let customer = payram_domain::CustomerId::parse("cust-1").unwrap();
    assert_eq!(repo.customer(&customer).await.unwrap().balance_usd.to_string(), SUM);
    let listed = repo.customers(None, 10).await.unwrap();
    assert_eq!(listed[0].balance_usd.to_string(), SUM);

    // Summed again from the ledger (a database without the totals row): the same.
    db.raw().batch_execute("DELETE FROM ledger_totals;").unwrap();
    let stats = repo.stats().await.unwrap();
    assert_eq!(stats.credited_usd.to_string(), SUM);
}
