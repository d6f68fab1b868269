//! The listener: accepts TCP connections, TLS when configured, and serves each with HTTP/1.1,
//! at most `max_connections` at a time and under deadlines, so that no client, slow, idle or
//! hostile, holds a socket or a task for longer than the operator allows.
//!
//! | phase of a connection | bound |
//! |---|---|
//! | TLS handshake | `header_read_timeout`, then the connection is closed |
//! | request line and headers, and the wait for the next request on a keep-alive connection | `header_read_timeout`, then the connection is closed |
//! | body, handling and answer | `request_timeout`: the answer is `RequestTimeout` (408) and the connection is closed |
//! | an answer the client does not take (it stopped reading) | `request_timeout` per stalled write, then the connection is closed |
//!
//! The middle two are kept by one watchdog per connection (see [`watchdog`]), which requests
//! only tell that they started and ended: no timer is set per request.
//!
//! A connection beyond `max_connections` is closed as soon as it is accepted, without a
//! response: the kernel's accept queue never grows behind a full server, and clients see a
//! closed connection, which the AWS SDKs and the aws CLI retry. The slots free up as connections
//! end, at the latest when they go idle for `header_read_timeout`.
//!
//! Only HTTP/1.1 is spoken (TLS says so by ALPN): the AWS SDKs use it for STS and IAM, and it
//! keeps every deadline above meaningful.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, header};
use futures_util::task::AtomicWaker;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::error::{ApiError, ErrorCode};
use crate::http::App;
use crate::protocol::Service;

/// The operator's bounds on connections (see the module table).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) header_read_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) max_connections: usize,
}

/// After an accept error that is not about one connection (out of file descriptors, say),
/// wait this long before the next accept instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(250);

/// Connections refused at the cap are logged at most this often, with a count.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Serve `app` on `listener` until `stop` completes; then stop accepting, let each open
/// connection finish the request it is in (within the deadlines) and return once all are
/// closed.
pub(crate) async fn serve(
    listener: TcpListener,
    app: App,
    limits: Limits,
    tls: Option<Arc<rustls::ServerConfig>>,
    stop: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stopping_tx, stopping) = watch::channel(false);
    // No hyper timer: each connection's watchdog keeps the deadlines (see `watchdog`).
    let http = http1::Builder::new();
    let shared = Arc::new(Shared {
        app,
        http,
        tls: tls.map(tokio_rustls::TlsAcceptor::from),
        limits,
    });
    let mut refusals = Refusals::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            biased;
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) if is_about_one_connection(&e) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "accepting a connection failed");
                    tokio::select! {
                        () = &mut stop => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    }
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(tcp);
            refusals.note(limits.max_connections);
            continue;
        };
        refusals.report(limits.max_connections);
        tokio::spawn(connection(
            shared.clone(),
            tcp,
            peer,
            stopping.clone(),
            slot,
        ));
    }
    drop(listener);
    let _ = stopping_tx.send(true);
    // Each connection holds a slot until it is closed: all slots back means all closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
}

/// What every connection of one listener shares.
struct Shared {
    app: App,
    http: http1::Builder,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: Limits,
}

/// Errors of `accept` that concern the one connection being accepted, not the listener.
fn is_about_one_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Counts connections refused at the cap and logs them now and then, so a flood cannot turn
/// into a flood of log lines.
struct Refusals {
    count: u64,
    last_log: Option<tokio::time::Instant>,
}

impl Refusals {
    fn new() -> Self {
        Refusals {
            count: 0,
            last_log: None,
        }
    }

    fn note(&mut self, max_connections: usize) {
        self.count += 1;
        self.report(max_connections);
    }

    /// Log the refusals not yet logged, unless the last line is too recent (also called when a
    /// connection is accepted, so the count of a burst that has ended is told too).
    fn report(&mut self, max_connections: usize) {
        if self.count == 0 {
            return;
        }
        let now = tokio::time::Instant::now();
        if self
            .last_log
            .is_none_or(|t| now.duration_since(t) >= REFUSAL_LOG_INTERVAL)
        {
            tracing::warn!(
                max_connections,
                refused = self.count,
                "connections refused: max_connections are open"
            );
            self.count = 0;
            self.last_log = Some(now);
        }
    }
}

/// One connection, from the TLS handshake (if any) to its close.
async fn connection(
    shared: Arc<Shared>,
    tcp: TcpStream,
    peer: SocketAddr,
    mut stopping: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let io = Stalls::new(tcp, shared.limits.request_timeout);
    let Some(acceptor) = &shared.tls else {
        return serve_http(&shared, io, peer, stopping).await;
    };
    let handshake = tokio::time::timeout(shared.limits.header_read_timeout, acceptor.accept(io));
    let tls = tokio::select! {
        r = handshake => match r {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                tracing::debug!(source_ip = %peer.ip(), error = %e, "tls handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(source_ip = %peer.ip(), "tls handshake timed out");
                return;
            }
        },
        () = stopped(&mut stopping) => return,
    };
    serve_http(&shared, tls, peer, stopping).await;
}

/// HTTP/1.1 on an established connection, until either side closes it, its watchdog cuts it,
/// or the server stops.
async fn serve_http<I>(
    shared: &Shared,
    io: I,
    peer: SocketAddr,
    mut stopping: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let progress = Arc::new(Progress::default());
    let handler = Handler {
        app: shared.app.clone(),
        peer,
        progress: progress.clone(),
    };
    let conn = shared.http.serve_connection(TokioIo::new(io), handler);
    let mut conn = std::pin::pin!(conn);
    let mut watchdog = std::pin::pin!(watchdog(&progress, shared.limits));
    // `biased`: the connection first, without drawing a random branch order at every poll (the
    // other two branches only ever end it).
    let ended = tokio::select! {
        biased;
        r = conn.as_mut() => Some(r),
        () = watchdog.as_mut() => None,
        () = stopped(&mut stopping) => {
            // Finish the request in flight (its deadlines still apply), then close.
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                r = conn.as_mut() => Some(r),
                () = watchdog.as_mut() => None,
            }
        }
    };
    match ended {
        Some(Ok(())) => {}
        Some(Err(e)) => tracing::debug!(source_ip = %peer.ip(), error = %e, "connection closed"),
        None => tracing::debug!(
            source_ip = %peer.ip(),
            "connection closed: no request headers within header_read_timeout"
        ),
    }
}

/// Until the server stops (or is gone).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|s| *s).await;
}

/// What a connection's requests tell its watchdog. Requests count it up; the watchdog reads it
/// now and then. A request costs two atomic writes here and no timer: a timer per request
/// (hyper's header timer, a `tokio::time::timeout`) cost about 2% of the server's CPU per
/// `GetCallerIdentity`.
#[derive(Default)]
struct Progress {
    /// Requests handed to the app, and answered (or given up on), on this connection.
    started: AtomicU64,
    finished: AtomicU64,
    /// The number of the request whose `request_timeout` has passed (0: none).
    expired: AtomicU64,
    /// The task to wake when a request expires.
    waker: AtomicWaker,
}

/// Watch one connection; return when it must be closed: no request headers within
/// `header_read_timeout` of the connection opening or of the last answer (also a slowloris
/// trickling header bytes, and an idle keep-alive connection). A request in flight longer
/// than `request_timeout` is told to answer `RequestTimeout` instead.
///
/// It looks every eighth of the shorter deadline, so a deadline is enforced between its
/// length and an eighth more, with one timer per connection and none per request.
async fn watchdog(p: &Progress, limits: Limits) {
    let tick =
        (limits.header_read_timeout.min(limits.request_timeout) / 8).max(Duration::from_millis(1));
    let mut ticks = tokio::time::interval(tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seen = (0, 0);
    let mut since = tokio::time::Instant::now();
    loop {
        ticks.tick().await;
        let now = (
            p.started.load(Ordering::Relaxed),
            p.finished.load(Ordering::Relaxed),
        );
        if now != seen {
            // Progress since the last look: the current phase began at most a tick ago.
            seen = now;
            since = tokio::time::Instant::now();
            continue;
        }
        let (started, finished) = now;
        let stuck_for = since.elapsed();
        if started == finished {
            if stuck_for >= limits.header_read_timeout {
                return;
            }
        } else if stuck_for >= limits.request_timeout
            && p.expired.load(Ordering::Acquire) != started
        {
            p.expired.store(started, Ordering::Release);
            p.waker.wake();
        }
    }
}

/// The app as hyper calls it: the peer address for `ConnectInfo`, and the request deadline.
#[derive(Clone)]
struct Handler {
    app: App,
    peer: SocketAddr,
    progress: Arc<Progress>,
}

impl hyper::service::Service<Request<Incoming>> for Handler {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = InTime;

    fn call(&self, mut req: Request<Incoming>) -> InTime {
        let number = self.progress.started.fetch_add(1, Ordering::Relaxed) + 1;
        let answer = match &self.app.api {
            Some(state) if super::is_query_api(&req) => Answer::Api {
                future: super::query_api(state.clone(), self.peer, req),
            },
            _ => {
                req.extensions_mut().insert(ConnectInfo(self.peer));
                // `Router` is always ready, so `poll_ready` need not be awaited.
                Answer::Router {
                    future: tower_service::Service::call(&mut self.app.router.clone(), req),
                }
            }
        };
        InTime {
            answer,
            number,
            progress: self.progress.clone(),
            peer: self.peer,
        }
    }
}

pin_project_lite::pin_project! {
    /// The app's answer, or `RequestTimeout` once the watchdog says `request_timeout` has
    /// passed. Dropping the app's future then is what a client closing its connection does
    /// too.
    struct InTime {
        #[pin]
        answer: Answer,
        number: u64,
        progress: Arc<Progress>,
        peer: SocketAddr,
    }
}

pin_project_lite::pin_project! {
    /// The Query API's answer, or the router's.
    #[project = AnswerProj]
    enum Answer {
        Api { #[pin] future: Pin<Box<dyn Future<Output = Response<Body>> + Send>> },
        Router { #[pin] future: axum::routing::future::RouteFuture<Infallible> },
    }
}

impl Future for Answer {
    type Output = Result<Response<Body>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            AnswerProj::Api { future } => future.poll(cx).map(Ok),
            AnswerProj::Router { future } => future.poll(cx),
        }
    }
}

impl Future for InTime {
    type Output = Result<Response<Body>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let progress = &**this.progress;
        let expired = || progress.expired.load(Ordering::Acquire) == *this.number;
        if !expired() {
            if let Poll::Ready(answer) = this.answer.poll(cx) {
                progress.finished.store(*this.number, Ordering::Relaxed);
                return Poll::Ready(answer);
            }
            // Register before looking again, so an expiry in between still wakes this task.
            progress.waker.register(cx.waker());
            if !expired() {
                return Poll::Pending;
            }
        }
        progress.finished.store(*this.number, Ordering::Relaxed);
        Poll::Ready(Ok(timed_out(*this.peer)))
    }
}

fn timed_out(peer: SocketAddr) -> Response<Body> {
    let request_id = super::new_request_id();
    tracing::info!(
        request_id = %request_id,
        source_ip = %peer.ip(),
        "request timed out (request_timeout): answered RequestTimeout, connection closed"
    );
    let e = ApiError::new(
        ErrorCode::RequestTimeout,
        "Your socket connection to the server was not read from or written to within the timeout period.",
    );
    let mut answer = super::error_response(&e, Service::Sts, &request_id);
    // The body may be half read: this connection cannot carry another request.
    answer
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    answer
}

/// A socket whose writes fail with `TimedOut` once one has waited `limit` for the client to
/// take data: a client that stops reading (a full send buffer) cannot hold its connection
/// open. The timer exists only while a write is waiting, so a client that reads costs nothing.
struct Stalls<T> {
    io: T,
    limit: Duration,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    armed: bool,
}

impl<T> Stalls<T> {
    fn new(io: T, limit: Duration) -> Self {
        Stalls {
            io,
            limit,
            timer: None,
            armed: false,
        }
    }

    fn check<R>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        if r.is_ready() {
            self.armed = false;
            return r;
        }
        if !self.armed {
            let at = tokio::time::Instant::now() + self.limit;
            match &mut self.timer {
                Some(t) => t.as_mut().reset(at),
                None => self.timer = Some(Box::pin(tokio::time::sleep_until(at))),
            }
            self.armed = true;
        }
        let expired = match &mut self.timer {
            Some(t) => t.as_mut().poll(cx).is_ready(),
            None => false,
        };
        if expired {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client took no data for request_timeout",
            )));
        }
        Poll::Pending
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Stalls<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Stalls<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_write(cx, buf);
        this.check(cx, r)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.check(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_flush(cx);
        this.check(cx, r)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_shutdown(cx);
        this.check(cx, r)
    }
}
