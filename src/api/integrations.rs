//! `/api/admin/bots/` and `/api/admin/webhooks/`: role `admin`, own tenant only. The
//! targets of outgoing webhooks, and their delivery logs with a manual retry.

use poem::web::Data;
use poem_openapi::{
    param::{Path, Query},
    payload::Json,
    ApiResponse, Object, OpenApi,
};

use super::{
    admin::page_bounds,
    body::{FieldRefusal, JsonBody},
    ApiTags, Done, IdText,
};
use crate::{
    admin::{
        bots::{self, Answering, Bot, CreatedBot},
        deliveries::{self, Owner},
        webhooks::{self, CreatedWebhook, Webhook},
        Admin,
    },
    assistant,
    auth::Auth,
    client::RequestMeta,
    domain::{HttpUrl, Label, Limit, Offset, Patterned, WebhookEvent},
    error::{Error, Result},
    hooks::log::{Delivery, DeliveryStatus},
    state::AppState,
};

pub struct IntegrationsApi;

#[derive(ApiResponse)]
enum BotCreated {
    /// The bot, with its token and signing secret: the only time they are shown.
    #[oai(status = 201)]
    Created(Json<CreatedBot>),
}

#[derive(ApiResponse)]
enum WebhookCreated {
    /// The webhook, with its signing secret: the only time it is shown.
    #[oai(status = 201)]
    Created(Json<CreatedWebhook>),
}

#[derive(Object)]
struct NewBotRequest {
    /// 1 to 200 characters, not all spaces, no control characters.
    #[oai(validator(max_length = 200))]
    name: Patterned<Label>,
    /// A webhook bot's: an `http://` or `https://` URL whose host resolves to public
    /// addresses (or is allowed by `WEBHOOK_ALLOWED_HOSTS`). Give this or `assistant`, not
    /// both.
    #[oai(validator(max_length = 2000))]
    webhook_url: Option<Patterned<HttpUrl>>,
    /// `true`: an assistant, answered through the server's chat-completions API (409
    /// `assistant_unavailable` when the server has no `OPENAI_API_KEY`).
    assistant: Option<bool>,
    /// An assistant's instructions (its system prompt), at most 4000 characters.
    #[oai(validator(max_length = 4000))]
    instructions: Option<String>,
}

impl FieldRefusal for NewBotRequest {}

impl NewBotRequest {
    /// A webhook URL or `"assistant": true`; instructions only for an assistant.
    fn answering(&self) -> Result<Answering<'_>> {
        let instructions = self.instructions.as_deref();
        match (self.webhook_url.as_deref(), self.assistant.unwrap_or(false)) {
            (Some(url), false) if instructions.is_none() => Ok(Answering::Webhook(url)),
            (Some(_), false) => Err(Error::validation(
                "instructions",
                "only an assistant takes instructions",
            )),
            (None, true) => Ok(Answering::Assistant { instructions }),
            (Some(_), true) => Err(Error::validation("webhook_url", "an assistant has no webhook_url")),
            (None, false) => Err(Error::validation(
                "webhook_url",
                "give a webhook_url, or \"assistant\": true",
            )),
        }
    }
}

#[derive(Object)]
struct NewWebhookRequest {
    /// An `http://` or `https://` URL whose host resolves to public addresses (or is
    /// allowed by `WEBHOOK_ALLOWED_HOSTS`).
    #[oai(validator(max_length = 2000))]
    url: Patterned<HttpUrl>,
    /// Some of `message_created`, `message_updated`, `message_deleted`, `conversation_created`,
    /// `conversation_deleted`, `member_added`, `member_removed`, `member_joined`, `member_left`,
    /// `role_changed`, `title_changed`, `description_changed`, `visibility_changed`.
    // `WebhookEvent`'s pattern is `hooks::endpoints::EVENTS` spelled out (the domain layer
    // cannot see the engine's list); the unit test below keeps the two equal.
    #[oai(validator(min_items = 1, max_items = 20))]
    events: Vec<Patterned<WebhookEvent>>,
}

impl FieldRefusal for NewWebhookRequest {}

#[OpenApi(prefix_path = "/admin", tag = "ApiTags::Admin")]
impl IntegrationsApi {
    /// List the tenant's bots
    #[oai(path = "/bots/", method = "get")]
    async fn bots(&self, state: Data<&AppState>, auth: Auth, meta: RequestMeta) -> Result<Json<Vec<Bot>>> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "bots.list").await?;
        Ok(Json(bots::list(&state.pool, &admin).await?))
    }

    /// Create a bot
    ///
    /// A user of kind `bot` with an API token and a webhook signing secret, both shown
    /// only in this answer. Add it to conversations with the member APIs: it then gets
    /// their `message_created` (not its own) at `webhook_url`. With `"assistant": true`
    /// instead, the server answers for it through its chat-completions API (no webhook,
    /// `secret` null): in a 1-to-1 or support conversation every message of a person, in
    /// a group the messages that mention it; 409 `assistant_unavailable` without
    /// `OPENAI_API_KEY`.
    #[oai(path = "/bots/", method = "post")]
    async fn create_bot(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        body: JsonBody<NewBotRequest>,
    ) -> Result<BotCreated> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "bots.create").await?;
        let answering = body.answering()?;
        if let Answering::Assistant { .. } = answering {
            assistant::require_configured(&state.config)?;
        }
        let allow = state.webhooks.allow_list();
        let bot = bots::create(&state.pool, allow, &admin, &body.name, answering).await?;
        Ok(BotCreated::Created(Json(bot)))
    }

    /// Delete a bot
    ///
    /// Its webhook and pending deliveries are deleted, its token revoked; its messages stay.
    #[oai(path = "/bots/:id/", method = "delete")]
    async fn delete_bot(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        id: Path<IdText>,
    ) -> Result<Done> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "bots.delete").await?;
        let id = id.in_path("Bot")?;
        bots::delete(&state.pool, &state.realtime, &state.credentials, &admin, id).await?;
        Ok(Done::NoContent)
    }

    /// A bot's deliveries, newest first
    #[oai(path = "/bots/:id/deliveries/", method = "get")]
    #[allow(clippy::too_many_arguments)] // one argument per documented query parameter
    async fn bot_deliveries(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        id: Path<IdText>,
        /// Only the deliveries in this state.
        status: Query<Option<DeliveryStatus>>,
        limit: Query<Option<Limit>>,
        offset: Query<Option<Offset>>,
    ) -> Result<Json<Vec<Delivery>>> {
        delivery_log(&state, auth, meta, Owner::Bot, id, status, limit, offset).await
    }

    /// Retry a bot's delivery now
    ///
    /// Any delivery, even a delivered one (receivers de-duplicate by its id), gets a
    /// fresh 24-hour retry window. Audited as `delivery.retry`.
    #[oai(path = "/bots/:id/deliveries/:delivery_id/retry/", method = "post")]
    async fn retry_bot_delivery(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        id: Path<IdText>,
        delivery_id: Path<IdText>,
    ) -> Result<Json<Delivery>> {
        retry(&state, auth, meta, Owner::Bot, id, delivery_id).await
    }

    /// List the tenant's webhooks
    #[oai(path = "/webhooks/", method = "get")]
    async fn webhooks(&self, state: Data<&AppState>, auth: Auth, meta: RequestMeta) -> Result<Json<Vec<Webhook>>> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "webhooks.list").await?;
        Ok(Json(webhooks::list(&state.pool, &admin).await?))
    }

    /// Create a webhook for tenant events
    #[oai(path = "/webhooks/", method = "post")]
    async fn create_webhook(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        body: JsonBody<NewWebhookRequest>,
    ) -> Result<WebhookCreated> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "webhooks.create").await?;
        let allow = state.webhooks.allow_list();
        let events: Vec<String> = body.events.iter().map(|event| event.to_string()).collect();
        let webhook = webhooks::create(&state.pool, allow, &admin, &body.url, &events).await?;
        Ok(WebhookCreated::Created(Json(webhook)))
    }

    /// Delete a webhook
    #[oai(path = "/webhooks/:id/", method = "delete")]
    async fn delete_webhook(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        id: Path<IdText>,
    ) -> Result<Done> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "webhooks.delete").await?;
        webhooks::delete(&state.pool, &admin, id.in_path("Webhook")?).await?;
        Ok(Done::NoContent)
    }

    /// A webhook's deliveries, newest first
    #[oai(path = "/webhooks/:id/deliveries/", method = "get")]
    #[allow(clippy::too_many_arguments)] // one argument per documented query parameter
    async fn webhook_deliveries(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        id: Path<IdText>,
        /// Only the deliveries in this state.
        status: Query<Option<DeliveryStatus>>,
        limit: Query<Option<Limit>>,
        offset: Query<Option<Offset>>,
    ) -> Result<Json<Vec<Delivery>>> {
        delivery_log(&state, auth, meta, Owner::Webhook, id, status, limit, offset).await
    }

    /// Retry a webhook's delivery now
    ///
    /// As a bot's: a fresh 24-hour retry window; audited as `delivery.retry`.
    #[oai(path = "/webhooks/:id/deliveries/:delivery_id/retry/", method = "post")]
    async fn retry_webhook_delivery(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        id: Path<IdText>,
        delivery_id: Path<IdText>,
    ) -> Result<Json<Delivery>> {
        retry(&state, auth, meta, Owner::Webhook, id, delivery_id).await
    }
}

/// The delivery log of a bot or a webhook (the two endpoints differ only in whose).
#[allow(clippy::too_many_arguments)] // the two endpoints' arguments, passed through
async fn delivery_log(
    state: &AppState,
    auth: Auth,
    meta: RequestMeta,
    owner: Owner,
    id: Path<IdText>,
    status: Query<Option<DeliveryStatus>>,
    limit: Query<Option<Limit>>,
    offset: Query<Option<Offset>>,
) -> Result<Json<Vec<Delivery>>> {
    let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, owner.list_action()).await?;
    let id = id.in_path(owner.resource())?;
    let (limit, offset) = page_bounds(limit.0, offset.0);
    Ok(Json(
        deliveries::list(&state.pool, &admin, owner, id, status.0, limit, offset).await?,
    ))
}

/// A manual retry of a bot's or a webhook's delivery; wakes this node's engine for it.
async fn retry(
    state: &AppState,
    auth: Auth,
    meta: RequestMeta,
    owner: Owner,
    id: Path<IdText>,
    delivery_id: Path<IdText>,
) -> Result<Json<Delivery>> {
    let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, owner.retry_action()).await?;
    let id = id.in_path(owner.resource())?;
    let delivery = delivery_id.in_path("Delivery")?;
    let retried = deliveries::retry(&state.pool, &admin, owner, id, delivery).await?;
    state.webhooks.doorbell().ring();
    Ok(Json(retried))
}

#[cfg(test)]
mod tests {
    use poem_openapi::{registry::Registry, types::Type};

    use super::*;
    use crate::hooks::endpoints::EVENTS;

    /// The event names a client reads in the OpenAPI document are the ones the engine
    /// accepts (`parse_events`): the pattern is a literal, so it is checked here.
    #[test]
    fn the_published_webhook_events_are_the_engines_events() {
        let mut registry = Registry::new();
        NewWebhookRequest::register(&mut registry);
        let schema = serde_json::to_value(&registry.schemas["NewWebhookRequest"]).unwrap();
        let events = &schema["properties"]["events"];
        assert_eq!(events["items"]["pattern"], format!("^({})$", EVENTS.join("|")));
        let description = events["description"].as_str().unwrap();
        for event in EVENTS {
            assert!(description.contains(&format!("`{event}`")), "{event} is not described");
        }
    }
}
