//! End-to-end tests: the real `payram-merchant` binary, a fresh SQLite file per server, real
//! HTTP on a loopback port.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod auth;
mod cli;
mod concurrency;
mod confirm;
mod crash;
mod dashboard;
mod events;
mod faults;
mod forward;
mod helpers;
mod limits;
mod lists;
mod load;
mod openapi;
mod operations;
mod reconcile;
mod retry;
mod sequences;
mod shutdown;
mod tools;
mod vectors;
