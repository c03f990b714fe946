//! The OpenAPI document: 3.1, describing exactly the routes the server registers, each of
//! which answers. (That real answers validate against it is checked end to end, on the binary:
//! `tests/e2e/openapi.rs`.)

use std::{collections::BTreeSet, sync::Arc};

use actix_web::{
    App,
    http::StatusCode,
    test::{self, TestRequest},
};
use serde_json::Value;
use utoipa::OpenApi;

use payram_ports::{MockOutboxUseCases, MockQueries, Stats};

use super::{Mocks, config};
use crate::{
    Metrics, ROUTES, Readiness, configure_dashboard, configure_metrics, configure_outbox,
    configure_readiness, openapi::ApiDoc,
};

fn document() -> Value {
    serde_json::from_str(&ApiDoc::openapi().to_json().unwrap()).unwrap()
}

#[test]
fn the_document_is_openapi_3_1_and_describes_exactly_the_registered_routes() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                documented.insert((method.clone(), path.clone()));
            }
        }
    }
    let registered: BTreeSet<(String, String)> =
        ROUTES.iter().map(|(method, path)| ((*method).to_owned(), (*path).to_owned())).collect();
    assert_eq!(documented, registered);
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    for schema in ["PaymentBody", "EventDetailBody", "ErrorBody", "WebhookAnswer", "ReadyBody"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema} is described");
    }
}

#[actix_web::test]
async fn every_listed_route_is_registered() {
    let mut queries = MockQueries::new();
    queries.expect_stats().returning(|| Ok(Stats::default()));
    queries.expect_ping().returning(|| Ok(()));
    let app = test::init_service(
        App::new()
            .configure(Mocks::with_queries(queries).configure(config()))
            .configure(configure_outbox(Arc::new(MockOutboxUseCases::new())))
            .configure(configure_metrics(Arc::new(Metrics::new())))
            .configure(configure_readiness(Readiness::default()))
            .configure(configure_dashboard(None, super::untouched_sessions())),
    )
    .await;
    for (method, path) in ROUTES {
        let uri = path
            .replace("{reference_id}", "ref-1")
            .replace("{customer_id}", "c")
            .replace("{id}", "1");
        let req = match *method {
            "get" => TestRequest::get(),
            _ => TestRequest::post(),
        }
        .uri(&uri)
        .to_request();
        let res = test::call_service(&app, req).await;
        let status = res.status();
        let body = test::read_body(res).await;
        let fallback =
            status == StatusCode::NOT_FOUND && body.as_ref() == br#"{"error":"not_found"}"#;
        assert!(!fallback && status != StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}: {status}");
    }
}

/// The paths the source registers (`web::resource("...")`, `.route("...", ...)`), read from the
/// files that register routes, so that a route added there without an entry in `ROUTES` (and
/// so in the document) fails this test.
#[test]
fn every_path_the_source_registers_is_listed() {
    let mut registered = BTreeSet::new();
    let listed: BTreeSet<String> = ROUTES
        .iter()
        .map(|(_, path)| (*path).to_owned())
        .filter(|path| path != "/webhook") // registered under the configurable WEBHOOK_PATH
        .collect();
    // A path inside a scope is written relative to it: each file with the scopes its paths
    // may be in, tried in this order.
    let files: [(&str, &[&str]); 3] = [
        ("src/lib.rs", &["", "/api"]),
        ("src/outbox.rs", &["/api"]),
        ("src/dashboard/mod.rs", &["/dashboard"]),
    ];
    for (file, scopes) in files {
        let source =
            std::fs::read_to_string(format!("{}/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        for scope in scopes.iter().filter(|scope| !scope.is_empty()) {
            let declared = source.contains(&format!("web::scope(\"{scope}\")"))
                || source.contains("in the `/api` scope");
            assert!(declared, "{file} registers in {scope}");
        }
        for marker in ["web::resource(\"", ".route(\""] {
            for piece in source.split(marker).skip(1) {
                let path = piece.split('"').next().unwrap();
                let full = scopes
                    .iter()
                    .map(|scope| format!("{scope}{path}"))
                    .find(|full| listed.contains(full))
                    .unwrap_or_else(|| path.to_owned());
                registered.insert(full);
            }
        }
    }
    assert!(registered.len() > 20, "the scan finds the registrations: {registered:?}");
    assert_eq!(registered, listed);
}
