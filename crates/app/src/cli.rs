//! The command line: `serve`, `migrate`, `events` and `reconcile`.

use std::{io::Write, process::ExitCode};

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::{
    Application,
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
    /// Ask PayRam's API about payments not yet FILLED or `OVER_FILLED` that have been quiet,
    /// and apply its answers like webhooks (works beside a running server). Prints one line
    /// per payment and a summary; fails when any lookup failed.
    Reconcile(ReconcileArgs),
}

/// Runs the command line; the process exit code says whether it succeeded.
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let res = match cli.command {
        Command::Serve(args) => serve(&args),
        Command::Migrate(args) => migrate(&args),
        Command::Events(args) => events(args),
        Command::Reconcile(args) => reconcile(&args),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

fn serve(args: &ServeArgs) -> Result<(), String> {
    let settings = args.settings().map_err(|err| err.to_string())?;
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(&settings).map_err(|err| error_chain(&err))?;
        // The bound address goes to stdout, alone on its line, for people and scripts.
        let mut stdout = std::io::stdout();
        let _ = writeln!(stdout, "payram-merchant listening on http://{}", app.addr());
        let _ = stdout.flush();
        tracing::info!(
            addr = %app.addr(),
            webhook_path = %settings.webhook_path,
            keys = settings.api_keys.len(),
            require_signature = settings.require_signature,
            admin_api = settings.admin_token.is_some(),
            "serving"
        );
        app.run_until_stopped().await.map_err(|err| error_chain(&err))
    })
}

fn events(args: EventsArgs) -> Result<(), String> {
    let policy = crate::events::credit_policy(&args)?;
    let retry = args.retry.policy().map_err(|err| err.to_string())?;
    // The CLI never migrates behind the operator's back: a database with pending migrations
    // is refused with a message naming `payram-merchant migrate`.
    let use_cases =
        crate::use_cases(&args.database.database_url, args.database.busy_timeout(), policy, retry)
            .map_err(|err| error_chain(&err))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| error_chain(&err))?;
    runtime.block_on(crate::events::run(use_cases.as_ref(), args.command))
}

fn reconcile(args: &ReconcileArgs) -> Result<(), String> {
    let reconciler = crate::reconcile::reconciler(args)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| error_chain(&err))?;
    runtime.block_on(crate::reconcile::run(&reconciler, args))
}

fn migrate(args: &DatabaseArgs) -> Result<(), String> {
    let applied = payram_store::migrate(&args.database_url).map_err(|err| error_chain(&err))?;
    let mut stdout = std::io::stdout();
    let _ = if applied.is_empty() {
        writeln!(stdout, "database {} is up to date", args.database_url)
    } else {
        writeln!(stdout, "applied {} migration(s): {}", applied.len(), applied.join(", "))
    };
    Ok(())
}

/// `error: cause: cause`, so a person sees why without a backtrace.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    payram_ports::ErrorChain(err).to_string()
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
            "PAYRAM_BASE_URL",
            "PAYRAM_API_TIMEOUT",
            "PAYRAM_API_CONNECT_TIMEOUT",
            "RECONCILE_INTERVAL",
            "RECONCILE_OLDER_THAN",
        ] {
            assert!(serve.contains(name), "serve --help lacks {name}");
        }
        let reconcile =
            cmd.find_subcommand_mut("reconcile").unwrap().render_long_help().to_string();
        for name in ["PAYRAM_BASE_URL", "PAYRAM_API_KEYS", "RECONCILE_OLDER_THAN", "--reference"] {
            assert!(reconcile.contains(name), "reconcile --help lacks {name}");
        }
    }
}
