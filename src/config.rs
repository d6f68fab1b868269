//! Operator configuration: `config/tessera.toml` (every key documented there), overridden by
//! environment variables, overridden by command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8910";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_CONFIG: &str = "config/tessera.toml";
pub const DEFAULT_ACCOUNT_ID: &str = "000000000000";
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// Far beyond any file-descriptor limit; keeps the count within what a semaphore holds.
pub const MAX_MAX_CONNECTIONS: usize = 1_000_000;

/// The file's shape. Every field optional; unknown keys are an error (a typo must not be ignored).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub account_id: Option<String>,
    pub regions: Option<Vec<String>>,
    pub log_format: Option<String>,
    pub max_body_bytes: Option<usize>,
    pub store_busy_timeout_ms: Option<u64>,
    pub audit_sync: Option<String>,
    pub oidc_allow_http: Option<bool>,
    pub oidc_ca_file: Option<PathBuf>,
    pub unsigned_rate_limit_per_source: Option<u32>,
    pub oidc_token_cache_entries: Option<usize>,
    pub metrics_listen: Option<String>,
    pub saml_entity_id: Option<String>,
    pub saml_acs_urls: Option<Vec<String>>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub header_read_timeout_ms: Option<u64>,
    pub request_timeout_ms: Option<u64>,
    pub max_connections: Option<usize>,
    pub database_url: Option<String>,
    pub database_ca_file: Option<PathBuf>,
    pub master_key_file: Option<PathBuf>,
}

/// Effective settings after file, environment and flags.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub account_id: String,
    /// Signing regions accepted in credential scopes; empty = any.
    pub regions: Vec<String>,
    pub log_json: bool,
    pub max_body_bytes: usize,
    /// How long a write waits for another process's database lock before failing.
    pub store_busy_timeout: std::time::Duration,
    /// When audit records that guard credentials reach the device.
    pub audit_sync: AuditSync,
    /// Insecure, for tests and demos: fetch OIDC keys from `http://` issuers on loopback
    /// addresses.
    pub oidc_allow_http: bool,
    /// PEM certificates trusted (besides the public roots) when fetching OIDC keys.
    pub oidc_ca_file: Option<PathBuf>,
    /// Unsigned requests (web identity, SAML) accepted per second from one source address;
    /// `None`: no limit.
    pub unsigned_rate_limit_per_source: Option<u32>,
    /// Verified web identity tokens remembered (0: verify every token).
    pub oidc_token_cache_entries: usize,
    /// A listener of its own for `GET /metrics`; `None`: served on `listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// tessera's own SAML service provider entity id, accepted as an assertion's `Audience`
    /// besides AWS's `urn:amazon:webservices`.
    pub saml_entity_id: Option<String>,
    /// tessera's own assertion consumer service URLs, accepted as an assertion's `Recipient`
    /// (and a response's `Destination`) besides AWS's sign-in endpoints.
    pub saml_acs_urls: Vec<String>,
    /// HTTPS: the PEM certificate chain and private key (both or neither).
    pub tls: Option<TlsFiles>,
    /// How long a connection may take to send a request's headers; also how long an idle
    /// keep-alive connection (and a TLS handshake) may last.
    pub header_read_timeout: Duration,
    /// How long a request may take from its headers to its answer (body included), and how
    /// long a client may leave an answer unread.
    pub request_timeout: Duration,
    /// Connections served at once; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// The cluster's PostgreSQL database; `None`: embedded SQLite under `data_dir`.
    pub database: Option<Database>,
}

/// Where a cluster's store lives.
#[derive(Clone, PartialEq, Eq)]
pub struct Database {
    /// `postgres://user:password@host:port/db?sslmode=...`: may hold a password, so never
    /// printed (see `Debug`).
    pub url: String,
    /// CA certificates (PEM) for `sslmode=verify-ca`/`verify-full` (`sslrootcert` wins).
    pub ca_file: Option<PathBuf>,
    /// Where the master key that opens the cluster's keyring comes from.
    pub master_key: Option<MasterKeySource>,
}

/// Where a node finds the cluster's master key.
#[derive(Clone, PartialEq, Eq)]
pub enum MasterKeySource {
    /// `TESSERA_MASTER_KEY`: the key itself (base64), never printed.
    Value(String),
    /// `master_key_file`: a file holding it.
    File(PathBuf),
}

impl std::fmt::Debug for MasterKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MasterKeySource::Value(_) => f.write_str("Value(<redacted>)"),
            MasterKeySource::File(p) => f.debug_tuple("File").field(p).finish(),
        }
    }
}

impl Database {
    /// The cluster's master key; an error saying how to give it when there is none.
    pub fn master_key(&self) -> Result<crate::credentials::MasterKey, String> {
        match &self.master_key {
            Some(MasterKeySource::Value(v)) => crate::credentials::MasterKey::from_base64(v)
                .map_err(|e| format!("TESSERA_MASTER_KEY: {e}")),
            Some(MasterKeySource::File(p)) => crate::credentials::MasterKey::from_file(p),
            None => Err("a cluster node needs the cluster's master key: set TESSERA_MASTER_KEY (32 random bytes in base64: openssl rand -base64 32) or config master_key_file".to_owned()),
        }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("url", &"<redacted>")
            .field("ca_file", &self.ca_file)
            .field("master_key", &self.master_key)
            .finish()
    }
}

/// The PEM files `tessera serve` answers HTTPS with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// Its private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
    pub key: PathBuf,
}

/// When the audit records that guard credentials are synced to the device. Either way they are
/// committed (safe from any crash of tessera, `kill -9` included) before the credentials leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuditSync {
    /// When the copier commits them to SQLite, within about 100 ms: a power loss or kernel
    /// crash can lose the last 100 ms of records.
    #[default]
    Copy,
    /// Before their credentials are handed out: one device write and flush per batch.
    Batch,
}

impl AuditSync {
    fn parse(s: &str) -> Result<AuditSync, ConfigError> {
        match s {
            "copy" => Ok(AuditSync::Copy),
            "batch" => Ok(AuditSync::Batch),
            other => Err(ConfigError::Value(
                "audit_sync",
                format!("`{other}` (expected `copy` or `batch`)"),
            )),
        }
    }
}

/// AWS accepts POST bodies up to 10,000,000 bytes; 10,000,001 gets 413.
pub const AWS_MAX_BODY: usize = 10_000_000;

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8910)),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            account_id: DEFAULT_ACCOUNT_ID.to_owned(),
            regions: Vec::new(),
            log_json: false,
            max_body_bytes: AWS_MAX_BODY,
            store_busy_timeout: Duration::from_secs(10),
            audit_sync: AuditSync::Copy,
            oidc_allow_http: false,
            oidc_ca_file: None,
            unsigned_rate_limit_per_source: None,
            oidc_token_cache_entries: 10_000,
            metrics_listen: None,
            saml_entity_id: None,
            saml_acs_urls: Vec::new(),
            tls: None,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            database: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file `{0}`: {1}")]
    Read(String, std::io::Error),
    #[error("invalid config file `{0}`: {1}")]
    Parse(String, String),
    #[error("invalid value for `{0}`: {1}")]
    Value(&'static str, String),
}

/// Overrides from the command line (highest precedence).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub metrics_listen: Option<String>,
    pub log_format: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub header_read_timeout_ms: Option<u64>,
    pub request_timeout_ms: Option<u64>,
    pub max_connections: Option<usize>,
    pub database_url: Option<String>,
}

impl Config {
    /// Load: defaults <- file (explicit `--config`, else `config/tessera.toml` if present) <-
    /// environment (`TESSERA_ACCOUNT_ID`, `TESSERA_AUDIT_SYNC`, `TESSERA_OIDC_ALLOW_HTTP`,
    /// `TESSERA_OIDC_CA_FILE`, `TESSERA_SAML_ENTITY_ID`, `TESSERA_SAML_ACS_URLS`,
    /// `TESSERA_TLS_CERT`, `TESSERA_TLS_KEY`, `TESSERA_HEADER_READ_TIMEOUT_MS`,
    /// `TESSERA_REQUEST_TIMEOUT_MS`, `TESSERA_MAX_CONNECTIONS`, `TESSERA_METRICS_LISTEN`,
    /// `TESSERA_LOG_FORMAT`, `TESSERA_DATABASE_URL`, `TESSERA_DATABASE_CA_FILE`, `TESSERA_MASTER_KEY`) <- flags.
    pub fn load(o: &Overrides) -> Result<Config, ConfigError> {
        let file = match &o.config {
            Some(p) => read_file(p)?,
            None if Path::new(DEFAULT_CONFIG).exists() => read_file(Path::new(DEFAULT_CONFIG))?,
            None => FileConfig::default(),
        };
        let mut c = Config::default();
        if let Some(l) = file.listen {
            c.listen = parse_listen("listen", &l)?;
        }
        if let Some(d) = file.data_dir {
            c.data_dir = d;
        }
        if let Some(a) = file.account_id {
            c.account_id = a;
        }
        if let Some(r) = file.regions {
            c.regions = r;
        }
        if let Some(f) = file.log_format {
            c.log_json = parse_log_format("log_format", &f)?;
        }
        if let Some(m) = file.max_body_bytes {
            c.max_body_bytes = m.min(AWS_MAX_BODY);
        }
        if let Some(ms) = file.store_busy_timeout_ms {
            c.store_busy_timeout = std::time::Duration::from_millis(ms);
        }
        if let Some(a) = &file.audit_sync {
            c.audit_sync = AuditSync::parse(a)?;
        }
        if let Some(b) = file.oidc_allow_http {
            c.oidc_allow_http = b;
        }
        c.oidc_ca_file = file.oidc_ca_file;
        c.unsigned_rate_limit_per_source = file.unsigned_rate_limit_per_source.filter(|n| *n > 0);
        if let Some(n) = file.oidc_token_cache_entries {
            c.oidc_token_cache_entries = n;
        }
        if let Some(m) = file.metrics_listen.filter(|m| !m.is_empty()) {
            c.metrics_listen = Some(parse_listen("metrics_listen", &m)?);
        }
        c.saml_entity_id = file.saml_entity_id;
        if let Some(urls) = file.saml_acs_urls {
            c.saml_acs_urls = urls;
        }
        if let Ok(v) = std::env::var("TESSERA_SAML_ENTITY_ID") {
            c.saml_entity_id = Some(v).filter(|v| !v.is_empty());
        }
        if let Ok(v) = std::env::var("TESSERA_SAML_ACS_URLS") {
            c.saml_acs_urls = v
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(id) = &c.saml_entity_id
            && (id.trim().is_empty() || id.chars().count() > 1024)
        {
            return Err(ConfigError::Value(
                "saml_entity_id",
                "must be 1 to 1024 characters".to_owned(),
            ));
        }
        if let Some(bad) = c
            .saml_acs_urls
            .iter()
            .find(|u| !u.starts_with("https://") && !u.starts_with("http://"))
        {
            return Err(ConfigError::Value(
                "saml_acs_urls",
                format!("`{bad}` is not an http(s) URL"),
            ));
        }
        if let Ok(v) = std::env::var("TESSERA_OIDC_ALLOW_HTTP") {
            c.oidc_allow_http = match v.as_str() {
                "1" | "true" => true,
                "0" | "false" | "" => false,
                other => {
                    return Err(ConfigError::Value(
                        "TESSERA_OIDC_ALLOW_HTTP",
                        format!("`{other}` (expected 1 or 0)"),
                    ));
                }
            };
        }
        if let Ok(p) = std::env::var("TESSERA_OIDC_CA_FILE") {
            c.oidc_ca_file = Some(PathBuf::from(p));
        }
        if let Ok(a) = std::env::var("TESSERA_ACCOUNT_ID") {
            c.account_id = a;
        }
        if let Ok(a) = std::env::var("TESSERA_AUDIT_SYNC") {
            c.audit_sync = AuditSync::parse(&a)?;
        }
        if let Ok(m) = std::env::var("TESSERA_METRICS_LISTEN")
            && !m.is_empty()
        {
            c.metrics_listen = Some(parse_listen("TESSERA_METRICS_LISTEN", &m)?);
        }
        if let Ok(f) = std::env::var("TESSERA_LOG_FORMAT")
            && !f.is_empty()
        {
            c.log_json = parse_log_format("TESSERA_LOG_FORMAT", &f)?;
        }
        let mut database_url = file.database_url.filter(|u| !u.is_empty());
        let mut database_ca_file = file.database_ca_file;
        if let Ok(u) = std::env::var("TESSERA_DATABASE_URL")
            && !u.is_empty()
        {
            database_url = Some(u);
        }
        if let Ok(p) = std::env::var("TESSERA_DATABASE_CA_FILE")
            && !p.is_empty()
        {
            database_ca_file = Some(PathBuf::from(p));
        }
        if let Some(u) = o.database_url.clone().filter(|u| !u.is_empty()) {
            database_url = Some(u);
        }
        let mut master_key = file.master_key_file.map(MasterKeySource::File);
        if let Ok(k) = std::env::var("TESSERA_MASTER_KEY")
            && !k.is_empty()
        {
            master_key = Some(MasterKeySource::Value(k));
        }
        c.database = match database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Some(Database {
                    url,
                    ca_file: database_ca_file,
                    master_key,
                })
            }
            // Never echo the URL: it may hold a password.
            Some(_) => {
                return Err(ConfigError::Value(
                    "database_url",
                    "must start with postgres:// or postgresql://".to_owned(),
                ));
            }
            None => None,
        };
        if let Some(l) = &o.listen {
            c.listen = parse_listen("--listen", l)?;
        }
        if let Some(d) = &o.data_dir {
            c.data_dir = d.clone();
        }
        if let Some(m) = &o.metrics_listen {
            c.metrics_listen = Some(parse_listen("--metrics-listen", m)?);
        }
        if let Some(f) = &o.log_format {
            c.log_json = parse_log_format("--log-format", f)?;
        }

        // The listener: TLS files and deadlines, file <- environment <- flags.
        let mut tls_cert = file.tls_cert;
        let mut tls_key = file.tls_key;
        let mut header_ms = file.header_read_timeout_ms;
        let mut request_ms = file.request_timeout_ms;
        let mut max_connections = file.max_connections;
        // An empty variable counts as unset (`TESSERA_TLS_CERT=${CERT}` with nothing in it).
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let Some(p) = env("TESSERA_TLS_CERT") {
            tls_cert = Some(PathBuf::from(p));
        }
        if let Some(p) = env("TESSERA_TLS_KEY") {
            tls_key = Some(PathBuf::from(p));
        }
        if let Some(v) = env("TESSERA_HEADER_READ_TIMEOUT_MS") {
            header_ms = Some(parse_number("TESSERA_HEADER_READ_TIMEOUT_MS", &v)?);
        }
        if let Some(v) = env("TESSERA_REQUEST_TIMEOUT_MS") {
            request_ms = Some(parse_number("TESSERA_REQUEST_TIMEOUT_MS", &v)?);
        }
        if let Some(v) = env("TESSERA_MAX_CONNECTIONS") {
            max_connections = Some(parse_number("TESSERA_MAX_CONNECTIONS", &v)?);
        }
        tls_cert = o.tls_cert.clone().or(tls_cert);
        tls_key = o.tls_key.clone().or(tls_key);
        header_ms = o.header_read_timeout_ms.or(header_ms);
        request_ms = o.request_timeout_ms.or(request_ms);
        max_connections = o.max_connections.or(max_connections);
        c.tls = match (tls_cert, tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::Value(
                    "tls_key",
                    "missing: tls_cert is set, and HTTPS needs both".to_owned(),
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::Value(
                    "tls_cert",
                    "missing: tls_key is set, and HTTPS needs both".to_owned(),
                ));
            }
        };
        if let Some(ms) = header_ms {
            c.header_read_timeout = positive_millis("header_read_timeout_ms", ms)?;
        }
        if let Some(ms) = request_ms {
            c.request_timeout = positive_millis("request_timeout_ms", ms)?;
        }
        if let Some(n) = max_connections {
            if !(1..=MAX_MAX_CONNECTIONS).contains(&n) {
                return Err(ConfigError::Value(
                    "max_connections",
                    format!("`{n}` (expected 1 to {MAX_MAX_CONNECTIONS})"),
                ));
            }
            c.max_connections = n;
        }
        if !crate::arn::is_account_id(&c.account_id) {
            return Err(ConfigError::Value(
                "account_id",
                format!("`{}` is not a 12-digit account id", c.account_id),
            ));
        }
        Ok(c)
    }
}

fn parse_number<T: std::str::FromStr>(name: &'static str, v: &str) -> Result<T, ConfigError> {
    v.trim()
        .parse()
        .map_err(|_| ConfigError::Value(name, format!("`{v}` is not a whole number")))
}

/// A deadline of zero would cut every connection: at least one millisecond.
fn positive_millis(name: &'static str, ms: u64) -> Result<Duration, ConfigError> {
    if ms == 0 {
        return Err(ConfigError::Value(
            name,
            "`0` (expected at least 1 millisecond)".to_owned(),
        ));
    }
    Ok(Duration::from_millis(ms))
}

fn read_file(p: &Path) -> Result<FileConfig, ConfigError> {
    let text =
        std::fs::read_to_string(p).map_err(|e| ConfigError::Read(p.display().to_string(), e))?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse(p.display().to_string(), e.to_string()))
}

/// `text` (false) or `json` (true), as `what` (a key, variable or flag) says.
fn parse_log_format(what: &'static str, s: &str) -> Result<bool, ConfigError> {
    match s {
        "json" => Ok(true),
        "text" => Ok(false),
        other => Err(ConfigError::Value(
            what,
            format!("`{other}` (expected `text` or `json`)"),
        )),
    }
}

/// An address (`127.0.0.1:8910`, `[::1]:8910`) or a host name with a port (`localhost:8910`),
/// resolved once, at start. `what` names the key, variable or flag it came from.
fn parse_listen(what: &'static str, s: &str) -> Result<SocketAddr, ConfigError> {
    use std::net::ToSocketAddrs as _;
    if let Ok(a) = s.parse() {
        return Ok(a);
    }
    s.to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| {
            ConfigError::Value(
                what,
                format!("`{s}` is not an address like 127.0.0.1:8910 or localhost:8910"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tessera.toml");
        std::fs::write(&path, toml).unwrap();
        Config::load(&Overrides {
            config: Some(path),
            ..Overrides::default()
        })
    }

    #[test]
    fn audit_sync_is_copy_unless_set_to_batch() {
        assert_eq!(load("").unwrap().audit_sync, AuditSync::Copy);
        assert_eq!(
            load("audit_sync = \"batch\"").unwrap().audit_sync,
            AuditSync::Batch
        );
        assert_eq!(
            load("audit_sync = \"copy\"").unwrap().audit_sync,
            AuditSync::Copy
        );
        let err = load("audit_sync = \"fsync\"").unwrap_err().to_string();
        assert!(
            err.contains("audit_sync") && err.contains("`copy` or `batch`"),
            "{err}"
        );
    }

    #[test]
    fn metrics_listen_and_log_format() {
        let c = load("").unwrap();
        assert_eq!(c.metrics_listen, None);
        assert!(!c.log_json);
        let c = load("metrics_listen = \"127.0.0.1:9464\"\nlog_format = \"json\"").unwrap();
        assert_eq!(c.metrics_listen, Some("127.0.0.1:9464".parse().unwrap()));
        assert!(c.log_json);
        assert_eq!(load("metrics_listen = \"\"").unwrap().metrics_listen, None);
        let err = load("metrics_listen = \"nowhere\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("metrics_listen") && err.contains("nowhere"),
            "{err}"
        );
        let err = load("log_format = \"xml\"").unwrap_err().to_string();
        assert!(
            err.contains("log_format") && err.contains("`text` or `json`"),
            "{err}"
        );
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tessera.toml");
        std::fs::write(
            &path,
            "metrics_listen = \"127.0.0.1:9464\"\nlog_format = \"json\"",
        )
        .unwrap();
        let c = Config::load(&Overrides {
            config: Some(path),
            metrics_listen: Some("127.0.0.1:9465".into()),
            log_format: Some("text".into()),
            ..Overrides::default()
        })
        .unwrap();
        assert_eq!(c.metrics_listen, Some("127.0.0.1:9465".parse().unwrap()));
        assert!(!c.log_json);
    }

    #[test]
    fn saml_entity_id_and_acs_urls() {
        let c = load("").unwrap();
        assert_eq!(c.saml_entity_id, None);
        assert!(c.saml_acs_urls.is_empty());
        let c = load(
            "saml_entity_id = \"https://tessera.example.com/saml/metadata\"\nsaml_acs_urls = [\"https://tessera.example.com/saml\"]",
        )
        .unwrap();
        assert_eq!(
            c.saml_entity_id.as_deref(),
            Some("https://tessera.example.com/saml/metadata")
        );
        assert_eq!(c.saml_acs_urls, ["https://tessera.example.com/saml"]);
        let err = load("saml_acs_urls = [\"tessera.example.com/saml\"]")
            .unwrap_err()
            .to_string();
        assert!(err.contains("saml_acs_urls"), "{err}");
        assert!(load("saml_entity_id = \"\"").is_err());
    }

    #[test]
    fn listener_keys_default_parse_and_refuse_nonsense() {
        let c = load("").unwrap();
        assert_eq!(c.tls, None);
        assert_eq!(c.header_read_timeout, DEFAULT_HEADER_READ_TIMEOUT);
        assert_eq!(c.request_timeout, DEFAULT_REQUEST_TIMEOUT);
        assert_eq!(c.max_connections, DEFAULT_MAX_CONNECTIONS);

        let c = load(
            "tls_cert = \"/etc/tessera/cert.pem\"\ntls_key = \"/etc/tessera/key.pem\"\nheader_read_timeout_ms = 2500\nrequest_timeout_ms = 7000\nmax_connections = 64",
        )
        .unwrap();
        assert_eq!(
            c.tls,
            Some(TlsFiles {
                cert: "/etc/tessera/cert.pem".into(),
                key: "/etc/tessera/key.pem".into(),
            })
        );
        assert_eq!(c.header_read_timeout, Duration::from_millis(2500));
        assert_eq!(c.request_timeout, Duration::from_millis(7000));
        assert_eq!(c.max_connections, 64);

        for (toml, key) in [
            ("tls_cert = \"c.pem\"", "tls_key"),
            ("tls_key = \"k.pem\"", "tls_cert"),
            ("header_read_timeout_ms = 0", "header_read_timeout_ms"),
            ("request_timeout_ms = 0", "request_timeout_ms"),
            ("max_connections = 0", "max_connections"),
            ("max_connections = 1000001", "max_connections"),
        ] {
            let err = load(toml).unwrap_err().to_string();
            assert!(err.contains(&format!("`{key}`")), "{toml}: {err}");
        }
    }
}
