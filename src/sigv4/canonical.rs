//! The pure stages of SigV4 for non-S3 services: canonical request, string to sign, signing key,
//! signature. Each step carries the spec's token; see
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>.
//!
//! Interop notes (each has a named test):
//! - `<CanonicalURI>`: non-S3 services normalize the path (RFC 3986 dot-segment removal, empty
//!   segments dropped) and URI-encode the already-encoded wire path again ("double encoding").
//!   We follow aws-sigv4 and RFC 3986 for a trailing `.`/`..` segment (`/a/.` → `/a/`);
//!   botocore drops that slash (`/a`). STS and IAM only ever use `/`.
//! - `<CanonicalQueryString>`: parameters are percent-decoded (`+` is a space, as in
//!   `form_urlencoded` and our parameter parser, so signing and parsing see the same values),
//!   re-encoded with `UriEncode`, and sorted by encoded name then value.
//! - `<CanonicalHeaders>`: values are trimmed of spaces and runs of spaces collapse to one, as
//!   aws-sigv4 and the spec do; botocore also collapses tabs (no client sends them).

use ring::{digest, hmac};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::RequestParts;
use super::error::SigV4Error;
use super::parse::{ALGORITHM, AuthForm, Authorization, P_SIGNATURE, Scope};

/// `UNSIGNED-PAYLOAD`: accepted only when the body is empty (nothing is left unauthenticated).
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// The derived `kSigning` key. Secret: redacted `Debug`, zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SigningKey([u8; 32]);

impl SigningKey {
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(** redacted **)")
    }
}

/// Build `<CanonicalRequest>`:
///
/// ```text
/// <HTTPMethod>\n<CanonicalURI>\n<CanonicalQueryString>\n<CanonicalHeaders>\n<SignedHeaders>\n<HashedPayload>
/// ```
/// `<CanonicalHeaders>` ends with its own `\n`, hence the blank line real signers show.
pub fn canonical_request(
    req: &RequestParts<'_>,
    auth: &Authorization,
) -> Result<String, SigV4Error> {
    let mut out = String::with_capacity(canonical_request_len_hint(req));
    write_canonical_request(req, auth, &mut out)?;
    Ok(out)
}

/// [`canonical_request`] appended to `out`: the one implementation, shared by `verify` (which
/// hashes it from a buffer it reuses for the string to sign) and the stage-by-stage tests.
pub(crate) fn write_canonical_request(
    req: &RequestParts<'_>,
    auth: &Authorization,
    out: &mut String,
) -> Result<(), SigV4Error> {
    let signed = auth.signed_headers();
    // <HTTPMethod>
    out.push_str(req.method);
    out.push('\n');
    // <CanonicalURI>
    write_canonical_uri(req.path, out);
    out.push('\n');
    // <CanonicalQueryString>
    write_canonical_query_string(req.query, auth.form(), out);
    out.push('\n');
    // <CanonicalHeaders>
    write_canonical_headers(req, signed.iter(), out)?;
    out.push('\n');
    // <SignedHeaders>
    out.push_str(signed.as_str());
    out.push('\n');
    // <HashedPayload>
    payload_hash(req)?.push_to(out);
    Ok(())
}

/// Room for the canonical request without regrowing: everything it copies from the request,
/// with headroom for the path and query growing by re-encoding.
pub(crate) fn canonical_request_len_hint(req: &RequestParts<'_>) -> usize {
    let headers: usize = req.headers.iter().map(|(n, v)| n.len() + v.len() + 2).sum();
    192 + req.method.len() + 3 * (req.path.len() + req.query.len()) + 2 * headers
}

/// `<CanonicalURI>` for non-S3 services: normalize, then `UriEncode` the raw (already encoded)
/// path once more, keeping `/`.
pub fn canonical_uri(raw_path: &str) -> String {
    let mut out = String::with_capacity(raw_path.len() + 16);
    write_canonical_uri(raw_path, &mut out);
    out
}

fn write_canonical_uri(raw_path: &str, out: &mut String) {
    // Every STS and IAM request: nothing to normalize or encode.
    if raw_path == "/" {
        out.push('/');
        return;
    }
    uri_encode(normalize_path(raw_path).as_bytes(), true, out);
}

/// RFC 3986 §5.2.4 remove-dot-segments plus dropping empty segments (`//`), on the raw path,
/// exactly as aws-sigv4's `normalize_uri_path` does (encoded dots like `%2E` are not segments).
fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    out.push('/');
    out.push_str(&segments.join("/"));
    // "/a/b/", "/a/." and "/a/b/.." all keep a trailing slash (RFC 3986 steps 2B/2C).
    let trailing = ["/", "/.", "/..", "/./", "/../"]
        .iter()
        .any(|t| path.ends_with(t));
    if trailing && !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// `<CanonicalQueryString>` from the raw query: decode each name and value, `UriEncode` them,
/// sort by name then value (on the encoded forms, as the spec and both signers do), join.
/// In the presigned form `X-Amz-Signature` itself is left out.
pub fn canonical_query_string(raw_query: &str, form: AuthForm) -> String {
    let mut out = String::with_capacity(raw_query.len() + 16);
    write_canonical_query_string(raw_query, form, &mut out);
    out
}

fn write_canonical_query_string(raw_query: &str, form: AuthForm, out: &mut String) {
    let mut pairs: Vec<(String, String)> = Vec::new();
    // Empty pieces (`a=1&&b=2`) are skipped, like `form_urlencoded::parse` and aws-sigv4.
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(k);
        if form == AuthForm::Presigned && key == P_SIGNATURE.as_bytes() {
            continue;
        }
        let mut ek = String::with_capacity(key.len());
        uri_encode(&key, false, &mut ek);
        let mut ev = String::with_capacity(v.len());
        uri_encode(&percent_decode(v), false, &mut ev);
        pairs.push((ek, ev));
    }
    pairs.sort_unstable();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
}

/// `<CanonicalHeaders>`: `name:value\n` for each signed name in order; a name sent several
/// times has its values (each trimmed) joined with `,` in the order received.
/// A signed header that is absent, or whose value is not UTF-8, cannot have been signed by a
/// real signer: a generic mismatch.
pub fn canonical_headers(req: &RequestParts<'_>, signed: &[String]) -> Result<String, SigV4Error> {
    let mut out = String::new();
    write_canonical_headers(req, signed.iter().map(String::as_str), &mut out)?;
    Ok(out)
}

fn write_canonical_headers<'s>(
    req: &RequestParts<'_>,
    signed: impl IntoIterator<Item = &'s str>,
    out: &mut String,
) -> Result<(), SigV4Error> {
    for name in signed {
        out.push_str(name);
        out.push(':');
        let mut found = false;
        for value in req.header_values(name) {
            if found {
                out.push(',');
            }
            found = true;
            let value = std::str::from_utf8(value)
                .map_err(|_| SigV4Error::mismatch("signed header value is not UTF-8"))?;
            trim_all(value, out);
        }
        if !found {
            return Err(SigV4Error::mismatch("signed header absent from request"));
        }
        out.push('\n');
    }
    Ok(())
}

/// Trimall: drop leading/trailing spaces (and HTAB, which HTTP parsers strip anyway) and
/// collapse each inner run of spaces to one.
fn trim_all(value: &str, out: &mut String) {
    let value = value.trim_matches([' ', '\t']);
    // With no space at either end, collapsing runs is joining the non-empty pieces between
    // spaces with one space; a value without spaces (a session token) is one piece, copied whole.
    let mut pieces = crate::text::split_ascii(value, b' ').filter(|p| !p.is_empty());
    if let Some(first) = pieces.next() {
        out.push_str(first);
    }
    for piece in pieces {
        out.push(' ');
        out.push_str(piece);
    }
}

/// `<HashedPayload>`: hex SHA-256 of the exact body received.
///
/// If the client sent `x-amz-content-sha256` (botocore then uses that header's value in the
/// canonical request) it must equal the body's hash, or be `UNSIGNED-PAYLOAD` with an empty
/// body. Any other value (a wrong hash, `UNSIGNED-PAYLOAD` over a body, streaming modes) would
/// leave the STS parameters in the body unauthenticated: refused.
/// Presigned STS requests from botocore, aws-sdk-go and aws-sigv4 hash the (empty) body too.
pub fn hashed_payload(req: &RequestParts<'_>) -> Result<String, SigV4Error> {
    let mut out = String::with_capacity(64);
    payload_hash(req)?.push_to(&mut out);
    Ok(out)
}

/// `<HashedPayload>`'s value, kept on the stack.
enum PayloadHash {
    /// Lowercase hex SHA-256 of the body.
    Body([u8; 64]),
    Unsigned,
}

impl PayloadHash {
    fn push_to(&self, out: &mut String) {
        match self {
            Self::Body(hex) => push_ascii(hex, out),
            Self::Unsigned => out.push_str(UNSIGNED_PAYLOAD),
        }
    }
}

fn payload_hash(req: &RequestParts<'_>) -> Result<PayloadHash, SigV4Error> {
    let body_hash = hex_lower_32(&sha256(req.body));
    let mut declared = req.header_values("x-amz-content-sha256");
    let first = declared.next();
    if declared.next().is_some() {
        return Err(SigV4Error::mismatch("x-amz-content-sha256 repeated"));
    }
    match first {
        None => Ok(PayloadHash::Body(body_hash)),
        Some(v) if v == body_hash.as_slice() => Ok(PayloadHash::Body(body_hash)),
        Some(v) if v == UNSIGNED_PAYLOAD.as_bytes() && req.body.is_empty() => {
            Ok(PayloadHash::Unsigned)
        }
        Some(_) => Err(SigV4Error::mismatch(
            "x-amz-content-sha256 does not match the body",
        )),
    }
}

/// `<StringToSign>`:
///
/// ```text
/// AWS4-HMAC-SHA256\n<RequestDateTime>\n<CredentialScope>\n<HashedCanonicalRequest>
/// ```
pub fn string_to_sign(amz_date: &str, scope: &Scope, canonical_request: &str) -> String {
    let mut out = String::with_capacity(160);
    write_string_to_sign(
        amz_date,
        scope,
        &sha256(canonical_request.as_bytes()),
        &mut out,
    );
    out
}

/// [`string_to_sign`] appended to `out`, from the canonical request's SHA-256: the one
/// implementation, shared by `verify` and the stage-by-stage tests.
pub(crate) fn write_string_to_sign(
    amz_date: &str,
    scope: &Scope,
    hashed_canonical_request: &[u8; 32],
    out: &mut String,
) {
    out.push_str(ALGORITHM);
    out.push('\n');
    // <RequestDateTime>
    out.push_str(amz_date);
    out.push('\n');
    // <CredentialScope>
    scope.push_to(out);
    out.push('\n');
    // <HashedCanonicalRequest>
    push_ascii(&hex_lower_32(hashed_canonical_request), out);
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (o, b) in out
        .iter_mut()
        .zip(digest::digest(&digest::SHA256, bytes).as_ref())
    {
        *o = *b;
    }
    out
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + kSecret, Date), Region), Service), "aws4_request")`.
pub fn signing_key(secret: &[u8], date: &str, region: &str, service: &str) -> SigningKey {
    let mut k_secret = crate::wipe::Wiped::new(Vec::with_capacity(4 + secret.len()));
    k_secret.extend_from_slice(b"AWS4");
    k_secret.extend_from_slice(secret);
    let k_date = hmac_sha256(&k_secret, date.as_bytes());
    let k_region = hmac_sha256(k_date.as_ref(), region.as_bytes());
    let k_service = hmac_sha256(k_region.as_ref(), service.as_bytes());
    let k_signing = hmac_sha256(k_service.as_ref(), b"aws4_request");
    SigningKey(*k_signing)
}

/// `<Signature> = HMAC(kSigning, <StringToSign>)` (raw 32 bytes; hex it to compare by eye).
pub fn signature(key: &SigningKey, string_to_sign: &str) -> [u8; 32] {
    *hmac_sha256(key.expose(), string_to_sign.as_bytes())
}

/// Constant-time check of the client's signature (`ring::hmac::verify`).
pub(crate) fn signature_matches(
    key: &SigningKey,
    string_to_sign: &str,
    provided: &[u8; 32],
) -> bool {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.expose());
    hmac::verify(&key, string_to_sign.as_bytes(), provided).is_ok()
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Zeroizing<[u8; 32]> {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), msg);
    let mut out = Zeroizing::new([0u8; 32]);
    for (o, b) in out.iter_mut().zip(tag.as_ref()) {
        *o = *b;
    }
    out
}

/// UriEncode: keep `A-Za-z0-9-_.~` (and `/` when asked), `%XX` uppercase for every other byte;
/// a space is `%20`, never `+`.
pub fn uri_encode(bytes: &[u8], keep_slash: bool, out: &mut String) {
    for &b in bytes {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(hex_digit(b >> 4).to_ascii_uppercase()));
            out.push(char::from(hex_digit(b & 0x0f).to_ascii_uppercase()));
        }
    }
}

/// Decode `%XX` escapes and `+` (a space, as in HTML forms); a malformed escape stays literal,
/// as `form_urlencoded` leaves it.
pub fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hi = b.get(i + 1).copied().and_then(hex_value);
                let lo = b.get(i + 2).copied().and_then(hex_value);
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push((hi << 4) | lo);
                    i += 3;
                } else {
                    out.push(b'%');
                    i += 1;
                }
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    out
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Lowercase hex of a SHA-256 or HMAC-SHA256 output, on the stack.
fn hex_lower_32(bytes: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        for (o, nibble) in pair.iter_mut().zip([b >> 4, b & 0x0f]) {
            *o = hex_digit(nibble);
        }
    }
    out
}

/// Append ASCII bytes (hex digits) to a string.
fn push_ascii(ascii: &[u8], out: &mut String) {
    out.reserve(ascii.len());
    for &b in ascii {
        out.push(char::from(b));
    }
}

/// Lowercase ASCII hex digit of a nibble (callers pass values below 16).
fn hex_digit(nibble: u8) -> u8 {
    let nibble = nibble & 0x0f;
    if nibble < 10 {
        b'0' + nibble
    } else {
        b'a' + nibble - 10
    }
}
