//! Users, their tags and their long-term access keys.

use crate::credentials;
use crate::error::{ApiError, ApiResult};
use crate::protocol::input::{ArnParam, enum_field, input, string_field};
use crate::protocol::output::Output;
use crate::protocol::xml::Xml;
use crate::request::Cx;
use crate::store::{AccessKey, Change, Entity, StoreError, User};

use super::errors::{no_such_user, store_error};

use super::input::{IamPath, IamTags, Name, NewName, Paging, PathPrefix};
use super::{Page, write_tags};

pub(crate) fn write_user(x: &mut Xml, u: &User, with_tags: bool) {
    x.elem("Path", &u.path)
        .elem("UserName", &u.name)
        .elem("UserId", &u.id)
        .arn("Arn", &u.arn())
        .time("CreateDate", u.created_at);
    // `List*` calls leave out the boundary and tags, as AWS's do.
    if let Some(b) = u.boundary.as_ref().filter(|_| with_tags) {
        x.nest("PermissionsBoundary", |x| {
            x.elem("PermissionsBoundaryType", "PermissionsBoundaryPolicy")
                .arn("PermissionsBoundaryArn", b);
        });
    }
    if with_tags && !u.tags.is_empty() {
        write_tags(x, &u.tags);
    }
}

/// A user as `List*` calls show it: without boundary and tags.
#[derive(Debug)]
pub(crate) struct UserSummary(pub(crate) User);

impl super::Member for UserSummary {
    fn write(&self, x: &mut Xml) {
        write_user(x, &self.0, false);
    }
}

/// `<User>` with its tags, as `CreateUser` and `GetUser` answer.
#[derive(Debug)]
pub(crate) struct UserOutput(UserOrRoot);

#[derive(Debug)]
enum UserOrRoot {
    User(User),
    /// The root user: AWS answers with the account id as `UserId` and the root ARN.
    Root {
        account: String,
        created: chrono::DateTime<chrono::Utc>,
    },
}

impl Output for UserOutput {
    fn write(&self, x: &mut Xml) {
        x.nest("User", |x| match &self.0 {
            UserOrRoot::User(u) => write_user(x, u, true),
            UserOrRoot::Root { account, created } => {
                x.elem("UserId", account)
                    .arn("Arn", &crate::identity::root_arn(account))
                    .time("CreateDate", *created);
            }
        });
    }
}

pub(crate) fn find_user(cx: &Cx<'_>, name: &str) -> ApiResult<User> {
    cx.state
        .store
        .view()
        .user_by_name(cx.account(), name)
        .cloned()
        .ok_or_else(|| no_such_user(name))
}

input! {
    /// `CreateUser`
    pub(crate) struct CreateUserInput {
        user_name: NewName = required("UserName"),
        path: IamPath = or_default("Path"),
        tags: IamTags = nested(),
        permissions_boundary: Option<ArnParam> = optional("PermissionsBoundary"),
    }
}

pub(crate) async fn create_user(cx: &Cx<'_>, input: CreateUserInput) -> ApiResult<UserOutput> {
    let (name, path) = (input.user_name.into_string(), input.path.0);
    let boundary = input.permissions_boundary.map(ArnParam::into_string);
    cx.authorize(&cx.arn("user", &path, &name))?;
    if let Some(b) = &boundary {
        crate::authorization::check_boundary_arn(cx.state, b)?;
    }
    let user = User {
        id: credentials::new_unique_id(credentials::UniqueIdKind::User)?,
        account: cx.account().to_owned(),
        name,
        path,
        created_at: cx.info.now,
        boundary,
        tags: input.tags.0,
    };
    cx.state
        .store
        .apply_one(Change::CreateUser {
            user: user.clone(),
            max_per_account: super::limits::USERS_PER_ACCOUNT,
        })
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(Entity::User) => super::errors::user_exists(&user.name),
            e => store_error(e),
        })?;
    Ok(UserOutput(UserOrRoot::User(user)))
}

input! {
    /// `GetUser`: the named user, or the caller itself.
    pub(crate) struct GetUserInput {
        user_name: Option<Name> = optional("UserName"),
    }
}

pub(crate) async fn get_user(cx: &Cx<'_>, input: GetUserInput) -> ApiResult<UserOutput> {
    match cx.target_user_name(input.user_name.as_deref()) {
        Some(name) => {
            let user = find_user(cx, &name)?;
            cx.authorize(&user.arn())?;
            Ok(UserOutput(UserOrRoot::User(user)))
        }
        None => {
            let account = cx.account().to_owned();
            let created = cx
                .state
                .store
                .view()
                .account(&account)
                .map(|a| a.created_at)
                .unwrap_or_default();
            Ok(UserOutput(UserOrRoot::Root { account, created }))
        }
    }
}

input! {
    /// `ListUsers`
    pub(crate) struct ListUsersInput {
        path_prefix: PathPrefix = or_default("PathPrefix"),
        paging: Paging = nested(),
    }
}

pub(crate) async fn list_users(cx: &Cx<'_>, input: ListUsersInput) -> ApiResult<Page<UserSummary>> {
    let (prefix, paging) = (input.path_prefix.0, input.paging);
    cx.authorize(&cx.arn("user", "/", ""))?;
    let view = cx.state.store.view();
    let users = view
        .users_in(cx.account(), paging.marker.as_deref())
        .filter(|u| u.path.starts_with(&prefix))
        .map(|u| (u.name.to_lowercase(), UserSummary(u.clone())));
    Ok(Page::of("Users", users, paging.max_items))
}

input! {
    /// `DeleteUser`
    pub(crate) struct DeleteUserInput {
        user_name: Name = required("UserName"),
    }
}

pub(crate) async fn delete_user(cx: &Cx<'_>, input: DeleteUserInput) -> ApiResult<()> {
    let name = input.user_name.into_string();
    let user = find_user(cx, &name)?;
    cx.authorize(&user.arn())?;
    let account = cx.account().to_owned();
    cx.state
        .store
        .apply_one(Change::DeleteUser {
            account,
            name: name.clone(),
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(Entity::User) => no_such_user(&name),
            e => store_error(e),
        })?;
    Ok(())
}

input! {
    /// `UpdateUser`
    pub(crate) struct UpdateUserInput {
        user_name: Name = required("UserName"),
        new_path: Option<IamPath> = optional("NewPath"),
        new_user_name: Option<NewName> = optional("NewUserName"),
    }
}

/// `UpdateUser`: rename and/or move a user. Its id stays, so its access keys (and sessions),
/// groups, policies, MFA devices, login profile and tags follow it. The caller needs
/// `iam:UpdateUser` on the user as it is and as it will be (API reference: "the requester must
/// have appropriate permissions on both the source object and the target object").
pub(crate) async fn update_user(cx: &Cx<'_>, input: UpdateUserInput) -> ApiResult<()> {
    let user = find_user(cx, &input.user_name)?;
    let new_name = input.new_user_name.map(NewName::into_string);
    let new_path = input.new_path.map(|p| p.0);
    cx.authorize_tagged(&user.arn(), &user.tags)?;
    let target = cx.arn(
        "user",
        new_path.as_deref().unwrap_or(&user.path),
        new_name.as_deref().unwrap_or(&user.name),
    );
    if target != user.arn() {
        cx.authorize_tagged(&target, &user.tags)?;
    }
    cx.state
        .store
        .apply_one(Change::UpdateUser {
            account: cx.account().to_owned(),
            name: user.name.clone(),
            new_name: new_name.clone(),
            new_path,
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(Entity::User) => no_such_user(&user.name),
            StoreError::AlreadyExists(Entity::User) => ApiError::entity_already_exists(format!(
                "User with name {} already exists.",
                new_name.as_deref().unwrap_or(&user.name)
            )),
            e => store_error(e),
        })?;
    Ok(())
}

// --- access keys -----------------------------------------------------------------------------

/// Resolve the key owner: a named user, the calling user, or the root (the root calling
/// without `UserName`). A role session or federated user must name a user, as AWS answers them:
/// their own keys are temporary, and the root's keys are not theirs to list or change.
fn key_owner(cx: &Cx<'_>, user_name: Option<&str>) -> ApiResult<(Option<User>, String)> {
    match cx.target_user_name(user_name) {
        Some(name) => {
            let user = find_user(cx, &name)?;
            let arn = user.arn();
            Ok((Some(user), arn))
        }
        None if cx.caller.is_root() => Ok((None, crate::identity::root_arn(cx.account()))),
        None => Err(super::errors::user_name_required()),
    }
}

string_field!(
    /// An access key id parameter: 16..128 of `[\w]+`.
    AccessKeyIdParam,
    16,
    128,
    r"[\w]+",
    |c: char| c.is_ascii_alphanumeric() || c == '_'
);

enum_field!(
    /// An access key's status.
    KeyStatus { Active, Inactive }
);

input! {
    /// `CreateAccessKey`
    pub(crate) struct CreateAccessKeyInput {
        user_name: Option<Name> = optional("UserName"),
    }
}

/// A new key with its secret: the only time the secret is shown.
#[derive(Debug)]
pub(crate) struct CreateAccessKeyOutput {
    user_name: Option<String>,
    access_key_id: String,
    secret: credentials::Secret,
    created: chrono::DateTime<chrono::Utc>,
}

impl Output for CreateAccessKeyOutput {
    fn write(&self, x: &mut Xml) {
        x.nest("AccessKey", |x| {
            x.opt("UserName", self.user_name.as_deref())
                .elem("AccessKeyId", &self.access_key_id)
                .elem("Status", "Active")
                .elem("SecretAccessKey", self.secret.expose())
                .time("CreateDate", self.created);
        });
    }
}

pub(crate) async fn create_access_key(
    cx: &Cx<'_>,
    input: CreateAccessKeyInput,
) -> ApiResult<CreateAccessKeyOutput> {
    let (user, resource) = key_owner(cx, input.user_name.as_deref())?;
    cx.authorize(&resource)?;
    let key_id = credentials::new_access_key_id(cx.account())?;
    let secret = credentials::new_secret_access_key()?;
    let now = cx.info.now;
    cx.state
        .store
        .apply_one(Change::CreateAccessKey {
            id: key_id.clone(),
            account: cx.account().to_owned(),
            user_id: user.as_ref().map(|u| u.id.clone()),
            secret: secret.clone(),
            created_at: now,
            max_per_owner: Some(super::limits::ACCESS_KEYS_PER_USER),
        })
        .await
        .map_err(store_error)?;
    Ok(CreateAccessKeyOutput {
        user_name: user.map(|u| u.name),
        access_key_id: key_id,
        secret,
        created: now,
    })
}

input! {
    /// `ListAccessKeys`
    pub(crate) struct ListAccessKeysInput {
        user_name: Option<Name> = optional("UserName"),
        paging: Paging = nested(),
    }
}

/// One key's metadata (never its secret).
#[derive(Debug)]
pub(crate) struct KeyMetadata {
    user_name: Option<String>,
    id: String,
    active: bool,
    created: chrono::DateTime<chrono::Utc>,
}

impl super::Member for KeyMetadata {
    fn write(&self, x: &mut Xml) {
        x.opt("UserName", self.user_name.as_deref())
            .elem("AccessKeyId", &self.id)
            .elem("Status", if self.active { "Active" } else { "Inactive" })
            .time("CreateDate", self.created);
    }
}

pub(crate) async fn list_access_keys(
    cx: &Cx<'_>,
    input: ListAccessKeysInput,
) -> ApiResult<Page<KeyMetadata>> {
    let (user, resource) = key_owner(cx, input.user_name.as_deref())?;
    let paging = input.paging;
    cx.authorize(&resource)?;
    let view = cx.state.store.view();
    let user_id = user.as_ref().map(|u| u.id.clone());
    let mut keys: Vec<&AccessKey> = view
        .keys_of_user(cx.account(), user_id.as_deref())
        .collect();
    keys.sort_by(|a, b| a.id.cmp(&b.id));
    let user_name = user.map(|u| u.name);
    let keys = keys
        .into_iter()
        .filter(|k| paging.marker.as_deref().is_none_or(|m| k.id.as_str() > m))
        .map(|k| {
            (
                k.id.clone(),
                KeyMetadata {
                    user_name: user_name.clone(),
                    id: k.id.clone(),
                    active: k.active,
                    created: k.created_at,
                },
            )
        });
    Ok(Page::of("AccessKeyMetadata", keys, paging.max_items))
}

input! {
    /// `UpdateAccessKey`
    pub(crate) struct UpdateAccessKeyInput {
        access_key_id: AccessKeyIdParam = required("AccessKeyId"),
        status: KeyStatus = required("Status"),
        user_name: Option<Name> = optional("UserName"),
    }
}

pub(crate) async fn update_access_key(cx: &Cx<'_>, input: UpdateAccessKeyInput) -> ApiResult<()> {
    let key_id = input.access_key_id.into_string();
    let active = input.status == KeyStatus::Active;
    let (user, resource) = key_owner(cx, input.user_name.as_deref())?;
    cx.authorize(&resource)?;
    let (account, uid) = (cx.account().to_owned(), user.map(|u| u.id));
    cx.state
        .store
        .apply_one(Change::UpdateAccessKey {
            account,
            user_id: uid,
            key_id: key_id.clone(),
            active,
        })
        .await
        .map_err(|e| key_error(e, &key_id))?;
    Ok(())
}

input! {
    /// `DeleteAccessKey`
    pub(crate) struct DeleteAccessKeyInput {
        access_key_id: AccessKeyIdParam = required("AccessKeyId"),
        user_name: Option<Name> = optional("UserName"),
    }
}

pub(crate) async fn delete_access_key(cx: &Cx<'_>, input: DeleteAccessKeyInput) -> ApiResult<()> {
    let key_id = input.access_key_id.into_string();
    let (user, resource) = key_owner(cx, input.user_name.as_deref())?;
    cx.authorize(&resource)?;
    let (account, uid) = (cx.account().to_owned(), user.map(|u| u.id));
    cx.state
        .store
        .apply_one(Change::DeleteAccessKey {
            account,
            user_id: uid,
            key_id: key_id.clone(),
        })
        .await
        .map_err(|e| key_error(e, &key_id))?;
    Ok(())
}

/// A failed change to the key `key_id` (which must belong to the named user, or the root).
fn key_error(e: StoreError, key_id: &str) -> ApiError {
    match e {
        StoreError::NotFound(Entity::AccessKey) => super::errors::no_such_access_key(key_id),
        e => store_error(e),
    }
}

// --- access key last use ---------------------------------------------------------------------

input! {
    /// `GetAccessKeyLastUsed`
    pub(crate) struct GetAccessKeyLastUsedInput {
        access_key_id: AccessKeyIdParam = required("AccessKeyId"),
    }
}

/// The key's owner and its last use. Never used: no date, and `N/A` for the region and
/// service, as AWS answers.
#[derive(Debug)]
pub(crate) struct GetAccessKeyLastUsedOutput {
    user_name: Option<String>,
    last_used: Option<crate::store::key_usage::KeyUse>,
}

impl Output for GetAccessKeyLastUsedOutput {
    fn write(&self, x: &mut Xml) {
        x.nest("AccessKeyLastUsed", |x| match &self.last_used {
            Some(u) => {
                x.elem("Region", &u.region)
                    .time("LastUsedDate", u.date)
                    .elem("ServiceName", &u.service);
            }
            None => {
                x.elem("Region", "N/A").elem("ServiceName", "N/A");
            }
        });
        x.opt("UserName", self.user_name.as_deref());
    }
}

/// Authorized on the key's owner (`iam:GetAccessKeyLastUsed` on the user, or the root). A key
/// that is not one of the caller's account is refused as AWS refuses it (`AccessDenied`),
/// whether it exists elsewhere or nowhere, so the answer says nothing about other accounts.
pub(crate) async fn get_access_key_last_used(
    cx: &Cx<'_>,
    input: GetAccessKeyLastUsedInput,
) -> ApiResult<GetAccessKeyLastUsedOutput> {
    let key_id = input.access_key_id.into_string();
    let view = cx.state.store.view();
    let Some(key) = view
        .access_keys
        .get(&key_id)
        .filter(|k| k.account == cx.account())
    else {
        return Err(crate::authorization::refuse_target(
            cx.state,
            cx.caller,
            &cx.info.action.policy_action(),
            &format!("access key {key_id}"),
            "access key",
            "no such access key in the caller's account",
            cx.info,
        ));
    };
    let owner = match &key.user_id {
        Some(uid) => Some(
            view.users
                .get(uid)
                .cloned()
                .ok_or_else(|| ApiError::internal().with_detail("access key owner missing"))?,
        ),
        None => None,
    };
    match &owner {
        Some(u) => cx.authorize_tagged(&u.arn(), &u.tags)?,
        None => cx.authorize(&crate::identity::root_arn(cx.account()))?,
    }
    Ok(GetAccessKeyLastUsedOutput {
        user_name: owner.map(|u| u.name),
        last_used: cx.state.store.key_usage().get(&key_id),
    })
}
