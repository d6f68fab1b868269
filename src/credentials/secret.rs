//! [`Secret`]: a byte string that must never be printed, compared in variable time, or left in
//! freed memory. Secret access keys, keyring keys and TOTP seeds are all `Secret`s.
//!
//! What it must never do: implement `Display`, `Serialize` or a `Debug` that shows content.
//! Serialization is opt-in per field through the private `serde_text` module and is used only
//! for the claims that end up inside an encrypted session token.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::wipe::Wiped;

/// Secret bytes: redacted `Debug`, no `Display`, zeroized on drop, constant-time equality.
///
/// Text secrets (secret access keys, base32 seeds, `otpauth://` URIs) are built from `String`/
/// `&str` and read with [`Secret::expose`]; binary secrets (AEAD keys, raw TOTP seeds) are built
/// with [`Secret::from_bytes`] and read with [`Secret::expose_bytes`].
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret {
    bytes: Vec<u8>,
}

impl Secret {
    /// A binary secret. The vector is taken over as is (no copy left behind).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self { bytes }
    }

    /// The secret as text.
    ///
    /// Text secrets are always valid UTF-8 (they can only be built from `str`/`String`). A binary
    /// secret that is not UTF-8 exposes as `""` rather than panicking; read binary secrets with
    /// [`Secret::expose_bytes`].
    pub fn expose(&self) -> &str {
        std::str::from_utf8(&self.bytes).unwrap_or_default()
    }

    /// The secret's raw bytes.
    pub fn expose_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Length in bytes. Lengths of our secrets are public (fixed by format), so this leaks nothing.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Constant-time equality (time depends only on the lengths, never on the content).
    pub fn ct_eq(&self, other: &Secret) -> bool {
        self.ct_eq_bytes(&other.bytes)
    }

    /// Constant-time comparison against untrusted bytes, e.g. a value a client sent.
    pub fn ct_eq_bytes(&self, other: &[u8]) -> bool {
        bool::from(self.bytes.as_slice().ct_eq(other))
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Self {
        Self {
            bytes: text.into_bytes(),
        }
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Self {
        Self {
            bytes: text.as_bytes().to_vec(),
        }
    }
}

impl PartialEq for Secret {
    /// Constant time, so deriving `PartialEq` on a struct holding a `Secret` stays safe.
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other)
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not even the length: it would distinguish kinds of secrets in logs for no benefit.
        f.write_str("Secret(<redacted>)")
    }
}

/// `#[serde(with = "serde_text")]` for a text [`Secret`] field.
///
/// Only [`crate::credentials::SessionClaims`] uses it, and claims are serialized only into the
/// buffer that is encrypted in place into a session token.
pub(crate) mod serde_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Secret;

    pub(crate) fn serialize<S: Serializer>(secret: &Secret, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(secret.expose())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        // The String is moved, not copied, into the Secret, so the only plaintext copy is the
        // decrypted buffer, which the caller zeroizes.
        String::deserialize(d).map(Secret::from)
    }
}

/// A byte buffer for plaintext secrets that never lets `Vec` reallocate behind its back: when
/// full, it copies into a buffer at least twice as large and wipes the old one. Everything it
/// ever held is wiped, whatever size it grew to (serializers write into it through `io::Write`).
pub(crate) struct WipingBuf(Wiped<Vec<u8>>);

impl WipingBuf {
    pub(crate) fn with_capacity(capacity: usize) -> WipingBuf {
        WipingBuf(Wiped::new(Vec::with_capacity(capacity)))
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.0
    }

    #[cold]
    fn grow(&mut self, need: usize) {
        let mut bigger = Wiped::new(Vec::with_capacity(need.max(2 * self.0.capacity())));
        bigger.extend_from_slice(&self.0);
        // The old buffer is wiped as it is dropped here.
        self.0 = bigger;
    }
}

impl fmt::Debug for WipingBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WipingBuf(<{} bytes redacted>)", self.0.len())
    }
}

impl std::io::Write for WipingBuf {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let need = self.0.len().saturating_add(buf.len());
        if need > self.0.capacity() {
            self.grow(need);
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.write(buf).map(|_| ())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::from("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        let shown = format!("{s:?} {s:#?}");
        assert!(!shown.contains("wJalr"), "{shown}");
        assert!(shown.contains("redacted"));
        let b = Secret::from_bytes(vec![0x41; 32]);
        assert!(!format!("{b:?}").contains("AAAA"));
    }

    #[test]
    fn expose_text_and_bytes() {
        let s = Secret::from(String::from("abc"));
        assert_eq!(s.expose(), "abc");
        assert_eq!(s.expose_bytes(), b"abc");
        assert_eq!(s.len(), 3);
        assert!(!s.is_empty());
        let b = Secret::from_bytes(vec![0xff, 0xfe]);
        assert_eq!(b.expose(), "", "non-UTF-8 binary secret must not panic");
        assert_eq!(b.expose_bytes(), &[0xff, 0xfe]);
    }

    #[test]
    fn constant_time_equality() {
        let a = Secret::from("same");
        let b = a.clone();
        assert!(a.ct_eq(&b));
        assert_eq!(a, b);
        assert!(!a.ct_eq(&Secret::from("samf")));
        assert!(!a.ct_eq(&Secret::from("sam")));
        assert!(a.ct_eq_bytes(b"same"));
        assert!(!a.ct_eq_bytes(b"same "));
        assert!(Secret::from("").ct_eq_bytes(b""));
    }

    #[test]
    fn zeroize_clears_the_bytes() {
        let mut s = Secret::from("top secret");
        s.zeroize();
        assert!(s.is_empty());
    }

    #[test]
    fn wiping_buf_keeps_every_byte_across_growth() {
        use std::io::Write as _;
        let mut b = WipingBuf::with_capacity(4);
        let mut want = Vec::new();
        for i in 0..200u8 {
            let chunk = vec![i; usize::from(i % 7) + 1];
            b.write_all(&chunk).unwrap();
            want.extend_from_slice(&chunk);
        }
        assert_eq!(b.as_slice(), &want[..]);
    }
}
