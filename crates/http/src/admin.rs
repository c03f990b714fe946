//! The admin read API (bearer token) and the health check.

use actix_web::{HttpResponse, web};

use payram_domain::{CustomerId, ReferenceId};
use payram_ports::Queries;

use crate::{
    auth::Admin,
    dto::{CustomerBody, ErrorBody, HealthBody, PaymentBody},
    error::ApiError,
};

/// `GET /api/payments/{reference_id}`: the payment and its events, or 404.
#[utoipa::path(get, path = "/api/payments/{reference_id}", tag = "admin", params(("reference_id" = String, Path, description = "PayRam reference")), responses((status = 200, body = PaymentBody<'_>), (status = 404, description = "Unknown", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody), (status = 503, description = "Storage unavailable", body = ErrorBody)), security(("bearer" = [])))]
#[tracing::instrument(name = "admin_payment", skip_all)]
pub(crate) async fn payment(
    _admin: Admin,
    reference_id: web::Path<String>,
    queries: web::Data<dyn Queries>,
) -> Result<HttpResponse, ApiError> {
    // A text that cannot be a reference names no payment.
    let reference_id = ReferenceId::parse(&reference_id).map_err(|_| ApiError::NotFound)?;
    let view = queries.payment(&reference_id).await?.ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(PaymentBody::from(&view)))
}

/// `GET /api/customers/{customer_id}`: the balance and credits (zero and none when unknown).
#[utoipa::path(get, path = "/api/customers/{customer_id}", tag = "admin", params(("customer_id" = String, Path)), responses((status = 200, body = CustomerBody<'_>), (status = 401, description = "Missing or wrong admin token", body = ErrorBody), (status = 503, description = "Storage unavailable", body = ErrorBody)), security(("bearer" = [])))]
#[tracing::instrument(name = "admin_customer", skip_all)]
pub(crate) async fn customer(
    _admin: Admin,
    customer_id: web::Path<String>,
    queries: web::Data<dyn Queries>,
) -> Result<HttpResponse, ApiError> {
    // A text that cannot be a customer id names no customer.
    let customer_id = CustomerId::parse(&customer_id).map_err(|_| ApiError::NotFound)?;
    let view = queries.customer(&customer_id).await?;
    Ok(HttpResponse::Ok().json(CustomerBody::from(&view)))
}

/// `GET /healthz`: the process answers; no authentication.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = HealthBody)))]
pub(crate) async fn health() -> HttpResponse {
    HttpResponse::Ok().json(HealthBody { status: "ok" })
}
