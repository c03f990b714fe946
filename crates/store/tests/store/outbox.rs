//! The outbox of credits to forward: written with its credit, in the same transaction, only
//! when enabled; due, delivered, failed and dead as the worker records them.

use std::time::Duration;

use diesel::connection::SimpleConnection;

use payram_domain::PaymentStatus;
use payram_ports::{Ledger, Outbox, OutboxState, Queries, RepositoryError};
use payram_store::StoreOptions;

use crate::helpers::{TestDb, at, count, event, notification};

fn with_outbox() -> (TestDb, payram_store::SqliteRepository) {
    TestDb::migrated_with(&StoreOptions { outbox: true, ..StoreOptions::default() })
}

#[tokio::test]
async fn each_credit_gets_one_pending_entry_due_at_once() {
    let (db, repo) = with_outbox();
    let partial = notification("ref-1", "PARTIALLY_FILLED", Some("20.00"));
    repo.apply_notification(event(b"partial"), partial.clone()).await.unwrap();
    // A duplicate credits nothing, so it adds no entry.
    repo.apply_notification(event(b"partial"), partial).await.unwrap();
    let filled = repo
        .apply_notification(event(b"filled"), notification("ref-1", "FILLED", Some("50.00")))
        .await
        .unwrap();
    assert_eq!(count(&db, "credits"), 2);
    assert_eq!(count(&db, "outbox"), 2);

    let due = Outbox::claim_due(&repo, at("2026-03-04T05:06:07.123456Z"), 10).await.unwrap();
    let credits: Vec<_> = due
        .iter()
        .map(|entry| (entry.credit.amount_usd.to_string(), entry.credit.status, entry.state))
        .collect();
    assert_eq!(
        credits,
        [
            ("20.00".to_owned(), PaymentStatus::PartiallyFilled, OutboxState::Pending),
            ("30.00".to_owned(), PaymentStatus::Filled, OutboxState::Pending),
        ],
        "oldest first, with the status the payment had at the credit"
    );
    assert_eq!(due[1].credit, filled.credit.unwrap(), "the entry carries its credit whole");
    assert_eq!(due[1].attempts, 0);
    assert!(Outbox::claim_due(&repo, at("2026-03-04T05:06:07Z"), 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn without_the_outbox_credits_add_no_entry() {
    let (db, repo) = TestDb::migrated();
    repo.apply_notification(event(b"filled"), notification("ref-1", "FILLED", Some("50.00")))
        .await
        .unwrap();
    assert_eq!((count(&db, "credits"), count(&db, "outbox")), (1, 0));
}

#[tokio::test]
async fn delivered_failed_and_dead_entries_are_recorded_and_listed_by_state() {
    let (_db, repo) = with_outbox();
    for (reference, body) in [("ref-1", b"one"), ("ref-2", b"two"), ("ref-3", b"thr")] {
        repo.apply_notification(event(body), notification(reference, "FILLED", Some("5")))
            .await
            .unwrap();
    }
    let now = at("2026-03-05T00:00:00Z");
    let ids: Vec<i64> =
        Outbox::claim_due(&repo, now, 10).await.unwrap().iter().map(|entry| entry.id).collect();
    assert_eq!(ids.len(), 3);

    repo.delivered(ids[0], now).await.unwrap();
    let later = now + chrono::Duration::from_std(Duration::from_mins(1)).unwrap();
    repo.failed(ids[1], OutboxState::Pending, "receiver answered 500".into(), Some(later))
        .await
        .unwrap();
    repo.failed(ids[2], OutboxState::Dead, "connection refused".into(), None).await.unwrap();

    let delivered = repo.find(ids[0]).await.unwrap().unwrap();
    assert_eq!(
        (delivered.state, delivered.attempts, delivered.delivered_at, delivered.next_attempt_at),
        (OutboxState::Delivered, 1, Some(now), None)
    );
    let pending = repo.find(ids[1]).await.unwrap().unwrap();
    assert_eq!(
        (pending.state, pending.attempts, pending.next_attempt_at),
        (OutboxState::Pending, 1, Some(later))
    );
    assert_eq!(pending.last_error.as_deref(), Some("receiver answered 500"));
    let dead = repo.find(ids[2]).await.unwrap().unwrap();
    assert_eq!((dead.state, dead.next_attempt_at), (OutboxState::Dead, None));

    assert!(
        Outbox::claim_due(&repo, now, 10).await.unwrap().is_empty(),
        "nothing due before `later`"
    );
    let due: Vec<i64> =
        Outbox::claim_due(&repo, later, 10).await.unwrap().iter().map(|e| e.id).collect();
    assert_eq!(due, [ids[1]]);

    let listed = |state| {
        let repo = repo.clone();
        async move {
            let entries = repo.outbox(state, 100).await.unwrap();
            entries.iter().map(|entry| entry.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(None).await, [ids[2], ids[1], ids[0]], "newest first");
    assert_eq!(listed(Some(OutboxState::Dead)).await, [ids[2]]);
    assert_eq!(listed(Some(OutboxState::Delivered)).await, [ids[0]]);
    assert_eq!(repo.find(9999).await.unwrap(), None);
}

#[tokio::test]
async fn a_credit_and_its_entry_commit_together_or_not_at_all() {
    let (db, repo) = with_outbox();
    // A trigger that refuses outbox rows: the credit's transaction must roll back whole.
    db.raw()
        .batch_execute(
            "CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox BEGIN \
             SELECT RAISE(ABORT, 'outbox refused'); END;",
        )
        .unwrap();
    let res = repo
        .apply_notification(event(b"filled"), notification("ref-1", "FILLED", Some("50.00")))
        .await;
    assert!(matches!(res, Err(RepositoryError::Unavailable(_) | RepositoryError::Corrupt(_))));
    assert_eq!(
        (count(&db, "events"), count(&db, "payments"), count(&db, "credits")),
        (0, 0, 0),
        "nothing of the delivery is committed without its outbox entry"
    );
}

#[tokio::test]
async fn stats_count_credits_exactly_and_the_backlogs() {
    let (_db, repo) = with_outbox();
    let empty = repo.stats().await.unwrap();
    assert_eq!((empty.credits, empty.credited_usd.to_string()), (0, "0".to_owned()));
    assert_eq!(empty.oldest_pending_outbox, None);

    for (reference, usd) in [("ref-1", "0.1"), ("ref-2", "0.2"), ("ref-3", "49.999999999999998")] {
        repo.apply_notification(
            event(reference.as_bytes()),
            notification(reference, "FILLED", Some(usd)),
        )
        .await
        .unwrap();
    }
    let due = Outbox::claim_due(&repo, at("2026-03-05T00:00:00Z"), 10).await.unwrap();
    repo.delivered(due[0].id, at("2026-03-05T00:00:00Z")).await.unwrap();
    repo.failed(due[1].id, OutboxState::Dead, "refused".into(), None).await.unwrap();

    let stats = repo.stats().await.unwrap();
    assert_eq!(stats.credits, 3);
    assert_eq!(stats.credited_usd.to_string(), "50.299999999999998", "summed exactly");
    assert_eq!((stats.outbox_pending, stats.outbox_dead), (1, 1));
    assert_eq!(stats.oldest_pending_outbox, Some(at("2026-03-04T05:06:07.123456Z")));
    assert_eq!((stats.failed_events, stats.dead_events), (0, 0));
}
