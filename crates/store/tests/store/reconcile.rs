//! The payments reconciliation asks PayRam about, and the events it records.

use chrono::{DateTime, Duration, Utc};

use payram_domain::{EventOutcome, Outcome, PaymentStatus};
use payram_ports::{Ledger, NewEvent, Origin, Queries, ReconcileCandidate, ReconcileQueue};
use payram_store::SqliteRepository;

use crate::helpers::{TestDb, at, event, notification};

const UNSETTLED: [PaymentStatus; 3] =
    [PaymentStatus::Open, PaymentStatus::PartiallyFilled, PaymentStatus::Cancelled];

fn event_at(received_at: DateTime<Utc>) -> NewEvent {
    NewEvent { received_at, ..event(b"{}") }
}

async fn apply(repo: &SqliteRepository, reference: &str, status: &str, usd: &str, when: &str) {
    let usd = (!usd.is_empty()).then_some(usd);
    repo.apply_notification(event_at(at(when)), notification(reference, status, usd))
        .await
        .unwrap();
}

fn references(candidates: &[ReconcileCandidate]) -> Vec<&str> {
    candidates.iter().map(|candidate| candidate.reference_id.as_str()).collect()
}

#[tokio::test]
async fn unsettled_payments_quiet_since_the_cutoff_are_listed_the_longest_quiet_first() {
    let (_db, repo) = TestDb::migrated();
    apply(&repo, "open-old", "OPEN", "", "2026-03-04T10:00:00Z").await;
    apply(&repo, "partial", "PARTIALLY_FILLED", "20", "2026-03-04T09:00:00Z").await;
    apply(&repo, "cancelled", "CANCELLED", "", "2026-03-04T11:00:00Z").await;
    apply(&repo, "filled", "FILLED", "50", "2026-03-04T08:00:00Z").await;
    apply(&repo, "over", "OVER_FILLED", "60", "2026-03-04T08:00:00Z").await;
    apply(&repo, "open-new", "OPEN", "", "2026-03-04T12:30:00Z").await;

    let candidates = repo
        .quiet_payments(UNSETTLED.to_vec(), at("2026-03-04T12:00:00Z"), None, 100)
        .await
        .unwrap();

    assert_eq!(references(&candidates), ["partial", "open-old", "cancelled"]);
    assert_eq!(candidates[0].status, PaymentStatus::PartiallyFilled);
    assert_eq!(candidates[0].last_event_at, at("2026-03-04T09:00:00Z"));
    assert_eq!(candidates[2].status, PaymentStatus::Cancelled);
}

#[tokio::test]
async fn the_cutoff_is_inclusive_and_the_limit_keeps_the_longest_quiet() {
    let (_db, repo) = TestDb::migrated();
    apply(&repo, "a", "OPEN", "", "2026-03-04T10:00:00Z").await;
    apply(&repo, "b", "OPEN", "", "2026-03-04T11:00:00Z").await;

    let at_b = repo.quiet_payments(UNSETTLED.to_vec(), at("2026-03-04T11:00:00Z"), None, 100);
    assert_eq!(references(&at_b.await.unwrap()), ["a", "b"]);
    let limited = repo.quiet_payments(UNSETTLED.to_vec(), at("2026-03-04T11:00:00Z"), None, 1);
    assert_eq!(references(&limited.await.unwrap()), ["a"]);
    let only =
        repo.quiet_payments(vec![PaymentStatus::Cancelled], at("2026-03-05T00:00:00Z"), None, 9);
    assert!(only.await.unwrap().is_empty());
}

#[tokio::test]
async fn any_later_event_even_a_duplicate_makes_a_payment_heard_of() {
    let (_db, repo) = TestDb::migrated();
    apply(&repo, "r-1", "OPEN", "", "2026-03-04T10:00:00Z").await;
    let cutoff = at("2026-03-04T12:00:00Z");
    assert_eq!(
        references(&repo.quiet_payments(UNSETTLED.to_vec(), cutoff, None, 9).await.unwrap()),
        ["r-1"]
    );

    // PayRam confirms the state at 12:30 (a webhook or a lookup): nothing changes but the
    // payment was heard of after the cutoff.
    let duplicate = repo
        .apply_notification(
            event_at(cutoff + Duration::minutes(30)),
            notification("r-1", "OPEN", None),
        )
        .await
        .unwrap();
    assert_eq!(duplicate.outcome, Outcome::Duplicate);

    assert!(repo.quiet_payments(UNSETTLED.to_vec(), cutoff, None, 9).await.unwrap().is_empty());
    let later = repo.quiet_payments(UNSETTLED.to_vec(), cutoff + Duration::hours(1), None, 9);
    assert_eq!(later.await.unwrap()[0].last_event_at, cutoff + Duration::minutes(30));
}

#[tokio::test]
async fn a_reconciliation_event_is_stored_with_its_origin_and_credits_once() {
    let (_db, repo) = TestDb::migrated();
    apply(&repo, "r-1", "OPEN", "", "2026-03-04T10:00:00Z").await;
    let lookup = NewEvent {
        origin: Origin::Reconciliation,
        method: "GET".into(),
        raw_body: br#"{"referenceID":"r-1","paymentState":"FILLED"}"#.to_vec(),
        ..event_at(at("2026-03-04T11:00:00Z"))
    };

    let applied = repo
        .apply_notification(lookup.clone(), notification("r-1", "FILLED", Some("50.00")))
        .await
        .unwrap();
    let again = repo
        .apply_notification(lookup, notification("r-1", "FILLED", Some("50.00")))
        .await
        .unwrap();

    assert_eq!(applied.credit.unwrap().amount_usd.to_string(), "50.00");
    assert_eq!((again.outcome, again.credit), (Outcome::Duplicate, None));
    let stored = repo.event(applied.event_id).await.unwrap().unwrap();
    assert_eq!(stored.origin, Origin::Reconciliation);
    assert_eq!(stored.outcome, EventOutcome::Applied);
    assert_eq!(stored.raw_body, br#"{"referenceID":"r-1","paymentState":"FILLED"}"#);
    assert!(
        repo.quiet_payments(UNSETTLED.to_vec(), at("2026-03-05T00:00:00Z"), None, 9)
            .await
            .unwrap()
            .is_empty(),
        "a filled payment is settled"
    );
}

#[tokio::test]
async fn quiet_payments_are_paged_after_a_cursor_without_repeats() {
    let (_db, repo) = TestDb::migrated();
    // "a" and "b" were last heard of at the same time: the reference breaks the tie.
    apply(&repo, "b", "OPEN", "", "2026-03-04T10:00:00Z").await;
    apply(&repo, "c", "PARTIALLY_FILLED", "20", "2026-03-04T09:00:00Z").await;
    apply(&repo, "a", "OPEN", "", "2026-03-04T10:00:00Z").await;
    // After every cursor below, but not quiet, or settled: never listed.
    apply(&repo, "d", "OPEN", "", "2026-03-04T12:30:00Z").await;
    apply(&repo, "e", "FILLED", "50", "2026-03-04T10:30:00Z").await;
    let cutoff = at("2026-03-04T12:00:00Z");

    let first = repo.quiet_payments(UNSETTLED.to_vec(), cutoff, None, 2).await.unwrap();
    assert_eq!(references(&first), ["c", "a"]);

    let second = repo.quiet_payments(UNSETTLED.to_vec(), cutoff, first.last().cloned(), 2);
    let second = second.await.unwrap();
    assert_eq!(references(&second), ["b"], "same time as the cursor, later reference");
    assert_eq!(second[0].last_event_at, at("2026-03-04T10:00:00Z"));

    // "a" was last heard of at the cursor's time but sorts before "b": not repeated.
    let third = repo.quiet_payments(UNSETTLED.to_vec(), cutoff, second.last().cloned(), 2);
    assert!(third.await.unwrap().is_empty());

    // The walk with a page size of one sees each quiet payment once, in order.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = repo.quiet_payments(UNSETTLED.to_vec(), cutoff, after, 1).await.unwrap();
        let Some(last) = page.last().cloned() else { break };
        seen.extend(references(&page).into_iter().map(str::to_owned));
        after = Some(last);
    }
    assert_eq!(seen, ["c", "a", "b"]);
}
