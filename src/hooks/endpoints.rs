//! Webhook endpoints: a bot's or a tenant's. Created here with a fresh signing secret,
//! after the URL is vetted (SSRF); the secret is returned once, to be shown once. An
//! assistant's endpoint has neither: its questions are answered inside the server.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{address::AllowList, sign};
use crate::error::{Error, Result};

/// The events a tenant webhook may subscribe to. A bot gets `message_created` of the
/// conversations it is in. The member and settings events are named as the system
/// message of the change names them (its `metadata.event`). The OpenAPI document
/// repeats the list (`api::integrations`, checked by a unit test there).
pub const EVENTS: &[&str] = &[
    "message_created",
    "message_updated",
    "message_deleted",
    "conversation_created",
    "conversation_deleted",
    "member_added",
    "member_removed",
    "member_joined",
    "member_left",
    "role_changed",
    "title_changed",
    "description_changed",
    "visibility_changed",
];

/// A URL an admin gave, parsed and vetted, or 400 naming `field`.
pub async fn vet_url(allow: &AllowList, field: &'static str, raw: &str) -> Result<String> {
    let url = reqwest::Url::parse(raw.trim()).map_err(|e| Error::validation(field, format!("not a URL: {e}")))?;
    allow.vet(&url).await.map_err(|m| Error::validation(field, m))?;
    Ok(url.to_string())
}

/// The subscribed events, checked against `EVENTS`, each once.
pub fn parse_events(raw: &[String]) -> Result<Vec<String>> {
    if raw.is_empty() {
        return Err(Error::validation("events", "name at least one event"));
    }
    let mut events: Vec<String> = Vec::new();
    for event in raw {
        if !EVENTS.contains(&event.as_str()) {
            return Err(Error::validation(
                "events",
                format!("unknown event {event:?}: expected some of {}", EVENTS.join(", ")),
            ));
        }
        if !events.contains(event) {
            events.push(event.clone());
        }
    }
    Ok(events)
}

/// Inserts an endpoint on `tx` and returns its id and signing secret.
pub async fn insert(
    tx: &mut PgConnection,
    tenant_id: Uuid,
    bot_user_id: Option<Uuid>,
    url: &str,
    events: &[String],
) -> Result<(Uuid, String)> {
    let id = Uuid::new_v4();
    let secret = sign::new_secret();
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, tenant_id, bot_user_id, url, events, secret)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(tenant_id)
    .bind(bot_user_id)
    .bind(url)
    .bind(events)
    .bind(&secret)
    .execute(tx)
    .await?;
    Ok((id, secret))
}

/// Inserts an assistant bot's endpoint on `tx` (it hears `message_created` of its
/// conversations, as `chat::messages::SEND` decides) and returns its id.
pub async fn insert_assistant(
    tx: &mut PgConnection,
    tenant_id: Uuid,
    bot_user_id: Uuid,
    instructions: Option<&str>,
) -> Result<Uuid> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, tenant_id, bot_user_id, kind, instructions, events)
         VALUES ($1, $2, $3, 'assistant', $4, ARRAY['message_created'])",
    )
    .bind(id)
    .bind(tenant_id)
    .bind(bot_user_id)
    .bind(instructions)
    .execute(tx)
    .await?;
    Ok(id)
}
