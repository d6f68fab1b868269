//! IAM users, groups, access keys, tags and MFA devices through aws-sdk-rust.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod common;
use common::{iam_code, iam_err, iam_message};

use aws_sdk_iam::types::Tag;
use common::TestServer;

#[tokio::test]
async fn user_lifecycle() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let created = iam
        .create_user()
        .user_name("Alice")
        .path("/eng/")
        .tags(Tag::builder().key("team").value("core").build().unwrap())
        .send()
        .await
        .unwrap();
    let u = created.user().unwrap();
    assert_eq!(u.arn(), "arn:aws:iam::000000000000:user/eng/Alice");
    assert_eq!(u.path(), "/eng/");
    assert!(u.user_id().starts_with("AIDA"));

    // Names are unique case-insensitively.
    let e = iam
        .create_user()
        .user_name("alice")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "EntityAlreadyExists");
    assert_eq!(iam_message(&e), "User with name alice already exists.");

    let got = iam.get_user().user_name("alice").send().await.unwrap();
    assert_eq!(got.user().unwrap().user_name(), "Alice");
    assert_eq!(got.user().unwrap().tags().len(), 1);

    let e = iam.get_user().user_name("nobody").send().await.unwrap_err();
    assert_eq!(iam_code(&e), "NoSuchEntity");
    assert_eq!(
        iam_message(&e),
        "The user with name nobody cannot be found."
    );

    // Tags: add, override case-insensitively, remove, duplicates refused.
    iam.tag_user()
        .user_name("Alice")
        .tags(Tag::builder().key("TEAM").value("infra").build().unwrap())
        .tags(Tag::builder().key("cost").value("42").build().unwrap())
        .send()
        .await
        .unwrap();
    let tags = iam
        .list_user_tags()
        .user_name("Alice")
        .send()
        .await
        .unwrap();
    let mut kv: Vec<_> = tags
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    kv.sort();
    assert_eq!(
        kv,
        vec![
            ("TEAM".into(), "infra".into()),
            ("cost".into(), "42".into())
        ]
    );
    let e = iam
        .tag_user()
        .user_name("Alice")
        .tags(Tag::builder().key("a").value("1").build().unwrap())
        .tags(Tag::builder().key("A").value("2").build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "InvalidInput");
    iam.untag_user()
        .user_name("Alice")
        .tag_keys("cost")
        .send()
        .await
        .unwrap();
    assert_eq!(
        iam.list_user_tags()
            .user_name("Alice")
            .send()
            .await
            .unwrap()
            .tags()
            .len(),
        1
    );

    // A user with a key cannot be deleted until the key is.
    let key = iam
        .create_access_key()
        .user_name("Alice")
        .send()
        .await
        .unwrap();
    let key_id = key.access_key().unwrap().access_key_id().to_owned();
    assert!(key_id.starts_with("AKIA") && key_id.len() == 20);
    let e = iam
        .delete_user()
        .user_name("Alice")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "DeleteConflict");
    iam.delete_access_key()
        .user_name("Alice")
        .access_key_id(&key_id)
        .send()
        .await
        .unwrap();
    iam.delete_user().user_name("Alice").send().await.unwrap();
    let e = iam.get_user().user_name("Alice").send().await.unwrap_err();
    assert_eq!(iam_code(&e), "NoSuchEntity");
}

#[tokio::test]
async fn validation_errors_are_aws_shaped() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let e = iam
        .create_user()
        .user_name("bad name!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "ValidationError");
    assert!(iam_message(&e).contains("at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern"), "{}", iam_message(&e));
    let e = iam
        .create_user()
        .user_name("x".repeat(65))
        .send()
        .await
        .unwrap_err();
    assert!(iam_message(&e).contains("Member must have length less than or equal to 64"));
    let e = iam
        .create_user()
        .user_name("ok")
        .path("no-slashes")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "ValidationError");
    let e = iam
        .create_user()
        .user_name("ok")
        .tags(Tag::builder().key("aws:x").value("1").build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "InvalidInput");
}

#[tokio::test]
async fn list_users_pages_with_marker() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    for i in 0..7 {
        iam.create_user()
            .user_name(format!("u{i}"))
            .path(if i % 2 == 0 { "/even/" } else { "/" })
            .send()
            .await
            .unwrap();
    }
    let mut names = Vec::new();
    let mut marker = None;
    loop {
        let out = iam
            .list_users()
            .max_items(3)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        assert!(out.users().len() <= 3);
        names.extend(out.users().iter().map(|u| u.user_name().to_owned()));
        if !out.is_truncated() {
            break;
        }
        marker = out.marker().map(str::to_owned);
        assert!(marker.is_some());
    }
    assert_eq!(names, (0..7).map(|i| format!("u{i}")).collect::<Vec<_>>());
    let even = iam.list_users().path_prefix("/even/").send().await.unwrap();
    assert_eq!(even.users().len(), 4);
    // The SDK paginator works too.
    let all: Vec<_> = iam
        .list_users()
        .max_items(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(all.len(), 7);
}

#[tokio::test]
async fn access_key_quota_and_status() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    iam.create_user().user_name("k").send().await.unwrap();
    let a = iam.create_access_key().user_name("k").send().await.unwrap();
    iam.create_access_key().user_name("k").send().await.unwrap();
    let e = iam
        .create_access_key()
        .user_name("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "LimitExceeded");
    let id = a.access_key().unwrap().access_key_id();
    iam.update_access_key()
        .user_name("k")
        .access_key_id(id)
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .unwrap();
    let listed = iam.list_access_keys().user_name("k").send().await.unwrap();
    assert_eq!(listed.access_key_metadata().len(), 2);
    let st = listed
        .access_key_metadata()
        .iter()
        .find(|m| m.access_key_id() == Some(id))
        .unwrap()
        .status()
        .cloned();
    assert_eq!(st, Some(aws_sdk_iam::types::StatusType::Inactive));
    // Another user's key "cannot be found" for this user.
    iam.create_user().user_name("other").send().await.unwrap();
    let e = iam
        .delete_access_key()
        .user_name("other")
        .access_key_id(id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "NoSuchEntity");
}

#[tokio::test]
async fn groups_and_membership() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let g = iam.create_group().group_name("devs").send().await.unwrap();
    assert!(g.group().unwrap().group_id().starts_with("AGPA"));
    let e = iam
        .create_group()
        .group_name("DEVS")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "EntityAlreadyExists");
    iam.create_user().user_name("m1").send().await.unwrap();
    iam.create_user().user_name("m2").send().await.unwrap();
    iam.add_user_to_group()
        .group_name("devs")
        .user_name("m1")
        .send()
        .await
        .unwrap();
    iam.add_user_to_group()
        .group_name("devs")
        .user_name("m2")
        .send()
        .await
        .unwrap();
    let got = iam.get_group().group_name("devs").send().await.unwrap();
    let names: Vec<_> = got
        .users()
        .iter()
        .map(|u| u.user_name().to_owned())
        .collect();
    assert_eq!(names, vec!["m1", "m2"]);
    let e = iam
        .add_user_to_group()
        .group_name("nope")
        .user_name("m1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        iam_err(&e),
        (
            "NoSuchEntity".into(),
            "The group with name nope cannot be found.".into()
        )
    );
    // Neither exists: AddUserToGroup names the user, RemoveUserFromGroup the group (moto's
    // order, the only evidence of AWS's there is).
    let e = iam
        .add_user_to_group()
        .group_name("nope")
        .user_name("ghost")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        iam_err(&e),
        (
            "NoSuchEntity".into(),
            "The user with name ghost cannot be found.".into()
        )
    );
    let e = iam
        .remove_user_from_group()
        .group_name("nope")
        .user_name("ghost")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        iam_err(&e),
        (
            "NoSuchEntity".into(),
            "The group with name nope cannot be found.".into()
        )
    );
    // DeleteUser of a member: AWS words it as DeleteGroup of a non-empty group (observed,
    // https://github.com/mozilla-services/userplex/issues/17).
    let e = iam.delete_user().user_name("m1").send().await.unwrap_err();
    assert_eq!(
        iam_err(&e),
        (
            "DeleteConflict".into(),
            "Cannot delete entity, must remove users from group first.".into()
        )
    );
    let e = iam
        .delete_group()
        .group_name("devs")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        iam_err(&e),
        (
            "DeleteConflict".into(),
            "Cannot delete entity, must remove users from group first.".into()
        )
    );
    iam.remove_user_from_group()
        .group_name("devs")
        .user_name("m1")
        .send()
        .await
        .unwrap();
    let got = iam
        .list_groups_for_user()
        .user_name("m2")
        .send()
        .await
        .unwrap();
    assert_eq!(got.groups().len(), 1);
    iam.delete_user().user_name("m1").send().await.unwrap();
}

#[tokio::test]
async fn mfa_device_lifecycle() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    iam.create_user()
        .user_name("phoneuser")
        .send()
        .await
        .unwrap();
    let dev = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("p")
        .send()
        .await
        .unwrap();
    let serial = dev.virtual_mfa_device().unwrap().serial_number().to_owned();
    let e = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("p")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "EntityAlreadyExists");
    let unassigned = iam
        .list_virtual_mfa_devices()
        .assignment_status(aws_sdk_iam::types::AssignmentStatusType::Unassigned)
        .send()
        .await
        .unwrap();
    assert_eq!(unassigned.virtual_mfa_devices().len(), 1);
    let seed = common::mfa_seed(dev.virtual_mfa_device().unwrap());
    let now = s.clock.now().timestamp();
    let c1 = common::totp(&seed, now - 30);
    let c2 = common::totp(&seed, now);
    iam.enable_mfa_device()
        .user_name("phoneuser")
        .serial_number(&serial)
        .authentication_code1(c1)
        .authentication_code2(c2)
        .send()
        .await
        .unwrap();
    let e = iam
        .delete_user()
        .user_name("phoneuser")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "DeleteConflict");
    iam.deactivate_mfa_device()
        .user_name("phoneuser")
        .serial_number(&serial)
        .send()
        .await
        .unwrap();
    assert_eq!(
        iam.list_mfa_devices()
            .user_name("phoneuser")
            .send()
            .await
            .unwrap()
            .mfa_devices()
            .len(),
        0
    );
    iam.delete_virtual_mfa_device()
        .serial_number(&serial)
        .send()
        .await
        .unwrap();
    iam.delete_user()
        .user_name("phoneuser")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn non_root_users_need_policies_for_iam() {
    let s = TestServer::start().await;
    let u = s.user_with_key("plain").await;
    let e = s.iam(&u).list_users().send().await.unwrap_err();
    assert_eq!(iam_code(&e), "AccessDenied");
    assert_eq!(
        iam_message(&e),
        "User: arn:aws:iam::000000000000:user/plain is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::000000000000:user/"
    );
}
