//! The Redis channel layer and presence store, shared by every node (channels_redis's
//! role). A node holds ONE pub/sub connection (`pubsub.rs`), subscribed to exactly the
//! groups it has local listeners for, and to the fan-out channel that carries an event to
//! many groups in one message (`fanout.rs`); commands (PUBLISH, scripts, presence) go through a
//! small pool. When Redis goes away the node keeps serving REST, logs it, reconnects with
//! backoff and resubscribes; its sockets close with 1013 and catch up.

use std::{
    collections::HashSet,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use deadpool_redis::{redis, Pool, Runtime, Timeouts};
use futures_util::future::BoxFuture;
use uuid::Uuid;

use super::{
    envelope::Envelope,
    fanout::{self, FANOUT_CHANNEL, FANOUT_MIN},
    layer::{ChannelLayer, Group, Ordered, Turn},
    presence::{PresenceStore, HEARTBEAT_TTL, REST_WINDOW},
    pubsub::{self, Changes, Subscriber},
};

pub struct RedisLayer {
    pool: Pool,
    prefix: String,
    subscriptions: Changes,
    ordered: redis::Script,
}

/// A pool of `size` Redis command connections that fails fast (2 s) when Redis is away,
/// so no request waits long on it.
pub(crate) fn command_pool(url: &str, size: usize) -> Result<Pool, String> {
    let mut config = deadpool_redis::Config::from_url(url);
    let mut pool_config = deadpool_redis::PoolConfig::new(size);
    let limit = Some(Duration::from_secs(2));
    pool_config.timeouts = Timeouts {
        wait: limit,
        create: limit,
        recycle: limit,
    };
    config.pool = Some(pool_config);
    config
        .create_pool(Some(Runtime::Tokio1))
        .map_err(|e| format!("invalid REDIS_URL: {e}"))
}

/// Sets up the command pool and the pub/sub subscriber. Fails only for a malformed URL;
/// an unreachable Redis is retried in the background.
pub fn connect(url: &str, prefix: &str) -> Result<(RedisLayer, RedisPresence, Subscriber), String> {
    let client = redis::Client::open(url).map_err(|e| format!("invalid REDIS_URL: {e}"))?;
    let pool = command_pool(url, 32)?;
    let (subscriptions, subscriber) = pubsub::subscriber(client, format!("{prefix}:"));
    let layer = RedisLayer {
        pool: pool.clone(),
        prefix: prefix.to_string(),
        subscriptions,
        ordered: redis::Script::new(ORDERED_PUBLISH),
    };
    let presence = RedisPresence {
        pool,
        prefix: prefix.to_string(),
        node: Uuid::new_v4().to_string(),
        scripts: PresenceScripts::new(),
    };
    Ok((layer, presence, subscriber))
}

/// Publishes to every channel when `seq` follows the stream's last published seq (an
/// unknown stream: when the predecessor is settled), or when forced; otherwise answers 0
/// and publishes nothing.
/// KEYS[1] stream key; ARGV: seq, turn ('force' | 'settled' | 'wait'), ttl ms, payload, channels...
const ORDERED_PUBLISH: &str = r#"
local last = redis.call('GET', KEYS[1])
local seq = tonumber(ARGV[1])
if ARGV[2] ~= 'force' then
    if last and seq > tonumber(last) + 1 then return 0 end
    if (not last) and ARGV[2] ~= 'settled' then return 0 end
end
if (not last) or seq > tonumber(last) then redis.call('SET', KEYS[1], seq, 'PX', ARGV[3]) end
for i = 5, #ARGV do redis.call('PUBLISH', ARGV[i], ARGV[4]) end
return 1
"#;

/// How long a stream's last seq is kept once it goes quiet.
const STREAM_TTL_MS: u64 = 600_000;

impl RedisLayer {
    fn channel(&self, group: &str) -> String {
        format!("{}:{group}", self.prefix)
    }

    /// What to PUBLISH, and where: the envelope to each group's channel, or from
    /// `FANOUT_MIN` groups on one fan-out message to every node (`fanout.rs`).
    fn addressed(&self, groups: &[Group], envelope: &Envelope) -> (Bytes, Vec<String>) {
        if groups.len() >= FANOUT_MIN {
            (fanout::encode(groups, envelope), vec![self.channel(FANOUT_CHANNEL)])
        } else {
            (
                envelope.as_wire().clone(),
                groups.iter().map(|g| self.channel(g)).collect(),
            )
        }
    }

    async fn connection(&self) -> Result<deadpool_redis::Connection, String> {
        self.pool.get().await.map_err(|e| format!("redis unavailable: {e}"))
    }
}

impl ChannelLayer for RedisLayer {
    fn group_send<'a>(&'a self, groups: &'a [Group], envelope: &'a Envelope) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let (payload, channels) = self.addressed(groups, envelope);
            let mut pipe = redis::pipe();
            for channel in channels {
                pipe.cmd("PUBLISH").arg(channel).arg(payload.as_ref()).ignore();
            }
            let mut conn = self.connection().await?;
            pipe.query_async::<()>(&mut conn)
                .await
                .map_err(|e| format!("redis publish: {e}"))
        })
    }

    fn group_send_ordered<'a>(
        &'a self,
        stream: &'a str,
        seq: i64,
        turn: Turn,
        groups: &'a [Group],
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<Ordered, String>> {
        Box::pin(async move {
            let mut invocation = self.ordered.key(format!("{}:seq:{stream}", self.prefix));
            invocation
                .arg(seq)
                .arg(match turn {
                    Turn::Force => "force",
                    Turn::Wait { settled: true } => "settled",
                    Turn::Wait { settled: false } => "wait",
                })
                .arg(STREAM_TTL_MS);
            let (payload, channels) = self.addressed(groups, envelope);
            invocation.arg(payload.as_ref()).arg(channels);
            let mut conn = self.connection().await?;
            let published: i64 = invocation
                .invoke_async(&mut conn)
                .await
                .map_err(|e| format!("redis publish: {e}"))?;
            Ok(if published == 1 {
                Ordered::Published
            } else {
                Ordered::NotYet
            })
        })
    }

    fn group_add(&self, group: &str) -> BoxFuture<'static, Result<(), String>> {
        self.subscriptions.add(self.channel(group))
    }

    fn group_discard(&self, group: &str) {
        self.subscriptions.discard(self.channel(group));
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let mut conn = self.connection().await?;
            redis::cmd("PING")
                .query_async::<()>(&mut conn)
                .await
                .map_err(|e| format!("redis ping: {e}"))
        })
    }
}

/// Presence across nodes. Per user a sorted set of the nodes holding its sockets
/// (score: until when the node's heartbeat vouches for them), per tenant a sorted set
/// of online users (same scores) and one of recent REST activity. A crashed node stops
/// heartbeating, and its users age out.
pub struct RedisPresence {
    pool: Pool,
    prefix: String,
    /// This node's name in the presence sets (one per running app).
    node: String,
    scripts: PresenceScripts,
}

struct PresenceScripts {
    connected: redis::Script,
    disconnected: redis::Script,
}

impl PresenceScripts {
    fn new() -> Self {
        PresenceScripts {
            // KEYS: user nodes, tenant online; ARGV: node, now ms, expiry ms, user. Returns 1 if the user came online.
            connected: redis::Script::new(
                r#"
                redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
                local before = redis.call('ZCARD', KEYS[1])
                redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
                redis.call('PEXPIREAT', KEYS[1], ARGV[3])
                redis.call('ZADD', KEYS[2], 'GT', ARGV[3], ARGV[4])
                if before == 0 then return 1 else return 0 end
                "#,
            ),
            // KEYS: user nodes, tenant online, tenant rest; ARGV: node, now ms, user. Returns 1 if the user went offline.
            disconnected: redis::Script::new(
                r#"
                redis.call('ZREM', KEYS[1], ARGV[1])
                redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
                if redis.call('ZCARD', KEYS[1]) == 0 then
                    redis.call('ZREM', KEYS[2], ARGV[3])
                    redis.call('ZREM', KEYS[3], ARGV[3])
                    return 1
                end
                return 0
                "#,
            ),
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

impl RedisPresence {
    fn user_key(&self, user_id: Uuid) -> String {
        format!("{}:presence:user:{user_id}", self.prefix)
    }

    fn online_key(&self, tenant_id: Uuid) -> String {
        format!("{}:presence:online:{tenant_id}", self.prefix)
    }

    fn rest_key(&self, tenant_id: Uuid) -> String {
        format!("{}:presence:rest:{tenant_id}", self.prefix)
    }

    async fn connection(&self) -> Result<deadpool_redis::Connection, String> {
        self.pool.get().await.map_err(|e| format!("redis unavailable: {e}"))
    }
}

impl PresenceStore for RedisPresence {
    fn connected(&self, tenant_id: Uuid, user_id: Uuid) -> BoxFuture<'_, Result<bool, String>> {
        Box::pin(async move {
            let now = now_ms();
            let mut conn = self.connection().await?;
            let came: i64 = self
                .scripts
                .connected
                .key(self.user_key(user_id))
                .key(self.online_key(tenant_id))
                .arg(&self.node)
                .arg(now)
                .arg(now + HEARTBEAT_TTL.as_millis() as u64)
                .arg(user_id.to_string())
                .invoke_async(&mut conn)
                .await
                .map_err(|e| format!("redis presence: {e}"))?;
            Ok(came == 1)
        })
    }

    fn disconnected(&self, tenant_id: Uuid, user_id: Uuid) -> BoxFuture<'_, Result<bool, String>> {
        Box::pin(async move {
            let mut conn = self.connection().await?;
            let went: i64 = self
                .scripts
                .disconnected
                .key(self.user_key(user_id))
                .key(self.online_key(tenant_id))
                .key(self.rest_key(tenant_id))
                .arg(&self.node)
                .arg(now_ms())
                .arg(user_id.to_string())
                .invoke_async(&mut conn)
                .await
                .map_err(|e| format!("redis presence: {e}"))?;
            Ok(went == 1)
        })
    }

    fn touched(&self, tenant_id: Uuid, user_id: Uuid) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let now = now_ms();
            let key = self.rest_key(tenant_id);
            let mut conn = self.connection().await?;
            redis::pipe()
                .cmd("ZADD")
                .arg(&key)
                .arg(now)
                .arg(user_id.to_string())
                .ignore()
                .cmd("ZREMRANGEBYSCORE")
                .arg(&key)
                .arg("-inf")
                .arg(now - REST_WINDOW.as_millis() as u64)
                .ignore()
                .cmd("PEXPIRE")
                .arg(&key)
                .arg(REST_WINDOW.as_millis() as u64)
                .ignore()
                .query_async::<()>(&mut conn)
                .await
                .map_err(|e| format!("redis presence: {e}"))
        })
    }

    fn online(&self, tenant_id: Uuid) -> BoxFuture<'_, Result<HashSet<Uuid>, String>> {
        Box::pin(async move {
            let now = now_ms();
            let mut conn = self.connection().await?;
            // Users of a crashed node linger in the online set until read past their expiry.
            let (sockets, rest): (Vec<String>, Vec<String>) = redis::pipe()
                .cmd("ZREMRANGEBYSCORE")
                .arg(self.online_key(tenant_id))
                .arg("-inf")
                .arg(now)
                .ignore()
                .cmd("ZRANGEBYSCORE")
                .arg(self.online_key(tenant_id))
                .arg(now)
                .arg("+inf")
                .cmd("ZRANGEBYSCORE")
                .arg(self.rest_key(tenant_id))
                .arg(now - REST_WINDOW.as_millis() as u64)
                .arg("+inf")
                .query_async(&mut conn)
                .await
                .map_err(|e| format!("redis presence: {e}"))?;
            Ok(sockets.iter().chain(&rest).filter_map(|id| id.parse().ok()).collect())
        })
    }

    fn online_among<'a>(&'a self, tenant_id: Uuid, users: &'a [Uuid]) -> BoxFuture<'a, Result<HashSet<Uuid>, String>> {
        Box::pin(async move {
            if users.is_empty() {
                return Ok(HashSet::new());
            }
            let now = now_ms();
            let ids: Vec<String> = users.iter().map(Uuid::to_string).collect();
            let mut conn = self.connection().await?;
            // The scores say until when a socket vouches for the user / when the user was last active over REST.
            let (sockets, rest): (Vec<Option<f64>>, Vec<Option<f64>>) = redis::pipe()
                .cmd("ZMSCORE")
                .arg(self.online_key(tenant_id))
                .arg(&ids)
                .cmd("ZMSCORE")
                .arg(self.rest_key(tenant_id))
                .arg(&ids)
                .query_async(&mut conn)
                .await
                .map_err(|e| format!("redis presence: {e}"))?;
            let rest_since = now.saturating_sub(REST_WINDOW.as_millis() as u64) as f64;
            Ok(users
                .iter()
                .zip(sockets.iter().zip(&rest))
                .filter(|(_, (socket, rest))| {
                    socket.is_some_and(|until| until > now as f64) || rest.is_some_and(|at| at > rest_since)
                })
                .map(|(user, _)| *user)
                .collect())
        })
    }

    fn heartbeat(&self, users: Vec<(Uuid, Uuid)>) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            if users.is_empty() {
                return Ok(());
            }
            let expiry = now_ms() + HEARTBEAT_TTL.as_millis() as u64;
            let mut pipe = redis::pipe();
            for (tenant_id, user_id) in &users {
                let user_key = self.user_key(*user_id);
                pipe.cmd("ZADD").arg(&user_key).arg(expiry).arg(&self.node).ignore();
                pipe.cmd("PEXPIREAT").arg(&user_key).arg(expiry).ignore();
                pipe.cmd("ZADD")
                    .arg(self.online_key(*tenant_id))
                    .arg("GT")
                    .arg(expiry)
                    .arg(user_id.to_string())
                    .ignore();
            }
            let mut conn = self.connection().await?;
            pipe.query_async::<()>(&mut conn)
                .await
                .map_err(|e| format!("redis presence: {e}"))
        })
    }
}
