//! The deployment tools of the real binary: `send`, `simulate` and `doctor`, against a real
//! `payram-merchant serve` and against receivers that answer wrongly.

use std::path::Path;

use crate::helpers::{TEST_KEY, TestApp, binary, fixed_receiver, fixture};

/// What a run of the binary printed, and whether it exited 0.
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    fn assert_ok(&self) -> &Self {
        assert!(self.ok, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    fn assert_failed(&self) -> &Self {
        assert!(!self.ok, "expected failure\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
}

/// Runs the binary with only the given environment.
async fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = tokio::process::Command::new(binary())
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap();
    Run {
        ok: output.status.success(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

async fn send(app: &TestApp, extra: &[&str]) -> Run {
    let url = app.url("/webhook");
    let mut args = vec!["send", "--url", &url, "--key", TEST_KEY];
    args.extend_from_slice(extra);
    run(&args, &[]).await
}

async fn simulate(url: &str, scenario: &str, customer: &str) -> Run {
    let args = [
        "simulate",
        "--url",
        url,
        "--key",
        TEST_KEY,
        "--scenario",
        scenario,
        "--customer",
        customer,
    ];
    run(&args, &[]).await
}

/// `doctor` configured as the test servers are.
async fn doctor(db: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["doctor", "--timeout", "5"];
    args.extend_from_slice(extra);
    let db = db.to_str().unwrap();
    run(&args, &[("PAYRAM_API_KEYS", TEST_KEY), ("DATABASE_URL", db)]).await
}

/// A port nothing listens on (it was free a moment ago).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn send_delivers_a_signed_payment_that_is_credited() {
    let app = TestApp::spawn().await;
    let res =
        send(&app, &["--reference", "ref-send-1", "--customer", "cust-send", "--amount", "12.50"])
            .await;
    res.assert_ok();
    assert!(res.stdout.contains("< HTTP 200 OK"), "{}", res.stdout);
    assert!(res.stdout.contains(r#""outcome":"applied""#), "{}", res.stdout);

    let (status, payment) = app.admin_get("/api/payments/ref-send-1").await;
    assert_eq!(status, 200, "{payment}");
    assert_eq!(payment["status"], "FILLED");
    assert_eq!(payment["customer_id"], "cust-send");
    assert_eq!(payment["credited_usd"], "12.50");
    assert_eq!(app.customer_balance("cust-send").await, "12.50");
    let (_, events) = app.admin_get("/api/events?reference_id=ref-send-1").await;
    assert_eq!(events["events"][0]["auth_method"], "signature");
    assert_eq!(events["events"][0]["method"], "POST");
}

#[tokio::test]
async fn send_legacy_header_and_get_are_delivered_as_old_payram_servers_do() {
    let app = TestApp::spawn().await;
    send(&app, &["--legacy-header", "--method", "GET", "--reference", "ref-old", "--amount", "3"])
        .await
        .assert_ok();

    let (_, events) = app.admin_get("/api/events?reference_id=ref-old").await;
    let event = &events["events"][0];
    assert_eq!(event["auth_method"], "api_key");
    assert_eq!(event["method"], "GET");
    assert_eq!(event["outcome"], "applied");
    assert_eq!(event["credited_usd"], "3");
}

#[tokio::test]
async fn send_file_is_delivered_byte_for_byte() {
    let app = TestApp::spawn().await;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/vectors/filled_strings.json");
    send(&app, &["--file", path.to_str().unwrap()]).await.assert_ok();

    let (_, events) = app.admin_get("/api/events?limit=1").await;
    let raw = events["events"][0]["raw_body"].as_str().unwrap();
    assert_eq!(raw.as_bytes(), fixture("filled_strings.json"));
    assert_eq!(app.customer_balance("cust_2002").await, "12.00");
}

#[tokio::test]
async fn send_fails_on_a_refusal_a_bad_amount_and_no_server() {
    let app = TestApp::spawn().await;
    let url = app.url("/webhook");

    let res = run(&["send", "--url", &url, "--key", "not-the-key"], &[]).await;
    res.assert_failed();
    assert!(res.stdout.contains("< HTTP 401"), "{}", res.stdout);
    assert!(res.stderr.contains("401"), "{}", res.stderr);

    let res = send(&app, &["--amount", "12,50"]).await;
    res.assert_failed();
    assert!(res.stderr.contains("--amount"), "{}", res.stderr);
    let (_, events) = app.admin_get("/api/events").await;
    assert_eq!(events["events"].as_array().unwrap().len(), 0, "nothing was sent");

    let url = format!("http://127.0.0.1:{}/webhook", closed_port());
    let res = run(&["send", "--url", &url, "--key", TEST_KEY], &[]).await;
    res.assert_failed();
    assert!(res.stderr.contains("cannot connect to"), "{}", res.stderr);
}

#[tokio::test]
async fn simulate_passes_every_scenario_against_payram_merchant() {
    let app = TestApp::spawn().await;
    let url = app.url("/webhook");
    for scenario in [
        "partial-then-filled",
        "duplicates",
        "out-of-order",
        "late-after-cancel",
        "ping",
        "payouts",
    ] {
        let customer = format!("cust-{scenario}");
        let res = simulate(&url, scenario, &customer).await;
        res.assert_ok();
        assert!(res.stdout.contains(&format!("PASS {scenario}")), "{}", res.stdout);
        assert!(!res.stdout.contains("FAIL"), "{}", res.stdout);
    }
    // Each payment scenario pays 100 in all, credited exactly once whatever the order and the
    // duplicates; pings and payouts credit nothing.
    for scenario in ["partial-then-filled", "duplicates", "out-of-order", "late-after-cancel"] {
        assert_eq!(app.customer_balance(&format!("cust-{scenario}")).await, "100.00", "{scenario}");
    }
    for scenario in ["ping", "payouts"] {
        assert_eq!(app.customer_balance(&format!("cust-{scenario}")).await, "0", "{scenario}");
    }
    let (_, events) = app.admin_get("/api/events?outcome=payout").await;
    assert_eq!(events["events"].as_array().unwrap().len(), 3, "the payouts were recorded");
}

#[tokio::test]
async fn simulate_uses_fresh_references_on_every_run() {
    let app = TestApp::spawn().await;
    let url = app.url("/webhook");
    simulate(&url, "duplicates", "cust-twice").await.assert_ok();
    simulate(&url, "duplicates", "cust-twice").await.assert_ok();
    assert_eq!(app.customer_balance("cust-twice").await, "200.00");
}

#[tokio::test]
async fn simulate_fails_against_a_receiver_that_answers_500() {
    let url = format!("{}/webhook", fixed_receiver(500, r#"{"error":"boom"}"#));
    for scenario in ["duplicates", "ping", "payouts"] {
        let res = simulate(&url, scenario, "cust").await;
        res.assert_failed();
        assert!(res.stdout.contains("answered 500, expected a 2xx"), "{}", res.stdout);
        assert!(res.stdout.contains(&format!("FAIL {scenario}")), "{}", res.stdout);
    }
}

#[tokio::test]
async fn simulate_fails_against_a_receiver_that_credits_every_delivery() {
    let url = format!(
        "{}/webhook",
        fixed_receiver(200, r#"{"outcome":"applied","reference_id":"x","credited":"100.00"}"#)
    );
    let res = simulate(&url, "duplicates", "cust").await;
    res.assert_failed();
    assert!(res.stdout.contains(r#"outcome "applied", expected "duplicate""#), "{}", res.stdout);
    assert!(res.stderr.contains("step 2"), "{}", res.stderr);

    simulate(&url, "out-of-order", "cust").await.assert_failed();
    simulate(&url, "payouts", "cust").await.assert_failed();
    // The ping only asks for a 2xx.
    simulate(&url, "ping", "cust").await.assert_ok();
}

#[tokio::test]
async fn simulate_checks_only_the_status_of_a_generic_receiver() {
    let url = format!("{}/webhook", fixed_receiver(200, "OK"));
    let res = simulate(&url, "duplicates", "cust").await;
    res.assert_ok();
    assert!(res.stdout.contains("detailed checks skipped"), "{}", res.stdout);
}

#[tokio::test]
async fn doctor_passes_on_a_healthy_deployment() {
    let app = TestApp::spawn().await;
    let res = doctor(&app.db_path(), &["--url", &app.base]).await;
    res.assert_ok();
    for check in ["config", "database", "webhook"] {
        assert!(res.stdout.contains(&format!("ok   {check}: ")), "{}", res.stdout);
    }
    assert!(!res.stdout.contains(TEST_KEY), "doctor never prints a key");
    assert!(app.log().contains(r#"outcome="ping""#), "the server saw the ping:\n{}", app.log());
}

#[tokio::test]
async fn doctor_fails_when_the_server_is_stopped() {
    let app = TestApp::spawn().await;
    let (base, db) = (app.base.clone(), app.db_path());
    let dir = app.kill().await;

    let res = doctor(&db, &["--url", &base]).await;
    res.assert_failed();
    assert!(res.stdout.contains("ok   database: "), "{}", res.stdout);
    assert!(res.stdout.contains("FAIL webhook: cannot connect to"), "{}", res.stdout);
    assert!(res.stderr.contains("1 check(s) failed: webhook"), "{}", res.stderr);
    drop(dir);
}

#[tokio::test]
async fn doctor_fails_on_a_wrong_webhook_path() {
    let app = TestApp::spawn().await;
    let db = app.db_path();
    let res = doctor(&db, &["--url", &app.base, "--webhook-path", "/not-the-webhook"]).await;
    res.assert_failed();
    assert!(res.stdout.contains("FAIL webhook: POST"), "{}", res.stdout);
    assert!(res.stdout.contains("404"), "{}", res.stdout);
}

#[tokio::test]
async fn doctor_fails_on_an_unmigrated_database_and_leaves_it_unmigrated() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}", closed_port());

    let missing = dir.path().join("missing.db");
    let res = doctor(&missing, &["--url", &url]).await;
    res.assert_failed();
    assert!(res.stdout.contains("FAIL database: "), "{}", res.stdout);
    assert!(!missing.exists(), "doctor never creates the database");

    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let res = doctor(&empty, &["--url", &url]).await;
    res.assert_failed();
    let line = res.stdout.lines().find(|line| line.starts_with("FAIL database: ")).unwrap();
    assert!(line.contains("pending migrations"), "{line}");
    assert!(line.contains("payram-merchant migrate"), "{line}");

    let empty = empty.to_str().unwrap();
    let migrate = run(&["migrate"], &[("DATABASE_URL", empty)]).await;
    migrate.assert_ok();
    assert!(
        migrate.stdout.starts_with("applied ") && !migrate.stdout.contains("up to date"),
        "doctor migrated: {}",
        migrate.stdout
    );
    let res = doctor(Path::new(empty), &["--url", &url]).await;
    assert!(res.stdout.contains("ok   database: "), "{}", res.stdout);
}

#[tokio::test]
async fn doctor_fails_without_api_keys() {
    let app = TestApp::spawn().await;
    let db = app.db_path();
    let args = ["doctor", "--url", &app.base];
    let res = run(&args, &[("DATABASE_URL", db.to_str().unwrap())]).await;
    res.assert_failed();
    assert!(res.stdout.contains("FAIL config: "), "{}", res.stdout);
    assert!(res.stdout.contains("PAYRAM_API_KEYS"), "{}", res.stdout);
    assert!(res.stdout.contains("ok   webhook: "), "the other checks still run: {}", res.stdout);
}

#[tokio::test]
async fn doctor_checks_that_payram_accepts_the_key_when_configured() {
    let fake = crate::reconcile::FakePayram::start().await;
    let app = TestApp::spawn().await;
    let base = fake.base();
    let db = app.db_path();
    let db = db.to_str().unwrap();
    let env = [("PAYRAM_API_KEYS", TEST_KEY), ("DATABASE_URL", db), ("PAYRAM_BASE_URL", &base)];
    // Nothing recorded yet: a made-up reference, which the fake does not know (404).
    let res = run(&["doctor", "--timeout", "5", "--url", &app.base], &env).await;
    res.assert_ok();
    assert!(
        res.stdout.contains("ok   payram-api: PayRam accepted the first key"),
        "{}",
        res.stdout
    );
    let asked = fake.requests()[0].to_ascii_lowercase();
    assert!(asked.contains(&format!("api-key: {TEST_KEY}")), "{asked}");

    fake.answer(
        "payram-merchant-doctor-probe",
        401,
        r#"{"error":{"code":"UNAUTHORIZED","message":"invalid api key"}}"#,
    );
    let res = run(&["doctor", "--timeout", "5", "--url", &app.base], &env).await;
    res.assert_failed();
    let line = res.stdout.lines().find(|line| line.starts_with("FAIL payram-api: ")).unwrap();
    assert!(line.contains("401") && line.contains("invalid api key"), "{line}");
    assert!(!res.stdout.contains(TEST_KEY), "doctor never prints a key");

    // Without PAYRAM_BASE_URL the check has nothing to do.
    let res = doctor(&app.db_path(), &["--url", &app.base]).await;
    res.assert_ok();
    assert!(res.stdout.contains("ok   payram-api: not configured"), "{}", res.stdout);
}
