use std::time::Duration;

use diesel::{QueryableByName, RunQueryDsl, connection::SimpleConnection, sql_types::Text};

use payram_store::{StoreError, StoreOptions, database_path};

use crate::helpers::TestDb;

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// Tables, indexes, views and triggers the migrations own (not SQLite's or Diesel's own).
fn schema_objects(db: &TestDb) -> Vec<String> {
    diesel::sql_query(
        "SELECT name FROM sqlite_master \
         WHERE name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations' ORDER BY name",
    )
    .load::<Name>(&mut db.raw())
    .unwrap()
    .into_iter()
    .map(|row| row.name)
    .collect()
}

#[test]
fn migrations_apply_revert_and_apply_again() {
    let db = TestDb::new();
    let applied = payram_store::migrate(&db.url()).unwrap();
    assert_eq!(
        applied,
        [
            "20261126081750",
            "20261126093000",
            "20261126100000",
            "20261127020000",
            "20261201000000",
            "20261210000000"
        ],
        "every migration, in order"
    );
    assert_eq!(
        schema_objects(&db),
        [
            "credits",
            "credits_customer_id_id",
            "events",
            "events_due",
            "events_outcome_id",
            "events_received_at",
            "events_reference_id_id",
            "ledger_totals",
            "outbox",
            "outbox_due",
            "outbox_state_id",
            "payments",
            "payouts",
            "revoked_sessions",
            "revoked_sessions_expires_at"
        ]
    );
    assert_eq!(payram_store::migrate(&db.url()).unwrap(), Vec::<String>::new());

    payram_store::revert_all(&db.url()).unwrap();
    assert_eq!(schema_objects(&db), Vec::<String>::new(), "down.sql must drop everything");

    assert_eq!(payram_store::migrate(&db.url()).unwrap(), applied);
    assert_eq!(schema_objects(&db).len(), 15);
}

#[test]
fn migrate_switches_the_file_to_wal() {
    #[derive(QueryableByName)]
    struct Mode {
        #[diesel(sql_type = Text)]
        journal_mode: String,
    }
    let db = TestDb::new();
    payram_store::migrate(&db.url()).unwrap();
    let mode = diesel::sql_query("PRAGMA journal_mode").get_result::<Mode>(&mut db.raw()).unwrap();
    assert_eq!(mode.journal_mode, "wal");
}

#[test]
fn connect_refuses_a_database_with_pending_migrations() {
    let db = TestDb::new();
    let err = payram_store::connect(&db.url(), &StoreOptions::default()).unwrap_err();
    let StoreError::PendingMigrations { versions, .. } = &err else {
        panic!("expected pending migrations, got {err:?}");
    };
    let pending = versions.clone();
    assert!(err.to_string().contains("payram-merchant migrate"), "{err}");

    assert_eq!(payram_store::migrate(&db.url()).unwrap(), pending, "every migration was pending");
    payram_store::connect(&db.url(), &StoreOptions::default()).unwrap();

    payram_store::revert_all(&db.url()).unwrap();
    let err = payram_store::connect(&db.url(), &StoreOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::PendingMigrations { .. }), "{err:?}");
}

#[test]
fn connect_refuses_an_empty_pool() {
    let db = TestDb::new();
    payram_store::migrate(&db.url()).unwrap();
    let options = StoreOptions { pool_size: 0, ..StoreOptions::default() };
    let err = payram_store::connect(&db.url(), &options).unwrap_err();
    assert!(matches!(err, StoreError::InvalidOptions(_)), "{err:?}");
}

#[test]
fn every_url_form_names_the_same_file() {
    assert_eq!(database_path("sqlite:///var/lib/payram.db"), "/var/lib/payram.db");
    assert_eq!(database_path("sqlite://payram.db"), "payram.db");
    assert_eq!(database_path("sqlite:payram.db"), "payram.db");
    assert_eq!(database_path("payram.db"), "payram.db");
    assert_eq!(database_path("/var/lib/payram.db"), "/var/lib/payram.db");

    let db = TestDb::new();
    payram_store::migrate(&format!("sqlite:{}", db.path_str())).unwrap();
    for url in [db.url(), format!("sqlite:{}", db.path_str()), db.path_str().to_owned()] {
        payram_store::connect(&url, &StoreOptions::default()).unwrap();
    }
}

/// How many migrations there are: what a fresh database takes.
fn every_migration() -> usize {
    payram_store::migrate(&TestDb::new().url()).unwrap().len()
}

#[test]
fn check_accepts_a_migrated_database_and_changes_nothing() {
    let db = TestDb::new();
    payram_store::migrate(&db.url()).unwrap();
    let before = schema_objects(&db);

    let health = payram_store::check(&db.url(), Duration::from_secs(5)).unwrap();

    assert_eq!(health.path, db.path_str());
    assert_eq!(health.migrations, every_migration());
    assert_eq!(schema_objects(&db), before, "the probe write was rolled back");
}

#[test]
fn check_never_creates_a_missing_database() {
    let db = TestDb::new();
    let err = payram_store::check(&db.url(), Duration::from_secs(5)).unwrap_err();
    assert!(matches!(err, StoreError::Missing { .. }), "{err:?}");
    assert!(err.to_string().contains("payram-merchant migrate"), "{err}");
    assert!(!db.path.exists(), "check must not create the file");
}

#[test]
fn check_reports_pending_migrations_without_applying_them() {
    let db = TestDb::new();
    std::fs::write(&db.path, b"").unwrap();

    let err = payram_store::check(&db.url(), Duration::from_secs(5)).unwrap_err();

    let StoreError::PendingMigrations { versions, .. } = &err else {
        panic!("expected pending migrations, got {err:?}");
    };
    assert_eq!(versions.len(), every_migration());
    assert!(err.to_string().contains("payram-merchant migrate"), "{err}");
    assert_eq!(std::fs::metadata(&db.path).unwrap().len(), 0, "nothing was written");
    assert_eq!(
        payram_store::migrate(&db.url()).unwrap().len(),
        every_migration(),
        "nothing was applied"
    );
}

#[test]
fn check_refuses_a_database_that_cannot_be_written() {
    let db = TestDb::new();
    payram_store::migrate(&db.url()).unwrap();
    // Another connection holds the write lock for longer than the busy timeout.
    let mut holder = db.raw();
    holder.batch_execute("BEGIN IMMEDIATE;").unwrap();

    let err = payram_store::check(&db.url(), Duration::from_millis(50)).unwrap_err();

    assert!(matches!(err, StoreError::NotWritable { .. }), "{err:?}");
    holder.batch_execute("ROLLBACK;").unwrap();
    payram_store::check(&db.url(), Duration::from_millis(50)).unwrap();
}
