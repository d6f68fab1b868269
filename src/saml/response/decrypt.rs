//! Decrypting an `EncryptedAssertion` (SAML core §2.3.4) with a provider's private keys:
//! XML Encryption 1.1 key transport with RSA-OAEP (`rsa-oaep-mgf1p`, `xmlenc11#rsa-oaep`; SHA-1
//! or SHA-256 digests and MGF1), then AES-CBC or AES-GCM over the assertion.
//!
//! samael has a decryptor, but it indexes and unwraps attacker-sized buffers (a short
//! ciphertext panics it) and knows one key; anyone can encrypt to a provider's public key, so
//! this runs on unauthenticated input and is written with bounds checks throughout.
//! RSA PKCS#1 v1.5 key transport is refused (Bleichenbacher's oracle). Every failure is the
//! same [`DecryptError`], so the answer does not tell a padding error from a parse error.

use base64::Engine as _;
use openssl::md::{Md, MdRef};
use openssl::pkey::{PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::symm::{Cipher, Crypter, Mode};

use super::prefilter::{EncryptedKeyParts, EncryptedParts};
use crate::credentials::Secret;
use crate::wipe::Wiped;

const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
const RSA_OAEP: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";
const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const MGF1_SHA1: &str = "http://www.w3.org/2009/xmlenc11#mgf1sha1";
const MGF1_SHA256: &str = "http://www.w3.org/2009/xmlenc11#mgf1sha256";

/// The assertion could not be decrypted with any of the provider's keys. Deliberately one
/// value: which step failed is not told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the EncryptedAssertion could not be decrypted with the provider's private keys")]
pub struct DecryptError;

/// A content-encryption algorithm: AES key length in bytes and the mode.
#[derive(Debug, Clone, Copy)]
enum Content {
    Cbc(usize),
    Gcm(usize),
}

fn content(algorithm: &str) -> Option<Content> {
    Some(match algorithm {
        "http://www.w3.org/2001/04/xmlenc#aes128-cbc" => Content::Cbc(16),
        "http://www.w3.org/2001/04/xmlenc#aes192-cbc" => Content::Cbc(24),
        "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => Content::Cbc(32),
        "http://www.w3.org/2009/xmlenc11#aes128-gcm" => Content::Gcm(16),
        "http://www.w3.org/2009/xmlenc11#aes192-gcm" => Content::Gcm(24),
        "http://www.w3.org/2009/xmlenc11#aes256-gcm" => Content::Gcm(32),
        _ => return None,
    })
}

/// The assertion's XML, decrypted with the first of `keys` (PKCS#8 PEM) that unwraps one of
/// the document's `EncryptedKey`s.
pub fn decrypt(parts: &EncryptedParts, keys: &[Secret]) -> Result<String, DecryptError> {
    let mode = content(&parts.data_algorithm).ok_or(DecryptError)?;
    let data = b64(&parts.data_cipher)?;
    let pkeys: Vec<PKey<Private>> = keys
        .iter()
        .filter_map(|k| PKey::private_key_from_pem(k.expose().as_bytes()).ok())
        .collect();
    for ek in &parts.keys {
        for pkey in &pkeys {
            let Ok(cek) = unwrap_key(ek, pkey) else {
                continue;
            };
            let plain = decrypt_content(mode, &cek, &data)?;
            return String::from_utf8(plain.to_vec()).map_err(|_| DecryptError);
        }
    }
    Err(DecryptError)
}

fn b64(text: &str) -> Result<Vec<u8>, DecryptError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| DecryptError)
}

fn md(uri: Option<&str>, default: &'static MdRef) -> Result<&'static MdRef, DecryptError> {
    match uri {
        None => Ok(default),
        Some(SHA1) => Ok(Md::sha1()),
        Some(SHA256) => Ok(Md::sha256()),
        Some(_) => Err(DecryptError),
    }
}

/// RSA-OAEP unwrap of the content-encryption key.
fn unwrap_key(
    ek: &EncryptedKeyParts,
    pkey: &PKey<Private>,
) -> Result<Wiped<Vec<u8>>, DecryptError> {
    if ek.oaep_params {
        return Err(DecryptError);
    }
    let (digest, mgf) = match ek.algorithm.as_str() {
        // MGF1 with SHA-1 always; the digest may be named.
        RSA_OAEP_MGF1P => (md(ek.digest.as_deref(), Md::sha1())?, Md::sha1()),
        RSA_OAEP => {
            let mgf = match ek.mgf.as_deref() {
                None | Some(MGF1_SHA1) => Md::sha1(),
                Some(MGF1_SHA256) => Md::sha256(),
                Some(_) => return Err(DecryptError),
            };
            (md(ek.digest.as_deref(), Md::sha1())?, mgf)
        }
        _ => return Err(DecryptError),
    };
    let wrapped = b64(&ek.cipher)?;
    let rsa_bytes = pkey.rsa().map_err(|_| DecryptError)?.size() as usize;
    if wrapped.len() != rsa_bytes {
        return Err(DecryptError);
    }
    let mut ctx = PkeyCtx::new(pkey).map_err(|_| DecryptError)?;
    ctx.decrypt_init().map_err(|_| DecryptError)?;
    ctx.set_rsa_padding(Padding::PKCS1_OAEP)
        .map_err(|_| DecryptError)?;
    ctx.set_rsa_oaep_md(digest).map_err(|_| DecryptError)?;
    ctx.set_rsa_mgf1_md(mgf).map_err(|_| DecryptError)?;
    let mut out = Wiped::new(Vec::new());
    ctx.decrypt_to_vec(&wrapped, &mut out)
        .map_err(|_| DecryptError)?;
    Ok(out)
}

/// AES-CBC (IV first, XML Encryption padding: the last byte counts the padding bytes) or
/// AES-GCM (96-bit IV first, 128-bit tag last).
fn decrypt_content(mode: Content, key: &[u8], data: &[u8]) -> Result<Wiped<Vec<u8>>, DecryptError> {
    match mode {
        Content::Cbc(len) => {
            let cipher = match len {
                16 => Cipher::aes_128_cbc(),
                24 => Cipher::aes_192_cbc(),
                _ => Cipher::aes_256_cbc(),
            };
            if key.len() != len || data.len() < 32 || !data.len().is_multiple_of(16) {
                return Err(DecryptError);
            }
            let (iv, body) = data.split_at(16);
            let mut c =
                Crypter::new(cipher, Mode::Decrypt, key, Some(iv)).map_err(|_| DecryptError)?;
            c.pad(false);
            let mut out = Wiped::new(vec![0u8; body.len() + 16]);
            let n = c.update(body, &mut out).map_err(|_| DecryptError)?;
            let rest = out.get_mut(n..).ok_or(DecryptError)?;
            let m = c.finalize(rest).map_err(|_| DecryptError)?;
            out.truncate(n + m);
            let pad = usize::from(*out.last().ok_or(DecryptError)?);
            if pad == 0 || pad > 16 || pad > out.len() {
                return Err(DecryptError);
            }
            let keep = out.len() - pad;
            out.truncate(keep);
            Ok(out)
        }
        Content::Gcm(len) => {
            let cipher = match len {
                16 => Cipher::aes_128_gcm(),
                24 => Cipher::aes_192_gcm(),
                _ => Cipher::aes_256_gcm(),
            };
            if key.len() != len || data.len() < 12 + 16 {
                return Err(DecryptError);
            }
            let (iv, rest) = data.split_at(12);
            let (body, tag) = rest.split_at(rest.len() - 16);
            openssl::symm::decrypt_aead(cipher, key, Some(iv), &[], body, tag)
                .map(Wiped::new)
                .map_err(|_| DecryptError)
        }
    }
}
