//! Forwarding credits to the merchant's own application: [`HttpForwarder`] implements the
//! [`payram_ports::Crediting`] port by sending each credit in a POST as JSON, signed the
//! [Standard Webhooks](https://www.standardwebhooks.com/) way, so the receiving side can verify
//! it with any Standard Webhooks library.
//!
//! **Architecture invariant:** the same credit always produces the same body and the same
//! `webhook-id` ([`payram_ports::RecordedCredit::webhook_id`], `credit_<ledger id>`), so a receiver deduplicates retries by that id; only
//! `webhook-timestamp` and the signature change between attempts. Only a 2xx counts as
//! delivered. The secret never appears in logs or errors.

mod secret;
mod sender;

pub use secret::{ForwardSecret, SecretError};
pub use sender::{HttpForwarder, body, sign};
