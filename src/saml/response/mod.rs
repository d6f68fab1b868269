//! Verifying a SAML 2.0 `Response` as `AssumeRoleWithSAML` receives it (base64 in
//! `SAMLAssertion`) and as an assertion consumer service receives it (the `SAMLResponse` form
//! field): <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html>,
//! OASIS saml-core-2.0-os §2 and §3.3.3, saml-profiles-2.0-os §4.1.4 (the Web Browser SSO
//! profile's checks).
//!
//! [`verify`] is a pure function of the encoded response, the provider, the settings and `now`,
//! in this order:
//! 1. base64 (at most [`MAX_ENCODED_CHARS`]), UTF-8;
//! 2. the strict pre-filter ([`prefilter`]);
//! 3. samael: `ServiceProvider::parse_xml_response_with_mode` with the provider's signing
//!    certificates, an explicit algorithm allow-list (RSA-SHA256, ECDSA-SHA256), the entity id
//!    and ACS URL the document must carry; it verifies every signature with xmlsec and keeps
//!    only the canonical bytes a signature covered (so signature wrapping never surfaces an
//!    injected identity). An
//!    `EncryptedAssertion` is decrypted first ([`decrypt`]): when the response is signed, only
//!    the ciphertext samael verified is decrypted; otherwise the decrypted assertion must be
//!    signed itself;
//! 4. tessera's own checks on the verified assertion, with `now` (samael's clock checks read
//!    the wall clock, so they are opened wide and every time is checked here): issuer, audience,
//!    exactly one bearer subject confirmation to an accepted ACS URL, validity windows with
//!    [`SKEW`], redemption within five minutes of issue (as AWS).
//!
//! What it must never do: read the clock, touch the network or files, or hand samael a document
//! the pre-filter refused. [`Refusal`]s carry a safe public text and a log reason.

pub mod decrypt;
pub mod prefilter;

use std::borrow::Cow;

use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use samael::crypto::{AllowedSignatureAlgorithm, Crypto, CryptoProvider, ReduceMode};
use samael::schema::Assertion;

use crate::credentials::Secret;
use prefilter::{Root, Shape, ShapeError};

/// The model's bound on `SAMLAssertion` (`SAMLAssertionType`, 4..100000).
pub const MAX_ENCODED_CHARS: usize = 100_000;
/// How far the IdP's clock may be from ours, either way.
pub const SKEW: TimeDelta = TimeDelta::seconds(60);
/// AWS: "Token must be redeemed within 5 minutes of issuance".
pub const REDEEM_WITHIN: TimeDelta = TimeDelta::minutes(5);
/// The SP entity id AWS's own documentation tells IdPs to put in `Audience`.
pub const AWS_AUDIENCE: &str = "urn:amazon:webservices";
/// AWS's sign-in endpoints, accepted as `Recipient` and `Destination` so that an IdP app set
/// up for AWS works unchanged.
pub const AWS_ACS_URLS: &[&str] = &[
    "https://signin.aws.amazon.com/saml",
    "https://signin.aws.amazon.com/static/saml",
];

const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const ALLOWED: &[AllowedSignatureAlgorithm] = &[
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha256,
];
/// What samael keeps of a verified document: exactly the bytes a signature's digest covered
/// (the exclusive canonical form of the signed element; the response's, when both it and the
/// assertion are signed), so that what is read is what was signed. This mode also leaves
/// libxml2's tree alone: the modes that re-root the tree at a signed assertion leak the rest of
/// the tree (and a namespace list) on every call.
const REDUCE: ReduceMode = ReduceMode::PreDigest;
/// Wider than any validity window: samael's own time checks (against the wall clock) never
/// decide; [`policy`] checks every time against `now`. The pre-filter keeps every instant
/// within years 1970..9999, so adding this never overflows.
const SAMAEL_WINDOW_DAYS: i64 = 365 * 100;

/// Where assertions may be addressed: the audiences and ACS URLs tessera answers to.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Accepted `Audience` values: AWS's and, if configured, tessera's own entity id.
    pub audiences: Vec<String>,
    /// Accepted `Recipient` / `Destination` URLs besides AWS's sign-in endpoints.
    pub acs_urls: Vec<String>,
}

impl Settings {
    /// AWS's audience and endpoints, plus tessera's own entity id and ACS URLs.
    pub fn new(own_entity_id: Option<&str>, own_acs_urls: &[String]) -> Settings {
        let mut audiences = vec![AWS_AUDIENCE.to_owned()];
        audiences.extend(own_entity_id.map(str::to_owned));
        Settings {
            audiences,
            acs_urls: own_acs_urls.to_vec(),
        }
    }

    /// Whether `url` is an endpoint assertions may be addressed to: AWS's sign-in endpoints
    /// (global or regional, `https://<region>.signin.aws.amazon.com/saml`) or ours.
    pub fn accepts_recipient(&self, url: &str) -> bool {
        if AWS_ACS_URLS.contains(&url) || self.acs_urls.iter().any(|u| u == url) {
            return true;
        }
        url.strip_prefix("https://")
            .and_then(|u| u.strip_suffix(".signin.aws.amazon.com/saml"))
            .is_some_and(|region| {
                !region.is_empty()
                    && region
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            })
    }

    fn accepts_audience(&self, a: &str) -> bool {
        self.audiences.iter().any(|x| x == a)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings::new(None, &[])
    }
}

/// What verification needs of a SAML provider.
#[derive(Debug, Clone)]
pub struct Provider {
    /// The metadata's `entityID`: the only `Issuer` accepted.
    pub entity_id: String,
    /// Base64 DER signing certificates (1..10).
    pub signing_certs: Vec<String>,
    /// PKCS#8 PEM keys that decrypt `EncryptedAssertion`s.
    pub private_keys: Vec<Secret>,
    /// `AssertionEncryptionMode` `Required`: assertions in the clear are refused.
    pub encryption_required: bool,
}

/// A verified assertion: what an IdP vouched for, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// `Assertion/Issuer`: the provider's entity id.
    pub issuer: String,
    /// `Assertion/@ID`.
    pub assertion_id: String,
    /// `Subject/NameID`.
    pub subject: String,
    /// `NameID/@Format`, if given.
    pub subject_format: Option<String>,
    /// `SubjectConfirmationData/@Recipient`: an accepted ACS URL.
    pub recipient: String,
    /// The audience that matched (AWS's or ours).
    pub audience: String,
    /// `IssueInstant` of the assertion.
    pub issued_at: DateTime<Utc>,
    /// The last instant at which this assertion could be accepted (validity windows, the
    /// five-minute redemption rule and [`SKEW`] included): how long a replay cache keeps it.
    pub acceptable_until: DateTime<Utc>,
    /// The earliest `AuthnStatement/@SessionNotOnOrAfter`, if any.
    pub session_not_on_or_after: Option<DateTime<Utc>>,
    /// Whether it arrived encrypted.
    pub encrypted: bool,
    /// Every `Attribute` with a `Name`, in document order: its name and its values' text.
    pub attributes: Vec<Attribute>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub values: Vec<String>,
}

impl Verified {
    /// The values of every attribute named `name`, in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.attributes
            .iter()
            .filter(move |a| a.name == name)
            .flat_map(|a| a.values.iter().map(String::as_str))
    }

    /// Whether any attribute is named `name`.
    pub fn has(&self, name: &str) -> bool {
        self.attributes.iter().any(|a| a.name == name)
    }
}

/// Why a response was refused, as the client may hear it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// Not a response this verifier reads: encoding, shape, missing parts.
    Malformed,
    /// No signature verified against the provider's certificates.
    Signature,
    /// The issuer is not the provider's entity id.
    Issuer,
    /// No acceptable `Audience`.
    Audience,
    /// The subject confirmation or destination is not addressed to an accepted endpoint.
    Recipient,
    /// Older than five minutes.
    Redeem,
    /// Expired or not yet valid.
    Expired,
    /// The IdP's status is not Success.
    Rejected,
    /// Encrypted when it may not be, clear when it must not be, or not decryptable.
    Encryption,
    /// Verification could not run (a task failed).
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    /// For the log and the audit record: which rule failed. Never sent to the client.
    pub reason: String,
}

impl Refusal {
    pub fn new(kind: RefusalKind, reason: impl Into<String>) -> Refusal {
        Refusal {
            kind,
            reason: reason.into(),
        }
    }

    /// What the client is told. AWS's wording where it is known (IAM User Guide,
    /// "Troubleshoot SAML federation"); ours otherwise.
    pub fn public(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self.kind {
            RefusalKind::Malformed => "Your request included an invalid SAML response.",
            RefusalKind::Signature => "Response signature invalid",
            RefusalKind::Issuer => "Issuer not present in specified provider",
            RefusalKind::Audience => "Response does not contain the required audience.",
            RefusalKind::Recipient => {
                "Response is not addressed to an accepted endpoint (Recipient or Destination)."
            }
            RefusalKind::Redeem => "Token must be redeemed within 5 minutes of issuance",
            RefusalKind::Expired => {
                "The SAML assertion is expired or not yet valid. Get a new SAML response from the identity provider and then retry the request."
            }
            RefusalKind::Rejected => {
                "The identity provider (IdP) reported that authentication failed. This might be because the claim is invalid."
            }
            RefusalKind::Encryption => {
                "The SAML assertion's encryption does not match the provider's AssertionEncryptionMode or could not be decrypted."
            }
            RefusalKind::Internal => "An internal error occurred.",
        })
    }
}

fn shape_refusal(e: ShapeError) -> Refusal {
    let kind = match e {
        ShapeError::StatusNotSuccess => RefusalKind::Rejected,
        ShapeError::Unsigned => RefusalKind::Signature,
        _ => RefusalKind::Malformed,
    };
    Refusal::new(
        kind,
        format!("SAML response refused by the pre-filter: {e}"),
    )
}

/// Decode the base64 of `SAMLAssertion` / `SAMLResponse`: at most [`MAX_ENCODED_CHARS`];
/// line breaks (as some IdPs wrap it) are ignored.
pub fn decode(encoded: &str) -> Result<String, Refusal> {
    // Bytes bound characters from above: count only when the bytes could be too many.
    if encoded.len() > MAX_ENCODED_CHARS && encoded.chars().count() > MAX_ENCODED_CHARS {
        return Err(Refusal::new(
            RefusalKind::Malformed,
            format!("SAML response longer than {MAX_ENCODED_CHARS} characters"),
        ));
    }
    let compact: Vec<u8> = encoded
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| Refusal::new(RefusalKind::Malformed, "SAML response is not base64"))?;
    String::from_utf8(bytes)
        .map_err(|_| Refusal::new(RefusalKind::Malformed, "SAML response is not UTF-8"))
}

/// Verify a base64 SAML response from `provider` at `now` (see the module's header).
pub fn verify(
    encoded: &str,
    provider: &Provider,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<Verified, Refusal> {
    let xml = decode(encoded)?;
    verify_xml(&xml, provider, settings, now)
}

/// [`verify`] for an already decoded document.
pub fn verify_xml(
    xml: &str,
    provider: &Provider,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<Verified, Refusal> {
    let shape = prefilter::check(xml, Root::Response).map_err(shape_refusal)?;
    let (assertion, outer, encrypted) = match &shape.encrypted {
        None => {
            if provider.encryption_required {
                return Err(Refusal::new(
                    RefusalKind::Encryption,
                    "the provider requires encrypted assertions; this one is in the clear",
                ));
            }
            (
                samael_verify(xml, &shape, provider, settings)?,
                shape,
                false,
            )
        }
        Some(_) => {
            let (assertion, outer) = verify_encrypted(xml, shape, provider, settings)?;
            (assertion, outer, true)
        }
    };
    policy(&assertion, &outer, encrypted, provider, settings, now)
}

/// The provider's certificates that can verify the document's signatures. samael stops at the
/// first certificate whose key type does not fit a signature (xmlsec reports an error, not a
/// mismatch), so with several certificates (a rollover from RSA to EC, say) only those of the
/// key type the signatures use are given to it.
fn usable_certificates(provider: &Provider, shape: &Shape) -> Vec<String> {
    if provider.signing_certs.len() < 2 || (shape.rsa_signature && shape.ecdsa_signature) {
        return provider.signing_certs.clone();
    }
    let want = if shape.ecdsa_signature {
        openssl::pkey::Id::EC
    } else {
        openssl::pkey::Id::RSA
    };
    provider
        .signing_certs
        .iter()
        .filter(|c| {
            samael::crypto::decode_x509_cert(c)
                .ok()
                .and_then(|der| openssl::x509::X509::from_der(der.der_data()).ok())
                .and_then(|x| x.public_key().ok())
                .is_some_and(|k| k.id() == want)
        })
        .cloned()
        .collect()
}

/// samael's view of the provider: its entity id and these signing certificates.
fn idp_metadata(provider: &Provider, certs: &[String]) -> samael::metadata::EntityDescriptor {
    use samael::key_info::{KeyInfo, X509Data};
    use samael::metadata::{EntityDescriptor, IdpSsoDescriptor, KeyDescriptor};
    EntityDescriptor {
        entity_id: Some(provider.entity_id.clone()),
        idp_sso_descriptors: Some(vec![IdpSsoDescriptor {
            id: None,
            valid_until: None,
            cache_duration: None,
            protocol_support_enumeration: None,
            error_url: None,
            signature: None,
            key_descriptors: vec![KeyDescriptor {
                key_use: Some("signing".to_owned()),
                key_info: KeyInfo {
                    id: None,
                    x509_data: Some(X509Data {
                        certificates: certs.to_vec(),
                    }),
                },
                encryption_methods: None,
            }],
            organization: None,
            contact_people: Vec::new(),
            artifact_resolution_service: Vec::new(),
            single_logout_services: Vec::new(),
            manage_name_id_services: Vec::new(),
            name_id_formats: Vec::new(),
            want_authn_requests_signed: None,
            single_sign_on_services: Vec::new(),
            name_id_mapping_services: Vec::new(),
            assertion_id_request_services: Vec::new(),
            attribute_profiles: Vec::new(),
            attributes: Vec::new(),
        }]),
        ..EntityDescriptor::default()
    }
}

/// The certificates as samael's crypto takes them.
fn certificates(certs: &[String]) -> Result<Vec<samael::crypto::CertificateDer>, Refusal> {
    certs
        .iter()
        .map(|c| samael::crypto::decode_x509_cert(c))
        .collect::<Result<_, _>>()
        .map_err(|_| {
            Refusal::new(
                RefusalKind::Internal,
                "stored signing certificate is not base64",
            )
        })
}

/// Verify with samael's `ServiceProvider::parse_xml_response`, told the ACS URL and audience
/// the document claims — once they are ones we accept — so that its own recipient, audience,
/// destination and issuer checks run too. `xml` has passed the pre-filter as `shape`.
fn samael_verify(
    xml: &str,
    shape: &Shape,
    provider: &Provider,
    settings: &Settings,
) -> Result<Assertion, Refusal> {
    let recipient = shape
        .recipient
        .as_deref()
        .filter(|r| settings.accepts_recipient(r))
        .ok_or_else(|| {
            Refusal::new(
                RefusalKind::Recipient,
                "no SubjectConfirmationData Recipient that is an accepted ACS URL",
            )
        })?;
    let audience = shape
        .audiences
        .iter()
        .find(|a| settings.accepts_audience(a))
        .ok_or_else(|| Refusal::new(RefusalKind::Audience, "no accepted Audience"))?;
    let window = TimeDelta::days(SAMAEL_WINDOW_DAYS);
    let sp = samael::service_provider::ServiceProvider {
        entity_id: Some(audience.clone()),
        acs_url: Some(recipient.to_owned()),
        metadata_url: None,
        slo_url: None,
        idp_metadata: idp_metadata(provider, &usable_certificates(provider, shape)),
        // IdP-initiated, as AWS's sign-in is: InResponseTo is not checked.
        allow_idp_initiated: true,
        max_issue_delay: window,
        max_clock_skew: window,
        allowed_signature_algorithms: Some(ALLOWED.to_vec()),
        ..samael::service_provider::ServiceProvider::default()
    };
    // samael's errors are not Send: only their text leaves this function.
    sp.parse_xml_response_with_mode(xml, None, REDUCE)
        .map_err(|e| {
            use samael::service_provider::Error as E;
            let kind = match e {
                E::FailedToValidateSignature => RefusalKind::Signature,
                E::DestinationValidationError { .. }
                | E::AssertionRecipientMismatch { .. }
                | E::AssertionBearerSubjectConfirmationMissing
                | E::AssertionSubjectConfirmationMissing => RefusalKind::Recipient,
                E::AssertionIssuerMismatch { .. } | E::ResponseIssuerMismatch { .. } => {
                    RefusalKind::Issuer
                }
                E::AssertionConditionAudienceRestrictionFailed { .. } => RefusalKind::Audience,
                E::ResponseBadStatusCode { .. } => RefusalKind::Rejected,
                _ => RefusalKind::Malformed,
            };
            Refusal::new(kind, format!("samael refused the response: {e}"))
        })
}

/// An `EncryptedAssertion`: verify what is signed, decrypt, verify again.
fn verify_encrypted(
    xml: &str,
    shape: Shape,
    provider: &Provider,
    settings: &Settings,
) -> Result<(Assertion, Shape), Refusal> {
    if provider.private_keys.is_empty() {
        return Err(Refusal::new(
            RefusalKind::Encryption,
            "an encrypted assertion, and the provider has no private key",
        ));
    }
    // When the response is signed, decrypt only the ciphertext its signature covers: what
    // samael kept of the document after verifying it, read again by the pre-filter.
    let outer = if shape.response_signed {
        let certs = certificates(&usable_certificates(provider, &shape))?;
        let reduced = Crypto::reduce_xml_to_signed_with_allowed_algorithms(
            xml,
            &certs,
            REDUCE,
            Some(ALLOWED),
        )
        .map_err(|e| {
            Refusal::new(
                RefusalKind::Signature,
                format!("response signature over an encrypted assertion: {e}"),
            )
        })?;
        let mut signed = prefilter::check(&reduced, Root::Response).map_err(shape_refusal)?;
        signed.response_signed = true;
        signed
    } else {
        shape
    };
    let parts = outer
        .encrypted
        .as_ref()
        .ok_or_else(|| Refusal::new(RefusalKind::Malformed, "no EncryptedAssertion"))?;
    let plain = decrypt::decrypt(parts, &provider.private_keys)
        .map_err(|e| Refusal::new(RefusalKind::Encryption, e.to_string()))?;
    let inner = prefilter::check(&plain, Root::Assertion).map_err(shape_refusal)?;
    let assertion = if inner.assertion_signed {
        samael_verify(&plain, &inner, provider, settings)?
    } else if outer.response_signed {
        plain.parse::<Assertion>().map_err(|e| {
            Refusal::new(
                RefusalKind::Malformed,
                format!("decrypted assertion does not parse: {e}"),
            )
        })?
    } else {
        return Err(Refusal::new(
            RefusalKind::Signature,
            "neither the response nor the decrypted assertion is signed",
        ));
    };
    Ok((assertion, outer))
}

/// tessera's checks on a verified assertion (see the module's header). `outer` is what the
/// pre-filter read of the response around it.
fn policy(
    a: &Assertion,
    outer: &Shape,
    encrypted: bool,
    provider: &Provider,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<Verified, Refusal> {
    let malformed = |why: &str| Refusal::new(RefusalKind::Malformed, why.to_owned());
    let expired = |why: String| Refusal::new(RefusalKind::Expired, why);

    // --- issuer -----------------------------------------------------------------------------
    let issuer = a.issuer.value.as_deref().unwrap_or("").trim();
    if issuer != provider.entity_id {
        return Err(Refusal::new(
            RefusalKind::Issuer,
            "assertion Issuer is not the provider's entity id",
        ));
    }
    if outer
        .response_issuer
        .as_deref()
        .is_some_and(|i| i.trim() != provider.entity_id)
    {
        return Err(Refusal::new(
            RefusalKind::Issuer,
            "response Issuer is not the provider's entity id",
        ));
    }
    if outer
        .destination
        .as_deref()
        .is_some_and(|d| !settings.accepts_recipient(d))
    {
        return Err(Refusal::new(
            RefusalKind::Recipient,
            "response Destination is not an accepted ACS URL",
        ));
    }
    if a.version != "2.0" {
        return Err(malformed("assertion Version is not 2.0"));
    }

    // --- issue instant ----------------------------------------------------------------------
    let mut until = a.issue_instant + REDEEM_WITHIN;
    if a.issue_instant > now + SKEW {
        return Err(expired("assertion IssueInstant is in the future".into()));
    }
    if now > until + SKEW {
        return Err(Refusal::new(
            RefusalKind::Redeem,
            "assertion issued more than five minutes ago",
        ));
    }

    // --- conditions and audience ------------------------------------------------------------
    let conditions = a.conditions.as_ref().ok_or_else(|| {
        Refusal::new(
            RefusalKind::Audience,
            "no Conditions (no AudienceRestriction)",
        )
    })?;
    if let Some(nb) = conditions.not_before
        && nb > now + SKEW
    {
        return Err(expired("Conditions NotBefore is in the future".into()));
    }
    if let Some(noa) = conditions.not_on_or_after {
        if noa + SKEW <= now {
            return Err(expired("Conditions NotOnOrAfter has passed".into()));
        }
        until = until.min(noa);
    }
    let restrictions = conditions
        .audience_restrictions
        .as_deref()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| Refusal::new(RefusalKind::Audience, "no AudienceRestriction"))?;
    // Every restriction must be met (saml-core §2.5.1.4).
    let mut audience = None;
    for r in restrictions {
        let hit = r
            .audience
            .iter()
            .map(|x| x.trim())
            .find(|x| settings.accepts_audience(x))
            .ok_or_else(|| {
                Refusal::new(
                    RefusalKind::Audience,
                    "an AudienceRestriction names no accepted audience",
                )
            })?;
        audience.get_or_insert_with(|| hit.to_owned());
    }
    let audience = audience.unwrap_or_default();

    // --- subject and its one bearer confirmation ---------------------------------------------
    let subject = a
        .subject
        .as_ref()
        .ok_or_else(|| malformed("assertion has no Subject"))?;
    let name_id = subject
        .name_id
        .as_ref()
        .ok_or_else(|| malformed("Subject has no NameID"))?;
    let subject_value = name_id.value.trim();
    if subject_value.is_empty() {
        return Err(malformed("NameID is empty"));
    }
    let confirmations = subject.subject_confirmations.as_deref().unwrap_or(&[]);
    let [confirmation] = confirmations else {
        return Err(Refusal::new(
            RefusalKind::Recipient,
            "the Subject must have exactly one SubjectConfirmation",
        ));
    };
    if confirmation.method.as_deref() != Some(BEARER) {
        return Err(Refusal::new(
            RefusalKind::Recipient,
            "the SubjectConfirmation is not bearer",
        ));
    }
    let data = confirmation
        .subject_confirmation_data
        .as_ref()
        .ok_or_else(|| Refusal::new(RefusalKind::Recipient, "no SubjectConfirmationData"))?;
    let recipient = data
        .recipient
        .as_deref()
        .map(str::trim)
        .filter(|r| settings.accepts_recipient(r))
        .ok_or_else(|| {
            Refusal::new(
                RefusalKind::Recipient,
                "SubjectConfirmationData Recipient is missing or not an accepted ACS URL",
            )
        })?;
    let noa = data.not_on_or_after.ok_or_else(|| {
        Refusal::new(
            RefusalKind::Recipient,
            "SubjectConfirmationData has no NotOnOrAfter",
        )
    })?;
    if noa + SKEW <= now {
        return Err(expired(
            "SubjectConfirmationData NotOnOrAfter has passed".into(),
        ));
    }
    until = until.min(noa);
    if data.not_before.is_some_and(|nb| nb > now + SKEW) {
        return Err(expired(
            "SubjectConfirmationData NotBefore is in the future".into(),
        ));
    }

    // --- the session's bound and the attributes ----------------------------------------------
    let session_not_on_or_after = a
        .authn_statements
        .iter()
        .flatten()
        .filter_map(|s| s.session_not_on_or_after)
        .min();
    if session_not_on_or_after.is_some_and(|t| t <= now) {
        return Err(expired(
            "AuthnStatement SessionNotOnOrAfter has passed".into(),
        ));
    }
    let attributes = a
        .attribute_statements
        .iter()
        .flatten()
        .flat_map(|s| s.attributes.iter())
        .filter_map(|at| {
            Some(Attribute {
                name: at.name.clone()?,
                values: at
                    .values
                    .iter()
                    .map(|v| v.value.clone().unwrap_or_default())
                    .collect(),
            })
        })
        .collect();
    Ok(Verified {
        issuer: issuer.to_owned(),
        assertion_id: a.id.clone(),
        subject: subject_value.to_owned(),
        subject_format: name_id.format.clone(),
        recipient: recipient.to_owned(),
        audience,
        issued_at: a.issue_instant,
        acceptable_until: until + SKEW,
        session_not_on_or_after,
        encrypted,
        attributes,
    })
}

#[cfg(test)]
mod tests;
