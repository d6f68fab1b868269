//! botocore vectors (tests/sigv4_vectors/botocore.json), checked one stage at a time so that a
//! failure names the stage.

use super::support::{botocore_vectors, hex};
use crate::sigv4::{
    AuthForm, VerifyPolicy, canonical_request, signature, signing_key, string_to_sign, verify,
};

#[test]
fn there_are_vectors_of_every_kind() {
    let v = botocore_vectors();
    assert!(v.len() >= 10);
    assert!(v.iter().any(|v| v.form == "presigned"));
    assert!(v.iter().any(|v| v.session_token.is_some()));
}

#[test]
fn stage1_canonical_request() {
    for v in botocore_vectors() {
        let creq = v.req.with(|r| {
            let auth = crate::sigv4::parse(r).unwrap().unwrap();
            canonical_request(r, &auth).unwrap()
        });
        assert_eq!(
            creq, v.canonical_request,
            "vector `{}`: canonical request",
            v.name
        );
    }
}

#[test]
fn stage2_string_to_sign() {
    for v in botocore_vectors() {
        let auth = v.req.parse().unwrap().unwrap();
        // From botocore's own canonical request, so this stage is tested alone.
        let sts = string_to_sign(&auth.amz_date(), auth.scope(), &v.canonical_request);
        assert_eq!(sts, v.string_to_sign, "vector `{}`: string to sign", v.name);
    }
}

#[test]
fn stage3_signature() {
    for v in botocore_vectors() {
        let key = signing_key(v.secret.as_bytes(), "20240115", &v.region, &v.service);
        let sig = signature(&key, &v.string_to_sign);
        assert_eq!(hex(&sig), v.signature, "vector `{}`: signature", v.name);
    }
}

#[test]
fn parsed_fields_match_what_botocore_signed() {
    for v in botocore_vectors() {
        let auth = v.req.parse().unwrap().unwrap();
        assert_eq!(auth.access_key_id(), v.access_key_id, "{}", v.name);
        assert_eq!(auth.scope().region(), v.region, "{}", v.name);
        assert_eq!(auth.scope().service(), v.service, "{}", v.name);
        assert_eq!(hex(auth.signature()), v.signature, "{}", v.name);
        assert_eq!(
            auth.security_token().map(|t| t.expose().to_string()),
            v.session_token,
            "{}",
            v.name
        );
        let form = if v.form == "presigned" {
            AuthForm::Presigned
        } else {
            AuthForm::Header
        };
        assert_eq!(auth.form(), form, "{}", v.name);
    }
}

#[test]
fn full_verify_accepts_every_vector() {
    for v in botocore_vectors() {
        let policy = VerifyPolicy::for_service(&v.service);
        let res = v.req.with(|r| {
            let auth = crate::sigv4::parse(r).unwrap().unwrap();
            verify(&auth, r, v.secret.as_bytes(), &policy, v.now)
        });
        assert_eq!(res, Ok(()), "vector `{}`", v.name);
    }
}

#[test]
fn full_verify_rejects_every_vector_with_another_secret() {
    for v in botocore_vectors() {
        let policy = VerifyPolicy::for_service(&v.service);
        let err = v.req.check(b"not-the-secret", &policy, v.now).unwrap_err();
        assert_eq!(err.code(), "SignatureDoesNotMatch", "{}", v.name);
    }
}
