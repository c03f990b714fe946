//! Arbitrary bytes into the body parser and the test-ping check: neither may panic, and what
//! parses must satisfy the invariants the core relies on.

#![no_main]

use libfuzzer_sys::fuzz_target;
use payram_domain::{Amount, Inbound};
use payram_protocol::{ParseError, is_test_ping, parse_body};
use serde::de::IgnoredAny;

fuzz_target!(|body: &[u8]| {
    // Without the header nothing is a test ping; with it, any body may be one.
    assert!(!is_test_ping(None, body));
    let ping = is_test_ping(Some(b"true"), body);

    let parsed = parse_body(body);
    assert_eq!(parsed, parse_body(body), "parsing is deterministic");
    match parsed {
        Ok(inbound) => {
            let first = body.iter().find(|b| !b.is_ascii_whitespace());
            assert_eq!(first, Some(&b'{'), "only objects parse");
            assert!(serde_json::from_slice::<IgnoredAny>(body).is_ok(), "only JSON parses");
            check(&inbound, ping);
        }
        Err(ParseError::MalformedJson(_)) => {
            assert!(
                serde_json::from_slice::<IgnoredAny>(body).is_err(),
                "valid JSON is never malformed"
            );
        }
        Err(ParseError::InvalidPayload(message)) => {
            assert!(!message.is_empty(), "a refusal says why");
        }
    }
});

fn check(inbound: &Inbound, ping: bool) {
    match inbound {
        Inbound::Payment(n) => {
            assert!(!ping, "a body with a reference_id is never the test ping");
            let reference = n.reference_id.as_str();
            assert!(!reference.trim().is_empty() && reference.len() <= 255, "{reference:?}");
            assert!(!n.status.as_str().trim().is_empty(), "a payment always has a status");
            assert!(n.customer_id.as_ref().is_none_or(|c| !c.as_str().trim().is_empty()));
            for amount in [n.amount, n.filled_amount, n.filled_amount_in_usd].into_iter().flatten()
            {
                check_amount(amount);
            }
        }
        Inbound::Payout(p) => {
            assert!(p.event_type.to_ascii_lowercase().starts_with("payout."), "{:?}", p.event_type);
            assert!(!p.payout_id.trim().is_empty(), "a payout always has an id");
            assert_eq!(p.status, p.status.to_ascii_uppercase(), "payout statuses are upper case");
        }
        Inbound::Ping => {}
    }
}

/// Money is never negative and survives its own text exactly (what the store writes back).
fn check_amount(amount: Amount) {
    assert!(!amount.as_decimal().is_sign_negative(), "negative amount {amount}");
    assert!(amount >= Amount::ZERO, "negative amount {amount}");
    let text = amount.to_string();
    let again =
        Amount::parse(&text).unwrap_or_else(|err| panic!("{text:?} does not parse back: {err}"));
    assert_eq!(again, amount, "{text:?}");
    assert_eq!(again.to_string(), text, "{text:?} changes on a round trip");
}
