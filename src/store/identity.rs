//! SQL for users, groups, access keys and MFA devices. Each function runs inside a
//! [`super::Store::write`] transaction and re-checks what it depends on there (the snapshot a
//! handler looked at may be a moment old), answering with AWS's codes and messages.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};

use super::model::{is_unique_violation, ts};
use crate::credentials::{Keyring, Secret};
use crate::error::{ApiError, ApiResult};

/// AWS quotas we enforce.
pub const ACCESS_KEYS_PER_USER: i64 = 2;
pub const GROUPS_PER_USER: i64 = 10;
pub const MFA_DEVICES_PER_USER: i64 = 8;
pub const USERS_PER_ACCOUNT: i64 = 5_000;
pub const GROUPS_PER_ACCOUNT: i64 = 300;

pub fn no_such_user(name: &str) -> ApiError {
    ApiError::no_such_entity(format!("The user with name {name} cannot be found."))
}

pub fn no_such_group(name: &str) -> ApiError {
    ApiError::no_such_entity(format!("The group with name {name} cannot be found."))
}

/// The user id for (account, name), case-insensitively, inside the transaction.
pub fn user_id(tx: &Transaction<'_>, account: &str, name: &str) -> ApiResult<String> {
    tx.query_row(
        "SELECT id FROM users WHERE account = ?1 AND name_lc = ?2",
        params![account, name.to_lowercase()],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| no_such_user(name))
}

pub fn group_id(tx: &Transaction<'_>, account: &str, name: &str) -> ApiResult<String> {
    tx.query_row(
        "SELECT id FROM groups WHERE account = ?1 AND name_lc = ?2",
        params![account, name.to_lowercase()],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| no_such_group(name))
}

fn count(tx: &Transaction<'_>, sql: &str, p: impl rusqlite::Params) -> ApiResult<i64> {
    Ok(tx.query_row(sql, p, |r| r.get(0))?)
}

pub fn check_user_quota(tx: &Transaction<'_>, account: &str) -> ApiResult<()> {
    if count(
        tx,
        "SELECT COUNT(*) FROM users WHERE account = ?1",
        [account],
    )? >= USERS_PER_ACCOUNT
    {
        return Err(ApiError::limit_exceeded(format!(
            "Cannot exceed quota for UsersPerAccount: {USERS_PER_ACCOUNT}"
        )));
    }
    Ok(())
}

/// Delete a user once nothing depends on it any more (AWS: `DeleteConflict` otherwise).
pub fn delete_user(tx: &Transaction<'_>, account: &str, name: &str) -> ApiResult<()> {
    let id = user_id(tx, account, name)?;
    if count(
        tx,
        "SELECT COUNT(*) FROM access_keys WHERE user_id = ?1",
        [&id],
    )? > 0
    {
        return Err(ApiError::delete_conflict(
            "Cannot delete entity, must delete access keys first.",
        ));
    }
    if count(
        tx,
        "SELECT COUNT(*) FROM mfa_devices WHERE user_id = ?1",
        [&id],
    )? > 0
    {
        return Err(ApiError::delete_conflict(
            "Cannot delete entity, must delete MFA device first.",
        ));
    }
    if count(
        tx,
        "SELECT COUNT(*) FROM group_members WHERE user_id = ?1",
        [&id],
    )? > 0
    {
        return Err(ApiError::delete_conflict(
            "Cannot delete entity, must remove user from all groups first.",
        ));
    }
    super::policies::check_no_policies(tx, super::policies::Owner::User(&id))?;
    tx.execute("DELETE FROM user_tags WHERE user_id = ?1", [&id])?;
    tx.execute("DELETE FROM users WHERE id = ?1", [&id])?;
    Ok(())
}

pub fn set_user_boundary(
    tx: &Transaction<'_>,
    user_id: &str,
    boundary: Option<&str>,
) -> ApiResult<()> {
    tx.execute(
        "UPDATE users SET boundary = ?1 WHERE id = ?2",
        params![boundary, user_id],
    )?;
    Ok(())
}

// --- access keys -----------------------------------------------------------------------------

/// Add a long-term key for a user (or the root when `user_id` is None), within the quota.
pub fn create_access_key(
    tx: &Transaction<'_>,
    keyring: &Keyring,
    account: &str,
    user_id: Option<&str>,
    key_id: &str,
    secret: &Secret,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let n = match user_id {
        Some(u) => count(
            tx,
            "SELECT COUNT(*) FROM access_keys WHERE user_id = ?1",
            [u],
        )?,
        None => count(
            tx,
            "SELECT COUNT(*) FROM access_keys WHERE account = ?1 AND user_id IS NULL",
            [account],
        )?,
    };
    if n >= ACCESS_KEYS_PER_USER {
        return Err(ApiError::limit_exceeded(format!(
            "Cannot exceed quota for AccessKeysPerUser: {ACCESS_KEYS_PER_USER}"
        )));
    }
    super::model::insert_access_key(tx, keyring, key_id, account, user_id, secret, now)
}

/// The key must belong to exactly this user (or root); otherwise AWS says it cannot be found.
fn owned_key(
    tx: &Transaction<'_>,
    account: &str,
    user_id: Option<&str>,
    key_id: &str,
) -> ApiResult<()> {
    let owner: Option<(String, Option<String>)> = tx
        .query_row(
            "SELECT account, user_id FROM access_keys WHERE id = ?1",
            [key_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match owner {
        Some((a, u)) if a == account && u.as_deref() == user_id => Ok(()),
        _ => Err(ApiError::no_such_entity(format!(
            "The Access Key with id {key_id} cannot be found."
        ))),
    }
}

pub fn update_access_key(
    tx: &Transaction<'_>,
    account: &str,
    user_id: Option<&str>,
    key_id: &str,
    active: bool,
) -> ApiResult<()> {
    owned_key(tx, account, user_id, key_id)?;
    tx.execute(
        "UPDATE access_keys SET active = ?1 WHERE id = ?2",
        params![active, key_id],
    )?;
    Ok(())
}

pub fn delete_access_key(
    tx: &Transaction<'_>,
    account: &str,
    user_id: Option<&str>,
    key_id: &str,
) -> ApiResult<()> {
    owned_key(tx, account, user_id, key_id)?;
    tx.execute("DELETE FROM access_keys WHERE id = ?1", [key_id])?;
    Ok(())
}

// --- groups ----------------------------------------------------------------------------------

pub fn create_group(
    tx: &Transaction<'_>,
    id: &str,
    account: &str,
    name: &str,
    path: &str,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    if count(
        tx,
        "SELECT COUNT(*) FROM groups WHERE account = ?1",
        [account],
    )? >= GROUPS_PER_ACCOUNT
    {
        return Err(ApiError::limit_exceeded(format!(
            "Cannot exceed quota for GroupsPerAccount: {GROUPS_PER_ACCOUNT}"
        )));
    }
    tx.execute(
        "INSERT INTO groups (id, account, name, name_lc, path, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, account, name, name.to_lowercase(), path, ts(now)],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            ApiError::entity_already_exists(format!("Group with name {name} already exists."))
        } else {
            e.into()
        }
    })?;
    Ok(())
}

pub fn delete_group(tx: &Transaction<'_>, account: &str, name: &str) -> ApiResult<()> {
    let gid = group_id(tx, account, name)?;
    if count(
        tx,
        "SELECT COUNT(*) FROM group_members WHERE group_id = ?1",
        [&gid],
    )? > 0
    {
        return Err(ApiError::delete_conflict(
            "Cannot delete entity, must remove users from group first.",
        ));
    }
    super::policies::check_no_policies(tx, super::policies::Owner::Group(&gid))?;
    tx.execute("DELETE FROM groups WHERE id = ?1", [&gid])?;
    Ok(())
}

pub fn add_user_to_group(
    tx: &Transaction<'_>,
    account: &str,
    group: &str,
    user: &str,
) -> ApiResult<()> {
    let gid = group_id(tx, account, group)?;
    let uid = user_id(tx, account, user)?;
    let already = count(
        tx,
        "SELECT COUNT(*) FROM group_members WHERE group_id = ?1 AND user_id = ?2",
        params![gid, uid],
    )? > 0;
    if already {
        return Ok(()); // AWS: adding an existing member succeeds
    }
    if count(
        tx,
        "SELECT COUNT(*) FROM group_members WHERE user_id = ?1",
        [&uid],
    )? >= GROUPS_PER_USER
    {
        return Err(ApiError::limit_exceeded(format!(
            "Cannot exceed quota for GroupsPerUser: {GROUPS_PER_USER}"
        )));
    }
    tx.execute(
        "INSERT INTO group_members (group_id, user_id) VALUES (?1, ?2)",
        params![gid, uid],
    )?;
    Ok(())
}

pub fn remove_user_from_group(
    tx: &Transaction<'_>,
    account: &str,
    group: &str,
    user: &str,
) -> ApiResult<()> {
    let gid = group_id(tx, account, group)?;
    let uid = user_id(tx, account, user)?;
    let n = tx.execute(
        "DELETE FROM group_members WHERE group_id = ?1 AND user_id = ?2",
        params![gid, uid],
    )?;
    if n == 0 {
        return Err(ApiError::no_such_entity(format!(
            "User {user} is not in group {group}."
        )));
    }
    Ok(())
}

// --- MFA devices -----------------------------------------------------------------------------

#[expect(
    clippy::too_many_arguments,
    reason = "one row's columns; a struct would only rename them"
)]
pub fn create_virtual_mfa(
    tx: &Transaction<'_>,
    keyring: &Keyring,
    serial: &str,
    account: &str,
    name: &str,
    path: &str,
    seed: &Secret,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let ct = keyring
        .seal_blob(seed.expose_bytes(), serial.as_bytes())
        .map_err(|_| ApiError::internal().with_detail("keyring: seal failed"))?;
    tx.execute(
        "INSERT INTO mfa_devices (serial, account, name, path, seed_ct, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![serial, account, name, path, ct, ts(now)],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            ApiError::entity_already_exists("MFADevice entity at the same path and name already exists.")
        } else {
            e.into()
        }
    })?;
    Ok(())
}

/// Bind an unassigned virtual device to a user; `step` is the last code's TOTP step (burned).
pub fn enable_mfa(
    tx: &Transaction<'_>,
    account: &str,
    user_id: &str,
    serial: &str,
    step: u64,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let row: Option<(String, Option<String>)> = tx
        .query_row(
            "SELECT account, user_id FROM mfa_devices WHERE serial = ?1",
            [serial],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match row {
        Some((a, None)) if a == account => {}
        Some((a, Some(_))) if a == account => {
            return Err(ApiError::entity_already_exists(
                "MFA Device is already in use.",
            ));
        }
        _ => {
            return Err(ApiError::no_such_entity(format!(
                "MFA Device with serial number {serial} does not exist."
            )));
        }
    }
    if count(
        tx,
        "SELECT COUNT(*) FROM mfa_devices WHERE user_id = ?1",
        [user_id],
    )? >= MFA_DEVICES_PER_USER
    {
        return Err(ApiError::limit_exceeded(format!(
            "Cannot exceed quota for MFADevicesPerUser: {MFA_DEVICES_PER_USER}"
        )));
    }
    tx.execute(
        "UPDATE mfa_devices SET user_id = ?1, enabled_at = ?2, last_step = ?3 WHERE serial = ?4",
        params![
            user_id,
            ts(now),
            i64::try_from(step).unwrap_or(i64::MAX),
            serial
        ],
    )?;
    Ok(())
}

pub fn deactivate_mfa(tx: &Transaction<'_>, user_id: &str, serial: &str) -> ApiResult<()> {
    let n = tx.execute(
        "UPDATE mfa_devices SET user_id = NULL, enabled_at = NULL WHERE serial = ?1 AND user_id = ?2",
        params![serial, user_id],
    )?;
    if n == 0 {
        return Err(ApiError::no_such_entity(format!(
            "MFA Device with serial number {serial} does not exist."
        )));
    }
    Ok(())
}

pub fn delete_virtual_mfa(tx: &Transaction<'_>, account: &str, serial: &str) -> ApiResult<()> {
    let row: Option<Option<String>> = tx
        .query_row(
            "SELECT user_id FROM mfa_devices WHERE serial = ?1 AND account = ?2",
            params![serial, account],
            |r| r.get(0),
        )
        .optional()?;
    match row {
        None => Err(ApiError::no_such_entity(format!(
            "VirtualMFADevice with serial number {serial} doesn't exist."
        ))),
        Some(Some(_)) => Err(ApiError::delete_conflict("MFA Device is still in use.")),
        Some(None) => {
            tx.execute("DELETE FROM mfa_devices WHERE serial = ?1", [serial])?;
            Ok(())
        }
    }
}

/// Re-seal every secret stored at rest (access key secrets, MFA seeds) under the keyring's
/// current key, so that none depends on an older generation. Returns how many were re-sealed.
pub fn reseal_all(tx: &Transaction<'_>, keyring: &Keyring) -> ApiResult<usize> {
    let mut n = 0;
    for (table, id_col, ct_col) in [
        ("access_keys", "id", "secret_ct"),
        ("mfa_devices", "serial", "seed_ct"),
    ] {
        let rows: Vec<(String, Vec<u8>)> = {
            let mut st = tx.prepare(&format!("SELECT {id_col}, {ct_col} FROM {table}"))?;
            let it = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            it.collect::<Result<_, _>>()?
        };
        for (id, ct) in rows {
            let plain = keyring.open_blob(&ct, id.as_bytes()).map_err(|_| {
                ApiError::internal()
                    .with_detail(format!("{table} {id}: cannot be opened with the keyring"))
            })?;
            let resealed = keyring
                .seal_blob(plain.expose_bytes(), id.as_bytes())
                .map_err(|_| ApiError::internal().with_detail("keyring: seal failed"))?;
            tx.execute(
                &format!("UPDATE {table} SET {ct_col} = ?1 WHERE {id_col} = ?2"),
                params![resealed, id],
            )?;
            n += 1;
        }
    }
    Ok(n)
}
