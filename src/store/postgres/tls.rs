//! The database URL and TLS to the database, through rustls.
//!
//! `sslmode` follows libpq: `disable` (no TLS), `prefer` (TLS when the server offers it, not
//! authenticated; libpq's default, and ours), `require` (TLS, not authenticated), `verify-ca`
//! (TLS, the server's chain checked against the CA file or the public roots) and `verify-full`
//! (`verify-ca` plus the host name). `sslrootcert=PATH` in the URL, or the `database_ca_file`
//! setting, names the CA file (PEM).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

use crate::store::error::StoreError;

/// TLS settings that do not travel in the URL.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsOptions {
    /// CA certificates (PEM) the server's chain must lead to; `sslrootcert` in the URL wins.
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// The URL as tokio-postgres takes it (without `sslmode`/`sslrootcert`, which are ours), the
/// TLS mode and the CA file it names.
pub(super) fn parse_url(
    url: &str,
) -> Result<(tokio_postgres::Config, Mode, Option<PathBuf>), StoreError> {
    // Never echo the URL: it may carry a password.
    let bad = |what: &str| StoreError::internal(format!("database url: {what}"));
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(bad("must start with postgres:// or postgresql://"));
    }
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut mode = Mode::Prefer;
    let mut root = None;
    let mut rest = Vec::new();
    for pair in query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "sslmode" => {
                mode = match v {
                    "disable" => Mode::Disable,
                    "prefer" | "allow" => Mode::Prefer,
                    "require" => Mode::Require,
                    "verify-ca" => Mode::VerifyCa,
                    "verify-full" => Mode::VerifyFull,
                    _ => {
                        return Err(bad(
                            "sslmode must be disable, prefer, require, verify-ca or verify-full",
                        ));
                    }
                }
            }
            "sslrootcert" => {
                let path = percent_encoding::percent_decode_str(v)
                    .decode_utf8()
                    .map_err(|_| bad("sslrootcert is not UTF-8"))?;
                root = Some(PathBuf::from(path.as_ref()));
            }
            _ => rest.push(pair),
        }
    }
    let clean = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    let mut config: tokio_postgres::Config = clean
        .parse()
        .map_err(|_| bad("not a valid PostgreSQL connection URL"))?;
    config.ssl_mode(match mode {
        Mode::Disable => tokio_postgres::config::SslMode::Disable,
        Mode::Prefer => tokio_postgres::config::SslMode::Prefer,
        _ => tokio_postgres::config::SslMode::Require,
    });
    Ok((config, mode, root))
}

/// Where `config` points, without secrets: `user@host:port/db`.
pub(super) fn describe(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{}:{port}/{}",
        config.get_user().unwrap_or(""),
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

/// The TLS connector for `mode` (`None`: plain TCP).
pub(super) fn connector(
    mode: Mode,
    root: Option<PathBuf>,
    opts: &TlsOptions,
) -> Result<Option<tokio_postgres_rustls::MakeRustlsConnect>, StoreError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::internal(format!("database tls: {e}")))?;
    let config = match mode {
        Mode::Disable => return Ok(None),
        Mode::Prefer | Mode::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unauthenticated(provider)))
            .with_no_client_auth(),
        Mode::VerifyCa | Mode::VerifyFull => {
            let roots = Arc::new(roots(root.as_deref().or(opts.ca_file.as_deref()))?);
            let webpki =
                rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| StoreError::internal(format!("database tls: {e}")))?;
            let verifier: Arc<dyn ServerCertVerifier> = if mode == Mode::VerifyFull {
                webpki
            } else {
                Arc::new(AnyName(webpki))
            };
            builder
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth()
        }
    };
    Ok(Some(tokio_postgres_rustls::MakeRustlsConnect::new(config)))
}

/// The CA file's certificates, or the public roots without one.
fn roots(ca_file: Option<&Path>) -> Result<rustls::RootCertStore, StoreError> {
    let mut store = rustls::RootCertStore::empty();
    match ca_file {
        None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    StoreError::internal(format!("database CA file {}: {e}", path.display()))
                })?;
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(StoreError::internal(format!(
                    "database CA file {}: no certificate",
                    path.display()
                )));
            }
        }
    }
    Ok(store)
}

/// `prefer`/`require`: encrypted, the server not authenticated (libpq's meaning). The handshake
/// signature is still checked, so the session key belongs to whoever holds the certificate.
#[derive(Debug)]
struct Unauthenticated(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Unauthenticated {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the name in it may be any.
#[derive(Debug)]
struct AnyName(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_settings_are_taken_out_of_the_url() {
        let (c, mode, root) = parse_url(
            "postgres://u:secret@db.example:6543/tessera?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x",
        )
        .unwrap();
        assert_eq!(mode, Mode::VerifyFull);
        assert_eq!(root, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(describe(&c), "u@db.example:6543/tessera");
        let (_, mode, _) = parse_url("postgresql://u@h/db").unwrap();
        assert_eq!(mode, Mode::Prefer);
    }

    #[test]
    fn a_bad_url_is_refused_without_echoing_it() {
        for url in [
            "mysql://u:hunter2@h/db",
            "postgres://u:hunter2@h/db?sslmode=sometimes",
            "postgres://u:hunter2@h:notaport/db",
        ] {
            let e = parse_url(url).unwrap_err().to_string();
            assert!(!e.contains("hunter2"), "{e}");
        }
    }
}
