//! Bodies that are too large or not JSON get clear errors and write nothing.

use crate::helpers::{TEST_KEY, TestApp, fixture, sign};

#[tokio::test]
async fn an_oversized_body_gets_413() {
    let app = TestApp::spawn_with(&[("MAX_BODY_BYTES", "1024")]).await;
    let padding = "x".repeat(2000);
    let body = format!(
        r#"{{"reference_id":"big","status":"FILLED","customer_id":"c","filled_amount_in_usd":"1","pad":"{padding}"}}"#
    );
    let (code, answer) = app.post_signed(body.as_bytes()).await;
    assert_eq!((code, answer), (413, serde_json::json!({"error": "payload_too_large"})));
    let (code, _) = app.admin_get("/api/payments/big").await;
    assert_eq!(code, 404);
    // A body within the limit is fine.
    let (code, _) = app.post_signed(&fixture("filled_strings.json")).await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn malformed_and_invalid_bodies_get_400_with_a_reason() {
    let app = TestApp::spawn().await;
    let (code, answer) = app.post_signed(b"{\"reference_id\":").await;
    assert_eq!((code, answer["error"].as_str()), (400, Some("malformed_json")));
    let body = br#"{"reference_id":"r-1","status":"FILLED","filled_amount_in_usd":"10"}"#;
    let (code, answer) = app.post_signed(body).await;
    assert_eq!((code, answer["error"].as_str()), (400, Some("invalid_payload")));
    assert!(answer["message"].as_str().unwrap().contains("customer_id"), "{answer}");
    let body = br#"{"reference_id":"r-2","status":"FILLED","customer_id":"c","filled_amount_in_usd":"-5"}"#;
    let (code, answer) = app.post_signed(body).await;
    assert_eq!((code, answer["error"].as_str()), (400, Some("invalid_payload")));
    assert_eq!(app.customer_balance("c").await, "0");
}

#[tokio::test]
async fn a_custom_webhook_path_is_served_and_the_default_is_not() {
    let app = TestApp::spawn_with(&[("WEBHOOK_PATH", "/hooks/payram")]).await;
    let body = fixture("filled_strings.json");
    let request = app
        .client
        .post(app.url("/hooks/payram"))
        .header("X-Payram-Signature", sign(TEST_KEY, &body))
        .body(body.clone());
    let (code, _) = app.send(request).await;
    assert_eq!(code, 200);
    let (code, _) = app.post_signed(&body).await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn credit_on_chooses_the_crediting_statuses() {
    let app = TestApp::spawn_with(&[("CREDIT_ON", "FILLED,OVER_FILLED")]).await;
    let (_, partial) = app.post_signed(&fixture("partially_filled_strings.json")).await;
    assert_eq!(partial["credited"], "0");
    let (_, filled) = app.post_signed(&fixture("filled_two_deposits_cumulative.json")).await;
    assert_eq!(filled["credited"], "50.00");
}
