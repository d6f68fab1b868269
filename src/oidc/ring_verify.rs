//! jsonwebtoken's signature checks on ring. jsonwebtoken's own RustCrypto backend verifies an
//! RSA-2048 signature in about 200 µs here (the `rsa` crate's big integers); ring takes about
//! 30 µs. So the crypto provider tessera installs keeps RustCrypto's JWK helpers and verifies
//! with ring: RS256/384/512 (PKCS#1 v1.5, 2048..8192-bit keys) and ES256/ES384. It never signs.

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature;
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::signature as ring_sig;

enum PublicKey {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// An uncompressed EC point (0x04 || x || y).
    Ec(Vec<u8>),
}

struct RingVerifier {
    alg: Algorithm,
    key: PublicKey,
}

impl signature::Verifier<Vec<u8>> for RingVerifier {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        let ok = match (&self.key, self.alg) {
            (PublicKey::Rsa { n, e }, alg) => {
                let params = match alg {
                    Algorithm::RS256 => &ring_sig::RSA_PKCS1_2048_8192_SHA256,
                    Algorithm::RS384 => &ring_sig::RSA_PKCS1_2048_8192_SHA384,
                    Algorithm::RS512 => &ring_sig::RSA_PKCS1_2048_8192_SHA512,
                    _ => return Err(signature::Error::new()),
                };
                ring_sig::RsaPublicKeyComponents { n, e }
                    .verify(params, msg, sig)
                    .is_ok()
            }
            (PublicKey::Ec(point), alg) => {
                let params = match alg {
                    Algorithm::ES256 => &ring_sig::ECDSA_P256_SHA256_FIXED,
                    Algorithm::ES384 => &ring_sig::ECDSA_P384_SHA384_FIXED,
                    _ => return Err(signature::Error::new()),
                };
                ring_sig::UnparsedPublicKey::new(params, point)
                    .verify(msg, sig)
                    .is_ok()
            }
        };
        if ok {
            Ok(())
        } else {
            Err(signature::Error::new())
        }
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

fn new_verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    let key = match (alg, key.kind()) {
        (
            Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512,
            DecodingKeyKind::RsaModulusExponent { n, e },
        ) => PublicKey::Rsa {
            n: n.clone(),
            e: e.clone(),
        },
        (Algorithm::ES256 | Algorithm::ES384, DecodingKeyKind::SecretOrDer(point))
            if point.first() == Some(&0x04) =>
        {
            PublicKey::Ec(point.clone())
        }
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    Ok(Box::new(RingVerifier { alg: *alg, key }))
}

fn no_signer(_alg: &Algorithm, _key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    Err(ErrorKind::InvalidAlgorithm.into())
}

/// The provider to install (once per process).
pub(super) fn provider() -> &'static CryptoProvider {
    static PROVIDER: std::sync::OnceLock<CryptoProvider> = std::sync::OnceLock::new();
    PROVIDER.get_or_init(|| CryptoProvider {
        signer_factory: no_signer,
        verifier_factory: new_verifier,
        key_utils: jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER
            .key_utils
            .clone(),
    })
}
