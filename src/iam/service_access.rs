//! `ListPoliciesGrantingServiceAccess`: which of a user's (and its groups'), group's or role's
//! policies allow some action of a service. See
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListPoliciesGrantingServiceAccess.html>.
//!
//! A policy grants a service when one of its `Allow` statements names an action of it
//! ([`Policy::allows_action_in`](crate::policy::Policy::allows_action_in)), whatever the
//! statement's resources and conditions, as the API reference describes. For `iam` and `sts`
//! the actions are known (the operations of the service models, plus the actions that are
//! permissions only: `iam:PassRole`, `sts:TagSession`, ...), so `iam:Nonexistent` grants
//! nothing; for any other namespace a pattern that could name one of its actions counts.

use crate::arn::{Arn, Resource};
use crate::error::{ApiError, ApiResult};
use crate::policy::Policy;
use crate::protocol::input::{input, string_field};
use crate::protocol::output::Output;
use crate::protocol::params;
use crate::protocol::xml::Xml;
use crate::request::Cx;
use crate::store::Snapshot;
use crate::store::policies::Owner;

use super::errors::{no_such_group, no_such_role, no_such_user};
use super::write_paging;

const IAM_ACTIONS: &[&str] = &[
    "AcceptDelegationRequest",
    "AcquireRole",
    "AddClientIDToOpenIDConnectProvider",
    "AddRoleToInstanceProfile",
    "AddUserToGroup",
    "AssociateDelegationRequest",
    "AttachGroupPolicy",
    "AttachRolePolicy",
    "AttachUserPolicy",
    "ChangePassword",
    "CreateAccessKey",
    "CreateAccountAlias",
    "CreateDelegationRequest",
    "CreateGroup",
    "CreateInstanceProfile",
    "CreateLoginProfile",
    "CreateOpenIDConnectProvider",
    "CreatePolicy",
    "CreatePolicyVersion",
    "CreateRole",
    "CreateSAMLProvider",
    "CreateServiceLinkedRole",
    "CreateServiceSpecificCredential",
    "CreateUser",
    "CreateVirtualMFADevice",
    "CreateWorkloadIdentityProvider",
    "CreateWorkloadIdentityProviderOutboundSigner",
    "CreateWorkloadIdentityTemplate",
    "DeactivateMFADevice",
    "DeleteAccessKey",
    "DeleteAccountAlias",
    "DeleteAccountPasswordPolicy",
    "DeleteGroup",
    "DeleteGroupPolicy",
    "DeleteInstanceProfile",
    "DeleteLoginProfile",
    "DeleteOpenIDConnectProvider",
    "DeletePolicy",
    "DeletePolicyVersion",
    "DeleteRole",
    "DeleteRolePermissionsBoundary",
    "DeleteRolePolicy",
    "DeleteSAMLProvider",
    "DeleteSSHPublicKey",
    "DeleteServerCertificate",
    "DeleteServiceLinkedRole",
    "DeleteServiceSpecificCredential",
    "DeleteSigningCertificate",
    "DeleteUser",
    "DeleteUserPermissionsBoundary",
    "DeleteUserPolicy",
    "DeleteVirtualMFADevice",
    "DeleteWorkloadIdentityProvider",
    "DeleteWorkloadIdentityProviderOutboundSigner",
    "DeleteWorkloadIdentityProviderResourcePolicy",
    "DeleteWorkloadIdentityTemplate",
    "DeleteWorkloadIdentityTemplateAttestationPolicy",
    "DetachGroupPolicy",
    "DetachRolePolicy",
    "DetachUserPolicy",
    "DisableOrganizationLevelResources",
    "DisableOrganizationsRootCredentialsManagement",
    "DisableOrganizationsRootSessions",
    "DisableOutboundWebIdentityFederation",
    "DisableWorkloadIdentityProviderOutboundSigner",
    "EnableMFADevice",
    "EnableOrganizationLevelResources",
    "EnableOrganizationsRootCredentialsManagement",
    "EnableOrganizationsRootSessions",
    "EnableOutboundWebIdentityFederation",
    "EnableWorkloadIdentityProviderOutboundSigner",
    "GenerateCredentialReport",
    "GenerateOrganizationsAccessReport",
    "GenerateServiceLastAccessedDetails",
    "GetAccessKeyLastUsed",
    "GetAccountAuthorizationDetails",
    "GetAccountPasswordPolicy",
    "GetAccountProperties",
    "GetAccountSummary",
    "GetContextKeysForCustomPolicy",
    "GetContextKeysForPrincipalPolicy",
    "GetCredentialReport",
    "GetDelegationRequest",
    "GetGroup",
    "GetGroupPolicy",
    "GetHumanReadableSummary",
    "GetInstanceProfile",
    "GetLoginProfile",
    "GetMFADevice",
    "GetOpenIDConnectProvider",
    "GetOrganizationsAccessReport",
    "GetOutboundWebIdentityFederationInfo",
    "GetPolicy",
    "GetPolicyVersion",
    "GetRole",
    "GetRolePolicy",
    "GetRoleTemplateVersion",
    "GetSAMLProvider",
    "GetSSHPublicKey",
    "GetServerCertificate",
    "GetServiceLastAccessedDetails",
    "GetServiceLastAccessedDetailsWithEntities",
    "GetServiceLinkedRoleDeletionStatus",
    "GetUser",
    "GetUserPolicy",
    "GetWorkloadIdentityProvider",
    "GetWorkloadIdentityProviderDeletionStatus",
    "GetWorkloadIdentityProviderResourcePolicy",
    "GetWorkloadIdentityTemplate",
    "GetWorkloadIdentityTemplateAttestationPolicy",
    "ListAccessKeys",
    "ListAccountAliases",
    "ListAttachedGroupPolicies",
    "ListAttachedRolePolicies",
    "ListAttachedUserPolicies",
    "ListDelegationRequests",
    "ListEntitiesForPolicy",
    "ListGroupPolicies",
    "ListGroups",
    "ListGroupsForUser",
    "ListInstanceProfileTags",
    "ListInstanceProfiles",
    "ListInstanceProfilesForRole",
    "ListMFADeviceTags",
    "ListMFADevices",
    "ListOpenIDConnectProviderTags",
    "ListOpenIDConnectProviders",
    "ListOrganizationsFeatures",
    "ListPolicies",
    "ListPoliciesGrantingServiceAccess",
    "ListPolicyTags",
    "ListPolicyVersions",
    "ListRolePolicies",
    "ListRoleTags",
    "ListRoles",
    "ListSAMLProviderTags",
    "ListSAMLProviders",
    "ListSSHPublicKeys",
    "ListServerCertificateTags",
    "ListServerCertificates",
    "ListServiceSpecificCredentials",
    "ListSigningCertificates",
    "ListUserPolicies",
    "ListUserTags",
    "ListUsers",
    "ListVirtualMFADevices",
    "ListWorkloadIdentityProviderOutboundSigners",
    "ListWorkloadIdentityProviderTags",
    "ListWorkloadIdentityProviders",
    "ListWorkloadIdentityTemplateTags",
    "ListWorkloadIdentityTemplates",
    "PassRole",
    "PutAccountProperties",
    "PutGroupPolicy",
    "PutRolePermissionsBoundary",
    "PutRolePolicy",
    "PutUserPermissionsBoundary",
    "PutUserPolicy",
    "PutWorkloadIdentityProviderResourcePolicy",
    "PutWorkloadIdentityTemplateAttestationPolicy",
    "RejectDelegationRequest",
    "RemoveClientIDFromOpenIDConnectProvider",
    "RemoveRoleFromInstanceProfile",
    "RemoveUserFromGroup",
    "ResetServiceSpecificCredential",
    "ResyncMFADevice",
    "SendDelegationToken",
    "SetDefaultPolicyVersion",
    "SetSecurityTokenServicePreferences",
    "SimulateCustomPolicy",
    "SimulatePrincipalPolicy",
    "TagInstanceProfile",
    "TagMFADevice",
    "TagOpenIDConnectProvider",
    "TagPolicy",
    "TagRole",
    "TagSAMLProvider",
    "TagServerCertificate",
    "TagUser",
    "TagWorkloadIdentityProvider",
    "TagWorkloadIdentityTemplate",
    "UntagInstanceProfile",
    "UntagMFADevice",
    "UntagOpenIDConnectProvider",
    "UntagPolicy",
    "UntagRole",
    "UntagSAMLProvider",
    "UntagServerCertificate",
    "UntagUser",
    "UntagWorkloadIdentityProvider",
    "UntagWorkloadIdentityTemplate",
    "UpdateAccessKey",
    "UpdateAccountPasswordPolicy",
    "UpdateAssumeRolePolicy",
    "UpdateDelegationRequest",
    "UpdateGroup",
    "UpdateLoginProfile",
    "UpdateOpenIDConnectProvider",
    "UpdateOpenIDConnectProviderThumbprint",
    "UpdateRole",
    "UpdateRoleDescription",
    "UpdateSAMLProvider",
    "UpdateSSHPublicKey",
    "UpdateServerCertificate",
    "UpdateServiceSpecificCredential",
    "UpdateSigningCertificate",
    "UpdateUser",
    "UpdateWorkloadIdentityProviderOutboundSigner",
    "UploadSSHPublicKey",
    "UploadServerCertificate",
    "UploadSigningCertificate",
];
const STS_ACTIONS: &[&str] = &[
    "AssumeRole",
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
    "AssumeRoot",
    "DecodeAuthorizationMessage",
    "GetAccessKeyInfo",
    "GetCallerIdentity",
    "GetCertificate",
    "GetDelegatedAccessToken",
    "GetFederationToken",
    "GetScopedCredentials",
    "GetServiceBearerToken",
    "GetSessionToken",
    "GetTrustBundles",
    "GetWebIdentityToken",
    "IssueWorkloadIdentityContext",
    "SetContext",
    "SetSourceIdentity",
    "TagSession",
];

/// The known actions of a namespace.
fn known_actions(namespace: &str) -> Option<&'static [&'static str]> {
    match namespace {
        "iam" => Some(IAM_ACTIONS),
        "sts" => Some(STS_ACTIONS),
        _ => None,
    }
}

string_field!(
    /// A service namespace (`iam`, `s3`): 1..64 of `[\w-]*`.
    ServiceNamespace,
    1,
    64,
    r"[\w-]*",
    |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-'
);
string_field!(
    /// The `Marker` of a list that is never truncated: 1..320 characters.
    Marker,
    1,
    320,
    r"[\u0020-\u00FF]+",
    |c: char| matches!(c, '\u{20}'..='\u{ff}')
);

input! {
    /// `ListPoliciesGrantingServiceAccess`
    pub(crate) struct ListPoliciesGrantingServiceAccessInput {
        arn: crate::protocol::input::ArnParam = required("Arn"),
        service_namespaces: Vec<ServiceNamespace> = list("ServiceNamespaces", 200),
        /// Validated; every answer is one whole page.
        #[allow(dead_code, reason = "the answer is never truncated, so no marker is issued")]
        marker: Option<Marker> = optional("Marker"),
    }
    check(this) {
        if this.service_namespaces.is_empty() {
            return Err(ApiError::missing_parameter("ServiceNamespaces"));
        }
        Ok(())
    }
}

/// One policy of the entity (or of a group of the user).
#[derive(Debug, Clone)]
struct Granting {
    name: String,
    /// `Some(arn)` for a managed policy, `None` for an inline one.
    arn: Option<String>,
    /// For an inline policy: `USER`, `GROUP` or `ROLE`, and its owner's name.
    owner: Option<(&'static str, String)>,
}

/// `PoliciesGrantingServiceAccess`: per namespace asked, the policies that grant it.
#[derive(Debug)]
pub(crate) struct GrantingOutput(Vec<(String, Vec<Granting>)>);

impl Output for GrantingOutput {
    fn write(&self, x: &mut Xml) {
        x.list(
            "PoliciesGrantingServiceAccess",
            &self.0,
            |x, (ns, policies)| {
                x.elem("ServiceNamespace", ns);
                x.list("Policies", policies, |x, p| {
                    x.elem("PolicyName", &p.name);
                    match (&p.arn, &p.owner) {
                        (Some(arn), _) => {
                            x.elem("PolicyType", "MANAGED").arn("PolicyArn", arn);
                        }
                        (None, Some((kind, name))) => {
                            x.elem("PolicyType", "INLINE")
                                .elem("EntityType", kind)
                                .elem("EntityName", name);
                        }
                        (None, None) => {
                            x.elem("PolicyType", "INLINE");
                        }
                    }
                });
            },
        );
        write_paging(x, None);
    }
}

/// The policies of an owner: inline ones (tagged with the owner), then attached ones.
fn owner_policies<'a>(
    view: &'a Snapshot,
    owner: Owner<'a>,
    kind: &'static str,
    name: &str,
    out: &mut Vec<(Granting, &'a Policy)>,
) {
    for p in view.policies.inline_of(owner) {
        let g = Granting {
            name: p.name.clone(),
            arn: None,
            owner: Some((kind, name.to_owned())),
        };
        out.push((g, &p.compiled));
    }
    for m in view.policies.attached_to(owner) {
        // A policy attached to a user and to one of its groups is listed once.
        if out
            .iter()
            .any(|(g, _)| g.arn.as_deref() == Some(m.arn.as_str()))
        {
            continue;
        }
        let g = Granting {
            name: m.name.clone(),
            arn: Some(m.arn.clone()),
            owner: None,
        };
        out.push((g, &m.compiled));
    }
}

/// Every identity policy of the user (and its groups), group or role `arn` names.
fn entity_policies<'a>(
    view: &'a Snapshot,
    account: &str,
    arn: &str,
) -> ApiResult<Vec<(Granting, &'a Policy)>> {
    let parsed = Arn::parse(arn).ok().filter(|a| a.service == "iam");
    let mut out = Vec::new();
    let in_account = |a: &Arn| a.account == account;
    match parsed.as_ref().map(|a| (&a.resource, a)) {
        Some((Resource::User { name, .. }, a)) => {
            let u = view
                .user_by_name(account, name)
                .filter(|u| in_account(a) && u.arn() == arn)
                .ok_or_else(|| no_such_user(name))?;
            owner_policies(view, Owner::User(&u.id), "USER", &u.name, &mut out);
            for g in view.groups_of_user(&u.id) {
                owner_policies(view, Owner::Group(&g.id), "GROUP", &g.name, &mut out);
            }
        }
        Some((Resource::Group { name, .. }, a)) => {
            let g = view
                .group_by_name(account, name)
                .filter(|g| in_account(a) && g.arn() == arn)
                .ok_or_else(|| no_such_group(name))?;
            owner_policies(view, Owner::Group(&g.id), "GROUP", &g.name, &mut out);
        }
        Some((Resource::Role { name, .. }, a)) => {
            let r = view
                .policies
                .role_by_name(account, name)
                .filter(|r| in_account(a) && r.arn() == arn)
                .ok_or_else(|| no_such_role(name))?;
            owner_policies(view, Owner::Role(&r.id), "ROLE", &r.name, &mut out);
        }
        _ => {
            return Err(ApiError::invalid_input(format!(
                "ARN {} is not the ARN of a user, group or role.",
                params::sanitize(arn)
            )));
        }
    }
    Ok(out)
}

pub(crate) async fn list_policies_granting_service_access(
    cx: &Cx<'_>,
    input: ListPoliciesGrantingServiceAccessInput,
) -> ApiResult<GrantingOutput> {
    let arn = input.arn.as_str();
    cx.authorize(arn)?;
    let view = cx.state.store.view();
    let policies = entity_policies(&view, cx.account(), arn)?;
    let mut out: Vec<(String, Vec<Granting>)> = Vec::new();
    for ns in &input.service_namespaces {
        if out.iter().any(|(n, _)| n == ns.as_str()) {
            continue;
        }
        let known = known_actions(ns);
        let granting = policies
            .iter()
            .filter(|(_, p)| p.allows_action_in(ns, known))
            .map(|(g, _)| g.clone())
            .collect();
        out.push((ns.as_str().to_owned(), granting));
    }
    Ok(GrantingOutput(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every action tessera answers is one the lists know.
    #[test]
    fn known_actions_cover_the_action_table() {
        for a in crate::protocol::Action::ALL {
            let ns = a.service().signing_name();
            assert!(
                known_actions(ns).is_some_and(|k| k.contains(&a.name())),
                "{ns}:{}",
                a.name()
            );
        }
    }
}
