//! The OpenAPI 3.1 document of every route: the webhook, the admin API, health and metrics,
//! and the dashboard's pages, generated
//! from the handlers' and DTOs' annotations (`utoipa`) and served at `GET /api/openapi.json`.

use actix_web::HttpResponse;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{Http, HttpAuthScheme, SecurityScheme},
};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "payram-merchant",
        description = "Receives PayRam payment webhooks and credits customers exactly once. \
                       The admin API needs `Authorization: Bearer <ADMIN_TOKEN>`; amounts are \
                       exact decimal strings."
    ),
    paths(
        crate::webhook::receive,
        crate::admin::payment,
        crate::admin::customer,
        crate::admin::health,
        crate::events::list,
        crate::events::show,
        crate::events::replay,
        crate::lists::payments,
        crate::lists::customers,
        crate::lists::credits,
        crate::lists::keys,
        crate::outbox::list,
        crate::outbox::replay,
        crate::metrics::scrape,
        crate::metrics::ready,
        document,
        crate::dashboard::overview,
        crate::dashboard::style,
        crate::dashboard::login_form,
        crate::dashboard::login,
        crate::dashboard::logout,
        crate::dashboard::payment,
        crate::dashboard::events,
        crate::dashboard::event,
        crate::dashboard::replay_event,
        crate::dashboard::outbox_page,
        crate::dashboard::replay_outbox,
    ),
    modifiers(&BearerToken),
    tags(
        (name = "webhook", description = "What PayRam calls"),
        (name = "admin", description = "The admin API (bearer token)"),
        (name = "health", description = "Liveness, readiness, metrics and this document (no authentication)"),
        (name = "dashboard", description = "The HTML dashboard for people (session cookie and CSRF token)"),
    )
)]
pub(crate) struct ApiDoc;

/// Declares the `bearer` security scheme the admin routes name.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// `GET /api/openapi.json`: this document (no authentication: it holds no data).
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "health",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json"))
)]
pub(crate) async fn document() -> HttpResponse {
    match ApiDoc::openapi().to_json() {
        Ok(json) => HttpResponse::Ok().content_type("application/json").body(json),
        Err(err) => {
            tracing::error!(error = %err, "the OpenAPI document could not be rendered");
            HttpResponse::InternalServerError()
                .content_type("application/json")
                .body(r#"{"error":"internal"}"#)
        }
    }
}
