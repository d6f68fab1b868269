//! GetFederationToken through aws-sdk-rust against the real server: who may call it, durations,
//! the federated user's identity, session policies and tags, and what the session may call
//! afterwards (only GetCallerIdentity; no IAM, no other STS action).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod common;

use common::{Creds, TestServer, code, iam_code, message};

const ACCT: &str = "000000000000";

async fn allow(s: &TestServer, user: &str, actions: &[&str]) {
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": "*"}]});
    s.iam(&s.root)
        .put_user_policy()
        .user_name(user)
        .policy_name("federate")
        .policy_document(doc.to_string())
        .send()
        .await
        .unwrap();
}

const READ_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}]}"#;

#[tokio::test]
async fn a_user_federates_within_its_own_permissions() {
    let s = TestServer::start().await;
    let broker = s.user_with_key("broker").await;

    // Without sts:GetFederationToken in its policies the user may not.
    let e = s
        .sts(&broker)
        .get_federation_token()
        .name("bob")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    assert_eq!(
        message(&e),
        format!(
            "User: arn:aws:iam::{ACCT}:user/broker is not authorized to perform: sts:GetFederationToken on resource: arn:aws:sts::{ACCT}:federated-user/bob"
        )
    );

    allow(&s, "broker", &["sts:GetFederationToken"]).await;
    let out = s
        .sts(&broker)
        .get_federation_token()
        .name("bob")
        .policy(READ_ONLY)
        .send()
        .await
        .unwrap();
    let fu = out.federated_user().unwrap();
    assert_eq!(fu.federated_user_id(), format!("{ACCT}:bob"));
    assert_eq!(fu.arn(), format!("arn:aws:sts::{ACCT}:federated-user/bob"));
    assert!(out.packed_policy_size().unwrap() > 0);
    let c = out.credentials().unwrap();
    assert!(c.access_key_id().starts_with("ASIA"));
    let left = c.expiration().secs() - s.clock.now().timestamp();
    assert!((43_190..=43_200).contains(&left), "default is 12 h: {left}");

    // GetCallerIdentity works with the result and names the federated user.
    let bob = Creds::from(c);
    let me = s.sts(&bob).get_caller_identity().send().await.unwrap();
    assert_eq!(me.account(), Some(ACCT));
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:sts::{ACCT}:federated-user/bob").as_str())
    );
    assert_eq!(me.user_id(), Some(format!("{ACCT}:bob").as_str()));

    // Nothing else: no IAM call (even one both policies allow), no further session.
    let e = s
        .iam(&bob)
        .get_user()
        .user_name("broker")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "AccessDenied");
    let e = s.sts(&bob).get_session_token().send().await.unwrap_err();
    assert_eq!(
        message(&e),
        "Cannot call GetSessionToken with session credentials"
    );
    let e = s
        .sts(&bob)
        .get_federation_token()
        .name("carol")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    assert_eq!(
        message(&e),
        "Cannot call GetFederationToken with session credentials"
    );
    let role_arn = format!("arn:aws:iam::{ACCT}:role/anything");
    let e = s
        .sts(&bob)
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("x1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    assert_eq!(
        message(&e),
        format!(
            "User: arn:aws:sts::{ACCT}:federated-user/bob is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        )
    );
}

#[tokio::test]
async fn durations_names_and_who_may_call() {
    let s = TestServer::start().await;
    let broker = s.user_with_key("broker").await;
    allow(&s, "broker", &["sts:GetFederationToken"]).await;

    let out = s
        .sts(&broker)
        .get_federation_token()
        .name("b0")
        .duration_seconds(129_600)
        .send()
        .await
        .unwrap();
    let left = out.credentials().unwrap().expiration().secs() - s.clock.now().timestamp();
    assert!((129_590..=129_600).contains(&left), "{left}");
    // No session policy: the answer still comes, with nothing packed.
    assert_eq!(out.packed_policy_size(), Some(0));

    for bad in [899, 129_601] {
        let e = s
            .sts(&broker)
            .get_federation_token()
            .name("bob")
            .duration_seconds(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&e), "ValidationError", "{bad}");
    }
    for bad in ["b", &"n".repeat(33), "bad name"] {
        let e = s
            .sts(&broker)
            .get_federation_token()
            .name(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&e), "ValidationError", "{bad:?}");
    }
    let longest = "n".repeat(32);
    s.sts(&broker)
        .get_federation_token()
        .name(&longest)
        .send()
        .await
        .unwrap();

    // The root may federate too, for at most an hour (longer silently becomes an hour).
    let out = s
        .sts(&s.root)
        .get_federation_token()
        .name("rootfed")
        .duration_seconds(7200)
        .send()
        .await
        .unwrap();
    let left = out.credentials().unwrap().expiration().secs() - s.clock.now().timestamp();
    assert!((3590..=3600).contains(&left), "{left}");

    // Session credentials may not.
    let gst = s.sts(&broker).get_session_token().send().await.unwrap();
    let session = Creds::from(gst.credentials().unwrap());
    let e = s
        .sts(&session)
        .get_federation_token()
        .name("bob")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message(&e),
        "Cannot call GetFederationToken with session credentials"
    );
}

#[tokio::test]
async fn session_policies_and_tags() {
    let s = TestServer::start().await;
    let broker = s.user_with_key("broker").await;
    allow(&s, "broker", &["sts:GetFederationToken"]).await;

    let e = s
        .sts(&broker)
        .get_federation_token()
        .name("bob")
        .policy("{not json")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "MalformedPolicyDocument");

    let missing = format!("arn:aws:iam::{ACCT}:policy/nope");
    let e = s
        .sts(&broker)
        .get_federation_token()
        .name("bob")
        .policy_arns(
            aws_sdk_sts::types::PolicyDescriptorType::builder()
                .arn(&missing)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "MalformedPolicyDocument");

    // Tags need sts:TagSession as well.
    let tag = aws_sdk_sts::types::Tag::builder()
        .key("team")
        .value("payments")
        .build()
        .unwrap();
    let e = s
        .sts(&broker)
        .get_federation_token()
        .name("bob")
        .tags(tag.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    assert!(message(&e).contains("sts:TagSession"), "{}", message(&e));
    allow(&s, "broker", &["sts:GetFederationToken", "sts:TagSession"]).await;
    let out = s
        .sts(&broker)
        .get_federation_token()
        .name("bob")
        .tags(tag)
        .send()
        .await
        .unwrap();
    assert!(out.packed_policy_size().unwrap() > 0);
    // Session policy and tags share the packed budget: together they may overflow it.
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": (0..70).map(|i| format!("iam:GetThing{i:02}")).collect::<Vec<_>>(),
        "Resource": "*"}]})
    .to_string();
    assert!(policy.len() < 2048);
    let mut req = s
        .sts(&broker)
        .get_federation_token()
        .name("bob")
        .policy(policy);
    for i in 0..4 {
        req = req.tags(
            aws_sdk_sts::types::Tag::builder()
                .key(format!("k{i}"))
                .value("v".repeat(256))
                .build()
                .unwrap(),
        );
    }
    let e = req.send().await.unwrap_err();
    assert_eq!(code(&e), "PackedPolicyTooLarge");
}
