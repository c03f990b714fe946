use crate::{Amount, CustomerId, PaymentStatus, ReferenceId};

/// Every stored fact about a payment, as plain data. Storage adapters map rows to and from
/// this; [`Payment::from_record`] checks the invariants when reading it back.
///
/// ```
/// use payram_domain::{Amount, CustomerId, Payment, PaymentRecord, PaymentStatus, ReferenceId};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // A row as a storage adapter reads it back.
/// let record = PaymentRecord {
///     reference_id: ReferenceId::parse("9b7e2c44-1d3a-4f0e-8c2b-6a5d4e3f2a10")?,
///     status: PaymentStatus::Filled,
///     customer_id: Some(CustomerId::parse("cust_4004")?),
///     invoice_id: Some("INV-0093".to_owned()),
///     amount: Some(Amount::parse("40.000000")?),
///     currency: Some("USDC".to_owned()),
///     filled_amount: Some(Amount::parse("40.000000")?),
///     filled_amount_in_usd: Some(Amount::parse("40.00")?),
///     credited_usd: Amount::parse("40.00")?,
///     late_payment: true,
///     credit_count: 1,
/// };
/// let payment = Payment::from_record(record.clone())?;
/// assert_eq!(payment.record(), &record);
/// assert_eq!(payment.into_record(), record);
/// # Ok(())
/// # }
/// ```
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
///
/// ```
/// use payram_domain::{Amount, PaymentStatus, Progress};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let at = |usd: &str, status: PaymentStatus| -> Result<Progress, Box<dyn std::error::Error>> {
///     Ok(Progress { filled_usd: Amount::parse(usd)?, rank: status.rank() })
/// };
/// let partial = at("20", PaymentStatus::PartiallyFilled)?;
/// let cancelled = at("20", PaymentStatus::Cancelled)?;
/// let open_with_more = at("50", PaymentStatus::Open)?;
/// // More USD received is ahead whatever the status; at equal USD the rank decides.
/// assert!(partial < cancelled && cancelled < open_with_more);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Progress {
    pub filled_usd: Amount,
    pub rank: u8,
}

/// A payment. Its invariants: amounts are never negative; the credited total never exceeds the
/// USD received; it only changes through [`crate::decide`].
///
/// A service gets one from a decision (a new or changed payment) or from storage
/// ([`Payment::from_record`]), and hands it back to the next decision.
///
/// ```
/// use payram_domain::{
///     Amount, CreditPolicy, CustomerId, Notification, PaymentStatus, ReferenceId, ReportedStatus,
/// };
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let notification = Notification {
///     reference_id: ReferenceId::parse("ref_demo_001")?,
///     status: ReportedStatus::parse("PARTIALLY_FILLED"),
///     customer_id: Some(CustomerId::parse("cust_123")?),
///     invoice_id: Some("inv_demo_001".to_owned()),
///     amount: Some(Amount::parse("49.99")?),
///     currency: Some("USD".to_owned()),
///     filled_amount: None,
///     filled_amount_in_usd: Some(Amount::parse("49.99")?),
/// };
/// let decision = CreditPolicy::default().check(notification)?.decide(None);
/// let payment = decision.payment.ok_or("a new payment is applied")?;
/// assert_eq!(payment.reference_id().as_str(), "ref_demo_001");
/// assert_eq!(payment.status(), PaymentStatus::PartiallyFilled);
/// assert_eq!(payment.credited_usd().to_string(), "49.99");
/// assert_eq!(payment.record().credit_count, 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment(PaymentRecord);

/// A stored payment whose facts contradict each other.
///
/// ```
/// use payram_domain::Payment;
/// # use payram_domain::{Amount, PaymentRecord, PaymentStatus, ReferenceId};
/// # fn record(
/// #     filled: &str,
/// #     credited: &str,
/// #     credits: u32,
/// # ) -> Result<PaymentRecord, Box<dyn std::error::Error>> {
/// #     Ok(PaymentRecord {
/// #         reference_id: ReferenceId::parse("ref-1")?,
/// #         status: PaymentStatus::Filled,
/// #         customer_id: None,
/// #         invoice_id: None,
/// #         amount: None,
/// #         currency: None,
/// #         filled_amount: None,
/// #         filled_amount_in_usd: Some(Amount::parse(filled)?),
/// #         credited_usd: Amount::parse(credited)?,
/// #         late_payment: false,
/// #         credit_count: credits,
/// #     })
/// # }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // `record(filled_usd, credited_usd, credit_count)` builds a FILLED `ref-1` row.
/// let err = Payment::from_record(record("10.00", "10.01", 1)?).err().ok_or("corrupt")?;
/// assert_eq!(err.reference_id, "ref-1");
/// assert_eq!(err.problem, "credited more than received");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored payment {reference_id} is inconsistent: {problem}")]
pub struct CorruptPayment {
    pub reference_id: String,
    pub problem: &'static str,
}

impl Payment {
    /// Rebuilds a payment from storage, checking its invariants.
    ///
    /// ```
    /// use payram_domain::Payment;
    /// # use payram_domain::{Amount, PaymentRecord, PaymentStatus, ReferenceId};
    /// # fn record(
    /// #     filled: &str,
    /// #     credited: &str,
    /// #     credits: u32,
    /// # ) -> Result<PaymentRecord, Box<dyn std::error::Error>> {
    /// #     Ok(PaymentRecord {
    /// #         reference_id: ReferenceId::parse("ref-1")?,
    /// #         status: PaymentStatus::Filled,
    /// #         customer_id: None,
    /// #         invoice_id: None,
    /// #         amount: None,
    /// #         currency: None,
    /// #         filled_amount: None,
    /// #         filled_amount_in_usd: Some(Amount::parse(filled)?),
    /// #         credited_usd: Amount::parse(credited)?,
    /// #         late_payment: false,
    /// #         credit_count: credits,
    /// #     })
    /// # }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // `record(filled_usd, credited_usd, credit_count)` builds a FILLED `ref-1` row.
    /// assert!(Payment::from_record(record("50.00", "50.00", 2)?).is_ok());
    /// // Credited more than received, or credited without a credit: refused.
    /// assert!(Payment::from_record(record("50.00", "50.01", 2)?).is_err());
    /// assert!(Payment::from_record(record("50.00", "20.00", 0)?).is_err());
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```
    /// use payram_domain::{Amount, Payment, PaymentStatus, Progress};
    /// # use payram_domain::{PaymentRecord, ReferenceId};
    /// # fn record(
    /// #     filled: &str,
    /// #     credited: &str,
    /// #     credits: u32,
    /// # ) -> Result<PaymentRecord, Box<dyn std::error::Error>> {
    /// #     Ok(PaymentRecord {
    /// #         reference_id: ReferenceId::parse("ref-1")?,
    /// #         status: PaymentStatus::Filled,
    /// #         customer_id: None,
    /// #         invoice_id: None,
    /// #         amount: None,
    /// #         currency: None,
    /// #         filled_amount: None,
    /// #         filled_amount_in_usd: Some(Amount::parse(filled)?),
    /// #         credited_usd: Amount::parse(credited)?,
    /// #         late_payment: false,
    /// #         credit_count: credits,
    /// #     })
    /// # }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let payment = Payment::from_record(record("50.00", "50.00", 1)?)?;
    /// assert_eq!(
    ///     payment.progress(),
    ///     Progress { filled_usd: Amount::parse("50")?, rank: PaymentStatus::Filled.rank() }
    /// );
    /// # Ok(())
    /// # }
    /// ```
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
