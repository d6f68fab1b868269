//! RFC 6238 TOTP for virtual MFA devices (HMAC-SHA1, 30-second steps, 6 digits), as used by
//! `CreateVirtualMFADevice`, `EnableMFADevice` and the `SerialNumber`/`TokenCode` parameters of
//! AssumeRole and GetSessionToken.
//! <https://www.rfc-editor.org/rfc/rfc6238> ·
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateVirtualMFADevice.html>
//!
//! Owns seeds, codes, verification windows and the `otpauth://` URI. It must never accept a code
//! twice: [`verify`] takes the last step used and returns the step matched, which the caller
//! persists (AWS: "TOTP codes are single-use per time window").

use chrono::{DateTime, Utc};
use ring::hmac;
use subtle::ConstantTimeEq;

use super::base32;
use super::{RandomError, Secret, fill_random};

/// Seed length in bytes (160 bits, RFC 4226's recommendation for HMAC-SHA1).
pub const SEED_LEN: usize = 20;
/// Time step in seconds (RFC 6238 X).
pub const STEP_SECONDS: u64 = 30;
/// Code length.
pub const DIGITS: u32 = 6;
/// Steps accepted either side of the current one (clock drift between phone and server).
pub const WINDOW: u64 = 1;

/// Why a TOTP code was refused. STS answers all of them with `AccessDenied`
/// "MultiFactorAuthentication failed with invalid MFA one time pass code."
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// Not exactly six ASCII digits.
    #[error("MFA code must be six digits")]
    Malformed,
    /// No step in the window produces this code.
    #[error("MFA code does not match")]
    Mismatch,
    /// The code matches a step that was already used (or an earlier one).
    #[error("MFA code was already used")]
    Replayed,
}

/// A new random seed.
pub fn generate_seed() -> Result<Secret, RandomError> {
    let mut raw = crate::wipe::Wiped::new(vec![0u8; SEED_LEN]);
    fill_random(&mut raw)?;
    Ok(Secret::from_bytes(std::mem::take(&mut *raw)))
}

/// The seed as RFC 4648 base32 without padding: `Base32StringSeed` of CreateVirtualMFADevice
/// (still secret, hence a [`Secret`]).
pub fn base32_seed(seed: &Secret) -> Secret {
    Secret::from(base32::encode(seed.expose_bytes()))
}

/// The 6-digit code for Unix time `unix_time`.
pub fn code_at(seed: &Secret, unix_time: u64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, seed.expose_bytes());
    format!(
        "{:0width$}",
        hotp(&key, unix_time / STEP_SECONDS, DIGITS),
        width = DIGITS as usize
    )
}

/// Check `code` at `now` against steps `T-1`, `T`, `T+1` (T = now / 30 s), refusing any step at
/// or before `last_used_step`. Returns the matched step, which the caller must store as the new
/// `last_used_step` before answering.
pub fn verify(
    seed: &Secret,
    code: &str,
    now: DateTime<Utc>,
    last_used_step: Option<u64>,
) -> Result<u64, TotpError> {
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TotpError::Malformed);
    }
    let presented: u32 = code.parse().map_err(|_| TotpError::Malformed)?;
    // Before 1970 no code is valid.
    let current = u64::try_from(now.timestamp()).map_err(|_| TotpError::Mismatch)? / STEP_SECONDS;
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, seed.expose_bytes());

    // Compute and compare every step in the window (no early exit), so timing does not say
    // which step matched.
    let mut best_fresh: Option<u64> = None;
    let mut matched_any = false;
    for step in current.saturating_sub(WINDOW)..=current.saturating_add(WINDOW) {
        let matches = bool::from(hotp(&key, step, DIGITS).ct_eq(&presented));
        if matches {
            matched_any = true;
            if last_used_step.is_none_or(|last| step > last) {
                best_fresh = Some(best_fresh.map_or(step, |b| b.max(step)));
            }
        }
    }
    match (best_fresh, matched_any) {
        (Some(step), _) => Ok(step),
        (None, true) => Err(TotpError::Replayed),
        (None, false) => Err(TotpError::Mismatch),
    }
}

/// The `otpauth://totp/...` key URI that authenticator apps read from the QR code
/// (Google Authenticator "Key Uri Format"): label `issuer:account_name`, then the base32 secret,
/// issuer, algorithm, digits and period. Contains the seed, hence a [`Secret`].
pub fn otpauth_uri(account_name: &str, issuer: &str, seed: &Secret) -> Secret {
    let b32 = base32_seed(seed);
    let issuer = percent_encode(issuer);
    Secret::from(format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        account = percent_encode(account_name),
        secret = b32.expose(),
    ))
}

/// RFC 4226 §5.3: HMAC, dynamic truncation, modulo 10^digits.
fn hotp(key: &hmac::Key, counter: u64, digits: u32) -> u32 {
    let tag = hmac::sign(key, &counter.to_be_bytes());
    let mac = tag.as_ref();
    let offset = usize::from(mac.last().map_or(0, |b| b & 0x0f));
    // offset <= 15 and HMAC-SHA1 output is 20 bytes, so four bytes are always there.
    let bin = mac
        .iter()
        .skip(offset)
        .take(4)
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b))
        & 0x7fff_ffff;
    bin % 10u32.pow(digits)
}

/// RFC 3986 percent-encoding of everything but unreserved characters and `@` (kept readable in
/// labels such as `alice@123456789012`, as the Key Uri Format examples do).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// RFC 6238 Appendix B seed for the SHA1 rows.
    fn rfc_seed() -> Secret {
        Secret::from("12345678901234567890")
    }

    /// RFC 6238 Appendix B, SHA1 rows: (time, 8-digit TOTP).
    const RFC6238_SHA1: [(u64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    fn at(unix: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(unix, 0).unwrap()
    }

    #[test]
    fn rfc6238_appendix_b_eight_digits() {
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, b"12345678901234567890");
        for (time, want) in RFC6238_SHA1 {
            assert_eq!(format!("{:08}", hotp(&key, time / 30, 8)), want, "T={time}");
        }
    }

    #[test]
    fn rfc6238_appendix_b_truncated_to_six_digits() {
        for (time, want) in RFC6238_SHA1 {
            assert_eq!(code_at(&rfc_seed(), time), want[2..], "T={time}");
        }
    }

    /// RFC 4226 Appendix D: HOTP values for counters 0..9 (same seed).
    #[test]
    fn rfc4226_appendix_d() {
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, b"12345678901234567890");
        let want = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, want) in want.iter().enumerate() {
            assert_eq!(format!("{:06}", hotp(&key, counter as u64, 6)), *want);
        }
    }

    #[test]
    fn verify_accepts_window_and_returns_step() {
        let seed = rfc_seed();
        let t = 1_234_567_890i64;
        let step = t as u64 / 30;
        let code = code_at(&seed, t as u64);
        assert_eq!(verify(&seed, &code, at(t), None), Ok(step));
        // One step of drift either way.
        assert_eq!(verify(&seed, &code, at(t + 30), None), Ok(step));
        assert_eq!(verify(&seed, &code, at(t - 30), None), Ok(step));
        // Two steps is too far.
        assert_eq!(
            verify(&seed, &code, at(t + 60), None),
            Err(TotpError::Mismatch)
        );
        assert_eq!(
            verify(&seed, &code, at(t - 60), None),
            Err(TotpError::Mismatch)
        );
    }

    #[test]
    fn verify_rejects_replay() {
        let seed = generate_seed().unwrap();
        let now = at(1_700_000_000);
        let code = code_at(&seed, 1_700_000_000);
        let used = verify(&seed, &code, now, None).unwrap();
        assert_eq!(
            verify(&seed, &code, now, Some(used)),
            Err(TotpError::Replayed)
        );
        assert_eq!(
            verify(
                &seed,
                &code,
                now + chrono::TimeDelta::seconds(30),
                Some(used)
            ),
            Err(TotpError::Replayed)
        );
        // The previous step's code, after the current one was used, is refused too.
        let previous = code_at(&seed, 1_700_000_000 - 30);
        if previous != code {
            assert_eq!(
                verify(&seed, &previous, now, Some(used)),
                Err(TotpError::Replayed)
            );
        }
        // The next window's code is fresh.
        let next = code_at(&seed, 1_700_000_000 + 30);
        assert_eq!(
            verify(
                &seed,
                &next,
                now + chrono::TimeDelta::seconds(30),
                Some(used)
            ),
            Ok(used + 1)
        );
    }

    #[test]
    fn verify_rejects_malformed_codes() {
        let seed = rfc_seed();
        let now = at(59);
        assert_eq!(verify(&seed, "287082", now, None), Ok(1));
        for bad in [
            "",
            "28708",
            "2870820",
            "28708a",
            " 287082",
            "287082 ",
            "+28708",
            "-28708",
            "２８７０８２",
            "28 082",
            "0x1234",
        ] {
            assert_eq!(
                verify(&seed, bad, now, None),
                Err(TotpError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn verify_wrong_code_and_wrong_seed() {
        let seed = generate_seed().unwrap();
        let other = generate_seed().unwrap();
        let now = at(1_800_000_000);
        let code = code_at(&seed, 1_800_000_000);
        assert!(verify(&seed, &code, now, None).is_ok());
        // Another seed: mismatch unless astronomically unlucky (3 steps x 1e-6).
        let window_codes: Vec<String> = (0..3)
            .map(|i| code_at(&other, 1_800_000_000 - 30 + i * 30))
            .collect();
        if !window_codes.contains(&code) {
            assert_eq!(verify(&other, &code, now, None), Err(TotpError::Mismatch));
        }
        assert_eq!(verify(&seed, &code, at(-1), None), Err(TotpError::Mismatch));
    }

    #[test]
    fn seeds_are_random_and_base32_encoded() {
        let a = generate_seed().unwrap();
        let b = generate_seed().unwrap();
        assert_eq!(a.len(), SEED_LEN);
        assert!(!a.ct_eq(&b));
        let b32 = base32_seed(&a);
        assert_eq!(b32.len(), 32, "20 bytes = 32 base32 characters, no padding");
        assert!(b32.expose().bytes().all(base32::is_base32_char));
        assert_eq!(base32::decode(b32.expose()).unwrap(), a.expose_bytes());
        assert_eq!(
            base32_seed(&rfc_seed()).expose(),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        assert!(!format!("{b32:?}").contains(b32.expose()));
    }

    #[test]
    fn otpauth_uri_format() {
        let uri = otpauth_uri("alice@123456789012", "Tessera Dev", &rfc_seed());
        assert_eq!(
            uri.expose(),
            "otpauth://totp/Tessera%20Dev:alice@123456789012?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Tessera%20Dev&algorithm=SHA1&digits=6&period=30"
        );
        let odd = otpauth_uri("a:b/c?d&e", "x&y=z", &rfc_seed());
        assert!(
            odd.expose()
                .starts_with("otpauth://totp/x%26y%3Dz:a%3Ab%2Fc%3Fd%26e?secret=")
        );
    }
}
