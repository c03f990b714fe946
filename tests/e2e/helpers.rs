//! Starts the real `payram-merchant` binary on a free port with a fresh SQLite file, and talks
//! to it over real HTTP.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::OnceLock,
    time::Duration,
};

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tempfile::TempDir;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// The test project key of `tests/fixtures/vectors/signatures.tsv`.
pub(crate) const TEST_KEY: &str = "payram-test-project-api-key-0001";
/// An older key, configured first, to exercise key rotation.
pub(crate) const OLD_KEY: &str = "payram-old-project-key";
pub(crate) const ADMIN_TOKEN: &str = "e2e-admin-token";

/// How long the server may take to print its address before the test fails (a bound on a
/// failure, not a synchronisation: the test proceeds as soon as the line is read).
const START_LIMIT: Duration = Duration::from_mins(1);

/// The path of the freshly built binary. Built once per test run with the same cargo, so the
/// tests never run a stale binary.
pub(crate) fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let target = target_dir();
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "payram_merchant", "--bin", "payram-merchant"])
            .arg("--target-dir")
            .arg(&target)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build of payram-merchant failed");
        target.join("debug").join(format!("payram-merchant{}", std::env::consts::EXE_SUFFIX))
    })
}

/// `target/` of this build: the test executable lives in `target/debug/deps/`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.ancestors().nth(3).expect("target dir above target/debug/deps").to_path_buf()
}

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/vectors").join(name);
    std::fs::read(&path).unwrap_or_else(|err| panic!("read {}: {err}", path.display()))
}

/// `X-Payram-Signature` for a body under a key, as PayRam computes it.
pub(crate) fn sign(key: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A running server with its own database directory.
pub(crate) struct TestApp {
    pub(crate) base: String,
    pub(crate) dir: TempDir,
    pub(crate) client: reqwest::Client,
    child: Child,
}

/// Extra environment for a server; the defaults are two keys, an admin token, port 0.
pub(crate) type Env<'a> = &'a [(&'a str, &'a str)];

impl TestApp {
    pub(crate) async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    pub(crate) async fn spawn_with(env: Env<'_>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("payram.db");
        Self::spawn_on(dir, &db, env).await
    }

    /// Starts a server on an existing database directory.
    pub(crate) async fn spawn_on(dir: TempDir, db: &Path, env: Env<'_>) -> Self {
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let mut command = Command::new(binary());
        command
            .arg("serve")
            .env_clear()
            .env("PAYRAM_API_KEYS", format!("{OLD_KEY},{TEST_KEY}"))
            .env("DATABASE_URL", db)
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(true);
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let base = tokio::time::timeout(START_LIMIT, async {
            let mut lines = BufReader::new(stdout).lines();
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(addr) = line.strip_prefix("payram-merchant listening on ") {
                    return addr.to_owned();
                }
            }
            panic!("server exited before printing its address");
        })
        .await
        .expect("server printed its address in time");
        Self { base, dir, client: reqwest::Client::new(), child }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The server's log so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap()
    }

    /// POSTs a body signed with the test key, plus the `API-Key` header, as current PayRam does.
    pub(crate) async fn post_signed(&self, body: &[u8]) -> (u16, Value) {
        self.send(
            self.client
                .post(self.url("/webhook"))
                .header("X-Payram-Signature", sign(TEST_KEY, body))
                .header("API-Key", TEST_KEY)
                .body(body.to_vec()),
        )
        .await
    }

    /// POSTs a body with only the legacy `API-Key` header, as older PayRam servers do.
    pub(crate) async fn post_legacy(&self, body: &[u8]) -> (u16, Value) {
        self.send(
            self.client.post(self.url("/webhook")).header("API-Key", TEST_KEY).body(body.to_vec()),
        )
        .await
    }

    pub(crate) async fn admin_get(&self, path: &str) -> (u16, Value) {
        self.send(self.client.get(self.url(path)).bearer_auth(ADMIN_TOKEN)).await
    }

    pub(crate) async fn customer_balance(&self, customer: &str) -> String {
        let (status, body) = self.admin_get(&format!("/api/customers/{customer}")).await;
        assert_eq!(status, 200, "{body}");
        body["balance_usd"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|err| panic!("answer {status} is not JSON ({err}): {text:?}"));
        (status, body)
    }

    /// Kills the server at once (SIGKILL) and returns its directory for a restart.
    pub(crate) async fn kill(mut self) -> TempDir {
        self.child.kill().await.unwrap();
        self.dir
    }
}

/// A receiver that answers every request with the same fixed answer, to prove that the tools
/// fail against a wrong receiver. It reads each request whole, answers, closes the connection,
/// and lives until the test process ends. Returns its base URL.
pub(crate) fn fixed_receiver(status: u16, body: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = answer_fixed(stream, status, body);
        }
    });
    format!("http://{addr}")
}

fn answer_fixed(mut stream: std::net::TcpStream, status: u16, body: &str) -> std::io::Result<()> {
    use std::io::{BufRead, Read, Write};

    let mut reader = std::io::BufReader::new(stream.try_clone()?);
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    reader.read_exact(&mut vec![0; length])?;
    let content_type = if body.starts_with('{') { "application/json" } else { "text/plain" };
    write!(
        stream,
        "HTTP/1.1 {status} Fixed\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

/// The path of a [`TestApp`]'s database (as `spawn` and `spawn_with` lay it out).
pub(crate) fn database_of(app: &TestApp) -> PathBuf {
    app.dir.path().join("payram.db")
}
