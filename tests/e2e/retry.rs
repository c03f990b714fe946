//! Events whose processing fails after they are recorded: retried by the worker in `serve` on
//! the schedule stored in the database, dead after the last attempt, replayable by hand.

use std::time::Duration;

use diesel::{Connection, RunQueryDsl, SqliteConnection, connection::SimpleConnection};

use crate::helpers::{TestApp, binary, fixture};

pub(crate) const REFERENCE: &str = "3f1c1e7a-5b2d-4c8e-9a61-0d2f7b9e4c11";
/// A bound on a failure, not a synchronisation: the tests poll for what they expect.
const LIMIT: Duration = Duration::from_secs(30);

fn fast_retries(max_attempts: &'static str) -> [(&'static str, &'static str); 4] {
    [
        ("RETRY_MAX_ATTEMPTS", max_attempts),
        ("RETRY_BASE_DELAY_MS", "50"),
        ("RETRY_MAX_DELAY_MS", "100"),
        ("RETRY_POLL_INTERVAL_MS", "20"),
    ]
}

/// Runs SQL on the server's database file from outside, as a broken migration or a person
/// with a SQL shell might.
pub(crate) fn sql(app: &TestApp, statement: &str) {
    let path = app.dir.path().join("payram.db");
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    conn.batch_execute("PRAGMA busy_timeout = 5000;").unwrap();
    diesel::sql_query(statement).execute(&mut conn).unwrap();
}

/// Credits 20.00, then breaks the stored payment so that the next notification fails.
pub(crate) async fn partial_then_broken(app: &TestApp) -> i64 {
    let (code, _) = app.post_signed(&fixture("partially_filled_strings.json")).await;
    assert_eq!(code, 200);
    sql(
        app,
        &format!("UPDATE payments SET credited_usd = 'corrupt' WHERE reference_id = '{REFERENCE}'"),
    );

    let (code, answer) = app.post_signed(&fixture("filled_two_deposits_cumulative.json")).await;
    assert_eq!(
        (code, answer),
        (500, serde_json::json!({"error": "internal"})),
        "PayRam retries a 5xx"
    );
    let (_, failed) = app.admin_get("/api/events?outcome=failed").await;
    let failed = &failed["events"][0];
    assert_eq!(failed["reference_id"], REFERENCE);
    assert!(failed["detail"].as_str().unwrap().contains("corrupt"), "{failed}");
    assert_eq!(
        failed["raw_body"],
        String::from_utf8(fixture("filled_two_deposits_cumulative.json")).unwrap()
    );
    failed["id"].as_i64().unwrap()
}

async fn outcome_of(app: &TestApp, id: i64) -> String {
    let (_, event) = app.admin_get(&format!("/api/events/{id}")).await;
    event["outcome"].as_str().unwrap().to_owned()
}

/// Polls until the event has the outcome, failing after [`LIMIT`].
async fn wait_for_outcome(app: &TestApp, id: i64, expected: &str) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let outcome = outcome_of(app, id).await;
        if outcome == expected {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "event {id} is still {outcome}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_failed_event_is_retried_by_the_worker_once_the_cause_is_fixed() {
    let app = TestApp::spawn_with(&fast_retries("1000")).await;
    let id = partial_then_broken(&app).await;

    sql(
        &app,
        &format!("UPDATE payments SET credited_usd = '20.00' WHERE reference_id = '{REFERENCE}'"),
    );
    wait_for_outcome(&app, id, "applied").await;

    assert_eq!(app.customer_balance("cust_1001").await, "50.00");
    let (_, event) = app.admin_get(&format!("/api/events/{id}")).await;
    assert_eq!(event["credited_usd"], "30.00");
    assert!(event["detail"].is_null());
    // PayRam's own retry of the same notification is a duplicate: nothing is credited twice.
    let (_, answer) = app.post_signed(&fixture("filled_two_deposits_cumulative.json")).await;
    assert_eq!(answer["outcome"], "duplicate");
    assert_eq!(app.customer_balance("cust_1001").await, "50.00");
}

#[tokio::test]
async fn after_the_last_attempt_an_event_is_dead_and_replayable_by_hand() {
    let app = TestApp::spawn_with(&fast_retries("3")).await;
    let id = partial_then_broken(&app).await;

    wait_for_outcome(&app, id, "dead").await;
    let (_, event) = app.admin_get(&format!("/api/events/{id}")).await;
    assert!(event["detail"].as_str().unwrap().contains("corrupt"));
    assert!(app.log().contains("DEAD LETTER"), "a dead event is logged loudly");
    assert_eq!(app.customer_balance("cust_1001").await, "20.00");

    sql(
        &app,
        &format!("UPDATE payments SET credited_usd = '20.00' WHERE reference_id = '{REFERENCE}'"),
    );
    let output = std::process::Command::new(binary())
        .args(["events", "replay", "--failed"])
        .env_clear()
        .env("DATABASE_URL", app.dir.path().join("payram.db"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains(&format!("event {id} replayed as event {id}: applied")), "{stdout}");
    assert_eq!(outcome_of(&app, id).await, "applied");
    assert_eq!(app.customer_balance("cust_1001").await, "50.00");
}

#[tokio::test]
async fn a_failed_event_survives_a_restart_and_is_retried_after_it() {
    let app = TestApp::spawn_with(&[("RETRY_BASE_DELAY_MS", "60000")]).await;
    let id = partial_then_broken(&app).await;
    sql(
        &app,
        &format!("UPDATE payments SET credited_usd = '20.00' WHERE reference_id = '{REFERENCE}'"),
    );
    let dir = app.kill().await;

    // The schedule is in the database: make it due now, as time passing would.
    let db = dir.path().join("payram.db");
    let app = TestApp::spawn_on(dir, &db, &fast_retries("10")).await;
    sql(
        &app,
        "UPDATE events SET next_attempt_at = '2000-01-01T00:00:00.000000Z' WHERE outcome = 'failed'",
    );
    wait_for_outcome(&app, id, "applied").await;
    assert_eq!(app.customer_balance("cust_1001").await, "50.00");
}
