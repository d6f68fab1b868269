//! Groups and memberships.

use crate::credentials;
use crate::error::{ApiError, ApiResult};
use crate::http::ActionOutput;
use crate::http::params::Params;
use crate::http::xml::Xml;
use crate::store::{Change, Entity, Group, StoreError};

use super::errors::{no_such_group, no_such_user, store_error};
use super::users::write_user;
use super::{
    Cx, page, paging, path_param, path_prefix, validate_existing_name, validate_new_name,
    write_paging,
};

fn write_group(x: &mut Xml, g: &Group) {
    x.elem("Path", &g.path)
        .elem("GroupName", &g.name)
        .elem("GroupId", &g.id)
        .elem("Arn", &g.arn())
        .time("CreateDate", g.created_at);
}

fn find_group(cx: &Cx<'_>, name: &str) -> ApiResult<Group> {
    cx.state
        .store
        .view()
        .group_by_name(cx.account(), name)
        .cloned()
        .ok_or_else(|| no_such_group(name))
}

fn group_name(p: &Params) -> ApiResult<String> {
    let n = p.required("GroupName")?;
    validate_existing_name("GroupName", n)?;
    Ok(n.to_owned())
}

pub(crate) async fn create_group(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let name = p.required("GroupName")?.to_owned();
    validate_new_name("GroupName", &name)?;
    let path = path_param(p, "Path")?;
    cx.authorize(&cx.arn("group", &path, &name))?;
    let group = Group {
        id: credentials::new_unique_id(credentials::UniqueIdKind::Group)?,
        account: cx.account().to_owned(),
        name,
        path,
        created_at: cx.info.now,
        members: Vec::new(),
    };
    cx.state
        .store
        .apply_one(Change::CreateGroup {
            group: group.clone(),
            max_per_account: super::limits::GROUPS_PER_ACCOUNT,
        })
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(Entity::Group) => ApiError::entity_already_exists(format!(
                "Group with name {} already exists.",
                group.name
            )),
            e => store_error(e),
        })?;
    let mut x = Xml::new();
    x.nest("Group", |x| write_group(x, &group));
    Ok(Some(x))
}

pub(crate) fn get_group(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let name = group_name(p)?;
    let (max, marker) = paging(p)?;
    let group = find_group(cx, &name)?;
    cx.authorize(&group.arn())?;
    let view = cx.state.store.view();
    let mut members: Vec<_> = group
        .members
        .iter()
        .filter_map(|id| view.users.get(id))
        .collect();
    members.sort_by_key(|u| u.name.to_lowercase());
    let members = members
        .into_iter()
        .filter(|u| {
            marker
                .as_deref()
                .is_none_or(|m| u.name.to_lowercase().as_str() > m)
        })
        .map(|u| (u.name.to_lowercase(), u));
    let (items, next) = page(members, max);
    let mut x = Xml::new();
    x.nest("Group", |x| write_group(x, &group));
    x.list("Users", items, |x, u| write_user(x, u, false));
    write_paging(&mut x, next.as_deref());
    Ok(Some(x))
}

pub(crate) fn list_groups(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let prefix = path_prefix(p)?;
    let (max, marker) = paging(p)?;
    cx.authorize(&cx.arn("group", "/", ""))?;
    let view = cx.state.store.view();
    let account = cx.account().to_owned();
    let groups = view
        .group_names
        .range((account.clone(), String::new())..)
        .take_while(|((a, _), _)| *a == account)
        .filter(|((_, n), _)| marker.as_deref().is_none_or(|m| n.as_str() > m))
        .filter_map(|((_, n), id)| view.groups.get(id).map(|g| (n.clone(), g)))
        .filter(|(_, g)| g.path.starts_with(&prefix));
    let (items, next) = page(groups, max);
    let mut x = Xml::new();
    x.list("Groups", items, write_group);
    write_paging(&mut x, next.as_deref());
    Ok(Some(x))
}

pub(crate) async fn delete_group(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let name = group_name(p)?;
    let group = find_group(cx, &name)?;
    cx.authorize(&group.arn())?;
    let account = cx.account().to_owned();
    cx.state
        .store
        .apply_one(Change::DeleteGroup {
            account,
            name: name.clone(),
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(Entity::Group) => no_such_group(&name),
            e => store_error(e),
        })?;
    Ok(None)
}

fn membership_params(p: &Params) -> ApiResult<(String, String)> {
    let g = group_name(p)?;
    let u = p.required("UserName")?;
    validate_existing_name("UserName", u)?;
    Ok((g, u.to_owned()))
}

pub(crate) async fn add_user_to_group(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let (group, user) = membership_params(p)?;
    let g = find_group(cx, &group)?;
    cx.authorize(&g.arn())?;
    let account = cx.account().to_owned();
    cx.state
        .store
        .apply_one(Change::AddUserToGroup {
            account,
            group: group.clone(),
            user: user.clone(),
            max_groups_per_user: super::limits::GROUPS_PER_USER,
        })
        .await
        .map_err(|e| membership_error(e, &group, &user))?;
    Ok(None)
}

pub(crate) async fn remove_user_from_group(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let (group, user) = membership_params(p)?;
    let g = find_group(cx, &group)?;
    cx.authorize(&g.arn())?;
    let account = cx.account().to_owned();
    cx.state
        .store
        .apply_one(Change::RemoveUserFromGroup {
            account,
            group: group.clone(),
            user: user.clone(),
        })
        .await
        .map_err(|e| membership_error(e, &group, &user))?;
    Ok(None)
}

/// A failed change to `user`'s membership of `group`.
fn membership_error(e: StoreError, group: &str, user: &str) -> ApiError {
    match e {
        StoreError::NotFound(Entity::Group) => no_such_group(group),
        StoreError::NotFound(Entity::User) => no_such_user(user),
        StoreError::NotFound(Entity::Membership) => {
            ApiError::no_such_entity(format!("User {user} is not in group {group}."))
        }
        e => store_error(e),
    }
}

pub(crate) fn list_groups_for_user(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let name = p.required("UserName")?;
    validate_existing_name("UserName", name)?;
    let (max, marker) = paging(p)?;
    let view = cx.state.store.view();
    let user = view
        .user_by_name(cx.account(), name)
        .ok_or_else(|| no_such_user(name))?;
    cx.authorize(&user.arn())?;
    let mut groups: Vec<_> = view.groups_of_user(&user.id).collect();
    groups.sort_by_key(|g| g.name.to_lowercase());
    let groups = groups
        .into_iter()
        .filter(|g| {
            marker
                .as_deref()
                .is_none_or(|m| g.name.to_lowercase().as_str() > m)
        })
        .map(|g| (g.name.to_lowercase(), g));
    let (items, next) = page(groups, max);
    let mut x = Xml::new();
    x.list("Groups", items, write_group);
    write_paging(&mut x, next.as_deref());
    Ok(Some(x))
}
