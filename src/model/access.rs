//! Who may see what: console roles, viewer scopes, and the settings pages'
//! views of console users, API keys and console sessions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ClientInfo, Role};

/// The events a reader may see: those whose environment and organization are
/// both in the lists. [`Scope::ANY`] in a list stands for every value; an
/// empty list allows nothing, so a scope nobody filled in (the default) sees
/// nothing, and "all data" is always an explicit choice.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Scope {
    pub environments: Vec<String>,
    pub organizations: Vec<String>,
}

impl Scope {
    /// In a list: every value.
    pub const ANY: &'static str = "*";

    /// Every environment and organization: admins, auditors and operator keys.
    pub fn everything() -> Scope {
        Scope { environments: vec![Scope::ANY.into()], organizations: vec![Scope::ANY.into()] }
    }

    /// A scope from two lists (`*` for all); an item `*` makes the whole list "all".
    pub fn new(environments: Vec<String>, organizations: Vec<String>) -> Scope {
        let normalise = |list: Vec<String>| {
            let list: Vec<String> = list.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).map(String::from).collect();
            if list.iter().any(|s| s == Scope::ANY) { vec![Scope::ANY.to_string()] } else { list }
        };
        Scope { environments: normalise(environments), organizations: normalise(organizations) }
    }

    /// A scope from two comma-separated lists typed in a form.
    pub fn from_lists(environments: &str, organizations: &str) -> Scope {
        Scope::new(split_list(environments), split_list(organizations))
    }

    pub fn any_environment(&self) -> bool {
        self.environments.iter().any(|e| e == Scope::ANY)
    }

    pub fn any_organization(&self) -> bool {
        self.organizations.iter().any(|o| o == Scope::ANY)
    }

    pub fn is_unrestricted(&self) -> bool {
        self.any_environment() && self.any_organization()
    }

    /// Whether it allows nothing at all (a list is empty).
    pub fn is_empty(&self) -> bool {
        self.environments.is_empty() || self.organizations.is_empty()
    }

    /// The one environment an ingest key is bound to.
    pub fn single_environment(&self) -> Option<&str> {
        match self.environments.as_slice() {
            [only] if only != Scope::ANY => Some(only),
            _ => None,
        }
    }

    /// "environments production · any organization"; "all data"; "no data".
    pub fn describe(&self) -> String {
        if self.is_empty() {
            return "no data (empty scope)".into();
        }
        if self.is_unrestricted() {
            return "all data".into();
        }
        let part = |list: &[String], any: bool, singular: &str, plural: &str| {
            if any { format!("any {singular}") } else { format!("{plural} {}", list.join(", ")) }
        };
        format!(
            "{} · {}",
            part(&self.environments, self.any_environment(), "environment", "environments"),
            part(&self.organizations, self.any_organization(), "organization", "organizations")
        )
    }
}

/// Split a comma-separated list typed in a form into trimmed, non-empty items.
fn split_list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

/// The fewest characters a console password chosen by a person may have.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// The signed-in user, as the pages show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignedInUser {
    pub email: String,
    pub role: Role,
    pub scope: Scope,
    /// The time zone they chose; `None`: their browser's.
    pub time_zone: Option<String>,
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
    /// The time zone they read times in; `None`: their browser's.
    pub time_zone: Option<String>,
}

/// Time zones a user may choose to read times in (IANA names; the browser
/// converts). Their browser's own zone is the default.
pub const TIME_ZONES: [&str; 30] = [
    "UTC", "Europe/London", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Europe/Madrid", "Europe/Rome",
    "Europe/Amsterdam", "Europe/Stockholm", "Europe/Warsaw", "Europe/Athens", "Europe/Istanbul", "Europe/Moscow",
    "Africa/Lagos", "Africa/Johannesburg", "Asia/Dubai", "Asia/Kolkata", "Asia/Singapore", "Asia/Shanghai",
    "Asia/Tokyo", "Asia/Seoul", "Australia/Sydney", "Pacific/Auckland", "America/Sao_Paulo", "America/New_York",
    "America/Toronto", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Mexico_City",
];

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_scope_allows_nothing_and_all_data_is_explicit() {
        assert!(Scope::default().is_empty());
        assert_eq!(Scope::default().describe(), "no data (empty scope)");
        assert_eq!(Scope::from_lists("production", "").describe(), "no data (empty scope)");
        assert_eq!(Scope::from_lists("*", " * ").describe(), "all data");
        assert_eq!(Scope::from_lists("production, *", "*"), Scope::everything());
        assert_eq!(Scope::from_lists("production, staging", "*").describe(), "environments production, staging · any organization");
        assert_eq!(Scope::from_lists("*", "acme").describe(), "any environment · organizations acme");
        assert_eq!(Scope::from_lists("dev", "").single_environment(), Some("dev"));
        assert_eq!(Scope::everything().single_environment(), None);
    }
}
