//! The [`Ledger`] port on SQLite: each command is one `BEGIN IMMEDIATE` transaction.

use async_trait::async_trait;
use diesel::prelude::*;

use payram_domain::{CheckedNotification, EventOutcome, PayoutNotification, ReferenceId};
use payram_ports::{
    Applied, EventId, EventNote, Ledger, NewEvent, RecordedPayout, RepositoryError,
};

use crate::{
    SqliteRepository,
    apply::{EventFacts, EventSlot, apply_notification, insert_event},
    model::NewPayoutRow,
    schema::payouts,
};

#[async_trait]
impl Ledger for SqliteRepository {
    async fn apply_notification(
        &self,
        event: NewEvent,
        notification: CheckedNotification,
    ) -> Result<Applied, RepositoryError> {
        let outbox = self.outbox;
        self.write(move |conn| {
            apply_notification(conn, &EventSlot::New(&event), &notification, outbox)
        })
        .await
    }

    async fn record_payout(
        &self,
        event: NewEvent,
        payout: PayoutNotification,
    ) -> Result<RecordedPayout, RepositoryError> {
        self.write(move |conn| {
            let event_id = insert_event(
                conn,
                &event,
                EventFacts {
                    payout_id: Some(&payout.payout_id),
                    status: Some(&payout.status),
                    ..EventFacts::new(EventOutcome::Payout)
                },
            )?;
            let inserted = diesel::insert_into(payouts::table)
                .values(NewPayoutRow {
                    payout_id: &payout.payout_id,
                    status: &payout.status,
                    first_event_id: event_id,
                })
                .on_conflict_do_nothing()
                .execute(conn)?;
            Ok(RecordedPayout { event_id, first_seen: inserted > 0 })
        })
        .await
    }

    async fn record_event(
        &self,
        event: NewEvent,
        note: EventNote,
    ) -> Result<EventId, RepositoryError> {
        self.write(move |conn| {
            insert_event(
                conn,
                &event,
                EventFacts {
                    reference_id: note.reference_id.as_ref().map(ReferenceId::as_str),
                    status: note.status.as_deref(),
                    detail: note.detail.as_deref(),
                    next_attempt_at: note.next_attempt_at,
                    ..EventFacts::new(note.outcome)
                },
            )
        })
        .await
    }
}
