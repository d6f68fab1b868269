//! Managed policies, their versions, inline policies, attachments and roles: the part of the
//! snapshot that holds them compiled.
//!
//! Documents are validated by [`crate::policy::Policy::parse`] before they are written; the
//! snapshot compiles each once per reload so requests only ever evaluate compiled policies.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::backend::PolicyTables;
use super::model::{Role, Tags};
use crate::policy::{Policy, PolicyKind};

/// Who an inline policy or attachment belongs to.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    User(&'a str),
    Group(&'a str),
    Role(&'a str),
}

impl Owner<'_> {
    pub fn kind(&self) -> &'static str {
        match self {
            Owner::User(_) => "user",
            Owner::Group(_) => "group",
            Owner::Role(_) => "role",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Owner::User(id) | Owner::Group(id) | Owner::Role(id) => id,
        }
    }

    pub fn key(&self) -> (String, String) {
        (self.kind().to_owned(), self.id().to_owned())
    }
}

#[derive(Debug, Clone)]
pub struct PolicyVersionRec {
    pub version_id: String,
    pub document: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct ManagedPolicy {
    pub arn: String,
    pub id: String,
    pub account: String,
    pub name: String,
    pub path: String,
    pub description: Option<String>,
    pub default_version: String,
    pub versions: Vec<PolicyVersionRec>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub tags: Tags,
    /// The default version, compiled.
    pub compiled: Arc<Policy>,
    pub attachment_count: usize,
    /// Users and roles using this policy as their permissions boundary.
    pub boundary_usage_count: usize,
}

impl ManagedPolicy {
    pub fn default_document(&self) -> &str {
        self.versions
            .iter()
            .find(|v| v.version_id == self.default_version)
            .map_or("", |v| v.document.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct InlinePolicy {
    pub name: String,
    pub document: String,
    pub compiled: Arc<Policy>,
}

/// Policies and roles, as the snapshot holds them.
#[derive(Debug, Default)]
pub struct PolicyState {
    pub managed: BTreeMap<String, ManagedPolicy>,
    /// (owner kind, owner id) -> inline policies, by name.
    pub inline: HashMap<(String, String), Vec<InlinePolicy>>,
    /// (owner kind, owner id) -> attached managed policy ARNs, in attachment order.
    pub attached: HashMap<(String, String), Vec<String>>,
    pub roles: HashMap<String, Role>,
    /// (account, lowercase role name) -> role id, ordered for `ListRoles`.
    pub role_names: BTreeMap<(String, String), String>,
}

impl PolicyState {
    /// Compile the policy rows. A stored document that no longer parses is logged and left out.
    pub fn build(t: PolicyTables) -> PolicyState {
        let mut s = PolicyState::default();
        let mut versions: HashMap<String, Vec<PolicyVersionRec>> = HashMap::new();
        for (arn, v) in t.policy_versions {
            versions.entry(arn).or_default().push(v);
        }
        let mut tags: HashMap<String, Tags> = HashMap::new();
        for tag in t.policy_tags {
            tags.entry(tag.owner)
                .or_default()
                .push((tag.key, tag.value));
        }
        for m in t.managed_policies {
            let versions = versions.remove(&m.arn).unwrap_or_default();
            let doc = versions
                .iter()
                .find(|v| v.version_id == m.default_version)
                .map(|v| v.document.clone())
                .unwrap_or_default();
            let compiled = match Policy::parse(&doc, PolicyKind::Identity) {
                Ok(p) => Arc::new(p),
                Err(e) => {
                    tracing::error!(policy = %m.arn, error = %e.message, "store: stored managed policy no longer parses; skipped");
                    continue;
                }
            };
            s.managed.insert(
                m.arn.clone(),
                ManagedPolicy {
                    tags: tags.remove(&m.arn).unwrap_or_default(),
                    arn: m.arn,
                    id: m.id,
                    account: m.account,
                    name: m.name,
                    path: m.path,
                    description: m.description,
                    default_version: m.default_version,
                    versions,
                    created_at: m.created_at,
                    updated_at: m.updated_at,
                    compiled,
                    attachment_count: 0,
                    boundary_usage_count: 0,
                },
            );
        }
        for i in t.inline_policies {
            match Policy::parse(&i.document, PolicyKind::Identity) {
                Ok(p) => s
                    .inline
                    .entry(i.owner.as_owner().key())
                    .or_default()
                    .push(InlinePolicy {
                        name: i.name,
                        document: i.document,
                        compiled: Arc::new(p),
                    }),
                Err(e) => {
                    tracing::error!(owner = %i.owner.as_owner().id(), policy = %i.name, error = %e.message, "store: stored inline policy no longer parses; skipped")
                }
            }
        }
        for (owner, arn) in t.attachments {
            if let Some(p) = s.managed.get_mut(&arn) {
                p.attachment_count += 1;
            }
            s.attached
                .entry(owner.as_owner().key())
                .or_default()
                .push(arn);
        }
        let mut role_tags: HashMap<String, Tags> = HashMap::new();
        for tag in t.role_tags {
            role_tags
                .entry(tag.owner)
                .or_default()
                .push((tag.key, tag.value));
        }
        for r in t.roles {
            let trust = match compile_trust(&r.trust_document, &r.trust_bindings) {
                Ok(p) => Arc::new(p),
                Err(e) => {
                    tracing::error!(role = %r.name, error = %e, "store: stored trust policy no longer parses; role skipped");
                    continue;
                }
            };
            s.role_names
                .insert((r.account.clone(), r.name.to_lowercase()), r.id.clone());
            s.roles.insert(
                r.id.clone(),
                Role {
                    tags: role_tags.remove(&r.id).unwrap_or_default(),
                    id: r.id,
                    account: r.account,
                    name: r.name,
                    path: r.path,
                    description: r.description,
                    trust_document: r.trust_document,
                    trust,
                    max_session: r.max_session,
                    boundary: r.boundary,
                    created_at: r.created_at,
                    linked_service: r.linked_service,
                },
            );
        }
        s
    }

    pub fn role_by_name(&self, account: &str, name: &str) -> Option<&Role> {
        self.role_names
            .get(&(account.to_owned(), name.to_lowercase()))
            .and_then(|id| self.roles.get(id))
    }

    pub fn inline_of(&self, owner: Owner<'_>) -> &[InlinePolicy] {
        self.inline.get(&owner.key()).map_or(&[], Vec::as_slice)
    }

    pub fn attached_to(&self, owner: Owner<'_>) -> impl Iterator<Item = &ManagedPolicy> {
        self.attached
            .get(&owner.key())
            .into_iter()
            .flatten()
            .filter_map(|arn| self.managed.get(arn))
    }
}

/// Compile a trust policy and bind its principal ARNs to the unique ids recorded at save time
/// (JSON object ARN -> id). An ARN recorded without an id can never match.
pub(crate) fn compile_trust(document: &str, bindings: &str) -> Result<Policy, String> {
    let mut p = Policy::parse(document, PolicyKind::Trust).map_err(|e| e.message)?;
    let map: HashMap<String, String> = serde_json::from_str(bindings).map_err(|e| e.to_string())?;
    p.bind_principal_ids(|arn| map.get(arn).cloned());
    Ok(p)
}
