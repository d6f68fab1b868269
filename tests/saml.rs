//! AssumeRoleWithSAML through aws-sdk-rust: providers registered through IAM, responses built
//! and signed as an Okta- or Entra-like IdP sends them (`common/saml_idp.rs`, signed with
//! xmlsec at test time, times from the server's movable clock), the role pair, durations, tags,
//! source identity and `saml:` condition keys; then the attacks the verifier must refuse.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod common;

use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use common::saml_idp::{self, Encryption, SamlIdp, Signing, Spec};
use common::{Creds, TestServer, code, message};
use serde_json::{Value, json};

const ACCOUNT: &str = "000000000000";

type Output = aws_sdk_sts::operation::assume_role_with_saml::AssumeRoleWithSamlOutput;

fn now(s: &TestServer) -> DateTime<Utc> {
    s.clock.now()
}

/// Register `idp`'s metadata as provider `name`, through IAM.
async fn register(s: &TestServer, name: &str, idp: &SamlIdp) -> String {
    s.iam(&s.root)
        .create_saml_provider()
        .name(name)
        .saml_metadata_document(idp.metadata())
        .send()
        .await
        .unwrap()
        .saml_provider_arn()
        .unwrap()
        .to_owned()
}

/// A role trusting `provider_arn` for SAML under `conditions`, plus `extra` actions.
async fn role(
    s: &TestServer,
    name: &str,
    provider_arn: &str,
    conditions: Value,
    extra: &[&str],
) -> String {
    let mut actions = vec!["sts:AssumeRoleWithSAML"];
    actions.extend_from_slice(extra);
    let trust = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": actions,
        "Condition": conditions,
    }]});
    s.iam(&s.root)
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_owned()
}

/// `AssumeRoleWithSAML`; an error as `Code: message`.
async fn login_with(
    s: &TestServer,
    role_arn: &str,
    provider_arn: &str,
    assertion: &str,
    f: impl FnOnce(
        aws_sdk_sts::operation::assume_role_with_saml::builders::AssumeRoleWithSAMLFluentBuilder,
    )
        -> aws_sdk_sts::operation::assume_role_with_saml::builders::AssumeRoleWithSAMLFluentBuilder,
) -> Result<Output, String> {
    let req = s
        .sts_anonymous()
        .assume_role_with_saml()
        .role_arn(role_arn)
        .principal_arn(provider_arn)
        .saml_assertion(assertion);
    f(req)
        .send()
        .await
        .map_err(|e| format!("{}: {}", code(&e), message(&e)))
}

async fn login(
    s: &TestServer,
    role_arn: &str,
    provider_arn: &str,
    assertion: &str,
) -> Result<Output, String> {
    login_with(s, role_arn, provider_arn, assertion, |r| r).await
}

/// The standard setup: Okta registered as `okta`, a role `dev` trusting it.
struct Setup {
    s: TestServer,
    idp: SamlIdp,
    provider: String,
    role: String,
}

async fn setup() -> Setup {
    let s = TestServer::start().await;
    let idp = SamlIdp::okta();
    let provider = register(&s, "okta", &idp).await;
    let role = role(&s, "dev", &provider, json!({}), &[]).await;
    Setup {
        s,
        idp,
        provider,
        role,
    }
}

impl Setup {
    fn spec(&self) -> Spec {
        Spec::aws(now(&self.s), &self.role, &self.provider, "alice")
    }

    async fn login(&self, spec: &Spec) -> Result<Output, String> {
        login(
            &self.s,
            &self.role,
            &self.provider,
            &self.idp.response(spec),
        )
        .await
    }

    async fn login_xml(&self, xml: &str) -> Result<Output, String> {
        login(&self.s, &self.role, &self.provider, &saml_idp::encode(xml)).await
    }
}

fn expiration(out: &Output) -> i64 {
    out.credentials().unwrap().expiration().secs()
}

fn name_qualifier(issuer: &str, provider_name: &str) -> String {
    let d = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        format!("{issuer}{ACCOUNT}/{provider_name}").as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(d.as_ref())
}

// --- what an employee's sign-in does -------------------------------------------------------------

#[tokio::test]
async fn an_okta_response_logs_in_and_the_credentials_work() {
    let t = setup().await;
    assert_eq!(
        t.provider,
        format!("arn:aws:iam::{ACCOUNT}:saml-provider/okta")
    );
    let out = t.login(&t.spec()).await.unwrap();
    assert_eq!(out.subject(), Some("alice@example.com"));
    assert_eq!(out.subject_type(), Some("persistent"));
    assert_eq!(out.issuer(), Some(saml_idp::OKTA_ENTITY));
    // AWS answers the Recipient as the Audience.
    assert_eq!(out.audience(), Some(saml_idp::AWS_ACS));
    assert_eq!(
        out.name_qualifier(),
        Some(name_qualifier(saml_idp::OKTA_ENTITY, "okta").as_str())
    );
    assert_eq!(out.packed_policy_size(), Some(0));
    assert_eq!(out.source_identity(), None);
    let user = out.assumed_role_user().unwrap();
    assert_eq!(
        user.arn(),
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/dev/alice")
    );
    assert!(user.assumed_role_id().starts_with("AROA"));
    assert!(user.assumed_role_id().ends_with(":alice"));
    let default = now(&t.s).timestamp() + 3600;
    assert!((expiration(&out) - default).abs() <= 5, "default 1 hour");
    let creds = Creds::from(out.credentials().unwrap());
    assert!(creds.access_key_id.starts_with("ASIA"));
    let me = t.s.sts(&creds).get_caller_identity().send().await.unwrap();
    assert_eq!(me.arn(), Some(user.arn()));
    assert_eq!(me.account(), Some(ACCOUNT));
}

#[tokio::test]
async fn responses_signed_every_way_and_with_ecdsa_log_in() {
    let t = setup().await;
    for signing in [Signing::Assertion, Signing::Response, Signing::Both] {
        let mut spec = t.spec();
        spec.signing = signing;
        t.login(&spec)
            .await
            .unwrap_or_else(|e| panic!("{signing:?}: {e}"));
    }
    // An Entra-like IdP signing with ECDSA P-256.
    let entra = SamlIdp::p256("https://sts.windows.net/9188040d-6c67-4c5b-b112-36a304b66dad/");
    let provider = register(&t.s, "entra", &entra).await;
    let role = role(&t.s, "entra-dev", &provider, json!({}), &[]).await;
    for signing in [Signing::Assertion, Signing::Response] {
        let mut spec = Spec::aws(now(&t.s), &role, &provider, "bob");
        spec.signing = signing;
        spec.name_id_format = Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into());
        let out = login(&t.s, &role, &provider, &entra.response(&spec))
            .await
            .unwrap_or_else(|e| panic!("ECDSA {signing:?}: {e}"));
        assert_eq!(
            out.subject_type(),
            Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
        );
        assert_eq!(out.issuer(), Some(entra.entity_id.as_str()));
    }
}

#[tokio::test]
async fn the_role_pair_in_either_order_and_only_a_pair_on_offer() {
    let t = setup().await;
    let ops = role(&t.s, "ops", &t.provider, json!({}), &[]).await;
    let mut spec = Spec::new(now(&t.s));
    spec.attr(
        "Role",
        &[
            &format!("{},{}", t.provider, t.role),
            &format!("{ops},{}", t.provider),
        ],
    );
    spec.attr("RoleSessionName", &["alice"]);
    let assertion = t.idp.response(&spec);
    // Either role the IdP offers; provider first or role first.
    login(&t.s, &ops, &t.provider, &assertion).await.unwrap();
    let mut spec2 = spec.clone();
    spec2.response_id = saml_idp::new_id();
    spec2.assertion_id = saml_idp::new_id();
    login(&t.s, &t.role, &t.provider, &t.idp.response(&spec2))
        .await
        .unwrap();
    // A role it does not offer, even one that trusts the provider.
    let other = role(&t.s, "other", &t.provider, json!({}), &[]).await;
    let mut spec3 = spec.clone();
    spec3.assertion_id = saml_idp::new_id();
    let e = login(&t.s, &other, &t.provider, &t.idp.response(&spec3))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        "AccessDenied: Not authorized to perform sts:AssumeRoleWithSAML"
    );
    // A role that does not exist: the same answer.
    let mut spec4 = t.spec();
    let missing = format!("arn:aws:iam::{ACCOUNT}:role/missing");
    spec4.attributes.clear();
    spec4.attr("Role", &[&format!("{missing},{}", t.provider)]);
    spec4.attr("RoleSessionName", &["alice"]);
    let e = login(&t.s, &missing, &t.provider, &t.idp.response(&spec4))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        "AccessDenied: Not authorized to perform sts:AssumeRoleWithSAML"
    );
    // A role that does not trust the provider, though offered.
    let other_provider = register(&t.s, "other-idp", &SamlIdp::okta()).await;
    let stranger = role(&t.s, "stranger", &other_provider, json!({}), &[]).await;
    let mut spec5 = Spec::aws(now(&t.s), &stranger, &t.provider, "alice");
    spec5.signing = Signing::Assertion;
    let e = login(&t.s, &stranger, &t.provider, &t.idp.response(&spec5))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        "AccessDenied: Not authorized to perform sts:AssumeRoleWithSAML"
    );
}

#[tokio::test]
async fn session_names_are_required_and_checked() {
    let t = setup().await;
    let mut spec = Spec::new(now(&t.s));
    spec.attr("Role", &[&format!("{},{}", t.role, t.provider)]);
    assert_eq!(
        t.login(&spec).await.unwrap_err(),
        "InvalidIdentityToken: RoleSessionName is required in AuthnResponse"
    );
    for bad in ["a", "alice smith", &"x".repeat(65)] {
        let mut spec = Spec::new(now(&t.s));
        spec.attr("Role", &[&format!("{},{}", t.role, t.provider)]);
        spec.attr("RoleSessionName", &[bad]);
        assert_eq!(
            t.login(&spec).await.unwrap_err(),
            "InvalidIdentityToken: RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}",
            "{bad}"
        );
    }
}

#[tokio::test]
async fn durations_are_the_shortest_of_what_is_asked_and_allowed() {
    let t = setup().await;
    let at = now(&t.s).timestamp();
    let near = |out: &Output, secs: i64| (expiration(out) - (at + secs)).abs() <= 5;
    // Asked for, within the role's one hour.
    let out = login_with(
        &t.s,
        &t.role,
        &t.provider,
        &t.idp.response(&t.spec()),
        |r| r.duration_seconds(900),
    )
    .await
    .unwrap();
    assert!(near(&out, 900));
    // Past the role's MaxSessionDuration.
    let e = login_with(
        &t.s,
        &t.role,
        &t.provider,
        &t.idp.response(&t.spec()),
        |r| r.duration_seconds(7200),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e,
        "ValidationError: The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    );
    // The SessionDuration attribute shortens.
    let mut spec = t.spec();
    spec.attr("SessionDuration", &["1800"]);
    assert!(near(&t.login(&spec).await.unwrap(), 1800));
    // So does SessionNotOnOrAfter, whichever is earlier.
    let mut spec = t.spec();
    spec.attr("SessionDuration", &["1800"]);
    spec.session_not_on_or_after = Some(now(&t.s) + TimeDelta::minutes(20));
    assert!(near(&t.login(&spec).await.unwrap(), 1200));
    // Never longer than asked.
    let mut spec = t.spec();
    spec.attr("SessionDuration", &["3000"]);
    let out = login_with(&t.s, &t.role, &t.provider, &t.idp.response(&spec), |r| {
        r.duration_seconds(1000)
    })
    .await
    .unwrap();
    assert!(near(&out, 1000));
    // A SessionDuration outside 900..43200.
    let mut spec = t.spec();
    spec.attr("SessionDuration", &["60"]);
    assert!(
        t.login(&spec)
            .await
            .unwrap_err()
            .starts_with("InvalidIdentityToken: SessionDuration")
    );
}

#[tokio::test]
async fn principal_tags_and_transitive_keys_need_tag_session() {
    let t = setup().await;
    let mut spec = t.spec();
    spec.attr("PrincipalTag:Project", &["Pegasus"]);
    spec.attr("PrincipalTag:CostCenter", &["987"]);
    spec.attr("TransitiveTagKeys", &["Project"]);
    // The role trusts the provider, but not for tagging.
    assert_eq!(
        t.login(&spec).await.unwrap_err(),
        "AccessDenied: Not authorized to perform sts:TagSession"
    );
    let tagging = role(
        &t.s,
        "tagging",
        &t.provider,
        json!({"StringEquals": {"aws:RequestTag/Project": "Pegasus"}}),
        &["sts:TagSession"],
    )
    .await;
    let mut spec = Spec::aws(now(&t.s), &tagging, &t.provider, "alice");
    spec.attr("PrincipalTag:Project", &["Pegasus"]);
    spec.attr("PrincipalTag:CostCenter", &["987"]);
    spec.attr("TransitiveTagKeys", &["Project"]);
    let out = login(&t.s, &tagging, &t.provider, &t.idp.response(&spec))
        .await
        .unwrap();
    assert!(out.packed_policy_size().unwrap() > 0);
    let creds = Creds::from(out.credentials().unwrap());
    // The session carries the tags: a role that trusts only Pegasus sessions of `tagging`, and
    // the transitive tag goes on down the chain.
    let next_trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": tagging},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:PrincipalTag/Project": "Pegasus", "aws:PrincipalTag/CostCenter": "987"}}}]});
    let next =
        t.s.iam(&t.s.root)
            .create_role()
            .role_name("pegasus-next")
            .assume_role_policy_document(next_trust.to_string())
            .send()
            .await
            .unwrap()
            .role()
            .unwrap()
            .arn()
            .to_owned();
    t.s.sts(&creds)
        .assume_role()
        .role_arn(&next)
        .role_session_name("chained")
        .send()
        .await
        .unwrap();
    // Tags held to AWS's rules: a transitive key that is not a tag.
    let mut spec = Spec::aws(now(&t.s), &tagging, &t.provider, "alice");
    spec.attr("PrincipalTag:Project", &["Pegasus"]);
    spec.attr("TransitiveTagKeys", &["Team"]);
    let e = login(&t.s, &tagging, &t.provider, &t.idp.response(&spec))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        "InvalidIdentityToken: The specified transitive tag key must be included in the requested tags."
    );
}

#[tokio::test]
async fn source_identity_needs_set_source_identity() {
    let t = setup().await;
    let mut spec = t.spec();
    spec.attr("SourceIdentity", &["alice"]);
    assert_eq!(
        t.login(&spec).await.unwrap_err(),
        "AccessDenied: Not authorized to perform sts:SetSourceIdentity"
    );
    let traced = role(
        &t.s,
        "traced",
        &t.provider,
        json!({}),
        &["sts:SetSourceIdentity"],
    )
    .await;
    let mut spec = Spec::aws(now(&t.s), &traced, &t.provider, "alice");
    spec.attr("SourceIdentity", &["alice"]);
    let out = login(&t.s, &traced, &t.provider, &t.idp.response(&spec))
        .await
        .unwrap();
    assert_eq!(out.source_identity(), Some("alice"));
    let mut spec = Spec::aws(now(&t.s), &traced, &t.provider, "alice");
    spec.attr("SourceIdentity", &["aws:admin"]);
    assert_eq!(
        login(&t.s, &traced, &t.provider, &t.idp.response(&spec))
            .await
            .unwrap_err(),
        "InvalidIdentityToken: Source Identity must match [a-zA-Z_0-9+=,.@-]{2,64} and not begin with \"aws:\""
    );
}

#[tokio::test]
async fn trust_policies_pin_saml_condition_keys() {
    let t = setup().await;
    let nq = name_qualifier(saml_idp::OKTA_ENTITY, "okta");
    let pinned = role(
        &t.s,
        "pinned",
        &t.provider,
        json!({
            "StringEquals": {
                "saml:aud": saml_idp::AWS_ACS,
                "saml:iss": saml_idp::OKTA_ENTITY,
                "saml:sub": "alice@example.com",
                "saml:sub_type": "persistent",
                "saml:namequalifier": nq,
                "saml:doc": format!("{ACCOUNT}/okta"),
            },
            "ForAnyValue:StringEquals": {"saml:edupersonaffiliation": ["faculty", "staff"]},
        }),
        &[],
    )
    .await;
    let with_affiliation = |affiliation: &str, name_id: &str| {
        let mut spec = Spec::aws(now(&t.s), &pinned, &t.provider, "alice");
        spec.name_id = name_id.to_owned();
        spec.raw_attr("urn:oid:1.3.6.1.4.1.5923.1.1.1.1", &["member", affiliation]);
        spec
    };
    let out = login(
        &t.s,
        &pinned,
        &t.provider,
        &t.idp
            .response(&with_affiliation("staff", "alice@example.com")),
    )
    .await
    .unwrap();
    for (affiliation, name_id) in [
        ("student", "alice@example.com"),
        ("staff", "mallory@example.com"),
    ] {
        let e = login(
            &t.s,
            &pinned,
            &t.provider,
            &t.idp.response(&with_affiliation(affiliation, name_id)),
        )
        .await
        .unwrap_err();
        assert_eq!(
            e, "AccessDenied: Not authorized to perform sts:AssumeRoleWithSAML",
            "{affiliation} {name_id}"
        );
    }
    // saml:sub, saml:sub_type and saml:namequalifier stay with the session.
    let creds = Creds::from(out.credentials().unwrap());
    let next_trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": pinned},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {
            "saml:sub": "alice@example.com", "saml:sub_type": "persistent", "saml:namequalifier": nq}}}]});
    let next =
        t.s.iam(&t.s.root)
            .create_role()
            .role_name("alice-only")
            .assume_role_policy_document(next_trust.to_string())
            .send()
            .await
            .unwrap()
            .role()
            .unwrap()
            .arn()
            .to_owned();
    t.s.sts(&creds)
        .assume_role()
        .role_arn(&next)
        .role_session_name("chained")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn session_policies_narrow_the_session() {
    let t = setup().await;
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
    let out = login_with(
        &t.s,
        &t.role,
        &t.provider,
        &t.idp.response(&t.spec()),
        |r| r.policy(policy.to_string()),
    )
    .await
    .unwrap();
    assert!(out.packed_policy_size().unwrap() > 0);
    let e = login_with(
        &t.s,
        &t.role,
        &t.provider,
        &t.idp.response(&t.spec()),
        |r| r.policy("{not json"),
    )
    .await
    .unwrap_err();
    assert!(e.starts_with("MalformedPolicyDocument: "), "{e}");
}

#[tokio::test]
async fn encrypted_assertions_with_the_providers_private_key() {
    let s = TestServer::start().await;
    let idp = SamlIdp::okta();
    let provider = s
        .iam(&s.root)
        .create_saml_provider()
        .name("okta-encrypted")
        .saml_metadata_document(idp.metadata())
        .add_private_key(saml_idp::ENCRYPTION_KEY)
        .assertion_encryption_mode(aws_sdk_iam::types::AssertionEncryptionModeType::Required)
        .send()
        .await
        .unwrap()
        .saml_provider_arn()
        .unwrap()
        .to_owned();
    let role = role(&s, "secret", &provider, json!({}), &[]).await;
    for (signing, enc) in [
        (Signing::Assertion, Encryption::Aes256Gcm),
        (Signing::Response, Encryption::Aes128Cbc),
    ] {
        let mut spec = Spec::aws(now(&s), &role, &provider, "alice");
        spec.signing = signing;
        spec.encryption = enc;
        let out = login(&s, &role, &provider, &idp.response(&spec))
            .await
            .unwrap_or_else(|e| panic!("{signing:?} {enc:?}: {e}"));
        assert_eq!(out.subject(), Some("alice@example.com"));
    }
    // Required: an assertion in the clear is refused.
    let spec = Spec::aws(now(&s), &role, &provider, "alice");
    let e = login(&s, &role, &provider, &idp.response(&spec))
        .await
        .unwrap_err();
    assert!(e.starts_with("InvalidIdentityToken: "), "{e}");
}

#[tokio::test]
async fn a_response_of_100000_characters_is_admitted() {
    let t = setup().await;
    let mut spec = t.spec();
    // Group memberships up to just under AWS's bound on SAMLAssertion.
    let groups: Vec<String> = (0..2000).map(|i| format!("group-{i:05}")).collect();
    let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
    spec.raw_attr(
        "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
        &refs[..1],
    );
    let mut n = 1;
    let mut encoded = t.idp.response(&spec);
    while encoded.len() < 95_000 {
        n += 50;
        let mut bigger = t.spec();
        bigger.raw_attr(
            "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
            &refs[..n.min(refs.len())],
        );
        spec = bigger;
        encoded = t.idp.response(&spec);
    }
    assert!(encoded.len() <= 100_000, "{}", encoded.len());
    login(&t.s, &t.role, &t.provider, &encoded).await.unwrap();
    // One character more than AWS allows is a validation error, without the assertion in it.
    let e = login(&t.s, &t.role, &t.provider, &"A".repeat(100_001))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        "ValidationError: 1 validation error detected: Value at 'sAMLAssertion' failed to satisfy constraint: Member must have length less than or equal to 100000"
    );
}

// --- what must be refused -------------------------------------------------------------------

#[tokio::test]
async fn an_assertion_is_accepted_once() {
    let t = setup().await;
    let assertion = t.idp.response(&t.spec());
    login(&t.s, &t.role, &t.provider, &assertion).await.unwrap();
    let e = login(&t.s, &t.role, &t.provider, &assertion)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        "InvalidIdentityToken: The SAML assertion has already been used."
    );
    // Also when sent at once, many times.
    let assertion = t.idp.response(&t.spec());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (client, role, provider, a) = (
            t.s.sts_anonymous(),
            t.role.clone(),
            t.provider.clone(),
            assertion.clone(),
        );
        tasks.spawn(async move {
            client
                .assume_role_with_saml()
                .role_arn(role)
                .principal_arn(provider)
                .saml_assertion(a)
                .send()
                .await
                .is_ok()
        });
    }
    let mut won = 0;
    while let Some(ok) = tasks.join_next().await {
        won += usize::from(ok.unwrap());
    }
    assert_eq!(won, 1);
    // The same assertion ID from the same issuer in another response is a replay too.
    let mut spec = t.spec();
    spec.response_id = saml_idp::new_id();
    let first = t.idp.response(&spec);
    spec.response_id = saml_idp::new_id();
    let second = t.idp.response(&spec);
    login(&t.s, &t.role, &t.provider, &first).await.unwrap();
    assert!(login(&t.s, &t.role, &t.provider, &second).await.is_err());
}

#[tokio::test]
async fn times_are_the_servers() {
    let t = setup().await;
    let assertion = t.idp.response(&t.spec());
    // Seven minutes later: AWS's five-minute rule.
    t.s.clock.advance(Duration::from_secs(7 * 60));
    assert_eq!(
        login(&t.s, &t.role, &t.provider, &assertion)
            .await
            .unwrap_err(),
        "ExpiredTokenException: Token must be redeemed within 5 minutes of issuance"
    );
    // Issued ten minutes ahead of the server's clock.
    let mut spec = t.spec();
    spec.issue_instant = now(&t.s) + TimeDelta::minutes(10);
    let e = t.login(&spec).await.unwrap_err();
    assert!(e.starts_with("ExpiredTokenException: "), "{e}");
    // Not valid yet, or no longer, by its Conditions.
    let mut spec = t.spec();
    spec.not_before = Some(now(&t.s) + TimeDelta::minutes(3));
    assert!(
        t.login(&spec)
            .await
            .unwrap_err()
            .starts_with("ExpiredTokenException: ")
    );
    let mut spec = t.spec();
    spec.not_on_or_after = Some(now(&t.s) - TimeDelta::minutes(2));
    assert!(
        t.login(&spec)
            .await
            .unwrap_err()
            .starts_with("ExpiredTokenException: ")
    );
}

#[tokio::test]
async fn negative_suite() {
    let t = setup().await;
    let invalid = |e: &str| e.starts_with("InvalidIdentityToken: ");
    let spec = t.spec();
    let xml = t.idp.response_xml(&spec);
    let a_start = xml.find("<saml:Assertion").unwrap();
    let a_end = xml.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    let signed = xml[a_start..a_end].to_owned();
    let sig_start = xml.find("<ds:Signature").unwrap();
    let sig_end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    // Each case gets a fresh response (its own IDs), mutated.
    let fresh = |f: &dyn Fn(&mut Spec)| {
        let mut s = t.spec();
        f(&mut s);
        t.idp.response_xml(&s)
    };
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "signature stripped",
            format!("{}{}", &xml[..sig_start], &xml[sig_end..]),
            "InvalidIdentityToken: Response signature invalid",
        ),
        (
            "signature emptied",
            {
                let f = fresh(&|_| {});
                let a = f.find("<ds:SignatureValue>").unwrap() + "<ds:SignatureValue>".len();
                let b = f.find("</ds:SignatureValue>").unwrap();
                format!("{}{}", &f[..a], &f[b..])
            },
            "InvalidIdentityToken: Response signature invalid",
        ),
        (
            "tampered NameID",
            fresh(&|_| {}).replacen("alice@example.com", "admin@example.com", 1),
            "InvalidIdentityToken: Response signature invalid",
        ),
        (
            "tampered Role",
            {
                let admin = format!("arn:aws:iam::{ACCOUNT}:role/admin");
                fresh(&|_| {}).replacen(&t.role, &admin, 1)
            },
            "InvalidIdentityToken: Response signature invalid",
        ),
        (
            "attacker key, its certificate in KeyInfo",
            SamlIdp::attacker(saml_idp::OKTA_ENTITY).response_xml(&t.spec()),
            "InvalidIdentityToken: Response signature invalid",
        ),
        (
            "comment injection in NameID",
            {
                let f = fresh(&|s| s.name_id = "alice@example.com.evil.com".into());
                f.replacen("alice@example.com.evil.com", "alice@example.com<!---->.evil.com", 1)
            },
            "InvalidIdentityToken: Your request included an invalid SAML response.",
        ),
        (
            "wrong audience",
            fresh(&|s| s.audiences = vec![vec!["https://evil.example.com".into()]]),
            "InvalidIdentityToken: Response does not contain the required audience.",
        ),
        (
            "missing audience",
            fresh(&|s| s.audiences = vec![]),
            "InvalidIdentityToken: Response does not contain the required audience.",
        ),
        (
            "wrong recipient",
            fresh(&|s| s.recipient = Some("https://evil.example.com/acs".into())),
            "InvalidIdentityToken: Response is not addressed to an accepted endpoint (Recipient or Destination).",
        ),
        (
            "wrong destination",
            fresh(&|s| s.destination = Some("https://evil.example.com/acs".into())),
            "InvalidIdentityToken: Response is not addressed to an accepted endpoint (Recipient or Destination).",
        ),
        (
            "another issuer",
            fresh(&|s| s.issuer = Some("https://evil.example.com".into())),
            "InvalidIdentityToken: Issuer not present in specified provider",
        ),
        (
            "two assertions",
            {
                let f = fresh(&|_| {});
                let a = f.find("<saml:Assertion").unwrap();
                let b = f.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
                let evil = f[a..b].replace("alice@example.com", "admin@example.com");
                format!("{}{evil}{}", &f[..a], &f[a..])
            },
            "InvalidIdentityToken: Your request included an invalid SAML response.",
        ),
        (
            "duplicate IDs",
            {
                let f = fresh(&|_| {});
                let id = f.split("<saml:Assertion").nth(1).unwrap().split("ID=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
                f.replacen("<samlp:Status>", &format!("<samlp:Status ID=\"{id}\">"), 1)
            },
            "InvalidIdentityToken: Your request included an invalid SAML response.",
        ),
        (
            "DOCTYPE with XXE",
            format!(
                "<!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{}",
                fresh(&|_| {}).replacen("alice@example.com", "&xxe;", 1)
            ),
            "InvalidIdentityToken: Your request included an invalid SAML response.",
        ),
        (
            "billion laughs",
            format!(
                "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>{}",
                fresh(&|_| {}).replacen("alice@example.com", "&c;", 1)
            ),
            "InvalidIdentityToken: Your request included an invalid SAML response.",
        ),
        (
            "XSLT transform",
            fresh(&|_| {}).replacen(
                r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#,
                r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"><xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0"/></ds:Transform>"#,
                1,
            ),
            "InvalidIdentityToken: Your request included an invalid SAML response.",
        ),
        (
            "XPath transform",
            fresh(&|_| {}).replacen(
                r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#,
                r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>1</ds:XPath></ds:Transform>"#,
                1,
            ),
            "InvalidIdentityToken: Your request included an invalid SAML response.",
        ),
        (
            "rsa-sha1",
            fresh(&|_| {}).replacen(
                "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
                1,
            ),
            "InvalidIdentityToken: Your request included an invalid SAML response.",
        ),
        (
            "status not Success",
            fresh(&|s| s.status = "urn:oasis:names:tc:SAML:2.0:status:Responder".into()),
            "IDPRejectedClaim: The identity provider (IdP) reported that authentication failed. This might be because the claim is invalid.",
        ),
    ];
    for (name, doc, want) in cases {
        let e = t.login_xml(&doc).await.unwrap_err();
        assert_eq!(e, want, "{name}");
        assert!(!e.contains("passwd") && !e.contains("evil"), "{name}: {e}");
    }
    // The signed assertion wrapped in an Extensions element and another in its place.
    let evil = cut_signature(&signed.replace("alice@example.com", "admin@example.com"));
    let wrapped = xml.replacen(
        &signed,
        &format!("<samlp:Extensions>{signed}</samlp:Extensions>{evil}"),
        1,
    );
    assert!(invalid(&t.login_xml(&wrapped).await.unwrap_err()));
    // Not base64, not XML.
    for junk in ["!!!!", "aGVsbG8gd29ybGQ=", "PHg+PC94Pg=="] {
        assert_eq!(
            login(&t.s, &t.role, &t.provider, junk).await.unwrap_err(),
            "InvalidIdentityToken: Your request included an invalid SAML response.",
            "{junk}"
        );
    }
}

fn cut_signature(xml: &str) -> String {
    let a = xml.find("<ds:Signature").unwrap();
    let b = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    format!("{}{}", &xml[..a], &xml[b..])
}

#[tokio::test]
async fn external_references_are_never_fetched() {
    let t = setup().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let spec = t.spec();
    let xml = t.idp.response_xml(&spec).replacen(
        &format!("URI=\"#{}\"", spec.assertion_id),
        &format!("URI=\"http://127.0.0.1:{port}/evil.xml\""),
        1,
    );
    let e = t.login_xml(&xml).await.unwrap_err();
    assert_eq!(
        e,
        "InvalidIdentityToken: Your request included an invalid SAML response."
    );
    let file = t
        .idp
        .response_xml(&t.spec())
        .replacen("URI=\"#", "URI=\"file:///etc/passwd#", 1);
    assert!(
        t.login_xml(&file)
            .await
            .unwrap_err()
            .starts_with("InvalidIdentityToken: ")
    );
    let dtd = format!(
        "<!DOCTYPE r SYSTEM \"http://127.0.0.1:{port}/evil.dtd\">{}",
        t.idp.response_xml(&t.spec())
    );
    assert!(
        t.login_xml(&dtd)
            .await
            .unwrap_err()
            .starts_with("InvalidIdentityToken: ")
    );
    let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "the listener saw a connection");
}

#[tokio::test]
async fn providers_must_exist_in_the_roles_account() {
    let t = setup().await;
    let missing = format!("arn:aws:iam::{ACCOUNT}:saml-provider/missing");
    let spec = Spec::aws(now(&t.s), &t.role, &missing, "alice");
    let e = login(&t.s, &t.role, &missing, &t.idp.response(&spec))
        .await
        .unwrap_err();
    assert_eq!(e, "InvalidIdentityToken: Specified provider doesn't exist.");
    let elsewhere = "arn:aws:iam::111122223333:saml-provider/okta";
    let e = login(&t.s, &t.role, elsewhere, &t.idp.response(&t.spec()))
        .await
        .unwrap_err();
    assert_eq!(e, "InvalidIdentityToken: Specified provider doesn't exist.");
    // A provider whose metadata names another key.
    let other = register(&t.s, "other", &SamlIdp::p256(saml_idp::OKTA_ENTITY)).await;
    let role = role(&t.s, "other-role", &other, json!({}), &[]).await;
    let spec = Spec::aws(now(&t.s), &role, &other, "alice");
    assert_eq!(
        login(&t.s, &role, &other, &t.idp.response(&spec))
            .await
            .unwrap_err(),
        "InvalidIdentityToken: Response signature invalid"
    );
}

#[tokio::test]
async fn the_audit_record_names_the_provider_subject_and_failing_check() {
    let t = setup().await;
    t.login(&t.spec()).await.unwrap();
    let forged = SamlIdp::attacker(saml_idp::OKTA_ENTITY).response(&t.spec());
    login(&t.s, &t.role, &t.provider, &forged)
        .await
        .unwrap_err();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["audit", "tail", "-n", "1000", "--data-dir"])
            .arg(t.s.dir.path())
            .output()
            .unwrap();
        let records: Vec<Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .filter(|r: &Value| r["action"] == "AssumeRoleWithSAML")
            .collect();
        if records.len() >= 2 {
            let ok = records.iter().find(|r| r["outcome"] == "allowed").unwrap();
            assert_eq!(ok["identity_provider"], t.provider.as_str());
            assert_eq!(ok["subject"], "alice@example.com");
            assert_eq!(ok["target"], t.role.as_str());
            assert_eq!(ok["session_name"], "alice");
            assert!(
                ok["issued_access_key_id"]
                    .as_str()
                    .unwrap()
                    .starts_with("ASIA")
            );
            let refused = records
                .iter()
                .find(|r| r["outcome"] == "InvalidIdentityToken")
                .unwrap();
            let reason = refused["reason"].as_str().unwrap();
            assert!(reason.contains("SAML response refused"), "{reason}");
            assert!(refused.get("caller").is_none());
            break;
        }
        assert!(std::time::Instant::now() < deadline, "records: {records:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_optional_per_source_limit_throttles_saml_calls_too() {
    let s = TestServer::start_with(|c| c.unsigned_rate_limit_per_source = Some(2)).await;
    // Raw requests: the SDK would retry Throttling by itself.
    let client = reqwest::Client::new();
    let mut codes = Vec::new();
    for _ in 0..4 {
        let body = format!(
            "Action=AssumeRoleWithSAML&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A{ACCOUNT}%3Arole%2Fr&PrincipalArn=arn%3Aaws%3Aiam%3A%3A{ACCOUNT}%3Asaml-provider%2Fp&SAMLAssertion=PHg%2BPC94Pg%3D%3D"
        );
        let resp = client
            .post(s.endpoint())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let code = text
            .split("<Code>")
            .nth(1)
            .and_then(|r| r.split('<').next())
            .unwrap_or("")
            .to_owned();
        codes.push((status, code));
    }
    assert_eq!(
        codes,
        [
            (400, "InvalidIdentityToken".to_owned()),
            (400, "InvalidIdentityToken".to_owned()),
            (400, "Throttling".to_owned()),
            (400, "Throttling".to_owned()),
        ]
    );
}

// --- the browser sign-in: POST /saml, as the IdP's HTML form and the role picker post it ----------

/// tessera's own ACS URL in these tests, over plain HTTP (the picker's cookie is then not
/// `__Host-`): the IdP posts the form here.
const OWN_HTTP_ACS: &str = "http://tessera.example.test/saml";

/// A page `/saml` answered.
#[derive(Debug)]
struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Page {
    fn header(&self, name: &str) -> String {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The text between `start` and the next `end`, HTML-unescaped.
    fn between(&self, start: &str, end: &str) -> String {
        let rest = self
            .body
            .split_once(start)
            .unwrap_or_else(|| panic!("no {start} in {}", self.body))
            .1;
        unescape(rest.split_once(end).unwrap().0)
    }

    /// The picker's sealed state.
    fn state(&self) -> String {
        self.between("name=\"SigninState\" value=\"", "\"")
    }

    /// The picker's cookie, as the browser sends it back (`name=value`).
    fn cookie(&self) -> String {
        self.header("set-cookie")
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    }

    /// The credentials of the `export` line.
    fn creds(&self) -> Creds {
        let line = self.between("<pre id=\"env\">", "</pre>");
        let get = |k: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{k}=")))
                .unwrap()
                .to_owned()
        };
        assert!(line.starts_with("export AWS_ACCESS_KEY_ID="), "{line}");
        Creds {
            access_key_id: get("AWS_ACCESS_KEY_ID"),
            secret: get("AWS_SECRET_ACCESS_KEY"),
            token: Some(get("AWS_SESSION_TOKEN")),
        }
    }

    fn assert_hardened(&self) {
        assert!(
            self.header("content-type").starts_with("text/html"),
            "{self:?}"
        );
        assert_eq!(self.header("cache-control"), "no-store");
        assert_eq!(self.header("x-content-type-options"), "nosniff");
        assert_eq!(self.header("referrer-policy"), "no-referrer");
        let csp = self.header("content-security-policy");
        for part in [
            "default-src 'none'",
            "style-src 'sha256-",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(part), "{csp}");
        }
        assert!(!self.body.contains("<script"), "{}", self.body);
    }
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Post `pairs` as an HTML form to `/saml`, with `cookie` if given.
async fn post_form(s: &TestServer, pairs: &[(&str, &str)], cookie: Option<&str>) -> Page {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    post_raw(s, "application/x-www-form-urlencoded", body, cookie).await
}

async fn post_raw(s: &TestServer, content_type: &str, body: String, cookie: Option<&str>) -> Page {
    let mut req = reqwest::Client::new()
        .post(format!("{}/saml", s.endpoint()))
        .header("content-type", content_type)
        .body(body);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let resp = req.send().await.unwrap();
    Page {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.text().await.unwrap(),
    }
}

/// The IdP's post: the response, and a `RelayState` as IdPs add it.
async fn idp_post(s: &TestServer, response: &str) -> Page {
    post_form(
        s,
        &[("SAMLResponse", response), ("RelayState", "https://idp/x")],
        None,
    )
    .await
}

async fn choose(s: &TestServer, state: &str, role: &str, cookie: Option<&str>) -> Page {
    post_form(s, &[("SigninState", state), ("RoleArn", role)], cookie).await
}

/// The setup with a second role `ops` also offered.
async fn two_roles(t: &Setup) -> (String, Spec) {
    let ops = role(&t.s, "ops", &t.provider, json!({}), &[]).await;
    let mut spec = t.spec();
    spec.attr("Role", &[&format!("{ops},{}", t.provider)]);
    (ops, spec)
}

/// The audit records of `/saml` and `AssumeRoleWithSAML`, once there are `n`.
async fn saml_audit(s: &TestServer, n: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["audit", "tail", "-n", "1000", "--data-dir"])
            .arg(s.dir.path())
            .output()
            .unwrap();
        let records: Vec<Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .filter(|r: &Value| r["action"] == "AssumeRoleWithSAML")
            .collect();
        if records.len() >= n {
            return records;
        }
        assert!(std::time::Instant::now() < deadline, "records: {records:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn browser_one_role_goes_straight_to_credentials_that_work() {
    let t = setup().await;
    let response = t.idp.response(&t.spec());
    let page = idp_post(&t.s, &response).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_hardened();
    assert_eq!(page.header("set-cookie"), "", "no picker, no cookie");
    let arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/dev/alice");
    assert_eq!(page.between("<code id=\"arn\">", "</code>"), arn);
    let creds = page.creds();
    assert!(creds.access_key_id.starts_with("ASIA"));
    let profile = page.between("<pre id=\"profile\">", "</pre>");
    assert_eq!(
        profile,
        format!(
            "[dev]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}",
            creds.access_key_id,
            creds.secret,
            creds.token.as_deref().unwrap()
        )
    );
    let expiration = page.between("<time id=\"expiration\" datetime=\"", "\"");
    let expiration = DateTime::parse_from_rfc3339(&expiration).unwrap();
    assert!((expiration.timestamp() - (now(&t.s).timestamp() + 3600)).abs() <= 5);
    let me = t.s.sts(&creds).get_caller_identity().send().await.unwrap();
    assert_eq!(me.arn(), Some(arn.as_str()));

    // The same response again is a replay, in the browser as through the API.
    let again = idp_post(&t.s, &response).await;
    assert_eq!(again.status, 403);
    again.assert_hardened();
    assert_eq!(
        again.between("<p id=\"error\">", "</p>"),
        "The SAML assertion has already been used."
    );
    assert_eq!(
        login(&t.s, &t.role, &t.provider, &response)
            .await
            .unwrap_err(),
        "InvalidIdentityToken: The SAML assertion has already been used."
    );

    let records = saml_audit(&t.s, 2).await;
    let ok = records.iter().find(|r| r["outcome"] == "allowed").unwrap();
    assert_eq!(ok["identity_provider"], t.provider.as_str());
    assert_eq!(ok["subject"], "alice@example.com");
    assert_eq!(ok["target"], t.role.as_str());
    assert_eq!(ok["issued_access_key_id"], creds.access_key_id.as_str());
    assert!(
        records
            .iter()
            .any(|r| r["outcome"] == "InvalidIdentityToken"
                && r["reason"].as_str().unwrap().contains("replay"))
    );
}

#[tokio::test]
async fn browser_several_roles_get_a_picker_and_the_chosen_session() {
    let t = setup().await;
    let (ops, spec) = two_roles(&t).await;
    // A role that trusts the provider but is not offered to this user.
    let admin = role(&t.s, "admin", &t.provider, json!({}), &[]).await;
    let picker = idp_post(&t.s, &t.idp.response(&spec)).await;
    assert_eq!(picker.status, 200, "{}", picker.body);
    picker.assert_hardened();
    assert!(!picker.body.contains("AWS_SECRET_ACCESS_KEY"));
    for arn in [&t.role, &ops] {
        assert!(
            picker
                .body
                .contains(&format!("name=\"RoleArn\" value=\"{arn}\"")),
            "{}",
            picker.body
        );
    }
    assert!(!picker.body.contains(&admin));
    // AWS's ACS URL is https: the cookie is `__Host-`, Secure, HttpOnly, SameSite=Strict.
    let set_cookie = picker.header("set-cookie");
    assert!(
        set_cookie.starts_with("__Host-tessera-saml-csrf=")
            && set_cookie.ends_with("; Path=/; Max-Age=300; HttpOnly; SameSite=Strict; Secure"),
        "{set_cookie}"
    );
    let (state, cookie) = (picker.state(), picker.cookie());
    // Sealed, not just signed: the facts it carries are not readable in it.
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&state)
        .unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("alice"));

    let refused = |p: &Page| {
        assert_eq!(p.status, 403, "{}", p.body);
        p.assert_hardened();
        assert!(!p.body.contains("AWS_SECRET_ACCESS_KEY"));
    };
    // Without the cookie, with another, under the other name, or with the state altered.
    refused(&choose(&t.s, &state, &ops, None).await);
    let other = format!("__Host-tessera-saml-csrf={}", "A".repeat(43));
    refused(&choose(&t.s, &state, &ops, Some(&other)).await);
    let renamed = cookie.replace("__Host-", "");
    refused(&choose(&t.s, &state, &ops, Some(&renamed)).await);
    let mut tampered = state.clone().into_bytes();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    refused(&choose(&t.s, &tampered, &ops, Some(&cookie)).await);
    // A role the state does not offer, though it trusts the provider.
    let not_offered = choose(&t.s, &state, &admin, Some(&cookie)).await;
    refused(&not_offered);
    assert_eq!(
        not_offered.between("<p id=\"error\">", "</p>"),
        "Not authorized to perform sts:AssumeRoleWithSAML"
    );

    // The real choice, with other cookies beside ours.
    let jar = format!("theme=dark; {cookie}");
    let chosen = choose(&t.s, &state, &ops, Some(&jar)).await;
    assert_eq!(chosen.status, 200, "{}", chosen.body);
    chosen.assert_hardened();
    assert!(chosen.header("set-cookie").contains("Max-Age=0"));
    let creds = chosen.creds();
    let me = t.s.sts(&creds).get_caller_identity().send().await.unwrap();
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:sts::{ACCOUNT}:assumed-role/ops/alice").as_str())
    );
    assert!(
        chosen
            .between("<pre id=\"profile\">", "</pre>")
            .starts_with("[ops]\n")
    );

    // A state is used once.
    let reused = choose(&t.s, &state, &t.role, Some(&cookie)).await;
    refused(&reused);
    assert!(reused.body.contains("already used"), "{}", reused.body);
}

#[tokio::test]
async fn browser_picker_states_expire() {
    let t = setup().await;
    let (ops, spec) = two_roles(&t).await;
    let picker = idp_post(&t.s, &t.idp.response(&spec)).await;
    assert_eq!(picker.status, 200, "{}", picker.body);
    t.s.clock.advance(Duration::from_secs(5 * 60 + 1));
    let late = choose(&t.s, &picker.state(), &ops, Some(&picker.cookie())).await;
    assert_eq!(late.status, 403, "{}", late.body);
    assert!(late.body.contains("expired"), "{}", late.body);
}

#[tokio::test]
async fn browser_own_http_acs_url_gets_a_plain_cookie() {
    let s = TestServer::start_with(|c| c.saml_acs_urls = vec![OWN_HTTP_ACS.to_owned()]).await;
    let idp = SamlIdp::okta();
    let provider = register(&s, "okta", &idp).await;
    let dev = role(&s, "dev", &provider, json!({}), &[]).await;
    let ops = role(&s, "ops", &provider, json!({}), &[]).await;
    let mut spec = Spec::aws(now(&s), &dev, &provider, "alice");
    spec.attr("Role", &[&format!("{provider},{ops}")]);
    spec.recipient = Some(OWN_HTTP_ACS.to_owned());
    spec.destination = Some(OWN_HTTP_ACS.to_owned());
    let picker = idp_post(&s, &idp.response(&spec)).await;
    assert_eq!(picker.status, 200, "{}", picker.body);
    let cookie = picker.cookie();
    assert!(cookie.starts_with("tessera-saml-csrf="), "{cookie}");
    assert!(!picker.header("set-cookie").contains("Secure"));
    // A plain cookie's state does not take a `__Host-` cookie of the same value.
    let hosted = format!("__Host-{cookie}");
    let page = choose(&s, &picker.state(), &ops, Some(&hosted)).await;
    assert_eq!(page.status, 403, "{}", page.body);
    let page = choose(&s, &picker.state(), &ops, Some(&cookie)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.creds();
}

#[tokio::test]
async fn browser_pages_escape_what_the_assertion_says() {
    let t = setup().await;
    let (ops, mut spec) = two_roles(&t).await;
    let evil = r#"<script>alert("x")</script>'&<img src=x onerror=alert(1)>"#;
    spec.name_id = evil.to_owned();
    let picker = idp_post(&t.s, &t.idp.response(&spec)).await;
    assert_eq!(picker.status, 200, "{}", picker.body);
    picker.assert_hardened();
    assert!(!picker.body.contains("<img"), "{}", picker.body);
    assert_eq!(picker.between("<code id=\"subject\">", "</code>"), evil);
    let page = choose(&t.s, &picker.state(), &ops, Some(&picker.cookie())).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_hardened();
    assert!(!page.body.contains("<img"), "{}", page.body);
    assert_eq!(page.between("<code id=\"subject\">", "</code>"), evil);
}

#[tokio::test]
async fn browser_refusals_are_small_pages_with_the_right_status() {
    let t = setup().await;
    let ok = t.idp.response(&t.spec());
    let get = reqwest::get(format!("{}/saml", t.s.endpoint()))
        .await
        .unwrap();
    assert_eq!(get.status().as_u16(), 405);
    assert_eq!(get.headers()["allow"], "POST");
    assert_eq!(get.headers()["cache-control"], "no-store");

    let cases: Vec<(&str, Page, u16)> = vec![
        (
            "not a form",
            post_raw(
                &t.s,
                "application/json",
                format!("{{\"SAMLResponse\":\"{ok}\"}}"),
                None,
            )
            .await,
            400,
        ),
        ("empty form", post_form(&t.s, &[], None).await, 400),
        (
            "both kinds at once",
            post_form(
                &t.s,
                &[
                    ("SAMLResponse", &ok),
                    ("SigninState", "x"),
                    ("RoleArn", &t.role),
                ],
                None,
            )
            .await,
            400,
        ),
        (
            "duplicate field",
            post_raw(
                &t.s,
                "application/x-www-form-urlencoded",
                "SAMLResponse=a&SAMLResponse=b".into(),
                None,
            )
            .await,
            400,
        ),
        ("not base64", idp_post(&t.s, "%%%not base64%%%").await, 400),
        (
            "not a response",
            idp_post(&t.s, &saml_idp::encode("<x/>")).await,
            400,
        ),
        (
            "over 100,000 characters",
            idp_post(&t.s, &"A".repeat(100_004)).await,
            400,
        ),
        (
            "unknown issuer",
            idp_post(
                &t.s,
                &SamlIdp::p256("https://nobody.example").response(&t.spec()),
            )
            .await,
            403,
        ),
        (
            "forged signature",
            idp_post(
                &t.s,
                &SamlIdp::attacker(saml_idp::OKTA_ENTITY).response(&t.spec()),
            )
            .await,
            403,
        ),
        (
            "state without its cookie, garbage",
            choose(&t.s, "garbage", &t.role, Some("tessera-saml-csrf=x")).await,
            403,
        ),
    ];
    for (what, page, status) in cases {
        assert_eq!(page.status, status, "{what}: {}", page.body);
        page.assert_hardened();
        for leak in ["samael", "xmlsec", "pre-filter", "panicked", "refused:"] {
            assert!(!page.body.contains(leak), "{what}: {}", page.body);
        }
    }
    // Nothing above used the good response: it still signs in.
    assert_eq!(idp_post(&t.s, &ok).await.status, 200);
}

#[tokio::test]
async fn browser_admits_a_100000_character_response() {
    let t = setup().await;
    let mut spec = t.spec();
    let filler = "x".repeat(69_500);
    spec.raw_attr("urn:example:filler", &[&filler]);
    let response = t.idp.response(&spec);
    assert!(
        (95_000..=100_000).contains(&response.len()),
        "{}",
        response.len()
    );
    let page = idp_post(&t.s, &response).await;
    assert_eq!(
        page.status,
        200,
        "{}",
        &page.body[..page.body.len().min(500)]
    );
    page.creds();
}

#[tokio::test]
async fn browser_sign_ins_count_against_the_per_source_limit() {
    let s = TestServer::start_with(|c| c.unsigned_rate_limit_per_source = Some(1)).await;
    let first = post_form(&s, &[], None).await;
    assert_eq!(first.status, 400);
    let second = post_form(&s, &[], None).await;
    assert_eq!(second.status, 429, "{}", second.body);
    second.assert_hardened();
}

#[tokio::test]
async fn browser_encrypted_assertions_keep_their_attributes_out_of_the_picker_form() {
    let s = TestServer::start().await;
    let idp = SamlIdp::okta();
    let provider = s
        .iam(&s.root)
        .create_saml_provider()
        .name("okta-encrypted")
        .saml_metadata_document(idp.metadata())
        .add_private_key(saml_idp::ENCRYPTION_KEY)
        .assertion_encryption_mode(aws_sdk_iam::types::AssertionEncryptionModeType::Required)
        .send()
        .await
        .unwrap()
        .saml_provider_arn()
        .unwrap()
        .to_owned();
    // The trust policy reads an attribute only the decrypted assertion shows.
    let mail = "hidden-mail@example.com";
    let pinned = json!({"StringEquals": {"saml:mail": mail}});
    let dev = role(&s, "dev", &provider, pinned.clone(), &[]).await;
    let ops = role(&s, "ops", &provider, pinned, &[]).await;
    let mut spec = Spec::aws(now(&s), &dev, &provider, "alice");
    spec.attr("Role", &[&format!("{ops},{provider}")]);
    spec.raw_attr("urn:oid:0.9.2342.19200300.100.1.3", &[mail]);
    spec.encryption = Encryption::Aes256Gcm;
    let response = idp.response(&spec);
    assert!(
        !String::from_utf8_lossy(
            &base64::engine::general_purpose::STANDARD
                .decode(&response)
                .unwrap()
        )
        .contains(mail)
    );
    let picker = idp_post(&s, &response).await;
    assert_eq!(picker.status, 200, "{}", picker.body);
    assert!(!picker.body.contains(mail), "{}", picker.body);
    let state = picker.state();
    for encoded in [
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&state)
            .unwrap(),
        state.clone().into_bytes(),
    ] {
        assert!(!String::from_utf8_lossy(&encoded).contains("hidden-mail"));
    }
    // The sealed state still carries it to the trust policy.
    let page = choose(&s, &state, &ops, Some(&picker.cookie())).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let me = s
        .sts(&page.creds())
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:sts::{ACCOUNT}:assumed-role/ops/alice").as_str())
    );
}
