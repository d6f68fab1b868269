//! The master key of a cluster: what each node is given (`TESSERA_MASTER_KEY`, or the file
//! `master_key_file` names) so that the keyring stored in the shared database opens. The
//! database alone therefore opens nothing: it holds the keyring sealed under this key.
//!
//! 32 random bytes, written in standard base64 (`openssl rand -base64 32`). Sealing is the
//! keyring's own at-rest blob format with this key as its only key; the key's id is the first
//! four bytes of its SHA-256, so a node given another master key is told so plainly.

use std::path::Path;

use sha2::Digest as _;

use super::{Keyring, Secret};

/// Bytes of a master key.
pub const MASTER_KEY_LEN: usize = 32;

/// What the cluster keyring's seal is bound to.
const KEYRING_AAD: &[u8] = b"tessera/cluster-keyring";

/// A cluster's master key.
pub struct MasterKey(Keyring);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.0.current_id())
            .finish_non_exhaustive()
    }
}

impl MasterKey {
    /// A master key from its base64 text (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<MasterKey, String> {
        use base64::Engine as _;
        let raw = crate::wipe::Wiped::new(
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| "the master key is not base64".to_owned())?,
        );
        if raw.len() != MASTER_KEY_LEN {
            return Err(format!(
                "the master key must be {MASTER_KEY_LEN} bytes (openssl rand -base64 32), not {}",
                raw.len()
            ));
        }
        let digest = sha2::Sha256::digest(raw.as_slice());
        let mut head = [0u8; 4];
        head.copy_from_slice(digest.get(..4).unwrap_or(&[0; 4]));
        let id = u32::from_be_bytes(head);
        let keyring = Keyring::from_keys(
            (id, Secret::from_bytes(raw.to_vec())),
            Vec::new(),
            chrono::DateTime::UNIX_EPOCH,
        )
        .map_err(|e| e.to_string())?;
        Ok(MasterKey(keyring))
    }

    /// The master key in the file `path` (base64; the file must be its owner's only).
    pub fn from_file(path: &Path) -> Result<MasterKey, String> {
        use std::os::unix::fs::PermissionsExt as _;
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(format!(
                "{} is accessible by group or others; chmod 600 it",
                path.display()
            ));
        }
        let text = crate::wipe::Wiped::new(
            std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?,
        );
        Self::from_base64(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The keyring, sealed for the database.
    pub(crate) fn seal_keyring(&self, keyring: &Keyring) -> Result<Vec<u8>, String> {
        let bytes = keyring.to_bytes().map_err(|e| e.to_string())?;
        self.0
            .seal_blob(bytes.as_slice(), KEYRING_AAD)
            .map_err(|e| e.to_string())
    }

    /// The keyring the database holds; an error naming the reason when this key does not open
    /// it.
    pub(crate) fn open_keyring(&self, sealed: &[u8]) -> Result<Keyring, String> {
        if Keyring::blob_key_id(sealed) != Some(self.0.current_id()) {
            return Err(
                "the master key is not the one the cluster's keyring is sealed with".into(),
            );
        }
        let plain = self
            .0
            .open_blob(sealed, KEYRING_AAD)
            .map_err(|_| "the cluster's keyring does not open with the master key (tampered?)")?;
        Keyring::from_bytes(plain.expose_bytes(), Path::new("<database keyring>"))
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";

    #[test]
    fn a_keyring_sealed_under_a_master_key_opens_only_with_it() {
        let m = MasterKey::from_base64(KEY).unwrap();
        let k = Keyring::generate(chrono::Utc::now()).unwrap();
        let sealed = m.seal_keyring(&k).unwrap();
        assert_eq!(
            m.open_keyring(&sealed).unwrap().current_id(),
            k.current_id()
        );
        let other = MasterKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
        assert!(
            other
                .open_keyring(&sealed)
                .unwrap_err()
                .contains("not the one")
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(m.open_keyring(&tampered).is_err());
        assert!(!format!("{m:?}").contains(KEY));
    }

    #[test]
    fn a_master_key_is_32_bytes_of_base64() {
        assert!(MasterKey::from_base64("not base64!").is_err());
        assert!(
            MasterKey::from_base64("AAEC")
                .unwrap_err()
                .contains("32 bytes")
        );
    }
}
