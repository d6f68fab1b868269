//! The decision: one request against one set of policies.
//!
//! Implements <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>,
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html>
//! and the trust-policy rules of
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html>.
//! SCPs/RCPs do not exist in tessera. The whole rule is the single `match` in [`evaluate`];
//! everything above it only computes facts. Nothing here allocates except the returned
//! [`Evaluation`] (matched statements, missing keys).
//!
//! Choices where AWS is silent or tessera differs (each has a corpus case):
//! - The account root user's identity side is always "allowed" (no policies attach to root),
//!   but an applicable explicit Deny (e.g. in a resource policy) still denies it, and a
//!   resource in another account still needs that account's resource policy.
//! - `"Principal": "*"` / `{"AWS": "*"}` grants like a principal-specific grant for users and
//!   federated/service callers, and like a role-ARN grant (bounded by boundary and session
//!   policies) for role sessions. `{"AWS": "*"}` does not match federated-provider (OIDC/SAML)
//!   or service callers; `"*"` matches everyone.
//! - An `Allow` with `NotPrincipal` grants only like an account grant (identity must allow).
//! - `session: Some(&[])` means "the session carries session policies that allow nothing";
//!   a federated-user (`GetFederationToken`) session with `session: None` is treated the same
//!   (AWS: such a session without a policy has no permissions).

use std::fmt;

use super::context::{PrincipalKind, PrincipalView, RequestContext};
use super::model::{Effect, Policy, PolicyKind, PrincipalClause, PrincipalEntry, Statement};
use super::variables::NoVars;

/// The role a policy plays in a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyType {
    /// Identity-based (user, group or role policy; inline or managed).
    Identity,
    /// A resource-based policy other than a trust policy.
    Resource,
    /// A role trust policy.
    Trust,
    /// The principal's permissions boundary.
    PermissionsBoundary,
    /// A session policy (inline `Policy` or one of `PolicyArns`).
    Session,
}

impl PolicyType {
    /// How log lines and refusals name it.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::Identity => "identity policy",
            PolicyType::Resource => "resource policy",
            PolicyType::Trust => "trust policy",
            PolicyType::PermissionsBoundary => "permissions boundary",
            PolicyType::Session => "session policy",
        }
    }
}

impl fmt::Display for PolicyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A policy with the id it is reported under (an ARN, or `user/NAME/inline/POLNAME`, ...).
#[derive(Debug, Clone, Copy)]
pub struct PolicyRef<'a> {
    /// Reported in [`MatchedStatement::policy_id`].
    pub id: &'a str,
    /// The compiled document.
    pub policy: &'a Policy,
}

/// The resource's own policy. A policy parsed as [`PolicyKind::Trust`] is evaluated as a role
/// trust policy (it must always allow the principal explicitly).
#[derive(Debug, Clone, Copy)]
pub struct ResourcePolicyRef<'a> {
    /// Reported in [`MatchedStatement::policy_id`] (e.g. the role ARN).
    pub id: &'a str,
    /// The compiled document (kind [`PolicyKind::Trust`] or [`PolicyKind::Resource`]).
    pub policy: &'a Policy,
    /// The account that owns the resource (the role's account for trust policies).
    pub owner_account: &'a str,
}

/// Everything that applies to one request.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicySet<'a> {
    /// The caller's identity policies: a user's own plus its groups', or the role's. Empty for
    /// root, federated (OIDC/SAML) and service callers.
    pub identity: &'a [PolicyRef<'a>],
    /// The resource policy (role trust policy for `sts:AssumeRole*`).
    pub resource: Option<ResourcePolicyRef<'a>>,
    /// The caller's permissions boundary, if one is set.
    pub boundary: Option<PolicyRef<'a>>,
    /// The session's policies: `None` when the session has none (not the same as an empty
    /// list, which allows nothing).
    pub session: Option<&'a [PolicyRef<'a>]>,
}

/// The outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Every required policy allows and nothing denies.
    Allowed,
    /// An applicable `Deny` statement.
    ExplicitDeny,
    /// No applicable `Allow` where one was needed.
    ImplicitDeny,
}

/// Which rule decided; `Display` gives a log-ready sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// An applicable Deny statement in a policy of this type.
    ExplicitDenyIn(PolicyType),
    /// The account root user (no identity policies apply to it).
    RootUser,
    /// The caller's identity policies allow (within boundary and session policies).
    IdentityAllowed,
    /// A same-account resource/trust policy names the caller itself (user ARN, session ARN,
    /// federated provider, service): the grant stands alone.
    ResourceGrantsPrincipal(PolicyType),
    /// A same-account resource/trust policy names the caller's role: allowed within the
    /// role's boundary and session policies.
    ResourceGrantsRole(PolicyType),
    /// Cross-account: both the caller's side and the resource policy allow.
    CrossAccountAllowed,
    /// No identity policy allows (and no resource policy grants the principal directly).
    NoAllowInIdentity,
    /// The role trust policy does not allow this principal and action.
    NoAllowInTrust,
    /// The permissions boundary does not allow.
    BoundaryDenied,
    /// The session policies do not allow.
    SessionPolicyDenied,
    /// Cross-account access needs both sides; this side did not allow.
    CrossAccountNeedsBoth(PolicyType),
}

impl Reason {
    /// The sentence `Display` writes, written into `w` piece by piece (this runs for every
    /// audited decision; `write!` and its format machinery cost several times more).
    fn write_to(self, w: &mut impl fmt::Write) -> fmt::Result {
        let (head, policy, tail) = match self {
            Reason::ExplicitDenyIn(t) => ("explicit deny in ", Some(t), ""),
            Reason::RootUser => ("allowed: account root user", None, ""),
            Reason::IdentityAllowed => ("allowed by identity policy", None, ""),
            Reason::ResourceGrantsPrincipal(t) => ("allowed: ", Some(t), " names the principal"),
            Reason::ResourceGrantsRole(t) => ("allowed: ", Some(t), " names the principal's role"),
            Reason::CrossAccountAllowed => {
                ("allowed: cross-account, both accounts allow", None, "")
            }
            Reason::NoAllowInIdentity => ("implicit deny: no identity policy allows", None, ""),
            Reason::NoAllowInTrust => (
                "implicit deny: trust policy does not allow the principal",
                None,
                "",
            ),
            Reason::BoundaryDenied => (
                "implicit deny: permissions boundary does not allow",
                None,
                "",
            ),
            Reason::SessionPolicyDenied => {
                ("implicit deny: session policy does not allow", None, "")
            }
            Reason::CrossAccountNeedsBoth(t) => (
                "implicit deny: cross-account access needs both sides, ",
                Some(t),
                " does not allow",
            ),
        };
        w.write_str(head)?;
        if let Some(t) = policy {
            w.write_str(t.as_str())?;
        }
        w.write_str(tail)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

/// A statement that applied (action, resource, principal and conditions all matched).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedStatement {
    /// The id given in the [`PolicySet`].
    pub policy_id: String,
    /// The role the policy played.
    pub policy_type: PolicyType,
    /// The statement's `Sid`, if it has a non-empty one.
    pub sid: Option<String>,
    /// 0-based position in the policy's `Statement` array.
    pub index: usize,
    /// `Allow` or `Deny`.
    pub effect: Effect,
}

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The outcome.
    pub decision: Decision,
    /// The rule that decided.
    pub reason: Reason,
    /// Applicable statements, in order: identity, resource, boundary, session.
    pub matched: Vec<MatchedStatement>,
    /// Condition keys (lowercase) that statements tested but the request did not carry.
    pub missing_keys: Vec<String>,
}

impl Evaluation {
    /// Whether the request is allowed.
    pub fn is_allowed(&self) -> bool {
        self.decision == Decision::Allowed
    }
}

impl Evaluation {
    /// The `Display` sentence in a string sized for it: the audit record's `decision`.
    pub fn describe(&self) -> String {
        let mut out = String::with_capacity(
            96 + self
                .matched
                .iter()
                .map(|m| 48 + m.policy_id.len() + m.sid.as_ref().map_or(4, String::len))
                .sum::<usize>()
                + self.missing_keys.iter().map(|k| 2 + k.len()).sum::<usize>(),
        );
        let _ = self.write_to(&mut out);
        out
    }

    fn write_to(&self, w: &mut impl fmt::Write) -> fmt::Result {
        self.reason.write_to(w)?;
        for m in &self.matched {
            w.write_str("; ")?;
            w.write_str(m.effect.as_str())?;
            w.write_str(" ")?;
            w.write_str(m.policy_type.as_str())?;
            w.write_str(" statement ")?;
            w.write_str(&m.policy_id)?;
            match &m.sid {
                Some(sid) => {
                    w.write_str("#")?;
                    w.write_str(sid)?;
                }
                None => write!(w, "[{}]", m.index)?,
            }
        }
        for (i, k) in self.missing_keys.iter().enumerate() {
            w.write_str(if i == 0 { "; missing keys: " } else { ", " })?;
            w.write_str(k)?;
        }
        Ok(())
    }
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

/// How specifically a resource policy's allowing statement names the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Grant {
    /// Does not name the caller.
    None,
    /// Names the caller's account (`arn:aws:iam::A:root`, `A`) or allows via NotPrincipal:
    /// the account delegates to its own policies.
    Account,
    /// Names the caller's role (`arn:aws:iam::A:role/R`): bounded by boundary and session.
    Role,
    /// Names the caller itself: stands alone.
    Direct,
}

/// Per-policy-type tally.
#[derive(Clone, Copy)]
struct Tally {
    allow: bool,
    deny: bool,
    grant: Grant,
}

const EMPTY: Tally = Tally {
    allow: false,
    deny: false,
    grant: Grant::None,
};

/// Decides whether `req` is allowed under `set`.
pub fn evaluate(req: &RequestContext, set: &PolicySet<'_>) -> Evaluation {
    let mut out = Evaluation {
        decision: Decision::ImplicitDeny,
        reason: Reason::NoAllowInIdentity,
        matched: Vec::new(),
        missing_keys: Vec::new(),
    };
    let p = req.principal();

    // --- facts -------------------------------------------------------------------------
    let identity = set.identity.iter().fold(EMPTY, |t, r| {
        t.or(tally(req, *r, PolicyType::Identity, &mut out))
    });
    let resource = set.resource.map(|r| {
        let t = if r.policy.kind() == PolicyKind::Trust {
            PolicyType::Trust
        } else {
            PolicyType::Resource
        };
        (
            t,
            tally(
                req,
                PolicyRef {
                    id: r.id,
                    policy: r.policy,
                },
                t,
                &mut out,
            ),
            r.owner_account,
        )
    });
    let boundary = set
        .boundary
        .map(|b| tally(req, b, PolicyType::PermissionsBoundary, &mut out));
    let session = set.session.map(|s| {
        s.iter().fold(EMPTY, |t, r| {
            t.or(tally(req, *r, PolicyType::Session, &mut out))
        })
    });

    let deny_in = [
        identity.deny.then_some(PolicyType::Identity),
        resource.and_then(|(t, r, _)| r.deny.then_some(t)),
        boundary.and_then(|b| b.deny.then_some(PolicyType::PermissionsBoundary)),
        session.and_then(|s| s.deny.then_some(PolicyType::Session)),
    ]
    .into_iter()
    .flatten()
    .next();

    // The caller's own account: identity ∩ boundary ∩ session, first failing check named.
    let bounds = if !boundary.is_none_or(|b| b.allow) {
        Err(Reason::BoundaryDenied)
    } else if !session.map_or(p.kind != PrincipalKind::FederatedUser, |s| s.allow) {
        Err(Reason::SessionPolicyDenied)
    } else {
        Ok(())
    };
    let caller_side = if p.is_root() {
        Ok(Reason::RootUser)
    } else if !identity.allow {
        Err(Reason::NoAllowInIdentity)
    } else {
        bounds.map(|()| Reason::IdentityAllowed)
    };
    // Only IAM identities have an account of their own to be "cross" from; federated
    // (OIDC/SAML), service and anonymous callers are decided by the resource policy alone.
    let cross_account =
        resource.is_some_and(|(_, _, owner)| p.is_iam_identity() && p.account != owner);
    let side_type = |r: Reason| match r {
        Reason::BoundaryDenied => PolicyType::PermissionsBoundary,
        Reason::SessionPolicyDenied => PolicyType::Session,
        _ => PolicyType::Identity,
    };

    // --- the rule ------------------------------------------------------------------------
    use Decision::{Allowed, ExplicitDeny, ImplicitDeny};
    let resource_side = resource.map(|(t, r, _)| (t, r.grant, cross_account));
    let (decision, reason) = match (deny_in, resource_side) {
        // An applicable explicit Deny in any policy wins over every Allow.
        (Some(t), _) => (ExplicitDeny, Reason::ExplicitDenyIn(t)),
        // A trust policy must explicitly allow the principal; identity Allows never suffice.
        (None, Some((PolicyType::Trust, Grant::None, _))) => (ImplicitDeny, Reason::NoAllowInTrust),
        // Cross-account, resource side silent: the trusting account did not allow.
        (None, Some((t, Grant::None, true))) => (ImplicitDeny, Reason::CrossAccountNeedsBoth(t)),
        // Cross-account, resource side allows: the caller's account must allow too, whatever
        // the resource policy named.
        (None, Some((_, Grant::Account | Grant::Role | Grant::Direct, true))) => {
            match caller_side {
                Ok(_) => (Allowed, Reason::CrossAccountAllowed),
                Err(r) => (ImplicitDeny, Reason::CrossAccountNeedsBoth(side_type(r))),
            }
        }
        // Same account, the caller itself named (user/session ARN, provider, service): the
        // grant stands alone against identity and boundary implicit denies.
        (None, Some((t, Grant::Direct, false))) => (Allowed, Reason::ResourceGrantsPrincipal(t)),
        // Same account, the caller's role named: no identity Allow needed, but the role's
        // boundary and the session policies still bound it.
        (None, Some((t, Grant::Role, false))) => match bounds {
            Ok(()) => (Allowed, Reason::ResourceGrantsRole(t)),
            Err(r) => (ImplicitDeny, r),
        },
        // Same account, the account named (delegation), no resource grant, or no resource
        // policy at all: the caller's own policies decide.
        (None, Some((_, Grant::Account | Grant::None, false)) | None) => match caller_side {
            Ok(r) => (Allowed, r),
            Err(r) => (ImplicitDeny, r),
        },
    };
    out.decision = decision;
    out.reason = reason;
    out
}

impl Tally {
    fn or(self, o: Tally) -> Tally {
        Tally {
            allow: self.allow || o.allow,
            deny: self.deny || o.deny,
            grant: self.grant.max(o.grant),
        }
    }
}

/// Evaluates every statement of one policy, recording applicable ones in `out`.
fn tally(req: &RequestContext, r: PolicyRef<'_>, ptype: PolicyType, out: &mut Evaluation) -> Tally {
    let mut t = EMPTY;
    for s in &r.policy.statements {
        let Some(grant) = applies(s, ptype, req, &mut out.missing_keys) else {
            continue;
        };
        out.matched.push(MatchedStatement {
            policy_id: r.id.to_owned(),
            policy_type: ptype,
            sid: s.sid.clone(),
            index: s.index,
            effect: s.effect,
        });
        match s.effect {
            Effect::Deny => t.deny = true,
            Effect::Allow => {
                t.allow = true;
                t.grant = t.grant.max(grant);
            }
        }
    }
    t
}

/// Whether a statement applies to the request; `Some(grant)` says how specifically its
/// `Principal` named the caller (`Grant::Direct` for identity-side statements).
fn applies(
    s: &Statement,
    ptype: PolicyType,
    req: &RequestContext,
    missing: &mut Vec<String>,
) -> Option<Grant> {
    // Action (case-insensitive, no variables).
    let action_hit = s
        .action
        .items
        .iter()
        .any(|p| p.matches(req.action(), true, &NoVars));
    if action_hit == s.action.negated {
        return None;
    }
    // Resource (case-sensitive, variables resolved from the request).
    if let Some(res) = &s.resource {
        let hit = res
            .items
            .iter()
            .any(|p| p.matches(req.resource(), false, req));
        if hit == res.negated {
            return None;
        }
    }
    // Principal (resource and trust policies).
    let grant = match &s.principal {
        // A resource-side statement without Principal can only come from a document parsed
        // as Identity and passed as a resource policy by mistake: it names nobody.
        None if matches!(ptype, PolicyType::Resource | PolicyType::Trust) => Grant::Account,
        None => Grant::Direct,
        Some(pc) => principal_grant(pc, req.principal()),
    };
    if grant == Grant::None {
        return None;
    }
    // Conditions: every operator, every key.
    let mut note = |k: &str| {
        if !missing.iter().any(|m| m == k) {
            missing.push(k.to_owned());
        }
    };
    s.conditions
        .iter()
        .all(|c| c.eval(req, &mut note))
        .then_some(grant)
}

fn principal_grant(pc: &PrincipalClause, p: &PrincipalView) -> Grant {
    let best = pc
        .entries
        .iter()
        .map(|e| entry_grant(e, p))
        .max()
        .unwrap_or(Grant::None);
    match (pc.negated, best) {
        (false, g) => g,
        // NotPrincipal: applies to everyone not listed, but never counts as naming anyone.
        (true, Grant::None) => Grant::Account,
        (true, _) => Grant::None,
    }
}

/// What one principal entry grants this caller.
fn entry_grant(e: &PrincipalEntry, p: &PrincipalView) -> Grant {
    let wildcard = match p.kind {
        PrincipalKind::AssumedRole => Grant::Role,
        _ => Grant::Direct,
    };
    let bound_ok = |bound: &Option<Box<str>>, actual: &Option<String>| match bound {
        None => true,
        Some(b) => actual.as_deref() == Some(&**b),
    };
    let hit = |cond: bool, g: Grant| if cond { g } else { Grant::None };
    match e {
        PrincipalEntry::Anyone => wildcard,
        PrincipalEntry::AnyAws => hit(
            !matches!(
                p.kind,
                PrincipalKind::WebIdentity | PrincipalKind::Saml | PrincipalKind::Service
            ),
            wildcard,
        ),
        PrincipalEntry::Account { partition, account } => hit(
            p.is_iam_identity()
                && p.account == **account
                && (partition.is_empty() || p.arn.split(':').nth(1) == Some(&**partition)),
            Grant::Account,
        ),
        PrincipalEntry::User { arn, id } => hit(
            p.kind == PrincipalKind::User && p.arn == **arn && bound_ok(id, &p.unique_id),
            Grant::Direct,
        ),
        PrincipalEntry::Role { arn, id } => hit(
            p.kind == PrincipalKind::AssumedRole
                && p.role_arn.as_deref() == Some(&**arn)
                && bound_ok(id, &p.role_unique_id),
            Grant::Role,
        ),
        PrincipalEntry::Session { arn } => hit(
            p.kind == PrincipalKind::AssumedRole && p.arn == **arn,
            Grant::Direct,
        ),
        PrincipalEntry::FederatedUser { arn } => hit(
            p.kind == PrincipalKind::FederatedUser && p.arn == **arn,
            Grant::Direct,
        ),
        PrincipalEntry::UniqueId { id } => match p.kind {
            PrincipalKind::User => hit(p.unique_id.as_deref() == Some(&**id), Grant::Direct),
            PrincipalKind::AssumedRole => {
                hit(p.role_unique_id.as_deref() == Some(&**id), Grant::Role)
            }
            _ => Grant::None,
        },
        PrincipalEntry::Federated { provider } => hit(
            matches!(p.kind, PrincipalKind::WebIdentity | PrincipalKind::Saml)
                && p.provider.as_deref() == Some(&**provider),
            Grant::Direct,
        ),
        PrincipalEntry::Service { name } => hit(
            p.kind == PrincipalKind::Service && p.arn == **name,
            Grant::Direct,
        ),
        PrincipalEntry::CanonicalUser { .. } => Grant::None,
    }
}
