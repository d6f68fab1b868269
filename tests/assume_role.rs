//! AssumeRole end to end through aws-sdk-rust: trust policies, identity policies, cross-account,
//! ExternalId, MFA, session tags, ABAC, source identity, chaining, durations, session policies,
//! revoke-older-sessions, expiry, and the audit trail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod common;

use std::time::Duration;

use aws_sdk_iam::error::ProvideErrorMetadata as _;
use aws_sdk_sts::types::{PolicyDescriptorType, Tag};
use common::{Creds, TestServer, code, iam_code, message, totp};
use serde_json::json;

const A: &str = "000000000000";

fn trust(
    principal: serde_json::Value,
    actions: &[&str],
    condition: Option<serde_json::Value>,
) -> String {
    let mut stmt = json!({"Effect": "Allow", "Principal": principal, "Action": actions});
    if let Some(c) = condition {
        stmt["Condition"] = c;
    }
    json!({"Version": "2012-10-17", "Statement": [stmt]}).to_string()
}

fn allow(actions: &[&str], resource: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}).to_string()
}

async fn role(s: &TestServer, name: &str, trust_doc: &str) -> String {
    let out = s
        .iam(&s.root)
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust_doc)
        .send()
        .await
        .unwrap();
    out.role().unwrap().arn().to_owned()
}

/// A role whose trust policy allows one user of account A to call `sts:AssumeRole`.
async fn role_trusting_user(s: &TestServer, name: &str, user: &str) -> String {
    let principal = json!({"AWS": format!("arn:aws:iam::{A}:user/{user}")});
    role(s, name, &trust(principal, &["sts:AssumeRole"], None)).await
}

async fn user_policy(s: &TestServer, user: &str, doc: &str) {
    s.iam(&s.root)
        .put_user_policy()
        .user_name(user)
        .policy_name("p")
        .policy_document(doc)
        .send()
        .await
        .unwrap();
}

async fn role_policy(s: &TestServer, r: &str, name: &str, doc: &str) {
    s.iam(&s.root)
        .put_role_policy()
        .role_name(r)
        .policy_name(name)
        .policy_document(doc)
        .send()
        .await
        .unwrap();
}

async fn assume(
    s: &TestServer,
    who: &Creds,
    arn: &str,
) -> Result<aws_sdk_sts::operation::assume_role::AssumeRoleOutput, String> {
    s.sts(who)
        .assume_role()
        .role_arn(arn)
        .role_session_name("s1")
        .send()
        .await
        .map_err(|e| format!("{}: {}", code(&e), message(&e)))
}

#[tokio::test]
async fn same_account_user_named_in_trust_needs_no_identity_policy() {
    let s = TestServer::start().await;
    let alice = s.user_with_key("alice").await;
    let arn = role_trusting_user(&s, "deploy", "alice").await;
    let out = s
        .sts(&alice)
        .assume_role()
        .role_arn(&arn)
        .role_session_name("ci-run-1")
        .send()
        .await
        .unwrap();
    let u = out.assumed_role_user().unwrap();
    assert_eq!(
        u.arn(),
        format!("arn:aws:sts::{A}:assumed-role/deploy/ci-run-1")
    );
    assert!(u.assumed_role_id().starts_with("AROA") && u.assumed_role_id().ends_with(":ci-run-1"));
    assert_eq!(out.packed_policy_size(), Some(0));
    let c = out.credentials().unwrap();
    let left = c.expiration().secs() - s.clock.now().timestamp();
    assert!(
        (3590..=3600).contains(&left),
        "default duration is one hour, got {left}"
    );
    let me = s
        .sts(&Creds::from(c))
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:sts::{A}:assumed-role/deploy/ci-run-1").as_str())
    );
    assert_eq!(me.user_id(), Some(u.assumed_role_id()));

    // Another user is not trusted.
    let bob = s.user_with_key("bob").await;
    let e = assume(&s, &bob, &arn).await.unwrap_err();
    assert_eq!(
        e,
        format!(
            "AccessDenied: User: arn:aws:iam::{A}:user/bob is not authorized to perform: sts:AssumeRole on resource: {arn}"
        )
    );
}

#[tokio::test]
async fn account_trust_needs_identity_policy_and_explicit_deny_wins() {
    let s = TestServer::start().await;
    let carol = s.user_with_key("carol").await;
    let arn = role(
        &s,
        "ops",
        &trust(json!({"AWS": A}), &["sts:AssumeRole"], None),
    )
    .await;
    assert!(
        assume(&s, &carol, &arn)
            .await
            .unwrap_err()
            .starts_with("AccessDenied"),
        "account trust delegates to identity policies"
    );
    user_policy(&s, "carol", &allow(&["sts:AssumeRole"], &arn)).await;
    assume(&s, &carol, &arn).await.unwrap();

    // An explicit deny on the caller side wins, even over a trust policy naming the user.
    let arn2 = role_trusting_user(&s, "named", "carol").await;
    assume(&s, &carol, &arn2).await.unwrap();
    let deny = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"},
        {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": arn2}]})
    .to_string();
    user_policy(&s, "carol", &deny).await;
    assert!(
        assume(&s, &carol, &arn2)
            .await
            .unwrap_err()
            .starts_with("AccessDenied")
    );
    assume(&s, &carol, &arn).await.unwrap();
}

#[tokio::test]
async fn root_cannot_assume_and_missing_role_is_access_denied() {
    let s = TestServer::start().await;
    let arn = role(
        &s,
        "r",
        &trust(json!({"AWS": A}), &["sts:AssumeRole"], None),
    )
    .await;
    let e = assume(&s, &s.root, &arn).await.unwrap_err();
    assert_eq!(
        e,
        "AccessDenied: Roles may not be assumed by root accounts."
    );
    let dave = s.user_with_key("dave").await;
    user_policy(&s, "dave", &allow(&["sts:AssumeRole"], "*")).await;
    let missing = format!("arn:aws:iam::{A}:role/nope");
    let e = assume(&s, &dave, &missing).await.unwrap_err();
    assert_eq!(
        e,
        format!(
            "AccessDenied: User: arn:aws:iam::{A}:user/dave is not authorized to perform: sts:AssumeRole on resource: {missing}"
        )
    );
}

#[tokio::test]
async fn trust_principals_are_bound_to_unique_ids() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    // A principal that does not exist cannot be saved.
    let e = iam
        .create_role()
        .role_name("x")
        .assume_role_policy_document(trust(
            json!({"AWS": format!("arn:aws:iam::{A}:user/ghost")}),
            &["sts:AssumeRole"],
            None,
        ))
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "MalformedPolicyDocument");
    assert_eq!(
        e.as_service_error().and_then(|e| e.message()),
        Some(
            format!("Invalid principal in policy: \"AWS\":\"arn:aws:iam::{A}:user/ghost\"")
                .as_str()
        )
    );

    let erin = s.user_with_key("erin").await;
    let arn = role_trusting_user(&s, "bound", "erin").await;
    assume(&s, &erin, &arn).await.unwrap();
    // Delete and re-create erin: the old trust no longer matches the new user.
    iam.delete_access_key()
        .user_name("erin")
        .access_key_id(&erin.access_key_id)
        .send()
        .await
        .unwrap();
    iam.delete_user().user_name("erin").send().await.unwrap();
    let erin2 = s.user_with_key("erin").await;
    assert!(
        assume(&s, &erin2, &arn)
            .await
            .unwrap_err()
            .starts_with("AccessDenied")
    );
}

#[tokio::test]
async fn cross_account_needs_both_sides() {
    let s = TestServer::start().await;
    // The second account, made the way operators do it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["account", "create", "--id", "222233334444", "--data-dir"])
        .arg(s.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let b_root = Creds::new(
        v["AccessKeyId"].as_str().unwrap(),
        v["SecretAccessKey"].as_str().unwrap(),
    );
    let b_iam = s.iam(&b_root);
    b_iam.create_user().user_name("frank").send().await.unwrap();
    let k = b_iam
        .create_access_key()
        .user_name("frank")
        .send()
        .await
        .unwrap();
    let frank = Creds::new(
        k.access_key().unwrap().access_key_id(),
        k.access_key().unwrap().secret_access_key(),
    );

    let arn = role(
        &s,
        "shared",
        &trust(
            json!({"AWS": "arn:aws:iam::222233334444:root"}),
            &["sts:AssumeRole"],
            None,
        ),
    )
    .await;
    let e = assume(&s, &frank, &arn).await.unwrap_err();
    assert!(
        e.starts_with("AccessDenied"),
        "cross-account without the caller-side allow: {e}"
    );
    b_iam
        .put_user_policy()
        .user_name("frank")
        .policy_name("p")
        .policy_document(allow(&["sts:AssumeRole"], &arn))
        .send()
        .await
        .unwrap();
    let out = assume(&s, &frank, &arn).await.unwrap();
    assert_eq!(
        out.assumed_role_user().unwrap().arn(),
        format!("arn:aws:sts::{A}:assumed-role/shared/s1")
    );
    // A role in account A that does not trust account B stays closed.
    let arn2 = role(
        &s,
        "closed",
        &trust(json!({"AWS": A}), &["sts:AssumeRole"], None),
    )
    .await;
    assert!(
        assume(&s, &frank, &arn2)
            .await
            .unwrap_err()
            .starts_with("AccessDenied")
    );
}

#[tokio::test]
async fn external_id_absent_wrong_right() {
    let s = TestServer::start().await;
    let g = s.user_with_key("gina").await;
    let arn = role(
        &s,
        "vendor",
        &trust(
            json!({"AWS": format!("arn:aws:iam::{A}:user/gina")}),
            &["sts:AssumeRole"],
            Some(json!({"StringEquals": {"sts:ExternalId": "Unique-1234"}})),
        ),
    )
    .await;
    assert!(
        assume(&s, &g, &arn)
            .await
            .unwrap_err()
            .starts_with("AccessDenied")
    );
    let sts = s.sts(&g);
    let wrong = sts
        .assume_role()
        .role_arn(&arn)
        .role_session_name("s-s")
        .external_id("unique-1234")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&wrong), "AccessDenied");
    sts.assume_role()
        .role_arn(&arn)
        .role_session_name("s-s")
        .external_id("Unique-1234")
        .send()
        .await
        .unwrap();
    let bad = sts
        .assume_role()
        .role_arn(&arn)
        .role_session_name("s-s")
        .external_id("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&bad),
        "ValidationError",
        "ExternalId is 2..1224 characters"
    );
}

#[tokio::test]
async fn mfa_required_by_trust() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let h = s.user_with_key("hank").await;
    let (serial, seed) = s.virtual_mfa("hank").await;
    let now = s.clock.now().timestamp();
    iam.enable_mfa_device()
        .user_name("hank")
        .serial_number(&serial)
        .authentication_code1(totp(&seed, now - 60))
        .authentication_code2(totp(&seed, now - 30))
        .send()
        .await
        .unwrap();

    let arn = role(
        &s,
        "admin",
        &trust(
            json!({"AWS": format!("arn:aws:iam::{A}:user/hank")}),
            &["sts:AssumeRole"],
            Some(json!({"Bool": {"aws:MultiFactorAuthPresent": "true"}})),
        ),
    )
    .await;
    assert!(
        assume(&s, &h, &arn)
            .await
            .unwrap_err()
            .starts_with("AccessDenied"),
        "no MFA"
    );
    let code_now = totp(&seed, s.clock.now().timestamp());
    let sts = s.sts(&h);
    sts.assume_role()
        .role_arn(&arn)
        .role_session_name("s-m")
        .serial_number(&serial)
        .token_code(&code_now)
        .send()
        .await
        .unwrap();
    let e = sts
        .assume_role()
        .role_arn(&arn)
        .role_session_name("s-m")
        .serial_number(&serial)
        .token_code(&code_now)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied", "a code is single use");
    // MFA context carried by a GetSessionToken session also satisfies the trust policy.
    s.clock.advance(Duration::from_secs(30));
    let gst = sts
        .get_session_token()
        .serial_number(&serial)
        .token_code(totp(&seed, s.clock.now().timestamp()))
        .send()
        .await
        .unwrap();
    let mfa_session = Creds::from(gst.credentials().unwrap());
    assume(&s, &mfa_session, &arn).await.unwrap();
}

#[tokio::test]
async fn session_tags_need_tag_session_and_drive_abac() {
    let s = TestServer::start().await;
    let i = s.user_with_key("ivy").await;
    let me = format!("arn:aws:iam::{A}:user/ivy");
    let arn = role(
        &s,
        "abac",
        &trust(json!({"AWS": me}), &["sts:AssumeRole"], None),
    )
    .await;
    let tag = |v: &str| Tag::builder().key("team").value(v).build().unwrap();
    let sts = s.sts(&i);
    let e = sts
        .assume_role()
        .role_arn(&arn)
        .role_session_name("s-t")
        .tags(tag("blue"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    assert!(message(&e).contains("sts:TagSession"), "{}", message(&e));
    s.iam(&s.root)
        .update_assume_role_policy()
        .role_name("abac")
        .policy_document(trust(
            json!({"AWS": me}),
            &["sts:AssumeRole", "sts:TagSession"],
            None,
        ))
        .send()
        .await
        .unwrap();
    // ABAC: the role may list users only for the blue team.
    role_policy(
        &s,
        "abac",
        "abac",
        &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}}}]})
        .to_string(),
    )
    .await;
    let blue = Creds::from(
        sts.assume_role()
            .role_arn(&arn)
            .role_session_name("s-b")
            .tags(tag("blue"))
            .send()
            .await
            .unwrap()
            .credentials()
            .unwrap(),
    );
    let red = Creds::from(
        sts.assume_role()
            .role_arn(&arn)
            .role_session_name("s-r")
            .tags(tag("red"))
            .send()
            .await
            .unwrap()
            .credentials()
            .unwrap(),
    );
    s.iam(&blue).list_users().send().await.unwrap();
    let e = s.iam(&red).list_users().send().await.unwrap_err();
    assert_eq!(iam_code(&e), "AccessDenied");
    // Duplicate keys (case-insensitive) and transitive keys not among the tags are refused.
    let e = sts
        .assume_role()
        .role_arn(&arn)
        .role_session_name("s-d")
        .tags(tag("a"))
        .tags(Tag::builder().key("TEAM").value("b").build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidParameterValue");
    let e = sts
        .assume_role()
        .role_arn(&arn)
        .role_session_name("s-d")
        .tags(tag("a"))
        .transitive_tag_keys("other")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message(&e),
        "The specified transitive tag key must be included in the requested tags."
    );
}

#[tokio::test]
async fn source_identity_is_set_inherited_and_immutable_and_chaining_is_capped() {
    let s = TestServer::start().await;
    let j = s.user_with_key("jo").await;
    let me = format!("arn:aws:iam::{A}:user/jo");
    let first = role(
        &s,
        "first",
        &trust(
            json!({"AWS": me}),
            &["sts:AssumeRole", "sts:SetSourceIdentity"],
            None,
        ),
    )
    .await;
    let first_role = format!("arn:aws:iam::{A}:role/first");
    let second = role(
        &s,
        "second",
        &trust(
            json!({"AWS": first_role}),
            &["sts:AssumeRole", "sts:SetSourceIdentity"],
            None,
        ),
    )
    .await;
    // Without sts:SetSourceIdentity in the trust policy, setting one is denied.
    let plain = role(
        &s,
        "plain",
        &trust(json!({"AWS": me}), &["sts:AssumeRole"], None),
    )
    .await;
    let e = s
        .sts(&j)
        .assume_role()
        .role_arn(&plain)
        .role_session_name("s-x")
        .source_identity("jo")
        .send()
        .await
        .unwrap_err();
    assert!(
        message(&e).contains("sts:SetSourceIdentity"),
        "{}",
        message(&e)
    );

    let out = s
        .sts(&j)
        .assume_role()
        .role_arn(&first)
        .role_session_name("one")
        .source_identity("jo-admin")
        .send()
        .await
        .unwrap();
    assert_eq!(out.source_identity(), Some("jo-admin"));
    let hop1 = Creds::from(out.credentials().unwrap());
    // Chained: the source identity flows down and cannot be changed.
    let out = s
        .sts(&hop1)
        .assume_role()
        .role_arn(&second)
        .role_session_name("two")
        .send()
        .await
        .unwrap();
    assert_eq!(out.source_identity(), Some("jo-admin"));
    let e = s
        .sts(&hop1)
        .assume_role()
        .role_arn(&second)
        .role_session_name("two")
        .source_identity("mallory")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidParameterValue");
    // Chaining is capped at one hour.
    let e = s
        .sts(&hop1)
        .assume_role()
        .role_arn(&second)
        .role_session_name("two")
        .duration_seconds(3601)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message(&e),
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
    );
}

#[tokio::test]
async fn duration_above_max_session_duration() {
    let s = TestServer::start().await;
    let k = s.user_with_key("kim").await;
    let arn = role_trusting_user(&s, "short", "kim").await;
    let e = s
        .sts(&k)
        .assume_role()
        .role_arn(&arn)
        .role_session_name("s-d")
        .duration_seconds(7200)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationError");
    assert_eq!(
        message(&e),
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    );
    s.iam(&s.root)
        .update_role()
        .role_name("short")
        .max_session_duration(7200)
        .send()
        .await
        .unwrap();
    let out = s
        .sts(&k)
        .assume_role()
        .role_arn(&arn)
        .role_session_name("s-d")
        .duration_seconds(7200)
        .send()
        .await
        .unwrap();
    let left = out.credentials().unwrap().expiration().secs() - s.clock.now().timestamp();
    assert!((7190..=7200).contains(&left));
    let e = s
        .sts(&k)
        .assume_role()
        .role_arn(&arn)
        .role_session_name("s-d")
        .duration_seconds(899)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationError");
}

#[tokio::test]
async fn session_policies_narrow_the_session() {
    let s = TestServer::start().await;
    let l = s.user_with_key("lee").await;
    let arn = role_trusting_user(&s, "wide", "lee").await;
    role_policy(
        &s,
        "wide",
        "wide",
        &allow(&["iam:ListUsers", "iam:ListRoles"], "*"),
    )
    .await;
    let sts = s.sts(&l);
    // Inline session policy: only ListUsers.
    let out = sts
        .assume_role()
        .role_arn(&arn)
        .role_session_name("s-n")
        .policy(allow(&["iam:ListUsers"], "*"))
        .send()
        .await
        .unwrap();
    assert!(out.packed_policy_size().unwrap() > 0);
    let narrow = Creds::from(out.credentials().unwrap());
    s.iam(&narrow).list_users().send().await.unwrap();
    assert_eq!(
        iam_code(&s.iam(&narrow).list_roles().send().await.unwrap_err()),
        "AccessDenied"
    );
    // By ARN: only ListRoles.
    let pol = s
        .iam(&s.root)
        .create_policy()
        .policy_name("only-roles")
        .policy_document(allow(&["iam:ListRoles"], "*"))
        .send()
        .await
        .unwrap();
    let pol_arn = pol.policy().unwrap().arn().unwrap().to_owned();
    let out = sts
        .assume_role()
        .role_arn(&arn)
        .role_session_name("s-n")
        .policy_arns(PolicyDescriptorType::builder().arn(&pol_arn).build())
        .send()
        .await
        .unwrap();
    let by_arn = Creds::from(out.credentials().unwrap());
    s.iam(&by_arn).list_roles().send().await.unwrap();
    assert_eq!(
        iam_code(&s.iam(&by_arn).list_users().send().await.unwrap_err()),
        "AccessDenied"
    );
    // The session can never exceed the role.
    let out = sts
        .assume_role()
        .role_arn(&arn)
        .role_session_name("s-n")
        .policy(allow(&["iam:*"], "*"))
        .send()
        .await
        .unwrap();
    let wide = Creds::from(out.credentials().unwrap());
    assert_eq!(
        iam_code(&s.iam(&wide).list_policies().send().await.unwrap_err()),
        "AccessDenied"
    );
    // A malformed session policy.
    let e = sts
        .assume_role()
        .role_arn(&arn)
        .role_session_name("s-n")
        .policy("{\"Statement\":[]")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "MalformedPolicyDocument");
    // Too large a packed policy.
    let big: Vec<String> = (0..200)
        .map(|i| format!("iam:ListSomethingNumber{i}"))
        .collect();
    let big_refs: Vec<&str> = big.iter().map(String::as_str).collect();
    let e = sts
        .assume_role()
        .role_arn(&arn)
        .role_session_name("s-n")
        .policy(allow(&big_refs, "*"))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            code(&e).as_str(),
            "PackedPolicyTooLarge" | "ValidationError"
        ),
        "{}",
        code(&e)
    );
}

#[tokio::test]
async fn revoke_older_sessions() {
    let s = TestServer::start().await;
    let m = s.user_with_key("max").await;
    let arn = role_trusting_user(&s, "rev", "max").await;
    role_policy(&s, "rev", "base", &allow(&["iam:ListUsers"], "*")).await;
    let old = Creds::from(assume(&s, &m, &arn).await.unwrap().credentials().unwrap());
    s.iam(&old).list_users().send().await.unwrap();
    s.clock.advance(Duration::from_secs(5));
    let cutoff = s
        .clock
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    role_policy(
        &s,
        "rev",
        "AWSRevokeOlderSessions",
        &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": ["*"], "Resource": ["*"],
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff}}}]})
        .to_string(),
    )
    .await;
    assert_eq!(
        iam_code(&s.iam(&old).list_users().send().await.unwrap_err()),
        "AccessDenied"
    );
    s.clock.advance(Duration::from_secs(2));
    let new = Creds::from(assume(&s, &m, &arn).await.unwrap().credentials().unwrap());
    s.iam(&new).list_users().send().await.unwrap();
}

#[tokio::test]
async fn expired_role_session_and_audit_trail() {
    let s = TestServer::start().await;
    let n = s.user_with_key("nia").await;
    let arn = role_trusting_user(&s, "tmp", "nia").await;
    let out = s
        .sts(&n)
        .assume_role()
        .role_arn(&arn)
        .role_session_name("s-e")
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    let session = Creds::from(c);
    s.clock.advance(Duration::from_secs(901));
    let e = s
        .sts(&session)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ExpiredToken");

    // The audit trail has the issue and the refusal, and never a secret. Refusals are not
    // waited for (nothing was handed out), so give the group commit a moment.
    let mut text = String::new();
    for _ in 0..50 {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["audit", "tail", "-n", "100", "--data-dir"])
            .arg(s.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text = String::from_utf8(out.stdout).unwrap();
        if text.contains("ExpiredToken") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let issued = records
        .iter()
        .find(|r| r["action"] == "AssumeRole" && r["outcome"] == "allowed")
        .expect("AssumeRole record");
    assert_eq!(issued["issued_access_key_id"], c.access_key_id());
    assert_eq!(issued["target"], arn);
    assert!(
        issued["decision"]
            .as_str()
            .unwrap()
            .contains("trust policy"),
        "{issued}"
    );
    assert!(records.iter().any(|r| r["outcome"] == "ExpiredToken"));
    assert!(
        !text.contains(c.secret_access_key()) && !text.contains(c.session_token()),
        "no secret in the audit trail"
    );
}
