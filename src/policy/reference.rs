//! A deliberately naive reference evaluator for identity-side decisions (identity policies,
//! permissions boundary, session policies), used only by the differential property test.
//!
//! It shares nothing with the real evaluator's matching: it re-parses the raw JSON on every
//! call, substitutes variables into character vectors, matches globs by plain recursion and
//! applies the condition rules as written in the IAM User Guide, one `if` at a time. Slow and
//! obviously correct is the point.

use serde_json::Value;

use super::condition::{Cidr, parse_bool, parse_date, parse_number};
use super::{Decision, PrincipalKind, RequestContext};

#[derive(Clone, Copy, PartialEq, Debug)]
enum T {
    C(char),
    Star,
    Any,
}

/// Pattern text → tokens; `None` if a variable is unresolved.
fn tokens(text: &str, wildcards: bool, vars: bool, req: &RequestContext) -> Option<Vec<T>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if vars
            && chars[i] == '$'
            && chars.get(i + 1) == Some(&'{')
            && let Some(close) = chars[i..].iter().position(|c| *c == '}')
        {
            let inner: String = chars[i + 2..i + close].iter().collect();
            let mut handled = true;
            if inner == "*" || inner == "?" || inner == "$" {
                out.push(T::C(inner.chars().next().unwrap()));
            } else {
                let (key, default) = match inner.split_once(',') {
                    Some((k, d)) => {
                        let d = d.trim();
                        if d.len() >= 2 && d.starts_with('\'') && d.ends_with('\'') {
                            (k.trim().to_string(), Some(d[1..d.len() - 1].to_string()))
                        } else {
                            handled = false;
                            (String::new(), None)
                        }
                    }
                    None => (inner.trim().to_string(), None),
                };
                let key_ok = key.contains(':')
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.:/@+=".contains(c));
                if handled && key_ok {
                    let value = req
                        .get(&key.to_lowercase())
                        .filter(|v| !v.is_multi_valued())
                        .and_then(|v| v.texts().next().map(str::to_string))
                        .or(default)?;
                    out.extend(value.chars().map(T::C));
                } else {
                    handled = false;
                }
            }
            if handled {
                i += close + 1;
                continue;
            }
            out.extend(chars[i..=i + close].iter().map(|c| T::C(*c)));
            i += close + 1;
            continue;
        }
        out.push(match chars[i] {
            '*' if wildcards => T::Star,
            '?' if wildcards => T::Any,
            c => T::C(c),
        });
        i += 1;
    }
    Some(out)
}

fn glob(p: &[T], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some(T::Star) => glob(&p[1..], t) || (!t.is_empty() && glob(p, &t[1..])),
        Some(T::Any) => !t.is_empty() && glob(&p[1..], &t[1..]),
        Some(T::C(c)) => t.first() == Some(c) && glob(&p[1..], &t[1..]),
    }
}

fn like(pattern: &str, text: &str, wildcards: bool, vars: bool, req: &RequestContext) -> bool {
    match tokens(pattern, wildcards, vars, req) {
        Some(p) => glob(&p, &text.chars().collect::<Vec<_>>()),
        None => false,
    }
}

fn list(v: Option<&Value>) -> Vec<String> {
    match v {
        None => vec![],
        Some(Value::Array(a)) => a.iter().map(scalar).collect(),
        Some(x) => vec![scalar(x)],
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn base_match(op: &str, request: &str, policy: &str, vars: bool, req: &RequestContext) -> bool {
    let num = |s: &str| parse_number(s);
    let date = |s: &str| parse_date(s);
    match op {
        "StringEquals" | "StringNotEquals" => like(policy, request, false, vars, req),
        "StringEqualsIgnoreCase" | "StringNotEqualsIgnoreCase" => {
            match tokens(policy, false, vars, req) {
                Some(p) => {
                    let p: String = p
                        .iter()
                        .map(|t| if let T::C(c) = t { *c } else { '?' })
                        .collect();
                    p.to_lowercase() == request.to_lowercase()
                }
                None => false,
            }
        }
        "StringLike" | "StringNotLike" => like(policy, request, true, vars, req),
        "NumericEquals" | "NumericNotEquals" => {
            matches!((num(request), num(policy)), (Some(a), Some(b)) if a == b)
        }
        "NumericLessThan" => matches!((num(request), num(policy)), (Some(a), Some(b)) if a < b),
        "NumericLessThanEquals" => {
            matches!((num(request), num(policy)), (Some(a), Some(b)) if a <= b)
        }
        "NumericGreaterThan" => matches!((num(request), num(policy)), (Some(a), Some(b)) if a > b),
        "NumericGreaterThanEquals" => {
            matches!((num(request), num(policy)), (Some(a), Some(b)) if a >= b)
        }
        "DateEquals" | "DateNotEquals" => {
            matches!((date(request), date(policy)), (Some(a), Some(b)) if a == b)
        }
        "DateLessThan" => matches!((date(request), date(policy)), (Some(a), Some(b)) if a < b),
        "DateLessThanEquals" => {
            matches!((date(request), date(policy)), (Some(a), Some(b)) if a <= b)
        }
        "DateGreaterThan" => matches!((date(request), date(policy)), (Some(a), Some(b)) if a > b),
        "DateGreaterThanEquals" => {
            matches!((date(request), date(policy)), (Some(a), Some(b)) if a >= b)
        }
        "Bool" => parse_bool(request).is_some() && parse_bool(request) == parse_bool(policy),
        "IpAddress" | "NotIpAddress" => match (Cidr::parse(policy), request.parse()) {
            (Some(c), Ok(ip)) => c.contains(ip),
            _ => false,
        },
        "ArnEquals" | "ArnLike" | "ArnNotEquals" | "ArnNotLike" => {
            // Segments are delimited by the policy text's own colons (not those inside `${}`).
            let p = split_arn_pattern(policy, vars);
            let r: Vec<&str> = request.splitn(6, ':').collect();
            match p.len() {
                1 => like(policy, request, true, vars, req),
                6 => r.len() == 6 && r.iter().zip(&p).all(|(r, p)| like(p, r, true, vars, req)),
                _ => false,
            }
        }
        "BinaryEquals" => {
            use base64::Engine as _;
            let d = |s: &str| base64::engine::general_purpose::STANDARD.decode(s).ok();
            d(request).is_some() && d(request) == d(policy)
        }
        _ => panic!("reference does not know {op}"),
    }
}

fn split_arn_pattern(policy: &str, vars: bool) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut depth = false;
    let chars: Vec<char> = policy.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if vars && *c == '$' && chars.get(i + 1) == Some(&'{') && chars[i..].contains(&'}') {
            depth = true;
        }
        if *c == ':' && !depth && out.len() < 6 {
            out.push(String::new());
            continue;
        }
        if *c == '}' {
            depth = false;
        }
        out.last_mut().unwrap().push(*c);
    }
    out
}

fn condition_holds(
    full: &str,
    key: &str,
    policy_values: &[String],
    vars: bool,
    req: &RequestContext,
) -> bool {
    let (prefix, rest) = if let Some(r) = full.strip_prefix("ForAnyValue:") {
        ("any", r)
    } else if let Some(r) = full.strip_prefix("ForAllValues:") {
        ("all", r)
    } else {
        ("", full)
    };
    let (op, if_exists) = match rest.strip_suffix("IfExists") {
        Some(o) => (o, true),
        None => (rest, false),
    };
    let request: Vec<String> = req
        .get(&key.to_lowercase())
        .map(|v| v.texts().map(str::to_string).collect())
        .unwrap_or_default();
    let present = !request.is_empty();
    if op == "Null" {
        return policy_values
            .iter()
            .any(|v| parse_bool(v) == Some(!present));
    }
    let negated = op.contains("Not");
    if !present {
        if if_exists {
            return true;
        }
        return match prefix {
            "all" => true,
            "any" => false,
            _ => negated,
        };
    }
    let single = |r: &String| {
        let any = policy_values
            .iter()
            .any(|p| base_match(op, r, p, vars, req));
        if negated { !any } else { any }
    };
    match prefix {
        "all" => request.iter().all(single),
        "any" => request.iter().any(single),
        _ if negated => request.iter().all(single),
        _ => request.iter().any(single),
    }
}

/// `(any Allow applies, any Deny applies)` for one policy document.
fn policy_effects(text: &str, req: &RequestContext) -> (bool, bool) {
    let doc: Value = serde_json::from_str(text).unwrap();
    let vars = doc.get("Version").and_then(Value::as_str) == Some("2012-10-17");
    let statements = match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        one => vec![one.clone()],
    };
    let (mut allow, mut deny) = (false, false);
    for s in &statements {
        let action_hit = |v: Option<&Value>| {
            list(v).iter().any(|p| {
                like(
                    &p.to_lowercase(),
                    &req.action().to_lowercase(),
                    true,
                    false,
                    req,
                )
            })
        };
        let action_ok = if s.get("Action").is_some() {
            action_hit(s.get("Action"))
        } else {
            !action_hit(s.get("NotAction"))
        };
        let resource_hit = |v: Option<&Value>| {
            list(v)
                .iter()
                .any(|p| like(p, req.resource(), true, vars, req))
        };
        let resource_ok = if s.get("Resource").is_some() {
            resource_hit(s.get("Resource"))
        } else {
            !resource_hit(s.get("NotResource"))
        };
        let mut conditions_ok = true;
        if let Some(Value::Object(ops)) = s.get("Condition") {
            for (op, keys) in ops {
                for (key, values) in keys.as_object().unwrap() {
                    if !condition_holds(op, key, &list(Some(values)), vars, req) {
                        conditions_ok = false;
                    }
                }
            }
        }
        if action_ok && resource_ok && conditions_ok {
            if s["Effect"] == "Allow" {
                allow = true;
            } else {
                deny = true;
            }
        }
    }
    (allow, deny)
}

/// The identity-side decision, written as the User Guide's flow chart.
pub(super) fn decide(
    req: &RequestContext,
    identity: &[String],
    boundary: Option<&str>,
    session: Option<&[String]>,
) -> Decision {
    let id: Vec<(bool, bool)> = identity.iter().map(|t| policy_effects(t, req)).collect();
    let bd = boundary.map(|t| policy_effects(t, req));
    let ss: Option<Vec<(bool, bool)>> =
        session.map(|s| s.iter().map(|t| policy_effects(t, req)).collect());

    // 1. Any explicit deny.
    let any_deny = id.iter().any(|e| e.1)
        || bd.is_some_and(|e| e.1)
        || ss.as_ref().is_some_and(|s| s.iter().any(|e| e.1));
    if any_deny {
        return Decision::ExplicitDeny;
    }
    // 2. Root user: everything in its own account.
    if req.principal().kind == PrincipalKind::Root {
        return Decision::Allowed;
    }
    // 3. Identity policies must allow.
    if !id.iter().any(|e| e.0) {
        return Decision::ImplicitDeny;
    }
    // 4. Boundary, if any, must allow.
    if bd.is_some_and(|b| !b.0) {
        return Decision::ImplicitDeny;
    }
    // 5. Session policies, if any, must allow; a federated user without one has nothing.
    match ss {
        Some(s) if !s.iter().any(|e| e.0) => return Decision::ImplicitDeny,
        None if req.principal().kind == PrincipalKind::FederatedUser => {
            return Decision::ImplicitDeny;
        }
        _ => {}
    }
    Decision::Allowed
}
