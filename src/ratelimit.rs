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
        take: redis::Script,
        give_back: redis::Script,
    },
}

pub struct RateLimiter {
    backend: Backend,
}

/// KEYS: the budgets; ARGV: cost, then interval µs and capacity µs of each key. Takes
/// `cost` from every key or, when one of them is short, from none: returns 0 (taken) or
/// the longest wait in µs.
const TAKE: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cost = tonumber(ARGV[1])
local wait, tats = 0, {}
for i, key in ipairs(KEYS) do
  local interval, capacity = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  tats[i] = tat + interval * cost
  if tats[i] - now > capacity then wait = math.max(wait, tats[i] - now - capacity) end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, string.format('%d', tats[i]), 'PX', math.max(1, math.ceil((tats[i] - now) / 1000)))
end
return 0
"#;

/// KEYS and ARGV as for `TAKE`: hands `cost` back to every key (never below "now", where
/// a key carries no state).
const GIVE_BACK: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cost = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', key) or '0') - tonumber(ARGV[2 * i]) * cost
  if tat > now then
    redis.call('SET', key, string.format('%d', tat), 'PX', math.max(1, math.ceil((tat - now) / 1000)))
  else
    redis.call('DEL', key)
  end
end
return 0
"#;

/// Whether budgets are taken or handed back.
#[derive(Clone, Copy)]
enum Direction {
    Take,
    GiveBack,
}

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
                take: redis::Script::new(TAKE),
                give_back: redis::Script::new(GIVE_BACK),
            },
        })
    }

    /// Takes `cost` events under `key` if the quota allows; otherwise nothing is taken and
    /// the answer is how long to wait.
    pub async fn take(&self, key: &str, quota: Quota, cost: u64) -> Result<(), Duration> {
        self.take_all(&[(key, quota)], cost).await
    }

    /// Takes `cost` from every budget at once, or — when any of them is short — from none,
    /// and answers the longest wait. One atomic step: concurrent callers cannot all pass a
    /// check made before any of them charged.
    pub async fn take_all(&self, budgets: &[(&str, Quota)], cost: u64) -> Result<(), Duration> {
        self.apply(budgets, cost, Direction::Take).await
    }

    /// Hands back `cost` taken earlier from each budget (a reservation that turned out not
    /// to count).
    pub async fn give_back(&self, budgets: &[(&str, Quota)], cost: u64) {
        // Giving back never refuses; a Redis failure is logged by `apply`.
        let _ = self.apply(budgets, cost, Direction::GiveBack).await;
    }

    async fn apply(&self, budgets: &[(&str, Quota)], cost: u64, direction: Direction) -> Result<(), Duration> {
        match &self.backend {
            Backend::Memory { start, cells } => {
                let now = start.elapsed().as_micros() as u64;
                let mut cells = cells.lock().expect("rate limiter lock");
                // Keys whose arrival time has passed carry no state: drop them now and then.
                if cells.len() > 10_000 {
                    cells.retain(|_, tat| *tat > now);
                }
                let tat = |key: &str| cells.get(key).copied().unwrap_or(0);
                let decided: Vec<Result<u64, Duration>> = budgets
                    .iter()
                    .map(|(key, quota)| match direction {
                        Direction::Take => gcra(tat(key), now, *quota, cost),
                        Direction::GiveBack => Ok(tat(key).saturating_sub(quota.interval_us() * cost).max(now)),
                    })
                    .collect();
                if let Some(wait) = decided.iter().filter_map(|d| d.err()).max() {
                    return Err(wait);
                }
                for ((key, _), tat) in budgets.iter().zip(decided) {
                    cells.insert(key.to_string(), tat.expect("no refusal"));
                }
                Ok(())
            }
            Backend::Redis {
                pool,
                prefix,
                take,
                give_back,
            } => {
                let script = match direction {
                    Direction::Take => take,
                    Direction::GiveBack => give_back,
                };
                let decision = async {
                    let mut conn = pool.get().await.map_err(|e| e.to_string())?;
                    let mut invocation = script.prepare_invoke();
                    invocation.arg(cost);
                    for (key, quota) in budgets {
                        invocation
                            .key(format!("{prefix}{key}"))
                            .arg(quota.interval_us())
                            .arg(quota.capacity_us());
                    }
                    invocation
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
            limiter.take("k", quota, 1).await.unwrap();
        }
        let retry_after = limiter.take("k", quota, 1).await.unwrap_err();
        assert!(
            retry_after > Duration::from_secs(19) && retry_after <= Duration::from_secs(20),
            "{retry_after:?}"
        );
        assert!(limiter.take("k", quota, 1).await.is_err());
        assert!(limiter.take("other", quota, 1).await.is_ok(), "keys are independent");
    }

    #[tokio::test]
    async fn a_cost_counts_as_that_many_events() {
        let limiter = RateLimiter::memory();
        let bytes = Quota::per_minute(1000, 1000);
        assert!(limiter.take("u", bytes, 800).await.is_ok());
        assert!(limiter.take("u", bytes, 300).await.is_err(), "over the budget");
        assert!(limiter.take("u", bytes, 200).await.is_ok());
    }

    #[tokio::test]
    async fn several_budgets_are_taken_together_or_not_at_all_and_can_be_given_back() {
        let limiter = RateLimiter::memory();
        let (small, large) = (Quota::per_minute(1, 1), Quota::per_minute(60, 60));
        let both = [("small", small), ("large", large)];
        limiter.take_all(&both, 1).await.unwrap();
        assert!(limiter.take_all(&both, 1).await.is_err(), "the small budget is spent");
        limiter.take("large", large, 59).await.unwrap();
        assert!(
            limiter.take("large", large, 1).await.is_err(),
            "the refused pair took nothing from the large budget"
        );
        limiter.give_back(&both, 1).await;
        assert!(limiter.take_all(&both, 1).await.is_ok(), "both were handed back");
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
