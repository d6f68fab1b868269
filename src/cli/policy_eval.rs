//! `tessera policy eval`: the policy simulator offline, on files. No server, no data dir.
//!
//! Reads identity policies, an optional permissions boundary, session policies and resource
//! (or trust) policy from files, evaluates one action on one resource for one principal with
//! the same core as `SimulateCustomPolicy` ([`crate::iam::simulate::Simulation`]), prints the
//! result as JSON on stdout and exits `0` when allowed, `1` when denied, `2` on bad input
//! (a file that cannot be read, a malformed policy, a bad context value or principal ARN).
//!
//! Output: `{"decision", "reason", "action", "resource", "principal", "matched": [{"policy",
//! "source_type", "policy_type", "statement", "sid", "effect", "start": {"line", "column"},
//! "end": {...}}], "missing_keys": [...]}`; statement positions as in the simulator (1-based,
//! just after the statement's `{` and `}`).
//!
//! The context file is a JSON object: key -> `"string"` | number | `true`/`false` | `[values]`
//! (a string list) | `{"type": "<ContextKeyType>", "value": "..."}` or `{"type": ...,
//! "values": [...]}` for any `SimulateCustomPolicy` type (`date`, `ip`, `binaryList`, ...).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::arn::{Arn, Resource, is_account_id};
use crate::policy::simulate::{
    ResourceInput, Simulation, SourcePolicy, context_value, decision_name,
};
use crate::policy::{ContextValue, Decision, Policy, PolicyKind, PrincipalView};

/// Policy documents larger than this are refused before parsing (IAM's largest is 131,072).
const MAX_FILE_BYTES: u64 = 1 << 20;

/// `tessera policy eval` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    /// An identity policy (repeatable).
    #[arg(
        long = "policy",
        value_name = "FILE",
        required_unless_present = "resource_policy"
    )]
    pub policies: Vec<PathBuf>,
    /// The principal's permissions boundary.
    #[arg(long, value_name = "FILE")]
    pub boundary: Option<PathBuf>,
    /// A session policy (repeatable); any makes the principal a session with policies.
    #[arg(long = "session-policy", value_name = "FILE")]
    pub session_policies: Vec<PathBuf>,
    /// The resource's policy (with --trust: the role's trust policy).
    #[arg(long, value_name = "FILE")]
    pub resource_policy: Option<PathBuf>,
    /// The account owning the resource: `123456789012` or `arn:aws:iam::123456789012:root`
    /// (default: the principal's account).
    #[arg(long, value_name = "ACCT", requires = "resource_policy")]
    pub resource_owner: Option<String>,
    /// The resource policy is a role trust policy (validated and evaluated as one).
    #[arg(long, requires = "resource_policy")]
    pub trust: bool,
    /// The action, e.g. `s3:GetObject`.
    #[arg(long)]
    pub action: String,
    /// The resource ARN.
    #[arg(long, default_value = "*")]
    pub resource: String,
    /// The caller: a user, root, role, `assumed-role` session or `federated-user` ARN
    /// (default: a caller without principal keys; required with --resource-policy).
    #[arg(long, value_name = "ARN")]
    pub principal_arn: Option<String>,
    /// Context keys: a JSON object, key -> value | [values] | {"type": T, "value(s)": ...}.
    #[arg(long, value_name = "FILE")]
    pub context: Option<PathBuf>,
}

/// Runs the command: prints the result (or the input error) and returns the exit code.
pub(super) fn run(args: &EvalArgs) -> i32 {
    match eval(args) {
        Ok((out, allowed)) => {
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            if allowed { 0 } else { 1 }
        }
        Err(e) => {
            eprintln!("tessera policy eval: {e}");
            2
        }
    }
}

/// Evaluates `args`: the JSON result and whether the request is allowed, or an input error.
pub(super) fn eval(args: &EvalArgs) -> Result<(Value, bool), String> {
    let read = |path: &Path| -> Result<String, String> {
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if meta.len() > MAX_FILE_BYTES {
            return Err(format!(
                "{}: larger than {MAX_FILE_BYTES} bytes",
                path.display()
            ));
        }
        std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let load = |path: &PathBuf, kind: PolicyKind| -> Result<Arc<Policy>, String> {
        let text = read(path)?;
        Policy::parse(&text, kind)
            .map(Arc::new)
            .map_err(|e| format!("{}: MalformedPolicyDocument: {e}", path.display()))
    };
    let source = |path: &PathBuf, kind: PolicyKind| -> Result<SourcePolicy, String> {
        Ok(SourcePolicy::new(
            path.display().to_string(),
            "none",
            load(path, kind)?,
        ))
    };

    let identity = args
        .policies
        .iter()
        .map(|p| source(p, PolicyKind::Identity))
        .collect::<Result<Vec<_>, _>>()?;
    let boundary = args
        .boundary
        .as_ref()
        .map(|p| source(p, PolicyKind::Identity))
        .transpose()?;
    let session = if args.session_policies.is_empty() {
        None
    } else {
        Some(
            args.session_policies
                .iter()
                .map(|p| source(p, PolicyKind::Identity))
                .collect::<Result<Vec<_>, _>>()?,
        )
    };
    let principal = match &args.principal_arn {
        Some(arn) => principal_from_arn(arn)?,
        None => PrincipalView::anonymous(),
    };
    let resource = match &args.resource_policy {
        None => None,
        Some(path) => {
            if args.principal_arn.is_none() {
                return Err(
                    "--resource-policy needs --principal-arn (whom does it name?)".to_owned(),
                );
            }
            let owner = match &args.resource_owner {
                Some(o) => owner_account(o)?,
                None => principal.account.clone(),
            };
            let text = read(path)?;
            let malformed = |e: crate::policy::PolicyError| {
                format!("{}: MalformedPolicyDocument: {e}", path.display())
            };
            let (as_resource, as_trust) = if args.trust {
                (
                    None,
                    Some(Arc::new(
                        Policy::parse(&text, PolicyKind::Trust).map_err(malformed)?,
                    )),
                )
            } else {
                let r = Arc::new(Policy::parse(&text, PolicyKind::Resource).map_err(malformed)?);
                (
                    Some(r),
                    Policy::parse(&text, PolicyKind::Trust).ok().map(Arc::new),
                )
            };
            let shown = as_resource.clone().or_else(|| as_trust.clone());
            let Some(shown) = shown else {
                return Err(format!("{}: no policy", path.display()));
            };
            let source_type = if args.trust { "trust" } else { "resource" };
            Some(ResourceInput {
                source: SourcePolicy::new(path.display().to_string(), source_type, shown),
                as_resource,
                as_trust,
                force_trust: args.trust,
                owner,
            })
        }
    };
    let context = match &args.context {
        Some(path) => {
            context_from_json(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Vec::new(),
    };

    let sim = Simulation {
        principal,
        principal_tags: Vec::new(),
        context,
        identity,
        boundary,
        session,
        resource,
    };
    let o = sim.run(&args.action, &args.resource);
    let pos = |p: crate::policy::simulate::Position| json!({"line": p.line, "column": p.column});
    let matched: Vec<Value> = o
        .matched
        .iter()
        .map(|m| {
            json!({
                "policy": m.source_id,
                "source_type": m.source_type,
                "policy_type": m.policy_type.to_string(),
                "statement": m.index,
                "sid": m.sid,
                "effect": m.effect.to_string(),
                "start": m.span.map(|s| pos(s.start)),
                "end": m.span.map(|s| pos(s.end)),
            })
        })
        .collect();
    let out = json!({
        "decision": decision_name(o.evaluation.decision),
        "reason": o.evaluation.reason.to_string(),
        "action": args.action,
        "resource": args.resource,
        "principal": (!sim.principal.arn.is_empty()).then(|| sim.principal.arn.clone()),
        "matched": matched,
        "missing_keys": o.evaluation.missing_keys,
    });
    Ok((out, o.evaluation.decision == Decision::Allowed))
}

fn owner_account(o: &str) -> Result<String, String> {
    crate::arn::owner_account(o).ok_or_else(|| {
        format!("--resource-owner `{o}` is not an account id or arn:aws:iam::<account>:root")
    })
}

/// The caller an ARN names. Unique ids are unknown offline: `aws:userid` is left to --context.
fn principal_from_arn(arn: &str) -> Result<PrincipalView, String> {
    let bad = || {
        format!(
            "--principal-arn `{arn}` is not a user, root, role, assumed-role or federated-user ARN"
        )
    };
    let parsed = Arn::parse(arn).map_err(|_| bad())?;
    let (partition, acct) = (parsed.partition, parsed.account.as_str());
    if !is_account_id(acct) {
        return Err(bad());
    }
    let is_role = matches!(parsed.resource, Resource::Role { .. });
    let mut p = match &parsed.resource {
        Resource::Root => return Ok(PrincipalView::root(acct)),
        Resource::User { .. } => PrincipalView::user(arn, ""),
        Resource::Role { .. } => PrincipalView::assumed_role(arn, "", ""),
        Resource::AssumedRole { role, session } => {
            PrincipalView::assumed_role(&partition.role_arn(acct, "/", role), "", session)
        }
        Resource::FederatedUser { name } => {
            return Ok(PrincipalView::federated_user(acct, name));
        }
        _ => return Err(bad()),
    };
    p.unique_id = None;
    p.role_unique_id = None;
    if is_role {
        p.session_name = None;
    }
    Ok(p)
}

/// The `--context` file: key -> value | [values] | {"type", "value" | "values"}.
fn context_from_json(text: &str) -> Result<Vec<(String, ContextValue)>, String> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        return Err("the context file must be a JSON object (key -> value)".to_owned());
    };
    let scalar = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    };
    let mut out = Vec::with_capacity(map.len());
    for (key, v) in &map {
        let bad = || {
            format!(
                "context key `{key}`: a value must be a string, number, boolean, list of them or {{\"type\", \"value(s)\"}}"
            )
        };
        let (ty, texts): (&str, Vec<String>) = match v {
            Value::String(s) => ("string", vec![s.clone()]),
            Value::Number(n) => ("numeric", vec![n.to_string()]),
            Value::Bool(b) => ("boolean", vec![b.to_string()]),
            Value::Array(a) => (
                "stringList",
                a.iter()
                    .map(scalar)
                    .collect::<Option<_>>()
                    .ok_or_else(bad)?,
            ),
            Value::Object(o) => {
                let ty = o.get("type").and_then(Value::as_str).ok_or_else(bad)?;
                let texts = match (o.get("value"), o.get("values")) {
                    (Some(one), None) => vec![scalar(one).ok_or_else(bad)?],
                    (None, Some(Value::Array(a))) => a
                        .iter()
                        .map(scalar)
                        .collect::<Option<_>>()
                        .ok_or_else(bad)?,
                    _ => return Err(bad()),
                };
                (ty, texts)
            }
            Value::Null => return Err(bad()),
        };
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let value = context_value(ty, &refs).map_err(|e| format!("context key `{key}`: {e}"))?;
        out.push((key.clone(), value));
    }
    Ok(out)
}
