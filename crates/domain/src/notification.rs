use crate::{Amount, CustomerId, PaymentStatus, ReferenceId, ReportedStatus};

/// One PayRam payment notification, parsed and normalised.
///
/// Amounts are cumulative (what was received so far), never deltas. Optional fields are
/// `None` when PayRam sent `null` or left them out.
///
/// ```
/// use payram_domain::{
///     Amount, CustomerId, Notification, PaymentStatus, ReferenceId, ReportedStatus,
/// };
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // `filled_strings.json` of PayRam's samples, as a wire parser reads it.
/// let notification = Notification {
///     reference_id: ReferenceId::parse("c80f5363-0397-4761-aa1a-3155c3a21470")?,
///     status: ReportedStatus::parse("FILLED"),
///     customer_id: Some(CustomerId::parse("cust_2002")?),
///     invoice_id: Some("INV-0091".to_owned()),
///     amount: Some(Amount::parse("12.000000")?),
///     currency: Some("USDC".to_owned()),
///     filled_amount: Some(Amount::parse("12.000000")?),
///     filled_amount_in_usd: Some(Amount::parse("12.00")?),
/// };
/// assert_eq!(notification.status, ReportedStatus::Known(PaymentStatus::Filled));
/// assert_eq!(notification.filled_amount_in_usd.map(|usd| usd.to_string()), Some("12.00".into()));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub reference_id: ReferenceId,
    pub status: ReportedStatus,
    pub customer_id: Option<CustomerId>,
    pub invoice_id: Option<String>,
    /// Requested amount, in `currency`.
    pub amount: Option<Amount>,
    pub currency: Option<String>,
    /// Received so far, in `currency`.
    pub filled_amount: Option<Amount>,
    /// USD value of `filled_amount`: what is credited.
    pub filled_amount_in_usd: Option<Amount>,
}

/// One payout notification (`event_type` starting with `payout.`). Payouts never credit.
///
/// ```
/// use payram_domain::{Inbound, PayoutNotification};
///
/// let payout = PayoutNotification {
///     payout_id: "120".to_owned(),
///     event_type: "payout.processed".to_owned(),
///     status: "PROCESSED".to_owned(),
/// };
/// let inbound = Inbound::Payout(payout);
/// assert!(matches!(&inbound, Inbound::Payout(p) if p.payout_id == "120"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayoutNotification {
    /// PayRam's payout id, as text.
    pub payout_id: String,
    /// For example `payout.sent`.
    pub event_type: String,
    /// Upper case, e.g. `PENDING-APPROVAL`.
    pub status: String,
}

/// What a PayRam request body is.
///
/// A receiver branches on it: only [`Inbound::Payment`] can move a payment or credit.
///
/// ```
/// use payram_domain::{EventOutcome, Inbound};
///
/// fn outcome_without_payments(inbound: &Inbound) -> Option<EventOutcome> {
///     match inbound {
///         Inbound::Payment(_) => None,
///         Inbound::Payout(_) => Some(EventOutcome::Payout),
///         Inbound::Ping => Some(EventOutcome::Ping),
///     }
/// }
/// assert_eq!(outcome_without_payments(&Inbound::Ping), Some(EventOutcome::Ping));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A payment notification (it has a `reference_id`).
    Payment(Notification),
    /// A payout notification (`event_type` starts with `payout.`).
    Payout(PayoutNotification),
    /// `{"event_type":"payout.ping"}`: PayRam checking that the endpoint answers.
    Ping,
}

/// A notification that passed [`CreditPolicy::check`], bundled with the policy it passed, so
/// that [`CheckedNotification::decide`] cannot fail.
///
/// ```
/// use payram_domain::{CreditPolicy, Outcome};
/// # use payram_domain::{Amount, CustomerId, Notification, ReferenceId, ReportedStatus};
/// # fn notification(
/// #     status: &str,
/// #     usd: Option<&str>,
/// # ) -> Result<Notification, Box<dyn std::error::Error>> {
/// #     Ok(Notification {
/// #         reference_id: ReferenceId::parse("ref-1")?,
/// #         status: ReportedStatus::parse(status),
/// #         customer_id: Some(CustomerId::parse("cust-1")?),
/// #         invoice_id: None,
/// #         amount: Some(Amount::parse("50")?),
/// #         currency: Some("USDC".to_owned()),
/// #         filled_amount: usd.map(Amount::parse).transpose()?,
/// #         filled_amount_in_usd: usd.map(Amount::parse).transpose()?,
/// #     })
/// # }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // `notification(status, usd)`: a notification about `ref-1` for customer `cust-1`.
/// let checked = CreditPolicy::default().check(notification("FILLED", Some("50.00"))?)?;
/// assert_eq!(checked.notification().reference_id.as_str(), "ref-1");
///
/// let first = checked.decide(None);
/// assert_eq!(first.outcome, Outcome::Applied);
/// assert_eq!(first.credited().to_string(), "50.00");
///
/// // The same delivery against the payment it produced is a duplicate.
/// let again = checked.decide(first.payment.as_ref());
/// assert_eq!(again.outcome, Outcome::Duplicate);
/// assert!(again.credited().is_zero());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedNotification {
    notification: Notification,
    policy: CreditPolicy,
}

impl CheckedNotification {
    /// The notification.
    ///
    /// ```
    /// use payram_domain::CreditPolicy;
    /// # use payram_domain::{Amount, CustomerId, Notification, ReferenceId, ReportedStatus};
    /// # fn notification(
    /// #     status: &str,
    /// #     usd: Option<&str>,
    /// # ) -> Result<Notification, Box<dyn std::error::Error>> {
    /// #     Ok(Notification {
    /// #         reference_id: ReferenceId::parse("ref-1")?,
    /// #         status: ReportedStatus::parse(status),
    /// #         customer_id: Some(CustomerId::parse("cust-1")?),
    /// #         invoice_id: None,
    /// #         amount: Some(Amount::parse("50")?),
    /// #         currency: Some("USDC".to_owned()),
    /// #         filled_amount: usd.map(Amount::parse).transpose()?,
    /// #         filled_amount_in_usd: usd.map(Amount::parse).transpose()?,
    /// #     })
    /// # }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let checked = CreditPolicy::default().check(notification("OPEN", None)?)?;
    /// assert_eq!(checked.notification().status.as_str(), "OPEN");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub const fn notification(&self) -> &Notification {
        &self.notification
    }

    /// What this notification does to the payment (see [`crate::decide`]).
    ///
    /// ```
    /// use payram_domain::{CreditPolicy, Outcome, PaymentStatus};
    /// # use payram_domain::{Amount, CustomerId, Notification, ReferenceId, ReportedStatus};
    /// # fn notification(
    /// #     status: &str,
    /// #     usd: Option<&str>,
    /// # ) -> Result<Notification, Box<dyn std::error::Error>> {
    /// #     Ok(Notification {
    /// #         reference_id: ReferenceId::parse("ref-1")?,
    /// #         status: ReportedStatus::parse(status),
    /// #         customer_id: Some(CustomerId::parse("cust-1")?),
    /// #         invoice_id: None,
    /// #         amount: Some(Amount::parse("50")?),
    /// #         currency: Some("USDC".to_owned()),
    /// #         filled_amount: usd.map(Amount::parse).transpose()?,
    /// #         filled_amount_in_usd: usd.map(Amount::parse).transpose()?,
    /// #     })
    /// # }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let policy = CreditPolicy::default();
    /// let partial = policy.check(notification("PARTIALLY_FILLED", Some("20.00"))?)?.decide(None);
    /// let payment = partial.payment.ok_or("applied")?;
    ///
    /// let filled = policy.check(notification("FILLED", Some("50.00"))?)?;
    /// let decision = filled.decide(Some(&payment));
    /// assert_eq!(decision.outcome, Outcome::Applied);
    /// assert_eq!(decision.credited().to_string(), "30.00");
    /// let payment = decision.payment.ok_or("applied")?;
    /// assert_eq!(payment.status(), PaymentStatus::Filled);
    /// assert_eq!(payment.credited_usd().to_string(), "50.00");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn decide(&self, current: Option<&crate::Payment>) -> crate::Decision {
        crate::decision::decide_checked(current, &self.notification, &self.policy)
    }
}

/// Which statuses credit the customer (`CREDIT_ON`).
///
/// ```
/// use payram_domain::{CreditPolicy, PaymentStatus};
///
/// let default = CreditPolicy::default();
/// assert!(default.credits(PaymentStatus::PartiallyFilled));
/// assert!(!default.credits(PaymentStatus::Cancelled));
///
/// let only_complete = CreditPolicy::new([PaymentStatus::Filled, PaymentStatus::OverFilled]);
/// assert!(!only_complete.credits(PaymentStatus::PartiallyFilled));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreditPolicy {
    credit_on: [bool; 5],
}

/// A notification that is well formed but cannot be acted on under the credit policy.
///
/// ```
/// use payram_domain::{CreditPolicy, InvalidNotification, PaymentStatus};
/// # use payram_domain::{Amount, CustomerId, Notification, ReferenceId, ReportedStatus};
/// # fn notification(
/// #     status: &str,
/// #     usd: Option<&str>,
/// # ) -> Result<Notification, Box<dyn std::error::Error>> {
/// #     Ok(Notification {
/// #         reference_id: ReferenceId::parse("ref-1")?,
/// #         status: ReportedStatus::parse(status),
/// #         customer_id: Some(CustomerId::parse("cust-1")?),
/// #         invoice_id: None,
/// #         amount: Some(Amount::parse("50")?),
/// #         currency: Some("USDC".to_owned()),
/// #         filled_amount: usd.map(Amount::parse).transpose()?,
/// #         filled_amount_in_usd: usd.map(Amount::parse).transpose()?,
/// #     })
/// # }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let without_usd = notification("FILLED", None)?;
/// assert_eq!(
///     CreditPolicy::default().check(without_usd).err(),
///     Some(InvalidNotification::MissingUsdAmount(PaymentStatus::Filled))
/// );
///
/// let mut without_customer = notification("FILLED", Some("10"))?;
/// without_customer.customer_id = None;
/// assert_eq!(
///     CreditPolicy::default().validate(&without_customer),
///     Err(InvalidNotification::MissingCustomer(PaymentStatus::Filled))
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidNotification {
    #[error("status {0} credits the customer but filled_amount_in_usd is missing")]
    MissingUsdAmount(PaymentStatus),
    #[error("status {0} credits the customer but customer_id is missing")]
    MissingCustomer(PaymentStatus),
}

impl CreditPolicy {
    /// Credits on exactly the given statuses.
    ///
    /// ```
    /// use payram_domain::{CreditPolicy, PaymentStatus};
    ///
    /// let policy = CreditPolicy::new([PaymentStatus::OverFilled, PaymentStatus::Filled]);
    /// let statuses: Vec<_> = policy.statuses().collect();
    /// assert_eq!(statuses, [PaymentStatus::Filled, PaymentStatus::OverFilled]);
    /// ```
    pub fn new(statuses: impl IntoIterator<Item = PaymentStatus>) -> Self {
        let mut credit_on = [false; 5];
        for status in statuses {
            credit_on[usize::from(status.rank())] = true;
        }
        Self { credit_on }
    }

    /// True when an applied notification with this status credits the customer.
    ///
    /// ```
    /// use payram_domain::{CreditPolicy, PaymentStatus};
    ///
    /// assert!(CreditPolicy::default().credits(PaymentStatus::OverFilled));
    /// assert!(!CreditPolicy::default().credits(PaymentStatus::Open));
    /// ```
    #[must_use]
    pub fn credits(&self, status: PaymentStatus) -> bool {
        self.credit_on[usize::from(status.rank())]
    }

    /// The crediting statuses, lowest rank first.
    ///
    /// ```
    /// use payram_domain::CreditPolicy;
    ///
    /// let names: Vec<&str> = CreditPolicy::default().statuses().map(|s| s.as_str()).collect();
    /// assert_eq!(names, ["PARTIALLY_FILLED", "FILLED", "OVER_FILLED"]);
    /// ```
    pub fn statuses(&self) -> impl Iterator<Item = PaymentStatus> + '_ {
        PaymentStatus::ALL.into_iter().filter(|status| self.credits(*status))
    }

    /// Checks a notification against this policy, keeping both for [`CheckedNotification::decide`].
    ///
    /// ```
    /// use payram_domain::{CreditPolicy, PaymentStatus};
    /// # use payram_domain::{Amount, CustomerId, Notification, ReferenceId, ReportedStatus};
    /// # fn notification(
    /// #     status: &str,
    /// #     usd: Option<&str>,
    /// # ) -> Result<Notification, Box<dyn std::error::Error>> {
    /// #     Ok(Notification {
    /// #         reference_id: ReferenceId::parse("ref-1")?,
    /// #         status: ReportedStatus::parse(status),
    /// #         customer_id: Some(CustomerId::parse("cust-1")?),
    /// #         invoice_id: None,
    /// #         amount: Some(Amount::parse("50")?),
    /// #         currency: Some("USDC".to_owned()),
    /// #         filled_amount: usd.map(Amount::parse).transpose()?,
    /// #         filled_amount_in_usd: usd.map(Amount::parse).transpose()?,
    /// #     })
    /// # }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let policy = CreditPolicy::default();
    /// assert!(policy.check(notification("FILLED", Some("12.00"))?).is_ok());
    /// // A crediting status must say how much was received.
    /// assert!(policy.check(notification("FILLED", None)?).is_err());
    /// // A status the policy does not credit needs no amount; neither does an unknown one.
    /// assert!(policy.check(notification("OPEN", None)?).is_ok());
    /// assert!(policy.check(notification("UNDEFINED", None)?).is_ok());
    /// // Under a policy that credits only FILLED, an amount-less partial is fine.
    /// let strict = CreditPolicy::new([PaymentStatus::Filled]);
    /// assert!(strict.check(notification("PARTIALLY_FILLED", None)?).is_ok());
    /// # Ok(())
    /// # }
    /// ```
    pub fn check(
        &self,
        notification: Notification,
    ) -> Result<CheckedNotification, InvalidNotification> {
        self.validate(&notification)?;
        Ok(CheckedNotification { notification, policy: self.clone() })
    }

    /// Checks that a crediting notification names the amount and the customer to credit.
    ///
    /// ```
    /// use payram_domain::{CreditPolicy, InvalidNotification, PaymentStatus};
    /// # use payram_domain::{Amount, CustomerId, Notification, ReferenceId, ReportedStatus};
    /// # fn notification(
    /// #     status: &str,
    /// #     usd: Option<&str>,
    /// # ) -> Result<Notification, Box<dyn std::error::Error>> {
    /// #     Ok(Notification {
    /// #         reference_id: ReferenceId::parse("ref-1")?,
    /// #         status: ReportedStatus::parse(status),
    /// #         customer_id: Some(CustomerId::parse("cust-1")?),
    /// #         invoice_id: None,
    /// #         amount: Some(Amount::parse("50")?),
    /// #         currency: Some("USDC".to_owned()),
    /// #         filled_amount: usd.map(Amount::parse).transpose()?,
    /// #         filled_amount_in_usd: usd.map(Amount::parse).transpose()?,
    /// #     })
    /// # }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let policy = CreditPolicy::default();
    /// assert_eq!(policy.validate(&notification("OVER_FILLED", Some("30.00"))?), Ok(()));
    /// assert_eq!(
    ///     policy.validate(&notification("PARTIALLY_FILLED", None)?),
    ///     Err(InvalidNotification::MissingUsdAmount(PaymentStatus::PartiallyFilled))
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn validate(&self, notification: &Notification) -> Result<(), InvalidNotification> {
        let ReportedStatus::Known(status) = notification.status else {
            return Ok(());
        };
        if !self.credits(status) {
            return Ok(());
        }
        if notification.filled_amount_in_usd.is_none() {
            return Err(InvalidNotification::MissingUsdAmount(status));
        }
        if notification.customer_id.is_none() {
            return Err(InvalidNotification::MissingCustomer(status));
        }
        Ok(())
    }
}

impl Default for CreditPolicy {
    /// `PARTIALLY_FILLED`, `FILLED` and `OVER_FILLED`: every state in which money was received.
    ///
    /// ```
    /// use payram_domain::{CreditPolicy, PaymentStatus};
    ///
    /// let paid = PaymentStatus::ALL.into_iter().filter(|status| status.is_paid());
    /// assert_eq!(CreditPolicy::default(), CreditPolicy::new(paid));
    /// ```
    fn default() -> Self {
        Self::new(PaymentStatus::ALL.into_iter().filter(|status| status.is_paid()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(usd: Option<&str>, customer: Option<&str>) -> Notification {
        Notification {
            reference_id: ReferenceId::parse("r1").unwrap(),
            status: ReportedStatus::Known(PaymentStatus::Filled),
            customer_id: customer.map(|c| CustomerId::parse(c).unwrap()),
            invoice_id: None,
            amount: None,
            currency: None,
            filled_amount: None,
            filled_amount_in_usd: usd.map(|u| Amount::parse(u).unwrap()),
        }
    }

    #[test]
    fn default_policy_credits_the_paid_states() {
        let statuses: Vec<_> = CreditPolicy::default().statuses().collect();
        assert_eq!(
            statuses,
            vec![PaymentStatus::PartiallyFilled, PaymentStatus::Filled, PaymentStatus::OverFilled]
        );
    }

    #[test]
    fn crediting_notification_needs_usd_amount_and_customer() {
        let policy = CreditPolicy::default();
        assert_eq!(
            policy.validate(&filled(None, Some("c"))),
            Err(InvalidNotification::MissingUsdAmount(PaymentStatus::Filled))
        );
        assert_eq!(
            policy.validate(&filled(Some("1"), None)),
            Err(InvalidNotification::MissingCustomer(PaymentStatus::Filled))
        );
        assert_eq!(policy.validate(&filled(Some("1"), Some("c"))), Ok(()));
    }

    #[test]
    fn non_crediting_notification_needs_neither() {
        let policy = CreditPolicy::new([PaymentStatus::OverFilled]);
        assert_eq!(policy.validate(&filled(None, None)), Ok(()));
    }
}

/// What PayRam's own view of a payment (its lookup API) says about a notification that would
/// credit, under `CONFIRM_BEFORE_CREDIT`.
///
/// ```
/// use payram_domain::{Confirmation, CreditPolicy};
/// # use payram_domain::{Amount, CustomerId, Notification, ReferenceId, ReportedStatus};
/// # fn notification(
/// #     status: &str,
/// #     usd: Option<&str>,
/// # ) -> Result<Notification, Box<dyn std::error::Error>> {
/// #     Ok(Notification {
/// #         reference_id: ReferenceId::parse("ref-1")?,
/// #         status: ReportedStatus::parse(status),
/// #         customer_id: Some(CustomerId::parse("cust-1")?),
/// #         invoice_id: None,
/// #         amount: Some(Amount::parse("50")?),
/// #         currency: Some("USDC".to_owned()),
/// #         filled_amount: usd.map(Amount::parse).transpose()?,
/// #         filled_amount_in_usd: usd.map(Amount::parse).transpose()?,
/// #     })
/// # }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let checked = CreditPolicy::default().check(notification("FILLED", Some("50.00"))?)?;
/// assert!(checked.may_credit());
///
/// // PayRam's lookup API (read with `payram_protocol::parse_payment_lookup`) agrees.
/// let view = notification("FILLED", Some("50.00"))?;
/// assert_eq!(checked.confirmed_by(&view), Confirmation::Confirmed);
///
/// // PayRam has seen less so far: ask again later.
/// let behind = notification("PARTIALLY_FILLED", Some("20.00"))?;
/// assert!(matches!(checked.confirmed_by(&behind), Confirmation::Unconfirmed(_)));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirmation {
    /// PayRam's view is at least as advanced in status and in USD received: the notification
    /// may be applied (as the notification says, never more).
    Confirmed,
    /// PayRam's view does not back the notification (yet): wait and ask again. Says why.
    Unconfirmed(&'static str),
}

impl CheckedNotification {
    /// Whether applying this notification would credit the customer if it moved the payment
    /// forward: its status is credited and it carries a positive USD amount.
    ///
    /// ```
    /// use payram_domain::CreditPolicy;
    /// # use payram_domain::{Amount, CustomerId, Notification, ReferenceId, ReportedStatus};
    /// # fn notification(
    /// #     status: &str,
    /// #     usd: Option<&str>,
    /// # ) -> Result<Notification, Box<dyn std::error::Error>> {
    /// #     Ok(Notification {
    /// #         reference_id: ReferenceId::parse("ref-1")?,
    /// #         status: ReportedStatus::parse(status),
    /// #         customer_id: Some(CustomerId::parse("cust-1")?),
    /// #         invoice_id: None,
    /// #         amount: Some(Amount::parse("50")?),
    /// #         currency: Some("USDC".to_owned()),
    /// #         filled_amount: usd.map(Amount::parse).transpose()?,
    /// #         filled_amount_in_usd: usd.map(Amount::parse).transpose()?,
    /// #     })
    /// # }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let policy = CreditPolicy::default();
    /// assert!(policy.check(notification("PARTIALLY_FILLED", Some("0.01"))?)?.may_credit());
    /// assert!(!policy.check(notification("PARTIALLY_FILLED", Some("0"))?)?.may_credit());
    /// assert!(!policy.check(notification("CANCELLED", Some("40"))?)?.may_credit());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn may_credit(&self) -> bool {
        matches!(self.notification.status, ReportedStatus::Known(status) if self.policy.credits(status))
            && self.notification.filled_amount_in_usd.is_some_and(|usd| usd > Amount::ZERO)
    }

    /// Whether PayRam's view `view` of the same payment confirms this notification: same
    /// reference; a known status at least as advanced; a USD amount at least as large. A view
    /// that contradicts itself (a paid status without a USD amount) confirms nothing, and a
    /// view more advanced than the notification confirms only the notification, so nothing is
    /// ever credited on PayRam's word alone.
    ///
    /// ```
    /// use payram_domain::{Confirmation, CreditPolicy};
    /// # use payram_domain::{Amount, CustomerId, Notification, ReferenceId, ReportedStatus};
    /// # fn notification(
    /// #     status: &str,
    /// #     usd: Option<&str>,
    /// # ) -> Result<Notification, Box<dyn std::error::Error>> {
    /// #     Ok(Notification {
    /// #         reference_id: ReferenceId::parse("ref-1")?,
    /// #         status: ReportedStatus::parse(status),
    /// #         customer_id: Some(CustomerId::parse("cust-1")?),
    /// #         invoice_id: None,
    /// #         amount: Some(Amount::parse("50")?),
    /// #         currency: Some("USDC".to_owned()),
    /// #         filled_amount: usd.map(Amount::parse).transpose()?,
    /// #         filled_amount_in_usd: usd.map(Amount::parse).transpose()?,
    /// #     })
    /// # }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let checked = CreditPolicy::default().check(notification("PARTIALLY_FILLED", Some("20"))?)?;
    /// // A more advanced view confirms.
    /// let ahead = notification("FILLED", Some("50"))?;
    /// assert_eq!(checked.confirmed_by(&ahead), Confirmation::Confirmed);
    /// // A view about another payment never does.
    /// let mut other = notification("FILLED", Some("50"))?;
    /// other.reference_id = payram_domain::ReferenceId::parse("ref-2")?;
    /// assert_eq!(
    ///     checked.confirmed_by(&other),
    ///     Confirmation::Unconfirmed("PayRam answered about another payment")
    /// );
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn confirmed_by(&self, view: &Notification) -> Confirmation {
        let own = &self.notification;
        if view.reference_id != own.reference_id {
            return Confirmation::Unconfirmed("PayRam answered about another payment");
        }
        let ReportedStatus::Known(view_status) = view.status else {
            return Confirmation::Unconfirmed("PayRam reports a status it does not define");
        };
        if view_status.is_paid() && view.filled_amount_in_usd.is_none() {
            return Confirmation::Unconfirmed(
                "PayRam's answer contradicts itself: a paid status without a USD amount",
            );
        }
        let own_rank = match own.status {
            ReportedStatus::Known(status) => status.rank(),
            ReportedStatus::Unknown(_) => 0,
        };
        let own_usd = own.filled_amount_in_usd.unwrap_or(Amount::ZERO);
        let view_usd = view.filled_amount_in_usd.unwrap_or(Amount::ZERO);
        if view_usd < own_usd {
            return Confirmation::Unconfirmed("PayRam reports less USD received than notified");
        }
        if view_status.rank() < own_rank {
            return Confirmation::Unconfirmed(
                "PayRam reports a less advanced status than notified",
            );
        }
        Confirmation::Confirmed
    }
}

#[cfg(test)]
mod confirmation_tests {
    use super::*;

    fn notification(status: &str, usd: Option<&str>) -> Notification {
        Notification {
            reference_id: ReferenceId::parse("ref-1").unwrap(),
            status: ReportedStatus::parse(status),
            customer_id: Some(CustomerId::parse("cust-1").unwrap()),
            invoice_id: None,
            amount: Some(Amount::parse("100").unwrap()),
            currency: Some("USDC".into()),
            filled_amount: usd.map(|usd| Amount::parse(usd).unwrap()),
            filled_amount_in_usd: usd.map(|usd| Amount::parse(usd).unwrap()),
        }
    }

    fn checked(status: &str, usd: Option<&str>) -> CheckedNotification {
        CreditPolicy::default().check(notification(status, usd)).unwrap()
    }

    #[test]
    fn only_credited_statuses_with_money_need_confirming() {
        assert!(checked("FILLED", Some("100")).may_credit());
        assert!(checked("PARTIALLY_FILLED", Some("0.01")).may_credit());
        assert!(!checked("PARTIALLY_FILLED", Some("0")).may_credit());
        assert!(!checked("OPEN", None).may_credit());
        assert!(!checked("CANCELLED", Some("40")).may_credit());
        assert!(!checked("CLOSED", None).may_credit());
    }

    #[test]
    fn a_view_as_advanced_or_more_confirms() {
        let filled = checked("FILLED", Some("100"));
        assert_eq!(
            filled.confirmed_by(&notification("FILLED", Some("100"))),
            Confirmation::Confirmed
        );
        assert_eq!(
            filled.confirmed_by(&notification("OVER_FILLED", Some("120"))),
            Confirmation::Confirmed
        );
        let partial = checked("PARTIALLY_FILLED", Some("40"));
        assert_eq!(
            partial.confirmed_by(&notification("FILLED", Some("100"))),
            Confirmation::Confirmed
        );
    }

    #[test]
    fn a_view_behind_or_contradicting_itself_does_not_confirm() {
        let filled = checked("FILLED", Some("100"));
        for view in [
            notification("OPEN", None),
            notification("PARTIALLY_FILLED", Some("40")),
            notification("FILLED", Some("99.99")),
            notification("FILLED", None),
            notification("CANCELLED", Some("100")),
            notification("UNDEFINED", Some("100")),
        ] {
            assert!(
                matches!(filled.confirmed_by(&view), Confirmation::Unconfirmed(_)),
                "{view:?} must not confirm"
            );
        }
        let mut other = notification("FILLED", Some("100"));
        other.reference_id = ReferenceId::parse("ref-2").unwrap();
        assert!(matches!(filled.confirmed_by(&other), Confirmation::Unconfirmed(_)));
    }
}
