//! The one role-session path. Every `AssumeRole*` action, once it knows who is asking and what
//! the request carries, goes through [`assume`]: find the role, evaluate its trust policy (and
//! the caller's identity side) with the caller's context, cap the duration, apply session
//! policies and tags, inherit the source identity, mint, note the audit record. The actions add
//! only their own verification and condition keys.
//!
//! See AWS-REFERENCE §4 (session rules, trust-policy evaluation, tags, source identity).

use super::mint::Issued;
use crate::arn::{Arn, Partition, Resource};
use crate::authorization;
use crate::credentials::{SessionSource, SessionSpec};
use crate::denial::{self, Denial};
use crate::error::{ApiError, ApiResult};
use crate::identity::Acting;
use crate::policy::{self, Evaluation, PolicySet, RequestContext, ResourcePolicyRef};
use crate::principal::Principal;
use crate::protocol::input::MfaCode;
use crate::request::Cx;
use crate::store::Role;
use crate::store::Snapshot;

use super::session::{
    RequestTags, RoleSessionOptions, SessionPolicies, SessionTags, duration_for_role,
    mint_role_session, packed_policy_percent,
};
use super::verify_mfa;

/// What an `AssumeRole*` request asks for, beyond who is asking.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    /// The trust-policy action: `sts:AssumeRole`, `sts:AssumeRoleWithWebIdentity`, ...
    pub(crate) action: &'static str,
    pub(crate) source: SessionSource,
    pub(crate) role_arn: &'a str,
    pub(crate) session_name: &'a str,
    pub(crate) duration_seconds: Option<i64>,
    pub(crate) policies: &'a SessionPolicies,
    pub(crate) tags: RequestTags,
    pub(crate) source_identity: Option<&'a str>,
    /// `sts:ExternalId` (AssumeRole only).
    pub(crate) external_id: Option<&'a str>,
    /// An MFA code to check and burn (AssumeRole only).
    pub(crate) mfa: Option<&'a MfaCode>,
    /// Condition keys the asker's identity provider vouches for at assume time.
    pub(crate) federation: Option<Federation<'a>>,
    /// Those of them that the session carries on (`<provider>:sub`, `:aud`, `:amr`).
    pub(crate) session_keys: Vec<(String, Vec<String>)>,
    /// The longest the asker's identity provider lets the session last, in seconds (SAML's
    /// `SessionDuration` attribute and `SessionNotOnOrAfter`): the session ends at the earlier
    /// of this and the duration asked for.
    pub(crate) max_seconds: Option<i64>,
}

/// What a federated asker's identity provider vouches for: the condition key
/// `<prefix>:<claim>` for each claim (`token.actions.githubusercontent.com:sub`, `saml:aud`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Federation<'a> {
    pub(crate) prefix: &'a str,
    pub(crate) claims: &'a [(String, Vec<String>)],
}

/// A minted role session and what the answer says about it.
#[derive(Debug)]
pub(crate) struct RoleSession {
    pub(crate) issued: Issued,
    /// `<role id>:<session name>`
    pub(crate) assumed_role_id: String,
    /// The session's ARN, in the partition of the request's region.
    pub(crate) assumed_role_arn: String,
    pub(crate) packed_policy_size: u64,
    pub(crate) source_identity: Option<String>,
}

/// Refusing `caller` `action` on `resource`, in AWS's words: federated askers are not named.
fn refusal(caller: &Principal, partition: Partition, action: &str, resource: &str) -> ApiError {
    match caller {
        Principal::WebIdentity { .. } | Principal::Saml { .. } => {
            crate::iam::errors::sts_not_authorized(action)
        }
        _ => ApiError::not_authorized(&caller.arn_in(partition), action, resource),
    }
}

/// Turn `caller`'s request into a session of the role it names, or refuse.
pub(crate) async fn assume<C, A: Acting>(
    cx: &Cx<'_, C>,
    caller: &A,
    req: Request<'_>,
) -> ApiResult<RoleSession> {
    let (state, info) = (cx.state, cx.info);
    let Request {
        action: trust_action,
        source,
        role_arn,
        session_name,
        duration_seconds,
        policies: session_policies,
        tags,
        source_identity: requested_si,
        external_id,
        mfa,
        federation,
        session_keys,
        max_seconds,
    } = req;
    let tags = SessionTags::new(tags, caller.session())?;
    info.note(|n| {
        n.target = Some(role_arn.to_owned());
        n.session_name = Some(session_name.to_owned());
    });

    // Answers and policies name the role and the caller in the request's partition.
    let partition = info.partition();
    let role_arn_here = partition.rewrite(role_arn);
    let denied = |detail: String| {
        refusal(caller.principal(), partition, trust_action, &role_arn_here).with_detail(detail)
    };
    let view = state.store.view();
    // A missing role is AccessDenied with the same text: never reveal whether it exists (the
    // sealed message says so only to the role's own account).
    let Some(role) = find_role(&view, role_arn) else {
        let ctx =
            authorization::context_for(&view, caller, trust_action, &role_arn_here, info).build();
        let role_account = Arn::parse(role_arn).map(|a| a.account).unwrap_or_default();
        return Err(explained(
            state,
            caller,
            &role_account,
            &ctx,
            None,
            "role",
            "the role does not exist",
            denied("role does not exist".into()),
        ));
    };
    super::session::check_policy_arns(&view, &role.account, &session_policies.arns)?;

    // Source identity is set once and then immutable down the chain.
    let inherited_si = caller.session().and_then(|s| s.source_identity.clone());
    let source_identity = match (inherited_si, requested_si) {
        (Some(old), Some(new)) if old != new => {
            return Err(crate::iam::errors::sts_source_identity_mismatch());
        }
        (Some(old), _) => Some(old),
        (None, new) => new.map(str::to_owned),
    };

    // Role chaining: the caller is itself a role session (from any AssumeRole*).
    let chained = caller
        .session()
        .is_some_and(|s| matches!(s.principal, Principal::AssumedRole { .. }));
    let seconds = duration_for_role(role, duration_seconds, chained)?;
    let seconds = match max_seconds {
        Some(cap) => seconds.min(u32::try_from(cap.max(1)).unwrap_or(u32::MAX)),
        None => seconds,
    };

    // MFA: a code in this request, or MFA context carried by the calling session.
    let code_now = match (mfa, caller.signed()) {
        (Some(m), Some(signed)) => {
            let cx = Cx {
                state,
                caller: signed,
                info,
            };
            verify_mfa(&cx, m).await?
        }
        _ => None,
    };
    let mfa_at = code_now.or_else(|| caller.session().and_then(|s| s.mfa_authenticated_at));

    // --- authorization through the shared evaluator -------------------------------------------
    let resource_tags = tags.resource_tags(role);
    let trust_text = match federation {
        Some(_) => lowercase(&role.trust_document),
        None => String::new(),
    };
    let build_ctx = |action: &str| -> RequestContext {
        let mut ctx = authorization::context_for(&view, caller, action, &role_arn_here, info)
            .role_session_name(session_name)
            .resource_tags(resource_tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if !tags.request.is_empty() {
            ctx = ctx.request_tags(tags.request.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        if !tags.transitive.is_empty() {
            ctx = ctx.transitive_tag_keys(&tags.transitive);
        }
        if let Some(e) = external_id {
            ctx = ctx.external_id(e);
        }
        if let Some(si) = requested_si {
            ctx = ctx.sts_source_identity(si);
        }
        // Only the trust policy is evaluated here, and it can read no key its text does not
        // name (as a condition key or a policy variable): other claims stay out of the context.
        if let Some(f) = federation {
            // `<prefix>:` in lower case, each claim appended in turn (ASCII, the usual case:
            // lowering the parts is lowering the whole; the context lowers keys anyway).
            let mut key = String::with_capacity(f.prefix.len() + 32);
            key.push_str(f.prefix);
            key.make_ascii_lowercase();
            key.push(':');
            let stem = key.len();
            for (claim, values) in f.claims {
                if f.prefix.is_ascii() && claim.is_ascii() {
                    key.truncate(stem);
                    key.extend(claim.chars().map(|c| c.to_ascii_lowercase()));
                    if trust_text.contains(key.as_str()) {
                        ctx = ctx.strings(&key, values);
                    }
                    continue;
                }
                if !trust_text.contains(&*lowercase(claim)) {
                    continue;
                }
                let key = format!("{}:{claim}", f.prefix);
                if trust_text.contains(&*lowercase(&key)) {
                    ctx = ctx.strings(&key, values);
                }
            }
        }
        if code_now.is_some() && caller.session().is_none() {
            // Long-term credentials with a code in this very request.
            ctx = ctx.mfa(true, Some(0));
        }
        ctx.build()
    };
    let mut required = vec![trust_action];
    if !tags.request.is_empty() {
        required.push("sts:TagSession");
    }
    if requested_si.is_some() {
        required.push("sts:SetSourceIdentity");
    }
    for action in required {
        let ctx = build_ctx(action);
        let eval = evaluate_assume(&view, caller, role, &ctx);
        authorization::count_decision(state, crate::metrics::Check::Trust, &eval);
        if !eval.is_allowed() {
            let why = explain_denial(&eval, role, external_id, mfa_at.is_some());
            let err = refusal(caller.principal(), partition, action, &role_arn_here)
                .with_detail(format!("{action} denied: {why}"));
            return Err(explained(
                state,
                caller,
                &role.account,
                &ctx,
                Some(&eval),
                denial::check_of(&eval.reason),
                &why,
                err,
            ));
        }
        if action == trust_action {
            info.note(|n| n.decision = Some(eval.describe()));
        }
    }

    // --- the session ----------------------------------------------------------------------------
    let packed = packed_policy_percent(session_policies, &tags);
    if packed > 100 {
        return Err(ApiError::packed_policy_too_large(packed));
    }
    let principal = Principal::AssumedRole {
        account: role.account.clone(),
        role_name: role.name.clone(),
        role_id: role.id.clone(),
        role_path: role.path.clone(),
        session_name: session_name.to_owned(),
    };
    let mut spec = SessionSpec::new(principal, source);
    spec.mfa_authenticated_at = mfa_at;
    spec.session_policy = session_policies.inline.clone();
    spec.policy_arns = session_policies.arns.clone();
    spec.tags = tags.session_tags();
    spec.transitive_tag_keys = tags.all_transitive();
    spec.source_identity = source_identity.clone();
    spec.federated_keys = session_keys;
    spec.chain_depth = caller
        .session()
        .map_or(0, |s| s.chain_depth.saturating_add(u8::from(chained)));
    let issued = mint_role_session(
        state,
        spec,
        info,
        seconds,
        RoleSessionOptions {
            source_identity: source_identity.as_deref(),
        },
    )?;
    Ok(RoleSession {
        issued,
        assumed_role_id: [role.id.as_str(), ":", session_name].concat(),
        assumed_role_arn: partition.assumed_role_arn(&role.account, &role.name, session_name),
        packed_policy_size: packed,
        source_identity,
    })
}

/// Seal why an assume was refused into the refusal. Within one account (or for a federated
/// asker, whose refusal only the role's account can read) everything is named; across
/// accounts the caller's account learns only what its own policies did, and neither the other
/// account's trust policy nor whether the role exists.
#[expect(
    clippy::too_many_arguments,
    reason = "one call per refusal site, all named"
)]
fn explained<A: Acting + ?Sized>(
    state: &crate::state::AppState,
    caller: &A,
    role_account: &str,
    ctx: &RequestContext,
    eval: Option<&Evaluation>,
    check: &str,
    reason: &str,
    err: ApiError,
) -> ApiError {
    let caller_account = caller.signed().map(|c| c.account()).unwrap_or(role_account);
    let same = caller_account == role_account;
    let caller_side = eval.is_some_and(|e| denial::is_caller_side(&e.reason));
    let (check, reason) = if same || caller_side {
        (check, reason)
    } else {
        (
            "role's account",
            "the role does not exist, or its account's trust policy does not allow this",
        )
    };
    Denial {
        account: caller_account,
        context: ctx,
        evaluation: eval,
        check,
        reason,
        reveal: if same {
            denial::ALL
        } else {
            denial::CALLER_SIDE
        },
    }
    .attach(&state.keyring(), err)
}

/// `s` in lower case as policy keys compare; the ASCII fast path for the usual text.
fn lowercase(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    }
}

/// The role an ARN names (path included), if it exists.
pub(crate) fn find_role<'a>(view: &'a Snapshot, arn: &str) -> Option<&'a Role> {
    let arn = Arn::parse(arn).ok()?;
    let Resource::Role { path, name } = &arn.resource else {
        return None;
    };
    view.policies
        .role_by_name(&arn.account, name)
        .filter(|r| &r.path == path && r.name == *name)
}

/// Trust policy (as the resource policy) plus the caller's identity side.
pub(crate) fn evaluate_assume<A: Acting + ?Sized>(
    view: &Snapshot,
    caller: &A,
    role: &Role,
    ctx: &RequestContext,
) -> Evaluation {
    let gathered = authorization::gather(view, caller);
    let refs = gathered.refs();
    let mut trust_id = role.arn();
    trust_id.push_str("/trust");
    let set = PolicySet {
        resource: Some(ResourcePolicyRef {
            id: &trust_id,
            policy: &role.trust,
            owner_account: &role.account,
        }),
        ..refs.set()
    };
    policy::evaluate(ctx, &set)
}

/// A server-log sentence naming the failing check. The evaluator's reason says which policy
/// type refused; for trust-policy refusals we also say when the trust policy tests a key the
/// request lacked or got wrong (ExternalId, MFA).
pub(crate) fn explain_denial(
    eval: &Evaluation,
    role: &Role,
    external_id: Option<&str>,
    mfa: bool,
) -> String {
    let trust = role.trust_document.to_ascii_lowercase();
    let mut why = eval.describe();
    if matches!(eval.reason, policy::Reason::NoAllowInTrust) {
        if trust.contains("sts:externalid") {
            why.push_str(if external_id.is_some() {
                " (ExternalId does not match the trust policy)"
            } else {
                " (ExternalId required by the trust policy is absent)"
            });
        }
        if trust.contains("aws:multifactorauthpresent") && !mfa {
            why.push_str(" (MFA required by the trust policy)");
        }
    }
    why
}
