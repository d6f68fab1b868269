//! Console passwords: any bytes as a password under every kind of password policy, and as a
//! stored argon2id hash string. No panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tessera::credentials::password::fuzz_password(data);
});
