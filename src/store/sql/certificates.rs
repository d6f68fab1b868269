//! SQL for users' signing certificates and SSH public keys, and for the account's server
//! certificates (their private keys sealed like every other secret at rest).

use super::{OptionalExtension, Sql, params};

use super::identity::{TagTable, unique_or};
use super::{at_limit, count};
use crate::credentials::Keyring;
use crate::store::backend::{SealedServerCertificate, seal};
use crate::store::error::{Entity, StoreError};
use crate::store::model::{ServerCertificate, SigningCertificate, SshPublicKey, from_ts, ts};

type Result<T> = std::result::Result<T, StoreError>;

/// The user `user_id` of `account` must still exist (a handler's snapshot may be a moment old).
fn user_exists(tx: &dyn Sql, account: &str, user_id: &str) -> Result<()> {
    let n = count(
        tx,
        "SELECT COUNT(*) FROM users WHERE id = ?1 AND account = ?2",
        params![user_id, account],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(Entity::User));
    }
    Ok(())
}

// --- signing certificates --------------------------------------------------------------------

pub(super) fn upload_signing(
    tx: &dyn Sql,
    c: &SigningCertificate,
    max_per_owner: usize,
) -> Result<()> {
    if let Some(u) = &c.user_id {
        user_exists(tx, &c.account, u)?;
    }
    if count(
        tx,
        "SELECT COUNT(*) FROM signing_certificates WHERE account = ?1 AND fingerprint = ?2",
        params![c.account, c.fingerprint],
    )? > 0
    {
        return Err(StoreError::AlreadyExists(Entity::SigningCertificate));
    }
    let n = count(
        tx,
        "SELECT COUNT(*) FROM signing_certificates WHERE account = ?1 AND user_id IS NOT DISTINCT FROM ?2",
        params![c.account, c.user_id],
    )?;
    if at_limit(n, max_per_owner) {
        return Err(StoreError::LimitExceeded(Entity::SigningCertificate));
    }
    tx.execute(
        "INSERT INTO signing_certificates (id, account, user_id, body, fingerprint, active, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![c.id, c.account, c.user_id, c.body, c.fingerprint, c.active, ts(c.created_at)],
    )
    .map_err(|e| unique_or(e, Entity::SigningCertificate))?;
    Ok(())
}

/// `UPDATE`/`DELETE` of the certificate `id` of exactly this owner; not found otherwise.
fn owned_signing(sql: &str, tx: &dyn Sql, p: &[&dyn super::ToArg]) -> Result<()> {
    if tx.execute(sql, p)? == 0 {
        return Err(StoreError::NotFound(Entity::SigningCertificate));
    }
    Ok(())
}

pub(super) fn update_signing(
    tx: &dyn Sql,
    account: &str,
    user_id: Option<&str>,
    id: &str,
    active: bool,
) -> Result<()> {
    owned_signing(
        "UPDATE signing_certificates SET active = ?1 WHERE id = ?2 AND account = ?3 AND user_id IS NOT DISTINCT FROM ?4",
        tx,
        params![active, id, account, user_id],
    )
}

pub(super) fn delete_signing(
    tx: &dyn Sql,
    account: &str,
    user_id: Option<&str>,
    id: &str,
) -> Result<()> {
    owned_signing(
        "DELETE FROM signing_certificates WHERE id = ?1 AND account = ?2 AND user_id IS NOT DISTINCT FROM ?3",
        tx,
        params![id, account, user_id],
    )
}

// --- SSH public keys -------------------------------------------------------------------------

pub(super) fn upload_ssh(tx: &dyn Sql, k: &SshPublicKey, max_per_user: usize) -> Result<()> {
    user_exists(tx, &k.account, &k.user_id)?;
    if count(
        tx,
        "SELECT COUNT(*) FROM ssh_public_keys WHERE user_id = ?1 AND fingerprint = ?2",
        params![k.user_id, k.fingerprint],
    )? > 0
    {
        return Err(StoreError::AlreadyExists(Entity::SshPublicKey));
    }
    let n = count(
        tx,
        "SELECT COUNT(*) FROM ssh_public_keys WHERE user_id = ?1",
        params![&k.user_id],
    )?;
    if at_limit(n, max_per_user) {
        return Err(StoreError::LimitExceeded(Entity::SshPublicKey));
    }
    tx.execute(
        "INSERT INTO ssh_public_keys (id, account, user_id, body, fingerprint, active, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![k.id, k.account, k.user_id, k.body, k.fingerprint, k.active, ts(k.created_at)],
    )
    .map_err(|e| unique_or(e, Entity::SshPublicKey))?;
    Ok(())
}

pub(super) fn update_ssh(tx: &dyn Sql, user_id: &str, id: &str, active: bool) -> Result<()> {
    let n = tx.execute(
        "UPDATE ssh_public_keys SET active = ?1 WHERE id = ?2 AND user_id = ?3",
        params![active, id, user_id],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(Entity::SshPublicKey));
    }
    Ok(())
}

pub(super) fn delete_ssh(tx: &dyn Sql, user_id: &str, id: &str) -> Result<()> {
    let n = tx.execute(
        "DELETE FROM ssh_public_keys WHERE id = ?1 AND user_id = ?2",
        params![id, user_id],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(Entity::SshPublicKey));
    }
    Ok(())
}

// --- server certificates ---------------------------------------------------------------------

/// The id of the server certificate (account, name), case-insensitively.
pub(super) fn server_id(tx: &dyn Sql, account: &str, name: &str) -> Result<String> {
    tx.query_row(
        "SELECT id FROM server_certificates WHERE account = ?1 AND name_lc = ?2",
        params![account, name.to_lowercase()],
        |r| r.get(0),
    )
    .optional()?
    .ok_or(StoreError::NotFound(Entity::ServerCertificate))
}

pub(super) fn upload_server(
    tx: &dyn Sql,
    keyring: &Keyring,
    c: &ServerCertificate,
    max_per_account: usize,
) -> Result<()> {
    let n = count(
        tx,
        "SELECT COUNT(*) FROM server_certificates WHERE account = ?1",
        params![&c.account],
    )?;
    if at_limit(n, max_per_account) {
        return Err(StoreError::LimitExceeded(Entity::ServerCertificate));
    }
    let key_ct = seal(keyring, c.private_key.expose_bytes(), &c.id)?;
    tx.execute(
        "INSERT INTO server_certificates (id, account, name, name_lc, path, body, chain, key_ct, expiration, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            c.id,
            c.account,
            c.name,
            c.name.to_lowercase(),
            c.path,
            c.body,
            c.chain,
            key_ct,
            ts(c.expiration),
            ts(c.created_at)
        ],
    )
    .map_err(|e| unique_or(e, Entity::ServerCertificate))?;
    super::identity::upsert_tags(tx, TagTable::ServerCertificate, &c.id, &c.tags)
}

pub(super) fn update_server(
    tx: &dyn Sql,
    account: &str,
    name: &str,
    new_name: Option<&str>,
    new_path: Option<&str>,
) -> Result<()> {
    let id = server_id(tx, account, name)?;
    if let Some(n) = new_name {
        tx.execute(
            "UPDATE server_certificates SET name = ?1, name_lc = ?2 WHERE id = ?3",
            params![n, n.to_lowercase(), id],
        )
        .map_err(|e| unique_or(e, Entity::ServerCertificate))?;
    }
    if let Some(p) = new_path {
        tx.execute(
            "UPDATE server_certificates SET path = ?1 WHERE id = ?2",
            params![p, id],
        )?;
    }
    Ok(())
}

pub(super) fn delete_server(tx: &dyn Sql, account: &str, name: &str) -> Result<()> {
    let id = server_id(tx, account, name)?;
    tx.execute(
        "DELETE FROM server_certificates WHERE id = ?1",
        params![&id],
    )?;
    Ok(())
}

// --- loading ---------------------------------------------------------------------------------

pub(super) fn load_signing(conn: &dyn Sql) -> Result<Vec<SigningCertificate>> {
    Ok(conn.query_map("SELECT id, account, user_id, body, fingerprint, active, created_at FROM signing_certificates", params![], |r| {
        Ok(SigningCertificate {
            id: r.get(0)?,
            account: r.get(1)?,
            user_id: r.get(2)?,
            body: r.get(3)?,
            fingerprint: r.get(4)?,
            active: r.get(5)?,
            created_at: from_ts(r.get(6)?),
        })
    })?)
}

pub(super) fn load_ssh(conn: &dyn Sql) -> Result<Vec<SshPublicKey>> {
    Ok(conn.query_map(
        "SELECT id, account, user_id, body, fingerprint, active, created_at FROM ssh_public_keys",
        params![],
        |r| {
            Ok(SshPublicKey {
                id: r.get(0)?,
                account: r.get(1)?,
                user_id: r.get(2)?,
                body: r.get(3)?,
                fingerprint: r.get(4)?,
                active: r.get(5)?,
                created_at: from_ts(r.get(6)?),
            })
        },
    )?)
}

pub(super) fn load_server(conn: &dyn Sql) -> Result<Vec<SealedServerCertificate>> {
    Ok(conn.query_map("SELECT id, account, name, path, body, chain, key_ct, expiration, created_at FROM server_certificates", params![], |r| {
        Ok(SealedServerCertificate {
            id: r.get(0)?,
            account: r.get(1)?,
            name: r.get(2)?,
            path: r.get(3)?,
            body: r.get(4)?,
            chain: r.get(5)?,
            key_ct: r.get(6)?,
            expiration: from_ts(r.get(7)?),
            created_at: from_ts(r.get(8)?),
        })
    })?)
}
