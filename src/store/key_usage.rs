//! When, in which region and with which service each long-term access key was last used
//! (`GetAccessKeyLastUsed`, and the `access_key_*_last_used_*` columns of a credential report).
//! See <https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccessKeyLastUsed.html> and
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html>.
//!
//! Recording sits on the request path of every call signed with a long-term key, so it never
//! writes there: [`KeyUsage::record`] updates an in-memory map (sharded, one short lock), and a
//! background task ([`spawn_flusher`]) hands the changed entries to the store's writer as one
//! [`Change::RecordKeyUse`](super::Change::RecordKeyUse) every [`FLUSH_INTERVAL`], and once more
//! on graceful shutdown. A crash loses at most the uses of the last interval.
//!
//! As AWS documents for the credential report, "when an access key is used more than once in a
//! 15-minute span, only the first use is recorded" ([`SPAN`]): a use within the span of the
//! recorded one changes nothing, so a busy key costs one map lookup per request.
//!
//! The map holds every key's last use (loaded at start), so reads never touch the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::Store;

/// Uses of one key within this span of its recorded use are not recorded (AWS's rule).
pub(crate) const SPAN: TimeDelta = TimeDelta::minutes(15);

/// How often recorded uses are written to the store.
pub(crate) const FLUSH_INTERVAL: Duration = Duration::from_secs(60);

/// Longest region name kept (a signing region is any string the client put in its scope when
/// `regions` is not configured; real ones are far shorter).
const MAX_REGION: usize = 64;

const SHARDS: usize = 16;

/// One recorded use of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUse {
    pub date: DateTime<Utc>,
    pub region: String,
    /// The SigV4 service name the request was signed for (`sts`, `iam`).
    pub service: String,
}

#[derive(Debug)]
struct Entry {
    last: KeyUse,
    /// Not yet handed to the store.
    dirty: bool,
}

/// Every long-term key's last use, by key id.
#[derive(Debug)]
pub struct KeyUsage {
    shards: [Mutex<HashMap<String, Entry>>; SHARDS],
}

/// FNV-1a over the key id: cheap, and key ids are random enough to spread.
fn shard_of(key_id: &str) -> usize {
    let h = key_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    // SHARDS is a power of two.
    (h as usize) & (SHARDS - 1)
}

impl KeyUsage {
    /// The map, starting from the uses the store has.
    pub fn new(stored: impl IntoIterator<Item = (String, KeyUse)>) -> KeyUsage {
        let u = KeyUsage {
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
        };
        for (id, last) in stored {
            u.with_shard(&id, |m| {
                m.insert(id.clone(), Entry { last, dirty: false });
            });
        }
        u
    }

    fn with_shard<R>(&self, key_id: &str, f: impl FnOnce(&mut HashMap<String, Entry>) -> R) -> R {
        let [first, ..] = &self.shards;
        // shard_of is below SHARDS, so the fallback is never taken.
        let shard = self.shards.get(shard_of(key_id)).unwrap_or(first);
        let mut g = match shard.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut g)
    }

    /// A request signed with `key_id` (already verified) at `now`, for `service` in `region`.
    pub fn record(&self, key_id: &str, now: DateTime<Utc>, region: &str, service: &str) {
        self.with_shard(key_id, |m| match m.get_mut(key_id) {
            Some(e) if now < e.last.date + SPAN => {}
            Some(e) => {
                e.last = use_at(now, region, service);
                e.dirty = true;
            }
            None => {
                m.insert(
                    key_id.to_owned(),
                    Entry {
                        last: use_at(now, region, service),
                        dirty: true,
                    },
                );
            }
        });
    }

    /// The key's last recorded use, if any.
    pub fn get(&self, key_id: &str) -> Option<KeyUse> {
        self.with_shard(key_id, |m| m.get(key_id).map(|e| e.last.clone()))
    }

    /// Every use recorded since the last drain (and not written since).
    pub fn drain(&self) -> Vec<(String, KeyUse)> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let mut g = match shard.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            for (id, e) in g.iter_mut().filter(|(_, e)| e.dirty) {
                e.dirty = false;
                out.push((id.clone(), e.last.clone()));
            }
        }
        out
    }

    /// A drained batch that could not be written: mark its entries for the next drain (unless
    /// a newer use replaced them meanwhile, which is dirty already).
    pub fn restore(&self, batch: Vec<(String, KeyUse)>) {
        for (id, u) in batch {
            self.with_shard(&id, |m| {
                if let Some(e) = m.get_mut(&id)
                    && e.last == u
                {
                    e.dirty = true;
                }
            });
        }
    }
}

fn use_at(now: DateTime<Utc>, region: &str, service: &str) -> KeyUse {
    let region = match region.char_indices().nth(MAX_REGION) {
        Some((cut, _)) => region.get(..cut).unwrap_or_default(),
        None => region,
    };
    KeyUse {
        date: now,
        region: region.to_owned(),
        service: service.to_owned(),
    }
}

impl Store {
    /// Write every use recorded since the last flush, as one change. Returns how many keys.
    pub async fn flush_key_usage(&self) -> Result<usize, super::StoreError> {
        let batch = self.usage.drain();
        if batch.is_empty() {
            return Ok(0);
        }
        let n = batch.len();
        match self
            .apply_one(super::Change::RecordKeyUse {
                uses: batch.clone(),
            })
            .await
        {
            Ok(_) => Ok(n),
            Err(e) => {
                self.usage.restore(batch);
                Err(e)
            }
        }
    }
}

/// Flush recorded uses every `interval` until aborted (the final flush is the shutdown's).
pub fn spawn_flusher(store: Store, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(e) = store.flush_key_usage().await {
                tracing::warn!(error = %e, "key usage: flush failed; kept for the next one");
            }
        }
    })
}

/// Shared by the store handle and whoever records.
pub(crate) type SharedKeyUsage = Arc<KeyUsage>;

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(s, 0).unwrap()
    }

    #[test]
    fn first_use_in_a_span_is_kept() {
        let u = KeyUsage::new([]);
        assert_eq!(u.get("AKIAONE0000000000000"), None);
        u.record("AKIAONE0000000000000", at(1_000), "us-east-1", "sts");
        u.record("AKIAONE0000000000000", at(1_000 + 899), "eu-west-1", "iam");
        let got = u.get("AKIAONE0000000000000").unwrap();
        assert_eq!(
            (got.date, got.region.as_str(), got.service.as_str()),
            (at(1_000), "us-east-1", "sts")
        );
        // Fifteen minutes later, the next use is recorded.
        u.record("AKIAONE0000000000000", at(1_000 + 900), "eu-west-1", "iam");
        let got = u.get("AKIAONE0000000000000").unwrap();
        assert_eq!(
            (got.date, got.region.as_str(), got.service.as_str()),
            (at(1_900), "eu-west-1", "iam")
        );
    }

    #[test]
    fn drain_hands_out_each_change_once_and_restore_retries() {
        let stored = KeyUse {
            date: at(5),
            region: "us-west-2".into(),
            service: "iam".into(),
        };
        let u = KeyUsage::new([("AKIAOLD0000000000000".to_owned(), stored.clone())]);
        assert!(u.drain().is_empty(), "what the store has is not dirty");
        assert_eq!(u.get("AKIAOLD0000000000000"), Some(stored));
        u.record("AKIANEW0000000000000", at(10), "us-east-1", "sts");
        u.record("AKIAOLD0000000000000", at(10_000), "us-east-1", "iam");
        let mut batch = u.drain();
        batch.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(batch.len(), 2);
        assert!(u.drain().is_empty());
        // The write failed: both come back in the next drain.
        u.restore(batch.clone());
        // ... unless a newer use replaced one meanwhile (then that one is what is written).
        u.record("AKIANEW0000000000000", at(10 + 900), "ap-south-1", "sts");
        let mut again = u.drain();
        again.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(again.len(), 2);
        assert_eq!(again[0].1.region, "ap-south-1");
        assert_eq!(again[1], batch[1]);
    }

    #[test]
    fn long_regions_are_cut() {
        let u = KeyUsage::new([]);
        let long = "é".repeat(200);
        u.record("AKIALONG000000000000", at(1), &long, "sts");
        assert_eq!(
            u.get("AKIALONG000000000000")
                .unwrap()
                .region
                .chars()
                .count(),
            MAX_REGION
        );
    }

    #[test]
    fn shards_spread() {
        let used: std::collections::HashSet<usize> = (0..256)
            .map(|i| shard_of(&format!("AKIA{i:016}")))
            .collect();
        assert!(used.len() > SHARDS / 2);
        assert!(used.iter().all(|&s| s < SHARDS));
    }
}
