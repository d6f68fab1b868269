//! Fuzz target: the policy parser (and evaluation of whatever parses).
//! Run: `cargo +nightly fuzz run policy_parse -- -max_total_time=60`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tessera::policy::fuzz_parse(data);
});
