//! Versioned schema migrations. `PRAGMA user_version` records how many have run; each runs in
//! its own transaction, so a crash mid-migration leaves the previous version intact.

use rusqlite::Connection;

/// The AWS managed policies people attach on day one (`crate::iam::aws_managed` says which,
/// and what each document holds). Account `aws`: read-only, attachable in every account. Their
/// ids and dates are AWS's; each keeps only its default version. Plain SQL: the PostgreSQL
/// schema seeds the same rows.
pub(crate) const AWS_MANAGED_POLICIES: &str = r#"
    INSERT INTO managed_policies (arn, id, account, name, name_lc, path, description, default_version, next_version, created_at, updated_at)
        VALUES ('arn:aws:iam::aws:policy/AdministratorAccess', 'ANPAIWMBCKSKIEE64ZLYK', 'aws', 'AdministratorAccess', 'administratoraccess', '/', 'Provides full access to AWS services and resources.', 'v1', 2, 1423247986000, 1423247986000);
    INSERT INTO policy_versions (policy_arn, version_id, document, created_at)
        VALUES ('arn:aws:iam::aws:policy/AdministratorAccess', 'v1', '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}', 1423247986000);
    INSERT INTO managed_policies (arn, id, account, name, name_lc, path, description, default_version, next_version, created_at, updated_at)
        VALUES ('arn:aws:iam::aws:policy/PowerUserAccess', 'ANPAJYRXTHIB4FOVS3ZXS', 'aws', 'PowerUserAccess', 'poweruseraccess', '/', 'Provides full access to AWS services and resources, but does not allow management of Users and groups.', 'v12', 13, 1423247987000, 1770919140000);
    INSERT INTO policy_versions (policy_arn, version_id, document, created_at)
        VALUES ('arn:aws:iam::aws:policy/PowerUserAccess', 'v12', '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],"Resource":"*"},{"Effect":"Allow","Action":["account:GetAccountInformation","account:GetGovCloudAccountInformation","account:GetPrimaryEmail","account:ListRegions","iam:CreateServiceLinkedRole","iam:DeleteServiceLinkedRole","iam:ListRoles","organizations:DescribeEffectivePolicy","organizations:DescribeOrganization"],"Resource":"*"}]}', 1770919140000);
    INSERT INTO managed_policies (arn, id, account, name, name_lc, path, description, default_version, next_version, created_at, updated_at)
        VALUES ('arn:aws:iam::aws:policy/ReadOnlyAccess', 'ANPAILL3HVNFSB6DCOWYQ', 'aws', 'ReadOnlyAccess', 'readonlyaccess', '/', 'Provides read-only access to AWS services and resources.', 'v1', 2, 1423247988000, 1423247988000);
    INSERT INTO policy_versions (policy_arn, version_id, document, created_at)
        VALUES ('arn:aws:iam::aws:policy/ReadOnlyAccess', 'v1', '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Generate*","iam:Get*","iam:List*","iam:Simulate*"],"Resource":"*"}]}', 1423247988000);
    INSERT INTO managed_policies (arn, id, account, name, name_lc, path, description, default_version, next_version, created_at, updated_at)
        VALUES ('arn:aws:iam::aws:policy/IAMFullAccess', 'ANPAI7XKCFMBPM3QQRRVQ', 'aws', 'IAMFullAccess', 'iamfullaccess', '/', 'Provides full access to IAM via the AWS Management Console.', 'v2', 3, 1423248038000, 1561146000000);
    INSERT INTO policy_versions (policy_arn, version_id, document, created_at)
        VALUES ('arn:aws:iam::aws:policy/IAMFullAccess', 'v2', '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount","organizations:DescribeOrganization","organizations:DescribeOrganizationalUnit","organizations:DescribePolicy","organizations:ListChildren","organizations:ListParents","organizations:ListPoliciesForTarget","organizations:ListRoots","organizations:ListPolicies","organizations:ListTargetsForPolicy"],"Resource":"*"}]}', 1561146000000);
    INSERT INTO managed_policies (arn, id, account, name, name_lc, path, description, default_version, next_version, created_at, updated_at)
        VALUES ('arn:aws:iam::aws:policy/IAMReadOnlyAccess', 'ANPAJKSO7NDY4T57MWDSQ', 'aws', 'IAMReadOnlyAccess', 'iamreadonlyaccess', '/', 'Provides read only access to IAM via the AWS Management Console.', 'v4', 5, 1423248039000, 1516907460000);
    INSERT INTO policy_versions (policy_arn, version_id, document, created_at)
        VALUES ('arn:aws:iam::aws:policy/IAMReadOnlyAccess', 'v4', '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GenerateCredentialReport","iam:GenerateServiceLastAccessedDetails","iam:Get*","iam:List*","iam:SimulateCustomPolicy","iam:SimulatePrincipalPolicy"],"Resource":"*"}]}', 1516907460000);
    INSERT INTO managed_policies (arn, id, account, name, name_lc, path, description, default_version, next_version, created_at, updated_at)
        VALUES ('arn:aws:iam::aws:policy/IAMUserChangePassword', 'ANPAJ4L4MM2A7QIEB56MS', 'aws', 'IAMUserChangePassword', 'iamuserchangepassword', '/', 'Provides the ability for an IAM user to change their own password.', 'v3', 4, 1479169516000, 1748555520000);
    INSERT INTO policy_versions (policy_arn, version_id, document, created_at)
        VALUES ('arn:aws:iam::aws:policy/IAMUserChangePassword', 'v3', '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ChangePassword"],"Resource":["arn:aws:iam::*:user/${aws:username}","arn:aws:iam::*:user/*/${aws:username}"]},{"Effect":"Allow","Action":["iam:GetAccountPasswordPolicy"],"Resource":"*"}]}', 1748555520000);
    "#;

/// Append only: never edit a migration that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: accounts, users, groups, access keys, MFA devices.
    r#"
    CREATE TABLE accounts (
        id          TEXT PRIMARY KEY,
        alias       TEXT UNIQUE,
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE users (
        id          TEXT PRIMARY KEY,            -- AIDA...
        account     TEXT NOT NULL REFERENCES accounts(id),
        name        TEXT NOT NULL,
        name_lc     TEXT NOT NULL,
        path        TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        boundary    TEXT,                        -- permissions boundary policy ARN
        UNIQUE (account, name_lc)
    );
    CREATE TABLE user_tags (
        user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        key         TEXT NOT NULL,
        key_lc      TEXT NOT NULL,
        value       TEXT NOT NULL,
        PRIMARY KEY (user_id, key_lc)
    );
    CREATE TABLE groups (
        id          TEXT PRIMARY KEY,            -- AGPA...
        account     TEXT NOT NULL REFERENCES accounts(id),
        name        TEXT NOT NULL,
        name_lc     TEXT NOT NULL,
        path        TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        UNIQUE (account, name_lc)
    );
    CREATE TABLE group_members (
        group_id    TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        PRIMARY KEY (group_id, user_id)
    );
    CREATE TABLE access_keys (
        id          TEXT PRIMARY KEY,            -- AKIA...
        account     TEXT NOT NULL REFERENCES accounts(id),
        user_id     TEXT REFERENCES users(id),   -- NULL: the account's root
        secret_ct   BLOB NOT NULL,               -- sealed with the keyring, AAD = key id
        active      INTEGER NOT NULL,
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE mfa_devices (
        serial      TEXT PRIMARY KEY,            -- arn:aws:iam::ACCT:mfa/PATHNAME
        account     TEXT NOT NULL REFERENCES accounts(id),
        name        TEXT NOT NULL,
        path        TEXT NOT NULL,
        seed_ct     BLOB NOT NULL,               -- sealed with the keyring, AAD = serial
        user_id     TEXT REFERENCES users(id),   -- set once enabled
        enabled_at  INTEGER,
        last_step   INTEGER,                     -- last accepted TOTP step (single use)
        created_at  INTEGER NOT NULL
    );
    "#,
    // 2: managed policies and their versions, inline policies, attachments, roles.
    r#"
    CREATE TABLE managed_policies (
        arn             TEXT PRIMARY KEY,
        id              TEXT NOT NULL UNIQUE,    -- ANPA...
        account         TEXT NOT NULL,           -- 'aws' for AWS-managed policies
        name            TEXT NOT NULL,
        name_lc         TEXT NOT NULL,
        path            TEXT NOT NULL,
        description     TEXT,
        default_version TEXT NOT NULL,
        next_version    INTEGER NOT NULL,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        UNIQUE (account, name_lc)
    );
    CREATE TABLE policy_versions (
        policy_arn  TEXT NOT NULL REFERENCES managed_policies(arn) ON DELETE CASCADE,
        version_id  TEXT NOT NULL,               -- v1, v2, ...
        document    TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        PRIMARY KEY (policy_arn, version_id)
    );
    CREATE TABLE policy_tags (
        policy_arn  TEXT NOT NULL REFERENCES managed_policies(arn) ON DELETE CASCADE,
        key         TEXT NOT NULL,
        key_lc      TEXT NOT NULL,
        value       TEXT NOT NULL,
        PRIMARY KEY (policy_arn, key_lc)
    );
    CREATE TABLE inline_policies (
        owner_kind  TEXT NOT NULL,               -- user | group | role
        owner_id    TEXT NOT NULL,
        name        TEXT NOT NULL,
        document    TEXT NOT NULL,
        PRIMARY KEY (owner_kind, owner_id, name)
    );
    CREATE TABLE attachments (
        owner_kind  TEXT NOT NULL,
        owner_id    TEXT NOT NULL,
        policy_arn  TEXT NOT NULL REFERENCES managed_policies(arn),
        PRIMARY KEY (owner_kind, owner_id, policy_arn)
    );
    CREATE TABLE roles (
        id              TEXT PRIMARY KEY,        -- AROA...
        account         TEXT NOT NULL REFERENCES accounts(id),
        name            TEXT NOT NULL,
        name_lc         TEXT NOT NULL,
        path            TEXT NOT NULL,
        description     TEXT,
        trust_policy    TEXT NOT NULL,
        trust_bindings  TEXT NOT NULL DEFAULT '{}', -- principal ARN -> unique id, JSON
        max_session     INTEGER NOT NULL,
        boundary        TEXT,
        created_at      INTEGER NOT NULL,
        UNIQUE (account, name_lc)
    );
    CREATE TABLE role_tags (
        role_id     TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
        key         TEXT NOT NULL,
        key_lc      TEXT NOT NULL,
        value       TEXT NOT NULL,
        PRIMARY KEY (role_id, key_lc)
    );
    "#,
    // 3: the audit trail. Each row holds the records (JSON lines) of one group commit.
    r#"
    CREATE TABLE audit (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        time        INTEGER NOT NULL,           -- earliest record in the row, ms since epoch
        records     TEXT NOT NULL               -- JSON lines, as `tessera audit tail` prints them
    );
    CREATE INDEX audit_time ON audit(time);
    "#,
    // 4: every group commit appends one audit row, so each page that row touches is written to
    // the WAL and synced per commit. AUTOINCREMENT (a sqlite_sequence page) and the time index
    // (an index page) doubled that for nothing: rows are only ever read by seq, and seq still
    // grows with each commit (rowids are max + 1; the newest row is never deleted).
    r#"
    CREATE TABLE audit_v4 (
        seq         INTEGER PRIMARY KEY,
        time        INTEGER NOT NULL,           -- earliest record in the row, ms since epoch
        records     TEXT NOT NULL               -- JSON lines, as `tessera audit tail` prints them
    );
    INSERT INTO audit_v4 (seq, time, records) SELECT seq, time, records FROM audit;
    DROP TABLE audit;
    ALTER TABLE audit_v4 RENAME TO audit;
    "#,
    // 5: audit records guarding credentials are committed to the audit journal
    // (`store::audit_journal`) and are copied here later. `journal_seq` is the frame a row was
    // copied from; `audit_journal.last_seq` the newest frame copied, so recovery copies none
    // twice.
    r#"
    ALTER TABLE audit ADD COLUMN journal_seq INTEGER;
    CREATE TABLE audit_journal (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        last_seq    INTEGER NOT NULL
    );
    INSERT INTO audit_journal (id, last_seq) VALUES (1, 0);
    "#,
    // 6: OpenID Connect providers. Client ids and thumbprints are small ordered lists, kept as
    // JSON arrays beside the provider.
    r#"
    CREATE TABLE oidc_providers (
        account      TEXT NOT NULL REFERENCES accounts(id),
        url          TEXT NOT NULL,              -- issuer without https://
        client_ids   TEXT NOT NULL,              -- JSON array
        thumbprints  TEXT NOT NULL,              -- JSON array
        created_at   INTEGER NOT NULL,
        PRIMARY KEY (account, url)
    );
    CREATE TABLE oidc_provider_tags (
        provider_arn TEXT NOT NULL,
        key          TEXT NOT NULL,
        key_lc       TEXT NOT NULL,
        value        TEXT NOT NULL,
        PRIMARY KEY (provider_arn, key_lc)
    );
    "#,
    // 7: SAML providers. The metadata document is kept as uploaded; the entity id and signing
    // certificates extracted from it beside it. Private keys are sealed with the keyring like
    // every other secret at rest, and go with their provider.
    r#"
    CREATE TABLE saml_providers (
        account         TEXT NOT NULL REFERENCES accounts(id),
        name            TEXT NOT NULL,
        uuid            TEXT NOT NULL UNIQUE,
        metadata        TEXT NOT NULL,
        entity_id       TEXT NOT NULL,
        signing_certs   TEXT NOT NULL,           -- JSON array of base64 DER
        valid_until     INTEGER,
        encryption_mode TEXT,                    -- Required | Allowed
        created_at      INTEGER NOT NULL,
        PRIMARY KEY (account, name)
    );
    CREATE TABLE saml_provider_tags (
        provider_arn TEXT NOT NULL,
        key          TEXT NOT NULL,
        key_lc       TEXT NOT NULL,
        value        TEXT NOT NULL,
        PRIMARY KEY (provider_arn, key_lc)
    );
    CREATE TABLE saml_private_keys (
        key_id      TEXT PRIMARY KEY,
        account     TEXT NOT NULL,
        provider    TEXT NOT NULL,
        key_ct      BLOB NOT NULL,               -- PKCS#8 PEM sealed with the keyring, AAD = key id
        created_at  INTEGER NOT NULL,
        FOREIGN KEY (account, provider) REFERENCES saml_providers(account, name) ON DELETE CASCADE
    );
    "#,
    // 8: the SAML replay cache. An accepted assertion (issuer, ID) is kept until the time it
    // could no longer be accepted anyway (`until`, ms since the epoch); the index lets each
    // insert forget a few entries past their time.
    r#"
    CREATE TABLE saml_used_assertions (
        issuer        TEXT NOT NULL,
        assertion_id  TEXT NOT NULL,
        until         INTEGER NOT NULL,
        PRIMARY KEY (issuer, assertion_id)
    ) WITHOUT ROWID;
    CREATE INDEX saml_used_assertions_until ON saml_used_assertions (until);
    "#,
    // 9: instance profiles. A role in a profile cannot be deleted (the role's foreign key has
    // no cascade), so `DeleteRole` must meet its `DeleteConflict` before SQLite would refuse.
    r#"
    CREATE TABLE instance_profiles (
        id          TEXT PRIMARY KEY,            -- AIPA...
        account     TEXT NOT NULL REFERENCES accounts(id),
        name        TEXT NOT NULL,
        name_lc     TEXT NOT NULL,
        path        TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        UNIQUE (account, name_lc)
    );
    CREATE TABLE instance_profile_roles (
        profile_id  TEXT NOT NULL REFERENCES instance_profiles(id) ON DELETE CASCADE,
        role_id     TEXT NOT NULL REFERENCES roles(id),
        PRIMARY KEY (profile_id, role_id)
    );
    CREATE INDEX instance_profile_roles_role ON instance_profile_roles(role_id);
    CREATE TABLE instance_profile_tags (
        profile_id  TEXT NOT NULL REFERENCES instance_profiles(id) ON DELETE CASCADE,
        key         TEXT NOT NULL,
        key_lc      TEXT NOT NULL,
        value       TEXT NOT NULL,
        PRIMARY KEY (profile_id, key_lc)
    );
    "#,
    // 10: service-linked roles: the service a role belongs to (NULL for every other role), and
    // the deletion tasks `GetServiceLinkedRoleDeletionStatus` reports on.
    r#"
    ALTER TABLE roles ADD COLUMN linked_service TEXT;
    CREATE TABLE role_deletion_tasks (
        id          TEXT PRIMARY KEY,            -- task/aws-service-role/<service>/<role>/<uuid>
        account     TEXT NOT NULL REFERENCES accounts(id),
        status      TEXT NOT NULL,
        created_at  INTEGER NOT NULL
    );
    "#,
    // 11: the AWS managed policies people attach on day one ([`AWS_MANAGED_POLICIES`]).
    AWS_MANAGED_POLICIES,
    // 12: console passwords and the account password policy. A login profile keeps only an
    // argon2id hash (PHC string, salt inside); `password_history` keeps the user's newest hashes
    // (the current one included) for `PasswordReusePrevention`, and outlives the profile (a
    // user who deletes and recreates a password may not reuse an old one). A user with a login
    // profile cannot be deleted (no cascade), as in IAM.
    r#"
    CREATE TABLE login_profiles (
        user_id         TEXT PRIMARY KEY REFERENCES users(id),
        password_hash   TEXT NOT NULL,
        created_at      INTEGER NOT NULL,
        changed_at      INTEGER NOT NULL,
        reset_required  INTEGER NOT NULL
    );
    CREATE TABLE password_history (
        user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        seq             INTEGER NOT NULL,       -- grows with each password set
        password_hash   TEXT NOT NULL,
        PRIMARY KEY (user_id, seq)
    );
    CREATE TABLE password_policies (
        account                 TEXT PRIMARY KEY REFERENCES accounts(id),
        minimum_length          INTEGER NOT NULL,
        require_symbols         INTEGER NOT NULL,
        require_numbers         INTEGER NOT NULL,
        require_uppercase       INTEGER NOT NULL,
        require_lowercase       INTEGER NOT NULL,
        allow_users_to_change   INTEGER NOT NULL,
        max_age_days            INTEGER,
        reuse_prevention        INTEGER,
        hard_expiry             INTEGER
    );
    "#,
    // 13: users' signing certificates and SSH public keys, the account's server certificates.
    // A certificate's or key's fingerprint is kept to refuse the same one twice; a server
    // certificate's private key is sealed with the keyring like every other secret at rest.
    // Users with certificates or keys cannot be deleted (no cascade: `DeleteUser` meets its
    // `DeleteConflict` first).
    r#"
    CREATE TABLE signing_certificates (
        id          TEXT PRIMARY KEY,            -- 32 base32 characters
        account     TEXT NOT NULL REFERENCES accounts(id),
        user_id     TEXT REFERENCES users(id),   -- NULL: the account's root
        body        TEXT NOT NULL,               -- PEM as uploaded
        fingerprint TEXT NOT NULL,               -- SHA-256 of the DER, hex
        active      INTEGER NOT NULL,
        created_at  INTEGER NOT NULL,
        UNIQUE (account, fingerprint)
    );
    CREATE TABLE ssh_public_keys (
        id          TEXT PRIMARY KEY,            -- APKA...
        account     TEXT NOT NULL REFERENCES accounts(id),
        user_id     TEXT NOT NULL REFERENCES users(id),
        body        TEXT NOT NULL,               -- as uploaded: ssh-rsa or PEM
        fingerprint TEXT NOT NULL,               -- MD5 of the SSH blob, colon hex
        active      INTEGER NOT NULL,
        created_at  INTEGER NOT NULL,
        UNIQUE (user_id, fingerprint)
    );
    CREATE TABLE server_certificates (
        id          TEXT PRIMARY KEY,            -- ASCA...
        account     TEXT NOT NULL REFERENCES accounts(id),
        name        TEXT NOT NULL,
        name_lc     TEXT NOT NULL,
        path        TEXT NOT NULL,
        body        TEXT NOT NULL,
        chain       TEXT,
        key_ct      BLOB NOT NULL,               -- PKCS#8 PEM sealed with the keyring, AAD = id
        expiration  INTEGER NOT NULL,
        created_at  INTEGER NOT NULL,
        UNIQUE (account, name_lc)
    );
    CREATE TABLE server_certificate_tags (
        certificate_id TEXT NOT NULL REFERENCES server_certificates(id) ON DELETE CASCADE,
        key            TEXT NOT NULL,
        key_lc         TEXT NOT NULL,
        value          TEXT NOT NULL,
        PRIMARY KEY (certificate_id, key_lc)
    );
    "#,
    // 14: MFA device tags; the clock drift (in TOTP steps) `ResyncMFADevice` measured for a
    // device; and when, where and with which service each access key was last used (the
    // columns a credential report reads). Last-used data is written in batches by the
    // key-usage recorder (`store::key_usage`), never on the request path.
    r#"
    CREATE TABLE mfa_device_tags (
        serial      TEXT NOT NULL REFERENCES mfa_devices(serial) ON DELETE CASCADE,
        key         TEXT NOT NULL,
        key_lc      TEXT NOT NULL,
        value       TEXT NOT NULL,
        PRIMARY KEY (serial, key_lc)
    );
    ALTER TABLE mfa_devices ADD COLUMN drift_steps INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE access_keys ADD COLUMN last_used_date INTEGER;     -- ms since epoch; NULL: never
    ALTER TABLE access_keys ADD COLUMN last_used_region TEXT;
    ALTER TABLE access_keys ADD COLUMN last_used_service TEXT;
    "#,
    // 15: each account's newest credential report (`GenerateCredentialReport`): the CSV as
    // answered, and when it was made. It holds no secret. Kept out of the snapshot: it is read
    // at start and replaced in memory when a new one commits.
    r#"
    CREATE TABLE credential_reports (
        account      TEXT PRIMARY KEY REFERENCES accounts(id),
        generated_at INTEGER NOT NULL,           -- ms since epoch
        content      TEXT NOT NULL               -- text/csv
    );
    "#,
    // 16: the audit trail moves to the archive (`audit.db`, attached as `archive`); its rows
    // were copied there first ([`copy_audit_to_archive`]).
    r#"
    DROP TABLE main.audit;
    DROP TABLE main.audit_journal;
    "#,
];

/// The migration that drops the audit tables from the main database.
const AUDIT_TO_ARCHIVE: usize = 15;

/// Run the migrations this database has not had yet. Each runs in its own write transaction
/// that first re-reads the version, so two processes opening a new data dir at once (a server
/// starting and `tessera account create`) never run one twice.
pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    loop {
        if version(conn)? == AUDIT_TO_ARCHIVE {
            copy_audit_to_archive(conn)?;
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Read the main schema first, so this connection's copy of it is current: another
        // opener may have just migrated it, and a statement naming a table that a stale copy
        // lacks would find the archive's table of that name (`audit`) instead, without noticing.
        tx.query_row("SELECT count(*) FROM main.sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })?;
        let have = version(&tx)?;
        let Some(sql) = MIGRATIONS.get(have) else {
            return Ok(());
        };
        if have == AUDIT_TO_ARCHIVE && !moved(&tx)? {
            // Another opener ran the previous migration meanwhile: copy first.
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (have + 1) as i64)?;
        tx.commit()?;
    }
}

fn version(conn: &Connection) -> rusqlite::Result<usize> {
    Ok(conn
        .query_row("PRAGMA main.user_version", [], |r| r.get::<_, i64>(0))?
        .try_into()
        .unwrap_or(0))
}

/// Copy the main database's audit rows into the archive, in a transaction of its own: one
/// transaction over two WAL databases is atomic in each but not across them, so the rows must
/// be in the archive before the migration that drops them commits. Copying twice (after a crash
/// in between) adds nothing: rows keep their `seq`.
fn copy_audit_to_archive(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    if version(&tx)? != AUDIT_TO_ARCHIVE {
        // Another opener moved them meanwhile.
        return Ok(());
    }
    tx.execute_batch(
        "INSERT OR IGNORE INTO archive.audit (seq, time, records, journal_seq)
             SELECT seq, time, records, journal_seq FROM main.audit;
         UPDATE archive.audit_journal
             SET last_seq = max(last_seq, coalesce(
                 (SELECT last_seq FROM main.audit_journal WHERE id = 1), 0))
             WHERE id = 1;",
    )?;
    tx.commit()
}

/// Whether every audit row of the main database is in the archive.
fn moved(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT NOT EXISTS (SELECT 1 FROM main.audit AS m
             WHERE NOT EXISTS (SELECT 1 FROM archive.audit AS a WHERE a.seq = m.seq))",
        [],
        |r| r.get(0),
    )
}

#[cfg(test)]
mod tests {
    /// A data dir from before the archive: its audit rows and journal mark move to `audit.db`
    /// once, also when the copy already ran before a crash.
    #[test]
    fn audit_rows_move_to_the_archive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tessera.db");
        let mut conn =
            super::super::open_connection(&path, std::time::Duration::from_secs(10)).unwrap();
        for (i, sql) in super::MIGRATIONS[..super::AUDIT_TO_ARCHIVE]
            .iter()
            .enumerate()
        {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", (i + 1) as i64)
                .unwrap();
        }
        conn.execute_batch(
            "INSERT INTO main.audit (seq, time, records, journal_seq)
                 VALUES (1, 10, 'a', NULL), (2, 20, 'b' || char(10) || 'c', 7);
             UPDATE main.audit_journal SET last_seq = 7;",
        )
        .unwrap();
        // A copy that ran before a crash, then the whole migration.
        super::copy_audit_to_archive(&mut conn).unwrap();
        super::migrate(&mut conn).unwrap();
        super::migrate(&mut conn).unwrap();
        let rows: Vec<(i64, i64, String, Option<i64>)> = conn
            .prepare("SELECT seq, time, records, journal_seq FROM archive.audit ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![(1, 10, "a".into(), None), (2, 20, "b\nc".into(), Some(7))]
        );
        let last: i64 = conn
            .query_row("SELECT last_seq FROM archive.audit_journal", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(last, 7);
        let left: i64 = conn
            .query_row(
                "SELECT count(*) FROM main.sqlite_master WHERE name LIKE 'audit%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0);
        assert_eq!(super::version(&conn).unwrap(), super::MIGRATIONS.len());
        let page: i64 = conn
            .query_row("PRAGMA archive.page_size", [], |r| r.get(0))
            .unwrap();
        assert_eq!(page, super::super::ARCHIVE_PAGE_SIZE);
    }

    /// Two processes opening a new data dir at once: every migration runs once.
    #[test]
    fn concurrent_openers_migrate_once() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("tessera.db");
            let openers: Vec<_> = (0..6)
                .map(|_| {
                    let path = path.clone();
                    std::thread::spawn(move || {
                        let mut conn = super::super::open_connection(
                            &path,
                            std::time::Duration::from_secs(10),
                        )?;
                        super::migrate(&mut conn)
                    })
                })
                .collect();
            for o in openers {
                o.join().unwrap().unwrap();
            }
        }
    }
}
