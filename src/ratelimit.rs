//! Rate limits by key with GCRA (the generic cell rate algorithm): per key one
//! timestamp, the "theoretical arrival time", instead of a window of events.
//! The state lives in this node's memory: behind several nodes each counts on its own.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// `burst` events at once, refilling at `burst` per `period`.
#[derive(Debug, Clone, Copy)]
pub struct Quota {
    pub burst: u32,
    pub period: Duration,
}

impl Quota {
    fn emission_interval(&self) -> Duration {
        self.period / self.burst.max(1)
    }

    /// How far ahead of now the arrival time may run before events are refused.
    fn tolerance(&self) -> Duration {
        self.emission_interval() * (self.burst.max(1) - 1)
    }
}

#[derive(Default)]
pub struct RateLimiter {
    arrivals: Mutex<HashMap<String, Instant>>,
}

impl RateLimiter {
    /// Would an event for `key` be allowed now? `Err(retry_after)` when not. Consumes nothing.
    pub fn check(&self, key: &str, quota: Quota) -> Result<(), Duration> {
        let now = Instant::now();
        let arrivals = self.arrivals.lock().expect("rate limiter lock");
        let tat = arrivals.get(key).copied().unwrap_or(now).max(now);
        let ahead = tat - now;
        if ahead > quota.tolerance() {
            Err(ahead - quota.tolerance())
        } else {
            Ok(())
        }
    }

    /// Records one event for `key`.
    pub fn consume(&self, key: &str, quota: Quota) {
        let now = Instant::now();
        let mut arrivals = self.arrivals.lock().expect("rate limiter lock");
        // Keys whose arrival time has passed carry no state: drop them now and then so
        // the map does not grow with every key ever seen.
        if arrivals.len() > 10_000 {
            arrivals.retain(|_, tat| *tat > now);
        }
        let tat = arrivals.get(key).copied().unwrap_or(now).max(now);
        arrivals.insert(key.to_string(), tat + quota.emission_interval());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_burst_then_refuses_with_a_retry_time() {
        let limiter = RateLimiter::default();
        let quota = Quota {
            burst: 3,
            period: Duration::from_secs(60),
        };
        for _ in 0..3 {
            assert!(limiter.check("k", quota).is_ok());
            limiter.consume("k", quota);
        }
        let retry_after = limiter.check("k", quota).unwrap_err();
        assert!(retry_after > Duration::from_secs(19) && retry_after <= Duration::from_secs(20));
        assert!(limiter.check("other", quota).is_ok(), "keys are independent");
    }
}
