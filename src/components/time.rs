//! A time shown relative ("4 hours ago") with the absolute UTC time on hover.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use crate::model::{absolute_time, relative_time};

#[component]
pub fn Time(at: DateTime<Utc>, now: DateTime<Utc>) -> impl IntoView {
    let absolute = absolute_time(at);
    let title = absolute.clone();
    view! {
        <time datetime=at.to_rfc3339() title=title>
            <span class="relative">{relative_time(now, at)}</span>
            <span class="absolute">{absolute}</span>
        </time>
    }
}
