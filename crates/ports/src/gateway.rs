use async_trait::async_trait;

use payram_domain::{Notification, ReferenceId};

use crate::BoxError;

/// PayRam's own view of one payment, read back from its API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayramPayment {
    /// What PayRam reports (status, cumulative amounts, customer, invoice, currency), in the
    /// shape of a webhook notification, so that it is applied exactly like one.
    pub notification: Notification,
    /// The API's answer body exactly as received; it is recorded as the event's raw body.
    pub raw_body: Vec<u8>,
}

/// Why PayRam's view of a payment could not be read. Messages never contain the API key.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// PayRam could not be reached: name resolution, refused or reset connection, TLS.
    #[error("PayRam is unreachable")]
    Unreachable(#[source] BoxError),
    /// PayRam did not answer within the configured time (connecting or in all).
    #[error("PayRam did not answer in time")]
    Timeout,
    /// PayRam answered 404: it does not know the reference. The message is PayRam's.
    #[error("PayRam does not know this payment (HTTP 404): {0}")]
    NotFound(String),
    /// PayRam refused the lookup with this HTTP status and the message of its error body.
    /// A 401 means a wrong API key or, on some PayRam versions, an unknown reference: the two
    /// cannot be told apart.
    #[error("PayRam refused the lookup (HTTP {0}): {1}")]
    Rejected(u16, String),
    /// PayRam answered with success, but not with a payment we can read exactly.
    #[error("PayRam's answer cannot be used: {0}")]
    Malformed(String),
}

/// Outbound port: reads PayRam's view of a payment (its lookup API).
///
/// Adapters MUST NOT log or report the API key, MUST bound every call in time (reporting
/// [`GatewayError::Timeout`]), MUST return amounts exactly as PayRam sent them (never through
/// a float), and MUST refuse an answer about another reference than the one asked for.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PayramGateway: Send + Sync {
    /// PayRam's current view of the payment `reference_id`.
    async fn payment(&self, reference_id: &ReferenceId) -> Result<PayramPayment, GatewayError>;
}
