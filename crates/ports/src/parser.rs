use payram_domain::Inbound;

use crate::Rejection;

/// Outbound port: reads PayRam's wire format. Replays and retries feed stored raw bodies
/// through it, exactly as a live delivery is parsed.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait BodyParser: Send + Sync {
    fn parse(&self, body: &[u8]) -> Result<Inbound, Rejection>;
}
