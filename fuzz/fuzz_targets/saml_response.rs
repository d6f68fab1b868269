//! Fuzz SAML response verification (`saml::response`): the streaming pre-filter, then for what
//! passes it samael's parse and signature check, decryption and tessera's checks. Arbitrary
//! text as a response (or as a decrypted assertion) must be refused or verified, never panic
//! or hang; nothing it says may be fetched.
//! Run: `cargo +nightly fuzz run saml_response -- -max_total_time=60`
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera::saml::response::{self, Provider, Settings, prefilter};

const CERT: &str = include_str!("../../tests/fixtures/saml/okta.crt");
const KEY: &str = include_str!("../../tests/fixtures/saml/encryption-pkcs8.key");

/// Built once: checking the RSA key costs more than most inputs.
fn provider() -> &'static Provider {
    static P: std::sync::OnceLock<Provider> = std::sync::OnceLock::new();
    P.get_or_init(|| Provider {
        entity_id: "http://www.okta.com/exk1fcia6d6EMsf331d8".to_owned(),
        signing_certs: vec![CERT.lines().filter(|l| !l.starts_with("-----")).collect()],
        private_keys: tessera::saml::private_key::parse(KEY).into_iter().collect(),
        encryption_required: false,
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else {
        return;
    };
    let now = chrono::DateTime::<chrono::Utc>::from_timestamp(1_772_366_400, 0).unwrap_or_default();
    let provider = provider();
    let _ = prefilter::check(xml, prefilter::Root::Assertion);
    let _ = response::verify_xml(xml, provider, &Settings::default(), now);
    // The base64 front door, for inputs that look like it.
    if xml.len() < 4096 {
        let _ = response::verify(xml, provider, &Settings::default(), now);
    }
});
