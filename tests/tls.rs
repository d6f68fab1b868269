//! HTTPS through the real binary: aws-sdk-rust trusting a private CA made by
//! `certs/make-dev-certs.sh`, the certificate replaced on SIGHUP and on file change (and kept
//! when the new files are bad), unusable files refused at start, no clear-text warning with TLS.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod common;

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_sdk_sts::config::Region;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use common::process::{ROOT_ID, ROOT_SECRET, Served};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};

/// Run `certs/make-dev-certs.sh DIR`: a CA on the first run, a new server certificate on each.
fn make_certs(dir: &Path) {
    let out = std::process::Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/certs/make-dev-certs.sh"
        ))
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "make-dev-certs.sh failed (it needs the openssl command):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_owned()
}

fn tls_args(dir: &Path) -> Vec<String> {
    vec![
        "--tls-cert".into(),
        path(dir, "server.pem"),
        "--tls-key".into(),
        path(dir, "server.key"),
    ]
}

fn start_tls(dir: &Path, extra: &[&str]) -> Served {
    let mut args = tls_args(dir);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Served::start(&args, &[]).unwrap()
}

/// An SDK configuration for `endpoint` trusting `ca` (PEM) only, or the system's roots only.
fn sdk_config(endpoint: &str, ca: Option<&[u8]>) -> aws_config::SdkConfig {
    let trust = match ca {
        Some(ca) => TrustStore::empty().with_pem_certificate(ca),
        None => TrustStore::default(),
    };
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(
            TlsContext::builder()
                .with_trust_store(trust)
                .build()
                .unwrap(),
        )
        .build_https();
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                ROOT_ID,
                ROOT_SECRET,
                None,
                None,
                "tessera-test",
            )),
        )
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .http_client(http)
        .build()
}

/// The leaf certificate (DER) of a PEM file.
fn leaf_of(pem_file: &Path) -> Vec<u8> {
    CertificateDer::pem_file_iter(pem_file)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .to_vec()
}

/// The leaf certificate the server presents to a new client (full handshake, no resumption)
/// that trusts `ca` and asks for `localhost`.
async fn presented(addr: std::net::SocketAddr, ca: &Path) -> Vec<u8> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut config = config;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (_, conn) = tls.get_ref();
    assert_eq!(
        conn.alpn_protocol(),
        Some(&b"http/1.1"[..]),
        "HTTP/1.1 only"
    );
    conn.peer_certificates().unwrap()[0].to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn https_serves_the_aws_sdk_trusting_a_private_ca() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let server = start_tls(certs.path(), &[]);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let ca = std::fs::read(certs.path().join("ca.pem")).unwrap();
    let port = server.addr.port();

    // By name and by address: the certificate names both.
    for host in ["localhost", "127.0.0.1"] {
        let conf = sdk_config(&format!("https://{host}:{port}"), Some(&ca));
        let me = aws_sdk_sts::Client::new(&conf)
            .get_caller_identity()
            .send()
            .await
            .unwrap();
        assert_eq!(me.arn(), Some("arn:aws:iam::000000000000:root"));
    }
    let conf = sdk_config(&format!("https://localhost:{port}"), Some(&ca));
    aws_sdk_iam::Client::new(&conf)
        .create_user()
        .user_name("over-tls")
        .send()
        .await
        .unwrap();

    // A client that does not trust the CA refuses the server.
    let conf = sdk_config(&format!("https://localhost:{port}"), None);
    let e = aws_sdk_sts::Client::new(&conf)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    let text = format!(
        "{}",
        aws_smithy_types::error::display::DisplayErrorContext(&e)
    );
    assert!(e.as_service_error().is_none(), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("certificate") || text.contains("UnknownIssuer"),
        "{text}"
    );

    // Plain HTTP to the HTTPS port gets no HTTP answer.
    let mut tcp = std::net::TcpStream::connect(server.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = Vec::new();
    let _ = tcp.read_to_end(&mut buf);
    assert!(
        !buf.starts_with(b"HTTP/"),
        "{:?}",
        String::from_utf8_lossy(&buf)
    );

    let log = server.log();
    assert!(log.contains("tls certificate loaded"), "{log}");
    assert!(log.contains("tls=true"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_certificate_is_replaced_on_sighup_and_on_file_change_and_kept_over_bad_files() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let server = start_tls(certs.path(), &[]);
    let ca = certs.path().join("ca.pem");
    let cert = certs.path().join("server.pem");
    let first = leaf_of(&cert);
    assert_eq!(presented(server.addr, &ca).await, first);

    // SIGHUP: re-read at once. (The poll may also see the change; SIGHUP always reloads and
    // says so.)
    make_certs(certs.path());
    let second = leaf_of(&cert);
    assert_ne!(first, second);
    let skip = server.log_len();
    server.signal("HUP");
    assert!(
        server
            .wait_log(
                skip,
                &["tls certificate loaded", "SIGHUP"],
                Duration::from_secs(10)
            )
            .is_some(),
        "{}",
        server.log()
    );
    assert_eq!(presented(server.addr, &ca).await, second);

    // A new file, no signal: the poll picks it up within a few seconds.
    make_certs(certs.path());
    let third = leaf_of(&cert);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if presented(server.addr, &ca).await == third {
            break;
        }
        assert!(Instant::now() < deadline, "not reloaded: {}", server.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(server.log().contains("file changed"), "{}", server.log());

    // A broken certificate file: logged, and the third certificate stays in service, by the
    // poll and by SIGHUP alike.
    let skip = server.log_len();
    std::fs::write(
        &cert,
        b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    assert!(
        server
            .wait_log(
                skip,
                &[
                    "ERROR",
                    "tls certificate not reloaded",
                    "file changed",
                    "not PEM"
                ],
                Duration::from_secs(15)
            )
            .is_some(),
        "{}",
        server.log()
    );
    assert_eq!(presented(server.addr, &ca).await, third);
    let skip = server.log_len();
    server.signal("HUP");
    assert!(
        server
            .wait_log(
                skip,
                &["tls certificate not reloaded", "SIGHUP"],
                Duration::from_secs(10)
            )
            .is_some(),
        "{}",
        server.log()
    );
    assert_eq!(presented(server.addr, &ca).await, third);
    // The process still runs and serves over the old certificate.
    let conf = sdk_config(
        &format!("https://localhost:{}", server.addr.port()),
        Some(&std::fs::read(&ca).unwrap()),
    );
    aws_sdk_sts::Client::new(&conf)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
}

#[test]
fn unusable_tls_settings_stop_the_start_before_the_data_dir_is_touched() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    make_certs(a.path());
    make_certs(b.path());
    let missing = a.path().join("nope").join("server.pem");
    /// What is wrong, flags, environment, what stderr must say.
    type Case<'a> = (&'a str, Vec<String>, Vec<(&'a str, String)>, String);
    let cases: Vec<Case> = vec![
        (
            "missing certificate file",
            vec![
                "--tls-cert".into(),
                missing.to_str().unwrap().into(),
                "--tls-key".into(),
                path(a.path(), "server.key"),
            ],
            vec![],
            format!(
                "tls_cert `{}`: No such file or directory",
                missing.display()
            ),
        ),
        (
            "a key of another certificate",
            vec![
                "--tls-cert".into(),
                path(a.path(), "server.pem"),
                "--tls-key".into(),
                path(b.path(), "server.key"),
            ],
            vec![],
            format!(
                "tls_key `{}` does not match the certificate in tls_cert `{}`",
                path(b.path(), "server.key"),
                path(a.path(), "server.pem")
            ),
        ),
        (
            "a certificate given as key",
            vec![
                "--tls-cert".into(),
                path(a.path(), "server.pem"),
                "--tls-key".into(),
                path(a.path(), "server.pem"),
            ],
            vec![],
            format!("tls_key `{}`: no private key", path(a.path(), "server.pem")),
        ),
        (
            "a certificate without a key (flag)",
            vec!["--tls-cert".into(), path(a.path(), "server.pem")],
            vec![],
            "--tls-key".to_owned(),
        ),
        (
            "a certificate without a key (environment)",
            vec![],
            vec![("TESSERA_TLS_CERT", path(a.path(), "server.pem"))],
            "`tls_key`: missing".to_owned(),
        ),
    ];
    for (what, args, env, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let started = Instant::now();
        let Err(stderr) = Served::start_in(dir, "127.0.0.1:0", &args, &env) else {
            panic!("{what}: the server started");
        };
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what}: at once"
        );
        assert!(stderr.contains(&want), "{what}: want {want:?} in\n{stderr}");
        assert!(!data.exists(), "{what}: the data dir was created");
    }
}

#[test]
fn the_environment_turns_tls_on_and_tls_beyond_loopback_does_not_warn() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let server = Served::start_in(
        tempfile::tempdir().unwrap(),
        "0.0.0.0:0",
        &[],
        &[
            ("TESSERA_TLS_CERT", &path(certs.path(), "server.pem")),
            ("TESSERA_TLS_KEY", &path(certs.path(), "server.key")),
        ],
    )
    .unwrap();
    assert!(server.url.starts_with("https://0.0.0.0:"), "{}", server.url);
    assert!(
        server
            .wait_log(0, &["tessera serving", "tls=true"], Duration::from_secs(10))
            .is_some(),
        "{}",
        server.log()
    );
    // The warning would come right after the "serving" line; give it a moment.
    std::thread::sleep(Duration::from_millis(300));
    let log = server.log();
    assert!(!log.contains("without TLS"), "{log}");
}

#[test]
fn a_silent_client_is_cut_during_the_tls_handshake() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let server = start_tls(certs.path(), &["--header-read-timeout-ms", "700"]);
    let started = Instant::now();
    let tcp = std::net::TcpStream::connect(server.addr).unwrap();
    let took = common::process::closed_within(&tcp, Duration::from_secs(10));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(600),
        "cut too early: {waited:?} ({took:?})"
    );
}
