//! Fuzz the audit-journal scanner (what a start after a crash reads back): arbitrary bytes must
//! give whole, checksummed frames in seq order, and never a panic.
//! Run: `cargo +nightly fuzz run audit_journal -- -max_total_time=60`
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let frames = tessera::store::audit_journal::journal::scan(data);
    assert!(frames.windows(2).all(|w| w[0].seq < w[1].seq));
});
