//! Failed events: recorded for retry, found when due, retried in place, rescheduled, dead.

use chrono::Duration;

use payram_domain::{EventOutcome, Outcome};
use payram_ports::PaymentRepository;

use crate::helpers::{TestDb, at, count, customer, event, notification, reference};

#[tokio::test]
async fn a_failed_event_is_due_at_its_time_and_retried_in_place() {
    let (db, repo) = TestDb::migrated();
    let next = at("2026-03-04T05:07:00Z");
    let id = repo
        .record_failure(
            event(b"{filled}"),
            Some(reference("r-1")),
            Some("FILLED".into()),
            "storage unavailable: disk I/O error".into(),
            next,
        )
        .await
        .unwrap();

    let stored = repo.find_event(id).await.unwrap().unwrap();
    assert_eq!((stored.outcome, stored.attempts), (EventOutcome::Failed, 1));
    assert_eq!(stored.next_attempt_at, Some(next));
    assert_eq!(stored.detail.as_deref(), Some("storage unavailable: disk I/O error"));
    assert!(repo.due_events(next - Duration::seconds(1), 10).await.unwrap().is_empty());
    let due = repo.due_events(next, 10).await.unwrap();
    assert_eq!(due.iter().map(|e| e.id).collect::<Vec<_>>(), [id]);

    let applied = repo
        .retry_notification(id, next, notification("r-1", "FILLED", Some("50.00")))
        .await
        .unwrap();
    assert_eq!((applied.event_id, applied.outcome), (id, Outcome::Applied));
    assert_eq!(applied.credit.as_ref().unwrap().event_id, id);

    let stored = repo.find_event(id).await.unwrap().unwrap();
    assert_eq!(stored.outcome, EventOutcome::Applied);
    assert_eq!(stored.credited_usd.to_string(), "50.00");
    assert_eq!((stored.next_attempt_at, stored.detail), (None, None));
    assert_eq!(stored.raw_body, b"{filled}", "the raw body is never rewritten");
    assert!(repo.due_events(next + Duration::days(1), 10).await.unwrap().is_empty());
    assert_eq!(count(&db, "events"), 1, "retried in place, not recorded again");
    assert_eq!(repo.customer(&customer("cust-1")).await.unwrap().balance_usd.to_string(), "50.00");
    assert_eq!(repo.credits_of_event(id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn rescheduling_counts_attempts_and_no_next_attempt_means_dead() {
    let (_db, repo) = TestDb::migrated();
    let first = at("2026-03-04T05:07:00Z");
    let id = repo.record_failure(event(b"x"), None, None, "first".into(), first).await.unwrap();

    let later = first + Duration::minutes(1);
    repo.reschedule(id, "second".into(), Some(later)).await.unwrap();
    let stored = repo.find_event(id).await.unwrap().unwrap();
    assert_eq!((stored.outcome, stored.attempts), (EventOutcome::Failed, 2));
    assert_eq!((stored.next_attempt_at, stored.detail.as_deref()), (Some(later), Some("second")));

    repo.reschedule(id, "third".into(), None).await.unwrap();
    let stored = repo.find_event(id).await.unwrap().unwrap();
    assert_eq!((stored.outcome, stored.attempts), (EventOutcome::Dead, 3));
    assert_eq!(stored.next_attempt_at, None);
    assert!(repo.due_events(later + Duration::days(365), 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn resolving_gives_the_final_outcome_and_clears_the_schedule() {
    let (_db, repo) = TestDb::migrated();
    let applied = repo
        .apply_notification(event(b"y"), notification("r-2", "FILLED", Some("3")))
        .await
        .unwrap();
    let next = at("2026-03-04T05:07:00Z");
    repo.reschedule(applied.event_id, "crediting: down".into(), Some(next)).await.unwrap();
    assert_eq!(repo.due_events(next, 10).await.unwrap().len(), 1);
    assert_eq!(repo.credits_of_event(applied.event_id).await.unwrap().len(), 1);

    repo.resolve(applied.event_id, EventOutcome::Applied, None).await.unwrap();

    let stored = repo.find_event(applied.event_id).await.unwrap().unwrap();
    assert_eq!((stored.outcome, stored.next_attempt_at), (EventOutcome::Applied, None));
    assert_eq!(stored.credited_usd.to_string(), "3", "the credit it made is kept");
    assert!(repo.due_events(next, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_waiting_event_is_due_like_a_failed_one_and_dies_after_its_last_attempt() {
    let (_db, repo) = TestDb::migrated();
    let first = at("2026-03-04T06:00:00Z");
    let id = repo
        .record_waiting(
            event(b"filled"),
            reference("ref-1"),
            "FILLED".into(),
            "PayRam reports less USD received than notified".into(),
            first,
        )
        .await
        .unwrap();
    let stored = repo.find_event(id).await.unwrap().unwrap();
    assert_eq!((stored.outcome, stored.attempts), (EventOutcome::Waiting, 1));
    assert_eq!(stored.reference_id.as_deref(), Some("ref-1"));
    assert!(repo.find_payment(&reference("ref-1")).await.unwrap().is_none(), "nothing applied");

    assert!(repo.due_events(at("2026-03-04T05:59:59Z"), 10).await.unwrap().is_empty());
    let due = repo.due_events(first, 10).await.unwrap();
    assert_eq!(due.iter().map(|event| event.id).collect::<Vec<_>>(), [id]);

    let later = at("2026-03-04T07:00:00Z");
    repo.postpone(id, "still behind".into(), Some(later)).await.unwrap();
    let stored = repo.find_event(id).await.unwrap().unwrap();
    assert_eq!(
        (stored.outcome, stored.attempts, stored.next_attempt_at),
        (EventOutcome::Waiting, 2, Some(later))
    );
    assert_eq!(stored.detail.as_deref(), Some("still behind"));

    repo.postpone(id, "never confirmed".into(), None).await.unwrap();
    let stored = repo.find_event(id).await.unwrap().unwrap();
    assert_eq!(
        (stored.outcome, stored.attempts, stored.next_attempt_at),
        (EventOutcome::Dead, 3, None)
    );
    assert!(repo.due_events(later, 10).await.unwrap().is_empty());
}
