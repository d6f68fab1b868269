//! The interface between the store and where its data lives.
//!
//! [`Store`](super::Store) owns what every backend shares: the in-memory [`Snapshot`] that
//! requests read, the writer thread that batches jobs into one transaction (group commit), the
//! typed [`Change`]s, sealing secrets and compiling policies. A [`Backend`] keeps rows and applies
//! changes inside transactions, checking there whatever must hold at commit time (existence,
//! uniqueness, the limits it is handed). [`SqliteBackend`](super::sqlite::SqliteBackend) is the
//! embedded default, [`PgBackend`](super::postgres::PgBackend) a cluster's; both run the SQL of
//! [`super::sql`], and both run the contract tests (`store::tests`).
//!
//! A backend is driven by one writer thread, so its methods take `&mut self` and it need only be
//! `Send`; a backend shared by several processes (or servers) must still make every check-then-
//! write atomic on its own side, as [`Change::UseMfaStep`] spells out.
//!
//! [`Snapshot`]: super::Snapshot

use chrono::{DateTime, Utc};

use super::audit_journal::journal::Frame;
use super::change::{Applied, Change, OwnerId};
use super::error::StoreError;
use super::model::{
    Account, CredentialReport, Group, InstanceProfile, LoginProfile, OidcProvider, PasswordPolicy,
    SamlProvider, SigningCertificate, SshPublicKey, User,
};
use super::policies::PolicyVersionRec;
use crate::credentials::Keyring;
use crate::credentials::password::PasswordHash;

pub trait Backend: Send {
    /// Every row, as stored: secrets still sealed, documents not yet compiled.
    fn load(&mut self) -> Result<Tables, StoreError>;

    /// Every account's credential report. Read once at start, apart from [`Backend::load`]:
    /// reports are large and not part of the snapshot.
    fn load_credential_reports(&mut self) -> Result<Vec<CredentialReport>, StoreError>;

    /// What someone else (another process, another node) has committed since the last call.
    /// Cheap: the writer asks often.
    fn changed_elsewhere(&mut self) -> Changed;

    /// Read the tables `names` again into `into` (a reload of what changed, not of everything).
    fn load_tables(
        &mut self,
        names: &std::collections::BTreeSet<String>,
        into: &mut Tables,
    ) -> Result<(), StoreError>;

    /// Whether the last round trip to where the data lives succeeded (`/readyz`). A local
    /// file is always there.
    fn reachable(&self) -> bool {
        true
    }

    /// How often the writer asks [`Backend::changed_elsewhere`] when nothing else wakes it (and
    /// at most how often under load).
    fn poll_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }

    /// One transaction: each job's changes in order, all or nothing per job (a failing job
    /// leaves no trace, the others commit), then `audit` appended as one row. With `durable`,
    /// the commit is on stable storage before this returns.
    fn commit(&mut self, batch: Batch<'_>) -> Outcome;

    /// Where the audit journal's copier writes frames: a connection of its own.
    fn frame_archive(&self) -> Result<Box<dyn FrameArchive>, StoreError>;
}

/// What the writer hands the backend for one transaction.
#[derive(Debug)]
pub struct Batch<'a> {
    /// Each job's changes.
    pub jobs: Vec<&'a [Change]>,
    /// Audit records as one row: earliest record time (ms since epoch), JSON lines.
    pub audit: Option<(i64, &'a str)>,
    /// Durable before `commit` returns (someone waits for it).
    pub durable: bool,
    /// Seals secrets the changes store.
    pub keyring: &'a Keyring,
}

/// How a [`Batch`] went.
#[derive(Debug)]
pub struct Outcome {
    /// One per job, in order. `Ok` only if the transaction committed (durably, when asked).
    pub results: Vec<Result<Vec<Applied>, StoreError>>,
    /// The audit row was written (it is committed only if `committed`).
    pub audit_written: bool,
    pub committed: bool,
    /// The snapshot's tables the committed jobs wrote (cascades included).
    pub changed: std::collections::BTreeSet<String>,
}

/// What others committed since the writer last looked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    Nothing,
    /// These tables of the snapshot.
    Tables(std::collections::BTreeSet<String>),
    /// Something: read everything again.
    Anything,
}

/// The audit table, as the journal's copier sees it.
pub trait FrameArchive: Send {
    /// The newest journal frame already copied (0: none).
    fn last_copied(&mut self) -> Result<u64, StoreError>;
    /// Copy `frames` (oldest first) and record the last one as copied, in one durable
    /// transaction.
    fn copy(&mut self, frames: &[Frame]) -> Result<(), StoreError>;
}

/// Reading the audit table without taking any writer's lock (`tessera audit tail`).
pub(crate) trait AuditRead: Send {
    /// The newest rows holding at least `n` records (or all), oldest first, and the newest
    /// journal frame copied into the table, read consistently.
    /// Also the newest row's `seq` (0: none), even when `n` is 0.
    fn newest(&mut self, n: usize) -> Result<(Vec<AuditRow>, u64, i64), StoreError>;
    /// Up to `limit` rows after row `after`, oldest first.
    fn since(&mut self, after: i64, limit: usize) -> Result<Vec<AuditRow>, StoreError>;
}

/// One row of the audit table: the records of one group commit or one journal frame.
#[derive(Debug, Clone)]
pub(crate) struct AuditRow {
    pub seq: i64,
    /// The journal frame the row was copied from, if it was.
    pub journal_seq: Option<u64>,
    /// JSON lines, newline-separated.
    pub records: String,
}

/// Seal a secret for storage under the keyring's current key, bound to its row (`aad`: the key
/// id, MFA serial, SAML private key id or server certificate id). Every backend stores secrets this way;
/// [`Snapshot::build`] opens them.
///
/// [`Snapshot::build`]: super::Snapshot::build
pub(crate) fn seal(keyring: &Keyring, plaintext: &[u8], aad: &str) -> Result<Vec<u8>, StoreError> {
    keyring
        .seal_blob(plaintext, aad.as_bytes())
        .map_err(|_| StoreError::internal("keyring: seal failed"))
}

// --- rows ------------------------------------------------------------------------------------

/// Everything a backend holds, as stored. [`Snapshot::build`](super::Snapshot::build) opens
/// the secrets and compiles the policies.
#[derive(Debug, Default, Clone)]
pub struct Tables {
    pub accounts: Vec<Account>,
    /// Without tags (`user_tags`).
    pub users: Vec<User>,
    pub user_tags: Vec<TagRow>,
    /// Without members (`group_members`).
    pub groups: Vec<Group>,
    /// (group id, user id), in the order they were added.
    pub group_members: Vec<(String, String)>,
    pub access_keys: Vec<SealedAccessKey>,
    pub mfa_devices: Vec<SealedMfaDevice>,
    /// Owner = the device's serial.
    pub mfa_device_tags: Vec<TagRow>,
    /// Without tags (`oidc_provider_tags`, owner = the provider's ARN).
    pub oidc_providers: Vec<OidcProvider>,
    pub oidc_provider_tags: Vec<TagRow>,
    /// Without tags (`saml_provider_tags`, owner = the provider's ARN) or private keys
    /// (`saml_private_keys`).
    pub saml_providers: Vec<SamlProvider>,
    pub saml_provider_tags: Vec<TagRow>,
    /// Oldest first.
    pub saml_private_keys: Vec<SealedSamlKey>,
    /// Deletions of service-linked roles, as `GetServiceLinkedRoleDeletionStatus` reports them.
    pub role_deletion_tasks: Vec<RoleDeletionTask>,
    pub policies: PolicyTables,
    /// Without roles (`instance_profile_roles`) or tags (`instance_profile_tags`, owner = the
    /// profile's id).
    pub instance_profiles: Vec<InstanceProfile>,
    /// (instance profile id, role id), in the order added.
    pub instance_profile_roles: Vec<(String, String)>,
    pub instance_profile_tags: Vec<TagRow>,
    /// Without history (`password_history`).
    pub login_profiles: Vec<LoginProfile>,
    /// (user id, hash), newest first per user.
    pub password_history: Vec<(String, PasswordHash)>,
    /// (account, policy).
    pub password_policies: Vec<(String, PasswordPolicy)>,
    pub signing_certificates: Vec<SigningCertificate>,
    pub ssh_public_keys: Vec<SshPublicKey>,
    /// Without tags (`server_certificate_tags`, owner = the certificate's id).
    pub server_certificates: Vec<SealedServerCertificate>,
    pub server_certificate_tags: Vec<TagRow>,
}

/// A server certificate as stored: its private key sealed.
#[derive(Debug, Clone)]
pub struct SealedServerCertificate {
    pub id: String,
    pub account: String,
    pub name: String,
    pub path: String,
    pub body: String,
    pub chain: Option<String>,
    /// PKCS#8 PEM sealed with the keyring, AAD = id.
    pub key_ct: Vec<u8>,
    pub expiration: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// Managed and inline policies, attachments and roles.
#[derive(Debug, Default, Clone)]
pub struct PolicyTables {
    pub managed_policies: Vec<ManagedPolicyRow>,
    /// (policy ARN, version), oldest first.
    pub policy_versions: Vec<(String, PolicyVersionRec)>,
    pub policy_tags: Vec<TagRow>,
    /// By name within each owner.
    pub inline_policies: Vec<InlinePolicyRow>,
    /// (owner, policy ARN), in the order they were attached.
    pub attachments: Vec<(OwnerId, String)>,
    pub roles: Vec<RoleRow>,
    pub role_tags: Vec<TagRow>,
}

/// A tag of the entity `owner` (a user id, role id or policy ARN), in the order set.
#[derive(Debug, Clone)]
pub struct TagRow {
    pub owner: String,
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone)]
pub struct SealedAccessKey {
    pub id: String,
    pub account: String,
    pub user_id: Option<String>,
    /// Sealed with the keyring, AAD = key id.
    pub secret_ct: Vec<u8>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    /// When, where and with which service the key was last used, as last recorded.
    pub last_used: Option<super::key_usage::KeyUse>,
}

#[derive(Debug, Clone)]
pub struct SealedMfaDevice {
    pub serial: String,
    pub account: String,
    pub name: String,
    pub path: String,
    /// Sealed with the keyring, AAD = serial.
    pub seed_ct: Vec<u8>,
    pub user_id: Option<String>,
    pub enabled_at: Option<DateTime<Utc>>,
    pub last_step: Option<u64>,
    pub drift_steps: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct SealedSamlKey {
    pub id: String,
    pub account: String,
    /// The provider's name.
    pub provider: String,
    /// PKCS#8 PEM sealed with the keyring, AAD = key id.
    pub key_ct: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

/// One `DeleteServiceLinkedRole`: its task id and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleDeletionTask {
    /// `task/aws-service-role/<service>/<role name>/<uuid>`.
    pub id: String,
    pub account: String,
    /// `SUCCEEDED`, `IN_PROGRESS`, `FAILED` or `NOT_STARTED`.
    pub status: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct ManagedPolicyRow {
    pub arn: String,
    pub id: String,
    pub account: String,
    pub name: String,
    pub path: String,
    pub description: Option<String>,
    pub default_version: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct InlinePolicyRow {
    pub owner: OwnerId,
    pub name: String,
    pub document: String,
}

#[derive(Debug, Clone)]
pub struct RoleRow {
    pub id: String,
    pub account: String,
    pub name: String,
    pub path: String,
    pub description: Option<String>,
    pub trust_document: String,
    /// Principal ARN -> unique id, JSON.
    pub trust_bindings: String,
    pub max_session: i64,
    pub boundary: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The service of a service-linked role.
    pub linked_service: Option<String>,
}
