//! Forward: the outbox of credits delivered on a backoff schedule, then dead.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use mockall::predicate::eq;

use payram_domain::{Amount, CustomerId, PaymentStatus, ReferenceId};
use payram_ports::{
    CreditError, MockClock, MockCrediting, MockOutbox, OutboxEntry, OutboxId, OutboxState,
    OutboxUseCases, RecordedCredit, RepositoryError,
};

use crate::{OutboxService, RetryPolicy};

/// How many due entries one step of the worker claims (`outbox::OUTBOX_BATCH`).
const OUTBOX_BATCH: u32 = 100;

/// `seconds` after a fixed instant.
fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
}

fn entry(id: OutboxId, attempts: u32, state: OutboxState) -> OutboxEntry {
    OutboxEntry {
        id,
        credit: RecordedCredit {
            id: 7,
            reference_id: ReferenceId::parse("ref-1").unwrap(),
            customer_id: CustomerId::parse("cust-1").unwrap(),
            amount_usd: Amount::parse("60").unwrap(),
            credited_total_usd: Amount::parse("100").unwrap(),
            status: PaymentStatus::Filled,
            event_id: 3,
            created_at: at(0),
        },
        state,
        attempts,
        next_attempt_at: Some(at(0)),
        last_error: None,
        created_at: at(0),
        delivered_at: None,
    }
}

/// Three attempts in all, 10 s doubling.
fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_secs(10),
        max_delay: Duration::from_mins(1),
    }
}

fn clock() -> MockClock {
    let mut clock = MockClock::new();
    clock.expect_now().returning(|| at(100));
    clock
}

fn failing() -> MockCrediting {
    let mut forwarder = MockCrediting::new();
    forwarder
        .expect_credit()
        .returning(|_| Err(CreditError::Failed("receiver answered 500".into())));
    forwarder
}

fn service(outbox: MockOutbox, forwarder: MockCrediting) -> OutboxService {
    OutboxService::new(Arc::new(outbox), Arc::new(forwarder), Arc::new(clock()), policy())
}

#[tokio::test]
async fn a_due_entry_delivered_is_marked_delivered() {
    let mut outbox = MockOutbox::new();
    outbox
        .expect_claim_due()
        .with(eq(at(100)), eq(OUTBOX_BATCH))
        .returning(|_, _| Ok(vec![entry(1, 0, OutboxState::Pending)]));
    outbox.expect_delivered().with(eq(1), eq(at(100))).times(1).returning(|_, _| Ok(()));
    let mut forwarder = MockCrediting::new();
    forwarder.expect_credit().withf(|credit| credit.id == 7).times(1).returning(|_| Ok(()));
    assert_eq!(service(outbox, forwarder).deliver_due().await.unwrap(), 1);
}

#[tokio::test]
async fn a_failed_attempt_is_rescheduled_with_backoff_and_its_error() {
    let mut outbox = MockOutbox::new();
    outbox.expect_claim_due().returning(|_, _| Ok(vec![entry(1, 1, OutboxState::Pending)]));
    // Second failed attempt: between half and all of 2 x 10 s after now.
    outbox
        .expect_failed()
        .withf(|id, state, error, next| {
            *id == 1
                && *state == OutboxState::Pending
                && error.contains("receiver answered 500")
                && next.is_some_and(|next| next >= at(110) && next <= at(120))
        })
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    assert_eq!(service(outbox, failing()).deliver_due().await.unwrap(), 1);
}

#[tokio::test]
async fn the_last_failed_attempt_makes_the_entry_dead() {
    let mut outbox = MockOutbox::new();
    outbox.expect_claim_due().returning(|_, _| Ok(vec![entry(1, 2, OutboxState::Pending)]));
    outbox
        .expect_failed()
        .withf(|id, state, _, next| *id == 1 && *state == OutboxState::Dead && next.is_none())
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    service(outbox, failing()).deliver_due().await.unwrap();
}

#[tokio::test]
async fn replaying_a_dead_entry_delivers_it_now() {
    let mut outbox = MockOutbox::new();
    let mut finds = 0;
    outbox.expect_find().with(eq(4)).times(2).returning(move |_| {
        finds += 1;
        let state = if finds == 1 { OutboxState::Dead } else { OutboxState::Delivered };
        Ok(Some(entry(4, 3, state)))
    });
    outbox.expect_delivered().with(eq(4), eq(at(100))).times(1).returning(|_, _| Ok(()));
    let mut forwarder = MockCrediting::new();
    forwarder.expect_credit().times(1).returning(|_| Ok(()));
    let replayed = service(outbox, forwarder).replay(4).await.unwrap().unwrap();
    assert_eq!(replayed.state, OutboxState::Delivered);
}

#[tokio::test]
async fn a_dead_entry_that_fails_again_on_replay_stays_dead() {
    let mut outbox = MockOutbox::new();
    outbox.expect_find().returning(|_| Ok(Some(entry(4, 1, OutboxState::Dead))));
    outbox
        .expect_failed()
        .withf(|_, state, _, next| *state == OutboxState::Dead && next.is_none())
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    service(outbox, failing()).replay(4).await.unwrap();
}

#[tokio::test]
async fn replaying_an_unknown_entry_is_none_and_sends_nothing() {
    let mut outbox = MockOutbox::new();
    outbox.expect_find().returning(|_| Ok(None));
    let mut forwarder = MockCrediting::new();
    forwarder.expect_credit().never();
    assert_eq!(service(outbox, forwarder).replay(9).await.unwrap(), None);
}

#[tokio::test]
async fn storage_down_stops_the_step_without_sending() {
    let mut outbox = MockOutbox::new();
    outbox
        .expect_claim_due()
        .returning(|_, _| Err(RepositoryError::Unavailable("database is locked".into())));
    let mut forwarder = MockCrediting::new();
    forwarder.expect_credit().never();
    assert!(service(outbox, forwarder).deliver_due().await.is_err());
}

#[test]
fn states_round_trip_through_their_names() {
    for state in [OutboxState::Pending, OutboxState::Delivered, OutboxState::Dead] {
        assert_eq!(state.as_str().parse::<OutboxState>(), Ok(state));
    }
    assert!("sent".parse::<OutboxState>().is_err());
}
