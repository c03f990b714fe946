//! The [`Outbox`] port on SQLite, and the query that loads entries with their credits.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use payram_ports::{EventFilter, Outbox, OutboxEntry, OutboxId, OutboxState, RepositoryError};

use crate::{
    SqliteRepository,
    error::Failure,
    model::{CreditRow, OutboxRow, format_timestamp},
    schema::{credits, outbox},
};

#[async_trait]
impl Outbox for SqliteRepository {
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, RepositoryError> {
        let query = OutboxQuery {
            state: Some(OutboxState::Pending),
            due_at: Some(format_timestamp(now)),
            limit,
            ..OutboxQuery::default()
        };
        self.run(move |conn| query.load(conn)).await
    }

    async fn find(&self, id: OutboxId) -> Result<Option<OutboxEntry>, RepositoryError> {
        let query = OutboxQuery { id: Some(id), limit: 1, ..OutboxQuery::default() };
        self.run(move |conn| Ok(query.load(conn)?.pop())).await
    }

    async fn delivered(&self, id: OutboxId, at: DateTime<Utc>) -> Result<(), RepositoryError> {
        self.write(move |conn| {
            diesel::update(outbox::table.find(id))
                .set((
                    outbox::state.eq(OutboxState::Delivered.as_str()),
                    outbox::attempts.eq(outbox::attempts + 1),
                    outbox::next_attempt_at.eq(None::<String>),
                    outbox::last_error.eq(None::<String>),
                    outbox::delivered_at.eq(Some(format_timestamp(at))),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
    }

    async fn failed(
        &self,
        id: OutboxId,
        state: OutboxState,
        error: String,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<(), RepositoryError> {
        self.write(move |conn| {
            diesel::update(outbox::table.find(id))
                .set((
                    outbox::state.eq(state.as_str()),
                    outbox::attempts.eq(outbox::attempts + 1),
                    outbox::next_attempt_at.eq(next_attempt_at.map(format_timestamp)),
                    outbox::last_error.eq(Some(error.as_str())),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
    }
}

/// Which outbox entries to load, with their credits: due ones oldest due first, else newest
/// first.
#[derive(Default)]
pub(crate) struct OutboxQuery {
    pub(crate) id: Option<OutboxId>,
    pub(crate) state: Option<OutboxState>,
    /// Only entries due at this stored timestamp.
    pub(crate) due_at: Option<String>,
    pub(crate) limit: u32,
}

impl OutboxQuery {
    pub(crate) fn load(self, conn: &mut SqliteConnection) -> Result<Vec<OutboxEntry>, Failure> {
        let mut query = outbox::table
            .inner_join(credits::table)
            .select((OutboxRow::as_select(), CreditRow::as_select()))
            .limit(i64::from(self.limit.min(EventFilter::MAX_LIMIT)))
            .into_boxed();
        if let Some(id) = self.id {
            query = query.filter(outbox::id.eq(id));
        }
        if let Some(state) = self.state {
            query = query.filter(outbox::state.eq(state.as_str()));
        }
        query = match self.due_at {
            Some(due_at) => query
                .filter(outbox::next_attempt_at.le(due_at))
                .order((outbox::next_attempt_at.asc(), outbox::id.asc())),
            None => query.order(outbox::id.desc()),
        };
        query
            .load::<(OutboxRow, CreditRow)>(conn)?
            .into_iter()
            .map(|(row, credit)| row.into_entry(credit).map_err(|err| Failure::Corrupt(err.into())))
            .collect()
    }
}
