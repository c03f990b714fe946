//! Handler tests: the real routes over `actix_web::test`, with the use cases mocked.

mod admin;
mod dashboard;
mod events;
mod lists;
mod metrics;
mod openapi;
mod outbox;
mod properties;
mod webhook;

use std::sync::Arc;

use actix_web::{
    App,
    body::MessageBody,
    dev::ServiceResponse,
    http::{StatusCode, header::HeaderMap},
    test::{self, TestRequest},
};
use secrecy::SecretString;
use serde_json::Value;

use payram_ports::MockPaymentUseCases;
use payram_protocol::ApiKeys;

use crate::{HttpConfig, configure};

/// The test key of `../shared/vectors`, second in the list.
const KEY: &str = "payram-test-project-api-key-0001";
/// An older key, first in the list (rotation).
const OLD_KEY: &str = "old-project-key";
const ADMIN_TOKEN: &str = "admin-secret-token";
const MAX_BODY: usize = 1024;

fn config() -> HttpConfig {
    HttpConfig {
        api_keys: ApiKeys::new([OLD_KEY, KEY]).unwrap(),
        webhook_path: "/webhook".to_owned(),
        require_signature: false,
        max_body_bytes: MAX_BODY,
        admin_token: Some(SecretString::from(ADMIN_TOKEN)),
    }
}

/// The status, headers and JSON body of the answer.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
}

/// Builds the app around `use_cases` and `config`, sends one request, reads the JSON answer.
async fn send_with(use_cases: MockPaymentUseCases, config: HttpConfig, req: TestRequest) -> Answer {
    let app =
        test::init_service(App::new().configure(configure(Arc::new(use_cases), Arc::new(config))))
            .await;
    read(test::call_service(&app, req.to_request()).await).await
}

async fn send(use_cases: MockPaymentUseCases, req: TestRequest) -> Answer {
    send_with(use_cases, config(), req).await
}

async fn read<B: MessageBody>(res: ServiceResponse<B>) -> Answer {
    let status = res.status();
    let headers = res.headers().clone();
    let content_type = headers.get("content-type").map(|v| v.to_str().unwrap().to_owned());
    let bytes = test::read_body(res).await;
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|err| panic!("answer {status} is not JSON ({err}): {bytes:?}"));
    assert_eq!(content_type.as_deref(), Some("application/json"), "answer {status}");
    Answer { status, headers, json }
}

/// A use-case mock that must not be called at all.
fn untouched() -> MockPaymentUseCases {
    let mut use_cases = MockPaymentUseCases::new();
    use_cases.expect_receive().never();
    use_cases.expect_payment().never();
    use_cases.expect_customer().never();
    use_cases.expect_events().never();
    use_cases.expect_event().never();
    use_cases.expect_replay().never();
    use_cases.expect_stats().never();
    use_cases.expect_payments().never();
    use_cases.expect_customers().never();
    use_cases.expect_credits().never();
    use_cases.expect_key_usage().never();
    use_cases
}
