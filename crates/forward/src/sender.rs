use std::time::Duration;

use async_trait::async_trait;
use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, SecondsFormat, Utc};

use payram_ports::{CreditError, Crediting, RecordedCredit};
use payram_protocol::hmac_sha256_parts;

use crate::ForwardSecret;

/// How much of a refusing receiver's answer is kept in the error.
const ANSWER_EXCERPT: usize = 200;

/// The JSON body forwarded for a credit, in the Standard Webhooks payload shape
/// (`type`, `timestamp`, `data`). Amounts are exact decimal strings. The same credit always
/// gives the same bytes.
#[must_use]
pub fn body(credit: &RecordedCredit) -> Vec<u8> {
    let created_at = credit.created_at.to_rfc3339_opts(SecondsFormat::Micros, true);
    serde_json::json!({
        "type": "credit.created",
        "timestamp": created_at,
        "data": {
            "credit_id": credit.id,
            "customer_id": credit.customer_id.as_str(),
            "reference_id": credit.reference_id.as_str(),
            "amount_usd": credit.amount_usd.to_string(),
            "credited_total_usd": credit.credited_total_usd.to_string(),
            "status": credit.status.as_str(),
            "event_id": credit.event_id,
            "created_at": created_at,
        }
    })
    .to_string()
    .into_bytes()
}

/// `v1,<base64 of HMAC-SHA256("id.timestamp.body")>` under the secret's decoded bytes.
#[must_use]
pub fn sign(secret: &ForwardSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let timestamp = timestamp.to_string();
    let tag =
        hmac_sha256_parts(secret.key(), &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body]);
    format!("v1,{}", STANDARD.encode(tag))
}

/// POSTs each credit to the merchant's application (`CREDIT_FORWARD_URL`), signed with
/// `CREDIT_FORWARD_SECRET`. Only a 2xx answer counts as delivered.
#[derive(Clone, Debug)]
pub struct HttpForwarder {
    client: reqwest::Client,
    url: String,
    secret: ForwardSecret,
}

impl HttpForwarder {
    /// A forwarder whose every request gives up after `timeout`.
    pub fn new(
        url: impl Into<String>,
        secret: ForwardSecret,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(timeout)
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { client, url: url.into(), secret })
    }

    async fn send(&self, credit: &RecordedCredit, now: DateTime<Utc>) -> Result<(), CreditError> {
        let id = credit.webhook_id();
        let body = body(credit);
        let timestamp = now.timestamp();
        let signature = sign(&self.secret, &id, timestamp, &body);
        let response = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|err| CreditError::Failed(Box::new(err.without_url())))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let answer = response.text().await.unwrap_or_default();
        let excerpt: String = answer.chars().take(ANSWER_EXCERPT).collect();
        Err(CreditError::Failed(format!("the receiver answered {status}: {excerpt}").into()))
    }
}

#[async_trait]
impl Crediting for HttpForwarder {
    async fn credit(&self, credit: &RecordedCredit) -> Result<(), CreditError> {
        self.send(credit, Utc::now()).await
    }
}

#[cfg(test)]
mod tests {
    use payram_domain::{Amount, CustomerId, PaymentStatus, ReferenceId};
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::TcpListener,
        sync::mpsc,
    };

    use super::*;

    fn credit() -> RecordedCredit {
        RecordedCredit {
            id: 42,
            reference_id: ReferenceId::parse("ref-1").unwrap(),
            customer_id: CustomerId::parse("cust-1").unwrap(),
            amount_usd: Amount::parse("49.999999999999998").unwrap(),
            credited_total_usd: Amount::parse("100.00").unwrap(),
            status: PaymentStatus::Filled,
            event_id: 7,
            created_at: DateTime::parse_from_rfc3339("2026-03-04T05:06:07.123456Z")
                .unwrap()
                .to_utc(),
        }
    }

    fn secret() -> ForwardSecret {
        ForwardSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap()
    }

    /// The test vector of the Standard Webhooks specification and its reference libraries.
    #[test]
    fn the_signature_matches_the_standard_webhooks_test_vector() {
        let signature = sign(
            &secret(),
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn the_body_carries_the_credit_exactly_and_is_stable() {
        let body = body(&credit());
        assert_eq!(body, super::body(&credit()), "the same credit, the same bytes");
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["type"], "credit.created");
        assert_eq!(
            value["data"],
            serde_json::json!({
                "credit_id": 42,
                "customer_id": "cust-1",
                "reference_id": "ref-1",
                "amount_usd": "49.999999999999998",
                "credited_total_usd": "100.00",
                "status": "FILLED",
                "event_id": 7,
                "created_at": "2026-03-04T05:06:07.123456Z",
            })
        );
        assert_eq!(credit().webhook_id(), "credit_42");
    }

    /// One request as a minimal HTTP/1.1 server saw it: head lines and body.
    struct Seen {
        head: String,
        body: Vec<u8>,
    }

    /// A real HTTP receiver on a loopback port answering every request with `status`.
    async fn receiver(status: u16) -> (String, mpsc::UnboundedReceiver<Seen>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/credits", listener.local_addr().unwrap());
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut data = Vec::new();
                let mut buf = [0; 4096];
                let (head, body) = loop {
                    let n = stream.read(&mut buf).await.unwrap();
                    data.extend_from_slice(&buf[..n]);
                    let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8(data[..end].to_vec()).unwrap();
                    let length: usize = head
                        .lines()
                        .find_map(|line| {
                            let (name, value) = line.split_once(':')?;
                            name.eq_ignore_ascii_case("content-length")
                                .then(|| value.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    while data.len() < end + 4 + length {
                        let n = stream.read(&mut buf).await.unwrap();
                        data.extend_from_slice(&buf[..n]);
                    }
                    break (head, data[end + 4..end + 4 + length].to_vec());
                };
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: 4\r\nconnection: close\r\n\r\nnope"
                );
                stream.write_all(answer.as_bytes()).await.unwrap();
                tx.send(Seen { head, body }).unwrap();
            }
        });
        (url, rx)
    }

    fn header<'a>(head: &'a str, name: &str) -> &'a str {
        head.lines()
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.eq_ignore_ascii_case(name).then_some(value.trim())
            })
            .unwrap_or_else(|| panic!("no {name} header in {head}"))
    }

    #[tokio::test]
    async fn a_credit_is_posted_signed_and_a_2xx_is_delivered() {
        let (url, mut seen) = receiver(204).await;
        let forwarder = HttpForwarder::new(url, secret(), Duration::from_secs(10)).unwrap();
        forwarder.credit(&credit()).await.unwrap();
        let request = seen.recv().await.unwrap();
        assert!(request.head.starts_with("POST /credits HTTP/1.1"), "{}", request.head);
        assert_eq!(request.body, body(&credit()));
        assert_eq!(header(&request.head, "webhook-id"), "credit_42");
        let timestamp: i64 = header(&request.head, "webhook-timestamp").parse().unwrap();
        assert!((Utc::now().timestamp() - timestamp).abs() < 300, "a current timestamp");
        assert_eq!(
            header(&request.head, "webhook-signature"),
            sign(&secret(), "credit_42", timestamp, &request.body)
        );
        assert_eq!(header(&request.head, "content-type"), "application/json");
    }

    #[tokio::test]
    async fn anything_but_a_2xx_is_a_failure_naming_the_answer() {
        for status in [302, 400, 500, 503] {
            let (url, _seen) = receiver(status).await;
            let forwarder = HttpForwarder::new(url, secret(), Duration::from_secs(10)).unwrap();
            let err = forwarder.credit(&credit()).await.unwrap_err();
            let text = payram_ports::ErrorChain(&err).to_string();
            assert!(text.contains(&status.to_string()) && text.contains("nope"), "{text}");
        }
    }

    #[tokio::test]
    async fn an_unreachable_receiver_is_a_failure() {
        // A port nobody listens on: bind, note it, close.
        let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
        let forwarder = HttpForwarder::new(
            format!("http://127.0.0.1:{port}/"),
            secret(),
            Duration::from_secs(5),
        )
        .unwrap();
        assert!(forwarder.credit(&credit()).await.is_err());
    }

    #[tokio::test]
    async fn a_receiver_that_never_answers_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        // Accepts and holds the connection without answering.
        let holder = tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                held.push(listener.accept().await.unwrap());
            }
        });
        let forwarder = HttpForwarder::new(url, secret(), Duration::from_millis(200)).unwrap();
        let err = forwarder.credit(&credit()).await.unwrap_err();
        assert!(payram_ports::ErrorChain(&err).to_string().contains("timed out"), "{err:?}");
        holder.abort();
    }
}
