//! Saved views: a name for an explorer or compare URL, private to its owner
//! or shared with everyone. A view keeps the query as written, so "last 24
//! hours" means the last 24 hours whenever it is opened.

use serde::{Deserialize, Serialize};

/// The pages a view may open.
pub const VIEW_PATHS: [&str; 2] = ["/events", "/compare"];
/// The longest name a view may have.
pub const MAX_VIEW_NAME: usize = 100;
/// The longest query a view may keep (bytes; as migration 22 checks).
pub const MAX_VIEW_QUERY: usize = 4000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct SavedView {
    pub id: i64,
    pub name: String,
    /// `/events` or `/compare`.
    pub path: String,
    /// The query string, without `?`.
    pub query: String,
    pub shared: bool,
    pub owner_email: String,
    /// Whether the reader owns it (and so may rename or delete it).
    pub mine: bool,
    /// Whether `/` opens it for the reader.
    pub is_default: bool,
}

impl SavedView {
    pub fn href(&self) -> String {
        if self.query.is_empty() { self.path.clone() } else { format!("{}?{}", self.path, self.query) }
    }
}

/// Split a console URL (`/events?env=x`, or a full address) into a view's
/// path and query; `None` for a page that cannot be saved.
pub fn view_location(url: &str) -> Option<(String, String)> {
    let local = url.find("://").map_or(url, |scheme| {
        let rest = &url[scheme + 3..];
        rest.find('/').map_or("/", |slash| &rest[slash..])
    });
    let (path, query) = local.split_once('?').unwrap_or((local, ""));
    let path = if path == "/" { "/events" } else { path };
    let query = query.split('#').next().unwrap_or("");
    VIEW_PATHS.contains(&path).then(|| (path.to_string(), query.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_explorer_and_compare_pages_are_saved() {
        let loc = |url: &str| view_location(url).map(|(p, q)| format!("{p}|{q}"));
        assert_eq!(loc("/events?env=prod&range=7d").as_deref(), Some("/events|env=prod&range=7d"));
        assert_eq!(loc("http://localhost:3000/compare?env=a#top").as_deref(), Some("/compare|env=a"));
        assert_eq!(loc("/").as_deref(), Some("/events|"));
        assert_eq!(loc("/settings/keys"), None);
        assert_eq!(loc("https://evil.example/events/../settings"), None);
    }
}
