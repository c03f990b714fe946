//! Why `send`, `simulate` or one of their pieces failed.

use std::{io, path::PathBuf, str::FromStr};

use payram_domain::AmountError;

/// Why a URL does not parse (the `url` crate's `ParseError`, as `reqwest` reports it).
pub type UrlError = <reqwest::Url as FromStr>::Err;

/// A failure of the simulator.
///
/// The message a person reads is the error's own message followed by its causes, each after
/// `": "` (the [`source`](std::error::Error::source) chain), as `anyhow`'s `{:#}` and
/// payram-merchant print errors; [`String::from`] renders it so too. `to_string()` alone gives
/// only the first part (e.g. `--amount`, without why). Where only part of a cause matters (the
/// innermost cause of a failed connection; the URL parser's reason, in parentheses), the
/// message says it itself and the underlying error is kept in a field, not as the source, so
/// nothing is printed twice.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimulatorError {
    /// `--key` is empty or blank.
    #[error("--key is empty: give the PayRam project API key")]
    EmptyKey,

    /// A decimal flag (or a scenario amount) is not an exact decimal.
    #[error("--{flag}")]
    Decimal {
        /// The flag's name, without the leading `--`.
        flag: &'static str,
        #[source]
        source: AmountError,
    },

    /// The `--file` body cannot be read.
    #[error("cannot read {}", path.display())]
    ReadFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A notification body cannot be serialised.
    #[error("cannot build the body")]
    Body(#[source] serde_json::Error),

    /// A scenario repeats a delivery before making any.
    #[error("scenario {scenario}: nothing to repeat")]
    NothingToRepeat { scenario: &'static str },

    /// `--timeout 0`.
    #[error("--timeout must be at least 1 second")]
    ZeroTimeout,

    /// `--url` does not parse; the message gives the parser's reason.
    #[error("{url:?} is not a URL ({reason})")]
    NotAUrl { url: String, reason: UrlError },

    /// `--url` is neither `http://` nor `https://`.
    #[error("{url}: scheme {scheme:?} is not http or https")]
    Scheme { url: String, scheme: String },

    /// The HTTP client cannot be built (e.g. no TLS roots).
    #[error("cannot build an HTTP client")]
    HttpClient(#[source] reqwest::Error),

    /// The receiver did not answer within the timeout (`transport` says what was waited for).
    #[error("no answer from {url} within {secs}s (--timeout)")]
    Timeout { url: reqwest::Url, secs: u64, transport: reqwest::Error },

    /// The receiver cannot be reached; the message ends with the innermost cause of
    /// `transport`, e.g. `Connection refused (os error 111)`.
    #[error("cannot connect to {url}: {}", root_cause(.transport))]
    Connect { url: reqwest::Url, transport: reqwest::Error },

    /// Any other transport failure while sending the request or reading the answer.
    #[error("request to {url} failed")]
    Request {
        url: reqwest::Url,
        #[source]
        source: reqwest::Error,
    },

    /// What the run prints cannot be written.
    #[error("cannot write to stdout")]
    Stdout(#[source] io::Error),

    /// `send`: the receiver did not answer with a 2xx.
    #[error("the receiver answered {status}, not a 2xx")]
    Refused { status: u16 },

    /// `simulate`: some answers (or the total) were not what a correct receiver answers.
    #[error(
        "scenario {scenario}: the receiver answered unlike a correct one (step {})",
        failed.join(", ")
    )]
    ScenarioFailed {
        scenario: &'static str,
        /// The failed steps, numbered from 1, and `total` when the credits did not add up.
        failed: Vec<String>,
    },
}

/// The whole message, causes included (`message: cause: cause`), for commands that report
/// failures as text: they can use `?` on this error.
impl From<SimulatorError> for String {
    fn from(err: SimulatorError) -> Self {
        chain(&err)
    }
}

/// `message: cause: cause`: every cause of `err` after its own message.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The innermost cause, e.g. `Connection refused (os error 111)`.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_message_is_the_message_then_its_causes() {
        let amount = payram_domain::Amount::parse("12,5").unwrap_err();
        let expected = format!("--amount: {amount}");
        let err = SimulatorError::Decimal { flag: "amount", source: amount };
        assert_eq!(err.to_string(), "--amount");
        assert_eq!(String::from(err), expected);

        let err = SimulatorError::Stdout(io::Error::other("disk full"));
        assert_eq!(String::from(err), "cannot write to stdout: disk full");

        let err = SimulatorError::ScenarioFailed {
            scenario: "duplicates",
            failed: vec!["2".to_owned(), "total".to_owned()],
        };
        assert_eq!(
            String::from(err),
            "scenario duplicates: the receiver answered unlike a correct one (step 2, total)"
        );
        assert_eq!(
            String::from(SimulatorError::Refused { status: 401 }),
            "the receiver answered 401, not a 2xx"
        );
        assert_eq!(
            String::from(SimulatorError::ZeroTimeout),
            "--timeout must be at least 1 second"
        );
    }

    #[test]
    fn a_url_that_does_not_parse_gives_the_reason_once() {
        let reason = reqwest::Url::parse("not a url").unwrap_err();
        let expected = format!("\"not a url\" is not a URL ({reason})");
        let err = SimulatorError::NotAUrl { url: "not a url".to_owned(), reason };
        assert_eq!(String::from(err), expected);
    }

    #[test]
    fn the_root_cause_is_the_innermost_error() {
        let outer = SimulatorError::Stdout(io::Error::other("inner"));
        assert_eq!(root_cause(&outer), "inner");
        assert_eq!(chain(&outer), "cannot write to stdout: inner");
    }
}
