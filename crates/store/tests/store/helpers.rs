use std::path::PathBuf;

use chrono::{DateTime, Utc};
use diesel::{Connection, SqliteConnection, connection::SimpleConnection};
use tempfile::TempDir;

use payram_domain::{
    Amount, AuthMethod, CheckedNotification, CreditPolicy, CustomerId, Notification, ReferenceId,
    ReportedStatus,
};
use payram_ports::{NewEvent, Origin};
use payram_store::{SqliteRepository, StoreOptions};

/// A database file in its own temporary directory (removed with its WAL sidecars on drop).
pub(crate) struct TestDb {
    _dir: TempDir,
    pub(crate) path: PathBuf,
}

impl TestDb {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("payram.db");
        Self { _dir: dir, path }
    }

    pub(crate) fn path_str(&self) -> &str {
        self.path.to_str().unwrap()
    }

    /// `sqlite://PATH`.
    pub(crate) fn url(&self) -> String {
        format!("sqlite://{}", self.path_str())
    }

    /// A migrated database and a repository on it with the default options.
    pub(crate) fn migrated() -> (Self, SqliteRepository) {
        Self::migrated_with(&StoreOptions::default())
    }

    pub(crate) fn migrated_with(options: &StoreOptions) -> (Self, SqliteRepository) {
        let db = Self::new();
        payram_store::migrate(&db.url()).unwrap();
        let repo = payram_store::connect(&db.url(), options).unwrap();
        (db, repo)
    }

    /// A connection of the test's own, outside the repository's pool.
    pub(crate) fn raw(&self) -> SqliteConnection {
        let mut conn = SqliteConnection::establish(self.path_str()).unwrap();
        conn.batch_execute("PRAGMA busy_timeout = 5000;").unwrap();
        conn
    }
}

pub(crate) fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
}

pub(crate) fn event(body: &[u8]) -> NewEvent {
    NewEvent {
        origin: Origin::Webhook,
        received_at: at("2026-03-04T05:06:07.123456789Z"),
        method: "POST".into(),
        auth: AuthMethod::Signature { key_index: 1 },
        raw_body: body.to_vec(),
    }
}

pub(crate) fn amount(text: &str) -> Amount {
    Amount::parse(text).unwrap()
}

/// A payment notification for customer `cust-1`, checked against the default policy.
pub(crate) fn notification(
    reference: &str,
    status: &str,
    usd: Option<&str>,
) -> CheckedNotification {
    CreditPolicy::default()
        .check(Notification {
            reference_id: ReferenceId::parse(reference).unwrap(),
            status: ReportedStatus::parse(status),
            customer_id: Some(CustomerId::parse("cust-1").unwrap()),
            invoice_id: Some("inv-1".into()),
            amount: Some(amount("50.00")),
            currency: Some("USDC".into()),
            filled_amount: usd.map(amount),
            filled_amount_in_usd: usd.map(amount),
        })
        .unwrap()
}

pub(crate) fn reference(text: &str) -> ReferenceId {
    ReferenceId::parse(text).unwrap()
}

pub(crate) fn customer(text: &str) -> CustomerId {
    CustomerId::parse(text).unwrap()
}

/// `SELECT COUNT(*) FROM <table>` on a raw connection.
pub(crate) fn count(db: &TestDb, table: &str) -> i64 {
    use diesel::{QueryableByName, RunQueryDsl, sql_types::BigInt};

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
        .get_result::<Count>(&mut db.raw())
        .unwrap()
        .n
}
