//! Credential core timings: minting and opening session tokens, at-rest blobs, TOTP checks.
//! Run: `cargo bench --bench credentials`.
#![allow(
    clippy::unwrap_used,
    reason = "benchmark setup: any failure should abort the run loudly"
)]

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use tessera::credentials::{Keyring, SessionSource, SessionSpec, issue_session, open, seal, totp};
use tessera::principal::Principal;

fn spec() -> SessionSpec {
    let mut spec = SessionSpec::new(
        Principal::AssumedRole {
            account: "123456789012".into(),
            role_name: "deploy".into(),
            role_id: "AROA3XFRBF535PLBIFPI4".into(),
            role_path: "/".into(),
            session_name: "bench-session".into(),
        },
        SessionSource::AssumeRole,
    );
    spec.session_policy = Some(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}]}"#
            .into(),
    );
    spec.tags = vec![("Project".into(), "Pegasus".into())];
    spec
}

fn bench(c: &mut Criterion) {
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let ring = Keyring::generate(now).unwrap();
    let issued = issue_session(&ring, spec(), now, 3600).unwrap();
    let token = issued.session_token.as_str().to_owned();
    let claims = open(&ring, &token, now).unwrap();

    c.bench_function("issue_session", |b| {
        b.iter(|| issue_session(&ring, black_box(spec()), now, 3600).unwrap())
    });
    c.bench_function("seal", |b| {
        b.iter(|| seal(&ring, black_box(&claims)).unwrap())
    });
    c.bench_function("open", |b| {
        b.iter(|| open(&ring, black_box(&token), now).unwrap())
    });
    c.bench_function("open_invalid_tag", |b| {
        let mut bad = token.clone();
        let last = if bad.ends_with('A') { "B" } else { "A" };
        bad.replace_range(bad.len() - 1.., last);
        b.iter(|| open(&ring, black_box(&bad), now).unwrap_err())
    });

    let blob = ring
        .seal_blob(b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", b"AKIAEXAMPLE")
        .unwrap();
    c.bench_function("open_blob", |b| {
        b.iter(|| ring.open_blob(black_box(&blob), b"AKIAEXAMPLE").unwrap())
    });

    let seed = totp::generate_seed().unwrap();
    let code = totp::code_at(&seed, now.timestamp() as u64);
    c.bench_function("totp_verify", |b| {
        b.iter(|| totp::verify(&seed, black_box(&code), now, None).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
