//! The AWS Query protocol, independent of HTTP: which actions exist ([`Action`], from the one
//! action table), how an action's parameters are read into its typed input ([`input`]), and how
//! its typed output is written as XML ([`output`], [`xml`]).
//!
//! See <https://smithy.io/2.0/aws/protocols/aws-query-protocol.html>.

pub mod input;
pub mod output;
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

            Iam CreateUser                    Signed Audited    typed  iam::users::create_user;
            Iam GetUser                       Signed NotAudited typed  iam::users::get_user;
            Iam ListUsers                     Signed NotAudited typed  iam::users::list_users;
            Iam DeleteUser                    Signed Audited    typed  iam::users::delete_user;
            Iam TagUser                       Signed Audited    legacy iam::dispatch_legacy;
            Iam UntagUser                     Signed Audited    legacy iam::dispatch_legacy;
            Iam ListUserTags                  Signed NotAudited legacy iam::dispatch_legacy;
            Iam CreateAccessKey               Signed Audited    typed  iam::users::create_access_key;
            Iam ListAccessKeys                Signed NotAudited typed  iam::users::list_access_keys;
            Iam UpdateAccessKey               Signed Audited    typed  iam::users::update_access_key;
            Iam DeleteAccessKey               Signed Audited    typed  iam::users::delete_access_key;
            Iam CreateGroup                   Signed Audited    typed  iam::groups::create_group;
            Iam GetGroup                      Signed NotAudited typed  iam::groups::get_group;
            Iam ListGroups                    Signed NotAudited typed  iam::groups::list_groups;
            Iam DeleteGroup                   Signed Audited    typed  iam::groups::delete_group;
            Iam AddUserToGroup                Signed Audited    typed  iam::groups::add_user_to_group;
            Iam RemoveUserFromGroup           Signed Audited    typed  iam::groups::remove_user_from_group;
            Iam ListGroupsForUser             Signed NotAudited typed  iam::groups::list_groups_for_user;
            Iam CreateVirtualMFADevice        Signed Audited    typed  iam::mfa_devices::create_virtual_mfa_device;
            Iam DeleteVirtualMFADevice        Signed Audited    typed  iam::mfa_devices::delete_virtual_mfa_device;
            Iam ListVirtualMFADevices         Signed NotAudited typed  iam::mfa_devices::list_virtual_mfa_devices;
            Iam EnableMFADevice               Signed Audited    typed  iam::mfa_devices::enable_mfa_device;
            Iam DeactivateMFADevice           Signed Audited    typed  iam::mfa_devices::deactivate_mfa_device;
            Iam ListMFADevices                Signed NotAudited typed  iam::mfa_devices::list_mfa_devices;
            Iam CreatePolicy                  Signed Audited    legacy iam::dispatch_legacy;
            Iam GetPolicy                     Signed NotAudited legacy iam::dispatch_legacy;
            Iam DeletePolicy                  Signed Audited    legacy iam::dispatch_legacy;
            Iam ListPolicies                  Signed NotAudited legacy iam::dispatch_legacy;
            Iam CreatePolicyVersion           Signed Audited    legacy iam::dispatch_legacy;
            Iam GetPolicyVersion              Signed NotAudited legacy iam::dispatch_legacy;
            Iam ListPolicyVersions            Signed NotAudited legacy iam::dispatch_legacy;
            Iam DeletePolicyVersion           Signed Audited    legacy iam::dispatch_legacy;
            Iam SetDefaultPolicyVersion       Signed Audited    legacy iam::dispatch_legacy;
            Iam AttachUserPolicy              Signed Audited    legacy iam::dispatch_legacy;
            Iam DetachUserPolicy              Signed Audited    legacy iam::dispatch_legacy;
            Iam ListAttachedUserPolicies      Signed NotAudited legacy iam::dispatch_legacy;
            Iam AttachGroupPolicy             Signed Audited    legacy iam::dispatch_legacy;
            Iam DetachGroupPolicy             Signed Audited    legacy iam::dispatch_legacy;
            Iam ListAttachedGroupPolicies     Signed NotAudited legacy iam::dispatch_legacy;
            Iam PutUserPolicy                 Signed Audited    legacy iam::dispatch_legacy;
            Iam GetUserPolicy                 Signed NotAudited legacy iam::dispatch_legacy;
            Iam DeleteUserPolicy              Signed Audited    legacy iam::dispatch_legacy;
            Iam ListUserPolicies              Signed NotAudited legacy iam::dispatch_legacy;
            Iam PutGroupPolicy                Signed Audited    legacy iam::dispatch_legacy;
            Iam GetGroupPolicy                Signed NotAudited legacy iam::dispatch_legacy;
            Iam DeleteGroupPolicy             Signed Audited    legacy iam::dispatch_legacy;
            Iam ListGroupPolicies             Signed NotAudited legacy iam::dispatch_legacy;
            Iam PutUserPermissionsBoundary    Signed Audited    legacy iam::dispatch_legacy;
            Iam DeleteUserPermissionsBoundary Signed Audited    legacy iam::dispatch_legacy;
            Iam CreateRole                    Signed Audited    legacy iam::dispatch_legacy;
            Iam GetRole                       Signed NotAudited legacy iam::dispatch_legacy;
            Iam ListRoles                     Signed NotAudited legacy iam::dispatch_legacy;
            Iam UpdateRole                    Signed Audited    legacy iam::dispatch_legacy;
            Iam UpdateAssumeRolePolicy        Signed Audited    legacy iam::dispatch_legacy;
            Iam DeleteRole                    Signed Audited    legacy iam::dispatch_legacy;
            Iam TagRole                       Signed Audited    legacy iam::dispatch_legacy;
            Iam UntagRole                     Signed Audited    legacy iam::dispatch_legacy;
            Iam ListRoleTags                  Signed NotAudited legacy iam::dispatch_legacy;
            Iam PutRolePolicy                 Signed Audited    legacy iam::dispatch_legacy;
            Iam GetRolePolicy                 Signed NotAudited legacy iam::dispatch_legacy;
            Iam DeleteRolePolicy              Signed Audited    legacy iam::dispatch_legacy;
            Iam ListRolePolicies              Signed NotAudited legacy iam::dispatch_legacy;
            Iam AttachRolePolicy              Signed Audited    legacy iam::dispatch_legacy;
            Iam DetachRolePolicy              Signed Audited    legacy iam::dispatch_legacy;
            Iam ListAttachedRolePolicies      Signed NotAudited legacy iam::dispatch_legacy;
            Iam ListInstanceProfilesForRole   Signed NotAudited legacy iam::dispatch_legacy;
            Iam PutRolePermissionsBoundary    Signed Audited    legacy iam::dispatch_legacy;
            Iam DeleteRolePermissionsBoundary Signed Audited    legacy iam::dispatch_legacy;
            Iam SimulateCustomPolicy          Signed NotAudited legacy iam::dispatch_legacy;
            Iam SimulatePrincipalPolicy       Signed NotAudited legacy iam::dispatch_legacy;
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
    fn audit_follows_the_table() {
        assert!(Action::GetCallerIdentity.is_audited());
        assert!(Action::CreateUser.is_audited());
        assert!(!Action::ListUsers.is_audited());
        assert!(!Action::SimulatePrincipalPolicy.is_audited());
    }
}
