//! The cluster's keyring: one row, the keyring sealed under the master key each node is given.
//! The first node to start creates it; `tessera keys rotate --database-url` rotates it for
//! every node in one transaction (re-sealing every stored secret, bumping `store_version`), and
//! each node takes the new keyring with its next poll.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::{Pg, PgTx, sql};
use crate::credentials::{KeyId, Keyring, KeyringSource, MasterKey, SharedKeyring};
use crate::store::error::StoreError;
use crate::store::sql::{Sql, SqlError};

/// The database's keyring as a node's [`KeyringSource`].
#[derive(Debug)]
struct DbKeyring {
    pg: Arc<Pg>,
    master: MasterKey,
    /// The version this node serves.
    version: Mutex<i64>,
}

impl KeyringSource for DbKeyring {
    fn newer(&self) -> Result<Option<Keyring>, String> {
        let Ok(mut seen) = self.version.lock() else {
            return Ok(None);
        };
        let client = self.pg.client().map_err(|e| format!("{e:?}"))?;
        let row = self
            .pg
            .run(client.query_opt(
                "SELECT version, sealed FROM keyring WHERE id = 1 AND version > $1",
                &[&*seen],
            ))
            .map_err(|e| format!("{e:?}"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let keyring = self.master.open_keyring(row.get::<_, &[u8]>(1))?;
        *seen = row.get(0);
        Ok(Some(keyring))
    }
}

/// The cluster's keyring (made at `now` and stored if the database has none yet: the first
/// node to start makes it, the others take it), kept current from the database.
pub(crate) fn cluster_keyring(
    pg: &Arc<Pg>,
    master: MasterKey,
    now: DateTime<Utc>,
) -> Result<Arc<SharedKeyring>, StoreError> {
    let client = pg.client()?;
    let read = || -> Result<Option<(i64, Keyring)>, StoreError> {
        let row =
            pg.run(client.query_opt("SELECT version, sealed FROM keyring WHERE id = 1", &[]))?;
        row.map(|r| {
            master
                .open_keyring(r.get::<_, &[u8]>(1))
                .map(|k| (r.get::<_, i64>(0), k))
                .map_err(StoreError::Internal)
        })
        .transpose()
    };
    let (version, keyring) = match read()? {
        Some(found) => found,
        None => {
            let fresh = Keyring::generate(now)
                .map_err(|e| StoreError::internal(format!("keyring: {e}")))?;
            let sealed = master.seal_keyring(&fresh).map_err(StoreError::Internal)?;
            // Two nodes starting together: one row wins, both read it back.
            pg.run(client.execute(
                "INSERT INTO keyring (id, version, sealed) VALUES (1, 1, $1) ON CONFLICT (id) DO NOTHING",
                &[&sealed],
            ))?;
            read()?.ok_or_else(|| StoreError::internal("keyring: not stored"))?
        }
    };
    drop(client);
    Ok(SharedKeyring::with_source(
        keyring,
        Some(Box::new(DbKeyring {
            pg: pg.clone(),
            master,
            version: Mutex::new(version),
        })),
    ))
}

/// Rotate the cluster's keyring at `now`: a new current key, every stored secret re-sealed
/// under it, the keyring stored, `store_version` bumped so every node reloads; one
/// transaction. Returns the new key's id and how many secrets were re-sealed.
pub(crate) fn rotate(
    pg: &Pg,
    master: &MasterKey,
    now: DateTime<Utc>,
) -> Result<(KeyId, usize), StoreError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match rotate_once(pg, master, now) {
            Err(SqlOr::Sql(SqlError::Retry)) if attempt < super::MAX_ATTEMPTS => continue,
            Err(SqlOr::Sql(e)) => return Err(e.into()),
            Err(SqlOr::Store(e)) => return Err(e),
            Ok(done) => return Ok(done),
        }
    }
}

enum SqlOr {
    Sql(SqlError),
    Store(StoreError),
}

impl From<SqlError> for SqlOr {
    fn from(e: SqlError) -> Self {
        SqlOr::Sql(e)
    }
}

impl From<StoreError> for SqlOr {
    fn from(e: StoreError) -> Self {
        SqlOr::Store(e)
    }
}

fn rotate_once(pg: &Pg, master: &MasterKey, now: DateTime<Utc>) -> Result<(KeyId, usize), SqlOr> {
    let mut client = pg.client()?;
    let tx = pg.run(client.transaction())?;
    let ptx = PgTx::new(pg, &tx);
    let rows = ptx.query(
        "SELECT sealed FROM keyring WHERE id = 1 FOR UPDATE",
        sql::params![],
    )?;
    let sealed: Vec<u8> = rows
        .first()
        .ok_or_else(|| StoreError::internal("no cluster keyring yet (start a node first)"))?
        .get(0)?;
    let before = master.open_keyring(&sealed).map_err(StoreError::Internal)?;
    // Everything under the current key first, so that no secret depends on a key the rotation
    // retires; then under the new one.
    let mut n = sql::identity::reseal_all(&ptx, &before)?;
    let mut after = before;
    let id = after
        .rotate(now)
        .map_err(|e| StoreError::internal(format!("keyring: {e}")))?;
    n = n.max(sql::identity::reseal_all(&ptx, &after)?);
    let sealed = master.seal_keyring(&after).map_err(StoreError::Internal)?;
    ptx.execute(
        "UPDATE keyring SET version = version + 1, sealed = ?1 WHERE id = 1",
        sql::params![sealed],
    )?;
    ptx.execute(
        "UPDATE store_version SET version = version + 1 WHERE id = 1",
        sql::params![],
    )?;
    if let Some(e) = ptx.fatal.borrow().clone() {
        return Err(e.into());
    }
    drop(ptx);
    pg.run(tx.commit())?;
    Ok((id, n))
}
