//! The explorer's filter as SQL conditions, shared by the table, the chart and
//! the totals so that they always count the same events.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{Postgres, QueryBuilder};

use crate::model::{bucket_seconds, bucket_start, EventFilter, Scope, TimeRange};
use crate::store::terms::{term_start_patterns, Terms};

/// The concrete time span of a filter at one instant, shared by the table, the
/// chart and the APIs so that they count the same events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Inclusive; for presets aligned down to a bar, so the chart's first bar is whole.
    pub from: DateTime<Utc>,
    /// Exclusive; `None` for presets (open at the top).
    pub to: Option<DateTime<Utc>>,
    /// Width of the chart's bars for this span.
    pub bucket_seconds: i64,
}

/// The span of a filter's time range at `now`.
pub fn resolve_span(filter: &EventFilter, now: DateTime<Utc>) -> Span {
    let (from, to) = filter.range.span(now);
    let bucket_seconds = bucket_seconds((to - from).num_seconds());
    match &filter.range {
        TimeRange::Last(_) => Span { from: bucket_start(from, bucket_seconds), to: None, bucket_seconds },
        TimeRange::Between { .. } => Span { from, to: Some(to), bucket_seconds },
    }
}

/// The longest custom range read at once (about three years: at most 157 weekly bars).
pub const MAX_SPAN_DAYS: i64 = 1100;
/// The shortest prefix a `word*` search may have: shorter ones match most of the store.
pub const MIN_PREFIX: usize = 3;
/// The most words a free-text search may have.
pub const MAX_WORDS: usize = 8;

/// Why a filter asks for more work than a request may do, as the query
/// parameter to blame and what to change; `None` when it is within bounds.
pub fn out_of_bounds(filter: &EventFilter, now: DateTime<Utc>) -> Option<(&'static str, String)> {
    if let TimeRange::Between { from, to } = &filter.range {
        let earliest = DateTime::<Utc>::UNIX_EPOCH;
        if *from < earliest || *to > now + chrono::Duration::days(366) {
            return Some(("from", "the range must lie between 1970 and a year from now".into()));
        }
        if *to - *from > chrono::Duration::days(MAX_SPAN_DAYS) {
            return Some(("from", format!("a range may span at most {MAX_SPAN_DAYS} days; narrow it or use the export API")));
        }
    }
    let words = filter.text.as_deref().map(SearchWords::parse).unwrap_or_default();
    if words.whole.len() + words.prefixes.len() > MAX_WORDS {
        return Some(("q", format!("search for at most {MAX_WORDS} words at once")));
    }
    if let Some(short) = words.prefixes.iter().find(|p| p.chars().count() < MIN_PREFIX) {
        return Some(("q", format!("\"{short}*\": a word ending in * needs at least {MIN_PREFIX} letters before the *")));
    }
    None
}

/// Append ` and …` conditions on `events` for every filter except time.
pub fn push_conditions(q: &mut QueryBuilder<'_, Postgres>, filter: &EventFilter) {
    push_dimension_conditions(q, filter);
    if let Some(target) = &filter.target {
        q.push(" and target_id = ").push_bind(target.clone());
    }
    if let Some(user) = &filter.user {
        push_user(q, user);
    }
    if let Some(ip) = &filter.ip {
        match ip.parse::<IpAddr>() {
            Ok(addr) => {
                q.push(" and client_ip = ").push_bind(addr.to_string()).push("::inet");
            }
            Err(_) => {
                q.push(" and false");
            }
        }
    }
    if let Some(text) = &filter.text {
        push_text(q, &SearchWords::parse(text));
    }
}

/// A free-text query as words (see migrations 10 and 25): an event matches
/// when its terms (`vigil_words(search_text)`, split as `store::terms` says)
/// include every term of the whole words and, for every word written with a
/// trailing `*`, a term that starts with it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SearchWords {
    /// Lower-cased, the punctuation at their ends cut off.
    pub whole: Vec<String>,
    /// Likewise; an empty prefix (a lone `*`) matches any event.
    pub prefixes: Vec<String>,
}

impl SearchWords {
    pub fn parse(text: &str) -> SearchWords {
        let trim = |word: &str| word.trim_matches(|c: char| !c.is_alphanumeric()).to_string();
        let mut words = SearchWords::default();
        for word in text.to_lowercase().split_whitespace() {
            match word.strip_suffix('*') {
                Some(prefix) => words.prefixes.push(trim(prefix)),
                None if !trim(word).is_empty() => words.whole.push(trim(word)),
                None => {}
            }
        }
        words
    }

    /// The one term a query of one plain word (letters and digits) looks for:
    /// the `term_counts` rollup can count it.
    pub fn single_term(&self) -> Option<&str> {
        match (self.whole.as_slice(), self.prefixes.is_empty()) {
            ([word], true) if word.chars().all(char::is_alphanumeric) => Some(word),
            _ => None,
        }
    }
}

/// Append the conditions of free text. Every word must also occur in
/// `search_text` as it is: a cheap test that the planner runs before
/// tokenizing a row, when it reads the newest events in order instead of
/// using the index of terms. Prefixes test with LIKE where a term may start
/// ([`term_start_patterns`]), after the index of terms for the whole runs a
/// prefix holds. No `like '%prefix%'` before those: PostgreSQL multiplied
/// its estimate with theirs and, expecting a few dozen matches in a day of
/// 5 000, sorted them all for a page instead of reading the newest events in
/// order (`91.64*` at 10 M events: 45.7 ms instead of 3.0).
fn push_text(q: &mut QueryBuilder<'_, Postgres>, words: &SearchWords) {
    if words.whole.is_empty() && words.prefixes.is_empty() {
        q.push(" and false");
        return;
    }
    for word in &words.whole {
        q.push(" and strpos(search_text, ").push_bind(word.clone()).push(") > 0");
    }
    if !words.whole.is_empty() {
        let terms = Terms::of(&words.whole.join(" ")).all();
        q.push(" and vigil_words(search_text) @> ").push_bind(terms).push("::text[]");
    }
    for prefix in words.prefixes.iter().filter(|p| !p.is_empty()) {
        let runs = whole_runs_of_prefix(prefix);
        if !runs.is_empty() {
            q.push(" and vigil_words(search_text) @> ").push_bind(runs).push("::text[]");
        }
        q.push(" and (");
        let mut any = q.separated(" or ");
        for pattern in term_start_patterns(&escape_like(prefix)) {
            any.push("search_text like ").push_bind_unseparated(pattern);
        }
        q.push(")");
    }
}

/// The statement built in `q` for `filter`. With free text it is planned for
/// its values every time it runs (sqlx's unnamed statement) rather than
/// prepared once per connection: how many events hold the word decides the
/// plan, and after five runs on a connection PostgreSQL may settle on a
/// generic plan, which for a week's chart of `support` read every match of
/// the month and tested the time on each (3.5 s against 0.2 s at 10 M
/// events): the one slow run in fifteen.
pub fn query_of<'q>(q: &'q mut QueryBuilder<'_, Postgres>, filter: &EventFilter) -> Query<'q, Postgres, PgArguments> {
    q.build().persistent(filter.text.is_none())
}

/// The runs of letters and digits every term starting with `prefix` holds
/// whole: a term that starts with "91.64" or "api/roles" is a word whose runs
/// include "91" or "api". The index of terms finds the events that hold them,
/// instead of the prefix being tested on every event of the range.
fn whole_runs_of_prefix(prefix: &str) -> Vec<String> {
    match prefix.rsplit_once(|c: char| !c.is_alphanumeric()) {
        Some((whole, _)) => Terms::of(whole).runs,
        None => Vec::new(),
    }
}

/// Append the time conditions of a resolved span.
pub fn push_span(q: &mut QueryBuilder<'_, Postgres>, from: DateTime<Utc>, to: Option<DateTime<Utc>>) {
    q.push(" and occurred_at >= ").push_bind(from);
    if let Some(to) = to {
        q.push(" and occurred_at < ").push_bind(to);
    }
}

/// Whether the filter needs the events themselves: the rollups count by
/// dimension, actor and time only.
pub fn needs_events(filter: &EventFilter) -> bool {
    filter.target.is_some() || filter.ip.is_some() || filter.text.is_some()
}

/// Append ` and actor_key = any(…)`: the actors whose id, e-mail or name is the
/// given text (`names` holds every actor key ever ingested, with its latest
/// e-mail and name). For `events` and the per-actor rollup alike. As an array
/// computed first rather than a join, so that the newest events are read in
/// time order and filtered by key.
pub fn push_user(q: &mut QueryBuilder<'_, Postgres>, user: &str) {
    q.push(" and actor_key = any(array(");
    push_actor_keys(q, user);
    q.push("))");
}

/// `select id from names where …`: the keys of the actors whose id, e-mail or
/// name is `user` (an actor key may recur in several environments and
/// organizations). What a filter by user means, for events and sessions alike.
pub fn push_actor_keys(q: &mut QueryBuilder<'_, Postgres>, user: &str) {
    q.push("select id from names where kind = 'actor' and (id = ")
        .push_bind(user.to_string())
        .push(" or email = ")
        .push_bind(user.to_string())
        .push(" or name = ")
        .push_bind(user.to_string())
        .push(")");
}

/// A condition on Vigil's own environment (`op`: `=` or `<>`), written into
/// the statement rather than bound, so that the planner can use the time
/// index, which holds only the other environments (migration 24), in a
/// prepared statement too. The name is a constant, never input.
fn console_environment(op: &str) -> String {
    format!(" and environment {op} '{}'", crate::model::CONSOLE_ENVIRONMENT)
}

/// `events` read by time, as a parenthesised select with `conditions`. The time
/// index leaves Vigil's own events out (migration 24): when `filter` may
/// include them, the others and Vigil's own are read apart, each with
/// `conditions`, and put together (`union all`). Read through the view
/// `events_with_client`, whose join PostgreSQL removes unless `columns` name
/// the client (migration 28).
pub fn push_events_by_time<'a>(
    q: &mut QueryBuilder<'a, Postgres>,
    columns: &str,
    filter: &EventFilter,
    mut conditions: impl FnMut(&mut QueryBuilder<'a, Postgres>),
) {
    if filter.without_console || filter.environment.is_some() {
        q.push(format!("(select {columns} from events_with_client where true"));
        conditions(q);
        q.push(")");
        return;
    }
    q.push(format!("((select {columns} from events_with_client where true{}", console_environment("<>")));
    conditions(q);
    q.push(format!(") union all (select {columns} from events_with_client where true{}", console_environment("=")));
    conditions(q);
    q.push("))");
}

/// Conditions on the columns that `events` and the `event_counts` rollup share.
pub fn push_dimension_conditions(q: &mut QueryBuilder<'_, Postgres>, filter: &EventFilter) {
    let eq = |q: &mut QueryBuilder<'_, Postgres>, column: &str, value: &Option<String>| {
        if let Some(v) = value {
            q.push(format!(" and {column} = ")).push_bind(v.clone());
        }
    };
    push_scope(q, &filter.scope);
    eq(q, "environment", &filter.environment);
    if filter.without_console && filter.environment.is_none() {
        q.push(console_environment("<>"));
    }
    eq(q, "organization_id", &filter.organization);
    eq(q, "app_id", &filter.app);
    eq(q, "category", &filter.category);
    eq(q, "outcome", &filter.outcome);
    if !filter.types.is_empty() {
        q.push(" and type = any(").push_bind(filter.types.clone()).push(")");
    }
}

/// Append the reader's scope: ` and environment = any(…) and organization_id = any(…)`
/// for each list that is not `*` (an empty list matches nothing). Every query
/// that reads events, rollups, names or sessions goes through this, so a viewer
/// cannot see outside their scope by URL, filter, chart, export or session page.
pub fn push_scope(q: &mut QueryBuilder<'_, Postgres>, scope: &Scope) {
    if !scope.any_environment() {
        q.push(" and environment = any(").push_bind(scope.environments.clone()).push(")");
    }
    if !scope.any_organization() {
        q.push(" and organization_id = any(").push_bind(scope.organizations.clone()).push(")");
    }
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(whole: &[&str], prefixes: &[&str]) -> SearchWords {
        let owned = |w: &[&str]| w.iter().map(|s| s.to_string()).collect();
        SearchWords { whole: owned(whole), prefixes: owned(prefixes) }
    }

    #[test]
    fn a_query_is_lower_cased_words_and_starred_prefixes() {
        assert_eq!(SearchWords::parse("  Ana  (Silva), "), words(&["ana", "silva"], &[]));
        assert_eq!(SearchWords::parse("/api/roles* 81.2.69.160"), words(&["81.2.69.160"], &["api/roles"]));
        assert_eq!(SearchWords::parse("* ..."), words(&[], &[""]), "a lone star; punctuation alone is no word");
        assert_eq!(SearchWords::parse("Müller").single_term(), Some("müller"));
        assert_eq!(SearchWords::parse("role.update").single_term(), None, "punctuation inside");
        assert_eq!(SearchWords::parse("ana silva").single_term(), None);
        assert_eq!(SearchWords::parse("ana*").single_term(), None);
    }

    #[test]
    fn every_term_a_prefix_starts_holds_the_prefixs_whole_runs() {
        assert_eq!(whole_runs_of_prefix("91.64"), ["91"]);
        assert_eq!(whole_runs_of_prefix("api/roles/4"), ["api", "roles"]);
        assert!(whole_runs_of_prefix("support").is_empty(), "one run, maybe cut short");
        let texts = ["81.2.69.160", "2001:db8::1", "/api/roles/42", "ana.silva@acme.example", "müller-lüdenscheidt.de"];
        for text in texts {
            let runs = Terms::of(text).runs;
            for (end, _) in text.char_indices().skip(1) {
                let prefix = &SearchWords::parse(&format!("{}*", &text[..end])).prefixes[0];
                for run in whole_runs_of_prefix(prefix) {
                    assert!(runs.contains(&run), "{run:?} of {prefix:?} is not a run of {text:?}");
                }
            }
        }
    }
}
