//! The AWS Query protocol, independent of HTTP: which actions exist ([`Action`], from the one
//! action table), how an action's parameters are read into its typed input ([`input`]), and how
//! its typed output is written as XML ([`output`], [`xml`]).
//!
//! See <https://smithy.io/2.0/aws/protocols/aws-query-protocol.html>.

pub(crate) mod input;
pub(crate) mod output;
pub mod params;
pub mod xml;

/// Which API a request speaks, decided by `Version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Sts,
    Iam,
}

impl Service {
    pub fn from_version(v: &str) -> Option<Service> {
        match v {
            "2011-06-15" => Some(Service::Sts),
            "2010-05-08" => Some(Service::Iam),
            _ => None,
        }
    }

    /// The `Version` parameter this service's requests carry.
    pub fn version(self) -> &'static str {
        match self {
            Service::Sts => "2011-06-15",
            Service::Iam => "2010-05-08",
        }
    }

    pub fn namespace(self) -> &'static str {
        match self {
            Service::Sts => xml::STS_NS,
            Service::Iam => xml::IAM_NS,
        }
    }

    /// The SigV4 service name in the credential scope (and the IAM action prefix).
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::Sts => "sts",
            Service::Iam => "iam",
        }
    }
}

/// Whether clients sign an action (`auth: smithy.api#noAuth` actions are sent unsigned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    Signed,
    Unsigned,
}

/// Whether an action gets an audit record: every STS action, and IAM actions that change state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audit {
    Audited,
    NotAudited,
}

/// The action table: one row per action tessera answers.
///
/// Columns: service, action (the wire name), [`Auth`], [`Audit`], how the handler is called
/// (`typed`: `async fn(&Cx, Input) -> ApiResult<Output>`), and the handler's path below the
/// crate root. The table is expanded twice: here into [`Action`], and in `crate::actions` into
/// the dispatch `match`. Adding an action is one row here, one input struct, one handler and
/// one output struct.
macro_rules! action_table {
    ($then:ident) => {
        $then! {
            Sts GetCallerIdentity             Signed Audited    typed  sts::get_caller_identity;
            Sts GetSessionToken               Signed Audited    typed  sts::get_session_token;
            Sts AssumeRole                    Signed Audited    typed  sts::assume_role;
            Sts GetFederationToken            Signed Audited    typed  sts::get_federation_token;
            Sts GetAccessKeyInfo              Signed NotAudited typed  sts::get_access_key_info;
            Sts DecodeAuthorizationMessage    Signed NotAudited typed  sts::decode_authorization_message;
            Sts AssumeRoleWithWebIdentity     Unsigned Audited  typed  sts::web_identity::assume_role_with_web_identity;
            Sts AssumeRoleWithSAML            Unsigned Audited  typed  sts::saml::assume_role_with_saml;

            Iam CreateUser                    Signed Audited    typed  iam::users::create_user;
            Iam GetUser                       Signed NotAudited typed  iam::users::get_user;
            Iam ListUsers                     Signed NotAudited typed  iam::users::list_users;
            Iam DeleteUser                    Signed Audited    typed  iam::users::delete_user;
            Iam UpdateUser                    Signed Audited    typed  iam::users::update_user;
            Iam CreateLoginProfile            Signed Audited    typed  iam::login_profiles::create_login_profile;
            Iam GetLoginProfile               Signed NotAudited typed  iam::login_profiles::get_login_profile;
            Iam UpdateLoginProfile            Signed Audited    typed  iam::login_profiles::update_login_profile;
            Iam DeleteLoginProfile            Signed Audited    typed  iam::login_profiles::delete_login_profile;
            Iam ChangePassword                Signed Audited    typed  iam::login_profiles::change_password;
            Iam UpdateAccountPasswordPolicy   Signed Audited    typed  iam::login_profiles::update_account_password_policy;
            Iam GetAccountPasswordPolicy      Signed NotAudited typed  iam::login_profiles::get_account_password_policy;
            Iam DeleteAccountPasswordPolicy   Signed Audited    typed  iam::login_profiles::delete_account_password_policy;
            Iam TagUser                       Signed Audited    typed  iam::tags::tag::<iam::UserKind>;
            Iam UntagUser                     Signed Audited    typed  iam::tags::untag::<iam::UserKind>;
            Iam ListUserTags                  Signed NotAudited typed  iam::tags::list_tags::<iam::UserKind>;
            Iam CreateAccessKey               Signed Audited    typed  iam::users::create_access_key;
            Iam ListAccessKeys                Signed NotAudited typed  iam::users::list_access_keys;
            Iam UpdateAccessKey               Signed Audited    typed  iam::users::update_access_key;
            Iam DeleteAccessKey               Signed Audited    typed  iam::users::delete_access_key;
            Iam GetAccessKeyLastUsed          Signed NotAudited typed  iam::users::get_access_key_last_used;
            Iam CreateGroup                   Signed Audited    typed  iam::groups::create_group;
            Iam GetGroup                      Signed NotAudited typed  iam::groups::get_group;
            Iam ListGroups                    Signed NotAudited typed  iam::groups::list_groups;
            Iam DeleteGroup                   Signed Audited    typed  iam::groups::delete_group;
            Iam UpdateGroup                   Signed Audited    typed  iam::groups::update_group;
            Iam AddUserToGroup                Signed Audited    typed  iam::groups::add_user_to_group;
            Iam RemoveUserFromGroup           Signed Audited    typed  iam::groups::remove_user_from_group;
            Iam ListGroupsForUser             Signed NotAudited typed  iam::groups::list_groups_for_user;
            Iam CreateVirtualMFADevice        Signed Audited    typed  iam::mfa_devices::create_virtual_mfa_device;
            Iam DeleteVirtualMFADevice        Signed Audited    typed  iam::mfa_devices::delete_virtual_mfa_device;
            Iam ListVirtualMFADevices         Signed NotAudited typed  iam::mfa_devices::list_virtual_mfa_devices;
            Iam EnableMFADevice               Signed Audited    typed  iam::mfa_devices::enable_mfa_device;
            Iam DeactivateMFADevice           Signed Audited    typed  iam::mfa_devices::deactivate_mfa_device;
            Iam ListMFADevices                Signed NotAudited typed  iam::mfa_devices::list_mfa_devices;
            Iam GetMFADevice                  Signed NotAudited typed  iam::mfa_devices::get_mfa_device;
            Iam ResyncMFADevice               Signed Audited    typed  iam::mfa_devices::resync_mfa_device;
            Iam TagMFADevice                  Signed Audited    typed  iam::mfa_devices::tag_mfa_device;
            Iam UntagMFADevice                Signed Audited    typed  iam::mfa_devices::untag_mfa_device;
            Iam ListMFADeviceTags             Signed NotAudited typed  iam::mfa_devices::list_mfa_device_tags;
            Iam CreatePolicy                  Signed Audited    typed  iam::policies::create_policy;
            Iam GetPolicy                     Signed NotAudited typed  iam::policies::get_policy;
            Iam DeletePolicy                  Signed Audited    typed  iam::policies::delete_policy;
            Iam ListPolicies                  Signed NotAudited typed  iam::policies::list_policies;
            Iam CreatePolicyVersion           Signed Audited    typed  iam::policies::create_policy_version;
            Iam GetPolicyVersion              Signed NotAudited typed  iam::policies::get_policy_version;
            Iam ListPolicyVersions            Signed NotAudited typed  iam::policies::list_policy_versions;
            Iam DeletePolicyVersion           Signed Audited    typed  iam::policies::delete_policy_version;
            Iam SetDefaultPolicyVersion       Signed Audited    typed  iam::policies::set_default_policy_version;
            Iam TagPolicy                     Signed Audited    typed  iam::policies::tag_policy;
            Iam UntagPolicy                   Signed Audited    typed  iam::policies::untag_policy;
            Iam ListPolicyTags                Signed NotAudited typed  iam::policies::list_policy_tags;
            Iam ListEntitiesForPolicy         Signed NotAudited typed  iam::policies::list_entities_for_policy;
            Iam ListPoliciesGrantingServiceAccess Signed NotAudited typed iam::service_access::list_policies_granting_service_access;
            Iam GetContextKeysForCustomPolicy Signed NotAudited typed  iam::context_keys::get_context_keys_for_custom_policy;
            Iam GetContextKeysForPrincipalPolicy Signed NotAudited typed iam::context_keys::get_context_keys_for_principal_policy;
            Iam AttachUserPolicy              Signed Audited    typed  iam::policies::attach_policy::<iam::UserKind>;
            Iam DetachUserPolicy              Signed Audited    typed  iam::policies::detach_policy::<iam::UserKind>;
            Iam ListAttachedUserPolicies      Signed NotAudited typed  iam::policies::list_attached_policies::<iam::UserKind>;
            Iam AttachGroupPolicy             Signed Audited    typed  iam::policies::attach_policy::<iam::GroupKind>;
            Iam DetachGroupPolicy             Signed Audited    typed  iam::policies::detach_policy::<iam::GroupKind>;
            Iam ListAttachedGroupPolicies     Signed NotAudited typed  iam::policies::list_attached_policies::<iam::GroupKind>;
            Iam PutUserPolicy                 Signed Audited    typed  iam::policies::put_inline_policy::<iam::UserKind>;
            Iam GetUserPolicy                 Signed NotAudited typed  iam::policies::get_inline_policy::<iam::UserKind>;
            Iam DeleteUserPolicy              Signed Audited    typed  iam::policies::delete_inline_policy::<iam::UserKind>;
            Iam ListUserPolicies              Signed NotAudited typed  iam::policies::list_inline_policies::<iam::UserKind>;
            Iam PutGroupPolicy                Signed Audited    typed  iam::policies::put_inline_policy::<iam::GroupKind>;
            Iam GetGroupPolicy                Signed NotAudited typed  iam::policies::get_inline_policy::<iam::GroupKind>;
            Iam DeleteGroupPolicy             Signed Audited    typed  iam::policies::delete_inline_policy::<iam::GroupKind>;
            Iam ListGroupPolicies             Signed NotAudited typed  iam::policies::list_inline_policies::<iam::GroupKind>;
            Iam PutUserPermissionsBoundary    Signed Audited    typed  iam::policies::put_boundary::<iam::UserKind>;
            Iam DeleteUserPermissionsBoundary Signed Audited    typed  iam::policies::delete_boundary::<iam::UserKind>;
            Iam CreateRole                    Signed Audited    typed  iam::roles::create_role;
            Iam GetRole                       Signed NotAudited typed  iam::roles::get_role;
            Iam ListRoles                     Signed NotAudited typed  iam::roles::list_roles;
            Iam UpdateRole                    Signed Audited    typed  iam::roles::update_role;
            Iam UpdateAssumeRolePolicy        Signed Audited    typed  iam::roles::update_assume_role_policy;
            Iam DeleteRole                    Signed Audited    typed  iam::roles::delete_role;
            Iam UpdateRoleDescription         Signed Audited    typed  iam::roles::update_role_description;
            Iam CreateServiceLinkedRole       Signed Audited    typed  iam::service_linked_roles::create_service_linked_role;
            Iam DeleteServiceLinkedRole       Signed Audited    typed  iam::service_linked_roles::delete_service_linked_role;
            Iam GetServiceLinkedRoleDeletionStatus Signed NotAudited typed iam::service_linked_roles::get_service_linked_role_deletion_status;
            Iam TagRole                       Signed Audited    typed  iam::tags::tag::<iam::RoleKind>;
            Iam UntagRole                     Signed Audited    typed  iam::tags::untag::<iam::RoleKind>;
            Iam ListRoleTags                  Signed NotAudited typed  iam::tags::list_tags::<iam::RoleKind>;
            Iam PutRolePolicy                 Signed Audited    typed  iam::policies::put_inline_policy::<iam::RoleKind>;
            Iam GetRolePolicy                 Signed NotAudited typed  iam::policies::get_inline_policy::<iam::RoleKind>;
            Iam DeleteRolePolicy              Signed Audited    typed  iam::policies::delete_inline_policy::<iam::RoleKind>;
            Iam ListRolePolicies              Signed NotAudited typed  iam::policies::list_inline_policies::<iam::RoleKind>;
            Iam AttachRolePolicy              Signed Audited    typed  iam::policies::attach_policy::<iam::RoleKind>;
            Iam DetachRolePolicy              Signed Audited    typed  iam::policies::detach_policy::<iam::RoleKind>;
            Iam ListAttachedRolePolicies      Signed NotAudited typed  iam::policies::list_attached_policies::<iam::RoleKind>;
            Iam ListInstanceProfilesForRole   Signed NotAudited typed  iam::roles::list_instance_profiles_for_role;
            Iam CreateInstanceProfile         Signed Audited    typed  iam::instance_profiles::create_instance_profile;
            Iam GetInstanceProfile            Signed NotAudited typed  iam::instance_profiles::get_instance_profile;
            Iam DeleteInstanceProfile         Signed Audited    typed  iam::instance_profiles::delete_instance_profile;
            Iam ListInstanceProfiles          Signed NotAudited typed  iam::instance_profiles::list_instance_profiles;
            Iam AddRoleToInstanceProfile      Signed Audited    typed  iam::instance_profiles::add_role_to_instance_profile;
            Iam RemoveRoleFromInstanceProfile Signed Audited    typed  iam::instance_profiles::remove_role_from_instance_profile;
            Iam TagInstanceProfile            Signed Audited    typed  iam::instance_profiles::tag_instance_profile;
            Iam UntagInstanceProfile          Signed Audited    typed  iam::instance_profiles::untag_instance_profile;
            Iam ListInstanceProfileTags       Signed NotAudited typed  iam::instance_profiles::list_instance_profile_tags;
            Iam PutRolePermissionsBoundary    Signed Audited    typed  iam::policies::put_boundary::<iam::RoleKind>;
            Iam DeleteRolePermissionsBoundary Signed Audited    typed  iam::policies::delete_boundary::<iam::RoleKind>;
            Iam CreateOpenIDConnectProvider   Signed Audited    typed  iam::oidc_providers::create_open_id_connect_provider;
            Iam GetOpenIDConnectProvider      Signed NotAudited typed  iam::oidc_providers::get_open_id_connect_provider;
            Iam ListOpenIDConnectProviders    Signed NotAudited typed  iam::oidc_providers::list_open_id_connect_providers;
            Iam DeleteOpenIDConnectProvider   Signed Audited    typed  iam::oidc_providers::delete_open_id_connect_provider;
            Iam AddClientIDToOpenIDConnectProvider      Signed Audited typed iam::oidc_providers::add_client_id_to_open_id_connect_provider;
            Iam RemoveClientIDFromOpenIDConnectProvider Signed Audited typed iam::oidc_providers::remove_client_id_from_open_id_connect_provider;
            Iam UpdateOpenIDConnectProviderThumbprint   Signed Audited typed iam::oidc_providers::update_open_id_connect_provider_thumbprint;
            Iam TagOpenIDConnectProvider      Signed Audited    typed  iam::oidc_providers::tag_open_id_connect_provider;
            Iam UntagOpenIDConnectProvider    Signed Audited    typed  iam::oidc_providers::untag_open_id_connect_provider;
            Iam ListOpenIDConnectProviderTags Signed NotAudited typed  iam::oidc_providers::list_open_id_connect_provider_tags;
            Iam CreateSAMLProvider            Signed Audited    typed  iam::saml_providers::create_saml_provider;
            Iam GetSAMLProvider               Signed NotAudited typed  iam::saml_providers::get_saml_provider;
            Iam ListSAMLProviders             Signed NotAudited typed  iam::saml_providers::list_saml_providers;
            Iam UpdateSAMLProvider            Signed Audited    typed  iam::saml_providers::update_saml_provider;
            Iam DeleteSAMLProvider            Signed Audited    typed  iam::saml_providers::delete_saml_provider;
            Iam TagSAMLProvider               Signed Audited    typed  iam::saml_providers::tag_saml_provider;
            Iam UntagSAMLProvider             Signed Audited    typed  iam::saml_providers::untag_saml_provider;
            Iam ListSAMLProviderTags          Signed NotAudited typed  iam::saml_providers::list_saml_provider_tags;
            Iam UploadSigningCertificate      Signed Audited    typed  iam::signing_certificates::upload_signing_certificate;
            Iam ListSigningCertificates       Signed NotAudited typed  iam::signing_certificates::list_signing_certificates;
            Iam UpdateSigningCertificate      Signed Audited    typed  iam::signing_certificates::update_signing_certificate;
            Iam DeleteSigningCertificate      Signed Audited    typed  iam::signing_certificates::delete_signing_certificate;
            Iam UploadSSHPublicKey            Signed Audited    typed  iam::ssh_public_keys::upload_ssh_public_key;
            Iam GetSSHPublicKey               Signed NotAudited typed  iam::ssh_public_keys::get_ssh_public_key;
            Iam ListSSHPublicKeys             Signed NotAudited typed  iam::ssh_public_keys::list_ssh_public_keys;
            Iam UpdateSSHPublicKey            Signed Audited    typed  iam::ssh_public_keys::update_ssh_public_key;
            Iam DeleteSSHPublicKey            Signed Audited    typed  iam::ssh_public_keys::delete_ssh_public_key;
            Iam UploadServerCertificate       Signed Audited    typed  iam::server_certificates::upload_server_certificate;
            Iam GetServerCertificate          Signed NotAudited typed  iam::server_certificates::get_server_certificate;
            Iam ListServerCertificates        Signed NotAudited typed  iam::server_certificates::list_server_certificates;
            Iam UpdateServerCertificate       Signed Audited    typed  iam::server_certificates::update_server_certificate;
            Iam DeleteServerCertificate       Signed Audited    typed  iam::server_certificates::delete_server_certificate;
            Iam TagServerCertificate          Signed Audited    typed  iam::server_certificates::tag_server_certificate;
            Iam UntagServerCertificate        Signed Audited    typed  iam::server_certificates::untag_server_certificate;
            Iam ListServerCertificateTags     Signed NotAudited typed  iam::server_certificates::list_server_certificate_tags;
            Iam CreateAccountAlias            Signed Audited    typed  iam::account::create_account_alias;
            Iam DeleteAccountAlias            Signed Audited    typed  iam::account::delete_account_alias;
            Iam ListAccountAliases            Signed NotAudited typed  iam::account::list_account_aliases;
            Iam GetAccountSummary             Signed NotAudited typed  iam::account::get_account_summary;
            Iam GetAccountAuthorizationDetails Signed NotAudited typed iam::account::get_account_authorization_details;
            Iam GenerateCredentialReport      Signed Audited    typed  iam::credential_report::generate_credential_report;
            Iam GetCredentialReport           Signed NotAudited typed  iam::credential_report::get_credential_report;
            Iam SimulateCustomPolicy          Signed NotAudited typed  iam::simulate::simulate_custom_policy;
            Iam SimulatePrincipalPolicy       Signed NotAudited typed  iam::simulate::simulate_principal_policy;
        }
    };
}
pub(crate) use action_table;

macro_rules! define_actions {
    ($($service:ident $name:ident $auth:ident $audit:ident $kind:ident $handler:path;)*) => {
        /// An action tessera answers; see [`action_table`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action {
            $($name,)*
        }

        impl Action {
            /// Every action, in table order.
            pub const ALL: &[Action] = &[$(Action::$name,)*];

            /// Every action's wire name, in table order (`NAMES[a.index()] == a.name()`).
            pub const NAMES: &[&str] = &[$(stringify!($name),)*];

            /// The position in [`Action::ALL`] (metrics find the action's series by it).
            pub fn index(self) -> usize {
                self as usize
            }

            /// The wire name (`Action=...`).
            pub fn name(self) -> &'static str {
                match self {
                    $(Action::$name => stringify!($name),)*
                }
            }

            pub fn service(self) -> Service {
                match self {
                    $(Action::$name => Service::$service,)*
                }
            }

            pub fn auth(self) -> Auth {
                match self {
                    $(Action::$name => Auth::$auth,)*
                }
            }

            pub fn audit(self) -> Audit {
                match self {
                    $(Action::$name => Audit::$audit,)*
                }
            }

            /// The action `name` of `service`, if tessera answers it.
            pub fn parse(service: Service, name: &str) -> Option<Action> {
                match (service, name) {
                    $((Service::$service, stringify!($name)) => Some(Action::$name),)*
                    _ => None,
                }
            }
        }
    };
}

action_table!(define_actions);

impl Action {
    pub fn is_unsigned(self) -> bool {
        self.auth() == Auth::Unsigned
    }

    pub fn is_audited(self) -> bool {
        self.audit() == Audit::Audited
    }

    /// `sts:AssumeRole`, `iam:CreateUser`: the action as policies name it.
    pub fn policy_action(self) -> String {
        let (svc, name) = (self.service().signing_name(), self.name());
        let mut s = String::with_capacity(svc.len() + 1 + name.len());
        s.push_str(svc);
        s.push(':');
        s.push_str(name);
        s
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_parses_back_from_its_name() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.service(), a.name()), Some(*a));
        }
        assert_eq!(Action::parse(Service::Sts, "CreateUser"), None);
        assert_eq!(Action::parse(Service::Iam, "AssumeRole"), None);
    }

    #[test]
    fn index_finds_the_name() {
        assert_eq!(Action::ALL.len(), Action::NAMES.len());
        for (i, a) in Action::ALL.iter().enumerate() {
            assert_eq!(a.index(), i);
            assert_eq!(Action::NAMES[a.index()], a.name());
        }
    }

    #[test]
    fn audit_follows_the_table() {
        assert!(Action::GetCallerIdentity.is_audited());
        assert!(Action::CreateUser.is_audited());
        assert!(!Action::ListUsers.is_audited());
        assert!(!Action::SimulatePrincipalPolicy.is_audited());
    }
}
