//! Credit forwarding settings (`CREDIT_FORWARD_*`).

use std::{path::PathBuf, time::Duration};

use clap::Args;
use secrecy::{ExposeSecret, SecretString};

use payram_core::RetryPolicy;
use payram_forward::{ForwardSecret, HttpForwarder, SecretError};

/// Forwarding of every credit to the merchant's application (shared by `serve` and `events`,
/// whose replays also write outbox entries when forwarding is on).
#[derive(Args, Debug, Clone)]
pub struct ForwardArgs {
    /// URL of the merchant's application that receives each credit as a signed POST (Standard
    /// Webhooks). Unset: credits are not forwarded.
    #[arg(long, env = "CREDIT_FORWARD_URL", value_name = "URL", global = true)]
    pub credit_forward_url: Option<String>,

    /// Signing secret of forwarded credits: `whsec_` followed by base64 (`payram-merchant
    /// forward-secret` prints a fresh one). Required with CREDIT_FORWARD_URL.
    #[arg(
        long,
        env = "CREDIT_FORWARD_SECRET",
        hide_env_values = true,
        value_name = "SECRET",
        value_parser = crate::secrets::parse_secret,
        global = true
    )]
    pub credit_forward_secret: Option<SecretString>,

    /// A file holding `CREDIT_FORWARD_SECRET` (instead of the variable).
    #[arg(long, env = "CREDIT_FORWARD_SECRET_FILE", value_name = "PATH", global = true)]
    pub credit_forward_secret_file: Option<PathBuf>,

    /// Delivery attempts of a forwarded credit in all; after the last failed one it is dead.
    #[arg(long, env = "CREDIT_FORWARD_MAX_ATTEMPTS", default_value_t = 20, global = true)]
    pub credit_forward_max_attempts: u32,

    /// Wait after the first failed delivery; it doubles with each further one (with jitter).
    #[arg(
        long,
        env = "CREDIT_FORWARD_BASE_DELAY_MS",
        default_value_t = 10_000,
        value_name = "MS",
        global = true
    )]
    pub credit_forward_base_delay_ms: u64,

    /// Longest wait between two delivery attempts.
    #[arg(
        long,
        env = "CREDIT_FORWARD_MAX_DELAY_MS",
        default_value_t = 3_600_000,
        value_name = "MS",
        global = true
    )]
    pub credit_forward_max_delay_ms: u64,

    /// How long one delivery may take (connect and answer) before it counts as failed.
    #[arg(
        long,
        env = "CREDIT_FORWARD_TIMEOUT_MS",
        default_value_t = 10_000,
        value_name = "MS",
        global = true
    )]
    pub credit_forward_timeout_ms: u64,

    /// How often `serve` looks for credits due to be forwarded.
    #[arg(
        long,
        env = "CREDIT_FORWARD_POLL_INTERVAL_MS",
        default_value_t = 500,
        value_name = "MS",
        global = true
    )]
    pub credit_forward_poll_interval_ms: u64,
}

/// Validated forwarding settings.
#[derive(Debug, Clone)]
pub struct Forwarding {
    pub url: String,
    pub secret: ForwardSecret,
    pub retry: RetryPolicy,
    pub timeout: Duration,
    pub poll_interval: Duration,
}

/// A forwarding setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error(
        "CREDIT_FORWARD_URL is set but CREDIT_FORWARD_SECRET is not; `payram-merchant forward-secret` prints a fresh secret"
    )]
    NoSecret,
    #[error("CREDIT_FORWARD_SECRET is set but CREDIT_FORWARD_URL is not")]
    NoUrl,
    #[error("CREDIT_FORWARD_SECRET: {0}")]
    Secret(SecretError),
    #[error(transparent)]
    SecretFile(#[from] crate::secrets::SecretError),
    #[error("CREDIT_FORWARD_URL must be an http:// or https:// URL (got {0:?})")]
    Url(String),
    #[error("CREDIT_FORWARD_MAX_ATTEMPTS and CREDIT_FORWARD_TIMEOUT_MS must be at least 1")]
    Zero,
}

impl ForwardArgs {
    /// `None` when forwarding is off.
    pub fn forwarding(&self) -> Result<Option<Forwarding>, ForwardError> {
        let url = self.credit_forward_url.as_deref().map(str::trim).filter(|url| !url.is_empty());
        let secret = crate::secrets::secret_setting(
            "CREDIT_FORWARD_SECRET",
            self.credit_forward_secret.as_ref(),
            self.credit_forward_secret_file.as_deref(),
        )?;
        let secret = secret.as_ref().map(|s| s.expose_secret().trim()).filter(|s| !s.is_empty());
        let (url, secret) = match (url, secret) {
            (None, None) => return Ok(None),
            (Some(_), None) => return Err(ForwardError::NoSecret),
            (None, Some(_)) => return Err(ForwardError::NoUrl),
            (Some(url), Some(secret)) => (url, secret),
        };
        let scheme_ok = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
        if scheme_ok.is_none_or(str::is_empty) {
            return Err(ForwardError::Url(url.to_owned()));
        }
        if self.credit_forward_max_attempts == 0 || self.credit_forward_timeout_ms == 0 {
            return Err(ForwardError::Zero);
        }
        Ok(Some(Forwarding {
            url: url.to_owned(),
            secret: ForwardSecret::parse(secret).map_err(ForwardError::Secret)?,
            retry: RetryPolicy {
                max_attempts: self.credit_forward_max_attempts,
                base_delay: Duration::from_millis(self.credit_forward_base_delay_ms),
                max_delay: Duration::from_millis(self.credit_forward_max_delay_ms),
            },
            timeout: Duration::from_millis(self.credit_forward_timeout_ms),
            poll_interval: Duration::from_millis(self.credit_forward_poll_interval_ms.max(1)),
        }))
    }
}

impl Forwarding {
    /// The HTTP crediting adapter that forwards credits.
    pub fn forwarder(&self) -> Result<HttpForwarder, reqwest::Error> {
        HttpForwarder::new(self.url.clone(), self.secret.clone(), self.timeout)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        forward: ForwardArgs,
    }

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn parse(args: &[&str]) -> Result<Option<Forwarding>, ForwardError> {
        let mut command_line = vec!["test"];
        command_line.extend_from_slice(args);
        Cli::try_parse_from(command_line).unwrap().forward.forwarding()
    }

    #[test]
    fn forwarding_is_off_by_default() {
        assert!(parse(&[]).unwrap().is_none());
    }

    #[test]
    fn a_url_and_a_standard_secret_turn_it_on_with_the_documented_defaults() {
        let forwarding = parse(&[
            "--credit-forward-url",
            "https://shop.example/payram-credits",
            "--credit-forward-secret",
            SECRET,
        ])
        .unwrap()
        .unwrap();
        assert_eq!(forwarding.url, "https://shop.example/payram-credits");
        assert_eq!(forwarding.secret.expose(), SECRET);
        assert_eq!(forwarding.retry.max_attempts, 20);
        assert_eq!(forwarding.retry.base_delay, Duration::from_secs(10));
        assert_eq!(forwarding.timeout, Duration::from_secs(10));
    }

    #[test]
    fn a_secret_not_in_the_standard_format_is_refused_with_a_clear_message() {
        let err = parse(&[
            "--credit-forward-url",
            "http://127.0.0.1:9/",
            "--credit-forward-secret",
            "my-plain-password",
        ])
        .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("CREDIT_FORWARD_SECRET") && message.contains("whsec_"),
            "{message}"
        );
        assert!(!message.contains("my-plain-password"), "the secret is never echoed: {message}");
    }

    #[test]
    fn half_a_configuration_is_refused() {
        assert!(matches!(
            parse(&["--credit-forward-url", "http://127.0.0.1:9/"]),
            Err(ForwardError::NoSecret)
        ));
        assert!(matches!(parse(&["--credit-forward-secret", SECRET]), Err(ForwardError::NoUrl)));
        assert!(matches!(
            parse(&["--credit-forward-url", "ftp://x", "--credit-forward-secret", SECRET]),
            Err(ForwardError::Url(_))
        ));
    }
}
