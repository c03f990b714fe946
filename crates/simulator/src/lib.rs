//! A PayRam emulator: delivers PayRam-shaped notifications to any webhook receiver, signed the
//! way PayRam signs them, and checks the answers.
//!
//! It is what `payram-merchant send` and `payram-merchant simulate` run, and it depends on
//! nothing of payram-merchant but the domain types and the wire format (`payram_domain`,
//! `payram_protocol`): any service that receives PayRam webhooks may use it in its tests, as a
//! library ([`send`], [`simulate`], or the pieces below) or through the CLI flags it defines
//! ([`SendArgs`], [`SimulateArgs`], with clap).
//!
//! - [`send`] delivers one payment notification, built from flags or read from a file.
//! - [`simulate`] plays a [`Scenario`]: partial then filled, duplicates, out of order, late
//!   after a cancel, PayRam's test ping, payouts.
//!
//! A scenario is data (a [`Scenario`] is a list of [`Step`]s, each saying what it sends and
//! what a correct receiver answers), so what each scenario checks reads at a glance, and
//! planning the requests ([`plan`]) and judging the answers ([`judge()`], [`total_verdict`])
//! are pure functions tested without a network. Only [`Client::deliver`] does I/O.
//!
//! Failures are [`SimulatorError`]s; their message is complete (it already names the cause),
//! so print it as it is.

mod args;
mod body;
mod client;
mod error;
mod ids;
mod judge;
mod run;
mod scenario;

pub use args::{DEFAULT_CUSTOMER, SendArgs, SimulateArgs, TargetArgs};
pub use body::{PING_BODY, PaymentSpec, decimal, payment_body, payout_body, send_body};
pub use client::{Answer, Auth, Client, HttpMethod, Request};
pub use error::{SimulatorError, UrlError};
pub use ids::{fresh_payout_id, fresh_reference};
pub use judge::{Verdict, judge, total_verdict};
pub use run::{send, simulate};
pub use scenario::{
    DUPLICATES, Delivery, Expect, LATE_AFTER_CANCEL, OUT_OF_ORDER, PARTIAL_THEN_FILLED, PAYOUTS,
    PING, Planned, REQUESTED, RunContext, Scenario, ScenarioName, Step, plan,
};
