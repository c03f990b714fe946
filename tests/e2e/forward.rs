//! Credit forwarding: every credit reaches the merchant's application through the outbox,
//! signed the Standard Webhooks way (verified with the official Python library), with a stable
//! `webhook-id`, retried with backoff until a 2xx, dead after the last attempt, replayable, and
//! never lost across a restart.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    sync::mpsc,
};

#[cfg(feature = "system-tests")]
use crate::helpers::run_python;
use crate::helpers::{ADMIN_TOKEN, TestApp, binary};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// A bound on waiting for a delivery (never waited out when the server behaves).
const DELIVERY_LIMIT: Duration = Duration::from_secs(30);

/// One request the merchant's application received.
#[derive(Clone, Debug)]
struct Received {
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map_or_else(|| panic!("no {name} header: {self:?}"), |(_, value)| value.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// The merchant's application: a real HTTP server on a loopback port that answers with the
/// scripted statuses, then 200, and reports every request.
struct Merchant {
    url: String,
    received: mpsc::UnboundedReceiver<Received>,
}

impl Merchant {
    async fn start(script: &[u16]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::on(listener, script)
    }

    fn on(listener: TcpListener, script: &[u16]) -> Self {
        let url = format!("http://{}/payram-credits", listener.local_addr().unwrap());
        let answers = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<_>>()));
        let (tx, received) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let (tx, answers) = (tx.clone(), Arc::clone(&answers));
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut stream).await else { return };
                    let status = answers.lock().unwrap().pop_front().unwrap_or(200);
                    let answer = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                    let _ = tx.send(request);
                });
            }
        });
        Self { url, received }
    }

    async fn next(&mut self) -> Received {
        tokio::time::timeout(DELIVERY_LIMIT, self.received.recv())
            .await
            .expect("a delivery arrives in time")
            .unwrap()
    }
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut data = Vec::new();
    let mut buf = [0; 8192];
    loop {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8(data[..end].to_vec()).unwrap();
        let headers: Vec<(String, String)> = head
            .lines()
            .skip(1)
            .filter_map(|line| line.split_once(':'))
            .map(|(key, value)| (key.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(key, _)| key == "content-length")
            .map_or(0, |(_, value)| value.parse().unwrap());
        while data.len() < end + 4 + length {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            data.extend_from_slice(&buf[..n]);
        }
        let body = String::from_utf8(data[end + 4..end + 4 + length].to_vec()).unwrap();
        return Some(Received { headers, body });
    }
}

/// The server's forwarding settings, with fast retries.
fn forwarding(url: &str, max_attempts: &'static str) -> Vec<(&'static str, String)> {
    vec![
        ("CREDIT_FORWARD_URL", url.to_owned()),
        ("CREDIT_FORWARD_SECRET", SECRET.to_owned()),
        ("CREDIT_FORWARD_MAX_ATTEMPTS", max_attempts.to_owned()),
        ("CREDIT_FORWARD_BASE_DELAY_MS", "100".to_owned()),
        ("CREDIT_FORWARD_MAX_DELAY_MS", "400".to_owned()),
        ("CREDIT_FORWARD_POLL_INTERVAL_MS", "20".to_owned()),
        ("CREDIT_FORWARD_TIMEOUT_MS", "5000".to_owned()),
    ]
}

async fn spawn(env: &[(&'static str, String)]) -> TestApp {
    let env: Vec<(&str, &str)> = env.iter().map(|(key, value)| (*key, value.as_str())).collect();
    TestApp::spawn_with(&env).await
}

fn notification(reference: &str, status: &str, usd: &str) -> Vec<u8> {
    format!(
        concat!(
            r#"{{"reference_id":"{}","status":"{}","customer_id":"cust-{}","amount":"100.00","#,
            r#""currency":"USDC","filled_amount":"{}","filled_amount_in_usd":"{}"}}"#
        ),
        reference, status, reference, usd, usd
    )
    .into_bytes()
}

/// Verifies deliveries with the official Standard Webhooks library (Python: `system-tests`).
#[cfg(feature = "system-tests")]
async fn verify_with_standard_webhooks(secret: &str, deliveries: &[Received]) {
    let input = json!({
        "secret": secret,
        "deliveries": deliveries.iter().map(|delivery| json!({
            "headers": {
                "webhook-id": delivery.header("webhook-id"),
                "webhook-timestamp": delivery.header("webhook-timestamp"),
                "webhook-signature": delivery.header("webhook-signature"),
            },
            "body": delivery.body,
        })).collect::<Vec<_>>(),
    });
    let run = run_python("verify_standard_webhooks.py", &[], input.to_string().as_bytes()).await;
    assert!(run.success, "standardwebhooks refused a delivery: {}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout.trim(), format!("verified {}", deliveries.len()));
}

/// Polls the admin API until the outbox entries of `query` are `ready` (bounded by
/// `DELIVERY_LIMIT`, not a sleep): a delivery is recorded just after the receiver answers.
async fn outbox_when(app: &TestApp, query: &str, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + DELIVERY_LIMIT;
    loop {
        let entries = outbox(app, query).await;
        if ready(&entries) {
            return entries;
        }
        assert!(tokio::time::Instant::now() < deadline, "outbox{query} never ready: {entries:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn outbox(app: &TestApp, query: &str) -> Vec<Value> {
    let (code, answer) = app.admin_get(&format!("/api/outbox{query}")).await;
    assert_eq!(code, 200, "{answer}");
    answer["outbox"].as_array().unwrap().clone()
}

#[tokio::test]
async fn every_credit_is_forwarded_signed_and_retried_until_a_2xx() {
    // The first delivery is refused twice, then accepted.
    let mut merchant = Merchant::start(&[500, 503]).await;
    let app = spawn(&forwarding(&merchant.url, "10")).await;

    let (code, answer) = app.post_signed(&notification("fwd-1", "PARTIALLY_FILLED", "40.00")).await;
    assert_eq!((code, answer["credited"].as_str()), (200, Some("40.00")));
    let attempts = [merchant.next().await, merchant.next().await, merchant.next().await];
    // Retries carry the same id and the same body; only the timestamp and signature may change.
    for attempt in &attempts[1..] {
        assert_eq!(attempt.header("webhook-id"), attempts[0].header("webhook-id"));
        assert_eq!(attempt.body, attempts[0].body);
    }
    let first = &attempts[2];
    assert_eq!(first.header("content-type"), "application/json");
    let data = &first.json()["data"];
    assert_eq!(first.json()["type"], "credit.created");
    assert_eq!(
        (&data["customer_id"], &data["reference_id"], &data["amount_usd"]),
        (&json!("cust-fwd-1"), &json!("fwd-1"), &json!("40.00"))
    );
    assert_eq!(
        (&data["credited_total_usd"], &data["status"]),
        (&json!("40.00"), &json!("PARTIALLY_FILLED"))
    );
    assert_eq!(first.header("webhook-id"), format!("credit_{}", data["credit_id"]));

    // A duplicate credits nothing and forwards nothing; the FILLED credits the rest.
    app.post_signed(&notification("fwd-1", "PARTIALLY_FILLED", "40.00")).await;
    let (_, answer) = app.post_signed(&notification("fwd-1", "FILLED", "100.00")).await;
    assert_eq!(answer["credited"], "60.00");
    let second = merchant.next().await;
    assert_eq!(
        (&second.json()["data"]["amount_usd"], &second.json()["data"]["credited_total_usd"]),
        (&json!("60.00"), &json!("100.00"))
    );
    assert_ne!(second.header("webhook-id"), first.header("webhook-id"));

    #[cfg(feature = "system-tests")]
    verify_with_standard_webhooks(SECRET, &[attempts[0].clone(), first.clone(), second.clone()])
        .await;

    // The receiver got the second credit; the server records the delivery just after.
    let entries = outbox_when(&app, "?state=delivered", |entries| entries.len() == 2).await;
    let summary: Vec<(Value, Value)> =
        entries.iter().map(|e| (e["amount_usd"].clone(), e["attempts"].clone())).collect();
    assert_eq!(summary, [(json!("60.00"), json!(1)), (json!("40.00"), json!(3))]);
    assert!(outbox(&app, "?state=pending").await.is_empty());
    assert!(merchant.received.try_recv().is_err(), "nothing more was forwarded");
}

#[tokio::test]
async fn after_the_last_attempt_an_entry_is_dead_and_a_replay_delivers_it() {
    let mut merchant = Merchant::start(&[500, 500]).await;
    let app = spawn(&forwarding(&merchant.url, "2")).await;
    app.post_signed(&notification("fwd-dead", "FILLED", "25.00")).await;
    let (first, second) = (merchant.next().await, merchant.next().await);
    assert_eq!(first.header("webhook-id"), second.header("webhook-id"));

    let dead = outbox_when(&app, "?state=dead", |dead| !dead.is_empty()).await;
    assert_eq!(dead[0]["attempts"], 2);
    assert!(dead[0]["last_error"].as_str().unwrap().contains("500"), "{}", dead[0]);
    assert!(app.log().contains("DEAD LETTER"), "a dead letter is logged loudly");

    let id = dead[0]["id"].as_i64().unwrap();
    let (code, answer) = app
        .send(
            app.client.post(app.url(&format!("/api/outbox/{id}/replay"))).bearer_auth(ADMIN_TOKEN),
        )
        .await;
    assert_eq!((code, &answer["state"]), (200, &json!("delivered")), "{answer}");
    let replayed = merchant.next().await;
    assert_eq!(replayed.header("webhook-id"), first.header("webhook-id"));
    assert_eq!(replayed.body, first.body);
}

#[tokio::test]
async fn a_credit_made_while_the_receiver_is_down_is_delivered_after_a_restart() {
    // Reserve a port for the merchant, then close it: the receiver is down.
    let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/payram-credits");
    let app = spawn(&forwarding(&url, "50")).await;
    let (code, _) = app.post_signed(&notification("fwd-restart", "FILLED", "12.34")).await;
    assert_eq!(code, 200);
    let db = app.db_path();
    let dir = app.kill().await;

    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let mut merchant = Merchant::on(listener, &[]);
    let env = forwarding(&url, "50");
    let env: Vec<(&str, &str)> = env.iter().map(|(key, value)| (*key, value.as_str())).collect();
    let app = TestApp::spawn_on(dir, &db, &env).await;
    let delivered = merchant.next().await;
    assert_eq!(delivered.json()["data"]["amount_usd"], "12.34");
    assert_eq!(delivered.json()["data"]["reference_id"], "fwd-restart");
    drop(app);
}

#[tokio::test]
async fn without_forwarding_nothing_is_written_to_the_outbox_and_its_api_is_404() {
    let app = TestApp::spawn().await;
    app.post_signed(&notification("fwd-off", "FILLED", "5.00")).await;
    let (code, answer) = app.admin_get("/api/outbox").await;
    assert_eq!((code, answer), (404, json!({"error": "not_found"})));
    let mut db = crate::helpers::Db::open(&app.db_path());
    assert_eq!(db.count("outbox"), 0);
}

#[tokio::test]
async fn a_secret_not_in_the_standard_format_is_refused_at_start() {
    let output = tokio::process::Command::new(binary())
        .arg("serve")
        .env_clear()
        .env("PAYRAM_API_KEYS", "k")
        .env("DATABASE_URL", tempfile::tempdir().unwrap().path().join("x.db"))
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("CREDIT_FORWARD_URL", "http://127.0.0.1:9/credits")
        .env("CREDIT_FORWARD_SECRET", "plain-password-123")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("CREDIT_FORWARD_SECRET") && stderr.contains("whsec_"), "{stderr}");
    assert!(!stderr.contains("plain-password-123"), "the secret is never echoed: {stderr}");
}

#[tokio::test]
async fn forward_secret_prints_a_fresh_secret_the_official_library_accepts() {
    let run = || async {
        let output =
            tokio::process::Command::new(binary()).arg("forward-secret").output().await.unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    let (one, two) = (run().await, run().await);
    assert!(one.starts_with("whsec_") && one.len() > 40, "{one}");
    assert_ne!(one, two);

    // A server configured with it forwards deliveries that verify under it.
    let mut merchant = Merchant::start(&[]).await;
    let mut env = forwarding(&merchant.url, "5");
    env[1].1.clone_from(&one);
    let app = spawn(&env).await;
    app.post_signed(&notification("fwd-secret", "FILLED", "1.00")).await;
    let delivered = merchant.next().await;
    assert!(delivered.header("webhook-signature").starts_with("v1,"), "{delivered:?}");
    #[cfg(feature = "system-tests")]
    verify_with_standard_webhooks(&one, &[delivered]).await;
}
