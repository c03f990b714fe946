use diesel::result::{DatabaseErrorKind, Error as DieselError};

use payram_ports::{BoxError, RepositoryError};

/// Why the store could not be opened, migrated or pooled.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The options cannot work (e.g. a pool of no connections).
    #[error("invalid store options: {0}")]
    InvalidOptions(&'static str),
    /// The database file cannot be opened or created.
    #[error("cannot open sqlite database {path}")]
    Open {
        path: String,
        #[source]
        source: BoxError,
    },
    /// The database file does not exist (only [`crate::check`] refuses to create it).
    #[error(
        "sqlite database {path} does not exist; `payram-merchant migrate` (or `serve`) creates it"
    )]
    Missing { path: String },
    /// The database cannot take a write transaction (read-only file or directory, disk full,
    /// locked beyond the busy timeout).
    #[error("sqlite database {path} cannot take a write transaction")]
    NotWritable {
        path: String,
        #[source]
        source: BoxError,
    },
    /// The database opened but refused its settings (busy timeout, WAL mode).
    #[error("cannot configure sqlite database {path}")]
    Configure {
        path: String,
        #[source]
        source: BoxError,
    },
    /// Applying, reverting or listing migrations failed; nothing of that run was committed.
    #[error("cannot migrate sqlite database {path}")]
    Migrate {
        path: String,
        #[source]
        source: BoxError,
    },
    /// [`crate::connect`] refuses a database that is not fully migrated.
    #[error(
        "sqlite database {path} has pending migrations ({}); run `payram-merchant migrate`",
        versions.join(", ")
    )]
    PendingMigrations { path: String, versions: Vec<String> },
    /// The connection pool could not be filled.
    #[error("cannot open a connection pool to sqlite database {path}")]
    Pool {
        path: String,
        #[source]
        source: BoxError,
    },
}

/// Why a repository operation failed, before it is mapped to [`RepositoryError`].
#[derive(Debug)]
pub(crate) enum Failure {
    Database(DieselError),
    /// A concurrent writer changed what this transaction relied on.
    Conflict,
    /// A stored value contradicts the domain.
    Corrupt(BoxError),
    /// No connection or no blocking thread could be had.
    Unavailable(BoxError),
}

impl From<DieselError> for Failure {
    fn from(err: DieselError) -> Self {
        Self::Database(err)
    }
}

impl From<Failure> for RepositoryError {
    /// A unique violation means a concurrent writer committed the same payment or credit
    /// first; undecodable data is corrupt; every other database error (locked past the busy
    /// timeout, read-only, full, I/O) means the store cannot commit now.
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Conflict
            | Failure::Database(DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                _,
            )) => Self::Conflict,
            Failure::Database(DieselError::DeserializationError(source))
            | Failure::Corrupt(source) => Self::Corrupt(source),
            Failure::Database(err) => Self::Unavailable(Box::new(err)),
            Failure::Unavailable(source) => Self::Unavailable(source),
        }
    }
}

/// A stored column whose value the domain refuses.
#[derive(Debug, thiserror::Error)]
#[error("{table}.{column} of row {key} is invalid")]
pub(crate) struct BadColumn {
    pub(crate) table: &'static str,
    pub(crate) column: &'static str,
    pub(crate) key: String,
    #[source]
    pub(crate) source: BoxError,
}
