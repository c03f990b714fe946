//! Real answers of the real binary validate against its own OpenAPI document
//! (`GET /api/openapi.json`), checked with Python's `jsonschema` (JSON Schema 2020-12).

use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, TestApp, fixture, run_python};

/// One answer: the documented path template, the method, the status and the JSON body.
struct Answers(Vec<Value>);

impl Answers {
    fn push(&mut self, method: &str, template: &str, (status, body): (u16, Value)) {
        self.0.push(json!({"method": method, "path": template, "status": status, "body": body}));
    }
}

#[tokio::test]
async fn real_answers_validate_against_the_openapi_document() {
    // Forwarding to a closed port: outbox entries stay pending, so the outbox has content.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let forward_url = format!("http://{closed}/credits");
    let app = TestApp::spawn_with(&[
        ("CREDIT_FORWARD_URL", forward_url.as_str()),
        ("CREDIT_FORWARD_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    ])
    .await;
    let (code, document) = app.send(app.client.get(app.url("/api/openapi.json"))).await;
    assert_eq!(code, 200);
    assert_eq!(document["openapi"], "3.1.0");

    let mut answers = Answers(Vec::new());
    let webhook = "/webhook";
    answers.push("post", webhook, app.post_signed(&fixture("partially_filled_strings.json")).await);
    answers.push("post", webhook, app.post_signed(&fixture("partially_filled_strings.json")).await);
    answers.push("post", webhook, app.post_signed(&fixture("filled_numbers.json")).await);
    answers.push("post", webhook, app.post_signed(&fixture("payout_processed.json")).await);
    answers.push("post", webhook, app.post_signed(&fixture("undefined_status.json")).await);
    answers.push("post", webhook, app.post_signed(b"{not json").await);
    answers.push("post", webhook, app.post_signed(br#"{"status":"FILLED"}"#).await);
    answers.push("post", webhook, app.post_legacy(b"{}").await);
    let ping = app
        .client
        .post(app.url(webhook))
        .header("X-Webhook-Test", "true")
        .body(fixture("payout_ping.json"));
    answers.push("post", webhook, app.send(ping).await);
    answers.push("post", webhook, app.send(app.client.post(app.url(webhook)).body("{}")).await);

    let (_, events) = app.admin_get("/api/events").await;
    let first_event = events["events"].as_array().unwrap().last().unwrap()["id"].as_i64().unwrap();
    let (_, payments) = app.admin_get("/api/payments?limit=1").await;
    let reference = payments["payments"][0]["reference_id"].as_str().unwrap().to_owned();
    let customer = payments["payments"][0]["customer_id"].as_str().unwrap().to_owned();
    for (template, uri) in [
        ("/api/payments", "/api/payments".to_owned()),
        ("/api/payments", "/api/payments?limit=1".to_owned()),
        ("/api/payments", "/api/payments?status=NOPE".to_owned()),
        ("/api/payments/{reference_id}", format!("/api/payments/{reference}")),
        ("/api/payments/{reference_id}", "/api/payments/unknown-ref".to_owned()),
        ("/api/customers", "/api/customers".to_owned()),
        ("/api/customers/{customer_id}", format!("/api/customers/{customer}")),
        ("/api/credits", "/api/credits".to_owned()),
        ("/api/keys", "/api/keys".to_owned()),
        ("/api/events", "/api/events".to_owned()),
        ("/api/events", "/api/events?outcome=applied&limit=2".to_owned()),
        ("/api/events/{id}", format!("/api/events/{first_event}")),
        ("/api/events/{id}", "/api/events/999999".to_owned()),
        ("/api/outbox", "/api/outbox".to_owned()),
        ("/api/outbox", "/api/outbox?state=pending".to_owned()),
    ] {
        answers.push("get", template, app.admin_get(&uri).await);
    }
    answers.push("get", "/api/payments", app.send(app.client.get(app.url("/api/payments"))).await);
    let replay = app.client.post(app.url(&format!("/api/events/{first_event}/replay")));
    answers.push(
        "post",
        "/api/events/{id}/replay",
        app.send(replay.bearer_auth(ADMIN_TOKEN)).await,
    );
    let (_, outbox) = app.admin_get("/api/outbox").await;
    let entry = outbox["outbox"][0]["id"].as_i64().expect("an outbox entry");
    let replay = app.client.post(app.url(&format!("/api/outbox/{entry}/replay")));
    answers.push(
        "post",
        "/api/outbox/{id}/replay",
        app.send(replay.bearer_auth(ADMIN_TOKEN)).await,
    );
    answers.push("get", "/healthz", app.send(app.client.get(app.url("/healthz"))).await);
    answers.push("get", "/readyz", app.send(app.client.get(app.url("/readyz"))).await);

    let input = json!({"document": document, "answers": answers.0});
    let run = run_python("validate_openapi.py", &[], input.to_string().as_bytes()).await;
    assert!(run.success, "answers do not match the document:\n{}{}", run.stderr, run.stdout);
    assert_eq!(run.stdout.trim(), format!("validated {}", answers.0.len()));
}
