//! Retry: one more attempt at a recorded event, in place, until it succeeds or is dead.

use payram_domain::{Amount, Escaped, EventOutcome, Inbound, ReferenceId};
use payram_ports::{
    Attempt, ErrorChain, EventId, EventRecord, Origin, Receipt, RecordedCredit, Rejection,
    ServiceError,
};

use crate::PaymentService;

/// The longest chain of replays followed back to find the format of a stored body.
const MAX_REPLAY_CHAIN: usize = 16;

/// What one more attempt at a recorded event came to.
enum Tried {
    /// Processed, with its outcome and what it credited.
    Done(EventOutcome, Amount),
    /// Failed again, for this reason.
    Failed(String),
    /// PayRam's API did not confirm it yet, for this reason.
    Unconfirmed(String),
}

impl PaymentService {
    /// One more attempt at a failed, waiting (or dead) event, in place.
    pub(crate) async fn retry_event(&self, event: EventRecord) -> Result<Receipt, ServiceError> {
        let credits = self.storage.schedule.credits_of_event(event.id).await?;
        let tried = if credits.is_empty() {
            self.reapply(&event).await?
        } else {
            // Applied and credited before; only handing the credits over failed.
            match self.hand_over(&credits).await {
                Ok(()) => {
                    self.storage.schedule.resolve(event.id, EventOutcome::Applied, None).await?;
                    Tried::Done(EventOutcome::Applied, Amount::ZERO)
                }
                Err(error) => Tried::Failed(error),
            }
        };
        let (outcome, credited, message) = match tried {
            Tried::Done(outcome, credited) => (outcome, credited, None),
            Tried::Failed(error) => {
                let outcome = self.count_failure(event.id, event.attempts, error.clone()).await?;
                (outcome, Amount::ZERO, Some(error))
            }
            Tried::Unconfirmed(reason) => {
                let outcome = self.postpone(event.id, event.attempts, reason.clone()).await?;
                (outcome, Amount::ZERO, Some(reason))
            }
        };
        tracing::info!(event_id = event.id, %outcome, credited_usd = %credited, "event retried");
        Ok(Receipt {
            event_id: event.id,
            outcome,
            reference_id: event.reference_id.as_deref().and_then(|r| ReferenceId::parse(r).ok()),
            payout_id: event.payout_id,
            status: event.status,
            credited,
            message,
        })
    }

    /// Counts a failed attempt of a recorded event: failed with the next attempt scheduled, or
    /// dead when none is left. Returns the outcome it now has.
    pub(crate) async fn count_failure(
        &self,
        id: EventId,
        failed_before: u32,
        error: String,
    ) -> Result<EventOutcome, ServiceError> {
        let failed = failed_before.saturating_add(1);
        let next = self.next_attempt_at(failed, id.unsigned_abs());
        let outcome = if next.is_some() { EventOutcome::Failed } else { EventOutcome::Dead };
        let attempt = Attempt { outcome, detail: error.clone(), next_attempt_at: next };
        self.storage.schedule.record_attempt(id, attempt).await?;
        if next.is_none() {
            tracing::error!(event_id = id, attempts = failed, error = %Escaped(&error),
                "DEAD LETTER: event failed on every attempt and will not be retried; \
                 fix the cause, then `payram-merchant events replay --failed`");
        }
        Ok(outcome)
    }

    /// Counts one more unconfirmed attempt: waiting until the next one, or dead when none is
    /// left. Returns the outcome it now has.
    async fn postpone(
        &self,
        id: EventId,
        tried_before: u32,
        reason: String,
    ) -> Result<EventOutcome, ServiceError> {
        let tried = tried_before.saturating_add(1);
        let next = self.next_attempt_at(tried, id.unsigned_abs());
        let outcome = if next.is_some() { EventOutcome::Waiting } else { EventOutcome::Dead };
        let attempt = Attempt { outcome, detail: reason.clone(), next_attempt_at: next };
        self.storage.schedule.record_attempt(id, attempt).await?;
        if next.is_none() {
            tracing::error!(event_id = id, attempts = tried, reason = %Escaped(&reason),
                "DEAD LETTER: PayRam never confirmed this credit and it will not be asked again; \
                 check the payment in PayRam, then `payram-merchant events replay --failed`");
        }
        Ok(outcome)
    }

    /// Applies a failed event's stored body again, updating it in place. The outer error is
    /// storage failing to record anything; the inner one is why this attempt failed.
    async fn reapply(&self, event: &EventRecord) -> Result<Tried, ServiceError> {
        let Ok(Inbound::Payment(notification)) = self.parse_stored(event).await? else {
            return Ok(Tried::Failed("the stored body is not a payment notification".to_owned()));
        };
        let checked = match self.policy.check(notification) {
            Ok(checked) => checked,
            Err(invalid) => {
                self.storage
                    .schedule
                    .resolve(event.id, EventOutcome::InvalidPayload, Some(invalid.to_string()))
                    .await?;
                return Ok(Tried::Done(EventOutcome::InvalidPayload, Amount::ZERO));
            }
        };
        if let Err(reason) = self.confirmation(event.origin, &checked).await {
            return Ok(Tried::Unconfirmed(reason));
        }
        let retried =
            self.storage.schedule.retry_notification(event.id, self.clock.now(), checked).await;
        let applied = match retried {
            Ok(applied) => applied,
            Err(err) => return Ok(Tried::Failed(ErrorChain(&err).to_string())),
        };
        let credited = applied.credit.as_ref().map_or(Amount::ZERO, |credit| credit.amount_usd);
        if let Some(credit) = &applied.credit
            && let Err(error) = self.hand_over(std::slice::from_ref(credit)).await
        {
            return Ok(Tried::Failed(error));
        }
        Ok(Tried::Done(applied.outcome.into(), credited))
    }

    /// Reads a stored raw body in the format it arrived in: a reconciliation event holds an
    /// answer of PayRam's lookup API, a webhook event a webhook body, and a replay holds the
    /// body of the event it replayed.
    pub(crate) async fn parse_stored(
        &self,
        event: &EventRecord,
    ) -> Result<Result<Inbound, Rejection>, ServiceError> {
        let mut origin = event.origin;
        // Replays of replays form a chain back to the first event; bounded in case stored
        // rows point at each other.
        for _ in 0..MAX_REPLAY_CHAIN {
            match origin {
                Origin::Webhook => break,
                Origin::Reconciliation => {
                    return Ok(self.parser.parse_lookup(&event.raw_body).map(Inbound::Payment));
                }
                Origin::Replay(of) => match self.storage.queries.event(of).await? {
                    Some(replayed) => origin = replayed.origin,
                    None => break,
                },
            }
        }
        Ok(self.parser.parse(&event.raw_body))
    }

    /// Hands committed credits to the crediting adapter.
    async fn hand_over(&self, credits: &[RecordedCredit]) -> Result<(), String> {
        for credit in credits {
            self.crediting
                .credit(credit)
                .await
                .map_err(|err| format!("crediting: {}", ErrorChain(&err)))?;
        }
        Ok(())
    }
}
