//! Every `AccessDenied` from an authorization decision carries a sealed authorization message;
//! DecodeAuthorizationMessage opens it, through aws-sdk-rust against the real server, for a
//! principal of the same account that `sts:DecodeAuthorizationMessage` allows, and names the
//! check that failed and the statements that matched.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod common;

use common::{Creds, TestServer, code, split_encoded};
use serde_json::{Value, json};

const ACCT: &str = "000000000000";

/// The sealed message at the end of an error's message (it must be there).
fn blob_of(raw_message: &str) -> String {
    split_encoded(raw_message)
        .1
        .unwrap_or_else(|| panic!("no encoded authorization message in {raw_message:?}"))
        .to_owned()
}

fn iam_blob<E: aws_sdk_iam::error::ProvideErrorMetadata, R>(
    e: &aws_sdk_iam::error::SdkError<E, R>,
) -> String {
    blob_of(e.as_service_error().and_then(|e| e.message()).unwrap_or(""))
}

fn sts_blob<E, R>(e: &aws_sdk_sts::error::SdkError<E, R>) -> String
where
    E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    blob_of(e.as_service_error().and_then(|e| e.message()).unwrap_or(""))
}

async fn decode(s: &TestServer, who: &Creds, blob: &str) -> Value {
    let out = s
        .sts(who)
        .decode_authorization_message()
        .encoded_message(blob)
        .send()
        .await
        .unwrap();
    serde_json::from_str(out.decoded_message().unwrap()).unwrap()
}

async fn put_policy(s: &TestServer, user: &str, doc: Value) {
    s.iam(&s.root)
        .put_user_policy()
        .user_name(user)
        .policy_name("p")
        .policy_document(doc.to_string())
        .send()
        .await
        .unwrap();
}

fn condition<'a>(doc: &'a Value, key: &str) -> Option<&'a Value> {
    doc["context"]["conditions"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == key)
        .map(|c| &c["values"]["items"])
}

#[tokio::test]
async fn an_identity_refusal_decodes_with_its_check_and_statements() {
    let s = TestServer::start().await;
    let bob = s.user_with_key("bob").await;
    put_policy(
        &s,
        "bob",
        json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "ReadSelf", "Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"},
            {"Sid": "NeverDelete", "Effect": "Deny", "Action": "iam:DeleteUser", "Resource": "*"}]}),
    )
    .await;

    // Implicit deny: nothing allows ListUsers.
    let e = s.iam(&bob).list_users().send().await.unwrap_err();
    let blob = iam_blob(&e);
    // Only a principal the policy allows may decode, and its own refusal is sealed too.
    let e = s
        .sts(&bob)
        .decode_authorization_message()
        .encoded_message(&blob)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    sts_blob(&e);
    let doc = decode(&s, &s.root, &blob).await;
    assert_eq!(doc["allowed"], false);
    assert_eq!(doc["explicitDeny"], false);
    assert_eq!(doc["context"]["action"], "iam:ListUsers");
    assert_eq!(
        doc["context"]["principal"]["arn"],
        format!("arn:aws:iam::{ACCT}:user/bob")
    );
    assert!(
        doc["context"]["principal"]["id"]
            .as_str()
            .unwrap()
            .starts_with("AIDA")
    );
    assert_eq!(doc["failures"]["items"][0]["check"], "identity policy");
    assert_eq!(
        condition(&doc, "aws:username").unwrap(),
        &json!([{"value": "bob"}])
    );
    assert_eq!(doc["matchedStatements"]["items"], json!([]));

    // Explicit deny: the statement is named by Sid and position.
    let e = s
        .iam(&bob)
        .delete_user()
        .user_name("bob")
        .send()
        .await
        .unwrap_err();
    let doc = decode(&s, &s.root, &iam_blob(&e)).await;
    assert_eq!(doc["explicitDeny"], true);
    let m = &doc["matchedStatements"]["items"][0];
    assert_eq!(m["statementId"], "NeverDelete");
    assert_eq!(m["effect"], "DENY");
    assert_eq!(m["position"], 1);
    assert_eq!(m["policyType"], "identity policy");
    assert_eq!(m["policyId"], "user/bob/inline/p");

    // Once allowed, bob decodes messages of his own account.
    put_policy(
        &s,
        "bob",
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:DecodeAuthorizationMessage", "Resource": "*"}]}),
    )
    .await;
    let doc = decode(&s, &bob, &blob).await;
    assert_eq!(doc["context"]["action"], "iam:ListUsers");
}

#[tokio::test]
async fn trust_boundary_and_credential_refusals_name_their_check() {
    let s = TestServer::start().await;
    let alice = s.user_with_key("alice").await;
    s.iam(&s.root)
        .create_role()
        .role_name("vendor")
        .assume_role_policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{ACCT}:user/alice")},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "k-123"}}}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let role = format!("arn:aws:iam::{ACCT}:role/vendor");
    let e = s
        .sts(&alice)
        .assume_role()
        .role_arn(&role)
        .role_session_name("s1")
        .external_id("wrong")
        .send()
        .await
        .unwrap_err();
    let doc = decode(&s, &s.root, &sts_blob(&e)).await;
    assert_eq!(doc["failures"]["items"][0]["check"], "trust policy");
    assert!(
        doc["failures"]["items"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("ExternalId does not match"),
        "{doc}"
    );
    assert_eq!(
        condition(&doc, "sts:externalid").unwrap(),
        &json!([{"value": "wrong"}])
    );

    // A missing role: the same refusal on the wire, and the account's own reader learns why.
    let e = s
        .sts(&alice)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{ACCT}:role/nope"))
        .role_session_name("s1")
        .send()
        .await
        .unwrap_err();
    let doc = decode(&s, &s.root, &sts_blob(&e)).await;
    assert_eq!(doc["failures"]["items"][0]["check"], "role");

    // A permissions boundary that does not allow.
    let boundary = s
        .iam(&s.root)
        .create_policy()
        .policy_name("only-get")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    put_policy(
        &s,
        "alice",
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}),
    )
    .await;
    s.iam(&s.root)
        .put_user_permissions_boundary()
        .user_name("alice")
        .permissions_boundary(boundary.policy().unwrap().arn().unwrap())
        .send()
        .await
        .unwrap();
    let e = s.iam(&alice).list_users().send().await.unwrap_err();
    let doc = decode(&s, &s.root, &iam_blob(&e)).await;
    assert_eq!(doc["failures"]["items"][0]["check"], "permissions boundary");

    // GetSessionToken credentials without MFA calling IAM: the kind of credentials.
    let gst = s.sts(&alice).get_session_token().send().await.unwrap();
    let session = Creds::from(gst.credentials().unwrap());
    let e = s.iam(&session).get_user().send().await.unwrap_err();
    let doc = decode(&s, &s.root, &iam_blob(&e)).await;
    assert_eq!(doc["failures"]["items"][0]["check"], "credential type");
}

#[tokio::test]
async fn only_genuine_messages_of_the_callers_account_open() {
    let s = TestServer::start().await;
    let bob = s.user_with_key("bob").await;
    let e = s.iam(&bob).list_users().send().await.unwrap_err();
    let blob = iam_blob(&e);

    let mut tampered = blob.clone().into_bytes();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for bad in [
        tampered.as_str(),
        &blob[..blob.len() - 4],
        "bm90IGEgbWVzc2FnZQ",
        "!!",
    ] {
        let e = s
            .sts(&s.root)
            .decode_authorization_message()
            .encoded_message(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&e), "InvalidAuthorizationMessageException", "{bad}");
        assert_eq!(
            e.into_service_error().meta().message(),
            Some("The encoded authorization message is invalid.")
        );
    }
    let e = s
        .sts(&s.root)
        .decode_authorization_message()
        .encoded_message("x".repeat(10_241))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationError");
}
