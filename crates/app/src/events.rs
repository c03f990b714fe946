//! `payram-merchant events`: read and replay the event log from the command line, directly on
//! the database (a running server may use it at the same time).

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};

use anyhow::Context;
use payram_domain::EventOutcome;
use payram_ports::{EventFilter, EventRecord, Origin, Receipt};

use crate::{
    Core, CoreConfig,
    forward::ForwardArgs,
    settings::{ConfirmArgs, DatabaseArgs, PayramApiArgs, PolicyArgs, RetryArgs, SettingsError},
};

#[derive(Args, Debug)]
pub struct EventsArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub retry: RetryArgs,

    /// Replays that credit also write an outbox entry when forwarding is on, as in `serve`.
    #[command(flatten)]
    pub forward: ForwardArgs,

    /// Replays that would credit ask PayRam first when `CONFIRM_BEFORE_CREDIT` is on, as in
    /// `serve`.
    #[command(flatten)]
    pub confirm: ConfirmArgs,

    #[command(flatten)]
    pub payram: PayramApiArgs,

    /// The keys (needed only with `CONFIRM_BEFORE_CREDIT`) and `CREDIT_ON`, as for `serve`.
    #[command(flatten)]
    pub policy: PolicyArgs,

    #[command(subcommand)]
    pub command: EventsCommand,
}

#[derive(Subcommand, Debug)]
pub enum EventsCommand {
    /// List recorded events, newest first.
    List {
        #[arg(
            long,
            value_parser = parse_outcome,
            help = "Only events with this outcome (applied, duplicate, stale, ignored, payout, \
                    ping, malformed_json, invalid_payload, failed, dead, waiting)"
        )]
        outcome: Option<EventOutcome>,
        /// Only events of this payment reference.
        #[arg(long)]
        reference: Option<String>,
        /// Only events received at or after this RFC 3339 time, e.g. 2026-11-26T00:00:00Z.
        #[arg(long, value_parser = parse_time)]
        since: Option<DateTime<Utc>>,
        /// At most this many events.
        #[arg(long, default_value_t = EventFilter::DEFAULT_LIMIT)]
        limit: u32,
    },
    /// Show one event, raw body included (written last, byte for byte).
    Show { id: i64 },
    /// Feed stored raw bodies through the same path as a live delivery; each replay is recorded
    /// as a new event, except that failed and dead events are retried in place. Replaying never
    /// changes the total credited.
    Replay {
        /// The event to replay.
        #[arg(required_unless_present_any = ["since", "failed"], conflicts_with_all = ["since", "failed"])]
        id: Option<i64>,
        /// Replay every webhook event received at or after this RFC 3339 time, oldest first.
        #[arg(long, value_parser = parse_time, conflicts_with = "failed")]
        since: Option<DateTime<Utc>>,
        /// Retry every failed and dead event now, whatever its schedule.
        #[arg(long)]
        failed: bool,
    },
}

fn parse_outcome(text: &str) -> Result<EventOutcome, String> {
    text.parse::<EventOutcome>().map_err(|err| err.to_string())
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|err| format!("not an RFC 3339 time ({err}), e.g. 2026-11-26T00:00:00Z"))
}

/// Runs an `events` command on the wired core.
pub async fn run(core: &Core, command: EventsCommand) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match command {
        EventsCommand::List { outcome, reference, since, limit } => {
            let filter = EventFilter {
                outcome,
                reference_id: reference,
                since,
                limit,
                ..EventFilter::default()
            };
            for event in &core.queries().events(filter).await? {
                writeln!(out, "{}", summary_line(event))?;
            }
        }
        EventsCommand::Show { id } => {
            let event =
                core.queries().event(id).await?.with_context(|| format!("no event {id}"))?;
            write_event(&mut out, &event)?;
        }
        EventsCommand::Replay { id: Some(id), .. } => {
            let receipt =
                core.use_cases().replay(id).await?.with_context(|| format!("no event {id}"))?;
            writeln!(out, "{}", replay_line(id, &receipt))?;
        }
        EventsCommand::Replay { failed: true, .. } => {
            let receipts = core.use_cases().retry_failed().await?;
            for receipt in &receipts {
                writeln!(out, "{}", replay_line(receipt.event_id, receipt))?;
            }
            if receipts.is_empty() {
                writeln!(out, "no failed or dead event")?;
            }
        }
        EventsCommand::Replay { id: None, since, .. } => {
            let since = since.unwrap_or(DateTime::<Utc>::MIN_UTC);
            for (id, receipt) in core.use_cases().replay_since(since).await? {
                writeln!(out, "{}", replay_line(id, &receipt))?;
            }
        }
    }
    Ok(())
}

fn summary_line(event: &EventRecord) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\tcredited {}",
        event.id,
        event.received_at.to_rfc3339(),
        event.origin.as_str(),
        event.outcome,
        event.status.as_deref().unwrap_or("-"),
        event.reference_id.as_deref().or(event.payout_id.as_deref()).unwrap_or("-"),
        event.credited_usd,
    )
}

fn replay_line(id: i64, receipt: &Receipt) -> String {
    let subject = receipt
        .reference_id
        .as_ref()
        .map(|reference| reference.as_str().to_owned())
        .or_else(|| receipt.payout_id.clone())
        .unwrap_or_else(|| "-".to_owned());
    format!(
        "event {id} replayed as event {}: {} {} (credited {})",
        receipt.event_id, receipt.outcome, subject, receipt.credited
    )
}

fn write_event(out: &mut impl Write, event: &EventRecord) -> io::Result<()> {
    writeln!(out, "id: {}", event.id)?;
    writeln!(out, "received_at: {}", event.received_at.to_rfc3339())?;
    match event.origin {
        Origin::Webhook => writeln!(out, "origin: webhook")?,
        Origin::Replay(of) => writeln!(out, "origin: replay of event {of}")?,
        Origin::Reconciliation => writeln!(out, "origin: reconciliation")?,
    }
    writeln!(out, "method: {}", event.method)?;
    writeln!(out, "auth: {} (key {})", event.auth.as_str(), event.auth.key_index())?;
    writeln!(out, "reference_id: {}", event.reference_id.as_deref().unwrap_or("-"))?;
    writeln!(out, "payout_id: {}", event.payout_id.as_deref().unwrap_or("-"))?;
    writeln!(out, "status: {}", event.status.as_deref().unwrap_or("-"))?;
    writeln!(out, "outcome: {}", event.outcome)?;
    writeln!(out, "credited_usd: {}", event.credited_usd)?;
    writeln!(out, "detail: {}", event.detail.as_deref().unwrap_or("-"))?;
    writeln!(out, "raw_body:")?;
    out.write_all(&event.raw_body)?;
    writeln!(out)
}

impl EventsArgs {
    /// The core's configuration for these flags.
    pub fn core(&self) -> Result<CoreConfig, SettingsError> {
        let confirm = if self.confirm.confirm_before_credit {
            self.confirm.confirmation(&self.payram, &self.policy.keys()?)?
        } else {
            None
        };
        Ok(CoreConfig {
            database_url: self.database.database_url.clone(),
            busy_timeout: self.database.busy_timeout(),
            synchronous: self.database.sqlite_synchronous,
            credit_policy: self.policy.credit_policy()?,
            retry: self.retry.policy()?,
            forward_credits: self.forward.forwarding()?.is_some(),
            confirm,
        })
    }
}
