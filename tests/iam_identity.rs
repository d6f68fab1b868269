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

// --- console identity: login profiles, password policy, ChangePassword ---------------------

/// A user's login profile as stored: (password hash, created_at, changed_at), read from the
/// server's database.
fn stored_profile(s: &TestServer, user_name: &str) -> (String, i64, i64) {
    let db = rusqlite::Connection::open(s.dir.path().join("tessera.db")).unwrap();
    db.query_row(
        "SELECT p.password_hash, p.created_at, p.changed_at FROM login_profiles p
         JOIN users u ON u.id = p.user_id WHERE u.name = ?1",
        [user_name],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

fn stored_hash(s: &TestServer, user_name: &str) -> String {
    stored_profile(s, user_name).0
}

#[tokio::test]
async fn login_profile_lifecycle() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    iam.create_user().user_name("carol").send().await.unwrap();

    // Recorded against IAM: capital `User` here, lowercase in the "already exists" text.
    let e = iam
        .get_login_profile()
        .user_name("carol")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        common::iam_err(&e),
        (
            "NoSuchEntity".into(),
            "Login Profile for User carol cannot be found.".into()
        )
    );
    // No account policy: IAM's default policy (8 characters, three character types).
    for weak in ["Abcde1!", "abcdefgh", "abcdefg1"] {
        let e = iam
            .create_login_profile()
            .user_name("carol")
            .password(weak)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            common::iam_err(&e),
            (
                "PasswordPolicyViolation".into(),
                "Password does not conform to the account password policy.".into()
            ),
            "{weak}"
        );
    }
    let created = iam
        .create_login_profile()
        .user_name("CAROL")
        .password("Correct-Horse-1")
        .password_reset_required(true)
        .send()
        .await
        .unwrap();
    let p = created.login_profile().unwrap();
    assert_eq!(p.user_name(), "carol");
    assert!(p.password_reset_required());
    let hash = stored_hash(&s, "carol");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("Correct-Horse-1"));

    let e = iam
        .create_login_profile()
        .user_name("carol")
        .password("Another-Pass-2")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        common::iam_err(&e),
        (
            "EntityAlreadyExists".into(),
            "Login Profile for user carol already exists.".into()
        )
    );
    let got = iam
        .get_login_profile()
        .user_name("carol")
        .send()
        .await
        .unwrap();
    let got = got.login_profile().unwrap();
    assert_eq!(got.create_date(), p.create_date());
    assert!(got.password_reset_required());

    iam.update_login_profile()
        .user_name("carol")
        .password_reset_required(false)
        .send()
        .await
        .unwrap();
    let got = iam
        .get_login_profile()
        .user_name("carol")
        .send()
        .await
        .unwrap();
    assert!(!got.login_profile().unwrap().password_reset_required());
    // Reset-flag only: the password is kept.
    assert_eq!(stored_hash(&s, "carol"), hash);
    iam.update_login_profile()
        .user_name("carol")
        .password("New-Horse-22")
        .send()
        .await
        .unwrap();
    assert_ne!(stored_hash(&s, "carol"), hash);
    let e = iam
        .update_login_profile()
        .user_name("carol")
        .password("short")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "PasswordPolicyViolation");

    // A user with a password cannot be deleted.
    let e = iam
        .delete_user()
        .user_name("carol")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        common::iam_err(&e),
        (
            "DeleteConflict".into(),
            "Cannot delete entity, must delete login profile first.".into()
        )
    );
    iam.delete_login_profile()
        .user_name("carol")
        .send()
        .await
        .unwrap();
    let e = iam
        .delete_login_profile()
        .user_name("carol")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        iam_message(&e),
        "Login Profile for User carol cannot be found."
    );
    let e = iam
        .update_login_profile()
        .user_name("carol")
        .password_reset_required(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "NoSuchEntity");
    iam.delete_user().user_name("carol").send().await.unwrap();

    // Unknown users are reported by name.
    let e = iam
        .create_login_profile()
        .user_name("nobody")
        .password("Correct-Horse-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        common::iam_err(&e),
        (
            "NoSuchEntity".into(),
            "The user with name nobody cannot be found.".into()
        )
    );
    // The root has no login profile here and must name a user.
    let e = iam.get_login_profile().send().await.unwrap_err();
    assert_eq!(
        common::iam_err(&e),
        (
            "ValidationError".into(),
            "Must specify userName when calling with non-User credentials".into()
        )
    );
    // Bad passwords are refused without being echoed.
    let long = "Aa1!".repeat(33);
    let e = iam
        .create_login_profile()
        .user_name("nobody")
        .password(&long)
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "ValidationError");
    assert!(!iam_message(&e).contains("Aa1!"), "{}", iam_message(&e));
}

#[tokio::test]
async fn login_profile_for_the_calling_user_and_by_policy() {
    let s = TestServer::start().await;
    let root = s.iam(&s.root);
    let dave = s.user_with_key("dave").await;
    let iam = s.iam(&dave);
    let e = iam
        .create_login_profile()
        .password("Correct-Horse-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "AccessDenied");
    assert_eq!(
        iam_message(&e),
        "User: arn:aws:iam::000000000000:user/dave is not authorized to perform: iam:CreateLoginProfile on resource: arn:aws:iam::000000000000:user/dave"
    );
    root.put_user_policy()
        .user_name("dave")
        .policy_name("own-password")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*LoginProfile"],"Resource":"arn:aws:iam::000000000000:user/${aws:username}"}]}"#,
        )
        .send()
        .await
        .unwrap();
    // Without UserName: the calling user.
    let p = iam
        .create_login_profile()
        .password("Correct-Horse-1")
        .send()
        .await
        .unwrap();
    assert_eq!(p.login_profile().unwrap().user_name(), "dave");
    iam.get_login_profile().send().await.unwrap();
    // Not on another user.
    root.create_user().user_name("erin").send().await.unwrap();
    let e = iam
        .get_login_profile()
        .user_name("erin")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "AccessDenied");
    iam.delete_login_profile().send().await.unwrap();
}

#[tokio::test]
async fn account_password_policy() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    // Recorded against IAM: two different sentences for the same absence.
    let e = iam.get_account_password_policy().send().await.unwrap_err();
    assert_eq!(
        common::iam_err(&e),
        (
            "NoSuchEntity".into(),
            "The Password Policy with domain name 000000000000 cannot be found.".into()
        )
    );
    let e = iam
        .delete_account_password_policy()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        common::iam_err(&e),
        (
            "NoSuchEntity".into(),
            "The account policy with name PasswordPolicy cannot be found.".into()
        )
    );

    iam.update_account_password_policy().send().await.unwrap();
    let p = iam.get_account_password_policy().send().await.unwrap();
    let p = p.password_policy().unwrap();
    assert_eq!(p.minimum_password_length(), Some(6));
    assert!(!p.require_symbols());
    assert!(!p.allow_users_to_change_password());
    assert!(!p.expire_passwords());
    assert_eq!(p.max_password_age(), None);
    assert_eq!(p.password_reuse_prevention(), None);
    assert_eq!(p.hard_expiry(), None);

    let e = iam
        .update_account_password_policy()
        .max_password_age(1096)
        .minimum_password_length(129)
        .password_reuse_prevention(25)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        common::iam_err(&e),
        (
            "ValidationError".into(),
            "3 validation errors detected: Value at 'minimumPasswordLength' failed to satisfy constraint: Member must have value less than or equal to 128; Value at 'passwordReusePrevention' failed to satisfy constraint: Member must have value less than or equal to 24; Value at 'maxPasswordAge' failed to satisfy constraint: Member must have value less than or equal to 1095".into()
        )
    );

    iam.update_account_password_policy()
        .minimum_password_length(10)
        .require_symbols(true)
        .require_numbers(true)
        .require_uppercase_characters(true)
        .require_lowercase_characters(true)
        .allow_users_to_change_password(true)
        .max_password_age(60)
        .password_reuse_prevention(2)
        .hard_expiry(true)
        .send()
        .await
        .unwrap();
    let p = iam.get_account_password_policy().send().await.unwrap();
    let p = p.password_policy().unwrap();
    assert_eq!(p.minimum_password_length(), Some(10));
    assert!(p.require_symbols() && p.require_numbers());
    assert!(p.require_uppercase_characters() && p.require_lowercase_characters());
    assert!(p.allow_users_to_change_password() && p.expire_passwords());
    assert_eq!(p.max_password_age(), Some(60));
    assert_eq!(p.password_reuse_prevention(), Some(2));
    assert_eq!(p.hard_expiry(), Some(true));

    // The policy replaces the default one: 10 characters and every type.
    iam.create_user().user_name("frank").send().await.unwrap();
    for weak in [
        "Aa1!Aa1!",
        "Aaaaaaaaa1",
        "aaaaaaaa1!",
        "AAAAAAAA1!",
        "Aaaaaaaaa!",
    ] {
        let e = iam
            .create_login_profile()
            .user_name("frank")
            .password(weak)
            .send()
            .await
            .unwrap_err();
        assert_eq!(iam_code(&e), "PasswordPolicyViolation", "{weak}");
    }
    iam.create_login_profile()
        .user_name("frank")
        .password("Aaaaaaaa1!")
        .send()
        .await
        .unwrap();
    // Reuse prevention 2: neither the current nor the previous password again.
    iam.update_login_profile()
        .user_name("frank")
        .password("Bbbbbbbb2@")
        .send()
        .await
        .unwrap();
    for reused in ["Aaaaaaaa1!", "Bbbbbbbb2@"] {
        let e = iam
            .update_login_profile()
            .user_name("frank")
            .password(reused)
            .send()
            .await
            .unwrap_err();
        assert_eq!(iam_code(&e), "PasswordPolicyViolation", "{reused}");
    }
    iam.update_login_profile()
        .user_name("frank")
        .password("Cccccccc3#")
        .send()
        .await
        .unwrap();
    // Now the first one is third back: allowed again.
    iam.update_login_profile()
        .user_name("frank")
        .password("Aaaaaaaa1!")
        .send()
        .await
        .unwrap();

    iam.delete_account_password_policy().send().await.unwrap();
    let e = iam.get_account_password_policy().send().await.unwrap_err();
    assert_eq!(iam_code(&e), "NoSuchEntity");

    // Non-root callers need the actions on `*`.
    let u = s.user_with_key("grace").await;
    let e = s
        .iam(&u)
        .get_account_password_policy()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        iam_message(&e),
        "User: arn:aws:iam::000000000000:user/grace is not authorized to perform: iam:GetAccountPasswordPolicy on resource: *"
    );
}

#[tokio::test]
async fn change_password_rules() {
    let s = TestServer::start().await;
    let root = s.iam(&s.root);
    let hank = s.user_with_key("hank").await;
    let iam = s.iam(&hank);

    // No login profile yet, and no permission: the permission is checked first.
    let e = iam
        .change_password()
        .old_password("x")
        .new_password("Correct-Horse-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "AccessDenied");
    assert_eq!(
        iam_message(&e),
        "User: arn:aws:iam::000000000000:user/hank is not authorized to perform: iam:ChangePassword on resource: arn:aws:iam::000000000000:user/hank"
    );
    // The password policy lets every user change its own password.
    root.update_account_password_policy()
        .allow_users_to_change_password(true)
        .password_reuse_prevention(1)
        .send()
        .await
        .unwrap();
    let e = iam
        .change_password()
        .old_password("x")
        .new_password("Correct-Horse-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        common::iam_err(&e),
        (
            "NoSuchEntity".into(),
            "Login Profile for User hank cannot be found.".into()
        )
    );
    root.create_login_profile()
        .user_name("hank")
        .password("Temp-Pass-1")
        .password_reset_required(true)
        .send()
        .await
        .unwrap();
    let e = iam
        .change_password()
        .old_password("Wrong-Pass-1")
        .new_password("Correct-Horse-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "AccessDenied");
    let e = iam
        .change_password()
        .old_password("Temp-Pass-1")
        .new_password("Temp-Pass-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "PasswordPolicyViolation");
    let before = stored_hash(&s, "hank");
    iam.change_password()
        .old_password("Temp-Pass-1")
        .new_password("Correct-Horse-1")
        .send()
        .await
        .unwrap();
    assert_ne!(stored_hash(&s, "hank"), before);
    let p = root
        .get_login_profile()
        .user_name("hank")
        .send()
        .await
        .unwrap();
    assert!(!p.login_profile().unwrap().password_reset_required());
    let (_, created, changed) = stored_profile(&s, "hank");
    assert!(changed >= created);

    // An explicit deny still wins over the account policy.
    root.put_user_policy()
        .user_name("hank")
        .policy_name("no-change")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:ChangePassword","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let e = iam
        .change_password()
        .old_password("Correct-Horse-1")
        .new_password("Correct-Horse-2")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "AccessDenied");

    // Only IAM users change their own password.
    let e = root
        .change_password()
        .old_password("a")
        .new_password("b")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "InvalidUserType");
}

#[tokio::test]
async fn change_password_by_iam_permission_without_account_policy() {
    let s = TestServer::start().await;
    let root = s.iam(&s.root);
    let ivy = s.user_with_key("ivy").await;
    root.attach_user_policy()
        .user_name("ivy")
        .policy_arn("arn:aws:iam::aws:policy/IAMUserChangePassword")
        .send()
        .await
        .unwrap();
    root.create_login_profile()
        .user_name("ivy")
        .password("Temp-Pass-1")
        .send()
        .await
        .unwrap();
    // Default policy applies to the new password.
    let e = s
        .iam(&ivy)
        .change_password()
        .old_password("Temp-Pass-1")
        .new_password("weakweak")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "PasswordPolicyViolation");
    s.iam(&ivy)
        .change_password()
        .old_password("Temp-Pass-1")
        .new_password("Correct-Horse-1")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn update_user_moves_everything_with_it() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let key = s.user_with_key("jack").await;
    let id = iam
        .get_user()
        .user_name("jack")
        .send()
        .await
        .unwrap()
        .user()
        .unwrap()
        .user_id()
        .to_owned();
    iam.tag_user()
        .user_name("jack")
        .tags(Tag::builder().key("team").value("core").build().unwrap())
        .send()
        .await
        .unwrap();
    iam.create_group().group_name("ops").send().await.unwrap();
    iam.add_user_to_group()
        .group_name("ops")
        .user_name("jack")
        .send()
        .await
        .unwrap();
    iam.put_user_policy()
        .user_name("jack")
        .policy_name("inline")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    iam.attach_user_policy()
        .user_name("jack")
        .policy_arn("arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .send()
        .await
        .unwrap();
    iam.create_login_profile()
        .user_name("jack")
        .password("Correct-Horse-1")
        .send()
        .await
        .unwrap();
    iam.create_role()
        .role_name("deploy")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/jack"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
    iam.put_user_policy()
        .user_name("jack")
        .policy_name("assume")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let session = s.sts(&key).get_session_token().send().await.unwrap();
    let session = common::Creds::from(session.credentials().unwrap());

    iam.update_user()
        .user_name("jack")
        .new_user_name("john")
        .new_path("/ops/")
        .send()
        .await
        .unwrap();
    let e = iam.get_user().user_name("jack").send().await.unwrap_err();
    assert_eq!(iam_message(&e), "The user with name jack cannot be found.");
    let u = iam.get_user().user_name("john").send().await.unwrap();
    let u = u.user().unwrap();
    assert_eq!(u.user_id(), id);
    assert_eq!(u.arn(), "arn:aws:iam::000000000000:user/ops/john");
    assert_eq!(u.tags().len(), 1);
    let groups = iam
        .list_groups_for_user()
        .user_name("john")
        .send()
        .await
        .unwrap();
    assert_eq!(groups.groups()[0].group_name(), "ops");
    let inline = iam
        .list_user_policies()
        .user_name("john")
        .send()
        .await
        .unwrap();
    assert_eq!(inline.policy_names().len(), 2);
    let attached = iam
        .list_attached_user_policies()
        .user_name("john")
        .send()
        .await
        .unwrap();
    assert_eq!(attached.attached_policies().len(), 1);
    let lp = iam
        .get_login_profile()
        .user_name("john")
        .send()
        .await
        .unwrap();
    assert_eq!(lp.login_profile().unwrap().user_name(), "john");
    let keys = iam
        .list_access_keys()
        .user_name("john")
        .send()
        .await
        .unwrap();
    assert_eq!(keys.access_key_metadata().len(), 1);

    // Its key and its session keep working, under the new name.
    let who = s.sts(&key).get_caller_identity().send().await.unwrap();
    assert_eq!(who.arn(), Some("arn:aws:iam::000000000000:user/ops/john"));
    let who = s.sts(&session).get_caller_identity().send().await.unwrap();
    assert_eq!(who.arn(), Some("arn:aws:iam::000000000000:user/ops/john"));
    // A trust policy naming the user follows the rename (IAM User Guide, "Renaming an IAM
    // user"), and still lets the user in.
    let role = iam.get_role().role_name("deploy").send().await.unwrap();
    let doc = role.role().unwrap().assume_role_policy_document().unwrap();
    let doc = percent_decode(doc);
    assert!(
        doc.contains("arn:aws:iam::000000000000:user/ops/john"),
        "{doc}"
    );
    s.sts(&key)
        .assume_role()
        .role_arn("arn:aws:iam::000000000000:role/deploy")
        .role_session_name("after-rename")
        .send()
        .await
        .unwrap();

    // Names stay unique; unknown users are reported.
    iam.create_user().user_name("kate").send().await.unwrap();
    let e = iam
        .update_user()
        .user_name("kate")
        .new_user_name("JOHN")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        common::iam_err(&e),
        (
            "EntityAlreadyExists".into(),
            "User with name JOHN already exists.".into()
        )
    );
    let e = iam
        .update_user()
        .user_name("nonexistent-user")
        .new_user_name("new-name")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        common::iam_err(&e),
        (
            "NoSuchEntity".into(),
            "The user with name nonexistent-user cannot be found.".into()
        )
    );
    let e = iam
        .update_user()
        .user_name("kate")
        .new_path("no-slash")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "ValidationError");
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[tokio::test]
async fn update_user_and_group_need_both_arns() {
    let s = TestServer::start().await;
    let root = s.iam(&s.root);
    let admin = s.user_with_key("admin").await;
    root.create_user().user_name("lee").send().await.unwrap();
    root.create_group().group_name("devs").send().await.unwrap();
    root.put_user_policy()
        .user_name("admin")
        .policy_name("rename-old-only")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:UpdateUser","iam:UpdateGroup"],"Resource":["arn:aws:iam::000000000000:user/lee","arn:aws:iam::000000000000:group/devs"]}]}"#,
        )
        .send()
        .await
        .unwrap();
    let iam = s.iam(&admin);
    let e = iam
        .update_user()
        .user_name("lee")
        .new_user_name("leo")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        iam_message(&e),
        "User: arn:aws:iam::000000000000:user/admin is not authorized to perform: iam:UpdateUser on resource: arn:aws:iam::000000000000:user/leo"
    );
    let e = iam
        .update_group()
        .group_name("devs")
        .new_path("/x/")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        iam_message(&e),
        "User: arn:aws:iam::000000000000:user/admin is not authorized to perform: iam:UpdateGroup on resource: arn:aws:iam::000000000000:group/x/devs"
    );
    // Nothing changed.
    root.get_user().user_name("lee").send().await.unwrap();
    let g = root.get_group().group_name("devs").send().await.unwrap();
    assert_eq!(g.group().unwrap().path(), "/");
}

#[tokio::test]
async fn update_group_keeps_members_and_policies() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    iam.create_group().group_name("qa").send().await.unwrap();
    iam.create_group().group_name("taken").send().await.unwrap();
    iam.create_user().user_name("mia").send().await.unwrap();
    iam.add_user_to_group()
        .group_name("qa")
        .user_name("mia")
        .send()
        .await
        .unwrap();
    iam.put_group_policy()
        .group_name("qa")
        .policy_name("p")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let id = iam
        .get_group()
        .group_name("qa")
        .send()
        .await
        .unwrap()
        .group()
        .unwrap()
        .group_id()
        .to_owned();
    iam.update_group()
        .group_name("qa")
        .new_group_name("quality")
        .new_path("/eng/")
        .send()
        .await
        .unwrap();
    let e = iam.get_group().group_name("qa").send().await.unwrap_err();
    assert_eq!(
        common::iam_err(&e),
        (
            "NoSuchEntity".into(),
            "The group with name qa cannot be found.".into()
        )
    );
    let g = iam.get_group().group_name("quality").send().await.unwrap();
    assert_eq!(g.group().unwrap().group_id(), id);
    assert_eq!(
        g.group().unwrap().arn(),
        "arn:aws:iam::000000000000:group/eng/quality"
    );
    assert_eq!(g.users()[0].user_name(), "mia");
    let p = iam
        .list_group_policies()
        .group_name("quality")
        .send()
        .await
        .unwrap();
    assert_eq!(p.policy_names(), ["p"]);
    let e = iam
        .update_group()
        .group_name("quality")
        .new_group_name("Taken")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        common::iam_err(&e),
        (
            "EntityAlreadyExists".into(),
            "Group with name Taken already exists.".into()
        )
    );
}

/// `ChangePassword` is an oracle for the console password to whoever holds the user's keys:
/// after 5 wrong old passwords it refuses (even the right one) for 15 minutes.
#[tokio::test]
async fn change_password_stops_guessing() {
    let s = TestServer::start().await;
    let root = s.iam(&s.root);
    let u = s.user_with_key("nina").await;
    root.update_account_password_policy()
        .allow_users_to_change_password(true)
        .send()
        .await
        .unwrap();
    root.create_login_profile()
        .user_name("nina")
        .password("Right-Pass-1")
        .send()
        .await
        .unwrap();
    let iam = s.iam(&u);
    for i in 0..5 {
        let e = iam
            .change_password()
            .old_password(format!("Guess-{i}"))
            .new_password("Next-Pass-1")
            .send()
            .await
            .unwrap_err();
        assert_eq!(iam_code(&e), "AccessDenied", "guess {i}");
    }
    let e = iam
        .change_password()
        .old_password("Right-Pass-1")
        .new_password("Next-Pass-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "LimitExceeded");
    s.clock.advance(std::time::Duration::from_secs(15 * 60 + 1));
    iam.change_password()
        .old_password("Right-Pass-1")
        .new_password("Next-Pass-1")
        .send()
        .await
        .unwrap();
}

/// Decode a `QRCodePNG` as an authenticator app's camera would: pixels, then a QR reader.
fn read_qr(png_bytes: &[u8]) -> String {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    let bytes_per_pixel = buf.len() / (w * h);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        buf[(y * w + x) * bytes_per_pixel]
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().unwrap().1
}

#[tokio::test]
async fn virtual_mfa_qr_code_tags_and_get() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    iam.create_user().user_name("qruser").send().await.unwrap();
    let out = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("phone")
        .path("/team/")
        .tags(Tag::builder().key("owner").value("qruser").build().unwrap())
        .send()
        .await
        .unwrap();
    let dev = out.virtual_mfa_device().unwrap();
    let serial = dev.serial_number().to_owned();
    assert_eq!(serial, "arn:aws:iam::000000000000:mfa/team/phone");
    // The QR code holds exactly the key URI, with the same secret as Base32StringSeed.
    let b32 = std::str::from_utf8(dev.base32_string_seed().unwrap().as_ref())
        .unwrap()
        .to_owned();
    let uri = read_qr(dev.qr_code_png().unwrap().as_ref());
    assert_eq!(
        uri,
        format!(
            "otpauth://totp/tessera:phone@000000000000?secret={b32}&issuer=tessera&algorithm=SHA1&digits=6&period=30"
        )
    );
    // Tags given at creation are kept, and answered.
    assert_eq!(dev.tags().len(), 1);
    let tags = iam
        .list_mfa_device_tags()
        .serial_number(&serial)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags()[0].key(), "owner");
    iam.tag_mfa_device()
        .serial_number(&serial)
        .tags(Tag::builder().key("OWNER").value("ops").build().unwrap())
        .tags(Tag::builder().key("cost").value("42").build().unwrap())
        .send()
        .await
        .unwrap();
    iam.untag_mfa_device()
        .serial_number(&serial)
        .tag_keys("Cost")
        .send()
        .await
        .unwrap();
    let tags = iam
        .list_mfa_device_tags()
        .serial_number(&serial)
        .send()
        .await
        .unwrap();
    let got: Vec<(&str, &str)> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(got, [("OWNER", "ops")]);
    // 50 tags at most.
    let mut many = iam.tag_mfa_device().serial_number(&serial);
    for i in 0..50 {
        many = many.tags(
            Tag::builder()
                .key(format!("k{i}"))
                .value("v")
                .build()
                .unwrap(),
        );
    }
    assert_eq!(
        common::iam_err(&many.send().await.unwrap_err()),
        (
            "LimitExceeded".to_owned(),
            "Cannot exceed quota for TagsPerMFADevice: 50".to_owned()
        )
    );
    // A device that does not exist.
    let missing = "arn:aws:iam::000000000000:mfa/nope";
    let e = iam
        .list_mfa_device_tags()
        .serial_number(missing)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        common::iam_err(&e),
        (
            "NoSuchEntity".to_owned(),
            format!("MFA Device with serial number {missing} does not exist.")
        )
    );
    let e = iam
        .tag_mfa_device()
        .serial_number(&serial)
        .tags(Tag::builder().key("a:b").value("x\u{7}").build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "ValidationError");

    // GetMFADevice: only once enabled for the user.
    let e = iam
        .get_mfa_device()
        .serial_number(&serial)
        .user_name("qruser")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "NoSuchEntity");
    let seed = common::base32_decode(&b32);
    let now = s.clock.now().timestamp();
    iam.enable_mfa_device()
        .user_name("qruser")
        .serial_number(&serial)
        .authentication_code1(common::totp(&seed, now - 30))
        .authentication_code2(common::totp(&seed, now))
        .send()
        .await
        .unwrap();
    let got = iam
        .get_mfa_device()
        .serial_number(&serial)
        .user_name("qruser")
        .send()
        .await
        .unwrap();
    assert_eq!(got.user_name(), Some("qruser"));
    assert_eq!(got.serial_number(), serial);
    assert!(got.enable_date().is_some());
    assert!(got.certifications().is_none());
    let e = iam
        .get_mfa_device()
        .serial_number(&serial)
        .user_name("nobody")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        common::iam_err(&e),
        (
            "NoSuchEntity".to_owned(),
            "The user with name nobody cannot be found.".to_owned()
        )
    );
    // The root has no device of its own.
    let e = iam
        .get_mfa_device()
        .serial_number(&serial)
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "NoSuchEntity");
}

#[tokio::test]
async fn resync_mfa_device_follows_a_drifting_phone() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let alice = s.user_with_key("drifty").await;
    let (serial, seed) = s.virtual_mfa("drifty-phone").await;
    let now = s.clock.now().timestamp();
    iam.enable_mfa_device()
        .user_name("drifty")
        .serial_number(&serial)
        .authentication_code1(common::totp(&seed, now - 30))
        .authentication_code2(common::totp(&seed, now))
        .send()
        .await
        .unwrap();
    // The phone's clock now runs 5 minutes fast: its codes are too new for GetSessionToken.
    // (A clock that went back would show codes of steps already used, refused for good.)
    let phone = |t: i64| common::totp(&seed, t + 300);
    s.clock.advance(std::time::Duration::from_secs(90));
    let now = s.clock.now().timestamp();
    let sts = s.sts(&alice);
    let e = sts
        .get_session_token()
        .serial_number(&serial)
        .token_code(phone(now))
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::code(&e), "AccessDenied");
    // Wrong codes, codes out of order, and a device not enabled for the user are refused.
    let bad = iam
        .resync_mfa_device()
        .user_name("drifty")
        .serial_number(&serial)
        .authentication_code1(phone(now))
        .authentication_code2(phone(now - 30))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        common::iam_err(&bad),
        (
            "InvalidAuthenticationCode".to_owned(),
            "Authentication code for device is not valid.".to_owned()
        )
    );
    let (other, _) = s.virtual_mfa("unassigned").await;
    let e = iam
        .resync_mfa_device()
        .user_name("drifty")
        .serial_number(&other)
        .authentication_code1("123456")
        .authentication_code2("654321")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        common::iam_err(&e),
        (
            "NoSuchEntity".to_owned(),
            format!("MFA Device with serial number {other} does not exist.")
        )
    );
    let e = iam
        .resync_mfa_device()
        .user_name("drifty")
        .serial_number(&serial)
        .authentication_code1("12345")
        .authentication_code2("654321")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "ValidationError");
    // Two consecutive codes from the fast phone: tessera now looks 5 minutes ahead.
    iam.resync_mfa_device()
        .user_name("drifty")
        .serial_number(&serial)
        .authentication_code1(phone(now - 30))
        .authentication_code2(phone(now))
        .send()
        .await
        .unwrap();
    // The codes used to resync are spent; the phone's next one works.
    s.clock.advance(std::time::Duration::from_secs(30));
    let now = s.clock.now().timestamp();
    let creds = sts
        .get_session_token()
        .serial_number(&serial)
        .token_code(phone(now))
        .send()
        .await
        .unwrap();
    assert!(creds.credentials().is_some());
    let e = sts
        .get_session_token()
        .serial_number(&serial)
        .token_code(phone(now))
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::code(&e), "AccessDenied", "a code is used once");
    // Resync is an IAM action on the user: a user without a policy for it is refused.
    let e = s
        .iam(&alice)
        .resync_mfa_device()
        .user_name("drifty")
        .serial_number(&serial)
        .authentication_code1(phone(now + 30))
        .authentication_code2(phone(now + 60))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        common::iam_err(&e),
        (
            "AccessDenied".to_owned(),
            "User: arn:aws:iam::000000000000:user/drifty is not authorized to perform: iam:ResyncMFADevice on resource: arn:aws:iam::000000000000:user/drifty".to_owned()
        )
    );
}

#[tokio::test]
async fn mfa_tag_actions_are_authorized_on_the_device_arn() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let bob = s.user_with_key("bob").await;
    let (serial, _) = s.virtual_mfa("shared").await;
    let e = s
        .iam(&bob)
        .list_mfa_device_tags()
        .serial_number(&serial)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        iam_message(&e),
        format!(
            "User: arn:aws:iam::000000000000:user/bob is not authorized to perform: iam:ListMFADeviceTags on resource: {serial}"
        )
    );
    iam.put_user_policy()
        .user_name("bob")
        .policy_name("mfa-tags")
        .policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["iam:TagMFADevice","iam:ListMFADeviceTags"],"Resource":"{serial}"}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    s.iam(&bob)
        .tag_mfa_device()
        .serial_number(&serial)
        .tags(Tag::builder().key("k").value("v").build().unwrap())
        .send()
        .await
        .unwrap();
    let e = s
        .iam(&bob)
        .untag_mfa_device()
        .serial_number(&serial)
        .tag_keys("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "AccessDenied");
    assert_eq!(
        s.iam(&bob)
            .list_mfa_device_tags()
            .serial_number(&serial)
            .send()
            .await
            .unwrap()
            .tags()
            .len(),
        1
    );
}

#[tokio::test]
async fn access_key_last_used_is_recorded_per_key() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let carol = s.user_with_key("carol").await;
    // Never used: no date, N/A for the region and service.
    let got = iam
        .get_access_key_last_used()
        .access_key_id(&carol.access_key_id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.user_name(), Some("carol"));
    let last = got.access_key_last_used().unwrap();
    assert!(last.last_used_date().is_none());
    assert_eq!((last.region(), last.service_name()), ("N/A", "N/A"));
    // A use: the region and service the request was signed for.
    let before = s.clock.now();
    s.sts_in(&carol, "eu-west-3")
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    let got = iam
        .get_access_key_last_used()
        .access_key_id(&carol.access_key_id)
        .send()
        .await
        .unwrap();
    let last = got.access_key_last_used().unwrap();
    assert_eq!((last.region(), last.service_name()), ("eu-west-3", "sts"));
    let date = last.last_used_date().unwrap();
    assert!((date.secs() - before.timestamp()).abs() <= 1);
    // Within 15 minutes only the first use counts (AWS's rule); after that, the next one.
    s.iam_in(&carol, "us-west-2")
        .list_users()
        .send()
        .await
        .unwrap_err();
    let same = iam
        .get_access_key_last_used()
        .access_key_id(&carol.access_key_id)
        .send()
        .await
        .unwrap();
    assert_eq!(same.access_key_last_used().unwrap().region(), "eu-west-3");
    s.clock.advance(std::time::Duration::from_secs(15 * 60));
    // A refused request was still signed with the key: it is a use.
    s.iam_in(&carol, "us-west-2")
        .list_users()
        .send()
        .await
        .unwrap_err();
    let later = iam
        .get_access_key_last_used()
        .access_key_id(&carol.access_key_id)
        .send()
        .await
        .unwrap();
    let last = later.access_key_last_used().unwrap();
    assert_eq!((last.region(), last.service_name()), ("us-west-2", "iam"));
    // Session credentials are uses of themselves, not of the key that obtained them (the
    // GetSessionToken call itself is a use of the key).
    s.clock.advance(std::time::Duration::from_secs(15 * 60));
    let session = s
        .sts_in(&carol, "ap-south-1")
        .get_session_token()
        .send()
        .await
        .unwrap();
    let session: common::Creds = session.credentials().unwrap().into();
    s.clock.advance(std::time::Duration::from_secs(15 * 60));
    s.sts_in(&session, "sa-east-1")
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    let last = iam
        .get_access_key_last_used()
        .access_key_id(&carol.access_key_id)
        .send()
        .await
        .unwrap();
    assert_eq!(last.access_key_last_used().unwrap().region(), "ap-south-1");
    // A bad signature is no use of the key.
    let forged = common::Creds::new(
        &carol.access_key_id,
        "not-the-secret-0000000000000000000000000",
    );
    s.clock.advance(std::time::Duration::from_secs(15 * 60));
    s.sts_in(&forged, "me-south-1")
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    let last = iam
        .get_access_key_last_used()
        .access_key_id(&carol.access_key_id)
        .send()
        .await
        .unwrap();
    assert_eq!(last.access_key_last_used().unwrap().region(), "ap-south-1");
    // The root's own key: no user name.
    let root = iam
        .get_access_key_last_used()
        .access_key_id(&s.root.access_key_id)
        .send()
        .await
        .unwrap();
    assert_eq!(root.user_name(), None);
    assert_eq!(root.access_key_last_used().unwrap().service_name(), "iam");
    // A key of no account, or of another one, is refused alike, saying nothing of it.
    let other = s.create_account("222233334444");
    for key in ["AKIANOSUCHKEY0000000", other.access_key_id.as_str()] {
        let e = iam
            .get_access_key_last_used()
            .access_key_id(key)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            common::iam_err(&e),
            (
                "AccessDenied".to_owned(),
                format!(
                    "User: arn:aws:iam::000000000000:root is not authorized to perform: iam:GetAccessKeyLastUsed on resource: access key {key}"
                )
            )
        );
    }
    let e = iam
        .get_access_key_last_used()
        .access_key_id("short")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "ValidationError");
    // Carol may read her own key's use only with a policy that allows it on her.
    let e = s
        .iam(&carol)
        .get_access_key_last_used()
        .access_key_id(&carol.access_key_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        iam_message(&e),
        "User: arn:aws:iam::000000000000:user/carol is not authorized to perform: iam:GetAccessKeyLastUsed on resource: arn:aws:iam::000000000000:user/carol"
    );
    iam.put_user_policy()
        .user_name("carol")
        .policy_name("own-keys")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetAccessKeyLastUsed","Resource":"arn:aws:iam::*:user/${aws:username}"}]}"#)
        .send()
        .await
        .unwrap();
    let own = s
        .iam(&carol)
        .get_access_key_last_used()
        .access_key_id(&carol.access_key_id)
        .send()
        .await
        .unwrap();
    assert_eq!(own.user_name(), Some("carol"));
}

#[tokio::test]
async fn access_key_last_use_survives_a_graceful_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || tessera::config::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        ..tessera::config::Config::default()
    };
    let clock = tessera::clock::Clock::system();
    let running = tessera::server::spawn(config(), clock.clone())
        .await
        .unwrap();
    let root =
        common::read_root_credentials(&dir.path().join(tessera::server::ROOT_CREDENTIALS_FILE));
    let endpoint = format!("http://{}", running.addr);
    let sdk = |c: &common::Creds, region: &str| {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_sdk_iam::config::Region::new(region.to_owned()))
            .endpoint_url(endpoint.clone())
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::new(
                        &c.access_key_id,
                        &c.secret,
                        None,
                        None,
                        "t",
                    ),
                ),
            )
            .build()
    };
    let iam = aws_sdk_iam::Client::new(&sdk(&root, "eu-central-1"));
    iam.list_users().send().await.unwrap();
    let before = iam
        .get_access_key_last_used()
        .access_key_id(&root.access_key_id)
        .send()
        .await
        .unwrap();
    let before = before.access_key_last_used().unwrap().clone();
    assert_eq!(before.region(), "eu-central-1");
    // Well within the flush interval: only the shutdown writes it.
    assert!(running.shutdown(std::time::Duration::from_secs(10)).await);

    let running = tessera::server::spawn(config(), clock).await.unwrap();
    let endpoint = format!("http://{}", running.addr);
    let conf = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_iam::config::Region::new("eu-central-1"))
        .endpoint_url(endpoint)
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new(
                    &root.access_key_id,
                    &root.secret,
                    None,
                    None,
                    "t",
                ),
            ),
        )
        .build();
    // This call is itself a use, but within 15 minutes of the stored one: not recorded.
    let after = aws_sdk_iam::Client::new(&conf)
        .get_access_key_last_used()
        .access_key_id(&root.access_key_id)
        .send()
        .await
        .unwrap();
    let after = after.access_key_last_used().unwrap();
    assert_eq!(after.region(), "eu-central-1");
    assert_eq!(after.service_name(), "iam");
    assert_eq!(
        after.last_used_date().map(|d| d.secs()),
        before.last_used_date().map(|d| d.secs())
    );
    assert!(running.shutdown(std::time::Duration::from_secs(10)).await);
}

/// A role session has no access keys of its own, and the root's are not its to list or change:
/// without `UserName`, every access key action answers AWS's ValidationError (it used to act
/// on the root's keys). Naming a user works as for anyone allowed.
#[tokio::test]
async fn role_sessions_must_name_the_access_key_owner() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let ops = s.user_with_key("ops").await;
    let doc = |principal: serde_json::Value, action: &str| {
        serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": principal, "Action": action}]})
    };
    iam.put_user_policy()
        .user_name("ops")
        .policy_name("assume")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    iam.create_role()
        .role_name("admin")
        .assume_role_policy_document(
            doc(
                serde_json::json!({"AWS": "arn:aws:iam::000000000000:user/ops"}),
                "sts:AssumeRole",
            )
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name("admin")
        .policy_name("all")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let session = s
        .sts(&ops)
        .assume_role()
        .role_arn("arn:aws:iam::000000000000:role/admin")
        .role_session_name("ops-session")
        .send()
        .await
        .unwrap();
    let as_role = s.iam(&session.credentials().unwrap().into());
    let want = (
        "ValidationError".to_owned(),
        "Must specify userName when calling with non-User credentials".to_owned(),
    );
    let root_key = s.root.access_key_id.as_str();
    assert_eq!(
        iam_err(&as_role.list_access_keys().send().await.unwrap_err()),
        want
    );
    assert_eq!(
        iam_err(&as_role.create_access_key().send().await.unwrap_err()),
        want
    );
    assert_eq!(
        iam_err(
            &as_role
                .update_access_key()
                .access_key_id(root_key)
                .status(aws_sdk_iam::types::StatusType::Inactive)
                .send()
                .await
                .unwrap_err()
        ),
        want
    );
    assert_eq!(
        iam_err(
            &as_role
                .delete_access_key()
                .access_key_id(root_key)
                .send()
                .await
                .unwrap_err()
        ),
        want
    );
    // MFA devices likewise: the root's are not the session's to list or read.
    assert_eq!(
        iam_err(&as_role.list_mfa_devices().send().await.unwrap_err()),
        want
    );
    assert_eq!(
        iam_err(
            &as_role
                .get_mfa_device()
                .serial_number("arn:aws:iam::000000000000:mfa/root-device")
                .send()
                .await
                .unwrap_err()
        ),
        want
    );
    iam.list_mfa_devices().send().await.unwrap();
    // The root's key is untouched and still its only one; the root itself still lists it
    // without naming a user.
    let root_keys = iam.list_access_keys().send().await.unwrap();
    let root_keys: Vec<_> = root_keys
        .access_key_metadata()
        .iter()
        .map(|k| (k.access_key_id().unwrap(), k.status().unwrap().as_str()))
        .collect();
    assert_eq!(root_keys, [(root_key, "Active")]);
    // Naming a user works.
    let listed = as_role
        .list_access_keys()
        .user_name("ops")
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.access_key_metadata()[0].access_key_id(),
        Some(ops.access_key_id.as_str())
    );
    let made = as_role
        .create_access_key()
        .user_name("ops")
        .send()
        .await
        .unwrap();
    assert_eq!(made.access_key().unwrap().user_name(), "ops");
    // An IAM user without UserName still means itself.
    let own = s.iam(&ops).list_access_keys().send().await.unwrap_err();
    assert_eq!(iam_code(&own), "AccessDenied");
    assert!(
        iam_message(&own).ends_with("on resource: arn:aws:iam::000000000000:user/ops"),
        "{}",
        iam_message(&own)
    );
}
