//! Starts the real `payram-merchant` binary on a free port with a fresh SQLite file, and talks
//! to it over real HTTP.

use std::{
    collections::HashMap,
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
pub(crate) const ADMIN_TOKEN: &str = "e2e-admin-token-0123456789";

/// How long the server may take to print its address before the test fails (a bound on a
/// failure, not a synchronisation: the test proceeds as soon as the line is read).
const START_LIMIT: Duration = Duration::from_mins(1);

/// The path of the freshly built binary. Built once per test run with the same cargo, so the
/// tests never run a stale binary.
pub(crate) fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let target = target_dir();
        let mut command = payram_e2e::nested_cargo();
        let status = command
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

/// Builds the binary (once per run) off the async runtime, so that a test can start its own
/// time bound after the build rather than around it.
pub(crate) async fn built() {
    tokio::task::spawn_blocking(binary).await.expect("the build does not panic");
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

impl TestApp {
    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id().expect("the server is running")
    }

    /// `host:port` of the listener, for raw TCP.
    pub(crate) fn addr(&self) -> String {
        self.base.strip_prefix("http://").unwrap_or(&self.base).to_owned()
    }

    /// The database file of a server started by [`TestApp::spawn`] or [`TestApp::spawn_with`].
    pub(crate) fn db_path(&self) -> PathBuf {
        self.dir.path().join("payram.db")
    }

    /// Sends SIGTERM (graceful shutdown).
    pub(crate) fn terminate(&self) {
        let pid = self.pid().to_string();
        let status = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success(), "kill -TERM {pid} failed");
    }

    /// Waits for the server to exit, at most `limit`; returns its exit status and directory.
    pub(crate) async fn wait_exit(
        mut self,
        limit: Duration,
    ) -> (std::process::ExitStatus, TempDir) {
        let status = tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the server did not exit within {limit:?}"))
            .unwrap();
        (status, self.dir)
    }
}

/// A reqwest client that keeps at most one connection and gives up on a request after 60 s
/// (a bound on a hung server, never reached when the server answers).
pub(crate) fn one_connection_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_mins(1))
        .build()
        .unwrap()
}

/// POSTs a body signed with the test key to a webhook URL. `Err` when the exchange failed at
/// the transport level (refused, reset, cut short) or the answer was not JSON.
pub(crate) async fn deliver(
    client: &reqwest::Client,
    url: &str,
    body: &[u8],
) -> Result<(u16, Value), String> {
    let response = client
        .post(url)
        .header("X-Payram-Signature", sign(TEST_KEY, body))
        .header("API-Key", TEST_KEY)
        .body(body.to_vec())
        .send()
        .await
        .map_err(|err| format!("send: {err:?}"))?;
    let status = response.status().as_u16();
    let text = response.text().await.map_err(|err| format!("read: {err:?}"))?;
    let answer = serde_json::from_str(&text)
        .map_err(|err| format!("answer {status} is not JSON ({err}): {text:?}"))?;
    Ok((status, answer))
}

/// A small deterministic pseudo-random generator (xorshift64*), so that every run shuffles and
/// generates the same way and a failure can be replayed.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) const fn new(seed: u64) -> Self {
        // xorshift must not start at zero.
        Self(seed | 1)
    }

    pub(crate) const fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform enough in `0..n` for tests (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        let n = u64::try_from(n).unwrap();
        usize::try_from(self.next_u64() % n).unwrap()
    }

    /// A value in `low..=high`.
    pub(crate) fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next_u64() % (high - low + 1)
    }

    /// Fisher-Yates.
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// `1234` cents as `"12.34"`.
pub(crate) fn usd(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// An exact decimal string with at most two significant decimal places, in cents: `"12.3"`,
/// `"12.30"` and `"12.300"` are all 1230. Panics on anything else (a sub-cent amount would be
/// a bug here, since every amount sent is in whole cents).
pub(crate) fn cents(text: &str) -> u64 {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    assert!(
        !whole.is_empty()
            && whole.bytes().all(|b| b.is_ascii_digit())
            && fraction.bytes().all(|b| b.is_ascii_digit()),
        "not a plain decimal: {text:?}"
    );
    let (kept, rest) = fraction.split_at(fraction.len().min(2));
    assert!(rest.bytes().all(|b| b == b'0'), "finer than a cent: {text:?}");
    let kept = format!("{kept:0<2}");
    whole.parse::<u64>().unwrap() * 100 + kept.parse::<u64>().unwrap()
}

/// A payment status, in rank order: `OPEN` < `PARTIALLY_FILLED` < `CANCELLED` < `FILLED` <
/// `OVER_FILLED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Status {
    Open,
    PartiallyFilled,
    Cancelled,
    Filled,
    OverFilled,
}

impl Status {
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::Open => "OPEN",
            Self::PartiallyFilled => "PARTIALLY_FILLED",
            Self::Cancelled => "CANCELLED",
            Self::Filled => "FILLED",
            Self::OverFilled => "OVER_FILLED",
        }
    }

    /// In the default `CREDIT_ON`.
    pub(crate) const fn is_paid(self) -> bool {
        matches!(self, Self::PartiallyFilled | Self::Filled | Self::OverFilled)
    }
}

/// One notification PayRam sends about a payment: its status and cumulative USD received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Note {
    pub(crate) status: Status,
    pub(crate) usd_cents: Option<u64>,
}

impl Note {
    /// The order of progress: (USD received, status rank), no amount counting as zero.
    pub(crate) fn progress(self) -> (u64, Status) {
        (self.usd_cents.unwrap_or(0), self.status)
    }
}

/// A payment and the notifications PayRam sends about it over its life.
#[derive(Clone, Debug)]
pub(crate) struct PaymentPlan {
    pub(crate) reference_id: String,
    pub(crate) customer_id: String,
    pub(crate) amount_cents: u64,
    pub(crate) notes: Vec<Note>,
    /// Whether amounts are sent as JSON numbers rather than strings (PayRam does both).
    numbers: bool,
}

impl PaymentPlan {
    /// A realistic history: OPEN without an amount, then partial fills, and a FILLED, a
    /// `CANCELLED` (sometimes followed by a late payment), or an `OVER_FILLED`.
    pub(crate) fn generate(rng: &mut Rng, reference_id: String, customer_id: String) -> Self {
        use Status::{Cancelled, Filled, Open, OverFilled, PartiallyFilled};
        let amount = rng.range(10, 5000) * 100 + rng.range(0, 99);
        let part = |rng: &mut Rng, max: u64| rng.range(1, max - 1);
        let note = |status, usd| Note { status, usd_cents: usd };
        let mut notes = vec![note(Open, None)];
        match rng.below(7) {
            0 => notes.push(note(Filled, Some(amount))),
            1 => {
                notes.push(note(PartiallyFilled, Some(part(rng, amount))));
                notes.push(note(Filled, Some(amount)));
            }
            2 => {
                let first = rng.range(1, amount - 2);
                let second = rng.range(first + 1, amount - 1);
                notes.push(note(PartiallyFilled, Some(first)));
                notes.push(note(PartiallyFilled, Some(second)));
                notes.push(note(Filled, Some(amount)));
            }
            3 => {
                // Cancelled after a partial payment, then the rest arrives late.
                let first = part(rng, amount);
                notes.push(note(PartiallyFilled, Some(first)));
                notes.push(note(Cancelled, Some(first)));
                notes.push(note(Filled, Some(amount)));
            }
            4 => {
                // Cancelled before any money, then paid in full late.
                notes.push(note(Cancelled, None));
                notes.push(note(Filled, Some(amount)));
            }
            5 => {
                let first = part(rng, amount);
                notes.push(note(PartiallyFilled, Some(first)));
                notes.push(note(Filled, Some(amount)));
                notes.push(note(OverFilled, Some(amount + rng.range(1, 5000))));
            }
            _ => {
                // Cancelled after a partial payment, and that is the end of it.
                let first = part(rng, amount);
                notes.push(note(PartiallyFilled, Some(first)));
                notes.push(note(Cancelled, Some(first)));
            }
        }
        let numbers = rng.below(3) == 0;
        Self { reference_id, customer_id, amount_cents: amount, notes, numbers }
    }

    /// The exact bytes PayRam would send for notification `index`.
    pub(crate) fn body(&self, index: usize) -> Vec<u8> {
        let note = self.notes[index];
        let money = |cents: Option<u64>| match cents {
            None => "null".to_owned(),
            Some(cents) if self.numbers => usd(cents),
            Some(cents) => format!("\"{}\"", usd(cents)),
        };
        format!(
            concat!(
                r#"{{"reference_id":"{}","status":"{}","customer_id":"{}","invoice_id":"inv-{}","#,
                r#""amount":{},"currency":"USDC","filled_amount":{},"filled_amount_in_usd":{}}}"#
            ),
            self.reference_id,
            note.status.name(),
            self.customer_id,
            self.reference_id,
            money(Some(self.amount_cents)),
            money(note.usd_cents),
            money(note.usd_cents),
        )
        .into_bytes()
    }

    /// What the payment credits once every notification is received: the largest USD amount
    /// among its paid-state notifications.
    pub(crate) fn expected_credit(&self) -> u64 {
        credit_of(self.notes.iter().copied())
    }

    /// Where the payment ends once every notification is received: the most advanced one.
    pub(crate) fn expected_status(&self) -> Status {
        self.notes.iter().map(|note| note.progress()).max().unwrap().1
    }
}

/// `payments` plans named `{prefix}-000`, ... whose customers `{prefix}-cust-00`, ... each
/// have `payments / customers` of them (rounded up).
pub(crate) fn generate_plans(
    rng: &mut Rng,
    prefix: &str,
    payments: usize,
    customers: usize,
) -> Vec<PaymentPlan> {
    (0..payments)
        .map(|i| {
            let customer = format!("{prefix}-cust-{:03}", i % customers);
            PaymentPlan::generate(rng, format!("{prefix}-{i:03}"), customer)
        })
        .collect()
}

/// The credit a set of notifications of one payment implies: their largest paid USD amount.
pub(crate) fn credit_of(notes: impl IntoIterator<Item = Note>) -> u64 {
    notes
        .into_iter()
        .filter(|note| note.status.is_paid())
        .filter_map(|note| note.usd_cents)
        .max()
        .unwrap_or(0)
}

/// One webhook delivery: which payment and notification, and the bytes sent.
#[derive(Clone, Debug)]
pub(crate) struct Planned {
    pub(crate) plan: usize,
    pub(crate) note: usize,
    pub(crate) body: std::sync::Arc<[u8]>,
}

/// Every notification of every plan, each delivered one to three times (PayRam's retries and
/// duplicates), shuffled.
pub(crate) fn planned_deliveries(plans: &[PaymentPlan], rng: &mut Rng) -> Vec<Planned> {
    let mut deliveries = Vec::new();
    for (plan_index, plan) in plans.iter().enumerate() {
        for note in 0..plan.notes.len() {
            let body: std::sync::Arc<[u8]> = plan.body(note).into();
            let copies = [1, 1, 1, 2, 2, 3][rng.below(6)];
            for _ in 0..copies {
                deliveries.push(Planned { plan: plan_index, note, body: body.clone() });
            }
        }
    }
    rng.shuffle(&mut deliveries);
    deliveries
}

/// The test's own connection to a server's SQLite file (the same bundled SQLite), for checks
/// the HTTP API cannot make and for holding locks.
pub(crate) struct Db(diesel::SqliteConnection);

/// An `events` row.
#[derive(diesel::QueryableByName, Debug)]
pub(crate) struct EventRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(crate) id: i64,
    #[diesel(sql_type = diesel::sql_types::Binary)]
    pub(crate) raw_body: Vec<u8>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub(crate) reference_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(crate) outcome: String,
}

/// A `credits` row.
#[derive(diesel::QueryableByName, Debug)]
pub(crate) struct CreditRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(crate) reference_id: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(crate) seq: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(crate) customer_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(crate) amount_usd: String,
}

/// A `payments` row.
#[derive(diesel::QueryableByName, Debug)]
pub(crate) struct PaymentRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(crate) reference_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(crate) status: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(crate) credited_usd: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(crate) credit_count: i64,
}

#[derive(diesel::QueryableByName)]
struct IntegrityRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}

impl Db {
    pub(crate) fn open(path: &Path) -> Self {
        use diesel::{Connection, connection::SimpleConnection};
        let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap())
            .unwrap_or_else(|err| panic!("open {}: {err}", path.display()));
        conn.batch_execute("PRAGMA busy_timeout = 10000;").unwrap();
        Self(conn)
    }

    pub(crate) fn execute(&mut self, sql: &str) {
        use diesel::connection::SimpleConnection;
        self.0.batch_execute(sql).unwrap_or_else(|err| panic!("{sql}: {err}"));
    }

    fn load<T: diesel::QueryableByName<diesel::sqlite::Sqlite> + 'static>(
        &mut self,
        sql: &str,
    ) -> Vec<T> {
        use diesel::RunQueryDsl;
        diesel::sql_query(sql).load(&mut self.0).unwrap_or_else(|err| panic!("{sql}: {err}"))
    }

    /// `SELECT COUNT(*) FROM <table>`.
    pub(crate) fn count(&mut self, table: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        self.load::<Count>(&format!("SELECT COUNT(*) AS n FROM {table}"))[0].n
    }

    /// `PRAGMA integrity_check`: `["ok"]` for a sound file.
    pub(crate) fn integrity_check(&mut self) -> Vec<String> {
        self.load::<IntegrityRow>("PRAGMA integrity_check")
            .into_iter()
            .map(|row| row.integrity_check)
            .collect()
    }

    pub(crate) fn events(&mut self) -> Vec<EventRow> {
        self.load("SELECT id, raw_body, reference_id, outcome FROM events ORDER BY id")
    }

    pub(crate) fn credits(&mut self) -> Vec<CreditRow> {
        self.load("SELECT reference_id, seq, customer_id, amount_usd FROM credits ORDER BY id")
    }

    pub(crate) fn payments(&mut self) -> Vec<PaymentRow> {
        self.load(
            "SELECT reference_id, status, credited_usd, credit_count FROM payments \
             ORDER BY reference_id",
        )
    }
}

/// Checks the credit ledger against the payments table: per payment, credit numbers 1..n,
/// credits summing to `credited_usd`, `credit_count` equal to n. Returns each payment's
/// credited total in cents and each customer's balance in cents.
pub(crate) fn check_ledger(db: &mut Db) -> (HashMap<String, u64>, HashMap<String, u64>) {
    let payments = db.payments();
    let credits = db.credits();
    let mut by_payment: HashMap<String, Vec<&CreditRow>> = HashMap::new();
    let mut balances: HashMap<String, u64> = HashMap::new();
    for credit in &credits {
        by_payment.entry(credit.reference_id.clone()).or_default().push(credit);
        *balances.entry(credit.customer_id.clone()).or_default() += cents(&credit.amount_usd);
    }
    let mut credited = HashMap::new();
    for payment in &payments {
        let rows = by_payment.remove(&payment.reference_id).unwrap_or_default();
        let mut seqs: Vec<i64> = rows.iter().map(|row| row.seq).collect();
        seqs.sort_unstable();
        let expected: Vec<i64> = (1..=i64::try_from(rows.len()).unwrap()).collect();
        assert_eq!(seqs, expected, "credit numbers of {}", payment.reference_id);
        assert_eq!(
            payment.credit_count,
            i64::try_from(rows.len()).unwrap(),
            "credit_count of {}",
            payment.reference_id
        );
        let sum: u64 = rows.iter().map(|row| cents(&row.amount_usd)).sum();
        assert!(rows.iter().all(|row| cents(&row.amount_usd) > 0), "{rows:?}");
        assert_eq!(
            sum,
            cents(&payment.credited_usd),
            "credits of {} against its credited_usd",
            payment.reference_id
        );
        credited.insert(payment.reference_id.clone(), sum);
    }
    assert!(by_payment.is_empty(), "credits of unknown payments: {by_payment:?}");
    (credited, balances)
}

/// A file system mounted for one test (size-limited tmpfs, or a loop-mounted ext4 image);
/// unmounted on drop. Mounting needs root; a test that needs it fails loudly without it.
#[cfg(feature = "system-tests")]
pub(crate) struct Mount {
    dir: TempDir,
}

#[cfg(feature = "system-tests")]
impl Mount {
    /// A tmpfs of `size` (e.g. `"8m"`).
    pub(crate) fn tmpfs(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mountpoint = dir.path().join("mnt");
        std::fs::create_dir(&mountpoint).unwrap();
        run_root_command(
            "mount",
            &["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs", mountpoint.to_str().unwrap()],
        );
        Self { dir }
    }

    /// A fresh ext4 file system of `megabytes` in an image file, loop-mounted with
    /// `errors=remount-ro` (an error makes it read-only, as a failing disk would).
    pub(crate) fn ext4(megabytes: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("fs.img");
        std::fs::File::create(&image).unwrap().set_len(megabytes << 20).unwrap();
        run_root_command("mkfs.ext4", &["-q", "-F", "-m", "0", image.to_str().unwrap()]);
        std::fs::create_dir(dir.path().join("mnt")).unwrap();
        let mount = Self { dir };
        mount.mount_image();
        mount
    }

    pub(crate) fn path(&self) -> PathBuf {
        self.dir.path().join("mnt")
    }

    fn mount_image(&self) {
        let image = self.dir.path().join("fs.img");
        run_root_command(
            "mount",
            &[
                "-o",
                "loop,errors=remount-ro",
                image.to_str().unwrap(),
                self.path().to_str().unwrap(),
            ],
        );
    }

    /// Makes the ext4 file system read-only under the feet of the processes using it, as the
    /// kernel does when a disk fails: an ext4 error (`trigger_fs_error`) with
    /// `errors=remount-ro`. Writes then fail with EROFS, also through descriptors already
    /// open. It stays so until unmounted ([`Mount::remount`]).
    pub(crate) fn force_read_only(&self) {
        let output = std::process::Command::new("findmnt")
            .args(["-n", "-o", "SOURCE", "--mountpoint"])
            .arg(self.path())
            .output()
            .unwrap();
        let source = String::from_utf8(output.stdout).unwrap();
        // Never an error on any other file system than this test's loop device.
        let device = source.trim().strip_prefix("/dev/").unwrap_or_default();
        assert!(device.starts_with("loop"), "not a loop-mounted file system: {source:?}");
        let trigger = Path::new("/sys/fs/ext4").join(device).join("trigger_fs_error");
        std::fs::write(&trigger, "payram e2e: simulated disk failure\n")
            .unwrap_or_else(|err| panic!("write {}: {err}", trigger.display()));
        let probe = std::fs::File::create(self.path().join("probe")).map_err(|err| err.kind());
        assert_eq!(probe.err(), Some(std::io::ErrorKind::ReadOnlyFilesystem));
    }

    /// Unmounts and mounts the image again (read-write), as an operator would after
    /// [`Mount::force_read_only`]; no process may hold a file there.
    pub(crate) fn remount(&self) {
        run_root_command("umount", &[self.path().to_str().unwrap()]);
        self.mount_image();
    }
}

#[cfg(feature = "system-tests")]
impl Drop for Mount {
    fn drop(&mut self) {
        let mountpoint = self.path();
        let unmounted = std::process::Command::new("umount")
            .arg(&mountpoint)
            .status()
            .is_ok_and(|status| status.success());
        if !unmounted {
            // A process still holds a file there: detach now, released when it exits.
            let _ = std::process::Command::new("umount").arg("-l").arg(&mountpoint).status();
        }
    }
}

/// Runs a command that needs root (mount, chattr, ...) and panics with its output if it fails:
/// a fault that cannot be injected must fail the test, never skip it.
#[cfg(feature = "system-tests")]
pub(crate) fn run_root_command(program: &str, args: &[&str]) {
    let output = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("cannot run {program}: {err}"));
    assert!(
        output.status.success(),
        "{program} {} failed ({}): {}{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
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

/// What a Python test script printed, and whether it succeeded.
#[cfg(feature = "system-tests")]
pub(crate) struct ScriptRun {
    pub(crate) success: bool,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `tests/e2e/scripts/<script>` with the Python interpreter that `make test-deps`
/// prepared (`PAYRAM_E2E_PYTHON`, else `target/e2e-venv`), with `args` and `stdin` as input.
#[cfg(feature = "system-tests")]
pub(crate) async fn run_python(script: &str, args: &[&str], stdin: &[u8]) -> ScriptRun {
    use tokio::io::AsyncWriteExt;

    let python = std::env::var_os("PAYRAM_E2E_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-venv/bin/python"),
        PathBuf::from,
    );
    assert!(
        python.exists(),
        "{} is missing: run `make test-deps` (or `make test`), which installs the Python \
         packages and the browser the tests use",
        python.display()
    );
    let mut child = Command::new(&python)
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("e2e/scripts").join(script))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).await.unwrap();
    drop(input);
    let output = child.wait_with_output().await.unwrap();
    ScriptRun {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
