//! A test SAML identity provider: builds `samlp:Response`s shaped as Okta and Entra ID send
//! them to AWS, signs them with xmlsec (through samael's `sign_xml`: enveloped signature,
//! exclusive c14n, RSA-SHA256 or ECDSA-SHA256, the signer's certificate in `KeyInfo`), and can
//! encrypt the assertion (RSA-OAEP + AES-GCM or AES-CBC) to a provider's key.
//!
//! Included by the unit tests (`src/saml/response/tests.rs`), the integration tests and the
//! benches: it uses no tessera item, only crates tessera depends on. Times are taken from the
//! caller (the test server's clock), never from the wall clock.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code,
    reason = "test support: a failure should stop the test; each user takes a part"
)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use samael::crypto::{Crypto, CryptoProvider as _};

pub(crate) const OKTA_KEY: &str = include_str!("../fixtures/saml/okta.key");
pub(crate) const OKTA_CRT: &str = include_str!("../fixtures/saml/okta.crt");
pub(crate) const P256_KEY: &str = include_str!("../fixtures/saml/idp-p256.key");
pub(crate) const P256_CRT: &str = include_str!("../fixtures/saml/idp-p256.crt");
pub(crate) const ATTACKER_KEY: &str = include_str!("../fixtures/saml/attacker.key");
pub(crate) const ATTACKER_CRT: &str = include_str!("../fixtures/saml/attacker.crt");
/// The key `AddPrivateKey` uploads in the tests; assertions are encrypted to its public half.
pub(crate) const ENCRYPTION_KEY: &str = include_str!("../fixtures/saml/encryption-pkcs8.key");

pub(crate) const OKTA_ENTITY: &str = "http://www.okta.com/exk1fcia6d6EMsf331d8";
pub(crate) const AWS_ACS: &str = "https://signin.aws.amazon.com/saml";
pub(crate) const AWS_AUDIENCE: &str = "urn:amazon:webservices";
pub(crate) const ATTR: &str = "https://aws.amazon.com/SAML/Attributes/";
pub(crate) const PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";

/// Which parts carry a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signing {
    Assertion,
    Response,
    Both,
    Neither,
}

/// How the assertion is encrypted, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encryption {
    Clear,
    Aes256Gcm,
    Aes128Cbc,
}

/// A signing identity: key (DER, as xmlsec loads it), certificate (base64 DER) and algorithm.
#[derive(Clone)]
pub(crate) struct SamlIdp {
    pub(crate) entity_id: String,
    key_der: Vec<u8>,
    pub(crate) cert_b64: String,
    pub(crate) ecdsa: bool,
}

fn cert_b64(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

impl SamlIdp {
    fn from_pem(entity_id: &str, key_pem: &str, crt_pem: &str) -> SamlIdp {
        let key = openssl::pkey::PKey::private_key_from_pem(key_pem.as_bytes()).unwrap();
        SamlIdp {
            entity_id: entity_id.to_owned(),
            key_der: key.private_key_to_der().unwrap(),
            cert_b64: cert_b64(crt_pem),
            ecdsa: key.ec_key().is_ok(),
        }
    }

    /// An Okta-like IdP signing with RSA-2048.
    pub(crate) fn okta() -> SamlIdp {
        Self::from_pem(OKTA_ENTITY, OKTA_KEY, OKTA_CRT)
    }

    /// An IdP signing with ECDSA P-256.
    pub(crate) fn p256(entity_id: &str) -> SamlIdp {
        Self::from_pem(entity_id, P256_KEY, P256_CRT)
    }

    /// Someone else's key, claiming to be `entity_id`, its own certificate in `KeyInfo`.
    pub(crate) fn attacker(entity_id: &str) -> SamlIdp {
        Self::from_pem(entity_id, ATTACKER_KEY, ATTACKER_CRT)
    }

    /// IdP metadata naming this signing certificate, as `CreateSAMLProvider` takes it.
    pub(crate) fn metadata(&self) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data>
          <ds:X509Certificate>{cert}</ds:X509Certificate>
        </ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.com/app/sso/saml"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/app/sso/saml"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#,
            entity = self.entity_id,
            cert = self.cert_b64
        )
    }

    fn signature_method(&self) -> &'static str {
        if self.ecdsa {
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
        } else {
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
        }
    }

    /// An empty enveloped-signature template referring to `#id`.
    pub(crate) fn signature_template(&self, id: &str) -> String {
        format!(
            r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{method}"/><ds:Reference URI="#{id}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"##,
            method = self.signature_method(),
            cert = self.cert_b64
        )
    }

    /// Sign the first signature template in `xml` (document order) with this key. The XML
    /// declaration xmlsec adds is dropped.
    pub(crate) fn sign(&self, xml: &str) -> String {
        let signed = Crypto::sign_xml(xml, &self.key_der).unwrap();
        strip_decl(&signed).to_owned()
    }

    /// The assertion `spec` describes, signed if `signing` says so.
    pub(crate) fn assertion(&self, spec: &Spec) -> String {
        let sign = matches!(spec.signing, Signing::Assertion | Signing::Both);
        let xml = assertion_xml(
            spec,
            &self.entity_id,
            sign.then(|| self.signature_template(&spec.assertion_id)),
        );
        if sign { self.sign(&xml) } else { xml }
    }

    /// The whole response, as XML.
    pub(crate) fn response_xml(&self, spec: &Spec) -> String {
        let assertion = self.assertion(spec);
        let body = match spec.encryption {
            Encryption::Clear => assertion,
            e => encrypt_assertion(&assertion, e),
        };
        let sign = matches!(spec.signing, Signing::Response | Signing::Both);
        let xml = response_xml(
            spec,
            &self.entity_id,
            sign.then(|| self.signature_template(&spec.response_id)),
            &body,
        );
        if sign { self.sign(&xml) } else { xml }
    }

    /// The whole response, base64, as `SAMLAssertion` carries it.
    pub(crate) fn response(&self, spec: &Spec) -> String {
        encode(&self.response_xml(spec))
    }
}

/// Base64 of a document.
pub(crate) fn encode(xml: &str) -> String {
    STANDARD.encode(xml.as_bytes())
}

fn strip_decl(xml: &str) -> &str {
    match xml.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or(xml, |(_, r)| r.trim_start()),
        None => xml,
    }
}

pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A fresh `ID` (an NCName): unique per call.
pub(crate) fn new_id() -> String {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new().fill(&mut b).unwrap();
    format!(
        "_{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    )
}

/// Everything a response says. [`Spec::new`] gives what Okta sends AWS, valid at `now`.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub(crate) response_id: String,
    pub(crate) assertion_id: String,
    pub(crate) issue_instant: DateTime<Utc>,
    /// `Response/Issuer` and `Assertion/Issuer` (the IdP's entity id unless set).
    pub(crate) issuer: Option<String>,
    pub(crate) destination: Option<String>,
    pub(crate) status: String,
    pub(crate) name_id: String,
    pub(crate) name_id_format: Option<String>,
    pub(crate) recipient: Option<String>,
    pub(crate) confirmation_not_on_or_after: Option<DateTime<Utc>>,
    pub(crate) confirmation_method: String,
    pub(crate) not_before: Option<DateTime<Utc>>,
    pub(crate) not_on_or_after: Option<DateTime<Utc>>,
    /// One `AudienceRestriction` per inner list; none at all when empty.
    pub(crate) audiences: Vec<Vec<String>>,
    pub(crate) session_not_on_or_after: Option<DateTime<Utc>>,
    pub(crate) attributes: Vec<(String, Vec<String>)>,
    pub(crate) signing: Signing,
    pub(crate) encryption: Encryption,
}

impl Spec {
    pub(crate) fn new(now: DateTime<Utc>) -> Spec {
        Spec {
            response_id: new_id(),
            assertion_id: new_id(),
            issue_instant: now,
            issuer: None,
            destination: Some(AWS_ACS.to_owned()),
            status: "urn:oasis:names:tc:SAML:2.0:status:Success".to_owned(),
            name_id: "alice@example.com".to_owned(),
            name_id_format: Some(PERSISTENT.to_owned()),
            recipient: Some(AWS_ACS.to_owned()),
            confirmation_not_on_or_after: Some(now + TimeDelta::minutes(5)),
            confirmation_method: "urn:oasis:names:tc:SAML:2.0:cm:bearer".to_owned(),
            not_before: Some(now - TimeDelta::minutes(5)),
            not_on_or_after: Some(now + TimeDelta::minutes(5)),
            audiences: vec![vec![AWS_AUDIENCE.to_owned()]],
            session_not_on_or_after: Some(now + TimeDelta::hours(8)),
            attributes: Vec::new(),
            signing: Signing::Assertion,
            encryption: Encryption::Clear,
        }
    }

    /// What AWS reads: the role pair, `RoleSessionName`.
    pub(crate) fn aws(
        now: DateTime<Utc>,
        role_arn: &str,
        provider_arn: &str,
        session: &str,
    ) -> Spec {
        let mut s = Spec::new(now);
        s.attr("Role", &[&format!("{role_arn},{provider_arn}")]);
        s.attr("RoleSessionName", &[session]);
        s
    }

    /// Add an AWS attribute (`https://aws.amazon.com/SAML/Attributes/<name>`).
    pub(crate) fn attr(&mut self, name: &str, values: &[&str]) -> &mut Spec {
        self.raw_attr(&format!("{ATTR}{name}"), values)
    }

    /// Add an attribute by its full `Name`.
    pub(crate) fn raw_attr(&mut self, name: &str, values: &[&str]) -> &mut Spec {
        self.attributes.push((
            name.to_owned(),
            values.iter().map(|v| (*v).to_owned()).collect(),
        ));
        self
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn opt_attr(name: &str, v: Option<String>) -> String {
    v.map(|v| format!(r#" {name}="{}""#, esc(&v)))
        .unwrap_or_default()
}

/// The assertion (namespace declared on it, so that it can be signed and encrypted alone).
pub(crate) fn assertion_xml(spec: &Spec, entity_id: &str, signature: Option<String>) -> String {
    let issuer = spec.issuer.as_deref().unwrap_or(entity_id);
    let conditions =
        if spec.not_before.is_none() && spec.not_on_or_after.is_none() && spec.audiences.is_empty()
        {
            String::new()
        } else {
            let restrictions: String = spec
                .audiences
                .iter()
                .map(|list| {
                    let inner: String = list
                        .iter()
                        .map(|a| format!("<saml:Audience>{}</saml:Audience>", esc(a)))
                        .collect();
                    format!("<saml:AudienceRestriction>{inner}</saml:AudienceRestriction>")
                })
                .collect();
            format!(
                "<saml:Conditions{}{}>{restrictions}</saml:Conditions>",
                opt_attr("NotBefore", spec.not_before.map(time)),
                opt_attr("NotOnOrAfter", spec.not_on_or_after.map(time)),
            )
        };
    let attributes = if spec.attributes.is_empty() {
        String::new()
    } else {
        let inner: String = spec
            .attributes
            .iter()
            .map(|(name, values)| {
                let vals: String = values
                    .iter()
                    .map(|v| {
                        format!(
                            r#"<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">{}</saml:AttributeValue>"#,
                            esc(v)
                        )
                    })
                    .collect();
                format!(
                    r#"<saml:Attribute Name="{}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">{vals}</saml:Attribute>"#,
                    esc(name)
                )
            })
            .collect();
        format!("<saml:AttributeStatement>{inner}</saml:AttributeStatement>")
    };
    format!(
        concat!(
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" IssueInstant="{instant}" Version="2.0">"#,
            r#"<saml:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">{issuer}</saml:Issuer>"#,
            "{signature}",
            r#"<saml:Subject><saml:NameID{format}>{name_id}</saml:NameID>"#,
            r#"<saml:SubjectConfirmation Method="{method}"><saml:SubjectConfirmationData{noa}{recipient}/></saml:SubjectConfirmation></saml:Subject>"#,
            "{conditions}",
            r#"<saml:AuthnStatement AuthnInstant="{instant}" SessionIndex="{id}"{snoa}><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"#,
            "{attributes}",
            "</saml:Assertion>"
        ),
        id = spec.assertion_id,
        instant = time(spec.issue_instant),
        issuer = esc(issuer),
        signature = signature.unwrap_or_default(),
        format = opt_attr("Format", spec.name_id_format.clone()),
        name_id = esc(&spec.name_id),
        method = esc(&spec.confirmation_method),
        noa = opt_attr("NotOnOrAfter", spec.confirmation_not_on_or_after.map(time)),
        recipient = opt_attr("Recipient", spec.recipient.clone()),
        conditions = conditions,
        snoa = opt_attr(
            "SessionNotOnOrAfter",
            spec.session_not_on_or_after.map(time)
        ),
        attributes = attributes,
    )
}

/// The response around `body` (an assertion or an encrypted assertion).
pub(crate) fn response_xml(
    spec: &Spec,
    entity_id: &str,
    signature: Option<String>,
    body: &str,
) -> String {
    let issuer = spec.issuer.as_deref().unwrap_or(entity_id);
    format!(
        concat!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="{id}" Version="2.0" IssueInstant="{instant}"{destination}>"#,
            r#"<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">{issuer}</saml:Issuer>"#,
            "{signature}",
            r#"<samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status>"#,
            "{body}",
            "</samlp:Response>"
        ),
        id = spec.response_id,
        instant = time(spec.issue_instant),
        destination = opt_attr("Destination", spec.destination.clone()),
        issuer = esc(issuer),
        signature = signature.unwrap_or_default(),
        status = esc(&spec.status),
        body = body,
    )
}

/// `assertion` encrypted to [`ENCRYPTION_KEY`]'s public key: RSA-OAEP (MGF1-SHA1) key
/// transport inside the data's `KeyInfo`, as Okta and ADFS send it.
pub(crate) fn encrypt_assertion(assertion: &str, e: Encryption) -> String {
    use openssl::symm::{Cipher, encrypt, encrypt_aead};
    let key = openssl::pkey::PKey::private_key_from_pem(ENCRYPTION_KEY.as_bytes()).unwrap();
    let rsa = key.rsa().unwrap();
    let (alg, cek_len) = match e {
        Encryption::Aes256Gcm => ("http://www.w3.org/2009/xmlenc11#aes256-gcm", 32),
        Encryption::Aes128Cbc => ("http://www.w3.org/2001/04/xmlenc#aes128-cbc", 16),
        Encryption::Clear => unreachable!(),
    };
    let mut cek = vec![0u8; cek_len];
    openssl::rand::rand_bytes(&mut cek).unwrap();
    let data = match e {
        Encryption::Aes256Gcm => {
            let mut iv = [0u8; 12];
            openssl::rand::rand_bytes(&mut iv).unwrap();
            let mut tag = [0u8; 16];
            let ct = encrypt_aead(
                Cipher::aes_256_gcm(),
                &cek,
                Some(&iv),
                &[],
                assertion.as_bytes(),
                &mut tag,
            )
            .unwrap();
            [iv.as_slice(), &ct, &tag].concat()
        }
        _ => {
            let mut iv = [0u8; 16];
            openssl::rand::rand_bytes(&mut iv).unwrap();
            // PKCS#7 padding is one of XML Encryption's paddings (the last byte counts).
            let ct = encrypt(Cipher::aes_128_cbc(), &cek, Some(&iv), assertion.as_bytes()).unwrap();
            [iv.as_slice(), &ct].concat()
        }
    };
    let mut wrapped = vec![0u8; rsa.size() as usize];
    let n = rsa
        .public_encrypt(&cek, &mut wrapped, openssl::rsa::Padding::PKCS1_OAEP)
        .unwrap();
    wrapped.truncate(n);
    format!(
        concat!(
            r#"<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">"#,
            r#"<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element">"#,
            r#"<xenc:EncryptionMethod Algorithm="{alg}"/>"#,
            r#"<ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey>"#,
            r#"<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"><ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/></xenc:EncryptionMethod>"#,
            r#"<xenc:CipherData><xenc:CipherValue>{key}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>"#,
            r#"<xenc:CipherData><xenc:CipherValue>{data}</xenc:CipherValue></xenc:CipherData>"#,
            r#"</xenc:EncryptedData></saml:EncryptedAssertion>"#
        ),
        alg = alg,
        key = STANDARD.encode(wrapped),
        data = STANDARD.encode(data),
    )
}
