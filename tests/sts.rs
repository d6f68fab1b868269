//! STS through aws-sdk-rust against the real server: GetCallerIdentity and GetSessionToken, the
//! authentication errors, session expiry, MFA.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod common;

use std::time::Duration;

use common::{Creds, TestServer, code, message, totp};

#[tokio::test]
async fn get_caller_identity_root() {
    let s = TestServer::start().await;
    let out = s.sts(&s.root).get_caller_identity().send().await.unwrap();
    assert_eq!(out.account(), Some("000000000000"));
    assert_eq!(out.arn(), Some("arn:aws:iam::000000000000:root"));
    assert_eq!(out.user_id(), Some("000000000000"));
}

#[tokio::test]
async fn get_caller_identity_user_and_session() {
    let s = TestServer::start().await;
    let alice = s.user_with_key("alice").await;
    let out = s.sts(&alice).get_caller_identity().send().await.unwrap();
    assert_eq!(out.arn(), Some("arn:aws:iam::000000000000:user/alice"));
    let uid = out.user_id().unwrap().to_owned();
    assert!(uid.starts_with("AIDA") && uid.len() == 21, "{uid}");

    let gst = s.sts(&alice).get_session_token().send().await.unwrap();
    let c = gst.credentials().unwrap();
    assert!(c.access_key_id().starts_with("ASIA"));
    assert_eq!(c.secret_access_key().len(), 40);
    let left = c.expiration().secs() - s.clock.now().timestamp();
    assert!(
        (43_190..=43_200).contains(&left),
        "default GetSessionToken duration is 12h, got {left}"
    );
    let session = Creds::from(c);
    let out = s.sts(&session).get_caller_identity().send().await.unwrap();
    assert_eq!(out.arn(), Some("arn:aws:iam::000000000000:user/alice"));
    assert_eq!(out.user_id(), Some(uid.as_str()));
}

#[tokio::test]
async fn get_session_token_rules() {
    let s = TestServer::start().await;
    // Root: capped at one hour, silently.
    let out = s
        .sts(&s.root)
        .get_session_token()
        .duration_seconds(7200)
        .send()
        .await
        .unwrap();
    let left = out.credentials().unwrap().expiration().secs() - s.clock.now().timestamp();
    assert!(
        (3590..=3600).contains(&left),
        "root GST is capped at 3600, got {left}"
    );

    let bob = s.user_with_key("bob").await;
    for bad in [899, 129_601] {
        let e = s
            .sts(&bob)
            .get_session_token()
            .duration_seconds(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&e), "ValidationError", "{bad}");
    }
    let e = s
        .sts(&bob)
        .get_session_token()
        .duration_seconds(129_601)
        .send()
        .await
        .unwrap_err();
    assert!(
        message(&e).contains("Member must have value less than or equal to 129600"),
        "{}",
        message(&e)
    );

    // Session credentials cannot call GetSessionToken.
    let out = s
        .sts(&bob)
        .get_session_token()
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let session = Creds::from(out.credentials().unwrap());
    let e = s
        .sts(&session)
        .get_session_token()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    assert_eq!(
        message(&e),
        "Cannot call GetSessionToken with session credentials"
    );

    // ... nor IAM without MFA context.
    let e = s.iam(&session).list_users().send().await.unwrap_err();
    assert_eq!(
        e.as_service_error()
            .and_then(|e| aws_sdk_iam::error::ProvideErrorMetadata::code(e)),
        Some("AccessDenied")
    );
}

#[tokio::test]
async fn session_expiry_uses_the_server_clock() {
    let s = TestServer::start().await;
    let out = s
        .sts(&s.root)
        .get_session_token()
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let session = Creds::from(out.credentials().unwrap());
    s.sts(&session).get_caller_identity().send().await.unwrap();
    s.clock.advance(Duration::from_secs(901));
    let e = s
        .sts(&session)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ExpiredToken");
    assert_eq!(
        message(&e),
        "The security token included in the request is expired"
    );
}

#[tokio::test]
async fn bad_credentials_are_refused_without_detail() {
    let s = TestServer::start().await;
    // Unknown key.
    let e = s
        .sts(&Creds::new("AKIAAAAAAAAAAAAAAAAA", "x".repeat(40)))
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidClientTokenId");
    assert_eq!(
        message(&e),
        "The security token included in the request is invalid."
    );
    // Right key, wrong secret.
    let wrong = Creds::new(s.root.access_key_id.clone(), "y".repeat(40));
    let e = s
        .sts(&wrong)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "SignatureDoesNotMatch");
    assert!(!message(&e).contains(&s.root.access_key_id));
    // Tampered, truncated and foreign session tokens.
    let out = s.sts(&s.root).get_session_token().send().await.unwrap();
    let good = Creds::from(out.credentials().unwrap());
    let token = good.token.clone().unwrap();
    let mut flipped = token.clone().into_bytes();
    let mid = flipped.len() / 2;
    flipped[mid] = if flipped[mid] == b'A' { b'B' } else { b'A' };
    for bad in [
        String::from_utf8(flipped).unwrap(),
        token[..token.len() - 4].to_owned(),
        format!("{token}AAAA"),
    ] {
        let c = Creds {
            token: Some(bad),
            ..good.clone()
        };
        let e = s.sts(&c).get_caller_identity().send().await.unwrap_err();
        assert_eq!(code(&e), "InvalidClientTokenId");
    }
    // A token bound to another access key id.
    let other = s.sts(&s.root).get_session_token().send().await.unwrap();
    let other = Creds::from(other.credentials().unwrap());
    let mixed = Creds {
        token: other.token.clone(),
        ..good.clone()
    };
    let e = s
        .sts(&mixed)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidClientTokenId");
    // ASIA key without its token.
    let e = s
        .sts(&Creds {
            token: None,
            ..good.clone()
        })
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidClientTokenId");
}

#[tokio::test]
async fn deleted_user_and_inactive_key_stop_at_once() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let carol = s.user_with_key("carol").await;
    let session = Creds::from(
        s.sts(&carol)
            .get_session_token()
            .send()
            .await
            .unwrap()
            .credentials()
            .unwrap(),
    );
    s.sts(&session).get_caller_identity().send().await.unwrap();

    iam.update_access_key()
        .user_name("carol")
        .access_key_id(&carol.access_key_id)
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .unwrap();
    let e = s
        .sts(&carol)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidClientTokenId");
    iam.update_access_key()
        .user_name("carol")
        .access_key_id(&carol.access_key_id)
        .status(aws_sdk_iam::types::StatusType::Active)
        .send()
        .await
        .unwrap();
    s.sts(&carol).get_caller_identity().send().await.unwrap();

    iam.delete_access_key()
        .user_name("carol")
        .access_key_id(&carol.access_key_id)
        .send()
        .await
        .unwrap();
    iam.delete_user().user_name("carol").send().await.unwrap();
    let e = s
        .sts(&carol)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidClientTokenId");
    let e = s
        .sts(&session)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e),
        "InvalidClientTokenId",
        "sessions of a deleted user stop working"
    );
}

#[tokio::test]
async fn mfa_session_with_single_use_codes() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let dave = s.user_with_key("dave").await;
    let (serial, seed) = s.virtual_mfa("dave-phone").await;
    assert_eq!(serial, "arn:aws:iam::000000000000:mfa/dave-phone");
    let now = s.clock.now().timestamp();

    // Enabling needs two consecutive codes.
    let e = iam
        .enable_mfa_device()
        .user_name("dave")
        .serial_number(&serial)
        .authentication_code1("000000")
        .authentication_code2("000000")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        e.as_service_error()
            .and_then(|e| aws_sdk_iam::error::ProvideErrorMetadata::code(e)),
        Some("InvalidAuthenticationCode")
    );
    iam.enable_mfa_device()
        .user_name("dave")
        .serial_number(&serial)
        .authentication_code1(totp(&seed, now - 30))
        .authentication_code2(totp(&seed, now))
        .send()
        .await
        .unwrap();
    let listed = iam
        .list_mfa_devices()
        .user_name("dave")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.mfa_devices().len(), 1);

    // The code used to enable is burned; the next window's code works once.
    s.clock.advance(Duration::from_secs(30));
    let code_now = totp(&seed, s.clock.now().timestamp());
    let out = s
        .sts(&dave)
        .get_session_token()
        .serial_number(&serial)
        .token_code(&code_now)
        .send()
        .await
        .unwrap();
    assert!(out.credentials().is_some());
    let e = s
        .sts(&dave)
        .get_session_token()
        .serial_number(&serial)
        .token_code(&code_now)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied", "a TOTP code is single use");
    // Wrong code and unknown device.
    s.clock.advance(Duration::from_secs(30));
    let e = s
        .sts(&dave)
        .get_session_token()
        .serial_number(&serial)
        .token_code("123456")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    let e = s
        .sts(&dave)
        .get_session_token()
        .serial_number("arn:aws:iam::000000000000:mfa/nope")
        .token_code("123456")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
}

#[tokio::test]
async fn concurrent_uses_of_one_mfa_code_one_succeeds() {
    let s = TestServer::start().await;
    let erin = s.user_with_key("erin").await;
    let (serial, seed) = s.virtual_mfa("erin-phone").await;
    let now = s.clock.now().timestamp();
    s.iam(&s.root)
        .enable_mfa_device()
        .user_name("erin")
        .serial_number(&serial)
        .authentication_code1(totp(&seed, now - 30))
        .authentication_code2(totp(&seed, now))
        .send()
        .await
        .unwrap();
    s.clock.advance(Duration::from_secs(30));
    let token = totp(&seed, s.clock.now().timestamp());
    // The same code in several requests at once: the store's conditional update lets one pass.
    let sts = s.sts(&erin);
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let (sts, serial, token) = (sts.clone(), serial.clone(), token.clone());
            tokio::spawn(async move {
                sts.get_session_token()
                    .serial_number(serial)
                    .token_code(token)
                    .send()
                    .await
            })
        })
        .collect();
    let mut passed = 0;
    for a in attempts {
        match a.await.unwrap() {
            Ok(_) => passed += 1,
            Err(e) => assert_eq!(code(&e), "AccessDenied"),
        }
    }
    assert_eq!(passed, 1, "one code, used once");
}
