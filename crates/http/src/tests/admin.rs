use std::sync::Arc;

use actix_web::{
    App,
    http::{StatusCode, header},
    test::{self, TestRequest},
};
use chrono::{TimeZone, Utc};
use secrecy::SecretString;
use serde_json::json;

use payram_domain::{
    Amount, CustomerId, EventOutcome, Payment, PaymentRecord, PaymentStatus, ReferenceId,
};
use payram_ports::{
    CreditEntry, CustomerView, EventSummary, MockQueries, PaymentView, RepositoryError,
};

use super::{ADMIN_TOKEN, Answer, Mocks, config, read, send, send_with, untouched_outbox};
use crate::{HttpConfig, ROUTES, configure_outbox, error};

fn amount(text: &str) -> Amount {
    Amount::parse(text).unwrap()
}

fn admin_get(uri: &str) -> TestRequest {
    TestRequest::get()
        .uri(uri)
        .insert_header((header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}")))
}

fn view() -> PaymentView {
    let payment = Payment::from_record(PaymentRecord {
        reference_id: ReferenceId::parse("ref 1").unwrap(),
        status: PaymentStatus::Filled,
        customer_id: Some(CustomerId::parse("cust-1").unwrap()),
        invoice_id: None,
        amount: Some(amount("50")),
        currency: Some("USDC".to_owned()),
        filled_amount: Some(amount("49.999999999999998")),
        filled_amount_in_usd: Some(amount("50.00")),
        credited_usd: amount("50.00"),
        late_payment: true,
        credit_count: 1,
    })
    .unwrap();
    PaymentView {
        payment,
        events: vec![
            EventSummary {
                id: 3,
                received_at: Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap(),
                status: Some("OPEN".to_owned()),
                outcome: EventOutcome::Applied,
            },
            EventSummary {
                id: 4,
                received_at: Utc.with_ymd_and_hms(2026, 11, 26, 12, 5, 30).unwrap(),
                status: None,
                outcome: EventOutcome::InvalidPayload,
            },
        ],
    }
}

// --- authorization ---

#[actix_web::test]
async fn the_admin_api_refuses_a_missing_token() {
    for uri in ["/api/payments/ref-1", "/api/customers/cust-1"] {
        let answer = send(Mocks::untouched(), TestRequest::get().uri(uri)).await;

        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(answer.json, json!({"error": "unauthorized"}));
    }
}

#[actix_web::test]
async fn the_admin_api_refuses_a_wrong_token() {
    for value in [
        "Bearer wrong".to_owned(),
        format!("Bearer {ADMIN_TOKEN}x"),
        format!("Basic {ADMIN_TOKEN}"),
        ADMIN_TOKEN.to_owned(),
        "Bearer ".to_owned(),
    ] {
        let req = TestRequest::get()
            .uri("/api/payments/ref-1")
            .insert_header((header::AUTHORIZATION, value.clone()));

        let answer = send(Mocks::untouched(), req).await;

        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{value}");
        assert_eq!(answer.json, json!({"error": "unauthorized"}));
    }
}

#[actix_web::test]
async fn without_a_configured_token_the_admin_api_is_closed() {
    for admin_token in [None, Some(SecretString::from(""))] {
        let config = HttpConfig { admin_token, ..config() };
        let req = TestRequest::get()
            .uri("/api/customers/cust-1")
            .insert_header((header::AUTHORIZATION, "Bearer "));

        let answer = send_with(Mocks::untouched(), config.clone(), req).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.json, json!({"error": "unauthorized"}));

        let answer =
            send_with(Mocks::untouched(), config, admin_get("/api/customers/cust-1")).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
}

#[actix_web::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let mut queries = MockQueries::new();
    queries.expect_payment().times(1).returning(|_| Ok(Some(view())));
    let req = TestRequest::get()
        .uri("/api/payments/ref-1")
        .insert_header((header::AUTHORIZATION, format!("bearer {ADMIN_TOKEN}")));

    assert_eq!(send(Mocks::with_queries(queries), req).await.status, StatusCode::OK);
}

/// Sends each request to one app with every admin route (the outbox's included) around mocks
/// that must not be called; the answers in order.
async fn to_untouched_admin_api(requests: Vec<TestRequest>) -> Vec<Answer> {
    let app = test::init_service(
        App::new()
            .configure(Mocks::untouched().configure(config()))
            .configure(configure_outbox(Arc::new(untouched_outbox()))),
    )
    .await;
    let mut answers = Vec::new();
    for req in requests {
        answers.push(read(test::call_service(&app, req.to_request()).await).await);
    }
    answers
}

/// Every admin route (the `/api/` routes of [`ROUTES`] but the public document), as a request
/// to a concrete path.
fn admin_requests() -> Vec<TestRequest> {
    ROUTES
        .iter()
        .filter(|(_, path)| path.starts_with("/api/") && *path != "/api/openapi.json")
        .map(|(method, path)| {
            let uri = path
                .replace("{reference_id}", "ref-1")
                .replace("{customer_id}", "cust-1")
                .replace("{id}", "1");
            match *method {
                "get" => TestRequest::get(),
                _ => TestRequest::post(),
            }
            .uri(&uri)
        })
        .collect()
}

#[actix_web::test]
async fn a_wrong_token_of_another_or_the_same_length_is_refused_without_a_query() {
    let same_length = format!("{}X", &ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1]);
    let longer = format!("{ADMIN_TOKEN}-2");
    let shorter = ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1].to_owned();
    assert_eq!(same_length.len(), ADMIN_TOKEN.len());
    assert_ne!(same_length, ADMIN_TOKEN);
    assert!(admin_requests().len() >= 11, "every admin route is tried");
    for token in [same_length, longer, shorter] {
        let requests = admin_requests()
            .into_iter()
            .map(|req| req.insert_header((header::AUTHORIZATION, format!("Bearer {token}"))))
            .collect();

        // The mocks fail the test if any query or use case is called.
        for answer in to_untouched_admin_api(requests).await {
            assert_eq!(
                (answer.status, answer.json),
                (StatusCode::UNAUTHORIZED, json!({"error": "unauthorized"})),
                "token {token:?}"
            );
        }
    }
}

#[actix_web::test]
async fn an_unauthenticated_request_is_refused_before_its_query_or_path_is_read() {
    // Each of these is 400 or 404 with the token (see the lists, events and outbox tests).
    let uris = [
        "/api/events?limit=x",
        "/api/events?outcome=bogus",
        "/api/events?cursor=%25%25%25",
        "/api/payments?status=PAID",
        "/api/payments?cursor=not-a-cursor",
        "/api/customers?limit=10001",
        "/api/credits?since=yesterday",
        "/api/outbox?state=sent",
        "/api/outbox?limit=x",
        "/api/events/x",
        "/api/payments/%20",
    ];
    let requests = uris.iter().map(|uri| TestRequest::get().uri(uri)).collect();
    let answers = to_untouched_admin_api(requests).await;
    for (uri, answer) in uris.iter().zip(answers) {
        assert_eq!(
            (answer.status, answer.json),
            (StatusCode::UNAUTHORIZED, json!({"error": "unauthorized"})),
            "{uri}"
        );
    }
}

// --- payments ---

#[actix_web::test]
async fn a_payment_is_shown_with_exact_amounts_and_its_events() {
    let mut queries = MockQueries::new();
    queries
        .expect_payment()
        .withf(|reference| reference.as_str() == "ref 1")
        .times(1)
        .returning(|_| Ok(Some(view())));

    // The path segment is percent-decoded.
    let answer = send(Mocks::with_queries(queries), admin_get("/api/payments/ref%201")).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json,
        json!({
            "reference_id": "ref 1",
            "status": "FILLED",
            "customer_id": "cust-1",
            "invoice_id": null,
            "amount": "50",
            "currency": "USDC",
            "filled_amount": "49.999999999999998",
            "filled_amount_in_usd": "50.00",
            "credited_usd": "50.00",
            "late_payment": true,
            "events": [
                {"id": 3, "received_at": "2026-11-26T12:00:00Z", "status": "OPEN", "outcome": "applied"},
                {"id": 4, "received_at": "2026-11-26T12:05:30Z", "status": null, "outcome": "invalid_payload"}
            ]
        })
    );
}

#[actix_web::test]
async fn an_unknown_payment_is_404() {
    let mut queries = MockQueries::new();
    queries.expect_payment().times(1).returning(|_| Ok(None));

    let answer = send(Mocks::with_queries(queries), admin_get("/api/payments/nope")).await;

    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.json, json!({"error": "not_found"}));
}

#[actix_web::test]
async fn a_reference_that_cannot_exist_is_404_without_a_lookup() {
    for uri in ["/api/payments/%20", &format!("/api/payments/{}", "x".repeat(256))] {
        let answer = send(Mocks::untouched(), admin_get(uri)).await;

        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(answer.json, json!({"error": "not_found"}));
    }
}

#[actix_web::test]
async fn unavailable_storage_on_the_admin_api_is_503() {
    let mut queries = MockQueries::new();
    queries.expect_payment().returning(|_| Err(RepositoryError::Unavailable("down".into())));

    let answer = send(Mocks::with_queries(queries), admin_get("/api/payments/ref-1")).await;

    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.json, json!({"error": "storage_unavailable"}));
}

// --- customers ---

#[actix_web::test]
async fn a_customer_is_shown_with_balance_and_credits() {
    let mut queries = MockQueries::new();
    queries.expect_customer().withf(|id| id.as_str() == "cust/1").times(1).returning(|id| {
        Ok(CustomerView {
            customer_id: id.clone(),
            balance_usd: payram_domain::Total::parse("80.50").unwrap(),
            credits: vec![
                CreditEntry {
                    reference_id: ReferenceId::parse("ref-1").unwrap(),
                    amount_usd: amount("30.00"),
                    created_at: Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap(),
                },
                CreditEntry {
                    reference_id: ReferenceId::parse("ref-2").unwrap(),
                    amount_usd: amount("50.5"),
                    created_at: Utc.with_ymd_and_hms(2026, 11, 27, 8, 30, 0).unwrap(),
                },
            ],
        })
    });

    let answer = send(Mocks::with_queries(queries), admin_get("/api/customers/cust%2F1")).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json,
        json!({
            "customer_id": "cust/1",
            "balance_usd": "80.50",
            "credits": [
                {"reference_id": "ref-1", "amount_usd": "30.00", "created_at": "2026-11-26T12:00:00Z"},
                {"reference_id": "ref-2", "amount_usd": "50.5", "created_at": "2026-11-27T08:30:00Z"}
            ]
        })
    );
}

#[actix_web::test]
async fn an_unknown_customer_has_a_zero_balance() {
    let mut queries = MockQueries::new();
    queries.expect_customer().times(1).returning(|id| {
        Ok(CustomerView {
            customer_id: id.clone(),
            balance_usd: payram_domain::Total::ZERO,
            credits: vec![],
        })
    });

    let answer = send(Mocks::with_queries(queries), admin_get("/api/customers/nobody")).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json, json!({"customer_id": "nobody", "balance_usd": "0", "credits": []}));
}

// --- health, unknown routes, extractor errors ---

#[actix_web::test]
async fn health_needs_no_token() {
    let answer = send(Mocks::untouched(), TestRequest::get().uri("/healthz")).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json, json!({"status": "ok"}));
}

#[actix_web::test]
async fn unknown_routes_are_404_json() {
    for uri in ["/", "/nope", "/api/payment", "/api/payments/", "/webhook/extra"] {
        let answer = send(Mocks::untouched(), admin_get(uri)).await;

        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(answer.json, json!({"error": "not_found"}));
    }
}

#[actix_web::test]
async fn other_methods_on_admin_routes_are_405_json() {
    for uri in ["/healthz", "/api/payments/ref-1", "/api/customers/cust-1"] {
        let req = TestRequest::post()
            .uri(uri)
            .insert_header((header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}")));

        let answer = send(Mocks::untouched(), req).await;

        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{uri}");
        assert_eq!(answer.json, json!({"error": "method_not_allowed"}));
        assert_eq!(answer.headers.get(header::ALLOW).unwrap(), "GET");
    }
}

#[actix_web::test]
async fn extractor_errors_are_json() {
    use actix_web::error::{PathError, QueryPayloadError};
    use serde::de::Error as _;

    let path = error::path_error(&PathError::Deserialize(serde::de::value::Error::custom("x")));
    let response = path.as_response_error().error_response();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body = actix_web::body::to_bytes(response.into_body()).await.unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
        json!({"error": "not_found"})
    );

    let query = error::query_error(&QueryPayloadError::Deserialize(
        serde::de::value::Error::custom("missing field `page`"),
    ));
    let response = query.as_response_error().error_response();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = actix_web::body::to_bytes(response.into_body()).await.unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
        json!({"error": "bad_request", "message": "Query deserialize error: missing field `page`"})
    );
}
