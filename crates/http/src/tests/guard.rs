//! The guard and the limits on guessing, over `actix_web::test` with mocked ports: allow-lists,
//! the client behind a trusted proxy, the head limit, keep-alive only after authentication,
//! and 429 after too many failures.

use std::{net::SocketAddr, time::Duration};

use actix_web::{
    App,
    http::{ConnectionType, StatusCode},
    middleware::from_fn,
    test::{self, TestRequest},
};

use payram_protocol::sign;

use super::{ADMIN_TOKEN, KEY, Mocks, config, read, untouched_queries};
use crate::{Guard, Guessing, HttpConfig};

const FILLED: &str = r#"{"reference_id":"ref-1","status":"OPEN","customer_id":"cust-1"}"#;

fn guard() -> Guard {
    Guard {
        webhook_path: "/webhook".to_owned(),
        allowed_ips: Some("198.51.100.0/24".parse().unwrap()),
        admin_allowed_ips: Some("192.0.2.0/24".parse().unwrap()),
        trusted_proxies: "127.0.0.1".parse().unwrap(),
        body_timeout: Duration::from_secs(10),
    }
}

fn from(peer: &str) -> SocketAddr {
    format!("{peer}:40000").parse().unwrap()
}

/// Sends `req` through the guard around every route with `mocks` and `config`: the status,
/// whether the connection stays open, and the JSON answer.
async fn call(
    mocks: Mocks,
    config: HttpConfig,
    guard: Guard,
    req: TestRequest,
) -> (StatusCode, bool, serde_json::Value) {
    let app = test::init_service(
        App::new().wrap(from_fn(guard.middleware())).configure(mocks.configure(config)),
    )
    .await;
    let res = test::call_service(&app, req.to_request()).await;
    let kept = res.response().head().connection_type() != ConnectionType::Close;
    let answer = read(res).await;
    (answer.status, kept, answer.json)
}

fn forged(peer: &str) -> TestRequest {
    TestRequest::post()
        .uri("/webhook")
        .peer_addr(from(peer))
        .insert_header(("X-Payram-Signature", sign(b"not-the-key", FILLED.as_bytes())))
        .set_payload(FILLED)
}

#[actix_web::test]
async fn an_address_outside_the_lists_is_refused_before_anything_is_read() {
    let req = forged("203.0.113.5");
    let (status, kept, json) = call(Mocks::untouched(), config(), guard(), req).await;
    assert_eq!((status, json["error"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    assert!(!kept, "a refused connection is closed");
    // The admin side has its own list: the right token does not help.
    let admin = TestRequest::get()
        .uri("/api/payments")
        .peer_addr(from("198.51.100.7"))
        .insert_header(("Authorization", format!("Bearer {ADMIN_TOKEN}")));
    let (status, _, _) = call(Mocks::untouched(), config(), guard(), admin).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Health is not behind either list.
    let health = TestRequest::get().uri("/healthz").peer_addr(from("203.0.113.5"));
    let (status, kept, _) = call(Mocks::untouched(), config(), guard(), health).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!kept, "an unauthenticated answer closes its connection");
}

#[actix_web::test]
async fn the_client_behind_a_trusted_proxy_is_checked_and_spoofing_is_ignored() {
    let spoofed = forged("203.0.113.5").insert_header(("X-Forwarded-For", "198.51.100.7"));
    let (status, _, _) = call(Mocks::untouched(), config(), guard(), spoofed).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an untrusted peer's header is ignored");
    let proxied = forged("127.0.0.1").insert_header(("X-Forwarded-For", "198.51.100.7"));
    let (status, kept, json) = call(Mocks::untouched(), config(), guard(), proxied).await;
    assert_eq!((status, json["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
    assert!(!kept);
}

#[actix_web::test]
async fn an_authenticated_webhook_keeps_its_connection() {
    let mut use_cases = payram_ports::MockPaymentUseCases::new();
    use_cases.expect_receive().returning(|_| {
        Ok(payram_ports::Receipt {
            event_id: 1,
            outcome: payram_domain::EventOutcome::Applied,
            reference_id: Some(payram_domain::ReferenceId::parse("ref-1").unwrap()),
            payout_id: None,
            status: Some("OPEN".to_owned()),
            credited: payram_domain::Amount::ZERO,
            message: None,
        })
    });
    let mocks = Mocks { use_cases, queries: untouched_queries() };
    let req = TestRequest::post()
        .uri("/webhook")
        .peer_addr(from("198.51.100.7"))
        .insert_header(("X-Payram-Signature", sign(KEY.as_bytes(), FILLED.as_bytes())))
        .set_payload(FILLED);
    let (status, kept, _) = call(mocks, config(), guard(), req).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kept);
}

#[actix_web::test]
async fn a_head_over_16_kib_is_refused_with_431() {
    let open = Guard { allowed_ips: None, ..guard() };
    let req = forged("198.51.100.7").insert_header(("X-Padding", "x".repeat(17 * 1024)));
    let (status, kept, json) = call(Mocks::untouched(), config(), open, req).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, Some("request_header_too_large"))
    );
    assert!(!kept);
}

#[actix_web::test]
async fn failures_beyond_the_limit_get_429_per_address() {
    let config = HttpConfig { guessing: Guessing::per_minute(2), ..config() };
    let open = Guard { allowed_ips: None, ..guard() };
    let app = test::init_service(
        App::new().wrap(from_fn(open.middleware())).configure(Mocks::untouched().configure(config)),
    )
    .await;
    for expected in [401, 401, 429, 429] {
        let res = test::call_service(&app, forged("203.0.113.5").to_request()).await;
        assert_eq!(res.status().as_u16(), expected);
        if expected == 429 {
            let retry_after = res.headers().get("retry-after").unwrap().to_str().unwrap();
            assert_eq!(retry_after, "30", "two a minute: one refills in 30 s");
        }
    }
    let other = test::call_service(&app, forged("203.0.113.6").to_request()).await;
    assert_eq!(other.status().as_u16(), 401, "another address has its own budget");
}
