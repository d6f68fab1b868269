//! The errors SigV4 authentication can produce, and their one mapping to the wire.
//!
//! Every variant names the AWS code, HTTP status and client-safe message it becomes; the
//! integrator turns a [`SigV4Error`] into the crate's `ApiError` with `code()`, `http_status()`
//! and `message()` and nothing else. Messages are the strings AWS sends (see
//! `AWS-REFERENCE.md` §3, "Auth / SigV4"); where AWS's wording is unknown the string is ours and
//! says so in a comment.

use std::fmt;

/// `MissingAuthenticationToken`: a signed action arrived with no auth at all.
pub(super) const MSG_MISSING_AUTH: &str = "Request is missing Authentication Token";
/// The catch-all `IncompleteSignature` message.
pub(super) const MSG_NOT_CONFORM: &str = "The request signature does not conform to AWS standards.";
/// The one message for a wrong signature, whatever part of the request made it wrong.
pub(super) const MSG_SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
/// Trailing space is AWS's: the region and service messages are concatenated as they are.
pub(super) const MSG_BAD_REGION: &str = "Credential should be scoped to a valid region. ";
pub(super) const MSG_BAD_TERMINATOR: &str =
    "Credential should be scoped with a valid terminator: 'aws4_request'.";
pub(super) const MSG_HOST_NOT_SIGNED: &str =
    "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.";
pub(super) const MSG_SCOPE_DATE: &str =
    "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.";
/// S3's wording for an expired presigned URL (STS's own is unverified; see [`SigV4Error::PresignedExpired`]).
pub(super) const MSG_REQUEST_EXPIRED: &str = "Request has expired";

/// Why SigV4 authentication failed, as the client will be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigV4Error {
    /// 403 `MissingAuthenticationToken`. `parse` never returns it (it answers `Ok(None)`); the
    /// caller raises it for a signed action that carries no auth.
    MissingAuthenticationToken,
    /// 400 `IncompleteSignature`: the auth is malformed (missing or repeated components, unknown
    /// algorithm, bad credential shape, unparsable date, bad `X-Amz-Expires`, both auth forms).
    IncompleteSignature(String),
    /// 403 `SignatureDoesNotMatch` with a specific AWS message (scope, signed headers, skew).
    /// These checks concern what the client declared, never the secret, so naming them is safe.
    SignatureDoesNotMatch(String),
    /// 403 `SignatureDoesNotMatch` with the one generic message. `log_reason` is for the server
    /// log only: the client must never learn which part of the request broke the signature.
    SignatureMismatch { log_reason: &'static str },
    /// 403 `AccessDenied` `Request has expired`: a presigned request past `X-Amz-Date` plus its
    /// lifetime. AWS's code for this on STS is unverified (`AccessDenied` vs `RequestExpired`);
    /// we follow S3, whose presigned-URL expiry answer is well known, and keep 403 so a client
    /// never retries it as a 400 clock problem.
    PresignedExpired,
}

impl SigV4Error {
    /// The AWS error code (`<Code>` in the error envelope).
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingAuthenticationToken => "MissingAuthenticationToken",
            Self::IncompleteSignature(_) => "IncompleteSignature",
            Self::SignatureDoesNotMatch(_) | Self::SignatureMismatch { .. } => {
                "SignatureDoesNotMatch"
            }
            Self::PresignedExpired => "AccessDenied",
        }
    }

    /// The HTTP status AWS answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::IncompleteSignature(_) => 400,
            Self::MissingAuthenticationToken
            | Self::SignatureDoesNotMatch(_)
            | Self::SignatureMismatch { .. }
            | Self::PresignedExpired => 403,
        }
    }

    /// The client-safe message (`<Message>`).
    pub fn message(&self) -> String {
        match self {
            Self::MissingAuthenticationToken => MSG_MISSING_AUTH.to_owned(),
            Self::IncompleteSignature(m) | Self::SignatureDoesNotMatch(m) => m.clone(),
            Self::SignatureMismatch { .. } => MSG_SIGNATURE_MISMATCH.to_owned(),
            Self::PresignedExpired => MSG_REQUEST_EXPIRED.to_owned(),
        }
    }

    pub(crate) fn incomplete(message: impl Into<String>) -> Self {
        Self::IncompleteSignature(message.into())
    }

    pub(crate) fn not_conform() -> Self {
        Self::IncompleteSignature(MSG_NOT_CONFORM.to_owned())
    }

    pub(crate) fn mismatch(log_reason: &'static str) -> Self {
        Self::SignatureMismatch { log_reason }
    }
}

/// For logs: code, message and (for a generic mismatch) the reason the client is not told.
impl fmt::Display for SigV4Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())?;
        if let Self::SignatureMismatch { log_reason } = self {
            write!(f, " [{log_reason}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for SigV4Error {}

/// Echo client input in a message safely: bounded, printable ASCII only.
pub(crate) fn sanitize(s: &str) -> String {
    const MAX_ECHO: usize = 128;
    let mut out: String = s
        .chars()
        .take(MAX_ECHO)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if s.chars().nth(MAX_ECHO).is_some() {
        out.push_str("...");
    }
    out
}
