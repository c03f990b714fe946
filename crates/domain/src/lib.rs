//! The PayRam payment domain: exact money, payment states, the payment and its invariants,
//! and the pure decision of what one notification does to one payment.
//!
//! Nothing here performs I/O, awaits, reads a clock or knows a serialisation format, so any
//! service that handles PayRam payments can reuse it. Every public constructor enforces its
//! type's invariant: an [`Amount`] is never negative, a [`ReferenceId`] is never empty, and a
//! [`Payment`] only changes through [`decide`].
//!
//! The flow for one delivery: a wire parser (such as `payram_protocol::parse_body`) produces a
//! [`Notification`]; [`CreditPolicy::check`] makes sure a crediting one names its amount and
//! customer; [`CheckedNotification::decide`] (or [`decide`]) compares it with the stored
//! [`Payment`] and returns a [`Decision`]: the [`Outcome`], the payment to store when it
//! changed, and the [`CreditDue`] when one is owed. The caller stores both together.
//!
//! # Example: one payment, delivered out of order and twice
//!
//! PayRam sends no event id, retries, and does not keep order. Whatever the order, a payment
//! credits its customer exactly the USD received.
//!
//! ```
//! use std::error::Error;
//!
//! use payram_domain::{
//!     Amount, CreditPolicy, CustomerId, EventOutcome, Notification, Payment, PaymentStatus,
//!     ReferenceId, ReportedStatus,
//! };
//!
//! /// A notification about one payment, as a wire parser produces it.
//! fn notification(status: &str, usd: &str) -> Result<Notification, Box<dyn Error>> {
//!     Ok(Notification {
//!         reference_id: ReferenceId::parse("3f1c1e7a-5b2d-4c8e-9a61-0d2f7b9e4c11")?,
//!         status: ReportedStatus::parse(status),
//!         customer_id: Some(CustomerId::parse("cust_1001")?),
//!         invoice_id: Some("INV-0090".to_owned()),
//!         amount: Some(Amount::parse("50.000000")?),
//!         currency: Some("USDC".to_owned()),
//!         filled_amount: Some(Amount::parse(usd)?),
//!         filled_amount_in_usd: Some(Amount::parse(usd)?),
//!     })
//! }
//!
//! # fn main() -> Result<(), Box<dyn Error>> {
//! // Credits PARTIALLY_FILLED, FILLED and OVER_FILLED.
//! let policy = CreditPolicy::default();
//!
//! // The deliveries as they arrive: the final state, a late retry of the partial state, the
//! // final state again.
//! let deliveries = [("FILLED", "50.00"), ("partially_filled", "20.00"), ("FILLED", "50.00")];
//! let mut stored: Option<Payment> = None;
//! let mut credited = Amount::ZERO;
//! let mut outcomes = Vec::new();
//! for (status, usd) in deliveries {
//!     let checked = policy.check(notification(status, usd)?)?;
//!     let decision = checked.decide(stored.as_ref());
//!     credited = credited.checked_add(decision.credited()).ok_or("credit total overflows")?;
//!     outcomes.push(EventOutcome::from(decision.outcome));
//!     // A real service writes the payment and the credit in one transaction.
//!     if let Some(payment) = decision.payment {
//!         stored = Some(payment);
//!     }
//! }
//! assert_eq!(outcomes, [EventOutcome::Applied, EventOutcome::Stale, EventOutcome::Duplicate]);
//! assert_eq!(credited.to_string(), "50.00");
//!
//! let payment = stored.ok_or("the first delivery stored the payment")?;
//! assert_eq!(payment.status(), PaymentStatus::Filled);
//! assert_eq!(payment.credited_usd(), credited);
//! # Ok(())
//! # }
//! ```

mod decision;
mod escape;
mod event;
mod ids;
mod money;
mod notification;
mod payment;
mod status;

pub use decision::{CreditDue, Decision, Outcome, decide};
pub use escape::Escaped;
pub use event::{AuthMethod, EventOutcome, UnknownOutcome};
pub use ids::{CustomerId, IdError, ReferenceId};
pub use money::{Amount, AmountError, Total};
pub use notification::{
    CheckedNotification, Confirmation, CreditPolicy, Inbound, InvalidNotification, Notification,
    PayoutNotification,
};
pub use payment::{CorruptPayment, Payment, PaymentRecord, Progress};
pub use status::{PaymentStatus, ReportedStatus, UnknownStatus};
