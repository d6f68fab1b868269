//! Fuzz the SAML metadata checks (`saml::metadata`): the streaming pre-filter, then samael's
//! parse of what passes it. Arbitrary text must be refused or accepted, never panic or hang.
//! Run: `cargo +nightly fuzz run saml_metadata -- -max_total_time=60`
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let now = chrono::DateTime::<chrono::Utc>::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let _ = tessera::saml::metadata::parse(s, now);
    }
});
