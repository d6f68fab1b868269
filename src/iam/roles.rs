//! Roles: trust policies bound to the unique ids of the principals they name, tags,
//! session duration, permissions boundary.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::ActionOutput;
use crate::credentials::{self, UniqueIdKind};
use crate::error::{ApiError, ApiResult};
use crate::policy::{Policy, PolicyError, PolicyKind};
use crate::protocol::params::{Params, Validator};
use crate::protocol::xml::Xml;
use crate::store::Role;
use crate::store::{Change, Entity, Snapshot, StoreError};

use super::errors::{no_such_role, store_error};
use super::policies::{document_param, encode_document, policy_error};
use super::{
    Cx, check_tag_quota, page, page_by_position, paging, parse_tags, path_param, path_prefix,
    tag_keys, validate_existing_name, validate_new_name, write_paging, write_tags,
};

pub const MAX_SESSION_DEFAULT: i64 = 3_600;
pub const MAX_SESSION_MIN: i64 = 3_600;
pub const MAX_SESSION_MAX: i64 = 43_200;

/// Parse a trust policy and bind every user/role principal ARN to the entity's unique id.
/// A principal that does not exist is `MalformedPolicyDocument` ("Invalid principal in
/// policy"). Returns the compiled policy and the bindings to persist (JSON).
pub(crate) fn bind_trust(
    view: &Snapshot,
    p: &Params,
    name: &str,
) -> ApiResult<(String, Policy, String)> {
    let (doc, mut policy) =
        document_param(p, name, PolicyKind::Trust, super::limits::TRUST_POLICY_MAX)?;
    let mut bindings = BTreeMap::new();
    for arn in policy.principal_arns() {
        let id = resolve_principal(view, arn)
            .ok_or_else(|| policy_error(PolicyError::invalid_principal(arn)))?;
        bindings.insert(arn.to_owned(), id);
    }
    policy.bind_principal_ids(|arn| bindings.get(arn).cloned());
    let json = serde_json::to_string(&bindings).map_err(|_| ApiError::internal())?;
    Ok((doc, policy, json))
}

/// The unique id of the user or role an ARN names, if it exists (path included).
fn resolve_principal(view: &Snapshot, arn: &str) -> Option<String> {
    let mut parts = arn.splitn(6, ':');
    let (_, _, _, _, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let name = resource.rsplit('/').next()?;
    if resource.starts_with("user/") {
        view.user_by_name(account, name)
            .filter(|u| u.arn() == arn)
            .map(|u| u.id.clone())
    } else if resource.starts_with("role/") {
        view.policies
            .role_by_name(account, name)
            .filter(|r| r.arn() == arn)
            .map(|r| r.id.clone())
    } else {
        None
    }
}

/// The trust policy as IAM shows it: a principal whose user or role was deleted (or deleted
/// and re-created) appears as the unique id it was bound to, since it no longer names anyone.
fn displayed_trust(view: &Snapshot, r: &Role) -> String {
    let mut doc = r.trust_document.clone();
    for (arn, id) in r.trust.bound_principal_ids() {
        if resolve_principal(view, arn).as_deref() != Some(id) {
            doc = doc.replace(&format!("\"{arn}\""), &format!("\"{id}\""));
        }
    }
    doc
}

pub(crate) fn write_role(x: &mut Xml, view: &Snapshot, r: &Role, full: bool) {
    x.elem("Path", &r.path)
        .elem("RoleName", &r.name)
        .elem("RoleId", &r.id)
        .elem("Arn", &r.arn())
        .time("CreateDate", r.created_at)
        .elem(
            "AssumeRolePolicyDocument",
            &encode_document(&displayed_trust(view, r)),
        )
        .opt("Description", r.description.as_deref())
        .num("MaxSessionDuration", r.max_session);
    if let Some(b) = &r.boundary {
        x.nest("PermissionsBoundary", |x| {
            x.elem("PermissionsBoundaryType", "PermissionsBoundaryPolicy")
                .elem("PermissionsBoundaryArn", b);
        });
    }
    if full {
        if !r.tags.is_empty() {
            write_tags(x, &r.tags);
        }
        x.nest("RoleLastUsed", |_| {});
    }
}

fn role_name(p: &Params) -> ApiResult<String> {
    let n = p.required("RoleName")?;
    validate_existing_name("RoleName", n)?;
    Ok(n.to_owned())
}

fn find_role(cx: &Cx<'_>, name: &str) -> ApiResult<Role> {
    cx.state
        .store
        .view()
        .policies
        .role_by_name(cx.account(), name)
        .cloned()
        .ok_or_else(|| no_such_role(name))
}

fn max_session_param(p: &Params) -> ApiResult<Option<i64>> {
    let m = p.int("MaxSessionDuration")?;
    if let Some(m) = m {
        Validator::new()
            .range("MaxSessionDuration", m, MAX_SESSION_MIN, MAX_SESSION_MAX)
            .finish()?;
    }
    Ok(m)
}

fn description_param(p: &Params) -> ApiResult<Option<String>> {
    let d = p.get("Description");
    if let Some(d) = d {
        Validator::new()
            .length("Description", d, 0, 1000)
            .pattern("Description", d, r"[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*", |c| {
                matches!(c, '\u{09}' | '\u{0A}' | '\u{0D}' | '\u{20}'..='\u{7E}' | '\u{A1}'..='\u{FF}')
            })
            .finish()?;
    }
    Ok(d.map(str::to_owned))
}

pub(crate) async fn create_role(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let name = p.required("RoleName")?.to_owned();
    validate_new_name("RoleName", &name)?;
    let path = path_param(p, "Path")?;
    let description = description_param(p)?;
    let max_session = max_session_param(p)?.unwrap_or(MAX_SESSION_DEFAULT);
    let tags = parse_tags(p)?;
    let boundary = p.get("PermissionsBoundary").map(str::to_owned);
    let view = cx.state.store.view();
    let (doc, policy, bindings) = bind_trust(&view, p, "AssumeRolePolicyDocument")?;
    cx.authorize(&cx.arn("role", &path, &name))?;
    if let Some(b) = &boundary {
        crate::authorization::check_boundary_arn(cx.state, b)?;
    }
    let role = Role {
        id: credentials::new_unique_id(UniqueIdKind::Role)?,
        account: cx.account().to_owned(),
        name,
        path,
        description,
        trust_document: doc,
        trust: Arc::new(policy),
        max_session,
        boundary,
        created_at: cx.info.now,
        tags,
    };
    cx.state
        .store
        .apply_one(Change::CreateRole {
            role: role.clone(),
            trust_bindings: bindings,
        })
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(Entity::Role) => ApiError::entity_already_exists(format!(
                "Role with name {} already exists.",
                role.name
            )),
            e => store_error(e),
        })?;
    let mut x = Xml::new();
    let view = cx.state.store.view();
    x.nest("Role", |x| write_role(x, &view, &role, true));
    Ok(Some(x))
}

pub(crate) fn get_role(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let role = find_role(cx, &role_name(p)?)?;
    cx.authorize_tagged(&role.arn(), &role.tags)?;
    let mut x = Xml::new();
    let view = cx.state.store.view();
    x.nest("Role", |x| write_role(x, &view, &role, true));
    Ok(Some(x))
}

pub(crate) fn list_roles(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let prefix = path_prefix(p)?;
    let (max, marker) = paging(p)?;
    cx.authorize(&cx.arn("role", "/", ""))?;
    let view = cx.state.store.view();
    let account = cx.account().to_owned();
    let roles = view
        .policies
        .role_names
        .range((account.clone(), String::new())..)
        .take_while(|((a, _), _)| *a == account)
        .filter(|((_, n), _)| marker.as_deref().is_none_or(|m| n.as_str() > m))
        .filter_map(|((_, n), id)| view.policies.roles.get(id).map(|r| (n.clone(), r)))
        .filter(|(_, r)| r.path.starts_with(&prefix));
    let (items, next) = page(roles, max);
    let mut x = Xml::new();
    x.list("Roles", items, |x, r| write_role(x, &view, r, false));
    write_paging(&mut x, next.as_deref());
    Ok(Some(x))
}

pub(crate) async fn update_role(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let role = find_role(cx, &role_name(p)?)?;
    let description = description_param(p)?;
    let max_session = max_session_param(p)?;
    cx.authorize_tagged(&role.arn(), &role.tags)?;
    cx.state
        .store
        .apply_one(Change::UpdateRole {
            role_id: role.id.clone(),
            description,
            max_session,
        })
        .await
        .map_err(store_error)?;
    Ok(Some(Xml::new()))
}

pub(crate) async fn update_assume_role_policy(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let role = find_role(cx, &role_name(p)?)?;
    let view = cx.state.store.view();
    let (doc, _, bindings) = bind_trust(&view, p, "PolicyDocument")?;
    cx.authorize_tagged(&role.arn(), &role.tags)?;
    cx.state
        .store
        .apply_one(Change::SetTrustPolicy {
            role_id: role.id.clone(),
            document: doc,
            trust_bindings: bindings,
        })
        .await
        .map_err(store_error)?;
    Ok(None)
}

pub(crate) async fn delete_role(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let name = role_name(p)?;
    let role = find_role(cx, &name)?;
    cx.authorize_tagged(&role.arn(), &role.tags)?;
    cx.state
        .store
        .apply_one(Change::DeleteRole {
            account: cx.account().to_owned(),
            name: name.clone(),
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(Entity::Role) => no_such_role(&name),
            e => store_error(e),
        })?;
    Ok(None)
}

pub(crate) async fn tag_role(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let role = find_role(cx, &role_name(p)?)?;
    let tags = parse_tags(p)?;
    if tags.is_empty() {
        return Err(ApiError::missing_parameter("Tags"));
    }
    cx.authorize_tagged(&role.arn(), &role.tags)?;
    check_tag_quota(&role.tags, &tags, "TagsPerRole")?;
    cx.state
        .store
        .apply_one(Change::TagRole {
            role_id: role.id.clone(),
            tags,
        })
        .await
        .map_err(store_error)?;
    Ok(None)
}

pub(crate) async fn untag_role(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let role = find_role(cx, &role_name(p)?)?;
    let keys = tag_keys(p)?;
    if keys.is_empty() {
        return Err(ApiError::missing_parameter("TagKeys"));
    }
    cx.authorize_tagged(&role.arn(), &role.tags)?;
    cx.state
        .store
        .apply_one(Change::UntagRole {
            role_id: role.id.clone(),
            keys,
        })
        .await
        .map_err(store_error)?;
    Ok(None)
}

pub(crate) fn list_role_tags(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let role = find_role(cx, &role_name(p)?)?;
    let (max, marker) = paging(p)?;
    cx.authorize_tagged(&role.arn(), &role.tags)?;
    let (items, next) = page_by_position(role.tags.iter().cloned(), marker.as_deref(), max);
    let mut x = Xml::new();
    write_tags(&mut x, &items);
    write_paging(&mut x, next.as_deref());
    Ok(Some(x))
}

/// Instance profiles are not modelled; Terraform reads this list before deleting a role.
pub(crate) fn list_instance_profiles_for_role(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let role = find_role(cx, &role_name(p)?)?;
    paging(p)?;
    cx.authorize_tagged(&role.arn(), &role.tags)?;
    let mut x = Xml::new();
    x.list("InstanceProfiles", std::iter::empty::<()>(), |_, ()| {});
    write_paging(&mut x, None);
    Ok(Some(x))
}
