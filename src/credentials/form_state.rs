//! State a server-rendered form carries instead of a server-side session: sealed with the
//! keyring, authenticated with HMAC-SHA-256 under a key derived for this purpose alone, and
//! bound to a value the browser sends back separately (the double-submit CSRF cookie).
//!
//! # Token (base64url, no padding)
//! ```text
//!  0                    32
//!  | HMAC-SHA-256 (32)  | at-rest blob (`Keyring::seal_blob`: 0x01, key id, nonce, ciphertext, tag) |
//!  blob AAD  = "tessera form state v1\0" || purpose
//!  MAC key   = HMAC-SHA-256(keyring key `key id`, "tessera form state mac key v1\0" || purpose)
//!  MAC input = u32 BE len(binding) || binding || blob
//! ```
//! Encrypt-then-MAC: the MAC is checked first, in constant time, and nothing is decrypted or
//! parsed unless it holds. The state is encrypted too because it may carry what the browser was
//! never shown (the attributes of an encrypted SAML assertion). `purpose` separates uses: a
//! token made for one form never opens for another, nor as any other keyring blob (their AADs
//! differ). Tokens live as long as their key is held (current + previous generation); callers
//! put their own expiry inside.
//!
//! What it must never do: decrypt before the MAC holds, compare MACs with `==`, or use a
//! keyring key directly as the MAC key.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{KeyId, Keyring, Secret};
use crate::wipe::Wiped;

type HmacSha256 = Hmac<Sha256>;

const MAC_LEN: usize = 32;
const BLOB_AAD_LABEL: &[u8] = b"tessera form state v1\0";
const MAC_KEY_LABEL: &[u8] = b"tessera form state mac key v1\0";

/// Why a token did not open: one case, whatever failed (length, encoding, MAC, key, cipher).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("form state is invalid, was made for another binding, or its key was retired")]
pub struct FormStateError;

fn blob_aad(purpose: &str) -> Vec<u8> {
    [BLOB_AAD_LABEL, purpose.as_bytes()].concat()
}

/// The MAC key of keyring key `id` for `purpose`: never the keyring key itself.
fn mac_key(keyring: &Keyring, id: KeyId, purpose: &str) -> Option<Wiped<Vec<u8>>> {
    let material = keyring.key(id)?;
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(material.expose_bytes()).ok()?;
    m.update(MAC_KEY_LABEL);
    m.update(purpose.as_bytes());
    Some(Wiped::new(m.finalize().into_bytes().to_vec()))
}

fn mac(key: &[u8], binding: &[u8], blob: &[u8]) -> Option<HmacSha256> {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(key).ok()?;
    let len = u32::try_from(binding.len()).ok()?;
    m.update(&len.to_be_bytes());
    m.update(binding);
    m.update(blob);
    Some(m)
}

/// Seal `plaintext` for `purpose`, bound to `binding`: the token a form carries.
pub fn seal(
    keyring: &Keyring,
    purpose: &str,
    plaintext: &[u8],
    binding: &[u8],
) -> Result<String, FormStateError> {
    let blob = keyring
        .seal_blob(plaintext, &blob_aad(purpose))
        .map_err(|_| FormStateError)?;
    let key = mac_key(keyring, keyring.current_id(), purpose).ok_or(FormStateError)?;
    let tag = mac(&key, binding, &blob)
        .ok_or(FormStateError)?
        .finalize()
        .into_bytes();
    let mut out = Vec::with_capacity(MAC_LEN + blob.len());
    out.extend_from_slice(&tag);
    out.extend_from_slice(&blob);
    Ok(B64.encode(out))
}

/// Open a token made by [`seal`] for `purpose` and `binding`, if it is at most `max_len`
/// characters. The MAC is verified (constant time) before anything is decrypted.
pub fn open(
    keyring: &Keyring,
    purpose: &str,
    token: &str,
    binding: &[u8],
    max_len: usize,
) -> Result<Secret, FormStateError> {
    if token.len() > max_len {
        return Err(FormStateError);
    }
    let raw = B64.decode(token.trim()).map_err(|_| FormStateError)?;
    let (tag, blob) = raw.split_at_checked(MAC_LEN).ok_or(FormStateError)?;
    let id = Keyring::blob_key_id(blob).ok_or(FormStateError)?;
    let key = mac_key(keyring, id, purpose).ok_or(FormStateError)?;
    mac(&key, binding, blob)
        .ok_or(FormStateError)?
        .verify_slice(tag)
        .map_err(|_| FormStateError)?;
    keyring
        .open_blob(blob, &blob_aad(purpose))
        .map_err(|_| FormStateError)
}

/// Entry point for the `form_state` fuzz target: arbitrary tokens and bindings against a fixed
/// keyring, and arbitrary plaintext round-tripped. Never panics.
#[cfg(any(fuzzing, test))]
pub fn fuzz_open(data: &[u8]) {
    let Ok(keyring) = Keyring::from_keys(
        (7, Secret::from_bytes(vec![7u8; super::keyring::KEY_LEN])),
        Vec::new(),
        chrono::DateTime::UNIX_EPOCH,
    ) else {
        return;
    };
    let (binding, token) = data.split_at(
        data.len()
            .min(usize::from(data.first().copied().unwrap_or(0))),
    );
    let token = String::from_utf8_lossy(token);
    let _ = open(&keyring, "fuzz", &token, binding, 1 << 16);
    if let Ok(t) = seal(&keyring, "fuzz", data, binding) {
        let opened = open(&keyring, "fuzz", &t, binding, 1 << 20);
        assert!(opened.is_ok_and(|p| p.expose_bytes() == data), "round trip");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring() -> Keyring {
        Keyring::generate(chrono::Utc::now()).unwrap()
    }

    #[test]
    fn round_trip_only_with_its_purpose_binding_and_keyring() {
        let k = keyring();
        let t = seal(&k, "saml", b"facts", b"cookie").unwrap();
        assert_eq!(
            open(&k, "saml", &t, b"cookie", 4096)
                .unwrap()
                .expose_bytes(),
            b"facts"
        );
        assert_eq!(open(&k, "saml", &t, b"cookie2", 4096), Err(FormStateError));
        assert_eq!(open(&k, "saml", &t, b"", 4096), Err(FormStateError));
        assert_eq!(open(&k, "other", &t, b"cookie", 4096), Err(FormStateError));
        assert_eq!(
            open(&keyring(), "saml", &t, b"cookie", 4096),
            Err(FormStateError)
        );
        assert_eq!(
            open(&k, "saml", &t, b"cookie", t.len() - 1),
            Err(FormStateError)
        );
        // Not readable: the plaintext does not appear in the token.
        let raw = B64.decode(&t).unwrap();
        assert!(!raw.windows(5).any(|w| w == b"facts"));
        // Nor is it any other keyring blob.
        assert!(k.open_blob(&raw[MAC_LEN..], b"saml").is_err());
    }

    #[test]
    fn every_flipped_bit_and_truncation_is_refused() {
        let k = keyring();
        let t = seal(&k, "saml", b"facts", b"cookie").unwrap();
        let raw = B64.decode(&t).unwrap();
        for i in 0..raw.len() {
            for bit in [0x01u8, 0x80] {
                let mut r = raw.clone();
                r[i] ^= bit;
                assert_eq!(
                    open(&k, "saml", &B64.encode(&r), b"cookie", 4096),
                    Err(FormStateError),
                    "byte {i}"
                );
            }
        }
        for n in 0..raw.len() {
            assert_eq!(
                open(&k, "saml", &B64.encode(&raw[..n]), b"cookie", 4096),
                Err(FormStateError)
            );
        }
        for junk in ["", "!", "====", "a b", "\u{0}"] {
            assert_eq!(open(&k, "saml", junk, b"cookie", 4096), Err(FormStateError));
        }
    }

    #[test]
    fn tokens_survive_one_rotation_only() {
        let mut k = keyring();
        let t = seal(&k, "saml", b"facts", b"c").unwrap();
        k.rotate(chrono::Utc::now()).unwrap();
        assert!(open(&k, "saml", &t, b"c", 4096).is_ok());
        k.rotate(chrono::Utc::now()).unwrap();
        assert_eq!(open(&k, "saml", &t, b"c", 4096), Err(FormStateError));
    }

    #[test]
    fn the_mac_key_is_derived_not_the_keyring_key() {
        let k = keyring();
        let derived = mac_key(&k, k.current_id(), "saml").unwrap();
        assert_ne!(&derived[..], k.key(k.current_id()).unwrap().expose_bytes());
        assert_ne!(derived, mac_key(&k, k.current_id(), "other").unwrap());
    }

    #[test]
    fn fuzz_entry_point_survives_odd_inputs() {
        for d in [
            &b""[..],
            b"\xff",
            b"\x03abcdef",
            &[0u8; 300],
            b"\x10AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            fuzz_open(d);
        }
    }
}
