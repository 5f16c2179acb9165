//! The assistant (docs/integrations.md): a bot that answers through an OpenAI-compatible
//! chat-completions API. Its questions are deliveries of the webhook outbox (endpoint
//! kind `assistant`, chosen by `chat::messages::SEND`), so they survive a crash; the
//! engine's workers claim them and hand them here (`hooks::responder`). An answer is
//! streamed into one bot message, rewritten as words arrive (`chat::answers`), at most
//! every `REWRITE_EVERY`; a failure leaves the words so far and a system message.

pub mod openai;
pub mod prompt;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use sqlx::PgPool;
use tokio::{
    sync::Semaphore,
    time::{timeout_at, Instant},
};
use uuid::Uuid;

use self::openai::{Api, ApiError, Completion, Delta};
use crate::{
    auth::{load_actor, Actor},
    chat::{
        answers::{self, FailureReason},
        content::MAX_CHARS,
        safety::RulesCache,
    },
    config::Config,
    domain::ClientId,
    error::{Code, Error, Result},
    hooks::{
        outbox::Doorbell,
        responder::{Answered, Answering, Question, Responder},
    },
    realtime::Realtime,
};

/// How often an answer's message is rewritten while words arrive, at most: each rewrite
/// is a `message_updated` to every participant, so a fast model does not flood them.
const REWRITE_EVERY: Duration = Duration::from_millis(250);
/// How long a question waits when its tenant's answers are all in flight.
const BUSY_RETRY: Duration = Duration::from_millis(500);

/// 409 `assistant_unavailable` unless the server has an API key: an admin adding an
/// assistant learns at once that it could never answer.
pub fn require_configured(config: &Config) -> Result<()> {
    match config.openai_key() {
        Some(_) => Ok(()),
        None => Err(Error::Conflict {
            code: Code::AssistantUnavailable,
            message: "Assistants need OPENAI_API_KEY set on the server; ask its operator.".into(),
        }),
    }
}

pub struct Assistant {
    pool: PgPool,
    realtime: Arc<Realtime>,
    rules: Arc<RulesCache>,
    doorbell: Doorbell,
    /// `None` without a key: questions then get the `unavailable` notice.
    api: Option<Api>,
    timeout: Duration,
    first_token: Duration,
    per_tenant: usize,
    /// Answers in flight per tenant on this node (one entry per tenant that asked).
    tenants: Mutex<HashMap<Uuid, Arc<Semaphore>>>,
}

/// Why an answer stopped: what the conversation is told (if it can be), and the log's words.
struct Failure {
    reason: Option<FailureReason>,
    status: Option<u16>,
    error: String,
}

impl Failure {
    fn silent(error: impl Into<String>) -> Failure {
        Failure {
            reason: None,
            status: None,
            error: error.into(),
        }
    }

    fn told(reason: FailureReason, error: impl Into<String>) -> Failure {
        Failure {
            reason: Some(reason),
            status: None,
            error: error.into(),
        }
    }

    fn of_api(error: ApiError) -> Failure {
        let reason = match error.unreadable {
            true => FailureReason::InvalidResponse,
            false => FailureReason::Error,
        };
        Failure {
            reason: Some(reason),
            status: error.status,
            error: error.message,
        }
    }

    /// A refusal of the chat layer while answering: the content rules are told as such;
    /// a bot no longer in the conversation, or one that no longer takes messages (a
    /// closed support conversation), is not heard there at all.
    fn of_chat(error: Error) -> Failure {
        match error {
            Error::ForbiddenTopic { .. } => {
                Failure::told(FailureReason::Refused, "the content rules refused the answer")
            }
            Error::NotAParticipant | Error::NotFound { .. } | Error::Forbidden { .. } | Error::Conflict { .. } => {
                Failure::silent(format!("cannot write in the conversation: {error}"))
            }
            other => Failure::told(FailureReason::Error, format!("cannot write the answer: {other}")),
        }
    }
}

impl Assistant {
    pub fn new(
        pool: PgPool,
        realtime: Arc<Realtime>,
        rules: Arc<RulesCache>,
        doorbell: Doorbell,
        config: &Config,
    ) -> Result<Assistant, String> {
        Ok(Assistant {
            pool,
            realtime,
            rules,
            doorbell,
            api: Api::of(config)?,
            timeout: Duration::from_secs(config.openai_timeout_seconds),
            first_token: Duration::from_secs(config.openai_first_token_seconds),
            per_tenant: config.openai_concurrency_per_tenant.max(1),
            tenants: Mutex::new(HashMap::new()),
        })
    }

    fn tenant_slots(&self, tenant: Uuid) -> Arc<Semaphore> {
        let mut map = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(tenant)
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_tenant)))
            .clone()
    }

    async fn respond(&self, question: Question) -> Answered {
        let Ok(_slot) = self.tenant_slots(question.tenant_id).try_acquire_owned() else {
            return Answered::Busy(BUSY_RETRY);
        };
        let Some((bot, conversation_id, seq)) = self.parse(&question).await else {
            return Answered::Failed {
                status: None,
                error: "the question names no conversation of an active assistant".into(),
            };
        };
        let failure = match self.write_answer(&question, &bot, conversation_id, seq).await {
            Ok(()) => return Answered::Done,
            Err(failure) => failure,
        };
        if let Some(reason) = failure.reason {
            if let Err(e) = answers::failed(&self.pool, &self.realtime, &bot, conversation_id, reason).await {
                tracing::warn!(error = %e, %conversation_id, "cannot post the assistant's failure notice");
            }
        }
        tracing::info!(error = %failure.error, delivery = %question.delivery_id, "the assistant did not answer");
        Answered::Failed {
            status: failure.status,
            error: failure.error,
        }
    }

    /// The assistant's user (active, of the question's tenant), the conversation and the
    /// question's `seq`.
    async fn parse(&self, question: &Question) -> Option<(Actor, Uuid, i64)> {
        let conversation_id = question.payload["conversation_id"].as_str()?.parse().ok()?;
        let seq = question.payload["message"]["seq"].as_i64()?;
        let bot = load_actor(&self.pool, question.bot_user_id, None).await.ok()??;
        (bot.tenant_id() == question.tenant_id).then_some((bot, conversation_id, seq))
    }

    async fn write_answer(
        &self,
        question: &Question,
        bot: &Actor,
        conversation_id: Uuid,
        seq: i64,
    ) -> Result<(), Failure> {
        // The delivery's id names the answer, so a second attempt (after a crash) goes
        // on with the message the first began, or stops if the first finished it.
        let client_id = ClientId::parse_optional(Some(&format!("assistant-{}", question.delivery_id)))
            .ok()
            .flatten()
            .ok_or_else(|| Failure::silent("no client id for the answer"))?;
        let earlier = answers::existing(&self.pool, bot, conversation_id, &client_id)
            .await
            .map_err(Failure::of_chat)?;
        let mut message = match earlier {
            Some((_, false)) => return Ok(()),
            Some((id, true)) => Some(id),
            None => None,
        };
        let api = self
            .api
            .as_ref()
            .ok_or_else(|| Failure::told(FailureReason::Unavailable, "OPENAI_API_KEY is not set"))?;
        let lines = answers::recent(
            &self.pool,
            bot,
            conversation_id,
            seq,
            prompt::CONTEXT_MESSAGES,
            prompt::CONTEXT_CHARS,
        )
        .await
        .map_err(Failure::of_chat)?;
        let messages = prompt::messages(question.instructions.as_deref(), &lines);
        let started = Instant::now();
        let deadline = started + self.timeout;
        let first_deadline = deadline.min(started + self.first_token);
        let mut text = String::new();
        let outcome = match timeout_at(first_deadline, api.stream(messages)).await {
            Err(_) => Err(timed_out(false)),
            Ok(Err(e)) => Err(Failure::of_api(e)),
            Ok(Ok(completion)) => {
                let target = Target {
                    bot,
                    conversation_id,
                    client_id,
                };
                self.stream(completion, &target, &mut message, &mut text, first_deadline, deadline)
                    .await
            }
        };
        // Whatever happened, the words so far stay as a finished message.
        if let Some(id) = message {
            let finished = answers::rewrite(
                &self.pool,
                &self.realtime,
                &self.rules,
                bot,
                conversation_id,
                id,
                &text,
                true,
            )
            .await;
            if let (Ok(()), Err(e)) = (&outcome, finished) {
                return Err(Failure::of_chat(e));
            }
        } else if outcome.is_ok() {
            return Err(Failure::told(FailureReason::InvalidResponse, "the answer was empty"));
        }
        outcome
    }

    /// Reads the completion into `text`, creating the message at the first words and
    /// rewriting it at most every `REWRITE_EVERY` (and when words wait that long).
    async fn stream(
        &self,
        mut completion: Completion,
        target: &Target<'_>,
        message: &mut Option<Uuid>,
        text: &mut String,
        first_deadline: Instant,
        deadline: Instant,
    ) -> Result<(), Failure> {
        let mut shown = 0; // the length of `text` the message shows
        let mut next_rewrite = Instant::now();
        loop {
            let waiting = text.len() > shown && message.is_some();
            let read_until = match text.trim().is_empty() {
                true => first_deadline,
                false => deadline,
            };
            let wake = match waiting {
                true => read_until.min(next_rewrite),
                false => read_until,
            };
            let delta = match timeout_at(wake, completion.next()).await {
                Ok(delta) => delta.map_err(Failure::of_api)?,
                Err(_) if waiting && wake < read_until => {
                    self.show(target, message, text).await?;
                    shown = text.len();
                    next_rewrite = Instant::now() + REWRITE_EVERY;
                    continue;
                }
                Err(_) => return Err(timed_out(!text.trim().is_empty())),
            };
            let Delta::Text(more) = delta else { return Ok(()) };
            text.push_str(&more);
            if text.chars().count() > MAX_CHARS {
                // A message holds no more: the answer ends there.
                *text = text.chars().take(MAX_CHARS).collect();
                return Ok(());
            }
            if message.is_none() && !text.trim().is_empty() {
                let id = answers::begin(
                    &self.pool,
                    &self.realtime,
                    &self.rules,
                    &self.doorbell,
                    target.bot,
                    target.conversation_id,
                    target.client_id.clone(),
                    text,
                )
                .await
                .map_err(Failure::of_chat)?;
                *message = Some(id);
                shown = text.len();
                next_rewrite = Instant::now() + REWRITE_EVERY;
            }
        }
    }

    /// Rewrites the message with the words so far.
    async fn show(&self, target: &Target<'_>, message: &mut Option<Uuid>, text: &str) -> Result<(), Failure> {
        let Some(id) = *message else { return Ok(()) };
        let (pool, realtime, rules) = (&self.pool, &self.realtime, &self.rules);
        let kept = answers::rewrite(
            pool,
            realtime,
            rules,
            target.bot,
            target.conversation_id,
            id,
            text,
            false,
        )
        .await
        .map_err(Failure::of_chat)?;
        if !kept {
            *message = None;
            return Err(Failure::silent("the answer's message was deleted while it streamed"));
        }
        Ok(())
    }
}

/// Where an answer goes.
struct Target<'a> {
    bot: &'a Actor,
    conversation_id: Uuid,
    client_id: ClientId,
}

fn timed_out(started: bool) -> Failure {
    let error = match started {
        true => "the answer took too long (OPENAI_TIMEOUT_SECONDS)",
        false => "no answer began in time (OPENAI_FIRST_TOKEN_SECONDS)",
    };
    Failure::told(FailureReason::Timeout, error)
}

impl Responder for Assistant {
    fn answer(&self, question: Question) -> Answering<'_> {
        Box::pin(self.respond(question))
    }

    fn lease(&self) -> Duration {
        // The whole answer, then its last rewrite and notice.
        self.timeout + Duration::from_secs(30)
    }
}
