//! One [`Change`] as SQL.

use super::{Sql, certificates, console, identity, policies, profiles, providers};
use crate::credentials::Keyring;
use crate::store::change::{Applied, Change};
use crate::store::error::StoreError;

/// Apply one change inside `tx`.
pub(crate) fn apply(
    tx: &dyn Sql,
    keyring: &Keyring,
    change: &Change,
) -> Result<Applied, StoreError> {
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
                        crate::store::error::Entity::OidcClientId,
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
