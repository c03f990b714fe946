//! `CONFIRM_BEFORE_CREDIT`: a crediting webhook is credited only once PayRam's API (a fake, real
//! HTTP on loopback) confirms a state and USD amount at least as advanced; meanwhile the event
//! is `waiting` and PayRam is asked again on the retry schedule.

use std::time::Duration;

use serde_json::Value;

use crate::{
    helpers::TestApp,
    reconcile::{FILLED_ANSWER, FakePayram, OPEN_ANSWER, REFERENCE},
};

/// A bound on a failure, not a synchronisation: the tests poll for what they expect.
const LIMIT: Duration = Duration::from_secs(30);

fn webhook(status: &str, usd: &str) -> Vec<u8> {
    format!(
        concat!(
            r#"{{"reference_id":"{}","status":"{}","customer_id":"cust_1001","#,
            r#""amount":"50.00","currency":"USDC","filled_amount":"{}","filled_amount_in_usd":"{}"}}"#
        ),
        REFERENCE, status, usd, usd
    )
    .into_bytes()
}

async fn confirming(fake: &FakePayram) -> TestApp {
    let base = fake.base();
    TestApp::spawn_with(&[
        ("CONFIRM_BEFORE_CREDIT", "true"),
        ("PAYRAM_BASE_URL", base.as_str()),
        ("RETRY_BASE_DELAY_MS", "100"),
        ("RETRY_MAX_DELAY_MS", "200"),
        ("RETRY_POLL_INTERVAL_MS", "20"),
    ])
    .await
}

async fn events(app: &TestApp, outcome: &str) -> Vec<Value> {
    let (code, body) = app.admin_get(&format!("/api/events?outcome={outcome}")).await;
    assert_eq!(code, 200, "{body}");
    body["events"].as_array().unwrap().clone()
}

/// Polls the balance until it is `expected` (bounded by [`LIMIT`]).
async fn balance_becomes(app: &TestApp, expected: &str) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    while app.customer_balance("cust_1001").await != expected {
        assert!(tokio::time::Instant::now() < deadline, "balance never {expected}:\n{}", app.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_credit_waits_until_payram_confirms_it_then_is_applied_once() {
    let fake = FakePayram::start().await;
    fake.answer(REFERENCE, 200, OPEN_ANSWER);
    let app = confirming(&fake).await;

    let (code, answer) = app.post_signed(&webhook("FILLED", "50.00")).await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!((&answer["outcome"], &answer["credited"]), (&"waiting".into(), &"0".into()));
    assert_eq!(app.customer_balance("cust_1001").await, "0");
    let waiting = events(&app, "waiting").await;
    assert_eq!(waiting.len(), 1);
    assert!(waiting[0]["detail"].as_str().unwrap().contains("PayRam"), "{}", waiting[0]);
    let (code, _) = app.admin_get(&format!("/api/payments/{REFERENCE}")).await;
    assert_eq!(code, 404, "nothing applied while waiting");

    // PayRam now agrees: the worker applies the waiting event in place and credits once.
    fake.answer(REFERENCE, 200, FILLED_ANSWER);
    balance_becomes(&app, "50.00").await;
    let applied = events(&app, "applied").await;
    assert_eq!(applied.len(), 1);
    assert_eq!(applied[0]["id"], waiting[0]["id"], "the same event, applied in place");
    assert!(events(&app, "waiting").await.is_empty());

    let (_, answer) = app.post_signed(&webhook("FILLED", "50.00")).await;
    assert_eq!(answer["outcome"], "duplicate");
    assert_eq!(app.customer_balance("cust_1001").await, "50.00");
}

#[tokio::test]
async fn while_payram_cannot_be_asked_the_credit_waits() {
    let fake = FakePayram::start().await;
    fake.answer(REFERENCE, 500, r#"{"error":{"code":"INTERNAL","message":"down"}}"#);
    let app = confirming(&fake).await;
    let (_, answer) = app.post_signed(&webhook("FILLED", "50.00")).await;
    assert_eq!(answer["outcome"], "waiting");
    // Asked again on the schedule while it fails.
    let deadline = tokio::time::Instant::now() + LIMIT;
    while fake.requests().len() < 3 {
        assert!(tokio::time::Instant::now() < deadline, "PayRam was not asked again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.customer_balance("cust_1001").await, "0");
    let waiting = events(&app, "waiting").await;
    assert!(waiting[0]["attempts"].as_u64().unwrap() >= 2, "{}", waiting[0]);

    fake.answer(REFERENCE, 200, FILLED_ANSWER);
    balance_becomes(&app, "50.00").await;
}

#[tokio::test]
async fn payrams_word_never_credits_more_than_the_webhook_said() {
    let fake = FakePayram::start().await;
    // PayRam says FILLED 50; the webhook says PARTIALLY_FILLED 20: only 20 is credited.
    fake.answer(REFERENCE, 200, FILLED_ANSWER);
    let app = confirming(&fake).await;
    let (_, answer) = app.post_signed(&webhook("PARTIALLY_FILLED", "20.00")).await;
    assert_eq!((&answer["outcome"], &answer["credited"]), (&"applied".into(), &"20.00".into()));
    assert_eq!(app.customer_balance("cust_1001").await, "20.00");
}

#[test]
fn serve_refuses_to_confirm_without_a_base_url() {
    let output = std::process::Command::new(crate::helpers::binary())
        .arg("serve")
        .env_clear()
        .env("PAYRAM_API_KEYS", "k")
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("DATABASE_URL", tempfile::tempdir().unwrap().path().join("x.db"))
        .env("CONFIRM_BEFORE_CREDIT", "true")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("PAYRAM_BASE_URL") && stderr.contains("CONFIRM_BEFORE_CREDIT"),
        "{stderr}"
    );
}
