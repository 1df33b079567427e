//! How the console writes and reads its URLs: query strings as HTML forms
//! encode them (`form_urlencoded`), path segments percent-encoded, and the one
//! declaration of a filter's single-valued fields that both filters use.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Characters escaped in a path segment: all but letters, digits and `-._~`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// One path segment (an event id, a session id), escaped.
pub fn path_segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// Characters escaped in a part of a page cursor: a path segment's, and `.`,
/// which separates the parts.
const CURSOR_PART: &AsciiSet = &SEGMENT.add(b'.');

/// One part of a dot-separated page cursor, escaped.
pub fn cursor_part(text: &str) -> String {
    utf8_percent_encode(text, CURSOR_PART).to_string()
}

/// A part of a page cursor as [`cursor_part`] wrote it; `None` if not UTF-8.
pub fn cursor_part_decoded(part: &str) -> Option<String> {
    percent_decode_str(part).decode_utf8().ok().map(|text| text.into_owned())
}

/// A query string's pairs, decoded (`+` is a space; a stray `%` stays as it is).
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.trim_start_matches('?').as_bytes()).into_owned().collect()
}

/// The first value of `key` in a query string.
pub fn query_param(query: &str, key: &str) -> Option<String> {
    parse_query(query).into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Whether a list's URL query asks for its first page: no `before` cursor,
/// or an empty one (as the server reads it).
pub fn is_first_page(query: &str) -> bool {
    query_param(query, "before").is_none_or(|before| before.is_empty())
}

/// Pairs as a query string, without the leading `?`.
pub fn to_query<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

/// One value as it stands in a query string (`next=…`).
pub fn query_value(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `href` with `key=value` added to its query string.
pub fn with_query_pair(href: &str, key: &str, value: &str) -> String {
    let separator = if href.contains('?') { '&' } else { '?' };
    format!("{href}{separator}{}", to_query([(key, value)]))
}

/// Declares a filter's single-valued fields once: the struct field, its key in
/// URLs and the API, and its label on a chip. Derives `FIELDS` (key, label),
/// `get(key)` and `slot(key)` from that one list.
macro_rules! single_valued_filters {
    ($filter:ty { $($field:ident: $key:literal, $label:literal;)* }) => {
        impl $filter {
            /// The single-valued filters as (URL key, label), in URL order.
            pub const FIELDS: &'static [(&'static str, &'static str)] = &[$(($key, $label)),*];

            pub fn get(&self, key: &str) -> Option<&String> {
                match key {
                    $($key => self.$field.as_ref(),)*
                    _ => None,
                }
            }

            fn slot(&mut self, key: &str) -> Option<&mut Option<String>> {
                match key {
                    $($key => Some(&mut self.$field),)*
                    _ => None,
                }
            }

            /// The set single-valued filters as (URL key, value), in URL order.
            pub fn set_fields(&self) -> impl Iterator<Item = (&'static str, &String)> + '_ {
                Self::FIELDS.iter().filter_map(|(key, _)| self.get(key).map(|value| (*key, value)))
            }
        }
    };
}
pub(crate) use single_valued_filters;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_segments_are_escaped_and_read_back() {
        assert_eq!(path_segment("a b/c?d"), "a%20b%2Fc%3Fd");
        assert_eq!(query_value("/sessions?status=all"), "%2Fsessions%3Fstatus%3Dall");
        let pairs = [("q", "100% & more"), ("user", "ana silva@x.com")];
        let text = to_query(pairs);
        assert_eq!(parse_query(&text), pairs.map(|(k, v)| (k.to_string(), v.to_string())));
        assert_eq!(parse_query("?q=%zz+x"), vec![("q".to_string(), "%zz x".to_string())]);
        assert_eq!(with_query_pair("/sessions", "before", "1_a b"), "/sessions?before=1_a+b");
        assert_eq!(with_query_pair("/sessions?env=x", "before", "1"), "/sessions?env=x&before=1");
        assert!(is_first_page("env=x") && is_first_page("before=&env=x") && !is_first_page("env=x&before=1"));
    }
}
