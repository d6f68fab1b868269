//! Fuzz the web identity token splitter and claim checker (`oidc::jwt`): arbitrary text as an
//! `AssumeRoleWithWebIdentity` token must be refused or parsed, never panic.
//! Run: `cargo +nightly fuzz run web_identity_token -- -max_total_time=60`
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tessera::oidc::fuzz::parse_token(data);
});
