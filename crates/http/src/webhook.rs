//! The PayRam webhook: read the body within the limit, answer the unsigned test ping,
//! authenticate, hand the delivery to the core, map the receipt.

use actix_web::{
    HttpRequest, HttpResponse,
    http::header::{self, HeaderMap},
    web,
};
use tracing::{Span, field};

use payram_domain::EventOutcome;
use payram_ports::{BodyParser, Delivery, Origin, PaymentUseCases, Receipt};
use payram_protocol::{
    API_KEY_HEADER, Credentials, SIGNATURE_HEADER, TEST_HEADER, authenticate, is_test_ping,
};

use crate::{
    HttpConfig, ProtocolParser,
    dto::{ErrorBody, PingAnswer, ReceiptAnswer},
    error::ApiError,
};

/// `GET` or `POST` on the webhook path. The span never carries the body or a credential.
#[tracing::instrument(
    name = "webhook",
    skip_all,
    fields(method = %req.method(), reference_id = field::Empty, outcome = field::Empty)
)]
pub(crate) async fn receive(
    req: HttpRequest,
    payload: web::Payload,
    use_cases: web::Data<dyn PaymentUseCases>,
    config: web::Data<HttpConfig>,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&req, payload, config.max_body_bytes).await?;
    let headers = req.headers();

    if is_test_ping(header_bytes(headers, TEST_HEADER), &body) {
        Span::current().record("outcome", EventOutcome::Ping.as_str());
        tracing::info!("PayRam test ping answered");
        return Ok(HttpResponse::Ok().json(PingAnswer::new()));
    }

    let credentials = Credentials {
        signature: header_bytes(headers, SIGNATURE_HEADER),
        api_key: header_bytes(headers, API_KEY_HEADER),
    };
    let auth = authenticate(&config.api_keys, credentials, &body, config.require_signature)
        .map_err(|reason| {
            tracing::warn!(?reason, "webhook refused");
            ApiError::Unauthorized
        })?;

    let content = ProtocolParser.parse(&body);
    let delivery = Delivery {
        origin: Origin::Webhook,
        method: req.method().as_str().to_owned(),
        auth,
        raw_body: body.to_vec(),
        content,
    };
    let receipt = use_cases.receive(delivery).await?;

    let span = Span::current();
    if let Some(reference_id) = &receipt.reference_id {
        span.record("reference_id", reference_id.as_str());
    }
    span.record("outcome", receipt.outcome.as_str());
    Ok(answer(&receipt))
}

/// Maps what the core concluded to the contract's answer. Exhaustive on purpose: a new outcome
/// does not compile until someone decides its answer.
fn answer(receipt: &Receipt) -> HttpResponse {
    match receipt.outcome {
        EventOutcome::Applied
        | EventOutcome::Duplicate
        | EventOutcome::Stale
        | EventOutcome::Ignored
        | EventOutcome::Payout => HttpResponse::Ok().json(ReceiptAnswer::from(receipt)),
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
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "webhook body could not be read");
            Err(ApiError::BadRequest {
                code: EventOutcome::MalformedJson.as_str(),
                message: "request body could not be read".to_owned(),
            })
        }
        Err(_exceeded) => Err(ApiError::PayloadTooLarge),
    }
}

fn header_bytes<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a [u8]> {
    headers.get(name).map(header::HeaderValue::as_bytes)
}
