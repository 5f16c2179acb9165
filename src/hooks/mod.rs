//! Outgoing webhooks: the delivery engine shared by bots and tenant webhooks. Changes
//! write their deliveries into the outbox (`webhook_deliveries`) in their own
//! transaction; `engine` POSTs them, signed (`sign`), to addresses `address` permits
//! (its HTTP client is built there); `log` is what admins read; `endpoints` creates the
//! targets; `outbox` queues events and wakes the engine; an assistant's questions go to
//! a `responder` instead of a URL.

pub mod address;
pub mod endpoints;
pub mod engine;
pub mod log;
pub mod outbox;
pub mod responder;
pub mod sign;

pub use engine::Engine;
