//! The [`ReconcileQueue`] port on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use payram_domain::PaymentStatus;
use payram_ports::{EventFilter, ReconcileCandidate, ReconcileQueue, RepositoryError};

use crate::{
    SqliteRepository,
    error::Failure,
    model::{format_timestamp, reconcile_candidate},
    schema::{events, payments},
};

#[async_trait]
impl ReconcileQueue for SqliteRepository {
    async fn quiet_payments(
        &self,
        statuses: Vec<PaymentStatus>,
        quiet_since: DateTime<Utc>,
        after: Option<ReconcileCandidate>,
        limit: u32,
    ) -> Result<Vec<ReconcileCandidate>, RepositoryError> {
        self.run(move |conn| {
            let names: Vec<&str> = statuses.iter().map(|status| status.as_str()).collect();
            // Every payment was created by an event, so the inner join loses none; the newest
            // event says when the payment was last heard of (a duplicate counts: PayRam just
            // confirmed the state).
            let last_event = diesel::dsl::max(events::received_at);
            let mut query = payments::table
                .inner_join(
                    events::table.on(events::reference_id.eq(payments::reference_id.nullable())),
                )
                .filter(payments::status.eq_any(names))
                .group_by((payments::reference_id, payments::status))
                .select((payments::reference_id, payments::status, last_event))
                .into_boxed();
            query = match after {
                // Keyset paging in the listing order: quieter first, then by reference.
                Some(after) => {
                    let at = format_timestamp(after.last_event_at);
                    let reference = after.reference_id.as_str().to_owned();
                    query.having(
                        last_event.le(format_timestamp(quiet_since)).and(
                            last_event
                                .gt(at.clone())
                                .or(last_event.eq(at).and(payments::reference_id.gt(reference))),
                        ),
                    )
                }
                None => query.having(last_event.le(format_timestamp(quiet_since))),
            };
            query
                .order((last_event.asc(), payments::reference_id.asc()))
                .limit(i64::from(limit.min(EventFilter::MAX_LIMIT)))
                .load::<(String, String, Option<String>)>(conn)?
                .into_iter()
                .map(|row| reconcile_candidate(row).map_err(|err| Failure::Corrupt(err.into())))
                .collect()
        })
        .await
    }
}
