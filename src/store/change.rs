//! Every change the store can make, as data: handlers build [`Change`]s and
//! [`Store::apply`](super::Store::apply) runs them in one transaction, all or nothing.
//!
//! What must hold when the change commits (the entity still exists, the name is free, the user
//! is under its quota) is checked by the backend inside that transaction: a handler's snapshot
//! may be a moment old. Limits are parameters (`max_*`): the numbers are AWS's quotas, owned by
//! the IAM layer; the store only counts.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::backend::RoleDeletionTask;
use super::model::{Group, OidcProvider, SamlMetadata, SamlPrivateKey, SamlProvider, Tags, User};
use super::model::{
    InstanceProfile, PasswordPolicy, Role, ServerCertificate, SigningCertificate, SshPublicKey,
};
use super::policies::Owner;
use crate::credentials::password::PasswordHash;
use crate::credentials::{Keyring, Secret};

/// One change to the identity store.
#[derive(Debug, Clone)]
pub enum Change {
    /// A new account. `AlreadyExists(Account)`, or `AlreadyExists(AccountAlias)` when another
    /// account has the alias.
    CreateAccount {
        id: String,
        alias: Option<String>,
        created_at: DateTime<Utc>,
    },
    /// Give the account the alias, replacing any it had. `AlreadyExists(AccountAlias)` when an
    /// account (this one included) already has it; `NotFound(Account)`.
    CreateAccountAlias {
        account: String,
        alias: String,
    },
    /// Remove the account's alias. `NotFound(AccountAlias)` unless it is `alias`.
    DeleteAccountAlias {
        account: String,
        alias: String,
    },
    /// A long-term key for a user or (`user_id` None) the account's root, its secret sealed at
    /// rest. `LimitExceeded(AccessKey)` when the owner has `max_per_owner` keys already; `None`:
    /// not counted (a root key the operator chose).
    CreateAccessKey {
        id: String,
        account: String,
        user_id: Option<String>,
        secret: Secret,
        created_at: DateTime<Utc>,
        max_per_owner: Option<usize>,
    },
    /// Activate or deactivate a key of exactly this owner (`NotFound(AccessKey)` otherwise).
    UpdateAccessKey {
        account: String,
        user_id: Option<String>,
        key_id: String,
        active: bool,
    },
    /// Delete a key of exactly this owner (`NotFound(AccessKey)` otherwise).
    DeleteAccessKey {
        account: String,
        user_id: Option<String>,
        key_id: String,
    },
    /// `LimitExceeded(User)` at `max_per_account` users; `AlreadyExists(User)` when the name
    /// (case-insensitively) is taken.
    CreateUser {
        user: User,
        max_per_account: usize,
    },
    /// Delete a user by name once nothing depends on it: `NotFound(User)`, or a `Conflict`
    /// naming the first dependency found (keys, MFA devices, groups, inline, attached policies).
    DeleteUser {
        account: String,
        name: String,
    },
    /// Set tags on the named user: an existing key (any case) gets the new spelling and value.
    TagUser {
        account: String,
        name: String,
        tags: Tags,
    },
    UntagUser {
        account: String,
        name: String,
        keys: Vec<String>,
    },
    SetUserBoundary {
        user_id: String,
        boundary: Option<String>,
    },
    /// Rename and/or move the user `name` (what is `Some`). Everything else it has is keyed by
    /// its id and follows. `NotFound(User)`; `AlreadyExists(User)` when `new_name` is another
    /// user's (case-insensitively).
    UpdateUser {
        account: String,
        name: String,
        new_name: Option<String>,
        new_path: Option<String>,
    },
    /// As [`Change::UpdateUser`], for a group. `NotFound(Group)`, `AlreadyExists(Group)`.
    UpdateGroup {
        account: String,
        name: String,
        new_name: Option<String>,
        new_path: Option<String>,
    },
    /// A console password for the user. `NotFound(User)`; `AlreadyExists(LoginProfile)`.
    /// The hash joins the user's password history, which keeps the newest `keep_history`.
    CreateLoginProfile {
        user_id: String,
        hash: PasswordHash,
        created_at: DateTime<Utc>,
        reset_required: bool,
        keep_history: usize,
    },
    /// Change what is `Some` of the user's console password (a new hash joins the history, and
    /// `changed_at` becomes its last change). `NotFound(LoginProfile)`.
    UpdateLoginProfile {
        user_id: String,
        hash: Option<PasswordHash>,
        reset_required: Option<bool>,
        changed_at: DateTime<Utc>,
        keep_history: usize,
    },
    /// `NotFound(LoginProfile)`. The password history stays with the user.
    DeleteLoginProfile {
        user_id: String,
    },
    /// Create or replace the account's password policy.
    SetPasswordPolicy {
        account: String,
        policy: PasswordPolicy,
    },
    /// `NotFound(PasswordPolicy)`.
    DeletePasswordPolicy {
        account: String,
    },
    /// `LimitExceeded(Group)` at `max_per_account` groups; `AlreadyExists(Group)`.
    CreateGroup {
        group: Group,
        max_per_account: usize,
    },
    /// `NotFound(Group)`, or a `Conflict` (members, inline, attached policies).
    DeleteGroup {
        account: String,
        name: String,
    },
    /// Adding a member twice succeeds. `NotFound(Group)`, `NotFound(User)`, or
    /// `LimitExceeded(Membership)` when the user is in `max_groups_per_user` groups.
    AddUserToGroup {
        account: String,
        group: String,
        user: String,
        max_groups_per_user: usize,
    },
    /// `NotFound(Group)`, `NotFound(User)`, or `NotFound(Membership)`.
    RemoveUserFromGroup {
        account: String,
        group: String,
        user: String,
    },
    /// An unassigned virtual MFA device, its seed sealed at rest. `AlreadyExists(MfaDevice)`.
    CreateVirtualMfa {
        serial: String,
        account: String,
        name: String,
        path: String,
        seed: Secret,
        created_at: DateTime<Utc>,
        tags: Tags,
    },
    /// Bind an unassigned device of `account` to a user; `step` (the last code's TOTP step) is
    /// burned. `NotFound(MfaDevice)`, `Conflict(MfaDeviceInUse)`, or `LimitExceeded(MfaDevice)`
    /// when the user has `max_per_user` devices.
    EnableMfa {
        account: String,
        user_id: String,
        serial: String,
        step: u64,
        enabled_at: DateTime<Utc>,
        max_per_user: usize,
    },
    /// Unbind the device from this user. `NotFound(MfaDevice)`.
    DeactivateMfa {
        user_id: String,
        serial: String,
    },
    /// `NotFound(MfaDevice)`, or `Conflict(MfaDeviceInUse)` while it is assigned.
    DeleteVirtualMfa {
        account: String,
        serial: String,
    },
    /// As [`Change::TagUser`], for a virtual MFA device of `account`. `NotFound(MfaDevice)`.
    TagMfaDevice {
        account: String,
        serial: String,
        tags: Tags,
    },
    UntagMfaDevice {
        account: String,
        serial: String,
        keys: Vec<String>,
    },
    /// `ResyncMFADevice`: the device enabled for this user now runs `drift_steps` ahead of our
    /// clock, and `step` (its last code's) is burned, unless a later step already was.
    /// `NotFound(MfaDevice)` when the device is not enabled for the user.
    ResyncMfa {
        account: String,
        user_id: String,
        serial: String,
        step: u64,
        drift_steps: i64,
    },
    /// Record the last use of each key (key id, use): a use older than the stored one is
    /// ignored, a key that no longer exists too. Not in the snapshot.
    RecordKeyUse {
        uses: Vec<(String, super::key_usage::KeyUse)>,
    },
    /// Replace the account's credential report with `report`, unless the stored one is newer
    /// (two generations racing: the later one stays). Not in the snapshot.
    PutCredentialReport {
        report: Arc<super::model::CredentialReport>,
    },
    /// Accept TOTP step `step` of the device enabled for this principal (`user_id` None: the
    /// root): only if it is after the last accepted step, decided by one conditional update so
    /// that a code is used once however many writers race. `Conflict(MfaStepUsed)` otherwise.
    UseMfaStep {
        account: String,
        user_id: Option<String>,
        serial: String,
        step: u64,
    },
    /// A managed policy with its document as version v1. `LimitExceeded(Policy)` at
    /// `max_per_account`; `AlreadyExists(Policy)`.
    CreatePolicy {
        policy: NewPolicy,
        max_per_account: usize,
    },
    /// Add version v<next>; applied as [`Applied::PolicyVersion`]. `NotFound(Policy)`, or
    /// `LimitExceeded(PolicyVersion)` at `max_versions`.
    CreatePolicyVersion {
        arn: String,
        document: String,
        set_default: bool,
        created_at: DateTime<Utc>,
        max_versions: usize,
    },
    /// `NotFound(Policy)` or `NotFound(PolicyVersion)`.
    SetDefaultPolicyVersion {
        arn: String,
        version_id: String,
        updated_at: DateTime<Utc>,
    },
    /// `NotFound(Policy)`, `Conflict(DefaultVersion)`, or `NotFound(PolicyVersion)`.
    DeletePolicyVersion {
        arn: String,
        version_id: String,
    },
    /// `NotFound(Policy)`, `Conflict(PolicyInUse)` or `Conflict(PolicyHasVersions)`.
    DeletePolicy {
        arn: String,
    },
    /// As [`Change::TagUser`], for a managed policy. `NotFound(Policy)`.
    TagPolicy {
        arn: String,
        tags: Tags,
    },
    UntagPolicy {
        arn: String,
        keys: Vec<String>,
    },
    /// Attaching twice succeeds. `NotFound(Policy)`, or `LimitExceeded(Attachment)` when the
    /// owner has `max_per_owner` policies attached.
    AttachPolicy {
        owner: OwnerId,
        arn: String,
        max_per_owner: usize,
    },
    /// `NotFound(Attachment)`.
    DetachPolicy {
        owner: OwnerId,
        arn: String,
    },
    /// Create or replace an inline policy. `LimitExceeded(InlinePolicy)` when the owner's
    /// documents would add up to more than `max_total_size` (as `policy_size` counts).
    PutInlinePolicy {
        owner: OwnerId,
        name: String,
        document: String,
        max_total_size: usize,
    },
    /// `NotFound(InlinePolicy)`.
    DeleteInlinePolicy {
        owner: OwnerId,
        name: String,
    },
    /// `AlreadyExists(Role)`, or `LimitExceeded(Role)` at `max_per_account` roles.
    /// `trust_bindings`: the trust policy's principal ARNs bound to unique ids (JSON), saved
    /// beside it.
    CreateRole {
        role: Role,
        trust_bindings: String,
        max_per_account: usize,
    },
    /// Change what is `Some`.
    UpdateRole {
        role_id: String,
        description: Option<String>,
        max_session: Option<i64>,
    },
    SetTrustPolicy {
        role_id: String,
        document: String,
        trust_bindings: String,
    },
    SetRoleBoundary {
        role_id: String,
        boundary: Option<String>,
    },
    /// `NotFound(Role)`, or a `Conflict` (inline, attached policies, instance profiles).
    DeleteRole {
        account: String,
        name: String,
    },
    /// Delete a service-linked role as its service would, and record `task` (its status is
    /// what `GetServiceLinkedRoleDeletionStatus` reports). As [`Change::DeleteRole`] otherwise.
    DeleteServiceLinkedRole {
        account: String,
        name: String,
        task: RoleDeletionTask,
    },
    TagRole {
        role_id: String,
        tags: Tags,
    },
    UntagRole {
        role_id: String,
        keys: Vec<String>,
    },
    /// `AlreadyExists(InstanceProfile)` when the name (case-insensitively) is taken;
    /// `LimitExceeded(InstanceProfile)` at `max_per_account` profiles.
    CreateInstanceProfile {
        profile: InstanceProfile,
        max_per_account: usize,
    },
    /// `NotFound(InstanceProfile)`, or `Conflict(InstanceProfileHasRoles)`.
    DeleteInstanceProfile {
        account: String,
        name: String,
    },
    /// Put the role `role` in the profile `profile` (both by name). `NotFound(InstanceProfile)`,
    /// `NotFound(Role)`, or `LimitExceeded(InstanceProfileRole)` when the profile already holds
    /// `max_roles` roles (this one included).
    AddRoleToInstanceProfile {
        account: String,
        profile: String,
        role: String,
        max_roles: usize,
    },
    /// `NotFound(InstanceProfile)`, `NotFound(Role)`, or `NotFound(InstanceProfileRole)` when
    /// the role is not in the profile.
    RemoveRoleFromInstanceProfile {
        account: String,
        profile: String,
        role: String,
    },
    /// As [`Change::TagUser`], for an instance profile. `NotFound(InstanceProfile)`.
    TagInstanceProfile {
        account: String,
        name: String,
        tags: Tags,
    },
    UntagInstanceProfile {
        account: String,
        name: String,
        keys: Vec<String>,
    },
    /// `AlreadyExists(OidcProvider)` for a second provider of the same URL in the account;
    /// `LimitExceeded(OidcProvider)` at `max_per_account`.
    CreateOidcProvider {
        provider: OidcProvider,
        max_per_account: usize,
    },
    /// `NotFound(OidcProvider)`.
    DeleteOidcProvider {
        account: String,
        url: String,
    },
    /// Adding a client id twice succeeds. `NotFound(OidcProvider)`, or
    /// `LimitExceeded(OidcClientId)` at `max_client_ids`.
    AddOidcClientId {
        account: String,
        url: String,
        client_id: String,
        max_client_ids: usize,
    },
    /// Removing an absent client id succeeds. `NotFound(OidcProvider)`.
    RemoveOidcClientId {
        account: String,
        url: String,
        client_id: String,
    },
    /// Replace the thumbprint list. `NotFound(OidcProvider)`.
    SetOidcThumbprints {
        account: String,
        url: String,
        thumbprints: Vec<String>,
    },
    /// As [`Change::TagUser`], for a provider. `NotFound(OidcProvider)`.
    TagOidcProvider {
        account: String,
        url: String,
        tags: Tags,
    },
    UntagOidcProvider {
        account: String,
        url: String,
        keys: Vec<String>,
    },
    /// A SAML provider; its private keys are sealed at rest. `AlreadyExists(SamlProvider)` for a
    /// second provider of the same name in the account; `LimitExceeded(SamlProvider)` at
    /// `max_per_account`.
    CreateSamlProvider {
        provider: SamlProvider,
        max_per_account: usize,
    },
    /// Change what is `Some`, in this order: metadata, encryption mode, remove the key
    /// `remove_private_key`, add `add_private_key` (so a full provider can rotate in one call).
    /// `NotFound(SamlProvider)`; `NotFound(SamlPrivateKey)` for a key the provider does not have;
    /// `LimitExceeded(SamlPrivateKey)` past `max_private_keys`; `Conflict(SamlKeyRequired)` when
    /// the mode would be `Required` with no key left.
    UpdateSamlProvider {
        account: String,
        name: String,
        metadata: Option<SamlMetadata>,
        assertion_encryption_mode: Option<String>,
        add_private_key: Option<SamlPrivateKey>,
        remove_private_key: Option<String>,
        max_private_keys: usize,
    },
    /// The provider, its keys and tags. `NotFound(SamlProvider)`.
    DeleteSamlProvider {
        account: String,
        name: String,
    },
    /// As [`Change::TagUser`], for a provider. `NotFound(SamlProvider)`.
    TagSamlProvider {
        account: String,
        name: String,
        tags: Tags,
    },
    UntagSamlProvider {
        account: String,
        name: String,
        keys: Vec<String>,
    },
    /// A signing certificate for a user or (`user_id` None) the account's root.
    /// `LimitExceeded(SigningCertificate)` when the owner has `max_per_owner` already;
    /// `AlreadyExists(SigningCertificate)` when the account holds the same certificate
    /// (fingerprint); `NotFound(User)` when the user is gone.
    UploadSigningCertificate {
        certificate: SigningCertificate,
        max_per_owner: usize,
    },
    /// Activate or deactivate a certificate of exactly this owner
    /// (`NotFound(SigningCertificate)` otherwise).
    UpdateSigningCertificate {
        account: String,
        user_id: Option<String>,
        id: String,
        active: bool,
    },
    /// Delete a certificate of exactly this owner (`NotFound(SigningCertificate)` otherwise).
    DeleteSigningCertificate {
        account: String,
        user_id: Option<String>,
        id: String,
    },
    /// An SSH public key for a user. `LimitExceeded(SshPublicKey)` at `max_per_user` keys;
    /// `AlreadyExists(SshPublicKey)` when the user has the same key (fingerprint);
    /// `NotFound(User)`.
    UploadSshPublicKey {
        key: SshPublicKey,
        max_per_user: usize,
    },
    /// `NotFound(SshPublicKey)` unless the key is this user's.
    UpdateSshPublicKey {
        user_id: String,
        id: String,
        active: bool,
    },
    /// `NotFound(SshPublicKey)` unless the key is this user's.
    DeleteSshPublicKey {
        user_id: String,
        id: String,
    },
    /// A server certificate, its private key sealed at rest. `AlreadyExists(ServerCertificate)`
    /// when the name (case-insensitively) is taken; `LimitExceeded(ServerCertificate)` at
    /// `max_per_account`.
    UploadServerCertificate {
        certificate: ServerCertificate,
        max_per_account: usize,
    },
    /// Rename and/or move a server certificate. `NotFound(ServerCertificate)`;
    /// `AlreadyExists(ServerCertificate)` when the new name is taken.
    UpdateServerCertificate {
        account: String,
        name: String,
        new_name: Option<String>,
        new_path: Option<String>,
    },
    /// The certificate, its key and tags. `NotFound(ServerCertificate)`.
    DeleteServerCertificate {
        account: String,
        name: String,
    },
    /// As [`Change::TagUser`], for a server certificate. `NotFound(ServerCertificate)`.
    TagServerCertificate {
        account: String,
        name: String,
        tags: Tags,
    },
    UntagServerCertificate {
        account: String,
        name: String,
        keys: Vec<String>,
    },
    /// Re-seal every secret stored at rest (access key secrets, MFA seeds, SAML provider private
    /// keys, server certificate private keys) under `keyring`'s current key; applied as [`Applied::Resealed`]. `Internal` if one
    /// cannot be opened.
    ResealSecrets {
        keyring: Arc<Keyring>,
    },
    /// Remember that the SAML assertion `assertion_id` of `issuer` was accepted, until
    /// `until` (after which it could not be accepted anyway): one conditional insert, so that
    /// an assertion is used once however many requests race. `Conflict(SamlAssertionUsed)` if
    /// it is remembered and not past its `until` at `now`. A few entries past their time are
    /// forgotten on the way.
    UseSamlAssertion {
        issuer: String,
        assertion_id: String,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    },
}

impl Change {
    /// Whether the change shows in the snapshot (which is then rebuilt before the caller hears
    /// back). Re-sealing changes no plaintext; the SAML replay cache, key usage and credential
    /// reports are not in the snapshot.
    pub fn touches_snapshot(&self) -> bool {
        !matches!(
            self,
            Change::ResealSecrets { .. }
                | Change::UseSamlAssertion { .. }
                | Change::RecordKeyUse { .. }
                | Change::PutCredentialReport { .. }
        )
    }
}

/// What an applied change produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Done,
    /// The id of the version created (`v<n>`).
    PolicyVersion(String),
    /// How many secrets were re-sealed.
    Resealed(usize),
}

#[derive(Debug, Clone)]
pub struct NewPolicy {
    pub arn: String,
    pub id: String,
    pub account: String,
    pub name: String,
    pub path: String,
    pub description: Option<String>,
    pub document: String,
    pub tags: Tags,
    pub created_at: DateTime<Utc>,
}

/// Who an inline policy or attachment belongs to (an owned [`Owner`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerId {
    User(String),
    Group(String),
    Role(String),
}

impl OwnerId {
    pub fn as_owner(&self) -> Owner<'_> {
        match self {
            OwnerId::User(id) => Owner::User(id),
            OwnerId::Group(id) => Owner::Group(id),
            OwnerId::Role(id) => Owner::Role(id),
        }
    }

    /// From the stored kind (`user`, `group`, `role`) and id.
    pub fn from_kind(kind: &str, id: String) -> Option<OwnerId> {
        match kind {
            "user" => Some(OwnerId::User(id)),
            "group" => Some(OwnerId::Group(id)),
            "role" => Some(OwnerId::Role(id)),
            _ => None,
        }
    }
}

impl From<Owner<'_>> for OwnerId {
    fn from(o: Owner<'_>) -> OwnerId {
        match o {
            Owner::User(id) => OwnerId::User(id.to_owned()),
            Owner::Group(id) => OwnerId::Group(id.to_owned()),
            Owner::Role(id) => OwnerId::Role(id.to_owned()),
        }
    }
}
