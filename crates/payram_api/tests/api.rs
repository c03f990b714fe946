//! The adapter against a fake PayRam: a real HTTP server on a loopback port, started by each
//! test, answering what the test tells it to.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    task::JoinHandle,
};

use payram_api::{ApiConfig, PayramApi};
use payram_domain::{PaymentStatus, ReferenceId, ReportedStatus};
use payram_ports::{GatewayError, PayramGateway};

const KEY: &str = "payram-test-project-api-key-0001";

/// What the fake answers to every request.
#[derive(Clone)]
enum Reply {
    /// A status line with this code, `Content-Type: application/json` and the body.
    Answer(u16, &'static str),
    /// Accepts the connection and reads the request, but never answers.
    Silent,
}

/// A fake PayRam server; it stops when dropped.
struct FakePayram {
    addr: SocketAddr,
    /// The head (request line and headers) of every request received.
    requests: Arc<Mutex<Vec<String>>>,
    server: JoinHandle<()>,
}

impl FakePayram {
    async fn start(reply: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        let server = tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let seen = Arc::clone(&seen);
                let reply = reply.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        let n = stream.read(&mut buf).await.unwrap();
                        if n == 0 {
                            return;
                        }
                        head.extend_from_slice(&buf[..n]);
                    }
                    seen.lock().unwrap().push(String::from_utf8_lossy(&head).into_owned());
                    match reply {
                        Reply::Answer(status, body) => {
                            let answer = format!(
                                "HTTP/1.1 {status} Fake\r\nContent-Type: application/json\r\n\
                                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            );
                            stream.write_all(answer.as_bytes()).await.unwrap();
                        }
                        Reply::Silent => {
                            // Keeps the connection open without a word until the test ends.
                            let _ = stream.read(&mut buf).await;
                        }
                    }
                });
            }
        });
        Self { addr, requests, server }
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn api(&self) -> PayramApi {
        PayramApi::new(ApiConfig::new(&self.base(), KEY.as_bytes()).unwrap()).unwrap()
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakePayram {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn reference(text: &str) -> ReferenceId {
    ReferenceId::parse(text).unwrap()
}

async fn look_up(reply: Reply) -> Result<payram_ports::PayramPayment, GatewayError> {
    let fake = FakePayram::start(reply).await;
    fake.api().payment(&reference("ref-1")).await
}

const FILLED: &str = r#"{"referenceID":"ref-1","invoiceID":"inv-1","customerID":"cust-1","paymentState":"FILLED","amountInUSD":"50","filledAmount":"0.0125","filledAmountInUSD":"50.00","currencySymbol":"ETH","depositAddress":"0xabc","createdAt":"2026-11-26T12:00:00Z","somethingNew":{"a":[1]}}"#;

#[tokio::test]
async fn a_payment_is_read_exactly_with_the_first_key_and_its_body_kept() {
    let fake = FakePayram::start(Reply::Answer(200, FILLED)).await;

    let payment = fake.api().payment(&reference("ref-1")).await.unwrap();

    let n = &payment.notification;
    assert_eq!(n.reference_id.as_str(), "ref-1");
    assert_eq!(n.status, ReportedStatus::Known(PaymentStatus::Filled));
    assert_eq!(n.customer_id.as_ref().unwrap().as_str(), "cust-1");
    assert_eq!(n.invoice_id.as_deref(), Some("inv-1"));
    assert_eq!(n.currency.as_deref(), Some("ETH"));
    assert_eq!(n.filled_amount.unwrap().to_string(), "0.0125");
    assert_eq!(n.filled_amount_in_usd.unwrap().to_string(), "50.00");
    assert_eq!(payment.raw_body, FILLED.as_bytes(), "the answer is kept byte for byte");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].starts_with("GET /api/v1/payment/reference/ref-1 HTTP/1.1\r\n"));
    assert!(requests[0].to_ascii_lowercase().contains(&format!("api-key: {KEY}\r\n")));
}

#[tokio::test]
async fn numbers_and_nulls_are_read_exactly() {
    let payment = look_up(Reply::Answer(
        200,
        r#"{"referenceID":"ref-1","paymentState":"partially_filled","customerID":"cust-1","filledAmount":null,"filledAmountInUSD":49.999999999999998,"invoiceID":null}"#,
    ))
    .await
    .unwrap();

    let n = payment.notification;
    assert_eq!(n.status, ReportedStatus::Known(PaymentStatus::PartiallyFilled));
    assert_eq!(n.filled_amount_in_usd.unwrap().to_string(), "49.999999999999998");
    assert_eq!((n.filled_amount, n.invoice_id), (None, None));
}

#[tokio::test]
async fn a_silent_server_times_out_within_the_limit() {
    let fake = FakePayram::start(Reply::Silent).await;
    let config = ApiConfig::new(&fake.base(), KEY.as_bytes())
        .unwrap()
        .with_timeouts(Duration::from_millis(500), Duration::from_millis(300));
    let started = Instant::now();

    let err = PayramApi::new(config).unwrap().payment(&reference("ref-1")).await.unwrap_err();

    assert!(matches!(err, GatewayError::Timeout), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(fake.requests().len(), 1, "the request did reach the server");
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let api = PayramApi::new(ApiConfig::new(&base, KEY.as_bytes()).unwrap()).unwrap();

    let err = api.payment(&reference("ref-1")).await.unwrap_err();

    assert!(matches!(err, GatewayError::Unreachable(_)), "{err:?}");
}

#[tokio::test]
async fn a_server_error_is_rejected_with_its_status_and_message() {
    let err = look_up(Reply::Answer(503, r#"{"error":{"code":"DOWN","message":"maintenance"}}"#))
        .await
        .unwrap_err();

    let GatewayError::Rejected(503, message) = &err else { panic!("{err:?}") };
    assert_eq!(message, "maintenance (code DOWN)");
}

#[tokio::test]
async fn a_401_keeps_the_message_of_both_error_shapes() {
    for body in [
        r#"{"error":{"code":"UNAUTHORIZED","message":"invalid api key"}}"#,
        r#"{"code":"UNAUTHORIZED","message":"invalid api key"}"#,
    ] {
        let err = look_up(Reply::Answer(401, body)).await.unwrap_err();

        let GatewayError::Rejected(401, message) = &err else { panic!("{err:?}") };
        assert!(message.starts_with("invalid api key (code UNAUTHORIZED)"), "{message}");
        assert!(message.contains("wrong API key") && message.contains("does not know"));
        assert!(err.to_string().contains("HTTP 401"));
    }
}

#[tokio::test]
async fn a_404_is_not_found() {
    let err = look_up(Reply::Answer(404, r#"{"code":"NOT_FOUND","message":"no such payment"}"#))
        .await
        .unwrap_err();

    assert!(matches!(&err, GatewayError::NotFound(m) if m.contains("no such payment")), "{err:?}");
}

#[tokio::test]
async fn a_malformed_answer_is_refused() {
    for body in [
        r#"{"referenceID":"ref-1","paymentState":"FILLED",}"#,
        "<html>oops</html>",
        "",
        r#"{"referenceID":"ref-1"}"#,
        r#"{"referenceID":"ref-1","paymentState":"FILLED","filledAmountInUSD":"fifty"}"#,
    ] {
        let err = look_up(Reply::Answer(200, body)).await.unwrap_err();

        assert!(matches!(err, GatewayError::Malformed(_)), "{body}: {err:?}");
    }
}

#[tokio::test]
async fn an_answer_about_another_payment_is_refused() {
    let err = look_up(Reply::Answer(200, r#"{"referenceID":"ref-2","paymentState":"FILLED"}"#))
        .await
        .unwrap_err();

    assert!(matches!(&err, GatewayError::Malformed(m) if m.contains("ref-2")), "{err:?}");
}

#[tokio::test]
async fn a_redirect_is_not_followed_so_the_key_stays_home() {
    let fake = FakePayram::start(Reply::Answer(302, "")).await;

    let err = fake.api().payment(&reference("ref-1")).await.unwrap_err();

    assert!(matches!(err, GatewayError::Rejected(302, _)), "{err:?}");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn errors_never_show_the_key() {
    let body = format!(r#"{{"error":{{"message":"key {KEY} revoked"}}}}"#).leak();
    let err = look_up(Reply::Answer(403, body)).await.unwrap_err();

    let text = format!("{err} {err:?}");
    assert!(!text.contains(KEY), "{text}");
    assert!(text.contains("revoked"));
}
