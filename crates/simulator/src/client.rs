//! The HTTP side: a [`Request`] built with PayRam's headers, the [`Answer`], and the
//! [`Client`] that delivers one to the other (the only I/O of the simulator besides stdout).

use std::{fmt, time::Duration};

use clap::ValueEnum;

use payram_protocol::{API_KEY_HEADER, SIGNATURE_HEADER, TEST_HEADER};

use crate::{body::PING_BODY, error::SimulatorError};

/// HTTP methods PayRam uses for its webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HttpMethod {
    #[value(name = "POST")]
    Post,
    #[value(name = "GET")]
    Get,
}

impl HttpMethod {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Get => "GET",
        }
    }
}

/// One HTTP request, ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: HttpMethod,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// How a request authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `X-Payram-Signature` and `API-Key`, as current PayRam servers send.
    Signed,
    /// `API-Key` only, as older PayRam servers send.
    Legacy,
    /// No credentials, `X-Webhook-Test: true`: PayRam's test ping.
    TestPing,
}

impl Auth {
    /// How the request authenticates, for the lines `send` and `simulate` print.
    pub(crate) const fn describe(self) -> &'static str {
        match self {
            Self::Signed => "X-Payram-Signature and API-Key",
            Self::Legacy => "API-Key only",
            Self::TestPing => "unsigned test ping, X-Webhook-Test: true",
        }
    }
}

impl Request {
    /// A request carrying `body` with the headers of `auth` under `key`.
    #[must_use]
    pub fn new(method: HttpMethod, auth: Auth, key: &str, body: Vec<u8>) -> Self {
        let mut headers = vec![("content-type", "application/json".to_owned())];
        match auth {
            Auth::Signed => {
                headers.push((SIGNATURE_HEADER, payram_protocol::sign(key.as_bytes(), &body)));
                headers.push((API_KEY_HEADER, key.to_owned()));
            }
            Auth::Legacy => headers.push((API_KEY_HEADER, key.to_owned())),
            Auth::TestPing => headers.push((TEST_HEADER, "true".to_owned())),
        }
        Self { method, headers, body }
    }

    /// PayRam's test ping: POST, unsigned, `X-Webhook-Test: true`.
    #[must_use]
    pub fn test_ping() -> Self {
        Self::new(HttpMethod::Post, Auth::TestPing, "", PING_BODY.to_vec())
    }
}

/// What a receiver answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub reason: String,
    pub body: Vec<u8>,
}

impl Answer {
    #[must_use]
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} {}", self.status, self.reason)
    }
}

/// An HTTP client with a timeout on every request, for one webhook URL.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    url: reqwest::Url,
    timeout: Duration,
}

impl Client {
    /// A client for an `http://` or `https://` URL (TLS by rustls).
    pub fn new(url: &str, timeout_secs: u64) -> Result<Self, SimulatorError> {
        if timeout_secs == 0 {
            return Err(SimulatorError::ZeroTimeout);
        }
        let parsed = reqwest::Url::parse(url)
            .map_err(|reason| SimulatorError::NotAUrl { url: url.to_owned(), reason })?;
        match parsed.scheme() {
            "http" | "https" => {}
            other => {
                return Err(SimulatorError::Scheme {
                    url: url.to_owned(),
                    scheme: other.to_owned(),
                });
            }
        }
        let timeout = Duration::from_secs(timeout_secs);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A webhook is answered where it is sent: a redirect is reported, not followed.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(SimulatorError::HttpClient)?;
        Ok(Self { http, url: parsed, timeout })
    }

    #[must_use]
    pub const fn url(&self) -> &reqwest::Url {
        &self.url
    }

    /// Sends one request and reads the whole answer; a transport failure is a clear message.
    pub async fn deliver(&self, request: &Request) -> Result<Answer, SimulatorError> {
        let method = match request.method {
            HttpMethod::Post => reqwest::Method::POST,
            HttpMethod::Get => reqwest::Method::GET,
        };
        let mut builder = self.http.request(method, self.url.clone()).body(request.body.clone());
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        let response = builder.send().await.map_err(|err| self.transport_error(err))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|err| self.transport_error(err))?;
        Ok(Answer {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").to_owned(),
            body: body.to_vec(),
        })
    }

    fn transport_error(&self, transport: reqwest::Error) -> SimulatorError {
        let url = self.url.clone();
        if transport.is_timeout() {
            return SimulatorError::Timeout { url, secs: self.timeout.as_secs(), transport };
        }
        if transport.is_connect() {
            return SimulatorError::Connect { url, transport };
        }
        SimulatorError::Request { url, source: transport }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "payram-test-project-api-key-0001";

    #[test]
    fn requests_carry_the_headers_of_their_authentication() {
        let signed = Request::new(HttpMethod::Post, Auth::Signed, KEY, b"{}".to_vec());
        assert!(
            signed
                .headers
                .contains(&(SIGNATURE_HEADER, payram_protocol::sign(KEY.as_bytes(), b"{}")))
        );
        assert!(signed.headers.contains(&(API_KEY_HEADER, KEY.to_owned())));

        let legacy = Request::new(HttpMethod::Get, Auth::Legacy, KEY, b"{}".to_vec());
        assert!(legacy.headers.iter().all(|(name, _)| *name != SIGNATURE_HEADER));
        assert!(legacy.headers.contains(&(API_KEY_HEADER, KEY.to_owned())));

        let ping = Request::test_ping();
        assert_eq!(ping.body, PING_BODY);
        assert!(ping.headers.contains(&(TEST_HEADER, "true".to_owned())));
        assert!(ping.headers.iter().all(|(name, _)| *name != API_KEY_HEADER));
        assert!(payram_protocol::is_test_ping(Some(b"true"), &ping.body));
    }

    #[test]
    fn the_client_refuses_what_it_cannot_reach() {
        let err = Client::new("not a url", 10).unwrap_err();
        assert!(matches!(err, SimulatorError::NotAUrl { .. }), "{err:?}");
        assert!(err.to_string().contains("not a URL"), "{err}");
        assert!(
            Client::new("ftp://example.com/webhook", 10).unwrap_err().to_string().contains("https")
        );
        Client::new("https://example.com/webhook", 10).unwrap();
        let err = Client::new("http://127.0.0.1:8080/webhook", 0).unwrap_err();
        assert!(err.to_string().contains("--timeout"), "{err}");
        Client::new("http://127.0.0.1:8080/webhook", 1).unwrap();
    }

    #[tokio::test]
    async fn a_connection_failure_is_a_clear_message() {
        // A port that was just free: nothing listens on it.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let client = Client::new(&format!("http://127.0.0.1:{port}/webhook"), 5).unwrap();
        let err = client.deliver(&Request::test_ping()).await.unwrap_err();
        assert!(
            matches!(&err, SimulatorError::Connect { transport, .. } if transport.is_connect()),
            "{err:?}"
        );
        assert!(std::error::Error::source(&err).is_none(), "the message names the cause once");
        let err = String::from(err);
        assert!(
            err.starts_with(&format!("cannot connect to http://127.0.0.1:{port}/webhook")),
            "{err}"
        );
    }
}
