use crate::{
    Amount, CreditPolicy, CustomerId, InvalidNotification, Notification, Payment, PaymentRecord,
    PaymentStatus, Progress, ReportedStatus,
};

/// What a notification did to its payment.
///
/// ```
/// use payram_domain::{CreditPolicy, Outcome, decide};
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
/// let policy = CreditPolicy::default();
/// let filled = decide(None, &notification("FILLED", Some("50"))?, &policy)?;
/// assert_eq!(filled.outcome, Outcome::Applied);
/// let payment = filled.payment.as_ref();
///
/// let outcome = |status, usd| -> Result<Outcome, Box<dyn std::error::Error>> {
///     Ok(decide(payment, &notification(status, usd)?, &policy)?.outcome)
/// };
/// assert_eq!(outcome("FILLED", Some("50"))?, Outcome::Duplicate);
/// assert_eq!(outcome("PARTIALLY_FILLED", Some("20"))?, Outcome::Stale);
/// assert_eq!(outcome("CLOSED", Some("50"))?, Outcome::Ignored);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The payment moved forward, or a credit it was owed was made.
    Applied,
    /// The notification is exactly where the payment already stands.
    Duplicate,
    /// The notification is behind the payment: nothing changed.
    Stale,
    /// The status is unknown: nothing changed.
    Ignored,
}

/// A credit owed to a customer, to be written in the same transaction as the payment.
///
/// ```
/// use payram_domain::{CreditPolicy, decide};
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
/// let partial = decide(None, &notification("PARTIALLY_FILLED", Some("20.00"))?, &policy)?;
/// let filled =
///     decide(partial.payment.as_ref(), &notification("FILLED", Some("50.00"))?, &policy)?;
/// let credit = filled.credit.ok_or("the rest is owed")?;
/// assert_eq!(credit.customer_id.as_str(), "cust-1");
/// assert_eq!(credit.amount.to_string(), "30.00");
/// assert_eq!(credit.credited_total.to_string(), "50.00");
/// assert_eq!(credit.seq, 2);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreditDue {
    pub customer_id: CustomerId,
    /// What this delivery credits.
    pub amount: Amount,
    /// The payment's credited total after this credit.
    pub credited_total: Amount,
    /// 1 for the payment's first credit, 2 for its second, and so on. Storage keeps
    /// `(reference_id, seq)` unique, so two writers that raced on the same payment cannot both
    /// commit a credit.
    pub seq: u32,
}

/// The result of [`decide`]: the outcome, the payment to store (when it changed) and the credit
/// to write (when one is owed).
///
/// ```
/// use payram_domain::{CreditPolicy, Outcome, decide};
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
/// // OPEN changes the payment (it is new) but owes nothing.
/// let open = decide(None, &notification("OPEN", None)?, &policy)?;
/// assert_eq!(open.outcome, Outcome::Applied);
/// assert!(open.payment.is_some() && open.credit.is_none());
///
/// // A duplicate changes nothing: nothing to store, nothing to credit.
/// let again = decide(open.payment.as_ref(), &notification("OPEN", None)?, &policy)?;
/// assert_eq!(again.outcome, Outcome::Duplicate);
/// assert!(again.payment.is_none() && again.credit.is_none());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    /// `Some` exactly when the payment changed and must be written.
    pub payment: Option<Payment>,
    pub credit: Option<CreditDue>,
}

impl Decision {
    const fn unchanged(outcome: Outcome) -> Self {
        Self { outcome, payment: None, credit: None }
    }

    /// What this delivery credited: the credit's amount, or zero.
    ///
    /// ```
    /// use payram_domain::{Amount, CreditPolicy, decide};
    /// # use payram_domain::{CustomerId, Notification, ReferenceId, ReportedStatus};
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
    /// let paid = decide(None, &notification("OVER_FILLED", Some("30.00"))?, &policy)?;
    /// assert_eq!(paid.credited().to_string(), "30.00");
    /// let cancelled = decide(None, &notification("CANCELLED", None)?, &policy)?;
    /// assert_eq!(cancelled.credited(), Amount::ZERO);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn credited(&self) -> Amount {
        self.credit.as_ref().map_or(Amount::ZERO, |credit| credit.amount)
    }
}

/// Decides what one notification does to one payment (`None` when the payment is unknown).
///
/// The rules, each keeping a promise that holds in any delivery order and with any duplicates:
/// - Unknown statuses are [`Outcome::Ignored`] and change nothing.
/// - Progress is ordered by (USD received, status rank). A notification ahead of the payment is
///   applied; an equal one is a duplicate; one behind is stale. Amounts never go down.
/// - The credited total of a payment is the largest USD amount among its notifications whose
///   status is in the credit policy: a notification in such a status that reports more than was
///   credited credits the difference. Normally that notification is also ahead; the exception is
///   a payment whose non-crediting state (such as CANCELLED) overtook an earlier paid state at the
///   same amount. Then the credit is still made (outcome applied) and the status stays where it
///   is, so money received is never left uncredited.
/// - A paid state applied on top of CANCELLED marks the payment `late_payment`.
///
/// Fails only when the notification does not pass [`CreditPolicy::validate`]; use
/// [`CreditPolicy::check`] and [`crate::CheckedNotification::decide`] to validate once.
///
/// # Examples
///
/// Money that arrives after the payment was cancelled is credited, and the payment is marked:
///
/// ```
/// use payram_domain::{CreditPolicy, Outcome, PaymentStatus, decide};
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
/// let policy = CreditPolicy::default();
/// let cancelled = decide(None, &notification("CANCELLED", None)?, &policy)?;
/// let paid = notification("FILLED", Some("40.00"))?;
/// let late = decide(cancelled.payment.as_ref(), &paid, &policy)?;
/// assert_eq!(late.outcome, Outcome::Applied);
/// assert_eq!(late.credited().to_string(), "40.00");
/// let payment = late.payment.ok_or("applied")?;
/// assert_eq!(payment.status(), PaymentStatus::Filled);
/// assert!(payment.record().late_payment);
///
/// // A crediting status without a USD amount cannot be acted on.
/// assert!(decide(None, &notification("FILLED", None)?, &policy).is_err());
/// # Ok(())
/// # }
/// ```
pub fn decide(
    current: Option<&Payment>,
    notification: &Notification,
    policy: &CreditPolicy,
) -> Result<Decision, InvalidNotification> {
    policy.validate(notification)?;
    Ok(decide_checked(current, notification, policy))
}

/// [`decide`] for a notification already validated against `policy`.
pub(crate) fn decide_checked(
    current: Option<&Payment>,
    notification: &Notification,
    policy: &CreditPolicy,
) -> Decision {
    let ReportedStatus::Known(status) = notification.status else {
        return Decision::unchanged(Outcome::Ignored);
    };
    let incoming = Progress {
        filled_usd: notification.filled_amount_in_usd.unwrap_or(Amount::ZERO),
        rank: status.rank(),
    };
    let ahead = current.is_none_or(|payment| incoming > payment.progress());
    let mut next = match current {
        Some(payment) if !ahead => payment.record().clone(),
        _ => advance(current.map(Payment::record), notification, status),
    };

    let credit = if policy.credits(status) { owed(&mut next, notification) } else { None };
    let outcome = if ahead || credit.is_some() {
        Outcome::Applied
    } else if current.is_some_and(|payment| incoming == payment.progress()) {
        Outcome::Duplicate
    } else {
        Outcome::Stale
    };
    if outcome != Outcome::Applied {
        return Decision::unchanged(outcome);
    }
    Decision { outcome, payment: Some(Payment::from_trusted(next)), credit }
}

/// The payment after an applied notification: the notification's facts win, except that amounts
/// never go down and the first customer named stays the one credited.
fn advance(
    current: Option<&PaymentRecord>,
    notification: &Notification,
    status: PaymentStatus,
) -> PaymentRecord {
    let Some(current) = current else {
        return PaymentRecord {
            reference_id: notification.reference_id.clone(),
            status,
            customer_id: notification.customer_id.clone(),
            invoice_id: notification.invoice_id.clone(),
            amount: notification.amount,
            currency: notification.currency.clone(),
            filled_amount: notification.filled_amount,
            filled_amount_in_usd: notification.filled_amount_in_usd,
            credited_usd: Amount::ZERO,
            late_payment: false,
            credit_count: 0,
        };
    };
    PaymentRecord {
        reference_id: current.reference_id.clone(),
        status,
        customer_id: current.customer_id.clone().or_else(|| notification.customer_id.clone()),
        invoice_id: notification.invoice_id.clone().or_else(|| current.invoice_id.clone()),
        amount: notification.amount.or(current.amount),
        currency: notification.currency.clone().or_else(|| current.currency.clone()),
        filled_amount: notification.filled_amount.max(current.filled_amount),
        filled_amount_in_usd: notification.filled_amount_in_usd.max(current.filled_amount_in_usd),
        credited_usd: current.credited_usd,
        late_payment: current.late_payment
            || (current.status == PaymentStatus::Cancelled && status.is_paid()),
        credit_count: current.credit_count,
    }
}

/// Credits what the notification's USD amount exceeds the credited total by, if anything.
fn owed(next: &mut PaymentRecord, notification: &Notification) -> Option<CreditDue> {
    let reported = notification.filled_amount_in_usd?;
    let amount = reported.checked_sub(next.credited_usd).filter(|amount| !amount.is_zero())?;
    let customer_id = next.customer_id.clone().or_else(|| notification.customer_id.clone())?;
    next.customer_id = Some(customer_id.clone());
    next.credited_usd = reported;
    next.credit_count = next.credit_count.saturating_add(1);
    Some(CreditDue { customer_id, amount, credited_total: reported, seq: next.credit_count })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::ReferenceId;

    fn note(status: &str, usd: Option<&str>) -> Notification {
        Notification {
            reference_id: ReferenceId::parse("ref-1").unwrap(),
            status: ReportedStatus::parse(status),
            customer_id: Some(CustomerId::parse("cust-1").unwrap()),
            invoice_id: Some("inv-1".into()),
            amount: Some(Amount::parse("50.00").unwrap()),
            currency: Some("USDC".into()),
            filled_amount: usd.map(|u| Amount::parse(u).unwrap()),
            filled_amount_in_usd: usd.map(|u| Amount::parse(u).unwrap()),
        }
    }

    /// Applies notifications in order, returning each outcome and credit, and the final payment.
    fn run(notes: &[Notification], policy: &CreditPolicy) -> (Vec<(Outcome, String)>, Payment) {
        let mut payment: Option<Payment> = None;
        let mut seen = Vec::new();
        for n in notes {
            let decision = decide(payment.as_ref(), n, policy).unwrap();
            seen.push((decision.outcome, decision.credited().to_string()));
            if let Some(next) = decision.payment {
                payment = Some(next);
            }
        }
        (seen, payment.unwrap())
    }

    fn applied(credit: &str) -> (Outcome, String) {
        (Outcome::Applied, credit.to_owned())
    }

    #[test]
    fn partial_then_filled_credits_the_difference() {
        let (seen, payment) = run(
            &[note("PARTIALLY_FILLED", Some("20.00")), note("FILLED", Some("50.00"))],
            &CreditPolicy::default(),
        );
        assert_eq!(seen, vec![applied("20.00"), applied("30.00")]);
        assert_eq!(payment.credited_usd().to_string(), "50.00");
        assert_eq!(payment.record().credit_count, 2);
    }

    #[test]
    fn the_same_filled_notification_three_times_credits_once() {
        let filled = note("FILLED", Some("50.00"));
        let (seen, _) = run(&[filled.clone(), filled.clone(), filled], &CreditPolicy::default());
        assert_eq!(
            seen,
            vec![
                applied("50.00"),
                (Outcome::Duplicate, "0".into()),
                (Outcome::Duplicate, "0".into())
            ]
        );
    }

    #[test]
    fn an_older_notification_after_a_newer_one_is_stale() {
        let (seen, payment) = run(
            &[note("FILLED", Some("50.00")), note("PARTIALLY_FILLED", Some("20.00"))],
            &CreditPolicy::default(),
        );
        assert_eq!(seen, vec![applied("50.00"), (Outcome::Stale, "0".into())]);
        assert_eq!(payment.status(), PaymentStatus::Filled);
    }

    #[test]
    fn open_after_filled_is_stale_and_amounts_never_go_down() {
        let (seen, payment) =
            run(&[note("FILLED", Some("50")), note("OPEN", None)], &CreditPolicy::default());
        assert_eq!(seen[1], (Outcome::Stale, "0".into()));
        assert_eq!(payment.record().filled_amount_in_usd, Some(Amount::parse("50").unwrap()));
    }

    #[test]
    fn money_after_cancel_is_credited_and_marked_late() {
        let (seen, payment) = run(
            &[note("CANCELLED", None), note("FILLED", Some("40.00"))],
            &CreditPolicy::default(),
        );
        assert_eq!(seen, vec![applied("0"), applied("40.00")]);
        assert!(payment.record().late_payment);
        assert_eq!(payment.status(), PaymentStatus::Filled);
    }

    #[test]
    fn a_cancel_never_credits_and_never_takes_back() {
        let (seen, payment) = run(
            &[note("PARTIALLY_FILLED", Some("49.99")), note("CANCELLED", Some("49.99"))],
            &CreditPolicy::default(),
        );
        assert_eq!(seen, vec![applied("49.99"), applied("0")]);
        assert_eq!(payment.status(), PaymentStatus::Cancelled);
        assert_eq!(payment.credited_usd().to_string(), "49.99");
        assert!(!payment.record().late_payment);
    }

    #[test]
    fn a_partial_overtaken_by_its_cancel_is_still_credited() {
        let (seen, payment) = run(
            &[note("CANCELLED", Some("49.99")), note("PARTIALLY_FILLED", Some("49.99"))],
            &CreditPolicy::default(),
        );
        assert_eq!(seen, vec![applied("0"), applied("49.99")]);
        assert_eq!(payment.status(), PaymentStatus::Cancelled);
        assert_eq!(payment.credited_usd().to_string(), "49.99");
    }

    #[test]
    fn unknown_statuses_are_ignored() {
        let decision = decide(None, &note("CLOSED", Some("50")), &CreditPolicy::default()).unwrap();
        assert_eq!(decision, Decision::unchanged(Outcome::Ignored));
    }

    #[test]
    fn a_crediting_status_without_usd_is_invalid() {
        let err = decide(None, &note("FILLED", None), &CreditPolicy::default()).unwrap_err();
        assert_eq!(err, InvalidNotification::MissingUsdAmount(PaymentStatus::Filled));
    }

    #[test]
    fn the_first_customer_named_is_the_one_credited() {
        let mut second = note("FILLED", Some("50"));
        second.customer_id = Some(CustomerId::parse("someone-else").unwrap());
        let first = note("PARTIALLY_FILLED", Some("10"));
        let policy = CreditPolicy::default();
        let payment = decide(None, &first, &policy).unwrap().payment.unwrap();
        let decision = decide(Some(&payment), &second, &policy).unwrap();
        assert_eq!(decision.credit.unwrap().customer_id.as_str(), "cust-1");
    }

    #[test]
    fn a_custom_policy_credits_only_its_statuses() {
        let policy = CreditPolicy::new([PaymentStatus::Filled]);
        let (seen, _) =
            run(&[note("PARTIALLY_FILLED", Some("20")), note("FILLED", Some("50"))], &policy);
        assert_eq!(seen, vec![applied("0"), applied("50")]);
    }

    #[test]
    fn credit_sequence_numbers_count_up() {
        let policy = CreditPolicy::default();
        let first = decide(None, &note("PARTIALLY_FILLED", Some("1")), &policy).unwrap();
        assert_eq!(first.credit.as_ref().unwrap().seq, 1);
        let second = decide(first.payment.as_ref(), &note("FILLED", Some("2")), &policy).unwrap();
        let credit = second.credit.unwrap();
        assert_eq!((credit.seq, credit.credited_total.to_string()), (2, "2".to_owned()));
    }

    /// One step of a payment's true history: a status and the cumulative USD received by then.
    fn history() -> impl Strategy<Value = Vec<(PaymentStatus, u32)>> {
        // Increments in cents; a history walks forward through states, never back.
        prop::collection::vec((0usize..5, 0u32..5_000), 1..8).prop_map(|steps| {
            let mut total = 0u32;
            let mut rank = 0usize;
            let mut out = Vec::new();
            for (bump, cents) in steps {
                rank = (rank + bump % 2).min(4);
                total += cents;
                out.push((PaymentStatus::ALL[rank], total));
            }
            out
        })
    }

    fn cents(value: u32) -> String {
        format!("{}.{:02}", value / 100, value % 100)
    }

    /// A history, plus the order of its deliveries: each notification at least once, some
    /// more than once, shuffled.
    fn deliveries() -> impl Strategy<Value = (Vec<(PaymentStatus, u32)>, Vec<usize>)> {
        history()
            .prop_flat_map(|steps| {
                let n = steps.len();
                (Just(steps), prop::collection::vec(0..n, 0..20))
            })
            .prop_flat_map(|(steps, extra)| {
                let mut order: Vec<usize> = (0..steps.len()).collect();
                order.extend(extra);
                (Just(steps), Just(order).prop_shuffle())
            })
    }

    proptest! {
        /// For any sequence of one payment's notifications, in any order, with any duplicates,
        /// the total credited under the default policy is the largest USD amount among its
        /// paid-state notifications, and the final state is the most advanced one.
        #[test]
        fn any_order_with_duplicates_credits_the_largest_paid_amount(
            (steps, order) in deliveries(),
        ) {
            let notes: Vec<Notification> = steps
                .iter()
                .map(|(status, usd)| note(status.as_str(), Some(&cents(*usd))))
                .collect();
            let policy = CreditPolicy::default();
            let mut payment: Option<Payment> = None;
            let mut total = Amount::ZERO;
            for i in order {
                let decision = decide(payment.as_ref(), &notes[i], &policy).unwrap();
                total = total.checked_add(decision.credited()).unwrap();
                if let Some(next) = decision.payment {
                    payment = Some(next);
                }
            }
            let payment = payment.unwrap();

            let expected = steps
                .iter()
                .filter(|(status, _)| status.is_paid())
                .map(|(_, usd)| Amount::parse(&cents(*usd)).unwrap())
                .max()
                .unwrap_or(Amount::ZERO);
            prop_assert_eq!(total, expected);
            prop_assert_eq!(payment.credited_usd(), expected);

            let most_advanced = steps
                .iter()
                .map(|(status, usd)| Progress {
                    filled_usd: Amount::parse(&cents(*usd)).unwrap(),
                    rank: status.rank(),
                })
                .max()
                .unwrap();
            prop_assert_eq!(payment.progress(), most_advanced);
        }
    }
}
