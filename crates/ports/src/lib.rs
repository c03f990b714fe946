//! The ports of payram-merchant and the use-case service that drives them.
//!
//! Outbound ports ([`PaymentRepository`], [`OutboxRepository`], [`Crediting`], [`Clock`],
//! [`BodyParser`], [`PayramGateway`]) are what the core needs from the world; the inbound ports
//! ([`PaymentUseCases`], [`OutboxUseCases`]) are what driving adapters (HTTP, CLI) may ask of
//! the core. [`PaymentService`] and [`OutboxService`] implement them on top of the outbound
//! ones; [`ReconcileService`] asks PayRam about quiet payments and feeds its answers through
//! [`PaymentService`].
//! With the `mocks` feature every port has a `mockall` mock (`MockPaymentRepository`, ...).
//!
//! This crate names no web framework, database or async runtime.

mod clock;
mod crediting;
mod error;
mod gateway;
mod model;
mod outbox;
mod parser;
mod reconcile;
mod repository;
mod retry;
mod service;

#[cfg(any(test, feature = "mocks"))]
pub use clock::MockClock;
pub use clock::{Clock, SystemClock};
#[cfg(any(test, feature = "mocks"))]
pub use crediting::MockCrediting;
pub use crediting::{Crediting, LogCrediting};
pub use error::{BoxError, CreditError, ErrorChain, RepositoryError, ServiceError};
#[cfg(any(test, feature = "mocks"))]
pub use gateway::MockPayramGateway;
pub use gateway::{GatewayError, PayramGateway, PayramPayment};
pub use model::{
    Applied, CreditEntry, CreditFilter, CustomerBalance, CustomerView, Delivery, EventFilter,
    EventId, EventRecord, EventSummary, KeyUse, NewEvent, Origin, PaymentCursor, PaymentFilter,
    PaymentItem, PaymentView, Receipt, ReconcileCandidate, RecordedCredit, RecordedPayout,
    Rejection, Stats,
};
#[cfg(any(test, feature = "mocks"))]
pub use outbox::{MockOutboxRepository, MockOutboxUseCases};
pub use outbox::{
    OutboxEntry, OutboxId, OutboxRepository, OutboxService, OutboxState, OutboxUseCases,
    UnknownOutboxState,
};
pub use parser::BodyParser;
#[cfg(any(test, feature = "mocks"))]
pub use parser::MockBodyParser;
pub use reconcile::{
    Check, CheckError, RECONCILE_BATCH, ReconcileReport, ReconcileService, SETTLED,
};
#[cfg(any(test, feature = "mocks"))]
pub use repository::MockPaymentRepository;
pub use repository::PaymentRepository;
pub use retry::RetryPolicy;
#[cfg(any(test, feature = "mocks"))]
pub use service::MockPaymentUseCases;
pub use service::{PaymentService, PaymentUseCases};
