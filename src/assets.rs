//! The files of `public/` that pages load, by URLs that carry a hash of their
//! content (`build.rs`): browsers keep them for good (`Cache-Control:
//! immutable`), and a rebuilt file gets a new URL.

/// ECharts with bar charts: the explorer's, and every page without a line
/// chart or a map.
pub const ECHARTS: &str = concat!("/echarts.min.js?v=", env!("VIGIL_VERSION_ECHARTS"));
/// ECharts with line charts and the world map's parts as well.
pub const ECHARTS_FULL: &str = concat!("/echarts-full.min.js?v=", env!("VIGIL_VERSION_ECHARTS_FULL"));
/// The world outline the map draws.
pub const WORLD: &str = concat!("/world.json?v=", env!("VIGIL_VERSION_WORLD"));

/// Whether a request is for the current version of one of these files.
pub fn is_current(path: &str, query: Option<&str>) -> bool {
    [ECHARTS, ECHARTS_FULL, WORLD].iter().any(|url| url.split_once('?') == Some((path, query.unwrap_or_default())))
}

/// The ECharts build a page at `path` loads, if any: none on the sign-in page,
/// the full one on the pages with a map (sessions) or line charts (compare,
/// services), the one with bars elsewhere.
pub fn echarts_for(path: &str) -> Option<&'static str> {
    let under = |section: &str| path.strip_prefix(section).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    match path {
        "/login" => None,
        _ if ["/sessions", "/compare", "/services"].into_iter().any(under) => Some(ECHARTS_FULL),
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
    fn the_pages_with_maps_or_lines_load_the_full_build() {
        assert_eq!(echarts_for("/sessions"), Some(ECHARTS_FULL));
        assert_eq!(echarts_for("/sessions/abc"), Some(ECHARTS_FULL));
        assert_eq!(echarts_for("/compare"), Some(ECHARTS_FULL));
        assert_eq!(echarts_for("/services/3"), Some(ECHARTS_FULL));
        assert_eq!(echarts_for("/sessionsx"), Some(ECHARTS));
        assert_eq!(echarts_for("/settings/services"), Some(ECHARTS));
        assert_eq!(echarts_for("/events"), Some(ECHARTS));
        assert_eq!(echarts_for("/login"), None);
    }
}
