//! The PayRam API adapter: implements the [`PayramGateway`] port by calling PayRam's payment
//! lookup, `GET {base}/api/v1/payment/reference/{reference_id}` with the header `API-Key`,
//! over HTTP or HTTPS (rustls) with `reqwest`.
//!
//! **Architecture invariant:** the only crate that calls PayRam; it knows HTTP client details
//! (status codes, timeouts, redirects, error bodies) and nothing of storage. What it returns is
//! domain values read by [`payram_protocol::parse_payment_lookup`] (money exact, never a float)
//! and the answer body byte for byte, or a [`GatewayError`].
//!
//! How it keeps its promises:
//! - The API key only ever travels in the `API-Key` header, marked sensitive; it is never
//!   logged, never in a URL, and it is cut out of any message PayRam sends back.
//! - Every call is bounded: a connect timeout and a total timeout (body included).
//! - Redirects are not followed, so the key is never sent to another address than the
//!   configured one.

use std::{fmt, time::Duration};

use async_trait::async_trait;
use reqwest::{
    StatusCode, Url,
    header::{ACCEPT, HeaderValue},
};

use payram_domain::ReferenceId;
use payram_ports::{GatewayError, PayramGateway, PayramPayment};

/// The header carrying the project API key.
const API_KEY_HEADER: &str = "API-Key";

/// The largest answer read; a payment is a few hundred bytes.
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// The longest message from an error body kept in a [`GatewayError`].
const MAX_MESSAGE_CHARS: usize = 300;

/// Where PayRam is and how to call it. `Debug` never shows the key.
#[derive(Clone)]
pub struct ApiConfig {
    base_url: Url,
    api_key: HeaderValue,
    /// Longest wait for the TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Longest wait for the whole call, answer body included.
    pub timeout: Duration,
}

/// Why an [`ApiConfig`] or a [`PayramApi`] cannot be made. Never contains the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("PayRam base URL {url:?} {problem}")]
    BaseUrl { url: String, problem: &'static str },
    #[error("the PayRam API key cannot be sent in an HTTP header (control characters)")]
    ApiKey,
    #[error("a PayRam API timeout must be longer than zero")]
    Timeout,
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
}

impl ApiConfig {
    /// Connect timeout by default.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    /// Total timeout by default.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

    /// Checks the base URL (`http` or `https`, a host, no credentials, query or fragment; a
    /// path prefix is kept) and the key, with the default timeouts.
    pub fn new(base_url: &str, api_key: &[u8]) -> Result<Self, ConfigError> {
        let bad = |problem| ConfigError::BaseUrl { url: base_url.to_owned(), problem };
        let url = Url::parse(base_url.trim()).map_err(|_| bad("is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("must start with http:// or https://"));
        }
        if url.host().is_none() || url.cannot_be_a_base() {
            return Err(bad("has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("must not contain credentials (the API key is sent as a header)"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("must not have a query or a fragment"));
        }
        let mut api_key = HeaderValue::from_bytes(api_key).map_err(|_| ConfigError::ApiKey)?;
        api_key.set_sensitive(true);
        Ok(Self {
            base_url: url,
            api_key,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            timeout: Self::DEFAULT_TIMEOUT,
        })
    }

    /// Replaces the timeouts.
    #[must_use]
    pub const fn with_timeouts(mut self, connect_timeout: Duration, timeout: Duration) -> Self {
        self.connect_timeout = connect_timeout;
        self.timeout = timeout;
        self
    }

    /// The base URL as configured.
    #[must_use]
    pub const fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The lookup URL of a reference; the reference is one percent-encoded path segment.
    #[must_use]
    pub fn lookup_url(&self, reference_id: &ReferenceId) -> Url {
        let mut url = self.base_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(["api", "v1", "payment", "reference"]);
            segments.push(reference_id.as_str());
        }
        url
    }
}

impl fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiConfig")
            .field("base_url", &self.base_url.as_str())
            .field("api_key", &"<redacted>")
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The [`PayramGateway`] port on PayRam's HTTP API.
#[derive(Clone, Debug)]
pub struct PayramApi {
    client: reqwest::Client,
    config: ApiConfig,
}

impl PayramApi {
    /// Builds the HTTP client (TLS roots included) once; calls share its connections.
    pub fn new(config: ApiConfig) -> Result<Self, ConfigError> {
        if config.connect_timeout.is_zero() || config.timeout.is_zero() {
            return Err(ConfigError::Timeout);
        }
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("payram-merchant/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ConfigError::Client)?;
        Ok(Self { client, config })
    }

    /// Sends the lookup and reads the whole answer, within the limits.
    async fn fetch(
        &self,
        reference_id: &ReferenceId,
    ) -> Result<(StatusCode, Vec<u8>), GatewayError> {
        let mut response = self
            .client
            .get(self.config.lookup_url(reference_id))
            .header(API_KEY_HEADER, self.config.api_key.clone())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len().saturating_add(chunk.len()) > MAX_ANSWER_BYTES {
                return Err(GatewayError::Malformed(format!(
                    "the answer is larger than {MAX_ANSWER_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    }

    /// A message fit for logs and the command line: PayRam's own words when it gave some,
    /// on one line, short, and without the key.
    fn message(&self, status: StatusCode, body: &[u8]) -> String {
        let text = error_message(body)
            .or_else(|| std::str::from_utf8(body).ok().map(str::to_owned))
            .filter(|text| !text.trim().is_empty())
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("no message").to_owned());
        let mut text = match self.config.api_key.to_str() {
            Ok(key) if !key.is_empty() => text.replace(key, "<redacted>"),
            _ => text,
        };
        text = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        let text = text.trim();
        match text.char_indices().nth(MAX_MESSAGE_CHARS) {
            Some((end, _)) => format!("{}...", &text[..end]),
            None => text.to_owned(),
        }
    }
}

#[async_trait]
impl PayramGateway for PayramApi {
    #[tracing::instrument(name = "payram_lookup", skip_all, fields(reference_id = %payram_domain::Escaped(reference_id)))]
    async fn payment(&self, reference_id: &ReferenceId) -> Result<PayramPayment, GatewayError> {
        let (status, body) = self.fetch(reference_id).await?;
        tracing::debug!(status = status.as_u16(), bytes = body.len(), "PayRam answered");
        if status.is_success() {
            let notification = payram_protocol::parse_payment_lookup(&body)
                .map_err(|err| GatewayError::Malformed(err.to_string()))?;
            if notification.reference_id != *reference_id {
                return Err(GatewayError::Malformed(format!(
                    "asked about {reference_id}, answered about {}",
                    notification.reference_id
                )));
            }
            return Ok(PayramPayment { notification, raw_body: body });
        }
        let message = self.message(status, &body);
        match status {
            StatusCode::NOT_FOUND => Err(GatewayError::NotFound(message)),
            StatusCode::UNAUTHORIZED => Err(GatewayError::Rejected(
                status.as_u16(),
                format!("{message} (a wrong API key, or a reference PayRam does not know)"),
            )),
            _ if status.is_redirection() => Err(GatewayError::Rejected(
                status.as_u16(),
                format!("{message} (redirects are not followed: configure the final address)"),
            )),
            _ => Err(GatewayError::Rejected(status.as_u16(), message)),
        }
    }
}

/// A failure to exchange the request and the answer.
fn transport(err: reqwest::Error) -> GatewayError {
    if err.is_timeout() {
        return GatewayError::Timeout;
    }
    GatewayError::Unreachable(Box::new(err.without_url()))
}

/// The message of PayRam's error body: `{"error":{"code","message"}}`, `{"code","message"}`
/// or `{"error":"text"}`.
fn error_message(body: &[u8]) -> Option<String> {
    use serde_json::Value;

    let value: Value = serde_json::from_slice(body).ok()?;
    let error = value.get("error").unwrap_or(&value);
    match error {
        Value::String(text) => Some(text.clone()),
        Value::Object(fields) => {
            let message = fields.get("message").and_then(Value::as_str);
            let code = fields.get("code").map(|code| match code {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            });
            match (message, code) {
                (Some(message), Some(code)) => Some(format!("{message} (code {code})")),
                (Some(message), None) => Some(message.to_owned()),
                (None, Some(code)) => Some(format!("code {code}")),
                (None, None) => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_error_shapes_give_the_message_and_code() {
        assert_eq!(
            error_message(br#"{"error":{"code":"UNAUTHORIZED","message":"invalid api key"}}"#)
                .as_deref(),
            Some("invalid api key (code UNAUTHORIZED)")
        );
        assert_eq!(
            error_message(br#"{"code":401,"message":"payment not found"}"#).as_deref(),
            Some("payment not found (code 401)")
        );
        assert_eq!(error_message(br#"{"error":"boom"}"#).as_deref(), Some("boom"));
        assert_eq!(error_message(b"<html>"), None);
        assert_eq!(error_message(br#"{"other":1}"#), None);
    }

    #[test]
    fn the_reference_is_one_encoded_segment_after_the_base_path() {
        let reference = ReferenceId::parse("a/b c?d").unwrap();
        for base in ["https://pay.example/prefix", "https://pay.example/prefix/"] {
            let config = ApiConfig::new(base, b"key").unwrap();
            assert_eq!(
                config.lookup_url(&reference).as_str(),
                "https://pay.example/prefix/api/v1/payment/reference/a%2Fb%20c%3Fd"
            );
        }
        let config = ApiConfig::new("http://127.0.0.1:8080", b"key").unwrap();
        assert_eq!(
            config.lookup_url(&ReferenceId::parse("r-1").unwrap()).as_str(),
            "http://127.0.0.1:8080/api/v1/payment/reference/r-1"
        );
    }

    #[test]
    fn unusable_base_urls_and_keys_are_refused() {
        for base in [
            "",
            "payram.local",
            "ftp://payram.local",
            "https://u:p@payram.local",
            "https://payram.local/?a=1",
        ] {
            assert!(
                matches!(ApiConfig::new(base, b"k"), Err(ConfigError::BaseUrl { .. })),
                "{base}"
            );
        }
        assert!(matches!(
            ApiConfig::new("https://payram.local", b"a\nb"),
            Err(ConfigError::ApiKey)
        ));
    }

    #[test]
    fn debug_never_shows_the_key() {
        let config = ApiConfig::new("https://payram.local", b"super-secret-key").unwrap();
        let api = PayramApi::new(config.clone()).unwrap();
        assert!(!format!("{config:?} {api:?}").contains("super-secret-key"));
    }

    #[test]
    fn messages_are_one_short_line_without_the_key() {
        let api = PayramApi::new(ApiConfig::new("https://payram.local", b"k3y").unwrap()).unwrap();
        let message = api.message(
            StatusCode::UNAUTHORIZED,
            br#"{"error":{"message":"key k3y is not valid\nat all"}}"#,
        );
        assert_eq!(message, "key <redacted> is not valid at all");
        let long = "x".repeat(1000);
        assert_eq!(api.message(StatusCode::BAD_GATEWAY, long.as_bytes()).len(), 303);
        assert_eq!(api.message(StatusCode::BAD_GATEWAY, b""), "Bad Gateway");
    }
}
