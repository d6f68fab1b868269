//! Groups and memberships.

use crate::credentials;
use crate::error::{ApiError, ApiResult};
use crate::protocol::input::input;
use crate::protocol::output::Output;
use crate::protocol::xml::Xml;
use crate::request::Cx;
use crate::store::{Change, Entity, Group, StoreError, User};

use super::errors::{no_such_group, no_such_user, store_error};

use super::input::{IamPath, Name, NewName, Paging, PathPrefix};
use super::users::{UserSummary, find_user};
use super::{Member, Page};

fn write_group(x: &mut Xml, g: &Group) {
    x.elem("Path", &g.path)
        .elem("GroupName", &g.name)
        .elem("GroupId", &g.id)
        .arn("Arn", &g.arn())
        .time("CreateDate", g.created_at);
}

impl Member for Group {
    fn write(&self, x: &mut Xml) {
        write_group(x, self);
    }
}

fn find_group(cx: &Cx<'_>, name: &str) -> ApiResult<Group> {
    cx.state
        .store
        .view()
        .group_by_name(cx.account(), name)
        .cloned()
        .ok_or_else(|| no_such_group(name))
}

/// `items` keyed and ordered by lowercased name, from after `marker` on.
fn after_marker<T>(
    items: Vec<T>,
    name: impl Fn(&T) -> &str,
    marker: Option<&str>,
) -> impl Iterator<Item = (String, T)> {
    let mut keyed: Vec<(String, T)> = items
        .into_iter()
        .map(|i| (name(&i).to_lowercase(), i))
        .filter(|(key, _)| marker.is_none_or(|m| key.as_str() > m))
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.into_iter()
}

input! {
    /// `CreateGroup`
    pub(crate) struct CreateGroupInput {
        group_name: NewName = required("GroupName"),
        path: IamPath = or_default("Path"),
    }
}

/// `<Group>`, as `CreateGroup` answers.
#[derive(Debug)]
pub(crate) struct GroupOutput(Group);

impl Output for GroupOutput {
    fn write(&self, x: &mut Xml) {
        x.nest("Group", |x| write_group(x, &self.0));
    }
}

pub(crate) async fn create_group(cx: &Cx<'_>, input: CreateGroupInput) -> ApiResult<GroupOutput> {
    let (name, path) = (input.group_name.into_string(), input.path.0);
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
            StoreError::AlreadyExists(Entity::Group) => super::errors::group_exists(&group.name),
            e => store_error(e),
        })?;
    Ok(GroupOutput(group))
}

input! {
    /// `GetGroup`
    pub(crate) struct GetGroupInput {
        group_name: Name = required("GroupName"),
        paging: Paging = nested(),
    }
}

/// A group and one page of its members.
#[derive(Debug)]
pub(crate) struct GetGroupOutput {
    group: Group,
    users: Page<UserSummary>,
}

impl Output for GetGroupOutput {
    fn write(&self, x: &mut Xml) {
        x.nest("Group", |x| write_group(x, &self.group));
        self.users.write(x);
    }
}

pub(crate) async fn get_group(cx: &Cx<'_>, input: GetGroupInput) -> ApiResult<GetGroupOutput> {
    let paging = input.paging;
    let group = find_group(cx, &input.group_name)?;
    cx.authorize(&group.arn())?;
    let view = cx.state.store.view();
    let members: Vec<User> = group
        .members
        .iter()
        .filter_map(|id| view.users.get(id))
        .cloned()
        .collect();
    let members = after_marker(members, |u| &u.name, paging.marker.as_deref())
        .map(|(k, u)| (k, UserSummary(u)));
    Ok(GetGroupOutput {
        users: Page::of("Users", members, paging.max_items),
        group,
    })
}

input! {
    /// `ListGroups`
    pub(crate) struct ListGroupsInput {
        path_prefix: PathPrefix = or_default("PathPrefix"),
        paging: Paging = nested(),
    }
}

pub(crate) async fn list_groups(cx: &Cx<'_>, input: ListGroupsInput) -> ApiResult<Page<Group>> {
    let (prefix, paging) = (input.path_prefix.0, input.paging);
    cx.authorize(&cx.arn("group", "/", ""))?;
    let view = cx.state.store.view();
    let account = cx.account().to_owned();
    let marker = paging.marker.as_deref();
    let groups = view
        .group_names
        .range((account.clone(), String::new())..)
        .take_while(|((a, _), _)| *a == account)
        .filter(|((_, n), _)| marker.is_none_or(|m| n.as_str() > m))
        .filter_map(|((_, n), id)| view.groups.get(id).map(|g| (n.clone(), g.clone())))
        .filter(|(_, g)| g.path.starts_with(&prefix));
    Ok(Page::of("Groups", groups, paging.max_items))
}

input! {
    /// `DeleteGroup`
    pub(crate) struct DeleteGroupInput {
        group_name: Name = required("GroupName"),
    }
}

pub(crate) async fn delete_group(cx: &Cx<'_>, input: DeleteGroupInput) -> ApiResult<()> {
    let name = input.group_name.into_string();
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
    Ok(())
}

input! {
    /// `UpdateGroup`
    pub(crate) struct UpdateGroupInput {
        group_name: Name = required("GroupName"),
        new_path: Option<IamPath> = optional("NewPath"),
        new_group_name: Option<Name> = optional("NewGroupName"),
    }
}

/// `UpdateGroup`: rename and/or move a group; members and policies (keyed by its id) follow.
/// The caller needs `iam:UpdateGroup` on the group as it is and as it will be (API reference).
pub(crate) async fn update_group(cx: &Cx<'_>, input: UpdateGroupInput) -> ApiResult<()> {
    let group = find_group(cx, &input.group_name)?;
    let new_name = input.new_group_name.map(Name::into_string);
    let new_path = input.new_path.map(|p| p.0);
    cx.authorize(&group.arn())?;
    let target = cx.arn(
        "group",
        new_path.as_deref().unwrap_or(&group.path),
        new_name.as_deref().unwrap_or(&group.name),
    );
    if target != group.arn() {
        cx.authorize(&target)?;
    }
    cx.state
        .store
        .apply_one(Change::UpdateGroup {
            account: cx.account().to_owned(),
            name: group.name.clone(),
            new_name: new_name.clone(),
            new_path,
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(Entity::Group) => no_such_group(&group.name),
            StoreError::AlreadyExists(Entity::Group) => ApiError::entity_already_exists(format!(
                "Group with name {} already exists.",
                new_name.as_deref().unwrap_or(&group.name)
            )),
            e => store_error(e),
        })?;
    Ok(())
}

input! {
    /// `AddUserToGroup` and `RemoveUserFromGroup`
    pub(crate) struct MembershipInput {
        group_name: Name = required("GroupName"),
        user_name: Name = required("UserName"),
    }
}

pub(crate) async fn add_user_to_group(cx: &Cx<'_>, input: MembershipInput) -> ApiResult<()> {
    change_membership(cx, input, true).await
}

pub(crate) async fn remove_user_from_group(cx: &Cx<'_>, input: MembershipInput) -> ApiResult<()> {
    change_membership(cx, input, false).await
}

async fn change_membership(cx: &Cx<'_>, input: MembershipInput, add: bool) -> ApiResult<()> {
    let (group, user) = (
        input.group_name.into_string(),
        input.user_name.into_string(),
    );
    // AddUserToGroup with neither the user nor the group: the user is reported (moto's order,
    // the only evidence there is); RemoveUserFromGroup reports the group first.
    let g = find_group(cx, &group).map_err(|e| match find_user(cx, &user) {
        Err(missing_user) if add => missing_user,
        _ => e,
    })?;
    cx.authorize(&g.arn())?;
    let (account, group_name, user_name) = (cx.account().to_owned(), group.clone(), user.clone());
    let change = if add {
        Change::AddUserToGroup {
            account,
            group: group_name,
            user: user_name,
            max_groups_per_user: super::limits::GROUPS_PER_USER,
        }
    } else {
        Change::RemoveUserFromGroup {
            account,
            group: group_name,
            user: user_name,
        }
    };
    cx.state
        .store
        .apply_one(change)
        .await
        .map_err(|e| membership_error(e, &group, &user))?;
    Ok(())
}

/// A failed change to `user`'s membership of `group`.
fn membership_error(e: StoreError, group: &str, user: &str) -> ApiError {
    match e {
        StoreError::NotFound(Entity::Group) => no_such_group(group),
        StoreError::NotFound(Entity::User) => no_such_user(user),
        StoreError::NotFound(Entity::Membership) => super::errors::user_not_in_group(user, group),
        e => store_error(e),
    }
}

input! {
    /// `ListGroupsForUser`
    pub(crate) struct ListGroupsForUserInput {
        user_name: Name = required("UserName"),
        paging: Paging = nested(),
    }
}

pub(crate) async fn list_groups_for_user(
    cx: &Cx<'_>,
    input: ListGroupsForUserInput,
) -> ApiResult<Page<Group>> {
    let paging = input.paging;
    let user = find_user(cx, &input.user_name)?;
    cx.authorize(&user.arn())?;
    let view = cx.state.store.view();
    let groups: Vec<Group> = view.groups_of_user(&user.id).cloned().collect();
    let groups = after_marker(groups, |g| &g.name, paging.marker.as_deref());
    Ok(Page::of("Groups", groups, paging.max_items))
}
