//! The use cases of payram-merchant, over the ports of [`payram_ports`].
//!
//! | use case | where | what it does |
//! |---|---|---|
//! | receive | [`PaymentService`] (`receive.rs`) | records every delivery and applies it with the domain's decision, in one ledger command |
//! | confirm | `confirm.rs` | with `CONFIRM_BEFORE_CREDIT`, credits only what PayRam's API confirms |
//! | retry | `attempts.rs` | tries failed and waiting events again, in place, then gives up (dead letter) |
//! | replay | `replay.rs` | feeds stored bodies through the live path again; retries failed ones |
//! | reconcile | [`ReconcileService`] | asks PayRam about quiet payments and feeds its answers through receive |
//! | forward | [`OutboxService`] | delivers the outbox of credits to the merchant's application |
//!
//! [`RetryPolicy::next_attempt_at`] is the one place that says when the next attempt is due
//! and when there is none. [`SystemClock`] and [`LogCrediting`] are the small default
//! adapters.
//!
//! **Invariant:** this crate names no web framework, database, async runtime or wire format;
//! it only calls ports. Driving adapters (the HTTP webhook handler, the app's CLI and
//! workers) call it through the inbound ports [`payram_ports::PaymentUseCases`] and
//! [`payram_ports::OutboxUseCases`].

mod attempts;
mod confirm;
mod defaults;
mod outbox;
mod receive;
mod reconcile;
mod replay;
mod retry;
mod service;

#[cfg(test)]
mod tests;

pub use defaults::{LogCrediting, SystemClock};
pub use outbox::OutboxService;
pub use reconcile::{
    Check, CheckError, RECONCILE_BATCH, ReconcileReport, ReconcileService, SETTLED,
};
pub use retry::RetryPolicy;
pub use service::{PaymentService, Storage};
