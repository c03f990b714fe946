//! The small default adapters: the system clock and the ledger-only crediting.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use payram_domain::Escaped;
use payram_ports::{Clock, CreditError, Crediting, RecordedCredit};

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The default crediting adapter: the ledger alone, plus one log line per credit.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogCrediting;

#[async_trait]
impl Crediting for LogCrediting {
    async fn credit(&self, credit: &RecordedCredit) -> Result<(), CreditError> {
        tracing::info!(
            credit_id = credit.id,
            customer_id = %Escaped(&credit.customer_id),
            reference_id = %Escaped(&credit.reference_id),
            amount_usd = %credit.amount_usd,
            credited_total_usd = %credit.credited_total_usd,
            status = %Escaped(&credit.status),
            "customer credited"
        );
        Ok(())
    }
}
