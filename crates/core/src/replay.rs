//! Replay: stored bodies fed through the live path again, and the walks over failed events.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use payram_domain::EventOutcome;
use payram_ports::{Delivery, EventFilter, EventId, EventOrder, Origin, Receipt, ServiceError};

use crate::PaymentService;

/// How many due events one step of the retry worker takes on.
const RETRY_BATCH: u32 = 100;

/// The page size of the walks over the event log.
const PAGE: u32 = 500;

impl PaymentService {
    pub(crate) async fn replay_event(&self, id: EventId) -> Result<Option<Receipt>, ServiceError> {
        let Some(original) = self.storage.queries.event(id).await? else {
            return Ok(None);
        };
        if matches!(
            original.outcome,
            EventOutcome::Failed | EventOutcome::Dead | EventOutcome::Waiting
        ) {
            return self.retry_event(original).await.map(Some);
        }
        let content = self.parse_stored(&original).await?;
        let delivery = Delivery {
            origin: Origin::Replay(id),
            method: original.method,
            auth: original.auth,
            raw_body: original.raw_body,
            content,
        };
        self.receive_delivery(delivery).await.map(Some)
    }

    /// Replays every webhook event received at or after `since`, oldest first, up to the
    /// newest event recorded when the walk starts (so its own replays are never replayed).
    pub(crate) async fn replay_webhooks_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(EventId, Receipt)>, ServiceError> {
        let newest = EventFilter { limit: 1, ..EventFilter::default() };
        let Some(last) = self.storage.queries.events(newest).await?.first().map(|event| event.id)
        else {
            return Ok(Vec::new());
        };
        let mut replayed = Vec::new();
        let mut after = None;
        loop {
            let filter = EventFilter {
                since: Some(since),
                after,
                order: EventOrder::OldestFirst,
                limit: PAGE,
                ..EventFilter::default()
            };
            let page = self.storage.queries.events(filter).await?;
            let Some(tail) = page.last() else { break };
            after = Some(tail.id);
            for event in page {
                if event.id > last {
                    return Ok(replayed);
                }
                if event.origin != Origin::Webhook {
                    continue;
                }
                let receipt = self.replay_event(event.id).await?.ok_or_else(|| {
                    ServiceError::Repository(payram_ports::RepositoryError::Corrupt(
                        format!("event {} vanished during the replay", event.id).into(),
                    ))
                })?;
                replayed.push((event.id, receipt));
            }
        }
        Ok(replayed)
    }

    pub(crate) async fn retry_due_events(&self) -> Result<Vec<Receipt>, ServiceError> {
        let due = self.storage.schedule.claim_due(self.clock.now(), RETRY_BATCH).await?;
        let mut receipts = Vec::with_capacity(due.len());
        for event in due {
            receipts.push(self.retry_event(event).await?);
        }
        Ok(receipts)
    }

    /// Retries every failed, waiting and dead event once, each kind oldest first, page after
    /// page until none is left. An event that this very call moved to a later kind (failed,
    /// then dead) is not tried again.
    pub(crate) async fn retry_every_failed_event(&self) -> Result<Vec<Receipt>, ServiceError> {
        let mut receipts = Vec::new();
        let mut tried = HashSet::new();
        for outcome in [EventOutcome::Failed, EventOutcome::Waiting, EventOutcome::Dead] {
            let mut after = None;
            loop {
                let page = self.storage.schedule.with_outcome(outcome, after, PAGE).await?;
                let Some(tail) = page.last() else { break };
                after = Some(tail.id);
                for event in page {
                    if tried.insert(event.id) {
                        receipts.push(self.retry_event(event).await?);
                    }
                }
            }
        }
        Ok(receipts)
    }
}
