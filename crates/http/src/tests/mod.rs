//! Handler tests: the real routes over `actix_web::test`, with the ports (the use cases and
//! the read-only queries) mocked.

mod admin;
mod dashboard;
mod events;
mod guard;
mod headers;
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
    web,
};
use secrecy::SecretString;
use serde_json::Value;

use payram_ports::{MockOutboxUseCases, MockPaymentUseCases, MockQueries, MockSessionRevocations};
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
        metrics_token: None,
        guessing: crate::Guessing::per_minute(20),
    }
}

/// The status, headers and JSON body of the answer.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
}

/// The ports [`configure`] takes, mocked: the use cases and the read-only queries.
struct Mocks {
    use_cases: MockPaymentUseCases,
    queries: MockQueries,
}

impl Mocks {
    /// Neither port may be called at all.
    fn untouched() -> Self {
        Self { use_cases: untouched_use_cases(), queries: untouched_queries() }
    }

    /// These use cases; no query may be made.
    fn with_use_cases(use_cases: MockPaymentUseCases) -> Self {
        Self { use_cases, ..Self::untouched() }
    }

    /// These queries; no use case may be called.
    fn with_queries(queries: MockQueries) -> Self {
        Self { queries, ..Self::untouched() }
    }

    /// Registers every route of [`configure`] around these mocks and `config`.
    fn configure(self, config: HttpConfig) -> impl FnOnce(&mut web::ServiceConfig) {
        configure(Arc::new(self.use_cases), Arc::new(self.queries), Arc::new(config))
    }
}

/// Builds the app around `mocks` and `config`, sends one request, reads the JSON answer.
async fn send_with(mocks: Mocks, config: HttpConfig, req: TestRequest) -> Answer {
    let app = test::init_service(App::new().configure(mocks.configure(config))).await;
    read(test::call_service(&app, req.to_request()).await).await
}

async fn send(mocks: Mocks, req: TestRequest) -> Answer {
    send_with(mocks, config(), req).await
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
fn untouched_use_cases() -> MockPaymentUseCases {
    let mut use_cases = MockPaymentUseCases::new();
    use_cases.expect_receive().never();
    use_cases.expect_replay().never();
    use_cases.expect_replay_since().never();
    use_cases.expect_retry_due().never();
    use_cases.expect_retry_failed().never();
    use_cases
}

/// A query mock that must not be called at all.
fn untouched_queries() -> MockQueries {
    let mut queries = MockQueries::new();
    queries.expect_payment().never();
    queries.expect_customer().never();
    queries.expect_events().never();
    queries.expect_event().never();
    queries.expect_payments().never();
    queries.expect_customers().never();
    queries.expect_credits().never();
    queries.expect_key_usage().never();
    queries.expect_stats().never();
    queries.expect_ping().never();
    queries.expect_outbox().never();
    queries
}

/// An outbox use-case mock that must not be called at all.
fn untouched_outbox() -> MockOutboxUseCases {
    let mut outbox = MockOutboxUseCases::new();
    outbox.expect_replay().never();
    outbox.expect_deliver_due().never();
    outbox
}

/// A sign-out recorder that must not be called at all.
fn untouched_sessions() -> Arc<MockSessionRevocations> {
    let mut sessions = MockSessionRevocations::new();
    sessions.expect_revoke_session().never();
    Arc::new(sessions)
}
