//! The operator interface: `tessera serve | account create | keys rotate | policy eval`. Names
//! here are a contract other tools depend on; the README documents each.

mod policy_eval;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::BoxError;
use crate::clock::Clock;
use crate::config::{Config, Overrides};
use crate::server;

#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    about = "AWS-compatible Security Token Service and federation broker"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    /// Config file (default: config/tessera.toml when present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory holding the database and keyring (default: ./data).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL database of a cluster (postgres://...); default: embedded SQLite under the
    /// data dir. Also TESSERA_DATABASE_URL or config database_url.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

/// Every environment variable `tessera serve` reads (README, "Operator contract").
const SERVE_ENVIRONMENT: &str = "\
Environment:
  TESSERA_ACCOUNT_ID               the default account's 12-digit id (else config account_id)
  TESSERA_ROOT_ACCESS_KEY_ID       with TESSERA_ROOT_SECRET_ACCESS_KEY: the default account's
  TESSERA_ROOT_SECRET_ACCESS_KEY   root key is exactly these
  TESSERA_AUDIT_SYNC               copy (default) or batch (else config audit_sync)
  TESSERA_OIDC_ALLOW_HTTP          1: INSECURE, http:// OIDC issuers on loopback (tests, demos)
  TESSERA_OIDC_CA_FILE             PEM CA certificates trusted for OIDC key fetches
  TESSERA_SAML_ENTITY_ID           tessera's SAML entity id, accepted as Audience besides
                                   urn:amazon:webservices (else config saml_entity_id)
  TESSERA_SAML_ACS_URLS            comma-separated ACS URLs accepted as Recipient besides
                                   AWS's sign-in endpoints (else config saml_acs_urls)
  TESSERA_TLS_CERT                 PEM certificate chain: serve HTTPS (with TESSERA_TLS_KEY)
  TESSERA_TLS_KEY                  its PEM private key (PKCS#8, RSA or EC)
  TESSERA_HEADER_READ_TIMEOUT_MS   header (and idle keep-alive, TLS handshake) deadline
  TESSERA_REQUEST_TIMEOUT_MS       deadline from headers to answer, body included
  TESSERA_MAX_CONNECTIONS          connections served at once; more are closed at once
  TESSERA_METRICS_LISTEN           serve GET /metrics on this address instead of --listen
                                   (else config metrics_listen)
  TESSERA_LOG_FORMAT               text (default) or json (else config log_format)
  TESSERA_DATABASE_URL             postgres://... : the cluster's database (else config
                                   database_url; default: SQLite under the data dir)
  TESSERA_DATABASE_CA_FILE         PEM CA certificates for sslmode=verify-ca/verify-full
  TESSERA_MASTER_KEY               a cluster's master key (base64 of 32 bytes), which opens the
                                   keyring in its database (else config master_key_file)
  TESSERA_LOG                      log filter (default info; request=debug logs every
                                   answered request in text format)";

/// HTTPS and the listener's bounds (`tessera serve`); each also a config key and a variable.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ListenerArgs {
    /// Serve HTTPS with this PEM certificate chain, leaf first (config tls_cert). Re-read on
    /// SIGHUP and when the file changes.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's PEM private key: PKCS#8, RSA or EC (config tls_key).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Deadline for a request's headers, an idle keep-alive connection and a TLS handshake
    /// (default: 10000).
    #[arg(long, value_name = "MS")]
    pub header_read_timeout_ms: Option<u64>,
    /// Deadline from a request's headers to its answer, body included (default: 30000).
    #[arg(long, value_name = "MS")]
    pub request_timeout_ms: Option<u64>,
    /// Connections served at once; more are closed as soon as they are accepted (default: 512).
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the broker.
    #[command(after_help = SERVE_ENVIRONMENT)]
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on (default: 127.0.0.1:8910).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Serve GET /metrics on this address (default: on the --listen address).
        #[arg(long, value_name = "ADDR")]
        metrics_listen: Option<String>,
        /// Log format on stderr: text or json (default: text).
        #[arg(long, value_name = "FORMAT")]
        log_format: Option<String>,
        #[command(flatten)]
        listener: ListenerArgs,
    },
    /// Manage accounts.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Manage the session-token keyring.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Move a store.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Read the audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Work with policy documents offline.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print the newest audit records as JSON lines, oldest first.
    Tail {
        #[command(flatten)]
        common: Common,
        /// How many records to print.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: usize,
        /// Keep printing new records as they are committed.
        #[arg(short, long)]
        follow: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Evaluate one request against policy files; prints JSON, exits 0 allowed / 1 denied / 2 bad input.
    Eval(policy_eval::EvalArgs),
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account with its own root access key; prints it as JSON.
    Create {
        #[command(flatten)]
        common: Common,
        /// 12-digit account id (default: a random unused one).
        #[arg(long)]
        id: Option<String>,
        /// Account alias.
        #[arg(long)]
        alias: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy an embedded installation (a data dir's SQLite store, its audit trail, its secrets
    /// re-sealed under the cluster keyring) into a cluster's empty PostgreSQL database. Needs the
    /// cluster's master key (TESSERA_MASTER_KEY or config master_key_file); no server may run
    /// on the data dir.
    Copy {
        /// Config file (default: config/tessera.toml when present).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The data dir to copy from.
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
        /// The database to copy into (postgres://...).
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new current key; the previous one still opens tokens until the next rotation.
    Rotate {
        #[command(flatten)]
        common: Common,
    },
}

fn load_config(common: &Common, listen: Option<String>) -> Result<Config, BoxError> {
    load_serve_config(common, listen, ServeArgs::default())
}

/// `tessera serve`'s own flags.
#[derive(Debug, Default)]
struct ServeArgs {
    listener: ListenerArgs,
    metrics_listen: Option<String>,
    log_format: Option<String>,
}

fn load_serve_config(
    common: &Common,
    listen: Option<String>,
    s: ServeArgs,
) -> Result<Config, BoxError> {
    let l = s.listener;
    Ok(Config::load(&Overrides {
        config: common.config.clone(),
        listen,
        data_dir: common.data_dir.clone(),
        database_url: common.database_url.clone(),
        tls_cert: l.tls_cert,
        tls_key: l.tls_key,
        header_read_timeout_ms: l.header_read_timeout_ms,
        request_timeout_ms: l.request_timeout_ms,
        max_connections: l.max_connections,
        metrics_listen: s.metrics_listen,
        log_format: s.log_format,
    })?)
}

pub async fn run(cli: Cli) -> Result<(), BoxError> {
    match cli.command {
        Command::Serve {
            common,
            listen,
            metrics_listen,
            log_format,
            listener,
        } => {
            let s = ServeArgs {
                listener,
                metrics_listen,
                log_format,
            };
            serve(load_serve_config(&common, listen, s)?).await
        }
        Command::Account {
            command: AccountCommand::Create { common, id, alias },
        } => account_create(load_config(&common, None)?, id, alias).await,
        Command::Keys {
            command: KeysCommand::Rotate { common },
        } => keys_rotate(load_config(&common, None)?).await,
        Command::Store {
            command: StoreCommand::Copy { config, from, to },
        } => {
            let common = Common {
                config,
                data_dir: None,
                database_url: Some(to),
            };
            let config = load_config(&common, None)?;
            let db = config
                .database
                .as_ref()
                .ok_or("--to must be a postgres:// URL")?;
            println!("{}", server::copy_store(&from, db).await?);
            Ok(())
        }
        Command::Audit {
            command:
                AuditCommand::Tail {
                    common,
                    lines,
                    follow,
                },
        } => audit_tail(load_config(&common, None)?, lines, follow).await,
        // The exit code is the answer (0 allowed, 1 denied, 2 bad input), so it leaves here.
        Command::Policy {
            command: PolicyCommand::Eval(args),
        } => std::process::exit(policy_eval::run(&args)),
    }
}

pub fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal as _;
    // Colour codes only for a person at a terminal, never in a file or a journal.
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if json {
        // One JSON object per line, the event's fields at the top level beside `timestamp`,
        // `level`, `target` and `message` (no spans are used).
        b.json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init();
    } else {
        b.init();
    }
}

/// How long a stopping server waits for requests in flight, and then for the audit trail.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

async fn serve(config: Config) -> Result<(), BoxError> {
    init_logging(config.log_json);
    let data_dir = config.data_dir.clone();
    let running = server::spawn(config, Clock::system()).await?;
    if let Some(p) = &running.root_credentials_written {
        println!(
            "root credentials written to {} (profile `tessera`)",
            p.display()
        );
    }
    let tls = running.is_tls();
    tracing::info!(listen = %running.addr, data_dir = %data_dir.display(), tls, "tessera serving");
    if let Some(m) = running.metrics_addr {
        tracing::info!(metrics_listen = %m, "metrics on their own listener");
        println!("tessera metrics on http://{m}/metrics");
    }
    if !tls && !running.addr.ip().is_loopback() {
        tracing::warn!(
            listen = %running.addr,
            "listening beyond loopback without TLS: secrets, session tokens and signed requests cross the network in clear text; set tls_cert and tls_key, or listen on 127.0.0.1 behind a TLS-terminating proxy"
        );
    }
    let scheme = if tls { "https" } else { "http" };
    println!("tessera listening on {scheme}://{}", running.addr);
    // SIGTERM (systemd, Docker, Kubernetes) and Ctrl-C both stop the server cleanly. With TLS,
    // SIGHUP re-reads the certificate, as daemons do; without, it keeps its default (the end
    // of a terminal session ends the server).
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut hangup = if tls {
        Some(signal(SignalKind::hangup())?)
    } else {
        None
    };
    let mut running = running;
    loop {
        tokio::select! {
            r = &mut running.handle => {
                r.map_err(|e| Box::new(e) as BoxError)?;
                return Ok(());
            }
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
            _ = next_signal(&mut hangup) => running.reload_tls().await,
        }
    }
    tracing::info!("shutting down");
    if running.shutdown(SHUTDOWN_GRACE).await {
        tracing::info!("stopped: every audit record committed");
    } else {
        tracing::warn!(
            grace_seconds = SHUTDOWN_GRACE.as_secs(),
            "stopped before everything finished; records not yet copied are in the audit journal, which the next start copies"
        );
    }
    Ok(())
}

/// The next delivery of an optional signal; never, without one.
async fn next_signal(s: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match s {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

async fn account_create(
    config: Config,
    id: Option<String>,
    alias: Option<String>,
) -> Result<(), BoxError> {
    let (_, store) = server::open_data_dir(&config)?;
    let id = match id {
        Some(id) if crate::arn::is_account_id(&id) => id,
        Some(id) => return Err(format!("`{id}` is not a 12-digit account id").into()),
        None => {
            let view = store.view();
            loop {
                let candidate = random_account_id()?;
                if view.account(&candidate).is_none() {
                    break candidate;
                }
            }
        }
    };
    if let Some(a) = &alias
        && !crate::iam::account::is_valid_account_alias(a)
    {
        return Err(format!(
            "`{a}` is not a valid account alias (3-63 of a-z, 0-9, '-'; no '-' first, last or twice in a row)"
        )
        .into());
    }
    let created = server::create_account(&store, &id, alias, Clock::system().now()).await?;
    let out = serde_json::json!({
        "AccountId": created.account_id,
        "AccessKeyId": created.access_key_id,
        "SecretAccessKey": created.secret.expose(),
    });
    println!("{out}");
    Ok(())
}

async fn keys_rotate(config: Config) -> Result<(), BoxError> {
    let report = match &config.database {
        Some(db) => crate::store::rotate_cluster_keyring(db, chrono::Utc::now())?,
        None => server::rotate_keyring(&config.data_dir).await?,
    };
    println!("{report}");
    Ok(())
}

/// A random 12-digit account id (not starting with 0, so it never looks like the default).
fn random_account_id() -> Result<String, BoxError> {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 8];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| "the system random number generator failed")?;
    let n = u64::from_le_bytes(b) % 900_000_000_000 + 100_000_000_000;
    Ok(n.to_string())
}

async fn audit_tail(config: Config, lines: usize, follow: bool) -> Result<(), BoxError> {
    use std::io::Write as _;
    let mut trail = crate::store::audit_journal::tail::AuditTail::open(&config)?;
    let mut out = std::io::stdout().lock();
    for r in trail.last(lines)? {
        writeln!(out, "{r}")?;
    }
    out.flush()?;
    if !follow {
        return Ok(());
    }
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        for r in trail.follow(1000)? {
            writeln!(out, "{r}")?;
        }
        out.flush()?;
    }
}
