//! Phase one: find the SigV4 auth in a request and parse it into an [`Authorization`].
//!
//! Only structure is checked here (algorithm, required components, the 5-part credential,
//! hex signature, date syntax): enough to hand the caller an access key id to look up. Scope,
//! signed-header, time and signature rules are [`verify`](super::verify)'s, because AWS reports
//! them after it has read the credential. Header form:
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-add-signature-to-request.html>;
//! query form: <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

use super::RequestParts;
use super::canonical::percent_decode;
use super::error::{SigV4Error, sanitize};
use crate::wipe::Wiped;

/// The only algorithm accepted (SigV4a `AWS4-ECDSA-P256-SHA256` is not supported).
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Longest `Authorization` header value looked at. botocore's for STS is ~200 bytes; 64 signed
/// headers of 40 bytes still fit.
pub const MAX_AUTHORIZATION_LEN: usize = 4096;
/// Longest `Credential`: AKIDs are at most 128 chars, region and service are short.
pub const MAX_CREDENTIAL_LEN: usize = 256;
/// Most names in `SignedHeaders`.
pub const MAX_SIGNED_HEADERS: usize = 64;
/// Longest security token accepted. AWS's are 400-2000 chars and documented as unbounded;
/// tessera's own sealed tokens are far below this.
pub const MAX_SECURITY_TOKEN_LEN: usize = 16 * 1024;
/// Longest date header value parsed (RFC 1123 dates are 29 bytes).
const MAX_DATE_LEN: usize = 64;

/// Query parameters of presigned (query-string) auth.
pub(crate) const P_ALGORITHM: &str = "X-Amz-Algorithm";
pub(crate) const P_CREDENTIAL: &str = "X-Amz-Credential";
pub(crate) const P_DATE: &str = "X-Amz-Date";
pub(crate) const P_EXPIRES: &str = "X-Amz-Expires";
pub(crate) const P_SIGNED_HEADERS: &str = "X-Amz-SignedHeaders";
pub(crate) const P_SIGNATURE: &str = "X-Amz-Signature";
pub(crate) const P_SECURITY_TOKEN: &str = "X-Amz-Security-Token";

/// Where the signature was carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthForm {
    /// `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`
    Header,
    /// `?X-Amz-Algorithm=…&X-Amz-Credential=…&…&X-Amz-Signature=…` (presigned URL)
    Presigned,
}

/// Which header supplied the request time (header form; presigned always uses the query).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateSource {
    XAmzDate,
    Date,
    /// The `X-Amz-Date` query parameter of a presigned request.
    Query,
}

/// `<CredentialScope>` as the client wrote it: `date/region/service/terminator`, kept as that one
/// string with the ends of its first three parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    text: String,
    /// INVARIANT: `ends[0] < ends[1] < ends[2] <= text.len()`, each the index of a `/` that
    /// `new` put there (so every slice below falls on character boundaries).
    ends: [usize; 3],
}

impl Scope {
    pub fn new(date: &str, region: &str, service: &str, terminator: &str) -> Self {
        let mut text =
            String::with_capacity(date.len() + region.len() + service.len() + terminator.len() + 3);
        let mut ends = [0; 3];
        for (end, part) in ends.iter_mut().zip([date, region, service]) {
            text.push_str(part);
            *end = text.len();
            text.push('/');
        }
        text.push_str(terminator);
        Self { text, ends }
    }
    fn part(&self, i: usize) -> &str {
        let start = match i {
            0 => 0,
            _ => self.ends.get(i - 1).map_or(self.text.len(), |e| e + 1),
        };
        let end = self.ends.get(i).copied().unwrap_or(self.text.len());
        self.text.get(start..end).unwrap_or("")
    }
    /// `YYYYMMDD` as written (not yet checked against the request date).
    pub fn date(&self) -> &str {
        self.part(0)
    }
    pub fn region(&self) -> &str {
        self.part(1)
    }
    pub fn service(&self) -> &str {
        self.part(2)
    }
    pub fn terminator(&self) -> &str {
        self.part(3)
    }
    /// Append `date/region/service/terminator` (the `Display` form) without formatting.
    pub(crate) fn push_to(&self, out: &mut String) {
        out.push_str(&self.text);
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// `SignedHeaders` as the client wrote it, once checked: 1..=`MAX_SIGNED_HEADERS` names,
/// lowercase, strictly ascending, separated by `;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders(String);

impl SignedHeaders {
    /// The names, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + Clone {
        crate::text::split_ascii(&self.0, b';')
    }
    /// The list as signed (`a;b;c`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The session token the request carried (`X-Amz-Security-Token`), opaque here.
///
/// A bearer credential: redacted `Debug`, read only through `expose()`. A token sent as a
/// header (every SDK's way) is borrowed from the request, whose own buffers hold it anyway:
/// copying and then wiping ~700 bytes cost about 2% of a GetCallerIdentity.
/// One decoded from a presigned URL's query is ours, and wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub enum SecurityToken<'a> {
    Borrowed(&'a str),
    Owned(Wiped<String>),
}

impl SecurityToken<'_> {
    pub fn expose(&self) -> &str {
        match self {
            SecurityToken::Borrowed(t) => t,
            SecurityToken::Owned(t) => t,
        }
    }
}

impl std::fmt::Debug for SecurityToken<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SecurityToken(** redacted, {} bytes **)",
            self.expose().len()
        )
    }
}

/// A parsed SigV4 authorization. Its existence proves only that the request is well-formed;
/// nothing in it is trusted until [`verify`](super::verify) succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    pub(crate) form: AuthForm,
    pub(crate) access_key_id: String,
    pub(crate) scope: Scope,
    pub(crate) signed_headers: SignedHeaders,
    pub(crate) signature: [u8; 32],
    pub(crate) time: DateTime<Utc>,
    pub(crate) date_source: DateSource,
    /// `X-Amz-Expires` as written; range-checked by `verify` in AWS's order.
    pub(crate) expires: Option<String>,
    pub(crate) security_token: Option<SecurityToken<'a>>,
}

impl Authorization<'_> {
    /// The same, holding its own copy of the token (tests keep parses past the request).
    #[cfg(test)]
    pub(crate) fn into_owned(self) -> Authorization<'static> {
        Authorization {
            security_token: self
                .security_token
                .map(|t| SecurityToken::Owned(Wiped::new(t.expose().to_owned()))),
            form: self.form,
            access_key_id: self.access_key_id,
            scope: self.scope,
            signed_headers: self.signed_headers,
            signature: self.signature,
            time: self.time,
            date_source: self.date_source,
            expires: self.expires,
        }
    }
}

impl<'a> Authorization<'a> {
    pub fn form(&self) -> AuthForm {
        self.form
    }
    /// The key to look the secret up by. Case-sensitive; never echo it in an error.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
    pub fn signed_headers(&self) -> &SignedHeaders {
        &self.signed_headers
    }
    /// The signature the client sent (decoded from 64 lowercase hex digits).
    pub fn signature(&self) -> &[u8; 32] {
        &self.signature
    }
    /// The request time (`X-Amz-Date`, or the `Date` header).
    pub fn time(&self) -> DateTime<Utc> {
        self.time
    }
    /// `<RequestDateTime>`: the request time in ISO-8601 basic format, `YYYYMMDDTHHMMSSZ`.
    pub fn amz_date(&self) -> String {
        AmzDate::of(self.time).as_str().to_owned()
    }
    pub fn date_source(&self) -> DateSource {
        self.date_source
    }
    /// `X-Amz-Expires` exactly as sent (presigned form only).
    pub fn presigned_expires(&self) -> Option<&str> {
        self.expires.as_deref()
    }
    /// The `X-Amz-Security-Token` header or query parameter, if any. The caller must check that
    /// it binds this access key id (temporary `ASIA` keys require one).
    pub fn security_token(&self) -> Option<&SecurityToken<'a>> {
        self.security_token.as_ref()
    }
}

/// `<RequestDateTime>` (`YYYYMMDDTHHMMSSZ`, chrono's `%Y%m%dT%H%M%SZ`) without allocating.
///
/// Years 0..=9999 (every date `parse_iso_basic` accepts) are written by hand into a stack
/// array; any other year (only an RFC 1123 `Date` could carry one) goes through chrono, whose
/// `%Y` then adds a sign or digits, so the two always agree.
pub(crate) enum AmzDate {
    Basic([u8; 16]),
    Other(String),
}

impl AmzDate {
    pub(crate) fn of(t: DateTime<Utc>) -> Self {
        let fields = (
            u32::try_from(t.year()).ok().filter(|y| *y <= 9999),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
        );
        let (Some(year), month, day, hour, minute, second) = fields else {
            return Self::Other(t.format("%Y%m%dT%H%M%SZ").to_string());
        };
        let mut out = *b"00000000T000000Z";
        let digits = [
            (0..4, year),
            (4..6, month),
            (6..8, day),
            (9..11, hour),
            (11..13, minute),
            (13..15, second),
        ];
        for (range, mut n) in digits {
            for slot in out.get_mut(range).into_iter().flatten().rev() {
                *slot = b'0' + u8::try_from(n % 10).unwrap_or(0);
                n /= 10;
            }
        }
        Self::Basic(out)
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            // Only ASCII digits, `T` and `Z` are ever written.
            Self::Basic(b) => std::str::from_utf8(b).unwrap_or_default(),
            Self::Other(s) => s,
        }
    }

    /// `YYYYMMDD`: what the credential scope's date must equal.
    pub(crate) fn date(&self) -> &str {
        let s = self.as_str();
        crate::text::split_once_ascii(s, b'T').map_or(s, |(date, _)| date)
    }
}

/// Find and parse the request's SigV4 auth.
///
/// `Ok(None)`: no auth at all (no `Authorization` header, no `X-Amz-Algorithm` /
/// `X-Amz-Credential` / `X-Amz-Signature` query parameter); the caller answers
/// `MissingAuthenticationToken` for a signed action and proceeds for WI/SAML.
/// Both forms at once are refused: which one to believe would be our guess.
pub fn parse<'a>(req: &RequestParts<'a>) -> Result<Option<Authorization<'a>>, SigV4Error> {
    let header = single_header(req, "authorization")?;
    let query = QueryAuth::scan(req.query)?;
    match (header, query.is_presigned()) {
        (None, false) => Ok(None),
        (Some(_), true) => Err(SigV4Error::incomplete(
            // S3's wording; STS's is unverified.
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        )),
        (Some(value), false) => parse_header_form(value, req, query).map(Some),
        (None, true) => parse_query_form(req, query).map(Some),
    }
}

/// The header form: `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
fn parse_header_form<'a>(
    value: &[u8],
    req: &RequestParts<'a>,
    query: QueryAuth,
) -> Result<Authorization<'a>, SigV4Error> {
    // Bound before any work: the value is attacker-sized.
    if value.len() > MAX_AUTHORIZATION_LEN {
        return Err(SigV4Error::not_conform());
    }
    let value = std::str::from_utf8(value).map_err(|_| SigV4Error::not_conform())?;
    let (algorithm, rest) = crate::text::split_once_ascii(value, b' ').unwrap_or((value, ""));
    check_algorithm(algorithm)?;

    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    // botocore and aws-sigv4 separate with ", "; some signers use "," alone.
    for part in crate::text::split_ascii(rest, b',') {
        let part = part.trim_matches(' ');
        if part.is_empty() {
            // A bare algorithm gets AWS's "requires 'Credential'…" message below.
            continue;
        }
        let (name, v) =
            crate::text::split_once_ascii(part, b'=').ok_or_else(SigV4Error::not_conform)?;
        let slot = match name {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return Err(SigV4Error::not_conform()),
        };
        // A repeated component would leave us choosing which one the client meant.
        if slot.replace(v).is_some() {
            return Err(SigV4Error::not_conform());
        }
    }

    let (time, date_source) = header_time(req)?;
    // AWS lists every missing piece in one message.
    let mut missing = Vec::new();
    for (present, what) in [
        (
            credential.is_some(),
            "Authorization header requires 'Credential' parameter.",
        ),
        (
            signature.is_some(),
            "Authorization header requires 'Signature' parameter.",
        ),
        (
            signed_headers.is_some(),
            "Authorization header requires 'SignedHeaders' parameter.",
        ),
        (
            time.is_some(),
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ),
    ] {
        if !present {
            missing.push(what);
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature), Some(time)) =
        (credential, signed_headers, signature, time)
    else {
        return Err(SigV4Error::incomplete(missing.join(" ")));
    };

    let (access_key_id, scope) = parse_credential(credential)?;
    let signed_headers = parse_signed_headers(signed_headers)?;
    let signature = parse_signature(signature)?;

    let security_token = security_token(req, query.security_token)?;

    Ok(Authorization {
        form: AuthForm::Header,
        access_key_id,
        scope,
        signed_headers,
        signature,
        time,
        date_source,
        expires: None,
        security_token,
    })
}

/// The query form (presigned URL).
fn parse_query_form<'a>(
    req: &RequestParts<'a>,
    q: QueryAuth,
) -> Result<Authorization<'a>, SigV4Error> {
    let missing = |name: &str| {
        SigV4Error::incomplete(format!(
            "AWS query-string parameters must include '{name}'. Re-examine the query-string parameters."
        ))
    };
    let algorithm = q.algorithm.ok_or_else(|| missing(P_ALGORITHM))?;
    check_algorithm(&algorithm)?;
    let credential = q.credential.ok_or_else(|| missing(P_CREDENTIAL))?;
    let date = q.date.ok_or_else(|| missing(P_DATE))?;
    let expires = q.expires.ok_or_else(|| missing(P_EXPIRES))?;
    let signed_headers = q.signed_headers.ok_or_else(|| missing(P_SIGNED_HEADERS))?;
    let signature = q.signature.ok_or_else(|| missing(P_SIGNATURE))?;

    let (access_key_id, scope) = parse_credential(&credential)?;
    let signed_headers = parse_signed_headers(&signed_headers)?;
    let signature = parse_signature(&signature)?;
    let time = parse_iso_basic(&date).ok_or_else(|| bad_date(&date))?;

    let security_token = security_token(req, q.security_token)?;

    Ok(Authorization {
        form: AuthForm::Presigned,
        access_key_id,
        scope,
        signed_headers,
        signature,
        time,
        date_source: DateSource::Query,
        expires: Some(expires),
        security_token,
    })
}

fn check_algorithm(algorithm: &str) -> Result<(), SigV4Error> {
    if algorithm == ALGORITHM {
        Ok(())
    } else {
        Err(SigV4Error::incomplete(format!(
            "Unsupported AWS 'algorithm': '{}'",
            sanitize(algorithm)
        )))
    }
}

/// `Credential=AKID/YYYYMMDD/region/service/aws4_request`: exactly five parts, non-empty key.
fn parse_credential(credential: &str) -> Result<(String, Scope), SigV4Error> {
    if credential.len() > MAX_CREDENTIAL_LEN {
        return Err(SigV4Error::not_conform());
    }
    let Some([key, date, region, service, terminator]) =
        crate::text::exactly(crate::text::split_ascii(credential, b'/'))
    else {
        return Err(SigV4Error::incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{}'",
            sanitize(credential)
        )));
    };
    if key.is_empty() {
        return Err(SigV4Error::not_conform());
    }
    Ok((
        key.to_owned(),
        Scope::new(date, region, service, terminator),
    ))
}

/// `SignedHeaders=content-type;host;x-amz-date`. Every signer we know emits lowercase names in
/// ascending order without repeats (the spec's form); anything else is refused rather than
/// guessed at, since the list is itself part of the canonical request.
fn parse_signed_headers(list: &str) -> Result<SignedHeaders, SigV4Error> {
    let mut prev: Option<&str> = None;
    for (i, name) in crate::text::split_ascii(list, b';').enumerate() {
        if i >= MAX_SIGNED_HEADERS {
            return Err(SigV4Error::not_conform());
        }
        let valid = !name.is_empty()
            && name.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&b)
            });
        let ascending = prev.is_none_or(|prev| prev < name);
        if !valid || !ascending {
            return Err(SigV4Error::not_conform());
        }
        prev = Some(name);
    }
    Ok(SignedHeaders(list.to_owned()))
}

/// `Signature=` 64 lowercase hex digits.
fn parse_signature(hex: &str) -> Result<[u8; 32], SigV4Error> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return Err(SigV4Error::not_conform());
    }
    let mut out = [0u8; 32];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let (Some(hi), Some(lo)) = (
            pair.first().copied().and_then(lower_hex_value),
            pair.get(1).copied().and_then(lower_hex_value),
        ) else {
            return Err(SigV4Error::not_conform());
        };
        *slot = (hi << 4) | lo;
    }
    Ok(out)
}

fn lower_hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// The session token, sent as a header or (rarely) as a signed query parameter; never both.
fn security_token<'a>(
    req: &RequestParts<'a>,
    from_query: Option<String>,
) -> Result<Option<SecurityToken<'a>>, SigV4Error> {
    let token = match (single_header(req, "x-amz-security-token")?, from_query) {
        (Some(_), Some(_)) => return Err(SigV4Error::not_conform()),
        (Some(raw), None) if raw.len() <= MAX_SECURITY_TOKEN_LEN => {
            let t = std::str::from_utf8(raw).map_err(|_| SigV4Error::not_conform())?;
            SecurityToken::Borrowed(t)
        }
        (Some(_), None) => return Err(SigV4Error::not_conform()),
        (None, Some(t)) => SecurityToken::Owned(Wiped::new(t)),
        (None, None) => return Ok(None),
    };
    if token.expose().len() > MAX_SECURITY_TOKEN_LEN {
        return Err(SigV4Error::not_conform());
    }
    Ok(Some(token))
}

/// The request time of the header form: `X-Amz-Date` if present (then `Date` is ignored, as
/// AWS does), else `Date` (RFC 1123, or ISO-8601 basic). `Ok(None)` when neither is present.
fn header_time(req: &RequestParts<'_>) -> Result<(Option<DateTime<Utc>>, DateSource), SigV4Error> {
    let (raw, source) = match single_header(req, "x-amz-date")? {
        Some(v) => (v, DateSource::XAmzDate),
        None => match single_header(req, "date")? {
            Some(v) => (v, DateSource::Date),
            None => return Ok((None, DateSource::XAmzDate)),
        },
    };
    if raw.len() > MAX_DATE_LEN {
        return Err(SigV4Error::not_conform());
    }
    let text = std::str::from_utf8(raw).map_err(|_| SigV4Error::not_conform())?;
    let parsed = match source {
        DateSource::Date => parse_iso_basic(text).or_else(|| {
            DateTime::parse_from_rfc2822(text)
                .ok()
                .map(|d| d.with_timezone(&Utc))
        }),
        DateSource::XAmzDate | DateSource::Query => parse_iso_basic(text),
    };
    parsed
        .map(|t| (Some(t), source))
        .ok_or_else(|| bad_date(text))
}

fn bad_date(text: &str) -> SigV4Error {
    SigV4Error::incomplete(format!(
        "Date must be in ISO-8601 'basic format'. Got '{}'",
        sanitize(text)
    ))
}

/// `YYYYMMDDTHHMMSSZ`, exactly 16 bytes. Parsed by hand: chrono's `%Y` also accepts signs and
/// extra digits, which no signer produces.
pub(crate) fn parse_iso_basic(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        let digits = b.get(from..to)?;
        digits.iter().try_fold(0u32, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    let year = i32::try_from(num(0, 4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, num(4, 6)?, num(6, 8)?)?;
    let time = date.and_hms_opt(num(9, 11)?, num(11, 13)?, num(13, 15)?)?;
    Some(time.and_utc())
}

/// The one value of a header that must not repeat; a repeat is refused, not resolved.
pub(crate) fn single_header<'a>(
    req: &RequestParts<'a>,
    name: &str,
) -> Result<Option<&'a [u8]>, SigV4Error> {
    let mut values = req.header_values(name);
    let first = values.next();
    if values.next().is_some() {
        return Err(SigV4Error::not_conform());
    }
    Ok(first)
}

/// The presigning parameters found in the raw query string (decoded, each at most once).
#[derive(Default)]
struct QueryAuth {
    algorithm: Option<String>,
    credential: Option<String>,
    date: Option<String>,
    expires: Option<String>,
    signed_headers: Option<String>,
    signature: Option<String>,
    security_token: Option<String>,
}

impl QueryAuth {
    fn scan(query: &str) -> Result<Self, SigV4Error> {
        let mut q = Self::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            // Names are case-sensitive, as AWS treats them; only exact names are auth.
            let key = percent_decode(k);
            let slot = match key.as_slice() {
                n if n == P_ALGORITHM.as_bytes() => &mut q.algorithm,
                n if n == P_CREDENTIAL.as_bytes() => &mut q.credential,
                n if n == P_DATE.as_bytes() => &mut q.date,
                n if n == P_EXPIRES.as_bytes() => &mut q.expires,
                n if n == P_SIGNED_HEADERS.as_bytes() => &mut q.signed_headers,
                n if n == P_SIGNATURE.as_bytes() => &mut q.signature,
                n if n == P_SECURITY_TOKEN.as_bytes() => &mut q.security_token,
                _ => continue,
            };
            let value =
                String::from_utf8(percent_decode(v)).map_err(|_| SigV4Error::not_conform())?;
            if slot.replace(value).is_some() {
                return Err(SigV4Error::not_conform());
            }
        }
        Ok(q)
    }

    /// Presence of any of these marks query auth. `X-Amz-Date` or `X-Amz-Security-Token`
    /// alone do not: they may be ordinary signed parameters of a header-signed request.
    fn is_presigned(&self) -> bool {
        self.algorithm.is_some() || self.credential.is_some() || self.signature.is_some()
    }
}
