//! Typed, validated configuration. Every setting is an environment variable and a flag of
//! `serve`; values are checked once, at start, and passed explicitly.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::Args;
use secrecy::{ExposeSecret, SecretString};

use payram_api::{ApiConfig, ConfigError};
use payram_core::RetryPolicy;
use payram_domain::{CreditPolicy, PaymentStatus};
use payram_protocol::{ApiKeys, KeysError};
use payram_store::Synchronous;

use crate::{
    CoreConfig,
    forward::{ForwardArgs, ForwardError, Forwarding},
    secrets::{SecretError, secret_setting},
    security::{Security, SecurityArgs},
};

/// The default SQLite file, relative to the working directory.
pub const DEFAULT_DATABASE_URL: &str = "payram-merchant.db";

/// Where the database lives (shared by `serve` and `migrate`).
#[derive(Args, Debug, Clone)]
pub struct DatabaseArgs {
    /// SQLite database: a path or `sqlite://PATH`. Created if missing.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,

    /// How long a write waits for a locked database before the webhook answers 503.
    #[arg(
        long,
        env = "DB_BUSY_TIMEOUT_MS",
        default_value_t = 5000,
        value_name = "MS",
        global = true
    )]
    pub db_busy_timeout_ms: u64,

    /// When a commit is durable: `full` (the default: an acknowledged webhook survives a power
    /// loss) or `normal` (faster, but the last acknowledged webhooks before a power loss or an
    /// OS crash may be lost, and PayRam will not send them again). Weaker; opt-in only.
    #[arg(
        long,
        env = "SQLITE_SYNCHRONOUS",
        default_value = "full",
        value_name = "full|normal",
        value_parser = parse_synchronous,
        global = true
    )]
    pub sqlite_synchronous: Synchronous,
}

fn parse_synchronous(text: &str) -> Result<Synchronous, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "full" => Ok(Synchronous::Full),
        "normal" => Ok(Synchronous::Normal),
        other => Err(format!("{other:?} is not full or normal")),
    }
}

/// How events whose processing failed are retried (shared by `serve` and `events`).
#[derive(Args, Debug, Clone)]
pub struct RetryArgs {
    /// Processing attempts of an event in all; after the last failed one it is dead.
    #[arg(long, env = "RETRY_MAX_ATTEMPTS", default_value_t = 10, global = true)]
    pub retry_max_attempts: u32,

    /// Wait after the first failed attempt; it doubles with each further one (with jitter).
    #[arg(
        long,
        env = "RETRY_BASE_DELAY_MS",
        default_value_t = 30_000,
        value_name = "MS",
        global = true
    )]
    pub retry_base_delay_ms: u64,

    /// Longest wait between two attempts.
    #[arg(
        long,
        env = "RETRY_MAX_DELAY_MS",
        default_value_t = 3_600_000,
        value_name = "MS",
        global = true
    )]
    pub retry_max_delay_ms: u64,

    /// How often `serve` looks for failed events that are due.
    #[arg(
        long,
        env = "RETRY_POLL_INTERVAL_MS",
        default_value_t = 1000,
        value_name = "MS",
        global = true
    )]
    pub retry_poll_interval_ms: u64,
}

impl RetryArgs {
    /// The retry policy; at least one attempt.
    pub fn policy(&self) -> Result<RetryPolicy, SettingsError> {
        if self.retry_max_attempts == 0 {
            return Err(SettingsError::RetryMaxAttempts);
        }
        Ok(RetryPolicy {
            max_attempts: self.retry_max_attempts,
            base_delay: Duration::from_millis(self.retry_base_delay_ms),
            max_delay: Duration::from_millis(self.retry_max_delay_ms),
        })
    }

    /// The worker's polling interval, at least one millisecond.
    #[must_use]
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.retry_poll_interval_ms.max(1))
    }
}

/// How this service calls PayRam's API to reconcile (shared by `serve` and `reconcile`).
#[derive(Args, Debug, Clone)]
pub struct PayramApiArgs {
    /// Base URL of your PayRam server, e.g. <https://payram.example.com>; the lookup is
    /// `GET {URL}/api/v1/payment/reference/{reference_id}`. Required to reconcile.
    #[arg(long, env = "PAYRAM_BASE_URL", value_name = "URL")]
    pub payram_base_url: Option<String>,

    /// Longest wait for a connection to PayRam (e.g. 5s, 500ms).
    #[arg(
        long,
        env = "PAYRAM_API_CONNECT_TIMEOUT",
        default_value = "5s",
        value_name = "DURATION",
        value_parser = parse_duration
    )]
    pub payram_api_connect_timeout: Duration,

    /// Longest wait for PayRam's whole answer to one lookup (e.g. 15s).
    #[arg(
        long,
        env = "PAYRAM_API_TIMEOUT",
        default_value = "15s",
        value_name = "DURATION",
        value_parser = parse_duration
    )]
    pub payram_api_timeout: Duration,
}

impl PayramApiArgs {
    /// The API client's settings; the first of `keys` is sent. `why` names what needs them,
    /// for the message when `PAYRAM_BASE_URL` is missing.
    pub fn config(&self, keys: &ApiKeys, why: &'static str) -> Result<ApiConfig, SettingsError> {
        let base_url = self
            .payram_base_url
            .as_deref()
            .filter(|url| !url.trim().is_empty())
            .ok_or(SettingsError::NoBaseUrl(why))?;
        Ok(ApiConfig::new(base_url, keys.first())?
            .with_timeouts(self.payram_api_connect_timeout, self.payram_api_timeout))
    }
}

/// `CONFIRM_BEFORE_CREDIT` (shared by `serve` and `events`, whose replays credit too).
#[derive(Args, Debug, Clone)]
pub struct ConfirmArgs {
    /// When true, a crediting notification is credited only once PayRam's API confirms a
    /// state and USD amount at least as advanced; meanwhile its event is `waiting` and PayRam
    /// is asked again on the retry schedule. Needs `PAYRAM_BASE_URL`.
    #[arg(
        long,
        env = "CONFIRM_BEFORE_CREDIT",
        default_value = "false",
        value_name = "BOOL",
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new(),
        global = true
    )]
    pub confirm_before_credit: bool,
}

impl ConfirmArgs {
    /// The PayRam API client's settings when confirmation is on.
    pub fn confirmation(
        &self,
        payram: &PayramApiArgs,
        keys: &ApiKeys,
    ) -> Result<Option<ApiConfig>, SettingsError> {
        if !self.confirm_before_credit {
            return Ok(None);
        }
        payram.config(keys, "CONFIRM_BEFORE_CREDIT is true, so crediting").map(Some)
    }
}

/// The API keys and the credit policy: one group, shared by `serve` (and so `doctor`),
/// `events` and `reconcile`, so every command reads them alike.
#[derive(Args, Debug, Clone)]
pub struct PolicyArgs {
    /// Comma-separated PayRam project API keys: every one is accepted for webhooks (key
    /// rotation), and the first is sent to PayRam's API. Required by `serve` and `reconcile`,
    /// and by `events` when `CONFIRM_BEFORE_CREDIT` is on.
    #[arg(
        long,
        env = "PAYRAM_API_KEYS",
        hide_env_values = true,
        value_name = "KEYS",
        value_parser = crate::secrets::parse_secret,
        global = true
    )]
    pub api_keys: Option<SecretString>,

    /// A file holding `PAYRAM_API_KEYS` (comma-separated, as in the variable) instead of it.
    #[arg(long, env = "PAYRAM_API_KEYS_FILE", value_name = "PATH", global = true)]
    pub api_keys_file: Option<PathBuf>,

    /// Statuses whose USD amount is credited to the customer, comma-separated (as for every
    /// command that applies notifications).
    #[arg(
        long,
        env = "CREDIT_ON",
        default_value = "PARTIALLY_FILLED,FILLED,OVER_FILLED",
        global = true
    )]
    pub credit_on: String,
}

impl PolicyArgs {
    /// The configured keys; an error names `PAYRAM_API_KEYS` and never shows a key.
    pub fn keys(&self) -> Result<ApiKeys, SettingsError> {
        let keys = secret_setting(
            "PAYRAM_API_KEYS",
            self.api_keys.as_ref(),
            self.api_keys_file.as_deref(),
        )?;
        let keys = keys.as_ref().map(ExposeSecret::expose_secret).filter(|k| !k.trim().is_empty());
        ApiKeys::from_comma_separated(keys.ok_or(SettingsError::NoApiKeys)?)
            .map_err(SettingsError::ApiKeys)
    }

    /// The credit policy of `CREDIT_ON`.
    pub fn credit_policy(&self) -> Result<CreditPolicy, SettingsError> {
        parse_credit_on(&self.credit_on)
    }
}

/// Flags of `serve`; each has an environment variable of the same meaning.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub retry: RetryArgs,

    #[command(flatten)]
    pub forward: ForwardArgs,

    #[command(flatten)]
    pub payram: PayramApiArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,

    /// Run reconciliation this often (e.g. 5m, 1h); unset or blank: never. Needs
    /// `PAYRAM_BASE_URL`.
    #[arg(long, env = "RECONCILE_INTERVAL", value_name = "DURATION")]
    pub reconcile_interval: Option<String>,

    /// Reconciliation checks the payments not yet FILLED or `OVER_FILLED` of which nothing was
    /// heard for this long (e.g. 30m, 2h, 90s).
    #[arg(
        long,
        env = "RECONCILE_OLDER_THAN",
        default_value = "30m",
        value_name = "DURATION",
        value_parser = parse_duration
    )]
    pub reconcile_older_than: Duration,

    #[command(flatten)]
    pub policy: PolicyArgs,

    /// Listen address; the bound address is printed on start (port 0 picks a free port).
    #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8080")]
    pub bind_addr: SocketAddr,

    /// Path of the webhook endpoint (GET and POST).
    #[arg(long, env = "WEBHOOK_PATH", default_value = "/webhook")]
    pub webhook_path: String,

    /// Bearer token of the admin API and the dashboard, at least 16 characters; when unset
    /// (or blank) the admin API answers 401.
    #[arg(
        long,
        env = "ADMIN_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        value_parser = crate::secrets::parse_secret
    )]
    pub admin_token: Option<SecretString>,

    /// A file holding `ADMIN_TOKEN` (instead of the variable).
    #[arg(long, env = "ADMIN_TOKEN_FILE", value_name = "PATH")]
    pub admin_token_file: Option<PathBuf>,

    #[command(flatten)]
    pub security: SecurityArgs,

    /// When true, a request with only the `API-Key` header is refused (401).
    #[arg(
        long,
        env = "REQUIRE_SIGNATURE",
        default_value = "false",
        value_name = "BOOL",
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub require_signature: bool,

    /// Largest accepted body; larger bodies get 413.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 65536, value_name = "BYTES")]
    pub max_body_bytes: usize,
}

/// Validated settings of `serve`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub db_busy_timeout: Duration,
    pub sqlite_synchronous: Synchronous,
    pub api_keys: ApiKeys,
    pub bind_addr: SocketAddr,
    pub webhook_path: String,
    pub admin_token: Option<SecretString>,
    pub credit_policy: CreditPolicy,
    pub require_signature: bool,
    pub max_body_bytes: usize,
    pub retry_policy: RetryPolicy,
    pub retry_poll_interval: Duration,
    /// Credit forwarding, when `CREDIT_FORWARD_URL` is set.
    pub forwarding: Option<Forwarding>,
    /// The periodic reconciliation, when `RECONCILE_INTERVAL` is set.
    pub reconcile: Option<ReconcileSettings>,
    /// PayRam's API, asked before crediting, when `CONFIRM_BEFORE_CREDIT` is true.
    pub confirm: Option<ApiConfig>,
    /// Allow-lists, proxies, limits on guessing, client timeouts, TLS, `METRICS_TOKEN`.
    pub security: Security,
}

/// The periodic reconciliation of `serve`.
#[derive(Debug, Clone)]
pub struct ReconcileSettings {
    /// Time between the end of one run and the start of the next.
    pub interval: Duration,
    /// Payments of which nothing was heard for this long are checked.
    pub older_than: Duration,
    pub api: ApiConfig,
}

/// A setting that cannot be used; the message says which and why.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "no PayRam API key configured: set PAYRAM_API_KEYS (or --api-keys) to your project's API key"
    )]
    NoApiKeys,
    #[error("PAYRAM_API_KEYS: {0}")]
    ApiKeys(KeysError),
    #[error("WEBHOOK_PATH must start with '/' (got {0:?})")]
    WebhookPath(String),
    #[error(
        "CREDIT_ON: {0:?} is not a payment status (use OPEN, PARTIALLY_FILLED, CANCELLED, FILLED, OVER_FILLED)"
    )]
    CreditOn(String),
    #[error("MAX_BODY_BYTES must be at least 1")]
    MaxBodyBytes,
    #[error("RETRY_MAX_ATTEMPTS must be at least 1")]
    RetryMaxAttempts,
    #[error(transparent)]
    Forward(#[from] ForwardError),
    #[error(
        "PAYRAM_BASE_URL is not set: {0} asks PayRam's API for payments; set PAYRAM_BASE_URL \
         (or --payram-base-url) to your PayRam server's address, e.g. https://payram.example.com"
    )]
    NoBaseUrl(&'static str),
    #[error(transparent)]
    PayramApi(#[from] ConfigError),
    #[error("{name}: {problem}")]
    Duration { name: &'static str, problem: String },
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(
        "ADMIN_TOKEN is shorter than {MIN_ADMIN_TOKEN_CHARS} characters: use a long random value \
         (e.g. `openssl rand -hex 32`), or leave it unset to turn the admin API off"
    )]
    AdminTokenTooShort,
    #[error(transparent)]
    Security(#[from] crate::security::SecurityError),
}

/// The shortest accepted `ADMIN_TOKEN`.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 16;

/// The admin token: blank is none (no admin API); shorter than [`MIN_ADMIN_TOKEN_CHARS`] is
/// refused.
pub fn admin_token(token: Option<SecretString>) -> Result<Option<SecretString>, SettingsError> {
    let Some(token) = token.filter(|token| !token.expose_secret().trim().is_empty()) else {
        return Ok(None);
    };
    if token.expose_secret().chars().count() < MIN_ADMIN_TOKEN_CHARS {
        return Err(SettingsError::AdminTokenTooShort);
    }
    Ok(Some(token))
}

impl ServeArgs {
    /// Checks every value and builds [`Settings`].
    pub fn settings(&self) -> Result<Settings, SettingsError> {
        let api_keys = self.policy.keys()?;
        if !self.webhook_path.starts_with('/') {
            return Err(SettingsError::WebhookPath(self.webhook_path.clone()));
        }
        let admin_token = admin_token(secret_setting(
            "ADMIN_TOKEN",
            self.admin_token.as_ref(),
            self.admin_token_file.as_deref(),
        )?)?;
        if self.max_body_bytes == 0 {
            return Err(SettingsError::MaxBodyBytes);
        }
        let reconcile = match non_blank(self.reconcile_interval.as_deref()) {
            None => None,
            Some(interval) => {
                let interval = parse_duration(interval).map_err(|problem| {
                    SettingsError::Duration { name: "RECONCILE_INTERVAL", problem }
                })?;
                if interval.is_zero() {
                    return Err(SettingsError::Duration {
                        name: "RECONCILE_INTERVAL",
                        problem: "must be longer than zero (leave it unset to never reconcile)"
                            .to_owned(),
                    });
                }
                let api = self.payram.config(&api_keys, "RECONCILE_INTERVAL is set, so serve")?;
                Some(ReconcileSettings { interval, older_than: self.reconcile_older_than, api })
            }
        };
        let confirm = self.confirm.confirmation(&self.payram, &api_keys)?;
        Ok(Settings {
            database_url: self.database.database_url.clone(),
            db_busy_timeout: self.database.busy_timeout(),
            sqlite_synchronous: self.database.sqlite_synchronous,
            api_keys,
            bind_addr: self.bind_addr,
            webhook_path: self.webhook_path.clone(),
            admin_token,
            credit_policy: self.policy.credit_policy()?,
            require_signature: self.require_signature,
            max_body_bytes: self.max_body_bytes,
            retry_policy: self.retry.policy()?,
            retry_poll_interval: self.retry.poll_interval(),
            forwarding: self.forward.forwarding()?,
            reconcile,
            confirm,
            security: self.security.security()?,
        })
    }
}

impl Settings {
    /// What the core needs of these settings.
    #[must_use]
    pub fn core(&self) -> CoreConfig {
        CoreConfig {
            database_url: self.database_url.clone(),
            busy_timeout: self.db_busy_timeout,
            synchronous: self.sqlite_synchronous,
            credit_policy: self.credit_policy.clone(),
            retry: self.retry_policy,
            forward_credits: self.forwarding.is_some(),
            confirm: self.confirm.clone(),
        }
    }
}

impl DatabaseArgs {
    /// The busy timeout as a duration.
    #[must_use]
    pub const fn busy_timeout(&self) -> Duration {
        Duration::from_millis(self.db_busy_timeout_ms)
    }
}

/// A duration such as `90s`, `30m`, `2h`, `1h 30m` or `500ms` (`humantime`'s syntax).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|err| format!("{text:?} is not a duration ({err}); write e.g. 90s, 30m or 2h"))
}

fn non_blank(text: Option<&str>) -> Option<&str> {
    text.filter(|text| !text.trim().is_empty())
}

/// Parses `CREDIT_ON`: status names in any case, comma-separated; an empty list credits nothing.
pub fn parse_credit_on(list: &str) -> Result<CreditPolicy, SettingsError> {
    let statuses = list
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            name.parse::<PaymentStatus>().map_err(|_| SettingsError::CreditOn(name.to_owned()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CreditPolicy::new(statuses))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn parse(args: &[&str]) -> Result<Settings, SettingsError> {
        let mut command_line = vec!["test"];
        command_line.extend_from_slice(args);
        Cli::try_parse_from(command_line).unwrap().serve.settings()
    }

    #[test]
    fn keys_are_required_with_a_clear_message() {
        let err = parse(&["--api-keys", " "]).unwrap_err();
        assert!(err.to_string().contains("PAYRAM_API_KEYS"), "{err}");
    }

    #[test]
    fn defaults_match_the_documented_contract() {
        let settings = parse(&["--api-keys", "a,b"]).unwrap();
        assert_eq!(settings.api_keys.len(), 2);
        assert_eq!(settings.database_url, "payram-merchant.db");
        assert_eq!(settings.bind_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.webhook_path, "/webhook");
        assert!(settings.admin_token.is_none());
        assert_eq!(settings.credit_policy, CreditPolicy::default());
        assert!(!settings.require_signature);
        assert_eq!(settings.max_body_bytes, 65536);
    }

    #[test]
    fn commits_are_durable_unless_normal_is_asked_for() {
        let full = parse(&["--api-keys", "k"]).unwrap();
        assert_eq!(full.sqlite_synchronous, Synchronous::Full);
        let normal = parse(&["--api-keys", "k", "--sqlite-synchronous", "NORMAL"]).unwrap();
        assert_eq!(normal.sqlite_synchronous, Synchronous::Normal);
        assert!(parse_synchronous("off").is_err(), "only full or normal");
    }

    #[test]
    fn credit_on_accepts_any_case_and_refuses_unknown_names() {
        assert_eq!(
            parse_credit_on("filled, over_filled").unwrap(),
            CreditPolicy::new([PaymentStatus::Filled, PaymentStatus::OverFilled])
        );
        assert!(
            matches!(parse_credit_on("FILLED,PAID"), Err(SettingsError::CreditOn(name)) if name == "PAID")
        );
    }

    #[test]
    fn require_signature_takes_boolish_values() {
        assert!(
            parse(&["--api-keys", "k", "--require-signature", "true"]).unwrap().require_signature
        );
        assert!(
            !parse(&["--api-keys", "k", "--require-signature", "0"]).unwrap().require_signature
        );
    }

    #[test]
    fn webhook_path_must_be_absolute() {
        assert!(matches!(
            parse(&["--api-keys", "k", "--webhook-path", "hook"]),
            Err(SettingsError::WebhookPath(_))
        ));
    }

    #[test]
    fn reconciliation_is_off_unless_an_interval_is_set() {
        assert!(parse(&["--api-keys", "k"]).unwrap().reconcile.is_none());
        let blank = parse(&["--api-keys", "k", "--reconcile-interval", " "]).unwrap();
        assert!(blank.reconcile.is_none(), "a blank interval is no interval");
    }

    #[test]
    fn reconciling_needs_the_base_url_with_a_clear_message() {
        let err = parse(&["--api-keys", "k", "--reconcile-interval", "5m"]).unwrap_err();
        assert!(matches!(err, SettingsError::NoBaseUrl(_)), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("PAYRAM_BASE_URL") && message.contains("RECONCILE_INTERVAL"));
    }

    #[test]
    fn reconcile_durations_take_units() {
        let settings = parse(&[
            "--api-keys",
            "first,second",
            "--reconcile-interval",
            "90s",
            "--payram-base-url",
            "https://payram.example.com",
        ])
        .unwrap();
        let reconcile = settings.reconcile.unwrap();
        assert_eq!(reconcile.interval, Duration::from_secs(90));
        assert_eq!(reconcile.older_than, Duration::from_mins(30), "30m by default");
        assert_eq!(reconcile.api.base_url().as_str(), "https://payram.example.com/");
        assert_eq!(reconcile.api.timeout, Duration::from_secs(15));
        assert_eq!(reconcile.api.connect_timeout, Duration::from_secs(5));
        assert!(!format!("{reconcile:?}").contains("first"), "the key is never shown");

        assert_eq!(parse_duration("2h"), Ok(Duration::from_hours(2)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_mins(90)));
        assert!(parse_duration("30").unwrap_err().contains("e.g. 90s"));
    }

    #[test]
    fn a_zero_interval_or_a_bad_url_is_refused() {
        let base = ["--api-keys", "k", "--payram-base-url", "https://payram.example.com"];
        let zero = parse(&[&base[..], &["--reconcile-interval", "0s"]].concat()).unwrap_err();
        assert!(zero.to_string().starts_with("RECONCILE_INTERVAL: must be longer than zero"));
        let bad = parse(&[&base[..], &["--reconcile-interval", "soon"]].concat()).unwrap_err();
        assert!(bad.to_string().contains("\"soon\" is not a duration"), "{bad}");
        let url = parse(&[
            "--api-keys",
            "k",
            "--reconcile-interval",
            "1m",
            "--payram-base-url",
            "payram",
        ]);
        assert!(matches!(url, Err(SettingsError::PayramApi(_))));
    }

    #[test]
    fn the_admin_token_is_at_least_16_characters_or_off() {
        let token = |text: &str| admin_token(Some(SecretString::from(text.to_owned())));
        assert!(matches!(token("a"), Err(SettingsError::AdminTokenTooShort)));
        assert!(matches!(token("fifteen-chars-x"), Err(SettingsError::AdminTokenTooShort)));
        assert!(matches!(token("ééééééééééééééé"), Err(SettingsError::AdminTokenTooShort)));
        assert!(token("sixteen-chars-xx").unwrap().is_some());
        assert!(token("   ").unwrap().is_none(), "blank is off, as unset");
        assert!(admin_token(None).unwrap().is_none());
        let message = token("short").unwrap_err().to_string();
        assert!(message.starts_with("ADMIN_TOKEN is shorter than 16 characters"), "{message}");
        assert!(!message.contains("short\""), "the token is never shown");
    }
}
