//! AWS's words for what the store reports. The store says which entity was missing, which
//! dependency blocks a delete, which count would pass its quota ([`StoreError`]); handlers map
//! the cases that need the request's names themselves (with the constructors below) and hand the
//! rest to [`store_error`], which words delete conflicts and quotas. Messages are AWS's,
//! byte for byte.

use crate::error::ApiError;
use crate::store::{Conflict, Entity, StoreError};

use super::limits;

pub(crate) fn no_such_user(name: &str) -> ApiError {
    ApiError::no_such_entity(format!("The user with name {name} cannot be found."))
}

pub(crate) fn no_such_group(name: &str) -> ApiError {
    ApiError::no_such_entity(format!("The group with name {name} cannot be found."))
}

pub(crate) fn no_such_role(name: &str) -> ApiError {
    ApiError::no_such_entity(format!("The role with name {name} cannot be found."))
}

/// A service-linked role (or any role only its service may change).
pub(crate) fn protected_role(name: &str) -> ApiError {
    ApiError::unmodifiable_entity(format!(
        "Cannot perform the operation on the protected role '{name}' - this role is only modifiable by AWS"
    ))
}

pub(crate) fn service_role_name_taken(name: &str) -> ApiError {
    ApiError::invalid_input(format!(
        "Service role name {name} has been taken in this account, please try a different suffix."
    ))
}

pub(crate) fn custom_suffix_not_allowed(service: &str) -> ApiError {
    ApiError::invalid_input(format!("Custom suffix is not allowed for {service}"))
}

/// `AWSServiceName` that is no service principal (wording ours).
pub(crate) fn invalid_service_name(service: &str) -> ApiError {
    ApiError::invalid_input(format!(
        "Invalid service name {}: a service principal such as autoscaling.amazonaws.com is expected.",
        crate::protocol::params::sanitize(service)
    ))
}

/// `DeleteServiceLinkedRole` on an ordinary role (wording ours; the code is the one the API
/// reference lists).
pub(crate) fn not_service_linked(name: &str) -> ApiError {
    ApiError::no_such_entity(format!(
        "The role with name {name} is not a service-linked role."
    ))
}

/// An unknown `DeletionTaskId` (wording ours).
pub(crate) fn no_such_deletion_task(id: &str) -> ApiError {
    ApiError::no_such_entity(format!(
        "Deletion task {} cannot be found.",
        crate::protocol::params::sanitize(id)
    ))
}

pub(crate) fn no_such_policy(arn: &str) -> ApiError {
    ApiError::no_such_entity(format!("Policy {arn} was not found."))
}

/// A change to an AWS managed policy (wording ours: AWS's is not documented).
pub(crate) fn aws_managed_policy_unmodifiable(arn: &str) -> ApiError {
    ApiError::unmodifiable_entity(format!("Cannot modify AWS managed policy {arn}."))
}

/// `DeletePolicy` of an AWS managed policy (wording ours).
pub(crate) fn aws_managed_policy_undeletable(arn: &str) -> ApiError {
    ApiError::unmodifiable_entity(format!("Cannot delete AWS managed policy {arn}."))
}

pub(crate) fn no_such_policy_version(arn: &str, version_id: &str) -> ApiError {
    ApiError::no_such_entity(format!("Policy {arn} version {version_id} does not exist."))
}

pub(crate) fn no_such_oidc_provider(arn: &str) -> ApiError {
    ApiError::no_such_entity(format!("OpenIdConnect Provider not found for arn {arn}"))
}

pub(crate) fn no_such_saml_provider(arn: &str) -> ApiError {
    ApiError::no_such_entity(format!("Manifest not found for arn {arn}"))
}

pub(crate) fn account_alias_exists(alias: &str) -> ApiError {
    ApiError::entity_already_exists(format!("The account alias {alias} already exists."))
}

/// `DeleteAccountAlias` of an alias the account does not have (wording ours).
pub(crate) fn no_such_account_alias(alias: &str) -> ApiError {
    ApiError::no_such_entity(format!("The account alias {alias} cannot be found."))
}

pub(crate) fn no_such_instance_profile(name: &str) -> ApiError {
    ApiError::no_such_entity(format!("Instance Profile {name} cannot be found."))
}

pub(crate) fn instance_profile_exists(name: &str) -> ApiError {
    ApiError::entity_already_exists(format!("Instance Profile {name} already exists."))
}

/// `RemoveRoleFromInstanceProfile` for a role the profile does not hold (wording ours: AWS's
/// is not documented).
pub(crate) fn role_not_in_instance_profile(role: &str, profile: &str) -> ApiError {
    ApiError::no_such_entity(format!(
        "The role with name {role} is not in instance profile {profile}."
    ))
}

pub(crate) fn no_such_mfa_device(serial: &str) -> ApiError {
    ApiError::no_such_entity(format!(
        "MFA Device with serial number {serial} does not exist."
    ))
}

/// A store failure in AWS's words: delete conflicts and quotas have fixed messages; anything
/// else a handler did not map is generic (storage failures: `InternalFailure`, the detail in the
/// log only).
pub(crate) fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(c) => match conflict_message(c) {
            Some(m) => ApiError::delete_conflict(m),
            None => e.into(),
        },
        StoreError::LimitExceeded(entity) => match quota(entity) {
            Some((name, n)) => {
                ApiError::limit_exceeded(format!("Cannot exceed quota for {name}: {n}"))
            }
            None if entity == Entity::PolicyVersion => ApiError::limit_exceeded(
                "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.",
            ),
            None => e.into(),
        },
        other => other.into(),
    }
}

/// `DeleteConflict` messages, one per dependency that blocks a delete.
fn conflict_message(c: Conflict) -> Option<&'static str> {
    Some(match c {
        Conflict::UserHasAccessKeys => "Cannot delete entity, must delete access keys first.",
        Conflict::UserHasMfaDevices => "Cannot delete entity, must delete MFA device first.",
        Conflict::UserInGroups => "Cannot delete entity, must remove user from all groups first.",
        Conflict::GroupHasMembers => "Cannot delete entity, must remove users from group first.",
        Conflict::HasInlinePolicies => "Cannot delete entity, must delete policies first.",
        Conflict::HasAttachedPolicies => "Cannot delete entity, must detach all policies first.",
        Conflict::PolicyInUse => "Cannot delete a policy attached to entities.",
        Conflict::PolicyHasVersions => {
            "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy."
        }
        Conflict::DefaultVersion => "Cannot delete the default version of a policy.",
        Conflict::MfaDeviceInUse => "MFA Device is still in use.",
        Conflict::InstanceProfileHasRoles | Conflict::RoleInInstanceProfile => {
            "Cannot delete entity, must remove roles from instance profile first."
        }
        // Not a delete: the MFA check words it (`crate::sts::mfa`).
        Conflict::MfaStepUsed => return None,
        // Not a delete: `UpdateSAMLProvider` words it.
        Conflict::SamlKeyRequired => return None,
        // Not a delete: `AssumeRoleWithSAML` words it.
        Conflict::SamlAssertionUsed => return None,
    })
}

/// The quota (AWS's name and number) a count of `entity` is held to, where that does not depend
/// on the request.
fn quota(entity: Entity) -> Option<(&'static str, usize)> {
    Some(match entity {
        Entity::User => ("UsersPerAccount", limits::USERS_PER_ACCOUNT),
        Entity::Group => ("GroupsPerAccount", limits::GROUPS_PER_ACCOUNT),
        Entity::Policy => ("PoliciesPerAccount", limits::POLICIES_PER_ACCOUNT),
        Entity::AccessKey => ("AccessKeysPerUser", limits::ACCESS_KEYS_PER_USER),
        Entity::Membership => ("GroupsPerUser", limits::GROUPS_PER_USER),
        Entity::MfaDevice => ("MFADevicesPerUser", limits::MFA_DEVICES_PER_USER),
        Entity::OidcProvider => (
            "OpenIdConnectProvidersPerAccount",
            limits::OIDC_PROVIDERS_PER_ACCOUNT,
        ),
        Entity::OidcClientId => ("ClientIdsPerOpenIdConnectProvider", limits::OIDC_CLIENT_IDS),
        Entity::SamlProvider => (
            "SamlProvidersPerAccount",
            limits::SAML_PROVIDERS_PER_ACCOUNT,
        ),
        Entity::SamlPrivateKey => ("PrivateKeysPerSamlProvider", limits::SAML_PRIVATE_KEYS),
        Entity::Role => ("RolesPerAccount", limits::ROLES_PER_ACCOUNT),
        Entity::InstanceProfile => (
            "InstanceProfilesPerAccount",
            limits::INSTANCE_PROFILES_PER_ACCOUNT,
        ),
        Entity::InstanceProfileRole => (
            "InstanceSessionsPerInstanceProfile",
            limits::ROLES_PER_INSTANCE_PROFILE,
        ),
        // Attachments (per owner kind) and inline sizes (per owner) are worded by their
        // handlers; policy versions have a sentence of their own.
        Entity::Attachment
        | Entity::InlinePolicy
        | Entity::PolicyVersion
        | Entity::Account
        | Entity::AccountAlias => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every conflict and quota the store reports, with AWS's code and message.
    #[test]
    fn fixed_messages() {
        let cases: &[(StoreError, &str, &str)] = &[
            (
                StoreError::Conflict(Conflict::UserHasAccessKeys),
                "DeleteConflict",
                "Cannot delete entity, must delete access keys first.",
            ),
            (
                StoreError::Conflict(Conflict::PolicyInUse),
                "DeleteConflict",
                "Cannot delete a policy attached to entities.",
            ),
            (
                StoreError::Conflict(Conflict::MfaDeviceInUse),
                "DeleteConflict",
                "MFA Device is still in use.",
            ),
            (
                StoreError::LimitExceeded(Entity::User),
                "LimitExceeded",
                "Cannot exceed quota for UsersPerAccount: 5000",
            ),
            (
                StoreError::LimitExceeded(Entity::MfaDevice),
                "LimitExceeded",
                "Cannot exceed quota for MFADevicesPerUser: 8",
            ),
            (
                StoreError::Conflict(Conflict::RoleInInstanceProfile),
                "DeleteConflict",
                "Cannot delete entity, must remove roles from instance profile first.",
            ),
            (
                StoreError::LimitExceeded(Entity::InstanceProfile),
                "LimitExceeded",
                "Cannot exceed quota for InstanceProfilesPerAccount: 1000",
            ),
            (
                StoreError::LimitExceeded(Entity::InstanceProfileRole),
                "LimitExceeded",
                "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1",
            ),
            (
                StoreError::LimitExceeded(Entity::PolicyVersion),
                "LimitExceeded",
                "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.",
            ),
        ];
        for (e, code, message) in cases {
            let api = store_error(e.clone());
            assert_eq!(api.to_string(), format!("{code}: {message}"), "{e:?}");
        }
    }

    #[test]
    fn storage_failures_say_nothing_inside() {
        let api = store_error(StoreError::internal("sqlite: database is locked"));
        assert_eq!(api.to_string(), format!("InternalFailure: {}", api.message));
        assert_eq!(api.fault_type(), "Receiver");
        assert!(!api.message.contains("sqlite"));
        assert_eq!(api.detail.as_deref(), Some("sqlite: database is locked"));
    }
}
