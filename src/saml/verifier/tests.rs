//! The verification threads under callers that give up.

use crate::saml::saml_idp;

use std::time::Duration;

use super::*;

/// Callers that stop waiting (a request deadline, a closed connection) leave their job
/// running; the next callers wait for a thread instead of finding the channel full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_that_give_up_never_overfill_the_threads() {
    let now: DateTime<Utc> = "2026-03-01T12:00:00Z".parse().unwrap();
    let idp = saml_idp::SamlIdp::okta();
    let spec = saml_idp::Spec::aws(
        now,
        "arn:aws:iam::123456789012:role/dev",
        "arn:aws:iam::123456789012:saml-provider/okta",
        "alice",
    );
    let encoded = idp.response(&spec);
    let provider = Provider {
        entity_id: idp.entity_id.clone(),
        signing_certs: vec![idp.cert_b64.clone()],
        private_keys: Vec::new(),
        encryption_required: false,
    };
    let verifier = Verifier::new(Settings::default(), 1).unwrap();
    let call = || verifier.verify(Wiped::new(encoded.clone()), provider.clone(), now);
    for _ in 0..40 {
        if let Ok(answer) = tokio::time::timeout(Duration::from_micros(100), call()).await {
            assert!(answer.is_ok(), "{answer:?}");
        }
    }
    for _ in 0..3 {
        assert!(call().await.is_ok());
    }
}
