//! Policy evaluation benchmarks: compile once, then decide.
//! (a) a 3-statement trust policy with two conditions (target < 1 µs per decision);
//! (b) 10 identity policies × 10 statements with wildcards and conditions, plus a permissions
//!     boundary and a session policy (target < 20 µs per decision).
//! Run: `nice cargo bench --bench policy`.
#![allow(
    clippy::unwrap_used,
    reason = "benchmark setup: a broken fixture should abort loudly"
)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use chrono::DateTime;
use criterion::{Criterion, criterion_group, criterion_main};
use tessera::policy::{
    Decision, Policy, PolicyKind, PolicyRef, PolicySet, PrincipalView, RequestContext,
    ResourcePolicyRef, evaluate,
};

const ACCT: &str = "111122223333";

fn trust_policy() -> Policy {
    let json = r#"{
      "Version": "2012-10-17",
      "Statement": [
        {"Sid": "Ci", "Effect": "Allow",
         "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},
         "Action": "sts:AssumeRoleWithWebIdentity",
         "Condition": {
           "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
           "StringLike": {"token.actions.githubusercontent.com:sub": "repo:Org/*:ref:refs/heads/main"}}},
        {"Sid": "Humans", "Effect": "Allow", "Principal": {"AWS": "111122223333"},
         "Action": ["sts:AssumeRole", "sts:TagSession"]},
        {"Sid": "NoOldTls", "Effect": "Deny", "Principal": "*", "Action": "sts:*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
      ]
    }"#;
    Policy::parse(json, PolicyKind::Trust).unwrap()
}

fn identity_policy(n: usize) -> Policy {
    let stmts: Vec<String> = (0..10)
        .map(|i| {
            let effect = if i == 9 { "Deny" } else { "Allow" };
            format!(
                r#"{{"Sid":"S{n}x{i}","Effect":"{effect}","Action":["s3:Get*","s3:List*","iam:*User{i}","ec2:Describe?nstances"],
                   "Resource":["arn:aws:s3:::bucket-{n}/${{aws:username}}/*","arn:aws:s3:::shared-{i}/*","arn:aws:iam::*:user/team-{i}/*"],
                   "Condition":{{"StringEquals":{{"aws:PrincipalTag/team":["blue","green-{i}"]}},
                                "IpAddress":{{"aws:SourceIp":["10.0.0.0/8","192.0.2.0/24"]}},
                                "DateLessThan":{{"aws:CurrentTime":"2030-01-01T00:00:00Z"}},
                                "ForAllValues:StringLike":{{"aws:TagKeys":["team","cost-*"]}}}}}}"#
            )
        })
        .collect();
    let json = format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        stmts.join(",")
    );
    Policy::parse(&json, PolicyKind::Identity).unwrap()
}

fn bench(c: &mut Criterion) {
    // (a) trust policy
    let trust = trust_policy();
    let gh = PrincipalView::web_identity(
        "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com",
    );
    let req_a = RequestContext::builder(
        gh,
        "sts:AssumeRoleWithWebIdentity",
        "arn:aws:iam::111122223333:role/ci",
    )
    .string(
        "token.actions.githubusercontent.com:aud",
        "sts.amazonaws.com",
    )
    .string(
        "token.actions.githubusercontent.com:sub",
        "repo:Org/app:ref:refs/heads/main",
    )
    .secure_transport(true)
    .build();
    let set_a = PolicySet {
        resource: Some(ResourcePolicyRef {
            id: "arn:aws:iam::111122223333:role/ci",
            policy: &trust,
            owner_account: ACCT,
        }),
        ..PolicySet::default()
    };
    assert_eq!(evaluate(&req_a, &set_a).decision, Decision::Allowed);
    c.bench_function("trust_3_statements_2_conditions", |b| {
        b.iter(|| evaluate(black_box(&req_a), black_box(&set_a)))
    });

    // (b) 10 × 10 identity statements + boundary + session policy
    let policies: Vec<(String, Policy)> = (0..10)
        .map(|n| {
            (
                format!("arn:aws:iam::{ACCT}:policy/p{n}"),
                identity_policy(n),
            )
        })
        .collect();
    let refs: Vec<PolicyRef<'_>> = policies
        .iter()
        .map(|(id, p)| PolicyRef { id, policy: p })
        .collect();
    let boundary = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","iam:Get*"],"Resource":"*"},
           {"Effect":"Deny","Action":"iam:*","Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}"#,
        PolicyKind::Identity,
    )
    .unwrap();
    let session = [Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::*"}]}"#,
        PolicyKind::Identity,
    )
    .unwrap()];
    let session_refs = [PolicyRef {
        id: "session/0",
        policy: &session[0],
    }];
    let set_b = PolicySet {
        identity: &refs,
        boundary: Some(PolicyRef {
            id: "arn:aws:iam::111122223333:policy/boundary",
            policy: &boundary,
        }),
        session: Some(&session_refs),
        ..PolicySet::default()
    };
    let role = PrincipalView::assumed_role(
        "arn:aws:iam::111122223333:role/app",
        "AROAAPP0000000000001",
        "worker",
    );
    let req_b = RequestContext::builder(role, "s3:GetObject", "arn:aws:s3:::shared-3/report.csv")
        .principal_tags([("team", "blue")])
        .source_ip(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)))
        .current_time(DateTime::from_timestamp(1_717_243_200, 0).unwrap())
        .strings("aws:TagKeys", ["team"])
        .mfa(true, Some(120))
        .build();
    assert_eq!(evaluate(&req_b, &set_b).decision, Decision::Allowed);
    c.bench_function("identity_10x10_boundary_session", |b| {
        b.iter(|| evaluate(black_box(&req_b), black_box(&set_b)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
