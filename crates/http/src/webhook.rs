//! The PayRam webhook: read the body within the limit, answer the unsigned test ping,
//! authenticate, hand the delivery to the core, map the receipt.

use actix_web::{
    HttpRequest, HttpResponse,
    http::header::{self, HeaderMap},
    web,
};
use std::time::Instant;

use payram_domain::{Amount, Escaped, EventOutcome};
use payram_ports::{BodyParser, Delivery, Origin, PaymentUseCases, Receipt};
use payram_protocol::{
    API_KEY_HEADER, AuthError, Credentials, SIGNATURE_HEADER, TEST_HEADER, authenticate,
    is_test_ping,
};

use crate::{
    HttpConfig, ProtocolParser, client,
    dto::{ErrorBody, PingAnswer, ReceiptAnswer, WebhookAnswer},
    error::ApiError,
    metrics::Metrics,
};

/// `GET` or `POST` on the webhook path. Logs one line per request (never the body or a
/// credential) and counts it in the metrics, when they are registered.
#[utoipa::path(
    method(post, get),
    path = "/webhook",
    tag = "webhook",
    description = "PayRam's webhook (the path is `WEBHOOK_PATH`). Authenticated by `X-Payram-Signature` (hex HMAC-SHA256 of the raw body under a project API key, optional `sha256=` prefix) or the `API-Key` header; `X-Webhook-Test: true` on a body without `reference_id`, with neither credential header, is the unsigned test ping. A credential header sent twice with different values is 401.",
    params(
        ("X-Payram-Signature" = Option<String>, Header, description = "hex HMAC-SHA256 of the body"),
        ("API-Key" = Option<String>, Header, description = "a project API key (legacy)"),
        ("X-Webhook-Test" = Option<String>, Header, description = "`true` on PayRam's test ping"),
    ),
    request_body(content = Object, description = "A PayRam payment or payout notification, as PayRam sends it", content_type = "application/json"),
    responses(
        (status = 200, description = "Recorded and applied (or the ping)", body = WebhookAnswer),
        (status = 400, description = "Malformed JSON or invalid payload (recorded), or a body cut short (`incomplete_body`, not recorded)", body = ErrorBody),
        (status = 401, description = "Not authenticated (nothing recorded)", body = ErrorBody),
        (status = 403, description = "Client address not in ALLOWED_IPS (nothing recorded)", body = ErrorBody),
        (status = 408, description = "Body not received within CLIENT_BODY_TIMEOUT (nothing recorded)", body = ErrorBody),
        (status = 429, description = "Not authenticated, and too many failures from this address (nothing recorded; Retry-After)", body = ErrorBody),
        (status = 413, description = "Body over MAX_BODY_BYTES", body = ErrorBody),
        (status = 500, description = "Recorded, processing failed; retried", body = ErrorBody),
        (status = 503, description = "Storage unavailable; nothing recorded, PayRam retries", body = ErrorBody),
    )
)]
#[tracing::instrument(name = "webhook", skip_all, fields(method = %req.method()))]
pub(crate) async fn receive(
    req: HttpRequest,
    payload: web::Payload,
    use_cases: web::Data<dyn PaymentUseCases>,
    config: web::Data<HttpConfig>,
    metrics: Option<web::Data<Metrics>>,
) -> HttpResponse {
    let started = Instant::now();
    let metrics = metrics.as_ref().map(web::Data::get_ref);
    let handled = handle(&req, payload, &use_cases, &config, metrics).await;
    let latency = started.elapsed();
    let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    let (outcome, response) = match &handled {
        Ok(Handled::Ping) => {
            (EventOutcome::Ping.as_str(), HttpResponse::Ok().json(PingAnswer::new()))
        }
        Ok(Handled::Receipt(receipt)) => (receipt.outcome.as_str(), answer(receipt)),
        Err(err) => {
            if matches!(err, ApiError::Service(_)) {
                metrics.inspect(|metrics| metrics.storage_error());
            }
            (err.code(), actix_web::ResponseError::error_response(err))
        }
    };
    if let Some(metrics) = metrics {
        metrics.webhook(outcome, latency);
    }
    let receipt = match &handled {
        Ok(Handled::Receipt(receipt)) => Some(receipt),
        _ => None,
    };
    // Values from the request are escaped: a reference cannot forge a log line.
    tracing::info!(
        http_status = response.status().as_u16(),
        outcome,
        reference_id = receipt.and_then(|r| r.reference_id.as_ref()).map(Escaped).map(tracing::field::display),
        payout_id = receipt.and_then(|r| r.payout_id.as_deref()).map(Escaped).map(tracing::field::display),
        status = receipt.and_then(|r| r.status.as_deref()).map(Escaped).map(tracing::field::display),
        credited = %receipt.map_or(Amount::ZERO, |r| r.credited),
        latency_ms,
        "webhook answered"
    );
    response
}

/// What a webhook request came to, short of an error answer.
enum Handled {
    /// The unsigned PayRam test ping.
    Ping,
    Receipt(Receipt),
}

async fn handle(
    req: &HttpRequest,
    payload: web::Payload,
    use_cases: &web::Data<dyn PaymentUseCases>,
    config: &HttpConfig,
    metrics: Option<&Metrics>,
) -> Result<Handled, ApiError> {
    let body = read_body(req, payload, config.max_body_bytes).await?;
    let headers = req.headers();

    let (Ok(signature), Ok(api_key)) =
        (credential(headers, SIGNATURE_HEADER), credential(headers, API_KEY_HEADER))
    else {
        // Two different copies of one credential: which one PayRam meant is a guess.
        metrics.inspect(|metrics| metrics.auth("conflicting_headers"));
        return Err(refused(req, config, &"ConflictingHeaders"));
    };
    let credentials = Credentials { signature, api_key };
    // Only PayRam's unsigned test may skip recording: a request that brings a credential is
    // authenticated and recorded like any other, whatever its test header says.
    let unauthenticated = credentials.signature.is_none() && credentials.api_key.is_none();
    if unauthenticated && is_test_ping(header_bytes(headers, TEST_HEADER), &body) {
        metrics.inspect(|metrics| metrics.auth("unsigned_ping"));
        return Ok(Handled::Ping);
    }

    let auth = authenticate(&config.api_keys, credentials, &body, config.require_signature);
    if let Some(metrics) = metrics {
        metrics.auth(match &auth {
            Ok(method) => method.as_str(),
            Err(AuthError::Missing) => "missing",
            Err(AuthError::BadSignature) => "bad_signature",
            Err(AuthError::BadApiKey) => "bad_api_key",
            Err(AuthError::SignatureRequired) => "signature_required",
        });
    }
    let auth = auth.map_err(|reason| refused(req, config, &reason))?;
    crate::guard::keep_alive(req);

    let content = ProtocolParser.parse(&body);
    let delivery = Delivery {
        origin: Origin::Webhook,
        method: req.method().as_str().to_owned(),
        auth,
        raw_body: body.to_vec(),
        content,
    };
    Ok(Handled::Receipt(use_cases.receive(delivery).await?))
}

/// A request that did not authenticate: 401, or 429 once its client is over the limit on
/// guessing. Every failure counts against the client; a request that authenticates is never
/// limited, so nobody else's failures can lock PayRam out.
fn refused(req: &HttpRequest, config: &HttpConfig, reason: &dyn std::fmt::Debug) -> ApiError {
    let client = client::client_of(req);
    match config.guessing.webhook.fail(client.key(), Instant::now()) {
        Ok(()) => {
            tracing::warn!(?reason, %client, "webhook refused");
            ApiError::Unauthorized
        }
        Err(after) => {
            tracing::warn!(?reason, %client, "webhook refused: too many failures");
            ApiError::RateLimited(after)
        }
    }
}

/// Maps what the core concluded to the contract's answer. Exhaustive on purpose: a new outcome
/// does not compile until someone decides its answer.
fn answer(receipt: &Receipt) -> HttpResponse {
    match receipt.outcome {
        EventOutcome::Applied
        | EventOutcome::Duplicate
        | EventOutcome::Stale
        | EventOutcome::Ignored
        | EventOutcome::Payout
        // Recorded durably and asked again by the server itself: PayRam need not retry.
        | EventOutcome::Waiting => HttpResponse::Ok().json(ReceiptAnswer::from(receipt)),
        EventOutcome::Ping => HttpResponse::Ok().json(PingAnswer::new()),
        // A live delivery whose processing fails is answered with the storage error itself;
        // a receipt never says failed or dead here, but if it did PayRam must retry.
        EventOutcome::Failed | EventOutcome::Dead => {
            actix_web::ResponseError::error_response(&ApiError::Service(
                payram_ports::ServiceError::Repository(payram_ports::RepositoryError::Unavailable(
                    "the delivery was recorded but not processed".into(),
                )),
            ))
        }
        EventOutcome::MalformedJson | EventOutcome::InvalidPayload => HttpResponse::BadRequest()
            .json(ErrorBody {
                error: receipt.outcome.as_str(),
                message: Some(receipt.message.clone().unwrap_or_default()),
            }),
    }
}

/// Reads the whole body, refusing it with 413 as soon as it is known to exceed `limit`: from
/// `Content-Length` before reading, and while reading a body of unknown length.
async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(ApiError::PayloadTooLarge);
    }
    match payload.to_bytes_limited(limit).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(err)) if crate::guard::is_timeout(&err) => Err(ApiError::RequestTimeout),
        // The client went away (or broke the framing) before the body ended: not a body
        // that is not JSON, so counted apart, and nothing is recorded.
        Ok(Err(err)) => {
            tracing::warn!(error = %Escaped(&err), "webhook body could not be read to its end");
            Err(ApiError::BadRequest {
                code: INCOMPLETE_BODY,
                message: "request body ended before its announced end".to_owned(),
            })
        }
        Err(_exceeded) => Err(ApiError::PayloadTooLarge),
    }
}

/// The answer code (and metrics outcome) of a body cut short.
pub(crate) const INCOMPLETE_BODY: &str = "incomplete_body";

fn header_bytes<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a [u8]> {
    headers.get(name).map(header::HeaderValue::as_bytes)
}

/// A credential header: absent, or its one value (identical repeats are one value). `Err`
/// when it is sent more than once with different values.
fn credential<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a [u8]>, Conflicting> {
    let mut values = headers.get_all(name).map(header::HeaderValue::as_bytes);
    let first = values.next();
    if let Some(first) = first
        && values.any(|other| other != first)
    {
        return Err(Conflicting);
    }
    Ok(first)
}

/// A credential header sent twice with different values.
#[derive(Debug)]
struct Conflicting;
