//! Fuzz the SigV4 parser and verifier: the input is tried as an `Authorization` header value
//! and as a presigned query string (and path). Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tessera::sigv4::fuzz_authorization_header(data);
});
