//! The outbox of forwarded credits in the admin API: list by state, replay one. Its routes match
//! only when [`crate::configure_outbox`] registered the outbox use cases (credit forwarding is
//! on); otherwise their paths answer the JSON 404.

use actix_web::{HttpResponse, guard, web};
use serde::{Deserialize, Serialize};

use payram_ports::{EventFilter, OutboxEntry, OutboxState, OutboxUseCases, Queries, ServiceError};

use crate::{
    auth::Admin,
    dto::{ErrorBody, rfc3339},
    error::ApiError,
};

/// Query of `GET /api/outbox`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct OutboxQuery {
    state: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/outbox?state=pending|delivered|dead&limit=`: newest first.
#[utoipa::path(get, path = "/api/outbox", tag = "admin", params(OutboxQuery), responses((status = 200, body = OutboxListBody<'_>), (status = 400, description = "A filter or cursor that cannot be used", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody), (status = 503, description = "Storage unavailable", body = ErrorBody)), security(("bearer" = [])))]
#[tracing::instrument(name = "admin_outbox", skip_all)]
pub(crate) async fn list(
    _admin: Admin,
    query: web::Query<OutboxQuery>,
    queries: web::Data<dyn Queries>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let state = query
        .state
        .filter(|text| !text.is_empty())
        .map(|text| text.parse::<OutboxState>())
        .transpose()
        .map_err(|err| ApiError::BadRequest { code: "bad_request", message: err.to_string() })?;
    let limit = query.limit.unwrap_or(EventFilter::DEFAULT_LIMIT);
    if limit == 0 || limit > EventFilter::MAX_LIMIT {
        let message = format!("limit must be between 1 and {}", EventFilter::MAX_LIMIT);
        return Err(ApiError::BadRequest { code: "bad_request", message });
    }
    let entries = queries.outbox(state, limit).await?;
    Ok(HttpResponse::Ok()
        .json(OutboxListBody { outbox: entries.iter().map(OutboxEntryBody::from).collect() }))
}

/// `POST /api/outbox/{id}/replay`: delivers the entry now; the entry after the attempt.
#[utoipa::path(post, path = "/api/outbox/{id}/replay", tag = "admin", params(("id" = i64, Path)), responses((status = 200, body = OutboxEntryBody<'_>), (status = 404, description = "Unknown", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody), (status = 503, description = "Storage unavailable", body = ErrorBody)), security(("bearer" = [])))]
#[tracing::instrument(name = "admin_outbox_replay", skip_all)]
pub(crate) async fn replay(
    _admin: Admin,
    id: web::Path<String>,
    outbox: web::Data<dyn OutboxUseCases>,
) -> Result<HttpResponse, ApiError> {
    let id = id.parse::<i64>().map_err(|_| ApiError::NotFound)?;
    let entry = outbox.replay(id).await.map_err(ServiceError::from)?.ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(OutboxEntryBody::from(&entry)))
}

/// Registers the outbox routes in the `/api` scope. They match only while forwarding is on.
pub(crate) fn register(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/outbox")
            .guard(guard::fn_guard(forwarding))
            .route(web::get().to(list))
            .default_service(web::to(|| async { crate::method_not_allowed("GET") })),
    )
    .service(
        web::resource("/outbox/{id}/replay")
            .guard(guard::fn_guard(forwarding))
            .route(web::post().to(replay))
            .default_service(web::to(|| async { crate::method_not_allowed("POST") })),
    );
}

/// Whether [`crate::configure_outbox`] registered the outbox use cases (forwarding is on).
fn forwarding(ctx: &guard::GuardContext<'_>) -> bool {
    ctx.app_data::<web::Data<dyn OutboxUseCases>>().is_some()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct OutboxListBody<'a> {
    outbox: Vec<OutboxEntryBody<'a>>,
}

/// One entry: the credit forwarded and its delivery state. Amounts are exact decimal strings.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct OutboxEntryBody<'a> {
    id: i64,
    webhook_id: String,
    state: &'static str,
    attempts: u32,
    next_attempt_at: Option<String>,
    last_error: Option<&'a str>,
    created_at: String,
    delivered_at: Option<String>,
    credit_id: i64,
    customer_id: &'a str,
    reference_id: &'a str,
    amount_usd: String,
    credited_total_usd: String,
    status: &'static str,
}

impl<'a> From<&'a OutboxEntry> for OutboxEntryBody<'a> {
    fn from(entry: &'a OutboxEntry) -> Self {
        let credit = &entry.credit;
        Self {
            id: entry.id,
            webhook_id: credit.webhook_id(),
            state: entry.state.as_str(),
            attempts: entry.attempts,
            next_attempt_at: entry.next_attempt_at.map(rfc3339),
            last_error: entry.last_error.as_deref(),
            created_at: rfc3339(entry.created_at),
            delivered_at: entry.delivered_at.map(rfc3339),
            credit_id: credit.id,
            customer_id: credit.customer_id.as_str(),
            reference_id: credit.reference_id.as_str(),
            amount_usd: credit.amount_usd.to_string(),
            credited_total_usd: credit.credited_total_usd.to_string(),
            status: credit.status.as_str(),
        }
    }
}
