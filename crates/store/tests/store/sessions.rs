//! Signed-out dashboard sessions: recorded by digest, seen by every repository on the file
//! (another receiver, a restart), idempotent, and forgotten once expired.

use diesel::{QueryableByName, RunQueryDsl, sql_types::Text};

use payram_ports::{Queries, SessionDigest, SessionRevocations};

use crate::helpers::{TestDb, at, count};

fn digest(byte: u8) -> SessionDigest {
    SessionDigest::from_bytes([byte; 32])
}

#[tokio::test]
async fn a_revoked_session_is_seen_by_every_repository_on_the_database() {
    let (db, repo) = TestDb::migrated();
    assert!(!repo.is_session_revoked(digest(1)).await.unwrap());
    repo.revoke_session(digest(1), at("2026-03-04T17:00:00Z"), at("2026-03-04T05:00:00Z"))
        .await
        .unwrap();
    assert!(repo.is_session_revoked(digest(1)).await.unwrap());
    assert!(!repo.is_session_revoked(digest(2)).await.unwrap(), "only that session");

    // Another receiver on the same file, or this one after a restart.
    drop(repo);
    let other = payram_store::connect(&db.url(), &payram_store::StoreOptions::default()).unwrap();
    assert!(other.is_session_revoked(digest(1)).await.unwrap());
}

#[tokio::test]
async fn revoking_twice_is_not_an_error() {
    let (db, repo) = TestDb::migrated();
    for _ in 0..2 {
        repo.revoke_session(digest(3), at("2026-03-04T17:00:00Z"), at("2026-03-04T05:00:00Z"))
            .await
            .unwrap();
    }
    assert_eq!(count(&db, "revoked_sessions"), 1);
}

#[tokio::test]
async fn expired_revocations_are_pruned_and_only_the_digest_is_stored() {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        session_digest: String,
    }
    let (db, repo) = TestDb::migrated();
    repo.revoke_session(digest(4), at("2026-03-04T06:00:00Z"), at("2026-03-04T05:00:00Z"))
        .await
        .unwrap();
    repo.revoke_session(digest(5), at("2026-03-04T19:00:00Z"), at("2026-03-04T07:00:00Z"))
        .await
        .unwrap();
    let rows = diesel::sql_query("SELECT session_digest FROM revoked_sessions")
        .load::<Row>(&mut db.raw())
        .unwrap();
    let stored: Vec<String> = rows.into_iter().map(|row| row.session_digest).collect();
    assert_eq!(stored, [digest(5).to_hex()], "the expired one is gone");
    assert!(!repo.is_session_revoked(digest(4)).await.unwrap());
    assert!(repo.is_session_revoked(digest(5)).await.unwrap());
}
