//! Operating the service: `/metrics`, `/readyz`, JSON logs with one line per webhook, and no
//! secret in logs or in the database.

use serde_json::Value;

use crate::helpers::{ADMIN_TOKEN, OLD_KEY, TEST_KEY, TestApp, sign};

fn filled(reference: &str, usd: &str) -> Vec<u8> {
    format!(
        concat!(
            r#"{{"reference_id":"{}","status":"FILLED","customer_id":"ops-cust","#,
            r#""amount":"{}","currency":"USDC","filled_amount":"{}","filled_amount_in_usd":"{}"}}"#
        ),
        reference, usd, usd, usd
    )
    .into_bytes()
}

async fn text(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn metrics_count_webhooks_and_read_exact_credits_from_the_database() {
    let app = TestApp::spawn().await;
    app.post_signed(&filled("ops-1", "0.10")).await;
    app.post_signed(&filled("ops-1", "0.10")).await;
    app.post_signed(&filled("ops-2", "49.999999999999998")).await;
    let response = app
        .client
        .post(app.url("/webhook"))
        .header("API-Key", "not-a-key")
        .body(filled("ops-3", "1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    let (code, metrics) = text(&app, "/metrics").await;
    assert_eq!(code, 200);
    for line in [
        r#"payram_webhooks_total{outcome="applied"} 2"#,
        r#"payram_webhooks_total{outcome="duplicate"} 1"#,
        r#"payram_webhooks_total{outcome="unauthorized"} 1"#,
        r#"payram_webhook_auth_total{result="signature"} 3"#,
        r#"payram_webhook_auth_total{result="bad_api_key"} 1"#,
        "payram_webhook_duration_seconds_count 4",
        "payram_database_up 1",
        "payram_credits 2",
        "payram_credited_usd 50.099999999999998",
        "payram_failed_events 0",
        "payram_dead_events 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "no {line:?} in:\n{metrics}");
    }
}

#[tokio::test]
async fn readyz_reports_the_database_and_the_workers_healthz_stays_liveness() {
    let app = TestApp::spawn().await;
    let (code, body) = app.send(app.client.get(app.url("/readyz"))).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["workers"]["retry"], "running");
    let (code, body) = app.send(app.client.get(app.url("/healthz"))).await;
    assert_eq!((code, &body["status"]), (200, &Value::from("ok")));
}

#[tokio::test]
async fn json_logs_have_one_line_per_webhook_and_no_secret_anywhere() {
    let app = TestApp::spawn_with(&[("LOG_FORMAT", "json")]).await;
    let body = filled("ops-log", "12.50");
    let (code, _) = app.post_signed(&body).await;
    assert_eq!(code, 200);
    let (code, _) = app.post_legacy(&body).await;
    assert_eq!(code, 200);
    // A wrong key and a wrong admin token are refused, and must not be logged either.
    let response = app
        .client
        .post(app.url("/webhook"))
        .header("API-Key", "wrong-key-that-must-not-be-logged")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let (code, _) = app
        .send(app.client.get(app.url("/api/events")).bearer_auth("wrong-token-not-logged"))
        .await;
    assert_eq!(code, 401);
    let (code, _) = app.admin_get("/api/payments/ops-log").await;
    assert_eq!(code, 200);

    let db = app.db_path();
    let dir = app.kill().await;
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect();
    let answered: Vec<&Value> =
        lines.iter().filter(|line| line["message"] == "webhook answered").collect();
    assert_eq!(answered.len(), 3, "one line per webhook:\n{log}");
    let first = answered[0];
    assert_eq!(first["reference_id"], "ops-log");
    assert_eq!(first["status"], "FILLED");
    assert_eq!(first["outcome"], "applied");
    assert_eq!(first["credited"], "12.50");
    assert_eq!(first["http_status"], 200);
    assert!(first["latency_ms"].is_u64(), "{first}");
    assert_eq!(answered[1]["outcome"], "duplicate");
    assert_eq!(answered[2]["outcome"], "unauthorized");

    let signature = sign(TEST_KEY, &body);
    let hex = signature.trim_start_matches("sha256=");
    let mut stored = Vec::new();
    for file in ["payram.db", "payram.db-wal"] {
        if let Ok(bytes) = std::fs::read(db.with_file_name(file)) {
            stored.extend(bytes);
        }
    }
    let stored = String::from_utf8_lossy(&stored);
    for secret in [
        TEST_KEY,
        OLD_KEY,
        ADMIN_TOKEN,
        hex,
        "wrong-key-that-must-not-be-logged",
        "wrong-token-not-logged",
    ] {
        assert!(!log.contains(secret), "{secret:?} appears in the log:\n{log}");
        assert!(!stored.contains(secret), "{secret:?} is stored in the database");
    }
}
