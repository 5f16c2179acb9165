//! `tenantchat demo`: a demo tenant with three users and a few conversations, created
//! idempotently (running it again changes nothing and prints the same logins).

use sqlx::PgPool;

use crate::{
    accounts::{self, NewUser, TenantSlug},
    auth::Actor,
    chat::{
        conversations::{self, NewGroup, Started},
        messages::{self, NewMessage},
        safety::RulesCache,
    },
    domain::{Description, Role, Title, Visibility},
    error::{Context, Error, Result},
    realtime::Realtime,
};

pub const TENANT: &str = "demo";
pub const PASSWORD: &str = "tenantchat-demo";
pub const USERS: [(&str, &str, Role); 3] = [
    ("ana@demo.test", "Ana Almeida", Role::Admin),
    ("bruno@demo.test", "Bruno Bianchi", Role::Write),
    ("carla@demo.test", "Carla Castro", Role::Write),
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
    for (email, name, role) in USERS {
        let existing: Option<uuid::Uuid> =
            sqlx::query_scalar("SELECT id FROM users WHERE tenant_id = $1 AND email = $2")
                .bind(tenant_id)
                .bind(email)
                .fetch_optional(pool)
                .await?;
        let id = match existing {
            Some(id) => id,
            None => {
                accounts::create_user(
                    pool,
                    tenant_id,
                    NewUser {
                        email,
                        name,
                        password: PASSWORD,
                        role,
                    },
                )
                .await?
            }
        };
        actors.push(Actor::new(id, tenant_id, role));
    }
    let [ana, bruno, carla] = [actors[0], actors[1], actors[2]];

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
        .map(|(email, name, role)| format!("  {email:<18} {name} ({})", role.as_str()))
        .collect();
    Ok(format!(
        "Demo tenant ready. Log in at the server's / page or POST /api/auth/login/ with\n  \
         tenant: {TENANT}   password: {PASSWORD}   and one of these emails:\n{}",
        logins.join("\n")
    ))
}

async fn say(
    pool: &PgPool,
    realtime: &std::sync::Arc<Realtime>,
    actor: &Actor,
    conversation_id: uuid::Uuid,
    text: &str,
) -> Result<()> {
    // A cache of its own for the few messages the demo sends; the tenant's rules hold.
    messages::send(
        pool,
        realtime,
        &RulesCache::default(),
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
