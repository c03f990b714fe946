//! The dashboard over `actix_web::test`: sign-in sets a hardened session cookie, pages need it,
//! actions need its CSRF token, and every value is escaped.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};

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
    CustomerBalance, EventRecord, MockPaymentUseCases, MockQueries, MockSessionRevocations, Origin,
    PaymentItem, PaymentView, Receipt, RepositoryError, SessionDigest, Stats,
};

use super::{ADMIN_TOKEN, Mocks, config, untouched_sessions};
use crate::{HttpConfig, configure_dashboard};

/// The dashboard around `mocks`, where no session was ever signed out.
async fn app(
    mut mocks: Mocks,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    mocks.queries.expect_is_session_revoked().returning(|_| Ok(false));
    app_with(mocks, untouched_sessions()).await
}

/// The dashboard around `mocks` (which must answer `is_session_revoked`) and `sessions`.
async fn app_with(
    mocks: Mocks,
    sessions: Arc<MockSessionRevocations>,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    test::init_service(
        App::new()
            .configure(mocks.configure(config()))
            .configure(configure_dashboard(None, sessions)),
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
            .configure(configure_dashboard(None, untouched_sessions())),
    )
    .await;
    let req = TestRequest::post().uri("/dashboard/login").set_form([("token", "")]).to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().get(header::SET_COOKIE).is_none());
}

/// The CSRF token in a page's forms.
fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned()
}

#[actix_web::test]
async fn signing_out_revokes_the_session_and_its_csrf_token() {
    // The store, in memory: what one recorder revokes, the queries report.
    let revoked: Arc<Mutex<HashSet<SessionDigest>>> = Arc::default();
    let mut sessions = MockSessionRevocations::new();
    let recorder = Arc::clone(&revoked);
    sessions.expect_revoke_session().times(1).returning(move |digest, expires_at, now| {
        assert!(expires_at > now, "kept until the session would have expired");
        recorder.lock().unwrap().insert(digest);
        Ok(())
    });
    let mut queries = MockQueries::new();
    let reader = Arc::clone(&revoked);
    queries
        .expect_is_session_revoked()
        .returning(move |digest| Ok(reader.lock().unwrap().contains(&digest)));
    let mut use_cases = MockPaymentUseCases::new();
    use_cases.expect_replay().never();
    let app = app_with(Mocks { use_cases, queries }, Arc::new(sessions)).await;

    let cookie = sign_in(&app).await;
    let other = sign_in(&app).await;
    assert_ne!(cookie, other, "each sign-in is its own session");
    let page = |cookie: &str| {
        TestRequest::get()
            .uri("/dashboard/outbox")
            .insert_header((header::COOKIE, cookie.to_owned()))
            .to_request()
    };
    let res = test::call_service(&app, page(&cookie)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let csrf = csrf_of(&text(res).await);

    let req = TestRequest::post()
        .uri("/dashboard/logout")
        .insert_header((header::COOKIE, cookie.clone()))
        .set_form([("csrf", csrf.as_str())])
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers().get(header::LOCATION).unwrap(), "/dashboard/login");
    let removal = res.headers().get(header::SET_COOKIE).unwrap().to_str().unwrap();
    assert!(removal.starts_with("payram_session=;"), "{removal}");
    assert_eq!(revoked.lock().unwrap().len(), 1);

    // The old cookie (kept by an attacker) no longer opens a page...
    let res = test::call_service(&app, page(&cookie)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers().get(header::LOCATION).unwrap(), "/dashboard/login");
    // ...nor carries an action with its old CSRF token (the replay is never called)...
    let req = TestRequest::post()
        .uri("/dashboard/events/7/replay")
        .insert_header((header::COOKIE, cookie.clone()))
        .set_form([("csrf", csrf.as_str())])
        .to_request();
    assert_eq!(test::call_service(&app, req).await.status(), StatusCode::SEE_OTHER);
    // ...nor signs out again; the other session lives on.
    let req = TestRequest::post()
        .uri("/dashboard/logout")
        .insert_header((header::COOKIE, cookie))
        .set_form([("csrf", csrf.as_str())])
        .to_request();
    assert_eq!(test::call_service(&app, req).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(test::call_service(&app, page(&other)).await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn a_session_the_store_cannot_vouch_for_is_not_let_through() {
    let mut queries = MockQueries::new();
    queries
        .expect_is_session_revoked()
        .returning(|_| Err(RepositoryError::Unavailable("disk I/O error".into())));
    let mut sessions = MockSessionRevocations::new();
    sessions.expect_revoke_session().never();
    let app = app_with(Mocks::with_queries(queries), Arc::new(sessions)).await;
    let cookie = sign_in(&app).await;
    let req = TestRequest::get()
        .uri("/dashboard/outbox")
        .insert_header((header::COOKIE, cookie.clone()))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(!text(res).await.contains("disk I/O error"), "the cause is logged, not shown");
    let req = TestRequest::post()
        .uri("/dashboard/logout")
        .insert_header((header::COOKIE, cookie))
        .set_form([("csrf", "whatever")])
        .to_request();
    assert_eq!(test::call_service(&app, req).await.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[actix_web::test]
async fn a_sign_out_the_store_did_not_record_keeps_the_session_and_says_so() {
    let mut sessions = MockSessionRevocations::new();
    sessions
        .expect_revoke_session()
        .times(1)
        .returning(|_, _, _| Err(RepositoryError::Unavailable("the write queue is full".into())));
    let mut queries = MockQueries::new();
    queries.expect_is_session_revoked().returning(|_| Ok(false));
    let app = app_with(Mocks::with_queries(queries), Arc::new(sessions)).await;
    let cookie = sign_in(&app).await;
    let req = TestRequest::get()
        .uri("/dashboard/outbox")
        .insert_header((header::COOKIE, cookie.clone()))
        .to_request();
    let csrf = csrf_of(&text(test::call_service(&app, req).await).await);
    let req = TestRequest::post()
        .uri("/dashboard/logout")
        .insert_header((header::COOKIE, cookie))
        .set_form([("csrf", csrf.as_str())])
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().get(header::SET_COOKIE).is_none(), "the browser may try again");
    assert!(text(res).await.contains("Signing out failed"));
}

#[actix_web::test]
async fn a_cookie_signed_with_another_admin_token_is_refused() {
    // Signed in while the token was ADMIN_TOKEN; the server now runs with another one.
    let before = app(Mocks::untouched()).await;
    let cookie = sign_in(&before).await;
    let rotated =
        HttpConfig { admin_token: Some(SecretString::from("rotated-admin-token")), ..config() };
    let after = test::init_service(
        App::new()
            .configure(Mocks::untouched().configure(rotated))
            .configure(configure_dashboard(None, untouched_sessions())),
    )
    .await;
    let req =
        TestRequest::get().uri("/dashboard").insert_header((header::COOKIE, cookie)).to_request();
    let res = test::call_service(&after, req).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "refused before the store is asked");
    assert_eq!(res.headers().get(header::LOCATION).unwrap(), "/dashboard/login");
}

fn payment_with(reference: &str, customer: &str) -> Payment {
    Payment::from_record(PaymentRecord {
        reference_id: ReferenceId::parse(reference).unwrap(),
        status: PaymentStatus::Filled,
        customer_id: Some(CustomerId::parse(customer).unwrap()),
        invoice_id: None,
        amount: Some(Amount::parse("50").unwrap()),
        currency: Some("USDC".into()),
        filled_amount: Some(Amount::parse("50").unwrap()),
        filled_amount_in_usd: Some(Amount::parse("50").unwrap()),
        credited_usd: Amount::parse("50").unwrap(),
        late_payment: false,
        credit_count: 1,
    })
    .unwrap()
}

/// The `href`s of a page's links to payments.
fn payment_links(html: &str) -> Vec<String> {
    html.split("href=\"/dashboard/payments/")
        .skip(1)
        .map(|rest| format!("/dashboard/payments/{}", rest.split('"').next().unwrap()))
        .collect()
}

#[actix_web::test]
async fn links_to_payments_are_url_encoded_and_lead_to_that_payment() {
    const TRICKY: &str = "a?x=1#frag/../b%2F c+é";
    let mut queries = MockQueries::new();
    queries.expect_payments().returning(|_| {
        Ok(vec![PaymentItem {
            payment: payment_with(TRICKY, "cust"),
            created_at: at(),
            updated_at: at(),
        }])
    });
    queries.expect_customers().returning(|_, _| Ok(vec![]));
    queries.expect_stats().returning(|| Ok(Stats::default()));
    queries.expect_events().returning(|_| Ok(vec![]));
    queries.expect_payment().times(1).returning(|reference| {
        assert_eq!(reference.as_str(), TRICKY, "the link names exactly the payment");
        Ok(Some(PaymentView { payment: payment_with(TRICKY, "cust"), events: vec![] }))
    });
    let app = app(Mocks::with_queries(queries)).await;
    let cookie = sign_in(&app).await;
    let req = TestRequest::get()
        .uri("/dashboard")
        .insert_header((header::COOKIE, cookie.clone()))
        .to_request();
    let html = text(test::call_service(&app, req).await).await;
    let links = payment_links(&html);
    assert_eq!(
        links,
        ["/dashboard/payments/a%3Fx%3D1%23frag%2F..%2Fb%252F%20c%2B%C3%A9"],
        "one segment, nothing a browser would cut or resolve"
    );
    let req =
        TestRequest::get().uri(&links[0]).insert_header((header::COOKIE, cookie)).to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[actix_web::test]
async fn invisible_and_direction_changing_characters_are_shown_escaped() {
    // Looks like "ref-1gnp.exe" in a browser; must not look like any other reference.
    const SPOOF: &str = "ref-1\u{202e}exe.png\u{200b}\u{2066}\u{feff}\\x";
    let mut queries = MockQueries::new();
    queries.expect_payments().returning(|_| {
        Ok(vec![PaymentItem {
            payment: payment_with(SPOOF, "cust\u{200f}\u{0007}"),
            created_at: at(),
            updated_at: at(),
        }])
    });
    queries.expect_customers().returning(|_, _| {
        Ok(vec![CustomerBalance {
            customer_id: CustomerId::parse("cust\u{200f}\u{0007}").unwrap(),
            balance_usd: payram_domain::Total::parse("50").unwrap(),
            credits: 1,
            payments: 1,
        }])
    });
    queries.expect_stats().returning(|| Ok(Stats::default()));
    queries.expect_events().returning(|filter| {
        Ok(if filter.outcome == Some(EventOutcome::Failed) {
            vec![EventRecord {
                reference_id: Some(SPOOF.into()),
                status: Some("FILLED\u{202a}".into()),
                detail: Some("line\nbreak".into()),
                ..failed_event()
            }]
        } else {
            vec![]
        })
    });
    queries.expect_event().returning(|_| {
        Ok(Some(EventRecord {
            reference_id: Some(SPOOF.into()),
            raw_body: "{\"reference_id\":\"ref-1\u{202e}x\",\n\t\"a\":\"\\u202e\"}".into(),
            ..failed_event()
        }))
    });
    let app = app(Mocks::with_queries(queries)).await;
    let cookie = sign_in(&app).await;
    for uri in ["/dashboard", "/dashboard/events/7"] {
        let req = TestRequest::get()
            .uri(uri)
            .insert_header((header::COOKIE, cookie.clone()))
            .to_request();
        let html = text(test::call_service(&app, req).await).await;
        for hidden in
            ['\u{202e}', '\u{200b}', '\u{2066}', '\u{feff}', '\u{200f}', '\u{7}', '\u{202a}']
        {
            assert!(!html.contains(hidden), "{uri} shows {hidden:?} raw");
        }
        assert!(
            html.contains(r">ref-1\u{202e}exe.png\u{200b}\u{2066}\u{feff}\\x<"),
            "{uri}: the reference, escaped"
        );
        if uri == "/dashboard" {
            assert!(html.contains(r"cust\u{200f}\u{7}"), "the customer, escaped");
            assert!(html.contains(r"FILLED\u{202a}") && html.contains(r"line\u{a}break"));
        } else {
            // The raw body keeps its lines and JSON escapes; only hidden characters change.
            assert!(
                html.contains("ref-1\\u{202e}x&quot;,\n\t&quot;a&quot;:&quot;\\u202e&quot;"),
                "{html}"
            );
        }
    }
}
