//! Tests of the SQLite adapter against real SQLite files, one fresh file per test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod concurrency;
mod events;
mod failures;
mod helpers;
mod lists;
mod migrations;
mod outbox;
mod payments;
mod reconcile;
mod retries;
mod sessions;
mod writer;
