//! The strict streaming pre-filter every SAML response passes before samael (libxml2 and
//! xmlsec) sees a byte of it, and every decrypted assertion before it is used.
//!
//! samael verifies signatures soundly, but it hands the whole untrusted document to libxml2
//! (recover mode, network allowed) and to xmlsec (which follows any `Reference` URI and runs
//! any transform) before it knows whether any signature is good. This pass, one linear walk
//! with `quick-xml` that resolves nothing external, allows only the shapes real identity
//! providers send:
//!
//! - the XML itself: UTF-8, XML 1.0, only characters XML allows, no DOCTYPE (so no entity can
//!   be declared, expanded or fetched), no processing instruction, no comment (a comment inside
//!   a signed `NameID` is invisible to exclusive canonicalization and splits the text parsers
//!   read: the comment-injection attack), no CDATA, no entity but XML's five and character
//!   references, no unbound prefix, unique attribute names, bounded depth, element and
//!   attribute counts;
//! - the SAML shape: a `samlp:Response` root (or, for a decrypted assertion, a `saml:Assertion`
//!   root) holding only `Issuer`, `Signature`, `Status` and exactly one `Assertion` or
//!   `EncryptedAssertion` — and no other element named `Assertion` anywhere; unique `ID`s of a
//!   safe syntax, none namespaced, no `xml:id`; time attributes that are real UTC instants;
//! - the signatures: each `ds:Signature` a direct child of the response or of the assertion, at
//!   most one each, with one `SignedInfo` (exclusive c14n without comments; RSA-SHA256 or
//!   ECDSA-SHA256), exactly one `Reference` whose `URI` is `#` + the `ID` of the element that
//!   encloses the signature, transforms only enveloped-signature and exclusive c14n, digest
//!   SHA-256, and `KeyInfo` limited to certificate and key-value forms — never `Object`,
//!   `Manifest`, `RetrievalMethod`, XPath or XSLT;
//! - an `EncryptedAssertion` made only of XML Encryption's own elements (never a
//!   `CipherReference`, which would be fetched).
//!
//! It also reads, without trusting them, what the verifier needs to configure samael (the
//! `Recipient` and `Audience`s the document claims) and the encrypted parts to decrypt. Every
//! refusal names the rule that failed, never the document's content.

use chrono::{DateTime, Datelike, Utc};
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

/// Decoded XML, in bytes: 100,000 characters of base64 (the model's bound on `SAMLAssertion`)
/// decode to at most 75,000.
pub const MAX_XML_BYTES: usize = 75_000;
/// Element nesting: a signed, encrypted response is at most about 10 deep.
pub const MAX_DEPTH: usize = 24;
/// Elements in one document: an assertion with a few hundred group values has about a thousand.
pub const MAX_ELEMENTS: usize = 5_000;
/// Attributes (namespace declarations included) on one element.
pub const MAX_ATTRIBUTES: usize = 32;
/// The longest `ID`.
pub const MAX_ID_CHARS: usize = 256;

pub(crate) const PROTOCOL_NS: &[u8] = b"urn:oasis:names:tc:SAML:2.0:protocol";
pub(crate) const ASSERTION_NS: &[u8] = b"urn:oasis:names:tc:SAML:2.0:assertion";
const DSIG_NS: &[u8] = b"http://www.w3.org/2000/09/xmldsig#";
const DSIG11_NS: &[u8] = b"http://www.w3.org/2009/xmldsig11#";
const EXC_C14N_NS: &[u8] = b"http://www.w3.org/2001/10/xml-exc-c14n#";
const XENC_NS: &[u8] = b"http://www.w3.org/2001/04/xmlenc#";
const XENC11_NS: &[u8] = b"http://www.w3.org/2009/xmlenc11#";

/// Exclusive canonicalization without comments: the only canonicalization and transform
/// besides enveloped-signature.
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

/// Which rule a document broke. The `Display` text is safe to log and to show: it names the
/// rule, never the document's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error("the document is larger than {MAX_XML_BYTES} bytes")]
    TooLarge,
    #[error("the document is not well-formed XML 1.0 in UTF-8")]
    Malformed,
    #[error("a DOCTYPE is not allowed")]
    Doctype,
    #[error("processing instructions are not allowed")]
    ProcessingInstruction,
    #[error("comments are not allowed")]
    Comment,
    #[error("CDATA sections are not allowed")]
    Cdata,
    #[error("entity references other than XML's predefined ones are not allowed")]
    EntityReference,
    #[error("elements are nested more than {MAX_DEPTH} deep")]
    TooDeep,
    #[error("the document has more than {MAX_ELEMENTS} elements")]
    TooManyElements,
    #[error("an element has more than {MAX_ATTRIBUTES} attributes")]
    TooManyAttributes,
    #[error("the root element must be a samlp:Response")]
    NotResponse,
    #[error("the root element must be a saml:Assertion")]
    NotAssertion,
    #[error("the Response may hold only Issuer, Signature, Status and one assertion")]
    UnexpectedChild,
    #[error("the document must hold exactly one Assertion or EncryptedAssertion")]
    AssertionCount,
    #[error("an Assertion or EncryptedAssertion must be a direct child of the Response")]
    AssertionPlacement,
    #[error("an ID is missing, malformed, namespaced, an xml:id, or used twice")]
    BadId,
    #[error("a time attribute is not a UTC instant between the years 1970 and 9999")]
    BadTime,
    #[error("the Response Status is not Success")]
    StatusNotSuccess,
    #[error("the Response has no Status")]
    NoStatus,
    #[error("a Signature must be a direct child of the Response or of the Assertion, one each")]
    SignaturePlacement,
    #[error("a signature's structure is not the one allowed (SignedInfo, one Reference, ...)")]
    SignatureStructure,
    #[error("a signature's Reference URI is not `#` + the ID of the element it signs")]
    ReferenceUri,
    #[error("a canonicalization or transform other than exclusive c14n and enveloped-signature")]
    Transform,
    #[error("a signature algorithm other than RSA-SHA256 or ECDSA-SHA256")]
    SignatureAlgorithm,
    #[error("a digest algorithm other than SHA-256")]
    DigestAlgorithm,
    #[error("the EncryptedAssertion holds something other than XML Encryption's elements")]
    EncryptionStructure,
    #[error("more than one SubjectConfirmation")]
    SubjectConfirmations,
    #[error("the response is not signed")]
    Unsigned,
}

/// What the document is expected to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    /// A `samlp:Response`, as `AssumeRoleWithSAML` and the ACS receive it.
    Response,
    /// A `saml:Assertion` on its own: the plaintext of an `EncryptedAssertion`.
    Assertion,
}

/// What the pre-filter read of a document that passed it. Nothing here is verified: it is
/// used to configure the verification and as a second opinion, never as an answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    /// `Response/@ID` (empty for an assertion document).
    pub response_id: String,
    pub response_signed: bool,
    pub destination: Option<String>,
    /// `Response/Issuer`, when present.
    pub response_issuer: Option<String>,
    /// `Assertion/@ID`, when the assertion is in the clear.
    pub assertion_id: Option<String>,
    pub assertion_signed: bool,
    /// Whether some signature is RSA-SHA256, and whether some is ECDSA-SHA256.
    pub rsa_signature: bool,
    pub ecdsa_signature: bool,
    /// The `EncryptedAssertion`'s parts, when the assertion is encrypted.
    pub encrypted: Option<EncryptedParts>,
    /// `SubjectConfirmationData/@Recipient` of the (single) subject confirmation.
    pub recipient: Option<String>,
    /// Every `Audience`, in document order.
    pub audiences: Vec<String>,
}

/// The parts of an `EncryptedAssertion` decryption needs (XML Encryption §3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncryptedParts {
    /// `EncryptedData/EncryptionMethod/@Algorithm`.
    pub data_algorithm: String,
    /// `EncryptedData/CipherData/CipherValue`, base64.
    pub data_cipher: String,
    /// Every `EncryptedKey`, inside the data's `KeyInfo` or beside the data.
    pub keys: Vec<EncryptedKeyParts>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncryptedKeyParts {
    /// `EncryptionMethod/@Algorithm`.
    pub algorithm: String,
    /// `EncryptionMethod/ds:DigestMethod/@Algorithm` (the OAEP digest), if given.
    pub digest: Option<String>,
    /// `EncryptionMethod/xenc11:MGF/@Algorithm`, if given.
    pub mgf: Option<String>,
    /// Whether the method carries `OAEPparams` (a label), which we do not support.
    pub oaep_params: bool,
    /// `CipherData/CipherValue`, base64.
    pub cipher: String,
}

/// What an open element is, as far as the rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Response,
    Assertion,
    Status,
    StatusCode,
    ResponseIssuer,
    Audience,
    SubjectConfirmation,
    /// A `ds:`/`dsig11:`/`ec:` element inside a `Signature`, by local name.
    Sig(&'static str),
    /// Inside an `EncryptedAssertion`, by local name.
    Enc(&'static str),
    Other,
}

struct Frame {
    kind: Kind,
    /// The element's `ID`, for a signature it encloses.
    id: Option<String>,
    /// Whether a `Signature` child was seen.
    signed: bool,
    /// Local names of the element children seen, for signature elements (small lists).
    children: Vec<&'static str>,
}

impl Frame {
    fn new(kind: Kind, id: Option<String>) -> Self {
        Frame {
            kind,
            id,
            signed: false,
            children: Vec::new(),
        }
    }
}

/// The child elements a signature element may have: (parent, child namespace, child).
const SIGNATURE_CHILDREN: &[(&str, &[u8], &str)] = &[
    ("Signature", DSIG_NS, "SignedInfo"),
    ("Signature", DSIG_NS, "SignatureValue"),
    ("Signature", DSIG_NS, "KeyInfo"),
    ("SignedInfo", DSIG_NS, "CanonicalizationMethod"),
    ("SignedInfo", DSIG_NS, "SignatureMethod"),
    ("SignedInfo", DSIG_NS, "Reference"),
    ("CanonicalizationMethod", EXC_C14N_NS, "InclusiveNamespaces"),
    ("Reference", DSIG_NS, "Transforms"),
    ("Reference", DSIG_NS, "DigestMethod"),
    ("Reference", DSIG_NS, "DigestValue"),
    ("Transforms", DSIG_NS, "Transform"),
    ("Transform", EXC_C14N_NS, "InclusiveNamespaces"),
    ("KeyInfo", DSIG_NS, "X509Data"),
    ("KeyInfo", DSIG_NS, "KeyName"),
    ("KeyInfo", DSIG_NS, "KeyValue"),
    ("X509Data", DSIG_NS, "X509Certificate"),
    ("X509Data", DSIG_NS, "X509SubjectName"),
    ("X509Data", DSIG_NS, "X509IssuerSerial"),
    ("X509Data", DSIG_NS, "X509SKI"),
    ("X509IssuerSerial", DSIG_NS, "X509IssuerName"),
    ("X509IssuerSerial", DSIG_NS, "X509SerialNumber"),
    ("KeyValue", DSIG_NS, "RSAKeyValue"),
    ("KeyValue", DSIG11_NS, "ECKeyValue"),
    ("RSAKeyValue", DSIG_NS, "Modulus"),
    ("RSAKeyValue", DSIG_NS, "Exponent"),
    ("ECKeyValue", DSIG11_NS, "NamedCurve"),
    ("ECKeyValue", DSIG11_NS, "PublicKey"),
];

/// How many of a child a signature element must (min) and may (max) have; children not listed
/// here are optional and may repeat.
const SIGNATURE_COUNTS: &[(&str, &str, usize, usize)] = &[
    ("Signature", "SignedInfo", 1, 1),
    ("Signature", "SignatureValue", 1, 1),
    ("Signature", "KeyInfo", 0, 1),
    ("SignedInfo", "CanonicalizationMethod", 1, 1),
    ("SignedInfo", "SignatureMethod", 1, 1),
    ("SignedInfo", "Reference", 1, 1),
    ("Reference", "Transforms", 0, 1),
    ("Reference", "DigestMethod", 1, 1),
    ("Reference", "DigestValue", 1, 1),
    ("Transforms", "Transform", 1, 2),
];

/// The elements an `EncryptedAssertion` may contain: (namespace, local name). Notably absent:
/// `CipherReference` (fetched by URI), `Signature`, `Object`, transforms.
const ENCRYPTION_ELEMENTS: &[(&[u8], &str)] = &[
    (XENC_NS, "EncryptedData"),
    (XENC_NS, "EncryptionMethod"),
    (XENC_NS, "CipherData"),
    (XENC_NS, "CipherValue"),
    (XENC_NS, "EncryptedKey"),
    (XENC_NS, "ReferenceList"),
    (XENC_NS, "DataReference"),
    (XENC_NS, "KeyReference"),
    (XENC_NS, "OAEPparams"),
    (XENC_NS, "KeySize"),
    (XENC_NS, "CarriedKeyName"),
    (XENC11_NS, "MGF"),
    (DSIG_NS, "KeyInfo"),
    (DSIG_NS, "KeyName"),
    // Never followed: decryption takes the EncryptedKeys the document holds.
    (DSIG_NS, "RetrievalMethod"),
    (DSIG_NS, "DigestMethod"),
    (DSIG_NS, "X509Data"),
    (DSIG_NS, "X509Certificate"),
    (DSIG_NS, "X509IssuerSerial"),
    (DSIG_NS, "X509IssuerName"),
    (DSIG_NS, "X509SerialNumber"),
    (DSIG_NS, "X509SubjectName"),
    (DSIG_NS, "X509SKI"),
];

/// Attributes holding `xs:dateTime` values in SAML core.
const TIME_ATTRIBUTES: &[&[u8]] = &[
    b"IssueInstant",
    b"NotBefore",
    b"NotOnOrAfter",
    b"AuthnInstant",
    b"SessionNotOnOrAfter",
];

/// The attributes of one element that the rules read.
#[derive(Default)]
struct Attrs {
    id: Option<String>,
    algorithm: Option<String>,
    uri: Option<String>,
    destination: Option<String>,
    recipient: Option<String>,
    value: Option<String>,
}

/// What is being captured as text right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Capture {
    ResponseIssuer,
    Audience,
    DataCipher,
    KeyCipher,
}

struct Walk<'d> {
    root: Root,
    reader: quick_xml::NsReader<&'d [u8]>,
    stack: Vec<Frame>,
    elements: usize,
    seen_root: bool,
    ids: Vec<String>,
    assertions: usize,
    /// Depth of the open `Signature` element, if inside one.
    signature_depth: Option<usize>,
    /// Depth of the open `EncryptedAssertion`, if inside one.
    encrypted_depth: Option<usize>,
    status_code: Option<String>,
    status_seen: bool,
    subject_confirmations: usize,
    capture: Option<Capture>,
    text: String,
    shape: Shape,
    /// The `EncryptedKey` being read, if any.
    key: Option<EncryptedKeyParts>,
    /// Whether the `EncryptedAssertion`'s `EncryptedData` was seen.
    data_seen: bool,
}

/// Check `xml` against every rule above and read its shape.
pub fn check(xml: &str, root: Root) -> Result<Shape, ShapeError> {
    if xml.len() > MAX_XML_BYTES {
        return Err(ShapeError::TooLarge);
    }
    // Raw characters XML forbids (C0 controls but tab, LF, CR; U+FFFE, U+FFFF) would send
    // libxml2 into recovery, where it and this pass could read different documents.
    if !xml.chars().all(is_xml_char) {
        return Err(ShapeError::Malformed);
    }
    let mut reader = quick_xml::NsReader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut w = Walk {
        root,
        reader,
        stack: Vec::new(),
        elements: 0,
        seen_root: false,
        ids: Vec::new(),
        assertions: 0,
        signature_depth: None,
        encrypted_depth: None,
        status_code: None,
        status_seen: false,
        subject_confirmations: 0,
        capture: None,
        text: String::new(),
        shape: Shape::default(),
        key: None,
        data_seen: false,
    };
    loop {
        let (ns, event) = w
            .reader
            .read_resolved_event()
            .map_err(|_| ShapeError::Malformed)?;
        let ns = static_ns(&ns)?;
        match event {
            Event::Decl(d) => {
                if w.seen_root {
                    return Err(ShapeError::Malformed);
                }
                let version = d.version().map_err(|_| ShapeError::Malformed)?;
                if &*version != b"1.0" {
                    return Err(ShapeError::Malformed);
                }
                if let Some(enc) = d.encoding() {
                    let enc = enc.map_err(|_| ShapeError::Malformed)?;
                    if !enc.eq_ignore_ascii_case(b"utf-8") {
                        return Err(ShapeError::Malformed);
                    }
                }
            }
            Event::DocType(_) => return Err(ShapeError::Doctype),
            Event::PI(_) => return Err(ShapeError::ProcessingInstruction),
            Event::Comment(_) => return Err(ShapeError::Comment),
            Event::CData(_) => return Err(ShapeError::Cdata),
            Event::GeneralRef(r) => {
                let c = match &*r {
                    b"lt" => '<',
                    b"gt" => '>',
                    b"amp" => '&',
                    b"apos" => '\'',
                    b"quot" => '"',
                    _ if r.is_char_ref() => r
                        .resolve_char_ref()
                        .ok()
                        .flatten()
                        .filter(|c| is_xml_char(*c))
                        .ok_or(ShapeError::Malformed)?,
                    _ => return Err(ShapeError::EntityReference),
                };
                if w.stack.is_empty() {
                    return Err(ShapeError::Malformed);
                }
                w.capture_char(c);
            }
            Event::Text(t) => {
                if w.stack.is_empty() {
                    if !t.iter().all(u8::is_ascii_whitespace) {
                        return Err(ShapeError::Malformed);
                    }
                } else if w.capture.is_some() {
                    let text = t.xml10_content().map_err(|_| ShapeError::Malformed)?;
                    w.capture_str(&text);
                }
            }
            Event::Start(e) => w.open(ns, &e)?,
            Event::Empty(e) => {
                w.open(ns, &e)?;
                w.close()?;
            }
            Event::End(_) => w.close()?,
            Event::Eof => break,
        }
    }
    w.finish()
}

/// The namespaces the rules name; any other is [`OTHER_NS`].
const KNOWN_NS: &[&[u8]] = &[
    PROTOCOL_NS,
    ASSERTION_NS,
    DSIG_NS,
    DSIG11_NS,
    EXC_C14N_NS,
    XENC_NS,
    XENC11_NS,
];
/// Stands for every namespace the rules do not name (no real namespace name is empty).
const OTHER_NS: &[u8] = b"";

/// The namespace an element resolved to, without allocating: `None` for no namespace, one of
/// [`KNOWN_NS`], or [`OTHER_NS`]; an unbound prefix is refused.
fn static_ns(ns: &ResolveResult<'_>) -> Result<Option<&'static [u8]>, ShapeError> {
    match ns {
        ResolveResult::Bound(n) => Ok(Some(
            KNOWN_NS
                .iter()
                .copied()
                .find(|k| *k == n.as_ref())
                .unwrap_or(OTHER_NS),
        )),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(_) => Err(ShapeError::Malformed),
    }
}

impl Walk<'_> {
    fn depth(&self) -> usize {
        self.stack.len()
    }

    fn parent(&self) -> Option<&Frame> {
        self.stack.last()
    }

    fn capture_str(&mut self, s: &str) {
        if self.capture.is_some() {
            self.text.push_str(s);
        }
    }

    fn capture_char(&mut self, c: char) {
        if self.capture.is_some() {
            self.text.push(c);
        }
    }

    fn start_capture(&mut self, c: Capture) {
        self.capture = Some(c);
        self.text.clear();
    }

    /// Read and check the attributes of `e`.
    fn attributes(&mut self, e: &BytesStart<'_>) -> Result<Attrs, ShapeError> {
        let mut out = Attrs::default();
        // Attributes with a prefix, by namespace and local name (the same name written twice is
        // caught by quick-xml's own check; through two prefixes of one namespace, here).
        let mut prefixed: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut count = 0usize;
        for attr in e.attributes().with_checks(true) {
            let attr = attr.map_err(|_| ShapeError::Malformed)?;
            count += 1;
            if count > MAX_ATTRIBUTES {
                return Err(ShapeError::TooManyAttributes);
            }
            let key = attr.key;
            if key.as_namespace_binding().is_some() {
                // Namespace names are taken raw by the resolver and unescaped by libxml2: no
                // escapes, so both read the same name; no undeclaring of a prefix.
                if attr.value.contains(&b'&') || (attr.value.is_empty() && key.as_ref() != b"xmlns")
                {
                    return Err(ShapeError::Malformed);
                }
                continue;
            }
            let (ans, local_name) = self.reader.resolver().resolve_attribute(key);
            let ans = match ans {
                ResolveResult::Bound(n) => Some(n.as_ref().to_vec()),
                ResolveResult::Unbound => None,
                ResolveResult::Unknown(_) => return Err(ShapeError::Malformed),
            };
            let local = local_name.as_ref();
            if let Some(n) = &ans {
                if prefixed.iter().any(|(pn, pl)| pn == n && pl == local) {
                    return Err(ShapeError::Malformed);
                }
                prefixed.push((n.clone(), local.to_vec()));
            }
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|_| ShapeError::EntityReference)?;
            // Raw characters were checked for the whole document; references can add others.
            if matches!(value, std::borrow::Cow::Owned(_)) && !value.chars().all(is_xml_char) {
                return Err(ShapeError::Malformed);
            }
            if local == b"ID" || key.as_ref() == b"xml:id" {
                // samael registers every attribute whose name ends in `ID` whatever its
                // prefix, libxml2 every xml:id: only the plain `ID` may exist.
                if ans.is_some() || key.as_ref() != b"ID" || !is_safe_id(&value) {
                    return Err(ShapeError::BadId);
                }
                if self.ids.iter().any(|i| i == &*value) {
                    return Err(ShapeError::BadId);
                }
                self.ids.push(value.to_string());
                out.id = Some(value.to_string());
            } else if ans.is_none() {
                if TIME_ATTRIBUTES.contains(&local) {
                    check_time(&value)?;
                }
                match local {
                    b"Algorithm" => out.algorithm = Some(value.to_string()),
                    b"URI" => out.uri = Some(value.to_string()),
                    b"Destination" => out.destination = Some(value.to_string()),
                    b"Recipient" => out.recipient = Some(value.to_string()),
                    b"Value" => out.value = Some(value.to_string()),
                    _ => {}
                }
            }
        }
        Ok(out)
    }

    /// An element opens.
    fn open(&mut self, ns: Option<&[u8]>, e: &BytesStart<'_>) -> Result<(), ShapeError> {
        self.elements += 1;
        if self.elements > MAX_ELEMENTS {
            return Err(ShapeError::TooManyElements);
        }
        if self.depth() >= MAX_DEPTH {
            return Err(ShapeError::TooDeep);
        }
        if self.capture.is_some() {
            // Captured elements hold text only.
            return Err(ShapeError::UnexpectedChild);
        }
        let local_name = e.local_name();
        let local = local_name.as_ref();
        let attrs = self.attributes(e)?;
        let in_ns = |want: &[u8]| ns == Some(want);

        // Any element named like an assertion counts, whatever its namespace: a second one
        // hidden anywhere is how signature wrapping starts.
        if local == b"Assertion" || local == b"EncryptedAssertion" {
            self.assertions += 1;
            if self.assertions > 1 {
                return Err(ShapeError::AssertionCount);
            }
        }

        if !self.seen_root {
            self.seen_root = true;
            let kind = match self.root {
                Root::Response if in_ns(PROTOCOL_NS) && local == b"Response" => {
                    self.shape.response_id = attrs.id.clone().ok_or(ShapeError::BadId)?;
                    self.shape.destination = attrs.destination.clone();
                    Kind::Response
                }
                Root::Response => return Err(ShapeError::NotResponse),
                Root::Assertion if in_ns(ASSERTION_NS) && local == b"Assertion" => {
                    self.shape.assertion_id = Some(attrs.id.clone().ok_or(ShapeError::BadId)?);
                    Kind::Assertion
                }
                Root::Assertion => return Err(ShapeError::NotAssertion),
            };
            self.stack.push(Frame::new(kind, attrs.id));
            return Ok(());
        }
        if self.stack.is_empty() {
            // A second root element.
            return Err(ShapeError::Malformed);
        }

        // --- inside an EncryptedAssertion: XML Encryption's elements only ------------------
        if let Some(_enc) = self.encrypted_depth {
            let allowed = ENCRYPTION_ELEMENTS
                .iter()
                .find(|(n, l)| in_ns(n) && l.as_bytes() == local)
                .map(|(_, l)| *l)
                .ok_or(ShapeError::EncryptionStructure)?;
            self.encryption_element(allowed, &attrs)?;
            self.stack.push(Frame::new(Kind::Enc(allowed), None));
            return Ok(());
        }

        // --- inside a Signature: the allowed structure only --------------------------------
        if let Some(parent_sig) = match self.parent().map(|p| p.kind) {
            Some(Kind::Sig(p)) => Some(p),
            _ => None,
        } {
            let child = SIGNATURE_CHILDREN
                .iter()
                .find(|(p, n, c)| *p == parent_sig && in_ns(n) && c.as_bytes() == local)
                .map(|(_, _, c)| *c)
                .ok_or(ShapeError::SignatureStructure)?;
            self.signature_element(child, &attrs)?;
            if let Some(p) = self.stack.last_mut() {
                p.children.push(child);
            }
            self.stack.push(Frame::new(Kind::Sig(child), None));
            return Ok(());
        }

        // --- a Signature ----------------------------------------------------------------------
        if in_ns(DSIG_NS) {
            if local != b"Signature" {
                return Err(ShapeError::SignatureStructure);
            }
            let parent = self.stack.last_mut().ok_or(ShapeError::Malformed)?;
            let signs_response = parent.kind == Kind::Response;
            let signs_assertion = parent.kind == Kind::Assertion;
            if !(signs_response || signs_assertion) || parent.signed {
                return Err(ShapeError::SignaturePlacement);
            }
            parent.signed = true;
            if signs_response {
                self.shape.response_signed = true;
            } else {
                self.shape.assertion_signed = true;
            }
            self.signature_depth = Some(self.depth());
            self.stack.push(Frame::new(Kind::Sig("Signature"), None));
            return Ok(());
        }
        if in_ns(DSIG11_NS) || in_ns(EXC_C14N_NS) || in_ns(XENC_NS) || in_ns(XENC11_NS) {
            // Signature and encryption vocabulary outside a signature or encrypted assertion.
            return Err(ShapeError::SignatureStructure);
        }

        let parent_kind = self.parent().map(|p| p.kind);
        let kind = match parent_kind {
            Some(Kind::Response) => {
                // Direct children of the Response.
                if in_ns(ASSERTION_NS) && local == b"Assertion" {
                    self.shape.assertion_id = Some(attrs.id.clone().ok_or(ShapeError::BadId)?);
                    Kind::Assertion
                } else if in_ns(ASSERTION_NS) && local == b"EncryptedAssertion" {
                    self.encrypted_depth = Some(self.depth());
                    self.shape.encrypted = Some(EncryptedParts::default());
                    Kind::Enc("EncryptedAssertion")
                } else if in_ns(ASSERTION_NS) && local == b"Issuer" {
                    if self.shape.response_issuer.is_some() {
                        return Err(ShapeError::UnexpectedChild);
                    }
                    self.start_capture(Capture::ResponseIssuer);
                    Kind::ResponseIssuer
                } else if in_ns(PROTOCOL_NS) && local == b"Status" {
                    if self.status_seen {
                        return Err(ShapeError::UnexpectedChild);
                    }
                    self.status_seen = true;
                    Kind::Status
                } else if local == b"Assertion" || local == b"EncryptedAssertion" {
                    return Err(ShapeError::AssertionPlacement);
                } else {
                    return Err(ShapeError::UnexpectedChild);
                }
            }
            Some(Kind::Status) if in_ns(PROTOCOL_NS) && local == b"StatusCode" => {
                if self.status_code.is_some() {
                    return Err(ShapeError::UnexpectedChild);
                }
                self.status_code = Some(attrs.value.clone().unwrap_or_default());
                Kind::StatusCode
            }
            _ if local == b"Assertion" || local == b"EncryptedAssertion" => {
                return Err(ShapeError::AssertionPlacement);
            }
            _ if in_ns(ASSERTION_NS) && local == b"Audience" => {
                self.start_capture(Capture::Audience);
                Kind::Audience
            }
            _ if in_ns(ASSERTION_NS) && local == b"SubjectConfirmation" => {
                self.subject_confirmations += 1;
                if self.subject_confirmations > 1 {
                    return Err(ShapeError::SubjectConfirmations);
                }
                Kind::SubjectConfirmation
            }
            Some(Kind::SubjectConfirmation)
                if in_ns(ASSERTION_NS) && local == b"SubjectConfirmationData" =>
            {
                self.shape.recipient = attrs.recipient.clone();
                Kind::Other
            }
            _ => Kind::Other,
        };
        self.stack.push(Frame::new(kind, attrs.id));
        Ok(())
    }

    /// The rules for one element inside a signature (its position is already checked).
    fn signature_element(&mut self, local: &'static str, attrs: &Attrs) -> Result<(), ShapeError> {
        let algorithm = attrs.algorithm.as_deref();
        if local == "SignatureMethod" {
            self.shape.rsa_signature |= algorithm == Some(RSA_SHA256);
            self.shape.ecdsa_signature |= algorithm == Some(ECDSA_SHA256);
        }
        match local {
            "CanonicalizationMethod" if algorithm != Some(EXC_C14N) => Err(ShapeError::Transform),
            "Transform" if !matches!(algorithm, Some(EXC_C14N | ENVELOPED)) => {
                Err(ShapeError::Transform)
            }
            "SignatureMethod" if !matches!(algorithm, Some(RSA_SHA256 | ECDSA_SHA256)) => {
                Err(ShapeError::SignatureAlgorithm)
            }
            "DigestMethod" if algorithm != Some(SHA256) => Err(ShapeError::DigestAlgorithm),
            "Reference" => {
                // The element that encloses the signature: the Signature frame's parent.
                let signed_id = self
                    .signature_depth
                    .and_then(|d| d.checked_sub(1))
                    .and_then(|d| self.stack.get(d))
                    .and_then(|f| f.id.as_deref())
                    .ok_or(ShapeError::ReferenceUri)?;
                match attrs.uri.as_deref().and_then(|u| u.strip_prefix('#')) {
                    Some(id) if id == signed_id => Ok(()),
                    _ => Err(ShapeError::ReferenceUri),
                }
            }
            _ => Ok(()),
        }
    }

    /// The rules for one element inside an `EncryptedAssertion`, and what decryption reads.
    fn encryption_element(&mut self, local: &'static str, attrs: &Attrs) -> Result<(), ShapeError> {
        let parent = self.parent().map(|p| p.kind);
        let grandparent = self
            .depth()
            .checked_sub(2)
            .and_then(|d| self.stack.get(d))
            .map(|f| f.kind);
        let algorithm = attrs.algorithm.clone().unwrap_or_default();
        let parts = self
            .shape
            .encrypted
            .as_mut()
            .ok_or(ShapeError::EncryptionStructure)?;
        match (local, parent) {
            ("EncryptedData", Some(Kind::Enc("EncryptedAssertion"))) if !self.data_seen => {
                self.data_seen = true;
            }
            ("EncryptedData", _) => return Err(ShapeError::EncryptionStructure),
            // An EncryptedKey inside another one's KeyInfo.
            ("EncryptedKey", _) if self.key.is_some() => {
                return Err(ShapeError::EncryptionStructure);
            }
            ("EncryptedKey", _) => self.key = Some(EncryptedKeyParts::default()),
            ("EncryptionMethod", Some(Kind::Enc("EncryptedData"))) => {
                parts.data_algorithm = algorithm;
            }
            ("EncryptionMethod", Some(Kind::Enc("EncryptedKey"))) => {
                if let Some(k) = self.key.as_mut() {
                    k.algorithm = algorithm;
                }
            }
            ("DigestMethod" | "MGF" | "OAEPparams", Some(Kind::Enc("EncryptionMethod")))
                if grandparent == Some(Kind::Enc("EncryptedKey")) =>
            {
                if let Some(k) = self.key.as_mut() {
                    match local {
                        "DigestMethod" => k.digest = Some(algorithm),
                        "MGF" => k.mgf = Some(algorithm),
                        _ => k.oaep_params = true,
                    }
                }
            }
            ("CipherValue", Some(Kind::Enc("CipherData"))) => match grandparent {
                Some(Kind::Enc("EncryptedData")) => self.start_capture(Capture::DataCipher),
                Some(Kind::Enc("EncryptedKey")) => self.start_capture(Capture::KeyCipher),
                _ => return Err(ShapeError::EncryptionStructure),
            },
            _ => {}
        }
        Ok(())
    }

    /// The open element closes.
    fn close(&mut self) -> Result<(), ShapeError> {
        let frame = self.stack.pop().ok_or(ShapeError::Malformed)?;
        if let Some(c) = self.capture.take() {
            let text = std::mem::take(&mut self.text);
            match c {
                Capture::ResponseIssuer => self.shape.response_issuer = Some(text),
                Capture::Audience => self.shape.audiences.push(text.trim().to_owned()),
                Capture::DataCipher => {
                    if let Some(p) = self.shape.encrypted.as_mut() {
                        p.data_cipher = text;
                    }
                }
                Capture::KeyCipher => {
                    if let Some(k) = self.key.as_mut() {
                        k.cipher = text;
                    }
                }
            }
        }
        match frame.kind {
            Kind::Sig(name) => {
                for (parent, child, min, max) in SIGNATURE_COUNTS {
                    if *parent == name {
                        let n = frame.children.iter().filter(|c| *c == child).count();
                        if n < *min || n > *max {
                            return Err(ShapeError::SignatureStructure);
                        }
                    }
                }
                if name == "Signature" {
                    self.signature_depth = None;
                }
            }
            Kind::Enc("EncryptedKey") => {
                if let (Some(k), Some(p)) = (self.key.take(), self.shape.encrypted.as_mut()) {
                    p.keys.push(k);
                }
            }
            Kind::Enc("EncryptedAssertion") => self.encrypted_depth = None,
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> Result<Shape, ShapeError> {
        if !self.seen_root || !self.stack.is_empty() {
            return Err(ShapeError::Malformed);
        }
        // For an assertion document, the root itself is the one assertion.
        if self.assertions != 1 {
            return Err(ShapeError::AssertionCount);
        }
        let shape = self.shape;
        if self.root == Root::Response {
            if !self.status_seen || self.status_code.is_none() {
                return Err(ShapeError::NoStatus);
            }
            if self.status_code.as_deref() != Some(STATUS_SUCCESS) {
                return Err(ShapeError::StatusNotSuccess);
            }
            if shape.assertion_id.is_none() && shape.encrypted.is_none() {
                return Err(ShapeError::AssertionCount);
            }
            // A clear assertion must be signed, by itself or by the response; an encrypted one
            // may carry its signature inside.
            if shape.encrypted.is_none() && !shape.response_signed && !shape.assertion_signed {
                return Err(ShapeError::Unsigned);
            }
        }
        Ok(shape)
    }
}

/// XML 1.0 `Char`.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// An `ID` as IdPs write them (`_8e8dc5f6…`, `id-123`, `ID_uuid`): an ASCII NCName.
fn is_safe_id(id: &str) -> bool {
    let mut bytes = id.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    first_ok
        && id.len() <= MAX_ID_CHARS
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// A UTC `xs:dateTime` as SAML requires (core §1.3.3), within years chrono and the checks
/// after it can add durations to without overflowing.
fn check_time(v: &str) -> Result<(), ShapeError> {
    let t: DateTime<Utc> = DateTime::parse_from_rfc3339(v)
        .map_err(|_| ShapeError::BadTime)?
        .with_timezone(&Utc);
    if (1970..=9999).contains(&t.year()) {
        Ok(())
    } else {
        Err(ShapeError::BadTime)
    }
}
