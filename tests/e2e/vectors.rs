//! Every sample body PayRam sends, as the first delivery to an empty database, signed and with
//! the legacy header alone (expectations from `fixtures/vectors/README.md`).

use serde_json::Value;

use crate::helpers::{TestApp, fixture};

/// (file, normalised status, HTTP status, outcome or error, USD credited)
const EXPECTED: &[(&str, &str, u16, &str, &str)] = &[
    ("canceled_us_spelling.json", "CANCELLED", 200, "applied", "0"),
    ("cancelled_uk_spelling.json", "CANCELLED", 200, "applied", "0"),
    ("docs_sample_open_mixed_types.json", "OPEN", 200, "applied", "0"),
    ("filled_btc.json", "FILLED", 200, "applied", "82.00"),
    ("filled_invoice_id_equals_reference.json", "FILLED", 200, "applied", "1.00"),
    ("filled_mcp_yaml_example.json", "FILLED", 200, "applied", "49.99"),
    ("filled_numbers.json", "FILLED", 200, "applied", "49.99"),
    ("filled_payment_state_docs_fragment.json", "FILLED", 400, "invalid_payload", "0"),
    ("filled_payment_state_full.json", "FILLED", 200, "applied", "120.50"),
    ("filled_strings.json", "FILLED", 200, "applied", "12.00"),
    ("filled_two_deposits_cumulative.json", "FILLED", 200, "applied", "50.00"),
    ("late_payment_after_cancel_filled.json", "FILLED", 200, "applied", "40.00"),
    ("mock_template_cancelled_numbers.json", "CANCELLED", 200, "applied", "0"),
    ("open_confirming_progress.json", "OPEN", 200, "applied", "0"),
    ("open_no_deposit.json", "OPEN", 200, "applied", "0"),
    ("over_filled_strings.json", "OVER_FILLED", 200, "applied", "30.00"),
    ("partially_filled_numbers.json", "PARTIALLY_FILLED", 200, "applied", "49.99"),
    ("partially_filled_strings.json", "PARTIALLY_FILLED", 200, "applied", "20.00"),
    ("payout_cancelled.json", "CANCELLED", 200, "payout", "0"),
    ("payout_initiated.json", "INITIATED", 200, "payout", "0"),
    ("payout_pending_approval.json", "PENDING-APPROVAL", 200, "payout", "0"),
    ("payout_processed.json", "PROCESSED", 200, "payout", "0"),
    ("undefined_status.json", "UNDEFINED", 200, "ignored", "0"),
    ("unknown_status_closed.json", "CLOSED", 200, "ignored", "0"),
    ("negative/docs_sample_trailing_comma.json", "-", 400, "malformed_json", "0"),
    ("negative/empty_body.json", "-", 400, "malformed_json", "0"),
    ("negative/empty_object.json", "-", 400, "invalid_payload", "0"),
    ("negative/invented_event_style.json", "-", 400, "invalid_payload", "0"),
];

#[derive(Clone, Copy, Debug)]
enum Auth {
    Signed,
    Legacy,
}

async fn check_vector(
    auth: Auth,
    (file, status, code, outcome, credited): (&str, &str, u16, &str, &str),
) {
    let app = TestApp::spawn().await;
    let body = fixture(file);
    let (got_code, answer) = match auth {
        Auth::Signed => app.post_signed(&body).await,
        Auth::Legacy => app.post_legacy(&body).await,
    };
    let context = format!("{file} ({auth:?}): {answer}");
    assert_eq!(got_code, code, "{context}");
    if code == 400 {
        assert_eq!(answer["error"], outcome, "{context}");
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()), "{context}");
        return;
    }
    assert_eq!(answer["outcome"], outcome, "{context}");
    assert_eq!(answer["status"], status, "{context}");
    assert_eq!(answer["credited"], credited, "{context}");
    if outcome != "applied" {
        return;
    }
    // The admin API shows the payment with exactly what was credited.
    let body: Value = serde_json::from_slice(&body).unwrap();
    let reference = body["reference_id"].as_str().unwrap();
    let (found, payment) = app.admin_get(&format!("/api/payments/{reference}")).await;
    assert_eq!(found, 200, "{context}");
    assert_eq!(payment["status"], status, "{context}");
    assert_eq!(payment["credited_usd"], credited, "{context}");
    assert_eq!(payment["events"].as_array().unwrap().len(), 1, "{context}");
    let customer = body["customer_id"].as_str().unwrap();
    assert_eq!(app.customer_balance(customer).await, credited, "{context}");
}

#[tokio::test]
async fn every_vector_signed_gets_its_documented_answer() {
    for expected in EXPECTED {
        check_vector(Auth::Signed, *expected).await;
    }
}

#[tokio::test]
async fn every_vector_with_the_legacy_header_gets_its_documented_answer() {
    for expected in EXPECTED {
        check_vector(Auth::Legacy, *expected).await;
    }
}

#[tokio::test]
async fn every_vector_signature_in_the_table_is_accepted_as_is() {
    // The signatures PayRam computed (signatures.tsv), not ours, authenticate the bodies.
    let app = TestApp::spawn().await;
    let table = String::from_utf8(fixture("signatures.tsv")).unwrap();
    let rows: Vec<(&str, &str)> = table
        .lines()
        .filter(|line| !line.starts_with('#') && !line.starts_with("file\t"))
        .filter_map(|line| line.split_once('\t'))
        .collect();
    assert_eq!(rows.len(), EXPECTED.len() + 1, "every vector has a signature");
    for (file, signature) in rows {
        let response = app
            .client
            .post(app.url("/webhook"))
            .header("X-Payram-Signature", signature)
            .body(fixture(file))
            .send()
            .await
            .unwrap();
        assert_ne!(response.status().as_u16(), 401, "{file}");
    }
}

#[tokio::test]
async fn the_dashboard_test_ping_is_answered_without_credentials() {
    let app = TestApp::spawn().await;
    for request in [app.client.post(app.url("/webhook")), app.client.get(app.url("/webhook"))] {
        let (code, answer) = app
            .send(request.header("X-Webhook-Test", "true").body(fixture("payout_ping.json")))
            .await;
        assert_eq!((code, answer), (200, serde_json::json!({"outcome": "ping"})));
    }
}
