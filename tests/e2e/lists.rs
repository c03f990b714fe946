//! The admin lists over the real binary: payments, customers, credits (JSON and CSV) and the
//! last use of each API key, with cursor pagination.

use serde_json::Value;

use crate::helpers::{ADMIN_TOKEN, OLD_KEY, TestApp};

fn filled(reference: &str, customer: &str, usd: &str) -> Vec<u8> {
    format!(
        concat!(
            r#"{{"reference_id":"{}","status":"FILLED","customer_id":"{}","amount":"{}","#,
            r#""currency":"USDC","filled_amount":"{}","filled_amount_in_usd":"{}"}}"#
        ),
        reference, customer, usd, usd, usd
    )
    .into_bytes()
}

/// Follows `next_cursor` until the last page; returns every item of `field`.
async fn all_pages(app: &TestApp, path: &str, field: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let uri = match &cursor {
            Some(cursor) => format!("{path}{separator}cursor={cursor}"),
            None => path.to_owned(),
        };
        let (code, body) = app.admin_get(&uri).await;
        assert_eq!(code, 200, "{uri}: {body}");
        pages += 1;
        items.extend(body[field].as_array().unwrap().iter().cloned());
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (items, pages),
        }
    }
}

#[tokio::test]
async fn lists_page_through_payments_customers_credits_and_events() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        let (code, _) = app
            .post_signed(&filled(&format!("list-{i}"), &format!("cust-{}", i % 2), "10.10"))
            .await;
        assert_eq!(code, 200);
    }

    let (payments, pages) = all_pages(&app, "/api/payments?limit=2", "payments").await;
    let refs: Vec<&str> = payments.iter().map(|p| p["reference_id"].as_str().unwrap()).collect();
    assert_eq!(refs, ["list-4", "list-3", "list-2", "list-1", "list-0"]);
    assert_eq!(pages, 3);
    assert_eq!(payments[0]["credited_usd"], "10.10");
    let (cust_1, _) =
        all_pages(&app, "/api/payments?customer_id=cust-1&status=FILLED", "payments").await;
    assert_eq!(cust_1.len(), 2);

    let (customers, _) = all_pages(&app, "/api/customers?limit=1", "customers").await;
    let balances: Vec<(&str, &str)> = customers
        .iter()
        .map(|c| (c["customer_id"].as_str().unwrap(), c["balance_usd"].as_str().unwrap()))
        .collect();
    assert_eq!(balances, [("cust-0", "30.30"), ("cust-1", "20.20")]);

    let (credits, _) = all_pages(&app, "/api/credits?limit=4", "credits").await;
    assert_eq!(credits.len(), 5);
    let (events, pages) = all_pages(&app, "/api/events?limit=2", "events").await;
    assert_eq!((events.len(), pages), (5, 3));

    let response = app
        .client
        .get(app.url("/api/credits"))
        .bearer_auth(ADMIN_TOKEN)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|line| !line.is_empty()).collect();
    assert_eq!(
        lines[0],
        "credit_id,created_at,customer_id,reference_id,amount_usd,credited_total_usd,status,event_id"
    );
    assert_eq!(lines.len(), 6);
    assert!(lines[1].contains(",cust-0,list-4,10.10,10.10,FILLED,"), "{}", lines[1]);
}

#[tokio::test]
async fn each_keys_last_use_shows_by_position_never_the_key() {
    let app = TestApp::spawn().await;
    // The old key (position 0) through the legacy header; the current one (1) by signature.
    let response = app
        .client
        .post(app.url("/webhook"))
        .header("API-Key", OLD_KEY)
        .body(filled("key-0", "cust-k", "1.00"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    app.post_signed(&filled("key-1", "cust-k", "1.00")).await;
    app.post_signed(&filled("key-2", "cust-k", "1.00")).await;

    let (code, body) = app.admin_get("/api/keys").await;
    assert_eq!(code, 200, "{body}");
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!((&keys[0]["position"], &keys[0]["deliveries"]), (&0.into(), &1.into()));
    assert_eq!((&keys[1]["position"], &keys[1]["deliveries"]), (&1.into(), &2.into()));
    assert!(keys[1]["last_used_at"].as_str().unwrap() >= keys[0]["last_used_at"].as_str().unwrap());
    assert!(!body.to_string().contains(OLD_KEY));
}
