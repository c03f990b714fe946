//! Graceful shutdown: SIGTERM stops accepting, finishes the requests in flight (each either
//! committed and answered 200, or not committed), and exits 0.

use std::{
    collections::HashMap,
    io::ErrorKind,
    path::Path,
    time::{Duration, Instant},
};

use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::mpsc,
};

use crate::helpers::{
    Db, PaymentPlan, Planned, Rng, TEST_KEY, TestApp, cents, check_ledger, deliver, generate_plans,
    one_connection_client, planned_deliveries, sign,
};

const SEED: u64 = 0x0000_5167_7e53_0001;
const PAYMENTS: usize = 30;
/// Requests whose body is half sent when SIGTERM arrives.
const SLOW: usize = 50;
/// Requests sent whole around the SIGTERM, racing it.
const FAST: usize = 30;
/// Answers of fast requests awaited before the SIGTERM, so that the others are in flight.
const FAST_BEFORE_SIGTERM: usize = 1;
/// How long the slow clients hold the rest of their bodies after the SIGTERM.
const SLOW_CLIENT_PAUSE: Duration = Duration::from_millis(2500);
/// Bounds on failure, never waited out when the server behaves.
const LIMIT: Duration = Duration::from_secs(90);
const EXIT_LIMIT: Duration = Duration::from_secs(20);
const REFUSE_LIMIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_requests_in_flight_refuses_new_ones_and_exits_0() {
    crate::helpers::built().await;
    tokio::time::timeout(LIMIT, shutdown_and_check()).await.expect("the test ends in time");
}

async fn shutdown_and_check() {
    let started = Instant::now();
    let mut rng = Rng::new(SEED);
    let plans = generate_plans(&mut rng, "stop", PAYMENTS, PAYMENTS);
    let deliveries = planned_deliveries(&plans, &mut rng);
    assert!(deliveries.len() > SLOW + FAST);
    let app = TestApp::spawn().await;
    let addr = app.addr();

    // 1. Requests in flight: headers and half of the body sent, the rest held back.
    let mut slow = Vec::new();
    for delivery in &deliveries[..SLOW] {
        slow.push(SlowRequest::start(&addr, &delivery.body).await);
    }
    // The accept queue is first in, first out: once a request on a later connection is
    // answered, the server has accepted every slow connection.
    let (code, _) = app.send(app.client.get(app.url("/healthz"))).await;
    assert_eq!(code, 200);

    // 2. Whole requests racing the SIGTERM, each on its own connection.
    let (answers_tx, mut answers_rx) = mpsc::unbounded_channel();
    for (index, delivery) in deliveries.iter().enumerate().skip(SLOW).take(FAST) {
        let (url, body, answers) = (app.url("/webhook"), delivery.body.clone(), answers_tx.clone());
        tokio::spawn(async move {
            let client = one_connection_client();
            let answer = deliver(&client, &url, &body).await;
            // The receiver is gone only if the test already failed.
            let _ = answers.send((index, answer));
        });
    }
    drop(answers_tx);
    let mut fast = Vec::new();
    while fast.len() < FAST_BEFORE_SIGTERM {
        fast.push(answers_rx.recv().await.unwrap());
    }

    // 3. SIGTERM: the listener closes while the slow requests are still in flight.
    app.terminate();
    wait_until_refused(&addr).await;

    // 4. Every request accepted before the SIGTERM is finished and answered, however slow
    //    its client (within the 30 s shutdown timeout). The pause is the slow clients' pace,
    //    part of the workload, not a synchronisation: actix checks its shutdown deadline
    //    once a second, so a pace below that would not tell a 30 s timeout from none.
    tokio::time::sleep(SLOW_CLIENT_PAUSE).await;
    let mut answers: Vec<(usize, (u16, Value))> = Vec::new();
    for (index, request) in slow.into_iter().enumerate() {
        let answer = request.finish().await.unwrap_or_else(|err| {
            panic!("slow request {index}, accepted before SIGTERM, got no answer: {err}")
        });
        assert_eq!(answer.0, 200, "slow request {index}: {answer:?}");
        answers.push((index, answer));
    }
    while let Some(answer) = answers_rx.recv().await {
        fast.push(answer);
    }
    let (status, dir) = app.wait_exit(EXIT_LIMIT).await;
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM: {status}");

    // 5. A fast request either got its 200 or failed without an answer; the latter, and the
    //    deliveries never sent, are sent again to a new server on the same file.
    let mut resend: Vec<usize> = (SLOW + FAST..deliveries.len()).collect();
    let mut refused = 0;
    for (index, answer) in fast {
        match answer {
            Ok((200, answer)) => answers.push((index, (200, answer))),
            Ok((code, answer)) => panic!("fast request {index} answered {code}: {answer}"),
            Err(_) => {
                refused += 1;
                resend.push(index);
            }
        }
    }
    let db_path = dir.path().join("payram.db");
    let app = TestApp::spawn_on(dir, &db_path, &[]).await;
    for index in resend {
        let (code, answer) = app.post_signed(&deliveries[index].body).await;
        assert_eq!(code, 200, "{answer}");
        answers.push((index, (code, answer)));
    }
    eprintln!(
        "shutdown: {SLOW} slow and {FAST} fast requests, {refused} fast ones refused, {:?}",
        started.elapsed()
    );

    check_one_commit_per_answer(&app, &db_path, &plans, &deliveries, &answers).await;
}

/// Nothing committed without its answer, nothing credited twice: per payment, the credits
/// answered add up to the model's, and there is exactly one event per 200.
async fn check_one_commit_per_answer(
    app: &TestApp,
    db_path: &Path,
    plans: &[PaymentPlan],
    deliveries: &[Planned],
    answers: &[(usize, (u16, Value))],
) {
    let mut answered_credit = vec![0; plans.len()];
    let mut answered_bodies: HashMap<&[u8], usize> = HashMap::new();
    for (index, (_, answer)) in answers {
        let delivery = &deliveries[*index];
        assert_eq!(answer["reference_id"], plans[delivery.plan].reference_id.as_str());
        answered_credit[delivery.plan] += cents(answer["credited"].as_str().unwrap());
        *answered_bodies.entry(&delivery.body[..]).or_default() += 1;
    }
    for (index, plan) in plans.iter().enumerate() {
        assert_eq!(answered_credit[index], plan.expected_credit(), "{plan:?}");
        let (_, payment) = app.admin_get(&format!("/api/payments/{}", plan.reference_id)).await;
        assert_eq!(cents(payment["credited_usd"].as_str().unwrap()), plan.expected_credit());
        assert_eq!(payment["status"], plan.expected_status().name(), "{plan:?}: {payment}");
        let balance = cents(&app.customer_balance(&plan.customer_id).await);
        assert_eq!(balance, plan.expected_credit(), "{plan:?}");
    }
    let mut db = Db::open(db_path);
    let mut recorded: HashMap<&[u8], usize> = HashMap::new();
    let events = db.events();
    for event in &events {
        let body = answered_bodies
            .get_key_value(&event.raw_body[..])
            .unwrap_or_else(|| panic!("event {} was never answered 200", event.id))
            .0;
        *recorded.entry(body).or_default() += 1;
    }
    assert_eq!(recorded, answered_bodies, "one event per 200, none without");
    let (credited, _) = check_ledger(&mut db);
    for plan in plans {
        assert_eq!(credited[&plan.reference_id], plan.expected_credit(), "{plan:?}");
    }
    assert_eq!(db.integrity_check(), ["ok"]);
}

/// A webhook request over a raw connection, its body half sent.
struct SlowRequest {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl SlowRequest {
    async fn start(addr: &str, body: &[u8]) -> Self {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST /webhook HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nX-Payram-Signature: {}\r\nConnection: close\r\n\r\n",
            body.len(),
            sign(TEST_KEY, body)
        );
        let (first, rest) = body.split_at(body.len() / 2);
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(first).await.unwrap();
        stream.flush().await.unwrap();
        Self { stream, rest: rest.to_vec() }
    }

    /// Sends the rest of the body and reads the whole answer (the server closes the
    /// connection after it, as asked).
    async fn finish(mut self) -> Result<(u16, Value), String> {
        self.stream.write_all(&self.rest).await.map_err(|err| format!("send: {err}"))?;
        let mut raw = Vec::new();
        self.stream.read_to_end(&mut raw).await.map_err(|err| format!("read: {err}"))?;
        let text = String::from_utf8(raw).map_err(|err| format!("not UTF-8: {err}"))?;
        let (head, body) =
            text.split_once("\r\n\r\n").ok_or_else(|| format!("no complete answer: {text:?}"))?;
        let code = head
            .strip_prefix("HTTP/1.1 ")
            .and_then(|line| line.get(..3))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| format!("no status line: {head:?}"))?;
        assert!(!head.to_ascii_lowercase().contains("transfer-encoding"), "{head}");
        let answer = serde_json::from_str(body).map_err(|err| format!("{err}: {body:?}"))?;
        Ok((code, answer))
    }
}

/// Waits until a new connection to `addr` is refused.
async fn wait_until_refused(addr: &str) {
    let deadline = Instant::now() + REFUSE_LIMIT;
    loop {
        match TcpStream::connect(addr).await.map_err(|err| err.kind()) {
            Err(ErrorKind::ConnectionRefused) => return,
            // Accepted, or reset by a listener closing as it was queued: not closed yet.
            Ok(_) | Err(ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted) => {
                assert!(
                    Instant::now() < deadline,
                    "still listening {REFUSE_LIMIT:?} after SIGTERM"
                );
                // Poll again shortly: the listener closes asynchronously.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(kind) => panic!("connecting after SIGTERM: {kind}"),
        }
    }
}
