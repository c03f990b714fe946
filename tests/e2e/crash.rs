//! Crash safety: the server is killed with SIGKILL in the middle of a load of unique and
//! duplicate deliveries, several times, and restarted on the same SQLite file. Afterwards
//! every acknowledged delivery is in the event log, every payment's credits equal what its
//! notifications imply, no credit is duplicated, and the file is sound.

use std::{
    collections::{HashMap, VecDeque},
    path::Path,
    time::{Duration, Instant},
};

use serde_json::Value;
use tokio::task::JoinSet;

use crate::helpers::{
    Db, Note, PaymentPlan, Planned, Rng, TestApp, cents, check_ledger, credit_of, deliver,
    generate_plans, planned_deliveries,
};

const SEED: u64 = 0x00c0_ffee_4ead_0001;
const PAYMENTS: usize = 40;
const CUSTOMERS: usize = 12;
/// A bound on the whole test (it takes a few seconds).
const LIMIT: Duration = Duration::from_secs(90);

/// How hard a crash run is.
#[derive(Clone, Copy)]
struct Load {
    seed: u64,
    payments: usize,
    /// Deliveries in flight at once, as PayRam's concurrent senders.
    in_flight: usize,
    /// How many times the server is killed.
    kills: usize,
}

/// What one attempt to deliver came to.
type Attempt = (usize, Result<(u16, Value), String>);

/// The deliveries still to send and those acknowledged.
struct Sent {
    pending: VecDeque<usize>,
    /// Every delivery answered 200, with its answer, in the order answered.
    acked: Vec<(usize, Value)>,
    attempts: usize,
    /// Attempts that failed at the transport level because the server was killed.
    cut_by_kill: usize,
    unavailable: usize,
}

impl Sent {
    /// Records an attempt; a delivery that got no 200 goes back in the queue, as PayRam sends
    /// it again later. False when the attempt failed at the transport level.
    fn record(&mut self, (index, result): Attempt) -> bool {
        match result {
            Ok((200, answer)) => {
                self.acked.push((index, answer));
                true
            }
            Ok((503, answer)) => {
                assert_eq!(answer["error"], "storage_unavailable", "{answer}");
                self.unavailable += 1;
                self.pending.push_back(index);
                true
            }
            Ok((code, answer)) => panic!("delivery {index} answered {code}: {answer}"),
            Err(_) => {
                self.pending.push_back(index);
                false
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_load_loses_no_acknowledged_delivery_and_credits_once() {
    crate::helpers::built().await;
    let load = Load { seed: SEED, payments: PAYMENTS, in_flight: 8, kills: 5 };
    tokio::time::timeout(LIMIT, crash_and_check(load)).await.expect("the crash test ends in time");
}

/// The single writer commits deliveries in batches: with 128 in flight, each SIGKILL lands
/// while a batch of many commands is being applied or committed. Every acknowledged delivery
/// must still be there, and no unacknowledged one half-written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_with_a_large_batch_in_flight_loses_no_acknowledged_delivery() {
    crate::helpers::built().await;
    let load = Load { seed: SEED ^ 0xba7c, payments: 160, in_flight: 128, kills: 3 };
    tokio::time::timeout(LIMIT, crash_and_check(load)).await.expect("the crash test ends in time");
}

async fn crash_and_check(load: Load) {
    let started = Instant::now();
    let mut rng = Rng::new(load.seed);
    let plans = generate_plans(&mut rng, "crash", load.payments, CUSTOMERS);
    let deliveries = planned_deliveries(&plans, &mut rng);
    let (app, sent) = deliver_through_kills(&deliveries, load).await;
    eprintln!(
        "crash: {} deliveries, {} attempts, {} cut by {} kills, {} answered 503, {:?}",
        deliveries.len(),
        sent.attempts,
        sent.cut_by_kill,
        load.kills,
        sent.unavailable,
        started.elapsed()
    );
    let answered_credit = check_answers(&plans, &deliveries, &sent.acked);
    check_api(&app, &plans).await;
    // One more crash for good measure, then the file itself.
    let db_path = app.db_path();
    let dir = app.kill().await;
    check_database(&db_path, &plans, &deliveries, &sent, &answered_credit);
    drop(dir);
}

/// Sends every delivery, `load.in_flight` at a time, killing the server `load.kills` times
/// along the way and restarting it on the same file, until each one is acknowledged; returns
/// the last server, still running.
async fn deliver_through_kills(deliveries: &[Planned], load: Load) -> (TestApp, Sent) {
    let total = deliveries.len();
    let mut app = TestApp::spawn().await;
    let db_path = app.db_path();
    let mut sent = Sent {
        pending: (0..total).collect(),
        acked: Vec::new(),
        attempts: 0,
        cut_by_kill: 0,
        unavailable: 0,
    };
    let kills = load.kills;
    for round in 0..=kills {
        // Killed once this many deliveries are acknowledged; the last round runs to the end.
        let kill_at = if round < kills { total * (round + 1) / (kills + 1) } else { usize::MAX };
        let client = reqwest::Client::builder().timeout(Duration::from_mins(1)).build().unwrap();
        let url = app.url("/webhook");
        let mut in_flight: JoinSet<Attempt> = JoinSet::new();
        loop {
            while in_flight.len() < load.in_flight && sent.acked.len() < kill_at {
                let Some(index) = sent.pending.pop_front() else { break };
                let (client, url) = (client.clone(), url.clone());
                let body = deliveries[index].body.clone();
                sent.attempts += 1;
                in_flight.spawn(async move { (index, deliver(&client, &url, &body).await) });
            }
            let Some(joined) = in_flight.join_next().await else { break };
            assert!(sent.record(joined.unwrap()), "the server failed while running");
            if sent.acked.len() >= kill_at {
                break;
            }
        }
        if round == kills {
            break;
        }
        // SIGKILL with up to in_flight - 1 deliveries in flight, some of them mid-transaction.
        let dir = app.kill().await;
        while let Some(joined) = in_flight.join_next().await {
            if !sent.record(joined.unwrap()) {
                sent.cut_by_kill += 1;
            }
        }
        app = TestApp::spawn_on(dir, &db_path, &[]).await;
    }
    assert!(sent.pending.is_empty(), "every delivery is acknowledged in the end");
    assert!(sent.cut_by_kill > 0, "the kills interrupted deliveries in flight");
    (app, sent)
}

/// Each answer is about the notification sent; returns the credits answered per payment.
fn check_answers(
    plans: &[PaymentPlan],
    deliveries: &[Planned],
    acked: &[(usize, Value)],
) -> HashMap<usize, u64> {
    let mut answered_credit: HashMap<usize, u64> = HashMap::new();
    for (index, answer) in acked {
        let delivery = &deliveries[*index];
        let plan = &plans[delivery.plan];
        let note = plan.notes[delivery.note];
        assert_eq!(answer["reference_id"], plan.reference_id.as_str(), "{answer}");
        assert_eq!(answer["status"], note.status.name(), "{answer}");
        let outcome = answer["outcome"].as_str().unwrap();
        assert!(["applied", "duplicate", "stale"].contains(&outcome), "{answer}");
        *answered_credit.entry(delivery.plan).or_default() +=
            cents(answer["credited"].as_str().unwrap());
    }
    answered_credit
}

/// Every delivery being acknowledged in the end, the admin API shows the model: each
/// payment's credited total and status, each customer's balance.
async fn check_api(app: &TestApp, plans: &[PaymentPlan]) {
    for plan in plans {
        let (code, payment) = app.admin_get(&format!("/api/payments/{}", plan.reference_id)).await;
        assert_eq!(code, 200, "{payment}");
        let credited = cents(payment["credited_usd"].as_str().unwrap());
        assert_eq!(credited, plan.expected_credit(), "{plan:?}: {payment}");
        assert_eq!(payment["status"], plan.expected_status().name(), "{plan:?}: {payment}");
    }
    for (customer, balance) in expected_balances(plans) {
        assert_eq!(cents(&app.customer_balance(&customer).await), balance, "{customer}");
    }
}

/// What each customer is owed, for customers owed something.
fn expected_balances(plans: &[PaymentPlan]) -> HashMap<String, u64> {
    let mut balances: HashMap<String, u64> = HashMap::new();
    for plan in plans.iter().filter(|plan| plan.expected_credit() > 0) {
        *balances.entry(plan.customer_id.clone()).or_default() += plan.expected_credit();
    }
    balances
}

/// The file after the last kill: sound; every acknowledged body recorded byte for byte; per
/// payment, credits numbered 1..n summing to `credited_usd`, equal to the largest paid amount
/// among its recorded notifications and at least the largest among its acknowledged ones.
fn check_database(
    db_path: &Path,
    plans: &[PaymentPlan],
    deliveries: &[Planned],
    sent: &Sent,
    answered_credit: &HashMap<usize, u64>,
) {
    let mut db = Db::open(db_path);
    assert_eq!(db.integrity_check(), ["ok"]);

    // Every event is one of the bodies sent, and every acknowledged body is there at least as
    // many times as it was acknowledged.
    let known: HashMap<&[u8], (usize, usize)> =
        deliveries.iter().map(|d| (&d.body[..], (d.plan, d.note))).collect();
    let events = db.events();
    let recorded_events = events.len();
    assert!(
        recorded_events >= sent.acked.len() && recorded_events <= sent.attempts,
        "{recorded_events} events for {} acknowledged of {} attempts",
        sent.acked.len(),
        sent.attempts
    );
    let mut recorded: HashMap<&[u8], usize> = HashMap::new();
    let mut recorded_notes: HashMap<usize, Vec<Note>> = HashMap::new();
    for event in &events {
        let (&body, &(plan, note)) = known
            .get_key_value(&event.raw_body[..])
            .unwrap_or_else(|| panic!("event {} has a body never sent", event.id));
        *recorded.entry(body).or_default() += 1;
        recorded_notes.entry(plan).or_default().push(plans[plan].notes[note]);
        assert_eq!(event.reference_id.as_deref(), Some(plans[plan].reference_id.as_str()));
    }
    let mut acked_count: HashMap<&[u8], usize> = HashMap::new();
    let mut acked_notes: HashMap<usize, Vec<Note>> = HashMap::new();
    for (index, _) in &sent.acked {
        let delivery = &deliveries[*index];
        *acked_count.entry(&delivery.body[..]).or_default() += 1;
        let note = plans[delivery.plan].notes[delivery.note];
        acked_notes.entry(delivery.plan).or_default().push(note);
    }
    for (body, count) in &acked_count {
        let stored = recorded.get(body).copied().unwrap_or(0);
        assert!(
            stored >= *count,
            "{} acknowledged {count} times, recorded {stored} times",
            String::from_utf8_lossy(body)
        );
    }

    let (credited, ledger_balances) = check_ledger(&mut db);
    for (index, plan) in plans.iter().enumerate() {
        let credited = credited.get(&plan.reference_id).copied().unwrap_or(0);
        let recorded = credit_of(recorded_notes.remove(&index).unwrap_or_default());
        let acknowledged = credit_of(acked_notes.remove(&index).unwrap_or_default());
        assert_eq!(credited, recorded, "{plan:?}");
        assert!(credited >= acknowledged, "{plan:?}");
        assert_eq!(credited, plan.expected_credit(), "{plan:?}");
        // Answers lost to a kill may have credited; answers given never exceed the ledger.
        assert!(answered_credit.get(&index).copied().unwrap_or(0) <= credited, "{plan:?}");
    }
    assert_eq!(ledger_balances, expected_balances(plans));
    let statuses: HashMap<String, String> =
        db.payments().into_iter().map(|p| (p.reference_id, p.status)).collect();
    for plan in plans {
        assert_eq!(statuses[&plan.reference_id], plan.expected_status().name(), "{plan:?}");
    }
}
