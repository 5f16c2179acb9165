//! `JsonBody<T>`: a JSON request body, checked against the schema the OpenAPI document
//! publishes for it before anything reads it.
//!
//! poem-openapi's own `Json<T>` reads a JSON number or boolean into a `String` field as
//! its text (`{"content": true}` would be stored as `"true"`), and when it refuses a
//! body it names no field. Here a body must match its published schema — JSON types,
//! required properties, `nullable`, `enum`, and the numeric, length and item bounds —
//! and a mismatch answers 400 `validation_error` naming the field. What the document
//! allows is what is read, by construction; the domain types then parse the values.
//!
//! Why not a JSON Schema crate: the schemas exist as poem-openapi's `MetaSchema`s in its
//! registry, not as JSON Schema documents, and the document uses a small subset of the
//! keywords (the ones listed above). Walking the registry directly checks exactly what is
//! published, with no conversion step that could drift from it and no large dependency
//! tree for a handful of keywords.

use std::{
    collections::HashMap,
    sync::{OnceLock, RwLock},
};

use poem::{FromRequest, Request, RequestBody};
use poem_openapi::{
    impl_apirequest_for_payload,
    payload::{ParsePayload, Payload},
    registry::{MetaSchema, MetaSchemaRef, Registry},
    types::{ParseFromJSON, Type},
};
use regex::Regex;
use serde_json::Value;

use crate::error::{Code, Error};

pub struct JsonBody<T>(pub T);

/// How a body type answers a refused field: 400 `validation_error` naming it, unless
/// the contract gives the field a code of its own (a participant id is
/// `invalid_participant` however it is wrong).
pub trait FieldRefusal {
    fn refuse(field: &'static str, message: String) -> Error {
        Error::validation(field, message)
    }
}

impl<T> std::ops::Deref for JsonBody<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Type> Payload for JsonBody<T> {
    // Without parameters: generated clients match the media type exactly.
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        <poem_openapi::payload::Json<T> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

fn unreadable(message: impl Into<String>) -> Error {
    Error::BadRequest {
        code: Code::InvalidRequest,
        message: message.into(),
    }
}

impl<T: Type + ParseFromJSON + FieldRefusal> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let data = Vec::<u8>::from_request(request, body).await?;
        let value: Value =
            serde_json::from_slice(&data).map_err(|err| unreadable(format!("the body is not JSON: {err}")))?;
        if !matches!(value, Value::Object(_)) {
            return Err(unreadable("the body must be a JSON object").into());
        }
        check(&value, &T::schema_ref(), registry_of::<T>(), "body")
            .map_err(|(field, message)| T::refuse(field, message))?;
        // The schema held; what remains is poem-openapi's own reading of it.
        let parsed = T::parse_from_json(Some(value)).map_err(|err| unreadable(err.into_message()))?;
        Ok(JsonBody(parsed))
    }
}

impl_apirequest_for_payload!(JsonBody<T>, T: Type + ParseFromJSON + FieldRefusal);

/// The schemas `T` refers to, registered once per body type (a fixed, small set) instead
/// of on every request.
/// Keyed by the type's schema name, unique in the document.
fn registry_of<T: Type>() -> &'static Registry {
    static REGISTRIES: OnceLock<RwLock<HashMap<String, &'static Registry>>> = OnceLock::new();
    let registries = REGISTRIES.get_or_init(Default::default);
    let name = T::name();
    if let Some(registry) = registries.read().expect("registries lock").get(name.as_ref()) {
        return registry;
    }
    let mut registry = Registry::new();
    T::register(&mut registry);
    let registry: &'static Registry = Box::leak(Box::new(registry));
    registries
        .write()
        .expect("registries lock")
        .entry(name.into_owned())
        .or_insert(registry)
}

/// Whether `text` matches the document's `pattern`, compiled once per pattern (the
/// document states a handful). A pattern that does not compile is a bug of ours, caught
/// by the tests over the document; it matches nothing.
fn matches_pattern(pattern: &str, text: &str) -> bool {
    static PATTERNS: OnceLock<RwLock<HashMap<String, Option<Regex>>>> = OnceLock::new();
    let patterns = PATTERNS.get_or_init(Default::default);
    if let Some(compiled) = patterns.read().expect("patterns lock").get(pattern) {
        return compiled.as_ref().is_some_and(|re| re.is_match(text));
    }
    let compiled = Regex::new(pattern).ok();
    let matched = compiled.as_ref().is_some_and(|re| re.is_match(text));
    patterns
        .write()
        .expect("patterns lock")
        .insert(pattern.to_string(), compiled);
    matched
}

/// The schema a reference or an inline schema stands for. poem-openapi writes a
/// nullable reference as `allOf: [$ref]` beside `nullable`.
fn resolve<'a>(schema: &'a MetaSchemaRef, registry: &'a Registry) -> Option<&'a MetaSchema> {
    match schema {
        MetaSchemaRef::Inline(inline) => Some(inline),
        MetaSchemaRef::Reference(name) => registry.schemas.get(name),
    }
}

/// A refused field and why.
type Refused = (&'static str, String);

/// Checks `value` against `schema`; `field` names it in the error (the property it
/// belongs to).
fn check(value: &Value, schema: &MetaSchemaRef, registry: &Registry, field: &'static str) -> Result<(), Refused> {
    let Some(schema) = resolve(schema, registry) else {
        return Ok(());
    };
    let refuse = |message: String| Err((field, message));
    if value.is_null() {
        return if schema.nullable {
            Ok(())
        } else {
            refuse(format!("{field} must not be null"))
        };
    }
    for part in &schema.all_of {
        check(value, part, registry, field)?;
    }
    if !schema.enum_items.is_empty() && !schema.enum_items.contains(value) {
        return refuse(format!(
            "{field} must be one of {}",
            Value::from(schema.enum_items.clone())
        ));
    }
    match (schema.ty, value) {
        ("", _) => Ok(()),
        ("string", Value::String(s)) => {
            let chars = s.chars().count();
            let length_ok =
                schema.min_length.is_none_or(|min| chars >= min) && schema.max_length.is_none_or(|max| chars <= max);
            let pattern_ok = schema
                .pattern
                .as_deref()
                .is_none_or(|pattern| matches_pattern(pattern, s));
            if !(length_ok && pattern_ok) {
                return refuse(match schema.description {
                    Some(rule) => format!("{field} is not valid: {rule}"),
                    None => format!("{field} is not valid"),
                });
            }
            Ok(())
        }
        ("integer", Value::Number(n)) if n.is_i64() || n.is_u64() => check_range(n, schema, field),
        ("number", Value::Number(n)) => check_range(n, schema, field),
        ("boolean", Value::Bool(_)) => Ok(()),
        ("array", Value::Array(items)) => {
            if schema.min_items.is_some_and(|min| items.len() < min)
                || schema.max_items.is_some_and(|max| items.len() > max)
            {
                return refuse(format!("{field} has too few or too many items"));
            }
            match &schema.items {
                Some(item_schema) => items
                    .iter()
                    .try_for_each(|item| check(item, item_schema, registry, field)),
                None => Ok(()),
            }
        }
        ("object", Value::Object(properties)) => {
            for required in &schema.required {
                if !properties.contains_key(*required) {
                    return Err((required, format!("{required} is required")));
                }
            }
            for (name, property_schema) in &schema.properties {
                if let Some(value) = properties.get(*name) {
                    // A missing optional property reads as absent; so does its null
                    // only where the document says `nullable`.
                    check(value, property_schema, registry, name)?;
                }
            }
            Ok(())
        }
        (expected, _) => refuse(format!("{field} must be {}", with_article(expected))),
    }
}

fn check_range(n: &serde_json::Number, schema: &MetaSchema, field: &'static str) -> Result<(), Refused> {
    let n = n.as_f64().unwrap_or(f64::NAN);
    let below = schema.minimum.is_some_and(|min| n < min);
    let above = schema.maximum.is_some_and(|max| n > max);
    if below || above {
        let bound = |b: Option<f64>| b.map_or("any".to_string(), |b| b.to_string());
        return Err((
            field,
            format!(
                "{field} must be between {} and {}",
                bound(schema.minimum),
                bound(schema.maximum)
            ),
        ));
    }
    Ok(())
}

fn with_article(ty: &str) -> String {
    match ty {
        "integer" | "array" | "object" => format!("an {ty}"),
        "string" | "number" | "boolean" => format!("a {ty}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::Object;

    use super::*;

    #[derive(Object)]
    struct Inner {
        flag: bool,
    }

    #[derive(Object)]
    struct Sample {
        #[oai(validator(max_length = 3, pattern = "^[a-z]+$"))]
        text: String,
        #[oai(validator(maximum(value = "10")))]
        count: Option<u32>,
        #[oai(nullable)]
        note: Option<String>,
        tags: Option<Vec<String>>,
        inner: Option<Inner>,
    }

    fn field_at_fault(body: Value) -> Option<&'static str> {
        let mut registry = Registry::new();
        Sample::register(&mut registry);
        check(&body, &Sample::schema_ref(), &registry, "body")
            .err()
            .map(|(field, _)| field)
    }

    #[test]
    fn numbers_and_booleans_are_not_text() {
        assert_eq!(field_at_fault(serde_json::json!({"text": true})), Some("text"));
        assert_eq!(field_at_fault(serde_json::json!({"text": 5})), Some("text"));
        assert_eq!(field_at_fault(serde_json::json!({"text": "abc"})), None);
    }

    #[test]
    fn lengths_and_patterns_follow_the_schema() {
        assert_eq!(field_at_fault(serde_json::json!({"text": "abcd"})), Some("text"));
        assert_eq!(field_at_fault(serde_json::json!({"text": "ab1"})), Some("text"));
    }

    #[test]
    fn required_nullable_and_bounds_follow_the_schema() {
        assert_eq!(field_at_fault(serde_json::json!({})), Some("text"));
        assert_eq!(field_at_fault(serde_json::json!({"text": "a", "note": null})), None);
        assert_eq!(
            field_at_fault(serde_json::json!({"text": "a", "count": null})),
            Some("count")
        );
        assert_eq!(
            field_at_fault(serde_json::json!({"text": "a", "count": 11})),
            Some("count")
        );
        assert_eq!(
            field_at_fault(serde_json::json!({"text": "a", "count": 1.5})),
            Some("count")
        );
        assert_eq!(field_at_fault(serde_json::json!({"text": "a", "count": 10})), None);
    }

    #[test]
    fn items_and_nested_objects_are_checked_too() {
        assert_eq!(
            field_at_fault(serde_json::json!({"text": "a", "tags": ["x", 1]})),
            Some("tags")
        );
        assert_eq!(
            field_at_fault(serde_json::json!({"text": "a", "inner": {"flag": "yes"}})),
            Some("flag")
        );
        assert_eq!(
            field_at_fault(serde_json::json!({"text": "a", "inner": {"flag": false}})),
            None
        );
    }
}
