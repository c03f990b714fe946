//! The load generator: closed-loop HTTP/1.1 over keep-alive connections, lean enough not to be
//! the bottleneck on a small machine. Each connection is a task on its own `TcpStream` that
//! writes one request, reads the whole answer (status line, `Content-Length`, body), records
//! the latency, and sends the next, until the time is up. No HTTP client library: a request is
//! formatted into a reused buffer and the answer is read into another one.
//!
//! An answer that is not 2xx is counted, not fatal; a refused or broken connection, a malformed
//! answer or one slower than [`REQUEST_LIMIT`] is an error, and the connection is opened again.

use std::{
    collections::BTreeMap,
    io::Write as _,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
    task::JoinSet,
};

/// The project API key the server is started with.
pub(crate) const KEY: &str = "bench-project-api-key";

/// A request without an answer for this long is an error.
const REQUEST_LIMIT: Duration = Duration::from_secs(30);

/// How each delivery proves it comes from PayRam.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Auth {
    /// The legacy `API-Key` header: the key itself.
    ApiKey,
    /// `X-Payram-Signature`: the HMAC-SHA256 of the body under the key, computed per request.
    Signature,
}

/// What one load sends.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Workload {
    pub(crate) auth: Auth,
    /// Of every ten requests of a connection, how many repeat a body that this connection has
    /// already had acknowledged (a PayRam retry); the others are new payments.
    pub(crate) duplicates_in_ten: u64,
}

/// One load: where, how many connections, for how long.
pub(crate) struct Load {
    pub(crate) addr: SocketAddr,
    pub(crate) connections: usize,
    pub(crate) duration: Duration,
    pub(crate) workload: Workload,
    /// Answers received so far, for a caller that reports progress.
    pub(crate) progress: Arc<AtomicU64>,
}

/// What a load measured.
#[derive(Debug, Default)]
pub(crate) struct Measured {
    pub(crate) elapsed: Duration,
    /// The latency of every answered request, in microseconds, sorted.
    pub(crate) latencies_us: Vec<u64>,
    /// Answers other than 200, by status code.
    pub(crate) not_ok: BTreeMap<u16, u64>,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
}

impl Measured {
    pub(crate) fn answered(&self) -> u64 {
        u64::try_from(self.latencies_us.len()).unwrap_or(u64::MAX)
    }

    pub(crate) fn non_2xx(&self) -> u64 {
        self.not_ok.iter().filter(|(code, _)| !(200..300).contains(*code)).map(|(_, n)| n).sum()
    }

    pub(crate) fn count(&self, code: u16) -> u64 {
        self.not_ok.get(&code).copied().unwrap_or(0)
    }

    fn merge(&mut self, other: Self) {
        self.latencies_us.extend(other.latencies_us);
        for (code, n) in other.not_ok {
            *self.not_ok.entry(code).or_default() += n;
        }
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn error(&mut self, error: String) {
        self.errors += 1;
        self.first_error.get_or_insert(error);
    }
}

/// Runs the load: opens every connection, then lets them all send until `duration` is over.
/// Requests in flight at the end are waited for, and counted.
pub(crate) async fn run(load: Load) -> Measured {
    let Load { addr, connections, duration, workload, progress } = load;
    let next_id = Arc::new(AtomicU64::new(0));
    // Connect first, so that the clock measures requests, not the handshakes.
    let mut streams = Vec::with_capacity(connections);
    for _ in 0..connections {
        streams.push(connect(addr).await);
    }
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = JoinSet::new();
    for (index, stream) in streams.into_iter().enumerate() {
        let connection = Connection {
            addr,
            workload,
            deadline,
            next_id: Arc::clone(&next_id),
            progress: Arc::clone(&progress),
            seed: u64::try_from(index).unwrap_or(0).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        };
        tasks.spawn(connection.run(stream));
    }
    let mut measured = Measured::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(tally) => measured.merge(tally),
            Err(err) => measured.error(format!("a connection task failed: {err}")),
        }
    }
    measured.elapsed = started.elapsed();
    measured.latencies_us.sort_unstable();
    measured
}

async fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    let stream = TcpStream::connect(addr).await.map_err(|err| format!("connect: {err}"))?;
    stream.set_nodelay(true).map_err(|err| format!("set TCP_NODELAY: {err}"))?;
    Ok(stream)
}

struct Connection {
    addr: SocketAddr,
    workload: Workload,
    deadline: Instant,
    next_id: Arc<AtomicU64>,
    progress: Arc<AtomicU64>,
    seed: u64,
}

impl Connection {
    async fn run(self, first: Result<TcpStream, String>) -> Measured {
        let mut tally = Measured::default();
        let mut stream = match first {
            Ok(stream) => Some(stream),
            Err(err) => {
                tally.error(err);
                None
            }
        };
        let host = self.addr.to_string();
        let (mut body, mut request) = (Vec::with_capacity(1024), Vec::with_capacity(2048));
        let mut answer = vec![0; 4096];
        // Ids of this connection's acknowledged new payments, which duplicates repeat.
        let mut acknowledged = Vec::new();
        let mut rng = self.seed;
        let mut sent: u64 = 0;
        while Instant::now() < self.deadline {
            let duplicate = sent % 10 >= 10 - self.workload.duplicates_in_ten.min(10)
                && !acknowledged.is_empty();
            sent += 1;
            let id = if duplicate {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let len = u64::try_from(acknowledged.len()).unwrap_or(u64::MAX);
                let pick = usize::try_from(rng % len).unwrap_or(0);
                acknowledged.get(pick).copied().unwrap_or(0)
            } else {
                self.next_id.fetch_add(1, Ordering::Relaxed)
            };
            if let Err(err) = build(&mut body, &mut request, id, &host, self.workload.auth) {
                tally.error(format!("format a request: {err}"));
                break;
            }
            let open = match stream.as_mut() {
                Some(open) => open,
                None => match connect(self.addr).await {
                    Ok(open) => stream.insert(open),
                    Err(err) => {
                        tally.error(err);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
            };
            let sent_at = Instant::now();
            match tokio::time::timeout(REQUEST_LIMIT, exchange(open, &request, &mut answer)).await {
                Ok(Ok(head)) => {
                    let micros = u64::try_from(sent_at.elapsed().as_micros()).unwrap_or(u64::MAX);
                    tally.latencies_us.push(micros);
                    self.progress.fetch_add(1, Ordering::Relaxed);
                    if head.status == 200 {
                        if !duplicate {
                            acknowledged.push(id);
                        }
                    } else {
                        *tally.not_ok.entry(head.status).or_default() += 1;
                    }
                    if head.close {
                        stream = None;
                    }
                }
                Ok(Err(err)) => {
                    tally.error(err);
                    stream = None;
                }
                Err(_) => {
                    tally.error(format!("no answer within {REQUEST_LIMIT:?}"));
                    stream = None;
                }
            }
        }
        tally
    }
}

/// A PayRam FILLED notification shaped like `fixtures/vectors/filled_btc.json`, a new payment
/// for each `id` (its `reference_id`, `invoice_id` and transaction hash), for one of a thousand
/// customers. Every body has the same length.
fn notification(out: &mut Vec<u8>, id: u64) -> std::io::Result<()> {
    out.clear();
    write!(
        out,
        concat!(
            r#"{{"customer_id":"cust_{customer:04}","invoice_id":"INV-{id:012}","#,
            r#""reference_id":"b3e1c0de-57c7-46e4-925a-{id:012x}","status":"FILLED","#,
            r#""amount":"0.00074210","currency":"BTC","filled_amount":"0.00074210","#,
            r#""filled_amount_in_usd":"82.00","sponsored_amount":"0","#,
            r#""sponsored_amount_in_usd":"0","timestamp":1781003600,"payment_info":[{{"#,
            r#""source_address":"bc1qa7a5b75473d6008f2d7df2e9e5f99ca48d6b8a","#,
            r#""transaction_hash":"{id:064x}","#,
            r#""destination_address":"bc1q31e378e200aa40f8776dff6fd9135b5961fe11","#,
            r#""block_number":951204}}],"confirmation_current":0,"confirmation_required":0}}"#
        ),
        customer = id % 1000,
        id = id,
    )
}

/// The whole request for notification `id`, into `request` (`body` is scratch space).
fn build(
    body: &mut Vec<u8>,
    request: &mut Vec<u8>,
    id: u64,
    host: &str,
    auth: Auth,
) -> std::io::Result<()> {
    notification(body, id)?;
    request.clear();
    write!(
        request,
        "POST /webhook HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
    )?;
    match auth {
        Auth::ApiKey => write!(request, "API-Key: {KEY}\r\n")?,
        Auth::Signature => {
            let signature = payram_protocol::sign(KEY.as_bytes(), body);
            write!(request, "X-Payram-Signature: {signature}\r\n")?;
        }
    }
    write!(request, "Content-Length: {}\r\n\r\n", body.len())?;
    request.extend_from_slice(body);
    Ok(())
}

/// The parts of an answer's head that the generator needs.
struct Head {
    status: u16,
    /// The server will close the connection after this answer.
    close: bool,
}

/// Writes one request and reads its whole answer. Closed loop: nothing else is in flight on the
/// connection, so whatever was read belongs to this answer.
async fn exchange(
    stream: &mut TcpStream,
    request: &[u8],
    buf: &mut Vec<u8>,
) -> Result<Head, String> {
    stream.write_all(request).await.map_err(|err| format!("write: {err}"))?;
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let read = stream.read(&mut buf[filled..]).await.map_err(|err| format!("read: {err}"))?;
        if read == 0 {
            return Err("the server closed the connection before answering".to_owned());
        }
        filled += read;
        if let Some((head, head_len, content_length)) = parse_head(&buf[..filled])?
            && filled >= head_len + content_length
        {
            return Ok(head);
        }
    }
}

/// The answer's head once it is complete: status, its length, and the body's length.
fn parse_head(bytes: &[u8]) -> Result<Option<(Head, usize, usize)>, String> {
    let Some(end) = bytes.windows(4).position(|window| window == b"\r\n\r\n") else {
        return Ok(None);
    };
    let text = std::str::from_utf8(&bytes[..end]).map_err(|_| "a head that is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("a malformed status line: {status_line:?}"))?;
    let (mut content_length, mut close) = (None, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(format!("a {value} answer (the generator reads Content-Length only)"));
        }
    }
    let content_length =
        content_length.ok_or_else(|| format!("a {status} answer without Content-Length"))?;
    Ok(Some((Head { status, close }, end + 4, content_length)))
}
