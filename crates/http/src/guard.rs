//! The guard every request passes before any route: the request head's size (431), the
//! client address (`TRUSTED_PROXIES`), the allow-lists (`ALLOWED_IPS` for the webhook,
//! `ADMIN_ALLOWED_IPS` for the admin API and the dashboard; 403 before authentication) and the
//! body deadline (`CLIENT_BODY_TIMEOUT`: 408 and the connection closed). Registered by the app
//! around the whole `App` with [`Guard::middleware`].

use std::{
    cell::RefCell,
    net::IpAddr,
    pin::Pin,
    rc::Rc,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use actix_web::{
    HttpMessage, ResponseError,
    body::{BoxBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    error::PayloadError,
    http::header,
    middleware::Next,
    rt::time::Sleep,
    web::Bytes,
};
use futures_core::Stream;

use crate::{
    client::{self, IpList},
    error::ApiError,
};

/// Largest request head (request line and headers) served; a larger one is answered 431.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// What the guard checks, read once at startup by the app.
#[derive(Clone, Debug)]
pub struct Guard {
    /// The webhook path, checked against `allowed_ips`.
    pub webhook_path: String,
    /// `ALLOWED_IPS`: who may call the webhook; `None`: everyone.
    pub allowed_ips: Option<IpList>,
    /// `ADMIN_ALLOWED_IPS`: who may call `/api/...` and `/dashboard...`; `None`: everyone.
    pub admin_allowed_ips: Option<IpList>,
    /// `TRUSTED_PROXIES`: peers whose forwarding headers name the client.
    pub trusted_proxies: IpList,
    /// `CLIENT_BODY_TIMEOUT`: the whole body must arrive within this time of the head.
    pub body_timeout: Duration,
}

/// What the guard's middleware function returns.
pub type Guarded =
    Pin<Box<dyn Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>>>>;

/// The request body stream actix handlers read.
type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>;

impl Guard {
    /// The middleware: `App::new().wrap(actix_web::middleware::from_fn(guard.middleware()))`.
    pub fn middleware<B: MessageBody + 'static>(
        self,
    ) -> impl Fn(ServiceRequest, Next<B>) -> Guarded {
        let guard = Arc::new(self);
        move |req, next| Box::pin(Arc::clone(&guard).check(req, next))
    }

    async fn check<B: MessageBody + 'static>(
        self: Arc<Self>,
        mut req: ServiceRequest,
        next: Next<B>,
    ) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
        if head_bytes(&req) > MAX_HEAD_BYTES {
            tracing::warn!(path = ?req.path(), "request refused: head over 16 KiB");
            return Ok(refuse(req, &ApiError::HeaderTooLarge));
        }
        let peer = req.peer_addr().map_or(IpAddr::from([0, 0, 0, 0]), |peer| peer.ip());
        let client = client::resolve(peer, req.headers(), &self.trusted_proxies);
        client::remember(&req, client);
        if let Some(list) = self.allow_list(req.path())
            && !client.is_in(list)
        {
            tracing::warn!(%client, path = ?req.path(), "request refused: address not allowed");
            return Ok(refuse(req, &ApiError::Forbidden));
        }

        let body = Arc::new(BodyState::default());
        let payload = Rc::new(RefCell::new(req.take_payload()));
        let deadline: BodyStream = Box::pin(Deadline {
            inner: Rc::clone(&payload),
            due_at: actix_web::rt::time::Instant::now() + self.body_timeout,
            sleep: None,
            state: Arc::clone(&body),
        });
        req.set_payload(Payload::from(deadline));
        let has_body = has_body(&req);

        let mut res = next.call(req).await?.map_into_boxed_body();
        if body.expired.load(Ordering::Relaxed) {
            tracing::warn!(%client, path = ?res.request().path(), "request refused: body too slow");
            let (req, _) = res.into_parts();
            let response = ApiError::RequestTimeout.error_response();
            return Ok(closing(ServiceResponse::new(req, response), payload));
        }
        if has_body && !body.finished.load(Ordering::Relaxed) {
            // The handler answered without reading the whole body: do not wait for the rest.
            return Ok(closing(res, payload));
        }
        if !res.request().extensions().contains::<KeepAlive>() {
            // The client did not authenticate: actix times only the first request head of a
            // connection, so a kept-alive connection is granted only to a client that proved
            // it holds a key or the admin token.
            res.response_mut()
                .head_mut()
                .set_connection_type(actix_web::http::ConnectionType::Close);
        }
        Ok(res)
    }

    fn allow_list(&self, path: &str) -> Option<&IpList> {
        if path == self.webhook_path {
            self.allowed_ips.as_ref()
        } else if path == "/dashboard"
            || path.starts_with("/dashboard/")
            || path.starts_with("/api/")
        {
            self.admin_allowed_ips.as_ref()
        } else {
            None
        }
    }
}

/// The size of the request line and headers, as they came (give or take the separators).
fn head_bytes(req: &ServiceRequest) -> usize {
    let uri = req.uri();
    let target = uri.path_and_query().map_or(0, |target| target.as_str().len())
        + uri.authority().map_or(0, |authority| authority.as_str().len());
    let line = req.method().as_str().len() + target + 12;
    req.headers()
        .iter()
        .fold(line, |sum, (name, value)| sum + name.as_str().len() + value.len() + 4)
}

fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|length| length.trim() != "0")
}

fn refuse(req: ServiceRequest, err: &ApiError) -> ServiceResponse<BoxBody> {
    let mut response = err.error_response();
    response.head_mut().set_connection_type(actix_web::http::ConnectionType::Close);
    req.into_response(response)
}

/// The answer with `Connection: close`, holding the unread request body until the answer is
/// written: actix reads a dropped chunked body to its end before closing (one that never ends
/// would hold the connection for ever), but closes at once when the body is still held.
fn closing(
    res: ServiceResponse<BoxBody>,
    payload: Rc<RefCell<Payload>>,
) -> ServiceResponse<BoxBody> {
    let mut res = res.map_body(|_, body| BoxBody::new(Holding { body, _payload: payload }));
    res.response_mut().head_mut().set_connection_type(actix_web::http::ConnectionType::Close);
    res
}

/// A response body that keeps the request body alive until it has been sent.
struct Holding {
    body: BoxBody,
    _payload: Rc<RefCell<Payload>>,
}

impl MessageBody for Holding {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> actix_web::body::BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(cx)
    }
}

/// Marks a request that authenticated (webhook credentials, admin token): only its connection
/// is kept alive after the answer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeepAlive;

/// Lets the connection of `req` be kept alive after its answer.
pub(crate) fn keep_alive(req: &actix_web::HttpRequest) {
    req.extensions_mut().insert(KeepAlive);
}

/// What became of a request's body.
#[derive(Debug, Default)]
struct BodyState {
    /// The deadline passed before the body was whole.
    expired: AtomicBool,
    /// The body was read to its end.
    finished: AtomicBool,
}

/// The request body, failing with a timeout once the deadline passes.
struct Deadline {
    inner: Rc<RefCell<Payload>>,
    /// When the whole body must have arrived.
    due_at: actix_web::rt::time::Instant,
    /// Armed the first time the body is not all there: most bodies arrive with their head,
    /// and then no timer is ever registered.
    sleep: Option<Pin<Box<Sleep>>>,
    state: Arc<BodyState>,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.state.finished.load(Ordering::Relaxed) {
            return Poll::Ready(None);
        }
        let polled = Pin::new(&mut *self.inner.borrow_mut()).poll_next(cx);
        match polled {
            Poll::Ready(None) => {
                self.state.finished.store(true, Ordering::Relaxed);
                Poll::Ready(None)
            }
            Poll::Ready(Some(item)) => Poll::Ready(Some(item)),
            Poll::Pending => {
                let due_at = self.due_at;
                let sleep = self
                    .sleep
                    .get_or_insert_with(|| Box::pin(actix_web::rt::time::sleep_until(due_at)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        self.state.expired.store(true, Ordering::Relaxed);
                        // Ends the stream for the handler; the guard turns the answer into 408.
                        self.state.finished.store(true, Ordering::Relaxed);
                        Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "the request body did not arrive within CLIENT_BODY_TIMEOUT",
                        )))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

/// Whether a body read failed because [`Deadline`] expired.
pub(crate) fn is_timeout(err: &actix_web::Error) -> bool {
    matches!(
        err.as_error::<PayloadError>(),
        Some(PayloadError::Io(io)) if io.kind() == std::io::ErrorKind::TimedOut
    )
}
