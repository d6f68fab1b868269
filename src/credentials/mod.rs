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
//! - [`totp`]: RFC 6238 codes for virtual MFA devices.
//!
//! What it must never do: read the wall clock (every check takes `now`), touch the network or a
//! database, print or log a secret, or derive a secret from anything a client can read.
//! File I/O happens only in [`Keyring::load`] and [`Keyring::save`].

mod base32;
pub mod ids;
pub mod keyring;
pub mod secret;
pub mod token;
pub mod totp;

pub use ids::{
    IdError, UniqueIdKind, account_from_key_id, is_access_key_id, is_account_id,
    is_secret_access_key, is_temporary_access_key_id, is_unique_id, new_access_key_id,
    new_secret_access_key, new_temporary_access_key_id, new_unique_id,
};
pub use keyring::{BlobError, KeyId, Keyring, KeyringError};
pub use secret::Secret;
pub use token::{
    IssuedSession, MintError, SessionClaims, SessionPrincipal, SessionSource, SessionSpec,
    SessionToken, TokenError, issue_session, open, open_for_access_key, open_for_access_key_cached,
    seal,
};
pub use totp::TotpError;

/// The system random number generator failed. Nothing sensible can be minted without it, so
/// callers answer with an internal error (`InternalFailure` / `ServiceFailure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomError;

/// Fill `buf` from the operating system's CSPRNG.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), RandomError> {
    use ring::rand::SecureRandom;
    ring::rand::SystemRandom::new()
        .fill(buf)
        .map_err(|_| RandomError)
}

/// Entry point for the `session_token` fuzz target (`fuzz/fuzz_targets/session_token.rs`).
///
/// Never panics, whatever `data` is. See [`token::fuzz_open`] for what each input mode reaches.
#[doc(hidden)]
pub fn fuzz_open(data: &[u8]) {
    token::fuzz_open(data);
}
