//! The one place where a failure becomes an AWS error on the wire.
//!
//! Every layer (query parsing, SigV4, tokens, store, policy, handlers) has its own error type and
//! converts into [`ApiError`] here; the HTTP edge only ever serializes an `ApiError`. The client sees
//! the AWS code, the HTTP status and a safe message; the log may get more (`detail`), never the
//! client. See <https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html>.

use std::fmt;

/// Declares [`ErrorCode`]: one row per AWS error code, with its wire string and HTTP status.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $wire:literal, $status:literal;)*) => {
        /// Every AWS error code tessera answers with. The fault type (`Sender`/`Receiver`)
        /// follows from the status.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code's wire string, in table order (`WIRE[c.index()] == c.as_str()`).
            pub const WIRE: &[&str] = &[$($wire,)*];

            /// The position in the table (metrics find the code's series by it).
            pub fn index(self) -> usize {
                self as usize
            }

            /// The `<Code>` on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)*
                }
            }

            /// The HTTP status AWS answers with.
            pub fn status(self) -> u16 {
                match self {
                    $(Self::$variant => $status,)*
                }
            }
        }
    };
}

error_codes! {
    // --- common to every Query API -----------------------------------------------------------
    InternalFailure = "InternalFailure", 500;
    ServiceUnavailable = "ServiceUnavailable", 503;
    InvalidAction = "InvalidAction", 400;
    /// A path other than `/`: the code of an unknown action, with HTTP's "not found".
    UnknownPath = "InvalidAction", 404;
    MissingParameter = "MissingParameter", 400;
    MalformedQueryString = "MalformedQueryString", 400;
    ValidationError = "ValidationError", 400;
    InvalidParameterValue = "InvalidParameterValue", 400;
    RequestEntityTooLarge = "RequestEntityTooLarge", 413;
    RequestHeaderSectionTooLarge = "RequestHeaderSectionTooLarge", 400;
    /// The request was not complete and answered within `request_timeout`: S3's code, which
    /// the AWS SDKs retry.
    RequestTimeout = "RequestTimeout", 408;
    // --- authentication ------------------------------------------------------------------------
    MissingAuthenticationToken = "MissingAuthenticationToken", 403;
    IncompleteSignature = "IncompleteSignature", 400;
    SignatureDoesNotMatch = "SignatureDoesNotMatch", 403;
    InvalidClientTokenId = "InvalidClientTokenId", 403;
    ExpiredToken = "ExpiredToken", 403;
    AccessDenied = "AccessDenied", 403;
    // --- STS -----------------------------------------------------------------------------------
    MalformedPolicyDocument = "MalformedPolicyDocument", 400;
    PackedPolicyTooLarge = "PackedPolicyTooLarge", 400;
    InvalidIdentityToken = "InvalidIdentityToken", 400;
    /// A web identity token (or SAML assertion) past its expiry; not the signed-request
    /// `ExpiredToken`.
    ExpiredTokenException = "ExpiredTokenException", 400;
    IdpRejectedClaim = "IDPRejectedClaim", 403;
    IdpCommunicationError = "IDPCommunicationError", 400;
    /// `DecodeAuthorizationMessage` with a message that does not open for the caller.
    InvalidAuthorizationMessageException = "InvalidAuthorizationMessageException", 400;
    /// Too many requests from one source (the optional per-source limit).
    Throttling = "Throttling", 400;
    // --- IAM -----------------------------------------------------------------------------------
    NoSuchEntity = "NoSuchEntity", 404;
    EntityAlreadyExists = "EntityAlreadyExists", 409;
    DeleteConflict = "DeleteConflict", 409;
    LimitExceeded = "LimitExceeded", 409;
    InvalidInput = "InvalidInput", 400;
    InvalidAuthenticationCode = "InvalidAuthenticationCode", 403;
    UnmodifiableEntity = "UnmodifiableEntity", 400;
    PasswordPolicyViolation = "PasswordPolicyViolation", 400;
    InvalidUserType = "InvalidUserType", 400;
    MalformedCertificate = "MalformedCertificate", 400;
    InvalidCertificate = "InvalidCertificate", 400;
    DuplicateCertificate = "DuplicateCertificate", 409;
    KeyPairMismatch = "KeyPairMismatch", 400;
    InvalidPublicKey = "InvalidPublicKey", 400;
    DuplicateSshPublicKey = "DuplicateSSHPublicKey", 400;
    UnrecognizedPublicKeyEncoding = "UnrecognizedPublicKeyEncoding", 400;
    /// `GetCredentialReport` before any `GenerateCredentialReport`.
    ReportNotPresent = "ReportNotPresent", 410;
    /// `GetCredentialReport` of a report four hours old or more.
    ReportExpired = "ReportExpired", 410;
}

impl ErrorCode {
    /// `Sender` for client errors, `Receiver` for server faults.
    pub fn fault_type(self) -> &'static str {
        if self.status() >= 500 {
            "Receiver"
        } else {
            "Sender"
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The phrase AWS services put before an encoded authorization message.
pub(crate) const ENCODED_AUTHORIZATION_MARKER: &str = "Encoded authorization failure message: ";

/// An error as the client will see it: AWS code (and so HTTP status) and a safe message.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// For the server log only (why a request was denied, what failed inside). Never sent.
    pub detail: Option<String>,
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status(), self.message)?;
        if let Some(d) = &self.detail {
            write!(f, " [{d}]")?;
        }
        Ok(())
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            detail: None,
        }
    }

    /// Attach a reason for the server log (never serialized to the client).
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// `Sender` for client errors, `Receiver` for server faults.
    pub fn fault_type(&self) -> &'static str {
        self.code.fault_type()
    }

    // --- common errors -------------------------------------------------------------------

    pub fn internal() -> Self {
        Self::new(
            ErrorCode::InternalFailure,
            "The request processing has failed because of an unknown error, exception or failure.",
        )
    }

    pub fn service_unavailable() -> Self {
        Self::new(
            ErrorCode::ServiceUnavailable,
            "The request has failed due to a temporary failure of the server.",
        )
    }

    pub fn invalid_action(action: &str, version: &str) -> Self {
        Self::new(
            ErrorCode::InvalidAction,
            format!("Could not find operation {action} for version {version}"),
        )
    }

    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            ErrorCode::MissingParameter,
            format!("The request must contain the parameter {name}."),
        )
    }

    pub fn malformed_query(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::MalformedQueryString, message)
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationError, message)
    }

    pub fn invalid_parameter_value(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameterValue, message)
    }

    pub fn missing_authentication_token() -> Self {
        Self::new(
            ErrorCode::MissingAuthenticationToken,
            "Request is missing Authentication Token",
        )
    }

    pub fn invalid_client_token_id() -> Self {
        Self::new(
            ErrorCode::InvalidClientTokenId,
            "The security token included in the request is invalid.",
        )
    }

    pub fn expired_token() -> Self {
        Self::new(
            ErrorCode::ExpiredToken,
            "The security token included in the request is expired",
        )
    }

    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::AccessDenied, message)
    }

    /// Append a sealed authorization message (see [`crate::denial`]) as AWS services do:
    /// `<message>. Encoded authorization failure message: <blob>`.
    pub fn with_encoded_authorization(mut self, blob: &str) -> Self {
        if !self.message.ends_with('.') {
            self.message.push('.');
        }
        self.message.push(' ');
        self.message.push_str(ENCODED_AUTHORIZATION_MARKER);
        self.message.push_str(blob);
        self
    }

    /// `User: <arn> is not authorized to perform: <action> on resource: <resource>`
    pub fn not_authorized(caller_arn: &str, action: &str, resource: &str) -> Self {
        Self::access_denied(format!(
            "User: {caller_arn} is not authorized to perform: {action} on resource: {resource}"
        ))
    }

    pub fn request_entity_too_large() -> Self {
        Self::new(ErrorCode::RequestEntityTooLarge, "Request body too large.")
    }

    // --- IAM -----------------------------------------------------------------------------

    pub fn no_such_entity(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NoSuchEntity, message)
    }

    pub fn entity_already_exists(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::EntityAlreadyExists, message)
    }

    pub fn delete_conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::DeleteConflict, message)
    }

    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::LimitExceeded, message)
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }

    pub fn invalid_authentication_code(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidAuthenticationCode, message)
    }

    pub fn unmodifiable_entity(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::UnmodifiableEntity, message)
    }

    pub fn malformed_policy(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::MalformedPolicyDocument, message)
    }

    pub fn packed_policy_too_large(percent: u64) -> Self {
        Self::new(
            ErrorCode::PackedPolicyTooLarge,
            format!("Packed policy consumes {percent}% of allotted space"),
        )
    }
}

/// The system RNG failed: nothing can be minted.
impl From<crate::credentials::IdError> for ApiError {
    fn from(e: crate::credentials::IdError) -> Self {
        ApiError::internal().with_detail(format!("ids: {e}"))
    }
}

impl From<crate::credentials::RandomError> for ApiError {
    fn from(e: crate::credentials::RandomError) -> Self {
        ApiError::internal().with_detail(format!("random: {e}"))
    }
}

/// SigV4 names its own code, status and client-safe message; the log gets the whole reason.
impl From<crate::sigv4::SigV4Error> for ApiError {
    fn from(e: crate::sigv4::SigV4Error) -> Self {
        use crate::sigv4::SigV4Error as E;
        let code = match &e {
            E::MissingAuthenticationToken => ErrorCode::MissingAuthenticationToken,
            E::IncompleteSignature(_) => ErrorCode::IncompleteSignature,
            E::SignatureDoesNotMatch(_) | E::SignatureMismatch { .. } => {
                ErrorCode::SignatureDoesNotMatch
            }
            E::PresignedExpired => ErrorCode::AccessDenied,
        };
        debug_assert_eq!(code.as_str(), e.code());
        debug_assert_eq!(code.status(), e.http_status());
        ApiError::new(code, e.message()).with_detail(format!("{e:?}"))
    }
}

/// A store failure no handler put in AWS's words. The IAM layer maps the failures it expects
/// (`crate::iam::errors`), with AWS's exact messages; what reaches this is generic: a storage
/// failure is ours, not the client's (`InternalFailure`, the detail only in the log), and the
/// rest get their AWS code with a plain message.
impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            StoreError::Internal(detail) => ApiError::internal().with_detail(detail),
            StoreError::Unavailable(detail) => ApiError::service_unavailable().with_detail(detail),
            StoreError::NotFound(_) => {
                ApiError::no_such_entity("The entity cannot be found.").with_detail(e.to_string())
            }
            StoreError::AlreadyExists(_) => {
                ApiError::entity_already_exists("The entity already exists.")
                    .with_detail(e.to_string())
            }
            StoreError::Conflict(_) => {
                ApiError::delete_conflict("The entity is still in use.").with_detail(e.to_string())
            }
            StoreError::LimitExceeded(_) => {
                ApiError::limit_exceeded("A quota would be exceeded.").with_detail(e.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_aws_statuses_and_fault_types() {
        assert_eq!(ErrorCode::NoSuchEntity.status(), 404);
        assert_eq!(ErrorCode::InternalFailure.fault_type(), "Receiver");
        assert_eq!(ErrorCode::AccessDenied.fault_type(), "Sender");
        assert_eq!(ErrorCode::UnknownPath.as_str(), "InvalidAction");
    }

    #[test]
    fn index_finds_the_wire_string() {
        for c in [
            ErrorCode::InternalFailure,
            ErrorCode::UnknownPath,
            ErrorCode::AccessDenied,
            ErrorCode::UnmodifiableEntity,
        ] {
            assert_eq!(ErrorCode::WIRE[c.index()], c.as_str());
        }
    }

    #[test]
    fn sigv4_errors_keep_their_wire_shape() {
        use crate::sigv4::SigV4Error;
        for e in [
            SigV4Error::MissingAuthenticationToken,
            SigV4Error::IncompleteSignature("x".into()),
            SigV4Error::SignatureDoesNotMatch("y".into()),
            SigV4Error::SignatureMismatch { log_reason: "z" },
            SigV4Error::PresignedExpired,
        ] {
            let api = ApiError::from(e.clone());
            assert_eq!(api.code.as_str(), e.code());
            assert_eq!(api.status(), e.http_status());
            assert_eq!(api.message, e.message());
        }
    }
}
