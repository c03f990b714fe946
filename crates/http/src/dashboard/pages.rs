//! The dashboard's HTML. `maud` escapes every value; amounts are exact decimal text.
//!
//! Values that came from requests (ids, statuses, details, raw bodies) are shown through
//! [`visible`], so that no invisible or direction-changing character can make one value look
//! like another, and linked through [`segment`], so that a value is always exactly one URL
//! path segment (`a?x=1#frag` links to that payment, not to `a`).

use std::{borrow::Cow, fmt::Write as _};

use chrono::{DateTime, SecondsFormat, Utc};
use maud::{DOCTYPE, Markup, html};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use payram_domain::{Amount, CustomerId, EventOutcome};
use payram_ports::{
    CustomerBalance, EventRecord, OutboxEntry, OutboxState, PaymentItem, PaymentView, Stats,
};

/// The stylesheet, served from the binary at `/dashboard/style.css`.
pub(crate) const STYLE: &str = include_str!("style.css");

/// What a path segment may hold unencoded: RFC 3986's unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// `text` as one URL path segment: every byte but the unreserved ones percent-encoded (`/`,
/// `?`, `#`, `%` included), so the link names exactly `text`. (The segments `.` and `..` are
/// the one exception: browsers resolve them, so such an id cannot be linked by path.)
pub(crate) fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// Whether a character would not be seen as itself: controls (C0, DEL, C1), format
/// characters (bidirectional embeddings, overrides and isolates, zero-width characters, the
/// byte-order mark, soft hyphen, ...), line and paragraph separators, whitespace other than
/// the plain space, and blank fillers (Hangul fillers, the combining grapheme joiner,
/// variation selectors).
fn is_hidden(c: char) -> bool {
    c.is_control()
        || (c.is_whitespace() && c != ' ')
        || matches!(
            c,
            '\u{00ad}'
                | '\u{034f}'
                | '\u{061c}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{17b4}'
                | '\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff0}'..='\u{fffb}'
                | '\u{0600}'..='\u{0605}'
                | '\u{06dd}'
                | '\u{070f}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08e2}'
                | '\u{110bd}'
                | '\u{110cd}'
                | '\u{13430}'..='\u{1343f}'
                | '\u{1bca0}'..='\u{1bca3}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0000}'..='\u{e0fff}'
        )
}

/// `text` with every hidden character ([`is_hidden`]) written as a Rust escape (`\u{202e}`)
/// and every backslash doubled, so that what is shown can be told apart from an escape; text
/// without either is borrowed as it is.
pub(crate) fn visible(text: &str) -> Cow<'_, str> {
    escape(text, |_| false)
}

/// [`visible`] for a multi-line block (a raw body, to read, not to compare): line feeds, tabs
/// and backslashes (JSON's own escapes) are kept as they are.
fn visible_block(text: &str) -> Cow<'_, str> {
    escape(text, |c| matches!(c, '\n' | '\t' | '\\'))
}

fn escape(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    let shown = |c: char| keep(c) || (c != '\\' && !is_hidden(c));
    if text.chars().all(shown) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if shown(c) {
            out.push(c);
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    Cow::Owned(out)
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn money(amount: Option<&Amount>) -> String {
    amount.map_or_else(|| "—".to_owned(), Amount::to_string)
}

/// The outcomes an operator must look at.
const fn needs_attention(outcome: EventOutcome) -> bool {
    matches!(outcome, EventOutcome::Failed | EventOutcome::Dead | EventOutcome::Waiting)
}

fn layout(title: &str, csrf: Option<&str>, refresh: bool, body: &Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if refresh { meta http-equiv="refresh" content="30"; }
                title { (title) " · payram-merchant" }
                link rel="stylesheet" href="/dashboard/style.css";
            }
            body {
                header {
                    a.brand href="/dashboard" { "payram-merchant" }
                    @if let Some(csrf) = csrf {
                        nav {
                            a href="/dashboard" { "Overview" }
                            a href="/dashboard/events" { "Events" }
                            a href="/dashboard/events?outcome=failed" { "Failed" }
                            a href="/dashboard/events?outcome=dead" { "Dead" }
                            a href="/dashboard/outbox" { "Outbox" }
                            form method="post" action="/dashboard/logout" {
                                input type="hidden" name="csrf" value=(csrf);
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

pub(crate) fn error(message: &str) -> Markup {
    layout(
        "Error",
        None,
        false,
        &html! {
            h1 { "Something went wrong" }
            p.notice.bad { (message) }
            p { a href="/dashboard" { "Back to the dashboard" } }
        },
    )
}

pub(crate) fn login(enabled: bool, problem: Option<&str>) -> Markup {
    layout(
        "Sign in",
        None,
        false,
        &html! {
            h1 { "Sign in" }
            @if let Some(problem) = problem { p.notice.bad role="alert" { (problem) } }
            @if enabled {
                form.login method="post" action="/dashboard/login" {
                    label for="token" { "Admin token" }
                    input #token type="password" name="token" autocomplete="current-password" required autofocus;
                    button type="submit" { "Sign in" }
                }
            } @else {
                p { "The dashboard is off: start the server with " code { "ADMIN_TOKEN" } " set." }
            }
        },
    )
}

fn outcome_badge(outcome: EventOutcome) -> Markup {
    let class = if needs_attention(outcome) { "badge bad" } else { "badge" };
    html! { span class=(class) data-outcome=(outcome.as_str()) { (outcome.as_str()) } }
}

fn events_table(events: &[EventRecord]) -> Markup {
    html! {
        table.events {
            thead { tr { th { "Event" } th { "Received" } th { "Origin" } th { "Reference" } th { "Status" } th { "Outcome" } th { "Credited USD" } th { "Detail" } } }
            tbody {
                @for event in events {
                    tr.attention[needs_attention(event.outcome)] data-event=(event.id) {
                        td { a href={ "/dashboard/events/" (event.id) } { "#" (event.id) } }
                        td { (time(event.received_at)) }
                        td { (event.origin.as_str()) }
                        td {
                            @if let Some(reference) = &event.reference_id {
                                a href={ "/dashboard/payments/" (segment(reference)) } { (visible(reference)) }
                            } @else if let Some(payout) = &event.payout_id { "payout " (visible(payout)) }
                        }
                        td { (visible(event.status.as_deref().unwrap_or(""))) }
                        td { (outcome_badge(event.outcome)) }
                        td.num { (event.credited_usd) }
                        td.detail { (visible(event.detail.as_deref().unwrap_or(""))) }
                    }
                }
            }
        }
        @if events.is_empty() { p.empty { "No events." } }
    }
}

fn payments_table(payments: &[PaymentItem]) -> Markup {
    html! {
        table.payments {
            thead { tr { th { "Reference" } th { "Status" } th { "Customer" } th { "Requested" } th { "Filled" } th { "Filled USD" } th { "Credited USD" } th { "Updated" } } }
            tbody {
                @for item in payments {
                    @let record = item.payment.record();
                    tr data-reference=(visible(record.reference_id.as_str())) {
                        td { a href={ "/dashboard/payments/" (segment(record.reference_id.as_str())) } { (visible(record.reference_id.as_str())) } }
                        td { span.badge { (record.status.as_str()) } @if record.late_payment { " " span.badge.bad { "late" } } }
                        td { (visible(record.customer_id.as_ref().map_or("", CustomerId::as_str))) }
                        td.num { (money(record.amount.as_ref())) " " (visible(record.currency.as_deref().unwrap_or(""))) }
                        td.num { (money(record.filled_amount.as_ref())) }
                        td.num { (money(record.filled_amount_in_usd.as_ref())) }
                        td.num.credited { (record.credited_usd) }
                        td { (time(item.updated_at)) }
                    }
                }
            }
        }
        @if payments.is_empty() { p.empty { "No payments yet." } }
    }
}

fn customers_table(customers: &[CustomerBalance]) -> Markup {
    html! {
        table.customers {
            thead { tr { th { "Customer" } th { "Balance USD" } th { "Credits" } th { "Payments" } } }
            tbody {
                @for customer in customers {
                    tr data-customer=(visible(customer.customer_id.as_str())) {
                        td { (visible(customer.customer_id.as_str())) }
                        td.num { (customer.balance_usd) }
                        td.num { (customer.credits) }
                        td.num { (customer.payments) }
                    }
                }
            }
        }
        @if customers.is_empty() { p.empty { "No customers yet." } }
    }
}

pub(crate) fn overview(
    csrf: &str,
    stats: &Stats,
    attention: &[EventRecord],
    payments: &[PaymentItem],
    customers: &[CustomerBalance],
) -> Markup {
    layout(
        "Overview",
        Some(csrf),
        true,
        &html! {
            h1 { "Overview" }
            section.cards {
                div.card { span.label { "Credited" } span.value { (stats.credited_usd) " USD" } span.sub { (stats.credits) " credits" } }
                div.card.bad[stats.failed_events + stats.dead_events > 0] {
                    span.label { "Failed / dead events" } span.value { (stats.failed_events) " / " (stats.dead_events) }
                }
                div.card.bad[stats.outbox_dead > 0] {
                    span.label { "Outbox pending / dead" } span.value { (stats.outbox_pending) " / " (stats.outbox_dead) }
                }
                div.card { span.label { "Recovered by reconciliation" } span.value { (stats.reconciliation_corrections) } }
            }
            @if !attention.is_empty() {
                h2.bad { "Needs attention" }
                (events_table(attention))
            }
            h2 { "Payments" }
            (payments_table(payments))
            h2 { "Customers" }
            (customers_table(customers))
        },
    )
}

fn replay_button(csrf: &str, action: &str, label: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            button.replay type="submit" { (label) }
        }
    }
}

pub(crate) fn payment(csrf: &str, view: &PaymentView) -> Markup {
    let record = view.payment.record();
    layout(
        &visible(record.reference_id.as_str()),
        Some(csrf),
        false,
        &html! {
            h1 { "Payment " (visible(record.reference_id.as_str())) }
            dl.facts {
                dt { "Status" } dd { span.badge { (record.status.as_str()) } @if record.late_payment { " " span.badge.bad { "late payment" } } }
                dt { "Customer" } dd { (visible(record.customer_id.as_ref().map_or("", CustomerId::as_str))) }
                dt { "Invoice" } dd { (visible(record.invoice_id.as_deref().unwrap_or(""))) }
                dt { "Requested" } dd { (money(record.amount.as_ref())) " " (visible(record.currency.as_deref().unwrap_or(""))) }
                dt { "Filled" } dd { (money(record.filled_amount.as_ref())) }
                dt { "Filled USD" } dd { (money(record.filled_amount_in_usd.as_ref())) }
                dt { "Credited USD" } dd.credited { (record.credited_usd) }
            }
            h2 { "Timeline" }
            ol.timeline {
                @for event in &view.events {
                    li.attention[needs_attention(event.outcome)] {
                        a href={ "/dashboard/events/" (event.id) } { "#" (event.id) }
                        " " (time(event.received_at)) " "
                        (visible(event.status.as_deref().unwrap_or(""))) " "
                        (outcome_badge(event.outcome))
                    }
                }
            }
        },
    )
}

pub(crate) fn events(csrf: &str, outcome: Option<EventOutcome>, events: &[EventRecord]) -> Markup {
    layout(
        "Events",
        Some(csrf),
        true,
        &html! {
            h1 { "Events" @if let Some(outcome) = outcome { " · " (outcome.as_str()) } }
            p.filters {
                a href="/dashboard/events" { "all" }
                @for option in EventOutcome::ALL {
                    " " a.bad[needs_attention(option)] href={ "/dashboard/events?outcome=" (option.as_str()) } { (option.as_str()) }
                }
            }
            (events_table(events))
        },
    )
}

pub(crate) fn event(csrf: &str, event: &EventRecord, replayed: Option<EventOutcome>) -> Markup {
    layout(
        &format!("Event {}", event.id),
        Some(csrf),
        false,
        &html! {
            @if let Some(outcome) = replayed {
                p.notice role="status" { "Replayed: this event's outcome is " (outcome_badge(outcome)) "." }
            }
            h1 { "Event #" (event.id) " " (outcome_badge(event.outcome)) }
            @if needs_attention(event.outcome) {
                (replay_button(csrf, &format!("/dashboard/events/{}/replay", event.id), "Replay"))
            }
            dl.facts {
                dt { "Received" } dd { (time(event.received_at)) }
                dt { "Origin" } dd { (event.origin.as_str()) @if let Some(of) = event.origin.replay_of() { " of " a href={ "/dashboard/events/" (of) } { "#" (of) } } }
                dt { "Method" } dd { (visible(&event.method)) }
                dt { "Authenticated by" } dd { (event.auth.as_str()) " (key " (event.auth.key_index()) ")" }
                dt { "Reference" } dd { @if let Some(reference) = &event.reference_id { a href={ "/dashboard/payments/" (segment(reference)) } { (visible(reference)) } } }
                dt { "Status" } dd { (visible(event.status.as_deref().unwrap_or(""))) }
                dt { "Credited USD" } dd { (event.credited_usd) }
                dt { "Attempts" } dd { (event.attempts) @if let Some(next) = event.next_attempt_at { ", next at " (time(next)) } }
                dt { "Detail" } dd.detail { (visible(event.detail.as_deref().unwrap_or(""))) }
            }
            h2 { "Raw body" }
            pre.raw { (visible_block(&String::from_utf8_lossy(&event.raw_body))) }
        },
    )
}

pub(crate) fn outbox(
    csrf: &str,
    state: Option<OutboxState>,
    entries: Option<&[OutboxEntry]>,
) -> Markup {
    layout(
        "Outbox",
        Some(csrf),
        true,
        &html! {
            h1 { "Outbox" @if let Some(state) = state { " · " (state.as_str()) } }
            @match entries {
                None => p { "Credits are not forwarded: set " code { "CREDIT_FORWARD_URL" } " to deliver them to your application." },
                Some(entries) => {
                    p.filters {
                        a href="/dashboard/outbox" { "all" }
                        @for option in [OutboxState::Pending, OutboxState::Delivered, OutboxState::Dead] {
                            " " a href={ "/dashboard/outbox?state=" (option.as_str()) } { (option.as_str()) }
                        }
                    }
                    table.outbox {
                        thead { tr { th { "Entry" } th { "webhook-id" } th { "State" } th { "Attempts" } th { "Customer" } th { "Amount USD" } th { "Last error" } th {} } }
                        tbody {
                            @for entry in entries {
                                tr.attention[entry.state != OutboxState::Delivered] data-outbox=(entry.id) {
                                    td { (entry.id) }
                                    td { code { (visible(&entry.credit.webhook_id())) } }
                                    td { span.badge.bad[entry.state == OutboxState::Dead] { (entry.state.as_str()) } }
                                    td.num { (entry.attempts) }
                                    td { (visible(entry.credit.customer_id.as_str())) }
                                    td.num { (entry.credit.amount_usd) }
                                    td.detail { (visible(entry.last_error.as_deref().unwrap_or(""))) }
                                    td { (replay_button(csrf, &format!("/dashboard/outbox/{}/replay", entry.id), "Deliver now")) }
                                }
                            }
                        }
                    }
                    @if entries.is_empty() { p.empty { "No entries." } }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_is_one_path_segment_whatever_the_id() {
        assert_eq!(segment("3f1c1e7a-5b2d_x.y~z"), "3f1c1e7a-5b2d_x.y~z", "unreserved stay");
        assert_eq!(segment("a?x=1#frag"), "a%3Fx%3D1%23frag");
        assert_eq!(segment("a/b%2F c+é"), "a%2Fb%252F%20c%2B%C3%A9");
        assert_eq!(segment("\u{202e}"), "%E2%80%AE");
    }

    #[test]
    fn hidden_characters_are_shown_as_escapes_and_plain_text_is_untouched() {
        assert!(matches!(visible("ref_123 été 日本"), Cow::Borrowed("ref_123 été 日本")));
        for (hidden, shown) in [
            ('\u{202a}', r"\u{202a}"),
            ('\u{202e}', r"\u{202e}"),
            ('\u{2066}', r"\u{2066}"),
            ('\u{2069}', r"\u{2069}"),
            ('\u{200b}', r"\u{200b}"),
            ('\u{200f}', r"\u{200f}"),
            ('\u{2060}', r"\u{2060}"),
            ('\u{feff}', r"\u{feff}"),
            ('\u{ad}', r"\u{ad}"),
            ('\u{0}', r"\u{0}"),
            ('\n', r"\u{a}"),
            ('\r', r"\u{d}"),
            ('\u{1b}', r"\u{1b}"),
            ('\u{7f}', r"\u{7f}"),
            ('\u{85}', r"\u{85}"),
            ('\u{a0}', r"\u{a0}"),
            ('\u{2028}', r"\u{2028}"),
            ('\u{3164}', r"\u{3164}"),
            ('\u{e0041}', r"\u{e0041}"),
        ] {
            assert_eq!(visible(&format!("a{hidden}b")), format!("a{shown}b"), "{hidden:?}");
        }
    }

    #[test]
    fn what_is_shown_tells_every_id_apart() {
        // A literal backslash is doubled, so the text `\u{202e}` never looks like U+202E.
        assert_eq!(visible(r"a\u{202e}"), r"a\\u{202e}");
        assert_ne!(visible(r"a\u{202e}"), visible("a\u{202e}"));
        assert_eq!(visible(r"DOMAIN\user"), r"DOMAIN\\user");
    }

    #[test]
    fn a_raw_body_keeps_its_lines_and_json_escapes() {
        assert_eq!(
            visible_block("{\n\t\"a\": \"\\u202e\u{202e}\"\r\n}"),
            "{\n\t\"a\": \"\\u202e\\u{202e}\"\\u{d}\n}"
        );
    }
}
