//! Concurrency under load: many connections delivering the same notification credit once;
//! many payments delivered concurrently in random order end exactly as a model computed here.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::Value;
use tokio::{sync::Barrier, task::JoinSet};

use crate::helpers::{
    Db, Planned, Rng, TestApp, cents, check_ledger, deliver, generate_plans, one_connection_client,
    planned_deliveries,
};

/// A bound on each test (each takes a few seconds).
const LIMIT: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_deliveries_of_one_filled_over_32_connections_credit_once() {
    const CONNECTIONS: usize = 32;
    const DELIVERIES: usize = 200;
    const REFERENCE: &str = "load-same-filled";
    let started = Instant::now();
    let app = TestApp::spawn().await;
    let body: Arc<[u8]> = format!(
        concat!(
            r#"{{"reference_id":"{}","status":"FILLED","customer_id":"load-same-cust","#,
            r#""amount":"250.00","currency":"USDC","filled_amount":"250.00","#,
            r#""filled_amount_in_usd":"250.00"}}"#
        ),
        REFERENCE
    )
    .into_bytes()
    .into();
    let url = app.url("/webhook");
    // Every connection starts sending at once; each sends its share one after the other on
    // its own connection, so that all 32 are busy together.
    let start = Arc::new(Barrier::new(CONNECTIONS));
    let mut connections = JoinSet::new();
    for connection in 0..CONNECTIONS {
        let share = DELIVERIES / CONNECTIONS + usize::from(connection < DELIVERIES % CONNECTIONS);
        let (client, url, body, start) =
            (one_connection_client(), url.clone(), body.clone(), start.clone());
        connections.spawn(async move {
            start.wait().await;
            let mut answers = Vec::new();
            for _ in 0..share {
                answers.push(deliver(&client, &url, &body).await.unwrap());
            }
            answers
        });
    }
    let answers: Vec<(u16, Value)> =
        tokio::time::timeout(LIMIT, connections.join_all()).await.unwrap().concat();
    assert_eq!(answers.len(), DELIVERIES);
    let mut applied = Vec::new();
    let mut duplicates = 0;
    for (code, answer) in &answers {
        assert_eq!(*code, 200, "{answer}");
        match answer["outcome"].as_str().unwrap() {
            "applied" => applied.push(answer["credited"].as_str().unwrap()),
            "duplicate" => {
                assert_eq!(answer["credited"], "0", "{answer}");
                duplicates += 1;
            }
            other => panic!("unexpected outcome {other}: {answer}"),
        }
    }
    assert_eq!(applied, ["250.00"]);
    assert_eq!(duplicates, DELIVERIES - 1);
    assert_eq!(app.customer_balance("load-same-cust").await, "250.00");
    let (_, customer) = app.admin_get("/api/customers/load-same-cust").await;
    assert_eq!(customer["credits"].as_array().unwrap().len(), 1, "{customer}");
    let (_, payment) = app.admin_get(&format!("/api/payments/{REFERENCE}")).await;
    assert_eq!(payment["credited_usd"], "250.00");
    assert_eq!(payment["events"].as_array().unwrap().len(), DELIVERIES, "every delivery recorded");

    let mut db = Db::open(&app.db_path());
    let events = db.events();
    assert_eq!(events.len(), DELIVERIES);
    assert!(events.iter().all(|event| event.raw_body[..] == body[..]));
    let outcomes = events.iter().filter(|event| event.outcome == "applied").count();
    assert_eq!(outcomes, 1);
    let (credited, balances) = check_ledger(&mut db);
    assert_eq!(credited, HashMap::from([(REFERENCE.to_owned(), 25000)]));
    assert_eq!(balances, HashMap::from([("load-same-cust".to_owned(), 25000)]));
    assert_eq!(db.credits().len(), 1);
    assert_eq!(db.integrity_check(), ["ok"]);
    eprintln!(
        "load: {DELIVERIES} identical deliveries on {CONNECTIONS} connections in {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_payments_delivered_concurrently_in_random_order_end_as_the_model() {
    const SEED: u64 = 0x0b5e_55ed_0100_0100;
    const PAYMENTS: usize = 100;
    const CUSTOMERS: usize = 30;
    const CONNECTIONS: usize = 16;
    let started = Instant::now();
    let mut rng = Rng::new(SEED);
    let plans = generate_plans(&mut rng, "load", PAYMENTS, CUSTOMERS);
    let deliveries = planned_deliveries(&plans, &mut rng);
    let total = deliveries.len();
    let app = TestApp::spawn().await;
    let url = app.url("/webhook");
    // Each connection takes the next delivery of the shuffled queue as soon as it is free.
    let queue: Arc<Mutex<VecDeque<Planned>>> = Arc::new(Mutex::new(deliveries.into()));
    let mut connections = JoinSet::new();
    for _ in 0..CONNECTIONS {
        let (client, url, queue) = (one_connection_client(), url.clone(), queue.clone());
        connections.spawn(async move {
            let mut answers = Vec::new();
            loop {
                let Some(delivery) = queue.lock().unwrap().pop_front() else { break };
                let answer = deliver(&client, &url, &delivery.body).await.unwrap();
                answers.push((delivery, answer));
            }
            answers
        });
    }
    let answers = tokio::time::timeout(LIMIT, connections.join_all()).await.unwrap().concat();
    assert_eq!(answers.len(), total);

    // Every delivery is answered 200 about its own notification; the credits answered for a
    // payment add up to what the model says it owes.
    let mut answered_credit = vec![0; PAYMENTS];
    let mut deliveries_of = vec![0; PAYMENTS];
    for (delivery, (code, answer)) in &answers {
        let plan = &plans[delivery.plan];
        assert_eq!(*code, 200, "{answer}");
        assert_eq!(answer["reference_id"], plan.reference_id.as_str(), "{answer}");
        assert_eq!(answer["status"], plan.notes[delivery.note].status.name(), "{answer}");
        let outcome = answer["outcome"].as_str().unwrap();
        assert!(["applied", "duplicate", "stale"].contains(&outcome), "{answer}");
        answered_credit[delivery.plan] += cents(answer["credited"].as_str().unwrap());
        deliveries_of[delivery.plan] += 1;
    }
    let mut balances: HashMap<String, u64> = HashMap::new();
    for (index, plan) in plans.iter().enumerate() {
        let expected = plan.expected_credit();
        assert_eq!(answered_credit[index], expected, "{plan:?}");
        if expected > 0 {
            *balances.entry(plan.customer_id.clone()).or_default() += expected;
        }
        let (code, payment) = app.admin_get(&format!("/api/payments/{}", plan.reference_id)).await;
        assert_eq!(code, 200, "{payment}");
        assert_eq!(cents(payment["credited_usd"].as_str().unwrap()), expected, "{plan:?}");
        assert_eq!(payment["status"], plan.expected_status().name(), "{plan:?}: {payment}");
        assert_eq!(payment["events"].as_array().unwrap().len(), deliveries_of[index]);
    }
    for customer in (0..CUSTOMERS).map(|i| format!("load-cust-{i:02}")) {
        let expected = balances.get(&customer).copied().unwrap_or(0);
        assert_eq!(cents(&app.customer_balance(&customer).await), expected, "{customer}");
    }

    let mut db = Db::open(&app.db_path());
    assert_eq!(db.events().len(), total);
    let (credited, ledger_balances) = check_ledger(&mut db);
    for plan in &plans {
        assert_eq!(credited[&plan.reference_id], plan.expected_credit(), "{plan:?}");
    }
    assert_eq!(ledger_balances, balances);
    assert_eq!(db.integrity_check(), ["ok"]);
    eprintln!("load: {total} deliveries of {PAYMENTS} payments in {:?}", started.elapsed());
}
