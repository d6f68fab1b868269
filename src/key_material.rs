//! Public keys and certificates that clients upload to IAM: X.509 signing certificates
//! (`UploadSigningCertificate`), SSH public keys (`UploadSSHPublicKey`) and server certificates
//! with their private keys and chains (`UploadServerCertificate`). See
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_UploadServerCertificate.html>,
//! `API_UploadSigningCertificate.html` and `API_UploadSSHPublicKey.html`.
//!
//! Everything here is untrusted text. PEM framing is read by this module itself, strictly:
//! only `-----BEGIN <label>-----` / base64 / `-----END <label>-----` blocks separated by
//! whitespace, nothing before, between or after them; a header line, a label that does not
//! match, bad base64 or a second block where one is expected is refused. Only the DER inside a
//! block reaches OpenSSL (the X.509 and key parser the crate already links for SAML), and the
//! SSH wire format is read here with a bounds check on every length.
//!
//! What it must never do: read the clock (validity is checked against `now`), print key
//! material in an error, or keep a private key outside a [`Secret`].

use chrono::{DateTime, Utc};
use openssl::pkey::{PKey, Private, Public};
use openssl::x509::X509;

use crate::credentials::Secret;

/// Most certificates read from one `CertificateChain` (2,097,152 characters hold about 1,500
/// certificates of 1.4 KB: far more than any real chain).
pub const MAX_CHAIN_CERTIFICATES: usize = 64;

/// The smallest RSA modulus an SSH public key may have: "The minimum bit-length of the public
/// key is 2048 bits" (API reference, `SSHPublicKeyBody`).
pub const MIN_SSH_RSA_BITS: u32 = 2048;
/// The largest RSA modulus of a server certificate's private key: AWS's own documentation
/// speaks of 1024- to 4096-bit keys; beyond 8192 bits, checking the key costs seconds.
pub const MAX_PRIVATE_RSA_BITS: u32 = 8192;
/// The largest RSA modulus read from an SSH public key (OpenSSH's own limit).
pub const MAX_SSH_RSA_BITS: u32 = 16_384;

// --- PEM framing ---------------------------------------------------------------------------

/// One PEM block: its label and the DER it carries.
#[derive(Clone, PartialEq, Eq)]
pub struct PemBlock {
    pub label: String,
    pub der: Vec<u8>,
}

impl std::fmt::Debug for PemBlock {
    // A block may hold a private key: never print its bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PemBlock")
            .field("label", &self.label)
            .field("der_len", &self.der.len())
            .finish()
    }
}

impl Drop for PemBlock {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.der);
    }
}

/// Why text is not a sequence of PEM blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PemError {
    #[error("no PEM block")]
    Empty,
    #[error("text outside a PEM block")]
    Stray,
    #[error("a PEM block is not terminated")]
    Unterminated,
    #[error("a PEM block's END label does not match its BEGIN label")]
    LabelMismatch,
    #[error("a PEM block is not valid base64")]
    Base64,
    #[error("too many PEM blocks")]
    TooMany,
}

/// The PEM blocks of `text`, at most `max` of them, in order.
pub fn pem_blocks(text: &str, max: usize) -> Result<Vec<PemBlock>, PemError> {
    use base64::Engine as _;
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    while let Some(line) = lines.next() {
        let label = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
            .filter(|l| !l.is_empty() && !l.contains('-'))
            .ok_or(PemError::Stray)?;
        if blocks.len() == max {
            return Err(PemError::TooMany);
        }
        let end = format!("-----END {label}-----");
        let mut b64 = crate::wipe::Wiped::new(String::new());
        loop {
            let Some(l) = lines.next() else {
                return Err(PemError::Unterminated);
            };
            if l.starts_with("-----") {
                if l != end {
                    return Err(PemError::LabelMismatch);
                }
                break;
            }
            // RFC 7468 base64 lines only: a `Proc-Type:` header (encrypted legacy keys) and
            // anything else is refused here.
            if !l
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
            {
                return Err(PemError::Base64);
            }
            b64.push_str(l);
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|_| PemError::Base64)?;
        if der.is_empty() {
            return Err(PemError::Base64);
        }
        blocks.push(PemBlock {
            label: label.to_owned(),
            der,
        });
    }
    if blocks.is_empty() {
        return Err(PemError::Empty);
    }
    Ok(blocks)
}

// --- X.509 certificates --------------------------------------------------------------------

/// Why a certificate (or a chain, or a server certificate's private key) is refused. Each
/// variant is one client-facing answer; none quotes the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// Not one PEM `CERTIFICATE` block, or not DER X.509 inside it.
    #[error("not a PEM certificate")]
    NotPem,
    /// Before its `notBefore`.
    #[error("the certificate is not yet valid")]
    NotYetValid,
    /// After its `notAfter`.
    #[error("the certificate has expired")]
    Expired,
    /// The certificate's key is of a kind the action does not take.
    #[error("unsupported public key")]
    UnsupportedKey,
    /// The chain does not link: the certificate at this index (the body is 0, the chain's
    /// first certificate 1) was not issued by the one after it.
    #[error("the certificate chain does not link at index {0}")]
    Chain(usize),
    /// Not one unencrypted PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC), or an inconsistent
    /// one.
    #[error("not an unencrypted PEM private key")]
    PrivateKey,
    /// The private key is not the certificate's.
    #[error("the private key does not match the certificate")]
    KeyMismatch,
}

/// A parsed certificate: its DER and validity.
#[derive(Clone)]
pub struct Certificate {
    x509: X509,
    pub der: Vec<u8>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl Certificate {
    fn from_der(der: &[u8]) -> Result<Certificate, CertError> {
        let x509 = X509::from_der(der).map_err(|_| CertError::NotPem)?;
        // OpenSSL's DER reader stops at the end of the first structure: trailing bytes inside
        // the block would be silently ignored, so the re-encoding must be the block itself.
        let again = x509.to_der().map_err(|_| CertError::NotPem)?;
        if again != der {
            return Err(CertError::NotPem);
        }
        let not_before = asn1_time(x509.not_before()).ok_or(CertError::NotPem)?;
        let not_after = asn1_time(x509.not_after()).ok_or(CertError::NotPem)?;
        Ok(Certificate {
            x509,
            der: der.to_vec(),
            not_before,
            not_after,
        })
    }

    /// The certificate must be valid at `now` (both ends inclusive).
    pub fn check_validity(&self, now: DateTime<Utc>) -> Result<(), CertError> {
        if now < self.not_before {
            return Err(CertError::NotYetValid);
        }
        if now > self.not_after {
            return Err(CertError::Expired);
        }
        Ok(())
    }

    /// Whether the certificate's key is RSA.
    pub fn has_rsa_key(&self) -> bool {
        self.x509
            .public_key()
            .is_ok_and(|k| k.id() == openssl::pkey::Id::RSA)
    }

    /// SHA-256 of the DER, hex: what makes two uploads the same certificate.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest as _;
        hex(&sha2::Sha256::digest(&self.der))
    }

    /// Whether `issuer` issued this certificate: names chain and its key verifies the
    /// signature.
    fn issued_by(&self, issuer: &Certificate) -> bool {
        issuer.x509.issued(&self.x509) == openssl::x509::X509VerifyResult::OK
            && issuer
                .x509
                .public_key()
                .and_then(|k| self.x509.verify(&k))
                .unwrap_or(false)
    }

    fn public_key(&self) -> Option<PKey<Public>> {
        self.x509.public_key().ok()
    }
}

/// Seconds from the epoch of an ASN.1 time, through OpenSSL's own difference.
fn asn1_time(t: &openssl::asn1::Asn1TimeRef) -> Option<DateTime<Utc>> {
    let epoch = openssl::asn1::Asn1Time::from_unix(0).ok()?;
    let d = epoch.diff(t).ok()?;
    let secs = i64::from(d.days) * 86_400 + i64::from(d.secs);
    DateTime::from_timestamp(secs, 0)
}

/// One PEM certificate (exactly one `CERTIFICATE` block).
pub fn parse_certificate(text: &str) -> Result<Certificate, CertError> {
    let blocks = pem_blocks(text, 1).map_err(|_| CertError::NotPem)?;
    match blocks.as_slice() {
        [b] if b.label == "CERTIFICATE" => Certificate::from_der(&b.der),
        _ => Err(CertError::NotPem),
    }
}

/// A PEM certificate chain: one or more `CERTIFICATE` blocks, the body's issuer first.
pub fn parse_chain(text: &str) -> Result<Vec<Certificate>, CertError> {
    let blocks = pem_blocks(text, MAX_CHAIN_CERTIFICATES).map_err(|_| CertError::Chain(1))?;
    blocks
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if b.label != "CERTIFICATE" {
                return Err(CertError::Chain(i + 1));
            }
            Certificate::from_der(&b.der).map_err(|_| CertError::Chain(i + 1))
        })
        .collect()
}

/// The chain must start with the body's issuer, each certificate issued by the next.
pub fn check_chain(body: &Certificate, chain: &[Certificate]) -> Result<(), CertError> {
    let mut child = body;
    for (i, c) in chain.iter().enumerate() {
        if !child.issued_by(c) {
            return Err(CertError::Chain(i + 1));
        }
        child = c;
    }
    Ok(())
}

/// A server certificate's private key: one unencrypted PEM block (`PRIVATE KEY`,
/// `RSA PRIVATE KEY` or `EC PRIVATE KEY`), consistent, and the key of `cert`. Answered as
/// PKCS#8 PEM, the one form the store keeps.
pub fn parse_private_key_for(text: &str, cert: &Certificate) -> Result<Secret, CertError> {
    let blocks = pem_blocks(text, 1).map_err(|_| CertError::PrivateKey)?;
    let [block] = blocks.as_slice() else {
        return Err(CertError::PrivateKey);
    };
    let key: PKey<Private> = match block.label.as_str() {
        "PRIVATE KEY" => PKey::private_key_from_der(&block.der),
        "RSA PRIVATE KEY" => {
            openssl::rsa::Rsa::private_key_from_der(&block.der).and_then(PKey::from_rsa)
        }
        "EC PRIVATE KEY" => {
            openssl::ec::EcKey::private_key_from_der(&block.der).and_then(PKey::from_ec_key)
        }
        _ => return Err(CertError::PrivateKey),
    }
    .map_err(|_| CertError::PrivateKey)?;
    // Checking an RSA key tests its primes: bounded by refusing moduli beyond
    // [`MAX_PRIVATE_RSA_BITS`] first (a 16384-character PEM holds up to ~16000-bit keys).
    let consistent = match key.id() {
        openssl::pkey::Id::RSA => key
            .rsa()
            .map(|r| r.size() * 8 <= MAX_PRIVATE_RSA_BITS && r.check_key().unwrap_or(false))
            .unwrap_or(false),
        openssl::pkey::Id::EC => key.ec_key().map(|k| k.check_key().is_ok()).unwrap_or(false),
        _ => true,
    };
    if !consistent {
        return Err(CertError::PrivateKey);
    }
    let public = cert.public_key().ok_or(CertError::UnsupportedKey)?;
    if !public.public_eq(&key) {
        return Err(CertError::KeyMismatch);
    }
    let pkcs8 = crate::wipe::Wiped::new(
        key.private_key_to_pem_pkcs8()
            .map_err(|_| CertError::PrivateKey)?,
    );
    Ok(Secret::from_bytes(pkcs8.to_vec()))
}

// --- SSH public keys -----------------------------------------------------------------------

/// Why an SSH public key is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SshKeyError {
    /// A known key format IAM does not take (ed25519, ECDSA, DSA, RFC 4716, a non-RSA PEM key).
    #[error("unsupported public key encoding")]
    Unrecognized,
    /// `ssh-rsa` or PEM that does not decode to an RSA public key.
    #[error("malformed public key")]
    Malformed,
    /// An RSA key shorter than [`MIN_SSH_RSA_BITS`] (or longer than [`MAX_SSH_RSA_BITS`]).
    #[error("the RSA key must have between {MIN_SSH_RSA_BITS} and {MAX_SSH_RSA_BITS} bits")]
    Size,
}

/// An RSA public key as uploaded for SSH: its modulus and exponent (big-endian, no leading
/// zeros).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshPublicKey {
    n: Vec<u8>,
    e: Vec<u8>,
}

/// Key types of OpenSSH public keys IAM does not take.
const OTHER_SSH_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-ed448",
];

/// Read an SSH public key: `ssh-rsa <base64> [comment]` (one line) or an RSA public key in
/// PEM (`PUBLIC KEY`, SubjectPublicKeyInfo, or `RSA PUBLIC KEY`, PKCS#1).
pub fn parse_ssh_public_key(text: &str) -> Result<SshPublicKey, SshKeyError> {
    let trimmed = text.trim();
    if trimmed.starts_with("-----BEGIN") {
        return parse_pem_public_key(trimmed);
    }
    if trimmed.starts_with("---- BEGIN SSH2 PUBLIC KEY ----") {
        return Err(SshKeyError::Unrecognized);
    }
    let mut fields = trimmed.split_ascii_whitespace();
    let kind = fields.next().ok_or(SshKeyError::Malformed)?;
    if OTHER_SSH_TYPES.contains(&kind) || kind.ends_with("-cert-v01@openssh.com") {
        return Err(SshKeyError::Unrecognized);
    }
    if kind != "ssh-rsa" {
        return Err(SshKeyError::Malformed);
    }
    let b64 = fields.next().ok_or(SshKeyError::Malformed)?;
    // A comment may follow, on the same line only.
    if trimmed.contains('\n') {
        return Err(SshKeyError::Malformed);
    }
    use base64::Engine as _;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| SshKeyError::Malformed)?;
    let key = read_ssh_rsa_blob(&blob)?;
    key.check_size()?;
    Ok(key)
}

fn parse_pem_public_key(text: &str) -> Result<SshPublicKey, SshKeyError> {
    let blocks = pem_blocks(text, 1).map_err(|_| SshKeyError::Malformed)?;
    let [block] = blocks.as_slice() else {
        return Err(SshKeyError::Malformed);
    };
    let rsa = match block.label.as_str() {
        "PUBLIC KEY" => {
            let key = PKey::public_key_from_der(&block.der).map_err(|_| SshKeyError::Malformed)?;
            if key.id() != openssl::pkey::Id::RSA {
                return Err(SshKeyError::Unrecognized);
            }
            key.rsa().map_err(|_| SshKeyError::Malformed)?
        }
        "RSA PUBLIC KEY" => openssl::rsa::Rsa::public_key_from_der_pkcs1(&block.der)
            .map_err(|_| SshKeyError::Malformed)?,
        l if l.contains("PRIVATE KEY") || l == "CERTIFICATE" => return Err(SshKeyError::Malformed),
        _ => return Err(SshKeyError::Unrecognized),
    };
    let key = SshPublicKey {
        n: rsa.n().to_vec(),
        e: rsa.e().to_vec(),
    };
    // The DER reader stops at the end of the first structure: refuse trailing bytes.
    let der = key.spki_der().ok_or(SshKeyError::Malformed)?;
    let again = match block.label.as_str() {
        "PUBLIC KEY" => der,
        _ => openssl::rsa::Rsa::from_public_components(
            openssl::bn::BigNum::from_slice(&key.n).map_err(|_| SshKeyError::Malformed)?,
            openssl::bn::BigNum::from_slice(&key.e).map_err(|_| SshKeyError::Malformed)?,
        )
        .and_then(|r| r.public_key_to_der_pkcs1())
        .map_err(|_| SshKeyError::Malformed)?,
    };
    if again != block.der {
        return Err(SshKeyError::Malformed);
    }
    key.check_size()?;
    Ok(key)
}

/// The SSH wire format of an RSA key (RFC 4253 §6.6): `string "ssh-rsa"`, `mpint e`,
/// `mpint n`, and nothing after.
fn read_ssh_rsa_blob(blob: &[u8]) -> Result<SshPublicKey, SshKeyError> {
    let mut rest = blob;
    let kind = take_string(&mut rest)?;
    if kind != b"ssh-rsa" {
        // The text said ssh-rsa; the blob must agree.
        return Err(SshKeyError::Malformed);
    }
    let e = take_mpint(&mut rest)?;
    let n = take_mpint(&mut rest)?;
    if !rest.is_empty() {
        return Err(SshKeyError::Malformed);
    }
    Ok(SshPublicKey { n, e })
}

/// `uint32 length || bytes` (RFC 4251 §5), length checked against what is left.
fn take_string<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], SshKeyError> {
    let (len, tail) = rest
        .split_first_chunk::<4>()
        .ok_or(SshKeyError::Malformed)?;
    let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| SshKeyError::Malformed)?;
    if len > tail.len() {
        return Err(SshKeyError::Malformed);
    }
    let (value, tail) = tail.split_at(len);
    *rest = tail;
    Ok(value)
}

/// A positive `mpint` (RFC 4251 §5): minimal two's complement, so a leading zero byte only
/// before a byte with its high bit set. Answered without the leading zero.
fn take_mpint(rest: &mut &[u8]) -> Result<Vec<u8>, SshKeyError> {
    let v = take_string(rest)?;
    match v {
        [] => Err(SshKeyError::Malformed),
        [first, ..] if first & 0x80 != 0 => Err(SshKeyError::Malformed),
        [0, second, ..] if second & 0x80 == 0 => Err(SshKeyError::Malformed),
        [0] => Err(SshKeyError::Malformed),
        [0, tail @ ..] => Ok(tail.to_vec()),
        _ => Ok(v.to_vec()),
    }
}

fn put_string(out: &mut Vec<u8>, v: &[u8]) {
    let len = u32::try_from(v.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(v);
}

fn put_mpint(out: &mut Vec<u8>, v: &[u8]) {
    if v.first().is_some_and(|b| b & 0x80 != 0) {
        let mut padded = Vec::with_capacity(v.len() + 1);
        padded.push(0);
        padded.extend_from_slice(v);
        put_string(out, &padded);
    } else {
        put_string(out, v);
    }
}

impl SshPublicKey {
    /// The modulus length in bits.
    pub fn bits(&self) -> u32 {
        let Some((first, rest)) = self.n.split_first() else {
            return 0;
        };
        let rest_bits = u32::try_from(rest.len()).unwrap_or(u32::MAX / 16) * 8;
        rest_bits + (8 - first.leading_zeros())
    }

    fn check_size(&self) -> Result<(), SshKeyError> {
        let bits = self.bits();
        // An even exponent or 1 is no RSA key.
        let e_ok = self.e.last().is_some_and(|b| b & 1 == 1) && self.e.as_slice() != [1];
        if !e_ok {
            return Err(SshKeyError::Malformed);
        }
        if !(MIN_SSH_RSA_BITS..=MAX_SSH_RSA_BITS).contains(&bits) {
            return Err(SshKeyError::Size);
        }
        Ok(())
    }

    /// The key's SSH wire blob.
    pub fn ssh_blob(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.n.len() + self.e.len() + 24);
        put_string(&mut out, b"ssh-rsa");
        put_mpint(&mut out, &self.e);
        put_mpint(&mut out, &self.n);
        out
    }

    /// `ssh-rsa <base64>`: the `SSH` encoding `GetSSHPublicKey` answers.
    pub fn to_openssh(&self) -> String {
        use base64::Engine as _;
        format!(
            "ssh-rsa {}",
            base64::engine::general_purpose::STANDARD.encode(self.ssh_blob())
        )
    }

    fn spki_der(&self) -> Option<Vec<u8>> {
        let rsa = openssl::rsa::Rsa::from_public_components(
            openssl::bn::BigNum::from_slice(&self.n).ok()?,
            openssl::bn::BigNum::from_slice(&self.e).ok()?,
        )
        .ok()?;
        PKey::from_rsa(rsa).ok()?.public_key_to_der().ok()
    }

    /// The SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`): the `PEM` encoding
    /// `GetSSHPublicKey` answers.
    pub fn to_pem(&self) -> String {
        use base64::Engine as _;
        let der = self.spki_der().unwrap_or_default();
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let mut out = String::from("-----BEGIN PUBLIC KEY-----\n");
        let mut line = String::new();
        for c in b64.chars() {
            line.push(c);
            if line.len() == 64 {
                out.push_str(&line);
                out.push('\n');
                line.clear();
            }
        }
        if !line.is_empty() {
            out.push_str(&line);
            out.push('\n');
        }
        out.push_str("-----END PUBLIC KEY-----\n");
        out
    }

    /// The MD5 fingerprint of the SSH blob, colon-separated lowercase hex (`ssh-keygen -l -E
    /// md5` without its `MD5:` prefix), whichever encoding the key was uploaded in.
    pub fn fingerprint(&self) -> String {
        let digest = openssl::hash::hash(openssl::hash::MessageDigest::md5(), &self.ssh_blob())
            .map(|d| d.to_vec())
            .unwrap_or_default();
        let mut out = String::with_capacity(47);
        for (i, b) in digest.iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            out.push_str(&hex(&[*b]));
        }
        out
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Fuzz entry point: every parser of this module on arbitrary text, with a fixed `now`.
/// Refusing is fine; panicking or hanging is not.
#[cfg(any(fuzzing, test))]
pub fn fuzz_key_material(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
    let _ = pem_blocks(text, MAX_CHAIN_CERTIFICATES);
    if let Ok(k) = parse_ssh_public_key(text) {
        let _ = (k.fingerprint(), k.to_openssh(), k.to_pem());
    }
    // A chain, then a certificate and a private key split at the first blank line.
    if let Ok(chain) = parse_chain(text)
        && let Some((body, rest)) = chain.split_first()
    {
        let _ = body.check_validity(now);
        let _ = check_chain(body, rest);
    }
    let (cert, key) = text.split_once("\n\n").unwrap_or((text, ""));
    if let Ok(c) = parse_certificate(cert) {
        let _ = (c.check_validity(now), c.fingerprint(), c.has_rsa_key());
        let _ = parse_private_key_for(key, &c);
    }
}

#[cfg(test)]
mod tests;
