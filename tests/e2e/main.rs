//! End-to-end tests: the real `payram-merchant` binary, a fresh SQLite file per server, real
//! HTTP on a loopback port.
//!
//! The tests that need more than Cargo (root for the storage faults, Debian's Chromium for the
//! dashboard, Python for the official Standard Webhooks library and the OpenAPI validation)
//! are compiled only with the `system-tests` feature, which `make test` (and so CI) turns on
//! after `make test-deps` installed what they need. Without it, `cargo test --workspace` runs
//! everything else on a laptop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod auth;
mod cli;
mod concurrency;
mod confirm;
mod crash;
#[cfg(feature = "system-tests")]
mod dashboard;
mod events;
mod faults;
mod forward;
mod helpers;
mod limits;
mod lists;
mod load;
#[cfg(feature = "system-tests")]
mod openapi;
mod operations;
mod reconcile;
mod retry;
mod security_dashboard;
mod security_input;
mod security_network;
mod security_slow;
mod sequences;
mod shutdown;
mod tools;
mod vectors;
