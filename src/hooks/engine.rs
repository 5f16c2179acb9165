//! The delivery engine: workers claim due rows of the outbox (`webhook_deliveries`),
//! POST them signed, and record the outcome. At least once: a claim moves the row's
//! `next_attempt_at` forward by a lease instead of holding a transaction, so a worker
//! that dies mid-request leaves the row to come due again on any node. `FOR UPDATE SKIP
//! LOCKED` lets several nodes claim side by side without taking the same row.
//! Deliveries to an assistant's endpoint are answered by the `Responder` instead.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::Utc;
use rand::Rng;
use serde_json::{json, Value};
use sqlx::{postgres::PgListener, PgPool};
use tokio::sync::{mpsc, Semaphore};
use uuid::Uuid;

use super::{
    address::{self, AllowList},
    outbox::{self, Doorbell},
    responder::{Answered, Question, Responder},
    sign,
};
use crate::{config::Config, error::chain, timestamp::Timestamp};

/// The engine's knobs, from the configuration (tests shorten the backoff).
#[derive(Debug, Clone)]
pub struct Settings {
    pub timeout: Duration,
    pub per_endpoint: usize,
    pub in_flight: usize,
    pub retry_base: Duration,
    pub retry_for: Duration,
    /// How often the engine looks for due rows nobody rang for: retries another node
    /// scheduled, messages another node sent while its own engine was full.
    pub poll: Duration,
}

impl Settings {
    pub fn of(config: &Config) -> Settings {
        Settings {
            timeout: Duration::from_secs(config.webhook_timeout_seconds),
            per_endpoint: config.webhook_concurrency_per_endpoint,
            in_flight: config.webhook_concurrency,
            retry_base: Duration::from_millis(config.webhook_retry_base_ms),
            retry_for: Duration::from_secs(config.webhook_retry_for_seconds),
            poll: Duration::from_millis(config.webhook_poll_ms),
        }
    }

    /// How long a claim holds a row: the longest wait for a slot of its endpoint (every
    /// request of this node queued before it), the request's own timeout, and one more
    /// for recording. A row claimed by a node that died is retried after this.
    fn lease(&self) -> Duration {
        let queued = (self.in_flight / self.per_endpoint.max(1)) as u32;
        self.timeout * (queued + 2)
    }
}

/// The delay before retry number `attempt` (1 = the first retry): the base doubled per
/// attempt, at most an hour, then "equal jitter" (a random point in its upper half) so
/// a receiver that comes back is not hit by every retry at once.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let full = base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(Duration::from_secs(3600));
    let half = full / 2;
    half + half.mul_f64(rand::rng().random::<f64>())
}

/// One claimed delivery and where it goes: a webhook's `url` and `secret`, or an
/// assistant (`kind`), its user and instructions.
#[derive(sqlx::FromRow)]
struct Claimed {
    id: Uuid,
    tenant_id: Uuid,
    event: String,
    payload: Value,
    attempts: i32,
    retry_from: Timestamp,
    endpoint_id: Uuid,
    kind: String,
    url: Option<String>,
    secret: Option<String>,
    bot_user_id: Option<Uuid>,
    instructions: Option<String>,
    /// The payload's message text, sealed (encryption at rest); NULL when it is in the payload.
    content_key_id: Option<String>,
    content_sealed: Option<Vec<u8>>,
}

impl Claimed {
    /// The payload as committed, its sealed message text put back in.
    fn data(&self) -> Result<Value, String> {
        outbox::open_payload(
            self.tenant_id,
            &self.payload,
            self.content_key_id.as_deref(),
            self.content_sealed.as_deref(),
        )
    }
}

/// $1 how many, $2 a webhook's lease and $3 an assistant's, in milliseconds.
const CLAIM: &str = "
    UPDATE webhook_deliveries d
    SET attempts = d.attempts + 1,
        next_attempt_at = now() + CASE e.kind WHEN 'assistant' THEN $3 ELSE $2 END * interval '1 millisecond'
    FROM webhook_endpoints e
    WHERE d.id IN (SELECT id FROM webhook_deliveries
                   WHERE status = 'pending' AND next_attempt_at <= now()
                   ORDER BY next_attempt_at LIMIT $1
                   FOR UPDATE SKIP LOCKED)
      AND e.id = d.endpoint_id AND e.tenant_id = d.tenant_id
    RETURNING d.id, d.tenant_id, d.event, d.payload, d.attempts, d.retry_from, e.id AS endpoint_id, e.kind,
              e.url, e.secret, e.bot_user_id, e.instructions, d.content_key_id, d.content_sealed";

/// What an attempt came to.
enum Outcome {
    Delivered(u16),
    /// Failed; tried again later unless `last`.
    Refused {
        status: Option<u16>,
        error: String,
        last: bool,
    },
    /// Not attempted after all: due again after the delay, the attempt not counted.
    Deferred(Duration),
}

pub struct Engine {
    pool: PgPool,
    client: reqwest::Client,
    allow: Arc<AllowList>,
    settings: Settings,
    /// Answers the questions of assistant bots.
    responder: Arc<dyn Responder>,
    in_flight: Arc<Semaphore>,
    /// One semaphore per endpoint seen by this node (few: one per bot or webhook).
    endpoints: Mutex<HashMap<Uuid, Arc<Semaphore>>>,
    doorbell: Doorbell,
    /// Successful attempts on their way to `record_delivered`.
    delivered: mpsc::UnboundedSender<(Uuid, Uuid, u16)>,
    to_record: Mutex<Option<mpsc::UnboundedReceiver<(Uuid, Uuid, u16)>>>,
}

impl Engine {
    /// `doorbell`: what this node's sends ring after committing deliveries.
    pub fn new(
        pool: PgPool,
        config: &Config,
        responder: Arc<dyn Responder>,
        doorbell: Doorbell,
    ) -> Result<Arc<Engine>, String> {
        let settings = Settings::of(config);
        let allow = Arc::new(AllowList::parse(&config.webhook_allowed_hosts));
        let client = address::client(allow.clone(), settings.timeout, config.webhook_ca_file.as_deref())?;
        let (delivered, to_record) = mpsc::unbounded_channel();
        Ok(Arc::new(Engine {
            pool,
            client,
            allow,
            in_flight: Arc::new(Semaphore::new(settings.in_flight)),
            settings,
            responder,
            endpoints: Mutex::new(HashMap::new()),
            doorbell,
            delivered,
            to_record: Mutex::new(Some(to_record)),
        }))
    }

    /// What webhook URLs may point at (for vetting a URL when an admin gives it).
    pub fn allow_list(&self) -> &AllowList {
        &self.allow
    }

    /// What wakes this engine: rung after a commit that queued deliveries on this node
    /// (a send, a manual retry).
    pub fn doorbell(&self) -> &Doorbell {
        &self.doorbell
    }

    /// Runs the engine in the background: a listener that wakes it when deliveries of
    /// events other than `message_created` commit on any node (`outbox`), and the
    /// claiming loop.
    pub fn spawn(self: &Arc<Engine>) {
        let taken = self.to_record.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(to_record) = taken else { return };
        tokio::spawn(record_delivered(self.pool.clone(), to_record));
        let engine = self.clone();
        tokio::spawn(async move { engine.listen().await });
        let engine = self.clone();
        tokio::spawn(async move { engine.run().await });
    }

    async fn listen(&self) {
        loop {
            if let Err(e) = self.listen_once().await {
                tracing::warn!(error = %e, "webhook listener lost; polling until it is back");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Wakes the claiming loop on every notification, until the connection fails.
    async fn listen_once(&self) -> sqlx::Result<()> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen("webhook_deliveries").await?;
        loop {
            listener.recv().await?;
            self.doorbell.ring();
        }
    }

    async fn run(self: Arc<Engine>) {
        loop {
            let free = self.in_flight.available_permits().min(100);
            let claimed = match free {
                0 => Vec::new(),
                n => self.claim(n).await,
            };
            let idle = claimed.is_empty();
            for delivery in claimed {
                let Ok(slot) = self.in_flight.clone().acquire_owned().await else {
                    return;
                };
                let engine = self.clone();
                tokio::spawn(async move {
                    engine.deliver(delivery).await;
                    drop(slot);
                    engine.doorbell.ring();
                });
            }
            if idle {
                // Woken by a commit, a finished request or a retry's timer; the poll
                // finds what other nodes left (`Settings::poll`).
                let _ = tokio::time::timeout(self.settings.poll, self.doorbell.rung()).await;
            }
        }
    }

    async fn claim(&self, limit: usize) -> Vec<Claimed> {
        let lease = self.settings.lease().as_millis() as f64;
        let answer_lease = self.responder.lease().as_millis() as f64;
        match sqlx::query_as(CLAIM)
            .bind(limit as i64)
            .bind(lease)
            .bind(answer_lease)
            .fetch_all(&self.pool)
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim webhook deliveries");
                tokio::time::sleep(Duration::from_secs(1)).await;
                Vec::new()
            }
        }
    }

    fn endpoint_slots(&self, endpoint: Uuid) -> Arc<Semaphore> {
        let mut map = self.endpoints.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(endpoint)
            .or_insert_with(|| Arc::new(Semaphore::new(self.settings.per_endpoint)))
            .clone()
    }

    async fn deliver(&self, delivery: Claimed) {
        let outcome = match delivery.kind.as_str() {
            // The responder bounds its own concurrency (per tenant), deferring rather than
            // queueing so that no claim waits out its lease in a queue.
            "assistant" => self.ask(&delivery).await,
            _ => {
                let slots = self.endpoint_slots(delivery.endpoint_id);
                let Ok(_slot) = slots.acquire().await else { return };
                self.attempt(&delivery).await
            }
        };
        if let Err(e) = self.record(&delivery, outcome).await {
            // The lease runs out and the row is tried again.
            tracing::warn!(error = %e, delivery = %delivery.id, "cannot record a webhook attempt");
        }
    }

    async fn ask(&self, delivery: &Claimed) -> Outcome {
        let Some(bot_user_id) = delivery.bot_user_id else {
            return refused("an assistant endpoint without its bot".into());
        };
        let question = Question {
            delivery_id: delivery.id,
            tenant_id: delivery.tenant_id,
            bot_user_id,
            instructions: delivery.instructions.clone(),
            payload: delivery.payload.clone(),
        };
        match self.responder.answer(question).await {
            Answered::Done => Outcome::Delivered(200),
            Answered::Failed { status, error } => Outcome::Refused {
                status,
                error,
                last: true,
            },
            Answered::Busy(delay) => Outcome::Deferred(delay),
        }
    }

    async fn attempt(&self, delivery: &Claimed) -> Outcome {
        let (Some(url), Some(secret)) = (&delivery.url, &delivery.secret) else {
            return refused("a webhook endpoint without its URL".into());
        };
        let url = match reqwest::Url::parse(url) {
            Ok(url) => url,
            Err(e) => return refused(format!("invalid URL: {e}")),
        };
        if let Err(e) = self.allow.check_url(&url) {
            return refused(e);
        }
        // A text that does not open (its key not configured here) is a failed attempt,
        // retried: another node, or this one restarted with the key, may send it.
        let data = match delivery.data() {
            Ok(data) => data,
            Err(e) => return refused(format!("cannot decrypt the payload: {e}")),
        };
        let timestamp = Utc::now().timestamp();
        let body = json!({
            "id": delivery.id,
            "event": delivery.event,
            "timestamp": timestamp,
            "tenant_id": delivery.tenant_id,
            "data": data,
        })
        .to_string();
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("x-tenantchat-delivery", delivery.id.to_string())
            .header("x-tenantchat-event", &delivery.event)
            .header("x-tenantchat-timestamp", timestamp.to_string())
            .header("x-tenantchat-signature", sign::signature(secret, body.as_bytes()))
            .body(body)
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => Outcome::Delivered(r.status().as_u16()),
            Ok(r) => Outcome::Refused {
                status: Some(r.status().as_u16()),
                // Redirects are not followed: a 3xx is a failure like any other.
                error: format!("HTTP {}", r.status()),
                last: false,
            },
            Err(e) => refused(chain(&e)),
        }
    }

    async fn record(&self, delivery: &Claimed, outcome: Outcome) -> sqlx::Result<()> {
        let (status, error, last) = match outcome {
            Outcome::Delivered(code) => {
                // Recorded in batches (one statement for many): at hundreds per second a
                // round trip each would be the engine's bottleneck.
                let _ = self.delivered.send((delivery.id, delivery.tenant_id, code));
                return Ok(());
            }
            Outcome::Refused { status, error, last } => (status, error, last),
            Outcome::Deferred(delay) => return self.defer(delivery, delay).await,
        };
        let delay = backoff(self.settings.retry_base, delivery.attempts.max(1) as u32);
        let give_up = delivery.retry_from.0 + self.settings.retry_for;
        let next = Utc::now() + delay;
        let failed = last || next > give_up;
        sqlx::query(
            "UPDATE webhook_deliveries
             SET status = CASE WHEN $5 THEN 'failed' ELSE 'pending' END,
                 next_attempt_at = $4, last_status = $2, last_error = $3
             WHERE id = $1 AND tenant_id = $6",
        )
        .bind(delivery.id)
        .bind(status.map(i32::from))
        .bind(truncate(&error, 500))
        .bind(next)
        .bind(failed)
        .bind(delivery.tenant_id)
        .execute(&self.pool)
        .await?;
        if !failed {
            self.wake_after(delay);
        }
        Ok(())
    }

    /// Puts a delivery back, due after `delay`, without counting the attempt.
    async fn defer(&self, delivery: &Claimed, delay: Duration) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE webhook_deliveries
             SET attempts = greatest(attempts - 1, 0), next_attempt_at = now() + $3 * interval '1 millisecond'
             WHERE id = $1 AND tenant_id = $2",
        )
        .bind(delivery.id)
        .bind(delivery.tenant_id)
        .bind(delay.as_millis() as f64)
        .execute(&self.pool)
        .await?;
        self.wake_after(delay);
        Ok(())
    }

    /// Wakes the claiming loop when a retry comes due, rather than at the next poll.
    fn wake_after(&self, delay: Duration) {
        let doorbell = self.doorbell.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            doorbell.ring();
        });
    }
}

/// Marks delivered what the receivers accepted, as many at a time as have arrived. If
/// this fails the rows' leases run out and they are sent again (at least once).
async fn record_delivered(pool: PgPool, mut arrivals: mpsc::UnboundedReceiver<(Uuid, Uuid, u16)>) {
    let mut batch = Vec::new();
    while arrivals.recv_many(&mut batch, 1000).await > 0 {
        let ids: Vec<Uuid> = batch.iter().map(|b| b.0).collect();
        let tenants: Vec<Uuid> = batch.iter().map(|b| b.1).collect();
        let codes: Vec<i32> = batch.iter().map(|b| i32::from(b.2)).collect();
        let done = sqlx::query(
            "UPDATE webhook_deliveries d
             SET status = 'delivered', delivered_at = now(), last_status = o.code, last_error = NULL
             FROM unnest($1::uuid[], $2::uuid[], $3::int[]) AS o(id, tenant_id, code)
             WHERE d.id = o.id AND d.tenant_id = o.tenant_id",
        )
        .bind(&ids)
        .bind(&tenants)
        .bind(&codes)
        .execute(&pool)
        .await;
        if let Err(e) = done {
            tracing::warn!(error = %e, count = ids.len(), "cannot record delivered webhooks");
        }
        batch.clear();
    }
}

fn refused(error: String) -> Outcome {
    Outcome::Refused {
        status: None,
        error,
        last: false,
    }
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_stops_at_an_hour() {
        let base = Duration::from_secs(10);
        for attempt in 1..=4u32 {
            let full = base * (1 << (attempt - 1));
            let delay = backoff(base, attempt);
            assert!(delay >= full / 2 && delay <= full, "attempt {attempt}: {delay:?}");
        }
        assert!(backoff(base, 40) <= Duration::from_secs(3600));
        assert!(backoff(base, 40) >= Duration::from_secs(1800));
    }
}
