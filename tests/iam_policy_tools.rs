//! Managed-policy tooling through aws-sdk-rust: the AWS managed policies (read-only,
//! attachable, listed by scope, evaluated like any attached policy), policy tags,
//! `ListEntitiesForPolicy`, `GetContextKeysFor*Policy` and `ListPoliciesGrantingServiceAccess`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod common;

use common::iam_err as err;

use aws_sdk_iam::types::{EntityType, PolicyScopeType, PolicyUsageType, Tag};
use common::TestServer;
use serde_json::json;

const A: &str = "000000000000";
const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const IAM_READ: &str = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";

fn pair(code: &str, message: &str) -> (String, String) {
    (code.to_owned(), message.to_owned())
}

fn allow(actions: &[&str]) -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})
        .to_string()
}

fn trust() -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    .to_string()
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build().unwrap()
}

#[tokio::test]
async fn aws_managed_policies_are_read_only_attachable_and_evaluated() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let p = iam.get_policy().policy_arn(ADMIN).send().await.unwrap();
    let p = p.policy().unwrap();
    assert_eq!(p.policy_id(), Some("ANPAIWMBCKSKIEE64ZLYK"));
    assert_eq!(p.default_version_id(), Some("v1"));
    assert!(p.is_attachable());
    assert_eq!(p.attachment_count(), Some(0));
    assert_eq!(
        p.description(),
        Some("Provides full access to AWS services and resources.")
    );
    let v = iam
        .get_policy_version()
        .policy_arn(IAM_READ)
        .version_id("v4")
        .send()
        .await
        .unwrap();
    let doc = percent_encoding::percent_decode_str(v.policy_version().unwrap().document().unwrap())
        .decode_utf8()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(
        doc["Statement"][0]["Action"],
        json!([
            "iam:GenerateCredentialReport",
            "iam:GenerateServiceLastAccessedDetails",
            "iam:Get*",
            "iam:List*",
            "iam:SimulateCustomPolicy",
            "iam:SimulatePrincipalPolicy"
        ])
    );

    // Scopes.
    let names = |scope: PolicyScopeType| {
        let iam = iam.clone();
        async move {
            iam.list_policies()
                .scope(scope)
                .send()
                .await
                .unwrap()
                .policies()
                .iter()
                .map(|p| p.policy_name().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    iam.create_policy()
        .policy_name("mine")
        .policy_document(allow(&["iam:GetUser"]))
        .send()
        .await
        .unwrap();
    let served = [
        "AdministratorAccess",
        "IAMFullAccess",
        "IAMReadOnlyAccess",
        "IAMUserChangePassword",
        "PowerUserAccess",
        "ReadOnlyAccess",
    ];
    assert_eq!(names(PolicyScopeType::Aws).await, served);
    assert_eq!(names(PolicyScopeType::Local).await, ["mine"]);
    assert_eq!(names(PolicyScopeType::All).await.len(), 7);

    // Read-only, whoever asks.
    let unmodifiable = |verb: &str, arn: &str| {
        pair(
            "UnmodifiableEntity",
            &format!("Cannot {verb} AWS managed policy {arn}."),
        )
    };
    assert_eq!(
        err(&iam
            .delete_policy()
            .policy_arn(ADMIN)
            .send()
            .await
            .unwrap_err()),
        unmodifiable("delete", ADMIN)
    );
    assert_eq!(
        err(&iam
            .create_policy_version()
            .policy_arn(ADMIN)
            .policy_document(allow(&["s3:*"]))
            .send()
            .await
            .unwrap_err()),
        unmodifiable("modify", ADMIN)
    );
    assert_eq!(
        err(&iam
            .set_default_policy_version()
            .policy_arn(IAM_READ)
            .version_id("v4")
            .send()
            .await
            .unwrap_err()),
        unmodifiable("modify", IAM_READ)
    );
    assert_eq!(
        err(&iam
            .delete_policy_version()
            .policy_arn(IAM_READ)
            .version_id("v1")
            .send()
            .await
            .unwrap_err()),
        unmodifiable("modify", IAM_READ)
    );
    assert_eq!(
        err(&iam
            .tag_policy()
            .policy_arn(ADMIN)
            .tags(tag("a", "b"))
            .send()
            .await
            .unwrap_err()),
        unmodifiable("modify", ADMIN)
    );

    // Attached, it is evaluated like any other policy.
    let u = s.user_with_key("reader").await;
    let as_reader = s.iam(&u);
    assert_eq!(
        err(&as_reader.list_users().send().await.unwrap_err()).0,
        "AccessDenied"
    );
    iam.attach_user_policy()
        .user_name("reader")
        .policy_arn(IAM_READ)
        .send()
        .await
        .unwrap();
    as_reader.list_users().send().await.unwrap();
    as_reader
        .get_policy()
        .policy_arn(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        err(&as_reader
            .create_user()
            .user_name("nope")
            .send()
            .await
            .unwrap_err())
        .1,
        format!(
            "User: arn:aws:iam::{A}:user/reader is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::{A}:user/nope"
        )
    );
    let attached = iam
        .list_attached_user_policies()
        .user_name("reader")
        .send()
        .await
        .unwrap();
    assert_eq!(attached.attached_policies()[0].policy_arn(), Some(IAM_READ));
    let only_attached = iam
        .list_policies()
        .only_attached(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        only_attached
            .policies()
            .iter()
            .map(|p| (p.policy_name().unwrap(), p.attachment_count().unwrap()))
            .collect::<Vec<_>>(),
        [("IAMReadOnlyAccess", 1)]
    );

    // Another account attaches the same policy: each account counts its own attachments.
    let other = s.create_account("111122223333");
    let iam2 = s.iam(&other);
    iam2.create_role()
        .role_name("r")
        .assume_role_policy_document(trust())
        .send()
        .await
        .unwrap();
    iam2.attach_role_policy()
        .role_name("r")
        .policy_arn(IAM_READ)
        .send()
        .await
        .unwrap();
    iam2.put_role_permissions_boundary()
        .role_name("r")
        .permissions_boundary(ADMIN)
        .send()
        .await
        .unwrap();
    let count = |iam: aws_sdk_iam::Client, arn: &'static str| async move {
        let p = iam.get_policy().policy_arn(arn).send().await.unwrap();
        let p = p.policy().unwrap();
        (
            p.attachment_count().unwrap(),
            p.permissions_boundary_usage_count().unwrap(),
        )
    };
    assert_eq!(count(iam.clone(), IAM_READ).await, (1, 0));
    assert_eq!(count(iam2.clone(), IAM_READ).await, (1, 0));
    assert_eq!(count(iam.clone(), ADMIN).await, (0, 0));
    assert_eq!(count(iam2.clone(), ADMIN).await, (0, 1));
    let entities = iam2
        .list_entities_for_policy()
        .policy_arn(IAM_READ)
        .send()
        .await
        .unwrap();
    assert!(entities.policy_users().is_empty());
    assert_eq!(entities.policy_roles()[0].role_name(), Some("r"));
}

#[tokio::test]
async fn policy_tags() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let arn = format!("arn:aws:iam::{A}:policy/p");
    iam.create_policy()
        .policy_name("p")
        .policy_document(allow(&["iam:GetUser"]))
        .tags(tag("team", "blue"))
        .send()
        .await
        .unwrap();
    iam.tag_policy()
        .policy_arn(&arn)
        .tags(tag("TEAM", "red"))
        .tags(tag("env", "dev"))
        .send()
        .await
        .unwrap();
    iam.untag_policy()
        .policy_arn(&arn)
        .tag_keys("ENV")
        .send()
        .await
        .unwrap();
    let tags = iam
        .list_policy_tags()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags.tags()
            .iter()
            .map(|t| (t.key(), t.value()))
            .collect::<Vec<_>>(),
        [("TEAM", "red")]
    );
    assert_eq!(
        iam.get_policy()
            .policy_arn(&arn)
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap()
            .tags()
            .len(),
        1
    );
    let ghost = format!("arn:aws:iam::{A}:policy/ghost");
    assert_eq!(
        err(&iam
            .tag_policy()
            .policy_arn(&ghost)
            .tags(tag("a", "b"))
            .send()
            .await
            .unwrap_err()),
        pair("NoSuchEntity", &format!("Policy {ghost} was not found."))
    );
    assert_eq!(
        err(&iam
            .list_policy_tags()
            .policy_arn(&ghost)
            .send()
            .await
            .unwrap_err())
        .0,
        "NoSuchEntity"
    );
    let fifty: Vec<Tag> = (0..50).map(|i| tag(&format!("k{i}"), "v")).collect();
    assert_eq!(
        err(&iam
            .tag_policy()
            .policy_arn(&arn)
            .set_tags(Some(fifty))
            .send()
            .await
            .unwrap_err()),
        pair("LimitExceeded", "Cannot exceed quota for TagsPerPolicy: 50")
    );
    // AWS managed policies have no tags to list.
    assert!(
        iam.list_policy_tags()
            .policy_arn(ADMIN)
            .send()
            .await
            .unwrap()
            .tags()
            .is_empty()
    );
}

#[tokio::test]
async fn list_entities_for_policy_filters_and_pages() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let arn = format!("arn:aws:iam::{A}:policy/shared");
    iam.create_policy()
        .policy_name("shared")
        .policy_document(allow(&["iam:GetUser"]))
        .send()
        .await
        .unwrap();
    for (u, path) in [("bob", "/eng/"), ("amy", "/"), ("cat", "/eng/")] {
        iam.create_user()
            .user_name(u)
            .path(path)
            .send()
            .await
            .unwrap();
    }
    iam.create_group().group_name("devs").send().await.unwrap();
    iam.create_role()
        .role_name("svc")
        .path("/eng/")
        .assume_role_policy_document(trust())
        .send()
        .await
        .unwrap();
    for u in ["bob", "amy"] {
        iam.attach_user_policy()
            .user_name(u)
            .policy_arn(&arn)
            .send()
            .await
            .unwrap();
    }
    iam.attach_group_policy()
        .group_name("devs")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name("svc")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    // cat uses it as a permissions boundary only.
    iam.put_user_permissions_boundary()
        .user_name("cat")
        .permissions_boundary(&arn)
        .send()
        .await
        .unwrap();

    let all = iam
        .list_entities_for_policy()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    let users =
        |o: &aws_sdk_iam::operation::list_entities_for_policy::ListEntitiesForPolicyOutput| {
            o.policy_users()
                .iter()
                .map(|u| u.user_name().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
    assert_eq!(users(&all), ["amy", "bob", "cat"]);
    assert_eq!(all.policy_groups()[0].group_name(), Some("devs"));
    assert!(
        all.policy_groups()[0]
            .group_id()
            .unwrap()
            .starts_with("AGPA")
    );
    assert_eq!(all.policy_roles()[0].role_name(), Some("svc"));
    assert!(!all.is_truncated());

    let attached_only = iam
        .list_entities_for_policy()
        .policy_arn(&arn)
        .policy_usage_filter(PolicyUsageType::PermissionsPolicy)
        .send()
        .await
        .unwrap();
    assert_eq!(users(&attached_only), ["amy", "bob"]);
    let boundary_only = iam
        .list_entities_for_policy()
        .policy_arn(&arn)
        .policy_usage_filter(PolicyUsageType::PermissionsBoundary)
        .send()
        .await
        .unwrap();
    assert_eq!(users(&boundary_only), ["cat"]);
    assert!(boundary_only.policy_groups().is_empty() && boundary_only.policy_roles().is_empty());

    let roles_only = iam
        .list_entities_for_policy()
        .policy_arn(&arn)
        .entity_filter(EntityType::Role)
        .send()
        .await
        .unwrap();
    assert!(roles_only.policy_users().is_empty() && roles_only.policy_groups().is_empty());
    assert_eq!(roles_only.policy_roles().len(), 1);
    let managed = iam
        .list_entities_for_policy()
        .policy_arn(&arn)
        .entity_filter(EntityType::LocalManagedPolicy)
        .send()
        .await
        .unwrap();
    assert!(
        managed.policy_users().is_empty()
            && managed.policy_groups().is_empty()
            && managed.policy_roles().is_empty()
    );
    let under_eng = iam
        .list_entities_for_policy()
        .policy_arn(&arn)
        .path_prefix("/eng/")
        .send()
        .await
        .unwrap();
    assert_eq!(users(&under_eng), ["bob", "cat"]);
    assert!(under_eng.policy_groups().is_empty());
    assert_eq!(under_eng.policy_roles().len(), 1);

    // Pages: groups, then users, then roles.
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = iam
            .list_entities_for_policy()
            .policy_arn(&arn)
            .max_items(2)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        seen.extend(
            page.policy_groups()
                .iter()
                .map(|g| format!("g:{}", g.group_name().unwrap())),
        );
        seen.extend(users(&page).into_iter().map(|u| format!("u:{u}")));
        seen.extend(
            page.policy_roles()
                .iter()
                .map(|r| format!("r:{}", r.role_name().unwrap())),
        );
        if !page.is_truncated() {
            break;
        }
        marker = page.marker().map(str::to_owned);
    }
    assert_eq!(seen, ["g:devs", "u:amy", "u:bob", "u:cat", "r:svc"]);

    let ghost = format!("arn:aws:iam::{A}:policy/ghost");
    assert_eq!(
        err(&iam
            .list_entities_for_policy()
            .policy_arn(&ghost)
            .send()
            .await
            .unwrap_err()),
        pair("NoSuchEntity", &format!("Policy {ghost} was not found."))
    );
}

#[tokio::test]
async fn context_keys_of_custom_and_principal_policies() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    // The example of the API reference.
    let doc = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"arn:aws:dynamodb:us-west-2:123456789012:table/${aws:username}","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2015-08-16T12:00:00Z"}}}}"#;
    let out = iam
        .get_context_keys_for_custom_policy()
        .policy_input_list(doc)
        .policy_input_list(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                "Resource": "*", "Condition": {"StringEquals": {"AWS:USERNAME": "x", "s3:prefix": "y"}}}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.context_key_names(),
        ["aws:username", "aws:CurrentTime", "s3:prefix"]
    );
    assert_eq!(
        err(&iam
            .get_context_keys_for_custom_policy()
            .policy_input_list("{not json")
            .send()
            .await
            .unwrap_err()),
        pair("InvalidInput", "Syntax errors in policy.")
    );

    // A user's keys include its groups'.
    iam.create_user().user_name("u").send().await.unwrap();
    iam.put_user_policy()
        .user_name("u")
        .policy_name("mfa")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    iam.create_group().group_name("g").send().await.unwrap();
    iam.add_user_to_group()
        .group_name("g")
        .user_name("u")
        .send()
        .await
        .unwrap();
    iam.put_group_policy()
        .group_name("g")
        .policy_name("ip")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    iam.attach_group_policy()
        .group_name("g")
        .policy_arn("arn:aws:iam::aws:policy/IAMUserChangePassword")
        .send()
        .await
        .unwrap();
    let keys = iam
        .get_context_keys_for_principal_policy()
        .policy_source_arn(format!("arn:aws:iam::{A}:user/u"))
        .policy_input_list(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        keys.context_key_names(),
        [
            "aws:MultiFactorAuthPresent",
            "aws:SourceIp",
            "aws:username",
            "aws:RequestedRegion"
        ]
    );
    assert_eq!(
        err(&iam
            .get_context_keys_for_principal_policy()
            .policy_source_arn(format!("arn:aws:iam::{A}:user/ghost"))
            .send()
            .await
            .unwrap_err()),
        pair("NoSuchEntity", "The user with name ghost cannot be found.")
    );
}

#[tokio::test]
async fn policies_granting_service_access() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    iam.create_user().user_name("u").send().await.unwrap();
    iam.create_group().group_name("g").send().await.unwrap();
    iam.add_user_to_group()
        .group_name("g")
        .user_name("u")
        .send()
        .await
        .unwrap();
    iam.put_user_policy()
        .user_name("u")
        .policy_name("s3-only")
        .policy_document(allow(&["s3:GetObject"]))
        .send()
        .await
        .unwrap();
    iam.put_group_policy()
        .group_name("g")
        .policy_name("sts-too")
        .policy_document(allow(&["sts:AssumeRole", "iam:Nonexistent"]))
        .send()
        .await
        .unwrap();
    iam.attach_group_policy()
        .group_name("g")
        .policy_arn(IAM_READ)
        .send()
        .await
        .unwrap();
    iam.attach_user_policy()
        .user_name("u")
        .policy_arn(IAM_READ)
        .send()
        .await
        .unwrap();
    let out = iam
        .list_policies_granting_service_access()
        .arn(format!("arn:aws:iam::{A}:user/u"))
        .service_namespaces("iam")
        .service_namespaces("sts")
        .service_namespaces("s3")
        .send()
        .await
        .unwrap();
    assert!(!out.is_truncated());
    let by_ns: Vec<(String, Vec<String>)> = out
        .policies_granting_service_access()
        .iter()
        .map(|g| {
            (
                g.service_namespace().unwrap().to_owned(),
                g.policies()
                    .iter()
                    .map(|p| {
                        format!(
                            "{}:{}:{}:{}",
                            p.policy_type().as_str(),
                            p.policy_name(),
                            p.entity_type().map_or("-", |e| e.as_str()),
                            p.entity_name().or(p.policy_arn()).unwrap_or("-")
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        by_ns,
        [
            // IAMReadOnlyAccess once, though attached to the user and its group.
            (
                "iam".to_owned(),
                vec![format!("MANAGED:IAMReadOnlyAccess:-:{IAM_READ}")]
            ),
            ("sts".to_owned(), vec!["INLINE:sts-too:GROUP:g".to_owned()]),
            ("s3".to_owned(), vec!["INLINE:s3-only:USER:u".to_owned()]),
        ]
    );
    assert_eq!(
        err(&iam
            .list_policies_granting_service_access()
            .arn(format!("arn:aws:iam::{A}:role/ghost"))
            .service_namespaces("iam")
            .send()
            .await
            .unwrap_err()),
        pair("NoSuchEntity", "The role with name ghost cannot be found.")
    );
    assert_eq!(
        err(&iam
            .list_policies_granting_service_access()
            .arn(format!("arn:aws:iam::{A}:policy/p"))
            .service_namespaces("iam")
            .send()
            .await
            .unwrap_err())
        .0,
        "InvalidInput"
    );
    let e = iam
        .list_policies_granting_service_access()
        .arn(format!("arn:aws:iam::{A}:user/u"))
        .service_namespaces("no spaces")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err(&e).0, "ValidationError");
}
