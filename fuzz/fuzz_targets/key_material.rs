//! Fuzz the parsers of uploaded key material (`key_material`): PEM framing, X.509 certificates
//! and chains, server certificate private keys and SSH public keys (ssh-rsa and PEM). Arbitrary
//! text must be refused or accepted, never panic or hang.
//! Run: `cargo +nightly fuzz run key_material -- -max_total_time=60`
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tessera::key_material::fuzz_key_material(data);
});
