//! payram-merchant: receives PayRam payment webhooks and turns them into exactly-once customer
//! credits.
//!
//! This crate is the composition root: it reads the configuration ([`settings`]), wires the
//! SQLite store and the actix-web adapter to the use-case service ([`Application`]) and exposes
//! the command line ([`cli`]), with its tools to test a deployment ([`sender`]: `send` and
//! `simulate`; [`doctor`]). It is the only crate that names concrete adapters.

pub mod cli;
pub mod doctor;
pub mod events;
pub mod forward;
pub mod sender;
pub mod settings;
mod startup;

pub use startup::{Application, StartupError, use_cases};
