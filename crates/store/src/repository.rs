//! [`SqliteRepository`]: the payment repository port on SQLite.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    r2d2::{ConnectionManager, Pool},
};

use payram_domain::{
    Amount, CheckedNotification, CustomerId, EventOutcome, Outcome, Payment, PaymentStatus,
    PayoutNotification, ReferenceId,
};
use payram_ports::{
    Applied, CreditFilter, CustomerBalance, CustomerView, EventFilter, EventId, EventRecord,
    KeyUse, NewEvent, Origin, OutboxEntry, OutboxId, OutboxRepository, OutboxState, PaymentFilter,
    PaymentItem, PaymentRepository, PaymentView, ReconcileCandidate, RecordedCredit,
    RecordedPayout, RepositoryError, Stats,
};

use crate::{
    error::{BadColumn, Failure},
    model::{
        CreditEntryRow, CreditRow, EventRow, EventSummaryRow, NewCreditRow, NewEventRow,
        NewPayoutRow, OutboxRow, PaymentChanges, PaymentRow, format_timestamp, reconcile_candidate,
        stored_amount, stored_precision, stored_timestamp, stored_timestamp_of,
    },
    schema::{credits, events, outbox, payments, payouts},
};

type SqlitePool = Pool<ConnectionManager<SqliteConnection>>;

/// The payments, their event log and the credit ledger in one SQLite file. Cheap to clone:
/// clones share the pool.
#[derive(Clone)]
pub struct SqliteRepository {
    pool: SqlitePool,
    /// Whether each credit gets an outbox entry, in its transaction, for forwarding.
    outbox: bool,
}

impl fmt::Debug for SqliteRepository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.pool.state();
        f.debug_struct("SqliteRepository")
            .field("connections", &state.connections)
            .field("idle_connections", &state.idle_connections)
            .field("outbox", &self.outbox)
            .finish()
    }
}

impl SqliteRepository {
    pub(crate) const fn new(pool: SqlitePool, outbox: bool) -> Self {
        Self { pool, outbox }
    }

    /// Runs `work` with a pooled connection on a blocking thread, in the caller's span. The
    /// connection goes back to the pool before this returns: none is held across an await.
    async fn run<T, F>(&self, work: F) -> Result<T, RepositoryError>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> Result<T, Failure> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        let res = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = pool.get().map_err(|err| Failure::Unavailable(Box::new(err)))?;
            work(&mut conn)
        })
        .await
        .map_err(|err| Failure::Unavailable(Box::new(err)))
        .and_then(|res| res);
        res.map_err(|failure| {
            let err = RepositoryError::from(failure);
            tracing::debug!(error = %err, "sqlite repository operation failed");
            err
        })
    }

    /// [`Self::run`] inside one `BEGIN IMMEDIATE` transaction: the write lock is taken before
    /// the first read, so read-modify-write cycles never interleave, and any error rolls the
    /// whole transaction back.
    async fn write<T, F>(&self, work: F) -> Result<T, RepositoryError>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> Result<T, Failure> + Send + 'static,
    {
        self.run(move |conn| conn.immediate_transaction(work)).await
    }
}

#[async_trait]
impl PaymentRepository for SqliteRepository {
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
        outcome: EventOutcome,
        reference_id: Option<ReferenceId>,
        detail: Option<String>,
    ) -> Result<EventId, RepositoryError> {
        self.write(move |conn| {
            insert_event(
                conn,
                &event,
                EventFacts {
                    reference_id: reference_id.as_ref().map(ReferenceId::as_str),
                    detail: detail.as_deref(),
                    ..EventFacts::new(outcome)
                },
            )
        })
        .await
    }

    async fn find_payment(
        &self,
        reference_id: &ReferenceId,
    ) -> Result<Option<PaymentView>, RepositoryError> {
        let reference_id = reference_id.clone();
        self.run(move |conn| {
            // One read transaction: the payment and its events come from the same snapshot.
            conn.transaction(|conn| {
                let Some(row) = payments::table
                    .find(reference_id.as_str())
                    .select(PaymentRow::as_select())
                    .first(conn)
                    .optional()?
                else {
                    return Ok(None);
                };
                let payment = row.into_payment().map_err(|err| Failure::Corrupt(err.into()))?;
                let events = events::table
                    .filter(events::reference_id.eq(reference_id.as_str()))
                    .order(events::id.asc())
                    .select(EventSummaryRow::as_select())
                    .load(conn)?
                    .into_iter()
                    .map(EventSummaryRow::into_summary)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|err| Failure::Corrupt(err.into()))?;
                Ok(Some(PaymentView { payment, events }))
            })
        })
        .await
    }

    async fn customer(&self, customer_id: &CustomerId) -> Result<CustomerView, RepositoryError> {
        let customer_id = customer_id.clone();
        self.run(move |conn| {
            let credits = credits::table
                .filter(credits::customer_id.eq(customer_id.as_str()))
                .order(credits::id.asc())
                .select(CreditEntryRow::as_select())
                .load(conn)?
                .into_iter()
                .map(CreditEntryRow::into_entry)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|err| Failure::Corrupt(err.into()))?;
            // Summed exactly here: SQLite's SUM would go through floating point.
            let balance_usd = credits
                .iter()
                .try_fold(Amount::ZERO, |sum, credit| sum.checked_add(credit.amount_usd))
                .ok_or_else(|| {
                    Failure::Corrupt(format!("balance of customer {customer_id} overflows").into())
                })?;
            Ok(CustomerView { customer_id, balance_usd, credits })
        })
        .await
    }

    async fn list_events(&self, filter: EventFilter) -> Result<Vec<EventRecord>, RepositoryError> {
        self.run(move |conn| {
            let mut query = events::table.select(EventRow::as_select()).into_boxed();
            if let Some(outcome) = filter.outcome {
                query = query.filter(events::outcome.eq(outcome.as_str()));
            }
            if let Some(reference_id) = filter.reference_id {
                query = query.filter(events::reference_id.eq(reference_id));
            }
            if let Some(since) = filter.since {
                query = query.filter(events::received_at.ge(format_timestamp(since)));
            }
            if let Some(before) = filter.before {
                query = query.filter(events::id.lt(before));
            }
            let limit = i64::from(filter.limit.min(EventFilter::MAX_LIMIT));
            query
                .order(events::id.desc())
                .limit(limit)
                .load(conn)?
                .into_iter()
                .map(|row| row.into_record().map_err(|err| Failure::Corrupt(err.into())))
                .collect()
        })
        .await
    }

    async fn find_event(&self, id: EventId) -> Result<Option<EventRecord>, RepositoryError> {
        self.run(move |conn| {
            events::table
                .find(id)
                .select(EventRow::as_select())
                .first(conn)
                .optional()?
                .map(|row| row.into_record().map_err(|err| Failure::Corrupt(err.into())))
                .transpose()
        })
        .await
    }

    async fn record_failure(
        &self,
        event: NewEvent,
        reference_id: Option<ReferenceId>,
        status: Option<String>,
        error: String,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<EventId, RepositoryError> {
        self.write(move |conn| {
            let facts = EventFacts {
                reference_id: reference_id.as_ref().map(ReferenceId::as_str),
                status: status.as_deref(),
                detail: Some(&error),
                ..EventFacts::new(EventOutcome::Failed)
            };
            insert_scheduled(conn, &event, facts, next_attempt_at)
        })
        .await
    }

    async fn record_waiting(
        &self,
        event: NewEvent,
        reference_id: ReferenceId,
        status: String,
        reason: String,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<EventId, RepositoryError> {
        self.write(move |conn| {
            let facts = EventFacts {
                reference_id: Some(reference_id.as_str()),
                status: Some(&status),
                detail: Some(&reason),
                ..EventFacts::new(EventOutcome::Waiting)
            };
            insert_scheduled(conn, &event, facts, next_attempt_at)
        })
        .await
    }

    async fn postpone(
        &self,
        id: EventId,
        reason: String,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<(), RepositoryError> {
        self.write(move |conn| {
            count_attempt(conn, id, EventOutcome::Waiting, reason, next_attempt_at)
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

    async fn reschedule(
        &self,
        id: EventId,
        error: String,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<(), RepositoryError> {
        self.write(move |conn| {
            count_attempt(conn, id, EventOutcome::Failed, error, next_attempt_at)
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
                    events::detail.eq(detail),
                    events::next_attempt_at.eq(None::<String>),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
    }

    async fn due_events(
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
                .load(conn)?
                .into_iter()
                .map(|row| row.into_record().map_err(|err| Failure::Corrupt(err.into())))
                .collect()
        })
        .await
    }

    async fn stats(&self) -> Result<Stats, RepositoryError> {
        self.run(move |conn| {
            let corrupt = |err: BadColumn| Failure::Corrupt(err.into());
            let amounts: Vec<(i64, String)> =
                credits::table.select((credits::id, credits::amount_usd)).load(conn)?;
            let mut credited_usd = Amount::ZERO;
            for (id, text) in &amounts {
                let amount = stored_amount("credits", "amount_usd", *id, text).map_err(corrupt)?;
                credited_usd = credited_usd
                    .checked_add(amount)
                    .ok_or_else(|| Failure::Corrupt("the sum of all credits overflows".into()))?;
            }
            let count_events = |conn: &mut SqliteConnection, outcome: EventOutcome| {
                events::table
                    .filter(events::outcome.eq(outcome.as_str()))
                    .count()
                    .get_result::<i64>(conn)
            };
            let count_outbox = |conn: &mut SqliteConnection, state: OutboxState| {
                outbox::table
                    .filter(outbox::state.eq(state.as_str()))
                    .count()
                    .get_result::<i64>(conn)
            };
            let failed_events = count_events(conn, EventOutcome::Failed)?;
            let dead_events = count_events(conn, EventOutcome::Dead)?;
            let outbox_pending = count_outbox(conn, OutboxState::Pending)?;
            let outbox_dead = count_outbox(conn, OutboxState::Dead)?;
            let corrections: i64 = events::table
                .filter(events::origin.eq(Origin::Reconciliation.as_str()))
                .filter(events::outcome.eq(EventOutcome::Applied.as_str()))
                .count()
                .get_result(conn)?;
            let oldest: Option<String> = outbox::table
                .filter(outbox::state.eq(OutboxState::Pending.as_str()))
                .select(diesel::dsl::min(outbox::created_at))
                .first(conn)?;
            let oldest_pending_outbox = oldest
                .map(|text| stored_timestamp("outbox", "created_at", 0, &text))
                .transpose()
                .map_err(corrupt)?;
            let count = |n: i64| u64::try_from(n).unwrap_or_default();
            Ok(Stats {
                credits: count(i64::try_from(amounts.len()).unwrap_or(i64::MAX)),
                credited_usd,
                failed_events: count(failed_events),
                dead_events: count(dead_events),
                outbox_pending: count(outbox_pending),
                outbox_dead: count(outbox_dead),
                oldest_pending_outbox,
                reconciliation_corrections: count(corrections),
            })
        })
        .await
    }

    async fn payments_to_reconcile(
        &self,
        statuses: Vec<PaymentStatus>,
        quiet_since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ReconcileCandidate>, RepositoryError> {
        self.run(move |conn| {
            let names: Vec<&str> = statuses.iter().map(|status| status.as_str()).collect();
            // Every payment was created by an event, so the inner join loses none; the newest
            // event says when the payment was last heard of (a duplicate counts: PayRam just
            // confirmed the state).
            let last_event = diesel::dsl::max(events::received_at);
            payments::table
                .inner_join(
                    events::table.on(events::reference_id.eq(payments::reference_id.nullable())),
                )
                .filter(payments::status.eq_any(names))
                .group_by((payments::reference_id, payments::status))
                .having(last_event.le(format_timestamp(quiet_since)))
                .order((last_event.asc(), payments::reference_id.asc()))
                .limit(i64::from(limit.min(EventFilter::MAX_LIMIT)))
                .select((payments::reference_id, payments::status, last_event))
                .load::<(String, String, Option<String>)>(conn)?
                .into_iter()
                .map(|row| reconcile_candidate(row).map_err(|err| Failure::Corrupt(err.into())))
                .collect()
        })
        .await
    }

    async fn list_payments(
        &self,
        filter: PaymentFilter,
    ) -> Result<Vec<PaymentItem>, RepositoryError> {
        self.run(move |conn| {
            let mut query = payments::table
                .select((PaymentRow::as_select(), payments::created_at, payments::updated_at))
                .into_boxed();
            if let Some(status) = filter.status {
                query = query.filter(payments::status.eq(status.as_str()));
            }
            if let Some(customer_id) = filter.customer_id {
                query = query.filter(payments::customer_id.eq(customer_id));
            }
            if let Some(since) = filter.since {
                query = query.filter(payments::created_at.ge(format_timestamp(since)));
            }
            if let Some(after) = filter.after {
                let created_at = format_timestamp(after.created_at);
                query = query.filter(
                    payments::created_at.lt(created_at.clone()).or(payments::created_at
                        .eq(created_at)
                        .and(payments::reference_id.lt(after.reference_id))),
                );
            }
            query
                .order((payments::created_at.desc(), payments::reference_id.desc()))
                .limit(i64::from(filter.limit.min(EventFilter::MAX_LIMIT)))
                .load::<(PaymentRow, String, String)>(conn)?
                .into_iter()
                .map(|(row, created_at, updated_at)| {
                    let key = row.key();
                    let created_at =
                        stored_timestamp_of("payments", "created_at", &key, &created_at);
                    let updated_at =
                        stored_timestamp_of("payments", "updated_at", &key, &updated_at);
                    Ok(PaymentItem {
                        payment: row.into_payment().map_err(|err| Failure::Corrupt(err.into()))?,
                        created_at: created_at.map_err(|err| Failure::Corrupt(err.into()))?,
                        updated_at: updated_at.map_err(|err| Failure::Corrupt(err.into()))?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn list_customers(
        &self,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<CustomerBalance>, RepositoryError> {
        self.run(move |conn| {
            let mut query = payments::table
                .filter(payments::customer_id.is_not_null())
                .group_by(payments::customer_id)
                .select((payments::customer_id, diesel::dsl::count_star()))
                .into_boxed();
            if let Some(after) = after {
                query = query.filter(payments::customer_id.gt(after));
            }
            let customers: Vec<(Option<String>, i64)> = query
                .order(payments::customer_id.asc())
                .limit(i64::from(limit.min(EventFilter::MAX_LIMIT)))
                .load(conn)?;
            let ids: Vec<String> = customers.iter().filter_map(|(id, _)| id.clone()).collect();
            let credits: Vec<(i64, String, String)> = credits::table
                .filter(credits::customer_id.eq_any(&ids))
                .select((credits::id, credits::customer_id, credits::amount_usd))
                .load(conn)?;
            customers
                .into_iter()
                .filter_map(|(id, payments)| id.map(|id| (id, payments)))
                .map(|(id, payments)| {
                    let mut balance_usd = Amount::ZERO;
                    let mut count = 0;
                    for (credit_id, _, text) in credits.iter().filter(|(_, c, _)| *c == id) {
                        let amount = stored_amount("credits", "amount_usd", *credit_id, text)
                            .map_err(|err| Failure::Corrupt(err.into()))?;
                        balance_usd = balance_usd.checked_add(amount).ok_or_else(|| {
                            Failure::Corrupt(format!("the balance of {id} overflows").into())
                        })?;
                        count += 1;
                    }
                    Ok(CustomerBalance {
                        customer_id: CustomerId::parse(&id)
                            .map_err(|err| Failure::Corrupt(Box::new(err)))?,
                        balance_usd,
                        credits: count,
                        payments: u64::try_from(payments).unwrap_or_default(),
                    })
                })
                .collect()
        })
        .await
    }

    async fn list_credits(
        &self,
        filter: CreditFilter,
    ) -> Result<Vec<RecordedCredit>, RepositoryError> {
        self.run(move |conn| {
            let mut query = credits::table.select(CreditRow::as_select()).into_boxed();
            if let Some(since) = filter.since {
                query = query.filter(credits::created_at.ge(format_timestamp(since)));
            }
            if let Some(before) = filter.before {
                query = query.filter(credits::id.lt(before));
            }
            query
                .order(credits::id.desc())
                .limit(i64::from(filter.limit.min(EventFilter::MAX_LIMIT)))
                .load(conn)?
                .into_iter()
                .map(|row| row.into_recorded().map_err(|err| Failure::Corrupt(err.into())))
                .collect()
        })
        .await
    }

    async fn key_usage(&self) -> Result<Vec<KeyUse>, RepositoryError> {
        self.run(move |conn| {
            let rows: Vec<(i64, i64, Option<String>)> = events::table
                .filter(events::origin.eq(Origin::Webhook.as_str()))
                .group_by(events::key_index)
                .select((
                    events::key_index,
                    diesel::dsl::count_star(),
                    diesel::dsl::max(events::received_at),
                ))
                .order(events::key_index.asc())
                .load(conn)?;
            rows.into_iter()
                .filter_map(|(index, count, last)| last.map(|last| (index, count, last)))
                .map(|(index, count, last)| {
                    Ok(KeyUse {
                        key_index: usize::try_from(index)
                            .map_err(|err| Failure::Corrupt(Box::new(err)))?,
                        deliveries: u64::try_from(count).unwrap_or_default(),
                        last_used_at: stored_timestamp("events", "received_at", index, &last)
                            .map_err(|err| Failure::Corrupt(err.into()))?,
                    })
                })
                .collect()
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

#[async_trait]
impl OutboxRepository for SqliteRepository {
    async fn due_outbox(
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

    async fn outbox_delivered(
        &self,
        id: OutboxId,
        at: DateTime<Utc>,
    ) -> Result<(), RepositoryError> {
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

    async fn outbox_failed(
        &self,
        id: OutboxId,
        error: String,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<(), RepositoryError> {
        self.write(move |conn| {
            let state =
                if next_attempt_at.is_some() { OutboxState::Pending } else { OutboxState::Dead };
            diesel::update(outbox::table.find(id))
                .set((
                    outbox::state.eq(state.as_str()),
                    outbox::attempts.eq(outbox::attempts + 1),
                    outbox::next_attempt_at.eq(next_attempt_at.map(format_timestamp)),
                    outbox::last_error.eq(Some(error)),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
    }

    async fn list_outbox(
        &self,
        state: Option<OutboxState>,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, RepositoryError> {
        let query = OutboxQuery { state, limit, ..OutboxQuery::default() };
        self.run(move |conn| query.load(conn)).await
    }

    async fn find_outbox(&self, id: OutboxId) -> Result<Option<OutboxEntry>, RepositoryError> {
        let query = OutboxQuery { id: Some(id), limit: 1, ..OutboxQuery::default() };
        self.run(move |conn| Ok(query.load(conn)?.pop())).await
    }
}

/// Which outbox entries to load, with their credits: due ones oldest due first, else newest
/// first.
#[derive(Default)]
struct OutboxQuery {
    id: Option<OutboxId>,
    state: Option<OutboxState>,
    /// Only entries due at this stored timestamp.
    due_at: Option<String>,
    limit: u32,
}

impl OutboxQuery {
    fn load(self, conn: &mut SqliteConnection) -> Result<Vec<OutboxEntry>, Failure> {
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

/// Inserts an event to be tried again at `next_attempt_at` (failed or waiting), one attempt
/// made.
fn insert_scheduled(
    conn: &mut SqliteConnection,
    event: &NewEvent,
    facts: EventFacts<'_>,
    next_attempt_at: DateTime<Utc>,
) -> Result<EventId, Failure> {
    let id = insert_event(conn, event, facts)?;
    diesel::update(events::table.find(id))
        .set((
            events::attempts.eq(1),
            events::next_attempt_at.eq(Some(format_timestamp(next_attempt_at))),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Counts one more attempt of an event: `outcome` (failed or waiting) until
/// `next_attempt_at`, or dead when there is none.
fn count_attempt(
    conn: &mut SqliteConnection,
    id: EventId,
    outcome: EventOutcome,
    detail: String,
    next_attempt_at: Option<DateTime<Utc>>,
) -> Result<(), Failure> {
    let outcome = if next_attempt_at.is_some() { outcome } else { EventOutcome::Dead };
    diesel::update(events::table.find(id))
        .set((
            events::outcome.eq(outcome.as_str()),
            events::detail.eq(Some(detail)),
            events::attempts.eq(events::attempts + 1),
            events::next_attempt_at.eq(next_attempt_at.map(format_timestamp)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Loads the payment, decides, and writes the event, the payment and the credit it owes.
/// Runs inside the caller's immediate transaction.
/// Where the event of an application is written: a new row, or a failed event retried in place.
enum EventSlot<'a> {
    New(&'a NewEvent),
    Retry { id: EventId, at: DateTime<Utc> },
}

fn apply_notification(
    conn: &mut SqliteConnection,
    slot: &EventSlot<'_>,
    checked: &CheckedNotification,
    outbox: bool,
) -> Result<Applied, Failure> {
    let notification = checked.notification();
    let reference_id = notification.reference_id.as_str();
    let current = payments::table
        .find(reference_id)
        .select(PaymentRow::as_select())
        .first(conn)
        .optional()?
        .map(PaymentRow::into_payment)
        .transpose()
        .map_err(|err| Failure::Corrupt(err.into()))?;
    let decision = checked.decide(current.as_ref());

    let facts = EventFacts {
        reference_id: Some(reference_id),
        status: Some(notification.status.as_str()),
        credited_usd: decision.credited(),
        ..EventFacts::new(event_outcome(decision.outcome))
    };
    let (event_id, at) = match slot {
        EventSlot::New(event) => (insert_event(conn, event, facts)?, event.received_at),
        EventSlot::Retry { id, at } => {
            let updated = diesel::update(events::table.find(id))
                .set((
                    events::outcome.eq(facts.outcome.as_str()),
                    events::reference_id.eq(facts.reference_id),
                    events::status.eq(facts.status),
                    events::credited_usd.eq(facts.credited_usd.to_string()),
                    events::detail.eq(None::<String>),
                    events::next_attempt_at.eq(None::<String>),
                ))
                .execute(conn)?;
            if updated != 1 {
                return Err(Failure::Corrupt(format!("retried event {id} does not exist").into()));
            }
            (*id, *at)
        }
    };

    // Every row of this transaction carries the delivery's (or the retry's) time.
    let now = stored_precision(at);
    let now_text = format_timestamp(now);
    if let Some(payment) = &decision.payment {
        let changes = PaymentChanges::new(payment.record(), now_text.clone());
        if current.is_some() {
            let updated =
                diesel::update(payments::table.find(reference_id)).set(&changes).execute(conn)?;
            if updated != 1 {
                return Err(Failure::Conflict);
            }
        } else {
            // A concurrent insert of the same payment fails here with a unique violation.
            diesel::insert_into(payments::table)
                .values((
                    payments::reference_id.eq(reference_id),
                    payments::created_at.eq(&now_text),
                    &changes,
                ))
                .execute(conn)?;
        }
    }

    let credit = match decision.credit {
        None => None,
        Some(credit) => {
            let status = decision.payment.as_ref().map(Payment::status).ok_or_else(|| {
                Failure::Corrupt(format!("a credit of {reference_id} without a payment").into())
            })?;
            // UNIQUE (reference_id, seq): a second writer of this credit fails here.
            let id = diesel::insert_into(credits::table)
                .values(NewCreditRow {
                    reference_id,
                    seq: i64::from(credit.seq),
                    customer_id: credit.customer_id.as_str(),
                    amount_usd: credit.amount.to_string(),
                    credited_total_usd: credit.credited_total.to_string(),
                    event_id,
                    created_at: &now_text,
                    status: status.as_str(),
                })
                .returning(credits::id)
                .get_result::<i64>(conn)?;
            if outbox {
                // The outbox entry commits with its credit, or neither does.
                diesel::insert_into(outbox::table)
                    .values((
                        outbox::credit_id.eq(id),
                        outbox::state.eq(OutboxState::Pending.as_str()),
                        outbox::next_attempt_at.eq(&now_text),
                        outbox::created_at.eq(&now_text),
                    ))
                    .execute(conn)?;
            }
            Some(RecordedCredit {
                id,
                reference_id: notification.reference_id.clone(),
                customer_id: credit.customer_id,
                amount_usd: credit.amount,
                credited_total_usd: credit.credited_total,
                status,
                event_id,
                created_at: now,
            })
        }
    };
    Ok(Applied { event_id, outcome: decision.outcome, credit })
}

/// What an event row says beyond the delivery itself.
#[derive(Clone, Copy)]
struct EventFacts<'a> {
    outcome: EventOutcome,
    reference_id: Option<&'a str>,
    payout_id: Option<&'a str>,
    status: Option<&'a str>,
    credited_usd: Amount,
    detail: Option<&'a str>,
}

impl EventFacts<'_> {
    const fn new(outcome: EventOutcome) -> Self {
        Self {
            outcome,
            reference_id: None,
            payout_id: None,
            status: None,
            credited_usd: Amount::ZERO,
            detail: None,
        }
    }
}

/// Inserts one event row and returns its id. Stores how the delivery authenticated and the
/// position of the matching key, never a key or a header.
fn insert_event(
    conn: &mut SqliteConnection,
    event: &NewEvent,
    facts: EventFacts<'_>,
) -> Result<EventId, Failure> {
    let row = NewEventRow {
        received_at: format_timestamp(event.received_at),
        method: &event.method,
        auth_method: event.auth.as_str(),
        // A key position never comes near i64::MAX; saturate rather than fail.
        key_index: i64::try_from(event.auth.key_index()).unwrap_or(i64::MAX),
        raw_body: &event.raw_body,
        reference_id: facts.reference_id,
        payout_id: facts.payout_id,
        status: facts.status,
        outcome: facts.outcome.as_str(),
        credited_usd: facts.credited_usd.to_string(),
        detail: facts.detail,
        origin: event.origin.as_str(),
        replay_of: event.origin.replay_of(),
        attempts: 0,
        next_attempt_at: None,
    };
    Ok(diesel::insert_into(events::table)
        .values(row)
        .returning(events::id)
        .get_result::<i64>(conn)?)
}

const fn event_outcome(outcome: Outcome) -> EventOutcome {
    match outcome {
        Outcome::Applied => EventOutcome::Applied,
        Outcome::Duplicate => EventOutcome::Duplicate,
        Outcome::Stale => EventOutcome::Stale,
        Outcome::Ignored => EventOutcome::Ignored,
    }
}

#[cfg(test)]
mod tests {
    use diesel::{
        QueryableByName, RunQueryDsl,
        sql_types::{BigInt, Text},
    };

    use crate::StoreOptions;

    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = BigInt)]
        value: i64,
    }

    #[derive(QueryableByName)]
    struct JournalMode {
        #[diesel(sql_type = Text)]
        journal_mode: String,
    }

    /// The value of a pragma, read from its table-valued function and column.
    fn setting(conn: &mut super::SqliteConnection, pragma: &str, column: &str) -> i64 {
        diesel::sql_query(format!("SELECT {column} AS value FROM pragma_{pragma}"))
            .get_result::<Setting>(conn)
            .map(|setting| setting.value)
            .unwrap()
    }

    #[test]
    fn every_pooled_connection_has_the_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("pragmas.db").display().to_string();
        crate::migrate(&url).unwrap();
        let options = StoreOptions {
            pool_size: 2,
            busy_timeout: std::time::Duration::from_millis(1234),
            outbox: false,
        };
        let repo = crate::connect(&url, &options).unwrap();
        let mut first = repo.pool.get().unwrap();
        let mut second = repo.pool.get().unwrap();
        for conn in [&mut *first, &mut *second] {
            assert_eq!(setting(conn, "busy_timeout", "timeout"), 1234);
            assert_eq!(setting(conn, "foreign_keys", "foreign_keys"), 1);
            assert_eq!(setting(conn, "synchronous", "synchronous"), 2, "FULL");
            let mode =
                diesel::sql_query("PRAGMA journal_mode").get_result::<JournalMode>(conn).unwrap();
            assert_eq!(mode.journal_mode, "wal");
        }
    }
}
