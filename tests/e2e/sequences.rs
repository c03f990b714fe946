//! Sequences of one payment's notifications: the total credited is right in any order.

use crate::helpers::{TestApp, fixture};

const SEQUENCE_3F1C: [&str; 5] = [
    "open_no_deposit.json",
    "open_confirming_progress.json",
    "partially_filled_strings.json",
    "filled_two_deposits_cumulative.json",
    "unknown_status_closed.json",
];

async fn deliver(app: &TestApp, files: &[&str]) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    for file in files {
        let (code, answer) = app.post_signed(&fixture(file)).await;
        assert_eq!(code, 200, "{file}: {answer}");
        seen.push((
            answer["outcome"].as_str().unwrap().to_owned(),
            answer["credited"].as_str().unwrap().to_owned(),
        ));
    }
    seen
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(o, c)| ((*o).to_owned(), (*c).to_owned())).collect()
}

#[tokio::test]
async fn partial_then_filled_credits_the_difference() {
    let app = TestApp::spawn().await;
    let seen = deliver(&app, &SEQUENCE_3F1C).await;
    assert_eq!(
        seen,
        pairs(&[
            ("applied", "0"),
            // Still OPEN with no USD received: the same progress, so a duplicate.
            ("duplicate", "0"),
            ("applied", "20.00"),
            ("applied", "30.00"),
            ("ignored", "0"),
        ])
    );
    assert_eq!(app.customer_balance("cust_1001").await, "50.00");
    let (_, payment) = app.admin_get("/api/payments/3f1c1e7a-5b2d-4c8e-9a61-0d2f7b9e4c11").await;
    assert_eq!(payment["status"], "FILLED");
    assert_eq!(payment["credited_usd"], "50.00");
    assert_eq!(payment["filled_amount_in_usd"], "50.00");
    let outcomes: Vec<&str> = payment["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["applied", "duplicate", "applied", "applied", "ignored"]);
}

#[tokio::test]
async fn the_same_filled_notification_three_times_credits_once() {
    let app = TestApp::spawn().await;
    let file = "filled_strings.json";
    let seen = deliver(&app, &[file, file, file]).await;
    assert_eq!(seen, pairs(&[("applied", "12.00"), ("duplicate", "0"), ("duplicate", "0")]));
    assert_eq!(app.customer_balance("cust_2002").await, "12.00");
    let (_, customer) = app.admin_get("/api/customers/cust_2002").await;
    assert_eq!(customer["credits"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn out_of_order_deliveries_credit_the_same_total() {
    for order in [[4, 3, 2, 1, 0], [2, 0, 3, 1, 4], [3, 2, 2, 4, 0]] {
        let app = TestApp::spawn().await;
        let files: Vec<&str> = order.iter().map(|i| SEQUENCE_3F1C[*i]).collect();
        deliver(&app, &files).await;
        // Deliver everything once more: late retries of every state.
        deliver(&app, &SEQUENCE_3F1C).await;
        assert_eq!(app.customer_balance("cust_1001").await, "50.00", "order {order:?}");
        let (_, payment) =
            app.admin_get("/api/payments/3f1c1e7a-5b2d-4c8e-9a61-0d2f7b9e4c11").await;
        assert_eq!(payment["status"], "FILLED", "order {order:?}");
    }
}

#[tokio::test]
async fn a_filled_then_an_older_partial_is_stale() {
    let app = TestApp::spawn().await;
    let seen =
        deliver(&app, &["filled_two_deposits_cumulative.json", "partially_filled_strings.json"])
            .await;
    assert_eq!(seen, pairs(&[("applied", "50.00"), ("stale", "0")]));
}

#[tokio::test]
async fn money_after_cancel_is_credited_and_marked_late() {
    let app = TestApp::spawn().await;
    let seen =
        deliver(&app, &["cancelled_uk_spelling.json", "late_payment_after_cancel_filled.json"])
            .await;
    assert_eq!(seen, pairs(&[("applied", "0"), ("applied", "40.00")]));
    let (_, payment) = app.admin_get("/api/payments/9b7e2c44-1d3a-4f0e-8c2b-6a5d4e3f2a10").await;
    assert_eq!(payment["late_payment"], true);
    assert_eq!(payment["status"], "FILLED");
    assert_eq!(app.customer_balance("cust_4004").await, "40.00");
}

#[tokio::test]
async fn a_cancel_never_credits_and_never_takes_back() {
    let app = TestApp::spawn().await;
    let seen =
        deliver(&app, &["partially_filled_numbers.json", "mock_template_cancelled_numbers.json"])
            .await;
    assert_eq!(seen, pairs(&[("applied", "49.99"), ("applied", "0")]));
    assert_eq!(app.customer_balance("cust_123").await, "49.99");
    let (_, payment) = app.admin_get("/api/payments/ref_demo_001").await;
    assert_eq!(
        (payment["status"].as_str(), payment["late_payment"].as_bool()),
        (Some("CANCELLED"), Some(false))
    );
}

#[tokio::test]
async fn a_partial_overtaken_by_its_cancel_is_still_credited() {
    let app = TestApp::spawn().await;
    let seen =
        deliver(&app, &["mock_template_cancelled_numbers.json", "partially_filled_numbers.json"])
            .await;
    assert_eq!(seen, pairs(&[("applied", "0"), ("applied", "49.99")]));
    assert_eq!(app.customer_balance("cust_123").await, "49.99");
}

#[tokio::test]
async fn money_keeps_every_digit_end_to_end() {
    let app = TestApp::spawn().await;
    let body = br#"{"reference_id":"exact-1","status":"FILLED","customer_id":"c-exact","filled_amount_in_usd":49.999999999999998,"filled_amount":"0.000000000000000001","currency":"ETH"}"#;
    let (code, answer) = app.post_signed(body).await;
    assert_eq!((code, answer["credited"].as_str()), (200, Some("49.999999999999998")));
    let (_, payment) = app.admin_get("/api/payments/exact-1").await;
    assert_eq!(payment["filled_amount"], "0.000000000000000001");
    assert_eq!(app.customer_balance("c-exact").await, "49.999999999999998");
}

#[tokio::test]
async fn a_get_with_a_json_body_is_a_delivery_too() {
    // Older PayRam documentation: "PayRam will send a GET request to this endpoint".
    let app = TestApp::spawn().await;
    let body = fixture("filled_strings.json");
    let (code, answer) = app
        .send(
            app.client
                .get(app.url("/webhook"))
                .header("API-Key", crate::helpers::TEST_KEY)
                .body(body),
        )
        .await;
    assert_eq!((code, answer["outcome"].as_str()), (200, Some("applied")));
}
