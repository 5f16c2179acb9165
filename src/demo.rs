//! `tenantchat demo`: a demo tenant with four users (one a support agent), a few
//! conversations, canned replies and a support conversation waiting in the desk's inbox,
//! created idempotently (running it again changes nothing and prints the same logins).

use sqlx::PgPool;

use crate::{
    accounts::{self, NewUser, TenantSlug},
    auth::Actor,
    chat::{
        conversations::{self, NewGroup, Started},
        messages::{self, NewMessage},
        safety::RulesCache,
        settings::{check_canned_replies, CannedReply},
        support::desk,
    },
    domain::{Description, Role, Title, Visibility},
    error::{Context, Error, Result},
    hooks::outbox::Doorbell,
    realtime::Realtime,
};

pub const TENANT: &str = "demo";
pub const PASSWORD: &str = "tenantchat-demo";
/// Email, name, role and whether the user is a support agent.
pub const USERS: [(&str, &str, Role, bool); 4] = [
    ("ana@demo.test", "Ana Almeida", Role::Admin, false),
    ("bruno@demo.test", "Bruno Bianchi", Role::Write, false),
    ("carla@demo.test", "Carla Castro", Role::Write, false),
    ("diego@demo.test", "Diego Duarte", Role::Write, true),
];

/// The tenant's canned replies, for the agent's `/` picker.
const CANNED: [(&str, &str); 3] = [
    ("hello", "Hi! Thanks for reaching out, I'm looking into it now."),
    ("invoice", "You can download every invoice under Billing → Invoices."),
    ("bye", "Glad I could help. Have a great day!"),
];

/// Creates what is missing and returns the instructions to print.
pub async fn seed(pool: &PgPool) -> Result<String> {
    // Nobody is connected while seeding: the events of this run go to an in-memory layer.
    let realtime = Realtime::new(None, "demo", pool.clone()).map_err(Error::internal)?;
    let slug = TenantSlug::parse(TENANT).expect("valid slug");
    let tenant_id = match accounts::tenant_id_by_slug(pool, &slug).await? {
        Some(id) => id,
        None => accounts::create_tenant(pool, &slug, "Demo Inc").await?,
    };
    let mut actors = Vec::new();
    for (email, name, role, is_agent) in USERS {
        let existing: Option<uuid::Uuid> =
            sqlx::query_scalar("SELECT id FROM users WHERE tenant_id = $1 AND email = $2")
                .bind(tenant_id)
                .bind(email)
                .fetch_optional(pool)
                .await?;
        let id = match existing {
            Some(id) => id,
            None => {
                let new = NewUser {
                    email,
                    name,
                    password: PASSWORD,
                    role,
                };
                accounts::create_user_as(pool, tenant_id, new, is_agent).await?
            }
        };
        actors.push(Actor::new(id, tenant_id, role));
    }
    let [ana, bruno, carla] = [actors[0], actors[1], actors[2]];
    support_desk(pool, &realtime, &carla).await?;

    if let Started::Created(c) = conversations::start_direct(pool, &realtime, &ana, bruno.user_id()).await? {
        say(pool, &realtime, &ana, c.id, "Hi Bruno! Did the Q3 numbers land?").await?;
        say(
            pool,
            &realtime,
            &bruno,
            c.id,
            "Yes, just now. Sending the summary in a minute.",
        )
        .await?;
    }
    let has_group: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM conversations WHERE tenant_id = $1 AND title = 'Launch plan')",
    )
    .bind(tenant_id)
    .fetch_one(pool)
    .await?;
    if !has_group {
        let ids = [bruno.user_id().to_string(), carla.user_id().to_string()];
        let group = conversations::create_group(
            pool,
            &realtime,
            &ana,
            NewGroup {
                title: Title::parse_optional(Some("Launch plan"))?,
                description: Description::default(),
                visibility: Visibility::Private,
                participant_ids: &ids,
            },
        )
        .await?;
        say(pool, &realtime, &ana, group.id, "Welcome to the launch channel 🚀").await?;
        say(pool, &realtime, &carla, group.id, "Checklist is in the shared drive.").await?;
    }

    let logins: Vec<String> = USERS
        .iter()
        .map(|(email, name, role, is_agent)| {
            let agent = if *is_agent { ", support agent" } else { "" };
            format!("  {email:<18} {name} ({}{agent})", role.as_str())
        })
        .collect();
    Ok(format!(
        "Demo tenant ready. Log in at the server's / page or POST /api/auth/login/ with\n  \
         tenant: {TENANT}   password: {PASSWORD}   and one of these emails:\n{}",
        logins.join("\n")
    ))
}

/// The tenant's canned replies (unless it has some), and a support conversation from
/// `requester` (unless they ever had one) waiting in the inbox for an agent.
async fn support_desk(pool: &PgPool, realtime: &std::sync::Arc<Realtime>, requester: &Actor) -> Result<()> {
    let replies: Vec<CannedReply> = CANNED
        .iter()
        .map(|(shortcut, text)| CannedReply {
            shortcut: shortcut.to_string(),
            text: text.to_string(),
        })
        .collect();
    check_canned_replies(&replies)?;
    let replies = serde_json::to_value(&replies).map_err(Error::internal)?;
    // A new settings version, as every change of the settings makes.
    sqlx::query(
        "UPDATE tenants SET settings = jsonb_set(settings, '{canned_replies}', $2), settings_version = settings_version + 1
         WHERE id = $1 AND NOT settings ? 'canned_replies'",
    )
    .bind(requester.tenant_id())
    .bind(replies)
    .execute(pool)
    .await?;
    let asked: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM support_conversations WHERE tenant_id = $1 AND requester_id = $2)",
    )
    .bind(requester.tenant_id())
    .bind(requester.user_id())
    .fetch_one(pool)
    .await?;
    if !asked {
        let view = match desk::open(pool, realtime, requester).await? {
            desk::Opened::Created(view) | desk::Opened::Existing(view) => view,
        };
        let text = "Hi! I can't find the invoice for October. Where can I download it?";
        say(pool, realtime, requester, view.conversation.id, text).await?;
    }
    Ok(())
}

async fn say(
    pool: &PgPool,
    realtime: &std::sync::Arc<Realtime>,
    actor: &Actor,
    conversation_id: uuid::Uuid,
    text: &str,
) -> Result<()> {
    // A cache of its own for the few messages the demo sends; the tenant's rules hold. No
    // engine runs here: a server's poll finds any webhook delivery these queue.
    messages::send(
        pool,
        realtime,
        &RulesCache::default(),
        &Doorbell::default(),
        actor,
        conversation_id,
        NewMessage {
            content: text,
            ..NewMessage::default()
        },
    )
    .await
    .map(|_| ())
    .context("sending a demo message")
}
