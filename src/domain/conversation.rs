//! What a conversation is and who may do what in it: its kind, its visibility, a
//! member's role and a group's description; and what kind of message one holds.

use super::Invalid;

/// Declares a closed set of lower-case words, spoken as JSON strings and stored as text
/// (read and written by sqlx as such): `parse` reads a word, refusing others as the
/// named request field; `as_str` writes it.
macro_rules! words {
    ($(#[$doc:meta])* $name:ident as $field:literal { $($(#[$vdoc:meta])* $variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, poem_openapi::Enum)]
        #[serde(rename_all = "lowercase")]
        #[oai(rename_all = "lowercase")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            pub fn parse(word: &str) -> Result<$name, Invalid> {
                match word {
                    $($word => Ok($name::$variant),)+
                    other => Err(Invalid::new(
                        $field,
                        format!("unknown {} {other:?}: expected {}", $field, [$($word),+].join(", ")),
                    )),
                }
            }

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl sqlx::Type<sqlx::Postgres> for $name {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::Type<sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $name {
            fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                Ok($name::parse(<&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?)?)
            }
        }

        impl sqlx::Encode<'_, sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode(self.as_str(), buf)
            }
        }
    };
}

words!(
    /// What a conversation is for.
    ConversationKind as "kind" {
        /// Two people; fixed members, no owner, no title of its own.
        Direct => "direct",
        /// Members managed by its owners.
        Group => "group",
        /// A user's conversation with the tenant's support agents.
        Support => "support",
    }
);

words!(
    /// Where a support conversation stands on the desk.
    SupportStatus as "status" {
        /// Waiting for an agent.
        Open => "open",
        /// An agent has it.
        Assigned => "assigned",
        /// Done; it stays readable, and the requester's next `POST /api/chat/support/`
        /// opens a new one.
        Closed => "closed",
    }
);

words!(
    /// Who may see a conversation.
    Visibility as "visibility" {
        /// Its participants only.
        Private => "private",
        /// Every user of the tenant may find, read and follow it; `write` users may join.
        Tenant => "tenant",
    }
);

words!(
    /// A participant's role in a conversation.
    MemberRole as "role" {
        /// Manages the group: title, description, visibility, members, roles, deletion.
        Owner => "owner",
        Member => "member",
    }
);

words!(
    /// Who a message comes from.
    MessageKind as "kind" {
        /// Written by a person.
        Text => "text",
        /// A membership or settings change, worded by clients from its `metadata`; its
        /// sender is the user who made the change.
        System => "system",
        /// Written by a bot.
        Bot => "bot",
    }
);

/// A group's description: at most 500 characters, line breaks and tabs allowed, no
/// other control characters; surrounding white space is trimmed, and blank is none.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Description(String);

impl Description {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(raw: &str) -> Result<Description, Invalid> {
        let text = raw.trim();
        let allowed = |c: char| !c.is_control() || matches!(c, '\n' | '\r' | '\t');
        if text.chars().count() > Self::MAX_CHARS || !text.chars().all(allowed) {
            return Err(Invalid::new(
                "description",
                format!(
                    "description must have at most {} characters and no control characters but line breaks and tabs",
                    Self::MAX_CHARS
                ),
            ));
        }
        Ok(Description(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_unknown_ones_are_refused() {
        for kind in [
            ConversationKind::Direct,
            ConversationKind::Group,
            ConversationKind::Support,
        ] {
            assert_eq!(ConversationKind::parse(kind.as_str()), Ok(kind));
        }
        assert_eq!(Visibility::parse("tenant"), Ok(Visibility::Tenant));
        assert_eq!(MemberRole::parse("owner"), Ok(MemberRole::Owner));
        assert_eq!(MemberRole::parse("admin").unwrap_err().field, "role");
        assert_eq!(serde_json::to_value(Visibility::Private).unwrap(), "private");
    }

    #[test]
    fn descriptions_keep_their_lines_and_are_bounded() {
        assert_eq!(Description::parse("  two\nlines\t ").unwrap().as_str(), "two\nlines");
        assert!(Description::parse("from a\r\nform").is_ok());
        assert_eq!(Description::parse("   ").unwrap().as_str(), "");
        assert!(Description::parse(&"é".repeat(Description::MAX_CHARS)).is_ok());
        let long = "d".repeat(Description::MAX_CHARS + 1);
        assert_eq!(Description::parse(&long).unwrap_err().field, "description");
        assert!(Description::parse("bell\u{7}").is_err());
    }
}
