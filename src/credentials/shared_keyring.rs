//! The keyring a running process uses, reloaded when `tessera keys rotate` (possibly from
//! another process) replaces the file.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use super::Keyring;
use crate::metrics::CacheCounts;

/// The current keyring, swappable at run time.
#[derive(Debug)]
pub struct SharedKeyring {
    cell: RwLock<Arc<Keyring>>,
    path: Option<PathBuf>,
    stamp: Mutex<Option<(SystemTime, u64)>>,
    /// Hits and misses of the keyrings' opened-token caches, across rotations.
    opened_counts: CacheCounts,
    /// Rotated keyrings picked up.
    reloads: AtomicU64,
}

fn stamp_of(path: &PathBuf) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

impl SharedKeyring {
    /// A keyring loaded from `path` (watched for changes), or a fixed one (`path` = None).
    pub fn new(keyring: Keyring, path: Option<PathBuf>) -> Arc<SharedKeyring> {
        let stamp = path.as_ref().and_then(stamp_of);
        Arc::new(SharedKeyring {
            cell: RwLock::new(Arc::new(keyring)),
            path,
            stamp: Mutex::new(stamp),
            opened_counts: CacheCounts::default(),
            reloads: AtomicU64::new(0),
        })
    }

    /// Hits and misses of the opened-token cache (see `open_for_access_key_cached`).
    pub fn opened_counts(&self) -> &CacheCounts {
        &self.opened_counts
    }

    /// Rotated keyrings this process picked up.
    pub fn reloads(&self) -> u64 {
        self.reloads.load(Ordering::Relaxed)
    }

    pub fn get(&self) -> Arc<Keyring> {
        match self.cell.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Reload the file if it changed since we last read it. Returns whether it did.
    pub fn reload_if_changed(&self) -> bool {
        let Some(path) = &self.path else { return false };
        let now = stamp_of(path);
        let Ok(mut last) = self.stamp.lock() else {
            return false;
        };
        if now.is_none() || now == *last {
            return false;
        }
        match Keyring::load(path) {
            Ok(k) => {
                match self.cell.write() {
                    Ok(mut g) => *g = Arc::new(k),
                    Err(p) => *p.into_inner() = Arc::new(k),
                }
                *last = now;
                self.reloads.fetch_add(1, Ordering::Relaxed);
                tracing::info!(path = %path.display(), "keyring reloaded");
                true
            }
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "keyring changed but cannot be loaded; keeping the previous one");
                false
            }
        }
    }
}
