//! `GET /metrics` and the per-request log line, through the real binary: metrics scraped while
//! aws-sdk-rust clients load the server (successes, refusals, errors, credentials, policy
//! decisions, audit batches), the key caches after web identity logins, a separate metrics
//! listener, and JSON logs that parse.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_sdk_sts::config::Region;
use common::idp::TestIdp;
use serde_json::{Value, json};

const ROOT_ID: &str = "AKIAMETRICSTESTKEY22";
const ROOT_SECRET: &str = "metricsRootSecret0123456789abcdefghijklm";
const ACCOUNT: &str = "000000000000";

/// `tessera serve` on its own data dir; killed when dropped.
struct Served {
    child: Child,
    url: String,
    /// Where `/metrics` is, when it has a listener of its own.
    metrics_url: Option<String>,
    stderr: mpsc::Receiver<String>,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tessera() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tessera"));
    for v in [
        "TESSERA_LOG",
        "TESSERA_LOG_FORMAT",
        "TESSERA_METRICS_LISTEN",
        "TESSERA_AUDIT_SYNC",
        "TESSERA_ACCOUNT_ID",
    ] {
        c.env_remove(v);
    }
    c.env("TESSERA_ROOT_ACCESS_KEY_ID", ROOT_ID)
        .env("TESSERA_ROOT_SECRET_ACCESS_KEY", ROOT_SECRET)
        .env("TESSERA_OIDC_ALLOW_HTTP", "1");
    c
}

fn lines_of(r: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Start the binary with `args` and `env` and wait until it says where it listens.
fn serve(args: &[&str], env: &[(&str, &str)]) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = tessera();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = lines_of(child.stdout.take().unwrap());
    let stderr = lines_of(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut metrics_url = None;
    while Instant::now() < deadline {
        let Ok(line) = stdout.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        if let Some(u) = line.strip_prefix("tessera metrics on ") {
            metrics_url = Some(u.to_owned());
        }
        if let Some(url) = line.strip_prefix("tessera listening on ") {
            return Served {
                child,
                url: url.to_owned(),
                metrics_url,
                stderr,
                _dir: dir,
            };
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let err: Vec<String> = stderr.try_iter().collect();
    panic!("the server did not start: {}", err.join("\n"));
}

impl Served {
    fn sdk(&self, id: &str, secret: &str, token: Option<String>) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                    id,
                    secret,
                    token,
                    None,
                    "metrics-test",
                )),
            )
            .build()
    }

    fn root_sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.sdk(ROOT_ID, ROOT_SECRET, None))
    }

    fn root_iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.sdk(ROOT_ID, ROOT_SECRET, None))
    }

    fn anonymous_sts(&self) -> aws_sdk_sts::Client {
        let conf = aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .build();
        aws_sdk_sts::Client::new(&conf)
    }

    /// `/metrics` where it is served.
    async fn scrape(&self) -> Scrape {
        let url = self
            .metrics_url
            .clone()
            .unwrap_or_else(|| format!("{}/metrics", self.url));
        scrape_url(&url).await
    }

    /// Every stderr line so far, waiting up to `wait` for one that satisfies `until`.
    fn stderr_until(&self, wait: Duration, until: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + wait;
        let mut seen = Vec::new();
        while Instant::now() < deadline && !until(&seen) {
            if let Ok(l) = self.stderr.recv_timeout(Duration::from_millis(100)) {
                seen.push(l);
            }
        }
        seen
    }
}

/// One scrape: every sample by its series as written (`name{labels}`), checked to be
/// well-formed Prometheus text on the way.
#[derive(Debug)]
struct Scrape {
    samples: BTreeMap<String, f64>,
    types: BTreeMap<String, String>,
}

impl Scrape {
    fn get(&self, series: &str) -> Option<f64> {
        self.samples.get(series).copied()
    }

    /// The value of `series`, 0 when it is absent (per-action series appear with their first
    /// request).
    fn n(&self, series: &str) -> f64 {
        self.get(series).unwrap_or(0.0)
    }
}

async fn scrape_url(url: &str) -> Scrape {
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    parse(&resp.text().await.unwrap())
}

/// A strict reading of the text format (0.0.4): `# HELP` and `# TYPE` once per family before
/// its samples, sample names of a declared family (with `_bucket`/`_sum`/`_count` for
/// histograms), label values quoted, values numbers, histogram buckets cumulative and ending
/// in `+Inf` equal to `_count`.
fn parse(text: &str) -> Scrape {
    let mut samples = BTreeMap::new();
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helped = std::collections::BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert!(helped.insert(name.to_owned()), "HELP twice for {name}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut it = rest.split(' ');
            let (name, kind) = (it.next().unwrap(), it.next().unwrap());
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            assert!(
                types.insert(name.to_owned(), kind.to_owned()).is_none(),
                "TYPE twice: {line}"
            );
            continue;
        }
        assert!(!line.starts_with('#') && !line.is_empty(), "{line:?}");
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number: {line}"));
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "{line}"
        );
        if let Some(labels) = series.strip_prefix(name)
            && !labels.is_empty()
        {
            let inner = labels
                .strip_prefix('{')
                .and_then(|l| l.strip_suffix('}'))
                .unwrap_or_else(|| panic!("{line}"));
            for pair in inner.split("\",") {
                let (k, v) = pair.split_once('=').unwrap_or_else(|| panic!("{line}"));
                assert!(
                    k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                    "{line}"
                );
                assert!(v.starts_with('"'), "{line}");
            }
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(types.contains_key(family), "sample before its TYPE: {line}");
        assert!(helped.contains(family), "sample without HELP: {line}");
        assert!(
            samples.insert(series.to_owned(), value).is_none(),
            "duplicate series: {line}"
        );
    }
    // Histograms: cumulative buckets, +Inf == _count.
    for (name, kind) in &types {
        if kind != "histogram" {
            continue;
        }
        let mut by_labels: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for (series, v) in &samples {
            let Some(rest) = series.strip_prefix(&format!("{name}_bucket{{")) else {
                continue;
            };
            let (labels, le) = rest.rsplit_once("le=\"").unwrap();
            let le = le.trim_end_matches("\"}");
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            by_labels
                .entry(labels.trim_end_matches(',').to_owned())
                .or_default()
                .push((le, *v));
        }
        for (labels, mut buckets) in by_labels {
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            assert!(
                buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                "{name}{{{labels}}} buckets not cumulative: {buckets:?}"
            );
            let (le, inf) = *buckets.last().unwrap();
            assert!(le.is_infinite(), "{name}{{{labels}}} has no +Inf bucket");
            let count_series = if labels.is_empty() {
                format!("{name}_count")
            } else {
                format!("{name}_count{{{labels}}}")
            };
            assert_eq!(
                samples.get(&count_series),
                Some(&inf),
                "{count_series} against +Inf"
            );
        }
    }
    Scrape { samples, types }
}

fn requests(action: &str, outcome: &str) -> String {
    format!("tessera_requests_total{{action=\"{action}\",outcome=\"{outcome}\"}}")
}

fn decisions(check: &str, result: &str) -> String {
    format!("tessera_policy_decisions_total{{check=\"{check}\",result=\"{result}\"}}")
}

fn issued(kind: &str) -> String {
    format!("tessera_credentials_issued_total{{kind=\"{kind}\"}}")
}

fn cache(name: &str, result: &str) -> String {
    format!("tessera_cache_requests_total{{cache=\"{name}\",result=\"{result}\"}}")
}

fn code<E, R>(e: &aws_sdk_sts::error::SdkError<E, R>) -> String
where
    E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    common::code(e)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_move_with_a_load_of_sdk_calls() {
    let s = serve(&[], &[]);
    let before = s.scrape().await;
    assert_eq!(
        before.get("tessera_build_info{version=\"0.1.0\"}"),
        Some(1.0)
    );
    assert_eq!(before.get("tessera_keyring_keys"), Some(1.0));
    assert!(
        before
            .get("tessera_keyring_current_key_created_timestamp_seconds")
            .unwrap()
            > 1.6e9
    );
    assert_eq!(before.get(&issued("assume_role")), Some(0.0));
    assert_eq!(before.get(&decisions("trust", "allow")), Some(0.0));
    // Per-action families appear with the first request.
    assert!(
        !before
            .types
            .contains_key("tessera_request_duration_seconds")
    );

    // A role the account trusts, a user allowed to assume it (roots may not), and a user
    // with some IAM permissions, one explicitly denied.
    let iam = s.root_iam();
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "sts:AssumeRole"}]});
    let role_arn = iam
        .create_role()
        .role_name("metrics-load")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_owned();
    let served = &s;
    let user = |name: &'static str, policy: Value| {
        let iam = iam.clone();
        async move {
            iam.create_user().user_name(name).send().await.unwrap();
            iam.put_user_policy()
                .user_name(name)
                .policy_name("p")
                .policy_document(policy.to_string())
                .send()
                .await
                .unwrap();
            let key = iam
                .create_access_key()
                .user_name(name)
                .send()
                .await
                .unwrap();
            let key = key.access_key().unwrap();
            served.sdk(key.access_key_id(), key.secret_access_key(), None)
        }
    };
    let loader = user(
        "loader",
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}]}),
    )
    .await;
    let mallory = user(
        "mallory",
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:GetUser", "Resource": "*"}]}),
    )
    .await;

    // The load: GetCallerIdentity and AssumeRole from 16 tasks, scraped all the while.
    const TASKS: usize = 16;
    const GCI_EACH: usize = 15;
    const ASSUME_EACH: usize = 5;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let scraper = {
        let url = format!("{}/metrics", s.url);
        let done = done.clone();
        tokio::spawn(async move {
            let series = requests("GetCallerIdentity", "success");
            let mut seen = Vec::new();
            while !done.load(std::sync::atomic::Ordering::Acquire) {
                seen.push(scrape_url(&url).await.n(&series));
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
            seen
        })
    };
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..TASKS {
        let sts = s.root_sts();
        let as_loader = aws_sdk_sts::Client::new(&loader);
        let role_arn = role_arn.clone();
        tasks.spawn(async move {
            for i in 0..GCI_EACH {
                sts.get_caller_identity().send().await.unwrap();
                if i < ASSUME_EACH {
                    as_loader
                        .assume_role()
                        .role_arn(&role_arn)
                        .role_session_name("load")
                        .send()
                        .await
                        .unwrap();
                }
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::Release);
    let seen = scraper.await.unwrap();
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "a counter went backwards: {seen:?}"
    );
    let gci = (TASKS * GCI_EACH) as f64;
    let assumed = (TASKS * ASSUME_EACH) as f64;
    assert!(
        seen.iter().any(|v| *v > 0.0 && *v < gci),
        "no scrape landed during the load: {seen:?}"
    );

    // Session credentials, a refusal of each kind, and errors.
    let session = aws_sdk_sts::Client::new(&loader)
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("session")
        .send()
        .await
        .unwrap();
    let c = session.credentials().unwrap();
    let as_role = aws_sdk_sts::Client::new(&s.sdk(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
    ));
    for _ in 0..5 {
        as_role.get_caller_identity().send().await.unwrap();
    }
    let m_iam = aws_sdk_iam::Client::new(&mallory);
    m_iam.list_users().send().await.unwrap();
    let e = m_iam
        .get_user()
        .user_name("mallory")
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::code(&e), "AccessDenied");
    let e = m_iam.list_roles().send().await.unwrap_err();
    assert_eq!(common::code(&e), "AccessDenied");
    let e = aws_sdk_sts::Client::new(&mallory)
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    let e = s
        .root_sts()
        .get_session_token()
        .duration_seconds(10)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationError");
    let bad = aws_sdk_sts::Client::new(&s.sdk(ROOT_ID, "not-the-secret", None));
    let e = bad.get_caller_identity().send().await.unwrap_err();
    assert_eq!(code(&e), "SignatureDoesNotMatch");
    s.root_sts().get_session_token().send().await.unwrap();

    // Records nobody waits for linger up to 10 ms; copies happen within 100 ms.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let m = s.scrape().await;
    assert_eq!(m.types["tessera_request_duration_seconds"], "histogram");
    let gci_ok = gci + 5.0;
    assert_eq!(
        m.get(&requests("GetCallerIdentity", "success")),
        Some(gci_ok)
    );
    assert_eq!(
        m.get(&requests("GetCallerIdentity", "client_error")),
        Some(1.0)
    );
    assert_eq!(
        m.get(&requests("AssumeRole", "success")),
        Some(assumed + 1.0)
    );
    assert_eq!(m.get(&requests("AssumeRole", "client_error")), Some(1.0));
    assert_eq!(
        m.get(&requests("GetSessionToken", "client_error")),
        Some(1.0)
    );
    assert_eq!(m.get(&requests("GetUser", "client_error")), Some(1.0));
    assert_eq!(m.get(&requests("ListUsers", "success")), Some(1.0));
    assert_eq!(m.get(&requests("CreateRole", "success")), Some(1.0));
    assert_eq!(m.get(&requests("ListRoles", "server_error")), None);
    assert_eq!(
        m.get("tessera_request_duration_seconds_count{action=\"GetCallerIdentity\"}"),
        Some(gci_ok + 1.0)
    );
    assert_eq!(
        m.get("tessera_request_duration_seconds_bucket{action=\"AssumeRole\",le=\"+Inf\"}"),
        Some(assumed + 2.0)
    );
    assert!(m.n("tessera_request_duration_seconds_sum{action=\"AssumeRole\"}") > 0.0);
    assert_eq!(
        m.get("tessera_request_errors_total{code=\"AccessDenied\"}"),
        Some(3.0)
    );
    assert_eq!(
        m.get("tessera_request_errors_total{code=\"ValidationError\"}"),
        Some(1.0)
    );
    assert_eq!(
        m.get("tessera_request_errors_total{code=\"SignatureDoesNotMatch\"}"),
        Some(1.0)
    );
    assert_eq!(m.get(&issued("assume_role")), Some(assumed + 1.0));
    assert_eq!(m.get(&issued("session_token")), Some(1.0));
    assert_eq!(m.get(&issued("access_key")), Some(2.0));
    assert_eq!(m.get(&issued("web_identity")), Some(0.0));
    // Root's own IAM calls need no policy; mallory's three and every AssumeRole do.
    assert_eq!(m.get(&decisions("trust", "allow")), Some(assumed + 1.0));
    assert_eq!(m.get(&decisions("trust", "implicit_deny")), Some(1.0));
    assert_eq!(m.get(&decisions("identity", "allow")), Some(1.0));
    assert_eq!(m.get(&decisions("identity", "explicit_deny")), Some(1.0));
    assert_eq!(m.get(&decisions("identity", "implicit_deny")), Some(1.0));

    // Audit: records that guard credentials or IAM changes went through the journal in
    // batches; the rest through the writer; the journal's frames were copied.
    let journal = m.n("tessera_audit_batch_records_sum{stage=\"journal\"}");
    let journal_batches = m.n("tessera_audit_batch_records_count{stage=\"journal\"}");
    // The AssumeRoles, one GetSessionToken, seven IAM writes (a role; two users, each with a
    // policy and a key).
    assert_eq!(journal, assumed + 1.0 + 1.0 + 7.0);
    assert!(journal_batches >= 1.0 && journal_batches <= journal);
    assert_eq!(
        m.get("tessera_audit_commit_seconds_count{stage=\"journal\"}"),
        Some(journal_batches)
    );
    // Every GetCallerIdentity, and each audited refusal, nobody waits for.
    let writer = m.n("tessera_audit_batch_records_sum{stage=\"writer\"}");
    assert_eq!(writer, gci_ok + 1.0 + 1.0 + 1.0, "{m:#?}");
    assert!(m.n("tessera_audit_commit_seconds_count{stage=\"writer\"}") >= 1.0);
    assert_eq!(
        m.get("tessera_audit_batch_records_sum{stage=\"copy\"}"),
        Some(journal)
    );

    // Caches: root's signing key is derived once a day per region and service; the role
    // session's token is opened once.
    assert!(m.n(&cache("sigv4_signing_keys", "hit")) >= gci);
    assert!(m.n(&cache("sigv4_signing_keys", "miss")) >= 1.0);
    assert_eq!(m.get(&cache("session_tokens", "hit")), Some(4.0));
    assert_eq!(m.get(&cache("session_tokens", "miss")), Some(1.0));
    assert_eq!(
        m.get("tessera_cache_entries{cache=\"session_tokens\"}"),
        Some(1.0)
    );
    assert_eq!(m.get(&cache("oidc_keys", "hit")), Some(0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_identity_logins_fill_the_key_caches() {
    let s = serve(&[], &[]);
    let idp = TestIdp::start("").await;
    let iam = s.root_iam();
    let provider = iam
        .create_open_id_connect_provider()
        .url(&idp.issuer)
        .client_id_list("sts.amazonaws.com")
        .send()
        .await
        .unwrap()
        .open_id_connect_provider_arn()
        .unwrap()
        .to_owned();
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity"}]});
    let role_arn = iam
        .create_role()
        .role_name("ci")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_owned();
    let now = chrono::Utc::now().timestamp();
    let login = |token: String| {
        let sts = s.anonymous_sts();
        let role_arn = role_arn.clone();
        async move {
            sts.assume_role_with_web_identity()
                .role_arn(role_arn)
                .role_session_name("ci")
                .web_identity_token(token)
                .send()
                .await
        }
    };
    // One token five times (verified once, then remembered), two other tokens once each.
    let repeated = idp.rs256(&idp.claims(now, "repo:a", "sts.amazonaws.com"));
    for _ in 0..5 {
        login(repeated.clone()).await.unwrap();
    }
    for sub in ["repo:b", "repo:c"] {
        login(idp.rs256(&idp.claims(now, sub, "sts.amazonaws.com")))
            .await
            .unwrap();
    }
    // A token for an audience nobody registered: refused before any key is looked up.
    let e = login(idp.rs256(&idp.claims(now, "repo:d", "elsewhere")))
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidIdentityToken");

    let m = s.scrape().await;
    assert_eq!(m.get(&cache("oidc_verified_tokens", "hit")), Some(4.0));
    assert_eq!(m.get(&cache("oidc_verified_tokens", "miss")), Some(4.0));
    assert_eq!(
        m.get("tessera_cache_entries{cache=\"oidc_verified_tokens\"}"),
        Some(3.0)
    );
    // Three tokens needed a key: the first fetched, the next two found it cached.
    assert_eq!(m.get(&cache("oidc_keys", "miss")), Some(1.0));
    assert_eq!(m.get(&cache("oidc_keys", "hit")), Some(2.0));
    assert_eq!(
        m.get("tessera_cache_entries{cache=\"oidc_keys\"}"),
        Some(1.0)
    );
    assert_eq!(
        m.get("tessera_oidc_key_fetches_total{result=\"ok\"}"),
        Some(1.0)
    );
    assert_eq!(
        m.get("tessera_oidc_key_fetches_total{result=\"error\"}"),
        Some(0.0)
    );
    assert_eq!(idp.fetches(), 1, "the JWKS fetched once");
    assert_eq!(m.get(&issued("web_identity")), Some(7.0));
    assert_eq!(m.get(&decisions("trust", "allow")), Some(7.0));
    assert_eq!(
        m.get(&requests("AssumeRoleWithWebIdentity", "client_error")),
        Some(1.0)
    );
    assert_eq!(
        m.get("tessera_request_errors_total{code=\"InvalidIdentityToken\"}"),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_separate_metrics_listener() {
    let s = serve(&[], &[("TESSERA_METRICS_LISTEN", "127.0.0.1:0")]);
    let metrics_url = s
        .metrics_url
        .clone()
        .expect("the metrics address is printed");
    assert!(metrics_url.ends_with("/metrics"), "{metrics_url}");
    assert_ne!(
        metrics_url.trim_end_matches("/metrics"),
        s.url,
        "a listener of its own"
    );
    s.root_sts().get_caller_identity().send().await.unwrap();
    let m = s.scrape().await;
    assert_eq!(m.get(&requests("GetCallerIdentity", "success")), Some(1.0));
    // Not on the API listener any more: there it is just an unknown path.
    let resp = reqwest::get(format!("{}/metrics", s.url)).await.unwrap();
    assert_eq!(resp.status(), 404);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("<Code>InvalidAction</Code>")
    );
    // And the metrics listener serves nothing else.
    let base = metrics_url.trim_end_matches("/metrics");
    let resp = reqwest::get(format!("{base}/")).await.unwrap();
    assert_eq!(resp.status(), 404);
    let resp = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(resp.status(), 200);
    // An action nobody answers (hand-built: SDKs never send one) is counted without its name:
    // no label value comes from a request.
    let resp = reqwest::get(format!("{}/?Action=Evil%22Name&Version=2011-06-15", s.url))
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let text = reqwest::get(&metrics_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains("Evil"), "{text}");
    // With the unknown path above, two requests without an action.
    let m = parse(&text);
    assert_eq!(m.get(&requests("unknown", "client_error")), Some(2.0));
    assert_eq!(
        m.get("tessera_request_errors_total{code=\"InvalidAction\"}"),
        Some(2.0)
    );
}

#[test]
fn a_metrics_port_in_use_is_named_and_the_data_dir_is_left_alone() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = tessera()
        .args(["serve", "--listen", "127.0.0.1:0", "--metrics-listen"])
        .arg(addr.to_string())
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{addr} (metrics_listen): address already in use")),
        "{stderr}"
    );
    assert!(!data.exists());
    let out = tessera()
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "xml"])
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--log-format") && stderr.contains("`text` or `json`"),
        "{stderr}"
    );
}

/// The request ids the SDK saw, from its outputs and errors.
fn request_id(r: &impl aws_sdk_sts::operation::RequestId) -> String {
    r.request_id().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_one_line_per_request() {
    let s = serve(&[], &[("TESSERA_LOG_FORMAT", "json")]);
    let ok = s.root_sts().get_caller_identity().send().await.unwrap();
    let bad = aws_sdk_sts::Client::new(&s.sdk(ROOT_ID, "not-the-secret", None));
    let refused = bad.get_caller_identity().send().await.unwrap_err();
    let invalid = s
        .root_sts()
        .get_session_token()
        .duration_seconds(10)
        .send()
        .await
        .unwrap_err();
    let ids = [request_id(&ok), request_id(&refused), request_id(&invalid)];
    let lines = s.stderr_until(Duration::from_secs(20), |seen| {
        ids.iter().all(|id| {
            seen.iter()
                .any(|l| l.contains(id.as_str()) && l.contains("\"request\""))
        })
    });
    // Every line on stderr is one JSON object.
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let line_for = |id: &str| -> &Value {
        let found: Vec<&Value> = parsed
            .iter()
            .filter(|v| v["target"] == "request" && v["request_id"] == id)
            .collect();
        assert_eq!(found.len(), 1, "one line per request {id}: {lines:#?}");
        found[0]
    };
    let l = line_for(&ids[0]);
    assert_eq!(l["level"], "INFO");
    assert_eq!(l["message"], "request answered");
    assert_eq!(l["action"], "GetCallerIdentity");
    assert_eq!(l["caller"], format!("arn:aws:iam::{ACCOUNT}:root"));
    assert_eq!(l["outcome"], "success");
    assert_eq!(l["status"], 200);
    assert_eq!(l["source_ip"], "127.0.0.1");
    assert!(l["latency_ms"].as_f64().unwrap() > 0.0, "{l}");
    assert!(l["timestamp"].is_string(), "{l}");
    assert!(l.get("code").is_none(), "{l}");

    let l = line_for(&ids[1]);
    assert_eq!(l["message"], "request refused");
    assert_eq!(l["action"], "GetCallerIdentity");
    assert_eq!(l["caller"], "", "an unauthenticated caller has no ARN");
    assert_eq!(l["outcome"], "client_error");
    assert_eq!(l["status"], 403);
    assert_eq!(l["code"], "SignatureDoesNotMatch");
    assert!(l["reason"].is_string(), "{l}");

    let l = line_for(&ids[2]);
    assert_eq!(l["action"], "GetSessionToken");
    assert_eq!(l["caller"], format!("arn:aws:iam::{ACCOUNT}:root"));
    assert_eq!(l["code"], "ValidationError");
    assert_eq!(l["status"], 400);
    // Startup lines are JSON too.
    assert!(
        parsed.iter().any(|v| v["message"] == "tessera serving"),
        "{lines:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_show_refusals_with_the_same_fields_and_successes_only_at_debug() {
    let s = serve(&[], &[]);
    let ok = s.root_sts().get_caller_identity().send().await.unwrap();
    let bad = aws_sdk_sts::Client::new(&s.sdk(ROOT_ID, "not-the-secret", None));
    let refused = bad.get_caller_identity().send().await.unwrap_err();
    let (ok, refused) = (request_id(&ok), request_id(&refused));
    let lines = s.stderr_until(Duration::from_secs(20), |seen| {
        seen.iter()
            .any(|l| l.contains(&refused) && l.contains("request refused"))
    });
    let line = lines
        .iter()
        .find(|l| l.contains(&refused) && l.contains("request refused"))
        .unwrap_or_else(|| panic!("{lines:#?}"));
    for field in [
        "action=\"GetCallerIdentity\"",
        "outcome=\"client_error\"",
        "status=403",
        "code=\"SignatureDoesNotMatch\"",
        "latency_ms=",
        "source_ip=127.0.0.1",
    ] {
        assert!(line.contains(field), "{field} in {line}");
    }
    assert!(line.contains(" INFO "), "{line}");
    // A success has its audit record (target `audit`), and no request line at this level.
    assert!(
        !lines
            .iter()
            .any(|l| l.contains(&ok) && l.contains("request answered")),
        "{lines:#?}"
    );
    assert!(serde_json::from_str::<Value>(line).is_err());
}

/// The server's stderr with `TESSERA_LOG=request=debug` in text format: every request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_show_every_request_at_debug() {
    let s = serve(&[], &[("TESSERA_LOG", "info,request=debug")]);
    let ok = request_id(&s.root_sts().get_caller_identity().send().await.unwrap());
    let answered = |l: &String| l.contains(&ok) && l.contains("request answered");
    let lines = s.stderr_until(Duration::from_secs(20), |seen| seen.iter().any(answered));
    let line = lines
        .iter()
        .find(|l| answered(l))
        .unwrap_or_else(|| panic!("{lines:#?}"));
    assert!(
        line.contains("DEBUG") && line.contains("status=200"),
        "{line}"
    );
}

/// The actions that hand out federation and SAML credentials, and the STS and IAM actions
/// whose own policies decide, are counted (requests, latency, kind, decision, error code) and
/// each has its one JSON line with the caller's ARN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn federation_saml_and_the_info_actions_are_counted_and_logged() {
    use common::saml_idp::{SamlIdp, Spec};
    let s = serve(&[], &[("TESSERA_LOG_FORMAT", "json")]);
    let iam = s.root_iam();

    // A user whose policies allow the three STS actions that ask the caller's own policies.
    iam.create_user().user_name("fed").send().await.unwrap();
    let allow = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
        "sts:GetFederationToken", "sts:GetAccessKeyInfo", "sts:DecodeAuthorizationMessage"],
        "Resource": "*"}]});
    iam.put_user_policy()
        .user_name("fed")
        .policy_name("p")
        .policy_document(allow.to_string())
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name("fed")
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    let user_arn = format!("arn:aws:iam::{ACCOUNT}:user/fed");
    let fed_conf = s.sdk(key.access_key_id(), key.secret_access_key(), None);
    let fed_sts = aws_sdk_sts::Client::new(&fed_conf);

    // An IdP and a role that trusts it; and one of main's newer IAM actions.
    let idp = SamlIdp::okta();
    let provider = iam
        .create_saml_provider()
        .name("okta")
        .saml_metadata_document(idp.metadata())
        .send()
        .await
        .unwrap()
        .saml_provider_arn()
        .unwrap()
        .to_owned();
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithSAML"}]});
    let role = iam
        .create_role()
        .role_name("sso")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_owned();
    iam.create_instance_profile()
        .instance_profile_name("web")
        .send()
        .await
        .unwrap();
    let before = s.scrape().await;

    let fed = fed_sts
        .get_federation_token()
        .name("bob")
        .policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let info = fed_sts
        .get_access_key_info()
        .access_key_id(key.access_key_id())
        .send()
        .await
        .unwrap();
    assert_eq!(info.account(), Some(ACCOUNT));
    // The user may not list users: an implicit deny with a sealed message, which it decodes.
    let denied = aws_sdk_iam::Client::new(&fed_conf)
        .list_users()
        .send()
        .await
        .unwrap_err();
    let sealed = denied
        .as_service_error()
        .and_then(aws_sdk_iam::error::ProvideErrorMetadata::message)
        .and_then(|m| common::split_encoded(m).1)
        .expect("a sealed authorization message")
        .to_owned();
    let decoded = fed_sts
        .decode_authorization_message()
        .encoded_message(sealed)
        .send()
        .await
        .unwrap();
    assert!(decoded.decoded_message().unwrap().contains("iam:ListUsers"));
    let sso = s
        .anonymous_sts()
        .assume_role_with_saml()
        .role_arn(&role)
        .principal_arn(&provider)
        .saml_assertion(idp.response(&Spec::aws(chrono::Utc::now(), &role, &provider, "alice")))
        .send()
        .await
        .unwrap();
    assert!(sso.credentials().is_some());

    let m = s.scrape().await;
    let delta = |series: &str| m.n(series) - before.n(series);
    for action in [
        "GetFederationToken",
        "GetAccessKeyInfo",
        "DecodeAuthorizationMessage",
        "AssumeRoleWithSAML",
    ] {
        assert_eq!(delta(&requests(action, "success")), 1.0, "{action}");
        assert_eq!(
            delta(&format!(
                "tessera_request_duration_seconds_count{{action=\"{action}\"}}"
            )),
            1.0,
            "{action}"
        );
    }
    assert_eq!(m.get(&requests("CreateSAMLProvider", "success")), Some(1.0));
    assert_eq!(
        m.get(&requests("CreateInstanceProfile", "success")),
        Some(1.0)
    );
    assert_eq!(delta(&requests("ListUsers", "client_error")), 1.0);
    assert_eq!(
        delta("tessera_request_errors_total{code=\"AccessDenied\"}"),
        1.0
    );
    assert_eq!(delta(&issued("federation")), 1.0);
    assert_eq!(delta(&issued("saml")), 1.0);
    // GetFederationToken, GetAccessKeyInfo, DecodeAuthorizationMessage allowed; ListUsers not.
    assert_eq!(delta(&decisions("identity", "allow")), 3.0);
    assert_eq!(delta(&decisions("identity", "implicit_deny")), 1.0);
    assert_eq!(delta(&decisions("trust", "allow")), 1.0);

    let ids = [
        request_id(&fed),
        request_id(&info),
        request_id(&denied),
        request_id(&decoded),
        request_id(&sso),
    ];
    let lines = s.stderr_until(Duration::from_secs(20), |seen| {
        ids.iter().all(|id| {
            seen.iter()
                .any(|l| l.contains(id.as_str()) && l.contains("\"request\""))
        })
    });
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let line_for = |id: &str| -> &Value {
        let found: Vec<&Value> = parsed
            .iter()
            .filter(|v| v["target"] == "request" && v["request_id"] == id)
            .collect();
        assert_eq!(found.len(), 1, "one line per request {id}: {lines:#?}");
        found[0]
    };
    for (id, action, caller, outcome) in [
        (&ids[0], "GetFederationToken", user_arn.as_str(), "success"),
        (&ids[1], "GetAccessKeyInfo", user_arn.as_str(), "success"),
        (&ids[2], "ListUsers", user_arn.as_str(), "client_error"),
        (
            &ids[3],
            "DecodeAuthorizationMessage",
            user_arn.as_str(),
            "success",
        ),
        // Unsigned: the caller is whoever the response names, not a signer.
        (&ids[4], "AssumeRoleWithSAML", "", "success"),
    ] {
        let l = line_for(id);
        assert_eq!(l["action"], action, "{l}");
        assert_eq!(l["caller"], caller, "{l}");
        assert_eq!(l["outcome"], outcome, "{l}");
    }
    let l = line_for(&ids[2]);
    assert_eq!(l["code"], "AccessDenied");
    assert_eq!(l["status"], 403);
}
