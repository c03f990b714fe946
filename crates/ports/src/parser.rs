use payram_domain::{Inbound, Notification};

use crate::Rejection;

/// Outbound port: reads PayRam's wire formats. Replays and retries feed stored raw bodies
/// through it, exactly as a live delivery or a live lookup is parsed.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait BodyParser: Send + Sync {
    /// Reads a webhook body.
    fn parse(&self, body: &[u8]) -> Result<Inbound, Rejection>;

    /// Reads an answer of PayRam's payment lookup API (the raw body of a reconciliation
    /// event).
    fn parse_lookup(&self, body: &[u8]) -> Result<Notification, Rejection>;
}
