use std::time::Duration;

use diesel::connection::SimpleConnection;

use payram_domain::{EventOutcome, Outcome};
use payram_ports::{EventNote, Ledger, Queries, RepositoryError};
use payram_store::StoreOptions;

use crate::helpers::{TestDb, count, event, notification, reference};

#[tokio::test]
async fn an_exhausted_busy_timeout_is_unavailable_and_writes_nothing() {
    let options =
        StoreOptions { busy_timeout: Duration::from_millis(100), ..StoreOptions::default() };
    let (db, repo) = TestDb::migrated_with(&options);

    // Another process holds the write lock for longer than the busy timeout.
    let mut other = db.raw();
    other.batch_execute("BEGIN EXCLUSIVE;").unwrap();
    let err = repo
        .apply_notification(event(b"{}"), notification("ref-1", "FILLED", Some("50")))
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::Unavailable(_)), "{err:?}");
    let cause = std::error::Error::source(&err).unwrap().to_string();
    assert!(cause.contains("locked"), "the cause says why: {cause}");
    let err = repo
        .record_event(event(b"{"), EventNote::new(EventOutcome::MalformedJson))
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::Unavailable(_)), "{err:?}");
    other.batch_execute("ROLLBACK;").unwrap();

    assert_eq!(count(&db, "events"), 0);
    assert_eq!(count(&db, "payments"), 0);
    assert_eq!(count(&db, "credits"), 0);

    // The delivery, retried once the lock is gone, is applied in full.
    let applied = repo
        .apply_notification(event(b"{}"), notification("ref-1", "FILLED", Some("50")))
        .await
        .unwrap();
    assert_eq!(applied.outcome, Outcome::Applied);
    assert!(applied.credit.is_some());
}

#[tokio::test]
async fn readers_are_not_blocked_by_a_writer() {
    let options =
        StoreOptions { busy_timeout: Duration::from_millis(100), ..StoreOptions::default() };
    let (db, repo) = TestDb::migrated_with(&options);
    repo.apply_notification(event(b"{}"), notification("ref-1", "OPEN", None)).await.unwrap();
    let mut other = db.raw();
    other.batch_execute("BEGIN EXCLUSIVE; DELETE FROM events;").unwrap();
    let view = repo.payment(&reference("ref-1")).await.unwrap().unwrap();
    assert_eq!(view.events.len(), 1, "WAL readers see the last committed state");
    other.batch_execute("ROLLBACK;").unwrap();
}

/// Root ignores file permissions, so the file is opened read-only through SQLite itself: an
/// SQLite URI filename with `mode=ro`, which `connect` accepts like any path.
#[tokio::test]
async fn a_read_only_database_is_unavailable() {
    let db = TestDb::new();
    payram_store::migrate(&db.url()).unwrap();
    let read_only = format!("file:{}?mode=ro", db.path_str());
    let repo = payram_store::connect(&read_only, &StoreOptions::default()).unwrap();

    assert!(repo.payment(&reference("ref-1")).await.unwrap().is_none());
    let err = repo
        .apply_notification(event(b"{}"), notification("ref-1", "FILLED", Some("50")))
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::Unavailable(_)), "{err:?}");
    let cause = std::error::Error::source(&err).unwrap().to_string();
    assert!(cause.contains("readonly"), "the cause says why: {cause}");
    let err = repo
        .record_event(event(b"{"), EventNote::new(EventOutcome::MalformedJson))
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::Unavailable(_)), "{err:?}");
    assert_eq!(count(&db, "events"), 0);
}

#[tokio::test]
async fn a_missing_directory_cannot_be_opened() {
    let db = TestDb::new();
    let url = format!("sqlite://{}/missing/payram.db", db.path.parent().unwrap().display());
    let err = payram_store::migrate(&url).unwrap_err();
    assert!(matches!(err, payram_store::StoreError::Open { .. }), "{err:?}");
}
