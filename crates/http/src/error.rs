//! The one error type handlers return, rendered as JSON (`{"error": code, ...}`).

use actix_web::{
    HttpResponse, ResponseError,
    error::{PathError, QueryPayloadError},
    http::StatusCode,
};

use payram_domain::Escaped;
use payram_ports::{RepositoryError, ServiceError};

use crate::{dto::ErrorBody, throttle::RetryAfter};

/// Why a request gets an error answer. A local type, because the orphan rule forbids
/// implementing `ResponseError` for `payram_ports::ServiceError` here.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// Webhook authentication failed, or the admin token is missing, wrong or not configured.
    #[error("unauthorized")]
    Unauthorized,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("payload too large")]
    PayloadTooLarge,
    /// The client address is not in the allow-list of the path (`ALLOWED_IPS`,
    /// `ADMIN_ALLOWED_IPS`).
    #[error("forbidden")]
    Forbidden,
    /// Too many failed authentications from the client address; try again after this long.
    #[error("rate limited")]
    RateLimited(RetryAfter),
    /// The body did not arrive within `CLIENT_BODY_TIMEOUT`.
    #[error("request timeout")]
    RequestTimeout,
    /// The request head is over [`crate::guard::MAX_HEAD_BYTES`].
    #[error("request header fields too large")]
    HeaderTooLarge,
    /// A request this layer cannot read (not a webhook body refused by the core: that one is a
    /// recorded outcome, answered from the receipt).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// The use case failed; the cause goes to the log, never to the client.
    #[error("use case failed")]
    Service(#[from] ServiceError),
}

impl From<RepositoryError> for ApiError {
    /// A query of the store failed: answered like a use case that failed.
    fn from(err: RepositoryError) -> Self {
        Self::Service(err.into())
    }
}

impl ApiError {
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Forbidden => "forbidden",
            Self::RateLimited(_) => "rate_limited",
            Self::RequestTimeout => "request_timeout",
            Self::HeaderTooLarge => "request_header_too_large",
            Self::BadRequest { code, .. } => code,
            Self::Service(err) if err.is_retryable() => "storage_unavailable",
            Self::Service(_) => "internal",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::HeaderTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            // Retryable: nothing was committed and PayRam retries on any status >= 400.
            Self::Service(err) if err.is_retryable() => StatusCode::SERVICE_UNAVAILABLE,
            Self::Service(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            Self::Service(err) => {
                tracing::error!(
                    error = %Escaped(payram_ports::ErrorChain(err)),
                    retryable = err.is_retryable(),
                    "use case failed"
                );
                None
            }
            Self::BadRequest { message, .. } => Some(message.clone()),
            Self::Forbidden => Some("this address may not use this endpoint".to_owned()),
            Self::RateLimited(RetryAfter(secs)) => {
                Some(format!("too many failed authentications; try again in {secs} s"))
            }
            Self::RequestTimeout => Some("the request body did not arrive in time".to_owned()),
            Self::HeaderTooLarge => Some("the request head is over 16 KiB".to_owned()),
            Self::Unauthorized
            | Self::NotFound
            | Self::MethodNotAllowed
            | Self::PayloadTooLarge => None,
        };
        let mut response = HttpResponse::build(self.status_code());
        if let Self::RateLimited(RetryAfter(secs)) = self {
            response.insert_header((actix_web::http::header::RETRY_AFTER, secs.to_string()));
        }
        if matches!(self, Self::RequestTimeout | Self::HeaderTooLarge) {
            response.force_close();
        }
        response.json(ErrorBody { error: self.code(), message })
    }
}

/// `PathConfig` error handler: a path that cannot be extracted names nothing, so 404 JSON.
pub(crate) fn path_error(err: &PathError) -> actix_web::Error {
    tracing::debug!(error = %Escaped(err), "path not extracted");
    ApiError::NotFound.into()
}

/// `QueryConfig` error handler: 400 JSON with the parser's message.
pub(crate) fn query_error(err: &QueryPayloadError) -> actix_web::Error {
    ApiError::BadRequest { code: "bad_request", message: err.to_string() }.into()
}
