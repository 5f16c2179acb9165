//! Attachment files under encryption at rest (docs/encryption.md): sealing one in place
//! (`crypto::files` format, named by its storage path so it cannot pass for another
//! file) and reading a range of a sealed one. Files are at most `MAX_UPLOAD_BYTES`, so
//! sealing reads them whole; reading opens only the segments a range covers.

use std::{ops::Range, path::Path};

use crate::{
    crypto::{
        self,
        files::{self, FileError, SealedFile},
        Key,
    },
    error::{Error, Result},
};

/// Replaces the file at `path` by its bytes sealed under `key` as `identity`, or plain
/// without a key (a sealed file is opened first, with whichever configured key sealed
/// it). The new file goes into place by a rename, so a reader sees either the old file or
/// the new one.
pub(crate) async fn seal_in_place(key: Option<&Key>, path: &Path, identity: &str) -> Result<()> {
    let (key, path, identity) = (key.cloned(), path.to_path_buf(), identity.to_string());
    tokio::task::spawn_blocking(move || {
        let failed = |err: &dyn std::fmt::Display| Error::internal(format!("{}: {err}", path.display()));
        let plain = match SealedFile::open(&path) {
            Ok(mut sealed) => sealed.read_all(&crypto::keyring(), &identity).map_err(|e| failed(&e))?,
            Err(FileError::NotSealed) => std::fs::read(&path).map_err(|e| failed(&e))?,
            Err(err) => return Err(failed(&err)),
        };
        let temp = path.with_extension("sealing");
        let bytes = match &key {
            Some(key) => files::seal(key, &identity, &plain),
            None => plain,
        };
        std::fs::write(&temp, bytes).map_err(Error::internal)?;
        std::fs::rename(&temp, &path).map_err(Error::internal)
    })
    .await
    .map_err(Error::internal)?
}

// A row that names a key may find its file already plain: `keys decrypt` renamed it into
// place and has not committed the row yet. Such a file is read as it is.

/// A sealed file's plain size.
pub async fn plain_size(path: &Path) -> Result<u64> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || match SealedFile::open(&path) {
        Err(FileError::NotSealed) => Ok(std::fs::metadata(&path)?.len()),
        opened => opened.map(|f| f.size),
    })
    .await
    .map_err(Error::internal)?
    .map_err(not_found_or_internal)
}

/// The plain bytes `range` of the sealed file at `path`, named `identity`.
pub async fn read(path: &Path, identity: &str, range: Range<u64>) -> Result<Vec<u8>> {
    let (path, identity) = (path.to_path_buf(), identity.to_string());
    tokio::task::spawn_blocking(move || match SealedFile::open(&path) {
        Err(FileError::NotSealed) => read_plain(&path, range),
        opened => opened?.read(&crypto::keyring(), &identity, range),
    })
    .await
    .map_err(Error::internal)?
    .map_err(not_found_or_internal)
}

fn read_plain(path: &Path, range: Range<u64>) -> std::result::Result<Vec<u8>, FileError> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(range.start))?;
    let mut bytes = Vec::new();
    file.take(range.end - range.start).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn not_found_or_internal(err: FileError) -> Error {
    match err {
        FileError::Io(io) if io.kind() == std::io::ErrorKind::NotFound => Error::not_found("Attachment"),
        err => Error::internal(err),
    }
}
