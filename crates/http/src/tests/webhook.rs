use std::pin::Pin;

use actix_web::{
    App,
    dev::Payload,
    error::PayloadError,
    http::{StatusCode, header},
    test::{self, TestRequest},
    web::Bytes,
};
use futures_util::stream::{self, Stream};
use serde_json::json;

use payram_domain::{Amount, AuthMethod, EventOutcome, Inbound, ReferenceId};
use payram_ports::{Delivery, MockPaymentUseCases, Receipt, RepositoryError, ServiceError};
use payram_protocol::sign;

use super::{KEY, MAX_BODY, Mocks, OLD_KEY, config, read, send, send_with};
use crate::HttpConfig;

const FILLED: &str = r#"{"reference_id":"ref-1","status":"FILLED","customer_id":"cust-1","filled_amount_in_usd":"50.00"}"#;
const PING: &str = r#"{"event_type":"payout.ping"}"#;
const PAYOUT: &str = r#"{"event_type":"payout.sent","payout_id":42,"status":"SENT"}"#;

fn signed(body: &str) -> TestRequest {
    TestRequest::post()
        .uri("/webhook")
        .insert_header(("X-Payram-Signature", sign(KEY.as_bytes(), body.as_bytes())))
        .insert_header(header::ContentType::json())
        .set_payload(body.to_owned())
}

fn receipt(outcome: EventOutcome) -> Receipt {
    Receipt {
        event_id: 1,
        outcome,
        reference_id: Some(ReferenceId::parse("ref-1").unwrap()),
        payout_id: None,
        status: Some("FILLED".to_owned()),
        credited: Amount::parse("49.999999999999998").unwrap(),
        message: None,
    }
}

/// Mocks expecting exactly one delivery that satisfies `check`, answering `answer`, and no
/// query.
fn receiving(
    check: impl Fn(&Delivery) -> bool + Send + 'static,
    answer: Result<Receipt, ServiceError>,
) -> Mocks {
    let mut use_cases = MockPaymentUseCases::new();
    let mut answer = Some(answer);
    use_cases
        .expect_receive()
        .withf(check)
        .times(1)
        .returning(move |_| answer.take().expect("called once"));
    Mocks::with_use_cases(use_cases)
}

fn applied_receipt() -> Mocks {
    receiving(|_| true, Ok(receipt(EventOutcome::Applied)))
}

fn is_payment(delivery: &Delivery, reference: &str) -> bool {
    matches!(&delivery.content, Ok(Inbound::Payment(n)) if n.reference_id.as_str() == reference)
}

// --- 1. the unsigned test ping ---

#[actix_web::test]
async fn the_test_ping_is_answered_without_authentication_or_the_use_case() {
    let req = TestRequest::post()
        .uri("/webhook")
        .insert_header(("X-Webhook-Test", "true"))
        .set_payload(PING);

    let answer = send(Mocks::untouched(), req).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json, json!({"outcome": "ping"}));
}

#[actix_web::test]
async fn the_test_header_on_a_payment_body_still_needs_authentication() {
    let req = TestRequest::post()
        .uri("/webhook")
        .insert_header(("X-Webhook-Test", "true"))
        .set_payload(FILLED);

    let answer = send(Mocks::untouched(), req).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.json, json!({"error": "unauthorized"}));
}

#[actix_web::test]
async fn a_ping_without_the_test_header_needs_authentication() {
    let req = TestRequest::post()
        .uri("/webhook")
        .insert_header(("X-Webhook-Test", "false"))
        .set_payload(PING);

    let answer = send(Mocks::untouched(), req).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.json, json!({"error": "unauthorized"}));
}

#[actix_web::test]
async fn a_signed_test_is_authenticated_and_recorded_like_any_request() {
    // The test header does not spare an authenticated request the recording path.
    let mocks = receiving(
        |d| {
            matches!(d.content, Ok(Inbound::Ping)) && matches!(d.auth, AuthMethod::Signature { .. })
        },
        Ok(Receipt {
            reference_id: None,
            status: None,
            credited: Amount::ZERO,
            ..receipt(EventOutcome::Ping)
        }),
    );
    let answer = send(mocks, signed(PING).insert_header(("X-Webhook-Test", "true"))).await;
    assert_eq!((answer.status, answer.json), (StatusCode::OK, json!({"outcome": "ping"})));

    let body = r#"{"hello":"world"}"#;
    let mocks = receiving(
        |d| d.content.as_ref().is_err_and(|r| r.outcome == EventOutcome::InvalidPayload),
        Ok(Receipt {
            message: Some("reference_id is missing".into()),
            reference_id: None,
            status: None,
            credited: Amount::ZERO,
            ..receipt(EventOutcome::InvalidPayload)
        }),
    );
    let answer = send(mocks, signed(body).insert_header(("X-Webhook-Test", "true"))).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.json["error"], "invalid_payload");
}

#[actix_web::test]
async fn a_test_with_a_wrong_credential_is_unauthorized_not_a_ping() {
    let req = TestRequest::post()
        .uri("/webhook")
        .insert_header(("X-Webhook-Test", "true"))
        .insert_header(("API-Key", "not-a-key"))
        .set_payload(PING);

    let answer = send(Mocks::untouched(), req).await;

    assert_eq!(
        (answer.status, answer.json),
        (StatusCode::UNAUTHORIZED, json!({"error": "unauthorized"}))
    );
}

// --- duplicate credential headers ---

#[actix_web::test]
async fn two_different_api_keys_are_unauthorized_even_if_one_is_valid() {
    for (first, second) in [(KEY, "wrong"), ("wrong", KEY), (KEY, OLD_KEY)] {
        let req = TestRequest::post()
            .uri("/webhook")
            .append_header(("API-Key", first))
            .append_header(("api-key", second))
            .set_payload(FILLED);
        let answer = send(Mocks::untouched(), req).await;
        assert_eq!(
            (answer.status, answer.json),
            (StatusCode::UNAUTHORIZED, json!({"error": "unauthorized"})),
            "{first} then {second}"
        );
    }
}

#[actix_web::test]
async fn two_different_signatures_are_unauthorized_even_if_one_is_valid() {
    let valid = sign(KEY.as_bytes(), FILLED.as_bytes());
    let wrong = sign(b"wrong", FILLED.as_bytes());
    for (first, second) in [(&valid, &wrong), (&wrong, &valid)] {
        let req = TestRequest::post()
            .uri("/webhook")
            .append_header(("X-Payram-Signature", first.as_str()))
            .append_header(("X-Payram-Signature", second.as_str()))
            .set_payload(FILLED);
        let answer = send(Mocks::untouched(), req).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    // Even on a test ping: two different keys are never a ping.
    let req = TestRequest::post()
        .uri("/webhook")
        .insert_header(("X-Webhook-Test", "true"))
        .append_header(("API-Key", KEY))
        .append_header(("API-Key", "wrong"))
        .set_payload(PING);
    assert_eq!(send(Mocks::untouched(), req).await.status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn identical_repeats_of_a_credential_are_one_credential() {
    let signature = sign(KEY.as_bytes(), FILLED.as_bytes());
    let req = TestRequest::post()
        .uri("/webhook")
        .append_header(("X-Payram-Signature", signature.as_str()))
        .append_header(("X-Payram-Signature", signature.as_str()))
        .append_header(("API-Key", KEY))
        .append_header(("API-Key", KEY))
        .set_payload(FILLED);
    let answer = send(applied_receipt(), req).await;
    assert_eq!(answer.status, StatusCode::OK);
}

// --- 2. signature ---

#[actix_web::test]
async fn a_valid_signature_delivers_the_body_with_its_key_position() {
    let mocks = receiving(
        |delivery| {
            delivery.method == "POST"
                && delivery.auth == AuthMethod::Signature { key_index: 1 }
                && delivery.raw_body == FILLED.as_bytes()
                && is_payment(delivery, "ref-1")
        },
        Ok(receipt(EventOutcome::Applied)),
    );

    let answer = send(mocks, signed(FILLED)).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json,
        json!({
            "outcome": "applied",
            "reference_id": "ref-1",
            "status": "FILLED",
            "credited": "49.999999999999998"
        })
    );
}

#[actix_web::test]
async fn the_old_key_of_a_rotation_is_reported_by_its_position() {
    let mocks = receiving(
        |d| d.auth == AuthMethod::Signature { key_index: 0 },
        Ok(receipt(EventOutcome::Applied)),
    );
    let req = TestRequest::post()
        .uri("/webhook")
        .insert_header(("X-Payram-Signature", sign(OLD_KEY.as_bytes(), FILLED.as_bytes())))
        .set_payload(FILLED);

    assert_eq!(send(mocks, req).await.status, StatusCode::OK);
}

#[actix_web::test]
async fn one_changed_byte_under_a_valid_signature_is_unauthorized() {
    let signature = sign(KEY.as_bytes(), FILLED.as_bytes());
    let tampered = FILLED.replace("50.00", "51.00");
    let req = TestRequest::post()
        .uri("/webhook")
        .insert_header(("X-Payram-Signature", signature))
        .insert_header(("API-Key", KEY))
        .set_payload(tampered);

    let answer = send(Mocks::untouched(), req).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.json, json!({"error": "unauthorized"}));
}

// --- 3. the legacy API-Key header ---

#[actix_web::test]
async fn the_legacy_header_authenticates_in_any_case() {
    for name in ["api-key", "API-KEY", "Api-Key"] {
        let mocks = receiving(
            |d| d.auth == AuthMethod::ApiKey { key_index: 1 } && is_payment(d, "ref-1"),
            Ok(receipt(EventOutcome::Applied)),
        );
        let req =
            TestRequest::post().uri("/webhook").insert_header((name, KEY)).set_payload(FILLED);

        let answer = send(mocks, req).await;

        assert_eq!(answer.status, StatusCode::OK, "header {name}");
        assert_eq!(answer.json["outcome"], "applied");
    }
}

#[actix_web::test]
async fn the_legacy_header_is_refused_when_a_signature_is_required() {
    let config = HttpConfig { require_signature: true, ..config() };
    let req =
        TestRequest::post().uri("/webhook").insert_header(("API-Key", KEY)).set_payload(FILLED);

    let answer = send_with(Mocks::untouched(), config, req).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.json, json!({"error": "unauthorized"}));
}

#[actix_web::test]
async fn a_signature_still_works_when_required() {
    let config = HttpConfig { require_signature: true, ..config() };

    let answer = send_with(applied_receipt(), config, signed(FILLED)).await;

    assert_eq!(answer.status, StatusCode::OK);
}

// --- 4. no or wrong credentials ---

#[actix_web::test]
async fn no_credentials_are_unauthorized() {
    let req = TestRequest::post().uri("/webhook").set_payload(FILLED);

    let answer = send(Mocks::untouched(), req).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.json, json!({"error": "unauthorized"}));
}

#[actix_web::test]
async fn a_wrong_key_is_unauthorized() {
    let req = TestRequest::post()
        .uri("/webhook")
        .insert_header(("API-Key", "not-a-configured-key"))
        .set_payload(FILLED);

    let answer = send(Mocks::untouched(), req).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.json, json!({"error": "unauthorized"}));
}

#[actix_web::test]
async fn a_signature_under_a_wrong_key_is_unauthorized() {
    let req = TestRequest::post()
        .uri("/webhook")
        .insert_header(("X-Payram-Signature", sign(b"not-a-configured-key", FILLED.as_bytes())))
        .set_payload(FILLED);

    let answer = send(Mocks::untouched(), req).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}

// --- transport ---

#[actix_web::test]
async fn a_get_with_a_body_and_no_content_type_is_accepted() {
    let mocks = receiving(
        |d| d.method == "GET" && is_payment(d, "ref-1"),
        Ok(receipt(EventOutcome::Applied)),
    );
    let req = TestRequest::get()
        .uri("/webhook")
        .insert_header(("X-Payram-Signature", sign(KEY.as_bytes(), FILLED.as_bytes())))
        .set_payload(FILLED);

    let answer = send(mocks, req).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json["outcome"], "applied");
}

#[actix_web::test]
async fn a_post_with_a_foreign_content_type_is_accepted() {
    let req = TestRequest::post()
        .uri("/webhook")
        .insert_header(("API-Key", KEY))
        .insert_header(header::ContentType::plaintext())
        .set_payload(FILLED);

    assert_eq!(send(applied_receipt(), req).await.status, StatusCode::OK);
}

#[actix_web::test]
async fn other_methods_on_the_webhook_path_are_405_json() {
    for req in [TestRequest::put(), TestRequest::delete(), TestRequest::patch()] {
        let req = req.uri("/webhook").insert_header(("API-Key", KEY)).set_payload(FILLED);

        let answer = send(Mocks::untouched(), req).await;

        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(answer.json, json!({"error": "method_not_allowed"}));
        assert_eq!(answer.headers.get(header::ALLOW).unwrap(), "GET, POST");
    }
}

#[actix_web::test]
async fn the_webhook_path_is_configurable() {
    let config = HttpConfig { webhook_path: "/hooks/payram".to_owned(), ..config() };
    let req = TestRequest::post()
        .uri("/hooks/payram")
        .insert_header(("X-Webhook-Test", "true"))
        .set_payload(PING);
    assert_eq!(
        send_with(Mocks::untouched(), config.clone(), req).await.json,
        json!({"outcome": "ping"})
    );

    let req =
        TestRequest::post().uri("/webhook").insert_header(("API-Key", KEY)).set_payload(FILLED);
    let answer = send_with(Mocks::untouched(), config, req).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.json, json!({"error": "not_found"}));
}

// --- body size ---

#[actix_web::test]
async fn a_body_of_exactly_the_limit_is_read() {
    let body = format!("{FILLED:<MAX_BODY$}");
    assert_eq!(body.len(), MAX_BODY);
    let mocks =
        receiving(move |d| d.raw_body.len() == MAX_BODY, Ok(receipt(EventOutcome::Applied)));
    let req = TestRequest::post().uri("/webhook").insert_header(("API-Key", KEY)).set_payload(body);

    assert_eq!(send(mocks, req).await.status, StatusCode::OK);
}

#[actix_web::test]
async fn a_body_over_the_limit_is_413() {
    let body = format!("{FILLED:<width$}", width = MAX_BODY + 1);
    let req = TestRequest::post().uri("/webhook").insert_header(("API-Key", KEY)).set_payload(body);

    let answer = send(Mocks::untouched(), req).await;

    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.json, json!({"error": "payload_too_large"}));
}

#[actix_web::test]
async fn a_declared_content_length_over_the_limit_is_413_before_reading() {
    // The header alone decides: the (short) body is never read.
    let req = TestRequest::post()
        .uri("/webhook")
        .insert_header(("X-Webhook-Test", "true"))
        .insert_header((header::CONTENT_LENGTH, "1000000"));

    let answer = send(Mocks::untouched(), req).await;

    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.json, json!({"error": "payload_too_large"}));
}

type BoxedStream = Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>;

#[actix_web::test]
async fn an_oversized_body_of_unknown_length_is_413() {
    let app =
        test::init_service(App::new().configure(Mocks::untouched().configure(config()))).await;
    // Two chunks, no Content-Length: only counting while reading can catch it.
    let chunks = [Ok(Bytes::from(vec![b' '; 600])), Ok(Bytes::from(vec![b' '; 600]))];
    let stream: BoxedStream = Box::pin(stream::iter(chunks));
    let req = TestRequest::post().uri("/webhook").insert_header(("API-Key", KEY)).to_request();
    assert!(req.head().headers.get(header::CONTENT_LENGTH).is_none());
    let (req, _) = req.replace_payload(Payload::Stream { payload: stream });

    let answer = read(test::call_service(&app, req).await).await;

    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.json, json!({"error": "payload_too_large"}));
}

#[actix_web::test]
async fn a_chunked_body_within_the_limit_is_read_whole() {
    let mocks = receiving(|d| d.raw_body == FILLED.as_bytes(), Ok(receipt(EventOutcome::Applied)));
    let app = test::init_service(App::new().configure(mocks.configure(config()))).await;
    let (head, tail) = FILLED.split_at(20);
    let chunks = [Ok(Bytes::from(head.to_owned())), Ok(Bytes::from(tail.to_owned()))];
    let stream: BoxedStream = Box::pin(stream::iter(chunks));
    let req = TestRequest::post().uri("/webhook").insert_header(("API-Key", KEY)).to_request();
    let (req, _) = req.replace_payload(Payload::Stream { payload: stream });

    let answer = read(test::call_service(&app, req).await).await;

    assert_eq!(answer.status, StatusCode::OK);
}

#[actix_web::test]
async fn a_body_that_breaks_off_is_400_json() {
    let app =
        test::init_service(App::new().configure(Mocks::untouched().configure(config()))).await;
    let chunks = [Ok(Bytes::from_static(b"{\"ref")), Err(PayloadError::Incomplete(None))];
    let stream: BoxedStream = Box::pin(stream::iter(chunks));
    let req = TestRequest::post().uri("/webhook").insert_header(("API-Key", KEY)).to_request();
    let (req, _) = req.replace_payload(Payload::Stream { payload: stream });

    let answer = read(test::call_service(&app, req).await).await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.json,
        json!({"error": "incomplete_body", "message": "request body ended before its announced end"})
    );
}

// --- refused bodies: recorded by the core, answered 400 ---

#[actix_web::test]
async fn malformed_json_reaches_the_core_as_a_rejection_and_is_400() {
    let body = r#"{"reference_id":"ref-1","status":"FILLED",}"#;
    let mocks = receiving(
        |d| {
            d.raw_body == br#"{"reference_id":"ref-1","status":"FILLED",}"#
                && matches!(&d.content, Err(r) if r.outcome == EventOutcome::MalformedJson
                    && r.message.starts_with("body is not valid JSON"))
        },
        Ok(Receipt {
            outcome: EventOutcome::MalformedJson,
            reference_id: None,
            status: None,
            credited: Amount::ZERO,
            message: Some("body is not valid JSON: trailing comma".to_owned()),
            ..receipt(EventOutcome::MalformedJson)
        }),
    );

    let answer = send(mocks, signed(body)).await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.json,
        json!({"error": "malformed_json", "message": "body is not valid JSON: trailing comma"})
    );
}

#[actix_web::test]
async fn an_invalid_payload_reaches_the_core_as_a_rejection_and_is_400() {
    let body = r#"{"status":"FILLED"}"#;
    let mocks = receiving(
        |d| matches!(&d.content, Err(r) if r.outcome == EventOutcome::InvalidPayload),
        Ok(Receipt {
            outcome: EventOutcome::InvalidPayload,
            reference_id: None,
            status: None,
            credited: Amount::ZERO,
            message: Some("reference_id is missing".to_owned()),
            ..receipt(EventOutcome::InvalidPayload)
        }),
    );

    let answer = send(mocks, signed(body)).await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.json,
        json!({"error": "invalid_payload", "message": "reference_id is missing"})
    );
}

#[actix_web::test]
async fn a_payload_the_core_finds_invalid_is_400_with_its_message() {
    // The body parses, but the core's credit policy refuses it (e.g. FILLED without customer).
    let mocks = receiving(
        |d| is_payment(d, "ref-1"),
        Ok(Receipt {
            outcome: EventOutcome::InvalidPayload,
            message: Some("FILLED notification without customer_id".to_owned()),
            credited: Amount::ZERO,
            ..receipt(EventOutcome::InvalidPayload)
        }),
    );

    let answer = send(mocks, signed(FILLED)).await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.json,
        json!({"error": "invalid_payload", "message": "FILLED notification without customer_id"})
    );
}

// --- every 200 answer ---

#[actix_web::test]
async fn each_payment_outcome_has_the_notification_shape() {
    for (outcome, name) in [
        (EventOutcome::Applied, "applied"),
        (EventOutcome::Duplicate, "duplicate"),
        (EventOutcome::Stale, "stale"),
        (EventOutcome::Ignored, "ignored"),
        // CONFIRM_BEFORE_CREDIT: recorded, PayRam's API asked again later; PayRam need not retry.
        (EventOutcome::Waiting, "waiting"),
    ] {
        let credited = if outcome == EventOutcome::Applied { "50.00" } else { "0" };
        let mocks = receiving(
            |_| true,
            Ok(Receipt {
                credited: Amount::parse(credited).unwrap(),
                status: Some(
                    if outcome == EventOutcome::Ignored { "CLOSED" } else { "FILLED" }.to_owned(),
                ),
                ..receipt(outcome)
            }),
        );

        let answer = send(mocks, signed(FILLED)).await;

        assert_eq!(answer.status, StatusCode::OK, "{name}");
        assert_eq!(
            answer.json,
            json!({
                "outcome": name,
                "reference_id": "ref-1",
                "status": if outcome == EventOutcome::Ignored { "CLOSED" } else { "FILLED" },
                "credited": credited,
            })
        );
    }
}

#[actix_web::test]
async fn a_payout_has_the_payout_shape() {
    let mocks = receiving(
        |d| matches!(&d.content, Ok(Inbound::Payout(p)) if p.payout_id == "42"),
        Ok(Receipt {
            outcome: EventOutcome::Payout,
            reference_id: None,
            payout_id: Some("42".to_owned()),
            status: Some("SENT".to_owned()),
            credited: Amount::ZERO,
            ..receipt(EventOutcome::Payout)
        }),
    );

    let answer = send(mocks, signed(PAYOUT)).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json,
        json!({
            "outcome": "payout",
            "reference_id": null,
            "payout_id": "42",
            "status": "SENT",
            "credited": "0"
        })
    );
}

#[actix_web::test]
async fn an_authenticated_ping_is_recorded_by_the_core_and_answered_ping() {
    let mocks = receiving(
        |d| matches!(d.content, Ok(Inbound::Ping)),
        Ok(Receipt {
            outcome: EventOutcome::Ping,
            reference_id: None,
            status: None,
            credited: Amount::ZERO,
            ..receipt(EventOutcome::Ping)
        }),
    );

    let answer = send(mocks, signed(PING)).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json, json!({"outcome": "ping"}));
}

// --- storage failures ---

async fn answer_to_failure(err: RepositoryError) -> super::Answer {
    send(receiving(|_| true, Err(ServiceError::Repository(err))), signed(FILLED)).await
}

#[actix_web::test]
async fn unavailable_storage_is_503() {
    let answer = answer_to_failure(RepositoryError::Unavailable("database is locked".into())).await;

    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.json, json!({"error": "storage_unavailable"}));
}

#[actix_web::test]
async fn a_write_conflict_is_503() {
    let answer = answer_to_failure(RepositoryError::Conflict).await;

    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.json, json!({"error": "storage_unavailable"}));
}

#[actix_web::test]
async fn corrupt_storage_is_500_without_the_cause() {
    let answer = answer_to_failure(RepositoryError::Corrupt("row 7 is bad".into())).await;

    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(answer.json, json!({"error": "internal"}));
}
