//! Condition operators: names, value parsing and evaluation.
//!
//! Implements <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>
//! and the set operators of
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html>.
//!
//! Semantics, one place (each rule is a corpus case):
//! - values for one key are OR-ed; a *negated* operator is true when the request value matches
//!   *none* of the policy values (NOR);
//! - key absent: positive operator false, negated true, `…IfExists` true (IfExists wins over a
//!   set prefix too); `Null` tests absence;
//! - `ForAllValues:` true when every request value satisfies the operator, and when the key is
//!   absent or an empty list; `ForAnyValue:` true when some request value does, false when
//!   absent or empty;
//! - no prefix on a multi-valued request value: positive = some value matches, negated = no
//!   value matches; an empty list behaves like an absent key;
//! - a request value of the wrong type (e.g. `NumericEquals` on `abc`) matches no policy value;
//!   an unresolved policy variable makes that one policy value match nothing.

use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::context::{RequestContext, Scalar};
use super::pattern::{ArnPattern, Pattern};

/// A condition operator without its `IfExists` suffix or set prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

/// Every operator, in documentation order (tables and tests iterate it).
pub const OPERATORS: [Operator; 27] = {
    use Operator::*;
    [
        StringEquals,
        StringNotEquals,
        StringEqualsIgnoreCase,
        StringNotEqualsIgnoreCase,
        StringLike,
        StringNotLike,
        NumericEquals,
        NumericNotEquals,
        NumericLessThan,
        NumericLessThanEquals,
        NumericGreaterThan,
        NumericGreaterThanEquals,
        DateEquals,
        DateNotEquals,
        DateLessThan,
        DateLessThanEquals,
        DateGreaterThan,
        DateGreaterThanEquals,
        Bool,
        BinaryEquals,
        IpAddress,
        NotIpAddress,
        ArnEquals,
        ArnLike,
        ArnNotEquals,
        ArnNotLike,
        Null,
    ]
};

impl Operator {
    /// The operator's name as written in a policy (case-sensitive).
    pub fn name(self) -> &'static str {
        use Operator::*;
        match self {
            StringEquals => "StringEquals",
            StringNotEquals => "StringNotEquals",
            StringEqualsIgnoreCase => "StringEqualsIgnoreCase",
            StringNotEqualsIgnoreCase => "StringNotEqualsIgnoreCase",
            StringLike => "StringLike",
            StringNotLike => "StringNotLike",
            NumericEquals => "NumericEquals",
            NumericNotEquals => "NumericNotEquals",
            NumericLessThan => "NumericLessThan",
            NumericLessThanEquals => "NumericLessThanEquals",
            NumericGreaterThan => "NumericGreaterThan",
            NumericGreaterThanEquals => "NumericGreaterThanEquals",
            DateEquals => "DateEquals",
            DateNotEquals => "DateNotEquals",
            DateLessThan => "DateLessThan",
            DateLessThanEquals => "DateLessThanEquals",
            DateGreaterThan => "DateGreaterThan",
            DateGreaterThanEquals => "DateGreaterThanEquals",
            Bool => "Bool",
            BinaryEquals => "BinaryEquals",
            IpAddress => "IpAddress",
            NotIpAddress => "NotIpAddress",
            ArnEquals => "ArnEquals",
            ArnLike => "ArnLike",
            ArnNotEquals => "ArnNotEquals",
            ArnNotLike => "ArnNotLike",
            Null => "Null",
        }
    }

    /// Looks an operator up by its exact name.
    pub fn from_name(name: &str) -> Option<Self> {
        OPERATORS.into_iter().find(|op| op.name() == name)
    }

    /// Negated operators are true when the request value matches none of the values.
    pub fn is_negated(self) -> bool {
        use Operator::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
                | ArnNotEquals
                | ArnNotLike
        )
    }

    /// Whether values may contain policy variables (string and ARN operators only).
    pub(crate) fn allows_variables(self) -> bool {
        use Operator::*;
        matches!(
            self,
            StringEquals
                | StringNotEquals
                | StringEqualsIgnoreCase
                | StringNotEqualsIgnoreCase
                | StringLike
                | StringNotLike
                | ArnEquals
                | ArnLike
                | ArnNotEquals
                | ArnNotLike
        )
    }
}

/// `ForAnyValue:` / `ForAllValues:` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetQualifier {
    /// No prefix.
    Single,
    ForAnyValue,
    ForAllValues,
}

/// Numeric comparison kind shared by `Numeric*` and `Date*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn holds<T: PartialOrd>(self, request: &T, policy: &T) -> bool {
        match self {
            Cmp::Eq => request == policy,
            Cmp::Lt => request < policy,
            Cmp::Le => request <= policy,
            Cmp::Gt => request > policy,
            Cmp::Ge => request >= policy,
        }
    }
}

/// Pre-parsed condition values, by operator family.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Values {
    /// `String*`: patterns (wildcards only for Like), `fold` for IgnoreCase.
    Str {
        patterns: Vec<Pattern>,
        fold: bool,
    },
    Num {
        cmp: Cmp,
        values: Vec<f64>,
    },
    Date {
        cmp: Cmp,
        values: Vec<DateTime<Utc>>,
    },
    Bool(Vec<bool>),
    Binary(Vec<Vec<u8>>),
    Ip(Vec<Cidr>),
    Arn(Vec<ArnPattern>),
    /// `Null`: `true` = "key is absent".
    Null(Vec<bool>),
}

/// One compiled `"<Operator>": {"<key>": values}` entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    pub op: Operator,
    pub qualifier: SetQualifier,
    pub if_exists: bool,
    /// Lowercased context key.
    pub key: Box<str>,
    pub values: Values,
}

impl Condition {
    /// Evaluates against the request. `missing` is told about keys absent from the context.
    pub(crate) fn eval(&self, ctx: &RequestContext, missing: &mut dyn FnMut(&str)) -> bool {
        let value = ctx.get(&self.key).filter(|v| !v.items().is_empty());
        if let Values::Null(wants_absent) = &self.values {
            return wants_absent.iter().any(|w| *w == value.is_none());
        }
        let negated = self.op.is_negated();
        let Some(value) = value else {
            missing(&self.key);
            // Absent (or empty list): IfExists wins, then the set prefix, then negation.
            return self.if_exists
                || match self.qualifier {
                    SetQualifier::ForAllValues => true,
                    SetQualifier::ForAnyValue => false,
                    SetQualifier::Single => negated,
                };
        };
        // One request value against all policy values: OR for positive, NOR for negated.
        let one = |s: &Scalar| self.any_value_matches(s, ctx) != negated;
        let items = value.items();
        match self.qualifier {
            SetQualifier::ForAllValues => items.iter().all(one),
            SetQualifier::ForAnyValue => items.iter().any(one),
            // Multi-valued without a prefix: positive = any value matches; negated = the
            // positive form is false for every value.
            SetQualifier::Single if negated => items.iter().all(one),
            SetQualifier::Single => items.iter().any(one),
        }
    }

    /// The positive (un-negated) comparison of one request value with the policy values.
    fn any_value_matches(&self, s: &Scalar, ctx: &RequestContext) -> bool {
        match &self.values {
            Values::Str { patterns, fold } => {
                patterns.iter().any(|p| p.matches(&s.text, *fold, ctx))
            }
            Values::Num { cmp, values } => s
                .number()
                .is_some_and(|n| values.iter().any(|v| cmp.holds(&n, v))),
            Values::Date { cmp, values } => s
                .date()
                .is_some_and(|d| values.iter().any(|v| cmp.holds(&d, v))),
            Values::Bool(values) => s.boolean().is_some_and(|b| values.contains(&b)),
            Values::Binary(values) => s.bytes().is_some_and(|b| values.iter().any(|v| v == b)),
            Values::Ip(values) => s
                .ip()
                .is_some_and(|ip| values.iter().any(|c| c.contains(ip))),
            Values::Arn(values) => values.iter().any(|p| p.matches(&s.text, ctx)),
            Values::Null(_) => false,
        }
    }
}

// --- value parsing (shared by the policy parser and the request context) -------------------

/// Parses a decimal number: `[+-]digits[.digits]` or `[+-].digits`. No exponents, no
/// `NaN`/`inf` (which `f64::from_str` would accept).
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    // `5.` is accepted (Java-style parsers accept it); `.` and `` are not.
    if !digits(int) || !digits(frac) || (int.is_empty() && frac.is_empty()) {
        return None;
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Parses the date forms AWS accepts: ISO 8601 (`2020-01-01`, `2020-01-01T10:00Z`,
/// `2020-01-01T10:00:00Z`, fractional seconds, `±hh:mm` offsets, no zone = UTC, basic
/// `20200101T100000Z`) and epoch seconds (`1577836800`, optionally with a fraction).
pub(crate) fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
        if secs.is_empty() || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let secs: i64 = secs.parse().ok()?;
        let nanos: u32 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<9}").parse().ok()?
        };
        return DateTime::from_timestamp(secs, nanos);
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M%#z",
        "%Y%m%dT%H%M%S%#z",
        "%Y-%m-%dT%H:%M:%S%.f%#z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(s, fmt) {
            return Some(d.with_timezone(&Utc));
        }
    }
    let zulu = s.strip_suffix(['Z', 'z']).unwrap_or(s);
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y%m%dT%H%M%S"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(zulu, fmt) {
            return Some(d.and_utc());
        }
    }
    for fmt in ["%Y-%m-%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(zulu, fmt) {
            return d.and_hms_opt(0, 0, 0).map(|d| d.and_utc());
        }
    }
    None
}

/// `true`/`false`, case-insensitive.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// An IPv4 or IPv6 network (`10.0.0.0/8`, `2001:db8::/32`; a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p))
                if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) =>
            {
                (a, Some(p.parse::<u8>().ok()?))
            }
            Some(_) => return None,
            None => (s, None),
        };
        let net: IpAddr = addr.parse().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { net, prefix })
    }

    /// Whether `ip` is inside the network (host bits of the policy value are ignored).
    /// IPv4-mapped IPv6 request addresses match IPv4 networks.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        for (s, want) in [
            ("1", Some(1.0)),
            ("-1.5", Some(-1.5)),
            ("+.5", Some(0.5)),
            ("5.", Some(5.0)),
            ("1e3", None),
            ("NaN", None),
            ("", None),
            (".", None),
            ("1.2.3", None),
            ("-", None),
        ] {
            assert_eq!(parse_number(s), want, "{s}");
        }
    }

    #[test]
    fn dates() {
        let t = |s: &str| parse_date(s).map(|d| d.timestamp_millis());
        assert_eq!(t("2020-01-01"), Some(1_577_836_800_000));
        assert_eq!(t("2020-01-01T00:00:00Z"), Some(1_577_836_800_000));
        assert_eq!(t("2020-01-01T00:00Z"), Some(1_577_836_800_000));
        assert_eq!(t("2020-01-01T00:00:00"), Some(1_577_836_800_000));
        assert_eq!(t("2020-01-01T01:00:00+01:00"), Some(1_577_836_800_000));
        assert_eq!(t("2020-01-01T00:00:00.250Z"), Some(1_577_836_800_250));
        assert_eq!(t("20200101T000000Z"), Some(1_577_836_800_000));
        assert_eq!(t("1577836800"), Some(1_577_836_800_000));
        assert_eq!(t("1577836800.5"), Some(1_577_836_800_500));
        assert_eq!(t("2020-13-01"), None);
        assert_eq!(t("yesterday"), None);
        assert_eq!(t(""), None);
    }

    #[test]
    fn cidrs() {
        let c = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(c.contains("203.0.113.9".parse().unwrap()));
        assert!(!c.contains("203.0.114.9".parse().unwrap()));
        assert!(c.contains("::ffff:203.0.113.9".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(
            Cidr::parse("2001:db8::/32")
                .unwrap()
                .contains("2001:db8::1".parse().unwrap())
        );
        assert!(
            Cidr::parse("10.0.0.1")
                .unwrap()
                .contains("10.0.0.1".parse().unwrap())
        );
        for bad in [
            "10.0.0.0/33",
            "10.0.0/8",
            "x",
            "10.0.0.0/",
            "::/129",
            "1.2.3.4/-1",
        ] {
            assert!(Cidr::parse(bad).is_none(), "{bad}");
        }
    }
}
