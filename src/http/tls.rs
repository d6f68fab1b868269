//! HTTPS: the certificate chain and private key from PEM files (`tls_cert`, `tls_key`), served
//! with rustls (ring provider), and replaced without a restart.
//!
//! The files are read at start, where an unusable pair stops the start, and again on SIGHUP
//! and when either file changes (both read every [`POLL_INTERVAL`] and compared by digest with
//! what was last read). A pair that fails to load on reload leaves the previous certificate serving and logs
//! why; a handshake takes whichever pair is current when its ClientHello arrives.
//!
//! This module never reads a client's bytes: rustls does, in the handshake.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::config::TlsFiles;

/// How often the files are looked at: two small reads each time.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Certificate and key files larger than this are refused before they are parsed (a chain
/// of a few certificates is a few KiB; this keeps a mistaken path such as a log file or
/// `/dev/zero` from being read whole).
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// Why a certificate/key pair cannot be served. The message names the file and the problem,
/// never key material.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TlsError {
    #[error("tls_cert `{0}`: {1}")]
    Cert(String, String),
    #[error("tls_key `{0}`: {1}")]
    Key(String, String),
    #[error("tls_key `{key}` does not match the certificate in tls_cert `{cert}`")]
    Mismatch { cert: String, key: String },
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// A loaded pair and what the operator is told about it.
#[derive(Debug)]
struct Loaded {
    key: Arc<CertifiedKey>,
    /// SHA-256 of the leaf certificate (DER), lowercase hex: what `openssl x509 -fingerprint
    /// -sha256` prints, without the colons.
    sha256: String,
    subject: String,
    not_after: String,
    expired: bool,
}

/// Parse a PEM certificate chain (leaf first) and its private key, and check that the key
/// belongs to the leaf. `now` decides whether the leaf has expired (served anyway, with a
/// warning: the clients decide).
fn parse_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
    files: &TlsFiles,
    provider: &CryptoProvider,
    now: SystemTime,
) -> Result<Loaded, TlsError> {
    let cert_name = files.cert.display().to_string();
    let key_name = files.key.display().to_string();
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Cert(cert_name.clone(), format!("not PEM: {e}")))?;
    let Some(leaf) = chain.first() else {
        return Err(TlsError::Cert(
            cert_name,
            "no CERTIFICATE block in the file".to_owned(),
        ));
    };
    let x509 = openssl::x509::X509::from_der(leaf).map_err(|_| {
        TlsError::Cert(
            cert_name.clone(),
            "the first certificate is not valid X.509".to_owned(),
        )
    })?;
    let subject = x509
        .subject_name()
        .entries()
        .map(|e| {
            let name = e.object().nid().short_name().unwrap_or("?");
            let value = e.data().to_string().unwrap_or_default();
            format!("{name}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ");
    let not_after = x509.not_after().to_string();
    let unix = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let expired = openssl::asn1::Asn1Time::from_unix(unix)
        .ok()
        .and_then(|now| x509.not_after().compare(&now).ok())
        .is_some_and(|o| o == std::cmp::Ordering::Less);
    let sha256 = ring::digest::digest(&ring::digest::SHA256, leaf)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();

    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| {
        let why = match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                "no private key in the file (PKCS#8 `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`; encrypted keys are not read)".to_owned()
            }
            other => format!("not PEM: {other}"),
        };
        TlsError::Key(key_name.clone(), why)
    })?;
    let certified = CertifiedKey::from_der(chain, key, provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => TlsError::Mismatch {
            cert: cert_name.clone(),
            key: key_name.clone(),
        },
        other => TlsError::Key(key_name.clone(), format!("unusable private key: {other}")),
    })?;
    Ok(Loaded {
        key: Arc::new(certified),
        sha256,
        subject,
        not_after,
        expired,
    })
}

fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let f = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    f.take(MAX_PEM_BYTES + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_PEM_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_PEM_BYTES} bytes: not a PEM certificate or key file"
        )));
    }
    Ok(buf)
}

/// What was last read from the files: their digest, or that they could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Read([u8; 32]),
    Unreadable,
}

/// Both files, or the error naming the one that cannot be read.
fn read_pair(files: &TlsFiles) -> Result<(Vec<u8>, Vec<u8>), TlsError> {
    let cert = read_bounded(&files.cert)
        .map_err(|e| TlsError::Cert(files.cert.display().to_string(), e.to_string()))?;
    let key = read_bounded(&files.key)
        .map_err(|e| TlsError::Key(files.key.display().to_string(), e.to_string()))?;
    Ok((cert, key))
}

fn digest(cert: &[u8], key: &[u8]) -> Seen {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(&(cert.len() as u64).to_be_bytes());
    ctx.update(cert);
    ctx.update(key);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    Seen::Read(out)
}

/// The certificate being served, and where it came from.
#[derive(Debug)]
pub(crate) struct CertStore {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
    /// What the files held when last read, so a poll parses them only after a change (and
    /// reports a bad new file once, not on every poll).
    seen: Mutex<Seen>,
}

impl CertStore {
    /// Load the pair at start: an error here stops the start.
    pub(crate) fn open(files: &TlsFiles, now: SystemTime) -> Result<Arc<CertStore>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let (cert, key) = read_pair(files)?;
        let seen = digest(&cert, &key);
        let loaded = parse_pem(&cert, &key, files, &provider, now)?;
        log_loaded(files, &loaded, "start");
        Ok(Arc::new(CertStore {
            files: files.clone(),
            provider,
            current: RwLock::new(loaded.key),
            seen: Mutex::new(seen),
        }))
    }

    /// The rustls configuration that serves whatever pair is current: TLS 1.2 and 1.3,
    /// HTTP/1.1 by ALPN (the only protocol the listener speaks).
    pub(crate) fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// Read the files again and serve them if they load; otherwise keep the current pair.
    /// Blocking (file reads): call it off the async threads.
    pub(crate) fn reload(&self, now: SystemTime, trigger: &str) -> Result<(), TlsError> {
        let read = read_pair(&self.files);
        self.set_seen(match &read {
            Ok((cert, key)) => digest(cert, key),
            Err(_) => Seen::Unreadable,
        });
        let (cert, key) = read?;
        self.serve(&cert, &key, now, trigger)
    }

    /// Reload when what the files hold differs from what was last read, logging the outcome.
    /// Blocking. The files are read whole (a few KiB) rather than judged by their modification
    /// time, which the kernel keeps at clock-tick granularity: a file rewritten within a tick
    /// of the last read would otherwise go unnoticed.
    pub(crate) fn reload_if_changed(&self, now: SystemTime) {
        let read = read_pair(&self.files);
        let seen = match &read {
            Ok((cert, key)) => digest(cert, key),
            Err(_) => Seen::Unreadable,
        };
        if self.set_seen(seen) == seen {
            return;
        }
        let served = read.and_then(|(cert, key)| self.serve(&cert, &key, now, "file changed"));
        if let Err(e) = served {
            tracing::error!(
                error = %e,
                trigger = "file changed",
                "tls certificate not reloaded; the previous certificate is still served"
            );
        }
    }

    /// Record what was read; returns what had been read before.
    fn set_seen(&self, seen: Seen) -> Seen {
        std::mem::replace(
            &mut *self.seen.lock().unwrap_or_else(PoisonError::into_inner),
            seen,
        )
    }

    fn serve(
        &self,
        cert: &[u8],
        key: &[u8],
        now: SystemTime,
        trigger: &str,
    ) -> Result<(), TlsError> {
        let loaded = parse_pem(cert, key, &self.files, &self.provider, now)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = loaded.key.clone();
        log_loaded(&self.files, &loaded, trigger);
        Ok(())
    }

    /// Reload and log the outcome (SIGHUP). Blocking.
    pub(crate) fn reload_logged(&self, now: SystemTime, trigger: &str) {
        if let Err(e) = self.reload(now, trigger) {
            tracing::error!(
                error = %e,
                trigger,
                "tls certificate not reloaded; the previous certificate is still served"
            );
        }
    }

    fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

fn log_loaded(files: &TlsFiles, l: &Loaded, trigger: &str) {
    tracing::info!(
        cert = %files.cert.display(),
        subject = %l.subject,
        not_after = %l.not_after,
        sha256 = %l.sha256,
        trigger,
        "tls certificate loaded"
    );
    if l.expired {
        tracing::warn!(
            cert = %files.cert.display(),
            not_after = %l.not_after,
            "the tls certificate has expired: clients will refuse it"
        );
    }
}

/// Reload on file change until the store is gone (the server stopped).
pub(crate) fn watch(store: &Arc<CertStore>) {
    let weak = Arc::downgrade(store);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(store) = weak.upgrade() else { return };
            let _ = tokio::task::spawn_blocking(move || {
                store.reload_if_changed(SystemTime::now());
            })
            .await;
        }
    });
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        reason = "test code: a failure should stop the test"
    )]

    use super::*;
    use openssl::asn1::Asn1Time;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::{PKey, Private};
    use openssl::rsa::Rsa;
    use openssl::x509::{X509, X509NameBuilder};

    const NOW: i64 = 1_800_000_000;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(NOW as u64)
    }

    fn ec_key() -> EcKey<Private> {
        EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap()
    }

    /// A self-signed certificate for `key`, valid until `not_after` (unix seconds).
    fn cert_for(key: &PKey<Private>, not_after: i64) -> X509 {
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "localhost").unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(key).unwrap();
        b.set_not_before(&Asn1Time::from_unix(NOW - 3600).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::from_unix(not_after).unwrap())
            .unwrap();
        b.sign(key, MessageDigest::sha256()).unwrap();
        b.build()
    }

    fn files() -> TlsFiles {
        TlsFiles {
            cert: "cert.pem".into(),
            key: "key.pem".into(),
        }
    }

    fn parse(cert: &[u8], key: &[u8]) -> Result<Loaded, TlsError> {
        parse_pem(
            cert,
            key,
            &files(),
            &rustls::crypto::ring::default_provider(),
            now(),
        )
    }

    #[test]
    fn reads_pkcs8_sec1_and_pkcs1_keys() {
        let ec = ec_key();
        let pkey = PKey::from_ec_key(ec.clone()).unwrap();
        let cert = cert_for(&pkey, NOW + 86_400).to_pem().unwrap();
        // PKCS#8 (`PRIVATE KEY`) and SEC1 (`EC PRIVATE KEY`).
        let loaded = parse(&cert, &pkey.private_key_to_pem_pkcs8().unwrap()).unwrap();
        assert!(!loaded.expired);
        assert_eq!(loaded.subject, "CN=localhost");
        assert_eq!(loaded.sha256.len(), 64);
        let sec1 = ec.private_key_to_pem().unwrap();
        assert!(String::from_utf8_lossy(&sec1).contains("EC PRIVATE KEY"));
        parse(&cert, &sec1).unwrap();
        // PKCS#1 (`RSA PRIVATE KEY`).
        let rsa = Rsa::generate(2048).unwrap();
        let pkey = PKey::from_rsa(rsa.clone()).unwrap();
        let cert = cert_for(&pkey, NOW + 86_400).to_pem().unwrap();
        let pkcs1 = rsa.private_key_to_pem().unwrap();
        assert!(String::from_utf8_lossy(&pkcs1).contains("RSA PRIVATE KEY"));
        parse(&cert, &pkcs1).unwrap();
    }

    #[test]
    fn a_chain_is_served_leaf_first() {
        let leaf = PKey::from_ec_key(ec_key()).unwrap();
        let other = PKey::from_ec_key(ec_key()).unwrap();
        let mut chain = cert_for(&leaf, NOW + 86_400).to_pem().unwrap();
        chain.extend(cert_for(&other, NOW + 86_400).to_pem().unwrap());
        let loaded = parse(&chain, &leaf.private_key_to_pem_pkcs8().unwrap()).unwrap();
        assert_eq!(loaded.key.cert.len(), 2);
        // The key must belong to the first certificate.
        let e = parse(&chain, &other.private_key_to_pem_pkcs8().unwrap()).unwrap_err();
        assert!(matches!(e, TlsError::Mismatch { .. }), "{e}");
    }

    #[test]
    fn refuses_what_cannot_be_served_and_says_which_file() {
        let pkey = PKey::from_ec_key(ec_key()).unwrap();
        let cert = cert_for(&pkey, NOW + 86_400).to_pem().unwrap();
        let key = pkey.private_key_to_pem_pkcs8().unwrap();
        let other = PKey::from_ec_key(ec_key())
            .unwrap()
            .private_key_to_pem_pkcs8()
            .unwrap();
        let cases: Vec<(&str, Vec<u8>, Vec<u8>, &str)> = vec![
            ("empty cert file", vec![], key.clone(), "tls_cert `cert.pem`: no CERTIFICATE block"),
            ("key as cert", key.clone(), key.clone(), "tls_cert `cert.pem`: no CERTIFICATE block"),
            (
                "garbage in a certificate block",
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_vec(),
                key.clone(),
                "tls_cert `cert.pem`: the first certificate is not valid X.509",
            ),
            (
                "bad base64",
                b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n".to_vec(),
                key.clone(),
                "tls_cert `cert.pem`: not PEM",
            ),
            ("empty key file", cert.clone(), vec![], "tls_key `key.pem`: no private key"),
            ("cert as key", cert.clone(), cert.clone(), "tls_key `key.pem`: no private key"),
            (
                "encrypted key",
                cert.clone(),
                b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n".to_vec(),
                "tls_key `key.pem`: no private key",
            ),
            (
                "garbage in a key block",
                cert.clone(),
                b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".to_vec(),
                "tls_key `key.pem`: unusable private key",
            ),
            (
                "another key",
                cert.clone(),
                other,
                "tls_key `key.pem` does not match the certificate in tls_cert `cert.pem`",
            ),
        ];
        for (what, c, k, want) in cases {
            let e = parse(&c, &k).expect_err(what).to_string();
            assert!(e.starts_with(want), "{what}: {e}");
            assert!(!e.contains("BEGIN"), "{what}: no file content in {e}");
        }
    }

    #[test]
    fn an_expired_certificate_is_served_and_flagged() {
        let pkey = PKey::from_ec_key(ec_key()).unwrap();
        let cert = cert_for(&pkey, NOW - 60).to_pem().unwrap();
        let loaded = parse(&cert, &pkey.private_key_to_pem_pkcs8().unwrap()).unwrap();
        assert!(loaded.expired);
    }

    fn write_pair(dir: &Path) -> (Vec<u8>, Vec<u8>) {
        let pkey = PKey::from_ec_key(ec_key()).unwrap();
        let cert = cert_for(&pkey, NOW + 86_400).to_der().unwrap();
        std::fs::write(
            dir.join("cert.pem"),
            X509::from_der(&cert).unwrap().to_pem().unwrap(),
        )
        .unwrap();
        let key = pkey.private_key_to_pem_pkcs8().unwrap();
        std::fs::write(dir.join("key.pem"), &key).unwrap();
        (cert, key)
    }

    #[test]
    fn reload_swaps_a_good_pair_and_keeps_the_old_one_over_a_bad_one() {
        let dir = tempfile::tempdir().unwrap();
        let files = TlsFiles {
            cert: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
        };
        let (first, _) = write_pair(dir.path());
        let store = CertStore::open(&files, now()).unwrap();
        assert_eq!(store.current().cert[0].as_ref(), &first[..]);

        // Unchanged files: nothing is read.
        store.reload_if_changed(now());
        assert_eq!(store.current().cert[0].as_ref(), &first[..]);

        // A new pair is picked up by the poll.
        let (second, _) = write_pair(dir.path());
        store.reload_if_changed(now());
        assert_eq!(store.current().cert[0].as_ref(), &second[..]);

        // A key that does not match: refused, the second pair stays.
        let stray = PKey::from_ec_key(ec_key()).unwrap();
        std::fs::write(&files.key, stray.private_key_to_pem_pkcs8().unwrap()).unwrap();
        let e = store.reload(now(), "test").unwrap_err();
        assert!(matches!(e, TlsError::Mismatch { .. }), "{e}");
        assert_eq!(store.current().cert[0].as_ref(), &second[..]);

        // A missing file: the same.
        std::fs::remove_file(&files.cert).unwrap();
        let e = store.reload(now(), "test").unwrap_err().to_string();
        assert!(
            e.starts_with("tls_cert `") && e.contains("No such file"),
            "{e}"
        );
        assert_eq!(store.current().cert[0].as_ref(), &second[..]);
    }

    #[test]
    fn start_fails_on_a_missing_or_huge_file() {
        let dir = tempfile::tempdir().unwrap();
        let files = TlsFiles {
            cert: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
        };
        let e = CertStore::open(&files, now()).unwrap_err().to_string();
        assert!(
            e.starts_with("tls_cert `") && e.contains("No such file"),
            "{e}"
        );
        write_pair(dir.path());
        std::fs::write(&files.key, vec![b'A'; 2 * 1024 * 1024]).unwrap();
        let e = CertStore::open(&files, now()).unwrap_err().to_string();
        assert!(
            e.starts_with("tls_key `") && e.contains("larger than"),
            "{e}"
        );
    }
}
