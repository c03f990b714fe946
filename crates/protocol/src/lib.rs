//! PayRam's webhook wire format, usable without any web framework.
//!
//! - [`parse_body`] turns the raw body of a PayRam request into a domain [`payram_domain::Inbound`] value,
//!   accepting every variant PayRam has sent (money as string, number or null; `status` or
//!   `payment_state`; any case; `CANCELED`; the legacy `filled_amount_usd`; unknown fields).
//!   Money never passes through a float.
//! - [`authenticate`] checks the `X-Payram-Signature` HMAC or the legacy `API-Key` header
//!   against the configured project keys, in constant time.
//! - [`is_test_ping`] recognises PayRam's unsigned dashboard test.
//! - [`parse_payment_lookup`] reads PayRam's answer to a payment lookup (its API, used for
//!   reconciliation) into the same notification a webhook would carry.
//! - [`hmac_sha256`] (and [`hmac_sha256_parts`]) is the one HMAC-SHA256 of the workspace: it
//!   takes keys of any length and cannot fail.
//!
//! A Rust merchant on another framework can use this crate with `payram_domain` alone.
//!
//! # Example: from raw request to credit
//!
//! Authenticate the raw body first, then parse it, then let the domain decide what it does to
//! the payment. Storing the payment and writing the credit (in one transaction) is the
//! caller's part; here a second delivery of the same body credits nothing.
//!
//! ```
//! use payram_domain::{CreditPolicy, EventOutcome, Inbound, Outcome, PaymentStatus};
//! use payram_protocol::{ApiKeys, Credentials, authenticate, parse_body, sign};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let keys = ApiKeys::from_comma_separated("payram-test-project-api-key-0001")?;
//! let body = br#"{"reference_id":"ref-1","status":"FILLED","customer_id":"cust-1",
//!     "filled_amount_in_usd":"49.99"}"#;
//! // What PayRam would send in `X-Payram-Signature`.
//! let signature = sign(b"payram-test-project-api-key-0001", body);
//!
//! // 1. Authenticate the exact bytes received, before anything else.
//! let credentials = Credentials { signature: Some(signature.as_bytes()), api_key: None };
//! let auth = authenticate(&keys, credentials, body, true)?;
//! assert_eq!(auth.as_str(), "signature");
//!
//! // 2. Parse leniently into the domain's notification.
//! let Inbound::Payment(notification) = parse_body(body)? else {
//!     return Err("expected a payment notification".into());
//! };
//!
//! // 3. Check it against the credit policy, then decide against the stored payment (none yet).
//! let checked = CreditPolicy::default().check(notification)?;
//! let first = checked.decide(None);
//! assert_eq!(EventOutcome::from(first.outcome), EventOutcome::Applied);
//! assert_eq!(first.credited().to_string(), "49.99");
//! let payment = first.payment.ok_or("an applied decision carries the payment to store")?;
//! assert_eq!(payment.status(), PaymentStatus::Filled);
//!
//! // 4. PayRam retries: the same body again is a duplicate and credits nothing.
//! let again = checked.decide(Some(&payment));
//! assert_eq!(again.outcome, Outcome::Duplicate);
//! assert!(again.credited().is_zero());
//! # Ok(())
//! # }
//! ```

mod auth;
mod body;
mod lookup;
mod mac;

pub use auth::{ApiKeys, AuthError, Credentials, KeysError, authenticate, sign};
pub use body::{ParseError, is_test_ping, parse_body};
pub use lookup::parse_payment_lookup;
pub use mac::{HmacKey, hmac_sha256, hmac_sha256_parts};

/// Header carrying `sha256=<hex HMAC-SHA256 of the raw body>`.
///
/// Lower case, as HTTP/2 and most frameworks present header names; compare names without
/// regard to case.
///
/// ```
/// assert!(payram_protocol::SIGNATURE_HEADER.eq_ignore_ascii_case("X-Payram-Signature"));
/// ```
pub const SIGNATURE_HEADER: &str = "x-payram-signature";
/// Legacy header carrying the project API key verbatim.
///
/// ```
/// assert!(payram_protocol::API_KEY_HEADER.eq_ignore_ascii_case("API-KEY"));
/// ```
pub const API_KEY_HEADER: &str = "api-key";
/// Header PayRam sets (`true`) on its unsigned test ping.
///
/// ```
/// assert_eq!(payram_protocol::TEST_HEADER, "x-webhook-test");
/// ```
pub const TEST_HEADER: &str = "x-webhook-test";
