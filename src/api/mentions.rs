//! `GET /api/chat/mentions/`: the messages that mention the caller.

use poem::web::Data;
use poem_openapi::{param::Query, payload::Json, OpenApi};

use super::ApiTags;
use crate::{
    auth::Auth,
    chat::{mentions, views::Message},
    domain::{Limit, Offset},
    error::Result,
    state::AppState,
};

pub struct MentionsApi;

#[OpenApi(prefix_path = "/chat/mentions", tag = "ApiTags::Messages")]
impl MentionsApi {
    /// Messages that mention you
    ///
    /// Newest first, from the conversations you are still in; a deleted message mentions
    /// nobody. Each conversation's unread ones are its `mention_count`.
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        /// Page size (default 50; larger values are capped at 200).
        limit: Query<Option<Limit>>,
        /// How many messages to skip.
        offset: Query<Option<Offset>>,
    ) -> Result<Json<Vec<Message>>> {
        Ok(Json(
            mentions::recent(&state.pool, auth.actor(), limit.0, offset.0).await?,
        ))
    }
}
