//! Receive: every delivery recorded, payment notifications applied in one ledger command,
//! failures kept for the retry worker.

use chrono::TimeDelta;
use mockall::predicate::{always, eq};

use payram_domain::{Amount, EventOutcome, Inbound, Outcome, PayoutNotification, ReferenceId};
use payram_ports::{
    CreditError, EventNote, PaymentUseCases, RecordedPayout, Rejection, RepositoryError,
    ServiceError,
};

use super::{
    Mocks, applied, at, credit, delivery, filled, payment_delivery, quick_retry, unavailable,
};
use crate::{RetryPolicy, receive::CONFLICT_ATTEMPTS};

#[tokio::test]
async fn an_applied_credit_is_answered_and_handed_to_crediting_once() {
    let mut mocks = Mocks::default();
    mocks
        .ledger
        .expect_apply_notification()
        .withf(|event, checked| {
            event.received_at == at()
                && event.raw_body == b"{raw}"
                && checked.notification().reference_id.as_str() == "ref-1"
        })
        .times(1)
        .returning(|_, _| Ok(applied(Outcome::Applied, Some(credit()))));
    mocks.crediting.expect_credit().with(eq(credit())).times(1).returning(|_| Ok(()));

    let receipt = mocks.service().receive(payment_delivery()).await.unwrap();

    assert_eq!(receipt.outcome, EventOutcome::Applied);
    assert_eq!(receipt.credited.to_string(), "50.00");
    assert_eq!(receipt.status.as_deref(), Some("FILLED"));
}

#[tokio::test]
async fn a_duplicate_credits_nothing() {
    let mut mocks = Mocks::default();
    mocks
        .ledger
        .expect_apply_notification()
        .returning(|_, _| Ok(applied(Outcome::Duplicate, None)));
    mocks.crediting.expect_credit().never();

    let receipt = mocks.service().receive(payment_delivery()).await.unwrap();

    assert_eq!((receipt.outcome, receipt.credited), (EventOutcome::Duplicate, Amount::ZERO));
}

#[tokio::test]
async fn a_crediting_notification_without_customer_is_recorded_as_invalid() {
    let mut mocks = Mocks::default();
    mocks.ledger.expect_apply_notification().never();
    mocks
        .ledger
        .expect_record_event()
        .withf(|_, note| {
            note.outcome == EventOutcome::InvalidPayload
                && note.reference_id.as_ref().map(ReferenceId::as_str) == Some("ref-1")
                && note.detail.as_deref().is_some_and(|d| d.contains("customer_id"))
                && note.next_attempt_at.is_none()
        })
        .times(1)
        .returning(|_, _| Ok(3));

    let receipt =
        mocks.service().receive(delivery(Ok(Inbound::Payment(filled(None))))).await.unwrap();

    assert_eq!(receipt.outcome, EventOutcome::InvalidPayload);
    assert_eq!(receipt.event_id, 3);
    assert!(receipt.message.unwrap().contains("customer_id"));
}

#[tokio::test]
async fn a_refused_body_is_recorded_with_its_reason() {
    let mut mocks = Mocks::default();
    mocks
        .ledger
        .expect_record_event()
        .with(
            always(),
            eq(EventNote {
                detail: Some("trailing comma".to_owned()),
                ..EventNote::new(EventOutcome::MalformedJson)
            }),
        )
        .times(1)
        .returning(|_, _| Ok(9));
    let rejection =
        Rejection { outcome: EventOutcome::MalformedJson, message: "trailing comma".into() };

    let receipt = mocks.service().receive(delivery(Err(rejection))).await.unwrap();

    assert_eq!((receipt.event_id, receipt.outcome), (9, EventOutcome::MalformedJson));
}

#[tokio::test]
async fn a_payout_is_recorded_and_never_credits() {
    let mut mocks = Mocks::default();
    mocks
        .ledger
        .expect_record_payout()
        .withf(|_, payout| payout.payout_id == "120" && payout.status == "SENT")
        .times(1)
        .returning(|_, _| Ok(RecordedPayout { event_id: 4, first_seen: true }));
    mocks.crediting.expect_credit().never();
    let payout = PayoutNotification {
        payout_id: "120".into(),
        event_type: "payout.sent".into(),
        status: "SENT".into(),
    };

    let receipt = mocks.service().receive(delivery(Ok(Inbound::Payout(payout)))).await.unwrap();

    assert_eq!(receipt.outcome, EventOutcome::Payout);
    assert_eq!(receipt.payout_id.as_deref(), Some("120"));
}

#[tokio::test]
async fn a_signed_ping_is_recorded() {
    let mut mocks = Mocks::default();
    mocks
        .ledger
        .expect_record_event()
        .withf(|_, note| note.outcome == EventOutcome::Ping)
        .times(1)
        .returning(|_, _| Ok(5));

    let receipt = mocks.service().receive(delivery(Ok(Inbound::Ping))).await.unwrap();

    assert_eq!(receipt.outcome, EventOutcome::Ping);
}

#[tokio::test]
async fn a_lost_race_is_retried_from_scratch() {
    let mut mocks = Mocks::default();
    let mut seq = mockall::Sequence::new();
    mocks
        .ledger
        .expect_apply_notification()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Err(RepositoryError::Conflict));
    mocks
        .ledger
        .expect_apply_notification()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(applied(Outcome::Duplicate, None)));

    let receipt = mocks.service().receive(payment_delivery()).await.unwrap();

    assert_eq!(receipt.outcome, EventOutcome::Duplicate);
}

#[tokio::test]
async fn endless_conflicts_give_up_as_retryable() {
    let mut mocks = Mocks::default();
    mocks
        .ledger
        .expect_apply_notification()
        .times(CONFLICT_ATTEMPTS)
        .returning(|_, _| Err(RepositoryError::Conflict));
    mocks
        .ledger
        .expect_record_event()
        .withf(|_, note| note.outcome == EventOutcome::Failed && note.next_attempt_at.is_some())
        .times(1)
        .returning(|_, _| Ok(2));

    let err = mocks.service().receive(payment_delivery()).await.unwrap_err();

    assert!(err.is_retryable());
}

#[tokio::test]
async fn unavailable_storage_is_retryable_and_credits_nothing() {
    let mut mocks = Mocks::default();
    mocks.ledger.expect_apply_notification().times(1).returning(|_, _| Err(unavailable()));
    // Storage is down: the failure cannot be recorded either.
    mocks
        .ledger
        .expect_record_event()
        .withf(|_, note| note.outcome == EventOutcome::Failed && note.next_attempt_at.is_some())
        .times(1)
        .returning(|_, _| Err(unavailable()));
    mocks.crediting.expect_credit().never();

    let err = mocks.service().receive(payment_delivery()).await.unwrap_err();

    assert!(err.is_retryable());
}

/// Replaces the old test of the `payment()` pass-through (gone with the old port): a corrupt
/// store, reported by a real use case, is not worth retrying.
#[tokio::test]
async fn corrupt_storage_is_not_retryable() {
    let mut mocks = Mocks::default();
    mocks
        .ledger
        .expect_apply_notification()
        .times(1)
        .returning(|_, _| Err(RepositoryError::Corrupt("credited more than received".into())));
    mocks
        .ledger
        .expect_record_event()
        .withf(|_, note| {
            note.outcome == EventOutcome::Failed
                && note.detail.as_deref().is_some_and(|d| d.contains("corrupt"))
        })
        .times(1)
        .returning(|_, _| Ok(2));

    let err = mocks.service().receive(payment_delivery()).await.unwrap_err();

    assert!(matches!(err, ServiceError::Repository(RepositoryError::Corrupt(_))));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_crediting_failure_does_not_undo_the_committed_credit() {
    let mut mocks = Mocks::default();
    mocks
        .ledger
        .expect_apply_notification()
        .returning(|_, _| Ok(applied(Outcome::Applied, Some(credit()))));
    mocks
        .crediting
        .expect_credit()
        .times(1)
        .returning(|_| Err(CreditError::Failed("merchant backend down".into())));
    mocks.schedule.expect_record_attempt().times(1).returning(|_, _| Ok(()));

    let receipt = mocks.service().receive(payment_delivery()).await.unwrap();

    assert_eq!(receipt.credited.to_string(), "50.00");
}

#[tokio::test]
async fn a_processing_failure_is_recorded_for_retry_and_still_answered_as_retryable() {
    let mut mocks = Mocks::default();
    mocks.ledger.expect_apply_notification().times(1).returning(|_, _| Err(unavailable()));
    mocks
        .ledger
        .expect_record_event()
        .withf(|event, note| {
            let wait = note.next_attempt_at.map(|next| next - at());
            event.raw_body == b"{raw}"
                && note.outcome == EventOutcome::Failed
                && note.reference_id.as_ref().map(ReferenceId::as_str) == Some("ref-1")
                && note.status.as_deref() == Some("FILLED")
                && note.detail.as_deref().is_some_and(|d| d.contains("disk full"))
                && wait.is_some_and(|wait| {
                    wait >= TimeDelta::seconds(5) && wait <= TimeDelta::seconds(10)
                })
        })
        .times(1)
        .returning(|_, _| Ok(8));

    let err = mocks.retrying().receive(payment_delivery()).await.unwrap_err();

    assert!(err.is_retryable());
}

#[tokio::test]
async fn when_even_the_failure_cannot_be_recorded_the_error_stands() {
    let mut mocks = Mocks::default();
    mocks.ledger.expect_apply_notification().returning(|_, _| Err(unavailable()));
    mocks.ledger.expect_record_event().times(1).returning(|_, _| Err(unavailable()));

    let err = mocks.service().receive(payment_delivery()).await.unwrap_err();

    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_first_failure_with_no_retry_left_is_recorded_as_dead() {
    let mut mocks = Mocks::default();
    mocks.ledger.expect_apply_notification().times(1).returning(|_, _| Err(unavailable()));
    mocks
        .ledger
        .expect_record_event()
        .withf(|event, note| {
            event.raw_body == b"{raw}"
                && note.outcome == EventOutcome::Dead
                && note.next_attempt_at.is_none()
                && note.reference_id.as_ref().map(ReferenceId::as_str) == Some("ref-1")
                && note.detail.as_deref().is_some_and(|d| d.contains("disk full"))
        })
        .times(1)
        .returning(|_, _| Ok(8));
    let once = RetryPolicy { max_attempts: 1, ..quick_retry() };

    let err =
        mocks.service().with_retry_policy(once).receive(payment_delivery()).await.unwrap_err();

    assert!(err.is_retryable(), "the delivery itself may still be retried by PayRam");
}
