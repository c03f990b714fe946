//! The [`Queries`] port on SQLite: reads that change nothing.

use async_trait::async_trait;
use diesel::prelude::*;

use payram_domain::{CustomerId, ReferenceId, Total};
use payram_ports::{
    CreditFilter, CustomerBalance, CustomerView, EventFilter, EventId, EventOrder, EventRecord,
    KeyUse, Origin, OutboxEntry, OutboxState, PaymentFilter, PaymentItem, PaymentView, Queries,
    RecordedCredit, RepositoryError, SessionDigest, Stats,
};

use crate::{
    SqliteRepository,
    error::Failure,
    model::{
        CreditEntryRow, CreditRow, EventRow, EventSummaryRow, PaymentRow, format_timestamp,
        stored_amount, stored_timestamp, stored_timestamp_of,
    },
    outbox::OutboxQuery,
    schema::{credits, events, payments},
};

#[async_trait]
impl Queries for SqliteRepository {
    async fn payment(
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
            // Summed exactly here: SQLite's SUM would go through floating point. A `Total`
            // overflows only past 3.4e23 of the largest amounts, beyond any table's rows.
            let balance_usd = Total::sum(credits.iter().map(|credit| credit.amount_usd))
                .ok_or_else(|| {
                    Failure::Corrupt(format!("balance of customer {customer_id} overflows").into())
                })?;
            Ok(CustomerView { customer_id, balance_usd, credits })
        })
        .await
    }

    async fn events(&self, filter: EventFilter) -> Result<Vec<EventRecord>, RepositoryError> {
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
            if let Some(after) = filter.after {
                query = query.filter(events::id.gt(after));
            }
            query = match filter.order {
                EventOrder::NewestFirst => query.order(events::id.desc()),
                EventOrder::OldestFirst => query.order(events::id.asc()),
            };
            let limit = i64::from(filter.limit.min(EventFilter::MAX_LIMIT));
            query.limit(limit).load(conn).map_err(Failure::from).and_then(EventRow::into_records)
        })
        .await
    }

    async fn event(&self, id: EventId) -> Result<Option<EventRecord>, RepositoryError> {
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

    async fn payments(&self, filter: PaymentFilter) -> Result<Vec<PaymentItem>, RepositoryError> {
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

    async fn customers(
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
                    let mut balance_usd = Total::ZERO;
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

    async fn credits(&self, filter: CreditFilter) -> Result<Vec<RecordedCredit>, RepositoryError> {
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

    async fn stats(&self) -> Result<Stats, RepositoryError> {
        self.run(crate::stats::stats).await
    }

    async fn ping(&self) -> Result<(), RepositoryError> {
        self.run(|conn| crate::totals::read(conn).map(|_| ())).await
    }

    async fn outbox(
        &self,
        state: Option<OutboxState>,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, RepositoryError> {
        let query = OutboxQuery { state, limit, ..OutboxQuery::default() };
        self.run(move |conn| query.load(conn)).await
    }

    async fn is_session_revoked(&self, session: SessionDigest) -> Result<bool, RepositoryError> {
        self.run(move |conn| crate::sessions::is_revoked(conn, session)).await
    }
}
