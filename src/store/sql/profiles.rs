//! SQL for instance profiles and the roles they hold.

use super::{OptionalExtension, Sql, params};

use super::identity::{TagTable, unique_or, upsert_tags};
use super::{at_limit, count};
use crate::store::error::{Conflict, Entity, StoreError};
use crate::store::model::{InstanceProfile, from_ts, ts};

type Result<T> = std::result::Result<T, StoreError>;

/// The id of the instance profile (account, name), case-insensitively.
pub(super) fn profile_id(tx: &dyn Sql, account: &str, name: &str) -> Result<String> {
    tx.query_row(
        "SELECT id FROM instance_profiles WHERE account = ?1 AND name_lc = ?2",
        params![account, name.to_lowercase()],
        |r| r.get(0),
    )
    .optional()?
    .ok_or(StoreError::NotFound(Entity::InstanceProfile))
}

pub(super) fn create(tx: &dyn Sql, p: &InstanceProfile, max_per_account: usize) -> Result<()> {
    let n = count(
        tx,
        "SELECT COUNT(*) FROM instance_profiles WHERE account = ?1",
        params![&p.account],
    )?;
    if at_limit(n, max_per_account) {
        return Err(StoreError::LimitExceeded(Entity::InstanceProfile));
    }
    tx.execute(
        "INSERT INTO instance_profiles (id, account, name, name_lc, path, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![p.id, p.account, p.name, p.name.to_lowercase(), p.path, ts(p.created_at)],
    )
    .map_err(|e| unique_or(e, Entity::InstanceProfile))?;
    upsert_tags(tx, TagTable::InstanceProfile, &p.id, &p.tags)
}

/// Delete a profile once it holds no role.
pub(super) fn delete(tx: &dyn Sql, account: &str, name: &str) -> Result<()> {
    let id = profile_id(tx, account, name)?;
    if count(
        tx,
        "SELECT COUNT(*) FROM instance_profile_roles WHERE profile_id = ?1",
        params![&id],
    )? > 0
    {
        return Err(StoreError::Conflict(Conflict::InstanceProfileHasRoles));
    }
    tx.execute(
        "DELETE FROM instance_profile_tags WHERE profile_id = ?1",
        params![&id],
    )?;
    tx.execute("DELETE FROM instance_profiles WHERE id = ?1", params![&id])?;
    Ok(())
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

/// Put a role in a profile that holds fewer than `max_roles` roles (a role already there counts
/// as one of them, as IAM counts it).
pub(super) fn add_role(
    tx: &dyn Sql,
    account: &str,
    profile: &str,
    role: &str,
    max_roles: usize,
) -> Result<()> {
    let pid = profile_id(tx, account, profile)?;
    let rid = role_id(tx, account, role)?;
    let n = count(
        tx,
        "SELECT COUNT(*) FROM instance_profile_roles WHERE profile_id = ?1",
        params![&pid],
    )?;
    if at_limit(n, max_roles) {
        return Err(StoreError::LimitExceeded(Entity::InstanceProfileRole));
    }
    tx.execute(
        "INSERT INTO instance_profile_roles (profile_id, role_id) VALUES (?1, ?2)",
        params![pid, rid],
    )
    .map_err(|e| unique_or(e, Entity::InstanceProfileRole))?;
    Ok(())
}

pub(super) fn remove_role(tx: &dyn Sql, account: &str, profile: &str, role: &str) -> Result<()> {
    let pid = profile_id(tx, account, profile)?;
    let rid = role_id(tx, account, role)?;
    let n = tx.execute(
        "DELETE FROM instance_profile_roles WHERE profile_id = ?1 AND role_id = ?2",
        params![pid, rid],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(Entity::InstanceProfileRole));
    }
    Ok(())
}

/// A role still in a profile cannot be deleted.
pub(super) fn check_role_in_no_profile(tx: &dyn Sql, role_id: &str) -> Result<()> {
    if count(
        tx,
        "SELECT COUNT(*) FROM instance_profile_roles WHERE role_id = ?1",
        params![role_id],
    )? > 0
    {
        return Err(StoreError::Conflict(Conflict::RoleInInstanceProfile));
    }
    Ok(())
}

pub(super) fn load(conn: &dyn Sql) -> Result<Vec<InstanceProfile>> {
    Ok(conn.query_map(
        "SELECT id, account, name, path, created_at FROM instance_profiles",
        params![],
        |r| {
            Ok(InstanceProfile {
                id: r.get(0)?,
                account: r.get(1)?,
                name: r.get(2)?,
                path: r.get(3)?,
                created_at: from_ts(r.get(4)?),
                roles: Vec::new(),
                tags: Vec::new(),
            })
        },
    )?)
}

/// (profile id, role id), in the order added.
pub(super) fn load_roles(conn: &dyn Sql) -> Result<Vec<(String, String)>> {
    Ok(conn.query_map(
        "SELECT profile_id, role_id FROM instance_profile_roles ORDER BY rowid",
        params![],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}
