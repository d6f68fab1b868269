"""The SAML forge checked on its own, without tessera: every genuine signature verifies with two
independent verifiers (the xmlsec1 program and signxml) trusting only the IdP certificate, every
attack document is well-formed XML, and each attack is the attack it claims to be (the
signature that should still hold does, the content that should be uncovered is, the URI that
should be fetched by a permissive verifier is)."""

from __future__ import annotations

import base64
import hashlib
import os
import re

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

import saml_forge as f
from saml_forge import DS, SAML, SAMLP, q
from traps import FileWatch, Listener

ACCOUNT = "123456789012"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:saml-provider/Forge"
READER = f"arn:aws:iam::{ACCOUNT}:role/reader,{PROVIDER}"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/admin,{PROVIDER}"
ISSUER = "https://idp.example.test/forge"


@pytest.fixture(scope="module")
def idp():
    return f.new_keypair("idp.example.test")


@pytest.fixture(scope="module")
def attacker():
    return f.new_keypair("attacker.example")


@pytest.fixture(scope="module")
def listener():
    srv = Listener()
    yield srv
    srv.close()


@pytest.fixture
def bait(tmp_path):
    p = tmp_path / "bait.txt"
    p.write_bytes(b"bait: never to be read by a SAML verifier\n")
    return p


def claims(**kw) -> f.Claims:
    return f.Claims(issuer=ISSUER, roles=[READER], **kw)


def well_formed(xml: bytes) -> etree._Element:
    """Parses without DTD loading, entity expansion or network (lxml raises if not well-formed)."""
    root = f.parse(xml)
    assert root.tag == q(SAMLP, "Response")
    return root


def verifies(xml: bytes, key: f.KeyPair, node_id: str) -> bool:
    ok, _ = f.xmlsec1_verify(xml, key, node_id)
    return ok


def signxml_ok(xml: bytes, key: f.KeyPair, **kw) -> bool:
    try:
        f.signxml_verify(xml, key, **kw)
        return True
    except Exception:  # signxml raises InvalidSignature, InvalidDigest, InvalidInput, ...
        return False


def text_of(root, path: str) -> str:
    return "".join(root.find(path).itertext())


# --------------------------------------------------------------------------------------------
# Genuine documents.


@pytest.mark.parametrize("target", f.TARGETS)
@pytest.mark.parametrize("signer", f.SIGNERS)
def test_each_signer_signs_what_both_verifiers_accept(idp, attacker, signer, target):
    c = claims()
    xml = f.signed_response(c, idp, signer, target)
    root = well_formed(xml)
    signed_el = root if target == "response" else root.find(q(SAML, "Assertion"))
    node_id = c.response_id if target == "response" else c.assertion_id
    [sig] = f.signatures(root)
    # Where SAML's schema puts it: a direct child of the signed element, right after Issuer.
    assert sig.getparent() is signed_el
    assert sig.getprevious().tag == q(SAML, "Issuer")
    assert [r.get("URI") for r in sig.iter(q(DS, "Reference"))] == [f"#{node_id}"]
    algs = [t.get("Algorithm") for t in sig.iter(q(DS, "Transform"))]
    assert algs == [f.ENVELOPED, f.EXC_C14N]
    assert sig.find(f"{q(DS, 'SignedInfo')}/{q(DS, 'CanonicalizationMethod')}").get("Algorithm") == f.EXC_C14N
    assert sig.find(f"{q(DS, 'SignedInfo')}/{q(DS, 'SignatureMethod')}").get("Algorithm") == f.RSA_SHA256
    assert sig.find(f".//{q(DS, 'DigestMethod')}").get("Algorithm") == f.SHA256
    cert = "".join(sig.find(f".//{q(DS, 'X509Certificate')}").text.split())
    assert cert == idp.cert_b64
    assert verifies(xml, idp, node_id)
    assert signxml_ok(xml, idp)
    # Only the IdP's key: the same document does not verify against another certificate.
    assert not verifies(xml, attacker, node_id)
    assert not signxml_ok(xml, attacker)
    # The signature covers the identity: changing the NameID breaks it for both verifiers.
    bad = f.tamper_name_id(xml)
    assert not verifies(bad, idp, node_id)
    assert not signxml_ok(bad, idp)


@pytest.mark.parametrize("signer", f.SIGNERS)
def test_both_signed(idp, signer):
    c = claims()
    xml = f.signed_response(c, idp, signer, "both")
    root = well_formed(xml)
    assert root.find(q(DS, "Signature")) is not None
    assert root.find(f"{q(SAML, 'Assertion')}/{q(DS, 'Signature')}") is not None
    assert verifies(xml, idp, c.response_id) and verifies(xml, idp, c.assertion_id)


def test_signature_in_the_assertion_over_the_response_is_valid_but_misplaced(idp):
    c = claims()
    xml = f.signature_referencing_the_response_from_the_assertion(c, idp)
    root = well_formed(xml)
    sig = root.find(f"{q(SAML, 'Assertion')}/{q(DS, 'Signature')}")
    assert sig.find(f".//{q(DS, 'Reference')}").get("URI") == f"#{c.response_id}"
    assert verifies(xml, idp, c.assertion_id)  # xmlsec1 finds the signature valid


def test_response_carries_the_aws_profile(idp):
    c = claims(session_name="alice.smith", session_duration=1800, principal_tags={"team": "blue", "cost-center": "42"},
               transitive_tag_keys=["team"], source_identity="alice", name_id_format=f.NAMEID_EMAIL,
               session_not_on_or_after=f.utcnow())
    root = well_formed(f.signed_response(c, idp))
    assert root.get("Destination") == f.AWS_ACS
    assert root.find(q(SAML, "Issuer")).text == ISSUER
    assert root.find(f"{q(SAMLP, 'Status')}/{q(SAMLP, 'StatusCode')}").get("Value") == f.STATUS_SUCCESS
    a = root.find(q(SAML, "Assertion"))
    assert a.find(q(SAML, "Issuer")).text == ISSUER
    nid = a.find(f"{q(SAML, 'Subject')}/{q(SAML, 'NameID')}")
    assert (nid.text, nid.get("Format")) == ("alice@example.com", f.NAMEID_EMAIL)
    [sc] = a.findall(f"{q(SAML, 'Subject')}/{q(SAML, 'SubjectConfirmation')}")
    assert sc.get("Method") == f.BEARER
    scd = sc.find(q(SAML, "SubjectConfirmationData"))
    assert scd.get("Recipient") == f.AWS_ACS and scd.get("NotOnOrAfter")
    cond = a.find(q(SAML, "Conditions"))
    assert cond.get("NotBefore") < cond.get("NotOnOrAfter")
    assert [x.text for x in cond.iter(q(SAML, "Audience"))] == [f.AWS_AUDIENCE]
    assert a.find(q(SAML, "AuthnStatement")).get("SessionNotOnOrAfter")
    attrs = {x.get("Name"): [v.text for v in x.findall(q(SAML, "AttributeValue"))] for x in a.iter(q(SAML, "Attribute"))}
    assert attrs == {
        f.ROLE_ATTR: [READER],
        f.SESSION_NAME_ATTR: ["alice.smith"],
        f.SESSION_DURATION_ATTR: ["1800"],
        f.ATTR + "PrincipalTag:team": ["blue"],
        f.ATTR + "PrincipalTag:cost-center": ["42"],
        f.TRANSITIVE_ATTR: ["team"],
        f.SOURCE_IDENTITY_ATTR: ["alice"],
    }
    # No AudienceRestriction when asked for none.
    bare = well_formed(f.signed_response(claims(audiences=None), idp))
    assert bare.find(f".//{q(SAML, 'AudienceRestriction')}") is None


def test_metadata_names_the_signing_certificates(idp, attacker):
    doc = f.metadata(ISSUER, [idp, attacker])
    assert len(doc) >= 1000
    root = etree.fromstring(doc.encode())
    assert root.tag == q(f.MD, "EntityDescriptor") and root.get("entityID") == ISSUER
    kds = root.findall(f"{q(f.MD, 'IDPSSODescriptor')}/{q(f.MD, 'KeyDescriptor')}")
    assert [kd.get("use") for kd in kds] == ["signing", "signing"]
    assert [kd.find(f".//{q(DS, 'X509Certificate')}").text for kd in kds] == [idp.cert_b64, attacker.cert_b64]
    for no_signing in (f.metadata(ISSUER, [idp], use="encryption"), f.metadata(ISSUER, [])):
        assert len(no_signing) >= 1000
        r = etree.fromstring(no_signing.encode())
        assert not [kd for kd in r.iter(q(f.MD, "KeyDescriptor")) if kd.get("use") in (None, "signing")]


@pytest.mark.parametrize("target", f.TARGETS)
def test_the_python_signer_agrees_with_both_verifiers(idp, target):
    c = claims()
    xml = f.python_sign(f.unsigned_response(c), idp, target)
    assert verifies(xml, idp, c.response_id if target == "response" else c.assertion_id)
    assert signxml_ok(xml, idp)


def test_two_signed_assertions_and_duplicate_ids(idp):
    first, second = claims(), claims(session_name="second")
    xml = f.two_assertions(first, second, idp)
    root = well_formed(xml)
    assert len(root.findall(q(SAML, "Assertion"))) == 2
    assert verifies(xml, idp, first.assertion_id) and verifies(xml, idp, second.assertion_id)

    c = claims()
    dup = f.duplicate_ids_response_signed(c, idp)
    root = well_formed(dup)
    assert root.get("ID") == root.find(q(SAML, "Assertion")).get("ID") == c.response_id

    signed = f.signed_response(claims(), idp)
    decoy = f.duplicate_id_decoy(signed, ADMIN)
    root = well_formed(decoy)
    a1, a2 = root.findall(q(SAML, "Assertion"))
    assert a1.get("ID") == a2.get("ID")
    assert text_of(a1, f".//{q(SAML, 'NameID')}") == f.EVIL_NAME_ID
    assert a1.find(q(DS, "Signature")) is None and a2.find(q(DS, "Signature")) is not None


# --------------------------------------------------------------------------------------------
# Attacks.


def assertion_ids(root) -> list[str]:
    return [a.get("ID") for a in root.iter(q(SAML, "Assertion"))]


@pytest.mark.parametrize("signer", f.SIGNERS)
@pytest.mark.parametrize("variant", range(1, 9))
def test_xsw_keeps_the_signed_original_and_injects_an_identity(idp, variant, signer):
    target = "response" if variant <= 2 else "assertion"
    c = claims()
    signed = f.signed_response(c, idp, signer, target)
    original = f.parse(signed)
    original_sig = original.find(f".//{q(DS, 'SignatureValue')}").text
    attack = f.xsw(variant, signed, ADMIN)
    root = well_formed(attack)
    # The IdP's signature is carried over untouched, still referencing the signed ID...
    [sv] = [s.text for s in root.iter(q(DS, "SignatureValue"))]
    assert sv == original_sig
    signed_id = c.response_id if target == "response" else c.assertion_id
    assert [r.get("URI") for r in root.iter(q(DS, "Reference"))] == [f"#{signed_id}"]
    # ... an element with that ID keeps the genuine identity ...
    holders = [e for e in root.iter() if isinstance(e.tag, str) and e.get("ID") == signed_id]
    assert holders
    genuine = [h for h in holders if f.EVIL_NAME_ID not in "".join(h.itertext())]
    assert genuine, "no element with the signed ID keeps the genuine identity"
    # ... and the injected identity and role are in the document.
    names = [text_of(n.getparent(), q(SAML, "NameID")) for n in root.iter(q(SAML, "NameID"))]
    assert f.EVIL_NAME_ID in names and "alice@example.com" in names
    roles = [v.text for v in root.iter(q(SAML, "AttributeValue"))]
    assert ADMIN in roles and READER in roles
    assert len(assertion_ids(root)) >= 2 or variant in (1, 2)
    if variant in (1, 2):
        assert root.get("ID") != c.response_id  # the evil Response took a new ID


def test_stripped_emptied_and_tampered_signatures_no_longer_verify(idp):
    for target in f.TARGETS:
        c = claims()
        node_id = c.response_id if target == "response" else c.assertion_id
        signed = f.signed_response(c, idp, "xmlsec1", target)
        stripped = f.strip_signatures(signed)
        assert not f.signatures(well_formed(stripped))
        emptied = f.empty_signature_value(signed)
        assert [v.text for v in well_formed(emptied).iter(q(DS, "SignatureValue"))] == [None]
        assert not verifies(emptied, idp, node_id)
        for bad in (f.tamper_name_id(signed), f.tamper_role(signed, ADMIN)):
            well_formed(bad)
            assert not verifies(bad, idp, node_id)
            assert not signxml_ok(bad, idp)


def test_attacker_key_signs_validly_with_its_own_certificate(idp, attacker):
    c = claims()
    xml = f.signed_response(c, attacker, "signxml")
    root = well_formed(xml)
    assert "".join(root.find(f".//{q(DS, 'X509Certificate')}").text.split()) == attacker.cert_b64
    assert verifies(xml, attacker, c.assertion_id) and signxml_ok(xml, attacker)
    assert not verifies(xml, idp, c.assertion_id) and not signxml_ok(xml, idp)


def test_comment_in_name_id_keeps_the_signature_valid(idp):
    c = claims(name_id="admin@example.com.evil.example")
    signed = f.signed_response(c, idp, "signxml")
    attack = f.comment_in_name_id(signed, len("admin@example.com"))
    assert b"admin@example.com<!---->.evil.example" in attack
    nid = well_formed(attack).find(f".//{q(SAML, 'NameID')}")
    assert nid.text == "admin@example.com"  # what a first-text-node reader sees
    assert "".join(nid.itertext()) == "admin@example.com.evil.example"
    assert verifies(attack, idp, c.assertion_id)  # exclusive c14n drops the comment
    assert signxml_ok(attack, idp)


def test_time_and_audience_variants_are_genuinely_signed(idp):
    now = f.utcnow()
    hour = f.dt.timedelta(hours=1)
    cases = {
        "expired": claims(now=now - 2 * hour, not_before=now - 3 * hour, not_on_or_after=now - hour),
        "not yet valid": claims(not_before=now + hour, not_on_or_after=now + 2 * hour),
        "wrong audience": claims(audiences=["urn:example:another-sp"]),
        "no audience": claims(audiences=None),
        "wrong recipient": claims(recipient="https://evil.example/saml"),
        "wrong destination": claims(destination="https://evil.example/saml"),
    }
    for name, c in cases.items():
        xml = f.signed_response(c, idp)
        well_formed(xml)
        assert verifies(xml, idp, c.assertion_id), name


def test_dtd_attacks_are_well_formed_and_never_expanded_here(idp, listener, bait):
    signed = f.signed_response(claims(), idp)
    watch = FileWatch(bait)
    try:
        start = listener.count
        docs = {
            "doctype": f.doctype_only(signed),
            "xxe file": f.xxe_system_entity(signed, bait.as_uri()),
            "xxe http": f.xxe_system_entity(signed, listener.url("/xxe")),
            "xxe parameter": f.xxe_parameter_entity(signed, listener.url("/pe")),
            "billion laughs": f.billion_laughs(signed),
        }
        for name, doc in docs.items():
            f.expat_well_formed(doc)
            assert doc.count(b"<!DOCTYPE samlp:Response [") == 1, name
            if name != "billion laughs":
                root = well_formed(doc)
                assert root.getroottree().docinfo.internalDTD is not None, name
        # A real bomb: libxml2 (with entity substitution off) refuses it for amplification.
        with pytest.raises(etree.XMLSyntaxError, match="amplification"):
            f.parse(docs["billion laughs"])
        # The plain DOCTYPE leaves the signature intact: only a DTD rule can refuse it.
        assert verifies(docs["doctype"], idp, f.signed_element_ids(signed)[0])
        assert b"&xxe;" in docs["xxe file"] and b"&lol9;" in docs["billion laughs"]
        assert docs["billion laughs"].count(b"&lol8;") == 10
        assert listener.count == start and watch.events() == []
    finally:
        watch.close()


def test_external_references_are_live_against_a_permissive_verifier(idp, listener, bait):
    """xmlsec1 with its defaults dereferences them (so these documents do probe for SSRF and
    file reads) and finds the signature valid; restricted to same-document references, it
    refuses them."""
    c = claims()
    unsigned = f.unsigned_response(c)
    start = listener.count
    http = f.external_reference(unsigned, idp, listener.url("/ref"), listener.body)
    well_formed(http)
    assert start == listener.count  # building it fetched nothing
    assert verifies(http, idp, c.assertion_id)
    assert [r for r in listener.requests_since(start) if b"GET /ref" in r]
    ok, _ = f.xmlsec1_verify(http, idp, c.assertion_id, extra=["--enabled-reference-uris", "empty,same-doc"])
    assert not ok

    content = bait.read_bytes()
    watch = FileWatch(bait)
    try:
        filed = f.external_reference(unsigned, idp, bait.as_uri(), content)
        well_formed(filed)
        assert watch.events() == []
        assert verifies(filed, idp, c.assertion_id)
        assert watch.events(), "xmlsec1 should have opened the bait file"
    finally:
        watch.close()

    passwd = f.external_reference(unsigned, idp, "file:///etc/passwd", b"")
    assert [r.get("URI") for r in well_formed(passwd).iter(q(DS, "Reference"))] == ["file:///etc/passwd"]
    # The SignedInfo is signed with the IdP key, whatever the reference points at.
    for doc in (http, filed, passwd):
        si = well_formed(doc).find(f".//{q(DS, 'SignedInfo')}")
        sv = base64.b64decode(well_formed(doc).find(f".//{q(DS, 'SignatureValue')}").text)
        idp.key.public_key().verify(sv, etree.tostring(si, method="c14n", exclusive=True), padding.PKCS1v15(),
                                    hashes.SHA256())


def test_retrieval_method_and_xslt_fetch_point_at_the_listener(idp, listener):
    c = claims()
    signed = f.signed_response(c, idp)
    rm = well_formed(f.retrieval_method(signed, listener.url("/key")))
    assert [x.get("URI") for x in rm.iter(q(DS, "RetrievalMethod"))] == [listener.url("/key")]
    assert rm.find(f".//{q(DS, 'X509Certificate')}") is None
    xs = f.xslt_ssrf(f.unsigned_response(c.replace()), idp, listener.url("/xslt"))
    root = well_formed(xs)
    [t] = [t for t in root.iter(q(DS, "Transform")) if t.get("Algorithm") == f.XSLT_TRANSFORM]
    assert listener.url("/xslt").encode() in etree.tostring(t)


def test_xpath_and_xslt_transforms_leave_the_identity_unsigned(idp):
    """Signed through a filtering transform, the Subject and attributes can be rewritten and the
    signature still verifies (xmlsec1 runs both transforms): the attack is real."""
    for build in (f.xpath_transform_signed, f.xslt_transform_signed):
        c = claims()
        signed = build(f.unsigned_response(c), idp)
        assert verifies(signed, idp, c.assertion_id), build.__name__
        evil = f.tamper_role(f.tamper_name_id(signed), ADMIN)
        assert verifies(evil, idp, c.assertion_id), build.__name__
        algs = [t.get("Algorithm") for t in well_formed(evil).iter(q(DS, "Transform"))]
        assert (f.XPATH_TRANSFORM in algs) or (f.XSLT_TRANSFORM in algs)


def test_weak_and_comment_preserving_algorithms_are_otherwise_valid(idp):
    c = claims()
    sha1 = f.rsa_sha1_signed(f.unsigned_response(c), idp)
    root = well_formed(sha1)
    assert root.find(f".//{q(DS, 'SignatureMethod')}").get("Algorithm") == f.RSA_SHA1
    assert root.find(f".//{q(DS, 'DigestMethod')}").get("Algorithm") == f.SHA1
    assert verifies(sha1, idp, c.assertion_id)
    assert not signxml_ok(sha1, idp)  # signxml refuses SHA-1 by default...
    assert signxml_ok(sha1, idp, allow_sha1=True)  # ... and only that is wrong with it
    c = claims()
    wc = f.with_comments_c14n_signed(f.unsigned_response(c), idp)
    assert f.EXC_C14N_COMMENTS in [t.get("Algorithm") for t in well_formed(wc).iter(q(DS, "Transform"))]
    assert verifies(wc, idp, c.assertion_id)


@pytest.mark.parametrize("target", f.TARGETS)
def test_large_responses_hit_an_exact_base64_length_and_stay_signed(idp, target):
    for length in (100_000, 100_004):
        c = claims()
        xml = f.signed_with_b64_length(c, idp, length, "xmlsec1", target)
        assert len(f.b64(xml)) == length
        root = well_formed(xml)
        node = root if target == "response" else root.find(q(SAML, "Assertion"))
        assert verifies(xml, idp, node.get("ID"))
        assert b"<!--" not in xml  # grown by content, not by a comment
        groups = [a for a in root.iter(q(SAML, "Attribute")) if a.get("Name") == f.GROUPS_ATTR]
        assert len(groups) == 1 and len(groups[0]) > 500


def test_keys_are_fresh_and_never_printed():
    a, b = f.new_keypair(), f.new_keypair()
    assert a.cert_b64 != b.cert_b64
    assert a.key.key_size == 2048
    assert "PRIVATE" not in repr(a) and re.search(r"BEGIN", repr(a)) is None
    assert oct(os.stat(a.key_file).st_mode & 0o777) == "0o600"
    assert hashlib.sha256(a.key_pem).digest() != hashlib.sha256(b.key_pem).digest()
