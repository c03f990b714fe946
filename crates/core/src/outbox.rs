//! Forward: delivers the outbox of credits to the merchant's application, on a persisted
//! backoff schedule, and gives up (dead letter) after [`RetryPolicy::max_attempts`].

use std::sync::Arc;

use async_trait::async_trait;

use payram_domain::Escaped;
use payram_ports::{
    Clock, Crediting, ErrorChain, Outbox, OutboxEntry, OutboxId, OutboxState, OutboxUseCases,
    RepositoryError,
};

use crate::RetryPolicy;

/// How many due entries one step of the worker takes on.
const OUTBOX_BATCH: u32 = 100;

/// The outbox use cases on top of the outbox port, a forwarding crediting adapter and a clock.
pub struct OutboxService {
    outbox: Arc<dyn Outbox>,
    forwarder: Arc<dyn Crediting>,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
}

impl OutboxService {
    #[must_use]
    pub fn new(
        outbox: Arc<dyn Outbox>,
        forwarder: Arc<dyn Crediting>,
        clock: Arc<dyn Clock>,
        retry: RetryPolicy,
    ) -> Self {
        Self { outbox, forwarder, clock, retry }
    }

    /// One delivery attempt of `entry`, recorded.
    async fn attempt(&self, entry: &OutboxEntry) -> Result<(), RepositoryError> {
        match self.forwarder.credit(&entry.credit).await {
            Ok(()) => {
                tracing::info!(
                    outbox_id = entry.id,
                    credit_id = entry.credit.id,
                    attempt = entry.attempts + 1,
                    "credit forwarded"
                );
                self.outbox.delivered(entry.id, self.clock.now()).await
            }
            Err(err) => {
                let error = ErrorChain(&err).to_string();
                let attempts = entry.attempts.saturating_add(1);
                let seed = u64::try_from(entry.id).unwrap_or_default();
                let next = self.retry.next_attempt_at(self.clock.now(), attempts, seed);
                let state = if next.is_some() {
                    tracing::warn!(outbox_id = entry.id, credit_id = entry.credit.id, attempts,
                        error = %Escaped(&error), "forwarding a credit failed; it will be tried again");
                    OutboxState::Pending
                } else {
                    tracing::error!(outbox_id = entry.id, credit_id = entry.credit.id, attempts,
                        error = %Escaped(&error), "DEAD LETTER: forwarding a credit failed for the last time; \
                        replay it once the receiver is fixed");
                    OutboxState::Dead
                };
                self.outbox.failed(entry.id, state, error, next).await
            }
        }
    }
}

#[async_trait]
impl OutboxUseCases for OutboxService {
    async fn replay(&self, id: OutboxId) -> Result<Option<OutboxEntry>, RepositoryError> {
        let Some(entry) = self.outbox.find(id).await? else { return Ok(None) };
        // A replay is one more attempt; a dead entry that fails again stays dead.
        let entry = if entry.state == OutboxState::Dead {
            OutboxEntry { attempts: self.retry.max_attempts.max(entry.attempts), ..entry }
        } else {
            entry
        };
        self.attempt(&entry).await?;
        self.outbox.find(id).await
    }

    async fn deliver_due(&self) -> Result<usize, RepositoryError> {
        let due = self.outbox.claim_due(self.clock.now(), OUTBOX_BATCH).await?;
        for entry in &due {
            self.attempt(entry).await?;
        }
        Ok(due.len())
    }
}
