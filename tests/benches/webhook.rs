//! `make bench`: throughput and latency of the webhook, measured on the release binary over
//! real HTTP with a real SQLite file (WAL, `synchronous=FULL`), and printed. Nothing is
//! asserted: figures depend on the machine (its disk's fsync above all).
//!
//! Three loads, each on a fresh database: unique FILLED notifications (each one a credit),
//! the same notification again and again (duplicates: an event row each, no credit), and a mix
//! of payments with partial fills and repeats. `BENCH_DELIVERIES` and `BENCH_CONNECTIONS` set
//! the size (default 2000 over 16).

#![expect(
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "a measuring program: it stops loudly when the server misbehaves and prints figures"
)]

use std::{
    path::PathBuf,
    process::Stdio,
    sync::Arc,
    time::{Duration, Instant},
};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::Command,
};

const KEY: &str = "bench-project-api-key";

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).expect("any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn body(reference: &str, status: &str, usd: &str) -> Vec<u8> {
    format!(
        r#"{{"reference_id":"{reference}","status":"{status}","customer_id":"bench-cust","amount":"100.00","currency":"USDC","filled_amount":"{usd}","filled_amount_in_usd":"{usd}"}}"#
    )
    .into_bytes()
}

/// Builds the release binary once and returns its path.
fn binary() -> PathBuf {
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
    let status = std::process::Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "payram_merchant",
            "--bin",
            "payram-merchant",
        ])
        .arg("--target-dir")
        .arg(&target)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("CARGO_MANIFEST_DIR")
        .status()
        .expect("run cargo build --release");
    assert!(status.success(), "cargo build --release failed");
    target.join("release/payram-merchant")
}

struct Server {
    base: String,
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

async fn serve(binary: &PathBuf) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(binary)
        .arg("serve")
        .env_clear()
        .env("PAYRAM_API_KEYS", KEY)
        .env("DATABASE_URL", dir.path().join("bench.db"))
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the server");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    while let Some(line) = lines.next_line().await.expect("read stdout") {
        if let Some(base) = line.strip_prefix("payram-merchant listening on ") {
            return Server { base: base.to_owned(), _child: child, _dir: dir };
        }
    }
    panic!("the server did not start");
}

/// Sends every body over `connections` keep-alive connections; returns the wall time and each
/// request's latency.
async fn run(base: &str, bodies: Vec<Vec<u8>>, connections: usize) -> (Duration, Vec<Duration>) {
    let bodies = Arc::new(bodies);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let url = format!("{base}/webhook");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (bodies, next, url) = (Arc::clone(&bodies), Arc::clone(&next), url.clone());
        tasks.push(tokio::spawn(async move {
            let client =
                reqwest::Client::builder().pool_max_idle_per_host(1).build().expect("client");
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .header("X-Payram-Signature", sign(body))
                    .body(body.clone())
                    .send()
                    .await
                    .expect("send");
                assert_eq!(response.status(), 200, "{}", response.text().await.unwrap_or_default());
                latencies.push(sent.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("task"));
    }
    (started.elapsed(), latencies)
}

fn report(name: &str, wall: Duration, mut latencies: Vec<Duration>) {
    latencies.sort_unstable();
    let at = |q: usize| latencies[(latencies.len() * q / 100).min(latencies.len() - 1)];
    let n = latencies.len();
    let rate = u128::try_from(n).unwrap_or(0) * 1_000_000 / wall.as_micros().max(1);
    println!(
        "{name:<28} {n:>6} deliveries in {:>7.2?}  {rate:>6} /s  p50 {:>8.2?}  p99 {:>8.2?}  max {:>8.2?}",
        wall,
        at(50),
        at(99),
        latencies[n - 1]
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let deliveries = setting("BENCH_DELIVERIES", 2000);
    let connections = setting("BENCH_CONNECTIONS", 16);
    let binary = binary();
    println!(
        "payram-merchant webhook bench: {deliveries} deliveries over {connections} connections, release build, SQLite WAL + synchronous=FULL"
    );

    let unique: Vec<Vec<u8>> =
        (0..deliveries).map(|i| body(&format!("bench-{i}"), "FILLED", "100.00")).collect();
    let server = serve(&binary).await;
    let (wall, latencies) = run(&server.base, unique, connections).await;
    report("unique FILLED (a credit each)", wall, latencies);

    let same = vec![body("bench-same", "FILLED", "100.00"); deliveries];
    let server = serve(&binary).await;
    let (wall, latencies) = run(&server.base, same, connections).await;
    report("one FILLED, repeated", wall, latencies);

    let mixed: Vec<Vec<u8>> = (0..deliveries)
        .map(|i| {
            let payment = format!("bench-mix-{}", i / 4);
            match i % 4 {
                0 => body(&payment, "OPEN", "0"),
                2 => body(&payment, "FILLED", "100.00"),
                // The partial twice: once new, once stale after the FILLED.
                _ => body(&payment, "PARTIALLY_FILLED", "40.00"),
            }
        })
        .collect();
    let server = serve(&binary).await;
    let (wall, latencies) = run(&server.base, mixed, connections).await;
    report("mixed (open/partial/filled)", wall, latencies);
}
