//! Web identity tokens (OpenID Connect ID tokens) for `AssumeRoleWithWebIdentity`.
//!
//! [`jwt`] splits and type-checks the untrusted token; the caller checks its issuer and
//! audience against the registered providers *before* any key is fetched (so an attacker
//! cannot make tessera fetch anything); [`keys`] finds the issuer's key (discovery and JWKS via
//! `openidconnect`, cached); `jsonwebtoken` checks the signature with the algorithm the key
//! allows. Verified tokens are remembered (keyed by a SHA-256 of the token, until their `exp`,
//! forgotten when the issuer's keys change), so a CI job retrying with the same token costs a
//! hash.

mod jws_verify;
pub(crate) mod jwt;
pub(crate) mod keys;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::metrics::CacheCounts;

pub(crate) use jwt::Claims;

/// Why a token was refused: the kind decides the AWS error, `reason` goes to the log and the
/// audit record, `public` (a fixed, safe sentence) to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub(crate) kind: RejectionKind,
    pub(crate) reason: String,
    pub(crate) public: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RejectionKind {
    /// `InvalidIdentityToken` (400)
    Invalid,
    /// `ExpiredTokenException` (400)
    Expired,
    /// `IDPRejectedClaim` (403)
    Rejected,
    /// `IDPCommunicationError` (400)
    Communication,
}

impl Rejection {
    pub(crate) fn invalid(reason: impl Into<String>) -> Rejection {
        Rejection {
            kind: RejectionKind::Invalid,
            reason: reason.into(),
            public: None,
        }
    }

    /// The message is the client's too (it holds only the token's own times).
    pub(crate) fn expired(message: String) -> Rejection {
        Rejection {
            kind: RejectionKind::Expired,
            reason: message.clone(),
            public: Some(message),
        }
    }

    pub(crate) fn rejected(reason: impl Into<String>) -> Rejection {
        Rejection {
            kind: RejectionKind::Rejected,
            reason: reason.into(),
            public: None,
        }
    }

    pub(crate) fn communication(reason: impl Into<String>) -> Rejection {
        Rejection {
            kind: RejectionKind::Communication,
            reason: reason.into(),
            public: None,
        }
    }

    pub(crate) fn with_public(mut self, message: &str) -> Rejection {
        self.public = Some(message.to_owned());
        self
    }
}

/// A token whose signature, issuer and times held when it was checked.
#[derive(Debug)]
struct Verified {
    claims: Arc<Claims>,
    /// The issuer's key generation that verified it.
    generation: u64,
}

/// Verifies web identity tokens. One per server.
#[derive(Debug)]
pub(crate) struct Verifier {
    keys: keys::KeyCache,
    verified: Mutex<HashMap<[u8; 32], Verified>>,
    /// Verified tokens remembered at most (0: none).
    cache_entries: usize,
    /// Tokens answered from `verified`, and those verified (again).
    verified_counts: CacheCounts,
}

impl Verifier {
    pub(crate) fn new(
        fetcher: keys::Fetcher,
        limits: keys::Limits,
        cache_entries: usize,
    ) -> Verifier {
        install_crypto();
        Verifier {
            keys: keys::KeyCache::new(fetcher, limits),
            verified: Mutex::new(HashMap::new()),
            cache_entries,
            verified_counts: CacheCounts::default(),
        }
    }

    /// The verified-token cache: its lookups and the tokens it holds.
    pub(crate) fn token_cache(&self) -> (&CacheCounts, usize) {
        let held = self.verified.lock().map_or(0, |c| c.len());
        (&self.verified_counts, held)
    }

    /// The issuers' key cache.
    pub(crate) fn keys(&self) -> &keys::KeyCache {
        &self.keys
    }

    /// Check `token` at `now`. `accept` decides, from the still-unverified claims, whether the
    /// issuer and audience are acceptable (a registered provider and client id); it runs before
    /// any key is fetched. A remembered token is answered without it: the caller checks the
    /// issuer and audience of what it gets back against the providers as they are now.
    pub(crate) async fn verify(
        &self,
        token: &str,
        now: DateTime<Utc>,
        accept: &(dyn Fn(&Claims) -> Result<(), Rejection> + Send + Sync),
    ) -> Result<Arc<Claims>, Rejection> {
        let now_s = now.timestamp();
        let digest = token_digest(token);
        let remembered = self.remembered(&digest, now_s);
        self.verified_counts.record(remembered.is_some());
        if let Some(claims) = remembered {
            claims.check_times(now_s)?;
            return Ok(claims);
        }
        let unverified = jwt::parse(token)?;
        let claims = &unverified.claims;
        accept(claims)?;
        claims.check_times(now_s)?;
        let keys = self
            .keys
            .keys_for(&claims.iss, unverified.kid.as_deref(), unverified.alg, now)
            .await?;
        let key = keys
            .find(unverified.kid.as_deref(), unverified.alg)
            .ok_or_else(|| Rejection::invalid("no matching key"))?;
        let good = jsonwebtoken::crypto::verify(
            unverified.signature,
            unverified.signing_input.as_bytes(),
            &key.decoding,
            unverified.alg.jsonwebtoken(),
        )
        .unwrap_or(false);
        if !good {
            return Err(Rejection::invalid(format!(
                "signature does not verify ({})",
                unverified.alg.name()
            )));
        }
        let claims = Arc::new(unverified.claims);
        self.remember(digest, claims.clone(), keys.generation, now_s);
        Ok(claims)
    }

    fn remembered(&self, digest: &[u8; 32], now: i64) -> Option<Arc<Claims>> {
        if self.cache_entries == 0 {
            return None;
        }
        let (claims, generation) = {
            let cache = self.verified.lock().ok()?;
            let v = cache.get(digest)?;
            (v.claims.clone(), v.generation)
        };
        // Only while the issuer still has the keys that verified it.
        (claims.exp > now && self.keys.generation(&claims.iss) == Some(generation))
            .then_some(claims)
    }

    fn remember(&self, digest: [u8; 32], claims: Arc<Claims>, generation: u64, now: i64) {
        if self.cache_entries == 0 {
            return;
        }
        let Ok(mut cache) = self.verified.lock() else {
            return;
        };
        if cache.len() >= self.cache_entries {
            cache.retain(|_, v| v.claims.exp > now);
            if cache.len() >= self.cache_entries {
                cache.clear();
            }
        }
        cache.insert(digest, Verified { claims, generation });
    }
}

/// The verified-token cache's key: SHA-256 of the whole token (signature included), so only
/// the very token that was verified finds its entry. `sha2` picks the CPU's SHA extensions at
/// run time where it has them, as ring does on the SigV4 path.
fn token_digest(token: &str) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// jsonwebtoken needs its crypto provider chosen once per process: aws-lc-rs, keys parsed once
/// ([`jws_verify`]).
fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Already installed (by another server in this process) is fine.
        let _ = jws_verify::provider().install_default();
    });
}

#[cfg(any(fuzzing, test))]
pub mod fuzz {
    /// Fuzz entry point: split and type-check arbitrary text as a web identity token.
    pub fn parse_token(data: &[u8]) {
        if let Ok(s) = std::str::from_utf8(data)
            && let Ok(t) = super::jwt::parse(s)
        {
            let _ = t.claims.check_times(1_700_000_000);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn token_digest_is_sha256_of_the_token() {
        for token in ["", "a.b.c", &"x".repeat(20_000)] {
            let want = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
            assert_eq!(super::token_digest(token).as_slice(), want.as_ref());
        }
    }

    #[test]
    fn fuzz_entry_point_takes_anything() {
        for input in [
            &b""[..],
            b"a.b.c",
            b"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln",
            &[0xff, 0xfe, b'.', b'.'],
        ] {
            super::fuzz::parse_token(input);
        }
    }
}
