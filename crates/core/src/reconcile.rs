//! Reconciliation: asks PayRam about payments that have gone quiet and feeds its answer through
//! the webhook's own path, so a webhook that never arrived is still credited, exactly once.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};

use payram_domain::{AuthMethod, Escaped, EventOutcome, Inbound, PaymentStatus, ReferenceId};

use payram_ports::{
    Clock, Delivery, ErrorChain, EventFilter, GatewayError, Origin, PaymentUseCases, PayramGateway,
    Receipt, ReconcileQueue, ServiceError,
};

/// Statuses reconciliation no longer asks about: the requested amount was received.
///
/// CANCELLED is not among them: PayRam may still receive (and report) money for a cancelled
/// payment, and such late money must be credited. OPEN and `PARTIALLY_FILLED` are where a
/// missed webhook leaves a payment.
pub const SETTLED: [PaymentStatus; 2] = [PaymentStatus::Filled, PaymentStatus::OverFilled];

/// The page size of a run's walk over the quiet payments. A run walks every page: the longest
/// quiet first, each payment once.
pub const RECONCILE_BATCH: u32 = 1000;

/// The HTTP method recorded for a lookup's event.
const LOOKUP_METHOD: &str = "GET";

/// The use case: checks payments with PayRam and applies what it says.
pub struct ReconcileService {
    use_cases: Arc<dyn PaymentUseCases>,
    queue: Arc<dyn ReconcileQueue>,
    gateway: Arc<dyn PayramGateway>,
    clock: Arc<dyn Clock>,
}

/// What checking one payment concluded.
#[derive(Debug)]
pub struct Check {
    pub reference_id: ReferenceId,
    /// The recorded event and what it did, or why nothing was recorded.
    pub result: Result<Receipt, CheckError>,
}

/// Why checking one payment failed.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// PayRam's view could not be read; nothing was recorded.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// PayRam's view was read but could not be recorded (storage); a retry is scheduled when
    /// the event itself could be recorded.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl Check {
    /// True when the check did not end in a usable answer recorded: the lookup failed, the
    /// answer could not be stored, or it was recorded but could not be acted on
    /// (`invalid_payload`, `failed`).
    #[must_use]
    pub const fn failed(&self) -> bool {
        match &self.result {
            Ok(receipt) => !matches!(
                receipt.outcome,
                EventOutcome::Applied
                    | EventOutcome::Duplicate
                    | EventOutcome::Stale
                    | EventOutcome::Ignored
            ),
            Err(_) => true,
        }
    }

    /// `applied`, `duplicate`, `stale`, `ignored`, `invalid_payload`, ... or `error` when
    /// nothing was recorded.
    #[must_use]
    pub const fn outcome(&self) -> &'static str {
        match &self.result {
            Ok(receipt) => receipt.outcome.as_str(),
            Err(_) => "error",
        }
    }
}

/// Every payment one run checked, in the order checked.
#[derive(Debug, Default)]
pub struct ReconcileReport {
    pub checks: Vec<Check>,
}

impl ReconcileReport {
    /// How many checks [`Check::failed`].
    #[must_use]
    pub fn failures(&self) -> usize {
        self.checks.iter().filter(|check| check.failed()).count()
    }

    /// How many checks ended with this outcome (as [`Check::outcome`] names it).
    #[must_use]
    pub fn count(&self, outcome: &str) -> usize {
        self.checks.iter().filter(|check| check.outcome() == outcome).count()
    }
}

impl ReconcileService {
    #[must_use]
    pub fn new(
        use_cases: Arc<dyn PaymentUseCases>,
        queue: Arc<dyn ReconcileQueue>,
        gateway: Arc<dyn PayramGateway>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { use_cases, queue, gateway, clock }
    }

    /// Checks every payment that is not settled (see [`SETTLED`]) and of which nothing was
    /// heard for `older_than`, the longest quiet first, walking every page
    /// ([`RECONCILE_BATCH`] at a time). A failed check is reported and never stops the others;
    /// only failing to list the payments is an error.
    pub async fn reconcile_quiet(
        &self,
        older_than: Duration,
    ) -> Result<ReconcileReport, ServiceError> {
        let quiet_since = before(self.clock.now(), older_than);
        let unsettled: Vec<PaymentStatus> =
            PaymentStatus::ALL.into_iter().filter(|status| !SETTLED.contains(status)).collect();
        let mut report = ReconcileReport::default();
        let mut after = None;
        loop {
            let page = self
                .queue
                .quiet_payments(unsettled.clone(), quiet_since, after, RECONCILE_BATCH)
                .await?;
            let Some(tail) = page.last() else { break };
            after = Some(tail.clone());
            for candidate in page {
                report.checks.push(self.check(candidate.reference_id).await);
            }
        }
        Ok(report)
    }

    /// Checks one payment now, whatever its status and age, even one never heard of (PayRam's
    /// answer then creates it, as a first webhook would).
    pub async fn reconcile_reference(&self, reference_id: ReferenceId) -> Check {
        self.check(reference_id).await
    }

    async fn check(&self, reference_id: ReferenceId) -> Check {
        let result = self.look_up_and_apply(&reference_id).await;
        match &result {
            Ok(receipt) => tracing::info!(
                reference_id = %Escaped(&reference_id),
                event_id = receipt.event_id,
                status = receipt.status.as_deref().map(Escaped).map(tracing::field::display),
                outcome = %receipt.outcome,
                credited_usd = %receipt.credited,
                "payment reconciled with PayRam"
            ),
            Err(err) => tracing::warn!(
                reference_id = %Escaped(&reference_id),
                error = %Escaped(ErrorChain(err)),
                "payment could not be reconciled with PayRam"
            ),
        }
        Check { reference_id, result }
    }

    async fn look_up_and_apply(&self, reference_id: &ReferenceId) -> Result<Receipt, CheckError> {
        let answer = self.gateway.payment(reference_id).await?;
        if answer.notification.reference_id != *reference_id {
            return Err(GatewayError::Malformed(format!(
                "asked about {reference_id}, answered about {}",
                answer.notification.reference_id
            ))
            .into());
        }
        // The webhook's own path: recorded with the answer as raw body, checked against
        // CREDIT_ON, applied in one transaction, credited once, retried when it fails.
        let delivery = Delivery {
            origin: Origin::Reconciliation,
            method: LOOKUP_METHOD.to_owned(),
            // The lookup was authenticated with the first configured key.
            auth: AuthMethod::ApiKey { key_index: 0 },
            raw_body: answer.raw_body,
            content: Ok(Inbound::Payment(answer.notification)),
        };
        Ok(self.use_cases.receive(delivery).await?)
    }
}

/// `now - older_than`, or the earliest time when that is out of range.
fn before(now: DateTime<Utc>, older_than: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(older_than)
        .ok()
        .and_then(|delta| now.checked_sub_signed(delta))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Makes sure the batch never exceeds what the repository accepts.
const _: () = assert!(RECONCILE_BATCH <= EventFilter::MAX_LIMIT);
