//! Startup: the data dir (keyring, database, default account and its root key), the shared
//! [`AppState`], and the listener. `spawn` is what integration tests use to run the real server
//! on `127.0.0.1:0` with a clock they can move.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::BoxError;
use crate::clock::Clock;
use crate::config::Config;
use crate::credentials::SharedKeyring;
use crate::credentials::{self, Keyring, Secret};
use crate::http::listener::{self, Limits};
use crate::http::tls::CertStore;
use crate::state::AppState;
use crate::store::{self, AuditJournal, Change, Entity, Store, StoreError};

pub const KEYRING_FILE: &str = "keyring";
pub const ROOT_CREDENTIALS_FILE: &str = "root-credentials";

/// What `bootstrap` did, for the operator.
#[derive(Debug)]
pub struct Bootstrap {
    pub state: Arc<AppState>,
    /// Set when a root key was generated and written on this start.
    pub root_credentials_written: Option<PathBuf>,
}

pub fn keyring_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEYRING_FILE)
}

/// Load the keyring, creating it on first start.
pub fn load_or_create_keyring(data_dir: &Path) -> Result<Arc<SharedKeyring>, BoxError> {
    let path = keyring_path(data_dir);
    let k = if path.exists() {
        Keyring::load(&path)?
    } else {
        let k = Keyring::generate(chrono::Utc::now())?;
        k.save(&path)?;
        k
    };
    Ok(SharedKeyring::new(k, Some(path)))
}

pub fn create_data_dir(dir: &Path) -> Result<(), BoxError> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Create the data dir if needed, load (or create) its keyring and open its store as `config`
/// says (for commands that write no audit records: the audit journal stays closed).
pub fn open_data_dir(config: &Config) -> Result<(Arc<SharedKeyring>, Store), BoxError> {
    create_data_dir(&config.data_dir)?;
    if let Some(db) = &config.database {
        let (keyring, store, _) = store::open_postgres(db, chrono::Utc::now())?;
        return Ok((keyring, store));
    }
    let keyring = load_or_create_keyring(&config.data_dir)?;
    let store = Store::open_with(&config.data_dir, keyring.clone(), config.store_busy_timeout)?;
    Ok((keyring, store))
}

/// As [`open_data_dir`], with the audit sink the server appends to.
pub fn open_data_dir_with_audit(
    config: &Config,
) -> Result<(Arc<SharedKeyring>, Store, AuditJournal), BoxError> {
    create_data_dir(&config.data_dir)?;
    if let Some(db) = &config.database {
        return store::open_postgres(db, chrono::Utc::now());
    }
    let keyring = load_or_create_keyring(&config.data_dir)?;
    let (store, audit) = store::open_local(
        &config.data_dir,
        keyring.clone(),
        config.store_busy_timeout,
        config.audit_sync,
    )?;
    Ok((keyring, store, audit))
}

/// Prepare the data dir and state: keyring, database, default account with a root key.
pub async fn bootstrap(config: Config, clock: Clock) -> Result<Bootstrap, BoxError> {
    let (keyring, store, audit) = open_data_dir_with_audit(&config)?;
    let now = clock.now();

    let account = config.account_id.clone();
    let env_key = match (
        std::env::var("TESSERA_ROOT_ACCESS_KEY_ID"),
        std::env::var("TESSERA_ROOT_SECRET_ACCESS_KEY"),
    ) {
        (Ok(id), Ok(secret)) if !id.is_empty() && !secret.is_empty() => {
            Some((id, Secret::from(secret)))
        }
        _ => None,
    };
    if let Some((id, _)) = &env_key
        && !credentials::is_chosen_access_key_id(id)
    {
        return Err(format!("TESSERA_ROOT_ACCESS_KEY_ID `{id}` is not an access key id (16 to 128 letters, digits or underscores, as AWS accepts)").into());
    }

    let view = store.view();
    let have_account = view.account(&account).is_some();
    let mut written = None;
    match env_key {
        Some((id, secret)) => {
            // The operator chose the root key: make sure it exists (on this start or a later one).
            if let Some(k) = view.access_keys.get(&id) {
                if k.account != account
                    || k.user_id.is_some()
                    || k.secret.expose() != secret.expose()
                {
                    return Err(
                        format!("access key {id} already exists with other settings").into(),
                    );
                }
            } else {
                let mut changes = Vec::with_capacity(2);
                if !have_account {
                    changes.push(Change::CreateAccount {
                        id: account.clone(),
                        alias: None,
                        created_at: now,
                    });
                }
                // The operator's own key: not counted against the root's quota.
                changes.push(Change::CreateAccessKey {
                    id,
                    account: account.clone(),
                    user_id: None,
                    secret,
                    created_at: now,
                    max_per_owner: None,
                });
                store.apply(changes).await.map_err(|e| {
                    format!("cannot create the root key: {}", account_error(e, &account))
                })?;
            }
        }
        None if !have_account => {
            let created = create_account(&store, &account, None, clock.now()).await?;
            let path = config.data_dir.join(ROOT_CREDENTIALS_FILE);
            write_credentials_file(&path, &created.access_key_id, &created.secret)?;
            written = Some(path);
        }
        None => {}
    }

    let state = Arc::new(AppState::new(config, store, audit, keyring, clock)?);
    Ok(Bootstrap {
        state,
        root_credentials_written: written,
    })
}

/// A new account and its root key.
#[derive(Debug)]
pub struct CreatedAccount {
    pub account_id: String,
    pub access_key_id: String,
    pub secret: Secret,
}

pub async fn create_account(
    store: &Store,
    id: &str,
    alias: Option<String>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<CreatedAccount, BoxError> {
    let access_key_id = credentials::new_access_key_id(id)?;
    let secret = credentials::new_secret_access_key()?;
    store
        .apply(vec![
            Change::CreateAccount {
                id: id.to_owned(),
                alias,
                created_at: now,
            },
            Change::CreateAccessKey {
                id: access_key_id.clone(),
                account: id.to_owned(),
                user_id: None,
                secret: secret.clone(),
                created_at: now,
                max_per_owner: None,
            },
        ])
        .await
        .map_err(|e| account_error(e, id))?;
    Ok(CreatedAccount {
        account_id: id.to_owned(),
        access_key_id,
        secret,
    })
}

/// What the operator reads when an account or its root key cannot be created.
fn account_error(e: StoreError, id: &str) -> String {
    match e {
        StoreError::AlreadyExists(Entity::Account) => format!("Account {id} already exists."),
        StoreError::AlreadyExists(Entity::AccountAlias) => {
            "The account alias is already in use.".to_owned()
        }
        other => other.to_string(),
    }
}

/// Write `[tessera]` credentials in AWS shared-credentials format, mode 0600, never overwriting.
pub fn write_credentials_file(
    path: &Path,
    access_key_id: &str,
    secret: &Secret,
) -> Result<(), BoxError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    write!(
        f,
        "[tessera]\naws_access_key_id = {access_key_id}\naws_secret_access_key = {}\n",
        secret.expose()
    )?;
    f.sync_all()?;
    Ok(())
}

/// A running server (tests and `tessera serve`).
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    /// Where `/metrics` is served when `metrics_listen` is set (else on `addr`).
    pub metrics_addr: Option<SocketAddr>,
    pub state: Arc<AppState>,
    pub root_credentials_written: Option<PathBuf>,
    pub handle: tokio::task::JoinHandle<()>,
    /// The certificate being served, when serving HTTPS.
    tls: Option<Arc<CertStore>>,
    /// The metrics listener (`metrics_listen`): its task and its stop.
    metrics: Option<Serving>,
    /// Held as long as the server runs: one server per data dir.
    _data_dir_lock: DataDirLock,
    /// Tells the server to stop accepting and finish what is in flight.
    stop: tokio::sync::oneshot::Sender<()>,
    /// Writes the access keys' last uses every `key_usage::FLUSH_INTERVAL`.
    key_usage_flusher: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Whether this server answers HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Read the certificate and key files again (SIGHUP): served if they load, else the
    /// previous pair stays and the error is logged. Nothing to do without TLS.
    pub async fn reload_tls(&self) {
        if let Some(store) = self.tls.clone() {
            let _ = tokio::task::spawn_blocking(move || {
                store.reload_logged(std::time::SystemTime::now(), "SIGHUP");
            })
            .await;
        }
    }

    /// Stop accepting, let requests in flight finish, then write the access keys' last uses
    /// and close the audit trail (every queued record committed and synced), each within
    /// `grace`. Whether all of it finished in time.
    pub async fn shutdown(self, grace: std::time::Duration) -> bool {
        let _ = self.stop.send(());
        let metrics = self.metrics.map(|m| {
            let _ = m.stop.send(());
            m.handle
        });
        let served = tokio::time::timeout(grace, self.handle).await.is_ok();
        if let Some(handle) = metrics {
            // A scrape still in flight gets what is left of the grace period; one cut short is
            // simply repeated by the next.
            let abort = handle.abort_handle();
            if tokio::time::timeout(grace, handle).await.is_err() {
                abort.abort();
            }
        }
        self.key_usage_flusher.abort();
        let recorded = match tokio::time::timeout(grace, self.state.store.flush_key_usage()).await {
            Ok(Ok(_)) => true,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "key usage: final flush failed");
                false
            }
            Err(_) => false,
        };
        let audited = self.state.audit.close(grace).await;
        served && recorded && audited
    }
}

/// The file a serving process holds locked, with its pid in it.
pub const SERVE_LOCK_FILE: &str = "serve.lock";

/// An exclusive lock on a data dir, held while `tessera serve` runs on it. CLI commands
/// (`account create`, `keys rotate`, `audit tail`) do not take it and work beside a server.
#[derive(Debug)]
pub struct DataDirLock {
    _file: std::fs::File,
}

/// Lock `dir` for this process, or say which process holds it.
pub fn lock_data_dir(dir: &Path) -> Result<DataDirLock, BoxError> {
    use std::io::{Read as _, Seek as _, Write as _};
    use std::os::unix::fs::OpenOptionsExt as _;
    let path = dir.join(SERVE_LOCK_FILE);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            let holder = if pid.is_empty() {
                "another process".to_owned()
            } else {
                format!("pid {pid}")
            };
            return Err(format!(
                "data dir {} is in use by another `tessera serve` ({holder})",
                dir.display()
            )
            .into());
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(format!("{}: {e}", path.display()).into());
        }
    }
    file.set_len(0)?;
    file.rewind()?;
    writeln!(file, "{}", std::process::id())?;
    file.sync_all()?;
    Ok(DataDirLock { _file: file })
}

/// Bootstrap and start serving on `config.listen` (port 0 picks a free port): HTTPS when
/// `config.tls` names the files, with the listener's deadlines and connection cap.
pub async fn spawn(config: Config, clock: Clock) -> Result<Running, BoxError> {
    // Bind first: a port in use leaves the data dir untouched.
    let listen = config.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => format!("{listen}: address already in use"),
            _ => format!("{listen}: {e}"),
        })?;
    // Then the certificate: an unusable one, too, stops the start before the data dir is
    // touched.
    let tls = match &config.tls {
        Some(files) => {
            let store = CertStore::open(files, std::time::SystemTime::now())?;
            let server_config = store.server_config()?;
            Some((store, server_config))
        }
        None => None,
    };
    let metrics_listener = match config.metrics_listen {
        Some(a) => Some(bind_metrics(a).await?),
        None => None,
    };
    create_data_dir(&config.data_dir)?;
    let data_dir_lock = lock_data_dir(&config.data_dir)?;
    let limits = Limits {
        header_read_timeout: config.header_read_timeout,
        request_timeout: config.request_timeout,
        max_connections: config.max_connections,
    };
    let boot = bootstrap(config, clock).await?;
    let addr = listener.local_addr()?;
    let (metrics_addr, metrics) = match metrics_listener {
        Some(l) => {
            let a = l.local_addr()?;
            (Some(a), Some(serve_metrics(l, boot.state.clone(), limits)))
        }
        None => (None, None),
    };
    let app = crate::http::app(boot.state.clone(), metrics_addr.is_none());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (tls_store, tls_config) = match tls {
        Some((store, server_config)) => {
            crate::http::tls::watch(&store);
            (Some(store), Some(server_config))
        }
        None => (None, None),
    };
    let handle = tokio::spawn(async move {
        // Only an explicit stop shuts down (a dropped `Running` leaves the server serving).
        let stop_signal = async move {
            if stopped.await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        listener::serve(listener, app, limits, tls_config, stop_signal).await;
    });
    let key_usage_flusher =
        store::key_usage::spawn_flusher(boot.state.store.clone(), store::key_usage::FLUSH_INTERVAL);
    Ok(Running {
        key_usage_flusher,
        addr,
        metrics_addr,
        state: boot.state,
        root_credentials_written: boot.root_credentials_written,
        handle,
        tls: tls_store,
        metrics,
        _data_dir_lock: data_dir_lock,
        stop,
    })
}

async fn bind_metrics(addr: SocketAddr) -> Result<tokio::net::TcpListener, BoxError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                format!("{addr} (metrics_listen): address already in use").into()
            }
            _ => format!("{addr} (metrics_listen): {e}").into(),
        })
}

/// Connections the metrics listener serves at once: a Prometheus server scrapes over one, and
/// a flood on the metrics address cannot take more sockets than this.
const METRICS_MAX_CONNECTIONS: usize = 16;

/// Serve `/metrics` on a listener of its own, plain HTTP, under the API listener's deadlines,
/// until told to stop.
fn serve_metrics(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    limits: Limits,
) -> Serving {
    let app = crate::http::metrics_app(state);
    let limits = Limits {
        max_connections: limits.max_connections.min(METRICS_MAX_CONNECTIONS),
        ..limits
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        let stop_signal = async move {
            if stopped.await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        listener::serve(listener, app, limits, None, stop_signal).await;
    });
    Serving { handle, stop }
}

/// A listener's task, and the sender that tells it to stop.
#[derive(Debug)]
struct Serving {
    handle: tokio::task::JoinHandle<()>,
    stop: tokio::sync::oneshot::Sender<()>,
}

/// `tessera keys rotate`: a new current key; the old current becomes the previous one.
///
/// Secrets sealed at rest are first re-sealed under the current key (so none depends on the
/// generation about to be dropped), then the keyring is rotated and saved atomically, then
/// everything is re-sealed under the new key. A crash between steps leaves every blob
/// readable. A running server picks the new keyring up within a second.
pub async fn rotate_keyring(data_dir: &Path) -> Result<String, BoxError> {
    let path = keyring_path(data_dir);
    if !path.exists() {
        return Err(format!(
            "no keyring at {} (start the server once first)",
            path.display()
        )
        .into());
    }
    let shared = SharedKeyring::new(Keyring::load(&path)?, None);
    let before = shared.get();
    let store = Store::open(data_dir, shared)?;
    store
        .apply_one(Change::ResealSecrets { keyring: before })
        .await
        .map_err(|e| format!("{e:?}"))?;

    let mut rotated = Keyring::load(&path)?;
    rotated.rotate(chrono::Utc::now())?;
    rotated.save(&path)?;
    let after = Arc::new(rotated);
    let resealed = store
        .apply_one(Change::ResealSecrets {
            keyring: after.clone(),
        })
        .await
        .map_err(|e| format!("{e:?}"))?;
    let n = match resealed {
        store::Applied::Resealed(n) => n,
        _ => 0,
    };
    Ok(format!(
        "keyring rotated: new current key {}; {n} stored secrets re-sealed",
        after.current_id()
    ))
}

/// `tessera store copy`: the data dir `from` (no server may be running on it) into the
/// cluster's database `to`. What was copied, for the operator.
pub async fn copy_store(
    from: &Path,
    to: &crate::config::Database,
) -> Result<String, crate::BoxError> {
    let _lock = lock_data_dir(from)?;
    let db_path = from.join(store::sqlite::DB_FILE);
    if !db_path.exists() {
        return Err(format!("no tessera database at {}", db_path.display()).into());
    }
    let from_keys = Keyring::load(&keyring_path(from))?;
    // Frames an earlier server left in the journal go into the audit table first.
    let (store, journal) = store::open_local(
        from,
        crate::credentials::SharedKeyring::new(Keyring::load(&keyring_path(from))?, None),
        store::DEFAULT_BUSY_TIMEOUT,
        crate::config::AuditSync::Copy,
    )?;
    journal.close(std::time::Duration::from_secs(10)).await;
    drop((store, journal));
    let source = store::sqlite::open_connection(&db_path, store::DEFAULT_BUSY_TIMEOUT)?;
    let master = to.master_key()?;
    let pg = store::postgres::Pg::connect(to)?;
    let cluster = store::postgres::keyring::cluster_keyring(&pg, master, chrono::Utc::now())?;
    let done = pg.transaction(|tx| {
        store::copy::copy(&source, &from_keys, tx, &cluster.get())
            .map_err(store::StoreError::Internal)
    })?;
    Ok(format!(
        "copied {} rows of {} tables ({} secrets re-sealed under the cluster keyring) and {} audit records from {} into {}",
        done.rows,
        done.tables,
        done.secrets,
        done.audit_records,
        from.display(),
        pg.target
    ))
}
