//! AssumeRoleWithWebIdentity through aws-sdk-rust against a real OIDC issuer on loopback:
//! tokens shaped like GitHub Actions, GitLab CI and Kubernetes service accounts, the SDK's own
//! web identity credentials provider, and the attacks the verifier must refuse.
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
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::idp::{ATTACKER_KEY, TestIdp, b64json, rsa_jwk, rsa_key, sign_rs256};
use common::{Creds, TestServer, code, message};
use serde_json::{Value, json};

const ACCOUNT: &str = "000000000000";

async fn server() -> TestServer {
    TestServer::start_with(|c| c.oidc_allow_http = true).await
}

fn now(s: &TestServer) -> i64 {
    s.clock.now().timestamp()
}

/// Register `idp` with the given client ids, through IAM.
async fn register(s: &TestServer, idp: &TestIdp, client_ids: &[&str]) -> String {
    let iam = s.iam(&s.root);
    let mut req = iam.create_open_id_connect_provider().url(&idp.issuer);
    for c in client_ids {
        req = req.client_id_list(*c);
    }
    req.send()
        .await
        .unwrap()
        .open_id_connect_provider_arn()
        .unwrap()
        .to_owned()
}

/// A role trusting `provider_arn` for web identity under `conditions`.
async fn role(
    s: &TestServer,
    name: &str,
    provider_arn: &str,
    conditions: Value,
    extra: &[&str],
) -> String {
    let mut actions = vec!["sts:AssumeRoleWithWebIdentity"];
    actions.extend_from_slice(extra);
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": actions,
            "Condition": conditions,
        }]
    });
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

async fn login(
    s: &TestServer,
    role_arn: &str,
    token: &str,
) -> Result<
    aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityOutput,
    String,
> {
    s.sts_anonymous()
        .assume_role_with_web_identity()
        .role_arn(role_arn)
        .role_session_name("ci-run-1")
        .web_identity_token(token)
        .send()
        .await
        .map_err(|e| format!("{}: {}", code(&e), message(&e)))
}

fn github_claims(idp: &TestIdp, now: i64, branch: &str) -> Value {
    json!({
        "iss": idp.issuer,
        "aud": "sts.amazonaws.com",
        "sub": format!("repo:octo-org/octo-repo:ref:refs/heads/{branch}"),
        "ref": format!("refs/heads/{branch}"),
        "ref_type": "branch",
        "repository": "octo-org/octo-repo",
        "repository_id": "74",
        "repository_owner": "octo-org",
        "repository_owner_id": "65",
        "repository_visibility": "private",
        "actor": "octocat",
        "actor_id": "12",
        "workflow": "deploy",
        "job_workflow_ref": "octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main",
        "environment": "prod",
        "event_name": "push",
        "run_id": "1",
        "run_number": "1",
        "run_attempt": "1",
        "runner_environment": "github-hosted",
        "jti": "example-id",
        "nbf": now - 5,
        "iat": now - 5,
        "exp": now + 300,
    })
}

#[tokio::test]
async fn github_actions_login_then_signed_calls() {
    let s = server().await;
    let idp = TestIdp::start("").await;
    let provider = register(&s, &idp, &["sts.amazonaws.com"]).await;
    assert_eq!(
        provider,
        format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{}", idp.url())
    );
    let url = idp.url();
    let role_arn = role(
        &s,
        "gha-deploy",
        &provider,
        json!({
            "StringEquals": {format!("{url}:aud"): "sts.amazonaws.com", format!("{url}:environment"): "prod"},
            "StringLike": {format!("{url}:sub"): "repo:octo-org/octo-repo:ref:refs/heads/main"},
        }),
        &[],
    )
    .await;
    let token = idp.rs256(&github_claims(&idp, now(&s), "main"));
    let out = login(&s, &role_arn, &token).await.unwrap();
    assert_eq!(
        out.subject_from_web_identity_token(),
        Some("repo:octo-org/octo-repo:ref:refs/heads/main")
    );
    assert_eq!(out.audience(), Some("sts.amazonaws.com"));
    assert_eq!(out.provider(), Some(provider.as_str()));
    let user = out.assumed_role_user().unwrap();
    assert_eq!(
        user.arn(),
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/gha-deploy/ci-run-1")
    );
    assert!(user.assumed_role_id().starts_with("AROA"));
    assert_eq!(out.packed_policy_size(), Some(0));
    let creds = Creds::from(out.credentials().unwrap());
    // What configure-aws-credentials does next.
    let me = s.sts(&creds).get_caller_identity().send().await.unwrap();
    assert_eq!(me.arn(), Some(user.arn()));
    assert_eq!(me.account(), Some(ACCOUNT));

    // The session carries `<provider>:sub` and `:aud` on: a second role trusts the first only
    // for sessions of this subject.
    let next_trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": role_arn},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {
            format!("{url}:sub"): "repo:octo-org/octo-repo:ref:refs/heads/main",
            format!("{url}:aud"): "sts.amazonaws.com"}}}]});
    let next = s
        .iam(&s.root)
        .create_role()
        .role_name("gha-next")
        .assume_role_policy_document(next_trust.to_string())
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_owned();
    let chained = s
        .sts(&creds)
        .assume_role()
        .role_arn(&next)
        .role_session_name("chained")
        .send()
        .await
        .unwrap();
    assert!(chained.credentials().is_some());

    // Another branch is not trusted; AWS names no reason.
    let other = idp.rs256(&github_claims(&idp, now(&s), "feature"));
    let e = login(&s, &role_arn, &other).await.unwrap_err();
    assert_eq!(
        e,
        "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"
    );
    // Nor is a role that does not exist (same answer).
    let missing = format!("arn:aws:iam::{ACCOUNT}:role/nope");
    let e = login(&s, &missing, &token).await.unwrap_err();
    assert_eq!(
        e,
        "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"
    );
}

#[tokio::test]
async fn gitlab_ci_token() {
    let s = server().await;
    let idp = TestIdp::start("/gitlab").await;
    let provider = register(&s, &idp, &["https://gitlab.example.com"]).await;
    let url = idp.url();
    let role_arn = role(
        &s,
        "gitlab-deploy",
        &provider,
        json!({
            "StringEquals": {format!("{url}:aud"): "https://gitlab.example.com", format!("{url}:ref_protected"): "true"},
            "StringLike": {format!("{url}:sub"): "project_path:mygroup/*:ref_type:branch:ref:main"},
        }),
        &[],
    )
    .await;
    let t = now(&s);
    let claims = |project: &str| {
        json!({
            "iss": idp.issuer, "aud": "https://gitlab.example.com",
            "sub": format!("project_path:{project}:ref_type:branch:ref:main"),
            "namespace_id": "72", "namespace_path": "mygroup", "project_id": "20",
            "project_path": project, "user_id": "1", "user_login": "sample-user",
            "pipeline_id": "574", "pipeline_source": "push", "job_id": "302",
            "ref": "main", "ref_type": "branch", "ref_path": "refs/heads/main", "ref_protected": "true",
            "runner_id": 1, "runner_environment": "gitlab-hosted", "sha": "714a629c",
            "project_visibility": "private", "ci_config_ref_uri": "gitlab.example.com/mygroup/myproject//.gitlab-ci.yml@refs/heads/main",
            "jti": "235b3a54", "iat": t, "nbf": t - 5, "exp": t + 300,
        })
    };
    let out = login(&s, &role_arn, &idp.rs256(&claims("mygroup/myproject")))
        .await
        .unwrap();
    assert_eq!(
        out.subject_from_web_identity_token(),
        Some("project_path:mygroup/myproject:ref_type:branch:ref:main")
    );
    let e = login(&s, &role_arn, &idp.rs256(&claims("othergroup/x")))
        .await
        .unwrap_err();
    assert!(e.starts_with("AccessDenied"), "{e}");
}

/// Condition keys compare case-insensitively: a trust policy may spell `<provider>:<claim>` in
/// any case, and a claim's name may be in any case (non-ASCII ones too).
#[tokio::test]
async fn claim_condition_keys_ignore_case() {
    let s = server().await;
    let idp = TestIdp::start("").await;
    let provider = register(&s, &idp, &["sts.amazonaws.com"]).await;
    let url = idp.url();
    let role_arn = role(
        &s,
        "any-case",
        &provider,
        json!({
            "StringEquals": {
                format!("{}:AUD", url.to_uppercase()): "sts.amazonaws.com",
                format!("{url}:deployment_env"): "prod",
                format!("{url}:ÉQUIPE"): "plateforme",
            },
            "StringLike": {format!("{url}:Sub"): "repo:octo-org/*"},
        }),
        &[],
    )
    .await;
    let t = now(&s);
    let claims = |env: &str, team: &str| {
        json!({
            "iss": idp.issuer, "aud": "sts.amazonaws.com", "sub": "repo:octo-org/octo-repo:ref:refs/heads/main",
            "Deployment_Env": env, "équipe": team, "unrelated": "x",
            "iat": t, "nbf": t - 5, "exp": t + 300,
        })
    };
    login(&s, &role_arn, &idp.rs256(&claims("prod", "plateforme")))
        .await
        .unwrap();
    for (env, team) in [("dev", "plateforme"), ("prod", "autre")] {
        let e = login(&s, &role_arn, &idp.rs256(&claims(env, team)))
            .await
            .unwrap_err();
        assert!(e.starts_with("AccessDenied"), "{env} {team}: {e}");
    }
}

#[tokio::test]
async fn kubernetes_service_account_token_es256() {
    let s = server().await;
    // EKS issuers have a path: oidc.eks.<region>.amazonaws.com/id/<ID>.
    let idp = TestIdp::start("/id/EXAMPLED539D4633E53DE1B71EXAMPLE").await;
    let provider = register(&s, &idp, &["sts.amazonaws.com"]).await;
    let url = idp.url();
    let role_arn = role(
        &s,
        "irsa",
        &provider,
        json!({"StringEquals": {
            format!("{url}:sub"): "system:serviceaccount:payments:api",
            format!("{url}:aud"): "sts.amazonaws.com",
        }}),
        &[],
    )
    .await;
    let t = now(&s);
    let claims = |sa: &str| {
        json!({
            "aud": ["sts.amazonaws.com"], "exp": t + 86_000, "iat": t, "nbf": t,
            "iss": idp.issuer,
            "kubernetes.io": {"namespace": "payments", "pod": {"name": "api-7d9", "uid": "4d2"}, "serviceaccount": {"name": sa, "uid": "9a1"}},
            "sub": format!("system:serviceaccount:payments:{sa}"),
        })
    };
    let out = login(&s, &role_arn, &idp.es256(&claims("api")))
        .await
        .unwrap();
    assert_eq!(
        out.assumed_role_user().unwrap().arn(),
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/irsa/ci-run-1")
    );
    assert!(
        login(&s, &role_arn, &idp.es256(&claims("batch")))
            .await
            .unwrap_err()
            .starts_with("AccessDenied")
    );
}

#[tokio::test]
async fn claims_bring_session_tags_and_source_identity() {
    let s = server().await;
    let idp = TestIdp::start("").await;
    let provider = register(&s, &idp, &["sts.amazonaws.com"]).await;
    let url = idp.url();
    let cond = json!({"StringEquals": {format!("{url}:aud"): "sts.amazonaws.com"}});
    let tagging = role(
        &s,
        "tagging",
        &provider,
        cond.clone(),
        &["sts:TagSession", "sts:SetSourceIdentity"],
    )
    .await;
    let plain = role(&s, "plain", &provider, cond, &[]).await;
    let mut claims = idp.claims(now(&s), "user-1", "sts.amazonaws.com");
    claims["https://aws.amazon.com/tags"] = json!({"principal_tags": {"Project": ["Pegasus"], "CostCenter": ["12"]}, "transitive_tag_keys": ["Project"]});
    claims["https://aws.amazon.com/source_identity"] = json!("alice");
    let token = idp.rs256(&claims);
    let out = login(&s, &tagging, &token).await.unwrap();
    assert_eq!(out.source_identity(), Some("alice"));
    assert!(
        out.packed_policy_size().unwrap() > 0,
        "non-transitive session tags count"
    );
    // Without sts:TagSession in the trust policy the tags are refused.
    let e = login(&s, &plain, &token).await.unwrap_err();
    assert!(e.starts_with("AccessDenied"), "{e}");
    // Tags that break the rules for tags are an invalid token.
    let mut bad = idp.claims(now(&s), "user-2", "sts.amazonaws.com");
    bad["https://aws.amazon.com/tags"] = json!({"principal_tags": {"aws:x": ["y"]}});
    let e = login(&s, &tagging, &idp.rs256(&bad)).await.unwrap_err();
    assert!(e.starts_with("InvalidIdentityToken"), "{e}");
}

#[tokio::test]
async fn the_sdk_web_identity_provider_logs_in_by_itself() {
    let s = server().await;
    let idp = TestIdp::start("").await;
    let provider = register(&s, &idp, &["sts.amazonaws.com"]).await;
    let url = idp.url();
    let role_arn = role(
        &s,
        "sdk",
        &provider,
        json!({"StringEquals": {format!("{url}:sub"): "repo:octo-org/octo-repo:ref:refs/heads/main"}}),
        &[],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(
        &token_file,
        idp.rs256(&github_claims(&idp, now(&s), "main")),
    )
    .unwrap();
    let config_file = dir.path().join("config");
    std::fs::write(
        &config_file,
        format!(
            "[profile ci]\nregion = us-east-1\nrole_arn = {role_arn}\nweb_identity_token_file = {}\nrole_session_name = sdk-run\nendpoint_url = {}\n",
            token_file.display(),
            s.endpoint()
        ),
    )
    .unwrap();
    #[allow(
        deprecated,
        reason = "aws-config still takes these types; their replacements live in aws-runtime, not a dependency here"
    )]
    let files = aws_config::profile::profile_file::ProfileFiles::builder()
        .with_file(
            aws_config::profile::profile_file::ProfileFileKind::Config,
            &config_file,
        )
        .build();
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .profile_files(files)
        .profile_name("ci")
        .load()
        .await;
    let me = aws_sdk_sts::Client::new(&conf)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:sts::{ACCOUNT}:assumed-role/sdk/sdk-run").as_str())
    );
}

/// Every way to forge, stretch or confuse a token ends in AWS's error, never a session.
#[tokio::test]
async fn negative_suite() {
    let s = server().await;
    let idp = TestIdp::start("").await;
    // A second issuer stands in for any URL a token might point tessera at.
    let bystander = TestIdp::start("").await;
    let provider = register(&s, &idp, &["sts.amazonaws.com"]).await;
    let role_arn = role(&s, "target", &provider, json!({}), &[]).await;
    let t = now(&s);
    let good = idp.claims(t, "victim", "sts.amazonaws.com");
    // The reference token works.
    login(&s, &role_arn, &idp.rs256(&good)).await.unwrap();

    let attacker = rsa_key(ATTACKER_KEY);
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v;
        }
        c
    };
    let unsigned = |h: Value| format!("{}.{}.", b64json(&h), b64json(&good));
    // HS256 keyed with the RSA public key (the classic algorithm confusion).
    let hs256 = {
        let input = format!(
            "{}.{}",
            b64json(&json!({"alg":"HS256","kid":"rsa1"})),
            b64json(&good)
        );
        let jwk = idp.rsa_public_jwk("rsa1");
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, jwk.to_string().as_bytes());
        let tag = ring::hmac::sign(&key, input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    };
    let big = "a".repeat(200 * 1024);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "alg none",
            unsigned(json!({"alg":"none"})),
            "InvalidIdentityToken",
        ),
        (
            "alg None",
            unsigned(json!({"alg":"None"})),
            "InvalidIdentityToken",
        ),
        (
            "alg none with a signature",
            format!("{}x", unsigned(json!({"alg":"none"}))),
            "InvalidIdentityToken",
        ),
        ("HS256 with the RSA key", hs256, "InvalidIdentityToken"),
        (
            "attacker key, victim kid",
            sign_rs256(&attacker, &json!({"alg":"RS256","kid":"rsa1"}), &good),
            "InvalidIdentityToken",
        ),
        (
            "embedded jwk",
            sign_rs256(
                &attacker,
                &json!({"alg":"RS256","jwk": rsa_jwk(&attacker, "rsa1")}),
                &good,
            ),
            "InvalidIdentityToken",
        ),
        (
            "jku",
            sign_rs256(
                &attacker,
                &json!({"alg":"RS256","kid":"evil","jku": format!("{}/jwks", bystander.issuer)}),
                &good,
            ),
            "InvalidIdentityToken",
        ),
        (
            "x5u",
            sign_rs256(
                &attacker,
                &json!({"alg":"RS256","kid":"evil","x5u": format!("{}/jwks", bystander.issuer)}),
                &good,
            ),
            "InvalidIdentityToken",
        ),
        (
            "kid traversal",
            sign_rs256(
                &attacker,
                &json!({"alg":"RS256","kid":"../../../../etc/passwd"}),
                &good,
            ),
            "InvalidIdentityToken",
        ),
        (
            "crit",
            idp.rs256_with(
                &json!({"alg":"RS256","kid":"rsa1","crit":["exp"],"exp":1}),
                &good,
            ),
            "InvalidIdentityToken",
        ),
        (
            "nested JWT",
            idp.rs256_with(&json!({"alg":"RS256","kid":"rsa1","cty":"JWT"}), &good),
            "InvalidIdentityToken",
        ),
        (
            "JWE",
            format!(
                "{}.a.b.c.d",
                b64json(&json!({"alg":"RSA-OAEP","enc":"A256GCM"}))
            ),
            "InvalidIdentityToken",
        ),
        (
            "tampered claims",
            {
                let t = idp.rs256(&good);
                let parts: Vec<&str> = t.split('.').collect();
                format!(
                    "{}.{}.{}",
                    parts[0],
                    b64json(&with("sub", json!("admin"))),
                    parts[2]
                )
            },
            "InvalidIdentityToken",
        ),
        (
            "expired",
            idp.rs256(&with("exp", json!(t - 1))),
            "ExpiredTokenException",
        ),
        (
            "nbf in the future",
            idp.rs256(&with("nbf", json!(t + 3600))),
            "IDPRejectedClaim",
        ),
        (
            "iat in the future",
            idp.rs256(&with("iat", json!(t + 3600))),
            "IDPRejectedClaim",
        ),
        (
            "unregistered issuer",
            idp.rs256(&with("iss", json!(bystander.issuer))),
            "InvalidIdentityToken: No OpenIDConnect provider found in your account for",
        ),
        (
            "issuer with a trailing slash",
            idp.rs256(&with("iss", json!(format!("{}/", idp.issuer)))),
            "InvalidIdentityToken: No OpenIDConnect provider found",
        ),
        (
            "missing iss",
            idp.rs256(&with("iss", Value::Null)),
            "InvalidIdentityToken",
        ),
        (
            "iss as a number",
            idp.rs256(&with("iss", json!(1))),
            "InvalidIdentityToken",
        ),
        (
            "wrong aud",
            idp.rs256(&with("aud", json!("someone-else"))),
            "InvalidIdentityToken: Incorrect token audience",
        ),
        (
            "missing aud",
            idp.rs256(&with("aud", Value::Null)),
            "InvalidIdentityToken",
        ),
        (
            "aud as a number",
            idp.rs256(&with("aud", json!(42))),
            "InvalidIdentityToken",
        ),
        (
            "missing sub",
            idp.rs256(&with("sub", Value::Null)),
            "InvalidIdentityToken",
        ),
        (
            "sub as an object",
            idp.rs256(&with("sub", json!({"id": 1}))),
            "InvalidIdentityToken",
        ),
        (
            "missing exp",
            idp.rs256(&with("exp", Value::Null)),
            "InvalidIdentityToken",
        ),
        (
            "exp as a string",
            idp.rs256(&with("exp", json!((t + 600).to_string()))),
            "InvalidIdentityToken",
        ),
        (
            "exp with a fraction",
            idp.rs256(&with("exp", json!((t + 600) as f64 + 0.5))),
            "InvalidIdentityToken",
        ),
        ("200 KB token", big.clone(), "ValidationError"),
        ("not a JWT", "hello world".into(), "InvalidIdentityToken"),
    ];
    for (what, token, want) in &cases {
        let e = login(&s, &role_arn, token)
            .await
            .err()
            .unwrap_or_else(|| panic!("{what}: accepted"));
        assert!(e.starts_with(want), "{what}: {e}");
        assert!(
            !e.contains(&token[..token.len().min(40)]) || token.len() < 40,
            "{what}: echoes the token: {e}"
        );
    }
    assert_eq!(
        bystander.fetches(),
        0,
        "jku/x5u/iss never make tessera fetch"
    );
    assert_eq!(
        bystander
            .shared
            .discovery_hits
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

#[tokio::test]
async fn a_storm_of_unknown_kids_causes_a_handful_of_fetches() {
    let s = server().await;
    let idp = TestIdp::start("").await;
    let provider = register(&s, &idp, &["sts.amazonaws.com"]).await;
    let role_arn = role(&s, "r", &provider, json!({}), &[]).await;
    let good = idp.claims(now(&s), "x", "sts.amazonaws.com");
    login(&s, &role_arn, &idp.rs256(&good)).await.unwrap();
    let before = idp.fetches();
    let mut tasks = Vec::new();
    for i in 0..100 {
        let token = idp.rs256_with(&json!({"alg":"RS256","kid": format!("random-{i}")}), &good);
        let role_arn = role_arn.clone();
        let sts = s.sts_anonymous();
        tasks.push(tokio::spawn(async move {
            sts.assume_role_with_web_identity()
                .role_arn(role_arn)
                .role_session_name("storm")
                .web_identity_token(token)
                .send()
                .await
                .map_err(|e| code(&e))
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap_err(), "InvalidIdentityToken");
    }
    let extra = idp.fetches() - before;
    assert!(extra <= 1, "{extra} key fetches for 100 unknown kids");
    // A key the issuer starts publishing is picked up after the cool-down.
    idp.publish(vec![
        idp.rsa_public_jwk("rsa1"),
        idp.rsa_public_jwk("rotated"),
    ]);
    let rotated = idp.rs256_with(&json!({"alg":"RS256","kid":"rotated"}), &good);
    s.clock.advance(Duration::from_secs(61));
    login(&s, &role_arn, &rotated).await.unwrap();
}

#[tokio::test]
async fn an_unreachable_idp() {
    let s = server().await;
    let idp = TestIdp::start("").await;
    let provider = register(&s, &idp, &["sts.amazonaws.com"]).await;
    let role_arn = role(&s, "r", &provider, json!({}), &[]).await;
    // Registered before the IdP ever answered: fine; the first login fails retryably.
    idp.set(|b| b.down = true);
    let token = |s: &TestServer, sub: &str| {
        let mut c = idp.claims(now(s), sub, "sts.amazonaws.com");
        c["exp"] = json!(now(s) + 3 * 86_400);
        idp.rs256(&c)
    };
    let e = login(&s, &role_arn, &token(&s, "a")).await.unwrap_err();
    assert!(e.starts_with("IDPCommunicationError"), "{e}");
    // Within the back-off, no new fetch.
    let fetched = idp
        .shared
        .discovery_hits
        .load(std::sync::atomic::Ordering::SeqCst);
    let e = login(&s, &role_arn, &token(&s, "b")).await.unwrap_err();
    assert!(e.starts_with("IDPCommunicationError"), "{e}");
    assert_eq!(
        idp.shared
            .discovery_hits
            .load(std::sync::atomic::Ordering::SeqCst),
        fetched
    );
    // Up again: keys are fetched and cached.
    idp.set(|b| b.down = false);
    s.clock.advance(Duration::from_secs(11));
    login(&s, &role_arn, &token(&s, "c")).await.unwrap();
    // Down again, keys stale: cached keys keep working through the grace period...
    idp.set(|b| b.down = true);
    s.clock.advance(Duration::from_secs(3600));
    login(&s, &role_arn, &token(&s, "d")).await.unwrap();
    // ...and not beyond it.
    s.clock.advance(Duration::from_secs(25 * 3600));
    let e = login(&s, &role_arn, &token(&s, "e")).await.unwrap_err();
    assert!(e.starts_with("IDPCommunicationError"), "{e}");
}

#[tokio::test]
async fn misbehaving_idps_are_bounded() {
    let s = server().await;
    for what in ["issuer mismatch", "huge key set", "redirect", "slow"] {
        let idp = TestIdp::start("").await;
        let other = TestIdp::start("").await;
        let provider = register(&s, &idp, &["sts.amazonaws.com"]).await;
        let role_arn = role(
            &s,
            &format!("r-{}", what.replace(' ', "-")),
            &provider,
            json!({}),
            &[],
        )
        .await;
        idp.set(|b| match what {
            "issuer mismatch" => b.issuer_override = Some("https://evil.example".into()),
            "huge key set" => b.huge = true,
            "redirect" => b.redirect_jwks = Some(format!("{}/jwks", other.issuer)),
            _ => b.delay = Some(Duration::from_secs(8)),
        });
        let started = std::time::Instant::now();
        let e = login(
            &s,
            &role_arn,
            &idp.rs256(&idp.claims(now(&s), "x", "sts.amazonaws.com")),
        )
        .await
        .unwrap_err();
        assert!(e.starts_with("IDPCommunicationError"), "{what}: {e}");
        // One fetch attempt (5 s at most for a slow IdP); the SDK's retry of the retryable
        // IDPCommunicationError is answered from the back-off without another.
        assert!(
            started.elapsed() < Duration::from_secs(12),
            "{what}: took {:?}",
            started.elapsed()
        );
        assert_eq!(other.fetches(), 0, "{what}: a redirect was followed");
        let discoveries = idp
            .shared
            .discovery_hits
            .load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(discoveries, 1, "{what}: the retry fetched again");
    }
}

#[tokio::test]
async fn verified_tokens_are_remembered_until_the_keys_change() {
    let s = server().await;
    let idp = TestIdp::start("").await;
    let provider = register(&s, &idp, &["sts.amazonaws.com", "other"]).await;
    let role_arn = role(&s, "r", &provider, json!({}), &[]).await;
    let mut c = idp.claims(now(&s), "x", "sts.amazonaws.com");
    c["exp"] = json!(now(&s) + 7200);
    let token = idp.rs256(&c);
    login(&s, &role_arn, &token).await.unwrap();
    login(&s, &role_arn, &token).await.unwrap();
    // The provider still decides: a client id removed stops the remembered token.
    s.iam(&s.root)
        .remove_client_id_from_open_id_connect_provider()
        .open_id_connect_provider_arn(&provider)
        .client_id("sts.amazonaws.com")
        .send()
        .await
        .unwrap();
    let e = login(&s, &role_arn, &token).await.unwrap_err();
    assert_eq!(e, "InvalidIdentityToken: Incorrect token audience");
    s.iam(&s.root)
        .add_client_id_to_open_id_connect_provider()
        .open_id_connect_provider_arn(&provider)
        .client_id("sts.amazonaws.com")
        .send()
        .await
        .unwrap();
    login(&s, &role_arn, &token).await.unwrap();
    // The issuer rotates its key away; once tessera refetches, the remembered token is dropped.
    idp.publish(vec![idp.rsa_public_jwk("rsa2")]);
    s.clock.advance(Duration::from_secs(16 * 60));
    let fresh = idp.rs256_with(
        &json!({"alg":"RS256","kid":"rsa2"}),
        &idp.claims(now(&s), "y", "sts.amazonaws.com"),
    );
    login(&s, &role_arn, &fresh).await.unwrap();
    let e = login(&s, &role_arn, &token).await.unwrap_err();
    assert!(e.starts_with("InvalidIdentityToken"), "{e}");
}

#[tokio::test]
async fn http_issuers_need_the_operator_to_allow_them() {
    let s = TestServer::start().await;
    let idp = TestIdp::start("").await;
    let e = s
        .iam(&s.root)
        .create_open_id_connect_provider()
        .url(&idp.issuer)
        .client_id_list("sts.amazonaws.com")
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::iam_code(&e), "InvalidInput");
}

#[tokio::test]
async fn bad_parameters() {
    let s = server().await;
    let sts = s.sts_anonymous();
    let e = sts
        .assume_role_with_web_identity()
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/r"))
        .role_session_name("s")
        .web_identity_token("abc")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationError");
    let msg = e
        .as_service_error()
        .and_then(aws_sdk_sts::error::ProvideErrorMetadata::message)
        .unwrap();
    assert!(
        msg.contains("roleSessionName") && msg.contains("webIdentityToken"),
        "{msg}"
    );
    assert!(!msg.contains("'abc'"), "the token is not repeated: {msg}");
    let e = sts
        .assume_role_with_web_identity()
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/r"))
        .role_session_name("ok-name")
        .web_identity_token("abcd.efgh.ijkl")
        .duration_seconds(100)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationError");
}

/// `tessera audit tail` on the server's data dir, as JSON values.
fn audit_records(s: &TestServer) -> Vec<Value> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["audit", "tail", "-n", "1000", "--data-dir"])
        .arg(s.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn the_audit_record_names_the_provider_subject_and_failing_check() {
    let s = server().await;
    let idp = TestIdp::start("").await;
    let provider = register(&s, &idp, &["sts.amazonaws.com"]).await;
    let role_arn = role(&s, "audited", &provider, json!({}), &[]).await;
    let good = idp.claims(now(&s), "workload-7", "sts.amazonaws.com");
    login(&s, &role_arn, &idp.rs256(&good)).await.unwrap();
    let forged = sign_rs256(
        &rsa_key(ATTACKER_KEY),
        &json!({"alg": "RS256", "kid": "rsa1"}),
        &good,
    );
    login(&s, &role_arn, &forged).await.unwrap_err();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let records: Vec<Value> = audit_records(&s)
            .into_iter()
            .filter(|r| r["action"] == "AssumeRoleWithWebIdentity")
            .collect();
        if records.len() >= 2 {
            let ok = records.iter().find(|r| r["outcome"] == "allowed").unwrap();
            assert_eq!(ok["identity_provider"], provider.as_str());
            assert_eq!(ok["subject"], "workload-7");
            assert_eq!(ok["target"], role_arn.as_str());
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
            assert!(reason.contains("signature does not verify"), "{reason}");
            assert!(refused.get("caller").is_none());
            break;
        }
        assert!(std::time::Instant::now() < deadline, "records: {records:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_optional_per_source_limit_throttles_unsigned_calls() {
    let s = TestServer::start_with(|c| {
        c.oidc_allow_http = true;
        c.unsigned_rate_limit_per_source = Some(3);
    })
    .await;
    let client = reqwest::Client::new();
    let mut codes = Vec::new();
    for _ in 0..6 {
        let resp = client
            .post(s.endpoint())
            .header("content-type", "application/x-www-form-urlencoded")
            .body("Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2Fr&RoleSessionName=s1&WebIdentityToken=a.b.c")
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        let code = body
            .split("<Code>")
            .nth(1)
            .and_then(|r| r.split('<').next())
            .unwrap_or("")
            .to_owned();
        codes.push((status, code));
    }
    // A burst of 3, then refused until the bucket refills.
    assert_eq!(
        codes
            .iter()
            .filter(|(_, c)| c == "InvalidIdentityToken")
            .count(),
        3,
        "{codes:?}"
    );
    assert!(
        codes[3..]
            .iter()
            .all(|(st, c)| *st == 400 && c == "Throttling"),
        "{codes:?}"
    );
    // Signed calls are not counted.
    s.sts(&s.root).get_caller_identity().send().await.unwrap();
}

/// A private IdP on https with a certificate of its own CA: refused until the operator trusts
/// that CA with `oidc_ca_file`.
#[tokio::test]
async fn a_private_ca_is_trusted_only_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("idp-ca.pem");
    std::fs::write(&ca, common::idp::TLS_CA).unwrap();
    for trusted in [false, true] {
        let s = TestServer::start_with(|c| {
            if trusted {
                c.oidc_ca_file = Some(ca.clone());
            }
        })
        .await;
        let idp = TestIdp::start_tls("/realms/ci").await;
        assert!(idp.issuer.starts_with("https://localhost:"));
        let provider = register(&s, &idp, &["sts.amazonaws.com"]).await;
        let role_arn = role(&s, "private", &provider, json!({}), &[]).await;
        let token = idp.rs256(&idp.claims(now(&s), "x", "sts.amazonaws.com"));
        let got = login(&s, &role_arn, &token).await;
        if trusted {
            got.unwrap();
        } else {
            let e = got.unwrap_err();
            assert!(e.starts_with("IDPCommunicationError"), "{e}");
        }
    }
}

#[tokio::test]
async fn an_unusable_ca_file_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("not-a-ca.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let config = tessera::config::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        oidc_ca_file: Some(bad),
        ..tessera::config::Config::default()
    };
    let e = tessera::server::spawn(config, tessera::clock::Clock::system())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("oidc_ca_file"), "{e}");
}
