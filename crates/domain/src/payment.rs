use crate::{Amount, CustomerId, PaymentStatus, ReferenceId};

/// Every stored fact about a payment, as plain data. Storage adapters map rows to and from
/// this; [`Payment::from_record`] checks the invariants when reading it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentRecord {
    pub reference_id: ReferenceId,
    pub status: PaymentStatus,
    /// The customer credited for this payment: the first one PayRam named.
    pub customer_id: Option<CustomerId>,
    pub invoice_id: Option<String>,
    pub amount: Option<Amount>,
    pub currency: Option<String>,
    pub filled_amount: Option<Amount>,
    pub filled_amount_in_usd: Option<Amount>,
    /// Sum of every credit this payment caused.
    pub credited_usd: Amount,
    /// Money arrived after the payment was cancelled.
    pub late_payment: bool,
    /// Number of credits this payment caused; the next credit's sequence number is this plus one.
    pub credit_count: u32,
}

/// A payment's position in its history: the USD received, then the status rank.
/// Progress never goes down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Progress {
    pub filled_usd: Amount,
    pub rank: u8,
}

/// A payment. Its invariants: amounts are never negative; the credited total never exceeds the
/// USD received; it only changes through [`crate::decide`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment(PaymentRecord);

/// A stored payment whose facts contradict each other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored payment {reference_id} is inconsistent: {problem}")]
pub struct CorruptPayment {
    pub reference_id: String,
    pub problem: &'static str,
}

impl Payment {
    /// Rebuilds a payment from storage, checking its invariants.
    pub fn from_record(record: PaymentRecord) -> Result<Self, CorruptPayment> {
        let filled = record.filled_amount_in_usd.unwrap_or(Amount::ZERO);
        if record.credited_usd > filled {
            return Err(CorruptPayment {
                reference_id: record.reference_id.to_string(),
                problem: "credited more than received",
            });
        }
        if record.credit_count == 0 && !record.credited_usd.is_zero() {
            return Err(CorruptPayment {
                reference_id: record.reference_id.to_string(),
                problem: "credited without a credit",
            });
        }
        Ok(Self(record))
    }

    pub(crate) const fn from_trusted(record: PaymentRecord) -> Self {
        Self(record)
    }

    /// The payment's facts.
    #[must_use]
    pub const fn record(&self) -> &PaymentRecord {
        &self.0
    }

    /// Takes the facts out, e.g. to write them.
    #[must_use]
    pub fn into_record(self) -> PaymentRecord {
        self.0
    }

    #[must_use]
    pub const fn reference_id(&self) -> &ReferenceId {
        &self.0.reference_id
    }

    #[must_use]
    pub const fn status(&self) -> PaymentStatus {
        self.0.status
    }

    #[must_use]
    pub const fn credited_usd(&self) -> Amount {
        self.0.credited_usd
    }

    /// Where the payment stands: USD received (zero when none), then status rank.
    #[must_use]
    pub fn progress(&self) -> Progress {
        Progress {
            filled_usd: self.0.filled_amount_in_usd.unwrap_or(Amount::ZERO),
            rank: self.0.status.rank(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(filled: &str, credited: &str, count: u32) -> PaymentRecord {
        PaymentRecord {
            reference_id: ReferenceId::parse("r").unwrap(),
            status: PaymentStatus::Filled,
            customer_id: None,
            invoice_id: None,
            amount: None,
            currency: None,
            filled_amount: None,
            filled_amount_in_usd: Some(Amount::parse(filled).unwrap()),
            credited_usd: Amount::parse(credited).unwrap(),
            late_payment: false,
            credit_count: count,
        }
    }

    #[test]
    fn a_payment_cannot_have_credited_more_than_it_received() {
        assert!(Payment::from_record(record("10", "10.01", 1)).is_err());
        assert!(Payment::from_record(record("10", "10.00", 1)).is_ok());
    }

    #[test]
    fn a_credited_total_needs_a_credit() {
        assert!(Payment::from_record(record("10", "5", 0)).is_err());
    }

    #[test]
    fn progress_orders_by_amount_then_rank() {
        let low = Progress { filled_usd: Amount::parse("5").unwrap(), rank: 4 };
        let high = Progress { filled_usd: Amount::parse("6").unwrap(), rank: 0 };
        assert!(low < high);
        let same_amount = Progress { filled_usd: Amount::parse("5.0").unwrap(), rank: 3 };
        assert!(same_amount < low);
    }
}
