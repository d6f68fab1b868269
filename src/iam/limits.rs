//! IAM's quotas, as AWS sets them by default. The store counts inside its transaction, against
//! the number each change carries; the numbers (and the words, in [`super::errors`]) are here.
//! See <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>.

use crate::store::policies::Owner;

pub(crate) const USERS_PER_ACCOUNT: usize = 5_000;
pub(crate) const GROUPS_PER_ACCOUNT: usize = 300;
pub(crate) const ROLES_PER_ACCOUNT: usize = 1_000;
pub(crate) const POLICIES_PER_ACCOUNT: usize = 1_500;
pub(crate) const ACCESS_KEYS_PER_USER: usize = 2;
pub(crate) const GROUPS_PER_USER: usize = 10;
pub(crate) const MFA_DEVICES_PER_USER: usize = 8;
/// Managed policies attached to one user, group or role.
pub(crate) const MANAGED_POLICIES_PER_ENTITY: usize = 10;
pub(crate) const POLICY_VERSIONS: usize = 5;
pub(crate) const OIDC_PROVIDERS_PER_ACCOUNT: usize = 100;
pub(crate) const OIDC_CLIENT_IDS: usize = 100;
pub(crate) const OIDC_THUMBPRINTS: usize = 5;
pub(crate) const SAML_PROVIDERS_PER_ACCOUNT: usize = 100;
/// Private keys (assertion decryption) per SAML provider: `PrivateKeyList` holds at most 2.
pub(crate) const SAML_PRIVATE_KEYS: usize = 2;

pub(crate) const INSTANCE_PROFILES_PER_ACCOUNT: usize = 1_000;
/// Roles in one instance profile: IAM's quota is 1 and cannot be raised.
pub(crate) const ROLES_PER_INSTANCE_PROFILE: usize = 1;

/// Managed policy versions stored in one account (`PolicyVersionsInUseQuota`).
pub(crate) const POLICY_VERSIONS_IN_USE: usize = 10_000;
/// Server certificates per account and signing certificates per user: AWS's defaults, which
/// `GetAccountSummary` reports (tessera stores neither yet).
pub(crate) const SERVER_CERTIFICATES_PER_ACCOUNT: usize = 20;
pub(crate) const SIGNING_CERTIFICATES_PER_USER: usize = 2;

/// Characters (without whitespace) of one managed policy document.
pub(crate) const MANAGED_POLICY_MAX: usize = 6_144;
/// Characters (without whitespace) of one trust policy.
pub(crate) const TRUST_POLICY_MAX: usize = 2_048;

/// The aggregate size of an owner's inline policies (characters without whitespace).
pub(crate) fn inline_limit(owner: Owner<'_>) -> usize {
    match owner {
        Owner::User(_) => 2_048,
        Owner::Group(_) => 5_120,
        Owner::Role(_) => 10_240,
    }
}
