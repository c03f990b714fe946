//! Property tests: arbitrary bytes and arbitrary JSON, validly signed so that they reach the
//! parser, thrown at the real webhook route. Whatever the body, the handler never panics and
//! never answers 5xx while storage is healthy; every answer is JSON with `outcome` or `error`.
//! With storage down, every body that reaches the use case is answered 503, unparsable ones
//! included: a refused body is recorded before it is answered 400, so it cannot be answered
//! until it can be recorded.
//!
//! Each case runs on its own actix system (`System::new().block_on`): proptest cases are
//! synchronous, and a fresh system per case keeps a panicking case from poisoning the next one
//! while proptest shrinks it. Building a system and the app costs well under a millisecond.
//! Each property runs proptest's default 256 cases, so the suite stays fast; for a longer search
//! set `PROPTEST_CASES`, or run the fuzz targets (`docs/FUZZING.md`).

use std::{fmt, io};

use actix_web::{
    http::{Method, StatusCode},
    test::TestRequest,
};
use proptest::{collection::vec, prelude::*, sample::select, test_runner::TestCaseError};
use serde_json::{Number, Value, json};

use payram_domain::{Amount, Inbound};
use payram_ports::{Delivery, MockPaymentUseCases, Receipt, RepositoryError, ServiceError};
use payram_protocol::{parse_body, sign};

use super::{Answer, KEY, MAX_BODY, Mocks, config, send_with};
use crate::HttpConfig;

/// Every field the parser reads, so that generated objects often carry them.
const FIELDS: &[&str] = &[
    "reference_id",
    "status",
    "payment_state",
    "customer_id",
    "invoice_id",
    "amount",
    "currency",
    "filled_amount",
    "filled_amount_in_usd",
    "filled_amount_usd",
    "event_type",
    "payout_id",
];

// --- the use case: an echo of what the handler parsed, or storage down ---

/// A healthy core: answers every delivery with a receipt that echoes its parsed content.
fn echoing() -> MockPaymentUseCases {
    let mut use_cases = MockPaymentUseCases::new();
    use_cases.expect_receive().returning(|delivery| Ok(echo(delivery)));
    use_cases
}

fn echo(delivery: Delivery) -> Receipt {
    let receipt = Receipt {
        event_id: 1,
        outcome: payram_domain::EventOutcome::Ping,
        reference_id: None,
        payout_id: None,
        status: None,
        credited: Amount::ZERO,
        message: None,
    };
    match delivery.content {
        Ok(Inbound::Payment(n)) => Receipt {
            outcome: payram_domain::EventOutcome::Applied,
            status: Some(n.status.as_str().to_owned()),
            credited: n.filled_amount_in_usd.unwrap_or(Amount::ZERO),
            reference_id: Some(n.reference_id),
            ..receipt
        },
        Ok(Inbound::Payout(p)) => Receipt {
            outcome: payram_domain::EventOutcome::Payout,
            payout_id: Some(p.payout_id),
            status: Some(p.status),
            ..receipt
        },
        Ok(Inbound::Ping) => receipt,
        Err(rejection) => {
            Receipt { outcome: rejection.outcome, message: Some(rejection.message), ..receipt }
        }
    }
}

/// A core whose storage is down: every delivery fails as retryable.
fn storage_down() -> MockPaymentUseCases {
    let mut use_cases = MockPaymentUseCases::new();
    use_cases.expect_receive().returning(|_| {
        Err(ServiceError::from(RepositoryError::Unavailable(Box::new(io::Error::other(
            "database is locked",
        )))))
    });
    use_cases
}

// --- sending ---

/// One signed delivery of `body`, maybe flagged as PayRam's test.
#[derive(Clone)]
struct Request {
    method: Method,
    test_header: bool,
    body: Vec<u8>,
}

/// Shows the body as an escaped byte string, so a failing case reads like the request.
impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("test_header", &self.test_header)
            .field("body", &format_args!("b\"{}\"", self.body.escape_ascii()))
            .finish()
    }
}

/// Sends `request`, signed under the configured key, to a fresh app on a fresh actix system.
fn deliver(use_cases: MockPaymentUseCases, config: HttpConfig, request: &Request) -> Answer {
    let mut req = TestRequest::default()
        .method(request.method.clone())
        .uri("/webhook")
        .insert_header(("X-Payram-Signature", sign(KEY.as_bytes(), &request.body)))
        .set_payload(request.body.clone());
    if request.test_header {
        req = req.insert_header(("X-Webhook-Test", "true"));
    }
    actix_web::rt::System::new().block_on(send_with(Mocks::with_use_cases(use_cases), config, req))
}

/// A limit no generated JSON body reaches.
fn roomy_config() -> HttpConfig {
    HttpConfig { max_body_bytes: 1 << 20, ..config() }
}

// --- what every answer must be ---

/// The contract, independent of the body: a JSON object with exactly one of `outcome` (200)
/// or `error` (anything else).
fn check_shape(answer: &Answer) -> Result<(), TestCaseError> {
    let object = answer.json.as_object();
    prop_assert!(object.is_some(), "answer {} is not an object: {}", answer.status, answer.json);
    let has_outcome = answer.json.get("outcome").is_some_and(Value::is_string);
    let has_error = answer.json.get("error").is_some_and(Value::is_string);
    prop_assert!(has_outcome != has_error, "answer {}: {}", answer.status, answer.json);
    prop_assert_eq!(has_outcome, answer.status == StatusCode::OK, "answer {}", answer.json);
    Ok(())
}

/// With healthy storage: 200 or 400 (413 only above the body limit), and exactly the answer
/// [`parse_body`] implies for the body.
fn check_healthy(answer: &Answer, request: &Request, limit: usize) -> Result<(), TestCaseError> {
    check_shape(answer)?;
    if request.body.len() > limit {
        prop_assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
        prop_assert_eq!(&answer.json, &json!({"error": "payload_too_large"}));
        return Ok(());
    }
    prop_assert!(
        matches!(answer.status, StatusCode::OK | StatusCode::BAD_REQUEST),
        "answer {} to a body within the limit: {}",
        answer.status,
        answer.json
    );
    // Every request here is signed: the test header changes nothing (only the unsigned test
    // ping skips the recording path).
    match parse_body(&request.body) {
        Ok(Inbound::Payment(n)) => {
            prop_assert_eq!(answer.status, StatusCode::OK);
            prop_assert_eq!(&answer.json["outcome"], "applied");
            prop_assert_eq!(&answer.json["reference_id"], n.reference_id.as_str());
            prop_assert_eq!(&answer.json["status"], n.status.as_str());
            let credited = n.filled_amount_in_usd.unwrap_or(Amount::ZERO).to_string();
            prop_assert_eq!(&answer.json["credited"], credited.as_str());
        }
        Ok(Inbound::Payout(p)) => {
            prop_assert_eq!(answer.status, StatusCode::OK);
            prop_assert_eq!(&answer.json["outcome"], "payout");
            prop_assert_eq!(&answer.json["payout_id"], p.payout_id.as_str());
        }
        Ok(Inbound::Ping) => {
            prop_assert_eq!(answer.status, StatusCode::OK);
            prop_assert_eq!(&answer.json, &json!({"outcome": "ping"}));
        }
        Err(err) => {
            prop_assert_eq!(answer.status, StatusCode::BAD_REQUEST);
            prop_assert_eq!(&answer.json["error"], err.outcome().as_str());
            let message = err.to_string();
            prop_assert_eq!(&answer.json["message"], message.as_str());
        }
    }
    Ok(())
}

/// With storage down: 503 `storage_unavailable` for everything the use case sees, whether the
/// body parses or not, test header or not (every request here is signed, so recorded).
fn check_storage_down(answer: &Answer) -> Result<(), TestCaseError> {
    check_shape(answer)?;
    prop_assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    prop_assert_eq!(&answer.json, &json!({"error": "storage_unavailable"}));
    Ok(())
}

// --- generators ---

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![3 => Just(Method::POST), 1 => Just(Method::GET)]
}

/// Arbitrary bytes, or a JSON body with one byte overwritten (near misses of the parser).
fn bytes() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..=2 * MAX_BODY),
        (json_body(), any::<prop::sample::Index>(), any::<u8>()).prop_map(
            |(mut body, at, byte)| {
                if !body.is_empty() {
                    let at = at.index(body.len());
                    body[at] = byte;
                }
                body
            }
        ),
    ]
    .boxed()
}

/// An object key: usually a field the parser reads, sometimes anything.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(FIELDS).prop_map(str::to_owned),
        1 => "[a-z_]{0,12}",
        1 => any::<String>(),
    ]
}

/// Text PayRam might put in a field: statuses, event types, ids, money, blanks.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        select(
            &[
                "FILLED",
                "filled",
                " Open ",
                "PARTIALLY_FILLED",
                "OVER_FILLED",
                "CANCELLED",
                "CANCELED",
                "UNDEFINED",
                "payout.ping",
                "PAYOUT.PING",
                "payout.sent",
                "payout.",
                "",
                " ",
            ][..]
        )
        .prop_map(str::to_owned),
        "ref-[0-9a-z]{1,12}",
        "[+-]?[0-9]{0,30}(\\.[0-9]{0,30})?([eE][+-]?[0-9]{1,3})?",
        any::<String>(),
    ]
}

/// A JSON number written as text, beyond what `f64` or `u64` hold: huge, tiny, long, signed.
fn number_literal() -> impl Strategy<Value = String> {
    "-?(0|[1-9][0-9]{0,40})(\\.[0-9]{1,40})?([eE][+-]?[0-9]{1,4})?"
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        word().prop_map(Value::String),
    ]
}

/// Any JSON value, nested up to four levels.
fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec((key(), inner), 0..6).prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// A field's JSON text: any value, or a number literal `Value` cannot hold.
fn value_text() -> BoxedStrategy<String> {
    prop_oneof![3 => value().prop_map(|v| v.to_string()), 1 => number_literal()].boxed()
}

/// Renders an object from its fields in order, repeated keys kept (the parser refuses them).
fn render_object(fields: &[(String, String)]) -> Vec<u8> {
    let members: Vec<String> = fields
        .iter()
        .map(|(key, value)| format!("{}:{value}", Value::from(key.as_str())))
        .collect();
    format!("{{{}}}", members.join(",")).into_bytes()
}

/// A field present with probability `presence`: usually a plausible value, else any JSON.
fn field(
    name: &'static str,
    presence: f64,
    plausible: impl Strategy<Value = String> + 'static,
) -> impl Strategy<Value = Option<(String, String)>> {
    proptest::option::weighted(presence, prop_oneof![6 => plausible, 1 => value_text()])
        .prop_map(move |text| text.map(|text| (name.to_owned(), text)))
}

/// A JSON string of `text`.
fn quoted(text: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    text.prop_map(|text| Value::from(text).to_string())
}

/// Money as PayRam sends it: a decimal string, a number, or null.
fn money() -> impl Strategy<Value = String> {
    prop_oneof![
        quoted("[0-9]{0,12}(\\.[0-9]{0,18})?"),
        "(0|[1-9][0-9]{0,11})(\\.[0-9]{1,18})?",
        Just("null".to_owned()),
    ]
}

/// An object shaped like a payment notification: each field the parser reads, present or not,
/// usually of a plausible type, sometimes of any type, in random order, plus random extra
/// fields (which may repeat a field).
fn notification_like() -> BoxedStrategy<Vec<u8>> {
    let status = || {
        quoted(
            select(&["FILLED", "open", " Partially_Filled ", "CANCELED", "X", ""][..])
                .prop_map(str::to_owned),
        )
    };
    (
        (
            field(
                "reference_id",
                0.9,
                prop_oneof![quoted("ref-[0-9a-z]{1,12}"), "[1-9][0-9]{0,9}"],
            ),
            field("status", 0.9, status()),
            field("payment_state", 0.2, status()),
            field("customer_id", 0.6, prop_oneof![quoted("cust-[0-9]{1,6}"), "[1-9][0-9]{0,8}"]),
            field("invoice_id", 0.3, quoted("[a-z0-9-]{0,12}")),
            field("currency", 0.5, quoted("USDC|ETH|BTC|")),
        ),
        (
            field("amount", 0.6, money()),
            field("filled_amount", 0.5, money()),
            field("filled_amount_in_usd", 0.6, money()),
            field("filled_amount_usd", 0.2, money()),
        ),
        vec((prop_oneof![4 => "x_[a-z_]{0,10}", 1 => key()], value_text()), 0..3),
    )
        .prop_map(|((r, s, ps, c, i, cur), (a, fa, usd, legacy), extra)| {
            [r, s, ps, c, i, cur, a, fa, usd, legacy].into_iter().flatten().chain(extra).collect()
        })
        .prop_shuffle()
        .prop_map(|fields: Vec<(String, String)>| render_object(&fields))
        .boxed()
}

/// An object shaped like a payout notification or PayRam's ping: an `event_type`, maybe a
/// `payout_id` and a `status`, plus random extra fields.
fn payout_like() -> BoxedStrategy<Vec<u8>> {
    let event_type = prop_oneof![
        3 => "(payout|PAYOUT|Payout)\\.(ping|sent|processed|cancelled|[a-z]{0,8})",
        1 => word(),
    ];
    let text =
        || prop_oneof![2 => word().prop_map(|w| Value::from(w).to_string()), 1 => value_text()];
    (
        event_type.prop_map(|e| Value::from(e).to_string()),
        proptest::option::weighted(0.8, text()),
        proptest::option::of(text()),
        vec((key(), value_text()), 0..3),
    )
        .prop_map(|(event_type, payout_id, status, extra)| {
            let fields: Vec<(String, String)> = [
                Some(("event_type".to_owned(), event_type)),
                payout_id.map(|id| ("payout_id".to_owned(), id)),
                status.map(|status| ("status".to_owned(), status)),
            ]
            .into_iter()
            .flatten()
            .chain(extra)
            .collect();
            render_object(&fields)
        })
        .boxed()
}

/// A JSON body: a notification-like or payout-like object, any object, or any value at all.
fn json_body() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        3 => notification_like(),
        1 => payout_like(),
        1 => vec((key(), value_text()), 0..8).prop_map(|fields| render_object(&fields)),
        1 => value().prop_map(|v| v.to_string().into_bytes()),
    ]
    .boxed()
}

fn request(body: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Request> {
    (method(), proptest::bool::weighted(0.2), body)
        .prop_map(|(method, test_header, body)| Request { method, test_header, body })
}

// --- the properties ---

proptest! {
    #[test]
    fn arbitrary_bytes_get_200_or_400_json_never_5xx(request in request(bytes())) {
        let answer = deliver(echoing(), config(), &request);
        check_healthy(&answer, &request, MAX_BODY)?;
    }

    #[test]
    fn arbitrary_json_gets_200_or_400_json_never_5xx(request in request(json_body())) {
        let answer = deliver(echoing(), roomy_config(), &request);
        check_healthy(&answer, &request, usize::MAX)?;
    }

    #[test]
    fn with_storage_down_every_recorded_body_gets_503_even_unparsable_ones(
        request in request(prop_oneof![bytes(), json_body()])
    ) {
        let answer = deliver(storage_down(), roomy_config(), &request);
        check_storage_down(&answer)?;
    }
}

/// The JSON generator reaches every branch of the parser, often enough for 256 cases:
/// payments, payouts, pings and refusals.
#[test]
fn the_json_generator_reaches_every_branch_of_the_parser() {
    use proptest::{strategy::ValueTree, test_runner::TestRunner};

    let mut runner = TestRunner::deterministic();
    let strategy = json_body();
    let mut seen = [0_u32; 4];
    for _ in 0..2_000 {
        let body = strategy.new_tree(&mut runner).unwrap().current();
        let kind = match parse_body(&body) {
            Ok(Inbound::Payment(_)) => 0,
            Ok(Inbound::Payout(_)) => 1,
            Ok(Inbound::Ping) => 2,
            Err(_) => 3,
        };
        seen[kind] += 1;
    }
    // At least one body in 50 of each kind: five or more per run of 256 cases.
    assert!(seen.iter().all(|&n| n >= 40), "payment, payout, ping, refused: {seen:?}");
}
