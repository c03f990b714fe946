//! Prometheus metrics: webhooks by outcome and by authentication result, the answer latency and
//! storage errors, counted here; credits, failed and dead events and the outbox backlog, read
//! from the database at each scrape. [`crate::configure_metrics`] serves `GET /metrics` in the
//! OpenMetrics text format, which Prometheus reads.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use actix_web::{HttpRequest, HttpResponse, http::header, web};

use crate::{HttpConfig, error::ApiError};
use chrono::{DateTime, Utc};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::Registry,
};

use payram_domain::Escaped;
use payram_ports::{ErrorChain, Queries, Stats};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AuthLabel {
    result: String,
}

/// The HTTP layer's counters and histogram; cheap to share (`Arc`).
pub struct Metrics {
    registry: Registry,
    webhooks: Family<OutcomeLabel, Counter>,
    auth: Family<AuthLabel, Counter>,
    latency: Histogram,
    storage_errors: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    #[must_use]
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("payram");
        let webhooks = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "webhooks",
            "Webhook requests answered, by outcome (applied, duplicate, stale, ignored, payout, \
             ping, malformed_json, invalid_payload, incomplete_body, unauthorized, \
             payload_too_large, storage_unavailable, internal)",
            webhooks.clone(),
        );
        let auth = Family::<AuthLabel, Counter>::default();
        registry.register(
            "webhook_auth",
            "Webhook authentication results (signature, api_key, unsigned_ping, missing, \
             bad_signature, bad_api_key, signature_required, conflicting_headers)",
            auth.clone(),
        );
        // 1 ms to about 16 s.
        let latency = Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
            0.001, 2.0, 15,
        ));
        registry.register(
            "webhook_duration_seconds",
            "Time from the request to the answer of the webhook",
            latency.clone(),
        );
        let storage_errors = Counter::default();
        registry.register(
            "storage_errors",
            "Requests answered 5xx because the database failed (unavailable, conflict, corrupt)",
            storage_errors.clone(),
        );
        Self { registry, webhooks, auth, latency, storage_errors }
    }

    pub(crate) fn webhook(&self, outcome: &str, latency: Duration) {
        self.webhooks.get_or_create(&OutcomeLabel { outcome: outcome.to_owned() }).inc();
        self.latency.observe(latency.as_secs_f64());
    }

    pub(crate) fn auth(&self, result: &str) {
        self.auth.get_or_create(&AuthLabel { result: result.to_owned() }).inc();
    }

    pub(crate) fn storage_error(&self) {
        self.storage_errors.inc();
    }

    /// The registry in the Prometheus text format, without the final `# EOF`.
    fn render(&self) -> String {
        let mut text = String::new();
        if encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text.strip_suffix("# EOF\n").map(str::to_owned).unwrap_or(text)
    }
}

#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text"), (status = 401, description = "METRICS_TOKEN is set and the bearer token is missing or wrong", body = crate::dto::ErrorBody), (status = 429, description = "Too many wrong tokens from this address", body = crate::dto::ErrorBody)))]
/// `GET /metrics`: the HTTP layer's metrics, then figures read from the database at scrape
/// time (credits, failed and dead events, the outbox backlog and its age, from running totals:
/// a constant amount of data). No authentication unless `METRICS_TOKEN` is set; then it is a
/// bearer token, wrong ones counted like wrong admin tokens.
pub(crate) async fn scrape(
    req: HttpRequest,
    metrics: web::Data<Metrics>,
    queries: web::Data<dyn Queries>,
    config: Option<web::Data<HttpConfig>>,
) -> Result<HttpResponse, ApiError> {
    if let Some(config) = &config
        && let Some(token) = &config.metrics_token
    {
        crate::auth::admit(&req, config, Some(token), crate::auth::presented_bearer(&req))
            .inspect_err(|err| tracing::warn!(client = %crate::client::client_of(&req), answer = err.code(), "metrics request refused"))?;
    }
    let mut text = metrics.render();
    let stats = queries.stats().await;
    if let Err(err) = &stats {
        tracing::warn!(error = %Escaped(ErrorChain(err)), "metrics: the database could not be read");
    }
    render_stats(&mut text, stats.ok().as_ref(), Utc::now());
    text.push_str("# EOF\n");
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ))
        .body(text))
}

/// The database figures in the OpenMetrics text format. Money is written as its exact decimal
/// text. Without figures (the database did not answer) only `payram_database_up 0` is written.
fn render_stats(text: &mut String, stats: Option<&Stats>, now: DateTime<Utc>) {
    let mut gauge = |name: &str, help: &str, value: &dyn std::fmt::Display| {
        let _ = write!(
            text,
            "# TYPE payram_{name} gauge\n# HELP payram_{name} {help}\npayram_{name} {value}\n"
        );
    };
    gauge("database_up", "Whether the database answered this scrape", &u8::from(stats.is_some()));
    let Some(stats) = stats else { return };
    gauge("credits", "Credits in the ledger", &stats.credits);
    gauge("credited_usd", "Exact sum of every credit in the ledger, USD", &stats.credited_usd);
    gauge(
        "failed_events",
        "Events whose processing failed and waits for a retry",
        &stats.failed_events,
    );
    gauge(
        "dead_events",
        "Events whose processing failed for the last time (dead letters)",
        &stats.dead_events,
    );
    gauge("outbox_pending", "Forwarded credits not delivered yet", &stats.outbox_pending);
    gauge("outbox_dead", "Forwarded credits that failed for the last time", &stats.outbox_dead);
    gauge(
        "reconciliation_corrections",
        "Payments moved forward by reconciliation with PayRam's API (missed webhooks recovered)",
        &stats.reconciliation_corrections,
    );
    let age = stats.oldest_pending_outbox.map_or(0, |oldest| (now - oldest).num_seconds().max(0));
    gauge(
        "outbox_oldest_pending_age_seconds",
        "Age of the oldest undelivered forwarded credit (0 when none)",
        &age,
    );
}

/// What `/readyz` checks beside the database: the background workers, each by name, running
/// while its flag is true (the app clears it when a worker stops).
#[derive(Clone, Debug, Default)]
pub struct Readiness {
    workers: Vec<(&'static str, Arc<AtomicBool>)>,
}

impl Readiness {
    /// Adds a worker; the returned flag is true until the worker clears it.
    pub fn worker(&mut self, name: &'static str) -> Arc<AtomicBool> {
        let flag = Arc::new(AtomicBool::new(true));
        self.workers.push((name, Arc::clone(&flag)));
        flag
    }
}

#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200, body = ReadyBody), (status = 503, description = "Not ready", body = ReadyBody)))]
/// `GET /readyz`: 200 only when the database answers and every worker runs; else 503. The
/// answer names each check. No authentication; the database check reads a constant amount.
pub(crate) async fn ready(
    readiness: web::Data<Readiness>,
    queries: web::Data<dyn Queries>,
) -> HttpResponse {
    let database = match queries.ping().await {
        Ok(()) => "ok",
        Err(err) => {
            tracing::warn!(error = %Escaped(ErrorChain(&err)), "readiness: the database does not answer");
            "unavailable"
        }
    };
    let workers: BTreeMap<&str, &str> = readiness
        .workers
        .iter()
        .map(|(name, flag)| {
            (*name, if flag.load(Ordering::Acquire) { "running" } else { "stopped" })
        })
        .collect();
    let ready = database == "ok" && workers.values().all(|state| *state == "running");
    let body = ReadyBody { status: if ready { "ready" } else { "not_ready" }, database, workers };
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// The answer of `/readyz`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ReadyBody {
    /// `ready` or `not_ready`.
    status: &'static str,
    /// `ok` or `unavailable`.
    database: &'static str,
    /// Each worker's state: `running` or `stopped`.
    workers: BTreeMap<&'static str, &'static str>,
}
