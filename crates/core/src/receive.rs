//! Receive: records one delivery and applies it.

use payram_domain::{
    Amount, CheckedNotification, Escaped, EventOutcome, Inbound, Notification, ReferenceId,
};
use payram_ports::{
    Applied, Delivery, ErrorChain, EventNote, NewEvent, Receipt, RepositoryError, ServiceError,
};

use crate::PaymentService;

/// How often a write that lost a race to a concurrent writer is tried again before the
/// delivery is answered as retryable.
pub(crate) const CONFLICT_ATTEMPTS: usize = 3;

impl PaymentService {
    pub(crate) async fn receive_delivery(
        &self,
        delivery: Delivery,
    ) -> Result<Receipt, ServiceError> {
        let origin = delivery.origin;
        let event = NewEvent {
            origin,
            received_at: self.clock.now(),
            method: delivery.method,
            auth: delivery.auth,
            raw_body: delivery.raw_body,
        };
        let receipt = match delivery.content {
            Ok(Inbound::Payment(notification)) => self.receive_payment(event, notification).await,
            Ok(Inbound::Payout(payout)) => {
                let payout_id = payout.payout_id.clone();
                let status = payout.status.clone();
                let recorded = self.storage.ledger.record_payout(event, payout).await?;
                Ok(Receipt {
                    event_id: recorded.event_id,
                    payout_id: Some(payout_id),
                    status: Some(status),
                    ..receipt(EventOutcome::Payout)
                })
            }
            Ok(Inbound::Ping) => {
                let note = EventNote::new(EventOutcome::Ping);
                let event_id = self.storage.ledger.record_event(event, note).await?;
                Ok(Receipt { event_id, ..receipt(EventOutcome::Ping) })
            }
            Err(rejection) => {
                let note = EventNote {
                    detail: Some(rejection.message.clone()),
                    ..EventNote::new(rejection.outcome)
                };
                let event_id = self.storage.ledger.record_event(event, note).await?;
                Ok(Receipt {
                    event_id,
                    message: Some(rejection.message),
                    ..receipt(rejection.outcome)
                })
            }
        };
        match &receipt {
            Ok(receipt) => tracing::info!(
                event_id = receipt.event_id,
                origin = origin.as_str(),
                reference_id = receipt.reference_id.as_ref().map(Escaped).map(tracing::field::display),
                payout_id = receipt.payout_id.as_deref().map(Escaped).map(tracing::field::display),
                status = receipt.status.as_deref().map(Escaped).map(tracing::field::display),
                outcome = %receipt.outcome,
                credited_usd = %receipt.credited,
                "webhook recorded"
            ),
            Err(err) => tracing::error!(error = %Escaped(ErrorChain(err)), "webhook not recorded"),
        }
        receipt
    }

    async fn receive_payment(
        &self,
        event: NewEvent,
        notification: Notification,
    ) -> Result<Receipt, ServiceError> {
        let reference_id = notification.reference_id.clone();
        let status = notification.status.as_str().to_owned();
        let checked = match self.policy.check(notification) {
            Ok(checked) => checked,
            Err(invalid) => {
                let message = invalid.to_string();
                let note = EventNote {
                    reference_id: Some(reference_id.clone()),
                    detail: Some(message.clone()),
                    ..EventNote::new(EventOutcome::InvalidPayload)
                };
                let event_id = self.storage.ledger.record_event(event, note).await?;
                return Ok(Receipt {
                    event_id,
                    reference_id: Some(reference_id),
                    status: Some(status),
                    message: Some(message),
                    ..receipt(EventOutcome::InvalidPayload)
                });
            }
        };
        if let Err(reason) = self.confirmation(event.origin, &checked).await {
            return self.wait(event, reference_id, status, reason).await;
        }
        let applied = match self.apply(event.clone(), checked).await {
            Ok(applied) => applied,
            Err(err) => {
                self.record_failure(event, reference_id, status, &err).await;
                return Err(err);
            }
        };
        if let Some(credit) = &applied.credit {
            // The credit is committed; the adapter is told after the fact, at least once.
            if let Err(err) = self.crediting.credit(credit).await {
                let error = format!("crediting: {}", ErrorChain(&err));
                tracing::error!(credit_id = credit.id, event_id = applied.event_id, error = %Escaped(&error),
                    "crediting adapter failed; the credit stays in the ledger and is retried");
                if let Err(err) = self.count_failure(applied.event_id, 0, error).await {
                    tracing::error!(event_id = applied.event_id, error = %Escaped(ErrorChain(&err)),
                        "could not schedule the crediting retry");
                }
            }
        }
        Ok(Receipt {
            event_id: applied.event_id,
            reference_id: Some(reference_id),
            status: Some(status),
            credited: applied.credit.map_or(Amount::ZERO, |credit| credit.amount_usd),
            ..receipt(applied.outcome.into())
        })
    }

    /// Records a crediting notification that PayRam's API has not confirmed yet; the retry
    /// worker asks again when it is due (dead at once when the policy allows no retry).
    async fn wait(
        &self,
        event: NewEvent,
        reference_id: ReferenceId,
        status: String,
        reason: String,
    ) -> Result<Receipt, ServiceError> {
        let next = self.next_attempt_at(1, seed_of(&event));
        let outcome = if next.is_some() { EventOutcome::Waiting } else { EventOutcome::Dead };
        let note = EventNote {
            reference_id: Some(reference_id.clone()),
            status: Some(status.clone()),
            detail: Some(reason.clone()),
            next_attempt_at: next,
            ..EventNote::new(outcome)
        };
        let event_id = self.storage.ledger.record_event(event, note).await?;
        tracing::warn!(event_id, reference_id = %Escaped(&reference_id), reason = %Escaped(&reason),
            next_attempt_at = ?next, "credit waits for PayRam's confirmation");
        Ok(Receipt {
            event_id,
            reference_id: Some(reference_id),
            status: Some(status),
            message: Some(reason),
            ..receipt(outcome)
        })
    }

    /// Keeps a payment event whose processing failed, for the retry worker (dead at once when
    /// the policy allows no retry). When even that cannot be written (storage is down),
    /// nothing is recorded and the caller answers 503.
    async fn record_failure(
        &self,
        event: NewEvent,
        reference_id: ReferenceId,
        status: String,
        err: &ServiceError,
    ) {
        let next = self.next_attempt_at(1, seed_of(&event));
        let outcome = if next.is_some() { EventOutcome::Failed } else { EventOutcome::Dead };
        let note = EventNote {
            reference_id: Some(reference_id),
            status: Some(status),
            detail: Some(ErrorChain(err).to_string()),
            next_attempt_at: next,
            ..EventNote::new(outcome)
        };
        match self.storage.ledger.record_event(event, note).await {
            Ok(event_id) => tracing::warn!(event_id, next_attempt_at = ?next, %outcome,
                "processing failed; the event is recorded as failed and will be retried"),
            Err(err) => tracing::error!(error = %Escaped(ErrorChain(&err)),
                "processing failed and the event could not be recorded"),
        }
    }

    async fn apply(
        &self,
        event: NewEvent,
        checked: CheckedNotification,
    ) -> Result<Applied, ServiceError> {
        let mut attempt = 1;
        loop {
            match self.storage.ledger.apply_notification(event.clone(), checked.clone()).await {
                Err(RepositoryError::Conflict) if attempt < CONFLICT_ATTEMPTS => attempt += 1,
                res => return Ok(res?),
            }
        }
    }
}

/// The jitter seed of a new event's first retry: when it was received.
fn seed_of(event: &NewEvent) -> u64 {
    event.received_at.timestamp_nanos_opt().map_or(0, i64::unsigned_abs)
}

/// A receipt with `outcome` that names nothing and credited nothing; fill in the rest.
pub(crate) const fn receipt(outcome: EventOutcome) -> Receipt {
    Receipt {
        event_id: 0,
        outcome,
        reference_id: None,
        payout_id: None,
        status: None,
        credited: Amount::ZERO,
        message: None,
    }
}
