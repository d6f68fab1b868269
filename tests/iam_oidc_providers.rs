//! IAM OpenID Connect providers through aws-sdk-rust: lifecycle, client ids, thumbprints, tags,
//! AWS's refusals and quotas, authorization, and ARNs in the signing region's partition.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod common;
use common::{TestServer, iam_code, iam_message};

use aws_sdk_iam::types::Tag;

const ACCOUNT: &str = "000000000000";
const PRINT_A: &str = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";
const PRINT_B: &str = "1c58a3a8518e8759bf075b76b750d4f2df264fcd";

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
async fn provider_lifecycle() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    let created = iam
        .create_open_id_connect_provider()
        .url("https://token.actions.githubusercontent.com")
        .client_id_list("sts.amazonaws.com")
        .client_id_list("other-audience")
        .thumbprint_list(PRINT_A)
        .tags(tag("team", "ci"))
        .send()
        .await
        .unwrap();
    let arn = created.open_id_connect_provider_arn().unwrap().to_owned();
    assert_eq!(
        arn,
        format!("arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com")
    );
    assert_eq!(
        sorted_tags(created.tags()),
        vec![("team".into(), "ci".into())]
    );

    // `Url` comes back without its scheme.
    let got = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(got.url(), Some("token.actions.githubusercontent.com"));
    assert_eq!(
        got.client_id_list(),
        ["sts.amazonaws.com", "other-audience"]
    );
    assert_eq!(got.thumbprint_list(), [PRINT_A]);
    assert!(got.create_date().is_some());
    assert_eq!(sorted_tags(got.tags()), vec![("team".into(), "ci".into())]);

    // A second provider with a path; the list holds both, ARNs only.
    iam.create_open_id_connect_provider()
        .url("https://oidc.eks.us-east-1.amazonaws.com/id/ABCDEF")
        .send()
        .await
        .unwrap();
    let listed = iam.list_open_id_connect_providers().send().await.unwrap();
    let mut arns: Vec<_> = listed
        .open_id_connect_provider_list()
        .iter()
        .map(|e| e.arn().unwrap().to_owned())
        .collect();
    arns.sort();
    assert_eq!(
        arns,
        vec![
            format!(
                "arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABCDEF"
            ),
            arn.clone(),
        ]
    );

    // Client ids: adding one twice keeps it once; removing an absent one succeeds.
    for id in ["third", "third"] {
        iam.add_client_id_to_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .client_id(id)
            .send()
            .await
            .unwrap();
    }
    for id in ["other-audience", "never-added"] {
        iam.remove_client_id_from_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .client_id(id)
            .send()
            .await
            .unwrap();
    }
    // Thumbprints are replaced as a whole.
    iam.update_open_id_connect_provider_thumbprint()
        .open_id_connect_provider_arn(&arn)
        .thumbprint_list(PRINT_B)
        .thumbprint_list(PRINT_A)
        .send()
        .await
        .unwrap();
    let got = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(got.client_id_list(), ["sts.amazonaws.com", "third"]);
    assert_eq!(got.thumbprint_list(), [PRINT_B, PRINT_A]);

    // An empty list is sent as a bare `ThumbprintList=` and clears the thumbprints.
    iam.update_open_id_connect_provider_thumbprint()
        .open_id_connect_provider_arn(&arn)
        .set_thumbprint_list(Some(vec![]))
        .send()
        .await
        .unwrap();
    let got = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .unwrap();
    assert!(got.thumbprint_list().is_empty());

    // Tags: merge case-insensitively, remove, page.
    iam.tag_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .tags(tag("TEAM", "platform"))
        .tags(tag("cost", "7"))
        .send()
        .await
        .unwrap();
    let tags = iam
        .list_open_id_connect_provider_tags()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sorted_tags(tags.tags()),
        vec![
            ("TEAM".into(), "platform".into()),
            ("cost".into(), "7".into())
        ]
    );
    assert!(!tags.is_truncated());
    let first = iam
        .list_open_id_connect_provider_tags()
        .open_id_connect_provider_arn(&arn)
        .max_items(1)
        .send()
        .await
        .unwrap();
    assert_eq!(first.tags().len(), 1);
    assert!(first.is_truncated());
    let rest = iam
        .list_open_id_connect_provider_tags()
        .open_id_connect_provider_arn(&arn)
        .max_items(1)
        .marker(first.marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.tags().len(), 1);
    assert!(!rest.is_truncated());
    assert_ne!(first.tags()[0].key(), rest.tags()[0].key());
    iam.untag_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let tags = iam
        .list_open_id_connect_provider_tags()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(sorted_tags(tags.tags()), vec![("cost".into(), "7".into())]);

    iam.delete_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .unwrap();
    let e = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "NoSuchEntity");
    assert_eq!(
        iam_message(&e),
        format!("OpenIdConnect Provider not found for arn {arn}")
    );
    let e = iam
        .delete_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "NoSuchEntity");
    let e = iam
        .add_client_id_to_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .client_id("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "NoSuchEntity");
    let listed = iam.list_open_id_connect_providers().send().await.unwrap();
    assert_eq!(listed.open_id_connect_provider_list().len(), 1);

    // The URL is free again.
    iam.create_open_id_connect_provider()
        .url("https://token.actions.githubusercontent.com")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn refusals() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    iam.create_open_id_connect_provider()
        .url("https://example.com/tenant")
        .send()
        .await
        .unwrap();
    let e = iam
        .create_open_id_connect_provider()
        .url("https://example.com/tenant")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "EntityAlreadyExists");
    assert_eq!(
        iam_message(&e),
        "Provider with url https://example.com/tenant already exists."
    );
    let raw = e.raw_response().unwrap();
    assert_eq!(raw.status().as_u16(), 409);

    for url in [
        "http://example.com",
        "example.com",
        "https://example.com:port",
        "https://example.com/?q=1",
        "https://example.com/#f",
    ] {
        let e = iam
            .create_open_id_connect_provider()
            .url(url)
            .send()
            .await
            .unwrap_err();
        assert_eq!(iam_code(&e), "InvalidInput", "{url}");
    }

    // A thumbprint is 40 characters (the model), in hex.
    let e = iam
        .create_open_id_connect_provider()
        .url("https://short.example.com")
        .thumbprint_list("abc")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "ValidationError");
    assert_eq!(
        iam_message(&e),
        "1 validation error detected: Value 'abc' at 'thumbprintList.1.member' failed to satisfy constraint: Member must have length greater than or equal to 40"
    );
    let e = iam
        .create_open_id_connect_provider()
        .url("https://hex.example.com")
        .thumbprint_list("z".repeat(40))
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "InvalidInput");

    // At most five thumbprints, on create and on update.
    let six: Vec<String> = (0..6).map(|i| format!("{i}").repeat(40)).collect();
    let e = iam
        .create_open_id_connect_provider()
        .url("https://six.example.com")
        .set_thumbprint_list(Some(six.clone()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "InvalidInput");
    assert_eq!(
        iam_message(&e),
        "Thumbprint list must contain fewer than 5 entries."
    );
    let arn = format!("arn:aws:iam::{ACCOUNT}:oidc-provider/example.com/tenant");
    let e = iam
        .update_open_id_connect_provider_thumbprint()
        .open_id_connect_provider_arn(&arn)
        .set_thumbprint_list(Some(six))
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "InvalidInput");

    // Client ids: 1..255 characters, at most 100 per provider.
    let e = iam
        .add_client_id_to_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .client_id("c".repeat(256))
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "ValidationError");
    for i in 0..100 {
        iam.add_client_id_to_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .client_id(format!("client-{i}"))
            .send()
            .await
            .unwrap();
    }
    let e = iam
        .add_client_id_to_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .client_id("one-too-many")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "LimitExceeded");
    assert_eq!(
        iam_message(&e),
        "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100"
    );
    let e = iam
        .create_open_id_connect_provider()
        .url("https://many.example.com")
        .set_client_id_list(Some((0..101).map(|i| format!("c{i}")).collect()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "LimitExceeded");

    // An ARN that names no provider, or another kind of entity.
    for missing in [
        format!("arn:aws:iam::{ACCOUNT}:oidc-provider/nobody.example.com"),
        format!("arn:aws:iam::{ACCOUNT}:role/not-a-provider"),
        "arn:aws:iam::111111111111:oidc-provider/example.com/tenant".to_owned(),
    ] {
        let e = iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(&missing)
            .send()
            .await
            .unwrap_err();
        assert_eq!(iam_code(&e), "NoSuchEntity", "{missing}");
        assert_eq!(
            iam_message(&e),
            format!("OpenIdConnect Provider not found for arn {missing}")
        );
    }
}

#[tokio::test]
async fn at_most_100_providers_per_account() {
    let s = TestServer::start().await;
    let iam = s.iam(&s.root);
    for i in 0..100 {
        iam.create_open_id_connect_provider()
            .url(format!("https://idp{i}.example.com"))
            .send()
            .await
            .unwrap();
    }
    let e = iam
        .create_open_id_connect_provider()
        .url("https://idp100.example.com")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "LimitExceeded");
    assert_eq!(
        iam_message(&e),
        "Cannot exceed quota for OpenIdConnectProvidersPerAccount: 100"
    );
    let listed = iam.list_open_id_connect_providers().send().await.unwrap();
    assert_eq!(listed.open_id_connect_provider_list().len(), 100);
}

#[tokio::test]
async fn users_need_policies_and_unknown_providers_stay_hidden_from_others() {
    let s = TestServer::start().await;
    let root = s.iam(&s.root);
    let arn = root
        .create_open_id_connect_provider()
        .url("https://example.com")
        .send()
        .await
        .unwrap()
        .open_id_connect_provider_arn()
        .unwrap()
        .to_owned();
    let plain = s.user_with_key("plain").await;
    let iam = s.iam(&plain);
    let e = iam
        .create_open_id_connect_provider()
        .url("https://other.example.com")
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "AccessDenied");
    assert_eq!(
        iam_message(&e),
        format!(
            "User: arn:aws:iam::{ACCOUNT}:user/plain is not authorized to perform: iam:CreateOpenIDConnectProvider on resource: arn:aws:iam::{ACCOUNT}:oidc-provider/other.example.com"
        )
    );
    let e = iam
        .list_open_id_connect_providers()
        .send()
        .await
        .unwrap_err();
    assert_eq!(iam_code(&e), "AccessDenied");
    assert!(
        iam_message(&e).ends_with(&format!(
            "on resource: arn:aws:iam::{ACCOUNT}:oidc-provider/"
        )),
        "{}",
        iam_message(&e)
    );
    // Existing or not, a provider the user may not read is AccessDenied.
    for target in [
        arn.clone(),
        format!("arn:aws:iam::{ACCOUNT}:oidc-provider/nobody.example.com"),
    ] {
        let e = iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(&target)
            .send()
            .await
            .unwrap_err();
        assert_eq!(iam_code(&e), "AccessDenied", "{target}");
    }

    // A policy on the provider's ARN lets the user read it, and nothing else.
    root.put_user_policy()
        .user_name("plain")
        .policy_name("read-oidc")
        .policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"iam:GetOpenIDConnectProvider","Resource":"{arn}"}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    let got = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(got.url(), Some("example.com"));
    let e = iam
        .delete_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
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
        .create_open_id_connect_provider()
        .url("https://example.cn/issuer")
        .client_id_list("sts.amazonaws.com.cn")
        .send()
        .await
        .unwrap();
    let cn_arn = format!("arn:aws-cn:iam::{ACCOUNT}:oidc-provider/example.cn/issuer");
    assert_eq!(
        created.open_id_connect_provider_arn(),
        Some(cn_arn.as_str())
    );
    let listed = cn.list_open_id_connect_providers().send().await.unwrap();
    assert_eq!(
        listed.open_id_connect_provider_list()[0].arn(),
        Some(cn_arn.as_str())
    );

    // The same provider, named in either partition, from either region.
    let aws_arn = format!("arn:aws:iam::{ACCOUNT}:oidc-provider/example.cn/issuer");
    for arn in [&cn_arn, &aws_arn] {
        let got = cn
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .unwrap();
        assert_eq!(got.client_id_list(), ["sts.amazonaws.com.cn"]);
    }
    let listed = s
        .iam(&s.root)
        .list_open_id_connect_providers()
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.open_id_connect_provider_list()[0].arn(),
        Some(aws_arn.as_str())
    );
    let e = cn
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(format!(
            "arn:aws-cn:iam::{ACCOUNT}:oidc-provider/nobody.example.cn"
        ))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        iam_message(&e),
        format!(
            "OpenIdConnect Provider not found for arn arn:aws-cn:iam::{ACCOUNT}:oidc-provider/nobody.example.cn"
        )
    );
}
