//! Counts for a tenant admin's dashboard.

use poem_openapi::Object;
use sqlx::PgPool;

use super::Admin;
use crate::error::Result;

#[derive(Debug, Object, sqlx::FromRow)]
pub struct DayCount {
    /// The UTC day, `YYYY-MM-DD`.
    pub day: String,
    pub messages: i64,
}

#[derive(Debug, Object)]
pub struct Analytics {
    /// Active users.
    pub users: i64,
    /// Users seen or sending in the last 7 days.
    pub active_users_7d: i64,
    pub conversations: i64,
    pub messages: i64,
    /// Messages per UTC day, the last 30 days, oldest first (days without messages included).
    pub messages_per_day: Vec<DayCount>,
}

pub async fn analytics(pool: &PgPool, admin: &Admin) -> Result<Analytics> {
    let tenant = admin.actor().tenant_id();
    let (users, active_users_7d, conversations, messages): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT
            (SELECT count(*) FROM users WHERE tenant_id = $1 AND is_active),
            (SELECT count(*) FROM users u WHERE u.tenant_id = $1 AND u.is_active AND (
                u.last_seen > now() - interval '7 days'
                OR EXISTS (SELECT 1 FROM messages m WHERE m.sender_id = u.id AND m.tenant_id = $1
                           AND m.created_at > now() - interval '7 days'))),
            (SELECT count(*) FROM conversations WHERE tenant_id = $1),
            (SELECT count(*) FROM messages WHERE tenant_id = $1)",
    )
    .bind(tenant)
    .fetch_one(pool)
    .await?;
    let messages_per_day = sqlx::query_as(
        "SELECT to_char(d.day, 'YYYY-MM-DD') AS day, count(m.id) AS messages
         FROM generate_series((now() AT TIME ZONE 'UTC')::date - 29, (now() AT TIME ZONE 'UTC')::date, interval '1 day') AS d(day)
         LEFT JOIN messages m ON m.tenant_id = $1
              AND m.created_at >= d.day AT TIME ZONE 'UTC' AND m.created_at < (d.day + interval '1 day') AT TIME ZONE 'UTC'
         GROUP BY d.day ORDER BY d.day",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await?;
    Ok(Analytics {
        users,
        active_users_7d,
        conversations,
        messages,
        messages_per_day,
    })
}
