//! RFC 4648 §6 base32 (alphabet `A-Z2-7`), without padding, as used by AWS identifiers and by
//! `Base32StringSeed` / `otpauth://` seeds. <https://www.rfc-editor.org/rfc/rfc4648#section-6>
//!
//! Decoding is strict and canonical: upper case only, no padding, no whitespace, and the unused
//! low bits of the last character must be zero, so each byte string has exactly one encoding.

pub(crate) const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The character for a 5-bit value (only the low 5 bits of `v` are used).
pub(crate) fn char_for(v: u8) -> char {
    ALPHABET
        .get(usize::from(v & 0x1f))
        .map_or('A', |&c| char::from(c))
}

fn value_of(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'2'..=b'7' => Some(c - b'2' + 26),
        _ => None,
    }
}

pub(crate) fn is_base32_char(c: u8) -> bool {
    value_of(c).is_some()
}

pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut acc: u16 = 0;
    let mut bits = 0u32;
    for &b in bytes {
        acc = (acc << 8) | u16::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char_for((acc >> bits) as u8));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char_for((acc << (5 - bits)) as u8));
    }
    out
}

pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut acc: u16 = 0;
    let mut bits = 0u32;
    for &c in text.as_bytes() {
        acc = (acc << 5) | u16::from(value_of(c)?);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    // Canonical: leftover bits must be fewer than 5 (else a whole character was superfluous) and
    // all zero.
    (bits < 5 && acc == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4648 §10 vectors, with the padding removed.
    #[test]
    fn rfc4648_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(encode(plain.as_bytes()), enc);
            assert_eq!(decode(enc).as_deref(), Some(plain.as_bytes()), "{enc}");
        }
    }

    #[test]
    fn decode_rejects_non_canonical() {
        assert_eq!(decode("MZ"), None, "non-zero trailing bits");
        assert_eq!(decode("my"), None, "lower case");
        assert_eq!(decode("MY======"), None, "padding");
        assert_eq!(decode("M"), None, "dangling character");
        assert_eq!(decode("MY1"), None, "digit outside alphabet");
    }

    #[test]
    fn round_trip_all_lengths() {
        let data: Vec<u8> = (0..=255u8).collect();
        for n in 0..40 {
            let chunk = &data[..n];
            assert_eq!(decode(&encode(chunk)).as_deref(), Some(chunk));
        }
    }
}
