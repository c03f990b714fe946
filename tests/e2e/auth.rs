//! Authentication over real HTTP: what is refused writes nothing and leaks nothing.

use crate::helpers::{ADMIN_TOKEN, OLD_KEY, TEST_KEY, TestApp, fixture, sign};

const FILLED: &str = "filled_strings.json";
const REFERENCE: &str = "c80f5363-0397-4761-aa1a-3155c3a21470";

/// Nothing was credited and no payment exists.
async fn assert_nothing_written(app: &TestApp) {
    let (code, answer) = app.admin_get(&format!("/api/payments/{REFERENCE}")).await;
    assert_eq!((code, answer), (404, serde_json::json!({"error": "not_found"})));
    assert_eq!(app.customer_balance("cust_2002").await, "0");
}

fn unauthorized() -> (u16, serde_json::Value) {
    (401, serde_json::json!({"error": "unauthorized"}))
}

#[tokio::test]
async fn a_wrong_key_is_refused_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let body = fixture(FILLED);
    let wrong_header =
        app.client.post(app.url("/webhook")).header("API-Key", "not-the-key").body(body.clone());
    assert_eq!(app.send(wrong_header).await, unauthorized());
    let wrong_signature = app
        .client
        .post(app.url("/webhook"))
        .header("X-Payram-Signature", sign("not-the-key", &body))
        .body(body.clone());
    assert_eq!(app.send(wrong_signature).await, unauthorized());
    assert_eq!(app.send(app.client.post(app.url("/webhook")).body(body)).await, unauthorized());
    assert_nothing_written(&app).await;
}

#[tokio::test]
async fn one_changed_byte_under_a_valid_signature_is_refused() {
    let app = TestApp::spawn().await;
    let body = fixture(FILLED);
    let signature = sign(TEST_KEY, &body);
    let tampered = String::from_utf8(body).unwrap().replace("12.00", "92.00");
    // The valid API-Key header does not rescue a body whose signature does not match.
    let request = app
        .client
        .post(app.url("/webhook"))
        .header("X-Payram-Signature", signature)
        .header("API-Key", TEST_KEY)
        .body(tampered);
    assert_eq!(app.send(request).await, unauthorized());
    assert_nothing_written(&app).await;
}

#[tokio::test]
async fn require_signature_refuses_the_header_alone() {
    let app = TestApp::spawn_with(&[("REQUIRE_SIGNATURE", "true")]).await;
    let body = fixture(FILLED);
    assert_eq!(app.post_legacy(&body).await, unauthorized());
    assert_nothing_written(&app).await;
    let (code, answer) = app.post_signed(&body).await;
    assert_eq!((code, answer["outcome"].as_str()), (200, Some("applied")));
}

#[tokio::test]
async fn every_configured_key_is_accepted() {
    let app = TestApp::spawn().await;
    let body = fixture(FILLED);
    let request = app
        .client
        .post(app.url("/webhook"))
        .header("X-Payram-Signature", sign(OLD_KEY, &body))
        .body(body);
    let (code, answer) = app.send(request).await;
    assert_eq!((code, answer["outcome"].as_str()), (200, Some("applied")));
}

#[tokio::test]
async fn the_admin_api_needs_its_token() {
    let app = TestApp::spawn().await;
    let path = app.url("/api/customers/cust_2002");
    assert_eq!(app.send(app.client.get(&path)).await, unauthorized());
    assert_eq!(app.send(app.client.get(&path).bearer_auth("wrong")).await, unauthorized());
    assert_eq!(app.send(app.client.get(&path).header("API-Key", TEST_KEY)).await, unauthorized());
    let (code, _) = app.send(app.client.get(app.url("/healthz"))).await;
    assert_eq!(code, 200, "health needs no token");
}

#[tokio::test]
async fn without_an_admin_token_the_admin_api_is_closed() {
    let app = TestApp::spawn_with(&[("ADMIN_TOKEN", "")]).await;
    let request = app.client.get(app.url("/api/customers/cust_2002")).bearer_auth("");
    assert_eq!(app.send(request).await, unauthorized());
}

#[tokio::test]
async fn secrets_never_reach_the_log() {
    let app = TestApp::spawn().await;
    let body = fixture(FILLED);
    let signature = sign(TEST_KEY, &body);
    app.post_signed(&body).await;
    app.post_legacy(b"{not json").await;
    app.send(app.client.post(app.url("/webhook")).header("API-Key", "wrong-secret-key").body(body))
        .await;
    app.admin_get("/api/customers/cust_2002").await;
    let log = app.log();
    assert!(log.contains("webhook"), "the log records deliveries: {log}");
    for secret in [TEST_KEY, OLD_KEY, ADMIN_TOKEN, "wrong-secret-key", &signature[7..]] {
        assert!(!log.contains(secret), "the log contains a secret ({secret})");
    }
}
