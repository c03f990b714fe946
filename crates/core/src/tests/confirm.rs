//! `CONFIRM_BEFORE_CREDIT`: a credit waits until PayRam's API backs it.

use std::sync::{Arc, Mutex};

use chrono::TimeDelta;
use mockall::predicate::{always, eq};

use payram_domain::{
    Amount, EventOutcome, Inbound, Notification, Outcome, PaymentStatus, ReferenceId,
    ReportedStatus,
};
use payram_ports::{
    Delivery, GatewayError, MockPayramGateway, Origin, PaymentUseCases, PayramPayment,
};

use super::{
    Mocks, amount, applied, at, credit, delivery, filled, payment_delivery, payment_parser,
    quick_retry, waiting_event,
};
use crate::{PaymentService, RetryPolicy};

/// PayRam's view of `ref-1`: `status`, with `usd` received.
fn view(status: PaymentStatus, usd: Option<&str>) -> PayramPayment {
    PayramPayment {
        notification: Notification {
            status: ReportedStatus::Known(status),
            filled_amount_in_usd: usd.map(amount),
            ..filled(Some("cust-1"))
        },
        raw_body: b"{api}".to_vec(),
    }
}

/// A gateway asked only about `ref-1`, answering `answer()`.
fn gateway(
    answer: impl Fn() -> Result<PayramPayment, GatewayError> + Send + 'static,
) -> MockPayramGateway {
    let mut gateway = MockPayramGateway::new();
    gateway
        .expect_payment()
        .withf(|reference| reference.as_str() == "ref-1")
        .returning(move |_| answer());
    gateway
}

/// The service with [`super::quick_retry`] and confirmation by `gateway`.
fn confirming(mocks: Mocks, gateway: MockPayramGateway) -> PaymentService {
    mocks.retrying().with_confirmation(Arc::new(gateway))
}

#[tokio::test]
async fn a_credit_confirmed_by_payram_is_applied() {
    let mut mocks = Mocks::default();
    mocks
        .ledger
        .expect_apply_notification()
        .times(1)
        .returning(|_, _| Ok(applied(Outcome::Applied, Some(credit()))));
    mocks.ledger.expect_record_event().never();
    mocks.crediting.expect_credit().times(1).returning(|_| Ok(()));
    let gateway = gateway(|| Ok(view(PaymentStatus::OverFilled, Some("60.00"))));

    let receipt = confirming(mocks, gateway).receive(payment_delivery()).await.unwrap();

    assert_eq!(
        (receipt.outcome, receipt.credited.to_string()),
        (EventOutcome::Applied, "50.00".into())
    );
}

#[tokio::test]
async fn a_credit_payram_does_not_back_waits_and_changes_nothing() {
    for answer in [
        Ok(view(PaymentStatus::Open, None)),
        Ok(view(PaymentStatus::Filled, Some("49.99"))),
        Ok(view(PaymentStatus::Filled, None)),
        Err(GatewayError::Timeout),
    ] {
        let expected_reason = match &answer {
            Ok(_) => "PayRam",
            Err(_) => "could not confirm",
        };
        let mut mocks = Mocks::default();
        mocks.ledger.expect_apply_notification().never();
        mocks
            .ledger
            .expect_record_event()
            .withf(move |event, note| {
                let wait = note.next_attempt_at.map(|next| next - at());
                event.raw_body == b"{raw}"
                    && note.outcome == EventOutcome::Waiting
                    && note.reference_id.as_ref().map(ReferenceId::as_str) == Some("ref-1")
                    && note.status.as_deref() == Some("FILLED")
                    && note.detail.as_deref().is_some_and(|d| d.contains(expected_reason))
                    && wait.is_some_and(|wait| {
                        wait >= TimeDelta::seconds(5) && wait <= TimeDelta::seconds(10)
                    })
            })
            .times(1)
            .returning(|_, _| Ok(9));
        mocks.crediting.expect_credit().never();
        let answer = Mutex::new(Some(answer));
        let gateway = gateway(move || answer.lock().unwrap().take().unwrap());

        let receipt = confirming(mocks, gateway).receive(payment_delivery()).await.unwrap();

        assert_eq!(receipt.outcome, EventOutcome::Waiting);
        assert_eq!((receipt.event_id, receipt.credited), (9, Amount::ZERO));
        assert!(receipt.message.is_some());
    }
}

#[tokio::test]
async fn an_unconfirmed_credit_with_no_retry_left_is_dead_at_once() {
    let mut mocks = Mocks::default();
    mocks.ledger.expect_apply_notification().never();
    mocks
        .ledger
        .expect_record_event()
        .withf(|_, note| {
            note.outcome == EventOutcome::Dead
                && note.next_attempt_at.is_none()
                && note.detail.as_deref().is_some_and(|d| d.contains("could not confirm"))
        })
        .times(1)
        .returning(|_, _| Ok(9));
    mocks.crediting.expect_credit().never();
    let once = RetryPolicy { max_attempts: 1, ..quick_retry() };
    let service = confirming(mocks, gateway(|| Err(GatewayError::Timeout))).with_retry_policy(once);

    let receipt = service.receive(payment_delivery()).await.unwrap();

    assert_eq!((receipt.event_id, receipt.outcome), (9, EventOutcome::Dead));
    assert_eq!(receipt.credited, Amount::ZERO);
}

#[tokio::test]
async fn notifications_that_cannot_credit_and_payrams_own_answers_are_not_confirmed() {
    let open = Notification {
        status: ReportedStatus::Known(PaymentStatus::Open),
        filled_amount_in_usd: None,
        ..filled(Some("cust-1"))
    };
    let reconciliation = Delivery { origin: Origin::Reconciliation, ..payment_delivery() };
    for delivery in [delivery(Ok(Inbound::Payment(open))), reconciliation] {
        let mut mocks = Mocks::default();
        mocks
            .ledger
            .expect_apply_notification()
            .times(1)
            .returning(|_, _| Ok(applied(Outcome::Applied, None)));
        let mut gateway = MockPayramGateway::new();
        gateway.expect_payment().never();

        let receipt = confirming(mocks, gateway).receive(delivery).await.unwrap();

        assert_eq!(receipt.outcome, EventOutcome::Applied);
    }
}

#[tokio::test]
async fn a_waiting_event_is_applied_in_place_once_payram_confirms() {
    let mut mocks = Mocks::default();
    mocks.schedule.expect_claim_due().returning(|_, _| Ok(vec![waiting_event(8, 1)]));
    mocks.schedule.expect_credits_of_event().returning(|_| Ok(vec![]));
    mocks
        .schedule
        .expect_retry_notification()
        .with(eq(8), eq(at()), always())
        .times(1)
        .returning(|_, _, _| Ok(applied(Outcome::Applied, Some(credit()))));
    mocks.crediting.expect_credit().times(1).returning(|_| Ok(()));
    mocks.parser = payment_parser();
    let gateway = gateway(|| Ok(view(PaymentStatus::Filled, Some("50.00"))));

    let receipts = confirming(mocks, gateway).retry_due().await.unwrap();

    assert_eq!(
        (receipts[0].outcome, receipts[0].credited.to_string()),
        (EventOutcome::Applied, "50.00".into())
    );
}

#[tokio::test]
async fn a_waiting_event_still_unconfirmed_waits_again_then_dies() {
    for (attempts, dies) in [(1, false), (2, true)] {
        let mut mocks = Mocks::default();
        mocks
            .schedule
            .expect_claim_due()
            .returning(move |_, _| Ok(vec![waiting_event(8, attempts)]));
        mocks.schedule.expect_credits_of_event().returning(|_| Ok(vec![]));
        mocks.schedule.expect_retry_notification().never();
        let expected = if dies { EventOutcome::Dead } else { EventOutcome::Waiting };
        mocks
            .schedule
            .expect_record_attempt()
            .withf(move |id, attempt| {
                *id == 8
                    && attempt.outcome == expected
                    && attempt.detail.contains("less USD")
                    && attempt.next_attempt_at.is_none() == dies
            })
            .times(1)
            .returning(|_, _| Ok(()));
        mocks.parser = payment_parser();
        let gateway = gateway(|| Ok(view(PaymentStatus::PartiallyFilled, Some("20.00"))));

        let receipts = confirming(mocks, gateway).retry_due().await.unwrap();

        assert_eq!(receipts[0].outcome, expected);
        assert_eq!(receipts[0].credited, Amount::ZERO);
    }
}
