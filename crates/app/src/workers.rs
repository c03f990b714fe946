//! The background workers of `serve`: retrying failed events, delivering the outbox, and
//! reconciling quiet payments. Each is the same loop ([`every`]) around one step; the schedule
//! of each lives in the database, so a restart loses nothing.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use payram_core::ReconcileService;
use payram_domain::Escaped;
use payram_ports::{ErrorChain, OutboxUseCases, PaymentUseCases};

/// A worker's readiness flag: cleared when the worker stops for any reason (its task ends,
/// panics or is aborted), which makes `/readyz` answer 503.
pub(crate) struct Running(pub(crate) Arc<AtomicBool>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Waits `interval`, runs `step`, and again, for as long as the task lives (from the end of
/// one step to the start of the next). `running` is cleared when the loop ends.
async fn every<F, Fut>(interval: Duration, running: Running, mut step: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let _running = running;
    loop {
        actix_web::rt::time::sleep(interval).await;
        step().await;
    }
}

/// Retries due failed and waiting events.
pub(crate) async fn retry(
    use_cases: Arc<dyn PaymentUseCases>,
    interval: Duration,
    running: Running,
) {
    every(interval, running, || async {
        match use_cases.retry_due().await {
            Ok(receipts) if receipts.is_empty() => {}
            Ok(receipts) => tracing::info!(retried = receipts.len(), "retried failed events"),
            Err(err) => tracing::warn!(error = %Escaped(ErrorChain(&err)),
                "retry worker could not read or update the event log; trying again later"),
        }
    })
    .await;
}

/// Delivers due outbox entries.
pub(crate) async fn outbox(outbox: Arc<dyn OutboxUseCases>, interval: Duration, running: Running) {
    every(interval, running, || async {
        if let Err(err) = outbox.deliver_due().await {
            tracing::warn!(error = %Escaped(ErrorChain(&err)),
                "outbox worker could not read or update the outbox; trying again later");
        }
    })
    .await;
}

/// The periodic reconciliation of a running server.
pub(crate) struct Reconciling {
    pub(crate) reconciler: Arc<ReconcileService>,
    pub(crate) interval: Duration,
    pub(crate) older_than: Duration,
}

/// Asks PayRam about the payments not settled of which nothing was heard for `older_than`.
pub(crate) async fn reconcile(reconciling: Reconciling, running: Running) {
    let Reconciling { reconciler, interval, older_than } = reconciling;
    every(interval, running, || async {
        match reconciler.reconcile_quiet(older_than).await {
            Ok(report) if report.checks.is_empty() => {}
            Ok(report) => tracing::info!(
                checked = report.checks.len(),
                applied = report.count("applied"),
                failed = report.failures(),
                "reconciliation run finished"
            ),
            Err(err) => tracing::warn!(error = %Escaped(ErrorChain(&err)),
                "reconciliation could not list the payments to check; trying again later"),
        }
    })
    .await;
}
