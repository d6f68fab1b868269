//! The PostgreSQL backend: the store of a cluster. Every node keeps its own in-memory snapshot
//! and its own writer; the database is the one truth they share.
//!
//! Driver: tokio-postgres through a deadpool-postgres pool (see the README for why), on a
//! runtime of its own with one worker, so the store's writer thread (which is not async) waits
//! for each statement with a deadline and never blocks the request threads. Every round trip has
//! that deadline: with the database gone, a write fails with [`StoreError::Unavailable`] (answered
//! `ServiceUnavailable`) instead of hanging, while reads keep coming from the snapshot.
//!
//! The SQL is [`super::sql`]'s, shared with SQLite. Commits retry serialization failures (as
//! PostgreSQL-compatible distributed engines require of their clients). Every commit that changes
//! the snapshot bumps `store_version`, the counter other nodes poll
//! ([`Backend::changed_elsewhere`]).

pub(crate) mod keyring;
pub(crate) mod schema;
#[cfg(test)]
pub(crate) mod testdb;
mod tls;

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::backend::{AuditRead, AuditRow, Backend, Batch, Changed, FrameArchive, Outcome, Tables};
use super::change::Change;
use super::error::StoreError;
use super::model::CredentialReport;
use super::sql::{self, Arg, Row, Sql, SqlError, SqlResult, ToArg, Value};

pub(crate) use tls::TlsOptions;

/// How long any one round trip (or taking a connection from the pool) may take.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// How often an idle node asks whether another node changed the store: a change on one node
/// is served by every node within this, plus a reload.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Attempts at a transaction that keeps meeting serialization failures.
const MAX_ATTEMPTS: u32 = 8;

/// A connection pool and the runtime that drives it.
pub(crate) struct Pg {
    rt: Option<tokio::runtime::Runtime>,
    pool: Pool,
    timeout: Duration,
    /// Where the database is, without its password (for logs).
    pub(crate) target: String,
}

impl std::fmt::Debug for Pg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pg")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        // May be dropped on an async thread: never block there.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Pg {
    /// A pool for `url` (`postgres://user:password@host:port/db?sslmode=...`). Connects lazily:
    /// [`Pg::migrate`] is the first round trip.
    pub(crate) fn new(
        url: &str,
        tls: &TlsOptions,
        timeout: Duration,
    ) -> Result<Arc<Pg>, StoreError> {
        let (mut config, mode, root) = tls::parse_url(url)?;
        config.connect_timeout(timeout);
        config.keepalives(true);
        config.application_name("tessera");
        let target = tls::describe(&config);
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match tls::connector(mode, root, tls)? {
            None => Manager::from_config(config, tokio_postgres::NoTls, manager_config),
            Some(connect) => Manager::from_config(config, connect, manager_config),
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tessera-pg")
            .enable_all()
            .build()
            .map_err(|e| StoreError::internal(format!("postgres runtime: {e}")))?;
        let pool = Pool::builder(manager)
            .max_size(8)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .build()
            .map_err(|e| StoreError::internal(format!("postgres pool: {e}")))?;
        Ok(Arc::new(Pg {
            rt: Some(rt),
            pool,
            timeout,
            target,
        }))
    }

    /// The database `db` names, migrated: what every command of a cluster node opens.
    pub(crate) fn connect(db: &crate::config::Database) -> Result<Arc<Pg>, StoreError> {
        let pg = Pg::new(
            &db.url,
            &TlsOptions {
                ca_file: db.ca_file.clone(),
            },
            DEFAULT_TIMEOUT,
        )?;
        pg.migrate()?;
        Ok(pg)
    }

    /// Wait for `fut` on the pool's runtime. Called from an async thread (opening the store
    /// at start, a test), the wait happens on a thread of its own.
    fn block<F>(&self, fut: F) -> SqlResult<F::Output>
    where
        F: std::future::Future + Send,
        F::Output: Send,
    {
        let Some(rt) = &self.rt else {
            return Err(SqlError::Unavailable("postgres: shut down".into()));
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return Ok(rt.block_on(fut));
        }
        std::thread::scope(|s| match s.spawn(|| rt.block_on(fut)).join() {
            Ok(out) => Ok(out),
            Err(panic) => std::panic::resume_unwind(panic),
        })
    }

    /// Run `fut` on the pool's runtime, within the deadline.
    fn run<T: Send>(
        &self,
        fut: impl std::future::Future<Output = Result<T, tokio_postgres::Error>> + Send,
    ) -> SqlResult<T> {
        match self.block(async { tokio::time::timeout(self.timeout, fut).await })? {
            Ok(r) => r.map_err(|e| pg_error(&e)),
            Err(_) => Err(SqlError::Unavailable("postgres: timed out".into())),
        }
    }

    /// A connection from the pool.
    fn client(&self) -> SqlResult<Object> {
        self.block(self.pool.get())?.map_err(|e| {
            SqlError::Unavailable(format!("postgres: no connection to {}: {e}", self.target))
        })
    }

    /// Run `f` in one transaction, committed if it succeeds.
    pub(crate) fn transaction<T>(
        &self,
        f: impl FnOnce(&dyn Sql) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut client = self.client()?;
        let tx = self.run(client.transaction())?;
        let out = {
            let ptx = PgTx::new(self, &tx);
            let out = f(&ptx)?;
            if let Some(e) = ptx.fatal.borrow().clone() {
                return Err(e.into());
            }
            out
        };
        self.run(tx.commit())?;
        Ok(out)
    }

    /// Run the migrations this database has not had, under an advisory lock (nodes starting
    /// together migrate once).
    pub(crate) fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client()?;
        self.run(client.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)",
        ))
        .or_else(|e| match e {
            // Two nodes creating it at once: one wins, the other sees the row type exist.
            SqlError::Unique => Ok(()),
            e => Err(e),
        })?;
        let tx = self.run(client.transaction())?;
        self.run(tx.execute(
            "SELECT pg_advisory_xact_lock($1)",
            &[&schema::MIGRATION_LOCK],
        ))?;
        let have: i64 = self
            .run(tx.query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            ))?
            .get(0);
        for (i, parts) in schema::MIGRATIONS.iter().enumerate() {
            let version = i64::try_from(i + 1).unwrap_or(i64::MAX);
            if version <= have {
                continue;
            }
            for part in *parts {
                if part.starts_with(schema::PG_ONLY) {
                    self.run(tx.batch_execute("SAVEPOINT pg_only"))?;
                    let undo = match self.run(tx.batch_execute(part)) {
                        Ok(()) => "RELEASE SAVEPOINT pg_only",
                        Err(_) => "ROLLBACK TO SAVEPOINT pg_only",
                    };
                    self.run(tx.batch_execute(undo))?;
                } else {
                    self.run(tx.batch_execute(part))?;
                }
            }
            self.run(tx.execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                &[&version],
            ))?;
        }
        self.run(tx.commit())?;
        Ok(())
    }
}

/// Any driver failure, as the SQL layer tells them apart.
fn pg_error(e: &tokio_postgres::Error) -> SqlError {
    let Some(db) = e.as_db_error() else {
        // I/O, a closed connection, a refused connect: the database is not there now.
        return SqlError::Unavailable(format!("postgres: {e}"));
    };
    let code = db.code();
    if *code == SqlState::UNIQUE_VIOLATION {
        SqlError::Unique
    } else if *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
    {
        SqlError::Retry
    } else if code.code().starts_with("08")
        || code.code().starts_with("57P")
        || *code == SqlState::READ_ONLY_SQL_TRANSACTION
    {
        SqlError::Unavailable(format!("postgres: {}: {}", code.code(), db.message()))
    } else {
        SqlError::Other(format!("postgres: {}: {}", code.code(), db.message()))
    }
}

/// Parameters bind to whatever type PostgreSQL inferred for them, within reason: integers to
/// any integer (range-checked) or boolean, text to any text type, blobs to `bytea`.
impl ToSql for Arg<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match *self {
            Arg::Null => Ok(IsNull::Yes),
            Arg::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
                Type::BOOL => (i != 0).to_sql(ty, out),
                _ => Err(format!("integer parameter for a {ty} column").into()),
            },
            Arg::Text(t) => t.to_sql(ty, out),
            Arg::Blob(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::INT8
                | Type::INT4
                | Type::INT2
                | Type::BOOL
                | Type::TEXT
                | Type::VARCHAR
                | Type::BPCHAR
                | Type::NAME
                | Type::UNKNOWN
                | Type::BYTEA
        )
    }

    to_sql_checked!();
}

/// One returned row as plain values.
fn row_values(row: &tokio_postgres::Row) -> SqlResult<Row> {
    let bad = |e: tokio_postgres::Error| SqlError::Other(format!("postgres: column: {e}"));
    let mut vals = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let v = match *col.type_() {
            Type::INT8 => row
                .try_get::<_, Option<i64>>(i)
                .map_err(bad)?
                .map(Value::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)
                .map_err(bad)?
                .map(|v| Value::Int(i64::from(v))),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)
                .map_err(bad)?
                .map(|v| Value::Int(i64::from(v))),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(i)
                .map_err(bad)?
                .map(|v| Value::Int(i64::from(v))),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => row
                .try_get::<_, Option<String>>(i)
                .map_err(bad)?
                .map(Value::Text),
            Type::BYTEA => row
                .try_get::<_, Option<Vec<u8>>>(i)
                .map_err(bad)?
                .map(Value::Blob),
            ref t => {
                return Err(SqlError::Other(format!("postgres: column of type {t}")));
            }
        };
        vals.push(v.unwrap_or(Value::Null));
    }
    Ok(Row(vals))
}

/// A transaction as [`Sql`]: statements prepared once per connection (deadpool's cache), each
/// round trip within the deadline. The first failure that ends the transaction for good (a
/// serialization failure, a lost connection) is kept, so that the commit can tell a job's own
/// failure from the transaction's.
struct PgTx<'t, 'c> {
    pg: &'t Pg,
    tx: &'t deadpool_postgres::Transaction<'c>,
    fatal: RefCell<Option<SqlError>>,
}

impl<'t, 'c> PgTx<'t, 'c> {
    fn new(pg: &'t Pg, tx: &'t deadpool_postgres::Transaction<'c>) -> Self {
        PgTx {
            pg,
            tx,
            fatal: RefCell::new(None),
        }
    }

    fn note<T>(&self, r: SqlResult<T>) -> SqlResult<T> {
        if let Err(e @ (SqlError::Retry | SqlError::Unavailable(_))) = &r {
            self.fatal.borrow_mut().get_or_insert_with(|| e.clone());
        }
        r
    }

    fn batch(&self, sql: &str) -> SqlResult<()> {
        self.note(self.pg.run(self.tx.batch_execute(sql)))
    }
}

fn bind<'a>(args: &'a [Arg<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    args.iter().map(|a| a as &(dyn ToSql + Sync)).collect()
}

impl Sql for PgTx<'_, '_> {
    fn execute(&self, sql: &str, params: &[&dyn ToArg]) -> SqlResult<usize> {
        let text = sql::numbered_placeholders(sql);
        let args = params
            .iter()
            .map(|p| p.to_arg())
            .collect::<SqlResult<Vec<_>>>()?;
        let refs = bind(&args);
        let n = self.note(self.pg.run(async {
            let st = self.tx.prepare_cached(&text).await?;
            self.tx.execute(&st, &refs).await
        }))?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn query(&self, sql: &str, params: &[&dyn ToArg]) -> SqlResult<Vec<Row>> {
        let text = sql::numbered_placeholders(sql);
        let args = params
            .iter()
            .map(|p| p.to_arg())
            .collect::<SqlResult<Vec<_>>>()?;
        let refs = bind(&args);
        let rows = self.note(self.pg.run(async {
            let st = self.tx.prepare_cached(&text).await?;
            self.tx.query(&st, &refs).await
        }))?;
        rows.iter().map(row_values).collect()
    }
}

/// The store of a cluster: one PostgreSQL database.
pub(crate) struct PgBackend {
    pg: Arc<Pg>,
    /// The writer's connection (taken again after a failure).
    conn: Option<Object>,
    /// `store_version` as of the snapshot this node serves.
    seen_version: i64,
    /// The last round trip succeeded.
    reachable: bool,
}

impl std::fmt::Debug for PgBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBackend")
            .field("target", &self.pg.target)
            .finish_non_exhaustive()
    }
}

impl PgBackend {
    /// Connect to `url`, migrating the database if needed.
    #[cfg(test)]
    pub(crate) fn open(
        url: &str,
        tls: &TlsOptions,
        timeout: Duration,
    ) -> Result<PgBackend, StoreError> {
        let pg = Pg::new(url, tls, timeout)?;
        pg.migrate()?;
        Ok(Self::new(pg))
    }

    /// The backend on `pg` (migrated).
    pub(crate) fn new(pg: Arc<Pg>) -> PgBackend {
        PgBackend {
            pg,
            conn: None,
            seen_version: -1,
            reachable: true,
        }
    }

    fn conn(&mut self) -> SqlResult<&mut Object> {
        if self.conn.is_none() {
            self.conn = Some(self.pg.client()?);
        }
        self.conn
            .as_mut()
            .ok_or_else(|| SqlError::Unavailable("postgres: no connection".into()))
    }

    /// Read in one repeatable-read transaction, so that what `f` reads is one moment's state.
    fn read<T>(
        &mut self,
        f: impl FnOnce(&PgTx<'_, '_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pg = self.pg.clone();
        let result = (|| {
            let conn = self.conn()?;
            let tx = pg.run(
                conn.build_transaction()
                    .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start(),
            )?;
            let out = {
                let ptx = PgTx::new(&pg, &tx);
                f(&ptx)?
            };
            pg.run(tx.commit())?;
            Ok::<_, StoreError>(out)
        })();
        if matches!(result, Err(StoreError::Unavailable(_))) {
            self.conn = None;
        }
        result
    }

    /// One attempt at a batch. `Err` when the whole transaction must be tried again (or the
    /// database is unreachable).
    fn try_commit(&mut self, batch: &Batch<'_>) -> Result<Outcome, SqlError> {
        let pg = self.pg.clone();
        let conn = self.conn()?;
        let tx = pg.run(conn.transaction())?;
        let ptx = PgTx::new(&pg, &tx);
        if !batch.durable {
            // Records nobody waits for: committed without waiting for the flush, as SQLite
            // does with synchronous=NORMAL.
            ptx.batch("SET LOCAL synchronous_commit = off")?;
        }
        let mut results = Vec::with_capacity(batch.jobs.len());
        let mut changed = std::collections::BTreeSet::new();
        for changes in &batch.jobs {
            ptx.batch("SAVEPOINT job")?;
            let tracked = sql::Tracked::new(&ptx);
            let result = changes
                .iter()
                .map(|c| sql::apply::apply(&tracked, batch.keyring, c))
                .collect::<Result<Vec<_>, _>>();
            if let Some(e) = ptx.fatal.borrow().clone() {
                return Err(e);
            }
            match &result {
                Ok(_) => {
                    ptx.batch("RELEASE SAVEPOINT job")?;
                    if changes.iter().any(Change::touches_snapshot) {
                        changed.extend(tracked.written());
                    }
                }
                Err(_) => ptx.batch("ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job")?,
            }
            results.push(result);
        }
        let mut audit_written = false;
        if let Some((time_ms, lines)) = batch.audit {
            insert_audit(&ptx, time_ms, lines)?;
            audit_written = true;
        }
        let version = if changed.is_empty() {
            None
        } else {
            let rows = ptx.query(
                "UPDATE store_version SET version = version + 1 WHERE id = 1 RETURNING version",
                sql::params![],
            )?;
            let v = rows
                .first()
                .ok_or(SqlError::NoRows)
                .and_then(|r| r.get::<_, i64>(0))?;
            for table in &changed {
                ptx.execute(
                    "INSERT INTO table_versions (name, version) VALUES (?1, ?2)
                     ON CONFLICT (name) DO UPDATE SET version = excluded.version",
                    sql::params![table, v],
                )?;
            }
            Some(v)
        };
        if let Some(e) = ptx.fatal.borrow().clone() {
            return Err(e);
        }
        drop(ptx);
        pg.run(tx.commit())?;
        // Nobody else committed since we last looked: our own change is loaded by the writer
        // (it knows what it wrote). Otherwise the next look reads what the others touched.
        if let Some(v) = version
            && v == self.seen_version + 1
        {
            self.seen_version = v;
        }
        Ok(Outcome {
            results,
            audit_written,
            committed: true,
            changed,
        })
    }
}

/// A batch's records (JSON lines) as one row: the writer's group commits and `tessera store
/// copy`, a row per row of the local store.
pub(crate) fn insert_audit(tx: &dyn Sql, time_ms: i64, lines: &str) -> SqlResult<()> {
    tx.execute(
        "INSERT INTO audit (time, records) VALUES (?1, ?2)",
        sql::params![time_ms, lines],
    )?;
    Ok(())
}

impl Backend for PgBackend {
    fn load(&mut self) -> Result<Tables, StoreError> {
        let (tables, version) = self.read(|tx| {
            let tx: &dyn Sql = tx;
            let version = tx.query_row(
                "SELECT version FROM store_version WHERE id = 1",
                sql::params![],
                |r| r.get::<_, i64>(0),
            )?;
            Ok((sql::load::load(tx)?, version))
        })?;
        self.seen_version = version;
        Ok(tables)
    }

    fn load_credential_reports(&mut self) -> Result<Vec<CredentialReport>, StoreError> {
        self.read(|tx| sql::console::load_credential_reports(tx))
    }

    fn changed_elsewhere(&mut self) -> Changed {
        let pg = self.pg.clone();
        let seen = self.seen_version;
        let looked = self.conn().and_then(|conn| {
            let v: i64 = pg
                .run(conn.query_one("SELECT version FROM store_version WHERE id = 1", &[]))?
                .get(0);
            if v == seen {
                return Ok((v, Changed::Nothing));
            }
            let names: Vec<String> = pg
                .run(conn.query(
                    "SELECT name FROM table_versions WHERE version > $1",
                    &[&seen],
                ))?
                .iter()
                .map(|r| r.get(0))
                .collect();
            // A change that names no table (a keyring rotation, a copy): read everything.
            let changed = if names.is_empty() {
                Changed::Anything
            } else {
                Changed::Tables(names.into_iter().collect())
            };
            Ok((v, changed))
        });
        self.reachable = looked.is_ok();
        match looked {
            Ok((v, changed)) => {
                self.seen_version = v;
                changed
            }
            Err(_) => {
                // Unreachable: keep serving the snapshot we have.
                self.conn = None;
                Changed::Nothing
            }
        }
    }

    fn load_tables(
        &mut self,
        names: &std::collections::BTreeSet<String>,
        into: &mut Tables,
    ) -> Result<(), StoreError> {
        self.read(|tx| {
            for name in names {
                sql::load::load_table(tx, name, into)?;
            }
            Ok(())
        })
    }

    fn commit(&mut self, batch: Batch<'_>) -> Outcome {
        let mut attempt = 0;
        let failure = loop {
            attempt += 1;
            match self.try_commit(&batch) {
                Ok(outcome) => {
                    self.reachable = true;
                    return outcome;
                }
                Err(SqlError::Retry) if attempt < MAX_ATTEMPTS => {
                    // Another node's transaction won: back off a little, then again.
                    std::thread::sleep(Duration::from_millis(2 << attempt.min(6)));
                }
                Err(e) => {
                    if matches!(e, SqlError::Unavailable(_)) {
                        self.conn = None;
                        self.reachable = false;
                    }
                    break e;
                }
            }
        };
        tracing::error!(error = ?failure, target = %self.pg.target, "store: commit failed");
        let err = match failure {
            SqlError::Unavailable(d) => StoreError::Unavailable(d),
            SqlError::Retry => StoreError::Unavailable("postgres: serialization conflicts".into()),
            e => StoreError::from(e),
        };
        Outcome {
            results: batch.jobs.iter().map(|_| Err(err.clone())).collect(),
            audit_written: false,
            committed: false,
            changed: Default::default(),
        }
    }

    fn reachable(&self) -> bool {
        self.reachable
    }

    fn poll_interval(&self) -> Duration {
        POLL_INTERVAL
    }

    fn frame_archive(&self) -> Result<Box<dyn FrameArchive>, StoreError> {
        Err(StoreError::internal(
            "postgres: audit records go straight to the database (no journal)",
        ))
    }
}

/// `tessera audit tail` against the database.
#[derive(Debug)]
pub(crate) struct PgAuditRead {
    pg: Arc<Pg>,
}

impl PgAuditRead {
    pub(crate) fn new(pg: Arc<Pg>) -> Self {
        PgAuditRead { pg }
    }

    fn rows(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<AuditRow>, StoreError> {
        let client = self.pg.client()?;
        let rows = self.pg.run(client.query(sql, params))?;
        Ok(rows
            .iter()
            .map(|r| AuditRow {
                seq: r.get(0),
                journal_seq: None,
                records: r.get(1),
            })
            .collect())
    }
}

impl AuditRead for PgAuditRead {
    fn newest(&mut self, n: usize) -> Result<(Vec<AuditRow>, u64, i64), StoreError> {
        let limit = i64::try_from(n).unwrap_or(i64::MAX);
        let mut rows = self.rows(
            "SELECT seq, records FROM audit ORDER BY seq DESC LIMIT $1",
            &[&limit],
        )?;
        rows.reverse();
        let top = match rows.last() {
            Some(r) => r.seq,
            None => {
                let client = self.pg.client()?;
                self.pg
                    .run(client.query_one("SELECT COALESCE(MAX(seq), 0) FROM audit", &[]))?
                    .get(0)
            }
        };
        Ok((rows, 0, top))
    }

    fn since(&mut self, after: i64, limit: usize) -> Result<Vec<AuditRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.rows(
            "SELECT seq, records FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&after, &limit],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Keyring;

    fn create_account(backend: &mut PgBackend, keyring: &Keyring, id: &str) -> Outcome {
        let changes = [Change::CreateAccount {
            id: id.to_owned(),
            alias: None,
            created_at: chrono::Utc::now(),
        }];
        backend.commit(Batch {
            jobs: vec![&changes],
            audit: Some((0, "{\"a\":1}\n{\"a\":2}")),
            durable: true,
            keyring,
        })
    }

    fn commit_one(backend: &mut PgBackend, keyring: &Keyring, change: Change) -> Outcome {
        let changes = [change];
        backend.commit(Batch {
            jobs: vec![&changes],
            audit: None,
            durable: true,
            keyring,
        })
    }

    /// TLS through rustls: verify-full against the CA that issued the server's certificate;
    /// refused against the public roots; `require` encrypts without checking.
    #[test]
    fn tls_to_the_database_is_verified_as_sslmode_says() {
        let certs = tempfile::tempdir().unwrap();
        let made = std::process::Command::new("bash")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/certs/make-dev-certs.sh"
            ))
            .arg(certs.path())
            .output()
            .unwrap();
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let db = testdb::OwnServer::start_with(Some(certs.path()));
        let base = db.url.split('?').next().unwrap().to_owned();
        let ca = certs.path().join("ca.pem");
        let connect = |query: &str, ca_file: Option<&std::path::Path>| {
            let tls = TlsOptions {
                ca_file: ca_file.map(std::path::Path::to_path_buf),
            };
            Pg::new(&format!("{base}?{query}"), &tls, DEFAULT_TIMEOUT).and_then(|pg| {
                let client = pg.client()?;
                let on: bool = pg
                    .run(client.query_one(
                        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                        &[],
                    ))?
                    .get(0);
                Ok(on)
            })
        };
        assert_eq!(connect("sslmode=verify-full", Some(&ca)), Ok(true));
        let in_url = format!("sslmode=verify-full&sslrootcert={}", ca.display());
        assert_eq!(connect(&in_url, None), Ok(true));
        assert_eq!(connect("sslmode=verify-ca", Some(&ca)), Ok(true));
        assert_eq!(connect("sslmode=require", None), Ok(true));
        assert_eq!(connect("sslmode=disable", None), Ok(false));
        let refused = connect("sslmode=verify-full", None);
        assert!(
            matches!(refused, Err(StoreError::Unavailable(_))),
            "{refused:?}"
        );
    }

    /// A batch of any size is one row holding its records, in order, stored uncompressed.
    #[test]
    fn audit_batches_of_any_size_are_a_row_each() {
        let place = tempfile::tempdir().unwrap();
        let url = testdb::database_for(place.path());
        let pg = Pg::new(&url, &TlsOptions::default(), DEFAULT_TIMEOUT).unwrap();
        pg.migrate().unwrap();
        let batch = |from: usize, n: usize| {
            (from..from + n)
                .map(|i| format!("{{\"n\":{i}}}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let mut want = Vec::new();
        let mut total = 0;
        for n in [1usize, 3, 700] {
            let lines = batch(total, n);
            pg.transaction(|tx| Ok(insert_audit(tx, 0, &lines)?))
                .unwrap();
            want.push(lines);
            total += n;
        }
        // The writer's own path.
        let mut backend = PgBackend::new(pg.clone());
        let keyring = Keyring::generate(chrono::Utc::now()).unwrap();
        let lines = batch(total, 3000);
        let done = backend.commit(Batch {
            jobs: Vec::new(),
            audit: Some((0, &lines)),
            durable: false,
            keyring: &keyring,
        });
        assert!(done.committed && done.audit_written);
        want.push(lines);
        let mut reader = PgAuditRead::new(pg.clone());
        let rows = reader.since(0, 10_000).unwrap();
        let got: Vec<String> = rows.into_iter().map(|r| r.records).collect();
        assert_eq!(got, want);
        // Stored as written: pglz cost more CPU per batch than the rest of its insert.
        let client = pg.client().unwrap();
        let storage: i8 = pg
            .run(client.query_one(
                "SELECT attstorage FROM pg_attribute WHERE attrelid = 'audit'::regclass AND attname = 'records'",
                &[],
            ))
            .unwrap()
            .get(0);
        assert_eq!(storage, b'e' as i8, "EXTERNAL");
    }

    /// Another node's change is read back table by table: only what it touched.
    #[test]
    fn another_nodes_change_names_the_tables_it_touched() {
        let place = tempfile::tempdir().unwrap();
        let url = testdb::database_for(place.path());
        let keyring = Keyring::generate(chrono::Utc::now()).unwrap();
        let open = || PgBackend::open(&url, &TlsOptions::default(), DEFAULT_TIMEOUT).unwrap();
        let (mut a, mut b) = (open(), open());
        a.load().unwrap();
        b.load().unwrap();
        assert_eq!(b.changed_elsewhere(), Changed::Nothing);

        let done = create_account(&mut a, &keyring, "111111111111");
        assert_eq!(done.changed, ["accounts".to_owned()].into());
        assert_eq!(a.changed_elsewhere(), Changed::Nothing, "its own change");
        assert_eq!(
            b.changed_elsewhere(),
            Changed::Tables(["accounts".to_owned()].into())
        );

        let user = crate::store::User {
            id: "AIDAEXAMPLE".into(),
            account: "111111111111".into(),
            name: "ivy".into(),
            path: "/".into(),
            created_at: chrono::Utc::now(),
            boundary: None,
            tags: vec![("team".into(), "infra".into())],
        };
        let done = commit_one(
            &mut a,
            &keyring,
            Change::CreateUser {
                user,
                max_per_account: 10,
            },
        );
        assert!(done.committed);
        let Changed::Tables(seen) = b.changed_elsewhere() else {
            panic!("expected tables");
        };
        assert!(
            seen.contains("users") && seen.contains("user_tags"),
            "{seen:?}"
        );
        assert!(
            !seen.contains("roles") && !seen.contains("accounts"),
            "{seen:?}"
        );
        let mut tables = Tables::default();
        b.load_tables(&seen, &mut tables).unwrap();
        assert_eq!(tables.users.len(), 1);
        assert_eq!(tables.user_tags.len(), 1);
        assert!(tables.accounts.is_empty(), "accounts were not read again");
    }

    #[test]
    fn with_the_database_gone_a_write_fails_unavailable_at_once_and_works_once_it_is_back() {
        let db = testdb::OwnServer::start();
        let keyring = Keyring::generate(chrono::Utc::now()).unwrap();
        let mut backend =
            PgBackend::open(&db.url, &TlsOptions::default(), DEFAULT_TIMEOUT).unwrap();
        let tables = backend.load().unwrap();
        assert!(tables.accounts.is_empty());
        let done = create_account(&mut backend, &keyring, "111111111111");
        assert!(done.committed && done.audit_written);
        assert!(backend.reachable());

        db.pause();
        let started = std::time::Instant::now();
        let failed = create_account(&mut backend, &keyring, "222222222222");
        assert!(!failed.committed && !failed.audit_written);
        assert!(
            matches!(failed.results.as_slice(), [Err(StoreError::Unavailable(_))]),
            "{:?}",
            failed.results
        );
        assert!(
            started.elapsed() < DEFAULT_TIMEOUT,
            "{:?}",
            started.elapsed()
        );
        assert!(!backend.reachable());
        assert_eq!(backend.changed_elsewhere(), Changed::Nothing);

        db.resume();
        let done = create_account(&mut backend, &keyring, "222222222222");
        assert!(done.committed, "{:?}", done.results);
        assert!(backend.reachable());
        let tables = backend.load().unwrap();
        assert_eq!(tables.accounts.len(), 2);
        // Each committed batch a row; the refused one left nothing.
        let mut reader = PgAuditRead::new(backend.pg.clone());
        let (rows, _, _) = reader.newest(10).unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.records == "{\"a\":1}\n{\"a\":2}"));
    }
}
