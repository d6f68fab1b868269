//! The local audit sink: the audit [`journal`], its one writer (the journal task, a task on the
//! server's own runtime), and the copier thread that moves the journal's frames into the
//! backend's audit table. [`AuditJournal`] is what the server appends records to; [`tail`] is
//! how `tessera audit tail` reads them back.
//!
//! A request that waits for its audit record (it hands out credentials or changed IAM state)
//! queues the record here. The task wakes once per batch, after the runtime has run every other
//! ready request (so the batch holds all records queued meanwhile), writes the batch as one
//! journal frame with one `pwrite` into the page cache, and answers its waiters. Running on the
//! runtime matters: handing each batch to a thread and being woken back by it cost AssumeRole
//! about 13 µs of CPU per request here (README, "Measured"); a task is woken, and wakes its
//! waiters, without a system call.
//!
//! With `audit_sync = "batch"` the journal is opened with `O_DIRECT | O_DSYNC` and each write
//! runs on the blocking pool, so a batch is on the device before its requests hear back (at the
//! cost of that thread hand-off and a device flush per batch).
//!
//! The copier (a [`FrameArchive`]: with SQLite, its own connection, `synchronous=FULL`) copies
//! frames into the audit table when no batch has come for [`COPY_IDLE`], and at least every
//! [`COPY_AGE`]. Until a frame's copy is committed its space in the ring is not written again.
//! If the journal is full or a write fails, the batch goes to the store's writer instead, which
//! commits it (synced) before answering. Records nobody waits for go to the writer too: it
//! commits them with its own transactions.

pub mod journal;
pub(crate) mod tail;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::backend::FrameArchive;
use super::writer::AuditBuf;
use super::{Store, StoreError};
use crate::config::AuditSync;
use journal::Journal;

/// The audit journal's file name under the data dir.
pub const JOURNAL_FILE: &str = "audit.journal";

/// Frames are copied once no batch has come for this long...
const COPY_IDLE: Duration = Duration::from_millis(10);
/// ... and at most this long after they were written: the longest a record lives only in the
/// page cache (the window a power loss, not a crash of tessera, could lose).
pub const COPY_AGE: Duration = Duration::from_millis(100);

/// Where the server's audit records go: records someone waits for to the journal task (while
/// there is one), the rest to the store's writer.
#[derive(Clone)]
pub struct AuditJournal {
    journal: Option<Arc<Handle>>,
    store: Store,
}

impl std::fmt::Debug for AuditJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditJournal")
            .field("journal", &self.journal.is_some())
            .finish_non_exhaustive()
    }
}

impl AuditJournal {
    /// Open the journal under `dir`, copy what an earlier process left in it (frames not yet in
    /// the audit table) through `archive` durably, and start the copier and the journal task.
    /// Without a runtime to run the task, when another process owns the journal, or when it
    /// cannot be used, every record goes to `store`'s writer.
    pub fn start(
        dir: &Path,
        archive: Box<dyn FrameArchive>,
        audit_sync: AuditSync,
        store: Store,
    ) -> Result<AuditJournal, crate::BoxError> {
        let journal = start(dir, archive, audit_sync, store.clone())?.map(Arc::new);
        Ok(AuditJournal { journal, store })
    }

    /// No journal: every record goes to `store`'s writer, which commits records someone waits
    /// for (durably) before they hear back. A cluster's audit trail, in its database.
    pub fn writer_only(store: Store) -> AuditJournal {
        AuditJournal {
            journal: None,
            store,
        }
    }

    /// Whether records someone waits for go to the journal.
    pub fn has_journal(&self) -> bool {
        self.journal.is_some()
    }

    /// Shut the audit trail down cleanly, waiting at most `grace`: the journal takes no more
    /// records (later ones go straight to the writer), its last frames are copied into the
    /// audit table and synced, and every record queued for the writer is committed. Whether
    /// all of it finished in time.
    pub async fn close(&self, grace: Duration) -> bool {
        let deadline = Instant::now() + grace;
        let mut copied = true;
        if let Some(h) = &self.journal {
            h.0.closed.store(true, Ordering::Release);
            h.0.notify.notify_one();
            while !h.0.copier_done.load(Ordering::Acquire) {
                if Instant::now() >= deadline {
                    copied = false;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        // An empty write commits whatever audit records the writer holds, durably.
        let flushed = tokio::time::timeout_at(deadline, self.store.apply(Vec::new()))
            .await
            .is_ok_and(|r| r.is_ok());
        copied && flushed
    }
}

impl crate::audit::AuditSink for AuditJournal {
    async fn append(&self, time_ms: i64, line: String, wait: bool) -> bool {
        if !wait {
            return self.store.append_waiting(time_ms, &line, None);
        }
        let (done, committed) = tokio::sync::oneshot::channel();
        // Records someone waits for go to the journal task while there is one; given back when
        // the task is gone, the writer commits them.
        let given_back = match &self.journal {
            Some(j) => j.0.push(time_ms, &line, done).err(),
            None => Some(done),
        };
        if let Some(done) = given_back
            && !self.store.append_waiting(time_ms, &line, Some(done))
        {
            return false;
        }
        committed.await.unwrap_or(false)
    }
}

/// Where requests queue records for the journal task.
pub(super) struct Queue {
    buf: Mutex<Queued>,
    notify: Notify,
    /// Set when the last `AuditJournal` is dropped (or it is closed): the task writes what is
    /// queued and stops.
    closed: AtomicBool,
    /// The copier has copied everything it was handed, synced, and stopped.
    copier_done: Arc<AtomicBool>,
}

#[derive(Default)]
struct Queued {
    records: AuditBuf,
    /// The task is gone (its runtime shut down): nothing may be queued any more.
    gone: bool,
}

impl Queue {
    /// Queue a record for the task. `Err(done)` when the task is gone: the caller commits the
    /// record another way.
    pub(super) fn push(
        &self,
        time_ms: i64,
        line: &str,
        done: tokio::sync::oneshot::Sender<bool>,
    ) -> Result<(), tokio::sync::oneshot::Sender<bool>> {
        let first = {
            let Ok(mut q) = self.buf.lock() else {
                return Err(done);
            };
            if q.gone {
                return Err(done);
            }
            q.records.push(time_ms, line, Some(done))
        };
        if first {
            self.notify.notify_one();
        }
        Ok(())
    }

    /// Everything queued so far, leaving `room` bytes for the next batch (allocated before the
    /// lock is taken), so that a batch's records are not copied again as it grows.
    fn take(&self, room: usize) -> AuditBuf {
        let room = String::with_capacity(room);
        self.buf
            .lock()
            .map(|mut q| q.records.take_leaving(room))
            .unwrap_or_default()
    }
}

/// Held by every `AuditJournal` clone; the last one dropped stops the task.
pub(super) struct Handle(pub(super) Arc<Queue>);

impl Drop for Handle {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::Release);
        self.0.notify.notify_one();
    }
}

/// Open the journal, recover, start the copier and the task. `None` when there is no runtime to
/// run the task, another process owns the journal, or it cannot be used.
fn start(
    dir: &Path,
    mut archive: Box<dyn FrameArchive>,
    audit_sync: AuditSync,
    writer: Store,
) -> Result<Option<Handle>, crate::BoxError> {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return Ok(None);
    };
    let sync = audit_sync == AuditSync::Batch;
    let Some(journal) = open_journal(dir, archive.as_mut(), sync) else {
        return Ok(None);
    };
    let copier_done = Arc::new(AtomicBool::new(false));
    let metrics = writer.audit_metrics().clone();
    let copier = Copier::spawn(
        archive,
        journal.lock(),
        copier_done.clone(),
        metrics.copy.clone(),
    )?;
    let queue = Arc::new(Queue {
        buf: Mutex::new(Queued::default()),
        notify: Notify::new(),
        closed: AtomicBool::new(false),
        copier_done,
    });
    let task = Task {
        queue: queue.clone(),
        journal: Some(journal),
        sync,
        copier,
        pending: Vec::new(),
        pending_since: None,
        last_append: Instant::now(),
        room: 0,
        writer,
        metrics: metrics.journal,
    };
    runtime.spawn(task.run());
    Ok(Some(Handle(queue)))
}

struct Task {
    queue: Arc<Queue>,
    /// `None` only if a synced write's thread died with it: batches then go to the writer.
    journal: Option<Journal>,
    /// `audit_sync = "batch"`: appends are synced, so they run on the blocking pool.
    sync: bool,
    copier: Copier,
    /// Frames written and not yet handed to the copier.
    pending: Vec<journal::Frame>,
    /// When the first of them was written.
    pending_since: Option<Instant>,
    last_append: Instant,
    /// Bytes of room the queue gets for its next batch: half again the last batch.
    room: usize,
    /// The store's writer: where a batch goes when the journal cannot take it.
    writer: Store,
    /// The journal's batches.
    metrics: crate::metrics::AuditStage,
}

impl Task {
    async fn run(mut self) {
        loop {
            let copy_due = self
                .pending_since
                .map(|t| (t + COPY_AGE).min(self.last_append + COPY_IDLE));
            match copy_due {
                Some(due) => {
                    tokio::select! {
                        () = self.queue.notify.notified() => {}
                        () = tokio::time::sleep_until(due) => self.hand_to_copier(),
                    }
                }
                None => self.queue.notify.notified().await,
            }
            // Let every request that is ready run first: their records join this batch.
            tokio::task::yield_now().await;
            let records = self.queue.take(self.room);
            if !records.lines.is_empty() {
                self.room = records.room_for_next();
                self.append(records).await;
            }
            if self.queue.closed.load(Ordering::Acquire) {
                let empty = self
                    .queue
                    .buf
                    .lock()
                    .map_or(true, |q| q.records.lines.is_empty());
                if empty {
                    // Frames not handed over stay in the journal; the next start copies them.
                    self.hand_to_copier();
                    return;
                }
            }
        }
    }

    /// Write `records` as one frame and answer their waiters; or pass them to the writer.
    async fn append(&mut self, records: AuditBuf) {
        let Some(mut journal) = self.journal.take() else {
            self.to_writer(records);
            return;
        };
        journal.release_through(self.copier.copied.load(Ordering::Acquire));
        let started = Instant::now();
        let (journal, result, records) = if self.sync {
            // Tens to hundreds of microseconds on the device: not on a runtime worker.
            let write = tokio::task::spawn_blocking(move || {
                let result = journal.append(records.time_ms, &records.lines);
                (journal, result, records)
            });
            match write.await {
                Ok(done) => done,
                Err(e) => {
                    // The batch's waiters were dropped with it: they hear "not committed".
                    tracing::error!(error = %e, "store: audit journal write died; using the writer");
                    return;
                }
            }
        } else {
            let result = journal.append(records.time_ms, &records.lines);
            (journal, result, records)
        };
        self.journal = Some(journal);
        match result {
            Ok(seq) => {
                self.last_append = Instant::now();
                self.metrics
                    .committed(records.count, self.last_append - started);
                self.pending_since.get_or_insert(self.last_append);
                for waiter in records.waiters {
                    let _ = waiter.send(true);
                }
                self.pending.push(journal::Frame {
                    seq,
                    time_ms: records.time_ms,
                    records: records.lines,
                });
                // Under continuous load the task is never idle: copy every COPY_AGE.
                if self.pending_since.is_some_and(|t| t.elapsed() >= COPY_AGE) {
                    self.hand_to_copier();
                }
            }
            Err(e) => {
                match e {
                    // The copier is behind (or the batch is huge).
                    journal::AppendError::Full => self.hand_to_copier(),
                    journal::AppendError::Io(e) => {
                        tracing::error!(error = %e, "store: audit journal write failed; using the writer");
                    }
                }
                self.to_writer(records);
            }
        }
    }

    /// The writer commits these records (synced) and answers their waiters; dropped waiters
    /// hear "not committed".
    fn to_writer(&self, records: AuditBuf) {
        self.writer.append_audit_batch(records);
    }

    /// Send the frames written since the last hand-over to the copier.
    fn hand_to_copier(&mut self) {
        self.pending_since = None;
        if self.pending.is_empty() {
            return;
        }
        let frames = std::mem::take(&mut self.pending);
        // A gone copier leaves the frames in the journal, where the next start finds them.
        let _ = self.copier.tx.send(frames);
    }
}

impl Drop for Task {
    /// Also when the runtime drops the task: close the queue, and what is in it goes to the
    /// writer, so no caller waits forever.
    fn drop(&mut self) {
        let left = match self.queue.buf.lock() {
            Ok(mut q) => {
                q.gone = true;
                std::mem::take(&mut q.records)
            }
            Err(_) => AuditBuf::default(),
        };
        if !left.lines.is_empty() || !left.waiters.is_empty() {
            self.to_writer(left);
        }
    }
}

/// Open the journal under `dir` and copy the frames the archive does not have yet. `None` when
/// another process owns the journal or it cannot be used.
fn open_journal(dir: &Path, archive: &mut dyn FrameArchive, sync: bool) -> Option<Journal> {
    let path = dir.join(JOURNAL_FILE);
    let (mut j, frames) = match Journal::open(&path, sync) {
        Ok(Some(opened)) => opened,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(error = %e, path = %path.display(), "store: audit journal unavailable; audit records go to SQLite directly");
            return None;
        }
    };
    let recovered = (|| -> Result<usize, StoreError> {
        let last = archive.last_copied()?;
        j.continue_after(last);
        let fresh: Vec<_> = frames.into_iter().filter(|f| f.seq > last).collect();
        if let Some(f) = fresh.last() {
            j.continue_after(f.seq);
            archive.copy(&fresh)?;
        }
        Ok(fresh.len())
    })();
    match recovered {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            frames = n,
            "store: copied audit records left in the journal"
        ),
        Err(e) => {
            // Leave the frames where they are (the next start tries again) and do not write over
            // them.
            tracing::error!(error = %e, "store: cannot copy the audit journal; not using it");
            return None;
        }
    }
    Some(j)
}

/// The thread that copies journal frames into the audit table, through an archive of its own
/// (a connection), so no request ever waits for a large transaction. `copied` is the newest frame durably in
/// SQLite: the journal may write over it and everything older. Dropping the copier lets the
/// thread copy what it was handed and stop; it holds a share of the journal's lock until then,
/// so a new owner of the journal never copies the same frames again.
struct Copier {
    tx: std::sync::mpsc::Sender<Vec<journal::Frame>>,
    copied: Arc<AtomicU64>,
}

impl Copier {
    fn spawn(
        mut archive: Box<dyn FrameArchive>,
        lock: Arc<std::fs::File>,
        done: Arc<AtomicBool>,
        metrics: crate::metrics::AuditStage,
    ) -> Result<Copier, crate::BoxError> {
        let copied = Arc::new(AtomicU64::new(archive.last_copied()?));
        let (tx, rx) = std::sync::mpsc::channel::<Vec<journal::Frame>>();
        let shared = copied.clone();
        std::thread::Builder::new()
            .name("tessera-audit-copier".into())
            .spawn(move || {
                copier_loop(archive, rx, &shared, &metrics);
                drop(lock);
                done.store(true, Ordering::Release);
            })?;
        Ok(Copier { tx, copied })
    }
}

fn copier_loop(
    mut archive: Box<dyn FrameArchive>,
    rx: std::sync::mpsc::Receiver<Vec<journal::Frame>>,
    copied: &AtomicU64,
    metrics: &crate::metrics::AuditStage,
) {
    while let Ok(mut frames) = rx.recv() {
        // Everything handed over meanwhile goes into the same transaction.
        while let Ok(more) = rx.try_recv() {
            frames.extend(more);
        }
        // Durable before the journal may write over these frames. On failure try again a second
        // later; until then the journal fills and batches go to the writer.
        loop {
            let started = std::time::Instant::now();
            match archive.copy(&frames) {
                Ok(()) => {
                    // A frame's records are its lines.
                    let records = frames
                        .iter()
                        .map(|f| memchr::memchr_iter(b'\n', f.records.as_bytes()).count() + 1)
                        .sum();
                    metrics.committed(records, started.elapsed());
                    break;
                }
                Err(e) => {
                    tracing::error!(error = %e, "store: copying the audit journal failed; retrying");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
        if let Some(last) = frames.last() {
            copied.store(last.seq, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditSink as _;
    use crate::credentials::SharedKeyring;
    use crate::credentials::keyring::Keyring;
    use crate::store::backend::AuditRead as _;
    use crate::store::sqlite::SqliteAuditRead;

    fn keyring() -> Arc<SharedKeyring> {
        SharedKeyring::new(Keyring::generate(chrono::Utc::now()).unwrap(), None)
    }

    fn open(dir: &Path, sync: AuditSync) -> AuditJournal {
        let (_, audit) =
            crate::store::open_local(dir, keyring(), crate::store::DEFAULT_BUSY_TIMEOUT, sync)
                .unwrap();
        audit
    }

    /// Every record line in the audit table, with the journal frame its row came from.
    fn rows(dir: &Path) -> Vec<(Option<u64>, String)> {
        SqliteAuditRead::open(dir)
            .unwrap()
            .since(0, usize::MAX)
            .unwrap()
            .into_iter()
            .flat_map(|row| {
                row.records
                    .lines()
                    .map(|l| (row.journal_seq, l.to_owned()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    async fn until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(std::time::Instant::now() < deadline, "timed out: {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waited_records_share_frames_and_reach_sqlite_once_across_a_reopen() {
        share_frames_and_reopen(AuditSync::Copy).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn synced_batches_share_frames_and_reach_sqlite_once_across_a_reopen() {
        share_frames_and_reopen(AuditSync::Batch).await;
    }

    async fn share_frames_and_reopen(sync: AuditSync) {
        let dir = tempfile::tempdir().unwrap();
        let audit = open(dir.path(), sync);
        assert!(audit.has_journal());
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..200 {
            let s = audit.clone();
            tasks.spawn(async move { s.append(i, format!("{{\"n\":{i}}}"), true).await });
        }
        while let Some(ok) = tasks.join_next().await {
            assert!(ok.unwrap(), "a waited record was not committed");
        }
        // Answered means in the journal (before any copy).
        let frames = journal::read(&dir.path().join(JOURNAL_FILE));
        let in_journal: usize = frames.iter().map(|f| f.records.lines().count()).sum();
        assert_eq!(in_journal, 200);
        assert!(
            frames.len() < 200,
            "records were not batched: {} frames",
            frames.len()
        );

        // Drop and reopen at once: the old copier finishes, the new one copies nothing twice.
        drop(audit);
        let audit = open(dir.path(), sync);
        until("all records copied", || rows(dir.path()).len() >= 200).await;
        tokio::time::sleep(COPY_AGE * 2).await;
        let mut seen: Vec<String> = rows(dir.path()).into_iter().map(|(_, l)| l).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 200);
        assert_eq!(rows(dir.path()).len(), 200, "a record was copied twice");
        drop(audit);
    }

    #[test]
    fn a_sink_outliving_its_runtime_commits_waited_records_through_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
        };
        let first = runtime();
        let audit = first.block_on(async { open(dir.path(), AuditSync::Copy) });
        assert!(audit.has_journal());
        // The journal task goes with its runtime.
        drop(first);
        let committed = runtime().block_on(async {
            tokio::time::timeout(
                Duration::from_secs(10),
                audit.append(1, "{\"n\":1}".into(), true),
            )
            .await
        });
        assert_eq!(
            committed.ok(),
            Some(true),
            "a waited record was lost or hung"
        );
        assert!(
            rows(dir.path())
                .iter()
                .any(|(seq, l)| seq.is_none() && l == "{\"n\":1}")
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_the_journal_cannot_take_is_committed_by_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let audit = open(dir.path(), AuditSync::Copy);
        // Larger than the whole ring.
        let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(journal::CAPACITY));
        assert!(audit.append(1, huge.clone(), true).await);
        assert!(audit.append(2, "{\"n\":2}".into(), true).await);
        // The huge one went to SQLite through the writer (no frame), before its caller heard.
        let now = rows(dir.path());
        assert!(now.iter().any(|(seq, l)| seq.is_none() && *l == huge));
        until("the small record copied", || {
            rows(dir.path())
                .iter()
                .any(|(seq, l)| seq.is_some() && l == "{\"n\":2}")
        })
        .await;
    }
}
