//! Instance profiles: the container through which EC2 hands one role to an instance. See
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_switch-role-ec2_instance-profiles.html>
//! and the `*InstanceProfile*` pages of the API reference.
//!
//! A profile holds at most one role (`InstanceSessionsPerInstanceProfile: 1`, a quota AWS does
//! not raise); a role in a profile cannot be deleted, nor a profile that holds a role. Putting a
//! role in a profile passes it to EC2, so the caller needs `iam:PassRole` on the role as well
//! (with `iam:PassedToService` = `ec2.amazonaws.com`), as the API reference says.

use std::sync::Arc;

use crate::credentials::{self, UniqueIdKind};
use crate::error::{ApiError, ApiResult};
use crate::protocol::input::input;
use crate::protocol::output::Output;
use crate::protocol::xml::Xml;
use crate::request::Cx;
use crate::store::{Change, Entity, InstanceProfile, Role, Snapshot, StoreError};

use super::errors::{
    instance_profile_exists, no_such_instance_profile, no_such_role, role_not_in_instance_profile,
    store_error,
};
use super::input::{IamPath, IamTags, Name, Paging, PathPrefix, TagKeys};
use super::roles::{check_modifiable, write_role_in_profile};
use super::tags::TagPage;
use super::{Member, Page, check_tag_quota, limits, write_tags};

/// `<InstanceProfile>` content. Tags only where AWS shows them (`Get`, `Create`): listing
/// operations return a subset of each profile's attributes.
pub(crate) fn write_profile(x: &mut Xml, view: &Snapshot, p: &InstanceProfile, with_tags: bool) {
    x.elem("Path", &p.path)
        .elem("InstanceProfileName", &p.name)
        .elem("InstanceProfileId", &p.id)
        .arn("Arn", &p.arn())
        .time("CreateDate", p.created_at)
        .list(
            "Roles",
            p.roles.iter().filter_map(|id| view.policies.roles.get(id)),
            |x, r| write_role_in_profile(x, view, r),
        );
    if with_tags && !p.tags.is_empty() {
        write_tags(x, &p.tags);
    }
}

/// A profile in a `List*` answer (without tags).
#[derive(Debug)]
pub(crate) struct ProfileMember {
    view: Arc<Snapshot>,
    profile: InstanceProfile,
}

impl Member for ProfileMember {
    fn write(&self, x: &mut Xml) {
        write_profile(x, &self.view, &self.profile, false);
    }
}

/// The profiles of `role_id` (or all of the account's) under `prefix`, one page from after
/// `marker` (a lowercase name), as `List*` answers them.
pub(crate) fn page_of_profiles(
    view: &Arc<Snapshot>,
    account: &str,
    role_id: Option<&str>,
    prefix: &str,
    paging: &Paging,
) -> Page<ProfileMember> {
    let marker = paging.marker.as_deref();
    let items = view
        .instance_profiles_in(account)
        .filter(|(n, _)| marker.is_none_or(|m| *n > m))
        .filter(|(_, p)| p.path.starts_with(prefix))
        .filter(|(_, p)| role_id.is_none_or(|r| p.roles.iter().any(|id| id == r)))
        .map(|(n, p)| {
            (
                n.to_owned(),
                ProfileMember {
                    view: view.clone(),
                    profile: p.clone(),
                },
            )
        });
    Page::of("InstanceProfiles", items, paging.max_items)
}

/// `<InstanceProfile>` with its tags, as `CreateInstanceProfile` and `GetInstanceProfile`
/// answer.
#[derive(Debug)]
pub(crate) struct ProfileOutput {
    view: Arc<Snapshot>,
    profile: InstanceProfile,
}

impl Output for ProfileOutput {
    fn write(&self, x: &mut Xml) {
        x.nest("InstanceProfile", |x| {
            write_profile(x, &self.view, &self.profile, true);
        });
    }
}

/// The profile `name` of the caller's account, once the caller may act on it (with its tags as
/// `aws:ResourceTag/*`).
fn authorized_profile(cx: &Cx<'_>, name: &str) -> ApiResult<InstanceProfile> {
    let p = cx
        .state
        .store
        .view()
        .instance_profile_by_name(cx.account(), name)
        .cloned()
        .ok_or_else(|| no_such_instance_profile(name))?;
    cx.authorize_tagged(&p.arn(), &p.tags)?;
    Ok(p)
}

/// A failed change to the profile `name` (and, where the change names one, the role `role`).
fn profile_error(e: StoreError, name: &str, role: &str) -> ApiError {
    match e {
        StoreError::NotFound(Entity::InstanceProfile) => no_such_instance_profile(name),
        StoreError::NotFound(Entity::Role) => no_such_role(role),
        StoreError::NotFound(Entity::InstanceProfileRole) => {
            role_not_in_instance_profile(role, name)
        }
        e => store_error(e),
    }
}

input! {
    /// `CreateInstanceProfile`
    pub(crate) struct CreateInstanceProfileInput {
        instance_profile_name: Name = required("InstanceProfileName"),
        path: IamPath = or_default("Path"),
        tags: IamTags = nested(),
    }
}

pub(crate) async fn create_instance_profile(
    cx: &Cx<'_>,
    input: CreateInstanceProfileInput,
) -> ApiResult<ProfileOutput> {
    let (name, path) = (input.instance_profile_name.into_string(), input.path.0);
    cx.authorize(&cx.arn("instance-profile", &path, &name))?;
    let profile = InstanceProfile {
        id: credentials::new_unique_id(UniqueIdKind::InstanceProfile)?,
        account: cx.account().to_owned(),
        name,
        path,
        created_at: cx.info.now,
        roles: Vec::new(),
        tags: input.tags.0,
    };
    cx.state
        .store
        .apply_one(Change::CreateInstanceProfile {
            profile: profile.clone(),
            max_per_account: limits::INSTANCE_PROFILES_PER_ACCOUNT,
        })
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(Entity::InstanceProfile) => {
                instance_profile_exists(&profile.name)
            }
            e => store_error(e),
        })?;
    Ok(ProfileOutput {
        view: cx.state.store.view(),
        profile,
    })
}

input! {
    /// `GetInstanceProfile`, `DeleteInstanceProfile`
    pub(crate) struct InstanceProfileNameInput {
        instance_profile_name: Name = required("InstanceProfileName"),
    }
}

pub(crate) async fn get_instance_profile(
    cx: &Cx<'_>,
    input: InstanceProfileNameInput,
) -> ApiResult<ProfileOutput> {
    let profile = authorized_profile(cx, &input.instance_profile_name)?;
    Ok(ProfileOutput {
        view: cx.state.store.view(),
        profile,
    })
}

pub(crate) async fn delete_instance_profile(
    cx: &Cx<'_>,
    input: InstanceProfileNameInput,
) -> ApiResult<()> {
    let name = input.instance_profile_name.into_string();
    authorized_profile(cx, &name)?;
    cx.state
        .store
        .apply_one(Change::DeleteInstanceProfile {
            account: cx.account().to_owned(),
            name: name.clone(),
        })
        .await
        .map_err(|e| profile_error(e, &name, ""))?;
    Ok(())
}

input! {
    /// `ListInstanceProfiles`
    pub(crate) struct ListInstanceProfilesInput {
        path_prefix: PathPrefix = or_default("PathPrefix"),
        paging: Paging = nested(),
    }
}

pub(crate) async fn list_instance_profiles(
    cx: &Cx<'_>,
    input: ListInstanceProfilesInput,
) -> ApiResult<Page<ProfileMember>> {
    cx.authorize(&cx.arn("instance-profile", "/", ""))?;
    let view = cx.state.store.view();
    Ok(page_of_profiles(
        &view,
        cx.account(),
        None,
        &input.path_prefix.0,
        &input.paging,
    ))
}

input! {
    /// `AddRoleToInstanceProfile`, `RemoveRoleFromInstanceProfile`
    pub(crate) struct ProfileRoleInput {
        instance_profile_name: Name = required("InstanceProfileName"),
        role_name: Name = required("RoleName"),
    }
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

pub(crate) async fn add_role_to_instance_profile(
    cx: &Cx<'_>,
    input: ProfileRoleInput,
) -> ApiResult<()> {
    let (name, role_name) = (
        input.instance_profile_name.into_string(),
        input.role_name.into_string(),
    );
    authorized_profile(cx, &name)?;
    let role = find_role(cx, &role_name)?;
    check_modifiable(&role)?;
    // The role goes to EC2 instances: passing it needs `iam:PassRole`.
    cx.authorize_as(
        "iam:PassRole",
        &role.arn(),
        &role.tags,
        &[("iam:PassedToService", "ec2.amazonaws.com")],
    )?;
    cx.state
        .store
        .apply_one(Change::AddRoleToInstanceProfile {
            account: cx.account().to_owned(),
            profile: name.clone(),
            role: role_name.clone(),
            max_roles: limits::ROLES_PER_INSTANCE_PROFILE,
        })
        .await
        .map_err(|e| profile_error(e, &name, &role_name))?;
    Ok(())
}

pub(crate) async fn remove_role_from_instance_profile(
    cx: &Cx<'_>,
    input: ProfileRoleInput,
) -> ApiResult<()> {
    let (name, role_name) = (
        input.instance_profile_name.into_string(),
        input.role_name.into_string(),
    );
    authorized_profile(cx, &name)?;
    cx.state
        .store
        .apply_one(Change::RemoveRoleFromInstanceProfile {
            account: cx.account().to_owned(),
            profile: name.clone(),
            role: role_name.clone(),
        })
        .await
        .map_err(|e| profile_error(e, &name, &role_name))?;
    Ok(())
}

// Tags: a profile is found by `InstanceProfileName`; the generic handlers of `super::tags`
// serve the policy owners (users, roles), so the profile has its own three small handlers over
// the same shapes (`IamTags`, `TagKeys`, `Paging`, `TagPage`).

input! {
    /// `TagInstanceProfile`
    pub(crate) struct TagProfileInput {
        instance_profile_name: Name = required("InstanceProfileName"),
        tags: IamTags = nested(),
    }
    check(this) {
        if this.tags.0.is_empty() {
            return Err(ApiError::missing_parameter("Tags"));
        }
        Ok(())
    }
}

pub(crate) async fn tag_instance_profile(cx: &Cx<'_>, input: TagProfileInput) -> ApiResult<()> {
    let name = input.instance_profile_name.into_string();
    let p = authorized_profile(cx, &name)?;
    let tags = input.tags.0;
    check_tag_quota(&p.tags, &tags, "TagsPerInstanceProfile")?;
    cx.state
        .store
        .apply_one(Change::TagInstanceProfile {
            account: cx.account().to_owned(),
            name: name.clone(),
            tags,
        })
        .await
        .map_err(|e| profile_error(e, &name, ""))?;
    Ok(())
}

input! {
    /// `UntagInstanceProfile`
    pub(crate) struct UntagProfileInput {
        instance_profile_name: Name = required("InstanceProfileName"),
        tag_keys: TagKeys = nested(),
    }
    check(this) {
        if this.tag_keys.0.is_empty() {
            return Err(ApiError::missing_parameter("TagKeys"));
        }
        Ok(())
    }
}

pub(crate) async fn untag_instance_profile(cx: &Cx<'_>, input: UntagProfileInput) -> ApiResult<()> {
    let name = input.instance_profile_name.into_string();
    authorized_profile(cx, &name)?;
    cx.state
        .store
        .apply_one(Change::UntagInstanceProfile {
            account: cx.account().to_owned(),
            name: name.clone(),
            keys: input.tag_keys.0,
        })
        .await
        .map_err(|e| profile_error(e, &name, ""))?;
    Ok(())
}

input! {
    /// `ListInstanceProfileTags`
    pub(crate) struct ListProfileTagsInput {
        instance_profile_name: Name = required("InstanceProfileName"),
        paging: Paging = nested(),
    }
}

pub(crate) async fn list_instance_profile_tags(
    cx: &Cx<'_>,
    input: ListProfileTagsInput,
) -> ApiResult<TagPage> {
    let p = authorized_profile(cx, &input.instance_profile_name)?;
    Ok(TagPage::of(&p.tags, &input.paging))
}
