//! [`SqliteRepository`]: the SQLite store, and how every port's query runs on it. Each port is
//! implemented in its own module: `ledger`, `schedule`, `outbox`, `queries`, `reconcile`.

use std::{
    fmt,
    sync::{Arc, mpsc},
};

use diesel::{
    prelude::*,
    r2d2::{ConnectionManager, Pool},
};

use payram_ports::RepositoryError;

use crate::{error::Failure, writer::Writer};

type SqlitePool = Pool<ConnectionManager<SqliteConnection>>;

/// The payments, their event log and the credit ledger in one SQLite file: one writer thread
/// for every write (see the module `writer`), a pool of read-only connections for the reads.
/// Cheap to clone: clones share the writer and the pool; the writer and the checkpointer
/// stop when the last clone is dropped.
#[derive(Clone)]
pub struct SqliteRepository {
    pub(crate) pool: SqlitePool,
    pub(crate) writer: Writer,
    /// Whether each credit gets an outbox entry, in its transaction, for forwarding.
    pub(crate) outbox: bool,
    /// Dropped with the last clone, which stops the checkpointer.
    _checkpoints: Arc<mpsc::Sender<()>>,
}

impl fmt::Debug for SqliteRepository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.pool.state();
        f.debug_struct("SqliteRepository")
            .field("connections", &state.connections)
            .field("idle_connections", &state.idle_connections)
            .field("outbox", &self.outbox)
            .finish_non_exhaustive()
    }
}

impl SqliteRepository {
    pub(crate) fn new(
        pool: SqlitePool,
        writer: Writer,
        outbox: bool,
        checkpoints: mpsc::Sender<()>,
    ) -> Self {
        Self { pool, writer, outbox, _checkpoints: Arc::new(checkpoints) }
    }

    /// Runs `work` with a pooled read-only connection on a blocking thread, in the caller's
    /// span. The connection goes back to the pool before this returns: none is held across an
    /// await. Reads never wait for the writer (WAL).
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, RepositoryError>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> Result<T, Failure> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        let res = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = pool.get().map_err(|err| Failure::Unavailable(Box::new(err)))?;
            work(&mut conn)
        })
        .await
        .map_err(|err| Failure::Unavailable(Box::new(err)))
        .and_then(|res| res);
        res.map_err(|failure| {
            let err = RepositoryError::from(failure);
            tracing::debug!(error = %err, "sqlite repository operation failed");
            err
        })
    }

    /// Runs `work` as one command of the single writer, in a `BEGIN IMMEDIATE` batch, answered
    /// after that batch commits. Any error rolls back all that `work` wrote, and only that; a
    /// storage failure rolls back its whole batch. `work` may run more than once (after a
    /// rollback of its batch), so it must be a plain function of the database.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, RepositoryError>
    where
        T: Send + 'static,
        F: Fn(&mut SqliteConnection) -> Result<T, Failure> + Send + 'static,
    {
        self.writer.write(work).await
    }
}

#[cfg(test)]
mod tests {
    use diesel::{
        QueryableByName, RunQueryDsl,
        sql_types::{BigInt, Text},
    };

    use crate::StoreOptions;

    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = BigInt)]
        value: i64,
    }

    #[derive(QueryableByName)]
    struct JournalMode {
        #[diesel(sql_type = Text)]
        journal_mode: String,
    }

    /// The value of a pragma, read from its table-valued function and column.
    fn setting(conn: &mut super::SqliteConnection, pragma: &str, column: &str) -> i64 {
        diesel::sql_query(format!("SELECT {column} AS value FROM pragma_{pragma}"))
            .get_result::<Setting>(conn)
            .map(|setting| setting.value)
            .unwrap()
    }

    /// `.cargo/config.toml` builds the bundled SQLite without STAT4 (which re-prepares
    /// statements on every execution) and in multi-thread mode (no mutex around every call).
    #[test]
    fn the_bundled_sqlite_is_built_as_the_store_expects() {
        #[derive(QueryableByName)]
        struct Option {
            #[diesel(sql_type = Text)]
            compile_options: String,
        }
        let mut conn =
            <super::SqliteConnection as diesel::Connection>::establish(":memory:").unwrap();
        let options: Vec<String> = diesel::sql_query("PRAGMA compile_options")
            .load::<Option>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|option| option.compile_options)
            .collect();
        assert!(options.iter().any(|option| option == "THREADSAFE=2"), "{options:?}");
        assert!(!options.iter().any(|option| option == "ENABLE_STAT4"), "{options:?}");
    }

    #[test]
    fn every_pooled_connection_has_the_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("pragmas.db").display().to_string();
        crate::migrate(&url).unwrap();
        let options = StoreOptions {
            pool_size: 2,
            busy_timeout: std::time::Duration::from_millis(1234),
            ..StoreOptions::default()
        };
        let repo = crate::connect(&url, &options).unwrap();
        let mut first = repo.pool.get().unwrap();
        let mut second = repo.pool.get().unwrap();
        for conn in [&mut *first, &mut *second] {
            assert_eq!(setting(conn, "busy_timeout", "timeout"), 1234);
            assert_eq!(setting(conn, "foreign_keys", "foreign_keys"), 1);
            assert_eq!(setting(conn, "synchronous", "synchronous"), 2, "FULL");
            assert_eq!(setting(conn, "query_only", "query_only"), 1, "reads only");
            let cache = -i64::from(crate::connection::READER_CACHE_KIB);
            assert_eq!(setting(conn, "cache_size", "cache_size"), cache, "a small page cache");
            let mode =
                diesel::sql_query("PRAGMA journal_mode").get_result::<JournalMode>(conn).unwrap();
            assert_eq!(mode.journal_mode, "wal");
        }
    }
}
