//! Tests for the policy module: the JSON corpus, parser rejections, API behaviour, fuzz-entry
//! smoke runs and the differential property test against [`super::reference`].
//!
//! # Corpus schema (`tests/policy_corpus.json`)
//!
//! An array of cases; the same cases can be fed to IAM `SimulateCustomPolicy` /
//! `SimulatePrincipalPolicy` to compare with AWS.
//!
//! ```text
//! {
//!   "name": "unique description",
//!   "policies": {
//!     "identity": [ <policy document>, ... ],      // ids "identity/0", "identity/1", ...
//!     "resource": <policy document>,               // optional, id "resource"
//!     "resource_owner": "111122223333",            // with "resource"
//!     "trust": true,                               // "resource" is a role trust policy
//!     "boundary": <policy document>,               // optional, id "boundary"
//!     "session": [ <policy document>, ... ]        // optional (absent ≠ []), ids "session/0"...
//!   },
//!   "request": {
//!     "principal": {"type": "user", "arn": "...", "id": "AIDA..."}
//!                | {"type": "root", "account": "..."}
//!                | {"type": "assumed-role", "role_arn": "...", "role_id": "AROA...", "session": "..."}
//!                | {"type": "federated-user", "account": "...", "name": "..."}
//!                | {"type": "web-identity" | "saml", "provider": "<provider ARN or host>"}
//!                | {"type": "service", "name": "ec2.amazonaws.com"}
//!                | {"type": "anonymous"},
//!     "action": "sts:AssumeRole",
//!     "resource": "arn:...",
//!     "context": { "<key>": "string" | ["multi", "valued"] | true | 123
//!                         | {"type": "date" | "ip" | "binary" (base64) | "string", "value": "..."} }
//!   },
//!   "expect": "allowed" | "explicitDeny" | "implicitDeny",
//!   "reason": "NoAllowInTrust",          // optional: Debug form of `Reason`
//!   "matched": ["identity/0:1", ...],    // optional: "<policy id>:<statement index>", in order
//!   "matched_sids": ["Sid", ...],        // optional: Sids of the matched statements
//!   "missing": ["sts:externalid"],       // optional: missing condition keys (lowercase)
//!   "bind": {"<principal ARN>": "<unique id>"}  // optional: Policy::bind_principal_ids on "resource"
//! }
//! ```
//! Principal-derived keys (`aws:username`, `aws:userid`, `aws:PrincipalArn`, ...) come from
//! the principal; `context` adds or overrides keys.

use base64::Engine as _;
use proptest::prelude::*;
use serde_json::Value;

use super::*;

pub(super) const CORPUS: &str = include_str!("../../tests/policy_corpus.json");

pub(super) fn principal_from_json(p: &Value) -> PrincipalView {
    let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or_default();
    match s("type") {
        "user" => PrincipalView::user(s("arn"), s("id")),
        "root" => PrincipalView::root(s("account")),
        "assumed-role" => PrincipalView::assumed_role(s("role_arn"), s("role_id"), s("session")),
        "federated-user" => PrincipalView::federated_user(s("account"), s("name")),
        "web-identity" => PrincipalView::web_identity(s("provider")),
        "saml" => PrincipalView::saml(s("provider")),
        "service" => PrincipalView::service(s("name")),
        "anonymous" => PrincipalView::anonymous(),
        other => panic!("unknown principal type {other}"),
    }
}

pub(super) fn context_value(v: &Value) -> ContextValue {
    match v {
        Value::String(s) => ContextValue::string(s),
        Value::Bool(b) => ContextValue::bool(*b),
        Value::Number(n) => ContextValue::string(&n.to_string()),
        Value::Array(a) => ContextValue::strings(a.iter().map(|x| x.as_str().unwrap().to_owned())),
        Value::Object(o) => {
            let value = o["value"].as_str().unwrap();
            match o["type"].as_str().unwrap() {
                "date" => ContextValue::date(condition::parse_date(value).unwrap()),
                "ip" => ContextValue::ip(value.parse().unwrap()),
                "binary" => ContextValue::binary(
                    &base64::engine::general_purpose::STANDARD
                        .decode(value)
                        .unwrap(),
                ),
                "string" => ContextValue::string(value),
                t => panic!("unknown context type {t}"),
            }
        }
        Value::Null => panic!("null context value"),
    }
}

pub(super) fn request_from_json(r: &Value) -> RequestContext {
    let principal = principal_from_json(&r["principal"]);
    let mut b = RequestContext::builder(
        principal,
        r["action"].as_str().unwrap(),
        r["resource"].as_str().unwrap(),
    );
    if let Some(ctx) = r["context"].as_object() {
        for (k, v) in ctx {
            b = b.set(k, context_value(v));
        }
    }
    b.build()
}

/// Compiled policies of one case, owned (the `PolicySet` borrows from this).
pub(super) struct CasePolicies {
    pub identity: Vec<(String, Policy)>,
    pub resource: Option<(Policy, String)>,
    pub boundary: Option<Policy>,
    pub session: Option<Vec<(String, Policy)>>,
}

pub(super) fn policies_from_json(case: &Value) -> CasePolicies {
    let p = &case["policies"];
    let parse = |v: &Value, kind| {
        let text = serde_json::to_string_pretty(v).unwrap();
        Policy::parse(&text, kind).unwrap_or_else(|e| panic!("{}: {e}\n{text}", case["name"]))
    };
    let list = |v: &Value, prefix: &str| -> Vec<(String, Policy)> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .enumerate()
                    .map(|(i, d)| (format!("{prefix}/{i}"), parse(d, PolicyKind::Identity)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let resource = p.get("resource").map(|d| {
        let kind = if p["trust"].as_bool().unwrap_or(false) {
            PolicyKind::Trust
        } else {
            PolicyKind::Resource
        };
        let mut pol = parse(d, kind);
        if let Some(bind) = case.get("bind").and_then(Value::as_object) {
            pol.bind_principal_ids(|arn| bind.get(arn).and_then(Value::as_str).map(str::to_owned));
        }
        (pol, p["resource_owner"].as_str().unwrap().to_owned())
    });
    CasePolicies {
        identity: list(&p["identity"], "identity"),
        resource,
        boundary: p.get("boundary").map(|d| parse(d, PolicyKind::Identity)),
        session: p.get("session").map(|s| list(s, "session")),
    }
}

pub(super) fn evaluate_case(c: &CasePolicies, req: &RequestContext) -> Evaluation {
    let identity: Vec<PolicyRef<'_>> = c
        .identity
        .iter()
        .map(|(id, p)| PolicyRef { id, policy: p })
        .collect();
    let session: Option<Vec<PolicyRef<'_>>> = c.session.as_ref().map(|s| {
        s.iter()
            .map(|(id, p)| PolicyRef { id, policy: p })
            .collect()
    });
    let set = PolicySet {
        identity: &identity,
        resource: c.resource.as_ref().map(|(p, owner)| ResourcePolicyRef {
            id: "resource",
            policy: p,
            owner_account: owner,
        }),
        boundary: c.boundary.as_ref().map(|p| PolicyRef {
            id: "boundary",
            policy: p,
        }),
        session: session.as_deref(),
    };
    evaluate(req, &set)
}

#[test]
fn corpus() {
    let cases: Vec<Value> = serde_json::from_str(CORPUS).unwrap();
    assert!(cases.len() >= 150, "corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let pols = policies_from_json(case);
        let req = request_from_json(&case["request"]);
        let ev = evaluate_case(&pols, &req);
        let got = match ev.decision {
            Decision::Allowed => "allowed",
            Decision::ExplicitDeny => "explicitDeny",
            Decision::ImplicitDeny => "implicitDeny",
        };
        let mut problems = Vec::new();
        if got != case["expect"].as_str().unwrap() {
            problems.push(format!("decision {got}"));
        }
        if let Some(r) = case.get("reason").and_then(Value::as_str)
            && format!("{:?}", ev.reason) != r
        {
            problems.push(format!("reason {:?}", ev.reason));
        }
        if let Some(m) = case.get("matched").and_then(Value::as_array) {
            let want: Vec<&str> = m.iter().map(|x| x.as_str().unwrap()).collect();
            let have: Vec<String> = ev
                .matched
                .iter()
                .map(|m| format!("{}:{}", m.policy_id, m.index))
                .collect();
            if want != have {
                problems.push(format!("matched {have:?}"));
            }
        }
        if let Some(m) = case.get("matched_sids").and_then(Value::as_array) {
            let want: Vec<&str> = m.iter().map(|x| x.as_str().unwrap()).collect();
            let have: Vec<&str> = ev.matched.iter().filter_map(|m| m.sid.as_deref()).collect();
            if want != have {
                problems.push(format!("sids {have:?}"));
            }
        }
        if let Some(m) = case.get("missing").and_then(Value::as_array) {
            let want: Vec<&str> = m.iter().map(|x| x.as_str().unwrap()).collect();
            if want != ev.missing_keys {
                problems.push(format!("missing {:?}", ev.missing_keys));
            }
        }
        if !problems.is_empty() {
            failures.push(format!("{name}: {} ({ev})", problems.join(", ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} corpus failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// --- parser: every rejection, one row each -------------------------------------------------

fn identity_stmt(stmt: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{stmt}]}}"#)
}

#[test]
fn parser_rejections() {
    use PolicyKind::{Identity, Resource, Trust};
    let ok_trust = r#""Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole""#;
    let rows: Vec<(PolicyKind, String, &str)> = vec![
        (Identity, "{".into(), "Syntax errors in policy."),
        (Identity, "[]".into(), "Syntax errors in policy."),
        (
            Identity,
            r#"{"Version":"2012-10-17"}"#.into(),
            "Syntax errors in policy.",
        ),
        (
            Identity,
            r#"{"Version":"2012-10-17","Statement":["x"]}"#.into(),
            "Syntax errors in policy.",
        ),
        (
            Identity,
            r#"{"Version":"2012-10-17","Statement":[],"Foo":1}"#.into(),
            "Unknown field Foo",
        ),
        (
            Identity,
            identity_stmt(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Bogus":1}"#),
            "Unknown field Bogus",
        ),
        (
            Identity,
            r#"{"Version":"2013-01-01","Statement":[]}"#.into(),
            "Policy document must be version 2012-10-17 or greater.",
        ),
        (
            Identity,
            r#"{"Version":20121017,"Statement":[]}"#.into(),
            "Syntax errors in policy.",
        ),
        (
            Identity,
            identity_stmt(r#"{"Effect":"allow","Action":"s3:*","Resource":"*"}"#),
            "Invalid effect: allow",
        ),
        (
            Identity,
            identity_stmt(r#"{"Action":"s3:*","Resource":"*"}"#),
            "Missing required field Effect",
        ),
        (
            Identity,
            identity_stmt(r#"{"Effect":"Allow","Resource":"*"}"#),
            "Policy statement must contain actions.",
        ),
        (
            Identity,
            identity_stmt(r#"{"Effect":"Allow","Action":[],"Resource":"*"}"#),
            "Policy statement must contain actions.",
        ),
        (
            Identity,
            identity_stmt(r#"{"Effect":"Allow","Action":"GetObject","Resource":"*"}"#),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (
            Identity,
            identity_stmt(r#"{"Effect":"Allow","Action":"s3:Get:Object","Resource":"*"}"#),
            "Actions/Condition can contain only one colon.",
        ),
        (
            Identity,
            identity_stmt(r#"{"Effect":"Allow","Action":"s 3:Get","Resource":"*"}"#),
            "Vendor s 3 is not valid",
        ),
        (
            Identity,
            identity_stmt(r#"{"Effect":"Allow","Action":"s3:","Resource":"*"}"#),
            "Action s3: is not valid.",
        ),
        (
            Identity,
            identity_stmt(r#"{"Effect":"Allow","Action":"s3:*"}"#),
            "Policy statement must contain resources.",
        ),
        (
            Identity,
            identity_stmt(r#"{"Effect":"Allow","Action":"s3:*","Resource":"bucket"}"#),
            "Resource bucket must be in ARN format or \"*\".",
        ),
        (
            Identity,
            identity_stmt(r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3*:::b"}"#),
            "Resource vendor must be fully qualified and cannot contain regexes.",
        ),
        (
            Identity,
            identity_stmt(
                r#"{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam:us-east-1:1:user/x"}"#,
            ),
            "IAM resource arn:aws:iam:us-east-1:1:user/x cannot contain region information.",
        ),
        (
            Identity,
            identity_stmt(r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}"#),
            "Policy document should not specify a principal.",
        ),
        (
            Identity,
            identity_stmt(
                r#"{"Effect":"Allow","NotPrincipal":"*","Action":"s3:*","Resource":"*"}"#,
            ),
            "Policy document should not specify a principal.",
        ),
        (
            Identity,
            identity_stmt(
                r#"{"Effect":"Allow","Action":"s3:*","NotAction":"s3:Get*","Resource":"*"}"#,
            ),
            "Policy statement cannot contain both Action and NotAction.",
        ),
        (
            Identity,
            identity_stmt(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","NotResource":"*"}"#),
            "Policy statement cannot contain both Resource and NotResource.",
        ),
        (
            Resource,
            identity_stmt(
                r#"{"Effect":"Allow","Principal":"*","NotPrincipal":"*","Action":"s3:*"}"#,
            ),
            "Policy statement cannot contain both Principal and NotPrincipal.",
        ),
        (
            Identity,
            identity_stmt(
                r#"{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"s3:*","Resource":"*"}"#,
            ),
            "Statement IDs (SID) in a single policy must be unique.",
        ),
        (
            Identity,
            identity_stmt(r#"{"Sid":"a b","Effect":"Allow","Action":"s3:*","Resource":"*"}"#),
            "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
        ),
        (
            Trust,
            identity_stmt(r#"{"Effect":"Allow","Action":"sts:AssumeRole"}"#),
            "Missing required field Principal",
        ),
        (
            Resource,
            identity_stmt(r#"{"Effect":"Allow","Action":"s3:*"}"#),
            "Missing required field Principal",
        ),
        (
            Trust,
            identity_stmt(&format!(
                r#"{{"Effect":"Allow",{ok_trust},"Resource":"*"}}"#
            )),
            "Has prohibited field Resource.",
        ),
        (
            Trust,
            identity_stmt(&format!(
                r#"{{"Effect":"Allow",{ok_trust},"NotResource":"*"}}"#
            )),
            "Has prohibited field NotResource.",
        ),
        (
            Trust,
            identity_stmt(r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}"#),
            "Trust Policy statement actions can only be sts:AssumeRole, sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity",
        ),
        (
            Trust,
            identity_stmt(r#"{"Effect":"Allow","Principal":"*","Action":"sts:GetCallerIdentity"}"#),
            "Trust Policy statement actions can only be sts:AssumeRole, sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity",
        ),
        (
            Trust,
            identity_stmt(r#"{"Effect":"Allow","Principal":"*","Action":"*"}"#),
            "Trust Policy statement actions can only be sts:AssumeRole, sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity",
        ),
        (
            Trust,
            identity_stmt(
                r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/*"},"Action":"sts:AssumeRole"}"#,
            ),
            r#"Invalid principal in policy: "AWS":"arn:aws:iam::111122223333:user/*""#,
        ),
        (
            Trust,
            identity_stmt(
                r#"{"Effect":"Allow","Principal":{"AWS":"alice"},"Action":"sts:AssumeRole"}"#,
            ),
            r#"Invalid principal in policy: "AWS":"alice""#,
        ),
        (
            Trust,
            identity_stmt(
                r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::12345:root"},"Action":"sts:AssumeRole"}"#,
            ),
            r#"Invalid principal in policy: "AWS":"arn:aws:iam::12345:root""#,
        ),
        (
            Trust,
            identity_stmt(
                r#"{"Effect":"Allow","Principal":{"Bogus":"x"},"Action":"sts:AssumeRole"}"#,
            ),
            r#"Invalid principal in policy: "Bogus":"x""#,
        ),
        (
            Trust,
            identity_stmt(
                r#"{"Effect":"Allow","Principal":{"Service":"*.amazonaws.com"},"Action":"sts:AssumeRole"}"#,
            ),
            r#"Invalid principal in policy: "Service":"*.amazonaws.com""#,
        ),
        (
            Trust,
            identity_stmt(
                r#"{"Effect":"Allow","Principal":"arn:aws:iam::111122223333:root","Action":"sts:AssumeRole"}"#,
            ),
            "Invalid principal in policy: arn:aws:iam::111122223333:root",
        ),
        (
            Identity,
            identity_stmt(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqual":{"aws:username":"a"}}}"#,
            ),
            "Invalid Condition type : StringEqual",
        ),
        (
            Identity,
            identity_stmt(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"ForSomeValues:StringEquals":{"aws:username":"a"}}}"#,
            ),
            "Invalid Condition type : ForSomeValues:StringEquals",
        ),
        (
            Identity,
            identity_stmt(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NullIfExists":{"aws:username":"true"}}}"#,
            ),
            "Invalid Condition type : NullIfExists",
        ),
        (
            Identity,
            identity_stmt(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"ForAnyValue:Null":{"aws:username":"true"}}}"#,
            ),
            "Invalid Condition type : ForAnyValue:Null",
        ),
        (
            Identity,
            identity_stmt(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"username":"a"}}}"#,
            ),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (
            Identity,
            identity_stmt(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:user:name":"a"}}}"#,
            ),
            "Actions/Condition can contain only one colon.",
        ),
        (
            Identity,
            identity_stmt(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"host:port:sub":"a"}}}"#,
            ),
            "Actions/Condition can contain only one colon.",
        ),
        (
            Identity,
            identity_stmt(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"example.com/path:":"a"}}}"#,
            ),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (
            Identity,
            identity_stmt(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"yesterday"}}}"#,
            ),
            "Invalid date value yesterday for condition DateLessThan on key aws:CurrentTime.",
        ),
        (
            Identity,
            identity_stmt(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NumericLessThan":{"aws:MultiFactorAuthAge":"ten"}}}"#,
            ),
            "Invalid numeric value ten for condition NumericLessThan on key aws:MultiFactorAuthAge.",
        ),
        (
            Identity,
            identity_stmt(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}"#,
            ),
            "Invalid IP address value 10.0.0.0/33 for condition IpAddress on key aws:SourceIp.",
        ),
        (
            Identity,
            identity_stmt(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}"#,
            ),
            "Invalid boolean value yes for condition Bool on key aws:SecureTransport.",
        ),
        (
            Identity,
            identity_stmt(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Null":{"aws:SecureTransport":"maybe"}}}"#,
            ),
            "Invalid boolean value maybe for condition Null on key aws:SecureTransport.",
        ),
        (
            Identity,
            identity_stmt(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"BinaryEquals":{"aws:x":"%%%"}}}"#,
            ),
            "Invalid base64 value %%% for condition BinaryEquals on key aws:x.",
        ),
        (
            Identity,
            identity_stmt(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:x":[]}}}"#,
            ),
            "Condition StringEquals for key aws:x must have at least one value.",
        ),
        (
            Identity,
            identity_stmt(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:x":null}}}"#,
            ),
            "Syntax errors in policy.",
        ),
        (
            Identity,
            identity_stmt(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":"x"}}"#,
            ),
            "Syntax errors in policy.",
        ),
        (
            Identity,
            identity_stmt(
                "{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::\u{263a}\"}",
            ),
            "Policy document contains the character U+263A, outside the allowed range (U+0009, U+000A, U+000D, U+0020 through U+00FF).",
        ),
        (
            Identity,
            identity_stmt(
                "{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::\u{7}\"}",
            ),
            "Policy document contains the character U+0007, outside the allowed range (U+0009, U+000A, U+000D, U+0020 through U+00FF).",
        ),
    ];
    let mut failures = Vec::new();
    for (kind, json, want) in &rows {
        match Policy::parse(json, *kind) {
            Ok(_) => failures.push(format!("accepted: {json}")),
            Err(e) => {
                assert_eq!(e.kind, PolicyErrorKind::Malformed);
                assert_eq!(e.code(), "MalformedPolicyDocument");
                if e.message != *want {
                    failures.push(format!("{json}\n  got  {}\n  want {want}", e.message));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn parser_accepts() {
    let rows: &[(PolicyKind, &str)] = &[
        (
            PolicyKind::Identity,
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
        ),
        (
            PolicyKind::Identity,
            r#"{"Version":"2008-10-17","Id":"x","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}"#,
        ),
        (
            PolicyKind::Identity,
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}"},{"Sid":"","Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
        ),
        (
            PolicyKind::Trust,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:user/a/b","arn:aws:iam::111122223333:role/r","arn:aws:sts::111122223333:assumed-role/r/s","AROAEXAMPLE1234567890"]},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}"#,
        ),
        (
            PolicyKind::Trust,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"accounts.google.com"},"Action":"sts:AssumeRoleWith*","Condition":{"ForAnyValue:StringLike":{"accounts.google.com:amr":"*"},"StringEqualsIfExists":{"aws:PrincipalTag/a:b":"x"}}}]}"#,
        ),
        (
            PolicyKind::Trust,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.eks.us-east-1.amazonaws.com/id/ABC:sub":"system:serviceaccount:ns:sa","127.0.0.1:8443:aud":"x","127.0.0.1:8443/realm:aud":"y"}}}]}"#,
        ),
        (
            PolicyKind::Resource,
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"Any sid works here","Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"NotAction":"s3:Get*"}]}"#,
        ),
        (
            PolicyKind::Identity,
            "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::caf\u{e9}\"}}",
        ),
    ];
    for (kind, json) in rows {
        let p = Policy::parse(json, *kind).unwrap_or_else(|e| panic!("{json}: {e}"));
        assert_eq!(p.source(), *json);
        assert_eq!(p.kind(), *kind);
    }
    let p = Policy::parse(rows[1].1, PolicyKind::Identity).unwrap();
    assert_eq!(
        (p.id(), p.version(), p.statement_count()),
        (Some("x"), PolicyVersion::V2008_10_17, 1)
    );
}

#[test]
fn size_accounting() {
    assert_eq!(policy_size("{ \"a\" :\n\t\"b c\" }\r\n"), 10);
    assert!(check_size(&"x".repeat(2048), 2048).is_ok());
    let e = check_size(&format!("{}   ", "x".repeat(2049)), 2048).unwrap_err();
    assert_eq!(
        (e.kind, e.code(), e.message.as_str()),
        (
            PolicyErrorKind::LimitExceeded,
            "LimitExceeded",
            "Cannot exceed quota for PolicySize: 2048"
        )
    );
    assert_eq!(e.to_string(), e.message);
}

#[test]
fn principal_binding_api() {
    let json = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:user/alice","arn:aws:iam::111122223333:role/r","111122223333"]},"Action":"sts:AssumeRole"}]}"#;
    let mut p = Policy::parse(json, PolicyKind::Trust).unwrap();
    assert_eq!(
        p.principal_arns().collect::<Vec<_>>(),
        [
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:iam::111122223333:role/r"
        ]
    );
    p.bind_principal_ids(|arn| arn.ends_with("alice").then(|| "AIDAALICE".to_owned()));
    assert_eq!(
        p.bound_principal_ids().collect::<Vec<_>>(),
        [("arn:aws:iam::111122223333:user/alice", "AIDAALICE")]
    );
    assert_eq!(
        PolicyError::invalid_principal("arn:aws:iam::1:role/X").message,
        r#"Invalid principal in policy: "AWS":"arn:aws:iam::1:role/X""#
    );
}

#[test]
fn evaluation_display_is_log_ready() {
    let pol = Policy::parse(r#"{"Version":"2012-10-17","Statement":[{"Sid":"No","Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/x":"y"}}},{"Effect":"Deny","Action":"*","Resource":"*"}]}"#, PolicyKind::Identity).unwrap();
    let req = RequestContext::builder(
        PrincipalView::user("arn:aws:iam::1:user/u", "AIDAU"),
        "s3:GetObject",
        "*",
    )
    .build();
    let r = [PolicyRef {
        id: "arn:aws:iam::1:policy/p",
        policy: &pol,
    }];
    let ev = evaluate(
        &req,
        &PolicySet {
            identity: &r,
            ..PolicySet::default()
        },
    );
    assert_eq!(
        ev.to_string(),
        "explicit deny in identity policy; Deny identity policy statement arn:aws:iam::1:policy/p[1]; missing keys: aws:principaltag/x"
    );
    assert_eq!(ev.describe(), ev.to_string());
    assert!(!ev.is_allowed());
}

#[test]
fn operator_table_round_trips() {
    for op in OPERATORS {
        assert_eq!(Operator::from_name(op.name()), Some(op));
    }
    assert_eq!(Operator::from_name("stringequals"), None);
}

// --- fuzz entry points, driven by proptest on the stable toolchain -------------------------

/// Seeds: corpus documents, so mutations start from valid policies.
fn seed_documents() -> Vec<String> {
    let cases: Vec<Value> = serde_json::from_str(CORPUS).unwrap();
    cases
        .iter()
        .flat_map(|c| {
            let p = &c["policies"];
            let mut docs: Vec<Value> = p["identity"].as_array().cloned().unwrap_or_default();
            docs.extend(p.get("resource").cloned());
            docs
        })
        .map(|d| serde_json::to_string(&d).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn fuzz_parse_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        fuzz_parse(&data);
    }

    #[test]
    fn fuzz_parse_mutated_seeds(seed in 0usize..10_000, cut in 0usize..4096, insert in "[\\[\\]{}\":,*?$a-zA-Z0-9 /]{0,8}") {
        let docs = seed_documents();
        let doc = &docs[seed % docs.len()];
        let mut at = cut % (doc.len() + 1);
        while !doc.is_char_boundary(at) { at -= 1; }
        let mutated = format!("{}{}{}", &doc[..at], insert, &doc[at..]);
        fuzz_parse(mutated.as_bytes());
    }

    #[test]
    fn fuzz_eval_never_panics(selector in any::<u8>(), seed in 0usize..10_000, action in "[a-zA-Z:*?]{0,12}", resource in "[a-z:/*?${}é]{0,24}", ctx in "[a-zA-Z:/=,\n0-9.]{0,40}") {
        let docs = seed_documents();
        let doc = &docs[seed % docs.len()];
        let mut data = vec![selector];
        data.extend_from_slice(format!("{doc}\u{1}{action}\u{1}{resource}\u{1}{ctx}").as_bytes());
        fuzz_eval(&data);
    }
}

// --- differential: real evaluator vs the naive reference -----------------------------------

fn arb_glob(alphabet: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![4 => proptest::sample::select(alphabet.chars().collect::<Vec<_>>()).prop_map(String::from), 1 => Just("*".to_owned()), 1 => Just("?".to_owned())],
        0..5,
    )
    .prop_map(|v| v.concat())
}

const KEYS: [&str; 5] = [
    "aws:username",
    "aws:PrincipalTag/team",
    "aws:TagKeys",
    "aws:SourceIp",
    "aws:MultiFactorAuthAge",
];

fn arb_condition() -> impl Strategy<Value = Value> {
    let strings = proptest::collection::vec(
        prop_oneof![
            3 => arb_glob("abAB"),
            1 => Just("${aws:PrincipalTag/team}".to_owned()),
            1 => Just("${aws:PrincipalTag/none, 'a'}".to_owned()),
            1 => Just("a${*}".to_owned()),
        ],
        1..3,
    );
    let numbers = proptest::collection::vec((0u32..5).prop_map(|n| n.to_string()), 1..3);
    let ips = proptest::collection::vec(
        prop_oneof![Just("10.0.0.0/8".to_owned()), Just("192.0.2.1".to_owned())],
        1..3,
    );
    let bools = proptest::collection::vec(
        prop_oneof![Just("true".to_owned()), Just("false".to_owned())],
        1..2,
    );
    // Mostly the key whose request values have the operator's type; sometimes any key, to
    // exercise type mismatches.
    let key_for =
        |k: &'static str| prop_oneof![4 => Just(k), 1 => proptest::sample::select(KEYS.to_vec())];
    let family = prop_oneof![
        (
            proptest::sample::select(vec![
                "StringEquals",
                "StringNotEquals",
                "StringLike",
                "StringNotLike",
                "StringEqualsIgnoreCase",
                "StringNotEqualsIgnoreCase"
            ]),
            strings,
            proptest::sample::select(vec!["aws:username", "aws:PrincipalTag/team", "aws:TagKeys"])
        ),
        (
            proptest::sample::select(vec![
                "NumericLessThan",
                "NumericEquals",
                "NumericNotEquals",
                "NumericGreaterThanEquals"
            ]),
            numbers,
            key_for("aws:MultiFactorAuthAge")
        ),
        (
            proptest::sample::select(vec!["IpAddress", "NotIpAddress"]),
            ips,
            key_for("aws:SourceIp")
        ),
        (
            proptest::sample::select(vec!["Bool", "Null"]),
            bools,
            key_for("aws:MultiFactorAuthAge")
        ),
    ];
    let prefix = prop_oneof![3 => Just(""), 1 => Just("ForAnyValue:"), 1 => Just("ForAllValues:")];
    (prefix, family, any::<bool>()).prop_map(|(pre, (op, vals, key), ifx)| {
        let name = if op == "Null" {
            op.to_owned()
        } else {
            format!("{pre}{op}{}", if ifx { "IfExists" } else { "" })
        };
        serde_json::json!({ name: { key: vals } })
    })
}

fn arb_statement() -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        proptest::collection::vec(prop_oneof![
            2 => Just("s3:*".to_owned()),
            1 => Just("*".to_owned()),
            3 => arb_glob("abAB").prop_map(|g| format!("s3:{g}*")),
            2 => arb_glob("abAB").prop_map(|g| if g.is_empty() { "*".to_owned() } else { format!("s3:{g}") }),
        ], 1..3),
        proptest::collection::vec(prop_oneof![
            2 => arb_glob("ab/:").prop_map(|g| format!("arn:aws:s3:::{g}")),
            3 => Just("*".to_owned()),
            1 => Just("arn:aws:s3:::${aws:username}/*".to_owned()),
            1 => Just("arn:aws:s3:::${aws:PrincipalTag/team}*".to_owned()),
        ], 1..3),
        any::<bool>(),
        proptest::option::of(arb_condition()),
    )
        .prop_map(|(allow, actions, resources, not_action, cond)| {
            let mut s = serde_json::json!({ "Effect": if allow { "Allow" } else { "Deny" }, "Resource": resources });
            s[if not_action { "NotAction" } else { "Action" }] = serde_json::json!(actions);
            if let Some(c) = cond {
                s["Condition"] = c;
            }
            s
        })
}

fn arb_policy() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        proptest::collection::vec(arb_statement(), 1..4),
    )
        .prop_map(|(v2012, st)| {
            let mut d = serde_json::json!({ "Statement": st });
            if v2012 {
                d["Version"] = "2012-10-17".into();
            }
            d.to_string()
        })
}

fn arb_request() -> impl Strategy<Value = (String, String, Vec<(String, Value)>)> {
    // Every key present 3 times in 4, with values drawn from the same small ranges as the
    // policies, so that equalities and boundaries are actually hit.
    let some = |s: BoxedStrategy<Value>| proptest::option::weighted(0.75, s);
    let word = || {
        proptest::collection::vec(proptest::sample::select(vec!["a", "b", "A"]), 0..3)
            .prop_map(|v| v.concat())
    };
    (
        proptest::sample::select(vec!["s3:a", "s3:B", "s3:ab", "s3:", "iam:a"])
            .prop_map(str::to_owned),
        prop_oneof![
            proptest::sample::select(vec![
                "arn:aws:s3:::ab/x",
                "arn:aws:s3:::a",
                "arn:aws:s3:::ab/a:b"
            ])
            .prop_map(str::to_owned),
            arb_glob("ab/:").prop_map(|g| format!("arn:aws:s3:::{}", g.replace(['*', '?'], "b"))),
        ],
        some(word().prop_map(Value::from).boxed()),
        some(
            proptest::collection::vec(word(), 0..3)
                .prop_map(Value::from)
                .boxed(),
        ),
        some(
            prop_oneof![
                Just(Value::from("10.1.2.3")),
                Just(Value::from("192.0.2.1")),
                Just(Value::from("2001:db8::1"))
            ]
            .boxed(),
        ),
        some(
            prop_oneof![
                (0u32..6).prop_map(Value::from),
                any::<bool>().prop_map(Value::from)
            ]
            .boxed(),
        ),
    )
        .prop_map(|(action, resource, team, tags, ip, age)| {
            let ctx = [
                ("aws:PrincipalTag/team", team),
                ("aws:TagKeys", tags),
                ("aws:SourceIp", ip),
                ("aws:MultiFactorAuthAge", age),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
            .collect();
            (action, resource, ctx)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn matches_reference(
        identity in proptest::collection::vec(arb_policy(), 0..3),
        boundary in proptest::option::of(arb_policy()),
        session in proptest::option::of(proptest::collection::vec(arb_policy(), 0..2)),
        role in any::<bool>(),
        (action, resource, ctx) in arb_request(),
    ) {
        let principal = if role {
            PrincipalView::assumed_role("arn:aws:iam::111122223333:role/r", "AROAR", "s")
        } else {
            PrincipalView::user("arn:aws:iam::111122223333:user/ab", "AIDAAB")
        };
        let mut b = RequestContext::builder(principal, &action, &resource);
        for (k, v) in &ctx {
            b = b.set(k, context_value(v));
        }
        let req = b.build();
        let compile = |t: &String| Policy::parse(t, PolicyKind::Identity).unwrap();
        let ids: Vec<(String, Policy)> = identity.iter().enumerate().map(|(i, t)| (format!("identity/{i}"), compile(t))).collect();
        let pols = CasePolicies {
            identity: ids,
            resource: None,
            boundary: boundary.as_ref().map(compile),
            session: session.as_ref().map(|s| s.iter().enumerate().map(|(i, t)| (format!("session/{i}"), compile(t))).collect()),
        };
        let real = evaluate_case(&pols, &req);
        let naive = reference::decide(&req, &identity, boundary.as_deref(), session.as_deref());
        prop_assert_eq!(real.decision, naive, "{}", real);
    }
}

#[test]
fn reference_agrees_on_corpus_identity_cases() {
    // The naive evaluator handles identity/boundary/session sets; every such corpus case must
    // agree with it too (a second, independent reading of the same rules).
    let cases: Vec<Value> = serde_json::from_str(CORPUS).unwrap();
    let mut checked = 0;
    for case in &cases {
        let p = &case["policies"];
        if p.get("resource").is_some() {
            continue;
        }
        let texts = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .map(|d| serde_json::to_string(d).unwrap())
                        .collect()
                })
                .unwrap_or_default()
        };
        let identity = texts(&p["identity"]);
        let boundary = p.get("boundary").map(|d| serde_json::to_string(d).unwrap());
        let session = p.get("session").map(texts);
        let req = request_from_json(&case["request"]);
        let want = reference::decide(&req, &identity, boundary.as_deref(), session.as_deref());
        let got = evaluate_case(&policies_from_json(case), &req).decision;
        assert_eq!(got, want, "{}", case["name"]);
        checked += 1;
    }
    assert!(checked > 100, "{checked}");
}

#[test]
fn identity_document_passed_as_resource_policy_names_nobody() {
    // Misuse guard: a statement without Principal on the resource side must not grant alone.
    let pol = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
        PolicyKind::Identity,
    )
    .unwrap();
    let req = RequestContext::builder(
        PrincipalView::user("arn:aws:iam::111122223333:user/u", "AIDAU"),
        "s3:GetObject",
        "*",
    )
    .build();
    let set = PolicySet {
        resource: Some(ResourcePolicyRef {
            id: "r",
            policy: &pol,
            owner_account: "111122223333",
        }),
        ..PolicySet::default()
    };
    assert_eq!(evaluate(&req, &set).reason, Reason::NoAllowInIdentity);
}

#[test]
fn keys_lookup_is_by_lowercase() {
    let req = RequestContext::builder(PrincipalView::root("111122223333"), "iam:GetUser", "*")
        .principal_tags([("CostCenter", "42")])
        .build();
    assert!(req.get("aws:principaltag/costcenter").is_some());
    assert!(req.get("aws:PrincipalTag/CostCenter").is_none());
}

/// `Policy::allows_action_in`: Allow statements only, resources and conditions ignored; with a
/// list of the namespace's actions each is tried, without one the patterns decide.
#[test]
fn allows_action_in_a_namespace() {
    let iam: &[&str] = &["GetUser", "ListUsers", "CreateUser"];
    let cases: &[(&str, bool, bool)] = &[
        // (statement, grants iam (listed), grants s3 (unlisted))
        (
            r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#,
            true,
            true,
        ),
        (
            r#"{"Effect":"Allow","Action":"iam:Get*","Resource":"arn:aws:iam::1:user/x"}"#,
            true,
            false,
        ),
        (
            r#"{"Effect":"Allow","Action":"iam:Nope*","Resource":"*"}"#,
            false,
            false,
        ),
        (
            r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}"#,
            false,
            true,
        ),
        (
            r#"{"Effect":"Deny","Action":"*","Resource":"*"}"#,
            false,
            false,
        ),
        (
            r#"{"Effect":"Allow","NotAction":["iam:*","s3:*"],"Resource":"*"}"#,
            false,
            false,
        ),
        (
            r#"{"Effect":"Allow","NotAction":"iam:Get*","Resource":"*"}"#,
            true,
            true,
        ),
        (
            r#"{"Effect":"Allow","NotAction":["iam:GetUser","iam:ListUsers","iam:CreateUser"],"Resource":"*"}"#,
            false,
            true,
        ),
    ];
    for (stmt, grants_iam, grants_s3) in cases {
        let doc = format!(r#"{{"Version":"2012-10-17","Statement":[{stmt}]}}"#);
        let p = Policy::parse(&doc, PolicyKind::Identity).unwrap();
        assert_eq!(p.allows_action_in("iam", Some(iam)), *grants_iam, "{stmt}");
        assert_eq!(p.allows_action_in("s3", None), *grants_s3, "{stmt}");
    }
}

// --- documents an independent suite disputed, each settled from AWS's documentation -----------

const ALLOW_ALL: &str = r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}"#;

fn malformed_message(json: &str, kind: PolicyKind) -> String {
    match Policy::parse(json, kind) {
        Ok(_) => panic!("accepted: {json}"),
        Err(e) => {
            assert_eq!(e.code(), "MalformedPolicyDocument", "{json}");
            e.message
        }
    }
}

fn trust_stmt(extra: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"111122223333"}},"Action":"sts:AssumeRole"{extra}}}]}}"#
    )
}

/// Condition keys need a vendor prefix. https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html#access-analyzer-reference-policy-checks-error-invalid-condition-key-format
/// lists it as an *error* (errors: "your policy includes lines that prevent the policy from
/// functioning"): "The condition key format is not valid. Use the format service:keyname."; and
/// reference_policies_elements_condition: "Global condition keys have the aws: prefix.
/// Service-specific condition keys have the service's prefix." No tool sends such a key, so the
/// refusal (AWS's text names Conditions: "Actions/Conditions must be prefaced by a vendor")
/// stays, for every kind of policy.
#[test]
fn dispute_condition_key_without_vendor_is_refused() {
    let cond = r#","Condition":{"StringEquals":{"username":"alice"}}"#;
    let id = identity_stmt(&format!(
        r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"{cond}}}"#
    ));
    for (json, kind) in [
        (id, PolicyKind::Identity),
        (trust_stmt(cond), PolicyKind::Trust),
    ] {
        assert_eq!(
            malformed_message(&json, kind),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
        );
    }
}

/// A Resource ARN needs all six fields. https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html#access-analyzer-reference-policy-checks-error-missing-arn-field
/// is an error: "Resource ARNs must include at least {{fields}} fields in the following
/// structure: arn:partition:service:region:account:resource". `arn:aws:fdsasf` names nothing
/// and no tool writes it, so the refusal stays.
#[test]
fn dispute_short_arn_in_resource_is_refused() {
    let json =
        identity_stmt(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:fdsasf"}"#);
    assert_eq!(
        malformed_message(&json, PolicyKind::Identity),
        "Resource arn:aws:fdsasf must be in ARN format or \"*\"."
    );
}

/// An operator with no keys is accepted and constrains nothing.
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html#access-analyzer-reference-policy-checks-suggestion-empty-object-condition
/// makes it a *suggestion* (suggestions: "improvements that don't impact the permissions of the
/// policy"): "This condition block is empty and it does not affect the policy. ... Remove the
/// optional element or specify conditions." Removing it changes nothing, so the statement
/// evaluates as if it were absent.
#[test]
fn dispute_empty_operator_block_is_accepted() {
    let id = identity_stmt(
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringEquals":{}}}"#,
    );
    let pol = Policy::parse(&id, PolicyKind::Identity).unwrap();
    let req = RequestContext::builder(
        PrincipalView::user("arn:aws:iam::111122223333:user/u", "AIDAU"),
        "s3:ListBucket",
        "arn:aws:s3:::b",
    )
    .build();
    let refs = [PolicyRef {
        id: "identity/0",
        policy: &pol,
    }];
    let set = PolicySet {
        identity: &refs,
        ..PolicySet::default()
    };
    assert_eq!(evaluate(&req, &set).decision, Decision::Allowed);
    // The same block next to a real one leaves that one in force.
    let both = identity_stmt(
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringEquals":{},"StringLike":{"aws:username":"bob"}}}"#,
    );
    let pol = Policy::parse(&both, PolicyKind::Identity).unwrap();
    let refs = [PolicyRef {
        id: "identity/0",
        policy: &pol,
    }];
    let set = PolicySet {
        identity: &refs,
        ..PolicySet::default()
    };
    assert_eq!(evaluate(&req, &set).decision, Decision::ImplicitDeny);
    // Trust policies take it too.
    Policy::parse(
        &trust_stmt(r#","Condition":{"StringEquals":{}}"#),
        PolicyKind::Trust,
    )
    .unwrap();
}

/// A missing Version: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
/// writes `<version_block?>` (optional) and troubleshoot_policies.html#missing-version says
/// "The default policy version is "2008-10-17."": inline, trust and session policies take it.
/// A managed policy must say 2012-10-17: AWS answers "Policy document must be version
/// 2012-10-17 or greater." (observed live for a version-less CreatePolicy,
/// https://github.com/Meteor-Community-Packages/Meteor-CollectionFS/issues/630; AWS-REFERENCE §6).
#[test]
fn dispute_missing_version() {
    let json = format!(r#"{{"Statement":[{ALLOW_ALL}]}}"#);
    let inline = Policy::parse(&json, PolicyKind::Identity).unwrap();
    assert_eq!(inline.version(), PolicyVersion::V2008_10_17);
    let trust = r#"{"Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
    Policy::parse(trust, PolicyKind::Trust).unwrap();
    assert_eq!(
        Policy::parse_managed(&json).unwrap_err().message,
        "Policy document must be version 2012-10-17 or greater."
    );
    // JSON shape errors come first, the version before the statements' contents.
    assert_eq!(
        Policy::parse_managed(r#"{"Statement":[]}"#)
            .unwrap_err()
            .message,
        "Syntax errors in policy."
    );
    assert_eq!(
        Policy::parse_managed(r#"{"Statement":{"Effect":"Allow","Action":"s3"}}"#)
            .unwrap_err()
            .message,
        "Policy document must be version 2012-10-17 or greater."
    );
    let current = format!(r#"{{"Version":"2012-10-17","Statement":[{ALLOW_ALL}]}}"#);
    assert_eq!(
        Policy::parse_managed(&current).unwrap().version(),
        PolicyVersion::V2012_10_17
    );
}

/// Version 2008-10-17: the grammar's `"Version" : ("2008-10-17" | "2012-10-17")` and
/// reference_policies_elements_version.html ("2008-10-17. This was an earlier version of the
/// policy language. ... variables ... are instead treated as literal strings") keep it valid for
/// inline, trust and session policies; a managed policy gets AWS's "must be version 2012-10-17 or
/// greater" (the text itself rules out 2008-10-17).
#[test]
fn dispute_version_2008() {
    let json = format!(r#"{{"Version":"2008-10-17","Statement":[{ALLOW_ALL}]}}"#);
    assert_eq!(
        Policy::parse(&json, PolicyKind::Identity)
            .unwrap()
            .version(),
        PolicyVersion::V2008_10_17
    );
    assert_eq!(
        Policy::parse_managed(&json).unwrap_err().message,
        "Policy document must be version 2012-10-17 or greater."
    );
}

/// `"Statement": []`: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_statement.html
/// "The Statement element is the main element for a policy. This element is required.", the
/// grammar's arrays "can take one or more values", and Access Analyzer's "Missing statement"
/// error: "A JSON policy must include a statement." Refused for every kind.
#[test]
fn dispute_empty_statement_list_is_refused() {
    for kind in [
        PolicyKind::Identity,
        PolicyKind::Trust,
        PolicyKind::Resource,
    ] {
        assert_eq!(
            malformed_message(r#"{"Version":"2012-10-17","Statement":[]}"#, kind),
            "Syntax errors in policy."
        );
        assert_eq!(
            malformed_message(r#"{"Statement":[]}"#, kind),
            "Syntax errors in policy."
        );
    }
    assert_eq!(
        Policy::parse_managed(r#"{"Version":"2012-10-17","Statement":[]}"#)
            .unwrap_err()
            .message,
        "Syntax errors in policy."
    );
}

/// `arn:aws:iam:::x`: an IAM resource names one of IAM's resource types
/// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html#awsidentityandaccessmanagementiam-resources-for-iam-policies),
/// and Access Analyzer's "Invalid ARN resource" is an error: "Resource ARN does not match the
/// expected ARN format." IAM's text for it lists the types (as reproduced by moto,
/// getmoto/moto tests/test_iam/test_iam_policies.py: an [E] source).
#[test]
fn dispute_iam_resource_without_type_is_refused() {
    let want = "IAM resource path must either be \"*\" or start with user/, federated-user/, role/, group/, instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/.";
    for r in [
        "arn:aws:iam:::x",
        "arn:aws:iam::111122223333:users/a",
        "arn:aws:iam::111122223333:",
    ] {
        let json = identity_stmt(&format!(
            r#"{{"Effect":"Allow","Action":"iam:GetUser","Resource":"{r}"}}"#
        ));
        assert_eq!(malformed_message(&json, PolicyKind::Identity), want, "{r}");
    }
    for r in [
        "arn:aws:iam::111122223333:user/a",
        "arn:aws:iam::*:*",
        "arn:aws:iam::111122223333:role/${aws:username}",
        "arn:aws:iam:::user/example",
        "arn:aws:iam::111122223333:server-certificate/c",
    ] {
        let json = identity_stmt(&format!(
            r#"{{"Effect":"Allow","Action":"iam:GetUser","Resource":"{r}"}}"#
        ));
        Policy::parse(&json, PolicyKind::Identity).unwrap_or_else(|e| panic!("{r}: {e}"));
    }
    // The region check comes first, as before.
    let json = identity_stmt(
        r#"{"Effect":"Allow","Action":"iam:GetUser","Resource":"arn:aws:iam:us-east-1::x"}"#,
    );
    assert_eq!(
        malformed_message(&json, PolicyKind::Identity),
        "IAM resource arn:aws:iam:us-east-1::x cannot contain region information."
    );
}

#[test]
fn every_reason_reads_as_a_sentence() {
    use crate::policy::eval::{PolicyType as T, Reason as R};
    let cases = [
        (
            R::ExplicitDenyIn(T::Session),
            "explicit deny in session policy",
        ),
        (R::RootUser, "allowed: account root user"),
        (R::IdentityAllowed, "allowed by identity policy"),
        (
            R::ResourceGrantsPrincipal(T::Trust),
            "allowed: trust policy names the principal",
        ),
        (
            R::ResourceGrantsRole(T::Resource),
            "allowed: resource policy names the principal's role",
        ),
        (
            R::CrossAccountAllowed,
            "allowed: cross-account, both accounts allow",
        ),
        (
            R::NoAllowInIdentity,
            "implicit deny: no identity policy allows",
        ),
        (
            R::NoAllowInTrust,
            "implicit deny: trust policy does not allow the principal",
        ),
        (
            R::BoundaryDenied,
            "implicit deny: permissions boundary does not allow",
        ),
        (
            R::SessionPolicyDenied,
            "implicit deny: session policy does not allow",
        ),
        (
            R::CrossAccountNeedsBoth(T::PermissionsBoundary),
            "implicit deny: cross-account access needs both sides, permissions boundary does not allow",
        ),
    ];
    for (reason, text) in cases {
        assert_eq!(reason.to_string(), text);
    }
}
