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
  TESSERA_METRICS_LISTEN           serve GET /metrics on this address instead of --listen
                                   (else config metrics_listen)
  TESSERA_LOG_FORMAT               text (default) or json (else config log_format)
  TESSERA_LOG                      log filter (default info; request=debug logs every
                                   answered request in text format)";

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
pub enum KeysCommand {
    /// Make a new current key; the previous one still opens tokens until the next rotation.
    Rotate {
        #[command(flatten)]
        common: Common,
    },
}

fn load_config(common: &Common, listen: Option<String>) -> Result<Config, BoxError> {
    load_config_with(
        common,
        Overrides {
            listen,
            ..Overrides::default()
        },
    )
}

/// `common`'s flags on top of `o`.
fn load_config_with(common: &Common, o: Overrides) -> Result<Config, BoxError> {
    Ok(Config::load(&Overrides {
        config: common.config.clone(),
        data_dir: common.data_dir.clone(),
        ..o
    })?)
}

pub async fn run(cli: Cli) -> Result<(), BoxError> {
    match cli.command {
        Command::Serve {
            common,
            listen,
            metrics_listen,
            log_format,
        } => {
            let o = Overrides {
                listen,
                metrics_listen,
                log_format,
                ..Overrides::default()
            };
            serve(load_config_with(&common, o)?).await
        }
        Command::Account {
            command: AccountCommand::Create { common, id, alias },
        } => account_create(load_config(&common, None)?, id, alias).await,
        Command::Keys {
            command: KeysCommand::Rotate { common },
        } => keys_rotate(load_config(&common, None)?).await,
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
    tracing::info!(listen = %running.addr, data_dir = %data_dir.display(), "tessera serving");
    if let Some(m) = running.metrics_addr {
        tracing::info!(metrics_listen = %m, "metrics on their own listener");
        println!("tessera metrics on http://{m}/metrics");
    }
    if !running.addr.ip().is_loopback() {
        tracing::warn!(
            listen = %running.addr,
            "listening beyond loopback without TLS: secrets, session tokens and signed requests cross the network in clear text; listen on 127.0.0.1 behind a TLS-terminating proxy"
        );
    }
    println!("tessera listening on http://{}", running.addr);
    // SIGTERM (systemd, Docker, Kubernetes) and Ctrl-C both stop the server cleanly.
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    let mut running = running;
    tokio::select! {
        r = &mut running.handle => {
            r.map_err(|e| Box::new(e) as BoxError)?;
            return Ok(());
        }
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
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
    if let Some(a) = &alias {
        let ok = (3..=63).contains(&a.len())
            && a.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !a.starts_with('-')
            && !a.ends_with('-');
        if !ok {
            return Err(
                format!("`{a}` is not a valid account alias (3-63 of a-z, 0-9, '-')").into(),
            );
        }
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
    let report = server::rotate_keyring(&config.data_dir).await?;
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
    let mut trail = crate::store::audit_journal::tail::AuditTail::open(&config.data_dir)?;
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
