//! Users, their tags and their long-term access keys.

use crate::credentials;
use crate::error::{ApiError, ApiResult};
use crate::http::ActionOutput;
use crate::http::params::{Params, Validator};
use crate::http::xml::Xml;
use crate::store::{Change, Entity, StoreError, User};

use super::errors::{no_such_user, store_error};
use super::{
    Cx, check_tag_quota, page, page_by_position, paging, parse_tags, path_param, path_prefix,
    tag_keys, validate_existing_name, validate_new_name, write_paging, write_tags,
};

pub(crate) fn write_user(x: &mut Xml, u: &User, with_tags: bool) {
    x.elem("Path", &u.path)
        .elem("UserName", &u.name)
        .elem("UserId", &u.id)
        .elem("Arn", &u.arn())
        .time("CreateDate", u.created_at);
    if let Some(b) = &u.boundary {
        x.nest("PermissionsBoundary", |x| {
            x.elem("PermissionsBoundaryType", "PermissionsBoundaryPolicy")
                .elem("PermissionsBoundaryArn", b);
        });
    }
    if with_tags && !u.tags.is_empty() {
        write_tags(x, &u.tags);
    }
}

fn find_user(cx: &Cx<'_>, name: &str) -> ApiResult<User> {
    cx.state
        .store
        .view()
        .user_by_name(cx.account(), name)
        .cloned()
        .ok_or_else(|| no_such_user(name))
}

pub(crate) async fn create_user(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let name = p.required("UserName")?.to_owned();
    validate_new_name("UserName", &name)?;
    let path = path_param(p, "Path")?;
    let tags = parse_tags(p)?;
    let boundary = p.get("PermissionsBoundary").map(str::to_owned);
    cx.authorize(&cx.arn("user", &path, &name))?;
    if let Some(b) = &boundary {
        crate::authz::check_boundary_arn(cx.state, b)?;
    }
    let user = User {
        id: credentials::new_unique_id(credentials::UniqueIdKind::User)?,
        account: cx.account().to_owned(),
        name,
        path,
        created_at: cx.info.now,
        boundary,
        tags,
    };
    cx.state
        .store
        .apply_one(Change::CreateUser {
            user: user.clone(),
            max_per_account: super::limits::USERS_PER_ACCOUNT,
        })
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(Entity::User) => ApiError::entity_already_exists(format!(
                "User with name {} already exists.",
                user.name
            )),
            e => store_error(e),
        })?;
    let mut x = Xml::new();
    x.nest("User", |x| write_user(x, &user, true));
    Ok(Some(x))
}

pub(crate) fn get_user(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let mut x = Xml::new();
    match cx.target_user_name(p)? {
        Some(name) => {
            let user = find_user(cx, &name)?;
            cx.authorize(&user.arn())?;
            x.nest("User", |x| write_user(x, &user, true));
        }
        None => {
            // The root user: AWS answers with the account id as UserId and the root ARN.
            let account = cx.account().to_owned();
            let created = cx
                .state
                .store
                .view()
                .account(&account)
                .map(|a| a.created_at)
                .unwrap_or_default();
            x.nest("User", |x| {
                x.elem("UserId", &account)
                    .elem("Arn", &crate::auth::root_arn(&account))
                    .time("CreateDate", created);
            });
        }
    }
    Ok(Some(x))
}

pub(crate) fn list_users(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let prefix = path_prefix(p)?;
    let (max, marker) = paging(p)?;
    cx.authorize(&cx.arn("user", "/", ""))?;
    let view = cx.state.store.view();
    let users = view
        .users_in(cx.account(), marker.as_deref())
        .filter(|u| u.path.starts_with(&prefix))
        .map(|u| (u.name.to_lowercase(), u));
    let (items, next) = page(users, max);
    let mut x = Xml::new();
    x.list("Users", items, |x, u| write_user(x, u, false));
    write_paging(&mut x, next.as_deref());
    Ok(Some(x))
}

pub(crate) async fn delete_user(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let name = p.required("UserName")?.to_owned();
    validate_existing_name("UserName", &name)?;
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
        .map_err(|e| user_error(e, &name))?;
    Ok(None)
}

pub(crate) async fn tag_user(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let name = p.required("UserName")?.to_owned();
    validate_existing_name("UserName", &name)?;
    let tags = parse_tags(p)?;
    if tags.is_empty() {
        return Err(ApiError::missing_parameter("Tags"));
    }
    let user = find_user(cx, &name)?;
    cx.authorize(&user.arn())?;
    // The merged set must stay within 50 tags.
    check_tag_quota(&user.tags, &tags, "TagsPerUser")?;
    let account = cx.account().to_owned();
    cx.state
        .store
        .apply_one(Change::TagUser {
            account,
            name: name.clone(),
            tags,
        })
        .await
        .map_err(|e| user_error(e, &name))?;
    Ok(None)
}

pub(crate) async fn untag_user(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let name = p.required("UserName")?.to_owned();
    validate_existing_name("UserName", &name)?;
    let keys = tag_keys(p)?;
    if keys.is_empty() {
        return Err(ApiError::missing_parameter("TagKeys"));
    }
    let user = find_user(cx, &name)?;
    cx.authorize(&user.arn())?;
    let account = cx.account().to_owned();
    cx.state
        .store
        .apply_one(Change::UntagUser {
            account,
            name: name.clone(),
            keys,
        })
        .await
        .map_err(|e| user_error(e, &name))?;
    Ok(None)
}

/// A failed change to the user `name`.
fn user_error(e: StoreError, name: &str) -> ApiError {
    match e {
        StoreError::NotFound(Entity::User) => no_such_user(name),
        e => store_error(e),
    }
}

pub(crate) fn list_user_tags(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let name = p.required("UserName")?;
    validate_existing_name("UserName", name)?;
    let (max, marker) = paging(p)?;
    let user = find_user(cx, name)?;
    cx.authorize(&user.arn())?;
    let (items, next) = page_by_position(user.tags.iter().cloned(), marker.as_deref(), max);
    let mut x = Xml::new();
    write_tags(&mut x, &items);
    write_paging(&mut x, next.as_deref());
    Ok(Some(x))
}

// --- access keys -----------------------------------------------------------------------------

/// Resolve the key owner: a named user, the calling user, or the root.
fn key_owner(cx: &Cx<'_>, p: &Params) -> ApiResult<(Option<User>, String)> {
    match cx.target_user_name(p)? {
        Some(name) => {
            let user = find_user(cx, &name)?;
            let arn = user.arn();
            Ok((Some(user), arn))
        }
        None => Ok((None, crate::auth::root_arn(cx.account()))),
    }
}

pub(crate) async fn create_access_key(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let (user, resource) = key_owner(cx, p)?;
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
    let mut x = Xml::new();
    x.nest("AccessKey", |x| {
        if let Some(u) = &user {
            x.elem("UserName", &u.name);
        }
        x.elem("AccessKeyId", &key_id)
            .elem("Status", "Active")
            .elem("SecretAccessKey", secret.expose())
            .time("CreateDate", now);
    });
    Ok(Some(x))
}

pub(crate) fn list_access_keys(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let (user, resource) = key_owner(cx, p)?;
    let (max, marker) = paging(p)?;
    cx.authorize(&resource)?;
    let view = cx.state.store.view();
    let mut keys: Vec<_> = view
        .keys_of_user(cx.account(), user.as_ref().map(|u| u.id.as_str()))
        .collect();
    keys.sort_by(|a, b| a.id.cmp(&b.id));
    let keys = keys
        .into_iter()
        .filter(|k| marker.as_deref().is_none_or(|m| k.id.as_str() > m))
        .map(|k| (k.id.clone(), k));
    let (items, next) = page(keys, max);
    let mut x = Xml::new();
    x.list("AccessKeyMetadata", items, |x, k| {
        if let Some(u) = &user {
            x.elem("UserName", &u.name);
        }
        x.elem("AccessKeyId", &k.id)
            .elem("Status", if k.active { "Active" } else { "Inactive" })
            .time("CreateDate", k.created_at);
    });
    write_paging(&mut x, next.as_deref());
    Ok(Some(x))
}

fn access_key_id_param(p: &Params) -> ApiResult<String> {
    let id = p.required("AccessKeyId")?;
    Validator::new()
        .length("AccessKeyId", id, 16, 128)
        .pattern("AccessKeyId", id, r"[\w]+", |c| {
            c.is_ascii_alphanumeric() || c == '_'
        })
        .finish()?;
    Ok(id.to_owned())
}

pub(crate) async fn update_access_key(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let key_id = access_key_id_param(p)?;
    let status = p.required("Status")?;
    let active = match status {
        "Active" => true,
        "Inactive" => false,
        other => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]",
                crate::http::params::sanitize(other)
            )));
        }
    };
    let (user, resource) = key_owner(cx, p)?;
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
    Ok(None)
}

pub(crate) async fn delete_access_key(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let key_id = access_key_id_param(p)?;
    let (user, resource) = key_owner(cx, p)?;
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
    Ok(None)
}

/// A failed change to the key `key_id` (which must belong to the named user, or the root).
fn key_error(e: StoreError, key_id: &str) -> ApiError {
    match e {
        StoreError::NotFound(Entity::AccessKey) => {
            ApiError::no_such_entity(format!("The Access Key with id {key_id} cannot be found."))
        }
        e => store_error(e),
    }
}
