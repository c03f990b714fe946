//! The dashboard over `actix_web::test`: sign-in sets a hardened session cookie, pages need it,
//! actions need its CSRF token, and every value is escaped.

use actix_web::{
    App,
    body::MessageBody,
    dev::{Service, ServiceResponse},
    http::{StatusCode, header},
    test::{self, TestRequest},
};
use chrono::{TimeZone, Utc};
use secrecy::SecretString;

use payram_domain::{
    Amount, AuthMethod, CustomerId, EventOutcome, Payment, PaymentRecord, PaymentStatus,
    ReferenceId,
};
use payram_ports::{
    CustomerBalance, EventRecord, MockPaymentUseCases, MockQueries, Origin, PaymentItem, Receipt,
    Stats,
};

use super::{ADMIN_TOKEN, Mocks, config};
use crate::{HttpConfig, configure_dashboard};

async fn app(
    mocks: Mocks,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    test::init_service(
        App::new().configure(mocks.configure(config())).configure(configure_dashboard(None)),
    )
    .await
}

async fn text(res: ServiceResponse<impl MessageBody>) -> String {
    String::from_utf8(test::read_body(res).await.to_vec()).unwrap()
}

/// Signs in and returns the session cookie (`name=value`).
async fn sign_in(
    app: &impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
) -> String {
    let req =
        TestRequest::post().uri("/dashboard/login").set_form([("token", ADMIN_TOKEN)]).to_request();
    let res = test::call_service(app, req).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = res.headers().get(header::SET_COOKIE).unwrap().to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/dashboard"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains(ADMIN_TOKEN), "the token is never the cookie");
    cookie.split(';').next().unwrap().to_owned()
}

fn at() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 1, 2, 3).unwrap()
}

fn failed_event() -> EventRecord {
    EventRecord {
        id: 7,
        received_at: at(),
        origin: Origin::Webhook,
        method: "POST".into(),
        auth: AuthMethod::Signature { key_index: 1 },
        reference_id: Some("ref-1".into()),
        payout_id: None,
        status: Some("FILLED".into()),
        outcome: EventOutcome::Failed,
        credited_usd: Amount::ZERO,
        detail: Some("disk I/O error".into()),
        raw_body: br#"{"reference_id":"<script>alert(1)</script>"}"#.to_vec(),
        attempts: 1,
        next_attempt_at: Some(at()),
    }
}

fn overview_queries() -> MockQueries {
    let mut queries = MockQueries::new();
    queries.expect_payments().returning(|_| {
        let payment = Payment::from_record(PaymentRecord {
            reference_id: ReferenceId::parse("ref-1").unwrap(),
            status: PaymentStatus::Filled,
            customer_id: Some(CustomerId::parse("<b>cust</b>").unwrap()),
            invoice_id: None,
            amount: Some(Amount::parse("50").unwrap()),
            currency: Some("USDC".into()),
            filled_amount: Some(Amount::parse("50").unwrap()),
            filled_amount_in_usd: Some(Amount::parse("49.999999999999998").unwrap()),
            credited_usd: Amount::parse("49.999999999999998").unwrap(),
            late_payment: false,
            credit_count: 1,
        })
        .unwrap();
        Ok(vec![PaymentItem { payment, created_at: at(), updated_at: at() }])
    });
    queries.expect_customers().returning(|_, _| {
        Ok(vec![CustomerBalance {
            customer_id: CustomerId::parse("<b>cust</b>").unwrap(),
            balance_usd: payram_domain::Total::parse("49.999999999999998").unwrap(),
            credits: 1,
            payments: 1,
        }])
    });
    queries.expect_stats().returning(|| Ok(Stats::default()));
    queries.expect_events().returning(|filter| {
        Ok(if filter.outcome == Some(EventOutcome::Failed) { vec![failed_event()] } else { vec![] })
    });
    queries
}

#[actix_web::test]
async fn pages_need_a_session_and_a_wrong_token_gets_none() {
    let app = app(Mocks::untouched()).await;
    for uri in ["/dashboard", "/dashboard/events", "/dashboard/events/7", "/dashboard/outbox"] {
        let res = test::call_service(&app, TestRequest::get().uri(uri).to_request()).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{uri}");
        assert_eq!(res.headers().get(header::LOCATION).unwrap(), "/dashboard/login");
    }
    let req =
        TestRequest::post().uri("/dashboard/login").set_form([("token", "guess")]).to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().get(header::SET_COOKIE).is_none());
    let forged = TestRequest::get()
        .uri("/dashboard")
        .insert_header((header::COOKIE, "payram_session=99999999999.00"))
        .to_request();
    assert_eq!(test::call_service(&app, forged).await.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn the_overview_shows_payments_customers_and_failures_escaped() {
    let app = app(Mocks::with_queries(overview_queries())).await;
    let cookie = sign_in(&app).await;
    let req =
        TestRequest::get().uri("/dashboard").insert_header((header::COOKIE, cookie)).to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers().get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && !csp.contains("script-src"), "{csp}");
    let html = text(res).await;
    assert!(html.contains("49.999999999999998"), "exact amounts");
    assert!(html.contains("&lt;b&gt;cust&lt;/b&gt;") && !html.contains("<b>cust</b>"), "escaped");
    assert!(html.contains("Needs attention") && html.contains("disk I/O error"));
    assert!(!html.contains("<script"), "no script on any page");
}

#[actix_web::test]
async fn a_replay_needs_the_csrf_token_of_the_session() {
    let mut queries = MockQueries::new();
    queries.expect_event().returning(|_| Ok(Some(failed_event())));
    let mut use_cases = MockPaymentUseCases::new();
    use_cases.expect_replay().times(1).returning(|id| {
        Ok(Some(Receipt {
            event_id: id,
            outcome: EventOutcome::Applied,
            reference_id: Some(ReferenceId::parse("ref-1").unwrap()),
            payout_id: None,
            status: Some("FILLED".into()),
            credited: Amount::parse("50").unwrap(),
            message: None,
        }))
    });
    let app = app(Mocks { use_cases, queries }).await;
    let cookie = sign_in(&app).await;

    let req = TestRequest::get()
        .uri("/dashboard/events/7")
        .insert_header((header::COOKIE, cookie.clone()))
        .to_request();
    let html = text(test::call_service(&app, req).await).await;
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the raw body, escaped");
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();

    for forged in ["", "0123", &csrf[1..]] {
        let req = TestRequest::post()
            .uri("/dashboard/events/7/replay")
            .insert_header((header::COOKIE, cookie.clone()))
            .set_form([("csrf", forged)])
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), StatusCode::FORBIDDEN);
    }
    let req = TestRequest::post()
        .uri("/dashboard/events/7/replay")
        .insert_header((header::COOKIE, cookie))
        .set_form([("csrf", csrf.as_str())])
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers().get(header::LOCATION).unwrap(),
        "/dashboard/events/7?replayed=applied"
    );
}

#[actix_web::test]
async fn the_right_token_signs_in_and_one_differing_only_in_length_does_not() {
    let app = app(Mocks::untouched()).await;
    let cookie = sign_in(&app).await;
    // Without forwarding the outbox page reads nothing: the session alone opens it.
    let req = TestRequest::get()
        .uri("/dashboard/outbox")
        .insert_header((header::COOKIE, cookie))
        .to_request();
    assert_eq!(test::call_service(&app, req).await.status(), StatusCode::OK);

    let shorter = &ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1];
    let longer = format!("{ADMIN_TOKEN}x");
    let padded = format!("{ADMIN_TOKEN} ");
    for token in [shorter, longer.as_str(), padded.as_str(), ""] {
        let req =
            TestRequest::post().uri("/dashboard/login").set_form([("token", token)]).to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{token:?}");
        assert!(res.headers().get(header::SET_COOKIE).is_none(), "{token:?}");
        assert!(text(res).await.contains("That is not the admin token."), "{token:?}");
    }
}

#[actix_web::test]
async fn an_empty_configured_token_signs_nobody_in() {
    let config = HttpConfig { admin_token: Some(SecretString::from("")), ..config() };
    let app = test::init_service(
        App::new()
            .configure(Mocks::untouched().configure(config))
            .configure(configure_dashboard(None)),
    )
    .await;
    let req = TestRequest::post().uri("/dashboard/login").set_form([("token", "")]).to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().get(header::SET_COOKIE).is_none());
}
