//! What can go wrong in the store, said without AWS's words: which kind of entity was missing or
//! already there, what still depends on an entity being deleted, which count would pass the limit
//! a change was given. The IAM layer (`crate::iam::errors`) turns these into AWS's codes and exact
//! messages; the store never builds an `ApiError` and never writes a message a client reads.

/// The kinds of stored entities (and of the links between them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Account,
    /// An account alias (unique across accounts).
    AccountAlias,
    User,
    Group,
    /// A user's membership of a group.
    Membership,
    AccessKey,
    MfaDevice,
    /// A managed policy.
    Policy,
    PolicyVersion,
    InlinePolicy,
    /// A managed policy attached to a user, group or role.
    Attachment,
    Role,
    /// An OpenID Connect provider (unique per account and URL).
    OidcProvider,
    /// A client id (audience) of an OpenID Connect provider.
    OidcClientId,
    /// A SAML provider (unique per account and name).
    SamlProvider,
    /// An instance profile (unique per account and name, case-insensitively).
    InstanceProfile,
    /// A role's place in an instance profile.
    InstanceProfileRole,
    /// A private key of a SAML provider.
    SamlPrivateKey,
    /// A user's console password.
    LoginProfile,
    /// An account's password policy.
    PasswordPolicy,
    /// An X.509 signing certificate (the same certificate once per account).
    SigningCertificate,
    /// An SSH public key (the same key once per user).
    SshPublicKey,
    /// A server certificate (unique per account and name, case-insensitively).
    ServerCertificate,
}

/// Why a change cannot be made as things stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// The user still has a console password.
    UserHasLoginProfile,
    /// The user still has access keys.
    UserHasAccessKeys,
    /// The user still has MFA devices.
    UserHasMfaDevices,
    /// The user still has signing certificates.
    UserHasSigningCertificates,
    /// The user still has SSH public keys.
    UserHasSshPublicKeys,
    /// The user is still a member of groups.
    UserInGroups,
    /// The group still has members.
    GroupHasMembers,
    /// The user, group or role still has inline policies.
    HasInlinePolicies,
    /// The user, group or role still has managed policies attached.
    HasAttachedPolicies,
    /// The managed policy is attached somewhere or is someone's permissions boundary.
    PolicyInUse,
    /// The managed policy has versions besides its default one.
    PolicyHasVersions,
    /// The version is its policy's default.
    DefaultVersion,
    /// The MFA device is assigned to a user.
    MfaDeviceInUse,
    /// The TOTP step was not after the device's last accepted one (a code used twice), or the
    /// device is no longer enabled for that principal.
    MfaStepUsed,
    /// A SAML provider whose assertions must be encrypted would be left without a private key.
    SamlKeyRequired,
    /// The SAML assertion (issuer and ID) was accepted before and its time has not passed.
    SamlAssertionUsed,
    /// The instance profile still holds a role.
    InstanceProfileHasRoles,
    /// The role is still in an instance profile.
    RoleInInstanceProfile,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("{0:?} not found")]
    NotFound(Entity),
    #[error("{0:?} already exists")]
    AlreadyExists(Entity),
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    /// The change would take the count of this kind of entity past the limit it was given.
    #[error("{0:?} limit exceeded")]
    LimitExceeded(Entity),
    /// The storage failed (I/O, locks, a corrupt row...). The detail is for the log only.
    #[error("internal: {0}")]
    Internal(String),
    /// The database cannot be reached (or timed out) now; the change was not made. The
    /// detail is for the log only.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    pub fn internal(detail: impl Into<String>) -> StoreError {
        StoreError::Internal(detail.into())
    }
}
