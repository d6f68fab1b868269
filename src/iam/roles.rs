//! Roles: trust policies bound to the unique ids of the principals they name, tags,
//! session duration, permissions boundary.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::arn::{Arn, Resource};
use crate::credentials::{self, UniqueIdKind};
use crate::error::{ApiError, ApiResult};
use crate::policy::{Policy, PolicyError};
use crate::protocol::input::{ArnParam, Int, input, string_field};
use crate::protocol::output::Output;
use crate::protocol::xml::Xml;
use crate::request::Cx;
use crate::store::Role;
use crate::store::{Change, Entity, Snapshot, StoreError};

use super::errors::{no_such_role, protected_role, store_error};
use super::input::{
    IamPath, IamTags, Name, NewName, Paging, PathPrefix, PolicyDocument, TRUST, policy_error,
};
use super::instance_profiles::{ProfileMember, page_of_profiles};
use super::policies::{check_document_size, encode_document};
use super::{Member, Page, write_tags};

pub(crate) const MAX_SESSION_DEFAULT: i64 = 3_600;
pub(crate) const MAX_SESSION_MIN: i64 = 3_600;
pub(crate) const MAX_SESSION_MAX: i64 = 43_200;

/// Bind every user/role principal ARN of a trust policy to the entity's unique id. A principal
/// that does not exist is `MalformedPolicyDocument` ("Invalid principal in policy"). Returns the
/// compiled policy and the bindings to persist (JSON).
pub(crate) fn bind_trust(
    view: &Snapshot,
    doc: PolicyDocument<TRUST>,
) -> ApiResult<(String, Policy, String)> {
    check_document_size(&doc, super::limits::TRUST_POLICY_MAX)?;
    let mut policy = doc
        .policy
        .ok_or_else(|| ApiError::internal().with_detail("trust policy input without a policy"))?;
    let mut bindings = BTreeMap::new();
    for arn in policy.principal_arns() {
        let id = resolve_principal(view, arn)
            .ok_or_else(|| policy_error(PolicyError::invalid_principal(arn)))?;
        bindings.insert(arn.to_owned(), id);
    }
    policy.bind_principal_ids(|arn| bindings.get(arn).cloned());
    let json = serde_json::to_string(&bindings).map_err(|_| ApiError::internal())?;
    Ok((doc.text, policy, json))
}

/// The unique id of the user or role an ARN names, if it exists (path included; in any
/// partition).
fn resolve_principal(view: &Snapshot, arn: &str) -> Option<String> {
    let arn = Arn::parse(arn).ok()?;
    match &arn.resource {
        Resource::User { path, name } => view
            .user_by_name(&arn.account, name)
            .filter(|u| &u.path == path && u.name == *name)
            .map(|u| u.id.clone()),
        Resource::Role { path, name } => view
            .policies
            .role_by_name(&arn.account, name)
            .filter(|r| &r.path == path && r.name == *name)
            .map(|r| r.id.clone()),
        _ => None,
    }
}

/// The trust policy as IAM shows it: a principal whose user or role was deleted (or deleted
/// and re-created) appears as the unique id it was bound to, since it no longer names anyone.
pub(crate) fn displayed_trust(view: &Snapshot, r: &Role) -> String {
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
        .arn("Arn", &r.arn())
        .time("CreateDate", r.created_at)
        .elem(
            "AssumeRolePolicyDocument",
            &encode_document(&displayed_trust(view, r)),
        )
        .opt("Description", r.description.as_deref())
        .num("MaxSessionDuration", r.max_session);
    // `List*` calls leave out the boundary, tags and last use, as AWS's do.
    if let Some(b) = r.boundary.as_ref().filter(|_| full) {
        x.nest("PermissionsBoundary", |x| {
            x.elem("PermissionsBoundaryType", "PermissionsBoundaryPolicy")
                .arn("PermissionsBoundaryArn", b);
        });
    }
    if full {
        if !r.tags.is_empty() {
            write_tags(x, &r.tags);
        }
        x.nest("RoleLastUsed", |_| {});
    }
}

/// A role inside an `<InstanceProfile>`: its identity and trust policy only.
pub(crate) fn write_role_in_profile(x: &mut Xml, view: &Snapshot, r: &Role) {
    x.elem("Path", &r.path)
        .elem("RoleName", &r.name)
        .elem("RoleId", &r.id)
        .arn("Arn", &r.arn())
        .time("CreateDate", r.created_at)
        .elem(
            "AssumeRolePolicyDocument",
            &encode_document(&displayed_trust(view, r)),
        );
}

impl Member for (Arc<Snapshot>, Role) {
    fn write(&self, x: &mut Xml) {
        write_role(x, &self.0, &self.1, false);
    }
}

/// `<Role>` with its tags, as `CreateRole` and `GetRole` answer.
#[derive(Debug)]
pub(crate) struct RoleOutput {
    view: Arc<Snapshot>,
    role: Role,
}

impl RoleOutput {
    /// `role` as the current snapshot shows it.
    pub(crate) fn new(cx: &Cx<'_>, role: Role) -> Self {
        Self {
            view: cx.state.store.view(),
            role,
        }
    }
}

impl Output for RoleOutput {
    fn write(&self, x: &mut Xml) {
        x.nest("Role", |x| write_role(x, &self.view, &self.role, true));
    }
}

/// A service-linked role changes only through its service (`UnmodifiableEntity`).
pub(crate) fn check_modifiable(r: &Role) -> ApiResult<()> {
    match r.linked_service {
        Some(_) => Err(protected_role(&r.name)),
        None => Ok(()),
    }
}

pub(crate) fn find_role(cx: &Cx<'_>, name: &str) -> ApiResult<Role> {
    cx.state
        .store
        .view()
        .policies
        .role_by_name(cx.account(), name)
        .cloned()
        .ok_or_else(|| no_such_role(name))
}

string_field!(
    /// A role's description: up to 1000 characters of printable Latin-1.
    RoleDescription,
    0,
    1000,
    r"[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*",
    |c: char| matches!(c, '\u{09}' | '\u{0A}' | '\u{0D}' | '\u{20}'..='\u{7E}' | '\u{A1}'..='\u{FF}')
);

input! {
    /// `CreateRole`
    pub(crate) struct CreateRoleInput {
        role_name: NewName = required("RoleName"),
        path: IamPath = or_default("Path"),
        assume_role_policy_document: PolicyDocument<TRUST> = required("AssumeRolePolicyDocument"),
        description: Option<RoleDescription> = optional("Description"),
        max_session_duration: Option<Int<MAX_SESSION_MIN, MAX_SESSION_MAX>> = optional("MaxSessionDuration"),
        permissions_boundary: Option<ArnParam> = optional("PermissionsBoundary"),
        tags: IamTags = nested(),
    }
}

pub(crate) async fn create_role(cx: &Cx<'_>, input: CreateRoleInput) -> ApiResult<RoleOutput> {
    let (name, path) = (input.role_name.into_string(), input.path.0);
    let max_session = input
        .max_session_duration
        .map_or(MAX_SESSION_DEFAULT, Int::get);
    let boundary = input.permissions_boundary.map(ArnParam::into_string);
    let view = cx.state.store.view();
    let (doc, policy, bindings) = bind_trust(&view, input.assume_role_policy_document)?;
    cx.authorize(&cx.arn("role", &path, &name))?;
    if let Some(b) = &boundary {
        crate::authorization::check_boundary_arn(cx.state, b)?;
    }
    let role = Role {
        id: credentials::new_unique_id(UniqueIdKind::Role)?,
        account: cx.account().to_owned(),
        name,
        path,
        description: input.description.map(RoleDescription::into_string),
        trust_document: doc,
        trust: Arc::new(policy),
        max_session,
        boundary,
        created_at: cx.info.now,
        tags: input.tags.0,
        linked_service: None,
    };
    cx.state
        .store
        .apply_one(Change::CreateRole {
            role: role.clone(),
            trust_bindings: bindings,
            max_per_account: super::limits::ROLES_PER_ACCOUNT,
        })
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(Entity::Role) => ApiError::entity_already_exists(format!(
                "Role with name {} already exists.",
                role.name
            )),
            e => store_error(e),
        })?;
    Ok(RoleOutput {
        view: cx.state.store.view(),
        role,
    })
}

input! {
    /// `GetRole`, `DeleteRole`
    pub(crate) struct RoleNameInput {
        role_name: Name = required("RoleName"),
    }
}

pub(crate) async fn get_role(cx: &Cx<'_>, input: RoleNameInput) -> ApiResult<RoleOutput> {
    let role = find_role(cx, &input.role_name)?;
    cx.authorize_tagged(&role.arn(), &role.tags)?;
    Ok(RoleOutput {
        view: cx.state.store.view(),
        role,
    })
}

input! {
    /// `ListRoles`
    pub(crate) struct ListRolesInput {
        path_prefix: PathPrefix = or_default("PathPrefix"),
        paging: Paging = nested(),
    }
}

pub(crate) async fn list_roles(
    cx: &Cx<'_>,
    input: ListRolesInput,
) -> ApiResult<Page<(Arc<Snapshot>, Role)>> {
    let (prefix, paging) = (input.path_prefix.0, input.paging);
    cx.authorize(&cx.arn("role", "/", ""))?;
    let view = cx.state.store.view();
    let account = cx.account().to_owned();
    let marker = paging.marker.as_deref();
    let roles = view
        .policies
        .role_names
        .range((account.clone(), String::new())..)
        .take_while(|((a, _), _)| *a == account)
        .filter(|((_, n), _)| marker.is_none_or(|m| n.as_str() > m))
        .filter_map(|((_, n), id)| view.policies.roles.get(id).map(|r| (n.clone(), r)))
        .filter(|(_, r)| r.path.starts_with(&prefix))
        .map(|(n, r)| (n, (view.clone(), r.clone())));
    Ok(Page::of("Roles", roles, paging.max_items))
}

input! {
    /// `UpdateRole`
    pub(crate) struct UpdateRoleInput {
        role_name: Name = required("RoleName"),
        description: Option<RoleDescription> = optional("Description"),
        max_session_duration: Option<Int<MAX_SESSION_MIN, MAX_SESSION_MAX>> = optional("MaxSessionDuration"),
    }
}

/// `UpdateRole` answers an empty `<UpdateRoleResult/>`.
#[derive(Debug)]
pub(crate) struct EmptyResult;

impl Output for EmptyResult {
    fn write(&self, _: &mut Xml) {}
}

pub(crate) async fn update_role(cx: &Cx<'_>, input: UpdateRoleInput) -> ApiResult<EmptyResult> {
    let role = find_role(cx, &input.role_name)?;
    cx.authorize_tagged(&role.arn(), &role.tags)?;
    // A service-linked role's description may be edited; nothing else of it.
    if input.max_session_duration.is_some() {
        check_modifiable(&role)?;
    }
    cx.state
        .store
        .apply_one(Change::UpdateRole {
            role_id: role.id.clone(),
            description: input.description.map(RoleDescription::into_string),
            max_session: input.max_session_duration.map(Int::get),
        })
        .await
        .map_err(store_error)?;
    Ok(EmptyResult)
}

input! {
    /// `UpdateAssumeRolePolicy`
    pub(crate) struct UpdateAssumeRolePolicyInput {
        role_name: Name = required("RoleName"),
        policy_document: PolicyDocument<TRUST> = required("PolicyDocument"),
    }
}

pub(crate) async fn update_assume_role_policy(
    cx: &Cx<'_>,
    input: UpdateAssumeRolePolicyInput,
) -> ApiResult<()> {
    let role = find_role(cx, &input.role_name)?;
    let view = cx.state.store.view();
    let (doc, _, bindings) = bind_trust(&view, input.policy_document)?;
    cx.authorize_tagged(&role.arn(), &role.tags)?;
    check_modifiable(&role)?;
    cx.state
        .store
        .apply_one(Change::SetTrustPolicy {
            role_id: role.id.clone(),
            document: doc,
            trust_bindings: bindings,
        })
        .await
        .map_err(store_error)?;
    Ok(())
}

pub(crate) async fn delete_role(cx: &Cx<'_>, input: RoleNameInput) -> ApiResult<()> {
    let name = input.role_name.into_string();
    let role = find_role(cx, &name)?;
    cx.authorize_tagged(&role.arn(), &role.tags)?;
    check_modifiable(&role)?;
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
    Ok(())
}

input! {
    /// `UpdateRoleDescription`
    pub(crate) struct UpdateRoleDescriptionInput {
        role_name: Name = required("RoleName"),
        description: RoleDescription = required("Description"),
    }
}

/// Answers the role as it is afterwards. Allowed for service-linked roles too.
pub(crate) async fn update_role_description(
    cx: &Cx<'_>,
    input: UpdateRoleDescriptionInput,
) -> ApiResult<RoleOutput> {
    let role = find_role(cx, &input.role_name)?;
    cx.authorize_tagged(&role.arn(), &role.tags)?;
    cx.state
        .store
        .apply_one(Change::UpdateRole {
            role_id: role.id.clone(),
            description: Some(input.description.into_string()),
            max_session: None,
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(Entity::Role) => no_such_role(&role.name),
            e => store_error(e),
        })?;
    let updated = find_role(cx, &role.name)?;
    Ok(RoleOutput::new(cx, updated))
}

input! {
    /// `ListInstanceProfilesForRole`
    pub(crate) struct ListInstanceProfilesForRoleInput {
        role_name: Name = required("RoleName"),
        paging: Paging = nested(),
    }
}

/// The instance profiles that hold the role (Terraform reads this before deleting a role).
pub(crate) async fn list_instance_profiles_for_role(
    cx: &Cx<'_>,
    input: ListInstanceProfilesForRoleInput,
) -> ApiResult<Page<ProfileMember>> {
    let role = find_role(cx, &input.role_name)?;
    cx.authorize_tagged(&role.arn(), &role.tags)?;
    let view = cx.state.store.view();
    Ok(page_of_profiles(
        &view,
        cx.account(),
        Some(&role.id),
        "/",
        &input.paging,
    ))
}
