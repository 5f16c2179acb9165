//! Encryption at rest (docs/encryption.md): AES-256-GCM under named keys. A record is
//! sealed with the current key and a fresh random 96-bit nonce, and with associated data
//! naming the row it belongs to, so a ciphertext moved to another row does not open.
//! Earlier keys are kept for reading while `tenantchat keys rotate` moves records to the
//! current one. `files` seals attachment files in segments, so a range reads only the
//! segments it covers.

pub mod files;

use std::sync::{Arc, RwLock};

use aes_gcm::{
    aead::{Aead, KeyInit, Payload},
    Aes256Gcm, Nonce,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use rand::RngCore;

use crate::config::Config;

/// Bytes of a nonce, stored in front of each ciphertext.
pub const NONCE_BYTES: usize = 12;

/// One named key.
#[derive(Clone)]
pub struct Key {
    pub id: String,
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.id)
    }
}

impl Key {
    /// `<id>:<base64 of 32 bytes>`; the id is 1–32 letters, digits, `-` or `_`.
    pub fn parse(text: &str) -> Result<Key, String> {
        let (id, material) = text
            .trim()
            .split_once(':')
            .ok_or("an encryption key is written <key id>:<base64 of 32 bytes>")?;
        let id_ok =
            !id.is_empty() && id.len() <= 32 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !id_ok {
            return Err(format!("encryption key id {id:?}: 1 to 32 letters, digits, - or _"));
        }
        let bytes = STANDARD
            .decode(material)
            .map_err(|_| format!("encryption key {id}: not base64"))?;
        let cipher = Aes256Gcm::new_from_slice(&bytes)
            .map_err(|_| format!("encryption key {id}: {} bytes, AES-256 needs 32", bytes.len()))?;
        Ok(Key {
            id: id.to_string(),
            cipher,
        })
    }

    /// `nonce ‖ ciphertext ‖ tag` of `plain`, bound to `aad`.
    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        self.seal_with_nonce(&nonce, aad, plain)
    }

    /// Like `seal`, with a nonce the caller guarantees is never used twice under this key.
    pub fn seal_with_nonce(&self, nonce: &[u8; NONCE_BYTES], aad: &[u8], plain: &[u8]) -> Vec<u8> {
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(nonce), Payload { msg: plain, aad })
            .expect("AES-GCM encrypts any message shorter than 64 GiB");
        [nonce.as_slice(), &sealed].concat()
    }

    /// The plaintext of what `seal` made with the same `aad`, or `None` when it does not
    /// authenticate (another key, another row, altered bytes).
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad })
            .ok()
    }
}

/// The configured keys: the current one (new records) and earlier ones (reading only).
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    current: Option<Key>,
    old: Vec<Key>,
}

/// A record that does not open: its key is not configured, or it does not authenticate.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("a record is encrypted with key {0:?}, which is not configured (CHAT_ENCRYPTION_KEY / CHAT_ENCRYPTION_OLD_KEYS)")]
    UnknownKey(String),
    #[error("a record encrypted with key {0:?} does not decrypt: wrong key material or altered data")]
    Corrupt(String),
}

impl Keyring {
    pub fn from_config(config: &Config) -> Result<Keyring, String> {
        let current = config.encryption_key.as_deref().map(Key::parse).transpose()?;
        let old = config
            .encryption_old_keys
            .iter()
            .filter(|text| !text.trim().is_empty())
            .map(|text| Key::parse(text))
            .collect::<Result<Vec<_>, _>>()?;
        // Earlier keys without a current one read what they sealed while new records are
        // stored plain: how `keys decrypt` turns encryption off without downtime.
        let mut ids: Vec<&str> = current.iter().chain(&old).map(|k| k.id.as_str()).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err("two encryption keys share an id".into());
        }
        Ok(Keyring { current, old })
    }

    /// The key new records are sealed with; `None`: encryption is off.
    pub fn current(&self) -> Option<&Key> {
        self.current.as_ref()
    }

    /// A configured key by id, current or earlier.
    pub fn key(&self, id: &str) -> Option<&Key> {
        self.current.iter().chain(&self.old).find(|k| k.id == id)
    }

    /// Every configured key, the current one first.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.current.iter().chain(&self.old)
    }

    /// Opens `sealed` under key `key_id`.
    pub fn open(&self, key_id: &str, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        let key = self.key(key_id).ok_or_else(|| OpenError::UnknownKey(key_id.into()))?;
        key.open(aad, sealed).ok_or_else(|| OpenError::Corrupt(key_id.into()))
    }
}

/// The process's keys. One set per process, installed by `lib::build` before serving and
/// by the `keys` commands: every layer that stores or reads content reaches them here
/// rather than through each function's arguments.
static KEYRING: RwLock<Option<Arc<Keyring>>> = RwLock::new(None);

pub fn install(keyring: Keyring) {
    *KEYRING.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(keyring));
}

/// The installed keys (none installed: encryption off).
pub fn keyring() -> Arc<Keyring> {
    KEYRING
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, byte: u8) -> Key {
        Key::parse(&format!("{id}:{}", STANDARD.encode([byte; 32]))).unwrap()
    }

    #[test]
    fn a_sealed_record_opens_only_with_its_key_and_row() {
        let k1 = key("k1", 1);
        let sealed = k1.seal(b"row 1", b"hello");
        assert_eq!(k1.open(b"row 1", &sealed).unwrap(), b"hello");
        assert!(k1.open(b"row 2", &sealed).is_none(), "bound to its row");
        assert!(key("k1", 2).open(b"row 1", &sealed).is_none(), "bound to its key");
        assert_ne!(k1.seal(b"row 1", b"hello"), sealed, "a fresh nonce each time");
    }

    #[test]
    fn keys_are_read_as_id_colon_base64() {
        assert!(Key::parse("k1:AAAA").unwrap_err().contains("32"));
        assert!(Key::parse("no-colon").is_err());
        assert!(Key::parse("bad id:AAAA").is_err());
        assert!(Key::parse(&format!("k1:{}", STANDARD.encode([0u8; 32]))).is_ok());
    }
}
