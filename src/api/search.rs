use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{param::Query, payload::Json, OpenApi};

use super::ApiTags;
use crate::{
    auth::Auth,
    chat::search::{self, SearchPage, SearchQuery},
    domain::{Limit, NonBlank, Patterned, SearchCursor},
    error::Result,
    state::AppState,
};

pub struct SearchApi;

#[OpenApi(prefix_path = "/chat/search", tag = "ApiTags::Messages")]
impl SearchApi {
    /// Search messages
    ///
    /// Every message the caller may read (its conversations, and the tenant-visible
    /// ones), best match first, then newest. `q` has web-search syntax (`"exact phrase"`,
    /// `-word`, `or`); matching ignores case and accents and stems English, Spanish and
    /// Portuguese. Edited messages are found by their new text; deleted and system
    /// messages are not found. An empty `q` is 400 `validation_error`.
    #[oai(path = "/", method = "get")]
    #[allow(clippy::too_many_arguments)] // one argument per documented query parameter
    async fn search(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        /// What to search for: at most 500 characters, not all white space, no NUL.
        #[oai(validator(max_length = 500))]
        q: Query<Patterned<NonBlank>>,
        /// Only this conversation.
        conversation: Query<Option<uuid::Uuid>>,
        /// Only messages from this user.
        sender: Query<Option<uuid::Uuid>>,
        /// Only messages sent at or after this time.
        from: Query<Option<DateTime<Utc>>>,
        /// Only messages sent before this time.
        to: Query<Option<DateTime<Utc>>>,
        /// Page size (default 20, larger values are capped at 50).
        limit: Query<Option<Limit>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<Patterned<SearchCursor>>>,
    ) -> Result<Json<SearchPage>> {
        let query = SearchQuery {
            q: q.0.into_string(),
            conversation: conversation.0,
            sender: sender.0,
            from: from.0,
            to: to.0,
            limit: limit.0,
            cursor: cursor.0.map(Patterned::into_string),
        };
        Ok(Json(search::search(&state.pool, auth.actor(), &query).await?))
    }
}
