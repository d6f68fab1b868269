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

/// AWS-REFERENCE §3 [O].
pub(crate) fn user_exists(name: &str) -> ApiError {
    ApiError::entity_already_exists(format!("User with name {name} already exists."))
}

pub(crate) fn no_such_group(name: &str) -> ApiError {
    ApiError::no_such_entity(format!("The group with name {name} cannot be found."))
}

pub(crate) fn group_exists(name: &str) -> ApiError {
    ApiError::entity_already_exists(format!("Group with name {name} already exists."))
}

/// `RemoveUserFromGroup` for a user the group does not hold (wording ours).
pub(crate) fn user_not_in_group(user: &str, group: &str) -> ApiError {
    ApiError::no_such_entity(format!("User {user} is not in group {group}."))
}

pub(crate) fn no_such_role(name: &str) -> ApiError {
    ApiError::no_such_entity(format!("The role with name {name} cannot be found."))
}

/// AWS-REFERENCE §3 [O].
pub(crate) fn role_exists(name: &str) -> ApiError {
    ApiError::entity_already_exists(format!("Role with name {name} already exists."))
}

/// `Get/Delete{User,Group,Role}Policy` of a name the entity has no inline policy under:
/// `kind` is `user`, `group` or `role` (AWS-REFERENCE §3 [O] for roles).
pub(crate) fn no_such_inline_policy(kind: &str, name: &str) -> ApiError {
    ApiError::no_such_entity(format!(
        "The {kind} policy with name {name} cannot be found."
    ))
}

/// The inline aggregate of one entity over its quota (AWS-REFERENCE §3 [O]).
pub(crate) fn inline_policies_too_large(limit: usize, kind: &str, name: &str) -> ApiError {
    ApiError::limit_exceeded(format!(
        "Maximum policy size of {limit} bytes exceeded for {kind} {name}"
    ))
}

/// An `Attach*Policy` past the managed policies an entity may have: `quota` is
/// `PoliciesPerUser`, `PoliciesPerGroup` or `PoliciesPerRole` (AWS-REFERENCE §3 [O]).
pub(crate) fn attachment_quota(quota: &str) -> ApiError {
    ApiError::limit_exceeded(format!(
        "Cannot exceed quota for {quota}: {}",
        limits::MANAGED_POLICIES_PER_ENTITY
    ))
}

/// Tagging past the 50 tags an entity may have: `quota` is `TagsPerUser`, `TagsPerRole`, ...
pub(crate) fn tag_quota(quota: &str) -> ApiError {
    ApiError::limit_exceeded(format!("Cannot exceed quota for {quota}: 50"))
}

/// AWS-REFERENCE §3 [E] (`InvalidInput`).
pub(crate) fn duplicate_tag_keys() -> ApiError {
    ApiError::invalid_input(
        "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
    )
}

pub(crate) fn reserved_tag_key() -> ApiError {
    ApiError::invalid_input("User-defined tag keys can't start with \"aws:\".")
}

/// A `Marker` this server did not issue.
pub(crate) fn invalid_marker() -> ApiError {
    ApiError::validation("Invalid Marker.")
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

/// `Attach*Policy` (and managed session policies) naming a policy that is not there
/// (AWS-REFERENCE §3 [O]).
pub(crate) fn policy_not_attachable(arn: &str) -> ApiError {
    ApiError::no_such_entity(format!("Policy {arn} does not exist or is not attachable."))
}

/// AWS-REFERENCE §3 [O].
pub(crate) fn policy_exists(name: &str) -> ApiError {
    ApiError::entity_already_exists(format!(
        "A policy called {name} already exists. Duplicate names are not allowed."
    ))
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

pub(crate) fn oidc_provider_exists(url: &str) -> ApiError {
    ApiError::entity_already_exists(format!("Provider with url {url} already exists."))
}

pub(crate) fn no_such_saml_provider(arn: &str) -> ApiError {
    ApiError::no_such_entity(format!("Manifest not found for arn {arn}"))
}

/// Wording ours: AWS's is unverified.
pub(crate) fn saml_provider_exists(name: &str) -> ApiError {
    ApiError::entity_already_exists(format!("SAMLProvider {name} already exists"))
}

/// `UpdateSAMLProvider` removing a private key the provider does not have.
pub(crate) fn no_such_saml_private_key() -> ApiError {
    ApiError::no_such_entity("The specified private key was not found for this provider.")
}

/// `InvalidInput` for SAML metadata that cannot be used. AWS says "Could not parse metadata"
/// (as reported by its users; unverified here); the reason after it is ours, and never quotes
/// the document.
pub(crate) fn saml_invalid_metadata(why: &dyn std::fmt::Display) -> ApiError {
    ApiError::invalid_input(format!("Could not parse metadata: {why}."))
}

/// `AddPrivateKey` material that is no usable key (wording ours).
pub(crate) fn saml_invalid_private_key(why: &dyn std::fmt::Display) -> ApiError {
    ApiError::invalid_input(format!("Invalid private key: {why}."))
}

/// `AssertionEncryptionMode=Required` without a key (wording ours).
pub(crate) fn saml_private_key_required() -> ApiError {
    ApiError::invalid_input(
        "AssertionEncryptionMode Required needs a private key to decrypt assertions with.",
    )
}

pub(crate) fn no_such_access_key(key_id: &str) -> ApiError {
    ApiError::no_such_entity(format!("The Access Key with id {key_id} cannot be found."))
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

/// `GetLoginProfile`, `UpdateLoginProfile`, `DeleteLoginProfile` of a user without a password
/// (AWS's text as recorded against IAM; note the capital `User`).
pub(crate) fn no_such_login_profile(user: &str) -> ApiError {
    ApiError::no_such_entity(format!("Login Profile for User {user} cannot be found."))
}

/// `CreateLoginProfile` for a user that has one (AWS's text as recorded against IAM).
pub(crate) fn login_profile_exists(user: &str) -> ApiError {
    ApiError::entity_already_exists(format!("Login Profile for user {user} already exists."))
}

/// `GetAccountPasswordPolicy` without a policy (AWS's text as recorded against IAM).
pub(crate) fn no_such_password_policy_get(account: &str) -> ApiError {
    ApiError::no_such_entity(format!(
        "The Password Policy with domain name {account} cannot be found."
    ))
}

/// `DeleteAccountPasswordPolicy` without a policy (AWS's text as recorded against IAM: not
/// the same sentence as `GetAccountPasswordPolicy`'s).
pub(crate) fn no_such_password_policy_delete() -> ApiError {
    ApiError::no_such_entity("The account policy with name PasswordPolicy cannot be found.")
}

/// A password the rules refuse (AWS's text, as IAM and CloudFormation report it; which rule
/// failed goes to the log only).
pub(crate) fn password_policy_violation() -> ApiError {
    ApiError::new(
        crate::error::ErrorCode::PasswordPolicyViolation,
        "Password does not conform to the account password policy.",
    )
}

/// A `UserName`-optional action (login profiles, access keys, signing certificates, SSH keys)
/// called without `UserName` by a caller that is neither an IAM user nor the root (AWS's text
/// for such calls, as `GetUser` answers a role session).
pub(crate) fn user_name_required() -> ApiError {
    ApiError::validation("Must specify userName when calling with non-User credentials")
}

/// `GetCredentialReport` before the account ever generated one. AWS's code and status; its
/// text is not documented, this one is ours.
pub(crate) fn report_not_present() -> ApiError {
    ApiError::new(
        crate::error::ErrorCode::ReportNotPresent,
        "No credential report has been generated for this account: call GenerateCredentialReport first.",
    )
}

/// `GetCredentialReport` of a report four hours old or more. AWS's code and status; the text
/// is ours.
pub(crate) fn report_expired() -> ApiError {
    ApiError::new(
        crate::error::ErrorCode::ReportExpired,
        "The credential report is more than four hours old: call GenerateCredentialReport for a new one.",
    )
}

/// `ChangePassword` by anyone but an IAM user (root, role sessions, federated users): AWS's
/// code; its text is not documented, this one is ours.
pub(crate) fn invalid_user_type() -> ApiError {
    ApiError::new(
        crate::error::ErrorCode::InvalidUserType,
        "Only IAM users can change their own password.",
    )
}

/// `ChangePassword` with a wrong `OldPassword`. The API reference documents no code for it;
/// the console reports "not authorized to perform iam:ChangePassword" for refused changes, so
/// tessera answers AWS's `AccessDenied` text (unverified against IAM).
pub(crate) fn wrong_old_password(caller_arn: &str) -> ApiError {
    ApiError::not_authorized(caller_arn, "iam:ChangePassword", caller_arn)
}

/// `ChangePassword` after too many wrong `OldPassword`s (the code is one the API reference
/// lists for `ChangePassword`; the wording is ours).
pub(crate) fn too_many_password_changes() -> ApiError {
    ApiError::limit_exceeded(
        "Too many attempts to change the password with a wrong old password. Try again later.",
    )
}

pub(crate) fn no_such_virtual_mfa_device(serial: &str) -> ApiError {
    ApiError::no_such_entity(format!(
        "VirtualMFADevice with serial number {serial} doesn't exist."
    ))
}

pub(crate) fn mfa_device_exists() -> ApiError {
    ApiError::entity_already_exists("MFADevice entity at the same path and name already exists.")
}

/// `EnableMFADevice` of a device another user holds.
pub(crate) fn mfa_device_in_use() -> ApiError {
    ApiError::entity_already_exists("MFA Device is already in use.")
}

pub(crate) fn invalid_authentication_code() -> ApiError {
    ApiError::invalid_authentication_code("Authentication code for device is not valid.")
}

// --- Inputs of the policy tools, providers and service-linked roles (wording ours: AWS's
// texts for these are not documented) ---------------------------------------------------------

pub(crate) fn invalid_oidc_url() -> ApiError {
    ApiError::invalid_input("Invalid Open ID Connect Provider URL")
}

pub(crate) fn invalid_thumbprint(raw: &str) -> ApiError {
    ApiError::invalid_input(format!(
        "Thumbprint {} is not a 40-character hexadecimal string.",
        crate::protocol::params::sanitize(raw)
    ))
}

pub(crate) fn too_many_thumbprints() -> ApiError {
    ApiError::invalid_input(format!(
        "Thumbprint list must contain fewer than {} entries.",
        limits::OIDC_THUMBPRINTS
    ))
}

/// `CreateServiceLinkedRole` whose suffix makes the role name too long.
pub(crate) fn service_role_name_too_long(name: &str) -> ApiError {
    ApiError::invalid_input(format!(
        "The role name {name} would be longer than 64 characters: use a shorter custom suffix."
    ))
}

/// `ListPoliciesGrantingServiceAccess` given another kind of ARN.
pub(crate) fn not_a_principal_arn(arn: &str) -> ApiError {
    ApiError::invalid_input(format!(
        "ARN {} is not the ARN of a user, group or role.",
        crate::protocol::params::sanitize(arn)
    ))
}

/// `Simulate*Policy`: a context entry without its name or type (`what` is `ContextKeyName` or
/// `ContextKeyType`).
pub(crate) fn simulation_entry_incomplete(param: &str, what: &str) -> ApiError {
    ApiError::invalid_input(format!("{param}.{what} is required."))
}

pub(crate) fn simulation_entry_invalid(name: &str, param: &str, why: &str) -> ApiError {
    ApiError::invalid_input(format!(
        "Invalid context entry `{}` ({param}): {why}.",
        crate::protocol::params::sanitize(name)
    ))
}

pub(crate) fn simulation_entry_repeated(name: &str) -> ApiError {
    ApiError::invalid_input(format!(
        "Context key `{}` is given more than once (keys are case-insensitive).",
        crate::protocol::params::sanitize(name)
    ))
}

pub(crate) fn simulation_one_boundary() -> ApiError {
    ApiError::invalid_input(
        "PermissionsBoundaryPolicyInputList can contain only one permissions boundary policy.",
    )
}

pub(crate) fn simulation_bad_resource_owner(owner: &str) -> ApiError {
    ApiError::invalid_input(format!(
        "ResourceOwner `{}` must be an account ARN such as arn:aws:iam::123456789012:root.",
        crate::protocol::params::sanitize(owner)
    ))
}

pub(crate) fn simulation_caller_not_user(arn: &str) -> ApiError {
    ApiError::invalid_input(format!(
        "CallerArn `{}` is not an IAM user ARN: only users can be simulated callers.",
        crate::protocol::params::sanitize(arn)
    ))
}

pub(crate) fn simulation_bad_marker() -> ApiError {
    ApiError::invalid_input("Marker is not valid for this simulation.")
}

/// A resource policy needs a caller: `source_not_user` when `PolicySourceArn` names no user.
pub(crate) fn simulation_caller_required(source_not_user: bool) -> ApiError {
    ApiError::invalid_input(if source_not_user {
        "CallerArn is required when a ResourcePolicy is given and PolicySourceArn is not a user."
    } else {
        "CallerArn is required when a ResourcePolicy is given."
    })
}

pub(crate) fn simulation_bad_source(arn: &str) -> ApiError {
    ApiError::invalid_input(format!(
        "PolicySourceArn `{}` must be the ARN of a user, group or role.",
        crate::protocol::params::sanitize(arn)
    ))
}

pub(crate) fn simulation_no_such_source(arn: &str) -> ApiError {
    ApiError::no_such_entity(format!(
        "Entity {} cannot be found.",
        crate::protocol::params::sanitize(arn)
    ))
}

// --- STS (`Version=2011-06-15`): the same table, so each text lives in one place -------------

/// A web identity or SAML caller refused by the trust policy: AWS names no reason and no caller
/// (AWS-REFERENCE §3 [O]). `action` is `sts:AssumeRoleWithWebIdentity` / `...WithSAML`.
pub(crate) fn sts_not_authorized(action: &str) -> ApiError {
    ApiError::access_denied(format!("Not authorized to perform {action}"))
}

/// `GetSessionToken` / `GetFederationToken` called with session credentials (AWS-REFERENCE §3
/// [O] for `GetSessionToken`).
pub(crate) fn sts_session_credentials_refused(action: &str) -> ApiError {
    ApiError::access_denied(format!("Cannot call {action} with session credentials"))
}

/// AWS-REFERENCE §3 [O].
pub(crate) fn sts_root_cannot_assume() -> ApiError {
    ApiError::access_denied("Roles may not be assumed by root accounts.")
}

/// A wrong or reused MFA code (AWS-REFERENCE §3 [O]; AWS's text ends in a space that clients
/// trim, so the trimmed text is sent).
pub(crate) fn sts_mfa_invalid_code() -> ApiError {
    ApiError::access_denied("MultiFactorAuthentication failed with invalid MFA one time pass code.")
}

/// An MFA serial not enabled for the caller (AWS-REFERENCE §3 [O], two spaces included).
pub(crate) fn sts_mfa_unknown_device() -> ApiError {
    ApiError::access_denied(
        "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user.",
    )
}

/// AWS-REFERENCE §3 [O].
pub(crate) fn sts_duration_over_chaining_limit() -> ApiError {
    ApiError::validation(
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    )
}

/// AWS-REFERENCE §3 [O].
pub(crate) fn sts_duration_over_role_max() -> ApiError {
    ApiError::validation(
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    )
}

/// A duration that no session can have (wording ours).
pub(crate) fn sts_duration_out_of_range() -> ApiError {
    ApiError::validation("DurationSeconds is out of range.")
}

/// Session tags: AWS-REFERENCE §3 [E] (`InvalidParameterValue`, not IAM's `InvalidInput`).
pub(crate) fn sts_duplicate_tag_keys() -> ApiError {
    ApiError::invalid_parameter_value(
        "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
    )
}

/// A session tag under the reserved `aws:` prefix (wording ours).
pub(crate) fn sts_reserved_tag_key() -> ApiError {
    ApiError::invalid_parameter_value("Tag keys must not begin with the reserved prefix `aws:`.")
}

/// AWS-REFERENCE §3 [E][M doc].
pub(crate) fn sts_transitive_key_not_requested() -> ApiError {
    ApiError::invalid_parameter_value(
        "The specified transitive tag key must be included in the requested tags.",
    )
}

/// AWS-REFERENCE §3 [E][M doc].
pub(crate) fn sts_transitive_key_conflict() -> ApiError {
    ApiError::invalid_parameter_value(
        "One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session.",
    )
}

/// A `SourceIdentity` other than the calling session's (wording ours).
pub(crate) fn sts_source_identity_mismatch() -> ApiError {
    ApiError::invalid_parameter_value(
        "The source identity specified in the request does not match the source identity of the calling session.",
    )
}

/// A `SourceIdentity` under the reserved `aws:` prefix (wording ours).
pub(crate) fn sts_reserved_source_identity() -> ApiError {
    ApiError::invalid_parameter_value(
        "SourceIdentity must not begin with the reserved prefix `aws:`.",
    )
}

/// `PolicyArns` naming a policy the role's account cannot use (IAM's text, AWS-REFERENCE §3).
pub(crate) fn sts_session_policy_not_attachable(arn: &str) -> ApiError {
    ApiError::malformed_policy(format!("Policy {arn} does not exist or is not attachable."))
}

/// `ProviderId` with an OpenID Connect token (wording ours).
pub(crate) fn sts_provider_id_unsupported() -> ApiError {
    ApiError::invalid_parameter_value(
        "ProviderId is only for OAuth 2.0 access tokens of www.amazon.com and graph.facebook.com, which this service does not accept; omit it for OpenID Connect ID tokens.",
    )
}

/// `GetAccessKeyInfo` of an id that carries no account (wording ours).
pub(crate) fn sts_invalid_access_key_id() -> ApiError {
    ApiError::invalid_parameter_value("The specified access key ID is not valid.")
}

/// `DecodeAuthorizationMessage` of a message not sealed for the caller (wording ours).
pub(crate) fn sts_invalid_authorization_message() -> ApiError {
    ApiError::new(
        crate::error::ErrorCode::InvalidAuthorizationMessageException,
        "The encoded authorization message is invalid.",
    )
}

pub(crate) fn no_such_server_certificate(name: &str) -> ApiError {
    ApiError::no_such_entity(format!(
        "The Server Certificate with name {name} cannot be found."
    ))
}

pub(crate) fn server_certificate_exists(name: &str) -> ApiError {
    ApiError::entity_already_exists(format!(
        "The Server Certificate with name {name} already exists."
    ))
}

/// An unknown (or another owner's) signing certificate id (wording ours).
pub(crate) fn no_such_signing_certificate(id: &str) -> ApiError {
    ApiError::no_such_entity(format!("The Certificate with id {id} cannot be found."))
}

/// An unknown (or another user's) SSH public key id (wording ours).
pub(crate) fn no_such_ssh_public_key(id: &str) -> ApiError {
    ApiError::no_such_entity(format!("The Public Key with id {id} cannot be found."))
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
        Conflict::UserHasLoginProfile => "Cannot delete entity, must delete login profile first.",
        Conflict::UserHasAccessKeys => "Cannot delete entity, must delete access keys first.",
        Conflict::UserHasMfaDevices => "Cannot delete entity, must delete MFA device first.",
        Conflict::UserHasSigningCertificates => {
            "Cannot delete entity, must delete signing certificates first."
        }
        Conflict::UserHasSshPublicKeys => {
            "Cannot delete entity, must delete SSH public keys first."
        }
        // DeleteUser of a member says the same as DeleteGroup of a non-empty group (observed:
        // https://github.com/mozilla-services/userplex/issues/17).
        Conflict::UserInGroups => "Cannot delete entity, must remove users from group first.",
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
        // The quota names of `GetAccountSummary` without its `Quota` suffix (AWS's message for
        // these three is not documented).
        Entity::SigningCertificate => (
            "SigningCertificatesPerUser",
            limits::SIGNING_CERTIFICATES_PER_USER,
        ),
        Entity::SshPublicKey => ("SSHPublicKeysPerUser", limits::SSH_PUBLIC_KEYS_PER_USER),
        Entity::ServerCertificate => (
            "ServerCertificatesPerAccount",
            limits::SERVER_CERTIFICATES_PER_ACCOUNT,
        ),
        // Attachments (per owner kind) and inline sizes (per owner) are worded by their
        // handlers; policy versions have a sentence of their own.
        Entity::Attachment
        | Entity::InlinePolicy
        | Entity::PolicyVersion
        | Entity::Account
        | Entity::AccountAlias
        | Entity::LoginProfile
        | Entity::PasswordPolicy => return None,
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
                StoreError::Conflict(Conflict::UserInGroups),
                "DeleteConflict",
                "Cannot delete entity, must remove users from group first.",
            ),
            (
                StoreError::Conflict(Conflict::GroupHasMembers),
                "DeleteConflict",
                "Cannot delete entity, must remove users from group first.",
            ),
            (
                StoreError::Conflict(Conflict::UserHasMfaDevices),
                "DeleteConflict",
                "Cannot delete entity, must delete MFA device first.",
            ),
            (
                StoreError::Conflict(Conflict::HasInlinePolicies),
                "DeleteConflict",
                "Cannot delete entity, must delete policies first.",
            ),
            (
                StoreError::Conflict(Conflict::HasAttachedPolicies),
                "DeleteConflict",
                "Cannot delete entity, must detach all policies first.",
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

    /// Every text handlers build with the request's names, with AWS's code and status. Rows
    /// marked [O]/[E] are AWS-REFERENCE §3's texts; the rest are ours where AWS's is unknown.
    #[test]
    fn handler_messages() {
        let cases: Vec<(ApiError, &str, u16, &str)> = vec![
            (
                no_such_user("u"),
                "NoSuchEntity",
                404,
                "The user with name u cannot be found.",
            ),
            (
                no_such_role("r"),
                "NoSuchEntity",
                404,
                "The role with name r cannot be found.",
            ),
            (
                no_such_group("g"),
                "NoSuchEntity",
                404,
                "The group with name g cannot be found.",
            ),
            (
                user_exists("u"),
                "EntityAlreadyExists",
                409,
                "User with name u already exists.",
            ),
            (
                role_exists("r"),
                "EntityAlreadyExists",
                409,
                "Role with name r already exists.",
            ),
            (
                group_exists("g"),
                "EntityAlreadyExists",
                409,
                "Group with name g already exists.",
            ),
            (
                policy_exists("p"),
                "EntityAlreadyExists",
                409,
                "A policy called p already exists. Duplicate names are not allowed.",
            ),
            (
                no_such_inline_policy("role", "p"),
                "NoSuchEntity",
                404,
                "The role policy with name p cannot be found.",
            ),
            (
                no_such_policy("arn:aws:iam::1:policy/p"),
                "NoSuchEntity",
                404,
                "Policy arn:aws:iam::1:policy/p was not found.",
            ),
            (
                policy_not_attachable("arn:aws:iam::1:policy/p"),
                "NoSuchEntity",
                404,
                "Policy arn:aws:iam::1:policy/p does not exist or is not attachable.",
            ),
            (
                inline_policies_too_large(10240, "role", "r"),
                "LimitExceeded",
                409,
                "Maximum policy size of 10240 bytes exceeded for role r",
            ),
            (
                attachment_quota("PoliciesPerRole"),
                "LimitExceeded",
                409,
                "Cannot exceed quota for PoliciesPerRole: 10",
            ),
            (
                tag_quota("TagsPerUser"),
                "LimitExceeded",
                409,
                "Cannot exceed quota for TagsPerUser: 50",
            ),
            (
                duplicate_tag_keys(),
                "InvalidInput",
                400,
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ),
            (invalid_marker(), "ValidationError", 400, "Invalid Marker."),
            (
                no_such_access_key("AKIAX"),
                "NoSuchEntity",
                404,
                "The Access Key with id AKIAX cannot be found.",
            ),
            (
                no_such_instance_profile("ip"),
                "NoSuchEntity",
                404,
                "Instance Profile ip cannot be found.",
            ),
            (
                sts_session_credentials_refused("GetSessionToken"),
                "AccessDenied",
                403,
                "Cannot call GetSessionToken with session credentials",
            ),
            (
                sts_not_authorized("sts:AssumeRoleWithWebIdentity"),
                "AccessDenied",
                403,
                "Not authorized to perform sts:AssumeRoleWithWebIdentity",
            ),
            (
                sts_root_cannot_assume(),
                "AccessDenied",
                403,
                "Roles may not be assumed by root accounts.",
            ),
            (
                sts_mfa_invalid_code(),
                "AccessDenied",
                403,
                "MultiFactorAuthentication failed with invalid MFA one time pass code.",
            ),
            (
                sts_mfa_unknown_device(),
                "AccessDenied",
                403,
                "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user.",
            ),
            (
                sts_duration_over_role_max(),
                "ValidationError",
                400,
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            ),
            (
                sts_duration_over_chaining_limit(),
                "ValidationError",
                400,
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
            ),
            (
                sts_duplicate_tag_keys(),
                "InvalidParameterValue",
                400,
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ),
            (
                sts_transitive_key_not_requested(),
                "InvalidParameterValue",
                400,
                "The specified transitive tag key must be included in the requested tags.",
            ),
            (
                sts_transitive_key_conflict(),
                "InvalidParameterValue",
                400,
                "One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session.",
            ),
            (
                sts_session_policy_not_attachable("arn:aws:iam::1:policy/p"),
                "MalformedPolicyDocument",
                400,
                "Policy arn:aws:iam::1:policy/p does not exist or is not attachable.",
            ),
        ];
        for (e, code, status, message) in cases {
            assert_eq!(
                (e.code.as_str(), e.status(), e.message.as_str()),
                (code, status, message)
            );
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
