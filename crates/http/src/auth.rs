//! Admin authentication: one constant-time check of the admin token, used by the admin API
//! (the [`Admin`] extractor, `Authorization: Bearer`) and by the dashboard's sign-in.

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{HttpConfig, error::ApiError};

/// Whether `presented` is the admin token. Compares SHA-256 digests in constant time, so the
/// time taken depends on neither the content nor the length of either; an empty configured
/// token matches nothing.
pub(crate) fn is_admin_token(token: &SecretString, presented: &str) -> bool {
    let expected = token.expose_secret();
    if expected.is_empty() {
        return false;
    }
    let expected = Sha256::digest(expected.as_bytes());
    let presented = Sha256::digest(presented.as_bytes());
    expected.ct_eq(&presented).into()
}

/// A handler's argument that proves the request carries `Authorization: Bearer <admin
/// token>`; otherwise the request is answered 401 before the handler runs. Without a
/// configured token every request is refused. Put it first, so nothing else about the request
/// is looked at before it is authenticated.
#[derive(Debug)]
pub(crate) struct Admin;

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = req.app_data::<web::Data<HttpConfig>>().and_then(|c| c.admin_token.as_ref());
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(bearer_token);
        std::future::ready(match (token, presented) {
            (Some(token), Some(presented)) if is_admin_token(token, presented) => Ok(Self),
            _ => {
                tracing::warn!("admin request refused");
                Err(ApiError::Unauthorized)
            }
        })
    }
}

/// The token of a `Bearer` credential (scheme in any case).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_matches() {
        let token = SecretString::from("admin-secret-token");
        assert!(is_admin_token(&token, "admin-secret-token"));
        assert!(!is_admin_token(&token, "admin-secret-toke"));
        assert!(!is_admin_token(&token, "admin-secret-token "));
        assert!(!is_admin_token(&token, ""));
    }

    #[test]
    fn an_empty_configured_token_matches_nothing() {
        assert!(!is_admin_token(&SecretString::from(""), ""));
    }

    #[test]
    fn the_bearer_scheme_is_read_in_any_case() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bEaReR  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("abc"), None);
    }
}
