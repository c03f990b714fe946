//! The ports of payram-merchant and the use-case service that drives them.
//!
//! Outbound ports ([`PaymentRepository`], [`OutboxRepository`], [`Crediting`], [`Clock`],
//! [`BodyParser`]) are what the core needs from the world; the inbound ports
//! ([`PaymentUseCases`], [`OutboxUseCases`]) are what driving adapters (HTTP, CLI) may ask of
//! the core. [`PaymentService`] and [`OutboxService`] implement them on top of the outbound
//! ones.
//! With the `mocks` feature every port has a `mockall` mock (`MockPaymentRepository`, ...).
//!
//! This crate names no web framework, database or async runtime.

mod clock;
mod crediting;
mod error;
mod model;
mod outbox;
mod parser;
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
pub use model::{
    Applied, CreditEntry, CustomerView, Delivery, EventFilter, EventId, EventRecord, EventSummary,
    NewEvent, Origin, PaymentView, Receipt, RecordedCredit, RecordedPayout, Rejection, Stats,
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
#[cfg(any(test, feature = "mocks"))]
pub use repository::MockPaymentRepository;
pub use repository::PaymentRepository;
pub use retry::RetryPolicy;
#[cfg(any(test, feature = "mocks"))]
pub use service::MockPaymentUseCases;
pub use service::{PaymentService, PaymentUseCases};
