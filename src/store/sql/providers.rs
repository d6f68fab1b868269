//! SQL for identity providers (OpenID Connect and SAML).

use super::{OptionalExtension, Sql, SqlResult, params};

use super::identity::unique_or;
use super::{at_limit, count};
use crate::arn::{Arn, Partition};
use crate::credentials::Keyring;
use crate::store::backend::{SealedSamlKey, seal};
use crate::store::error::{Conflict, Entity, StoreError};
use crate::store::model::{OidcProvider, SamlMetadata, SamlPrivateKey, SamlProvider, from_ts, ts};

type Result<T> = std::result::Result<T, StoreError>;

fn json_list(items: &[String]) -> Result<String> {
    serde_json::to_string(items).map_err(|_| StoreError::internal("oidc provider: encode list"))
}

fn parse_list(text: &str) -> SqlResult<Vec<String>> {
    serde_json::from_str(text).map_err(|e| super::SqlError::Other(format!("provider list: {e}")))
}

pub(super) fn create_oidc(tx: &dyn Sql, p: &OidcProvider, max: usize) -> Result<()> {
    let exists: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM oidc_providers WHERE account = ?1 AND url = ?2",
            params![p.account, p.url],
            |r| r.get(0),
        )
        .optional()?;
    if exists.is_some() {
        return Err(StoreError::AlreadyExists(Entity::OidcProvider));
    }
    let n = count(
        tx,
        "SELECT COUNT(*) FROM oidc_providers WHERE account = ?1",
        params![&p.account],
    )?;
    if at_limit(n, max) {
        return Err(StoreError::LimitExceeded(Entity::OidcProvider));
    }
    tx.execute(
        "INSERT INTO oidc_providers (account, url, client_ids, thumbprints, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            p.account,
            p.url,
            json_list(&p.client_ids)?,
            json_list(&p.thumbprints)?,
            ts(p.created_at)
        ],
    )
    .map_err(|e| unique_or(e, Entity::OidcProvider))?;
    super::identity::upsert_tags(
        tx,
        super::identity::TagTable::OidcProvider,
        &p.arn(),
        &p.tags,
    )?;
    Ok(())
}

/// The stored ARN of a provider, or `NotFound(OidcProvider)`.
pub(super) fn oidc_arn(tx: &dyn Sql, account: &str, url: &str) -> Result<String> {
    let exists: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM oidc_providers WHERE account = ?1 AND url = ?2",
            params![account, url],
            |r| r.get(0),
        )
        .optional()?;
    match exists {
        Some(_) => Ok(Partition::Aws.oidc_provider_arn(account, url)),
        None => Err(StoreError::NotFound(Entity::OidcProvider)),
    }
}

pub(super) fn delete_oidc(tx: &dyn Sql, account: &str, url: &str) -> Result<()> {
    let arn = oidc_arn(tx, account, url)?;
    tx.execute(
        "DELETE FROM oidc_providers WHERE account = ?1 AND url = ?2",
        params![account, url],
    )?;
    tx.execute(
        "DELETE FROM oidc_provider_tags WHERE provider_arn = ?1",
        params![&arn],
    )?;
    Ok(())
}

/// Which list column of a provider.
#[derive(Debug, Clone, Copy)]
pub(super) enum List {
    ClientIds,
    Thumbprints,
}

/// Read, edit and write back one list of a provider, inside the transaction.
pub(super) fn edit_oidc_list(
    tx: &dyn Sql,
    account: &str,
    url: &str,
    list: List,
    edit: impl FnOnce(&mut Vec<String>) -> Result<()>,
) -> Result<()> {
    let col = match list {
        List::ClientIds => "client_ids",
        List::Thumbprints => "thumbprints",
    };
    let text: Option<String> = tx
        .query_row(
            &format!("SELECT {col} FROM oidc_providers WHERE account = ?1 AND url = ?2"),
            params![account, url],
            |r| r.get(0),
        )
        .optional()?;
    let text = text.ok_or(StoreError::NotFound(Entity::OidcProvider))?;
    let mut items = parse_list(&text)?;
    edit(&mut items)?;
    tx.execute(
        &format!("UPDATE oidc_providers SET {col} = ?3 WHERE account = ?1 AND url = ?2"),
        params![account, url, json_list(&items)?],
    )?;
    Ok(())
}

pub(super) fn load_oidc(conn: &dyn Sql) -> Result<Vec<OidcProvider>> {
    Ok(conn.query_map(
        "SELECT account, url, client_ids, thumbprints, created_at FROM oidc_providers",
        params![],
        |r| {
            Ok(OidcProvider {
                account: r.get(0)?,
                url: r.get(1)?,
                client_ids: parse_list(&r.get::<_, String>(2)?)?,
                thumbprints: parse_list(&r.get::<_, String>(3)?)?,
                created_at: from_ts(r.get(4)?),
                tags: Vec::new(),
            })
        },
    )?)
}

// --- SAML providers --------------------------------------------------------------------------

fn saml_exists(tx: &dyn Sql, account: &str, name: &str) -> Result<bool> {
    let exists: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM saml_providers WHERE account = ?1 AND name = ?2",
            params![account, name],
            |r| r.get(0),
        )
        .optional()?;
    Ok(exists.is_some())
}

/// The stored ARN of a SAML provider, or `NotFound(SamlProvider)`.
pub(super) fn saml_arn(tx: &dyn Sql, account: &str, name: &str) -> Result<String> {
    if saml_exists(tx, account, name)? {
        Ok(Arn::saml_provider(Partition::Aws, account, name).to_string())
    } else {
        Err(StoreError::NotFound(Entity::SamlProvider))
    }
}

fn insert_saml_key(
    tx: &dyn Sql,
    keyring: &Keyring,
    account: &str,
    name: &str,
    key: &SamlPrivateKey,
) -> Result<()> {
    let sealed = seal(keyring, key.pem.expose_bytes(), &key.id)?;
    tx.execute(
        "INSERT INTO saml_private_keys (key_id, account, provider, key_ct, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![key.id, account, name, sealed, ts(key.created_at)],
    )
    .map_err(|e| unique_or(e, Entity::SamlPrivateKey))?;
    Ok(())
}

pub(super) fn create_saml(
    tx: &dyn Sql,
    keyring: &Keyring,
    p: &SamlProvider,
    max: usize,
) -> Result<()> {
    if saml_exists(tx, &p.account, &p.name)? {
        return Err(StoreError::AlreadyExists(Entity::SamlProvider));
    }
    let n = count(
        tx,
        "SELECT COUNT(*) FROM saml_providers WHERE account = ?1",
        params![&p.account],
    )?;
    if at_limit(n, max) {
        return Err(StoreError::LimitExceeded(Entity::SamlProvider));
    }
    tx.execute(
        "INSERT INTO saml_providers (account, name, uuid, metadata, entity_id, signing_certs,
                                     valid_until, encryption_mode, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            p.account,
            p.name,
            p.uuid,
            p.metadata_document,
            p.entity_id,
            json_list(&p.signing_certs)?,
            p.valid_until.map(ts),
            p.assertion_encryption_mode,
            ts(p.created_at)
        ],
    )
    .map_err(|e| unique_or(e, Entity::SamlProvider))?;
    for key in &p.private_keys {
        insert_saml_key(tx, keyring, &p.account, &p.name, key)?;
    }
    super::identity::upsert_tags(
        tx,
        super::identity::TagTable::SamlProvider,
        &p.arn(),
        &p.tags,
    )?;
    Ok(())
}

/// What [`update_saml`] changes.
#[derive(Debug)]
pub(super) struct SamlUpdate<'a> {
    pub(super) metadata: Option<&'a SamlMetadata>,
    pub(super) mode: Option<&'a str>,
    pub(super) add_key: Option<&'a SamlPrivateKey>,
    pub(super) remove_key: Option<&'a str>,
    pub(super) max_keys: usize,
}

pub(super) fn update_saml(
    tx: &dyn Sql,
    keyring: &Keyring,
    account: &str,
    name: &str,
    u: &SamlUpdate<'_>,
) -> Result<()> {
    if !saml_exists(tx, account, name)? {
        return Err(StoreError::NotFound(Entity::SamlProvider));
    }
    if let Some(m) = u.metadata {
        tx.execute(
            "UPDATE saml_providers SET metadata = ?3, entity_id = ?4, signing_certs = ?5,
                                       valid_until = ?6
             WHERE account = ?1 AND name = ?2",
            params![
                account,
                name,
                m.document,
                m.entity_id,
                json_list(&m.signing_certs)?,
                m.valid_until.map(ts)
            ],
        )?;
    }
    if let Some(mode) = u.mode {
        tx.execute(
            "UPDATE saml_providers SET encryption_mode = ?3 WHERE account = ?1 AND name = ?2",
            params![account, name, mode],
        )?;
    }
    if let Some(id) = u.remove_key {
        let gone = tx.execute(
            "DELETE FROM saml_private_keys WHERE key_id = ?1 AND account = ?2 AND provider = ?3",
            params![id, account, name],
        )?;
        if gone == 0 {
            return Err(StoreError::NotFound(Entity::SamlPrivateKey));
        }
    }
    let keys = || {
        count(
            tx,
            "SELECT COUNT(*) FROM saml_private_keys WHERE account = ?1 AND provider = ?2",
            params![account, name],
        )
    };
    if let Some(key) = u.add_key {
        if at_limit(keys()?, u.max_keys) {
            return Err(StoreError::LimitExceeded(Entity::SamlPrivateKey));
        }
        insert_saml_key(tx, keyring, account, name, key)?;
    }
    let mode: Option<String> = tx.query_row(
        "SELECT encryption_mode FROM saml_providers WHERE account = ?1 AND name = ?2",
        params![account, name],
        |r| r.get(0),
    )?;
    if mode.as_deref() == Some("Required") && keys()? == 0 {
        return Err(StoreError::Conflict(Conflict::SamlKeyRequired));
    }
    Ok(())
}

pub(super) fn delete_saml(tx: &dyn Sql, account: &str, name: &str) -> Result<()> {
    let arn = saml_arn(tx, account, name)?;
    // Keys first: they reference the provider.
    tx.execute(
        "DELETE FROM saml_private_keys WHERE account = ?1 AND provider = ?2",
        params![account, name],
    )?;
    tx.execute(
        "DELETE FROM saml_providers WHERE account = ?1 AND name = ?2",
        params![account, name],
    )?;
    tx.execute(
        "DELETE FROM saml_provider_tags WHERE provider_arn = ?1",
        params![&arn],
    )?;
    Ok(())
}

pub(super) fn load_saml(conn: &dyn Sql) -> Result<Vec<SamlProvider>> {
    Ok(conn.query_map(
        "SELECT account, name, uuid, metadata, entity_id, signing_certs, valid_until,
                encryption_mode, created_at
         FROM saml_providers",
        params![],
        |r| {
            Ok(SamlProvider {
                account: r.get(0)?,
                name: r.get(1)?,
                uuid: r.get(2)?,
                metadata_document: r.get(3)?,
                entity_id: r.get(4)?,
                signing_certs: parse_list(&r.get::<_, String>(5)?)?,
                valid_until: r.get::<_, Option<i64>>(6)?.map(from_ts),
                assertion_encryption_mode: r.get(7)?,
                created_at: from_ts(r.get(8)?),
                tags: Vec::new(),
                private_keys: Vec::new(),
            })
        },
    )?)
}

pub(super) fn load_saml_keys(conn: &dyn Sql) -> Result<Vec<SealedSamlKey>> {
    Ok(conn.query_map(
        "SELECT key_id, account, provider, key_ct, created_at FROM saml_private_keys
         ORDER BY created_at, rowid",
        params![],
        |r| {
            Ok(SealedSamlKey {
                id: r.get(0)?,
                account: r.get(1)?,
                provider: r.get(2)?,
                key_ct: r.get(3)?,
                created_at: from_ts(r.get(4)?),
            })
        },
    )?)
}

/// Entries past their time forgotten by each use: more than one, so the table shrinks after a
/// burst; few, so no insert pays for a large delete.
const FORGET_PER_USE: i64 = 4;

/// The SAML replay cache's conditional insert (see [`crate::store::Change::UseSamlAssertion`]).
pub(super) fn use_saml_assertion(
    tx: &dyn Sql,
    issuer: &str,
    assertion_id: &str,
    until: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let now_ms = now.timestamp_millis();
    tx.execute(
        "DELETE FROM saml_used_assertions WHERE (issuer, assertion_id) IN
           (SELECT issuer, assertion_id FROM saml_used_assertions WHERE until <= ?1 LIMIT ?2)",
        params![now_ms, FORGET_PER_USE],
    )?;
    // An entry past its time may be taken again (its assertion is refused by its own times
    // before it gets here); one still in force makes the insert a no-op.
    let n = tx.execute(
        "INSERT INTO saml_used_assertions (issuer, assertion_id, until) VALUES (?1, ?2, ?3)
         ON CONFLICT (issuer, assertion_id) DO UPDATE SET until = excluded.until
         WHERE saml_used_assertions.until <= ?4",
        params![issuer, assertion_id, until.timestamp_millis(), now_ms],
    )?;
    if n == 0 {
        return Err(StoreError::Conflict(Conflict::SamlAssertionUsed));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone, Utc};

    use crate::store::sql::{Sql, params};

    #[test]
    fn used_assertions_past_their_time_are_forgotten_a_few_per_use() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::sqlite::open_connection(
            &dir.path().join("t.db"),
            std::time::Duration::from_secs(1),
        )
        .unwrap();
        crate::store::sqlite::schema::migrate(&mut conn).unwrap();
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let rows = |conn: &dyn Sql| -> i64 {
            conn.query_row(
                "SELECT count(*) FROM saml_used_assertions",
                params![],
                |r| r.get(0),
            )
            .unwrap()
        };
        let tx = conn.transaction().unwrap();
        for i in 0..10 {
            super::use_saml_assertion(
                &*tx,
                "iss",
                &format!("_a{i}"),
                t0 + TimeDelta::minutes(5),
                t0,
            )
            .unwrap();
        }
        tx.commit().unwrap();
        assert_eq!(rows(&conn), 10);
        // An hour later every entry is past its time: each use forgets up to four.
        let later = t0 + TimeDelta::hours(1);
        let tx = conn.transaction().unwrap();
        super::use_saml_assertion(&*tx, "iss", "_b0", later + TimeDelta::minutes(5), later)
            .unwrap();
        tx.commit().unwrap();
        assert_eq!(rows(&conn), 10 - 4 + 1);
        let tx = conn.transaction().unwrap();
        for i in 1..3 {
            super::use_saml_assertion(
                &*tx,
                "iss",
                &format!("_b{i}"),
                later + TimeDelta::minutes(5),
                later,
            )
            .unwrap();
        }
        tx.commit().unwrap();
        assert_eq!(rows(&conn), 3, "only the entries still in force are left");
    }
}
