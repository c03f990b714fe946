use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use actix_web::{App, HttpServer, dev::Server};

use payram_api::{ApiConfig, PayramApi};
use payram_domain::CreditPolicy;
use payram_http::{HttpConfig, Metrics, ProtocolParser, Readiness};
use payram_ports::{
    ErrorChain, LogCrediting, OutboxService, OutboxUseCases, PaymentService, PaymentUseCases,
    ReconcileService, RetryPolicy, SystemClock,
};
use payram_store::{SqliteRepository, StoreError, StoreOptions};

use crate::{forward::outbox_worker, settings::Settings};

/// The core wired to its adapters: the SQLite store (already migrated), the ledger-only
/// crediting, the system clock and PayRam's wire format. Shared by `serve` and the CLI.
/// With `outbox`, every credit also gets an outbox entry to forward (`CREDIT_FORWARD_URL`).
pub fn use_cases(
    database_url: &str,
    busy_timeout: Duration,
    policy: CreditPolicy,
    retry: RetryPolicy,
    outbox: bool,
    confirm: Option<ApiConfig>,
) -> Result<Arc<dyn PaymentUseCases>, StartupError> {
    Ok(Core::open(database_url, busy_timeout, policy, retry, outbox, confirm)?.use_cases)
}

/// Reconciliation wired: the same core as [`use_cases`], plus PayRam's API.
pub fn reconciler(
    database_url: &str,
    busy_timeout: Duration,
    policy: CreditPolicy,
    retry: RetryPolicy,
    outbox: bool,
    api: ApiConfig,
) -> Result<ReconcileService, StartupError> {
    Core::open(database_url, busy_timeout, policy, retry, outbox, None)?.reconciler(api)
}

/// The store and the use cases on it.
struct Core {
    repo: Arc<SqliteRepository>,
    use_cases: Arc<dyn PaymentUseCases>,
}

impl Core {
    fn open(
        database_url: &str,
        busy_timeout: Duration,
        policy: CreditPolicy,
        retry: RetryPolicy,
        outbox: bool,
        confirm: Option<ApiConfig>,
    ) -> Result<Self, StartupError> {
        let options = StoreOptions { busy_timeout, outbox, ..StoreOptions::default() };
        let repo = Arc::new(payram_store::connect(database_url, &options)?);
        let mut service = PaymentService::new(
            repo.clone(),
            Arc::new(LogCrediting),
            Arc::new(SystemClock),
            Arc::new(ProtocolParser),
            policy,
        )
        .with_retry_policy(retry);
        if let Some(api) = confirm {
            service = service.with_confirmation(Arc::new(PayramApi::new(api)?));
        }
        Ok(Self { repo, use_cases: Arc::new(service) })
    }

    /// Answers from PayRam's API go through the same use cases as webhooks.
    fn reconciler(&self, api: ApiConfig) -> Result<ReconcileService, StartupError> {
        Ok(ReconcileService::new(
            Arc::clone(&self.use_cases),
            self.repo.clone(),
            Arc::new(PayramApi::new(api)?),
            Arc::new(SystemClock),
        ))
    }
}

/// Retries due failed events every `interval`, for as long as the server runs. The schedule
/// lives in the database, so a restart loses nothing.
async fn retry_worker(use_cases: Arc<dyn PaymentUseCases>, interval: Duration, running: Running) {
    let _running = running;
    loop {
        actix_web::rt::time::sleep(interval).await;
        match use_cases.retry_due().await {
            Ok(receipts) if receipts.is_empty() => {}
            Ok(receipts) => tracing::info!(retried = receipts.len(), "retried failed events"),
            Err(err) => tracing::warn!(error = %ErrorChain(&err),
                "retry worker could not read or update the event log; trying again later"),
        }
    }
}

/// Every `interval` (from the end of one run to the start of the next), asks PayRam about the
/// payments not settled of which nothing was heard for `older_than`, for as long as the server
/// runs.
async fn reconcile_worker(reconciling: Reconciling, running: Running) {
    let _running = running;
    loop {
        actix_web::rt::time::sleep(reconciling.interval).await;
        match reconciling.reconciler.reconcile_quiet(reconciling.older_than).await {
            Ok(report) if report.checks.is_empty() => {}
            Ok(report) => tracing::info!(
                checked = report.checks.len(),
                applied = report.count("applied"),
                failed = report.failures(),
                "reconciliation run finished"
            ),
            Err(err) => tracing::warn!(error = %ErrorChain(&err),
                "reconciliation could not list the payments to check; trying again later"),
        }
    }
}

/// The periodic reconciliation of a running server.
struct Reconciling {
    reconciler: Arc<ReconcileService>,
    interval: Duration,
    older_than: Duration,
}

/// A worker's readiness flag: cleared when the worker stops for any reason (its task ends,
/// panics or is aborted), which makes `/readyz` answer 503.
pub(crate) struct Running(pub(crate) Arc<AtomicBool>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// How long a graceful shutdown waits for requests in flight.
const SHUTDOWN_TIMEOUT_SECS: u64 = 30;

/// The background workers of `serve`, each with its readiness flag.
struct Workers {
    retry: (Arc<dyn PaymentUseCases>, Duration, Arc<AtomicBool>),
    /// The outbox and its polling interval, when credits are forwarded.
    outbox: Option<(Arc<dyn OutboxUseCases>, Duration, Arc<AtomicBool>)>,
    reconcile: Option<(Reconciling, Arc<AtomicBool>)>,
}

/// The wired service, bound and ready to run.
pub struct Application {
    addr: SocketAddr,
    server: Server,
    workers: Workers,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database {0}")]
    Store(#[from] StoreError),
    #[error("cannot set up credit forwarding")]
    Forwarder(#[source] reqwest::Error),
    #[error("cannot set up the PayRam API client")]
    PayramApi(#[from] payram_api::ConfigError),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

impl Application {
    /// Applies pending migrations, opens the store, wires the adapters to the core and binds
    /// the listener (port 0 picks a free port; [`Application::addr`] tells which).
    pub fn build(settings: &Settings) -> Result<Self, StartupError> {
        let applied = payram_store::migrate(&settings.database_url)?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "applied pending migrations");
        }
        let forwarding = settings.forwarding.as_ref();
        let core = Core::open(
            &settings.database_url,
            settings.db_busy_timeout,
            settings.credit_policy.clone(),
            settings.retry_policy,
            forwarding.is_some(),
            settings.confirm.clone(),
        )?;
        let mut readiness = Readiness::default();
        let outbox = forwarding
            .map(|forwarding| {
                let forwarder = forwarding.forwarder().map_err(StartupError::Forwarder)?;
                let service: Arc<dyn OutboxUseCases> = Arc::new(OutboxService::new(
                    core.repo.clone(),
                    Arc::new(forwarder),
                    Arc::new(SystemClock),
                    forwarding.retry,
                ));
                Ok::<_, StartupError>((
                    service,
                    forwarding.poll_interval,
                    readiness.worker("outbox"),
                ))
            })
            .transpose()?;
        let reconcile = settings
            .reconcile
            .as_ref()
            .map(|reconcile| {
                let reconciling = Reconciling {
                    reconciler: Arc::new(core.reconciler(reconcile.api.clone())?),
                    interval: reconcile.interval,
                    older_than: reconcile.older_than,
                };
                Ok::<_, StartupError>((reconciling, readiness.worker("reconcile")))
            })
            .transpose()?;
        let use_cases = core.use_cases;
        let workers = Workers {
            retry: (
                Arc::clone(&use_cases),
                settings.retry_poll_interval,
                readiness.worker("retry"),
            ),
            outbox,
            reconcile,
        };
        let http_outbox = workers.outbox.as_ref().map(|(service, _, _)| Arc::clone(service));
        let metrics = Arc::new(Metrics::new());
        let config = Arc::new(HttpConfig {
            api_keys: settings.api_keys.clone(),
            webhook_path: settings.webhook_path.clone(),
            require_signature: settings.require_signature,
            max_body_bytes: settings.max_body_bytes,
            admin_token: settings.admin_token.clone(),
        });

        let bind_error = |source| StartupError::Bind { addr: settings.bind_addr, source };
        let listener = std::net::TcpListener::bind(settings.bind_addr).map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let server = HttpServer::new(move || {
            let app = App::new()
                .configure(payram_http::configure(Arc::clone(&use_cases), Arc::clone(&config)))
                .configure(payram_http::configure_metrics(Arc::clone(&metrics)))
                .configure(payram_http::configure_readiness(readiness.clone()))
                .configure(payram_http::configure_dashboard(http_outbox.clone()));
            match &http_outbox {
                Some(outbox) => app.configure(payram_http::configure_outbox(Arc::clone(outbox))),
                None => app,
            }
        })
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
        .listen(listener)
        .map_err(bind_error)?
        .run();
        Ok(Self { addr, server, workers })
    }

    /// The bound address.
    #[must_use]
    pub const fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until SIGINT or SIGTERM, then stops accepting and finishes requests in flight.
    /// Meanwhile a worker retries failed events when they are due; when configured, another
    /// delivers due outbox entries and another reconciles quiet payments with PayRam.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Workers { retry, outbox, reconcile } = self.workers;
        let (use_cases, interval, flag) = retry;
        let mut spawned =
            vec![actix_web::rt::spawn(retry_worker(use_cases, interval, Running(flag)))];
        if let Some((outbox, interval, flag)) = outbox {
            spawned.push(actix_web::rt::spawn(outbox_worker(outbox, interval, Running(flag))));
        }
        if let Some((reconciling, flag)) = reconcile {
            spawned.push(actix_web::rt::spawn(reconcile_worker(reconciling, Running(flag))));
        }
        let res = self.server.await;
        for worker in spawned {
            worker.abort();
        }
        res
    }
}
