//! The admin read API (bearer token) and the health check.

use actix_web::{
    HttpRequest, HttpResponse,
    http::header::{self, HeaderMap},
    web,
};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use payram_domain::{CustomerId, ReferenceId};
use payram_ports::PaymentUseCases;

use crate::{
    HttpConfig,
    dto::{CustomerBody, ErrorBody, HealthBody, PaymentBody},
    error::ApiError,
};

/// `GET /api/payments/{reference_id}`: the payment and its events, or 404.
#[utoipa::path(get, path = "/api/payments/{reference_id}", tag = "admin", params(("reference_id" = String, Path, description = "PayRam reference")), responses((status = 200, body = PaymentBody<'_>), (status = 404, description = "Unknown", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody), (status = 503, description = "Storage unavailable", body = ErrorBody)), security(("bearer" = [])))]
#[tracing::instrument(name = "admin_payment", skip_all)]
pub(crate) async fn payment(
    req: HttpRequest,
    reference_id: web::Path<String>,
    use_cases: web::Data<dyn PaymentUseCases>,
    config: web::Data<HttpConfig>,
) -> Result<HttpResponse, ApiError> {
    authorize(req.headers(), &config)?;
    // A text that cannot be a reference names no payment.
    let reference_id = ReferenceId::parse(&reference_id).map_err(|_| ApiError::NotFound)?;
    let view = use_cases.payment(reference_id).await?.ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(PaymentBody::from(&view)))
}

/// `GET /api/customers/{customer_id}`: the balance and credits (zero and none when unknown).
#[utoipa::path(get, path = "/api/customers/{customer_id}", tag = "admin", params(("customer_id" = String, Path)), responses((status = 200, body = CustomerBody<'_>), (status = 401, description = "Missing or wrong admin token", body = ErrorBody), (status = 503, description = "Storage unavailable", body = ErrorBody)), security(("bearer" = [])))]
#[tracing::instrument(name = "admin_customer", skip_all)]
pub(crate) async fn customer(
    req: HttpRequest,
    customer_id: web::Path<String>,
    use_cases: web::Data<dyn PaymentUseCases>,
    config: web::Data<HttpConfig>,
) -> Result<HttpResponse, ApiError> {
    authorize(req.headers(), &config)?;
    // A text that cannot be a customer id names no customer.
    let customer_id = CustomerId::parse(&customer_id).map_err(|_| ApiError::NotFound)?;
    let view = use_cases.customer(customer_id).await?;
    Ok(HttpResponse::Ok().json(CustomerBody::from(&view)))
}

/// `GET /healthz`: the process answers; no authentication.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = HealthBody)))]
pub(crate) async fn health() -> HttpResponse {
    HttpResponse::Ok().json(HealthBody { status: "ok" })
}

/// Accepts `Authorization: Bearer <admin token>`, compared in constant time. Without a
/// configured (non-empty) token every request is refused.
pub(crate) fn authorize(headers: &HeaderMap, config: &HttpConfig) -> Result<(), ApiError> {
    let expected = config.admin_token.as_ref().map(ExposeSecret::expose_secret);
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token);
    match (expected, presented) {
        (Some(expected), Some(presented))
            if !expected.is_empty() && same_secret(expected, presented) =>
        {
            Ok(())
        }
        _ => {
            tracing::warn!("admin request refused");
            Err(ApiError::Unauthorized)
        }
    }
}

/// The token of a `Bearer` credential (scheme in any case).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Compares digests, so the time taken depends on neither the content nor the length.
fn same_secret(expected: &str, presented: &str) -> bool {
    let expected = Sha256::digest(expected.as_bytes());
    let presented = Sha256::digest(presented.as_bytes());
    expected.ct_eq(&presented).into()
}
