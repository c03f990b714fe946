//! The admin API's lists, with filters and cursor pagination: payments, customers with their
//! balances, credits (JSON or CSV) and the last use of each API key.
//!
//! Every list is newest first (customers by id) and answers `next_cursor`: `null` on the last
//! page, else an opaque text to pass as `cursor` for the next page.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use payram_domain::PaymentStatus;
use payram_ports::{
    CreditFilter, CustomerBalance, EventFilter, PaymentCursor, PaymentFilter, PaymentItem, Queries,
    RecordedCredit,
};

use crate::{
    HttpConfig,
    auth::Admin,
    dto::{ErrorBody, PaymentFields, rfc3339},
    error::ApiError,
};

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest { code: "bad_request", message: message.into() }
}

/// `limit`: 1 to [`EventFilter::MAX_LIMIT`], [`EventFilter::DEFAULT_LIMIT`] when absent.
pub(crate) fn page_size(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(EventFilter::DEFAULT_LIMIT);
    if limit == 0 || limit > EventFilter::MAX_LIMIT {
        return Err(bad_request(format!("limit must be between 1 and {}", EventFilter::MAX_LIMIT)));
    }
    Ok(limit)
}

/// `since`: RFC 3339.
pub(crate) fn since(text: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    text.filter(|text| !text.is_empty())
        .map(|text| DateTime::parse_from_rfc3339(text).map(|at| at.with_timezone(&Utc)))
        .transpose()
        .map_err(|err| bad_request(format!("since must be an RFC 3339 time: {err}")))
}

fn encode(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

fn decode(cursor: &str) -> Result<String, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| bad_request("cursor is not one this server gave"))
}

/// A numeric id cursor (events, credits).
pub(crate) fn id_cursor(cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
    cursor
        .filter(|text| !text.is_empty())
        .map(|text| {
            decode(text)?
                .parse::<i64>()
                .map_err(|_| bad_request("cursor is not one this server gave"))
        })
        .transpose()
}

/// The cursor after the last item of a full page (`key` names the item in the listing
/// order); `None` on a shorter, last page.
pub(crate) fn next_cursor<T>(page: &[T], limit: u32, key: impl Fn(&T) -> String) -> Option<String> {
    let full = u32::try_from(page.len()).is_ok_and(|len| len == limit);
    page.last().filter(|_| full).map(|last| encode(&key(last)))
}

// --- payments ---

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PaymentQuery {
    status: Option<String>,
    customer_id: Option<String>,
    since: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

fn payment_cursor(cursor: &str) -> Result<PaymentCursor, ApiError> {
    let text = decode(cursor)?;
    let (at, reference_id) =
        text.split_once('|').ok_or_else(|| bad_request("cursor is not one this server gave"))?;
    let created_at = DateTime::parse_from_rfc3339(at)
        .map_err(|_| bad_request("cursor is not one this server gave"))?
        .with_timezone(&Utc);
    Ok(PaymentCursor { created_at, reference_id: reference_id.to_owned() })
}

/// `GET /api/payments?status=&customer_id=&since=&limit=&cursor=`: newest first.
#[utoipa::path(get, path = "/api/payments", tag = "admin", params(PaymentQuery), responses((status = 200, body = PaymentListBody<'_>), (status = 400, description = "A filter or cursor that cannot be used", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody), (status = 503, description = "Storage unavailable", body = ErrorBody)), security(("bearer" = [])))]
#[tracing::instrument(name = "admin_payments", skip_all)]
pub(crate) async fn payments(
    _admin: Admin,
    query: web::Query<PaymentQuery>,
    queries: web::Data<dyn Queries>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let status = query
        .status
        .as_deref()
        .filter(|text| !text.is_empty())
        .map(|text| text.parse::<PaymentStatus>().map_err(|err| bad_request(err.to_string())))
        .transpose()?;
    let limit = page_size(query.limit)?;
    let filter = PaymentFilter {
        status,
        customer_id: query.customer_id.filter(|text| !text.is_empty()),
        since: since(query.since.as_deref())?,
        limit,
        after: query.cursor.as_deref().filter(|c| !c.is_empty()).map(payment_cursor).transpose()?,
    };
    let items = queries.payments(filter).await?;
    let next_cursor = next_cursor(&items, limit, |last| {
        let cursor = last.cursor();
        format!("{}|{}", rfc3339(cursor.created_at), cursor.reference_id)
    });
    Ok(HttpResponse::Ok().json(PaymentListBody {
        payments: items.iter().map(PaymentItemBody::from).collect(),
        next_cursor,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct PaymentListBody<'a> {
    payments: Vec<PaymentItemBody<'a>>,
    next_cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct PaymentItemBody<'a> {
    #[serde(flatten)]
    fields: PaymentFields<'a>,
    created_at: String,
    updated_at: String,
}

impl<'a> From<&'a PaymentItem> for PaymentItemBody<'a> {
    fn from(item: &'a PaymentItem) -> Self {
        Self {
            fields: PaymentFields::from(item.payment.record()),
            created_at: rfc3339(item.created_at),
            updated_at: rfc3339(item.updated_at),
        }
    }
}

// --- customers ---

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    limit: Option<u32>,
    cursor: Option<String>,
}

/// `GET /api/customers?limit=&cursor=`: every customer a payment named, by id, with balances.
#[utoipa::path(get, path = "/api/customers", tag = "admin", params(PageQuery), responses((status = 200, body = CustomerListBody<'_>), (status = 400, description = "A filter or cursor that cannot be used", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody), (status = 503, description = "Storage unavailable", body = ErrorBody)), security(("bearer" = [])))]
#[tracing::instrument(name = "admin_customers", skip_all)]
pub(crate) async fn customers(
    _admin: Admin,
    query: web::Query<PageQuery>,
    queries: web::Data<dyn Queries>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = page_size(query.limit)?;
    let after = query.cursor.as_deref().filter(|c| !c.is_empty()).map(decode).transpose()?;
    let customers = queries.customers(after, limit).await?;
    let next_cursor = next_cursor(&customers, limit, |last| last.customer_id.as_str().to_owned());
    Ok(HttpResponse::Ok().json(CustomerListBody {
        customers: customers.iter().map(CustomerItemBody::from).collect(),
        next_cursor,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct CustomerListBody<'a> {
    customers: Vec<CustomerItemBody<'a>>,
    next_cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct CustomerItemBody<'a> {
    customer_id: &'a str,
    balance_usd: String,
    credits: u64,
    payments: u64,
}

impl<'a> From<&'a CustomerBalance> for CustomerItemBody<'a> {
    fn from(customer: &'a CustomerBalance) -> Self {
        Self {
            customer_id: customer.customer_id.as_str(),
            balance_usd: customer.balance_usd.to_string(),
            credits: customer.credits,
            payments: customer.payments,
        }
    }
}

// --- credits ---

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CreditQuery {
    since: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// `GET /api/credits?since=&limit=&cursor=`: the ledger, newest first; CSV with
/// `Accept: text/csv` (the next cursor then in the `X-Next-Cursor` header).
#[utoipa::path(get, path = "/api/credits", tag = "admin", params(CreditQuery), responses((status = 200, content((CreditListBody<'_> = "application/json"), (String = "text/csv"))), (status = 400, description = "A filter or cursor that cannot be used", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody), (status = 503, description = "Storage unavailable", body = ErrorBody)), security(("bearer" = [])))]
#[tracing::instrument(name = "admin_credits", skip_all)]
pub(crate) async fn credits(
    _admin: Admin,
    req: HttpRequest,
    query: web::Query<CreditQuery>,
    queries: web::Data<dyn Queries>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = page_size(query.limit)?;
    let filter = CreditFilter {
        since: since(query.since.as_deref())?,
        limit,
        before: id_cursor(query.cursor.as_deref())?,
    };
    let credits = queries.credits(filter).await?;
    let next_cursor = next_cursor(&credits, limit, |last| last.id.to_string());
    if wants_csv(&req) {
        let mut response = HttpResponse::Ok();
        response.insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"));
        if let Some(cursor) = &next_cursor {
            response.insert_header(("X-Next-Cursor", cursor.as_str()));
        }
        return Ok(response.body(csv(&credits)));
    }
    Ok(HttpResponse::Ok().json(CreditListBody {
        credits: credits.iter().map(CreditItemBody::from).collect(),
        next_cursor,
    }))
}

fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.to_ascii_lowercase().contains("text/csv"))
}

/// RFC 4180: a header line, CRLF line ends, fields quoted when they hold a comma, a quote or a
/// line break. Amounts are exact decimal text.
///
/// The text columns (`customer_id`, `reference_id`) are values PayRam was sent by whoever made
/// the payment, so each goes through [`text_cell`]: a spreadsheet never runs one as a formula.
/// The other columns cannot start with a formula character (ids and sequence numbers are
/// positive integers, times are RFC 3339, amounts are never negative, statuses are PayRam's
/// names) and are written as they are.
fn csv(credits: &[RecordedCredit]) -> String {
    let mut out = String::from(
        "credit_id,created_at,customer_id,reference_id,amount_usd,credited_total_usd,status,event_id\r\n",
    );
    for credit in credits {
        let row = [
            credit.id.to_string(),
            rfc3339(credit.created_at),
            text_cell(credit.customer_id.as_str()),
            text_cell(credit.reference_id.as_str()),
            credit.amount_usd.to_string(),
            credit.credited_total_usd.to_string(),
            credit.status.as_str().to_owned(),
            credit.event_id.to_string(),
        ];
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Characters that make a spreadsheet read a cell as a formula when they start it (OWASP's
/// CSV injection list).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A free-text CSV cell: neutralised as OWASP recommends (a text starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return gets a leading `'`, which spreadsheets read as "this is
/// text" and do not show), then quoted per RFC 4180 when it holds a comma, a quote or a line
/// break. Any other text is written unchanged.
fn text_cell(text: &str) -> String {
    let text: std::borrow::Cow<'_, str> =
        if text.starts_with(FORMULA_STARTS) { format!("'{text}").into() } else { text.into() };
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.into_owned()
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct CreditListBody<'a> {
    credits: Vec<CreditItemBody<'a>>,
    next_cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct CreditItemBody<'a> {
    credit_id: i64,
    created_at: String,
    customer_id: &'a str,
    reference_id: &'a str,
    amount_usd: String,
    credited_total_usd: String,
    status: &'static str,
    event_id: i64,
}

impl<'a> From<&'a RecordedCredit> for CreditItemBody<'a> {
    fn from(credit: &'a RecordedCredit) -> Self {
        Self {
            credit_id: credit.id,
            created_at: rfc3339(credit.created_at),
            customer_id: credit.customer_id.as_str(),
            reference_id: credit.reference_id.as_str(),
            amount_usd: credit.amount_usd.to_string(),
            credited_total_usd: credit.credited_total_usd.to_string(),
            status: credit.status.as_str(),
            event_id: credit.event_id,
        }
    }
}

// --- keys ---

/// `GET /api/keys`: each configured key by position (never the key), how many webhooks it
/// authenticated and when last, so an operator knows when an old key can be retired.
#[utoipa::path(get, path = "/api/keys", tag = "admin", responses((status = 200, body = KeyListBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody), (status = 503, description = "Storage unavailable", body = ErrorBody)), security(("bearer" = [])))]
#[tracing::instrument(name = "admin_keys", skip_all)]
pub(crate) async fn keys(
    _admin: Admin,
    queries: web::Data<dyn Queries>,
    config: web::Data<HttpConfig>,
) -> Result<HttpResponse, ApiError> {
    let usage = queries.key_usage().await?;
    let keys = (0..config.api_keys.len())
        .map(|position| {
            let used = usage.iter().find(|key| key.key_index == position);
            KeyBody {
                position,
                deliveries: used.map_or(0, |key| key.deliveries),
                last_used_at: used.map(|key| rfc3339(key.last_used_at)),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(KeyListBody { keys }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct KeyListBody {
    keys: Vec<KeyBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct KeyBody {
    position: usize,
    deliveries: u64,
    last_used_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::text_cell;

    #[test]
    fn a_cell_a_spreadsheet_would_run_is_neutralised() {
        assert_eq!(
            text_cell("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
        );
        assert_eq!(text_cell("+1"), "'+1");
        assert_eq!(text_cell("-2+3"), "'-2+3");
        assert_eq!(text_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text_cell("\t=1"), "'\t=1");
        assert_eq!(text_cell("\r=1"), "\"'\r=1\"");
    }

    #[test]
    fn legitimate_text_is_written_unchanged() {
        for text in ["cust-1", "3f1c1e7a-5b2d", "a=b", "x+y@z", "'quoted", " =lead", "ref_123"] {
            assert_eq!(text_cell(text), text);
        }
        assert_eq!(text_cell("acme, \"inc\""), r#""acme, ""inc""""#);
    }
}
