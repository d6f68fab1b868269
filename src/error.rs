//! The one place where a failure becomes an AWS error on the wire.
//!
//! Every layer (query parsing, SigV4, tokens, store, policy, handlers) has its own error type and
//! converts into [`ApiError`] here; the HTTP edge only ever serializes an `ApiError`. The client sees
//! the AWS code, the HTTP status and a safe message; the log may get more (`detail`), never the
//! client. See <https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html>.

use std::fmt;

/// An error as the client will see it: AWS code, HTTP status and a safe message.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub status: u16,
    pub message: String,
    /// For the server log only (why a request was denied, what failed inside). Never sent.
    pub detail: Option<String>,
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)?;
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

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        Self {
            code,
            status,
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

    /// `Sender` for client errors, `Receiver` for server faults.
    pub fn fault_type(&self) -> &'static str {
        if self.status >= 500 {
            "Receiver"
        } else {
            "Sender"
        }
    }

    // --- common errors -------------------------------------------------------------------

    pub fn internal() -> Self {
        Self::new(
            "InternalFailure",
            500,
            "The request processing has failed because of an unknown error, exception or failure.",
        )
    }

    pub fn service_unavailable() -> Self {
        Self::new(
            "ServiceUnavailable",
            503,
            "The request has failed due to a temporary failure of the server.",
        )
    }

    pub fn invalid_action(action: &str, version: &str) -> Self {
        Self::new(
            "InvalidAction",
            400,
            format!("Could not find operation {action} for version {version}"),
        )
    }

    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            "MissingParameter",
            400,
            format!("The request must contain the parameter {name}."),
        )
    }

    pub fn malformed_query(message: impl Into<String>) -> Self {
        Self::new("MalformedQueryString", 400, message)
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationError", 400, message)
    }

    pub fn invalid_parameter_value(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterValue", 400, message)
    }

    pub fn missing_authentication_token() -> Self {
        Self::new(
            "MissingAuthenticationToken",
            403,
            "Request is missing Authentication Token",
        )
    }

    pub fn invalid_client_token_id() -> Self {
        Self::new(
            "InvalidClientTokenId",
            403,
            "The security token included in the request is invalid.",
        )
    }

    pub fn expired_token() -> Self {
        Self::new(
            "ExpiredToken",
            403,
            "The security token included in the request is expired",
        )
    }

    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new("AccessDenied", 403, message)
    }

    /// `User: <arn> is not authorized to perform: <action> on resource: <resource>`
    pub fn not_authorized(caller_arn: &str, action: &str, resource: &str) -> Self {
        Self::access_denied(format!(
            "User: {caller_arn} is not authorized to perform: {action} on resource: {resource}"
        ))
    }

    pub fn request_entity_too_large() -> Self {
        Self::new("RequestEntityTooLarge", 413, "Request body too large.")
    }

    // --- IAM -----------------------------------------------------------------------------

    pub fn no_such_entity(message: impl Into<String>) -> Self {
        Self::new("NoSuchEntity", 404, message)
    }

    pub fn entity_already_exists(message: impl Into<String>) -> Self {
        Self::new("EntityAlreadyExists", 409, message)
    }

    pub fn delete_conflict(message: impl Into<String>) -> Self {
        Self::new("DeleteConflict", 409, message)
    }

    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::new("LimitExceeded", 409, message)
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new("InvalidInput", 400, message)
    }

    pub fn invalid_authentication_code(message: impl Into<String>) -> Self {
        Self::new("InvalidAuthenticationCode", 403, message)
    }

    pub fn malformed_policy(message: impl Into<String>) -> Self {
        Self::new("MalformedPolicyDocument", 400, message)
    }

    pub fn packed_policy_too_large(percent: u64) -> Self {
        Self::new(
            "PackedPolicyTooLarge",
            400,
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

/// A store failure no handler put in AWS's words. The IAM layer maps the failures it expects
/// (`crate::iam::errors`), with AWS's exact messages; what reaches this is generic: a storage
/// failure is ours, not the client's (`InternalFailure`, the detail only in the log), and the
/// rest get their AWS code with a plain message.
impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            StoreError::Internal(detail) => ApiError::internal().with_detail(detail),
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
