//! Who is acting: [`Principal`], the identity model every layer shares.

use serde::{Deserialize, Serialize};

use crate::arn::Partition;

/// Who a request's credentials act as: the one principal type of authentication, session
/// tokens, authorization and the policy evaluator's context.
///
/// Long-term keys belong to the root or a user; temporary credentials carry a principal of any
/// kind inside their sealed token (serialized with these variant and field names: renaming one
/// invalidates issued tokens).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Principal {
    /// A role session: AssumeRole / AssumeRoleWithWebIdentity / AssumeRoleWithSAML.
    AssumedRole {
        account: String,
        role_name: String,
        /// `AROA...`
        role_id: String,
        /// Kept for policy evaluation (`aws:PrincipalArn` is the role ARN, with its path).
        role_path: String,
        session_name: String,
    },
    /// An IAM user (long-term keys, or GetSessionToken).
    User {
        account: String,
        user_name: String,
        /// `AIDA...`
        user_id: String,
        user_path: String,
    },
    /// The account root user (long-term keys, or GetSessionToken).
    Root { account: String },
    /// GetFederationToken.
    FederatedUser { account: String, name: String },
    /// The holder of a web identity token from a registered OpenID Connect provider, while it
    /// asks for a role session (`AssumeRoleWithWebIdentity`); never a session's principal.
    WebIdentity {
        account: String,
        /// The provider's ARN, in the `aws` partition as stored.
        provider_arn: String,
        /// The token's `sub`.
        subject: String,
    },
    /// The subject of a verified SAML assertion from a registered SAML provider, while it asks
    /// for a role session (`AssumeRoleWithSAML`); never a session's principal.
    Saml {
        account: String,
        /// The provider's ARN, in the `aws` partition as stored.
        provider_arn: String,
        /// The assertion's `NameID`.
        subject: String,
    },
}

impl Principal {
    pub fn account(&self) -> &str {
        match self {
            Self::AssumedRole { account, .. }
            | Self::User { account, .. }
            | Self::Root { account }
            | Self::FederatedUser { account, .. }
            | Self::WebIdentity { account, .. }
            | Self::Saml { account, .. } => account,
        }
    }

    /// The caller ARN as GetCallerIdentity reports it (AWS-REFERENCE §4), in the default
    /// partition: assumed-role ARNs carry no role path.
    pub fn arn(&self) -> String {
        self.arn_in(Partition::Aws)
    }

    /// The caller ARN in `partition` (that of the request's signing region).
    pub fn arn_in(&self, partition: Partition) -> String {
        match self {
            Self::AssumedRole {
                account,
                role_name,
                session_name,
                ..
            } => partition.assumed_role_arn(account, role_name, session_name),
            Self::User {
                account,
                user_name,
                user_path,
                ..
            } => partition.user_arn(account, user_path, user_name),
            Self::Root { account } => partition.root_arn(account),
            Self::FederatedUser { account, name } => partition.federated_user_arn(account, name),
            Self::WebIdentity { provider_arn, .. } | Self::Saml { provider_arn, .. } => {
                partition.rewrite(provider_arn).into_owned()
            }
        }
    }

    /// `UserId` as GetCallerIdentity reports it (also `aws:userid`).
    pub fn user_id(&self) -> String {
        match self {
            Self::AssumedRole {
                role_id,
                session_name,
                ..
            } => format!("{role_id}:{session_name}"),
            Self::User { user_id, .. } => user_id.clone(),
            Self::Root { account } => account.clone(),
            Self::FederatedUser { account, name } => format!("{account}:{name}"),
            Self::WebIdentity {
                provider_arn,
                subject,
                ..
            }
            | Self::Saml {
                provider_arn,
                subject,
                ..
            } => format!("{provider_arn}:{subject}"),
        }
    }

    /// Whether this is the account root user (by its own key or a session of it).
    pub fn is_root(&self) -> bool {
        matches!(self, Self::Root { .. })
    }

    /// The IAM user behind the principal: a user, or a user's GetSessionToken session.
    pub fn user_name(&self) -> Option<&str> {
        match self {
            Self::User { user_name, .. } => Some(user_name),
            _ => None,
        }
    }
}
