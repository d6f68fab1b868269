//! `GetContextKeysForCustomPolicy` and `GetContextKeysForPrincipalPolicy`: the context keys the
//! given policies (and a user's, group's or role's own) refer to, so a caller knows what to
//! put in a simulation's `ContextEntries`. See
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetContextKeysForCustomPolicy.html>;
//! which keys and in what order is [`crate::policy::context_keys`].

use crate::error::{ApiError, ApiResult};
use crate::policy::{Policy, PolicyKind, context_keys};
use crate::protocol::input::{ArnParam, input};
use crate::protocol::output::Output;
use crate::protocol::params::MAX_PARAMS;
use crate::protocol::xml::Xml;
use crate::request::Cx;

use super::simulate::{DocumentText, gather_entity};

/// A document from `PolicyInputList`: an identity policy, or else a resource or trust policy
/// (keys are keys wherever they appear). A document that is none of them is `InvalidInput`
/// (the only error the API reference lists) with the identity-policy parser's reason.
fn parse_any(doc: &str) -> ApiResult<Policy> {
    let identity = match Policy::parse(doc, PolicyKind::Identity) {
        Ok(p) => return Ok(p),
        Err(e) => e,
    };
    [PolicyKind::Resource, PolicyKind::Trust]
        .into_iter()
        .find_map(|k| Policy::parse(doc, k).ok())
        .ok_or_else(|| ApiError::invalid_input(identity.message))
}

/// Keys of every policy, in order, each once (case-insensitively; first spelling kept).
fn merged<'a>(policies: impl IntoIterator<Item = &'a Policy>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in policies {
        for k in context_keys(p) {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(&k)) {
                out.push(k);
            }
        }
    }
    out
}

/// `<ContextKeyNames><member>…</member></ContextKeyNames>`
#[derive(Debug)]
pub(crate) struct ContextKeysOutput(Vec<String>);

impl Output for ContextKeysOutput {
    fn write(&self, x: &mut Xml) {
        x.list("ContextKeyNames", &self.0, |x, k| {
            x.elem_text(k);
        });
    }
}

input! {
    /// `GetContextKeysForCustomPolicy`
    pub(crate) struct CustomPolicyKeysInput {
        policy_input_list: Vec<DocumentText> = list("PolicyInputList", MAX_PARAMS),
    }
    check(this) {
        if this.policy_input_list.is_empty() {
            return Err(ApiError::missing_parameter("PolicyInputList"));
        }
        Ok(())
    }
}

pub(crate) async fn get_context_keys_for_custom_policy(
    cx: &Cx<'_>,
    input: CustomPolicyKeysInput,
) -> ApiResult<ContextKeysOutput> {
    let policies = input
        .policy_input_list
        .iter()
        .map(|d| parse_any(d))
        .collect::<ApiResult<Vec<_>>>()?;
    cx.authorize("*")?;
    Ok(ContextKeysOutput(merged(&policies)))
}

input! {
    /// `GetContextKeysForPrincipalPolicy`
    pub(crate) struct PrincipalPolicyKeysInput {
        policy_source_arn: ArnParam = required("PolicySourceArn"),
        policy_input_list: Vec<DocumentText> = list("PolicyInputList", MAX_PARAMS),
    }
}

/// The keys of the user's (and its groups'), group's or role's identity policies, then of the
/// documents given.
pub(crate) async fn get_context_keys_for_principal_policy(
    cx: &Cx<'_>,
    input: PrincipalPolicyKeysInput,
) -> ApiResult<ContextKeysOutput> {
    let extra = input
        .policy_input_list
        .iter()
        .map(|d| parse_any(d))
        .collect::<ApiResult<Vec<_>>>()?;
    let source = input.policy_source_arn.as_str();
    cx.authorize(source)?;
    let view = cx.state.store.view();
    let entity = gather_entity(&view, cx.account(), source)?;
    let stored = entity.identity.iter().map(|s| s.policy.as_ref());
    Ok(ContextKeysOutput(merged(stored.chain(extra.iter()))))
}
