//! Confirm: with `CONFIRM_BEFORE_CREDIT`, a credit waits until PayRam's API backs it.

use payram_domain::{CheckedNotification, Confirmation};
use payram_ports::{ErrorChain, Origin};

use crate::PaymentService;

impl PaymentService {
    /// `Ok` when the notification may be applied now: confirmation is off, it would not credit,
    /// it is PayRam's API's own answer (reconciliation), or the API confirms it. `Err` says why
    /// it must wait.
    pub(crate) async fn confirmation(
        &self,
        origin: Origin,
        checked: &CheckedNotification,
    ) -> Result<(), String> {
        let Some(gateway) = &self.confirm else { return Ok(()) };
        if origin == Origin::Reconciliation || !checked.may_credit() {
            return Ok(());
        }
        let reference_id = &checked.notification().reference_id;
        match gateway.payment(reference_id).await {
            Ok(view) => match checked.confirmed_by(&view.notification) {
                Confirmation::Confirmed => Ok(()),
                Confirmation::Unconfirmed(reason) => Err(reason.to_owned()),
            },
            Err(err) => Err(format!("PayRam's API could not confirm: {}", ErrorChain(&err))),
        }
    }
}
