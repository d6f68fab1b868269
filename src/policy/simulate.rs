//! The policy simulator's pure core: policies, a principal and context keys in, one
//! [`Outcome`] per (action, resource) out, evaluated by the same evaluator that authorizes real
//! requests. `SimulateCustomPolicy` and `SimulatePrincipalPolicy` (`crate::iam::simulate`) and
//! `tessera policy eval` (offline) drive it; see `crate::iam::simulate` for the choices it
//! makes where AWS's simulator is silent or differs.

use std::sync::Arc;

use crate::arn::{Arn, Resource};

use super::{
    ContextValue, Decision, Effect, Evaluation, Policy, PolicyRef, PolicySet, PolicyType,
    PrincipalView, RequestContext, ResourcePolicyRef, evaluate,
};

// --- statement positions ---------------------------------------------------------------------

/// A place in a policy document: 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// Where one statement sits: just after its `{`, just after its `}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
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
pub(crate) fn statement_spans(src: &str) -> Vec<Span> {
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
pub(crate) struct SourcePolicy {
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
    pub(crate) fn new(
        id: impl Into<String>,
        source_type: &'static str,
        policy: Arc<Policy>,
    ) -> Self {
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
pub(crate) struct ResourceInput {
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
    Arn::parse(arn).is_ok_and(|a| {
        matches!(a.resource, Resource::Role { .. })
            && a.account.len() == 12
            && a.account.bytes().all(|b| b.is_ascii_digit())
    })
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
pub(crate) struct Simulation {
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
pub(crate) struct Matched {
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
pub(crate) struct Outcome {
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
    pub(crate) fn run(&self, action: &str, resource: &str) -> Outcome {
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
pub(crate) fn decision_name(d: Decision) -> &'static str {
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
pub(crate) fn context_value(ty: &str, values: &[&str]) -> Result<ContextValue, String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyKind;

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
    fn role_arns() {
        assert!(is_role_arn("arn:aws:iam::123456789012:role/x"));
        assert!(is_role_arn("arn:aws-cn:iam::123456789012:role/p/x"));
        assert!(!is_role_arn("arn:aws:iam::123456789012:user/x"));
        assert!(!is_role_arn("arn:aws:iam::1234:role/x"));
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
}
