//! STS actions. Business rules only: parameters come parsed into typed inputs, the caller
//! authenticated; the session is minted by [`mint::mint`], the one path every kind
//! of session takes. See <https://docs.aws.amazon.com/STS/latest/APIReference/welcome.html>.

mod assume_role;
mod federation_token;
mod mfa;
mod mint;
mod role_session;
pub(crate) mod saml;
pub(crate) mod saml_signin;
pub(crate) mod session;
pub(crate) mod web_identity;

pub(crate) use assume_role::assume_role;
pub(crate) use federation_token::get_federation_token;

use chrono::{DateTime, Utc};

use crate::credentials::{SessionSource, SessionSpec};
use crate::error::{ApiError, ApiResult};
use crate::identity::SignedCaller;
use crate::principal::Principal;
use crate::protocol::input::{Int, MfaCode, input, string_field};
use crate::protocol::output::Output;
use crate::protocol::xml::Xml;
use crate::request::Cx;
use mint::Issued;

input! {
    /// `GetCallerIdentity` takes no parameters.
    pub(crate) struct GetCallerIdentityInput {}
}

/// Who the caller is, as `GetCallerIdentity` answers.
#[derive(Debug)]
pub(crate) struct CallerIdentity {
    user_id: String,
    account: String,
    arn: String,
}

impl Output for CallerIdentity {
    fn write(&self, x: &mut Xml) {
        x.elem("UserId", &self.user_id)
            .elem("Account", &self.account)
            .elem("Arn", &self.arn);
    }

    fn size_hint(&self) -> usize {
        64 + self.user_id.len() + self.account.len() + self.arn.len()
    }
}

/// `GetCallerIdentity`: always allowed, for every kind of caller.
pub(crate) async fn get_caller_identity(
    cx: &Cx<'_>,
    _: GetCallerIdentityInput,
) -> ApiResult<CallerIdentity> {
    Ok(CallerIdentity {
        user_id: cx.caller.user_id(),
        account: cx.caller.account().to_owned(),
        arn: cx.caller.arn_in(cx.info.partition()),
    })
}

/// GetSessionToken durations: users 900..129600 (default 43200); root 900..3600 (default 3600,
/// longer silently becomes 3600).
const GST_DEFAULT: i64 = 43_200;
const GST_ROOT_MAX: i64 = 3_600;

input! {
    /// `GetSessionToken`
    pub(crate) struct GetSessionTokenInput {
        duration_seconds: Option<Int<900, 129_600>> = optional("DurationSeconds"),
        mfa: MfaCode = nested(),
    }
}

/// `GetSessionToken`: long-term credentials only; optional MFA marks the session.
pub(crate) async fn get_session_token(
    cx: &Cx<'_>,
    input: GetSessionTokenInput,
) -> ApiResult<Credentials> {
    let caller = cx.caller;
    if caller.session().is_some() {
        return Err(crate::iam::errors::sts_session_credentials_refused(
            "GetSessionToken",
        ));
    }
    let principal = caller.principal().clone();
    let duration = input.duration_seconds.map(Int::get);
    let seconds = match (&principal, duration) {
        (Principal::Root { .. }, d) => d.unwrap_or(GST_ROOT_MAX).min(GST_ROOT_MAX),
        (_, d) => d.unwrap_or(GST_DEFAULT),
    };
    let mfa_at = verify_mfa(cx, &input.mfa).await?;

    let mut spec = SessionSpec::new(principal, SessionSource::GetSessionToken);
    spec.mfa_authenticated_at = mfa_at;
    let seconds = u32::try_from(seconds).map_err(|_| ApiError::internal())?;
    let issued = mint::mint(cx.state, spec, cx.info, seconds)?;
    Ok(Credentials(issued))
}

/// Check and burn the MFA code a request carries (both `SerialNumber` and `TokenCode`, or
/// neither). Returns when MFA was authenticated: now, or never.
///
/// The device must be enabled for the calling user (or, for the account's root, for the root).
/// Role and federated sessions have no MFA devices.
pub(crate) async fn verify_mfa(cx: &Cx<'_>, mfa: &MfaCode) -> ApiResult<Option<DateTime<Utc>>> {
    let Some((serial, code)) = mfa.pair()? else {
        return Ok(None);
    };
    let caller: &SignedCaller = cx.caller;
    let user_id = match caller.principal() {
        Principal::Root { .. } => None,
        Principal::User { user_id, .. } => Some(user_id.as_str()),
        Principal::AssumedRole { .. }
        | Principal::FederatedUser { .. }
        | Principal::WebIdentity { .. }
        | Principal::Saml { .. } => {
            return Err(crate::iam::errors::sts_mfa_unknown_device()
                .with_detail("MFA: caller has no MFA devices"));
        }
    };
    mfa::check_code(
        cx.state,
        caller.account(),
        user_id,
        serial,
        code,
        cx.info.now,
    )
    .await
    .map_err(|e| {
        let d = e.detail.clone().unwrap_or_default();
        e.with_detail(format!("MFA check failed: {d}"))
    })?;
    Ok(Some(cx.info.now))
}

/// Room for a credentials result besides its session token: tags, key id, secret, expiration
/// and an assumed-role user with long names, so the buffer is sized once.
const RESULT_CAPACITY: usize = 768;

/// `<Credentials>` alone, as `GetSessionToken` answers.
#[derive(Debug)]
pub(crate) struct Credentials(Issued);

impl Output for Credentials {
    fn write(&self, x: &mut Xml) {
        write_credentials(x, &self.0);
    }

    fn size_hint(&self) -> usize {
        RESULT_CAPACITY + self.0.token.len()
    }
}

/// `<Credentials>` as every STS action returns it.
pub(crate) fn write_credentials(x: &mut Xml, issued: &Issued) {
    x.nest("Credentials", |x| {
        x.elem("AccessKeyId", &issued.access_key_id)
            .elem("SecretAccessKey", issued.secret.expose())
            .elem("SessionToken", &issued.token)
            .time("Expiration", issued.expiration);
    });
}

string_field!(
    /// `AccessKeyId` as `GetAccessKeyInfo` takes it: 16..128 word characters.
    AnyAccessKeyId,
    16,
    128,
    r"[\w]*",
    |c: char| c.is_ascii_alphanumeric() || c == '_'
);

input! {
    /// `GetAccessKeyInfo`
    pub(crate) struct GetAccessKeyInfoInput {
        access_key_id: AnyAccessKeyId = required("AccessKeyId"),
    }
}

/// What `GetAccessKeyInfo` answers.
#[derive(Debug)]
pub(crate) struct AccessKeyInfo {
    account: String,
}

impl Output for AccessKeyInfo {
    fn write(&self, x: &mut Xml) {
        x.elem("Account", &self.account);
    }
}

/// `GetAccessKeyInfo`: the account an access key id belongs to, long-term or temporary. Like
/// AWS, the account is read from the key id itself, so the answer says nothing about whether
/// the key exists or is active. Key ids that carry no account (operator-chosen root key ids,
/// keys in AWS's pre-2019 format) are looked up instead; one that is not known is refused with
/// the same answer whatever the reason.
pub(crate) async fn get_access_key_info(
    cx: &Cx<'_>,
    input: GetAccessKeyInfoInput,
) -> ApiResult<AccessKeyInfo> {
    crate::authorization::authorize_with_tags(
        cx.state,
        cx.caller,
        "sts:GetAccessKeyInfo",
        "*",
        &[],
        &[],
        cx.info,
    )?;
    let view = cx.state.store.view();
    let id = input.access_key_id.as_str();
    let account = crate::credentials::account_from_key_id(id)
        .or_else(|| view.access_keys.get(id).map(|k| k.account.clone()))
        .ok_or_else(|| {
            crate::iam::errors::sts_invalid_access_key_id()
                .with_detail("key id carries no account and is not a known long-term key")
        })?;
    Ok(AccessKeyInfo { account })
}

string_field!(
    /// `EncodedMessage`: 1..10240 characters.
    EncodedMessage,
    1,
    crate::denial::MAX_ENCODED,
    r"[\s\S]*",
    |_c: char| true
);

input! {
    /// `DecodeAuthorizationMessage`
    pub(crate) struct DecodeAuthorizationMessageInput {
        encoded_message: EncodedMessage = required("EncodedMessage"),
    }
}

/// What `DecodeAuthorizationMessage` answers: the JSON document, as text.
#[derive(Debug)]
pub(crate) struct DecodedMessage(String);

impl Output for DecodedMessage {
    fn write(&self, x: &mut Xml) {
        x.elem("DecodedMessage", &self.0);
    }

    fn size_hint(&self) -> usize {
        64 + self.0.len() + self.0.len() / 4
    }
}

/// `DecodeAuthorizationMessage`: the document sealed into a refusal, for a principal of the
/// account it was sealed for that `sts:DecodeAuthorizationMessage` allows. Anything else
/// (another account's message, a tampered or truncated one, one sealed under a key the keyring
/// no longer holds) gets the same answer.
pub(crate) async fn decode_authorization_message(
    cx: &Cx<'_>,
    input: DecodeAuthorizationMessageInput,
) -> ApiResult<DecodedMessage> {
    let caller = cx.caller;
    crate::authorization::authorize_with_tags(
        cx.state,
        caller,
        "sts:DecodeAuthorizationMessage",
        "*",
        &[],
        &[],
        cx.info,
    )?;
    crate::denial::open(
        &cx.state.keyring(),
        caller.account(),
        &input.encoded_message,
    )
    .map(DecodedMessage)
    .ok_or_else(|| {
        crate::iam::errors::sts_invalid_authorization_message()
            .with_detail("not sealed by this keyring for the caller's account")
    })
}
