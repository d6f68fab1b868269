//! Managed policies and their versions, inline policies, attachments and permissions
//! boundaries. Every document is parsed and validated once, here, before it is stored.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::ActionOutput;
use crate::credentials::{self, UniqueIdKind};
use crate::error::{ApiError, ApiResult};
use crate::policy::{Policy, PolicyKind, check_size};
use crate::protocol::params::{self, Params, Validator};
use crate::protocol::xml::Xml;
use crate::store::policies::{ManagedPolicy, Owner};
use crate::store::{Change, Entity, NewPolicy, StoreError};

use super::errors::{
    no_such_group, no_such_policy, no_such_policy_version, no_such_role, no_such_user, store_error,
};
use super::limits;
use super::{
    Cx, page, page_by_position, paging, parse_tags, path_param, path_prefix,
    validate_existing_name, write_paging, write_tags,
};

/// Policy documents go out URL-encoded (botocore decodes them); keep unreserved characters.
const DOC_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub(crate) fn encode_document(doc: &str) -> String {
    utf8_percent_encode(doc, DOC_ENCODE).to_string()
}

/// Wire constraints on a policy document parameter, then the policy language itself.
pub(crate) fn document_param(
    p: &Params,
    name: &str,
    kind: PolicyKind,
    max: usize,
) -> ApiResult<(String, Policy)> {
    let doc = p.required(name)?;
    Validator::new()
        .length(name, doc, 1, 131_072)
        .pattern(name, doc, params::POLICY_PATTERN, params::is_policy_char)
        .finish()?;
    let policy = Policy::parse(doc, kind).map_err(policy_error)?;
    check_size(doc, max).map_err(policy_error)?;
    Ok((doc.to_owned(), policy))
}

pub(crate) fn policy_error(e: crate::policy::PolicyError) -> ApiError {
    match e.kind {
        crate::policy::PolicyErrorKind::LimitExceeded => ApiError::limit_exceeded(e.message),
        _ => ApiError::malformed_policy(e.message),
    }
}

fn policy_arn_param(p: &Params, name: &str) -> ApiResult<String> {
    let arn = p.required(name)?;
    Validator::new()
        .length(name, arn, 20, 2048)
        .pattern(name, arn, params::ARN_PATTERN, params::is_arn_char)
        .finish()?;
    Ok(arn.to_owned())
}

fn version_id_param(p: &Params) -> ApiResult<String> {
    let v = p.required("VersionId")?;
    let ok = v
        .strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    Validator::new()
        .check(
            "VersionId",
            v,
            ok,
            r"Member must satisfy regular expression pattern: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?",
        )
        .finish()?;
    Ok(v.to_owned())
}

fn write_policy(x: &mut Xml, m: &ManagedPolicy) {
    x.elem("PolicyName", &m.name)
        .elem("PolicyId", &m.id)
        .elem("Arn", &m.arn)
        .elem("Path", &m.path)
        .elem("DefaultVersionId", &m.default_version)
        .num("AttachmentCount", m.attachment_count)
        .num("PermissionsBoundaryUsageCount", m.boundary_usage_count)
        .boolean("IsAttachable", true)
        .opt("Description", m.description.as_deref())
        .time("CreateDate", m.created_at)
        .time("UpdateDate", m.updated_at);
    if !m.tags.is_empty() {
        write_tags(x, &m.tags);
    }
}

fn find_policy(cx: &Cx<'_>, arn: &str) -> ApiResult<ManagedPolicy> {
    let view = cx.state.store.view();
    view.policies
        .managed
        .get(arn)
        .filter(|m| m.account == cx.account() || m.account == "aws")
        .cloned()
        .ok_or_else(|| no_such_policy(arn))
}

pub(crate) async fn create_policy(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let name = p.required("PolicyName")?.to_owned();
    Validator::new()
        .length("PolicyName", &name, 1, 128)
        .pattern(
            "PolicyName",
            &name,
            params::NAME_PATTERN,
            params::is_name_char,
        )
        .finish()?;
    let path = path_param(p, "Path")?;
    let description = p.get("Description").map(str::to_owned);
    if let Some(d) = &description {
        Validator::new()
            .length("Description", d, 0, 1000)
            .finish()?;
    }
    let tags = parse_tags(p)?;
    let (document, _) = document_param(
        p,
        "PolicyDocument",
        PolicyKind::Identity,
        limits::MANAGED_POLICY_MAX,
    )?;
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
                description,
                document,
                tags,
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
    let m = find_policy(cx, &arn)?;
    let mut x = Xml::new();
    x.nest("Policy", |x| write_policy(x, &m));
    Ok(Some(x))
}

pub(crate) fn get_policy(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let arn = policy_arn_param(p, "PolicyArn")?;
    cx.authorize(&arn)?;
    let m = find_policy(cx, &arn)?;
    let mut x = Xml::new();
    x.nest("Policy", |x| write_policy(x, &m));
    Ok(Some(x))
}

pub(crate) fn get_policy_version(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let arn = policy_arn_param(p, "PolicyArn")?;
    let vid = version_id_param(p)?;
    cx.authorize(&arn)?;
    let m = find_policy(cx, &arn)?;
    let v = m
        .versions
        .iter()
        .find(|v| v.version_id == vid)
        .ok_or_else(|| no_such_policy_version(&arn, &vid))?;
    let mut x = Xml::new();
    x.nest("PolicyVersion", |x| {
        x.elem("Document", &encode_document(&v.document))
            .elem("VersionId", &v.version_id)
            .boolean("IsDefaultVersion", v.version_id == m.default_version)
            .time("CreateDate", v.created_at);
    });
    Ok(Some(x))
}

pub(crate) async fn create_policy_version(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let arn = policy_arn_param(p, "PolicyArn")?;
    let (document, _) = document_param(
        p,
        "PolicyDocument",
        PolicyKind::Identity,
        limits::MANAGED_POLICY_MAX,
    )?;
    let set_default = p.bool("SetAsDefault")?.unwrap_or(false);
    cx.authorize(&arn)?;
    let m = find_policy(cx, &arn)?;
    if m.account == "aws" {
        return Err(ApiError::unmodifiable_entity(format!(
            "Cannot modify AWS managed policy {arn}."
        )));
    }
    let now = cx.info.now;
    let created = cx
        .state
        .store
        .apply_one(Change::CreatePolicyVersion {
            arn: arn.clone(),
            document,
            set_default,
            created_at: now,
            max_versions: limits::POLICY_VERSIONS,
        })
        .await
        .map_err(|e| policy_error_for(e, &arn))?;
    let crate::store::Applied::PolicyVersion(vid) = created else {
        return Err(ApiError::internal().with_detail("store: no version id"));
    };
    let mut x = Xml::new();
    x.nest("PolicyVersion", |x| {
        x.elem("VersionId", &vid)
            .boolean("IsDefaultVersion", set_default)
            .time("CreateDate", now);
    });
    Ok(Some(x))
}

pub(crate) fn list_policy_versions(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let arn = policy_arn_param(p, "PolicyArn")?;
    let (max, marker) = paging(p)?;
    cx.authorize(&arn)?;
    let m = find_policy(cx, &arn)?;
    let mut versions: Vec<_> = m.versions.iter().collect();
    versions.reverse();
    let (items, next) = page_by_position(versions, marker.as_deref(), max);
    let mut x = Xml::new();
    x.list("Versions", items, |x, v| {
        x.elem("VersionId", &v.version_id)
            .boolean("IsDefaultVersion", v.version_id == m.default_version)
            .time("CreateDate", v.created_at);
    });
    write_paging(&mut x, next.as_deref());
    Ok(Some(x))
}

pub(crate) async fn set_default_policy_version(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let arn = policy_arn_param(p, "PolicyArn")?;
    let vid = version_id_param(p)?;
    cx.authorize(&arn)?;
    find_policy(cx, &arn)?;
    cx.state
        .store
        .apply_one(Change::SetDefaultPolicyVersion {
            arn: arn.clone(),
            version_id: vid.clone(),
            updated_at: cx.info.now,
        })
        .await
        .map_err(|e| version_error(e, &arn, &vid))?;
    Ok(None)
}

pub(crate) async fn delete_policy_version(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let arn = policy_arn_param(p, "PolicyArn")?;
    let vid = version_id_param(p)?;
    cx.authorize(&arn)?;
    find_policy(cx, &arn)?;
    cx.state
        .store
        .apply_one(Change::DeletePolicyVersion {
            arn: arn.clone(),
            version_id: vid.clone(),
        })
        .await
        .map_err(|e| version_error(e, &arn, &vid))?;
    Ok(None)
}

pub(crate) async fn delete_policy(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let arn = policy_arn_param(p, "PolicyArn")?;
    cx.authorize(&arn)?;
    let m = find_policy(cx, &arn)?;
    if m.account == "aws" {
        return Err(ApiError::unmodifiable_entity(format!(
            "Cannot delete AWS managed policy {arn}."
        )));
    }
    cx.state
        .store
        .apply_one(Change::DeletePolicy { arn: arn.clone() })
        .await
        .map_err(|e| policy_error_for(e, &arn))?;
    Ok(None)
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

pub(crate) fn list_policies(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let scope = p.get("Scope").unwrap_or("All");
    if !matches!(scope, "All" | "AWS" | "Local") {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{}' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]",
            params::sanitize(scope)
        )));
    }
    let only_attached = p.bool("OnlyAttached")?.unwrap_or(false);
    let prefix = path_prefix(p)?;
    let (max, marker) = paging(p)?;
    cx.authorize(&cx.arn("policy", "/", ""))?;
    let view = cx.state.store.view();
    let account = cx.account();
    let items = view
        .policies
        .managed
        .values()
        .filter(|m| match scope {
            "AWS" => m.account == "aws",
            "Local" => m.account == account,
            _ => m.account == "aws" || m.account == account,
        })
        .filter(|m| !only_attached || m.attachment_count > 0)
        .filter(|m| m.path.starts_with(&prefix))
        .filter(|m| marker.as_deref().is_none_or(|mk| m.arn.as_str() > mk))
        .map(|m| (m.arn.clone(), m));
    let (items, next) = page(items, max);
    let mut x = Xml::new();
    x.list("Policies", items, write_policy);
    write_paging(&mut x, next.as_deref());
    Ok(Some(x))
}

// --- owners: users, groups, roles ------------------------------------------------------------

/// The entity an inline policy or attachment belongs to.
pub(crate) struct Target {
    pub kind: &'static str,
    pub id: String,
    pub name: String,
    pub arn: String,
    pub tags: Vec<(String, String)>,
}

impl Target {
    pub fn owner(&self) -> Owner<'_> {
        match self.kind {
            "user" => Owner::User(&self.id),
            "group" => Owner::Group(&self.id),
            _ => Owner::Role(&self.id),
        }
    }
}

/// Resolve `UserName` / `GroupName` / `RoleName` to the entity.
pub(crate) fn target(cx: &Cx<'_>, p: &Params, kind: &'static str) -> ApiResult<Target> {
    let view = cx.state.store.view();
    let account = cx.account();
    match kind {
        "user" => {
            let n = p.required("UserName")?;
            validate_existing_name("UserName", n)?;
            let u = view
                .user_by_name(account, n)
                .ok_or_else(|| no_such_user(n))?;
            Ok(Target {
                kind,
                id: u.id.clone(),
                name: u.name.clone(),
                arn: u.arn(),
                tags: u.tags.clone(),
            })
        }
        "group" => {
            let n = p.required("GroupName")?;
            validate_existing_name("GroupName", n)?;
            let g = view
                .group_by_name(account, n)
                .ok_or_else(|| no_such_group(n))?;
            Ok(Target {
                kind,
                id: g.id.clone(),
                name: g.name.clone(),
                arn: g.arn(),
                tags: Vec::new(),
            })
        }
        _ => {
            let n = p.required("RoleName")?;
            validate_existing_name("RoleName", n)?;
            let r = view
                .policies
                .role_by_name(account, n)
                .ok_or_else(|| no_such_role(n))?;
            Ok(Target {
                kind,
                id: r.id.clone(),
                name: r.name.clone(),
                arn: r.arn(),
                tags: r.tags.clone(),
            })
        }
    }
}

fn authorize_target(cx: &Cx<'_>, t: &Target) -> ApiResult<()> {
    cx.authorize_tagged(&t.arn, &t.tags)
}

pub(crate) async fn attach_policy(
    cx: &Cx<'_>,
    p: &Params,
    kind: &'static str,
) -> ApiResult<ActionOutput> {
    let t = target(cx, p, kind)?;
    let arn = policy_arn_param(p, "PolicyArn")?;
    authorize_target(cx, &t)?;
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
    Ok(None)
}

pub(crate) async fn detach_policy(
    cx: &Cx<'_>,
    p: &Params,
    kind: &'static str,
) -> ApiResult<ActionOutput> {
    let t = target(cx, p, kind)?;
    let arn = policy_arn_param(p, "PolicyArn")?;
    authorize_target(cx, &t)?;
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
    Ok(None)
}

pub(crate) fn list_attached_policies(
    cx: &Cx<'_>,
    p: &Params,
    kind: &'static str,
) -> ApiResult<ActionOutput> {
    let t = target(cx, p, kind)?;
    let prefix = path_prefix(p)?;
    let (max, marker) = paging(p)?;
    authorize_target(cx, &t)?;
    let view = cx.state.store.view();
    let items: Vec<_> = view
        .policies
        .attached_to(t.owner())
        .filter(|m| m.path.starts_with(&prefix))
        .map(|m| (m.name.clone(), m.arn.clone()))
        .collect();
    let (items, next) = page_by_position(items, marker.as_deref(), max);
    let mut x = Xml::new();
    x.list("AttachedPolicies", items, |x, (name, arn)| {
        x.elem("PolicyName", &name).elem("PolicyArn", &arn);
    });
    write_paging(&mut x, next.as_deref());
    Ok(Some(x))
}

fn inline_name(p: &Params) -> ApiResult<String> {
    let n = p.required("PolicyName")?;
    Validator::new()
        .length("PolicyName", n, 1, 128)
        .pattern("PolicyName", n, params::NAME_PATTERN, params::is_name_char)
        .finish()?;
    Ok(n.to_owned())
}

pub(crate) async fn put_inline_policy(
    cx: &Cx<'_>,
    p: &Params,
    kind: &'static str,
) -> ApiResult<ActionOutput> {
    let t = target(cx, p, kind)?;
    let name = inline_name(p)?;
    let limit = limits::inline_limit(t.owner());
    let (document, _) = document_param(p, "PolicyDocument", PolicyKind::Identity, limit)?;
    authorize_target(cx, &t)?;
    cx.state
        .store
        .apply_one(Change::PutInlinePolicy {
            owner: t.owner().into(),
            name,
            document,
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
    Ok(None)
}

pub(crate) fn get_inline_policy(
    cx: &Cx<'_>,
    p: &Params,
    kind: &'static str,
) -> ApiResult<ActionOutput> {
    let t = target(cx, p, kind)?;
    let name = inline_name(p)?;
    authorize_target(cx, &t)?;
    let view = cx.state.store.view();
    let pol = view
        .policies
        .inline_of(t.owner())
        .iter()
        .find(|i| i.name == name)
        .ok_or_else(|| {
            ApiError::no_such_entity(format!(
                "The {kind} policy with name {name} cannot be found."
            ))
        })?;
    let mut x = Xml::new();
    let label = match kind {
        "user" => "UserName",
        "group" => "GroupName",
        _ => "RoleName",
    };
    x.elem(label, &t.name)
        .elem("PolicyName", &pol.name)
        .elem("PolicyDocument", &encode_document(&pol.document));
    Ok(Some(x))
}

pub(crate) async fn delete_inline_policy(
    cx: &Cx<'_>,
    p: &Params,
    kind: &'static str,
) -> ApiResult<ActionOutput> {
    let t = target(cx, p, kind)?;
    let name = inline_name(p)?;
    authorize_target(cx, &t)?;
    cx.state
        .store
        .apply_one(Change::DeleteInlinePolicy {
            owner: t.owner().into(),
            name: name.clone(),
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(Entity::InlinePolicy) => ApiError::no_such_entity(format!(
                "The {kind} policy with name {name} cannot be found."
            )),
            e => store_error(e),
        })?;
    Ok(None)
}

pub(crate) fn list_inline_policies(
    cx: &Cx<'_>,
    p: &Params,
    kind: &'static str,
) -> ApiResult<ActionOutput> {
    let t = target(cx, p, kind)?;
    let (max, marker) = paging(p)?;
    authorize_target(cx, &t)?;
    let view = cx.state.store.view();
    let names = view
        .policies
        .inline_of(t.owner())
        .iter()
        .filter(|i| marker.as_deref().is_none_or(|m| i.name.as_str() > m))
        .map(|i| (i.name.clone(), i.name.clone()));
    let (items, next) = page(names, max);
    let mut x = Xml::new();
    x.list("PolicyNames", items, |x, n| {
        x.elem_text(&n);
    });
    write_paging(&mut x, next.as_deref());
    Ok(Some(x))
}

pub(crate) async fn put_boundary(
    cx: &Cx<'_>,
    p: &Params,
    kind: &'static str,
) -> ApiResult<ActionOutput> {
    let t = target(cx, p, kind)?;
    let arn = policy_arn_param(p, "PermissionsBoundary")?;
    authorize_target(cx, &t)?;
    crate::authorization::check_boundary_arn(cx.state, &arn)?;
    let change = match t.kind {
        "user" => Change::SetUserBoundary {
            user_id: t.id,
            boundary: Some(arn),
        },
        _ => Change::SetRoleBoundary {
            role_id: t.id,
            boundary: Some(arn),
        },
    };
    cx.state
        .store
        .apply_one(change)
        .await
        .map_err(store_error)?;
    Ok(None)
}

pub(crate) async fn delete_boundary(
    cx: &Cx<'_>,
    p: &Params,
    kind: &'static str,
) -> ApiResult<ActionOutput> {
    let t = target(cx, p, kind)?;
    authorize_target(cx, &t)?;
    let change = match t.kind {
        "user" => Change::SetUserBoundary {
            user_id: t.id,
            boundary: None,
        },
        _ => Change::SetRoleBoundary {
            role_id: t.id,
            boundary: None,
        },
    };
    cx.state
        .store
        .apply_one(change)
        .await
        .map_err(store_error)?;
    Ok(None)
}
