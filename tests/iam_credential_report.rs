//! The credential report through aws-sdk-rust: `GenerateCredentialReport` and
//! `GetCredentialReport`, the CSV checked cell by cell (root, a user with every credential, a
//! bare user), the four-hour rule (`COMPLETE`, `ReportExpired`), `ReportNotPresent`, and who may
//! call them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_iam::types::{ReportFormatType, ReportStateType, StatusType};
use common::{Creds, TestServer, iam_code, totp};
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509Builder, X509NameBuilder};

const A: &str = "000000000000";

const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,\
password_last_changed,password_next_rotation,mfa_active,access_key_1_active,\
access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,\
access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,\
access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,\
cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

/// A self-signed certificate valid from yesterday to in a year.
fn certificate(cn: &str) -> String {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let now = chrono::Utc::now().timestamp();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::from_unix(now - 86_400).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(now + 365 * 86_400).unwrap())
        .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    String::from_utf8(b.build().to_pem().unwrap()).unwrap()
}

/// An SDK time as the report writes it: whole seconds, `+00:00`.
fn at(t: &aws_smithy_types::DateTime) -> String {
    at_secs(t.secs())
}

fn at_secs(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

/// The report's rows by their `user` cell, each row as column → cell; checks the header.
fn parse(csv: &str) -> (Vec<String>, BTreeMap<String, BTreeMap<String, String>>) {
    let mut lines = csv.split('\n');
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header.join(","), HEADER);
    let mut order = Vec::new();
    let mut rows = BTreeMap::new();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), header.len(), "{line}");
        let row: BTreeMap<String, String> = header
            .iter()
            .zip(&cells)
            .map(|(h, c)| ((*h).to_owned(), (*c).to_owned()))
            .collect();
        order.push(cells[0].to_owned());
        rows.insert(cells[0].to_owned(), row);
    }
    (order, rows)
}

/// Check `row` cell by cell against `(column, value)` pairs, which must name every column.
fn check(row: &BTreeMap<String, String>, expected: &[(&str, String)]) {
    assert_eq!(expected.len(), 22);
    for (column, want) in expected {
        assert_eq!(row[*column], *want, "column {column} of {}", row["user"]);
    }
}

fn v(text: &str) -> String {
    text.to_owned()
}

async fn report(iam: &aws_sdk_iam::Client) -> (String, aws_smithy_types::DateTime) {
    let out = iam.get_credential_report().send().await.unwrap();
    assert_eq!(out.report_format(), Some(&ReportFormatType::TextCsv));
    let csv = String::from_utf8(out.content().unwrap().as_ref().to_vec()).unwrap();
    (csv, *out.generated_time().unwrap())
}

#[tokio::test]
async fn report_cells_for_root_and_users() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);

    // Nothing generated yet.
    let e = iam.get_credential_report().send().await.unwrap_err();
    assert_eq!(iam_code(&e), "ReportNotPresent");
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 410);

    iam.update_account_password_policy()
        .max_password_age(90)
        .send()
        .await
        .unwrap();

    // alice: a password, MFA, two keys (the first used, the second inactive), a certificate.
    let alice = iam
        .create_user()
        .user_name("alice")
        .send()
        .await
        .unwrap()
        .user
        .unwrap();
    iam.create_login_profile()
        .user_name("alice")
        .password("Correct-Horse-9")
        .send()
        .await
        .unwrap();
    let (serial, seed) = s.virtual_mfa("alice-phone").await;
    let now = s.clock.now().timestamp();
    iam.enable_mfa_device()
        .user_name("alice")
        .serial_number(&serial)
        .authentication_code1(totp(&seed, now - 60))
        .authentication_code2(totp(&seed, now - 30))
        .send()
        .await
        .unwrap();
    let k1 = iam
        .create_access_key()
        .user_name("alice")
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    s.clock.advance(Duration::from_secs(2));
    let k2 = iam
        .create_access_key()
        .user_name("alice")
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    iam.update_access_key()
        .user_name("alice")
        .access_key_id(k2.access_key_id())
        .status(StatusType::Inactive)
        .send()
        .await
        .unwrap();
    let cert = iam
        .upload_signing_certificate()
        .user_name("alice")
        .certificate_body(certificate("alice"))
        .send()
        .await
        .unwrap()
        .certificate
        .unwrap();
    // A use of the first key, not yet flushed to the database when the report is made.
    let k1_creds = Creds::new(k1.access_key_id(), k1.secret_access_key());
    s.sts_in(&k1_creds, "eu-west-1")
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    let k1_use = iam
        .get_access_key_last_used()
        .access_key_id(k1.access_key_id())
        .send()
        .await
        .unwrap()
        .access_key_last_used
        .unwrap();

    // bob: nothing but the user.
    let bob = iam
        .create_user()
        .user_name("bob")
        .send()
        .await
        .unwrap()
        .user
        .unwrap();

    // The root's own key has been used by every call above (iam, us-east-1).
    let root_user = iam.get_user().send().await.unwrap().user.unwrap();
    let root_key = iam
        .list_access_keys()
        .send()
        .await
        .unwrap()
        .access_key_metadata
        .remove(0);
    let root_use = iam
        .get_access_key_last_used()
        .access_key_id(&s.root.access_key_id)
        .send()
        .await
        .unwrap()
        .access_key_last_used
        .unwrap();

    let generated = iam.generate_credential_report().send().await.unwrap();
    assert_eq!(generated.state(), Some(&ReportStateType::Started));
    assert_eq!(
        generated.description(),
        Some("No report exists. Starting a new report generation task")
    );
    let (csv, _) = report(&iam).await;
    let (order, rows) = parse(&csv);
    assert_eq!(order, ["<root_account>", "alice", "bob"]);

    check(
        &rows["<root_account>"],
        &[
            ("user", v("<root_account>")),
            ("arn", format!("arn:aws:iam::{A}:root")),
            ("user_creation_time", at(root_user.create_date())),
            ("password_enabled", v("not_supported")),
            ("password_last_used", v("no_information")),
            ("password_last_changed", v("not_supported")),
            ("password_next_rotation", v("not_supported")),
            ("mfa_active", v("false")),
            ("access_key_1_active", v("true")),
            (
                "access_key_1_last_rotated",
                at(root_key.create_date().unwrap()),
            ),
            (
                "access_key_1_last_used_date",
                at(root_use.last_used_date().unwrap()),
            ),
            ("access_key_1_last_used_region", v("us-east-1")),
            ("access_key_1_last_used_service", v("iam")),
            ("access_key_2_active", v("false")),
            ("access_key_2_last_rotated", v("N/A")),
            ("access_key_2_last_used_date", v("N/A")),
            ("access_key_2_last_used_region", v("N/A")),
            ("access_key_2_last_used_service", v("N/A")),
            ("cert_1_active", v("false")),
            ("cert_1_last_rotated", v("N/A")),
            ("cert_2_active", v("false")),
            ("cert_2_last_rotated", v("N/A")),
        ],
    );

    let profile = iam
        .get_login_profile()
        .user_name("alice")
        .send()
        .await
        .unwrap()
        .login_profile
        .unwrap();
    let changed = profile.create_date().secs();
    check(
        &rows["alice"],
        &[
            ("user", v("alice")),
            ("arn", format!("arn:aws:iam::{A}:user/alice")),
            ("user_creation_time", at(alice.create_date())),
            ("password_enabled", v("true")),
            ("password_last_used", v("no_information")),
            ("password_last_changed", at_secs(changed)),
            ("password_next_rotation", at_secs(changed + 90 * 86_400)),
            ("mfa_active", v("true")),
            ("access_key_1_active", v("true")),
            ("access_key_1_last_rotated", at(k1.create_date().unwrap())),
            (
                "access_key_1_last_used_date",
                at(k1_use.last_used_date().unwrap()),
            ),
            ("access_key_1_last_used_region", v("eu-west-1")),
            ("access_key_1_last_used_service", v("sts")),
            ("access_key_2_active", v("false")),
            ("access_key_2_last_rotated", at(k2.create_date().unwrap())),
            ("access_key_2_last_used_date", v("N/A")),
            ("access_key_2_last_used_region", v("N/A")),
            ("access_key_2_last_used_service", v("N/A")),
            ("cert_1_active", v("true")),
            ("cert_1_last_rotated", at(cert.upload_date().unwrap())),
            ("cert_2_active", v("false")),
            ("cert_2_last_rotated", v("N/A")),
        ],
    );

    check(
        &rows["bob"],
        &[
            ("user", v("bob")),
            ("arn", format!("arn:aws:iam::{A}:user/bob")),
            ("user_creation_time", at(bob.create_date())),
            ("password_enabled", v("false")),
            ("password_last_used", v("N/A")),
            ("password_last_changed", v("N/A")),
            ("password_next_rotation", v("N/A")),
            ("mfa_active", v("false")),
            ("access_key_1_active", v("false")),
            ("access_key_1_last_rotated", v("N/A")),
            ("access_key_1_last_used_date", v("N/A")),
            ("access_key_1_last_used_region", v("N/A")),
            ("access_key_1_last_used_service", v("N/A")),
            ("access_key_2_active", v("false")),
            ("access_key_2_last_rotated", v("N/A")),
            ("access_key_2_last_used_date", v("N/A")),
            ("access_key_2_last_used_region", v("N/A")),
            ("access_key_2_last_used_service", v("N/A")),
            ("cert_1_active", v("false")),
            ("cert_1_last_rotated", v("N/A")),
            ("cert_2_active", v("false")),
            ("cert_2_last_rotated", v("N/A")),
        ],
    );
}

#[tokio::test]
async fn a_report_is_made_at_most_every_four_hours_and_expires_after() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let first = iam.generate_credential_report().send().await.unwrap();
    assert_eq!(first.state(), Some(&ReportStateType::Started));
    let (csv, generated) = report(&iam).await;
    assert_eq!(parse(&csv).0, ["<root_account>"]);

    // A user made after the report: the report stays the same for four hours.
    iam.create_user().user_name("carol").send().await.unwrap();
    s.clock.advance(Duration::from_secs(4 * 3600 - 1));
    let again = iam.generate_credential_report().send().await.unwrap();
    assert_eq!(again.state(), Some(&ReportStateType::Complete));
    assert_eq!(again.description(), None);
    let (same, same_time) = report(&iam).await;
    assert_eq!((same.as_str(), same_time), (csv.as_str(), generated));

    // Four hours old: expired.
    s.clock.advance(Duration::from_secs(1));
    let e = iam.get_credential_report().send().await.unwrap_err();
    assert_eq!(iam_code(&e), "ReportExpired");
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 410);

    // A new one, with carol.
    let next = iam.generate_credential_report().send().await.unwrap();
    assert_eq!(next.state(), Some(&ReportStateType::Started));
    let (csv, new_time) = report(&iam).await;
    assert_eq!(parse(&csv).0, ["<root_account>", "carol"]);
    assert_eq!(new_time.secs() - generated.secs(), 4 * 3600);
}

#[tokio::test]
async fn who_may_generate_and_get_the_report() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let dave = s.user_with_key("dave").await;
    let as_dave = s.iam(&dave);
    let e = as_dave
        .generate_credential_report()
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "AccessDenied");
    assert!(
        common::iam_message(&e).starts_with(&format!(
            "User: arn:aws:iam::{A}:user/dave is not authorized to perform: iam:GenerateCredentialReport on resource: *"
        )),
        "{}",
        common::iam_message(&e)
    );
    let e = as_dave.get_credential_report().send().await.unwrap_err();
    assert_eq!(iam_code(&e), "AccessDenied");

    iam.attach_user_policy()
        .user_name("dave")
        .policy_arn("arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .send()
        .await
        .unwrap();
    let e = as_dave.get_credential_report().send().await.unwrap_err();
    assert_eq!(iam_code(&e), "ReportNotPresent");
    let out = as_dave.generate_credential_report().send().await.unwrap();
    assert_eq!(out.state(), Some(&ReportStateType::Started));
    let (csv, _) = report(&as_dave).await;
    assert_eq!(parse(&csv).0, ["<root_account>", "dave"]);
    // One report per account: the root sees the same one.
    assert_eq!(report(&iam).await.0, csv);
}
