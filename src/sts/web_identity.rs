//! `AssumeRoleWithWebIdentity`: a workload (a CI job, a Kubernetes pod) trades the OIDC token its
//! platform gives it for a role session. The request is unsigned; who is asking follows from the
//! token, verified by [`crate::oidc`] against a provider registered in the role's account.
//! This action adds only the token, its condition keys and its answer's fields; the session is
//! made by the one role-session path.
//! See <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html>
//! and AWS-REFERENCE §4 (web identity).

use crate::credentials::{SessionClaims, SessionSource};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::identity::{Acting, SignedCaller};
use crate::oidc::{Claims, Rejection, RejectionKind, jwt};
use crate::principal::Principal;
use crate::protocol::input::{
    ArnParam, Field, Int, RoleSessionName, SourceIdentity, input, secret_field, string_field,
};
use crate::protocol::output::Output;
use crate::protocol::params::{Validator, is_name_char};
use crate::protocol::xml::Xml;
use crate::request::{Anonymous, Cx};
use crate::store::{OidcProvider, Snapshot};

use super::role_session::{self, Federation, Request, RoleSession};
use super::session::{RequestTags, SessionPolicies};
use super::write_credentials;

const ACTION: &str = "sts:AssumeRoleWithWebIdentity";
/// Claims whose `<provider>:<claim>` keys the session keeps besides `sub` and `aud` (which
/// follow from its source): AWS keeps `amr`, `aud`, `id` and `sub`.
const SESSION_CLAIMS: &[&str] = &["amr", "id"];

secret_field!(
    /// `WebIdentityToken`: 4..20,000 characters. A bearer secret.
    WebIdentityToken,
    4,
    jwt::MAX_TOKEN_CHARS
);

string_field!(
    /// `ProviderId`: 4..2048; only for OAuth 2.0 tokens of `www.amazon.com` and
    /// `graph.facebook.com`, which tessera does not accept.
    ProviderId,
    4,
    2048,
    r"[\s\S]*",
    |_c: char| true
);

input! {
    /// `AssumeRoleWithWebIdentity`
    pub(crate) struct AssumeRoleWithWebIdentityInput {
        role_arn: ArnParam = required("RoleArn"),
        role_session_name: RoleSessionName = required("RoleSessionName"),
        web_identity_token: WebIdentityToken = required("WebIdentityToken"),
        provider_id: Option<ProviderId> = optional("ProviderId"),
        duration_seconds: Option<Int<900, 43_200>> = optional("DurationSeconds"),
        policies: SessionPolicies = nested(),
    }
}

/// What `AssumeRoleWithWebIdentity` answers.
#[derive(Debug)]
pub(crate) struct AssumeRoleWithWebIdentityOutput {
    session: RoleSession,
    subject: String,
    audience: String,
    provider: String,
}

impl Output for AssumeRoleWithWebIdentityOutput {
    fn write(&self, x: &mut Xml) {
        let s = &self.session;
        write_credentials(x, &s.issued);
        x.elem("SubjectFromWebIdentityToken", &self.subject);
        x.nest("AssumedRoleUser", |x| {
            x.elem("AssumedRoleId", &s.assumed_role_id)
                .elem("Arn", &s.assumed_role_arn);
        });
        x.num("PackedPolicySize", s.packed_policy_size);
        x.arn("Provider", &self.provider);
        x.elem("Audience", &self.audience);
        x.opt("SourceIdentity", s.source_identity.as_deref());
    }

    fn size_hint(&self) -> usize {
        super::RESULT_CAPACITY + self.session.issued.token.len() + 512
    }
}

/// The token's holder, vouched for by a registered provider, while it asks for the session.
#[derive(Debug)]
struct WebIdentityAsker(Principal);

impl Acting for WebIdentityAsker {
    fn principal(&self) -> &Principal {
        &self.0
    }
    fn session(&self) -> Option<&SessionClaims> {
        None
    }
    fn signed(&self) -> Option<&SignedCaller> {
        None
    }
}

/// The registered provider URL (`host[:port][/path]`) an `iss` names: `https://` issuers, and
/// `http://` ones on loopback when the operator allowed them.
fn provider_url(iss: &str, allow_http: bool) -> Option<&str> {
    if let Some(url) = iss.strip_prefix("https://") {
        return Some(url);
    }
    let url = iss.strip_prefix("http://").filter(|_| allow_http)?;
    let host = url.split('/').next().unwrap_or("");
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    crate::oidc::keys::is_loopback_host(host).then_some(url)
}

/// The provider a token's issuer names in `account`, whose client ids include its audience.
fn registered<'v>(
    view: &'v Snapshot,
    account: &str,
    claims: &Claims,
    allow_http: bool,
) -> Result<(&'v OidcProvider, String), Rejection> {
    let not_found = || {
        Rejection::invalid(format!("no provider registered for issuer {}", claims.iss)).with_public(
            &format!(
                "No OpenIDConnect provider found in your account for {}",
                crate::protocol::params::sanitize(&claims.iss)
            ),
        )
    };
    let url = provider_url(&claims.iss, allow_http).ok_or_else(not_found)?;
    let provider = view.oidc_provider(account, url).ok_or_else(not_found)?;
    let audience = claims
        .aud
        .iter()
        .chain(claims.azp.iter())
        .find(|a| provider.client_ids.iter().any(|c| c == *a))
        .ok_or_else(|| {
            Rejection::invalid(format!(
                "audience {:?} is not a client id of {}",
                claims.aud,
                provider.arn()
            ))
            .with_public("Incorrect token audience")
        })?;
    Ok((provider, audience.clone()))
}

fn rejection_error(r: Rejection) -> ApiError {
    let (code, generic) = match r.kind {
        RejectionKind::Invalid => (
            ErrorCode::InvalidIdentityToken,
            "The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.",
        ),
        RejectionKind::Expired => (
            ErrorCode::ExpiredTokenException,
            "The web identity token that was passed is expired or is not valid. Get a new identity token from the identity provider and then retry the request.",
        ),
        RejectionKind::Rejected => (
            ErrorCode::IdpRejectedClaim,
            "The identity provider (IdP) reported that authentication failed. This might be because the claim is invalid.",
        ),
        RejectionKind::Communication => (
            ErrorCode::IdpCommunicationError,
            "The request could not be fulfilled because the identity provider (IDP) that was asked to verify the incoming identity token could not be reached. This is often a transient error caused by network conditions. Retry the request a limited number of times and wait between attempts to be notified of the problem.",
        ),
    };
    ApiError::new(code, r.public.as_deref().unwrap_or(generic))
        .with_detail(format!("web identity token refused: {}", r.reason))
}

/// Session tags and the source identity a token carries, held to the rules request
/// parameters are held to.
fn token_tags(claims: &Claims) -> ApiResult<(RequestTags, Option<String>)> {
    let tags = RequestTags::from_idp(&claims.tags, &claims.transitive_tag_keys).map_err(|e| {
        rejection_error(Rejection::invalid(format!(
            "claim {}: {}",
            jwt::TAGS_CLAIM,
            e.message
        )))
    })?;
    let source_identity = match &claims.source_identity {
        None => None,
        Some(si) => {
            let mut v = Validator::new();
            let si = SourceIdentity::read("SourceIdentity", si, &mut v)?;
            let reserved = si.to_ascii_lowercase().starts_with("aws:");
            if v.finish().is_err() || reserved || !si.chars().all(is_name_char) {
                return Err(rejection_error(Rejection::invalid(format!(
                    "claim {} is not a valid source identity",
                    jwt::SOURCE_IDENTITY_CLAIM
                ))));
            }
            Some(si.into_string())
        }
    };
    Ok((tags, source_identity))
}

pub(crate) async fn assume_role_with_web_identity(
    cx: &Cx<'_, Anonymous>,
    input: AssumeRoleWithWebIdentityInput,
) -> ApiResult<AssumeRoleWithWebIdentityOutput> {
    let (state, info) = (cx.state, cx.info);
    info.note(|n| {
        n.target = Some(input.role_arn.to_string());
        n.session_name = Some(input.role_session_name.to_string());
    });
    if input.provider_id.is_some() {
        return Err(crate::iam::errors::sts_provider_id_unsupported());
    }
    // The providers of the role's account vouch for the token.
    // `arn:<partition>:iam::<account>:role/...`; anything else finds no provider.
    let account = crate::policy::arn_account(&input.role_arn).to_owned();
    let allow_http = state.config.oidc_allow_http;
    let claims = {
        let view = state.store.view();
        state
            .web_identity
            .verify(&input.web_identity_token.0, info.now, &|c: &Claims| {
                registered(&view, &account, c, allow_http).map(|_| ())
            })
            .await
            .map_err(rejection_error)?
    };
    let view = state.store.view();
    let (provider, audience) =
        registered(&view, &account, &claims, allow_http).map_err(rejection_error)?;
    let provider_arn = provider.arn();
    let url = provider.url.clone();
    drop(view);
    info.note(|n| {
        n.identity_provider = Some(provider_arn.clone());
        n.subject = Some(claims.sub.clone());
    });

    let session_keys = claims
        .strings
        .iter()
        .filter(|(claim, _)| SESSION_CLAIMS.contains(&claim.as_str()))
        .map(|(claim, values)| (format!("{url}:{claim}"), values.clone()))
        .collect();
    let (tags, source_identity) = if claims.tags.is_empty()
        && claims.transitive_tag_keys.is_empty()
        && claims.source_identity.is_none()
    {
        (RequestTags::default(), None)
    } else {
        token_tags(&claims)?
    };
    let asker = WebIdentityAsker(Principal::WebIdentity {
        account: account.clone(),
        provider_arn: provider_arn.clone(),
        subject: claims.sub.clone(),
    });
    let session = role_session::assume(
        cx,
        &asker,
        Request {
            action: ACTION,
            source: SessionSource::WebIdentity {
                provider_arn: provider_arn.clone(),
                subject: claims.sub.clone(),
                audience: audience.clone(),
            },
            role_arn: &input.role_arn,
            session_name: &input.role_session_name,
            duration_seconds: input.duration_seconds.map(Int::get),
            policies: &input.policies,
            tags,
            source_identity: source_identity.as_deref(),
            external_id: None,
            mfa: None,
            federation: Some(Federation {
                prefix: &url,
                claims: &claims.strings,
            }),
            session_keys,
            max_seconds: None,
        },
    )
    .await?;
    Ok(AssumeRoleWithWebIdentityOutput {
        session,
        subject: claims.sub.clone(),
        audience,
        provider: provider_arn,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_and_their_provider_urls() {
        let cases = [
            (
                "https://token.actions.githubusercontent.com",
                false,
                Some("token.actions.githubusercontent.com"),
            ),
            (
                "https://gitlab.example.com/tenant",
                false,
                Some("gitlab.example.com/tenant"),
            ),
            ("http://127.0.0.1:8080", false, None),
            ("http://127.0.0.1:8080", true, Some("127.0.0.1:8080")),
            ("http://localhost:9/realm", true, Some("localhost:9/realm")),
            ("http://[::1]:9", true, Some("[::1]:9")),
            ("http://example.com", true, None),
            ("http://127.0.0.1.evil.com", true, None),
            ("ftp://x", true, None),
            ("token.actions.githubusercontent.com", true, None),
        ];
        for (iss, allow, want) in cases {
            assert_eq!(provider_url(iss, allow), want, "{iss} allow_http={allow}");
        }
    }
}
