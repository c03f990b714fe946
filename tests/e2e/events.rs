//! The event log and replay, through the admin API and the command line of the real binary.

use std::process::Command;

use crate::helpers::{TestApp, binary, fixture};

const REFERENCE: &str = "c80f5363-0397-4761-aa1a-3155c3a21470";

#[tokio::test]
async fn every_recorded_delivery_is_in_the_event_log_with_its_raw_body() {
    let app = TestApp::spawn().await;
    let filled = fixture("filled_strings.json");
    app.post_signed(&filled).await;
    app.post_legacy(&filled).await;
    app.post_signed(b"{broken").await;

    let (code, listed) = app.admin_get("/api/events").await;
    assert_eq!(code, 200, "{listed}");
    let events = listed["events"].as_array().unwrap();
    let outcomes: Vec<&str> = events.iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["malformed_json", "duplicate", "applied"], "newest first");
    assert_eq!(events[2]["raw_body"], String::from_utf8(filled).unwrap());
    assert_eq!(events[2]["auth_method"], "signature");
    assert_eq!(events[2]["key_index"], 1);
    assert_eq!(events[1]["auth_method"], "api_key");
    assert_eq!(events[0]["raw_body"], "{broken");

    let (_, filtered) =
        app.admin_get(&format!("/api/events?outcome=applied&reference_id={REFERENCE}")).await;
    assert_eq!(filtered["events"].as_array().unwrap().len(), 1);

    let id = events[2]["id"].as_i64().unwrap();
    let (code, one) = app.admin_get(&format!("/api/events/{id}")).await;
    assert_eq!((code, &one["id"]), (200, &events[2]["id"]));
    let (code, _) = app.admin_get("/api/events/999999").await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn replaying_any_event_any_number_of_times_never_changes_the_total() {
    let app = TestApp::spawn().await;
    for file in ["partially_filled_strings.json", "filled_two_deposits_cumulative.json"] {
        app.post_signed(&fixture(file)).await;
    }
    assert_eq!(app.customer_balance("cust_1001").await, "50.00");
    let (_, listed) = app.admin_get("/api/events").await;
    let ids: Vec<i64> =
        listed["events"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect();

    for _ in 0..3 {
        for id in &ids {
            let request = app.client.post(app.url(&format!("/api/events/{id}/replay")));
            let (code, answer) = app.send(request.bearer_auth(crate::helpers::ADMIN_TOKEN)).await;
            assert_eq!(code, 200, "{answer}");
            assert_eq!(answer["replay_of"], *id);
            assert_eq!(answer["credited"], "0", "{answer}");
            assert!(["duplicate", "stale"].contains(&answer["outcome"].as_str().unwrap()));
        }
    }
    assert_eq!(app.customer_balance("cust_1001").await, "50.00");
    let (_, replays) = app.admin_get("/api/events?limit=1").await;
    assert_eq!(replays["events"][0]["origin"], "replay");
}

#[tokio::test]
async fn a_replay_applies_what_was_never_applied() {
    // A notification recorded as invalid under a stricter configuration is applied when
    // replayed: the raw body goes through the live path again.
    let app = TestApp::spawn().await;
    let body = br#"{"reference_id":"r-late","status":"FILLED","filled_amount_in_usd":"9.50"}"#;
    let (code, _) = app.post_signed(body).await;
    assert_eq!(code, 400, "no customer_id: invalid under the default CREDIT_ON");
    let (_, listed) = app.admin_get("/api/events?outcome=invalid_payload").await;
    let id = listed["events"][0]["id"].as_i64().unwrap();

    let output = cli(&app, &["events", "replay", &id.to_string(), "--credit-on", "OVER_FILLED"]);
    assert!(output.0, "{}", output.2);
    assert!(output.1.contains("applied r-late (credited 0)"), "{}", output.1);
    let (code, payment) = app.admin_get("/api/payments/r-late").await;
    assert_eq!((code, payment["status"].as_str()), (200, Some("FILLED")));
}

fn cli(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let db = app.dir.path().join("payram.db");
    let output =
        Command::new(binary()).args(args).env_clear().env("DATABASE_URL", db).output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_command_line_lists_shows_and_replays_beside_a_running_server() {
    let app = TestApp::spawn().await;
    let filled = fixture("filled_strings.json");
    app.post_signed(&filled).await;
    app.post_signed(&fixture("payout_processed.json")).await;

    let (ok, listed, stderr) = cli(&app, &["events", "list"]);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(lines[0].contains("payout") && lines[0].contains("120"), "{listed}");
    assert!(lines[1].contains("applied") && lines[1].contains(REFERENCE), "{listed}");

    let (ok, only_applied, _) = cli(&app, &["events", "list", "--outcome", "applied"]);
    assert!(ok);
    assert_eq!(only_applied.lines().count(), 1);
    let (ok, _, stderr) = cli(&app, &["events", "list", "--outcome", "bogus"]);
    assert!(!ok && stderr.contains("bogus"), "{stderr}");

    let id = lines[1].split('\t').next().unwrap();
    let (ok, shown, _) = cli(&app, &["events", "show", id]);
    assert!(ok);
    assert!(shown.contains("outcome: applied"), "{shown}");
    assert!(shown.ends_with(&format!("{}\n", String::from_utf8(filled).unwrap())), "{shown}");

    let (ok, replayed, stderr) = cli(&app, &["events", "replay", id]);
    assert!(ok, "{stderr}");
    assert!(replayed.contains("duplicate"), "{replayed}");
    let (ok, replayed, _) = cli(&app, &["events", "replay", "--since", "2000-01-01T00:00:00Z"]);
    assert!(ok);
    assert_eq!(replayed.lines().count(), 2, "only webhook events, not earlier replays: {replayed}");
    assert_eq!(app.customer_balance("cust_2002").await, "12.00");

    let (ok, _, stderr) = cli(&app, &["events", "show", "424242"]);
    assert!(!ok && stderr.contains("no event 424242"), "{stderr}");
}
