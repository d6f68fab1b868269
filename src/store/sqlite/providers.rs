//! SQL for identity providers (OpenID Connect).

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::identity::unique_or;
use super::{at_limit, count};
use crate::arn::{Arn, Partition};
use crate::store::error::{Entity, StoreError};
use crate::store::model::{OidcProvider, from_ts, ts};

type Result<T> = std::result::Result<T, StoreError>;

fn json_list(items: &[String]) -> Result<String> {
    serde_json::to_string(items).map_err(|_| StoreError::internal("oidc provider: encode list"))
}

fn parse_list(text: &str) -> rusqlite::Result<Vec<String>> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(super) fn create_oidc(tx: &Transaction<'_>, p: &OidcProvider, max: usize) -> Result<()> {
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
        [&p.account],
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
pub(super) fn oidc_arn(tx: &Transaction<'_>, account: &str, url: &str) -> Result<String> {
    let exists: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM oidc_providers WHERE account = ?1 AND url = ?2",
            params![account, url],
            |r| r.get(0),
        )
        .optional()?;
    match exists {
        Some(_) => Ok(Arn::oidc_provider(Partition::Aws, account, url).to_string()),
        None => Err(StoreError::NotFound(Entity::OidcProvider)),
    }
}

pub(super) fn delete_oidc(tx: &Transaction<'_>, account: &str, url: &str) -> Result<()> {
    let arn = oidc_arn(tx, account, url)?;
    tx.execute(
        "DELETE FROM oidc_providers WHERE account = ?1 AND url = ?2",
        params![account, url],
    )?;
    tx.execute(
        "DELETE FROM oidc_provider_tags WHERE provider_arn = ?1",
        [&arn],
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
    tx: &Transaction<'_>,
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

pub(super) fn load_oidc(conn: &Connection) -> Result<Vec<OidcProvider>> {
    let mut st = conn
        .prepare("SELECT account, url, client_ids, thumbprints, created_at FROM oidc_providers")?;
    let rows = st.query_map([], |r| {
        Ok(OidcProvider {
            account: r.get(0)?,
            url: r.get(1)?,
            client_ids: parse_list(&r.get::<_, String>(2)?)?,
            thumbprints: parse_list(&r.get::<_, String>(3)?)?,
            created_at: from_ts(r.get(4)?),
            tags: Vec::new(),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
