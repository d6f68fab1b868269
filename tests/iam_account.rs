//! The account as a whole through aws-sdk-rust: its alias, `GetAccountSummary` and
//! `GetAccountAuthorizationDetails` with every filter and its pages.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod common;

use common::iam_err as err;

use std::collections::BTreeMap;

use aws_sdk_iam::types::{EntityType, SummaryKeyType};
use common::TestServer;
use serde_json::json;

const A: &str = "000000000000";

fn pair(code: &str, message: &str) -> (String, String) {
    (code.to_owned(), message.to_owned())
}

fn decode(doc: &str) -> serde_json::Value {
    let text = percent_encoding::percent_decode_str(doc)
        .decode_utf8()
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn allow(action: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})
        .to_string()
}

fn trust() -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    .to_string()
}

#[tokio::test]
async fn account_aliases() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    assert!(
        iam.list_account_aliases()
            .send()
            .await
            .unwrap()
            .account_aliases()
            .is_empty()
    );
    iam.create_account_alias()
        .account_alias("acme-prod")
        .send()
        .await
        .unwrap();
    assert_eq!(
        iam.list_account_aliases()
            .send()
            .await
            .unwrap()
            .account_aliases(),
        ["acme-prod"]
    );
    // One per account: a new alias replaces the old one.
    iam.create_account_alias()
        .account_alias("acme-main")
        .send()
        .await
        .unwrap();
    assert_eq!(
        iam.list_account_aliases()
            .send()
            .await
            .unwrap()
            .account_aliases(),
        ["acme-main"]
    );
    assert_eq!(
        err(&iam
            .create_account_alias()
            .account_alias("acme-main")
            .send()
            .await
            .unwrap_err()),
        pair(
            "EntityAlreadyExists",
            "The account alias acme-main already exists."
        )
    );
    // Unique across accounts.
    let other = s.create_account("111122223333");
    let iam2 = s.iam(&other);
    assert_eq!(
        err(&iam2
            .create_account_alias()
            .account_alias("acme-main")
            .send()
            .await
            .unwrap_err()),
        pair(
            "EntityAlreadyExists",
            "The account alias acme-main already exists."
        )
    );
    iam2.create_account_alias()
        .account_alias("acme-prod")
        .send()
        .await
        .unwrap();

    for (bad, constraint) in [
        (
            "Acme",
            "Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$",
        ),
        (
            "a--b",
            "Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$",
        ),
        (
            "-ab",
            "Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$",
        ),
    ] {
        assert_eq!(
            err(&iam
                .create_account_alias()
                .account_alias(bad)
                .send()
                .await
                .unwrap_err()),
            pair(
                "ValidationError",
                &format!(
                    "1 validation error detected: Value '{bad}' at 'accountAlias' failed to satisfy constraint: {constraint}"
                )
            )
        );
    }
    let e = iam
        .create_account_alias()
        .account_alias("ab")
        .send()
        .await
        .unwrap_err();
    assert!(
        err(&e).1.starts_with("2 validation errors detected: "),
        "{e:?}"
    );

    assert_eq!(
        err(&iam
            .delete_account_alias()
            .account_alias("acme-prod")
            .send()
            .await
            .unwrap_err()),
        pair(
            "NoSuchEntity",
            "The account alias acme-prod cannot be found."
        )
    );
    iam.delete_account_alias()
        .account_alias("acme-main")
        .send()
        .await
        .unwrap();
    assert!(
        iam.list_account_aliases()
            .send()
            .await
            .unwrap()
            .account_aliases()
            .is_empty()
    );

    // Authorized as `iam:*AccountAlias*` on `*`.
    let u = s.user_with_key("ops").await;
    assert_eq!(
        err(&s
            .iam(&u)
            .create_account_alias()
            .account_alias("mine")
            .send()
            .await
            .unwrap_err())
        .1,
        format!(
            "User: arn:aws:iam::{A}:user/ops is not authorized to perform: iam:CreateAccountAlias on resource: *"
        )
    );
}

#[tokio::test]
async fn account_summary_counts_and_quotas() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let summary = |iam: aws_sdk_iam::Client| async move {
        iam.get_account_summary()
            .send()
            .await
            .unwrap()
            .summary_map()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), *v))
            .collect::<BTreeMap<String, i32>>()
    };
    let before = summary(iam.clone()).await;
    let keys: Vec<&str> = before.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "AccessKeysPerUserQuota",
            "AccountAccessKeysPresent",
            "AccountMFAEnabled",
            "AccountSigningCertificatesPresent",
            "AssumeRolePolicySizeQuota",
            "AttachedPoliciesPerGroupQuota",
            "AttachedPoliciesPerRoleQuota",
            "AttachedPoliciesPerUserQuota",
            "GlobalEndpointTokenVersion",
            "GroupPolicySizeQuota",
            "Groups",
            "GroupsPerUserQuota",
            "GroupsQuota",
            "InstanceProfiles",
            "InstanceProfilesQuota",
            "MFADevices",
            "MFADevicesInUse",
            "Policies",
            "PoliciesQuota",
            "PolicySizeQuota",
            "PolicyVersionsInUse",
            "PolicyVersionsInUseQuota",
            "Providers",
            "RolePolicySizeQuota",
            "Roles",
            "RolesQuota",
            "ServerCertificates",
            "ServerCertificatesQuota",
            "SigningCertificatesPerUserQuota",
            "UserPolicySizeQuota",
            "Users",
            "UsersQuota",
            "VersionsPerPolicyQuota",
        ]
    );
    // Every key is one the SDK's model knows.
    let typed = iam.get_account_summary().send().await.unwrap();
    assert!(
        typed
            .summary_map()
            .unwrap()
            .keys()
            .all(|k| SummaryKeyType::values().contains(&k.as_str()))
    );
    let get = |m: &BTreeMap<String, i32>, k: &str| m[k];
    assert_eq!(get(&before, "Users"), 0);
    assert_eq!(get(&before, "AccountAccessKeysPresent"), 1);
    assert_eq!(get(&before, "AccountMFAEnabled"), 0);
    assert_eq!(get(&before, "UsersQuota"), 5000);
    assert_eq!(get(&before, "RolesQuota"), 1000);
    assert_eq!(get(&before, "InstanceProfilesQuota"), 1000);
    assert_eq!(get(&before, "PolicySizeQuota"), 6144);
    assert_eq!(get(&before, "RolePolicySizeQuota"), 10240);
    assert_eq!(get(&before, "AssumeRolePolicySizeQuota"), 2048);

    iam.create_user().user_name("u").send().await.unwrap();
    iam.create_group().group_name("g").send().await.unwrap();
    iam.create_role()
        .role_name("r")
        .assume_role_policy_document(trust())
        .send()
        .await
        .unwrap();
    iam.create_instance_profile()
        .instance_profile_name("ip")
        .send()
        .await
        .unwrap();
    let p = iam
        .create_policy()
        .policy_name("p")
        .policy_document(allow("iam:GetUser"))
        .send()
        .await
        .unwrap();
    iam.create_policy_version()
        .policy_arn(p.policy().unwrap().arn().unwrap())
        .policy_document(allow("iam:ListUsers"))
        .send()
        .await
        .unwrap();
    iam.create_open_id_connect_provider()
        .url("https://idp.example.com")
        .client_id_list("sts.amazonaws.com")
        .send()
        .await
        .unwrap();
    let (serial, seed) = s.virtual_mfa("u-mfa").await;
    let now = s.clock.now().timestamp();
    iam.enable_mfa_device()
        .user_name("u")
        .serial_number(&serial)
        .authentication_code1(common::totp(&seed, now - 30))
        .authentication_code2(common::totp(&seed, now))
        .send()
        .await
        .unwrap();
    s.virtual_mfa("spare").await;
    let after = summary(iam.clone()).await;
    for (k, v) in [
        ("Users", 1),
        ("Groups", 1),
        ("Roles", 1),
        ("InstanceProfiles", 1),
        ("Policies", 1),
        ("PolicyVersionsInUse", 2),
        ("Providers", 1),
        ("MFADevices", 2),
        ("MFADevicesInUse", 1),
        // The root's own device is what counts here; the user's does not.
        ("AccountMFAEnabled", 0),
    ] {
        assert_eq!(get(&after, k), v, "{k}");
    }
    // Another account's entities are not counted.
    let other = s.create_account("111122223333");
    let theirs = summary(s.iam(&other)).await;
    assert_eq!((get(&theirs, "Users"), get(&theirs, "Roles")), (0, 0));
}

#[tokio::test]
async fn authorization_details_shape_filters_and_pages() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    iam.create_user()
        .user_name("alice")
        .path("/eng/")
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("team")
                .value("blue")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    iam.put_user_policy()
        .user_name("alice")
        .policy_name("inline")
        .policy_document(allow("s3:GetObject"))
        .send()
        .await
        .unwrap();
    iam.create_group().group_name("devs").send().await.unwrap();
    iam.add_user_to_group()
        .group_name("devs")
        .user_name("alice")
        .send()
        .await
        .unwrap();
    iam.attach_group_policy()
        .group_name("devs")
        .policy_arn("arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .send()
        .await
        .unwrap();
    iam.create_role()
        .role_name("app")
        .assume_role_policy_document(trust())
        .send()
        .await
        .unwrap();
    iam.create_instance_profile()
        .instance_profile_name("app-ip")
        .send()
        .await
        .unwrap();
    iam.add_role_to_instance_profile()
        .instance_profile_name("app-ip")
        .role_name("app")
        .send()
        .await
        .unwrap();
    let local = iam
        .create_policy()
        .policy_name("local")
        .policy_document(allow("iam:GetUser"))
        .send()
        .await
        .unwrap();
    let local_arn = local.policy().unwrap().arn().unwrap().to_owned();
    iam.create_policy_version()
        .policy_arn(&local_arn)
        .policy_document(allow("iam:ListUsers"))
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name("app")
        .policy_arn(&local_arn)
        .send()
        .await
        .unwrap();
    iam.put_role_permissions_boundary()
        .role_name("app")
        .permissions_boundary("arn:aws:iam::aws:policy/PowerUserAccess")
        .send()
        .await
        .unwrap();

    let all = iam
        .get_account_authorization_details()
        .send()
        .await
        .unwrap();
    assert!(!all.is_truncated());
    let u = &all.user_detail_list()[0];
    assert_eq!(u.user_name(), Some("alice"));
    assert_eq!(u.path(), Some("/eng/"));
    assert_eq!(u.group_list(), ["devs"]);
    assert_eq!(u.tags()[0].key(), "team");
    let inline = &u.user_policy_list()[0];
    assert_eq!(inline.policy_name(), Some("inline"));
    assert_eq!(
        decode(inline.policy_document().unwrap()),
        serde_json::from_str::<serde_json::Value>(&allow("s3:GetObject")).unwrap()
    );
    let g = &all.group_detail_list()[0];
    assert_eq!(g.group_name(), Some("devs"));
    assert_eq!(
        g.attached_managed_policies()[0].policy_name(),
        Some("IAMReadOnlyAccess")
    );
    let r = &all.role_detail_list()[0];
    assert_eq!(r.role_name(), Some("app"));
    assert_eq!(
        r.instance_profile_list()[0].instance_profile_name(),
        "app-ip"
    );
    assert_eq!(
        r.attached_managed_policies()[0].policy_arn(),
        Some(local_arn.as_str())
    );
    assert_eq!(
        r.permissions_boundary().unwrap().permissions_boundary_arn(),
        Some("arn:aws:iam::aws:policy/PowerUserAccess")
    );
    assert_eq!(
        decode(r.assume_role_policy_document().unwrap()),
        serde_json::from_str::<serde_json::Value>(&trust()).unwrap()
    );
    // The account's policies and the AWS managed ones its entities use (in ARN order), with
    // every version.
    let names: Vec<&str> = all
        .policies()
        .iter()
        .map(|p| p.policy_name().unwrap())
        .collect();
    assert_eq!(names, ["local", "IAMReadOnlyAccess", "PowerUserAccess"]);
    let lp = &all.policies()[0];
    assert_eq!(lp.default_version_id(), Some("v2"));
    assert_eq!(lp.attachment_count(), Some(1));
    let versions: Vec<(&str, bool)> = lp
        .policy_version_list()
        .iter()
        .map(|v| (v.version_id().unwrap(), v.is_default_version()))
        .collect();
    assert_eq!(versions, [("v2", true), ("v1", false)]);
    assert_eq!(
        decode(lp.policy_version_list()[0].document().unwrap()),
        serde_json::from_str::<serde_json::Value>(&allow("iam:ListUsers")).unwrap()
    );
    assert_eq!(
        all.policies()[2].permissions_boundary_usage_count(),
        Some(1)
    );
    assert_eq!(all.policies()[1].attachment_count(), Some(1));

    // Filters.
    let only = |filters: Vec<EntityType>| {
        let iam = iam.clone();
        async move {
            let o = iam
                .get_account_authorization_details()
                .set_filter(Some(filters))
                .send()
                .await
                .unwrap();
            (
                o.user_detail_list().len(),
                o.group_detail_list().len(),
                o.role_detail_list().len(),
                o.policies().len(),
            )
        }
    };
    assert_eq!(only(vec![EntityType::User]).await, (1, 0, 0, 0));
    assert_eq!(
        only(vec![EntityType::Group, EntityType::Role]).await,
        (0, 1, 1, 0)
    );
    assert_eq!(
        only(vec![EntityType::LocalManagedPolicy]).await,
        (0, 0, 0, 1)
    );
    assert_eq!(only(vec![EntityType::AwsManagedPolicy]).await, (0, 0, 0, 2));

    // Pages across kinds.
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = iam
            .get_account_authorization_details()
            .max_items(2)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        seen.extend(
            page.user_detail_list()
                .iter()
                .map(|u| u.user_name().unwrap().to_owned()),
        );
        seen.extend(
            page.group_detail_list()
                .iter()
                .map(|g| g.group_name().unwrap().to_owned()),
        );
        seen.extend(
            page.role_detail_list()
                .iter()
                .map(|r| r.role_name().unwrap().to_owned()),
        );
        seen.extend(
            page.policies()
                .iter()
                .map(|p| p.policy_name().unwrap().to_owned()),
        );
        if !page.is_truncated() {
            break;
        }
        marker = page.marker().map(str::to_owned);
    }
    assert_eq!(
        seen,
        [
            "alice",
            "devs",
            "app",
            "local",
            "IAMReadOnlyAccess",
            "PowerUserAccess"
        ]
    );

    let u = s.user_with_key("scanner").await;
    assert_eq!(
        err(&s
            .iam(&u)
            .get_account_authorization_details()
            .send()
            .await
            .unwrap_err())
        .1,
        format!(
            "User: arn:aws:iam::{A}:user/scanner is not authorized to perform: iam:GetAccountAuthorizationDetails on resource: *"
        )
    );
}
