//! The settings that keep strangers out of `serve` (SECURITY.md): allow-lists and trusted
//! proxies, the limit on guessing, `METRICS_TOKEN`, TLS, and the limits on slow or numerous
//! clients.

use std::{path::PathBuf, time::Duration};

use clap::Args;
use secrecy::{ExposeSecret, SecretString};

use payram_http::{IpList, IpListError};

use crate::{
    secrets::{SecretError, secret_setting},
    settings::parse_duration,
};

/// Flags of `serve` for its network defences; each has an environment variable.
#[derive(Args, Debug, Clone)]
pub struct SecurityArgs {
    /// Addresses and CIDR ranges (IPv4, IPv6, comma-separated) that may call the webhook;
    /// others get 403 before authentication. Unset: every address (loopback is not exempt).
    #[arg(long, env = "ALLOWED_IPS", value_name = "LIST")]
    pub allowed_ips: Option<String>,

    /// Like `ALLOWED_IPS`, for the admin API (`/api/...`) and the dashboard.
    #[arg(long, env = "ADMIN_ALLOWED_IPS", value_name = "LIST")]
    pub admin_allowed_ips: Option<String>,

    /// Your own reverse proxies (addresses, CIDR ranges): only from these is the client
    /// address read from `X-Forwarded-For` or `Forwarded`. Unset: no proxy is trusted.
    #[arg(long, env = "TRUSTED_PROXIES", value_name = "LIST")]
    pub trusted_proxies: Option<String>,

    /// Failed authentications allowed per client address and minute (webhook credentials and
    /// admin tokens counted apart); beyond it 429. 0: no limit.
    #[arg(long, env = "AUTH_FAILURE_LIMIT", default_value_t = 20, value_name = "N")]
    pub auth_failure_limit: u32,

    /// When set, `/metrics` requires it as a bearer token.
    #[arg(
        long,
        env = "METRICS_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        value_parser = crate::secrets::parse_secret
    )]
    pub metrics_token: Option<SecretString>,

    /// A file holding `METRICS_TOKEN` (instead of the variable).
    #[arg(long, env = "METRICS_TOKEN_FILE", value_name = "PATH")]
    pub metrics_token_file: Option<PathBuf>,

    /// PEM certificate chain: with `TLS_KEY`, `serve` answers HTTPS only.
    #[arg(long, env = "TLS_CERT", value_name = "PATH")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of `TLS_CERT`.
    #[arg(long, env = "TLS_KEY", value_name = "PATH")]
    pub tls_key: Option<PathBuf>,

    /// A request head must arrive within this time of the connection (or of the previous
    /// answer), else 408.
    #[arg(
        long,
        env = "CLIENT_REQUEST_TIMEOUT",
        default_value = "5s",
        value_name = "DURATION",
        value_parser = parse_duration
    )]
    pub client_request_timeout: Duration,

    /// A request body must arrive within this time of its head, else 408 and the connection
    /// is closed.
    #[arg(
        long,
        env = "CLIENT_BODY_TIMEOUT",
        default_value = "10s",
        value_name = "DURATION",
        value_parser = parse_duration
    )]
    pub client_body_timeout: Duration,

    /// An idle keep-alive connection is closed after this long.
    #[arg(
        long,
        env = "KEEP_ALIVE_TIMEOUT",
        default_value = "5s",
        value_name = "DURATION",
        value_parser = parse_duration
    )]
    pub keep_alive_timeout: Duration,

    /// Open connections at most; further ones wait to be accepted. `serve` raises its
    /// open-file limit to fit.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 1000, value_name = "N")]
    pub max_connections: usize,
}

/// Validated network defences.
#[derive(Debug, Clone)]
pub struct Security {
    pub allowed_ips: Option<IpList>,
    pub admin_allowed_ips: Option<IpList>,
    pub trusted_proxies: IpList,
    pub auth_failure_limit: u32,
    pub metrics_token: Option<SecretString>,
    /// The certificate and key files, when TLS is on.
    pub tls: Option<TlsFiles>,
    pub client_request_timeout: Duration,
    pub client_body_timeout: Duration,
    pub keep_alive_timeout: Duration,
    pub max_connections: usize,
}

/// `TLS_CERT` and `TLS_KEY`.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A network setting that cannot be used; the message names it.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    #[error("{name}: {source}")]
    List {
        name: &'static str,
        #[source]
        source: IpListError,
    },
    #[error("{0} is set but {1} is not: set both for HTTPS, or neither")]
    TlsHalf(&'static str, &'static str),
    #[error("{0} must be longer than zero")]
    Zero(&'static str),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

impl SecurityArgs {
    /// Checks every value.
    pub fn security(&self) -> Result<Security, SecurityError> {
        let tls =
            match (non_blank_path(self.tls_cert.as_ref()), non_blank_path(self.tls_key.as_ref())) {
                (None, None) => None,
                (Some(_), None) => return Err(SecurityError::TlsHalf("TLS_CERT", "TLS_KEY")),
                (None, Some(_)) => return Err(SecurityError::TlsHalf("TLS_KEY", "TLS_CERT")),
                (Some(cert), Some(key)) => Some(TlsFiles { cert: cert.clone(), key: key.clone() }),
            };
        for (name, duration) in [
            ("CLIENT_REQUEST_TIMEOUT", self.client_request_timeout),
            ("CLIENT_BODY_TIMEOUT", self.client_body_timeout),
            ("KEEP_ALIVE_TIMEOUT", self.keep_alive_timeout),
        ] {
            if duration.is_zero() {
                return Err(SecurityError::Zero(name));
            }
        }
        if self.max_connections == 0 {
            return Err(SecurityError::Zero("MAX_CONNECTIONS"));
        }
        let metrics_token = secret_setting(
            "METRICS_TOKEN",
            self.metrics_token.as_ref(),
            self.metrics_token_file.as_deref(),
        )?
        .filter(|token| !token.expose_secret().trim().is_empty());
        Ok(Security {
            allowed_ips: list("ALLOWED_IPS", self.allowed_ips.as_deref())?,
            admin_allowed_ips: list("ADMIN_ALLOWED_IPS", self.admin_allowed_ips.as_deref())?,
            trusted_proxies: list("TRUSTED_PROXIES", self.trusted_proxies.as_deref())?
                .unwrap_or_default(),
            auth_failure_limit: self.auth_failure_limit,
            metrics_token,
            tls,
            client_request_timeout: self.client_request_timeout,
            client_body_timeout: self.client_body_timeout,
            keep_alive_timeout: self.keep_alive_timeout,
            max_connections: self.max_connections,
        })
    }
}

/// A list setting: unset or blank is `None` (no restriction).
fn list(name: &'static str, text: Option<&str>) -> Result<Option<IpList>, SecurityError> {
    let Some(text) = text.filter(|text| !text.trim().is_empty()) else { return Ok(None) };
    text.parse().map(Some).map_err(|source| SecurityError::List { name, source })
}

fn non_blank_path(path: Option<&PathBuf>) -> Option<&PathBuf> {
    path.filter(|path| !path.as_os_str().is_empty())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        security: SecurityArgs,
    }

    fn security(args: &[&str]) -> Result<Security, SecurityError> {
        Cli::try_parse_from(std::iter::once("serve").chain(args.iter().copied()))
            .unwrap()
            .security
            .security()
    }

    #[test]
    fn the_defaults_restrict_no_address_and_bound_slow_clients() {
        let security = security(&[]).unwrap();
        assert!(security.allowed_ips.is_none() && security.admin_allowed_ips.is_none());
        assert!(security.trusted_proxies.is_empty());
        assert_eq!(security.auth_failure_limit, 20);
        assert_eq!(security.client_request_timeout, Duration::from_secs(5));
        assert_eq!(security.client_body_timeout, Duration::from_secs(10));
        assert_eq!(security.max_connections, 1000);
        assert!(security.tls.is_none() && security.metrics_token.is_none());
    }

    #[test]
    fn an_unparsable_list_entry_refuses_the_start_naming_it() {
        let err = security(&["--allowed-ips", "10.0.0.0/8, 10.0.0.256"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ALLOWED_IPS: \"10.0.0.256\" is not an IP address or a CIDR range (write e.g. 192.0.2.7, 10.0.0.0/8 or 2001:db8::/32)"
        );
        let err = security(&["--trusted-proxies", "proxy.local"]).unwrap_err();
        assert!(err.to_string().starts_with("TRUSTED_PROXIES: \"proxy.local\""), "{err}");
        let err = security(&["--admin-allowed-ips", "::1/129"]).unwrap_err();
        assert!(err.to_string().starts_with("ADMIN_ALLOWED_IPS: "), "{err}");
    }

    #[test]
    fn tls_needs_both_files() {
        let err = security(&["--tls-cert", "cert.pem"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "TLS_CERT is set but TLS_KEY is not: set both for HTTPS, or neither"
        );
        let err = security(&["--tls-key", "key.pem"]).unwrap_err();
        assert!(err.to_string().starts_with("TLS_KEY is set but TLS_CERT is not"), "{err}");
        assert!(security(&["--tls-cert", "c.pem", "--tls-key", "k.pem"]).unwrap().tls.is_some());
    }

    #[test]
    fn zero_timeouts_and_connection_limits_are_refused() {
        for (flag, name) in [
            ("--client-body-timeout", "CLIENT_BODY_TIMEOUT"),
            ("--client-request-timeout", "CLIENT_REQUEST_TIMEOUT"),
            ("--keep-alive-timeout", "KEEP_ALIVE_TIMEOUT"),
        ] {
            let err = security(&[flag, "0s"]).unwrap_err();
            assert_eq!(err.to_string(), format!("{name} must be longer than zero"));
        }
        assert!(security(&["--max-connections", "0"]).is_err());
    }
}
