//! payram-merchant: receives PayRam payment webhooks and turns them into exactly-once customer
//! credits.
//!
//! This crate is the composition root: it reads the configuration ([`settings`]), wires the
//! SQLite store, the actix-web adapter, the credit forwarder and the PayRam API client to the
//! use cases of `payram_core` ([`Core`], [`Application`]), runs the background workers
//! (`workers`) and exposes the command line ([`cli`]),
//! with its tools to test a deployment (`send` and `simulate`, from `payram_simulator`;
//! [`doctor`]). It is the only crate that names concrete adapters.

pub mod cli;
pub mod doctor;
pub mod events;
pub mod forward;
pub mod reconcile;
pub mod secrets;
pub mod security;
pub mod settings;
mod startup;
pub mod tls;
mod workers;

pub use startup::{Application, Core, CoreConfig, StartupError};
