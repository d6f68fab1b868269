//! SQL for console identity: login profiles (password hashes and their history), the account
//! password policy, the account's credential report, and renaming users and groups. Each function runs inside the writer's
//! transaction and re-checks what it depends on there.

use super::{OptionalExtension, Sql, params};
use chrono::{DateTime, Utc};

use super::identity::{group_id, unique_or, user_id};
use crate::arn::Partition;
use crate::credentials::password::PasswordHash;
use crate::store::error::{Entity, StoreError};
use crate::store::model::{CredentialReport, LoginProfile, PasswordPolicy, from_ts, ts};

type Result<T> = std::result::Result<T, StoreError>;

/// Rename and/or move a user. Its id does not change, so its keys, groups, policies, MFA
/// devices, tags and login profile (all keyed by id) follow.
pub(super) fn update_user(
    tx: &dyn Sql,
    account: &str,
    name: &str,
    new_name: Option<&str>,
    new_path: Option<&str>,
) -> Result<()> {
    let id = user_id(tx, account, name)?;
    let (old_name, old_path): (String, String) = tx.query_row(
        "SELECT name, path FROM users WHERE id = ?1",
        params![&id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if let Some(n) = new_name {
        tx.execute(
            "UPDATE users SET name = ?1, name_lc = ?2 WHERE id = ?3",
            params![n, n.to_lowercase(), id],
        )
        .map_err(|e| unique_or(e, Entity::User))?;
    }
    if let Some(p) = new_path {
        tx.execute("UPDATE users SET path = ?1 WHERE id = ?2", params![p, id])?;
    }
    let old_arn = Partition::Aws.user_arn(account, &old_path, &old_name);
    let new_arn = Partition::Aws.user_arn(
        account,
        new_path.unwrap_or(&old_path),
        new_name.unwrap_or(&old_name),
    );
    if old_arn != new_arn {
        rename_trusted_principal(tx, &id, &old_arn, &new_arn)?;
    }
    Ok(())
}

/// IAM User Guide, "Renaming an IAM user": policies that name the user as a principal are
/// updated to the new name and path. Trust policies bound the user's ARN to its id when they
/// were saved; each one bound to this id gets the new ARN, in its text and in its binding.
/// (Policies naming the user as a resource are not changed, as in IAM.)
fn rename_trusted_principal(
    tx: &dyn Sql,
    user_id: &str,
    old_arn: &str,
    new_arn: &str,
) -> Result<()> {
    let pattern = format!("%{user_id}%");
    let roles: Vec<(String, String, String)> = {
        tx.query_map(
            "SELECT id, trust_policy, trust_bindings FROM roles WHERE trust_bindings LIKE ?1",
            params![pattern],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?
    };
    for (role_id, doc, bindings) in roles {
        let Ok(serde_json::Value::Object(mut map)) = serde_json::from_str(&bindings) else {
            continue;
        };
        if map.get(old_arn).and_then(|v| v.as_str()) != Some(user_id) {
            continue;
        }
        map.remove(old_arn);
        map.insert(
            new_arn.to_owned(),
            serde_json::Value::String(user_id.to_owned()),
        );
        let bindings = serde_json::Value::Object(map).to_string();
        let doc = doc.replace(&format!("\"{old_arn}\""), &format!("\"{new_arn}\""));
        tx.execute(
            "UPDATE roles SET trust_policy = ?1, trust_bindings = ?2 WHERE id = ?3",
            params![doc, bindings, role_id],
        )?;
    }
    Ok(())
}

/// As [`update_user`], for a group (members, policies keyed by the group's id follow).
pub(super) fn update_group(
    tx: &dyn Sql,
    account: &str,
    name: &str,
    new_name: Option<&str>,
    new_path: Option<&str>,
) -> Result<()> {
    let id = group_id(tx, account, name)?;
    if let Some(n) = new_name {
        tx.execute(
            "UPDATE groups SET name = ?1, name_lc = ?2 WHERE id = ?3",
            params![n, n.to_lowercase(), id],
        )
        .map_err(|e| unique_or(e, Entity::Group))?;
    }
    if let Some(p) = new_path {
        tx.execute("UPDATE groups SET path = ?1 WHERE id = ?2", params![p, id])?;
    }
    Ok(())
}

/// Add `hash` as the user's newest password and forget all but the newest `keep`.
fn push_history(tx: &dyn Sql, user_id: &str, hash: &PasswordHash, keep: usize) -> Result<()> {
    tx.execute(
        "INSERT INTO password_history (user_id, seq, password_hash)
         VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM password_history WHERE user_id = ?1), ?2)",
        params![user_id, hash.as_stored()],
    )?;
    tx.execute(
        "DELETE FROM password_history WHERE user_id = ?1 AND seq NOT IN
         (SELECT seq FROM password_history WHERE user_id = ?1 ORDER BY seq DESC LIMIT ?2)",
        params![user_id, i64::try_from(keep).unwrap_or(i64::MAX)],
    )?;
    Ok(())
}

pub(super) fn create_login_profile(
    tx: &dyn Sql,
    user_id: &str,
    hash: &PasswordHash,
    now: DateTime<Utc>,
    reset_required: bool,
    keep: usize,
) -> Result<()> {
    let user: Option<String> = tx
        .query_row(
            "SELECT id FROM users WHERE id = ?1",
            params![user_id],
            |r| r.get(0),
        )
        .optional()?;
    if user.is_none() {
        return Err(StoreError::NotFound(Entity::User));
    }
    tx.execute(
        "INSERT INTO login_profiles (user_id, password_hash, created_at, changed_at, reset_required)
         VALUES (?1, ?2, ?3, ?3, ?4)",
        params![user_id, hash.as_stored(), ts(now), reset_required],
    )
    .map_err(|e| unique_or(e, Entity::LoginProfile))?;
    push_history(tx, user_id, hash, keep)
}

pub(super) fn update_login_profile(
    tx: &dyn Sql,
    user_id: &str,
    hash: Option<&PasswordHash>,
    reset_required: Option<bool>,
    now: DateTime<Utc>,
    keep: usize,
) -> Result<()> {
    let exists: Option<String> = tx
        .query_row(
            "SELECT user_id FROM login_profiles WHERE user_id = ?1",
            params![user_id],
            |r| r.get(0),
        )
        .optional()?;
    if exists.is_none() {
        return Err(StoreError::NotFound(Entity::LoginProfile));
    }
    if let Some(h) = hash {
        tx.execute(
            "UPDATE login_profiles SET password_hash = ?1, changed_at = ?2 WHERE user_id = ?3",
            params![h.as_stored(), ts(now), user_id],
        )?;
        push_history(tx, user_id, h, keep)?;
    }
    if let Some(r) = reset_required {
        tx.execute(
            "UPDATE login_profiles SET reset_required = ?1 WHERE user_id = ?2",
            params![r, user_id],
        )?;
    }
    Ok(())
}

pub(super) fn delete_login_profile(tx: &dyn Sql, user_id: &str) -> Result<()> {
    let n = tx.execute(
        "DELETE FROM login_profiles WHERE user_id = ?1",
        params![user_id],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(Entity::LoginProfile));
    }
    Ok(())
}

pub(super) fn set_password_policy(tx: &dyn Sql, account: &str, p: &PasswordPolicy) -> Result<()> {
    tx.execute(
        "INSERT INTO password_policies (account, minimum_length, require_symbols, require_numbers,
            require_uppercase, require_lowercase, allow_users_to_change, max_age_days,
            reuse_prevention, hard_expiry)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (account) DO UPDATE SET minimum_length = excluded.minimum_length,
            require_symbols = excluded.require_symbols, require_numbers = excluded.require_numbers,
            require_uppercase = excluded.require_uppercase,
            require_lowercase = excluded.require_lowercase,
            allow_users_to_change = excluded.allow_users_to_change,
            max_age_days = excluded.max_age_days, reuse_prevention = excluded.reuse_prevention,
            hard_expiry = excluded.hard_expiry",
        params![
            account,
            p.minimum_length,
            p.require_symbols,
            p.require_numbers,
            p.require_uppercase,
            p.require_lowercase,
            p.allow_users_to_change,
            p.max_age_days,
            p.reuse_prevention,
            p.hard_expiry
        ],
    )?;
    Ok(())
}

pub(super) fn delete_password_policy(tx: &dyn Sql, account: &str) -> Result<()> {
    let n = tx.execute(
        "DELETE FROM password_policies WHERE account = ?1",
        params![account],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(Entity::PasswordPolicy));
    }
    Ok(())
}

/// Store the account's report unless the stored one is newer.
pub(super) fn put_credential_report(tx: &dyn Sql, r: &CredentialReport) -> Result<()> {
    tx.execute(
        "INSERT INTO credential_reports (account, generated_at, content) VALUES (?1, ?2, ?3)
         ON CONFLICT (account) DO UPDATE SET generated_at = excluded.generated_at,
            content = excluded.content
         WHERE excluded.generated_at >= credential_reports.generated_at",
        params![r.account, ts(r.generated_at), r.content],
    )?;
    Ok(())
}

pub(crate) fn load_credential_reports(conn: &dyn Sql) -> Result<Vec<CredentialReport>> {
    Ok(conn.query_map(
        "SELECT account, generated_at, content FROM credential_reports",
        params![],
        |r| {
            Ok(CredentialReport {
                account: r.get(0)?,
                generated_at: from_ts(r.get(1)?),
                content: r.get(2)?,
            })
        },
    )?)
}

pub(super) fn load_login_profiles(conn: &dyn Sql) -> Result<Vec<LoginProfile>> {
    Ok(conn.query_map(
        "SELECT user_id, password_hash, created_at, changed_at, reset_required FROM login_profiles",
        params![],
        |r| {
            Ok(LoginProfile {
                user_id: r.get(0)?,
                hash: PasswordHash::from_stored(r.get(1)?),
                created_at: from_ts(r.get(2)?),
                password_changed_at: from_ts(r.get(3)?),
                reset_required: r.get(4)?,
            })
        },
    )?)
}

pub(super) fn load_password_history(conn: &dyn Sql) -> Result<Vec<(String, PasswordHash)>> {
    Ok(conn.query_map(
        "SELECT user_id, password_hash FROM password_history ORDER BY user_id, seq DESC",
        params![],
        |r| Ok((r.get(0)?, PasswordHash::from_stored(r.get(1)?))),
    )?)
}

pub(super) fn load_password_policies(conn: &dyn Sql) -> Result<Vec<(String, PasswordPolicy)>> {
    Ok(conn.query_map(
        "SELECT account, minimum_length, require_symbols, require_numbers, require_uppercase,
            require_lowercase, allow_users_to_change, max_age_days, reuse_prevention, hard_expiry
         FROM password_policies",
        params![],
        |r| {
            Ok((
                r.get(0)?,
                PasswordPolicy {
                    minimum_length: r.get(1)?,
                    require_symbols: r.get(2)?,
                    require_numbers: r.get(3)?,
                    require_uppercase: r.get(4)?,
                    require_lowercase: r.get(5)?,
                    allow_users_to_change: r.get(6)?,
                    max_age_days: r.get(7)?,
                    reuse_prevention: r.get(8)?,
                    hard_expiry: r.get(9)?,
                },
            ))
        },
    )?)
}
