//! IAM actions: business rules for users, groups, access keys and MFA devices (and, through
//! the policy evaluator, who may call them). See
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/welcome.html>.

pub(crate) mod errors;
pub(crate) mod groups;
#[allow(dead_code, reason = "the IAM handlers move to these shapes next")]
pub(crate) mod input;
pub(crate) mod limits;
pub(crate) mod mfa_devices;
pub(crate) mod policies;
pub(crate) mod roles;
pub(crate) mod simulate;
pub(crate) mod users;

use crate::credentials::SessionSource;
use crate::error::{ApiError, ApiResult};
use crate::protocol::params::{self, Params, Validator};
use crate::protocol::xml::Xml;
use crate::request::Cx;

/// What a handler that writes its own XML answers.
pub(crate) type ActionOutput = Option<Xml>;
use crate::store::Tags;

/// IAM actions whose handlers still read [`Params`] themselves.
pub(crate) async fn dispatch_legacy(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    match cx.info.action.name() {
        "TagUser" => users::tag_user(cx, p).await,
        "UntagUser" => users::untag_user(cx, p).await,
        "ListUserTags" => users::list_user_tags(cx, p),
        "CreatePolicy" => policies::create_policy(cx, p).await,
        "GetPolicy" => policies::get_policy(cx, p),
        "DeletePolicy" => policies::delete_policy(cx, p).await,
        "ListPolicies" => policies::list_policies(cx, p),
        "CreatePolicyVersion" => policies::create_policy_version(cx, p).await,
        "GetPolicyVersion" => policies::get_policy_version(cx, p),
        "ListPolicyVersions" => policies::list_policy_versions(cx, p),
        "DeletePolicyVersion" => policies::delete_policy_version(cx, p).await,
        "SetDefaultPolicyVersion" => policies::set_default_policy_version(cx, p).await,
        "AttachUserPolicy" => policies::attach_policy(cx, p, "user").await,
        "DetachUserPolicy" => policies::detach_policy(cx, p, "user").await,
        "ListAttachedUserPolicies" => policies::list_attached_policies(cx, p, "user"),
        "AttachGroupPolicy" => policies::attach_policy(cx, p, "group").await,
        "DetachGroupPolicy" => policies::detach_policy(cx, p, "group").await,
        "ListAttachedGroupPolicies" => policies::list_attached_policies(cx, p, "group"),
        "PutUserPolicy" => policies::put_inline_policy(cx, p, "user").await,
        "GetUserPolicy" => policies::get_inline_policy(cx, p, "user"),
        "DeleteUserPolicy" => policies::delete_inline_policy(cx, p, "user").await,
        "ListUserPolicies" => policies::list_inline_policies(cx, p, "user"),
        "PutGroupPolicy" => policies::put_inline_policy(cx, p, "group").await,
        "GetGroupPolicy" => policies::get_inline_policy(cx, p, "group"),
        "DeleteGroupPolicy" => policies::delete_inline_policy(cx, p, "group").await,
        "ListGroupPolicies" => policies::list_inline_policies(cx, p, "group"),
        "PutUserPermissionsBoundary" => policies::put_boundary(cx, p, "user").await,
        "DeleteUserPermissionsBoundary" => policies::delete_boundary(cx, p, "user").await,
        "CreateRole" => roles::create_role(cx, p).await,
        "GetRole" => roles::get_role(cx, p),
        "ListRoles" => roles::list_roles(cx, p),
        "UpdateRole" => roles::update_role(cx, p).await,
        "UpdateAssumeRolePolicy" => roles::update_assume_role_policy(cx, p).await,
        "DeleteRole" => roles::delete_role(cx, p).await,
        "TagRole" => roles::tag_role(cx, p).await,
        "UntagRole" => roles::untag_role(cx, p).await,
        "ListRoleTags" => roles::list_role_tags(cx, p),
        "PutRolePolicy" => policies::put_inline_policy(cx, p, "role").await,
        "GetRolePolicy" => policies::get_inline_policy(cx, p, "role"),
        "DeleteRolePolicy" => policies::delete_inline_policy(cx, p, "role").await,
        "ListRolePolicies" => policies::list_inline_policies(cx, p, "role"),
        "AttachRolePolicy" => policies::attach_policy(cx, p, "role").await,
        "DetachRolePolicy" => policies::detach_policy(cx, p, "role").await,
        "ListAttachedRolePolicies" => policies::list_attached_policies(cx, p, "role"),
        "ListInstanceProfilesForRole" => roles::list_instance_profiles_for_role(cx, p),
        "PutRolePermissionsBoundary" => policies::put_boundary(cx, p, "role").await,
        "DeleteRolePermissionsBoundary" => policies::delete_boundary(cx, p, "role").await,
        "SimulateCustomPolicy" => simulate::simulate_custom_policy(cx, p),
        "SimulatePrincipalPolicy" => simulate::simulate_principal_policy(cx, p),
        other => Err(ApiError::invalid_action(other, "2010-05-08")),
    }
}

impl Cx<'_> {
    pub fn account(&self) -> &str {
        self.caller.account()
    }

    /// Authorize `iam:<Action>` on `resource` for the caller.
    ///
    /// Sessions from GetSessionToken reach IAM only with MFA context. The account's root may do
    /// everything in its own account; other principals need an allowing policy.
    pub fn authorize(&self, resource: &str) -> ApiResult<()> {
        self.authorize_tagged(resource, &[])
    }

    /// As [`Cx::authorize`], with the target user's or role's tags as `iam:ResourceTag/*`.
    pub fn authorize_tagged(&self, resource: &str, tags: &[(String, String)]) -> ApiResult<()> {
        let action = self.info.action.policy_action();
        if let Some(s) = self.caller.session()
            && matches!(s.source, SessionSource::GetSessionToken)
            && s.mfa_authenticated_at.is_none()
        {
            return Err(
                ApiError::not_authorized(&self.caller.arn(), &action, resource)
                    .with_detail("GetSessionToken credentials without MFA cannot call IAM"),
            );
        }
        if self.caller.is_root() {
            return Ok(());
        }
        crate::authorization::authorize_with_tags(
            self.state,
            self.caller,
            &action,
            resource,
            tags,
            self.info,
        )
    }

    pub fn arn(&self, kind: &str, path: &str, name: &str) -> String {
        format!("arn:aws:iam::{}:{kind}{path}{name}", self.account())
    }

    /// The user a request names, or for `UserName`-optional actions the calling user itself.
    /// Root (and sessions without a user) with no `UserName` act on the root (`None`).
    pub fn target_user_name(&self, named: Option<&str>) -> Option<String> {
        if let Some(n) = named {
            return Some(n.to_owned());
        }
        self.caller.principal().user_name().map(str::to_owned)
    }
}

/// A member of a Query-protocol list (`<member>…</member>`).
pub(crate) trait Member {
    fn write(&self, x: &mut Xml);
}

/// One page of a `List*` answer: `<Element><member>…</member>…</Element>`, `IsTruncated` and,
/// when truncated, the `Marker` to continue from.
#[derive(Debug)]
pub(crate) struct Page<T> {
    element: &'static str,
    items: Vec<T>,
    marker: Option<String>,
}

impl<T> Page<T> {
    /// The first `max` items of an ordered iterator of (marker key, item).
    pub(crate) fn of(
        element: &'static str,
        items: impl Iterator<Item = (String, T)>,
        max: usize,
    ) -> Self {
        let (items, marker) = page(items, max);
        Self {
            element,
            items,
            marker,
        }
    }
}

impl<T: Member> crate::protocol::output::Output for Page<T> {
    fn write(&self, x: &mut Xml) {
        x.list(self.element, &self.items, |x, item| item.write(x));
        write_paging(x, self.marker.as_deref());
    }
}

// --- shared validation and rendering ---------------------------------------------------------

/// New entity names: 1..64 of `[\w+=,.@-]+`.
pub(crate) fn validate_new_name(param: &str, v: &str) -> ApiResult<()> {
    Validator::new()
        .length(param, v, 1, 64)
        .pattern(param, v, params::NAME_PATTERN, params::is_name_char)
        .finish()
}

/// Names referring to existing entities: 1..128.
pub(crate) fn validate_existing_name(param: &str, v: &str) -> ApiResult<()> {
    Validator::new()
        .length(param, v, 1, 128)
        .pattern(param, v, params::NAME_PATTERN, params::is_name_char)
        .finish()
}

pub(crate) fn path_param(p: &Params, param: &str) -> ApiResult<String> {
    let path = p.get(param).unwrap_or("/");
    Validator::new()
        .length(param, path, 1, 512)
        .check(
            param,
            path,
            params::is_valid_path(path),
            &format!(
                "Member must satisfy regular expression pattern: {}",
                params::PATH_PATTERN
            ),
        )
        .finish()?;
    Ok(path.to_owned())
}

/// `PathPrefix` for List* calls (default `/`).
pub(crate) fn path_prefix(p: &Params) -> ApiResult<String> {
    let prefix = p.get("PathPrefix").unwrap_or("/");
    Validator::new()
        .length("PathPrefix", prefix, 1, 512)
        .check(
            "PathPrefix",
            prefix,
            prefix.starts_with('/'),
            r"Member must satisfy regular expression pattern: \u002F[\u0021-\u007F]*",
        )
        .finish()?;
    Ok(prefix.to_owned())
}

/// Tags from `Tags.member.N.Key/Value`, validated as IAM does.
pub(crate) fn parse_tags(p: &Params) -> ApiResult<Tags> {
    let raw = p.struct_list("Tags", &["Key", "Value"])?;
    let mut v = Validator::new();
    v.count("Tags", raw.len(), 50);
    let mut tags = Vec::with_capacity(raw.len());
    for (i, m) in raw.iter().enumerate() {
        let n = i + 1;
        let key = m.get("Key").map(String::as_str);
        let value = m.get("Value").map(String::as_str).unwrap_or("");
        let Some(key) = key else {
            return Err(ApiError::missing_parameter(&format!("Tags.member.{n}.Key")));
        };
        let kp = format!("Tags.member.{n}.Key");
        let vp = format!("Tags.member.{n}.Value");
        v.length(&kp, key, 1, 128)
            .pattern(&kp, key, params::TAG_PATTERN, params::is_tag_char);
        v.length(&vp, value, 0, 256).pattern(
            &vp,
            value,
            params::TAG_VALUE_PATTERN,
            params::is_tag_char,
        );
        tags.push((key.to_owned(), value.to_owned()));
    }
    v.finish()?;
    check_tag_keys(&tags)?;
    Ok(tags)
}

/// Duplicate keys (case-insensitive) and the reserved `aws:` prefix are refused.
pub(crate) fn check_tag_keys(tags: &Tags) -> ApiResult<()> {
    let mut seen = std::collections::HashSet::new();
    for (k, _) in tags {
        if k.to_lowercase().starts_with("aws:") {
            return Err(ApiError::invalid_input(
                "User-defined tag keys can't start with \"aws:\".",
            ));
        }
        if !seen.insert(k.to_lowercase()) {
            return Err(ApiError::invalid_input(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ));
        }
    }
    Ok(())
}

/// Tagging merges by key (case-insensitive); the result must stay within 50 tags.
pub(crate) fn check_tag_quota(existing: &Tags, new: &Tags, quota: &str) -> ApiResult<()> {
    let added = new
        .iter()
        .filter(|(k, _)| !existing.iter().any(|(ek, _)| ek.eq_ignore_ascii_case(k)))
        .count();
    if existing.len() + added > 50 {
        return Err(ApiError::limit_exceeded(format!(
            "Cannot exceed quota for {quota}: 50"
        )));
    }
    Ok(())
}

pub(crate) fn tag_keys(p: &Params) -> ApiResult<Vec<String>> {
    let keys = p.list("TagKeys")?;
    let mut v = Validator::new();
    v.count("TagKeys", keys.len(), 50);
    for (i, k) in keys.iter().enumerate() {
        let kp = format!("TagKeys.member.{}", i + 1);
        v.length(&kp, k, 1, 128)
            .pattern(&kp, k, params::TAG_PATTERN, params::is_tag_char);
    }
    v.finish()?;
    Ok(keys.into_iter().map(str::to_owned).collect())
}

pub(crate) fn write_tags(x: &mut Xml, tags: &Tags) {
    x.list("Tags", tags, |x, (k, v)| {
        x.elem("Key", k).elem("Value", v);
    });
}

/// `MaxItems` (1..1000, default 100) and `Marker` for paged lists.
pub(crate) fn paging(p: &Params) -> ApiResult<(usize, Option<String>)> {
    let max = p.int("MaxItems")?.unwrap_or(100);
    Validator::new().range("MaxItems", max, 1, 1000).finish()?;
    let marker = p.get("Marker").map(str::to_owned);
    if let Some(m) = &marker {
        Validator::new().length("Marker", m, 1, 320).finish()?;
    }
    Ok((usize::try_from(max).unwrap_or(100), marker))
}

/// Write `IsTruncated` and, when truncated, `Marker`.
pub(crate) fn write_paging(x: &mut Xml, next_marker: Option<&str>) {
    x.boolean("IsTruncated", next_marker.is_some());
    x.opt("Marker", next_marker);
}

/// Take one page from an ordered iterator of (marker key, item).
pub(crate) fn page<T>(
    items: impl Iterator<Item = (String, T)>,
    max: usize,
) -> (Vec<T>, Option<String>) {
    let mut out = Vec::new();
    let mut items = items.peekable();
    while let Some((key, item)) = items.next() {
        out.push(item);
        if out.len() == max {
            return (out, items.peek().is_some().then_some(key));
        }
    }
    (out, None)
}

/// One page of a list whose marker is a position: how many items earlier pages returned.
pub(crate) fn page_by_position<T>(
    items: impl IntoIterator<Item = T>,
    marker: Option<&str>,
    max: usize,
) -> (Vec<T>, Option<String>) {
    let start = marker.and_then(|m| m.parse::<usize>().ok()).unwrap_or(0);
    page(
        items
            .into_iter()
            .enumerate()
            .skip(start)
            .map(|(i, t)| ((i + 1).to_string(), t)),
        max,
    )
}
