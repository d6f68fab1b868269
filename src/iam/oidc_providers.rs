//! OpenID Connect identity providers: the issuers whose tokens `AssumeRoleWithWebIdentity` may
//! accept, with their audiences (client ids), legacy certificate thumbprints and tags. See
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateOpenIDConnectProvider.html>
//! and the other `*OpenIDConnectProvider*` pages.
//!
//! A provider is named by its issuer without `https://` (`host[/path]`), exactly as sent: that
//! text is its ARN's resource (`oidc-provider/<host/path>`), the `Url` `GetOpenIDConnectProvider`
//! answers, and the prefix of its condition keys. This module never fetches anything from the
//! issuer: thumbprints are kept for the API only.

use crate::arn::{Arn, Partition, Resource};
use crate::error::{ApiError, ApiResult};
use crate::protocol::input::{ArnParam, Field, Input, Reader, input};
use crate::protocol::output::Output;
use crate::protocol::params::Validator;
use crate::protocol::xml::Xml;
use crate::request::Cx;
use crate::store::{Change, Entity, OidcProvider, StoreError};

use super::errors::{no_such_oidc_provider, store_error};
use super::input::{IamTags, Paging, TagKeys};
use super::tags::TagPage;
use super::{check_tag_quota, limits, write_tags};

// --- parameter shapes --------------------------------------------------------------------------

/// `Url` of `CreateOpenIDConnectProvider` (`OpenIDConnectProviderUrlType`, 1..255), kept without
/// its `https://`.
///
/// Beyond the model's length, IAM takes only `https://host[/path]`: no other scheme, no query
/// or fragment, no user info (the API reference: "The URL must begin with https://", "path
/// components are allowed but query parameters are not"). AWS also refuses a port ("should not
/// contain a port number"); tessera takes one, because the private IdPs it serves often listen
/// on one (Keycloak on 8443), and the issuer must match the token's `iss` exactly anyway.
/// Such a URL is refused with the modeled `InvalidInput`, once every length constraint holds; the
/// message is the one AWS emulators reproduce (unverified against live AWS).
///
/// With `oidc_allow_http` (insecure, for tests and demos), `http://` issuers on a loopback
/// address, port included, are taken too; [`IssuerUrl::insecure`] marks them for the handler,
/// which alone knows the setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IssuerUrl {
    pub(crate) url: String,
    pub(crate) insecure: bool,
}

impl Field for IssuerUrl {
    fn read(name: &str, raw: &str, v: &mut Validator) -> ApiResult<Self> {
        v.length(name, raw, 1, 255);
        if let Some(url) = issuer(raw) {
            return Ok(Self {
                url: url.to_owned(),
                insecure: false,
            });
        }
        if let Some(url) = loopback_http_issuer(raw) {
            return Ok(Self {
                url: url.to_owned(),
                insecure: true,
            });
        }
        v.defer(invalid_url());
        Ok(Self {
            url: String::new(),
            insecure: false,
        })
    }
}

fn invalid_url() -> ApiError {
    super::errors::invalid_oidc_url()
}

/// `host:port[/path]` of an `http://` issuer on a loopback address.
fn loopback_http_issuer(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("http://")?;
    let parsed = openidconnect::url::Url::parse(url).ok()?;
    let plain = parsed.username().is_empty()
        && parsed.password().is_none()
        && parsed.query().is_none()
        && parsed.fragment().is_none()
        && rest.chars().all(|c| c.is_ascii_graphic());
    (plain
        && parsed
            .host_str()
            .is_some_and(crate::oidc::keys::is_loopback_host))
    .then_some(rest)
}

/// `host[/path]` of an `https://host[/path]` issuer URL, or `None` when IAM refuses the URL.
fn issuer(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("https://")?;
    let host = rest.split('/').next().unwrap_or("");
    let printable = |c: char| c.is_ascii_graphic();
    let refused = |c: char| matches!(c, '?' | '#');
    let host = match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    (!host.is_empty()
        && !host.contains([':', '@'])
        && rest.chars().all(printable)
        && !rest.contains(refused))
    .then_some(rest)
}

/// A client id (audience), `clientIDType`: 1..255 characters of any kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientId(pub(crate) String);

impl Field for ClientId {
    fn read(name: &str, raw: &str, v: &mut Validator) -> ApiResult<Self> {
        v.length(name, raw, 1, 255);
        Ok(Self(raw.to_owned()))
    }
}

/// A server-certificate thumbprint, `thumbprintType`: exactly 40 characters (the model), which
/// must be the hex SHA-1 of a certificate (IAM refuses other text with `InvalidInput`; the
/// message is ours).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Thumbprint(pub(crate) String);

impl Field for Thumbprint {
    fn read(name: &str, raw: &str, v: &mut Validator) -> ApiResult<Self> {
        v.length(name, raw, 40, 40);
        if raw.chars().count() == 40 && !raw.chars().all(|c| c.is_ascii_hexdigit()) {
            v.defer(super::errors::invalid_thumbprint(raw));
        }
        Ok(Self(raw.to_owned()))
    }
}

/// `ClientIDList.member.N`. The model sets no count; more than IAM's quota of 100 is
/// `LimitExceeded`, once every constraint holds. Repeated ids are kept once.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClientIds(pub(crate) Vec<String>);

impl Input for ClientIds {
    fn read(r: &mut Reader<'_>) -> ApiResult<Self> {
        let ids: Vec<ClientId> = r.list("ClientIDList", usize::MAX)?;
        if ids.len() > limits::OIDC_CLIENT_IDS {
            r.validator()
                .defer(store_error(StoreError::LimitExceeded(Entity::OidcClientId)));
        }
        Ok(Self(dedup(ids.into_iter().map(|c| c.0))))
    }
}

/// `ThumbprintList.member.N`, at most 5 (an `InvalidInput` once every constraint holds; the
/// message is the one AWS emulators reproduce). Repeated thumbprints are kept once.
#[derive(Debug, Clone, Default)]
pub(crate) struct Thumbprints(pub(crate) Vec<String>);

impl Thumbprints {
    fn read_list(r: &mut Reader<'_>) -> ApiResult<Self> {
        let prints: Vec<Thumbprint> = r.list("ThumbprintList", usize::MAX)?;
        if prints.len() > limits::OIDC_THUMBPRINTS {
            r.validator().defer(super::errors::too_many_thumbprints());
        }
        Ok(Self(dedup(prints.into_iter().map(|t| t.0))))
    }
}

impl Input for Thumbprints {
    fn read(r: &mut Reader<'_>) -> ApiResult<Self> {
        Self::read_list(r)
    }
}

/// `ThumbprintList` of `UpdateOpenIDConnectProviderThumbprint`: required by the model. An empty
/// list is sent as a bare `ThumbprintList=` (botocore and aws-sdk-rust both do), which counts as
/// present and clears the list; sending neither that nor a member is `MissingParameter`.
#[derive(Debug, Clone)]
pub(crate) struct RequiredThumbprints(pub(crate) Vec<String>);

impl Input for RequiredThumbprints {
    fn read(r: &mut Reader<'_>) -> ApiResult<Self> {
        let bare: Option<String> = r.optional("ThumbprintList")?;
        let list = Thumbprints::read_list(r)?;
        if bare.is_none() && list.0.is_empty() {
            return Err(ApiError::missing_parameter("ThumbprintList"));
        }
        Ok(Self(list.0))
    }
}

/// Items in the order first sent, each once.
fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

// --- finding a provider by ARN -----------------------------------------------------------------

/// The account and issuer (`host[/path]`) an ARN names, when it names an OIDC provider.
fn provider_key(arn: &str) -> Option<(String, String)> {
    let a = Arn::parse(arn).ok()?;
    match a.resource {
        Resource::OidcProvider { url } if a.service == "iam" => Some((a.account, url)),
        _ => None,
    }
}

/// The provider `arn` names (in any partition), once the caller may act on it, with its tags as
/// `iam:ResourceTag/*`. A provider that does not exist (or is another account's) is
/// `NoSuchEntity`, but only for a caller allowed to act on that ARN: others hear `AccessDenied`,
/// so existence is not revealed to them.
fn authorized_provider(cx: &Cx<'_>, arn: &ArnParam) -> ApiResult<OidcProvider> {
    let view = cx.state.store.view();
    let found = provider_key(arn)
        .filter(|(account, _)| account == cx.account())
        .and_then(|(account, url)| view.oidc_provider(&account, &url).cloned());
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
    no_such_oidc_provider(&cx.info.partition().rewrite(arn))
}

/// A failed change to the provider `arn`.
fn provider_error(cx: &Cx<'_>, e: StoreError, arn: &str) -> ApiError {
    match e {
        StoreError::NotFound(Entity::OidcProvider) => not_found(cx, arn),
        e => store_error(e),
    }
}

// --- actions -----------------------------------------------------------------------------------

input! {
    /// `CreateOpenIDConnectProvider`
    pub(crate) struct CreateOpenIdConnectProviderInput {
        url: IssuerUrl = required("Url"),
        client_ids: ClientIds = nested(),
        thumbprints: Thumbprints = nested(),
        tags: IamTags = nested(),
    }
}

/// The new provider's ARN and tags.
#[derive(Debug)]
pub(crate) struct CreateOpenIdConnectProviderOutput {
    arn: String,
    tags: crate::store::Tags,
}

impl Output for CreateOpenIdConnectProviderOutput {
    fn write(&self, x: &mut Xml) {
        x.arn("OpenIDConnectProviderArn", &self.arn);
        if !self.tags.is_empty() {
            write_tags(x, &self.tags);
        }
    }
}

pub(crate) async fn create_open_id_connect_provider(
    cx: &Cx<'_>,
    input: CreateOpenIdConnectProviderInput,
) -> ApiResult<CreateOpenIdConnectProviderOutput> {
    if input.url.insecure && !cx.state.config.oidc_allow_http {
        return Err(invalid_url().with_detail("http:// issuers need oidc_allow_http"));
    }
    let input_url = format!(
        "{}://{}",
        if input.url.insecure { "http" } else { "https" },
        input.url.url
    );
    let url = input.url.url;
    let arn = Partition::Aws.oidc_provider_arn(cx.account(), &url);
    cx.authorize(&arn)?;
    let provider = OidcProvider {
        account: cx.account().to_owned(),
        url,
        client_ids: input.client_ids.0,
        thumbprints: input.thumbprints.0,
        created_at: cx.info.now,
        tags: input.tags.0,
    };
    cx.state
        .store
        .apply_one(Change::CreateOidcProvider {
            provider: provider.clone(),
            max_per_account: limits::OIDC_PROVIDERS_PER_ACCOUNT,
        })
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(Entity::OidcProvider) => {
                super::errors::oidc_provider_exists(&input_url)
            }
            e => store_error(e),
        })?;
    Ok(CreateOpenIdConnectProviderOutput {
        arn,
        tags: provider.tags,
    })
}

input! {
    /// `GetOpenIDConnectProvider`, `DeleteOpenIDConnectProvider`
    pub(crate) struct ProviderArnInput {
        open_id_connect_provider_arn: ArnParam = required("OpenIDConnectProviderArn"),
    }
}

/// A provider as `GetOpenIDConnectProvider` answers it: `Url` without `https://`.
#[derive(Debug)]
pub(crate) struct ProviderOutput(OidcProvider);

impl Output for ProviderOutput {
    fn write(&self, x: &mut Xml) {
        let p = &self.0;
        x.elem("Url", &p.url)
            .list("ClientIDList", &p.client_ids, |x, c| {
                x.elem_text(c);
            })
            .list("ThumbprintList", &p.thumbprints, |x, t| {
                x.elem_text(t);
            })
            .time("CreateDate", p.created_at);
        if !p.tags.is_empty() {
            write_tags(x, &p.tags);
        }
    }
}

pub(crate) async fn get_open_id_connect_provider(
    cx: &Cx<'_>,
    input: ProviderArnInput,
) -> ApiResult<ProviderOutput> {
    authorized_provider(cx, &input.open_id_connect_provider_arn).map(ProviderOutput)
}

input! {
    /// `ListOpenIDConnectProviders` (no paging in AWS: every provider of the account)
    pub(crate) struct ListOpenIdConnectProvidersInput {}
}

/// `<OpenIDConnectProviderList><member><Arn>…</Arn></member>…`
#[derive(Debug)]
pub(crate) struct ProviderList(Vec<String>);

impl Output for ProviderList {
    fn write(&self, x: &mut Xml) {
        x.list("OpenIDConnectProviderList", &self.0, |x, arn| {
            x.arn("Arn", arn);
        });
    }
}

pub(crate) async fn list_open_id_connect_providers(
    cx: &Cx<'_>,
    _: ListOpenIdConnectProvidersInput,
) -> ApiResult<ProviderList> {
    cx.authorize(&cx.arn("oidc-provider", "/", ""))?;
    let view = cx.state.store.view();
    Ok(ProviderList(
        view.oidc_providers_in(cx.account())
            .map(OidcProvider::arn)
            .collect(),
    ))
}

pub(crate) async fn delete_open_id_connect_provider(
    cx: &Cx<'_>,
    input: ProviderArnInput,
) -> ApiResult<()> {
    let arn = input.open_id_connect_provider_arn;
    let p = authorized_provider(cx, &arn)?;
    cx.state
        .store
        .apply_one(Change::DeleteOidcProvider {
            account: p.account,
            url: p.url,
        })
        .await
        .map_err(|e| provider_error(cx, e, &arn))?;
    Ok(())
}

input! {
    /// `AddClientIDToOpenIDConnectProvider`, `RemoveClientIDFromOpenIDConnectProvider`
    pub(crate) struct ClientIdInput {
        open_id_connect_provider_arn: ArnParam = required("OpenIDConnectProviderArn"),
        client_id: ClientId = required("ClientID"),
    }
}

/// Adding an id the provider already has succeeds and changes nothing.
pub(crate) async fn add_client_id_to_open_id_connect_provider(
    cx: &Cx<'_>,
    input: ClientIdInput,
) -> ApiResult<()> {
    let arn = input.open_id_connect_provider_arn;
    let p = authorized_provider(cx, &arn)?;
    cx.state
        .store
        .apply_one(Change::AddOidcClientId {
            account: p.account,
            url: p.url,
            client_id: input.client_id.0,
            max_client_ids: limits::OIDC_CLIENT_IDS,
        })
        .await
        .map_err(|e| provider_error(cx, e, &arn))?;
    Ok(())
}

/// Removing an id the provider does not have succeeds, as in IAM.
pub(crate) async fn remove_client_id_from_open_id_connect_provider(
    cx: &Cx<'_>,
    input: ClientIdInput,
) -> ApiResult<()> {
    let arn = input.open_id_connect_provider_arn;
    let p = authorized_provider(cx, &arn)?;
    cx.state
        .store
        .apply_one(Change::RemoveOidcClientId {
            account: p.account,
            url: p.url,
            client_id: input.client_id.0,
        })
        .await
        .map_err(|e| provider_error(cx, e, &arn))?;
    Ok(())
}

input! {
    /// `UpdateOpenIDConnectProviderThumbprint`
    pub(crate) struct UpdateThumbprintInput {
        open_id_connect_provider_arn: ArnParam = required("OpenIDConnectProviderArn"),
        thumbprint_list: RequiredThumbprints = nested(),
    }
}

/// Replaces the whole list.
pub(crate) async fn update_open_id_connect_provider_thumbprint(
    cx: &Cx<'_>,
    input: UpdateThumbprintInput,
) -> ApiResult<()> {
    let arn = input.open_id_connect_provider_arn;
    let p = authorized_provider(cx, &arn)?;
    cx.state
        .store
        .apply_one(Change::SetOidcThumbprints {
            account: p.account,
            url: p.url,
            thumbprints: input.thumbprint_list.0,
        })
        .await
        .map_err(|e| provider_error(cx, e, &arn))?;
    Ok(())
}

// Tags: the generic handlers of `super::tags` find their entity by a name parameter
// (`EntityKind::NAME_PARAM`, an IAM name); a provider is found by an ARN, so it has its own
// three small handlers over the same shapes (`IamTags`, `TagKeys`, `Paging`, `TagPage`).

input! {
    /// `TagOpenIDConnectProvider`
    pub(crate) struct TagProviderInput {
        open_id_connect_provider_arn: ArnParam = required("OpenIDConnectProviderArn"),
        tags: IamTags = nested(),
    }
    check(this) {
        if this.tags.0.is_empty() {
            return Err(ApiError::missing_parameter("Tags"));
        }
        Ok(())
    }
}

pub(crate) async fn tag_open_id_connect_provider(
    cx: &Cx<'_>,
    input: TagProviderInput,
) -> ApiResult<()> {
    let arn = input.open_id_connect_provider_arn;
    let p = authorized_provider(cx, &arn)?;
    let tags = input.tags.0;
    check_tag_quota(&p.tags, &tags, "TagsPerOpenIdConnectProvider")?;
    cx.state
        .store
        .apply_one(Change::TagOidcProvider {
            account: p.account,
            url: p.url,
            tags,
        })
        .await
        .map_err(|e| provider_error(cx, e, &arn))?;
    Ok(())
}

input! {
    /// `UntagOpenIDConnectProvider`
    pub(crate) struct UntagProviderInput {
        open_id_connect_provider_arn: ArnParam = required("OpenIDConnectProviderArn"),
        tag_keys: TagKeys = nested(),
    }
    check(this) {
        if this.tag_keys.0.is_empty() {
            return Err(ApiError::missing_parameter("TagKeys"));
        }
        Ok(())
    }
}

pub(crate) async fn untag_open_id_connect_provider(
    cx: &Cx<'_>,
    input: UntagProviderInput,
) -> ApiResult<()> {
    let arn = input.open_id_connect_provider_arn;
    let p = authorized_provider(cx, &arn)?;
    cx.state
        .store
        .apply_one(Change::UntagOidcProvider {
            account: p.account,
            url: p.url,
            keys: input.tag_keys.0,
        })
        .await
        .map_err(|e| provider_error(cx, e, &arn))?;
    Ok(())
}

input! {
    /// `ListOpenIDConnectProviderTags`
    pub(crate) struct ListProviderTagsInput {
        open_id_connect_provider_arn: ArnParam = required("OpenIDConnectProviderArn"),
        paging: Paging = nested(),
    }
}

pub(crate) async fn list_open_id_connect_provider_tags(
    cx: &Cx<'_>,
    input: ListProviderTagsInput,
) -> ApiResult<TagPage> {
    let p = authorized_provider(cx, &input.open_id_connect_provider_arn)?;
    Ok(TagPage::of(&p.tags, &input.paging))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::input::parse;
    use crate::protocol::params::Params;

    fn read<T: Input>(q: &str) -> ApiResult<T> {
        parse(&Params::parse(q.as_bytes(), None).unwrap())
    }

    #[test]
    fn issuer_is_host_and_path_of_an_https_url() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "https://token.actions.githubusercontent.com",
                Some("token.actions.githubusercontent.com"),
            ),
            (
                "https://oidc.eks.us-east-1.amazonaws.com/id/ABC",
                Some("oidc.eks.us-east-1.amazonaws.com/id/ABC"),
            ),
            // Kept exactly as sent: the issuer must match a token's `iss` byte for byte.
            ("https://example.com/", Some("example.com/")),
            ("http://example.com", None),
            ("HTTPS://example.com", None),
            ("example.com", None),
            ("https://", None),
            ("https:///path", None),
            ("https://example.com:8443", Some("example.com:8443")),
            ("https://example.com:", None),
            ("https://example.com:x", None),
            ("https://user@example.com", None),
            ("https://example.com/?a=b", None),
            ("https://example.com/#top", None),
            ("https://exa mple.com", None),
        ];
        for (url, want) in cases {
            assert_eq!(issuer(url), *want, "{url}");
        }
    }

    #[test]
    fn create_input_constraints_then_rules() {
        let ok: CreateOpenIdConnectProviderInput = read(
            "Url=https://example.com&ClientIDList.member.1=a&ClientIDList.member.2=a&ThumbprintList.member.1=9e99a48a9960b14926bb7f3b02e22da2b0ab7280",
        )
        .unwrap();
        assert_eq!(ok.url.url, "example.com");
        assert_eq!(ok.client_ids.0, vec!["a".to_owned()]);
        assert_eq!(ok.thumbprints.0.len(), 1);

        let e = read::<CreateOpenIdConnectProviderInput>("ClientIDList.member.1=a").unwrap_err();
        assert_eq!(e.message, "The request must contain the parameter Url.");

        // A length violation is reported before the URL's scheme.
        let e = read::<CreateOpenIdConnectProviderInput>("Url=http://x&ThumbprintList.member.1=ab")
            .unwrap_err();
        assert_eq!(
            e.message,
            "1 validation error detected: Value 'ab' at 'thumbprintList.1.member' failed to satisfy constraint: Member must have length greater than or equal to 40"
        );
        let e = read::<CreateOpenIdConnectProviderInput>("Url=http://x").unwrap_err();
        assert_eq!(e.code, crate::error::ErrorCode::InvalidInput);

        let six: String = (1..=6)
            .map(|i| format!("&ThumbprintList.member.{i}={}", format!("{i}").repeat(40)))
            .collect();
        let e =
            read::<CreateOpenIdConnectProviderInput>(&format!("Url=https://x{six}")).unwrap_err();
        assert_eq!(e.code, crate::error::ErrorCode::InvalidInput);
        assert_eq!(
            e.message,
            "Thumbprint list must contain fewer than 5 entries."
        );

        let ids: String = (1..=101)
            .map(|i| format!("&ClientIDList.member.{i}=c{i}"))
            .collect();
        let e =
            read::<CreateOpenIdConnectProviderInput>(&format!("Url=https://x{ids}")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "LimitExceeded: Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100"
        );

        let e = read::<CreateOpenIdConnectProviderInput>(&format!(
            "Url=https://x&ThumbprintList.member.1={}",
            "g".repeat(40)
        ))
        .unwrap_err();
        assert_eq!(e.code, crate::error::ErrorCode::InvalidInput);
    }

    #[test]
    fn update_needs_a_thumbprint_list_which_may_be_empty() {
        let arn = "OpenIDConnectProviderArn=arn:aws:iam::000000000000:oidc-provider/x";
        let e = read::<UpdateThumbprintInput>(arn).unwrap_err();
        assert_eq!(
            e.message,
            "The request must contain the parameter ThumbprintList."
        );
        let empty: UpdateThumbprintInput = read(&format!("{arn}&ThumbprintList=")).unwrap();
        assert!(empty.thumbprint_list.0.is_empty());
        let one: UpdateThumbprintInput =
            read(&format!("{arn}&ThumbprintList.member.1={}", "A".repeat(40))).unwrap();
        assert_eq!(one.thumbprint_list.0.len(), 1);
    }

    #[test]
    fn provider_arns_in_any_partition() {
        assert_eq!(
            provider_key("arn:aws-cn:iam::000000000000:oidc-provider/example.com/a"),
            Some(("000000000000".to_owned(), "example.com/a".to_owned()))
        );
        assert_eq!(provider_key("arn:aws:iam::000000000000:role/x"), None);
        assert_eq!(provider_key("not an arn at all, really"), None);
    }
}
