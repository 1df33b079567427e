//! Sessions as the console shows them, and their filter (kept in the URL).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{cursor_part, cursor_part_decoded, parse_query, to_query, ClientInfo, EventSummary, FilterOption};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub environment: String,
    pub organization_id: String,
    pub organization: Option<String>,
    pub session_id: String,
    pub user_key: String,
    pub user_name: Option<String>,
    pub user_email: Option<String>,
    pub user_role: Option<String>,
    pub started_at: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Not signed out and seen within the idle timeout.
    pub active: bool,
    pub events: i64,
    pub ip: Option<String>,
    pub machine_id: Option<String>,
    /// The device as a list shows it ("Chrome 131 on Windows 10 (desktop)").
    pub device: Option<String>,
    /// Where the session comes from as a list shows it: the place the source
    /// reported, else Vigil's lookup.
    pub place: Option<String>,
    /// The whole client, on a session's own page. The list of sessions sends
    /// the two labels above instead (a page of 500: 952 → 855 KB).
    pub client: Option<ClientInfo>,
    /// new_country, new_device, impossible_travel.
    pub flags: Vec<String>,
}

impl SessionSummary {
    /// The position after this session in the list's order.
    pub fn cursor(&self) -> SessionCursor {
        SessionCursor {
            last_seen: self.last_seen,
            session_id: self.session_id.clone(),
            environment: self.environment.clone(),
            organization_id: self.organization_id.clone(),
        }
    }

    pub fn user_label(&self) -> String {
        self.user_name.clone().or_else(|| self.user_email.clone()).unwrap_or_else(|| self.user_key.clone())
    }

    pub fn status(&self) -> &'static str {
        match (self.active, self.ended_at) {
            (true, _) => "active",
            (false, Some(_)) => "signed out",
            (false, None) => "timed out",
        }
    }
}

/// Sessions per page of the sessions page.
pub const SESSION_PAGE_LIMIT: i64 = 100;

/// A keyset position in the sessions list's order (last seen, newest first,
/// then session id, environment and organization, which make a session):
/// the sessions after it come next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCursor {
    pub last_seen: DateTime<Utc>,
    pub session_id: String,
    pub environment: String,
    pub organization_id: String,
}

impl SessionCursor {
    /// URL form: `<microseconds since epoch>.<session id>.<environment>.<organization>`,
    /// each text escaped as [`cursor_part`] says.
    pub fn encode(&self) -> String {
        let (session, environment, organization) = (&self.session_id, &self.environment, &self.organization_id);
        format!("{}.{}.{}.{}", self.last_seen.timestamp_micros(), cursor_part(session), cursor_part(environment), cursor_part(organization))
    }

    /// Parse the URL form; `None` for anything else.
    pub fn decode(text: &str) -> Option<Self> {
        let mut parts = text.split('.');
        let last_seen = DateTime::from_timestamp_micros(parts.next()?.parse().ok()?)?;
        let (session_id, environment, organization_id) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || session_id.is_empty() || environment.is_empty() {
            return None;
        }
        Some(SessionCursor {
            last_seen,
            session_id: cursor_part_decoded(session_id)?,
            environment: cursor_part_decoded(environment)?,
            organization_id: cursor_part_decoded(organization_id)?,
        })
    }
}

/// Most sessions the sessions map places (the most recently seen).
pub const MAP_SESSIONS: i64 = 10_000;

/// Human wording of a flag.
pub fn flag_label(flag: &str) -> &'static str {
    match flag {
        "new_country" => "New country",
        "new_device" => "New device",
        "impossible_travel" => "Impossible travel",
        _ => "Flag",
    }
}
pub const FLAGS: [&str; 3] = ["new_country", "new_device", "impossible_travel"];

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionFilter {
    pub environment: Option<String>,
    pub organization: Option<String>,
    pub user: Option<String>,
    pub country: Option<String>,
    pub device_type: Option<String>,
    pub flag: Option<String>,
    /// Also show sessions that ended in the last 7 days.
    pub include_ended: bool,
    /// What the reader may see; set on the server, never read from a URL.
    #[serde(skip)]
    pub scope: super::Scope,
}

super::single_valued_filters!(SessionFilter {
    environment: "env", "environment";
    organization: "org", "organization";
    user: "user", "user";
    country: "country", "country";
    device_type: "device", "device";
    flag: "flag", "flag";
});

impl SessionFilter {
    pub fn with(&self, key: &str, value: Option<&str>) -> Self {
        let mut next = self.clone();
        let value = value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        if key == "status" {
            next.include_ended = value.as_deref() == Some("all");
        } else if let Some(slot) = next.slot(key) {
            *slot = value;
        }
        next
    }

    pub fn from_query(query: &str) -> Self {
        parse_query(query).iter().fold(SessionFilter::default(), |f, (k, v)| f.with(k, Some(v)))
    }

    pub fn href(&self) -> String {
        let status = self.include_ended.then_some(("status", "all"));
        let query = to_query(self.set_fields().map(|(key, value)| (key, value.as_str())).chain(status));
        if query.is_empty() { "/sessions".into() } else { format!("/sessions?{query}") }
    }
}

/// The choices of the environment, organization, country and device filters.
pub type SessionOptions = [Vec<FilterOption>; 4];

/// The sessions page: the sessions and the choices of each filter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionList {
    pub now: DateTime<Utc>,
    pub sessions: Vec<SessionSummary>,
    pub environments: Vec<FilterOption>,
    pub organizations: Vec<FilterOption>,
    pub countries: Vec<FilterOption>,
    pub device_types: Vec<FilterOption>,
    /// Where the matching sessions come from (all of them, not only those listed).
    pub places: Vec<Place>,
    /// Where the next page starts, when more sessions match.
    pub next: Option<SessionCursor>,
}

/// A place sessions come from: one dot on the map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Place {
    pub latitude: f64,
    pub longitude: f64,
    /// "Berlin, DE".
    pub label: String,
    pub country: Option<String>,
    pub sessions: i64,
    /// Sessions with a flag.
    pub flagged: i64,
}

/// Where a session was, in time order: one point per change of place.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PathPoint {
    pub at: DateTime<Utc>,
    pub latitude: f64,
    pub longitude: f64,
    pub label: String,
    /// The user's previous session, which flags compare with.
    pub previous_session: bool,
}

/// Great-circle distance in km.
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1, lat2, lon2) = (a.0.to_radians(), a.1.to_radians(), b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

/// Whether going from one point to the next is faster than an airliner (over
/// 900 km/h across more than 500 km): the rule of the impossible-travel flag.
pub fn impossible_travel(from: &PathPoint, to: &PathPoint) -> bool {
    let km = distance_km((from.latitude, from.longitude), (to.latitude, to.longitude));
    let hours = (to.at - from.at).num_seconds().max(1) as f64 / 3600.0;
    km > 500.0 && km / hours > 900.0
}

/// One session and every event it produced, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    pub now: DateTime<Utc>,
    pub session: SessionSummary,
    pub events: Vec<EventSummary>,
    pub path: Vec<PathPoint>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_filter_round_trips_through_the_url() {
        let filter = SessionFilter::default().with("country", Some("DE")).with("flag", Some("new_device")).with("status", Some("all"));
        let href = filter.href();
        assert_eq!(href, "/sessions?country=DE&flag=new_device&status=all");
        assert_eq!(SessionFilter::from_query(href.trim_start_matches("/sessions?")), filter);
    }

    #[test]
    fn a_session_cursor_round_trips_whatever_its_texts_hold() {
        let last_seen = DateTime::from_timestamp_micros(1_764_800_000_123_456).unwrap();
        for (session_id, environment, organization_id) in
            [("s1", "production", "org_a"), ("a.b%2E%.", "staging.eu", ""), ("%25", "%", ".%2E_")]
        {
            let cursor = SessionCursor { last_seen, session_id: session_id.into(), environment: environment.into(), organization_id: organization_id.into() };
            assert_eq!(SessionCursor::decode(&cursor.encode()), Some(cursor.clone()), "{}", cursor.encode());
        }
        for text in ["", "x.s.e.o", "1.s.e", "1.s.e.o.more", "1..e.o", "1.s..o"] {
            assert_eq!(SessionCursor::decode(text), None, "{text:?}");
        }
    }

    #[test]
    fn travel_faster_than_an_airliner_is_impossible() {
        let at = |minutes: i64, latitude: f64, longitude: f64| PathPoint {
            at: DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::minutes(minutes),
            latitude,
            longitude,
            label: String::new(),
            previous_session: false,
        };
        let (berlin, sydney) = (at(0, 52.52, 13.40), at(60, -33.87, 151.21));
        assert!((distance_km((52.52, 13.40), (-33.87, 151.21)) - 16_000.0).abs() < 150.0);
        assert!(impossible_travel(&berlin, &sydney));
        assert!(!impossible_travel(&berlin, &at(24 * 60, -33.87, 151.21)), "a day is enough");
        assert!(!impossible_travel(&berlin, &at(1, 52.40, 13.06)), "Potsdam is near");
    }
}
