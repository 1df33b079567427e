//! What Vigil works out about a client on ingest: browser, OS and device from
//! the user agent, and location from the IP address.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// desktop, mobile, tablet, bot or other.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_brand: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_model: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bot: bool,
    /// "private", "loopback", "link-local" … for addresses that have no location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
    /// Where the sender says the client was (`client.location`, e.g. Okta's
    /// `geographicalContext`); preferred to the lookup for flags and the map.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reported: Option<Location>,
}

/// A place as a sender reports it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
}

impl Location {
    /// "Berlin, Land Berlin, Germany".
    pub fn label(&self) -> Option<String> {
        place_label(&self.city, &self.region, &self.country).or_else(|| self.country_code.clone())
    }
}

impl ClientInfo {
    /// "Chrome 131 on Windows 10 (desktop)".
    pub fn device_label(&self) -> Option<String> {
        let browser = self.browser.as_ref().map(|b| match &self.browser_version {
            Some(v) => format!("{b} {v}"),
            None => b.clone(),
        });
        let os = self.os.as_ref().map(|o| match &self.os_version {
            Some(v) => format!("{o} {v}"),
            None => o.clone(),
        });
        let text = match (browser, os) {
            (Some(b), Some(o)) => format!("{b} on {o}"),
            (Some(b), None) => b,
            (None, Some(o)) => o,
            (None, None) => return None,
        };
        Some(match &self.device_type {
            Some(kind) => format!("{text} ({kind})"),
            None => text,
        })
    }

    /// "Berlin, Land Berlin, Germany", or the kind of network for private addresses.
    /// The country the client was in: as reported by the sender, else as looked up.
    pub fn place_country(&self) -> Option<&str> {
        self.reported.as_ref().and_then(|r| r.country_code.as_deref()).or(self.country_code.as_deref())
    }

    /// Where the sender says the client was, when it says so.
    pub fn reported_label(&self) -> Option<String> {
        self.reported.as_ref().and_then(Location::label).map(|l| format!("{l} (reported by the source)"))
    }

    pub fn location_label(&self) -> Option<String> {
        if let Some(network) = &self.network {
            return Some(format!("{network} network"));
        }
        place_label(&self.city, &self.region, &self.country)
    }
}

/// "Berlin, Land Berlin, Germany": the parts that are known.
fn place_label(city: &Option<String>, region: &Option<String>, country: &Option<String>) -> Option<String> {
    let parts: Vec<&str> = [city, region, country].into_iter().flatten().map(String::as_str).collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}
