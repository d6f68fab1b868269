//! `tessera store copy --from DATA_DIR --to postgres://…`: an embedded installation moved into
//! a cluster's database. Every table is copied column by column, in the order the tables were
//! created (so every row's references are there before it), rows in the order they were
//! added; secrets are opened with the data dir's keyring and re-sealed under the cluster's;
//! the audit trail (journal frames not yet copied included) arrives row for row. One
//! transaction: the copy is whole or absent. A database that already holds an account is
//! refused, so running it twice never duplicates anything.

use super::sql::identity::SEALED_COLUMNS;
use super::sql::{self, Arg, Sql, SqlResult, ToArg, Value};
use crate::credentials::Keyring;

/// Tables the copy leaves alone: SQLite's own, the journal's bookkeeping, and the audit trail
/// (copied apart: the database numbers its rows itself).
const NOT_COPIED: &[&str] = &["sqlite_sequence", "audit_journal", "audit"];

impl ToArg for Value {
    fn to_arg(&self) -> SqlResult<Arg<'_>> {
        Ok(match self {
            Value::Null => Arg::Null,
            Value::Int(i) => Arg::Int(*i),
            Value::Text(t) => Arg::Text(t),
            Value::Blob(b) => Arg::Blob(b),
        })
    }
}

/// What was copied, for the operator.
#[derive(Debug, Default)]
pub(crate) struct Copied {
    pub rows: usize,
    pub tables: usize,
    pub secrets: usize,
    pub audit_records: usize,
}

/// Copy everything `from` (a SQLite store, its secrets sealed with `from_keys`) holds into `to`
/// (a fresh cluster's database, inside its transaction), re-sealing secrets with `to_keys`.
pub(crate) fn copy(
    from: &dyn Sql,
    from_keys: &Keyring,
    to: &dyn Sql,
    to_keys: &Keyring,
) -> Result<Copied, String> {
    let err = |what: &str, e: sql::SqlError| format!("{what}: {e:?}");
    let accounts = to
        .query_row("SELECT COUNT(*) FROM accounts", sql::params![], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(|e| err("target", e))?;
    if accounts > 0 {
        return Err("the database already holds accounts: `store copy` moves an installation into a database no node has used yet (refusing, so nothing is copied twice)".into());
    }
    let tables: Vec<(String, String)> = from
        .query_map(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY rowid",
            sql::params![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| err("source tables", e))?;
    let mut done = Copied::default();
    for (table, ddl) in tables
        .iter()
        .filter(|(t, _)| !NOT_COPIED.contains(&t.as_str()))
    {
        // Rows in the order they were added (a table without rowids is in key order).
        let order = if ddl.contains("WITHOUT ROWID") {
            ""
        } else {
            " ORDER BY rowid"
        };
        let columns: Vec<String> = from
            .query_map(
                &format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
                sql::params![],
                |r| r.get(0),
            )
            .map_err(|e| err(table, e))?;
        let sealed = SEALED_COLUMNS
            .iter()
            .find(|(t, _, _)| t == table)
            .map(|&(_, id, ct)| {
                let at = |name: &str| columns.iter().position(|c| c == name);
                at(id)
                    .zip(at(ct))
                    .ok_or_else(|| format!("{table}: no {id} or {ct} column"))
            })
            .transpose()?;
        let list = columns.join(", ");
        let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        // The seeded AWS managed policies are in every new database already.
        let insert = format!(
            "INSERT INTO {table} ({list}) VALUES ({}) ON CONFLICT DO NOTHING",
            placeholders.join(", ")
        );
        let rows = from
            .query(
                &format!("SELECT {list} FROM {table}{order}"),
                sql::params![],
            )
            .map_err(|e| err(table, e))?;
        for mut row in rows {
            if let Some((id_at, ct_at)) = sealed {
                let id = row.get::<_, String>(id_at).map_err(|e| err(table, e))?;
                let ct = row.get::<_, Vec<u8>>(ct_at).map_err(|e| err(table, e))?;
                let plain = from_keys.open_blob(&ct, id.as_bytes()).map_err(|_| {
                    format!("{table} {id}: does not open with the data dir's keyring")
                })?;
                let resealed = super::backend::seal(to_keys, plain.expose_bytes(), &id)
                    .map_err(|e| format!("{table} {id}: {e}"))?;
                if let Some(v) = row.0.get_mut(ct_at) {
                    *v = Value::Blob(resealed);
                }
                done.secrets += 1;
            }
            let args: Vec<&dyn ToArg> = row.0.iter().map(|v| v as &dyn ToArg).collect();
            done.rows += to.execute(&insert, &args).map_err(|e| err(table, e))?;
        }
        done.tables += 1;
    }
    // The audit trail: each row of SQLite's holds a batch of records.
    let batches = from
        .query(
            "SELECT time, records FROM archive.audit ORDER BY seq",
            sql::params![],
        )
        .map_err(|e| err("audit", e))?;
    for batch in batches {
        let time = batch.get::<_, i64>(0).map_err(|e| err("audit", e))?;
        let records = batch.get::<_, String>(1).map_err(|e| err("audit", e))?;
        super::postgres::insert_audit(to, time, &records).map_err(|e| err("audit", e))?;
        done.audit_records += records.lines().filter(|l| !l.is_empty()).count();
    }
    to.execute(
        "UPDATE store_version SET version = version + 1 WHERE id = 1",
        sql::params![],
    )
    .map_err(|e| err("store_version", e))?;
    Ok(done)
}
