use actix_web::{
    http::{StatusCode, header},
    test::TestRequest,
};
use chrono::{TimeZone, Utc};
use serde_json::json;

use payram_domain::{Amount, AuthMethod, EventOutcome, ReferenceId};
use payram_ports::{
    EventFilter, EventRecord, MockPaymentUseCases, MockQueries, Origin, Receipt, RepositoryError,
    ServiceError,
};

use super::{ADMIN_TOKEN, Mocks, send};

fn with_token(req: TestRequest) -> TestRequest {
    req.insert_header((header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}")))
}

fn record(id: i64, raw_body: &[u8]) -> EventRecord {
    EventRecord {
        id,
        received_at: Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap(),
        origin: Origin::Replay(2),
        method: "GET".to_owned(),
        auth: AuthMethod::ApiKey { key_index: 1 },
        reference_id: Some("ref-1".to_owned()),
        payout_id: None,
        status: Some("FILLED".to_owned()),
        outcome: EventOutcome::Duplicate,
        credited_usd: Amount::ZERO,
        detail: None,
        raw_body: raw_body.to_vec(),
        attempts: 0,
        next_attempt_at: None,
    }
}

#[actix_web::test]
async fn events_are_listed_with_their_filters_and_raw_bodies() {
    let mut queries = MockQueries::new();
    let filter = EventFilter {
        outcome: Some(EventOutcome::Duplicate),
        reference_id: Some("ref-1".to_owned()),
        since: Some(Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap()),
        limit: 5,
        before: None,
        ..EventFilter::default()
    };
    queries
        .expect_events()
        .withf(move |given| *given == filter)
        .times(1)
        .returning(|_| Ok(vec![record(7, br#"{"a":1}"#)]));
    let uri = "/api/events?outcome=duplicate&reference_id=ref-1&since=2026-11-26T00:00:00Z&limit=5";

    let answer = send(Mocks::with_queries(queries), with_token(TestRequest::get().uri(uri))).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json,
        json!({"events": [{
            "id": 7,
            "received_at": "2026-11-26T12:00:00Z",
            "origin": "replay",
            "replay_of": 2,
            "method": "GET",
            "auth_method": "api_key",
            "key_index": 1,
            "reference_id": "ref-1",
            "payout_id": null,
            "status": "FILLED",
            "outcome": "duplicate",
            "credited_usd": "0",
            "detail": null,
            "attempts": 0,
            "next_attempt_at": null,
            "raw_body": "{\"a\":1}",
            "raw_body_base64": "eyJhIjoxfQ==",
        }], "next_cursor": null})
    );
}

#[actix_web::test]
async fn a_full_page_gives_the_cursor_of_the_next() {
    let mut queries = MockQueries::new();
    queries
        .expect_events()
        .withf(|given| given.limit == 1 && given.before.is_none())
        .times(1)
        .returning(|_| Ok(vec![record(7, b"{}")]));
    let answer = send(
        Mocks::with_queries(queries),
        with_token(TestRequest::get().uri("/api/events?limit=1")),
    )
    .await;
    let cursor = answer.json["next_cursor"].as_str().unwrap().to_owned();

    let mut queries = MockQueries::new();
    queries
        .expect_events()
        .withf(|given| given.limit == 1 && given.before == Some(7))
        .times(1)
        .returning(|_| Ok(vec![]));
    let uri = format!("/api/events?limit=1&cursor={cursor}");
    let answer = send(Mocks::with_queries(queries), with_token(TestRequest::get().uri(&uri))).await;
    assert_eq!(answer.json, json!({"events": [], "next_cursor": null}));

    let answer =
        send(Mocks::untouched(), with_token(TestRequest::get().uri("/api/events?cursor=%%%")))
            .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn listing_defaults_to_the_newest_hundred() {
    let mut queries = MockQueries::new();
    queries
        .expect_events()
        .withf(|given| *given == EventFilter { limit: 100, ..EventFilter::default() })
        .returning(|_| Ok(vec![]));

    let answer =
        send(Mocks::with_queries(queries), with_token(TestRequest::get().uri("/api/events"))).await;

    assert_eq!(
        (answer.status, answer.json),
        (StatusCode::OK, json!({"events": [], "next_cursor": null}))
    );
}

#[actix_web::test]
async fn bad_filters_are_400_without_a_lookup() {
    for query in ["outcome=bogus", "since=yesterday", "limit=0", "limit=10001", "limit=x"] {
        let uri = format!("/api/events?{query}");
        let answer = send(Mocks::untouched(), with_token(TestRequest::get().uri(&uri))).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(answer.json["error"], "bad_request", "{query}");
    }
}

#[actix_web::test]
async fn a_binary_body_is_given_in_base64_only() {
    let mut queries = MockQueries::new();
    queries.expect_event().withf(|id| *id == 9).returning(|id| Ok(Some(record(id, &[0xff, 0x00]))));

    let answer =
        send(Mocks::with_queries(queries), with_token(TestRequest::get().uri("/api/events/9")))
            .await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json["raw_body"], json!(null));
    assert_eq!(answer.json["raw_body_base64"], "/wA=");
}

#[actix_web::test]
async fn an_unknown_event_is_404() {
    let mut queries = MockQueries::new();
    queries.expect_event().returning(|_| Ok(None));
    let answer =
        send(Mocks::with_queries(queries), with_token(TestRequest::get().uri("/api/events/9")))
            .await;
    assert_eq!(
        (answer.status, answer.json),
        (StatusCode::NOT_FOUND, json!({"error": "not_found"}))
    );

    let answer =
        send(Mocks::untouched(), with_token(TestRequest::get().uri("/api/events/x"))).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_replay_answers_with_the_new_event_and_its_outcome() {
    let mut use_cases = MockPaymentUseCases::new();
    use_cases.expect_replay().withf(|id| *id == 3).times(1).returning(|_| {
        Ok(Some(Receipt {
            event_id: 12,
            outcome: EventOutcome::Duplicate,
            reference_id: Some(ReferenceId::parse("ref-1").unwrap()),
            payout_id: None,
            status: Some("FILLED".to_owned()),
            credited: Amount::ZERO,
            message: None,
        }))
    });

    let answer = send(
        Mocks::with_use_cases(use_cases),
        with_token(TestRequest::post().uri("/api/events/3/replay")),
    )
    .await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json,
        json!({
            "event_id": 12,
            "replay_of": 3,
            "outcome": "duplicate",
            "reference_id": "ref-1",
            "status": "FILLED",
            "credited": "0",
        })
    );
}

#[actix_web::test]
async fn replaying_an_unknown_event_is_404_and_storage_trouble_503() {
    let mut use_cases = MockPaymentUseCases::new();
    use_cases.expect_replay().returning(|_| Ok(None));
    let answer = send(
        Mocks::with_use_cases(use_cases),
        with_token(TestRequest::post().uri("/api/events/3/replay")),
    )
    .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);

    let mut use_cases = MockPaymentUseCases::new();
    use_cases.expect_replay().returning(|_| {
        Err(ServiceError::Repository(RepositoryError::Unavailable("locked".into())))
    });
    let answer = send(
        Mocks::with_use_cases(use_cases),
        with_token(TestRequest::post().uri("/api/events/4/replay")),
    )
    .await;
    assert_eq!(
        (answer.status, answer.json),
        (StatusCode::SERVICE_UNAVAILABLE, json!({"error": "storage_unavailable"}))
    );
}

#[actix_web::test]
async fn replay_and_events_need_the_admin_token() {
    for req in [
        TestRequest::get().uri("/api/events"),
        TestRequest::get().uri("/api/events/1"),
        TestRequest::post().uri("/api/events/1/replay"),
    ] {
        let answer = send(Mocks::untouched(), req).await;
        assert_eq!(
            (answer.status, answer.json),
            (StatusCode::UNAUTHORIZED, json!({"error": "unauthorized"}))
        );
    }
    let answer =
        send(Mocks::untouched(), with_token(TestRequest::get().uri("/api/events/1/replay"))).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
}
