//! The files of `public/` that pages load, by URLs that carry a hash of their
//! content (`build.rs`): browsers keep them for good (`Cache-Control:
//! immutable`), and a rebuilt file gets a new URL.

/// ECharts with the chart types of the explorer, compare and services pages.
pub const ECHARTS: &str = concat!("/echarts.min.js?v=", env!("VIGIL_VERSION_ECHARTS"));
/// ECharts with the world map's parts as well (the sessions pages).
pub const ECHARTS_MAP: &str = concat!("/echarts-map.min.js?v=", env!("VIGIL_VERSION_ECHARTS_MAP"));
/// The world outline the map draws.
pub const WORLD: &str = concat!("/world.json?v=", env!("VIGIL_VERSION_WORLD"));

/// Whether a request is for the current version of one of these files.
pub fn is_current(path: &str, query: Option<&str>) -> bool {
    [ECHARTS, ECHARTS_MAP, WORLD].iter().any(|url| url.split_once('?') == Some((path, query.unwrap_or_default())))
}

/// The ECharts build a page at `path` loads, if any: none on the sign-in page,
/// the one with the map on the sessions pages.
pub fn echarts_for(path: &str) -> Option<&'static str> {
    match path {
        "/login" => None,
        _ if path == "/sessions" || path.starts_with("/sessions/") => Some(ECHARTS_MAP),
        _ => Some(ECHARTS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_current_version_is_current() {
        let (path, query) = ECHARTS.split_once('?').unwrap();
        assert!(is_current(path, Some(query)));
        assert!(!is_current(path, Some("v=0")));
        assert!(!is_current(path, None));
        assert!(!is_current("/login", Some(query)));
    }

    #[test]
    fn the_map_pages_load_the_map_build() {
        assert_eq!(echarts_for("/sessions"), Some(ECHARTS_MAP));
        assert_eq!(echarts_for("/sessions/abc"), Some(ECHARTS_MAP));
        assert_eq!(echarts_for("/sessionsx"), Some(ECHARTS));
        assert_eq!(echarts_for("/events"), Some(ECHARTS));
        assert_eq!(echarts_for("/login"), None);
    }
}
