//! The AWS Query parameter parser (GET query string and POST form body): any bytes, no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tessera::protocol::params::fuzz_params(data);
});
