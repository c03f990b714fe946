//! Bad input from an authenticated sender, and requests that try to confuse authentication,
//! against the real binary. Each case checks the answer, that nothing is stored that should
//! not be (through the admin API), that nobody is credited, and that a normal signed webhook is
//! still served afterwards.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TEST_KEY, TestApp, fixture, sign};

/// The customer every body below names.
const CUSTOMER: &str = "sec-cust";

fn filled(reference: &str, usd: &str) -> Vec<u8> {
    format!(
        r#"{{"reference_id":"{reference}","status":"FILLED","customer_id":"{CUSTOMER}","currency":"USDC","filled_amount_in_usd":{usd}}}"#
    )
    .into_bytes()
}

/// The outcomes of every recorded event, oldest first.
async fn recorded(app: &TestApp) -> Vec<String> {
    let (code, listed) = app.admin_get("/api/events").await;
    assert_eq!(code, 200, "{listed}");
    let mut outcomes: Vec<(i64, String)> = listed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["id"].as_i64().unwrap(), e["outcome"].as_str().unwrap().to_owned()))
        .collect();
    outcomes.sort();
    outcomes.into_iter().map(|(_, outcome)| outcome).collect()
}

/// No payment `reference` and no credit to the customer.
async fn assert_nobody_credited(app: &TestApp, references: &[&str]) {
    for reference in references {
        let (code, _) = app.admin_get(&format!("/api/payments/{}", encode(reference))).await;
        assert_eq!(code, 404, "payment {reference:?} exists");
    }
    assert_eq!(app.customer_balance(CUSTOMER).await, "0");
    let (code, credits) = app.admin_get("/api/credits").await;
    assert_eq!(code, 200, "{credits}");
    assert_eq!(credits["credits"], json!([]), "no credit at all");
}

/// A normal signed webhook is still applied and credited, and the readers still answer.
async fn assert_still_serving(app: &TestApp) {
    let (code, answer) = app.post_signed(&fixture("filled_strings.json")).await;
    assert_eq!((code, &answer["outcome"]), (200, &json!("applied")), "{answer}");
    assert_eq!(app.customer_balance("cust_2002").await, "12.00");
    let readyz = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(readyz.status(), 200);
    let (code, customers) = app.admin_get("/api/customers").await;
    assert_eq!(code, 200, "{customers}");
}

/// `{"error": code, "message": ...}` with a message containing `part`.
fn assert_refused(answer: &(u16, Value), status: u16, code: &str, part: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"], code, "{}", answer.1);
    let message = answer.1["message"].as_str().unwrap_or_default();
    assert!(message.contains(part), "{message:?} does not say {part:?}");
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn metrics(app: &TestApp) -> String {
    app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap()
}

// --- 1. amounts bounded, sums that cannot overflow ---

#[tokio::test]
async fn an_amount_beyond_the_bound_is_invalid_payload_and_cannot_break_the_sums() {
    let app = TestApp::spawn().await;
    for (reference, usd) in [
        ("sec-huge-1", r#""79228162514264337593543950335""#),
        ("sec-huge-2", "79228162514264337593543950335"),
        ("sec-huge-3", r#""1000000000000000""#),
        ("sec-huge-4", r#""0.0000000000000000001""#),
    ] {
        let answer = app.post_signed(&filled(reference, usd)).await;
        assert_refused(&answer, 400, "invalid_payload", "filled_amount_in_usd: amount");
    }
    assert_eq!(recorded(&app).await, ["invalid_payload"; 4], "recorded, as refused");
    assert_nobody_credited(&app, &["sec-huge-1", "sec-huge-2", "sec-huge-3", "sec-huge-4"]).await;
    assert!(metrics(&app).await.lines().any(|l| l == "payram_credited_usd 0"));
    assert_still_serving(&app).await;
}

#[tokio::test]
async fn the_largest_amounts_sum_exactly_in_the_balance_and_the_metrics() {
    let app = TestApp::spawn().await;
    for reference in ["sec-big-1", "sec-big-2"] {
        let (code, answer) = app.post_signed(&filled(reference, r#""999999999999999.99""#)).await;
        assert_eq!((code, &answer["credited"]), (200, &json!("999999999999999.99")), "{answer}");
    }
    assert_eq!(app.customer_balance(CUSTOMER).await, "1999999999999999.98");
    let text = metrics(&app).await;
    assert!(text.lines().any(|l| l == "payram_credited_usd 1999999999999999.98"), "{text}");
    let (code, customers) = app.admin_get("/api/customers").await;
    assert_eq!(code, 200);
    assert_eq!(customers["customers"][0]["balance_usd"], "1999999999999999.98");
    assert_still_serving(&app).await;
}

// --- 2. scientific notation exact or refused ---

#[tokio::test]
async fn scientific_notation_that_would_round_is_refused_and_exact_forms_are_kept() {
    let app = TestApp::spawn().await;
    for (reference, usd) in [
        ("sec-sci-1", r#""49.999999999999999999999999999999e0""#),
        ("sec-sci-2", "49.999999999999999999999999999999e0"),
        ("sec-sci-3", "1e400"),
    ] {
        let answer = app.post_signed(&filled(reference, usd)).await;
        assert_refused(&answer, 400, "invalid_payload", "filled_amount_in_usd: amount");
    }
    assert_eq!(recorded(&app).await, ["invalid_payload"; 3]);
    assert_nobody_credited(&app, &["sec-sci-1", "sec-sci-2", "sec-sci-3"]).await;

    let (code, answer) = app.post_signed(&filled("sec-sci-ok", "4.999e1")).await;
    assert_eq!((code, &answer["credited"]), (200, &json!("49.99")), "{answer}");
    assert_eq!(app.customer_balance(CUSTOMER).await, "49.99");
    assert_still_serving(&app).await;
}

// --- 3. conflicting aliases, event_type with blanks ---

#[tokio::test]
async fn aliases_that_disagree_and_an_event_type_with_blanks_are_invalid_payload() {
    let app = TestApp::spawn().await;
    let cases: [(&str, &str); 4] = [
        (
            r#"{"reference_id":"sec-alias-1","status":"FILLED","payment_state":"OPEN","customer_id":"sec-cust","filled_amount_in_usd":"5"}"#,
            "status and payment_state disagree",
        ),
        (
            r#"{"reference_id":"sec-alias-2","status":"FILLED","customer_id":"sec-cust","filled_amount_in_usd":"5","filled_amount_usd":"5000"}"#,
            "filled_amount_in_usd and filled_amount_usd disagree",
        ),
        (
            r#"{"event_type":" payout.sent","payout_id":7,"reference_id":"sec-alias-3","status":"FILLED","customer_id":"sec-cust","filled_amount_in_usd":"5"}"#,
            "event_type has leading or trailing blanks",
        ),
        (
            r#"{"event_type":"payout.sent\t","payout_id":7,"reference_id":"sec-alias-4","status":"FILLED","customer_id":"sec-cust","filled_amount_in_usd":"5"}"#,
            "event_type has leading or trailing blanks",
        ),
    ];
    for (body, message) in cases {
        let answer = app.post_signed(body.as_bytes()).await;
        assert_refused(&answer, 400, "invalid_payload", message);
    }
    assert_eq!(recorded(&app).await, ["invalid_payload"; 4]);
    assert_nobody_credited(&app, &["sec-alias-1", "sec-alias-2", "sec-alias-3", "sec-alias-4"])
        .await;

    // Aliases that agree are one value.
    let agreeing = br#"{"reference_id":"sec-alias-ok","status":"FILLED","payment_state":"filled","customer_id":"sec-cust","filled_amount_in_usd":"5.00","filled_amount_usd":5}"#;
    let (code, answer) = app.post_signed(agreeing).await;
    assert_eq!((code, &answer["credited"]), (200, &json!("5.00")), "{answer}");
    assert_still_serving(&app).await;
}

// --- 4. duplicate credential headers ---

#[tokio::test]
async fn two_different_credentials_of_one_kind_are_unauthorized_and_write_nothing() {
    let app = TestApp::spawn().await;
    let body = filled("sec-dup", r#""25.00""#);
    let unauthorized = (401, json!({"error": "unauthorized"}));
    let two_keys = app
        .client
        .post(app.url("/webhook"))
        .header("API-Key", TEST_KEY)
        .header("API-Key", "someone-elses-key")
        .body(body.clone());
    assert_eq!(app.send(two_keys).await, unauthorized);
    let two_signatures = app
        .client
        .post(app.url("/webhook"))
        .header("X-Payram-Signature", sign("another-key", &body))
        .header("X-Payram-Signature", sign(TEST_KEY, &body))
        .body(body.clone());
    assert_eq!(app.send(two_signatures).await, unauthorized);
    assert_eq!(recorded(&app).await, Vec::<String>::new(), "nothing recorded");
    assert_nobody_credited(&app, &["sec-dup"]).await;

    // The same value twice is one credential.
    let repeated = app
        .client
        .post(app.url("/webhook"))
        .header("API-Key", TEST_KEY)
        .header("API-Key", TEST_KEY)
        .body(body.clone());
    let (code, answer) = app.send(repeated).await;
    assert_eq!((code, &answer["credited"]), (200, &json!("25.00")), "{answer}");
    assert_still_serving(&app).await;
}

// --- 5. every authenticated request is recorded ---

#[tokio::test]
async fn an_authenticated_test_request_is_recorded_only_the_unsigned_ping_is_not() {
    let app = TestApp::spawn().await;
    let ping = fixture("payout_ping.json");
    let unsigned =
        app.client.post(app.url("/webhook")).header("X-Webhook-Test", "true").body(ping.clone());
    assert_eq!(app.send(unsigned).await, (200, json!({"outcome": "ping"})));
    assert_eq!(recorded(&app).await, Vec::<String>::new(), "PayRam's unsigned ping");

    let signed_ping = app
        .client
        .post(app.url("/webhook"))
        .header("X-Webhook-Test", "true")
        .header("X-Payram-Signature", sign(TEST_KEY, &ping))
        .body(ping.clone());
    assert_eq!(app.send(signed_ping).await, (200, json!({"outcome": "ping"})));
    assert_eq!(recorded(&app).await, ["ping"], "a signed test is recorded");

    let not_a_payment = br#"{"note":"signed, flagged as a test, no reference"}"#;
    let keyed = app
        .client
        .post(app.url("/webhook"))
        .header("X-Webhook-Test", "true")
        .header("API-Key", TEST_KEY)
        .body(not_a_payment.to_vec());
    let answer = app.send(keyed).await;
    assert_refused(&answer, 400, "invalid_payload", "reference_id is missing");
    assert_eq!(recorded(&app).await, ["ping", "invalid_payload"]);

    let wrong_key = app
        .client
        .post(app.url("/webhook"))
        .header("X-Webhook-Test", "true")
        .header("API-Key", "not-a-key")
        .body(ping);
    assert_eq!(app.send(wrong_key).await, (401, json!({"error": "unauthorized"})));
    assert_eq!(recorded(&app).await, ["ping", "invalid_payload"]);
    assert_nobody_credited(&app, &[]).await;
    assert_still_serving(&app).await;
}

// --- 6. a connection dropped mid-body ---

#[tokio::test]
async fn a_body_cut_short_is_counted_as_incomplete_not_malformed_and_records_nothing() {
    let app = TestApp::spawn().await;
    let body = filled("sec-cut", r#""30.00""#);
    let signature = sign(TEST_KEY, &body);
    let mut stream = tokio::net::TcpStream::connect(app.addr()).await.unwrap();
    let head = format!(
        "POST /webhook HTTP/1.1\r\nHost: {}\r\nX-Payram-Signature: {signature}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        app.addr(),
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..body.len() / 2]).await.unwrap();
    // The client goes away mid-body: its half of the connection is closed.
    stream.shutdown().await.unwrap();
    // The server still answers the half-closed connection, then closes it.
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let json = answer.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
    let json: Value = serde_json::from_str(json).unwrap_or_else(|err| panic!("{err}: {answer}"));
    assert_eq!(
        json,
        json!({"error": "incomplete_body", "message": "request body ended before its announced end"})
    );

    let text = metrics(&app).await;
    assert!(
        text.lines().any(|l| l == r#"payram_webhooks_total{outcome="incomplete_body"} 1"#),
        "{text}"
    );
    assert!(!text.contains(r#"outcome="malformed_json""#), "{text}");
    assert_eq!(recorded(&app).await, Vec::<String>::new());
    assert_nobody_credited(&app, &["sec-cut"]).await;
    assert_still_serving(&app).await;
}

// --- 7. log injection ---

/// A reference that would forge a line, move the cursor back, colour the terminal and cut a
/// C string, were it logged raw.
const FORGING_REFERENCE: &str = r"sec-log\n2030-01-01T00:00:00.000000Z  INFO payram: customer credited amount_usd=1000000\r\u001b[31mred\u0000end";

fn forging_body() -> Vec<u8> {
    format!(
        r#"{{"reference_id":"{FORGING_REFERENCE}","status":"OPEN","customer_id":"sec\u001b[0m-cust\nINFO"}}"#
    )
    .into_bytes()
}

async fn log_after_a_forging_reference(format: &str) -> String {
    let app = TestApp::spawn_with(&[("LOG_FORMAT", format)]).await;
    let (code, answer) = app.post_signed(&forging_body()).await;
    assert_eq!((code, &answer["outcome"]), (200, &json!("applied")), "{answer}");
    assert!(answer["reference_id"].as_str().unwrap().contains('\n'), "stored as sent");
    assert_eq!(recorded(&app).await, ["applied"]);
    assert_eq!(app.customer_balance(CUSTOMER).await, "0");
    assert_still_serving(&app).await;
    let dir = app.kill().await;
    std::fs::read_to_string(dir.path().join("server.log")).unwrap()
}

fn assert_no_raw_control(log: &str) {
    for c in ['\r', '\u{1b}', '\0'] {
        assert!(!log.contains(c), "{c:?} reaches the log raw:\n{log}");
    }
    for line in log.lines() {
        assert!(!line.starts_with("2030-01-01"), "a forged line: {line:?}");
        assert!(!line.starts_with("INFO"), "a forged line: {line:?}");
    }
}

#[tokio::test]
async fn a_reference_cannot_forge_a_text_log_line() {
    let log = log_after_a_forging_reference("text").await;
    assert_no_raw_control(&log);
    let answered: Vec<&str> =
        log.lines().filter(|line| line.contains("webhook answered")).collect();
    assert_eq!(answered.len(), 2, "one line per webhook:\n{log}");
    assert!(
        answered[0].contains(r"reference_id=sec-log\n2030-01-01T00:00:00.000000Z"),
        "escaped, on one line: {}",
        answered[0]
    );
    assert!(answered[0].contains(r"\r\u{1b}[31mred\0end"), "{}", answered[0]);
}

#[tokio::test]
async fn a_reference_cannot_forge_a_json_log_line() {
    let log = log_after_a_forging_reference("json").await;
    assert_no_raw_control(&log);
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect();
    let answered: Vec<&Value> =
        lines.iter().filter(|line| line["message"] == "webhook answered").collect();
    assert_eq!(answered.len(), 2, "one line per webhook:\n{log}");
    let reference = answered[0]["reference_id"].as_str().unwrap();
    assert!(!reference.chars().any(char::is_control), "{reference:?}");
    assert!(reference.starts_with(r"sec-log\n2030"), "{reference:?}");
}
