//! The wire protocol with hand-built requests, for what SDKs never send: presigned
//! GetCallerIdentity (the identity proof Vault and Kubernetes use), unsigned and malformed
//! requests, duplicate parameters, oversized bodies. Signed by the independent `aws-sigv4` crate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod common;
#[path = "common/signer.rs"]
mod signer;

use std::time::{Duration, SystemTime};

use common::TestServer;
use signer::{Signer, send};

fn signer<'a>(s: &'a TestServer, service: &'a str) -> Signer<'a> {
    Signer {
        access_key_id: &s.root.access_key_id,
        secret: &s.root.secret,
        token: None,
        region: "us-east-1",
        service,
        time: SystemTime::from(s.clock.now()),
    }
}

fn xml_field(body: &str, name: &str) -> Option<String> {
    let start = body.find(&format!("<{name}>"))? + name.len() + 2;
    let end = body[start..].find('<')? + start;
    Some(body[start..end].to_owned())
}

#[tokio::test]
async fn presigned_get_caller_identity_by_get_and_post() {
    let s = TestServer::start().await;
    let c = reqwest::Client::new();
    let req = signer(&s, "sts").presign_get(
        &s.endpoint(),
        "Action=GetCallerIdentity&Version=2011-06-15",
        Duration::from_secs(900),
    );
    let (status, rid, body) = send(&c, req).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        xml_field(&body, "Arn").as_deref(),
        Some("arn:aws:iam::000000000000:root")
    );
    assert_eq!(
        rid,
        xml_field(&body, "RequestId"),
        "x-amzn-RequestId equals the body's RequestId"
    );
    // Presigned POST with an empty body.
    let req = signer(&s, "sts").presign(
        "POST",
        &s.endpoint(),
        "Action=GetCallerIdentity&Version=2011-06-15",
        Duration::from_secs(900),
    );
    let (status, _, body) = send(&c, req).await;
    assert_eq!(status, 200, "{body}");
    // The method is signed: a GET-presigned URL does not work as a POST.
    let url = signer(&s, "sts")
        .presign_get(
            &s.endpoint(),
            "Action=GetCallerIdentity&Version=2011-06-15",
            Duration::from_secs(900),
        )
        .uri()
        .to_string();
    assert_eq!(c.post(&url).send().await.unwrap().status(), 403);

    // Presigned by session credentials too.
    let (_, _, gst) = send(
        &c,
        signer(&s, "sts").post_form(&s.endpoint(), "Action=GetSessionToken&Version=2011-06-15"),
    )
    .await;
    let (akid, secret, token) = (
        xml_field(&gst, "AccessKeyId").unwrap(),
        xml_field(&gst, "SecretAccessKey").unwrap(),
        xml_field(&gst, "SessionToken").unwrap(),
    );
    let session = Signer {
        access_key_id: &akid,
        secret: &secret,
        token: Some(&token),
        ..signer(&s, "sts")
    };
    let (status, _, body) = send(
        &c,
        session.presign_get(
            &s.endpoint(),
            "Action=GetCallerIdentity&Version=2011-06-15",
            Duration::from_secs(60),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Expired presigned URLs are refused.
    let old = Signer {
        time: SystemTime::from(s.clock.now()) - Duration::from_secs(120),
        ..signer(&s, "sts")
    };
    let (status, _, body) = send(
        &c,
        old.presign_get(
            &s.endpoint(),
            "Action=GetCallerIdentity&Version=2011-06-15",
            Duration::from_secs(60),
        ),
    )
    .await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn header_signed_get_query() {
    let s = TestServer::start().await;
    let c = reqwest::Client::new();
    let req = signer(&s, "sts").get(&s.endpoint(), "Action=GetCallerIdentity&Version=2011-06-15");
    assert!(req.headers().contains_key("authorization"));
    let (status, _, body) = send(&c, req).await;
    assert_eq!(status, 200, "{body}");
    // IAM signed with another region (botocore signs IAM with the client's region).
    let eu = Signer {
        region: "eu-west-1",
        ..signer(&s, "iam")
    };
    let (status, _, body) = send(
        &c,
        eu.get(&s.endpoint(), "Action=ListUsers&Version=2010-05-08"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

async fn raw(s: &TestServer, body: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(format!("{}/", s.endpoint()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn unsigned_malformed_and_unknown_requests() {
    let s = TestServer::start().await;
    let (st, body) = raw(&s, "Action=GetCallerIdentity&Version=2011-06-15").await;
    assert_eq!(st, 403);
    assert_eq!(
        xml_field(&body, "Code").as_deref(),
        Some("MissingAuthenticationToken")
    );
    assert_eq!(xml_field(&body, "Type").as_deref(), Some("Sender"));
    assert!(
        body.contains("</Error>\n  <RequestId>"),
        "RequestId is a sibling of Error: {body}"
    );

    let (st, body) = raw(&s, "Action=Frobnicate&Version=2011-06-15").await;
    assert_eq!(
        (st, xml_field(&body, "Code").as_deref()),
        (400, Some("InvalidAction"))
    );
    assert_eq!(
        xml_field(&body, "Message").as_deref(),
        Some("Could not find operation Frobnicate for version 2011-06-15")
    );
    let (st, body) = raw(&s, "Version=2011-06-15").await;
    assert_eq!(
        (st, xml_field(&body, "Code").as_deref()),
        (400, Some("MissingParameter"))
    );
    let (st, body) = raw(
        &s,
        "Action=GetCallerIdentity&Action=AssumeRole&Version=2011-06-15",
    )
    .await;
    assert_eq!(st, 400, "duplicate parameters are refused: {body}");

    // Malformed Authorization header.
    let resp = reqwest::Client::new()
        .post(format!("{}/", s.endpoint()))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/sts",
        )
        .header("x-amz-date", "20240101T000000Z")
        .body("Action=GetCallerIdentity&Version=2011-06-15")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        xml_field(&resp.text().await.unwrap(), "Code").as_deref(),
        Some("IncompleteSignature")
    );

    // A body over AWS's 10,000,000 bytes.
    let big = "a".repeat(10_000_001);
    let (st, _) = raw(&s, &big).await;
    assert_eq!(st, 413);

    let resp = reqwest::get(format!("{}/healthz", s.endpoint()))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn signature_checks_name_no_key() {
    let s = TestServer::start().await;
    let c = reqwest::Client::new();
    // Tampered body after signing.
    let mut req =
        signer(&s, "sts").post_form(&s.endpoint(), "Action=GetCallerIdentity&Version=2011-06-15");
    *req.body_mut() = b"Action=GetSessionToken&Version=2011-06-15".to_vec();
    let (st, _, body) = send(&c, req).await;
    assert_eq!(
        (st, xml_field(&body, "Code").as_deref()),
        (403, Some("SignatureDoesNotMatch"))
    );
    assert!(!body.contains(&s.root.access_key_id));
    // Scoped to the wrong service.
    let (st, _, body) = send(
        &c,
        signer(&s, "iam").post_form(&s.endpoint(), "Action=GetCallerIdentity&Version=2011-06-15"),
    )
    .await;
    assert_eq!(st, 403);
    assert!(
        body.contains("Credential should be scoped to correct service"),
        "{body}"
    );
    // Twenty minutes of skew.
    let skewed = Signer {
        time: SystemTime::from(s.clock.now()) - Duration::from_secs(1200),
        ..signer(&s, "sts")
    };
    let (st, _, body) = send(
        &c,
        skewed.post_form(&s.endpoint(), "Action=GetCallerIdentity&Version=2011-06-15"),
    )
    .await;
    assert_eq!(st, 403);
    assert!(body.contains("Signature expired"), "{body}");
}

#[tokio::test]
async fn internal_failure_says_nothing_inside() {
    // A write that cannot get the database lock fails as a server fault: 500, `Receiver`,
    // `InternalFailure`, AWS's generic text, and nothing about SQLite.
    let dir = tempfile::tempdir().unwrap();
    let config = tessera::config::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        store_busy_timeout: Duration::from_millis(100),
        ..tessera::config::Config::default()
    };
    let running = tessera::server::spawn(config, tessera::clock::Clock::system())
        .await
        .unwrap();
    let root =
        common::read_root_credentials(&dir.path().join(tessera::server::ROOT_CREDENTIALS_FILE));
    let lock = rusqlite::Connection::open(dir.path().join("tessera.db")).unwrap();
    lock.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let endpoint = format!("http://{}", running.addr);
    let iam = Signer {
        access_key_id: &root.access_key_id,
        secret: &root.secret,
        token: None,
        region: "us-east-1",
        service: "iam",
        time: SystemTime::now(),
    };
    let (status, _, body) = send(
        &reqwest::Client::new(),
        iam.post_form(&endpoint, "Action=CreateUser&Version=2010-05-08&UserName=x"),
    )
    .await;
    lock.execute_batch("ROLLBACK").unwrap();
    assert_eq!(status, 500, "{body}");
    assert_eq!(xml_field(&body, "Code").as_deref(), Some("InternalFailure"));
    assert_eq!(xml_field(&body, "Type").as_deref(), Some("Receiver"));
    assert!(
        !body.to_lowercase().contains("sqlite") && !body.contains("locked"),
        "{body}"
    );
    // And the server recovers.
    let (status, _, body) = send(
        &reqwest::Client::new(),
        iam.post_form(&endpoint, "Action=CreateUser&Version=2010-05-08&UserName=x"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}
