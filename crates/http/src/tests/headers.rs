//! The headers of whole scopes: every answer under `/dashboard` (pages, the sign-in form,
//! redirects, errors, unknown paths) is script-free, frame-free, never sniffed and sends no
//! referrer; every answer under `/api` (errors included) is never sniffed and never cached.

use actix_web::{
    App,
    dev::ServiceResponse,
    http::{StatusCode, header},
    test::{self, TestRequest},
};

use payram_ports::{MockQueries, PaymentItem};

use super::{ADMIN_TOKEN, Mocks, config, untouched_sessions};
use crate::configure_dashboard;

fn header_of<B>(res: &ServiceResponse<B>, name: &header::HeaderName) -> String {
    let Some(value) = res.headers().get(name) else {
        panic!("{} has no {name}", res.request().path())
    };
    value.to_str().unwrap().to_owned()
}

fn assert_dashboard_headers<B>(res: &ServiceResponse<B>) {
    let what = format!("{} {}", res.request().method(), res.request().path());
    let csp = header_of(res, &header::CONTENT_SECURITY_POLICY);
    assert!(csp.contains("default-src 'none'"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(!csp.contains("script-src"), "{what}: no script source at all: {csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("http"), "{what}: {csp}");
    assert_eq!(header_of(res, &header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{what}");
    assert_eq!(header_of(res, &header::REFERRER_POLICY), "no-referrer", "{what}");
}

#[actix_web::test]
async fn every_dashboard_answer_has_the_security_headers() {
    let mut mocks = Mocks::untouched();
    mocks.queries.expect_is_session_revoked().returning(|_| Ok(false));
    let app = test::init_service(
        App::new()
            .configure(mocks.configure(config()))
            .configure(configure_dashboard(None, untouched_sessions())),
    )
    .await;
    let login = TestRequest::post().uri("/dashboard/login").set_form([("token", ADMIN_TOKEN)]);
    let res = test::call_service(&app, login.to_request()).await;
    assert_dashboard_headers(&res);
    let cookie = res.headers().get(header::SET_COOKIE).unwrap().to_str().unwrap().to_owned();
    let cookie = cookie.split(';').next().unwrap().to_owned();

    let cases = [
        (TestRequest::get().uri("/dashboard/login"), StatusCode::OK),
        (TestRequest::get().uri("/dashboard"), StatusCode::SEE_OTHER),
        (TestRequest::get().uri("/dashboard/events/7"), StatusCode::SEE_OTHER),
        (TestRequest::get().uri("/dashboard/style.css"), StatusCode::OK),
        (TestRequest::get().uri("/dashboard/no-such-page"), StatusCode::NOT_FOUND),
        (TestRequest::put().uri("/dashboard/login"), StatusCode::NOT_FOUND),
        (
            TestRequest::post().uri("/dashboard/login").set_form([("token", "guess")]),
            StatusCode::UNAUTHORIZED,
        ),
        (
            TestRequest::get()
                .uri("/dashboard/outbox")
                .insert_header((header::COOKIE, cookie.clone())),
            StatusCode::OK,
        ),
        (
            TestRequest::get()
                .uri("/dashboard/events/not-a-number")
                .insert_header((header::COOKIE, cookie.clone())),
            StatusCode::NOT_FOUND,
        ),
        (
            TestRequest::post()
                .uri("/dashboard/logout")
                .insert_header((header::COOKIE, cookie.clone()))
                .set_form([("csrf", "stale")]),
            StatusCode::FORBIDDEN,
        ),
    ];
    for (req, status) in cases {
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(res.status(), status, "{}", res.request().path());
        assert_dashboard_headers(&res);
        if res.request().path() != "/dashboard/style.css" {
            assert_eq!(header_of(&res, &header::CACHE_CONTROL), "no-store");
        }
    }
}

#[actix_web::test]
async fn every_admin_api_answer_is_never_sniffed_nor_cached() {
    let mut queries = MockQueries::new();
    queries.expect_payments().returning(|_| Ok(Vec::<PaymentItem>::new()));
    let app =
        test::init_service(App::new().configure(Mocks::with_queries(queries).configure(config())))
            .await;
    let cases = [
        (TestRequest::get().uri("/api/payments").insert_header(bearer()), StatusCode::OK),
        (TestRequest::get().uri("/api/payments"), StatusCode::UNAUTHORIZED),
        (
            TestRequest::get().uri("/api/customers").insert_header(("Authorization", "Bearer no")),
            StatusCode::UNAUTHORIZED,
        ),
        (TestRequest::get().uri("/api/no-such-thing"), StatusCode::NOT_FOUND),
        (TestRequest::get().uri("/api"), StatusCode::NOT_FOUND),
        (TestRequest::get().uri("/api/outbox").insert_header(bearer()), StatusCode::NOT_FOUND),
        (TestRequest::delete().uri("/api/payments"), StatusCode::METHOD_NOT_ALLOWED),
        (
            TestRequest::get().uri("/api/payments?limit=0").insert_header(bearer()),
            StatusCode::BAD_REQUEST,
        ),
        (TestRequest::get().uri("/api/openapi.json"), StatusCode::OK),
    ];
    for (req, status) in cases {
        let res = test::call_service(&app, req.to_request()).await;
        let path = res.request().path().to_owned();
        assert_eq!(res.status(), status, "{path}");
        assert_eq!(header_of(&res, &header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{path}");
        assert_eq!(header_of(&res, &header::CACHE_CONTROL), "no-store", "{path}");
    }
    // Outside the admin API nothing changes.
    let res = test::call_service(&app, TestRequest::get().uri("/healthz").to_request()).await;
    assert!(res.headers().get(header::CACHE_CONTROL).is_none());
}

fn bearer() -> (header::HeaderName, String) {
    (header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
}
