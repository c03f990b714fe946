//! The dashboard's session: a cookie signed with the admin token, naming a random session id,
//! and the CSRF token derived from it. Changing `ADMIN_TOKEN` signs every session out; signing
//! out revokes the one session on the server ([`payram_ports::SessionRevocations`], by the
//! [`digest`](Verified::digest) of its id, never the cookie).
//!
//! Cookie value: `<id: 32 hex digits, 128 random bits>.<expiry unix seconds>.<hex
//! HMAC-SHA256(token, "session:" + id + "." + expiry)>`.
//! CSRF token: hex HMAC-SHA256(token, "csrf:" + cookie value), sent in every form.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use payram_ports::SessionDigest;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "payram_session";
/// How long a session lasts.
pub(crate) const LIFETIME_SECS: i64 = 12 * 60 * 60;
/// Random bytes in a session id.
const ID_BYTES: usize = 16;

fn mac(token: &SecretString, message: &str) -> String {
    hex::encode(payram_protocol::hmac_sha256(token.expose_secret().as_bytes(), message.as_bytes()))
}

/// A fresh session cookie value with a new random id, valid until `now + LIFETIME_SECS`.
pub(crate) fn issue(token: &SecretString, now: DateTime<Utc>) -> Result<String, getrandom::Error> {
    let mut id = [0u8; ID_BYTES];
    getrandom::fill(&mut id)?;
    Ok(issue_with_id(token, &hex::encode(id), now.timestamp() + LIFETIME_SECS))
}

fn issue_with_id(token: &SecretString, id: &str, expires: i64) -> String {
    format!("{id}.{expires}.{}", mac(token, &format!("session:{id}.{expires}")))
}

/// A session cookie whose signature and expiry hold. Whether it was signed out is the
/// store's to say ([`payram_ports::Queries::is_session_revoked`] on [`Verified::digest`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Verified {
    /// The cookie value, to derive the CSRF token from.
    pub(crate) value: String,
    /// SHA-256 of the session id: how the store names the session.
    pub(crate) digest: SessionDigest,
    /// When the session ends anyway.
    pub(crate) expires_at: DateTime<Utc>,
}

/// The session a cookie value names, when it is signed with `token` and not expired.
pub(crate) fn verify(token: &SecretString, value: &str, now: DateTime<Utc>) -> Option<Verified> {
    let mut parts = value.split('.');
    let (Some(id), Some(expires), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let expected = mac(token, &format!("session:{id}.{expires}"));
    if !bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
        return None;
    }
    let expires_at = DateTime::from_timestamp(expires.parse::<i64>().ok()?, 0)?;
    if expires_at <= now || id.len() != 2 * ID_BYTES {
        return None;
    }
    let digest = SessionDigest::from_bytes(Sha256::digest(id.as_bytes()).into());
    Some(Verified { value: value.to_owned(), digest, expires_at })
}

/// The CSRF token of a session.
pub(crate) fn csrf(token: &SecretString, session: &str) -> String {
    mac(token, &format!("csrf:{session}"))
}

/// Whether a form's CSRF token belongs to the session.
pub(crate) fn csrf_matches(token: &SecretString, session: &str, presented: &str) -> bool {
    bool::from(csrf(token, session).as_bytes().ct_eq(presented.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> SecretString {
        SecretString::from("admin-secret-token")
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn is_valid(token: &SecretString, value: &str, now: DateTime<Utc>) -> bool {
        verify(token, value, now).is_some()
    }

    #[test]
    fn an_issued_session_is_valid_until_it_expires() {
        let session = issue(&token(), now()).unwrap();
        let verified = verify(&token(), &session, now()).unwrap();
        assert_eq!(verified.value, session);
        assert_eq!(verified.expires_at, now() + chrono::Duration::seconds(LIFETIME_SECS));
        let later = now() + chrono::Duration::seconds(LIFETIME_SECS);
        assert!(!is_valid(&token(), &session, later));
        assert!(!session.contains("admin-secret-token"));
    }

    #[test]
    fn every_session_has_its_own_random_id_and_digest() {
        let one = issue(&token(), now()).unwrap();
        let two = issue(&token(), now()).unwrap();
        assert_ne!(one, two, "issued at the same second, still distinct");
        let (one, two) =
            (verify(&token(), &one, now()).unwrap(), verify(&token(), &two, now()).unwrap());
        assert_ne!(one.digest, two.digest);
        let id = one.value.split('.').next().unwrap();
        assert_eq!(id.len(), 32);
        assert!(!one.digest.to_hex().contains(id), "the store never sees the id");
    }

    #[test]
    fn a_forged_or_foreign_session_is_refused() {
        let session = issue(&token(), now()).unwrap();
        let parts: Vec<&str> = session.split('.').collect();
        let (id, expires, signature) = (parts[0], parts[1], parts[2]);
        let extended = format!("{id}.{}.{signature}", expires.parse::<i64>().unwrap() + 1000);
        assert!(!is_valid(&token(), &extended, now()), "the expiry is signed");
        let other_id = format!("{}.{expires}.{signature}", "0".repeat(32));
        assert!(!is_valid(&token(), &other_id, now()), "the id is signed");
        assert!(!is_valid(&SecretString::from("rotated-token"), &session, now()));
        // A cookie of the earlier format (`expiry.signature`), even correctly signed.
        let old = format!("{expires}.{}", mac(&token(), &format!("session:{expires}")));
        assert!(!is_valid(&token(), &old, now()));
        // Correctly signed, but not an id this server issues.
        let short = issue_with_id(&token(), "abc", now().timestamp() + 60);
        assert!(!is_valid(&token(), &short, now()));
        for junk in ["", ".", "..", "x.y.z", "1.", "99999999999.00", &format!("{session}.x")] {
            assert!(!is_valid(&token(), junk, now()), "{junk:?}");
        }
    }

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let one = issue(&token(), now()).unwrap();
        let two = issue(&token(), now()).unwrap();
        assert!(csrf_matches(&token(), &one, &csrf(&token(), &one)));
        assert!(!csrf_matches(&token(), &two, &csrf(&token(), &one)));
        assert!(!csrf_matches(&token(), &one, ""));
    }

    #[test]
    fn only_the_admin_token_logs_in() {
        use crate::auth::is_admin_token;
        assert!(is_admin_token(&token(), "admin-secret-token"));
        assert!(!is_admin_token(&token(), "admin-secret-toke"));
        assert!(!is_admin_token(&SecretString::from(""), ""));
    }
}
