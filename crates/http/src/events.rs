//! The event log in the admin API: list, read one (raw body included), replay one.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use payram_domain::EventOutcome;
use payram_ports::{EventFilter, PaymentUseCases, Queries};

use crate::{
    auth::Admin,
    dto::{ErrorBody, EventDetailBody, EventListBody, ReplayAnswer},
    error::ApiError,
};

/// Query of `GET /api/events`; every parameter is optional.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventQuery {
    outcome: Option<String>,
    reference_id: Option<String>,
    /// RFC 3339, e.g. `2026-11-26T00:00:00Z`.
    since: Option<String>,
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

impl EventQuery {
    fn into_filter(self) -> Result<EventFilter, ApiError> {
        let outcome = self
            .outcome
            .filter(|text| !text.is_empty())
            .map(|text| text.parse::<EventOutcome>())
            .transpose()
            .map_err(|err| bad_request(err.to_string()))?;
        let since = self
            .since
            .filter(|text| !text.is_empty())
            .map(|text| DateTime::parse_from_rfc3339(&text).map(|at| at.with_timezone(&Utc)))
            .transpose()
            .map_err(|err| bad_request(format!("since must be an RFC 3339 time: {err}")))?;
        let limit = self.limit.unwrap_or(EventFilter::DEFAULT_LIMIT);
        if limit == 0 || limit > EventFilter::MAX_LIMIT {
            return Err(bad_request(format!(
                "limit must be between 1 and {}",
                EventFilter::MAX_LIMIT
            )));
        }
        let reference_id = self.reference_id.filter(|text| !text.is_empty());
        let before = crate::lists::id_cursor(self.cursor.as_deref())?;
        Ok(EventFilter { outcome, reference_id, since, limit, before, ..EventFilter::default() })
    }
}

fn bad_request(message: String) -> ApiError {
    ApiError::BadRequest { code: "bad_request", message }
}

/// `GET /api/events?outcome=&reference_id=&since=&limit=`: newest first.
#[utoipa::path(get, path = "/api/events", tag = "admin", params(EventQuery), responses((status = 200, body = EventListBody<'_>), (status = 400, description = "A filter or cursor that cannot be used", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody), (status = 503, description = "Storage unavailable", body = ErrorBody)), security(("bearer" = [])))]
#[tracing::instrument(name = "admin_events", skip_all)]
pub(crate) async fn list(
    _admin: Admin,
    query: web::Query<EventQuery>,
    queries: web::Data<dyn Queries>,
) -> Result<HttpResponse, ApiError> {
    let filter = query.into_inner().into_filter()?;
    let limit = filter.limit;
    let events = queries.events(filter).await?;
    let next_cursor = crate::lists::next_cursor(&events, limit, |last| last.id.to_string());
    Ok(HttpResponse::Ok().json(EventListBody::new(events.as_slice(), next_cursor)))
}

/// `GET /api/events/{id}`: one event, raw body included, or 404.
#[utoipa::path(get, path = "/api/events/{id}", tag = "admin", params(("id" = i64, Path)), responses((status = 200, body = EventDetailBody<'_>), (status = 404, description = "Unknown", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody), (status = 503, description = "Storage unavailable", body = ErrorBody)), security(("bearer" = [])))]
#[tracing::instrument(name = "admin_event", skip_all)]
pub(crate) async fn show(
    _admin: Admin,
    id: web::Path<String>,
    queries: web::Data<dyn Queries>,
) -> Result<HttpResponse, ApiError> {
    let id = id.parse::<i64>().map_err(|_| ApiError::NotFound)?;
    let event = queries.event(id).await?.ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(EventDetailBody::from(&event)))
}

/// `POST /api/events/{id}/replay`: the stored raw body through the live path, recorded as a
/// new event; the answer carries its outcome. 404 for an unknown event.
#[utoipa::path(post, path = "/api/events/{id}/replay", tag = "admin", params(("id" = i64, Path)), responses((status = 200, body = ReplayAnswer<'_>), (status = 404, description = "Unknown", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody), (status = 503, description = "Storage unavailable", body = ErrorBody)), security(("bearer" = [])))]
#[tracing::instrument(name = "admin_replay", skip_all)]
pub(crate) async fn replay(
    _admin: Admin,
    id: web::Path<String>,
    use_cases: web::Data<dyn PaymentUseCases>,
) -> Result<HttpResponse, ApiError> {
    let id = id.parse::<i64>().map_err(|_| ApiError::NotFound)?;
    let receipt = use_cases.replay(id).await?.ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(ReplayAnswer::new(id, &receipt)))
}
