//! End-to-end tests: the real `payram-merchant` binary, a fresh SQLite file per server, real
//! HTTP on a loopback port.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod auth;
mod cli;
mod concurrency;
mod events;
mod helpers;
mod limits;
mod reconcile;
mod retry;
mod sequences;
mod vectors;
