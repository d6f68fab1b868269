//! AWS Signature Version 4 verification, server side, for tessera's STS and IAM endpoints.
//!
//! Implements <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>
//! for **non-S3** services (double-encoded, normalized path; signed payload), in both the
//! `Authorization` header form and the presigned query form.
//!
//! Owns: finding the auth in a request ([`parse`]), the canonicalisation stages
//! ([`canonical_request`], [`string_to_sign`], [`signing_key`], [`signature`]) and the checks
//! AWS makes before and around them ([`verify`]), with constant-time signature comparison.
//! Must never: read the clock (`now` is an argument), look up keys or open session tokens (the
//! caller does, between [`parse`] and [`verify`]), know about HTTP framework types, or tell a
//! client which part of a request broke its signature.
//!
//! Flow: `parse(req)` → caller looks up the secret for `auth.access_key_id()` (for `ASIA` keys
//! it opens `auth.security_token()` first; unknown key → `InvalidClientTokenId`) →
//! `verify(&auth, req, secret, policy, now)`, or [`verify_cached`] with a [`SigningKeyCache`]
//! shared by all workers to derive each signing key once per secret and day.

pub(crate) mod cache;
mod canonical;
mod error;
mod parse;
#[cfg(test)]
mod tests;

use chrono::{DateTime, TimeDelta, Utc};

pub use cache::{DEFAULT_SIGNING_KEY_CACHE_CAPACITY, SigningKeyCache};
pub use canonical::{
    SigningKey, UNSIGNED_PAYLOAD, canonical_headers, canonical_query_string, canonical_request,
    canonical_uri, hashed_payload, percent_decode, signature, signing_key, string_to_sign,
    uri_encode,
};
pub use error::SigV4Error;
use parse::AmzDate;
pub use parse::{
    ALGORITHM, AuthForm, Authorization, DateSource, MAX_AUTHORIZATION_LEN, MAX_CREDENTIAL_LEN,
    MAX_SECURITY_TOKEN_LEN, MAX_SIGNED_HEADERS, Scope, SecurityToken, parse,
};

/// Longest lifetime a presigned URL may declare (`X-Amz-Expires`, seconds): seven days.
pub const MAX_PRESIGNED_EXPIRES: u32 = 604_800;

/// A borrowed view of the request, exactly as received.
///
/// The HTTP edge builds it without rewriting anything: `path` and `query` raw (still
/// percent-encoded, query without `?`), header names as received (any case) in order, repeated
/// names kept, values as bytes. For HTTP/2 the edge must supply a `host` header from
/// `:authority`, since signers sign `host`.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a [(&'a str, &'a [u8])],
    pub body: &'a [u8],
}

impl<'a> RequestParts<'a> {
    /// Values of every header named `name` (ASCII case-insensitive), in the order received.
    pub fn header_values<'n>(&self, name: &'n str) -> impl Iterator<Item = &'a [u8]> + 'n
    where
        'a: 'n,
    {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

/// What the action being called accepts in a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// Services the credential scope may name (`sts` for STS actions, `iam` for IAM). The first
    /// is the one the error message names.
    pub services: Vec<String>,
    /// Regions the credential scope may name; `None` accepts any. STS's global endpoint signs
    /// with `us-east-1`; botocore signs IAM with the client's configured region when the IAM
    /// endpoint is overridden, so IAM deployments usually want a configured list.
    pub regions: Option<Vec<String>>,
    /// Allowed clock difference either way (AWS: 15 minutes).
    pub max_skew: TimeDelta,
    /// Cap on a presigned request's life regardless of a larger `X-Amz-Expires`. Observed STS
    /// behaviour is that presigned `GetCallerIdentity` URLs die after 15 minutes whatever
    /// `X-Amz-Expires` says (aws/aws-sdk-go#2167), and a short life limits replay of these
    /// bearer-like URLs. `None` honours `X-Amz-Expires` up to seven days.
    pub presigned_max_age: Option<TimeDelta>,
    /// `x-amz-*` headers (lowercase) a trusted proxy adds after signing and that may therefore
    /// arrive unsigned, e.g. CloudFront's `x-amz-cf-id`. Empty by default: every `x-amz-*`
    /// header must be signed.
    pub unsigned_amz_headers: Vec<String>,
}

impl VerifyPolicy {
    /// One service, any region, AWS's 15-minute skew and 15-minute presigned cap.
    pub fn for_service(service: &str) -> Self {
        Self {
            services: vec![service.to_owned()],
            regions: None,
            max_skew: TimeDelta::minutes(15),
            presigned_max_age: Some(TimeDelta::minutes(15)),
            unsigned_amz_headers: Vec::new(),
        }
    }
}

/// Verify a parsed authorization against the request it came from, the secret access key of
/// `auth.access_key_id()`, the action's policy and the current time.
///
/// Checks, in AWS's order: credential terminator; scope date against the request date; region
/// and service (both messages, concatenated, as AWS does); `host` and the date header signed;
/// every `x-amz-*` header signed; time (header form: ±`max_skew`; presigned: `X-Amz-Expires`
/// 1..=604800, not in the future beyond the skew, not expired); payload hash; then the
/// signature, compared in constant time.
pub fn verify(
    auth: &Authorization,
    req: &RequestParts<'_>,
    secret: &[u8],
    policy: &VerifyPolicy,
    now: DateTime<Utc>,
) -> Result<(), SigV4Error> {
    verify_with(auth, req, secret, policy, now, None)
}

/// [`verify`], with the signing key taken from (and, once a signature proves it, stored in)
/// `cache`. Same checks, same order, same errors.
pub fn verify_cached(
    auth: &Authorization,
    req: &RequestParts<'_>,
    secret: &[u8],
    policy: &VerifyPolicy,
    now: DateTime<Utc>,
    cache: &SigningKeyCache,
) -> Result<(), SigV4Error> {
    verify_with(auth, req, secret, policy, now, Some(cache))
}

fn verify_with(
    auth: &Authorization,
    req: &RequestParts<'_>,
    secret: &[u8],
    policy: &VerifyPolicy,
    now: DateTime<Utc>,
    cache: Option<&SigningKeyCache>,
) -> Result<(), SigV4Error> {
    let amz_date = AmzDate::of(auth.time());
    check_scope(auth, &amz_date, policy)?;
    check_signed_headers(auth, req, policy)?;
    check_time(auth, policy, now)?;

    // One buffer: the canonical request, hashed, then the string to sign.
    let mut buf = String::with_capacity(canonical::canonical_request_len_hint(req));
    canonical::write_canonical_request(req, auth, &mut buf)?;
    let hashed_creq = canonical::sha256(buf.as_bytes());
    buf.clear();
    canonical::write_string_to_sign(amz_date.as_str(), auth.scope(), &hashed_creq, &mut buf);

    let scope = auth.scope();
    let lookup = cache.map(|c| {
        (
            c,
            c.lookup(secret, scope.date(), scope.region(), scope.service()),
        )
    });
    let cached = lookup.as_ref().and_then(|(c, q)| c.get(q));
    let hit = cached.is_some();
    if let Some((c, _)) = &lookup {
        c.counts().record(hit);
    }
    let key = cached
        .unwrap_or_else(|| signing_key(secret, scope.date(), scope.region(), scope.service()));
    if !canonical::signature_matches(&key, &buf, auth.signature()) {
        return Err(SigV4Error::mismatch("signature"));
    }
    // Only a key a signature has proved is kept: a request from someone who knows the key id
    // but not the secret leaves nothing behind.
    if let (Some((c, q)), false) = (&lookup, hit) {
        c.insert(q, &key);
    }
    Ok(())
}

fn check_scope(
    auth: &Authorization,
    amz_date: &AmzDate,
    policy: &VerifyPolicy,
) -> Result<(), SigV4Error> {
    let scope = auth.scope();
    if scope.terminator() != "aws4_request" {
        return Err(SigV4Error::SignatureDoesNotMatch(
            error::MSG_BAD_TERMINATOR.to_owned(),
        ));
    }
    if scope.date() != amz_date.date() {
        return Err(SigV4Error::SignatureDoesNotMatch(
            error::MSG_SCOPE_DATE.to_owned(),
        ));
    }
    let mut message = String::new();
    let region_ok = policy
        .regions
        .as_ref()
        .is_none_or(|allowed| allowed.iter().any(|r| r == scope.region()));
    if !region_ok {
        message.push_str(error::MSG_BAD_REGION);
    }
    if !policy.services.iter().any(|s| s == scope.service()) {
        let expected = policy.services.first().map_or("", String::as_str);
        message.push_str(&format!(
            "Credential should be scoped to correct service: '{expected}'. "
        ));
    }
    if message.is_empty() {
        Ok(())
    } else {
        Err(SigV4Error::SignatureDoesNotMatch(message))
    }
}

fn check_signed_headers(
    auth: &Authorization,
    req: &RequestParts<'_>,
    policy: &VerifyPolicy,
) -> Result<(), SigV4Error> {
    let is_signed = |name: &str| auth.signed_headers().iter().any(|s| s == name);
    if !is_signed("host") {
        return Err(SigV4Error::SignatureDoesNotMatch(
            error::MSG_HOST_NOT_SIGNED.to_owned(),
        ));
    }
    // The header form's date must be signed, or a captured request could be re-dated at will.
    // (Presigned: X-Amz-Date is a query parameter, hence always in the canonical request.)
    let date_header = match auth.date_source() {
        DateSource::XAmzDate => Some(("x-amz-date", "X-Amz-Date")),
        DateSource::Date => Some(("date", "Date")),
        DateSource::Query => None,
    };
    if let Some((name, display)) = date_header
        && !is_signed(name)
    {
        // Our wording, modelled on AWS's host message.
        return Err(SigV4Error::SignatureDoesNotMatch(format!(
            "'{display}' must be a 'SignedHeader' in the AWS Authorization."
        )));
    }
    // Unsigned x-amz-* headers could change meaning (a second security token, a content hash)
    // without breaking the signature.
    let mut unsigned: Vec<String> = Vec::new();
    for (name, _) in req.headers {
        // Signed names are lowercase (parse's invariant), so a case-insensitive match is a match
        // of the lowercased name; most headers are settled here without lowercasing a copy.
        let amz = name
            .as_bytes()
            .get(..6)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"x-amz-"));
        if !amz
            || auth
                .signed_headers()
                .iter()
                .any(|s| s.eq_ignore_ascii_case(name))
        {
            continue;
        }
        let lower = name.to_ascii_lowercase();
        let exempt = policy.unsigned_amz_headers.contains(&lower)
            // aws-sigv4 deliberately leaves these out of presigned signatures.
            || (auth.form() == AuthForm::Presigned
                && matches!(lower.as_str(), "x-amz-user-agent" | "x-amz-checksum-mode"));
        if !exempt && !unsigned.contains(&lower) {
            unsigned.push(lower);
        }
    }
    if unsigned.is_empty() {
        Ok(())
    } else {
        unsigned.truncate(5);
        let names: Vec<String> = unsigned.iter().map(|n| error::sanitize(n)).collect();
        // S3's wording (STS's is unverified).
        Err(SigV4Error::SignatureDoesNotMatch(format!(
            "There were headers present in the request which were not signed: {}",
            names.join(", ")
        )))
    }
}

fn check_time(
    auth: &Authorization,
    policy: &VerifyPolicy,
    now: DateTime<Utc>,
) -> Result<(), SigV4Error> {
    let t = auth.time();
    let fmt = |d: DateTime<Utc>| d.format("%Y%m%dT%H%M%SZ").to_string();
    let minutes = policy.max_skew.num_minutes();
    let not_yet_current = |limit: DateTime<Utc>| {
        SigV4Error::SignatureDoesNotMatch(format!(
            "Signature not yet current: {} is still later than {} ({} + {minutes} min.)",
            fmt(t),
            fmt(limit),
            fmt(now)
        ))
    };
    // Out-of-range arithmetic (absurd dates) means "outside the window", never a panic.
    let earliest = now.checked_sub_signed(policy.max_skew);
    let latest = now.checked_add_signed(policy.max_skew);
    let Some(latest) = latest else {
        return Err(SigV4Error::mismatch("time window out of range"));
    };
    if t > latest {
        return Err(not_yet_current(latest));
    }
    match auth.form() {
        AuthForm::Header => match earliest {
            Some(earliest) if t >= earliest => Ok(()),
            Some(earliest) => Err(SigV4Error::SignatureDoesNotMatch(format!(
                "Signature expired: {} is now earlier than {} ({} - {minutes} min.)",
                fmt(t),
                fmt(earliest),
                fmt(now)
            ))),
            None => Err(SigV4Error::mismatch("time window out of range")),
        },
        AuthForm::Presigned => {
            let raw = auth.presigned_expires().unwrap_or("");
            let expires = parse_expires(raw).ok_or_else(|| {
                // Our wording (AWS's for STS is unverified).
                SigV4Error::incomplete(format!(
                    "X-Amz-Expires must be a whole number of seconds from 1 to {MAX_PRESIGNED_EXPIRES}, got '{}'",
                    error::sanitize(raw)
                ))
            })?;
            let mut life = TimeDelta::seconds(i64::from(expires));
            if let Some(cap) = policy.presigned_max_age {
                life = life.min(cap);
            }
            match t.checked_add_signed(life) {
                Some(end) if end >= now => Ok(()),
                _ => Err(SigV4Error::PresignedExpired),
            }
        }
    }
}

/// `X-Amz-Expires`: ASCII digits only (no sign, no spaces), 1..=604800.
fn parse_expires(raw: &str) -> Option<u32> {
    if raw.is_empty() || raw.len() > 10 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = raw.parse().ok()?;
    (1..=MAX_PRESIGNED_EXPIRES).contains(&n).then_some(n)
}

#[cfg(any(fuzzing, test))]
/// Fuzzing entry point: treat `data` as an `Authorization` header value, then as a query string
/// (and path) of a presigned request, and run both phases. Must never panic.
pub fn fuzz_authorization_header(data: &[u8]) {
    const BODY: &[u8] = b"Action=GetCallerIdentity&Version=2011-06-15";
    let Some(now) = DateTime::from_timestamp(1_705_322_096, 0) else {
        return;
    };
    let policy = VerifyPolicy::for_service("sts");
    let run = |req: &RequestParts<'_>| {
        if let Ok(Some(auth)) = parse(req) {
            let _ = verify(
                &auth,
                req,
                b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                &policy,
                now,
            );
        }
    };
    let base: [(&str, &[u8]); 2] = [
        ("Host", b"sts.amazonaws.com"),
        ("X-Amz-Date", b"20240115T123456Z"),
    ];

    let with_auth: [(&str, &[u8]); 3] = [base[0], base[1], ("Authorization", data)];
    run(&RequestParts {
        method: "POST",
        path: "/",
        query: "",
        headers: &with_auth,
        body: BODY,
    });

    let text = String::from_utf8_lossy(data);
    run(&RequestParts {
        method: "GET",
        path: &text,
        query: &text,
        headers: &base,
        body: b"",
    });
    let _ = canonical_query_string(&text, AuthForm::Presigned);
    let _ = canonical_uri(&text);
}
