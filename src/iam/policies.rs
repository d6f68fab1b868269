//! Managed policies and their versions, inline policies, attachments and permissions
//! boundaries. Every document is parsed and validated once, by its input, before it is stored.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::credentials::{self, UniqueIdKind};
use crate::error::{ApiError, ApiResult};
use crate::policy::check_size;
use crate::protocol::input::{ArnParam, enum_field, input};
use crate::protocol::output::Output;
use crate::protocol::params::Validator;
use crate::protocol::xml::Xml;
use crate::request::Cx;
use crate::store::policies::{ManagedPolicy, Owner, PolicyVersionRec};
use crate::store::{Applied, Change, Entity, NewPolicy, StoreError};

use super::entity::{EntityKind, Named, Target};
use super::errors::{
    aws_managed_policy_undeletable, aws_managed_policy_unmodifiable, no_such_policy,
    no_such_policy_version, store_error,
};
use super::input::{
    IamPath, IamTags, Name, Paging, PathPrefix, PolicyDocument, TagKeys, policy_error,
};
use super::tags::TagPage;
use super::{Member, Page, limits, write_tags};

/// Policy documents go out URL-encoded (botocore decodes them); keep unreserved characters.
const DOC_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub(crate) fn encode_document(doc: &str) -> String {
    utf8_percent_encode(doc, DOC_ENCODE).to_string()
}

/// A document within the size quota of where it is stored.
pub(crate) fn check_document_size<const KIND: u8>(
    doc: &PolicyDocument<KIND>,
    max: usize,
) -> ApiResult<()> {
    check_size(&doc.text, max).map_err(policy_error)
}

/// `VersionId`: `v` and digits.
#[derive(Debug, Clone)]
pub(crate) struct VersionId(String);

impl crate::protocol::input::Field for VersionId {
    fn read(name: &str, raw: &str, v: &mut Validator) -> ApiResult<Self> {
        let ok = raw
            .strip_prefix('v')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        v.check(
            name,
            raw,
            ok,
            r"Member must satisfy regular expression pattern: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?",
        );
        Ok(Self(raw.to_owned()))
    }
}

/// A managed policy's description: up to 1000 characters.
#[derive(Debug, Clone)]
pub(crate) struct PolicyDescription(String);

impl crate::protocol::input::Field for PolicyDescription {
    fn read(name: &str, raw: &str, v: &mut Validator) -> ApiResult<Self> {
        v.length(name, raw, 0, 1000);
        Ok(Self(raw.to_owned()))
    }
}

/// `GetPolicy` shows the description and the tags (an empty `Tags` list when there are none);
/// `CreatePolicy` and `List*` calls show neither, as AWS's do.
fn write_policy(x: &mut Xml, m: &ManagedPolicy, full: bool) {
    x.elem("PolicyName", &m.name)
        .elem("PolicyId", &m.id)
        .arn("Arn", &m.arn)
        .elem("Path", &m.path)
        .elem("DefaultVersionId", &m.default_version)
        .num("AttachmentCount", m.attachment_count)
        .num("PermissionsBoundaryUsageCount", m.boundary_usage_count)
        .boolean("IsAttachable", true)
        .opt("Description", m.description.as_deref().filter(|_| full))
        .time("CreateDate", m.created_at)
        .time("UpdateDate", m.updated_at);
    if full {
        write_tags(x, &m.tags);
    }
}

impl Member for ManagedPolicy {
    fn write(&self, x: &mut Xml) {
        write_policy(x, self, false);
    }
}

/// `<Policy>`, as `CreatePolicy` (`full: false`) and `GetPolicy` (`full: true`) answer.
#[derive(Debug)]
pub(crate) struct PolicyOutput {
    policy: ManagedPolicy,
    full: bool,
}

impl Output for PolicyOutput {
    fn write(&self, x: &mut Xml) {
        x.nest("Policy", |x| write_policy(x, &self.policy, self.full));
    }
}

/// The managed policy `arn` of the caller's account, or an AWS managed one (with the caller's
/// account's counts).
pub(crate) fn find_policy(cx: &Cx<'_>, arn: &str) -> ApiResult<ManagedPolicy> {
    let view = cx.state.store.view();
    view.policies
        .managed
        .get(arn)
        .filter(|m| m.account == cx.account() || m.account == "aws")
        .map(|m| view.policy_in_account(m, cx.account()))
        .ok_or_else(|| no_such_policy(arn))
}

input! {
    /// `CreatePolicy`
    pub(crate) struct CreatePolicyInput {
        policy_name: Name = required("PolicyName"),
        path: IamPath = or_default("Path"),
        policy_document: PolicyDocument = required("PolicyDocument"),
        description: Option<PolicyDescription> = optional("Description"),
        tags: IamTags = nested(),
    }
}

pub(crate) async fn create_policy(
    cx: &Cx<'_>,
    input: CreatePolicyInput,
) -> ApiResult<PolicyOutput> {
    check_document_size(&input.policy_document, limits::MANAGED_POLICY_MAX)?;
    let (name, path) = (input.policy_name.into_string(), input.path.0);
    let arn = cx.arn("policy", &path, &name);
    cx.authorize(&arn)?;
    let id = credentials::new_unique_id(UniqueIdKind::Policy)?;
    cx.state
        .store
        .apply_one(Change::CreatePolicy {
            policy: NewPolicy {
                arn: arn.clone(),
                id,
                account: cx.account().to_owned(),
                name: name.clone(),
                path,
                description: input.description.map(|d| d.0),
                document: input.policy_document.text,
                tags: input.tags.0,
                created_at: cx.info.now,
            },
            max_per_account: limits::POLICIES_PER_ACCOUNT,
        })
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(Entity::Policy) => ApiError::entity_already_exists(format!(
                "A policy called {name} already exists. Duplicate names are not allowed."
            )),
            e => store_error(e),
        })?;
    Ok(PolicyOutput {
        policy: find_policy(cx, &arn)?,
        full: false,
    })
}

input! {
    /// `GetPolicy`, `DeletePolicy`
    pub(crate) struct PolicyArnInput {
        policy_arn: ArnParam = required("PolicyArn"),
    }
}

pub(crate) async fn get_policy(cx: &Cx<'_>, input: PolicyArnInput) -> ApiResult<PolicyOutput> {
    let arn = input.policy_arn.as_str();
    cx.authorize(arn)?;
    Ok(PolicyOutput {
        policy: find_policy(cx, arn)?,
        full: true,
    })
}

input! {
    /// `GetPolicyVersion`, `SetDefaultPolicyVersion`, `DeletePolicyVersion`
    pub(crate) struct PolicyVersionInput {
        policy_arn: ArnParam = required("PolicyArn"),
        version_id: VersionId = required("VersionId"),
    }
}

/// One version of a managed policy: with its document (`GetPolicyVersion`) or without
/// (`CreatePolicyVersion`, `ListPolicyVersions`).
#[derive(Debug)]
pub(crate) struct VersionOutput {
    version: PolicyVersionRec,
    is_default: bool,
    with_document: bool,
}

impl Member for VersionOutput {
    fn write(&self, x: &mut Xml) {
        if self.with_document {
            x.elem("Document", &encode_document(&self.version.document));
        }
        x.elem("VersionId", &self.version.version_id)
            .boolean("IsDefaultVersion", self.is_default)
            .time("CreateDate", self.version.created_at);
    }
}

impl Output for VersionOutput {
    fn write(&self, x: &mut Xml) {
        x.nest("PolicyVersion", |x| Member::write(self, x));
    }
}

pub(crate) async fn get_policy_version(
    cx: &Cx<'_>,
    input: PolicyVersionInput,
) -> ApiResult<VersionOutput> {
    let (arn, vid) = (input.policy_arn.as_str(), &input.version_id.0);
    cx.authorize(arn)?;
    let m = find_policy(cx, arn)?;
    let v = m
        .versions
        .iter()
        .find(|v| &v.version_id == vid)
        .ok_or_else(|| no_such_policy_version(arn, vid))?;
    Ok(VersionOutput {
        is_default: v.version_id == m.default_version,
        version: v.clone(),
        with_document: true,
    })
}

input! {
    /// `CreatePolicyVersion`
    pub(crate) struct CreatePolicyVersionInput {
        policy_arn: ArnParam = required("PolicyArn"),
        policy_document: PolicyDocument = required("PolicyDocument"),
        set_as_default: Option<bool> = optional("SetAsDefault"),
    }
}

pub(crate) async fn create_policy_version(
    cx: &Cx<'_>,
    input: CreatePolicyVersionInput,
) -> ApiResult<VersionOutput> {
    check_document_size(&input.policy_document, limits::MANAGED_POLICY_MAX)?;
    let arn = input.policy_arn.into_string();
    let set_default = input.set_as_default.unwrap_or(false);
    cx.authorize(&arn)?;
    check_customer_managed(&find_policy(cx, &arn)?)?;
    let now = cx.info.now;
    let created = cx
        .state
        .store
        .apply_one(Change::CreatePolicyVersion {
            arn: arn.clone(),
            document: input.policy_document.text,
            set_default,
            created_at: now,
            max_versions: limits::POLICY_VERSIONS,
        })
        .await
        .map_err(|e| policy_error_for(e, &arn))?;
    let Applied::PolicyVersion(vid) = created else {
        return Err(ApiError::internal().with_detail("store: no version id"));
    };
    Ok(VersionOutput {
        version: PolicyVersionRec {
            version_id: vid,
            document: String::new(),
            created_at: now,
        },
        is_default: set_default,
        with_document: false,
    })
}

input! {
    /// `ListPolicyVersions`
    pub(crate) struct ListPolicyVersionsInput {
        policy_arn: ArnParam = required("PolicyArn"),
        paging: Paging = nested(),
    }
}

pub(crate) async fn list_policy_versions(
    cx: &Cx<'_>,
    input: ListPolicyVersionsInput,
) -> ApiResult<Page<VersionOutput>> {
    let (arn, paging) = (input.policy_arn.as_str(), input.paging);
    cx.authorize(arn)?;
    let m = find_policy(cx, arn)?;
    let versions = m.versions.iter().rev().map(|v| VersionOutput {
        version: v.clone(),
        is_default: v.version_id == m.default_version,
        with_document: false,
    });
    Ok(Page::by_position(
        "Versions",
        versions,
        paging.marker.as_deref(),
        paging.max_items,
    ))
}

pub(crate) async fn set_default_policy_version(
    cx: &Cx<'_>,
    input: PolicyVersionInput,
) -> ApiResult<()> {
    let (arn, vid) = (input.policy_arn.into_string(), input.version_id.0);
    cx.authorize(&arn)?;
    check_customer_managed(&find_policy(cx, &arn)?)?;
    cx.state
        .store
        .apply_one(Change::SetDefaultPolicyVersion {
            arn: arn.clone(),
            version_id: vid.clone(),
            updated_at: cx.info.now,
        })
        .await
        .map_err(|e| version_error(e, &arn, &vid))?;
    Ok(())
}

pub(crate) async fn delete_policy_version(cx: &Cx<'_>, input: PolicyVersionInput) -> ApiResult<()> {
    let (arn, vid) = (input.policy_arn.into_string(), input.version_id.0);
    cx.authorize(&arn)?;
    check_customer_managed(&find_policy(cx, &arn)?)?;
    cx.state
        .store
        .apply_one(Change::DeletePolicyVersion {
            arn: arn.clone(),
            version_id: vid.clone(),
        })
        .await
        .map_err(|e| version_error(e, &arn, &vid))?;
    Ok(())
}

pub(crate) async fn delete_policy(cx: &Cx<'_>, input: PolicyArnInput) -> ApiResult<()> {
    let arn = input.policy_arn.into_string();
    cx.authorize(&arn)?;
    let m = find_policy(cx, &arn)?;
    if m.account == "aws" {
        return Err(aws_managed_policy_undeletable(&arn));
    }
    cx.state
        .store
        .apply_one(Change::DeletePolicy { arn: arn.clone() })
        .await
        .map_err(|e| policy_error_for(e, &arn))?;
    Ok(())
}

/// AWS managed policies are read-only (`UnmodifiableEntity`).
fn check_customer_managed(m: &ManagedPolicy) -> ApiResult<()> {
    if m.account == "aws" {
        return Err(aws_managed_policy_unmodifiable(&m.arn));
    }
    Ok(())
}

/// A failed change to the managed policy `arn`.
fn policy_error_for(e: StoreError, arn: &str) -> ApiError {
    match e {
        StoreError::NotFound(Entity::Policy) => no_such_policy(arn),
        e => store_error(e),
    }
}

/// A failed change to version `vid` of the managed policy `arn`.
fn version_error(e: StoreError, arn: &str, vid: &str) -> ApiError {
    match e {
        StoreError::NotFound(Entity::PolicyVersion) => no_such_policy_version(arn, vid),
        e => policy_error_for(e, arn),
    }
}

enum_field!(
    /// `Scope` of `ListPolicies`.
    #[allow(clippy::upper_case_acronyms, reason = "the variants are the wire values")]
    PolicyScope { All, AWS, Local }
);

input! {
    /// `ListPolicies`
    pub(crate) struct ListPoliciesInput {
        scope: Option<PolicyScope> = optional("Scope"),
        only_attached: Option<bool> = optional("OnlyAttached"),
        path_prefix: PathPrefix = or_default("PathPrefix"),
        paging: Paging = nested(),
    }
}

pub(crate) async fn list_policies(
    cx: &Cx<'_>,
    input: ListPoliciesInput,
) -> ApiResult<Page<ManagedPolicy>> {
    let scope = input.scope.unwrap_or(PolicyScope::All);
    let only_attached = input.only_attached.unwrap_or(false);
    let (prefix, paging) = (input.path_prefix.0, input.paging);
    cx.authorize(&cx.arn("policy", "/", ""))?;
    let view = cx.state.store.view();
    let account = cx.account();
    let items = view
        .policies
        .managed
        .values()
        .filter(|m| match scope {
            PolicyScope::AWS => m.account == "aws",
            PolicyScope::Local => m.account == account,
            PolicyScope::All => m.account == "aws" || m.account == account,
        })
        .filter(|m| m.path.starts_with(&prefix))
        .filter(|m| {
            paging
                .marker
                .as_deref()
                .is_none_or(|mk| m.arn.as_str() > mk)
        })
        .map(|m| view.policy_in_account(m, account))
        .filter(|m| !only_attached || m.attachment_count > 0)
        .map(|m| (m.arn.clone(), m));
    Ok(Page::of("Policies", items, paging.max_items))
}

// --- owners: users, groups, roles ------------------------------------------------------------

input! {
    /// `Attach{User,Group,Role}Policy`, `Detach{User,Group,Role}Policy`
    pub(crate) struct AttachmentInput<K: EntityKind> {
        entity: Named<K> = nested(),
        policy_arn: ArnParam = required("PolicyArn"),
    }
}

pub(crate) async fn attach_policy<K: EntityKind>(
    cx: &Cx<'_>,
    input: AttachmentInput<K>,
) -> ApiResult<()> {
    let t = input.entity.authorized(cx)?;
    t.check_modifiable()?;
    let arn = input.policy_arn.into_string();
    cx.state
        .store
        .apply_one(Change::AttachPolicy {
            owner: t.owner().into(),
            arn: arn.clone(),
            max_per_owner: limits::MANAGED_POLICIES_PER_ENTITY,
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(Entity::Policy) => ApiError::no_such_entity(format!(
                "Policy {arn} does not exist or is not attachable."
            )),
            StoreError::LimitExceeded(Entity::Attachment) => {
                let quota = match t.owner() {
                    Owner::User(_) => "PoliciesPerUser",
                    Owner::Group(_) => "PoliciesPerGroup",
                    Owner::Role(_) => "PoliciesPerRole",
                };
                ApiError::limit_exceeded(format!(
                    "Cannot exceed quota for {quota}: {}",
                    limits::MANAGED_POLICIES_PER_ENTITY
                ))
            }
            e => store_error(e),
        })?;
    Ok(())
}

pub(crate) async fn detach_policy<K: EntityKind>(
    cx: &Cx<'_>,
    input: AttachmentInput<K>,
) -> ApiResult<()> {
    let t = input.entity.authorized(cx)?;
    t.check_modifiable()?;
    let arn = input.policy_arn.into_string();
    cx.state
        .store
        .apply_one(Change::DetachPolicy {
            owner: t.owner().into(),
            arn: arn.clone(),
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(Entity::Attachment) => no_such_policy(&arn),
            e => store_error(e),
        })?;
    Ok(())
}

input! {
    /// `ListAttached{User,Group,Role}Policies`
    pub(crate) struct ListAttachedInput<K: EntityKind> {
        entity: Named<K> = nested(),
        path_prefix: PathPrefix = or_default("PathPrefix"),
        paging: Paging = nested(),
    }
}

/// An attached managed policy, as `ListAttached*Policies` shows it.
#[derive(Debug)]
pub(crate) struct AttachedPolicy {
    name: String,
    arn: String,
}

impl Member for AttachedPolicy {
    fn write(&self, x: &mut Xml) {
        x.elem("PolicyName", &self.name).arn("PolicyArn", &self.arn);
    }
}

pub(crate) async fn list_attached_policies<K: EntityKind>(
    cx: &Cx<'_>,
    input: ListAttachedInput<K>,
) -> ApiResult<Page<AttachedPolicy>> {
    let (prefix, paging) = (input.path_prefix.0, input.paging);
    let t = input.entity.authorized(cx)?;
    let view = cx.state.store.view();
    let items: Vec<AttachedPolicy> = view
        .policies
        .attached_to(t.owner())
        .filter(|m| m.path.starts_with(&prefix))
        .map(|m| AttachedPolicy {
            name: m.name.clone(),
            arn: m.arn.clone(),
        })
        .collect();
    Ok(Page::by_position(
        "AttachedPolicies",
        items,
        paging.marker.as_deref(),
        paging.max_items,
    ))
}

input! {
    /// `Put{User,Group,Role}Policy`
    pub(crate) struct PutInlineInput<K: EntityKind> {
        entity: Named<K> = nested(),
        policy_name: Name = required("PolicyName"),
        policy_document: PolicyDocument = required("PolicyDocument"),
    }
}

pub(crate) async fn put_inline_policy<K: EntityKind>(
    cx: &Cx<'_>,
    input: PutInlineInput<K>,
) -> ApiResult<()> {
    let t = input.entity.authorized(cx)?;
    t.check_modifiable()?;
    let limit = limits::inline_limit(t.owner());
    check_document_size(&input.policy_document, limit)?;
    cx.state
        .store
        .apply_one(Change::PutInlinePolicy {
            owner: t.owner().into(),
            name: input.policy_name.into_string(),
            document: input.policy_document.text,
            max_total_size: limit,
        })
        .await
        .map_err(|e| match e {
            StoreError::LimitExceeded(Entity::InlinePolicy) => ApiError::limit_exceeded(format!(
                "Maximum policy size of {limit} bytes exceeded for {} {}",
                t.kind, t.name
            )),
            e => store_error(e),
        })?;
    Ok(())
}

input! {
    /// `Get{User,Group,Role}Policy`, `Delete{User,Group,Role}Policy`
    pub(crate) struct InlinePolicyInput<K: EntityKind> {
        entity: Named<K> = nested(),
        policy_name: Name = required("PolicyName"),
    }
}

fn no_such_inline(t: &Target, name: &str) -> ApiError {
    ApiError::no_such_entity(format!(
        "The {} policy with name {name} cannot be found.",
        t.kind
    ))
}

/// An inline policy with its owner, as `Get*Policy` answers.
#[derive(Debug)]
pub(crate) struct InlinePolicyOutput {
    owner_param: &'static str,
    owner_name: String,
    name: String,
    document: String,
}

impl Output for InlinePolicyOutput {
    fn write(&self, x: &mut Xml) {
        x.elem(self.owner_param, &self.owner_name)
            .elem("PolicyName", &self.name)
            .elem("PolicyDocument", &encode_document(&self.document));
    }
}

pub(crate) async fn get_inline_policy<K: EntityKind>(
    cx: &Cx<'_>,
    input: InlinePolicyInput<K>,
) -> ApiResult<InlinePolicyOutput> {
    let name = input.policy_name.as_str();
    let t = input.entity.authorized(cx)?;
    let view = cx.state.store.view();
    let pol = view
        .policies
        .inline_of(t.owner())
        .iter()
        .find(|i| i.name == name)
        .ok_or_else(|| no_such_inline(&t, name))?;
    Ok(InlinePolicyOutput {
        owner_param: K::NAME_PARAM,
        owner_name: t.name.clone(),
        name: pol.name.clone(),
        document: pol.document.clone(),
    })
}

pub(crate) async fn delete_inline_policy<K: EntityKind>(
    cx: &Cx<'_>,
    input: InlinePolicyInput<K>,
) -> ApiResult<()> {
    let name = input.policy_name.into_string();
    let t = input.entity.authorized(cx)?;
    t.check_modifiable()?;
    cx.state
        .store
        .apply_one(Change::DeleteInlinePolicy {
            owner: t.owner().into(),
            name: name.clone(),
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(Entity::InlinePolicy) => no_such_inline(&t, &name),
            e => store_error(e),
        })?;
    Ok(())
}

input! {
    /// `List{User,Group,Role}Policies`
    pub(crate) struct ListInlineInput<K: EntityKind> {
        entity: Named<K> = nested(),
        paging: Paging = nested(),
    }
}

/// A name in a list of plain strings (`<member>name</member>`).
#[derive(Debug)]
pub(crate) struct PolicyName(String);

impl Member for PolicyName {
    fn write(&self, x: &mut Xml) {
        x.elem_text(&self.0);
    }
}

pub(crate) async fn list_inline_policies<K: EntityKind>(
    cx: &Cx<'_>,
    input: ListInlineInput<K>,
) -> ApiResult<Page<PolicyName>> {
    let paging = input.paging;
    let t = input.entity.authorized(cx)?;
    let view = cx.state.store.view();
    let names = view
        .policies
        .inline_of(t.owner())
        .iter()
        .filter(|i| paging.marker.as_deref().is_none_or(|m| i.name.as_str() > m))
        .map(|i| (i.name.clone(), PolicyName(i.name.clone())));
    Ok(Page::of("PolicyNames", names, paging.max_items))
}

/// Entities that can have a permissions boundary: users and roles.
pub(crate) trait BoundedKind: EntityKind {
    fn set_boundary(t: &Target, boundary: Option<String>) -> Change;
}

impl BoundedKind for super::entity::UserKind {
    fn set_boundary(t: &Target, boundary: Option<String>) -> Change {
        Change::SetUserBoundary {
            user_id: t.id.clone(),
            boundary,
        }
    }
}

impl BoundedKind for super::entity::RoleKind {
    fn set_boundary(t: &Target, boundary: Option<String>) -> Change {
        Change::SetRoleBoundary {
            role_id: t.id.clone(),
            boundary,
        }
    }
}

input! {
    /// `Put{User,Role}PermissionsBoundary`
    pub(crate) struct PutBoundaryInput<K: BoundedKind> {
        entity: Named<K> = nested(),
        permissions_boundary: ArnParam = required("PermissionsBoundary"),
    }
}

pub(crate) async fn put_boundary<K: BoundedKind>(
    cx: &Cx<'_>,
    input: PutBoundaryInput<K>,
) -> ApiResult<()> {
    let t = input.entity.authorized(cx)?;
    t.check_modifiable()?;
    let arn = input.permissions_boundary.into_string();
    crate::authorization::check_boundary_arn(cx.state, &arn)?;
    cx.state
        .store
        .apply_one(K::set_boundary(&t, Some(arn)))
        .await
        .map_err(store_error)?;
    Ok(())
}

input! {
    /// `Delete{User,Role}PermissionsBoundary`
    pub(crate) struct DeleteBoundaryInput<K: BoundedKind> {
        entity: Named<K> = nested(),
    }
}

pub(crate) async fn delete_boundary<K: BoundedKind>(
    cx: &Cx<'_>,
    input: DeleteBoundaryInput<K>,
) -> ApiResult<()> {
    let t = input.entity.authorized(cx)?;
    t.check_modifiable()?;
    cx.state
        .store
        .apply_one(K::set_boundary(&t, None))
        .await
        .map_err(store_error)?;
    Ok(())
}

// --- tags of managed policies ----------------------------------------------------------------

input! {
    /// `TagPolicy`
    pub(crate) struct TagPolicyInput {
        policy_arn: ArnParam = required("PolicyArn"),
        tags: IamTags = nested(),
    }
    check(this) {
        if this.tags.0.is_empty() {
            return Err(ApiError::missing_parameter("Tags"));
        }
        Ok(())
    }
}

/// The caller's managed policy `arn`, once the caller may act on it (with its tags as
/// `aws:ResourceTag/*`).
fn authorized_policy(cx: &Cx<'_>, arn: &str) -> ApiResult<ManagedPolicy> {
    let m = find_policy(cx, arn)?;
    cx.authorize_tagged(arn, &m.tags)?;
    Ok(m)
}

pub(crate) async fn tag_policy(cx: &Cx<'_>, input: TagPolicyInput) -> ApiResult<()> {
    let arn = input.policy_arn.into_string();
    let m = authorized_policy(cx, &arn)?;
    check_customer_managed(&m)?;
    let tags = input.tags.0;
    super::check_tag_quota(&m.tags, &tags, "TagsPerPolicy")?;
    cx.state
        .store
        .apply_one(Change::TagPolicy {
            arn: arn.clone(),
            tags,
        })
        .await
        .map_err(|e| policy_error_for(e, &arn))?;
    Ok(())
}

input! {
    /// `UntagPolicy`
    pub(crate) struct UntagPolicyInput {
        policy_arn: ArnParam = required("PolicyArn"),
        tag_keys: TagKeys = nested(),
    }
    check(this) {
        if this.tag_keys.0.is_empty() {
            return Err(ApiError::missing_parameter("TagKeys"));
        }
        Ok(())
    }
}

pub(crate) async fn untag_policy(cx: &Cx<'_>, input: UntagPolicyInput) -> ApiResult<()> {
    let arn = input.policy_arn.into_string();
    check_customer_managed(&authorized_policy(cx, &arn)?)?;
    cx.state
        .store
        .apply_one(Change::UntagPolicy {
            arn: arn.clone(),
            keys: input.tag_keys.0,
        })
        .await
        .map_err(|e| policy_error_for(e, &arn))?;
    Ok(())
}

input! {
    /// `ListPolicyTags`
    pub(crate) struct ListPolicyTagsInput {
        policy_arn: ArnParam = required("PolicyArn"),
        paging: Paging = nested(),
    }
}

pub(crate) async fn list_policy_tags(
    cx: &Cx<'_>,
    input: ListPolicyTagsInput,
) -> ApiResult<TagPage> {
    let m = authorized_policy(cx, &input.policy_arn)?;
    Ok(TagPage::of(&m.tags, &input.paging))
}

// --- who uses a managed policy ---------------------------------------------------------------

enum_field!(
    /// `EntityFilter` of `ListEntitiesForPolicy`.
    #[allow(clippy::upper_case_acronyms, reason = "the variants are the wire values")]
    EntityFilter { User, Role, Group, LocalManagedPolicy, AWSManagedPolicy }
);

enum_field!(
    /// `PolicyUsageFilter` of `ListEntitiesForPolicy`.
    PolicyUsage { PermissionsPolicy, PermissionsBoundary }
);

input! {
    /// `ListEntitiesForPolicy`
    pub(crate) struct ListEntitiesForPolicyInput {
        policy_arn: ArnParam = required("PolicyArn"),
        entity_filter: Option<EntityFilter> = optional("EntityFilter"),
        path_prefix: PathPrefix = or_default("PathPrefix"),
        policy_usage_filter: Option<PolicyUsage> = optional("PolicyUsageFilter"),
        paging: Paging = nested(),
    }
}

/// One entity that uses a policy, as `ListEntitiesForPolicy` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PolicyEntity {
    Group { name: String, id: String },
    User { name: String, id: String },
    Role { name: String, id: String },
}

/// `PolicyGroups`, `PolicyUsers`, `PolicyRoles` and paging.
#[derive(Debug)]
pub(crate) struct PolicyEntities {
    entities: Vec<PolicyEntity>,
    marker: Option<String>,
}

impl PolicyEntity {
    /// The list it goes in, with its name and id elements: `(list, name element, id element)`.
    fn elements(&self) -> (&'static str, &'static str, &'static str) {
        match self {
            PolicyEntity::Group { .. } => ("PolicyGroups", "GroupName", "GroupId"),
            PolicyEntity::User { .. } => ("PolicyUsers", "UserName", "UserId"),
            PolicyEntity::Role { .. } => ("PolicyRoles", "RoleName", "RoleId"),
        }
    }

    fn name_and_id(&self) -> (&str, &str) {
        match self {
            PolicyEntity::Group { name, id }
            | PolicyEntity::User { name, id }
            | PolicyEntity::Role { name, id } => (name, id),
        }
    }
}

impl Output for PolicyEntities {
    fn write(&self, x: &mut Xml) {
        for list in ["PolicyGroups", "PolicyUsers", "PolicyRoles"] {
            let members = self.entities.iter().filter(|e| e.elements().0 == list);
            x.list(list, members, |x, e| {
                let (_, name_el, id_el) = e.elements();
                let (name, id) = e.name_and_id();
                x.elem(name_el, name).elem(id_el, id);
            });
        }
        super::write_paging(x, self.marker.as_deref());
    }
}

/// The groups, users and roles of the caller's account that use the policy (attached, or as
/// their permissions boundary), each kind in name order, one page of them.
pub(crate) async fn list_entities_for_policy(
    cx: &Cx<'_>,
    input: ListEntitiesForPolicyInput,
) -> ApiResult<PolicyEntities> {
    let arn = input.policy_arn.as_str();
    cx.authorize(arn)?;
    find_policy(cx, arn)?;
    let view = cx.state.store.view();
    let account = cx.account();
    let prefix = input.path_prefix.0.as_str();
    let usage = input.policy_usage_filter;
    let attached = usage != Some(PolicyUsage::PermissionsBoundary);
    let bounded = usage != Some(PolicyUsage::PermissionsPolicy);
    let attached_to: Vec<(&str, &str)> = if attached {
        view.attachments_of(arn, account).collect()
    } else {
        Vec::new()
    };
    let has = |kind: &str, id: &str| attached_to.contains(&(kind, id));
    let wants = |f: EntityFilter| input.entity_filter.is_none_or(|e| e == f);

    let mut groups: Vec<(&str, PolicyEntity)> = Vec::new();
    let mut users: Vec<(&str, PolicyEntity)> = Vec::new();
    let mut roles: Vec<(&str, PolicyEntity)> = Vec::new();
    if wants(EntityFilter::Group) {
        groups = view
            .groups
            .values()
            .filter(|g| g.account == account && g.path.starts_with(prefix))
            .filter(|g| has("group", &g.id))
            .map(|g| {
                let e = PolicyEntity::Group {
                    name: g.name.clone(),
                    id: g.id.clone(),
                };
                (g.name.as_str(), e)
            })
            .collect();
    }
    if wants(EntityFilter::User) {
        users = view
            .users
            .values()
            .filter(|u| u.account == account && u.path.starts_with(prefix))
            .filter(|u| has("user", &u.id) || (bounded && u.boundary.as_deref() == Some(arn)))
            .map(|u| {
                let e = PolicyEntity::User {
                    name: u.name.clone(),
                    id: u.id.clone(),
                };
                (u.name.as_str(), e)
            })
            .collect();
    }
    if wants(EntityFilter::Role) {
        roles = view
            .policies
            .roles
            .values()
            .filter(|r| r.account == account && r.path.starts_with(prefix))
            .filter(|r| has("role", &r.id) || (bounded && r.boundary.as_deref() == Some(arn)))
            .map(|r| {
                let e = PolicyEntity::Role {
                    name: r.name.clone(),
                    id: r.id.clone(),
                };
                (r.name.as_str(), e)
            })
            .collect();
    }
    for list in [&mut groups, &mut users, &mut roles] {
        list.sort_by_key(|(name, _)| name.to_lowercase());
    }
    let all = groups.into_iter().chain(users).chain(roles).map(|(_, e)| e);
    let (entities, marker) =
        super::page_by_position(all, input.paging.marker.as_deref(), input.paging.max_items);
    Ok(PolicyEntities { entities, marker })
}
