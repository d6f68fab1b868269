//! `AssumeRole`: a user or role session of any account becomes a session of a role, limited to
//! what the role, its boundary and the session policies allow.
//! See <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html> and
//! AWS-REFERENCE §4 (session rules, trust-policy evaluation, tags, source identity).

use crate::credentials::SessionSource;
use crate::error::{ApiError, ApiResult};
use crate::principal::Principal;
use crate::protocol::input::{
    ArnParam, ExternalId, Int, MfaCode, RoleSessionName, SourceIdentity, input,
};
use crate::protocol::output::Output;
use crate::protocol::xml::Xml;
use crate::request::Cx;

use super::role_session::{self, Request, RoleSession};
use super::session::{RequestTags, SessionPolicies};
use super::write_credentials;

const MESSAGE_ROOT: &str = "Roles may not be assumed by root accounts.";

input! {
    /// `AssumeRole`
    pub(crate) struct AssumeRoleInput {
        role_arn: ArnParam = required("RoleArn"),
        role_session_name: RoleSessionName = required("RoleSessionName"),
        duration_seconds: Option<Int<900, 43_200>> = optional("DurationSeconds"),
        external_id: Option<ExternalId> = optional("ExternalId"),
        mfa: MfaCode = nested(),
        source_identity: Option<SourceIdentity> = optional("SourceIdentity"),
        policies: SessionPolicies = nested(),
        tags: RequestTags = nested(),
    }
    check(this) {
        if this
            .source_identity
            .as_ref()
            .is_some_and(|s| s.to_ascii_lowercase().starts_with("aws:"))
        {
            return Err(ApiError::invalid_parameter_value(
                "SourceIdentity must not begin with the reserved prefix `aws:`.",
            ));
        }
        Ok(())
    }
}

/// What `AssumeRole` answers.
#[derive(Debug)]
pub(crate) struct AssumeRoleOutput(RoleSession);

impl Output for AssumeRoleOutput {
    fn write(&self, x: &mut Xml) {
        let s = &self.0;
        write_credentials(x, &s.issued);
        x.nest("AssumedRoleUser", |x| {
            x.elem("AssumedRoleId", &s.assumed_role_id)
                .elem("Arn", &s.assumed_role_arn);
        });
        x.num("PackedPolicySize", s.packed_policy_size);
        x.opt("SourceIdentity", s.source_identity.as_deref());
    }

    fn size_hint(&self) -> usize {
        super::RESULT_CAPACITY + self.0.issued.token.len()
    }
}

pub(crate) async fn assume_role(
    cx: &Cx<'_>,
    input: AssumeRoleInput,
) -> ApiResult<AssumeRoleOutput> {
    let caller = cx.caller;
    if caller.is_root() {
        cx.info.note(|n| {
            n.target = Some(input.role_arn.to_string());
            n.session_name = Some(input.role_session_name.to_string());
        });
        return Err(ApiError::access_denied(MESSAGE_ROOT)
            .with_detail("root credentials cannot assume roles"));
    }
    if matches!(caller.principal(), Principal::FederatedUser { .. }) {
        return Err(crate::authorization::refuse_credentials(
            cx.state,
            caller,
            "sts:AssumeRole",
            &input.role_arn,
            "GetFederationToken credentials cannot assume roles",
            cx.info,
        ));
    }
    let session = role_session::assume(
        cx,
        caller,
        Request {
            action: "sts:AssumeRole",
            source: SessionSource::AssumeRole,
            role_arn: &input.role_arn,
            session_name: &input.role_session_name,
            duration_seconds: input.duration_seconds.map(Int::get),
            policies: &input.policies,
            tags: input.tags,
            source_identity: input.source_identity.as_deref(),
            external_id: input.external_id.as_deref(),
            mfa: Some(&input.mfa),
            federation: None,
            session_keys: Vec::new(),
            max_seconds: None,
        },
    )
    .await?;
    Ok(AssumeRoleOutput(session))
}
