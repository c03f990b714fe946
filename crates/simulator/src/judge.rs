//! Judging answers: how one answer compares with what a correct receiver answers, and whether
//! the credits of a whole scenario add up. Pure functions; a failed check is a [`Verdict`],
//! whose text says why, not an error.

use std::fmt;

use serde_json::Value;

use payram_domain::Amount;

use crate::{
    client::Answer,
    scenario::{Expect, Scenario},
};

/// How one answer compares with a step's expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx, and every payram-merchant field present matched; `credited` when reported.
    Pass { credited: Option<Amount> },
    /// 2xx from a receiver that does not answer payram-merchant's fields: only the status was
    /// checked.
    Generic,
    /// Not what a correct receiver answers; says why.
    Fail(String),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pass { credited: Some(credited) } => write!(f, "ok   credited {credited}"),
            Self::Pass { credited: None } => f.write_str("ok"),
            Self::Generic => f.write_str(
                "ok   2xx (not a payram-merchant answer: detailed checks skipped, status only)",
            ),
            Self::Fail(why) => write!(f, "FAIL {why}"),
        }
    }
}

/// Judges one answer against what a correct receiver answers.
#[must_use]
pub fn judge(expect: &Expect, answer: &Answer) -> Verdict {
    if !answer.is_success() {
        return Verdict::Fail(format!("answered {}, expected a 2xx", answer.status));
    }
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&answer.body) else {
        return Verdict::Generic;
    };
    let outcome = fields.get("outcome");
    let credited = fields.get("credited");
    if outcome.is_none() && credited.is_none() {
        return Verdict::Generic;
    }
    let mut problems = Vec::new();
    if let Some(want) = expect.outcome {
        match outcome.and_then(Value::as_str) {
            Some(got) if got == want => {}
            Some(got) => problems.push(format!("outcome {got:?}, expected {want:?}")),
            None => problems.push(format!("no outcome, expected {want:?}")),
        }
    }
    let credited = match credited.map(answered_amount).transpose() {
        Ok(credited) => credited,
        Err(why) => {
            problems.push(why);
            None
        }
    };
    if let Some(want) = expect.credited {
        match (Amount::parse(want), credited) {
            (Ok(want), Some(got)) if got == want => {}
            (Ok(want), Some(got)) => problems.push(format!("credited {got}, expected {want}")),
            (Ok(want), None) => problems.push(format!("no credited amount, expected {want}")),
            (Err(err), _) => problems.push(format!("bad expectation: {err}")),
        }
    }
    if problems.is_empty() {
        return Verdict::Pass { credited };
    }
    Verdict::Fail(problems.join("; "))
}

/// `credited` as a decimal: a JSON string, or (leniently) a JSON number's text.
fn answered_amount(value: &Value) -> Result<Amount, String> {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        other => return Err(format!("credited {other} is not a decimal")),
    };
    Amount::parse(&text).map_err(|err| format!("credited: {err}"))
}

/// The scenario-wide check: the credits add up to [`Scenario::total_credited`]. `None` when
/// there is nothing to check (no expected total, or some answer did not report a credit).
#[must_use]
pub fn total_verdict(scenario: &Scenario, verdicts: &[Verdict]) -> Option<Result<Amount, String>> {
    let want = scenario.total_credited?;
    let mut total = Amount::ZERO;
    for verdict in verdicts {
        let Verdict::Pass { credited: Some(credited) } = verdict else {
            return None;
        };
        total = total.checked_add(*credited)?;
    }
    Some(match Amount::parse(want) {
        Ok(want) if total == want => Ok(total),
        Ok(want) => Err(format!("credited {total} in all, expected {want}")),
        Err(err) => Err(format!("bad expectation: {err}")),
    })
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;
    use crate::scenario::{
        DUPLICATES, LATE_AFTER_CANCEL, OUT_OF_ORDER, PARTIAL_THEN_FILLED, PAYOUTS, PING,
        ScenarioName,
    };

    fn amount(text: &str) -> Amount {
        Amount::parse(text).unwrap()
    }

    fn ok(body: &str) -> Answer {
        Answer { status: 200, reason: "OK".to_owned(), body: body.as_bytes().to_vec() }
    }

    /// What payram-merchant answers to a payment notification.
    fn merchant(outcome: &str, credited: &str) -> Answer {
        ok(&format!(
            r#"{{"outcome":"{outcome}","reference_id":"ref-1","status":"FILLED","credited":"{credited}"}}"#
        ))
    }

    fn judge_all(
        scenario: &Scenario,
        answers: &[Answer],
    ) -> (Vec<Verdict>, Option<Result<Amount, String>>) {
        let verdicts: Vec<_> = scenario
            .steps
            .iter()
            .zip(answers)
            .map(|(step, answer)| judge(&step.expect, answer))
            .collect();
        let total = total_verdict(scenario, &verdicts);
        (verdicts, total)
    }

    fn passes(scenario: &Scenario, answers: &[Answer]) -> bool {
        let (verdicts, total) = judge_all(scenario, answers);
        verdicts.iter().all(|verdict| !matches!(verdict, Verdict::Fail(_)))
            && !matches!(total, Some(Err(_)))
    }

    #[test]
    fn correct_answers_pass_comparing_credits_as_decimals() {
        let answers = [merchant("applied", "40.00"), merchant("applied", "60.00")];
        let (verdicts, total) = judge_all(&PARTIAL_THEN_FILLED, &answers);
        assert_eq!(verdicts[0], Verdict::Pass { credited: Some(amount("40.00")) });
        assert_eq!(total, Some(Ok(amount("100"))));

        assert!(passes(&DUPLICATES, &[merchant("applied", "100.00"), merchant("duplicate", "0")]));
        assert!(passes(&OUT_OF_ORDER, &[merchant("applied", "100"), merchant("stale", "0")]));
        assert!(passes(
            &LATE_AFTER_CANCEL,
            &[merchant("applied", "0"), merchant("applied", "100.00")]
        ));
        assert!(passes(&PING, &[ok(r#"{"outcome":"ping"}"#)]));
        let payout = ok(
            r#"{"outcome":"payout","reference_id":null,"payout_id":"7","status":"SENT","credited":"0"}"#,
        );
        assert!(passes(&PAYOUTS, &[payout.clone(), payout.clone(), payout]));
    }

    #[test]
    fn a_receiver_that_credits_a_duplicate_fails() {
        let answers = [merchant("applied", "100.00"), merchant("applied", "100.00")];
        let (verdicts, total) = judge_all(&DUPLICATES, &answers);
        let Verdict::Fail(why) = &verdicts[1] else { panic!("{verdicts:?}") };
        assert!(why.contains("outcome \"applied\", expected \"duplicate\""), "{why}");
        assert!(why.contains("credited 100.00, expected 0"), "{why}");
        assert_eq!(total, None, "a failed step leaves nothing to add up");
    }

    #[test]
    fn a_receiver_that_applies_a_stale_partial_fails() {
        assert!(!passes(&OUT_OF_ORDER, &[merchant("applied", "100"), merchant("applied", "0")]));
        assert!(!passes(&OUT_OF_ORDER, &[merchant("applied", "100"), merchant("stale", "40")]));
    }

    #[test]
    fn a_wrong_total_fails_even_when_each_step_looks_right() {
        let scenario = Scenario { total_credited: Some("90"), ..PARTIAL_THEN_FILLED };
        let answers = [merchant("applied", "40"), merchant("applied", "60")];
        let (_, total) = judge_all(&scenario, &answers);
        assert_eq!(total, Some(Err("credited 100 in all, expected 90".to_owned())));
    }

    #[test]
    fn errors_and_redirects_fail_whatever_the_body() {
        for status in [301, 400, 401, 404, 405, 500, 503] {
            let answer =
                Answer { status, reason: String::new(), body: br#"{"outcome":"ping"}"#.to_vec() };
            assert!(matches!(judge(&Expect::ANY_2XX, &answer), Verdict::Fail(_)), "{status}");
        }
        let always_500 =
            Answer { status: 500, reason: "Internal Server Error".to_owned(), body: Vec::new() };
        for name in ScenarioName::value_variants() {
            let scenario = name.scenario();
            let answers = vec![always_500.clone(); scenario.steps.len()];
            assert!(!passes(scenario, &answers), "{}", scenario.name);
        }
    }

    #[test]
    fn a_generic_receiver_passes_on_status_alone() {
        for body in ["OK", "", r#"{"received":true}"#, "[1,2]"] {
            assert_eq!(
                judge(&Expect::answer("duplicate", "0"), &ok(body)),
                Verdict::Generic,
                "{body}"
            );
        }
        let answers = [ok("OK"), ok("OK")];
        let (_, total) = judge_all(&DUPLICATES, &answers);
        assert_eq!(total, None, "no total without credits");
        assert!(Verdict::Generic.to_string().contains("detailed checks skipped"));
    }

    #[test]
    fn a_malformed_credit_fails() {
        let verdict = judge(
            &Expect::answer("applied", "40"),
            &ok(r#"{"outcome":"applied","credited":"forty"}"#),
        );
        assert!(matches!(verdict, Verdict::Fail(why) if why.contains("credited")));
        let verdict = judge(&Expect::answer("applied", "40"), &ok(r#"{"outcome":"applied"}"#));
        assert_eq!(verdict, Verdict::Fail("no credited amount, expected 40".to_owned()));
    }
}
