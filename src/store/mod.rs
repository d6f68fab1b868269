//! Storage behind an interface. Requests read an in-memory [`Snapshot`] of the identity store
//! (no storage round trip on the hot path); every change is a typed [`Change`] that
//! [`Store::apply`] hands to one writer thread, which commits many callers' changes in one
//! transaction (group commit, a savepoint each) through a [`Backend`], durably before anyone
//! hears back, and replaces the snapshot before the callers are answered.
//!
//! What this module owns: the snapshot, the writer, sealing secrets at rest and compiling stored
//! policies into the snapshot. What it must never do: speak AWS. Failures are [`StoreError`]s
//! that say which entity, which conflict or which limit; the IAM layer owns AWS's quotas
//! (passed in as `max_*` parameters) and words every message.
//!
//! [`sql`] is the SQL, written once; [`sqlite`] (the embedded default) and [`postgres`] (a
//! cluster's database) run it. With SQLite, the audit journal ([`audit_journal`]) is the local
//! [`AuditSink`](crate::audit::AuditSink): it commits records that guard credentials to a file
//! of its own, copied into the backend's audit table later, while the writer commits the
//! records nobody waits for with its transactions. A cluster keeps no journal: the writer
//! commits every record.

pub mod audit_journal;
pub(crate) mod backend;
pub(crate) mod change;
pub mod copy;
pub(crate) mod error;
pub mod key_usage;
pub(crate) mod model;
pub(crate) mod policies;
pub(crate) mod postgres;
pub(crate) mod sql;
pub(crate) mod sqlite;
#[cfg(test)]
mod tests;
mod writer;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::oneshot;

pub(crate) use audit_journal::AuditJournal;
pub(crate) use backend::Backend;
#[cfg(test)]
use change::OwnerId;
pub(crate) use change::{Applied, Change, NewPolicy};
pub(crate) use error::{Conflict, Entity, StoreError};
pub(crate) use model::*;
pub(crate) use sqlite::SqliteBackend;

use crate::credentials::SharedKeyring;
use writer::{AuditBuf, Job, Msg, Writer};

/// A handle on the store: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Store {
    tx: std::sync::mpsc::Sender<Msg>,
    /// Audit records for the writer's next group commit.
    audit: Arc<std::sync::Mutex<AuditBuf>>,
    view: Arc<RwLock<Arc<Snapshot>>>,
    /// Long-term keys' last uses, recorded off the write path.
    usage: key_usage::SharedKeyUsage,
    /// Each account's newest credential report, by account id (not in the snapshot: read at
    /// start, replaced here once a new one commits).
    reports: Arc<RwLock<HashMap<String, Arc<CredentialReport>>>>,
    /// The audit trail's commit metrics (this store's writer, and the journal beside it).
    audit_metrics: crate::metrics::AuditMetrics,
    /// The writer's last round trip to the backend succeeded.
    ready: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

/// How long a write waits for another process holding the database lock before it fails.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A data dir's store and audit sink, as the server runs them: the SQLite database under `dir`,
/// waiting at most `busy_timeout` for another process's lock, and the audit journal beside it,
/// synced as `audit_sync` says.
pub fn open_local(
    dir: &Path,
    keyring: Arc<SharedKeyring>,
    busy_timeout: Duration,
    audit_sync: crate::config::AuditSync,
) -> Result<(Store, AuditJournal), crate::BoxError> {
    let backend = SqliteBackend::open(dir, busy_timeout)?;
    let archive = backend.frame_archive()?;
    let store = Store::start(Box::new(backend), keyring)?;
    let audit = AuditJournal::start(dir, archive, audit_sync, store.clone())?;
    Ok((store, audit))
}

/// A cluster node's keyring, store and audit sink: the PostgreSQL database `db` (migrated if
/// needed) and the keyring it holds, opened with the master key (made at `now` by the first
/// node). Audit records join the writer's group commits, each record a row.
pub fn open_postgres(
    db: &crate::config::Database,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Arc<SharedKeyring>, Store, AuditJournal), crate::BoxError> {
    let master = db.master_key()?;
    let pg = postgres::Pg::connect(db)?;
    let keyring = postgres::keyring::cluster_keyring(&pg, master, now)?;
    let store = Store::start(Box::new(postgres::PgBackend::new(pg)), keyring.clone())?;
    Ok((keyring, store.clone(), AuditJournal::writer_only(store)))
}

/// `tessera keys rotate --database-url`: rotate the keyring of the cluster on `db` at `now`
/// (every node takes it within a second); what was done, for the operator.
pub fn rotate_cluster_keyring(
    db: &crate::config::Database,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String, crate::BoxError> {
    let master = db.master_key()?;
    let pg = postgres::Pg::connect(db)?;
    let (id, n) = postgres::keyring::rotate(&pg, &master, now)?;
    Ok(format!(
        "cluster keyring rotated: new current key {id}; {n} stored secrets re-sealed"
    ))
}

impl Store {
    /// Open (creating and migrating if needed) the SQLite database under `dir` and start the
    /// writer thread.
    pub fn open(dir: &Path, keyring: Arc<SharedKeyring>) -> Result<Store, crate::BoxError> {
        Self::open_with(dir, keyring, DEFAULT_BUSY_TIMEOUT)
    }

    /// As [`Store::open`], waiting at most `busy_timeout` for another process's lock.
    pub fn open_with(
        dir: &Path,
        keyring: Arc<SharedKeyring>,
        busy_timeout: Duration,
    ) -> Result<Store, crate::BoxError> {
        let backend = SqliteBackend::open(dir, busy_timeout)?;
        Ok(Self::start(Box::new(backend), keyring)?)
    }

    /// Load the snapshot from `backend` and start the writer thread that owns it.
    pub fn start(
        mut backend: Box<dyn Backend>,
        keyring: Arc<SharedKeyring>,
    ) -> Result<Store, StoreError> {
        keyring.reload_if_changed();
        let tables = backend.load()?;
        let usage = Arc::new(key_usage::KeyUsage::new(
            tables
                .access_keys
                .iter()
                .filter_map(|k| Some((k.id.clone(), k.last_used.clone()?))),
        ));
        let snap = Snapshot::build(tables.clone(), &keyring.get());
        let view = Arc::new(RwLock::new(Arc::new(snap)));
        let reports = backend
            .load_credential_reports()?
            .into_iter()
            .map(|r| (r.account.clone(), Arc::new(r)))
            .collect();
        let reports = Arc::new(RwLock::new(reports));
        let (tx, rx) = std::sync::mpsc::channel::<Msg>();
        let audit = Arc::new(std::sync::Mutex::new(AuditBuf::default()));
        let audit_metrics = crate::metrics::AuditMetrics::new()
            .map_err(|e| StoreError::internal(format!("audit metrics: {e}")))?;
        let now = std::time::Instant::now();
        // The snapshot is loaded: ready while the backend answers.
        let ready = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let writer = Writer {
            backend,
            view: view.clone(),
            keyring,
            audit: audit.clone(),
            last_commit: now,
            last_version_check: now,
            audit_metrics: audit_metrics.writer.clone(),
            ready: ready.clone(),
            tables,
            stale: false,
            audit_room: 0,
        };
        std::thread::Builder::new()
            .name("tessera-store-writer".into())
            .spawn(move || writer::writer_loop(writer, rx))
            .map_err(|e| StoreError::internal(format!("cannot start the writer: {e}")))?;
        Ok(Store {
            tx,
            audit,
            view,
            usage,
            reports,
            audit_metrics,
            ready,
        })
    }

    /// Whether the store can take writes: its snapshot is loaded and its backend answered the
    /// last round trip (`GET /readyz`).
    pub fn ready(&self) -> bool {
        self.ready.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The audit trail's commit metrics.
    pub(crate) fn audit_metrics(&self) -> &crate::metrics::AuditMetrics {
        &self.audit_metrics
    }

    /// The current snapshot. Cheap: one `Arc` clone.
    pub fn view(&self) -> Arc<Snapshot> {
        match self.view.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Apply `changes` in order, all or nothing, committed together with whatever else is
    /// queued (group commit). Returns once the commit is durable and the snapshot shows it: one
    /// [`Applied`] per change, or the first change's error (and nothing applied).
    pub async fn apply(&self, changes: Vec<Change>) -> Result<Vec<Applied>, StoreError> {
        let (reply, wait) = oneshot::channel();
        self.tx
            .send(Msg::Write(Job { changes, reply }))
            .map_err(|_| StoreError::internal("store: writer thread is gone"))?;
        wait.await
            .map_err(|_| StoreError::internal("store: write dropped"))?
    }

    /// Long-term keys' last uses ([`key_usage`]).
    pub fn key_usage(&self) -> &key_usage::KeyUsage {
        &self.usage
    }

    /// The account's newest credential report, if one was made.
    pub fn credential_report(&self, account: &str) -> Option<Arc<CredentialReport>> {
        let g = match self.reports.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.get(account).cloned()
    }

    /// Store `report` as its account's report (durably, through the writer), unless a newer
    /// one is already there; answers the report the account has now.
    pub async fn put_credential_report(
        &self,
        report: CredentialReport,
    ) -> Result<Arc<CredentialReport>, StoreError> {
        let report = Arc::new(report);
        self.apply_one(Change::PutCredentialReport {
            report: report.clone(),
        })
        .await?;
        let mut g = match self.reports.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let slot = g
            .entry(report.account.clone())
            .or_insert_with(|| report.clone());
        if slot.generated_at < report.generated_at {
            *slot = report;
        }
        Ok(slot.clone())
    }

    /// [`Store::apply`] for one change.
    pub async fn apply_one(&self, change: Change) -> Result<Applied, StoreError> {
        self.apply(vec![change])
            .await?
            .pop()
            .ok_or_else(|| StoreError::internal("store: no result"))
    }

    /// Re-read the backend if another process changed it. Used on lookup misses.
    pub async fn refresh(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Refresh(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Hand the writer a batch of audit records (and their waiters) to commit with its next
    /// transaction; a dropped waiter hears "not committed".
    pub(crate) fn append_audit_batch(&self, records: AuditBuf) {
        let Ok(mut buf) = self.audit.lock() else {
            return;
        };
        buf.absorb(records);
        drop(buf);
        let _ = self.tx.send(Msg::AuditPending);
    }
}

/// The writer as an audit sink: records join its next group commit. Records nobody waits for
/// linger up to 10 ms for company (one commit, without its own flush, carries many); a waited
/// record's commit is flushed before its caller hears back.
impl crate::audit::AuditSink for Store {
    async fn append(&self, time_ms: i64, line: String, wait: bool) -> bool {
        let (done, committed) = if wait {
            let (d, c) = oneshot::channel();
            (Some(d), Some(c))
        } else {
            (None, None)
        };
        if !self.append_waiting(time_ms, &line, done) {
            return false;
        }
        match committed {
            Some(c) => c.await.unwrap_or(false),
            None => true,
        }
    }
}

impl Store {
    /// Queue one record for the writer; `done` hears whether it was committed. Returns false
    /// when the writer is gone.
    pub(crate) fn append_waiting(
        &self,
        time_ms: i64,
        line: &str,
        done: Option<oneshot::Sender<bool>>,
    ) -> bool {
        let nudge = {
            let Ok(mut buf) = self.audit.lock() else {
                return false;
            };
            // Wake the writer for the first record of a batch, and for the first caller that
            // waits (a writer lingering over records nobody waits for must stop lingering).
            let first_waiter = done.is_some() && buf.waiters.is_empty();
            buf.push(time_ms, line, done) || first_waiter
        };
        !nudge || self.tx.send(Msg::AuditPending).is_ok()
    }
}
