//! Strings that match a pattern the OpenAPI document publishes, checked with a regular
//! expression compiled once per pattern.
//!
//! poem-openapi's `validator(pattern = "…")` compiles its pattern again on every check.
//! For the Unicode classes of the rules below that is tens of microseconds and hundreds of
//! kilobytes of allocation per field per request: measured on a message send, a fifth of
//! the server's CPU (docs/performance.md). A field names its rule by type instead,
//! `Patterned<NonBlank>`, and keeps `validator(max_length = …)`: the published schema is
//! the same (`type: string`, `maxLength`, `pattern`), and `api::body::JsonBody` checks a
//! body against it before poem-openapi reads the value.
//!
//! Two kinds of field keep `validator(pattern)`: a tenant's canned replies, which are
//! stored as JSON, read back with serde and checked as a whole by
//! `chat::settings::check_canned_replies` (parsed only when an admin saves the settings),
//! and the multipart message form's schema, which documents a body `api::uploads` reads
//! itself.

use std::{borrow::Cow, marker::PhantomData, ops::Deref, sync::LazyLock};

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type},
};
use regex::Regex;
use serde_json::Value;

/// A pattern, as published and as compiled.
pub trait Rule: Send + Sync + 'static {
    /// The rule's name in poem-openapi's type names.
    const NAME: &'static str;
    const PATTERN: &'static str;
    fn regex() -> &'static Regex;
}

macro_rules! rules {
    ($($(#[$doc:meta])* $name:ident = $pattern:literal;)*) => {$(
        $(#[$doc])*
        pub struct $name;

        impl Rule for $name {
            const NAME: &'static str = stringify!($name);
            const PATTERN: &'static str = $pattern;

            fn regex() -> &'static Regex {
                static COMPILED: LazyLock<Regex> = LazyLock::new(|| Regex::new($pattern).expect(stringify!($name)));
                &COMPILED
            }
        }
    )*};
}

rules! {
    /// Message text and search queries: not all white space, no NUL.
    NonBlank = r"^[^\x00]*[^\s\x00][^\x00]*$";
    /// A one-line label: no control characters.
    OneLine = r"^[^\x00-\x1f\x7f-\x9f]*$";
    /// Text of several lines: no control characters but tab and line breaks.
    Lines = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$";
    /// A tenant's slug: lowercase letters, digits and inner hyphens.
    Slug = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$";
    /// A colour as `#rrggbb`.
    HexColor = r"^#[0-9a-fA-F]{6}$";
    /// An http or https address.
    HttpUrl = r"^\s*[hH][tT][tT][pP][sS]?://[^\s/?#]+";
    /// A media type or its major type alone (`image` or `image/png`).
    MediaType = r"^[A-Za-z0-9.+-]+(/[A-Za-z0-9.+-]+)?$";
    /// The support inbox's cursor: microseconds, a dot, a conversation id.
    InboxCursor = r"^[0-9]{1,18}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
    /// A one-line label: not all white space, no control characters.
    Label = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$";
    /// A label a host app signs: as `Label`, and no `|` (the signed text's separator).
    SignedLabel = r"^[^|\x00-\x1f\x7f-\x9f]*[^|\s\x00-\x1f\x7f-\x9f][^|\x00-\x1f\x7f-\x9f]*$";
    /// An email address: one `@` with text on both sides, no spaces inside.
    Email = r"^\s*[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f]+\s*$";
    /// An email address a host app signs: as `Email`, and no `|`.
    SignedEmail = r"^\s*[^@|\s\x00-\x1f\x7f-\x9f]+@[^@|\s\x00-\x1f\x7f-\x9f]+\s*$";
    /// A forbidden topic: one line with a letter or digit in it.
    Phrase = r"^[^\x00-\x1f\x7f-\x9f]*[^\W_][^\x00-\x1f\x7f-\x9f]*$";
    /// Search's cursor: a rank, microseconds, a message id.
    SearchCursor = r"^[0-9a-f]{8}\.[0-9]{1,18}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
    /// The events a webhook may ask for.
    WebhookEvent = "^(message_created|message_updated|message_deleted|conversation_created|conversation_deleted|member_added|member_removed|member_joined|member_left|role_changed|title_changed|description_changed|visibility_changed)$";
}

/// A string that matches `R`.
pub struct Patterned<R>(String, PhantomData<R>);

impl<R: Rule> Patterned<R> {
    pub fn parse(text: String) -> Result<Self, String> {
        if R::regex().is_match(&text) {
            Ok(Patterned(text, PhantomData))
        } else {
            Err(text)
        }
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl<R> Deref for Patterned<R> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<R> std::fmt::Debug for Patterned<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<R: Rule> Type for Patterned<R> {
    const IS_REQUIRED: bool = true;
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        format!("string_{}", R::NAME).into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            pattern: Some(R::PATTERN.to_string()),
            ..MetaSchema::new("string")
        }))
    }

    fn as_raw_value(&self) -> Option<&String> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
}

fn mismatch<R: Rule, T: Type>() -> ParseError<T> {
    ParseError::custom(format!("does not match the pattern {:?}", R::PATTERN))
}

impl<R: Rule> ParseFromJSON for Patterned<R> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(text)) => Self::parse(text).map_err(|_| mismatch::<R, Self>()),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl<R: Rule> ParseFromParameter for Patterned<R> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Self::parse(value.to_string()).map_err(|_| mismatch::<R, Self>())
    }
}

impl<R: Rule> ToJSON for Patterned<R> {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_is_read_only_when_it_matches_its_rule() {
        let read = |value: Value| {
            Patterned::<NonBlank>::parse_from_json(Some(value))
                .ok()
                .map(|t| t.into_string())
        };
        assert_eq!(read(Value::from("hello")), Some("hello".to_string()));
        assert_eq!(read(Value::from(" \n\t")), None);
        assert_eq!(read(Value::from("a\0b")), None);
        assert_eq!(read(Value::from(5)), None);
        assert!(Patterned::<OneLine>::parse_from_parameter("two\nlines").is_err());
    }

    #[test]
    fn the_schema_publishes_the_pattern() {
        let MetaSchemaRef::Inline(schema) = Patterned::<HexColor>::schema_ref() else {
            panic!("an inline schema");
        };
        assert_eq!(
            (schema.ty, schema.pattern.as_deref()),
            ("string", Some(r"^#[0-9a-fA-F]{6}$"))
        );
    }
}
