//! The keyring a running process uses, reloaded when `tessera keys rotate` (possibly from
//! another process, or another node of a cluster) replaces it: the data dir's file, or the
//! cluster's keyring in its database (a [`KeyringSource`]).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use super::Keyring;
use crate::metrics::CacheCounts;

/// Where a keyring that can change under a running process comes from.
pub trait KeyringSource: Send + Sync + std::fmt::Debug {
    /// A keyring newer than the last one this returned (or than the one it started with), if
    /// there is one.
    fn newer(&self) -> Result<Option<Keyring>, String>;
}

/// The data dir's keyring file, looked at by its modification time and length.
#[derive(Debug)]
struct KeyringFile {
    path: PathBuf,
    stamp: Mutex<Option<(SystemTime, u64)>>,
}

impl KeyringSource for KeyringFile {
    fn newer(&self) -> Result<Option<Keyring>, String> {
        let now = stamp_of(&self.path);
        let Ok(mut last) = self.stamp.lock() else {
            return Ok(None);
        };
        if now.is_none() || now == *last {
            return Ok(None);
        }
        let k = Keyring::load(&self.path).map_err(|e| e.to_string())?;
        *last = now;
        Ok(Some(k))
    }
}

/// The current keyring, swappable at run time.
#[derive(Debug)]
pub struct SharedKeyring {
    cell: RwLock<Arc<Keyring>>,
    source: Option<Box<dyn KeyringSource>>,
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
        let source = path.map(|path| {
            let stamp = Mutex::new(stamp_of(&path));
            Box::new(KeyringFile { path, stamp }) as Box<dyn KeyringSource>
        });
        Self::with_source(keyring, source)
    }

    /// A keyring that `source` may replace.
    pub fn with_source(
        keyring: Keyring,
        source: Option<Box<dyn KeyringSource>>,
    ) -> Arc<SharedKeyring> {
        Arc::new(SharedKeyring {
            cell: RwLock::new(Arc::new(keyring)),
            source,
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

    /// Take the source's newer keyring, if it has one. Returns whether it did.
    pub fn reload_if_changed(&self) -> bool {
        self.reload().unwrap_or(false)
    }

    /// As [`SharedKeyring::reload_if_changed`]; `Err` (logged here) when the source could not
    /// be read or its keyring not opened: the caller should try again.
    pub fn reload(&self) -> Result<bool, String> {
        let Some(source) = &self.source else {
            return Ok(false);
        };
        match source.newer() {
            Ok(None) => Ok(false),
            Ok(Some(k)) => {
                let id = k.current_id();
                match self.cell.write() {
                    Ok(mut g) => *g = Arc::new(k),
                    Err(p) => *p.into_inner() = Arc::new(k),
                }
                self.reloads.fetch_add(1, Ordering::Relaxed);
                tracing::info!(current_key = id, "keyring reloaded");
                Ok(true)
            }
            Err(e) => {
                tracing::error!(error = %e, "keyring changed but cannot be loaded; keeping the previous one");
                Err(e)
            }
        }
    }
}
