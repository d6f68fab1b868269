//! `GetFederationToken`: an IAM user (or the account's root) hands a federated-user session to
//! someone it vouches for, typically a broker application's end user. The session can do at
//! most what both the calling user's policies and the session policies passed here allow: with
//! no session policy it can do nothing. Its ARN is `arn:aws:sts::ACCT:federated-user/NAME`.
//! See <https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html> and
//! AWS-REFERENCE §4 (durations, what each credential type may call afterwards).

use crate::authorization;
use crate::credentials::{SessionSource, SessionSpec};
use crate::error::{ApiError, ApiResult};
use crate::principal::Principal;
use crate::protocol::input::{Int, input, string_field};
use crate::protocol::output::Output;
use crate::protocol::params::is_name_char;
use crate::protocol::xml::Xml;
use crate::request::Cx;

use super::mint::{self, Issued};
use super::session::{
    RequestTags, SessionPolicies, SessionTags, check_policy_arns, packed_policy_percent,
};
use super::write_credentials;

/// Users: 900..129600 s, default 43200; the account's root at most 3600 (longer silently
/// becomes 3600), as GetSessionToken.
const DEFAULT_DURATION: i64 = 43_200;
const ROOT_MAX: i64 = 3_600;

string_field!(
    /// `Name` of the federated user: 2..32 of `[\w+=,.@-]*`.
    FederatedUserName,
    2,
    32,
    r"[\w+=,.@-]*",
    is_name_char
);

input! {
    /// `GetFederationToken`
    pub(crate) struct GetFederationTokenInput {
        name: FederatedUserName = required("Name"),
        duration_seconds: Option<Int<900, 129_600>> = optional("DurationSeconds"),
        policies: SessionPolicies = nested(),
        tags: RequestTags = nested(),
    }
}

/// What `GetFederationToken` answers.
#[derive(Debug)]
pub(crate) struct GetFederationTokenOutput {
    issued: Issued,
    federated_user_id: String,
    arn: String,
    packed_policy_size: u64,
}

impl Output for GetFederationTokenOutput {
    fn write(&self, x: &mut Xml) {
        write_credentials(x, &self.issued);
        x.nest("FederatedUser", |x| {
            x.elem("FederatedUserId", &self.federated_user_id)
                .elem("Arn", &self.arn);
        });
        x.num("PackedPolicySize", self.packed_policy_size);
    }

    fn size_hint(&self) -> usize {
        896 + self.issued.token.len()
    }
}

/// `GetFederationToken`: long-term credentials of an IAM user or the root only.
pub(crate) async fn get_federation_token(
    cx: &Cx<'_>,
    input: GetFederationTokenInput,
) -> ApiResult<GetFederationTokenOutput> {
    let caller = cx.caller;
    let info = cx.info;
    let partition = info.partition();
    if caller.session().is_some() {
        return Err(ApiError::access_denied(
            "Cannot call GetFederationToken with session credentials",
        ));
    }
    let account = caller.account().to_owned();
    let name: &str = &input.name;
    let arn = partition.federated_user_arn(&account, name);
    let (parent_user_id, max) = match caller.principal() {
        Principal::Root { .. } => (None, ROOT_MAX),
        Principal::User { user_id, .. } => (Some(user_id.clone()), i64::MAX),
        // Long-term keys belong only to users and roots; anything else is not a caller here.
        _ => {
            return Err(ApiError::access_denied(
                "Not authorized to perform sts:GetFederationToken",
            ));
        }
    };
    let seconds = input
        .duration_seconds
        .map_or(DEFAULT_DURATION, Int::get)
        .min(max);

    // The caller's own policies must allow the call (and sts:TagSession for tags).
    let view = cx.state.store.view();
    // GetFederationToken tags cannot be transitive: the session has no sessions of its own.
    let request_tags = RequestTags {
        tags: input.tags.tags,
        transitive: Vec::new(),
    };
    let mut required = vec!["sts:GetFederationToken"];
    if !request_tags.tags.is_empty() {
        required.push("sts:TagSession");
    }
    for action in required {
        let mut ctx = authorization::context_for(&view, caller, action, &arn, info);
        if !request_tags.tags.is_empty() {
            ctx = ctx.request_tags(
                request_tags
                    .tags
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
        }
        let ctx = ctx.build();
        let eval = authorization::evaluate_identity(&view, caller, &ctx);
        if !eval.is_allowed() {
            return Err(authorization::refuse(cx.state, caller, &ctx, &eval, info));
        }
        info.note(|n| n.decision = Some(eval.to_string()));
    }
    check_policy_arns(&view, &account, &input.policies.arns)?;
    let tags = SessionTags::new(request_tags, None)?;
    let packed = packed_policy_percent(&input.policies, &tags);
    if packed > 100 {
        return Err(ApiError::packed_policy_too_large(packed));
    }
    drop(view);

    let principal = Principal::FederatedUser {
        account: account.clone(),
        name: name.to_owned(),
    };
    let mut spec = SessionSpec::new(
        principal,
        SessionSource::GetFederationToken {
            user_id: parent_user_id,
        },
    );
    spec.session_policy = input.policies.inline;
    spec.policy_arns = input.policies.arns;
    spec.tags = tags.session_tags();
    let seconds = u32::try_from(seconds).map_err(|_| ApiError::internal())?;
    let issued = mint::mint(cx.state, spec, info, seconds)?;
    Ok(GetFederationTokenOutput {
        issued,
        federated_user_id: format!("{account}:{name}"),
        arn,
        packed_policy_size: packed,
    })
}
