//! Verification, end to end on responses signed here with xmlsec (`tests/common/saml_idp.rs`):
//! what IdPs send verifies; every attack the verifier must refuse is refused, by the rule meant
//! to refuse it.

use crate::saml::saml_idp;

use chrono::{DateTime, TimeDelta, Utc};
use saml_idp::{Encryption, SamlIdp, Signing, Spec};

use super::prefilter::{Root, ShapeError, check};
use super::*;

fn now() -> DateTime<Utc> {
    "2026-03-01T12:00:00Z".parse().unwrap()
}

fn provider(idp: &SamlIdp) -> Provider {
    Provider {
        entity_id: idp.entity_id.clone(),
        signing_certs: vec![idp.cert_b64.clone()],
        private_keys: Vec::new(),
        encryption_required: false,
    }
}

fn with_keys(mut p: Provider) -> Provider {
    let key = crate::saml::private_key::parse(saml_idp::ENCRYPTION_KEY).unwrap();
    p.private_keys = vec![key];
    p
}

fn okta() -> SamlIdp {
    SamlIdp::okta()
}

fn spec() -> Spec {
    let mut s = Spec::aws(
        now(),
        "arn:aws:iam::123456789012:role/dev",
        "arn:aws:iam::123456789012:saml-provider/okta",
        "alice",
    );
    s.raw_attr("urn:oid:1.3.6.1.4.1.5923.1.1.1.1", &["faculty", "staff"]);
    s
}

fn verify_at(xml: &str, p: &Provider, at: DateTime<Utc>) -> Result<Verified, Refusal> {
    verify(&saml_idp::encode(xml), p, &Settings::default(), at)
}

/// The refusal of `xml` from Okta at `now()`.
fn refused(xml: &str) -> Refusal {
    verify_at(xml, &provider(&okta()), now()).expect_err("must be refused")
}

fn kind(xml: &str) -> RefusalKind {
    refused(xml).kind
}

fn shape_error(xml: &str) -> ShapeError {
    check(xml, Root::Response).expect_err("the pre-filter must refuse it")
}

/// `xml` with the first `from` replaced by `to` (which must be there).
fn edit(xml: &str, from: &str, to: &str) -> String {
    assert!(xml.contains(from), "`{from}` not in the document");
    xml.replacen(from, to, 1)
}

/// The text between the first `start` and the next `end` (both included) removed.
fn cut(xml: &str, start: &str, end: &str) -> String {
    let a = xml.find(start).unwrap();
    let b = a + xml[a..].find(end).unwrap() + end.len();
    format!("{}{}", &xml[..a], &xml[b..])
}

// --- what identity providers send ------------------------------------------------------------

#[test]
fn responses_signed_every_way_verify() {
    let idp = okta();
    for signing in [Signing::Assertion, Signing::Response, Signing::Both] {
        let mut s = spec();
        s.signing = signing;
        let v = verify_at(&idp.response_xml(&s), &provider(&idp), now())
            .unwrap_or_else(|e| panic!("{signing:?}: {e:?}"));
        assert_eq!(v.issuer, idp.entity_id, "{signing:?}");
        assert_eq!(v.subject, "alice@example.com");
        assert_eq!(v.subject_format.as_deref(), Some(saml_idp::PERSISTENT));
        assert_eq!(v.assertion_id, s.assertion_id);
        assert_eq!(v.recipient, saml_idp::AWS_ACS);
        assert_eq!(v.audience, saml_idp::AWS_AUDIENCE);
        assert_eq!(v.issued_at, now());
        assert_eq!(v.session_not_on_or_after, Some(now() + TimeDelta::hours(8)));
        assert!(!v.encrypted);
        // Accepted until the earliest of its windows (5 minutes here), plus the skew.
        assert_eq!(v.acceptable_until, now() + TimeDelta::minutes(5) + SKEW);
        let roles: Vec<&str> = v.values(crate::saml::aws::ROLE).collect();
        assert_eq!(
            roles,
            ["arn:aws:iam::123456789012:role/dev,arn:aws:iam::123456789012:saml-provider/okta"]
        );
        let aff: Vec<&str> = v.values("urn:oid:1.3.6.1.4.1.5923.1.1.1.1").collect();
        assert_eq!(aff, ["faculty", "staff"]);
    }
}

#[test]
fn ecdsa_p256_signatures_verify() {
    let idp = SamlIdp::p256("https://idp.example.com/saml");
    for signing in [Signing::Assertion, Signing::Response] {
        let mut s = spec();
        s.signing = signing;
        let xml = idp.response_xml(&s);
        assert!(xml.contains("ecdsa-sha256"));
        verify_at(&xml, &provider(&idp), now()).unwrap_or_else(|e| panic!("{signing:?}: {e:?}"));
    }
}

#[test]
fn any_of_the_providers_certificates_verifies_during_a_rollover() {
    let idp = okta();
    let mut p = provider(&idp);
    let other = SamlIdp::p256("x");
    p.signing_certs = vec![other.cert_b64.clone(), idp.cert_b64.clone()];
    verify_at(&idp.response_xml(&spec()), &p, now()).unwrap();
}

/// samael keeps each certificate's key loaded on the thread that verifies (vendor/samael,
/// PATCH.md): on one thread, the key of one certificate never verifies what another signed, in
/// whatever order the certificates were first used, and a key used again still verifies.
#[test]
fn keys_loaded_once_stay_with_their_certificates() {
    let okta = okta();
    // Someone else's key and certificate, the same entity id: a provider of its own.
    let attacker = SamlIdp::attacker(saml_idp::OKTA_ENTITY);
    let (as_okta, as_attacker) = (provider(&okta), provider(&attacker));
    let mut either = provider(&okta);
    either.signing_certs = vec![attacker.cert_b64.clone(), okta.cert_b64.clone()];
    let refusal =
        |xml: &str, p: &Provider| verify_at(xml, p, now()).map(|_| ()).map_err(|e| e.kind);
    for signing in [Signing::Assertion, Signing::Both, Signing::Response] {
        let mut s = spec();
        s.signing = signing;
        let (by_okta, by_attacker) = (okta.response_xml(&s), attacker.response_xml(&s));
        for round in 0..3 {
            let at = format!("{signing:?}, round {round}");
            assert_eq!(
                refusal(&by_attacker, &as_okta),
                Err(RefusalKind::Signature),
                "{at}"
            );
            assert_eq!(refusal(&by_okta, &as_okta), Ok(()), "{at}");
            assert_eq!(
                refusal(&by_okta, &as_attacker),
                Err(RefusalKind::Signature),
                "{at}"
            );
            assert_eq!(refusal(&by_attacker, &as_attacker), Ok(()), "{at}");
            // The attacker's certificate first: its key fails, the next one verifies.
            assert_eq!(refusal(&by_okta, &either), Ok(()), "{at}");
            assert_eq!(refusal(&by_attacker, &either), Ok(()), "{at}");
        }
    }
}

#[test]
fn base64_wrapped_in_lines_and_times_at_the_edges() {
    let idp = okta();
    let b64 = idp.response(&spec());
    let wrapped: String = b64
        .as_bytes()
        .chunks(76)
        .map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap()))
        .collect();
    verify(&wrapped, &provider(&idp), &Settings::default(), now()).unwrap();
    let xml = idp.response_xml(&spec());
    // Within the skew of a window's end, and of the five minutes.
    verify_at(
        &xml,
        &provider(&idp),
        now() + TimeDelta::minutes(5) + SKEW - TimeDelta::seconds(1),
    )
    .unwrap();
    // An IdP clock a little ahead of ours.
    verify_at(&xml, &provider(&idp), now() - SKEW + TimeDelta::seconds(1)).unwrap();
}

#[test]
fn own_audience_and_acs_url_when_configured() {
    let idp = okta();
    let settings = Settings::new(
        Some("https://tessera.example.com/saml/metadata"),
        &["https://tessera.example.com/saml".to_owned()],
    );
    let mut s = spec();
    s.audiences = vec![vec!["https://tessera.example.com/saml/metadata".into()]];
    s.recipient = Some("https://tessera.example.com/saml".into());
    s.destination = s.recipient.clone();
    s.signing = Signing::Both;
    let v = verify(&idp.response(&s), &provider(&idp), &settings, now()).unwrap();
    assert_eq!(v.recipient, "https://tessera.example.com/saml");
    assert_eq!(v.audience, "https://tessera.example.com/saml/metadata");
    // Not accepted by default.
    assert_eq!(
        verify(
            &idp.response(&s),
            &provider(&idp),
            &Settings::default(),
            now()
        )
        .unwrap_err()
        .kind,
        RefusalKind::Recipient
    );
    // AWS's regional sign-in endpoints are AWS's too.
    assert!(Settings::default().accepts_recipient("https://us-east-1.signin.aws.amazon.com/saml"));
    assert!(!Settings::default().accepts_recipient("https://evil.com/.signin.aws.amazon.com/saml"));
    assert!(!Settings::default().accepts_recipient("http://signin.aws.amazon.com/saml"));
}

#[test]
fn encrypted_assertions_decrypt_with_the_providers_key() {
    let idp = okta();
    for (signing, enc) in [
        // Okta, ADFS: the assertion signed, then encrypted; the response unsigned.
        (Signing::Assertion, Encryption::Aes256Gcm),
        (Signing::Assertion, Encryption::Aes128Cbc),
        // The response signed over the ciphertext; the assertion inside unsigned.
        (Signing::Response, Encryption::Aes256Gcm),
        (Signing::Both, Encryption::Aes128Cbc),
    ] {
        let mut s = spec();
        s.signing = signing;
        s.encryption = enc;
        let xml = idp.response_xml(&s);
        assert!(xml.contains("EncryptedAssertion") && !xml.contains("alice@example.com"));
        let v = verify_at(&xml, &with_keys(provider(&idp)), now())
            .unwrap_or_else(|e| panic!("{signing:?} {enc:?}: {e:?}"));
        assert!(v.encrypted);
        assert_eq!(v.subject, "alice@example.com");
        // The provider must hold the key.
        assert_eq!(
            verify_at(&xml, &provider(&idp), now()).unwrap_err().kind,
            RefusalKind::Encryption
        );
    }
}

#[test]
fn encryption_mode_required_refuses_assertions_in_the_clear() {
    let idp = okta();
    let mut p = with_keys(provider(&idp));
    p.encryption_required = true;
    assert_eq!(
        verify_at(&idp.response_xml(&spec()), &p, now())
            .unwrap_err()
            .kind,
        RefusalKind::Encryption
    );
    let mut s = spec();
    s.encryption = Encryption::Aes256Gcm;
    verify_at(&idp.response_xml(&s), &p, now()).unwrap();
}

#[test]
fn an_unsigned_assertion_inside_an_unsigned_encrypted_response_is_refused() {
    let idp = okta();
    let mut s = spec();
    s.signing = Signing::Neither;
    s.encryption = Encryption::Aes256Gcm;
    let r = verify_at(&idp.response_xml(&s), &with_keys(provider(&idp)), now()).unwrap_err();
    assert_eq!(r.kind, RefusalKind::Signature, "{r:?}");
}

#[test]
fn tampered_ciphertext_is_refused() {
    let idp = okta();
    let mut s = spec();
    s.signing = Signing::Response;
    s.encryption = Encryption::Aes128Cbc;
    let xml = idp.response_xml(&s);
    // Flip a character of the data's ciphertext (the last CipherValue): the response's
    // signature covers it.
    let at = xml.rfind("</xenc:CipherValue>").unwrap() - 30;
    let mut bytes = xml.into_bytes();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    assert_eq!(
        verify_at(&tampered, &with_keys(provider(&idp)), now())
            .unwrap_err()
            .kind,
        RefusalKind::Signature
    );
}

// --- signatures --------------------------------------------------------------------------------

#[test]
fn stripped_emptied_and_foreign_signatures_are_refused() {
    let idp = okta();
    for signing in [Signing::Assertion, Signing::Response] {
        let mut s = spec();
        s.signing = signing;
        let xml = idp.response_xml(&s);
        let stripped = cut(&xml, "<ds:Signature", "</ds:Signature>");
        assert_eq!(
            kind(&stripped),
            RefusalKind::Signature,
            "{signing:?} stripped"
        );
        assert_eq!(shape_error(&stripped), ShapeError::Unsigned);
        let emptied = cut(&xml, "<ds:SignatureValue>", "</ds:SignatureValue>").replacen(
            "</ds:SignedInfo>",
            "</ds:SignedInfo><ds:SignatureValue></ds:SignatureValue>",
            1,
        );
        assert_eq!(
            kind(&emptied),
            RefusalKind::Signature,
            "{signing:?} emptied"
        );
        let no_digest = cut(&xml, "<ds:DigestValue>", "</ds:DigestValue>").replacen(
            "</ds:DigestMethod>",
            "</ds:DigestMethod><ds:DigestValue></ds:DigestValue>",
            1,
        );
        assert_ne!(
            verify_at(&no_digest, &provider(&idp), now()).map(|_| ()),
            Ok(())
        );
    }
    // Someone else's key, its certificate in KeyInfo, the provider's entity id.
    let attacker = SamlIdp::attacker(saml_idp::OKTA_ENTITY);
    for signing in [Signing::Assertion, Signing::Response, Signing::Both] {
        let mut s = spec();
        s.signing = signing;
        assert_eq!(
            kind(&attacker.response_xml(&s)),
            RefusalKind::Signature,
            "{signing:?}"
        );
    }
    // Entirely unsigned.
    let mut s = spec();
    s.signing = Signing::Neither;
    assert_eq!(kind(&okta().response_xml(&s)), RefusalKind::Signature);
}

#[test]
fn tampered_name_id_role_and_audience_are_refused() {
    let idp = okta();
    for signing in [Signing::Assertion, Signing::Response, Signing::Both] {
        let mut s = spec();
        s.signing = signing;
        let xml = idp.response_xml(&s);
        for (from, to) in [
            ("alice@example.com", "admin@example.com"),
            ("role/dev", "role/admin"),
            ("faculty", "facultx"),
            // A signed attribute value is text like any other.
            ("<saml:AttributeValue", "<saml:AttributeValue Extra=\"1\""),
        ] {
            assert_eq!(
                kind(&edit(&xml, from, to)),
                RefusalKind::Signature,
                "{signing:?}: {from} -> {to}"
            );
        }
    }
}

#[test]
fn comments_in_a_name_id_are_refused_before_any_parser_reads_them() {
    let idp = okta();
    let mut s = spec();
    // The IdP signed `alice@example.com.evil.com`; exclusive c14n drops comments, so the
    // signature still verifies with one inserted, and a parser reading the first text node
    // would see `alice@example.com`.
    s.name_id = "alice@example.com.evil.com".into();
    let xml = idp.response_xml(&s);
    let injected = edit(
        &xml,
        "alice@example.com.evil.com",
        "alice@example.com<!---->.evil.com",
    );
    assert_eq!(shape_error(&injected), ShapeError::Comment);
    assert_eq!(kind(&injected), RefusalKind::Malformed);
    // Comments anywhere else too.
    assert_eq!(
        shape_error(&format!("<!-- hi -->{xml}")),
        ShapeError::Comment
    );
}

#[test]
fn only_rsa_sha256_and_ecdsa_sha256_with_sha256_digests() {
    let idp = okta();
    let xml = idp.response_xml(&spec());
    let sha1 = edit(
        &xml,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    );
    assert_eq!(shape_error(&sha1), ShapeError::SignatureAlgorithm);
    let digest = edit(
        &xml,
        "http://www.w3.org/2001/04/xmlenc#sha256",
        "http://www.w3.org/2000/09/xmldsig#sha1",
    );
    assert_eq!(shape_error(&digest), ShapeError::DigestAlgorithm);
    let hmac = edit(
        &xml,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>",
        "http://www.w3.org/2000/09/xmldsig#hmac-sha1\"><ds:HMACOutputLength>8</ds:HMACOutputLength></ds:SignatureMethod>",
    );
    assert!(matches!(
        shape_error(&hmac),
        ShapeError::SignatureAlgorithm | ShapeError::SignatureStructure
    ));
}

#[test]
fn samael_alone_refuses_rsa_sha1_too() {
    // Behind the pre-filter, samael's own allow-list: an assertion really signed with
    // RSA-SHA1 (xmlsec signs with the template's algorithm) fails its verification.
    let idp = okta();
    let s = spec();
    let template = idp.signature_template(&s.assertion_id).replace(
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    );
    let assertion = idp.sign(&saml_idp::assertion_xml(&s, &idp.entity_id, Some(template)));
    let xml = saml_idp::response_xml(&s, &idp.entity_id, None, &assertion);
    assert!(xml.contains("rsa-sha1"));
    let shape = Shape {
        recipient: Some(saml_idp::AWS_ACS.into()),
        audiences: vec![saml_idp::AWS_AUDIENCE.into()],
        ..Shape::default()
    };
    let r = samael_verify(&xml, &shape, &provider(&idp), &Settings::default()).unwrap_err();
    assert_eq!(r.kind, RefusalKind::Signature, "{r:?}");
    // And the same document with RSA-SHA256 passes that step.
    let good = idp.response_xml(&s);
    samael_verify(&good, &shape, &provider(&idp), &Settings::default()).unwrap();
}

#[test]
fn reference_uris_must_name_the_enclosing_element() {
    let idp = okta();
    let s = spec();
    let xml = idp.response_xml(&s);
    let id = format!("URI=\"#{}\"", s.assertion_id);
    for uri in [
        "URI=\"\"".to_owned(),
        "URI=\"http://127.0.0.1:9/x.xml\"".to_owned(),
        "URI=\"file:///etc/passwd\"".to_owned(),
        format!("URI=\"#{}\"", s.response_id),
        "URI=\"#xpointer(/)\"".to_owned(),
        format!("URI=\"#xpointer(id('{}'))\"", s.assertion_id),
    ] {
        assert_eq!(
            shape_error(&edit(&xml, &id, &uri)),
            ShapeError::ReferenceUri,
            "{uri}"
        );
    }
    assert_eq!(shape_error(&edit(&xml, &id, "")), ShapeError::ReferenceUri);
}

#[test]
fn an_external_reference_is_never_fetched() {
    // A listener the Reference points at sees no connection: the pre-filter refuses the
    // document before xmlsec could dereference it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let idp = okta();
    let s = spec();
    let xml = edit(
        &idp.response_xml(&s),
        &format!("URI=\"#{}\"", s.assertion_id),
        &format!("URI=\"http://127.0.0.1:{port}/x.xml\""),
    );
    assert_eq!(kind(&xml), RefusalKind::Malformed);
    let mut s2 = spec();
    s2.signing = Signing::Response;
    let xml = edit(
        &idp.response_xml(&s2),
        &format!("URI=\"#{}\"", s2.response_id),
        &format!("URI=\"http://127.0.0.1:{port}/x.xml\""),
    );
    assert_eq!(kind(&xml), RefusalKind::Malformed);
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(
        listener.accept().map(|_| ()).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
}

#[test]
fn only_enveloped_and_exclusive_c14n_transforms() {
    let idp = okta();
    let xml = idp.response_xml(&spec());
    let enveloped =
        r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#;
    for t in [
        r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"><xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0"/></ds:Transform>"#,
        r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>not(ancestor-or-self::ds:Signature)</ds:XPath></ds:Transform>"#,
        r#"<ds:Transform Algorithm="http://www.w3.org/2002/06/xmldsig-filter2"/>"#,
        r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#WithComments"/>"#,
        r#"<ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>"#,
        r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#base64"/>"#,
    ] {
        let e = shape_error(&edit(&xml, enveloped, t));
        assert!(
            matches!(e, ShapeError::Transform | ShapeError::SignatureStructure),
            "{t}: {e:?}"
        );
    }
    let c14n_comments = edit(
        &xml,
        r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
        r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#WithComments"/>"#,
    );
    assert_eq!(shape_error(&c14n_comments), ShapeError::Transform);
    // Three transforms, or the same one repeated past two.
    let three = edit(
        &xml,
        enveloped,
        &format!("{enveloped}{enveloped}{enveloped}"),
    );
    assert_eq!(shape_error(&three), ShapeError::SignatureStructure);
}

#[test]
fn objects_manifests_and_retrieval_methods_are_refused() {
    let idp = okta();
    let xml = idp.response_xml(&spec());
    for (from, to) in [
        (
            "</ds:KeyInfo>",
            "</ds:KeyInfo><ds:Object><ds:Manifest><ds:Reference URI=\"http://127.0.0.1:9/\"/></ds:Manifest></ds:Object>",
        ),
        (
            "<ds:X509Data>",
            "<ds:RetrievalMethod URI=\"http://127.0.0.1:9/key\"/><ds:X509Data>",
        ),
        (
            "</ds:SignedInfo>",
            "<ds:Reference URI=\"#x\"/></ds:SignedInfo>",
        ),
        ("<ds:X509Data>", "<ds:PGPData>x</ds:PGPData><ds:X509Data>"),
        (
            "</ds:Signature>",
            "</ds:Signature><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"/>",
        ),
    ] {
        let e = shape_error(&edit(&xml, from, to));
        assert!(
            matches!(
                e,
                ShapeError::SignatureStructure
                    | ShapeError::SignaturePlacement
                    | ShapeError::ReferenceUri
            ),
            "{to}: {e:?}"
        );
    }
}

#[test]
fn signatures_only_on_the_response_or_the_assertion() {
    let idp = okta();
    let s = spec();
    let xml = idp.response_xml(&s);
    // A signature moved into the Subject (where a wrapping attack would hide one).
    let sig_start = xml.find("<ds:Signature").unwrap();
    let sig_end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let sig = &xml[sig_start..sig_end];
    let without = format!("{}{}", &xml[..sig_start], &xml[sig_end..]);
    let moved = edit(&without, "<saml:Subject>", &format!("<saml:Subject>{sig}"));
    assert_eq!(shape_error(&moved), ShapeError::SignaturePlacement);
    let in_status = edit(&without, "<samlp:Status>", &format!("<samlp:Status>{sig}"));
    assert_eq!(shape_error(&in_status), ShapeError::SignaturePlacement);
}

// --- signature wrapping ------------------------------------------------------------------------

#[test]
fn wrapped_and_doubled_assertions_are_refused() {
    let idp = okta();
    let s = spec();
    let xml = idp.response_xml(&s);
    let a_start = xml.find("<saml:Assertion").unwrap();
    let a_end = xml.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    let signed = &xml[a_start..a_end];
    let evil = signed
        .replace("alice@example.com", "admin@example.com")
        .replace(&s.assertion_id, "_evil");
    let evil_unsigned = cut(&evil, "<ds:Signature", "</ds:Signature>");
    // Two assertions side by side (either first).
    for doc in [
        xml.replacen(signed, &format!("{evil_unsigned}{signed}"), 1),
        xml.replacen(signed, &format!("{signed}{evil_unsigned}"), 1),
    ] {
        assert_eq!(shape_error(&doc), ShapeError::AssertionCount);
        assert_eq!(kind(&doc), RefusalKind::Malformed);
    }
    // The signed one hidden in an Extensions element, the evil one in its place (XSW-style).
    let hidden = xml.replacen(
        signed,
        &format!("<samlp:Extensions>{signed}</samlp:Extensions>{evil_unsigned}"),
        1,
    );
    assert!(matches!(
        shape_error(&hidden),
        ShapeError::AssertionCount | ShapeError::UnexpectedChild | ShapeError::AssertionPlacement
    ));
    // The signed one inside the evil one's Subject.
    let nested = xml.replacen(
        signed,
        &evil_unsigned.replacen("<saml:Subject>", &format!("<saml:Subject>{signed}"), 1),
        1,
    );
    assert!(matches!(
        shape_error(&nested),
        ShapeError::AssertionCount | ShapeError::AssertionPlacement
    ));
    // An Assertion in another namespace still counts.
    let foreign = edit(
        &xml,
        "<samlp:Status>",
        "<samlp:Status><x:Assertion xmlns:x=\"urn:evil\"/>",
    );
    assert!(matches!(
        shape_error(&foreign),
        ShapeError::AssertionCount | ShapeError::AssertionPlacement
    ));
    // No assertion at all.
    let none = xml.replacen(signed, "", 1);
    assert_eq!(shape_error(&none), ShapeError::AssertionCount);
}

#[test]
fn duplicate_namespaced_and_xml_ids_are_refused() {
    let idp = okta();
    let s = spec();
    let xml = idp.response_xml(&s);
    let dup = edit(
        &xml,
        "<samlp:Status>",
        &format!("<samlp:Status ID=\"{}\">", s.assertion_id),
    );
    assert_eq!(shape_error(&dup), ShapeError::BadId);
    let namespaced = edit(
        &xml,
        "<saml:Subject>",
        &format!(
            "<saml:Subject xmlns:x=\"urn:x\" x:ID=\"{}\">",
            s.assertion_id
        ),
    );
    assert_eq!(shape_error(&namespaced), ShapeError::BadId);
    let xml_id = edit(
        &xml,
        "<saml:Subject>",
        &format!("<saml:Subject xml:id=\"{}\">", s.assertion_id),
    );
    assert_eq!(shape_error(&xml_id), ShapeError::BadId);
    let weird = edit(&xml, &format!("ID=\"{}\"", s.response_id), "ID=\"1bad id\"");
    assert_eq!(shape_error(&weird), ShapeError::BadId);
    let missing = edit(&xml, &format!(" ID=\"{}\"", s.response_id), "");
    assert_eq!(shape_error(&missing), ShapeError::BadId);
}

// --- XML the parsers behind must never see ------------------------------------------------------

#[test]
fn doctypes_entities_and_processing_instructions_are_refused() {
    let idp = okta();
    let xml = idp.response_xml(&spec());
    let xxe = format!(
        "<!DOCTYPE samlp:Response [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{}",
        xml.replacen("alice@example.com", "&xxe;", 1)
    );
    assert_eq!(shape_error(&xxe), ShapeError::Doctype);
    let laughs = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\"><!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>{}",
        xml.replacen("alice@example.com", "&lol3;", 1)
    );
    assert_eq!(shape_error(&laughs), ShapeError::Doctype);
    let ssrf = format!("<!DOCTYPE r SYSTEM \"http://127.0.0.1:9/evil.dtd\">{xml}");
    assert_eq!(shape_error(&ssrf), ShapeError::Doctype);
    assert_eq!(
        shape_error(&edit(&xml, "alice@example.com", "&xxe;")),
        ShapeError::EntityReference
    );
    assert_eq!(
        shape_error(&edit(&xml, "Version=\"2.0\"", "Version=\"&xxe;\"")),
        ShapeError::EntityReference
    );
    assert_eq!(
        shape_error(&format!(
            "<?xml-stylesheet href=\"http://127.0.0.1:9/x.xsl\"?>{xml}"
        )),
        ShapeError::ProcessingInstruction
    );
    assert_eq!(
        shape_error(&edit(
            &xml,
            "alice@example.com",
            "<![CDATA[alice@example.com]]>"
        )),
        ShapeError::Cdata
    );
    // All of these reach the client as the same safe refusal.
    for doc in [xxe, laughs] {
        let r = refused(&doc);
        assert_eq!(r.kind, RefusalKind::Malformed);
        assert!(!r.public().contains("passwd") && !r.reason.contains("passwd"));
    }
}

#[test]
fn xml_that_parsers_could_read_two_ways_is_refused() {
    let idp = okta();
    let xml = idp.response_xml(&spec());
    let cases: Vec<(String, ShapeError)> = vec![
        // Characters XML forbids, raw or as references.
        (edit(&xml, "alice", "al\u{1}ice"), ShapeError::Malformed),
        (edit(&xml, "alice", "al&#1;ice"), ShapeError::Malformed),
        (edit(&xml, "alice", "al&#xFFFE;ice"), ShapeError::Malformed),
        // Another encoding declared than the bytes are in.
        (
            format!("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>{xml}"),
            ShapeError::Malformed,
        ),
        (
            format!("<?xml version=\"1.1\"?>{xml}"),
            ShapeError::Malformed,
        ),
        // An unbound prefix; a prefix undeclared; a namespace name with an escape.
        (
            edit(&xml, "<saml:Subject>", "<bad:Subject>"),
            ShapeError::Malformed,
        ),
        (
            edit(&xml, "<saml:Subject>", "<saml:Subject xmlns:saml=\"\">"),
            ShapeError::Malformed,
        ),
        (
            edit(
                &xml,
                "<samlp:Status>",
                "<samlp:Status xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:prot&#x6f;col\">",
            ),
            ShapeError::Malformed,
        ),
        // One attribute twice, through two prefixes of one namespace.
        (
            edit(
                &xml,
                "<saml:Subject>",
                "<saml:Subject xmlns:a=\"urn:x\" xmlns:b=\"urn:x\" a:k=\"1\" b:k=\"2\">",
            ),
            ShapeError::Malformed,
        ),
        // Unbalanced, trailing content, a second root.
        (
            xml.replacen("</samlp:Response>", "", 1),
            ShapeError::Malformed,
        ),
        (format!("{xml}<x/>"), ShapeError::Malformed),
        (format!("{xml}text"), ShapeError::Malformed),
        // Times that are not UTC instants in range.
        (
            edit(&xml, "IssueInstant=\"2026", "IssueInstant=\"99999"),
            ShapeError::BadTime,
        ),
        (
            edit(
                &xml,
                "IssueInstant=\"2026-03-01T12:00:00.000Z\"",
                "IssueInstant=\"2026-03-01T12:00:00\"",
            ),
            ShapeError::BadTime,
        ),
    ];
    for (doc, want) in cases {
        assert_eq!(check(&doc, Root::Response), Err(want));
    }
}

#[test]
fn sizes_depths_and_counts_are_bounded() {
    let idp = okta();
    let xml = idp.response_xml(&spec());
    let big = edit(
        &xml,
        "alice@example.com",
        &"x".repeat(prefilter::MAX_XML_BYTES),
    );
    assert_eq!(shape_error(&big), ShapeError::TooLarge);
    let encoded = saml_idp::encode(&big);
    assert!(encoded.len() > MAX_ENCODED_CHARS);
    let r = verify(&encoded, &provider(&idp), &Settings::default(), now()).unwrap_err();
    assert_eq!(r.kind, RefusalKind::Malformed);
    let deep = edit(
        &xml,
        "<saml:AttributeStatement>",
        &format!(
            "<saml:AttributeStatement>{}{}",
            "<a>".repeat(30),
            "</a>".repeat(30)
        ),
    );
    assert_eq!(shape_error(&deep), ShapeError::TooDeep);
    let many = edit(
        &xml,
        "<saml:AttributeStatement>",
        &format!(
            "<saml:AttributeStatement>{}",
            "<a/>".repeat(prefilter::MAX_ELEMENTS)
        ),
    );
    assert_eq!(shape_error(&many), ShapeError::TooManyElements);
    let attrs: String = (0..40).map(|i| format!(" a{i}=\"1\"")).collect();
    let wide = edit(&xml, "<saml:Subject>", &format!("<saml:Subject{attrs}>"));
    assert_eq!(shape_error(&wide), ShapeError::TooManyAttributes);
    assert_eq!(
        verify("!!!!", &provider(&idp), &Settings::default(), now())
            .unwrap_err()
            .kind,
        RefusalKind::Malformed
    );
    assert_eq!(
        verify(
            &saml_idp::encode("\u{0}\u{ff}"),
            &provider(&idp),
            &Settings::default(),
            now()
        )
        .unwrap_err()
        .kind,
        RefusalKind::Malformed
    );
}

#[test]
fn the_root_and_its_children_are_what_a_response_holds() {
    let idp = okta();
    let xml = idp.response_xml(&spec());
    let assertion_only = {
        let a = xml.find("<saml:Assertion").unwrap();
        let b = xml.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
        xml[a..b].to_owned()
    };
    assert_eq!(shape_error(&assertion_only), ShapeError::NotResponse);
    // As an assertion document (a decrypted one), it passes.
    check(&assertion_only, Root::Assertion).unwrap();
    assert_eq!(
        check(&xml, Root::Assertion).unwrap_err(),
        ShapeError::NotAssertion
    );
    let extra = edit(&xml, "<samlp:Status>", "<samlp:Extensions/><samlp:Status>");
    assert_eq!(shape_error(&extra), ShapeError::UnexpectedChild);
    let two_status = edit(
        &xml,
        "<samlp:Status>",
        "<samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status><samlp:Status>",
    );
    assert_eq!(shape_error(&two_status), ShapeError::UnexpectedChild);
    let no_status = cut(&xml, "<samlp:Status>", "</samlp:Status>");
    assert_eq!(shape_error(&no_status), ShapeError::NoStatus);
}

#[test]
fn encrypted_assertions_hold_only_xml_encryption() {
    let idp = okta();
    let mut s = spec();
    s.encryption = Encryption::Aes256Gcm;
    let xml = idp.response_xml(&s);
    check(&xml, Root::Response).unwrap();
    let fetched = edit(
        &xml,
        "<xenc:CipherValue>",
        "<xenc:CipherReference URI=\"http://127.0.0.1:9/c\"/><xenc:CipherValue>",
    );
    assert_eq!(shape_error(&fetched), ShapeError::EncryptionStructure);
    let signed_inside = edit(
        &xml,
        "<xenc:CipherData>",
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"/><xenc:CipherData>",
    );
    assert_eq!(shape_error(&signed_inside), ShapeError::EncryptionStructure);
    let two = edit(
        &xml,
        "</saml:EncryptedAssertion>",
        "</saml:EncryptedAssertion><saml:EncryptedAssertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\"/>",
    );
    assert_eq!(shape_error(&two), ShapeError::AssertionCount);
    // Decryption failures all look alike.
    let bad_key = edit(&xml, "rsa-oaep-mgf1p", "rsa-1_5");
    let r = verify_at(&bad_key, &with_keys(provider(&idp)), now()).unwrap_err();
    assert_eq!(r.kind, RefusalKind::Encryption);
}

// --- tessera's checks ----------------------------------------------------------------------------

#[test]
fn times_are_checked_against_now() {
    let idp = okta();
    let p = provider(&idp);
    let xml = idp.response_xml(&spec());
    // Older than five minutes (and the skew): AWS's redemption rule.
    let r = verify_at(&xml, &p, now() + TimeDelta::minutes(7)).unwrap_err();
    assert_eq!(r.kind, RefusalKind::Redeem);
    assert_eq!(
        r.public(),
        "Token must be redeemed within 5 minutes of issuance"
    );
    // Issued in the future.
    let r = verify_at(&xml, &p, now() - TimeDelta::minutes(2)).unwrap_err();
    assert_eq!(r.kind, RefusalKind::Expired);
    for (name, f) in [
        (
            "Conditions NotOnOrAfter",
            (|s: &mut Spec| s.not_on_or_after = Some(s.issue_instant - TimeDelta::minutes(2)))
                as fn(&mut Spec),
        ),
        ("Conditions NotBefore", |s| {
            s.not_before = Some(s.issue_instant + TimeDelta::minutes(3))
        }),
        ("SubjectConfirmationData NotOnOrAfter", |s| {
            s.confirmation_not_on_or_after = Some(s.issue_instant - TimeDelta::minutes(2))
        }),
        ("SessionNotOnOrAfter", |s| {
            s.session_not_on_or_after = Some(s.issue_instant - TimeDelta::seconds(1))
        }),
    ] {
        let mut s = spec();
        f(&mut s);
        let r = verify_at(&idp.response_xml(&s), &p, now()).unwrap_err();
        assert_eq!(r.kind, RefusalKind::Expired, "{name}: {r:?}");
    }
    // A confirmation without NotOnOrAfter is refused (AWS requires it).
    let mut s = spec();
    s.confirmation_not_on_or_after = None;
    assert_eq!(
        verify_at(&idp.response_xml(&s), &p, now())
            .unwrap_err()
            .kind,
        RefusalKind::Recipient
    );
}

#[test]
fn audiences_recipients_and_destinations_must_be_ours() {
    let idp = okta();
    type Case = (&'static str, fn(&mut Spec), RefusalKind);
    let cases: Vec<Case> = vec![
        (
            "wrong audience",
            |s| s.audiences = vec![vec!["https://evil.example.com".into()]],
            RefusalKind::Audience,
        ),
        (
            "no AudienceRestriction",
            |s| s.audiences = vec![],
            RefusalKind::Audience,
        ),
        (
            "no Conditions",
            |s| {
                s.audiences = vec![];
                s.not_before = None;
                s.not_on_or_after = None;
            },
            RefusalKind::Audience,
        ),
        (
            "one restriction not met",
            |s| {
                s.audiences = vec![
                    vec![saml_idp::AWS_AUDIENCE.into()],
                    vec!["https://evil.example.com".into()],
                ]
            },
            RefusalKind::Audience,
        ),
        (
            "wrong recipient",
            |s| s.recipient = Some("https://evil.example.com/acs".into()),
            RefusalKind::Recipient,
        ),
        (
            "no recipient",
            |s| s.recipient = None,
            RefusalKind::Recipient,
        ),
        (
            "not bearer",
            |s| s.confirmation_method = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key".into(),
            RefusalKind::Recipient,
        ),
        (
            "wrong destination",
            |s| s.destination = Some("https://evil.example.com/acs".into()),
            RefusalKind::Recipient,
        ),
        (
            "another issuer",
            |s| s.issuer = Some("https://evil.example.com".into()),
            RefusalKind::Issuer,
        ),
    ];
    for signing in [Signing::Assertion, Signing::Both] {
        for (name, f, want) in &cases {
            let mut s = spec();
            s.signing = signing;
            f(&mut s);
            let r = verify_at(&idp.response_xml(&s), &provider(&idp), now()).unwrap_err();
            assert_eq!(r.kind, *want, "{signing:?} {name}: {r:?}");
        }
    }
    // Several audiences in one restriction: one of ours is enough.
    let mut s = spec();
    s.audiences = vec![vec![
        "https://other.example.com".into(),
        saml_idp::AWS_AUDIENCE.into(),
    ]];
    verify_at(&idp.response_xml(&s), &provider(&idp), now()).unwrap();
    // A response without Destination, signed on the assertion only, is fine.
    let mut s = spec();
    s.destination = None;
    verify_at(&idp.response_xml(&s), &provider(&idp), now()).unwrap();
}

#[test]
fn exactly_one_subject_confirmation() {
    let idp = okta();
    let xml = idp.response_xml(&spec());
    let two = edit(
        &xml,
        "</saml:SubjectConfirmation>",
        "</saml:SubjectConfirmation><saml:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\"/>",
    );
    assert_eq!(shape_error(&two), ShapeError::SubjectConfirmations);
}

#[test]
fn a_failed_status_is_the_idps_refusal() {
    let idp = okta();
    let mut s = spec();
    s.status = "urn:oasis:names:tc:SAML:2.0:status:Requester".into();
    let r = refused(&idp.response_xml(&s));
    assert_eq!(r.kind, RefusalKind::Rejected);
}

#[test]
fn refusals_never_carry_the_document() {
    let idp = okta();
    let mut s = spec();
    s.name_id = "secret-marker@example.com".into();
    s.issuer = Some("https://secret-marker.example.com".into());
    let r = refused(&idp.response_xml(&s));
    assert!(!r.public().contains("secret-marker"));
}

#[test]
fn responses_signed_by_the_xmlsec1_cli_verify() {
    // The fuzz target's seeds (`fuzz/seeds/saml_response/make.sh`): signed by another signer
    // than the one these tests use, valid at `now()` (the fuzz target's clock too).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/saml_response");
    let okta = provider(&okta());
    for name in ["assertion-signed.xml", "response-signed.xml"] {
        let xml = std::fs::read_to_string(dir.join(name)).unwrap();
        let v = verify_xml(&xml, &okta, &Settings::default(), now())
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(v.subject, "alice@example.com", "{name}");
        assert_eq!(v.assertion_id, "_a1", "{name}");
    }
}
