//! Paging and cursor values from query strings and WebSocket frames: page sizes,
//! offsets and message sequence numbers. Each states its lower bound in the OpenAPI
//! document (`minimum`) and refuses anything below it, so what the document allows is
//! exactly what is accepted. Sizes above an endpoint's maximum are capped, not refused:
//! asking for more than a page holds is not an error.

use std::borrow::Cow;

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromParameter, ParseResult, Type},
};

use super::Invalid;

macro_rules! at_least {
    ($(#[$doc:meta])* $name:ident, $field:literal, $min:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            pub const MIN: i64 = $min;

            pub fn parse(value: i64) -> Result<Self, Invalid> {
                if value < Self::MIN {
                    return Err(Invalid::new($field, format!("{} must be at least {}", $field, Self::MIN)));
                }
                Ok($name(value))
            }

            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = i64;
            type RawElementValueType = i64;

            fn name() -> Cow<'static, str> {
                concat!("integer_int64_min", stringify!($min)).into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new(MetaSchema {
                    minimum: Some($min as f64),
                    ..MetaSchema::new_with_format("integer", "int64")
                }))
            }

            fn as_raw_value(&self) -> Option<&i64> {
                Some(&self.0)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a i64> + 'a> {
                Box::new(std::iter::once(&self.0))
            }
        }

        impl ParseFromParameter for $name {
            fn parse_from_parameter(value: &str) -> ParseResult<Self> {
                let number: i64 = value.parse().map_err(|_| ParseError::custom("expected an integer"))?;
                $name::parse(number).map_err(|invalid| ParseError::custom(invalid.message))
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let number = i64::deserialize(deserializer)?;
                $name::parse(number).map_err(serde::de::Error::custom)
            }
        }
    };
}

at_least!(
    /// How many items a page holds: at least 1; each endpoint has its default and caps
    /// larger requests at its maximum.
    Limit,
    "limit",
    1
);

at_least!(
    /// How many items to skip: at least 0.
    Offset,
    "offset",
    0
);

at_least!(
    /// A message's position in its conversation (1, 2, 3…), or 0 for "before the first".
    Seq,
    "seq",
    0
);

impl Limit {
    /// The page size to use: `requested` capped at `max`, or `default` when absent.
    pub fn or_default(requested: Option<Limit>, default: i64, max: i64) -> i64 {
        requested.map_or(default, |limit| limit.0.min(max))
    }
}

impl Offset {
    pub fn or_zero(requested: Option<Offset>) -> i64 {
        requested.map_or(0, Offset::get)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_positive_and_capped_at_the_endpoint_maximum() {
        assert_eq!(Limit::parse(0).unwrap_err().field, "limit");
        assert_eq!(Limit::or_default(None, 50, 200), 50);
        assert_eq!(Limit::or_default(Some(Limit::parse(7).unwrap()), 50, 200), 7);
        assert_eq!(Limit::or_default(Some(Limit::parse(5000).unwrap()), 50, 200), 200);
    }

    #[test]
    fn offsets_and_seqs_start_at_zero() {
        assert_eq!(Offset::parse(-1).unwrap_err().field, "offset");
        assert_eq!(Offset::or_zero(Some(Offset::parse(0).unwrap())), 0);
        assert_eq!(Seq::parse(-1).unwrap_err().field, "seq");
        assert_eq!(Seq::parse(0).unwrap().get(), 0);
    }

    #[test]
    fn query_strings_parse_strictly() {
        assert_eq!(Limit::parse_from_parameter("10").unwrap().get(), 10);
        for bad in ["0", "-3", "1.5", "ten", ""] {
            assert!(Limit::parse_from_parameter(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn frames_parse_strictly() {
        assert_eq!(serde_json::from_str::<Seq>("4").unwrap().get(), 4);
        for bad in ["-1", "\"4\"", "4.5", "true"] {
            assert!(serde_json::from_str::<Seq>(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_document_states_the_lower_bound() {
        let MetaSchemaRef::Inline(schema) = Limit::schema_ref() else {
            panic!("inline schema expected")
        };
        assert_eq!(
            (schema.ty, schema.format, schema.minimum),
            ("integer", Some("int64"), Some(1.0))
        );
    }
}
