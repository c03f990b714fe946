//! The command line: `serve`, `migrate`, `events`, `reconcile`, `forward-secret`, and the tools
//! to test a deployment: `send`, `simulate` and `doctor`. Each command's code lives in its own
//! module; this one only parses and dispatches.

use std::{
    io::{IsTerminal, Write},
    process::ExitCode,
};

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use payram_simulator::{SendArgs, SimulateArgs};

use crate::{
    Application, Core,
    doctor::DoctorArgs,
    events::EventsArgs,
    reconcile::ReconcileArgs,
    settings::{DatabaseArgs, ServeArgs},
};

/// Receives PayRam payment webhooks and credits customers exactly once.
///
/// Every setting is also an environment variable (shown in brackets). Secrets (API keys, the
/// admin token) are never printed or logged.
#[derive(Parser, Debug)]
#[command(name = "payram-merchant", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Apply pending database migrations, then serve the webhook endpoint and the admin API.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// List, show and replay recorded events (works beside a running server).
    Events(EventsArgs),
    /// Print a fresh CREDIT_FORWARD_SECRET (`whsec_` + base64 of 32 random bytes).
    ForwardSecret,
    /// Send one PayRam-shaped payment notification to a webhook, as PayRam sends it.
    ///
    /// The body is built from the flags (money as exact decimal strings), or read from --file
    /// and sent byte for byte. It carries X-Payram-Signature (HMAC-SHA256 of the body under
    /// --key) and API-Key, or only API-Key with --legacy-header. Prints what was sent, the
    /// answer's status and body; exits non-zero unless the answer is 2xx.
    Send(SendArgs),
    /// Play a sequence of PayRam deliveries against a webhook and check the answers.
    ///
    /// Every delivery must be answered 2xx. When the answer is JSON with payram-merchant's
    /// `outcome` and `credited`, those are checked too (credits compared as decimals), and so
    /// is the total credited; other receivers are checked on the status alone. Each run uses
    /// fresh reference and payout ids. Prints every step; exits non-zero when the receiver
    /// answers unlike a correct one. The ping is always an unsigned POST, as PayRam sends it.
    Simulate(SimulateArgs),
    /// Check a deployment: configuration, database and the running webhook.
    ///
    /// config: `PAYRAM_API_KEYS` is present and valid and every other setting parses (the same
    /// variables and flags as `serve`). database: it exists, has no pending migration (run
    /// `payram-merchant migrate`) and can take a write transaction, which is rolled back;
    /// nothing is created or migrated. webhook: URL + `WEBHOOK_PATH` answers PayRam's test ping
    /// with a 2xx. One line per check (`ok   <check>: detail` or `FAIL <check>: detail`);
    /// exits non-zero if any check fails.
    Doctor(DoctorArgs),
    /// Ask PayRam's API about payments not yet FILLED or `OVER_FILLED` that have been quiet,
    /// and apply its answers like webhooks (works beside a running server). Prints one line
    /// per payment and a summary; fails when any lookup failed.
    Reconcile(ReconcileArgs),
}

/// Runs the command line; the process exit code says whether it succeeded. A failure is
/// printed as `error: ` and its whole chain of causes (`a: b: c`).
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let res = match cli.command {
        Command::Serve(args) => serve(&args),
        Command::Migrate(args) => migrate(&args),
        Command::Events(args) => events(args),
        Command::ForwardSecret => forward_secret(),
        Command::Send(args) => block_on(async { Ok(payram_simulator::send(&args).await?) }),
        Command::Simulate(args) => block_on(async { Ok(payram_simulator::simulate(&args).await?) }),
        Command::Doctor(args) => block_on(crate::doctor::run(&args)),
        Command::Reconcile(args) => reconcile(&args),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr: human-readable lines, or JSON lines with `LOG_FORMAT=json`.
fn init_tracing() {
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let json = std::env::var("LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    if json {
        builder.json().flatten_event(true).with_current_span(false).init();
    } else {
        builder.init();
    }
}

fn serve(args: &ServeArgs) -> anyhow::Result<()> {
    let settings = args.settings()?;
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(&settings)?;
        // The bound address goes to stdout, alone on its line, for people and scripts.
        let mut stdout = std::io::stdout();
        let scheme = if settings.security.tls.is_some() { "https" } else { "http" };
        let _ = writeln!(stdout, "payram-merchant listening on {scheme}://{}", app.addr());
        let _ = stdout.flush();
        tracing::info!(
            addr = %app.addr(),
            webhook_path = %settings.webhook_path,
            keys = settings.api_keys.len(),
            require_signature = settings.require_signature,
            admin_api = settings.admin_token.is_some(),
            "serving"
        );
        Ok(app.run_until_stopped().await?)
    })
}

fn events(args: EventsArgs) -> anyhow::Result<()> {
    // The CLI never migrates behind the operator's back: a database with pending migrations
    // is refused with a message naming `payram-merchant migrate`.
    let core = Core::open(&args.core()?)?;
    block_on(crate::events::run(&core, args.command))
}

/// Runs a command's future on a single-threaded runtime.
fn block_on(command: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(command)
}

fn forward_secret() -> anyhow::Result<()> {
    let secret = payram_forward::ForwardSecret::generate()?;
    writeln!(std::io::stdout(), "{}", secret.expose())?;
    Ok(())
}

fn reconcile(args: &ReconcileArgs) -> anyhow::Result<()> {
    let reconciler = crate::reconcile::reconciler(args)?;
    block_on(crate::reconcile::run(&reconciler, args))
}

fn migrate(args: &DatabaseArgs) -> anyhow::Result<()> {
    let applied = payram_store::migrate(&args.database_url)?;
    let mut stdout = std::io::stdout();
    if applied.is_empty() {
        writeln!(stdout, "database {} is up to date", args.database_url)?;
    } else {
        writeln!(stdout, "applied {} migration(s): {}", applied.len(), applied.join(", "))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_documents_every_setting() {
        let mut cmd = Cli::command();
        let serve = cmd.find_subcommand_mut("serve").unwrap().render_long_help().to_string();
        for name in [
            "PAYRAM_API_KEYS",
            "DATABASE_URL",
            "BIND_ADDR",
            "WEBHOOK_PATH",
            "ADMIN_TOKEN",
            "CREDIT_ON",
            "REQUIRE_SIGNATURE",
            "MAX_BODY_BYTES",
            "CREDIT_FORWARD_URL",
            "CREDIT_FORWARD_SECRET",
            "CREDIT_FORWARD_MAX_ATTEMPTS",
            "PAYRAM_BASE_URL",
            "PAYRAM_API_TIMEOUT",
            "PAYRAM_API_CONNECT_TIMEOUT",
            "RECONCILE_INTERVAL",
            "RECONCILE_OLDER_THAN",
            "CONFIRM_BEFORE_CREDIT",
            "SQLITE_SYNCHRONOUS",
        ] {
            assert!(serve.contains(name), "serve --help lacks {name}");
        }
        let reconcile =
            cmd.find_subcommand_mut("reconcile").unwrap().render_long_help().to_string();
        for name in ["PAYRAM_BASE_URL", "PAYRAM_API_KEYS", "RECONCILE_OLDER_THAN", "--reference"] {
            assert!(reconcile.contains(name), "reconcile --help lacks {name}");
        }
    }

    fn long_help(command: &str) -> String {
        Cli::command().find_subcommand_mut(command).unwrap().render_long_help().to_string()
    }

    #[test]
    fn doctor_takes_every_setting_of_serve() {
        let doctor = long_help("doctor");
        for name in ["PAYRAM_API_KEYS", "DATABASE_URL", "BIND_ADDR", "WEBHOOK_PATH", "CREDIT_ON"] {
            assert!(doctor.contains(name), "doctor --help lacks {name}");
        }
        assert!(doctor.contains("--url") && doctor.contains("--timeout"), "{doctor}");
    }

    #[test]
    fn send_and_simulate_help_document_their_flags_and_scenarios() {
        let send = long_help("send");
        for flag in [
            "--url",
            "--key",
            "--legacy-header",
            "--method",
            "--timeout",
            "--status",
            "--reference",
            "--customer",
            "--amount",
            "--filled-usd",
            "--currency",
            "--file",
        ] {
            assert!(send.contains(flag), "send --help lacks {flag}");
        }
        let simulate = long_help("simulate");
        for scenario in [
            "partial-then-filled",
            "duplicates",
            "out-of-order",
            "late-after-cancel",
            "ping",
            "payouts",
        ] {
            assert!(simulate.contains(scenario), "simulate --help lacks {scenario}");
        }
    }
}
