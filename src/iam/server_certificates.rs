//! Server certificates: TLS certificates with their private keys and chains, kept for services
//! that terminate HTTPS. `UploadServerCertificate`, `GetServerCertificate`,
//! `ListServerCertificates`, `UpdateServerCertificate`, `DeleteServerCertificate` and their
//! tags. See <https://docs.aws.amazon.com/IAM/latest/APIReference/API_UploadServerCertificate.html>
//! and <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_server-certs.html>.
//!
//! An upload is read off the async threads ([`crate::key_material`]): one PEM certificate,
//! valid now; a chain that starts with its issuer, each certificate issued by the next; an
//! unencrypted private key that is the certificate's (`KeyPairMismatch` otherwise). The key is
//! kept as PKCS#8 in a [`Secret`], sealed at rest by the store, and never answered. Names are
//! unique per account case-insensitively; the ARN is
//! `arn:aws:iam::<acct>:server-certificate<path><name>`.

use chrono::{DateTime, Utc};

use crate::arn::Partition;
use crate::credentials::{self, Secret};
use crate::error::{ApiError, ApiResult};
use crate::key_material::{self, CertError};
use crate::protocol::input::{Field, input, secret_field};
use crate::protocol::output::Output;
use crate::protocol::params::{self, Validator};
use crate::protocol::xml::Xml;
use crate::request::Cx;
use crate::store::{Change, Entity, ServerCertificate, StoreError};

use super::errors::{no_such_server_certificate, server_certificate_exists, store_error};
use super::input::{IamPath, IamTags, Name, Paging, PathPrefix, TagKeys};
use super::signing_certificates::{BODY_PATTERN, CertificateBody, certificate_error};
use super::tags::TagPage;
use super::{Member, Page, check_tag_quota, limits, write_tags};

/// `certificateChainType`: 1..2097152 characters of the certificate text pattern.
#[derive(Debug, Clone)]
pub(crate) struct CertificateChain(pub(crate) String);

impl Field for CertificateChain {
    fn read(name: &str, raw: &str, v: &mut Validator) -> ApiResult<Self> {
        v.length(name, raw, 1, 2_097_152)
            .pattern(name, raw, BODY_PATTERN, params::is_policy_char);
        Ok(Self(raw.to_owned()))
    }
}

secret_field!(
    /// `PrivateKey` (`privateKeyType`, sensitive): 1..16384 characters, never echoed.
    PrivateKeyPem,
    1,
    16_384
);

/// `<ServerCertificateMetadata>` content.
fn write_metadata(x: &mut Xml, c: &ServerCertificate) {
    x.elem("Path", &c.path)
        .elem("ServerCertificateName", &c.name)
        .elem("ServerCertificateId", &c.id)
        .arn("Arn", &c.arn())
        .time("UploadDate", c.created_at)
        .time("Expiration", c.expiration);
}

/// The certificate `name` of the caller's account, once the caller may act on it (its tags as
/// `iam:ResourceTag/*`). A certificate that does not exist is `NoSuchEntity` only for a caller
/// allowed to act on that name at the root path; others hear `AccessDenied`.
fn authorized_certificate(cx: &Cx<'_>, name: &str) -> ApiResult<ServerCertificate> {
    let found = cx
        .state
        .store
        .view()
        .server_certificate_by_name(cx.account(), name)
        .cloned();
    match found {
        Some(c) => {
            cx.authorize_tagged(&c.arn(), &c.tags)?;
            Ok(c)
        }
        None => {
            cx.authorize(&Partition::Aws.server_certificate_arn(cx.account(), "/", name))?;
            Err(no_such_server_certificate(name))
        }
    }
}

fn certificate_store_error(e: StoreError, name: &str) -> ApiError {
    match e {
        StoreError::NotFound(Entity::ServerCertificate) => no_such_server_certificate(name),
        StoreError::AlreadyExists(Entity::ServerCertificate) => server_certificate_exists(name),
        e => store_error(e),
    }
}

/// What an upload is made of, read and checked at `now`: the private key as PKCS#8 and the
/// certificate's expiry.
fn read_upload(
    body: &str,
    chain: Option<&str>,
    private_key: &str,
    now: DateTime<Utc>,
) -> Result<(Secret, DateTime<Utc>), CertError> {
    let cert = key_material::parse_certificate(body)?;
    cert.check_validity(now)?;
    if let Some(chain) = chain {
        let chain = key_material::parse_chain(chain)?;
        key_material::check_chain(&cert, &chain)?;
    }
    let key = key_material::parse_private_key_for(private_key, &cert)?;
    Ok((key, cert.not_after))
}

input! {
    /// `UploadServerCertificate`
    pub(crate) struct UploadServerCertificateInput {
        path: IamPath = or_default("Path"),
        server_certificate_name: Name = required("ServerCertificateName"),
        certificate_body: CertificateBody = required("CertificateBody"),
        private_key: PrivateKeyPem = required("PrivateKey"),
        certificate_chain: Option<CertificateChain> = optional("CertificateChain"),
        tags: IamTags = nested(),
    }
}

/// `<ServerCertificateMetadata>` and the tags given.
#[derive(Debug)]
pub(crate) struct UploadOutput(ServerCertificate);

impl Output for UploadOutput {
    fn write(&self, x: &mut Xml) {
        x.nest("ServerCertificateMetadata", |x| write_metadata(x, &self.0));
        if !self.0.tags.is_empty() {
            write_tags(x, &self.0.tags);
        }
    }
}

pub(crate) async fn upload_server_certificate(
    cx: &Cx<'_>,
    input: UploadServerCertificateInput,
) -> ApiResult<UploadOutput> {
    let (name, path) = (input.server_certificate_name.into_string(), input.path.0);
    cx.authorize(&Partition::Aws.server_certificate_arn(cx.account(), &path, &name))?;
    let body = input.certificate_body.0;
    let chain = input.certificate_chain.map(|c| c.0);
    let key = input.private_key;
    let now = cx.info.now;
    // A chain may be 2 MB of certificates and an RSA key check takes a while: off the async
    // threads.
    let (body, chain, read) = tokio::task::spawn_blocking(move || {
        let read = read_upload(&body, chain.as_deref(), &key.0, now);
        (body, chain, read)
    })
    .await
    .map_err(|e| ApiError::internal().with_detail(format!("server certificate task: {e}")))?;
    let (private_key, expiration) = read.map_err(certificate_error)?;
    let certificate = ServerCertificate {
        id: credentials::new_prefixed_id("ASCA", 17)?,
        account: cx.account().to_owned(),
        name,
        path,
        body,
        chain,
        private_key,
        expiration,
        created_at: now,
        tags: input.tags.0,
    };
    cx.state
        .store
        .apply_one(Change::UploadServerCertificate {
            certificate: certificate.clone(),
            max_per_account: limits::SERVER_CERTIFICATES_PER_ACCOUNT,
        })
        .await
        .map_err(|e| certificate_store_error(e, &certificate.name))?;
    Ok(UploadOutput(certificate))
}

input! {
    /// `GetServerCertificate`, `DeleteServerCertificate`
    pub(crate) struct ServerCertificateNameInput {
        server_certificate_name: Name = required("ServerCertificateName"),
    }
}

/// `<ServerCertificate>`: metadata, body, chain and tags; never the private key.
#[derive(Debug)]
pub(crate) struct GetOutput(ServerCertificate);

impl Output for GetOutput {
    fn write(&self, x: &mut Xml) {
        let c = &self.0;
        x.nest("ServerCertificate", |x| {
            x.nest("ServerCertificateMetadata", |x| write_metadata(x, c))
                .elem("CertificateBody", &c.body)
                .opt("CertificateChain", c.chain.as_deref());
            if !c.tags.is_empty() {
                write_tags(x, &c.tags);
            }
        });
    }
}

pub(crate) async fn get_server_certificate(
    cx: &Cx<'_>,
    input: ServerCertificateNameInput,
) -> ApiResult<GetOutput> {
    authorized_certificate(cx, &input.server_certificate_name).map(GetOutput)
}

input! {
    /// `ListServerCertificates`
    pub(crate) struct ListServerCertificatesInput {
        path_prefix: PathPrefix = or_default("PathPrefix"),
        paging: Paging = nested(),
    }
}

/// A member of `<ServerCertificateMetadataList>`.
#[derive(Debug)]
pub(crate) struct MetadataMember(ServerCertificate);

impl Member for MetadataMember {
    fn write(&self, x: &mut Xml) {
        write_metadata(x, &self.0);
    }
}

pub(crate) async fn list_server_certificates(
    cx: &Cx<'_>,
    input: ListServerCertificatesInput,
) -> ApiResult<Page<MetadataMember>> {
    cx.authorize(&cx.arn("server-certificate", "/", ""))?;
    let (prefix, paging) = (input.path_prefix.0, input.paging);
    let view = cx.state.store.view();
    let marker = paging.marker.as_deref();
    let items = view
        .server_certificates_in(cx.account())
        .filter(|(n, _)| marker.is_none_or(|m| *n > m))
        .filter(|(_, c)| c.path.starts_with(&prefix))
        .map(|(n, c)| (n.to_owned(), MetadataMember(c.clone())));
    Ok(Page::of(
        "ServerCertificateMetadataList",
        items,
        paging.max_items,
    ))
}

input! {
    /// `UpdateServerCertificate`
    pub(crate) struct UpdateServerCertificateInput {
        server_certificate_name: Name = required("ServerCertificateName"),
        new_path: Option<IamPath> = optional("NewPath"),
        new_server_certificate_name: Option<Name> = optional("NewServerCertificateName"),
    }
}

/// Renames and/or moves a certificate. As the API reference says, the caller needs permission
/// on the certificate as it is and as it will be.
pub(crate) async fn update_server_certificate(
    cx: &Cx<'_>,
    input: UpdateServerCertificateInput,
) -> ApiResult<()> {
    let name = input.server_certificate_name.into_string();
    let c = authorized_certificate(cx, &name)?;
    let new_name = input.new_server_certificate_name.map(Name::into_string);
    let new_path = input.new_path.map(|p| p.0);
    let target = Partition::Aws.server_certificate_arn(
        cx.account(),
        new_path.as_deref().unwrap_or(&c.path),
        new_name.as_deref().unwrap_or(&c.name),
    );
    if target != c.arn() {
        cx.authorize_tagged(&target, &c.tags)?;
    }
    // Another certificate already has the new name (the certificate itself may change case).
    if let Some(n) = &new_name {
        let view = cx.state.store.view();
        if view
            .server_certificate_by_name(cx.account(), n)
            .is_some_and(|other| other.id != c.id)
        {
            return Err(server_certificate_exists(n));
        }
    }
    cx.state
        .store
        .apply_one(Change::UpdateServerCertificate {
            account: cx.account().to_owned(),
            name: c.name.clone(),
            new_name: new_name.clone(),
            new_path,
        })
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(Entity::ServerCertificate) => {
                server_certificate_exists(new_name.as_deref().unwrap_or(&name))
            }
            e => certificate_store_error(e, &name),
        })?;
    Ok(())
}

pub(crate) async fn delete_server_certificate(
    cx: &Cx<'_>,
    input: ServerCertificateNameInput,
) -> ApiResult<()> {
    let name = input.server_certificate_name.into_string();
    let c = authorized_certificate(cx, &name)?;
    cx.state
        .store
        .apply_one(Change::DeleteServerCertificate {
            account: cx.account().to_owned(),
            name: c.name,
        })
        .await
        .map_err(|e| certificate_store_error(e, &name))?;
    Ok(())
}

// Tags: found by `ServerCertificateName`, over the shapes every tagged entity shares.

input! {
    /// `TagServerCertificate`
    pub(crate) struct TagServerCertificateInput {
        server_certificate_name: Name = required("ServerCertificateName"),
        tags: IamTags = nested(),
    }
    check(this) {
        if this.tags.0.is_empty() {
            return Err(ApiError::missing_parameter("Tags"));
        }
        Ok(())
    }
}

pub(crate) async fn tag_server_certificate(
    cx: &Cx<'_>,
    input: TagServerCertificateInput,
) -> ApiResult<()> {
    let name = input.server_certificate_name.into_string();
    let c = authorized_certificate(cx, &name)?;
    let tags = input.tags.0;
    check_tag_quota(&c.tags, &tags, "TagsPerServerCertificate")?;
    cx.state
        .store
        .apply_one(Change::TagServerCertificate {
            account: cx.account().to_owned(),
            name: c.name,
            tags,
        })
        .await
        .map_err(|e| certificate_store_error(e, &name))?;
    Ok(())
}

input! {
    /// `UntagServerCertificate`
    pub(crate) struct UntagServerCertificateInput {
        server_certificate_name: Name = required("ServerCertificateName"),
        tag_keys: TagKeys = nested(),
    }
    check(this) {
        if this.tag_keys.0.is_empty() {
            return Err(ApiError::missing_parameter("TagKeys"));
        }
        Ok(())
    }
}

pub(crate) async fn untag_server_certificate(
    cx: &Cx<'_>,
    input: UntagServerCertificateInput,
) -> ApiResult<()> {
    let name = input.server_certificate_name.into_string();
    let c = authorized_certificate(cx, &name)?;
    cx.state
        .store
        .apply_one(Change::UntagServerCertificate {
            account: cx.account().to_owned(),
            name: c.name,
            keys: input.tag_keys.0,
        })
        .await
        .map_err(|e| certificate_store_error(e, &name))?;
    Ok(())
}

input! {
    /// `ListServerCertificateTags`
    pub(crate) struct ListServerCertificateTagsInput {
        server_certificate_name: Name = required("ServerCertificateName"),
        paging: Paging = nested(),
    }
}

pub(crate) async fn list_server_certificate_tags(
    cx: &Cx<'_>,
    input: ListServerCertificateTagsInput,
) -> ApiResult<TagPage> {
    let c = authorized_certificate(cx, &input.server_certificate_name)?;
    Ok(TagPage::of(&c.tags, &input.paging))
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
    fn the_private_key_is_never_echoed_or_printed() {
        let key = "K".repeat(16_385);
        let e = read::<UploadServerCertificateInput>(&format!(
            "ServerCertificateName=a&CertificateBody=b&PrivateKey={key}"
        ))
        .unwrap_err();
        assert!(e.message.contains("'privateKey'"), "{e:?}");
        assert!(!e.message.contains("KKKK"), "{e:?}");
        let ok: UploadServerCertificateInput = read(
            "ServerCertificateName=a&CertificateBody=b&PrivateKey=secret-marker&Path=/cloudfront/",
        )
        .unwrap();
        assert!(!format!("{ok:?}").contains("secret-marker"));
        assert_eq!(ok.path.0, "/cloudfront/");
    }

    #[test]
    fn inputs_have_iams_constraints() {
        let e = read::<UploadServerCertificateInput>("ServerCertificateName=a&CertificateBody=b")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "MissingParameter: The request must contain the parameter PrivateKey."
        );
        let e = read::<UploadServerCertificateInput>(
            "ServerCertificateName=a/b&CertificateBody=b&PrivateKey=k",
        )
        .unwrap_err();
        assert!(e.message.contains(r"[\w+=,.@-]+"), "{e:?}");
        let e = read::<UpdateServerCertificateInput>("ServerCertificateName=a&NewPath=nope")
            .unwrap_err();
        assert!(e.message.contains("'newPath'"), "{e:?}");
        let e = read::<ListServerCertificatesInput>("PathPrefix=x").unwrap_err();
        assert!(e.message.contains("'pathPrefix'"), "{e:?}");
        let e = read::<ListServerCertificatesInput>("Marker=notours").unwrap_err();
        assert_eq!(e.to_string(), "ValidationError: Invalid Marker.");
    }
}
