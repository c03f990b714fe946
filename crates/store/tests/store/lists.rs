//! The admin lists on real SQLite: payments, customers, credits and key use, with keyset
//! pagination that neither skips nor repeats.

use chrono::Duration;

use payram_domain::{AuthMethod, EventOutcome, PaymentStatus};
use payram_ports::{
    CreditFilter, EventFilter, EventNote, EventOrder, Ledger, NewEvent, PaymentFilter, Queries,
};

use crate::helpers::{TestDb, at, event, notification};

fn at_minute(minute: i64, body: &[u8]) -> NewEvent {
    NewEvent { received_at: at("2026-03-04T05:00:00Z") + Duration::minutes(minute), ..event(body) }
}

#[tokio::test]
async fn payments_are_paged_newest_first_and_filtered() {
    let (_db, repo) = TestDb::migrated();
    for i in 0..7 {
        let status = if i % 2 == 0 { "FILLED" } else { "OPEN" };
        let usd = (i % 2 == 0).then_some("5.00");
        // Two payments share each minute: the reference breaks the tie.
        repo.apply_notification(
            at_minute(i / 2, b"x"),
            notification(&format!("ref-{i}"), status, usd),
        )
        .await
        .unwrap();
    }
    let mut seen = Vec::new();
    let mut filter = PaymentFilter { limit: 3, ..PaymentFilter::default() };
    loop {
        let page = repo.payments(filter.clone()).await.unwrap();
        seen.extend(page.iter().map(|item| item.payment.reference_id().as_str().to_owned()));
        if page.len() < 3 {
            break;
        }
        filter.after = Some(page.last().unwrap().cursor());
    }
    assert_eq!(seen, ["ref-6", "ref-5", "ref-4", "ref-3", "ref-2", "ref-1", "ref-0"]);

    let filled = repo
        .payments(PaymentFilter {
            status: Some(PaymentStatus::Filled),
            since: Some(at("2026-03-04T05:01:00Z")),
            limit: 10,
            ..PaymentFilter::default()
        })
        .await
        .unwrap();
    let refs: Vec<_> = filled.iter().map(|item| item.payment.reference_id().as_str()).collect();
    assert_eq!(refs, ["ref-6", "ref-4", "ref-2"]);
    assert_eq!(filled[0].created_at, at("2026-03-04T05:03:00Z"));

    let by_customer =
        PaymentFilter { customer_id: Some("nobody".into()), limit: 10, ..PaymentFilter::default() };
    assert!(repo.payments(by_customer).await.unwrap().is_empty());
}

#[tokio::test]
async fn customers_are_listed_with_exact_balances_and_paged_by_id() {
    let (_db, repo) = TestDb::migrated();
    repo.apply_notification(event(b"1"), notification("ref-1", "FILLED", Some("0.10")))
        .await
        .unwrap();
    repo.apply_notification(event(b"2"), notification("ref-2", "FILLED", Some("0.20")))
        .await
        .unwrap();
    repo.apply_notification(event(b"3"), notification("ref-3", "OPEN", None)).await.unwrap();
    let customers = repo.customers(None, 10).await.unwrap();
    assert_eq!(customers.len(), 1, "every test notification is for cust-1");
    assert_eq!(customers[0].customer_id.as_str(), "cust-1");
    assert_eq!(customers[0].balance_usd.to_string(), "0.30", "exact, not 0.30000000000000004");
    assert_eq!((customers[0].credits, customers[0].payments), (2, 3));
    assert!(repo.customers(Some("cust-1".into()), 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn credits_are_paged_newest_first_and_since() {
    let (_db, repo) = TestDb::migrated();
    for i in 0..5 {
        repo.apply_notification(
            at_minute(i, b"x"),
            notification(&format!("ref-{i}"), "FILLED", Some(&format!("{i}.50"))),
        )
        .await
        .unwrap();
    }
    let first = repo.credits(CreditFilter { limit: 2, ..CreditFilter::default() }).await.unwrap();
    let amounts: Vec<_> = first.iter().map(|c| c.amount_usd.to_string()).collect();
    assert_eq!(amounts, ["4.50", "3.50"]);
    let next = repo
        .credits(CreditFilter { limit: 10, before: Some(first[1].id), ..CreditFilter::default() })
        .await
        .unwrap();
    let amounts: Vec<_> = next.iter().map(|c| c.amount_usd.to_string()).collect();
    assert_eq!(amounts, ["2.50", "1.50", "0.50"]);
    let since = repo
        .credits(CreditFilter {
            since: Some(at("2026-03-04T05:03:00Z")),
            limit: 10,
            ..CreditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(since.len(), 2);
}

#[tokio::test]
async fn key_use_counts_webhooks_by_key_position() {
    let (_db, repo) = TestDb::migrated();
    let with_key = |key_index, minute| NewEvent {
        auth: AuthMethod::ApiKey { key_index },
        ..at_minute(minute, b"k")
    };
    repo.apply_notification(with_key(0, 1), notification("ref-1", "OPEN", None)).await.unwrap();
    repo.apply_notification(with_key(1, 2), notification("ref-1", "OPEN", None)).await.unwrap();
    repo.apply_notification(with_key(1, 5), notification("ref-2", "OPEN", None)).await.unwrap();
    let usage = repo.key_usage().await.unwrap();
    let summary: Vec<_> =
        usage.iter().map(|k| (k.key_index, k.deliveries, k.last_used_at)).collect();
    assert_eq!(summary, [(0, 1, at("2026-03-04T05:01:00Z")), (1, 2, at("2026-03-04T05:05:00Z"))]);
}

#[tokio::test]
async fn events_are_paged_by_id() {
    let (_db, repo) = TestDb::migrated();
    for i in 0..4 {
        repo.apply_notification(event(b"e"), notification(&format!("ref-{i}"), "OPEN", None))
            .await
            .unwrap();
    }
    let page = repo.events(EventFilter { limit: 2, ..EventFilter::default() }).await.unwrap();
    let rest = repo
        .events(EventFilter { limit: 10, before: Some(page[1].id), ..EventFilter::default() })
        .await
        .unwrap();
    let ids: Vec<_> = page.iter().chain(&rest).map(|e| e.id).collect();
    assert_eq!(ids, [4, 3, 2, 1]);
}

#[tokio::test]
async fn events_are_paged_oldest_first_after_a_cursor() {
    let (_db, repo) = TestDb::migrated();
    let mut ids = Vec::new();
    for i in 0..5 {
        let applied = repo
            .apply_notification(event(b"e"), notification(&format!("ref-{i}"), "OPEN", None))
            .await
            .unwrap();
        ids.push(applied.event_id);
    }
    let oldest_first =
        EventFilter { limit: 2, order: EventOrder::OldestFirst, ..EventFilter::default() };

    let mut seen = Vec::new();
    let mut filter = oldest_first.clone();
    loop {
        let page = repo.events(filter.clone()).await.unwrap();
        seen.extend(page.iter().map(|e| e.id));
        match page.last() {
            Some(last) => filter.after = Some(last.id),
            None => break,
        }
    }
    assert_eq!(seen, ids, "oldest first, each once");

    let second = repo.events(EventFilter { after: Some(ids[1]), ..oldest_first.clone() });
    assert_eq!(second.await.unwrap().iter().map(|e| e.id).collect::<Vec<_>>(), ids[2..4]);
    let past_the_end = repo.events(EventFilter { after: Some(ids[4]), ..oldest_first.clone() });
    assert!(past_the_end.await.unwrap().is_empty());

    // The cursor combines with the other conditions.
    repo.record_event(event(b"{"), EventNote::new(EventOutcome::MalformedJson)).await.unwrap();
    let malformed = repo.record_event(event(b"{"), EventNote::new(EventOutcome::MalformedJson));
    let malformed = malformed.await.unwrap();
    let filtered = repo
        .events(EventFilter {
            outcome: Some(EventOutcome::Applied),
            after: Some(ids[3]),
            limit: 10,
            order: EventOrder::OldestFirst,
            ..EventFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(filtered.iter().map(|e| e.id).collect::<Vec<_>>(), [ids[4]]);
    let newest = repo.events(EventFilter { after: Some(ids[4]), ..oldest_first }).await.unwrap();
    assert_eq!(newest.last().map(|e| e.id), Some(malformed));
}
