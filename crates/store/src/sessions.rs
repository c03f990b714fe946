//! The [`SessionRevocations`] port on SQLite: signed-out dashboard sessions, by digest. The
//! read side is [`payram_ports::Queries::is_session_revoked`] (in `queries`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use payram_ports::{RepositoryError, SessionDigest, SessionRevocations};

use crate::{SqliteRepository, error::Failure, model::format_timestamp, schema::revoked_sessions};

#[async_trait]
impl SessionRevocations for SqliteRepository {
    async fn revoke_session(
        &self,
        session: SessionDigest,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), RepositoryError> {
        let digest = session.to_hex();
        let expires_at = format_timestamp(expires_at);
        let now = format_timestamp(now);
        self.write(move |conn| {
            // Revocations of sessions that have expired are no longer needed.
            diesel::delete(revoked_sessions::table.filter(revoked_sessions::expires_at.le(&now)))
                .execute(conn)?;
            diesel::insert_into(revoked_sessions::table)
                .values((
                    revoked_sessions::session_digest.eq(&digest),
                    revoked_sessions::expires_at.eq(&expires_at),
                    revoked_sessions::revoked_at.eq(&now),
                ))
                .on_conflict(revoked_sessions::session_digest)
                .do_nothing()
                .execute(conn)?;
            Ok(())
        })
        .await
    }
}

/// Whether `session` has a revocation row (the read of `Queries::is_session_revoked`).
pub(crate) fn is_revoked(
    conn: &mut SqliteConnection,
    session: SessionDigest,
) -> Result<bool, Failure> {
    let found = revoked_sessions::table
        .find(session.to_hex())
        .select(revoked_sessions::session_digest)
        .first::<String>(conn)
        .optional()?;
    Ok(found.is_some())
}
