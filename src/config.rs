//! Operator configuration: `config/tessera.toml` (every key documented there), overridden by
//! environment variables, overridden by command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8910";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_CONFIG: &str = "config/tessera.toml";
pub const DEFAULT_ACCOUNT_ID: &str = "000000000000";

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
            store_busy_timeout: std::time::Duration::from_secs(10),
            audit_sync: AuditSync::Copy,
            oidc_allow_http: false,
            oidc_ca_file: None,
            unsigned_rate_limit_per_source: None,
            oidc_token_cache_entries: 10_000,
            metrics_listen: None,
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
}

impl Config {
    /// Load: defaults <- file (explicit `--config`, else `config/tessera.toml` if present) <-
    /// environment (`TESSERA_ACCOUNT_ID`, `TESSERA_AUDIT_SYNC`, `TESSERA_OIDC_ALLOW_HTTP`,
    /// `TESSERA_OIDC_CA_FILE`, `TESSERA_METRICS_LISTEN`, `TESSERA_LOG_FORMAT`) <- flags.
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
        if !crate::arn::is_account_id(&c.account_id) {
            return Err(ConfigError::Value(
                "account_id",
                format!("`{}` is not a 12-digit account id", c.account_id),
            ));
        }
        Ok(c)
    }
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
}
