//! Issue 10's slow, oversized and ambiguous clients against the real binary, over raw TCP:
//! `CLIENT_REQUEST_TIMEOUT`, `CLIENT_BODY_TIMEOUT`, `KEEP_ALIVE_TIMEOUT`, `MAX_CONNECTIONS`
//! (and the open-file limit), the 16 KiB head limit, and request smuggling shapes.
//!
//! Every case checks the answer, that nothing was recorded or credited, and that the server
//! still serves a normal signed webhook afterwards. Every wait is bounded ([`BOUND`]) and is a
//! bound on a failure: a test proceeds as soon as the bytes or the end of the stream arrive.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{TEST_KEY, TestApp, fixture, sign};

/// The longest any one exchange may take before the test fails. Far above every timeout the
/// tests configure (at most 2 s), so that a loaded machine does not fail a correct server.
const BOUND: Duration = Duration::from_secs(20);

/// The customer of `filled_strings.json`, credited 12.00 USD by the final normal webhook.
const FIXTURE_CUSTOMER: &str = "cust_2002";

/// Customer of every notification these tests craft: must never be credited by a refused one.
const ATTACK_CUSTOMER: &str = "slow-attacker";

// ---- Raw HTTP/1 ----

/// One answer read off a raw connection.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// Header names in lower case, values as sent.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    /// Parses the first answer of `buf`, with the number of bytes it used; `None` while it is
    /// incomplete. `closed`: the server closed the stream, so an answer without a length ends
    /// there.
    fn parse(buf: &[u8], closed: bool) -> Option<(Self, usize)> {
        let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = std::str::from_utf8(&buf[..end]).expect("an answer head is ASCII");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        assert!(status_line.starts_with("HTTP/1."), "not an HTTP/1 answer: {head:?}");
        let status = status_line[9..12].parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let answer = |body, used| Some((Self { status, headers: headers.clone(), body }, used));
        let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        if let Some(length) = header("content-length") {
            let length: usize = length.parse().unwrap();
            let body = buf.get(end..end + length)?;
            return answer(body.to_vec(), end + length);
        }
        if header("transfer-encoding").is_some_and(|te| te.eq_ignore_ascii_case("chunked")) {
            let (body, used) = dechunk(&buf[end..])?;
            return answer(body, end + used);
        }
        // No length: the answer ends with the connection.
        if closed { answer(buf[end..].to_vec(), buf.len()) } else { None }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!("answer {} is not JSON ({err}): {:?}", self.status, lossy(&self.body))
        })
    }

    /// The answer's JSON `error` code.
    fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }
}

/// A chunked body: its bytes and the length of its encoding; `None` while incomplete.
fn dechunk(buf: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let line_end = at + buf[at..].windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&buf[at..line_end]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        let data = line_end + 2;
        if size == 0 {
            // No trailers in our server's answers.
            buf.get(data..data + 2)?;
            return Some((body, data + 2));
        }
        body.extend_from_slice(buf.get(data..data + size)?);
        buf.get(data + size..data + size + 2)?;
        at = data + size + 2;
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A raw connection to the server: what a test writes and what came back.
struct Raw {
    stream: TcpStream,
    /// Read and not yet taken as an answer.
    unread: Vec<u8>,
    /// The server closed the connection (end of stream, or reset).
    closed: bool,
}

impl Raw {
    async fn open(app: &TestApp) -> Self {
        let stream = TcpStream::connect(app.addr()).await.unwrap();
        Self { stream, unread: Vec::new(), closed: false }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
        self.stream.flush().await.unwrap();
    }

    /// Sends what the server may refuse to read to the end: a write failing because the server
    /// already answered and closed is not an error here.
    async fn send_lossy(&mut self, bytes: &[u8]) {
        if let Err(err) = self.stream.write_all(bytes).await {
            eprintln!("write cut short by the server: {err}");
        }
    }

    /// Reads once more; marks the connection closed at its end.
    async fn fill(&mut self) {
        self.unread.reserve(16 * 1024);
        match self.stream.read_buf(&mut self.unread).await {
            Ok(0) | Err(_) => self.closed = true,
            Ok(_) => {}
        }
    }

    /// The next answer, `None` when the server closes the connection first. Fails when
    /// neither comes within `limit`, or the stream ends in the middle of an answer.
    async fn answer(&mut self, limit: Duration) -> Option<Answer> {
        let read = async {
            loop {
                if let Some((answer, used)) = Answer::parse(&self.unread, self.closed) {
                    self.unread.drain(..used);
                    return Some(answer);
                }
                if self.closed {
                    assert!(self.unread.is_empty(), "answer cut short: {:?}", lossy(&self.unread));
                    return None;
                }
                self.fill().await;
            }
        };
        tokio::time::timeout(limit, read).await.unwrap_or_else(|elapsed| {
            panic!("neither an answer nor the end of the connection within {limit:?}: {elapsed}")
        })
    }

    /// Every answer until the server closes the connection, all within `limit`.
    async fn answers_until_closed(&mut self, limit: Duration) -> Vec<Answer> {
        let started = Instant::now();
        let mut answers = Vec::new();
        while let Some(answer) = self.answer(limit.saturating_sub(started.elapsed())).await {
            answers.push(answer);
        }
        answers
    }
}

// ---- Requests ----

/// `filled_strings.json` about another payment of another customer.
fn notification(reference_id: &str, customer_id: &str) -> Vec<u8> {
    let mut body: Value = serde_json::from_slice(&fixture("filled_strings.json")).unwrap();
    body["reference_id"] = reference_id.into();
    body["customer_id"] = customer_id.into();
    serde_json::to_vec(&body).unwrap()
}

/// The head of a webhook POST signed for `body` (signature and `API-Key`, as PayRam sends
/// them), with `framing` (the length headers, each line ending in CRLF) and the blank line.
fn signed_head(body: &[u8], framing: &str) -> String {
    format!(
        "POST /webhook HTTP/1.1\r\nHost: payram.test\r\nContent-Type: application/json\r\n\
         X-Payram-Signature: {}\r\nAPI-Key: {TEST_KEY}\r\n{framing}\r\n",
        sign(TEST_KEY, body)
    )
}

/// A whole signed webhook request for `body`.
fn signed_request(body: &[u8]) -> Vec<u8> {
    let mut request =
        signed_head(body, &format!("Content-Length: {}\r\n", body.len())).into_bytes();
    request.extend_from_slice(body);
    request
}

/// A request head cut short: the request line and one header, never the blank line.
const UNFINISHED_HEAD: &[u8] = b"POST /webhook HTTP/1.1\r\nHost: payram.test\r\n";

// ---- What the server recorded ----

/// The reference ids of every recorded event, oldest first.
async fn recorded(app: &TestApp) -> Vec<String> {
    let (code, answer) = app.admin_get("/api/events?limit=500").await;
    assert_eq!(code, 200, "{answer}");
    let mut references: Vec<String> = answer["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["reference_id"].as_str().unwrap_or("<none>").to_owned())
        .collect();
    // The list is newest first.
    references.reverse();
    references
}

/// Nothing recorded, and neither the attack's customer nor the fixture's credited.
async fn assert_nothing_recorded(app: &TestApp) {
    assert_eq!(recorded(app).await, Vec::<String>::new());
    assert_eq!(app.customer_balance(ATTACK_CUSTOMER).await, "0");
    assert_eq!(app.customer_balance(FIXTURE_CUSTOMER).await, "0");
}

/// The server still answers a normal signed webhook within [`BOUND`], and applies it.
async fn assert_still_serves(app: &TestApp) {
    let (code, answer) =
        tokio::time::timeout(BOUND, app.post_signed(&fixture("filled_strings.json")))
            .await
            .expect("a normal signed webhook is answered in time");
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["outcome"], "applied", "{answer}");
    assert_eq!(answer["credited"], "12.00", "{answer}");
    assert_eq!(app.customer_balance(FIXTURE_CUSTOMER).await, "12.00");
}

// ---- Slow heads ----

/// Slowloris on the head: a request line and one header, then silence. Answered 408 (or
/// closed) once `CLIENT_REQUEST_TIMEOUT` passes; nothing recorded.
#[tokio::test]
async fn a_head_that_never_finishes_is_cut_off() {
    let app = TestApp::spawn_with(&[("CLIENT_REQUEST_TIMEOUT", "1s")]).await;
    let mut raw = Raw::open(&app).await;
    raw.send(UNFINISHED_HEAD).await;

    let started = Instant::now();
    let answers = raw.answers_until_closed(BOUND).await;
    eprintln!("unfinished head: {answers:?}, closed after {:?}", started.elapsed());
    assert!(answers.len() <= 1 && answers.iter().all(|a| a.status == 408), "{answers:?}");

    assert_nothing_recorded(&app).await;
    assert_still_serves(&app).await;
}

/// Slowloris on a later head: actix times only the first head of a connection, so a client
/// that did not authenticate (`/healthz`, a forged signature) must not be kept alive: its
/// connection is closed right after the answer, leaving no second head to stall.
#[tokio::test]
async fn a_connection_that_did_not_authenticate_is_closed_after_its_answer() {
    let app = TestApp::spawn_with(&[("CLIENT_REQUEST_TIMEOUT", "1s")]).await;
    let body = notification("forged", ATTACK_CUSTOMER);
    // Signed with a key the server does not know, and no `API-Key`.
    let forged = lossy(&signed_request(&body))
        .replace(&sign(TEST_KEY, &body), &sign("not-the-key", &body))
        .replace(&format!("API-Key: {TEST_KEY}\r\n"), "")
        .into_bytes();
    let requests: [(&[u8], u16); 2] =
        [(b"GET /healthz HTTP/1.1\r\nHost: payram.test\r\n\r\n", 200), (&forged, 401)];
    for (request, status) in requests {
        let mut raw = Raw::open(&app).await;
        raw.send(request).await;
        let answer = raw.answer(BOUND).await.expect("answered");
        assert_eq!(answer.status, status, "{answer:?}");
        assert_eq!(answer.header("connection"), Some("close"), "{answer:?}");
        // The server closes its side, even though the client would send another head.
        raw.send_lossy(UNFINISHED_HEAD).await;
        let more = raw.answers_until_closed(BOUND).await;
        assert!(more.is_empty(), "{more:?}");
    }

    assert_nothing_recorded(&app).await;
    assert_still_serves(&app).await;
}

// ---- Slow bodies ----

/// Slowloris on the body of the webhook: `Content-Length: 1000`, 10 bytes, then silence.
/// Answered 408 `request_timeout` once `CLIENT_BODY_TIMEOUT` passes, then the connection is
/// closed; nothing recorded.
#[tokio::test]
async fn a_webhook_body_that_never_finishes_is_answered_408_and_closed() {
    let app = TestApp::spawn_with(&[("CLIENT_BODY_TIMEOUT", "1s")]).await;
    let body = notification("slow-body", ATTACK_CUSTOMER);
    let mut raw = Raw::open(&app).await;
    raw.send(signed_head(&body, "Content-Length: 1000\r\n").as_bytes()).await;
    raw.send(&body[..10]).await;

    let answer = raw.answer(BOUND).await.expect("an answer before the close");
    assert_eq!((answer.status, answer.error()), (408, "request_timeout".to_owned()));
    assert_eq!(answer.header("connection"), Some("close"), "{answer:?}");
    let more = raw.answers_until_closed(BOUND).await;
    assert!(more.is_empty(), "{more:?}");

    assert_nothing_recorded(&app).await;
    assert_still_serves(&app).await;
}

/// The same on a route other than the webhook: the dashboard's sign-in form, its body never
/// finished. 408 `request_timeout`, then closed.
#[tokio::test]
async fn a_sign_in_form_that_never_finishes_is_answered_408_and_closed() {
    let app = TestApp::spawn_with(&[("CLIENT_BODY_TIMEOUT", "1s")]).await;
    let mut raw = Raw::open(&app).await;
    raw.send(
        b"POST /dashboard/login HTTP/1.1\r\nHost: payram.test\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\ntoken=e2e",
    )
    .await;

    let answer = raw.answer(BOUND).await.expect("an answer before the close");
    assert_eq!((answer.status, answer.error()), (408, "request_timeout".to_owned()));
    let more = raw.answers_until_closed(BOUND).await;
    assert!(more.is_empty(), "{more:?}");

    assert_nothing_recorded(&app).await;
    assert_still_serves(&app).await;
}

/// A body that never finishes, sent to a route that does not read it (`GET /healthz`), with
/// a `Content-Length` and then chunked: answered, and the connection closed rather than kept
/// waiting for the rest of the body.
#[tokio::test]
async fn a_body_the_route_does_not_read_ends_the_connection_after_the_answer() {
    let app = TestApp::spawn_with(&[("CLIENT_BODY_TIMEOUT", "1s")]).await;
    let requests: [(&str, &[u8]); 2] = [
        (
            "Content-Length",
            b"GET /healthz HTTP/1.1\r\nHost: payram.test\r\nContent-Length: 1000\r\n\r\n0123456789",
        ),
        (
            "chunked",
            b"GET /healthz HTTP/1.1\r\nHost: payram.test\r\nTransfer-Encoding: chunked\r\n\r\n\
              a\r\n0123456789\r\n",
        ),
    ];
    for (framing, request) in requests {
        let mut raw = Raw::open(&app).await;
        raw.send(request).await;
        let answer = raw.answer(BOUND).await.expect("answered");
        eprintln!("unread body ({framing}): {answer:?}");
        assert!(matches!(answer.status, 200 | 408), "{framing}: {answer:?}");
        assert_eq!(answer.header("connection"), Some("close"), "{framing}: {answer:?}");
        let more = raw.answers_until_closed(BOUND).await;
        assert!(more.is_empty(), "{framing}: {more:?}");
    }

    assert_nothing_recorded(&app).await;
    assert_still_serves(&app).await;
}

/// A chunked webhook body that never ends: two chunks and no terminating `0\r\n\r\n`.
/// 408 `request_timeout`, then closed; nothing recorded.
#[tokio::test]
async fn a_chunked_body_that_never_ends_is_answered_408_and_closed() {
    let app = TestApp::spawn_with(&[("CLIENT_BODY_TIMEOUT", "1s")]).await;
    let body = notification("slow-chunks", ATTACK_CUSTOMER);
    let mut raw = Raw::open(&app).await;
    raw.send(signed_head(&body, "Transfer-Encoding: chunked\r\n").as_bytes()).await;
    raw.send(format!("10\r\n{}\r\n", lossy(&body[..16])).as_bytes()).await;
    raw.send(format!("8\r\n{}\r\n", lossy(&body[16..24])).as_bytes()).await;

    let answer = raw.answer(BOUND).await.expect("an answer before the close");
    assert_eq!((answer.status, answer.error()), (408, "request_timeout".to_owned()));
    let more = raw.answers_until_closed(BOUND).await;
    assert!(more.is_empty(), "{more:?}");

    assert_nothing_recorded(&app).await;
    assert_still_serves(&app).await;
}

// ---- Many slow clients ----

/// 200 stalled connections opened at once (100 heads and 100 webhook bodies that never
/// finish, with timeouts long enough to outlast the test) do not delay a signed webhook or
/// `/healthz` sent meanwhile. At the default `MAX_CONNECTIONS`, the open-file limit is dealt
/// with as `assert_open_file_limit_handled` says.
#[tokio::test]
async fn two_hundred_stalled_connections_do_not_delay_a_signed_webhook() {
    let app =
        TestApp::spawn_with(&[("CLIENT_REQUEST_TIMEOUT", "60s"), ("CLIENT_BODY_TIMEOUT", "60s")])
            .await;
    assert_open_file_limit_handled(&app, 1000);
    let body = notification("stalled", ATTACK_CUSTOMER);
    let mut stalled = Vec::new();
    for i in 0..200 {
        let mut raw = Raw::open(&app).await;
        if i % 2 == 0 {
            raw.send(UNFINISHED_HEAD).await;
        } else {
            raw.send(signed_head(&body, "Content-Length: 1000\r\n").as_bytes()).await;
            raw.send(&body[..10]).await;
        }
        stalled.push(raw);
    }

    let started = Instant::now();
    let health = tokio::time::timeout(BOUND, app.client.get(app.url("/healthz")).send())
        .await
        .expect("/healthz answers in time")
        .unwrap();
    assert_eq!(health.status(), 200);
    eprintln!("/healthz beside 200 stalled connections: {:?}", started.elapsed());
    let started = Instant::now();
    assert_still_serves(&app).await;
    eprintln!("signed webhook beside 200 stalled connections: {:?}", started.elapsed());

    drop(stalled);
    assert_eq!(recorded(&app).await, ["c80f5363-0397-4761-aa1a-3155c3a21470"]);
    assert_eq!(app.customer_balance(ATTACK_CUSTOMER).await, "0");
}

/// `MAX_CONNECTIONS=4`, every slot taken by an idle connection that never sends its head: a
/// new signed webhook waits (the connections over the limit are not served at once) and is
/// served as soon as `CLIENT_REQUEST_TIMEOUT` frees a slot; each stalled one gets 408 or is
/// closed.
#[tokio::test]
async fn a_full_connection_limit_frees_up_as_stalled_connections_time_out() {
    // `CLIENT_REQUEST_TIMEOUT` is 2 s; actix reads its clock up to 500 ms stale, so a slot may
    // free up that much early: no stalled connection ends before 1.2 s, with a margin.
    const EARLIEST_FREE: Duration = Duration::from_millis(1200);
    let app =
        TestApp::spawn_with(&[("MAX_CONNECTIONS", "4"), ("CLIENT_REQUEST_TIMEOUT", "2s")]).await;
    assert_open_file_limit_handled(&app, 4);
    // The server gives each worker (one per core) `ceil(4 / workers)` connections.
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let slots = workers * 4usize.div_ceil(workers);

    let opened = Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..slots {
        let mut raw = Raw::open(&app).await;
        raw.send(UNFINISHED_HEAD).await;
        stalled.push(raw);
    }
    assert_still_serves(&app).await;
    let waited = opened.elapsed();
    eprintln!("{slots} slots taken: a signed webhook was served after {waited:?}");
    assert!(
        waited >= EARLIEST_FREE,
        "served after {waited:?}, before any of the {slots} stalled connections timed out: \
         the limit is not enforced"
    );

    for mut raw in stalled {
        let answers = raw.answers_until_closed(BOUND).await;
        assert!(answers.len() <= 1 && answers.iter().all(|a| a.status == 408), "{answers:?}");
    }
    assert_eq!(recorded(&app).await, ["c80f5363-0397-4761-aa1a-3155c3a21470"]);
}

/// `MAX_CONNECTIONS=4`, every slot taken by a webhook whose chunked body never ends (no
/// credentials needed: the body is read before authentication). `CLIENT_BODY_TIMEOUT` must
/// free the slots, so a signed webhook sent meanwhile is served within the bound.
#[tokio::test]
async fn chunked_bodies_that_never_end_do_not_hold_the_connection_limit() {
    let app = TestApp::spawn_with(&[("MAX_CONNECTIONS", "4"), ("CLIENT_BODY_TIMEOUT", "1s")]).await;
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let slots = workers * 4usize.div_ceil(workers);
    let mut stalled = Vec::new();
    for _ in 0..slots {
        let mut raw = Raw::open(&app).await;
        raw.send(
            b"POST /webhook HTTP/1.1\r\nHost: payram.test\r\nTransfer-Encoding: chunked\r\n\r\n\
              10\r\n{\"reference_id\":\r\n",
        )
        .await;
        stalled.push(raw);
    }

    let started = Instant::now();
    assert_still_serves(&app).await;
    eprintln!(
        "{slots} slots held by chunked bodies: a signed webhook was served after {:?}",
        started.elapsed()
    );
    for mut raw in stalled {
        let answers = raw.answers_until_closed(BOUND).await;
        assert!(answers.len() <= 1 && answers.iter().all(|a| a.status == 408), "{answers:?}");
    }
    assert_eq!(recorded(&app).await, ["c80f5363-0397-4761-aa1a-3155c3a21470"]);
}

/// `MAX_CONNECTIONS` beyond the hard open-file limit: the server still starts and serves, and
/// says in its log that the limit cannot be raised to fit.
#[tokio::test]
async fn a_connection_limit_beyond_the_open_file_limit_is_reported() {
    let (_, hard) = open_file_limits("self");
    let Some(hard) = hard else {
        eprintln!("no hard open-file limit here: nothing to report");
        return;
    };
    let max = hard.to_string();
    let app = TestApp::spawn_with(&[("MAX_CONNECTIONS", &max)]).await;
    assert_open_file_limit_handled(&app, hard);
    assert_nothing_recorded(&app).await;
    assert_still_serves(&app).await;
}

/// Open files `serve` reserves beside its connections (`SPARE_FILES` in `startup.rs`).
const SPARE_FILES: u64 = 64;

/// `(soft, hard)` open-file limits of a process (`"self"` or a pid), `None` for unlimited.
fn open_file_limits(pid: &str) -> (Option<u64>, Option<u64>) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits.lines().find(|line| line.starts_with("Max open files")).unwrap();
    let mut values = line["Max open files".len()..].split_whitespace().map(|v| v.parse().ok());
    (values.next().unwrap(), values.next().unwrap())
}

/// The server inherited this test's open-file limits. It must leave a soft limit that already
/// fits `max_connections` alone (and say nothing), raise it when the hard limit allows (and
/// say so), and warn when the hard limit does not.
fn assert_open_file_limit_handled(app: &TestApp, max_connections: u64) {
    let wanted = max_connections + SPARE_FILES;
    let fits = |limit: Option<u64>| limit.is_none_or(|limit| limit >= wanted);
    let (soft, hard) = open_file_limits("self");
    let (server_soft, _) = open_file_limits(&app.pid().to_string());
    let log = app.log();
    let raised = log.contains("raised the open-file limit to fit MAX_CONNECTIONS");
    let warned = log.contains("the open-file limit cannot be raised to fit MAX_CONNECTIONS");
    eprintln!(
        "MAX_CONNECTIONS={max_connections}: inherited {soft:?}/{hard:?}, server soft limit \
         {server_soft:?}, raised: {raised}, warned: {warned}"
    );
    if fits(soft) {
        assert!(!raised && !warned, "nothing to raise, nothing to say: {log}");
        assert_eq!(server_soft, soft);
    } else if fits(hard) {
        assert!(raised && !warned, "the limit is raised, and the log says so: {log}");
        assert!(fits(server_soft), "{server_soft:?} < {wanted}");
    } else {
        assert!(warned && !raised, "the log says the limit cannot be raised: {log}");
    }
}

// ---- Keep-alive ----

/// A connection kept alive (after a signed webhook: only clients that authenticated are) and
/// then left idle: the server closes it once `KEEP_ALIVE_TIMEOUT` passes, so idle clients do
/// not hold connections.
#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let app = TestApp::spawn_with(&[("KEEP_ALIVE_TIMEOUT", "1s")]).await;
    let mut raw = Raw::open(&app).await;
    raw.send(&signed_request(&notification("kept-alive", ATTACK_CUSTOMER))).await;
    let answer = raw.answer(BOUND).await.expect("answered");
    assert_eq!(answer.status, 200, "{:?}", lossy(&answer.body));
    assert_ne!(answer.header("connection"), Some("close"), "kept alive: {answer:?}");

    let idle = Instant::now();
    let more = raw.answers_until_closed(BOUND).await;
    eprintln!("idle kept-alive connection closed after {:?}", idle.elapsed());
    assert!(more.is_empty(), "{more:?}");

    assert_eq!(recorded(&app).await, ["kept-alive"]);
    assert_eq!(app.customer_balance(FIXTURE_CUSTOMER).await, "0");
    assert_still_serves(&app).await;
}

// ---- Oversized heads ----

/// A signed webhook whose head is over 16 KiB (one 20 KiB header): 431
/// `request_header_too_large`, closed, nothing recorded. One just under 16 KiB is served; one
/// over actix's own 128 KiB buffer, or with more than its 96 headers, is refused too.
#[tokio::test]
async fn a_head_over_16_kib_is_answered_431() {
    let app = TestApp::spawn().await;

    let body = notification("big-head", ATTACK_CUSTOMER);
    let mut raw = Raw::open(&app).await;
    let padding =
        format!("X-Padding: {}\r\nContent-Length: {}\r\n", "a".repeat(20 * 1024), body.len());
    raw.send(signed_head(&body, &padding).as_bytes()).await;
    raw.send(&body).await;
    let answers = raw.answers_until_closed(BOUND).await;
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(
        (answers[0].status, answers[0].error()),
        (431, "request_header_too_large".to_owned())
    );

    // Over actix's buffer: refused before the guard sees it.
    let mut raw = Raw::open(&app).await;
    let padding =
        format!("X-Padding: {}\r\nContent-Length: {}\r\n", "a".repeat(200 * 1024), body.len());
    raw.send_lossy(signed_head(&body, &padding).as_bytes()).await;
    let answers = raw.answers_until_closed(BOUND).await;
    eprintln!("200 KiB head: {answers:?}");
    assert!(answers.len() <= 1 && answers.iter().all(|a| a.status == 431), "{answers:?}");

    // More headers than actix parses.
    let mut raw = Raw::open(&app).await;
    let many = "X-Many: x\r\n".repeat(100);
    let framing = format!("{many}Content-Length: {}\r\n", body.len());
    raw.send_lossy(signed_head(&body, &framing).as_bytes()).await;
    let answers = raw.answers_until_closed(BOUND).await;
    eprintln!("100 headers: {answers:?}");
    assert!(answers.len() <= 1 && answers.iter().all(|a| a.status == 431), "{answers:?}");

    assert_nothing_recorded(&app).await;

    // Just under 16 KiB: served and recorded.
    let body = notification("just-under", ATTACK_CUSTOMER);
    let bare = signed_head(&body, &format!("X-Padding: \r\nContent-Length: {}\r\n", body.len()));
    let fill = 16 * 1024 - 512 - bare.len();
    let framing = format!("X-Padding: {}\r\nContent-Length: {}\r\n", "a".repeat(fill), body.len());
    let head = signed_head(&body, &framing);
    assert_eq!(head.len(), 16 * 1024 - 512);
    let mut raw = Raw::open(&app).await;
    raw.send(head.as_bytes()).await;
    raw.send(&body).await;
    let answer = raw.answer(BOUND).await.expect("answered");
    assert_eq!(answer.status, 200, "{:?}", lossy(&answer.body));
    assert_eq!(recorded(&app).await, ["just-under"]);

    assert_still_serves(&app).await;
}

// ---- Smuggling, HTTP/1.0, pipelining ----

/// Request smuggling shapes on the webhook, each on its own connection. Behind each framing
/// hides a second request: a signed webhook and an unauthenticated `GET /api/events`. If a
/// server read the framing the other way, the hidden webhook would be recorded and the hidden
/// read answered. Each shape must be refused (one 400, then closed): nothing recorded, no
/// answer 200.
#[tokio::test]
async fn request_smuggling_shapes_are_refused_and_hide_nothing() {
    let app = TestApp::spawn().await;
    let hidden_body = notification("smuggled", ATTACK_CUSTOMER);
    let mut hidden = signed_request(&hidden_body);
    hidden.extend_from_slice(b"GET /api/events HTTP/1.1\r\nHost: payram.test\r\n\r\n");
    let hidden = lossy(&hidden);
    // An unsigned webhook head with its framing: a server reading it one way sees an empty (or
    // short) body and then the hidden requests; the other way, a body that fails to
    // authenticate.
    let unsigned = |version: &str, framing: &str| {
        format!("POST /webhook HTTP/{version}\r\nHost: payram.test\r\n{framing}\r\n")
    };
    let chunked_end = format!("0\r\n\r\n{hidden}");
    let shapes = [
        (
            "Content-Length with Transfer-Encoding: chunked",
            unsigned(
                "1.1",
                &format!("Content-Length: {}\r\nTransfer-Encoding: chunked\r\n", chunked_end.len()),
            ) + &chunked_end,
        ),
        (
            "Transfer-Encoding: chunked with a short Content-Length",
            unsigned("1.1", "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n")
                + &format!("{:x}\r\n{hidden}\r\n0\r\n\r\n", hidden.len()),
        ),
        (
            "two different Content-Lengths",
            unsigned("1.1", &format!("Content-Length: 0\r\nContent-Length: {}\r\n", hidden.len()))
                + &hidden,
        ),
        (
            "two equal Content-Lengths",
            unsigned("1.1", "Content-Length: 0\r\nContent-Length: 0\r\n") + &hidden,
        ),
        (
            "an obfuscated Transfer-Encoding with Content-Length",
            unsigned("1.1", "Content-Length: 5\r\nTransfer-Encoding: xchunked\r\n")
                + "0\r\n\r\n"
                + &hidden,
        ),
        (
            "Transfer-Encoding: chunked in HTTP/1.0",
            unsigned("1.0", "Transfer-Encoding: chunked\r\n") + &chunked_end,
        ),
        ("a signed Content-Length", unsigned("1.1", "Content-Length: +0\r\n") + &hidden),
        ("a space before the colon", unsigned("1.1", "Content-Length : 0\r\n") + &hidden),
    ];
    for (shape, request) in shapes {
        let mut raw = Raw::open(&app).await;
        raw.send_lossy(request.as_bytes()).await;
        let answers = raw.answers_until_closed(BOUND).await;
        let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
        eprintln!("{shape}: {statuses:?}, then closed");
        assert_eq!(statuses, [400], "{shape}: {answers:?}");
    }

    assert_nothing_recorded(&app).await;
    assert_still_serves(&app).await;
}

/// A signed webhook in HTTP/1.0: served (200), recorded once, and the connection closed after
/// the answer (no keep-alive was asked for).
#[tokio::test]
async fn an_http_1_0_signed_webhook_is_served_once() {
    let app = TestApp::spawn().await;
    let body = notification("http-1-0", ATTACK_CUSTOMER);
    let request = signed_request(&body);
    let request = lossy(&request).replacen("HTTP/1.1", "HTTP/1.0", 1);
    let mut raw = Raw::open(&app).await;
    raw.send(request.as_bytes()).await;

    let answers = raw.answers_until_closed(BOUND).await;
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0].status, 200, "{:?}", lossy(&answers[0].body));
    assert_eq!(answers[0].json()["reference_id"], "http-1-0");
    assert_eq!(recorded(&app).await, ["http-1-0"]);
    assert_eq!(app.customer_balance(ATTACK_CUSTOMER).await, "12.00");

    assert_still_serves(&app).await;
}

/// Two signed webhooks pipelined in one write: both answered 200, in order, and both recorded.
#[tokio::test]
async fn two_pipelined_signed_webhooks_are_both_served_in_order() {
    let app = TestApp::spawn().await;
    let mut requests = signed_request(&notification("pipelined-1", ATTACK_CUSTOMER));
    requests.extend_from_slice(&signed_request(&notification("pipelined-2", ATTACK_CUSTOMER)));
    let mut raw = Raw::open(&app).await;
    raw.send(&requests).await;

    for reference in ["pipelined-1", "pipelined-2"] {
        let answer = raw.answer(BOUND).await.expect("answered");
        assert_eq!(answer.status, 200, "{:?}", lossy(&answer.body));
        assert_eq!(answer.json()["reference_id"], reference);
    }
    assert_eq!(recorded(&app).await, ["pipelined-1", "pipelined-2"]);
    assert_eq!(app.customer_balance(ATTACK_CUSTOMER).await, "24.00");

    assert_still_serves(&app).await;
}
