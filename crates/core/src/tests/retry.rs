//! Retry: failed, waiting and dead events tried again in place, the hand-over of committed
//! credits to the crediting adapter, and the walk of `retry_failed`.

use std::sync::{Arc, Mutex};

use mockall::predicate::eq;

use payram_domain::{Amount, EventOutcome, Outcome};
use payram_ports::{CreditError, EventId, EventRecord, Origin, PaymentUseCases};

use super::{
    Mocks, applied, at, credit, failed_event, lookup_parser, payment_delivery, payment_parser,
    quick_retry, unavailable, waiting_event,
};
use crate::RetryPolicy;

#[tokio::test]
async fn a_crediting_failure_schedules_a_retry_of_the_hand_over() {
    let mut mocks = Mocks::default();
    mocks
        .ledger
        .expect_apply_notification()
        .returning(|_, _| Ok(applied(Outcome::Applied, Some(credit()))));
    mocks
        .schedule
        .expect_record_attempt()
        .withf(|id, attempt| {
            *id == 1
                && attempt.outcome == EventOutcome::Failed
                && attempt.detail.starts_with("crediting:")
                && attempt.next_attempt_at.is_some()
        })
        .times(1)
        .returning(|_, _| Ok(()));
    mocks.crediting.expect_credit().returning(|_| Err(CreditError::Failed("backend down".into())));

    let receipt = mocks.retrying().receive(payment_delivery()).await.unwrap();

    assert_eq!(receipt.outcome, EventOutcome::Applied, "the credit itself is committed");
}

#[tokio::test]
async fn a_crediting_failure_with_no_retry_left_is_dead_at_once() {
    let mut mocks = Mocks::default();
    mocks
        .ledger
        .expect_apply_notification()
        .returning(|_, _| Ok(applied(Outcome::Applied, Some(credit()))));
    mocks
        .schedule
        .expect_record_attempt()
        .withf(|id, attempt| {
            *id == 1
                && attempt.outcome == EventOutcome::Dead
                && attempt.detail.starts_with("crediting:")
                && attempt.next_attempt_at.is_none()
        })
        .times(1)
        .returning(|_, _| Ok(()));
    mocks.crediting.expect_credit().returning(|_| Err(CreditError::Failed("backend down".into())));
    let once = RetryPolicy { max_attempts: 1, ..quick_retry() };

    let receipt =
        mocks.service().with_retry_policy(once).receive(payment_delivery()).await.unwrap();

    assert_eq!(receipt.outcome, EventOutcome::Applied, "the credit itself is committed");
}

#[tokio::test]
async fn a_due_event_is_applied_again_in_place_and_its_credit_handed_over() {
    let mut mocks = Mocks::default();
    mocks.schedule.expect_claim_due().returning(|_, _| Ok(vec![failed_event(8, 1)]));
    mocks.schedule.expect_credits_of_event().with(eq(8)).returning(|_| Ok(vec![]));
    mocks.ledger.expect_apply_notification().never();
    mocks
        .schedule
        .expect_retry_notification()
        .withf(|id, when, _| *id == 8 && *when == at())
        .times(1)
        .returning(|_, _, _| Ok(applied(Outcome::Applied, Some(credit()))));
    mocks.schedule.expect_record_attempt().never();
    mocks.crediting.expect_credit().times(1).returning(|_| Ok(()));
    mocks.parser = payment_parser();

    let receipts = mocks.retrying().retry_due().await.unwrap();

    assert_eq!(receipts.len(), 1);
    assert_eq!((receipts[0].event_id, receipts[0].outcome), (8, EventOutcome::Applied));
    assert_eq!(receipts[0].credited.to_string(), "50.00");
}

#[tokio::test]
async fn a_failing_retry_is_rescheduled_then_dead_after_the_last_attempt() {
    let mut mocks = Mocks::default();
    mocks
        .schedule
        .expect_claim_due()
        .returning(|_, _| Ok(vec![failed_event(8, 1), failed_event(9, 2)]));
    mocks.schedule.expect_credits_of_event().returning(|_| Ok(vec![]));
    mocks.schedule.expect_retry_notification().returning(|_, _, _| Err(unavailable()));
    mocks
        .schedule
        .expect_record_attempt()
        .withf(|id, attempt| {
            *id == 8
                && attempt.outcome == EventOutcome::Failed
                && attempt.detail.contains("disk full")
                && attempt.next_attempt_at.is_some()
        })
        .times(1)
        .returning(|_, _| Ok(()));
    // The core decides the event is dead: the third attempt was the last.
    mocks
        .schedule
        .expect_record_attempt()
        .withf(|id, attempt| {
            *id == 9 && attempt.outcome == EventOutcome::Dead && attempt.next_attempt_at.is_none()
        })
        .times(1)
        .returning(|_, _| Ok(()));
    mocks.parser = payment_parser();

    let receipts = mocks.retrying().retry_due().await.unwrap();

    let outcomes: Vec<_> = receipts.iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, [EventOutcome::Failed, EventOutcome::Dead]);
    assert!(receipts[1].message.as_deref().unwrap().contains("disk full"));
}

#[tokio::test]
async fn an_event_whose_credit_was_committed_only_hands_it_over_again() {
    let mut mocks = Mocks::default();
    mocks.schedule.expect_claim_due().returning(|_, _| Ok(vec![failed_event(1, 1)]));
    mocks.schedule.expect_credits_of_event().with(eq(1)).returning(|_| Ok(vec![credit()]));
    mocks.schedule.expect_retry_notification().never();
    mocks
        .schedule
        .expect_resolve()
        .with(eq(1), eq(EventOutcome::Applied), eq(None))
        .times(1)
        .returning(|_, _, _| Ok(()));
    mocks.crediting.expect_credit().with(eq(credit())).times(1).returning(|_| Ok(()));

    let receipts = mocks.retrying().retry_due().await.unwrap();

    assert_eq!(receipts[0].outcome, EventOutcome::Applied);
    assert_eq!(receipts[0].credited, Amount::ZERO, "credited when first applied");
}

#[tokio::test]
async fn a_failed_reconciliation_event_is_retried_from_the_api_answer() {
    let mut mocks = Mocks::default();
    mocks.schedule.expect_claim_due().returning(|_, _| {
        Ok(vec![EventRecord { origin: Origin::Reconciliation, ..failed_event(8, 1) }])
    });
    mocks.schedule.expect_credits_of_event().returning(|_| Ok(vec![]));
    mocks
        .schedule
        .expect_retry_notification()
        .withf(|id, _, checked| *id == 8 && checked.notification().reference_id.as_str() == "ref-1")
        .times(1)
        .returning(|_, _, _| Ok(applied(Outcome::Duplicate, None)));
    mocks.parser = lookup_parser();

    let receipts = mocks.retrying().retry_due().await.unwrap();

    assert_eq!(receipts[0].outcome, EventOutcome::Duplicate);
}

#[tokio::test]
async fn retry_failed_takes_failed_then_waiting_then_dead_events() {
    let mut mocks = Mocks::default();
    for (outcome, event) in [
        (EventOutcome::Failed, failed_event(2, 1)),
        (EventOutcome::Waiting, waiting_event(5, 1)),
        (EventOutcome::Dead, failed_event(3, 3)),
    ] {
        let id = event.id;
        mocks
            .schedule
            .expect_with_outcome()
            .withf(move |asked, after, _| *asked == outcome && after.is_none())
            .times(1)
            .return_once(move |_, _, _| Ok(vec![event]));
        mocks
            .schedule
            .expect_with_outcome()
            .withf(move |asked, after, _| *asked == outcome && *after == Some(id))
            .times(1)
            .returning(|_, _, _| Ok(vec![]));
    }
    mocks.schedule.expect_credits_of_event().times(3).returning(|_| Ok(vec![]));
    mocks
        .schedule
        .expect_retry_notification()
        .times(3)
        .returning(|_, _, _| Ok(applied(Outcome::Duplicate, None)));
    mocks.schedule.expect_claim_due().never();
    mocks.parser = payment_parser();

    let receipts = mocks.retrying().retry_failed().await.unwrap();

    let retried: Vec<_> = receipts.iter().map(|r| (r.event_id, r.outcome)).collect();
    assert_eq!(
        retried,
        [(2, EventOutcome::Duplicate), (5, EventOutcome::Duplicate), (3, EventOutcome::Duplicate)]
    );
}

/// The `after` and `limit` of one page asked for.
type Page = (Option<EventId>, u32);

#[tokio::test]
async fn retry_failed_walks_every_page() {
    let mut mocks = Mocks::default();
    // Every page the walk asks for: (after, limit).
    let asked: Arc<Mutex<Vec<Page>>> = Arc::default();
    let log = Arc::clone(&asked);
    // Two full pages of failed events (ids 2, 4, 6, ...), then an empty one.
    mocks
        .schedule
        .expect_with_outcome()
        .withf(|outcome, _, _| *outcome == EventOutcome::Failed)
        .times(3)
        .returning(move |_, after, limit| {
            log.lock().unwrap().push((after, limit));
            let start = after.unwrap_or(0);
            if start >= 4 * i64::from(limit) {
                return Ok(vec![]);
            }
            Ok((1..=i64::from(limit)).map(|k| failed_event(start + 2 * k, 1)).collect())
        });
    mocks
        .schedule
        .expect_with_outcome()
        .withf(|outcome, after, _| *outcome != EventOutcome::Failed && after.is_none())
        .times(2)
        .returning(|_, _, _| Ok(vec![]));
    mocks.schedule.expect_credits_of_event().returning(|_| Ok(vec![]));
    let retried: Arc<Mutex<Vec<EventId>>> = Arc::default();
    let log = Arc::clone(&retried);
    mocks.schedule.expect_retry_notification().returning(move |id, _, _| {
        log.lock().unwrap().push(id);
        Ok(applied(Outcome::Duplicate, None))
    });
    mocks.parser = payment_parser();

    let receipts = mocks.retrying().retry_failed().await.unwrap();

    let asked = asked.lock().unwrap().clone();
    let limit = asked[0].1;
    assert!(limit > 1, "a page holds more than one event");
    let page = 2 * i64::from(limit);
    assert_eq!(asked, [(None, limit), (Some(page), limit), (Some(2 * page), limit)]);
    let every: Vec<EventId> = (1..=2 * i64::from(limit)).map(|k| 2 * k).collect();
    assert_eq!(*retried.lock().unwrap(), every, "each event once, in order");
    assert_eq!(receipts.len(), every.len());
    assert!(receipts.iter().all(|r| r.outcome == EventOutcome::Duplicate));
}

/// `retry_failed` walks failed, then waiting, then dead events: an event that a retry moves
/// from failed to dead (or to waiting) during the walk is not retried again by a later walk.
#[tokio::test]
async fn retry_failed_retries_each_event_once() {
    let mut mocks = Mocks::default();
    // A store of one failed event, whose outcome each recorded attempt changes.
    let store: Arc<Mutex<Vec<(EventId, EventOutcome)>>> =
        Arc::new(Mutex::new(vec![(8, EventOutcome::Failed)]));
    let events = Arc::clone(&store);
    mocks.schedule.expect_with_outcome().returning(move |outcome, after, _| {
        let events = events.lock().unwrap();
        Ok(events
            .iter()
            .filter(|(id, now)| *now == outcome && after.is_none_or(|after| *id > after))
            .map(|(id, now)| EventRecord { outcome: *now, ..failed_event(*id, 2) })
            .collect())
    });
    let events = Arc::clone(&store);
    mocks.schedule.expect_record_attempt().returning(move |id, attempt| {
        for event in events.lock().unwrap().iter_mut().filter(|(event, _)| *event == id) {
            event.1 = attempt.outcome;
        }
        Ok(())
    });
    mocks.schedule.expect_credits_of_event().returning(|_| Ok(vec![]));
    mocks.schedule.expect_retry_notification().returning(|_, _, _| Err(unavailable()));
    mocks.parser = payment_parser();

    let receipts = mocks.retrying().retry_failed().await.unwrap();

    let retried: Vec<_> = receipts.iter().map(|r| (r.event_id, r.outcome)).collect();
    assert_eq!(retried, [(8, EventOutcome::Dead)], "one attempt per event and call");
}
