//! Managed policies and their versions, inline policies, attachments and permissions
//! boundaries. Every document is parsed and validated once, here, before it is stored.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::ActionOutput;
use crate::credentials::{self, UniqueIdKind};
use crate::error::{ApiError, ApiResult};
use crate::policy::{Policy, PolicyKind, check_size};
use crate::protocol::params::{self, Params, Validator};
use crate::protocol::xml::Xml;
use crate::store::policies::{self as sp, ManagedPolicy, NewPolicy, Owner};
use crate::store::{WriteKind, identity};

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
        .ok_or_else(|| sp::no_such_policy(arn))
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
        sp::MANAGED_POLICY_MAX,
    )?;
    let arn = cx.arn("policy", &path, &name);
    cx.authorize(&arn)?;
    let id = credentials::new_unique_id(UniqueIdKind::Policy)?;
    let (a, acct, now) = (arn.clone(), cx.account().to_owned(), cx.info.now);
    cx.state
        .store
        .write(WriteKind::Iam, move |tx| {
            sp::create_policy(
                tx,
                &NewPolicy {
                    arn: &a,
                    id: &id,
                    account: &acct,
                    name: &name,
                    path: &path,
                    description: description.as_deref(),
                    document: &document,
                    tags: &tags,
                    now,
                },
            )
        })
        .await?;
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
        .ok_or_else(|| {
            ApiError::no_such_entity(format!("Policy {arn} version {vid} does not exist."))
        })?;
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
        sp::MANAGED_POLICY_MAX,
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
    let vid = cx
        .state
        .store
        .write(WriteKind::Iam, move |tx| {
            sp::create_policy_version(tx, &arn, &document, set_default, now)
        })
        .await?;
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
    let now = cx.info.now;
    cx.state
        .store
        .write(WriteKind::Iam, move |tx| {
            sp::set_default_version(tx, &arn, &vid, now)
        })
        .await?;
    Ok(None)
}

pub(crate) async fn delete_policy_version(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let arn = policy_arn_param(p, "PolicyArn")?;
    let vid = version_id_param(p)?;
    cx.authorize(&arn)?;
    find_policy(cx, &arn)?;
    cx.state
        .store
        .write(WriteKind::Iam, move |tx| {
            sp::delete_policy_version(tx, &arn, &vid)
        })
        .await?;
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
        .write(WriteKind::Iam, move |tx| sp::delete_policy(tx, &arn))
        .await?;
    Ok(None)
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
                .ok_or_else(|| identity::no_such_user(n))?;
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
                .ok_or_else(|| identity::no_such_group(n))?;
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
                .ok_or_else(|| sp::no_such_role(n))?;
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
        .write(WriteKind::Iam, move |tx| sp::attach(tx, t.owner(), &arn))
        .await?;
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
        .write(WriteKind::Iam, move |tx| sp::detach(tx, t.owner(), &arn))
        .await?;
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
    let limit = sp::inline_limit(t.owner());
    let (document, _) = document_param(p, "PolicyDocument", PolicyKind::Identity, limit)?;
    authorize_target(cx, &t)?;
    cx.state
        .store
        .write(WriteKind::Iam, move |tx| {
            sp::put_inline(tx, t.owner(), &t.name, &name, &document)
        })
        .await?;
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
        .write(WriteKind::Iam, move |tx| {
            sp::delete_inline(tx, t.owner(), &name)
        })
        .await?;
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
    crate::authz::check_boundary_arn(cx.state, &arn)?;
    cx.state
        .store
        .write(WriteKind::Iam, move |tx| match t.kind {
            "user" => identity::set_user_boundary(tx, &t.id, Some(&arn)),
            _ => sp::set_role_boundary(tx, &t.id, Some(&arn)),
        })
        .await?;
    Ok(None)
}

pub(crate) async fn delete_boundary(
    cx: &Cx<'_>,
    p: &Params,
    kind: &'static str,
) -> ApiResult<ActionOutput> {
    let t = target(cx, p, kind)?;
    authorize_target(cx, &t)?;
    cx.state
        .store
        .write(WriteKind::Iam, move |tx| match t.kind {
            "user" => identity::set_user_boundary(tx, &t.id, None),
            _ => sp::set_role_boundary(tx, &t.id, None),
        })
        .await?;
    Ok(None)
}
