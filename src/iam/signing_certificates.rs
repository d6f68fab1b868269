//! X.509 signing certificates of users (and of the account's root): `UploadSigningCertificate`,
//! `ListSigningCertificates`, `UpdateSigningCertificate`, `DeleteSigningCertificate`. See
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_UploadSigningCertificate.html>.
//!
//! Like access keys, every action takes an optional `UserName`; without one it acts on the
//! calling user, and for the root (or a session without a user) on the root's own certificates.
//! Each is authorized as `iam:<Action>` on the user's (or root's) ARN. A certificate is read
//! when uploaded ([`crate::key_material`]): one PEM certificate, valid now; the same certificate
//! twice in an account is `DuplicateCertificate`; at most two per user.

use chrono::{DateTime, Utc};

use crate::credentials;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::key_material::{self, CertError};
use crate::protocol::input::{Field, input, string_field};
use crate::protocol::output::Output;
use crate::protocol::params::{self, Validator};
use crate::protocol::xml::Xml;
use crate::request::Cx;
use crate::store::{Change, Entity, SigningCertificate, StoreError, User};

use super::errors::{no_such_signing_certificate, no_such_user, store_error};
use super::input::{Name, Paging};
use super::{Member, Page, limits};

/// `certificateBodyType` (and `publicKeyMaterialType`): 1..16384 characters of
/// `[\u0009\u000A\u000D\u0020-\u00FF]+`.
#[derive(Debug, Clone)]
pub(crate) struct CertificateBody(pub(crate) String);

/// The pattern IAM prints for certificate and key text.
pub(crate) const BODY_PATTERN: &str = r"[\u0009\u000A\u000D\u0020-\u00FF]+";

impl Field for CertificateBody {
    fn read(name: &str, raw: &str, v: &mut Validator) -> ApiResult<Self> {
        v.length(name, raw, 1, 16_384)
            .pattern(name, raw, BODY_PATTERN, params::is_policy_char);
        Ok(Self(raw.to_owned()))
    }
}

string_field!(
    /// `certificateIdType`: 24..128 of `[\w]+`.
    CertificateId,
    24,
    128,
    r"[\w]+",
    |c: char| c.is_ascii_alphanumeric() || c == '_'
);

/// `statusType` as `Update*` calls take it. `Expired` is in the model's enum but is no status
/// a caller can set (refused with `InvalidInput`, wording ours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Active,
    Inactive,
    Expired,
}

impl Field for Status {
    fn read(name: &str, raw: &str, v: &mut Validator) -> ApiResult<Self> {
        Ok(match raw {
            "Active" => Status::Active,
            "Inactive" => Status::Inactive,
            "Expired" => Status::Expired,
            _ => {
                v.check(
                    name,
                    raw,
                    false,
                    "Member must satisfy enum value set: [Active, Inactive, Expired]",
                );
                Status::Active
            }
        })
    }
}

impl Status {
    /// Whether the status makes the credential active; `Expired` cannot be set.
    pub(crate) fn active(self) -> ApiResult<bool> {
        match self {
            Status::Active => Ok(true),
            Status::Inactive => Ok(false),
            Status::Expired => Err(ApiError::invalid_input(
                "Status must be Active or Inactive.",
            )),
        }
    }
}

pub(crate) fn status_text(active: bool) -> &'static str {
    if active { "Active" } else { "Inactive" }
}

/// `MalformedCertificate` and friends for a certificate that cannot be used. The texts are
/// AWS's where its answer is on record ("Unable to parse certificate. …", the chain sentence,
/// as quoted by its users); the others are ours.
pub(crate) fn certificate_error(e: CertError) -> ApiError {
    let malformed = |m: &str| ApiError::new(ErrorCode::MalformedCertificate, m);
    match e {
        CertError::NotPem => malformed(
            "Unable to parse certificate. Please ensure the certificate is in PEM format.",
        ),
        CertError::Expired => malformed("The certificate has expired."),
        CertError::NotYetValid => malformed("The certificate is not yet valid."),
        CertError::UnsupportedKey => ApiError::new(
            ErrorCode::InvalidCertificate,
            "The certificate's public key is not an RSA key.",
        ),
        CertError::Chain(i) => malformed(&format!(
            "Unable to validate certificate chain. The certificate chain must start with the immediate signing certificate, followed by any intermediaries in order. The index within the chain of the invalid certificate is: {i}"
        )),
        CertError::PrivateKey => malformed(
            "Unable to parse private key. Please ensure the private key is an unencrypted key in PEM format.",
        ),
        CertError::KeyMismatch => ApiError::new(
            ErrorCode::KeyPairMismatch,
            "The private key did not match the public key provided. Please verify the key material and try again.",
        ),
    }
}

/// The owner a request names: a user (by `UserName`, or the calling user), or the root (the
/// root calling without `UserName`). With its ARN, the resource the action is authorized on.
fn owner(cx: &Cx<'_>, named: Option<&str>) -> ApiResult<(Option<User>, String)> {
    match cx.target_user_name(named) {
        Some(name) => {
            let user = cx
                .state
                .store
                .view()
                .user_by_name(cx.account(), &name)
                .cloned()
                .ok_or_else(|| no_such_user(&name))?;
            let arn = user.arn();
            Ok((Some(user), arn))
        }
        None if cx.caller.is_root() => Ok((None, crate::identity::root_arn(cx.account()))),
        None => Err(super::errors::user_name_required()),
    }
}

/// `<Certificate>` / a member of `<Certificates>`.
#[derive(Debug)]
pub(crate) struct CertificateView {
    user_name: String,
    cert: SigningCertificate,
}

impl CertificateView {
    fn write(&self, x: &mut Xml) {
        x.elem("UserName", &self.user_name)
            .elem("CertificateId", &self.cert.id)
            .elem("CertificateBody", &self.cert.body)
            .elem("Status", status_text(self.cert.active))
            .time("UploadDate", self.cert.created_at);
    }
}

impl Member for CertificateView {
    fn write(&self, x: &mut Xml) {
        CertificateView::write(self, x);
    }
}

/// The `UserName` AWS answers for an owner: the user's name, or for the root the account id
/// (the model requires the element).
fn owner_name(cx: &Cx<'_>, user: Option<&User>) -> String {
    user.map_or_else(|| cx.account().to_owned(), |u| u.name.clone())
}

input! {
    /// `UploadSigningCertificate`
    pub(crate) struct UploadSigningCertificateInput {
        user_name: Option<Name> = optional("UserName"),
        certificate_body: CertificateBody = required("CertificateBody"),
    }
}

#[derive(Debug)]
pub(crate) struct UploadSigningCertificateOutput(CertificateView);

impl Output for UploadSigningCertificateOutput {
    fn write(&self, x: &mut Xml) {
        x.nest("Certificate", |x| self.0.write(x));
    }
}

/// Read an uploaded signing certificate as it stands at `now`.
fn read_certificate(body: &str, now: DateTime<Utc>) -> ApiResult<key_material::Certificate> {
    let cert = key_material::parse_certificate(body).map_err(certificate_error)?;
    cert.check_validity(now).map_err(certificate_error)?;
    if !cert.has_rsa_key() {
        return Err(certificate_error(CertError::UnsupportedKey));
    }
    Ok(cert)
}

pub(crate) async fn upload_signing_certificate(
    cx: &Cx<'_>,
    input: UploadSigningCertificateInput,
) -> ApiResult<UploadSigningCertificateOutput> {
    let (user, resource) = owner(cx, input.user_name.as_deref())?;
    cx.authorize(&resource)?;
    let body = input.certificate_body.0;
    let cert = read_certificate(&body, cx.info.now)?;
    let certificate = SigningCertificate {
        id: credentials::new_prefixed_id("", 32)?,
        account: cx.account().to_owned(),
        user_id: user.as_ref().map(|u| u.id.clone()),
        body,
        fingerprint: cert.fingerprint(),
        active: true,
        created_at: cx.info.now,
    };
    let user_name = owner_name(cx, user.as_ref());
    cx.state
        .store
        .apply_one(Change::UploadSigningCertificate {
            certificate: certificate.clone(),
            max_per_owner: limits::SIGNING_CERTIFICATES_PER_USER,
        })
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(Entity::SigningCertificate) => ApiError::new(
                ErrorCode::DuplicateCertificate,
                "The same certificate is already associated with a user in this account.",
            ),
            StoreError::NotFound(Entity::User) => no_such_user(&user_name),
            e => store_error(e),
        })?;
    Ok(UploadSigningCertificateOutput(CertificateView {
        user_name,
        cert: certificate,
    }))
}

input! {
    /// `ListSigningCertificates`
    pub(crate) struct ListSigningCertificatesInput {
        user_name: Option<Name> = optional("UserName"),
        paging: Paging = nested(),
    }
}

pub(crate) async fn list_signing_certificates(
    cx: &Cx<'_>,
    input: ListSigningCertificatesInput,
) -> ApiResult<Page<CertificateView>> {
    let (user, resource) = owner(cx, input.user_name.as_deref())?;
    cx.authorize(&resource)?;
    let paging = input.paging;
    let view = cx.state.store.view();
    let user_name = owner_name(cx, user.as_ref());
    let items = view
        .signing_certificates_of(cx.account(), user.as_ref().map(|u| u.id.as_str()))
        .filter(|c| paging.marker.as_deref().is_none_or(|m| c.id.as_str() > m))
        .map(|c| {
            (
                c.id.clone(),
                CertificateView {
                    user_name: user_name.clone(),
                    cert: c.clone(),
                },
            )
        });
    Ok(Page::of("Certificates", items, paging.max_items))
}

input! {
    /// `UpdateSigningCertificate`
    pub(crate) struct UpdateSigningCertificateInput {
        user_name: Option<Name> = optional("UserName"),
        certificate_id: CertificateId = required("CertificateId"),
        status: Status = required("Status"),
    }
}

pub(crate) async fn update_signing_certificate(
    cx: &Cx<'_>,
    input: UpdateSigningCertificateInput,
) -> ApiResult<()> {
    let (user, resource) = owner(cx, input.user_name.as_deref())?;
    cx.authorize(&resource)?;
    let active = input.status.active()?;
    let id = input.certificate_id.into_string();
    cx.state
        .store
        .apply_one(Change::UpdateSigningCertificate {
            account: cx.account().to_owned(),
            user_id: user.map(|u| u.id),
            id: id.clone(),
            active,
        })
        .await
        .map_err(|e| certificate_store_error(e, &id))?;
    Ok(())
}

input! {
    /// `DeleteSigningCertificate`
    pub(crate) struct DeleteSigningCertificateInput {
        user_name: Option<Name> = optional("UserName"),
        certificate_id: CertificateId = required("CertificateId"),
    }
}

pub(crate) async fn delete_signing_certificate(
    cx: &Cx<'_>,
    input: DeleteSigningCertificateInput,
) -> ApiResult<()> {
    let (user, resource) = owner(cx, input.user_name.as_deref())?;
    cx.authorize(&resource)?;
    let id = input.certificate_id.into_string();
    cx.state
        .store
        .apply_one(Change::DeleteSigningCertificate {
            account: cx.account().to_owned(),
            user_id: user.map(|u| u.id),
            id: id.clone(),
        })
        .await
        .map_err(|e| certificate_store_error(e, &id))?;
    Ok(())
}

fn certificate_store_error(e: StoreError, id: &str) -> ApiError {
    match e {
        StoreError::NotFound(Entity::SigningCertificate) => no_such_signing_certificate(id),
        e => store_error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::input::{Input, parse};
    use crate::protocol::params::Params;

    fn read<T: Input>(q: &str) -> ApiResult<T> {
        parse(&Params::parse(q.as_bytes(), None).unwrap())
    }

    #[test]
    fn inputs_have_iams_constraints() {
        let e = read::<UploadSigningCertificateInput>("UserName=a").unwrap_err();
        assert_eq!(e.code, ErrorCode::MissingParameter);
        let e = read::<UploadSigningCertificateInput>(&format!(
            "CertificateBody={}",
            "x".repeat(16_385)
        ))
        .unwrap_err();
        assert!(e.message.contains("less than or equal to 16384"), "{e:?}");
        let e =
            read::<UpdateSigningCertificateInput>("CertificateId=short&Status=Active").unwrap_err();
        assert!(e.message.contains("greater than or equal to 24"), "{e:?}");
        let e = read::<UpdateSigningCertificateInput>(&format!(
            "CertificateId={}&Status=Sleeping",
            "A".repeat(32)
        ))
        .unwrap_err();
        assert!(e.message.contains("[Active, Inactive, Expired]"), "{e:?}");
        let ok: UpdateSigningCertificateInput =
            read(&format!("CertificateId={}&Status=Expired", "A".repeat(32))).unwrap();
        assert_eq!(
            ok.status.active().unwrap_err().code,
            ErrorCode::InvalidInput
        );
    }

    #[test]
    fn every_certificate_error_has_its_code() {
        let cases = [
            (CertError::NotPem, "MalformedCertificate", 400),
            (CertError::Expired, "MalformedCertificate", 400),
            (CertError::NotYetValid, "MalformedCertificate", 400),
            (CertError::Chain(2), "MalformedCertificate", 400),
            (CertError::PrivateKey, "MalformedCertificate", 400),
            (CertError::UnsupportedKey, "InvalidCertificate", 400),
            (CertError::KeyMismatch, "KeyPairMismatch", 400),
        ];
        for (e, code, status) in cases {
            let api = certificate_error(e);
            assert_eq!((api.code.as_str(), api.status()), (code, status), "{e:?}");
        }
        assert!(
            certificate_error(CertError::Chain(2))
                .message
                .ends_with("is: 2")
        );
    }
}
