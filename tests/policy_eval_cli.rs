//! `tessera policy eval`: the offline evaluator through the real binary (exit codes, JSON out).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers outside #[test] functions fail loudly by design"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

struct Run {
    code: i32,
    out: Value,
    stderr: String,
}

fn eval(args: &[&str]) -> Run {
    let o = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("policy")
        .arg("eval")
        .args(args)
        // Offline: no data dir, no config are read; run from an empty directory to prove it.
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8(o.stdout).unwrap();
    Run {
        code: o.status.code().unwrap(),
        out: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8(o.stderr).unwrap(),
    }
}

fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const READ: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Read", "Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::bucket/*"},
    {"Sid": "NoSecrets", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::bucket/secret/*"}
  ]
}"#;

#[test]
fn allowed_exits_zero_with_matched_statements() {
    let d = tempfile::tempdir().unwrap();
    let p = file(d.path(), "read.json", READ);
    let r = eval(&[
        "--policy",
        s(&p),
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::bucket/a",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.out["decision"], "allowed");
    assert_eq!(r.out["reason"], "allowed by identity policy");
    let m = &r.out["matched"][0];
    assert_eq!(m["policy"], s(&p));
    assert_eq!(m["sid"], "Read");
    assert_eq!(m["effect"], "Allow");
    assert_eq!(m["statement"], 0);
    assert_eq!(m["start"], serde_json::json!({"line": 4, "column": 6}));
    assert_eq!(m["end"], serde_json::json!({"line": 4, "column": 97}));
    assert_eq!(r.out["missing_keys"], serde_json::json!([]));
}

#[test]
fn denied_exits_one() {
    let d = tempfile::tempdir().unwrap();
    let p = file(d.path(), "read.json", READ);
    let r = eval(&[
        "--policy",
        s(&p),
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::bucket/secret/x",
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(r.out["decision"], "explicitDeny");
    assert_eq!(r.out["reason"], "explicit deny in identity policy");
    assert_eq!(r.out["matched"].as_array().unwrap().len(), 2);

    let r = eval(&[
        "--policy",
        s(&p),
        "--action",
        "s3:PutObject",
        "--resource",
        "arn:aws:s3:::bucket/a",
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(r.out["decision"], "implicitDeny");
    assert_eq!(r.out["reason"], "implicit deny: no identity policy allows");
}

#[test]
fn boundary_session_policy_and_context() {
    let d = tempfile::tempdir().unwrap();
    let all = file(
        d.path(),
        "all.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    );
    let boundary = file(
        d.path(),
        "boundary.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}]}"#,
    );
    let ctx = file(
        d.path(),
        "ctx.json",
        r#"{"aws:SourceIp": {"type": "ip", "value": "10.1.2.3"}, "aws:CurrentTime": {"type": "date", "value": "2025-06-01T00:00:00Z"}}"#,
    );
    let r = eval(&[
        "--policy",
        s(&all),
        "--boundary",
        s(&boundary),
        "--action",
        "s3:ListBucket",
        "--context",
        s(&ctx),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // Without the context the boundary's condition cannot hold: the missing key is named.
    let r = eval(&[
        "--policy",
        s(&all),
        "--boundary",
        s(&boundary),
        "--action",
        "s3:ListBucket",
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.out["reason"],
        "implicit deny: permissions boundary does not allow"
    );
    assert_eq!(r.out["missing_keys"][0], "aws:currenttime");

    // A role session with a session policy that does not cover the action.
    let session = file(
        d.path(),
        "session.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
    );
    let args = [
        "--policy",
        s(&all),
        "--session-policy",
        s(&session),
        "--principal-arn",
        "arn:aws:sts::111122223333:assumed-role/deploy/ci",
    ];
    let r = eval(&[&args[..], &["--action", "s3:PutObject"]].concat());
    assert_eq!(r.code, 1);
    assert_eq!(
        r.out["reason"],
        "implicit deny: session policy does not allow"
    );
    let r = eval(&[&args[..], &["--action", "s3:GetObject"]].concat());
    assert_eq!(r.code, 0);
    assert_eq!(
        r.out["principal"],
        "arn:aws:sts::111122223333:assumed-role/deploy/ci"
    );

    // Plain JSON context values: string, number, boolean, list.
    let pol = file(
        d.path(),
        "cond.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"s3:prefix":"home/"},"NumericLessThan":{"s3:max-keys":10},"Bool":{"aws:SecureTransport":true},"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}}]}"#,
    );
    let ctx = file(
        d.path(),
        "ctx2.json",
        r#"{"s3:prefix": "home/", "s3:max-keys": 5, "aws:SecureTransport": true, "aws:TagKeys": ["a"]}"#,
    );
    let r = eval(&[
        "--policy",
        s(&pol),
        "--action",
        "s3:GetObject",
        "--context",
        s(&ctx),
    ]);
    assert_eq!(r.code, 0, "{} {}", r.out, r.stderr);
}

#[test]
fn resource_and_trust_policies() {
    let d = tempfile::tempdir().unwrap();
    let assume = file(
        d.path(),
        "assume.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#,
    );
    let trust = file(
        d.path(),
        "trust.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}]}"#,
    );
    let base = [
        "--resource-policy",
        s(&trust),
        "--trust",
        "--action",
        "sts:AssumeRole",
        "--resource",
        "arn:aws:iam::111122223333:role/r",
    ];
    // Named in the trust policy: allowed with no identity policy at all.
    let r = eval(
        &[
            &base[..],
            &["--principal-arn", "arn:aws:iam::111122223333:user/alice"],
        ]
        .concat(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.out["reason"], "allowed: trust policy names the principal");
    assert_eq!(r.out["matched"][0]["source_type"], "trust");
    // Not named: the identity Allow is not enough.
    let r = eval(
        &[
            &base[..],
            &[
                "--policy",
                s(&assume),
                "--principal-arn",
                "arn:aws:iam::111122223333:user/bob",
            ],
        ]
        .concat(),
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.out["reason"],
        "implicit deny: trust policy does not allow the principal"
    );

    // Cross-account resource policy: both sides must allow.
    let bucket = file(
        d.path(),
        "bucket.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
    );
    let read = file(d.path(), "read.json", READ);
    let cross = [
        "--resource-policy",
        s(&bucket),
        "--resource-owner",
        "arn:aws:iam::444455556666:root",
        "--principal-arn",
        "arn:aws:iam::111122223333:user/alice",
        "--action",
        "s3:GetObject",
    ];
    let r = eval(
        &[
            &cross[..],
            &["--resource", "arn:aws:s3:::b/k", "--policy", s(&assume)],
        ]
        .concat(),
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.out["reason"],
        "implicit deny: cross-account access needs both sides, identity policy does not allow"
    );
    let everything = file(
        d.path(),
        "everything.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
    );
    let r = eval(
        &[
            &cross[..],
            &[
                "--resource",
                "arn:aws:s3:::b/k",
                "--policy",
                s(&everything),
                "--policy",
                s(&read),
            ],
        ]
        .concat(),
    );
    assert_eq!(r.code, 0, "{}", r.out);
    assert_eq!(
        r.out["reason"],
        "allowed: cross-account, both accounts allow"
    );
}

#[test]
fn bad_input_exits_two() {
    let d = tempfile::tempdir().unwrap();
    let good = file(d.path(), "good.json", READ);
    let no_resource = file(
        d.path(),
        "bad.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}"#,
    );
    let r = eval(&["--policy", s(&no_resource), "--action", "s3:GetObject"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("MalformedPolicyDocument: Policy statement must contain resources."),
        "{}",
        r.stderr
    );
    assert_eq!(r.out, Value::Null, "nothing on stdout");

    let missing = d.path().join("nope.json");
    let r = eval(&["--policy", s(&missing), "--action", "s3:GetObject"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("nope.json"), "{}", r.stderr);

    let ctx = file(
        d.path(),
        "ctx.json",
        r#"{"aws:SourceIp": {"type": "ip", "value": "not-an-ip"}}"#,
    );
    let r = eval(&[
        "--policy",
        s(&good),
        "--action",
        "s3:GetObject",
        "--context",
        s(&ctx),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("aws:SourceIp"), "{}", r.stderr);
    let ctx = file(d.path(), "ctx2.json", "[1, 2]");
    assert_eq!(
        eval(&[
            "--policy",
            s(&good),
            "--action",
            "s3:GetObject",
            "--context",
            s(&ctx)
        ])
        .code,
        2
    );

    let r = eval(&[
        "--policy",
        s(&good),
        "--action",
        "s3:GetObject",
        "--principal-arn",
        "arn:aws:s3:::bucket",
    ]);
    assert_eq!(r.code, 2);
    // A resource policy names principals: the caller must be given.
    let r = eval(&["--resource-policy", s(&good), "--action", "s3:GetObject"]);
    assert_eq!(r.code, 2);
    // A trust policy must be a valid one.
    let r = eval(&[
        "--resource-policy",
        s(&good),
        "--trust",
        "--principal-arn",
        "arn:aws:iam::111122223333:user/a",
        "--action",
        "sts:AssumeRole",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("MalformedPolicyDocument"), "{}", r.stderr);
    // Usage errors (clap) also exit 2.
    assert_eq!(eval(&["--policy", s(&good)]).code, 2);
    assert_eq!(eval(&["--action", "s3:GetObject"]).code, 2);
}
