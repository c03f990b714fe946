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
//!
//! A Rust merchant on another framework can use this crate with `payram_domain` alone.

mod auth;
mod body;
mod lookup;

pub use auth::{ApiKeys, AuthError, Credentials, KeysError, authenticate, sign};
pub use body::{ParseError, is_test_ping, parse_body};
pub use lookup::parse_payment_lookup;

/// Header carrying `sha256=<hex HMAC-SHA256 of the raw body>`.
pub const SIGNATURE_HEADER: &str = "x-payram-signature";
/// Legacy header carrying the project API key verbatim.
pub const API_KEY_HEADER: &str = "api-key";
/// Header PayRam sets (`true`) on its unsigned test ping.
pub const TEST_HEADER: &str = "x-webhook-test";
