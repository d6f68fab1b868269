//! The browser sign-in: tessera's SAML assertion consumer service (`POST /saml`), as AWS's
//! `https://signin.aws.amazon.com/saml` is one. The IdP's HTML form posts the base64
//! `SAMLResponse`; it is verified exactly as `AssumeRoleWithSAML` verifies it (same verifier,
//! same policy checks, the same replay cache), and then:
//! - one role on offer: its session, through the one role-session path, at once;
//! - several: a role picker. What finishing needs (the verified facts, the role pairs, an
//!   expiry a few minutes ahead, a one-time nonce) travels in the picker's form, sealed and
//!   HMAC'd ([`crate::credentials::form_state`]) and bound to a random double-submit cookie.
//!   There is no server-side session; the nonce is burnt in the replay cache (its own
//!   namespace) when the choice comes back, so a state is used once.
//!
//! The provider is found by the response's `Issuer` among every account's SAML providers;
//! the signature is then verified against each distinct configuration of the providers with
//! that entity id (usually one), and only roles paired with a provider whose configuration
//! verified it, in the role's own account, are offered.
//!
//! This module decides; `crate::http::saml` speaks HTTP and writes the pages. `now` is the
//! request's.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::arn::{Arn, Resource};
use crate::credentials::form_state;
use crate::error::{ApiError, ErrorCode};
use crate::request::{Anonymous, Cx};
use crate::saml::aws;
use crate::saml::response::{self, Provider, Refusal, RefusalKind, Verified, prefilter};
use crate::store::{Change, Conflict, StoreError};
use crate::wipe::Wiped;

use super::saml::{
    ACTION, AssumeRoleWithSamlOutput, Vouched, Vouching, assume_vouched, invalid_token,
    provider_key, provider_of, refusal_error, use_assertion,
};
use super::session::SessionPolicies;

/// How long a role picker may wait for the choice.
pub(crate) const STATE_LIFETIME: TimeDelta = TimeDelta::minutes(5);
/// The longest sealed state a picker form may post back (a state holds one assertion's
/// attributes; the form body bound admits this).
pub(crate) const MAX_STATE_CHARS: usize = 96 * 1024;
/// Most distinct provider configurations one response is verified against.
const MAX_PROVIDER_CONFIGS: usize = 4;
/// Most roles a picker lists.
const MAX_ROLES: usize = 100;
/// Domain separation of the sealed state (see `form_state`).
const PURPOSE: &str = "saml sign-in role picker";
/// The replay cache's key for used states. A verified assertion's issuer is trimmed and equal
/// to a provider's non-blank entity id, so it never starts with a space: this key never meets
/// an assertion's, whatever the nonce.
const USED_STATES: &str = " tessera saml sign-in state";

/// The double-submit cookie a picker sets: random, `__Host-` and `Secure` when the ACS URL the
/// IdP posted to is `https://`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Csrf {
    pub(crate) value: String,
    pub(crate) secure: bool,
}

impl Csrf {
    pub(crate) const NAME: &str = "tessera-saml-csrf";
    pub(crate) const HOST_NAME: &str = "__Host-tessera-saml-csrf";

    pub(crate) fn name(&self) -> &'static str {
        if self.secure {
            Self::HOST_NAME
        } else {
            Self::NAME
        }
    }

    /// What the MAC binds: the cookie's name (a `__Host-` state never takes a plain cookie)
    /// and value.
    fn binding(&self) -> Vec<u8> {
        [self.name().as_bytes(), b"=", self.value.as_bytes()].concat()
    }
}

/// One role the picker offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Choice {
    pub(crate) role_arn: String,
    pub(crate) role_name: String,
    pub(crate) account: String,
}

/// The role picker.
#[derive(Debug)]
pub(crate) struct Picker {
    pub(crate) subject: String,
    pub(crate) issuer: String,
    pub(crate) roles: Vec<Choice>,
    /// The sealed state the form posts back.
    pub(crate) state: String,
    pub(crate) csrf: Csrf,
    pub(crate) expires: DateTime<Utc>,
}

/// A role session handed out.
#[derive(Debug)]
pub(crate) struct SignedIn {
    pub(crate) output: AssumeRoleWithSamlOutput,
    pub(crate) role_name: String,
    pub(crate) subject: String,
}

#[derive(Debug)]
pub(crate) enum Page {
    Picker(Picker),
    SignedIn(SignedIn),
}

/// A refusal, and whether the request was malformed (400) rather than refused (403).
#[derive(Debug)]
pub(crate) struct SignInError {
    pub(crate) malformed: bool,
    pub(crate) error: ApiError,
}

impl SignInError {
    fn refused(error: ApiError) -> SignInError {
        SignInError {
            malformed: false,
            error,
        }
    }

    fn malformed(error: ApiError) -> SignInError {
        SignInError {
            malformed: true,
            error,
        }
    }

    fn of_refusal(r: Refusal) -> SignInError {
        SignInError {
            malformed: r.kind == RefusalKind::Malformed,
            error: refusal_error(r),
        }
    }
}

impl From<ApiError> for SignInError {
    fn from(error: ApiError) -> Self {
        let malformed = matches!(
            error.code,
            ErrorCode::ValidationError | ErrorCode::MalformedQueryString
        );
        SignInError { malformed, error }
    }
}

type SignInResult<T> = Result<T, SignInError>;

fn denied(detail: impl Into<String>) -> SignInError {
    SignInError::refused(
        ApiError::access_denied(format!("Not authorized to perform {ACTION}")).with_detail(detail),
    )
}

fn bad_state(detail: impl Into<String>) -> SignInError {
    SignInError::refused(
        ApiError::access_denied(
            "The sign-in form expired or was already used, or this browser did not start it. Sign in again at your identity provider.",
        )
        .with_detail(detail),
    )
}

/// A role pair on offer, through a provider that verified the response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Offer {
    role_arn: String,
    account: String,
    provider_name: String,
}

/// What the picker form carries, sealed.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    vouched: Vouched,
    offers: Vec<Offer>,
    expires: DateTime<Utc>,
    /// 256 random bits, hex: the state's key in the replay cache.
    nonce: String,
}

fn random_token() -> SignInResult<String> {
    use base64::Engine as _;
    let mut b = [0u8; 32];
    crate::credentials::fill_random(&mut b).map_err(|e| {
        SignInError::from(ApiError::internal().with_detail(format!("sign-in randomness: {e}")))
    })?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

/// The response's `Issuer`, read by the pre-filter before anything is verified: it only picks
/// which providers' certificates to verify with.
async fn claimed_issuer(encoded: Wiped<String>) -> SignInResult<String> {
    let read = tokio::task::spawn_blocking(move || -> Result<Option<String>, Refusal> {
        let xml = Wiped::new(response::decode(&encoded)?);
        prefilter::check(&xml, prefilter::Root::Response)
            .map(|shape| shape.response_issuer)
            .map_err(|e| {
                let kind = match e {
                    prefilter::ShapeError::StatusNotSuccess => RefusalKind::Rejected,
                    prefilter::ShapeError::Unsigned => RefusalKind::Signature,
                    _ => RefusalKind::Malformed,
                };
                Refusal::new(
                    kind,
                    format!("SAML response refused by the pre-filter: {e}"),
                )
            })
    })
    .await
    .map_err(|e| {
        SignInError::from(ApiError::internal().with_detail(format!("sign-in task failed: {e}")))
    })?;
    read.map_err(SignInError::of_refusal)?
        .map(|i| i.trim().to_owned())
        .filter(|i| !i.is_empty())
        .ok_or_else(|| {
            SignInError::malformed(invalid_token(
                "Your request included an invalid SAML response.",
                "SAML response refused: the browser sign-in needs a Response Issuer",
            ))
        })
}

/// The assertion consumer service: verify the posted response and answer its session or the
/// role picker.
pub(crate) async fn consume(cx: &Cx<'_, Anonymous>, encoded: Wiped<String>) -> SignInResult<Page> {
    let (state, info) = (cx.state, cx.info);
    if encoded.chars().count() > response::MAX_ENCODED_CHARS {
        return Err(SignInError::malformed(invalid_token(
            "Your request included an invalid SAML response.",
            "SAMLResponse longer than 100,000 characters",
        )));
    }
    let issuer = claimed_issuer(encoded.clone()).await?;

    // Every provider with that entity id, grouped by what verification reads of it.
    let mut configs: Vec<(Provider, Vec<(String, String)>)> = Vec::new();
    {
        let view = state.store.view();
        for p in view
            .saml_providers
            .values()
            .flat_map(|m| m.values())
            .filter(|p| p.entity_id == issuer)
        {
            let provider = provider_of(p);
            let key = (p.account.clone(), p.name.clone());
            match configs.iter_mut().find(|(c, _)| same_config(c, &provider)) {
                Some((_, names)) => names.push(key),
                None => configs.push((provider, vec![key])),
            }
        }
    }
    if configs.is_empty() {
        return Err(SignInError::refused(invalid_token(
            "Specified provider doesn't exist.",
            "no SAML provider with the response's Issuer as its entity id",
        )));
    }
    if configs.len() > MAX_PROVIDER_CONFIGS {
        tracing::warn!(
            request_id = %info.request_id,
            configs = configs.len(),
            "SAML providers with one entity id have more distinct certificates or keys than the sign-in verifies against; the first {MAX_PROVIDER_CONFIGS} are used"
        );
        configs.truncate(MAX_PROVIDER_CONFIGS);
    }

    // Verify against each configuration a role pair needs (the first always).
    let mut verified: Option<Verified> = None;
    let mut vouching: Vec<(String, String)> = Vec::new();
    let mut first_refusal: Option<Refusal> = None;
    for (provider, names) in configs {
        if let Some(v) = &verified {
            let needed = aws::roles(v)
                .iter()
                .any(|pair| provider_key(&pair.provider_arn).is_some_and(|k| names.contains(&k)));
            if !needed {
                continue;
            }
        }
        match state.saml.verify(encoded.clone(), provider, info.now).await {
            Ok(v) => {
                vouching.extend(names);
                verified.get_or_insert(v);
            }
            Err(r) => {
                first_refusal.get_or_insert(r);
            }
        }
    }
    let Some(verified) = verified else {
        let r = first_refusal
            .unwrap_or_else(|| Refusal::new(RefusalKind::Internal, "no verification ran"));
        return Err(SignInError::of_refusal(r));
    };
    info.note(|n| n.subject = Some(verified.subject.clone()));

    // The roles on offer: pairs whose provider verified the response, in the role's account.
    let mut offers: Vec<Offer> = Vec::new();
    for pair in aws::roles(&verified) {
        let Some((account, provider_name)) = provider_key(&pair.provider_arn) else {
            continue;
        };
        let role_account = Arn::parse(&pair.role_arn)
            .ok()
            .and_then(|a| match a.resource {
                Resource::Role { .. } if a.service == "iam" => Some(a.account),
                _ => None,
            });
        if role_account.as_deref() != Some(account.as_str())
            || !vouching.contains(&(account.clone(), provider_name.clone()))
            || offers.iter().any(|o| o.role_arn == pair.role_arn)
        {
            continue;
        }
        offers.push(Offer {
            role_arn: pair.role_arn,
            account,
            provider_name,
        });
    }
    offers.truncate(MAX_ROLES);
    if let [only] = offers.as_slice() {
        info.note(|n| {
            n.target = Some(only.role_arn.clone());
        });
    }
    let vouched = Vouched::read(&verified).map_err(SignInError::refused)?;
    info.note(|n| n.session_name = Some(vouched.session_name.clone()));
    if offers.is_empty() {
        return Err(denied(
            "the SAML response's Role attribute pairs no role with a provider that verified it in the role's account",
        ));
    }
    use_assertion(cx, &verified)
        .await
        .map_err(SignInError::refused)?;

    match offers.as_slice() {
        [only] => finish(cx, &vouched, only).await.map(Page::SignedIn),
        _ => {
            let csrf = Csrf {
                value: random_token()?,
                secure: vouched.recipient.starts_with("https://"),
            };
            let expires = info.now + STATE_LIFETIME;
            let roles = offers.iter().map(choice).collect();
            let sealed = State {
                vouched,
                offers,
                expires,
                nonce: random_token()?,
            };
            let text = Wiped::new(serde_json::to_vec(&sealed).map_err(|e| {
                SignInError::from(ApiError::internal().with_detail(format!("sign-in state: {e}")))
            })?);
            let token = form_state::seal(&state.keyring(), PURPOSE, &text, &csrf.binding())
                .map_err(|e| {
                    SignInError::from(
                        ApiError::internal().with_detail(format!("sealing sign-in state: {e}")),
                    )
                })?;
            if token.len() > MAX_STATE_CHARS {
                return Err(SignInError::malformed(invalid_token(
                    "The SAML response carries too many attributes for the sign-in page.",
                    format!("sealed sign-in state of {} characters", token.len()),
                )));
            }
            Ok(Page::Picker(Picker {
                subject: sealed.vouched.subject,
                issuer: sealed.vouched.issuer,
                roles,
                state: token,
                csrf,
                expires,
            }))
        }
    }
}

fn same_config(a: &Provider, b: &Provider) -> bool {
    a.entity_id == b.entity_id
        && a.signing_certs == b.signing_certs
        && a.encryption_required == b.encryption_required
        && a.private_keys.len() == b.private_keys.len()
        && a.private_keys
            .iter()
            .zip(&b.private_keys)
            .all(|(x, y)| x.ct_eq(y))
}

fn choice(o: &Offer) -> Choice {
    let role_name = Arn::parse(&o.role_arn)
        .ok()
        .and_then(|a| match a.resource {
            Resource::Role { name, .. } => Some(name),
            _ => None,
        })
        .unwrap_or_default();
    Choice {
        role_arn: o.role_arn.clone(),
        role_name,
        account: o.account.clone(),
    }
}

/// The picker's answer: `role_arn` chosen from the sealed `token`, with the cookies of the
/// picker's name the browser sent.
pub(crate) async fn choose(
    cx: &Cx<'_, Anonymous>,
    token: &str,
    cookies: &[Csrf],
    role_arn: &str,
) -> SignInResult<Page> {
    let (state, info) = (cx.state, cx.info);
    if cookies.is_empty() {
        return Err(bad_state("no CSRF cookie came with the role choice"));
    }
    let keyring = state.keyring();
    let opened = cookies
        .iter()
        .find_map(|c| form_state::open(&keyring, PURPOSE, token, &c.binding(), MAX_STATE_CHARS).ok())
        .ok_or_else(|| {
            bad_state("sign-in state does not open with this browser's CSRF cookie (tampered, foreign, or a retired key)")
        })?;
    let sealed: State = serde_json::from_slice(opened.expose_bytes()).map_err(|e| {
        SignInError::from(
            ApiError::internal().with_detail(format!("sealed sign-in state does not parse: {e}")),
        )
    })?;
    info.note(|n| {
        n.subject = Some(sealed.vouched.subject.clone());
        n.session_name = Some(sealed.vouched.session_name.clone());
    });
    if info.now >= sealed.expires {
        return Err(bad_state("sign-in state expired"));
    }
    let offer = sealed
        .offers
        .iter()
        .find(|o| o.role_arn == role_arn)
        .ok_or_else(|| denied("the chosen role is not one the sign-in state offers"))?;
    info.note(|n| n.target = Some(offer.role_arn.clone()));
    // Once: the nonce is remembered until the state could not be used anyway.
    state
        .store
        .apply_one(Change::UseSamlAssertion {
            issuer: USED_STATES.to_owned(),
            assertion_id: sealed.nonce.clone(),
            until: sealed.expires,
            now: info.now,
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(Conflict::SamlAssertionUsed) => {
                bad_state("sign-in state already used")
            }
            other => SignInError::from(ApiError::from(other)),
        })?;
    finish(cx, &sealed.vouched, offer).await.map(Page::SignedIn)
}

/// The session of `offer`, if its provider still exists.
async fn finish(
    cx: &Cx<'_, Anonymous>,
    vouched: &Vouched,
    offer: &Offer,
) -> SignInResult<SignedIn> {
    if cx
        .state
        .store
        .view()
        .saml_provider(&offer.account, &offer.provider_name)
        .is_none()
    {
        return Err(SignInError::refused(invalid_token(
            "Specified provider doesn't exist.",
            "the SAML provider was deleted during the sign-in",
        )));
    }
    let output = assume_vouched(
        cx,
        vouched,
        Vouching {
            account: &offer.account,
            provider_name: &offer.provider_name,
        },
        &offer.role_arn,
        None,
        &SessionPolicies::default(),
    )
    .await
    .map_err(SignInError::from)?;
    Ok(SignedIn {
        role_name: choice(offer).role_name,
        subject: vouched.subject.clone(),
        output,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binding_names_the_cookie() {
        let plain = Csrf {
            value: "v".into(),
            secure: false,
        };
        let host = Csrf {
            value: "v".into(),
            secure: true,
        };
        assert_eq!(plain.binding(), b"tessera-saml-csrf=v");
        assert_eq!(host.binding(), b"__Host-tessera-saml-csrf=v");
    }

    #[test]
    fn the_used_state_key_is_no_issuer() {
        assert_ne!(USED_STATES.trim(), USED_STATES);
    }
}
