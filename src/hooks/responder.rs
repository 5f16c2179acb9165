//! Deliveries answered inside the server: an assistant bot's questions (endpoints of kind
//! `assistant`) ride the same outbox and workers as webhooks, so they are as durable, but
//! instead of a POST the engine hands them to a `Responder` that `lib.rs` plugs in from
//! a higher layer (the one that can read and write messages).

use std::{future::Future, pin::Pin, time::Duration};

use serde_json::Value;
use uuid::Uuid;

/// One question for an assistant: a `message_created` delivery to its endpoint.
#[derive(Debug, Clone)]
pub struct Question {
    /// The delivery's id: an answer is written under it, so an attempt after a crash
    /// finds the answer the earlier one began instead of writing a second.
    pub delivery_id: Uuid,
    pub tenant_id: Uuid,
    /// The assistant's user.
    pub bot_user_id: Uuid,
    /// The admin's system prompt, if any.
    pub instructions: Option<String>,
    /// The `message_created` payload (`conversation_id`, `message`), as committed.
    pub payload: Value,
}

/// How answering went.
#[derive(Debug, PartialEq, Eq)]
pub enum Answered {
    /// The answer is written (or was already, by an earlier attempt).
    Done,
    /// No answer, and the conversation was told why: not retried (a retry would repeat
    /// the notice; an admin can retry it from the delivery log). `status` is the API's
    /// HTTP status when it gave one.
    Failed { status: Option<u16>, error: String },
    /// The tenant's answers are all in flight: the question waits `Duration`, and this
    /// attempt does not count.
    Busy(Duration),
}

pub type Answering<'a> = Pin<Box<dyn Future<Output = Answered> + Send + 'a>>;

/// Answers questions; implemented above the chat layer (`crate::assistant`).
pub trait Responder: Send + Sync {
    fn answer(&self, question: Question) -> Answering<'_>;

    /// The longest an answer may take: how long a claim holds the question before
    /// another worker may take it over (a worker that died mid-answer).
    fn lease(&self) -> Duration;
}
