//! A bounded, thread-safe cache of derived `kSigning` keys, so a client that signs many requests
//! with one secret on one day pays for the four-HMAC derivation once, not per request.
//!
//! Owns: the cache and its bounds. Must never: return a key for anything but the exact
//! (secret, date, region, service) it was derived from, keep a key a signature has not proved
//! (callers insert only after a signature verified), or leave secret bytes behind in memory it
//! frees (entries are zeroized when dropped, the table never reallocates under them).

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use subtle::ConstantTimeEq;

use super::canonical::SigningKey;
use crate::metrics::CacheCounts;
use crate::wipe::Wiped;

/// Entries a [`SigningKeyCache::default`] holds.
pub const DEFAULT_SIGNING_KEY_CACHE_CAPACITY: usize = 4096;

/// Independent locks, so tokio workers verifying at once rarely wait on each other.
const SHARDS: usize = 8;

/// Derived signing keys by (secret, scope date, region, service).
///
/// Bounded: holds at most `capacity` entries; a full shard is cleared wholesale (a key is cheap
/// to derive again, and clearing never moves an entry). Entries are secrets: each is zeroized
/// when dropped, and `Debug` shows only sizes. Build one per server and share it (`&`, or in an
/// `Arc`) between workers; `SigningKeyCache::default()` holds
/// [`DEFAULT_SIGNING_KEY_CACHE_CAPACITY`] entries, `SigningKeyCache::new(0)` caches nothing.
pub struct SigningKeyCache {
    /// Keys the shard choice and the table lookups, per instance, so nobody outside can aim
    /// requests at one shard or one bucket.
    hasher: RandomState,
    /// Read-locked to look up (every signed request: workers never wait on each other),
    /// write-locked to insert or clear.
    shards: Vec<RwLock<Shard>>,
    /// Entries one shard may hold. INVARIANT: `shards.len() * per_shard <= capacity`.
    per_shard: usize,
    /// Lookups that found their key, and those that derived it.
    counts: CacheCounts,
}

/// One lock's worth of entries, keyed by the entry's keyed hash.
///
/// INVARIANT: once allocated the table holds `per_shard` entries without growing, and entries
/// are only overwritten in place or dropped by `clear`; so the table never rehashes, and no
/// copy of a key or secret is ever left in memory it no longer owns.
type Shard = HashMap<u64, Entry, BuildHasherDefault<PreHashed>>;

struct Entry {
    secret: Wiped<Vec<u8>>,
    date: Box<str>,
    region: Box<str>,
    service: Box<str>,
    key: SigningKey,
}

impl Entry {
    /// Exact match on every part; the secret is compared in constant time.
    fn is_for(&self, q: &Lookup<'_>) -> bool {
        let secret_eq: bool = self.secret.as_slice().ct_eq(q.secret).into();
        secret_eq
            && &*self.date == q.date
            && &*self.region == q.region
            && &*self.service == q.service
    }
}

/// What a key is derived from, and that input's keyed hash.
pub(crate) struct Lookup<'a> {
    pub(super) secret: &'a [u8],
    pub(super) date: &'a str,
    pub(super) region: &'a str,
    pub(super) service: &'a str,
    pub(super) hash: u64,
}

impl SigningKeyCache {
    /// A cache of at most `capacity` keys (`0`: cache nothing).
    pub fn new(capacity: usize) -> Self {
        let shards = SHARDS.min(capacity);
        let per_shard = capacity.checked_div(shards).unwrap_or(0);
        Self {
            hasher: RandomState::new(),
            shards: (0..shards).map(|_| RwLock::new(Shard::default())).collect(),
            per_shard,
            counts: CacheCounts::default(),
        }
    }

    /// Lookups that found their key (hits) and those that had to derive it (misses).
    pub fn counts(&self) -> &CacheCounts {
        &self.counts
    }

    /// Most keys held at once.
    pub fn capacity(&self) -> usize {
        self.shards.len() * self.per_shard
    }

    /// Keys held now.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| read(s).len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop (and zeroize) every key, e.g. after a secret is revoked.
    pub fn clear(&self) {
        for shard in &self.shards {
            write(shard).clear();
        }
    }

    pub(crate) fn lookup<'a>(
        &self,
        secret: &'a [u8],
        date: &'a str,
        region: &'a str,
        service: &'a str,
    ) -> Lookup<'a> {
        Lookup {
            secret,
            date,
            region,
            service,
            hash: self.hasher.hash_one((secret, date, region, service)),
        }
    }

    /// The cached key for exactly this input, if any.
    pub(crate) fn get(&self, q: &Lookup<'_>) -> Option<SigningKey> {
        let shard = read(self.shard(q)?);
        shard
            .get(&q.hash)
            .filter(|e| e.is_for(q))
            .map(|e| e.key.clone())
    }

    /// Remember `key` as derived from `q`. Call only with a key a signature has just proved.
    pub(crate) fn insert(&self, q: &Lookup<'_>, key: &SigningKey) {
        let Some(shard) = self.shard(q) else {
            return;
        };
        let mut shard = write(shard);
        if !shard.contains_key(&q.hash) && shard.len() >= self.per_shard {
            shard.clear();
        }
        if shard.capacity() == 0 {
            // Allocate the whole shard once (see `Shard`'s invariant).
            shard.reserve(self.per_shard);
        }
        // An entry under the same hash for other input (a collision) is replaced in place.
        shard.insert(
            q.hash,
            Entry {
                secret: Wiped::new(q.secret.to_vec()),
                date: q.date.into(),
                region: q.region.into(),
                service: q.service.into(),
                key: key.clone(),
            },
        );
    }

    fn shard(&self, q: &Lookup<'_>) -> Option<&RwLock<Shard>> {
        // The table buckets by the hash's low bits; choose the shard by high ones.
        let n = u64::try_from(self.shards.len()).ok()?;
        let i = usize::try_from((q.hash >> 32).checked_rem(n)?).ok()?;
        self.shards.get(i)
    }
}

impl Default for SigningKeyCache {
    fn default() -> Self {
        Self::new(DEFAULT_SIGNING_KEY_CACHE_CAPACITY)
    }
}

impl std::fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SigningKeyCache(** redacted, {} of {} keys **)",
            self.len(),
            self.capacity()
        )
    }
}

/// Entries stay consistent even if a holder panicked (nothing inside the lock can), so a
/// poisoned lock is used as is.
fn read(shard: &RwLock<Shard>) -> RwLockReadGuard<'_, Shard> {
    shard.read().unwrap_or_else(PoisonError::into_inner)
}

fn write(shard: &RwLock<Shard>) -> RwLockWriteGuard<'_, Shard> {
    shard.write().unwrap_or_else(PoisonError::into_inner)
}

/// The tables' keys are already keyed hashes: pass them through.
#[derive(Default)]
pub(crate) struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
