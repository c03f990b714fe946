//! The dashboard in a real headless Chromium (Debian's `chromium` and `chromedriver`, driven by
//! Selenium's `WebDriver` client from Python; `make test-deps` installs all three): sign in, see
//! a paid payment with its credit, replay a failed event from the page. Screenshots of the main
//! pages are kept in `target/e2e-artifacts/dashboard/`.

use std::path::PathBuf;

use crate::{
    helpers::{ADMIN_TOKEN, TestApp, fixture, run_python},
    retry::{REFERENCE, partial_then_broken, sql},
};

#[tokio::test]
async fn a_merchant_signs_in_sees_the_credit_and_replays_a_failed_event_in_a_browser() {
    // Retries far apart: the failed event waits for the person at the browser.
    let app = TestApp::spawn_with(&[("RETRY_BASE_DELAY_MS", "3600000")]).await;
    let (code, _) = app.post_signed(&fixture("filled_strings.json")).await;
    assert_eq!(code, 200);
    let paid: serde_json::Value = serde_json::from_slice(&fixture("filled_strings.json")).unwrap();
    let paid_reference = paid["reference_id"].as_str().unwrap().to_owned();
    let (_, payment) = app.admin_get(&format!("/api/payments/{paid_reference}")).await;
    let credited = payment["credited_usd"].as_str().unwrap().to_owned();
    assert_ne!(credited, "0");

    // A payment whose next notification fails, then the cause is fixed: it waits for a replay.
    let failed_id = partial_then_broken(&app).await;
    sql(
        &app,
        &format!("UPDATE payments SET credited_usd = '20.00' WHERE reference_id = '{REFERENCE}'"),
    );

    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-artifacts/dashboard");
    let failed_id = failed_id.to_string();
    let shots_arg = shots.to_str().unwrap();
    let args = [app.base.as_str(), ADMIN_TOKEN, &paid_reference, &credited, &failed_id, shots_arg];
    let run = run_python("dashboard_browser.py", &args, b"").await;
    assert!(
        run.success && run.stdout.trim() == "dashboard ok",
        "the browser run failed: {}{}\nserver log:\n{}",
        run.stdout,
        run.stderr,
        app.log()
    );
    for page in ["login", "overview", "payment", "events-failed", "event-replayed"] {
        let shot = shots.join(format!("{page}.png"));
        let bytes = std::fs::read(&shot).unwrap_or_else(|err| panic!("{}: {err}", shot.display()));
        assert!(bytes.starts_with(b"\x89PNG"), "{} is a PNG", shot.display());
    }

    // Neither the admin token nor the wrong one typed at the sign-in form is ever logged.
    let log = app.log();
    assert!(!log.contains(ADMIN_TOKEN) && !log.contains("not-the-token"), "{log}");

    // The replay credited the rest of the failed payment, once.
    let (_, event) = app.admin_get(&format!("/api/events/{failed_id}")).await;
    assert_eq!(event["outcome"], "applied", "{event}");
    let (_, payment) = app.admin_get(&format!("/api/payments/{REFERENCE}")).await;
    assert_eq!(payment["status"], "FILLED", "{payment}");
}
