//! The one minting path for every kind of session (GetSessionToken, AssumeRole, web identity,
//! SAML): a fresh temporary key id and secret, sealed with the claims into a self-contained
//! token by [`credentials::issue_session`], and noted for the audit record.

use chrono::{DateTime, Utc};

use crate::credentials::{self, Secret, SessionSpec};
use crate::error::{ApiError, ApiResult};
use crate::request::RequestInfo;
use crate::state::AppState;

/// Credentials handed to the client.
#[derive(Debug)]
pub(crate) struct Issued {
    pub access_key_id: String,
    pub secret: Secret,
    pub token: String,
    pub expiration: DateTime<Utc>,
}

/// Mint a session lasting `seconds` from `info.now`.
pub(super) fn mint(
    state: &AppState,
    spec: SessionSpec,
    info: &RequestInfo,
    seconds: u32,
) -> ApiResult<Issued> {
    let session = credentials::issue_session(&state.keyring(), spec, info.now, seconds)
        .map_err(|e| ApiError::internal().with_detail(format!("minting session: {e}")))?;
    info.note(|n| {
        n.issued_access_key_id = Some(session.access_key_id.clone());
        n.session_expiration = Some(session.expiration);
    });
    Ok(Issued {
        access_key_id: session.access_key_id,
        secret: session.secret_access_key,
        token: session.session_token.into_string(),
        expiration: session.expiration,
    })
}
