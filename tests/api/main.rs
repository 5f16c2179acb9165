//! Integration tests: the real app over HTTP against a fresh PostgreSQL database per test.

/// Runs a scenario `fn name(pool, layer)` once per channel layer.
macro_rules! on_both_layers {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[sqlx::test]
            async fn memory(pool: sqlx::PgPool) {
                super::$name(pool, crate::helpers::Layer::Memory).await
            }
            #[sqlx::test]
            async fn redis(pool: sqlx::PgPool) {
                super::$name(pool, crate::helpers::Layer::redis()).await
            }
        }
    )*};
}

mod admin;
mod admin_console;
mod admin_guards;
mod archive;
mod assistant;
mod attachments;
mod auth;
mod bad_input;
mod cli;
mod cluster;
mod connections;
mod conversations;
mod delivery;
mod delivery_log;
mod downloads;
mod encrypted_webhooks;
mod encryption;
mod fake_openai;
mod group_events;
mod groups;
mod hardening;
mod helpers;
mod https_webhooks;
mod isolation;
mod limits;
mod login_limits;
mod mentions;
mod message_events;
mod message_permissions;
mod messages;
mod operations;
mod pages;
mod permissions;
mod presence;
mod raw;
mod reactions;
mod realtime;
mod receiver;
mod replies;
mod safety;
mod search;
mod socket_send;
mod sockets;
mod streamed_uploads;
mod support;
mod support_live;
mod tenant_webhooks;
mod webhook_bench;
mod webhook_crash;
mod webhooks;
mod widget_signin;
