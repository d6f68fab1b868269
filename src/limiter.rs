//! The optional per-source limit on unsigned requests (`unsigned_rate_limit_per_source`): a
//! token bucket per source address, refilled at the configured rate with a burst of the same
//! size. Off by default: a CI fleet behind one NAT address is normal.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// Sources tracked at most; past it, idle ones are forgotten first.
const MAX_SOURCES: usize = 100_000;

#[derive(Debug)]
pub(crate) struct SourceLimiter {
    per_second: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: DateTime<Utc>,
}

impl SourceLimiter {
    pub(crate) fn new(per_second: u32) -> SourceLimiter {
        SourceLimiter {
            per_second: f64::from(per_second.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether one more request from `source` at `now` is within the limit.
    pub(crate) fn admit(&self, source: IpAddr, now: DateTime<Utc>) -> bool {
        let Ok(mut buckets) = self.buckets.lock() else {
            return true;
        };
        let rate = self.per_second;
        let refill = |b: &Bucket| {
            let secs = (now - b.at).num_milliseconds().max(0) as f64 / 1000.0;
            (b.tokens + secs * rate).min(rate)
        };
        if buckets.len() >= MAX_SOURCES && !buckets.contains_key(&source) {
            buckets.retain(|_, b| refill(b) < rate);
            if buckets.len() >= MAX_SOURCES {
                buckets.clear();
            }
        }
        let b = buckets.entry(source).or_insert(Bucket {
            tokens: rate,
            at: now,
        });
        let tokens = refill(b);
        let admitted = tokens >= 1.0;
        *b = Bucket {
            tokens: if admitted { tokens - 1.0 } else { tokens },
            at: now,
        };
        admitted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let l = SourceLimiter::new(2);
        let t0 = DateTime::<Utc>::default();
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        assert!(l.admit(a, t0) && l.admit(a, t0));
        assert!(!l.admit(a, t0));
        assert!(l.admit(b, t0), "sources are counted apart");
        let later = t0 + chrono::TimeDelta::milliseconds(500);
        assert!(l.admit(a, later));
        assert!(!l.admit(a, later));
    }
}
