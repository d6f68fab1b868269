//! jsonwebtoken's signature checks on aws-lc-rs, each public key parsed once.
//!
//! jsonwebtoken's own RustCrypto backend verifies an RSA-2048 signature in about 200 µs here
//! (the `rsa` crate's big integers). ring 0.17 takes about 20 µs, of which about 5 µs go to
//! parsing the key again (its Montgomery constants) on every call: it has no way to keep a
//! parsed public key. aws-lc-rs verifies with a key parsed once in about 15 µs
//! (`ParsedPublicKey`). So the crypto provider tessera installs keeps RustCrypto's JWK helpers
//! and verifies with aws-lc-rs: RS256/384/512 (PKCS#1 v1.5, 2048..8192-bit keys) and
//! ES256/ES384. Each key is parsed on its first use and remembered, by its exact bytes and
//! algorithm, in a small bounded memo. It never signs.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use aws_lc_rs::signature::{self as lc, ParsedPublicKey};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature;
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, EncodingKey};

/// Parsed keys remembered. Issuers publish a handful of keys each; a full memo is emptied.
const MEMO_ENTRIES: usize = 256;

/// Parsed keys by (algorithm, key bytes): a parsed key answers only the exact key it was
/// parsed from, for the one algorithm it was parsed for.
type Memo = RwLock<HashMap<Box<[u8]>, Arc<ParsedPublicKey>>>;

fn memo() -> &'static Memo {
    static MEMO: OnceLock<Memo> = OnceLock::new();
    MEMO.get_or_init(|| RwLock::new(HashMap::new()))
}

/// The memo's key: the algorithm, then each part with its length (so that no two different
/// (n, e) pairs can spell the same bytes).
fn memo_key(alg: Algorithm, parts: &[&[u8]]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + parts.iter().map(|p| 8 + p.len()).sum::<usize>());
    key.push(match alg {
        Algorithm::RS256 => 1,
        Algorithm::RS384 => 2,
        Algorithm::RS512 => 3,
        Algorithm::ES256 => 4,
        Algorithm::ES384 => 5,
        _ => 0,
    });
    for p in parts {
        key.extend_from_slice(&(p.len() as u64).to_be_bytes());
        key.extend_from_slice(p);
    }
    key
}

/// The parsed key for `key_bytes`, parsed by `parse` on first use.
fn parsed(
    key_bytes: Vec<u8>,
    parse: impl FnOnce() -> std::result::Result<ParsedPublicKey, aws_lc_rs::error::KeyRejected>,
) -> Option<Arc<ParsedPublicKey>> {
    let memo = memo();
    if let Some(k) = memo
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(key_bytes.as_slice())
    {
        return Some(k.clone());
    }
    // A key that does not parse is not remembered: it fails the same way next time.
    let key = Arc::new(parse().ok()?);
    let mut m = memo.write().unwrap_or_else(PoisonError::into_inner);
    if m.len() >= MEMO_ENTRIES {
        m.clear();
    }
    m.insert(key_bytes.into_boxed_slice(), key.clone());
    Some(key)
}

struct Verifier {
    alg: Algorithm,
    key: Arc<ParsedPublicKey>,
}

impl signature::Verifier<Vec<u8>> for Verifier {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        self.key
            .verify_sig(msg, sig)
            .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Verifier {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

fn new_verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    let parsed = match (alg, key.kind()) {
        (
            Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512,
            DecodingKeyKind::RsaModulusExponent { n, e },
        ) => {
            let params = match alg {
                Algorithm::RS256 => &lc::RSA_PKCS1_2048_8192_SHA256,
                Algorithm::RS384 => &lc::RSA_PKCS1_2048_8192_SHA384,
                _ => &lc::RSA_PKCS1_2048_8192_SHA512,
            };
            parsed(memo_key(*alg, &[n, e]), || {
                lc::RsaPublicKeyComponents {
                    n: n.as_slice(),
                    e: e.as_slice(),
                }
                .to_parsed_public_key(params)
            })
        }
        (Algorithm::ES256 | Algorithm::ES384, DecodingKeyKind::SecretOrDer(point))
            if point.first() == Some(&0x04) =>
        {
            let params = match alg {
                Algorithm::ES256 => &lc::ECDSA_P256_SHA256_FIXED,
                _ => &lc::ECDSA_P384_SHA384_FIXED,
            };
            parsed(memo_key(*alg, &[point]), || {
                ParsedPublicKey::new(params, point)
            })
        }
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    let key =
        parsed.ok_or_else(|| jsonwebtoken::errors::Error::from(ErrorKind::InvalidKeyFormat))?;
    Ok(Box::new(Verifier { alg: *alg, key }))
}

fn no_signer(_alg: &Algorithm, _key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    Err(ErrorKind::InvalidAlgorithm.into())
}

/// The provider to install (once per process).
pub(super) fn provider() -> &'static CryptoProvider {
    static PROVIDER: OnceLock<CryptoProvider> = OnceLock::new();
    PROVIDER.get_or_init(|| CryptoProvider {
        signer_factory: no_signer,
        verifier_factory: new_verifier,
        key_utils: jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER
            .key_utils
            .clone(),
    })
}

#[cfg(test)]
mod tests {
    use ring::rsa::PublicKeyComponents;
    use ring::signature::{RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RsaKeyPair};

    use super::*;

    const IDP: &[u8] = include_bytes!("../../tests/fixtures/oidc-idp-rsa2048.der");
    const ATTACKER: &[u8] = include_bytes!("../../tests/fixtures/oidc-attacker-rsa2048.der");

    fn components(key: &RsaKeyPair) -> PublicKeyComponents<Vec<u8>> {
        key.public().into()
    }

    fn decoding(key: &RsaKeyPair) -> DecodingKey {
        let c = components(key);
        DecodingKey::from_rsa_raw_components(&c.n, &c.e)
    }

    fn sign(
        key: &RsaKeyPair,
        alg: &'static dyn ring::signature::RsaEncoding,
        msg: &[u8],
    ) -> Vec<u8> {
        let mut sig = vec![0; key.public().modulus_len()];
        key.sign(alg, &ring::rand::SystemRandom::new(), msg, &mut sig)
            .unwrap();
        sig
    }

    fn verifies(alg: Algorithm, key: &DecodingKey, msg: &[u8], sig: &[u8]) -> bool {
        new_verifier(&alg, key).is_ok_and(|v| v.verify(msg, &sig.to_vec()).is_ok())
    }

    #[test]
    fn a_signature_verifies_only_under_its_key_and_algorithm() {
        let idp = RsaKeyPair::from_der(IDP).unwrap();
        let attacker = RsaKeyPair::from_der(ATTACKER).unwrap();
        let (idp_key, attacker_key) = (decoding(&idp), decoding(&attacker));
        let msg = b"header.payload";
        let sig = sign(&idp, &RSA_PKCS1_SHA256, msg);
        // Twice: the second answer comes from the memo.
        for _ in 0..2 {
            assert!(verifies(Algorithm::RS256, &idp_key, msg, &sig));
            assert!(!verifies(Algorithm::RS256, &attacker_key, msg, &sig));
            assert!(!verifies(Algorithm::RS384, &idp_key, msg, &sig));
            assert!(!verifies(
                Algorithm::RS256,
                &idp_key,
                b"header.payload2",
                &sig
            ));
        }
        let sig384 = sign(&idp, &RSA_PKCS1_SHA384, msg);
        assert!(verifies(Algorithm::RS384, &idp_key, msg, &sig384));
        assert!(!verifies(Algorithm::RS256, &idp_key, msg, &sig384));
    }

    #[test]
    fn keys_that_cannot_verify_are_refused() {
        let idp = RsaKeyPair::from_der(IDP).unwrap();
        let msg = b"header.payload";
        let sig = sign(&idp, &RSA_PKCS1_SHA256, msg);
        // An RSA modulus below 2048 bits, an even exponent, HMAC and EC confusion.
        let c = components(&idp);
        let short = DecodingKey::from_rsa_raw_components(&c.n[..128], &c.e);
        assert!(!verifies(Algorithm::RS256, &short, msg, &sig));
        let even = DecodingKey::from_rsa_raw_components(&c.n, &[2]);
        assert!(!verifies(Algorithm::RS256, &even, msg, &sig));
        assert!(new_verifier(&Algorithm::HS256, &DecodingKey::from_secret(&c.n)).is_err());
        assert!(new_verifier(&Algorithm::ES256, &decoding(&idp)).is_err());
        assert!(new_verifier(&Algorithm::RS256, &DecodingKey::from_secret(&c.n)).is_err());
    }

    #[test]
    fn the_memo_stays_bounded() {
        let idp = RsaKeyPair::from_der(IDP).unwrap();
        let c = components(&idp);
        let msg = b"header.payload";
        let sig = sign(&idp, &RSA_PKCS1_SHA256, msg);
        let key = decoding(&idp);
        // Different exponents make different (valid, odd) keys for the memo.
        for e in 0..(MEMO_ENTRIES as u32 + 10) {
            let e = (65_537 + 2 * e).to_be_bytes();
            let _ = new_verifier(
                &Algorithm::RS256,
                &DecodingKey::from_rsa_raw_components(&c.n, &e),
            );
            assert!(memo().read().unwrap().len() <= MEMO_ENTRIES);
        }
        assert!(verifies(Algorithm::RS256, &key, msg, &sig));
    }
}
