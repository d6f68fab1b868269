//! IAM SAML providers through aws-sdk-rust: lifecycle with Okta-, Entra ID- and Keycloak-shaped
//! metadata, certificate rotation, private keys (never answered), tags, refusals (metadata
//! samael could not verify with, DOCTYPE, too many certificates), authorization, and ARNs in the
//! signing region's partition.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod common;
use common::{TestServer, iam_code, iam_message};

use aws_sdk_iam::types::{AssertionEncryptionModeType, Tag};

const ACCOUNT: &str = "000000000000";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/saml")
            .join(name),
    )
    .unwrap()
}

/// `tests/fixtures/saml/<name>.crt` as metadata carries it: base64 DER on one line.
fn cert(name: &str) -> String {
    fixture(&format!("{name}.crt"))
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect()
}

/// Metadata of `https://idp.example.com/saml` with one signing `KeyDescriptor` per certificate,
/// padded past the model's 1,000-character minimum.
fn metadata_with(certs: &[String]) -> String {
    let keys: String = certs
        .iter()
        .map(|c| {
            format!(
                r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{c}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example.com/saml">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    {keys}
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.com/sso/{pad}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#,
        pad = "p".repeat(1000)
    )
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build().unwrap()
}

fn sorted_tags(tags: &[Tag]) -> Vec<(String, String)> {
    let mut kv: Vec<_> = tags
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    kv.sort();
    kv
}

#[tokio::test]
async fn provider_lifecycle_with_real_idp_metadata() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let mut arns = Vec::new();
    for (name, file) in [
        ("Okta", "okta-metadata.xml"),
        ("EntraID", "entra-metadata.xml"),
        ("keycloak.corp", "keycloak-metadata.xml"),
    ] {
        let doc = fixture(file);
        let created = iam
            .create_saml_provider()
            .name(name)
            .saml_metadata_document(&doc)
            .tags(tag("idp", name))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let arn = created.saml_provider_arn().unwrap().to_owned();
        assert_eq!(arn, format!("arn:aws:iam::{ACCOUNT}:saml-provider/{name}"));
        assert_eq!(
            sorted_tags(created.tags()),
            vec![("idp".into(), name.into())]
        );

        let got = iam
            .get_saml_provider()
            .saml_provider_arn(&arn)
            .send()
            .await
            .unwrap();
        assert_eq!(got.saml_metadata_document(), Some(doc.as_str()), "{name}");
        let uuid = got.saml_provider_uuid().unwrap();
        assert!(
            (22..=64).contains(&uuid.len())
                && uuid
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()),
            "{uuid}"
        );
        let created_at = got.create_date().unwrap().secs();
        // No validUntil in the metadata: IAM answers 100 years on.
        let until = got.valid_until().unwrap().secs();
        assert!(until - created_at > 99 * 365 * 86_400, "{name}");
        assert_eq!(sorted_tags(got.tags()), vec![("idp".into(), name.into())]);
        assert!(got.assertion_encryption_mode().is_none());
        assert!(got.private_key_list().is_empty());
        arns.push(arn);
    }

    let listed = iam.list_saml_providers().send().await.unwrap();
    let mut listed_arns: Vec<_> = listed
        .saml_provider_list()
        .iter()
        .map(|e| {
            assert!(e.create_date().is_some() && e.valid_until().is_some());
            e.arn().unwrap().to_owned()
        })
        .collect();
    listed_arns.sort();
    let mut want = arns.clone();
    want.sort();
    assert_eq!(listed_arns, want);

    // A second provider of the same name.
    let e = iam
        .create_saml_provider()
        .name("Okta")
        .saml_metadata_document(fixture("okta-metadata.xml"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "EntityAlreadyExists");

    for arn in &arns {
        iam.delete_saml_provider()
            .saml_provider_arn(arn)
            .send()
            .await
            .unwrap();
    }
    let e = iam
        .get_saml_provider()
        .saml_provider_arn(&arns[0])
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "NoSuchEntity");
    assert!(iam_message(&e).contains(&arns[0]), "{}", iam_message(&e));
    let e = iam
        .delete_saml_provider()
        .saml_provider_arn(&arns[0])
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "NoSuchEntity");
    assert!(
        iam.list_saml_providers()
            .send()
            .await
            .unwrap()
            .saml_provider_list()
            .is_empty()
    );
}

#[tokio::test]
async fn metadata_verification_could_not_rely_on_is_refused() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let good = metadata_with(&[cert("okta")]);
    let no_signing_cert = good.replace(r#"use="signing""#, r#"use="encryption""#);
    let doctype = format!(
        r#"<!DOCTYPE md:EntityDescriptor [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>{}"#,
        good.trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
    );
    let eleven: Vec<String> = (1..=11)
        .map(|i| cert(&format!("rotation-{i:02}")))
        .collect();
    let cases = [
        (no_signing_cert, "no signing certificate"),
        (doctype, "DOCTYPE"),
        (metadata_with(&eleven), "more than 10 signing certificates"),
        (
            good.replace(&cert("okta"), "bm90IGEgY2VydGlmaWNhdGU="),
            "not a base64 DER X.509 certificate",
        ),
        (format!("{}{}", "x".repeat(1000), good), "not well-formed"),
    ];
    for (doc, why) in cases {
        let e = iam
            .create_saml_provider()
            .name("refused")
            .saml_metadata_document(&doc)
            .send()
            .await
            .unwrap_err();
        assert_eq!(iam_code(&e), "InvalidInput", "{why}");
        let message = iam_message(&e);
        assert!(
            message.starts_with("Could not parse metadata: "),
            "{message}"
        );
        assert!(message.contains(why), "{why}: {message}");
        // Nothing of the document comes back.
        assert!(
            !message.contains("idp.example.com") && !message.contains("passwd"),
            "{message}"
        );
    }
    // Ten certificates (a rotation in progress) are fine; the document's length is the model's.
    iam.create_saml_provider()
        .name("ten")
        .saml_metadata_document(metadata_with(&eleven[..10]))
        .send()
        .await
        .unwrap();
    let e = iam
        .create_saml_provider()
        .name("short")
        .saml_metadata_document("<md:EntityDescriptor/>")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "ValidationError");
    assert!(
        !iam_message(&e).contains("EntityDescriptor"),
        "{}",
        iam_message(&e)
    );
    let e = iam
        .create_saml_provider()
        .name("bad/name")
        .saml_metadata_document(&good)
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "ValidationError");
    assert!(
        iam.list_saml_providers()
            .send()
            .await
            .unwrap()
            .saml_provider_list()
            .len()
            == 1
    );
}

#[tokio::test]
async fn update_rotates_certificates_and_private_keys_are_never_answered() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let key_pem = fixture("encryption-pkcs8.key");
    let arn = iam
        .create_saml_provider()
        .name("Entra")
        .saml_metadata_document(metadata_with(&[cert("entra")]))
        .assertion_encryption_mode(AssertionEncryptionModeType::Required)
        .add_private_key(&key_pem)
        .send()
        .await
        .unwrap()
        .saml_provider_arn()
        .unwrap()
        .to_owned();

    // Rotation: the new certificate published beside the old one, then the old one dropped.
    for certs in [
        vec![cert("entra"), cert("entra-next")],
        vec![cert("entra-next")],
    ] {
        let updated = iam
            .update_saml_provider()
            .saml_provider_arn(&arn)
            .saml_metadata_document(metadata_with(&certs))
            .send()
            .await
            .unwrap();
        assert_eq!(updated.saml_provider_arn(), Some(arn.as_str()));
        let got = iam
            .get_saml_provider()
            .saml_provider_arn(&arn)
            .send()
            .await
            .unwrap();
        assert_eq!(
            got.saml_metadata_document(),
            Some(metadata_with(&certs).as_str())
        );
    }
    // A rotation to metadata without a signing certificate is refused and changes nothing.
    let e = iam
        .update_saml_provider()
        .saml_provider_arn(&arn)
        .saml_metadata_document(metadata_with(&[]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "InvalidInput");
    let got = iam
        .get_saml_provider()
        .saml_provider_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.saml_metadata_document(),
        Some(metadata_with(&[cert("entra-next")]).as_str())
    );

    // Keys: ids and times only, never key material.
    let got = iam
        .get_saml_provider()
        .saml_provider_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.assertion_encryption_mode(),
        Some(&AssertionEncryptionModeType::Required)
    );
    assert_eq!(got.private_key_list().len(), 1);
    let first = got.private_key_list()[0].key_id().unwrap().to_owned();
    assert!(got.private_key_list()[0].timestamp().is_some());
    let body: String = key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let middle = &body[100..140];
    assert!(!format!("{got:?}").contains(middle));

    // A second key (PKCS#1 is taken too), then a third is past the quota of 2.
    iam.update_saml_provider()
        .saml_provider_arn(&arn)
        .add_private_key(fixture("encryption-pkcs1.key"))
        .send()
        .await
        .unwrap();
    let e = iam
        .update_saml_provider()
        .saml_provider_arn(&arn)
        .add_private_key(&key_pem)
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "LimitExceeded");
    // Remove + add in one call rotates a full provider.
    iam.update_saml_provider()
        .saml_provider_arn(&arn)
        .remove_private_key(&first)
        .add_private_key(&key_pem)
        .send()
        .await
        .unwrap();
    let got = iam
        .get_saml_provider()
        .saml_provider_arn(&arn)
        .send()
        .await
        .unwrap();
    let ids: Vec<_> = got
        .private_key_list()
        .iter()
        .map(|k| k.key_id().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(!ids.contains(&first.as_str()));
    let e = iam
        .update_saml_provider()
        .saml_provider_arn(&arn)
        .remove_private_key(&first)
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "NoSuchEntity");

    // Keys that cannot decrypt anything, and encryption required without a key, are refused;
    // the key never comes back in the message.
    for (file, why) in [
        (
            "encryption-encrypted.key",
            "not an unencrypted PEM RSA private key",
        ),
        ("weak-1024.key", "at least 2048 bits"),
        ("ec.key", "at least 2048 bits"),
    ] {
        let e = iam
            .update_saml_provider()
            .saml_provider_arn(&arn)
            .add_private_key(fixture(file))
            .send()
            .await
            .unwrap_err();
        assert_eq!(iam_code(&e), "InvalidInput", "{file}");
        assert!(iam_message(&e).contains(why), "{file}: {}", iam_message(&e));
        assert!(!iam_message(&e).contains("BEGIN"), "{}", iam_message(&e));
    }
    let e = iam
        .create_saml_provider()
        .name("nokey")
        .saml_metadata_document(metadata_with(&[cert("okta")]))
        .assertion_encryption_mode(AssertionEncryptionModeType::Required)
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "InvalidInput");

    // At rest the keys are sealed: neither the database nor its WAL holds the PEM.
    let pkcs8_body = middle.as_bytes();
    for file in ["tessera.db", "tessera.db-wal"] {
        let path = s.dir.path().join(file);
        if let Ok(bytes) = std::fs::read(&path) {
            assert!(
                !bytes.windows(pkcs8_body.len()).any(|w| w == pkcs8_body),
                "{file} holds the private key in clear"
            );
        }
    }
}

#[tokio::test]
async fn tags() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let arn = iam
        .create_saml_provider()
        .name("Okta")
        .saml_metadata_document(fixture("okta-metadata.xml"))
        .tags(tag("team", "identity"))
        .send()
        .await
        .unwrap()
        .saml_provider_arn()
        .unwrap()
        .to_owned();
    iam.tag_saml_provider()
        .saml_provider_arn(&arn)
        .tags(tag("TEAM", "platform"))
        .tags(tag("env", "prod"))
        .send()
        .await
        .unwrap();
    iam.untag_saml_provider()
        .saml_provider_arn(&arn)
        .tag_keys("ENV")
        .send()
        .await
        .unwrap();
    let tags = iam
        .list_saml_provider_tags()
        .saml_provider_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sorted_tags(tags.tags()),
        vec![("TEAM".into(), "platform".into())]
    );
    assert!(!tags.is_truncated());
    let e = iam
        .tag_saml_provider()
        .saml_provider_arn(format!("arn:aws:iam::{ACCOUNT}:saml-provider/nobody"))
        .tags(tag("a", "b"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "NoSuchEntity");
    let many: Vec<Tag> = (0..50).map(|i| tag(&format!("k{i}"), "v")).collect();
    let e = iam
        .tag_saml_provider()
        .saml_provider_arn(&arn)
        .set_tags(Some(many))
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "LimitExceeded");
}

#[tokio::test]
async fn users_need_policies_and_unknown_providers_stay_hidden_from_others() {
    let s = TestServer::start().await;
    let root = s.iam(&s.root);
    let arn = root
        .create_saml_provider()
        .name("Okta")
        .saml_metadata_document(fixture("okta-metadata.xml"))
        .send()
        .await
        .unwrap()
        .saml_provider_arn()
        .unwrap()
        .to_owned();
    let plain = s.user_with_key("plain").await;
    let iam = s.iam(&plain);
    let e = iam
        .create_saml_provider()
        .name("Other")
        .saml_metadata_document(fixture("keycloak-metadata.xml"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "AccessDenied");
    assert_eq!(
        iam_message(&e),
        format!(
            "User: arn:aws:iam::{ACCOUNT}:user/plain is not authorized to perform: iam:CreateSAMLProvider on resource: arn:aws:iam::{ACCOUNT}:saml-provider/Other"
        )
    );
    let e = iam.list_saml_providers().send().await.unwrap_err();
    assert_eq!(iam_code(&e), "AccessDenied");
    for target in [
        arn.clone(),
        format!("arn:aws:iam::{ACCOUNT}:saml-provider/Nobody"),
    ] {
        let e = iam
            .get_saml_provider()
            .saml_provider_arn(&target)
            .send()
            .await
            .unwrap_err();
        assert_eq!(iam_code(&e), "AccessDenied", "{target}");
    }
    root.put_user_policy()
        .user_name("plain")
        .policy_name("read-saml")
        .policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"iam:GetSAMLProvider","Resource":"{arn}"}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    let got = iam
        .get_saml_provider()
        .saml_provider_arn(&arn)
        .send()
        .await
        .unwrap();
    assert!(got.saml_metadata_document().is_some());
    let e = iam
        .delete_saml_provider()
        .saml_provider_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "AccessDenied");
}

#[tokio::test]
async fn arns_follow_the_signing_regions_partition() {
    let s = TestServer::start().await;
    let cn = s.iam_in(&s.root, "cn-north-1");
    let created = cn
        .create_saml_provider()
        .name("Okta")
        .saml_metadata_document(fixture("okta-metadata.xml"))
        .send()
        .await
        .unwrap();
    let cn_arn = format!("arn:aws-cn:iam::{ACCOUNT}:saml-provider/Okta");
    assert_eq!(created.saml_provider_arn(), Some(cn_arn.as_str()));
    let listed = cn.list_saml_providers().send().await.unwrap();
    assert_eq!(listed.saml_provider_list()[0].arn(), Some(cn_arn.as_str()));
    let updated = cn
        .update_saml_provider()
        .saml_provider_arn(&cn_arn)
        .saml_metadata_document(fixture("okta-metadata.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.saml_provider_arn(), Some(cn_arn.as_str()));
    let aws_arn = format!("arn:aws:iam::{ACCOUNT}:saml-provider/Okta");
    for arn in [&cn_arn, &aws_arn] {
        cn.get_saml_provider()
            .saml_provider_arn(arn)
            .send()
            .await
            .unwrap();
    }
    // Answers from a global-partition region name it in `aws`.
    let us = s.iam(&s.root);
    let listed = us.list_saml_providers().send().await.unwrap();
    assert_eq!(listed.saml_provider_list()[0].arn(), Some(aws_arn.as_str()));
    let e = cn
        .get_saml_provider()
        .saml_provider_arn(format!("arn:aws-cn:iam::{ACCOUNT}:saml-provider/Nobody"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "NoSuchEntity");
    assert!(
        iam_message(&e).contains("arn:aws-cn:iam::"),
        "{}",
        iam_message(&e)
    );
}

#[tokio::test]
async fn at_most_100_providers_per_account() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let doc = fixture("okta-metadata.xml");
    for i in 0..100 {
        iam.create_saml_provider()
            .name(format!("p{i}"))
            .saml_metadata_document(&doc)
            .send()
            .await
            .unwrap();
    }
    let e = iam
        .create_saml_provider()
        .name("p100")
        .saml_metadata_document(&doc)
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "LimitExceeded");
    assert_eq!(
        iam_message(&e),
        "Cannot exceed quota for SamlProvidersPerAccount: 100"
    );
}
