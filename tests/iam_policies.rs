//! Managed and inline policies, versions, attachments, boundaries, and IAM authorization of
//! non-root callers through the shared evaluator, via aws-sdk-rust.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod common;

use common::iam_err as err;

use common::TestServer;
use serde_json::json;

const A: &str = "000000000000";

fn allow(actions: &[&str], resource: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}).to_string()
}

fn decode(doc: &str) -> serde_json::Value {
    let text = percent_encoding::percent_decode_str(doc)
        .decode_utf8()
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn managed_policy_versions() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let doc = allow(&["iam:ListUsers"], "*");
    let p = iam
        .create_policy()
        .policy_name("readers")
        .path("/team/")
        .policy_document(&doc)
        .description("d")
        .send()
        .await
        .unwrap();
    let p = p.policy().unwrap();
    let arn = p.arn().unwrap().to_owned();
    assert_eq!(arn, format!("arn:aws:iam::{A}:policy/team/readers"));
    assert!(p.policy_id().unwrap().starts_with("ANPA"));
    assert_eq!(p.default_version_id(), Some("v1"));
    let e = iam
        .create_policy()
        .policy_name("READERS")
        .policy_document(&doc)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err(&e),
        (
            "EntityAlreadyExists".into(),
            "A policy called READERS already exists. Duplicate names are not allowed.".into()
        )
    );

    // The document comes back URL-encoded, as from AWS.
    let v = iam
        .get_policy_version()
        .policy_arn(&arn)
        .version_id("v1")
        .send()
        .await
        .unwrap();
    let v = v.policy_version().unwrap();
    assert_eq!(
        decode(v.document().unwrap()),
        serde_json::from_str::<serde_json::Value>(&doc).unwrap()
    );
    assert!(v.is_default_version());

    for i in 2..=5 {
        let out = iam
            .create_policy_version()
            .policy_arn(&arn)
            .policy_document(allow(&["iam:GetUser"], "*"))
            .set_as_default(i == 3)
            .send()
            .await
            .unwrap();
        assert_eq!(
            out.policy_version().unwrap().version_id(),
            Some(format!("v{i}").as_str())
        );
    }
    let e = iam
        .create_policy_version()
        .policy_arn(&arn)
        .policy_document(&doc)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err(&e).0, "LimitExceeded");
    assert_eq!(
        iam.get_policy()
            .policy_arn(&arn)
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap()
            .default_version_id(),
        Some("v3")
    );
    let e = iam
        .delete_policy_version()
        .policy_arn(&arn)
        .version_id("v3")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err(&e).0, "DeleteConflict");
    iam.set_default_policy_version()
        .policy_arn(&arn)
        .version_id("v1")
        .send()
        .await
        .unwrap();
    iam.delete_policy_version()
        .policy_arn(&arn)
        .version_id("v3")
        .send()
        .await
        .unwrap();
    let versions = iam
        .list_policy_versions()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), 4);

    let local = iam
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .send()
        .await
        .unwrap();
    assert_eq!(local.policies().len(), 1);
    let e = iam
        .get_policy()
        .policy_arn(format!("arn:aws:iam::{A}:policy/nope"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err(&e),
        (
            "NoSuchEntity".into(),
            format!("Policy arn:aws:iam::{A}:policy/nope was not found.")
        )
    );
}

#[tokio::test]
async fn malformed_documents_are_refused_with_reasons() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let cases = [
        ("{not json", "Syntax errors in policy."),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*","Principal":"*"}]}"#,
            "Policy document should not specify a principal.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*"}]}"#,
            "Policy statement must contain resources.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ListUsers","Resource":"*"}]}"#,
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow","Action":"iam:*","Resource":"*"},{"Sid":"a","Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#,
            "Statement IDs (SID) in a single policy must be unique.",
        ),
    ];
    for (doc, msg) in cases {
        let e = iam
            .create_policy()
            .policy_name("bad")
            .policy_document(doc)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            err(&e),
            ("MalformedPolicyDocument".into(), msg.into()),
            "{doc}"
        );
    }
    iam.create_user().user_name("target").send().await.unwrap();
    for doc in [
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"iam:*","Resource":"*"}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","NotAction":"s3:*","Resource":"*"}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*","Condition":{"StringEqualsX":{"a:b":"c"}}}]}"#,
        r#"{"Version":"2011-01-01","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*","Extra":1}]}"#,
    ] {
        let e = iam
            .put_user_policy()
            .user_name("target")
            .policy_name("p")
            .policy_document(doc)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err(&e).0, "MalformedPolicyDocument", "{doc}");
    }
}

#[tokio::test]
async fn inline_and_attached_policies_authorize_non_root_callers() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let u = s.user_with_key("uma").await;
    iam.create_user().user_name("other").send().await.unwrap();
    let as_uma = s.iam(&u);
    assert_eq!(
        err(&as_uma.get_user().user_name("uma").send().await.unwrap_err()).0,
        "AccessDenied"
    );

    // `${aws:username}`: each user may read only itself.
    let own =
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetUser",
        "Resource": "arn:aws:iam::*:user/${aws:username}"}]})
        .to_string();
    iam.put_user_policy()
        .user_name("uma")
        .policy_name("self")
        .policy_document(&own)
        .send()
        .await
        .unwrap();
    as_uma.get_user().user_name("uma").send().await.unwrap();
    assert_eq!(
        err(&as_uma
            .get_user()
            .user_name("other")
            .send()
            .await
            .unwrap_err())
        .0,
        "AccessDenied"
    );
    let listed = iam
        .list_user_policies()
        .user_name("uma")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.policy_names(), ["self"]);
    let got = iam
        .get_user_policy()
        .user_name("uma")
        .policy_name("self")
        .send()
        .await
        .unwrap();
    assert_eq!(
        decode(got.policy_document()),
        serde_json::from_str::<serde_json::Value>(&own).unwrap()
    );

    // Through a group's attached managed policy.
    iam.create_group()
        .group_name("listers")
        .send()
        .await
        .unwrap();
    let p = iam
        .create_policy()
        .policy_name("list")
        .policy_document(allow(&["iam:List*"], "*"))
        .send()
        .await
        .unwrap();
    let parn = p.policy().unwrap().arn().unwrap().to_owned();
    iam.attach_group_policy()
        .group_name("listers")
        .policy_arn(&parn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        err(&as_uma.list_users().send().await.unwrap_err()).0,
        "AccessDenied"
    );
    iam.add_user_to_group()
        .group_name("listers")
        .user_name("uma")
        .send()
        .await
        .unwrap();
    as_uma.list_users().send().await.unwrap();
    let attached = iam
        .list_attached_group_policies()
        .group_name("listers")
        .send()
        .await
        .unwrap();
    assert_eq!(
        attached.attached_policies()[0].policy_arn(),
        Some(parn.as_str())
    );
    assert_eq!(
        err(&iam
            .delete_policy()
            .policy_arn(&parn)
            .send()
            .await
            .unwrap_err())
        .0,
        "DeleteConflict"
    );
    assert_eq!(
        err(&iam
            .delete_group()
            .group_name("listers")
            .send()
            .await
            .unwrap_err())
        .0,
        "DeleteConflict"
    );

    // An explicit deny wins.
    let deny = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:ListUsers", "Resource": "*"}]}).to_string();
    iam.put_user_policy()
        .user_name("uma")
        .policy_name("deny")
        .policy_document(&deny)
        .send()
        .await
        .unwrap();
    assert_eq!(
        err(&as_uma.list_users().send().await.unwrap_err()).0,
        "AccessDenied"
    );
    iam.delete_user_policy()
        .user_name("uma")
        .policy_name("deny")
        .send()
        .await
        .unwrap();
    as_uma.list_users().send().await.unwrap();
    let e = iam
        .delete_user_policy()
        .user_name("uma")
        .policy_name("deny")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err(&e).0, "NoSuchEntity");

    // Detach, then the policy can go.
    iam.detach_group_policy()
        .group_name("listers")
        .policy_arn(&parn)
        .send()
        .await
        .unwrap();
    iam.delete_policy().policy_arn(&parn).send().await.unwrap();
    let e = iam
        .attach_user_policy()
        .user_name("uma")
        .policy_arn(&parn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err(&e),
        (
            "NoSuchEntity".into(),
            format!("Policy {parn} does not exist or is not attachable.")
        )
    );
}

#[tokio::test]
async fn permissions_boundary_limits_a_user() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let v = s.user_with_key("vic").await;
    iam.put_user_policy()
        .user_name("vic")
        .policy_name("all")
        .policy_document(allow(&["iam:*"], "*"))
        .send()
        .await
        .unwrap();
    s.iam(&v).list_roles().send().await.unwrap();
    let b = iam
        .create_policy()
        .policy_name("boundary")
        .policy_document(allow(&["iam:ListUsers"], "*"))
        .send()
        .await
        .unwrap();
    let barn = b.policy().unwrap().arn().unwrap().to_owned();
    iam.put_user_permissions_boundary()
        .user_name("vic")
        .permissions_boundary(&barn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        iam.get_user()
            .user_name("vic")
            .send()
            .await
            .unwrap()
            .user()
            .unwrap()
            .permissions_boundary()
            .unwrap()
            .permissions_boundary_arn(),
        Some(barn.as_str())
    );
    s.iam(&v).list_users().send().await.unwrap();
    assert_eq!(
        err(&s.iam(&v).list_roles().send().await.unwrap_err()).0,
        "AccessDenied"
    );
    iam.delete_user_permissions_boundary()
        .user_name("vic")
        .send()
        .await
        .unwrap();
    s.iam(&v).list_roles().send().await.unwrap();
    let e = iam
        .put_user_permissions_boundary()
        .user_name("vic")
        .permissions_boundary(format!("arn:aws:iam::{A}:policy/none"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err(&e).0, "InvalidInput");
}

#[tokio::test]
async fn inline_policy_size_limits() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    iam.create_user().user_name("big").send().await.unwrap();
    let actions: Vec<String> = (0..60)
        .map(|i| format!("iam:GetSomethingRatherLong{i:03}"))
        .collect();
    let refs: Vec<&str> = actions.iter().map(String::as_str).collect();
    let doc = allow(&refs, "*");
    assert!(tessera::policy::policy_size(&doc) > 2_048 / 2);
    iam.put_user_policy()
        .user_name("big")
        .policy_name("one")
        .policy_document(&doc)
        .send()
        .await
        .unwrap();
    let e = iam
        .put_user_policy()
        .user_name("big")
        .policy_name("two")
        .policy_document(&doc)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err(&e).0,
        "LimitExceeded",
        "user inline aggregate is 2,048 characters"
    );
    // Replacing the same policy does not count twice.
    iam.put_user_policy()
        .user_name("big")
        .policy_name("one")
        .policy_document(&doc)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn role_management() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": A}, "Action": "sts:AssumeRole"}]}).to_string();
    let r = iam
        .create_role()
        .role_name("app")
        .path("/svc/")
        .assume_role_policy_document(&trust)
        .description("the app")
        .max_session_duration(7200)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("env")
                .value("prod")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let r = r.role().unwrap();
    assert_eq!(r.arn(), format!("arn:aws:iam::{A}:role/svc/app"));
    assert!(r.role_id().starts_with("AROA") && r.role_id().len() == 21);
    assert_eq!(
        decode(r.assume_role_policy_document().unwrap()),
        serde_json::from_str::<serde_json::Value>(&trust).unwrap()
    );
    let e = iam
        .create_role()
        .role_name("APP")
        .assume_role_policy_document(&trust)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err(&e),
        (
            "EntityAlreadyExists".into(),
            "Role with name APP already exists.".into()
        )
    );
    let e = iam
        .create_role()
        .role_name("r2")
        .assume_role_policy_document(&trust)
        .max_session_duration(100)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err(&e).0, "ValidationError");
    // Trust policies are validated as trust policies.
    let bad = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": A}, "Action": "sts:AssumeRole", "Resource": "*"}]}).to_string();
    assert_eq!(
        err(&iam
            .create_role()
            .role_name("r3")
            .assume_role_policy_document(bad)
            .send()
            .await
            .unwrap_err())
        .0,
        "MalformedPolicyDocument"
    );

    let got = iam.get_role().role_name("app").send().await.unwrap();
    assert_eq!(got.role().unwrap().max_session_duration(), Some(7200));
    assert_eq!(got.role().unwrap().tags().len(), 1);
    let listed = iam.list_roles().path_prefix("/svc/").send().await.unwrap();
    assert_eq!(listed.roles().len(), 1);
    iam.tag_role()
        .role_name("app")
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("team")
                .value("x")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        iam.list_role_tags()
            .role_name("app")
            .send()
            .await
            .unwrap()
            .tags()
            .len(),
        2
    );
    iam.untag_role()
        .role_name("app")
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    assert!(
        iam.list_instance_profiles_for_role()
            .role_name("app")
            .send()
            .await
            .unwrap()
            .instance_profiles()
            .is_empty()
    );

    iam.put_role_policy()
        .role_name("app")
        .policy_name("p")
        .policy_document(allow(&["iam:ListUsers"], "*"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        err(&iam.delete_role().role_name("app").send().await.unwrap_err()),
        (
            "DeleteConflict".into(),
            "Cannot delete entity, must delete policies first.".into()
        )
    );
    iam.delete_role_policy()
        .role_name("app")
        .policy_name("p")
        .send()
        .await
        .unwrap();
    iam.delete_role().role_name("app").send().await.unwrap();
    let e = iam.get_role().role_name("app").send().await.unwrap_err();
    assert_eq!(
        err(&e),
        (
            "NoSuchEntity".into(),
            "The role with name app cannot be found.".into()
        )
    );
}

/// AWS checks every parameter before it looks anything up: a request naming a missing entity
/// with an invalid parameter answers the parameter's error, not `NoSuchEntity`.
#[tokio::test]
async fn parameters_are_checked_before_the_entity_is_looked_up() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let e = iam
        .attach_role_policy()
        .role_name("ghost")
        .policy_arn("short")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err(&e),
        (
            "ValidationError".into(),
            "1 validation error detected: Value 'short' at 'policyArn' failed to satisfy constraint: Member must have length greater than or equal to 20".into()
        )
    );
    let e = iam
        .update_role()
        .role_name("ghost")
        .max_session_duration(99_999)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err(&e).0, "ValidationError");
    let no_resource =
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*"}]})
            .to_string();
    let e = iam
        .put_user_policy()
        .user_name("ghost")
        .policy_name("p")
        .policy_document(&no_resource)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err(&e).0, "MalformedPolicyDocument");
    let e = iam
        .tag_role()
        .role_name("ghost")
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("aws:reserved")
                .value("v")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err(&e).0, "InvalidInput");

    // With every parameter valid, the missing entity is what is wrong.
    let e = iam
        .attach_role_policy()
        .role_name("ghost")
        .policy_arn(format!("arn:aws:iam::{A}:policy/p"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err(&e),
        (
            "NoSuchEntity".into(),
            "The role with name ghost cannot be found.".into()
        )
    );
}
