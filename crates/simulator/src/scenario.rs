//! The scenarios of `simulate`, as data: each [`Step`] says what it sends and what a correct
//! receiver answers; [`plan`] turns a scenario into its requests without any I/O.

use clap::ValueEnum;

use crate::{
    body::{PING_BODY, PaymentSpec, decimal, payment_body, payout_body},
    client::{Auth, HttpMethod, Request},
    error::SimulatorError,
};

/// The scenarios of `simulate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScenarioName {
    #[value(help = "PARTIALLY_FILLED at 40, then FILLED at 100: credits 40, then 60 more")]
    PartialThenFilled,
    #[value(help = "FILLED at 100, then the identical body again: credits 100, then duplicate, 0")]
    Duplicates,
    #[value(help = "FILLED at 100, then the older PARTIALLY_FILLED at 40: stale, 100 in all")]
    OutOfOrder,
    #[value(help = "CANCELLED, then FILLED at 100 (money after the cancel): applied, credited")]
    LateAfterCancel,
    #[value(help = "PayRam's unsigned test ping (X-Webhook-Test: true): any 2xx")]
    Ping,
    #[value(help = "Payout notifications, one delivered twice: answered payout, never credited")]
    Payouts,
}

impl ScenarioName {
    /// The scenario's steps and expectations.
    #[must_use]
    pub const fn scenario(self) -> &'static Scenario {
        match self {
            Self::PartialThenFilled => &PARTIAL_THEN_FILLED,
            Self::Duplicates => &DUPLICATES,
            Self::OutOfOrder => &OUT_OF_ORDER,
            Self::LateAfterCancel => &LATE_AFTER_CANCEL,
            Self::Ping => &PING,
            Self::Payouts => &PAYOUTS,
        }
    }
}

/// A sequence of deliveries and what a correct receiver answers to each.
#[derive(Debug)]
pub struct Scenario {
    pub name: &'static str,
    pub steps: &'static [Step],
    /// The USD a correct receiver credits over the whole scenario; checked when every answer
    /// reports what it credited.
    pub total_credited: Option<&'static str>,
}

/// One delivery and its expected answer.
#[derive(Debug)]
pub struct Step {
    pub delivery: Delivery,
    pub expect: Expect,
}

/// What a step sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// A notification of the scenario's payment (requested [`REQUESTED`] USDC), signed.
    /// `filled_usd` is the cumulative amount received so far, or null.
    Payment { status: &'static str, filled_usd: Option<&'static str> },
    /// The previous step's request again, byte for byte.
    Again,
    /// A notification of the scenario's payout, signed.
    Payout { status: &'static str },
    /// PayRam's test ping: unsigned, `X-Webhook-Test: true`, [`PING_BODY`].
    Ping,
}

/// What a correct receiver answers. Any 2xx is required; the fields are checked only when the
/// answer is JSON with payram-merchant's `outcome` or `credited` (other receivers answer as
/// they like).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expect {
    pub outcome: Option<&'static str>,
    /// Compared as a decimal: `"60"` matches `"60.00"`.
    pub credited: Option<&'static str>,
}

impl Expect {
    /// Any 2xx.
    pub const ANY_2XX: Self = Self { outcome: None, credited: None };

    #[must_use]
    pub const fn answer(outcome: &'static str, credited: &'static str) -> Self {
        Self { outcome: Some(outcome), credited: Some(credited) }
    }
}

/// The requested amount of every scenario payment.
pub const REQUESTED: &str = "100.00";

const fn payment(status: &'static str, filled_usd: &'static str) -> Delivery {
    Delivery::Payment { status, filled_usd: Some(filled_usd) }
}

pub const PARTIAL_THEN_FILLED: Scenario = Scenario {
    name: "partial-then-filled",
    steps: &[
        Step {
            delivery: payment("PARTIALLY_FILLED", "40.00"),
            expect: Expect::answer("applied", "40"),
        },
        Step { delivery: payment("FILLED", "100.00"), expect: Expect::answer("applied", "60") },
    ],
    total_credited: Some("100"),
};

pub const DUPLICATES: Scenario = Scenario {
    name: "duplicates",
    steps: &[
        Step { delivery: payment("FILLED", "100.00"), expect: Expect::answer("applied", "100") },
        Step { delivery: Delivery::Again, expect: Expect::answer("duplicate", "0") },
    ],
    total_credited: Some("100"),
};

pub const OUT_OF_ORDER: Scenario = Scenario {
    name: "out-of-order",
    steps: &[
        Step { delivery: payment("FILLED", "100.00"), expect: Expect::answer("applied", "100") },
        Step {
            delivery: payment("PARTIALLY_FILLED", "40.00"),
            expect: Expect::answer("stale", "0"),
        },
    ],
    total_credited: Some("100"),
};

pub const LATE_AFTER_CANCEL: Scenario = Scenario {
    name: "late-after-cancel",
    steps: &[
        Step {
            delivery: Delivery::Payment { status: "CANCELLED", filled_usd: None },
            expect: Expect::answer("applied", "0"),
        },
        Step { delivery: payment("FILLED", "100.00"), expect: Expect::answer("applied", "100") },
    ],
    total_credited: Some("100"),
};

pub const PING: Scenario = Scenario {
    name: "ping",
    steps: &[Step { delivery: Delivery::Ping, expect: Expect::ANY_2XX }],
    total_credited: None,
};

pub const PAYOUTS: Scenario = Scenario {
    name: "payouts",
    steps: &[
        Step {
            delivery: Delivery::Payout { status: "INITIATED" },
            expect: Expect::answer("payout", "0"),
        },
        Step {
            delivery: Delivery::Payout { status: "PROCESSED" },
            expect: Expect::answer("payout", "0"),
        },
        Step { delivery: Delivery::Again, expect: Expect::answer("payout", "0") },
    ],
    total_credited: Some("0"),
};

/// Everything a scenario run needs besides its steps.
#[derive(Clone, Debug)]
pub struct RunContext<'a> {
    pub key: &'a str,
    pub method: HttpMethod,
    pub auth: Auth,
    pub customer_id: &'a str,
    pub reference_id: String,
    pub payout_id: u64,
    pub timestamp: i64,
}

/// A step's request, with a line saying what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub label: String,
    pub request: Request,
}

/// The requests of a scenario, in order.
pub fn plan(scenario: &Scenario, context: &RunContext<'_>) -> Result<Vec<Planned>, SimulatorError> {
    let requested = decimal("amount", REQUESTED)?;
    let mut planned: Vec<Planned> = Vec::with_capacity(scenario.steps.len());
    for step in scenario.steps {
        let next = match step.delivery {
            Delivery::Payment { status, filled_usd } => {
                let filled = filled_usd.map(|text| decimal("filled-usd", text)).transpose()?;
                let body = payment_body(&PaymentSpec {
                    reference_id: &context.reference_id,
                    invoice_id: None,
                    customer_id: context.customer_id,
                    status,
                    amount: requested,
                    currency: "USDC",
                    filled,
                    filled_usd: filled,
                    timestamp: context.timestamp,
                })?;
                let filled = filled_usd.unwrap_or("null");
                Planned {
                    label: format!(
                        "{} {status}, filled_amount_in_usd {filled} ({})",
                        context.method.as_str(),
                        context.auth.describe()
                    ),
                    request: Request::new(context.method, context.auth, context.key, body),
                }
            }
            Delivery::Again => {
                let previous = planned
                    .last()
                    .ok_or(SimulatorError::NothingToRepeat { scenario: scenario.name })?;
                Planned {
                    label: format!(
                        "{} the previous body again, byte for byte",
                        previous.request.method.as_str()
                    ),
                    request: previous.request.clone(),
                }
            }
            Delivery::Payout { status } => {
                let body = payout_body(context.payout_id, status, context.timestamp)?;
                Planned {
                    label: format!(
                        "{} payout.{} of payout {} ({})",
                        context.method.as_str(),
                        status.to_ascii_lowercase(),
                        context.payout_id,
                        context.auth.describe()
                    ),
                    request: Request::new(context.method, context.auth, context.key, body),
                }
            }
            Delivery::Ping => Planned {
                label: format!(
                    "POST {} ({})",
                    String::from_utf8_lossy(PING_BODY),
                    Auth::TestPing.describe()
                ),
                request: Request::test_ping(),
            },
        };
        planned.push(next);
    }
    Ok(planned)
}

#[cfg(test)]
mod tests {
    use payram_domain::Amount;
    use payram_protocol::SIGNATURE_HEADER;
    use serde_json::Value;

    use super::*;

    const KEY: &str = "payram-test-project-api-key-0001";

    fn amount(text: &str) -> Amount {
        Amount::parse(text).unwrap()
    }

    fn json(body: &[u8]) -> Value {
        serde_json::from_slice(body).unwrap()
    }

    fn context() -> RunContext<'static> {
        RunContext {
            key: KEY,
            method: HttpMethod::Post,
            auth: Auth::Signed,
            customer_id: "cust-1",
            reference_id: "ref-1".to_owned(),
            payout_id: 7,
            timestamp: 1_781_000_000,
        }
    }

    #[test]
    fn every_scenario_plans_one_request_per_step_on_one_payment() {
        for name in ScenarioName::value_variants() {
            let scenario = name.scenario();
            assert_eq!(
                Some(scenario.name),
                name.to_possible_value().as_ref().map(clap::builder::PossibleValue::get_name)
            );
            let planned = plan(scenario, &context()).unwrap();
            assert_eq!(planned.len(), scenario.steps.len(), "{}", scenario.name);
            for planned in &planned {
                let body = json(&planned.request.body);
                if let Some(reference) = body.get("reference_id") {
                    assert_eq!(reference, "ref-1", "{}", scenario.name);
                }
            }
        }
    }

    #[test]
    fn again_repeats_the_previous_request_byte_for_byte() {
        let planned = plan(&DUPLICATES, &context()).unwrap();
        assert_eq!(planned[0].request, planned[1].request);
        let payouts = plan(&PAYOUTS, &context()).unwrap();
        assert_eq!(payouts[1].request, payouts[2].request);
        assert_ne!(payouts[0].request, payouts[1].request);
    }

    #[test]
    fn again_with_nothing_before_it_is_refused() {
        let scenario = Scenario {
            name: "again-first",
            steps: &[Step { delivery: Delivery::Again, expect: Expect::ANY_2XX }],
            total_credited: None,
        };
        let err = plan(&scenario, &context()).unwrap_err();
        assert_eq!(err.to_string(), "scenario again-first: nothing to repeat");
    }

    #[test]
    fn legacy_and_get_apply_to_every_scenario_delivery_but_the_ping() {
        let context = RunContext { auth: Auth::Legacy, method: HttpMethod::Get, ..context() };
        let planned = plan(&PARTIAL_THEN_FILLED, &context).unwrap();
        assert!(planned.iter().all(|step| step.request.method == HttpMethod::Get));
        assert!(planned.iter().all(|step| {
            step.request.headers.iter().all(|(name, _)| *name != SIGNATURE_HEADER)
        }));
        let ping = plan(&PING, &context).unwrap();
        assert_eq!(ping[0].request, Request::test_ping());
    }

    #[test]
    fn scenario_totals_agree_with_their_steps() {
        for name in ScenarioName::value_variants() {
            let scenario = name.scenario();
            let Some(total) = scenario.total_credited else { continue };
            let sum = scenario
                .steps
                .iter()
                .map(|step| amount(step.expect.credited.unwrap()))
                .try_fold(Amount::ZERO, Amount::checked_add)
                .unwrap();
            assert_eq!(sum, amount(total), "{}", scenario.name);
        }
    }
}
