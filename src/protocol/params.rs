//! AWS Query protocol parameters: `Action=...&Version=...&Name.member.N...` from a signed GET query
//! string or a POST form body.
//!
//! See <https://smithy.io/2.0/aws/protocols/aws-query-protocol.html>. Parameters are parsed once,
//! bounded, and duplicates are refused, so that what the handler sees is exactly what was signed.
//! Typed accessors produce AWS's `MissingParameter` / `ValidationError` messages.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::error::{ApiError, ApiResult};

/// Most parameters one request may carry (AWS accepts a 10 MB body; our actions need far fewer).
pub const MAX_PARAMS: usize = 1_000;
/// Longest parameter name we accept.
pub const MAX_NAME_LEN: usize = 256;

/// One name or value of a form, decoded as `form_urlencoded` decodes it: `+` is a space, `%XY`
/// with two hex digits is that byte, any other `%` stays, and the bytes are read as UTF-8 with
/// invalid sequences replaced. Text without `%` or `+` (nearly all: a web identity token is
/// kilobytes of it) is borrowed; otherwise the runs between escapes are copied whole, so a
/// base64 SAML response with its `%2B`s is not decoded byte by byte.
fn decode(b: &[u8]) -> Cow<'_, str> {
    let Some(first) = memchr::memchr2(b'%', b'+', b) else {
        // Valid UTF-8 (nearly always) is recognised faster than the lossy decoder walks it.
        return match std::str::from_utf8(b) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(b),
        };
    };
    let mut out = Vec::with_capacity(b.len());
    let mut rest = b;
    let mut next = Some(first);
    while let Some((run, tail)) = next.and_then(|i| rest.split_at_checked(i)) {
        out.extend_from_slice(run);
        rest = match tail {
            [b'+', tail @ ..] => {
                out.push(b' ');
                tail
            }
            [b'%', h, l, tail @ ..] if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                out.push((hex_value(*h) << 4) | hex_value(*l));
                tail
            }
            [c, tail @ ..] => {
                out.push(*c);
                tail
            }
            [] => tail,
        };
        next = memchr::memchr2(b'%', b'+', rest);
    }
    out.extend_from_slice(rest);
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// The value of one ASCII hex digit (callers check `is_ascii_hexdigit` first).
fn hex_value(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// `application/x-www-form-urlencoded` pairs, decoded exactly as `form_urlencoded::parse`
/// decodes them (see [`decode`]).
fn pairs(input: &[u8]) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    memchr::memchr_iter(b'&', input)
        .chain(std::iter::once(input.len()))
        .scan(0, |start, end| {
            let seq = input.get(*start..end);
            *start = end + 1;
            Some(seq)
        })
        .flatten()
        .filter(|seq| !seq.is_empty())
        .filter_map(|seq| {
            let (name, value) = match memchr::memchr(b'=', seq) {
                Some(i) => (seq.get(..i)?, seq.get(i + 1..)?),
                None => (seq, &b""[..]),
            };
            Some((decode(name), decode(value)))
        })
}

/// Query/form parameters of one request, keyed by exact (case-sensitive) name.
#[derive(Debug, Default, Clone)]
pub struct Params {
    map: BTreeMap<String, String>,
}

impl Params {
    /// Parse the query string and (for form POSTs) the body into one parameter set.
    ///
    /// A name that appears twice, in either part or across both, is refused: a second
    /// `Action` or `RoleArn` must never let parsing and signing see different values.
    /// `X-Amz-*` presigning parameters are kept (the SigV4 layer reads them from the raw query).
    pub fn parse(query: &[u8], form_body: Option<&[u8]>) -> ApiResult<Params> {
        let mut map = BTreeMap::new();
        for part in [Some(query), form_body].into_iter().flatten() {
            for (k, v) in pairs(part) {
                if k.is_empty() {
                    continue;
                }
                if k.len() > MAX_NAME_LEN {
                    return Err(ApiError::malformed_query("Parameter name too long."));
                }
                if map.len() >= MAX_PARAMS {
                    return Err(ApiError::malformed_query("Too many parameters."));
                }
                if map.contains_key(k.as_ref()) {
                    return Err(ApiError::malformed_query(format!(
                        "Duplicate parameter `{}`.",
                        sanitize(&k)
                    )));
                }
                map.insert(k.into_owned(), v.into_owned());
            }
        }
        Ok(Params { map })
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Params {
        Params {
            map: pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// A required parameter: `MissingParameter` when absent.
    pub fn required(&self, name: &str) -> ApiResult<&str> {
        self.get(name)
            .ok_or_else(|| ApiError::missing_parameter(name))
    }

    /// An optional integer parameter; a non-integer is a `ValidationError`.
    pub fn int(&self, name: &str) -> ApiResult<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.trim().parse::<i64>().map(Some).map_err(|_| {
                ApiError::validation(format!(
                    "1 validation error detected: Value '{}' at '{}' failed to satisfy constraint: Member must be a number",
                    sanitize(v),
                    member_name(name)
                ))
            }),
        }
    }

    /// An optional boolean parameter (`true`/`false`).
    pub fn bool(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(ApiError::validation(format!(
                "1 validation error detected: Value '{}' at '{}' failed to satisfy constraint: Member must be a boolean",
                sanitize(v),
                member_name(name)
            ))),
        }
    }

    /// `Prefix.member.1`, `Prefix.member.2`, ... in order. Numbering must be dense from 1.
    pub fn list(&self, prefix: &str) -> ApiResult<Vec<&str>> {
        let mut out = Vec::new();
        if !self.has_members(prefix) {
            return Ok(out);
        }
        for i in 1.. {
            match self.get(&format!("{prefix}.member.{i}")) {
                Some(v) => out.push(v),
                None => break,
            }
            if i > MAX_PARAMS {
                break;
            }
        }
        self.check_dense(prefix, out.len())?;
        Ok(out)
    }

    /// `Prefix.member.N.Field` structures, returned as one small map per member.
    pub fn struct_list(
        &self,
        prefix: &str,
        fields: &[&str],
    ) -> ApiResult<Vec<BTreeMap<String, String>>> {
        let mut out = Vec::new();
        if !self.has_members(prefix) {
            return Ok(out);
        }
        for i in 1..=MAX_PARAMS {
            let mut member = BTreeMap::new();
            for field in fields {
                if let Some(v) = self.get(&format!("{prefix}.member.{i}.{field}")) {
                    member.insert((*field).to_owned(), v.to_owned());
                }
            }
            if member.is_empty() {
                break;
            }
            out.push(member);
        }
        self.check_dense(prefix, out.len())?;
        Ok(out)
    }

    /// Whether any `Prefix.member.…` parameter was sent (most requests send none).
    fn has_members(&self, prefix: &str) -> bool {
        let mut head = String::with_capacity(prefix.len() + 8);
        head.push_str(prefix);
        head.push_str(".member.");
        self.map
            .range::<str, _>((
                std::ops::Bound::Included(head.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .next()
            .is_some_and(|(k, _)| k.starts_with(&head))
    }

    /// Refuse `Prefix.member.N` entries beyond the dense run (e.g. `.member.1` then `.member.3`):
    /// silently dropping them would ignore part of what the client asked.
    fn check_dense(&self, prefix: &str, dense: usize) -> ApiResult<()> {
        let head = format!("{prefix}.member.");
        for key in self
            .map
            .range(head.clone()..)
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(&head))
        {
            let rest = key.get(head.len()..).unwrap_or("");
            let n = rest.split('.').next().unwrap_or("");
            match n.parse::<usize>() {
                Ok(n) if n >= 1 && n <= dense => {}
                _ => {
                    return Err(ApiError::validation(format!(
                        "1 validation error detected: Value at '{}' failed to satisfy constraint: Member must be a list with members numbered from 1",
                        member_name(prefix)
                    )));
                }
            }
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// AWS names the member in validation messages in lowerCamel (`RoleSessionName` ->
/// `roleSessionName`, `Tags.member.1.Key` -> `tags.1.member.key`).
pub fn member_name(param: &str) -> String {
    let parts: Vec<&str> = param.split('.').collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(p) = parts.get(i) {
        if *p == "member" {
            // `X.member.N` -> `x.N.member`
            if let Some(n) = parts.get(i + 1) {
                out.push((*n).to_owned());
                out.push("member".to_owned());
                i += 2;
                continue;
            }
        }
        out.push(lower_first(p));
        i += 1;
    }
    out.join(".")
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Echo user input in messages without control characters, bounded in length.
pub fn sanitize(v: &str) -> String {
    let mut s: String = v.chars().filter(|c| !c.is_control()).take(256).collect();
    if v.chars().count() > 256 {
        s.push_str("...");
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Constraint checks with AWS's validation messages.

/// Collects constraint violations for one request: `N validation errors detected: a; b`.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<String>,
    /// The first rule broken beyond the constraints (a reserved prefix, a duplicate key, a
    /// policy that does not parse): reported only when every constraint holds.
    deferred: Option<ApiError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, param: &str, value: &str, constraint: &str) {
        self.errors.push(format!(
            "Value '{}' at '{}' failed to satisfy constraint: {constraint}",
            sanitize(value),
            member_name(param)
        ));
    }

    /// As [`Validator::length`] for a secret (a token, an assertion): the message does not
    /// repeat the value.
    pub fn sensitive_length(
        &mut self,
        param: &str,
        value: &str,
        min: usize,
        max: usize,
    ) -> &mut Self {
        let n = value.chars().count();
        let bound = if n < min {
            format!("Member must have length greater than or equal to {min}")
        } else if n > max {
            format!("Member must have length less than or equal to {max}")
        } else {
            return self;
        };
        self.errors.push(format!(
            "Value at '{}' failed to satisfy constraint: {bound}",
            member_name(param)
        ));
        self
    }

    /// Every character satisfies `ok`, reported without echoing the value (passwords).
    pub fn sensitive_pattern(
        &mut self,
        param: &str,
        value: &str,
        pattern: &str,
        ok: impl Fn(char) -> bool,
    ) -> &mut Self {
        if !value.chars().all(ok) {
            self.errors.push(format!(
                "Value at '{}' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}",
                member_name(param)
            ));
        }
        self
    }

    /// An integer within `min..=max`, reported without echoing the value (as IAM reports the
    /// password policy's numbers).
    pub fn quiet_range(&mut self, param: &str, value: i64, min: i64, max: i64) -> &mut Self {
        let bound = if value < min {
            format!("Member must have value greater than or equal to {min}")
        } else if value > max {
            format!("Member must have value less than or equal to {max}")
        } else {
            return self;
        };
        self.errors.push(format!(
            "Value at '{}' failed to satisfy constraint: {bound}",
            member_name(param)
        ));
        self
    }

    /// Length in characters within `min..=max`.
    pub fn length(&mut self, param: &str, value: &str, min: usize, max: usize) -> &mut Self {
        let n = value.chars().count();
        if n < min {
            self.push(
                param,
                value,
                &format!("Member must have length greater than or equal to {min}"),
            );
        } else if n > max {
            self.push(
                param,
                value,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
        self
    }

    /// Every character satisfies `ok`; `pattern` is the regex AWS prints.
    pub fn pattern(
        &mut self,
        param: &str,
        value: &str,
        pattern: &str,
        ok: impl Fn(char) -> bool,
    ) -> &mut Self {
        if !value.chars().all(ok) {
            self.push(
                param,
                value,
                &format!("Member must satisfy regular expression pattern: {pattern}"),
            );
        }
        self
    }

    /// A whole-value check with a custom constraint text.
    pub fn check(&mut self, param: &str, value: &str, ok: bool, constraint: &str) -> &mut Self {
        if !ok {
            self.push(param, value, constraint);
        }
        self
    }

    pub fn range(&mut self, param: &str, value: i64, min: i64, max: i64) -> &mut Self {
        if value < min {
            self.push(
                param,
                &value.to_string(),
                &format!("Member must have value greater than or equal to {min}"),
            );
        } else if value > max {
            self.push(
                param,
                &value.to_string(),
                &format!("Member must have value less than or equal to {max}"),
            );
        }
        self
    }

    pub fn count(&mut self, param: &str, n: usize, max: usize) -> &mut Self {
        if n > max {
            self.errors.push(format!(
                "Value at '{}' failed to satisfy constraint: Member must have length less than or equal to {max}",
                member_name(param)
            ));
        }
        self
    }

    /// Report `e` once every constraint holds (the first such error wins).
    pub fn defer(&mut self, e: ApiError) -> &mut Self {
        if self.deferred.is_none() {
            self.deferred = Some(e);
        }
        self
    }

    pub fn finish(&mut self) -> ApiResult<()> {
        match self.errors.len() {
            0 => match self.deferred.take() {
                Some(e) => Err(e),
                None => Ok(()),
            },
            n => {
                let noun = if n == 1 { "error" } else { "errors" };
                Err(ApiError::validation(format!(
                    "{n} validation {noun} detected: {}",
                    self.errors.join("; ")
                )))
            }
        }
    }
}

/// `[\w+=,.@-]*` — names of users, roles, sessions, policies.
pub fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}
pub const NAME_PATTERN: &str = r"[\w+=,.@-]+";

/// `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`
pub fn is_valid_path(p: &str) -> bool {
    p == "/"
        || (p.len() >= 2
            && p.starts_with('/')
            && p.ends_with('/')
            && p.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c)))
}
pub const PATH_PATTERN: &str = r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)";

/// Policy document characters: `[\u0009\u000A\u000D\u0020-\u00FF]+`.
pub fn is_policy_char(c: char) -> bool {
    matches!(c, '\u{09}' | '\u{0A}' | '\u{0D}' | '\u{20}'..='\u{FF}')
}
pub const POLICY_PATTERN: &str = r"[\u0009\u000A\u000D\u0020-\u00FF]+";

/// Tag keys `[\p{L}\p{Z}\p{N}_.:/=+\-@]+` (values the same, may be empty).
pub fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)
}
pub const TAG_PATTERN: &str = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+";
pub const TAG_VALUE_PATTERN: &str = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*";

/// ARN-ish parameter characters (`arnType`).
pub fn is_arn_char(c: char) -> bool {
    matches!(c, '\u{09}' | '\u{0A}' | '\u{0D}' | '\u{20}'..='\u{7E}' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}
pub const ARN_PATTERN: &str =
    r"[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+";

#[cfg(any(fuzzing, test))]
/// Fuzz entry point (`fuzz/fuzz_targets/query_params.rs`): split the bytes into a query and a
/// form body, parse, and exercise every accessor. Must never panic.
pub fn fuzz_params(data: &[u8]) {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (query, rest) = data.split_at(split);
    let body = rest.get(1..);
    if let Ok(p) = Params::parse(query, body) {
        let _ = p.required("Action");
        let _ = p.int("DurationSeconds");
        let _ = p.bool("SetAsDefault");
        let _ = p.list("TransitiveTagKeys");
        let _ = p.struct_list("Tags", &["Key", "Value"]);
        let _ = p.struct_list("PolicyArns", &["arn"]);
        for (k, v) in &p.map {
            let mut val = Validator::new();
            val.length(k, v, 1, 64)
                .pattern(k, v, NAME_PATTERN, is_name_char);
            let _ = val.finish();
            let _ = member_name(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn fuzz_entry_never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            fuzz_params(&data);
        }

        #[test]
        fn fuzz_entry_on_query_like_text(s in "[A-Za-z0-9.=&%+]{0,200}") {
            fuzz_params(s.as_bytes());
        }

        /// The borrowing fast path decodes exactly as `form_urlencoded` does.
        #[test]
        fn pairs_decode_as_form_urlencoded(data in proptest::collection::vec(
            proptest::sample::select(b"ab=&%+2FcE9\xff\xc3\xa9 .-_".to_vec()), 0..64)) {
            let ours: Vec<(String, String)> =
                pairs(&data).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            let theirs: Vec<(String, String)> = form_urlencoded::parse(&data)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            proptest::prop_assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn duplicates_are_refused_across_query_and_body() {
        assert!(Params::parse(b"Action=A&Action=B", None).is_err());
        assert!(Params::parse(b"Action=A", Some(b"Action=A")).is_err());
        let p = Params::parse(b"", Some(b"Action=GetCallerIdentity&Version=2011-06-15")).unwrap();
        assert_eq!(p.get("Action"), Some("GetCallerIdentity"));
    }

    #[test]
    fn member_names_follow_aws() {
        assert_eq!(member_name("RoleSessionName"), "roleSessionName");
        assert_eq!(member_name("Tags.member.1.Key"), "tags.1.member.key");
    }

    #[test]
    fn lists_must_be_dense() {
        let p = Params::parse(b"L.member.1=a&L.member.2=b", None).unwrap();
        assert_eq!(p.list("L").unwrap(), vec!["a", "b"]);
        let p = Params::parse(b"L.member.1=a&L.member.3=c", None).unwrap();
        assert!(p.list("L").is_err());
        let p = Params::parse(b"T.member.1.Key=k&T.member.1.Value=v", None).unwrap();
        let s = p.struct_list("T", &["Key", "Value"]).unwrap();
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn validation_messages() {
        let e = Validator::new()
            .length("RoleSessionName", &"x".repeat(65), 2, 64)
            .finish()
            .unwrap_err();
        assert_eq!(
            e.message,
            format!(
                "1 validation error detected: Value '{}' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64",
                "x".repeat(65)
            )
        );
    }
}
