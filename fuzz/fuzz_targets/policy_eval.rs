//! Fuzz target: policy evaluation invariants (see `tessera::policy::fuzz_eval` for the input
//! layout). Run: `cargo +nightly fuzz run policy_eval -- -max_total_time=60`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tessera::policy::fuzz_eval(data);
});
