//! What an uploaded file is, judged by its bytes: `UploadKind`, the sniffer that watches
//! a file stream by. A file's name and declared type never decide what it is; they can
//! only make a text file suspicious (a "text" file named `x.js` or declared `image/png` is
//! a script or a spoof, and is refused). What the file is then called is `filenames.rs`.

use std::fmt;

/// The allowed kinds of attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadKind {
    Jpeg,
    Png,
    Gif,
    Webp,
    Pdf,
    Doc,
    Docx,
    Xls,
    Xlsx,
    Ppt,
    Pptx,
    Odt,
    Ods,
    Text,
    Csv,
}

impl UploadKind {
    pub const ALL: [UploadKind; 15] = [
        UploadKind::Jpeg,
        UploadKind::Png,
        UploadKind::Gif,
        UploadKind::Webp,
        UploadKind::Pdf,
        UploadKind::Doc,
        UploadKind::Docx,
        UploadKind::Xls,
        UploadKind::Xlsx,
        UploadKind::Ppt,
        UploadKind::Pptx,
        UploadKind::Odt,
        UploadKind::Ods,
        UploadKind::Text,
        UploadKind::Csv,
    ];

    /// The stored and served `Content-Type`.
    pub fn mime(self) -> &'static str {
        match self {
            UploadKind::Jpeg => "image/jpeg",
            UploadKind::Png => "image/png",
            UploadKind::Gif => "image/gif",
            UploadKind::Webp => "image/webp",
            UploadKind::Pdf => "application/pdf",
            UploadKind::Doc => "application/msword",
            UploadKind::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            UploadKind::Xls => "application/vnd.ms-excel",
            UploadKind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            UploadKind::Ppt => "application/vnd.ms-powerpoint",
            UploadKind::Pptx => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            UploadKind::Odt => "application/vnd.oasis.opendocument.text",
            UploadKind::Ods => "application/vnd.oasis.opendocument.spreadsheet",
            UploadKind::Text => "text/plain; charset=utf-8",
            UploadKind::Csv => "text/csv; charset=utf-8",
        }
    }

    pub fn from_mime(mime: &str) -> Option<UploadKind> {
        UploadKind::ALL.into_iter().find(|kind| kind.mime() == mime)
    }

    /// The extensions a file of this kind may carry; it gets the first when its name has
    /// none of them.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            UploadKind::Jpeg => &["jpg", "jpeg", "jpe"],
            UploadKind::Png => &["png"],
            UploadKind::Gif => &["gif"],
            UploadKind::Webp => &["webp"],
            UploadKind::Pdf => &["pdf"],
            UploadKind::Doc => &["doc"],
            UploadKind::Docx => &["docx"],
            UploadKind::Xls => &["xls"],
            UploadKind::Xlsx => &["xlsx"],
            UploadKind::Ppt => &["ppt"],
            UploadKind::Pptx => &["pptx"],
            UploadKind::Odt => &["odt"],
            UploadKind::Ods => &["ods"],
            UploadKind::Text => &["txt", "text", "log", "md"],
            UploadKind::Csv => &["csv"],
        }
    }

    /// `extension` (without its dot, in any case) is one of this kind's.
    pub fn has_extension(self, extension: &str) -> bool {
        self.extensions().iter().any(|e| e.eq_ignore_ascii_case(extension))
    }

    /// Images are shown inline; the others always download.
    pub fn is_image(self) -> bool {
        matches!(
            self,
            UploadKind::Jpeg | UploadKind::Png | UploadKind::Gif | UploadKind::Webp
        )
    }
}

impl fmt::Display for UploadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mime())
    }
}

/// How much of a file's start is kept for detection (ZIP-based Office formats name
/// their parts in the first local headers).
const HEAD: usize = 64 * 1024;
const OLE2_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// docx / xlsx / pptx by their parts, read from the ZIP central directory: a
/// `[Content_Types].xml` and the main part of one application. (Which entry comes first
/// differs between Word, Excel, LibreOffice and other writers.)
fn office_open_xml(zip: &[u8]) -> Option<UploadKind> {
    let names = zip_entry_names(zip)?;
    if !names.contains(&b"[Content_Types].xml".as_slice()) {
        return None;
    }
    let has = |part: &[u8]| names.contains(&part);
    if has(b"word/document.xml") {
        Some(UploadKind::Docx)
    } else if has(b"xl/workbook.xml") {
        Some(UploadKind::Xlsx)
    } else if has(b"ppt/presentation.xml") {
        Some(UploadKind::Pptx)
    } else {
        None
    }
}

/// The entry names of a ZIP archive, from its central directory; `None` if there is none.
fn zip_entry_names(zip: &[u8]) -> Option<Vec<&[u8]>> {
    let u16_at = |at: usize| Some(u16::from_le_bytes(zip.get(at..at + 2)?.try_into().ok()?) as usize);
    let u32_at = |at: usize| Some(u32::from_le_bytes(zip.get(at..at + 4)?.try_into().ok()?) as usize);
    // The end-of-central-directory record: within the last 64 KiB (+ its 22 bytes).
    let search_from = zip.len().saturating_sub(65_557);
    let end = (search_from..zip.len().saturating_sub(21))
        .rev()
        .find(|&i| zip[i..].starts_with(b"PK\x05\x06"))?;
    let (entries, mut at) = (u16_at(end + 10)?, u32_at(end + 16)?);
    let mut names = Vec::with_capacity(entries);
    for _ in 0..entries {
        if !zip.get(at..)?.starts_with(b"PK\x01\x02") {
            return None;
        }
        let (name_len, extra_len, comment_len) = (u16_at(at + 28)?, u16_at(at + 30)?, u16_at(at + 32)?);
        names.push(zip.get(at + 46..at + 46 + name_len)?);
        at += 46 + name_len + extra_len + comment_len;
    }
    Some(names)
}

/// Watches a file's bytes go by: keeps its start, and checks on the way whether the
/// whole of it is UTF-8 text without NUL bytes.
#[derive(Default)]
pub struct Sniffer {
    head: Vec<u8>,
    /// An incomplete UTF-8 sequence at the end of the last chunk.
    carry: Vec<u8>,
    not_text: bool,
    len: u64,
}

impl Sniffer {
    pub fn feed(&mut self, chunk: &[u8]) {
        self.len += chunk.len() as u64;
        if self.head.len() < HEAD {
            let take = (HEAD - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        if self.not_text {
            return;
        }
        if chunk.contains(&0) {
            self.not_text = true;
            return;
        }
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(chunk);
        match std::str::from_utf8(&data) {
            Ok(_) => {}
            Err(err) if err.error_len().is_none() => self.carry = data[err.valid_up_to()..].to_vec(),
            Err(_) => self.not_text = true,
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Legacy Office files (OLE2 compound files) are told apart by their root entry, and
    /// Office Open XML files by the names in their ZIP directory at the end of the file:
    /// detection then needs the whole file (at most 10 MiB).
    pub fn needs_whole_file(&self) -> bool {
        self.head.starts_with(&OLE2_MAGIC) || self.head.starts_with(ZIP_MAGIC)
    }

    fn is_text(&self) -> bool {
        !self.not_text && self.carry.is_empty()
    }

    /// Decides the kind. `whole` is the whole file when `needs_whole_file()`.
    pub fn detect(&self, whole: Option<&[u8]>, filename: &str, declared: Option<&str>) -> Result<UploadKind, String> {
        if self.is_empty() {
            return Err(format!("{filename:?} is empty"));
        }
        let bytes = whole.unwrap_or(&self.head);
        if let Some(kind) = whole.and_then(office_open_xml) {
            return Ok(kind);
        }
        if let Some(found) = infer::get(bytes) {
            match UploadKind::from_mime(found.mime_type()) {
                Some(kind) => return Ok(kind),
                // Some signatures are two letters (`BM`, `MZ`, `%!`); a file that is
                // entirely text is judged as text, whatever its first letters.
                None if self.is_text() && !found.mime_type().starts_with("text/") => {}
                None => {
                    return Err(format!(
                        "{filename:?} is {}, which is not an allowed type",
                        found.mime_type()
                    ))
                }
            }
        }
        if self.needs_whole_file() {
            return Err(format!(
                "{filename:?} is an OLE2 compound file that is not a Word, Excel or PowerPoint document"
            ));
        }
        if !self.is_text() {
            return Err(format!("{filename:?} is not of an allowed type"));
        }
        text_kind(&self.head, filename, declared)
    }
}

/// Text is allowed as plain text or CSV, but not markup (HTML, SVG, XML) or scripts, and
/// not when its name or declared type says it is something else.
fn text_kind(head: &[u8], filename: &str, declared: Option<&str>) -> Result<UploadKind, String> {
    let start = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = start.trim_ascii_start();
    if start.starts_with(b"<") || start.starts_with(b"#!") {
        return Err(format!(
            "{filename:?} is markup or a script, which is not an allowed type"
        ));
    }
    let declared = declared.map(|d| d.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    let text_extension = match filename.rsplit_once('.') {
        None => Some(UploadKind::Text),
        Some((_, extension)) => [UploadKind::Text, UploadKind::Csv]
            .into_iter()
            .find(|kind| kind.has_extension(extension)),
    };
    // Browsers declare CSV variously (Windows says application/vnd.ms-excel).
    let text_declared = matches!(
        declared.as_deref(),
        None | Some(
            "" | "text/plain"
                | "text/csv"
                | "application/csv"
                | "application/octet-stream"
                | "application/vnd.ms-excel"
        )
    );
    match (text_extension, text_declared) {
        (Some(kind), true) => Ok(kind),
        _ => Err(format!(
            "{filename:?} holds text but claims to be something else; refused"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniff(bytes: &[u8]) -> Sniffer {
        let mut sniffer = Sniffer::default();
        for chunk in bytes.chunks(3) {
            sniffer.feed(chunk);
        }
        sniffer
    }

    fn detect(bytes: &[u8], name: &str, declared: Option<&str>) -> Result<UploadKind, String> {
        sniff(bytes).detect(None, name, declared)
    }

    #[test]
    fn binary_kinds_come_from_magic_bytes_whatever_the_name() {
        assert_eq!(
            detect(b"\x89PNG\r\n\x1a\n rest", "photo.txt", Some("text/plain")),
            Ok(UploadKind::Png)
        );
        assert_eq!(detect(b"%PDF-1.7\n...", "x", None), Ok(UploadKind::Pdf));
        assert_eq!(detect(b"GIF89a....", "a.gif", None), Ok(UploadKind::Gif));
    }

    #[test]
    fn executables_markup_and_scripts_are_refused() {
        assert!(detect(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0", "cat.png", Some("image/png")).is_err());
        assert!(detect(b"MZ\x90\0\x03\0\0\0", "setup.png", None).is_err());
        assert!(detect(b"<!DOCTYPE html><script>x</script>", "page.txt", Some("text/plain")).is_err());
        assert!(detect(b"  <svg xmlns='http://www.w3.org/2000/svg'/>", "logo.txt", None).is_err());
        assert!(detect(b"\xEF\xBB\xBF<?xml version='1.0'?>", "data.txt", None).is_err());
        assert!(detect(b"#!/bin/sh\nrm -rf /", "run.txt", None).is_err());
        assert!(
            detect(b"alert(document.cookie)", "image.png", Some("image/png")).is_err(),
            "a spoofed script"
        );
        assert!(detect(b"alert(document.cookie)", "x.js", Some("text/plain")).is_err());
    }

    #[test]
    fn text_and_csv_are_valid_utf8_without_nul() {
        assert_eq!(
            detect("olá, mundo\n".as_bytes(), "notes.txt", Some("text/plain")),
            Ok(UploadKind::Text)
        );
        assert_eq!(
            detect(b"a,b\n1,2\n", "data.csv", Some("application/vnd.ms-excel")),
            Ok(UploadKind::Csv)
        );
        assert_eq!(detect(b"no name", "", None), Ok(UploadKind::Text));
        assert!(detect(b"bad \xff utf8", "x.txt", None).is_err());
        assert!(detect(b"nul\0inside", "x.txt", None).is_err());
        assert!(
            detect("cut é".as_bytes().split_last().unwrap().1, "x.txt", None).is_err(),
            "truncated UTF-8"
        );
        assert!(detect(b"", "empty.txt", None).is_err());
    }

    /// A stored (uncompressed) ZIP with these entries, central directory included.
    fn zip(entries: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut directory = Vec::new();
        for name in entries {
            let offset = out.len() as u32;
            out.extend_from_slice(b"PK\x03\x04");
            out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(name.as_bytes());
            directory.extend_from_slice(b"PK\x01\x02");
            directory.extend_from_slice(&[0; 24]);
            directory.extend_from_slice(&(name.len() as u16).to_le_bytes());
            directory.extend_from_slice(&[0; 12]);
            directory.extend_from_slice(&offset.to_le_bytes());
            directory.extend_from_slice(name.as_bytes());
        }
        let directory_at = out.len() as u32;
        out.extend_from_slice(&directory);
        out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(directory.len() as u32).to_le_bytes());
        out.extend_from_slice(&directory_at.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out
    }

    #[test]
    fn office_open_xml_is_recognised_whatever_the_entry_order() {
        let detect_whole = |bytes: Vec<u8>| sniff(&bytes).detect(Some(&bytes), "x", None);
        let docx = zip(&[
            "[Content_Types].xml",
            "_rels/.rels",
            "docProps/app.xml",
            "docProps/core.xml",
            "word/document.xml",
        ]);
        assert_eq!(detect_whole(docx), Ok(UploadKind::Docx));
        let xlsx = zip(&["_rels/.rels", "xl/workbook.xml", "[Content_Types].xml"]);
        assert_eq!(detect_whole(xlsx), Ok(UploadKind::Xlsx));
        assert_eq!(
            detect_whole(zip(&["[Content_Types].xml", "ppt/presentation.xml"])),
            Ok(UploadKind::Pptx)
        );
        assert!(
            detect_whole(zip(&["evil.exe", "readme.txt"])).is_err(),
            "a plain ZIP is not allowed"
        );
    }

    #[test]
    fn text_that_begins_like_a_short_signature_is_still_text() {
        assert_eq!(
            detect(b"BMI,weight\n22,70\n", "bmi.csv", Some("text/csv")),
            Ok(UploadKind::Csv)
        );
        assert_eq!(detect(b"MZ notes\n", "notes.txt", None), Ok(UploadKind::Text));
    }
}
