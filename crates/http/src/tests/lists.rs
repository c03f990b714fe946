//! The admin lists: filters reach the query port, answers carry exact amounts and a cursor that
//! comes back as the next page's filter; CSV export; key use by position.

use actix_web::{
    App,
    http::{StatusCode, header},
    test::{self, TestRequest},
};
use chrono::{TimeZone, Utc};
use serde_json::json;

use payram_domain::{Amount, CustomerId, Payment, PaymentRecord, PaymentStatus, ReferenceId};
use payram_ports::{
    CustomerBalance, KeyUse, MockQueries, PaymentCursor, PaymentItem, RecordedCredit,
};

use super::{ADMIN_TOKEN, Mocks, config, send};

fn admin_get(uri: &str) -> TestRequest {
    TestRequest::get()
        .uri(uri)
        .insert_header((header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}")))
}

fn at() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 1, 2, 3).unwrap()
}

fn item(reference: &str) -> PaymentItem {
    let payment = Payment::from_record(PaymentRecord {
        reference_id: ReferenceId::parse(reference).unwrap(),
        status: PaymentStatus::Filled,
        customer_id: Some(CustomerId::parse("cust-1").unwrap()),
        invoice_id: None,
        amount: Some(Amount::parse("50").unwrap()),
        currency: Some("USDC".to_owned()),
        filled_amount: Some(Amount::parse("50").unwrap()),
        filled_amount_in_usd: Some(Amount::parse("49.999999999999998").unwrap()),
        credited_usd: Amount::parse("49.999999999999998").unwrap(),
        late_payment: false,
        credit_count: 1,
    })
    .unwrap();
    PaymentItem { payment, created_at: at(), updated_at: at() }
}

#[actix_web::test]
async fn payments_are_filtered_and_a_full_page_gives_the_next_cursor() {
    let mut queries = MockQueries::new();
    queries
        .expect_payments()
        .withf(|filter| {
            filter.status == Some(PaymentStatus::Filled)
                && filter.customer_id.as_deref() == Some("cust-1")
                && filter.limit == 1
                && filter.after.is_none()
        })
        .times(1)
        .returning(|_| Ok(vec![item("ref-9")]));
    let answer = send(
        Mocks::with_queries(queries),
        admin_get("/api/payments?status=filled&customer_id=cust-1&limit=1"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json["payments"][0]["reference_id"], "ref-9");
    assert_eq!(answer.json["payments"][0]["credited_usd"], "49.999999999999998");
    assert_eq!(answer.json["payments"][0]["created_at"], "2026-11-27T01:02:03Z");
    let cursor = answer.json["next_cursor"].as_str().unwrap().to_owned();

    let mut queries = MockQueries::new();
    queries
        .expect_payments()
        .withf(|filter| {
            filter.after
                == Some(PaymentCursor { created_at: at(), reference_id: "ref-9".to_owned() })
        })
        .times(1)
        .returning(|_| Ok(vec![]));
    let answer = send(
        Mocks::with_queries(queries),
        admin_get(&format!("/api/payments?limit=1&cursor={cursor}")),
    )
    .await;
    assert_eq!(answer.json, json!({"payments": [], "next_cursor": null}));
}

#[actix_web::test]
async fn bad_filters_are_400_and_lists_need_the_token() {
    for uri in [
        "/api/payments?status=PAID",
        "/api/payments?cursor=not-a-cursor",
        "/api/payments?since=yesterday",
        "/api/credits?limit=0",
        "/api/customers?limit=10001",
    ] {
        let answer = send(Mocks::untouched(), admin_get(uri)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(answer.json["error"], "bad_request", "{uri}");
    }
    for uri in ["/api/payments", "/api/customers", "/api/credits", "/api/keys"] {
        let answer = send(Mocks::untouched(), TestRequest::get().uri(uri)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{uri}");
    }
}

#[actix_web::test]
async fn customers_come_with_their_balances() {
    let mut queries = MockQueries::new();
    queries.expect_customers().withf(|after, limit| after.is_none() && *limit == 100).returning(
        |_, _| {
            Ok(vec![CustomerBalance {
                customer_id: CustomerId::parse("cust-1").unwrap(),
                balance_usd: payram_domain::Total::parse("0.30").unwrap(),
                credits: 2,
                payments: 3,
            }])
        },
    );
    let answer = send(Mocks::with_queries(queries), admin_get("/api/customers")).await;
    assert_eq!(
        answer.json,
        json!({"customers": [{"customer_id": "cust-1", "balance_usd": "0.30", "credits": 2, "payments": 3}],
               "next_cursor": null})
    );
}

fn credit(customer: &str) -> RecordedCredit {
    RecordedCredit {
        id: 3,
        reference_id: ReferenceId::parse("ref-1").unwrap(),
        customer_id: CustomerId::parse(customer).unwrap(),
        amount_usd: Amount::parse("0.10").unwrap(),
        credited_total_usd: Amount::parse("0.30").unwrap(),
        status: PaymentStatus::PartiallyFilled,
        event_id: 8,
        created_at: at(),
    }
}

#[actix_web::test]
async fn credits_export_as_csv_with_quoting() {
    let mut queries = MockQueries::new();
    queries.expect_credits().returning(|_| Ok(vec![credit(r#"acme, "inc""#)]));
    let app =
        test::init_service(App::new().configure(Mocks::with_queries(queries).configure(config())))
            .await;
    let req = admin_get("/api/credits?since=2026-11-01T00:00:00Z")
        .insert_header((header::ACCEPT, "text/csv"))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers().get(header::CONTENT_TYPE).unwrap(), "text/csv; charset=utf-8");
    let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    assert_eq!(
        body,
        "credit_id,created_at,customer_id,reference_id,amount_usd,credited_total_usd,status,event_id\r\n\
         3,2026-11-27T01:02:03Z,\"acme, \"\"inc\"\"\",ref-1,0.10,0.30,PARTIALLY_FILLED,8\r\n"
    );
}

#[actix_web::test]
async fn credits_exported_as_csv_run_no_formula() {
    let mut queries = MockQueries::new();
    queries.expect_credits().returning(|_| {
        let mut hostile = credit("=HYPERLINK(\"https://evil.example/\",\"Click\")");
        hostile.reference_id = ReferenceId::parse("-1+1").unwrap();
        let mut plain = credit("@cust");
        plain.reference_id = ReferenceId::parse("ref-2").unwrap();
        Ok(vec![hostile, plain])
    });
    let app =
        test::init_service(App::new().configure(Mocks::with_queries(queries).configure(config())))
            .await;
    let req = admin_get("/api/credits").insert_header((header::ACCEPT, "text/csv")).to_request();
    let body =
        String::from_utf8(test::read_body(test::call_service(&app, req).await).await.to_vec())
            .unwrap();
    let rows: Vec<&str> = body.split("\r\n").collect();
    assert_eq!(
        rows[1],
        "3,2026-11-27T01:02:03Z,\"'=HYPERLINK(\"\"https://evil.example/\"\",\"\"Click\"\")\",'-1+1,0.10,0.30,PARTIALLY_FILLED,8"
    );
    assert_eq!(rows[2], "3,2026-11-27T01:02:03Z,'@cust,ref-2,0.10,0.30,PARTIALLY_FILLED,8");
    // JSON is data, not a spreadsheet: the values stay exactly as stored.
    let mut queries = MockQueries::new();
    queries.expect_credits().returning(|_| Ok(vec![credit("=1+1")]));
    let answer = send(Mocks::with_queries(queries), admin_get("/api/credits")).await;
    assert_eq!(answer.json["credits"][0]["customer_id"], "=1+1");
}

#[actix_web::test]
async fn every_configured_key_is_listed_by_position_used_or_not() {
    let mut queries = MockQueries::new();
    queries
        .expect_key_usage()
        .returning(|| Ok(vec![KeyUse { key_index: 1, deliveries: 4, last_used_at: at() }]));
    let answer = send(Mocks::with_queries(queries), admin_get("/api/keys")).await;
    assert_eq!(
        answer.json,
        json!({"keys": [
            {"position": 0, "deliveries": 0, "last_used_at": null},
            {"position": 1, "deliveries": 4, "last_used_at": "2026-11-27T01:02:03Z"},
        ]})
    );
}
