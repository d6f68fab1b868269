//! Signing certificates, SSH public keys and server certificates through aws-sdk-rust: each
//! action's answer, the errors AWS names for them (MalformedCertificate, InvalidCertificate,
//! DuplicateCertificate, KeyPairMismatch, InvalidPublicKey, DuplicateSSHPublicKey,
//! UnrecognizedPublicKeyEncoding, LimitExceeded, NoSuchEntity, EntityAlreadyExists,
//! DeleteConflict, ValidationError), authorization on the user's and the certificate's ARN,
//! and that a private key is never answered. Keys and certificates are made at test time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod common;

use aws_sdk_iam::types::{EncodingType, StatusType, Tag};
use common::TestServer;
use common::iam_err as err;
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509, X509Builder, X509NameBuilder};
use serde_json::json;

const A: &str = "000000000000";
const DAY: i64 = 86_400;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn rsa(bits: u32) -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap()
}

fn cert(
    cn: &str,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    from: i64,
    to: i64,
) -> X509 {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::from_unix(from).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(to).unwrap()).unwrap();
    let (issuer_name, signer) = match issuer {
        Some((c, k)) => (c.subject_name().to_owned().unwrap(), k),
        None => (name, key),
    };
    b.set_issuer_name(&issuer_name).unwrap();
    b.sign(signer, MessageDigest::sha256()).unwrap();
    b.build()
}

fn pem(c: &X509) -> String {
    String::from_utf8(c.to_pem().unwrap()).unwrap()
}

fn key_pem(k: &PKey<Private>) -> String {
    String::from_utf8(k.private_key_to_pem_pkcs8().unwrap()).unwrap()
}

/// A self-signed certificate valid from yesterday to in a year, and its key.
fn fresh(cn: &str) -> (String, PKey<Private>) {
    let k = rsa(2048);
    (pem(&cert(cn, &k, None, now() - DAY, now() + 365 * DAY)), k)
}

fn openssh(k: &PKey<Private>) -> String {
    use base64::Engine as _;
    let r = k.rsa().unwrap();
    let mut blob = Vec::new();
    let mut put = |v: &[u8]| {
        blob.extend_from_slice(&u32::try_from(v.len()).unwrap().to_be_bytes());
        blob.extend_from_slice(v);
    };
    put(b"ssh-rsa");
    let mpint = |v: Vec<u8>| {
        if v[0] & 0x80 != 0 {
            [vec![0], v].concat()
        } else {
            v
        }
    };
    put(&mpint(r.e().to_vec()));
    put(&mpint(r.n().to_vec()));
    format!(
        "ssh-rsa {} me@host",
        base64::engine::general_purpose::STANDARD.encode(blob)
    )
}

fn pair(code: &str, message: &str) -> (String, String) {
    (code.to_owned(), message.to_owned())
}

#[tokio::test]
async fn signing_certificates_lifecycle_and_errors() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    iam.create_user().user_name("alice").send().await.unwrap();
    let (body, _) = fresh("alice");
    let up = iam
        .upload_signing_certificate()
        .user_name("alice")
        .certificate_body(&body)
        .send()
        .await
        .unwrap();
    let c = up.certificate().unwrap();
    assert_eq!(c.user_name(), "alice");
    assert_eq!(c.certificate_body(), body);
    assert_eq!(c.status(), &StatusType::Active);
    assert_eq!(c.certificate_id().len(), 32);
    assert!(
        c.certificate_id()
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    );
    let id = c.certificate_id().to_owned();

    // The same certificate again, for anyone in the account.
    iam.create_user().user_name("bob").send().await.unwrap();
    for user in ["alice", "bob"] {
        assert_eq!(
            err(&iam
                .upload_signing_certificate()
                .user_name(user)
                .certificate_body(&body)
                .send()
                .await
                .unwrap_err())
            .0,
            "DuplicateCertificate"
        );
    }
    // Two per user.
    iam.upload_signing_certificate()
        .user_name("alice")
        .certificate_body(fresh("a2").0)
        .send()
        .await
        .unwrap();
    assert_eq!(
        err(&iam
            .upload_signing_certificate()
            .user_name("alice")
            .certificate_body(fresh("a3").0)
            .send()
            .await
            .unwrap_err()),
        pair(
            "LimitExceeded",
            "Cannot exceed quota for SigningCertificatesPerUser: 2"
        )
    );
    // Malformed, expired, not yet valid, not RSA.
    let k = rsa(2048);
    let expired = pem(&cert("x", &k, None, now() - 9 * DAY, now() - DAY));
    let future = pem(&cert("x", &k, None, now() + DAY, now() + 9 * DAY));
    let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
    let ec = PKey::from_ec_key(openssl::ec::EcKey::generate(&group).unwrap()).unwrap();
    let ec_cert = pem(&cert("e", &ec, None, now() - DAY, now() + DAY));
    let cases = [
        (
            "garbage".to_owned(),
            "MalformedCertificate",
            "Unable to parse certificate. Please ensure the certificate is in PEM format.",
        ),
        (
            body.replacen("MII", "MI", 1),
            "MalformedCertificate",
            "Unable to parse certificate. Please ensure the certificate is in PEM format.",
        ),
        (
            format!("{body}trailing junk"),
            "MalformedCertificate",
            "Unable to parse certificate. Please ensure the certificate is in PEM format.",
        ),
        (
            expired,
            "MalformedCertificate",
            "The certificate has expired.",
        ),
        (
            future,
            "MalformedCertificate",
            "The certificate is not yet valid.",
        ),
        (
            ec_cert,
            "InvalidCertificate",
            "The certificate's public key is not an RSA key.",
        ),
    ];
    for (text, code, message) in cases {
        let e = iam
            .upload_signing_certificate()
            .user_name("bob")
            .certificate_body(text)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err(&e), pair(code, message));
    }

    // List, deactivate, and the owner checks.
    let list = iam
        .list_signing_certificates()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    assert_eq!(list.certificates().len(), 2);
    assert!(!list.is_truncated());
    let page = iam
        .list_signing_certificates()
        .user_name("alice")
        .max_items(1)
        .send()
        .await
        .unwrap();
    assert!(page.is_truncated());
    let rest = iam
        .list_signing_certificates()
        .user_name("alice")
        .marker(page.marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.certificates().len(), 1);
    assert_ne!(
        rest.certificates()[0].certificate_id(),
        page.certificates()[0].certificate_id()
    );
    iam.update_signing_certificate()
        .user_name("alice")
        .certificate_id(&id)
        .status(StatusType::Inactive)
        .send()
        .await
        .unwrap();
    let list = iam
        .list_signing_certificates()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    let got = list
        .certificates()
        .iter()
        .find(|c| c.certificate_id() == id)
        .unwrap();
    assert_eq!(got.status(), &StatusType::Inactive);
    assert_eq!(
        err(&iam
            .update_signing_certificate()
            .user_name("bob")
            .certificate_id(&id)
            .status(StatusType::Active)
            .send()
            .await
            .unwrap_err()),
        pair(
            "NoSuchEntity",
            &format!("The Certificate with id {id} cannot be found.")
        )
    );
    assert_eq!(
        err(&iam
            .update_signing_certificate()
            .user_name("alice")
            .certificate_id(&id)
            .status(StatusType::Expired)
            .send()
            .await
            .unwrap_err())
        .0,
        "InvalidInput"
    );
    assert_eq!(
        err(&iam
            .list_signing_certificates()
            .user_name("nobody")
            .send()
            .await
            .unwrap_err()),
        pair("NoSuchEntity", "The user with name nobody cannot be found.")
    );
    // A user with certificates cannot be deleted.
    assert_eq!(
        err(&iam
            .delete_user()
            .user_name("alice")
            .send()
            .await
            .unwrap_err()),
        pair(
            "DeleteConflict",
            "Cannot delete entity, must delete signing certificates first."
        )
    );
    for c in iam
        .list_signing_certificates()
        .user_name("alice")
        .send()
        .await
        .unwrap()
        .certificates()
    {
        iam.delete_signing_certificate()
            .user_name("alice")
            .certificate_id(c.certificate_id())
            .send()
            .await
            .unwrap();
    }
    assert_eq!(
        err(&iam
            .delete_signing_certificate()
            .user_name("alice")
            .certificate_id(&id)
            .send()
            .await
            .unwrap_err())
        .0,
        "NoSuchEntity"
    );
    iam.delete_user().user_name("alice").send().await.unwrap();

    // Without UserName: the caller's own. The root's, counted by GetAccountSummary.
    iam.upload_signing_certificate()
        .certificate_body(fresh("root").0)
        .send()
        .await
        .unwrap();
    let mine = iam.list_signing_certificates().send().await.unwrap();
    assert_eq!(mine.certificates().len(), 1);
    let summary = iam.get_account_summary().send().await.unwrap();
    let map = summary.summary_map().unwrap();
    let get = |k: &str| {
        *map.get(&aws_sdk_iam::types::SummaryKeyType::from(k))
            .unwrap()
    };
    assert_eq!(get("AccountSigningCertificatesPresent"), 1);
    assert_eq!(get("SigningCertificatesPerUserQuota"), 2);
    assert_eq!(get("ServerCertificatesQuota"), 20);
    assert_eq!(get("ServerCertificates"), 0);
    let bob = s.iam(&{
        let k = iam
            .create_access_key()
            .user_name("bob")
            .send()
            .await
            .unwrap();
        let k = k.access_key().unwrap();
        common::Creds::new(k.access_key_id(), k.secret_access_key())
    });
    // Bob acting on himself needs a policy like anyone else, on his own ARN.
    assert_eq!(
        err(&bob.list_signing_certificates().send().await.unwrap_err()).1,
        format!(
            "User: arn:aws:iam::{A}:user/bob is not authorized to perform: iam:ListSigningCertificates on resource: arn:aws:iam::{A}:user/bob"
        )
    );
    iam.put_user_policy()
        .user_name("bob")
        .policy_name("own")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Action": ["iam:UploadSigningCertificate", "iam:ListSigningCertificates"],
                "Resource": "arn:aws:iam::*:user/${aws:username}"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    bob.upload_signing_certificate()
        .certificate_body(fresh("bob").0)
        .send()
        .await
        .unwrap();
    assert_eq!(
        bob.list_signing_certificates()
            .send()
            .await
            .unwrap()
            .certificates()[0]
            .user_name(),
        "bob"
    );
    assert_eq!(
        err(&bob
            .list_signing_certificates()
            .user_name("nobody")
            .send()
            .await
            .unwrap_err())
        .0,
        "NoSuchEntity"
    );
}

/// A role session has no user of its own: without `UserName` it is told to name one, and never
/// reaches the root's certificates.
#[tokio::test]
async fn role_sessions_must_name_the_user() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    iam.upload_signing_certificate()
        .certificate_body(fresh("root").0)
        .send()
        .await
        .unwrap();
    let u = s.user_with_key("ops").await;
    iam.put_user_policy()
        .user_name("ops")
        .policy_name("assume")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Action": "sts:AssumeRole", "Resource": "*"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    iam.create_role()
        .role_name("admin")
        .assume_role_policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{A}:user/ops")}, "Action": "sts:AssumeRole"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name("admin")
        .policy_name("all")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    let session = s
        .sts(&u)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{A}:role/admin"))
        .role_session_name("ops-session")
        .send()
        .await
        .unwrap();
    let c = session.credentials().unwrap();
    let as_role = s.iam(&common::Creds {
        access_key_id: c.access_key_id().to_owned(),
        secret: c.secret_access_key().to_owned(),
        token: Some(c.session_token().to_owned()),
    });
    let want = pair(
        "ValidationError",
        "Must specify userName when calling with non-User credentials",
    );
    assert_eq!(
        err(&as_role
            .list_signing_certificates()
            .send()
            .await
            .unwrap_err()),
        want
    );
    assert_eq!(
        err(&as_role
            .upload_signing_certificate()
            .certificate_body(fresh("x").0)
            .send()
            .await
            .unwrap_err()),
        want
    );
    assert_eq!(
        err(&as_role.list_ssh_public_keys().send().await.unwrap_err()),
        want
    );
    // Naming a user works as for anyone allowed.
    as_role
        .list_signing_certificates()
        .user_name("ops")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn ssh_public_keys_lifecycle_and_errors() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    iam.create_user().user_name("dev").send().await.unwrap();
    let k = rsa(2048);
    let line = openssh(&k);
    let up = iam
        .upload_ssh_public_key()
        .user_name("dev")
        .ssh_public_key_body(&line)
        .send()
        .await
        .unwrap();
    let key = up.ssh_public_key().unwrap();
    let id = key.ssh_public_key_id().to_owned();
    assert!(id.starts_with("APKA") && id.len() == 20, "{id}");
    assert_eq!(key.ssh_public_key_body(), line);
    assert_eq!(key.status(), &StatusType::Active);
    // MD5 of the blob, as `ssh-keygen -E md5 -l` prints it.
    let fp = key.fingerprint().to_owned();
    {
        use base64::Engine as _;
        let blob = base64::engine::general_purpose::STANDARD
            .decode(line.split(' ').nth(1).unwrap())
            .unwrap();
        let md5 = openssl::hash::hash(MessageDigest::md5(), &blob).unwrap();
        let want: Vec<String> = md5.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(fp, want.join(":"));
    }
    // The same key as PEM is the same key.
    let spki = String::from_utf8(k.public_key_to_pem().unwrap()).unwrap();
    assert_eq!(
        err(&iam
            .upload_ssh_public_key()
            .user_name("dev")
            .ssh_public_key_body(&spki)
            .send()
            .await
            .unwrap_err()),
        pair(
            "DuplicateSSHPublicKey",
            "The SSH public key is already associated with the specified IAM user."
        )
    );
    // Both encodings on the way out.
    for (enc, want) in [
        (
            EncodingType::Ssh,
            line.trim_end_matches(" me@host").to_owned(),
        ),
        (EncodingType::Pem, spki.clone()),
    ] {
        let got = iam
            .get_ssh_public_key()
            .user_name("dev")
            .ssh_public_key_id(&id)
            .encoding(enc)
            .send()
            .await
            .unwrap();
        let got = got.ssh_public_key().unwrap();
        assert_eq!(got.ssh_public_key_body(), want);
        assert_eq!(got.fingerprint(), fp);
    }
    // Refusals, each with its code.
    let weak = openssh(&rsa(1024));
    let cases = [
        (
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKzvfE+qS09w+okgrO0gY7jryF0lSCxdEO/O0UaUhuZe x"
                .to_owned(),
            "UnrecognizedPublicKeyEncoding",
        ),
        (
            "ssh-dss AAAAB3NzaC1kc3M= x".to_owned(),
            "UnrecognizedPublicKeyEncoding",
        ),
        ("not a key".to_owned(), "InvalidPublicKey"),
        ("ssh-rsa AAAAB3NzaC1yc2E= x".to_owned(), "InvalidPublicKey"),
        (format!("{line}\n{line}"), "InvalidPublicKey"),
        (weak, "InvalidPublicKey"),
    ];
    for (text, code) in cases {
        let e = iam
            .upload_ssh_public_key()
            .user_name("dev")
            .ssh_public_key_body(&text)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err(&e).0, code, "{text:.50}");
    }
    // Five per user.
    for _ in 0..4 {
        iam.upload_ssh_public_key()
            .user_name("dev")
            .ssh_public_key_body(openssh(&rsa(2048)))
            .send()
            .await
            .unwrap();
    }
    assert_eq!(
        err(&iam
            .upload_ssh_public_key()
            .user_name("dev")
            .ssh_public_key_body(openssh(&rsa(2048)))
            .send()
            .await
            .unwrap_err()),
        pair(
            "LimitExceeded",
            "Cannot exceed quota for SSHPublicKeysPerUser: 5"
        )
    );
    let list = iam
        .list_ssh_public_keys()
        .user_name("dev")
        .send()
        .await
        .unwrap();
    assert_eq!(list.ssh_public_keys().len(), 5);
    iam.update_ssh_public_key()
        .user_name("dev")
        .ssh_public_key_id(&id)
        .status(StatusType::Inactive)
        .send()
        .await
        .unwrap();
    let got = iam
        .get_ssh_public_key()
        .user_name("dev")
        .ssh_public_key_id(&id)
        .encoding(EncodingType::Ssh)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.ssh_public_key().unwrap().status(),
        &StatusType::Inactive
    );
    assert_eq!(
        err(&iam.delete_user().user_name("dev").send().await.unwrap_err()),
        pair(
            "DeleteConflict",
            "Cannot delete entity, must delete SSH public keys first."
        )
    );
    iam.create_user().user_name("other").send().await.unwrap();
    assert_eq!(
        err(&iam
            .get_ssh_public_key()
            .user_name("other")
            .ssh_public_key_id(&id)
            .encoding(EncodingType::Ssh)
            .send()
            .await
            .unwrap_err()),
        pair(
            "NoSuchEntity",
            &format!("The Public Key with id {id} cannot be found.")
        )
    );
    for k in list.ssh_public_keys() {
        iam.delete_ssh_public_key()
            .user_name("dev")
            .ssh_public_key_id(k.ssh_public_key_id())
            .send()
            .await
            .unwrap();
    }
    iam.delete_user().user_name("dev").send().await.unwrap();
}

#[tokio::test]
async fn server_certificates_lifecycle_and_errors() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let root_k = rsa(2048);
    let root = cert("Test Root", &root_k, None, now() - DAY, now() + 900 * DAY);
    let mid_k = rsa(2048);
    let mid = cert(
        "Test Mid",
        &mid_k,
        Some((&root, &root_k)),
        now() - DAY,
        now() + 800 * DAY,
    );
    let leaf_k = rsa(2048);
    let not_after = now() + 90 * DAY;
    let leaf = cert(
        "www.example.com",
        &leaf_k,
        Some((&mid, &mid_k)),
        now() - DAY,
        not_after,
    );
    let chain = format!("{}{}", pem(&mid), pem(&root));
    let up = iam
        .upload_server_certificate()
        .server_certificate_name("www")
        .path("/cloudfront/")
        .certificate_body(pem(&leaf))
        .certificate_chain(&chain)
        .private_key(key_pem(&leaf_k))
        .tags(Tag::builder().key("env").value("prod").build().unwrap())
        .send()
        .await
        .unwrap();
    let m = up.server_certificate_metadata().unwrap();
    assert_eq!(
        m.arn(),
        format!("arn:aws:iam::{A}:server-certificate/cloudfront/www")
    );
    assert!(m.server_certificate_id().starts_with("ASCA") && m.server_certificate_id().len() == 21);
    assert_eq!(m.expiration().unwrap().secs(), not_after);
    assert_eq!(up.tags()[0].key(), "env");

    let got = iam
        .get_server_certificate()
        .server_certificate_name("WWW")
        .send()
        .await
        .unwrap();
    let got = got.server_certificate().unwrap();
    assert_eq!(got.certificate_body(), pem(&leaf));
    assert_eq!(got.certificate_chain(), Some(chain.as_str()));
    assert_eq!(
        got.server_certificate_metadata().unwrap().path(),
        "/cloudfront/"
    );

    // Errors.
    let (other_body, other_key) = fresh("other");
    let expired = pem(&cert("old", &leaf_k, None, now() - 9 * DAY, now() - DAY));
    let encrypted = String::from_utf8(
        leaf_k
            .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_128_cbc(), b"pw")
            .unwrap(),
    )
    .unwrap();
    let chain_msg = |i: usize| {
        format!(
            "Unable to validate certificate chain. The certificate chain must start with the immediate signing certificate, followed by any intermediaries in order. The index within the chain of the invalid certificate is: {i}"
        )
    };
    let cases: Vec<(String, Option<String>, String, &str, String)> = vec![
        (pem(&leaf), None, key_pem(&other_key), "KeyPairMismatch", "The private key did not match the public key provided. Please verify the key material and try again.".to_owned()),
        ("not pem".to_owned(), None, key_pem(&leaf_k), "MalformedCertificate", "Unable to parse certificate. Please ensure the certificate is in PEM format.".to_owned()),
        (expired, None, key_pem(&leaf_k), "MalformedCertificate", "The certificate has expired.".to_owned()),
        (pem(&leaf), Some(format!("{}{}", pem(&root), pem(&mid))), key_pem(&leaf_k), "MalformedCertificate", chain_msg(1)),
        (pem(&leaf), Some(format!("{}{}", pem(&mid), pem(&leaf))), key_pem(&leaf_k), "MalformedCertificate", chain_msg(2)),
        (pem(&leaf), Some("junk".to_owned()), key_pem(&leaf_k), "MalformedCertificate", chain_msg(1)),
        (pem(&leaf), None, encrypted, "MalformedCertificate", "Unable to parse private key. Please ensure the private key is an unencrypted key in PEM format.".to_owned()),
        (other_body.clone(), None, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".to_owned(), "MalformedCertificate", "Unable to parse private key. Please ensure the private key is an unencrypted key in PEM format.".to_owned()),
    ];
    for (body, chain, key, code, message) in cases {
        let e = iam
            .upload_server_certificate()
            .server_certificate_name("bad")
            .certificate_body(body)
            .set_certificate_chain(chain)
            .private_key(&key)
            .send()
            .await
            .unwrap_err();
        let (c, m) = err(&e);
        assert_eq!((c.as_str(), m.as_str()), (code, message.as_str()));
        // Whatever went wrong, the key is never repeated.
        assert!(!m.contains("PRIVATE"), "{m}");
    }
    assert_eq!(
        err(&iam
            .upload_server_certificate()
            .server_certificate_name("Www")
            .certificate_body(&other_body)
            .private_key(key_pem(&other_key))
            .send()
            .await
            .unwrap_err()),
        pair(
            "EntityAlreadyExists",
            "The Server Certificate with name Www already exists."
        )
    );

    // List with a path prefix and paging.
    for n in ["a", "b"] {
        let (b, k) = fresh(n);
        iam.upload_server_certificate()
            .server_certificate_name(n)
            .certificate_body(b)
            .private_key(key_pem(&k))
            .send()
            .await
            .unwrap();
    }
    let all = iam.list_server_certificates().send().await.unwrap();
    let names: Vec<_> = all
        .server_certificate_metadata_list()
        .iter()
        .map(|m| m.server_certificate_name())
        .collect();
    assert_eq!(names, ["a", "b", "www"]);
    let cf = iam
        .list_server_certificates()
        .path_prefix("/cloudfront/")
        .send()
        .await
        .unwrap();
    assert_eq!(cf.server_certificate_metadata_list().len(), 1);
    let p1 = iam
        .list_server_certificates()
        .max_items(2)
        .send()
        .await
        .unwrap();
    assert!(p1.is_truncated());
    let p2 = iam
        .list_server_certificates()
        .marker(p1.marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        p2.server_certificate_metadata_list()[0].server_certificate_name(),
        "www"
    );
    assert_eq!(
        err(&iam
            .list_server_certificates()
            .marker("forged")
            .send()
            .await
            .unwrap_err()),
        pair("ValidationError", "Invalid Marker.")
    );

    // Rename and move; the old name is gone, the new one taken names are refused.
    assert_eq!(
        err(&iam
            .update_server_certificate()
            .server_certificate_name("a")
            .new_server_certificate_name("B")
            .send()
            .await
            .unwrap_err()),
        pair(
            "EntityAlreadyExists",
            "The Server Certificate with name B already exists."
        )
    );
    iam.update_server_certificate()
        .server_certificate_name("www")
        .new_server_certificate_name("web")
        .new_path("/elb/")
        .send()
        .await
        .unwrap();
    assert_eq!(
        err(&iam
            .get_server_certificate()
            .server_certificate_name("www")
            .send()
            .await
            .unwrap_err()),
        pair(
            "NoSuchEntity",
            "The Server Certificate with name www cannot be found."
        )
    );
    let moved = iam
        .get_server_certificate()
        .server_certificate_name("web")
        .send()
        .await
        .unwrap();
    let moved = moved
        .server_certificate()
        .unwrap()
        .server_certificate_metadata()
        .unwrap()
        .clone();
    assert_eq!(
        moved.arn(),
        format!("arn:aws:iam::{A}:server-certificate/elb/web")
    );
    assert_eq!(moved.server_certificate_id(), m.server_certificate_id());

    // Tags.
    iam.tag_server_certificate()
        .server_certificate_name("web")
        .tags(Tag::builder().key("team").value("edge").build().unwrap())
        .send()
        .await
        .unwrap();
    iam.untag_server_certificate()
        .server_certificate_name("web")
        .tag_keys("ENV")
        .send()
        .await
        .unwrap();
    let tags = iam
        .list_server_certificate_tags()
        .server_certificate_name("web")
        .send()
        .await
        .unwrap();
    let tags: Vec<_> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags, [("team", "edge")]);
    assert_eq!(
        err(&iam
            .list_server_certificate_tags()
            .server_certificate_name("none")
            .send()
            .await
            .unwrap_err())
        .0,
        "NoSuchEntity"
    );

    let summary = iam.get_account_summary().send().await.unwrap();
    let count =
        summary.summary_map().unwrap()[&aws_sdk_iam::types::SummaryKeyType::ServerCertificates];
    assert_eq!(count, 3);

    // Authorization: on the certificate's ARN, the listing's `server-certificate/`.
    let u = s.user_with_key("ops").await;
    let ops = s.iam(&u);
    assert_eq!(
        err(&ops
            .get_server_certificate()
            .server_certificate_name("web")
            .send()
            .await
            .unwrap_err())
        .1,
        format!(
            "User: arn:aws:iam::{A}:user/ops is not authorized to perform: iam:GetServerCertificate on resource: arn:aws:iam::{A}:server-certificate/elb/web"
        )
    );
    assert_eq!(
        err(&ops.list_server_certificates().send().await.unwrap_err()).1,
        format!(
            "User: arn:aws:iam::{A}:user/ops is not authorized to perform: iam:ListServerCertificates on resource: arn:aws:iam::{A}:server-certificate/"
        )
    );
    iam.put_user_policy()
        .user_name("ops")
        .policy_name("p")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Action": "iam:*ServerCertificate*", "Resource": format!("arn:aws:iam::{A}:server-certificate/elb/*")}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    ops.get_server_certificate()
        .server_certificate_name("web")
        .send()
        .await
        .unwrap();
    // Moving it out of `/elb/` needs permission on where it goes.
    assert_eq!(
        err(&ops
            .update_server_certificate()
            .server_certificate_name("web")
            .new_path("/other/")
            .send()
            .await
            .unwrap_err())
        .1,
        format!(
            "User: arn:aws:iam::{A}:user/ops is not authorized to perform: iam:UpdateServerCertificate on resource: arn:aws:iam::{A}:server-certificate/other/web"
        )
    );
    ops.delete_server_certificate()
        .server_certificate_name("web")
        .send()
        .await
        .unwrap();
    assert_eq!(
        err(&iam
            .delete_server_certificate()
            .server_certificate_name("web")
            .send()
            .await
            .unwrap_err())
        .0,
        "NoSuchEntity"
    );
}

/// The private key is sealed at rest: the database file does not hold it in the clear.
#[tokio::test]
async fn server_certificate_private_keys_are_sealed_at_rest() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let (body, k) = fresh("sealed");
    let key = key_pem(&k);
    iam.upload_server_certificate()
        .server_certificate_name("sealed")
        .certificate_body(&body)
        .private_key(&key)
        .send()
        .await
        .unwrap();
    let der_b64 = key.lines().nth(1).unwrap().to_owned();
    let mut db = Vec::new();
    for entry in std::fs::read_dir(s.dir.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("tessera.db")
        {
            db.extend(std::fs::read(p).unwrap());
        }
    }
    assert!(!db.is_empty());
    let hay = String::from_utf8_lossy(&db);
    assert!(
        hay.contains("BEGIN CERTIFICATE"),
        "the body is stored as text"
    );
    assert!(!hay.contains(&der_b64), "the private key is stored sealed");
    // The snapshot is rebuilt from the stored (sealed) rows after every write: the key opened
    // with the keyring, the certificate is still served.
    let got = iam
        .get_server_certificate()
        .server_certificate_name("sealed")
        .send()
        .await
        .unwrap();
    assert_eq!(got.server_certificate().unwrap().certificate_body(), body);
}
