//! The actix-web adapter of payram-merchant: PayRam's webhook endpoint, the admin read API and
//! the health check.
//!
//! **Invariant:** this is the only crate that knows HTTP (methods, headers, status codes, JSON
//! answers). Handlers hold no business rules: each one turns the request into domain values
//! (with [`payram_protocol`] for the webhook), makes one call to an inbound port
//! ([`payram_ports::PaymentUseCases`], [`payram_ports::OutboxUseCases`]) or, for reads, to the
//! read-only [`payram_ports::Queries`] port, and maps the result to a response DTO. Every admin
//! route takes the one admin-authentication extractor first. Every answer, errors included,
//! is JSON (the dashboard's are HTML).
//!
//! The app registers everything with [`configure`], once per actix worker.
//!
//! | route | answer |
//! |---|---|
//! | `GET`, `POST` on [`HttpConfig::webhook_path`] | the PayRam webhook; other methods 405 |
//! | `GET /api/payments?status=&customer_id=&since=&limit=&cursor=` | payments, newest first (bearer token) |
//! | `GET /api/customers?limit=&cursor=` | customers with their balances (bearer token) |
//! | `GET /api/credits?since=&limit=&cursor=` | the credit ledger, JSON or CSV (`Accept: text/csv`) (bearer token) |
//! | `GET /api/keys` | each API key's last use, by position (bearer token) |
//! | `GET /api/payments/{reference_id}` | a payment and its events (bearer token) |
//! | `GET /api/customers/{customer_id}` | a customer's balance and credits (bearer token) |
//! | `GET /api/events?outcome=&reference_id=&since=&limit=&cursor=` | the event log, newest first (bearer token) |
//! | `GET /api/events/{id}` | one event, raw body included (bearer token) |
//! | `POST /api/events/{id}/replay` | feeds the stored body through the live path again (bearer token) |
//! | `GET /api/outbox?state=&limit=` | forwarded credits and their delivery state (bearer token; [`configure_outbox`]) |
//! | `POST /api/outbox/{id}/replay` | delivers an outbox entry now (bearer token; [`configure_outbox`]) |
//! | `GET /metrics` | Prometheus metrics, no authentication ([`configure_metrics`]) |
//! | `GET /readyz` | 200 when the database answers and the workers run, else 503 ([`configure_readiness`]) |
//! | `/dashboard`, `/dashboard/...` | the HTML dashboard, signed in with the admin token ([`configure_dashboard`]) |
//! | `GET /api/openapi.json` | the OpenAPI 3.1 document of all of the above, no authentication |
//! | `GET /healthz` | `{"status":"ok"}`, no authentication |
//! | anything else | 404 `{"error":"not_found"}` |

mod admin;
mod auth;
mod client;
mod dashboard;
mod dto;
mod error;
mod events;
mod guard;
mod lists;
mod metrics;
mod openapi;
mod outbox;
mod throttle;
mod webhook;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use actix_web::{http::header, middleware::DefaultHeaders, web};
use secrecy::SecretString;

use payram_domain::{Inbound, Notification};
use payram_ports::{
    BodyParser, OutboxUseCases, PaymentUseCases, Queries, Rejection, SessionRevocations,
};

use crate::error::ApiError;
pub use crate::{
    client::{IpList, IpListError},
    guard::{Guard, Guarded, MAX_HEAD_BYTES},
    metrics::{Metrics, Readiness},
    throttle::{FailureLimiter, RetryAfter, TRACKED_ADDRESSES},
};

/// The [`BodyParser`] port on PayRam's wire format ([`payram_protocol::parse_body`] and
/// [`payram_protocol::parse_payment_lookup`]): how live deliveries, replays and retries all
/// read a raw body.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProtocolParser;

impl BodyParser for ProtocolParser {
    fn parse(&self, body: &[u8]) -> Result<Inbound, Rejection> {
        payram_protocol::parse_body(body)
            .map_err(|err| Rejection { outcome: err.outcome(), message: err.to_string() })
    }

    fn parse_lookup(&self, body: &[u8]) -> Result<Notification, Rejection> {
        payram_protocol::parse_payment_lookup(body)
            .map_err(|err| Rejection { outcome: err.outcome(), message: err.to_string() })
    }
}

/// What the HTTP layer needs to know, read once at startup by the app.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// The project API keys accepted for webhooks (signature or legacy header).
    pub api_keys: payram_protocol::ApiKeys,
    /// Path of the webhook endpoint, e.g. `/webhook`.
    pub webhook_path: String,
    /// When true, a webhook carrying only the `API-Key` header is refused.
    pub require_signature: bool,
    /// Larger webhook bodies are answered 413.
    pub max_body_bytes: usize,
    /// Bearer token of the admin API; `None` makes the admin API answer 401.
    pub admin_token: Option<SecretString>,
    /// `METRICS_TOKEN`: when set, `/metrics` requires it as a bearer token.
    pub metrics_token: Option<SecretString>,
    /// Failed authentications per client address, shared by every actix worker.
    pub guessing: Guessing,
}

/// The limits on guessing (`AUTH_FAILURE_LIMIT`): one counter for webhook credentials, one
/// for admin tokens (admin API, dashboard sign-in, `METRICS_TOKEN`). Clones share the counters.
#[derive(Clone, Debug)]
pub struct Guessing {
    /// Wrong API keys and signatures on the webhook.
    pub webhook: Arc<FailureLimiter>,
    /// Wrong admin (and metrics) tokens.
    pub admin: Arc<FailureLimiter>,
}

impl Guessing {
    /// `limit` failures a minute per client address, for each kind; 0: no limit.
    #[must_use]
    pub fn per_minute(limit: u32) -> Self {
        Self {
            webhook: Arc::new(FailureLimiter::per_minute(limit)),
            admin: Arc::new(FailureLimiter::per_minute(limit)),
        }
    }
}

/// Registers every route, the JSON extractor error handlers and the JSON 404 fallback.
///
/// The webhook and the replay call the use cases; every admin read goes straight to the
/// read-only `queries` port. Used once per actix worker:
/// `App::new().configure(payram_http::configure(use_cases.clone(), queries.clone(), config.clone()))`.
pub fn configure(
    use_cases: Arc<dyn PaymentUseCases>,
    queries: Arc<dyn Queries>,
    config: Arc<HttpConfig>,
) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let webhook_path = config.webhook_path.clone();
        cfg.app_data(web::Data::from(use_cases))
            .app_data(web::Data::from(queries))
            .app_data(web::Data::from(config))
            .app_data(web::PathConfig::default().error_handler(|err, _req| error::path_error(&err)))
            .app_data(
                web::QueryConfig::default().error_handler(|err, _req| error::query_error(&err)),
            )
            .service(
                web::resource(webhook_path)
                    .route(web::post().to(webhook::receive))
                    .route(web::get().to(webhook::receive))
                    .default_service(web::to(|| async { method_not_allowed("GET, POST") })),
            )
            .service(
                web::resource("/healthz")
                    .route(web::get().to(admin::health))
                    .default_service(web::to(|| async { method_not_allowed("GET") })),
            )
            .configure(register_api)
            .default_service(web::to(not_found));
    }
}

/// The admin API's headers: never sniffed, never cached (every answer is about money or
/// credentials), errors included.
fn api_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::CACHE_CONTROL, "no-store"))
}

/// Everything under `/api`, wrapped in [`api_headers`]; an unknown path there answers the JSON
/// 404. The outbox routes match only when [`configure_outbox`] registered its use cases.
fn register_api(cfg: &mut web::ServiceConfig) {
    let api = web::scope("/api")
        .service(
            web::resource("/payments")
                .route(web::get().to(lists::payments))
                .default_service(web::to(|| async { method_not_allowed("GET") })),
        )
        .service(
            web::resource("/customers")
                .route(web::get().to(lists::customers))
                .default_service(web::to(|| async { method_not_allowed("GET") })),
        )
        .service(
            web::resource("/credits")
                .route(web::get().to(lists::credits))
                .default_service(web::to(|| async { method_not_allowed("GET") })),
        )
        .service(
            web::resource("/keys")
                .route(web::get().to(lists::keys))
                .default_service(web::to(|| async { method_not_allowed("GET") })),
        )
        .service(
            web::resource("/payments/{reference_id}")
                .route(web::get().to(admin::payment))
                .default_service(web::to(|| async { method_not_allowed("GET") })),
        )
        .service(
            web::resource("/customers/{customer_id}")
                .route(web::get().to(admin::customer))
                .default_service(web::to(|| async { method_not_allowed("GET") })),
        )
        .service(
            web::resource("/events")
                .route(web::get().to(events::list))
                .default_service(web::to(|| async { method_not_allowed("GET") })),
        )
        .service(
            web::resource("/events/{id}")
                .route(web::get().to(events::show))
                .default_service(web::to(|| async { method_not_allowed("GET") })),
        )
        .service(
            web::resource("/events/{id}/replay")
                .route(web::post().to(events::replay))
                .default_service(web::to(|| async { method_not_allowed("POST") })),
        )
        .service(
            web::resource("/openapi.json")
                .route(web::get().to(openapi::document))
                .default_service(web::to(|| async { method_not_allowed("GET") })),
        )
        .configure(outbox::register)
        .default_service(web::to(not_found));
    cfg.service(api.wrap(api_headers()));
}

/// Registers the dashboard (`/dashboard`, HTML behind the admin token, see the module
/// `dashboard`); with `outbox`, its outbox page can list and deliver entries; `sessions`
/// records sign-outs (which the [`Queries`] given to [`configure`] then report). Use beside
/// [`configure`], which provides the use cases and [`HttpConfig`] it reads.
pub fn configure_dashboard(
    outbox: Option<Arc<dyn OutboxUseCases>>,
    sessions: Arc<dyn SessionRevocations>,
) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| dashboard::register(cfg, outbox, sessions)
}

/// Registers `GET /metrics` (no authentication) and makes the webhook count its requests in
/// `metrics`, shared by every actix worker. Use beside [`configure`].
pub fn configure_metrics(metrics: Arc<Metrics>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::from(metrics)).service(
            web::resource("/metrics")
                .route(web::get().to(metrics::scrape))
                .default_service(web::to(|| async { method_not_allowed("GET") })),
        );
    }
}

/// Registers `GET /readyz` (no authentication): 200 only when the database answers and every
/// worker of `readiness` runs. `/healthz` stays the liveness check. Use beside [`configure`].
pub fn configure_readiness(readiness: Readiness) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(readiness)).service(
            web::resource("/readyz")
                .route(web::get().to(metrics::ready))
                .default_service(web::to(|| async { method_not_allowed("GET") })),
        );
    }
}

/// Turns on the outbox routes (`/api/outbox`, `/api/outbox/{id}/replay`), when credit
/// forwarding is on; without this call those paths answer 404. Use beside [`configure`], which
/// provides the [`HttpConfig`] they read.
pub fn configure_outbox(outbox: Arc<dyn OutboxUseCases>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::from(outbox));
    }
}

/// Every route the `configure*` functions register, as (method, path template), the webhook at
/// its default path. Add a route here when registering one: a test checks that each of these
/// answers (is registered) and that the OpenAPI document describes exactly these.
#[cfg(test)]
pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("post", "/webhook"),
    ("get", "/webhook"),
    ("get", "/api/payments"),
    ("get", "/api/payments/{reference_id}"),
    ("get", "/api/customers"),
    ("get", "/api/customers/{customer_id}"),
    ("get", "/api/credits"),
    ("get", "/api/keys"),
    ("get", "/api/events"),
    ("get", "/api/events/{id}"),
    ("post", "/api/events/{id}/replay"),
    ("get", "/api/outbox"),
    ("post", "/api/outbox/{id}/replay"),
    ("get", "/api/openapi.json"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/dashboard"),
    ("get", "/dashboard/style.css"),
    ("get", "/dashboard/login"),
    ("post", "/dashboard/login"),
    ("post", "/dashboard/logout"),
    ("get", "/dashboard/payments/{reference_id}"),
    ("get", "/dashboard/events"),
    ("get", "/dashboard/events/{id}"),
    ("post", "/dashboard/events/{id}/replay"),
    ("get", "/dashboard/outbox"),
    ("post", "/dashboard/outbox/{id}/replay"),
];

fn method_not_allowed(allow: &'static str) -> actix_web::HttpResponse {
    let mut response = actix_web::ResponseError::error_response(&ApiError::MethodNotAllowed);
    response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static(allow));
    response
}

async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}
