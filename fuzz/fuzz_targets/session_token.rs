//! Fuzz the session-token opener: arbitrary strings, arbitrary sealed-looking bytes, and
//! arbitrary plaintext sealed under a fixed key (see `credentials::token::fuzz_open`).
//! Run: `cargo +nightly fuzz run session_token -- -max_total_time=60`
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tessera::credentials::fuzz_open(data);
});
