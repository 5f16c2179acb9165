//! Rate limits with GCRA (the generic cell rate algorithm): per key one number, the
//! "theoretical arrival time", instead of a window of events. With Redis the state is
//! shared by every node (one Lua script per decision, on Redis's clock); without it,
//! it lives in this node's memory.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use deadpool_redis::{redis, Pool};

/// One event every `interval`, with up to `burst` events at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub interval: Duration,
    pub burst: u32,
}

impl Quota {
    pub fn per_minute(events: u32, burst: u32) -> Quota {
        Quota {
            interval: Duration::from_secs(60) / events.max(1),
            burst: burst.max(1),
        }
    }

    fn interval_us(&self) -> u64 {
        (self.interval.as_micros() as u64).max(1)
    }

    /// How far ahead of now the arrival time may run.
    fn capacity_us(&self) -> u64 {
        self.interval_us() * u64::from(self.burst)
    }
}

/// The decision of the algorithm for one key: the new arrival time, or how long to wait.
fn gcra(tat_us: u64, now_us: u64, quota: Quota, cost: u64) -> Result<u64, Duration> {
    let new_tat = tat_us.max(now_us) + quota.interval_us() * cost;
    let ahead = new_tat - now_us;
    if ahead > quota.capacity_us() {
        Err(Duration::from_micros(ahead - quota.capacity_us()))
    } else {
        Ok(new_tat)
    }
}

/// A single GCRA cell, for limits that belong to one object (a socket's frames).
#[derive(Debug)]
pub struct Cell {
    start: Instant,
    tat_us: u64,
}

impl Default for Cell {
    fn default() -> Self {
        Cell {
            start: Instant::now(),
            tat_us: 0,
        }
    }
}

impl Cell {
    pub fn take(&mut self, quota: Quota) -> Result<(), Duration> {
        let now = self.start.elapsed().as_micros() as u64;
        self.tat_us = gcra(self.tat_us, now, quota, 1)?;
        Ok(())
    }
}

enum Backend {
    Memory {
        start: Instant,
        cells: Mutex<HashMap<String, u64>>,
    },
    Redis {
        pool: Pool,
        prefix: String,
        script: redis::Script,
    },
}

pub struct RateLimiter {
    backend: Backend,
}

/// KEYS[1]; ARGV: interval µs, capacity µs, cost, dry-run. Returns 0 (allowed) or the wait in µs.
const SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, capacity, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval * cost
if new_tat - now > capacity then return new_tat - now - capacity end
if ARGV[4] ~= '1' then redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.max(1, math.ceil((new_tat - now) / 1000))) end
return 0
"#;

impl RateLimiter {
    pub fn memory() -> RateLimiter {
        RateLimiter {
            backend: Backend::Memory {
                start: Instant::now(),
                cells: Mutex::default(),
            },
        }
    }

    pub fn redis(url: &str, prefix: &str) -> Result<RateLimiter, String> {
        let pool = crate::realtime::redis::command_pool(url, 16)?;
        Ok(RateLimiter {
            backend: Backend::Redis {
                pool,
                prefix: format!("{prefix}:rl:"),
                script: redis::Script::new(SCRIPT),
            },
        })
    }

    /// Takes `cost` events under `key` if the quota allows; otherwise nothing is taken and
    /// the answer is how long to wait.
    pub async fn take(&self, key: &str, quota: Quota, cost: u64) -> Result<(), Duration> {
        self.decide(key, quota, cost, false).await
    }

    /// Whether one more event would be allowed now, taking nothing.
    pub async fn allows(&self, key: &str, quota: Quota) -> Result<(), Duration> {
        self.decide(key, quota, 1, true).await
    }

    async fn decide(&self, key: &str, quota: Quota, cost: u64, dry_run: bool) -> Result<(), Duration> {
        match &self.backend {
            Backend::Memory { start, cells } => {
                let now = start.elapsed().as_micros() as u64;
                let mut cells = cells.lock().expect("rate limiter lock");
                // Keys whose arrival time has passed carry no state: drop them now and then.
                if cells.len() > 10_000 {
                    cells.retain(|_, tat| *tat > now);
                }
                let new_tat = gcra(cells.get(key).copied().unwrap_or(0), now, quota, cost)?;
                if !dry_run {
                    cells.insert(key.to_string(), new_tat);
                }
                Ok(())
            }
            Backend::Redis { pool, prefix, script } => {
                let decision = async {
                    let mut conn = pool.get().await.map_err(|e| e.to_string())?;
                    script
                        .key(format!("{prefix}{key}"))
                        .arg(quota.interval_us())
                        .arg(quota.capacity_us())
                        .arg(cost)
                        .arg(if dry_run { "1" } else { "0" })
                        .invoke_async::<u64>(&mut conn)
                        .await
                        .map_err(|e| e.to_string())
                };
                match decision.await {
                    Ok(0) => Ok(()),
                    Ok(wait_us) => Err(Duration::from_micros(wait_us)),
                    // Limits protect the service; they must not take it down with Redis.
                    Err(err) => {
                        tracing::warn!(error = %err, "rate limiter unavailable; allowing");
                        Ok(())
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn allows_the_burst_then_refuses_with_a_retry_time() {
        let limiter = RateLimiter::memory();
        let quota = Quota {
            interval: Duration::from_secs(20),
            burst: 3,
        };
        for _ in 0..3 {
            assert!(limiter.allows("k", quota).await.is_ok());
            limiter.take("k", quota, 1).await.unwrap();
        }
        let retry_after = limiter.allows("k", quota).await.unwrap_err();
        assert!(
            retry_after > Duration::from_secs(19) && retry_after <= Duration::from_secs(20),
            "{retry_after:?}"
        );
        assert!(limiter.take("k", quota, 1).await.is_err());
        assert!(limiter.allows("other", quota).await.is_ok(), "keys are independent");
    }

    #[tokio::test]
    async fn a_cost_counts_as_that_many_events() {
        let limiter = RateLimiter::memory();
        let bytes = Quota::per_minute(1000, 1000);
        assert!(limiter.take("u", bytes, 800).await.is_ok());
        assert!(limiter.take("u", bytes, 300).await.is_err(), "over the budget");
        assert!(limiter.take("u", bytes, 200).await.is_ok());
    }

    #[test]
    fn a_cell_limits_one_object() {
        let mut cell = Cell::default();
        let quota = Quota {
            interval: Duration::from_secs(60),
            burst: 2,
        };
        assert!(cell.take(quota).is_ok());
        assert!(cell.take(quota).is_ok());
        assert!(cell.take(quota).is_err());
    }
}
