//! The outbox routes: listed by state, replayed, behind the admin token.

use std::sync::Arc;

use actix_web::{
    App,
    http::{StatusCode, header},
    test::{self, TestRequest},
};
use chrono::{TimeZone, Utc};
use mockall::predicate::eq;
use serde_json::json;

use payram_domain::{Amount, CustomerId, PaymentStatus, ReferenceId};
use payram_ports::{
    MockOutboxUseCases, MockQueries, OutboxEntry, OutboxState, RecordedCredit, RepositoryError,
};

use super::{ADMIN_TOKEN, Answer, Mocks, config, read, untouched_outbox, untouched_queries};
use crate::configure_outbox;

fn entry(id: i64, state: OutboxState) -> OutboxEntry {
    let at = Utc.with_ymd_and_hms(2026, 11, 27, 1, 2, 3).unwrap();
    OutboxEntry {
        id,
        credit: RecordedCredit {
            id: 42,
            reference_id: ReferenceId::parse("ref-1").unwrap(),
            customer_id: CustomerId::parse("cust-1").unwrap(),
            amount_usd: Amount::parse("49.999999999999998").unwrap(),
            credited_total_usd: Amount::parse("100.00").unwrap(),
            status: PaymentStatus::Filled,
            event_id: 7,
            created_at: at,
        },
        state,
        attempts: 2,
        next_attempt_at: (state == OutboxState::Pending).then_some(at),
        last_error: Some("the receiver answered 500".to_owned()),
        created_at: at,
        delivered_at: None,
    }
}

/// Sends `req` to the app with the outbox routes: entries are listed by `queries`, delivered
/// by `outbox`; no payment use case may be called.
async fn send(queries: MockQueries, outbox: MockOutboxUseCases, req: TestRequest) -> Answer {
    let app = test::init_service(
        App::new()
            .configure(Mocks::with_queries(queries).configure(config()))
            .configure(configure_outbox(Arc::new(outbox))),
    )
    .await;
    read(test::call_service(&app, req.to_request()).await).await
}

fn with_token(req: TestRequest) -> TestRequest {
    req.insert_header((header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}")))
}

#[actix_web::test]
async fn entries_are_listed_by_state_with_their_credit() {
    let mut queries = MockQueries::new();
    queries
        .expect_outbox()
        .with(eq(Some(OutboxState::Pending)), eq(25))
        .times(1)
        .returning(|_, _| Ok(vec![entry(3, OutboxState::Pending)]));
    let answer = send(
        queries,
        untouched_outbox(),
        with_token(TestRequest::get().uri("/api/outbox?state=pending&limit=25")),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json,
        json!({"outbox": [{
            "id": 3,
            "webhook_id": "credit_42",
            "state": "pending",
            "attempts": 2,
            "next_attempt_at": "2026-11-27T01:02:03Z",
            "last_error": "the receiver answered 500",
            "created_at": "2026-11-27T01:02:03Z",
            "delivered_at": null,
            "credit_id": 42,
            "customer_id": "cust-1",
            "reference_id": "ref-1",
            "amount_usd": "49.999999999999998",
            "credited_total_usd": "100.00",
            "status": "FILLED",
        }]})
    );
}

#[actix_web::test]
async fn without_a_state_every_entry_is_listed() {
    let mut queries = MockQueries::new();
    queries.expect_outbox().with(eq(None), eq(100)).times(1).returning(|_, _| Ok(vec![]));
    let answer =
        send(queries, untouched_outbox(), with_token(TestRequest::get().uri("/api/outbox"))).await;
    assert_eq!((answer.status, answer.json), (StatusCode::OK, json!({"outbox": []})));
}

#[actix_web::test]
async fn an_unknown_state_or_limit_is_400() {
    for uri in ["/api/outbox?state=sent", "/api/outbox?limit=0", "/api/outbox?limit=x"] {
        let answer =
            send(untouched_queries(), untouched_outbox(), with_token(TestRequest::get().uri(uri)))
                .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(answer.json["error"], "bad_request", "{uri}");
    }
}

#[actix_web::test]
async fn the_outbox_needs_the_admin_token() {
    for req in [
        TestRequest::get().uri("/api/outbox"),
        TestRequest::post().uri("/api/outbox/3/replay"),
        TestRequest::get()
            .uri("/api/outbox")
            .insert_header((header::AUTHORIZATION, "Bearer wrong")),
    ] {
        let answer = send(untouched_queries(), untouched_outbox(), req).await;
        assert_eq!(
            (answer.status, answer.json),
            (StatusCode::UNAUTHORIZED, json!({"error": "unauthorized"}))
        );
    }
}

#[actix_web::test]
async fn a_replay_answers_the_entry_after_its_attempt() {
    let mut outbox = MockOutboxUseCases::new();
    outbox
        .expect_replay()
        .with(eq(3))
        .times(1)
        .returning(|id| Ok(Some(entry(id, OutboxState::Delivered))));
    let answer = send(
        untouched_queries(),
        outbox,
        with_token(TestRequest::post().uri("/api/outbox/3/replay")),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        (answer.json["id"].clone(), answer.json["state"].clone()),
        (json!(3), json!("delivered"))
    );
}

#[actix_web::test]
async fn replaying_an_unknown_entry_is_404() {
    for uri in ["/api/outbox/9/replay", "/api/outbox/nine/replay"] {
        let mut outbox = MockOutboxUseCases::new();
        outbox.expect_replay().returning(|_| Ok(None));
        let answer =
            send(untouched_queries(), outbox, with_token(TestRequest::post().uri(uri))).await;
        assert_eq!(
            (answer.status, answer.json),
            (StatusCode::NOT_FOUND, json!({"error": "not_found"}))
        );
    }
}

#[actix_web::test]
async fn storage_down_is_503() {
    let mut queries = MockQueries::new();
    queries
        .expect_outbox()
        .returning(|_, _| Err(RepositoryError::Unavailable("database is locked".into())));
    let answer =
        send(queries, untouched_outbox(), with_token(TestRequest::get().uri("/api/outbox"))).await;
    assert_eq!(
        (answer.status, answer.json),
        (StatusCode::SERVICE_UNAVAILABLE, json!({"error": "storage_unavailable"}))
    );
}

#[actix_web::test]
async fn without_forwarding_the_outbox_paths_are_404() {
    let app =
        test::init_service(App::new().configure(Mocks::untouched().configure(config()))).await;
    let req = with_token(TestRequest::get().uri("/api/outbox")).to_request();
    let answer = read(test::call_service(&app, req).await).await;
    assert_eq!(
        (answer.status, answer.json),
        (StatusCode::NOT_FOUND, json!({"error": "not_found"}))
    );
}
