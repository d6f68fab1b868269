//! Instance profiles through aws-sdk-rust: create, read, list, tag, one role per profile, the
//! conflicts that keep a profile and its role alive, and authorization (the profile's own
//! action plus `iam:PassRole` on the role).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod common;

use common::iam_err as err;

use aws_sdk_iam::types::Tag;
use common::TestServer;
use serde_json::json;

const A: &str = "000000000000";

fn pair(code: &str, message: &str) -> (String, String) {
    (code.to_owned(), message.to_owned())
}

fn trust() -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    .to_string()
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build().unwrap()
}

async fn role(iam: &aws_sdk_iam::Client, name: &str) {
    iam.create_role()
        .role_name(name)
        .assume_role_policy_document(trust())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn lifecycle_with_one_role_and_tags() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let created = iam
        .create_instance_profile()
        .instance_profile_name("web")
        .path("/fleet/")
        .tags(tag("env", "dev"))
        .send()
        .await
        .unwrap();
    let p = created.instance_profile().unwrap();
    assert_eq!(
        p.arn(),
        format!("arn:aws:iam::{A}:instance-profile/fleet/web")
    );
    assert_eq!((p.path(), p.instance_profile_name()), ("/fleet/", "web"));
    assert!(p.instance_profile_id().starts_with("AIPA"), "{p:?}");
    assert_eq!(p.instance_profile_id().len(), 21);
    assert!(p.roles().is_empty());
    assert_eq!(p.tags()[0].key(), "env");
    let id = p.instance_profile_id().to_owned();

    assert_eq!(
        err(&iam
            .create_instance_profile()
            .instance_profile_name("WEB")
            .send()
            .await
            .unwrap_err()),
        pair(
            "EntityAlreadyExists",
            "Instance Profile WEB already exists."
        )
    );
    assert_eq!(
        err(&iam
            .get_instance_profile()
            .instance_profile_name("nope")
            .send()
            .await
            .unwrap_err()),
        pair("NoSuchEntity", "Instance Profile nope cannot be found.")
    );
    let e = iam
        .create_instance_profile()
        .instance_profile_name("bad name")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err(&e).0, "ValidationError");
    assert!(err(&e).1.contains("'instanceProfileName'"), "{e:?}");

    role(&iam, "app").await;
    role(&iam, "other").await;
    iam.add_role_to_instance_profile()
        .instance_profile_name("web")
        .role_name("app")
        .send()
        .await
        .unwrap();
    // One role per profile, a quota AWS does not raise.
    for r in ["app", "other"] {
        assert_eq!(
            err(&iam
                .add_role_to_instance_profile()
                .instance_profile_name("web")
                .role_name(r)
                .send()
                .await
                .unwrap_err()),
            pair(
                "LimitExceeded",
                "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"
            )
        );
    }
    assert_eq!(
        err(&iam
            .add_role_to_instance_profile()
            .instance_profile_name("web")
            .role_name("ghost")
            .send()
            .await
            .unwrap_err()),
        pair("NoSuchEntity", "The role with name ghost cannot be found.")
    );

    let got = iam
        .get_instance_profile()
        .instance_profile_name("Web")
        .send()
        .await
        .unwrap();
    let p = got.instance_profile().unwrap();
    assert_eq!(p.instance_profile_id(), id);
    let r = &p.roles()[0];
    assert_eq!(r.role_name(), "app");
    assert_eq!(r.arn(), format!("arn:aws:iam::{A}:role/app"));
    let doc = percent_encoding::percent_decode_str(r.assume_role_policy_document().unwrap())
        .decode_utf8()
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&doc).unwrap(),
        serde_json::from_str::<serde_json::Value>(&trust()).unwrap()
    );

    let for_role = iam
        .list_instance_profiles_for_role()
        .role_name("app")
        .send()
        .await
        .unwrap();
    assert_eq!(
        for_role
            .instance_profiles()
            .iter()
            .map(|p| p.instance_profile_name())
            .collect::<Vec<_>>(),
        ["web"]
    );
    assert!(
        iam.list_instance_profiles_for_role()
            .role_name("other")
            .send()
            .await
            .unwrap()
            .instance_profiles()
            .is_empty()
    );

    // The role and the profile keep each other.
    assert_eq!(
        err(&iam.delete_role().role_name("app").send().await.unwrap_err()),
        pair(
            "DeleteConflict",
            "Cannot delete entity, must remove roles from instance profile first."
        )
    );
    assert_eq!(
        err(&iam
            .delete_instance_profile()
            .instance_profile_name("web")
            .send()
            .await
            .unwrap_err()),
        pair(
            "DeleteConflict",
            "Cannot delete entity, must remove roles from instance profile first."
        )
    );

    // Tags.
    iam.tag_instance_profile()
        .instance_profile_name("web")
        .tags(tag("ENV", "prod"))
        .tags(tag("team", "ops"))
        .send()
        .await
        .unwrap();
    iam.untag_instance_profile()
        .instance_profile_name("web")
        .tag_keys("TEAM")
        .send()
        .await
        .unwrap();
    let tags = iam
        .list_instance_profile_tags()
        .instance_profile_name("web")
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags.tags()
            .iter()
            .map(|t| (t.key(), t.value()))
            .collect::<Vec<_>>(),
        [("ENV", "prod")]
    );
    let too_many: Vec<Tag> = (0..50).map(|i| tag(&format!("k{i}"), "v")).collect();
    assert_eq!(
        err(&iam
            .tag_instance_profile()
            .instance_profile_name("web")
            .set_tags(Some(too_many))
            .send()
            .await
            .unwrap_err()),
        pair(
            "LimitExceeded",
            "Cannot exceed quota for TagsPerInstanceProfile: 50"
        )
    );

    iam.remove_role_from_instance_profile()
        .instance_profile_name("web")
        .role_name("app")
        .send()
        .await
        .unwrap();
    assert_eq!(
        err(&iam
            .remove_role_from_instance_profile()
            .instance_profile_name("web")
            .role_name("app")
            .send()
            .await
            .unwrap_err())
        .0,
        "NoSuchEntity"
    );
    iam.delete_instance_profile()
        .instance_profile_name("web")
        .send()
        .await
        .unwrap();
    iam.delete_role().role_name("app").send().await.unwrap();
    assert_eq!(
        err(&iam
            .delete_instance_profile()
            .instance_profile_name("web")
            .send()
            .await
            .unwrap_err()),
        pair("NoSuchEntity", "Instance Profile web cannot be found.")
    );
}

#[tokio::test]
async fn listing_filters_by_path_and_pages() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    for (name, path) in [("a", "/x/"), ("b", "/x/y/"), ("c", "/"), ("d", "/x/")] {
        iam.create_instance_profile()
            .instance_profile_name(name)
            .path(path)
            .tags(tag("t", name))
            .send()
            .await
            .unwrap();
    }
    let names = |l: &aws_sdk_iam::operation::list_instance_profiles::ListInstanceProfilesOutput| {
        l.instance_profiles()
            .iter()
            .map(|p| p.instance_profile_name().to_owned())
            .collect::<Vec<_>>()
    };
    let under_x = iam
        .list_instance_profiles()
        .path_prefix("/x/")
        .send()
        .await
        .unwrap();
    assert_eq!(names(&under_x), ["a", "b", "d"]);
    // Lists leave tags out, as AWS's listing operations do.
    assert!(under_x.instance_profiles()[0].tags().is_empty());
    let first = iam
        .list_instance_profiles()
        .max_items(2)
        .send()
        .await
        .unwrap();
    assert_eq!(names(&first), ["a", "b"]);
    assert!(first.is_truncated());
    let rest = iam
        .list_instance_profiles()
        .max_items(2)
        .marker(first.marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(names(&rest), ["c", "d"]);
    assert!(!rest.is_truncated());
    // The SDK's paginator walks the same pages.
    let all: Vec<String> = iam
        .list_instance_profiles()
        .max_items(1)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.instance_profile_name().to_owned())
        .collect();
    assert_eq!(all, ["a", "b", "c", "d"]);
}

#[tokio::test]
async fn adding_a_role_needs_pass_role_on_it() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    role(&iam, "app").await;
    iam.create_instance_profile()
        .instance_profile_name("web")
        .send()
        .await
        .unwrap();
    let u = s.user_with_key("ops").await;
    let as_ops = s.iam(&u);
    let allow = |actions: &[&str]| {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions,
            "Resource": "*", "Condition": {"StringEqualsIfExists":
                {"iam:PassedToService": "ec2.amazonaws.com"}}}]})
        .to_string()
    };
    let put = |doc: String| {
        iam.put_user_policy()
            .user_name("ops")
            .policy_name("p")
            .policy_document(doc)
            .send()
    };
    let add = || {
        as_ops
            .add_role_to_instance_profile()
            .instance_profile_name("web")
            .role_name("app")
            .send()
    };
    assert_eq!(
        err(&add().await.unwrap_err()),
        pair(
            "AccessDenied",
            &format!(
                "User: arn:aws:iam::{A}:user/ops is not authorized to perform: iam:AddRoleToInstanceProfile on resource: arn:aws:iam::{A}:instance-profile/web"
            )
        )
    );
    put(allow(&["iam:AddRoleToInstanceProfile"])).await.unwrap();
    assert_eq!(
        err(&add().await.unwrap_err()),
        pair(
            "AccessDenied",
            &format!(
                "User: arn:aws:iam::{A}:user/ops is not authorized to perform: iam:PassRole on resource: arn:aws:iam::{A}:role/app"
            )
        )
    );
    // `iam:PassedToService` is EC2's.
    let to_lambda = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": ["iam:AddRoleToInstanceProfile", "iam:PassRole"], "Resource": "*",
        "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}}]})
    .to_string();
    put(to_lambda).await.unwrap();
    assert_eq!(err(&add().await.unwrap_err()).0, "AccessDenied");
    put(allow(&["iam:AddRoleToInstanceProfile", "iam:PassRole"]))
        .await
        .unwrap();
    add().await.unwrap();
    // Listing and reading are their own actions, on the profile's ARN.
    assert_eq!(
        err(&as_ops
            .get_instance_profile()
            .instance_profile_name("web")
            .send()
            .await
            .unwrap_err())
        .1,
        format!(
            "User: arn:aws:iam::{A}:user/ops is not authorized to perform: iam:GetInstanceProfile on resource: arn:aws:iam::{A}:instance-profile/web"
        )
    );
    assert_eq!(
        err(&as_ops.list_instance_profiles().send().await.unwrap_err()).1,
        format!(
            "User: arn:aws:iam::{A}:user/ops is not authorized to perform: iam:ListInstanceProfiles on resource: arn:aws:iam::{A}:instance-profile/"
        )
    );
}
