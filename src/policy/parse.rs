//! Policy JSON → validated, compiled [`Policy`]; size accounting; [`PolicyError`].
//!
//! Implements the grammar of <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html>,
//! the element rules of <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html>
//! and the limits of <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>.
//! Error messages are AWS's own where known (`MalformedPolicyDocument` texts); the client sees
//! them verbatim, so they never contain anything but the caller's own document text.

use std::collections::HashSet;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value};

use super::condition::{
    Cidr, Cmp, Condition, Operator, SetQualifier, Values, parse_bool, parse_date, parse_number,
};
use super::model::{
    Clause, Effect, Policy, PolicyKind, PolicyVersion, PrincipalClause, PrincipalEntry, Statement,
};
use super::pattern::{ArnPattern, Pattern};
use super::variables::{NoVars, tokenize};

/// Which AWS error a [`PolicyError`] becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyErrorKind {
    /// `MalformedPolicyDocument` (HTTP 400).
    Malformed,
    /// `LimitExceeded` (HTTP 409) for IAM; STS reports oversized session policies as
    /// `PackedPolicyTooLarge` or `ValidationError`, the caller's choice.
    LimitExceeded,
}

/// A document rejected at store time. `message` is the text the client sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// Which AWS error code this maps to ([`PolicyError::code`]).
    pub kind: PolicyErrorKind,
    /// The client-facing message (AWS's wording where known).
    pub message: String,
}

impl PolicyError {
    /// A `MalformedPolicyDocument` error with `message`.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self {
            kind: PolicyErrorKind::Malformed,
            message: message.into(),
        }
    }

    /// A `LimitExceeded` error with `message`.
    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self {
            kind: PolicyErrorKind::LimitExceeded,
            message: message.into(),
        }
    }

    /// AWS's answer when a user/role ARN in a principal does not exist at save time:
    /// `Invalid principal in policy: "AWS":"<arn>"`.
    pub fn invalid_principal(arn: &str) -> Self {
        Self::malformed(format!("Invalid principal in policy: \"AWS\":\"{arn}\""))
    }

    /// The AWS error code (`MalformedPolicyDocument` or `LimitExceeded`).
    pub fn code(&self) -> &'static str {
        match self.kind {
            PolicyErrorKind::Malformed => "MalformedPolicyDocument",
            PolicyErrorKind::LimitExceeded => "LimitExceeded",
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PolicyError {}

/// Policy size as IAM counts it: characters, whitespace (space, tab, CR, LF) not counted.
pub fn policy_size(json: &str) -> usize {
    json.chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '\n' | '\r'))
        .count()
}

/// `LimitExceeded` (`Cannot exceed quota for PolicySize: <limit>`) when
/// [`policy_size`]`(json) > limit`. Callers pick the limit (managed 6144, trust 2048, inline
/// aggregates 2048/5120/10240 for user/group/role) and may replace the message with the
/// entity-specific AWS text via [`PolicyError::limit_exceeded`].
pub fn check_size(json: &str, limit: usize) -> Result<(), PolicyError> {
    if policy_size(json) > limit {
        return Err(PolicyError::limit_exceeded(format!(
            "Cannot exceed quota for PolicySize: {limit}"
        )));
    }
    Ok(())
}

const SYNTAX: &str = "Syntax errors in policy.";
const NO_ACTIONS: &str = "Policy statement must contain actions.";
const NO_RESOURCES: &str = "Policy statement must contain resources.";
const VENDOR: &str = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";
const ONE_COLON: &str = "Actions/Condition can contain only one colon.";
const TRUST_ACTIONS: &str = "Trust Policy statement actions can only be sts:AssumeRole, sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity";
const TRUST_ACTION_NAMES: [&str; 5] = [
    "sts:assumerole",
    "sts:assumerolewithsaml",
    "sts:assumerolewithwebidentity",
    "sts:tagsession",
    "sts:setsourceidentity",
];

fn malformed<T>(message: impl Into<String>) -> Result<T, PolicyError> {
    Err(PolicyError::malformed(message))
}

impl Policy {
    /// Parses and validates a policy document of `kind`, compiling it for evaluation.
    ///
    /// Errors are `MalformedPolicyDocument` with AWS's message. Size limits are *not* checked
    /// here (they depend on where the document is stored): use [`check_size`].
    pub fn parse(json: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
        if let Some(c) = json
            .chars()
            .find(|c| !matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}'))
        {
            return malformed(format!(
                "Policy document contains the character U+{:04X}, outside the allowed range (U+0009, U+000A, U+000D, U+0020 through U+00FF).",
                u32::from(c)
            ));
        }
        let Ok(Value::Object(top)) = serde_json::from_str::<Value>(json) else {
            return malformed(SYNTAX);
        };
        let mut version = PolicyVersion::V2008_10_17;
        let mut id = None;
        let mut statements = None;
        for (field, value) in &top {
            match field.as_str() {
                "Version" => {
                    version = match value.as_str() {
                        Some("2012-10-17") => PolicyVersion::V2012_10_17,
                        Some("2008-10-17") => PolicyVersion::V2008_10_17,
                        Some(_) => {
                            return malformed(
                                "Policy document must be version 2012-10-17 or greater.",
                            );
                        }
                        None => return malformed(SYNTAX),
                    }
                }
                "Id" => {
                    id = Some(
                        value
                            .as_str()
                            .ok_or_else(|| PolicyError::malformed(SYNTAX))?
                            .to_owned(),
                    )
                }
                "Statement" => statements = Some(value),
                other => return malformed(format!("Unknown field {other}")),
            }
        }
        let raw: Vec<&Map<String, Value>> = match statements {
            Some(Value::Object(one)) => vec![one],
            Some(Value::Array(many)) => many
                .iter()
                .map(Value::as_object)
                .collect::<Option<_>>()
                .ok_or_else(|| PolicyError::malformed(SYNTAX))?,
            _ => return malformed(SYNTAX),
        };
        let mut sids = HashSet::new();
        let mut compiled = Vec::with_capacity(raw.len());
        for (index, stmt) in raw.into_iter().enumerate() {
            let s = compile_statement(stmt, index, kind, version)?;
            if let Some(sid) = &s.sid
                && !sids.insert(sid.clone())
            {
                return malformed("Statement IDs (SID) in a single policy must be unique.");
            }
            compiled.push(s);
        }
        Ok(Policy {
            source: json.to_owned(),
            kind,
            version,
            id,
            statements: compiled,
        })
    }

    /// The document exactly as given to [`Policy::parse`] (store and return this).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The kind the document was validated as.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// The effective language version (`2008-10-17` when `Version` was absent).
    pub fn version(&self) -> PolicyVersion {
        self.version
    }

    /// The `Id` element.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// Number of statements.
    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }

    /// The `Sid` of each statement, in order.
    pub fn sids(&self) -> impl Iterator<Item = Option<&str>> {
        self.statements.iter().map(|s| s.sid.as_deref())
    }

    fn principal_entries(&self) -> impl Iterator<Item = &PrincipalEntry> {
        self.statements
            .iter()
            .filter_map(|s| s.principal.as_ref())
            .flat_map(|p| p.entries.iter())
    }

    /// IAM user and role ARNs named in `Principal`/`NotPrincipal` (`{"AWS": ...}`), in
    /// document order, possibly repeated. The IAM layer checks they exist (else
    /// [`PolicyError::invalid_principal`]) and binds them with [`Policy::bind_principal_ids`].
    pub fn principal_arns(&self) -> impl Iterator<Item = &str> {
        self.principal_entries().filter_map(|e| match e {
            PrincipalEntry::User { arn, .. } | PrincipalEntry::Role { arn, .. } => Some(&**arn),
            _ => None,
        })
    }

    /// Binds user/role principal ARNs to the entity's unique id (`AIDA…`/`AROA…`), as IAM
    /// does at save time: a bound entry then matches only a caller whose unique id (for
    /// sessions, the role's unique id) is the bound one, so deleting and recreating the entity
    /// under the same name does not inherit the grant. `f` returns `None` to leave an entry
    /// unbound (matched by ARN only). Persist the pairs from [`Policy::bound_principal_ids`]
    /// with [`Policy::source`] and re-bind after re-parsing.
    pub fn bind_principal_ids(&mut self, mut f: impl FnMut(&str) -> Option<String>) {
        for s in &mut self.statements {
            for e in s.principal.iter_mut().flat_map(|p| p.entries.iter_mut()) {
                if let PrincipalEntry::User { arn, id } | PrincipalEntry::Role { arn, id } = e
                    && let Some(bound) = f(arn)
                {
                    *id = Some(bound.into_boxed_str());
                }
            }
        }
    }

    /// Whether an `Allow` statement names an action of `namespace` (`iam`), whatever its
    /// resources and conditions: what `ListPoliciesGrantingServiceAccess` reports. `known`: the
    /// namespace's action names (`GetUser`, ...), when known; else any action a pattern could
    /// match in the namespace counts.
    pub fn allows_action_in(&self, namespace: &str, known: Option<&[&str]>) -> bool {
        use super::pattern::AfterPrefix;
        let prefix = format!("{namespace}:");
        let names: Option<Vec<String>> =
            known.map(|k| k.iter().map(|a| format!("{prefix}{a}")).collect());
        self.statements
            .iter()
            .filter(|s| s.effect == Effect::Allow)
            .any(|s| {
                let items = &s.action.items;
                match (&names, s.action.negated) {
                    (Some(names), false) => names
                        .iter()
                        .any(|n| items.iter().any(|p| p.matches(n, true, &NoVars))),
                    (Some(names), true) => names
                        .iter()
                        .any(|n| !items.iter().any(|p| p.matches(n, true, &NoVars))),
                    (None, false) => items
                        .iter()
                        .any(|p| p.after_prefix(&prefix) != AfterPrefix::Nothing),
                    (None, true) => !items
                        .iter()
                        .any(|p| p.after_prefix(&prefix) == AfterPrefix::Everything),
                }
            })
    }

    /// `(arn, unique id)` for every bound principal entry.
    pub fn bound_principal_ids(&self) -> impl Iterator<Item = (&str, &str)> {
        self.principal_entries().filter_map(|e| match e {
            PrincipalEntry::User { arn, id: Some(id) }
            | PrincipalEntry::Role { arn, id: Some(id) } => Some((&**arn, &**id)),
            _ => None,
        })
    }
}

fn compile_statement(
    stmt: &Map<String, Value>,
    index: usize,
    kind: PolicyKind,
    version: PolicyVersion,
) -> Result<Statement, PolicyError> {
    for field in stmt.keys() {
        if !matches!(
            field.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        ) {
            return malformed(format!("Unknown field {field}"));
        }
    }
    let vars = version == PolicyVersion::V2012_10_17;

    // Sid
    let sid = match stmt.get("Sid") {
        None => None,
        Some(Value::String(s)) => {
            // IAM documents restrict Sids; generic resource policies (S3-style) do not.
            if kind != PolicyKind::Resource && !s.chars().all(|c| c.is_ascii_alphanumeric()) {
                return malformed(
                    "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
                );
            }
            (!s.is_empty()).then(|| s.clone())
        }
        Some(_) => return malformed(SYNTAX),
    };

    // Effect: case-sensitive.
    let effect = match stmt.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(Value::String(e)) => return malformed(format!("Invalid effect: {e}")),
        Some(_) => return malformed(SYNTAX),
        None => return malformed("Missing required field Effect"),
    };

    // Principal / NotPrincipal
    let principal = match either(stmt, "Principal", "NotPrincipal")? {
        Some((negated, value)) => {
            if kind == PolicyKind::Identity {
                return malformed("Policy document should not specify a principal.");
            }
            Some(PrincipalClause {
                negated,
                entries: compile_principal(value)?,
            })
        }
        None if kind == PolicyKind::Identity => None,
        None => return malformed("Missing required field Principal"),
    };

    // Action / NotAction
    let Some((negated, value)) = either(stmt, "Action", "NotAction")? else {
        return malformed(NO_ACTIONS);
    };
    let texts = strings(value)?;
    if texts.is_empty() {
        return malformed(NO_ACTIONS);
    }
    let items = texts
        .into_iter()
        .map(|a| compile_action(a, kind))
        .collect::<Result<_, _>>()?;
    let action = Clause { negated, items };

    // Resource / NotResource
    let resource = match either(stmt, "Resource", "NotResource")? {
        Some((negated, _)) if kind == PolicyKind::Trust => {
            return malformed(if negated {
                "Has prohibited field NotResource."
            } else {
                "Has prohibited field Resource."
            });
        }
        Some((negated, value)) => {
            let texts = strings(value)?;
            if texts.is_empty() {
                return malformed(NO_RESOURCES);
            }
            let items = texts
                .into_iter()
                .map(|r| compile_resource(r, vars))
                .collect::<Result<_, _>>()?;
            Some(Clause { negated, items })
        }
        None if kind == PolicyKind::Identity => return malformed(NO_RESOURCES),
        None => None,
    };

    // Condition
    let conditions = match stmt.get("Condition") {
        None => Vec::new(),
        Some(Value::Object(ops)) => compile_conditions(ops, vars)?,
        Some(_) => return malformed(SYNTAX),
    };

    Ok(Statement {
        sid,
        index,
        effect,
        principal,
        action,
        resource,
        conditions,
    })
}

/// `X` or `NotX` (never both): `(negated, value)`.
fn either<'v>(
    stmt: &'v Map<String, Value>,
    pos: &str,
    neg: &str,
) -> Result<Option<(bool, &'v Value)>, PolicyError> {
    match (stmt.get(pos), stmt.get(neg)) {
        (Some(_), Some(_)) => malformed(format!(
            "Policy statement cannot contain both {pos} and {neg}."
        )),
        (Some(v), None) => Ok(Some((false, v))),
        (None, Some(v)) => Ok(Some((true, v))),
        (None, None) => Ok(None),
    }
}

/// A string or an array of strings.
fn strings(v: &Value) -> Result<Vec<&str>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(a) => a
            .iter()
            .map(Value::as_str)
            .collect::<Option<_>>()
            .ok_or_else(|| PolicyError::malformed(SYNTAX)),
        _ => malformed(SYNTAX),
    }
}

fn compile_action(a: &str, kind: PolicyKind) -> Result<Pattern, PolicyError> {
    let lower = a.to_lowercase();
    if a != "*" || kind == PolicyKind::Trust {
        let Some((vendor, name)) = lower.split_once(':') else {
            return malformed(if kind == PolicyKind::Trust && a == "*" {
                TRUST_ACTIONS
            } else {
                VENDOR
            });
        };
        if name.contains(':') {
            return malformed(ONE_COLON);
        }
        if vendor.is_empty()
            || !vendor
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '*' | '?'))
        {
            return malformed(format!(
                "Vendor {} is not valid",
                a.split(':').next().unwrap_or("")
            ));
        }
        if name.is_empty() {
            return malformed(format!("Action {a} is not valid."));
        }
    }
    let pattern = Pattern::new(tokenize(&lower, true, false)?);
    if kind == PolicyKind::Trust {
        // Exactly one of the trust actions, or an `sts:` wildcard covering at least one.
        let ok = TRUST_ACTION_NAMES.contains(&lower.as_str())
            || (lower.starts_with("sts:")
                && TRUST_ACTION_NAMES
                    .iter()
                    .any(|n| pattern.matches(n, true, &NoVars)));
        if !ok {
            return malformed(TRUST_ACTIONS);
        }
    }
    Ok(pattern)
}

fn compile_resource(r: &str, vars: bool) -> Result<Pattern, PolicyError> {
    if r != "*" {
        let segs: Vec<&str> = r.splitn(6, ':').collect();
        let [arn, _partition, service, region, _account, _rest] = segs.as_slice() else {
            return malformed(format!("Resource {r} must be in ARN format or \"*\"."));
        };
        if *arn != "arn" {
            return malformed(format!("Resource {r} must be in ARN format or \"*\"."));
        }
        if service.is_empty() || service.contains(['*', '?']) {
            return malformed(
                "Resource vendor must be fully qualified and cannot contain regexes.",
            );
        }
        if *service == "iam" && !region.is_empty() {
            return malformed(format!(
                "IAM resource {r} cannot contain region information."
            ));
        }
    }
    Ok(Pattern::new(tokenize(r, true, vars)?))
}

fn invalid_principal(kind: &str, value: &str) -> PolicyError {
    PolicyError::malformed(format!(
        "Invalid principal in policy: \"{kind}\":\"{value}\""
    ))
}

fn compile_principal(v: &Value) -> Result<Vec<PrincipalEntry>, PolicyError> {
    let obj = match v {
        Value::String(s) if s == "*" => return Ok(vec![PrincipalEntry::Anyone]),
        Value::String(s) => {
            return Err(PolicyError::malformed(format!(
                "Invalid principal in policy: {s}"
            )));
        }
        Value::Object(o) if !o.is_empty() => o,
        _ => return malformed(SYNTAX),
    };
    let mut out = Vec::new();
    for (kind, values) in obj {
        let values = strings(values)?;
        if values.is_empty() {
            return malformed(SYNTAX);
        }
        for value in values {
            let plain = !value.is_empty() && !value.contains(['*', '?']);
            let entry = match kind.as_str() {
                "AWS" => aws_principal(value).ok_or_else(|| invalid_principal(kind, value))?,
                "Federated" if plain => PrincipalEntry::Federated {
                    provider: value.into(),
                },
                "Service" if plain => PrincipalEntry::Service { name: value.into() },
                "CanonicalUser" if plain => PrincipalEntry::CanonicalUser { id: value.into() },
                _ => return Err(invalid_principal(kind, value)),
            };
            out.push(entry);
        }
    }
    Ok(out)
}

/// Classifies one `{"AWS": ...}` value. `*` is the only wildcard AWS accepts in principals.
fn aws_principal(v: &str) -> Option<PrincipalEntry> {
    if v == "*" {
        return Some(PrincipalEntry::AnyAws);
    }
    if crate::arn::is_account_id(v) {
        // A bare account id names the account in the policy's own partition, which is the
        // partition the account's requests are signed in: any, here.
        return Some(PrincipalEntry::Account {
            partition: "".into(),
            account: v.into(),
        });
    }
    if (v.starts_with("AIDA") || v.starts_with("AROA"))
        && v.len() >= 16
        && v.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Some(PrincipalEntry::UniqueId { id: v.into() });
    }
    if v.contains(['*', '?']) {
        return None;
    }
    let segs: Vec<&str> = v.splitn(6, ':').collect();
    let ["arn", partition, service, "", account, resource] = segs.as_slice() else {
        return None;
    };
    if partition.is_empty() || !crate::arn::is_account_id(account) {
        return None;
    }
    let (typ, rest) = resource.split_once('/').unwrap_or((resource, ""));
    let name_ok = !rest.is_empty() && !rest.ends_with('/');
    match (*service, typ) {
        ("iam", "root") if rest.is_empty() => Some(PrincipalEntry::Account {
            partition: (*partition).into(),
            account: (*account).into(),
        }),
        ("iam", "user") if name_ok => Some(PrincipalEntry::User {
            arn: v.into(),
            id: None,
        }),
        ("iam", "role") if name_ok => Some(PrincipalEntry::Role {
            arn: v.into(),
            id: None,
        }),
        ("sts", "assumed-role") => {
            let (role, session) = rest.split_once('/')?;
            (!role.is_empty() && !session.is_empty() && !session.contains('/'))
                .then(|| PrincipalEntry::Session { arn: v.into() })
        }
        ("sts", "federated-user") if name_ok && !rest.contains('/') => {
            Some(PrincipalEntry::FederatedUser { arn: v.into() })
        }
        _ => None,
    }
}

/// Condition key names need a vendor prefix (`aws:`, `sts:`, `saml:`, an OIDC host) with one
/// colon before any `/` (tag keys after the `/` may contain colons). An OIDC provider's keys are
/// `<host/path>:<claim>`, so a key whose first segment has no colon may carry its colon after
/// the path; a provider on a port (`127.0.0.1:8443:sub`) has one more colon, before digits.
fn check_condition_key(key: &str) -> Result<(), PolicyError> {
    let head = key.split('/').next().unwrap_or(key);
    match head.matches(':').count() {
        0 => match key.rsplit_once(':') {
            Some((provider, claim))
                if !provider.is_empty() && !claim.is_empty() && !claim.contains('/') =>
            {
                Ok(())
            }
            _ => malformed(VENDOR),
        },
        1 if !head.starts_with(':') => Ok(()),
        1 => malformed(VENDOR),
        2 if is_host_port(head) => Ok(()),
        _ => malformed(ONE_COLON),
    }
}

/// `host:port:claim`: the middle segment is a port number.
fn is_host_port(head: &str) -> bool {
    let mut parts = head.splitn(3, ':');
    let (Some(host), Some(port), Some(claim)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !host.is_empty()
        && !claim.is_empty()
        && !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
}

fn compile_conditions(ops: &Map<String, Value>, vars: bool) -> Result<Vec<Condition>, PolicyError> {
    let mut out = Vec::new();
    for (name, block) in ops {
        let (qualifier, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
            (SetQualifier::ForAnyValue, r)
        } else if let Some(r) = name.strip_prefix("ForAllValues:") {
            (SetQualifier::ForAllValues, r)
        } else {
            (SetQualifier::Single, name.as_str())
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(b) => (b, true),
            None => (rest, false),
        };
        let op = match Operator::from_name(base) {
            Some(Operator::Null) if if_exists || qualifier != SetQualifier::Single => None,
            other => other,
        };
        let Some(op) = op else {
            return malformed(format!("Invalid Condition type : {name}"));
        };
        let Value::Object(keys) = block else {
            return malformed(SYNTAX);
        };
        if keys.is_empty() {
            return malformed(SYNTAX);
        }
        for (key, values) in keys {
            check_condition_key(key)?;
            let scalars: Vec<&Value> = match values {
                Value::Array(a) => a.iter().collect(),
                v => vec![v],
            };
            if scalars.is_empty() {
                return malformed(format!(
                    "Condition {name} for key {key} must have at least one value."
                ));
            }
            let mut texts = Vec::with_capacity(scalars.len());
            for v in &scalars {
                texts.push(match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return malformed(SYNTAX),
                });
            }
            let values = compile_values(op, name, key, &texts, vars && op.allows_variables())?;
            out.push(Condition {
                op,
                qualifier,
                if_exists,
                key: key.to_lowercase().into_boxed_str(),
                values,
            });
        }
    }
    Ok(out)
}

fn compile_values(
    op: Operator,
    name: &str,
    key: &str,
    texts: &[String],
    vars: bool,
) -> Result<Values, PolicyError> {
    use Operator::*;
    let each = |family: &str| {
        let family = family.to_owned();
        move |t: &String| {
            PolicyError::malformed(format!(
                "Invalid {family} value {t} for condition {name} on key {key}."
            ))
        }
    };
    let cmp = match op {
        NumericLessThan | DateLessThan => Cmp::Lt,
        NumericLessThanEquals | DateLessThanEquals => Cmp::Le,
        NumericGreaterThan | DateGreaterThan => Cmp::Gt,
        NumericGreaterThanEquals | DateGreaterThanEquals => Cmp::Ge,
        _ => Cmp::Eq,
    };
    Ok(match op {
        StringEquals
        | StringNotEquals
        | StringEqualsIgnoreCase
        | StringNotEqualsIgnoreCase
        | StringLike
        | StringNotLike => {
            let like = matches!(op, StringLike | StringNotLike);
            let fold = matches!(op, StringEqualsIgnoreCase | StringNotEqualsIgnoreCase);
            let patterns = texts
                .iter()
                .map(|t| tokenize(t, like, vars).map(Pattern::new))
                .collect::<Result<_, _>>()?;
            Values::Str { patterns, fold }
        }
        NumericEquals
        | NumericNotEquals
        | NumericLessThan
        | NumericLessThanEquals
        | NumericGreaterThan
        | NumericGreaterThanEquals => Values::Num {
            cmp,
            values: parse_all(texts, parse_number, each("numeric"))?,
        },
        DateEquals
        | DateNotEquals
        | DateLessThan
        | DateLessThanEquals
        | DateGreaterThan
        | DateGreaterThanEquals => Values::Date {
            cmp,
            values: parse_all(texts, parse_date, each("date"))?,
        },
        Bool => Values::Bool(parse_all(texts, parse_bool, each("boolean"))?),
        Null => Values::Null(parse_all(texts, parse_bool, each("boolean"))?),
        BinaryEquals => Values::Binary(parse_all(texts, |t| B64.decode(t).ok(), each("base64"))?),
        IpAddress | NotIpAddress => Values::Ip(parse_all(texts, Cidr::parse, each("IP address"))?),
        ArnEquals | ArnLike | ArnNotEquals | ArnNotLike => Values::Arn(
            texts
                .iter()
                .map(|t| tokenize(t, true, vars).map(ArnPattern::new))
                .collect::<Result<_, _>>()?,
        ),
    })
}

fn parse_all<T>(
    texts: &[String],
    parse: impl Fn(&str) -> Option<T>,
    err: impl Fn(&String) -> PolicyError,
) -> Result<Vec<T>, PolicyError> {
    texts
        .iter()
        .map(|t| parse(t).ok_or_else(|| err(t)))
        .collect()
}
