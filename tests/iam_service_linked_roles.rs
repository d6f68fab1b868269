//! `UpdateRoleDescription` and service-linked roles through aws-sdk-rust: their name, path and
//! trust policy, the protection that refuses every change but the description
//! (`UnmodifiableEntity`), deletion and its status, and their errors.
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

fn pair(code: &str, message: &str) -> (String, String) {
    (code.to_owned(), message.to_owned())
}

fn decode(doc: &str) -> serde_json::Value {
    let text = percent_encoding::percent_decode_str(doc)
        .decode_utf8()
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn allow_all() -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
        .to_string()
}

#[tokio::test]
async fn update_role_description_answers_the_role() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    .to_string();
    iam.create_role()
        .role_name("app")
        .assume_role_policy_document(&trust)
        .description("old")
        .send()
        .await
        .unwrap();
    let out = iam
        .update_role_description()
        .role_name("APP")
        .description("new words")
        .send()
        .await
        .unwrap();
    let r = out.role().unwrap();
    assert_eq!((r.role_name(), r.description()), ("app", Some("new words")));
    assert_eq!(
        iam.get_role()
            .role_name("app")
            .send()
            .await
            .unwrap()
            .role()
            .unwrap()
            .description(),
        Some("new words")
    );
    assert_eq!(
        err(&iam
            .update_role_description()
            .role_name("ghost")
            .description("x")
            .send()
            .await
            .unwrap_err()),
        pair("NoSuchEntity", "The role with name ghost cannot be found.")
    );
    let e = iam
        .update_role_description()
        .role_name("app")
        .description("x".repeat(1001))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err(&e).0, "ValidationError");
    assert!(
        err(&e)
            .1
            .ends_with("Member must have length less than or equal to 1000"),
        "{e:?}"
    );
}

#[tokio::test]
async fn service_linked_role_lifecycle_and_protection() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let out = iam
        .create_service_linked_role()
        .aws_service_name("autoscaling.amazonaws.com")
        .description("scales")
        .send()
        .await
        .unwrap();
    let r = out.role().unwrap();
    assert_eq!(r.role_name(), "AWSServiceRoleForAutoScaling");
    assert_eq!(r.path(), "/aws-service-role/autoscaling.amazonaws.com/");
    assert_eq!(
        r.arn(),
        format!(
            "arn:aws:iam::{A}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
        )
    );
    assert_eq!(r.description(), Some("scales"));
    assert_eq!(
        decode(r.assume_role_policy_document().unwrap()),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "autoscaling.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    );
    let name = "AWSServiceRoleForAutoScaling";
    assert_eq!(
        err(&iam
            .create_service_linked_role()
            .aws_service_name("autoscaling.amazonaws.com")
            .send()
            .await
            .unwrap_err()),
        pair(
            "InvalidInput",
            "Service role name AWSServiceRoleForAutoScaling has been taken in this account, please try a different suffix."
        )
    );
    let suffixed = iam
        .create_service_linked_role()
        .aws_service_name("autoscaling.amazonaws.com")
        .custom_suffix("batch")
        .send()
        .await
        .unwrap();
    assert_eq!(
        suffixed.role().unwrap().role_name(),
        "AWSServiceRoleForAutoScaling_batch"
    );
    assert_eq!(
        err(&iam
            .create_service_linked_role()
            .aws_service_name("es.amazonaws.com")
            .custom_suffix("two")
            .send()
            .await
            .unwrap_err()),
        pair(
            "InvalidInput",
            "Custom suffix is not allowed for es.amazonaws.com"
        )
    );
    assert_eq!(
        err(&iam
            .create_service_linked_role()
            .aws_service_name("example.com")
            .send()
            .await
            .unwrap_err())
        .0,
        "InvalidInput"
    );

    // Everything but the description is the service's.
    let protected = pair(
        "UnmodifiableEntity",
        &format!(
            "Cannot perform the operation on the protected role '{name}' - this role is only modifiable by AWS"
        ),
    );
    iam.create_policy()
        .policy_name("p")
        .policy_document(allow_all())
        .send()
        .await
        .unwrap();
    let parn = format!("arn:aws:iam::{A}:policy/p");
    let refusals = [
        err(&iam.delete_role().role_name(name).send().await.unwrap_err()),
        err(&iam
            .update_assume_role_policy()
            .role_name(name)
            .policy_document(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
                .to_string(),
            )
            .send()
            .await
            .unwrap_err()),
        err(&iam
            .put_role_policy()
            .role_name(name)
            .policy_name("x")
            .policy_document(allow_all())
            .send()
            .await
            .unwrap_err()),
        err(&iam
            .delete_role_policy()
            .role_name(name)
            .policy_name("x")
            .send()
            .await
            .unwrap_err()),
        err(&iam
            .attach_role_policy()
            .role_name(name)
            .policy_arn(&parn)
            .send()
            .await
            .unwrap_err()),
        err(&iam
            .detach_role_policy()
            .role_name(name)
            .policy_arn(&parn)
            .send()
            .await
            .unwrap_err()),
        err(&iam
            .put_role_permissions_boundary()
            .role_name(name)
            .permissions_boundary(&parn)
            .send()
            .await
            .unwrap_err()),
        err(&iam
            .delete_role_permissions_boundary()
            .role_name(name)
            .send()
            .await
            .unwrap_err()),
        err(&iam
            .update_role()
            .role_name(name)
            .max_session_duration(7200)
            .send()
            .await
            .unwrap_err()),
    ];
    for (i, r) in refusals.iter().enumerate() {
        assert_eq!(*r, protected, "refusal {i}");
    }
    iam.create_instance_profile()
        .instance_profile_name("ip")
        .send()
        .await
        .unwrap();
    assert_eq!(
        err(&iam
            .add_role_to_instance_profile()
            .instance_profile_name("ip")
            .role_name(name)
            .send()
            .await
            .unwrap_err()),
        protected
    );
    // The description may change.
    iam.update_role_description()
        .role_name(name)
        .description("edited")
        .send()
        .await
        .unwrap();
    iam.update_role()
        .role_name(name)
        .description("again")
        .send()
        .await
        .unwrap();

    // DeleteServiceLinkedRole: only for service-linked roles; the task has succeeded.
    iam.create_role()
        .role_name("plain")
        .assume_role_policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        err(&iam
            .delete_service_linked_role()
            .role_name("plain")
            .send()
            .await
            .unwrap_err()),
        pair(
            "NoSuchEntity",
            "The role with name plain is not a service-linked role."
        )
    );
    let task = iam
        .delete_service_linked_role()
        .role_name(name)
        .send()
        .await
        .unwrap();
    let task = task.deletion_task_id();
    let prefix = format!("task/aws-service-role/autoscaling.amazonaws.com/{name}/");
    assert!(task.starts_with(&prefix), "{task}");
    assert_eq!(task.len(), prefix.len() + 36, "{task}");
    let status = iam
        .get_service_linked_role_deletion_status()
        .deletion_task_id(task)
        .send()
        .await
        .unwrap();
    assert_eq!(status.status().as_str(), "SUCCEEDED");
    assert!(status.reason().is_none());
    assert_eq!(
        err(&iam.get_role().role_name(name).send().await.unwrap_err()).0,
        "NoSuchEntity"
    );
    let unknown = format!("{prefix}00000000-0000-4000-8000-000000000000");
    assert_eq!(
        err(&iam
            .get_service_linked_role_deletion_status()
            .deletion_task_id(&unknown)
            .send()
            .await
            .unwrap_err()),
        pair(
            "NoSuchEntity",
            &format!("Deletion task {unknown} cannot be found.")
        )
    );
    assert_eq!(
        err(&iam
            .delete_service_linked_role()
            .role_name(name)
            .send()
            .await
            .unwrap_err()),
        pair(
            "NoSuchEntity",
            &format!("The role with name {name} cannot be found.")
        )
    );
}

#[tokio::test]
async fn service_linked_roles_are_authorized_with_the_service_name() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let u = s.user_with_key("ops").await;
    iam.put_user_policy()
        .user_name("ops")
        .policy_name("slr")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole", "Resource": "*",
            "Condition": {"StringEquals": {"iam:AWSServiceName": "ecs.amazonaws.com"}}}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let as_ops = s.iam(&u);
    as_ops
        .create_service_linked_role()
        .aws_service_name("ecs.amazonaws.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        err(&as_ops
            .create_service_linked_role()
            .aws_service_name("rds.amazonaws.com")
            .send()
            .await
            .unwrap_err()),
        pair(
            "AccessDenied",
            &format!(
                "User: arn:aws:iam::{A}:user/ops is not authorized to perform: iam:CreateServiceLinkedRole on resource: arn:aws:iam::{A}:role/aws-service-role/rds.amazonaws.com/AWSServiceRoleForRDS"
            )
        )
    );
    assert_eq!(
        err(&as_ops
            .delete_service_linked_role()
            .role_name("AWSServiceRoleForECS")
            .send()
            .await
            .unwrap_err())
        .0,
        "AccessDenied"
    );
}
