//! The SQL both backends run. Every statement that reads or writes the identity store is written
//! once, here, against [`Sql`]: a transaction (or connection) that runs a statement with
//! positional parameters `?1`, `?2`, ... and hands back rows of plain [`Value`]s. SQLite runs the
//! text as written; PostgreSQL gets `$1`, `$2`, ... ([`numbered_placeholders`]).
//!
//! The dialect is the common subset of SQLite and PostgreSQL (and of the engines that speak
//! PostgreSQL's protocol): integers (`INTEGER`/`BIGINT`, booleans as 0/1, times as ms since the
//! epoch), text and blobs; `ON CONFLICT ... DO UPDATE`, `IS NOT DISTINCT FROM`, `COALESCE`,
//! `CASE`; insertion order through a `rowid` column (SQLite's own, PostgreSQL's an identity).
//! Each function re-checks inside the transaction what it depends on (the snapshot a handler
//! looked at may be a moment old); limits are counted here, against the numbers a change
//! carries.

pub(super) mod apply;
pub(super) mod certificates;
pub(super) mod console;
pub(super) mod identity;
pub(super) mod load;
pub(super) mod policies;
pub(super) mod profiles;
pub(super) mod providers;

use super::error::StoreError;

/// A value a statement returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

/// A parameter as the driver binds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arg<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// What can be bound as a parameter.
pub(crate) trait ToArg {
    fn to_arg(&self) -> SqlResult<Arg<'_>>;
}

impl ToArg for str {
    fn to_arg(&self) -> SqlResult<Arg<'_>> {
        Ok(Arg::Text(self))
    }
}
impl ToArg for String {
    fn to_arg(&self) -> SqlResult<Arg<'_>> {
        Ok(Arg::Text(self))
    }
}
impl ToArg for [u8] {
    fn to_arg(&self) -> SqlResult<Arg<'_>> {
        Ok(Arg::Blob(self))
    }
}
impl ToArg for Vec<u8> {
    fn to_arg(&self) -> SqlResult<Arg<'_>> {
        Ok(Arg::Blob(self))
    }
}
impl ToArg for i64 {
    fn to_arg(&self) -> SqlResult<Arg<'_>> {
        Ok(Arg::Int(*self))
    }
}
impl ToArg for i32 {
    fn to_arg(&self) -> SqlResult<Arg<'_>> {
        Ok(Arg::Int(i64::from(*self)))
    }
}
impl ToArg for u32 {
    fn to_arg(&self) -> SqlResult<Arg<'_>> {
        Ok(Arg::Int(i64::from(*self)))
    }
}
impl ToArg for u64 {
    fn to_arg(&self) -> SqlResult<Arg<'_>> {
        i64::try_from(*self)
            .map(Arg::Int)
            .map_err(|_| SqlError::Other("integer out of range".into()))
    }
}
impl ToArg for usize {
    fn to_arg(&self) -> SqlResult<Arg<'_>> {
        i64::try_from(*self)
            .map(Arg::Int)
            .map_err(|_| SqlError::Other("integer out of range".into()))
    }
}
impl ToArg for bool {
    fn to_arg(&self) -> SqlResult<Arg<'_>> {
        Ok(Arg::Int(i64::from(*self)))
    }
}
impl<T: ToArg + ?Sized> ToArg for &T {
    fn to_arg(&self) -> SqlResult<Arg<'_>> {
        (**self).to_arg()
    }
}
impl<T: ToArg> ToArg for Option<T> {
    fn to_arg(&self) -> SqlResult<Arg<'_>> {
        match self {
            Some(v) => v.to_arg(),
            None => Ok(Arg::Null),
        }
    }
}

/// Positional parameters: `params![a, b]` binds `?1 = a`, `?2 = b`.
macro_rules! params {
    ($($x:expr),* $(,)?) => {
        &[$(&$x as &dyn $crate::store::sql::ToArg),*] as &[&dyn $crate::store::sql::ToArg]
    };
}
pub(crate) use params;

/// What can be read from a [`Value`].
pub(crate) trait FromValue: Sized {
    fn from_value(v: &Value) -> SqlResult<Self>;
}

fn mismatch(want: &str) -> SqlError {
    SqlError::Other(format!("column type: expected {want}"))
}

impl FromValue for String {
    fn from_value(v: &Value) -> SqlResult<Self> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            _ => Err(mismatch("text")),
        }
    }
}
impl FromValue for Vec<u8> {
    fn from_value(v: &Value) -> SqlResult<Self> {
        match v {
            Value::Blob(b) => Ok(b.clone()),
            _ => Err(mismatch("blob")),
        }
    }
}
impl FromValue for i64 {
    fn from_value(v: &Value) -> SqlResult<Self> {
        match v {
            Value::Int(i) => Ok(*i),
            _ => Err(mismatch("integer")),
        }
    }
}
impl FromValue for u32 {
    fn from_value(v: &Value) -> SqlResult<Self> {
        u32::try_from(i64::from_value(v)?).map_err(|_| mismatch("u32"))
    }
}
impl FromValue for u64 {
    fn from_value(v: &Value) -> SqlResult<Self> {
        u64::try_from(i64::from_value(v)?).map_err(|_| mismatch("u64"))
    }
}
impl FromValue for usize {
    fn from_value(v: &Value) -> SqlResult<Self> {
        usize::try_from(i64::from_value(v)?).map_err(|_| mismatch("usize"))
    }
}
impl FromValue for bool {
    fn from_value(v: &Value) -> SqlResult<Self> {
        Ok(i64::from_value(v)? != 0)
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> SqlResult<Self> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// A column's position (only `usize`, so that `r.get(0)` needs no annotation).
pub(crate) trait RowIndex {
    fn index(self) -> usize;
}

impl RowIndex for usize {
    fn index(self) -> usize {
        self
    }
}

/// One row a statement returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row(pub Vec<Value>);

impl Row {
    /// Column `idx`, as `T` (`r.get::<_, T>(i)` reads as rusqlite's does).
    pub(crate) fn get<I: RowIndex, T: FromValue>(&self, idx: I) -> SqlResult<T> {
        let idx = idx.index();
        T::from_value(
            self.0
                .get(idx)
                .ok_or_else(|| SqlError::Other(format!("no column {idx}")))?,
        )
    }
}

/// Why a statement failed, as the SQL layer needs to tell apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SqlError {
    /// A `query_row` found nothing.
    NoRows,
    /// A unique (or primary key) constraint refused the write.
    Unique,
    /// The database is unreachable or refused to commit now: try later.
    Unavailable(String),
    /// The transaction lost to a concurrent one (a serialization failure): run it again.
    Retry,
    Other(String),
}

pub(crate) type SqlResult<T> = Result<T, SqlError>;

/// Failures reaching the store layer: the detail goes to the log, never to a client.
impl From<SqlError> for StoreError {
    fn from(e: SqlError) -> Self {
        match e {
            SqlError::NoRows => StoreError::Internal("sql: no rows".into()),
            SqlError::Unique => StoreError::Internal("sql: unique constraint".into()),
            SqlError::Unavailable(d) => StoreError::Unavailable(d),
            SqlError::Retry => StoreError::Unavailable("sql: serialization failure".into()),
            SqlError::Other(d) => StoreError::Internal(format!("sql: {d}")),
        }
    }
}

/// `query_row(...).optional()`: no row is `None`.
pub(crate) trait OptionalExtension<T> {
    fn optional(self) -> SqlResult<Option<T>>;
}

impl<T> OptionalExtension<T> for SqlResult<T> {
    fn optional(self) -> SqlResult<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(SqlError::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A transaction (or connection) of either backend.
pub(crate) trait Sql {
    /// Run `sql`; the number of rows it changed.
    fn execute(&self, sql: &str, params: &[&dyn ToArg]) -> SqlResult<usize>;
    /// Run `sql`; every row it returned.
    fn query(&self, sql: &str, params: &[&dyn ToArg]) -> SqlResult<Vec<Row>>;
}

impl dyn Sql + '_ {
    /// The first row, through `f`; [`SqlError::NoRows`] when there is none.
    pub(crate) fn query_row<T>(
        &self,
        sql: &str,
        params: &[&dyn ToArg],
        f: impl FnOnce(&Row) -> SqlResult<T>,
    ) -> SqlResult<T> {
        let rows = self.query(sql, params)?;
        f(rows.first().ok_or(SqlError::NoRows)?)
    }

    /// Every row, through `f`.
    pub(crate) fn query_map<T>(
        &self,
        sql: &str,
        params: &[&dyn ToArg],
        f: impl FnMut(&Row) -> SqlResult<T>,
    ) -> SqlResult<Vec<T>> {
        self.query(sql, params)?.iter().map(f).collect()
    }
}

/// `sql` with `?N` placeholders written `$N`, outside string literals and quoted names.
pub(crate) fn numbered_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                out.push(c);
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    out.push(c);
                }
                '?' => out.push('$'),
                c => out.push(c),
            },
        }
    }
    out
}

// --- which tables a job wrote ----------------------------------------------------------------

/// A transaction that notes the tables its statements write, so that a commit reloads only
/// those into the snapshot (and tells other nodes only those).
pub(crate) struct Tracked<'a> {
    inner: &'a dyn Sql,
    written: std::cell::RefCell<std::collections::BTreeSet<String>>,
}

impl<'a> Tracked<'a> {
    pub(crate) fn new(inner: &'a dyn Sql) -> Self {
        Tracked {
            inner,
            written: Default::default(),
        }
    }

    /// The tables written, and those a delete there cascades to.
    pub(crate) fn written(self) -> std::collections::BTreeSet<String> {
        let mut out = self.written.into_inner();
        let cascaded: Vec<&str> = CASCADES
            .iter()
            .filter(|(parent, _)| out.contains(*parent))
            .flat_map(|(_, children)| children.iter().copied())
            .collect();
        out.extend(cascaded.into_iter().map(str::to_owned));
        out
    }

    fn note(&self, sql: &str) {
        if let Some(t) = written_table(sql) {
            self.written.borrow_mut().insert(t.to_owned());
        }
    }
}

impl Sql for Tracked<'_> {
    fn execute(&self, sql: &str, params: &[&dyn ToArg]) -> SqlResult<usize> {
        self.note(sql);
        self.inner.execute(sql, params)
    }

    fn query(&self, sql: &str, params: &[&dyn ToArg]) -> SqlResult<Vec<Row>> {
        self.note(sql);
        self.inner.query(sql, params)
    }
}

/// The table an `INSERT INTO`, `UPDATE` or `DELETE FROM` statement writes.
fn written_table(sql: &str) -> Option<&str> {
    let s = sql.trim_start();
    let rest = ["INSERT INTO ", "UPDATE ", "DELETE FROM "]
        .iter()
        .find_map(|p| {
            s.get(..p.len())
                .filter(|h| h.eq_ignore_ascii_case(p))
                .map(|_| &s[p.len()..])
        })?;
    let rest = rest.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    rest.get(..end).filter(|t| !t.is_empty())
}

/// `ON DELETE CASCADE` in the schema: a delete in the first table deletes rows of the others
/// (checked against SQLite's schema by a test).
const CASCADES: &[(&str, &[&str])] = &[
    ("users", &["user_tags", "group_members", "password_history"]),
    ("groups", &["group_members"]),
    ("mfa_devices", &["mfa_device_tags"]),
    ("managed_policies", &["policy_versions", "policy_tags"]),
    ("roles", &["role_tags"]),
    ("saml_providers", &["saml_private_keys"]),
    (
        "instance_profiles",
        &["instance_profile_roles", "instance_profile_tags"],
    ),
    ("server_certificates", &["server_certificate_tags"]),
];

// --- helpers for the SQL modules -------------------------------------------------------------

fn count(tx: &dyn Sql, sql: &str, p: &[&dyn ToArg]) -> Result<i64, StoreError> {
    Ok(tx.query_row(sql, p, |r| r.get(0))?)
}

/// `n` entities already reach the limit `max`: one more would pass it.
fn at_limit(n: i64, max: usize) -> bool {
    usize::try_from(n).is_ok_and(|n| n >= max)
}

fn is_unique_violation(e: &SqlError) -> bool {
    matches!(e, SqlError::Unique)
}

fn tag_rows(conn: &dyn Sql, sql: &str) -> Result<Vec<super::backend::TagRow>, StoreError> {
    Ok(conn.query_map(sql, params![], |r| {
        Ok(super::backend::TagRow {
            owner: r.get(0)?,
            key: r.get(1)?,
            value: r.get(2)?,
        })
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_tables_are_read_off_the_statements() {
        assert_eq!(
            written_table("INSERT INTO users (id) VALUES (?1)"),
            Some("users")
        );
        assert_eq!(written_table("\n   update roles SET x = 1"), Some("roles"));
        assert_eq!(
            written_table("DELETE FROM group_members WHERE a = ?1"),
            Some("group_members")
        );
        assert_eq!(written_table("SELECT id FROM users"), None);
    }

    /// The cascade table above says what the schema says.
    #[test]
    fn cascades_match_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let backend =
            crate::store::SqliteBackend::open(dir.path(), std::time::Duration::from_secs(5))
                .unwrap();
        let conn = backend.connection();
        let rows = conn
            .query(
                "SELECT p.\"table\", m.name FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) p WHERE m.type = 'table' AND p.on_delete = 'CASCADE'",
                params![],
            )
            .unwrap();
        let mut found: Vec<(String, String)> = rows
            .iter()
            .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
            .collect();
        found.sort();
        // A foreign key over two columns is two rows.
        found.dedup();
        let mut listed: Vec<(String, String)> = CASCADES
            .iter()
            .flat_map(|(p, cs)| cs.iter().map(|c| (p.to_string(), c.to_string())))
            .collect();
        listed.sort();
        assert_eq!(found, listed);
    }

    #[test]
    fn placeholders_are_numbered_outside_literals() {
        assert_eq!(
            numbered_placeholders("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND d = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND d = $12"
        );
    }
}
