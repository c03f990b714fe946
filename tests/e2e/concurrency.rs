//! Concurrent deliveries of the same notification credit once.

use tokio::task::JoinSet;

use crate::helpers::{TEST_KEY, TestApp, fixture, sign};

#[tokio::test]
async fn twenty_concurrent_identical_filled_deliveries_credit_once() {
    let app = TestApp::spawn().await;
    let body = fixture("filled_strings.json");
    let signature = sign(TEST_KEY, &body);
    let mut deliveries = JoinSet::new();
    for _ in 0..20 {
        // A client per delivery: 20 separate connections.
        let client = reqwest::Client::new();
        let request = client
            .post(app.url("/webhook"))
            .header("X-Payram-Signature", signature.clone())
            .body(body.clone());
        deliveries.spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let answer: serde_json::Value = response.json().await.unwrap();
            (status, answer)
        });
    }
    let mut applied = Vec::new();
    let mut duplicates = 0;
    while let Some(result) = deliveries.join_next().await {
        let (status, answer) = result.unwrap();
        assert_eq!(status, 200, "{answer}");
        match answer["outcome"].as_str().unwrap() {
            "applied" => applied.push(answer["credited"].as_str().unwrap().to_owned()),
            "duplicate" => {
                assert_eq!(answer["credited"], "0");
                duplicates += 1;
            }
            other => panic!("unexpected outcome {other}"),
        }
    }
    assert_eq!(applied, ["12.00"]);
    assert_eq!(duplicates, 19);
    assert_eq!(app.customer_balance("cust_2002").await, "12.00");
    let (_, customer) = app.admin_get("/api/customers/cust_2002").await;
    assert_eq!(customer["credits"].as_array().unwrap().len(), 1);
    let (_, payment) = app.admin_get("/api/payments/c80f5363-0397-4761-aa1a-3155c3a21470").await;
    assert_eq!(payment["events"].as_array().unwrap().len(), 20, "every delivery is recorded");
}
