//! Authorization through the shared policy evaluator: turns an authenticated [`SignedCaller`] into
//! the evaluator's typed request context and gathers the policies that apply to it (identity
//! policies of the user and its groups or of the role, permissions boundary, session policies).
//!
//! The client sees AWS's `AccessDenied` text; the server log gets the evaluator's reasons.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::credentials::{SessionClaims, SessionSource};
use crate::denial::{self, Denial};
use crate::error::{ApiError, ApiResult};
use crate::identity::{Acting, SignedCaller};
use crate::policy::{
    self, ContextBuilder, Evaluation, Policy, PolicyKind, PolicyRef, PolicySet, PrincipalView,
    RequestContext,
};
use crate::principal::Principal;
use crate::request::RequestInfo;
use crate::state::AppState;
use crate::store::Snapshot;
use crate::store::policies::Owner;

/// A request context for `caller` doing `action` on `resource`, with every global key the
/// broker supplies for the caller's kind of credentials.
pub(crate) fn context_for<A: Acting + ?Sized>(
    view: &Snapshot,
    caller: &A,
    action: &str,
    resource: &str,
    info: &RequestInfo,
) -> ContextBuilder {
    let mut b = RequestContext::builder(
        PrincipalView::of(caller.principal(), info.partition()),
        action,
        resource,
    )
    .current_time(info.now)
    .source_ip(info.source_ip)
    .secure_transport(false);
    if let Some(region) = &info.region {
        b = b.requested_region(region);
    }
    match caller.session() {
        // Long-term credentials: the MFA keys are absent, not false.
        None => {
            if let Principal::User { user_id, .. } = caller.principal()
                && let Some(u) = view.users.get(user_id)
            {
                b = b.principal_tags(u.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            }
        }
        Some(c) => {
            let age = c
                .mfa_authenticated_at
                .map(|t| u64::try_from((info.now - t).num_seconds()).unwrap_or(0));
            b = b
                .mfa(c.mfa_authenticated_at.is_some(), age)
                .token_issue_time(c.issued_at);
            if let Some(si) = &c.source_identity {
                b = b.source_identity(si);
            }
            b = b.principal_tags(
                principal_tags(view, c)
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
            if let SessionSource::WebIdentity {
                provider_arn,
                subject,
                audience,
            } = &c.source
                && let Some((_, url)) = provider_arn.split_once(":oidc-provider/")
            {
                b = b
                    .string(&format!("{url}:sub"), subject)
                    .string(&format!("{url}:aud"), audience);
            }
            // Only these three SAML keys outlive AssumeRoleWithSAML (IAM User Guide, "SAML
            // role permission policies").
            if let SessionSource::Saml {
                subject,
                subject_type,
                name_qualifier,
                ..
            } = &c.source
            {
                b = b
                    .string("saml:sub", subject)
                    .string("saml:sub_type", subject_type)
                    .string("saml:namequalifier", name_qualifier);
            }
            for (k, values) in &c.federated_keys {
                b = b.strings(k, values);
            }
        }
    }
    b
}

/// A session's principal tags: the role's (or user's) tags, overridden by session tags (keys
/// compared case-insensitively).
pub(crate) fn principal_tags(view: &Snapshot, c: &SessionClaims) -> Vec<(String, String)> {
    let base: &[(String, String)] = match &c.principal {
        Principal::AssumedRole { role_id, .. } => view
            .policies
            .roles
            .get(role_id)
            .map_or(&[], |r| r.tags.as_slice()),
        Principal::User { user_id, .. } => {
            view.users.get(user_id).map_or(&[], |u| u.tags.as_slice())
        }
        // A federated user carries the issuing user's tags, which its session tags override.
        Principal::FederatedUser { .. } => match &c.source {
            SessionSource::GetFederationToken {
                user_id: Some(user_id),
            } => view.users.get(user_id).map_or(&[], |u| u.tags.as_slice()),
            _ => &[],
        },
        _ => &[],
    };
    let mut out: Vec<(String, String)> = base
        .iter()
        .filter(|(k, _)| !c.tags.iter().any(|(sk, _)| sk.eq_ignore_ascii_case(k)))
        .cloned()
        .collect();
    out.extend(c.tags.iter().cloned());
    out
}

/// Owned policies gathered for one decision; [`Gathered::set`] borrows them as a `PolicySet`.
#[derive(Debug, Default)]
pub(crate) struct Gathered {
    identity: Vec<(String, Arc<Policy>)>,
    boundary: Option<(String, Arc<Policy>)>,
    session: Option<Vec<(String, Arc<Policy>)>>,
}

pub(crate) struct GatheredRefs<'a> {
    identity: Vec<PolicyRef<'a>>,
    boundary: Option<PolicyRef<'a>>,
    session: Option<Vec<PolicyRef<'a>>>,
}

impl Gathered {
    pub(crate) fn refs(&self) -> GatheredRefs<'_> {
        fn r((id, p): &(String, Arc<Policy>)) -> PolicyRef<'_> {
            PolicyRef {
                id: id.as_str(),
                policy: p.as_ref(),
            }
        }
        GatheredRefs {
            identity: self.identity.iter().map(r).collect(),
            boundary: self.boundary.as_ref().map(r),
            session: self.session.as_ref().map(|s| s.iter().map(r).collect()),
        }
    }
}

impl<'a> GatheredRefs<'a> {
    pub(crate) fn set(&'a self) -> PolicySet<'a> {
        PolicySet {
            identity: &self.identity,
            resource: None,
            boundary: self.boundary,
            session: self.session.as_deref(),
        }
    }
}

fn owner_policies(
    view: &Snapshot,
    owner: Owner<'_>,
    label: &str,
    out: &mut Vec<(String, Arc<Policy>)>,
) {
    for p in view.policies.inline_of(owner) {
        out.push((format!("{label}/inline/{}", p.name), p.compiled.clone()));
    }
    for m in view.policies.attached_to(owner) {
        out.push((m.arn.clone(), m.compiled.clone()));
    }
}

fn boundary_policy(view: &Snapshot, arn: Option<&String>) -> Option<(String, Arc<Policy>)> {
    // A boundary whose policy is gone allows nothing: an empty-statement policy stands in.
    arn.map(|a| match view.policies.managed.get(a) {
        Some(m) => (a.clone(), m.compiled.clone()),
        None => (a.clone(), deny_all()),
    })
}

/// A policy that allows nothing: stands in for a boundary or session policy that is gone.
fn deny_all() -> Arc<Policy> {
    static DENY: std::sync::OnceLock<Arc<Policy>> = std::sync::OnceLock::new();
    DENY.get_or_init(|| {
        // A statement that can never apply: no request has this action.
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"tessera:nothing","Resource":"arn:aws:tessera:::nothing"}]}"#;
        #[expect(clippy::expect_used, reason = "a constant document; `deny_all_parses` tests it")]
        Arc::new(Policy::parse(doc, PolicyKind::Identity).expect("constant policy parses"))
    })
    .clone()
}

/// What the account's root may do, as a policy: stands in for the identity side of a
/// federated-user session that the root issued.
fn allow_all() -> Arc<Policy> {
    static ALLOW: std::sync::OnceLock<Arc<Policy>> = std::sync::OnceLock::new();
    ALLOW
        .get_or_init(|| {
            let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
            #[expect(clippy::expect_used, reason = "a constant document; `allow_all_parses` tests it")]
            Arc::new(Policy::parse(doc, PolicyKind::Identity).expect("constant policy parses"))
        })
        .clone()
}

/// Identity policies, boundary and session policies that apply to `caller`.
pub(crate) fn gather<A: Acting + ?Sized>(view: &Snapshot, caller: &A) -> Gathered {
    let mut g = Gathered::default();
    let user = |g: &mut Gathered, user_id: &str| {
        if let Some(u) = view.users.get(user_id) {
            owner_policies(
                view,
                Owner::User(&u.id),
                &format!("user/{}", u.name),
                &mut g.identity,
            );
            for grp in view.groups_of_user(&u.id) {
                owner_policies(
                    view,
                    Owner::Group(&grp.id),
                    &format!("group/{}", grp.name),
                    &mut g.identity,
                );
            }
            g.boundary = boundary_policy(view, u.boundary.as_ref());
        }
    };
    match caller.principal() {
        // Federated askers have no identity policies: the trust policy alone decides.
        Principal::Root { .. } | Principal::WebIdentity { .. } | Principal::Saml { .. } => {}
        Principal::User { user_id, .. } => user(&mut g, user_id),
        // A GetFederationToken session: the issuing user's policies (the root's: everything in
        // its account) intersected with the session policies, without which it may do nothing.
        Principal::FederatedUser { .. } => {
            if let Some(c) = caller.session() {
                match &c.source {
                    SessionSource::GetFederationToken { user_id: Some(id) } => user(&mut g, id),
                    SessionSource::GetFederationToken { user_id: None } => {
                        g.identity.push(("root".to_owned(), allow_all()));
                    }
                    _ => {}
                }
                g.session = session_policies(view, c);
            }
        }
        Principal::AssumedRole { role_id, .. } => {
            if let Some(r) = view.policies.roles.get(role_id) {
                owner_policies(
                    view,
                    Owner::Role(&r.id),
                    &format!("role/{}", r.name),
                    &mut g.identity,
                );
                g.boundary = boundary_policy(view, r.boundary.as_ref());
            }
            g.session = caller.session().and_then(|c| session_policies(view, c));
        }
    }
    g
}

/// The session's inline policy and managed policy ARNs, compiled (cached by text).
fn session_policies(view: &Snapshot, c: &SessionClaims) -> Option<Vec<(String, Arc<Policy>)>> {
    if c.session_policy.is_none() && c.policy_arns.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    if let Some(text) = &c.session_policy {
        out.push(("session/inline".to_owned(), compiled_session_policy(text)));
    }
    for arn in &c.policy_arns {
        let p = view
            .policies
            .managed
            .get(arn)
            .map_or_else(deny_all, |m| m.compiled.clone());
        out.push((arn.clone(), p));
    }
    Some(out)
}

/// Session policies arrive as text inside the token; compile each distinct text once.
fn compiled_session_policy(text: &str) -> Arc<Policy> {
    static CACHE: std::sync::OnceLock<Mutex<HashMap<String, Arc<Policy>>>> =
        std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Ok(c) = cache.lock()
        && let Some(p) = c.get(text)
    {
        return p.clone();
    }
    // It was validated when the session was minted; a failure now (parser change) denies.
    let p = Policy::parse(text, PolicyKind::Identity)
        .map(Arc::new)
        .unwrap_or_else(|_| deny_all());
    if let Ok(mut c) = cache.lock() {
        if c.len() >= 4096 {
            c.clear();
        }
        c.insert(text.to_owned(), p.clone());
    }
    p
}

/// Evaluate `caller` doing `action` on `resource` with its identity-side policies.
pub(crate) fn evaluate_identity(
    view: &Snapshot,
    caller: &SignedCaller,
    ctx: &RequestContext,
) -> Evaluation {
    let gathered = gather(view, caller);
    let refs = gathered.refs();
    policy::evaluate(ctx, &refs.set())
}

/// Authorize `caller` doing `action` on `resource`, with the target entity's tags as
/// `iam:ResourceTag/*` and the action's own context keys (`keys`, e.g. `iam:PassedToService`).
pub(crate) fn authorize_with_tags(
    state: &AppState,
    caller: &SignedCaller,
    action: &str,
    resource: &str,
    resource_tags: &[(String, String)],
    keys: &[(&str, &str)],
    info: &RequestInfo,
) -> ApiResult<()> {
    let view = state.store.view();
    let ctx = keys
        .iter()
        .fold(
            context_for(&view, caller, action, resource, info)
                .resource_tags(resource_tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            |b, (k, v)| b.string(k, v),
        )
        .build();
    let eval = evaluate_identity(&view, caller, &ctx);
    count_decision(state, crate::metrics::Check::Identity, &eval);
    if eval.is_allowed() {
        Ok(())
    } else {
        Err(refuse(state, caller, &ctx, &eval, info))
    }
}

/// Count one decision of the evaluator in the server's metrics.
pub(crate) fn count_decision(state: &AppState, check: crate::metrics::Check, eval: &Evaluation) {
    use crate::metrics::Decision as D;
    let d = match eval.decision {
        policy::Decision::Allowed => D::Allow,
        policy::Decision::ExplicitDeny => D::ExplicitDeny,
        policy::Decision::ImplicitDeny => D::ImplicitDeny,
    };
    state.metrics.decision(check, d);
}

/// The `AccessDenied` for an identity-side decision that did not allow: AWS's text, the
/// evaluator's reason for the server log, and the sealed authorization message.
pub(crate) fn refuse(
    state: &AppState,
    caller: &SignedCaller,
    ctx: &RequestContext,
    eval: &Evaluation,
    info: &RequestInfo,
) -> ApiError {
    let (action, resource) = (ctx.action(), ctx.resource());
    let reason = eval.describe();
    let err = ApiError::not_authorized(&caller.arn_in(info.partition()), action, resource)
        .with_detail(format!("{action} denied: {reason}"));
    Denial {
        account: caller.account(),
        context: ctx,
        evaluation: Some(eval),
        check: denial::check_of(&eval.reason),
        reason: &reason,
        reveal: denial::ALL,
    }
    .attach(&state.keyring(), err)
}

/// The `AccessDenied` for a rule about the kind of credentials (not a policy decision), with
/// its sealed authorization message: e.g. GetSessionToken credentials without MFA calling IAM.
pub(crate) fn refuse_credentials(
    state: &AppState,
    caller: &SignedCaller,
    action: &str,
    resource: &str,
    why: &str,
    info: &RequestInfo,
) -> ApiError {
    let view = state.store.view();
    let ctx = context_for(&view, caller, action, resource, info).build();
    let err = ApiError::not_authorized(&caller.arn_in(info.partition()), action, resource)
        .with_detail(why.to_owned());
    Denial {
        account: caller.account(),
        context: &ctx,
        evaluation: None,
        check: "credential type",
        reason: why,
        reveal: denial::ALL,
    }
    .attach(&state.keyring(), err)
}

/// The `AccessDenied` for a target the caller may not reach whatever its policies say (not a
/// policy decision), with its sealed authorization message naming `check` and `why`: e.g. an
/// access key that is not one of the caller's account.
pub(crate) fn refuse_target(
    state: &AppState,
    caller: &SignedCaller,
    action: &str,
    resource: &str,
    check: &str,
    why: &str,
    info: &RequestInfo,
) -> ApiError {
    let view = state.store.view();
    let ctx = context_for(&view, caller, action, resource, info).build();
    let err = ApiError::not_authorized(&caller.arn_in(info.partition()), action, resource)
        .with_detail(why.to_owned());
    Denial {
        account: caller.account(),
        context: &ctx,
        evaluation: None,
        check,
        reason: why,
        reveal: denial::ALL,
    }
    .attach(&state.keyring(), err)
}

/// A permissions boundary must name an existing managed policy.
pub(crate) fn check_boundary_arn(state: &AppState, arn: &str) -> ApiResult<()> {
    if state.store.view().policies.managed.contains_key(arn) {
        Ok(())
    } else {
        Err(ApiError::invalid_input(format!("ARN {arn} is not valid."))
            .with_detail("permissions boundary policy does not exist"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn deny_all_parses() {
        let p = super::deny_all();
        assert_eq!(p.statement_count(), 1);
    }

    #[test]
    fn allow_all_parses() {
        assert_eq!(super::allow_all().statement_count(), 1);
    }
}
