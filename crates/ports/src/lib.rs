//! The ports of payram-merchant: the traits between the core and the world, the data they
//! speak and their errors. Nothing here decides anything; the use cases are in `payram_core`.
//!
//! Outbound ports, what the core needs from the world, each small and shaped by
//! responsibility:
//!
//! | port | side | what it does |
//! |---|---|---|
//! | [`Ledger`] | write | records a delivery and applies it, one whole command per transaction |
//! | [`RetrySchedule`] | write | claims failed and waiting events when due, stores each attempt |
//! | [`Outbox`] | write | claims credits due to be forwarded, stores each attempt |
//! | [`SessionRevocations`] | write | records signed-out dashboard sessions |
//! | [`Queries`] | read | what the admin API, the dashboard, the metrics and the tools read |
//! | [`ReconcileQueue`] | read | payments to ask PayRam about |
//! | [`Crediting`] | out | hands a committed credit to the merchant's logic |
//! | [`PayramGateway`] | out | PayRam's own view of a payment (its API) |
//! | [`BodyParser`] | out | PayRam's wire formats |
//! | [`Clock`] | out | the time |
//!
//! Inbound ports, what driving adapters (HTTP, CLI, workers) may ask of the core:
//! [`PaymentUseCases`] and [`OutboxUseCases`].
//!
//! With the `mocks` feature every port has a `mockall` mock (`MockLedger`, `MockQueries`, ...).
//!
//! This crate names no web framework, database or async runtime.

mod clock;
mod crediting;
mod error;
mod gateway;
mod inbound;
mod ledger;
mod model;
mod outbox;
mod parser;
mod queries;
mod reconcile;
mod schedule;
mod sessions;

pub use clock::Clock;
#[cfg(any(test, feature = "mocks"))]
pub use clock::MockClock;
pub use crediting::Crediting;
#[cfg(any(test, feature = "mocks"))]
pub use crediting::MockCrediting;
pub use error::{BoxError, CreditError, ErrorChain, RepositoryError, ServiceError};
#[cfg(any(test, feature = "mocks"))]
pub use gateway::MockPayramGateway;
pub use gateway::{GatewayError, PayramGateway, PayramPayment};
#[cfg(any(test, feature = "mocks"))]
pub use inbound::{MockOutboxUseCases, MockPaymentUseCases};
pub use inbound::{OutboxUseCases, PaymentUseCases};
#[cfg(any(test, feature = "mocks"))]
pub use ledger::MockLedger;
pub use ledger::{EventNote, Ledger};
pub use model::{
    Applied, CreditEntry, CreditFilter, CustomerBalance, CustomerView, Delivery, EventFilter,
    EventId, EventOrder, EventRecord, EventSummary, KeyUse, NewEvent, Origin, PaymentCursor,
    PaymentFilter, PaymentItem, PaymentView, Receipt, ReconcileCandidate, RecordedCredit,
    RecordedPayout, Rejection, Stats,
};
#[cfg(any(test, feature = "mocks"))]
pub use outbox::MockOutbox;
pub use outbox::{Outbox, OutboxEntry, OutboxId, OutboxState, UnknownOutboxState};
pub use parser::BodyParser;
#[cfg(any(test, feature = "mocks"))]
pub use parser::MockBodyParser;
#[cfg(any(test, feature = "mocks"))]
pub use queries::MockQueries;
pub use queries::Queries;
#[cfg(any(test, feature = "mocks"))]
pub use reconcile::MockReconcileQueue;
pub use reconcile::ReconcileQueue;
#[cfg(any(test, feature = "mocks"))]
pub use schedule::MockRetrySchedule;
pub use schedule::{Attempt, RetrySchedule};
#[cfg(any(test, feature = "mocks"))]
pub use sessions::MockSessionRevocations;
pub use sessions::{SessionDigest, SessionRevocations};
