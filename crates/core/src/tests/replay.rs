//! Replay: stored bodies fed through the live path again as new events, failed ones retried in
//! place, and `replay_since`'s walk over the webhook events.

use std::sync::{Arc, Mutex};

use chrono::TimeDelta;
use mockall::predicate::eq;

use payram_domain::{AuthMethod, EventOutcome, Inbound, Outcome};
use payram_ports::{EventId, EventOrder, EventRecord, Origin, PaymentUseCases};

use super::{
    Mocks, applied, at, failed_event, filled, lookup_parser, payment_parser, stored_event,
};

#[tokio::test]
async fn a_replay_feeds_the_stored_body_through_the_live_path_as_a_new_event() {
    let mut mocks = Mocks::default();
    mocks.queries.expect_event().with(eq(41)).returning(|id| Ok(Some(stored_event(id))));
    mocks
        .ledger
        .expect_apply_notification()
        .withf(|event, _| {
            event.origin == Origin::Replay(41)
                && event.raw_body == b"{stored}"
                && event.method == "GET"
                && event.auth == AuthMethod::ApiKey { key_index: 1 }
        })
        .times(1)
        .returning(|_, _| Ok(applied(Outcome::Duplicate, None)));
    mocks
        .parser
        .expect_parse()
        .withf(|body| body == b"{stored}")
        .times(1)
        .returning(|_| Ok(Inbound::Payment(filled(Some("cust-1")))));
    mocks.crediting.expect_credit().never();

    let receipt = mocks.service().replay(41).await.unwrap();

    assert_eq!(receipt.unwrap().outcome, EventOutcome::Duplicate);
}

#[tokio::test]
async fn replaying_an_unknown_event_finds_nothing() {
    let mut mocks = Mocks::default();
    mocks.queries.expect_event().returning(|_| Ok(None));
    mocks.ledger.expect_apply_notification().never();

    let receipt = mocks.service().replay(404).await.unwrap();

    assert_eq!(receipt, None);
}

#[tokio::test]
async fn replaying_a_dead_event_retries_it_in_place() {
    let mut mocks = Mocks::default();
    mocks.queries.expect_event().returning(|id| Ok(Some(failed_event(id, 3))));
    mocks.schedule.expect_credits_of_event().returning(|_| Ok(vec![]));
    mocks.ledger.expect_apply_notification().never();
    mocks
        .schedule
        .expect_retry_notification()
        .times(1)
        .returning(|_, _, _| Ok(applied(Outcome::Duplicate, None)));
    mocks.parser = payment_parser();

    let receipt = mocks.retrying().replay(5).await.unwrap().unwrap();

    assert_eq!((receipt.event_id, receipt.outcome), (5, EventOutcome::Duplicate));
}

#[tokio::test]
async fn a_reconciliation_event_is_replayed_as_the_api_answer_it_holds() {
    let mut mocks = Mocks::default();
    mocks.queries.expect_event().with(eq(41)).returning(|id| {
        Ok(Some(EventRecord { origin: Origin::Reconciliation, ..stored_event(id) }))
    });
    mocks
        .ledger
        .expect_apply_notification()
        .withf(|event, _| event.origin == Origin::Replay(41) && event.raw_body == b"{stored}")
        .times(1)
        .returning(|_, _| Ok(applied(Outcome::Duplicate, None)));
    mocks.parser = lookup_parser();

    let receipt = mocks.service().replay(41).await;

    assert_eq!(receipt.unwrap().unwrap().outcome, EventOutcome::Duplicate);
}

#[tokio::test]
async fn a_replay_of_a_replay_is_read_like_the_first_event() {
    let mut mocks = Mocks::default();
    mocks
        .queries
        .expect_event()
        .with(eq(42))
        .returning(|id| Ok(Some(EventRecord { origin: Origin::Replay(41), ..stored_event(id) })));
    mocks.queries.expect_event().with(eq(41)).returning(|id| {
        Ok(Some(EventRecord { origin: Origin::Reconciliation, ..stored_event(id) }))
    });
    mocks
        .ledger
        .expect_apply_notification()
        .withf(|event, _| event.origin == Origin::Replay(42))
        .times(1)
        .returning(|_, _| Ok(applied(Outcome::Duplicate, None)));
    mocks.parser = lookup_parser();

    let receipt = mocks.service().replay(42).await;

    assert_eq!(receipt.unwrap().unwrap().outcome, EventOutcome::Duplicate);
}

/// An event of the walk: stored event `id` with `origin`.
fn logged(id: EventId, origin: Origin) -> EventRecord {
    EventRecord { origin, ..stored_event(id) }
}

#[tokio::test]
async fn replay_since_replays_only_webhook_events_oldest_first_up_to_the_newest_at_the_start() {
    let since = at() - TimeDelta::hours(1);
    let mut mocks = Mocks::default();
    // The newest event when the walk starts is 14.
    mocks
        .queries
        .expect_events()
        .withf(|f| {
            f.order == EventOrder::NewestFirst
                && f.limit == 1
                && f.since.is_none()
                && f.after.is_none()
        })
        .times(1)
        .returning(|_| Ok(vec![logged(14, Origin::Webhook)]));
    mocks
        .queries
        .expect_events()
        .withf(move |f| {
            f.order == EventOrder::OldestFirst && f.since == Some(since) && f.after.is_none()
        })
        .times(1)
        .returning(|_| {
            Ok(vec![
                logged(10, Origin::Webhook),
                logged(11, Origin::Replay(3)),
                logged(12, Origin::Webhook),
            ])
        });
    // 15 was recorded after the walk started (by this very replay): never replayed.
    mocks
        .queries
        .expect_events()
        .withf(move |f| {
            f.order == EventOrder::OldestFirst && f.since == Some(since) && f.after == Some(12)
        })
        .times(1)
        .returning(|_| {
            Ok(vec![
                logged(13, Origin::Reconciliation),
                logged(14, Origin::Webhook),
                logged(15, Origin::Webhook),
            ])
        });
    mocks
        .queries
        .expect_events()
        .withf(|f| f.order == EventOrder::OldestFirst && f.after == Some(15))
        .times(0..=1)
        .returning(|_| Ok(vec![]));
    // Only the webhook events are read back, each once (an unexpected id fails the test).
    for id in [10, 12, 14] {
        mocks
            .queries
            .expect_event()
            .with(eq(id))
            .times(1)
            .returning(|id| Ok(Some(logged(id, Origin::Webhook))));
    }
    let replayed: Arc<Mutex<Vec<Origin>>> = Arc::default();
    let log = Arc::clone(&replayed);
    mocks.ledger.expect_apply_notification().returning(move |event, _| {
        log.lock().unwrap().push(event.origin);
        Ok(applied(Outcome::Duplicate, None))
    });
    mocks.parser = payment_parser();

    let receipts = mocks.service().replay_since(since).await.unwrap();

    let ids: Vec<EventId> = receipts.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [10, 12, 14]);
    assert!(receipts.iter().all(|(_, r)| r.outcome == EventOutcome::Duplicate));
    assert_eq!(
        *replayed.lock().unwrap(),
        [Origin::Replay(10), Origin::Replay(12), Origin::Replay(14)]
    );
}

#[tokio::test]
async fn replay_since_an_empty_log_replays_nothing() {
    let mut mocks = Mocks::default();
    mocks.queries.expect_events().times(1).returning(|_| Ok(vec![]));
    mocks.ledger.expect_apply_notification().never();

    let receipts = mocks.service().replay_since(at()).await.unwrap();

    assert!(receipts.is_empty());
}
