//! Every error path, one row per case: what is done to a valid request, when it is checked,
//! and the exact code and message expected.

use chrono::TimeDelta;

use super::support::{Owned, now, t, vector};
use crate::sigv4::error::{MSG_NOT_CONFORM, MSG_SIGNATURE_MISMATCH};
use crate::sigv4::{MAX_AUTHORIZATION_LEN, SigV4Error, VerifyPolicy, parse};

const SECRET: &[u8] = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const CRED: &str = "AKIDEXAMPLE1234567890/20240115/us-east-1/sts/aws4_request";
const BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";

/// botocore's signed GetCallerIdentity POST (valid at `now()` with `SECRET`).
fn botocore_gci() -> Owned {
    vector("sts_get_caller_identity_post").req
}

/// A plain request we sign ourselves, for cases that need a different credential or list.
fn base() -> Owned {
    Owned::new(
        "POST",
        "/",
        "",
        &[
            ("Host", "sts.amazonaws.com"),
            (
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
            ("X-Amz-Date", "20240115T123456Z"),
        ],
        BODY,
    )
}

fn signed(credential: &str, list: &str) -> Owned {
    let mut r = base();
    r.self_sign_header(SECRET, credential, list);
    r
}

fn presigned(expires: &str) -> Owned {
    let mut r = Owned::new(
        "GET",
        "/",
        "Action=GetCallerIdentity&Version=2011-06-15",
        &[("Host", "sts.amazonaws.com")],
        "",
    );
    r.self_sign_query(
        SECRET,
        &[
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", CRED),
            ("X-Amz-Date", "20240115T123456Z"),
            ("X-Amz-Expires", expires),
            ("X-Amz-SignedHeaders", "host"),
        ],
    );
    r
}

fn sts() -> VerifyPolicy {
    VerifyPolicy::for_service("sts")
}

fn expect(case: &str, got: Result<(), SigV4Error>, code: &str, status: u16, message: &str) {
    let err = got.expect_err(case);
    assert_eq!(
        (err.code(), err.http_status(), err.message().as_str()),
        (code, status, message),
        "case `{case}`: {err}"
    );
}

fn mismatch(case: &str, got: Result<(), SigV4Error>) {
    expect(
        case,
        got,
        "SignatureDoesNotMatch",
        403,
        MSG_SIGNATURE_MISMATCH,
    );
}

fn incomplete(case: &str, got: Result<(), SigV4Error>, message: &str) {
    expect(case, got, "IncompleteSignature", 400, message);
}

#[test]
fn baselines_verify() {
    assert_eq!(botocore_gci().check(SECRET, &sts(), now()), Ok(()));
    assert_eq!(
        signed(CRED, "content-type;host;x-amz-date").check(SECRET, &sts(), now()),
        Ok(())
    );
    assert_eq!(presigned("60").check(SECRET, &sts(), now()), Ok(()));
}

#[test]
fn no_auth_is_none_and_missing_token_maps_to_the_wire() {
    assert_eq!(base().parse(), Ok(None));
    let mut r = base();
    r.add("X-Amz-Security-Token", b"tok");
    r.query = "X-Amz-Date=20240115T123456Z".into();
    assert_eq!(r.parse(), Ok(None), "a token or date alone is not auth");
    let e = SigV4Error::MissingAuthenticationToken;
    assert_eq!(
        (e.code(), e.http_status(), e.message().as_str()),
        (
            "MissingAuthenticationToken",
            403,
            "Request is missing Authentication Token"
        )
    );
}

#[test]
fn tampering_breaks_the_signature_with_one_generic_message() {
    let ok = botocore_gci();
    let mut r = ok.clone();
    r.body = b"Action=GetCallerIdentity&Version=2011-06-16".to_vec();
    mismatch("tampered body", r.check(SECRET, &sts(), now()));
    let mut r = ok.clone();
    r.body.push(b'&');
    mismatch("appended body byte", r.check(SECRET, &sts(), now()));
    let mut r = ok.clone();
    r.set("Content-Type", b"application/json");
    mismatch("tampered signed header", r.check(SECRET, &sts(), now()));
    let mut r = ok.clone();
    r.set("Host", b"evil.example.com");
    mismatch("tampered host", r.check(SECRET, &sts(), now()));
    let mut r = ok.clone();
    r.add("Content-Type", b"text/plain");
    mismatch(
        "second content-type appended",
        r.check(SECRET, &sts(), now()),
    );
    let mut r = ok.clone();
    r.path = "/other".into();
    mismatch("tampered path", r.check(SECRET, &sts(), now()));
    let mut r = ok.clone();
    r.query = "Action=AssumeRole".into();
    mismatch("query added", r.check(SECRET, &sts(), now()));
    let mut r = ok.clone();
    r.method = "PUT".into();
    mismatch("method", r.check(SECRET, &sts(), now()));
    mismatch(
        "wrong key",
        ok.check(b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ", &sts(), now()),
    );
    // Unsigned, non-x-amz headers do not matter.
    let mut r = ok.clone();
    r.add("X-Forwarded-For", b"10.0.0.1")
        .add("User-Agent", b"other");
    assert_eq!(r.check(SECRET, &sts(), now()), Ok(()));
}

#[test]
fn signed_header_absent_or_not_utf8_is_a_generic_mismatch() {
    let mut r = base();
    r.add("X-Extra", b"1");
    r.self_sign_header(SECRET, CRED, "content-type;host;x-amz-date;x-extra");
    assert_eq!(r.check(SECRET, &sts(), now()), Ok(()));
    r.remove("X-Extra");
    mismatch("signed header absent", r.check(SECRET, &sts(), now()));
    r.add("X-Extra", b"caf\xe9");
    mismatch("signed header not utf-8", r.check(SECRET, &sts(), now()));
    // A non-UTF-8 header that is not signed is ignored.
    let mut r = botocore_gci();
    r.add("X-Latin1", b"caf\xe9");
    assert_eq!(r.check(SECRET, &sts(), now()), Ok(()));
}

#[test]
fn unsigned_amz_header_is_refused() {
    let mut r = botocore_gci();
    r.add("X-Amz-Foo", b"bar");
    expect(
        "unsigned x-amz",
        r.check(SECRET, &sts(), now()),
        "SignatureDoesNotMatch",
        403,
        "There were headers present in the request which were not signed: x-amz-foo",
    );
    let mut r = botocore_gci();
    r.add("X-Amz-Security-Token", b"unsigned-token");
    expect(
        "unsigned token",
        r.check(SECRET, &sts(), now()),
        "SignatureDoesNotMatch",
        403,
        "There were headers present in the request which were not signed: x-amz-security-token",
    );
    // A proxy-added header the deployment declared.
    let mut r = botocore_gci();
    r.add("X-Amz-Cf-Id", b"abc");
    let mut p = sts();
    p.unsigned_amz_headers = vec!["x-amz-cf-id".into()];
    assert_eq!(r.check(SECRET, &p, now()), Ok(()));
    // Presigned: aws-sigv4 deliberately leaves x-amz-user-agent unsigned; other x-amz are refused.
    let mut r = presigned("60");
    r.add("X-Amz-User-Agent", b"aws-sdk-rust");
    assert_eq!(r.check(SECRET, &sts(), now()), Ok(()));
    r.add("X-Amz-Target", b"x");
    expect(
        "presigned unsigned x-amz",
        r.check(SECRET, &sts(), now()),
        "SignatureDoesNotMatch",
        403,
        "There were headers present in the request which were not signed: x-amz-target",
    );
}

#[test]
fn clock_skew_both_ways_with_aws_messages() {
    let r = botocore_gci();
    let d = now();
    assert_eq!(
        r.check(SECRET, &sts(), d + TimeDelta::minutes(15)),
        Ok(()),
        "edge, past"
    );
    assert_eq!(
        r.check(SECRET, &sts(), d - TimeDelta::minutes(15)),
        Ok(()),
        "edge, future"
    );
    expect(
        "expired",
        r.check(SECRET, &sts(), d + TimeDelta::seconds(901)),
        "SignatureDoesNotMatch",
        403,
        "Signature expired: 20240115T123456Z is now earlier than 20240115T123457Z (20240115T124957Z - 15 min.)",
    );
    expect(
        "not yet current",
        r.check(SECRET, &sts(), d - TimeDelta::seconds(901)),
        "SignatureDoesNotMatch",
        403,
        "Signature not yet current: 20240115T123456Z is still later than 20240115T123455Z (20240115T121955Z + 15 min.)",
    );
    expect(
        "days late",
        r.check(SECRET, &sts(), t("20240120T000000Z")),
        "SignatureDoesNotMatch",
        403,
        "Signature expired: 20240115T123456Z is now earlier than 20240119T234500Z (20240120T000000Z - 15 min.)",
    );
}

#[test]
fn scope_checks_with_aws_messages() {
    let r = botocore_gci();
    let mut eu = sts();
    eu.regions = Some(vec!["eu-west-1".into()]);
    expect(
        "region",
        r.check(SECRET, &eu, now()),
        "SignatureDoesNotMatch",
        403,
        "Credential should be scoped to a valid region. ",
    );
    expect(
        "service",
        r.check(SECRET, &VerifyPolicy::for_service("iam"), now()),
        "SignatureDoesNotMatch",
        403,
        "Credential should be scoped to correct service: 'iam'. ",
    );
    let mut both = VerifyPolicy::for_service("iam");
    both.regions = Some(vec!["eu-west-1".into()]);
    expect(
        "region and service",
        r.check(SECRET, &both, now()),
        "SignatureDoesNotMatch",
        403,
        "Credential should be scoped to a valid region. Credential should be scoped to correct service: 'iam'. ",
    );
    let mut us = sts();
    us.regions = Some(vec!["eu-west-1".into(), "us-east-1".into()]);
    assert_eq!(r.check(SECRET, &us, now()), Ok(()));

    let r = signed(
        "AKIDEXAMPLE1234567890/20240115/us-east-1/sts/aws4_requesT",
        "content-type;host;x-amz-date",
    );
    expect(
        "terminator",
        r.check(SECRET, &sts(), now()),
        "SignatureDoesNotMatch",
        403,
        "Credential should be scoped with a valid terminator: 'aws4_request'.",
    );
    let r = signed(
        "AKIDEXAMPLE1234567890/20240114/us-east-1/sts/aws4_request",
        "content-type;host;x-amz-date",
    );
    expect(
        "scope date",
        r.check(SECRET, &sts(), now()),
        "SignatureDoesNotMatch",
        403,
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.",
    );
    let r = signed(CRED, "content-type;x-amz-date");
    expect(
        "host not signed",
        r.check(SECRET, &sts(), now()),
        "SignatureDoesNotMatch",
        403,
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    );
    let r = signed(CRED, "content-type;host");
    expect(
        "date not signed",
        r.check(SECRET, &sts(), now()),
        "SignatureDoesNotMatch",
        403,
        "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.",
    );
}

#[test]
fn date_header_instead_of_x_amz_date() {
    let mut r = base();
    r.remove("X-Amz-Date")
        .add("Date", b"Mon, 15 Jan 2024 12:34:56 GMT");
    r.self_sign_header(SECRET, CRED, "content-type;date;host");
    assert_eq!(r.check(SECRET, &sts(), now()), Ok(()), "RFC 1123 Date");
    let mut r = base();
    r.remove("X-Amz-Date").add("Date", b"20240115T123456Z");
    r.self_sign_header(SECRET, CRED, "content-type;date;host");
    assert_eq!(r.check(SECRET, &sts(), now()), Ok(()), "ISO basic Date");
    let mut r = base();
    r.remove("X-Amz-Date")
        .add("Date", b"Mon, 15 Jan 2024 12:34:56 GMT");
    r.self_sign_header(SECRET, CRED, "content-type;host");
    expect(
        "Date not signed",
        r.check(SECRET, &sts(), now()),
        "SignatureDoesNotMatch",
        403,
        "'Date' must be a 'SignedHeader' in the AWS Authorization.",
    );
}

#[test]
fn payload_hash_header_must_agree_with_the_body() {
    let sha = "85952b4adf01d625be574adfebf36cf08f92fcd81d5a1eb0974d140365d5af41"; // not this body's
    let body_sha = {
        let d = ring::digest::digest(&ring::digest::SHA256, BODY.as_bytes());
        super::support::hex(d.as_ref())
    };
    let mut r = base();
    r.add("X-Amz-Content-Sha256", body_sha.as_bytes());
    r.self_sign_header(
        SECRET,
        CRED,
        "content-type;host;x-amz-content-sha256;x-amz-date",
    );
    assert_eq!(
        r.check(SECRET, &sts(), now()),
        Ok(()),
        "matching x-amz-content-sha256"
    );
    r.set("X-Amz-Content-Sha256", sha.as_bytes());
    mismatch("wrong x-amz-content-sha256", r.check(SECRET, &sts(), now()));
    r.set("X-Amz-Content-Sha256", b"UNSIGNED-PAYLOAD");
    mismatch(
        "UNSIGNED-PAYLOAD over a body",
        r.check(SECRET, &sts(), now()),
    );
    // With an empty body UNSIGNED-PAYLOAD authenticates everything there is.
    let mut r = Owned::new(
        "GET",
        "/",
        "Action=GetCallerIdentity&Version=2011-06-15",
        &[
            ("Host", "sts.amazonaws.com"),
            ("X-Amz-Date", "20240115T123456Z"),
            ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
        ],
        "",
    );
    r.self_sign_header(SECRET, CRED, "host;x-amz-content-sha256;x-amz-date");
    assert_eq!(
        r.check(SECRET, &sts(), now()),
        Ok(()),
        "UNSIGNED-PAYLOAD, empty body"
    );
    r.add("X-Amz-Content-Sha256", b"UNSIGNED-PAYLOAD");
    assert!(
        r.check(SECRET, &sts(), now()).is_err(),
        "repeated x-amz-content-sha256"
    );
}

#[test]
fn presigned_expires_values() {
    for bad in [
        "0",
        "-1",
        "abc",
        "604801",
        "",
        " 60",
        "+60",
        "60 ",
        "1e3",
        "4294967296",
        "99999999999",
    ] {
        let r = presigned(bad);
        let msg = format!(
            "X-Amz-Expires must be a whole number of seconds from 1 to 604800, got '{bad}'"
        );
        incomplete(
            &format!("Expires={bad:?}"),
            r.check(SECRET, &sts(), now()),
            &msg,
        );
    }
    let mut forever = sts();
    forever.presigned_max_age = None;
    assert_eq!(
        presigned("604800").check(SECRET, &forever, now() + TimeDelta::seconds(604_800)),
        Ok(())
    );
    assert_eq!(
        presigned("1").check(SECRET, &sts(), now() + TimeDelta::seconds(1)),
        Ok(()),
        "edge: date+expires == now"
    );
    expect(
        "expired",
        presigned("1").check(SECRET, &sts(), now() + TimeDelta::seconds(2)),
        "AccessDenied",
        403,
        "Request has expired",
    );
    expect(
        "expired 60",
        presigned("60").check(SECRET, &sts(), now() + TimeDelta::seconds(61)),
        "AccessDenied",
        403,
        "Request has expired",
    );
    // The 15-minute cap (observed STS behaviour) applies over a larger Expires...
    expect(
        "capped",
        presigned("3600").check(SECRET, &sts(), now() + TimeDelta::minutes(16)),
        "AccessDenied",
        403,
        "Request has expired",
    );
    // ...unless the deployment turns it off.
    assert_eq!(
        presigned("3600").check(SECRET, &forever, now() + TimeDelta::minutes(16)),
        Ok(())
    );
    expect(
        "future",
        presigned("60").check(SECRET, &sts(), now() - TimeDelta::minutes(16)),
        "SignatureDoesNotMatch",
        403,
        "Signature not yet current: 20240115T123456Z is still later than 20240115T123356Z (20240115T121856Z + 15 min.)",
    );
    assert_eq!(
        presigned("60").check(SECRET, &sts(), now() - TimeDelta::minutes(15)),
        Ok(()),
        "future edge"
    );
}

#[test]
fn presigned_structure() {
    let ok = presigned("60");
    for name in [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
    ] {
        let mut r = ok.clone();
        r.query = r
            .query
            .split('&')
            .filter(|p| !p.starts_with(&format!("{name}=")))
            .collect::<Vec<_>>()
            .join("&");
        // Any one of the other markers still identifies query auth.
        let expected = format!(
            "AWS query-string parameters must include '{name}'. Re-examine the query-string parameters."
        );
        incomplete(name, r.check(SECRET, &sts(), now()), &expected);
    }
    let mut r = ok.clone();
    r.query.push_str("&X-Amz-Date=20240115T123456Z");
    incomplete(
        "duplicate param",
        r.check(SECRET, &sts(), now()),
        MSG_NOT_CONFORM,
    );
    let mut r = ok.clone();
    r.query = r.query.replace(
        "X-Amz-Algorithm=AWS4-HMAC-SHA256",
        "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256",
    );
    incomplete(
        "sigv4a",
        r.check(SECRET, &sts(), now()),
        "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256'",
    );
    let mut r = ok.clone();
    r.query = r
        .query
        .replace("Action=GetCallerIdentity", "Action=AssumeRole");
    mismatch("tampered query", r.check(SECRET, &sts(), now()));
    let mut r = ok.clone();
    r.query = r.query.replace(
        "X-Amz-Date=20240115T123456Z",
        "X-Amz-Date=2024-01-15T12:34:56Z",
    );
    incomplete(
        "bad date",
        r.check(SECRET, &sts(), now()),
        "Date must be in ISO-8601 'basic format'. Got '2024-01-15T12:34:56Z'",
    );
    let mut r = ok.clone();
    r.query.push_str("&X-Amz-Security-Token=abc");
    r.add("X-Amz-Security-Token", b"abc");
    incomplete(
        "token twice",
        r.check(SECRET, &sts(), now()),
        MSG_NOT_CONFORM,
    );
}

#[test]
fn both_header_and_query_auth_are_refused() {
    let mut r = presigned("60");
    r.set(
        "Authorization",
        botocore_gci().header("Authorization").unwrap().as_bytes(),
    );
    let e = r.parse().unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("IncompleteSignature", 400));
    assert!(e.message().starts_with("Only one auth mechanism allowed"));
    let mut r = botocore_gci();
    r.query = format!("X-Amz-Signature={}", "0".repeat(64));
    assert_eq!(r.parse().unwrap_err().code(), "IncompleteSignature");
}

/// Malformed `Authorization` values, each with the exact answer.
#[test]
fn malformed_authorization_headers() {
    let sig = "0".repeat(64);
    let good = |s: &str| s.to_string();
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        ("algorithm only", b"AWS4-HMAC-SHA256".to_vec(), good("Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.")),
        ("no signature", format!("AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host;x-amz-date").into_bytes(), good("Authorization header requires 'Signature' parameter.")),
        ("no credential", format!("AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature={sig}").into_bytes(), good("Authorization header requires 'Credential' parameter.")),
        ("unknown algorithm", format!("AWS4-HMAC-SHA512 Credential={CRED}, SignedHeaders=host, Signature={sig}").into_bytes(), good("Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'")),
        ("sigv2", b"AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=".to_vec(), good("Unsupported AWS 'algorithm': 'AWS'")),
        ("empty", b"".to_vec(), good("Unsupported AWS 'algorithm': ''")),
        ("control chars echoed safely", b"AWS4\x01\n".to_vec(), good("Unsupported AWS 'algorithm': 'AWS4??'")),
        ("duplicate credential", format!("AWS4-HMAC-SHA256 Credential={CRED}, Credential={CRED}, SignedHeaders=host;x-amz-date, Signature={sig}").into_bytes(), good(MSG_NOT_CONFORM)),
        ("duplicate signature", format!("AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host;x-amz-date, Signature={sig}, Signature={sig}").into_bytes(), good(MSG_NOT_CONFORM)),
        ("unknown component", format!("AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host;x-amz-date, Signature={sig}, Extra=1").into_bytes(), good(MSG_NOT_CONFORM)),
        ("component without =", format!("AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders, Signature={sig}").into_bytes(), good(MSG_NOT_CONFORM)),
        ("lowercase component name", format!("AWS4-HMAC-SHA256 credential={CRED}, SignedHeaders=host;x-amz-date, Signature={sig}").into_bytes(), good(MSG_NOT_CONFORM)),
        ("four-part credential", format!("AWS4-HMAC-SHA256 Credential=AKID/20240115/us-east-1/sts, SignedHeaders=host;x-amz-date, Signature={sig}").into_bytes(), good("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKID/20240115/us-east-1/sts'")),
        ("six-part credential", format!("AWS4-HMAC-SHA256 Credential={CRED}/x, SignedHeaders=host;x-amz-date, Signature={sig}").into_bytes(), good(&format!("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{CRED}/x'"))),
        ("empty key id", format!("AWS4-HMAC-SHA256 Credential=/20240115/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature={sig}").into_bytes(), good(MSG_NOT_CONFORM)),
        ("huge credential", format!("AWS4-HMAC-SHA256 Credential={}/20240115/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature={sig}", "A".repeat(300)).into_bytes(), good(MSG_NOT_CONFORM)),
        ("bad hex", format!("AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host;x-amz-date, Signature={}", "g".repeat(64)).into_bytes(), good(MSG_NOT_CONFORM)),
        ("uppercase hex", format!("AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host;x-amz-date, Signature={}", "A".repeat(64)).into_bytes(), good(MSG_NOT_CONFORM)),
        ("short signature", format!("AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host;x-amz-date, Signature={}", "0".repeat(63)).into_bytes(), good(MSG_NOT_CONFORM)),
        ("multibyte in signature", format!("AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host;x-amz-date, Signature={}é", "0".repeat(62)).into_bytes(), good(MSG_NOT_CONFORM)),
        ("unsorted signed headers", format!("AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=x-amz-date;host, Signature={sig}").into_bytes(), good(MSG_NOT_CONFORM)),
        ("repeated signed header", format!("AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host;host;x-amz-date, Signature={sig}").into_bytes(), good(MSG_NOT_CONFORM)),
        ("uppercase signed header", format!("AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=Host;x-amz-date, Signature={sig}").into_bytes(), good(MSG_NOT_CONFORM)),
        ("empty signed header", format!("AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host;;x-amz-date, Signature={sig}").into_bytes(), good(MSG_NOT_CONFORM)),
        ("too many signed headers", format!("AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders={}, Signature={sig}", (0..65).map(|i| format!("h{i:03}")).collect::<Vec<_>>().join(";")).into_bytes(), good(MSG_NOT_CONFORM)),
        ("huge header", format!("AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host, Signature={sig}{}", " ".repeat(MAX_AUTHORIZATION_LEN)).into_bytes(), good(MSG_NOT_CONFORM)),
        ("not utf-8", b"AWS4-HMAC-SHA256 Credential=\xff\xfe".to_vec(), good(MSG_NOT_CONFORM)),
    ];
    for (name, value, message) in cases {
        let mut r = base();
        r.set("Authorization", &value);
        let err = r.parse().expect_err(name);
        assert_eq!(
            (err.code(), err.http_status(), err.message()),
            ("IncompleteSignature", 400, message),
            "case `{name}`"
        );
    }
    // Separators: ", " (botocore), "," alone, extra spaces — all the same authorization.
    let ok = botocore_gci();
    let h = ok.header("Authorization").unwrap();
    for variant in [
        h.replace(", ", ","),
        h.replace(", ", " ,  "),
        format!("{h},"),
    ] {
        let mut r = ok.clone();
        r.set("Authorization", variant.as_bytes());
        assert_eq!(r.check(SECRET, &sts(), now()), Ok(()), "{variant}");
    }
}

#[test]
fn date_problems() {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host;x-amz-date, Signature={}",
        "0".repeat(64)
    );
    let mut r = base();
    r.remove("X-Amz-Date").set("Authorization", auth.as_bytes());
    incomplete(
        "no date",
        r.parse().map(|_| ()),
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    );
    for bad in [
        "2024-01-15T12:34:56Z",
        "20240115T123456",
        "20241315T123456Z",
        "20240115T246000Z",
        "+0240115T123456Z",
        "20240115t123456z",
        "Mon, 15 Jan 2024 12:34:56 GMT",
    ] {
        let mut r = base();
        r.set("X-Amz-Date", bad.as_bytes())
            .set("Authorization", auth.as_bytes());
        incomplete(
            bad,
            r.parse().map(|_| ()),
            &format!("Date must be in ISO-8601 'basic format'. Got '{bad}'"),
        );
    }
    let mut r = base();
    r.add("X-Amz-Date", b"20240115T123456Z")
        .set("Authorization", auth.as_bytes());
    incomplete("two x-amz-date", r.parse().map(|_| ()), MSG_NOT_CONFORM);
    let mut r = base();
    r.set("Authorization", auth.as_bytes())
        .add("authorization", auth.as_bytes());
    incomplete(
        "two authorization headers",
        r.parse().map(|_| ()),
        MSG_NOT_CONFORM,
    );
}

#[test]
fn security_token_sources() {
    let v = vector("sts_session_token");
    let auth = v.req.parse().unwrap().unwrap();
    assert_eq!(
        auth.security_token().unwrap().expose(),
        v.session_token.as_deref().unwrap()
    );
    assert!(
        !format!("{auth:?}").contains("FwoGZXIvYXdz"),
        "token must not appear in Debug"
    );
    let mut r = v.req.clone();
    r.query = "X-Amz-Security-Token=other".into();
    incomplete(
        "token in header and query",
        r.parse().map(|_| ()),
        MSG_NOT_CONFORM,
    );
    let mut r = v.req.clone();
    r.add("X-Amz-Security-Token", b"second");
    incomplete("two token headers", r.parse().map(|_| ()), MSG_NOT_CONFORM);
    let mut r = v.req.clone();
    r.set(
        "X-Amz-Security-Token",
        "x".repeat(crate::sigv4::MAX_SECURITY_TOKEN_LEN + 1)
            .as_bytes(),
    );
    incomplete("huge token", r.parse().map(|_| ()), MSG_NOT_CONFORM);
}

#[test]
fn error_table_maps_to_the_wire() {
    let rows: Vec<(SigV4Error, &str, u16, &str)> = vec![
        (
            SigV4Error::MissingAuthenticationToken,
            "MissingAuthenticationToken",
            403,
            "Request is missing Authentication Token",
        ),
        (
            SigV4Error::IncompleteSignature("m".into()),
            "IncompleteSignature",
            400,
            "m",
        ),
        (
            SigV4Error::SignatureDoesNotMatch("m".into()),
            "SignatureDoesNotMatch",
            403,
            "m",
        ),
        (
            SigV4Error::SignatureMismatch {
                log_reason: "signature",
            },
            "SignatureDoesNotMatch",
            403,
            MSG_SIGNATURE_MISMATCH,
        ),
        (
            SigV4Error::PresignedExpired,
            "AccessDenied",
            403,
            "Request has expired",
        ),
    ];
    for (e, code, status, msg) in rows {
        assert_eq!(
            (e.code(), e.http_status(), e.message().as_str()),
            (code, status, msg)
        );
    }
    // The log line names the stage; the client message never does.
    let e = SigV4Error::SignatureMismatch {
        log_reason: "signed header absent from request",
    };
    assert!(e.to_string().contains("signed header absent"));
    assert!(!e.message().contains("header"));
}

#[test]
fn parse_is_bounded_before_work() {
    // A 1 MB Authorization value is refused by length alone.
    let mut r = base();
    r.set("Authorization", &vec![b'A'; 1 << 20]);
    incomplete("1 MB header", r.parse().map(|_| ()), MSG_NOT_CONFORM);
    assert!(
        parse(&crate::sigv4::RequestParts {
            method: "GET",
            path: "/",
            query: "",
            headers: &[],
            body: b""
        })
        .unwrap()
        .is_none()
    );
}
