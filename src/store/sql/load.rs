//! Reading every table at once.

use super::{
    Sql, SqlResult, certificates, console, identity, params, policies, profiles, providers,
    tag_rows,
};
use crate::store::backend::{
    InlinePolicyRow, ManagedPolicyRow, RoleRow, SealedAccessKey, SealedMfaDevice, Tables,
};
use crate::store::change::OwnerId;
use crate::store::error::StoreError;
use crate::store::key_usage::KeyUse;
use crate::store::model::{Account, Group, User, from_ts};
use crate::store::policies::PolicyVersionRec;

// --- reading everything ----------------------------------------------------------------------

/// The tables the snapshot is built from, each read by [`load_table`].
pub(crate) const SNAPSHOT_TABLES: &[&str] = &[
    "accounts",
    "users",
    "groups",
    "group_members",
    "access_keys",
    "mfa_devices",
    "policy_versions",
    "managed_policies",
    "inline_policies",
    "attachments",
    "roles",
    "user_tags",
    "mfa_device_tags",
    "oidc_providers",
    "oidc_provider_tags",
    "saml_providers",
    "saml_provider_tags",
    "saml_private_keys",
    "role_deletion_tasks",
    "policy_tags",
    "role_tags",
    "instance_profiles",
    "instance_profile_roles",
    "instance_profile_tags",
    "login_profiles",
    "password_history",
    "password_policies",
    "signing_certificates",
    "ssh_public_keys",
    "server_certificates",
    "server_certificate_tags",
];

/// Every table of the snapshot.
pub(crate) fn load(conn: &dyn Sql) -> Result<Tables, StoreError> {
    let mut t = Tables::default();
    for name in SNAPSHOT_TABLES {
        load_table(conn, name, &mut t)?;
    }
    Ok(t)
}

/// Read the table `name` again into its place in `t` (a table the snapshot is not built from
/// is left alone).
pub(crate) fn load_table(conn: &dyn Sql, name: &str, t: &mut Tables) -> Result<(), StoreError> {
    fn all<T>(
        conn: &dyn Sql,
        sql: &str,
        row: impl FnMut(&super::Row) -> SqlResult<T>,
    ) -> Result<Vec<T>, StoreError> {
        Ok(conn.query_map(sql, params![], row)?)
    }
    match name {
        "accounts" => {
            t.accounts = all(conn, "SELECT id, alias, created_at FROM accounts", |r| {
                Ok(Account {
                    id: r.get(0)?,
                    alias: r.get(1)?,
                    created_at: from_ts(r.get(2)?),
                })
            })?
        }
        "users" => {
            t.users = all(
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
            )?
        }
        "groups" => {
            t.groups = all(
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
            )?
        }
        "group_members" => {
            t.group_members = all(
                conn,
                "SELECT group_id, user_id FROM group_members ORDER BY rowid",
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
        }
        "access_keys" => {
            t.access_keys = all(
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
            )?
        }
        "mfa_devices" => {
            t.mfa_devices = all(
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
            )?
        }
        "policy_versions" => {
            t.policies.policy_versions = all(
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
            )?
        }
        "managed_policies" => {
            t.policies.managed_policies = all(
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
            )?
        }
        "inline_policies" => {
            t.policies.inline_policies = all(
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
            .collect()
        }
        "attachments" => {
            t.policies.attachments = all(
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
            .collect()
        }
        "roles" => {
            t.policies.roles = all(
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
            )?
        }
        "user_tags" => t.user_tags = identity::load_tags(conn, identity::TagTable::User)?,
        "mfa_device_tags" => {
            t.mfa_device_tags = identity::load_tags(conn, identity::TagTable::MfaDevice)?
        }
        "oidc_providers" => t.oidc_providers = providers::load_oidc(conn)?,
        "oidc_provider_tags" => {
            t.oidc_provider_tags = identity::load_tags(conn, identity::TagTable::OidcProvider)?
        }
        "saml_providers" => t.saml_providers = providers::load_saml(conn)?,
        "saml_provider_tags" => {
            t.saml_provider_tags = identity::load_tags(conn, identity::TagTable::SamlProvider)?
        }
        "saml_private_keys" => t.saml_private_keys = providers::load_saml_keys(conn)?,
        "role_deletion_tasks" => t.role_deletion_tasks = policies::load_deletion_tasks(conn)?,
        "policy_tags" => {
            t.policies.policy_tags = tag_rows(
                conn,
                "SELECT policy_arn, key, value FROM policy_tags ORDER BY rowid",
            )?
        }
        "role_tags" => t.policies.role_tags = identity::load_tags(conn, identity::TagTable::Role)?,
        "instance_profiles" => t.instance_profiles = profiles::load(conn)?,
        "instance_profile_roles" => t.instance_profile_roles = profiles::load_roles(conn)?,
        "instance_profile_tags" => {
            t.instance_profile_tags =
                identity::load_tags(conn, identity::TagTable::InstanceProfile)?
        }
        "login_profiles" => t.login_profiles = console::load_login_profiles(conn)?,
        "password_history" => t.password_history = console::load_password_history(conn)?,
        "password_policies" => t.password_policies = console::load_password_policies(conn)?,
        "signing_certificates" => t.signing_certificates = certificates::load_signing(conn)?,
        "ssh_public_keys" => t.ssh_public_keys = certificates::load_ssh(conn)?,
        "server_certificates" => t.server_certificates = certificates::load_server(conn)?,
        "server_certificate_tags" => {
            t.server_certificate_tags =
                identity::load_tags(conn, identity::TagTable::ServerCertificate)?
        }
        _ => {}
    }
    Ok(())
}
