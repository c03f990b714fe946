use std::{
    net::SocketAddr,
    sync::{Arc, atomic::AtomicBool},
    time::Duration,
};

use actix_web::{App, HttpServer, dev::Server};

use payram_api::{ApiConfig, PayramApi};
use payram_core::{
    OutboxService, PaymentService, ReconcileService, RetryPolicy, Storage, SystemClock,
};
use payram_domain::CreditPolicy;
use payram_http::{Guard, Guessing, HttpConfig, Metrics, ProtocolParser, Readiness};
use payram_ports::{OutboxUseCases, PaymentUseCases, Queries, SessionRevocations};
use payram_store::{SqliteRepository, StoreError, StoreOptions, Synchronous};

use crate::{
    forward::Forwarding,
    settings::Settings,
    workers::{self, Reconciling, Running},
};

/// What the core needs from the configuration; shared by `serve` and the CLI commands.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    pub database_url: String,
    pub busy_timeout: Duration,
    /// When a commit is durable (`SQLITE_SYNCHRONOUS`).
    pub synchronous: Synchronous,
    pub credit_policy: CreditPolicy,
    pub retry: RetryPolicy,
    /// Every credit also gets an outbox entry to forward (`CREDIT_FORWARD_URL` is set).
    pub forward_credits: bool,
    /// PayRam's API, asked before crediting (`CONFIRM_BEFORE_CREDIT`).
    pub confirm: Option<ApiConfig>,
}

/// The core wired to its adapters: the SQLite store (already migrated: it is never migrated
/// here), the ledger-only crediting, the system clock and PayRam's wire format.
pub struct Core {
    store: Arc<SqliteRepository>,
    use_cases: Arc<dyn PaymentUseCases>,
}

impl Core {
    /// Opens the store and wires the payment use cases on it.
    pub fn open(config: &CoreConfig) -> Result<Self, StartupError> {
        let options = StoreOptions {
            busy_timeout: config.busy_timeout,
            outbox: config.forward_credits,
            synchronous: config.synchronous,
            ..StoreOptions::default()
        };
        let store = Arc::new(payram_store::connect(&config.database_url, &options)?);
        let storage =
            Storage { ledger: store.clone(), schedule: store.clone(), queries: store.clone() };
        let mut service =
            PaymentService::new(storage, Arc::new(ProtocolParser), config.credit_policy.clone())
                .with_retry_policy(config.retry);
        if let Some(api) = &config.confirm {
            service = service.with_confirmation(Arc::new(PayramApi::new(api.clone())?));
        }
        Ok(Self { store, use_cases: Arc::new(service) })
    }

    /// The payment use cases.
    #[must_use]
    pub fn use_cases(&self) -> Arc<dyn PaymentUseCases> {
        Arc::clone(&self.use_cases)
    }

    /// The read-only queries of the store.
    #[must_use]
    pub fn queries(&self) -> Arc<dyn Queries> {
        self.store.clone()
    }

    /// Where the dashboard records its sign-outs (read back through [`Core::queries`]).
    #[must_use]
    pub fn sessions(&self) -> Arc<dyn SessionRevocations> {
        self.store.clone()
    }

    /// Reconciliation: answers from PayRam's API go through the same use cases as webhooks.
    pub fn reconciler(&self, api: ApiConfig) -> Result<ReconcileService, StartupError> {
        Ok(ReconcileService::new(
            self.use_cases(),
            self.store.clone(),
            Arc::new(PayramApi::new(api)?),
            Arc::new(SystemClock),
        ))
    }

    /// The outbox use cases, forwarding credits as `forwarding` says.
    pub fn outbox(&self, forwarding: &Forwarding) -> Result<Arc<dyn OutboxUseCases>, StartupError> {
        let forwarder = forwarding.forwarder().map_err(StartupError::Forwarder)?;
        Ok(Arc::new(OutboxService::new(
            self.store.clone(),
            Arc::new(forwarder),
            Arc::new(SystemClock),
            forwarding.retry,
        )))
    }
}

/// Open files `serve` needs beside its connections (the database, its WAL, the pool, logs).
const SPARE_FILES: u64 = 64;

/// Raises the open-file soft limit so that `max_connections` fit, and says so; warns when the
/// hard limit does not allow it (then connections beyond the limit are refused by the kernel).
fn raise_open_file_limit(max_connections: usize) {
    let wanted = u64::try_from(max_connections).unwrap_or(u64::MAX).saturating_add(SPARE_FILES);
    let before = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(0, |(soft, _)| soft);
    match rlimit::increase_nofile_limit(wanted) {
        Ok(limit) if limit >= wanted => {
            if limit > before {
                tracing::info!(
                    from = before,
                    to = limit,
                    "raised the open-file limit to fit MAX_CONNECTIONS"
                );
            }
        }
        Ok(limit) => tracing::warn!(
            limit,
            wanted,
            "the open-file limit cannot be raised to fit MAX_CONNECTIONS: raise the hard limit (LimitNOFILE) or lower MAX_CONNECTIONS"
        ),
        Err(err) => tracing::warn!(error = %err, "the open-file limit could not be read or raised"),
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
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot set up credit forwarding")]
    Forwarder(#[source] reqwest::Error),
    #[error("cannot set up the PayRam API client")]
    PayramApi(#[from] payram_api::ConfigError),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
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
        let security = &settings.security;
        let tls = security.tls.as_ref().map(crate::tls::server_config).transpose()?;
        let applied = payram_store::migrate(&settings.database_url)?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "applied pending migrations");
        }
        let core = Core::open(&settings.core())?;
        let mut readiness = Readiness::default();
        let outbox = settings
            .forwarding
            .as_ref()
            .map(|forwarding| {
                let outbox = core.outbox(forwarding)?;
                Ok::<_, StartupError>((
                    outbox,
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
        let use_cases = core.use_cases();
        let queries = core.queries();
        let sessions = core.sessions();
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
            metrics_token: security.metrics_token.clone(),
            guessing: Guessing::per_minute(security.auth_failure_limit),
        });
        let guard = Guard {
            webhook_path: settings.webhook_path.clone(),
            allowed_ips: security.allowed_ips.clone(),
            admin_allowed_ips: security.admin_allowed_ips.clone(),
            trusted_proxies: security.trusted_proxies.clone(),
            body_timeout: security.client_body_timeout,
        };
        let workers_count = std::thread::available_parallelism().map_or(1, usize::from);
        raise_open_file_limit(security.max_connections);

        let bind_error = |source| StartupError::Bind { addr: settings.bind_addr, source };
        let listener = std::net::TcpListener::bind(settings.bind_addr).map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let server = HttpServer::new(move || {
            let app = App::new()
                .wrap(actix_web::middleware::from_fn(guard.clone().middleware()))
                .configure(payram_http::configure(
                    Arc::clone(&use_cases),
                    Arc::clone(&queries),
                    Arc::clone(&config),
                ))
                .configure(payram_http::configure_metrics(Arc::clone(&metrics)))
                .configure(payram_http::configure_readiness(readiness.clone()))
                .configure(payram_http::configure_dashboard(
                    http_outbox.clone(),
                    Arc::clone(&sessions),
                ));
            match &http_outbox {
                Some(outbox) => app.configure(payram_http::configure_outbox(Arc::clone(outbox))),
                None => app,
            }
        })
        .workers(workers_count)
        // actix counts connections per worker.
        .max_connections(security.max_connections.div_ceil(workers_count))
        .client_request_timeout(security.client_request_timeout)
        .keep_alive(security.keep_alive_timeout)
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS);
        let server = match tls {
            Some(tls) => server.listen_rustls_0_23(listener, tls),
            None => server.listen(listener),
        }
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
            vec![actix_web::rt::spawn(workers::retry(use_cases, interval, Running(flag)))];
        if let Some((outbox, interval, flag)) = outbox {
            spawned.push(actix_web::rt::spawn(workers::outbox(outbox, interval, Running(flag))));
        }
        if let Some((reconciling, flag)) = reconcile {
            spawned.push(actix_web::rt::spawn(workers::reconcile(reconciling, Running(flag))));
        }
        let res = self.server.await;
        for worker in spawned {
            worker.abort();
        }
        res
    }
}
