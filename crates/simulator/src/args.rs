//! The command-line flags of `send` and `simulate` (clap derive), for any binary that wants
//! these commands.

use std::path::PathBuf;

use clap::Args;

use crate::{client::HttpMethod, scenario::ScenarioName};

/// The `customer_id` of generated notifications unless `--customer` says otherwise.
pub const DEFAULT_CUSTOMER: &str = "payram-merchant-test";

/// Where and how to deliver (shared by `send` and `simulate`).
#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// The receiver's webhook URL, e.g. `http://127.0.0.1:8080/webhook` (plain HTTP: this
    /// build has no TLS, so test the server's own address, not the TLS proxy in front of it).
    #[arg(long, value_name = "URL")]
    pub url: String,

    /// The PayRam project API key: it signs each body (X-Payram-Signature) and goes in the
    /// API-Key header.
    #[arg(long, env = "PAYRAM_API_KEY", hide_env_values = true, value_name = "KEY")]
    pub key: String,

    /// Send only the legacy API-Key header, as older PayRam servers do (no signature).
    #[arg(long)]
    pub legacy_header: bool,

    /// HTTP method: POST as current PayRam servers, GET (with the same body) as older ones.
    #[arg(long, value_enum, ignore_case = true, default_value_t = HttpMethod::Post)]
    pub method: HttpMethod,

    /// Seconds to wait for each answer, connecting included.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub timeout: u64,
}

/// Flags of `send`.
#[derive(Args, Debug)]
pub struct SendArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    #[arg(
        long,
        default_value = "FILLED",
        help = "Payment status, sent as given (OPEN, PARTIALLY_FILLED, FILLED, OVER_FILLED, \
                CANCELLED, or anything else to test unknown statuses)"
    )]
    pub status: String,

    #[arg(
        long,
        value_name = "ID",
        help = "The payment's reference_id [default: a fresh unique id]"
    )]
    pub reference: Option<String>,

    #[arg(
        long,
        value_name = "ID",
        default_value = DEFAULT_CUSTOMER,
        help = "The customer_id: the account a receiver credits"
    )]
    pub customer: String,

    #[arg(long, value_name = "ID", help = "The invoice_id [default: null]")]
    pub invoice: Option<String>,

    /// Requested amount in --currency, an exact decimal (sent as a JSON string, never a float).
    #[arg(long, value_name = "DECIMAL", allow_negative_numbers = true, default_value = "10.00")]
    pub amount: String,

    #[arg(
        long,
        value_name = "DECIMAL",
        allow_negative_numbers = true,
        help = "filled_amount: received so far, in --currency [default: --amount]"
    )]
    pub filled: Option<String>,

    #[arg(
        long,
        value_name = "DECIMAL",
        allow_negative_numbers = true,
        help = "filled_amount_in_usd: USD value received so far, what a receiver credits \
                [default: the filled amount]"
    )]
    pub filled_usd: Option<String>,

    /// Currency ticker of the amounts.
    #[arg(long, default_value = "USDC")]
    pub currency: String,

    /// Send this file's bytes as the body, byte for byte, instead of building one (signed
    /// like any other body).
    #[arg(
        long,
        value_name = "PATH",
        conflicts_with_all = [
            "status", "reference", "customer", "invoice", "amount", "filled", "filled_usd",
            "currency",
        ]
    )]
    pub file: Option<PathBuf>,
}

/// Flags of `simulate`.
#[derive(Args, Debug)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// The sequence to play; each run uses fresh reference (and payout) ids.
    #[arg(long, value_enum, value_name = "NAME")]
    pub scenario: ScenarioName,

    #[arg(
        long,
        value_name = "ID",
        default_value = DEFAULT_CUSTOMER,
        help = "The customer_id of the scenario's payments"
    )]
    pub customer: String,
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser, Subcommand};

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Subcommand)]
    enum Command {
        Send(SendArgs),
        Simulate(SimulateArgs),
    }

    #[test]
    fn the_flags_are_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_method_is_case_insensitive_and_defaults_to_post() {
        let line = ["x", "simulate", "--url", "http://x/", "--key", "k", "--scenario", "ping"];
        let Command::Simulate(args) = Cli::try_parse_from(line).unwrap().command else {
            panic!("expected simulate");
        };
        assert_eq!(args.target.method, HttpMethod::Post);
        assert_eq!(args.customer, DEFAULT_CUSTOMER);
        let line = ["x", "send", "--url", "http://x/", "--key", "k", "--method", "get"];
        let Command::Send(args) = Cli::try_parse_from(line).unwrap().command else {
            panic!("expected send");
        };
        assert_eq!(args.target.method, HttpMethod::Get);
    }
}
