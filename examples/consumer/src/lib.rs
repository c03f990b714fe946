//! How another service reuses `payram_domain` and `payram_protocol`: a PayRam webhook receiver
//! whose storage is two maps in memory.
//!
//! [`Receiver::receive`] does for one delivery what a real receiver does in its request
//! handler: authenticate the raw bytes ([`payram_protocol::authenticate`]), parse them
//! ([`payram_protocol::parse_body`]), check the notification against the credit policy
//! ([`CreditPolicy::check`]), let the domain decide what it does to the stored payment
//! ([`payram_domain::CheckedNotification::decide`]), then store the payment and add the credit
//! together (one database transaction in a real service). Because the decision is made against
//! the stored payment, duplicates and out-of-order deliveries never change what a customer is
//! credited.
//!
//! ```
//! use payram_domain::{CreditPolicy, EventOutcome};
//! use payram_example_consumer::{Receiver, TEST_KEY, Verdict};
//! use payram_protocol::{ApiKeys, sign};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut receiver = Receiver::new(ApiKeys::new([TEST_KEY])?, CreditPolicy::default());
//! let body = br#"{"reference_id":"r1","status":"FILLED","customer_id":"c1",
//!     "filled_amount_in_usd":"5"}"#;
//! let signature = sign(TEST_KEY.as_bytes(), body);
//!
//! let first = receiver.receive(body, Some(signature.as_bytes()));
//! assert_eq!(first.verdict, Verdict::Recorded(EventOutcome::Applied));
//! assert_eq!(first.credited().to_string(), "5");
//! let again = receiver.receive(body, Some(signature.as_bytes()));
//! assert_eq!(again.verdict, Verdict::Recorded(EventOutcome::Duplicate));
//! assert!(again.credited().is_zero());
//!
//! let total = receiver.credited().values().next().map(ToString::to_string);
//! assert_eq!(total.as_deref(), Some("5"));
//! # Ok(())
//! # }
//! ```

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
};

use payram_domain::{
    Amount, CreditDue, CreditPolicy, CustomerId, EventOutcome, Inbound, Payment, ReferenceId,
};
use payram_protocol::{ApiKeys, AuthError, Credentials, authenticate, parse_body};

/// The test project API key of PayRam's sample bodies (`signatures.tsv`).
pub const TEST_KEY: &str = "payram-test-project-api-key-0001";

/// A PayRam webhook receiver that keeps payments and credited totals in memory.
#[derive(Debug)]
pub struct Receiver {
    keys: ApiKeys,
    policy: CreditPolicy,
    payments: HashMap<ReferenceId, Payment>,
    credited: BTreeMap<CustomerId, Amount>,
}

/// What one delivery did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The payment the delivery is about; none for payouts, pings and unusable bodies.
    pub reference_id: Option<ReferenceId>,
    /// The status the delivery reported, normalised (`CANCELED` reads `CANCELLED`).
    pub status: Option<String>,
    pub verdict: Verdict,
    /// The credit the delivery caused, if any.
    pub credit: Option<CreditDue>,
    /// Why the delivery was refused or unusable, or which payout it is about.
    pub detail: Option<String>,
}

/// Whether a delivery was accepted, and what it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not from PayRam: never parsed, changes nothing (a real receiver answers 401).
    Unauthorized(AuthError),
    /// From PayRam; the outcome a real receiver records in its event log.
    Recorded(EventOutcome),
}

impl Receiver {
    /// An empty receiver accepting signatures under `keys` and crediting under `policy`.
    #[must_use]
    pub fn new(keys: ApiKeys, policy: CreditPolicy) -> Self {
        Self { keys, policy, payments: HashMap::new(), credited: BTreeMap::new() }
    }

    /// Handles one delivery: `body` byte for byte, and its `X-Payram-Signature` header.
    pub fn receive(&mut self, body: &[u8], signature: Option<&[u8]>) -> Receipt {
        let credentials = Credentials { signature, api_key: None };
        if let Err(err) = authenticate(&self.keys, credentials, body, true) {
            return Receipt {
                detail: Some(err.to_string()),
                ..Receipt::new(Verdict::Unauthorized(err))
            };
        }
        let notification = match parse_body(body) {
            Ok(Inbound::Payment(notification)) => notification,
            Ok(Inbound::Payout(payout)) => {
                return Receipt {
                    status: Some(payout.status),
                    detail: Some(format!("payout_id {}", payout.payout_id)),
                    ..Receipt::recorded(EventOutcome::Payout)
                };
            }
            Ok(Inbound::Ping) => return Receipt::recorded(EventOutcome::Ping),
            Err(err) => {
                return Receipt {
                    detail: Some(err.to_string()),
                    ..Receipt::recorded(err.outcome())
                };
            }
        };
        let reference_id = notification.reference_id.clone();
        let about = Receipt {
            reference_id: Some(reference_id.clone()),
            status: Some(notification.status.as_str().to_owned()),
            ..Receipt::recorded(EventOutcome::InvalidPayload)
        };
        let checked = match self.policy.check(notification) {
            Ok(checked) => checked,
            Err(err) => return Receipt { detail: Some(err.to_string()), ..about },
        };
        let decision = checked.decide(self.payments.get(&reference_id));

        // What follows is one transaction in a real service: work out every new value first,
        // then write them all, or write nothing.
        let new_total = match &decision.credit {
            None => None,
            Some(credit) => {
                let so_far = self.credited.get(&credit.customer_id).copied();
                let Some(total) = so_far.unwrap_or(Amount::ZERO).checked_add(credit.amount) else {
                    return Receipt {
                        verdict: Verdict::Recorded(EventOutcome::Failed),
                        detail: Some("the customer's credited total overflows".to_owned()),
                        ..about
                    };
                };
                Some((credit.customer_id.clone(), total))
            }
        };
        if let Some(payment) = decision.payment {
            self.payments.insert(reference_id, payment);
        }
        if let Some((customer_id, total)) = new_total {
            self.credited.insert(customer_id, total);
        }
        Receipt {
            verdict: Verdict::Recorded(decision.outcome.into()),
            credit: decision.credit,
            ..about
        }
    }

    /// The stored payment with this reference, if any delivery created it.
    #[must_use]
    pub fn payment(&self, reference_id: &ReferenceId) -> Option<&Payment> {
        self.payments.get(reference_id)
    }

    /// The total credited to each customer so far, by customer id.
    #[must_use]
    pub const fn credited(&self) -> &BTreeMap<CustomerId, Amount> {
        &self.credited
    }
}

impl Receipt {
    const fn new(verdict: Verdict) -> Self {
        Self { reference_id: None, status: None, verdict, credit: None, detail: None }
    }

    const fn recorded(outcome: EventOutcome) -> Self {
        Self::new(Verdict::Recorded(outcome))
    }

    /// What the delivery credited: the credit's amount, or zero.
    #[must_use]
    pub fn credited(&self) -> Amount {
        self.credit.as_ref().map_or(Amount::ZERO, |credit| credit.amount)
    }
}

impl fmt::Display for Receipt {
    /// One line: `reference=… status=… outcome=… credit=…`, then the customer credited or the
    /// detail, if any.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reference = self.reference_id.as_ref().map_or("-", ReferenceId::as_str);
        let status = self.status.as_deref().unwrap_or("-");
        write!(
            f,
            "reference={reference} status={status} outcome={} credit={}",
            self.verdict,
            self.credited()
        )?;
        if let Some(credit) = &self.credit {
            write!(f, " customer={}", credit.customer_id)?;
        }
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

impl fmt::Display for Verdict {
    /// `unauthorized`, or the recorded outcome's name (`applied`, `duplicate`, ...).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unauthorized(_) => f.write_str("unauthorized"),
            Self::Recorded(outcome) => f.write_str(outcome.as_str()),
        }
    }
}

/// The rows of a `signatures.tsv` (`file<TAB>x_payram_signature`), in order. Comment lines
/// (`#`), blank lines and the `file` header row are skipped.
#[must_use]
pub fn parse_signatures(table: &str) -> Vec<(&str, &str)> {
    table
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('\t'))
        .map(|(file, signature)| (file.trim(), signature.trim()))
        .filter(|(file, _)| !file.is_empty() && *file != "file")
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use payram_domain::PaymentStatus;
    use payram_protocol::sign;

    use super::*;

    /// The repository's byte-for-byte copy of the shared PayRam vectors.
    fn vectors_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/vectors")
    }

    /// Every vector as (file, body, signature), in `signatures.tsv` order.
    fn vectors() -> Vec<(String, Vec<u8>, String)> {
        let table = std::fs::read_to_string(vectors_dir().join("signatures.tsv")).unwrap();
        parse_signatures(&table)
            .into_iter()
            .map(|(file, signature)| {
                let body = std::fs::read(vectors_dir().join(file)).unwrap();
                (file.to_owned(), body, signature.to_owned())
            })
            .collect()
    }

    fn receiver() -> Receiver {
        Receiver::new(ApiKeys::new([TEST_KEY]).unwrap(), CreditPolicy::default())
    }

    fn amount(text: &str) -> Amount {
        Amount::parse(text).unwrap()
    }

    /// Delivers the vectors in the given order and returns the credited totals.
    fn totals<'a>(
        order: impl IntoIterator<Item = &'a (String, Vec<u8>, String)>,
    ) -> BTreeMap<CustomerId, Amount> {
        let mut receiver = receiver();
        for (_, body, signature) in order {
            receiver.receive(body, Some(signature.as_bytes()));
        }
        receiver.credited().clone()
    }

    /// What the vectors' README says each customer is owed, whatever the delivery order.
    fn expected_totals() -> BTreeMap<CustomerId, Amount> {
        [
            ("0", "1.00"),
            ("79473632", "120.50"),
            ("cust_1001", "50.00"),
            ("cust_123", "49.99"),
            ("cust_2002", "12.00"),
            ("cust_3003", "30.00"),
            ("cust_4004", "40.00"),
            ("cust_789", "49.99"),
            ("cust_8008", "82.00"),
        ]
        .into_iter()
        .map(|(customer, usd)| (CustomerId::parse(customer).unwrap(), amount(usd)))
        .collect()
    }

    #[test]
    fn the_vectors_in_file_order_credit_what_their_readme_says() {
        let vectors = vectors();
        assert_eq!(vectors.len(), 29);
        assert_eq!(totals(&vectors), expected_totals());
    }

    #[test]
    fn duplicates_and_out_of_order_deliveries_do_not_change_the_totals() {
        let vectors = vectors();
        let reversed: Vec<_> = vectors.iter().rev().collect();
        assert_eq!(totals(reversed), expected_totals());

        let twice_each: Vec<_> = vectors.iter().flat_map(|vector| [vector, vector]).collect();
        assert_eq!(totals(twice_each), expected_totals());

        let all_twice_reversed_then_forward: Vec<_> =
            vectors.iter().rev().chain(vectors.iter()).collect();
        assert_eq!(totals(all_twice_reversed_then_forward), expected_totals());

        for shift in 1..vectors.len() {
            let mut rotated = vectors.clone();
            rotated.rotate_left(shift);
            assert_eq!(totals(&rotated), expected_totals(), "rotated by {shift}");
        }
    }

    #[test]
    fn each_vector_delivered_first_gets_the_outcome_its_readme_gives() {
        for (file, body, signature) in vectors() {
            let receipt = receiver().receive(&body, Some(signature.as_bytes()));
            let expected = match file.as_str() {
                "filled_payment_state_docs_fragment.json"
                | "negative/empty_object.json"
                | "negative/invented_event_style.json" => EventOutcome::InvalidPayload,
                "negative/docs_sample_trailing_comma.json" | "negative/empty_body.json" => {
                    EventOutcome::MalformedJson
                }
                "undefined_status.json" | "unknown_status_closed.json" => EventOutcome::Ignored,
                "payout_ping.json" => EventOutcome::Ping,
                payout if payout.starts_with("payout_") => EventOutcome::Payout,
                _ => EventOutcome::Applied,
            };
            assert_eq!(receipt.verdict, Verdict::Recorded(expected), "{file}");
        }
    }

    #[test]
    fn a_sequence_credits_each_step_once() {
        let vectors = vectors();
        let body = |name: &str| vectors.iter().find(|(file, ..)| file == name).unwrap();
        let mut receiver = receiver();
        let mut seen = Vec::new();
        for name in [
            "open_no_deposit.json",
            "partially_filled_strings.json",
            "partially_filled_strings.json",
            "filled_two_deposits_cumulative.json",
            "open_confirming_progress.json",
            "unknown_status_closed.json",
        ] {
            let (_, body, signature) = body(name);
            let receipt = receiver.receive(body, Some(signature.as_bytes()));
            seen.push(format!("{} {}", receipt.verdict, receipt.credited()));
        }
        assert_eq!(
            seen,
            ["applied 0", "applied 20.00", "duplicate 0", "applied 30.00", "stale 0", "ignored 0"]
        );
        let reference = ReferenceId::parse("3f1c1e7a-5b2d-4c8e-9a61-0d2f7b9e4c11").unwrap();
        let payment = receiver.payment(&reference).unwrap();
        assert_eq!(payment.status(), PaymentStatus::Filled);
        assert_eq!(payment.credited_usd(), amount("50"));
    }

    #[test]
    fn money_after_a_cancel_is_credited_and_the_payment_marked_late() {
        let vectors = vectors();
        let mut receiver = receiver();
        for name in ["cancelled_uk_spelling.json", "late_payment_after_cancel_filled.json"] {
            let (_, body, signature) = vectors.iter().find(|(file, ..)| file == name).unwrap();
            receiver.receive(body, Some(signature.as_bytes()));
        }
        let reference = ReferenceId::parse("9b7e2c44-1d3a-4f0e-8c2b-6a5d4e3f2a10").unwrap();
        assert!(receiver.payment(&reference).unwrap().record().late_payment);
        assert_eq!(
            receiver.credited().get(&CustomerId::parse("cust_4004").unwrap()),
            Some(&amount("40.00"))
        );
    }

    #[test]
    fn a_body_not_signed_under_a_configured_key_changes_nothing() {
        let body =
            br#"{"reference_id":"r","status":"FILLED","customer_id":"c","filled_amount_in_usd":9}"#;
        let mut receiver = receiver();
        let forged = sign(b"someone else's key", body);
        let unsigned = receiver.receive(body, None);
        assert_eq!(unsigned.verdict, Verdict::Unauthorized(AuthError::Missing));
        let receipt = receiver.receive(body, Some(forged.as_bytes()));
        assert_eq!(receipt.verdict, Verdict::Unauthorized(AuthError::BadSignature));
        assert_eq!(receipt.reference_id, None, "refused before parsing");
        assert!(receiver.credited().is_empty());
        assert!(receiver.payment(&ReferenceId::parse("r").unwrap()).is_none());
    }

    #[test]
    fn a_crediting_notification_without_a_customer_is_invalid_and_stores_nothing() {
        let body = br#"{"reference_id":"r","status":"FILLED","filled_amount_in_usd":"9"}"#;
        let mut receiver = receiver();
        let receipt = receiver.receive(body, Some(sign(TEST_KEY.as_bytes(), body).as_bytes()));
        assert_eq!(receipt.verdict, Verdict::Recorded(EventOutcome::InvalidPayload));
        assert_eq!(receipt.status.as_deref(), Some("FILLED"));
        assert!(receiver.payment(&ReferenceId::parse("r").unwrap()).is_none());
    }

    #[test]
    fn a_receipt_reads_as_one_line() {
        let body = br#"{"reference_id":"r","status":"filled","customer_id":"c",
            "filled_amount_in_usd":"9.50"}"#;
        let receipt = receiver().receive(body, Some(sign(TEST_KEY.as_bytes(), body).as_bytes()));
        assert_eq!(
            receipt.to_string(),
            "reference=r status=FILLED outcome=applied credit=9.50 customer=c"
        );
        let refused = receiver().receive(body, None);
        assert_eq!(
            refused.to_string(),
            "reference=- status=- outcome=unauthorized credit=0 (no signature and no API key)"
        );
    }

    #[test]
    fn signature_tables_skip_comments_and_the_header() {
        let table =
            "# key=k\nfile\tx_payram_signature\na.json\tsha256=00\n\nnegative/b.json\tsha256=11\n";
        assert_eq!(
            parse_signatures(table),
            [("a.json", "sha256=00"), ("negative/b.json", "sha256=11")]
        );
    }
}
