//! Private keys a SAML provider decrypts `EncryptedAssertion`s with (`AddPrivateKey` of
//! `CreateSAMLProvider` / `UpdateSAMLProvider`: "a .pem file", `privateKeyType` 1..16384
//! characters). Keys are sealed at rest by the store and never answered back.

use crate::credentials::Secret;
use crate::wipe::Wiped;

/// The smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: u32 = 2048;

/// Why a private key is refused. The text is safe to show a client: it never includes the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PrivateKeyError {
    #[error("the private key is not an unencrypted PEM RSA private key")]
    NotPem,
    #[error("the private key must be an RSA key of at least {MIN_RSA_BITS} bits")]
    Weak,
}

/// Read one PEM private key (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`, unencrypted) and
/// answer it as PKCS#8 PEM, the one form the store keeps.
pub fn parse(pem: &str) -> Result<Secret, PrivateKeyError> {
    // The callback answers an empty passphrase: an encrypted key fails here instead of OpenSSL
    // asking for a passphrase on a terminal.
    let key = openssl::pkey::PKey::private_key_from_pem_callback(pem.as_bytes(), |_| Ok(0))
        .map_err(|_| PrivateKeyError::NotPem)?;
    let rsa = key.rsa().map_err(|_| PrivateKeyError::Weak)?;
    if rsa.size() * 8 < MIN_RSA_BITS || !rsa.check_key().unwrap_or(false) {
        return Err(PrivateKeyError::Weak);
    }
    let pkcs8 = Wiped::new(
        key.private_key_to_pem_pkcs8()
            .map_err(|_| PrivateKeyError::NotPem)?,
    );
    Ok(Secret::from_bytes(pkcs8.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/saml")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn rsa_keys_in_either_pem_form_are_kept_as_pkcs8() {
        for name in ["encryption-pkcs8.key", "encryption-pkcs1.key"] {
            let key = parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                key.expose().starts_with("-----BEGIN PRIVATE KEY-----"),
                "{name}"
            );
        }
    }

    #[test]
    fn other_keys_are_refused() {
        assert_eq!(parse("not a key").unwrap_err(), PrivateKeyError::NotPem);
        assert_eq!(
            parse(&fixture("encryption-encrypted.key")).unwrap_err(),
            PrivateKeyError::NotPem
        );
        assert_eq!(
            parse(&fixture("weak-1024.key")).unwrap_err(),
            PrivateKeyError::Weak
        );
        assert_eq!(
            parse(&fixture("ec.key")).unwrap_err(),
            PrivateKeyError::Weak
        );
        // A certificate is not a private key.
        assert_eq!(
            parse(&fixture("okta.crt")).unwrap_err(),
            PrivateKeyError::NotPem
        );
    }
}
