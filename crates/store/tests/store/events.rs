//! The event log: listing with filters, one event with its raw body, replay origins.

use chrono::Duration;

use payram_domain::EventOutcome;
use payram_ports::{EventFilter, EventNote, Ledger, NewEvent, Origin, Queries};

use crate::helpers::{TestDb, at, event, notification};

fn at_offset(event: NewEvent, seconds: i64) -> NewEvent {
    NewEvent { received_at: event.received_at + Duration::seconds(seconds), ..event }
}

fn all() -> EventFilter {
    EventFilter { limit: EventFilter::DEFAULT_LIMIT, ..EventFilter::default() }
}

#[tokio::test]
async fn events_are_listed_newest_first_and_filtered() {
    let (_db, repo) = TestDb::migrated();
    let first = repo
        .apply_notification(at_offset(event(b"a"), 0), notification("r-1", "FILLED", Some("5")))
        .await
        .unwrap();
    repo.apply_notification(at_offset(event(b"b"), 10), notification("r-1", "FILLED", Some("5")))
        .await
        .unwrap();
    repo.record_event(
        at_offset(event(b"{"), 20),
        EventNote { detail: Some("eof".into()), ..EventNote::new(EventOutcome::MalformedJson) },
    )
    .await
    .unwrap();

    let listed = repo.events(all()).await.unwrap();
    let bodies: Vec<&[u8]> = listed.iter().map(|e| e.raw_body.as_slice()).collect();
    assert_eq!(bodies, [b"{".as_slice(), b"b", b"a"]);

    let applied = EventFilter { outcome: Some(EventOutcome::Applied), ..all() };
    let listed = repo.events(applied).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, first.event_id);
    assert_eq!(listed[0].credited_usd.to_string(), "5");

    let by_reference = EventFilter { reference_id: Some("r-1".into()), ..all() };
    assert_eq!(repo.events(by_reference).await.unwrap().len(), 2);

    let since = EventFilter { since: Some(at("2026-03-04T05:06:17Z")), ..all() };
    let listed = repo.events(since).await.unwrap();
    assert_eq!(listed.len(), 2, "received at 05:06:17.12 and 05:06:27.12");

    let limited = EventFilter { limit: 1, ..all() };
    assert_eq!(repo.events(limited).await.unwrap()[0].raw_body, b"{");
}

#[tokio::test]
async fn one_event_comes_back_whole() {
    let (_db, repo) = TestDb::migrated();
    let body = [0xff, 0x00, b'{'];
    let id = repo
        .record_event(
            event(&body),
            EventNote {
                detail: Some("not utf-8".into()),
                ..EventNote::new(EventOutcome::MalformedJson)
            },
        )
        .await
        .unwrap();

    let record = repo.event(id).await.unwrap().unwrap();

    assert_eq!(record.raw_body, body);
    assert_eq!(record.origin, Origin::Webhook);
    assert_eq!(record.outcome, EventOutcome::MalformedJson);
    assert_eq!(record.detail.as_deref(), Some("not utf-8"));
    assert_eq!(record.method, "POST");
    assert_eq!(record.auth, event(b"").auth);
    assert_eq!(repo.event(id + 1).await.unwrap(), None);
}

#[tokio::test]
async fn a_replay_is_a_new_event_pointing_at_its_original() {
    let (_db, repo) = TestDb::migrated();
    let original = repo
        .apply_notification(event(b"x"), notification("r-2", "FILLED", Some("7")))
        .await
        .unwrap();
    let replay = NewEvent { origin: Origin::Replay(original.event_id), ..event(b"x") };
    let replayed =
        repo.apply_notification(replay, notification("r-2", "FILLED", Some("7"))).await.unwrap();

    let record = repo.event(replayed.event_id).await.unwrap().unwrap();
    assert_eq!(record.origin, Origin::Replay(original.event_id));
    assert_eq!(record.outcome, EventOutcome::Duplicate);
}
