//! Why a request was refused, sealed into the refusal itself: every `AccessDenied` that comes
//! from an authorization decision ends with `Encoded authorization failure message: <blob>`,
//! and `sts:DecodeAuthorizationMessage` opens the blob for a principal of the account it
//! belongs to.
//!
//! The decoded document has AWS's shape (`allowed`, `explicitDeny`, `matchedStatements`,
//! `failures`, `context` with the principal, action, resource and condition keys) and says
//! more than AWS does: which check failed (`failures.items[].check`: identity policy, trust
//! policy, permissions boundary, session policy, ExternalId, MFA, credential type, ...) and, for
//! each statement that applied, the policy it sits in, its `Sid` and its position.
//!
//! A blob is sealed with the keyring (AES-256-GCM) and bound to its account, so it opens only
//! there, and only while the key that sealed it is held. A refusal that crosses accounts is
//! described from the caller's side only: it names none of the other account's policies and
//! does not say whether the role exists.
//! See <https://docs.aws.amazon.com/STS/latest/APIReference/API_DecodeAuthorizationMessage.html>.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use crate::credentials::Keyring;
use crate::error::ApiError;
use crate::policy::{Decision, Evaluation, PolicyType, Reason, RequestContext};

/// `EncodedMessage` is at most this long (AWS's limit).
pub(crate) const MAX_ENCODED: usize = 10_240;

/// One refusal, described for the account that may read it.
#[derive(Debug)]
pub(crate) struct Denial<'a> {
    /// The account whose principals may decode it.
    pub(crate) account: &'a str,
    /// What was asked: principal, action, resource and every condition key.
    pub(crate) context: &'a RequestContext,
    /// The evaluator's decision, when a policy decision refused.
    pub(crate) evaluation: Option<&'a Evaluation>,
    /// The check that failed, in words ([`check_of`] for policy decisions).
    pub(crate) check: &'a str,
    /// Why, in a sentence (the evaluator's reason, with what the request lacked).
    pub(crate) reason: &'a str,
    /// Statements of these policy types may be named (the decoding account's own policies).
    pub(crate) reveal: &'a [PolicyType],
}

/// The policy types of the caller's own account: what a cross-account refusal may name.
pub(crate) const CALLER_SIDE: &[PolicyType] = &[
    PolicyType::Identity,
    PolicyType::PermissionsBoundary,
    PolicyType::Session,
];
/// Every policy type: for refusals within one account.
pub(crate) const ALL: &[PolicyType] = &[
    PolicyType::Identity,
    PolicyType::Resource,
    PolicyType::Trust,
    PolicyType::PermissionsBoundary,
    PolicyType::Session,
];

impl Denial<'_> {
    /// The decoded document.
    pub(crate) fn document(&self) -> Value {
        let ctx = self.context;
        let p = ctx.principal();
        let matched: Vec<Value> = self
            .evaluation
            .map(|e| e.matched.as_slice())
            .unwrap_or_default()
            .iter()
            .filter(|m| self.reveal.contains(&m.policy_type))
            .map(|m| {
                json!({
                    "statementId": m.sid.as_deref().unwrap_or(""),
                    "effect": m.effect.to_string().to_ascii_uppercase(),
                    "policyId": m.policy_id,
                    "policyType": m.policy_type.to_string(),
                    "position": m.index,
                })
            })
            .collect();
        let mut keys: Vec<(&str, Vec<&str>)> =
            ctx.keys().map(|(k, v)| (k, v.texts().collect())).collect();
        keys.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let conditions: Vec<Value> = keys
            .into_iter()
            .map(|(k, vs)| {
                let values: Vec<Value> = vs.into_iter().map(|v| json!({ "value": v })).collect();
                json!({ "key": k, "values": { "items": values } })
            })
            .collect();
        let explicit_deny = self
            .evaluation
            .is_some_and(|e| e.decision == Decision::ExplicitDeny);
        json!({
            "allowed": false,
            "explicitDeny": explicit_deny,
            "matchedStatements": { "items": matched },
            "failures": { "items": [ {
                "check": self.check,
                "reason": self.reason,
            } ] },
            "context": {
                "principal": {
                    "id": p.unique_id.as_deref().unwrap_or(""),
                    "arn": p.arn,
                },
                "action": ctx.action(),
                "resource": ctx.resource(),
                "conditions": { "items": conditions },
            },
        })
    }

    /// Seal the document for its account and append it to `err`'s message. A sealing failure
    /// (no randomness) leaves the refusal as it was: the refusal matters, its explanation less.
    pub(crate) fn attach(&self, keyring: &Keyring, err: ApiError) -> ApiError {
        match seal(keyring, self.account, &self.document()) {
            Some(blob) => err.with_encoded_authorization(&blob),
            None => err,
        }
    }
}

/// The check a policy decision failed, named as the decoded message names it.
pub(crate) fn check_of(reason: &Reason) -> &'static str {
    match reason {
        Reason::ExplicitDenyIn(t) | Reason::CrossAccountNeedsBoth(t) => policy_type_name(*t),
        Reason::NoAllowInIdentity => "identity policy",
        Reason::NoAllowInTrust => "trust policy",
        Reason::BoundaryDenied => "permissions boundary",
        Reason::SessionPolicyDenied => "session policy",
        // Allowing reasons never reach a refusal; named for completeness.
        _ => "policy",
    }
}

fn policy_type_name(t: PolicyType) -> &'static str {
    match t {
        PolicyType::Identity => "identity policy",
        PolicyType::Resource => "resource policy",
        PolicyType::Trust => "trust policy",
        PolicyType::PermissionsBoundary => "permissions boundary",
        PolicyType::Session => "session policy",
    }
}

/// Whether a failed check is on the caller's side (its own account's policies).
pub(crate) fn is_caller_side(reason: &Reason) -> bool {
    match reason {
        Reason::ExplicitDenyIn(t) | Reason::CrossAccountNeedsBoth(t) => CALLER_SIDE.contains(t),
        Reason::NoAllowInIdentity | Reason::BoundaryDenied | Reason::SessionPolicyDenied => true,
        _ => false,
    }
}

fn aad(account: &str) -> Vec<u8> {
    let mut a = b"tessera authorization message\0".to_vec();
    a.extend_from_slice(account.as_bytes());
    a
}

/// The decoded document is at most this large (a sealed blob is ours, so this only bounds a
/// bug, never an attacker).
const MAX_DOCUMENT: u64 = 1 << 20;

fn seal(keyring: &Keyring, account: &str, doc: &Value) -> Option<String> {
    use std::io::Write as _;
    let text = serde_json::to_vec(doc).ok()?;
    // Deflated first: condition keys repeat themselves, and the blob travels in a message.
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&text).ok()?;
    let packed = z.finish().ok()?;
    let blob = keyring.seal_blob(&packed, &aad(account)).ok()?;
    let encoded = B64.encode(blob);
    (encoded.len() <= MAX_ENCODED).then_some(encoded)
}

/// Open a blob for `account`: its JSON text, or `None` for anything not sealed by this
/// keyring for that account (tampered, truncated, another account's, a retired key's).
pub(crate) fn open(keyring: &Keyring, account: &str, encoded: &str) -> Option<String> {
    let blob = B64.decode(encoded.trim()).ok()?;
    use std::io::Read as _;
    let packed = keyring.open_blob(&blob, &aad(account)).ok()?;
    let mut text = String::new();
    flate2::read::DeflateDecoder::new(packed.expose_bytes())
        .take(MAX_DOCUMENT)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{PrincipalView, RequestContext};

    fn ctx() -> RequestContext {
        RequestContext::builder(
            PrincipalView::user("arn:aws:iam::111122223333:user/bob", "AIDAEXAMPLE"),
            "iam:ListUsers",
            "arn:aws:iam::111122223333:user/",
        )
        .build()
    }

    #[test]
    fn sealed_for_one_account_opens_only_there() {
        let keyring = Keyring::generate(chrono::Utc::now()).unwrap();
        let c = ctx();
        let d = Denial {
            account: "111122223333",
            context: &c,
            evaluation: None,
            check: "credential type",
            reason: "GetSessionToken credentials without MFA cannot call IAM",
            reveal: ALL,
        };
        let err = d.attach(
            &keyring,
            ApiError::access_denied("User: x is not authorized"),
        );
        let marker = crate::error::ENCODED_AUTHORIZATION_MARKER;
        let (_, blob) = err.message.split_once(marker).unwrap();
        let text = open(&keyring, "111122223333", blob).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["allowed"], false);
        assert_eq!(v["context"]["action"], "iam:ListUsers");
        assert_eq!(v["failures"]["items"][0]["check"], "credential type");
        assert!(open(&keyring, "444455556666", blob).is_none());
        let mut tampered = blob.to_owned();
        tampered.replace_range(10..11, if &blob[10..11] == "A" { "B" } else { "A" });
        assert!(open(&keyring, "111122223333", &tampered).is_none());
        assert!(open(&keyring, "111122223333", "not base64!").is_none());
        assert!(open(&keyring, "111122223333", "").is_none());
        let other = Keyring::generate(chrono::Utc::now()).unwrap();
        assert!(open(&other, "111122223333", blob).is_none());
    }
}
