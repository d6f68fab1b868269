//! Console passwords (IAM login profiles): the rules a new password must meet, and how a
//! password is kept — an argon2id hash with a per-password random salt, never the password.
//!
//! Rules: the account's password policy (`UpdateAccountPasswordPolicy`), or without one IAM's
//! default policy (IAM User Guide, "Set an account password policy for IAM users": at least 8
//! characters and at least three of uppercase, lowercase, digits and the symbols
//! ``! @ # $ % ^ & * ( ) _ + - = [ ] { } | '``).
//! See <https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAccountPasswordPolicy.html>.
//!
//! Storage: `$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>` (the PHC string format,
//! base64 without padding), so stored hashes keep working when the parameters change.
//! Verification recomputes the hash with the stored salt and parameters and compares in constant
//! time. Hashing is deliberately slow and memory-hard: [`hash_off_thread`] and
//! [`matches_off_thread`] run it on the blocking pool, at most [`CONCURRENT_HASHES`] at once, so
//! that a burst of password calls neither stalls the async threads nor takes all the memory.
//!
//! What this module must never do: return, log or `Debug`-print a password, or compare hashes
//! with `==`.

use std::fmt;
use std::sync::LazyLock;

use base64::Engine as _;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{RandomError, fill_random};
use crate::wipe::Wiped;

/// argon2id parameters for new hashes: OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).
const M_COST_KIB: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

/// Bounds on parameters read back from storage: a damaged row must not make one verification
/// take gigabytes or minutes.
const MAX_M_COST_KIB: u32 = 256 * 1024;
const MAX_T_COST: u32 = 16;
const MAX_P_COST: u32 = 4;

/// Hashes computed at once (each holds `M_COST_KIB` of memory while it runs).
pub const CONCURRENT_HASHES: usize = 2;

static HASHING: LazyLock<tokio::sync::Semaphore> =
    LazyLock::new(|| tokio::sync::Semaphore::new(CONCURRENT_HASHES));

/// Hashing failed: the system RNG, or a parameter set argon2 refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the system random number generator failed")]
    Random,
    #[error("password hashing failed")]
    Hash,
}

impl From<RandomError> for PasswordError {
    fn from(_: RandomError) -> Self {
        PasswordError::Random
    }
}

/// A stored password hash (PHC string). Not the password, but still material for an offline
/// guessing attack: `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

impl PasswordHash {
    /// A hash as stored (not checked here: [`verify`] refuses what does not parse).
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// The PHC string, for storage only.
    pub fn as_stored(&self) -> &str {
        &self.0
    }
}

/// The parts of a PHC string this module writes.
#[derive(Debug, PartialEq, Eq)]
struct Parsed {
    m: u32,
    t: u32,
    p: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

/// Parse `$argon2id$v=19$m=..,t=..,p=..$salt$hash`, within the bounds above.
fn parse(s: &str) -> Option<Parsed> {
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let ["", "argon2id", "v=19", params, salt, hash] = crate::text::exactly(s.split('$'))? else {
        return None;
    };
    let mut it = params.split(',');
    let field = |part: Option<&str>, key: &str, max: u32| -> Option<u32> {
        let v: u32 = part?.strip_prefix(key)?.strip_prefix('=')?.parse().ok()?;
        (1..=max).contains(&v).then_some(v)
    };
    let m = field(it.next(), "m", MAX_M_COST_KIB)?;
    let t = field(it.next(), "t", MAX_T_COST)?;
    let p = field(it.next(), "p", MAX_P_COST)?;
    if it.next().is_some() || salt.len() > 64 || hash.len() > 128 {
        return None;
    }
    let salt = b64.decode(salt).ok()?;
    let hash = b64.decode(hash).ok()?;
    (salt.len() >= 8 && (16..=64).contains(&hash.len())).then_some(Parsed {
        m,
        t,
        p,
        salt,
        hash,
    })
}

fn argon2id(
    m: u32,
    t: u32,
    p: u32,
    out_len: usize,
) -> Result<argon2::Argon2<'static>, PasswordError> {
    let params = argon2::Params::new(m, t, p, Some(out_len)).map_err(|_| PasswordError::Hash)?;
    Ok(argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params,
    ))
}

/// Hash `password` with a fresh random salt. Slow by design: call it off the async threads
/// ([`hash_off_thread`]).
pub fn hash(password: &[u8]) -> Result<PasswordHash, PasswordError> {
    let mut salt = [0u8; SALT_LEN];
    fill_random(&mut salt)?;
    let mut out = Zeroizing::new([0u8; HASH_LEN]);
    argon2id(M_COST_KIB, T_COST, P_COST, HASH_LEN)?
        .hash_password_into(password, &salt, out.as_mut())
        .map_err(|_| PasswordError::Hash)?;
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    Ok(PasswordHash(format!(
        "$argon2id$v=19$m={M_COST_KIB},t={T_COST},p={P_COST}${}${}",
        b64.encode(salt),
        b64.encode(out.as_ref())
    )))
}

/// Whether `password` is the one `stored` was made from: the hash recomputed with the stored
/// salt and parameters, compared in constant time. A stored value that does not parse matches
/// nothing.
pub fn verify(password: &[u8], stored: &PasswordHash) -> bool {
    let Some(p) = parse(&stored.0) else {
        return false;
    };
    let Ok(a) = argon2id(p.m, p.t, p.p, p.hash.len()) else {
        return false;
    };
    let mut out = Wiped::new(vec![0u8; p.hash.len()]);
    if a.hash_password_into(password, &p.salt, &mut out).is_err() {
        return false;
    }
    bool::from(out.as_slice().ct_eq(&p.hash))
}

/// [`hash`] on the blocking pool, behind the hashing limit.
pub async fn hash_off_thread(password: Wiped<String>) -> Result<PasswordHash, PasswordError> {
    let _permit = HASHING.acquire().await.map_err(|_| PasswordError::Hash)?;
    tokio::task::spawn_blocking(move || hash(password.as_bytes()))
        .await
        .map_err(|_| PasswordError::Hash)?
}

/// The index of the first of `stored` that `password` matches, checked on the blocking pool
/// behind the hashing limit (one permit for the whole list: a reuse check is one request's
/// work). Every hash is computed, match or not, so the time does not say which one matched.
pub async fn matches_off_thread(
    password: Wiped<String>,
    stored: Vec<PasswordHash>,
) -> Result<Option<usize>, PasswordError> {
    let _permit = HASHING.acquire().await.map_err(|_| PasswordError::Hash)?;
    tokio::task::spawn_blocking(move || {
        let mut found = None;
        for (i, h) in stored.iter().enumerate() {
            if verify(password.as_bytes(), h) && found.is_none() {
                found = Some(i);
            }
        }
        found
    })
    .await
    .map_err(|_| PasswordError::Hash)
}

// --- rules -----------------------------------------------------------------------------------

/// The symbols IAM counts (`RequireSymbols`, and the default policy's fourth character type).
pub const SYMBOLS: &str = "!@#$%^&*()_+-=[]{}|'";

/// What a new password must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    /// No account password policy: IAM's default policy.
    Default,
    /// The account's policy.
    Policy {
        minimum_length: u32,
        require_symbols: bool,
        require_numbers: bool,
        require_uppercase: bool,
        require_lowercase: bool,
    },
}

/// The first rule a password breaks (for the server log; clients get AWS's one sentence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    TooShort(u32),
    NoSymbol,
    NoNumber,
    NoUppercase,
    NoLowercase,
    /// The default policy: fewer than three character types.
    TooFewCharacterTypes,
    /// One of the user's last passwords (`PasswordReusePrevention`).
    Reused,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::TooShort(n) => write!(f, "shorter than {n} characters"),
            Violation::NoSymbol => f.write_str("no symbol"),
            Violation::NoNumber => f.write_str("no digit"),
            Violation::NoUppercase => f.write_str("no uppercase letter"),
            Violation::NoLowercase => f.write_str("no lowercase letter"),
            Violation::TooFewCharacterTypes => {
                f.write_str("fewer than three character types (default policy)")
            }
            Violation::Reused => f.write_str("one of the user's previous passwords"),
        }
    }
}

impl Rules {
    /// Check `password` (any characters; lengths in characters). Pure: the reuse rule needs the
    /// stored hashes and is checked by the caller.
    pub fn check(&self, password: &str) -> Result<(), Violation> {
        let n = password.chars().count();
        let has_upper = password.chars().any(|c| c.is_ascii_uppercase());
        let has_lower = password.chars().any(|c| c.is_ascii_lowercase());
        let has_digit = password.chars().any(|c| c.is_ascii_digit());
        let has_symbol = password.chars().any(|c| SYMBOLS.contains(c));
        match *self {
            Rules::Default => {
                if n < 8 {
                    return Err(Violation::TooShort(8));
                }
                let types = [has_upper, has_lower, has_digit, has_symbol]
                    .iter()
                    .filter(|b| **b)
                    .count();
                if types < 3 {
                    return Err(Violation::TooFewCharacterTypes);
                }
            }
            Rules::Policy {
                minimum_length,
                require_symbols,
                require_numbers,
                require_uppercase,
                require_lowercase,
            } => {
                if u32::try_from(n).unwrap_or(u32::MAX) < minimum_length {
                    return Err(Violation::TooShort(minimum_length));
                }
                if require_symbols && !has_symbol {
                    return Err(Violation::NoSymbol);
                }
                if require_numbers && !has_digit {
                    return Err(Violation::NoNumber);
                }
                if require_uppercase && !has_upper {
                    return Err(Violation::NoUppercase);
                }
                if require_lowercase && !has_lower {
                    return Err(Violation::NoLowercase);
                }
            }
        }
        Ok(())
    }
}

/// Fuzz entry point (`fuzz/fuzz_targets/password.rs`): the bytes as a password under every
/// kind of rule, and as a stored hash. Must never panic. (No hashing: too slow for fuzzing,
/// and argon2's own input handling is not ours.)
#[cfg(any(fuzzing, test))]
pub fn fuzz_password(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = Rules::Default.check(&text);
    for flags in 0u8..32 {
        let rules = Rules::Policy {
            minimum_length: u32::from(flags) * 4,
            require_symbols: flags & 1 != 0,
            require_numbers: flags & 2 != 0,
            require_uppercase: flags & 4 != 0,
            require_lowercase: flags & 8 != 0,
        };
        let _ = rules.check(&text);
    }
    if let Some(p) = parse(&text) {
        assert!(p.m <= MAX_M_COST_KIB && p.t <= MAX_T_COST && p.p <= MAX_P_COST);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One hash per test run where possible: each takes real time and memory.
    fn sample() -> (&'static str, PasswordHash) {
        static H: LazyLock<PasswordHash> = LazyLock::new(|| {
            hash(b"Correct-Horse-9").unwrap_or_else(|_| PasswordHash(String::new()))
        });
        ("Correct-Horse-9", H.clone())
    }

    #[test]
    fn hash_verifies_and_hides_the_password() {
        let (pw, h) = sample();
        assert!(verify(pw.as_bytes(), &h));
        assert!(!verify(b"Correct-Horse-8", &h));
        assert!(!verify(b"", &h));
        let stored = h.as_stored();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(!stored.contains(pw));
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(pw);
        assert!(!stored.contains(&b64));
        assert_eq!(format!("{h:?}"), "PasswordHash(<redacted>)");
    }

    #[test]
    fn salts_differ_per_hash() {
        let (pw, h) = sample();
        let again = hash(pw.as_bytes()).unwrap();
        assert_ne!(h, again);
        assert!(verify(pw.as_bytes(), &again));
    }

    /// The comparison is `subtle`'s constant-time one: a hash that differs in its last byte
    /// and one that differs in its first are both refused, by the same code path.
    #[test]
    fn tampered_hashes_match_nothing() {
        let (pw, h) = sample();
        let p = parse(h.as_stored()).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
        for i in [0, p.hash.len() - 1] {
            let mut hash = p.hash.clone();
            hash[i] ^= 1;
            let s = format!(
                "$argon2id$v=19$m={},t={},p={}${}${}",
                p.m,
                p.t,
                p.p,
                b64.encode(&p.salt),
                b64.encode(&hash)
            );
            assert!(!verify(pw.as_bytes(), &PasswordHash(s)));
        }
    }

    #[test]
    fn unparsable_or_oversized_stored_values_match_nothing() {
        for s in [
            "",
            "$argon2id$",
            "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=4000000,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=19456,t=99,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=19456,t=2,p=1,x=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=19456,t=2,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA$extra",
            "$argon2id$v=19$m=0,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        ] {
            assert!(parse(s).is_none(), "{s}");
            assert!(!verify(b"x", &PasswordHash(s.to_owned())), "{s}");
        }
    }

    #[test]
    fn default_policy_needs_eight_and_three_types() {
        let cases: &[(&str, Result<(), Violation>)] = &[
            ("Abcdef1", Err(Violation::TooShort(8))),
            ("abcdefgh", Err(Violation::TooFewCharacterTypes)),
            ("abcdefg1", Err(Violation::TooFewCharacterTypes)),
            ("Abcdefg1", Ok(())),
            ("abcdefg1!", Ok(())),
            ("ABCDEF1!", Ok(())),
            // `.` and space are not among IAM's symbols.
            ("abcdefg. ", Err(Violation::TooFewCharacterTypes)),
            // Latin-1 letters count as characters, not as upper/lowercase.
            ("ÄÖÜäöüß1", Err(Violation::TooFewCharacterTypes)),
        ];
        for (pw, want) in cases {
            assert_eq!(Rules::Default.check(pw), *want, "{pw}");
        }
    }

    #[test]
    fn account_policy_rules_in_order() {
        let strict = Rules::Policy {
            minimum_length: 10,
            require_symbols: true,
            require_numbers: true,
            require_uppercase: true,
            require_lowercase: true,
        };
        let cases: &[(&str, Result<(), Violation>)] = &[
            ("Aa1!", Err(Violation::TooShort(10))),
            ("Aaaaaaaaa1", Err(Violation::NoSymbol)),
            ("Aaaaaaaaa!", Err(Violation::NoNumber)),
            ("aaaaaaaa1!", Err(Violation::NoUppercase)),
            ("AAAAAAAA1!", Err(Violation::NoLowercase)),
            ("Aaaaaaaa1'", Ok(())),
            ("Aaaaaaaa1|", Ok(())),
        ];
        for (pw, want) in cases {
            assert_eq!(strict.check(pw), *want, "{pw}");
        }
        let lax = Rules::Policy {
            minimum_length: 6,
            require_symbols: false,
            require_numbers: false,
            require_uppercase: false,
            require_lowercase: false,
        };
        assert_eq!(lax.check("aaaaaa"), Ok(()));
        assert_eq!(lax.check("\t\n\r   "), Ok(()));
        assert_eq!(lax.check("aaaaa"), Err(Violation::TooShort(6)));
    }

    #[tokio::test]
    async fn off_thread_hash_and_match() {
        let (pw, h) = sample();
        let other = hash_off_thread(Wiped::new("Other-Pass-1".to_owned()))
            .await
            .unwrap();
        let found = matches_off_thread(Wiped::new(pw.to_owned()), vec![other.clone(), h])
            .await
            .unwrap();
        assert_eq!(found, Some(1));
        let none = matches_off_thread(Wiped::new("nope".to_owned()), vec![other])
            .await
            .unwrap();
        assert_eq!(none, None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]
        /// Any password IAM accepts (1..128 of tab, LF, CR, U+0020..U+00FF): the stored form
        /// is never the password and never holds it; it verifies, a one-character change
        /// does not.
        #[test]
        fn stored_hash_never_holds_the_password(
            pw in "[\t\n\r\u{20}-\u{ff}]{1,128}",
        ) {
            let h = hash(pw.as_bytes()).unwrap();
            let stored = h.as_stored();
            proptest::prop_assert_ne!(stored, pw.as_str());
            if pw.chars().count() >= 8 {
                proptest::prop_assert!(!stored.contains(pw.as_str()));
            }
            proptest::prop_assert!(verify(pw.as_bytes(), &h));
            let mut other = pw.clone();
            other.push('x');
            proptest::prop_assert!(!verify(other.as_bytes(), &h));
        }
    }

    #[test]
    fn fuzz_entry_survives_odd_input() {
        for data in [
            &b""[..],
            b"\xff\xfe\x00",
            b"$argon2id$v=19$m=99999999999,t=2,p=1$$",
            b"$$$$$$$$$",
        ] {
            fuzz_password(data);
        }
    }
}
