//! The [`RetrySchedule`] port on SQLite. One process claims due events by reading them: the
//! SQLite file has one `serve` at a time.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use payram_domain::{CheckedNotification, EventOutcome};
use payram_ports::{
    Applied, Attempt, EventFilter, EventId, EventRecord, RecordedCredit, RepositoryError,
    RetrySchedule,
};

use crate::{
    SqliteRepository,
    apply::{EventSlot, apply_notification},
    error::Failure,
    model::{CreditRow, EventRow, format_timestamp},
    schema::{credits, events},
};

#[async_trait]
impl RetrySchedule for SqliteRepository {
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<EventRecord>, RepositoryError> {
        self.run(move |conn| {
            events::table
                .filter(
                    events::outcome
                        .eq_any([EventOutcome::Failed.as_str(), EventOutcome::Waiting.as_str()]),
                )
                .filter(events::next_attempt_at.le(format_timestamp(now)))
                .order((events::next_attempt_at.asc(), events::id.asc()))
                .limit(i64::from(limit.min(EventFilter::MAX_LIMIT)))
                .select(EventRow::as_select())
                .load(conn)
                .map_err(Failure::from)
                .and_then(EventRow::into_records)
        })
        .await
    }

    async fn with_outcome(
        &self,
        outcome: EventOutcome,
        after: Option<EventId>,
        limit: u32,
    ) -> Result<Vec<EventRecord>, RepositoryError> {
        self.run(move |conn| {
            events::table
                .filter(events::outcome.eq(outcome.as_str()))
                .filter(events::id.gt(after.unwrap_or(0)))
                .order(events::id.asc())
                .limit(i64::from(limit.min(EventFilter::MAX_LIMIT)))
                .select(EventRow::as_select())
                .load(conn)
                .map_err(Failure::from)
                .and_then(EventRow::into_records)
        })
        .await
    }

    async fn retry_notification(
        &self,
        id: EventId,
        at: DateTime<Utc>,
        notification: CheckedNotification,
    ) -> Result<Applied, RepositoryError> {
        let outbox = self.outbox;
        self.write(move |conn| {
            apply_notification(conn, &EventSlot::Retry { id, at }, &notification, outbox)
        })
        .await
    }

    async fn record_attempt(&self, id: EventId, attempt: Attempt) -> Result<(), RepositoryError> {
        self.write(move |conn| {
            diesel::update(events::table.find(id))
                .set((
                    events::outcome.eq(attempt.outcome.as_str()),
                    events::detail.eq(Some(attempt.detail.as_str())),
                    events::attempts.eq(events::attempts + 1),
                    events::next_attempt_at.eq(attempt.next_attempt_at.map(format_timestamp)),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
    }

    async fn resolve(
        &self,
        id: EventId,
        outcome: EventOutcome,
        detail: Option<String>,
    ) -> Result<(), RepositoryError> {
        self.write(move |conn| {
            diesel::update(events::table.find(id))
                .set((
                    events::outcome.eq(outcome.as_str()),
                    events::detail.eq(detail.as_deref()),
                    events::next_attempt_at.eq(None::<String>),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
    }

    async fn credits_of_event(&self, id: EventId) -> Result<Vec<RecordedCredit>, RepositoryError> {
        self.run(move |conn| {
            credits::table
                .filter(credits::event_id.eq(id))
                .order(credits::id.asc())
                .select(CreditRow::as_select())
                .load(conn)?
                .into_iter()
                .map(|row| row.into_recorded().map_err(|err| Failure::Corrupt(err.into())))
                .collect()
        })
        .await
    }
}
