//! Storage faults: with the database locked beyond the busy timeout, its files unwritable, or
//! its file system full, the webhook answers 503, nothing is half-applied, the server keeps
//! running, and the same delivery succeeds once storage returns, without a restart.
//!
//! The file-system faults need root (mount, chattr), as in CI: they are compiled with the
//! `system-tests` feature (which `make test` turns on) and then fail without root, never skip.

use std::path::Path;
#[cfg(feature = "system-tests")]
use std::{
    io::{ErrorKind, Write},
    path::PathBuf,
};

use serde_json::json;

use crate::helpers::{Db, TestApp, check_ledger};
#[cfg(feature = "system-tests")]
use crate::helpers::{Mount, run_root_command};

/// A FILLED notification of `reference` for 75.00 USD, with `padding` bytes of an unknown
/// field (PayRam's bodies carry fields the merchant ignores).
fn filled(reference: &str, padding: usize) -> Vec<u8> {
    format!(
        concat!(
            r#"{{"reference_id":"{}","status":"FILLED","customer_id":"{}-cust","#,
            r#""amount":"75.00","currency":"USDC","filled_amount":"75.00","#,
            r#""filled_amount_in_usd":"75.00","memo":"{}"}}"#
        ),
        reference,
        reference,
        "m".repeat(padding)
    )
    .into_bytes()
}

/// Rows in the events and credits tables.
fn row_counts(db_path: &Path) -> (usize, usize) {
    let mut db = Db::open(db_path);
    (db.events().len(), db.credits().len())
}

/// The delivery is refused with 503 and leaves no trace; the server still answers. `cause` is
/// SQLite's message for the fault, which the server logs: proof that the fault injected is
/// the one hit.
async fn assert_refused_without_trace(
    app: &TestApp,
    db: &mut Db,
    body: &[u8],
    reference: &str,
    cause: &str,
) {
    let before = (db.events().len(), db.credits().len());
    let (code, answer) = app.post_signed(body).await;
    assert_eq!((code, answer), (503, json!({"error": "storage_unavailable"})));
    let log = app.log();
    assert!(log.contains(cause), "the server log names the cause {cause:?}:\n{log}");
    let (code, _) = app.send(app.client.get(app.url("/healthz"))).await;
    assert_eq!(code, 200, "the server keeps running");
    let (code, answer) = app.admin_get(&format!("/api/payments/{reference}")).await;
    assert_eq!(code, 404, "no payment from the refused delivery: {answer}");
    assert_eq!((db.events().len(), db.credits().len()), before, "nothing half-applied");
}

/// The same delivery, once storage is back, is applied and credited once.
async fn assert_applied_once(app: &TestApp, db_path: &Path, body: &[u8], reference: &str) {
    let (before_events, before_credits) = row_counts(db_path);
    let (code, answer) = app.post_signed(body).await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(
        (answer["outcome"].as_str(), answer["credited"].as_str()),
        (Some("applied"), Some("75.00"))
    );
    let (code, answer) = app.post_signed(body).await;
    assert_eq!((code, answer["outcome"].as_str()), (200, Some("duplicate")), "{answer}");
    assert_eq!(app.customer_balance(&format!("{reference}-cust")).await, "75.00");
    assert_eq!(row_counts(db_path), (before_events + 2, before_credits + 1));
    let mut db = Db::open(db_path);
    check_ledger(&mut db);
    assert_eq!(db.integrity_check(), ["ok"]);
}

#[tokio::test]
async fn a_database_locked_beyond_the_busy_timeout_answers_503_then_recovers() {
    let reference = "fault-locked";
    let app = TestApp::spawn_with(&[("DB_BUSY_TIMEOUT_MS", "200")]).await;
    let db_path = app.db_path();
    let body = filled(reference, 0);
    let mut lock = Db::open(&db_path);
    lock.execute("BEGIN EXCLUSIVE");
    // Twice: a failed write must not poison the connection it ran on.
    for _ in 0..2 {
        assert_refused_without_trace(&app, &mut lock, &body, reference, "database is locked").await;
    }
    lock.execute("ROLLBACK");
    assert_applied_once(&app, &db_path, &body, reference).await;
}

#[cfg(feature = "system-tests")]
#[tokio::test]
async fn a_full_file_system_answers_503_then_recovers_when_space_is_freed() {
    let reference = "fault-full";
    let mount = Mount::tmpfs("8m");
    let db_path = mount.path().join("payram.db");
    let app =
        TestApp::spawn_on(tempfile::tempdir().unwrap(), &db_path, &[("MAX_BODY_BYTES", "1048576")])
            .await;
    warm_up(&app).await;
    let filler = fill(&mount.path());
    // 256 KiB more than any earlier write: the write-ahead log must grow to hold it, and
    // cannot.
    let body = filled(reference, 256 << 10);
    let mut db = Db::open(&db_path);
    for _ in 0..2 {
        let cause = "database or disk is full";
        assert_refused_without_trace(&app, &mut db, &body, reference, cause).await;
    }
    drop(db);
    std::fs::remove_file(filler).unwrap();
    assert_applied_once(&app, &db_path, &body, reference).await;
    drop(app.kill().await);
    drop(mount);
}

#[cfg(feature = "system-tests")]
#[tokio::test]
async fn unwritable_database_files_answer_503_then_recover_when_writable_again() {
    let reference = "fault-immutable";
    // The database files made immutable (chattr +i): the one way found to make them
    // unwritable and writable again under a running server. A read-only remount is refused
    // (EBUSY) while files are open for writing, and a file system the kernel made read-only
    // stays so until unmounted (next test). ext4's immutable flag also stops writes through
    // descriptors already open; tmpfs's does not.
    let mount = Mount::ext4(32);
    let db_path = mount.path().join("payram.db");
    let app = TestApp::spawn_on(tempfile::tempdir().unwrap(), &db_path, &[]).await;
    warm_up(&app).await;
    let files: Vec<PathBuf> =
        ["payram.db", "payram.db-wal"].iter().map(|name| mount.path().join(name)).collect();
    let names: Vec<&str> = files.iter().map(|path| path.to_str().unwrap()).collect();
    let body = filled(reference, 0);
    let mut db = Db::open(&db_path);
    run_root_command("chattr", &[&["+i"], &names[..]].concat());
    for _ in 0..2 {
        assert_refused_without_trace(&app, &mut db, &body, reference, "disk I/O error").await;
    }
    run_root_command("chattr", &[&["-i"], &names[..]].concat());
    drop(db);
    assert_applied_once(&app, &db_path, &body, reference).await;
    drop(app.kill().await);
    drop(mount);
}

/// One ordinary delivery, so that the database is in use before the fault.
#[cfg(feature = "system-tests")]
async fn warm_up(app: &TestApp) {
    let (code, answer) = app.post_signed(&filled("fault-warm-up", 0)).await;
    assert_eq!((code, answer["outcome"].as_str()), (200, Some("applied")), "{answer}");
}

/// Fills the file system of `dir` to the last byte; returns the file to delete to free it.
#[cfg(feature = "system-tests")]
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    for chunk in [1 << 20, 64 << 10, 4 << 10, 512, 1] {
        let bytes = vec![0x55; chunk];
        loop {
            match file.write(&bytes) {
                Ok(0) => break,
                Ok(_) => {}
                Err(err) if err.kind() == ErrorKind::StorageFull => break,
                Err(err) => panic!("filling {}: {err}", path.display()),
            }
        }
    }
    file.sync_all().unwrap();
    assert_eq!(
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write(b"x")
            .map_err(|e| e.kind()),
        Err(ErrorKind::StorageFull),
        "the file system is full"
    );
    path
}

#[cfg(feature = "system-tests")]
#[tokio::test]
async fn a_file_system_gone_read_only_answers_503_and_recovers_after_a_remount() {
    let reference = "fault-read-only";
    let mount = Mount::ext4(32);
    let db_path = mount.path().join("payram.db");
    let app = TestApp::spawn_on(tempfile::tempdir().unwrap(), &db_path, &[]).await;
    warm_up(&app).await;
    let body = filled(reference, 0);
    let mut db = Db::open(&db_path);
    mount.force_read_only();
    for _ in 0..2 {
        let cause = "disk I/O error";
        assert_refused_without_trace(&app, &mut db, &body, reference, cause).await;
    }
    // The kernel lifts this only through an unmount, which needs the server stopped: it
    // recovers on restart, with nothing lost.
    drop(db);
    let dir = app.kill().await;
    mount.remount();
    let app = TestApp::spawn_on(dir, &db_path, &[]).await;
    assert_applied_once(&app, &db_path, &body, reference).await;
    drop(app.kill().await);
    drop(mount);
}
