use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use actix_web::{App, HttpServer, dev::Server};

use payram_domain::CreditPolicy;
use payram_http::{HttpConfig, Metrics, ProtocolParser, Readiness};
use payram_ports::{
    LogCrediting, OutboxService, OutboxUseCases, PaymentService, PaymentUseCases, RetryPolicy,
    SystemClock,
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
) -> Result<Arc<dyn PaymentUseCases>, StartupError> {
    let repo = connect(database_url, busy_timeout, outbox)?;
    Ok(payment_service(repo, policy, retry))
}

fn connect(
    database_url: &str,
    busy_timeout: Duration,
    outbox: bool,
) -> Result<SqliteRepository, StartupError> {
    let options = StoreOptions { busy_timeout, outbox, ..StoreOptions::default() };
    Ok(payram_store::connect(database_url, &options)?)
}

fn payment_service(
    repo: SqliteRepository,
    policy: CreditPolicy,
    retry: RetryPolicy,
) -> Arc<dyn PaymentUseCases> {
    Arc::new(
        PaymentService::new(
            Arc::new(repo),
            Arc::new(LogCrediting),
            Arc::new(SystemClock),
            Arc::new(ProtocolParser),
            policy,
        )
        .with_retry_policy(retry),
    )
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
            Err(err) => tracing::warn!(error = %payram_ports::ErrorChain(&err),
                "retry worker could not read or update the event log; trying again later"),
        }
    }
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

/// The wired service, bound and ready to run.
pub struct Application {
    addr: SocketAddr,
    server: Server,
    use_cases: Arc<dyn PaymentUseCases>,
    retry_poll_interval: Duration,
    /// The outbox and its polling interval, when credits are forwarded.
    outbox: Option<(Arc<dyn OutboxUseCases>, Duration)>,
    /// The workers' readiness flags.
    retry_running: Arc<AtomicBool>,
    outbox_running: Option<Arc<AtomicBool>>,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database {0}")]
    Store(#[from] StoreError),
    #[error("cannot set up credit forwarding")]
    Forwarder(#[source] reqwest::Error),
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
        let repo = connect(&settings.database_url, settings.db_busy_timeout, forwarding.is_some())?;
        let outbox = forwarding
            .map(|forwarding| {
                let forwarder = forwarding.forwarder().map_err(StartupError::Forwarder)?;
                let service: Arc<dyn OutboxUseCases> = Arc::new(OutboxService::new(
                    Arc::new(repo.clone()),
                    Arc::new(forwarder),
                    Arc::new(SystemClock),
                    forwarding.retry,
                ));
                Ok::<_, StartupError>((service, forwarding.poll_interval))
            })
            .transpose()?;
        let use_cases =
            payment_service(repo, settings.credit_policy.clone(), settings.retry_policy);
        let worker_use_cases = Arc::clone(&use_cases);
        let http_outbox = outbox.as_ref().map(|(service, _)| Arc::clone(service));
        let metrics = Arc::new(Metrics::new());
        let mut readiness = Readiness::default();
        let retry_running = readiness.worker("retry");
        let outbox_running = outbox.as_ref().map(|_| readiness.worker("outbox"));
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
                .configure(payram_http::configure_readiness(readiness.clone()));
            match &http_outbox {
                Some(outbox) => app.configure(payram_http::configure_outbox(Arc::clone(outbox))),
                None => app,
            }
        })
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
        .listen(listener)
        .map_err(bind_error)?
        .run();
        Ok(Self {
            addr,
            server,
            use_cases: worker_use_cases,
            retry_poll_interval: settings.retry_poll_interval,
            outbox,
            retry_running,
            outbox_running,
        })
    }

    /// The bound address.
    #[must_use]
    pub const fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until SIGINT or SIGTERM, then stops accepting and finishes requests in flight.
    /// Meanwhile a worker retries failed events when they are due, and, when credits are
    /// forwarded, another delivers due outbox entries.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let worker = actix_web::rt::spawn(retry_worker(
            self.use_cases,
            self.retry_poll_interval,
            Running(self.retry_running),
        ));
        let forwarder = self.outbox.zip(self.outbox_running).map(|((outbox, interval), flag)| {
            actix_web::rt::spawn(outbox_worker(outbox, interval, Running(flag)))
        });
        let res = self.server.await;
        worker.abort();
        if let Some(forwarder) = forwarder {
            forwarder.abort();
        }
        res
    }
}
