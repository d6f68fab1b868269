//! The IAM policy simulator: `SimulateCustomPolicy` and `SimulatePrincipalPolicy`, answered by
//! the same evaluator that authorizes real requests ([`crate::policy`]).
//!
//! Implements <https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html>
//! and <https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html>
//! (response shape: `EvaluationResult`, `ResourceSpecificResult`, `Statement`, `Position`).
//! The pure core is [`Simulation`]: policies, a principal and context keys in, one
//! [`Outcome`] per (action, resource) out. The handlers only parse parameters, gather stored
//! policies and write XML; `tessera policy eval` ([`crate::policy_eval`]) drives the same core
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

use crate::arn::{Arn, Resource};
use crate::error::{ApiError, ApiResult};
use crate::policy::{
    ContextValue, Decision, Effect, Evaluation, Policy, PolicyKind, PolicyRef, PolicySet,
    PolicyType, PrincipalView, RequestContext, ResourcePolicyRef, evaluate,
};
use crate::protocol::input::{ArnParam, Input, Reader, input, string_field};
use crate::protocol::output::Output;
use crate::protocol::params::{self, MAX_PARAMS};
use crate::protocol::xml::Xml;
use crate::request::Cx;
use crate::store::Snapshot;
use crate::store::policies::{ManagedPolicy, Owner};

use super::input::{Paging, policy_error};
use super::write_paging;

// --- statement positions ---------------------------------------------------------------------

/// A place in a policy document: 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// Where one statement sits: just after its `{`, just after its `}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// `StartPosition`.
    pub start: Position,
    /// `EndPosition`.
    pub end: Position,
}

#[derive(Debug, PartialEq)]
enum Tok {
    Open(char),
    Close,
    Colon,
    Comma,
    /// A string, decoded.
    Str(String),
    /// A number, `true`, `false` or `null`.
    Scalar,
}

/// Structural tokens of a JSON text, each with the position just after it.
fn tokens(src: &str) -> Vec<(Tok, Position)> {
    let mut out = Vec::new();
    let mut pos = Position { line: 1, column: 1 };
    let mut chars = src.char_indices().peekable();
    let advance = |pos: &mut Position, c: char, next: Option<char>| match c {
        '\n' => {
            *pos = Position {
                line: pos.line + 1,
                column: 1,
            }
        }
        // `\r\n` is one line break (the `\n` counts it); a lone `\r` is one too.
        '\r' if next == Some('\n') => {}
        '\r' => {
            *pos = Position {
                line: pos.line + 1,
                column: 1,
            }
        }
        _ => pos.column += 1,
    };
    while let Some((at, c)) = chars.next() {
        let next = chars.peek().map(|(_, n)| *n);
        advance(&mut pos, c, next);
        let tok = match c {
            '{' | '[' => Tok::Open(c),
            '}' | ']' => Tok::Close,
            ':' => Tok::Colon,
            ',' => Tok::Comma,
            '"' => {
                let mut end = at + 1;
                let mut escaped = false;
                while let Some((i, c)) = chars.next() {
                    let next = chars.peek().map(|(_, n)| *n);
                    advance(&mut pos, c, next);
                    end = i + c.len_utf8();
                    match (escaped, c) {
                        (true, _) => escaped = false,
                        (false, '\\') => escaped = true,
                        (false, '"') => break,
                        _ => {}
                    }
                }
                let raw = src.get(at..end).unwrap_or("\"\"");
                Tok::Str(serde_json::from_str(raw).unwrap_or_default())
            }
            c if c.is_whitespace() => continue,
            _ => {
                // Numbers and literals: consume up to the next delimiter.
                while let Some((_, n)) = chars.peek() {
                    if matches!(n, ',' | '}' | ']' | ':') || n.is_whitespace() {
                        break;
                    }
                    let n = *n;
                    chars.next();
                    let next = chars.peek().map(|(_, x)| *x);
                    advance(&mut pos, n, next);
                }
                Tok::Scalar
            }
        };
        out.push((tok, pos));
    }
    out
}

/// Index just past the value starting at token `i`.
fn skip_value(toks: &[(Tok, Position)], i: usize) -> usize {
    if !matches!(toks.get(i), Some((Tok::Open(_), _))) {
        return i + 1;
    }
    let mut depth = 0usize;
    let mut j = i;
    while let Some((t, _)) = toks.get(j) {
        match t {
            Tok::Open(_) => depth += 1,
            Tok::Close => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
    j
}

/// The span of the object value starting at token `i` (which must be `{`).
fn object_span(toks: &[(Tok, Position)], i: usize) -> Option<(Span, usize)> {
    let (Tok::Open('{'), start) = toks.get(i)? else {
        return None;
    };
    let next = skip_value(toks, i);
    let (_, end) = toks.get(next.checked_sub(1)?)?;
    Some((
        Span {
            start: *start,
            end: *end,
        },
        next,
    ))
}

/// The position of every statement of a policy document, in `Statement` order (one span for
/// a lone statement object). `src` must be a document [`Policy::parse`] accepted; for other
/// text the result is empty or partial, never a panic. A repeated top-level `Statement` key
/// counts only the last time, as the parser keeps the last.
pub fn statement_spans(src: &str) -> Vec<Span> {
    let toks = tokens(src);
    let mut out = Vec::new();
    if !matches!(toks.first(), Some((Tok::Open('{'), _))) {
        return out;
    }
    let mut i = 1;
    loop {
        let key = match toks.get(i) {
            Some((Tok::Comma, _)) => {
                i += 1;
                continue;
            }
            Some((Tok::Str(k), _)) => k,
            _ => return out,
        };
        if !matches!(toks.get(i + 1), Some((Tok::Colon, _))) {
            return out;
        }
        let value = i + 2;
        if key != "Statement" {
            i = skip_value(&toks, value);
            continue;
        }
        out.clear();
        match toks.get(value) {
            Some((Tok::Open('{'), _)) => match object_span(&toks, value) {
                Some((span, next)) => {
                    out.push(span);
                    i = next;
                }
                None => return out,
            },
            Some((Tok::Open('['), _)) => {
                let mut j = value + 1;
                loop {
                    match toks.get(j) {
                        Some((Tok::Comma, _)) => j += 1,
                        Some((Tok::Close, _)) => break,
                        Some((Tok::Open('{'), _)) => match object_span(&toks, j) {
                            Some((span, next)) => {
                                out.push(span);
                                j = next;
                            }
                            None => return out,
                        },
                        Some(_) => j = skip_value(&toks, j),
                        None => return out,
                    }
                }
                i = j + 1;
            }
            _ => i = skip_value(&toks, value),
        }
    }
}

// --- the pure core ---------------------------------------------------------------------------

/// One document taking part in a simulation, with how the response names it.
#[derive(Debug, Clone)]
pub struct SourcePolicy {
    /// `SourcePolicyId`: `PolicyInputList.1`, a stored policy's name, a file name, ...
    pub id: String,
    /// `SourcePolicyType`: `none`, `resource`, `user`, `group`, `role`, `user-managed`,
    /// `aws-managed`.
    pub source_type: &'static str,
    /// The compiled document.
    pub policy: Arc<Policy>,
    spans: Vec<Span>,
}

impl SourcePolicy {
    /// A document and how it is reported; statement positions are computed here, once.
    pub fn new(id: impl Into<String>, source_type: &'static str, policy: Arc<Policy>) -> Self {
        let spans = statement_spans(policy.source());
        Self {
            id: id.into(),
            source_type,
            policy,
            spans,
        }
    }
}

/// The resource's policy: how to evaluate it is decided per (action, resource).
#[derive(Debug, Clone)]
pub struct ResourceInput {
    /// Reported as the source of matched statements.
    pub source: SourcePolicy,
    /// The document compiled as a generic resource policy (`None`: it is only a trust policy).
    pub as_resource: Option<Arc<Policy>>,
    /// The document compiled as a role trust policy, when it is a valid one.
    pub as_trust: Option<Arc<Policy>>,
    /// Always evaluate as a trust policy (`tessera policy eval --trust`).
    pub force_trust: bool,
    /// The account owning the resource and its policy.
    pub owner: String,
}

/// Actions a role trust policy governs.
const TRUST_ACTIONS: [&str; 5] = [
    "sts:assumerole",
    "sts:assumerolewithsaml",
    "sts:assumerolewithwebidentity",
    "sts:tagsession",
    "sts:setsourceidentity",
];

/// `arn:<partition>:iam::<account>:role/<path/name>`.
fn is_role_arn(arn: &str) -> bool {
    entity_arn(arn).is_some_and(|(_, kind, _, _)| kind == "role")
}

impl ResourceInput {
    /// The compiled document to use for `action` on `resource` (see the module header).
    fn pick(&self, action: &str, resource: &str) -> Option<&Arc<Policy>> {
        let trust_target =
            TRUST_ACTIONS.contains(&action.to_lowercase().as_str()) && is_role_arn(resource);
        if self.force_trust || (trust_target && self.as_trust.is_some()) {
            self.as_trust.as_ref()
        } else {
            self.as_resource.as_ref()
        }
    }
}

/// Everything one simulation call evaluates.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The simulated caller.
    pub principal: PrincipalView,
    /// Its `aws:PrincipalTag/*`.
    pub principal_tags: Vec<(String, String)>,
    /// Context keys from the request (applied last: they override principal keys).
    pub context: Vec<(String, ContextValue)>,
    /// Identity policies.
    pub identity: Vec<SourcePolicy>,
    /// The permissions boundary.
    pub boundary: Option<SourcePolicy>,
    /// Session policies (`None`: not a session with policies). Only `tessera policy eval`.
    pub session: Option<Vec<SourcePolicy>>,
    /// The resource policy.
    pub resource: Option<ResourceInput>,
}

/// A statement that applied, located in its document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// `SourcePolicyId`.
    pub source_id: String,
    /// `SourcePolicyType`.
    pub source_type: &'static str,
    /// The role the policy played.
    pub policy_type: PolicyType,
    /// 0-based statement index.
    pub index: usize,
    /// The statement's Sid.
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: Effect,
    /// Where it is (absent only if the document text could not be scanned).
    pub span: Option<Span>,
}

/// The simulation of one (action, resource).
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The evaluator's answer (decision, reason, missing keys).
    pub evaluation: Evaluation,
    /// Applicable statements with their positions.
    pub matched: Vec<Matched>,
    /// `AllowedByPermissionsBoundary`, when a boundary took part.
    pub boundary_allowed: Option<bool>,
    /// Decision per policy type (`IAM Policy`, `Resource Policy`, `Permissions Boundary
    /// Policy`, `Session Policy`) for the types present.
    pub details: Vec<(&'static str, Decision)>,
    /// The caller and the resource owner differ.
    pub cross_account: bool,
}

impl Simulation {
    /// Simulates `action` on `resource`.
    pub fn run(&self, action: &str, resource: &str) -> Outcome {
        let mut b = RequestContext::builder(self.principal.clone(), action, resource)
            .principal_tags(
                self.principal_tags
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
        for (k, v) in &self.context {
            b = b.set(k, v.clone());
        }
        let ctx = b.build();

        // Each document is passed to the evaluator under a key that finds it again.
        let keys: Vec<String> = (0..self.identity.len()).map(|i| format!("i{i}")).collect();
        let session_keys: Vec<String> = self
            .session
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, _)| format!("s{i}"))
            .collect();
        let identity: Vec<PolicyRef<'_>> = self
            .identity
            .iter()
            .zip(&keys)
            .map(|(s, k)| PolicyRef {
                id: k,
                policy: &s.policy,
            })
            .collect();
        let session: Option<Vec<PolicyRef<'_>>> = self.session.as_ref().map(|ss| {
            ss.iter()
                .zip(&session_keys)
                .map(|(s, k)| PolicyRef {
                    id: k,
                    policy: &s.policy,
                })
                .collect()
        });
        let resource = self.resource.as_ref().and_then(|r| {
            r.pick(action, resource).map(|p| ResourcePolicyRef {
                id: "r",
                policy: p,
                owner_account: &r.owner,
            })
        });
        let set = PolicySet {
            identity: &identity,
            resource,
            boundary: self.boundary.as_ref().map(|b| PolicyRef {
                id: "b",
                policy: &b.policy,
            }),
            session: session.as_deref(),
        };
        let evaluation = evaluate(&ctx, &set);

        let find = |key: &str| -> Option<&SourcePolicy> {
            match key {
                "r" => self.resource.as_ref().map(|r| &r.source),
                "b" => self.boundary.as_ref(),
                k => {
                    let (list, n) = match k.split_at_checked(1) {
                        Some(("i", n)) => (Some(&self.identity), n),
                        Some(("s", n)) => (self.session.as_ref(), n),
                        _ => (None, ""),
                    };
                    list.and_then(|l| l.get(n.parse::<usize>().ok()?))
                }
            }
        };
        let matched = evaluation
            .matched
            .iter()
            .filter_map(|m| {
                let src = find(&m.policy_id)?;
                Some(Matched {
                    source_id: src.id.clone(),
                    source_type: src.source_type,
                    policy_type: m.policy_type,
                    index: m.index,
                    sid: m.sid.clone(),
                    effect: m.effect,
                    span: src.spans.get(m.index).copied(),
                })
            })
            .collect::<Vec<_>>();

        let type_decision = |types: &[PolicyType]| {
            let effects = evaluation
                .matched
                .iter()
                .filter(|m| types.contains(&m.policy_type));
            let mut allow = false;
            for m in effects {
                match m.effect {
                    Effect::Deny => return Decision::ExplicitDeny,
                    Effect::Allow => allow = true,
                }
            }
            if allow {
                Decision::Allowed
            } else {
                Decision::ImplicitDeny
            }
        };
        let mut details = vec![("IAM Policy", type_decision(&[PolicyType::Identity]))];
        if self.resource.is_some() {
            details.push((
                "Resource Policy",
                type_decision(&[PolicyType::Resource, PolicyType::Trust]),
            ));
        }
        let boundary_decision = self
            .boundary
            .as_ref()
            .map(|_| type_decision(&[PolicyType::PermissionsBoundary]));
        if let Some(d) = boundary_decision {
            details.push(("Permissions Boundary Policy", d));
        }
        if self.session.is_some() {
            details.push(("Session Policy", type_decision(&[PolicyType::Session])));
        }
        let owner = self.resource.as_ref().map(|r| r.owner.as_str());
        let account = &self.principal.account;
        Outcome {
            cross_account: owner.is_some_and(|o| !account.is_empty() && o != account),
            boundary_allowed: boundary_decision.map(|d| d == Decision::Allowed),
            details,
            matched,
            evaluation,
        }
    }
}

/// The wire name of a decision.
pub fn decision_name(d: Decision) -> &'static str {
    match d {
        Decision::Allowed => "allowed",
        Decision::ExplicitDeny => "explicitDeny",
        Decision::ImplicitDeny => "implicitDeny",
    }
}

// --- context entries -------------------------------------------------------------------------

/// Builds a context value of `ContextKeyType` `ty` from its texts; `Err` says why not.
///
/// Scalar types take exactly one value; `*List` types any number (an empty list is a present,
/// empty key). Values are kept as given; each must parse as its type (numeric: a decimal
/// number; boolean: `true`/`false`; ip: one address; binary: base64; date: ISO 8601 or epoch
/// seconds).
pub fn context_value(ty: &str, values: &[&str]) -> Result<ContextValue, String> {
    let (base, list) = match ty.strip_suffix("List") {
        Some(b) => (b, true),
        None => (ty, false),
    };
    if !matches!(
        base,
        "string" | "numeric" | "boolean" | "ip" | "binary" | "date"
    ) {
        return Err(format!(
            "`{ty}` is not a context key type (string, stringList, numeric, numericList, boolean, booleanList, ip, ipList, binary, binaryList, date, dateList)"
        ));
    }
    let v = if list {
        ContextValue::strings(values)
    } else {
        match values {
            [one] => ContextValue::string(one),
            _ => {
                return Err(format!(
                    "type `{ty}` takes exactly one value, got {}",
                    values.len()
                ));
            }
        }
    };
    let bad = v.items().iter().find(|s| match base {
        "numeric" => s.number().is_none(),
        "boolean" => s.boolean().is_none(),
        "ip" => s.ip().is_none(),
        "binary" => s.bytes().is_none(),
        "date" => s.date().is_none(),
        _ => false,
    });
    match bad {
        Some(s) => Err(format!("`{}` is not a valid {base} value", s.text)),
        None => Ok(v),
    }
}

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

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `ResourceOwner`: `arn:aws:iam::<account>:root` (a bare account id is accepted too).
fn account_of_owner(o: &str) -> ApiResult<String> {
    let acct = match Arn::parse(o) {
        Ok(a) if a.resource == Resource::Root && a.service == "iam" => a.account,
        _ => o.to_owned(),
    };
    if is_account_id(&acct) {
        Ok(acct)
    } else {
        Err(ApiError::invalid_input(format!(
            "ResourceOwner `{}` must be an account ARN such as arn:aws:iam::123456789012:root.",
            params::sanitize(o)
        )))
    }
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
struct Entity {
    identity: Vec<SourcePolicy>,
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

fn gather_entity(view: &Snapshot, account: &str, arn: &str) -> ApiResult<Entity> {
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

    fn pos(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    #[test]
    fn spans_match_the_aws_cli_example() {
        // awscli/examples/iam/simulate-custom-policy.rst: AWS answers (1, 38) .. (1, 167).
        let doc = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}"#;
        assert_eq!(
            statement_spans(doc),
            vec![Span {
                start: pos(1, 38),
                end: pos(1, 167)
            }]
        );
    }

    #[test]
    fn spans_of_a_pretty_array() {
        let doc = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Action\": \"s3:*\", \"Resource\": \"*\"},\n    {\n      \"Sid\": \"D\",\n      \"Effect\": \"Deny\",\n      \"Action\": [\"s3:Delete*\", \"x:{}\"],\n      \"Resource\": \"*\"\n    }\n  ]\n}";
        assert!(Policy::parse(doc, PolicyKind::Identity).is_ok());
        assert_eq!(
            statement_spans(doc),
            vec![
                Span {
                    start: pos(4, 6),
                    end: pos(4, 59)
                },
                Span {
                    start: pos(5, 6),
                    end: pos(10, 6)
                },
            ]
        );
    }

    #[test]
    fn spans_handle_escapes_crlf_and_non_ascii() {
        let doc = "{\"Id\":\"a\\\"}{[\",\r\n\"Statement\":[{\"Sid\":\"X\",\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::\u{e9}t\u{e9}\"}]}";
        assert!(Policy::parse(doc, PolicyKind::Identity).is_ok());
        let spans = statement_spans(doc);
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].start, pos(2, 15));
        // The closing brace is character 82 of line 2 (two 2-byte characters count once each).
        let line2 = doc.split("\r\n").nth(1).unwrap();
        let close = line2.chars().position(|c| c == '}').unwrap() + 1;
        assert_eq!(spans[0].end, pos(2, close + 1));
    }

    #[test]
    fn spans_never_panic_on_garbage() {
        for doc in [
            "",
            "{",
            "[",
            "{\"Statement\"",
            "{\"Statement\":[{",
            "{\"Statement\":[1,{}",
            "\"x",
            "{\"a\":}",
        ] {
            let _ = statement_spans(doc);
        }
    }

    #[test]
    fn context_types() {
        assert!(context_value("numeric", &["12.5"]).is_ok());
        assert!(context_value("numeric", &["abc"]).is_err());
        assert!(context_value("numericList", &["1", "x"]).is_err());
        assert!(context_value("boolean", &["TRUE"]).is_ok());
        assert!(context_value("boolean", &["yes"]).is_err());
        assert!(context_value("ip", &["10.0.0.1"]).is_ok());
        assert!(context_value("ipList", &["10.0.0.1", "::1"]).is_ok());
        assert!(context_value("ip", &["10.0.0.0/8"]).is_err());
        assert!(context_value("binary", &["aGVsbG8="]).is_ok());
        assert!(context_value("binary", &["%%%"]).is_err());
        assert!(context_value("date", &["2020-01-01T00:00:00Z"]).is_ok());
        assert!(context_value("dateList", &["1700000000", "2020-01-01"]).is_ok());
        assert!(context_value("date", &["yesterday"]).is_err());
        assert!(context_value("string", &["a", "b"]).is_err());
        assert!(context_value("stringList", &[]).is_ok_and(|v| v.is_multi_valued()));
        assert!(context_value("text", &["a"]).is_err());
    }

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
        assert!(is_role_arn("arn:aws:iam::123456789012:role/x"));
        assert!(!is_role_arn("arn:aws:iam::123456789012:user/x"));
    }
}
