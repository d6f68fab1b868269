//! Issuers' signing keys: discovery and JWKS fetched with `openidconnect` over a `reqwest`
//! client held to tessera's rules, cached per issuer.
//!
//! - Only registered issuers are ever fetched (the caller checks `iss` first), over https, or
//!   over http to a loopback address when the operator allowed it; no redirects; connect and
//!   total timeouts; bodies capped.
//! - Keys are fresh for [`Limits::ttl`]. A token whose `kid` is unknown triggers at most one
//!   refetch per [`Limits::kid_cooldown`] per issuer; a failed fetch is not retried for
//!   [`Limits::failure_backoff`]. Concurrent requests share one fetch.
//! - When the IdP is unreachable, keys already cached keep working for [`Limits::grace`] past
//!   their freshness; an issuer never fetched fails with `IDPCommunicationError`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};

use super::Rejection;
use super::jwt::Alg;
use crate::metrics::CacheCounts;

/// Largest discovery document or key set read, in bytes.
pub(crate) const MAX_DOCUMENT: usize = 256 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(5);

/// How long keys are trusted and how often an issuer may be asked again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) ttl: TimeDelta,
    pub(crate) grace: TimeDelta,
    pub(crate) kid_cooldown: TimeDelta,
    pub(crate) failure_backoff: TimeDelta,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            ttl: TimeDelta::minutes(15),
            grace: TimeDelta::hours(24),
            kid_cooldown: TimeDelta::seconds(60),
            failure_backoff: TimeDelta::seconds(10),
        }
    }
}

/// One verification key of an issuer.
#[derive(Clone)]
pub(crate) struct Key {
    kid: Option<String>,
    /// `Some`: the JWK pins its algorithm. `None` (RSA only): any RS* the token names.
    alg: Option<Alg>,
    rsa: bool,
    pub(crate) decoding: DecodingKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("rsa", &self.rsa)
            .finish_non_exhaustive()
    }
}

impl Key {
    /// A JWK as a verification key, if it is one tessera can use: RSA (RS256/384/512) or EC
    /// P-256/P-384, meant for signatures.
    fn from_jwk(jwk: &Jwk) -> Option<Key> {
        if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
            return None;
        }
        let pinned = match &jwk.common.key_algorithm {
            None => None,
            Some(KeyAlgorithm::RS256) => Some(Alg::Rs256),
            Some(KeyAlgorithm::RS384) => Some(Alg::Rs384),
            Some(KeyAlgorithm::RS512) => Some(Alg::Rs512),
            Some(KeyAlgorithm::ES256) => Some(Alg::Es256),
            Some(KeyAlgorithm::ES384) => Some(Alg::Es384),
            Some(_) => return None,
        };
        let kid = jwk.common.key_id.clone();
        match &jwk.algorithm {
            AlgorithmParameters::RSA(p) => {
                if pinned.is_some_and(|a| !a.is_rsa()) {
                    return None;
                }
                let decoding = DecodingKey::from_rsa_components(&p.n, &p.e).ok()?;
                Some(Key {
                    kid,
                    alg: pinned,
                    rsa: true,
                    decoding,
                })
            }
            AlgorithmParameters::EllipticCurve(p) => {
                let curve_alg = match p.curve {
                    EllipticCurve::P256 => Alg::Es256,
                    EllipticCurve::P384 => Alg::Es384,
                    _ => return None,
                };
                if pinned.is_some_and(|a| a != curve_alg) {
                    return None;
                }
                let decoding = DecodingKey::from_ec_components(&p.x, &p.y).ok()?;
                Some(Key {
                    kid,
                    alg: Some(curve_alg),
                    rsa: false,
                    decoding,
                })
            }
            // HMAC secrets and other key types never verify a web identity token.
            _ => None,
        }
    }

    /// Whether this key verifies tokens signed with `alg`: the key's own algorithm decides.
    fn accepts(&self, alg: Alg) -> bool {
        match self.alg {
            Some(a) => a == alg,
            None => self.rsa && alg.is_rsa(),
        }
    }
}

/// An issuer's usable keys as fetched once; `generation` changes whenever they change.
#[derive(Debug)]
pub(crate) struct KeySet {
    keys: Vec<Key>,
    pub(crate) generation: u64,
}

impl KeySet {
    /// The key for a token's `kid` and `alg`. Without a `kid`, the issuer must publish exactly
    /// one key for that algorithm (as AWS).
    pub(crate) fn find(&self, kid: Option<&str>, alg: Alg) -> Option<&Key> {
        match kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid) && k.accepts(alg)),
            None => {
                let mut usable = self.keys.iter().filter(|k| k.accepts(alg));
                match (usable.next(), usable.next()) {
                    (Some(k), None) => Some(k),
                    _ => None,
                }
            }
        }
    }

    fn same_keys(&self, other: &[Key]) -> bool {
        self.keys.len() == other.len()
            && self
                .keys
                .iter()
                .zip(other)
                .all(|(a, b)| a.kid == b.kid && a.alg == b.alg && a.rsa == b.rsa)
    }
}

#[derive(Debug, Default)]
struct IssuerState {
    keys: Option<Arc<KeySet>>,
    fetched_at: Option<DateTime<Utc>>,
    last_attempt: Option<DateTime<Utc>>,
    last_failed: bool,
    /// Fetch attempts so far: a waiter that sees it move knows someone else fetched.
    attempts: u64,
}

#[derive(Debug, Default)]
struct IssuerSlot {
    state: Mutex<IssuerState>,
    fetching: tokio::sync::Mutex<()>,
}

/// What to do for one token, decided under the state lock.
enum Next {
    Use(Arc<KeySet>),
    Fetch { attempts: u64 },
    Fail(Rejection),
}

/// Every issuer's keys, and the client that fetches them.
#[derive(Debug)]
pub(crate) struct KeyCache {
    fetcher: Fetcher,
    limits: Limits,
    issuers: Mutex<HashMap<String, Arc<IssuerSlot>>>,
    generations: std::sync::atomic::AtomicU64,
    /// Hit: the cached keys answered; miss: they had to be fetched, or could not answer.
    counts: CacheCounts,
    fetched_ok: AtomicU64,
    fetch_failed: AtomicU64,
}

fn no_key() -> Rejection {
    Rejection::invalid("no key of the issuer matches the token's kid and alg").with_public(
        "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
    )
}

impl KeyCache {
    pub(crate) fn new(fetcher: Fetcher, limits: Limits) -> KeyCache {
        KeyCache {
            fetcher,
            limits,
            issuers: Mutex::new(HashMap::new()),
            generations: std::sync::atomic::AtomicU64::new(0),
            counts: CacheCounts::default(),
            fetched_ok: AtomicU64::new(0),
            fetch_failed: AtomicU64::new(0),
        }
    }

    /// Lookups the cached keys answered, and those they did not.
    pub(crate) fn counts(&self) -> &CacheCounts {
        &self.counts
    }

    /// Issuers whose keys are cached now.
    pub(crate) fn len(&self) -> usize {
        let slots: Vec<Arc<IssuerSlot>> = self
            .issuers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        slots
            .iter()
            .filter(|s| {
                s.state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .keys
                    .is_some()
            })
            .count()
    }

    /// Fetches of discovery and keys so far: (succeeded, failed).
    pub(crate) fn fetches(&self) -> (u64, u64) {
        (
            self.fetched_ok.load(Ordering::Relaxed),
            self.fetch_failed.load(Ordering::Relaxed),
        )
    }

    fn slot(&self, issuer: &str) -> Arc<IssuerSlot> {
        let mut map = self
            .issuers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(issuer.to_owned()).or_default().clone()
    }

    /// The current generation of an issuer's keys (`None`: none cached).
    pub(crate) fn generation(&self, issuer: &str) -> Option<u64> {
        let map = self
            .issuers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let slot = map.get(issuer)?;
        let st = slot
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        st.keys.as_ref().map(|k| k.generation)
    }

    fn decide(&self, st: &IssuerState, kid: Option<&str>, alg: Alg, now: DateTime<Utc>) -> Next {
        let l = &self.limits;
        let since = |t: Option<DateTime<Utc>>| t.map(|t| now - t);
        let backing_off =
            st.last_failed && since(st.last_attempt).is_some_and(|d| d < l.failure_backoff);
        let Some(keys) = &st.keys else {
            return if backing_off {
                Next::Fail(Rejection::communication(
                    "the identity provider's keys could not be fetched (retry later)",
                ))
            } else {
                Next::Fetch {
                    attempts: st.attempts,
                }
            };
        };
        let age = since(st.fetched_at).unwrap_or(TimeDelta::MAX);
        if age >= l.ttl {
            if backing_off {
                return if age < l.ttl + l.grace {
                    Next::Use(keys.clone())
                } else {
                    Next::Fail(Rejection::communication(
                        "the identity provider's keys are too old and could not be refreshed",
                    ))
                };
            }
            return Next::Fetch {
                attempts: st.attempts,
            };
        }
        if keys.find(kid, alg).is_some() {
            return Next::Use(keys.clone());
        }
        let may_refetch = since(st.last_attempt).is_none_or(|d| d >= l.kid_cooldown);
        if may_refetch {
            Next::Fetch {
                attempts: st.attempts,
            }
        } else {
            Next::Fail(no_key())
        }
    }

    /// The key set of `issuer` holding a key for this `kid` and `alg`, fetching when the cache
    /// has none, is stale, or lacks the kid (within the limits above).
    pub(crate) async fn keys_for(
        &self,
        issuer: &str,
        kid: Option<&str>,
        alg: Alg,
        now: DateTime<Utc>,
    ) -> Result<Arc<KeySet>, Rejection> {
        let slot = self.slot(issuer);
        let lock = |s: &IssuerSlot| {
            s.state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .attempts
        };
        let decided = {
            let st = slot
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            self.decide(&st, kid, alg, now)
        };
        self.counts.record(matches!(decided, Next::Use(_)));
        let attempts = match decided {
            Next::Use(k) => return found(k, kid, alg),
            Next::Fail(r) => return Err(r),
            Next::Fetch { attempts } => attempts,
        };
        let _one_fetch = slot.fetching.lock().await;
        if lock(&slot) != attempts {
            // Someone fetched while we waited: use what they got, without fetching again.
            let st = slot
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            return match &st.keys {
                Some(k)
                    if !st.last_failed
                        || now - st.fetched_at.unwrap_or(now)
                            < self.limits.ttl + self.limits.grace =>
                {
                    found(k.clone(), kid, alg)
                }
                _ => Err(Rejection::communication(
                    "the identity provider's keys could not be fetched",
                )),
            };
        }
        let fetched = self.fetcher.fetch(issuer).await;
        let tally = if fetched.is_ok() {
            &self.fetched_ok
        } else {
            &self.fetch_failed
        };
        tally.fetch_add(1, Ordering::Relaxed);
        let mut st = slot
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        st.attempts += 1;
        st.last_attempt = Some(now);
        match fetched {
            Ok(keys) => {
                st.last_failed = false;
                st.fetched_at = Some(now);
                let unchanged = st.keys.as_ref().is_some_and(|old| old.same_keys(&keys));
                if !unchanged {
                    let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
                    tracing::info!(issuer, keys = keys.len(), generation, "oidc: keys fetched");
                    st.keys = Some(Arc::new(KeySet { keys, generation }));
                }
                match &st.keys {
                    Some(k) => found(k.clone(), kid, alg),
                    None => Err(no_key()),
                }
            }
            Err(reason) => {
                st.last_failed = true;
                tracing::warn!(issuer, %reason, "oidc: fetching keys failed");
                let usable = st.keys.clone().filter(|_| {
                    st.fetched_at
                        .is_some_and(|t| now - t < self.limits.ttl + self.limits.grace)
                });
                match usable {
                    Some(k) => found(k, kid, alg),
                    None => Err(Rejection::communication(reason)),
                }
            }
        }
    }
}

fn found(keys: Arc<KeySet>, kid: Option<&str>, alg: Alg) -> Result<Arc<KeySet>, Rejection> {
    if keys.find(kid, alg).is_some() {
        Ok(keys)
    } else {
        Err(no_key())
    }
}

// --- fetching --------------------------------------------------------------------------------

/// The HTTP client for discovery and keys.
#[derive(Debug, Clone)]
pub(crate) struct Fetcher {
    client: reqwest::Client,
    allow_http: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct FetchError(String);

/// Whether `host` is a loopback name or address.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Fetcher {
    /// `extra_ca`: PEM certificates trusted besides the public roots.
    pub(crate) fn new(allow_http: bool, extra_ca: Option<&[u8]>) -> Result<Fetcher, String> {
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            .user_agent(concat!("tessera/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = extra_ca {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| format!("oidc_ca_file: {e}"))?;
            if certs.is_empty() {
                return Err("oidc_ca_file: no certificate in the file".into());
            }
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        let client = b.build().map_err(|e| format!("http client: {e}"))?;
        Ok(Fetcher { client, allow_http })
    }

    /// Whether tessera may fetch from `url` at all.
    pub(crate) fn url_allowed(&self, url: &str) -> bool {
        let Ok(u) = openidconnect::url::Url::parse(url) else {
            return false;
        };
        match u.scheme() {
            "https" => u.host_str().is_some(),
            "http" => self.allow_http && u.host_str().is_some_and(is_loopback_host),
            _ => false,
        }
    }

    async fn call(
        &self,
        req: openidconnect::HttpRequest,
    ) -> Result<openidconnect::HttpResponse, FetchError> {
        let url = req.uri().to_string();
        if !self.url_allowed(&url) {
            return Err(FetchError(format!("refusing to fetch {url}")));
        }
        let mut resp = self
            .client
            .get(&url)
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| FetchError(format!("{url}: {}", without_url(&e))))?;
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_DOCUMENT as u64)
        {
            return Err(FetchError(format!(
                "{url}: response larger than {MAX_DOCUMENT} bytes"
            )));
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| FetchError(format!("{url}: {}", without_url(&e))))?
        {
            if body.len() + chunk.len() > MAX_DOCUMENT {
                return Err(FetchError(format!(
                    "{url}: response larger than {MAX_DOCUMENT} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        let mut out = http::Response::new(body);
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        Ok(out)
    }

    /// Discovery, then the key set it names: the usable keys, or why not (for the log).
    pub(crate) async fn fetch(&self, issuer: &str) -> Result<Vec<Key>, String> {
        use openidconnect::core::CoreProviderMetadata;
        if !self.url_allowed(issuer) {
            return Err(format!("issuer {issuer} is not an https URL"));
        }
        let issuer_url =
            openidconnect::IssuerUrl::new(issuer.to_owned()).map_err(|e| e.to_string())?;
        // Each request's future owns its client (a handle), so it borrows nothing.
        let me = self.clone();
        let http = move |req| {
            let me = me.clone();
            async move { me.call(req).await }
        };
        let meta = CoreProviderMetadata::discover_async(issuer_url, &http)
            .await
            .map_err(|e| discovery_error(&e))?;
        let mut keys = Vec::new();
        for k in meta.jwks().keys() {
            let jwk = serde_json::to_value(k)
                .ok()
                .and_then(|v| serde_json::from_value::<Jwk>(v).ok());
            if let Some(key) = jwk.as_ref().and_then(Key::from_jwk) {
                keys.push(key);
            }
        }
        if keys.is_empty() {
            return Err(format!("{issuer}: the key set has no usable signing key"));
        }
        Ok(keys)
    }
}

fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_redirect() {
        "redirect refused"
    } else if e.is_body() || e.is_decode() {
        "reading the body failed"
    } else {
        "request failed"
    };
    kind.to_owned()
}

fn discovery_error<E: std::error::Error>(e: &openidconnect::DiscoveryError<E>) -> String {
    use openidconnect::DiscoveryError as D;
    match e {
        D::Request(inner) => inner.to_string(),
        D::Response(status, _, msg) => format!("HTTP {status}: {msg}"),
        D::Parse(p) => format!("malformed document: {p}"),
        D::Validation(v) => format!("document rejected: {v}"),
        D::UrlParse(u) => format!("bad URL: {u}"),
        D::Other(o) => o.clone(),
        _ => "discovery failed".to_owned(),
    }
}
