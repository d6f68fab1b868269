//! The entities that own policies, boundaries and tags (users, groups, roles), as one generic
//! shape: actions that exist once per kind (`AttachUserPolicy`, `AttachGroupPolicy`,
//! `AttachRolePolicy`, ...) are one handler over an [`EntityKind`], and the action table names
//! it with the kind (`iam::policies::attach_policy::<iam::RoleKind>`).

use std::marker::PhantomData;

use crate::error::{ApiError, ApiResult};
use crate::protocol::input::{Input, Reader};
use crate::request::Cx;
use crate::store::policies::Owner;
use crate::store::{Change, Entity, Snapshot, StoreError, Tags};

use super::errors::{no_such_group, no_such_role, no_such_user, store_error};
use super::input::Name;

/// A kind of entity that owns policies: which parameter names it, how it is found.
pub(crate) trait EntityKind: std::fmt::Debug + Clone + Send + Sync + 'static {
    /// `user`, `group` or `role`, as IAM's messages name the kind.
    const KIND: &'static str;
    /// The parameter that names one (`UserName`, `GroupName`, `RoleName`).
    const NAME_PARAM: &'static str;

    /// The entity `name` of `account`, or AWS's `NoSuchEntity`.
    fn find(view: &Snapshot, account: &str, name: &str) -> ApiResult<Target>;
}

/// One entity that owns policies, as the handlers over an [`EntityKind`] need it.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) kind: &'static str,
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) arn: String,
    pub(crate) tags: Tags,
    /// A service-linked role: its policies and boundary are its service's alone.
    pub(crate) protected: bool,
}

impl Target {
    /// `UnmodifiableEntity` for a service-linked role.
    pub(crate) fn check_modifiable(&self) -> ApiResult<()> {
        if self.protected {
            return Err(super::errors::protected_role(&self.name));
        }
        Ok(())
    }

    pub(crate) fn owner(&self) -> Owner<'_> {
        match self.kind {
            "user" => Owner::User(&self.id),
            "group" => Owner::Group(&self.id),
            _ => Owner::Role(&self.id),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct UserKind;
#[derive(Debug, Clone)]
pub(crate) struct GroupKind;
#[derive(Debug, Clone)]
pub(crate) struct RoleKind;

impl EntityKind for UserKind {
    const KIND: &'static str = "user";
    const NAME_PARAM: &'static str = "UserName";

    fn find(view: &Snapshot, account: &str, name: &str) -> ApiResult<Target> {
        let u = view
            .user_by_name(account, name)
            .ok_or_else(|| no_such_user(name))?;
        Ok(Target {
            kind: Self::KIND,
            id: u.id.clone(),
            name: u.name.clone(),
            arn: u.arn(),
            tags: u.tags.clone(),
            protected: false,
        })
    }
}

impl EntityKind for GroupKind {
    const KIND: &'static str = "group";
    const NAME_PARAM: &'static str = "GroupName";

    fn find(view: &Snapshot, account: &str, name: &str) -> ApiResult<Target> {
        let g = view
            .group_by_name(account, name)
            .ok_or_else(|| no_such_group(name))?;
        Ok(Target {
            kind: Self::KIND,
            id: g.id.clone(),
            name: g.name.clone(),
            arn: g.arn(),
            tags: Vec::new(),
            protected: false,
        })
    }
}

impl EntityKind for RoleKind {
    const KIND: &'static str = "role";
    const NAME_PARAM: &'static str = "RoleName";

    fn find(view: &Snapshot, account: &str, name: &str) -> ApiResult<Target> {
        let r = view
            .policies
            .role_by_name(account, name)
            .ok_or_else(|| no_such_role(name))?;
        Ok(Target {
            kind: Self::KIND,
            id: r.id.clone(),
            name: r.name.clone(),
            arn: r.arn(),
            tags: r.tags.clone(),
            protected: r.linked_service.is_some(),
        })
    }
}

/// The `UserName` / `GroupName` / `RoleName` parameter of a kind.
#[derive(Debug, Clone)]
pub(crate) struct Named<K> {
    pub(crate) name: Name,
    kind: PhantomData<K>,
}

impl<K: EntityKind> Input for Named<K> {
    fn read(r: &mut Reader<'_>) -> ApiResult<Self> {
        Ok(Self {
            name: r.required(K::NAME_PARAM)?,
            kind: PhantomData,
        })
    }
}

impl<K: EntityKind> Named<K> {
    /// The entity named, or `NoSuchEntity`.
    pub(crate) fn find(&self, cx: &Cx<'_>) -> ApiResult<Target> {
        K::find(&cx.state.store.view(), cx.account(), &self.name)
    }

    /// The entity named, once the caller may act on it (with its tags as
    /// `iam:ResourceTag/*`).
    pub(crate) fn authorized(&self, cx: &Cx<'_>) -> ApiResult<Target> {
        let t = self.find(cx)?;
        cx.authorize_target(&t)?;
        Ok(t)
    }
}

impl Cx<'_> {
    /// Authorize the action on an entity, with its tags as `iam:ResourceTag/*`.
    pub(crate) fn authorize_target(&self, t: &Target) -> ApiResult<()> {
        self.authorize_tagged(&t.arn, &t.tags)
    }
}

/// Entities that carry tags.
pub(crate) trait TaggedKind: EntityKind {
    /// The quota's name in `LimitExceeded` (`TagsPerUser`, `TagsPerRole`).
    const TAG_QUOTA: &'static str;

    fn tag(account: &str, t: &Target, tags: Tags) -> Change;
    fn untag(account: &str, t: &Target, keys: Vec<String>) -> Change;
}

impl TaggedKind for UserKind {
    const TAG_QUOTA: &'static str = "TagsPerUser";

    fn tag(account: &str, t: &Target, tags: Tags) -> Change {
        Change::TagUser {
            account: account.to_owned(),
            name: t.name.clone(),
            tags,
        }
    }

    fn untag(account: &str, t: &Target, keys: Vec<String>) -> Change {
        Change::UntagUser {
            account: account.to_owned(),
            name: t.name.clone(),
            keys,
        }
    }
}

impl TaggedKind for RoleKind {
    const TAG_QUOTA: &'static str = "TagsPerRole";

    fn tag(_: &str, t: &Target, tags: Tags) -> Change {
        Change::TagRole {
            role_id: t.id.clone(),
            tags,
        }
    }

    fn untag(_: &str, t: &Target, keys: Vec<String>) -> Change {
        Change::UntagRole {
            role_id: t.id.clone(),
            keys,
        }
    }
}

/// A failed change to the entity `t`.
pub(crate) fn entity_error(e: StoreError, t: &Target) -> ApiError {
    match e {
        StoreError::NotFound(Entity::User) => no_such_user(&t.name),
        StoreError::NotFound(Entity::Group) => no_such_group(&t.name),
        StoreError::NotFound(Entity::Role) => no_such_role(&t.name),
        e => store_error(e),
    }
}
