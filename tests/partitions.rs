//! ARNs in answers follow the partition of the request's signing region (`cn-*` is `aws-cn`,
//! `us-gov-*` is `aws-us-gov`), as AWS answers; ARNs in requests may name an entity in any
//! partition.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod common;

use common::TestServer;

const ACCOUNT: &str = "000000000000";

#[tokio::test]
async fn caller_identity_and_iam_answers_use_the_signing_regions_partition() {
    let s = TestServer::start().await;
    let who = s
        .sts_in(&s.root, "cn-north-1")
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        who.arn(),
        Some(format!("arn:aws-cn:iam::{ACCOUNT}:root").as_str())
    );
    let who = s.sts(&s.root).get_caller_identity().send().await.unwrap();
    assert_eq!(
        who.arn(),
        Some(format!("arn:aws:iam::{ACCOUNT}:root").as_str())
    );

    let created = s
        .iam_in(&s.root, "cn-north-1")
        .create_user()
        .user_name("alice")
        .path("/eng/")
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.user().unwrap().arn(),
        format!("arn:aws-cn:iam::{ACCOUNT}:user/eng/alice")
    );
    let got = s
        .iam_in(&s.root, "us-gov-west-1")
        .get_user()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.user().unwrap().arn(),
        format!("arn:aws-us-gov:iam::{ACCOUNT}:user/eng/alice")
    );
    let got = s
        .iam(&s.root)
        .get_user()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.user().unwrap().arn(),
        format!("arn:aws:iam::{ACCOUNT}:user/eng/alice")
    );
}

#[tokio::test]
async fn assume_role_by_an_aws_cn_arn_when_signed_for_a_china_region() {
    let s = TestServer::start().await;
    let alice = s.user_with_key("alice").await;
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws-cn:iam::{ACCOUNT}:user/alice"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    s.iam_in(&s.root, "cn-north-1")
        .create_role()
        .role_name("deploy")
        .path("/ops/")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let out = s
        .sts_in(&alice, "cn-north-1")
        .assume_role()
        .role_arn(format!("arn:aws-cn:iam::{ACCOUNT}:role/ops/deploy"))
        .role_session_name("s1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.assumed_role_user().unwrap().arn(),
        format!("arn:aws-cn:sts::{ACCOUNT}:assumed-role/deploy/s1")
    );

    // The session's own identity is in the partition it is used in.
    let c = out.credentials().unwrap();
    let session = common::Creds {
        access_key_id: c.access_key_id().to_owned(),
        secret: c.secret_access_key().to_owned(),
        token: Some(c.session_token().to_owned()),
    };
    let who = s
        .sts_in(&session, "cn-northwest-1")
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        who.arn(),
        Some(format!("arn:aws-cn:sts::{ACCOUNT}:assumed-role/deploy/s1").as_str())
    );

    // A refusal names the role and the caller in the request's partition.
    let e = s
        .sts_in(&alice, "cn-north-1")
        .assume_role()
        .role_arn(format!("arn:aws-cn:iam::{ACCOUNT}:role/ops/missing"))
        .role_session_name("s1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        common::message(&e),
        format!(
            "User: arn:aws-cn:iam::{ACCOUNT}:user/alice is not authorized to perform: sts:AssumeRole on resource: arn:aws-cn:iam::{ACCOUNT}:role/ops/missing"
        )
    );
}

#[tokio::test]
async fn a_trust_policy_naming_a_bare_account_trusts_it_in_any_partition() {
    let s = TestServer::start().await;
    let alice = s.user_with_key("alice").await;
    let iam = s.iam(&s.root);
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{ACCOUNT}"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    iam.create_role()
        .role_name("shared")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    // Account-wide trust delegates to the account: the user's own policy must allow it.
    iam.put_user_policy()
        .user_name("alice")
        .policy_name("assume")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    for region in ["us-east-1", "cn-north-1", "us-gov-west-1"] {
        let out = s
            .sts_in(&alice, region)
            .assume_role()
            .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/shared"))
            .role_session_name("s1")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{region}: {e:?}"));
        assert!(out.assumed_role_user().is_some(), "{region}");
    }
}
