//! IAM actions: business rules for users, groups, access keys, MFA devices, roles (service-linked
//! ones included), instance profiles, policies (the AWS managed ones included), OpenID Connect
//! and SAML providers and the account itself (and, through the policy evaluator, who may call
//! them). See
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/welcome.html>.

pub(crate) mod account;
pub(crate) mod aws_managed;
pub(crate) mod context_keys;
pub(crate) mod credential_report;
pub(crate) mod entity;
pub(crate) mod errors;
pub(crate) mod groups;
pub(crate) mod input;
pub(crate) mod instance_profiles;
pub(crate) mod limits;
pub(crate) mod login_profiles;
pub(crate) mod mfa_devices;
pub(crate) mod oidc_providers;
pub(crate) mod policies;
pub(crate) mod roles;
pub(crate) mod saml_providers;
pub(crate) mod server_certificates;
pub(crate) mod service_access;
pub(crate) mod service_linked_roles;
pub(crate) mod signing_certificates;
pub(crate) mod simulate;
pub(crate) mod ssh_public_keys;
pub(crate) mod tags;
pub(crate) mod users;

use crate::arn::{Arn, Partition};
use crate::credentials::SessionSource;
use crate::error::ApiResult;
use crate::protocol::xml::Xml;
use crate::request::Cx;
use crate::store::Tags;

pub(crate) use entity::{GroupKind, RoleKind, UserKind};

impl Cx<'_> {
    pub(crate) fn account(&self) -> &str {
        self.caller.account()
    }

    /// Authorize `iam:<Action>` on `resource` for the caller.
    ///
    /// Sessions from GetSessionToken reach IAM only with MFA context, federated-user sessions
    /// (GetFederationToken) never. The account's root may do
    /// everything in its own account; other principals need an allowing policy.
    pub(crate) fn authorize(&self, resource: &str) -> ApiResult<()> {
        self.authorize_tagged(resource, &[])
    }

    /// As [`Cx::authorize`], with the target user's or role's tags as `iam:ResourceTag/*`.
    pub(crate) fn authorize_tagged(
        &self,
        resource: &str,
        tags: &[(String, String)],
    ) -> ApiResult<()> {
        self.authorize_as(&self.info.action.policy_action(), resource, tags, &[])
    }

    /// Authorize `action` (an action the request implies besides its own, such as `iam:PassRole`
    /// for `AddRoleToInstanceProfile`) on `resource`, with its tags and the action's own
    /// context keys.
    pub(crate) fn authorize_as(
        &self,
        action: &str,
        resource: &str,
        tags: &[(String, String)],
        keys: &[(&str, &str)],
    ) -> ApiResult<()> {
        // Policies name resources in the partition of the request's region.
        let resource = &*self.info.partition().rewrite(resource);
        if let Some(s) = self.caller.session()
            && matches!(s.source, SessionSource::GetSessionToken)
            && s.mfa_authenticated_at.is_none()
        {
            return Err(crate::authorization::refuse_credentials(
                self.state,
                self.caller,
                action,
                resource,
                "GetSessionToken credentials without MFA cannot call IAM",
                self.info,
            ));
        }
        if let Some(s) = self.caller.session()
            && matches!(s.source, SessionSource::GetFederationToken { .. })
        {
            return Err(crate::authorization::refuse_credentials(
                self.state,
                self.caller,
                action,
                resource,
                "GetFederationToken credentials cannot call IAM",
                self.info,
            ));
        }
        if self.caller.is_root() {
            return Ok(());
        }
        crate::authorization::authorize_with_tags(
            self.state,
            self.caller,
            action,
            resource,
            tags,
            keys,
            self.info,
        )
    }

    /// The ARN (as stored: in the `aws` partition) of the caller's account's entity of `kind`
    /// (`user`, `group`, `role`, `policy`, `instance-profile`, `mfa`) at `path` named `name`; with an empty name, the
    /// ARN that `List*` calls are authorized on.
    pub(crate) fn arn(&self, kind: &str, path: &str, name: &str) -> String {
        let (p, account) = (Partition::Aws, self.account());
        let arn = match kind {
            _ if name.is_empty() => Arn::all_of(p, account, kind),
            "user" => Arn::user(p, account, path, name),
            "group" => Arn::group(p, account, path, name),
            "role" => Arn::role(p, account, path, name),
            "policy" => Arn::policy(p, account, path, name),
            "instance-profile" => Arn::instance_profile(p, account, path, name),
            _ => Arn::mfa(p, account, path, name),
        };
        arn.to_string()
    }

    /// The user a request names, or for `UserName`-optional actions the calling user itself.
    /// Root (and sessions without a user) with no `UserName` act on the root (`None`).
    pub(crate) fn target_user_name(&self, named: Option<&str>) -> Option<String> {
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

impl<T> Page<T> {
    /// A page of a list whose marker is a position: how many items earlier pages returned.
    pub(crate) fn by_position(
        element: &'static str,
        items: impl IntoIterator<Item = T>,
        marker: Option<&str>,
        max: usize,
    ) -> Self {
        let (items, marker) = page_by_position(items, marker, max);
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

/// Tagging merges by key (case-insensitive); the result must stay within 50 tags.
pub(crate) fn check_tag_quota(existing: &Tags, new: &Tags, quota: &str) -> ApiResult<()> {
    let added = new
        .iter()
        .filter(|(k, _)| !existing.iter().any(|(ek, _)| ek.eq_ignore_ascii_case(k)))
        .count();
    if existing.len() + added > 50 {
        return Err(errors::tag_quota(quota));
    }
    Ok(())
}

pub(crate) fn write_tags(x: &mut Xml, tags: &Tags) {
    x.list("Tags", tags, |x, (k, v)| {
        x.elem("Key", k).elem("Value", v);
    });
}

/// Write `IsTruncated` and, when truncated, `Marker`.
pub(crate) fn write_paging(x: &mut Xml, next_marker: Option<&str>) {
    x.boolean("IsTruncated", next_marker.is_some());
    x.opt("Marker", next_marker.map(input::seal_marker).as_deref());
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
