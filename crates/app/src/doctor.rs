//! `payram-merchant doctor`: checks that a deployment can work (the configuration, the
//! database, the webhook answering PayRam's test ping, and, when `PAYRAM_BASE_URL` is set,
//! PayRam's API accepting the key), one line per check, and fails when any check fails. It changes nothing: it never creates the database or applies a migration.
//!
//! The checks are listed by [`checks`]; a new one is a [`Check`] variant, its name and its arm
//! in [`Check::run`].

use std::{
    io::{self, Write},
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
};

use anyhow::Context;
use clap::Args;

use payram_domain::ReferenceId;
use payram_ports::{EventFilter, GatewayError, PayramGateway};

use payram_simulator::{Client, Request};

use crate::settings::{ServeArgs, Settings};

/// Flags of `doctor`: every flag and environment variable of `serve`, plus where the running
/// server answers.
#[derive(Args, Debug)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub serve: ServeArgs,

    #[arg(
        long,
        value_name = "URL",
        help = "Base URL of the running server; the test ping goes to URL + WEBHOOK_PATH \
                [default: http://BIND_ADDR, with 0.0.0.0 or :: replaced by the loopback address]"
    )]
    pub url: Option<String>,

    /// Seconds to wait for the server's answer, connecting included.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub timeout: u64,
}

/// One check of `doctor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// `PAYRAM_API_KEYS` is present and valid, and every other setting parses (as for `serve`).
    Config,
    /// The database exists, has no pending migration and can take a write transaction.
    Database,
    /// `WEBHOOK_PATH` on the running server answers PayRam's test ping with a 2xx.
    Webhook,
    /// When `PAYRAM_BASE_URL` is set: PayRam's lookup API accepts the first key.
    PayramApi,
}

/// The checks `doctor` runs, in this order.
#[must_use]
pub fn checks() -> Vec<Check> {
    vec![Check::Config, Check::Database, Check::Webhook, Check::PayramApi]
}

impl Check {
    /// The name printed on the check's line.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Database => "database",
            Self::Webhook => "webhook",
            Self::PayramApi => "payram-api",
        }
    }

    /// Runs the check: a detail for the `ok` line, or why it failed.
    pub async fn run(self, args: &DoctorArgs) -> Result<String, String> {
        match self {
            Self::Config => args
                .serve
                .settings()
                .map(|settings| describe(&settings, &args.serve))
                .map_err(|err| err.to_string()),
            Self::Database => {
                let database = &args.serve.database;
                payram_store::check(&database.database_url, database.busy_timeout())
                    .map(|health| {
                        format!(
                            "{}: {} migrations applied, none pending; a write transaction began \
                             and rolled back",
                            health.path, health.migrations
                        )
                    })
                    .map_err(|err| payram_ports::ErrorChain(&err).to_string())
            }
            Self::Webhook => {
                if args.url.is_none() && args.serve.security.tls_cert.is_some() {
                    // The certificate names the public host, not the bind address.
                    return Err("TLS_CERT is set: give the server's public https address with \
                                --url (e.g. --url https://pay.example.com)"
                        .to_owned());
                }
                let url = webhook_url(
                    args.url.as_deref(),
                    args.serve.bind_addr,
                    &args.serve.webhook_path,
                )?;
                let client = Client::new(&url, args.timeout)?;
                let answer = client.deliver(&Request::test_ping()).await?;
                if answer.is_success() {
                    return Ok(format!("POST {url} answered PayRam's test ping with {answer}"));
                }
                Err(format!(
                    "POST {url} answered PayRam's test ping with {answer}; PayRam deactivates a \
                     webhook that fails its test"
                ))
            }
            Self::PayramApi => payram_api(args).await,
        }
    }
}

/// Asks PayRam's lookup API about the newest payment this server recorded (or, with none, a
/// made-up reference): any answer but 401/403 means the key was accepted.
async fn payram_api(args: &DoctorArgs) -> Result<String, String> {
    if args.serve.payram.payram_base_url.as_deref().is_none_or(|url| url.trim().is_empty()) {
        return Ok("not configured (PAYRAM_BASE_URL is unset), nothing to check".to_owned());
    }
    let settings = args.serve.settings().map_err(|err| err.to_string())?;
    let config =
        args.serve.payram.config(&settings.api_keys, "doctor").map_err(|err| err.to_string())?;
    let gateway = payram_api::PayramApi::new(config).map_err(|err| err.to_string())?;
    let known = newest_reference(args).await;
    let reference = match &known {
        Some(reference) => reference.clone(),
        None => {
            ReferenceId::parse("payram-merchant-doctor-probe").map_err(|err| err.to_string())?
        }
    };
    match gateway.payment(&reference).await {
        Ok(_) => Ok(format!("PayRam answered the lookup of {reference} with the first key")),
        Err(GatewayError::NotFound(_)) => Ok(format!(
            "PayRam accepted the first key (it does not know {reference}, which is expected)"
        )),
        Err(GatewayError::Rejected(status @ (401 | 403), message)) => Err(format!(
            "PayRam refused the first key of PAYRAM_API_KEYS (HTTP {status}): {message}{}",
            if known.is_some() {
                ""
            } else {
                "; no payment is recorded yet, so a made-up reference was asked about, and some \
                 PayRam versions answer 401 for an unknown reference too"
            }
        )),
        Err(err) => Err(payram_ports::ErrorChain(&err).to_string()),
    }
}

/// The reference of the newest applied payment event, if the database has one.
async fn newest_reference(args: &DoctorArgs) -> Option<ReferenceId> {
    let database = &args.serve.database;
    let config = crate::CoreConfig {
        database_url: database.database_url.clone(),
        busy_timeout: database.busy_timeout(),
        synchronous: database.sqlite_synchronous,
        credit_policy: payram_domain::CreditPolicy::default(),
        retry: payram_core::RetryPolicy::default(),
        forward_credits: false,
        confirm: None,
    };
    let queries = crate::Core::open(&config).ok()?.queries();
    let filter = EventFilter {
        outcome: Some(payram_domain::EventOutcome::Applied),
        limit: 1,
        ..EventFilter::default()
    };
    let newest = queries.events(filter).await.ok()?.into_iter().next()?;
    ReferenceId::parse(newest.reference_id.as_deref()?).ok()
}

/// The `ok` detail of the configuration: what it amounts to, never a key or the token.
fn describe(settings: &Settings, args: &ServeArgs) -> String {
    let keys = settings.api_keys.len();
    let security = &settings.security;
    let addresses = |list: Option<&payram_http::IpList>| {
        list.map_or_else(|| "every address".to_owned(), ToString::to_string)
    };
    format!(
        "{keys} API key{}, webhook {} on {}{}, admin API {}, CREDIT_ON {}, signature {}, \
         webhook from {}, admin from {}",
        if keys == 1 { "" } else { "s" },
        settings.webhook_path,
        settings.bind_addr,
        if security.tls.is_some() { " (HTTPS)" } else { "" },
        if settings.admin_token.is_some() { "enabled" } else { "disabled (no ADMIN_TOKEN)" },
        args.policy.credit_on,
        if settings.require_signature { "required" } else { "or API-Key accepted" },
        addresses(security.allowed_ips.as_ref()),
        addresses(security.admin_allowed_ips.as_ref()),
    )
}

/// Where the test ping goes: `--url` (or `http://BIND_ADDR`) followed by the webhook path.
pub fn webhook_url(url: Option<&str>, bind_addr: SocketAddr, path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err(format!("WEBHOOK_PATH must start with '/' (got {path:?})"));
    }
    let base = match url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None if bind_addr.port() == 0 => {
            return Err(
                "BIND_ADDR has port 0 (any free port): give the running server's --url".to_owned()
            );
        }
        None => format!("http://{}", reachable(bind_addr)),
    };
    Ok(format!("{base}{path}"))
}

/// A listen address a client can connect to: the unspecified address means this machine.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}

/// A check's line: `ok   <check>: detail` or `FAIL <check>: detail`.
#[must_use]
pub fn line(check: Check, res: &Result<String, String>) -> String {
    match res {
        Ok(detail) => format!("ok   {}: {detail}", check.name()),
        Err(why) => format!("FAIL {}: {why}", check.name()),
    }
}

/// `payram-merchant doctor`: runs every check, prints its line, fails when any failed.
pub async fn run(args: &DoctorArgs) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    let mut failed = Vec::new();
    for check in checks() {
        let res = check.run(args).await;
        if res.is_err() {
            failed.push(check.name());
        }
        writeln!(out, "{}", line(check, &res))
            .and_then(|()| out.flush())
            .context("cannot write to stdout")?;
    }
    if failed.is_empty() {
        return Ok(());
    }
    anyhow::bail!("{} check(s) failed: {}", failed.len(), failed.join(", "))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        doctor: DoctorArgs,
    }

    fn args(line: &[&str]) -> DoctorArgs {
        let mut command_line = vec!["doctor"];
        command_line.extend_from_slice(line);
        Cli::try_parse_from(command_line).unwrap().doctor
    }

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_ping_goes_to_the_bind_address_unless_a_url_is_given() {
        let url = |base, bind, path| webhook_url(base, addr(bind), path);
        assert_eq!(
            url(None, "127.0.0.1:8080", "/webhook").unwrap(),
            "http://127.0.0.1:8080/webhook"
        );
        assert_eq!(url(None, "0.0.0.0:9000", "/hook").unwrap(), "http://127.0.0.1:9000/hook");
        assert_eq!(url(None, "[::]:9000", "/hook").unwrap(), "http://[::1]:9000/hook");
        assert_eq!(
            url(Some("http://10.0.0.5:8080/"), "127.0.0.1:1", "/webhook").unwrap(),
            "http://10.0.0.5:8080/webhook"
        );
        assert!(url(None, "127.0.0.1:0", "/webhook").unwrap_err().contains("--url"));
        assert!(url(None, "127.0.0.1:8080", "webhook").is_err());
    }

    #[test]
    fn lines_say_ok_or_fail_with_the_check_name() {
        assert_eq!(line(Check::Config, &Ok("fine".to_owned())), "ok   config: fine");
        assert_eq!(line(Check::Webhook, &Err("down".to_owned())), "FAIL webhook: down");
    }

    #[test]
    fn every_check_has_its_own_name() {
        let names: Vec<_> = checks().into_iter().map(Check::name).collect();
        assert_eq!(names, ["config", "database", "webhook", "payram-api"]);
    }

    #[tokio::test]
    async fn config_fails_without_keys_and_never_shows_one() {
        let err = Check::Config.run(&args(&[])).await.unwrap_err();
        assert!(err.contains("PAYRAM_API_KEYS"), "{err}");

        let detail = Check::Config.run(&args(&["--api-keys", "secret-a,secret-b"])).await.unwrap();
        assert!(detail.starts_with("2 API keys, webhook /webhook on 127.0.0.1:8080"), "{detail}");
        assert!(!detail.contains("secret"), "{detail}");

        let err = Check::Config
            .run(&args(&["--api-keys", "k", "--credit-on", "PAID"]))
            .await
            .unwrap_err();
        assert!(err.contains("CREDIT_ON"), "{err}");
    }

    #[tokio::test]
    async fn database_fails_when_missing_or_unmigrated_and_passes_once_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("doctor.db");
        let db = db.to_str().unwrap();

        let err = Check::Database.run(&args(&["--database-url", db])).await.unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
        assert!(!std::path::Path::new(db).exists(), "doctor never creates the database");

        std::fs::write(db, b"").unwrap();
        let err = Check::Database.run(&args(&["--database-url", db])).await.unwrap_err();
        assert!(
            err.contains("pending migrations") && err.contains("payram-merchant migrate"),
            "{err}"
        );

        payram_store::migrate(db).unwrap();
        let detail = Check::Database.run(&args(&["--database-url", db])).await.unwrap();
        assert!(detail.contains("none pending"), "{detail}");
    }

    #[tokio::test]
    async fn webhook_fails_when_nothing_answers() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let bind = format!("127.0.0.1:{port}");
        let err =
            Check::Webhook.run(&args(&["--bind-addr", &bind, "--timeout", "5"])).await.unwrap_err();
        assert!(err.contains("cannot connect"), "{err}");
    }
}
