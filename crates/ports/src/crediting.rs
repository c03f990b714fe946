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
