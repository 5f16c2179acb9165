//! What a message says: `MessageContent`, the text, trimmed, at most 5000 characters;
//! and its sender's `metadata`, a JSON object of at most 4 KB.

use std::collections::BTreeMap;

use crate::error::Error;

pub const MAX_CHARS: usize = 5000;

/// The most bytes a message's metadata may take as compact JSON.
pub const MAX_METADATA_BYTES: usize = 4096;

/// A message's metadata: a JSON object.
pub type Metadata = BTreeMap<String, serde_json::Value>;

/// The sender's metadata, if it fits in `MAX_METADATA_BYTES` of compact JSON.
pub fn check_metadata(metadata: &Metadata) -> Result<(), Error> {
    let bytes = serde_json::to_vec(metadata).map_err(Error::internal)?.len();
    if bytes > MAX_METADATA_BYTES {
        return Err(Error::validation(
            "metadata",
            format!("metadata takes {bytes} bytes as JSON; the maximum is {MAX_METADATA_BYTES}"),
        ));
    }
    Ok(())
}

/// Message text that passed the rules. It may be empty: a message with attachments
/// needs no text; whether a message as a whole is empty is decided by its sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageContent(String);

impl MessageContent {
    /// Trims surrounding white space and counts characters as PostgreSQL's
    /// `char_length` does (Unicode scalar values).
    pub fn parse(raw: &str) -> Result<MessageContent, Error> {
        let content = raw.trim();
        let chars = content.chars().count();
        if chars > MAX_CHARS {
            return Err(Error::validation(
                "content",
                format!("content has {chars} characters; the maximum is {MAX_CHARS}"),
            ));
        }
        if content.contains('\0') {
            return Err(Error::validation("content", "content must not contain NUL characters"));
        }
        Ok(MessageContent(content.to_string()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_up_to_5000_characters_not_bytes() {
        assert!(MessageContent::parse(&"a".repeat(MAX_CHARS)).is_ok());
        assert!(
            MessageContent::parse(&"é".repeat(MAX_CHARS)).is_ok(),
            "2-byte chars count once"
        );
        assert!(MessageContent::parse(&"a".repeat(MAX_CHARS + 1)).is_err());
    }

    #[test]
    fn trims_white_space_and_may_be_empty() {
        assert_eq!(MessageContent::parse("  hi\n").unwrap().as_str(), "hi");
        assert!(MessageContent::parse(" \n\t ").unwrap().is_empty());
    }

    #[test]
    fn metadata_is_at_most_4_kb_of_compact_json() {
        let of_size = |n: usize| Metadata::from([("k".to_string(), serde_json::json!("x".repeat(n)))]);
        // `{"k":"…"}` is 8 bytes around the value.
        assert!(check_metadata(&of_size(MAX_METADATA_BYTES - 8)).is_ok());
        assert!(check_metadata(&of_size(MAX_METADATA_BYTES - 7)).is_err());
    }

    #[test]
    fn rejects_nul_characters() {
        assert!(MessageContent::parse("a\0b").is_err());
    }
}
