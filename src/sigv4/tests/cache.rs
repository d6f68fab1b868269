//! The signing-key cache: exact-match hits, misses on any differing input, its bound, and
//! `verify_cached` agreeing with `verify` on every vector.

use super::support::{botocore_vectors, vector};
use crate::sigv4::{SigningKeyCache, VerifyPolicy, parse, signing_key, verify, verify_cached};

const SECRET: &[u8] = b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn get(
    cache: &SigningKeyCache,
    secret: &[u8],
    date: &str,
    region: &str,
    service: &str,
) -> Option<[u8; 32]> {
    cache
        .get(&cache.lookup(secret, date, region, service))
        .map(|k| *k.expose())
}

fn put(cache: &SigningKeyCache, secret: &[u8], date: &str, region: &str, service: &str) {
    let key = signing_key(secret, date, region, service);
    cache.insert(&cache.lookup(secret, date, region, service), &key);
}

#[test]
fn hit_returns_the_key_derived_from_exactly_that_input() {
    let cache = SigningKeyCache::default();
    assert_eq!(get(&cache, SECRET, "20240115", "us-east-1", "sts"), None);
    put(&cache, SECRET, "20240115", "us-east-1", "sts");
    let want = *signing_key(SECRET, "20240115", "us-east-1", "sts").expose();
    assert_eq!(
        get(&cache, SECRET, "20240115", "us-east-1", "sts"),
        Some(want)
    );
    assert_eq!(cache.len(), 1);
}

#[test]
fn any_differing_input_misses() {
    let cache = SigningKeyCache::default();
    put(&cache, SECRET, "20240115", "us-east-1", "sts");
    let rows: [(&[u8], &str, &str, &str); 6] = [
        (
            b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEz",
            "20240115",
            "us-east-1",
            "sts",
        ),
        (
            b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE",
            "20240115",
            "us-east-1",
            "sts",
        ),
        (SECRET, "20240116", "us-east-1", "sts"),
        (SECRET, "20240115", "us-east-2", "sts"),
        (SECRET, "20240115", "us-east-1", "iam"),
        // The parts are compared one by one, never as one joined string.
        (SECRET, "20240115", "us-east-1/sts", ""),
    ];
    for (secret, date, region, service) in rows {
        assert_eq!(
            get(&cache, secret, date, region, service),
            None,
            "{date} {region} {service}"
        );
    }
}

/// The hash only finds the entry; the entry itself must match. Forge an entry under the hash
/// of another input: it must not be returned for that input.
#[test]
fn a_hash_collision_is_a_miss() {
    let cache = SigningKeyCache::default();
    let real = cache.lookup(SECRET, "20240115", "us-east-1", "sts");
    let other = cache.lookup(b"another secret", "20240115", "us-east-1", "sts");
    let forged = crate::sigv4::cache::Lookup {
        hash: real.hash,
        ..other
    };
    cache.insert(
        &forged,
        &signing_key(b"another secret", "20240115", "us-east-1", "sts"),
    );
    assert!(cache.get(&real).is_none());
    assert!(cache.get(&forged).is_some());
}

#[test]
fn bound_is_respected() {
    for capacity in [0, 1, 3, 8, 100] {
        let cache = SigningKeyCache::new(capacity);
        assert!(cache.capacity() <= capacity, "{capacity}");
        for i in 0..500 {
            put(
                &cache,
                format!("secret-{i}").as_bytes(),
                "20240115",
                "us-east-1",
                "sts",
            );
            assert!(
                cache.len() <= capacity,
                "{capacity}: {} after {i}",
                cache.len()
            );
        }
        if capacity > 0 {
            // The latest key survives whatever was cleared to make room.
            assert!(get(&cache, b"secret-499", "20240115", "us-east-1", "sts").is_some());
        }
    }
    let cache = SigningKeyCache::new(0);
    put(&cache, SECRET, "20240115", "us-east-1", "sts");
    assert!(cache.is_empty());
}

#[test]
fn clear_empties_and_debug_is_redacted() {
    let cache = SigningKeyCache::new(64);
    put(&cache, SECRET, "20240115", "us-east-1", "sts");
    let shown = format!("{cache:?}");
    assert_eq!(shown, "SigningKeyCache(** redacted, 1 of 64 keys **)");
    cache.clear();
    assert!(cache.is_empty());
}

#[test]
fn verify_cached_agrees_with_verify_on_every_vector_cold_and_warm() {
    let cache = SigningKeyCache::default();
    for v in botocore_vectors() {
        let policy = VerifyPolicy::for_service(&v.service);
        for secret in [v.secret.as_bytes(), b"not-the-secret"] {
            v.req.with(|r| {
                let auth = parse(r).unwrap().unwrap();
                let want = verify(&auth, r, secret, &policy, v.now);
                for round in ["cold", "warm"] {
                    let got = verify_cached(&auth, r, secret, &policy, v.now, &cache);
                    assert_eq!(got, want, "vector `{}`, {round}", v.name);
                }
            });
        }
    }
}

/// Only keys a signature proved are kept; a wrong secret leaves nothing behind.
#[test]
fn only_verified_keys_are_cached() {
    let v = vector("sts_session_token");
    let policy = VerifyPolicy::for_service("sts");
    let cache = SigningKeyCache::default();
    v.req.with(|r| {
        let auth = parse(r).unwrap().unwrap();
        assert!(verify_cached(&auth, r, b"not-the-secret", &policy, v.now, &cache).is_err());
        assert!(cache.is_empty());
        assert_eq!(
            verify_cached(&auth, r, v.secret.as_bytes(), &policy, v.now, &cache),
            Ok(())
        );
        assert_eq!(cache.len(), 1);
        assert_eq!((cache.counts().hits(), cache.counts().misses()), (0, 2));
        assert_eq!(
            verify_cached(&auth, r, v.secret.as_bytes(), &policy, v.now, &cache),
            Ok(())
        );
        assert_eq!((cache.counts().hits(), cache.counts().misses()), (1, 2));
        let s = auth.scope();
        assert!(
            get(
                &cache,
                v.secret.as_bytes(),
                s.date(),
                s.region(),
                s.service()
            )
            .is_some()
        );
    });
}

/// `verify_cached` really uses the cached key: plant a wrong key for the request's exact input
/// and the signature no longer verifies.
#[test]
fn verify_cached_uses_the_cached_key() {
    let v = vector("sts_get_caller_identity_post");
    let policy = VerifyPolicy::for_service("sts");
    let cache = SigningKeyCache::default();
    v.req.with(|r| {
        let auth = parse(r).unwrap().unwrap();
        let s = auth.scope();
        let q = cache.lookup(v.secret.as_bytes(), s.date(), s.region(), s.service());
        cache.insert(
            &q,
            &signing_key(b"planted", s.date(), s.region(), s.service()),
        );
        let err = verify_cached(&auth, r, v.secret.as_bytes(), &policy, v.now, &cache);
        assert_eq!(err.unwrap_err().code(), "SignatureDoesNotMatch");
        assert_eq!(
            verify(&auth, r, v.secret.as_bytes(), &policy, v.now),
            Ok(())
        );
    });
}

#[test]
fn cache_is_shared_across_threads() {
    let cache = SigningKeyCache::new(256);
    std::thread::scope(|s| {
        for t in 0..4 {
            let cache = &cache;
            s.spawn(move || {
                for i in 0..100 {
                    let secret = format!("secret-{t}-{i}");
                    put(cache, secret.as_bytes(), "20240115", "us-east-1", "sts");
                    let want =
                        *signing_key(secret.as_bytes(), "20240115", "us-east-1", "sts").expose();
                    if let Some(got) = get(cache, secret.as_bytes(), "20240115", "us-east-1", "sts")
                    {
                        assert_eq!(got, want);
                    }
                }
            });
        }
    });
    assert!(cache.len() <= 256);
}
