//! Owned requests, fixed time, the botocore vectors, and a self-signer for negative cases.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::sigv4::{
    Authorization, RequestParts, SigV4Error, VerifyPolicy, canonical_request, parse, signature,
    signing_key, string_to_sign,
};

/// The vectors' fixed time: 2024-01-15T12:34:56Z.
pub(super) fn now() -> DateTime<Utc> {
    t("20240115T123456Z")
}

pub(super) fn t(iso: &str) -> DateTime<Utc> {
    crate::sigv4::parse::parse_iso_basic(iso).unwrap()
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Owned {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Owned {
    pub(super) fn new(
        method: &str,
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Self {
        Self {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    pub(super) fn with<R>(&self, f: impl FnOnce(&RequestParts<'_>) -> R) -> R {
        let headers: Vec<(&str, &[u8])> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
            .collect();
        let req = RequestParts {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &headers,
            body: &self.body,
        };
        f(&req)
    }

    pub(super) fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
    }

    /// Replace every header of this name with one value (appended if absent).
    pub(super) fn set(&mut self, name: &str, value: &[u8]) -> &mut Self {
        if let Some(pos) = self
            .headers
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
            self.headers
                .insert(pos.min(self.headers.len()), (name.into(), value.to_vec()));
        } else {
            self.headers.push((name.into(), value.to_vec()));
        }
        self
    }

    pub(super) fn add(&mut self, name: &str, value: &[u8]) -> &mut Self {
        self.headers.push((name.into(), value.to_vec()));
        self
    }

    pub(super) fn remove(&mut self, name: &str) -> &mut Self {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self
    }

    pub(super) fn parse(&self) -> Result<Option<Authorization<'static>>, SigV4Error> {
        self.with(|req| parse(req).map(|a| a.map(Authorization::into_owned)))
    }

    /// Both phases, as the integrator runs them.
    pub(super) fn check(
        &self,
        secret: &[u8],
        policy: &VerifyPolicy,
        now: DateTime<Utc>,
    ) -> Result<(), SigV4Error> {
        self.with(|r| {
            let auth = parse(r)?.ok_or(SigV4Error::MissingAuthenticationToken)?;
            crate::sigv4::verify(&auth, r, secret, policy, now)
        })
    }

    /// Sign (header form) with our own stages: put `Authorization` with the given credential and
    /// signed headers, then fill in the real signature. For negative tests only; positive
    /// correctness comes from the independent signers.
    pub(super) fn self_sign_header(
        &mut self,
        secret: &[u8],
        credential: &str,
        signed: &str,
    ) -> &mut Self {
        let dummy = format!(
            "AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={signed}, Signature={}",
            "0".repeat(64)
        );
        self.set("Authorization", dummy.as_bytes());
        let sig = self.compute_signature(secret);
        let real = dummy.replace(&"0".repeat(64), &sig);
        self.set("Authorization", real.as_bytes())
    }

    /// Sign (presigned form): `params` are the `X-Amz-*` pairs (raw, encoded by us) to append
    /// to the query before `X-Amz-Signature`.
    pub(super) fn self_sign_query(&mut self, secret: &[u8], params: &[(&str, &str)]) -> &mut Self {
        let mut q = self.query.clone();
        for (k, v) in params {
            if !q.is_empty() {
                q.push('&');
            }
            q.push_str(&enc(k));
            q.push('=');
            q.push_str(&enc(v));
        }
        self.query = format!("{q}&X-Amz-Signature={}", "0".repeat(64));
        let sig = self.compute_signature(secret);
        self.query = format!("{q}&X-Amz-Signature={sig}");
        self
    }

    fn compute_signature(&self, secret: &[u8]) -> String {
        self.with(|r| {
            let auth = parse(r).unwrap().unwrap();
            let creq = canonical_request(r, &auth).unwrap();
            let sts = string_to_sign(&auth.amz_date(), auth.scope(), &creq);
            let s = auth.scope();
            hex(&signature(
                &signing_key(secret, s.date(), s.region(), s.service()),
                &sts,
            ))
        })
    }
}

pub(super) fn enc(s: &str) -> String {
    let mut out = String::new();
    crate::sigv4::uri_encode(s.as_bytes(), false, &mut out);
    out
}

pub(super) struct Vector {
    pub name: String,
    pub form: String,
    pub req: Owned,
    pub access_key_id: String,
    pub secret: String,
    pub session_token: Option<String>,
    pub region: String,
    pub service: String,
    pub now: DateTime<Utc>,
    pub canonical_request: String,
    pub string_to_sign: String,
    pub signature: String,
}

pub(super) fn botocore_vectors() -> Vec<Vector> {
    let doc: Value =
        serde_json::from_str(include_str!("../../../tests/sigv4_vectors/botocore.json")).unwrap();
    let s = |v: &Value, k: &str| v[k].as_str().unwrap().to_string();
    doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let r = &v["request"];
            let headers = r["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    (
                        h[0].as_str().unwrap().to_string(),
                        h[1].as_str().unwrap().as_bytes().to_vec(),
                    )
                })
                .collect();
            Vector {
                name: s(v, "name"),
                form: s(v, "form"),
                req: Owned {
                    method: s(r, "method"),
                    path: s(r, "path"),
                    query: s(r, "query"),
                    headers,
                    body: s(r, "body").into_bytes(),
                },
                access_key_id: s(v, "access_key_id"),
                secret: s(v, "secret_access_key"),
                session_token: v["session_token"].as_str().map(str::to_string),
                region: s(v, "region"),
                service: s(v, "service"),
                now: t(&s(v, "now")),
                canonical_request: s(v, "canonical_request"),
                string_to_sign: s(v, "string_to_sign"),
                signature: s(v, "signature"),
            }
        })
        .collect()
}

pub(super) fn vector(name: &str) -> Vector {
    botocore_vectors()
        .into_iter()
        .find(|v| v.name == name)
        .unwrap()
}
