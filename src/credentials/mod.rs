//! Credential core: the identifiers, secrets, server keys, sealed session tokens and TOTP codes
//! that every STS and IAM action mints or checks.
//!
//! Implements the credential shapes of
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html> and
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_request.html>.
//!
//! What this module owns:
//! - [`Secret`]: every secret byte string (secret access keys, keyring keys, TOTP seeds) lives in
//!   one; it never prints, compares in constant time and is zeroized on drop.
//! - [`ids`]: `AKIA`/`ASIA` access key ids (carrying the account like AWS does), unique ids
//!   (`AIDA`, `AROA`, ...), 40-character secret access keys, and their validators.
//! - [`Keyring`]: the server's AES-256-GCM keys (current + previous generations), their file on
//!   disk, and sealing of small blobs at rest.
//! - [`token`]: self-contained sealed session tokens and the ONE minting path
//!   ([`issue_session`]) used by every kind of temporary credential.
//! - [`totp`]: RFC 6238 codes for virtual MFA devices; [`qr`]: their `otpauth://` URI as a QR
//!   code PNG.
//!
//! What it must never do: read the wall clock (every check takes `now`), touch the network or a
//! database, print or log a secret, or derive a secret from anything a client can read.
//! File I/O happens only in [`Keyring::load`] and [`Keyring::save`].

mod base32;
pub mod form_state;
pub(crate) mod ids;
pub(crate) mod keyring;
pub mod master_key;
pub mod password;
pub(crate) mod qr;
pub(crate) mod secret;
mod shared_keyring;
pub(crate) mod token;
pub mod totp;

pub use ids::{
    IdError, UniqueIdKind, account_from_key_id, is_access_key_id, is_account_id,
    is_chosen_access_key_id, is_secret_access_key, is_temporary_access_key_id, is_unique_id,
    new_access_key_id, new_opaque_id, new_prefixed_id, new_secret_access_key,
    new_temporary_access_key_id, new_unique_id, new_uuid,
};
pub use keyring::{BlobError, KeyId, Keyring, KeyringError};
pub use master_key::MasterKey;
pub use secret::Secret;
pub use shared_keyring::{KeyringSource, SharedKeyring};
pub use token::{
    IssuedSession, MintError, SessionClaims, SessionSource, SessionSpec, SessionToken, TokenError,
    issue_session, open, open_for_access_key, open_for_access_key_cached, seal, sealed_with,
};
pub use totp::TotpError;

/// The system random number generator failed. Nothing sensible can be minted without it, so
/// callers answer with an internal error (`InternalFailure` / `ServiceFailure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomError;

/// Fill `buf` from the operating system's CSPRNG.
///
/// Minting a session needs three small random values (key id, secret, nonce); one system call
/// each was a measurable share of AssumeRole's CPU. So bytes are fetched from the OS in blocks
/// of [`RANDOM_BLOCK`] per thread and handed out once each, each byte wiped as it is handed
/// out: every byte still comes straight from the OS generator and none is ever used twice.
/// Requests larger than a block go to the OS directly.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), RandomError> {
    use ring::rand::SecureRandom;
    use zeroize::Zeroize as _;

    struct Pool {
        bytes: [u8; RANDOM_BLOCK],
        /// Bytes before `used` have been handed out (and wiped).
        used: usize,
    }
    impl Drop for Pool {
        fn drop(&mut self) {
            self.bytes.zeroize();
        }
    }
    thread_local! {
        static POOL: std::cell::RefCell<Pool> = const {
            std::cell::RefCell::new(Pool { bytes: [0; RANDOM_BLOCK], used: RANDOM_BLOCK })
        };
    }
    let os = || ring::rand::SystemRandom::new();
    if buf.len() > RANDOM_BLOCK {
        return os().fill(buf).map_err(|_| RandomError);
    }
    POOL.with(|pool| {
        let mut pool = pool.try_borrow_mut().map_err(|_| RandomError)?;
        if RANDOM_BLOCK - pool.used < buf.len() {
            os().fill(&mut pool.bytes).map_err(|_| RandomError)?;
            pool.used = 0;
        }
        let start = pool.used;
        let end = start + buf.len();
        let take = pool.bytes.get_mut(start..end).ok_or(RandomError)?;
        buf.copy_from_slice(take);
        take.zeroize();
        pool.used = end;
        Ok(())
    })
}

/// Bytes fetched from the OS generator at a time by [`fill_random`]: a session takes about 50,
/// so one system call serves about 80 sessions.
const RANDOM_BLOCK: usize = 4096;

#[cfg(any(fuzzing, test))]
/// Entry point for the `session_token` fuzz target (`fuzz/fuzz_targets/session_token.rs`).
///
/// Never panics, whatever `data` is. See [`token::fuzz_open`] for what each input mode reaches.
#[doc(hidden)]
pub fn fuzz_open(data: &[u8]) {
    token::fuzz_open(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_bytes_are_never_handed_out_twice() {
        // 16-byte draws across many block refills (and odd sizes that straddle a block end)
        // are pairwise distinct; a repeat would mean a byte was reused.
        let mut seen = std::collections::HashSet::new();
        for i in 0..2000 {
            let mut b = vec![0u8; if i % 7 == 0 { 13 } else { 16 }];
            fill_random(&mut b).unwrap();
            assert!(seen.insert(b), "repeated random draw");
        }
        let mut big = vec![0u8; RANDOM_BLOCK * 3];
        fill_random(&mut big).unwrap();
        assert!(big.iter().any(|&b| b != 0));
        let mut exact = [0u8; RANDOM_BLOCK];
        fill_random(&mut exact).unwrap();
        assert!(exact.iter().any(|&b| b != 0));
        fill_random(&mut []).unwrap();
    }
}
