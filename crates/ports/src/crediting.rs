use async_trait::async_trait;

use crate::{CreditError, RecordedCredit};

/// Outbound port: hands a committed credit to the merchant's own business logic.
///
/// The in-database credit ledger is the source of truth: a credit exists once its transaction
/// commits, before this port is called. Adapters are called at least once per credit and MUST
/// treat [`RecordedCredit::id`] as an idempotency key.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Crediting: Send + Sync {
    async fn credit(&self, credit: &RecordedCredit) -> Result<(), CreditError>;
}

/// The default crediting adapter: the ledger alone, plus one log line per credit.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogCrediting;

#[async_trait]
impl Crediting for LogCrediting {
    async fn credit(&self, credit: &RecordedCredit) -> Result<(), CreditError> {
        tracing::info!(
            credit_id = credit.id,
            customer_id = %credit.customer_id,
            reference_id = %credit.reference_id,
            amount_usd = %credit.amount_usd,
            credited_total_usd = %credit.credited_total_usd,
            status = %credit.status,
            "customer credited"
        );
        Ok(())
    }
}
