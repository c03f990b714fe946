//! The dashboard's session: a stateless cookie signed with the admin token, and the CSRF token
//! derived from it. Changing `ADMIN_TOKEN` signs every session out.
//!
//! Cookie value: `<expiry unix seconds>.<hex HMAC-SHA256(token, "session:" + expiry)>`.
//! CSRF token: hex HMAC-SHA256(token, "csrf:" + cookie value), sent in every form.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "payram_session";
/// How long a session lasts.
pub(crate) const LIFETIME_SECS: i64 = 12 * 60 * 60;

fn mac(token: &SecretString, message: &str) -> String {
    hex::encode(payram_protocol::hmac_sha256(token.expose_secret().as_bytes(), message.as_bytes()))
}

/// A fresh session cookie value, valid until `now + LIFETIME_SECS`.
pub(crate) fn issue(token: &SecretString, now: DateTime<Utc>) -> String {
    let expires = now.timestamp() + LIFETIME_SECS;
    format!("{expires}.{}", mac(token, &format!("session:{expires}")))
}

/// Whether a cookie value is a session signed with `token` and not expired.
pub(crate) fn is_valid(token: &SecretString, value: &str, now: DateTime<Utc>) -> bool {
    let Some((expires, signature)) = value.split_once('.') else { return false };
    let Ok(expires_at) = expires.parse::<i64>() else { return false };
    let expected = mac(token, &format!("session:{expires}"));
    expires_at > now.timestamp() && bool::from(expected.as_bytes().ct_eq(signature.as_bytes()))
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

    #[test]
    fn an_issued_session_is_valid_until_it_expires() {
        let session = issue(&token(), now());
        assert!(is_valid(&token(), &session, now()));
        let later = now() + chrono::Duration::seconds(LIFETIME_SECS);
        assert!(!is_valid(&token(), &session, later));
        assert!(!session.contains("admin-secret-token"));
    }

    #[test]
    fn a_forged_or_foreign_session_is_refused() {
        let session = issue(&token(), now());
        let (expires, signature) = session.split_once('.').unwrap();
        let extended = format!("{}.{signature}", expires.parse::<i64>().unwrap() + 1000);
        assert!(!is_valid(&token(), &extended, now()), "the expiry is signed");
        assert!(!is_valid(&SecretString::from("rotated-token"), &session, now()));
        for junk in ["", ".", "x.y", "1.", "99999999999.00"] {
            assert!(!is_valid(&token(), junk, now()), "{junk:?}");
        }
    }

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let one = issue(&token(), now());
        let two = issue(&token(), now() + chrono::Duration::seconds(1));
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
