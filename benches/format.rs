//! Per-request formatting timings: the audit JSON line, XML escaping of a session token, AWS
//! timestamps and a whole AssumeRole success document.
//! Run: `cargo bench --bench format -- --warm-up-time 1 --measurement-time 3`.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "benchmark setup: any failure should abort the run loudly"
)]

use std::hint::black_box;

use chrono::{DateTime, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use tessera::audit::{self, Notes, Record};
use tessera::protocol::xml::{self, Xml};

/// A token-shaped string: `len` base64 characters (what STS session tokens are made of).
fn token(len: usize) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..len)
        .map(|i| char::from(B64[(i * 7 + i / 3) % B64.len()]))
        .collect()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 7, 25, 45).unwrap() + chrono::Duration::microseconds(123_456)
}

/// What `AssumeRole` writes: a caller, a target, an issued key, an expiration and a decision.
fn assume_role_notes() -> Notes {
    Notes {
        target: Some("arn:aws:iam::123456789012:role/deploy".into()),
        issued_access_key_id: Some("ASIA3XFRBF535PLBIFPI".into()),
        session_expiration: Some(now() + chrono::Duration::seconds(3600)),
        session_name: Some("bench-session".into()),
        source_identity: None,
        identity_provider: None,
        subject: None,
        decision: Some("allow: trust policy statement 0".into()),
    }
}

fn bench(c: &mut Criterion) {
    let notes = assume_role_notes();
    c.bench_function("audit_assume_role_record", |b| {
        b.iter(|| {
            let record = Record {
                time: now(),
                request_id: "0f5c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
                service: "sts",
                action: "AssumeRole",
                source_ip: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
                caller: Some("arn:aws:iam::123456789012:user/alice".into()),
                caller_access_key_id: Some("AKIA3XFRBF535PLBIFPI"),
                outcome: "allowed",
                reason: None,
                notes: notes.clone(),
            };
            audit::to_json(black_box(&record))
        })
    });

    let tok = token(700);
    c.bench_function("escape_into_token_700", |b| {
        let mut out = String::with_capacity(1024);
        b.iter(|| {
            out.clear();
            xml::escape_into(&mut out, black_box(&tok));
            out.len()
        })
    });
    let mixed = format!("{}<&>'\"{}", &tok[..350], &tok[350..]);
    c.bench_function("escape_into_token_700_with_specials", |b| {
        let mut out = String::with_capacity(1024);
        b.iter(|| {
            out.clear();
            xml::escape_into(&mut out, black_box(&mixed));
            out.len()
        })
    });

    let t = now();
    c.bench_function("iso8601", |b| b.iter(|| xml::iso8601(black_box(t))));

    let secret = token(40);
    c.bench_function("assume_role_response", |b| {
        b.iter(|| {
            let mut x = Xml::new();
            x.nest("Credentials", |x| {
                x.elem("AccessKeyId", "ASIA3XFRBF535PLBIFPI")
                    .elem("SecretAccessKey", &secret)
                    .elem("SessionToken", &tok)
                    .time("Expiration", t);
            });
            x.nest("AssumedRoleUser", |x| {
                x.elem("AssumedRoleId", "AROA3XFRBF535PLBIFPI4:bench-session")
                    .elem(
                        "Arn",
                        "arn:aws:sts::123456789012:assumed-role/deploy/bench-session",
                    );
            });
            x.num("PackedPolicySize", 6);
            xml::success(
                "AssumeRole",
                xml::STS_NS,
                Some(black_box(&x)),
                "0f5c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
