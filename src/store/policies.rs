//! SQL for managed policies, their versions, inline policies, attachments and roles, and the
//! part of the snapshot that holds them compiled.
//!
//! Documents are validated by [`crate::policy::Policy::parse`] before they are written; the
//! snapshot compiles each once per reload so requests only ever evaluate compiled policies.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::model::{Tags, from_ts, is_unique_violation, ts};
use crate::error::{ApiError, ApiResult};
use crate::policy::{Policy, PolicyKind};

/// Who an inline policy or attachment belongs to.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    User(&'a str),
    Group(&'a str),
    Role(&'a str),
}

impl Owner<'_> {
    pub fn kind(&self) -> &'static str {
        match self {
            Owner::User(_) => "user",
            Owner::Group(_) => "group",
            Owner::Role(_) => "role",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Owner::User(id) | Owner::Group(id) | Owner::Role(id) => id,
        }
    }

    pub fn key(&self) -> (String, String) {
        (self.kind().to_owned(), self.id().to_owned())
    }
}

/// Quotas (AWS defaults).
pub const MANAGED_POLICIES_PER_ENTITY: i64 = 10;
pub const POLICY_VERSIONS: i64 = 5;
pub const POLICIES_PER_ACCOUNT: i64 = 1_500;
/// Inline aggregate sizes (characters without whitespace) per user / group / role.
pub fn inline_limit(owner: Owner<'_>) -> usize {
    match owner {
        Owner::User(_) => 2_048,
        Owner::Group(_) => 5_120,
        Owner::Role(_) => 10_240,
    }
}
pub const MANAGED_POLICY_MAX: usize = 6_144;
pub const TRUST_POLICY_MAX: usize = 2_048;

#[derive(Debug, Clone)]
pub struct PolicyVersionRec {
    pub version_id: String,
    pub document: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct ManagedPolicy {
    pub arn: String,
    pub id: String,
    pub account: String,
    pub name: String,
    pub path: String,
    pub description: Option<String>,
    pub default_version: String,
    pub versions: Vec<PolicyVersionRec>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub tags: Tags,
    /// The default version, compiled.
    pub compiled: Arc<Policy>,
    pub attachment_count: usize,
    /// Users and roles using this policy as their permissions boundary.
    pub boundary_usage_count: usize,
}

impl ManagedPolicy {
    pub fn default_document(&self) -> &str {
        self.versions
            .iter()
            .find(|v| v.version_id == self.default_version)
            .map_or("", |v| v.document.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct InlinePolicy {
    pub name: String,
    pub document: String,
    pub compiled: Arc<Policy>,
}

#[derive(Debug, Clone)]
pub struct Role {
    pub id: String,
    pub account: String,
    pub name: String,
    pub path: String,
    pub description: Option<String>,
    pub trust_document: String,
    /// The trust policy compiled, with principal ARNs bound to the unique ids they had when
    /// the policy was saved.
    pub trust: Arc<Policy>,
    pub max_session: i64,
    pub boundary: Option<String>,
    pub created_at: DateTime<Utc>,
    pub tags: Tags,
}

impl Role {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:role{}{}",
            self.account, self.path, self.name
        )
    }
}

/// Policies and roles, as the snapshot holds them.
#[derive(Debug, Default)]
pub struct PolicyState {
    pub managed: BTreeMap<String, ManagedPolicy>,
    /// (owner kind, owner id) -> inline policies, by name.
    pub inline: HashMap<(String, String), Vec<InlinePolicy>>,
    /// (owner kind, owner id) -> attached managed policy ARNs, in attachment order.
    pub attached: HashMap<(String, String), Vec<String>>,
    pub roles: HashMap<String, Role>,
    /// (account, lowercase role name) -> role id, ordered for `ListRoles`.
    pub role_names: BTreeMap<(String, String), String>,
}

impl PolicyState {
    pub fn load(conn: &Connection) -> rusqlite::Result<PolicyState> {
        let mut s = PolicyState::default();
        let mut versions: HashMap<String, Vec<PolicyVersionRec>> = HashMap::new();
        let mut st = conn.prepare("SELECT policy_arn, version_id, document, created_at FROM policy_versions ORDER BY created_at, rowid")?;
        for row in st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })? {
            let (arn, version_id, document, created) = row?;
            versions.entry(arn).or_default().push(PolicyVersionRec {
                version_id,
                document,
                created_at: from_ts(created),
            });
        }
        let mut tags: HashMap<String, Tags> = HashMap::new();
        let mut st =
            conn.prepare("SELECT policy_arn, key, value FROM policy_tags ORDER BY rowid")?;
        for row in st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })? {
            let (arn, k, v) = row?;
            tags.entry(arn).or_default().push((k, v));
        }
        let mut st = conn.prepare(
            "SELECT arn, id, account, name, path, description, default_version, created_at, updated_at FROM managed_policies",
        )?;
        for row in st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, i64>(8)?,
            ))
        })? {
            let (arn, id, account, name, path, description, default_version, created, updated) =
                row?;
            let versions = versions.remove(&arn).unwrap_or_default();
            let doc = versions
                .iter()
                .find(|v| v.version_id == default_version)
                .map(|v| v.document.clone())
                .unwrap_or_default();
            let compiled = match Policy::parse(&doc, PolicyKind::Identity) {
                Ok(p) => Arc::new(p),
                Err(e) => {
                    tracing::error!(policy = %arn, error = %e.message, "store: stored managed policy no longer parses; skipped");
                    continue;
                }
            };
            s.managed.insert(
                arn.clone(),
                ManagedPolicy {
                    tags: tags.remove(&arn).unwrap_or_default(),
                    arn,
                    id,
                    account,
                    name,
                    path,
                    description,
                    default_version,
                    versions,
                    created_at: from_ts(created),
                    updated_at: from_ts(updated),
                    compiled,
                    attachment_count: 0,
                    boundary_usage_count: 0,
                },
            );
        }
        let mut st = conn.prepare(
            "SELECT owner_kind, owner_id, name, document FROM inline_policies ORDER BY name",
        )?;
        for row in st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })? {
            let (kind, owner, name, document) = row?;
            match Policy::parse(&document, PolicyKind::Identity) {
                Ok(p) => s
                    .inline
                    .entry((kind, owner))
                    .or_default()
                    .push(InlinePolicy {
                        name,
                        document,
                        compiled: Arc::new(p),
                    }),
                Err(e) => {
                    tracing::error!(owner = %owner, policy = %name, error = %e.message, "store: stored inline policy no longer parses; skipped")
                }
            }
        }
        let mut st = conn
            .prepare("SELECT owner_kind, owner_id, policy_arn FROM attachments ORDER BY rowid")?;
        for row in st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })? {
            let (kind, owner, arn) = row?;
            if let Some(p) = s.managed.get_mut(&arn) {
                p.attachment_count += 1;
            }
            s.attached.entry((kind, owner)).or_default().push(arn);
        }
        let mut role_tags: HashMap<String, Tags> = HashMap::new();
        let mut st = conn.prepare("SELECT role_id, key, value FROM role_tags ORDER BY rowid")?;
        for row in st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })? {
            let (id, k, v) = row?;
            role_tags.entry(id).or_default().push((k, v));
        }
        let mut st = conn.prepare(
            "SELECT id, account, name, path, description, trust_policy, trust_bindings, max_session, boundary, created_at FROM roles",
        )?;
        for row in st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, i64>(9)?,
            ))
        })? {
            let (
                id,
                account,
                name,
                path,
                description,
                trust_document,
                bindings,
                max_session,
                boundary,
                created,
            ) = row?;
            let trust = match compile_trust(&trust_document, &bindings) {
                Ok(p) => Arc::new(p),
                Err(e) => {
                    tracing::error!(role = %name, error = %e, "store: stored trust policy no longer parses; role skipped");
                    continue;
                }
            };
            s.role_names
                .insert((account.clone(), name.to_lowercase()), id.clone());
            s.roles.insert(
                id.clone(),
                Role {
                    tags: role_tags.remove(&id).unwrap_or_default(),
                    id,
                    account,
                    name,
                    path,
                    description,
                    trust_document,
                    trust,
                    max_session,
                    boundary,
                    created_at: from_ts(created),
                },
            );
        }
        Ok(s)
    }

    pub fn role_by_name(&self, account: &str, name: &str) -> Option<&Role> {
        self.role_names
            .get(&(account.to_owned(), name.to_lowercase()))
            .and_then(|id| self.roles.get(id))
    }

    pub fn inline_of(&self, owner: Owner<'_>) -> &[InlinePolicy] {
        self.inline.get(&owner.key()).map_or(&[], Vec::as_slice)
    }

    pub fn attached_to(&self, owner: Owner<'_>) -> impl Iterator<Item = &ManagedPolicy> {
        self.attached
            .get(&owner.key())
            .into_iter()
            .flatten()
            .filter_map(|arn| self.managed.get(arn))
    }
}

/// Compile a trust policy and bind its principal ARNs to the unique ids recorded at save time
/// (JSON object ARN -> id). An ARN recorded without an id can never match.
pub fn compile_trust(document: &str, bindings: &str) -> Result<Policy, String> {
    let mut p = Policy::parse(document, PolicyKind::Trust).map_err(|e| e.message)?;
    let map: HashMap<String, String> = serde_json::from_str(bindings).map_err(|e| e.to_string())?;
    p.bind_principal_ids(|arn| map.get(arn).cloned());
    Ok(p)
}

// --- SQL -------------------------------------------------------------------------------------

fn count(tx: &Transaction<'_>, sql: &str, p: impl rusqlite::Params) -> ApiResult<i64> {
    Ok(tx.query_row(sql, p, |r| r.get(0))?)
}

/// AWS refuses to delete an entity that still has policies: inline ones first, then attached.
pub fn check_no_policies(tx: &Transaction<'_>, owner: Owner<'_>) -> ApiResult<()> {
    if count(
        tx,
        "SELECT COUNT(*) FROM inline_policies WHERE owner_kind = ?1 AND owner_id = ?2",
        params![owner.kind(), owner.id()],
    )? > 0
    {
        return Err(ApiError::delete_conflict(
            "Cannot delete entity, must delete policies first.",
        ));
    }
    if count(
        tx,
        "SELECT COUNT(*) FROM attachments WHERE owner_kind = ?1 AND owner_id = ?2",
        params![owner.kind(), owner.id()],
    )? > 0
    {
        return Err(ApiError::delete_conflict(
            "Cannot delete entity, must detach all policies first.",
        ));
    }
    Ok(())
}

pub struct NewPolicy<'a> {
    pub arn: &'a str,
    pub id: &'a str,
    pub account: &'a str,
    pub name: &'a str,
    pub path: &'a str,
    pub description: Option<&'a str>,
    pub document: &'a str,
    pub tags: &'a Tags,
    pub now: DateTime<Utc>,
}

pub fn create_policy(tx: &Transaction<'_>, p: &NewPolicy<'_>) -> ApiResult<()> {
    if count(
        tx,
        "SELECT COUNT(*) FROM managed_policies WHERE account = ?1",
        [p.account],
    )? >= POLICIES_PER_ACCOUNT
    {
        return Err(ApiError::limit_exceeded(format!(
            "Cannot exceed quota for PoliciesPerAccount: {POLICIES_PER_ACCOUNT}"
        )));
    }
    tx.execute(
        "INSERT INTO managed_policies (arn, id, account, name, name_lc, path, description, default_version, next_version, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'v1', 2, ?8, ?8)",
        params![p.arn, p.id, p.account, p.name, p.name.to_lowercase(), p.path, p.description, ts(p.now)],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            ApiError::entity_already_exists(format!("A policy called {} already exists. Duplicate names are not allowed.", p.name))
        } else {
            e.into()
        }
    })?;
    tx.execute(
        "INSERT INTO policy_versions (policy_arn, version_id, document, created_at) VALUES (?1, 'v1', ?2, ?3)",
        params![p.arn, p.document, ts(p.now)],
    )?;
    for (k, v) in p.tags {
        tx.execute(
            "INSERT INTO policy_tags (policy_arn, key, key_lc, value) VALUES (?1, ?2, ?3, ?4)",
            params![p.arn, k, k.to_lowercase(), v],
        )?;
    }
    Ok(())
}

pub fn no_such_policy(arn: &str) -> ApiError {
    ApiError::no_such_entity(format!("Policy {arn} was not found."))
}

fn policy_exists(tx: &Transaction<'_>, arn: &str) -> ApiResult<()> {
    if count(
        tx,
        "SELECT COUNT(*) FROM managed_policies WHERE arn = ?1",
        [arn],
    )? == 0
    {
        return Err(no_such_policy(arn));
    }
    Ok(())
}

/// Add a version (v<next>), optionally making it the default. At most 5 versions.
pub fn create_policy_version(
    tx: &Transaction<'_>,
    arn: &str,
    document: &str,
    set_default: bool,
    now: DateTime<Utc>,
) -> ApiResult<String> {
    let next: Option<i64> = tx
        .query_row(
            "SELECT next_version FROM managed_policies WHERE arn = ?1",
            [arn],
            |r| r.get(0),
        )
        .optional()?;
    let next = next.ok_or_else(|| no_such_policy(arn))?;
    if count(
        tx,
        "SELECT COUNT(*) FROM policy_versions WHERE policy_arn = ?1",
        [arn],
    )? >= POLICY_VERSIONS
    {
        return Err(ApiError::limit_exceeded(
            "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.",
        ));
    }
    let vid = format!("v{next}");
    tx.execute("INSERT INTO policy_versions (policy_arn, version_id, document, created_at) VALUES (?1, ?2, ?3, ?4)", params![arn, vid, document, ts(now)])?;
    tx.execute("UPDATE managed_policies SET next_version = next_version + 1, updated_at = ?2 WHERE arn = ?1", params![arn, ts(now)])?;
    if set_default {
        tx.execute(
            "UPDATE managed_policies SET default_version = ?2 WHERE arn = ?1",
            params![arn, vid],
        )?;
    }
    Ok(vid)
}

pub fn set_default_version(
    tx: &Transaction<'_>,
    arn: &str,
    version_id: &str,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    policy_exists(tx, arn)?;
    if count(
        tx,
        "SELECT COUNT(*) FROM policy_versions WHERE policy_arn = ?1 AND version_id = ?2",
        params![arn, version_id],
    )? == 0
    {
        return Err(ApiError::no_such_entity(format!(
            "Policy {arn} version {version_id} does not exist."
        )));
    }
    tx.execute(
        "UPDATE managed_policies SET default_version = ?2, updated_at = ?3 WHERE arn = ?1",
        params![arn, version_id, ts(now)],
    )?;
    Ok(())
}

pub fn delete_policy_version(tx: &Transaction<'_>, arn: &str, version_id: &str) -> ApiResult<()> {
    let default: Option<String> = tx
        .query_row(
            "SELECT default_version FROM managed_policies WHERE arn = ?1",
            [arn],
            |r| r.get(0),
        )
        .optional()?;
    let default = default.ok_or_else(|| no_such_policy(arn))?;
    if default == version_id {
        return Err(ApiError::delete_conflict(
            "Cannot delete the default version of a policy.",
        ));
    }
    let n = tx.execute(
        "DELETE FROM policy_versions WHERE policy_arn = ?1 AND version_id = ?2",
        params![arn, version_id],
    )?;
    if n == 0 {
        return Err(ApiError::no_such_entity(format!(
            "Policy {arn} version {version_id} does not exist."
        )));
    }
    Ok(())
}

/// Delete a managed policy once it is detached everywhere and has no other versions.
pub fn delete_policy(tx: &Transaction<'_>, arn: &str) -> ApiResult<()> {
    policy_exists(tx, arn)?;
    // A permissions boundary in use counts as an attachment.
    let as_boundary = count(tx, "SELECT COUNT(*) FROM users WHERE boundary = ?1", [arn])?
        + count(tx, "SELECT COUNT(*) FROM roles WHERE boundary = ?1", [arn])?;
    if as_boundary > 0 {
        return Err(ApiError::delete_conflict(
            "Cannot delete a policy attached to entities.",
        ));
    }
    if count(
        tx,
        "SELECT COUNT(*) FROM attachments WHERE policy_arn = ?1",
        [arn],
    )? > 0
    {
        return Err(ApiError::delete_conflict(
            "Cannot delete a policy attached to entities.",
        ));
    }
    if count(
        tx,
        "SELECT COUNT(*) FROM policy_versions WHERE policy_arn = ?1",
        [arn],
    )? > 1
    {
        return Err(ApiError::delete_conflict(
            "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
        ));
    }
    tx.execute("DELETE FROM policy_tags WHERE policy_arn = ?1", [arn])?;
    tx.execute("DELETE FROM policy_versions WHERE policy_arn = ?1", [arn])?;
    tx.execute("DELETE FROM managed_policies WHERE arn = ?1", [arn])?;
    Ok(())
}

pub fn attach(tx: &Transaction<'_>, owner: Owner<'_>, arn: &str) -> ApiResult<()> {
    if count(
        tx,
        "SELECT COUNT(*) FROM managed_policies WHERE arn = ?1",
        [arn],
    )? == 0
    {
        return Err(ApiError::no_such_entity(format!(
            "Policy {arn} does not exist or is not attachable."
        )));
    }
    if count(
        tx,
        "SELECT COUNT(*) FROM attachments WHERE owner_kind = ?1 AND owner_id = ?2 AND policy_arn = ?3",
        params![owner.kind(), owner.id(), arn],
    )? > 0
    {
        return Ok(()); // attaching twice is a no-op, as in AWS
    }
    let n = count(
        tx,
        "SELECT COUNT(*) FROM attachments WHERE owner_kind = ?1 AND owner_id = ?2",
        params![owner.kind(), owner.id()],
    )?;
    if n >= MANAGED_POLICIES_PER_ENTITY {
        let quota = match owner {
            Owner::User(_) => "PoliciesPerUser",
            Owner::Group(_) => "PoliciesPerGroup",
            Owner::Role(_) => "PoliciesPerRole",
        };
        return Err(ApiError::limit_exceeded(format!(
            "Cannot exceed quota for {quota}: {MANAGED_POLICIES_PER_ENTITY}"
        )));
    }
    tx.execute(
        "INSERT INTO attachments (owner_kind, owner_id, policy_arn) VALUES (?1, ?2, ?3)",
        params![owner.kind(), owner.id(), arn],
    )?;
    Ok(())
}

pub fn detach(tx: &Transaction<'_>, owner: Owner<'_>, arn: &str) -> ApiResult<()> {
    let n = tx.execute(
        "DELETE FROM attachments WHERE owner_kind = ?1 AND owner_id = ?2 AND policy_arn = ?3",
        params![owner.kind(), owner.id(), arn],
    )?;
    if n == 0 {
        return Err(ApiError::no_such_entity(format!(
            "Policy {arn} was not found."
        )));
    }
    Ok(())
}

/// Put (create or replace) an inline policy, keeping the owner's aggregate within its limit.
pub fn put_inline(
    tx: &Transaction<'_>,
    owner: Owner<'_>,
    owner_name: &str,
    name: &str,
    document: &str,
) -> ApiResult<()> {
    let others: Vec<String> = {
        let mut st = tx.prepare("SELECT document FROM inline_policies WHERE owner_kind = ?1 AND owner_id = ?2 AND name <> ?3")?;
        let it = st.query_map(params![owner.kind(), owner.id(), name], |r| r.get(0))?;
        it.collect::<Result<_, _>>()?
    };
    let total: usize = others
        .iter()
        .map(|d| crate::policy::policy_size(d))
        .sum::<usize>()
        + crate::policy::policy_size(document);
    let limit = inline_limit(owner);
    if total > limit {
        return Err(ApiError::limit_exceeded(format!(
            "Maximum policy size of {limit} bytes exceeded for {} {owner_name}",
            owner.kind()
        )));
    }
    tx.execute(
        "INSERT INTO inline_policies (owner_kind, owner_id, name, document) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (owner_kind, owner_id, name) DO UPDATE SET document = excluded.document",
        params![owner.kind(), owner.id(), name, document],
    )?;
    Ok(())
}

pub fn delete_inline(tx: &Transaction<'_>, owner: Owner<'_>, name: &str) -> ApiResult<()> {
    let n = tx.execute(
        "DELETE FROM inline_policies WHERE owner_kind = ?1 AND owner_id = ?2 AND name = ?3",
        params![owner.kind(), owner.id(), name],
    )?;
    if n == 0 {
        return Err(ApiError::no_such_entity(format!(
            "The {} policy with name {name} cannot be found.",
            owner.kind()
        )));
    }
    Ok(())
}

// --- roles -----------------------------------------------------------------------------------

pub fn insert_role(tx: &Transaction<'_>, r: &Role, bindings: &str) -> ApiResult<()> {
    tx.execute(
        "INSERT INTO roles (id, account, name, name_lc, path, description, trust_policy, trust_bindings, max_session, boundary, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![r.id, r.account, r.name, r.name.to_lowercase(), r.path, r.description, r.trust_document, bindings, r.max_session, r.boundary, ts(r.created_at)],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            ApiError::entity_already_exists(format!("Role with name {} already exists.", r.name))
        } else {
            e.into()
        }
    })?;
    super::model::upsert_tags(tx, super::model::TagTable::Role, &r.id, &r.tags)?;
    Ok(())
}

pub fn no_such_role(name: &str) -> ApiError {
    ApiError::no_such_entity(format!("The role with name {name} cannot be found."))
}

pub fn role_id(tx: &Transaction<'_>, account: &str, name: &str) -> ApiResult<String> {
    tx.query_row(
        "SELECT id FROM roles WHERE account = ?1 AND name_lc = ?2",
        params![account, name.to_lowercase()],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| no_such_role(name))
}

pub fn update_role(
    tx: &Transaction<'_>,
    id: &str,
    description: Option<Option<&str>>,
    max_session: Option<i64>,
) -> ApiResult<()> {
    if let Some(d) = description {
        tx.execute(
            "UPDATE roles SET description = ?1 WHERE id = ?2",
            params![d, id],
        )?;
    }
    if let Some(m) = max_session {
        tx.execute(
            "UPDATE roles SET max_session = ?1 WHERE id = ?2",
            params![m, id],
        )?;
    }
    Ok(())
}

pub fn update_trust(
    tx: &Transaction<'_>,
    id: &str,
    document: &str,
    bindings: &str,
) -> ApiResult<()> {
    tx.execute(
        "UPDATE roles SET trust_policy = ?1, trust_bindings = ?2 WHERE id = ?3",
        params![document, bindings, id],
    )?;
    Ok(())
}

pub fn set_role_boundary(tx: &Transaction<'_>, id: &str, boundary: Option<&str>) -> ApiResult<()> {
    tx.execute(
        "UPDATE roles SET boundary = ?1 WHERE id = ?2",
        params![boundary, id],
    )?;
    Ok(())
}

pub fn delete_role(tx: &Transaction<'_>, account: &str, name: &str) -> ApiResult<()> {
    let id = role_id(tx, account, name)?;
    check_no_policies(tx, Owner::Role(&id))?;
    tx.execute("DELETE FROM role_tags WHERE role_id = ?1", [&id])?;
    tx.execute("DELETE FROM roles WHERE id = ?1", [&id])?;
    Ok(())
}

pub fn upsert_role_tags(
    tx: &Transaction<'_>,
    role_id: &str,
    tags: &[(String, String)],
) -> ApiResult<()> {
    super::model::upsert_tags(tx, super::model::TagTable::Role, role_id, tags)
}

pub fn delete_role_tags(tx: &Transaction<'_>, role_id: &str, keys: &[String]) -> ApiResult<()> {
    super::model::delete_tags(tx, super::model::TagTable::Role, role_id, keys)
}
