//! The SQLite adapter of payram-merchant: [`SqliteRepository`] implements the store's ports
//! ([`payram_ports::Ledger`], [`payram_ports::RetrySchedule`], [`payram_ports::Outbox`],
//! [`payram_ports::Queries`], [`payram_ports::ReconcileQueue`],
//! [`payram_ports::SessionRevocations`]), each in its own module, with
//! Diesel 2 on an r2d2 pool, and [`migrate`] applies the migrations of `migrations/sqlite`,
//! embedded in the binary.
//!
//! **Architecture invariant:** this is the only crate that knows SQL, Diesel, r2d2 or SQLite.
//! Nothing of them leaves it: callers see domain types, [`payram_ports::RepositoryError`] and
//! [`StoreError`].
//!
//! How it keeps its promises:
//! - Every write is one `BEGIN IMMEDIATE` transaction, so read-modify-write cycles on a payment
//!   are serialised, and the event, the payment and the credit commit together or not at all.
//!   `UNIQUE (reference_id, seq)` on the credit ledger is the second guard against a double
//!   credit.
//! - Money is stored as the canonical decimal text of [`payram_domain::Amount`] and summed in
//!   Rust, never as a float.
//! - The database file is in WAL mode (switched once, by [`migrate`] and [`connect`]); every
//!   pooled connection sets `busy_timeout` first, then `foreign_keys` and `synchronous = FULL`.
//!   A lock not granted within the busy timeout, like any other failure to commit, is
//!   [`payram_ports::RepositoryError::Unavailable`].
//! - Diesel is synchronous: every query, pool checkout included, runs on tokio's blocking
//!   threads, and no connection is held across an `.await`.

mod apply;
mod connection;
mod error;
mod ledger;
mod model;
mod outbox;
mod queries;
mod reconcile;
mod repository;
mod schedule;
mod schema;
mod sessions;
mod stats;
mod totals;
mod writer;

pub use connection::{
    DatabaseHealth, StoreOptions, Synchronous, check, connect, database_path, migrate, revert_all,
};
pub use error::StoreError;
pub use repository::SqliteRepository;
pub use writer::WriterOptions;
