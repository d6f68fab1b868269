//! SQL for managed policies, their versions, inline policies, attachments and roles.

use super::{OptionalExtension, Sql, params};
use chrono::{DateTime, Utc};

use super::identity::{TagTable, upsert_tags};
use super::{at_limit, count, is_unique_violation};
use crate::store::Role;
use crate::store::backend::RoleDeletionTask;
use crate::store::change::NewPolicy;
use crate::store::error::{Conflict, Entity, StoreError};
use crate::store::model::{from_ts, ts};
use crate::store::policies::Owner;

type Result<T> = std::result::Result<T, StoreError>;

/// An entity that still has policies cannot be deleted: inline ones are looked for first, then
/// attached ones.
pub(super) fn check_no_policies(tx: &dyn Sql, owner: Owner<'_>) -> Result<()> {
    if count(
        tx,
        "SELECT COUNT(*) FROM inline_policies WHERE owner_kind = ?1 AND owner_id = ?2",
        params![owner.kind(), owner.id()],
    )? > 0
    {
        return Err(StoreError::Conflict(Conflict::HasInlinePolicies));
    }
    if count(
        tx,
        "SELECT COUNT(*) FROM attachments WHERE owner_kind = ?1 AND owner_id = ?2",
        params![owner.kind(), owner.id()],
    )? > 0
    {
        return Err(StoreError::Conflict(Conflict::HasAttachedPolicies));
    }
    Ok(())
}

pub(super) fn create_policy(tx: &dyn Sql, p: &NewPolicy, max_per_account: usize) -> Result<()> {
    let n = count(
        tx,
        "SELECT COUNT(*) FROM managed_policies WHERE account = ?1",
        params![&p.account],
    )?;
    if at_limit(n, max_per_account) {
        return Err(StoreError::LimitExceeded(Entity::Policy));
    }
    tx.execute(
        "INSERT INTO managed_policies (arn, id, account, name, name_lc, path, description, default_version, next_version, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'v1', 2, ?8, ?8)",
        params![p.arn, p.id, p.account, p.name, p.name.to_lowercase(), p.path, p.description, ts(p.created_at)],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::AlreadyExists(Entity::Policy)
        } else {
            e.into()
        }
    })?;
    tx.execute(
        "INSERT INTO policy_versions (policy_arn, version_id, document, created_at) VALUES (?1, 'v1', ?2, ?3)",
        params![p.arn, p.document, ts(p.created_at)],
    )?;
    for (k, v) in &p.tags {
        tx.execute(
            "INSERT INTO policy_tags (policy_arn, key, key_lc, value) VALUES (?1, ?2, ?3, ?4)",
            params![p.arn, k, k.to_lowercase(), v],
        )?;
    }
    Ok(())
}

pub(super) fn policy_exists(tx: &dyn Sql, arn: &str) -> Result<()> {
    if count(
        tx,
        "SELECT COUNT(*) FROM managed_policies WHERE arn = ?1",
        params![arn],
    )? == 0
    {
        return Err(StoreError::NotFound(Entity::Policy));
    }
    Ok(())
}

/// Add a version (v<next>), optionally making it the default, within `max_versions`.
pub(super) fn create_policy_version(
    tx: &dyn Sql,
    arn: &str,
    document: &str,
    set_default: bool,
    now: DateTime<Utc>,
    max_versions: usize,
) -> Result<String> {
    let next: Option<i64> = tx
        .query_row(
            "SELECT next_version FROM managed_policies WHERE arn = ?1",
            params![arn],
            |r| r.get(0),
        )
        .optional()?;
    let next = next.ok_or(StoreError::NotFound(Entity::Policy))?;
    let n = count(
        tx,
        "SELECT COUNT(*) FROM policy_versions WHERE policy_arn = ?1",
        params![arn],
    )?;
    if at_limit(n, max_versions) {
        return Err(StoreError::LimitExceeded(Entity::PolicyVersion));
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

pub(super) fn set_default_version(
    tx: &dyn Sql,
    arn: &str,
    version_id: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    policy_exists(tx, arn)?;
    if count(
        tx,
        "SELECT COUNT(*) FROM policy_versions WHERE policy_arn = ?1 AND version_id = ?2",
        params![arn, version_id],
    )? == 0
    {
        return Err(StoreError::NotFound(Entity::PolicyVersion));
    }
    tx.execute(
        "UPDATE managed_policies SET default_version = ?2, updated_at = ?3 WHERE arn = ?1",
        params![arn, version_id, ts(now)],
    )?;
    Ok(())
}

pub(super) fn delete_policy_version(tx: &dyn Sql, arn: &str, version_id: &str) -> Result<()> {
    let default: Option<String> = tx
        .query_row(
            "SELECT default_version FROM managed_policies WHERE arn = ?1",
            params![arn],
            |r| r.get(0),
        )
        .optional()?;
    let default = default.ok_or(StoreError::NotFound(Entity::Policy))?;
    if default == version_id {
        return Err(StoreError::Conflict(Conflict::DefaultVersion));
    }
    let n = tx.execute(
        "DELETE FROM policy_versions WHERE policy_arn = ?1 AND version_id = ?2",
        params![arn, version_id],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(Entity::PolicyVersion));
    }
    Ok(())
}

/// Delete a managed policy once it is detached everywhere and has no other versions.
pub(super) fn delete_policy(tx: &dyn Sql, arn: &str) -> Result<()> {
    policy_exists(tx, arn)?;
    // A permissions boundary in use counts as an attachment.
    let in_use = count(
        tx,
        "SELECT COUNT(*) FROM users WHERE boundary = ?1",
        params![arn],
    )? + count(
        tx,
        "SELECT COUNT(*) FROM roles WHERE boundary = ?1",
        params![arn],
    )? + count(
        tx,
        "SELECT COUNT(*) FROM attachments WHERE policy_arn = ?1",
        params![arn],
    )?;
    if in_use > 0 {
        return Err(StoreError::Conflict(Conflict::PolicyInUse));
    }
    if count(
        tx,
        "SELECT COUNT(*) FROM policy_versions WHERE policy_arn = ?1",
        params![arn],
    )? > 1
    {
        return Err(StoreError::Conflict(Conflict::PolicyHasVersions));
    }
    tx.execute(
        "DELETE FROM policy_tags WHERE policy_arn = ?1",
        params![arn],
    )?;
    tx.execute(
        "DELETE FROM policy_versions WHERE policy_arn = ?1",
        params![arn],
    )?;
    tx.execute("DELETE FROM managed_policies WHERE arn = ?1", params![arn])?;
    Ok(())
}

pub(super) fn attach(
    tx: &dyn Sql,
    owner: Owner<'_>,
    arn: &str,
    max_per_owner: usize,
) -> Result<()> {
    policy_exists(tx, arn)?;
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
    if at_limit(n, max_per_owner) {
        return Err(StoreError::LimitExceeded(Entity::Attachment));
    }
    tx.execute(
        "INSERT INTO attachments (owner_kind, owner_id, policy_arn) VALUES (?1, ?2, ?3)",
        params![owner.kind(), owner.id(), arn],
    )?;
    Ok(())
}

pub(super) fn detach(tx: &dyn Sql, owner: Owner<'_>, arn: &str) -> Result<()> {
    let n = tx.execute(
        "DELETE FROM attachments WHERE owner_kind = ?1 AND owner_id = ?2 AND policy_arn = ?3",
        params![owner.kind(), owner.id(), arn],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(Entity::Attachment));
    }
    Ok(())
}

/// Put (create or replace) an inline policy, keeping the owner's aggregate size within
/// `max_total_size`.
pub(super) fn put_inline(
    tx: &dyn Sql,
    owner: Owner<'_>,
    name: &str,
    document: &str,
    max_total_size: usize,
) -> Result<()> {
    let others: Vec<String> = {
        tx.query_map("SELECT document FROM inline_policies WHERE owner_kind = ?1 AND owner_id = ?2 AND name <> ?3", params![owner.kind(), owner.id(), name], |r| r.get(0))?
    };
    let total: usize = others
        .iter()
        .map(|d| crate::policy::policy_size(d))
        .sum::<usize>()
        + crate::policy::policy_size(document);
    if total > max_total_size {
        return Err(StoreError::LimitExceeded(Entity::InlinePolicy));
    }
    tx.execute(
        "INSERT INTO inline_policies (owner_kind, owner_id, name, document) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (owner_kind, owner_id, name) DO UPDATE SET document = excluded.document",
        params![owner.kind(), owner.id(), name, document],
    )?;
    Ok(())
}

pub(super) fn delete_inline(tx: &dyn Sql, owner: Owner<'_>, name: &str) -> Result<()> {
    let n = tx.execute(
        "DELETE FROM inline_policies WHERE owner_kind = ?1 AND owner_id = ?2 AND name = ?3",
        params![owner.kind(), owner.id(), name],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(Entity::InlinePolicy));
    }
    Ok(())
}

// --- roles -----------------------------------------------------------------------------------

pub(super) fn insert_role(
    tx: &dyn Sql,
    r: &Role,
    bindings: &str,
    max_per_account: usize,
) -> Result<()> {
    let n = count(
        tx,
        "SELECT COUNT(*) FROM roles WHERE account = ?1",
        params![&r.account],
    )?;
    if at_limit(n, max_per_account) {
        return Err(StoreError::LimitExceeded(Entity::Role));
    }
    tx.execute(
        "INSERT INTO roles (id, account, name, name_lc, path, description, trust_policy, trust_bindings, max_session, boundary, created_at, linked_service)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![r.id, r.account, r.name, r.name.to_lowercase(), r.path, r.description, r.trust_document, bindings, r.max_session, r.boundary, ts(r.created_at), r.linked_service],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::AlreadyExists(Entity::Role)
        } else {
            e.into()
        }
    })?;
    upsert_tags(tx, TagTable::Role, &r.id, &r.tags)
}

fn role_id(tx: &dyn Sql, account: &str, name: &str) -> Result<String> {
    tx.query_row(
        "SELECT id FROM roles WHERE account = ?1 AND name_lc = ?2",
        params![account, name.to_lowercase()],
        |r| r.get(0),
    )
    .optional()?
    .ok_or(StoreError::NotFound(Entity::Role))
}

pub(super) fn update_role(
    tx: &dyn Sql,
    id: &str,
    description: Option<&str>,
    max_session: Option<i64>,
) -> Result<()> {
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

pub(super) fn update_trust(tx: &dyn Sql, id: &str, document: &str, bindings: &str) -> Result<()> {
    tx.execute(
        "UPDATE roles SET trust_policy = ?1, trust_bindings = ?2 WHERE id = ?3",
        params![document, bindings, id],
    )?;
    Ok(())
}

pub(super) fn set_role_boundary(tx: &dyn Sql, id: &str, boundary: Option<&str>) -> Result<()> {
    tx.execute(
        "UPDATE roles SET boundary = ?1 WHERE id = ?2",
        params![boundary, id],
    )?;
    Ok(())
}

/// Record how a `DeleteServiceLinkedRole` ended.
pub(super) fn insert_deletion_task(tx: &dyn Sql, t: &RoleDeletionTask) -> Result<()> {
    tx.execute(
        "INSERT INTO role_deletion_tasks (id, account, status, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![t.id, t.account, t.status, ts(t.created_at)],
    )?;
    Ok(())
}

pub(super) fn load_deletion_tasks(conn: &dyn Sql) -> Result<Vec<RoleDeletionTask>> {
    Ok(conn.query_map(
        "SELECT id, account, status, created_at FROM role_deletion_tasks",
        params![],
        |r| {
            Ok(RoleDeletionTask {
                id: r.get(0)?,
                account: r.get(1)?,
                status: r.get(2)?,
                created_at: from_ts(r.get(3)?),
            })
        },
    )?)
}

pub(super) fn delete_role(tx: &dyn Sql, account: &str, name: &str) -> Result<()> {
    let id = role_id(tx, account, name)?;
    check_no_policies(tx, Owner::Role(&id))?;
    super::profiles::check_role_in_no_profile(tx, &id)?;
    tx.execute("DELETE FROM role_tags WHERE role_id = ?1", params![&id])?;
    tx.execute("DELETE FROM roles WHERE id = ?1", params![&id])?;
    Ok(())
}
