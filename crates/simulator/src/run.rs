//! The two entry points: [`send`] (one notification) and [`simulate`] (a scenario), printing
//! what they send and what they get to stdout.

use std::io::{self, Write};

use crate::{
    args::{SendArgs, SimulateArgs, TargetArgs},
    body::send_body,
    client::{Auth, Client, Request},
    error::SimulatorError,
    ids::{fresh_payout_id, fresh_reference},
    judge::{Verdict, judge, total_verdict},
    scenario::{Delivery, RunContext, plan},
};

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

const fn auth(target: &TargetArgs) -> Auth {
    if target.legacy_header { Auth::Legacy } else { Auth::Signed }
}

fn key(target: &TargetArgs) -> Result<&str, SimulatorError> {
    if target.key.trim().is_empty() {
        return Err(SimulatorError::EmptyKey);
    }
    Ok(&target.key)
}

/// `payram-merchant send`: one notification; fails unless the answer is 2xx.
pub async fn send(args: &SendArgs) -> Result<(), SimulatorError> {
    let key = key(&args.target)?;
    let reference = args.reference.clone().unwrap_or_else(fresh_reference);
    let body = send_body(args, &reference, now_unix())?;
    let client = Client::new(&args.target.url, args.target.timeout)?;
    let request = Request::new(args.target.method, auth(&args.target), key, body);

    let mut out = io::stdout().lock();
    writeln!(
        out,
        "> {} {} ({})",
        request.method.as_str(),
        client.url(),
        auth(&args.target).describe()
    )
    .map_err(SimulatorError::Stdout)?;
    writeln!(out, "> {}", String::from_utf8_lossy(&request.body))
        .map_err(SimulatorError::Stdout)?;
    out.flush().map_err(SimulatorError::Stdout)?;
    let answer = client.deliver(&request).await?;
    writeln!(out, "< {answer}").map_err(SimulatorError::Stdout)?;
    writeln!(out, "< {}", String::from_utf8_lossy(&answer.body)).map_err(SimulatorError::Stdout)?;
    if !answer.is_success() {
        return Err(SimulatorError::Refused { status: answer.status });
    }
    Ok(())
}

/// At most this many characters of an answer are shown per step.
const SHOWN_ANSWER_CHARS: usize = 500;

/// `payram-merchant simulate`: plays a scenario, prints every step and its verdict, and fails
/// when any answer is not what a correct receiver answers.
pub async fn simulate(args: &SimulateArgs) -> Result<(), SimulatorError> {
    let scenario = args.scenario.scenario();
    let key = key(&args.target)?;
    let client = Client::new(&args.target.url, args.target.timeout)?;
    let context = RunContext {
        key,
        method: args.target.method,
        auth: auth(&args.target),
        customer_id: &args.customer,
        reference_id: fresh_reference(),
        payout_id: fresh_payout_id(),
        timestamp: now_unix(),
    };
    let planned = plan(scenario, &context)?;

    let mut out = io::stdout().lock();
    writeln!(out, "scenario {} against {}", scenario.name, client.url())
        .map_err(SimulatorError::Stdout)?;
    let delivers =
        |wanted: fn(&Delivery) -> bool| scenario.steps.iter().any(|step| wanted(&step.delivery));
    if delivers(|delivery| matches!(delivery, Delivery::Payment { .. })) {
        writeln!(out, "reference_id {}, customer_id {}", context.reference_id, context.customer_id)
            .map_err(SimulatorError::Stdout)?;
    }
    if delivers(|delivery| matches!(delivery, Delivery::Payout { .. })) {
        writeln!(out, "payout_id {}", context.payout_id).map_err(SimulatorError::Stdout)?;
    }
    let steps = planned.len();
    let mut verdicts = Vec::with_capacity(steps);
    let mut failed = Vec::new();
    for (index, (step, planned)) in scenario.steps.iter().zip(&planned).enumerate() {
        let number = index + 1;
        writeln!(out, "step {number}/{steps}: {}", planned.label)
            .map_err(SimulatorError::Stdout)?;
        out.flush().map_err(SimulatorError::Stdout)?;
        let answer = client.deliver(&planned.request).await?;
        let shown = String::from_utf8_lossy(&answer.body);
        let shown = shown.trim_end();
        let shown = match shown.char_indices().nth(SHOWN_ANSWER_CHARS) {
            Some((cut, _)) => format!("{}...", &shown[..cut]),
            None => shown.to_owned(),
        };
        writeln!(out, "  < {answer} {shown}").map_err(SimulatorError::Stdout)?;
        let verdict = judge(&step.expect, &answer);
        writeln!(out, "  {verdict}").map_err(SimulatorError::Stdout)?;
        if matches!(verdict, Verdict::Fail(_)) {
            failed.push(number.to_string());
        }
        verdicts.push(verdict);
    }
    match total_verdict(scenario, &verdicts) {
        Some(Ok(total)) => writeln!(out, "total: ok   credited {total} in all"),
        Some(Err(why)) => {
            failed.push("total".to_owned());
            writeln!(out, "total: FAIL {why}")
        }
        None if verdicts.iter().any(|verdict| matches!(verdict, Verdict::Generic)) => {
            writeln!(
                out,
                "note: the receiver does not answer payram-merchant's fields; \
                 only the status codes were checked"
            )
        }
        None => Ok(()),
    }
    .map_err(SimulatorError::Stdout)?;
    if failed.is_empty() {
        writeln!(out, "PASS {}", scenario.name).map_err(SimulatorError::Stdout)?;
        return Ok(());
    }
    writeln!(out, "FAIL {}", scenario.name).map_err(SimulatorError::Stdout)?;
    Err(SimulatorError::ScenarioFailed { scenario: scenario.name, failed })
}
