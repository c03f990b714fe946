use diesel::{
    QueryableByName, RunQueryDsl,
    sql_types::{BigInt, Binary, Nullable, Text},
};

use payram_domain::{
    AuthMethod, CreditPolicy, EventOutcome, Outcome, PaymentStatus, PayoutNotification,
};
use payram_ports::{EventNote, Ledger, Queries, RepositoryError};

use crate::helpers::{TestDb, amount, at, count, customer, event, notification, reference};

#[tokio::test]
async fn partial_then_filled_credits_the_difference() {
    let (_db, repo) = TestDb::migrated();
    let partial = repo
        .apply_notification(
            event(b"partial"),
            notification("ref-1", "PARTIALLY_FILLED", Some("20.00")),
        )
        .await
        .unwrap();
    let filled = repo
        .apply_notification(event(b"filled"), notification("ref-1", "FILLED", Some("50.00")))
        .await
        .unwrap();

    assert_eq!(partial.outcome, Outcome::Applied);
    let first = partial.credit.unwrap();
    assert_eq!(
        (first.amount_usd.to_string(), first.credited_total_usd.to_string()),
        ("20.00".into(), "20.00".into())
    );
    assert_eq!(first.event_id, partial.event_id);
    let second = filled.credit.unwrap();
    assert_eq!(second.amount_usd.to_string(), "30.00");
    assert_eq!(second.credited_total_usd.to_string(), "50.00");
    assert_eq!(second.customer_id.as_str(), "cust-1");
    assert!(second.id > first.id);

    let view = repo.customer(&customer("cust-1")).await.unwrap();
    assert_eq!(view.balance_usd.to_string(), "50.00");
    let credits: Vec<_> = view
        .credits
        .iter()
        .map(|credit| (credit.reference_id.as_str(), credit.amount_usd.to_string()))
        .collect();
    assert_eq!(credits, [("ref-1", "20.00".to_owned()), ("ref-1", "30.00".to_owned())]);
    assert_eq!(view.credits[0].created_at, first.created_at);

    let payment = repo.payment(&reference("ref-1")).await.unwrap().unwrap();
    let record = payment.payment.record();
    assert_eq!(record.status, PaymentStatus::Filled);
    assert_eq!(record.credited_usd.to_string(), "50.00");
    assert_eq!(record.credit_count, 2);
    let outcomes: Vec<_> = payment.events.iter().map(|event| event.outcome).collect();
    assert_eq!(outcomes, [EventOutcome::Applied, EventOutcome::Applied]);
    assert_eq!(payment.events[1].status.as_deref(), Some("FILLED"));
}

#[tokio::test]
async fn the_same_filled_notification_three_times_credits_once() {
    let (db, repo) = TestDb::migrated();
    let mut outcomes = Vec::new();
    let mut credited = Vec::new();
    for _ in 0..3 {
        let applied = repo
            .apply_notification(event(b"filled"), notification("ref-1", "FILLED", Some("50")))
            .await
            .unwrap();
        outcomes.push(applied.outcome);
        credited.push(applied.credit.map(|credit| credit.amount_usd.to_string()));
    }
    assert_eq!(outcomes, [Outcome::Applied, Outcome::Duplicate, Outcome::Duplicate]);
    assert_eq!(credited, [Some("50".to_owned()), None, None]);
    assert_eq!(count(&db, "credits"), 1);

    let view = repo.payment(&reference("ref-1")).await.unwrap().unwrap();
    let outcomes: Vec<_> = view.events.iter().map(|event| event.outcome).collect();
    assert_eq!(outcomes, [EventOutcome::Applied, EventOutcome::Duplicate, EventOutcome::Duplicate]);
    assert!(view.events.windows(2).all(|pair| pair[0].id < pair[1].id));
    assert_eq!(repo.customer(&customer("cust-1")).await.unwrap().balance_usd.to_string(), "50");
}

#[tokio::test]
async fn a_notification_behind_the_payment_is_stale_and_changes_nothing() {
    let (_db, repo) = TestDb::migrated();
    repo.apply_notification(event(b"1"), notification("ref-1", "FILLED", Some("50")))
        .await
        .unwrap();
    let stale = repo
        .apply_notification(event(b"2"), notification("ref-1", "PARTIALLY_FILLED", Some("20")))
        .await
        .unwrap();
    assert_eq!((stale.outcome, stale.credit), (Outcome::Stale, None));
    let view = repo.payment(&reference("ref-1")).await.unwrap().unwrap();
    assert_eq!(view.payment.status(), PaymentStatus::Filled);
    assert_eq!(view.events[1].outcome, EventOutcome::Stale);
}

#[tokio::test]
async fn money_after_a_cancel_is_credited_and_marked_late() {
    let (_db, repo) = TestDb::migrated();
    repo.apply_notification(event(b"1"), notification("ref-1", "CANCELLED", None)).await.unwrap();
    let late = repo
        .apply_notification(event(b"2"), notification("ref-1", "FILLED", Some("40.00")))
        .await
        .unwrap();
    assert_eq!(late.credit.unwrap().amount_usd.to_string(), "40.00");
    let view = repo.payment(&reference("ref-1")).await.unwrap().unwrap();
    assert!(view.payment.record().late_payment);
}

#[tokio::test]
async fn amounts_round_trip_to_the_digit() {
    #[derive(QueryableByName)]
    struct Stored {
        #[diesel(sql_type = Text)]
        usd: String,
        #[diesel(sql_type = Text)]
        kind: String,
    }
    let (db, repo) = TestDb::migrated();
    let applied = repo
        .apply_notification(
            event(b"{}"),
            notification("ref-1", "PARTIALLY_FILLED", Some("49.999999999999998")),
        )
        .await
        .unwrap();
    assert_eq!(applied.credit.unwrap().amount_usd.to_string(), "49.999999999999998");

    let record = repo.payment(&reference("ref-1")).await.unwrap().unwrap().payment;
    let record = record.record();
    assert_eq!(record.amount.unwrap().to_string(), "50.00");
    assert_eq!(record.filled_amount_in_usd.unwrap().to_string(), "49.999999999999998");
    assert_eq!(record.credited_usd.to_string(), "49.999999999999998");
    let balance = repo.customer(&customer("cust-1")).await.unwrap().balance_usd;
    assert_eq!(balance.to_string(), "49.999999999999998");

    // Stored as the same text, not as a number.
    let stored = diesel::sql_query(
        "SELECT filled_amount_in_usd AS usd, typeof(filled_amount_in_usd) AS kind FROM payments",
    )
    .get_result::<Stored>(&mut db.raw())
    .unwrap();
    assert_eq!((stored.usd.as_str(), stored.kind.as_str()), ("49.999999999999998", "text"));
}

#[tokio::test]
async fn trailing_zeros_are_kept() {
    let (_db, repo) = TestDb::migrated();
    let mut note = notification("ref-1", "FILLED", Some("82.00")).notification().clone();
    note.amount = Some(amount("82.00"));
    let checked = CreditPolicy::default().check(note).unwrap();
    repo.apply_notification(event(b"{}"), checked).await.unwrap();
    let view = repo.payment(&reference("ref-1")).await.unwrap().unwrap();
    let record = view.payment.record();
    assert_eq!(record.amount.unwrap().to_string(), "82.00");
    assert_eq!(record.filled_amount_in_usd.unwrap().to_string(), "82.00");
    assert_eq!(repo.customer(&customer("cust-1")).await.unwrap().balance_usd.to_string(), "82.00");
}

#[derive(QueryableByName)]
struct StoredEvent {
    #[diesel(sql_type = Binary)]
    raw_body: Vec<u8>,
    #[diesel(sql_type = Text)]
    received_at: String,
    #[diesel(sql_type = Text)]
    method: String,
    #[diesel(sql_type = Text)]
    auth_method: String,
    #[diesel(sql_type = BigInt)]
    key_index: i64,
    #[diesel(sql_type = Nullable<Text>)]
    reference_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    payout_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    status: Option<String>,
    #[diesel(sql_type = Text)]
    outcome: String,
    #[diesel(sql_type = Text)]
    credited_usd: String,
    #[diesel(sql_type = Nullable<Text>)]
    detail: Option<String>,
}

fn stored_event(db: &TestDb, id: i64) -> StoredEvent {
    diesel::sql_query(format!("SELECT * FROM events WHERE id = {id}"))
        .get_result::<StoredEvent>(&mut db.raw())
        .unwrap()
}

#[tokio::test]
async fn raw_bodies_are_stored_byte_for_byte() {
    let (db, repo) = TestDb::migrated();
    let body = [0xff, 0xfe, 0x00, b'{', 0x80, b'}', 0xc3];
    let applied =
        repo.apply_notification(event(&body), notification("ref-1", "OPEN", None)).await.unwrap();
    let stored = stored_event(&db, applied.event_id);
    assert_eq!(stored.raw_body, body);
    assert_eq!(stored.received_at, "2026-03-04T05:06:07.123456Z");
    assert_eq!((stored.method.as_str(), stored.auth_method.as_str()), ("POST", "signature"));
    assert_eq!(stored.key_index, 1);
    assert_eq!(stored.reference_id.as_deref(), Some("ref-1"));
    assert_eq!(stored.status.as_deref(), Some("OPEN"));
    assert_eq!((stored.outcome.as_str(), stored.credited_usd.as_str()), ("applied", "0"));

    let view = repo.payment(&reference("ref-1")).await.unwrap().unwrap();
    assert_eq!(view.events[0].received_at, at("2026-03-04T05:06:07.123456Z"));
}

#[tokio::test]
async fn a_crediting_event_records_what_it_credited() {
    let (db, repo) = TestDb::migrated();
    let applied = repo
        .apply_notification(event(b"{}"), notification("ref-1", "FILLED", Some("12.50")))
        .await
        .unwrap();
    assert_eq!(stored_event(&db, applied.event_id).credited_usd, "12.50");
}

#[tokio::test]
async fn an_unknown_status_is_recorded_and_creates_no_payment() {
    let (db, repo) = TestDb::migrated();
    let applied = repo
        .apply_notification(event(b"{}"), notification("ref-1", "CLOSED", Some("50")))
        .await
        .unwrap();
    assert_eq!((applied.outcome, applied.credit), (Outcome::Ignored, None));
    assert!(repo.payment(&reference("ref-1")).await.unwrap().is_none());
    assert_eq!(count(&db, "payments"), 0);
    let stored = stored_event(&db, applied.event_id);
    assert_eq!(stored.reference_id.as_deref(), Some("ref-1"));
    assert_eq!((stored.status.as_deref(), stored.outcome.as_str()), (Some("CLOSED"), "ignored"));

    // Once the payment exists, its ignored events are part of its history.
    repo.apply_notification(event(b"{}"), notification("ref-1", "OPEN", None)).await.unwrap();
    let view = repo.payment(&reference("ref-1")).await.unwrap().unwrap();
    let outcomes: Vec<_> = view.events.iter().map(|event| event.outcome).collect();
    assert_eq!(outcomes, [EventOutcome::Ignored, EventOutcome::Applied]);
}

#[tokio::test]
async fn a_payout_is_first_seen_once_per_status() {
    let (db, repo) = TestDb::migrated();
    let payout = |status: &str| PayoutNotification {
        payout_id: "42".into(),
        event_type: "payout.sent".into(),
        status: status.into(),
    };
    let first = repo.record_payout(event(b"1"), payout("SENT")).await.unwrap();
    let again = repo.record_payout(event(b"2"), payout("SENT")).await.unwrap();
    let other = repo.record_payout(event(b"3"), payout("FAILED")).await.unwrap();
    assert_eq!((first.first_seen, again.first_seen, other.first_seen), (true, false, true));
    assert!(first.event_id < again.event_id && again.event_id < other.event_id);
    assert_eq!(count(&db, "events"), 3);
    assert_eq!(count(&db, "payouts"), 2);
    let stored = stored_event(&db, again.event_id);
    assert_eq!(stored.payout_id.as_deref(), Some("42"));
    assert_eq!((stored.status.as_deref(), stored.outcome.as_str()), (Some("SENT"), "payout"));
    assert_eq!(stored.reference_id, None);
    assert_eq!(count(&db, "credits"), 0);
}

#[tokio::test]
async fn a_refused_body_is_recorded_with_its_reason() {
    let (db, repo) = TestDb::migrated();
    let mut refused = event(b"not json \xff");
    refused.auth = AuthMethod::ApiKey { key_index: 2 };
    refused.method = "GET".into();
    let id = repo
        .record_event(
            refused,
            EventNote {
                reference_id: Some(reference("ref-9")),
                detail: Some(
                    "status FILLED credits the customer but customer_id is missing".into(),
                ),
                ..EventNote::new(EventOutcome::InvalidPayload)
            },
        )
        .await
        .unwrap();
    let stored = stored_event(&db, id);
    assert_eq!(stored.raw_body, b"not json \xff");
    assert_eq!((stored.auth_method.as_str(), stored.key_index), ("api_key", 2));
    assert_eq!(stored.method, "GET");
    assert_eq!(stored.outcome, "invalid_payload");
    assert_eq!(stored.reference_id.as_deref(), Some("ref-9"));
    assert_eq!(stored.status, None);
    assert_eq!(
        stored.detail.as_deref(),
        Some("status FILLED credits the customer but customer_id is missing")
    );

    let malformed =
        repo.record_event(event(b"{"), EventNote::new(EventOutcome::MalformedJson)).await.unwrap();
    assert!(malformed > id);
    assert_eq!(stored_event(&db, malformed).reference_id, None);
}

#[tokio::test]
async fn an_unknown_customer_has_a_zero_balance_and_no_credits() {
    let (_db, repo) = TestDb::migrated();
    let view = repo.customer(&customer("nobody")).await.unwrap();
    assert_eq!(view.customer_id.as_str(), "nobody");
    assert_eq!(view.balance_usd.to_string(), "0");
    assert!(view.credits.is_empty());
}

#[tokio::test]
async fn a_balance_sums_the_credits_of_every_payment_of_the_customer() {
    let (_db, repo) = TestDb::migrated();
    repo.apply_notification(event(b"1"), notification("ref-1", "FILLED", Some("0.1")))
        .await
        .unwrap();
    repo.apply_notification(event(b"2"), notification("ref-2", "FILLED", Some("0.2")))
        .await
        .unwrap();
    // 0.1 + 0.2 is exactly 0.3 here, not 0.30000000000000004.
    assert_eq!(repo.customer(&customer("cust-1")).await.unwrap().balance_usd.to_string(), "0.3");
}

#[tokio::test]
async fn an_unreadable_stored_amount_is_corrupt_not_a_panic() {
    let (db, repo) = TestDb::migrated();
    repo.apply_notification(event(b"1"), notification("ref-1", "FILLED", Some("5"))).await.unwrap();
    diesel::sql_query("UPDATE payments SET credited_usd = 'five'").execute(&mut db.raw()).unwrap();
    let err = repo.payment(&reference("ref-1")).await.unwrap_err();
    assert!(matches!(err, RepositoryError::Corrupt(_)), "{err:?}");
    let err = repo
        .apply_notification(event(b"2"), notification("ref-1", "OVER_FILLED", Some("6")))
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::Corrupt(_)), "{err:?}");
    assert_eq!(count(&db, "events"), 1, "the refused delivery wrote nothing");
}

#[tokio::test]
async fn a_duplicate_credit_number_is_a_conflict_and_writes_nothing() {
    let (db, repo) = TestDb::migrated();
    repo.apply_notification(event(b"1"), notification("ref-1", "PARTIALLY_FILLED", Some("10")))
        .await
        .unwrap();
    // Pretend a racing writer already committed credit number 2 of this payment.
    diesel::sql_query(
        "INSERT INTO credits (reference_id, seq, customer_id, amount_usd, credited_total_usd, \
         event_id, created_at) VALUES ('ref-1', 2, 'cust-1', '1', '11', 1, 'x')",
    )
    .execute(&mut db.raw())
    .unwrap();
    let err = repo
        .apply_notification(event(b"2"), notification("ref-1", "FILLED", Some("20")))
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::Conflict), "{err:?}");
    assert_eq!(count(&db, "events"), 1);
    let view = repo.payment(&reference("ref-1")).await.unwrap().unwrap();
    assert_eq!(view.payment.status(), PaymentStatus::PartiallyFilled);
}
