//! The actix-web adapter of payram-merchant: PayRam's webhook endpoint, the admin read API and
//! the health check.
//!
//! **Invariant:** this is the only crate that knows HTTP (methods, headers, status codes, JSON
//! answers). Handlers hold no business rules: each one turns the request into domain values
//! (with [`payram_protocol`] for the webhook), makes one call to
//! [`payram_ports::PaymentUseCases`], and maps the result to a response DTO. Every answer, errors
//! included, is JSON.
//!
//! The app registers everything with [`configure`], once per actix worker.
//!
//! | route | answer |
//! |---|---|
//! | `GET`, `POST` on [`HttpConfig::webhook_path`] | the PayRam webhook; other methods 405 |
//! | `GET /api/payments/{reference_id}` | a payment and its events (bearer token) |
//! | `GET /api/customers/{customer_id}` | a customer's balance and credits (bearer token) |
//! | `GET /api/events?outcome=&reference_id=&since=&limit=` | the event log, newest first (bearer token) |
//! | `GET /api/events/{id}` | one event, raw body included (bearer token) |
//! | `POST /api/events/{id}/replay` | feeds the stored body through the live path again (bearer token) |
//! | `GET /healthz` | `{"status":"ok"}`, no authentication |
//! | anything else | 404 `{"error":"not_found"}` |

mod admin;
mod dto;
mod error;
mod events;
mod webhook;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use actix_web::{http::header, web};
use secrecy::SecretString;

use payram_domain::{Inbound, Notification};
use payram_ports::{BodyParser, PaymentUseCases, Rejection};

use crate::error::ApiError;

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
}

/// Registers every route, the JSON extractor error handlers and the JSON 404 fallback.
///
/// Used once per actix worker:
/// `App::new().configure(payram_http::configure(use_cases.clone(), config.clone()))`.
pub fn configure(
    use_cases: Arc<dyn PaymentUseCases>,
    config: Arc<HttpConfig>,
) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let webhook_path = config.webhook_path.clone();
        cfg.app_data(web::Data::from(use_cases))
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
                web::resource("/api/payments/{reference_id}")
                    .route(web::get().to(admin::payment))
                    .default_service(web::to(|| async { method_not_allowed("GET") })),
            )
            .service(
                web::resource("/api/customers/{customer_id}")
                    .route(web::get().to(admin::customer))
                    .default_service(web::to(|| async { method_not_allowed("GET") })),
            )
            .service(
                web::resource("/api/events")
                    .route(web::get().to(events::list))
                    .default_service(web::to(|| async { method_not_allowed("GET") })),
            )
            .service(
                web::resource("/api/events/{id}")
                    .route(web::get().to(events::show))
                    .default_service(web::to(|| async { method_not_allowed("GET") })),
            )
            .service(
                web::resource("/api/events/{id}/replay")
                    .route(web::post().to(events::replay))
                    .default_service(web::to(|| async { method_not_allowed("POST") })),
            )
            .service(
                web::resource("/healthz")
                    .route(web::get().to(admin::health))
                    .default_service(web::to(|| async { method_not_allowed("GET") })),
            )
            .default_service(web::to(not_found));
    }
}

fn method_not_allowed(allow: &'static str) -> actix_web::HttpResponse {
    let mut response = actix_web::ResponseError::error_response(&ApiError::MethodNotAllowed);
    response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static(allow));
    response
}

async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}
