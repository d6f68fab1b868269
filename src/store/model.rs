//! Identity-store entities, the in-memory [`Snapshot`] requests read, and the SQL that changes
//! them (called inside [`super::Store::write`] transactions).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::credentials::{Keyring, Secret};
use crate::error::{ApiError, ApiResult};

pub type Tags = Vec<(String, String)>;

#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub alias: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub account: String,
    pub name: String,
    pub path: String,
    pub created_at: DateTime<Utc>,
    pub boundary: Option<String>,
    pub tags: Tags,
}

impl User {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:user{}{}",
            self.account, self.path, self.name
        )
    }
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub account: String,
    pub name: String,
    pub path: String,
    pub created_at: DateTime<Utc>,
    /// Member user ids.
    pub members: Vec<String>,
}

impl Group {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:group{}{}",
            self.account, self.path, self.name
        )
    }
}

#[derive(Debug, Clone)]
pub struct AccessKey {
    pub id: String,
    pub account: String,
    /// `None`: the account's root user.
    pub user_id: Option<String>,
    pub secret: Secret,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct MfaDevice {
    pub serial: String,
    pub account: String,
    pub name: String,
    pub path: String,
    pub seed: Secret,
    pub user_id: Option<String>,
    pub enabled_at: Option<DateTime<Utc>>,
    pub last_step: Option<u64>,
    pub created_at: DateTime<Utc>,
}

/// Everything requests need to know about identities, rebuilt after every IAM write.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub accounts: BTreeMap<String, Account>,
    pub users: HashMap<String, User>,
    /// (account, lowercase name) -> user id; ordered for `ListUsers` paging.
    pub user_names: BTreeMap<(String, String), String>,
    pub groups: HashMap<String, Group>,
    pub group_names: BTreeMap<(String, String), String>,
    pub access_keys: HashMap<String, AccessKey>,
    pub mfa: BTreeMap<String, MfaDevice>,
    /// Managed and inline policies, attachments and roles, compiled.
    pub policies: super::policies::PolicyState,
}

pub fn ts(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_ts(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

impl Snapshot {
    pub fn load(conn: &Connection, keyring: &Keyring) -> rusqlite::Result<Snapshot> {
        let mut s = Snapshot::default();
        let mut st = conn.prepare("SELECT id, alias, created_at FROM accounts")?;
        for row in st.query_map([], |r| {
            Ok(Account {
                id: r.get(0)?,
                alias: r.get(1)?,
                created_at: from_ts(r.get(2)?),
            })
        })? {
            let a = row?;
            s.accounts.insert(a.id.clone(), a);
        }
        let mut st =
            conn.prepare("SELECT id, account, name, path, created_at, boundary FROM users")?;
        for row in st.query_map([], |r| {
            Ok(User {
                id: r.get(0)?,
                account: r.get(1)?,
                name: r.get(2)?,
                path: r.get(3)?,
                created_at: from_ts(r.get(4)?),
                boundary: r.get(5)?,
                tags: Vec::new(),
            })
        })? {
            let u = row?;
            s.user_names
                .insert((u.account.clone(), u.name.to_lowercase()), u.id.clone());
            s.users.insert(u.id.clone(), u);
        }
        let mut st = conn.prepare("SELECT user_id, key, value FROM user_tags ORDER BY rowid")?;
        for row in st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })? {
            let (uid, k, v) = row?;
            if let Some(u) = s.users.get_mut(&uid) {
                u.tags.push((k, v));
            }
        }
        let mut st = conn.prepare("SELECT id, account, name, path, created_at FROM groups")?;
        for row in st.query_map([], |r| {
            Ok(Group {
                id: r.get(0)?,
                account: r.get(1)?,
                name: r.get(2)?,
                path: r.get(3)?,
                created_at: from_ts(r.get(4)?),
                members: Vec::new(),
            })
        })? {
            let g = row?;
            s.group_names
                .insert((g.account.clone(), g.name.to_lowercase()), g.id.clone());
            s.groups.insert(g.id.clone(), g);
        }
        let mut st = conn.prepare("SELECT group_id, user_id FROM group_members ORDER BY rowid")?;
        for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (gid, uid) = row?;
            if let Some(g) = s.groups.get_mut(&gid) {
                g.members.push(uid);
            }
        }
        let mut st = conn.prepare(
            "SELECT id, account, user_id, secret_ct, active, created_at FROM access_keys",
        )?;
        for row in st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })? {
            let (id, account, user_id, ct, active, created) = row?;
            match keyring.open_blob(&ct, id.as_bytes()) {
                Ok(secret) => {
                    s.access_keys.insert(
                        id.clone(),
                        AccessKey {
                            id,
                            account,
                            user_id,
                            secret,
                            active,
                            created_at: from_ts(created),
                        },
                    );
                }
                // A key sealed under a retired keyring generation can no longer be used; it is
                // left in the database for the operator, not served.
                Err(_) => {
                    tracing::warn!(access_key_id = %id, "store: access key secret cannot be decrypted with the keyring")
                }
            }
        }
        let mut st = conn.prepare("SELECT serial, account, name, path, seed_ct, user_id, enabled_at, last_step, created_at FROM mfa_devices")?;
        for row in st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Vec<u8>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<i64>>(6)?,
                r.get::<_, Option<i64>>(7)?,
                r.get::<_, i64>(8)?,
            ))
        })? {
            let (serial, account, name, path, ct, user_id, enabled, last_step, created) = row?;
            if let Ok(seed) = keyring.open_blob(&ct, serial.as_bytes()) {
                s.mfa.insert(
                    serial.clone(),
                    MfaDevice {
                        serial,
                        account,
                        name,
                        path,
                        seed,
                        user_id,
                        enabled_at: enabled.map(from_ts),
                        last_step: last_step.and_then(|v| u64::try_from(v).ok()),
                        created_at: from_ts(created),
                    },
                );
            }
        }
        s.policies = super::policies::PolicyState::load(conn)?;
        let boundaries: Vec<String> = s
            .users
            .values()
            .filter_map(|u| u.boundary.clone())
            .chain(s.policies.roles.values().filter_map(|r| r.boundary.clone()))
            .collect();
        for arn in boundaries {
            if let Some(p) = s.policies.managed.get_mut(&arn) {
                p.boundary_usage_count += 1;
            }
        }
        Ok(s)
    }

    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.get(id)
    }

    pub fn user_by_name(&self, account: &str, name: &str) -> Option<&User> {
        self.user_names
            .get(&(account.to_owned(), name.to_lowercase()))
            .and_then(|id| self.users.get(id))
    }

    pub fn group_by_name(&self, account: &str, name: &str) -> Option<&Group> {
        self.group_names
            .get(&(account.to_owned(), name.to_lowercase()))
            .and_then(|id| self.groups.get(id))
    }

    /// Users of an account in name order, starting after `marker` (a lowercase name).
    pub fn users_in(&self, account: &str, after: Option<&str>) -> impl Iterator<Item = &User> {
        let start = (
            account.to_owned(),
            after.map(str::to_owned).unwrap_or_default(),
        );
        self.user_names
            .range(start..)
            .filter(move |((_, n), _)| after.is_none_or(|a| n.as_str() > a))
            .take_while(move |((a, _), _)| a == account)
            .filter_map(|(_, id)| self.users.get(id))
    }

    pub fn groups_of_user<'a>(&'a self, user_id: &'a str) -> impl Iterator<Item = &'a Group> + 'a {
        self.groups
            .values()
            .filter(move |g| g.members.iter().any(|m| m == user_id))
    }

    pub fn keys_of_user<'a>(
        &'a self,
        account: &'a str,
        user_id: Option<&'a str>,
    ) -> impl Iterator<Item = &'a AccessKey> + 'a {
        self.access_keys
            .values()
            .filter(move |k| k.account == account && k.user_id.as_deref() == user_id)
    }

    pub fn mfa_of_user<'a>(&'a self, user_id: &'a str) -> impl Iterator<Item = &'a MfaDevice> + 'a {
        self.mfa
            .values()
            .filter(move |d| d.user_id.as_deref() == Some(user_id))
    }
}

// ---------------------------------------------------------------------------------------------
// Writes. Each runs inside a `Store::write` transaction; uniqueness is enforced by the schema
// and re-checked here for AWS's messages.

pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

pub fn insert_account(
    tx: &Transaction<'_>,
    id: &str,
    alias: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let exists: Option<String> = tx
        .query_row("SELECT id FROM accounts WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    if exists.is_some() {
        return Err(ApiError::entity_already_exists(format!(
            "Account {id} already exists."
        )));
    }
    tx.execute(
        "INSERT INTO accounts (id, alias, created_at) VALUES (?1, ?2, ?3)",
        params![id, alias, ts(now)],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            ApiError::entity_already_exists("The account alias is already in use.")
        } else {
            e.into()
        }
    })?;
    Ok(())
}

pub fn insert_access_key(
    tx: &Transaction<'_>,
    keyring: &Keyring,
    id: &str,
    account: &str,
    user_id: Option<&str>,
    secret: &Secret,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let ct = keyring
        .seal_blob(secret.expose().as_bytes(), id.as_bytes())
        .map_err(|_| ApiError::internal().with_detail("keyring: seal failed"))?;
    tx.execute(
        "INSERT INTO access_keys (id, account, user_id, secret_ct, active, created_at) VALUES (?1, ?2, ?3, ?4, 1, ?5)",
        params![id, account, user_id, ct, ts(now)],
    )?;
    Ok(())
}

pub fn insert_user(tx: &Transaction<'_>, u: &User) -> ApiResult<()> {
    tx.execute(
        "INSERT INTO users (id, account, name, name_lc, path, created_at, boundary) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![u.id, u.account, u.name, u.name.to_lowercase(), u.path, ts(u.created_at), u.boundary],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            ApiError::entity_already_exists(format!("User with name {} already exists.", u.name))
        } else {
            e.into()
        }
    })?;
    upsert_tags(tx, TagTable::User, &u.id, &u.tags)?;
    Ok(())
}

/// Set tags on a user: existing keys (case-insensitive) get the new value.
pub fn upsert_user_tags(
    tx: &Transaction<'_>,
    user_id: &str,
    tags: &[(String, String)],
) -> ApiResult<()> {
    upsert_tags(tx, TagTable::User, user_id, tags)
}

pub fn delete_user_tags(tx: &Transaction<'_>, user_id: &str, keys: &[String]) -> ApiResult<()> {
    delete_tags(tx, TagTable::User, user_id, keys)
}

/// The tag tables: keys are unique per owner case-insensitively (`key_lc`), case-preserving.
#[derive(Debug, Clone, Copy)]
pub enum TagTable {
    User,
    Role,
}

impl TagTable {
    fn sql(self) -> (&'static str, &'static str) {
        match self {
            TagTable::User => ("user_tags", "user_id"),
            TagTable::Role => ("role_tags", "role_id"),
        }
    }
}

/// Set tags: an existing key (any case) gets the new key spelling and value.
pub fn upsert_tags(
    tx: &Transaction<'_>,
    table: TagTable,
    owner: &str,
    tags: &[(String, String)],
) -> ApiResult<()> {
    let (t, col) = table.sql();
    let sql = format!(
        "INSERT INTO {t} ({col}, key, key_lc, value) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT ({col}, key_lc) DO UPDATE SET key = excluded.key, value = excluded.value"
    );
    for (k, v) in tags {
        tx.execute(&sql, params![owner, k, k.to_lowercase(), v])?;
    }
    Ok(())
}

pub fn delete_tags(
    tx: &Transaction<'_>,
    table: TagTable,
    owner: &str,
    keys: &[String],
) -> ApiResult<()> {
    let (t, col) = table.sql();
    let sql = format!("DELETE FROM {t} WHERE {col} = ?1 AND key_lc = ?2");
    for k in keys {
        tx.execute(&sql, params![owner, k.to_lowercase()])?;
    }
    Ok(())
}
