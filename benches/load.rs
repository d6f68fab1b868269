//! Load bench against the running release server, reported as a ratio to a bare axum endpoint
//! measured in the same run on the same machine, in slices alternating with each target's.
//!
//! `cargo bench --bench load` builds the release `tessera`, starts it (and, in a second process,
//! a bare axum "200 OK" server with the same runtime settings), and drives each over keep-alive
//! HTTP/1.1 with the same raw-socket client: pre-signed requests are replayed (SigV4 allows
//! replays within the 15-minute window), so the client does no crypto. It prints requests/s,
//! p50/p99 latency and the ratio for:
//!   * GetCallerIdentity signed with session credentials (target: >= 50% of bare), and
//!   * AssumeRole signed with long-term user credentials against a trust policy with two
//!     conditions (target: >= 35% of bare); every call mints a session and commits its audit
//!     record (group commit) before answering;
//!   * the same GetCallerIdentity (target: >= 50% of bare: it never touches the database) and
//!     AssumeRole (target: >= 15% of bare) on a node whose store is PostgreSQL, a throwaway
//!     cluster on this machine (`.ci/pg.sh`);
//!   * AssumeRoleWithWebIdentity (unsigned) with an RS256 token from a loopback OIDC issuer, once
//!     with every token verified (target: >= 20% of bare) and once replaying one token, which the
//!     verified-token cache answers (target: >= 45% of bare); both mint and audit a session;
//!   * AssumeRoleWithSAML (unsigned) with RSA-2048 assertion-signed responses shaped as Okta
//!     sends them (target: >= 2,000 requests/s): each request carries a response of its own (the
//!     replay cache accepts an assertion once), pre-generated and signed before the run, taken
//!     from one shared pool by every connection; each is verified, remembered, minted, audited.
//!
//! Each target runs in [`SLICES`] slices (a short warm-up, then measured) alternating with as
//! many slices of the bare endpoint, bare first in one pair and the target first in the next:
//! this machine's speed drifts over seconds to minutes, and interleaving puts a drift on both
//! alike. The ratio is the target's measured requests over the bare endpoint's, in equal time.
//!
//! Each target also reports the CPU time (user + system, from /proc) the server process and
//! this client spent per request while measuring. Both processes use mimalloc, like the
//! `tessera` binary, so the bare endpoint differs from the server only in per-request work.
//! It also shows how busy the whole machine was and how much time went to I/O wait and to
//! steal (the hypervisor running someone else): runs with high steal are the host's slow
//! spells, and their ratios say little about the code.
//!
//! `cargo bench --bench load -- assume` runs only the targets whose name contains the word (or
//! any of several words);
//! `TESSERA_BENCH_CONNS=N` changes the connection count (default 32);
//! `TESSERA_BENCH_SAML_RESPONSES=N` the number of SAML responses signed for the run (default
//! 50,000: more than the server answers in 10 s here);
//! `TESSERA_BENCH_SERVER_PREFIX="perf record -g --"` runs the server under a profiler.
//!
//! Run without `--bench` (as `cargo test --benches` does) it makes a short smoke run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

#[path = "../tests/common/saml_idp.rs"]
mod saml_idp;
#[path = "../tests/common/signer.rs"]
mod signer;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The same allocator as the `tessera` binary, so the bare endpoint (this binary re-executed)
/// differs from the server only in what it does per request.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROOT_ID: &str = "AKIABENCHROOTKEYAAAA";
const ROOT_SECRET: &str = "benchRootSecretKey0123456789abcdefghijkl";
const BARE_ENV: &str = "TESSERA_BENCH_BARE_LISTEN";

fn main() {
    // Re-executed as the bare endpoint's process.
    if let Ok(addr) = std::env::var(BARE_ENV) {
        bare_server(&addr);
        return;
    }
    let full = std::env::args().any(|a| a == "--bench");
    // `cargo bench --bench load -- assume` runs only the targets whose name contains "assume"
    // (case-insensitive; several words: a target named by any of them); the bare endpoint
    // always runs.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(|a| a.to_ascii_lowercase())
        .collect();
    let (warmup, measure, conns) = if full {
        // 32 connections unless TESSERA_BENCH_CONNS says otherwise (for exploring; the README
        // and the targets use 32).
        let conns = std::env::var("TESSERA_BENCH_CONNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(32);
        (Duration::from_millis(500), Duration::from_secs(2), conns)
    } else {
        (Duration::from_millis(100), Duration::from_millis(200), 4)
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(warmup, measure, conns, full, filter));
}

/// The reference: axum with the same runtime, one route answering a small XML-sized body.
fn bare_server(addr: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let app = axum::Router::new().route(
            "/",
            axum::routing::post(|_body: axum::body::Bytes| async { "ok" }).get(|| async { "ok" }),
        );
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        axum::serve(listener, app).await.unwrap();
    });
}

/// The bench's OIDC issuer key (the test fixture).
const IDP_KEY: &[u8] = include_bytes!("../tests/fixtures/oidc-idp-rsa2048.der");

/// A loopback OIDC issuer in this process: discovery and a one-key JWKS. Returns its URL.
async fn oidc_issuer() -> String {
    let key = ring::signature::RsaKeyPair::from_der(IDP_KEY).unwrap();
    let c: ring::signature::RsaPublicKeyComponents<Vec<u8>> = key.public().into();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let discovery = serde_json::json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/jwks"),
        "authorization_endpoint": format!("{issuer}/auth"),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    })
    .to_string();
    let jwks =
        serde_json::json!({"keys": [{"kty": "RSA", "use": "sig", "kid": "bench", "alg": "RS256",
        "n": URL_SAFE_NO_PAD.encode(&c.n), "e": URL_SAFE_NO_PAD.encode(&c.e)}]})
        .to_string();
    let json = |body: String| {
        move || {
            let body = body.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    body,
                )
            }
        }
    };
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(json(discovery)),
        )
        .route("/jwks", axum::routing::get(json(jwks)));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    issuer
}

/// An RS256 token of `issuer` for subject `sub`, valid for an hour.
fn oidc_token(issuer: &str, sub: &str) -> String {
    let key = ring::signature::RsaKeyPair::from_der(IDP_KEY).unwrap();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let b64 = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let input = format!(
        "{}.{}",
        b64(serde_json::json!({"alg": "RS256", "kid": "bench", "typ": "JWT"})),
        b64(
            serde_json::json!({"iss": issuer, "sub": sub, "aud": "sts.amazonaws.com",
            "repository": "octo-org/octo-repo", "ref": "refs/heads/main",
            "iat": now, "nbf": now, "exp": now + 3600})
        )
    );
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// Register `issuer` and create the role `bench-ci` trusting it, on the server at `endpoint`.
async fn wi_register(
    client: &reqwest::Client,
    iam: &signer::Signer<'_>,
    endpoint: &str,
    issuer: &str,
    trust: &str,
) {
    let enc = |s: &str| -> String { form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    for form in [
        format!(
            "Action=CreateOpenIDConnectProvider&Version=2010-05-08&Url={}&ClientIDList.member.1=sts.amazonaws.com",
            enc(issuer)
        ),
        format!(
            "Action=CreateRole&Version=2010-05-08&RoleName=bench-ci&AssumeRolePolicyDocument={}",
            enc(trust)
        ),
    ] {
        let (status, _, body) = signer::send(client, iam.post_form(endpoint, &form)).await;
        assert_eq!(status, 200, "{body}");
    }
}

/// The unsigned `AssumeRoleWithWebIdentity` request for `token`, as HTTP/1.1 bytes.
fn web_identity_request(port: u16, token: &str) -> Vec<u8> {
    let body = format!(
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2Fbench-ci&RoleSessionName=bench&WebIdentityToken={token}"
    );
    format!(
        "POST / HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Register the Okta-like IdP as SAML provider `bench-okta` and create the role `bench-saml`
/// trusting it for responses addressed to AWS's sign-in endpoint.
async fn saml_register(client: &reqwest::Client, iam: &signer::Signer<'_>, endpoint: &str) {
    let enc = |s: &str| -> String { form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": SAML_PROVIDER},
        "Action": "sts:AssumeRoleWithSAML",
        "Condition": {"StringEquals": {"saml:aud": saml_idp::AWS_ACS}}}]})
    .to_string();
    for form in [
        format!(
            "Action=CreateSAMLProvider&Version=2010-05-08&Name=bench-okta&SAMLMetadataDocument={}",
            enc(&saml_idp::SamlIdp::okta().metadata())
        ),
        format!(
            "Action=CreateRole&Version=2010-05-08&RoleName=bench-saml&AssumeRolePolicyDocument={}",
            enc(&trust)
        ),
    ] {
        let (status, _, body) = signer::send(client, iam.post_form(endpoint, &form)).await;
        assert_eq!(status, 200, "{body}");
    }
}

const SAML_PROVIDER: &str = "arn:aws:iam::000000000000:saml-provider/bench-okta";
const SAML_ROLE: &str = "arn:aws:iam::000000000000:role/bench-saml";

/// `n` unsigned `AssumeRoleWithSAML` requests, each with a fresh RSA-2048 assertion-signed
/// response (its own IDs), signed on every core.
fn saml_requests(port: u16, n: usize) -> Vec<Vec<u8>> {
    let threads = std::thread::available_parallelism().map_or(2, |t| t.get());
    let per = n.div_ceil(threads);
    let enc = |s: &str| -> String { form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || {
                    let idp = saml_idp::SamlIdp::okta();
                    (0..per)
                        .map(|i| {
                            let mut spec = saml_idp::Spec::aws(
                                chrono::Utc::now(),
                                SAML_ROLE,
                                SAML_PROVIDER,
                                &format!("bench-{i}"),
                            );
                            spec.raw_attr(
                                "https://aws.amazon.com/SAML/Attributes/SessionDuration",
                                &["3600"],
                            );
                            let body = format!(
                                "Action=AssumeRoleWithSAML&Version=2011-06-15&RoleArn={}&PrincipalArn={}&SAMLAssertion={}",
                                enc(SAML_ROLE),
                                enc(SAML_PROVIDER),
                                enc(&idp.response(&spec))
                            );
                            format!(
                                "POST / HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n{body}",
                                body.len()
                            )
                            .into_bytes()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .take(n)
            .collect()
    })
}

/// Start `tessera serve` on a free port over `dir`, with `config` (TOML) as its config file.
fn start_tessera(dir: &std::path::Path, config: &str) -> (Proc, u16) {
    start_tessera_with(dir, config, &[])
}

/// As `start_tessera`, with extra environment.
fn start_tessera_with(dir: &std::path::Path, config: &str, env: &[(&str, &str)]) -> (Proc, u16) {
    let port = free_port();
    let config_path = dir.join("bench.toml");
    std::fs::write(&config_path, config).unwrap();
    let proc = Proc(
        server_command()
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--config",
            ])
            .arg(&config_path)
            .arg("--data-dir")
            .arg(dir)
            .env("TESSERA_ROOT_ACCESS_KEY_ID", ROOT_ID)
            .env("TESSERA_ROOT_SECRET_ACCESS_KEY", ROOT_SECRET)
            .env("TESSERA_OIDC_ALLOW_HTTP", "1")
            .env("TESSERA_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    (proc, port)
}

/// A tessera node on a throwaway PostgreSQL cluster of this machine, and its targets' requests.
struct PgNode {
    node: Proc,
    port: u16,
    gci: Vec<u8>,
    assume: Vec<u8>,
    /// Stops the cluster once this process is gone (its stdin closes); never killed.
    _cluster: Child,
    _dir: tempfile::TempDir,
}

async fn pg_node(client: &reqwest::Client) -> PgNode {
    let pg_sh = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/pg.sh");
    let cluster_dir = tempfile::tempdir().unwrap();
    // Outside the temp dir: the watcher removes it once the cluster is stopped.
    let cluster = std::env::temp_dir().join(format!("tessera-bench-pg-{}", std::process::id()));
    let out = Command::new("bash")
        .args([pg_sh, "start"])
        .arg(&cluster)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let watch = Command::new("bash")
        .args([pg_sh, "watch"])
        .arg(&cluster)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let data = cluster_dir.path().join("node");
    std::fs::create_dir_all(&data).unwrap();
    let (node, port) = start_tessera_with(
        &data,
        "",
        &[
            ("TESSERA_DATABASE_URL", url.as_str()),
            (
                "TESSERA_MASTER_KEY",
                "YmVuY2gtbWFzdGVyLWtleS0zMi1ieXRlcy1sb25nISE=",
            ),
        ],
    );
    wait_port(port).await;
    let (gci, assume) = sts_targets(client, port).await;
    PgNode {
        node,
        port,
        gci,
        assume,
        _cluster: watch,
        _dir: cluster_dir,
    }
}

/// On the server at `port`: session credentials (GetSessionToken as root), a user with a key and
/// a role trusting it with two conditions; the pre-signed GetCallerIdentity and AssumeRole
/// requests the targets replay.
async fn sts_targets(client: &reqwest::Client, port: u16) -> (Vec<u8>, Vec<u8>) {
    let endpoint = format!("http://127.0.0.1:{port}");
    // Session credentials from GetSessionToken (root, 1 h).
    let root = signer::Signer {
        access_key_id: ROOT_ID,
        secret: ROOT_SECRET,
        token: None,
        region: "us-east-1",
        service: "sts",
        time: SystemTime::now(),
    };
    let (status, _, body) = signer::send(
        client,
        root.post_form(
            &endpoint,
            "Action=GetSessionToken&Version=2011-06-15&DurationSeconds=3600",
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let field = |name: &str| -> String {
        let start = body.find(&format!("<{name}>")).unwrap() + name.len() + 2;
        let end = body[start..].find('<').unwrap() + start;
        body[start..end].to_owned()
    };
    let (akid, secret, token) = (
        field("AccessKeyId"),
        field("SecretAccessKey"),
        field("SessionToken"),
    );
    let session = signer::Signer {
        access_key_id: &akid,
        secret: &secret,
        token: Some(&token),
        region: "us-east-1",
        service: "sts",
        time: SystemTime::now(),
    };
    let gci = signer::to_http11_bytes(
        &session.post_form(&endpoint, "Action=GetCallerIdentity&Version=2011-06-15"),
    );

    // A user with a long-term key and a role trusting it with two conditions.
    let iam = signer::Signer {
        service: "iam",
        ..root
    };
    let (status, _, body) = signer::send(
        client,
        iam.post_form(
            &endpoint,
            "Action=CreateUser&Version=2010-05-08&UserName=bench",
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = signer::send(
        client,
        iam.post_form(
            &endpoint,
            "Action=CreateAccessKey&Version=2010-05-08&UserName=bench",
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let pick = |name: &str| -> String {
        let start = body.find(&format!("<{name}>")).unwrap() + name.len() + 2;
        let end = body[start..].find('<').unwrap() + start;
        body[start..end].to_owned()
    };
    let (user_akid, user_secret) = (pick("AccessKeyId"), pick("SecretAccessKey"));
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/bench"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"bench-external-id"},"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}}]}"#;
    let enc: String = form_urlencoded::byte_serialize(trust.as_bytes()).collect();
    let create_role = format!(
        "Action=CreateRole&Version=2010-05-08&RoleName=bench-role&AssumeRolePolicyDocument={enc}"
    );
    let (status, _, body) = signer::send(client, iam.post_form(&endpoint, &create_role)).await;
    assert_eq!(status, 200, "{body}");
    let user = signer::Signer {
        access_key_id: &user_akid,
        secret: &user_secret,
        token: None,
        region: "us-east-1",
        service: "sts",
        time: SystemTime::now(),
    };
    let assume = signer::to_http11_bytes(&user.post_form(
        &endpoint,
        "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2Fbench-role&RoleSessionName=bench&ExternalId=bench-external-id",
    ));

    (gci, assume)
}

/// The server command; `TESSERA_BENCH_SERVER_PREFIX` (e.g. `valgrind --tool=callgrind`) runs
/// it under a profiler.
fn server_command() -> Command {
    let bin = env!("CARGO_BIN_EXE_tessera");
    match std::env::var("TESSERA_BENCH_SERVER_PREFIX") {
        Ok(prefix) if !prefix.trim().is_empty() => {
            let mut words = prefix.split_whitespace();
            let mut c = Command::new(words.next().unwrap_or(bin));
            c.args(words).arg(bin);
            c
        }
        _ => Command::new(bin),
    }
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "server on {port} did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn run(warmup: Duration, measure: Duration, conns: usize, full: bool, filter: Vec<String>) {
    let wanted = |name: &str| {
        let name = name.to_ascii_lowercase();
        filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()))
    };
    let dir = tempfile::tempdir().unwrap();
    let (tessera, tport) = start_tessera(dir.path(), "");
    let bport = free_port();
    let bare_proc = Proc(
        Command::new(std::env::current_exe().unwrap())
            .env(BARE_ENV, format!("127.0.0.1:{bport}"))
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_port(tport).await;
    wait_port(bport).await;
    let endpoint = format!("http://127.0.0.1:{tport}");

    let client = reqwest::Client::new();
    let root = signer::Signer {
        access_key_id: ROOT_ID,
        secret: ROOT_SECRET,
        token: None,
        region: "us-east-1",
        service: "sts",
        time: SystemTime::now(),
    };
    let iam = signer::Signer {
        service: "iam",
        ..root
    };
    let (gci, assume) = sts_targets(&client, tport).await;
    // The same two targets on a node whose store is PostgreSQL, on this machine.
    let pg_names = [
        "GetCallerIdentity (session credentials, PostgreSQL)",
        "AssumeRole (user key, 2-condition trust, PostgreSQL)",
    ];
    let pg = if pg_names.iter().any(|n| wanted(n)) {
        Some(pg_node(&client).await)
    } else {
        None
    };
    let bare = format!("POST / HTTP/1.1\r\nhost: 127.0.0.1:{bport}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 0\r\n\r\n").into_bytes();

    // Web identity: a loopback issuer registered in the account and a role trusting its tokens
    // for one repository. A second server verifies every token (no verified-token cache); each
    // of its connections replays a token of its own.
    let issuer = oidc_issuer().await;
    let url = issuer.trim_start_matches("http://").to_owned();
    let wi_trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::000000000000:oidc-provider/{url}")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {format!("{url}:aud"): "sts.amazonaws.com"},
                      "StringLike": {format!("{url}:sub"): "repo:octo-org/octo-repo:*"}}}]})
    .to_string();
    wi_register(&client, &iam, &endpoint, &issuer, &wi_trust).await;
    let wi_dir = tempfile::tempdir().unwrap();
    let (uncached, uport) = start_tessera(wi_dir.path(), "oidc_token_cache_entries = 0\n");
    wait_port(uport).await;
    wi_register(
        &client,
        &iam,
        &format!("http://127.0.0.1:{uport}"),
        &issuer,
        &wi_trust,
    )
    .await;
    let repeated = web_identity_request(
        tport,
        &oidc_token(&issuer, "repo:octo-org/octo-repo:ref:refs/heads/main"),
    );
    let per_conn: Vec<Vec<u8>> = (0..conns)
        .map(|i| {
            web_identity_request(
                uport,
                &oidc_token(&issuer, &format!("repo:octo-org/octo-repo:run:{i}")),
            )
        })
        .collect();

    println!(
        "load bench: {conns} keep-alive connections; each target in {SLICES} slices of {warmup:?} warm-up and {measure:?} measured, alternating with as many of the bare endpoint{}",
        if full { "" } else { " (smoke run)" }
    );
    // The reference is the bare endpoint fed an empty POST (what the targets are stated
    // against); the same signed request bytes sent to the bare endpoint are shown too, to
    // separate our work from the cost of receiving a larger request.
    let bare_run = || drive(bport, bare_proc.0.id(), &bare, conns, warmup, measure);
    // Each target's result, and the bare endpoint's in the slices alternating with it.
    let mut rows: Vec<(&str, (Result, Result))> = Vec::new();
    let name = "bare endpoint, same bytes as GetCallerIdentity";
    if wanted(name) {
        let target = || drive(bport, bare_proc.0.id(), &gci, conns, warmup, measure);
        rows.push((name, paired(target, bare_run).await));
    }
    let name = "GetCallerIdentity (session credentials)";
    if wanted(name) {
        let target = || drive(tport, tessera.0.id(), &gci, conns, warmup, measure);
        rows.push((name, paired(target, bare_run).await));
    }
    let name = "AssumeRole (user key, 2-condition trust)";
    if wanted(name) {
        let target = || drive(tport, tessera.0.id(), &assume, conns, warmup, measure);
        rows.push((name, paired(target, bare_run).await));
    }
    if let Some(pg) = &pg {
        for (name, request) in pg_names.iter().zip([&pg.gci, &pg.assume]) {
            if wanted(name) {
                let target = || drive(pg.port, pg.node.0.id(), request, conns, warmup, measure);
                rows.push((name, paired(target, bare_run).await));
            }
        }
    }
    let name = "AssumeRoleWithWebIdentity (RS256, every token verified)";
    if wanted(name) {
        let target = || drive_each(uport, uncached.0.id(), &per_conn, warmup, measure);
        rows.push((name, paired(target, bare_run).await));
    }
    let name = "AssumeRoleWithWebIdentity (RS256, repeated token, verified-token cache)";
    if wanted(name) {
        let target = || drive(tport, tessera.0.id(), &repeated, conns, warmup, measure);
        rows.push((name, paired(target, bare_run).await));
    }
    let name = "AssumeRoleWithSAML (RSA-2048, a new response each)";
    if wanted(name) {
        saml_register(&client, &iam, &endpoint).await;
        let n = std::env::var("TESSERA_BENCH_SAML_RESPONSES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(if full { 50_000 } else { 400 });
        let t0 = Instant::now();
        // Signed just before they are sent: AWS's rule redeems a response within 5 minutes.
        let pool = saml_requests(tport, n);
        println!(
            "signed {n} SAML responses in {:.1} s ({} bytes each)",
            t0.elapsed().as_secs_f64(),
            pool.first().map_or(0, Vec::len)
        );
        let pool: Vec<Arc<[u8]>> = pool.into_iter().map(Arc::from).collect();
        // Resident memory and threads of the server.
        let rss = || {
            let status = std::fs::read_to_string(format!("/proc/{}/status", tessera.0.id()))
                .unwrap_or_default();
            let field = |name: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
                    .unwrap_or_default()
            };
            format!("{} in {} threads", field("VmRSS:"), field("Threads:"))
        };
        let before = rss();
        // One pool and one position in it for every slice: each response is sent once.
        let (pool, next) = (Arc::new(pool), Arc::new(AtomicUsize::new(0)));
        let target = || {
            drive_pool(
                tport,
                tessera.0.id(),
                pool.clone(),
                next.clone(),
                conns,
                warmup,
                measure,
            )
        };
        let r = paired(target, bare_run).await;
        println!(
            "server resident memory: {before} before the SAML run, {} after",
            rss()
        );
        rows.push((name, r));
    }
    let bare_rps: Vec<String> = rows
        .iter()
        .map(|(_, (_, b))| format!("{:.0}", b.rps()))
        .collect();
    println!(
        "bare axum endpoint, in the slices next to each target: {} req/s",
        bare_rps.join(", ")
    );
    if let Some((_, (_, fastest))) = rows
        .iter()
        .max_by(|a, b| (a.1).1.rps().total_cmp(&(b.1).1.rps()))
    {
        report(
            "bare axum endpoint, empty POST (fastest target's slices)",
            fastest,
            None,
        );
    }
    for (name, (r, bare)) in &rows {
        report(name, r, Some(bare));
    }
    for (name, (r, _)) in &rows {
        assert!(r.errors == 0, "{name}: {} answers were not 200", r.errors);
    }
}

/// Measured slices per target, and as many of the bare endpoint.
const SLICES: usize = 4;

/// `target` and `bare` in [`SLICES`] alternating pairs of runs, the bare endpoint first in even
/// pairs and the target first in odd ones; each side's runs summed.
async fn paired<T, B, FT, FB>(mut target: FT, mut bare: FB) -> (Result, Result)
where
    T: std::future::Future<Output = Result>,
    B: std::future::Future<Output = Result>,
    FT: FnMut() -> T,
    FB: FnMut() -> B,
{
    let (mut t, mut b) = (Result::default(), Result::default());
    for i in 0..SLICES {
        if i % 2 == 0 {
            b.add(bare().await);
            t.add(target().await);
        } else {
            t.add(target().await);
            b.add(bare().await);
        }
    }
    (t, b)
}

#[derive(Debug, Default)]
struct Result {
    count: u64,
    errors: u64,
    secs: f64,
    latencies_us: Vec<u32>,
    /// CPU seconds (user + system) the server process and this client used while measuring.
    server_cpu: f64,
    client_cpu: f64,
    /// Whole-machine time while measuring, from `/proc/stat`.
    machine: MachineTime,
}

/// Shares of the machine's CPU time (all cores) over an interval. `steal` is time the
/// hypervisor gave this VM's CPUs to someone else: a run with much of it is a slow spell of
/// the host, not of the code under test.
#[derive(Debug, Default, Clone, Copy)]
struct MachineTime {
    busy: f64,
    iowait: f64,
    steal: f64,
}

/// The aggregate `cpu` line of `/proc/stat`: user nice system idle iowait irq softirq steal.
fn machine_ticks() -> [u64; 8] {
    let mut t = [0u64; 8];
    if let Some(line) = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| s.lines().next().map(str::to_owned))
    {
        for (dst, v) in t.iter_mut().zip(line.split_whitespace().skip(1)) {
            *dst = v.parse().unwrap_or(0);
        }
    }
    t
}

fn machine_time(a: [u64; 8], b: [u64; 8]) -> MachineTime {
    let d: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(x, y)| y.saturating_sub(*x) as f64)
        .collect();
    let total: f64 = d.iter().sum();
    if total == 0.0 {
        return MachineTime::default();
    }
    let (idle, iowait, steal) = (d[3], d[4], d[7]);
    MachineTime {
        busy: 100.0 * (total - idle - iowait - steal) / total,
        iowait: 100.0 * iowait / total,
        steal: 100.0 * steal / total,
    }
}

/// User + system CPU seconds of a process so far, from `/proc/<pid>/stat` (0 where unreadable).
fn cpu_seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0 // USER_HZ
}

impl Result {
    fn rps(&self) -> f64 {
        self.count as f64 / self.secs
    }
    /// Another run of the same thing: counts, times and CPU summed, machine shares weighted
    /// by time.
    fn add(&mut self, r: Result) {
        let secs = self.secs + r.secs;
        if secs > 0.0 {
            let w = |a: f64, b: f64| (a * self.secs + b * r.secs) / secs;
            self.machine = MachineTime {
                busy: w(self.machine.busy, r.machine.busy),
                iowait: w(self.machine.iowait, r.machine.iowait),
                steal: w(self.machine.steal, r.machine.steal),
            };
        }
        self.secs = secs;
        self.count += r.count;
        self.errors += r.errors;
        self.server_cpu += r.server_cpu;
        self.client_cpu += r.client_cpu;
        self.latencies_us.extend(r.latencies_us);
    }
    fn pct(&mut self, p: f64) -> f64 {
        self.latencies_us.sort_unstable();
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us.get(i).copied().unwrap_or(0) as f64 / 1000.0
    }
}

fn report(name: &str, r: &Result, base: Option<&Result>) {
    let mut lat = Result {
        latencies_us: r.latencies_us.clone(),
        ..Default::default()
    };
    let (p50, p99) = (lat.pct(0.50), lat.pct(0.99));
    print!(
        "{name:<44} {:>9.0} req/s   p50 {p50:>6.2} ms   p99 {p99:>6.2} ms",
        r.rps()
    );
    if let Some(b) = base {
        print!("   ratio to bare: {:.1}%", 100.0 * r.rps() / b.rps());
    }
    println!();
    if r.count > 0 {
        println!(
            "{:<44} CPU per request: server {:.1} us, client {:.1} us; machine busy {:.0}%, iowait {:.0}%, steal {:.0}%",
            "",
            1e6 * r.server_cpu / r.count as f64,
            1e6 * r.client_cpu / r.count as f64,
            r.machine.busy,
            r.machine.iowait,
            r.machine.steal
        );
    }
}

/// `conns` connections sending the requests of `pool`, each once (the next one free), as fast
/// as answers come, for warmup + measure. Running out of requests before the end is reported.
async fn drive_pool(
    port: u16,
    server_pid: u32,
    pool: Arc<Vec<Arc<[u8]>>>,
    next: Arc<AtomicUsize>,
    conns: usize,
    warmup: Duration,
    measure: Duration,
) -> Result {
    let r = drive_with(port, server_pid, conns, warmup, measure, {
        let (pool, next) = (pool.clone(), next.clone());
        move |_| pool.get(next.fetch_add(1, Ordering::Relaxed)).cloned()
    })
    .await;
    if next.load(Ordering::Relaxed) >= pool.len() {
        println!(
            "the {} requests ran out before the end: raise TESSERA_BENCH_SAML_RESPONSES",
            pool.len()
        );
    }
    r
}

/// `conns` connections replaying `req` as fast as answers come, for warmup + measure.
async fn drive(
    port: u16,
    server_pid: u32,
    req: &[u8],
    conns: usize,
    warmup: Duration,
    measure: Duration,
) -> Result {
    let reqs = vec![req.to_vec(); conns];
    drive_each(port, server_pid, &reqs, warmup, measure).await
}

/// One connection per request in `reqs`, each replaying its own as fast as answers come.
async fn drive_each(
    port: u16,
    server_pid: u32,
    reqs: &[Vec<u8>],
    warmup: Duration,
    measure: Duration,
) -> Result {
    let reqs: Arc<Vec<Arc<[u8]>>> = Arc::new(reqs.iter().map(|r| Arc::from(&r[..])).collect());
    drive_with(port, server_pid, reqs.len(), warmup, measure, move |conn| {
        reqs.get(conn).cloned()
    })
    .await
}

/// `conns` connections; connection `i` sends `next(i)` until it answers `None` or time is up.
async fn drive_with(
    port: u16,
    server_pid: u32,
    conns: usize,
    warmup: Duration,
    measure: Duration,
    next: impl Fn(usize) -> Option<Arc<[u8]>> + Send + Sync + Clone + 'static,
) -> Result {
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + measure;
    let server_pid = server_pid.to_string();
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        let (s0, c0, m0) = (
            cpu_seconds(&server_pid),
            cpu_seconds("self"),
            machine_ticks(),
        );
        tokio::time::sleep_until(end.into()).await;
        (
            cpu_seconds(&server_pid) - s0,
            cpu_seconds("self") - c0,
            machine_time(m0, machine_ticks()),
        )
    });
    let mut tasks = Vec::new();
    for conn in 0..conns {
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut r = Result::default();
            let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (rd, mut wr) = stream.into_split();
            let mut rd = BufReader::new(rd);
            let mut line = String::new();
            let mut body = Vec::new();
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let Some(req) = next(conn) else {
                    break;
                };
                wr.write_all(&req).await.unwrap();
                // Status line, headers, then Content-Length bytes.
                line.clear();
                rd.read_line(&mut line).await.unwrap();
                let ok = line.starts_with("HTTP/1.1 200");
                let mut len = 0usize;
                loop {
                    line.clear();
                    rd.read_line(&mut line).await.unwrap();
                    if line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                }
                body.resize(len, 0);
                rd.read_exact(&mut body).await.unwrap();
                let t1 = Instant::now();
                if t0 >= measure_from {
                    r.count += 1;
                    if !ok {
                        r.errors += 1;
                    }
                    r.latencies_us
                        .push(u32::try_from((t1 - t0).as_micros()).unwrap_or(u32::MAX));
                }
            }
            r
        }));
    }
    let mut total = Result {
        secs: measure.as_secs_f64(),
        ..Default::default()
    };
    (total.server_cpu, total.client_cpu, total.machine) = cpu.await.unwrap();
    for t in tasks {
        let r = t.await.unwrap();
        total.count += r.count;
        total.errors += r.errors;
        total.latencies_us.extend(r.latencies_us);
    }
    total
}
