//! Who is asking: the signed-in [`Principal`] with its role and scope (put in
//! the request by the sign-in guard, `server::auth`), role checks for server
//! functions, and the password and token helpers. Knows no router.

use std::net::IpAddr;

use axum::http::HeaderMap;
use axum::Extension;
use base64::Engine;
use rand::RngCore;

use crate::audit::Actor;
use crate::model::{ConsoleUser, Role, Scope, SignedInUser};

/// Server functions only admins may call live under this prefix, which the guard enforces.
pub const ADMIN_API_PREFIX: &str = "/api/admin";

/// The signed-in user of a request, put in the request's extensions by [`guard`].
#[derive(Clone, Debug)]
pub struct Principal {
    pub user: ConsoleUser,
    pub session_id: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The request's `Sec-Fetch-Site`.
    pub fetch_site: Option<String>,
    /// The primary's WAL position after this user's last change: a replica
    /// serves their reads only once it has replayed that far.
    pub read_after: Option<i64>,
}

impl Principal {
    /// The events this user may read: a viewer's scope, everything for the others.
    pub fn scope(&self) -> Scope {
        match self.user.role {
            Role::Viewer => self.user.scope.clone(),
            Role::Admin | Role::Auditor => Scope::everything(),
        }
    }

    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.user.id),
            email: self.user.email.clone(),
            role: Some(self.user.role.as_str().into()),
            session_id: Some(self.session_id.clone()),
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            opened_from: self.fetch_site.as_deref().and_then(opened_from),
            system: false,
        }
    }

    pub fn signed_in_user(&self) -> SignedInUser {
        SignedInUser {
            email: self.user.email.clone(),
            role: self.user.role,
            scope: self.scope(),
            time_zone: self.user.time_zone.clone(),
        }
    }
}

/// `Sec-Fetch-Site` in words.
fn opened_from(fetch_site: &str) -> Option<&'static str> {
    match fetch_site {
        "same-origin" => Some("the console"),
        "same-site" => Some("another site of the same domain"),
        "cross-site" => Some("a link on another site"),
        "none" => Some("the address bar or a bookmark"),
        _ => None,
    }
}

/// The address a request came from: the peer, or — when the peer is a
/// trusted proxy — the nearest address in `X-Forwarded-For` that is not one.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpAddr]) -> IpAddr {
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    let forwarded = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",");
    forwarded
        .rsplit(',')
        .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
        .find(|hop| !trusted_proxies.contains(hop))
        .unwrap_or(peer)
}

// ---- passwords and secrets ----

/// An argon2id hash in PHC format.
pub fn hash_password(password: &str) -> String {
    password_auth::generate_hash(password)
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    password_auth::verify_password(password, hash).is_ok()
}

/// `bytes` random bytes, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buffer);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer)
}

/// A generated password: 120 random bits.
pub fn generate_password() -> String {
    random_token(15)
}

/// The signed-in user, inside a server function.
pub async fn principal() -> Result<Principal, leptos::prelude::ServerFnError> {
    leptos_axum::extract::<Extension<Principal>>()
        .await
        .map(|Extension(p)| p)
        .map_err(|_| crate::error::signed_out("sign in first"))
}

/// The signed-in administrator or auditor (who read everything), inside a server function.
pub async fn require_auditor() -> Result<Principal, leptos::prelude::ServerFnError> {
    let principal = principal().await?;
    if !matches!(principal.user.role, Role::Admin | Role::Auditor) {
        return Err(crate::error::forbidden("only administrators and auditors may do this"));
    }
    Ok(principal)
}

/// The signed-in administrator, inside a server function.
pub async fn require_admin() -> Result<Principal, leptos::prelude::ServerFnError> {
    let principal = principal().await?;
    if principal.user.role != Role::Admin {
        return Err(crate::error::forbidden("only administrators may do this"));
    }
    Ok(principal)
}

