//! SigV4 verification timings on the request the load bench sends most: `GetCallerIdentity`
//! signed with session credentials (a ~700-byte `x-amz-security-token`, signed, as the SDKs do).
//! Run: `cargo bench --bench sigv4`.
#![allow(
    clippy::unwrap_used,
    reason = "benchmark setup: any failure should abort the run loudly"
)]

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use tessera::sigv4::{
    RequestParts, SigningKeyCache, VerifyPolicy, canonical_request, parse, signature, signing_key,
    string_to_sign, verify, verify_cached,
};

const SECRET: &[u8] = b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const BODY: &[u8] = b"Action=GetCallerIdentity&Version=2011-06-15";
const SIGNED: &str = "amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-date;x-amz-security-token;x-amz-user-agent";

/// A session token of the size tessera mints (base64url, no padding), ~700 bytes.
fn token() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    ALPHABET
        .iter()
        .cycle()
        .step_by(7)
        .take(700)
        .map(|&b| char::from(b))
        .collect()
}

fn headers(token: &str, authorization: &str) -> Vec<(String, Vec<u8>)> {
    [
        ("Host", "127.0.0.1:4566"),
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Content-Length", "43"),
        ("User-Agent", "aws-sdk-rust/1.3.9 os/linux lang/rust/1.90.0"),
        (
            "x-amz-user-agent",
            "aws-sdk-rust/1.3.9 ua/2.1 api/sts/1.90.0 os/linux lang/rust/1.90.0 m/E",
        ),
        (
            "amz-sdk-invocation-id",
            "5b2f6c1e-8f1a-4d0e-9a8b-3c2d1e0f4a5b",
        ),
        ("amz-sdk-request", "attempt=1; max=3"),
        ("X-Amz-Date", "20260101T000000Z"),
        ("X-Amz-Security-Token", token),
        ("Authorization", authorization),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
    .collect()
}

fn with<R>(headers: &[(String, Vec<u8>)], f: impl FnOnce(&RequestParts<'_>) -> R) -> R {
    let hs: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_slice()))
        .collect();
    f(&RequestParts {
        method: "POST",
        path: "/",
        query: "",
        headers: &hs,
        body: BODY,
    })
}

/// Sign with tessera's own stages (the bench measures verification, not interop).
fn signed_headers() -> Vec<(String, Vec<u8>)> {
    let token = token();
    let credential = "ASIAEXAMPLEEXAMPLE12/20260101/us-east-1/sts/aws4_request";
    let dummy = format!(
        "AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={SIGNED}, Signature={}",
        "0".repeat(64)
    );
    let sig = with(&headers(&token, &dummy), |r| {
        let auth = parse(r).unwrap().unwrap();
        let creq = canonical_request(r, &auth).unwrap();
        let sts = string_to_sign(&auth.amz_date(), auth.scope(), &creq);
        let s = auth.scope();
        let key = signing_key(SECRET, s.date(), s.region(), s.service());
        signature(&key, &sts)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    });
    headers(&token, &dummy.replace(&"0".repeat(64), &sig))
}

fn bench(c: &mut Criterion) {
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 30).unwrap();
    let policy = VerifyPolicy::for_service("sts");
    let hs = signed_headers();

    with(&hs, |r| {
        let auth = parse(r).unwrap().unwrap();
        verify(&auth, r, SECRET, &policy, now).unwrap();

        c.bench_function("sigv4_parse_session", |b| {
            b.iter(|| parse(black_box(r)).unwrap().unwrap())
        });
        c.bench_function("sigv4_verify_session", |b| {
            b.iter(|| verify(black_box(&auth), black_box(r), SECRET, &policy, now).unwrap())
        });
        // Warm: the key for this secret and day is already cached (every request after the
        // first from one session).
        let cache = SigningKeyCache::default();
        verify_cached(&auth, r, SECRET, &policy, now, &cache).unwrap();
        c.bench_function("sigv4_verify_session_cached", |b| {
            b.iter(|| {
                verify_cached(black_box(&auth), black_box(r), SECRET, &policy, now, &cache).unwrap()
            })
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
