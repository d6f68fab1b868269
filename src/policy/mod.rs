//! tessera's IAM policy language: parse + validate documents, describe a request, decide.
//!
//! Implements the IAM JSON policy language
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies.html>) and AWS's
//! evaluation logic (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>)
//! for identity policies, permissions boundaries, session policies, role trust policies and
//! generic resource policies. Pure library: no I/O, no clock (`now` arrives through
//! [`ContextBuilder::current_time`]), no SQL.
//!
//! The three uses:
//! 1. On store: [`Policy::parse`] (→ `MalformedPolicyDocument` [`PolicyError`]) and
//!    [`check_size`] (→ `LimitExceeded`); for trust policies also [`Policy::principal_arns`] /
//!    [`Policy::bind_principal_ids`].
//! 2. Per request: [`RequestContext::builder`] with the [`PrincipalView`] and the keys the path
//!    supplies.
//! 3. Decide: [`evaluate`] with a [`PolicySet`] → [`Evaluation`] (decision, reason, matched
//!    statements, missing keys; `Display` for the log line).
//!
//! Must never: allocate while matching (only the returned `Evaluation` allocates), read the
//! clock, or panic on any input (fuzzed through [`fuzz_parse`] / [`fuzz_eval`]).

mod condition;
mod context;
mod context_keys;
mod eval;
mod model;
mod parse;
mod pattern;
mod variables;

#[cfg(test)]
mod reference;
pub(crate) mod simulate;
#[cfg(test)]
mod tests;

pub use condition::{OPERATORS, Operator, SetQualifier};
pub(crate) use context::arn_account;
pub use context::{ContextBuilder, ContextValue, PrincipalKind, PrincipalView, RequestContext};
pub use context_keys::context_keys;
pub use eval::{
    Decision, Evaluation, MatchedStatement, PolicyRef, PolicySet, PolicyType, Reason,
    ResourcePolicyRef, evaluate,
};
pub use model::{Effect, Policy, PolicyKind, PolicyVersion};
pub use parse::{PolicyError, PolicyErrorKind, check_size, policy_size};

#[cfg(any(fuzzing, test))]
/// Fuzz entry point for the parser: any bytes; must never panic. Parsed documents are also
/// evaluated once and re-parsed from [`Policy::source`].
pub fn fuzz_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = policy_size(text);
    let ctx = fuzz_context(
        PrincipalView::user("arn:aws:iam::111122223333:user/alice", "AIDAFUZZ"),
        "",
        &[],
    );
    for kind in [
        PolicyKind::Identity,
        PolicyKind::Trust,
        PolicyKind::Resource,
    ] {
        let Ok(policy) = Policy::parse(text, kind) else {
            continue;
        };
        let again = Policy::parse(policy.source(), kind);
        assert!(again.as_ref() == Ok(&policy), "re-parse differs");
        let _ = context_keys(&policy);
        let _ = policy.allows_action_in("iam", Some(&["GetUser", "ListUsers"]));
        let _ = policy.allows_action_in("s3", None);
        let r = [PolicyRef {
            id: "fuzz",
            policy: &policy,
        }];
        let set = match kind {
            PolicyKind::Identity => PolicySet {
                identity: &r,
                boundary: Some(r[0]),
                session: Some(&r),
                ..PolicySet::default()
            },
            _ => PolicySet {
                resource: Some(ResourcePolicyRef {
                    id: "fuzz",
                    policy: &policy,
                    owner_account: "111122223333",
                }),
                ..PolicySet::default()
            },
        };
        let _ = evaluate(&ctx, &set).to_string();
    }
}

#[cfg(any(fuzzing, test))]
/// Fuzz entry point for evaluation. Layout: byte 0 picks the principal kind, then UTF-8 text
/// `<policy JSON>\u{1}<action>\u{1}<resource>\u{1}<key>=<value>\n...`. Checks invariants: the
/// decision is deterministic, an explicit deny names a matched Deny, an Allow has a matched
/// Allow (or is root).
pub fn fuzz_eval(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let mut parts = text.split('\u{1}');
    let policy_text = parts.next().unwrap_or("");
    let action = parts.next().unwrap_or("sts:AssumeRole");
    let resource = parts.next().unwrap_or("arn:aws:iam::111122223333:role/r");
    let pairs: Vec<(&str, &str)> = parts
        .next()
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.split_once('='))
        .collect();
    let principal = match selector % 8 {
        0 => PrincipalView::root("111122223333"),
        1 => PrincipalView::user("arn:aws:iam::111122223333:user/alice", "AIDAALICE"),
        2 => PrincipalView::assumed_role("arn:aws:iam::111122223333:role/r", "AROAROLE", "s"),
        3 => PrincipalView::assumed_role("arn:aws:iam::444455556666:role/x", "AROAX", "s"),
        4 => PrincipalView::federated_user("111122223333", "bob"),
        5 => PrincipalView::web_identity(
            "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com",
        ),
        6 => PrincipalView::service("ec2.amazonaws.com"),
        _ => PrincipalView::anonymous(),
    };
    let ctx = RequestContext::builder(principal, action, resource)
        .current_time(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default());
    let ctx = pairs
        .iter()
        .fold(ctx, |b, (k, v)| match v.split_once(',') {
            Some(_) => b.strings(k, v.split(',')),
            None => b.string(k, v),
        })
        .build();
    let kind = if selector & 8 == 0 {
        PolicyKind::Identity
    } else {
        PolicyKind::Trust
    };
    let Ok(policy) = Policy::parse(policy_text, kind) else {
        return;
    };
    let r = [PolicyRef {
        id: "fuzz",
        policy: &policy,
    }];
    let set = if kind == PolicyKind::Identity {
        PolicySet {
            identity: &r,
            boundary: (selector & 16 != 0).then_some(r[0]),
            session: (selector & 32 != 0).then_some(&r[..]),
            ..PolicySet::default()
        }
    } else {
        PolicySet {
            identity: &[],
            resource: Some(ResourcePolicyRef {
                id: "trust",
                policy: &policy,
                owner_account: "111122223333",
            }),
            ..PolicySet::default()
        }
    };
    let first = evaluate(&ctx, &set);
    assert!(
        first == evaluate(&ctx, &set),
        "evaluation is not deterministic"
    );
    let has = |e: Effect| first.matched.iter().any(|m| m.effect == e);
    match first.decision {
        Decision::ExplicitDeny => assert!(has(Effect::Deny), "explicit deny without a Deny"),
        Decision::Allowed => assert!(
            has(Effect::Allow) || ctx.principal().is_root(),
            "allow without an Allow"
        ),
        Decision::ImplicitDeny => assert!(!has(Effect::Deny), "implicit deny despite a Deny"),
    }
    let _ = first.to_string();
}

#[cfg(any(fuzzing, test))]
fn fuzz_context(principal: PrincipalView, action: &str, pairs: &[(&str, &str)]) -> RequestContext {
    pairs
        .iter()
        .fold(
            RequestContext::builder(principal, action, "arn:aws:iam::111122223333:role/r"),
            |b, (k, v)| b.string(k, v),
        )
        .build()
}
