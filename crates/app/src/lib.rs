//! payram-merchant: receives PayRam payment webhooks and turns them into exactly-once customer
//! credits.
//!
//! This crate is the composition root: it reads the configuration ([`settings`]), wires the
//! SQLite store, the actix-web adapter, the credit forwarder and the PayRam API client to the
//! use-case services ([`Application`], [`reconciler`]) and exposes the command line ([`cli`]),
//! with its tools to test a deployment ([`sender`]: `send` and `simulate`; [`doctor`]). It is
//! the only crate that names concrete adapters.

pub mod cli;
pub mod doctor;
pub mod events;
pub mod forward;
pub mod reconcile;
pub mod sender;
pub mod settings;
mod startup;

pub use startup::{Application, StartupError, reconciler, use_cases};
