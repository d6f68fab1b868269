//! The HTTP edge: the only code that knows axum.
//!
//! One endpoint path `/` serves STS (`Version=2011-06-15`) and IAM (`Version=2010-05-08`) by
//! signed POST form or signed GET query. This module reads the request (bounded), parses the
//! parameters, authenticates, dispatches to the action handler and writes the XML response or
//! the AWS error envelope. It holds no business rules.

pub(crate) mod listener;
pub(crate) mod saml;
pub(crate) mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use axum::routing::get;
use http_body_util::{BodyExt as _, Limited};

use crate::audit::AuditSink as _;
use crate::error::ApiError;
use crate::identity::{self, Caller, SignedCaller};
use crate::protocol::Action;
use crate::protocol::params::{self, Params};
use crate::protocol::{Service, xml};
use crate::request::RequestInfo;
use crate::state::AppState;

/// Signed GET query strings longer than this are refused (AWS: ~15,870 bytes).
pub(crate) const MAX_QUERY_BYTES: usize = 16 * 1024;
/// Most headers, and total header bytes, one request may carry.
pub(crate) const MAX_HEADERS: usize = 100;
pub(crate) const MAX_HEADER_BYTES: usize = 32 * 1024;

/// What a listener serves: its router, and, on the API listener, the Query API itself.
///
/// The listener hands a `GET` or `POST` on `/` straight to [`query_api`] instead of the router:
/// every STS and IAM call takes that path, and the router's per-request boxing, cloning and
/// extractors were a few percent of a GetCallerIdentity. The router keeps a route for `/` that
/// answers the same way, for every other method and for anything that calls it directly.
#[derive(Clone)]
pub(crate) struct App {
    pub(crate) router: Router,
    pub(crate) api: Option<Arc<AppState>>,
}

/// The API on `/`, `/healthz`, and `/metrics` unless the metrics have a listener of their own.
pub(crate) fn app(state: Arc<AppState>, serve_metrics: bool) -> App {
    let mut router = Router::new()
        .route("/", get(handle).post(handle))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/saml", get(saml::get).post(saml::post));
    if serve_metrics {
        router = router.route("/metrics", get(metrics));
    }
    App {
        router: router.fallback(not_found).with_state(state.clone()),
        api: Some(state),
    }
}

/// The metrics listener (`metrics_listen`): `/metrics` and `/healthz`, nothing else.
pub(crate) fn metrics_app(state: Arc<AppState>) -> App {
    let router = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(state);
    App { router, api: None }
}

/// Whether the listener answers this request with [`query_api`] rather than the router.
pub(crate) fn is_query_api<B>(req: &Request<B>) -> bool {
    req.uri().path() == "/" && matches!(*req.method(), Method::GET | Method::POST)
}

/// A Query API request, as the listener hands it over (see [`App`]).
pub(crate) fn query_api(
    state: Arc<AppState>,
    peer: SocketAddr,
    req: Request<hyper::body::Incoming>,
) -> Pin<Box<dyn Future<Output = Response<Body>> + Send>> {
    Box::pin(async move { answer_query(&state, peer, req).await })
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready to take every request: the store's snapshot is loaded and its database answers. While
/// it does not, the node still answers what needs no write (GetCallerIdentity, sessions).
async fn readyz(State(state): State<Arc<AppState>>) -> (StatusCode, &'static str) {
    if state.store.ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the database does not answer\n",
        )
    }
}

/// Prometheus text. No authentication: it names no caller, key, entity or address (every
/// label value is one of a fixed set), only counts, latencies and the keyring's generation.
async fn metrics(State(state): State<Arc<AppState>>) -> Response<Body> {
    match state.metrics_text() {
        Ok(text) => {
            let mut resp = Response::new(Body::from(text));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
            );
            resp
        }
        Err(e) => {
            tracing::error!(error = %e, "metrics: cannot render");
            let mut resp = Response::new(Body::from("metrics unavailable\n"));
            *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            resp
        }
    }
}

async fn not_found(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response<Body> {
    let started = Instant::now();
    let request_id = new_request_id();
    let mut answered = Answered::default();
    let err = ApiError::new(
        crate::error::ErrorCode::UnknownPath,
        "Not found: tessera serves the Query API on `/`.",
    );
    let response = answered.refuse(err, Service::Sts, &request_id);
    finish(&state, &request_id, peer, &answered, &response, started);
    response
}

/// What one API request came to, for its metrics and its log line.
#[derive(Debug, Default)]
struct Answered {
    /// `None` until the request named an action tessera answers.
    action: Option<Action>,
    caller: Caller,
    error: Option<ApiError>,
}

impl Answered {
    /// The error response for `e`, remembering `e`.
    fn refuse(&mut self, e: ApiError, service: Service, request_id: &str) -> Response<Body> {
        let response = error_response(&e, service, request_id);
        self.error = Some(e);
        response
    }
}

async fn handle(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request<Body>,
) -> Response<Body> {
    answer_query(&state, peer, req).await
}

async fn answer_query<B>(state: &Arc<AppState>, peer: SocketAddr, req: Request<B>) -> Response<Body>
where
    B: HttpBody<Data = Bytes> + Send,
    B::Error: Into<axum::BoxError>,
{
    let started = Instant::now();
    let request_id = new_request_id();
    let mut answered = Answered::default();
    let response = answer(state, peer, req, &request_id, &mut answered).await;
    finish(state, &request_id, peer, &answered, &response, started);
    response
}

/// Count the request and write its one log line.
///
/// The line's level: a server fault is an error; a refusal is info; a success is info in
/// `json` format (one line per request, for a log pipeline) and debug in `text` format (a
/// terminal or journal is not flooded; `TESSERA_LOG=request=debug` shows them).
fn finish(
    state: &AppState,
    request_id: &str,
    peer: SocketAddr,
    a: &Answered,
    response: &Response<Body>,
    started: Instant,
) {
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.request(
        a.action.map(Action::index),
        status,
        a.error.as_ref().map(|e| e.code.index()),
        elapsed,
    );
    let action = a
        .action
        .map_or(crate::metrics::UNKNOWN_ACTION, Action::name);
    let outcome = crate::metrics::Outcome::of_status(status).as_str();
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    // Field values are computed only when the line is written.
    let caller = || a.caller.signed().map(SignedCaller::arn).unwrap_or_default();
    match &a.error {
        None if state.config.log_json => {
            tracing::info!(target: "request", request_id, action, caller = %caller(), source_ip = %peer.ip(), outcome, status, latency_ms, "request answered");
        }
        None => {
            tracing::debug!(target: "request", request_id, action, caller = %caller(), source_ip = %peer.ip(), outcome, status, latency_ms, "request answered");
        }
        Some(e) if status >= 500 => {
            tracing::error!(target: "request", request_id, action, caller = %caller(), source_ip = %peer.ip(), outcome, status, latency_ms, code = e.code.as_str(), reason = e.detail.as_deref().unwrap_or(&e.message), "request failed");
        }
        Some(e) => {
            tracing::info!(target: "request", request_id, action, caller = %caller(), source_ip = %peer.ip(), outcome, status, latency_ms, code = e.code.as_str(), reason = e.detail.as_deref().unwrap_or(&e.message), "request refused");
        }
    }
}

/// Read, authenticate, dispatch and audit one Query API request.
async fn answer<B>(
    state: &Arc<AppState>,
    peer: SocketAddr,
    req: Request<B>,
    request_id: &str,
    answered: &mut Answered,
) -> Response<Body>
where
    B: HttpBody<Data = Bytes> + Send,
    B::Error: Into<axum::BoxError>,
{
    let now = state.clock.now();
    let (parts, body) = req.into_parts();

    // Bounds first: nothing is hashed or parsed before we know it is small enough.
    let query = parts.uri.query().unwrap_or("");
    if query.len() > MAX_QUERY_BYTES {
        return answered.refuse(
            ApiError::malformed_query("The query string is too long."),
            Service::Sts,
            request_id,
        );
    }
    if headers_too_large(&parts.headers) {
        return answered.refuse(
            ApiError::new(
                crate::error::ErrorCode::RequestHeaderSectionTooLarge,
                "Too many or too large request headers.",
            ),
            Service::Sts,
            request_id,
        );
    }
    let body = match Limited::new(body, state.config.max_body_bytes)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return answered.refuse(
                ApiError::request_entity_too_large(),
                Service::Sts,
                request_id,
            );
        }
    };

    let is_form = parts.method == Method::POST && is_form_content_type(&parts.headers);
    let params = match Params::parse(query.as_bytes(), is_form.then_some(&body[..])) {
        Ok(p) => p,
        Err(e) => return answered.refuse(e, Service::Sts, request_id),
    };

    let (service, action) = match route(&params) {
        Ok(r) => r,
        Err((e, svc)) => return answered.refuse(e, svc, request_id),
    };
    answered.action = Some(action);

    let headers: Vec<(&str, &[u8])> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_bytes()))
        .collect();
    let raw = crate::sigv4::RequestParts {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query,
        headers: &headers,
        body: &body,
    };

    let mut info = RequestInfo {
        request_id: request_id.to_owned(),
        source_ip: peer.ip(),
        now,
        action,
        region: None,
        notes: crate::audit::NoteCell::default(),
    };

    let caller = if action.is_unsigned() {
        if let Some(limit) = &state.unsigned_limit
            && !limit.admit(peer.ip(), now)
        {
            let e = ApiError::new(crate::error::ErrorCode::Throttling, "Rate exceeded")
                .with_detail("unsigned_rate_limit_per_source reached for this source address");
            return answered.refuse(e, service, request_id);
        }
        Caller::Anonymous
    } else {
        match identity::authenticate(state, &raw, service, now).await {
            Ok((caller, region)) => {
                info.region = Some(region);
                Caller::Signed(caller)
            }
            Err(e) => {
                let _ = audit(state, &info, &Caller::Anonymous, Err(&e)).await;
                return answered.refuse(e, service, request_id);
            }
        }
    };

    let result = crate::actions::dispatch(state, &caller, &params, &info).await;
    // Credentials are handed out only once their audit record is committed.
    let result = match audit(state, &info, &caller, result.as_ref().map(|_| ())).await {
        Ok(()) => result,
        Err(e) => Err(e),
    };
    answered.caller = caller;
    match result {
        Ok(body) => xml_response(StatusCode::OK, body, request_id),
        Err(e) => answered.refuse(e, service, request_id),
    }
}

/// Write the audit record for an audited action. Waits for the commit when the action handed
/// out credentials or changed IAM state; an error then means the response must not be sent.
async fn audit(
    state: &AppState,
    info: &RequestInfo,
    caller: &Caller,
    result: Result<(), &ApiError>,
) -> Result<(), ApiError> {
    if !info.action.is_audited() {
        return Ok(());
    }
    let notes = info.notes.take();
    let (outcome, reason) = match result {
        Ok(_) => ("allowed", None),
        Err(e) => (
            e.code.as_str(),
            Some(e.detail.as_deref().unwrap_or(&e.message)),
        ),
    };
    let wait = result.is_ok()
        && (notes.issued_access_key_id.is_some() || info.action.service() == Service::Iam);
    let record = crate::audit::Record {
        time: info.now,
        request_id: &info.request_id,
        service: info.action.service().signing_name(),
        action: info.action.name(),
        source_ip: info.source_ip,
        caller: caller.signed().map(SignedCaller::arn),
        caller_access_key_id: caller.signed().map(|c| c.access_key_id.as_str()),
        outcome,
        reason,
        notes,
    };
    let json = crate::audit::to_json(&record);
    tracing::info!(target: "audit", "{json}");
    let committed = state
        .audit
        .append(record.time.timestamp_millis(), json, wait)
        .await;
    committed.then_some(()).ok_or_else(|| {
        tracing::error!(request_id = %info.request_id, "audit record not committed; response withheld");
        ApiError::service_unavailable()
    })
}

/// Decide the service from `Version` and check the action exists for it.
fn route(params: &Params) -> Result<(Service, Action), (ApiError, Service)> {
    let action = params
        .get("Action")
        .ok_or_else(|| (ApiError::missing_parameter("Action"), Service::Sts))?;
    let version = params
        .get("Version")
        .ok_or_else(|| (ApiError::missing_parameter("Version"), Service::Sts))?;
    let service = Service::from_version(version).ok_or_else(|| {
        (
            ApiError::invalid_action(&params::sanitize(action), &params::sanitize(version)),
            Service::Sts,
        )
    })?;
    match Action::parse(service, action) {
        Some(a) => Ok((service, a)),
        None => Err((
            ApiError::invalid_action(&params::sanitize(action), version),
            service,
        )),
    }
}

fn headers_too_large(h: &HeaderMap) -> bool {
    h.len() > MAX_HEADERS
        || h.iter()
            .map(|(k, v)| k.as_str().len() + v.len())
            .sum::<usize>()
            > MAX_HEADER_BYTES
}

fn is_form_content_type(h: &HeaderMap) -> bool {
    const FORM: &[u8] = b"application/x-www-form-urlencoded";
    h.get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes()
            .trim_ascii_start()
            .get(..FORM.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(FORM))
    })
}

pub(crate) fn error_response(e: &ApiError, service: Service, request_id: &str) -> Response<Body> {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    xml_response(
        status,
        xml::error(e, service.namespace(), request_id),
        request_id,
    )
}

fn xml_response(status: StatusCode, body: String, request_id: &str) -> Response<Body> {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

/// A request id in AWS's UUID layout: a random per-process prefix plus a counter, so ids are
/// unique without a system call per request (they are identifiers, not secrets).
pub(crate) fn new_request_id() -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static PREFIX: OnceLock<[u8; 8]> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| {
        use ring::rand::SecureRandom as _;
        let mut b = [0u8; 8];
        // A failing system RNG leaves zeros: ids stay unique within the process.
        let _ = ring::rand::SystemRandom::new().fill(&mut b);
        b
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes();
    let mut b = [0u8; 16];
    for (dst, src) in b.iter_mut().zip(prefix.iter().chain(n.iter())) {
        *dst = *src;
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        let byte = match i {
            6 => (byte & 0x0f) | 0x40,
            8 => (byte & 0x3f) | 0x80,
            _ => *byte,
        };
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(
            HEX.get(usize::from(byte >> 4)).copied().unwrap_or(b'0'),
        ));
        out.push(char::from(
            HEX.get(usize::from(byte & 0x0f)).copied().unwrap_or(b'0'),
        ));
    }
    out
}
