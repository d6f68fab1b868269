//! Who is calling: SigV4 authentication against long-term keys (from the identity snapshot) and
//! session credentials (from the sealed token itself, no database lookup).
//!
//! See AWS-REFERENCE §7. Unknown or inactive keys and bad tokens all answer
//! `InvalidClientTokenId` without saying which; a bad signature answers `SignatureDoesNotMatch`
//! without saying which part was wrong.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::credentials::{self, Secret, SessionClaims, TokenError};
use crate::error::{ApiError, ApiResult};
use crate::principal::Principal;
use crate::protocol::Service;
use crate::sigv4::{self, RequestParts};
use crate::state::AppState;
use crate::store::Snapshot;

/// Who sent a request: a caller that signed it, or nobody in particular (the unsigned
/// federation actions, whose input says who is asking).
#[derive(Debug, Clone, Default)]
pub(crate) enum Caller {
    Signed(SignedCaller),
    #[default]
    Anonymous,
}

impl Caller {
    /// The signed caller, if the request was signed.
    pub(crate) fn signed(&self) -> Option<&SignedCaller> {
        match self {
            Caller::Signed(c) => Some(c),
            Caller::Anonymous => None,
        }
    }
}

/// Whoever a policy decision is about: a caller that signed its request, or someone a
/// registered identity provider vouches for (`AssumeRoleWithWebIdentity`).
pub(crate) trait Acting {
    /// Who it acts as.
    fn principal(&self) -> &Principal;
    /// The claims of the session it signed with, for temporary credentials.
    fn session(&self) -> Option<&SessionClaims>;
    /// The signed caller, if it signed.
    fn signed(&self) -> Option<&SignedCaller>;
}

impl Acting for SignedCaller {
    fn principal(&self) -> &Principal {
        SignedCaller::principal(self)
    }
    fn session(&self) -> Option<&SessionClaims> {
        SignedCaller::session(self)
    }
    fn signed(&self) -> Option<&SignedCaller> {
        Some(self)
    }
}

/// A caller that signed its request with an access key.
#[derive(Debug, Clone)]
pub(crate) struct SignedCaller {
    pub access_key_id: String,
    credential: Credential,
}

/// What the access key was.
#[derive(Debug, Clone)]
enum Credential {
    /// A long-term key of the root or a user.
    LongTerm(Principal),
    /// Temporary credentials of any kind; everything about them is in the sealed token.
    Session(Arc<SessionClaims>),
}

impl SignedCaller {
    /// Who the credentials act as.
    pub(crate) fn principal(&self) -> &Principal {
        match &self.credential {
            Credential::LongTerm(p) => p,
            Credential::Session(c) => &c.principal,
        }
    }

    /// The session's claims, for temporary credentials.
    pub(crate) fn session(&self) -> Option<&SessionClaims> {
        match &self.credential {
            Credential::Session(c) => Some(c),
            Credential::LongTerm(_) => None,
        }
    }

    pub(crate) fn account(&self) -> &str {
        self.principal().account()
    }

    /// The caller's ARN as GetCallerIdentity reports it.
    pub(crate) fn arn(&self) -> String {
        self.principal().arn()
    }

    /// The caller's ARN in `partition` (that of the request's signing region).
    pub(crate) fn arn_in(&self, partition: crate::arn::Partition) -> String {
        self.principal().arn_in(partition)
    }

    /// `UserId` as GetCallerIdentity reports it.
    pub(crate) fn user_id(&self) -> String {
        self.principal().user_id()
    }

    pub(crate) fn is_root(&self) -> bool {
        self.principal().is_root()
    }
}

pub(crate) fn root_arn(account: &str) -> String {
    crate::arn::Partition::Aws.root_arn(account)
}

/// Authenticate a signed request. Returns the caller and the credential scope's region.
pub(crate) async fn authenticate(
    state: &AppState,
    req: &RequestParts<'_>,
    service: Service,
    now: DateTime<Utc>,
) -> ApiResult<(SignedCaller, String)> {
    let auth = sigv4::parse(req)?.ok_or_else(ApiError::missing_authentication_token)?;
    let akid = auth.access_key_id();

    let (secret, credential): (Secret, Credential) = if akid.starts_with("ASIA") {
        // Session credentials: the token carries the secret, sealed; it must name this key id.
        let token = auth
            .security_token()
            .ok_or_else(ApiError::invalid_client_token_id)?
            .expose();
        // The token must open under our keyring and name this very key id (checked before
        // expiry, so another session's expired token is simply invalid here).
        let open = |keyring: &credentials::Keyring| {
            credentials::open_for_access_key_cached(
                keyring,
                token,
                akid,
                now,
                state.keyring.opened_counts(),
            )
        };
        let keyring = state.keyring();
        let mut opened = open(&keyring);
        if opened.is_err()
            && credentials::sealed_with(token).is_some_and(|id| keyring.key(id).is_none())
        {
            // Sealed with a key this process does not hold: another node (or `tessera keys
            // rotate`) may just have rotated the keyring. Look, then try once more.
            state.store.refresh().await;
            opened = open(&state.keyring());
        }
        let claims = opened.map_err(|e| match e {
            TokenError::Expired => ApiError::expired_token(),
            TokenError::Invalid => ApiError::invalid_client_token_id()
                .with_detail("session token did not open for this access key id"),
        })?;
        let view = state.store.view();
        if !session_principal_exists(&view, &claims.principal) {
            return Err(ApiError::invalid_client_token_id()
                .with_detail("the session's principal no longer exists"));
        }
        let claims = current_user_name(&view, claims);
        (
            claims.secret_access_key.clone(),
            Credential::Session(claims),
        )
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
                    user_name: u.name.clone(),
                    user_id: u.id.clone(),
                    user_path: u.path.clone(),
                }
            }
        };
        (key.secret.clone(), Credential::LongTerm(principal))
    };

    sigv4::verify_cached(
        &auth,
        req,
        secret.expose_bytes(),
        state.verify_policy(service),
        now,
        &state.signing_keys,
    )?;
    // A verified request made with a long-term key is a use of it (`GetAccessKeyLastUsed`):
    // recorded in memory, written later. Requests made with temporary credentials are uses of
    // those, not of the key that obtained them.
    if let Credential::LongTerm(_) = credential {
        state
            .store
            .key_usage()
            .record(akid, now, auth.scope().region(), service.signing_name());
    }
    let caller = SignedCaller {
        access_key_id: akid.to_owned(),
        credential,
    };
    Ok((caller, auth.scope().region().to_owned()))
}

/// A user's session belongs to the user's id: after `UpdateUser` renamed or moved the user, the
/// session acts under the user's name and path as they are now (its ARN, `aws:username`).
fn current_user_name(view: &Snapshot, claims: Arc<SessionClaims>) -> Arc<SessionClaims> {
    if let Principal::User {
        user_id,
        user_name,
        user_path,
        ..
    } = &claims.principal
        && let Some(u) = view.users.get(user_id)
        && (u.name != *user_name || u.path != *user_path)
    {
        let mut c = (*claims).clone();
        c.principal = Principal::User {
            account: u.account.clone(),
            user_name: u.name.clone(),
            user_id: u.id.clone(),
            user_path: u.path.clone(),
        };
        return Arc::new(c);
    }
    claims
}

/// Temporary credentials outlive nothing: once their principal is deleted they stop working.
fn session_principal_exists(view: &Snapshot, p: &Principal) -> bool {
    match p {
        Principal::Root { account } => view.accounts.contains_key(account),
        Principal::User { user_id, .. } => view.users.contains_key(user_id),
        // A session whose role is gone is refused (AWS re-evaluates on every use).
        Principal::AssumedRole { role_id, .. } => view.policies.roles.contains_key(role_id),
        Principal::FederatedUser { account, .. } => view.accounts.contains_key(account),
        // Not a session's principal: a token carrying it is not one tessera minted.
        Principal::WebIdentity { .. } | Principal::Saml { .. } => false,
    }
}
