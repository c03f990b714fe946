//! The PayRam payment domain: exact money, payment states, the payment and its invariants,
//! and the pure decision of what one notification does to one payment.
//!
//! Nothing here performs I/O, awaits, reads a clock or knows a serialisation format, so any
//! service that handles PayRam payments can reuse it. Every public constructor enforces its
//! type's invariant: an [`Amount`] is never negative, a [`ReferenceId`] is never empty, and a
//! [`Payment`] only changes through [`decide`].

mod decision;
mod event;
mod ids;
mod money;
mod notification;
mod payment;
mod status;

pub use decision::{CreditDue, Decision, Outcome, decide};
pub use event::{AuthMethod, EventOutcome, UnknownOutcome};
pub use ids::{CustomerId, IdError, ReferenceId};
pub use money::{Amount, AmountError};
pub use notification::{
    CheckedNotification, Confirmation, CreditPolicy, Inbound, InvalidNotification, Notification,
    PayoutNotification,
};
pub use payment::{CorruptPayment, Payment, PaymentRecord, Progress};
pub use status::{PaymentStatus, ReportedStatus, UnknownStatus};
