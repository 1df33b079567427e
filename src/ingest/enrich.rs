//! Enrichment on ingest: the user agent parsed with the uap-core regexes
//! (shipped in `uap-regexes.json`, uap-core's `regexes.yaml` as JSON, compiled into the binary), and the client IP
//! located with a MaxMind-format database (DB-IP City Lite by default).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::model::ClientInfo;

const UAP_REGEXES: &str = include_str!("uap-regexes.json");
/// Distinct user agents kept parsed; the cache starts over beyond this.
const UA_CACHE_LIMIT: usize = 20_000;

pub struct Enricher {
    ua: &'static ua_parser::Extractor<'static>,
    ua_cache: Mutex<HashMap<String, Arc<ClientInfo>>>,
    geo: Option<Arc<GeoReader>>,
}

/// A location database, mapped from its file rather than read into memory:
/// the operating system keeps the pages lookups touch (a 100 MB database
/// read into the heap was two thirds of an idle server's memory). Replace
/// the file by renaming a new one over it, not by writing into it.
type GeoReader = maxminddb::Reader<maxminddb::Mmap>;
type GeoReaders = Mutex<HashMap<PathBuf, Arc<GeoReader>>>;

/// The compiled regexes and opened databases, shared by every enricher of the process.
static UA_EXTRACTOR: OnceLock<ua_parser::Extractor<'static>> = OnceLock::new();
static GEO_READERS: OnceLock<GeoReaders> = OnceLock::new();

impl Enricher {
    /// Compile the user-agent regexes and open the location database, if any.
    pub fn new(geo_database: Option<&Path>) -> anyhow::Result<Self> {
        let ua = UA_EXTRACTOR.get_or_init(|| {
            let regexes: ua_parser::Regexes<'static> =
                serde_json::from_str(UAP_REGEXES).expect("the shipped regexes parse");
            ua_parser::Extractor::try_from(regexes).expect("the shipped regexes compile")
        });
        let geo = match geo_database {
            Some(path) => {
                let mut readers = GEO_READERS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
                match readers.get(path) {
                    Some(reader) => Some(reader.clone()),
                    None => {
                        let reader = Arc::new(maxminddb::Reader::open_mmap(path).map_err(|e| {
                            anyhow::anyhow!("cannot open the location database {}: {e}", path.display())
                        })?);
                        readers.insert(path.to_path_buf(), reader.clone());
                        Some(reader)
                    }
                }
            }
            None => None,
        };
        Ok(Enricher { ua, ua_cache: Mutex::new(HashMap::new()), geo })
    }

    /// Everything known about a client from its user agent and address.
    pub fn client_info(&self, user_agent: Option<&str>, ip: Option<&str>) -> Option<ClientInfo> {
        let mut info = match user_agent {
            Some(ua) => (*self.parse_user_agent(ua)).clone(),
            None => ClientInfo::default(),
        };
        if let Some(addr) = ip.and_then(|ip| ip.parse::<IpAddr>().ok()) {
            self.locate(addr, &mut info);
        }
        (info != ClientInfo::default()).then_some(info)
    }

    /// Browser, OS and device of a user agent; each distinct one is parsed once.
    pub fn parse_user_agent(&self, ua: &str) -> Arc<ClientInfo> {
        if let Some(hit) = self.ua_cache.lock().unwrap_or_else(|e| e.into_inner()).get(ua) {
            return hit.clone();
        }
        let parsed = Arc::new(self.parse_uncached(ua));
        let mut cache = self.ua_cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= UA_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(ua.to_string(), parsed.clone());
        parsed
    }

    fn parse_uncached(&self, ua: &str) -> ClientInfo {
        let (browser, os, device) = self.ua.extract(ua);
        let known = |s: &str| (s != "Other").then(|| s.to_string());
        let version = |major: Option<&str>, minor: Option<&str>| match (major, minor) {
            (Some(major), Some(minor)) if minor != "0" => Some(format!("{major}.{minor}")),
            (Some(major), _) => Some(major.to_string()),
            _ => None,
        };
        let browser_family = browser.as_ref().and_then(|b| known(&b.family));
        let device_family = device.as_ref().map(|d| d.device.to_string());
        let bot = device_family.as_deref() == Some("Spider")
            || ["bot", "crawler", "spider", "slurp"].iter().any(|w| ua.to_ascii_lowercase().contains(w));
        ClientInfo {
            browser_version: browser.as_ref().and_then(|b| version(b.major, b.minor)),
            engine: engine_of(ua),
            os: os.as_ref().and_then(|o| known(&o.os)),
            os_version: os.as_ref().and_then(|o| version(o.major.as_deref(), o.minor.as_deref())),
            device_type: Some(device_type_of(ua, device_family.as_deref(), bot).to_string()),
            device_brand: device.as_ref().and_then(|d| d.brand.as_ref().map(|b| b.to_string())),
            device_model: device.as_ref().and_then(|d| d.model.as_ref().map(|m| m.to_string())),
            browser: browser_family,
            bot,
            ..ClientInfo::default()
        }
    }

    fn locate(&self, addr: IpAddr, info: &mut ClientInfo) {
        if let Some(network) = special_network(addr) {
            info.network = Some(network.to_string());
            return;
        }
        let Some(reader) = &self.geo else { return };
        let Ok(city) = reader.lookup::<maxminddb::geoip2::City>(addr) else { return };
        let english = |names: Option<&std::collections::BTreeMap<&str, &str>>| {
            names.and_then(|n| n.get("en")).map(|s| s.to_string())
        };
        if let Some(country) = &city.country {
            info.country_code = country.iso_code.map(str::to_string);
            info.country = english(country.names.as_ref());
        }
        info.region = city.subdivisions.as_ref().and_then(|s| s.first()).and_then(|s| english(s.names.as_ref()));
        info.city = city.city.as_ref().and_then(|c| english(c.names.as_ref()));
        if let Some(location) = &city.location {
            info.time_zone = location.time_zone.map(str::to_string);
            info.latitude = location.latitude;
            info.longitude = location.longitude;
        }
    }
}

/// Addresses that have no place on a map.
fn special_network(addr: IpAddr) -> Option<&'static str> {
    match addr {
        IpAddr::V4(v4) if v4.is_loopback() => Some("loopback"),
        IpAddr::V4(v4) if v4.is_private() => Some("private"),
        IpAddr::V4(v4) if v4.is_link_local() => Some("link-local"),
        IpAddr::V4(v4) if v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1]) => Some("carrier-grade NAT"),
        IpAddr::V4(v4) if v4.is_unspecified() || v4.is_broadcast() || v4.is_documentation() => Some("reserved"),
        IpAddr::V6(v6) if v6.is_loopback() => Some("loopback"),
        IpAddr::V6(v6) if (v6.segments()[0] & 0xfe00) == 0xfc00 => Some("private"),
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => Some("link-local"),
        IpAddr::V6(v6) if v6.segments()[0] == 0x2001 && v6.segments()[1] == 0x0db8 => Some("reserved"),
        IpAddr::V6(v6) if v6.is_unspecified() => Some("reserved"),
        _ => None,
    }
}

/// The rendering engine, from the tokens browsers put in their user agents.
fn engine_of(ua: &str) -> Option<String> {
    let engine = if ua.contains("Trident/") || ua.contains("MSIE ") {
        "Trident"
    } else if ua.contains("Firefox/") && ua.contains("Gecko/") {
        "Gecko"
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        "WebKit" // every browser on iOS
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") {
        "Blink"
    } else if ua.contains("AppleWebKit/") {
        "WebKit"
    } else {
        return None;
    };
    Some(engine.to_string())
}

fn device_type_of(ua: &str, device_family: Option<&str>, bot: bool) -> &'static str {
    let lower = ua.to_ascii_lowercase();
    if bot {
        "bot"
    } else if lower.contains("ipad") || lower.contains("tablet") || (lower.contains("android") && !lower.contains("mobile")) {
        "tablet"
    } else if lower.contains("mobile") || lower.contains("iphone") || lower.contains("android") {
        "mobile"
    } else if lower.contains("windows") || lower.contains("macintosh") || lower.contains("x11") || lower.contains("cros") {
        "desktop"
    } else if device_family.is_some_and(|d| d != "Other") {
        "other"
    } else {
        "unknown"
    }
}
