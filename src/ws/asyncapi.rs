//! `GET /api/asyncapi.json`: the AsyncAPI 3 document of this socket, built once at
//! start-up. Each frame is described in `asyncapi.json`; the lists of what the server
//! sends and accepts come from the code (`EventType`, the consumer's replies,
//! `ClientFrameType`), and a frame type without a description — or a description of a
//! frame that no longer exists — stops the server from starting. The objects frames
//! carry (`Message`, `Conversation`, …) are copied from the OpenAPI document, so the two
//! documents cannot disagree about them.

use std::collections::BTreeSet;

use poem::{endpoint::make_sync, Endpoint, IntoResponse};
use serde_json::{json, Map, Value};

use super::frames::{client_frame_types, REPLY_TYPES};
use crate::chat::events::event_types;

const TEMPLATE: &str = include_str!("asyncapi.json");

/// The endpoint serving the document for a server at `public_origin`, whose REST API is
/// described by `openapi` (JSON).
pub fn document(public_origin: &str, openapi: &str) -> Result<impl Endpoint + 'static, String> {
    let document = build(TEMPLATE, public_origin, openapi)?;
    let body = serde_json::to_string_pretty(&document).expect("a JSON value serializes");
    Ok(make_sync(move |_| {
        body.clone()
            .with_content_type("application/json; charset=utf-8")
            .into_response()
    }))
}

/// The component keys of every frame: `server.<type>` for what the server sends,
/// `client.<type>` for what it accepts (`typing` and `read` go both ways, with
/// different payloads).
fn frame_keys() -> (Vec<String>, Vec<String>) {
    let server = event_types()
        .chain(REPLY_TYPES.iter().copied())
        .map(|t| format!("server.{t}"))
        .collect();
    let client = client_frame_types().map(|t| format!("client.{t}")).collect();
    (server, client)
}

fn build(template: &str, public_origin: &str, openapi: &str) -> Result<Value, String> {
    let mut doc: Value = serde_json::from_str(template).map_err(|e| format!("src/ws/asyncapi.json: {e}"))?;
    let (server, client) = frame_keys();

    let described: BTreeSet<String> = doc["components"]["messages"]
        .as_object()
        .map(|messages| messages.keys().cloned().collect())
        .unwrap_or_default();
    let sent: BTreeSet<String> = server.iter().chain(&client).cloned().collect();
    let undescribed: Vec<&String> = sent.difference(&described).collect();
    let stale: Vec<&String> = described.difference(&sent).collect();
    if !undescribed.is_empty() || !stale.is_empty() {
        return Err(format!(
            "src/ws/asyncapi.json is out of date: frames without a description {undescribed:?}, \
             descriptions of frames that do not exist {stale:?}"
        ));
    }

    let (secure, host) = match public_origin.split_once("://") {
        Some(("https", host)) => (true, host),
        Some((_, host)) => (false, host),
        None => (false, public_origin),
    };
    doc["servers"]["tenantchat"]["host"] = json!(host);
    doc["servers"]["tenantchat"]["protocol"] = json!(if secure { "wss" } else { "ws" });

    doc["channels"]["chat"]["messages"] = sent
        .iter()
        .map(|key| (key.clone(), json!({"$ref": format!("#/components/messages/{key}")})))
        .collect::<Map<_, _>>()
        .into();
    let on_channel = |keys: &[String]| -> Value {
        keys.iter()
            .map(|key| json!({"$ref": format!("#/channels/chat/messages/{key}")}))
            .collect()
    };
    doc["operations"]["serverFrames"]["messages"] = on_channel(&server);
    doc["operations"]["clientFrames"]["messages"] = on_channel(&client);

    let openapi: Value = serde_json::from_str(openapi).map_err(|e| format!("the OpenAPI document: {e}"))?;
    doc["components"]["schemas"] = referenced_schemas(&doc, &openapi["components"]["schemas"])?.into();
    Ok(doc)
}

const SCHEMA_REF: &str = "#/components/schemas/";

/// The OpenAPI schemas `doc` refers to, with the ones they refer to in turn.
fn referenced_schemas(doc: &Value, available: &Value) -> Result<Map<String, Value>, String> {
    let mut copied = Map::new();
    let mut wanted = Vec::new();
    refs_in(doc, &mut wanted);
    while let Some(name) = wanted.pop() {
        if copied.contains_key(&name) {
            continue;
        }
        let schema = available
            .get(&name)
            .ok_or_else(|| format!("the OpenAPI document has no schema {name}"))?;
        refs_in(schema, &mut wanted);
        copied.insert(name, schema.clone());
    }
    Ok(copied)
}

fn refs_in(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            if let Some(name) = object
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix(SCHEMA_REF))
            {
                found.push(name.to_string());
            }
            object.values().for_each(|v| refs_in(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| refs_in(v, found)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn openapi() -> String {
        let schemas = ["Message", "Conversation", "MessageStatus", "Participant"].map(|name| {
            (
                name.to_string(),
                json!({"type": "object", "properties": {"p": {"$ref": "#/components/schemas/Participant"}}}),
            )
        });
        json!({"components": {"schemas": Map::from_iter(schemas)}}).to_string()
    }

    #[test]
    fn every_frame_type_is_described_and_listed_in_its_direction() {
        let doc = build(TEMPLATE, "https://chat.example", &openapi()).unwrap();
        assert_eq!(doc["servers"]["tenantchat"]["host"], "chat.example");
        assert_eq!(doc["servers"]["tenantchat"]["protocol"], "wss");
        let listed = |operation: &str| -> Vec<String> {
            doc["operations"][operation]["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["$ref"].as_str().unwrap().rsplit('/').next().unwrap().to_string())
                .collect()
        };
        assert!(listed("serverFrames").contains(&"server.message_created".to_string()));
        assert!(listed("serverFrames").contains(&"server.pong".to_string()));
        assert!(listed("clientFrames").contains(&"client.presence_subscribe".to_string()));
        assert!(listed("clientFrames").contains(&"client.send".to_string()));
        assert!(listed("serverFrames").contains(&"server.send_error".to_string()));
        // The shared objects come from the OpenAPI document, with what they refer to.
        assert!(doc["components"]["schemas"]["Participant"].is_object());
    }

    #[test]
    fn a_frame_without_a_description_or_a_description_without_a_frame_stops_the_server() {
        let mut template: Value = serde_json::from_str(TEMPLATE).unwrap();
        let messages = template["components"]["messages"].as_object_mut().unwrap();
        messages.remove("server.typing");
        let err = build(&template.to_string(), "http://localhost", &openapi()).unwrap_err();
        assert!(err.contains("server.typing"), "{err}");

        let mut template: Value = serde_json::from_str(TEMPLATE).unwrap();
        template["components"]["messages"]["client.shout"] = json!({"name": "shout"});
        let err = build(&template.to_string(), "http://localhost", &openapi()).unwrap_err();
        assert!(err.contains("client.shout"), "{err}");
    }
}
