//! The SQLite backend: the only code that speaks SQL.
//!
//! `<data dir>/tessera.db` in WAL mode, versioned migrations ([`schema`]),
//! `synchronous=FULL` for every commit someone waits for, so a `kill -9` (or a power loss)
//! loses nothing acknowledged. One connection belongs to the store's writer thread, which
//! commits many jobs per transaction (a savepoint each); the audit journal's copier has a second
//! one ([`SqliteBackend::frame_archive`]); `tessera audit tail` reads through a read-only third
//! ([`SqliteAuditRead`]).
//!
//! Another process (`tessera account create`) may write the same database: the writer notices
//! through `PRAGMA data_version` ([`Backend::changed_elsewhere`]).

mod certificates;
mod console;
mod identity;
mod policies;
mod profiles;
mod providers;
pub(crate) mod schema;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, params};

use super::audit_journal::journal::Frame;
use super::backend::{
    AuditRead, AuditRow, Backend, Batch, FrameArchive, InlinePolicyRow, ManagedPolicyRow, Outcome,
    PolicyTables, RoleRow, SealedAccessKey, SealedMfaDevice, Tables, TagRow,
};
use super::change::{Applied, Change, OwnerId};
use super::error::StoreError;
use super::key_usage::KeyUse;
use super::model::{Account, CredentialReport, Group, User, from_ts};
use super::policies::PolicyVersionRec;
use crate::credentials::Keyring;

/// The database's file name under the data dir.
pub(crate) const DB_FILE: &str = "tessera.db";

/// Any SQLite failure is ours: the detail goes to the log, never to a client.
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Internal(format!("sqlite: {e}"))
    }
}

/// Create the database file readable by its owner only (mode 0600), or narrow an existing one.
fn owner_only(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    if !path.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| StoreError::internal(format!("create {}: {e}", path.display())))?;
    }
    restrict(path)
}

/// Mode 0600 for `path`, if it exists.
fn restrict(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt as _;
    match std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::internal(format!(
            "chmod {}: {e}",
            path.display()
        ))),
        _ => Ok(()),
    }
}

fn open_connection(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy_timeout)?;
    // Turning a new database to WAL takes an exclusive lock without always waiting on the busy
    // handler: two processes opening a new data dir at once must retry it.
    let deadline = std::time::Instant::now() + busy_timeout;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Ok(()) => break,
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e),
        }
    }
    // FULL: a commit is on disk before we acknowledge it (WAL + NORMAL could lose the last
    // transactions on power loss).
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Today's backend: one SQLite database, written by the store's writer thread.
pub(crate) struct SqliteBackend {
    conn: Connection,
    path: PathBuf,
    busy_timeout: Duration,
    /// The connection's `synchronous` mode is FULL.
    flushing: bool,
    /// `PRAGMA data_version` when last looked at (our own commits leave it alone).
    seen_version: i64,
}

impl std::fmt::Debug for SqliteBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteBackend")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteBackend {
    /// Open (creating and migrating if needed) `<dir>/tessera.db`, waiting at most
    /// `busy_timeout` for another process's lock.
    pub(crate) fn open(dir: &Path, busy_timeout: Duration) -> Result<SqliteBackend, StoreError> {
        let path = dir.join(DB_FILE);
        owner_only(&path)?;
        let mut conn = open_connection(&path, busy_timeout)?;
        schema::migrate(&mut conn)?;
        // SQLite gives its WAL and shared-memory files the database file's mode; older data
        // dirs may still have wider ones.
        for suffix in ["-wal", "-shm"] {
            let mut side = path.clone().into_os_string();
            side.push(suffix);
            restrict(Path::new(&side))?;
        }
        let seen_version = data_version(&conn);
        Ok(SqliteBackend {
            conn,
            path,
            busy_timeout,
            // The connection opens with synchronous=FULL.
            flushing: true,
            seen_version,
        })
    }

    /// Apply one job's changes under a savepoint: all of them, or (on the first error) none.
    fn apply_job(
        tx: &Transaction<'_>,
        keyring: &Keyring,
        changes: &[Change],
    ) -> Result<Vec<Applied>, StoreError> {
        tx.execute_batch("SAVEPOINT job")?;
        let result = changes
            .iter()
            .map(|c| apply(tx, keyring, c))
            .collect::<Result<Vec<_>, _>>();
        let end = if result.is_ok() {
            "RELEASE job"
        } else {
            "ROLLBACK TO job; RELEASE job"
        };
        if tx.execute_batch(end).is_err() {
            tracing::error!("store: savepoint release failed");
        }
        result
    }
}

impl Backend for SqliteBackend {
    fn load(&mut self) -> Result<Tables, StoreError> {
        load(&self.conn)
    }

    fn load_credential_reports(&mut self) -> Result<Vec<CredentialReport>, StoreError> {
        console::load_credential_reports(&self.conn)
    }

    fn changed_elsewhere(&mut self) -> bool {
        let v = data_version(&self.conn);
        let changed = v != self.seen_version;
        self.seen_version = v;
        changed
    }

    fn commit(&mut self, batch: Batch<'_>) -> Outcome {
        let Batch {
            jobs,
            audit,
            durable,
            keyring,
        } = batch;
        if durable != self.flushing {
            let mode = if durable { "FULL" } else { "NORMAL" };
            match self.conn.pragma_update(None, "synchronous", mode) {
                Ok(()) => self.flushing = durable,
                Err(e) => tracing::error!(error = %e, "store: cannot set synchronous mode"),
            }
        }
        let mut results = Vec::with_capacity(jobs.len());
        let mut audit_written = false;
        let committed = match self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        {
            Ok(tx) => {
                for changes in &jobs {
                    results.push(Self::apply_job(&tx, keyring, changes));
                }
                if let Some((time_ms, lines)) = audit {
                    // The batch's records as one row: one statement however many there are.
                    let inserted = tx
                        .prepare_cached("INSERT INTO audit (time, records) VALUES (?1, ?2)")
                        .and_then(|mut st| st.execute(params![time_ms, lines]));
                    match inserted {
                        Ok(_) => audit_written = true,
                        Err(e) => tracing::error!(error = %e, "store: audit insert failed"),
                    }
                }
                match tx.commit() {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::error!(error = %e, "store: commit failed");
                        false
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "store: cannot begin transaction");
                false
            }
        };
        // Nobody hears "committed" for a batch that should have been flushed and was not.
        let committed = committed && (self.flushing || !durable);
        results.resize_with(jobs.len(), || {
            Err(StoreError::internal("store: transaction not begun"))
        });
        if !committed {
            for r in &mut results {
                if r.is_ok() {
                    *r = Err(StoreError::internal("store: commit failed"));
                }
            }
        }
        Outcome {
            results,
            audit_written,
            committed,
        }
    }

    fn frame_archive(&self) -> Result<Box<dyn FrameArchive>, StoreError> {
        let conn = open_connection(&self.path, self.busy_timeout)?;
        Ok(Box::new(SqliteArchive { conn }))
    }
}

fn data_version(conn: &Connection) -> i64 {
    conn.prepare_cached("PRAGMA data_version")
        .and_then(|mut st| st.query_row([], |r| r.get(0)))
        .unwrap_or(-1)
}

/// Apply one change inside `tx`.
fn apply(tx: &Transaction<'_>, keyring: &Keyring, change: &Change) -> Result<Applied, StoreError> {
    use identity::TagTable;
    match change {
        Change::CreateAccount {
            id,
            alias,
            created_at,
        } => identity::insert_account(tx, id, alias.as_deref(), *created_at)?,
        Change::CreateAccountAlias { account, alias } => {
            identity::create_account_alias(tx, account, alias)?;
        }
        Change::DeleteAccountAlias { account, alias } => {
            identity::delete_account_alias(tx, account, alias)?;
        }
        Change::CreateAccessKey {
            id,
            account,
            user_id,
            secret,
            created_at,
            max_per_owner,
        } => identity::create_access_key(
            tx,
            keyring,
            id,
            account,
            user_id.as_deref(),
            secret,
            *created_at,
            *max_per_owner,
        )?,
        Change::UpdateAccessKey {
            account,
            user_id,
            key_id,
            active,
        } => identity::update_access_key(tx, account, user_id.as_deref(), key_id, *active)?,
        Change::DeleteAccessKey {
            account,
            user_id,
            key_id,
        } => identity::delete_access_key(tx, account, user_id.as_deref(), key_id)?,
        Change::CreateUser {
            user,
            max_per_account,
        } => identity::create_user(tx, user, *max_per_account)?,
        Change::DeleteUser { account, name } => identity::delete_user(tx, account, name)?,
        Change::TagUser {
            account,
            name,
            tags,
        } => {
            let id = identity::user_id(tx, account, name)?;
            identity::upsert_tags(tx, TagTable::User, &id, tags)?;
        }
        Change::UntagUser {
            account,
            name,
            keys,
        } => {
            let id = identity::user_id(tx, account, name)?;
            identity::delete_tags(tx, TagTable::User, &id, keys)?;
        }
        Change::SetUserBoundary { user_id, boundary } => {
            identity::set_user_boundary(tx, user_id, boundary.as_deref())?;
        }
        Change::UpdateUser {
            account,
            name,
            new_name,
            new_path,
        } => console::update_user(tx, account, name, new_name.as_deref(), new_path.as_deref())?,
        Change::UpdateGroup {
            account,
            name,
            new_name,
            new_path,
        } => console::update_group(tx, account, name, new_name.as_deref(), new_path.as_deref())?,
        Change::CreateLoginProfile {
            user_id,
            hash,
            created_at,
            reset_required,
            keep_history,
        } => console::create_login_profile(
            tx,
            user_id,
            hash,
            *created_at,
            *reset_required,
            *keep_history,
        )?,
        Change::UpdateLoginProfile {
            user_id,
            hash,
            reset_required,
            changed_at,
            keep_history,
        } => console::update_login_profile(
            tx,
            user_id,
            hash.as_ref(),
            *reset_required,
            *changed_at,
            *keep_history,
        )?,
        Change::DeleteLoginProfile { user_id } => console::delete_login_profile(tx, user_id)?,
        Change::SetPasswordPolicy { account, policy } => {
            console::set_password_policy(tx, account, policy)?;
        }
        Change::DeletePasswordPolicy { account } => console::delete_password_policy(tx, account)?,
        Change::CreateGroup {
            group,
            max_per_account,
        } => identity::create_group(tx, group, *max_per_account)?,
        Change::DeleteGroup { account, name } => identity::delete_group(tx, account, name)?,
        Change::AddUserToGroup {
            account,
            group,
            user,
            max_groups_per_user,
        } => identity::add_user_to_group(tx, account, group, user, *max_groups_per_user)?,
        Change::RemoveUserFromGroup {
            account,
            group,
            user,
        } => identity::remove_user_from_group(tx, account, group, user)?,
        Change::CreateVirtualMfa {
            serial,
            account,
            name,
            path,
            seed,
            created_at,
            tags,
        } => {
            identity::create_virtual_mfa(
                tx,
                keyring,
                serial,
                account,
                name,
                path,
                seed,
                *created_at,
            )?;
            identity::upsert_tags(tx, TagTable::MfaDevice, serial, tags)?;
        }
        Change::TagMfaDevice {
            account,
            serial,
            tags,
        } => {
            identity::mfa_device_of(tx, account, serial)?;
            identity::upsert_tags(tx, TagTable::MfaDevice, serial, tags)?;
        }
        Change::UntagMfaDevice {
            account,
            serial,
            keys,
        } => {
            identity::mfa_device_of(tx, account, serial)?;
            identity::delete_tags(tx, TagTable::MfaDevice, serial, keys)?;
        }
        Change::ResyncMfa {
            account,
            user_id,
            serial,
            step,
            drift_steps,
        } => identity::resync_mfa(tx, account, user_id, serial, *step, *drift_steps)?,
        Change::RecordKeyUse { uses } => identity::record_key_use(tx, uses)?,
        Change::PutCredentialReport { report } => console::put_credential_report(tx, report)?,
        Change::EnableMfa {
            account,
            user_id,
            serial,
            step,
            enabled_at,
            max_per_user,
        } => identity::enable_mfa(
            tx,
            account,
            user_id,
            serial,
            *step,
            *enabled_at,
            *max_per_user,
        )?,
        Change::DeactivateMfa { user_id, serial } => {
            identity::deactivate_mfa(tx, user_id, serial)?;
        }
        Change::DeleteVirtualMfa { account, serial } => {
            identity::delete_virtual_mfa(tx, account, serial)?;
        }
        Change::UseMfaStep {
            account,
            user_id,
            serial,
            step,
        } => identity::use_mfa_step(tx, account, user_id.as_deref(), serial, *step)?,
        Change::CreatePolicy {
            policy,
            max_per_account,
        } => policies::create_policy(tx, policy, *max_per_account)?,
        Change::CreatePolicyVersion {
            arn,
            document,
            set_default,
            created_at,
            max_versions,
        } => {
            return policies::create_policy_version(
                tx,
                arn,
                document,
                *set_default,
                *created_at,
                *max_versions,
            )
            .map(Applied::PolicyVersion);
        }
        Change::SetDefaultPolicyVersion {
            arn,
            version_id,
            updated_at,
        } => policies::set_default_version(tx, arn, version_id, *updated_at)?,
        Change::DeletePolicyVersion { arn, version_id } => {
            policies::delete_policy_version(tx, arn, version_id)?;
        }
        Change::DeletePolicy { arn } => policies::delete_policy(tx, arn)?,
        Change::TagPolicy { arn, tags } => {
            policies::policy_exists(tx, arn)?;
            identity::upsert_tags(tx, TagTable::Policy, arn, tags)?;
        }
        Change::UntagPolicy { arn, keys } => {
            policies::policy_exists(tx, arn)?;
            identity::delete_tags(tx, TagTable::Policy, arn, keys)?;
        }
        Change::AttachPolicy {
            owner,
            arn,
            max_per_owner,
        } => policies::attach(tx, owner.as_owner(), arn, *max_per_owner)?,
        Change::DetachPolicy { owner, arn } => policies::detach(tx, owner.as_owner(), arn)?,
        Change::PutInlinePolicy {
            owner,
            name,
            document,
            max_total_size,
        } => policies::put_inline(tx, owner.as_owner(), name, document, *max_total_size)?,
        Change::DeleteInlinePolicy { owner, name } => {
            policies::delete_inline(tx, owner.as_owner(), name)?;
        }
        Change::CreateRole {
            role,
            trust_bindings,
            max_per_account,
        } => policies::insert_role(tx, role, trust_bindings, *max_per_account)?,
        Change::UpdateRole {
            role_id,
            description,
            max_session,
        } => policies::update_role(tx, role_id, description.as_deref(), *max_session)?,
        Change::SetTrustPolicy {
            role_id,
            document,
            trust_bindings,
        } => policies::update_trust(tx, role_id, document, trust_bindings)?,
        Change::SetRoleBoundary { role_id, boundary } => {
            policies::set_role_boundary(tx, role_id, boundary.as_deref())?;
        }
        Change::DeleteRole { account, name } => policies::delete_role(tx, account, name)?,
        Change::DeleteServiceLinkedRole {
            account,
            name,
            task,
        } => {
            policies::delete_role(tx, account, name)?;
            policies::insert_deletion_task(tx, task)?;
        }
        Change::TagRole { role_id, tags } => {
            identity::upsert_tags(tx, TagTable::Role, role_id, tags)?;
        }
        Change::UntagRole { role_id, keys } => {
            identity::delete_tags(tx, TagTable::Role, role_id, keys)?;
        }
        Change::CreateInstanceProfile {
            profile,
            max_per_account,
        } => profiles::create(tx, profile, *max_per_account)?,
        Change::DeleteInstanceProfile { account, name } => profiles::delete(tx, account, name)?,
        Change::AddRoleToInstanceProfile {
            account,
            profile,
            role,
            max_roles,
        } => profiles::add_role(tx, account, profile, role, *max_roles)?,
        Change::RemoveRoleFromInstanceProfile {
            account,
            profile,
            role,
        } => profiles::remove_role(tx, account, profile, role)?,
        Change::TagInstanceProfile {
            account,
            name,
            tags,
        } => {
            let id = profiles::profile_id(tx, account, name)?;
            identity::upsert_tags(tx, TagTable::InstanceProfile, &id, tags)?;
        }
        Change::UntagInstanceProfile {
            account,
            name,
            keys,
        } => {
            let id = profiles::profile_id(tx, account, name)?;
            identity::delete_tags(tx, TagTable::InstanceProfile, &id, keys)?;
        }
        Change::CreateOidcProvider {
            provider,
            max_per_account,
        } => providers::create_oidc(tx, provider, *max_per_account)?,
        Change::DeleteOidcProvider { account, url } => providers::delete_oidc(tx, account, url)?,
        Change::AddOidcClientId {
            account,
            url,
            client_id,
            max_client_ids,
        } => providers::edit_oidc_list(tx, account, url, providers::List::ClientIds, |ids| {
            if !ids.contains(client_id) {
                if ids.len() >= *max_client_ids {
                    return Err(StoreError::LimitExceeded(
                        super::error::Entity::OidcClientId,
                    ));
                }
                ids.push(client_id.clone());
            }
            Ok(())
        })?,
        Change::RemoveOidcClientId {
            account,
            url,
            client_id,
        } => providers::edit_oidc_list(tx, account, url, providers::List::ClientIds, |ids| {
            ids.retain(|c| c != client_id);
            Ok(())
        })?,
        Change::SetOidcThumbprints {
            account,
            url,
            thumbprints,
        } => providers::edit_oidc_list(tx, account, url, providers::List::Thumbprints, |t| {
            t.clone_from(thumbprints);
            Ok(())
        })?,
        Change::TagOidcProvider { account, url, tags } => {
            let arn = providers::oidc_arn(tx, account, url)?;
            identity::upsert_tags(tx, identity::TagTable::OidcProvider, &arn, tags)?;
        }
        Change::UntagOidcProvider { account, url, keys } => {
            let arn = providers::oidc_arn(tx, account, url)?;
            identity::delete_tags(tx, identity::TagTable::OidcProvider, &arn, keys)?;
        }
        Change::CreateSamlProvider {
            provider,
            max_per_account,
        } => providers::create_saml(tx, keyring, provider, *max_per_account)?,
        Change::UpdateSamlProvider {
            account,
            name,
            metadata,
            assertion_encryption_mode,
            add_private_key,
            remove_private_key,
            max_private_keys,
        } => providers::update_saml(
            tx,
            keyring,
            account,
            name,
            &providers::SamlUpdate {
                metadata: metadata.as_ref(),
                mode: assertion_encryption_mode.as_deref(),
                add_key: add_private_key.as_ref(),
                remove_key: remove_private_key.as_deref(),
                max_keys: *max_private_keys,
            },
        )?,
        Change::DeleteSamlProvider { account, name } => {
            providers::delete_saml(tx, account, name)?;
        }
        Change::TagSamlProvider {
            account,
            name,
            tags,
        } => {
            let arn = providers::saml_arn(tx, account, name)?;
            identity::upsert_tags(tx, identity::TagTable::SamlProvider, &arn, tags)?;
        }
        Change::UntagSamlProvider {
            account,
            name,
            keys,
        } => {
            let arn = providers::saml_arn(tx, account, name)?;
            identity::delete_tags(tx, identity::TagTable::SamlProvider, &arn, keys)?;
        }
        Change::UploadSigningCertificate {
            certificate,
            max_per_owner,
        } => certificates::upload_signing(tx, certificate, *max_per_owner)?,
        Change::UpdateSigningCertificate {
            account,
            user_id,
            id,
            active,
        } => certificates::update_signing(tx, account, user_id.as_deref(), id, *active)?,
        Change::DeleteSigningCertificate {
            account,
            user_id,
            id,
        } => certificates::delete_signing(tx, account, user_id.as_deref(), id)?,
        Change::UploadSshPublicKey { key, max_per_user } => {
            certificates::upload_ssh(tx, key, *max_per_user)?;
        }
        Change::UpdateSshPublicKey {
            user_id,
            id,
            active,
        } => certificates::update_ssh(tx, user_id, id, *active)?,
        Change::DeleteSshPublicKey { user_id, id } => certificates::delete_ssh(tx, user_id, id)?,
        Change::UploadServerCertificate {
            certificate,
            max_per_account,
        } => certificates::upload_server(tx, keyring, certificate, *max_per_account)?,
        Change::UpdateServerCertificate {
            account,
            name,
            new_name,
            new_path,
        } => certificates::update_server(
            tx,
            account,
            name,
            new_name.as_deref(),
            new_path.as_deref(),
        )?,
        Change::DeleteServerCertificate { account, name } => {
            certificates::delete_server(tx, account, name)?;
        }
        Change::TagServerCertificate {
            account,
            name,
            tags,
        } => {
            let id = certificates::server_id(tx, account, name)?;
            identity::upsert_tags(tx, TagTable::ServerCertificate, &id, tags)?;
        }
        Change::UntagServerCertificate {
            account,
            name,
            keys,
        } => {
            let id = certificates::server_id(tx, account, name)?;
            identity::delete_tags(tx, TagTable::ServerCertificate, &id, keys)?;
        }
        Change::ResealSecrets { keyring } => {
            return identity::reseal_all(tx, keyring).map(Applied::Resealed);
        }
        Change::UseSamlAssertion {
            issuer,
            assertion_id,
            until,
            now,
        } => providers::use_saml_assertion(tx, issuer, assertion_id, *until, *now)?,
    }
    Ok(Applied::Done)
}

// --- helpers for the SQL modules -------------------------------------------------------------

fn count(tx: &Transaction<'_>, sql: &str, p: impl rusqlite::Params) -> Result<i64, StoreError> {
    Ok(tx.query_row(sql, p, |r| r.get(0))?)
}

/// `n` entities already reach the limit `max`: one more would pass it.
fn at_limit(n: i64, max: usize) -> bool {
    usize::try_from(n).is_ok_and(|n| n >= max)
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

fn tag_rows(conn: &Connection, sql: &str) -> Result<Vec<TagRow>, StoreError> {
    let mut st = conn.prepare(sql)?;
    let rows = st.query_map([], |r| {
        Ok(TagRow {
            owner: r.get(0)?,
            key: r.get(1)?,
            value: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

// --- reading everything ----------------------------------------------------------------------

fn load(conn: &Connection) -> Result<Tables, StoreError> {
    fn all<T>(
        conn: &Connection,
        sql: &str,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut st = conn.prepare(sql)?;
        let rows = st.query_map([], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
    let accounts = all(conn, "SELECT id, alias, created_at FROM accounts", |r| {
        Ok(Account {
            id: r.get(0)?,
            alias: r.get(1)?,
            created_at: from_ts(r.get(2)?),
        })
    })?;
    let users = all(
        conn,
        "SELECT id, account, name, path, created_at, boundary FROM users",
        |r| {
            Ok(User {
                id: r.get(0)?,
                account: r.get(1)?,
                name: r.get(2)?,
                path: r.get(3)?,
                created_at: from_ts(r.get(4)?),
                boundary: r.get(5)?,
                tags: Vec::new(),
            })
        },
    )?;
    let groups = all(
        conn,
        "SELECT id, account, name, path, created_at FROM groups",
        |r| {
            Ok(Group {
                id: r.get(0)?,
                account: r.get(1)?,
                name: r.get(2)?,
                path: r.get(3)?,
                created_at: from_ts(r.get(4)?),
                members: Vec::new(),
            })
        },
    )?;
    let group_members = all(
        conn,
        "SELECT group_id, user_id FROM group_members ORDER BY rowid",
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let access_keys = all(
        conn,
        "SELECT id, account, user_id, secret_ct, active, created_at, last_used_date, last_used_region, last_used_service FROM access_keys",
        |r| {
            let last_used = match (
                r.get::<_, Option<i64>>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, Option<String>>(8)?,
            ) {
                (Some(date), Some(region), Some(service)) => Some(KeyUse {
                    date: from_ts(date),
                    region,
                    service,
                }),
                _ => None,
            };
            Ok(SealedAccessKey {
                id: r.get(0)?,
                account: r.get(1)?,
                user_id: r.get(2)?,
                secret_ct: r.get(3)?,
                active: r.get(4)?,
                created_at: from_ts(r.get(5)?),
                last_used,
            })
        },
    )?;
    let mfa_devices = all(
        conn,
        "SELECT serial, account, name, path, seed_ct, user_id, enabled_at, last_step, created_at, drift_steps FROM mfa_devices",
        |r| {
            Ok(SealedMfaDevice {
                serial: r.get(0)?,
                account: r.get(1)?,
                name: r.get(2)?,
                path: r.get(3)?,
                seed_ct: r.get(4)?,
                user_id: r.get(5)?,
                enabled_at: r.get::<_, Option<i64>>(6)?.map(from_ts),
                last_step: r
                    .get::<_, Option<i64>>(7)?
                    .and_then(|v| u64::try_from(v).ok()),
                created_at: from_ts(r.get(8)?),
                drift_steps: r.get(9)?,
            })
        },
    )?;
    let policy_versions = all(
        conn,
        "SELECT policy_arn, version_id, document, created_at FROM policy_versions ORDER BY created_at, rowid",
        |r| {
            Ok((
                r.get(0)?,
                PolicyVersionRec {
                    version_id: r.get(1)?,
                    document: r.get(2)?,
                    created_at: from_ts(r.get(3)?),
                },
            ))
        },
    )?;
    let managed_policies = all(
        conn,
        "SELECT arn, id, account, name, path, description, default_version, created_at, updated_at FROM managed_policies",
        |r| {
            Ok(ManagedPolicyRow {
                arn: r.get(0)?,
                id: r.get(1)?,
                account: r.get(2)?,
                name: r.get(3)?,
                path: r.get(4)?,
                description: r.get(5)?,
                default_version: r.get(6)?,
                created_at: from_ts(r.get(7)?),
                updated_at: from_ts(r.get(8)?),
            })
        },
    )?;
    let inline_policies = all(
        conn,
        "SELECT owner_kind, owner_id, name, document FROM inline_policies ORDER BY name",
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        },
    )?
    .into_iter()
    .filter_map(|(kind, owner, name, document)| {
        Some(InlinePolicyRow {
            owner: OwnerId::from_kind(&kind, owner)?,
            name,
            document,
        })
    })
    .collect();
    let attachments = all(
        conn,
        "SELECT owner_kind, owner_id, policy_arn FROM attachments ORDER BY rowid",
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        },
    )?
    .into_iter()
    .filter_map(|(kind, owner, arn)| Some((OwnerId::from_kind(&kind, owner)?, arn)))
    .collect();
    let roles = all(
        conn,
        "SELECT id, account, name, path, description, trust_policy, trust_bindings, max_session, boundary, created_at, linked_service FROM roles",
        |r| {
            Ok(RoleRow {
                id: r.get(0)?,
                account: r.get(1)?,
                name: r.get(2)?,
                path: r.get(3)?,
                description: r.get(4)?,
                trust_document: r.get(5)?,
                trust_bindings: r.get(6)?,
                max_session: r.get(7)?,
                boundary: r.get(8)?,
                created_at: from_ts(r.get(9)?),
                linked_service: r.get(10)?,
            })
        },
    )?;
    Ok(Tables {
        accounts,
        users,
        user_tags: identity::load_tags(conn, identity::TagTable::User)?,
        groups,
        group_members,
        access_keys,
        mfa_devices,
        mfa_device_tags: identity::load_tags(conn, identity::TagTable::MfaDevice)?,
        oidc_providers: providers::load_oidc(conn)?,
        oidc_provider_tags: identity::load_tags(conn, identity::TagTable::OidcProvider)?,
        saml_providers: providers::load_saml(conn)?,
        saml_provider_tags: identity::load_tags(conn, identity::TagTable::SamlProvider)?,
        saml_private_keys: providers::load_saml_keys(conn)?,
        role_deletion_tasks: policies::load_deletion_tasks(conn)?,
        policies: PolicyTables {
            managed_policies,
            policy_versions,
            policy_tags: tag_rows(
                conn,
                "SELECT policy_arn, key, value FROM policy_tags ORDER BY rowid",
            )?,
            inline_policies,
            attachments,
            roles,
            role_tags: identity::load_tags(conn, identity::TagTable::Role)?,
        },
        instance_profiles: profiles::load(conn)?,
        instance_profile_roles: profiles::load_roles(conn)?,
        instance_profile_tags: identity::load_tags(conn, identity::TagTable::InstanceProfile)?,
        login_profiles: console::load_login_profiles(conn)?,
        password_history: console::load_password_history(conn)?,
        password_policies: console::load_password_policies(conn)?,
        signing_certificates: certificates::load_signing(conn)?,
        ssh_public_keys: certificates::load_ssh(conn)?,
        server_certificates: certificates::load_server(conn)?,
        server_certificate_tags: identity::load_tags(conn, identity::TagTable::ServerCertificate)?,
    })
}

// --- the audit table -------------------------------------------------------------------------

/// The audit journal's copier connection.
struct SqliteArchive {
    conn: Connection,
}

impl FrameArchive for SqliteArchive {
    fn last_copied(&mut self) -> Result<u64, StoreError> {
        Ok(journal_last_seq(&self.conn)?)
    }

    fn copy(&mut self, frames: &[Frame]) -> Result<(), StoreError> {
        // synchronous=FULL: durable before the journal may write over these frames.
        let tx = self.conn.transaction()?;
        copy_frames(&tx, frames)?;
        tx.commit()?;
        Ok(())
    }
}

/// The newest journal frame already copied into the audit table.
fn journal_last_seq(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT last_seq FROM audit_journal WHERE id = 1", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|v| u64::try_from(v).unwrap_or(0))
}

/// Copy the journal's frames `frames` into the audit table inside `tx`.
fn copy_frames(tx: &Transaction<'_>, frames: &[Frame]) -> rusqlite::Result<()> {
    let Some(last) = frames.last() else {
        return Ok(());
    };
    let mut st =
        tx.prepare_cached("INSERT INTO audit (time, records, journal_seq) VALUES (?1, ?2, ?3)")?;
    for f in frames {
        st.execute(params![
            f.time_ms,
            f.records,
            i64::try_from(f.seq).unwrap_or(i64::MAX)
        ])?;
    }
    tx.execute(
        "UPDATE audit_journal SET last_seq = ?1 WHERE id = 1",
        [i64::try_from(last.seq).unwrap_or(i64::MAX)],
    )?;
    Ok(())
}

/// The audit table read through a read-only connection, taking no lock a writer waits for.
#[derive(Debug)]
pub(crate) struct SqliteAuditRead {
    conn: Connection,
}

impl SqliteAuditRead {
    /// Open `<dir>/tessera.db` read-only; an error when there is none.
    pub(crate) fn open(dir: &Path) -> Result<SqliteAuditRead, crate::BoxError> {
        let path = dir.join(DB_FILE);
        if !path.exists() {
            return Err(format!("no database at {}", path.display()).into());
        }
        let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        Ok(SqliteAuditRead { conn })
    }
}

fn audit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        seq: r.get(0)?,
        journal_seq: r
            .get::<_, Option<i64>>(1)?
            .and_then(|v| u64::try_from(v).ok()),
        records: r.get(2)?,
    })
}

impl AuditRead for SqliteAuditRead {
    fn newest(&mut self, n: usize) -> Result<(Vec<AuditRow>, u64, i64), StoreError> {
        // One read transaction: the rows and how far the copies went agree.
        let tx = self.conn.unchecked_transaction()?;
        let mut rows = Vec::new();
        {
            let mut st =
                tx.prepare("SELECT seq, journal_seq, records FROM audit ORDER BY seq DESC")?;
            let mut it = st.query([])?;
            let mut count = 0;
            while count < n {
                let Some(row) = it.next()? else { break };
                let row = audit_row(row)?;
                count += row.records.lines().count();
                rows.push(row);
            }
        }
        let copied = journal_last_seq(&tx)?;
        let top: i64 = tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM audit", [], |r| r.get(0))?;
        tx.finish()?;
        rows.reverse();
        Ok((rows, copied, top))
    }

    fn since(&mut self, after: i64, limit: usize) -> Result<Vec<AuditRow>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT seq, journal_seq, records FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = st.query_map(
            params![after, i64::try_from(limit).unwrap_or(i64::MAX)],
            audit_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
