//! Requests signed by an independent signer (the `aws-sigv4` crate), for what SDKs never send
//! and for the load bench. Shared by tests and benches (`#[path]`-included).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;

pub(crate) struct Signer<'a> {
    pub access_key_id: &'a str,
    pub secret: &'a str,
    pub token: Option<&'a str>,
    pub region: &'a str,
    pub service: &'a str,
    pub time: SystemTime,
}

impl Signer<'_> {
    fn sign_with(&self, req: &mut http::Request<Vec<u8>>, settings: SigningSettings) {
        let identity = Credentials::new(
            self.access_key_id,
            self.secret,
            self.token.map(str::to_owned),
            None,
            "test",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(self.region)
            .name(self.service)
            .time(self.time)
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let uri = req.uri().to_string();
        let headers: Vec<(String, String)> = req
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        let signable = SignableRequest::new(
            req.method().as_str(),
            &uri,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(req.body()),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        instructions.apply_to_request_http1x(req);
    }

    /// A header-signed `POST /` with a form body.
    pub(crate) fn post_form(&self, endpoint: &str, body: &str) -> http::Request<Vec<u8>> {
        let mut req = http::Request::builder()
            .method("POST")
            .uri(format!("{endpoint}/"))
            .header(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .header("host", host_of(endpoint))
            .body(body.as_bytes().to_vec())
            .unwrap();
        self.sign_with(&mut req, SigningSettings::default());
        req
    }

    /// A header-signed `GET /?<query>`.
    pub(crate) fn get(&self, endpoint: &str, query: &str) -> http::Request<Vec<u8>> {
        let mut req = http::Request::builder()
            .method("GET")
            .uri(format!("{endpoint}/?{query}"))
            .header("host", host_of(endpoint))
            .body(Vec::new())
            .unwrap();
        self.sign_with(&mut req, SigningSettings::default());
        req
    }

    /// A presigned `GET /?<query>` valid for `expires`.
    pub(crate) fn presign_get(
        &self,
        endpoint: &str,
        query: &str,
        expires: Duration,
    ) -> http::Request<Vec<u8>> {
        self.presign("GET", endpoint, query, expires)
    }

    /// A presigned `<method> /?<query>` with an empty body, valid for `expires`.
    pub(crate) fn presign(
        &self,
        method: &str,
        endpoint: &str,
        query: &str,
        expires: Duration,
    ) -> http::Request<Vec<u8>> {
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("{endpoint}/?{query}"))
            .header("host", host_of(endpoint))
            .body(Vec::new())
            .unwrap();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(expires);
        self.sign_with(&mut req, settings);
        req
    }
}

pub(crate) fn host_of(endpoint: &str) -> String {
    endpoint
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_owned()
}

/// Serialize a request as HTTP/1.1 bytes (keep-alive), for raw-socket clients.
pub(crate) fn to_http11_bytes(req: &http::Request<Vec<u8>>) -> Vec<u8> {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let mut out = format!("{} {} HTTP/1.1\r\n", req.method(), path).into_bytes();
    for (k, v) in req.headers() {
        out.extend_from_slice(k.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !req.headers().contains_key("content-length") {
        out.extend_from_slice(format!("content-length: {}\r\n", req.body().len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(req.body());
    out
}

/// Send a request with reqwest; returns (status, x-amzn-requestid header, body).
pub(crate) async fn send(
    client: &reqwest::Client,
    req: http::Request<Vec<u8>>,
) -> (u16, Option<String>, String) {
    let (parts, body) = req.into_parts();
    let mut rb = client
        .request(parts.method, parts.uri.to_string())
        .body(body);
    for (k, v) in &parts.headers {
        if k != "host" {
            rb = rb.header(k, v);
        }
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    let rid = resp
        .headers()
        .get("x-amzn-requestid")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, rid, resp.text().await.unwrap())
}
