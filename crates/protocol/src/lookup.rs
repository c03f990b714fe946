//! The answer of PayRam's payment lookup API, `GET /api/v1/payment/reference/{reference_id}`:
//! camelCase JSON (`referenceID`, `paymentState`, `filledAmountInUSD`, ...), read with the same
//! leniency as a webhook body and turned into the same [`Notification`].

use serde::Deserialize;
use serde_json::value::RawValue;

use payram_domain::{CustomerId, Notification, ReferenceId, ReportedStatus};

use crate::{
    ParseError,
    body::{invalid, money, non_empty, text},
};

/// The fields of the answer we read, each kept as raw JSON (numbers never become floats).
/// Unknown fields are ignored; a repeated field is refused.
#[derive(Deserialize)]
struct LookupBody<'a> {
    #[serde(borrow, rename = "referenceID")]
    reference_id: Option<&'a RawValue>,
    #[serde(borrow, rename = "paymentState")]
    payment_state: Option<&'a RawValue>,
    #[serde(borrow, rename = "customerID")]
    customer_id: Option<&'a RawValue>,
    #[serde(borrow, rename = "invoiceID")]
    invoice_id: Option<&'a RawValue>,
    #[serde(borrow, rename = "currencySymbol")]
    currency_symbol: Option<&'a RawValue>,
    #[serde(borrow, rename = "filledAmount")]
    filled_amount: Option<&'a RawValue>,
    #[serde(borrow, rename = "filledAmountInUSD")]
    filled_amount_in_usd: Option<&'a RawValue>,
}

/// Parses PayRam's answer about one payment into the notification it amounts to.
///
/// `referenceID` and `paymentState` are required. `filledAmount` (in `currencySymbol`) and
/// `filledAmountInUSD` are cumulative, as in a webhook; money is a JSON string, number or
/// `null`, parsed exactly. The requested amount (`amountInUSD`) is not the webhook's `amount`
/// (which is in the payment's currency), so it is left out: applying the answer keeps the
/// amount the webhooks gave.
///
/// ```
/// use payram_domain::{PaymentStatus, ReportedStatus};
/// use payram_protocol::parse_payment_lookup;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let answer = br#"{"referenceID":"ref-1","invoiceID":"inv-9","customerID":"cust-1",
///     "paymentState":"FILLED","amountInUSD":"50","filledAmount":"0.0125",
///     "filledAmountInUSD":"50.00","currencySymbol":"ETH","depositAddress":"0xabc"}"#;
/// let view = parse_payment_lookup(answer)?;
/// assert_eq!(view.reference_id.as_str(), "ref-1");
/// assert_eq!(view.status, ReportedStatus::Known(PaymentStatus::Filled));
/// assert_eq!(view.currency.as_deref(), Some("ETH"));
/// assert_eq!(view.filled_amount_in_usd.map(|usd| usd.to_string()), Some("50.00".into()));
/// assert_eq!(view.amount, None);
///
/// assert!(parse_payment_lookup(b"<html>").is_err());
/// # Ok(())
/// # }
/// ```
pub fn parse_payment_lookup(body: &[u8]) -> Result<Notification, ParseError> {
    serde_json::from_slice::<serde::de::IgnoredAny>(body)
        .map_err(|err| ParseError::MalformedJson(err.to_string()))?;
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(invalid("answer must be a JSON object"));
    }
    let wire: LookupBody<'_> =
        serde_json::from_slice(body).map_err(|err| invalid(&err.to_string()))?;

    let reference_id =
        text(wire.reference_id, "referenceID")?.ok_or_else(|| invalid("referenceID is missing"))?;
    let reference_id =
        ReferenceId::parse(&reference_id).map_err(|err| invalid(&err.to_string()))?;
    let status = non_empty(text(wire.payment_state, "paymentState")?)
        .ok_or_else(|| invalid("paymentState is missing"))?;
    let customer_id = non_empty(text(wire.customer_id, "customerID")?)
        .map(|id| CustomerId::parse(&id))
        .transpose()
        .map_err(|err| invalid(&err.to_string()))?;
    Ok(Notification {
        reference_id,
        status: ReportedStatus::parse(&status),
        customer_id,
        invoice_id: non_empty(text(wire.invoice_id, "invoiceID")?),
        amount: None,
        currency: non_empty(text(wire.currency_symbol, "currencySymbol")?),
        filled_amount: money(wire.filled_amount, "filledAmount")?,
        filled_amount_in_usd: money(wire.filled_amount_in_usd, "filledAmountInUSD")?,
    })
}

#[cfg(test)]
mod tests {
    use payram_domain::PaymentStatus;

    use super::*;

    fn lookup(body: &str) -> Notification {
        parse_payment_lookup(body.as_bytes()).unwrap()
    }

    fn invalid_message(body: &str) -> String {
        match parse_payment_lookup(body.as_bytes()) {
            Err(ParseError::InvalidPayload(message)) => message,
            other => panic!("expected invalid_payload, got {other:?}"),
        }
    }

    #[test]
    fn the_documented_answer_reads_as_a_notification() {
        let n = lookup(
            r#"{"referenceID":"ref-1","invoiceID":"inv-9","customerID":"cust-1",
                "paymentState":"FILLED","amountInUSD":"50","filledAmount":"0.0125",
                "filledAmountInUSD":"50.00","currencySymbol":"ETH",
                "depositAddress":"0xabc","createdAt":"2026-11-26T12:00:00Z"}"#,
        );
        assert_eq!(n.reference_id.as_str(), "ref-1");
        assert_eq!(n.status, ReportedStatus::Known(PaymentStatus::Filled));
        assert_eq!(n.customer_id.unwrap().as_str(), "cust-1");
        assert_eq!(n.invoice_id.as_deref(), Some("inv-9"));
        assert_eq!(n.currency.as_deref(), Some("ETH"));
        assert_eq!(n.filled_amount.unwrap().to_string(), "0.0125");
        assert_eq!(n.filled_amount_in_usd.unwrap().to_string(), "50.00");
        assert_eq!(n.amount, None, "amountInUSD is not the amount in the payment's currency");
    }

    #[test]
    fn money_as_number_or_null_is_exact() {
        let n = lookup(
            r#"{"referenceID":"r","paymentState":"partially_filled","filledAmount":null,
                "filledAmountInUSD":49.999999999999998}"#,
        );
        assert_eq!(n.filled_amount, None);
        assert_eq!(n.filled_amount_in_usd.unwrap().to_string(), "49.999999999999998");
        assert_eq!(n.status, ReportedStatus::Known(PaymentStatus::PartiallyFilled));
    }

    #[test]
    fn an_open_payment_may_have_nulls_and_no_customer() {
        let n = lookup(
            r#"{"referenceID":"r","paymentState":"OPEN","customerID":"","invoiceID":null,
                "filledAmount":null,"filledAmountInUSD":null}"#,
        );
        assert_eq!((n.customer_id, n.invoice_id, n.filled_amount_in_usd), (None, None, None));
    }

    #[test]
    fn what_cannot_be_read_exactly_is_refused() {
        assert!(matches!(parse_payment_lookup(b"<html>"), Err(ParseError::MalformedJson(_))));
        assert!(matches!(parse_payment_lookup(b""), Err(ParseError::MalformedJson(_))));
        assert_eq!(invalid_message("[]"), "answer must be a JSON object");
        assert_eq!(invalid_message(r#"{"paymentState":"OPEN"}"#), "referenceID is missing");
        assert_eq!(invalid_message(r#"{"referenceID":"r"}"#), "paymentState is missing");
        assert!(
            invalid_message(
                r#"{"referenceID":"r","paymentState":"FILLED","filledAmountInUSD":"1,5"}"#
            )
            .contains("filledAmountInUSD")
        );
        assert!(
            invalid_message(
                r#"{"referenceID":"r","paymentState":"FILLED","filledAmountInUSD":-1}"#
            )
            .contains("negative")
        );
        assert!(
            invalid_message(r#"{"referenceID":"r","referenceID":"s","paymentState":"OPEN"}"#)
                .contains("duplicate")
        );
    }
}
