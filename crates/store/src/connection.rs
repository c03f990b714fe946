//! Opening the database: WAL mode, migrations and the connection pool.

use std::{
    path::Path,
    sync::{Arc, atomic::AtomicBool, mpsc},
    time::Duration,
};

use diesel::{
    connection::SimpleConnection,
    prelude::*,
    r2d2::{self, ConnectionManager, CustomizeConnection, HandleError, Pool},
    sql_types::Text,
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use payram_ports::BoxError;

use crate::{
    SqliteRepository, StoreError,
    writer::{self, Writer, WriterOptions},
};

/// The migrations of `migrations/sqlite`, compiled into the binary (`build.rs` rebuilds the
/// crate when they change).
const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// How [`connect`] sizes and configures the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// Connections kept open. SQLite serialises writers anyway; a few connections serve
    /// concurrent reads. Keep it well below tokio's blocking-thread limit.
    pub pool_size: u32,
    /// How long a statement waits for a lock held by another connection, and how long a
    /// caller waits for a free pooled connection, before the store reports itself unavailable.
    pub busy_timeout: Duration,
    /// Whether every credit gets an outbox entry in its transaction, to be forwarded to the
    /// merchant's application (`CREDIT_FORWARD_URL`).
    pub outbox: bool,
    /// When a commit is durable (`SQLITE_SYNCHRONOUS`).
    pub synchronous: Synchronous,
    /// How the single writer queues and batches.
    pub writer: WriterOptions,
}

impl Default for StoreOptions {
    /// 8 read connections, 5 seconds, no outbox, `synchronous = FULL`, the writer's defaults.
    fn default() -> Self {
        Self {
            pool_size: 8,
            busy_timeout: Duration::from_secs(5),
            outbox: false,
            synchronous: Synchronous::Full,
            writer: WriterOptions::default(),
        }
    }
}

/// SQLite's `synchronous` setting for the writer's commits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// Every commit is on disk before it is acknowledged, power loss included: the default,
    /// because an acknowledged webhook is never delivered again.
    #[default]
    Full,
    /// WAL's usual setting: a commit survives a crash of the process, but the last commits
    /// before a power loss or an OS crash may be lost. Weaker; opt-in only.
    Normal,
}

impl Synchronous {
    const fn pragma(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

/// How much longer than the busy timeout a caller waits for the writer's answer.
const WRITER_GRACE: Duration = Duration::from_millis(500);

/// The WAL file is truncated to this size when it restarts (a burst may grow it beyond).
const WAL_SIZE_LIMIT: u64 = 64 * 1024 * 1024;

/// How often the WAL is checkpointed, off the writer's path: often, so that what the writer
/// has left to copy when it restarts the WAL is little.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);

/// The file path of a database URL: accepts `sqlite://PATH`, `sqlite:PATH` and a bare `PATH`.
///
/// A path may also be an SQLite URI filename such as `file:data.db?mode=ro`.
#[must_use]
pub fn database_path(database_url: &str) -> &str {
    database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .unwrap_or(database_url)
}

/// Switches the database to WAL mode and applies the pending migrations, all of them in one
/// transaction; returns the versions applied (empty when none were pending). Creates the file
/// when it does not exist.
pub fn migrate(database_url: &str) -> Result<Vec<String>, StoreError> {
    let path = database_path(database_url);
    let mut conn = open(path, StoreOptions::default().busy_timeout)?;
    // BEGIN IMMEDIATE serialises concurrent migrators: the second one waits, then finds
    // nothing pending. Diesel runs each migration in a savepoint inside it.
    conn.immediate_transaction(|conn| {
        let applied = conn.run_pending_migrations(MIGRATIONS)?;
        Ok(applied.iter().map(ToString::to_string).collect())
    })
    .map_err(|source| StoreError::Migrate { path: path.to_owned(), source })
}

/// Reverts every applied migration, newest first, in one transaction. For tests and for
/// rebuilding a scratch database; `serve` never calls it.
pub fn revert_all(database_url: &str) -> Result<(), StoreError> {
    let path = database_path(database_url);
    let mut conn = open(path, StoreOptions::default().busy_timeout)?;
    conn.immediate_transaction(|conn| conn.revert_all_migrations(MIGRATIONS).map(drop))
        .map_err(|source: BoxError| StoreError::Migrate { path: path.to_owned(), source })
}

/// What [`check`] found in a usable database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseHealth {
    /// The database file.
    pub path: String,
    /// How many migrations are applied: every one this binary knows.
    pub migrations: usize,
}

/// Checks, changing nothing, that the database exists, has no pending migration and can take
/// a write: all of it runs in one `BEGIN IMMEDIATE` transaction that writes a probe table and
/// is then rolled back. Unlike [`migrate`] and [`connect`] it never creates the file, never
/// applies a migration and never switches the journal mode (for `payram-merchant doctor`).
pub fn check(database_url: &str, busy_timeout: Duration) -> Result<DatabaseHealth, StoreError> {
    let path = database_path(database_url);
    let mut conn = open_existing(path)?;
    conn.batch_execute(&format!("PRAGMA busy_timeout = {};", millis(busy_timeout)))
        .map_err(|source| StoreError::Configure { path: path.to_owned(), source: source.into() })?;
    let probe = conn.immediate_transaction(|conn| {
        // Diesel creates its bookkeeping table when it is missing: inside this transaction,
        // so the rollback below removes it again.
        let pending = conn.pending_migrations(MIGRATIONS).map_err(Probe::Migrations)?;
        if !pending.is_empty() {
            let versions = pending.iter().map(|migration| migration.name().version().to_string());
            return Err(Probe::Pending(versions.collect()));
        }
        let applied = conn.applied_migrations().map_err(Probe::Migrations)?;
        conn.batch_execute(
            "CREATE TABLE payram_doctor_probe (id INTEGER); \
             INSERT INTO payram_doctor_probe (id) VALUES (1);",
        )?;
        Err(Probe::RollBack(applied.len()))
    });
    match probe {
        Err(Probe::RollBack(migrations)) => {
            Ok(DatabaseHealth { path: path.to_owned(), migrations })
        }
        Err(Probe::Pending(versions)) => {
            Err(StoreError::PendingMigrations { path: path.to_owned(), versions })
        }
        Err(Probe::Migrations(source)) => {
            Err(StoreError::Migrate { path: path.to_owned(), source })
        }
        Err(Probe::Write(source)) => {
            Err(StoreError::NotWritable { path: path.to_owned(), source: Box::new(source) })
        }
        Ok(()) => Err(StoreError::NotWritable {
            path: path.to_owned(),
            source: "the probe transaction committed".into(),
        }),
    }
}

/// How [`check`]'s transaction ends; every way is a rollback.
enum Probe {
    /// Everything worked: undo the probe write.
    RollBack(usize),
    Pending(Vec<String>),
    Migrations(BoxError),
    Write(diesel::result::Error),
}

impl From<diesel::result::Error> for Probe {
    fn from(err: diesel::result::Error) -> Self {
        Self::Write(err)
    }
}

/// Opens an existing database file read-write; never creates one.
fn open_existing(path: &str) -> Result<SqliteConnection, StoreError> {
    // An SQLite URI filename is the operator's own choice of flags; a plain path is opened
    // with `mode=rw`, which fails instead of creating a missing file.
    let uri = if path.starts_with("file:") {
        path.to_owned()
    } else {
        if !Path::new(path).is_file() {
            return Err(StoreError::Missing { path: path.to_owned() });
        }
        let escaped = path.replace('%', "%25").replace('?', "%3F").replace('#', "%23");
        format!("file:{escaped}?mode=rw")
    };
    SqliteConnection::establish(&uri)
        .map_err(|source| StoreError::Open { path: path.to_owned(), source: Box::new(source) })
}

/// Opens the store: switches the file to WAL mode once, refuses a database with pending
/// migrations (it never migrates), starts the single writer on one connection and the WAL
/// checkpointer on another, then fills a pool of `options.pool_size` read-only connections.
pub fn connect(database_url: &str, options: &StoreOptions) -> Result<SqliteRepository, StoreError> {
    if options.pool_size == 0 {
        return Err(StoreError::InvalidOptions("the pool needs at least one connection"));
    }
    if options.busy_timeout.is_zero() {
        return Err(StoreError::InvalidOptions("the busy timeout must be positive"));
    }
    let path = database_path(database_url);
    let mut conn = open(path, options.busy_timeout)?;
    let pending = conn
        .pending_migrations(MIGRATIONS)
        .map_err(|source| StoreError::Migrate { path: path.to_owned(), source })?;
    if !pending.is_empty() {
        let versions = pending.iter().map(|migration| migration.name().version().to_string());
        return Err(StoreError::PendingMigrations {
            path: path.to_owned(),
            versions: versions.collect(),
        });
    }
    // The ledger's running totals, summed once if missing, so the first credit does not pay
    // for it. Best effort: a read-only or locked database is still opened (its writes fail on
    // their own, and a credit writes the row itself when it is still missing).
    if let Err(failure) = crate::totals::ensure(&mut conn) {
        let error = payram_ports::RepositoryError::from(failure);
        tracing::warn!(path, error = %payram_domain::Escaped(payram_ports::ErrorChain(&error)),
            "the ledger totals could not be written now");
    }

    // The writer: this connection, its automatic checkpoints off (the checkpointer runs them
    // between batches), and the durability asked for.
    let busy_timeout_ms = millis(options.busy_timeout);
    let configure_error = |source: diesel::result::Error| StoreError::Configure {
        path: path.to_owned(),
        source: source.into(),
    };
    conn.batch_execute(&format!(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = {}; PRAGMA wal_autocheckpoint = 0; \
         PRAGMA journal_size_limit = {WAL_SIZE_LIMIT};",
        options.synchronous.pragma()
    ))
    .map_err(configure_error)?;
    let spawn_error =
        |source: std::io::Error| StoreError::Pool { path: path.to_owned(), source: source.into() };
    // A caller waits a little longer than the busy timeout, so that a batch refused a lock
    // answers with why; past that it gives up, and its command is never applied.
    let patience = options.busy_timeout + WRITER_GRACE;
    let restart = Arc::new(AtomicBool::new(false));
    let writer =
        Writer::start(conn, options.writer, patience, Arc::clone(&restart)).map_err(spawn_error)?;
    let (checkpoints, stop) = mpsc::channel();
    let checkpoints_on = open(path, options.busy_timeout)?;
    let restart_frames = options.writer.wal_restart_frames;
    writer::checkpointer(checkpoints_on, CHECKPOINT_INTERVAL, restart_frames, stop, restart)
        .map_err(spawn_error)?;

    let pool = Pool::builder()
        .max_size(options.pool_size)
        .connection_timeout(options.busy_timeout)
        .connection_customizer(Box::new(ConnectionPragmas { busy_timeout_ms }))
        .error_handler(Box::new(TraceErrors))
        .build(ConnectionManager::<SqliteConnection>::new(path))
        .map_err(|source| StoreError::Pool { path: path.to_owned(), source: Box::new(source) })?;
    Ok(SqliteRepository::new(pool, writer, options.outbox, checkpoints))
}

/// One connection with the busy timeout set, on a file switched to WAL mode.
///
/// WAL is a property of the file, so it is set here once rather than on every pooled
/// connection, where racing connections would fight for the lock it needs. The busy timeout
/// goes first so that this switch, too, waits for a lock instead of failing at once.
fn open(path: &str, busy_timeout: Duration) -> Result<SqliteConnection, StoreError> {
    let mut conn = SqliteConnection::establish(path)
        .map_err(|source| StoreError::Open { path: path.to_owned(), source: Box::new(source) })?;
    let configure_error = |source: diesel::result::Error| StoreError::Configure {
        path: path.to_owned(),
        source: source.into(),
    };
    conn.batch_execute(&format!("PRAGMA busy_timeout = {};", millis(busy_timeout)))
        .map_err(configure_error)?;
    let mode = diesel::sql_query("PRAGMA journal_mode = WAL")
        .get_result::<JournalMode>(&mut conn)
        .map_err(configure_error)?;
    if !mode.journal_mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(
            path,
            journal_mode = mode.journal_mode,
            "sqlite database is not in WAL mode; readers will block writers"
        );
    }
    Ok(conn)
}

#[derive(QueryableByName)]
struct JournalMode {
    #[diesel(sql_type = Text)]
    journal_mode: String,
}

/// SQLite takes the busy timeout in milliseconds, as a 32-bit integer.
fn millis(duration: Duration) -> u64 {
    let max = u64::try_from(i32::MAX).unwrap_or(u64::MAX);
    u64::try_from(duration.as_millis()).unwrap_or(max).min(max)
}

/// Runs on every new pooled connection.
/// The page cache of each read-only connection, in KiB (SQLite's default is 2,000).
pub(crate) const READER_CACHE_KIB: u32 = 512;

#[derive(Debug)]
struct ConnectionPragmas {
    busy_timeout_ms: u64,
}

impl CustomizeConnection<SqliteConnection, r2d2::Error> for ConnectionPragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), r2d2::Error> {
        // busy_timeout first: the other pragmas must not fail on a lock (P1).
        // foreign_keys is off by default and per connection in SQLite.
        // synchronous = FULL: these connections only read (query_only: every write goes
        // through the single writer), so it costs nothing and keeps them like the writer.
        // cache_size: each reader's page cache fills as reads touch new pages of a growing
        // database; SQLite's default (2 MB) times the pool made the RSS climb for many minutes
        // under load. A smaller cache fills within the warm-up (the OS caches the file anyway).
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; \
             PRAGMA query_only = ON; PRAGMA cache_size = -{READER_CACHE_KIB};",
            self.busy_timeout_ms
        ))
        .map_err(r2d2::Error::QueryError)
    }
}

/// Reports the pool's failures to open connections through `tracing` (r2d2 would use `log`).
#[derive(Debug)]
struct TraceErrors;

impl HandleError<r2d2::Error> for TraceErrors {
    fn handle_error(&self, error: r2d2::Error) {
        tracing::warn!(%error, "sqlite pool cannot open a connection");
    }
}
