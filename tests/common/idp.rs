//! A test OpenID Connect issuer on `127.0.0.1:0`: discovery document and JWKS, signing tokens
//! with ring (RS256 from a fixture key, ES256 generated), counting every fetch, and able to
//! misbehave (down, slow, huge, wrong issuer, rotated keys).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{self, KeyPair as _};
use serde_json::{Value, json};

pub(crate) const IDP_KEY: &[u8] = include_bytes!("../fixtures/oidc-idp-rsa2048.der");
pub(crate) const ATTACKER_KEY: &[u8] = include_bytes!("../fixtures/oidc-attacker-rsa2048.der");

/// How the issuer behaves right now.
#[derive(Debug, Clone, Default)]
pub(crate) struct Behaviour {
    /// Answer 503 to everything.
    pub down: bool,
    /// Wait this long before answering.
    pub delay: Option<Duration>,
    /// Answer the JWKS with this many bytes of padding.
    pub huge: bool,
    /// Put this issuer in the discovery document instead of the real one.
    pub issuer_override: Option<String>,
    /// Redirect the JWKS request elsewhere.
    pub redirect_jwks: Option<String>,
}

pub(crate) struct Shared {
    pub behaviour: Mutex<Behaviour>,
    pub jwks: Mutex<Value>,
    pub discovery_hits: AtomicUsize,
    pub jwks_hits: AtomicUsize,
    issuer: Mutex<String>,
}

pub(crate) struct TestIdp {
    pub issuer: String,
    pub shared: Arc<Shared>,
    rsa: signature::RsaKeyPair,
    ec: signature::EcdsaKeyPair,
}

pub(crate) fn rsa_key(der: &[u8]) -> signature::RsaKeyPair {
    signature::RsaKeyPair::from_der(der).unwrap()
}

/// The public JWK of an RSA key pair.
pub(crate) fn rsa_jwk(key: &signature::RsaKeyPair, kid: &str) -> Value {
    let c: signature::RsaPublicKeyComponents<Vec<u8>> = key.public().into();
    json!({"kty": "RSA", "use": "sig", "kid": kid, "n": URL_SAFE_NO_PAD.encode(&c.n), "e": URL_SAFE_NO_PAD.encode(&c.e)})
}

fn ec_jwk(key: &signature::EcdsaKeyPair, kid: &str) -> Value {
    // Uncompressed point: 0x04 || x || y.
    let p = key.public_key().as_ref();
    json!({"kty": "EC", "crv": "P-256", "use": "sig", "kid": kid, "x": URL_SAFE_NO_PAD.encode(&p[1..33]), "y": URL_SAFE_NO_PAD.encode(&p[33..65])})
}

pub(crate) fn b64json(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

/// `header.claims.signature` signed RS256 with `key`.
pub(crate) fn sign_rs256(key: &signature::RsaKeyPair, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64json(header), b64json(claims));
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(
        &signature::RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

async fn discovery(State(s): State<Arc<Shared>>) -> axum::response::Response {
    s.discovery_hits.fetch_add(1, Ordering::SeqCst);
    let b = s.behaviour.lock().unwrap().clone();
    if let Some(d) = b.delay {
        tokio::time::sleep(d).await;
    }
    if b.down {
        return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let issuer = b
        .issuer_override
        .unwrap_or_else(|| s.issuer.lock().unwrap().clone());
    let real = s.issuer.lock().unwrap().clone();
    let doc = json!({
        "issuer": issuer,
        "jwks_uri": format!("{real}/jwks"),
        "authorization_endpoint": "urn:kubernetes:programmatic_authorization",
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.to_string(),
    )
        .into_response()
}

async fn jwks(State(s): State<Arc<Shared>>) -> axum::response::Response {
    s.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let b = s.behaviour.lock().unwrap().clone();
    if let Some(d) = b.delay {
        tokio::time::sleep(d).await;
    }
    if b.down {
        return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    if let Some(to) = b.redirect_jwks {
        return (
            axum::http::StatusCode::FOUND,
            [(header::LOCATION, to)],
            String::new(),
        )
            .into_response();
    }
    let mut body = s.jwks.lock().unwrap().clone();
    if b.huge {
        body["padding"] = Value::String("x".repeat(1024 * 1024));
    }
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The test CA that signed [`TLS_CERT`] (for `localhost` and 127.0.0.1).
pub(crate) const TLS_CA: &[u8] = include_bytes!("../fixtures/oidc-tls/ca.pem");
const TLS_CERT: &[u8] = include_bytes!("../fixtures/oidc-tls/server.pem");
const TLS_KEY: &[u8] = include_bytes!("../fixtures/oidc-tls/server.key");

/// Serve `app` over TLS (the fixture certificate) on `listener`.
fn serve_tls(listener: tokio::net::TcpListener, app: Router) {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(TLS_CERT)
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(TLS_KEY).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                .await;
            });
        }
    });
}

impl TestIdp {
    /// An issuer at `http://127.0.0.1:<port><path>` publishing its RSA key (`kid` "rsa1") and an
    /// EC P-256 key (`kid` "ec1").
    pub(crate) async fn start(path: &str) -> TestIdp {
        Self::start_as(path, false).await
    }

    /// As [`TestIdp::start`], at `https://localhost:<port><path>` with a certificate of the test
    /// CA ([`TLS_CA`]).
    pub(crate) async fn start_tls(path: &str) -> TestIdp {
        Self::start_as(path, true).await
    }

    async fn start_as(path: &str, tls: bool) -> TestIdp {
        let rsa = rsa_key(IDP_KEY);
        let rng = SystemRandom::new();
        let pk8 = signature::EcdsaKeyPair::generate_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &rng,
        )
        .unwrap();
        let ec = signature::EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            pk8.as_ref(),
            &rng,
        )
        .unwrap();
        let shared = Arc::new(Shared {
            behaviour: Mutex::new(Behaviour::default()),
            jwks: Mutex::new(json!({"keys": [rsa_jwk(&rsa, "rsa1"), ec_jwk(&ec, "ec1")]})),
            discovery_hits: AtomicUsize::new(0),
            jwks_hits: AtomicUsize::new(0),
            issuer: Mutex::new(String::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let issuer = if tls {
            format!("https://localhost:{}{path}", addr.port())
        } else {
            format!("http://{addr}{path}")
        };
        *shared.issuer.lock().unwrap() = issuer.clone();
        let app = Router::new()
            .route(
                &format!("{path}/.well-known/openid-configuration"),
                get(discovery),
            )
            .route(&format!("{path}/jwks"), get(jwks))
            .with_state(shared.clone());
        if tls {
            serve_tls(listener, app);
        } else {
            tokio::spawn(async move {
                axum::serve(listener, app).await.unwrap();
            });
        }
        TestIdp {
            issuer,
            shared,
            rsa,
            ec,
        }
    }

    /// The provider URL as registered (the issuer without its scheme).
    pub(crate) fn url(&self) -> String {
        self.issuer
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_owned()
    }

    pub(crate) fn set(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.shared.behaviour.lock().unwrap());
    }

    pub(crate) fn fetches(&self) -> usize {
        self.shared.jwks_hits.load(Ordering::SeqCst)
    }

    /// Claims valid for ten minutes from `now` (seconds), audience `aud`.
    pub(crate) fn claims(&self, now: i64, sub: &str, aud: &str) -> Value {
        json!({"iss": self.issuer, "sub": sub, "aud": aud, "iat": now, "nbf": now, "exp": now + 600})
    }

    pub(crate) fn rs256(&self, claims: &Value) -> String {
        sign_rs256(
            &self.rsa,
            &json!({"alg": "RS256", "kid": "rsa1", "typ": "JWT"}),
            claims,
        )
    }

    pub(crate) fn rs256_with(&self, header: &Value, claims: &Value) -> String {
        sign_rs256(&self.rsa, header, claims)
    }

    pub(crate) fn es256(&self, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64json(&json!({"alg": "ES256", "kid": "ec1"})),
            b64json(claims)
        );
        let sig = self
            .ec
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    /// Replace the published keys.
    pub(crate) fn publish(&self, keys: Vec<Value>) {
        *self.shared.jwks.lock().unwrap() = json!({ "keys": keys });
    }

    pub(crate) fn rsa_public_jwk(&self, kid: &str) -> Value {
        rsa_jwk(&self.rsa, kid)
    }
}
