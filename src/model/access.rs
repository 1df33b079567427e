//! Who may see what: console roles, viewer scopes, and the settings pages'
//! views of console users, API keys and console sessions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ClientInfo;

/// What a console user may do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including settings.
    Admin,
    /// Read-only, all data.
    Auditor,
    /// Read-only, restricted to the environments / organizations of their scope.
    #[default]
    Viewer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Auditor, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Auditor => "auditor",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// The events a reader may see: those whose environment is listed (when any
/// are) and whose organization is listed (when any are). Empty lists: all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub environments: Vec<String>,
    pub organizations: Vec<String>,
}

impl Scope {
    /// A scope from two comma-separated lists typed in a form.
    pub fn from_lists(environments: &str, organizations: &str) -> Scope {
        Scope { environments: split_list(environments), organizations: split_list(organizations) }
    }

    pub fn is_unrestricted(&self) -> bool {
        self.environments.is_empty() && self.organizations.is_empty()
    }

    /// "production · org acme" style summary; "all data" when unrestricted.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.environments.is_empty() {
            parts.push(format!("environments {}", self.environments.join(", ")));
        }
        if !self.organizations.is_empty() {
            parts.push(format!("organizations {}", self.organizations.join(", ")));
        }
        if parts.is_empty() { "all data".into() } else { parts.join(" · ") }
    }
}

/// Split a comma-separated list typed in a form into trimmed, non-empty items.
fn split_list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

/// The signed-in user, as the pages show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignedInUser {
    pub email: String,
    pub role: Role,
    pub scope: Scope,
}

/// A console user on the settings page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConsoleUser {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub scope: Scope,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

/// An API key on the settings page (never the key itself).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub prefix: String,
    pub scope: Scope,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A live console sign-in on the settings page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConsoleSession {
    pub id: String,
    pub email: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub client: ClientInfo,
    /// The session of the user looking at the list.
    pub current: bool,
}

/// A secret shown once: a new API key or a generated password.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Secret {
    pub label: String,
    pub value: String,
}
