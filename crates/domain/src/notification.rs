use crate::{Amount, CustomerId, PaymentStatus, ReferenceId, ReportedStatus};

/// One PayRam payment notification, parsed and normalised.
///
/// Amounts are cumulative (what was received so far), never deltas. Optional fields are
/// `None` when PayRam sent `null` or left them out.
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedNotification {
    notification: Notification,
    policy: CreditPolicy,
}

impl CheckedNotification {
    /// The notification.
    #[must_use]
    pub const fn notification(&self) -> &Notification {
        &self.notification
    }

    /// What this notification does to the payment (see [`crate::decide`]).
    #[must_use]
    pub fn decide(&self, current: Option<&crate::Payment>) -> crate::Decision {
        crate::decision::decide_checked(current, &self.notification, &self.policy)
    }
}

/// Which statuses credit the customer (`CREDIT_ON`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreditPolicy {
    credit_on: [bool; 5],
}

/// A notification that is well formed but cannot be acted on under the credit policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidNotification {
    #[error("status {0} credits the customer but filled_amount_in_usd is missing")]
    MissingUsdAmount(PaymentStatus),
    #[error("status {0} credits the customer but customer_id is missing")]
    MissingCustomer(PaymentStatus),
}

impl CreditPolicy {
    /// Credits on exactly the given statuses.
    pub fn new(statuses: impl IntoIterator<Item = PaymentStatus>) -> Self {
        let mut credit_on = [false; 5];
        for status in statuses {
            credit_on[usize::from(status.rank())] = true;
        }
        Self { credit_on }
    }

    /// True when an applied notification with this status credits the customer.
    #[must_use]
    pub fn credits(&self, status: PaymentStatus) -> bool {
        self.credit_on[usize::from(status.rank())]
    }

    /// The crediting statuses, lowest rank first.
    pub fn statuses(&self) -> impl Iterator<Item = PaymentStatus> + '_ {
        PaymentStatus::ALL.into_iter().filter(|status| self.credits(*status))
    }

    /// Checks a notification against this policy, keeping both for [`CheckedNotification::decide`].
    pub fn check(
        &self,
        notification: Notification,
    ) -> Result<CheckedNotification, InvalidNotification> {
        self.validate(&notification)?;
        Ok(CheckedNotification { notification, policy: self.clone() })
    }

    /// Checks that a crediting notification names the amount and the customer to credit.
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
