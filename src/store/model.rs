//! Identity-store entities and the in-memory [`Snapshot`] requests read, built from a backend's
//! [`Tables`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use super::backend::Tables;
use crate::arn::{Arn, Partition};
use crate::credentials::password::PasswordHash;
use crate::credentials::{Keyring, Secret};
use crate::policy::Policy;

pub(crate) type Tags = Vec<(String, String)>;

#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub alias: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub account: String,
    pub name: String,
    pub path: String,
    pub created_at: DateTime<Utc>,
    pub boundary: Option<String>,
    pub tags: Tags,
}

impl User {
    pub fn arn(&self) -> String {
        Partition::Aws.user_arn(&self.account, &self.path, &self.name)
    }
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub account: String,
    pub name: String,
    pub path: String,
    pub created_at: DateTime<Utc>,
    /// Member user ids.
    pub members: Vec<String>,
}

impl Group {
    pub fn arn(&self) -> String {
        Arn::group(Partition::Aws, &self.account, &self.path, &self.name).to_string()
    }
}

#[derive(Debug, Clone)]
pub struct AccessKey {
    pub id: String,
    pub account: String,
    /// `None`: the account's root user.
    pub user_id: Option<String>,
    pub secret: Secret,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// A user's console password (`CreateLoginProfile`): its hash only, never the password.
#[derive(Debug, Clone)]
pub struct LoginProfile {
    pub user_id: String,
    pub hash: PasswordHash,
    pub created_at: DateTime<Utc>,
    /// When the password was last set (the credential report's `password_last_changed`).
    pub password_changed_at: DateTime<Utc>,
    pub reset_required: bool,
}

/// An account's password policy (`UpdateAccountPasswordPolicy`). `None` fields were not given
/// and are left out of `GetAccountPasswordPolicy`, as AWS leaves them out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub minimum_length: u32,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub allow_users_to_change: bool,
    pub max_age_days: Option<u32>,
    pub reuse_prevention: Option<u32>,
    pub hard_expiry: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct MfaDevice {
    pub serial: String,
    pub account: String,
    pub name: String,
    pub path: String,
    pub seed: Secret,
    pub user_id: Option<String>,
    pub enabled_at: Option<DateTime<Utc>>,
    pub last_step: Option<u64>,
    /// How many TOTP steps the device's clock runs ahead of ours (behind: negative), as
    /// `ResyncMFADevice` measured it; codes are looked for around `now` shifted by it.
    pub drift_steps: i64,
    pub created_at: DateTime<Utc>,
    pub tags: Tags,
}

/// Everything requests need to know about identities, rebuilt after every IAM write.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub accounts: BTreeMap<String, Account>,
    pub users: HashMap<String, User>,
    /// (account, lowercase name) -> user id; ordered for `ListUsers` paging.
    pub user_names: BTreeMap<(String, String), String>,
    pub groups: HashMap<String, Group>,
    pub group_names: BTreeMap<(String, String), String>,
    pub access_keys: HashMap<String, AccessKey>,
    pub mfa: BTreeMap<String, MfaDevice>,
    /// account -> provider URL without `https://` -> OIDC provider.
    pub oidc_providers: BTreeMap<String, BTreeMap<String, OidcProvider>>,
    /// account -> provider name -> SAML provider.
    pub saml_providers: BTreeMap<String, BTreeMap<String, SamlProvider>>,
    /// Managed and inline policies, attachments and roles, compiled.
    pub policies: super::policies::PolicyState,
    /// Instance profiles by id.
    pub instance_profiles: HashMap<String, InstanceProfile>,
    /// (account, lowercase name) -> instance profile id; ordered for `ListInstanceProfiles`.
    pub instance_profile_names: BTreeMap<(String, String), String>,
    /// Deletions of service-linked roles by task id.
    pub role_deletion_tasks: HashMap<String, super::backend::RoleDeletionTask>,
    /// Console passwords by user id.
    pub login_profiles: HashMap<String, LoginProfile>,
    /// Users' password hashes by user id, newest first (the current one included), as many as
    /// the largest `PasswordReusePrevention` (24): the reuse rule checks the first N. They
    /// outlive a deleted login profile.
    pub password_history: HashMap<String, Vec<PasswordHash>>,
    /// Password policies by account.
    pub password_policies: HashMap<String, PasswordPolicy>,
    /// X.509 signing certificates of users (and roots) by certificate id.
    pub signing_certificates: BTreeMap<String, SigningCertificate>,
    /// SSH public keys of users by key id.
    pub ssh_public_keys: BTreeMap<String, SshPublicKey>,
    /// Server certificates by id.
    pub server_certificates: HashMap<String, ServerCertificate>,
    /// (account, lowercase name) -> server certificate id; ordered for `ListServerCertificates`.
    pub server_certificate_names: BTreeMap<(String, String), String>,
}

pub(crate) fn ts(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ts(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// The provider a tag row's owner ARN names.
fn saml_by_arn<'a>(
    providers: &'a mut BTreeMap<String, BTreeMap<String, SamlProvider>>,
    arn: &str,
) -> Option<&'a mut SamlProvider> {
    let a = Arn::parse(arn).ok()?;
    match a.resource {
        crate::arn::Resource::SamlProvider { name } => {
            providers.get_mut(&a.account)?.get_mut(&name)
        }
        _ => None,
    }
}

impl Snapshot {
    /// The snapshot of `tables`: secrets opened with `keyring`, policies compiled, counts made.
    pub fn build(tables: Tables, keyring: &Keyring) -> Snapshot {
        let Tables {
            accounts,
            users,
            user_tags,
            groups,
            group_members,
            access_keys,
            mfa_devices,
            mfa_device_tags,
            oidc_providers,
            oidc_provider_tags,
            saml_providers,
            saml_provider_tags,
            saml_private_keys,
            role_deletion_tasks,
            policies,
            instance_profiles,
            instance_profile_roles,
            instance_profile_tags,
            login_profiles,
            password_history,
            password_policies,
            signing_certificates,
            ssh_public_keys,
            server_certificates,
            server_certificate_tags,
        } = tables;
        let mut s = Snapshot::default();
        for a in accounts {
            s.accounts.insert(a.id.clone(), a);
        }
        for u in users {
            s.user_names
                .insert((u.account.clone(), u.name.to_lowercase()), u.id.clone());
            s.users.insert(u.id.clone(), u);
        }
        for t in user_tags {
            if let Some(u) = s.users.get_mut(&t.owner) {
                u.tags.push((t.key, t.value));
            }
        }
        for g in groups {
            s.group_names
                .insert((g.account.clone(), g.name.to_lowercase()), g.id.clone());
            s.groups.insert(g.id.clone(), g);
        }
        for (gid, uid) in group_members {
            if let Some(g) = s.groups.get_mut(&gid) {
                g.members.push(uid);
            }
        }
        for k in access_keys {
            match keyring.open_blob(&k.secret_ct, k.id.as_bytes()) {
                Ok(secret) => {
                    s.access_keys.insert(
                        k.id.clone(),
                        AccessKey {
                            id: k.id,
                            account: k.account,
                            user_id: k.user_id,
                            secret,
                            active: k.active,
                            created_at: k.created_at,
                        },
                    );
                }
                // A key sealed under a retired keyring generation can no longer be used; it is
                // left in the database for the operator, not served.
                Err(_) => {
                    tracing::warn!(access_key_id = %k.id, "store: access key secret cannot be decrypted with the keyring")
                }
            }
        }
        for d in mfa_devices {
            if let Ok(seed) = keyring.open_blob(&d.seed_ct, d.serial.as_bytes()) {
                s.mfa.insert(
                    d.serial.clone(),
                    MfaDevice {
                        serial: d.serial,
                        account: d.account,
                        name: d.name,
                        path: d.path,
                        seed,
                        user_id: d.user_id,
                        enabled_at: d.enabled_at,
                        last_step: d.last_step,
                        drift_steps: d.drift_steps,
                        created_at: d.created_at,
                        tags: Vec::new(),
                    },
                );
            }
        }
        for t in mfa_device_tags {
            if let Some(d) = s.mfa.get_mut(&t.owner) {
                d.tags.push((t.key, t.value));
            }
        }
        let mut by_arn = HashMap::new();
        for p in oidc_providers {
            by_arn.insert(p.arn(), (p.account.clone(), p.url.clone()));
            s.oidc_providers
                .entry(p.account.clone())
                .or_default()
                .insert(p.url.clone(), p);
        }
        for t in oidc_provider_tags {
            let provider = by_arn.get(&t.owner).and_then(|(account, url)| {
                s.oidc_providers
                    .get_mut(account)
                    .and_then(|m| m.get_mut(url))
            });
            if let Some(p) = provider {
                p.tags.push((t.key, t.value));
            }
        }
        for p in saml_providers {
            s.saml_providers
                .entry(p.account.clone())
                .or_default()
                .insert(p.name.clone(), p);
        }
        for t in saml_provider_tags {
            if let Some(p) = saml_by_arn(&mut s.saml_providers, &t.owner) {
                p.tags.push((t.key, t.value));
            }
        }
        for k in saml_private_keys {
            let Some(p) = s
                .saml_providers
                .get_mut(&k.account)
                .and_then(|m| m.get_mut(&k.provider))
            else {
                continue;
            };
            match keyring.open_blob(&k.key_ct, k.id.as_bytes()) {
                Ok(pem) => p.private_keys.push(SamlPrivateKey {
                    id: k.id,
                    created_at: k.created_at,
                    pem,
                }),
                Err(_) => {
                    tracing::warn!(key_id = %k.id, "store: SAML provider private key cannot be decrypted with the keyring")
                }
            }
        }
        s.policies = super::policies::PolicyState::build(policies);
        for t in role_deletion_tasks {
            s.role_deletion_tasks.insert(t.id.clone(), t);
        }
        for p in instance_profiles {
            s.instance_profile_names
                .insert((p.account.clone(), p.name.to_lowercase()), p.id.clone());
            s.instance_profiles.insert(p.id.clone(), p);
        }
        for (profile, role) in instance_profile_roles {
            if let Some(p) = s.instance_profiles.get_mut(&profile) {
                p.roles.push(role);
            }
        }
        for t in instance_profile_tags {
            if let Some(p) = s.instance_profiles.get_mut(&t.owner) {
                p.tags.push((t.key, t.value));
            }
        }
        for p in login_profiles {
            s.login_profiles.insert(p.user_id.clone(), p);
        }
        for (user_id, hash) in password_history {
            s.password_history.entry(user_id).or_default().push(hash);
        }
        s.password_policies = password_policies.into_iter().collect();
        for c in signing_certificates {
            s.signing_certificates.insert(c.id.clone(), c);
        }
        for k in ssh_public_keys {
            s.ssh_public_keys.insert(k.id.clone(), k);
        }
        for c in server_certificates {
            match keyring.open_blob(&c.key_ct, c.id.as_bytes()) {
                Ok(private_key) => {
                    s.server_certificate_names
                        .insert((c.account.clone(), c.name.to_lowercase()), c.id.clone());
                    s.server_certificates.insert(
                        c.id.clone(),
                        ServerCertificate {
                            id: c.id,
                            account: c.account,
                            name: c.name,
                            path: c.path,
                            body: c.body,
                            chain: c.chain,
                            private_key,
                            expiration: c.expiration,
                            created_at: c.created_at,
                            tags: Vec::new(),
                        },
                    );
                }
                Err(_) => {
                    tracing::warn!(server_certificate_id = %c.id, "store: server certificate private key cannot be decrypted with the keyring")
                }
            }
        }
        for t in server_certificate_tags {
            if let Some(c) = s.server_certificates.get_mut(&t.owner) {
                c.tags.push((t.key, t.value));
            }
        }
        let boundaries: Vec<String> = s
            .users
            .values()
            .filter_map(|u| u.boundary.clone())
            .chain(s.policies.roles.values().filter_map(|r| r.boundary.clone()))
            .collect();
        for arn in boundaries {
            if let Some(p) = s.policies.managed.get_mut(&arn) {
                p.boundary_usage_count += 1;
            }
        }
        s
    }

    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.get(id)
    }

    pub fn user_by_name(&self, account: &str, name: &str) -> Option<&User> {
        self.user_names
            .get(&(account.to_owned(), name.to_lowercase()))
            .and_then(|id| self.users.get(id))
    }

    pub fn group_by_name(&self, account: &str, name: &str) -> Option<&Group> {
        self.group_names
            .get(&(account.to_owned(), name.to_lowercase()))
            .and_then(|id| self.groups.get(id))
    }

    /// Users of an account in name order, starting after `marker` (a lowercase name).
    pub fn users_in(&self, account: &str, after: Option<&str>) -> impl Iterator<Item = &User> {
        let start = (
            account.to_owned(),
            after.map(str::to_owned).unwrap_or_default(),
        );
        self.user_names
            .range(start..)
            .filter(move |((_, n), _)| after.is_none_or(|a| n.as_str() > a))
            .take_while(move |((a, _), _)| a == account)
            .filter_map(|(_, id)| self.users.get(id))
    }

    pub fn groups_of_user<'a>(&'a self, user_id: &'a str) -> impl Iterator<Item = &'a Group> + 'a {
        self.groups
            .values()
            .filter(move |g| g.members.iter().any(|m| m == user_id))
    }

    pub fn keys_of_user<'a>(
        &'a self,
        account: &'a str,
        user_id: Option<&'a str>,
    ) -> impl Iterator<Item = &'a AccessKey> + 'a {
        self.access_keys
            .values()
            .filter(move |k| k.account == account && k.user_id.as_deref() == user_id)
    }

    /// The provider registered in `account` for the issuer `url` (without `https://`).
    pub fn oidc_provider(&self, account: &str, url: &str) -> Option<&OidcProvider> {
        self.oidc_providers.get(account)?.get(url)
    }

    /// The OIDC providers of an account, in URL order.
    pub fn oidc_providers_in<'a>(
        &'a self,
        account: &'a str,
    ) -> impl Iterator<Item = &'a OidcProvider> + 'a {
        self.oidc_providers
            .get(account)
            .into_iter()
            .flat_map(BTreeMap::values)
    }

    /// The SAML provider `name` of `account`.
    pub fn saml_provider(&self, account: &str, name: &str) -> Option<&SamlProvider> {
        self.saml_providers.get(account)?.get(name)
    }

    /// The SAML providers of an account, in name order.
    pub fn saml_providers_in<'a>(
        &'a self,
        account: &'a str,
    ) -> impl Iterator<Item = &'a SamlProvider> + 'a {
        self.saml_providers
            .get(account)
            .into_iter()
            .flat_map(BTreeMap::values)
    }

    pub fn instance_profile_by_name(&self, account: &str, name: &str) -> Option<&InstanceProfile> {
        self.instance_profile_names
            .get(&(account.to_owned(), name.to_lowercase()))
            .and_then(|id| self.instance_profiles.get(id))
    }

    /// The instance profiles of an account in name order, each with its lowercase name (the
    /// `List*` marker).
    pub fn instance_profiles_in<'a>(
        &'a self,
        account: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a InstanceProfile)> + 'a {
        self.instance_profile_names
            .range((account.to_owned(), String::new())..)
            .take_while(move |((a, _), _)| a == account)
            .filter_map(|((_, n), id)| Some((n.as_str(), self.instance_profiles.get(id)?)))
    }

    /// The instance profiles that hold the role `role_id`, in name order.
    pub fn instance_profiles_of_role<'a>(
        &'a self,
        account: &'a str,
        role_id: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a InstanceProfile)> + 'a {
        self.instance_profiles_in(account)
            .filter(move |(_, p)| p.roles.iter().any(|r| r == role_id))
    }

    /// The account of the user, group or role `(kind, id)` (a key of `policies.attached`).
    pub fn owner_account(&self, kind: &str, id: &str) -> Option<&str> {
        match kind {
            "user" => self.users.get(id).map(|u| u.account.as_str()),
            "group" => self.groups.get(id).map(|g| g.account.as_str()),
            "role" => self.policies.roles.get(id).map(|r| r.account.as_str()),
            _ => None,
        }
    }

    /// The owners `(kind, id)` in `account` that the managed policy `arn` is attached to.
    pub fn attachments_of<'a>(
        &'a self,
        arn: &'a str,
        account: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.policies
            .attached
            .iter()
            .filter(move |(_, arns)| arns.iter().any(|a| a == arn))
            .map(|((kind, id), _)| (kind.as_str(), id.as_str()))
            .filter(move |(kind, id)| self.owner_account(kind, id) == Some(account))
    }

    /// The managed policy as `account` sees it: an AWS managed policy is shared by every
    /// account, and its `AttachmentCount` and `PermissionsBoundaryUsageCount` count that
    /// account's entities only.
    pub fn policy_in_account(
        &self,
        m: &super::policies::ManagedPolicy,
        account: &str,
    ) -> super::policies::ManagedPolicy {
        let mut m = m.clone();
        if m.account == "aws" {
            m.attachment_count = self.attachments_of(&m.arn, account).count();
            let arn = Some(&m.arn);
            m.boundary_usage_count = self
                .users
                .values()
                .filter(|u| u.account == account && u.boundary.as_ref() == arn)
                .count()
                + self
                    .policies
                    .roles
                    .values()
                    .filter(|r| r.account == account && r.boundary.as_ref() == arn)
                    .count();
        }
        m
    }

    /// The signing certificates of a user (`user_id` None: the account's root), in id order.
    pub fn signing_certificates_of<'a>(
        &'a self,
        account: &'a str,
        user_id: Option<&'a str>,
    ) -> impl Iterator<Item = &'a SigningCertificate> + 'a {
        self.signing_certificates
            .values()
            .filter(move |c| c.account == account && c.user_id.as_deref() == user_id)
    }

    /// The SSH public keys of a user, in id order.
    pub fn ssh_public_keys_of<'a>(
        &'a self,
        user_id: &'a str,
    ) -> impl Iterator<Item = &'a SshPublicKey> + 'a {
        self.ssh_public_keys
            .values()
            .filter(move |k| k.user_id == user_id)
    }

    pub fn server_certificate_by_name(
        &self,
        account: &str,
        name: &str,
    ) -> Option<&ServerCertificate> {
        self.server_certificate_names
            .get(&(account.to_owned(), name.to_lowercase()))
            .and_then(|id| self.server_certificates.get(id))
    }

    /// The server certificates of an account in name order, each with its lowercase name (the
    /// `List*` marker).
    pub fn server_certificates_in<'a>(
        &'a self,
        account: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a ServerCertificate)> + 'a {
        self.server_certificate_names
            .range((account.to_owned(), String::new())..)
            .take_while(move |((a, _), _)| a == account)
            .filter_map(|((_, n), id)| Some((n.as_str(), self.server_certificates.get(id)?)))
    }

    pub fn mfa_of_user<'a>(&'a self, user_id: &'a str) -> impl Iterator<Item = &'a MfaDevice> + 'a {
        self.mfa
            .values()
            .filter(move |d| d.user_id.as_deref() == Some(user_id))
    }
}

/// An OpenID Connect identity provider registered in an account: whose tokens
/// `AssumeRoleWithWebIdentity` accepts, for which audiences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcProvider {
    pub account: String,
    /// The issuer without its scheme: `host[/path]`, as in the ARN and condition keys.
    pub url: String,
    /// Audiences (`aud`) accepted, in the order added.
    pub client_ids: Vec<String>,
    /// Server-certificate thumbprints (40 hex digits), kept for the API.
    pub thumbprints: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub tags: Tags,
}

impl OidcProvider {
    pub fn arn(&self) -> String {
        Partition::Aws.oidc_provider_arn(&self.account, &self.url)
    }
}

/// A SAML 2.0 identity provider registered in an account: whose signed assertions
/// `AssumeRoleWithSAML` accepts. The metadata document is kept as uploaded (IAM answers it back);
/// what verification needs of it is kept beside it, extracted once when it was stored.
#[derive(Debug, Clone)]
pub struct SamlProvider {
    pub account: String,
    /// `[\w._-]+`, 1..128: the ARN's `saml-provider/<name>`.
    pub name: String,
    /// `SAMLProviderUUID`: 26 base32 characters, fixed at creation.
    pub uuid: String,
    pub metadata_document: String,
    /// The metadata's `entityID`: the `Issuer` its assertions must carry.
    pub entity_id: String,
    /// The IdP's signing certificates (base64 DER, as in the metadata, whitespace removed): at
    /// least one, at most ten (key rotation).
    pub signing_certs: Vec<String>,
    /// The metadata's `validUntil`, if it has one.
    pub valid_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub tags: Tags,
    /// `Required` or `Allowed` (encrypted assertions), as set; `None` when never set.
    pub assertion_encryption_mode: Option<String>,
    /// Keys that decrypt `EncryptedAssertion`s, oldest first. Stored sealed; never answered.
    pub private_keys: Vec<SamlPrivateKey>,
}

impl SamlProvider {
    pub fn arn(&self) -> String {
        Arn::saml_provider(Partition::Aws, &self.account, &self.name).to_string()
    }
}

/// A private key of a SAML provider: its id and upload time are public (`PrivateKeyList`); the
/// PEM is a [`Secret`], sealed at rest (AAD = key id) and opened only into the snapshot.
#[derive(Debug, Clone)]
pub struct SamlPrivateKey {
    /// 26 base32 characters.
    pub id: String,
    pub created_at: DateTime<Utc>,
    /// PKCS#8 PEM.
    pub pem: Secret,
}

/// What a SAML provider keeps of a metadata document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlMetadata {
    pub document: String,
    pub entity_id: String,
    pub signing_certs: Vec<String>,
    pub valid_until: Option<DateTime<Utc>>,
}

/// An instance profile: the container that hands one role to EC2 instances.
#[derive(Debug, Clone)]
pub struct InstanceProfile {
    /// `AIPA…`
    pub id: String,
    pub account: String,
    pub name: String,
    pub path: String,
    pub created_at: DateTime<Utc>,
    /// Role ids, in the order added (IAM allows one).
    pub roles: Vec<String>,
    pub tags: Tags,
}

impl InstanceProfile {
    pub fn arn(&self) -> String {
        Partition::Aws.instance_profile_arn(&self.account, &self.path, &self.name)
    }
}

/// An IAM role: who may assume it (the trust policy) and for how long.
#[derive(Debug, Clone)]
pub struct Role {
    pub id: String,
    pub account: String,
    pub name: String,
    pub path: String,
    pub description: Option<String>,
    pub trust_document: String,
    /// The trust policy compiled, with principal ARNs bound to the unique ids they had when
    /// the policy was saved.
    pub trust: Arc<Policy>,
    pub max_session: i64,
    pub boundary: Option<String>,
    pub created_at: DateTime<Utc>,
    pub tags: Tags,
    /// For a service-linked role, the service it belongs to (`autoscaling.amazonaws.com`):
    /// such a role is changed only through the service-linked role actions.
    pub linked_service: Option<String>,
}

impl Role {
    pub fn arn(&self) -> String {
        Partition::Aws.role_arn(&self.account, &self.path, &self.name)
    }
}

/// An account's credential report (`GenerateCredentialReport`): the CSV as `GetCredentialReport`
/// answers it (before base64), and when it was made. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialReport {
    pub account: String,
    pub generated_at: DateTime<Utc>,
    pub content: String,
}

/// An X.509 signing certificate of a user, or (`user_id` None) of the account's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningCertificate {
    /// 32 base32 characters.
    pub id: String,
    pub account: String,
    pub user_id: Option<String>,
    /// The PEM as uploaded (IAM answers it back).
    pub body: String,
    /// SHA-256 of the DER, hex: the same certificate twice in one account is refused.
    pub fingerprint: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// An SSH public key of a user (for CodeCommit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshPublicKey {
    /// `APKA…`, 20 characters.
    pub id: String,
    pub account: String,
    pub user_id: String,
    /// The key as uploaded (`ssh-rsa …` or PEM).
    pub body: String,
    /// MD5 of the SSH wire blob, colon-separated hex.
    pub fingerprint: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// A server certificate: a certificate, its chain and its private key (a [`Secret`], sealed at
/// rest with AAD = id, never answered).
#[derive(Debug, Clone)]
pub struct ServerCertificate {
    /// `ASCA…`, 21 characters.
    pub id: String,
    pub account: String,
    pub name: String,
    pub path: String,
    pub body: String,
    pub chain: Option<String>,
    /// PKCS#8 PEM.
    pub private_key: Secret,
    /// The certificate's `notAfter`.
    pub expiration: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub tags: Tags,
}

impl ServerCertificate {
    pub fn arn(&self) -> String {
        Partition::Aws.server_certificate_arn(&self.account, &self.path, &self.name)
    }
}
