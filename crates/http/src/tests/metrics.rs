//! `GET /metrics`: webhooks counted by outcome and authentication, latency, storage errors,
//! and the database figures read at scrape time.

use std::sync::{Arc, atomic::Ordering};

use actix_web::{
    App,
    http::{StatusCode, header},
    test::{self, TestRequest},
};
use chrono::Utc;
use serde_json::{Value, json};

use payram_domain::{Amount, EventOutcome, ReferenceId};
use payram_ports::{
    MockPaymentUseCases, MockQueries, Receipt, RepositoryError, ServiceError, Stats,
};
use payram_protocol::sign;

use super::{KEY, Mocks, config};
use crate::{Metrics, Readiness, configure_metrics, configure_readiness};

fn stats() -> Stats {
    Stats {
        credits: 3,
        credited_usd: payram_domain::Total::parse("149.999999999999998").unwrap(),
        failed_events: 1,
        dead_events: 2,
        outbox_pending: 4,
        outbox_dead: 0,
        oldest_pending_outbox: Some(Utc::now() - chrono::Duration::seconds(90)),
        reconciliation_corrections: 5,
    }
}

/// A core that answers the deliveries of [`scrape`], and a store whose figures are `stats`
/// (`Err`: the database does not answer).
fn mocks(stats: Result<Stats, ()>) -> Mocks {
    let mut use_cases = MockPaymentUseCases::new();
    let mut calls = 0;
    use_cases.expect_receive().returning(move |_| {
        calls += 1;
        if calls == 3 {
            return Err(ServiceError::Repository(RepositoryError::Unavailable("locked".into())));
        }
        Ok(Receipt {
            event_id: 1,
            outcome: if calls == 1 { EventOutcome::Applied } else { EventOutcome::Duplicate },
            reference_id: Some(ReferenceId::parse("ref-1").unwrap()),
            payout_id: None,
            status: Some("FILLED".to_owned()),
            credited: Amount::ZERO,
            message: None,
        })
    });
    let mut queries = MockQueries::new();
    let answers = stats.is_ok();
    queries.expect_stats().returning(move || {
        stats.clone().map_err(|()| RepositoryError::Unavailable("database is locked".into()))
    });
    queries.expect_ping().returning(move || {
        if answers {
            Ok(())
        } else {
            Err(RepositoryError::Unavailable("database is locked".into()))
        }
    });
    Mocks { use_cases, queries }
}

/// Sends three signed deliveries (applied, duplicate, storage down), one with a wrong key, one
/// test ping, then scrapes.
async fn scrape(mocks: Mocks) -> (StatusCode, String, String) {
    let app = test::init_service(
        App::new()
            .configure(mocks.configure(config()))
            .configure(configure_metrics(Arc::new(Metrics::new()))),
    )
    .await;
    let body = r#"{"reference_id":"ref-1","status":"FILLED"}"#;
    for _ in 0..3 {
        let req = TestRequest::post()
            .uri("/webhook")
            .insert_header(("X-Payram-Signature", sign(KEY.as_bytes(), body.as_bytes())))
            .set_payload(body);
        test::call_service(&app, req.to_request()).await;
    }
    let req =
        TestRequest::post().uri("/webhook").insert_header(("API-Key", "wrong")).set_payload(body);
    test::call_service(&app, req.to_request()).await;
    let req = TestRequest::post()
        .uri("/webhook")
        .insert_header(("X-Webhook-Test", "true"))
        .set_payload(r#"{"event":"ping"}"#);
    test::call_service(&app, req.to_request()).await;

    let res = test::call_service(&app, TestRequest::get().uri("/metrics").to_request()).await;
    let status = res.status();
    let content_type =
        res.headers().get(header::CONTENT_TYPE).unwrap().to_str().unwrap().to_owned();
    let text = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    (status, content_type, text)
}

fn has(text: &str, line: &str) {
    assert!(text.lines().any(|l| l == line), "no line {line:?} in:\n{text}");
}

#[actix_web::test]
async fn webhooks_are_counted_by_outcome_and_authentication_with_their_latency() {
    let (status, content_type, text) = scrape(mocks(Ok(stats()))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    has(&text, r#"payram_webhooks_total{outcome="applied"} 1"#);
    has(&text, r#"payram_webhooks_total{outcome="duplicate"} 1"#);
    has(&text, r#"payram_webhooks_total{outcome="storage_unavailable"} 1"#);
    has(&text, r#"payram_webhooks_total{outcome="unauthorized"} 1"#);
    has(&text, r#"payram_webhooks_total{outcome="ping"} 1"#);
    has(&text, r#"payram_webhook_auth_total{result="signature"} 3"#);
    has(&text, r#"payram_webhook_auth_total{result="bad_api_key"} 1"#);
    has(&text, r#"payram_webhook_auth_total{result="unsigned_ping"} 1"#);
    has(&text, "payram_webhook_duration_seconds_count 5");
    has(&text, "payram_storage_errors_total 1");
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[actix_web::test]
async fn database_figures_are_read_at_scrape_time_and_money_is_exact() {
    let (_, _, text) = scrape(mocks(Ok(stats()))).await;
    has(&text, "payram_database_up 1");
    has(&text, "payram_credits 3");
    has(&text, "payram_credited_usd 149.999999999999998");
    has(&text, "payram_failed_events 1");
    has(&text, "payram_dead_events 2");
    has(&text, "payram_outbox_pending 4");
    has(&text, "payram_outbox_dead 0");
    has(&text, "payram_reconciliation_corrections 5");
    let age = text
        .lines()
        .find_map(|line| line.strip_prefix("payram_outbox_oldest_pending_age_seconds "))
        .unwrap();
    let age: i64 = age.parse().unwrap();
    assert!((90..120).contains(&age), "{age}");
}

#[actix_web::test]
async fn a_database_that_does_not_answer_is_reported_not_fatal() {
    let (status, _, text) = scrape(mocks(Err(()))).await;
    assert_eq!(status, StatusCode::OK);
    has(&text, "payram_database_up 0");
    assert!(!text.contains("payram_credits "), "{text}");
    has(&text, r#"payram_webhooks_total{outcome="applied"} 1"#);
}

#[actix_web::test]
async fn without_metrics_registered_the_webhook_still_answers_and_metrics_is_404() {
    let app =
        test::init_service(App::new().configure(mocks(Ok(stats())).configure(config()))).await;
    let res = test::call_service(&app, TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

async fn readyz(mocks: Mocks, readiness: Readiness) -> (StatusCode, Value) {
    let app = test::init_service(
        App::new().configure(mocks.configure(config())).configure(configure_readiness(readiness)),
    )
    .await;
    let res = test::call_service(&app, TestRequest::get().uri("/readyz").to_request()).await;
    let status = res.status();
    (status, serde_json::from_slice(&test::read_body(res).await).unwrap())
}

#[actix_web::test]
async fn ready_when_the_database_answers_and_every_worker_runs() {
    let mut readiness = Readiness::default();
    let retry = readiness.worker("retry");
    let _outbox = readiness.worker("outbox");
    let (status, body) = readyz(mocks(Ok(stats())), readiness.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"status": "ready", "database": "ok", "workers": {"outbox": "running", "retry": "running"}})
    );

    retry.store(false, Ordering::Release);
    let (status, body) = readyz(mocks(Ok(stats())), readiness).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["workers"]["retry"], "stopped");
    assert_eq!(body["status"], "not_ready");
}

#[actix_web::test]
async fn not_ready_while_the_database_does_not_answer() {
    let (status, body) = readyz(mocks(Err(())), Readiness::default()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["database"], "unavailable");
}

#[actix_web::test]
async fn readiness_pings_the_database_and_reads_no_figures() {
    let mut queries = MockQueries::new();
    queries.expect_stats().never();
    queries.expect_ping().times(1).returning(|| Ok(()));
    let (status, body) = readyz(Mocks::with_queries(queries), Readiness::default()).await;
    assert_eq!((status, &body["database"]), (StatusCode::OK, &json!("ok")));
}
