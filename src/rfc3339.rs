//! RFC 3339 timestamps in UTC, written straight into a `String` without `fmt` machinery
//! (<https://www.rfc-editor.org/rfc/rfc3339#section-5.6>).
//!
//! Two layouts are in use and both must stay byte-identical to chrono's:
//! - [`Fraction::Millis`]: what AWS writes in XML responses (`Expiration`, `CreateDate`):
//!   `2026-11-22T08:25:45.000Z`, chrono's `to_rfc3339_opts(SecondsFormat::Millis, true)`.
//! - [`Fraction::Auto`]: what chrono's serde writes for `DateTime<Utc>` (the audit line):
//!   no fraction, or 3, 6 or 9 digits, whichever is the shortest exact one
//!   (`SecondsFormat::AutoSi`).
//!
//! Years outside 0000..=9999 need a sign under ISO 8601; they never occur in practice and go
//! through chrono, which already gets them right.

use chrono::{DateTime, Datelike as _, SecondsFormat, Timelike as _, Utc};

/// How many sub-second digits to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fraction {
    /// Always `.mmm` (truncated, as chrono does).
    Millis,
    /// None when whole, else `.mmm`, `.uuuuuu` or `.nnnnnnnnn`.
    Auto,
}

/// The longest layout: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
const MAX_LEN: usize = 30;

/// Append `t` to `out`.
pub(crate) fn push(out: &mut String, t: DateTime<Utc>, fraction: Fraction) {
    // UTC already: read the fields off the naive value, not through an offset each time.
    let d = t.naive_utc();
    let year = match u32::try_from(d.year()) {
        Ok(y) if y <= 9999 => y,
        _ => {
            push_slow(out, t, fraction);
            return;
        }
    };
    let (mut sec, mut nano) = (d.second(), d.nanosecond());
    // A leap second is carried in the nanoseconds; chrono writes it as second 60.
    if nano >= 1_000_000_000 {
        sec += 1;
        nano -= 1_000_000_000;
    }
    let digits = match fraction {
        Fraction::Millis => 3,
        Fraction::Auto if nano == 0 => 0,
        Fraction::Auto if nano % 1_000_000 == 0 => 3,
        Fraction::Auto if nano % 1_000 == 0 => 6,
        Fraction::Auto => 9,
    };

    let mut b = *b"0000-00-00T00:00:00.000000000Z";
    b[0] = digit(year / 1000);
    b[1] = digit(year / 100);
    b[2] = digit(year / 10);
    b[3] = digit(year);
    [b[5], b[6]] = two(d.month());
    [b[8], b[9]] = two(d.day());
    [b[11], b[12]] = two(d.hour());
    [b[14], b[15]] = two(d.minute());
    [b[17], b[18]] = two(sec);
    let mut n = nano;
    for slot in b.iter_mut().skip(20).take(9).rev() {
        *slot = digit(n);
        n /= 10;
    }
    // Without a fraction the `Z` replaces the dot; with fewer than 9 digits it follows them.
    let len = if digits == 0 { 20 } else { 21 + digits };
    if let Some(z) = b.get_mut(len - 1) {
        *z = b'Z';
    }
    match b.get(..len).and_then(|s| std::str::from_utf8(s).ok()) {
        Some(s) => out.push_str(s),
        None => push_slow(out, t, fraction),
    }
}

/// `t` as a new string (see [`push`]).
pub(crate) fn format(t: DateTime<Utc>, fraction: Fraction) -> String {
    let mut out = String::with_capacity(MAX_LEN);
    push(&mut out, t, fraction);
    out
}

fn push_slow(out: &mut String, t: DateTime<Utc>, fraction: Fraction) {
    let form = match fraction {
        Fraction::Millis => SecondsFormat::Millis,
        Fraction::Auto => SecondsFormat::AutoSi,
    };
    out.push_str(&t.to_rfc3339_opts(form, true));
}

/// The last decimal digit of `n`.
fn digit(n: u32) -> u8 {
    b'0' + (n % 10) as u8
}

/// `n` (0..=99) as two digits.
fn two(n: u32) -> [u8; 2] {
    [digit(n / 10), digit(n)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use proptest::prelude::*;

    fn chrono_says(t: DateTime<Utc>, fraction: Fraction) -> String {
        let form = match fraction {
            Fraction::Millis => SecondsFormat::Millis,
            Fraction::Auto => SecondsFormat::AutoSi,
        };
        t.to_rfc3339_opts(form, true)
    }

    /// What chrono's serde writes for a `DateTime<Utc>`, quotes removed.
    fn serde_says(t: DateTime<Utc>) -> String {
        let s = serde_json::to_string(&t).unwrap();
        s.trim_matches('"').to_owned()
    }

    #[test]
    fn known_layouts() {
        let t = Utc.with_ymd_and_hms(2026, 11, 22, 8, 25, 45).unwrap();
        assert_eq!(format(t, Fraction::Millis), "2026-11-22T08:25:45.000Z");
        assert_eq!(format(t, Fraction::Auto), "2026-11-22T08:25:45Z");
        let t = t + chrono::Duration::nanoseconds(123_456_789);
        assert_eq!(format(t, Fraction::Millis), "2026-11-22T08:25:45.123Z");
        assert_eq!(format(t, Fraction::Auto), "2026-11-22T08:25:45.123456789Z");
    }

    #[test]
    fn edges_match_chrono() {
        let mut cases = vec![
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
            DateTime::<Utc>::UNIX_EPOCH,
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 12, 31, 23, 59, 59).unwrap(),
        ];
        // A leap second: chrono keeps it as nanoseconds >= 1e9.
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
            .unwrap()
            .and_utc();
        cases.push(leap);
        for t in cases {
            for f in [Fraction::Millis, Fraction::Auto] {
                assert_eq!(format(t, f), chrono_says(t, f), "{t:?} {f:?}");
            }
            assert_eq!(format(t, Fraction::Auto), serde_says(t), "{t:?}");
        }
    }

    /// Seconds and a fraction that is whole, or exact to ms, µs or ns.
    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        let secs = prop_oneof![
            // 1900..2200: where real timestamps live.
            -2_208_988_800i64..7_258_118_400i64,
            // Anywhere chrono can represent.
            DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp(),
        ];
        let nanos = prop_oneof![
            Just(0u32),
            (0u32..1000).prop_map(|ms| ms * 1_000_000),
            (0u32..1_000_000).prop_map(|us| us * 1000),
            0u32..1_000_000_000,
        ];
        (secs, nanos).prop_filter_map("representable", |(s, n)| {
            DateTime::<Utc>::from_timestamp(s, n)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        #[test]
        fn matches_chrono(t in instant()) {
            prop_assert_eq!(format(t, Fraction::Millis), chrono_says(t, Fraction::Millis));
            prop_assert_eq!(format(t, Fraction::Auto), chrono_says(t, Fraction::Auto));
            prop_assert_eq!(format(t, Fraction::Auto), serde_says(t));
        }
    }
}
