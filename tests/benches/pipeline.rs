//! `make bench`, the micro-benchmark (criterion): what the webhook does to one delivery before
//! any I/O. Authenticate the raw bytes (`API-Key` or `X-Payram-Signature`), parse them, check
//! the notification against the credit policy and decide what it does to the payment: new
//! (applied, a credit) or already stored (a duplicate). The body is a shared vector,
//! `fixtures/vectors/filled_btc.json`.
//!
//! `cargo bench -p payram_e2e --bench pipeline -- --quick` for a short run.

#![expect(
    clippy::expect_used,
    reason = "a benchmark: a vector that stops authenticating or parsing must stop it loudly"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

use payram_domain::{CreditPolicy, Decision, EventOutcome, Inbound, Payment};
use payram_protocol::{ApiKeys, Credentials, authenticate, parse_body, sign};

const KEY: &[u8] = b"payram-test-project-api-key-0001";
const BODY: &[u8] = include_bytes!("../fixtures/vectors/filled_btc.json");

type Error = Box<dyn std::error::Error>;

/// The webhook's pure steps for one delivery; `stored` is the payment as the database has it.
fn pipeline(
    keys: &ApiKeys,
    credentials: Credentials<'_>,
    body: &[u8],
    policy: &CreditPolicy,
    stored: Option<&Payment>,
) -> Result<Decision, Error> {
    authenticate(keys, credentials, body, false)?;
    let Inbound::Payment(notification) = parse_body(body)? else {
        return Err("not a payment notification".into());
    };
    Ok(policy.check(notification)?.decide(stored))
}

fn benches(c: &mut Criterion) {
    let keys = ApiKeys::new([KEY]).expect("a valid key");
    let policy = CreditPolicy::default();
    let signature = sign(KEY, BODY);
    let api_key = Credentials { signature: None, api_key: Some(KEY) };
    let signed = Credentials { signature: Some(signature.as_bytes()), api_key: None };

    // The vector must go through, once new and once again, before anything is timed.
    let first = pipeline(&keys, api_key, BODY, &policy, None).expect("the vector is accepted");
    assert_eq!(EventOutcome::from(first.outcome), EventOutcome::Applied);
    let stored = first.payment.expect("a new payment is stored");
    let again = pipeline(&keys, signed, BODY, &policy, Some(&stored)).expect("accepted again");
    assert_eq!(EventOutcome::from(again.outcome), EventOutcome::Duplicate);

    let mut group = c.benchmark_group("webhook");
    group.bench_function("parse_body", |b| b.iter(|| parse_body(black_box(BODY))));
    group.bench_function("authenticate/api_key", |b| {
        b.iter(|| authenticate(&keys, black_box(api_key), black_box(BODY), false));
    });
    group.bench_function("authenticate/signature", |b| {
        b.iter(|| authenticate(&keys, black_box(signed), black_box(BODY), false));
    });
    group.bench_function("pipeline/api_key/new", |b| {
        b.iter(|| pipeline(&keys, api_key, black_box(BODY), &policy, None));
    });
    group.bench_function("pipeline/signature/new", |b| {
        b.iter(|| pipeline(&keys, signed, black_box(BODY), &policy, None));
    });
    group.bench_function("pipeline/api_key/duplicate", |b| {
        b.iter(|| pipeline(&keys, api_key, black_box(BODY), &policy, Some(&stored)));
    });
    group.finish();
}

criterion_group!(pipeline_benches, benches);
criterion_main!(pipeline_benches);
