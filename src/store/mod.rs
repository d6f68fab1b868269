//! The only module that speaks SQL.
//!
//! SQLite in WAL mode under the data dir, versioned migrations ([`schema`]), one writer thread
//! that commits in groups, and an in-memory [`Snapshot`] of the identity store that every write
//! replaces before it is acknowledged. Requests read the snapshot (no SQL on the hot path); every
//! change goes through [`Store::write`], whose closure runs inside a transaction: it is durable
//! (`synchronous=FULL`) before its caller hears back, so a `kill -9` loses nothing acknowledged.
//!
//! Another process (`tessera account create`) may write the same database: the server notices
//! through `PRAGMA data_version`, checked every second and whenever a lookup misses.

pub mod identity;
pub mod model;
pub mod policies;
pub mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction};
use tokio::sync::oneshot;

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
    /// One audit record (a JSON line). All records of a batch go into one row.
    Audit {
        time_ms: i64,
        line: String,
        done: Option<oneshot::Sender<bool>>,
    },
}

/// Most jobs committed in one transaction.
const MAX_BATCH: usize = 512;

#[derive(Clone)]
pub struct Store {
    tx: std::sync::mpsc::Sender<Msg>,
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
        Self::open_with(dir, keyring, DEFAULT_BUSY_TIMEOUT)
    }

    /// As [`Store::open`], waiting at most `busy_timeout` for another process's lock.
    pub fn open_with(
        dir: &Path,
        keyring: Arc<SharedKeyring>,
        busy_timeout: Duration,
    ) -> Result<Store, crate::BoxError> {
        let path = dir.join("tessera.db");
        let mut conn = open_connection(&path, busy_timeout)?;
        schema::migrate(&mut conn)?;
        keyring.reload_if_changed();
        let snap = Snapshot::load(&conn, &keyring.get())?;
        let view = Arc::new(RwLock::new(Arc::new(snap)));
        let (tx, rx) = std::sync::mpsc::channel::<Msg>();
        let thread_view = view.clone();
        std::thread::Builder::new()
            .name("tessera-store-writer".into())
            .spawn(move || writer_loop(conn, rx, thread_view, keyring))?;
        Ok(Store { tx, view, path })
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
        if !wait {
            return self
                .tx
                .send(Msg::Audit {
                    time_ms,
                    line,
                    done: None,
                })
                .is_ok();
        }
        let (done, committed) = oneshot::channel();
        if self
            .tx
            .send(Msg::Audit {
                time_ms,
                line,
                done: Some(done),
            })
            .is_err()
        {
            return false;
        }
        committed.await.unwrap_or(false)
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

/// The single writer: batches queued jobs into one transaction (group commit), one savepoint
/// per job, then rebuilds the snapshot and answers everyone in the batch.
fn writer_loop(
    mut conn: Connection,
    rx: std::sync::mpsc::Receiver<Msg>,
    view: Arc<RwLock<Arc<Snapshot>>>,
    keyring: Arc<SharedKeyring>,
) {
    use std::sync::mpsc::RecvTimeoutError;
    let mut seen_version = data_version(&conn);
    loop {
        let first = match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => {
                // Another process (e.g. `tessera account create`, `tessera keys rotate`) may
                // have committed or replaced the keyring.
                let rotated = keyring.reload_if_changed();
                let v = data_version(&conn);
                if v != seen_version || rotated {
                    seen_version = v;
                    reload(&conn, &keyring, &view);
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        let mut responders: Vec<Responder> = Vec::with_capacity(batch.len());
        let mut refreshes = Vec::new();
        let mut audit_lines = String::new();
        let mut audit_time = i64::MAX;
        let mut audit_waiters = Vec::new();
        let mut iam_changed = false;
        let committed = match conn
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
                        Msg::Audit {
                            time_ms,
                            line,
                            done,
                        } => {
                            if !audit_lines.is_empty() {
                                audit_lines.push('\n');
                            }
                            audit_lines.push_str(&line);
                            audit_time = audit_time.min(time_ms);
                            audit_waiters.extend(done);
                        }
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
        let v = data_version(&conn);
        if iam_changed || v != seen_version {
            seen_version = v;
            reload(&conn, &keyring, &view);
        }
        for r in responders {
            r(committed);
        }
        for d in refreshes {
            let _ = d.send(());
        }
        for w in audit_waiters {
            let _ = w.send(committed);
        }
    }
}
