//! SAML response verification timings, without HTTP: the pre-filter alone, and the whole of
//! `saml::response::verify` (base64, pre-filter, samael's parse and RSA-2048 / ECDSA P-256
//! signature check, tessera's checks) on a response shaped as Okta sends AWS.
//! Run: `cargo bench --bench saml`.
#![allow(
    clippy::unwrap_used,
    reason = "benchmark setup: any failure should abort the run loudly"
)]

#[path = "../tests/common/saml_idp.rs"]
mod saml_idp;

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use saml_idp::{SamlIdp, Signing, Spec};
use tessera::saml::response::{self, Provider, Settings, prefilter};

fn bench(c: &mut Criterion) {
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let settings = Settings::default();
    for (name, idp) in [
        ("rsa2048", SamlIdp::okta()),
        ("p256", SamlIdp::p256(saml_idp::OKTA_ENTITY)),
    ] {
        let mut spec = Spec::aws(
            now,
            "arn:aws:iam::123456789012:role/dev",
            "arn:aws:iam::123456789012:saml-provider/okta",
            "alice",
        );
        spec.signing = Signing::Assertion;
        let xml = idp.response_xml(&spec);
        let encoded = saml_idp::encode(&xml);
        let provider = Provider {
            entity_id: idp.entity_id.clone(),
            signing_certs: vec![idp.cert_b64.clone()],
            private_keys: Vec::new(),
            encryption_required: false,
        };
        response::verify(&encoded, &provider, &settings, now).unwrap();
        if name == "rsa2048" {
            c.bench_function("saml_prefilter", |b| {
                b.iter(|| prefilter::check(black_box(&xml), prefilter::Root::Response).unwrap())
            });
        }
        c.bench_function(&format!("saml_verify_{name}"), |b| {
            b.iter(|| response::verify(black_box(&encoded), &provider, &settings, now).unwrap())
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
