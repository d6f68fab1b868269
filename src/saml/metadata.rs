//! SAML 2.0 metadata of an identity provider, as `CreateSAMLProvider` and `UpdateSAMLProvider`
//! receive it (<https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateSAMLProvider.html>,
//! the schema is OASIS saml-metadata-2.0-os §2.3.2 `EntityDescriptor`, §2.4.3
//! `IDPSSODescriptor`, §2.4.1.1 `KeyDescriptor`).
//!
//! In two passes over untrusted text, each linear in its length:
//! 1. a streaming pre-filter ([`prefilter`]) with `quick-xml`: at most [`MAX_CHARS`] characters,
//!    well-formed, no `DOCTYPE` (so no entity can be declared, expanded or fetched), no
//!    processing instruction, no entity reference but XML's five and character references,
//!    bounded depth and element count, and a root `md:EntityDescriptor` in the metadata
//!    namespace;
//! 2. samael's metadata types (`samael::metadata::EntityDescriptor`, serde over `quick-xml`,
//!    which never resolves anything external) read the entity id and the key descriptors.
//!
//! Then the rules verification depends on: an `IDPSSODescriptor` with at least one signing
//! certificate — samael skips signature checks altogether when metadata has none, so such a
//! document is refused — chosen as samael chooses them (`use="signing"` descriptors, else those
//! without `use`), each a DER X.509 certificate, at most [`MAX_SIGNING_CERTS`].
//!
//! What it must never do: echo the document (errors say which rule failed, nothing more), or
//! touch the network or the file system.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

/// The model's bound on `SAMLMetadataDocument` (`SAMLMetadataDocumentType`, 1000..10000000).
pub const MAX_CHARS: usize = 10_000_000;
/// Signing certificates kept per provider ("keys per SAML provider" in IAM's quotas): room for
/// rotation, never more.
pub const MAX_SIGNING_CERTS: usize = 10;
/// Element nesting: real metadata is about 8 deep.
pub const MAX_DEPTH: usize = 32;
/// Elements in one document: a large IdP's metadata has a few hundred.
pub const MAX_ELEMENTS: usize = 100_000;
/// The longest `entityID` (SAML core §8.3.6: at most 1024 characters).
pub const MAX_ENTITY_ID: usize = 1024;

const MD_NS: &[u8] = b"urn:oasis:names:tc:SAML:2.0:metadata";

/// What a provider keeps of valid metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpMetadata {
    /// `EntityDescriptor/@entityID`: the `Issuer` of the IdP's assertions.
    pub entity_id: String,
    /// Base64 DER of each signing certificate, whitespace removed, each once, in document order.
    pub signing_certs: Vec<String>,
    /// `validUntil` of the `EntityDescriptor`, else of the `IDPSSODescriptor`.
    pub valid_until: Option<DateTime<Utc>>,
}

/// Why a metadata document is refused. The `Display` text is safe to show a client: it names
/// the rule, never the document's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("the document is larger than {MAX_CHARS} characters")]
    TooLarge,
    #[error("the document is not well-formed XML")]
    Malformed,
    #[error("a DOCTYPE is not allowed")]
    Doctype,
    #[error("processing instructions are not allowed")]
    ProcessingInstruction,
    #[error("entity references other than XML's predefined ones are not allowed")]
    EntityReference,
    #[error("elements are nested more than {MAX_DEPTH} deep")]
    TooDeep,
    #[error("the document has more than {MAX_ELEMENTS} elements")]
    TooManyElements,
    #[error("the root element must be an md:EntityDescriptor")]
    NotEntityDescriptor,
    #[error("the EntityDescriptor has no entityID, or one longer than {MAX_ENTITY_ID} characters")]
    EntityId,
    #[error("there is no IDPSSODescriptor")]
    NoIdpDescriptor,
    #[error("the IDPSSODescriptor has no signing certificate")]
    NoSigningCertificate,
    #[error("a signing certificate is not a base64 DER X.509 certificate")]
    BadCertificate,
    #[error("more than {MAX_SIGNING_CERTS} signing certificates")]
    TooManyCertificates,
    #[error("the metadata's validUntil has passed")]
    Expired,
}

/// Read an IdP's metadata document, refusing anything verification could not rely on. `now`
/// decides whether `validUntil` has passed.
pub fn parse(document: &str, now: DateTime<Utc>) -> Result<IdpMetadata, MetadataError> {
    prefilter(document)?;
    let entity: samael::metadata::EntityDescriptor =
        document.parse().map_err(|_| MetadataError::Malformed)?;
    let entity_id = entity
        .entity_id
        .filter(|id| !id.trim().is_empty() && id.chars().count() <= MAX_ENTITY_ID)
        .ok_or(MetadataError::EntityId)?;
    let idps = entity
        .idp_sso_descriptors
        .filter(|d| !d.is_empty())
        .ok_or(MetadataError::NoIdpDescriptor)?;
    // As samael's `ServiceProvider::idp_signing_certs` chooses: `use="signing"` first; only when
    // there is none, descriptors without a use (valid for both signing and encryption).
    let descriptors = || idps.iter().flat_map(|d| d.key_descriptors.iter());
    let mut chosen: Vec<&samael::metadata::KeyDescriptor> = descriptors()
        .filter(|k| k.key_use.as_deref() == Some("signing"))
        .collect();
    if chosen.is_empty() {
        chosen = descriptors()
            .filter(|k| k.key_use.as_deref().is_none_or(|u| u.trim().is_empty()))
            .collect();
    }
    let mut signing_certs: Vec<String> = Vec::new();
    for text in chosen
        .iter()
        .filter_map(|k| k.key_info.x509_data.as_ref())
        .flat_map(|x| x.certificates.iter())
    {
        let cert = certificate(text)?;
        if !signing_certs.contains(&cert) {
            signing_certs.push(cert);
        }
        if signing_certs.len() > MAX_SIGNING_CERTS {
            return Err(MetadataError::TooManyCertificates);
        }
    }
    if signing_certs.is_empty() {
        return Err(MetadataError::NoSigningCertificate);
    }
    let valid_until = entity
        .valid_until
        .or_else(|| idps.iter().filter_map(|d| d.valid_until).min());
    if valid_until.is_some_and(|t| t <= now) {
        return Err(MetadataError::Expired);
    }
    Ok(IdpMetadata {
        entity_id,
        signing_certs,
        valid_until,
    })
}

/// The base64 of one `ds:X509Certificate` without whitespace, once it decodes to a DER X.509
/// certificate.
fn certificate(text: &str) -> Result<String, MetadataError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .map_err(|_| MetadataError::BadCertificate)?;
    openssl::x509::X509::from_der(&der).map_err(|_| MetadataError::BadCertificate)?;
    Ok(compact)
}

/// The streaming checks of pass 1 (see the module's header).
pub fn prefilter(document: &str) -> Result<(), MetadataError> {
    // Bytes bound characters from above: count only when the bytes could be too many.
    if document.len() > MAX_CHARS && document.chars().count() > MAX_CHARS {
        return Err(MetadataError::TooLarge);
    }
    let mut reader = quick_xml::NsReader::from_str(document);
    reader.config_mut().check_end_names = true;
    let (mut depth, mut elements, mut seen_root) = (0usize, 0usize, false);
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|_| MetadataError::Malformed)?;
        match event {
            Event::DocType(_) => return Err(MetadataError::Doctype),
            Event::PI(_) => return Err(MetadataError::ProcessingInstruction),
            Event::GeneralRef(r) if !is_predefined_ref(&r) => {
                return Err(MetadataError::EntityReference);
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                for attr in e.attributes().with_checks(true) {
                    let attr = attr.map_err(|_| MetadataError::Malformed)?;
                    only_predefined_refs(&attr.value)?;
                }
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err(MetadataError::TooManyElements);
                }
                if !seen_root {
                    seen_root = true;
                    let in_md = matches!(ns, ResolveResult::Bound(n) if n.as_ref() == MD_NS);
                    if !in_md || e.local_name().as_ref() != b"EntityDescriptor" {
                        return Err(MetadataError::NotEntityDescriptor);
                    }
                } else if depth == 0 {
                    // A second root element.
                    return Err(MetadataError::Malformed);
                }
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(MetadataError::TooDeep);
                    }
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            // Only whitespace may stand outside the root element.
            Event::Text(ref t) if depth == 0 && !t.iter().all(u8::is_ascii_whitespace) => {
                return Err(MetadataError::Malformed);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root || depth != 0 {
        return Err(MetadataError::Malformed);
    }
    Ok(())
}

/// `name` of `&name;` is one of XML's five entities or a character reference (`#65`, `#x41`).
fn is_predefined_ref(name: &[u8]) -> bool {
    match name {
        b"lt" | b"gt" | b"amp" | b"apos" | b"quot" => true,
        [b'#', b'x', hex @ ..] => !hex.is_empty() && hex.iter().all(u8::is_ascii_hexdigit),
        [b'#', dec @ ..] => !dec.is_empty() && dec.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

/// Every `&…;` in a raw attribute value is predefined (text is checked event by event).
fn only_predefined_refs(raw: &[u8]) -> Result<(), MetadataError> {
    let mut rest = raw;
    while let Some(at) = memchr::memchr(b'&', rest) {
        let after = rest.get(at + 1..).unwrap_or_default();
        let end = memchr::memchr(b';', after).ok_or(MetadataError::Malformed)?;
        if !is_predefined_ref(after.get(..end).unwrap_or_default()) {
            return Err(MetadataError::EntityReference);
        }
        rest = after.get(end + 1..).unwrap_or_default();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/saml")
                .join(name),
        )
        .unwrap()
    }

    /// The certificate of `tests/fixtures/saml/<name>.crt` as metadata carries it.
    fn cert(name: &str) -> String {
        fixture(&format!("{name}.crt"))
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect()
    }

    fn metadata(keys: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example.com/saml">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    {keys}
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#
        )
    }

    fn key(usage: Option<&str>, cert: &str) -> String {
        let usage = usage.map(|u| format!(r#" use="{u}""#)).unwrap_or_default();
        format!(
            "<md:KeyDescriptor{usage}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        )
    }

    #[test]
    fn real_idp_shapes_parse() {
        for (file, entity, certs) in [
            (
                "okta-metadata.xml",
                "http://www.okta.com/exk1fcia6d6EMsf331d8",
                1,
            ),
            (
                "entra-metadata.xml",
                "https://sts.windows.net/9188040d-6c67-4c5b-b112-36a304b66dad/",
                2,
            ),
            (
                "keycloak-metadata.xml",
                "https://keycloak.example.com/realms/corp",
                1,
            ),
        ] {
            let m = parse(&fixture(file), now()).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(m.entity_id, entity, "{file}");
            assert_eq!(m.signing_certs.len(), certs, "{file}");
        }
    }

    #[test]
    fn signing_certificates_are_chosen_as_samael_chooses_them() {
        let (a, b) = (cert("okta"), cert("entra-next"));
        // `use="signing"` wins over descriptors without a use; encryption keys never count.
        let m = parse(
            &metadata(&(key(None, &a) + &key(Some("signing"), &b) + &key(Some("encryption"), &a))),
            now(),
        )
        .unwrap();
        assert_eq!(m.signing_certs, std::slice::from_ref(&b));
        // Without any `use="signing"`, a descriptor without a use is a signing key.
        let m = parse(&metadata(&key(None, &a)), now()).unwrap();
        assert_eq!(m.signing_certs, std::slice::from_ref(&a));
        // Whitespace inside the base64 is dropped; a repeated certificate is kept once.
        let wrapped: String = a
            .as_bytes()
            .chunks(64)
            .map(|c| format!("{}\n      ", std::str::from_utf8(c).unwrap()))
            .collect();
        let m = parse(
            &metadata(&(key(Some("signing"), &wrapped) + &key(Some("signing"), &a))),
            now(),
        )
        .unwrap();
        assert_eq!(m.signing_certs, [a]);
    }

    #[test]
    fn metadata_verification_cannot_rely_on_is_refused() {
        let a = cert("okta");
        let cases: Vec<(String, MetadataError)> = vec![
            (metadata(""), MetadataError::NoSigningCertificate),
            (
                metadata(&key(Some("encryption"), &a)),
                MetadataError::NoSigningCertificate,
            ),
            // A KeyDescriptor without a certificate (a bare KeyName) verifies nothing.
            (
                metadata(r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:KeyName>k</ds:KeyName></ds:KeyInfo></md:KeyDescriptor>"#),
                MetadataError::NoSigningCertificate,
            ),
            (
                metadata(&key(Some("signing"), "bm90IGEgY2VydGlmaWNhdGU=")),
                MetadataError::BadCertificate,
            ),
            (
                metadata(&key(Some("signing"), "%%%")),
                MetadataError::BadCertificate,
            ),
            (
                r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"></md:EntityDescriptor>"#.into(),
                MetadataError::NoIdpDescriptor,
            ),
            (
                metadata(&key(Some("signing"), &a)).replace(r#" entityID="https://idp.example.com/saml""#, ""),
                MetadataError::EntityId,
            ),
            (
                metadata(&key(Some("signing"), &a)).replace(
                    r#"entityID="https://idp.example.com/saml""#,
                    r#"entityID="x" validUntil="2025-12-31T23:59:59Z""#,
                ),
                MetadataError::Expired,
            ),
        ];
        for (doc, want) in cases {
            assert_eq!(parse(&doc, now()), Err(want.clone()), "{want:?}");
        }
    }

    #[test]
    fn at_most_ten_distinct_signing_certificates() {
        let certs: Vec<String> = (1..=11)
            .map(|i| cert(&format!("rotation-{i:02}")))
            .collect();
        let ten: String = certs[..10]
            .iter()
            .map(|c| key(Some("signing"), c))
            .collect();
        assert_eq!(
            parse(&metadata(&ten), now()).unwrap().signing_certs.len(),
            10
        );
        let eleven: String = certs.iter().map(|c| key(Some("signing"), c)).collect();
        assert_eq!(
            parse(&metadata(&eleven), now()),
            Err(MetadataError::TooManyCertificates)
        );
    }

    #[test]
    fn the_prefilter_refuses_what_xml_parsers_get_wrong() {
        let good = metadata(&key(Some("signing"), &cert("okta")));
        let body = good.trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        let cases: Vec<(String, MetadataError)> = vec![
            (
                format!(
                    r#"<!DOCTYPE md:EntityDescriptor [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>{body}"#
                ),
                MetadataError::Doctype,
            ),
            (
                format!(
                    r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>{body}"#
                ),
                MetadataError::Doctype,
            ),
            (
                format!(r#"<?xml-stylesheet href="http://127.0.0.1:1/x.xsl"?>{body}"#),
                MetadataError::ProcessingInstruction,
            ),
            (
                good.replace("https://idp.example.com/sso", "&xxe;"),
                MetadataError::EntityReference,
            ),
            (
                good.replace("</md:EntityDescriptor>", ""),
                MetadataError::Malformed,
            ),
            (format!("{good}<x/>"), MetadataError::Malformed),
            (format!("{good}text"), MetadataError::Malformed),
            (String::new(), MetadataError::Malformed),
            (
                body.replace(
                    "urn:oasis:names:tc:SAML:2.0:metadata",
                    "urn:example:not-metadata",
                ),
                MetadataError::NotEntityDescriptor,
            ),
            (
                "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\"/>".into(),
                MetadataError::NotEntityDescriptor,
            ),
            (
                good.replace(
                    "<md:SingleSignOnService",
                    &format!(
                        "{}<md:SingleSignOnService",
                        "<a>".repeat(40) + &"</a>".repeat(40)
                    ),
                ),
                MetadataError::TooDeep,
            ),
            (
                good.replace(
                    "<md:SingleSignOnService",
                    &format!("{}<md:SingleSignOnService", "<a/>".repeat(MAX_ELEMENTS)),
                ),
                MetadataError::TooManyElements,
            ),
        ];
        for (doc, want) in cases {
            assert_eq!(prefilter(&doc), Err(want.clone()), "{want:?}");
        }
        // In text as in attributes.
        assert_eq!(
            prefilter(&good.replace(
                "</md:IDPSSODescriptor>",
                "<md:NameIDFormat>&xxe;</md:NameIDFormat></md:IDPSSODescriptor>"
            )),
            Err(MetadataError::EntityReference)
        );
        // XML's own entities and character references are fine.
        prefilter(&good.replace(
            "https://idp.example.com/sso",
            "https://idp.example.com/sso?a=1&amp;b=&#50;",
        ))
        .unwrap();
        let big = "x".repeat(MAX_CHARS + 1);
        assert_eq!(prefilter(&big), Err(MetadataError::TooLarge));
    }

    #[test]
    fn messages_never_carry_the_document() {
        let doc = "<!DOCTYPE secret-marker []><x/>";
        let e = parse(doc, now()).unwrap_err();
        assert!(!e.to_string().contains("secret-marker"));
    }
}
