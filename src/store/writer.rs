//! The single writer: a thread that batches queued jobs into one backend transaction (group
//! commit), one savepoint per job, then rebuilds the snapshot and answers everyone in the batch.
//! Audit records nobody waits for, and batches the audit journal cannot take, are committed in
//! the same transactions (see [`AuditBuf`]).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::oneshot;

use super::backend::{Backend, Batch, Changed};
use super::change::{Applied, Change};
use super::error::StoreError;
use super::model::Snapshot;
use crate::credentials::SharedKeyring;

/// One caller's changes and where its answer goes.
pub(super) struct Job {
    pub changes: Vec<Change>,
    pub reply: oneshot::Sender<Result<Vec<Applied>, StoreError>>,
}

pub(super) enum Msg {
    Write(Job),
    /// Rebuild the snapshot if another process committed since we last looked.
    Refresh(oneshot::Sender<()>),
    /// The audit buffer went from empty to non-empty: wake up and commit it.
    AuditPending,
}

/// Audit records waiting for the next group commit. Producers append here without waking the
/// writer (except the first one after a commit), so a busy server pays one wake-up per batch,
/// not one per record.
#[derive(Default)]
pub(crate) struct AuditBuf {
    /// JSON lines, newline-separated.
    pub lines: String,
    /// Earliest record time in `lines`, ms since epoch.
    pub time_ms: i64,
    /// Callers waiting for their record's commit.
    pub waiters: Vec<oneshot::Sender<bool>>,
    /// Records in `lines`.
    pub count: usize,
}

impl AuditBuf {
    /// Add a record (and who waits for it); true if it is the first of a batch.
    pub(crate) fn push(
        &mut self,
        time_ms: i64,
        line: &str,
        done: Option<oneshot::Sender<bool>>,
    ) -> bool {
        let first = self.lines.is_empty();
        if first {
            self.time_ms = time_ms;
        } else {
            self.lines.push('\n');
            self.time_ms = self.time_ms.min(time_ms);
        }
        self.lines.push_str(line);
        self.count += 1;
        self.waiters.extend(done);
        first
    }

    /// Every record and waiter, leaving `room` (an empty string with capacity, allocated
    /// before the lock was taken) for the next batch.
    pub(crate) fn take_leaving(&mut self, room: String) -> AuditBuf {
        std::mem::replace(
            self,
            AuditBuf {
                lines: room,
                ..AuditBuf::default()
            },
        )
    }

    /// The room to leave for the batch after this one: its size and half again, at most
    /// [`MAX_AUDIT_ROOM`].
    pub(crate) fn room_for_next(&self) -> usize {
        (self.lines.len() + self.lines.len() / 2).min(MAX_AUDIT_ROOM)
    }

    /// Add another batch's records and waiters.
    pub(crate) fn absorb(&mut self, other: AuditBuf) {
        let waiters = other.waiters;
        if !other.lines.is_empty() {
            self.push(other.time_ms, &other.lines, None);
            // `push` counted the batch as one record.
            self.count += other.count.saturating_sub(1);
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

pub(super) struct Writer {
    pub backend: Box<dyn Backend>,
    pub view: Arc<RwLock<Arc<Snapshot>>>,
    pub keyring: Arc<SharedKeyring>,
    pub audit: Arc<std::sync::Mutex<AuditBuf>>,
    pub last_commit: std::time::Instant,
    pub last_version_check: std::time::Instant,
    /// Audit batches this writer commits.
    pub audit_metrics: crate::metrics::AuditStage,
    /// The backend answered its last round trip (`Store::ready`).
    pub ready: Arc<std::sync::atomic::AtomicBool>,
    /// The rows the snapshot was built from, as last read.
    pub tables: super::backend::Tables,
    /// A reload (of the rows or of the keyring) failed: the next look reads everything.
    pub stale: bool,
    /// Bytes of room the audit buffer gets after a commit.
    pub audit_room: usize,
}

/// At most this much room is kept for the next batch of audit records (a batch holds up to
/// `AUDIT_LINGER` of records: about 200 KiB at 90,000 GetCallerIdentity per second).
const MAX_AUDIT_ROOM: usize = 4 << 20;

pub(super) fn writer_loop(mut w: Writer, rx: std::sync::mpsc::Receiver<Msg>) {
    use std::sync::mpsc::RecvTimeoutError;
    loop {
        // Records someone waits for are committed at once (whatever queued meanwhile joins
        // the batch). Records nobody waits for linger up to AUDIT_LINGER so that one commit
        // (one fsync) carries many. With nothing pending, sleep until a job or a nudge
        // arrives, or the backend's poll interval passes (to notice other processes' changes).
        let next = match w.audit_state() {
            (true, true) => Ok(rx.try_recv().unwrap_or(Msg::AuditPending)),
            (true, false) => match AUDIT_LINGER.checked_sub(w.last_commit.elapsed()) {
                None => Ok(rx.try_recv().unwrap_or(Msg::AuditPending)),
                Some(left) => match rx.recv_timeout(left) {
                    Err(RecvTimeoutError::Timeout) => Ok(Msg::AuditPending),
                    other => other,
                },
            },
            (false, _) => rx.recv_timeout(w.backend.poll_interval()),
        };
        let first = match next {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => {
                // Another process (e.g. `tessera account create`, `tessera keys rotate`) may
                // have committed or replaced the keyring.
                let rotated = w.keyring.reload().unwrap_or_else(|_| {
                    w.stale = true;
                    false
                });
                let changed = w.backend.changed_elsewhere();
                w.reload(if rotated { Changed::Anything } else { changed });
                w.publish_ready();
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
        // Take every record queued so far; later ones go in the next batch. Producers append
        // under the lock, and a buffer regrown there copies the whole batch while the other
        // workers wait on the lock (futex sleeps and wake-ups, a few percent of a
        // GetCallerIdentity): the next batch gets room for this one's size and half again,
        // allocated here, before the lock.
        let room = String::with_capacity(w.audit_room);
        let records = w
            .audit
            .lock()
            .map(|mut b| b.take_leaving(room))
            .unwrap_or_default();
        w.audit_room = records.room_for_next();
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

    /// One transaction: the batch's jobs (one savepoint each) and its audit records; then
    /// everyone in the batch hears how it went.
    fn commit(&mut self, batch: Vec<Msg>, records: AuditBuf, flush: bool) {
        let mut jobs = Vec::with_capacity(batch.len());
        let mut refreshes = Vec::new();
        for msg in batch {
            match msg {
                Msg::Write(job) => jobs.push(job),
                Msg::Refresh(done) => refreshes.push(done),
                Msg::AuditPending => {}
            }
        }
        let AuditBuf {
            lines: audit_lines,
            time_ms: audit_time,
            waiters: mut audit_waiters,
            count: audit_count,
        } = records;
        let keyring = self.keyring.get();
        let started = std::time::Instant::now();
        let outcome = self.backend.commit(Batch {
            jobs: jobs.iter().map(|j| j.changes.as_slice()).collect(),
            audit: (!audit_lines.is_empty()).then_some((audit_time, audit_lines.as_str())),
            durable: flush,
            keyring: &keyring,
        });
        if !audit_lines.is_empty() {
            if outcome.audit_written {
                self.audit_metrics.committed(audit_count, started.elapsed());
            } else {
                audit_waiters.clear(); // dropped senders answer `false`
            }
        }
        self.last_commit = std::time::Instant::now();
        // Audit records do not touch the snapshot: their callers hear first.
        for w in audit_waiters {
            let _ = w.send(outcome.committed);
        }
        self.after_commit(outcome.changed, refreshes);
        self.publish_ready();
        // A job the backend gave no result for is dropped: its caller hears "write dropped".
        for (job, result) in jobs.into_iter().zip(outcome.results) {
            let _ = job.reply.send(result);
        }
    }

    /// Look for other processes' commits when asked (a refresh), after snapshot changes, and at
    /// most every VERSION_CHECK otherwise (the idle timeout never fires while requests keep
    /// coming); then reload what changed: the tables our commit wrote and those others did.
    fn after_commit(
        &mut self,
        written: std::collections::BTreeSet<String>,
        refreshes: Vec<oneshot::Sender<()>>,
    ) {
        let mut what = if written.is_empty() {
            Changed::Nothing
        } else {
            Changed::Tables(written)
        };
        let every = VERSION_CHECK.min(self.backend.poll_interval());
        if what != Changed::Nothing
            || !refreshes.is_empty()
            || self.last_version_check.elapsed() >= every
        {
            self.last_version_check = std::time::Instant::now();
            what = merge(what, self.backend.changed_elsewhere());
        }
        self.reload(what);
        for d in refreshes {
            let _ = d.send(());
        }
    }

    fn publish_ready(&self) {
        self.ready.store(
            self.backend.reachable(),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// Read what changed again (everything, or some tables) and rebuild the snapshot from the
    /// rows held here: a change costs a read of the tables it touched, not of the whole store.
    pub(super) fn reload(&mut self, what: Changed) {
        // After a failed reload, the next look reads everything (and the keyring) again.
        let what = if std::mem::take(&mut self.stale) {
            Changed::Anything
        } else {
            what
        };
        if what == Changed::Nothing {
            return;
        }
        // Secrets at rest may have been re-sealed under a rotated key: read the keyring first.
        if self.keyring.reload().is_err() {
            self.stale = true;
        }
        let loaded = match &what {
            Changed::Anything => self.backend.load().map(|t| self.tables = t),
            Changed::Tables(names) => self.backend.load_tables(names, &mut self.tables),
            Changed::Nothing => Ok(()),
        };
        if let Err(e) = loaded {
            // The rows held here may be half read: the next look reads everything.
            self.stale = true;
            tracing::error!(error = %e, "store: snapshot reload failed; keeping the previous one");
            return;
        }
        let snap = Arc::new(Snapshot::build(self.tables.clone(), &self.keyring.get()));
        match self.view.write() {
            Ok(mut g) => *g = snap,
            Err(p) => *p.into_inner() = snap,
        }
    }
}

/// Both reloads in one: everything beats some tables.
fn merge(a: Changed, b: Changed) -> Changed {
    match (a, b) {
        (Changed::Anything, _) | (_, Changed::Anything) => Changed::Anything,
        (Changed::Nothing, x) | (x, Changed::Nothing) => x,
        (Changed::Tables(mut x), Changed::Tables(y)) => {
            x.extend(y);
            Changed::Tables(x)
        }
    }
}
