//! Fuzz the sealed form-state opener (the browser sign-in's role-picker state): arbitrary
//! tokens and cookie bindings against a fixed keyring, and arbitrary plaintext round-tripped
//! (see `credentials::form_state::fuzz_open`).
//! Run: `cargo +nightly fuzz run form_state -- -max_total_time=60`
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tessera::credentials::form_state::fuzz_open(data);
});
