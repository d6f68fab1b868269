//! The SQLite backend: the only code that speaks SQL.
//!
//! `<data dir>/tessera.db` in WAL mode, versioned migrations ([`schema`]),
//! `synchronous=FULL` for every commit someone waits for, so a `kill -9` (or a power loss)
//! loses nothing acknowledged. The audit trail lives beside it in `<data dir>/audit.db`, attached
//! to every connection as `archive`: its rows are whole journal frames, appended and never
//! changed, so it has pages 16 times larger than the state's (each page written costs system
//! calls, to the WAL and again when checkpointed). One connection belongs to the store's writer
//! thread, which commits many jobs per transaction (a savepoint each); the audit journal's
//! copier has a second one ([`SqliteBackend::frame_archive`]); `tessera audit tail` reads
//! through a read-only third ([`SqliteAuditRead`]).
//!
//! Another process (`tessera account create`) may write the same database: the writer notices
//! through `PRAGMA data_version` ([`Backend::changed_elsewhere`]).

pub(crate) mod schema;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, params};

use super::audit_journal::journal::Frame;
use super::backend::{AuditRead, AuditRow, Backend, Batch, Changed, FrameArchive, Outcome, Tables};
use super::change::{Applied, Change};
use super::error::StoreError;
use super::model::CredentialReport;
use super::sql::{self, Arg, Row, Sql, SqlError, SqlResult, ToArg, Value};
use crate::credentials::Keyring;

/// The database's file name under the data dir.
pub(crate) const DB_FILE: &str = "tessera.db";
/// The audit archive's file name under the data dir (the `archive` schema of every connection).
pub(crate) const ARCHIVE_FILE: &str = "audit.db";
/// The archive's page size, set when the file is created. With SQLite's default 4 KiB the copier
/// spent about 2.3 µs of CPU per record of the repeated-token web identity target, most of it
/// writing and checkpointing pages one system call at a time; with 64 KiB, about 1 µs.
const ARCHIVE_PAGE_SIZE: i64 = 65_536;
/// The archive's tables: one row per journal frame (or per batch of records the writer
/// commits), and how far the journal's frames have been copied (see `store::audit_journal`).
const ARCHIVE_SCHEMA: &str = r#"
    CREATE TABLE IF NOT EXISTS archive.audit (
        seq         INTEGER PRIMARY KEY,
        time        INTEGER NOT NULL,           -- earliest record in the row, ms since epoch
        records     TEXT NOT NULL,              -- JSON lines, as `tessera audit tail` prints them
        journal_seq INTEGER                     -- the journal frame it was copied from
    );
    CREATE TABLE IF NOT EXISTS archive.audit_journal (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        last_seq    INTEGER NOT NULL
    );
    INSERT OR IGNORE INTO archive.audit_journal (id, last_seq) VALUES (1, 0);
"#;

/// Any SQLite failure is ours: the detail goes to the log, never to a client.
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Internal(format!("sqlite: {e}"))
    }
}

fn sql_error(e: rusqlite::Error) -> SqlError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            SqlError::Unique
        }
        rusqlite::Error::QueryReturnedNoRows => SqlError::NoRows,
        _ => SqlError::Other(format!("sqlite: {e}")),
    }
}

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            Arg::Null => ValueRef::Null,
            Arg::Int(i) => ValueRef::Integer(i),
            Arg::Text(t) => ValueRef::Text(t.as_bytes()),
            Arg::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// Statements run as written, prepared once per connection (the statement cache).
impl Sql for Connection {
    fn execute(&self, sql: &str, params: &[&dyn ToArg]) -> SqlResult<usize> {
        let args = params
            .iter()
            .map(|p| p.to_arg())
            .collect::<SqlResult<Vec<_>>>()?;
        let mut st = self.prepare_cached(sql).map_err(sql_error)?;
        st.execute(rusqlite::params_from_iter(args))
            .map_err(sql_error)
    }

    fn query(&self, sql: &str, params: &[&dyn ToArg]) -> SqlResult<Vec<Row>> {
        use rusqlite::types::ValueRef;
        let args = params
            .iter()
            .map(|p| p.to_arg())
            .collect::<SqlResult<Vec<_>>>()?;
        let mut st = self.prepare_cached(sql).map_err(sql_error)?;
        let n = st.column_count();
        let mut rows = st
            .query(rusqlite::params_from_iter(args))
            .map_err(sql_error)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(sql_error)? {
            let mut vals = Vec::with_capacity(n);
            for i in 0..n {
                vals.push(match r.get_ref(i).map_err(sql_error)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(i) => Value::Int(i),
                    // No column holds floats; one read as such is a corrupt row.
                    ValueRef::Real(_) => return Err(SqlError::Other("sqlite: real value".into())),
                    ValueRef::Text(t) => Value::Text(
                        std::str::from_utf8(t)
                            .map_err(|_| SqlError::Other("sqlite: text not UTF-8".into()))?
                            .to_owned(),
                    ),
                    ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                });
            }
            out.push(Row(vals));
        }
        Ok(out)
    }
}

/// Create the database file readable by its owner only (mode 0600), or narrow an existing one.
fn owner_only(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    if !path.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| StoreError::internal(format!("create {}: {e}", path.display())))?;
    }
    restrict(path)
}

/// Mode 0600 for `path`, if it exists.
fn restrict(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt as _;
    match std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::internal(format!(
            "chmod {}: {e}",
            path.display()
        ))),
        _ => Ok(()),
    }
}

pub(crate) fn open_connection(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy_timeout)?;
    // Every statement goes through the cache (`impl Sql`): room for all of them.
    conn.set_prepared_statement_cache_capacity(256);
    wal_mode(&conn, "main", busy_timeout)?;
    // FULL: a commit is on disk before we acknowledge it (WAL + NORMAL could lose the last
    // transactions on power loss).
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    let archive = path.with_file_name(ARCHIVE_FILE);
    attach_archive(&conn, &archive)?;
    // Large pages, WAL and FULL, as the main database. The page size takes only while the file
    // is empty (a new data dir).
    conn.pragma_update(Some("archive"), "page_size", ARCHIVE_PAGE_SIZE)?;
    wal_mode(&conn, "archive", busy_timeout)?;
    conn.pragma_update(Some("archive"), "synchronous", "FULL")?;
    let made: i64 = conn.query_row(
        "SELECT count(*) FROM archive.sqlite_master WHERE name IN ('audit', 'audit_journal')",
        [],
        |r| r.get(0),
    )?;
    if made < 2 {
        conn.execute_batch(ARCHIVE_SCHEMA)?;
    }
    Ok(conn)
}

/// Put `schema` in WAL mode. Turning a new database to WAL takes an exclusive lock without
/// always waiting on the busy handler: two processes opening a new data dir at once must retry.
fn wal_mode(conn: &Connection, schema: &str, busy_timeout: Duration) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + busy_timeout;
    loop {
        match conn.pragma_update(Some(schema), "journal_mode", "WAL") {
            Ok(()) => return Ok(()),
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Attach the audit archive at `path` as `archive` (read-only when `conn` is).
fn attach_archive(conn: &Connection, path: &Path) -> rusqlite::Result<()> {
    let name = path
        .to_str()
        .ok_or_else(|| rusqlite::Error::InvalidPath(path.to_path_buf()))?;
    conn.execute("ATTACH DATABASE ?1 AS archive", [name])?;
    Ok(())
}

/// Today's backend: one SQLite database, written by the store's writer thread.
pub(crate) struct SqliteBackend {
    conn: Connection,
    path: PathBuf,
    busy_timeout: Duration,
    /// The connection's `synchronous` mode is FULL.
    flushing: bool,
    /// `PRAGMA data_version` when last looked at (our own commits leave it alone).
    seen_version: i64,
}

impl std::fmt::Debug for SqliteBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteBackend")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteBackend {
    /// Open (creating and migrating if needed) `<dir>/tessera.db`, waiting at most
    /// `busy_timeout` for another process's lock.
    pub(crate) fn open(dir: &Path, busy_timeout: Duration) -> Result<SqliteBackend, StoreError> {
        let path = dir.join(DB_FILE);
        owner_only(&path)?;
        owner_only(&dir.join(ARCHIVE_FILE))?;
        let mut conn = open_connection(&path, busy_timeout)?;
        schema::migrate(&mut conn)?;
        // SQLite gives its WAL and shared-memory files the database file's mode; older data
        // dirs may still have wider ones.
        for file in [DB_FILE, ARCHIVE_FILE] {
            for suffix in ["-wal", "-shm"] {
                restrict(&dir.join(format!("{file}{suffix}")))?;
            }
        }
        let seen_version = data_version(&conn);
        Ok(SqliteBackend {
            conn,
            path,
            busy_timeout,
            // The connection opens with synchronous=FULL.
            flushing: true,
            seen_version,
        })
    }

    /// The writer's connection (tests).
    #[cfg(test)]
    pub(crate) fn connection(&self) -> &dyn Sql {
        &self.conn
    }

    /// Apply one job's changes under a savepoint: all of them, or (on the first error) none.
    /// The snapshot's tables it wrote go into `changed`.
    fn apply_job(
        tx: &Transaction<'_>,
        keyring: &Keyring,
        changes: &[Change],
        changed: &mut std::collections::BTreeSet<String>,
    ) -> Result<Vec<Applied>, StoreError> {
        tx.execute_batch("SAVEPOINT job")?;
        let tracked = sql::Tracked::new(&**tx);
        let result = changes
            .iter()
            .map(|c| sql::apply::apply(&tracked, keyring, c))
            .collect::<Result<Vec<_>, _>>();
        if result.is_ok() && changes.iter().any(Change::touches_snapshot) {
            changed.extend(tracked.written());
        }
        let end = if result.is_ok() {
            "RELEASE job"
        } else {
            "ROLLBACK TO job; RELEASE job"
        };
        if tx.execute_batch(end).is_err() {
            tracing::error!("store: savepoint release failed");
        }
        result
    }
}

impl Backend for SqliteBackend {
    fn load(&mut self) -> Result<Tables, StoreError> {
        sql::load::load(&self.conn)
    }

    fn load_credential_reports(&mut self) -> Result<Vec<CredentialReport>, StoreError> {
        sql::console::load_credential_reports(&self.conn)
    }

    fn changed_elsewhere(&mut self) -> Changed {
        let v = data_version(&self.conn);
        let changed = v != self.seen_version;
        self.seen_version = v;
        // SQLite says that someone wrote, not what.
        if changed {
            Changed::Anything
        } else {
            Changed::Nothing
        }
    }

    fn load_tables(
        &mut self,
        names: &std::collections::BTreeSet<String>,
        into: &mut Tables,
    ) -> Result<(), StoreError> {
        for name in names {
            sql::load::load_table(&self.conn, name, into)?;
        }
        Ok(())
    }

    fn commit(&mut self, batch: Batch<'_>) -> Outcome {
        let Batch {
            jobs,
            audit,
            durable,
            keyring,
        } = batch;
        if durable != self.flushing {
            let mode = if durable { "FULL" } else { "NORMAL" };
            let set = ["main", "archive"]
                .into_iter()
                .try_for_each(|db| self.conn.pragma_update(Some(db), "synchronous", mode));
            match set {
                Ok(()) => self.flushing = durable,
                Err(e) => tracing::error!(error = %e, "store: cannot set synchronous mode"),
            }
        }
        let mut results = Vec::with_capacity(jobs.len());
        let mut changed = std::collections::BTreeSet::new();
        let mut audit_written = false;
        let committed = match self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        {
            Ok(tx) => {
                for changes in &jobs {
                    results.push(Self::apply_job(&tx, keyring, changes, &mut changed));
                }
                if let Some((time_ms, lines)) = audit {
                    // The batch's records as one row: one statement however many there are.
                    let inserted = tx
                        .prepare_cached("INSERT INTO archive.audit (time, records) VALUES (?1, ?2)")
                        .and_then(|mut st| st.execute(params![time_ms, lines]));
                    match inserted {
                        Ok(_) => audit_written = true,
                        Err(e) => tracing::error!(error = %e, "store: audit insert failed"),
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
                false
            }
        };
        // Nobody hears "committed" for a batch that should have been flushed and was not.
        let committed = committed && (self.flushing || !durable);
        results.resize_with(jobs.len(), || {
            Err(StoreError::internal("store: transaction not begun"))
        });
        if !committed {
            for r in &mut results {
                if r.is_ok() {
                    *r = Err(StoreError::internal("store: commit failed"));
                }
            }
        }
        if !committed {
            changed.clear();
        }
        Outcome {
            results,
            audit_written,
            committed,
            changed,
        }
    }

    fn frame_archive(&self) -> Result<Box<dyn FrameArchive>, StoreError> {
        let conn = open_connection(&self.path, self.busy_timeout)?;
        // Checkpoint the archive's WAL at about 16 MiB rather than SQLite's 1000 pages (64 MiB
        // of these pages): the copier is the one connection that writes it steadily.
        conn.pragma_update(None, "wal_autocheckpoint", 256)?;
        Ok(Box::new(SqliteArchive { conn }))
    }
}

fn data_version(conn: &Connection) -> i64 {
    conn.prepare_cached("PRAGMA data_version")
        .and_then(|mut st| st.query_row([], |r| r.get(0)))
        .unwrap_or(-1)
}

// --- the audit table -------------------------------------------------------------------------

/// The audit journal's copier connection.
struct SqliteArchive {
    conn: Connection,
}

impl FrameArchive for SqliteArchive {
    fn last_copied(&mut self) -> Result<u64, StoreError> {
        Ok(journal_last_seq(&self.conn)?)
    }

    fn copy(&mut self, frames: &[Frame]) -> Result<(), StoreError> {
        // synchronous=FULL: durable before the journal may write over these frames.
        let tx = self.conn.transaction()?;
        copy_frames(&tx, frames)?;
        tx.commit()?;
        Ok(())
    }
}

/// The newest journal frame already copied into the audit table.
fn journal_last_seq(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row(
        "SELECT last_seq FROM archive.audit_journal WHERE id = 1",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|v| u64::try_from(v).unwrap_or(0))
}

/// Copy the journal's frames `frames` into the audit table inside `tx`.
fn copy_frames(tx: &Transaction<'_>, frames: &[Frame]) -> rusqlite::Result<()> {
    let Some(last) = frames.last() else {
        return Ok(());
    };
    let mut st = tx.prepare_cached(
        "INSERT INTO archive.audit (time, records, journal_seq) VALUES (?1, ?2, ?3)",
    )?;
    for f in frames {
        st.execute(params![
            f.time_ms,
            f.records,
            i64::try_from(f.seq).unwrap_or(i64::MAX)
        ])?;
    }
    tx.execute(
        "UPDATE archive.audit_journal SET last_seq = ?1 WHERE id = 1",
        [i64::try_from(last.seq).unwrap_or(i64::MAX)],
    )?;
    Ok(())
}

/// The audit table read through a read-only connection, taking no lock a writer waits for.
#[derive(Debug)]
pub(crate) struct SqliteAuditRead {
    conn: Connection,
}

impl SqliteAuditRead {
    /// Open `<dir>/tessera.db` and its audit archive read-only; an error when either is
    /// missing (a server of this version creates both when it starts).
    pub(crate) fn open(dir: &Path) -> Result<SqliteAuditRead, crate::BoxError> {
        let (path, archive) = (dir.join(DB_FILE), dir.join(ARCHIVE_FILE));
        if !path.exists() {
            return Err(format!("no database at {}", path.display()).into());
        }
        if !archive.exists() {
            return Err(format!(
                "no audit archive at {} (the server creates it when it starts)",
                archive.display()
            )
            .into());
        }
        let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        attach_archive(&conn, &archive)?;
        Ok(SqliteAuditRead { conn })
    }
}

fn audit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        seq: r.get(0)?,
        journal_seq: r
            .get::<_, Option<i64>>(1)?
            .and_then(|v| u64::try_from(v).ok()),
        records: r.get(2)?,
    })
}

impl AuditRead for SqliteAuditRead {
    fn newest(&mut self, n: usize) -> Result<(Vec<AuditRow>, u64, i64), StoreError> {
        // One read transaction: the rows and how far the copies went agree.
        let tx = self.conn.unchecked_transaction()?;
        let mut rows = Vec::new();
        {
            let mut st = tx
                .prepare("SELECT seq, journal_seq, records FROM archive.audit ORDER BY seq DESC")?;
            let mut it = st.query([])?;
            let mut count = 0;
            while count < n {
                let Some(row) = it.next()? else { break };
                let row = audit_row(row)?;
                count += row.records.lines().count();
                rows.push(row);
            }
        }
        let copied = journal_last_seq(&tx)?;
        let top: i64 =
            tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM archive.audit", [], |r| {
                r.get(0)
            })?;
        tx.finish()?;
        rows.reverse();
        Ok((rows, copied, top))
    }

    fn since(&mut self, after: i64, limit: usize) -> Result<Vec<AuditRow>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT seq, journal_seq, records FROM archive.audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = st.query_map(
            params![after, i64::try_from(limit).unwrap_or(i64::MAX)],
            audit_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
