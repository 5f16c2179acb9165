//! Full-text search over the messages a user may read (API.md v2 "Search"). The index is
//! the `messages.search` column of migration 0008 (English, Spanish and Portuguese,
//! accents ignored), written by the app from the plain text since 0015 (`sealed.rs`); the permission filter — a member, or a tenant-visible
//! conversation — is part of the ranked query itself, never applied after its LIMIT.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use poem_openapi::Object;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    message_views::{into_views, rows_by_ids, MessageRow},
    receipts::{self, StatusContext, Watermarks},
    settings::TenantSettings,
    views::Message,
};
use crate::{
    auth::Actor,
    domain::Limit,
    error::{Error, Result},
};

pub const DEFAULT_PAGE: i64 = 20;
pub const MAX_PAGE: i64 = 50;
/// Longer queries are refused rather than parsed: nobody types more, and every word
/// costs three index lookups.
const MAX_QUERY_CHARS: usize = 500;

/// What to search for, and where.
#[derive(Debug, Default, Clone)]
pub struct SearchQuery {
    /// Web-search syntax: `"exact phrase"`, `-word`, `or`.
    pub q: String,
    pub conversation: Option<Uuid>,
    pub sender: Option<Uuid>,
    /// Sent at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Sent before this time.
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<Limit>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The conversation a result belongs to.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct ResultConversation {
    pub id: Uuid,
    /// As the conversation list titles it for the caller.
    pub title: String,
}

#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct SearchResult {
    pub message: Message,
    pub conversation: ResultConversation,
    /// An excerpt of the message, HTML-escaped, with the matches in `<mark>…</mark>`.
    pub highlight: String,
}

#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct SearchPage {
    /// Best match first; equally good ones newest first.
    pub results: Vec<SearchResult>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// Where a page ends in the order rank, created_at, id (all descending). Written as
/// `<rank bits in hex>.<microseconds since 1970>.<id>`; clients treat it as opaque.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cursor {
    rank: f32,
    created_us: i64,
    id: Uuid,
}

impl Cursor {
    fn encode(&self) -> String {
        format!("{:08x}.{}.{}", self.rank.to_bits(), self.created_us, self.id)
    }

    fn decode(text: &str) -> Result<Self> {
        let invalid = || Error::validation("cursor", "cursor: not a cursor this search returned");
        let mut parts = text.splitn(3, '.');
        let mut next = || parts.next().ok_or_else(invalid);
        let rank = u32::from_str_radix(next()?, 16).map_err(|_| invalid())?;
        let created_us = next()?.parse().map_err(|_| invalid())?;
        let id = next()?.parse().map_err(|_| invalid())?;
        Ok(Cursor {
            rank: f32::from_bits(rank),
            created_us,
            id,
        })
    }
}

/// One ranked match, as the search query returns it.
#[derive(Debug, sqlx::FromRow)]
struct Hit {
    id: Uuid,
    conversation_id: Uuid,
    title: String,
    rank: f32,
    created_us: i64,
    /// The caller's watermarks; NULL for a viewer of a tenant-visible conversation.
    delivered_seq: Option<i64>,
    read_seq: Option<i64>,
}

/// A text's excerpt as ts_headline made it in each language's configuration.
#[derive(Debug, sqlx::FromRow)]
struct Headlines {
    en: String,
    es: String,
    pt: String,
}

/// Marks ts_headline puts around matches, and what stands for `<` in the text it is
/// given: its parser drops anything that looks like an HTML tag, which would hide
/// `<script>` instead of showing it escaped. The text's own control characters of these
/// values are replaced (by U+FFFD) first, so none of them can come from a message.
const START: char = '\u{2}';
const STOP: char = '\u{3}';
const LESS_THAN: char = '\u{4}';

/// How many of the newest matches are ranked. Ranking needs each match's `search`
/// vector and a sort; a common word matches thousands of messages a user may read, so
/// only the newest `RANK_WINDOW` of them (after the filters) are ranked and returned —
/// 50 pages of 20, more than anyone reads; older ones are found by narrowing the search
/// (`to=`, a conversation, a sender). A rarer word has fewer matches than this, and all of
/// them are ranked. docs/performance.md "Search" has the figures behind the choice.
pub const RANK_WINDOW: i64 = 1000;

/// The search. The caller's readable conversations (its own, and the tenant-visible ones)
/// are listed first and handed to the index with the words: `messages_search_idx` is on
/// (conversation_id, sender_id, search), so a match outside them is never read, and a
/// sender filter is answered by the index too. Of the matches left after the filters,
/// the newest `RANK_WINDOW` are ranked; one page of them (plus one row, to know whether
/// another page follows) is kept, and only that page is joined to its conversation and
/// excerpted. The statement is sent unprepared (see `search`), so PostgreSQL plans it
/// with the filters' values: an absent filter (`$n IS NULL`) folds away.
const SEARCH_SQL: &str = r#"
WITH q AS (SELECT message_search_query($1) AS query),
readable AS (
    SELECT conversation_id AS id FROM participants WHERE user_id = $3 AND tenant_id = $2
    UNION
    SELECT id FROM conversations WHERE tenant_id = $2 AND visibility = 'tenant'
),
newest AS (
    SELECT m.id, m.conversation_id, m.created_at, m.search
    FROM messages m
    WHERE m.tenant_id = $2 AND m.search @@ message_search_query($1)
      AND m.conversation_id = ANY (ARRAY(SELECT id FROM readable WHERE $4::uuid IS NULL OR id = $4))
      AND ($5::uuid IS NULL OR m.sender_id = $5)
      AND ($6::timestamptz IS NULL OR m.created_at >= $6)
      AND ($7::timestamptz IS NULL OR m.created_at < $7)
    ORDER BY m.created_at DESC, m.id DESC
    LIMIT $12
),
hits AS (
    SELECT n.id, n.conversation_id, n.created_at,
        ts_rank(n.search, q.query) AS rank,
        (extract(epoch FROM n.created_at) * 1000000)::bigint AS created_us
    FROM newest n, q
),
page AS (
    SELECT * FROM hits
    WHERE $8::real IS NULL OR (rank, created_at, id)
        < ($8, 'epoch'::timestamptz + $9 * interval '1 microsecond', $10)
    ORDER BY rank DESC, created_at DESC, id DESC
    LIMIT $11
)
SELECT h.id, h.conversation_id, h.rank, h.created_us, p.delivered_seq, p.read_seq,
    CASE WHEN c.is_group AND c.title IS NOT NULL THEN c.title
    ELSE coalesce((SELECT string_agg(u.name, ', ' ORDER BY u.name)
        FROM participants o JOIN users u ON u.id = o.user_id AND u.tenant_id = $2
        WHERE o.conversation_id = h.conversation_id AND o.user_id <> $3), '') END AS title
FROM page h
JOIN conversations c ON c.id = h.conversation_id AND c.tenant_id = $2
LEFT JOIN participants p ON p.conversation_id = h.conversation_id AND p.user_id = $3
ORDER BY h.rank DESC, h.created_at DESC, h.id DESC
"#;

/// The excerpts of the page's texts ($2, in order), from the plain text the app read:
/// the stored content may be sealed (docs/encryption.md), and ts_headline needs words.
const HEADLINES_SQL: &str = r#"
SELECT ts_headline('public.search_en', t.text, q.query, $3) AS en,
    ts_headline('public.search_es', t.text, q.query, $3) AS es,
    ts_headline('public.search_pt', t.text, q.query, $3) AS pt
FROM unnest($2::text[]) WITH ORDINALITY AS b(body, i),
    (SELECT message_search_query($1) AS query) q,
    LATERAL (SELECT translate(b.body, E'\x02\x03\x04<', E'\uFFFD\uFFFD\uFFFD\x04') AS text) t
ORDER BY b.i
"#;

/// One page of the messages `actor` may read that match `query.q`.
pub async fn search(pool: &sqlx::PgPool, actor: &Actor, query: &SearchQuery) -> Result<SearchPage> {
    let q = query.q.trim();
    if q.is_empty() {
        return Err(Error::validation("q", "q: say what to search for"));
    }
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(Error::validation(
            "q",
            format!("q: at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    let cursor = query.cursor.as_deref().map(Cursor::decode).transpose()?;
    if !TenantSettings::load(pool, actor.tenant_id()).await?.search_enabled() {
        // The tenant turned search off: nothing is indexed, nothing is found.
        return Ok(SearchPage {
            results: Vec::new(),
            next_cursor: None,
        });
    }
    let limit = Limit::or_default(query.limit, DEFAULT_PAGE, MAX_PAGE);
    // One snapshot for the hits and their messages: a message deleted in between must
    // not come back as a tombstone. Said in the BEGIN itself: one round trip less.
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?;
    // Not a prepared statement: after five runs PostgreSQL may switch a prepared one to a
    // generic plan that cannot see the query's words, and ranks every message of the
    // tenant (seconds at a million messages, docs/performance.md "Search").
    let mut hits: Vec<Hit> = sqlx::query_as(SEARCH_SQL)
        .persistent(false)
        .bind(q)
        .bind(actor.tenant_id())
        .bind(actor.user_id())
        .bind(query.conversation)
        .bind(query.sender)
        .bind(query.from)
        .bind(query.to)
        .bind(cursor.map(|c| c.rank))
        .bind(cursor.map(|c| c.created_us))
        .bind(cursor.map(|c| c.id))
        .bind(limit + 1)
        .bind(RANK_WINDOW)
        .fetch_all(&mut *tx)
        .await?;
    let next_cursor = if hits.len() as i64 > limit {
        hits.truncate(limit as usize);
        hits.last().map(|h| {
            Cursor {
                rank: h.rank,
                created_us: h.created_us,
                id: h.id,
            }
            .encode()
        })
    } else {
        None
    };
    let results = results(&mut tx, actor, q, hits).await?;
    tx.commit().await?;
    Ok(SearchPage { results, next_cursor })
}

/// The hits with their messages, each with its status as the caller sees it, and the
/// excerpt that matches `q`.
async fn results(conn: &mut PgConnection, actor: &Actor, q: &str, hits: Vec<Hit>) -> Result<Vec<SearchResult>> {
    let ids: Vec<Uuid> = hits.iter().map(|h| h.id).collect();
    let rows: Vec<MessageRow> = rows_by_ids(conn, actor, &ids).await?;
    let mut conversations: Vec<Uuid> = hits.iter().map(|h| h.conversation_id).collect();
    conversations.sort();
    conversations.dedup();
    let others = receipts::others_watermarks(conn, actor, &conversations).await?;
    let own = |conversation_id: Uuid| {
        let hit = hits.iter().find(|h| h.conversation_id == conversation_id);
        Watermarks {
            delivered: hit.and_then(|h| h.delivered_seq).unwrap_or(0),
            read: hit.and_then(|h| h.read_seq).unwrap_or(0),
        }
    };
    let messages = into_views(conn, actor, rows, |row| StatusContext {
        viewer: actor.user_id(),
        own: own(row.conversation_id),
        others: others.get(&row.conversation_id).copied(),
    })
    .await?;
    let mut messages: HashMap<Uuid, Message> = messages.into_iter().map(|m| (m.id, m)).collect();
    let hits: Vec<(Hit, Message)> = hits
        .into_iter()
        .filter_map(|hit| messages.remove(&hit.id).map(|message| (hit, message)))
        .collect();
    let texts: Vec<&str> = hits.iter().map(|(_, message)| message.content.as_str()).collect();
    let options = format!("StartSel={START}, StopSel={STOP}, MaxWords=30, MinWords=10");
    let headlines: Vec<Headlines> = sqlx::query_as(HEADLINES_SQL)
        .bind(q)
        .bind(&texts)
        .bind(&options)
        .fetch_all(&mut *conn)
        .await?;
    Ok(hits
        .into_iter()
        .zip(headlines)
        .map(|((hit, message), headlines)| SearchResult {
            message,
            highlight: highlight(&headlines),
            conversation: ResultConversation {
                id: hit.conversation_id,
                title: hit.title,
            },
        })
        .collect())
}

/// The excerpt of the first language whose stemming marked a match (English when none
/// did, e.g. a match by another language's stem only shows unmarked text), escaped for
/// HTML with only the marks left as tags.
fn highlight(headlines: &Headlines) -> String {
    let marked = [&headlines.en, &headlines.es, &headlines.pt]
        .into_iter()
        .find(|h| h.contains(START))
        .unwrap_or(&headlines.en);
    let mut html = String::with_capacity(marked.len() + 16);
    for c in marked.chars() {
        match c {
            START => html.push_str("<mark>"),
            STOP => html.push_str("</mark>"),
            LESS_THAN | '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '&' => html.push_str("&amp;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            c => html.push(c),
        }
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_written() {
        let cursor = Cursor {
            rank: 0.0607927,
            created_us: 1_796_000_000_123_456,
            id: Uuid::new_v4(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        assert!(Cursor::decode("nonsense").is_err());
    }
}
