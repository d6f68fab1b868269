//! [`Wiped`]: a `String` or `Vec<u8>` that clears its whole allocation when dropped. Its own
//! module, below both `credentials` and `sigv4`, which hold such buffers.

use std::fmt;
use std::ops::{Deref, DerefMut};

/// A `String` or `Vec<u8>` holding a secret (a bearer token, a SAML response, decrypted
/// claims), wiped when dropped: its whole allocation, spare capacity included, is cleared with one
/// `memset` the compiler may not remove. `zeroize::Zeroizing` does the same a byte at a time
/// through volatile stores, which for a kilobyte token was a measurable share of a request.
#[derive(Clone, Default)]
pub struct Wiped<T: Buffer>(T);

/// What [`Wiped`] can hold: a buffer that gives up its allocation as bytes.
pub trait Buffer: Default {
    fn into_bytes(self) -> Vec<u8>;
}

impl Buffer for Vec<u8> {
    fn into_bytes(self) -> Vec<u8> {
        self
    }
}

impl Buffer for String {
    fn into_bytes(self) -> Vec<u8> {
        String::into_bytes(self)
    }
}

impl<T: Buffer> Wiped<T> {
    pub fn new(buffer: T) -> Wiped<T> {
        Wiped(buffer)
    }
}

impl<T: Buffer> Deref for Wiped<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Buffer> DerefMut for Wiped<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: Buffer> Drop for Wiped<T> {
    fn drop(&mut self) {
        zero_all(&mut std::mem::take(&mut self.0).into_bytes());
    }
}

/// Compares contents as `Zeroizing` does (not in constant time: for tests and parsed-value
/// equality, never for checking a secret against a guess; [`crate::credentials::Secret::ct_eq`] does that).
impl<T: Buffer + PartialEq> PartialEq for Wiped<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<T: Buffer + Eq> Eq for Wiped<T> {}

impl<T: Buffer> fmt::Debug for Wiped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Wiped(<redacted>)")
    }
}

/// Zero every byte of `bytes`' allocation, spare capacity included (its length becomes its
/// capacity). The barrier makes the compiler assume the zeroes are read afterwards, so it
/// cannot drop the `memset` as a dead store before the buffer is freed.
fn zero_all(bytes: &mut Vec<u8>) {
    bytes.fill(0);
    bytes.resize(bytes.capacity(), 0);
    zeroize::optimization_barrier(bytes.as_slice());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wiped_buffers_keep_their_contents_and_hide_them_from_debug() {
        let mut t = Wiped::new(String::from("eyJhbGciOi.secret"));
        t.push_str(".sig");
        assert_eq!(t.as_str(), "eyJhbGciOi.secret.sig");
        assert!(!format!("{t:?}").contains("secret"));
        let b = Wiped::new(vec![7u8; 3]);
        assert_eq!(b.clone().as_slice(), &[7, 7, 7]);
    }

    #[test]
    fn zero_all_clears_the_whole_allocation() {
        let mut v = Vec::with_capacity(64);
        v.extend_from_slice(&[0xa5; 40]);
        let cap = v.capacity();
        zero_all(&mut v);
        assert_eq!(v.len(), cap);
        assert!(v.iter().all(|b| *b == 0));
    }
}
