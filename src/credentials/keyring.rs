//! [`Keyring`]: the server-held AES-256-GCM keys that seal session tokens and encrypt long-term
//! secrets at rest, with rotation as a current key plus [`PREVIOUS_GENERATIONS`] older ones
//! (like rustls's ticket key rotator: new material encrypts, recent material still decrypts).
//!
//! Owns the keyring file (the only file this module touches) and the at-rest blob format.
//! What it must never do: print key material, write a key file readable by anyone but its owner,
//! or leave a half-written key file behind.
//!
//! # Keyring file (JSON, mode 0600)
//! ```json
//! {
//!   "format": "tessera-keyring",
//!   "version": 1,
//!   "current":  { "id": 2733712385, "created_at": "2026-01-01T00:00:00Z", "key": "<base64, 32 bytes>" },
//!   "previous": [ { "id": 917321, "created_at": "2025-12-01T00:00:00Z", "key": "<base64>" } ]
//! }
//! ```
//! `previous` is newest first, holds at most [`PREVIOUS_GENERATIONS`] entries, and ids are
//! distinct. Keys use standard base64 with padding. [`Keyring::load`] refuses a file that its
//! group or others may access (like `ssh` does for private keys).
//!
//! # At-rest blob (`seal_blob` / `open_blob`)
//! ```text
//!  0        1             5                  17                          len-16      len
//!  | 0x01   | key id u32 BE | nonce (96 bits)  | ciphertext                 | GCM tag   |
//!  AAD = "tessera/blob/v1" || key id u32 BE || caller AAD (e.g. the access key id)
//! ```
//! The caller's AAD binds a blob to its row: a blob copied to another access key does not open.
//! The label makes a blob's AAD differ from a session token's (5 bytes), so neither can be
//! passed off as the other.
//!
//! # Rotation rules for operators
//! A key that rotates out of the keyring takes everything sealed with it along: session tokens
//! and at-rest blobs. So (1) rotate session-token keys no more often than the longest session
//! (GetSessionToken: 36 hours); (2) after every rotation, re-seal stored blobs with
//! [`Keyring::reseal_blob`] before the next rotation, or keep a separate, rarely rotated keyring
//! for data at rest. Random 96-bit nonces are safe for about 2^32 seals per key; rotation keeps
//! every key far below that.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use serde::{Deserialize, Serialize};

use super::{RandomError, Secret, fill_random};
use crate::wipe::Wiped;

/// A key's identifier inside tokens and blobs. Random, so ids say nothing about rotation history
/// and keys from different keyrings rarely share an id.
pub type KeyId = u32;

/// How many generations older than the current key still decrypt. 1 = "current + previous".
pub(crate) const PREVIOUS_GENERATIONS: usize = 1;

/// AES-256 key length in bytes.
pub(crate) const KEY_LEN: usize = 32;

/// GCM tag length in bytes.
pub(crate) const TAG_LEN: usize = 16;

const FILE_FORMAT: &str = "tessera-keyring";
const FILE_VERSION: u32 = 1;
/// A keyring file is a few hundred bytes; anything much larger is not ours.
const MAX_FILE_LEN: u64 = 64 * 1024;

const BLOB_VERSION: u8 = 1;
const BLOB_AAD_LABEL: &[u8] = b"tessera/blob/v1";
const BLOB_HEADER_LEN: usize = 1 + 4 + NONCE_LEN;

/// Keyring construction, file and sealing errors. Messages never contain key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error("keyring file `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("keyring file `{path}` is accessible by group or others (mode {mode:o}); chmod 600 it")]
    InsecurePermissions { path: PathBuf, mode: u32 },
    #[error("keyring file `{path}` is malformed: {reason}")]
    Format { path: PathBuf, reason: String },
    #[error("invalid keyring: {0}")]
    Invalid(&'static str),
    #[error("encryption failed")]
    Crypto,
}

/// Why an at-rest blob did not open. Deliberately one undifferentiated case: unknown key,
/// tampering, wrong AAD and truncation look alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BlobError {
    #[error("sealed blob is invalid or was sealed with a retired key")]
    Invalid,
}

struct KeyEntry {
    id: KeyId,
    created_at: DateTime<Utc>,
    material: Secret,
    // ring keeps its own expanded copy of the key (not zeroized by ring); see report/STATUS.
    aead: LessSafeKey,
}

impl KeyEntry {
    fn new(id: KeyId, created_at: DateTime<Utc>, material: Secret) -> Result<Self, KeyringError> {
        if material.len() != KEY_LEN {
            return Err(KeyringError::Invalid("keys must be 32 bytes"));
        }
        let unbound = UnboundKey::new(&AES_256_GCM, material.expose_bytes())
            .map_err(|_| KeyringError::Invalid("keys must be 32 bytes"))?;
        Ok(Self {
            id,
            created_at,
            material,
            aead: LessSafeKey::new(unbound),
        })
    }

    fn random(id: KeyId, created_at: DateTime<Utc>) -> Result<Self, KeyringError> {
        let mut raw = Wiped::new(vec![0u8; KEY_LEN]);
        fill_random(&mut raw)?;
        Self::new(
            id,
            created_at,
            Secret::from_bytes(std::mem::take(&mut *raw)),
        )
    }
}

/// The server's AEAD keys: one current key that seals, and up to [`PREVIOUS_GENERATIONS`] older
/// keys that still open.
// INVARIANT: key ids are pairwise distinct; previous.len() <= PREVIOUS_GENERATIONS; previous is
// newest first.
pub struct Keyring {
    current: KeyEntry,
    previous: Vec<KeyEntry>,
    /// Tokens opened under this keyring (see [`super::token::open_for_access_key_cached`]).
    opened: super::token::OpenedTokens,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current.id)
            .field(
                "previous",
                &self.previous.iter().map(|k| k.id).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Keyring {
    /// The cache of tokens opened under this keyring.
    pub(crate) fn opened(&self) -> &super::token::OpenedTokens {
        &self.opened
    }

    /// A fresh keyring with one random key created at `now`.
    pub fn generate(now: DateTime<Utc>) -> Result<Self, KeyringError> {
        let id = random_key_id(&[])?;
        Ok(Self {
            current: KeyEntry::random(id, now)?,
            previous: Vec::new(),
            opened: Default::default(),
        })
    }

    /// A keyring from known keys (tests, fuzzing, importing). `previous` is newest first.
    pub fn from_keys(
        current: (KeyId, Secret),
        previous: Vec<(KeyId, Secret)>,
        created_at: DateTime<Utc>,
    ) -> Result<Self, KeyringError> {
        let current = KeyEntry::new(current.0, created_at, current.1)?;
        let previous = previous
            .into_iter()
            .map(|(id, key)| KeyEntry::new(id, created_at, key))
            .collect::<Result<Vec<_>, _>>()?;
        Self::checked(current, previous)
    }

    fn checked(current: KeyEntry, previous: Vec<KeyEntry>) -> Result<Self, KeyringError> {
        if previous.len() > PREVIOUS_GENERATIONS {
            return Err(KeyringError::Invalid("too many previous keys"));
        }
        let ring = Self {
            current,
            previous,
            opened: Default::default(),
        };
        let ids: Vec<KeyId> = ring.key_ids().collect();
        if ids
            .iter()
            .enumerate()
            .any(|(i, id)| ids.iter().skip(i + 1).any(|other| other == id))
        {
            return Err(KeyringError::Invalid("duplicate key id"));
        }
        Ok(ring)
    }

    /// Make a new random key current; the old current becomes the newest previous key and the
    /// oldest generation beyond [`PREVIOUS_GENERATIONS`] is dropped (zeroized). Returns the new id.
    pub fn rotate(&mut self, now: DateTime<Utc>) -> Result<KeyId, KeyringError> {
        let held: Vec<KeyId> = self.key_ids().collect();
        let id = random_key_id(&held)?;
        let fresh = KeyEntry::random(id, now)?;
        let old = std::mem::replace(&mut self.current, fresh);
        self.previous.insert(0, old);
        self.previous.truncate(PREVIOUS_GENERATIONS);
        // Tokens of a retired key must stop opening: forget everything opened so far.
        self.opened = Default::default();
        Ok(id)
    }

    pub fn current_id(&self) -> KeyId {
        self.current.id
    }

    /// When the current key was made: lets the caller decide when to [`Keyring::rotate`].
    pub fn current_created_at(&self) -> DateTime<Utc> {
        self.current.created_at
    }

    /// All key ids, current first, then previous newest first.
    pub fn key_ids(&self) -> impl Iterator<Item = KeyId> + '_ {
        std::iter::once(self.current.id).chain(self.previous.iter().map(|k| k.id))
    }

    /// The key material for `id`, if that key is still held.
    pub fn key(&self, id: KeyId) -> Option<&Secret> {
        self.entry(id).map(|k| &k.material)
    }

    fn entry(&self, id: KeyId) -> Option<&KeyEntry> {
        std::iter::once(&self.current)
            .chain(self.previous.iter())
            .find(|k| k.id == id)
    }

    pub(crate) fn current_aead(&self) -> (KeyId, &LessSafeKey) {
        (self.current.id, &self.current.aead)
    }

    pub(crate) fn aead(&self, id: KeyId) -> Option<&LessSafeKey> {
        self.entry(id).map(|k| &k.aead)
    }

    // ---------------------------------------------------------------- at-rest blobs

    /// Encrypt a small secret (e.g. a long-term secret access key) under the current key, bound
    /// to `aad` (e.g. its access key id). Layout in the module docs.
    pub fn seal_blob(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KeyringError> {
        let (id, key) = self.current_aead();
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce)?;
        let mut out = Vec::with_capacity(BLOB_HEADER_LEN + plaintext.len() + TAG_LEN);
        out.push(BLOB_VERSION);
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let body = out.get_mut(BLOB_HEADER_LEN..).ok_or(KeyringError::Crypto)?;
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(blob_aad(id, aad)),
                body,
            )
            .map_err(|_| KeyringError::Crypto)?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Decrypt a blob made by [`Keyring::seal_blob`] with the same `aad`, under whichever held
    /// key sealed it.
    pub fn open_blob(&self, blob: &[u8], aad: &[u8]) -> Result<Secret, BlobError> {
        let (version, rest) = blob.split_first().ok_or(BlobError::Invalid)?;
        if *version != BLOB_VERSION {
            return Err(BlobError::Invalid);
        }
        let (id_bytes, rest) = rest.split_first_chunk::<4>().ok_or(BlobError::Invalid)?;
        let (nonce, sealed) = rest
            .split_first_chunk::<NONCE_LEN>()
            .ok_or(BlobError::Invalid)?;
        if sealed.len() < TAG_LEN {
            return Err(BlobError::Invalid);
        }
        let id = KeyId::from_be_bytes(*id_bytes);
        let key = self.aead(id).ok_or(BlobError::Invalid)?;
        let mut buf = Wiped::new(sealed.to_vec());
        let plain_len = key
            .open_in_place(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(blob_aad(id, aad)),
                &mut buf,
            )
            .map_err(|_| BlobError::Invalid)?
            .len();
        buf.truncate(plain_len);
        Ok(Secret::from_bytes(std::mem::take(&mut *buf)))
    }

    /// The key id a blob claims to be sealed with (unauthenticated until it opens).
    pub fn blob_key_id(blob: &[u8]) -> Option<KeyId> {
        let (_, rest) = blob.split_first()?;
        rest.first_chunk::<4>().map(|b| KeyId::from_be_bytes(*b))
    }

    /// Re-encrypt a blob under the current key if it was sealed with a previous one:
    /// `Ok(Some(new_blob))` to store back, `Ok(None)` when it is already current.
    pub fn reseal_blob(&self, blob: &[u8], aad: &[u8]) -> Result<Option<Vec<u8>>, BlobError> {
        let plain = self.open_blob(blob, aad)?;
        if Self::blob_key_id(blob) == Some(self.current.id) {
            return Ok(None);
        }
        self.seal_blob(plain.expose_bytes(), aad)
            .map(Some)
            .map_err(|_| BlobError::Invalid)
    }

    // ---------------------------------------------------------------- file

    /// Read a keyring file (format in the module docs). Refuses files readable by group/others.
    pub fn load(path: &Path) -> Result<Self, KeyringError> {
        let io = |source| KeyringError::Io {
            path: path.to_owned(),
            source,
        };
        let malformed = |reason: String| KeyringError::Format {
            path: path.to_owned(),
            reason,
        };
        let file = File::open(path).map_err(io)?;
        // Check the opened file, not the path, so a swap between check and read is harmless.
        let meta = file.metadata().map_err(io)?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyringError::InsecurePermissions {
                path: path.to_owned(),
                mode,
            });
        }
        if meta.len() > MAX_FILE_LEN {
            return Err(malformed("file too large".into()));
        }
        // Capacity up front so reading never reallocates (no stray key copies in freed memory).
        let capacity = usize::try_from(meta.len()).unwrap_or(0).saturating_add(1);
        let mut bytes = Wiped::new(Vec::with_capacity(capacity));
        file.take(MAX_FILE_LEN + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        Self::from_bytes(&bytes, path)
    }

    /// A keyring from the bytes of its file (format in the module docs); `origin` names where
    /// they came from in errors.
    pub fn from_bytes(bytes: &[u8], origin: &Path) -> Result<Self, KeyringError> {
        let malformed = |reason: String| KeyringError::Format {
            path: origin.to_owned(),
            reason,
        };
        // serde_json messages may quote input; report only the position.
        let parsed: KeyringFile = serde_json::from_slice(bytes).map_err(|e| {
            malformed(format!(
                "{:?} error at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        if parsed.format != FILE_FORMAT || parsed.version != FILE_VERSION {
            return Err(malformed("unknown format or version".into()));
        }
        let entry = |k: KeyFileEntry| KeyEntry::new(k.id, k.created_at, k.key.0);
        let current = entry(parsed.current)?;
        let previous = parsed
            .previous
            .into_iter()
            .map(entry)
            .collect::<Result<Vec<_>, _>>()?;
        Self::checked(current, previous)
    }

    /// The keyring as its file's bytes (format in the module docs), wiped when dropped.
    pub(crate) fn to_bytes(&self) -> Result<super::secret::WipingBuf, KeyringError> {
        fn entry(k: &KeyEntry) -> KeyFileEntryOut<'_> {
            KeyFileEntryOut {
                id: k.id,
                created_at: k.created_at,
                key: &k.material,
            }
        }
        let file = KeyringFileOut {
            format: FILE_FORMAT,
            version: FILE_VERSION,
            current: entry(&self.current),
            previous: self.previous.iter().map(entry).collect(),
        };
        // Many previous keys can outgrow the first buffer: it wipes what it outgrows.
        let mut bytes = super::secret::WipingBuf::with_capacity(4096);
        serde_json::to_writer_pretty(&mut bytes, &file).map_err(|e| KeyringError::Io {
            path: std::path::PathBuf::new(),
            source: std::io::Error::other(e),
        })?;
        std::io::Write::write_all(&mut bytes, b"\n").map_err(|e| KeyringError::Io {
            path: std::path::PathBuf::new(),
            source: e,
        })?;
        Ok(bytes)
    }

    /// Write the keyring atomically with mode 0600: temp file in the same directory, fsync,
    /// rename over `path`, fsync the directory. Readers see the old file or the new one, never a
    /// torn one, even across a crash.
    pub fn save(&self, path: &Path) -> Result<(), KeyringError> {
        let io = |source| KeyringError::Io {
            path: path.to_owned(),
            source,
        };
        let bytes = self.to_bytes()?;

        let dir = parent_dir(path);
        let name = path
            .file_name()
            .ok_or_else(|| io(std::io::Error::other("path has no file name")))?;
        let mut suffix = [0u8; 4];
        fill_random(&mut suffix)?;
        let tmp = dir.join(format!(
            ".{}.tmp-{:08x}",
            name.to_string_lossy(),
            u32::from_be_bytes(suffix)
        ));

        let write_tmp = || -> std::io::Result<()> {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            // The umask can only remove bits, but be explicit in case the process's is odd.
            f.set_permissions(fs::Permissions::from_mode(0o600))?;
            f.write_all(bytes.as_slice())?;
            f.sync_all()
        };
        if let Err(e) = write_tmp().and_then(|()| fs::rename(&tmp, path)) {
            let _ = fs::remove_file(&tmp);
            return Err(io(e));
        }
        File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        Ok(())
    }
}

/// The directory to create the temp file in and to fsync: `Path::parent` of a bare file name is
/// `""`, which means the current directory.
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn blob_aad(id: KeyId, aad: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(BLOB_AAD_LABEL.len() + 4 + aad.len());
    out.extend_from_slice(BLOB_AAD_LABEL);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(aad);
    out
}

fn random_key_id(taken: &[KeyId]) -> Result<KeyId, RandomError> {
    loop {
        let mut raw = [0u8; 4];
        fill_random(&mut raw)?;
        let id = KeyId::from_be_bytes(raw);
        if !taken.contains(&id) {
            return Ok(id);
        }
    }
}

// ---------------------------------------------------------------- file schema

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyringFile {
    format: String,
    version: u32,
    current: KeyFileEntry,
    #[serde(default)]
    previous: Vec<KeyFileEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileEntry {
    id: KeyId,
    created_at: DateTime<Utc>,
    key: KeyMaterial,
}

#[derive(Serialize)]
struct KeyringFileOut<'a> {
    format: &'static str,
    version: u32,
    current: KeyFileEntryOut<'a>,
    previous: Vec<KeyFileEntryOut<'a>>,
}

#[derive(Serialize)]
struct KeyFileEntryOut<'a> {
    id: KeyId,
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "serialize_key")]
    key: &'a Secret,
}

fn serialize_key<S: serde::Serializer>(key: &&Secret, s: S) -> Result<S::Ok, S::Error> {
    let text = Wiped::new(base64::engine::general_purpose::STANDARD.encode(key.expose_bytes()));
    s.serialize_str(&text)
}

/// Base64 key text decoded straight into a [`Secret`], without an intermediate `String`.
struct KeyMaterial(Secret);

impl<'de> Deserialize<'de> for KeyMaterial {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = KeyMaterial;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a base64 key")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<KeyMaterial, E> {
                let mut raw = Wiped::new(Vec::with_capacity(KEY_LEN + 2));
                base64::engine::general_purpose::STANDARD
                    .decode_vec(v, &mut raw)
                    .map_err(|_| E::custom("key is not valid base64"))?;
                Ok(KeyMaterial(Secret::from_bytes(std::mem::take(&mut *raw))))
            }
        }
        d.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn generate_and_rotate_keep_current_plus_previous() {
        let mut ring = Keyring::generate(t0()).unwrap();
        let first = ring.current_id();
        assert_eq!(ring.key_ids().collect::<Vec<_>>(), vec![first]);
        assert_eq!(ring.key(first).unwrap().len(), KEY_LEN);

        let second = ring.rotate(t0() + chrono::TimeDelta::hours(24)).unwrap();
        assert_ne!(first, second);
        assert_eq!(ring.current_id(), second);
        assert_eq!(
            ring.current_created_at(),
            t0() + chrono::TimeDelta::hours(24)
        );
        assert_eq!(ring.key_ids().collect::<Vec<_>>(), vec![second, first]);
        assert!(ring.key(first).is_some());

        let third = ring.rotate(t0()).unwrap();
        assert_eq!(ring.key_ids().count(), 1 + PREVIOUS_GENERATIONS);
        assert_eq!(ring.key_ids().collect::<Vec<_>>(), vec![third, second]);
        assert!(ring.key(first).is_none(), "oldest generation retired");
    }

    #[test]
    fn debug_shows_ids_only() {
        let mut ring =
            Keyring::from_keys((7, Secret::from_bytes(vec![0x41; 32])), vec![], t0()).unwrap();
        ring.rotate(t0()).unwrap();
        let shown = format!("{ring:?} {ring:#?}");
        assert!(shown.contains('7'), "{shown}");
        assert!(
            !shown.contains("AAAA") && !shown.contains("65, 65"),
            "{shown}"
        );
        for id in ring.key_ids() {
            let key = ring.key(id).unwrap();
            let b64 = base64::engine::general_purpose::STANDARD.encode(key.expose_bytes());
            assert!(!shown.contains(&b64));
        }
    }

    #[test]
    fn from_keys_validates() {
        let k = || Secret::from_bytes(vec![1; 32]);
        assert!(matches!(
            Keyring::from_keys((1, Secret::from_bytes(vec![1; 16])), vec![], t0()),
            Err(KeyringError::Invalid(_))
        ));
        assert!(matches!(
            Keyring::from_keys((1, k()), vec![(1, k())], t0()),
            Err(KeyringError::Invalid(_))
        ));
        assert!(matches!(
            Keyring::from_keys((1, k()), vec![(2, k()), (3, k())], t0()),
            Err(KeyringError::Invalid(_))
        ));
        assert!(Keyring::from_keys((1, k()), vec![(2, k())], t0()).is_ok());
    }

    #[test]
    fn save_load_round_trip_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        let mut ring = Keyring::generate(t0()).unwrap();
        ring.rotate(t0() + chrono::TimeDelta::days(1)).unwrap();
        ring.save(&path).unwrap();

        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // No temp file left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

        let loaded = Keyring::load(&path).unwrap();
        assert_eq!(
            loaded.key_ids().collect::<Vec<_>>(),
            ring.key_ids().collect::<Vec<_>>()
        );
        assert_eq!(loaded.current_created_at(), ring.current_created_at());
        for id in ring.key_ids() {
            assert!(loaded.key(id).unwrap().ct_eq(ring.key(id).unwrap()));
        }
        // What one seals, the other opens.
        let blob = ring.seal_blob(b"secret", b"AKIAEXAMPLE").unwrap();
        assert_eq!(
            loaded
                .open_blob(&blob, b"AKIAEXAMPLE")
                .unwrap()
                .expose_bytes(),
            b"secret"
        );

        // Overwriting an existing file keeps it 0600 and replaces the content.
        ring.rotate(t0()).unwrap();
        ring.save(&path).unwrap();
        let reloaded = Keyring::load(&path).unwrap();
        assert_eq!(reloaded.current_id(), ring.current_id());
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn temp_file_directory() {
        assert_eq!(parent_dir(Path::new("keyring.json")), Path::new("."));
        assert_eq!(parent_dir(Path::new("./k.json")), Path::new("."));
        assert_eq!(
            parent_dir(Path::new("/etc/tessera/k.json")),
            Path::new("/etc/tessera")
        );
        assert_eq!(parent_dir(Path::new("data/k.json")), Path::new("data"));
    }

    #[test]
    fn load_refuses_group_or_world_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        Keyring::generate(t0()).unwrap().save(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        assert!(matches!(
            Keyring::load(&path),
            Err(KeyringError::InsecurePermissions { mode: 0o640, .. })
        ));
    }

    #[test]
    fn load_rejects_malformed_files_without_echoing_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        let write = |text: &str| {
            fs::write(&path, text).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        };
        let key = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
        let short = base64::engine::general_purpose::STANDARD.encode([9u8; 16]);
        let cases = [
            "".to_owned(),
            "{}".to_owned(),
            format!(
                r#"{{"format":"other","version":1,"current":{{"id":1,"created_at":"2026-01-01T00:00:00Z","key":"{key}"}}}}"#
            ),
            format!(
                r#"{{"format":"tessera-keyring","version":2,"current":{{"id":1,"created_at":"2026-01-01T00:00:00Z","key":"{key}"}}}}"#
            ),
            format!(
                r#"{{"format":"tessera-keyring","version":1,"current":{{"id":1,"created_at":"2026-01-01T00:00:00Z","key":"{short}"}}}}"#
            ),
            format!(
                r#"{{"format":"tessera-keyring","version":1,"current":{{"id":1,"created_at":"2026-01-01T00:00:00Z","key":"{key}"}},"previous":[{{"id":1,"created_at":"2026-01-01T00:00:00Z","key":"{key}"}}]}}"#
            ),
            format!(
                r#"{{"format":"tessera-keyring","version":1,"current":{{"id":"{key}","created_at":"2026-01-01T00:00:00Z","key":"{key}"}}}}"#
            ),
            format!(
                r#"{{"format":"tessera-keyring","version":1,"current":{{"id":1,"created_at":"2026-01-01T00:00:00Z","key":"{key}!"}}}}"#
            ),
            format!(
                r#"{{"format":"tessera-keyring","version":1,"extra":1,"current":{{"id":1,"created_at":"2026-01-01T00:00:00Z","key":"{key}"}}}}"#
            ),
        ];
        for case in &cases {
            write(case);
            let err = Keyring::load(&path).unwrap_err();
            let msg = err.to_string();
            assert!(!msg.contains(&key[..20]), "error echoes key: {msg}");
        }
        // And the well-formed version of the same file loads.
        write(&format!(
            r#"{{"format":"tessera-keyring","version":1,"current":{{"id":1,"created_at":"2026-01-01T00:00:00Z","key":"{key}"}}}}"#
        ));
        assert_eq!(Keyring::load(&path).unwrap().current_id(), 1);
    }

    #[test]
    fn load_missing_file_is_io_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            Keyring::load(&dir.path().join("absent")),
            Err(KeyringError::Io { .. })
        ));
    }

    #[test]
    fn blob_round_trip_and_aad_binding() {
        let ring = Keyring::generate(t0()).unwrap();
        let blob = ring
            .seal_blob(b"wJalrXUtnFEMI/K7MDENG", b"AKIAONE")
            .unwrap();
        assert_eq!(blob.len(), BLOB_HEADER_LEN + 21 + TAG_LEN);
        assert!(!blob.windows(8).any(|w| w == b"wJalrXUt"));
        assert_eq!(Keyring::blob_key_id(&blob), Some(ring.current_id()));
        assert_eq!(
            ring.open_blob(&blob, b"AKIAONE").unwrap().expose(),
            "wJalrXUtnFEMI/K7MDENG"
        );
        assert_eq!(ring.open_blob(&blob, b"AKIATWO"), Err(BlobError::Invalid));
        assert_eq!(ring.open_blob(&blob, b""), Err(BlobError::Invalid));

        // Every flipped bit, every truncation, any appended byte.
        for i in 0..blob.len() * 8 {
            let mut bad = blob.clone();
            bad[i / 8] ^= 1 << (i % 8);
            assert_eq!(
                ring.open_blob(&bad, b"AKIAONE"),
                Err(BlobError::Invalid),
                "bit {i}"
            );
        }
        for n in 0..blob.len() {
            assert_eq!(
                ring.open_blob(&blob[..n], b"AKIAONE"),
                Err(BlobError::Invalid)
            );
        }
        let mut longer = blob.clone();
        longer.push(0);
        assert_eq!(ring.open_blob(&longer, b"AKIAONE"), Err(BlobError::Invalid));

        // Another keyring cannot open it.
        let other = Keyring::generate(t0()).unwrap();
        assert_eq!(other.open_blob(&blob, b"AKIAONE"), Err(BlobError::Invalid));
    }

    #[test]
    fn blobs_survive_one_rotation_and_can_be_resealed() {
        let mut ring = Keyring::generate(t0()).unwrap();
        let blob = ring.seal_blob(b"s3cret", b"AKIA1").unwrap();
        assert_eq!(ring.reseal_blob(&blob, b"AKIA1").unwrap(), None);

        ring.rotate(t0()).unwrap();
        assert_eq!(ring.open_blob(&blob, b"AKIA1").unwrap().expose(), "s3cret");
        let resealed = ring.reseal_blob(&blob, b"AKIA1").unwrap().unwrap();
        assert_eq!(Keyring::blob_key_id(&resealed), Some(ring.current_id()));

        ring.rotate(t0()).unwrap();
        assert_eq!(
            ring.open_blob(&blob, b"AKIA1"),
            Err(BlobError::Invalid),
            "retired"
        );
        assert_eq!(
            ring.open_blob(&resealed, b"AKIA1").unwrap().expose(),
            "s3cret"
        );
    }

    #[test]
    fn empty_blob_plaintext() {
        let ring = Keyring::generate(t0()).unwrap();
        let blob = ring.seal_blob(b"", b"x").unwrap();
        assert!(ring.open_blob(&blob, b"x").unwrap().is_empty());
    }
}
