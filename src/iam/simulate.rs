//! The IAM policy simulator: `SimulateCustomPolicy` and `SimulatePrincipalPolicy`, answered by
//! the same evaluator that authorizes real requests ([`crate::policy`]).
//!
//! Implements <https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html>
//! and <https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html>
//! (response shape: `EvaluationResult`, `ResourceSpecificResult`, `Statement`, `Position`).
//! The pure core is `crate::policy::simulate` ([`Simulation`]): policies, a principal and
//! context keys in, one [`Outcome`] per (action, resource) out. The handlers only parse
//! parameters, gather stored policies and write XML; `tessera policy eval` drives the same core
//! offline.
//!
//! Choices (each has a named test in `tests/policy_simulate.rs`):
//! - **Statement positions** are computed from the document text ([`statement_spans`]): lines
//!   and columns are 1-based and count characters; `StartPosition` is the position just after
//!   the statement's opening `{`, `EndPosition` just after its closing `}`. That is what AWS
//!   reports: for the one-line policy of the aws CLI's `simulate-custom-policy` example, whose
//!   statement's `{` is character 37 and `}` character 166, AWS answers `(1, 38)` and `(1, 167)`.
//! - **Principal keys.** `CallerArn` (a user ARN, any account) is the simulated caller; its
//!   `aws:username`, `aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalType` are
//!   filled in, and `aws:userid` plus `aws:PrincipalTag/*` when the user exists in the
//!   caller's account. Nothing else is (no `aws:CurrentTime`, no `aws:SourceIp`): a key the
//!   policies test but nobody supplied is reported in `MissingContextValues` (lowercase, as
//!   the evaluator normalizes keys). `ContextEntries` override any filled-in key. Without a
//!   `CallerArn` (and, for `SimulatePrincipalPolicy`, a group source) the caller carries no
//!   principal keys; a role source is simulated as a session of the role.
//! - `MissingContextValues` are the keys evaluation needed and did not find. A statement's
//!   conditions stop at the first that fails, so a key behind a failed condition is reported
//!   only once the earlier ones are satisfied: supply what is reported and run again.
//! - **Trust policies.** AWS's simulator ignores a `ResourcePolicy` for `sts:AssumeRole*`
//!   (aws/aws-cli#10314), so it says `allowed` where `AssumeRole` itself refuses. tessera
//!   evaluates a `ResourcePolicy` that is a valid role trust policy, simulated for a trust
//!   action (`sts:AssumeRole*`, `sts:TagSession`, `sts:SetSourceIdentity`) on a role ARN, as
//!   that role's trust policy: it must name the principal, exactly as `AssumeRole` decides.
//! - `MatchedStatements` lists every applicable statement (Allow and Deny, all policy types),
//!   so an `explicitDeny` shows the Deny and the Allows it overrode.
//! - `SourcePolicyType` is `none` for documents passed in the request, `resource` for
//!   `ResourcePolicy`, and `user`/`group`/`role`/`user-managed`/`aws-managed` for stored ones.
//! - `EvalDecisionDetails` appears only when `ResourceArns` is given: empty for a same-account
//!   simulation, and for a cross-account one a decision per policy type (`IAM Policy`,
//!   `Resource Policy`, `Permissions Boundary Policy`; key names unverified against AWS).

use std::sync::Arc;

use crate::arn::{Arn, Resource, is_account_id, owner_account};
use crate::error::{ApiError, ApiResult};
use crate::policy::simulate::{
    Matched, Outcome, ResourceInput, Simulation, SourcePolicy, context_value, decision_name,
};
use crate::policy::{ContextValue, Policy, PolicyKind, PrincipalView};
use crate::protocol::input::{ArnParam, Input, Reader, input, string_field};
use crate::protocol::output::Output;
use crate::protocol::params::{self, MAX_PARAMS};
use crate::protocol::xml::Xml;
use crate::request::Cx;
use crate::store::Snapshot;
use crate::store::policies::{ManagedPolicy, Owner};

use super::input::{Paging, policy_error};
use super::write_paging;

/// `ContextEntries.member.N.{ContextKeyName, ContextKeyValues.member.M, ContextKeyType}`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ContextEntries(Vec<(String, ContextValue)>);

impl Input for ContextEntries {
    fn read(r: &mut Reader<'_>) -> ApiResult<Self> {
        let raw = r.structs("ContextEntries", &["ContextKeyName", "ContextKeyType"])?;
        let mut out: Vec<(String, ContextValue)> = Vec::with_capacity(raw.len());
        for (i, m) in raw.iter().enumerate() {
            let n = i + 1;
            let param = format!("ContextEntries.member.{n}");
            let Some(name) = m.get("ContextKeyName") else {
                return Err(ApiError::invalid_input(format!(
                    "{param}.ContextKeyName is required."
                )));
            };
            r.validator()
                .length(&format!("{param}.ContextKeyName"), name, 5, 256);
            let Some(ty) = m.get("ContextKeyType") else {
                return Err(ApiError::invalid_input(format!(
                    "{param}.ContextKeyType is required."
                )));
            };
            let values: Vec<String> = r.list(&format!("{param}.ContextKeyValues"), MAX_PARAMS)?;
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            let value = context_value(ty, &values).map_err(|e| {
                ApiError::invalid_input(format!(
                    "Invalid context entry `{}` ({param}): {e}.",
                    params::sanitize(name)
                ))
            })?;
            if out.iter().any(|(k, _)| k.eq_ignore_ascii_case(name)) {
                return Err(ApiError::invalid_input(format!(
                    "Context key `{}` is given more than once (keys are case-insensitive).",
                    params::sanitize(name)
                )));
            }
            out.push((name.clone(), value));
        }
        Ok(Self(out))
    }
}

// --- parameters ------------------------------------------------------------------------------

string_field!(
    /// A policy document in a simulation request: 1..131072 policy characters.
    DocumentText,
    1,
    131_072,
    params::POLICY_PATTERN,
    params::is_policy_char
);
string_field!(
    /// An action name to simulate: 3..128 characters.
    ActionName,
    3,
    128,
    r".*",
    |_: char| true
);
string_field!(
    /// A resource ARN to simulate: 1..2048 ARN characters.
    ResourceArn,
    1,
    2048,
    params::ARN_PATTERN,
    params::is_arn_char
);
string_field!(
    /// `ResourceOwner`: 1..2048 characters (an account ARN, checked by the handler).
    ResourceOwner,
    1,
    2048,
    r".*",
    |_: char| true
);
string_field!(
    /// `ResourceHandlingOption`: 1..64 characters.
    ResourceHandlingOption,
    1,
    64,
    r".*",
    |_: char| true
);

/// One policy document from the request, compiled as `kind`.
fn document(doc: &str, kind: PolicyKind) -> ApiResult<Arc<Policy>> {
    Policy::parse(doc, kind).map(Arc::new).map_err(policy_error)
}

/// `PolicyInputList.member.N` (or another list of documents) as identity-kind sources.
fn document_list(list: &str, docs: &[DocumentText]) -> ApiResult<Vec<SourcePolicy>> {
    docs.iter()
        .enumerate()
        .map(|(i, doc)| {
            let id = format!("{list}.{}", i + 1);
            let pol = document(doc, PolicyKind::Identity)?;
            Ok(SourcePolicy::new(id, "none", pol))
        })
        .collect()
}

/// `PermissionsBoundaryPolicyInputList`: at most one document.
fn boundary_input(docs: &[DocumentText]) -> ApiResult<Option<SourcePolicy>> {
    let mut list = document_list("PermissionsBoundaryPolicyInputList", docs)?;
    if list.len() > 1 {
        return Err(ApiError::invalid_input(
            "PermissionsBoundaryPolicyInputList can contain only one permissions boundary policy.",
        ));
    }
    Ok(list.pop())
}

/// `ResourcePolicy` + `ResourceOwner`: compiled both as a resource policy and, when valid, as
/// a trust policy. The owner defaults to the simulated caller's account.
fn resource_input(
    doc: Option<&DocumentText>,
    owner: Option<&ResourceOwner>,
    caller_account: &str,
) -> ApiResult<Option<ResourceInput>> {
    let Some(doc) = doc else {
        return Ok(None);
    };
    let as_resource = document(doc, PolicyKind::Resource)?;
    let as_trust = Policy::parse(doc, PolicyKind::Trust).ok().map(Arc::new);
    let owner = match owner {
        Some(o) => account_of_owner(o)?,
        None => caller_account.to_owned(),
    };
    Ok(Some(ResourceInput {
        source: SourcePolicy::new("ResourcePolicy", "resource", as_resource.clone()),
        as_resource: Some(as_resource),
        as_trust,
        force_trust: false,
        owner,
    }))
}

/// `ResourceOwner`: `arn:aws:iam::<account>:root` (a bare account id is accepted too).
fn account_of_owner(o: &str) -> ApiResult<String> {
    owner_account(o).ok_or_else(|| {
        ApiError::invalid_input(format!(
            "ResourceOwner `{}` must be an account ARN such as arn:aws:iam::123456789012:root.",
            params::sanitize(o)
        ))
    })
}

/// The parts of an IAM entity ARN (a user, group, role, policy or MFA device):
/// `(account, kind, path, name)`.
fn entity_arn(arn: &str) -> Option<(String, &'static str, String, String)> {
    let arn = Arn::parse(arn).ok()?;
    if !is_account_id(&arn.account) {
        return None;
    }
    let (kind, path, name) = match arn.resource {
        Resource::User { path, name } => ("user", path, name),
        Resource::Group { path, name } => ("group", path, name),
        Resource::Role { path, name } => ("role", path, name),
        Resource::Policy { path, name } => ("policy", path, name),
        Resource::Mfa { path, name } => ("mfa", path, name),
        _ => return None,
    };
    Some((arn.account, kind, path, name))
}

/// The simulated caller from `CallerArn` (an IAM user ARN of any account) with its tags when
/// the user exists in `account`.
fn caller_principal(
    view: &Snapshot,
    account: &str,
    arn: &str,
) -> ApiResult<(PrincipalView, Vec<(String, String)>)> {
    let Some((acct, "user", _, name)) = entity_arn(arn) else {
        return Err(ApiError::invalid_input(format!(
            "CallerArn `{}` is not an IAM user ARN: only users can be simulated callers.",
            params::sanitize(arn)
        )));
    };
    let (acct, name) = (acct.as_str(), name.as_str());
    match view
        .user_by_name(acct, name)
        .filter(|u| acct == account && u.arn() == arn)
    {
        Some(u) => Ok((PrincipalView::user(arn, &u.id), u.tags.clone())),
        None => {
            let mut p = PrincipalView::user(arn, "");
            p.unique_id = None;
            Ok((p, Vec::new()))
        }
    }
}

/// The parameters both simulations share: what to simulate, the resource policy, the context
/// and paging.
#[derive(Debug, Clone)]
pub(crate) struct Simulated {
    policy_input_list: Vec<DocumentText>,
    permissions_boundary_policy_input_list: Vec<DocumentText>,
    action_names: Vec<ActionName>,
    resource_arns: Vec<ResourceArn>,
    resource_policy: Option<DocumentText>,
    resource_owner: Option<ResourceOwner>,
    caller_arn: Option<CallerArnParam>,
    #[allow(
        dead_code,
        reason = "validated as AWS does; one handling option is modelled"
    )]
    resource_handling_option: Option<ResourceHandlingOption>,
    context_entries: ContextEntries,
    paging: Paging,
}

string_field!(
    /// `CallerArn`: 1..2048 ARN characters.
    CallerArnParam,
    1,
    2048,
    params::ARN_PATTERN,
    params::is_arn_char
);

impl Input for Simulated {
    fn read(r: &mut Reader<'_>) -> ApiResult<Self> {
        Ok(Self {
            policy_input_list: r.list("PolicyInputList", MAX_PARAMS)?,
            permissions_boundary_policy_input_list: r
                .list("PermissionsBoundaryPolicyInputList", MAX_PARAMS)?,
            action_names: r.list("ActionNames", MAX_PARAMS)?,
            resource_arns: r.list("ResourceArns", MAX_PARAMS)?,
            resource_policy: r.optional("ResourcePolicy")?,
            resource_owner: r.optional("ResourceOwner")?,
            caller_arn: r.optional("CallerArn")?,
            resource_handling_option: r.optional("ResourceHandlingOption")?,
            context_entries: r.nested()?,
            paging: r.nested()?,
        })
    }

    fn check(&self) -> ApiResult<()> {
        if self.action_names.is_empty() {
            return Err(ApiError::missing_parameter("ActionNames"));
        }
        Ok(())
    }
}

/// `ActionNames`, `ResourceArns` (default `*`) and the page asked for.
struct Request {
    actions: Vec<String>,
    resources: Vec<String>,
    resources_given: bool,
    max: usize,
    start: usize,
}

impl Simulated {
    fn request(&self) -> ApiResult<Request> {
        let (actions, resources) = (&self.action_names, &self.resource_arns);
        let start = match &self.paging.marker {
            None => 0,
            Some(m) => m
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= actions.len().saturating_mul(resources.len().max(1)))
                .ok_or_else(|| {
                    ApiError::invalid_input("Marker is not valid for this simulation.")
                })?,
        };
        let resources_given = !resources.is_empty();
        Ok(Request {
            actions: actions.iter().map(|a| a.to_string()).collect(),
            resources: if resources_given {
                resources.iter().map(|r| r.to_string()).collect()
            } else {
                vec!["*".to_owned()]
            },
            resources_given,
            max: self.paging.max_items,
            start,
        })
    }
}

// --- handlers --------------------------------------------------------------------------------

input! {
    /// `SimulateCustomPolicy`
    pub(crate) struct SimulateCustomPolicyInput {
        simulated: Simulated = nested(),
    }
    check(this) {
        if this.simulated.policy_input_list.is_empty() {
            return Err(ApiError::missing_parameter("PolicyInputList"));
        }
        this.simulated.check()
    }
}

pub(crate) async fn simulate_custom_policy(
    cx: &Cx<'_>,
    input: SimulateCustomPolicyInput,
) -> ApiResult<SimulationOutput> {
    let p = input.simulated;
    let identity = document_list("PolicyInputList", &p.policy_input_list)?;
    let boundary = boundary_input(&p.permissions_boundary_policy_input_list)?;
    let req = p.request()?;
    cx.authorize("*")?;
    let view = cx.state.store.view();
    let (principal, principal_tags) = match &p.caller_arn {
        Some(arn) => caller_principal(&view, cx.account(), arn)?,
        None => (PrincipalView::anonymous(), Vec::new()),
    };
    let resource = resource_input(
        p.resource_policy.as_ref(),
        p.resource_owner.as_ref(),
        &principal.account,
    )?;
    if resource.is_some() && p.caller_arn.is_none() {
        return Err(ApiError::invalid_input(
            "CallerArn is required when a ResourcePolicy is given.",
        ));
    }
    let sim = Simulation {
        principal,
        principal_tags,
        context: p.context_entries.0,
        identity,
        boundary,
        session: None,
        resource,
    };
    Ok(respond(&sim, &req))
}

input! {
    /// `SimulatePrincipalPolicy`
    pub(crate) struct SimulatePrincipalPolicyInput {
        policy_source_arn: ArnParam = required("PolicySourceArn"),
        simulated: Simulated = nested(),
    }
    check(this) {
        this.simulated.check()
    }
}

pub(crate) async fn simulate_principal_policy(
    cx: &Cx<'_>,
    input: SimulatePrincipalPolicyInput,
) -> ApiResult<SimulationOutput> {
    let source = input.policy_source_arn.as_str();
    let p = input.simulated;
    let extra = document_list("PolicyInputList", &p.policy_input_list)?;
    let boundary_override = boundary_input(&p.permissions_boundary_policy_input_list)?;
    let req = p.request()?;
    cx.authorize(source)?;
    let view = cx.state.store.view();
    let entity = gather_entity(&view, cx.account(), source)?;

    let (principal, principal_tags) = match &p.caller_arn {
        Some(arn) => caller_principal(&view, cx.account(), arn)?,
        None => (entity.principal, entity.tags),
    };
    let resource = resource_input(
        p.resource_policy.as_ref(),
        p.resource_owner.as_ref(),
        &principal.account,
    )?;
    if resource.is_some() && p.caller_arn.is_none() && !entity.is_user {
        return Err(ApiError::invalid_input(
            "CallerArn is required when a ResourcePolicy is given and PolicySourceArn is not a user.",
        ));
    }
    let mut identity = entity.identity;
    identity.extend(extra);
    let sim = Simulation {
        principal,
        principal_tags,
        context: p.context_entries.0,
        identity,
        boundary: boundary_override.or(entity.boundary),
        session: None,
        resource,
    };
    Ok(respond(&sim, &req))
}

/// A stored user, group or role: its policies and the caller it stands for by default.
pub(crate) struct Entity {
    /// Its identity policies (a user's include its groups').
    pub(crate) identity: Vec<SourcePolicy>,
    boundary: Option<SourcePolicy>,
    principal: PrincipalView,
    tags: Vec<(String, String)>,
    is_user: bool,
}

fn managed_source(m: &ManagedPolicy) -> SourcePolicy {
    let ty = if m.account == "aws" {
        "aws-managed"
    } else {
        "user-managed"
    };
    SourcePolicy::new(m.name.clone(), ty, m.compiled.clone())
}

fn owner_sources(
    view: &Snapshot,
    owner: Owner<'_>,
    inline_type: &'static str,
    out: &mut Vec<SourcePolicy>,
) {
    for p in view.policies.inline_of(owner) {
        out.push(SourcePolicy::new(
            p.name.clone(),
            inline_type,
            p.compiled.clone(),
        ));
    }
    out.extend(view.policies.attached_to(owner).map(managed_source));
}

/// A boundary ARN whose policy is gone allows nothing (as in [`crate::authorization`]).
fn boundary_source(view: &Snapshot, arn: Option<&String>) -> ApiResult<Option<SourcePolicy>> {
    let Some(arn) = arn else {
        return Ok(None);
    };
    if let Some(m) = view.policies.managed.get(arn) {
        return Ok(Some(managed_source(m)));
    }
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"tessera:nothing","Resource":"arn:aws:tessera:::nothing"}]}"#;
    let p = Policy::parse(doc, PolicyKind::Identity)
        .map_err(|e| ApiError::internal().with_detail(e.message))?;
    Ok(Some(SourcePolicy::new(
        arn.rsplit('/').next().unwrap_or(arn),
        "user-managed",
        Arc::new(p),
    )))
}

pub(crate) fn gather_entity(view: &Snapshot, account: &str, arn: &str) -> ApiResult<Entity> {
    let not_found =
        || ApiError::no_such_entity(format!("Entity {} cannot be found.", params::sanitize(arn)));
    let Some((acct, kind, _, name)) = entity_arn(arn) else {
        return Err(ApiError::invalid_input(format!(
            "PolicySourceArn `{}` must be the ARN of a user, group or role.",
            params::sanitize(arn)
        )));
    };
    let (acct, name) = (acct.as_str(), name.as_str());
    let mut identity = Vec::new();
    match kind {
        "user" => {
            let u = view
                .user_by_name(account, name)
                .filter(|u| acct == account && u.arn() == arn)
                .ok_or_else(|| super::errors::no_such_user(name))?;
            owner_sources(view, Owner::User(&u.id), "user", &mut identity);
            for g in view.groups_of_user(&u.id) {
                owner_sources(view, Owner::Group(&g.id), "group", &mut identity);
            }
            Ok(Entity {
                identity,
                boundary: boundary_source(view, u.boundary.as_ref())?,
                principal: PrincipalView::user(arn, &u.id),
                tags: u.tags.clone(),
                is_user: true,
            })
        }
        "group" => {
            let g = view
                .group_by_name(account, name)
                .filter(|g| acct == account && g.arn() == arn)
                .ok_or_else(|| super::errors::no_such_group(name))?;
            owner_sources(view, Owner::Group(&g.id), "group", &mut identity);
            Ok(Entity {
                identity,
                boundary: None,
                principal: PrincipalView::anonymous(),
                tags: Vec::new(),
                is_user: false,
            })
        }
        "role" => {
            let r = view
                .policies
                .role_by_name(account, name)
                .filter(|r| acct == account && r.arn() == arn)
                .ok_or_else(|| super::errors::no_such_role(name))?;
            owner_sources(view, Owner::Role(&r.id), "role", &mut identity);
            // A session of the role: `aws:PrincipalArn` is the role; the session name (and so
            // `aws:userid`) is unknown and left to ContextEntries.
            let mut principal = PrincipalView::assumed_role(arn, &r.id, "");
            principal.role_unique_id = None;
            principal.session_name = None;
            Ok(Entity {
                identity,
                boundary: boundary_source(view, r.boundary.as_ref())?,
                principal,
                tags: r.tags.clone(),
                is_user: false,
            })
        }
        _ => Err(not_found()),
    }
}

// --- response --------------------------------------------------------------------------------

fn write_matched(x: &mut Xml, matched: &[Matched]) {
    x.list("MatchedStatements", matched, |x, m| {
        x.elem("SourcePolicyId", &m.source_id)
            .elem("SourcePolicyType", m.source_type);
        if let Some(s) = m.span {
            x.nest("StartPosition", |x| {
                x.num("Line", s.start.line).num("Column", s.start.column);
            });
            x.nest("EndPosition", |x| {
                x.num("Line", s.end.line).num("Column", s.end.column);
            });
        }
    });
}

fn write_missing(x: &mut Xml, keys: &[String]) {
    x.list("MissingContextValues", keys, |x, k| {
        x.elem_text(k);
    });
}

fn write_details(x: &mut Xml, o: &Outcome) {
    x.nest("EvalDecisionDetails", |x| {
        if o.cross_account {
            for (k, d) in &o.details {
                x.nest("entry", |x| {
                    x.elem("key", k).elem("value", decision_name(*d));
                });
            }
        }
    });
}

fn write_boundary(x: &mut Xml, o: &Outcome) {
    if let Some(allowed) = o.boundary_allowed {
        x.nest("PermissionsBoundaryDecisionDetail", |x| {
            x.boolean("AllowedByPermissionsBoundary", allowed);
        });
    }
}

fn write_result(x: &mut Xml, action: &str, resource: &str, o: &Outcome, resources_given: bool) {
    let decision = decision_name(o.evaluation.decision);
    x.elem("EvalActionName", action)
        .elem("EvalResourceName", resource)
        .elem("EvalDecision", decision);
    write_matched(x, &o.matched);
    // With ResourceArns, missing keys are reported per resource (AWS's rule).
    let none: &[String] = &[];
    write_missing(
        x,
        if resources_given {
            none
        } else {
            &o.evaluation.missing_keys
        },
    );
    if resources_given {
        write_details(x, o);
        x.list("ResourceSpecificResults", [o], |x, o| {
            x.elem("EvalResourceName", resource)
                .elem("EvalResourceDecision", decision);
            write_matched(x, &o.matched);
            write_missing(x, &o.evaluation.missing_keys);
            write_details(x, o);
            write_boundary(x, o);
        });
    }
    write_boundary(x, o);
}

/// Evaluates the requested page of (action, resource) pairs.
fn respond(sim: &Simulation, req: &Request) -> SimulationOutput {
    let pairs = req
        .actions
        .iter()
        .flat_map(|a| req.resources.iter().map(move |r| (a, r)));
    let total = req.actions.len().saturating_mul(req.resources.len());
    let end = req.start.saturating_add(req.max).min(total);
    let results = pairs
        .skip(req.start)
        .take(end.saturating_sub(req.start))
        .map(|(action, resource)| {
            let o = sim.run(action, resource);
            tracing::debug!(action = %action, resource = %resource, decision = %o.evaluation, "simulated");
            (action.clone(), resource.clone(), o)
        })
        .collect();
    SimulationOutput {
        results,
        resources_given: req.resources_given,
        marker: (end < total).then(|| end.to_string()),
    }
}

/// One page of `EvaluationResults`.
#[derive(Debug)]
pub(crate) struct SimulationOutput {
    results: Vec<(String, String, Outcome)>,
    resources_given: bool,
    marker: Option<String>,
}

impl Output for SimulationOutput {
    fn write(&self, x: &mut Xml) {
        x.list(
            "EvaluationResults",
            &self.results,
            |x, (action, resource, o)| {
                write_result(x, action, resource, o, self.resources_given);
            },
        );
        write_paging(x, self.marker.as_deref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_arns() {
        assert_eq!(
            entity_arn("arn:aws:iam::123456789012:user/a/b/bob"),
            Some(("123456789012".into(), "user", "/a/b/".into(), "bob".into()))
        );
        assert_eq!(
            entity_arn("arn:aws:iam::123456789012:role/r"),
            Some(("123456789012".into(), "role", "/".into(), "r".into()))
        );
        assert_eq!(entity_arn("arn:aws:iam::123456789012:user/"), None);
        assert_eq!(entity_arn("arn:aws:iam::1234:user/x"), None);
    }
}
