//! The account as a whole: its alias (`CreateAccountAlias`, `DeleteAccountAlias`,
//! `ListAccountAliases`), its entity counts and quotas (`GetAccountSummary`), and everything it
//! holds with every policy document (`GetAccountAuthorizationDetails`, the call security
//! scanners make). See the API reference pages of each.
//!
//! An account has at most one alias, unique across all accounts; creating one replaces the
//! account's alias, as AWS does, and a name already held (by any account, this one included) is
//! `EntityAlreadyExists`.

use std::sync::Arc;

use crate::error::ApiResult;
use crate::protocol::input::{Field, input};
use crate::protocol::output::Output;
use crate::protocol::params::{MAX_PARAMS, Validator};
use crate::protocol::xml::Xml;
use crate::request::Cx;
use crate::store::policies::{ManagedPolicy, Owner};
use crate::store::{Change, Entity, Group, Role, Snapshot, StoreError, User};

use super::errors::{account_alias_exists, no_such_account_alias, store_error};
use super::input::Paging;
use super::instance_profiles::write_profile;
use super::policies::{EntityFilter, encode_document};
use super::roles::displayed_trust;
use super::{limits, page_by_position, write_paging, write_tags};

// --- aliases ---------------------------------------------------------------------------------

const ALIAS_PATTERN: &str = r"^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$";

/// AWS's alias rule: 3..63 lowercase letters, digits and hyphens, no hyphen first, last or
/// twice in a row.
pub(crate) fn is_valid_account_alias(a: &str) -> bool {
    let b = a.as_bytes();
    (3..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b.first() != Some(&b'-')
        && b.last() != Some(&b'-')
        && !a.contains("--")
}

/// `AccountAlias`: 3..63 characters matching [`ALIAS_PATTERN`].
#[derive(Debug, Clone)]
pub(crate) struct AccountAlias(String);

impl Field for AccountAlias {
    fn read(name: &str, raw: &str, v: &mut Validator) -> ApiResult<Self> {
        v.length(name, raw, 3, 63).check(
            name,
            raw,
            is_valid_account_alias(raw),
            &format!("Member must satisfy regular expression pattern: {ALIAS_PATTERN}"),
        );
        Ok(Self(raw.to_owned()))
    }
}

input! {
    /// `CreateAccountAlias`, `DeleteAccountAlias`
    pub(crate) struct AccountAliasInput {
        account_alias: AccountAlias = required("AccountAlias"),
    }
}

pub(crate) async fn create_account_alias(cx: &Cx<'_>, input: AccountAliasInput) -> ApiResult<()> {
    let alias = input.account_alias.0;
    cx.authorize("*")?;
    cx.state
        .store
        .apply_one(Change::CreateAccountAlias {
            account: cx.account().to_owned(),
            alias: alias.clone(),
        })
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(Entity::AccountAlias) => account_alias_exists(&alias),
            e => store_error(e),
        })?;
    Ok(())
}

pub(crate) async fn delete_account_alias(cx: &Cx<'_>, input: AccountAliasInput) -> ApiResult<()> {
    let alias = input.account_alias.0;
    cx.authorize("*")?;
    cx.state
        .store
        .apply_one(Change::DeleteAccountAlias {
            account: cx.account().to_owned(),
            alias: alias.clone(),
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(Entity::AccountAlias) => no_such_account_alias(&alias),
            e => store_error(e),
        })?;
    Ok(())
}

input! {
    /// `ListAccountAliases`
    pub(crate) struct ListAccountAliasesInput {
        paging: Paging = nested(),
    }
}

/// `<AccountAliases>` and paging.
#[derive(Debug)]
pub(crate) struct AliasList {
    aliases: Vec<String>,
    marker: Option<String>,
}

impl Output for AliasList {
    fn write(&self, x: &mut Xml) {
        x.list("AccountAliases", &self.aliases, |x, a| {
            x.elem_text(a);
        });
        write_paging(x, self.marker.as_deref());
    }
}

pub(crate) async fn list_account_aliases(
    cx: &Cx<'_>,
    input: ListAccountAliasesInput,
) -> ApiResult<AliasList> {
    cx.authorize("*")?;
    let view = cx.state.store.view();
    let alias = view.account(cx.account()).and_then(|a| a.alias.clone());
    let (aliases, marker) = page_by_position(
        alias,
        input.paging.marker.as_deref(),
        input.paging.max_items,
    );
    Ok(AliasList { aliases, marker })
}

// --- summary ---------------------------------------------------------------------------------

input! {
    /// `GetAccountSummary`
    pub(crate) struct GetAccountSummaryInput {}
}

/// `<SummaryMap><entry><key>…</key><value>…</value></entry>…</SummaryMap>`
#[derive(Debug)]
pub(crate) struct SummaryOutput(Vec<(&'static str, usize)>);

impl Output for SummaryOutput {
    fn write(&self, x: &mut Xml) {
        x.nest("SummaryMap", |x| {
            for (k, v) in &self.0 {
                x.nest("entry", |x| {
                    x.elem("key", k).num("value", v);
                });
            }
        });
    }
}

/// The account's counts and quotas under AWS's `SummaryMap` keys. Counts are the account's
/// entities now; quotas are the limits tessera enforces (AWS's defaults), and AWS's defaults
/// for what tessera does not store yet (server and signing certificates). The keys are those of
/// the API reference's example answer: `AccountPasswordPresent` is not among them (the root
/// user of a tessera account has no password).
fn summary(view: &Snapshot, account: &str) -> Vec<(&'static str, usize)> {
    let users = view.users.values().filter(|u| u.account == account).count();
    let groups = view
        .groups
        .values()
        .filter(|g| g.account == account)
        .count();
    let roles = view
        .policies
        .roles
        .values()
        .filter(|r| r.account == account)
        .count();
    let local: Vec<&ManagedPolicy> = view
        .policies
        .managed
        .values()
        .filter(|m| m.account == account)
        .collect();
    let versions: usize = local.iter().map(|m| m.versions.len()).sum();
    let profiles = view.instance_profiles_in(account).count();
    let providers =
        view.oidc_providers_in(account).count() + view.saml_providers_in(account).count();
    let devices: Vec<_> = view.mfa.values().filter(|d| d.account == account).collect();
    let in_use = devices.iter().filter(|d| d.enabled_at.is_some()).count();
    let root_mfa = devices
        .iter()
        .any(|d| d.user_id.is_none() && d.enabled_at.is_some());
    let root_keys = view.keys_of_user(account, None).next().is_some();
    let attached = limits::MANAGED_POLICIES_PER_ENTITY;
    let mut out = vec![
        ("AccessKeysPerUserQuota", limits::ACCESS_KEYS_PER_USER),
        ("AccountAccessKeysPresent", usize::from(root_keys)),
        ("AccountMFAEnabled", usize::from(root_mfa)),
        ("AccountSigningCertificatesPresent", 0),
        ("AssumeRolePolicySizeQuota", limits::TRUST_POLICY_MAX),
        ("AttachedPoliciesPerGroupQuota", attached),
        ("AttachedPoliciesPerRoleQuota", attached),
        ("AttachedPoliciesPerUserQuota", attached),
        ("GlobalEndpointTokenVersion", 1),
        (
            "GroupPolicySizeQuota",
            limits::inline_limit(Owner::Group("")),
        ),
        ("Groups", groups),
        ("GroupsPerUserQuota", limits::GROUPS_PER_USER),
        ("GroupsQuota", limits::GROUPS_PER_ACCOUNT),
        ("InstanceProfiles", profiles),
        (
            "InstanceProfilesQuota",
            limits::INSTANCE_PROFILES_PER_ACCOUNT,
        ),
        ("MFADevices", devices.len()),
        ("MFADevicesInUse", in_use),
        ("Policies", local.len()),
        ("PoliciesQuota", limits::POLICIES_PER_ACCOUNT),
        ("PolicySizeQuota", limits::MANAGED_POLICY_MAX),
        ("PolicyVersionsInUse", versions),
        ("PolicyVersionsInUseQuota", limits::POLICY_VERSIONS_IN_USE),
        ("Providers", providers),
        ("RolePolicySizeQuota", limits::inline_limit(Owner::Role(""))),
        ("Roles", roles),
        ("RolesQuota", limits::ROLES_PER_ACCOUNT),
        ("ServerCertificates", 0),
        (
            "ServerCertificatesQuota",
            limits::SERVER_CERTIFICATES_PER_ACCOUNT,
        ),
        (
            "SigningCertificatesPerUserQuota",
            limits::SIGNING_CERTIFICATES_PER_USER,
        ),
        ("UserPolicySizeQuota", limits::inline_limit(Owner::User(""))),
        ("Users", users),
        ("UsersQuota", limits::USERS_PER_ACCOUNT),
        ("VersionsPerPolicyQuota", limits::POLICY_VERSIONS),
    ];
    out.sort_by_key(|(k, _)| *k);
    out
}

pub(crate) async fn get_account_summary(
    cx: &Cx<'_>,
    _: GetAccountSummaryInput,
) -> ApiResult<SummaryOutput> {
    cx.authorize("*")?;
    let view = cx.state.store.view();
    Ok(SummaryOutput(summary(&view, cx.account())))
}

// --- authorization details -------------------------------------------------------------------

input! {
    /// `GetAccountAuthorizationDetails`
    pub(crate) struct AuthorizationDetailsInput {
        filter: Vec<EntityFilter> = list("Filter", MAX_PARAMS),
        paging: Paging = nested(),
    }
}

/// One entity of the answer, in the order pages walk them: users, groups, roles, then
/// policies.
#[derive(Debug)]
enum Detail {
    User(User),
    Group(Group),
    Role(Role),
    Policy(ManagedPolicy),
}

/// `UserDetailList`, `GroupDetailList`, `RoleDetailList`, `Policies` and paging.
#[derive(Debug)]
pub(crate) struct AuthorizationDetails {
    view: Arc<Snapshot>,
    details: Vec<Detail>,
    marker: Option<String>,
}

/// `<…PolicyList>` of an owner's inline policies, documents URL-encoded.
fn write_inline(x: &mut Xml, view: &Snapshot, element: &str, owner: Owner<'_>) {
    x.list(element, view.policies.inline_of(owner), |x, p| {
        x.elem("PolicyName", &p.name)
            .elem("PolicyDocument", &encode_document(&p.document));
    });
}

fn write_attached(x: &mut Xml, view: &Snapshot, owner: Owner<'_>) {
    x.list(
        "AttachedManagedPolicies",
        view.policies.attached_to(owner),
        |x, m| {
            x.elem("PolicyName", &m.name).arn("PolicyArn", &m.arn);
        },
    );
}

fn write_boundary(x: &mut Xml, boundary: Option<&String>) {
    if let Some(b) = boundary {
        x.nest("PermissionsBoundary", |x| {
            x.elem("PermissionsBoundaryType", "PermissionsBoundaryPolicy")
                .arn("PermissionsBoundaryArn", b);
        });
    }
}

fn write_user_detail(x: &mut Xml, view: &Snapshot, u: &User) {
    x.elem("Path", &u.path)
        .elem("UserName", &u.name)
        .elem("UserId", &u.id)
        .arn("Arn", &u.arn())
        .time("CreateDate", u.created_at);
    write_inline(x, view, "UserPolicyList", Owner::User(&u.id));
    let mut groups: Vec<&str> = view
        .groups_of_user(&u.id)
        .map(|g| g.name.as_str())
        .collect();
    groups.sort_by_key(|g| g.to_lowercase());
    x.list("GroupList", groups, |x, g| {
        x.elem_text(g);
    });
    write_attached(x, view, Owner::User(&u.id));
    write_boundary(x, u.boundary.as_ref());
    write_tags(x, &u.tags);
}

fn write_group_detail(x: &mut Xml, view: &Snapshot, g: &Group) {
    x.elem("Path", &g.path)
        .elem("GroupName", &g.name)
        .elem("GroupId", &g.id)
        .arn("Arn", &g.arn())
        .time("CreateDate", g.created_at);
    write_inline(x, view, "GroupPolicyList", Owner::Group(&g.id));
    write_attached(x, view, Owner::Group(&g.id));
}

fn write_role_detail(x: &mut Xml, view: &Snapshot, r: &Role) {
    x.elem("Path", &r.path)
        .elem("RoleName", &r.name)
        .elem("RoleId", &r.id)
        .arn("Arn", &r.arn())
        .time("CreateDate", r.created_at)
        .elem(
            "AssumeRolePolicyDocument",
            &encode_document(&displayed_trust(view, r)),
        )
        .list(
            "InstanceProfileList",
            view.instance_profiles_of_role(&r.account, &r.id),
            |x, (_, p)| write_profile(x, view, p, false),
        );
    write_inline(x, view, "RolePolicyList", Owner::Role(&r.id));
    write_attached(x, view, Owner::Role(&r.id));
    write_boundary(x, r.boundary.as_ref());
    write_tags(x, &r.tags);
    x.nest("RoleLastUsed", |_| {});
}

fn write_policy_detail(x: &mut Xml, m: &ManagedPolicy) {
    x.elem("PolicyName", &m.name)
        .elem("PolicyId", &m.id)
        .arn("Arn", &m.arn)
        .elem("Path", &m.path)
        .elem("DefaultVersionId", &m.default_version)
        .num("AttachmentCount", m.attachment_count)
        .num("PermissionsBoundaryUsageCount", m.boundary_usage_count)
        .boolean("IsAttachable", true)
        .opt("Description", m.description.as_deref())
        .time("CreateDate", m.created_at)
        .time("UpdateDate", m.updated_at)
        .list("PolicyVersionList", m.versions.iter().rev(), |x, v| {
            x.elem("Document", &encode_document(&v.document))
                .elem("VersionId", &v.version_id)
                .boolean("IsDefaultVersion", v.version_id == m.default_version)
                .time("CreateDate", v.created_at);
        });
}

impl Output for AuthorizationDetails {
    fn write(&self, x: &mut Xml) {
        let view = &*self.view;
        x.list(
            "UserDetailList",
            self.details.iter().filter_map(|d| match d {
                Detail::User(u) => Some(u),
                _ => None,
            }),
            |x, u| write_user_detail(x, view, u),
        )
        .list(
            "GroupDetailList",
            self.details.iter().filter_map(|d| match d {
                Detail::Group(g) => Some(g),
                _ => None,
            }),
            |x, g| write_group_detail(x, view, g),
        )
        .list(
            "RoleDetailList",
            self.details.iter().filter_map(|d| match d {
                Detail::Role(r) => Some(r),
                _ => None,
            }),
            |x, r| write_role_detail(x, view, r),
        )
        .list(
            "Policies",
            self.details.iter().filter_map(|d| match d {
                Detail::Policy(m) => Some(m),
                _ => None,
            }),
            write_policy_detail,
        );
        write_paging(x, self.marker.as_deref());
    }

    fn size_hint(&self) -> usize {
        4096
    }
}

/// Everything of the caller's account the filter asks for (everything without one): users,
/// groups and roles with their inline and attached policies, and the managed policies with
/// every version: the account's own, and the AWS managed ones its entities use.
pub(crate) async fn get_account_authorization_details(
    cx: &Cx<'_>,
    input: AuthorizationDetailsInput,
) -> ApiResult<AuthorizationDetails> {
    cx.authorize("*")?;
    let view = cx.state.store.view();
    let account = cx.account();
    let wants = |f: EntityFilter| input.filter.is_empty() || input.filter.contains(&f);
    let by_name = |a: &str, b: &str| a.to_lowercase().cmp(&b.to_lowercase());

    let mut details: Vec<Detail> = Vec::new();
    if wants(EntityFilter::User) {
        details.extend(view.users_in(account, None).cloned().map(Detail::User));
    }
    if wants(EntityFilter::Group) {
        let mut groups: Vec<&Group> = view
            .groups
            .values()
            .filter(|g| g.account == account)
            .collect();
        groups.sort_by(|a, b| by_name(&a.name, &b.name));
        details.extend(groups.into_iter().cloned().map(Detail::Group));
    }
    if wants(EntityFilter::Role) {
        let mut roles: Vec<&Role> = view
            .policies
            .roles
            .values()
            .filter(|r| r.account == account)
            .collect();
        roles.sort_by(|a, b| by_name(&a.name, &b.name));
        details.extend(roles.into_iter().cloned().map(Detail::Role));
    }
    let (local, aws) = (
        wants(EntityFilter::LocalManagedPolicy),
        wants(EntityFilter::AWSManagedPolicy),
    );
    for m in view.policies.managed.values() {
        let m = view.policy_in_account(m, account);
        let listed = if m.account == "aws" {
            aws && (m.attachment_count > 0 || m.boundary_usage_count > 0)
        } else {
            local && m.account == account
        };
        if listed {
            details.push(Detail::Policy(m));
        }
    }
    let (details, marker) = page_by_position(
        details,
        input.paging.marker.as_deref(),
        input.paging.max_items,
    );
    Ok(AuthorizationDetails {
        view,
        details,
        marker,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_rule() {
        for ok in ["abc", "my-company-prod", "a1b", &"a".repeat(63), "123"] {
            assert!(is_valid_account_alias(ok), "{ok}");
        }
        for bad in [
            "ab",
            "-abc",
            "abc-",
            "a--b",
            "ABC",
            "a_b",
            "a.b",
            &"a".repeat(64),
            "",
        ] {
            assert!(!is_valid_account_alias(bad), "{bad}");
        }
    }
}
