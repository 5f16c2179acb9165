//! Sealed files: an attachment (or its thumbnail) on disk as a header naming its key,
//! then segments of at most `SEGMENT` plain bytes, each sealed on its own (its nonce in
//! front, its tag behind). A segment's associated data names the file, the segment's
//! index and whether it is the last, so segments cannot be reordered, moved to another
//! file or cut off. A range reads and opens only the segments it covers.

use std::{
    fs::File,
    io::{Read, Seek, SeekFrom},
    ops::Range,
    path::Path,
};

use super::{Key, Keyring, OpenError, NONCE_BYTES};

const MAGIC: &[u8; 4] = b"TCF1";
/// Plain bytes per segment.
pub const SEGMENT: u64 = 64 * 1024;
/// What sealing adds to a segment: its nonce and its tag.
const OVERHEAD: u64 = NONCE_BYTES as u64 + 16;

fn aad(identity: &str, index: u64, last: bool) -> Vec<u8> {
    format!("tenantchat/file/{identity}/{index}/{last}").into_bytes()
}

/// `plain` sealed under `key` as the file named `identity` (its storage path).
pub fn seal(key: &Key, identity: &str, plain: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(plain.len() + 64);
    out.extend_from_slice(MAGIC);
    out.push(key.id.len() as u8);
    out.extend_from_slice(key.id.as_bytes());
    // An empty file is one empty segment, so its end is authenticated too.
    let chunks: Vec<&[u8]> = match plain.is_empty() {
        true => vec![&[]],
        false => plain.chunks(SEGMENT as usize).collect(),
    };
    let count = chunks.len();
    for (index, chunk) in chunks.into_iter().enumerate() {
        out.extend(key.seal(&aad(identity, index as u64, index + 1 == count), chunk));
    }
    out
}

/// A sealed file opened for reading.
pub struct SealedFile {
    file: File,
    key_id: String,
    /// Bytes of the header.
    start: u64,
    segments: u64,
    /// Plain bytes.
    pub size: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("reading a sealed file: {0}")]
    Io(#[from] std::io::Error),
    /// Plain bytes: the file does not start as a sealed one.
    #[error("not a sealed file")]
    NotSealed,
    /// It starts as a sealed file but its header or length do not add up.
    #[error("a damaged sealed file")]
    Damaged,
    #[error(transparent)]
    Open(#[from] OpenError),
}

impl SealedFile {
    pub fn open(path: &Path) -> Result<SealedFile, FileError> {
        let mut file = File::open(path)?;
        let length = file.metadata()?.len();
        let mut head = [0u8; 5];
        file.read_exact(&mut head).map_err(|_| FileError::NotSealed)?;
        if &head[..4] != MAGIC {
            return Err(FileError::NotSealed);
        }
        let mut id = vec![0u8; head[4] as usize];
        file.read_exact(&mut id)?;
        let key_id = String::from_utf8(id).map_err(|_| FileError::Damaged)?;
        let start = 5 + key_id.len() as u64;
        let body = length.checked_sub(start).ok_or(FileError::Damaged)?;
        let segments = body.div_ceil(SEGMENT + OVERHEAD);
        let size = body
            .checked_sub(segments * OVERHEAD)
            .filter(|_| segments > 0)
            .ok_or(FileError::Damaged)?;
        Ok(SealedFile {
            file,
            key_id,
            start,
            segments,
            size,
        })
    }

    /// The id of the key the file is sealed with.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The plain bytes of `range` (within `0..size`), from the segments that hold them.
    pub fn read(&mut self, keyring: &Keyring, identity: &str, range: Range<u64>) -> Result<Vec<u8>, FileError> {
        let first = range.start / SEGMENT;
        let last = match range.end > range.start {
            true => (range.end - 1) / SEGMENT,
            false => first,
        };
        self.file
            .seek(SeekFrom::Start(self.start + first * (SEGMENT + OVERHEAD)))?;
        let mut plain = Vec::with_capacity((range.end - range.start) as usize);
        for index in first..=last.min(self.segments - 1) {
            let sealed_len = match index + 1 == self.segments {
                true => self.size - index * SEGMENT + OVERHEAD,
                false => SEGMENT + OVERHEAD,
            };
            let mut sealed = vec![0u8; sealed_len as usize];
            self.file.read_exact(&mut sealed)?;
            let aad = aad(identity, index, index + 1 == self.segments);
            let segment = keyring.open(&self.key_id, &aad, &sealed)?;
            let offset = index * SEGMENT;
            let from = range.start.saturating_sub(offset) as usize;
            let to = (range.end - offset).min(segment.len() as u64) as usize;
            plain.extend_from_slice(&segment[from.min(to)..to]);
        }
        Ok(plain)
    }

    /// Every plain byte.
    pub fn read_all(&mut self, keyring: &Keyring, identity: &str) -> Result<Vec<u8>, FileError> {
        self.read(keyring, identity, 0..self.size)
    }
}

#[cfg(test)]
mod tests {
    use base64::{engine::general_purpose::STANDARD, Engine};

    use super::*;
    use crate::config::Config;

    #[test]
    fn any_range_of_a_sealed_file_reads_back() {
        let mut config = Config::for_tests(std::env::temp_dir());
        config.encryption_key = Some(format!("k1:{}", STANDARD.encode([7u8; 32])));
        let keyring = Keyring::from_config(&config).unwrap();
        let key = keyring.current().unwrap();
        let dir = std::env::temp_dir().join(format!("sealed-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        for size in [
            0usize,
            1,
            SEGMENT as usize,
            SEGMENT as usize + 1,
            3 * SEGMENT as usize + 17,
        ] {
            let plain: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let path = dir.join(size.to_string());
            std::fs::write(&path, seal(key, "a/b", &plain)).unwrap();
            let mut file = SealedFile::open(&path).unwrap();
            assert_eq!(file.size, size as u64);
            assert_eq!(file.read_all(&keyring, "a/b").unwrap(), plain);
            for range in [0..size.min(10), size / 3..size / 2, size.saturating_sub(5)..size] {
                let got = file
                    .read(&keyring, "a/b", range.start as u64..range.end as u64)
                    .unwrap();
                assert_eq!(got, plain[range.clone()], "{size} {range:?}");
            }
            if size > 0 {
                assert!(file.read_all(&keyring, "a/c").is_err(), "bound to its file");
            }
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
