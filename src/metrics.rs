//! What the server counts, and its Prometheus text exposition (`GET /metrics`).
//!
//! See <https://prometheus.io/docs/instrumenting/exposition_formats/>.
//!
//! Owns: every series' name, help, labels and buckets, and the text. Must never: lock, allocate
//! or format on the request path (every label set is resolved when the server starts; a request
//! does a few relaxed atomic adds on counters it finds by index), or take a label value from a
//! request (no ARN, key id, name or address: every label value is one of a fixed set, so a
//! client cannot grow the number of series).
//!
//! Counters that every request bumps are split into per-thread slots, each on cache lines of its
//! own ([`Sharded`]), and summed when scraped: two cores counting the same action never write to
//! the same cache line, which would cost a line transfer between cores on every add. (The
//! `prometheus` crate's own counters and histograms are single atomics shared by every thread;
//! they serve here only what is counted per batch, not per request.)
//!
//! A leaf: it knows nothing of the rest of the crate. Callers pass actions and error codes as
//! indexes into the name tables they gave [`Metrics::new`], and the values only they can read
//! (cache sizes, the keyring) as a [`Live`] at scrape time. Counters that live inside a
//! subsystem (a cache's hits and misses) are plain atomics there ([`CacheCounts`]), so the
//! subsystem works, and is tested, without a registry.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus::proto::{self, MetricFamily, MetricType};
use prometheus::{Histogram, HistogramOpts, HistogramVec, IntGaugeVec, Opts};

/// The `Content-Type` of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

/// Request latency bucket bounds, in nanoseconds: 100 µs (a cached GetCallerIdentity on an idle
/// server) to 2.5 s (an AssumeRoleWithWebIdentity waiting for a slow IdP's keys).
const LATENCY_BOUNDS_NS: [u64; 14] = [
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
];

/// Latency buckets: one per bound, and the last for everything above them (`+Inf`).
const LATENCY_BUCKETS: usize = LATENCY_BOUNDS_NS.len() + 1;

/// Audit commit buckets, in seconds: a journal `pwrite` (microseconds) to a synced SQLite
/// transaction on a slow device.
const COMMIT_BUCKETS: &[f64] = &[
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0,
];

/// Records per audit batch.
const BATCH_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

/// The `action` label of requests that named no action tessera answers (malformed, unknown
/// action or version, a path other than `/`).
pub const UNKNOWN_ACTION: &str = "unknown";

/// How a request ended, by HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx
    Success,
    /// 4xx: the client's mistake or a refusal.
    ClientError,
    /// 5xx: ours.
    ServerError,
}

impl Outcome {
    pub fn of_status(status: u16) -> Outcome {
        match status {
            500.. => Outcome::ServerError,
            400..=499 => Outcome::ClientError,
            _ => Outcome::Success,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::ClientError => "client_error",
            Outcome::ServerError => "server_error",
        }
    }
}

/// Which policy evaluation decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The caller's identity policies, boundary and session policies (IAM calls, and the STS
    /// calls the caller's own policies must allow: GetFederationToken, GetAccessKeyInfo,
    /// DecodeAuthorizationMessage).
    Identity,
    /// A role's trust policy with the caller's identity side (every `AssumeRole*`).
    Trust,
}

/// What the evaluator decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

/// The kind of credentials an action hands out, by its wire name (`None`: it hands out none).
/// Matched on the name so that a new action needs no change here to be counted under its kind.
fn credential_kind(action: &str) -> Option<&'static str> {
    match action {
        "GetSessionToken" => Some("session_token"),
        "AssumeRole" => Some("assume_role"),
        "AssumeRoleWithWebIdentity" => Some("web_identity"),
        "AssumeRoleWithSAML" => Some("saml"),
        "GetFederationToken" => Some("federation"),
        "CreateAccessKey" => Some("access_key"),
        _ => None,
    }
}

// --- per-thread slots ----------------------------------------------------------------------

/// Slots a [`Sharded`] value has: one per core the runtime may run a worker on, and two for the
/// store's writer and the audit copier; more threads share slots (adds stay exact).
fn slots() -> usize {
    static SLOTS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SLOTS.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(4, std::num::NonZeroUsize::get)
            .clamp(1, 62)
            + 2
    })
}

/// This thread's slot: threads are numbered in the order they first count something.
fn my_slot() -> usize {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        static SLOT: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
    }
    SLOT.with(|s| match s.get() {
        Some(n) => n,
        None => {
            let n = usize::try_from(NEXT.fetch_add(1, Ordering::Relaxed)).unwrap_or(0) % slots();
            s.set(Some(n));
            n
        }
    })
}

/// `T` alone on its cache lines (64 bytes on x86-64 and most arm64 cores).
#[derive(Debug, Default)]
#[repr(align(64))]
struct Line<T>(T);

/// One `T` per slot, each on lines of its own: a thread adds to its own slot; a scrape sums them.
#[derive(Debug)]
struct Sharded<T>(Box<[Line<T>]>);

impl<T: Default> Default for Sharded<T> {
    fn default() -> Self {
        Sharded((0..slots()).map(|_| Line::default()).collect())
    }
}

impl<T> Sharded<T> {
    /// This thread's slot.
    fn mine(&self) -> Option<&T> {
        let n = self.0.len();
        self.0.get(my_slot() % n.max(1)).map(|l| &l.0)
    }

    /// Every slot's `f`, added up.
    fn sum(&self, f: impl Fn(&T) -> u64) -> u64 {
        self.0.iter().map(|l| f(&l.0)).fold(0, u64::wrapping_add)
    }
}

/// A counter many threads bump.
#[derive(Debug, Default)]
struct Counter(Sharded<AtomicU64>);

impl Counter {
    fn inc(&self) {
        if let Some(c) = self.0.mine() {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn get(&self) -> u64 {
        self.0.sum(|c| c.load(Ordering::Relaxed))
    }
}

/// Hits and misses of one cache: counters the cache itself bumps on every lookup.
#[derive(Debug, Default)]
pub struct CacheCounts(Sharded<[AtomicU64; 2]>);

impl CacheCounts {
    pub fn record(&self, hit: bool) {
        if let Some([hits, misses]) = self.0.mine() {
            let c = if hit { hits } else { misses };
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn hits(&self) -> u64 {
        self.0.sum(|[h, _]| h.load(Ordering::Relaxed))
    }

    pub fn misses(&self) -> u64 {
        self.0.sum(|[_, m]| m.load(Ordering::Relaxed))
    }
}

/// The audit trail's group commits: records per batch and how long each commit took, by the
/// stage that committed it (`journal`: the audit journal's `pwrite`, synced with
/// `audit_sync = "batch"`; `writer`: the store writer's SQLite transaction; `copy`: the
/// copier's transaction moving journal frames into SQLite). Cheap to clone (shared handles).
#[derive(Clone)]
pub struct AuditMetrics {
    records: HistogramVec,
    seconds: HistogramVec,
    pub journal: AuditStage,
    pub writer: AuditStage,
    pub copy: AuditStage,
}

/// One stage's pair of histograms.
#[derive(Clone)]
pub struct AuditStage {
    records: Histogram,
    seconds: Histogram,
}

impl AuditStage {
    /// A batch of `records` committed in `took`.
    pub fn committed(&self, records: usize, took: Duration) {
        self.records.observe(as_f64(records));
        self.seconds.observe(took.as_secs_f64());
    }
}

impl std::fmt::Debug for AuditMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditMetrics").finish_non_exhaustive()
    }
}

impl AuditMetrics {
    pub fn new() -> Result<AuditMetrics, prometheus::Error> {
        let records = HistogramVec::new(
            HistogramOpts::new(
                "tessera_audit_batch_records",
                "Audit records per committed batch (group commit), by the stage that committed it.",
            )
            .buckets(BATCH_BUCKETS.to_vec()),
            &["stage"],
        )?;
        let seconds = HistogramVec::new(
            HistogramOpts::new(
                "tessera_audit_commit_seconds",
                "Time to commit one audit batch, by stage: journal (pwrite, synced with audit_sync=batch), writer (SQLite transaction), copy (journal frames into SQLite).",
            )
            .buckets(COMMIT_BUCKETS.to_vec()),
            &["stage"],
        )?;
        let stage = |name: &str| -> Result<AuditStage, prometheus::Error> {
            Ok(AuditStage {
                records: records.get_metric_with_label_values(&[name])?,
                seconds: seconds.get_metric_with_label_values(&[name])?,
            })
        };
        Ok(AuditMetrics {
            journal: stage("journal")?,
            writer: stage("writer")?,
            copy: stage("copy")?,
            records,
            seconds,
        })
    }
}

/// What one action's requests add up to, in one slot: all of it on three cache lines, so a
/// request touches only lines its own thread owns.
#[derive(Debug, Default)]
struct ActionCell {
    /// By [`Outcome`]: success, client error, server error.
    outcomes: [AtomicU64; 3],
    /// Latency observations per bucket (not cumulative; the last is above every bound).
    buckets: [AtomicU64; LATENCY_BUCKETS],
    /// Latencies added up, in nanoseconds (584 years before it wraps).
    sum_ns: AtomicU64,
}

/// An action's name and the kind of credentials it hands out.
struct ActionInfo {
    name: &'static str,
    kind: Option<&'static str>,
}

/// Every series of one server. Built once, shared by every request.
pub struct Metrics {
    /// What is counted per batch (audit commits) and the build info.
    registry: prometheus::Registry,
    /// By action index, then one more for [`UNKNOWN_ACTION`].
    actions: Vec<ActionInfo>,
    /// Per slot, then by action index.
    cells: Sharded<Box<[ActionCell]>>,
    /// Error code wire names, by error code index.
    codes: Vec<&'static str>,
    /// By error code index.
    errors: Vec<Counter>,
    /// By [`Check`], then by [`Decision`].
    decisions: [[Counter; 3]; 2],
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// `actions`: every action's wire name, by index; `error_codes`: every error code's wire
    /// name, by index; `audit`: the audit trail's histograms (its stages hold the handles).
    pub fn new(
        actions: &[&'static str],
        error_codes: &[&'static str],
        audit: &AuditMetrics,
    ) -> Result<Metrics, prometheus::Error> {
        let registry = prometheus::Registry::new();
        let build = IntGaugeVec::new(
            Opts::new(
                "tessera_build_info",
                "Always 1; the version label is the running tessera's.",
            ),
            &["version"],
        )?;
        build
            .get_metric_with_label_values(&[env!("CARGO_PKG_VERSION")])?
            .set(1);
        registry.register(Box::new(build))?;
        registry.register(Box::new(audit.records.clone()))?;
        registry.register(Box::new(audit.seconds.clone()))?;

        let actions: Vec<ActionInfo> = actions
            .iter()
            .copied()
            .chain([UNKNOWN_ACTION])
            .map(|name| ActionInfo {
                name,
                kind: credential_kind(name),
            })
            .collect();
        let n = actions.len();
        let cells = Sharded(
            (0..slots())
                .map(|_| Line((0..n).map(|_| ActionCell::default()).collect()))
                .collect(),
        );
        Ok(Metrics {
            registry,
            actions,
            cells,
            codes: error_codes.to_vec(),
            errors: error_codes.iter().map(|_| Counter::default()).collect(),
            decisions: Default::default(),
        })
    }

    /// One answered API request: `action` and `error` are indexes into the tables given to
    /// [`Metrics::new`] (`None`: no action was named, no error).
    pub fn request(
        &self,
        action: Option<usize>,
        status: u16,
        error: Option<usize>,
        elapsed: Duration,
    ) {
        let unknown = self.actions.len().saturating_sub(1);
        let Some(cell) = self
            .cells
            .mine()
            .and_then(|cells| cells.get(action.unwrap_or(unknown)))
        else {
            return;
        };
        let outcome = Outcome::of_status(status) as usize;
        if let Some(c) = cell.outcomes.get(outcome) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let bucket = LATENCY_BOUNDS_NS
            .iter()
            .position(|bound| ns <= *bound)
            .unwrap_or(LATENCY_BOUNDS_NS.len());
        if let Some(b) = cell.buckets.get(bucket) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        cell.sum_ns.fetch_add(ns, Ordering::Relaxed);
        if let Some(c) = error.and_then(|e| self.errors.get(e)) {
            c.inc();
        }
    }

    /// One decision of the policy evaluator.
    pub fn decision(&self, check: Check, decision: Decision) {
        let by_result = match check {
            Check::Identity => &self.decisions[0],
            Check::Trust => &self.decisions[1],
        };
        let [allow, explicit, implicit] = by_result;
        match decision {
            Decision::Allow => allow.inc(),
            Decision::ExplicitDeny => explicit.inc(),
            Decision::ImplicitDeny => implicit.inc(),
        }
    }

    /// Every series as Prometheus text (format 0.0.4), with the values read at scrape time.
    pub fn render(&self, live: &Live<'_>) -> Result<String, prometheus::Error> {
        let mut families = self.registry.gather();
        families.extend(self.request_families());
        families.extend(live.families());
        // The encoder refuses a family without samples.
        families.retain(|f| !f.get_metric().is_empty());
        families.sort_by(|a, b| a.name().cmp(b.name()));
        let mut out = String::with_capacity(16 * 1024);
        prometheus::TextEncoder::new().encode_utf8(&families, &mut out)?;
        Ok(out)
    }

    /// Requests, latencies, errors, credentials and decisions, summed over the slots.
    ///
    /// Per-action and per-code series appear with their first request: nearly a hundred
    /// actions times three outcomes, and a histogram each, would otherwise make every scrape
    /// mostly zeros. Small fixed sets (credential kinds, decisions) are always shown.
    fn request_families(&self) -> Vec<MetricFamily> {
        let mut requests = Vec::new();
        let mut latencies = Vec::new();
        let mut issued: Vec<(&str, u64)> = Vec::new();
        for (i, info) in self.actions.iter().enumerate() {
            // One pass over the slots. Requests go on counting meanwhile, so the histogram's
            // count is its own buckets' total: buckets, `+Inf` and `_count` always agree.
            let mut outcomes = [0u64; 3];
            let mut counts = [0u64; LATENCY_BUCKETS];
            let mut sum_ns = 0u64;
            for cell in self.cells.0.iter().filter_map(|cells| cells.0.get(i)) {
                let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
                for (total, c) in outcomes.iter_mut().zip(&cell.outcomes) {
                    *total += load(c);
                }
                for (total, c) in counts.iter_mut().zip(&cell.buckets) {
                    *total += load(c);
                }
                sum_ns = sum_ns.wrapping_add(load(&cell.sum_ns));
            }
            for (n, outcome) in outcomes.into_iter().zip([
                Outcome::Success,
                Outcome::ClientError,
                Outcome::ServerError,
            ]) {
                if n > 0 {
                    requests.push(counter(
                        &[("action", info.name), ("outcome", outcome.as_str())],
                        n,
                    ));
                }
                if let (Outcome::Success, Some(kind)) = (outcome, info.kind) {
                    match issued.iter_mut().find(|(k, _)| *k == kind) {
                        Some((_, sum)) => *sum += n,
                        None => issued.push((kind, n)),
                    }
                }
            }
            let count: u64 = counts.iter().sum();
            if count == 0 {
                continue;
            }
            let mut cumulative = 0;
            let mut buckets = Vec::with_capacity(LATENCY_BOUNDS_NS.len());
            for (bound, n) in LATENCY_BOUNDS_NS.iter().zip(counts) {
                cumulative += n;
                let mut bucket = proto::Bucket::default();
                bucket.set_upper_bound(nanos_to_seconds(*bound));
                bucket.set_cumulative_count(cumulative);
                buckets.push(bucket);
            }
            let mut h = proto::Histogram::default();
            h.set_bucket(buckets);
            h.set_sample_count(count);
            h.set_sample_sum(nanos_to_seconds(sum_ns));
            let mut m = proto::Metric::from_label(labels(&[("action", info.name)]));
            m.set_histogram(h);
            latencies.push(m);
        }
        // Codes sharing a wire name (an unknown action and an unknown path) share a series.
        let mut by_code: Vec<(&str, u64)> = Vec::new();
        for (code, c) in self.codes.iter().zip(&self.errors) {
            let n = c.get();
            match by_code.iter_mut().find(|(k, _)| k == code) {
                Some((_, sum)) => *sum += n,
                None => by_code.push((code, n)),
            }
        }
        let errors = by_code
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(code, n)| counter(&[("code", code)], n))
            .collect();
        let mut decisions = Vec::with_capacity(6);
        for (check, by_result) in ["identity", "trust"].into_iter().zip(&self.decisions) {
            for (result, c) in ["allow", "explicit_deny", "implicit_deny"]
                .into_iter()
                .zip(by_result)
            {
                decisions.push(counter(&[("check", check), ("result", result)], c.get()));
            }
        }
        vec![
            family(
                "tessera_requests_total",
                "API requests by action and outcome (success: 2xx, client_error: 4xx, server_error: 5xx).",
                MetricType::COUNTER,
                requests,
            ),
            family(
                "tessera_request_duration_seconds",
                "API request latency by action, from the first byte of the request read to the answer.",
                MetricType::HISTOGRAM,
                latencies,
            ),
            family(
                "tessera_request_errors_total",
                "API requests answered with an AWS error, by its code.",
                MetricType::COUNTER,
                errors,
            ),
            family(
                "tessera_credentials_issued_total",
                "Credentials handed out, by kind (session_token, assume_role, web_identity, saml, federation, access_key).",
                MetricType::COUNTER,
                issued
                    .into_iter()
                    .map(|(kind, n)| counter(&[("kind", kind)], n))
                    .collect(),
            ),
            family(
                "tessera_policy_decisions_total",
                "Policy evaluator decisions by check (identity: the caller's own policies, for IAM calls and GetFederationToken, GetAccessKeyInfo, DecodeAuthorizationMessage; trust: a role's trust policy, for AssumeRole*) and result.",
                MetricType::COUNTER,
                decisions,
            ),
        ]
    }
}

/// Nanoseconds as seconds (exact below 2^53 ns, 104 days).
fn nanos_to_seconds(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// Values read when scraped, from the subsystems that own them.
#[derive(Debug, Default)]
pub struct Live<'a> {
    /// `(cache name, its counts, entries held now)`.
    pub caches: Vec<(&'static str, &'a CacheCounts, usize)>,
    /// OIDC discovery + JWKS fetches that succeeded and failed.
    pub oidc_key_fetches: (u64, u64),
    pub keyring: KeyringLive,
}

/// The keyring in force.
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyringLive {
    /// The id of the key that seals new tokens.
    pub current_key_id: u32,
    /// When that key was made (seconds since the epoch): it changes with every rotation, so it
    /// is the keyring's generation.
    pub current_key_created: i64,
    /// Keys held (current and previous generations).
    pub keys: usize,
    /// Times this process picked up a rotated keyring.
    pub reloads: u64,
}

impl Live<'_> {
    fn families(&self) -> Vec<MetricFamily> {
        let mut hits = Vec::with_capacity(self.caches.len() * 2);
        let mut entries = Vec::with_capacity(self.caches.len());
        for (name, counts, held) in &self.caches {
            hits.push(counter(
                &[("cache", name), ("result", "hit")],
                counts.hits(),
            ));
            hits.push(counter(
                &[("cache", name), ("result", "miss")],
                counts.misses(),
            ));
            entries.push(gauge(&[("cache", name)], as_f64(*held)));
        }
        let (fetch_ok, fetch_err) = self.oidc_key_fetches;
        let k = &self.keyring;
        vec![
            family(
                "tessera_cache_requests_total",
                "Cache lookups by cache and result (hit, miss).",
                MetricType::COUNTER,
                hits,
            ),
            family(
                "tessera_cache_entries",
                "Entries each cache holds now.",
                MetricType::GAUGE,
                entries,
            ),
            family(
                "tessera_oidc_key_fetches_total",
                "Fetches of an OpenID Connect issuer's discovery document and keys, by result.",
                MetricType::COUNTER,
                vec![
                    counter(&[("result", "ok")], fetch_ok),
                    counter(&[("result", "error")], fetch_err),
                ],
            ),
            family(
                "tessera_keyring_current_key_id",
                "Id of the key that seals new session tokens and secrets.",
                MetricType::GAUGE,
                vec![gauge(&[], f64::from(k.current_key_id))],
            ),
            family(
                "tessera_keyring_current_key_created_timestamp_seconds",
                "When the current key was made (its generation): changes with every rotation.",
                MetricType::GAUGE,
                vec![gauge(&[], i64_f64(k.current_key_created))],
            ),
            family(
                "tessera_keyring_keys",
                "Keys held: the current one and previous generations that still open tokens.",
                MetricType::GAUGE,
                vec![gauge(&[], as_f64(k.keys))],
            ),
            family(
                "tessera_keyring_reloads_total",
                "Rotated keyrings this process picked up.",
                MetricType::COUNTER,
                vec![counter(&[], k.reloads)],
            ),
        ]
    }
}

/// Sizes and counts are far below 2^52: exact as floats.
fn as_f64(n: usize) -> f64 {
    n as f64
}

/// Timestamps in seconds are far below 2^52: exact as floats.
fn i64_f64(n: i64) -> f64 {
    n as f64
}

fn labels(pairs: &[(&str, &str)]) -> Vec<proto::LabelPair> {
    pairs
        .iter()
        .map(|(k, v)| {
            let mut l = proto::LabelPair::default();
            l.set_name((*k).to_owned());
            l.set_value((*v).to_owned());
            l
        })
        .collect()
}

fn counter(pairs: &[(&str, &str)], value: u64) -> proto::Metric {
    let mut c = proto::Counter::default();
    // The text format writes every value as a float.
    c.set_value(value as f64);
    let mut m = proto::Metric::from_label(labels(pairs));
    m.set_counter(c);
    m
}

fn gauge(pairs: &[(&str, &str)], value: f64) -> proto::Metric {
    let mut g = proto::Gauge::default();
    g.set_value(value);
    let mut m = proto::Metric::from_label(labels(pairs));
    m.set_gauge(g);
    m
}

fn family(name: &str, help: &str, kind: MetricType, metrics: Vec<proto::Metric>) -> MetricFamily {
    let mut f = MetricFamily::default();
    f.set_name(name.to_owned());
    f.set_help(help.to_owned());
    f.set_field_type(kind);
    f.set_metric(metrics);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> (Metrics, AuditMetrics) {
        let audit = AuditMetrics::new().unwrap();
        let m = Metrics::new(
            &["GetCallerIdentity", "AssumeRole", "CreateAccessKey"],
            &[
                "AccessDenied",
                "InvalidAction",
                "InvalidAction",
                "InternalFailure",
            ],
            &audit,
        )
        .unwrap();
        (m, audit)
    }

    fn line_value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn counts_by_action_outcome_code_and_kind() {
        let (m, audit) = metrics();
        let ms = Duration::from_millis(1);
        m.request(Some(1), 200, None, ms);
        m.request(Some(1), 200, None, ms);
        m.request(Some(1), 403, Some(0), ms);
        m.request(Some(0), 500, Some(3), ms);
        // Two codes with one wire name share a series.
        m.request(None, 400, Some(1), ms);
        m.request(None, 404, Some(2), ms);
        m.decision(Check::Trust, Decision::ImplicitDeny);
        audit.journal.committed(3, Duration::from_micros(30));
        let text = m.render(&Live::default()).unwrap();
        let v = |s: &str| line_value(&text, s);
        assert_eq!(
            v("tessera_requests_total{action=\"AssumeRole\",outcome=\"success\"}"),
            Some(2.0)
        );
        assert_eq!(
            v("tessera_requests_total{action=\"AssumeRole\",outcome=\"client_error\"}"),
            Some(1.0)
        );
        assert_eq!(
            v("tessera_requests_total{action=\"GetCallerIdentity\",outcome=\"server_error\"}"),
            Some(1.0)
        );
        assert_eq!(
            v("tessera_requests_total{action=\"unknown\",outcome=\"client_error\"}"),
            Some(2.0)
        );
        // Series that counted nothing are left out.
        assert_eq!(
            v("tessera_requests_total{action=\"CreateAccessKey\",outcome=\"success\"}"),
            None
        );
        assert_eq!(
            v("tessera_request_errors_total{code=\"InvalidAction\"}"),
            Some(2.0)
        );
        assert_eq!(
            v("tessera_credentials_issued_total{kind=\"assume_role\"}"),
            Some(2.0)
        );
        // Fixed sets are shown at zero.
        assert_eq!(
            v("tessera_credentials_issued_total{kind=\"access_key\"}"),
            Some(0.0)
        );
        assert_eq!(
            v("tessera_policy_decisions_total{check=\"trust\",result=\"implicit_deny\"}"),
            Some(1.0)
        );
        assert_eq!(
            v("tessera_policy_decisions_total{check=\"identity\",result=\"allow\"}"),
            Some(0.0)
        );
        assert_eq!(
            v("tessera_request_duration_seconds_bucket{action=\"AssumeRole\",le=\"0.001\"}"),
            Some(3.0)
        );
        assert_eq!(
            v("tessera_request_duration_seconds_count{action=\"AssumeRole\"}"),
            Some(3.0)
        );
        assert_eq!(
            v("tessera_audit_batch_records_bucket{stage=\"journal\",le=\"4\"}"),
            Some(1.0)
        );
        assert_eq!(
            v("tessera_audit_commit_seconds_count{stage=\"journal\"}"),
            Some(1.0)
        );
        assert!(text.contains("# TYPE tessera_request_duration_seconds histogram"));
    }

    #[test]
    fn counts_from_many_threads_add_up() {
        let (m, _) = metrics();
        let counts = CacheCounts::default();
        std::thread::scope(|s| {
            for t in 0..12 {
                let (m, counts) = (&m, &counts);
                s.spawn(move || {
                    for i in 0..1000 {
                        let micros = 50 * (t + 1) + i % 7;
                        m.request(Some(0), 200, None, Duration::from_micros(micros));
                        m.decision(Check::Identity, Decision::Allow);
                        counts.record(i % 4 == 0);
                    }
                });
            }
        });
        let text = m.render(&Live::default()).unwrap();
        let v = |s: &str| line_value(&text, s);
        assert_eq!(
            v("tessera_requests_total{action=\"GetCallerIdentity\",outcome=\"success\"}"),
            Some(12_000.0)
        );
        assert_eq!(
            v("tessera_request_duration_seconds_count{action=\"GetCallerIdentity\"}"),
            Some(12_000.0)
        );
        // Threads 0 and 1 observe 50..56 and 100..106 µs: at most 100 µs are all of thread 0's
        // and the 100 µs ones of thread 1 (i % 7 == 0: 143 of its 1000).
        assert_eq!(
            v(
                "tessera_request_duration_seconds_bucket{action=\"GetCallerIdentity\",le=\"0.0001\"}"
            ),
            Some(1143.0)
        );
        assert_eq!(
            v("tessera_policy_decisions_total{check=\"identity\",result=\"allow\"}"),
            Some(12_000.0)
        );
        assert_eq!((counts.hits(), counts.misses()), (3000, 9000));
    }

    #[test]
    fn scrape_time_values() {
        let (m, _) = metrics();
        let counts = CacheCounts::default();
        counts.record(true);
        counts.record(true);
        counts.record(false);
        let live = Live {
            caches: vec![("oidc_keys", &counts, 7)],
            oidc_key_fetches: (3, 1),
            keyring: KeyringLive {
                current_key_id: 42,
                current_key_created: 1_700_000_000,
                keys: 2,
                reloads: 1,
            },
        };
        let text = m.render(&live).unwrap();
        let v = |s: &str| line_value(&text, s);
        assert_eq!(
            v("tessera_cache_requests_total{cache=\"oidc_keys\",result=\"hit\"}"),
            Some(2.0)
        );
        assert_eq!(
            v("tessera_cache_requests_total{cache=\"oidc_keys\",result=\"miss\"}"),
            Some(1.0)
        );
        assert_eq!(v("tessera_cache_entries{cache=\"oidc_keys\"}"), Some(7.0));
        assert_eq!(
            v("tessera_oidc_key_fetches_total{result=\"error\"}"),
            Some(1.0)
        );
        assert_eq!(v("tessera_keyring_current_key_id"), Some(42.0));
        assert_eq!(
            v("tessera_keyring_current_key_created_timestamp_seconds"),
            Some(1.7e9)
        );
        assert_eq!(v("tessera_keyring_keys"), Some(2.0));
        assert_eq!(v("tessera_keyring_reloads_total"), Some(1.0));
        assert!(text.contains("# TYPE tessera_cache_requests_total counter"));
        // Families come out sorted by name, each once.
        let names: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
    }
}
