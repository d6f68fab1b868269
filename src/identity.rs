//! Who is calling: SigV4 authentication against long-term keys (from the identity snapshot) and
//! session credentials (from the sealed token itself, no database lookup).
//!
//! See AWS-REFERENCE §7. Unknown or inactive keys and bad tokens all answer
//! `InvalidClientTokenId` without saying which; a bad signature answers `SignatureDoesNotMatch`
//! without saying which part was wrong.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::credentials::{self, Secret, SessionClaims, SessionPrincipal, TokenError};
use crate::error::{ApiError, ApiResult};
use crate::protocol::Service;
use crate::sigv4::{self, RequestParts};
use crate::state::AppState;
use crate::store::Snapshot;

/// The authenticated principal behind a request.
#[derive(Debug, Clone)]
pub enum Principal {
    /// An account's root user, by its long-term key.
    Root { account: String },
    /// An IAM user, by one of its long-term keys.
    User {
        account: String,
        user_id: String,
        name: String,
        path: String,
    },
    /// Temporary credentials of any kind; everything about them is in the sealed token.
    Session(Arc<SessionClaims>),
}

#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub access_key_id: String,
}

impl Caller {
    pub fn account(&self) -> &str {
        match &self.principal {
            Principal::Root { account } | Principal::User { account, .. } => account,
            Principal::Session(c) => c.principal.account(),
        }
    }

    /// The caller's ARN as GetCallerIdentity reports it.
    pub fn arn(&self) -> String {
        match &self.principal {
            Principal::Root { account } => root_arn(account),
            Principal::User {
                account,
                name,
                path,
                ..
            } => format!("arn:aws:iam::{account}:user{path}{name}"),
            Principal::Session(c) => c.principal.arn(),
        }
    }

    /// `UserId` as GetCallerIdentity reports it.
    pub fn user_id(&self) -> String {
        match &self.principal {
            Principal::Root { account } => account.clone(),
            Principal::User { user_id, .. } => user_id.clone(),
            Principal::Session(c) => c.principal.user_id(),
        }
    }

    pub fn session(&self) -> Option<&SessionClaims> {
        match &self.principal {
            Principal::Session(c) => Some(c),
            _ => None,
        }
    }

    pub fn is_root(&self) -> bool {
        match &self.principal {
            Principal::Root { .. } => true,
            Principal::Session(c) => matches!(c.principal, SessionPrincipal::Root { .. }),
            Principal::User { .. } => false,
        }
    }
}

pub fn root_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:root")
}

/// Authenticate a signed request. Returns the caller and the credential scope's region.
pub async fn authenticate(
    state: &AppState,
    req: &RequestParts<'_>,
    service: Service,
    now: DateTime<Utc>,
) -> ApiResult<(Caller, String)> {
    let auth = sigv4::parse(req)?.ok_or_else(ApiError::missing_authentication_token)?;
    let akid = auth.access_key_id();

    let (secret, principal): (Secret, Principal) = if akid.starts_with("ASIA") {
        // Session credentials: the token carries the secret, sealed; it must name this key id.
        let token = auth
            .security_token()
            .ok_or_else(ApiError::invalid_client_token_id)?
            .expose();
        // The token must open under our keyring and name this very key id (checked before
        // expiry, so another session's expired token is simply invalid here).
        let claims = credentials::open_for_access_key_cached(&state.keyring(), token, akid, now)
            .map_err(|e| match e {
                TokenError::Expired => ApiError::expired_token(),
                TokenError::Invalid => ApiError::invalid_client_token_id()
                    .with_detail("session token did not open for this access key id"),
            })?;
        let view = state.store.view();
        if !session_principal_exists(&view, &claims.principal) {
            return Err(ApiError::invalid_client_token_id()
                .with_detail("the session's principal no longer exists"));
        }
        (claims.secret_access_key.clone(), Principal::Session(claims))
    } else {
        let mut view = state.store.view();
        if !view.access_keys.contains_key(akid) {
            // Another process may just have created it (e.g. `tessera account create`).
            state.store.refresh().await;
            view = state.store.view();
        }
        let key = view.access_keys.get(akid).ok_or_else(|| {
            ApiError::invalid_client_token_id().with_detail("unknown access key id")
        })?;
        if !key.active {
            return Err(ApiError::invalid_client_token_id().with_detail("access key is inactive"));
        }
        if auth.security_token().is_some() {
            return Err(ApiError::invalid_client_token_id()
                .with_detail("security token sent with a long-term key"));
        }
        let principal = match &key.user_id {
            None => Principal::Root {
                account: key.account.clone(),
            },
            Some(uid) => {
                let u = view.users.get(uid).ok_or_else(|| {
                    ApiError::invalid_client_token_id().with_detail("key's user is gone")
                })?;
                Principal::User {
                    account: u.account.clone(),
                    user_id: u.id.clone(),
                    name: u.name.clone(),
                    path: u.path.clone(),
                }
            }
        };
        (key.secret.clone(), principal)
    };

    sigv4::verify_cached(
        &auth,
        req,
        secret.expose_bytes(),
        state.verify_policy(service),
        now,
        &state.signing_keys,
    )?;
    let caller = Caller {
        principal,
        access_key_id: akid.to_owned(),
    };
    Ok((caller, auth.scope().region().to_owned()))
}

/// Temporary credentials outlive nothing: once their principal is deleted they stop working.
fn session_principal_exists(view: &Snapshot, p: &SessionPrincipal) -> bool {
    match p {
        SessionPrincipal::Root { account } => view.accounts.contains_key(account),
        SessionPrincipal::User { user_id, .. } => view.users.contains_key(user_id),
        // A session whose role is gone is refused (AWS re-evaluates on every use).
        SessionPrincipal::AssumedRole { role_id, .. } => view.policies.roles.contains_key(role_id),
        SessionPrincipal::FederatedUser { account, .. } => view.accounts.contains_key(account),
    }
}
