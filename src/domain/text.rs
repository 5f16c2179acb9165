//! Short texts people type: display names, conversation titles, token names and the
//! idempotency keys of sends. Each is trimmed, bounded in characters (as PostgreSQL's
//! `char_length` counts them) and free of control characters, which have no business
//! in a one-line label and break logs and terminals.

use super::Invalid;

/// `raw` trimmed, if it has 1 to `max` characters and no control characters.
fn one_line(field: &'static str, raw: &str, max: usize) -> Result<String, Invalid> {
    let text = raw.trim();
    if text.is_empty() || text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(Invalid::new(
            field,
            format!("{field} must have 1 to {max} characters and no control characters"),
        ));
    }
    Ok(text.to_string())
}

/// The host app's id of a user who signs in through the widget (see `widget_login`):
/// a one-line label of up to 200 characters without `|`, the separator of the signed text
/// (so the fields a host signs can be read back only one way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalId(String);

impl ExternalId {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<ExternalId, Invalid> {
        let id = one_line("external_id", raw, Self::MAX_CHARS)?;
        if id.contains('|') {
            return Err(Invalid::new("external_id", "external_id may not contain '|'"));
        }
        Ok(ExternalId(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's or a tenant's display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Name, Invalid> {
        one_line("name", raw, Self::MAX_CHARS).map(Name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A group conversation's title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub const MAX_CHARS: usize = 200;

    /// An absent or blank title is no title: the group shows its members' names.
    pub fn parse_optional(raw: Option<&str>) -> Result<Option<Title>, Invalid> {
        match raw.map(str::trim) {
            None | Some("") => Ok(None),
            Some(title) => one_line("title", title, Self::MAX_CHARS).map(|t| Some(Title(t))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The label of an API token, e.g. `ci-bot`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenName(String);

impl TokenName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<TokenName, Invalid> {
        one_line("name", raw, Self::MAX_CHARS).map(TokenName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A send's idempotency key: a retry with the same key by the same sender returns the
/// original message instead of a duplicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    pub const MAX_CHARS: usize = 64;

    /// An absent or blank key is no key.
    pub fn parse_optional(raw: Option<&str>) -> Result<Option<ClientId>, Invalid> {
        match raw.map(str::trim) {
            None | Some("") => Ok(None),
            Some(id) => one_line("client_id", id, Self::MAX_CHARS).map(|id| Some(ClientId(id))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("  Ana ").unwrap().as_str(), "Ana");
        assert!(
            Name::parse(&"é".repeat(Name::MAX_CHARS)).is_ok(),
            "characters, not bytes"
        );
        for bad in [
            "",
            "   ",
            "bad\u{0}name",
            "two\nlines",
            &"x".repeat(Name::MAX_CHARS + 1),
        ] {
            assert_eq!(Name::parse(bad).unwrap_err().field, "name", "{bad:?}");
        }
    }

    #[test]
    fn a_blank_title_is_no_title() {
        assert_eq!(Title::parse_optional(None), Ok(None));
        assert_eq!(Title::parse_optional(Some("  ")), Ok(None));
        assert_eq!(Title::parse_optional(Some(" Team ")).unwrap().unwrap().as_str(), "Team");
        let long = "t".repeat(Title::MAX_CHARS + 1);
        assert_eq!(Title::parse_optional(Some(&long)).unwrap_err().field, "title");
        assert!(Title::parse_optional(Some("a\u{7}b")).is_err());
    }

    #[test]
    fn token_names_are_shorter_than_display_names() {
        assert!(TokenName::parse(&"n".repeat(TokenName::MAX_CHARS)).is_ok());
        assert!(TokenName::parse(&"n".repeat(TokenName::MAX_CHARS + 1)).is_err());
        assert!(TokenName::parse(" ").is_err());
    }

    #[test]
    fn client_ids_are_optional_and_at_most_64_printable_characters() {
        assert_eq!(ClientId::parse_optional(Some("")), Ok(None));
        assert_eq!(
            ClientId::parse_optional(Some(" k-1 ")).unwrap().unwrap().as_str(),
            "k-1"
        );
        let long = "k".repeat(ClientId::MAX_CHARS + 1);
        assert_eq!(ClientId::parse_optional(Some(&long)).unwrap_err().field, "client_id");
        assert!(ClientId::parse_optional(Some("k\t1")).is_err());
    }
}
