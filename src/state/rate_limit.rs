//! Per-key rate limiting of the list and export APIs: a token bucket per key,
//! refilled at `rate` per second up to `burst`. Over the limit: 429 with
//! `Retry-After`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::error::ApiError;

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
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, last) = buckets.entry(key.to_string()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let retry_after = ((1.0 - *tokens) / self.rate).ceil().max(1.0) as u64;
            Err(ApiError::TooManyRequests { retry_after })
        }
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
}
