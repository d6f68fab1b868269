//! The only module that speaks SQL.
//!
//! SQLite in WAL mode under the data dir, versioned migrations ([`schema`]), one writer thread
//! that commits in groups, and an in-memory [`Snapshot`] of the identity store that every write
//! replaces before it is acknowledged. Requests read the snapshot (no SQL on the hot path); every
//! change goes through [`Store::write`], whose closure runs inside a transaction: it is durable
//! (`synchronous=FULL`) before its caller hears back, so a `kill -9` loses nothing acknowledged.
//! Audit records that guard credentials are committed to the audit [`journal`] by a task on the
//! runtime (see `journal_task`), which survives any crash of tessera, and copied into SQLite
//! (synced) in bulk within about 100 ms.
//!
//! Another process (`tessera account create`) may write the same database: the server notices
//! through `PRAGMA data_version`, checked whenever a lookup misses, after a second idle, and at
//! most 200 ms apart while group commits keep the writer busy.

pub mod identity;
pub mod journal;
mod journal_task;
pub mod model;
pub mod policies;
pub mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction};
use tokio::sync::oneshot;

use crate::config::AuditSync;
use crate::error::{ApiError, ApiResult};
use crate::keys::SharedKeyring;

pub use model::*;

/// What a write job does to the identity snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// Changes IAM state: the snapshot is rebuilt before the caller is answered.
    Iam,
    /// Appends records nobody reads from the snapshot (audit): no rebuild.
    Append,
}

/// Runs inside the batch transaction; says whether it succeeded and returns who to tell once
/// the batch has (or has not) committed.
type Job = Box<dyn FnOnce(&Transaction<'_>) -> (bool, Responder) + Send>;
type Responder = Box<dyn FnOnce(bool) + Send>;

enum Msg {
    Write {
        kind: WriteKind,
        job: Job,
    },
    /// Rebuild the snapshot if another connection committed since we last looked.
    Refresh(oneshot::Sender<()>),
    /// The audit buffer went from empty to non-empty: wake up and commit it.
    AuditPending,
}

/// Audit records waiting for the next group commit. Producers append here without waking the
/// writer (except the first one after a commit), so a busy server pays one wake-up per batch,
/// not one per record.
#[derive(Default)]
struct AuditBuf {
    /// JSON lines, newline-separated.
    lines: String,
    /// Earliest record time in `lines`, ms since epoch.
    time_ms: i64,
    /// Callers waiting for their record's commit.
    waiters: Vec<oneshot::Sender<bool>>,
}

impl AuditBuf {
    /// Add a record (and who waits for it); true if it is the first of a batch.
    fn push(&mut self, time_ms: i64, line: &str, done: Option<oneshot::Sender<bool>>) -> bool {
        let first = self.lines.is_empty();
        if first {
            self.time_ms = time_ms;
        } else {
            self.lines.push('\n');
            self.time_ms = self.time_ms.min(time_ms);
        }
        self.lines.push_str(line);
        self.waiters.extend(done);
        first
    }

    /// Add another batch's records and waiters.
    fn absorb(&mut self, other: AuditBuf) {
        let waiters = other.waiters;
        if !other.lines.is_empty() {
            self.push(other.time_ms, &other.lines, None);
        }
        self.waiters.extend(waiters);
    }
}

/// How long audit records nobody waits for may wait for company before they are committed.
const AUDIT_LINGER: Duration = Duration::from_millis(10);

/// Under continuous load, how often the writer looks for other processes' commits.
const VERSION_CHECK: Duration = Duration::from_millis(200);

/// Most jobs committed in one transaction.
const MAX_BATCH: usize = 512;

#[derive(Clone)]
pub struct Store {
    tx: std::sync::mpsc::Sender<Msg>,
    audit: Arc<std::sync::Mutex<AuditBuf>>,
    /// Where records that guard credentials go (`None`: to the writer, like the rest).
    journal: Option<Arc<journal_task::Handle>>,
    view: Arc<RwLock<Arc<Snapshot>>>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// How long a write waits for another process holding the database lock before it fails.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub fn open_connection(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy_timeout)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a commit is on disk before we acknowledge it (WAL + NORMAL could lose the last
    // transactions on power loss).
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

impl Store {
    /// Open (creating and migrating if needed) `<dir>/tessera.db` and start the writer thread.
    pub fn open(dir: &Path, keyring: Arc<SharedKeyring>) -> Result<Store, crate::BoxError> {
        Self::open_with(dir, keyring, DEFAULT_BUSY_TIMEOUT, AuditSync::default())
    }

    /// As [`Store::open`], waiting at most `busy_timeout` for another process's lock, and
    /// syncing the audit journal as `audit_sync` says.
    pub fn open_with(
        dir: &Path,
        keyring: Arc<SharedKeyring>,
        busy_timeout: Duration,
        audit_sync: AuditSync,
    ) -> Result<Store, crate::BoxError> {
        let path = dir.join("tessera.db");
        let mut conn = open_connection(&path, busy_timeout)?;
        schema::migrate(&mut conn)?;
        keyring.reload_if_changed();
        let snap = Snapshot::load(&conn, &keyring.get())?;
        let view = Arc::new(RwLock::new(Arc::new(snap)));
        let (tx, rx) = std::sync::mpsc::channel::<Msg>();
        let audit = Arc::new(std::sync::Mutex::new(AuditBuf::default()));
        let thread_audit = audit.clone();
        let thread_view = view.clone();
        let journal = journal_task::start(
            dir,
            &mut conn,
            &path,
            busy_timeout,
            audit_sync,
            tx.clone(),
            audit.clone(),
        )?
        .map(Arc::new);
        let now = std::time::Instant::now();
        let writer = Writer {
            seen_version: data_version(&conn),
            conn,
            view: thread_view,
            keyring,
            audit: thread_audit,
            // The connection opens with synchronous=FULL.
            flushing: true,
            last_commit: now,
            last_version_check: now,
        };
        std::thread::Builder::new()
            .name("tessera-store-writer".into())
            .spawn(move || writer_loop(writer, rx))?;
        Ok(Store {
            tx,
            audit,
            journal,
            view,
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current snapshot. Cheap: one `Arc` clone.
    pub fn view(&self) -> Arc<Snapshot> {
        match self.view.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Run `f` inside a transaction on the writer thread, committed together with whatever else
    /// is queued (group commit). Returns once the commit is durable and, for [`WriteKind::Iam`],
    /// the snapshot shows it. An `Err` from `f` rolls back only `f`'s own changes.
    pub async fn write<R, F>(&self, kind: WriteKind, f: F) -> ApiResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> ApiResult<R> + Send + 'static,
    {
        let (reply, wait) = oneshot::channel::<ApiResult<R>>();
        let job: Job = Box::new(move |tx| {
            let result = f(tx);
            let ok = result.is_ok();
            let responder: Responder = Box::new(move |committed| {
                let out = match result {
                    Ok(_) if !committed => {
                        Err(ApiError::internal().with_detail("store: commit failed"))
                    }
                    other => other,
                };
                let _ = reply.send(out);
            });
            (ok, responder)
        });
        self.tx
            .send(Msg::Write { kind, job })
            .map_err(|_| ApiError::internal().with_detail("store: writer thread is gone"))?;
        wait.await
            .map_err(|_| ApiError::internal().with_detail("store: write dropped"))?
    }

    /// Append an audit record (one JSON line) to the next group commit. With `wait`, returns
    /// whether it was committed; without, returns `true` once it is queued.
    pub async fn append_audit(&self, time_ms: i64, line: String, wait: bool) -> bool {
        let (done, committed) = if wait {
            let (d, c) = oneshot::channel();
            (Some(d), Some(c))
        } else {
            (None, None)
        };
        // Records someone waits for go to the journal task while there is one.
        let done = match (&self.journal, done) {
            // Given back when the task is gone: then the writer commits it.
            (Some(j), Some(d)) => j.0.push(time_ms, &line, d).err(),
            (_, d) => d,
        };
        if wait && done.is_none() {
            return match committed {
                Some(c) => c.await.unwrap_or(false),
                None => false,
            };
        }
        let nudge = {
            let Ok(mut buf) = self.audit.lock() else {
                return false;
            };
            // Wake the writer for the first record of a batch, and for the first caller that
            // waits (a writer lingering over records nobody waits for must stop lingering).
            let first_waiter = done.is_some() && buf.waiters.is_empty();
            buf.push(time_ms, &line, done) || first_waiter
        };
        if nudge && self.tx.send(Msg::AuditPending).is_err() {
            return false;
        }
        match committed {
            Some(c) => c.await.unwrap_or(false),
            None => true,
        }
    }

    /// Re-read the database if another process changed it. Used on lookup misses.
    pub async fn refresh(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Refresh(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

fn data_version(conn: &Connection) -> i64 {
    conn.prepare_cached("PRAGMA data_version")
        .and_then(|mut st| st.query_row([], |r| r.get(0)))
        .unwrap_or(-1)
}

fn reload(conn: &Connection, keyring: &SharedKeyring, view: &RwLock<Arc<Snapshot>>) {
    // Secrets at rest may have been re-sealed under a rotated key: read the keyring first.
    keyring.reload_if_changed();
    match Snapshot::load(conn, &keyring.get()) {
        Ok(snap) => match view.write() {
            Ok(mut g) => *g = Arc::new(snap),
            Err(p) => *p.into_inner() = Arc::new(snap),
        },
        Err(e) => {
            tracing::error!(error = %e, "store: snapshot reload failed; keeping the previous one")
        }
    }
}

/// The newest journal frame already copied into the audit table.
pub fn journal_last_seq(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT last_seq FROM audit_journal WHERE id = 1", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|v| u64::try_from(v).unwrap_or(0))
}

/// The audit journal's file name under the data dir.
pub const JOURNAL_FILE: &str = "audit.journal";

/// The single writer: batches queued jobs into one transaction (group commit), one savepoint
/// per job, then rebuilds the snapshot and answers everyone in the batch. Audit records that
/// guard credentials go to the journal task instead, and reach the writer only when the journal
/// cannot take them.
struct Writer {
    conn: Connection,
    view: Arc<RwLock<Arc<Snapshot>>>,
    keyring: Arc<SharedKeyring>,
    audit: Arc<std::sync::Mutex<AuditBuf>>,
    /// The connection's `synchronous` mode is FULL.
    flushing: bool,
    seen_version: i64,
    last_commit: std::time::Instant,
    last_version_check: std::time::Instant,
}

fn writer_loop(mut w: Writer, rx: std::sync::mpsc::Receiver<Msg>) {
    use std::sync::mpsc::RecvTimeoutError;
    loop {
        // Records someone waits for are committed at once (whatever queued meanwhile joins
        // the batch). Records nobody waits for linger up to AUDIT_LINGER so that one commit
        // (one fsync) carries many. With nothing pending, sleep until a job or a nudge
        // arrives, or a second passes (to notice other processes' changes).
        let next = match w.audit_state() {
            (true, true) => Ok(rx.try_recv().unwrap_or(Msg::AuditPending)),
            (true, false) => match AUDIT_LINGER.checked_sub(w.last_commit.elapsed()) {
                None => Ok(rx.try_recv().unwrap_or(Msg::AuditPending)),
                Some(left) => match rx.recv_timeout(left) {
                    Err(RecvTimeoutError::Timeout) => Ok(Msg::AuditPending),
                    other => other,
                },
            },
            (false, _) => rx.recv_timeout(Duration::from_secs(1)),
        };
        let first = match next {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => {
                // Another process (e.g. `tessera account create`, `tessera keys rotate`) may
                // have committed or replaced the keyring.
                let rotated = w.keyring.reload_if_changed();
                let v = data_version(&w.conn);
                if v != w.seen_version || rotated {
                    w.seen_version = v;
                    reload(&w.conn, &w.keyring, &w.view);
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut batch = vec![first];
        // Records nobody waits for keep lingering after a nudge, so that under load one commit
        // per AUDIT_LINGER carries them all; a job, a refresh or a waiting record ends it.
        if matches!(batch.first(), Some(Msg::AuditPending)) {
            loop {
                if w.audit_state().1 {
                    break;
                }
                let Some(left) = AUDIT_LINGER.checked_sub(w.last_commit.elapsed()) else {
                    break;
                };
                match rx.recv_timeout(left) {
                    Ok(Msg::AuditPending) => {}
                    Ok(m) => {
                        batch.push(m);
                        break;
                    }
                    Err(_) => break,
                }
            }
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        // Take every record queued so far; later ones go in the next batch.
        let records = w
            .audit
            .lock()
            .map(|mut b| std::mem::take(&mut *b))
            .unwrap_or_default();
        // A batch that anyone waits for (a job, or an audit record guarding credentials) is
        // flushed to disk before its callers hear back. A batch of audit records nobody waits
        // for is committed without its own flush: it survives a crash of this process (the
        // kernel has it), and the next flushed commit makes it durable against power loss too.
        let jobs = batch.iter().any(|m| matches!(m, Msg::Write { .. }));
        let flush = jobs || !records.waiters.is_empty();
        w.commit(batch, records, flush);
    }
}

impl Writer {
    /// (records pending, someone waiting for them)
    fn audit_state(&self) -> (bool, bool) {
        self.audit
            .lock()
            .map(|b| (!b.lines.is_empty(), !b.waiters.is_empty()))
            .unwrap_or((false, false))
    }

    /// One transaction: the batch's jobs (one savepoint each) and
    /// its audit records; then everyone in the batch hears how it went.
    fn commit(&mut self, batch: Vec<Msg>, records: AuditBuf, flush: bool) {
        let mut responders: Vec<Responder> = Vec::with_capacity(batch.len());
        let mut refreshes = Vec::new();
        let AuditBuf {
            lines: audit_lines,
            time_ms: audit_time,
            waiters: mut audit_waiters,
        } = records;
        let mut iam_changed = false;
        if flush != self.flushing {
            let mode = if flush { "FULL" } else { "NORMAL" };
            match self.conn.pragma_update(None, "synchronous", mode) {
                Ok(()) => self.flushing = flush,
                Err(e) => tracing::error!(error = %e, "store: cannot set synchronous mode"),
            }
        }
        let committed = match self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        {
            Ok(tx) => {
                for msg in batch {
                    match msg {
                        Msg::Write { kind, job } => {
                            if tx.execute_batch("SAVEPOINT job").is_err() {
                                continue; // dropping the job answers its caller with an error
                            }
                            let (ok, responder) = job(&tx);
                            let end = if ok {
                                "RELEASE job"
                            } else {
                                "ROLLBACK TO job; RELEASE job"
                            };
                            if tx.execute_batch(end).is_err() {
                                tracing::error!("store: savepoint release failed");
                            }
                            iam_changed |= ok && kind == WriteKind::Iam;
                            responders.push(responder);
                        }
                        Msg::Refresh(done) => refreshes.push(done),
                        Msg::AuditPending => {}
                    }
                }
                if !audit_lines.is_empty() {
                    // The batch's records as one row: one statement however many there are.
                    let inserted = tx
                        .prepare_cached("INSERT INTO audit (time, records) VALUES (?1, ?2)")
                        .and_then(|mut st| st.execute(rusqlite::params![audit_time, audit_lines]));
                    if let Err(e) = inserted {
                        tracing::error!(error = %e, "store: audit insert failed");
                        audit_waiters.clear(); // dropped senders answer `false`
                    }
                }
                match tx.commit() {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::error!(error = %e, "store: commit failed");
                        false
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "store: cannot begin transaction");
                for msg in batch {
                    if let Msg::Refresh(done) = msg {
                        refreshes.push(done);
                    }
                }
                // Audit waiters and jobs are dropped: their callers hear "not committed".
                false
            }
        };
        self.last_commit = std::time::Instant::now();
        // Nobody hears "committed" for a batch that should have been flushed and was not.
        let committed = committed && (self.flushing || !flush);
        // Audit records do not touch the snapshot: their callers hear first.
        for w in audit_waiters {
            let _ = w.send(committed);
        }
        self.after_commit(iam_changed, refreshes);
        for r in responders {
            r(committed);
        }
    }

    /// Look for other processes' commits when asked (a refresh), after IAM changes, and at most
    /// every VERSION_CHECK otherwise (the idle timeout never fires while requests keep coming);
    /// our own commits leave `data_version` alone.
    fn after_commit(&mut self, iam_changed: bool, refreshes: Vec<oneshot::Sender<()>>) {
        if iam_changed
            || !refreshes.is_empty()
            || self.last_version_check.elapsed() >= VERSION_CHECK
        {
            self.last_version_check = std::time::Instant::now();
            let v = data_version(&self.conn);
            if iam_changed || v != self.seen_version {
                self.seen_version = v;
                reload(&self.conn, &self.keyring, &self.view);
            }
        }
        for d in refreshes {
            let _ = d.send(());
        }
    }
}
