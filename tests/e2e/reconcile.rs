//! Reconciliation with PayRam: a fake PayRam API (real HTTP on a loopback port, in the test)
//! and the real binary, both as the `reconcile` command and as the periodic job of `serve`.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    task::JoinHandle,
};

use crate::helpers::{OLD_KEY, TEST_KEY, TestApp, binary, fixture};

/// The payment of `open_no_deposit.json`, for customer `cust_1001`, 50 USDC requested.
pub(crate) const REFERENCE: &str = "3f1c1e7a-5b2d-4c8e-9a61-0d2f7b9e4c11";
/// A bound on a failure, not a synchronisation: the tests poll for what they expect.
const LIMIT: Duration = Duration::from_secs(30);

/// What PayRam's API says once the payment is paid (amounts as a string and as a number,
/// fields we do not read, camelCase as documented).
pub(crate) const FILLED_ANSWER: &str = r#"{"referenceID":"3f1c1e7a-5b2d-4c8e-9a61-0d2f7b9e4c11","invoiceID":"INV-0090","customerID":"cust_1001","paymentState":"FILLED","amountInUSD":"50.00","filledAmount":50.000000,"filledAmountInUSD":"50.00","currencySymbol":"USDC","depositAddress":"0xa214da71dbe437a7911e81ddda210dc7c8dbb3a1","createdAt":"2026-11-26T12:00:00Z"}"#;

/// What PayRam's API says while nothing was paid.
pub(crate) const OPEN_ANSWER: &str = r#"{"referenceID":"3f1c1e7a-5b2d-4c8e-9a61-0d2f7b9e4c11","invoiceID":"INV-0090","customerID":"cust_1001","paymentState":"OPEN","amountInUSD":"50.00","filledAmount":null,"filledAmountInUSD":null,"currencySymbol":"USDC"}"#;

/// A fake of PayRam's payment lookup API. It answers each reference what the test set
/// (404 otherwise) and keeps the head of every request. It stops when dropped.
pub(crate) struct FakePayram {
    addr: SocketAddr,
    answers: Arc<Mutex<HashMap<String, (u16, String)>>>,
    requests: Arc<Mutex<Vec<String>>>,
    server: JoinHandle<()>,
}

impl FakePayram {
    pub(crate) async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let answers = Arc::new(Mutex::new(HashMap::<String, (u16, String)>::new()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (table, seen) = (Arc::clone(&answers), Arc::clone(&requests));
        let server = tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let (table, seen) = (Arc::clone(&table), Arc::clone(&seen));
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let path = head.split(' ').nth(1).unwrap_or("").to_owned();
                    seen.lock().unwrap().push(head);
                    let reference = path.strip_prefix("/api/v1/payment/reference/");
                    let (status, body) = reference
                        .and_then(|reference| table.lock().unwrap().get(reference).cloned())
                        .unwrap_or((404, r#"{"code":"NOT_FOUND","message":"no route"}"#.into()));
                    let answer = format!(
                        "HTTP/1.1 {status} Fake\r\nContent-Type: application/json\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                });
            }
        });
        Self { addr, answers, requests, server }
    }

    pub(crate) fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on, a lookup of `reference` gets this status and body.
    pub(crate) fn answer(&self, reference: &str, status: u16, body: &str) {
        self.answers.lock().unwrap().insert(reference.to_owned(), (status, body.to_owned()));
    }

    pub(crate) fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakePayram {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Runs `payram-merchant reconcile ARGS` on the server's database against the fake, with the
/// server's keys (the first one is sent). Asynchronous, so the fake keeps serving meanwhile.
async fn reconcile(app: &TestApp, fake: &FakePayram, args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(binary())
        .arg("reconcile")
        .args(args)
        .env_clear()
        .env("DATABASE_URL", app.dir.path().join("payram.db"))
        .env("PAYRAM_BASE_URL", fake.base())
        .env("PAYRAM_API_KEYS", format!("{OLD_KEY},{TEST_KEY}"))
        .env("PAYRAM_API_TIMEOUT", "5s")
        .output()
        .await
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

async fn open_payment(app: &TestApp) {
    let (code, answer) = app.post_signed(&fixture("open_no_deposit.json")).await;
    assert_eq!((code, answer["outcome"].as_str()), (200, Some("applied")), "{answer}");
}

async fn payment(app: &TestApp) -> Value {
    let (code, payment) = app.admin_get(&format!("/api/payments/{REFERENCE}")).await;
    assert_eq!(code, 200, "{payment}");
    payment
}

async fn events(app: &TestApp) -> Vec<Value> {
    let (code, listed) = app.admin_get("/api/events").await;
    assert_eq!(code, 200, "{listed}");
    listed["events"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_missed_filled_webhook_is_credited_once_by_the_command() {
    let app = TestApp::spawn().await;
    let fake = FakePayram::start().await;
    open_payment(&app).await;
    fake.answer(REFERENCE, 200, FILLED_ANSWER);

    let (ok, stdout, stderr) = reconcile(&app, &fake, &["--older-than", "0s"]).await;

    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with(&format!("{REFERENCE}\tapplied\tFILLED\tcredited 50.00\tevent ")),
        "{stdout}"
    );
    assert!(stdout.ends_with("checked 1 payment(s): 1 applied\n"), "{stdout}");
    assert_eq!(app.customer_balance("cust_1001").await, "50.00");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].starts_with(&format!("GET /api/v1/payment/reference/{REFERENCE} ")));
    assert!(
        requests[0].to_ascii_lowercase().contains(&format!("api-key: {OLD_KEY}\r\n")),
        "the first key is sent: {}",
        requests[0]
    );
    assert!(!stdout.contains(OLD_KEY) && !stderr.contains(OLD_KEY), "the key is never printed");

    // The recovered payment shows up as an event of origin reconciliation, holding PayRam's
    // answer byte for byte.
    let newest = &events(&app).await[0];
    let id = newest["id"].as_i64().unwrap();
    let (_, event) = app.admin_get(&format!("/api/events/{id}")).await;
    assert_eq!(event["origin"], "reconciliation");
    assert_eq!(event["outcome"], "applied");
    assert_eq!(event["credited_usd"], "50.00");
    assert_eq!(event["raw_body"], FILLED_ANSWER);
    assert_eq!(
        (&event["method"], &event["auth_method"], &event["key_index"]),
        (&"GET".into(), &"api_key".into(), &0.into())
    );
    assert!(event["replay_of"].is_null());
    let payment = payment(&app).await;
    assert_eq!((&payment["status"], &payment["credited_usd"]), (&"FILLED".into(), &"50.00".into()));
    assert_eq!(payment["amount"], "50.000000", "the amount the webhook gave is kept");

    // Again: the payment is settled, so nothing is asked and nothing credited.
    let (ok, stdout, _) = reconcile(&app, &fake, &["--older-than", "0s"]).await;
    assert!(ok);
    assert_eq!(stdout, "checked 0 payments: nothing to reconcile\n");
    // Asked explicitly, PayRam's same answer is a duplicate.
    let (ok, stdout, _) = reconcile(&app, &fake, &["--reference", REFERENCE]).await;
    assert!(ok);
    assert!(
        stdout.starts_with(&format!("{REFERENCE}\tduplicate\tFILLED\tcredited 0\t")),
        "{stdout}"
    );
    // And the FILLED webhook, arriving at last, is a duplicate too.
    let (_, answer) = app.post_signed(&fixture("filled_two_deposits_cumulative.json")).await;
    assert_eq!(answer["outcome"], "duplicate", "{answer}");
    assert_eq!(app.customer_balance("cust_1001").await, "50.00");
}

#[tokio::test]
async fn a_failing_api_exits_non_zero_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let fake = FakePayram::start().await;
    open_payment(&app).await;
    let before = events(&app).await;

    for (status, body, expected) in [
        (500, r#"{"error":{"code":"INTERNAL","message":"database down"}}"#, "HTTP 500"),
        (
            401,
            r#"{"error":{"code":"UNAUTHORIZED","message":"invalid api key"}}"#,
            "invalid api key",
        ),
        (401, r#"{"code":"UNAUTHORIZED","message":"payment not found"}"#, "payment not found"),
        (
            200,
            r#"{"referenceID":"3f1c1e7a-5b2d-4c8e-9a61-0d2f7b9e4c11","paymentState":"FILLED",}"#,
            "cannot be used",
        ),
        (200, "<html>maintenance</html>", "cannot be used"),
    ] {
        fake.answer(REFERENCE, status, body);

        let (ok, stdout, stderr) = reconcile(&app, &fake, &["--older-than", "0s"]).await;

        assert!(!ok, "{status} {body}: {stdout}");
        assert!(stdout.starts_with(&format!("{REFERENCE}\terror\t")), "{stdout}");
        assert!(stdout.contains(expected), "{stdout}");
        assert!(stdout.ends_with("checked 1 payment(s): 1 error\n"), "{stdout}");
        assert!(stderr.contains("1 of 1 payment(s) could not be reconciled"), "{stderr}");
        assert_eq!(events(&app).await, before, "nothing is recorded");
    }
    let payment = payment(&app).await;
    assert_eq!((&payment["status"], &payment["credited_usd"]), (&"OPEN".into(), &"0".into()));
    assert_eq!(app.customer_balance("cust_1001").await, "0");
}

#[tokio::test]
async fn one_failing_lookup_does_not_stop_the_others() {
    let app = TestApp::spawn().await;
    let fake = FakePayram::start().await;
    open_payment(&app).await;
    let (_, answer) = app.post_signed(&fixture("partially_filled_numbers.json")).await;
    let other = answer["reference_id"].as_str().unwrap().to_owned();
    assert_ne!(other, REFERENCE);
    fake.answer(REFERENCE, 200, FILLED_ANSWER);
    // `other` is unknown to the fake: 404.

    let (ok, stdout, _) = reconcile(&app, &fake, &["--older-than", "0s"]).await;

    assert!(!ok);
    assert!(stdout.contains(&format!("{REFERENCE}\tapplied\t")), "{stdout}");
    assert!(
        stdout.contains(&format!("{other}\terror\tPayRam does not know this payment")),
        "{stdout}"
    );
    assert!(stdout.ends_with("checked 2 payment(s): 1 applied, 1 error\n"), "{stdout}");
    assert_eq!(app.customer_balance("cust_1001").await, "50.00");
}

#[tokio::test]
async fn a_recent_payment_is_left_alone_until_it_has_been_quiet_long_enough() {
    let app = TestApp::spawn().await;
    let fake = FakePayram::start().await;
    open_payment(&app).await;
    fake.answer(REFERENCE, 200, FILLED_ANSWER);

    let (ok, stdout, _) = reconcile(&app, &fake, &[]).await;

    assert!(ok);
    assert_eq!(stdout, "checked 0 payments: nothing to reconcile\n", "30m by default");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn serve_recovers_a_missed_webhook_by_itself() {
    let fake = FakePayram::start().await;
    let base = fake.base();
    let app = TestApp::spawn_with(&[
        ("PAYRAM_BASE_URL", base.as_str()),
        ("RECONCILE_INTERVAL", "200ms"),
        ("RECONCILE_OLDER_THAN", "0s"),
    ])
    .await;
    // PayRam still says OPEN: checked, a duplicate, nothing credited.
    fake.answer(REFERENCE, 200, OPEN_ANSWER);
    open_payment(&app).await;
    let deadline = tokio::time::Instant::now() + LIMIT;
    while fake.requests().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "serve never asked PayRam");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    fake.answer(REFERENCE, 200, FILLED_ANSWER);
    loop {
        if app.customer_balance("cust_1001").await == "50.00" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not reconciled:\n{}", app.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (_, listed) = app.admin_get("/api/events?outcome=applied").await;
    let origins: Vec<&str> = listed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["origin"].as_str().unwrap())
        .collect();
    assert_eq!(origins, ["reconciliation", "webhook"]);
    assert_eq!(payment(&app).await["status"], "FILLED");
    assert!(app.log().contains("payment reconciled with PayRam"));
    assert!(!app.log().contains(OLD_KEY), "the key is never logged");
}

#[test]
fn serve_refuses_to_reconcile_without_a_base_url() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let output = std::process::Command::new(binary())
        .arg("serve")
        .env_clear()
        .env("PAYRAM_API_KEYS", TEST_KEY)
        .env("DATABASE_URL", &db)
        .env("RECONCILE_INTERVAL", "5m")
        .output()
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("PAYRAM_BASE_URL is not set"), "{stderr}");
    assert!(!db.exists(), "nothing is created when the configuration is refused");
}

#[test]
fn reconcile_refuses_to_run_without_a_base_url() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(binary())
        .arg("reconcile")
        .env_clear()
        .env("PAYRAM_API_KEYS", TEST_KEY)
        .env("DATABASE_URL", dir.path().join("x.db"))
        .output()
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("PAYRAM_BASE_URL is not set"), "{stderr}");
}
