//! `payram-merchant send` and `simulate`: deliver PayRam-shaped notifications to any webhook
//! receiver, signed the way PayRam signs them, and check the answers.
//!
//! A scenario is data (a [`Scenario`] is a list of [`Step`]s, each saying what it sends and
//! what a correct receiver answers), so what each scenario checks reads at a glance, and
//! planning the requests ([`plan`]) and judging the answers ([`judge`], [`total_verdict`]) are
//! pure functions tested without a network. Only [`Client::deliver`] does I/O.

use std::{
    fmt,
    io::{self, Write},
    path::PathBuf,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::Value;

use payram_domain::Amount;
use payram_protocol::{API_KEY_HEADER, SIGNATURE_HEADER, TEST_HEADER};

/// The `customer_id` of generated notifications unless `--customer` says otherwise.
pub const DEFAULT_CUSTOMER: &str = "payram-merchant-test";

/// The body of PayRam's test ping (dashboard "Test" button, start of payout delivery).
pub const PING_BODY: &[u8] = br#"{"event_type":"payout.ping"}"#;

/// Where and how to deliver (shared by `send` and `simulate`).
#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// The receiver's webhook URL, e.g. `http://127.0.0.1:8080/webhook` (plain HTTP: this
    /// build has no TLS, so test the server's own address, not the TLS proxy in front of it).
    #[arg(long, value_name = "URL")]
    pub url: String,

    /// The PayRam project API key: it signs each body (X-Payram-Signature) and goes in the
    /// API-Key header.
    #[arg(long, env = "PAYRAM_API_KEY", hide_env_values = true, value_name = "KEY")]
    pub key: String,

    /// Send only the legacy API-Key header, as older PayRam servers do (no signature).
    #[arg(long)]
    pub legacy_header: bool,

    /// HTTP method: POST as current PayRam servers, GET (with the same body) as older ones.
    #[arg(long, value_enum, ignore_case = true, default_value_t = HttpMethod::Post)]
    pub method: HttpMethod,

    /// Seconds to wait for each answer, connecting included.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub timeout: u64,
}

/// Flags of `send`.
#[derive(Args, Debug)]
pub struct SendArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    #[arg(
        long,
        default_value = "FILLED",
        help = "Payment status, sent as given (OPEN, PARTIALLY_FILLED, FILLED, OVER_FILLED, \
                CANCELLED, or anything else to test unknown statuses)"
    )]
    pub status: String,

    #[arg(
        long,
        value_name = "ID",
        help = "The payment's reference_id [default: a fresh unique id]"
    )]
    pub reference: Option<String>,

    #[arg(
        long,
        value_name = "ID",
        default_value = DEFAULT_CUSTOMER,
        help = "The customer_id: the account a receiver credits"
    )]
    pub customer: String,

    #[arg(long, value_name = "ID", help = "The invoice_id [default: null]")]
    pub invoice: Option<String>,

    /// Requested amount in --currency, an exact decimal (sent as a JSON string, never a float).
    #[arg(long, value_name = "DECIMAL", allow_negative_numbers = true, default_value = "10.00")]
    pub amount: String,

    #[arg(
        long,
        value_name = "DECIMAL",
        allow_negative_numbers = true,
        help = "filled_amount: received so far, in --currency [default: --amount]"
    )]
    pub filled: Option<String>,

    #[arg(
        long,
        value_name = "DECIMAL",
        allow_negative_numbers = true,
        help = "filled_amount_in_usd: USD value received so far, what a receiver credits \
                [default: the filled amount]"
    )]
    pub filled_usd: Option<String>,

    /// Currency ticker of the amounts.
    #[arg(long, default_value = "USDC")]
    pub currency: String,

    /// Send this file's bytes as the body, byte for byte, instead of building one (signed
    /// like any other body).
    #[arg(
        long,
        value_name = "PATH",
        conflicts_with_all = [
            "status", "reference", "customer", "invoice", "amount", "filled", "filled_usd",
            "currency",
        ]
    )]
    pub file: Option<PathBuf>,
}

/// Flags of `simulate`.
#[derive(Args, Debug)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// The sequence to play; each run uses fresh reference (and payout) ids.
    #[arg(long, value_enum, value_name = "NAME")]
    pub scenario: ScenarioName,

    #[arg(
        long,
        value_name = "ID",
        default_value = DEFAULT_CUSTOMER,
        help = "The customer_id of the scenario's payments"
    )]
    pub customer: String,
}

/// HTTP methods PayRam uses for its webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HttpMethod {
    #[value(name = "POST")]
    Post,
    #[value(name = "GET")]
    Get,
}

impl HttpMethod {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Get => "GET",
        }
    }
}

/// The scenarios of `simulate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScenarioName {
    #[value(help = "PARTIALLY_FILLED at 40, then FILLED at 100: credits 40, then 60 more")]
    PartialThenFilled,
    #[value(help = "FILLED at 100, then the identical body again: credits 100, then duplicate, 0")]
    Duplicates,
    #[value(help = "FILLED at 100, then the older PARTIALLY_FILLED at 40: stale, 100 in all")]
    OutOfOrder,
    #[value(help = "CANCELLED, then FILLED at 100 (money after the cancel): applied, credited")]
    LateAfterCancel,
    #[value(help = "PayRam's unsigned test ping (X-Webhook-Test: true): any 2xx")]
    Ping,
    #[value(help = "Payout notifications, one delivered twice: answered payout, never credited")]
    Payouts,
}

impl ScenarioName {
    /// The scenario's steps and expectations.
    #[must_use]
    pub const fn scenario(self) -> &'static Scenario {
        match self {
            Self::PartialThenFilled => &PARTIAL_THEN_FILLED,
            Self::Duplicates => &DUPLICATES,
            Self::OutOfOrder => &OUT_OF_ORDER,
            Self::LateAfterCancel => &LATE_AFTER_CANCEL,
            Self::Ping => &PING,
            Self::Payouts => &PAYOUTS,
        }
    }
}

/// A sequence of deliveries and what a correct receiver answers to each.
#[derive(Debug)]
pub struct Scenario {
    pub name: &'static str,
    pub steps: &'static [Step],
    /// The USD a correct receiver credits over the whole scenario; checked when every answer
    /// reports what it credited.
    pub total_credited: Option<&'static str>,
}

/// One delivery and its expected answer.
#[derive(Debug)]
pub struct Step {
    pub delivery: Delivery,
    pub expect: Expect,
}

/// What a step sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// A notification of the scenario's payment (requested [`REQUESTED`] USDC), signed.
    /// `filled_usd` is the cumulative amount received so far, or null.
    Payment { status: &'static str, filled_usd: Option<&'static str> },
    /// The previous step's request again, byte for byte.
    Again,
    /// A notification of the scenario's payout, signed.
    Payout { status: &'static str },
    /// PayRam's test ping: unsigned, `X-Webhook-Test: true`, [`PING_BODY`].
    Ping,
}

/// What a correct receiver answers. Any 2xx is required; the fields are checked only when the
/// answer is JSON with payram-merchant's `outcome` or `credited` (other receivers answer as
/// they like).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expect {
    pub outcome: Option<&'static str>,
    /// Compared as a decimal: `"60"` matches `"60.00"`.
    pub credited: Option<&'static str>,
}

impl Expect {
    /// Any 2xx.
    pub const ANY_2XX: Self = Self { outcome: None, credited: None };

    #[must_use]
    pub const fn answer(outcome: &'static str, credited: &'static str) -> Self {
        Self { outcome: Some(outcome), credited: Some(credited) }
    }
}

/// The requested amount of every scenario payment.
pub const REQUESTED: &str = "100.00";

const fn payment(status: &'static str, filled_usd: &'static str) -> Delivery {
    Delivery::Payment { status, filled_usd: Some(filled_usd) }
}

pub const PARTIAL_THEN_FILLED: Scenario = Scenario {
    name: "partial-then-filled",
    steps: &[
        Step {
            delivery: payment("PARTIALLY_FILLED", "40.00"),
            expect: Expect::answer("applied", "40"),
        },
        Step { delivery: payment("FILLED", "100.00"), expect: Expect::answer("applied", "60") },
    ],
    total_credited: Some("100"),
};

pub const DUPLICATES: Scenario = Scenario {
    name: "duplicates",
    steps: &[
        Step { delivery: payment("FILLED", "100.00"), expect: Expect::answer("applied", "100") },
        Step { delivery: Delivery::Again, expect: Expect::answer("duplicate", "0") },
    ],
    total_credited: Some("100"),
};

pub const OUT_OF_ORDER: Scenario = Scenario {
    name: "out-of-order",
    steps: &[
        Step { delivery: payment("FILLED", "100.00"), expect: Expect::answer("applied", "100") },
        Step {
            delivery: payment("PARTIALLY_FILLED", "40.00"),
            expect: Expect::answer("stale", "0"),
        },
    ],
    total_credited: Some("100"),
};

pub const LATE_AFTER_CANCEL: Scenario = Scenario {
    name: "late-after-cancel",
    steps: &[
        Step {
            delivery: Delivery::Payment { status: "CANCELLED", filled_usd: None },
            expect: Expect::answer("applied", "0"),
        },
        Step { delivery: payment("FILLED", "100.00"), expect: Expect::answer("applied", "100") },
    ],
    total_credited: Some("100"),
};

pub const PING: Scenario = Scenario {
    name: "ping",
    steps: &[Step { delivery: Delivery::Ping, expect: Expect::ANY_2XX }],
    total_credited: None,
};

pub const PAYOUTS: Scenario = Scenario {
    name: "payouts",
    steps: &[
        Step {
            delivery: Delivery::Payout { status: "INITIATED" },
            expect: Expect::answer("payout", "0"),
        },
        Step {
            delivery: Delivery::Payout { status: "PROCESSED" },
            expect: Expect::answer("payout", "0"),
        },
        Step { delivery: Delivery::Again, expect: Expect::answer("payout", "0") },
    ],
    total_credited: Some("0"),
};

/// One HTTP request, ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: HttpMethod,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// How a request authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `X-Payram-Signature` and `API-Key`, as current PayRam servers send.
    Signed,
    /// `API-Key` only, as older PayRam servers send.
    Legacy,
    /// No credentials, `X-Webhook-Test: true`: PayRam's test ping.
    TestPing,
}

impl Auth {
    const fn describe(self) -> &'static str {
        match self {
            Self::Signed => "X-Payram-Signature and API-Key",
            Self::Legacy => "API-Key only",
            Self::TestPing => "unsigned test ping, X-Webhook-Test: true",
        }
    }
}

impl Request {
    /// A request carrying `body` with the headers of `auth` under `key`.
    #[must_use]
    pub fn new(method: HttpMethod, auth: Auth, key: &str, body: Vec<u8>) -> Self {
        let mut headers = vec![("content-type", "application/json".to_owned())];
        match auth {
            Auth::Signed => {
                headers.push((SIGNATURE_HEADER, payram_protocol::sign(key.as_bytes(), &body)));
                headers.push((API_KEY_HEADER, key.to_owned()));
            }
            Auth::Legacy => headers.push((API_KEY_HEADER, key.to_owned())),
            Auth::TestPing => headers.push((TEST_HEADER, "true".to_owned())),
        }
        Self { method, headers, body }
    }

    /// PayRam's test ping: POST, unsigned, `X-Webhook-Test: true`.
    #[must_use]
    pub fn test_ping() -> Self {
        Self::new(HttpMethod::Post, Auth::TestPing, "", PING_BODY.to_vec())
    }
}

/// What a receiver answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub reason: String,
    pub body: Vec<u8>,
}

impl Answer {
    #[must_use]
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} {}", self.status, self.reason)
    }
}

/// A payment notification as current PayRam servers send it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentSpec<'a> {
    pub reference_id: &'a str,
    pub invoice_id: Option<&'a str>,
    pub customer_id: &'a str,
    pub status: &'a str,
    pub amount: Amount,
    pub currency: &'a str,
    pub filled: Option<Amount>,
    pub filled_usd: Option<Amount>,
    /// Unix seconds.
    pub timestamp: i64,
}

/// The wire shape, in PayRam's field order; money as exact decimal strings.
#[derive(Serialize)]
struct PaymentBody<'a> {
    customer_id: &'a str,
    invoice_id: Option<&'a str>,
    reference_id: &'a str,
    status: &'a str,
    amount: String,
    currency: &'a str,
    filled_amount: Option<String>,
    filled_amount_in_usd: Option<String>,
    timestamp: i64,
}

/// The JSON body of a payment notification.
pub fn payment_body(spec: &PaymentSpec<'_>) -> Result<Vec<u8>, String> {
    let body = PaymentBody {
        customer_id: spec.customer_id,
        invoice_id: spec.invoice_id,
        reference_id: spec.reference_id,
        status: spec.status,
        amount: spec.amount.to_string(),
        currency: spec.currency,
        filled_amount: spec.filled.map(|amount| amount.to_string()),
        filled_amount_in_usd: spec.filled_usd.map(|amount| amount.to_string()),
        timestamp: spec.timestamp,
    };
    serde_json::to_vec(&body).map_err(|err| format!("cannot build the body: {err}"))
}

/// The wire shape of a payout notification (PayRam 3.1.1 and later).
#[derive(Serialize)]
struct PayoutBody<'a> {
    event_type: String,
    payout_id: u64,
    network: &'a str,
    token: &'a str,
    amount: &'a str,
    amount_usd: &'a str,
    email: &'a str,
    address: &'a str,
    from_address: &'a str,
    tx_hash: &'a str,
    status: &'a str,
    withdrawal_type: &'a str,
    currency_type: &'a str,
    created_at: i64,
    updated_at: i64,
    timestamp: i64,
    failure_reason: &'a str,
}

/// The JSON body of a payout notification with `status` (upper case, e.g. `PROCESSED`).
pub fn payout_body(payout_id: u64, status: &str, timestamp: i64) -> Result<Vec<u8>, String> {
    let body = PayoutBody {
        event_type: format!("payout.{}", status.to_ascii_lowercase()),
        payout_id,
        network: "ETH",
        token: "USDC",
        amount: "25.00",
        amount_usd: "25.00",
        email: "merchant@example.com",
        address: "0x000000000000000000000000000000000000dEaD",
        from_address: "0x94d85fe4b6657421a98537ff73e47d96e893fe61",
        tx_hash: "",
        status,
        withdrawal_type: "payout_merchant",
        currency_type: "token",
        created_at: timestamp,
        updated_at: timestamp,
        timestamp,
        failure_reason: "",
    };
    serde_json::to_vec(&body).map_err(|err| format!("cannot build the body: {err}"))
}

/// Parses a decimal flag exactly, naming the flag when it is not one.
pub fn decimal(flag: &str, text: &str) -> Result<Amount, String> {
    Amount::parse(text).map_err(|err| format!("--{flag}: {err}"))
}

/// Everything a scenario run needs besides its steps.
#[derive(Clone, Debug)]
pub struct RunContext<'a> {
    pub key: &'a str,
    pub method: HttpMethod,
    pub auth: Auth,
    pub customer_id: &'a str,
    pub reference_id: String,
    pub payout_id: u64,
    pub timestamp: i64,
}

/// A step's request, with a line saying what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub label: String,
    pub request: Request,
}

/// The requests of a scenario, in order.
pub fn plan(scenario: &Scenario, context: &RunContext<'_>) -> Result<Vec<Planned>, String> {
    let requested = decimal("amount", REQUESTED)?;
    let mut planned: Vec<Planned> = Vec::with_capacity(scenario.steps.len());
    for step in scenario.steps {
        let next = match step.delivery {
            Delivery::Payment { status, filled_usd } => {
                let filled = filled_usd.map(|text| decimal("filled-usd", text)).transpose()?;
                let body = payment_body(&PaymentSpec {
                    reference_id: &context.reference_id,
                    invoice_id: None,
                    customer_id: context.customer_id,
                    status,
                    amount: requested,
                    currency: "USDC",
                    filled,
                    filled_usd: filled,
                    timestamp: context.timestamp,
                })?;
                let filled = filled_usd.unwrap_or("null");
                Planned {
                    label: format!(
                        "{} {status}, filled_amount_in_usd {filled} ({})",
                        context.method.as_str(),
                        context.auth.describe()
                    ),
                    request: Request::new(context.method, context.auth, context.key, body),
                }
            }
            Delivery::Again => {
                let previous = planned
                    .last()
                    .ok_or_else(|| format!("scenario {}: nothing to repeat", scenario.name))?;
                Planned {
                    label: format!(
                        "{} the previous body again, byte for byte",
                        previous.request.method.as_str()
                    ),
                    request: previous.request.clone(),
                }
            }
            Delivery::Payout { status } => {
                let body = payout_body(context.payout_id, status, context.timestamp)?;
                Planned {
                    label: format!(
                        "{} payout.{} of payout {} ({})",
                        context.method.as_str(),
                        status.to_ascii_lowercase(),
                        context.payout_id,
                        context.auth.describe()
                    ),
                    request: Request::new(context.method, context.auth, context.key, body),
                }
            }
            Delivery::Ping => Planned {
                label: format!(
                    "POST {} ({})",
                    String::from_utf8_lossy(PING_BODY),
                    Auth::TestPing.describe()
                ),
                request: Request::test_ping(),
            },
        };
        planned.push(next);
    }
    Ok(planned)
}

/// How one answer compares with a step's expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx, and every payram-merchant field present matched; `credited` when reported.
    Pass { credited: Option<Amount> },
    /// 2xx from a receiver that does not answer payram-merchant's fields: only the status was
    /// checked.
    Generic,
    /// Not what a correct receiver answers; says why.
    Fail(String),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pass { credited: Some(credited) } => write!(f, "ok   credited {credited}"),
            Self::Pass { credited: None } => f.write_str("ok"),
            Self::Generic => f.write_str(
                "ok   2xx (not a payram-merchant answer: detailed checks skipped, status only)",
            ),
            Self::Fail(why) => write!(f, "FAIL {why}"),
        }
    }
}

/// Judges one answer against what a correct receiver answers.
#[must_use]
pub fn judge(expect: &Expect, answer: &Answer) -> Verdict {
    if !answer.is_success() {
        return Verdict::Fail(format!("answered {}, expected a 2xx", answer.status));
    }
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&answer.body) else {
        return Verdict::Generic;
    };
    let outcome = fields.get("outcome");
    let credited = fields.get("credited");
    if outcome.is_none() && credited.is_none() {
        return Verdict::Generic;
    }
    let mut problems = Vec::new();
    if let Some(want) = expect.outcome {
        match outcome.and_then(Value::as_str) {
            Some(got) if got == want => {}
            Some(got) => problems.push(format!("outcome {got:?}, expected {want:?}")),
            None => problems.push(format!("no outcome, expected {want:?}")),
        }
    }
    let credited = match credited.map(answered_amount).transpose() {
        Ok(credited) => credited,
        Err(why) => {
            problems.push(why);
            None
        }
    };
    if let Some(want) = expect.credited {
        match (Amount::parse(want), credited) {
            (Ok(want), Some(got)) if got == want => {}
            (Ok(want), Some(got)) => problems.push(format!("credited {got}, expected {want}")),
            (Ok(want), None) => problems.push(format!("no credited amount, expected {want}")),
            (Err(err), _) => problems.push(format!("bad expectation: {err}")),
        }
    }
    if problems.is_empty() {
        return Verdict::Pass { credited };
    }
    Verdict::Fail(problems.join("; "))
}

/// `credited` as a decimal: a JSON string, or (leniently) a JSON number's text.
fn answered_amount(value: &Value) -> Result<Amount, String> {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        other => return Err(format!("credited {other} is not a decimal")),
    };
    Amount::parse(&text).map_err(|err| format!("credited: {err}"))
}

/// The scenario-wide check: the credits add up to [`Scenario::total_credited`]. `None` when
/// there is nothing to check (no expected total, or some answer did not report a credit).
#[must_use]
pub fn total_verdict(scenario: &Scenario, verdicts: &[Verdict]) -> Option<Result<Amount, String>> {
    let want = scenario.total_credited?;
    let mut total = Amount::ZERO;
    for verdict in verdicts {
        let Verdict::Pass { credited: Some(credited) } = verdict else {
            return None;
        };
        total = total.checked_add(*credited)?;
    }
    Some(match Amount::parse(want) {
        Ok(want) if total == want => Ok(total),
        Ok(want) => Err(format!("credited {total} in all, expected {want}")),
        Err(err) => Err(format!("bad expectation: {err}")),
    })
}

/// An HTTP client with a timeout on every request, for one webhook URL.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    url: reqwest::Url,
    timeout: Duration,
}

impl Client {
    /// A client for an `http://` or `https://` URL (TLS by rustls).
    pub fn new(url: &str, timeout_secs: u64) -> Result<Self, String> {
        if timeout_secs == 0 {
            return Err("--timeout must be at least 1 second".to_owned());
        }
        let parsed =
            reqwest::Url::parse(url).map_err(|err| format!("{url:?} is not a URL ({err})"))?;
        match parsed.scheme() {
            "http" | "https" => {}
            other => return Err(format!("{url}: scheme {other:?} is not http or https")),
        }
        let timeout = Duration::from_secs(timeout_secs);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A webhook is answered where it is sent: a redirect is reported, not followed.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| format!("cannot build an HTTP client: {}", chain(&err)))?;
        Ok(Self { http, url: parsed, timeout })
    }

    #[must_use]
    pub const fn url(&self) -> &reqwest::Url {
        &self.url
    }

    /// Sends one request and reads the whole answer; a transport failure is a clear message.
    pub async fn deliver(&self, request: &Request) -> Result<Answer, String> {
        let method = match request.method {
            HttpMethod::Post => reqwest::Method::POST,
            HttpMethod::Get => reqwest::Method::GET,
        };
        let mut builder = self.http.request(method, self.url.clone()).body(request.body.clone());
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        let response = builder.send().await.map_err(|err| self.transport_error(&err))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|err| self.transport_error(&err))?;
        Ok(Answer {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").to_owned(),
            body: body.to_vec(),
        })
    }

    fn transport_error(&self, err: &reqwest::Error) -> String {
        let url = &self.url;
        if err.is_timeout() {
            return format!("no answer from {url} within {}s (--timeout)", self.timeout.as_secs());
        }
        if err.is_connect() {
            return format!("cannot connect to {url}: {}", root_cause(err));
        }
        format!("request to {url} failed: {}", chain(err))
    }
}

fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    payram_ports::ErrorChain(err).to_string()
}

/// The innermost cause, e.g. `Connection refused (os error 111)`.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// A fresh reference id, unique across runs and processes, shaped like PayRam's (a version 4
/// UUID): the clock in nanoseconds, the process id and a per-process counter, scrambled.
#[must_use]
pub fn fresh_reference() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_nanos());
    // Both halves go through a bijection: distinct times give distinct high halves, and within
    // one nanosecond distinct processes or counts give distinct low halves.
    let high = splitmix64(u64::try_from(nanos & u128::from(u64::MAX)).unwrap_or(0));
    let low = splitmix64(high ^ (u64::from(std::process::id()) << 32) ^ (count & 0xffff_ffff));
    let high = (high & !0xf000) | 0x4000; // version 4
    let low = (low & !(0b11 << 62)) | (0b10 << 62); // RFC 4122 variant
    let hex = format!("{high:016x}{low:016x}");
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// `SplitMix64`'s finaliser: a bijection of `u64` that scrambles every bit.
const fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A fresh payout id: microseconds since the epoch plus a counter (below 2^53, so it survives
/// a JSON reader that uses doubles).
#[must_use]
pub fn fresh_payout_id() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let micros = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_micros());
    u64::try_from(micros).unwrap_or(0).wrapping_add(COUNTER.fetch_add(1, Ordering::Relaxed))
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

const fn auth(target: &TargetArgs) -> Auth {
    if target.legacy_header { Auth::Legacy } else { Auth::Signed }
}

fn key(target: &TargetArgs) -> Result<&str, String> {
    if target.key.trim().is_empty() {
        return Err("--key is empty: give the PayRam project API key".to_owned());
    }
    Ok(&target.key)
}

/// The body `send` delivers: the file's bytes, or one built from the flags.
pub fn send_body(args: &SendArgs, reference_id: &str, timestamp: i64) -> Result<Vec<u8>, String> {
    if let Some(path) = &args.file {
        return std::fs::read(path).map_err(|err| format!("cannot read {}: {err}", path.display()));
    }
    let amount = decimal("amount", &args.amount)?;
    let filled = args.filled.as_deref().map(|text| decimal("filled", text)).transpose()?;
    let filled_usd =
        args.filled_usd.as_deref().map(|text| decimal("filled-usd", text)).transpose()?;
    let filled = filled.unwrap_or(amount);
    payment_body(&PaymentSpec {
        reference_id,
        invoice_id: args.invoice.as_deref(),
        customer_id: &args.customer,
        status: &args.status,
        amount,
        currency: &args.currency,
        filled: Some(filled),
        filled_usd: Some(filled_usd.unwrap_or(filled)),
        timestamp,
    })
}

/// `payram-merchant send`: one notification; fails unless the answer is 2xx.
pub async fn send(args: &SendArgs) -> Result<(), String> {
    let key = key(&args.target)?;
    let reference = args.reference.clone().unwrap_or_else(fresh_reference);
    let body = send_body(args, &reference, now_unix())?;
    let client = Client::new(&args.target.url, args.target.timeout)?;
    let request = Request::new(args.target.method, auth(&args.target), key, body);

    let mut out = io::stdout().lock();
    let io_error = |err: io::Error| format!("cannot write to stdout: {err}");
    writeln!(
        out,
        "> {} {} ({})",
        request.method.as_str(),
        client.url(),
        auth(&args.target).describe()
    )
    .map_err(io_error)?;
    writeln!(out, "> {}", String::from_utf8_lossy(&request.body)).map_err(io_error)?;
    out.flush().map_err(io_error)?;
    let answer = client.deliver(&request).await?;
    writeln!(out, "< {answer}").map_err(io_error)?;
    writeln!(out, "< {}", String::from_utf8_lossy(&answer.body)).map_err(io_error)?;
    if !answer.is_success() {
        return Err(format!("the receiver answered {}, not a 2xx", answer.status));
    }
    Ok(())
}

/// At most this many characters of an answer are shown per step.
const SHOWN_ANSWER_CHARS: usize = 500;

/// `payram-merchant simulate`: plays a scenario, prints every step and its verdict, and fails
/// when any answer is not what a correct receiver answers.
pub async fn simulate(args: &SimulateArgs) -> Result<(), String> {
    let scenario = args.scenario.scenario();
    let key = key(&args.target)?;
    let client = Client::new(&args.target.url, args.target.timeout)?;
    let context = RunContext {
        key,
        method: args.target.method,
        auth: auth(&args.target),
        customer_id: &args.customer,
        reference_id: fresh_reference(),
        payout_id: fresh_payout_id(),
        timestamp: now_unix(),
    };
    let planned = plan(scenario, &context)?;

    let mut out = io::stdout().lock();
    let io_error = |err: io::Error| format!("cannot write to stdout: {err}");
    writeln!(out, "scenario {} against {}", scenario.name, client.url()).map_err(io_error)?;
    let delivers =
        |wanted: fn(&Delivery) -> bool| scenario.steps.iter().any(|step| wanted(&step.delivery));
    if delivers(|delivery| matches!(delivery, Delivery::Payment { .. })) {
        writeln!(out, "reference_id {}, customer_id {}", context.reference_id, context.customer_id)
            .map_err(io_error)?;
    }
    if delivers(|delivery| matches!(delivery, Delivery::Payout { .. })) {
        writeln!(out, "payout_id {}", context.payout_id).map_err(io_error)?;
    }
    let steps = planned.len();
    let mut verdicts = Vec::with_capacity(steps);
    let mut failed = Vec::new();
    for (index, (step, planned)) in scenario.steps.iter().zip(&planned).enumerate() {
        let number = index + 1;
        writeln!(out, "step {number}/{steps}: {}", planned.label).map_err(io_error)?;
        out.flush().map_err(io_error)?;
        let answer = client.deliver(&planned.request).await?;
        let shown = String::from_utf8_lossy(&answer.body);
        let shown = shown.trim_end();
        let shown = match shown.char_indices().nth(SHOWN_ANSWER_CHARS) {
            Some((cut, _)) => format!("{}...", &shown[..cut]),
            None => shown.to_owned(),
        };
        writeln!(out, "  < {answer} {shown}").map_err(io_error)?;
        let verdict = judge(&step.expect, &answer);
        writeln!(out, "  {verdict}").map_err(io_error)?;
        if matches!(verdict, Verdict::Fail(_)) {
            failed.push(number.to_string());
        }
        verdicts.push(verdict);
    }
    match total_verdict(scenario, &verdicts) {
        Some(Ok(total)) => writeln!(out, "total: ok   credited {total} in all"),
        Some(Err(why)) => {
            failed.push("total".to_owned());
            writeln!(out, "total: FAIL {why}")
        }
        None if verdicts.iter().any(|verdict| matches!(verdict, Verdict::Generic)) => {
            writeln!(
                out,
                "note: the receiver does not answer payram-merchant's fields; \
                 only the status codes were checked"
            )
        }
        None => Ok(()),
    }
    .map_err(io_error)?;
    if failed.is_empty() {
        writeln!(out, "PASS {}", scenario.name).map_err(io_error)?;
        return Ok(());
    }
    writeln!(out, "FAIL {}", scenario.name).map_err(io_error)?;
    Err(format!(
        "scenario {}: the receiver answered unlike a correct one (step {})",
        scenario.name,
        failed.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    const KEY: &str = "payram-test-project-api-key-0001";

    fn amount(text: &str) -> Amount {
        Amount::parse(text).unwrap()
    }

    fn json(body: &[u8]) -> Value {
        serde_json::from_slice(body).unwrap()
    }

    fn ok(body: &str) -> Answer {
        Answer { status: 200, reason: "OK".to_owned(), body: body.as_bytes().to_vec() }
    }

    fn context() -> RunContext<'static> {
        RunContext {
            key: KEY,
            method: HttpMethod::Post,
            auth: Auth::Signed,
            customer_id: "cust-1",
            reference_id: "ref-1".to_owned(),
            payout_id: 7,
            timestamp: 1_781_000_000,
        }
    }

    #[derive(Parser)]
    struct SendCli {
        #[command(flatten)]
        send: SendArgs,
    }

    fn send_args(args: &[&str]) -> SendArgs {
        let mut line = vec!["send", "--url", "http://127.0.0.1:1/webhook", "--key", KEY];
        line.extend_from_slice(args);
        SendCli::try_parse_from(line).unwrap().send
    }

    #[test]
    fn a_payment_body_has_payram_shape_and_exact_decimal_strings() {
        let body = payment_body(&PaymentSpec {
            reference_id: "ref-1",
            invoice_id: Some("INV-1"),
            customer_id: "cust-1",
            status: "FILLED",
            amount: amount("49.999999999999998"),
            currency: "ETH",
            filled: Some(amount("49.999999999999998")),
            filled_usd: Some(amount("82.00")),
            timestamp: 1_781_000_000,
        })
        .unwrap();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"customer_id":"cust-1","invoice_id":"INV-1","reference_id":"ref-1","status":"FILLED","amount":"49.999999999999998","currency":"ETH","filled_amount":"49.999999999999998","filled_amount_in_usd":"82.00","timestamp":1781000000}"#
        );
    }

    #[test]
    fn built_bodies_parse_as_the_receiver_parses_them() {
        let body = send_body(&send_args(&["--filled-usd", "12.50"]), "ref-9", 1).unwrap();
        let inbound = payram_protocol::parse_body(&body).unwrap();
        let payram_domain::Inbound::Payment(notification) = inbound else {
            panic!("expected a payment, got {inbound:?}");
        };
        assert_eq!(notification.reference_id.as_str(), "ref-9");
        assert_eq!(notification.filled_amount_in_usd, Some(amount("12.50")));
        assert_eq!(notification.filled_amount, Some(amount("10.00")));

        let payout = payout_body(7, "PENDING-APPROVAL", 1).unwrap();
        assert_eq!(json(&payout)["event_type"], "payout.pending-approval");
        assert!(matches!(
            payram_protocol::parse_body(&payout).unwrap(),
            payram_domain::Inbound::Payout(_)
        ));
    }

    #[test]
    fn send_defaults_fill_the_whole_amount() {
        let body = json(&send_body(&send_args(&["--amount", "12.5"]), "ref-1", 1).unwrap());
        assert_eq!(body["status"], "FILLED");
        assert_eq!(body["amount"], "12.5");
        assert_eq!(body["filled_amount"], "12.5");
        assert_eq!(body["filled_amount_in_usd"], "12.5");
        assert_eq!(body["currency"], "USDC");
        assert_eq!(body["customer_id"], DEFAULT_CUSTOMER);
        assert_eq!(body["invoice_id"], Value::Null);
    }

    #[test]
    fn send_refuses_amounts_that_are_not_exact_decimals() {
        for bad in ["12,5", "-1", "NaN", "1e400", ""] {
            let err = send_body(&send_args(&["--amount", bad]), "ref-1", 1).unwrap_err();
            assert!(err.starts_with("--amount"), "{bad}: {err}");
        }
        let err = send_body(&send_args(&["--filled-usd", "ten"]), "ref-1", 1).unwrap_err();
        assert!(err.starts_with("--filled-usd"), "{err}");
    }

    #[test]
    fn send_file_is_sent_byte_for_byte_and_excludes_body_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("body.json");
        std::fs::write(&path, b"{ \"odd\" :1 }\n").unwrap();
        let args = send_args(&["--file", path.to_str().unwrap()]);
        assert_eq!(send_body(&args, "ignored", 1).unwrap(), b"{ \"odd\" :1 }\n");

        let line = ["send", "--url", "http://x/", "--key", "k", "--file", "b", "--status", "OPEN"];
        assert!(SendCli::try_parse_from(line).is_err());
    }

    #[test]
    fn requests_carry_the_headers_of_their_authentication() {
        let signed = Request::new(HttpMethod::Post, Auth::Signed, KEY, b"{}".to_vec());
        assert!(
            signed
                .headers
                .contains(&(SIGNATURE_HEADER, payram_protocol::sign(KEY.as_bytes(), b"{}")))
        );
        assert!(signed.headers.contains(&(API_KEY_HEADER, KEY.to_owned())));

        let legacy = Request::new(HttpMethod::Get, Auth::Legacy, KEY, b"{}".to_vec());
        assert!(legacy.headers.iter().all(|(name, _)| *name != SIGNATURE_HEADER));
        assert!(legacy.headers.contains(&(API_KEY_HEADER, KEY.to_owned())));

        let ping = Request::test_ping();
        assert_eq!(ping.body, PING_BODY);
        assert!(ping.headers.contains(&(TEST_HEADER, "true".to_owned())));
        assert!(ping.headers.iter().all(|(name, _)| *name != API_KEY_HEADER));
        assert!(payram_protocol::is_test_ping(Some(b"true"), &ping.body));
    }

    #[test]
    fn every_scenario_plans_one_request_per_step_on_one_payment() {
        for name in ScenarioName::value_variants() {
            let scenario = name.scenario();
            assert_eq!(
                Some(scenario.name),
                name.to_possible_value().as_ref().map(clap::builder::PossibleValue::get_name)
            );
            let planned = plan(scenario, &context()).unwrap();
            assert_eq!(planned.len(), scenario.steps.len(), "{}", scenario.name);
            for planned in &planned {
                let body = json(&planned.request.body);
                if let Some(reference) = body.get("reference_id") {
                    assert_eq!(reference, "ref-1", "{}", scenario.name);
                }
            }
        }
    }

    #[test]
    fn again_repeats_the_previous_request_byte_for_byte() {
        let planned = plan(&DUPLICATES, &context()).unwrap();
        assert_eq!(planned[0].request, planned[1].request);
        let payouts = plan(&PAYOUTS, &context()).unwrap();
        assert_eq!(payouts[1].request, payouts[2].request);
        assert_ne!(payouts[0].request, payouts[1].request);
    }

    #[test]
    fn legacy_and_get_apply_to_every_scenario_delivery_but_the_ping() {
        let context = RunContext { auth: Auth::Legacy, method: HttpMethod::Get, ..context() };
        let planned = plan(&PARTIAL_THEN_FILLED, &context).unwrap();
        assert!(planned.iter().all(|step| step.request.method == HttpMethod::Get));
        assert!(planned.iter().all(|step| {
            step.request.headers.iter().all(|(name, _)| *name != SIGNATURE_HEADER)
        }));
        let ping = plan(&PING, &context).unwrap();
        assert_eq!(ping[0].request, Request::test_ping());
    }

    #[test]
    fn scenario_totals_agree_with_their_steps() {
        for name in ScenarioName::value_variants() {
            let scenario = name.scenario();
            let Some(total) = scenario.total_credited else { continue };
            let sum = scenario
                .steps
                .iter()
                .map(|step| amount(step.expect.credited.unwrap()))
                .try_fold(Amount::ZERO, Amount::checked_add)
                .unwrap();
            assert_eq!(sum, amount(total), "{}", scenario.name);
        }
    }

    /// What payram-merchant answers to a payment notification.
    fn merchant(outcome: &str, credited: &str) -> Answer {
        ok(&format!(
            r#"{{"outcome":"{outcome}","reference_id":"ref-1","status":"FILLED","credited":"{credited}"}}"#
        ))
    }

    fn judge_all(
        scenario: &Scenario,
        answers: &[Answer],
    ) -> (Vec<Verdict>, Option<Result<Amount, String>>) {
        let verdicts: Vec<_> = scenario
            .steps
            .iter()
            .zip(answers)
            .map(|(step, answer)| judge(&step.expect, answer))
            .collect();
        let total = total_verdict(scenario, &verdicts);
        (verdicts, total)
    }

    fn passes(scenario: &Scenario, answers: &[Answer]) -> bool {
        let (verdicts, total) = judge_all(scenario, answers);
        verdicts.iter().all(|verdict| !matches!(verdict, Verdict::Fail(_)))
            && !matches!(total, Some(Err(_)))
    }

    #[test]
    fn correct_answers_pass_comparing_credits_as_decimals() {
        let answers = [merchant("applied", "40.00"), merchant("applied", "60.00")];
        let (verdicts, total) = judge_all(&PARTIAL_THEN_FILLED, &answers);
        assert_eq!(verdicts[0], Verdict::Pass { credited: Some(amount("40.00")) });
        assert_eq!(total, Some(Ok(amount("100"))));

        assert!(passes(&DUPLICATES, &[merchant("applied", "100.00"), merchant("duplicate", "0")]));
        assert!(passes(&OUT_OF_ORDER, &[merchant("applied", "100"), merchant("stale", "0")]));
        assert!(passes(
            &LATE_AFTER_CANCEL,
            &[merchant("applied", "0"), merchant("applied", "100.00")]
        ));
        assert!(passes(&PING, &[ok(r#"{"outcome":"ping"}"#)]));
        let payout = ok(
            r#"{"outcome":"payout","reference_id":null,"payout_id":"7","status":"SENT","credited":"0"}"#,
        );
        assert!(passes(&PAYOUTS, &[payout.clone(), payout.clone(), payout]));
    }

    #[test]
    fn a_receiver_that_credits_a_duplicate_fails() {
        let answers = [merchant("applied", "100.00"), merchant("applied", "100.00")];
        let (verdicts, total) = judge_all(&DUPLICATES, &answers);
        let Verdict::Fail(why) = &verdicts[1] else { panic!("{verdicts:?}") };
        assert!(why.contains("outcome \"applied\", expected \"duplicate\""), "{why}");
        assert!(why.contains("credited 100.00, expected 0"), "{why}");
        assert_eq!(total, None, "a failed step leaves nothing to add up");
    }

    #[test]
    fn a_receiver_that_applies_a_stale_partial_fails() {
        assert!(!passes(&OUT_OF_ORDER, &[merchant("applied", "100"), merchant("applied", "0")]));
        assert!(!passes(&OUT_OF_ORDER, &[merchant("applied", "100"), merchant("stale", "40")]));
    }

    #[test]
    fn a_wrong_total_fails_even_when_each_step_looks_right() {
        let scenario = Scenario { total_credited: Some("90"), ..PARTIAL_THEN_FILLED };
        let answers = [merchant("applied", "40"), merchant("applied", "60")];
        let (_, total) = judge_all(&scenario, &answers);
        assert_eq!(total, Some(Err("credited 100 in all, expected 90".to_owned())));
    }

    #[test]
    fn errors_and_redirects_fail_whatever_the_body() {
        for status in [301, 400, 401, 404, 405, 500, 503] {
            let answer =
                Answer { status, reason: String::new(), body: br#"{"outcome":"ping"}"#.to_vec() };
            assert!(matches!(judge(&Expect::ANY_2XX, &answer), Verdict::Fail(_)), "{status}");
        }
        let always_500 =
            Answer { status: 500, reason: "Internal Server Error".to_owned(), body: Vec::new() };
        for name in ScenarioName::value_variants() {
            let scenario = name.scenario();
            let answers = vec![always_500.clone(); scenario.steps.len()];
            assert!(!passes(scenario, &answers), "{}", scenario.name);
        }
    }

    #[test]
    fn a_generic_receiver_passes_on_status_alone() {
        for body in ["OK", "", r#"{"received":true}"#, "[1,2]"] {
            assert_eq!(
                judge(&Expect::answer("duplicate", "0"), &ok(body)),
                Verdict::Generic,
                "{body}"
            );
        }
        let answers = [ok("OK"), ok("OK")];
        let (_, total) = judge_all(&DUPLICATES, &answers);
        assert_eq!(total, None, "no total without credits");
        assert!(Verdict::Generic.to_string().contains("detailed checks skipped"));
    }

    #[test]
    fn a_malformed_credit_fails() {
        let verdict = judge(
            &Expect::answer("applied", "40"),
            &ok(r#"{"outcome":"applied","credited":"forty"}"#),
        );
        assert!(matches!(verdict, Verdict::Fail(why) if why.contains("credited")));
        let verdict = judge(&Expect::answer("applied", "40"), &ok(r#"{"outcome":"applied"}"#));
        assert_eq!(verdict, Verdict::Fail("no credited amount, expected 40".to_owned()));
    }

    #[test]
    fn fresh_ids_differ_and_look_like_uuids() {
        let (first, second) = (fresh_reference(), fresh_reference());
        assert_ne!(first, second);
        assert_eq!(first.len(), 36);
        assert_eq!(first.matches('-').count(), 4);
        assert_eq!(&first[14..15], "4", "version 4: {first}");
        assert!(matches!(&first[19..20], "8" | "9" | "a" | "b"), "variant: {first}");
        assert_ne!(fresh_payout_id(), fresh_payout_id());
        assert!(fresh_payout_id() < 1 << 53);
    }

    #[test]
    fn the_client_refuses_what_it_cannot_reach() {
        assert!(Client::new("not a url", 10).unwrap_err().contains("not a URL"));
        assert!(Client::new("ftp://example.com/webhook", 10).unwrap_err().contains("https"));
        Client::new("https://example.com/webhook", 10).unwrap();
        assert!(Client::new("http://127.0.0.1:8080/webhook", 0).unwrap_err().contains("--timeout"));
        Client::new("http://127.0.0.1:8080/webhook", 1).unwrap();
    }

    #[tokio::test]
    async fn a_connection_failure_is_a_clear_message() {
        // A port that was just free: nothing listens on it.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let client = Client::new(&format!("http://127.0.0.1:{port}/webhook"), 5).unwrap();
        let err = client.deliver(&Request::test_ping()).await.unwrap_err();
        assert!(
            err.starts_with(&format!("cannot connect to http://127.0.0.1:{port}/webhook")),
            "{err}"
        );
    }
}
