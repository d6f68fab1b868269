//! `AssumeRoleWithSAML`: someone signed in at a company identity provider trades the SAML
//! response it got for a role session. The request is unsigned; who is asking follows from the
//! response, verified by [`crate::saml`] against the SAML provider `PrincipalArn` names, in the
//! role's account. This action adds only the response, its condition keys and its answer's
//! fields; the session is made by the one role-session path. The browser sign-in
//! (`super::saml_signin`) verifies the same way and makes its sessions through
//! [`assume_vouched`] too.
//! See <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html> and
//! AWS-REFERENCE §4 and §5 (SAML).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::arn::{Arn, Resource};
use crate::credentials::{SessionClaims, SessionSource};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::identity::{Acting, SignedCaller};
use crate::principal::Principal;
use crate::protocol::input::{ArnParam, Int, input, secret_field};
use crate::protocol::output::Output;
use crate::protocol::xml::Xml;
use crate::request::{Anonymous, Cx};
use crate::saml::aws;
use crate::saml::response::{self, Provider, Refusal, RefusalKind, Verified};
use crate::store::{Change, Conflict, StoreError};

use super::role_session::{self, Federation, Request, RoleSession};
use super::session::{RequestTags, SessionPolicies};
use super::write_credentials;

pub(crate) const ACTION: &str = "sts:AssumeRoleWithSAML";

secret_field!(
    /// `SAMLAssertion`: the base64 SAML response, 4..100,000 characters. A bearer secret.
    SamlAssertion,
    4,
    response::MAX_ENCODED_CHARS
);

input! {
    /// `AssumeRoleWithSAML`
    pub(crate) struct AssumeRoleWithSamlInput {
        role_arn: ArnParam = required("RoleArn"),
        principal_arn: ArnParam = required("PrincipalArn"),
        saml_assertion: SamlAssertion = required("SAMLAssertion"),
        duration_seconds: Option<Int<900, 43_200>> = optional("DurationSeconds"),
        policies: SessionPolicies = nested(),
    }
}

/// What `AssumeRoleWithSAML` answers, in the order AWS's own example does.
#[derive(Debug)]
pub(crate) struct AssumeRoleWithSamlOutput {
    pub(crate) session: RoleSession,
    issuer: String,
    audience: String,
    subject: String,
    subject_type: String,
    name_qualifier: String,
}

impl Output for AssumeRoleWithSamlOutput {
    fn write(&self, x: &mut Xml) {
        let s = &self.session;
        x.elem("Issuer", &self.issuer);
        x.nest("AssumedRoleUser", |x| {
            x.elem("AssumedRoleId", &s.assumed_role_id)
                .elem("Arn", &s.assumed_role_arn);
        });
        write_credentials(x, &s.issued);
        x.elem("Audience", &self.audience)
            .elem("SubjectType", &self.subject_type)
            .num("PackedPolicySize", s.packed_policy_size)
            .elem("NameQualifier", &self.name_qualifier);
        x.opt("SourceIdentity", s.source_identity.as_deref());
        x.elem("Subject", &self.subject);
    }

    fn size_hint(&self) -> usize {
        super::RESULT_CAPACITY
            + self.session.issued.token.len()
            + self.issuer.len()
            + self.audience.len()
            + self.subject.len()
            + self.subject_type.len()
            + 128
    }
}

/// The subject of a verified assertion, vouched for by a registered SAML provider, while it
/// asks for the session.
#[derive(Debug)]
struct SamlAsker(Principal);

impl Acting for SamlAsker {
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

/// A refusal of the response, as AWS answers it.
pub(crate) fn refusal_error(r: Refusal) -> ApiError {
    let code = match r.kind {
        RefusalKind::Redeem | RefusalKind::Expired => ErrorCode::ExpiredTokenException,
        RefusalKind::Rejected => ErrorCode::IdpRejectedClaim,
        RefusalKind::Internal => return ApiError::internal().with_detail(r.reason),
        RefusalKind::Malformed
        | RefusalKind::Signature
        | RefusalKind::Issuer
        | RefusalKind::Audience
        | RefusalKind::Recipient
        | RefusalKind::Encryption => ErrorCode::InvalidIdentityToken,
    };
    ApiError::new(code, r.public()).with_detail(format!("SAML response refused: {}", r.reason))
}

pub(crate) fn invalid_token(message: impl Into<String>, detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidIdentityToken, message).with_detail(detail)
}

/// The account and name of the SAML provider `arn` names, if it names one.
pub(crate) fn provider_key(arn: &str) -> Option<(String, String)> {
    let a = Arn::parse(arn).ok()?;
    match a.resource {
        Resource::SamlProvider { name } if a.service == "iam" => Some((a.account, name)),
        _ => None,
    }
}

/// What a verified assertion vouches for, as far as a session needs it: the subject and its
/// provider's claims, the `saml:` keys its attributes make, and the session's own attributes
/// (name, duration, source identity, tags), already checked. The browser sign-in carries this,
/// sealed, from the role picker to the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Vouched {
    pub(crate) issuer: String,
    pub(crate) subject: String,
    pub(crate) subject_format: Option<String>,
    /// The `Recipient` (`saml:aud`).
    pub(crate) recipient: String,
    /// The eduPerson and directory keys (`saml:mail`, ...) with their values.
    pub(crate) attribute_keys: Vec<(String, Vec<String>)>,
    pub(crate) session_name: String,
    pub(crate) session_duration: Option<i64>,
    pub(crate) session_not_on_or_after: Option<DateTime<Utc>>,
    pub(crate) source_identity: Option<String>,
    pub(crate) tags: Vec<(String, String)>,
    pub(crate) transitive_tag_keys: Vec<String>,
}

impl Vouched {
    /// Read a verified assertion's session attributes, refusing them as AWS does.
    pub(crate) fn read(v: &Verified) -> ApiResult<Vouched> {
        let attrs = aws::session_attributes(v)
            .map_err(|e| invalid_token(e.to_string(), format!("SAML attributes refused: {e}")))?;
        let vouched = Vouched {
            issuer: v.issuer.clone(),
            subject: v.subject.clone(),
            subject_format: v.subject_format.clone(),
            recipient: v.recipient.clone(),
            attribute_keys: aws::attribute_keys(v),
            session_name: attrs.session_name,
            session_duration: attrs.session_duration,
            session_not_on_or_after: v.session_not_on_or_after,
            source_identity: attrs.source_identity,
            tags: attrs.tags,
            transitive_tag_keys: attrs.transitive_tag_keys,
        };
        vouched.request_tags()?;
        Ok(vouched)
    }

    fn request_tags(&self) -> ApiResult<RequestTags> {
        RequestTags::from_idp(&self.tags, &self.transitive_tag_keys).map_err(|e| {
            invalid_token(
                e.message.clone(),
                format!("SAML PrincipalTag attributes refused: {}", e.message),
            )
        })
    }

    /// The trust-policy keys (`saml:<claim>`) of the assertion, for a provider of `account`.
    fn claims(
        &self,
        account: &str,
        provider_name: &str,
        name_qualifier: &str,
    ) -> Vec<(String, Vec<String>)> {
        let one = |k: &str, v: &str| (k.to_owned(), vec![v.to_owned()]);
        let mut out = vec![
            // `saml:aud` is the Recipient, not the Audience (IAM User Guide).
            one("aud", &self.recipient),
            one("iss", &self.issuer),
            one("sub", &self.subject),
            one(
                "sub_type",
                &aws::subject_type(self.subject_format.as_deref()),
            ),
            one("namequalifier", name_qualifier),
            one("doc", &format!("{account}/{provider_name}")),
        ];
        out.extend(self.attribute_keys.iter().map(|(k, vals)| {
            (
                k.strip_prefix("saml:").unwrap_or(k).to_owned(),
                vals.clone(),
            )
        }));
        out
    }
}

/// Remember the assertion as used: each is accepted once, until it could not be accepted
/// anyway.
pub(crate) async fn use_assertion(cx: &Cx<'_, Anonymous>, verified: &Verified) -> ApiResult<()> {
    cx.state
        .store
        .apply_one(Change::UseSamlAssertion {
            issuer: verified.issuer.clone(),
            assertion_id: verified.assertion_id.clone(),
            until: verified.acceptable_until,
            now: cx.info.now,
        })
        .await
        .map(|_| ())
        .map_err(|e| match e {
            StoreError::Conflict(Conflict::SamlAssertionUsed) => invalid_token(
                "The SAML assertion has already been used.",
                "SAML response refused: replay of an accepted assertion",
            ),
            other => other.into(),
        })
}

/// The provider that vouched for an assertion: `account`'s provider `name`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Vouching<'a> {
    pub(crate) account: &'a str,
    pub(crate) provider_name: &'a str,
}

/// The session `vouched` asks for: `role_arn`, through the one role-session path (trust policy
/// with `sts:AssumeRoleWithSAML` and the `saml:` keys, tags, source identity, audit notes).
pub(crate) async fn assume_vouched(
    cx: &Cx<'_, Anonymous>,
    vouched: &Vouched,
    by: Vouching<'_>,
    role_arn: &str,
    duration_seconds: Option<i64>,
    policies: &SessionPolicies,
) -> ApiResult<AssumeRoleWithSamlOutput> {
    let info = cx.info;
    let Vouching {
        account,
        provider_name,
    } = by;
    let provider_arn =
        crate::arn::Arn::saml_provider(crate::arn::Partition::Aws, account, provider_name)
            .to_string();
    info.note(|n| {
        n.target = Some(role_arn.to_owned());
        n.identity_provider = Some(provider_arn.clone());
        n.subject = Some(vouched.subject.clone());
        n.session_name = Some(vouched.session_name.clone());
    });
    let tags = vouched.request_tags()?;

    // The session ends no later than the IdP says: `SessionDuration`, `SessionNotOnOrAfter`.
    let until_idp = vouched
        .session_not_on_or_after
        .map(|t| (t - info.now).num_seconds());
    let max_seconds = match (vouched.session_duration, until_idp) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };

    let name_qualifier = aws::name_qualifier(&vouched.issuer, account, provider_name);
    let subject_type = aws::subject_type(vouched.subject_format.as_deref());
    let claims = vouched.claims(account, provider_name, &name_qualifier);
    let asker = SamlAsker(Principal::Saml {
        account: account.to_owned(),
        provider_arn: provider_arn.clone(),
        subject: vouched.subject.clone(),
    });
    let session = role_session::assume(
        cx,
        &asker,
        Request {
            action: ACTION,
            source: SessionSource::Saml {
                provider_arn: provider_arn.clone(),
                issuer: vouched.issuer.clone(),
                subject: vouched.subject.clone(),
                subject_type: subject_type.clone(),
                name_qualifier: name_qualifier.clone(),
            },
            role_arn,
            session_name: &vouched.session_name,
            duration_seconds,
            policies,
            tags,
            source_identity: vouched.source_identity.as_deref(),
            external_id: None,
            mfa: None,
            federation: Some(Federation {
                prefix: "saml",
                claims: &claims,
            }),
            session_keys: Vec::new(),
            max_seconds,
        },
    )
    .await?;
    Ok(AssumeRoleWithSamlOutput {
        session,
        issuer: vouched.issuer.clone(),
        audience: vouched.recipient.clone(),
        subject: vouched.subject.clone(),
        subject_type,
        name_qualifier,
    })
}

/// What verification needs of a stored provider.
pub(crate) fn provider_of(p: &crate::store::SamlProvider) -> Provider {
    Provider {
        entity_id: p.entity_id.clone(),
        signing_certs: p.signing_certs.clone(),
        private_keys: p.private_keys.iter().map(|k| k.pem.clone()).collect(),
        encryption_required: p.assertion_encryption_mode.as_deref() == Some("Required"),
    }
}

pub(crate) async fn assume_role_with_saml(
    cx: &Cx<'_, Anonymous>,
    input: AssumeRoleWithSamlInput,
) -> ApiResult<AssumeRoleWithSamlOutput> {
    let (state, info) = (cx.state, cx.info);
    info.note(|n| {
        n.target = Some(input.role_arn.to_string());
        n.identity_provider = Some(input.principal_arn.to_string());
    });

    // The provider `PrincipalArn` names, in the role's account: its metadata vouches for the
    // response. (`arn:<partition>:iam::<account>:role/...`; anything else finds no provider.)
    let role_account = crate::policy::arn_account(&input.role_arn);
    let no_provider = || {
        invalid_token(
            "Specified provider doesn't exist.",
            format!(
                "no SAML provider {} in the role's account",
                &*input.principal_arn
            ),
        )
    };
    let (account, provider_name) = provider_key(&input.principal_arn)
        .filter(|(account, _)| account == role_account)
        .ok_or_else(no_provider)?;
    let provider = {
        let view = state.store.view();
        let p = view
            .saml_provider(&account, &provider_name)
            .ok_or_else(no_provider)?;
        provider_of(p)
    };
    let provider_arn =
        crate::arn::Arn::saml_provider(crate::arn::Partition::Aws, &account, &provider_name)
            .to_string();

    let verified = state
        .saml
        .verify(input.saml_assertion.0.clone(), provider, info.now)
        .await
        .map_err(refusal_error)?;
    info.note(|n| n.subject = Some(verified.subject.clone()));

    // The role asked for must be one the IdP offers this user, through this provider.
    if !aws::offers(&verified, &input.role_arn, &provider_arn) {
        return Err(crate::iam::errors::sts_not_authorized(ACTION).with_detail(
            "the SAML response's Role attribute does not pair RoleArn with PrincipalArn",
        ));
    }
    let vouched = Vouched::read(&verified)?;
    info.note(|n| n.session_name = Some(vouched.session_name.clone()));
    use_assertion(cx, &verified).await?;
    assume_vouched(
        cx,
        &vouched,
        Vouching {
            account: &account,
            provider_name: &provider_name,
        },
        &input.role_arn,
        input.duration_seconds.map(Int::get),
        &input.policies,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_arns_name_an_account_and_a_name() {
        assert_eq!(
            provider_key("arn:aws:iam::123456789012:saml-provider/okta"),
            Some(("123456789012".into(), "okta".into()))
        );
        assert_eq!(provider_key("arn:aws:iam::123456789012:role/okta"), None);
        assert_eq!(
            provider_key("arn:aws:iam::123456789012:oidc-provider/x.example"),
            None
        );
        assert_eq!(provider_key("not an arn"), None);
    }
}
