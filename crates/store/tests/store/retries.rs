//! Failed events: recorded for retry, found when due, retried in place, rescheduled, dead.

use chrono::{DateTime, Duration, Utc};

use payram_domain::{EventOutcome, Outcome};
use payram_ports::{Attempt, EventNote, Ledger, Queries, RetrySchedule};

use crate::helpers::{TestDb, at, count, customer, event, notification, reference};

/// A failed event with no reference, due again at `next`.
fn failed(error: &str, next: DateTime<Utc>) -> EventNote {
    EventNote {
        detail: Some(error.into()),
        next_attempt_at: Some(next),
        ..EventNote::new(EventOutcome::Failed)
    }
}

fn attempt(outcome: EventOutcome, detail: &str, next: Option<DateTime<Utc>>) -> Attempt {
    Attempt { outcome, detail: detail.into(), next_attempt_at: next }
}

#[tokio::test]
async fn a_failed_event_is_due_at_its_time_and_retried_in_place() {
    let (db, repo) = TestDb::migrated();
    let next = at("2026-03-04T05:07:00Z");
    let id = repo
        .record_event(
            event(b"{filled}"),
            EventNote {
                outcome: EventOutcome::Failed,
                reference_id: Some(reference("r-1")),
                status: Some("FILLED".into()),
                detail: Some("storage unavailable: disk I/O error".into()),
                next_attempt_at: Some(next),
            },
        )
        .await
        .unwrap();

    let stored = repo.event(id).await.unwrap().unwrap();
    assert_eq!((stored.outcome, stored.attempts), (EventOutcome::Failed, 1));
    assert_eq!(stored.next_attempt_at, Some(next));
    assert_eq!(stored.detail.as_deref(), Some("storage unavailable: disk I/O error"));
    assert!(repo.claim_due(next - Duration::seconds(1), 10).await.unwrap().is_empty());
    let due = repo.claim_due(next, 10).await.unwrap();
    assert_eq!(due.iter().map(|e| e.id).collect::<Vec<_>>(), [id]);

    let applied = repo
        .retry_notification(id, next, notification("r-1", "FILLED", Some("50.00")))
        .await
        .unwrap();
    assert_eq!((applied.event_id, applied.outcome), (id, Outcome::Applied));
    assert_eq!(applied.credit.as_ref().unwrap().event_id, id);

    let stored = repo.event(id).await.unwrap().unwrap();
    assert_eq!(stored.outcome, EventOutcome::Applied);
    assert_eq!(stored.credited_usd.to_string(), "50.00");
    assert_eq!((stored.next_attempt_at, stored.detail), (None, None));
    assert_eq!(stored.raw_body, b"{filled}", "the raw body is never rewritten");
    assert!(repo.claim_due(next + Duration::days(1), 10).await.unwrap().is_empty());
    assert_eq!(count(&db, "events"), 1, "retried in place, not recorded again");
    assert_eq!(repo.customer(&customer("cust-1")).await.unwrap().balance_usd.to_string(), "50.00");
    assert_eq!(repo.credits_of_event(id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn rescheduling_counts_attempts_and_no_next_attempt_means_dead() {
    let (_db, repo) = TestDb::migrated();
    let first = at("2026-03-04T05:07:00Z");
    let id = repo.record_event(event(b"x"), failed("first", first)).await.unwrap();

    let later = first + Duration::minutes(1);
    repo.record_attempt(id, attempt(EventOutcome::Failed, "second", Some(later))).await.unwrap();
    let stored = repo.event(id).await.unwrap().unwrap();
    assert_eq!((stored.outcome, stored.attempts), (EventOutcome::Failed, 2));
    assert_eq!((stored.next_attempt_at, stored.detail.as_deref()), (Some(later), Some("second")));

    // The core decides the event is dead; the store stores it.
    repo.record_attempt(id, attempt(EventOutcome::Dead, "third", None)).await.unwrap();
    let stored = repo.event(id).await.unwrap().unwrap();
    assert_eq!((stored.outcome, stored.attempts), (EventOutcome::Dead, 3));
    assert_eq!(stored.next_attempt_at, None);
    assert!(repo.claim_due(later + Duration::days(365), 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn resolving_gives_the_final_outcome_and_clears_the_schedule() {
    let (_db, repo) = TestDb::migrated();
    let applied = repo
        .apply_notification(event(b"y"), notification("r-2", "FILLED", Some("3")))
        .await
        .unwrap();
    let next = at("2026-03-04T05:07:00Z");
    repo.record_attempt(
        applied.event_id,
        attempt(EventOutcome::Failed, "crediting: down", Some(next)),
    )
    .await
    .unwrap();
    assert_eq!(repo.claim_due(next, 10).await.unwrap().len(), 1);
    assert_eq!(repo.credits_of_event(applied.event_id).await.unwrap().len(), 1);

    repo.resolve(applied.event_id, EventOutcome::Applied, None).await.unwrap();

    let stored = repo.event(applied.event_id).await.unwrap().unwrap();
    assert_eq!((stored.outcome, stored.next_attempt_at), (EventOutcome::Applied, None));
    assert_eq!(stored.credited_usd.to_string(), "3", "the credit it made is kept");
    assert!(repo.claim_due(next, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_waiting_event_is_due_like_a_failed_one_and_dies_after_its_last_attempt() {
    let (_db, repo) = TestDb::migrated();
    let first = at("2026-03-04T06:00:00Z");
    let id = repo
        .record_event(
            event(b"filled"),
            EventNote {
                outcome: EventOutcome::Waiting,
                reference_id: Some(reference("ref-1")),
                status: Some("FILLED".into()),
                detail: Some("PayRam reports less USD received than notified".into()),
                next_attempt_at: Some(first),
            },
        )
        .await
        .unwrap();
    let stored = repo.event(id).await.unwrap().unwrap();
    assert_eq!((stored.outcome, stored.attempts), (EventOutcome::Waiting, 1));
    assert_eq!(stored.reference_id.as_deref(), Some("ref-1"));
    assert!(repo.payment(&reference("ref-1")).await.unwrap().is_none(), "nothing applied");

    assert!(repo.claim_due(at("2026-03-04T05:59:59Z"), 10).await.unwrap().is_empty());
    let due = repo.claim_due(first, 10).await.unwrap();
    assert_eq!(due.iter().map(|event| event.id).collect::<Vec<_>>(), [id]);

    let later = at("2026-03-04T07:00:00Z");
    repo.record_attempt(id, attempt(EventOutcome::Waiting, "still behind", Some(later)))
        .await
        .unwrap();
    let stored = repo.event(id).await.unwrap().unwrap();
    assert_eq!(
        (stored.outcome, stored.attempts, stored.next_attempt_at),
        (EventOutcome::Waiting, 2, Some(later))
    );
    assert_eq!(stored.detail.as_deref(), Some("still behind"));

    repo.record_attempt(id, attempt(EventOutcome::Dead, "never confirmed", None)).await.unwrap();
    let stored = repo.event(id).await.unwrap().unwrap();
    assert_eq!(
        (stored.outcome, stored.attempts, stored.next_attempt_at),
        (EventOutcome::Dead, 3, None)
    );
    assert!(repo.claim_due(later, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_event_recorded_dead_counts_one_attempt_and_is_never_due() {
    let (_db, repo) = TestDb::migrated();
    let id = repo
        .record_event(
            event(b"{filled}"),
            EventNote {
                reference_id: Some(reference("r-1")),
                status: Some("FILLED".into()),
                detail: Some("no retry left".into()),
                ..EventNote::new(EventOutcome::Dead)
            },
        )
        .await
        .unwrap();

    let stored = repo.event(id).await.unwrap().unwrap();
    assert_eq!(
        (stored.outcome, stored.attempts, stored.next_attempt_at),
        (EventOutcome::Dead, 1, None)
    );
    assert_eq!(stored.detail.as_deref(), Some("no retry left"));
    assert_eq!(
        (stored.reference_id.as_deref(), stored.status.as_deref()),
        (Some("r-1"), Some("FILLED"))
    );
    assert!(repo.claim_due(at("2100-01-01T00:00:00Z"), 10).await.unwrap().is_empty());
    let stats = repo.stats().await.unwrap();
    assert_eq!((stats.failed_events, stats.dead_events), (0, 1));
}

#[tokio::test]
async fn a_dead_attempt_clears_the_schedule_and_counts_the_attempt() {
    let (_db, repo) = TestDb::migrated();
    let next = at("2026-03-04T05:07:00Z");
    let id = repo.record_event(event(b"x"), failed("first", next)).await.unwrap();
    assert_eq!(repo.claim_due(next, 10).await.unwrap().len(), 1);

    repo.record_attempt(id, attempt(EventOutcome::Dead, "gave up", None)).await.unwrap();

    let stored = repo.event(id).await.unwrap().unwrap();
    assert_eq!(
        (stored.outcome, stored.attempts, stored.next_attempt_at),
        (EventOutcome::Dead, 2, None)
    );
    assert_eq!(stored.detail.as_deref(), Some("gave up"));
    assert!(repo.claim_due(next + Duration::days(365), 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn events_with_an_outcome_are_paged_oldest_first_after_a_cursor() {
    let (_db, repo) = TestDb::migrated();
    let next = at("2026-03-04T05:07:00Z");
    let mut failed_ids = Vec::new();
    for i in 0..5 {
        failed_ids
            .push(repo.record_event(event(b"f"), failed(&format!("f{i}"), next)).await.unwrap());
        // Events of other outcomes in between are skipped.
        let waiting =
            EventNote { next_attempt_at: Some(next), ..EventNote::new(EventOutcome::Waiting) };
        repo.record_event(event(b"w"), waiting).await.unwrap();
        repo.apply_notification(event(b"a"), notification(&format!("r-{i}"), "OPEN", None))
            .await
            .unwrap();
    }
    // A failed event that became dead is no longer failed, and is listed as dead.
    repo.record_attempt(failed_ids[2], attempt(EventOutcome::Dead, "gave up", None)).await.unwrap();
    let still_failed = [failed_ids[0], failed_ids[1], failed_ids[3], failed_ids[4]];

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = repo.with_outcome(EventOutcome::Failed, after, 2).await.unwrap();
        assert!(page.iter().all(|event| event.outcome == EventOutcome::Failed));
        seen.extend(page.iter().map(|event| event.id));
        match page.last() {
            Some(last) => after = Some(last.id),
            None => break,
        }
    }
    assert_eq!(seen, still_failed, "oldest first, each once, only failed ones");

    let first = repo.with_outcome(EventOutcome::Failed, None, 2).await.unwrap();
    assert_eq!(first.iter().map(|e| e.id).collect::<Vec<_>>(), still_failed[..2]);
    assert_eq!(first[0].detail.as_deref(), Some("f0"), "whole records");
    let last = repo.with_outcome(EventOutcome::Failed, Some(still_failed[3]), 2).await.unwrap();
    assert!(last.is_empty());

    let dead = repo.with_outcome(EventOutcome::Dead, None, 10).await.unwrap();
    assert_eq!(dead.iter().map(|e| e.id).collect::<Vec<_>>(), [failed_ids[2]]);
    let waiting = repo.with_outcome(EventOutcome::Waiting, None, 10).await.unwrap();
    assert_eq!(waiting.len(), 5);
    assert!(waiting.iter().all(|event| event.outcome == EventOutcome::Waiting));
    assert!(waiting.windows(2).all(|pair| pair[0].id < pair[1].id));
}
