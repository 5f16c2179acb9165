//! What an attachment is called: the name the client sent, cleaned of paths and of the
//! characters that disguise a name, with the extension of the type its bytes are (a PNG
//! sent as `x.html` is kept as `x.png`). Names are metadata only, never part of a path.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use super::uploads::UploadKind;

/// The longest file name kept, in characters.
const MAX_NAME: usize = 200;

/// The original file name as metadata: last path component only, nothing that hides (see
/// `disguises`), no leading dots, at most `MAX_NAME` characters; never used to build a
/// path.
pub fn sanitize(raw: Option<&str>) -> String {
    let base = raw.unwrap_or("").rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|&c| !disguises(c)).collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    if trimmed.is_empty() {
        return "attachment".to_string();
    }
    trimmed.chars().take(MAX_NAME).collect()
}

/// Characters that change how a name looks without being seen: control characters, the
/// line and paragraph separators, and Unicode format characters — bidi overrides,
/// embeddings and isolates (U+202E shows `invoice\u{202E}gpj.exe` as `invoiceexe.jpg`),
/// the direction marks, zero-width spaces, the BOM, the soft hyphen, tags. The zero-width
/// joiner and non-joiner stay: emoji sequences and several scripts need them, and they
/// reorder nothing.
fn disguises(c: char) -> bool {
    let hidden = matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    );
    hidden && !matches!(c, '\u{200C}' | '\u{200D}')
}

/// The name to serve a stored file under: today's rules applied to the stored name, so
/// that a name kept before them (`x.html` for a PNG, a bidi override) is served safely too.
pub fn served(content_type: &str, stored: &str) -> String {
    let name = sanitize(Some(stored));
    match UploadKind::from_mime(content_type) {
        Some(kind) => for_kind(kind, &name),
        None => name,
    }
}

/// A sanitized name as a file of `kind` is kept and served: unchanged when its extension
/// is one of the kind's (in any case), otherwise with its last extension replaced by (or,
/// without one, given) the kind's own, so that no program opens a saved PNG as `x.html`.
/// Still at most `MAX_NAME` characters.
pub fn for_kind(kind: UploadKind, name: &str) -> String {
    let (base, extension) = match name.rsplit_once('.') {
        Some((base, extension)) if !base.is_empty() => (base, Some(extension)),
        _ => (name, None),
    };
    if extension.is_some_and(|e| kind.has_extension(e)) {
        return name.to_string();
    }
    let own = kind.extensions()[0];
    let base: String = base.chars().take(MAX_NAME - 1 - own.len()).collect();
    format!("{base}.{own}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_keep_only_a_clean_last_component() {
        assert_eq!(sanitize(Some("../../etc/passwd")), "passwd");
        assert_eq!(sanitize(Some("C:\\Users\\ana\\report.pdf")), "report.pdf");
        assert_eq!(sanitize(Some("a\u{0}b\nc.txt")), "abc.txt");
        assert_eq!(sanitize(Some("..")), "attachment");
        assert_eq!(sanitize(None), "attachment");
        assert_eq!(sanitize(Some(&"x".repeat(300))).chars().count(), 200);
    }

    #[test]
    fn names_lose_what_disguises_them_but_keep_joiners() {
        assert_eq!(sanitize(Some("invoice\u{202E}gpj.exe")), "invoicegpj.exe");
        for hidden in [
            '\u{202A}', '\u{202D}', '\u{2066}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{61C}',
        ] {
            assert_eq!(sanitize(Some(&format!("a{hidden}b.txt"))), "ab.txt", "{hidden:?}");
        }
        for hidden in [
            '\u{200B}',
            '\u{FEFF}',
            '\u{AD}',
            '\u{2028}',
            '\u{2029}',
            '\u{85}',
            '\u{E0041}',
        ] {
            assert_eq!(sanitize(Some(&format!("a{hidden}b.txt"))), "ab.txt", "{hidden:?}");
        }
        assert_eq!(sanitize(Some("👩\u{200D}💻.txt")), "👩\u{200D}💻.txt");
        assert_eq!(sanitize(Some("می\u{200C}خواهم.txt")), "می\u{200C}خواهم.txt");
    }

    #[test]
    fn the_extension_follows_the_detected_type() {
        assert_eq!(for_kind(UploadKind::Png, "x.html"), "x.png");
        assert_eq!(for_kind(UploadKind::Png, "x"), "x.png");
        assert_eq!(for_kind(UploadKind::Png, "archive.tar.gz"), "archive.tar.png");
        assert_eq!(for_kind(UploadKind::Png, "SHOT.PNG"), "SHOT.PNG");
        assert_eq!(for_kind(UploadKind::Jpeg, "a.jpeg"), "a.jpeg");
        assert_eq!(for_kind(UploadKind::Jpeg, "a.jpg"), "a.jpg");
        assert_eq!(for_kind(UploadKind::Docx, "letter.docx"), "letter.docx");
        assert_eq!(for_kind(UploadKind::Docx, "letter.doc"), "letter.docx");
        assert_eq!(for_kind(UploadKind::Text, "notes"), "notes.txt");
        assert_eq!(for_kind(UploadKind::Text, "README.md"), "README.md");
        assert_eq!(
            for_kind(UploadKind::Pdf, "png"),
            "png.pdf",
            "a name that was only an extension"
        );
        let long = for_kind(UploadKind::Pdf, &format!("{}.exe", "x".repeat(199)));
        assert_eq!((long.chars().count(), long.ends_with(".pdf")), (200, true));
    }

    #[test]
    fn a_stored_name_is_served_under_todays_rules() {
        assert_eq!(served("image/png", "legacy\u{202E}lmth.html"), "legacylmth.png");
        assert_eq!(served("text/plain; charset=utf-8", "notes.txt"), "notes.txt");
        assert_eq!(served("application/x-unknown", "a\u{202E}b"), "ab");
    }
}
