//! SQL for accounts, users, groups, access keys and MFA devices. Each function runs inside the
//! writer's transaction and re-checks there what it depends on (the snapshot a handler looked at
//! may be a moment old); limits are counted here, against the numbers the change carries.

use super::{OptionalExtension, Sql, params};
use chrono::{DateTime, Utc};

use super::{at_limit, count, is_unique_violation, tag_rows};
use crate::credentials::{Keyring, Secret};
use crate::store::backend::seal;
use crate::store::error::{Conflict, Entity, StoreError};
use crate::store::model::{Group, Tags, User, ts};
use crate::store::policies::Owner;

type Result<T> = std::result::Result<T, StoreError>;

pub(super) fn insert_account(
    tx: &dyn Sql,
    id: &str,
    alias: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    let exists: Option<String> = tx
        .query_row("SELECT id FROM accounts WHERE id = ?1", params![id], |r| {
            r.get(0)
        })
        .optional()?;
    if exists.is_some() {
        return Err(StoreError::AlreadyExists(Entity::Account));
    }
    tx.execute(
        "INSERT INTO accounts (id, alias, created_at) VALUES (?1, ?2, ?3)",
        params![id, alias, ts(now)],
    )
    .map_err(|e| unique_or(e, Entity::AccountAlias))?;
    Ok(())
}

pub(super) fn create_account_alias(tx: &dyn Sql, account: &str, alias: &str) -> Result<()> {
    if count(
        tx,
        "SELECT COUNT(*) FROM accounts WHERE alias = ?1",
        params![alias],
    )? > 0
    {
        return Err(StoreError::AlreadyExists(Entity::AccountAlias));
    }
    let n = tx
        .execute(
            "UPDATE accounts SET alias = ?1 WHERE id = ?2",
            params![alias, account],
        )
        .map_err(|e| unique_or(e, Entity::AccountAlias))?;
    if n == 0 {
        return Err(StoreError::NotFound(Entity::Account));
    }
    Ok(())
}

pub(super) fn delete_account_alias(tx: &dyn Sql, account: &str, alias: &str) -> Result<()> {
    let n = tx.execute(
        "UPDATE accounts SET alias = NULL WHERE id = ?1 AND alias = ?2",
        params![account, alias],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(Entity::AccountAlias));
    }
    Ok(())
}

/// A unique-constraint violation is `AlreadyExists(entity)`; anything else is ours.
pub(super) fn unique_or(e: super::SqlError, entity: Entity) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::AlreadyExists(entity)
    } else {
        e.into()
    }
}

/// The user id for (account, name), case-insensitively.
pub(super) fn user_id(tx: &dyn Sql, account: &str, name: &str) -> Result<String> {
    tx.query_row(
        "SELECT id FROM users WHERE account = ?1 AND name_lc = ?2",
        params![account, name.to_lowercase()],
        |r| r.get(0),
    )
    .optional()?
    .ok_or(StoreError::NotFound(Entity::User))
}

pub(super) fn group_id(tx: &dyn Sql, account: &str, name: &str) -> Result<String> {
    tx.query_row(
        "SELECT id FROM groups WHERE account = ?1 AND name_lc = ?2",
        params![account, name.to_lowercase()],
        |r| r.get(0),
    )
    .optional()?
    .ok_or(StoreError::NotFound(Entity::Group))
}

pub(super) fn create_user(tx: &dyn Sql, u: &User, max_per_account: usize) -> Result<()> {
    let n = count(
        tx,
        "SELECT COUNT(*) FROM users WHERE account = ?1",
        params![&u.account],
    )?;
    if at_limit(n, max_per_account) {
        return Err(StoreError::LimitExceeded(Entity::User));
    }
    tx.execute(
        "INSERT INTO users (id, account, name, name_lc, path, created_at, boundary) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![u.id, u.account, u.name, u.name.to_lowercase(), u.path, ts(u.created_at), u.boundary],
    )
    .map_err(|e| unique_or(e, Entity::User))?;
    upsert_tags(tx, TagTable::User, &u.id, &u.tags)
}

/// Delete a user once nothing depends on it any more.
pub(super) fn delete_user(tx: &dyn Sql, account: &str, name: &str) -> Result<()> {
    let id = user_id(tx, account, name)?;
    let dependents = [
        (
            "SELECT COUNT(*) FROM login_profiles WHERE user_id = ?1",
            Conflict::UserHasLoginProfile,
        ),
        (
            "SELECT COUNT(*) FROM access_keys WHERE user_id = ?1",
            Conflict::UserHasAccessKeys,
        ),
        (
            "SELECT COUNT(*) FROM signing_certificates WHERE user_id = ?1",
            Conflict::UserHasSigningCertificates,
        ),
        (
            "SELECT COUNT(*) FROM ssh_public_keys WHERE user_id = ?1",
            Conflict::UserHasSshPublicKeys,
        ),
        (
            "SELECT COUNT(*) FROM mfa_devices WHERE user_id = ?1",
            Conflict::UserHasMfaDevices,
        ),
        (
            "SELECT COUNT(*) FROM group_members WHERE user_id = ?1",
            Conflict::UserInGroups,
        ),
    ];
    for (sql, conflict) in dependents {
        if count(tx, sql, params![&id])? > 0 {
            return Err(StoreError::Conflict(conflict));
        }
    }
    super::policies::check_no_policies(tx, Owner::User(&id))?;
    tx.execute("DELETE FROM user_tags WHERE user_id = ?1", params![&id])?;
    tx.execute("DELETE FROM users WHERE id = ?1", params![&id])?;
    Ok(())
}

pub(super) fn set_user_boundary(tx: &dyn Sql, user_id: &str, boundary: Option<&str>) -> Result<()> {
    tx.execute(
        "UPDATE users SET boundary = ?1 WHERE id = ?2",
        params![boundary, user_id],
    )?;
    Ok(())
}

// --- tags ------------------------------------------------------------------------------------

/// The tag tables: keys are unique per owner case-insensitively (`key_lc`), case-preserving.
#[derive(Debug, Clone, Copy)]
pub(super) enum TagTable {
    User,
    Role,
    /// Owner: the provider's ARN.
    OidcProvider,
    /// Owner: the provider's ARN.
    SamlProvider,
    /// Owner: the profile's id.
    InstanceProfile,
    /// Owner: the managed policy's ARN.
    Policy,
    /// Owner: the server certificate's id.
    ServerCertificate,
    /// Owner: the device's serial.
    MfaDevice,
}

impl TagTable {
    fn sql(self) -> (&'static str, &'static str) {
        match self {
            TagTable::User => ("user_tags", "user_id"),
            TagTable::Role => ("role_tags", "role_id"),
            TagTable::OidcProvider => ("oidc_provider_tags", "provider_arn"),
            TagTable::SamlProvider => ("saml_provider_tags", "provider_arn"),
            TagTable::InstanceProfile => ("instance_profile_tags", "profile_id"),
            TagTable::Policy => ("policy_tags", "policy_arn"),
            TagTable::ServerCertificate => ("server_certificate_tags", "certificate_id"),
            TagTable::MfaDevice => ("mfa_device_tags", "serial"),
        }
    }
}

/// Set tags: an existing key (any case) gets the new key spelling and value.
pub(super) fn upsert_tags(tx: &dyn Sql, table: TagTable, owner: &str, tags: &Tags) -> Result<()> {
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

pub(super) fn delete_tags(
    tx: &dyn Sql,
    table: TagTable,
    owner: &str,
    keys: &[String],
) -> Result<()> {
    let (t, col) = table.sql();
    let sql = format!("DELETE FROM {t} WHERE {col} = ?1 AND key_lc = ?2");
    for k in keys {
        tx.execute(&sql, params![owner, k.to_lowercase()])?;
    }
    Ok(())
}

/// Every tag of `table`, in the order set.
pub(super) fn load_tags(
    conn: &dyn Sql,
    table: TagTable,
) -> Result<Vec<crate::store::backend::TagRow>> {
    let (t, col) = table.sql();
    tag_rows(
        conn,
        &format!("SELECT {col}, key, value FROM {t} ORDER BY rowid"),
    )
}

// --- access keys -----------------------------------------------------------------------------

/// A long-term key for a user (or the root when `user_id` is None), within `max_per_owner`.
#[expect(
    clippy::too_many_arguments,
    reason = "one row's columns and its limit; a struct would only rename them"
)]
pub(super) fn create_access_key(
    tx: &dyn Sql,
    keyring: &Keyring,
    id: &str,
    account: &str,
    user_id: Option<&str>,
    secret: &Secret,
    now: DateTime<Utc>,
    max_per_owner: Option<usize>,
) -> Result<()> {
    if let Some(max) = max_per_owner {
        let n = match user_id {
            Some(u) => count(
                tx,
                "SELECT COUNT(*) FROM access_keys WHERE user_id = ?1",
                params![u],
            )?,
            None => count(
                tx,
                "SELECT COUNT(*) FROM access_keys WHERE account = ?1 AND user_id IS NULL",
                params![account],
            )?,
        };
        if at_limit(n, max) {
            return Err(StoreError::LimitExceeded(Entity::AccessKey));
        }
    }
    let ct = seal(keyring, secret.expose().as_bytes(), id)?;
    tx.execute(
        "INSERT INTO access_keys (id, account, user_id, secret_ct, active, created_at) VALUES (?1, ?2, ?3, ?4, 1, ?5)",
        params![id, account, user_id, ct, ts(now)],
    )?;
    Ok(())
}

/// The key must belong to exactly this user (or root); otherwise it is not found.
fn owned_key(tx: &dyn Sql, account: &str, user_id: Option<&str>, key_id: &str) -> Result<()> {
    let owner: Option<(String, Option<String>)> = tx
        .query_row(
            "SELECT account, user_id FROM access_keys WHERE id = ?1",
            params![key_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match owner {
        Some((a, u)) if a == account && u.as_deref() == user_id => Ok(()),
        _ => Err(StoreError::NotFound(Entity::AccessKey)),
    }
}

pub(super) fn update_access_key(
    tx: &dyn Sql,
    account: &str,
    user_id: Option<&str>,
    key_id: &str,
    active: bool,
) -> Result<()> {
    owned_key(tx, account, user_id, key_id)?;
    tx.execute(
        "UPDATE access_keys SET active = ?1 WHERE id = ?2",
        params![active, key_id],
    )?;
    Ok(())
}

pub(super) fn delete_access_key(
    tx: &dyn Sql,
    account: &str,
    user_id: Option<&str>,
    key_id: &str,
) -> Result<()> {
    owned_key(tx, account, user_id, key_id)?;
    tx.execute("DELETE FROM access_keys WHERE id = ?1", params![key_id])?;
    Ok(())
}

// --- groups ----------------------------------------------------------------------------------

pub(super) fn create_group(tx: &dyn Sql, g: &Group, max_per_account: usize) -> Result<()> {
    let n = count(
        tx,
        "SELECT COUNT(*) FROM groups WHERE account = ?1",
        params![&g.account],
    )?;
    if at_limit(n, max_per_account) {
        return Err(StoreError::LimitExceeded(Entity::Group));
    }
    tx.execute(
        "INSERT INTO groups (id, account, name, name_lc, path, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![g.id, g.account, g.name, g.name.to_lowercase(), g.path, ts(g.created_at)],
    )
    .map_err(|e| unique_or(e, Entity::Group))?;
    Ok(())
}

pub(super) fn delete_group(tx: &dyn Sql, account: &str, name: &str) -> Result<()> {
    let gid = group_id(tx, account, name)?;
    if count(
        tx,
        "SELECT COUNT(*) FROM group_members WHERE group_id = ?1",
        params![&gid],
    )? > 0
    {
        return Err(StoreError::Conflict(Conflict::GroupHasMembers));
    }
    super::policies::check_no_policies(tx, Owner::Group(&gid))?;
    tx.execute("DELETE FROM groups WHERE id = ?1", params![&gid])?;
    Ok(())
}

pub(super) fn add_user_to_group(
    tx: &dyn Sql,
    account: &str,
    group: &str,
    user: &str,
    max_groups_per_user: usize,
) -> Result<()> {
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
    let n = count(
        tx,
        "SELECT COUNT(*) FROM group_members WHERE user_id = ?1",
        params![&uid],
    )?;
    if at_limit(n, max_groups_per_user) {
        return Err(StoreError::LimitExceeded(Entity::Membership));
    }
    tx.execute(
        "INSERT INTO group_members (group_id, user_id) VALUES (?1, ?2)",
        params![gid, uid],
    )?;
    Ok(())
}

pub(super) fn remove_user_from_group(
    tx: &dyn Sql,
    account: &str,
    group: &str,
    user: &str,
) -> Result<()> {
    let gid = group_id(tx, account, group)?;
    let uid = user_id(tx, account, user)?;
    let n = tx.execute(
        "DELETE FROM group_members WHERE group_id = ?1 AND user_id = ?2",
        params![gid, uid],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(Entity::Membership));
    }
    Ok(())
}

// --- MFA devices -----------------------------------------------------------------------------

#[expect(
    clippy::too_many_arguments,
    reason = "one row's columns; a struct would only rename them"
)]
pub(super) fn create_virtual_mfa(
    tx: &dyn Sql,
    keyring: &Keyring,
    serial: &str,
    account: &str,
    name: &str,
    path: &str,
    seed: &Secret,
    now: DateTime<Utc>,
) -> Result<()> {
    let ct = seal(keyring, seed.expose_bytes(), serial)?;
    tx.execute(
        "INSERT INTO mfa_devices (serial, account, name, path, seed_ct, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![serial, account, name, path, ct, ts(now)],
    )
    .map_err(|e| unique_or(e, Entity::MfaDevice))?;
    Ok(())
}

/// Bind an unassigned virtual device to a user; `step` is the last code's TOTP step (burned).
pub(super) fn enable_mfa(
    tx: &dyn Sql,
    account: &str,
    user_id: &str,
    serial: &str,
    step: u64,
    now: DateTime<Utc>,
    max_per_user: usize,
) -> Result<()> {
    let row: Option<(String, Option<String>)> = tx
        .query_row(
            "SELECT account, user_id FROM mfa_devices WHERE serial = ?1",
            params![serial],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match row {
        Some((a, None)) if a == account => {}
        Some((a, Some(_))) if a == account => {
            return Err(StoreError::Conflict(Conflict::MfaDeviceInUse));
        }
        _ => return Err(StoreError::NotFound(Entity::MfaDevice)),
    }
    let n = count(
        tx,
        "SELECT COUNT(*) FROM mfa_devices WHERE user_id = ?1",
        params![user_id],
    )?;
    if at_limit(n, max_per_user) {
        return Err(StoreError::LimitExceeded(Entity::MfaDevice));
    }
    tx.execute(
        "UPDATE mfa_devices SET user_id = ?1, enabled_at = ?2, last_step = ?3, drift_steps = 0 WHERE serial = ?4",
        params![user_id, ts(now), step_value(step), serial],
    )?;
    Ok(())
}

/// A TOTP step as stored (steps are seconds / 30: far below `i64::MAX`).
fn step_value(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}

/// Accept `step` for the device enabled for this principal, only if it is after the last
/// accepted one. One conditional update decides, so a code is accepted once whatever number of
/// writers race for it (the row is locked by the update itself, not read first).
pub(super) fn use_mfa_step(
    tx: &dyn Sql,
    account: &str,
    user_id: Option<&str>,
    serial: &str,
    step: u64,
) -> Result<()> {
    let n = tx.execute(
        "UPDATE mfa_devices SET last_step = ?1
         WHERE serial = ?2 AND account = ?3 AND user_id IS NOT DISTINCT FROM ?4 AND enabled_at IS NOT NULL
           AND (last_step IS NULL OR last_step < ?1)",
        params![step_value(step), serial, account, user_id],
    )?;
    if n == 0 {
        return Err(StoreError::Conflict(Conflict::MfaStepUsed));
    }
    Ok(())
}

/// The virtual device `serial` exists in `account` (`NotFound(MfaDevice)` otherwise).
pub(super) fn mfa_device_of(tx: &dyn Sql, account: &str, serial: &str) -> Result<()> {
    if count(
        tx,
        "SELECT COUNT(*) FROM mfa_devices WHERE serial = ?1 AND account = ?2",
        params![serial, account],
    )? == 0
    {
        return Err(StoreError::NotFound(Entity::MfaDevice));
    }
    Ok(())
}

/// Record the device's measured drift and burn `step`, never moving the last accepted step
/// back (a code accepted once stays refused).
pub(super) fn resync_mfa(
    tx: &dyn Sql,
    account: &str,
    user_id: &str,
    serial: &str,
    step: u64,
    drift_steps: i64,
) -> Result<()> {
    let n = tx.execute(
        "UPDATE mfa_devices SET drift_steps = ?1, last_step = CASE WHEN COALESCE(last_step, 0) > ?2 THEN last_step ELSE ?2 END
         WHERE serial = ?3 AND account = ?4 AND user_id = ?5 AND enabled_at IS NOT NULL",
        params![drift_steps, step_value(step), serial, account, user_id],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(Entity::MfaDevice));
    }
    Ok(())
}

// --- access key usage ------------------------------------------------------------------------

/// Store each key's last use unless the stored one is newer (or the key is gone).
pub(super) fn record_key_use(
    tx: &dyn Sql,
    uses: &[(String, crate::store::key_usage::KeyUse)],
) -> Result<()> {
    for (id, u) in uses {
        tx.execute(
            "UPDATE access_keys SET last_used_date = ?2, last_used_region = ?3, last_used_service = ?4
             WHERE id = ?1 AND (last_used_date IS NULL OR last_used_date < ?2)",
            params![id, ts(u.date), u.region, u.service],
        )?;
    }
    Ok(())
}

pub(super) fn deactivate_mfa(tx: &dyn Sql, user_id: &str, serial: &str) -> Result<()> {
    let n = tx.execute(
        "UPDATE mfa_devices SET user_id = NULL, enabled_at = NULL WHERE serial = ?1 AND user_id = ?2",
        params![serial, user_id],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(Entity::MfaDevice));
    }
    Ok(())
}

pub(super) fn delete_virtual_mfa(tx: &dyn Sql, account: &str, serial: &str) -> Result<()> {
    let row: Option<Option<String>> = tx
        .query_row(
            "SELECT user_id FROM mfa_devices WHERE serial = ?1 AND account = ?2",
            params![serial, account],
            |r| r.get(0),
        )
        .optional()?;
    match row {
        None => Err(StoreError::NotFound(Entity::MfaDevice)),
        Some(Some(_)) => Err(StoreError::Conflict(Conflict::MfaDeviceInUse)),
        Some(None) => {
            tx.execute("DELETE FROM mfa_devices WHERE serial = ?1", params![serial])?;
            Ok(())
        }
    }
}

/// Every secret stored at rest: (table, the column its seal is bound to, the sealed column).
pub(crate) const SEALED_COLUMNS: &[(&str, &str, &str)] = &[
    ("access_keys", "id", "secret_ct"),
    ("mfa_devices", "serial", "seed_ct"),
    ("saml_private_keys", "key_id", "key_ct"),
    ("server_certificates", "id", "key_ct"),
];

/// Re-seal every secret stored at rest (access key secrets, MFA seeds, SAML provider and
/// server certificate private keys) under the keyring's
/// current key, so that none depends on an older generation. Returns how many were re-sealed.
pub(crate) fn reseal_all(tx: &dyn Sql, keyring: &Keyring) -> Result<usize> {
    let mut n = 0;
    for &(table, id_col, ct_col) in SEALED_COLUMNS {
        let rows: Vec<(String, Vec<u8>)> = {
            tx.query_map(
                &format!("SELECT {id_col}, {ct_col} FROM {table}"),
                params![],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
        };
        for (id, ct) in rows {
            let plain = keyring.open_blob(&ct, id.as_bytes()).map_err(|_| {
                StoreError::internal(format!("{table} {id}: cannot be opened with the keyring"))
            })?;
            let resealed = seal(keyring, plain.expose_bytes(), &id)?;
            tx.execute(
                &format!("UPDATE {table} SET {ct_col} = ?1 WHERE {id_col} = ?2"),
                params![resealed, id],
            )?;
            n += 1;
        }
    }
    Ok(n)
}
