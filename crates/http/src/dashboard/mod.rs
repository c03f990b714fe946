//! The dashboard at `/dashboard`: server-rendered HTML pages (no script, no CDN; the
//! stylesheet is compiled into the binary) over the same query port and use cases as the admin
//! API.
//!
//! Sign-in is a form taking the admin token; it sets a signed, `HttpOnly`, `Secure`,
//! `SameSite=Strict` session cookie ([`session`]). Every action (replay, sign-out) is a POST
//! form carrying the session's CSRF token. Signing out revokes the session in the store
//! ([`SessionRevocations`]), and every request checks that its session was not revoked
//! ([`Queries::is_session_revoked`]), so a copied cookie dies with the sign-out on every
//! receiver sharing the database.
//!
//! All text is escaped by `maud`, and request-derived values are shown through
//! [`pages`]' `visible` (invisible and direction-changing characters made visible) and linked
//! through its `segment` (URL-encoded path segments). Every answer under `/dashboard`, errors
//! and redirects included, carries [`headers`]: a script-free, frame-free
//! `Content-Security-Policy`, `nosniff` and `no-referrer`.

mod pages;
mod session;

use std::{future::Future, pin::Pin, sync::Arc};

use actix_web::{
    HttpRequest, HttpResponse,
    cookie::{Cookie, SameSite, time::Duration as CookieDuration},
    http::header,
    middleware::DefaultHeaders,
    web,
};
use chrono::Utc;
use serde::Deserialize;

use payram_domain::{EventOutcome, ReferenceId};
use payram_ports::{
    EventFilter, OutboxState, OutboxUseCases, PaymentFilter, PaymentUseCases, Queries,
    ServiceError, SessionRevocations,
};

use crate::{HttpConfig, error::ApiError};

/// The policy of every dashboard answer: nothing but the compiled stylesheet and same-origin
/// forms; no script at all (no `script-src`, so `default-src 'none'` forbids every script,
/// inline or foreign), never framed.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
     img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The headers of every answer under `/dashboard` (pages, the sign-in form, errors, redirects,
/// unknown paths); an answer may set its own `Cache-Control` (the stylesheet does).
fn headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::CACHE_CONTROL, "no-store"))
}

/// Registers the dashboard's routes in the `/dashboard` scope, wrapped in [`headers`]. The
/// outbox page and its replay exist when `outbox` does; `sessions` records sign-outs.
pub(crate) fn register(
    cfg: &mut web::ServiceConfig,
    outbox: Option<Arc<dyn OutboxUseCases>>,
    sessions: Arc<dyn SessionRevocations>,
) {
    let mut scope = web::scope("/dashboard").app_data(web::Data::from(sessions));
    if let Some(outbox) = outbox {
        scope = scope.app_data(web::Data::from(outbox));
    }
    let scope = scope
        .route("", web::get().to(overview))
        .route("/style.css", web::get().to(style))
        .route("/login", web::get().to(login_form))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
        .route("/payments/{reference_id}", web::get().to(payment))
        .route("/events", web::get().to(events))
        .route("/events/{id}", web::get().to(event))
        .route("/events/{id}/replay", web::post().to(replay_event))
        .route("/outbox", web::get().to(outbox_page))
        .route("/outbox/{id}/replay", web::post().to(replay_outbox))
        .default_service(web::to(unknown_page));
    cfg.service(scope.wrap(headers()));
}

/// A path under `/dashboard` that is no page.
async fn unknown_page() -> HttpResponse {
    page(actix_web::http::StatusCode::NOT_FOUND, pages::error("No such page."))
}

/// A signed-in request: its verified, unrevoked session.
pub(crate) struct Session(session::Verified);

/// Why a request is not let through.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refused {
    #[error("not signed in to the dashboard")]
    /// No valid session: to the sign-in form.
    SignIn,
    /// An action whose CSRF token does not belong to the session.
    #[error("the form's CSRF token does not belong to the session")]
    StaleForm,
    /// Whether the session was signed out cannot be known now (the cause is logged).
    #[error("the store did not say whether the session was signed out")]
    Unavailable,
}

impl actix_web::ResponseError for Refused {
    fn status_code(&self) -> actix_web::http::StatusCode {
        match self {
            Self::SignIn => actix_web::http::StatusCode::SEE_OTHER,
            Self::StaleForm => actix_web::http::StatusCode::FORBIDDEN,
            Self::Unavailable => actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.answer()
    }
}

/// A page handler's argument: the request's session, or the browser goes to sign in.
impl actix_web::FromRequest for Session {
    type Error = Refused;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Refused>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { session(&req).await })
    }
}

impl Refused {
    fn answer(&self) -> HttpResponse {
        match self {
            Self::SignIn => see_other("/dashboard/login"),
            Self::StaleForm => page(
                actix_web::http::StatusCode::FORBIDDEN,
                pages::error(
                    "This form is stale or was not sent by the dashboard; reload the page.",
                ),
            ),
            Self::Unavailable => page(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                pages::error("The database did not answer; try again in a moment."),
            ),
        }
    }
}

/// The session of a request, if it is signed in: its cookie is signed with the admin token,
/// has not expired, and was not signed out (the store says so).
async fn session(req: &HttpRequest) -> Result<Session, Refused> {
    let config = req.app_data::<web::Data<HttpConfig>>().ok_or(Refused::SignIn)?;
    let token = config.admin_token.as_ref().ok_or(Refused::SignIn)?;
    let cookie = req.cookie(session::COOKIE).ok_or(Refused::SignIn)?;
    let verified = session::verify(token, cookie.value(), Utc::now()).ok_or(Refused::SignIn)?;
    let queries = req.app_data::<web::Data<dyn Queries>>().ok_or(Refused::Unavailable)?;
    match queries.is_session_revoked(verified.digest).await {
        Ok(false) => Ok(Session(verified)),
        Ok(true) => {
            tracing::info!("dashboard session refused: it was signed out");
            Err(Refused::SignIn)
        }
        Err(err) => {
            tracing::error!(error = %payram_ports::ErrorChain(&err), "session check failed");
            Err(Refused::Unavailable)
        }
    }
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
}

/// Every dashboard page: HTML (never cached, never framed, no script: see [`headers`]).
fn page(status: actix_web::http::StatusCode, body: maud::Markup) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(body.into_string())
}

fn ok(body: maud::Markup) -> HttpResponse {
    page(actix_web::http::StatusCode::OK, body)
}

/// A use case or a query failed: the page says so (the cause is logged by [`ApiError`]).
fn failure(err: impl Into<ServiceError>) -> HttpResponse {
    let status = actix_web::ResponseError::status_code(&ApiError::Service(err.into()));
    page(status, pages::error("The database did not answer; try again in a moment."))
}

#[utoipa::path(get, path = "/dashboard/style.css", tag = "dashboard", responses((status = 200, description = "The stylesheet", content_type = "text/css")))]
pub(crate) async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "max-age=3600"))
        .body(pages::STYLE)
}

#[utoipa::path(get, path = "/dashboard/login", tag = "dashboard", responses((status = 200, description = "The sign-in form", content_type = "text/html")))]
pub(crate) async fn login_form(config: web::Data<HttpConfig>) -> HttpResponse {
    ok(pages::login(config.admin_token.is_some(), None))
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    token: String,
}

#[utoipa::path(post, path = "/dashboard/login", tag = "dashboard", request_body(content = String, description = "Form field `token`: the admin token", content_type = "application/x-www-form-urlencoded"), responses((status = 303, description = "Signed in: sets the session cookie"), (status = 401, description = "Wrong token", content_type = "text/html")))]
pub(crate) async fn login(
    req: HttpRequest,
    config: web::Data<HttpConfig>,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    let Some(token) = config.admin_token.as_ref() else {
        return page(
            actix_web::http::StatusCode::UNAUTHORIZED,
            pages::login(false, Some("The dashboard is off: set ADMIN_TOKEN.")),
        );
    };
    if let Err(err) = crate::auth::admit(&req, &config, Some(token), Some(&form.token)) {
        let client = crate::client::client_of(&req);
        tracing::warn!(%client, answer = err.code(), "dashboard sign-in refused");
        return match err {
            crate::error::ApiError::RateLimited(crate::RetryAfter(secs)) => {
                let mut refused = page(
                    actix_web::http::StatusCode::TOO_MANY_REQUESTS,
                    pages::login(
                        true,
                        Some(&format!("Too many failed sign-ins: try again in {secs} s.")),
                    ),
                );
                refused.headers_mut().insert(header::RETRY_AFTER, secs.into());
                refused
            }
            _ => page(
                actix_web::http::StatusCode::UNAUTHORIZED,
                pages::login(true, Some("That is not the admin token.")),
            ),
        };
    }
    let Ok(value) = session::issue(token, Utc::now()) else {
        tracing::error!("dashboard sign-in failed: no randomness for the session id");
        return page(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            pages::error("The server cannot start a session now; try again in a moment."),
        );
    };
    let cookie = Cookie::build(session::COOKIE, value)
        .path("/dashboard")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::seconds(session::LIFETIME_SECS))
        .finish();
    HttpResponse::SeeOther().insert_header((header::LOCATION, "/dashboard")).cookie(cookie).finish()
}

#[derive(Deserialize)]
pub(crate) struct ActionForm {
    csrf: String,
}

/// Checks the session and the form's CSRF token of an action; the session when they hold.
async fn action(
    req: &HttpRequest,
    config: &HttpConfig,
    form: &ActionForm,
) -> Result<session::Verified, Refused> {
    let Session(verified) = session(req).await?;
    let token = config.admin_token.as_ref().ok_or(Refused::SignIn)?;
    if session::csrf_matches(token, &verified.value, &form.csrf) {
        Ok(verified)
    } else {
        tracing::warn!("dashboard action refused: CSRF token does not match the session");
        Err(Refused::StaleForm)
    }
}

#[utoipa::path(post, path = "/dashboard/logout", tag = "dashboard", responses((status = 303, description = "Done: to the resulting page"), (status = 403, description = "CSRF token does not match the session", content_type = "text/html")))]
pub(crate) async fn logout(
    req: HttpRequest,
    config: web::Data<HttpConfig>,
    form: web::Form<ActionForm>,
    sessions: web::Data<dyn SessionRevocations>,
) -> HttpResponse {
    let verified = match action(&req, &config, &form).await {
        Ok(verified) => verified,
        Err(refused) => return refused.answer(),
    };
    // Recorded before the cookie is dropped: a copy of the cookie dies here too.
    if let Err(err) =
        sessions.revoke_session(verified.digest, verified.expires_at, Utc::now()).await
    {
        tracing::error!(error = %payram_ports::ErrorChain(&err), "dashboard sign-out not recorded");
        return page(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            pages::error("Signing out failed: the database did not answer; try again."),
        );
    }
    tracing::info!("dashboard session signed out");
    let mut gone = Cookie::build(session::COOKIE, "").path("/dashboard").finish();
    gone.make_removal();
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/dashboard/login"))
        .cookie(gone)
        .finish()
}

/// The signed-in session's CSRF token, for the page's forms.
fn csrf(config: &HttpConfig, session: &Session) -> String {
    config
        .admin_token
        .as_ref()
        .map(|token| session::csrf(token, &session.0.value))
        .unwrap_or_default()
}

#[utoipa::path(get, path = "/dashboard", tag = "dashboard", responses((status = 200, description = "HTML page", content_type = "text/html"), (status = 303, description = "Not signed in: to /dashboard/login")))]
pub(crate) async fn overview(
    session: Session,
    config: web::Data<HttpConfig>,
    queries: web::Data<dyn Queries>,
) -> HttpResponse {
    let payments = queries.payments(PaymentFilter { limit: 50, ..PaymentFilter::default() });
    let customers = queries.customers(None, 50);
    let stats = queries.stats();
    let mut attention = Vec::new();
    for outcome in [EventOutcome::Dead, EventOutcome::Failed, EventOutcome::Waiting] {
        let filter = EventFilter { outcome: Some(outcome), limit: 20, ..EventFilter::default() };
        match queries.events(filter).await {
            Ok(events) => attention.extend(events),
            Err(err) => return failure(err),
        }
    }
    match (payments.await, customers.await, stats.await) {
        (Ok(payments), Ok(customers), Ok(stats)) => {
            ok(pages::overview(&csrf(&config, &session), &stats, &attention, &payments, &customers))
        }
        (Err(err), _, _) | (_, Err(err), _) | (_, _, Err(err)) => failure(err),
    }
}

#[utoipa::path(get, path = "/dashboard/payments/{reference_id}", tag = "dashboard", params(("reference_id" = String, Path)), responses((status = 200, description = "HTML page", content_type = "text/html"), (status = 303, description = "Not signed in: to /dashboard/login")))]
pub(crate) async fn payment(
    session: Session,
    reference_id: web::Path<String>,
    config: web::Data<HttpConfig>,
    queries: web::Data<dyn Queries>,
) -> HttpResponse {
    let Ok(reference_id) = ReferenceId::parse(&reference_id) else {
        return page(actix_web::http::StatusCode::NOT_FOUND, pages::error("No such payment."));
    };
    match queries.payment(&reference_id).await {
        Ok(Some(view)) => ok(pages::payment(&csrf(&config, &session), &view)),
        Ok(None) => page(actix_web::http::StatusCode::NOT_FOUND, pages::error("No such payment.")),
        Err(err) => failure(err),
    }
}

#[derive(Deserialize)]
pub(crate) struct EventsQuery {
    outcome: Option<String>,
}

#[utoipa::path(get, path = "/dashboard/events", tag = "dashboard", params(("outcome" = Option<String>, Query)), responses((status = 200, description = "HTML page", content_type = "text/html"), (status = 303, description = "Not signed in: to /dashboard/login")))]
pub(crate) async fn events(
    session: Session,
    query: web::Query<EventsQuery>,
    config: web::Data<HttpConfig>,
    queries: web::Data<dyn Queries>,
) -> HttpResponse {
    let outcome = query.outcome.as_deref().and_then(|text| text.parse::<EventOutcome>().ok());
    let filter = EventFilter { outcome, limit: 200, ..EventFilter::default() };
    match queries.events(filter).await {
        Ok(events) => ok(pages::events(&csrf(&config, &session), outcome, &events)),
        Err(err) => failure(err),
    }
}

#[derive(Deserialize)]
pub(crate) struct EventQuery {
    /// The outcome of a replay just made, shown as a banner.
    replayed: Option<String>,
}

#[utoipa::path(get, path = "/dashboard/events/{id}", tag = "dashboard", params(("id" = i64, Path)), responses((status = 200, description = "HTML page", content_type = "text/html"), (status = 303, description = "Not signed in: to /dashboard/login")))]
pub(crate) async fn event(
    session: Session,
    id: web::Path<String>,
    query: web::Query<EventQuery>,
    config: web::Data<HttpConfig>,
    queries: web::Data<dyn Queries>,
) -> HttpResponse {
    let not_found = || page(actix_web::http::StatusCode::NOT_FOUND, pages::error("No such event."));
    let Ok(id) = id.parse::<i64>() else { return not_found() };
    let replayed = query.replayed.as_deref().and_then(|text| text.parse::<EventOutcome>().ok());
    match queries.event(id).await {
        Ok(Some(event)) => ok(pages::event(&csrf(&config, &session), &event, replayed)),
        Ok(None) => not_found(),
        Err(err) => failure(err),
    }
}

#[utoipa::path(post, path = "/dashboard/events/{id}/replay", tag = "dashboard", params(("id" = i64, Path)), responses((status = 303, description = "Done: to the resulting page"), (status = 403, description = "CSRF token does not match the session", content_type = "text/html")))]
pub(crate) async fn replay_event(
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<ActionForm>,
    config: web::Data<HttpConfig>,
    use_cases: web::Data<dyn PaymentUseCases>,
) -> HttpResponse {
    if let Err(refused) = action(&req, &config, &form).await {
        return refused.answer();
    }
    let Ok(id) = id.parse::<i64>() else {
        return page(actix_web::http::StatusCode::NOT_FOUND, pages::error("No such event."));
    };
    match use_cases.replay(id).await {
        Ok(Some(receipt)) => {
            tracing::info!(event_id = id, new_event_id = receipt.event_id,
                outcome = %receipt.outcome, "event replayed from the dashboard");
            see_other(&format!(
                "/dashboard/events/{}?replayed={}",
                receipt.event_id,
                receipt.outcome.as_str()
            ))
        }
        Ok(None) => page(actix_web::http::StatusCode::NOT_FOUND, pages::error("No such event.")),
        Err(err) => failure(err),
    }
}

#[derive(Deserialize)]
pub(crate) struct OutboxQuery {
    state: Option<String>,
}

#[utoipa::path(get, path = "/dashboard/outbox", tag = "dashboard", params(("state" = Option<String>, Query)), responses((status = 200, description = "HTML page", content_type = "text/html"), (status = 303, description = "Not signed in: to /dashboard/login")))]
pub(crate) async fn outbox_page(
    session: Session,
    query: web::Query<OutboxQuery>,
    config: web::Data<HttpConfig>,
    queries: web::Data<dyn Queries>,
    outbox: Option<web::Data<dyn OutboxUseCases>>,
) -> HttpResponse {
    let state = query.state.as_deref().and_then(|text| text.parse::<OutboxState>().ok());
    // The outbox is listed only while forwarding is on (its use cases are registered).
    let entries = match &outbox {
        None => None,
        Some(_) => match queries.outbox(state, 200).await {
            Ok(entries) => Some(entries),
            Err(err) => return failure(err),
        },
    };
    ok(pages::outbox(&csrf(&config, &session), state, entries.as_deref()))
}

#[utoipa::path(post, path = "/dashboard/outbox/{id}/replay", tag = "dashboard", params(("id" = i64, Path)), responses((status = 303, description = "Done: to the resulting page"), (status = 403, description = "CSRF token does not match the session", content_type = "text/html")))]
pub(crate) async fn replay_outbox(
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<ActionForm>,
    config: web::Data<HttpConfig>,
    outbox: Option<web::Data<dyn OutboxUseCases>>,
) -> HttpResponse {
    if let Err(refused) = action(&req, &config, &form).await {
        return refused.answer();
    }
    let (Some(outbox), Ok(id)) = (outbox, id.parse::<i64>()) else {
        return page(actix_web::http::StatusCode::NOT_FOUND, pages::error("No such entry."));
    };
    match outbox.replay(id).await {
        Ok(Some(_)) => see_other("/dashboard/outbox"),
        Ok(None) => page(actix_web::http::StatusCode::NOT_FOUND, pages::error("No such entry.")),
        Err(err) => failure(err),
    }
}
