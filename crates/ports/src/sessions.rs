//! Signed-out dashboard sessions: the write side of session revocation. The read side is
//! [`crate::Queries::is_session_revoked`].
//!
//! A session is named here only by a digest of its id (never the cookie, never the id
//! itself), so the database holds nothing that could sign anyone in.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::RepositoryError;

/// The SHA-256 digest of a dashboard session's id: how the store names a session.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionDigest([u8; 32]);

impl SessionDigest {
    /// Wraps a digest computed by the adapter that issues sessions.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The digest's bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hexadecimal, 64 characters: how the store keeps it.
    #[must_use]
    pub fn to_hex(&self) -> String {
        self.0.iter().fold(String::with_capacity(64), |mut text, byte| {
            text.push(char::from(HEX[usize::from(byte >> 4)]));
            text.push(char::from(HEX[usize::from(byte & 0x0f)]));
            text
        })
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Debug for SessionDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionDigest({})", self.to_hex())
    }
}

/// Outbound port, write side: records that a dashboard session was signed out, so that every
/// receiver sharing the database refuses it from then on, across restarts.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SessionRevocations: Send + Sync {
    /// Records `session` as revoked until `expires_at` (when it would have expired anyway).
    /// Revoking a session twice is not an error. Adapters may forget revocations that expired
    /// at or before `now`.
    async fn revoke_session(
        &self,
        session: SessionDigest,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), RepositoryError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_is_kept_as_lowercase_hex() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0xab;
        bytes[31] = 0x0f;
        let digest = SessionDigest::from_bytes(bytes);
        let hex = digest.to_hex();
        assert_eq!(hex.len(), 64);
        assert!(hex.starts_with("ab00"), "{hex}");
        assert!(hex.ends_with("000f"), "{hex}");
        assert_eq!(digest.as_bytes(), &bytes);
        assert_eq!(format!("{digest:?}"), format!("SessionDigest({hex})"));
    }
}
