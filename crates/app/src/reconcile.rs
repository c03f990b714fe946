//! `payram-merchant reconcile`: asks PayRam about payments and applies its answers, directly on
//! the database (a running server may use it at the same time).

use std::{
    io::{self, Write},
    time::Duration,
};

use clap::Args;

use payram_core::{Check, ReconcileReport, ReconcileService};
use payram_domain::ReferenceId;
use payram_ports::ErrorChain;

use crate::{
    Core, CoreConfig,
    forward::ForwardArgs,
    settings::{DatabaseArgs, PayramApiArgs, PolicyArgs, RetryArgs, parse_duration},
};

#[derive(Args, Debug)]
pub struct ReconcileArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub retry: RetryArgs,

    #[command(flatten)]
    pub payram: PayramApiArgs,

    /// Credits made by reconciliation are forwarded too when forwarding is on, as in `serve`.
    #[command(flatten)]
    pub forward: ForwardArgs,

    /// The keys (the first is sent to PayRam; required) and `CREDIT_ON`, as for `serve`.
    #[command(flatten)]
    pub policy: PolicyArgs,

    /// Check only this payment, now, whatever its status and age; a payment never received
    /// is created from PayRam's answer. Without it, every payment not yet FILLED or
    /// `OVER_FILLED` that has been quiet for --older-than is checked.
    #[arg(long, value_name = "REFERENCE_ID", value_parser = parse_reference)]
    pub reference: Option<ReferenceId>,

    /// Check the payments of which nothing was heard for this long (e.g. 30m, 2h, 90s, 0s).
    #[arg(
        long,
        env = "RECONCILE_OLDER_THAN",
        default_value = "30m",
        value_name = "DURATION",
        value_parser = parse_duration
    )]
    pub older_than: Duration,
}

fn parse_reference(text: &str) -> Result<ReferenceId, String> {
    ReferenceId::parse(text).map_err(|err| err.to_string())
}

/// Checks the arguments and wires the reconciliation (opens the database, builds the client).
/// Like `events`, it never migrates behind the operator's back.
pub fn reconciler(args: &ReconcileArgs) -> anyhow::Result<ReconcileService> {
    let keys = args.policy.keys()?;
    let api = args.payram.config(&keys, "reconcile")?;
    let config = CoreConfig {
        database_url: args.database.database_url.clone(),
        busy_timeout: args.database.busy_timeout(),
        synchronous: args.database.sqlite_synchronous,
        credit_policy: args.policy.credit_policy()?,
        retry: args.retry.policy()?,
        forward_credits: args.forward.forwarding()?.is_some(),
        confirm: None,
    };
    Ok(Core::open(&config)?.reconciler(api)?)
}

/// Runs one reconciliation, one line per payment checked and a summary on stdout; fails when
/// any check failed.
pub async fn run(reconciler: &ReconcileService, args: &ReconcileArgs) -> anyhow::Result<()> {
    let report = match &args.reference {
        Some(reference_id) => ReconcileReport {
            checks: vec![reconciler.reconcile_reference(reference_id.clone()).await],
        },
        None => reconciler.reconcile_quiet(args.older_than).await?,
    };
    let mut out = io::stdout().lock();
    for check in &report.checks {
        writeln!(out, "{}", check_line(check))?;
    }
    writeln!(out, "{}", summary_line(&report))?;
    match report.failures() {
        0 => Ok(()),
        failed => {
            anyhow::bail!("{failed} of {} payment(s) could not be reconciled", report.checks.len())
        }
    }
}

/// `REFERENCE<TAB>OUTCOME<TAB>STATUS<TAB>credited AMOUNT<TAB>event ID[<TAB>MESSAGE]`, or
/// `REFERENCE<TAB>error<TAB>WHY` when nothing was recorded.
fn check_line(check: &Check) -> String {
    match &check.result {
        Ok(receipt) => {
            let mut line = format!(
                "{}\t{}\t{}\tcredited {}\tevent {}",
                check.reference_id,
                receipt.outcome,
                receipt.status.as_deref().unwrap_or("-"),
                receipt.credited,
                receipt.event_id,
            );
            if let Some(message) = &receipt.message {
                line.push('\t');
                line.push_str(message);
            }
            line
        }
        Err(err) => format!("{}\terror\t{}", check.reference_id, ErrorChain(err)),
    }
}

/// `checked N payment(s): A applied, D duplicate, E error`, naming only outcomes that occurred.
fn summary_line(report: &ReconcileReport) -> String {
    if report.checks.is_empty() {
        return "checked 0 payments: nothing to reconcile".to_owned();
    }
    let counts: Vec<String> = [
        "applied",
        "duplicate",
        "stale",
        "ignored",
        "invalid_payload",
        "malformed_json",
        "failed",
        "dead",
        "error",
    ]
    .into_iter()
    .map(|outcome| (report.count(outcome), outcome))
    .filter(|(count, _)| *count > 0)
    .map(|(count, outcome)| format!("{count} {outcome}"))
    .collect();
    format!("checked {} payment(s): {}", report.checks.len(), counts.join(", "))
}

#[cfg(test)]
mod tests {
    use payram_core::CheckError;
    use payram_domain::{Amount, EventOutcome};
    use payram_ports::{GatewayError, Receipt};

    use super::*;

    fn applied(reference: &str) -> Check {
        Check {
            reference_id: ReferenceId::parse(reference).unwrap(),
            result: Ok(Receipt {
                event_id: 12,
                outcome: EventOutcome::Applied,
                reference_id: Some(ReferenceId::parse(reference).unwrap()),
                payout_id: None,
                status: Some("FILLED".into()),
                credited: Amount::parse("50.00").unwrap(),
                message: None,
            }),
        }
    }

    fn failed(reference: &str) -> Check {
        Check {
            reference_id: ReferenceId::parse(reference).unwrap(),
            result: Err(CheckError::Gateway(GatewayError::Rejected(401, "invalid api key".into()))),
        }
    }

    #[test]
    fn each_check_is_one_line() {
        assert_eq!(
            check_line(&applied("ref-1")),
            "ref-1\tapplied\tFILLED\tcredited 50.00\tevent 12"
        );
        assert_eq!(
            check_line(&failed("ref-2")),
            "ref-2\terror\tPayRam refused the lookup (HTTP 401): invalid api key"
        );
    }

    #[test]
    fn the_summary_counts_what_occurred() {
        let report = ReconcileReport { checks: vec![applied("a"), failed("b"), failed("c")] };
        assert_eq!(summary_line(&report), "checked 3 payment(s): 1 applied, 2 error");
        assert_eq!(
            summary_line(&ReconcileReport::default()),
            "checked 0 payments: nothing to reconcile"
        );
    }
}
