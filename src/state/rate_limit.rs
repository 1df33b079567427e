//! Token-bucket rate limits per key (an API key, an IP address, a console
//! session): refilled at `rate` per second up to `burst`. Over the limit: 429
//! with `Retry-After`. Buckets that have refilled are forgotten when the map
//! grows, so keys an attacker makes up cannot fill memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::error::ApiError;

/// Buckets kept before the full ones are dropped.
const PRUNE_ABOVE: usize = 10_000;

pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(rate: f64, burst: f64) -> Self {
        RateLimiter { rate: rate.max(0.001), burst: burst.max(1.0), buckets: Mutex::new(HashMap::new()) }
    }

    /// Take one request from `key`'s bucket, or say when one will be available.
    pub fn check(&self, key: &str) -> Result<(), ApiError> {
        self.with_bucket(key, |tokens| {
            if *tokens >= 1.0 {
                *tokens -= 1.0;
            }
        })
    }

    /// Whether `key` may go on, without taking anything from its bucket.
    pub fn allows(&self, key: &str) -> Result<(), ApiError> {
        self.with_bucket(key, |_| {})
    }

    /// Take one from `key`'s bucket (a failure that counts against it).
    pub fn charge(&self, key: &str) {
        let _ = self.with_bucket(key, |tokens| *tokens = (*tokens - 1.0).max(0.0));
    }

    /// Refill `key`'s bucket, apply `take`, and answer by what was there before.
    fn with_bucket(&self, key: &str, take: impl FnOnce(&mut f64)) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, (tokens, last)| *tokens + now.duration_since(*last).as_secs_f64() * rate < burst);
        }
        let (tokens, last) = buckets.entry(key.to_string()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.burst);
        *last = now;
        let available = *tokens >= 1.0;
        let retry_after = ((1.0 - *tokens) / self.rate).ceil().max(1.0) as u64;
        take(tokens);
        if available { Ok(()) } else { Err(ApiError::TooManyRequests { retry_after }) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_requests_wait() {
        let limiter = RateLimiter::new(0.5, 3.0);
        for _ in 0..3 {
            assert!(limiter.check("k").is_ok());
        }
        match limiter.check("k") {
            Err(ApiError::TooManyRequests { retry_after }) => assert_eq!(retry_after, 2),
            other => panic!("expected 429, got {other:?}"),
        }
        assert!(limiter.check("other key").is_ok(), "buckets are per key");
    }

    #[test]
    fn only_charges_count_against_a_key_that_is_merely_asked_about() {
        let limiter = RateLimiter::new(0.001, 2.0);
        for _ in 0..5 {
            assert!(limiter.allows("ip").is_ok());
        }
        limiter.charge("ip");
        limiter.charge("ip");
        assert!(limiter.allows("ip").is_err());
    }

    #[test]
    fn made_up_keys_do_not_grow_the_map_without_bound() {
        let limiter = RateLimiter::new(1000.0, 1.0);
        for i in 0..(PRUNE_ABOVE * 2) {
            let _ = limiter.allows(&format!("k{i}"));
        }
        assert!(limiter.buckets.lock().unwrap().len() <= PRUNE_ABOVE + 1);
    }
}
