//! The command line of the real binary.

use std::process::Command;

use crate::helpers::{TestApp, binary, fixture};

fn run(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let output =
        Command::new(binary()).args(args).env_clear().envs(env.iter().copied()).output().unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn serve_refuses_to_start_without_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let (ok, _, stderr) = run(&["serve"], &[("DATABASE_URL", db.to_str().unwrap())]);
    assert!(!ok);
    assert!(stderr.contains("PAYRAM_API_KEYS"), "{stderr}");
    assert!(!db.exists(), "nothing is created when the configuration is refused");
}

#[test]
fn migrate_applies_once_then_reports_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let (ok, stdout, stderr) = run(&["migrate"], &[("DATABASE_URL", &url)]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("applied"), "{stdout}");
    let (ok, stdout, _) = run(&["migrate", "--database-url", &url], &[]);
    assert!(ok);
    assert!(stdout.contains("up to date"), "{stdout}");
}

#[test]
fn help_documents_every_command_and_setting() {
    let (ok, stdout, _) = run(&["--help"], &[]);
    assert!(ok);
    assert!(stdout.contains("serve") && stdout.contains("migrate"), "{stdout}");
    let (ok, stdout, _) = run(&["serve", "--help"], &[("PAYRAM_API_KEYS", "secret-in-env")]);
    assert!(ok);
    for name in [
        "PAYRAM_API_KEYS",
        "DATABASE_URL",
        "BIND_ADDR",
        "WEBHOOK_PATH",
        "ADMIN_TOKEN",
        "CREDIT_ON",
        "REQUIRE_SIGNATURE",
        "MAX_BODY_BYTES",
    ] {
        assert!(stdout.contains(name), "serve --help lacks {name}");
    }
    assert!(!stdout.contains("secret-in-env"), "help never shows a key");
}

#[tokio::test]
async fn a_sqlite_url_and_a_restart_keep_every_credit() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kept.db").display());
    let app =
        TestApp::spawn_on(dir, std::path::Path::new("unused"), &[("DATABASE_URL", &url)]).await;
    let (code, _) = app.post_signed(&fixture("filled_strings.json")).await;
    assert_eq!(code, 200);
    let dir = app.kill().await;
    let app =
        TestApp::spawn_on(dir, std::path::Path::new("unused"), &[("DATABASE_URL", &url)]).await;
    assert_eq!(app.customer_balance("cust_2002").await, "12.00");
    let (_, answer) = app.post_signed(&fixture("filled_strings.json")).await;
    assert_eq!(answer["outcome"], "duplicate");
}
