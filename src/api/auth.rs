//! Bearer keys of the HTTP API: the operator keys from the configuration
//! (everything) and the keys created on the settings page (stored as SHA-256
//! hashes; an ingest key writes to one environment, an export key reads its scope).

use std::net::IpAddr;

use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::model::Scope;
use crate::state::AppState;

/// Which API a key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Ingest,
    Export,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Ingest => "ingest",
            KeyKind::Export => "export",
        }
    }

    pub fn parse(text: &str) -> Option<KeyKind> {
        [KeyKind::Ingest, KeyKind::Export].into_iter().find(|k| k.as_str() == text)
    }
}

/// What a presented key may do.
pub struct Grant {
    /// Names the key for rate limiting and audit ("operator" or "key:<id>").
    pub holder: String,
    /// Names it for people: "operator ingest key", or the key's name and id.
    pub label: String,
    pub scope: Scope,
}

/// SHA-256 of a key, hex: what the database keeps.
pub fn key_hash(key: &str) -> String {
    Sha256::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A new key of `kind`: `vigil_<kind>_<43 random characters>`.
pub fn new_key(kind: KeyKind) -> String {
    format!("vigil_{}_{}", kind.as_str(), crate::auth::random_token(32))
}

/// Check `Authorization: Bearer <key>` for `kind`: the operator key, or a live
/// key of that kind. Failures count against the caller's address and the
/// key's prefix; past their limit the answer is 429 before any key is checked.
pub async fn authorize_key(state: &AppState, headers: &HeaderMap, peer: IpAddr, kind: KeyKind) -> Result<Grant, ApiError> {
    let name = kind.as_str();
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| ApiError::Unauthorized(format!("send the {name} key as \"Authorization: Bearer <key>\"")))?;
    let peer = crate::auth::client_ip(peer, headers, &state.config.trusted_proxies);
    let by_address = format!("ip:{peer}");
    let by_prefix = format!("prefix:{}", presented.chars().take(KEY_PREFIX_CHARS).collect::<String>());
    state.auth_failures.allows(&by_address)?;
    state.auth_failures.allows(&by_prefix)?;
    let operator = match kind {
        KeyKind::Ingest => &state.config.ingest_key,
        KeyKind::Export => &state.config.export_key,
    };
    if constant_time_eq(presented.as_bytes(), operator.as_bytes()) {
        let holder = format!("operator {name} key");
        return Ok(Grant { label: holder.clone(), holder, scope: Scope::everything() });
    }
    match crate::store::access::use_api_key(&state.pool, name, &key_hash(presented)).await? {
        Some(key) => Ok(Grant { holder: format!("key:{}", key.id), label: format!("{} (key #{})", key.name, key.id), scope: key.scope }),
        None => {
            state.auth_failures.charge(&by_address);
            state.auth_failures.charge(&by_prefix);
            Err(ApiError::Unauthorized(format!("the {name} key is not valid")))
        }
    }
}

/// How much of a key names it (`vigil_ingest_` and a few random characters),
/// as shown on the settings page and used to throttle guesses at one key.
pub const KEY_PREFIX_CHARS: usize = 18;

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
