//! Times as the console shows them: relative ("4 hours ago") and absolute in
//! the reader's time zone (their choice, or their browser's), with the UTC
//! time on hover. The server renders UTC; the browser converts once hydrated.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use crate::components::current_user::CurrentUser;
use crate::model::{absolute_time, relative_time};

/// The time zone the reader chose (`None`: their browser's), once known.
fn chosen_zone() -> impl Fn() -> Option<String> + Copy {
    let me = use_context::<CurrentUser>();
    move || me.and_then(|m| m.0.get()).and_then(Result::ok).flatten().and_then(|u| u.time_zone)
}

#[component]
pub fn Time(at: DateTime<Utc>, now: DateTime<Utc>) -> impl IntoView {
    view! {
        <time datetime=at.to_rfc3339() title=absolute_time(at)>
            <span class="relative">{relative_time(now, at)}</span>
            <span class="absolute">{in_reader_zone(at)}</span>
        </time>
    }
}

/// A time on the reader's clock only, inline in a sentence ("2026-07-01
/// 14:00:00 CEST"), UTC on hover.
#[component]
pub fn ClockTime(at: DateTime<Utc>) -> impl IntoView {
    view! { <time class="clock" datetime=at.to_rfc3339() title=absolute_time(at)>{in_reader_zone(at)}</time> }
}

/// `at` as UTC on the server and until the browser has converted it to the
/// reader's zone (the one they chose, or their browser's).
fn in_reader_zone(at: DateTime<Utc>) -> ReadSignal<String> {
    let (shown, set_shown) = signal(absolute_time(at));
    #[cfg(feature = "hydrate")]
    {
        let zone = chosen_zone();
        Effect::new(move |_| set_shown.set(local::format(at, zone().as_deref())));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (set_shown, chosen_zone);
    shown
}

/// "Times in Europe/Berlin · UTC on hover"; "All times in UTC" until the browser knows better.
#[component]
pub fn TimeZoneNote() -> impl IntoView {
    let (note, set_note) = signal("All times in UTC".to_string());
    #[cfg(feature = "hydrate")]
    {
        let zone = chosen_zone();
        Effect::new(move |_| {
            let zone = zone().unwrap_or_else(local::browser_zone);
            if !matches!(zone.as_str(), "UTC" | "Etc/UTC") {
                set_note.set(format!("Times in {zone} · UTC on hover"));
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = set_note;
    view! { <span class="hint time-zone">{note}</span> }
}

/// The zone the reader chose, read where a chart is drawn (`None`: their
/// browser's); to be read inside an effect, which then follows it.
#[cfg(feature = "hydrate")]
pub fn reader_zone() -> Option<String> {
    chosen_zone()()
}

/// `at` on the wall clock of `zone` (the browser's when `None`).
#[cfg(feature = "hydrate")]
pub fn wall_clock(at: DateTime<Utc>, zone: Option<&str>) -> chrono::NaiveDateTime {
    let shown = local::format(at, zone);
    chrono::NaiveDateTime::parse_from_str(shown.get(..19).unwrap_or_default(), "%Y-%m-%d %H:%M:%S").unwrap_or(at.naive_utc())
}

/// The browser's conversion (`Intl`), which knows every zone.
#[cfg(feature = "hydrate")]
mod local {
    use chrono::{DateTime, Utc};
    use wasm_bindgen::prelude::*;

    thread_local! {
        static FORMAT: js_sys::Function = js_sys::Function::new_with_args(
            "ms, zone",
            "const o = {year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', \
             second: '2-digit', hourCycle: 'h23', timeZoneName: 'short'}; \
             try { return new Date(ms).toLocaleString('sv-SE', zone ? {...o, timeZone: zone} : o); } \
             catch (e) { return new Date(ms).toLocaleString('sv-SE', o); }",
        );
    }

    /// "2026-12-02 20:32:26 CET" in `zone`, or in the browser's zone.
    pub fn format(at: DateTime<Utc>, zone: Option<&str>) -> String {
        let zone = zone.map_or(JsValue::NULL, JsValue::from_str);
        FORMAT
            .with(|f| f.call2(&JsValue::NULL, &JsValue::from_f64(at.timestamp_millis() as f64), &zone))
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_else(|| crate::model::absolute_time(at))
    }

    /// The browser's IANA time zone ("Europe/Berlin").
    pub fn browser_zone() -> String {
        js_sys::Function::new_no_args("return Intl.DateTimeFormat().resolvedOptions().timeZone")
            .call0(&JsValue::NULL)
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_else(|| "UTC".into())
    }
}
