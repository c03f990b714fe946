//! Admin authentication: one constant-time check of the admin token, used by the admin API
//! (the [`Admin`] extractor, `Authorization: Bearer`), by the dashboard's sign-in and, with its
//! own token, by `/metrics`; every wrong token counts against the client's limit on guessing
//! ([`admit`]).

use std::time::Instant;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{HttpConfig, client, error::ApiError};

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

/// Checks `presented` against `token` under the limit on guessing of admin tokens: a client
/// over the limit is refused (429) without its token being looked at; a wrong or missing
/// token is refused (401) and counted. Without a configured token every request is refused
/// (401) and nothing is counted: there is nothing to guess.
pub(crate) fn admit(
    req: &HttpRequest,
    config: &HttpConfig,
    token: Option<&SecretString>,
    presented: Option<&str>,
) -> Result<(), ApiError> {
    let Some(token) = token else { return Err(ApiError::Unauthorized) };
    let client = client::client_of(req).key();
    let limiter = &config.guessing.admin;
    let now = Instant::now();
    limiter.check(client, now).map_err(ApiError::RateLimited)?;
    if presented.is_some_and(|presented| is_admin_token(token, presented)) {
        return Ok(());
    }
    // Room was checked just above; a concurrent failure may have taken it meanwhile.
    limiter.fail(client, now).map_err(ApiError::RateLimited)?;
    Err(ApiError::Unauthorized)
}

/// The bearer token of a request's `Authorization` header.
pub(crate) fn presented_bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token)
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
        let Some(config) = req.app_data::<web::Data<HttpConfig>>() else {
            return std::future::ready(Err(ApiError::Unauthorized));
        };
        let admitted = admit(req, config, config.admin_token.as_ref(), presented_bearer(req));
        if let Err(err) = &admitted {
            tracing::warn!(client = %client::client_of(req), answer = err.code(), "admin request refused");
        }
        if admitted.is_ok() {
            crate::guard::keep_alive(req);
        }
        std::future::ready(admitted.map(|()| Self))
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
