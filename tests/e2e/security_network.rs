//! Issue 10's network controls against the real binary: allow-lists, trusted proxies, limits on
//! guessing, `METRICS_TOKEN`, secrets from files, the admin token's strength and TLS. Client
//! addresses other than loopback come through `X-Forwarded-For` from a trusted 127.0.0.1, so
//! no other address is ever contacted.

use std::process::Command;

use serde_json::Value;

use crate::helpers::{ADMIN_TOKEN, Env, TEST_KEY, TestApp, binary, fixture, sign};

/// Loopback is the merchant's own proxy in these tests.
const PROXY: (&str, &str) = ("TRUSTED_PROXIES", "127.0.0.1");
/// PayRam's servers, as the merchant lists them.
const PAYRAM_NET: &str = "198.51.100.0/24";
const PAYRAM_IP: &str = "198.51.100.7";
const STRANGER_IP: &str = "203.0.113.5";

impl TestApp {
    /// POSTs `body` signed with the test key, as coming from `client` through the proxy.
    async fn post_signed_from(&self, client: &str, body: &[u8]) -> (u16, Value) {
        let request = self
            .client
            .post(self.url("/webhook"))
            .header("X-Forwarded-For", client)
            .header("X-Payram-Signature", sign(TEST_KEY, body))
            .body(body.to_vec());
        self.send(request).await
    }

    /// POSTs `body` with a wrong signature from `client`, and the answer's `Retry-After`.
    async fn post_forged_from(&self, client: &str, body: &[u8]) -> (u16, Option<String>, Value) {
        let response = self
            .client
            .post(self.url("/webhook"))
            .header("X-Forwarded-For", client)
            .header("X-Payram-Signature", sign("not-the-key", body))
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let retry_after =
            response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
        (status, retry_after, response.json().await.unwrap())
    }

    /// GETs an admin path with `token` as coming from `client`.
    async fn admin_get_from(&self, client: &str, path: &str, token: &str) -> (u16, Value) {
        let request =
            self.client.get(self.url(path)).header("X-Forwarded-For", client).bearer_auth(token);
        self.send(request).await
    }

    /// How many events the server recorded.
    async fn event_count(&self) -> usize {
        let (code, events) = self.admin_get("/api/events?limit=500").await;
        assert_eq!(code, 200, "{events}");
        events["events"].as_array().unwrap().len()
    }
}

#[tokio::test]
async fn the_webhook_answers_only_allowed_addresses_and_records_nothing_else() {
    let app =
        TestApp::spawn_with(&[PROXY, ("ALLOWED_IPS", &format!("{PAYRAM_NET}, 2001:db8::/32"))])
            .await;
    let body = fixture("filled_strings.json");

    let (code, answer) = app.post_signed_from(STRANGER_IP, &body).await;
    assert_eq!((code, answer["error"].as_str()), (403, Some("forbidden")), "{answer}");
    // Loopback itself (the proxy, sending no forwarding header) is not exempt.
    let (code, _) = app.post_signed(&body).await;
    assert_eq!(code, 403);
    // Nor is PayRam's test ping.
    let ping = app
        .client
        .post(app.url("/webhook"))
        .header("X-Forwarded-For", STRANGER_IP)
        .header("X-Webhook-Test", "true")
        .body(r#"{"test":true}"#);
    assert_eq!(app.send(ping).await.0, 403);
    assert_eq!(app.event_count().await, 0, "nothing recorded for refused addresses");

    let (code, answer) = app.post_signed_from(PAYRAM_IP, &body).await;
    assert_eq!(code, 200, "{answer}");
    let (code, _) = app.post_signed_from("2001:db8::42", &fixture("open_no_deposit.json")).await;
    assert_eq!(code, 200);
    assert_eq!(app.event_count().await, 2);

    // Health, readiness and metrics are not behind the webhook's list.
    for path in ["/healthz", "/readyz", "/metrics"] {
        let request = app.client.get(app.url(path)).header("X-Forwarded-For", STRANGER_IP);
        let status = request.send().await.unwrap().status().as_u16();
        assert_eq!(status, 200, "{path}");
    }
    // The refusal is logged with the client address.
    assert!(app.log().contains(STRANGER_IP), "the refused client is logged");
}

#[tokio::test]
async fn forwarding_headers_are_ignored_unless_the_peer_is_a_trusted_proxy() {
    // No TRUSTED_PROXIES: the client is the TCP peer (127.0.0.1), whatever it claims.
    let app = TestApp::spawn_with(&[("ALLOWED_IPS", PAYRAM_NET)]).await;
    let body = fixture("filled_strings.json");
    for (name, value) in [
        ("X-Forwarded-For", PAYRAM_IP),
        ("Forwarded", "for=198.51.100.7"),
        ("X-Real-IP", PAYRAM_IP),
    ] {
        let request = app
            .client
            .post(app.url("/webhook"))
            .header(name, value)
            .header("X-Payram-Signature", sign(TEST_KEY, &body))
            .body(body.clone());
        assert_eq!(app.send(request).await.0, 403, "{name} from an untrusted peer");
    }

    // Trusted: the rightmost entry that is not a trusted proxy is the client.
    let app = TestApp::spawn_with(&[PROXY, ("ALLOWED_IPS", PAYRAM_NET)]).await;
    let spoofed_left = format!("{PAYRAM_IP}, {STRANGER_IP}");
    assert_eq!(app.post_signed_from(&spoofed_left, &body).await.0, 403);
    let (code, _) = app.post_signed_from(&format!("{STRANGER_IP}, {PAYRAM_IP}"), &body).await;
    assert_eq!(code, 200);
    let forwarded = app
        .client
        .post(app.url("/webhook"))
        .header("Forwarded", "for=\"198.51.100.9:4711\";proto=https")
        .header("X-Payram-Signature", sign(TEST_KEY, &body))
        .body(body.clone());
    assert_eq!(app.send(forwarded).await.0, 200);
    // X-Real-IP is never read, even from a trusted proxy.
    let real_ip = app
        .client
        .post(app.url("/webhook"))
        .header("X-Real-IP", PAYRAM_IP)
        .header("X-Payram-Signature", sign(TEST_KEY, &body))
        .body(body.clone());
    assert_eq!(app.send(real_ip).await.0, 403);
}

#[tokio::test]
async fn the_admin_allow_list_guards_the_api_and_the_dashboard_only() {
    let app = TestApp::spawn_with(&[PROXY, ("ADMIN_ALLOWED_IPS", "192.0.2.0/24")]).await;
    let (code, answer) = app.admin_get_from(STRANGER_IP, "/api/payments", ADMIN_TOKEN).await;
    assert_eq!((code, answer["error"].as_str()), (403, Some("forbidden")));
    let (code, _) = app.admin_get_from("192.0.2.10", "/api/payments", ADMIN_TOKEN).await;
    assert_eq!(code, 200);
    for path in ["/dashboard", "/dashboard/login"] {
        let request = app.client.get(app.url(path)).header("X-Forwarded-For", STRANGER_IP);
        assert_eq!(request.send().await.unwrap().status().as_u16(), 403, "{path}");
    }
    let request =
        app.client.get(app.url("/dashboard/login")).header("X-Forwarded-For", "192.0.2.10");
    assert_eq!(request.send().await.unwrap().status().as_u16(), 200);
    // The webhook is not behind the admin list.
    let (code, _) = app.post_signed_from(STRANGER_IP, &fixture("filled_strings.json")).await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn failed_webhook_authentications_are_limited_per_address_but_payram_is_always_served() {
    let app = TestApp::spawn_with(&[PROXY, ("AUTH_FAILURE_LIMIT", "3")]).await;
    let body = fixture("filled_strings.json");
    for _ in 0..3 {
        let (code, _, answer) = app.post_forged_from(STRANGER_IP, &body).await;
        assert_eq!(code, 401, "{answer}");
    }
    let (code, retry_after, answer) = app.post_forged_from(STRANGER_IP, &body).await;
    assert_eq!((code, answer["error"].as_str()), (429, Some("rate_limited")), "{answer}");
    let retry_after: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=20).contains(&retry_after), "one failure refills in 20 s: {retry_after}");

    // A request from the same address that authenticates is served: a stranger sharing
    // PayRam's address (or spoofing nothing) cannot lock PayRam out.
    let (code, answer) = app.post_signed_from(STRANGER_IP, &body).await;
    assert_eq!(code, 200, "{answer}");
    // Other addresses have their own budget.
    let (code, _, _) = app.post_forged_from(PAYRAM_IP, &body).await;
    assert_eq!(code, 401);
    assert_eq!(app.event_count().await, 1, "no failed attempt was recorded");
    assert_eq!(app.customer_balance("cust_2002").await, "12.00");
}

#[tokio::test]
async fn wrong_admin_tokens_lock_the_address_out_until_the_bucket_refills() {
    let app = TestApp::spawn_with(&[PROXY, ("AUTH_FAILURE_LIMIT", "2")]).await;
    for _ in 0..2 {
        let (code, _) = app.admin_get_from(STRANGER_IP, "/api/payments", "wrong-token-guess").await;
        assert_eq!(code, 401);
    }
    let (code, answer) =
        app.admin_get_from(STRANGER_IP, "/api/payments", "wrong-token-guess").await;
    assert_eq!((code, answer["error"].as_str()), (429, Some("rate_limited")));
    // Even the right token is refused from that address until the bucket refills...
    let (code, _) = app.admin_get_from(STRANGER_IP, "/api/payments", ADMIN_TOKEN).await;
    assert_eq!(code, 429);
    // ...and the dashboard's sign-in shares the budget.
    let sign_in = app
        .client
        .post(app.url("/dashboard/login"))
        .header("X-Forwarded-For", STRANGER_IP)
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(sign_in.status().as_u16(), 429);
    assert!(sign_in.headers().contains_key("retry-after"));
    assert!(sign_in.text().await.unwrap().contains("Too many failed sign-ins"));
    // Another address is not affected.
    let (code, _) = app.admin_get_from("192.0.2.10", "/api/payments", ADMIN_TOKEN).await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn ten_thousand_failing_addresses_keep_memory_bounded_and_the_server_serving() {
    let app = TestApp::spawn_with(&[PROXY]).await;
    let rss_before = rss_kib(app.pid());
    let body = fixture("filled_strings.json");
    let signature = sign("not-the-key", &body);
    let mut refused = 0;
    for n in 0..10_000_u32 {
        let ip = format!("10.{}.{}.{}", n >> 16, (n >> 8) & 0xff, n & 0xff);
        let response = app
            .client
            .post(app.url("/webhook"))
            .header("X-Forwarded-For", ip)
            .header("X-Payram-Signature", &signature)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401, "each address fails once: 401, not 429");
        refused += 1;
    }
    assert_eq!(refused, 10_000);
    let rss_after = rss_kib(app.pid());
    // The counters hold at most 16,384 addresses (about 100 bytes each).
    assert!(
        rss_after < rss_before + 32 * 1024,
        "memory grew from {rss_before} KiB to {rss_after} KiB"
    );
    let (code, _) = app.post_signed(&body).await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn metrics_token_guards_metrics_when_set() {
    let app = TestApp::spawn_with(&[("METRICS_TOKEN", "metrics-scraper-token-42")]).await;
    let plain = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(plain.status().as_u16(), 401);
    let wrong = app.client.get(app.url("/metrics")).bearer_auth("nope").send().await.unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let right =
        app.client.get(app.url("/metrics")).bearer_auth("metrics-scraper-token-42").send().await;
    let right = right.unwrap();
    assert_eq!(right.status().as_u16(), 200);
    assert!(right.text().await.unwrap().contains("payram_database_up 1"));
    // The admin token is not the metrics token.
    let admin = app.client.get(app.url("/metrics")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(admin.status().as_u16(), 401);
    // /healthz and /readyz stay open.
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
}

#[tokio::test]
async fn secrets_are_read_from_files_with_the_trailing_newline_ignored() {
    let secrets = tempfile::tempdir().unwrap();
    let keys = secrets.path().join("keys");
    let token = secrets.path().join("token");
    std::fs::write(&keys, format!("old-key-in-a-file,{TEST_KEY}\n")).unwrap();
    std::fs::write(&token, "admin-token-from-a-file-0001\n").unwrap();
    // The harness sets both variables; blank ones count as unset.
    let env: Env<'_> = &[
        ("PAYRAM_API_KEYS", ""),
        ("ADMIN_TOKEN", ""),
        ("PAYRAM_API_KEYS_FILE", keys.to_str().unwrap()),
        ("ADMIN_TOKEN_FILE", token.to_str().unwrap()),
    ];
    let app = TestApp::spawn_with(env).await;
    let (code, answer) = app.post_signed(&fixture("filled_strings.json")).await;
    assert_eq!(code, 200, "{answer}");
    let request =
        app.client.get(app.url("/api/payments")).bearer_auth("admin-token-from-a-file-0001");
    assert_eq!(app.send(request).await.0, 200);
    let log = app.log();
    assert!(!log.contains("admin-token-from-a-file") && !log.contains(TEST_KEY), "{log}");
}

#[test]
fn a_secret_set_twice_or_a_short_admin_token_refuses_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let file = dir.path().join("token");
    std::fs::write(&file, "file-admin-token-0123456789").unwrap();
    let base = [("DATABASE_URL", db.to_str().unwrap()), ("BIND_ADDR", "127.0.0.1:0")];

    let both = [
        ("PAYRAM_API_KEYS", TEST_KEY),
        ("ADMIN_TOKEN", "env-admin-token-0123456789"),
        ("ADMIN_TOKEN_FILE", file.to_str().unwrap()),
    ];
    let (ok, stderr) = run_serve(&base, &both);
    assert!(!ok);
    assert!(stderr.contains("ADMIN_TOKEN and ADMIN_TOKEN_FILE are both set"), "{stderr}");
    assert!(!stderr.contains("env-admin-token") && !stderr.contains("file-admin-token"));

    let keys = dir.path().join("keys");
    std::fs::write(&keys, TEST_KEY).unwrap();
    let both_keys =
        [("PAYRAM_API_KEYS", TEST_KEY), ("PAYRAM_API_KEYS_FILE", keys.to_str().unwrap())];
    let (ok, stderr) = run_serve(&base, &both_keys);
    assert!(!ok);
    assert!(stderr.contains("PAYRAM_API_KEYS and PAYRAM_API_KEYS_FILE"), "{stderr}");
    assert!(!stderr.contains(TEST_KEY), "{stderr}");

    let (ok, stderr) = run_serve(&base, &[("PAYRAM_API_KEYS", TEST_KEY), ("ADMIN_TOKEN", "a")]);
    assert!(!ok);
    assert!(stderr.contains("ADMIN_TOKEN is shorter than 16 characters"), "{stderr}");
    assert!(!db.exists(), "nothing is created when the configuration is refused");

    // doctor reports it on its config line.
    let output = Command::new(binary())
        .args(["doctor"])
        .env_clear()
        .envs(base)
        .envs([("PAYRAM_API_KEYS", TEST_KEY), ("ADMIN_TOKEN", "a")])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("ADMIN_TOKEN is shorter than 16 characters"), "{stdout}");

    let (ok, stderr) = run_serve(
        &base,
        &[("PAYRAM_API_KEYS", TEST_KEY), ("ALLOWED_IPS", "10.0.0.0/8, 10.0.0.256")],
    );
    assert!(!ok);
    assert!(stderr.contains("ALLOWED_IPS: \"10.0.0.256\""), "{stderr}");
}

#[tokio::test]
async fn tls_serves_https_only() {
    let certs = tempfile::tempdir().unwrap();
    let signed =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let cert_pem = signed.cert.pem();
    let cert = certs.path().join("cert.pem");
    let key = certs.path().join("key.pem");
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, signed.signing_key.serialize_pem()).unwrap();
    let mut app = TestApp::spawn_with(&[
        ("TLS_CERT", cert.to_str().unwrap()),
        ("TLS_KEY", key.to_str().unwrap()),
    ])
    .await;
    assert!(app.base.starts_with("https://127.0.0.1:"), "{}", app.base);
    app.client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let (code, answer) = app.post_signed(&fixture("filled_strings.json")).await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(app.customer_balance("cust_2002").await, "12.00");
    // Plain HTTP on the same port gets no answer.
    let plain = reqwest::Client::new()
        .get(app.base.replacen("https://", "http://", 1) + "/healthz")
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());

    // One without the other refuses the start, naming the missing one.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let base = [("DATABASE_URL", db.to_str().unwrap()), ("PAYRAM_API_KEYS", TEST_KEY)];
    let (ok, stderr) = run_serve(&base, &[("TLS_CERT", cert.to_str().unwrap())]);
    assert!(!ok);
    assert!(stderr.contains("TLS_CERT is set but TLS_KEY is not"), "{stderr}");
    let (ok, stderr) = run_serve(
        &base,
        &[("TLS_CERT", key.to_str().unwrap()), ("TLS_KEY", key.to_str().unwrap())],
    );
    assert!(!ok);
    assert!(stderr.contains("TLS_CERT"), "a key is not a certificate: {stderr}");
}

/// Runs `serve` with `base` and `env` (nothing else) until it exits: whether it succeeded and
/// its standard error.
fn run_serve(base: &[(&str, &str)], env: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(binary())
        .arg("serve")
        .env_clear()
        .envs(base.iter().copied())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (output.status.success(), String::from_utf8(output.stderr).unwrap())
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn many_health_and_metrics_pollers_never_starve_a_signed_webhook() {
    use std::sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    };
    let app = TestApp::spawn().await;
    let stop = Arc::new(AtomicBool::new(false));
    let polls = Arc::new(AtomicUsize::new(0));
    let pollers: Vec<_> = (0..150)
        .map(|n| {
            let (client, stop, polls) = (app.client.clone(), Arc::clone(&stop), Arc::clone(&polls));
            let url = app.url(if n % 2 == 0 { "/readyz" } else { "/metrics" });
            tokio::spawn(async move {
                // At least once each, then until the webhooks are done.
                loop {
                    let status = client.get(&url).send().await.unwrap().status().as_u16();
                    assert_eq!(status, 200, "{url}");
                    polls.fetch_add(1, Ordering::Relaxed);
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                }
            })
        })
        .collect();
    for n in 0..20 {
        let body = format!(
            r#"{{"reference_id":"poll-{n}","status":"FILLED","customer_id":"polled","filled_amount_in_usd":"1.50"}}"#
        );
        let (code, answer) = app.post_signed(body.as_bytes()).await;
        assert_eq!(code, 200, "{answer}");
    }
    stop.store(true, Ordering::Relaxed);
    for poller in pollers {
        poller.await.unwrap();
    }
    assert!(polls.load(Ordering::Relaxed) >= 150, "every poller polled");
    assert_eq!(app.customer_balance("polled").await, "30.00");
}
