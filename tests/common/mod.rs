//! Test harness: the real server on `127.0.0.1:0` with a movable clock, and aws-sdk-rust
//! clients pointed at it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

pub(crate) mod idp;
/// Test databases on a PostgreSQL server (the crate's own harness, shared).
#[path = "../../src/store/postgres/testdb.rs"]
pub(crate) mod pg;
pub(crate) mod process;
pub(crate) mod saml_idp;

use std::sync::Arc;
use std::time::SystemTime;

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_sdk_sts::config::Region;
use aws_smithy_async::time::TimeSource;
use tessera::clock::Clock;
use tessera::config::Config;
use tessera::server;
use tessera::state::AppState;

pub(crate) struct TestServer {
    pub addr: std::net::SocketAddr,
    pub state: Arc<AppState>,
    pub clock: Clock,
    pub root: Creds,
    pub dir: tempfile::TempDir,
}

#[derive(Debug, Clone)]
pub(crate) struct Creds {
    pub access_key_id: String,
    pub secret: String,
    pub token: Option<String>,
}

impl Creds {
    pub(crate) fn new(id: impl Into<String>, secret: impl Into<String>) -> Self {
        Creds {
            access_key_id: id.into(),
            secret: secret.into(),
            token: None,
        }
    }
}

impl From<&aws_sdk_sts::types::Credentials> for Creds {
    fn from(c: &aws_sdk_sts::types::Credentials) -> Self {
        Creds {
            access_key_id: c.access_key_id().to_owned(),
            secret: c.secret_access_key().to_owned(),
            token: Some(c.session_token().to_owned()),
        }
    }
}

/// The SDK signs with the server's (movable) clock, so tests can move time without sleeping.
#[derive(Debug, Clone)]
struct ServerTime(Clock);

impl TimeSource for ServerTime {
    fn now(&self) -> SystemTime {
        SystemTime::from(self.0.now())
    }
}

pub(crate) fn read_root_credentials(path: &std::path::Path) -> Creds {
    let text = std::fs::read_to_string(path).unwrap();
    let get = |k: &str| {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(k)
                    .map(|v| v.trim_start_matches([' ', '=']).trim().to_owned())
            })
            .unwrap()
    };
    Creds::new(get("aws_access_key_id"), get("aws_secret_access_key"))
}

impl TestServer {
    pub(crate) async fn start() -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir).await
    }

    pub(crate) async fn start_in(dir: tempfile::TempDir) -> TestServer {
        Self::start_configured(dir, |_| {}).await
    }

    /// A server whose configuration `f` adjusts.
    pub(crate) async fn start_with(f: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_configured(tempfile::tempdir().unwrap(), f).await
    }

    async fn start_configured(dir: tempfile::TempDir, f: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        f(&mut config);
        let clock = Clock::system();
        let running = server::spawn(config, clock.clone()).await.unwrap();
        let root = read_root_credentials(&dir.path().join(server::ROOT_CREDENTIALS_FILE));
        TestServer {
            addr: running.addr,
            state: running.state,
            clock,
            root,
            dir,
        }
    }

    pub(crate) fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn sdk_config(&self, c: &Creds, region: &str) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(self.endpoint())
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                    c.access_key_id.clone(),
                    c.secret.clone(),
                    c.token.clone(),
                    None,
                    "tessera-test",
                )),
            )
            .time_source(ServerTime(self.clock.clone()))
            .build()
    }

    pub(crate) fn sts(&self, c: &Creds) -> aws_sdk_sts::Client {
        self.sts_in(c, "us-east-1")
    }

    pub(crate) fn iam(&self, c: &Creds) -> aws_sdk_iam::Client {
        self.iam_in(c, "us-east-1")
    }

    /// An STS client signing for `region`.
    pub(crate) fn sts_in(&self, c: &Creds, region: &str) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.sdk_config(c, region))
    }

    /// An IAM client signing for `region`.
    pub(crate) fn iam_in(&self, c: &Creds, region: &str) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.sdk_config(c, region))
    }

    /// An STS client that sends no credentials at all.
    pub(crate) fn sts_anonymous(&self) -> aws_sdk_sts::Client {
        let conf = aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.endpoint())
            .time_source(ServerTime(self.clock.clone()))
            .build();
        aws_sdk_sts::Client::new(&conf)
    }

    /// Create an IAM user with an access key (as root) and return its credentials.
    pub(crate) async fn user_with_key(&self, name: &str) -> Creds {
        let iam = self.iam(&self.root);
        iam.create_user().user_name(name).send().await.unwrap();
        let k = iam
            .create_access_key()
            .user_name(name)
            .send()
            .await
            .unwrap();
        let k = k.access_key().unwrap();
        Creds::new(k.access_key_id(), k.secret_access_key())
    }
}

/// The AWS error code of an SDK error.
pub(crate) fn code<E, R>(e: &aws_sdk_sts::error::SdkError<E, R>) -> String
where
    E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e {
        aws_sdk_sts::error::SdkError::ServiceError(s) => s.err().code().unwrap_or("").to_owned(),
        other => format!(
            "not a service error: {}",
            aws_smithy_types::error::display::DisplayErrorContext(other)
        ),
    }
}

/// The phrase before the sealed authorization message at the end of a refusal.
pub(crate) const ENCODED_MARKER: &str = ". Encoded authorization failure message: ";

/// An error message without the sealed authorization message that tessera appends to
/// `AccessDenied` (the part AWS's text defines), and that message, if any.
/// `tests/decode_authorization.rs` checks the sealed part.
pub(crate) fn split_encoded(m: &str) -> (&str, Option<&str>) {
    match m.rsplit_once(ENCODED_MARKER) {
        Some((head, blob)) => (head, Some(blob)),
        None => (m, None),
    }
}

/// The message of an STS SDK error, without the sealed authorization message.
pub(crate) fn message<E, R>(e: &aws_sdk_sts::error::SdkError<E, R>) -> String
where
    E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e {
        aws_sdk_sts::error::SdkError::ServiceError(s) => {
            split_encoded(s.err().message().unwrap_or("")).0.to_owned()
        }
        other => format!(
            "not a service error: {}",
            aws_smithy_types::error::display::DisplayErrorContext(other)
        ),
    }
}

/// RFC 4648 base32 (no padding) decoding, for MFA seeds returned by CreateVirtualMFADevice.
pub(crate) fn base32_decode(s: &str) -> Vec<u8> {
    let mut bits: u64 = 0;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').chars() {
        let v = match c {
            'A'..='Z' => c as u64 - 'A' as u64,
            '2'..='7' => c as u64 - '2' as u64 + 26,
            _ => panic!("bad base32 char {c}"),
        };
        bits = (bits << 5) | v;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    out
}

/// The AWS error code of an IAM SDK error.
pub(crate) fn iam_code<E: aws_sdk_iam::error::ProvideErrorMetadata, R>(
    e: &aws_sdk_iam::error::SdkError<E, R>,
) -> String {
    e.as_service_error()
        .and_then(|e| e.code())
        .unwrap_or("not a service error")
        .to_owned()
}

/// The AWS error message of an IAM SDK error, without the sealed authorization message.
pub(crate) fn iam_message<E: aws_sdk_iam::error::ProvideErrorMetadata, R>(
    e: &aws_sdk_iam::error::SdkError<E, R>,
) -> String {
    split_encoded(e.as_service_error().and_then(|e| e.message()).unwrap_or(""))
        .0
        .to_owned()
}

/// The AWS error code and message (without the sealed authorization message) of an IAM SDK
/// error.
pub(crate) fn iam_err<E: aws_sdk_iam::error::ProvideErrorMetadata, R>(
    e: &aws_sdk_iam::error::SdkError<E, R>,
) -> (String, String) {
    (iam_code(e), iam_message(e))
}

/// An SDK configuration for the server at `endpoint` signing with `c`, on the real clock.
pub(crate) fn sdk_config_at(endpoint: &str, c: &Creds) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                c.access_key_id.clone(),
                c.secret.clone(),
                c.token.clone(),
                None,
                "tessera-test",
            )),
        )
        .build()
}

/// The TOTP code of `seed` at unix time `t`, as an authenticator app would show it.
pub(crate) fn totp(seed: &[u8], t: i64) -> String {
    let secret = tessera::credentials::Secret::from_bytes(seed.to_vec());
    tessera::credentials::totp::code_at(&secret, u64::try_from(t).unwrap())
}

/// The seed a CreateVirtualMFADevice answer carries (base64 on the wire, base32 inside).
pub(crate) fn mfa_seed(dev: &aws_sdk_iam::types::VirtualMfaDevice) -> Vec<u8> {
    base32_decode(std::str::from_utf8(dev.base32_string_seed().unwrap().as_ref()).unwrap())
}

impl TestServer {
    /// Create a virtual MFA device (as root); returns its serial number and seed.
    pub(crate) async fn virtual_mfa(&self, name: &str) -> (String, Vec<u8>) {
        let out = self
            .iam(&self.root)
            .create_virtual_mfa_device()
            .virtual_mfa_device_name(name)
            .send()
            .await
            .unwrap();
        let dev = out.virtual_mfa_device().unwrap();
        (dev.serial_number().to_owned(), mfa_seed(dev))
    }
}

impl TestServer {
    /// Another account in this server's data dir, made by `tessera account create` (the
    /// running server sees it at once); returns its root credentials.
    pub(crate) fn create_account(&self, id: &str) -> Creds {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["account", "create", "--id", id, "--data-dir"])
            .arg(self.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        Creds::new(
            v["AccessKeyId"].as_str().unwrap(),
            v["SecretAccessKey"].as_str().unwrap(),
        )
    }
}
