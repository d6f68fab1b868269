//! STS actions. Business rules only: parameters come parsed, the caller authenticated; the
//! session is minted by [`crate::sessions::mint`], the one path every kind of session takes.
//! See <https://docs.aws.amazon.com/STS/latest/APIReference/welcome.html>.

mod assume_role;
pub mod session;

pub use assume_role::{assume_role, evaluate_assume, explain_denial, find_role};

use crate::auth::{Caller, Principal};
use crate::credentials::{SessionPrincipal, SessionSource, SessionSpec};
use crate::error::{ApiError, ApiResult};
use crate::http::params::{Params, Validator};
use crate::http::xml::Xml;
use crate::http::{ActionOutput, RequestInfo};
use crate::mfa;
use crate::server::AppState;
use crate::sessions::{self, Issued};

/// `GetCallerIdentity`: always allowed, for every kind of caller.
pub fn get_caller_identity(caller: &Caller) -> ApiResult<ActionOutput> {
    let mut x = Xml::new();
    x.elem("UserId", &caller.user_id())
        .elem("Account", caller.account())
        .elem("Arn", &caller.arn());
    Ok(Some(x))
}

/// GetSessionToken durations: users 900..129600 (default 43200); root 900..3600 (default 3600,
/// longer silently becomes 3600).
const GST_MIN: i64 = 900;
const GST_MAX: i64 = 129_600;
const GST_DEFAULT: i64 = 43_200;
const GST_ROOT_MAX: i64 = 3_600;

/// `GetSessionToken`: long-term credentials only; optional MFA marks the session.
pub async fn get_session_token(
    state: &AppState,
    caller: &Caller,
    params: &Params,
    info: &RequestInfo,
) -> ApiResult<ActionOutput> {
    let duration = params.int("DurationSeconds")?;
    let serial = params.get("SerialNumber");
    let code = params.get("TokenCode");
    let mut v = Validator::new();
    if let Some(d) = duration {
        v.range("DurationSeconds", d, GST_MIN, GST_MAX);
    }
    if let Some(s) = serial {
        v.length("SerialNumber", s, 9, 256)
            .pattern("SerialNumber", s, r"[\w+=/:,.@-]*", |c| {
                c.is_ascii_alphanumeric() || "_+=/:,.@-".contains(c)
            });
    }
    if let Some(c) = code {
        v.length("TokenCode", c, 6, 6)
            .pattern("TokenCode", c, r"[\d]*", |c| c.is_ascii_digit());
    }
    v.finish()?;

    let principal = match &caller.principal {
        Principal::Session(_) => {
            return Err(ApiError::access_denied(
                "Cannot call GetSessionToken with session credentials",
            ));
        }
        Principal::Root { account } => SessionPrincipal::Root {
            account: account.clone(),
        },
        Principal::User {
            account,
            user_id,
            name,
            path,
        } => SessionPrincipal::User {
            account: account.clone(),
            user_id: user_id.clone(),
            user_name: name.clone(),
            user_path: path.clone(),
        },
    };
    let seconds = match (&principal, duration) {
        (SessionPrincipal::Root { .. }, d) => d.unwrap_or(GST_ROOT_MAX).min(GST_ROOT_MAX),
        (_, d) => d.unwrap_or(GST_DEFAULT),
    };

    let mfa_at = match (serial, code) {
        (None, None) => None,
        (Some(serial), Some(code)) => {
            let user_id = match &principal {
                SessionPrincipal::User { user_id, .. } => Some(user_id.clone()),
                _ => None,
            };
            mfa::check_code(
                state,
                caller.account(),
                user_id.as_deref(),
                serial,
                code,
                info.now,
            )
            .await?;
            Some(info.now)
        }
        (Some(_), None) => return Err(ApiError::missing_parameter("TokenCode")),
        (None, Some(_)) => return Err(ApiError::missing_parameter("SerialNumber")),
    };

    let mut spec = SessionSpec::new(principal, SessionSource::GetSessionToken);
    spec.mfa_authenticated_at = mfa_at;
    let seconds = u32::try_from(seconds).map_err(|_| ApiError::internal())?;
    let issued = sessions::mint(state, spec, info, seconds)?;
    Ok(Some(credentials_xml(&issued)))
}

/// Room for a credentials result besides its session token: tags, key id, secret, expiration
/// and an assumed-role user with long names, so the buffer is sized once.
const RESULT_CAPACITY: usize = 768;

/// `<Credentials>` as every STS action returns it.
pub fn credentials_xml(issued: &Issued) -> Xml {
    let mut x = Xml::with_capacity(RESULT_CAPACITY + issued.token.len());
    write_credentials(&mut x, issued);
    x
}

pub fn write_credentials(x: &mut Xml, issued: &Issued) {
    x.nest("Credentials", |x| {
        x.elem("AccessKeyId", &issued.access_key_id)
            .elem("SecretAccessKey", issued.secret.expose())
            .elem("SessionToken", &issued.token)
            .time("Expiration", issued.expiration);
    });
}
