//! The bodies PayRam sends: payment and payout notifications (money as exact decimal strings,
//! in PayRam's field order), the test ping, and the body `send` builds from its flags.

use serde::Serialize;

use payram_domain::Amount;

use crate::{args::SendArgs, error::SimulatorError};

/// The body of PayRam's test ping (dashboard "Test" button, start of payout delivery).
pub const PING_BODY: &[u8] = br#"{"event_type":"payout.ping"}"#;

/// A payment notification as current PayRam servers send it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentSpec<'a> {
    pub reference_id: &'a str,
    pub invoice_id: Option<&'a str>,
    pub customer_id: &'a str,
    pub status: &'a str,
    pub amount: Amount,
    pub currency: &'a str,
    pub filled: Option<Amount>,
    pub filled_usd: Option<Amount>,
    /// Unix seconds.
    pub timestamp: i64,
}

/// The wire shape, in PayRam's field order; money as exact decimal strings.
#[derive(Serialize)]
struct PaymentBody<'a> {
    customer_id: &'a str,
    invoice_id: Option<&'a str>,
    reference_id: &'a str,
    status: &'a str,
    amount: String,
    currency: &'a str,
    filled_amount: Option<String>,
    filled_amount_in_usd: Option<String>,
    timestamp: i64,
}

/// The JSON body of a payment notification.
pub fn payment_body(spec: &PaymentSpec<'_>) -> Result<Vec<u8>, SimulatorError> {
    let body = PaymentBody {
        customer_id: spec.customer_id,
        invoice_id: spec.invoice_id,
        reference_id: spec.reference_id,
        status: spec.status,
        amount: spec.amount.to_string(),
        currency: spec.currency,
        filled_amount: spec.filled.map(|amount| amount.to_string()),
        filled_amount_in_usd: spec.filled_usd.map(|amount| amount.to_string()),
        timestamp: spec.timestamp,
    };
    serde_json::to_vec(&body).map_err(SimulatorError::Body)
}

/// The wire shape of a payout notification (PayRam 3.1.1 and later).
#[derive(Serialize)]
struct PayoutBody<'a> {
    event_type: String,
    payout_id: u64,
    network: &'a str,
    token: &'a str,
    amount: &'a str,
    amount_usd: &'a str,
    email: &'a str,
    address: &'a str,
    from_address: &'a str,
    tx_hash: &'a str,
    status: &'a str,
    withdrawal_type: &'a str,
    currency_type: &'a str,
    created_at: i64,
    updated_at: i64,
    timestamp: i64,
    failure_reason: &'a str,
}

/// The JSON body of a payout notification with `status` (upper case, e.g. `PROCESSED`).
pub fn payout_body(
    payout_id: u64,
    status: &str,
    timestamp: i64,
) -> Result<Vec<u8>, SimulatorError> {
    let body = PayoutBody {
        event_type: format!("payout.{}", status.to_ascii_lowercase()),
        payout_id,
        network: "ETH",
        token: "USDC",
        amount: "25.00",
        amount_usd: "25.00",
        email: "merchant@example.com",
        address: "0x000000000000000000000000000000000000dEaD",
        from_address: "0x94d85fe4b6657421a98537ff73e47d96e893fe61",
        tx_hash: "",
        status,
        withdrawal_type: "payout_merchant",
        currency_type: "token",
        created_at: timestamp,
        updated_at: timestamp,
        timestamp,
        failure_reason: "",
    };
    serde_json::to_vec(&body).map_err(SimulatorError::Body)
}

/// Parses a decimal flag exactly, naming the flag (without its `--`) when it is not one.
pub fn decimal(flag: &'static str, text: &str) -> Result<Amount, SimulatorError> {
    Amount::parse(text).map_err(|source| SimulatorError::Decimal { flag, source })
}

/// The body `send` delivers: the file's bytes, or one built from the flags.
pub fn send_body(
    args: &SendArgs,
    reference_id: &str,
    timestamp: i64,
) -> Result<Vec<u8>, SimulatorError> {
    if let Some(path) = &args.file {
        return std::fs::read(path)
            .map_err(|source| SimulatorError::ReadFile { path: path.clone(), source });
    }
    let amount = decimal("amount", &args.amount)?;
    let filled = args.filled.as_deref().map(|text| decimal("filled", text)).transpose()?;
    let filled_usd =
        args.filled_usd.as_deref().map(|text| decimal("filled-usd", text)).transpose()?;
    let filled = filled.unwrap_or(amount);
    payment_body(&PaymentSpec {
        reference_id,
        invoice_id: args.invoice.as_deref(),
        customer_id: &args.customer,
        status: &args.status,
        amount,
        currency: &args.currency,
        filled: Some(filled),
        filled_usd: Some(filled_usd.unwrap_or(filled)),
        timestamp,
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use serde_json::Value;

    use super::*;
    use crate::args::DEFAULT_CUSTOMER;

    const KEY: &str = "payram-test-project-api-key-0001";

    fn amount(text: &str) -> Amount {
        Amount::parse(text).unwrap()
    }

    fn json(body: &[u8]) -> Value {
        serde_json::from_slice(body).unwrap()
    }

    #[derive(Parser)]
    struct SendCli {
        #[command(flatten)]
        send: SendArgs,
    }

    fn send_args(args: &[&str]) -> SendArgs {
        let mut line = vec!["send", "--url", "http://127.0.0.1:1/webhook", "--key", KEY];
        line.extend_from_slice(args);
        SendCli::try_parse_from(line).unwrap().send
    }

    #[test]
    fn a_payment_body_has_payram_shape_and_exact_decimal_strings() {
        let body = payment_body(&PaymentSpec {
            reference_id: "ref-1",
            invoice_id: Some("INV-1"),
            customer_id: "cust-1",
            status: "FILLED",
            amount: amount("49.999999999999998"),
            currency: "ETH",
            filled: Some(amount("49.999999999999998")),
            filled_usd: Some(amount("82.00")),
            timestamp: 1_781_000_000,
        })
        .unwrap();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"customer_id":"cust-1","invoice_id":"INV-1","reference_id":"ref-1","status":"FILLED","amount":"49.999999999999998","currency":"ETH","filled_amount":"49.999999999999998","filled_amount_in_usd":"82.00","timestamp":1781000000}"#
        );
    }

    #[test]
    fn built_bodies_parse_as_the_receiver_parses_them() {
        let body = send_body(&send_args(&["--filled-usd", "12.50"]), "ref-9", 1).unwrap();
        let inbound = payram_protocol::parse_body(&body).unwrap();
        let payram_domain::Inbound::Payment(notification) = inbound else {
            panic!("expected a payment, got {inbound:?}");
        };
        assert_eq!(notification.reference_id.as_str(), "ref-9");
        assert_eq!(notification.filled_amount_in_usd, Some(amount("12.50")));
        assert_eq!(notification.filled_amount, Some(amount("10.00")));

        let payout = payout_body(7, "PENDING-APPROVAL", 1).unwrap();
        assert_eq!(json(&payout)["event_type"], "payout.pending-approval");
        assert!(matches!(
            payram_protocol::parse_body(&payout).unwrap(),
            payram_domain::Inbound::Payout(_)
        ));
    }

    #[test]
    fn send_defaults_fill_the_whole_amount() {
        let body = json(&send_body(&send_args(&["--amount", "12.5"]), "ref-1", 1).unwrap());
        assert_eq!(body["status"], "FILLED");
        assert_eq!(body["amount"], "12.5");
        assert_eq!(body["filled_amount"], "12.5");
        assert_eq!(body["filled_amount_in_usd"], "12.5");
        assert_eq!(body["currency"], "USDC");
        assert_eq!(body["customer_id"], DEFAULT_CUSTOMER);
        assert_eq!(body["invoice_id"], Value::Null);
    }

    #[test]
    fn send_refuses_amounts_that_are_not_exact_decimals() {
        for bad in ["12,5", "-1", "NaN", "1e400", ""] {
            let err = send_body(&send_args(&["--amount", bad]), "ref-1", 1).unwrap_err();
            assert!(matches!(err, SimulatorError::Decimal { flag: "amount", .. }), "{bad}: {err}");
            let err = err.to_string();
            assert!(err.starts_with("--amount"), "{bad}: {err}");
        }
        let err = send_body(&send_args(&["--filled-usd", "ten"]), "ref-1", 1).unwrap_err();
        let err = err.to_string();
        assert!(err.starts_with("--filled-usd"), "{err}");
    }

    #[test]
    fn send_file_is_sent_byte_for_byte_and_excludes_body_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("body.json");
        std::fs::write(&path, b"{ \"odd\" :1 }\n").unwrap();
        let args = send_args(&["--file", path.to_str().unwrap()]);
        assert_eq!(send_body(&args, "ignored", 1).unwrap(), b"{ \"odd\" :1 }\n");

        let line = ["send", "--url", "http://x/", "--key", "k", "--file", "b", "--status", "OPEN"];
        assert!(SendCli::try_parse_from(line).is_err());
    }

    #[test]
    fn an_unreadable_file_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing.json");
        let args = send_args(&["--file", path.to_str().unwrap()]);
        let err = send_body(&args, "ignored", 1).unwrap_err();
        assert!(matches!(&err, SimulatorError::ReadFile { .. }), "{err:?}");
        let err = String::from(err);
        assert!(err.starts_with(&format!("cannot read {}: ", path.display())), "{err}");
    }
}
