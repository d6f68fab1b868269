//! SAML 2.0 identity providers: the IdPs whose signed assertions `AssumeRoleWithSAML` may
//! accept, described by their metadata documents. See
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateSAMLProvider.html> and the
//! other `*SAMLProvider*` pages.
//!
//! A provider is named by its `Name` (`[\w._-]+`, the ARN's `saml-provider/<name>`). Its
//! metadata is read once, when stored ([`crate::saml::metadata`], off the async threads): the
//! entity id and signing certificates verification needs are kept beside the document, and a
//! document they cannot be taken from is refused with `InvalidInput` — never echoed. Private keys
//! (`AddPrivateKey`, for encrypted assertions) are sealed at rest by the store; answers carry
//! their ids and upload times only.

use chrono::{DateTime, Months, Utc};

use crate::arn::{Arn, Partition, Resource};
use crate::credentials::{Secret, new_opaque_id};
use crate::error::{ApiError, ApiResult};
use crate::protocol::input::{ArnParam, Field, enum_field, input, string_field};
use crate::protocol::output::Output;
use crate::protocol::params::Validator;
use crate::protocol::xml::Xml;
use crate::request::Cx;
use crate::saml::metadata::{self, MetadataError};
use crate::saml::private_key;
use crate::store::{
    Change, Conflict, Entity, SamlMetadata, SamlPrivateKey, SamlProvider, StoreError, Tags,
};

use super::errors::{no_such_saml_provider, store_error};
use super::input::{IamTags, Paging, TagKeys};
use super::tags::TagPage;
use super::{check_tag_quota, limits, write_tags};

// --- parameter shapes --------------------------------------------------------------------------

string_field!(
    /// `Name` of `CreateSAMLProvider` (`SAMLProviderNameType`): 1..128 of `[\w._-]+`.
    SamlProviderName,
    1,
    128,
    r"[\w._-]+",
    |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
);

string_field!(
    /// `RemovePrivateKey` (`privateKeyIdType`): 22..64 of `[A-Z0-9]+`.
    PrivateKeyId,
    22,
    64,
    "[A-Z0-9]+",
    |c: char| c.is_ascii_uppercase() || c.is_ascii_digit()
);

enum_field!(
    /// `AssertionEncryptionMode` (`assertionEncryptionModeType`).
    AssertionEncryptionMode { Required, Allowed }
);

/// `SAMLMetadataDocument` (`SAMLMetadataDocumentType`, 1000..10000000 characters). Length
/// errors do not repeat the document (it can be megabytes); its content is checked by the
/// handler, off the async threads.
#[derive(Debug, Clone)]
pub(crate) struct MetadataDocument(pub(crate) String);

impl Field for MetadataDocument {
    fn read(name: &str, raw: &str, v: &mut Validator) -> ApiResult<Self> {
        v.sensitive_length(name, raw, 1_000, metadata::MAX_CHARS);
        Ok(Self(raw.to_owned()))
    }
}

/// `AddPrivateKey` (`privateKeyType`, sensitive, 1..16384 characters): a PEM private key, held
/// as a [`Secret`] from the moment it is read.
#[derive(Debug, Clone)]
pub(crate) struct PrivateKeyPem(Secret);

impl Field for PrivateKeyPem {
    fn read(name: &str, raw: &str, v: &mut Validator) -> ApiResult<Self> {
        v.sensitive_length(name, raw, 1, 16_384);
        Ok(Self(Secret::from(raw)))
    }
}

// --- rules -------------------------------------------------------------------------------------

fn invalid_metadata(e: MetadataError) -> ApiError {
    super::errors::saml_invalid_metadata(&e)
}

/// Read an uploaded metadata document on a blocking thread: it may be 10 MB of XML.
async fn read_metadata(document: String, now: DateTime<Utc>) -> ApiResult<SamlMetadata> {
    let (document, parsed) = tokio::task::spawn_blocking(move || {
        let parsed = metadata::parse(&document, now);
        (document, parsed)
    })
    .await
    .map_err(|e| ApiError::internal().with_detail(format!("saml metadata task: {e}")))?;
    let parsed = parsed.map_err(invalid_metadata)?;
    Ok(SamlMetadata {
        document,
        entity_id: parsed.entity_id,
        signing_certs: parsed.signing_certs,
        valid_until: parsed.valid_until,
    })
}

/// A new private key from `AddPrivateKey`, with a fresh id.
fn new_private_key(pem: &PrivateKeyPem, now: DateTime<Utc>) -> ApiResult<SamlPrivateKey> {
    let pem = private_key::parse(pem.0.expose())
        .map_err(|e| super::errors::saml_invalid_private_key(&e))?;
    Ok(SamlPrivateKey {
        id: new_opaque_id()?,
        created_at: now,
        pem,
    })
}

fn key_required() -> ApiError {
    super::errors::saml_private_key_required()
}

/// The `ValidUntil` IAM answers: the metadata's own, else 100 years after the provider was
/// created (what IAM answers for metadata without `validUntil`, as seen in Terraform state;
/// unverified here).
fn valid_until(p: &SamlProvider) -> DateTime<Utc> {
    p.valid_until.unwrap_or_else(|| {
        p.created_at
            .checked_add_months(Months::new(1200))
            .unwrap_or(p.created_at)
    })
}

// --- finding a provider by ARN -----------------------------------------------------------------

/// The account and name an ARN names, when it names a SAML provider.
fn provider_key(arn: &str) -> Option<(String, String)> {
    let a = Arn::parse(arn).ok()?;
    match a.resource {
        Resource::SamlProvider { name } if a.service == "iam" => Some((a.account, name)),
        _ => None,
    }
}

/// The provider `arn` names (in any partition), once the caller may act on it, with its tags as
/// `iam:ResourceTag/*`. A provider that does not exist (or is another account's) is
/// `NoSuchEntity`, but only for a caller allowed to act on that ARN: others hear `AccessDenied`.
fn authorized_provider(cx: &Cx<'_>, arn: &ArnParam) -> ApiResult<SamlProvider> {
    let view = cx.state.store.view();
    let found = provider_key(arn)
        .filter(|(account, _)| account == cx.account())
        .and_then(|(account, name)| view.saml_provider(&account, &name).cloned());
    match found {
        Some(p) => {
            cx.authorize_tagged(&p.arn(), &p.tags)?;
            Ok(p)
        }
        None => {
            cx.authorize(arn)?;
            Err(not_found(cx, arn))
        }
    }
}

/// `NoSuchEntity` for `arn`, written in the request's partition.
fn not_found(cx: &Cx<'_>, arn: &str) -> ApiError {
    no_such_saml_provider(&cx.info.partition().rewrite(arn))
}

/// A failed change to the provider `arn`.
fn provider_error(cx: &Cx<'_>, e: StoreError, arn: &str) -> ApiError {
    match e {
        StoreError::NotFound(Entity::SamlProvider) => not_found(cx, arn),
        StoreError::NotFound(Entity::SamlPrivateKey) => super::errors::no_such_saml_private_key(),
        StoreError::Conflict(Conflict::SamlKeyRequired) => key_required(),
        e => store_error(e),
    }
}

// --- actions -----------------------------------------------------------------------------------

input! {
    /// `CreateSAMLProvider`
    pub(crate) struct CreateSamlProviderInput {
        saml_metadata_document: MetadataDocument = required("SAMLMetadataDocument"),
        name: SamlProviderName = required("Name"),
        tags: IamTags = nested(),
        assertion_encryption_mode: Option<AssertionEncryptionMode> = optional("AssertionEncryptionMode"),
        add_private_key: Option<PrivateKeyPem> = optional("AddPrivateKey"),
    }
}

/// The new provider's ARN and tags.
#[derive(Debug)]
pub(crate) struct CreateSamlProviderOutput {
    arn: String,
    tags: Tags,
}

impl Output for CreateSamlProviderOutput {
    fn write(&self, x: &mut Xml) {
        x.arn("SAMLProviderArn", &self.arn);
        if !self.tags.is_empty() {
            write_tags(x, &self.tags);
        }
    }
}

pub(crate) async fn create_saml_provider(
    cx: &Cx<'_>,
    input: CreateSamlProviderInput,
) -> ApiResult<CreateSamlProviderOutput> {
    let name = input.name.into_string();
    let arn = Arn::saml_provider(Partition::Aws, cx.account(), &name).to_string();
    cx.authorize(&arn)?;
    let now = cx.info.now;
    let metadata = read_metadata(input.saml_metadata_document.0, now).await?;
    let private_keys = match &input.add_private_key {
        Some(pem) => vec![new_private_key(pem, now)?],
        None => Vec::new(),
    };
    let mode = input.assertion_encryption_mode;
    if mode == Some(AssertionEncryptionMode::Required) && private_keys.is_empty() {
        return Err(key_required());
    }
    let provider = SamlProvider {
        account: cx.account().to_owned(),
        name,
        uuid: new_opaque_id()?,
        metadata_document: metadata.document,
        entity_id: metadata.entity_id,
        signing_certs: metadata.signing_certs,
        valid_until: metadata.valid_until,
        created_at: now,
        tags: input.tags.0,
        assertion_encryption_mode: mode.map(|m| m.as_str().to_owned()),
        private_keys,
    };
    let tags = provider.tags.clone();
    let name = provider.name.clone();
    cx.state
        .store
        .apply_one(Change::CreateSamlProvider {
            provider,
            max_per_account: limits::SAML_PROVIDERS_PER_ACCOUNT,
        })
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(Entity::SamlProvider) => {
                super::errors::saml_provider_exists(&name)
            }
            e => store_error(e),
        })?;
    Ok(CreateSamlProviderOutput { arn, tags })
}

input! {
    /// `GetSAMLProvider`, `DeleteSAMLProvider`
    pub(crate) struct ProviderArnInput {
        saml_provider_arn: ArnParam = required("SAMLProviderArn"),
    }
}

/// A provider as `GetSAMLProvider` answers it: never a private key, only its id and time.
#[derive(Debug)]
pub(crate) struct ProviderOutput(SamlProvider);

impl Output for ProviderOutput {
    fn write(&self, x: &mut Xml) {
        let p = &self.0;
        x.elem("SAMLProviderUUID", &p.uuid)
            .elem("SAMLMetadataDocument", &p.metadata_document)
            .time("CreateDate", p.created_at)
            .time("ValidUntil", valid_until(p));
        if !p.tags.is_empty() {
            write_tags(x, &p.tags);
        }
        x.opt(
            "AssertionEncryptionMode",
            p.assertion_encryption_mode.as_deref(),
        );
        if !p.private_keys.is_empty() {
            x.list("PrivateKeyList", &p.private_keys, |x, k| {
                x.elem("KeyId", &k.id).time("Timestamp", k.created_at);
            });
        }
    }
}

pub(crate) async fn get_saml_provider(
    cx: &Cx<'_>,
    input: ProviderArnInput,
) -> ApiResult<ProviderOutput> {
    authorized_provider(cx, &input.saml_provider_arn).map(ProviderOutput)
}

input! {
    /// `ListSAMLProviders` (no paging in AWS: every provider of the account)
    pub(crate) struct ListSamlProvidersInput {}
}

/// `<SAMLProviderList><member><Arn/><ValidUntil/><CreateDate/></member>…`
#[derive(Debug)]
pub(crate) struct ProviderList(Vec<SamlProvider>);

impl Output for ProviderList {
    fn write(&self, x: &mut Xml) {
        x.list("SAMLProviderList", &self.0, |x, p| {
            x.arn("Arn", &p.arn())
                .time("ValidUntil", valid_until(p))
                .time("CreateDate", p.created_at);
        });
    }
}

pub(crate) async fn list_saml_providers(
    cx: &Cx<'_>,
    _: ListSamlProvidersInput,
) -> ApiResult<ProviderList> {
    cx.authorize(&cx.arn("saml-provider", "/", ""))?;
    let view = cx.state.store.view();
    Ok(ProviderList(
        view.saml_providers_in(cx.account()).cloned().collect(),
    ))
}

input! {
    /// `UpdateSAMLProvider`
    pub(crate) struct UpdateSamlProviderInput {
        saml_metadata_document: Option<MetadataDocument> = optional("SAMLMetadataDocument"),
        saml_provider_arn: ArnParam = required("SAMLProviderArn"),
        assertion_encryption_mode: Option<AssertionEncryptionMode> = optional("AssertionEncryptionMode"),
        add_private_key: Option<PrivateKeyPem> = optional("AddPrivateKey"),
        remove_private_key: Option<PrivateKeyId> = optional("RemovePrivateKey"),
    }
}

/// `<SAMLProviderArn>`
#[derive(Debug)]
pub(crate) struct UpdateSamlProviderOutput(String);

impl Output for UpdateSamlProviderOutput {
    fn write(&self, x: &mut Xml) {
        x.arn("SAMLProviderArn", &self.0);
    }
}

/// Replaces the metadata (and with it the signing certificates: key rotation), sets the
/// encryption mode, removes a private key, then adds one.
pub(crate) async fn update_saml_provider(
    cx: &Cx<'_>,
    input: UpdateSamlProviderInput,
) -> ApiResult<UpdateSamlProviderOutput> {
    let arn = input.saml_provider_arn;
    let p = authorized_provider(cx, &arn)?;
    let now = cx.info.now;
    let metadata = match input.saml_metadata_document {
        Some(doc) => Some(read_metadata(doc.0, now).await?),
        None => None,
    };
    let add_private_key = match &input.add_private_key {
        Some(pem) => Some(new_private_key(pem, now)?),
        None => None,
    };
    let stored = p.arn();
    cx.state
        .store
        .apply_one(Change::UpdateSamlProvider {
            account: p.account,
            name: p.name,
            metadata,
            assertion_encryption_mode: input
                .assertion_encryption_mode
                .map(|m| m.as_str().to_owned()),
            add_private_key,
            remove_private_key: input.remove_private_key.map(PrivateKeyId::into_string),
            max_private_keys: limits::SAML_PRIVATE_KEYS,
        })
        .await
        .map_err(|e| provider_error(cx, e, &arn))?;
    Ok(UpdateSamlProviderOutput(stored))
}

pub(crate) async fn delete_saml_provider(cx: &Cx<'_>, input: ProviderArnInput) -> ApiResult<()> {
    let arn = input.saml_provider_arn;
    let p = authorized_provider(cx, &arn)?;
    cx.state
        .store
        .apply_one(Change::DeleteSamlProvider {
            account: p.account,
            name: p.name,
        })
        .await
        .map_err(|e| provider_error(cx, e, &arn))?;
    Ok(())
}

// Tags: as for OpenID Connect providers, found by ARN rather than by a name parameter.

input! {
    /// `TagSAMLProvider`
    pub(crate) struct TagProviderInput {
        saml_provider_arn: ArnParam = required("SAMLProviderArn"),
        tags: IamTags = nested(),
    }
    check(this) {
        if this.tags.0.is_empty() {
            return Err(ApiError::missing_parameter("Tags"));
        }
        Ok(())
    }
}

pub(crate) async fn tag_saml_provider(cx: &Cx<'_>, input: TagProviderInput) -> ApiResult<()> {
    let arn = input.saml_provider_arn;
    let p = authorized_provider(cx, &arn)?;
    let tags = input.tags.0;
    check_tag_quota(&p.tags, &tags, "TagsPerSamlProvider")?;
    cx.state
        .store
        .apply_one(Change::TagSamlProvider {
            account: p.account,
            name: p.name,
            tags,
        })
        .await
        .map_err(|e| provider_error(cx, e, &arn))?;
    Ok(())
}

input! {
    /// `UntagSAMLProvider`
    pub(crate) struct UntagProviderInput {
        saml_provider_arn: ArnParam = required("SAMLProviderArn"),
        tag_keys: TagKeys = nested(),
    }
    check(this) {
        if this.tag_keys.0.is_empty() {
            return Err(ApiError::missing_parameter("TagKeys"));
        }
        Ok(())
    }
}

pub(crate) async fn untag_saml_provider(cx: &Cx<'_>, input: UntagProviderInput) -> ApiResult<()> {
    let arn = input.saml_provider_arn;
    let p = authorized_provider(cx, &arn)?;
    cx.state
        .store
        .apply_one(Change::UntagSamlProvider {
            account: p.account,
            name: p.name,
            keys: input.tag_keys.0,
        })
        .await
        .map_err(|e| provider_error(cx, e, &arn))?;
    Ok(())
}

input! {
    /// `ListSAMLProviderTags`
    pub(crate) struct ListProviderTagsInput {
        saml_provider_arn: ArnParam = required("SAMLProviderArn"),
        paging: Paging = nested(),
    }
}

pub(crate) async fn list_saml_provider_tags(
    cx: &Cx<'_>,
    input: ListProviderTagsInput,
) -> ApiResult<TagPage> {
    let p = authorized_provider(cx, &input.saml_provider_arn)?;
    Ok(TagPage::of(&p.tags, &input.paging))
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
    fn create_input_constraints() {
        let doc = "x".repeat(1_000);
        let ok: CreateSamlProviderInput = read(&format!(
            "Name=Okta_corp.prod-1&SAMLMetadataDocument={doc}&AssertionEncryptionMode=Allowed"
        ))
        .unwrap();
        assert_eq!(ok.name.as_str(), "Okta_corp.prod-1");
        assert_eq!(
            ok.assertion_encryption_mode,
            Some(AssertionEncryptionMode::Allowed)
        );

        // A short document is refused without being repeated.
        let e = read::<CreateSamlProviderInput>("Name=x&SAMLMetadataDocument=secret-marker")
            .unwrap_err();
        assert!(!e.message.contains("secret-marker"), "{}", e.message);
        assert!(
            e.message.contains("greater than or equal to 1000"),
            "{}",
            e.message
        );

        let e = read::<CreateSamlProviderInput>(&format!("Name=a/b&SAMLMetadataDocument={doc}"))
            .unwrap_err();
        assert!(e.message.contains(r"[\w._-]+"), "{}", e.message);
        let e = read::<CreateSamlProviderInput>(&format!(
            "Name={}&SAMLMetadataDocument={doc}",
            "n".repeat(129)
        ))
        .unwrap_err();
        assert!(
            e.message.contains("less than or equal to 128"),
            "{}",
            e.message
        );
        let e = read::<CreateSamlProviderInput>(&format!(
            "Name=x&SAMLMetadataDocument={doc}&AssertionEncryptionMode=Sometimes"
        ))
        .unwrap_err();
        assert!(e.message.contains("[Required, Allowed]"), "{}", e.message);
        // A private key is never repeated either.
        let e = read::<CreateSamlProviderInput>(&format!(
            "Name=x&SAMLMetadataDocument={doc}&AddPrivateKey={}",
            "k".repeat(16_385)
        ))
        .unwrap_err();
        assert!(!e.message.contains("kkkk"), "{}", e.message);
    }

    #[test]
    fn remove_private_key_is_a_key_id() {
        let arn = "SAMLProviderArn=arn:aws:iam::000000000000:saml-provider/x";
        let ok: UpdateSamlProviderInput =
            read(&format!("{arn}&RemovePrivateKey={}", "A1".repeat(13))).unwrap();
        assert_eq!(ok.remove_private_key.unwrap().len(), 26);
        assert!(read::<UpdateSamlProviderInput>(&format!("{arn}&RemovePrivateKey=short")).is_err());
        assert!(
            read::<UpdateSamlProviderInput>(&format!("{arn}&RemovePrivateKey={}", "a".repeat(26)))
                .is_err()
        );
    }

    #[test]
    fn provider_arns_in_any_partition() {
        assert_eq!(
            provider_key("arn:aws-cn:iam::000000000000:saml-provider/Okta"),
            Some(("000000000000".to_owned(), "Okta".to_owned()))
        );
        assert_eq!(provider_key("arn:aws:iam::000000000000:role/x"), None);
        assert_eq!(
            provider_key("arn:aws:iam::000000000000:oidc-provider/example.com"),
            None
        );
    }

    #[test]
    fn metadata_errors_are_invalid_input() {
        let e = invalid_metadata(MetadataError::NoSigningCertificate);
        assert_eq!(e.code, crate::error::ErrorCode::InvalidInput);
        assert_eq!(
            e.message,
            "Could not parse metadata: the IDPSSODescriptor has no signing certificate."
        );
    }
}
