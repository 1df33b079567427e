//! Bearer keys of the HTTP API.

use axum::http::{header, HeaderMap};

use crate::error::ApiError;

/// Check `Authorization: Bearer <key>` against the expected key (named in the
/// error, e.g. "ingest"), in constant time.
pub fn require_bearer(headers: &HeaderMap, key: &str, name: &str) -> Result<(), ApiError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::Unauthorized(format!("send the {name} key as \"Authorization: Bearer <key>\"")))?;
    if constant_time_eq(presented.trim().as_bytes(), key.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized(format!("the {name} key is not valid")))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
