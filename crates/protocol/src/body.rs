use serde::Deserialize;
use serde_json::value::RawValue;

use payram_domain::{
    Amount, CustomerId, EventOutcome, Inbound, Notification, PayoutNotification, ReferenceId,
    ReportedStatus,
};

/// Why a body is not a usable notification. Messages name the field, never echo secrets.
///
/// Both answer 400: PayRam retries a failed delivery, and the same bytes would fail again.
///
/// ```
/// use payram_protocol::{ParseError, parse_body};
///
/// assert!(matches!(parse_body(b"{\"a\":1,}"), Err(ParseError::MalformedJson(_))));
/// assert_eq!(
///     parse_body(b"{}"),
///     Err(ParseError::InvalidPayload("reference_id is missing".to_owned()))
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not JSON at all (empty, truncated, trailing comma, not UTF-8).
    #[error("body is not valid JSON: {0}")]
    MalformedJson(String),
    /// JSON, but not a notification we can act on.
    #[error("{0}")]
    InvalidPayload(String),
}

impl ParseError {
    /// The event outcome recorded for this error.
    ///
    /// ```
    /// use payram_domain::EventOutcome;
    /// use payram_protocol::parse_body;
    ///
    /// let outcome = |body: &[u8]| parse_body(body).err().map(|err| err.outcome());
    /// assert_eq!(outcome(b""), Some(EventOutcome::MalformedJson));
    /// assert_eq!(outcome(b"[1]"), Some(EventOutcome::InvalidPayload));
    /// assert_eq!(outcome(br#"{"event_type":"payout.ping"}"#), None);
    /// ```
    #[must_use]
    pub const fn outcome(&self) -> EventOutcome {
        match self {
            Self::MalformedJson(_) => EventOutcome::MalformedJson,
            Self::InvalidPayload(_) => EventOutcome::InvalidPayload,
        }
    }
}

/// Every field we read, each kept as raw JSON so that types are checked leniently and numbers
/// are never turned into floats. Unknown fields are ignored; a repeated field is refused.
#[derive(Deserialize)]
struct WireBody<'a> {
    #[serde(borrow)]
    reference_id: Option<&'a RawValue>,
    #[serde(borrow)]
    status: Option<&'a RawValue>,
    #[serde(borrow)]
    payment_state: Option<&'a RawValue>,
    #[serde(borrow)]
    customer_id: Option<&'a RawValue>,
    #[serde(borrow)]
    invoice_id: Option<&'a RawValue>,
    #[serde(borrow)]
    amount: Option<&'a RawValue>,
    #[serde(borrow)]
    currency: Option<&'a RawValue>,
    #[serde(borrow)]
    filled_amount: Option<&'a RawValue>,
    #[serde(borrow)]
    filled_amount_in_usd: Option<&'a RawValue>,
    #[serde(borrow)]
    filled_amount_usd: Option<&'a RawValue>,
    #[serde(borrow)]
    event_type: Option<&'a RawValue>,
    #[serde(borrow)]
    payout_id: Option<&'a RawValue>,
}

/// Parses a raw PayRam body.
///
/// Tells payments from payouts and the ping, accepts every variant PayRam has sent, and keeps
/// money exact. Authenticate the same bytes first ([`crate::authenticate`]).
///
/// # Examples
///
/// Money as a string, a number or `null` in one body, and the old `payment_state` name:
///
/// ```
/// use payram_domain::{Inbound, PaymentStatus, ReportedStatus};
/// use payram_protocol::parse_body;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let body = br#"{
///     "reference_id": "ref_123",
///     "customer_id": 79473632,
///     "payment_state": "filled",
///     "amount": "49.99",
///     "filled_amount": null,
///     "filled_amount_in_usd": 49.999999999999998,
///     "some_future_field": {"ignored": true}
/// }"#;
/// let Inbound::Payment(notification) = parse_body(body)? else {
///     return Err("a payment".into());
/// };
/// assert_eq!(notification.reference_id.as_str(), "ref_123");
/// assert_eq!(notification.status, ReportedStatus::Known(PaymentStatus::Filled));
/// assert_eq!(notification.customer_id.map(|id| id.to_string()), Some("79473632".into()));
/// assert_eq!(notification.filled_amount, None);
/// let usd = notification.filled_amount_in_usd.ok_or("usd")?;
/// assert_eq!(usd.to_string(), "49.999999999999998");
/// # Ok(())
/// # }
/// ```
///
/// Payouts and the ping are told apart by `event_type`:
///
/// ```
/// use payram_domain::Inbound;
/// use payram_protocol::parse_body;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// assert_eq!(parse_body(br#"{"event_type":"payout.ping"}"#)?, Inbound::Ping);
/// let payout = parse_body(br#"{"event_type":"payout.sent","payout_id":120,"status":"sent"}"#)?;
/// assert!(matches!(payout, Inbound::Payout(p) if p.payout_id == "120" && p.status == "SENT"));
/// # Ok(())
/// # }
/// ```
pub fn parse_body(body: &[u8]) -> Result<Inbound, ParseError> {
    serde_json::from_slice::<serde::de::IgnoredAny>(body)
        .map_err(|err| ParseError::MalformedJson(err.to_string()))?;
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(invalid("body must be a JSON object"));
    }
    let wire: WireBody<'_> =
        serde_json::from_slice(body).map_err(|err| invalid(&err.to_string()))?;

    if let Some(event_type) = text(wire.event_type, "event_type")? {
        // `" payout.sent"` must not pass for a payment: blanks are refused, not trimmed.
        if event_type.trim() != event_type {
            return Err(invalid("event_type has leading or trailing blanks"));
        }
        let lower = event_type.to_ascii_lowercase();
        if lower.starts_with("payout.") {
            return payout(&wire, event_type);
        }
        if lower == "payout" {
            return Err(invalid("event_type payout names no payout status (payout.<status>)"));
        }
    }
    payment(&wire).map(Inbound::Payment)
}

/// True for PayRam's unsigned test: header `X-Webhook-Test: true` on a body without a
/// `reference_id` (whatever else the body holds, even if it is not JSON).
///
/// PayRam sends the ping unsigned; answer it 2xx without authenticating, or PayRam deactivates
/// the webhook.
///
/// ```
/// use payram_protocol::is_test_ping;
///
/// assert!(is_test_ping(Some(b"true"), br#"{"event_type":"payout.ping"}"#));
/// assert!(!is_test_ping(None, br#"{"event_type":"payout.ping"}"#));
/// // A real notification is never a ping, whatever the header says.
/// assert!(!is_test_ping(Some(b"true"), br#"{"reference_id":"r","status":"FILLED"}"#));
/// ```
#[must_use]
pub fn is_test_ping(test_header: Option<&[u8]>, body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct OnlyReference<'a> {
        #[serde(borrow)]
        reference_id: Option<&'a RawValue>,
    }
    let flagged = test_header
        .and_then(|value| std::str::from_utf8(value).ok())
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"));
    if !flagged {
        return false;
    }
    let reference = serde_json::from_slice::<OnlyReference<'_>>(body)
        .ok()
        .and_then(|only| text(only.reference_id, "reference_id").ok().flatten());
    reference.is_none_or(|reference| reference.trim().is_empty())
}

fn payment(wire: &WireBody<'_>) -> Result<Notification, ParseError> {
    let reference_id = text(wire.reference_id, "reference_id")?
        .ok_or_else(|| invalid("reference_id is missing"))?;
    let reference_id =
        ReferenceId::parse(&reference_id).map_err(|err| invalid(&err.to_string()))?;
    let status = match (
        non_empty(text(wire.status, "status")?),
        non_empty(text(wire.payment_state, "payment_state")?),
    ) {
        (Some(status), Some(state))
            if ReportedStatus::parse(&status) != ReportedStatus::parse(&state) =>
        {
            return Err(invalid("status and payment_state disagree"));
        }
        (Some(status), _) | (None, Some(status)) => status,
        (None, None) => {
            return Err(invalid("status is missing (neither status nor payment_state)"));
        }
    };
    let customer_id = non_empty(text(wire.customer_id, "customer_id")?)
        .map(|id| CustomerId::parse(&id))
        .transpose()
        .map_err(|err| invalid(&err.to_string()))?;
    let filled_amount_in_usd = match (
        money(wire.filled_amount_in_usd, "filled_amount_in_usd")?,
        money(wire.filled_amount_usd, "filled_amount_usd")?,
    ) {
        (Some(usd), Some(legacy)) if usd != legacy => {
            return Err(invalid("filled_amount_in_usd and filled_amount_usd disagree"));
        }
        (Some(usd), _) | (None, Some(usd)) => Some(usd),
        (None, None) => None,
    };
    Ok(Notification {
        reference_id,
        status: ReportedStatus::parse(&status),
        customer_id,
        invoice_id: non_empty(text(wire.invoice_id, "invoice_id")?),
        amount: money(wire.amount, "amount")?,
        currency: non_empty(text(wire.currency, "currency")?),
        filled_amount: money(wire.filled_amount, "filled_amount")?,
        filled_amount_in_usd,
    })
}

fn payout(wire: &WireBody<'_>, event_type: String) -> Result<Inbound, ParseError> {
    if event_type.eq_ignore_ascii_case("payout.ping") {
        return Ok(Inbound::Ping);
    }
    let payout_id = non_empty(text(wire.payout_id, "payout_id")?)
        .ok_or_else(|| invalid("payout_id is missing"))?;
    let status = match non_empty(text(wire.status, "status")?) {
        Some(status) => status.trim().to_ascii_uppercase(),
        None => event_type["payout.".len()..].to_ascii_uppercase(),
    };
    Ok(Inbound::Payout(PayoutNotification { payout_id, event_type, status }))
}

pub(crate) fn invalid(message: &str) -> ParseError {
    ParseError::InvalidPayload(message.to_owned())
}

pub(crate) fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.trim().is_empty())
}

/// A JSON string (unescaped) or number (its exact text); `null` and absence are `None`.
pub(crate) fn text(raw: Option<&RawValue>, field: &str) -> Result<Option<String>, ParseError> {
    let Some(raw) = raw else { return Ok(None) };
    let json = raw.get();
    match json.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(json)
            .map(Some)
            .map_err(|err| invalid(&format!("{field}: {err}"))),
        Some(b'-' | b'0'..=b'9') => Ok(Some(json.to_owned())),
        _ => Err(invalid(&format!("{field} must be a string"))),
    }
}

/// Money as a JSON string or number, parsed exactly; `null`, absence and `""` are `None`.
pub(crate) fn money(raw: Option<&RawValue>, field: &str) -> Result<Option<Amount>, ParseError> {
    let Some(raw) = raw else { return Ok(None) };
    let json = raw.get();
    let digits = match json.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(json)
            .map_err(|err| invalid(&format!("{field}: {err}")))?,
        Some(b'-' | b'0'..=b'9') => json.to_owned(),
        _ => return Err(invalid(&format!("{field} must be a decimal string or number"))),
    };
    if digits.trim().is_empty() {
        return Ok(None);
    }
    Amount::parse(&digits).map(Some).map_err(|err| invalid(&format!("{field}: {err}")))
}

#[cfg(test)]
mod tests {
    use payram_domain::PaymentStatus;

    use super::*;

    fn notification(body: &str) -> Notification {
        match parse_body(body.as_bytes()) {
            Ok(Inbound::Payment(n)) => n,
            other => panic!("expected a payment, got {other:?}"),
        }
    }

    fn invalid_message(body: &str) -> String {
        match parse_body(body.as_bytes()) {
            Err(ParseError::InvalidPayload(message)) => message,
            other => panic!("expected invalid_payload, got {other:?}"),
        }
    }

    #[test]
    fn money_as_number_keeps_every_digit() {
        let n = notification(
            r#"{"reference_id":"r","status":"FILLED","filled_amount_in_usd":49.999999999999998}"#,
        );
        assert_eq!(n.filled_amount_in_usd.unwrap().to_string(), "49.999999999999998");
    }

    #[test]
    fn money_as_string_number_or_null_mixes_in_one_body() {
        let n = notification(
            r#"{"reference_id":"r","status":"open","amount":"323.53","filled_amount":18,"filled_amount_in_usd":null}"#,
        );
        assert_eq!(n.amount.unwrap().to_string(), "323.53");
        assert_eq!(n.filled_amount.unwrap().to_string(), "18");
        assert_eq!(n.filled_amount_in_usd, None);
        assert_eq!(n.status, ReportedStatus::Known(PaymentStatus::Open));
    }

    #[test]
    fn payment_state_and_the_legacy_usd_name_are_accepted() {
        let n = notification(
            r#"{"reference_id":"r","payment_state":"canceled","filled_amount_usd":"1.5"}"#,
        );
        assert_eq!(n.status, ReportedStatus::Known(PaymentStatus::Cancelled));
        assert_eq!(n.filled_amount_in_usd.unwrap().to_string(), "1.5");
    }

    #[test]
    fn aliases_that_disagree_are_refused() {
        assert_eq!(
            invalid_message(r#"{"reference_id":"r","status":"FILLED","payment_state":"OPEN"}"#),
            "status and payment_state disagree"
        );
        assert_eq!(
            invalid_message(
                r#"{"reference_id":"r","status":"FILLED","filled_amount_in_usd":"1","filled_amount_usd":"1000"}"#
            ),
            "filled_amount_in_usd and filled_amount_usd disagree"
        );
        assert_eq!(
            invalid_message(r#"{"reference_id":"r","status":"X","payment_state":"Y"}"#),
            "status and payment_state disagree"
        );
    }

    #[test]
    fn aliases_that_agree_are_accepted() {
        // Same status in another case or spelling; same amount in another notation.
        let n = notification(
            r#"{"reference_id":"r","status":"CANCELLED","payment_state":"canceled",
                "filled_amount_in_usd":"82.00","filled_amount_usd":82}"#,
        );
        assert_eq!(n.status, ReportedStatus::Known(PaymentStatus::Cancelled));
        assert_eq!(n.filled_amount_in_usd.unwrap().to_string(), "82.00");
        // An empty or null alias counts as absent, as any empty field does.
        let n = notification(
            r#"{"reference_id":"r","status":"FILLED","payment_state":"","filled_amount_in_usd":null,"filled_amount_usd":"5"}"#,
        );
        assert_eq!(n.status, ReportedStatus::Known(PaymentStatus::Filled));
        assert_eq!(n.filled_amount_in_usd.unwrap().to_string(), "5");
    }

    #[test]
    fn an_event_type_with_blanks_is_refused_not_read_as_a_payment() {
        for event_type in [
            " payout.sent",
            "payout.sent ",
            r"\tpayout.sent",
            r"\u00a0payout.sent",
            " payout",
            " x",
        ] {
            let body = format!(
                r#"{{"event_type":"{event_type}","payout_id":1,"reference_id":"r","status":"FILLED"}}"#
            );
            assert_eq!(
                invalid_message(&body),
                "event_type has leading or trailing blanks",
                "{event_type:?}"
            );
        }
        assert!(
            invalid_message(r#"{"event_type":"PAYOUT","reference_id":"r","status":"FILLED"}"#)
                .contains("payout.<status>")
        );
        // Any other event type is a payment's business, as before.
        let n =
            notification(r#"{"event_type":"payment.updated","reference_id":"r","status":"OPEN"}"#);
        assert_eq!(n.status, ReportedStatus::Known(PaymentStatus::Open));
    }

    #[test]
    fn amounts_beyond_the_bound_or_rounded_are_refused() {
        for usd in [
            r#""79228162514264337593543950335""#,
            "79228162514264337593543950335",
            "1000000000000000",
            r#""0.0000000000000000001""#,
            r#""49.999999999999999999999999999999e0""#,
            "49.999999999999999999999999999999e0",
            "4.99999999999999999999e1",
        ] {
            let body =
                format!(r#"{{"reference_id":"r","status":"FILLED","filled_amount_in_usd":{usd}}}"#);
            let message = invalid_message(&body);
            assert!(message.starts_with("filled_amount_in_usd: amount"), "{usd}: {message}");
        }
        let n = notification(
            r#"{"reference_id":"r","status":"FILLED","filled_amount_in_usd":4.999e1,"filled_amount":"1.5E-17"}"#,
        );
        assert_eq!(n.filled_amount_in_usd.unwrap().to_string(), "49.99");
        assert_eq!(n.filled_amount.unwrap().to_string(), "0.000000000000000015");
    }

    #[test]
    fn unknown_fields_and_numeric_ids_are_fine() {
        let n = notification(
            r#"{"reference_id":12,"status":"X","customer_id":79473632,"extra":{"a":[1,2]}}"#,
        );
        assert_eq!(n.reference_id.as_str(), "12");
        assert_eq!(n.customer_id.unwrap().as_str(), "79473632");
        assert_eq!(n.status, ReportedStatus::Unknown("X".into()));
    }

    #[test]
    fn empty_strings_count_as_absent() {
        let n = notification(
            r#"{"reference_id":"r","status":"OPEN","customer_id":"","filled_amount_in_usd":""}"#,
        );
        assert_eq!(n.customer_id, None);
        assert_eq!(n.filled_amount_in_usd, None);
    }

    #[test]
    fn not_json_is_malformed() {
        for body in ["", "{", "{\"a\":1,}", "{} x", "\u{0}"] {
            assert!(
                matches!(parse_body(body.as_bytes()), Err(ParseError::MalformedJson(_))),
                "{body:?}"
            );
        }
        assert!(matches!(parse_body(&[0xff, 0xfe]), Err(ParseError::MalformedJson(_))));
    }

    #[test]
    fn json_that_is_not_a_notification_is_invalid() {
        assert_eq!(invalid_message("{}"), "reference_id is missing");
        assert_eq!(invalid_message("[1]"), "body must be a JSON object");
        assert_eq!(
            invalid_message(r#"{"reference_id":"","status":"OPEN"}"#),
            "reference_id is empty"
        );
        assert!(invalid_message(r#"{"reference_id":"r"}"#).starts_with("status is missing"));
        assert!(invalid_message(r#"{"reference_id":"r","status":true}"#).contains("status"));
        assert!(invalid_message(r#"{"reference_id":{},"status":"OPEN"}"#).contains("reference_id"));
    }

    #[test]
    fn bad_money_is_invalid_and_names_the_field() {
        for amount in [r#""-1""#, "-1", r#""abc""#, "true", r#""1e400""#, r#""NaN""#] {
            let body = format!(r#"{{"reference_id":"r","status":"OPEN","amount":{amount}}}"#);
            assert!(invalid_message(&body).starts_with("amount"), "{amount}");
        }
    }

    #[test]
    fn repeated_fields_are_refused() {
        let message = invalid_message(r#"{"reference_id":"a","reference_id":"b","status":"OPEN"}"#);
        assert!(message.contains("duplicate"), "{message}");
    }

    #[test]
    fn payouts_are_told_apart_by_event_type() {
        let body = r#"{"event_type":"payout.sent","payout_id":120,"status":"sent"}"#;
        assert_eq!(
            parse_body(body.as_bytes()),
            Ok(Inbound::Payout(PayoutNotification {
                payout_id: "120".into(),
                event_type: "payout.sent".into(),
                status: "SENT".into(),
            }))
        );
        assert_eq!(parse_body(br#"{"event_type":"payout.ping"}"#), Ok(Inbound::Ping));
        assert!(invalid_message(r#"{"event_type":"payout.sent"}"#).contains("payout_id"));
    }

    #[test]
    fn the_test_ping_needs_the_header_and_no_reference() {
        assert!(is_test_ping(Some(b"true"), br#"{"event_type":"payout.ping"}"#));
        assert!(is_test_ping(Some(b" TRUE "), b"not json"));
        assert!(!is_test_ping(None, br#"{"event_type":"payout.ping"}"#));
        assert!(!is_test_ping(Some(b"false"), b"{}"));
        assert!(!is_test_ping(Some(b"true"), br#"{"reference_id":"r","status":"FILLED"}"#));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = parse_body(&body);
            let _ = is_test_ping(Some(b"true"), &body);
        }

        #[test]
        fn decimal_text_survives_as_string_and_as_number(int in 0u64..1_000_000_000, frac in "[0-9]{0,18}") {
            let digits = if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") };
            for json in [digits.clone(), format!("\"{digits}\"")] {
                let body = format!(r#"{{"reference_id":"r","status":"FILLED","filled_amount_in_usd":{json}}}"#);
                let n = notification(&body);
                proptest::prop_assert_eq!(n.filled_amount_in_usd.unwrap().to_string(), digits.clone());
            }
        }
    }
}
