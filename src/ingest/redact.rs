//! Redaction before storage. Anywhere in an event's request, response, details
//! and changes (and its request path), these become a marker:
//! - the value of a secret-looking key, also in `{"name": "Authorization",
//!   "value": …}` and `["Cookie", …]` header lists and `Name: value` header lines;
//! - the value of a secret-looking parameter in any string's query or fragment
//!   (`?token=…`, `#access_token=…`, `pass%77ord=…`), or in a string that is a
//!   bare parameter list (`a=1&token=…`);
//! - payment card numbers, as strings or JSON numbers, JWTs, and `Bearer …` or
//!   `Basic …` credentials, under whatever key;
//! - all of the above inside strings that hold JSON (a body sent as text).

use percent_encoding::percent_decode_str;
use serde_json::Value;

pub const MARKER: &str = "[REDACTED]";

/// Key fragments that mark a secret, matched case-insensitively inside a key
/// with `_`, `-`, `.` and spaces ignored (`X-Api-Key`, `api.key`, `clientSecret`).
pub const DEFAULT_SECRET_KEYS: [&str; 19] = [
    "password", "passwd", "pwd", "passphrase", "secret", "token", "authorization", "cookie", "apikey",
    "privatekey", "cardnumber", "cvv", "cvc", "sessionkey", "accesskey", "clientsecret", "credential",
    "bearer", "jwt",
];

/// Secret words too short to match inside other words (`author`, `oauth`):
/// they count only as a whole word of the key (`auth`, `x-auth`, `authHeader`).
const SECRET_WORDS: [&str; 3] = ["auth", "pin", "otp"];

/// In `{"name": …, "value": …}` lists: the fields that name the entry, and those that hold its value.
const ENTRY_NAMES: [&str; 4] = ["name", "key", "header", "field"];
const ENTRY_VALUES: [&str; 4] = ["value", "values", "val", "content"];

/// The longest string searched for embedded JSON and parameters.
const MAX_SCANNED: usize = 1 << 20;

#[derive(Clone, Debug)]
pub struct Redactor {
    fragments: Vec<String>,
}

impl Redactor {
    /// Exactly these key fragments (and the short secret words).
    pub fn new<S: AsRef<str>>(keys: &[S]) -> Self {
        Redactor { fragments: keys.iter().map(|k| normalise(k.as_ref())).filter(|k| !k.is_empty()).collect() }
    }

    /// The built-in fragments and `extra` (`VIGIL_REDACT_KEYS` adds, never replaces).
    pub fn with_defaults<S: AsRef<str>>(extra: &[S]) -> Self {
        let mut keys: Vec<&str> = DEFAULT_SECRET_KEYS.to_vec();
        keys.extend(extra.iter().map(AsRef::as_ref));
        Redactor::new(&keys)
    }

    /// Whether a key (percent-encoded or not) names a secret.
    pub fn is_secret_key(&self, key: &str) -> bool {
        let key = decode_component(key);
        let normalised = normalise(&key);
        self.fragments.iter().any(|f| normalised.contains(f.as_str()))
            || words(&key).any(|w| SECRET_WORDS.contains(&w.as_str()))
    }

    /// Redact in place; returns how many values were replaced.
    pub fn redact(&self, value: &mut Value) -> usize {
        match value {
            Value::Object(map) => {
                let named_secret = ENTRY_NAMES
                    .iter()
                    .filter_map(|n| map.get(*n).and_then(Value::as_str))
                    .any(|name| self.is_secret_key(name));
                map.iter_mut()
                    .map(|(key, v)| {
                        let secret = self.is_secret_key(key) || (named_secret && ENTRY_VALUES.contains(&key.as_str()));
                        if secret { mark(v) } else { self.redact(v) }
                    })
                    .sum()
            }
            Value::Array(items) => match items.as_mut_slice() {
                [Value::String(name), v] if self.is_secret_key(name) => mark(v),
                items => items.iter_mut().map(|v| self.redact(v)).sum(),
            },
            Value::Number(n) if looks_like_card_number(&n.to_string()) => mark(value),
            Value::String(text) => match self.redact_text(text) {
                Some((clean, count)) => {
                    *text = clean;
                    count
                }
                None => 0,
            },
            _ => 0,
        }
    }

    /// A string with its secrets replaced and how many, or `None` when it has none.
    pub fn redact_text(&self, text: &str) -> Option<(String, usize)> {
        if looks_like_card_number(text) || is_credential(text) {
            return Some((MARKER.into(), 1));
        }
        if text.len() > MAX_SCANNED {
            return None;
        }
        let trimmed = text.trim_start();
        if trimmed.starts_with(['{', '[']) {
            if let Ok(mut embedded) = serde_json::from_str::<Value>(text) {
                let count = self.redact(&mut embedded);
                return (count > 0).then(|| (embedded.to_string(), count));
            }
        }
        if text.contains('\n') || header_line(text).is_some() {
            return self.redact_header_lines(text);
        }
        self.redact_parameters(text)
    }

    /// `Authorization: Bearer …` lines: the value of a secret-named header.
    fn redact_header_lines(&self, text: &str) -> Option<(String, usize)> {
        let mut count = 0;
        let lines: Vec<String> = text
            .split('\n')
            .map(|line| match header_line(line) {
                Some((name, _)) if self.is_secret_key(name) => {
                    count += 1;
                    format!("{name}: {MARKER}")
                }
                _ => match self.redact_parameters(line) {
                    Some((clean, n)) => {
                        count += n;
                        clean
                    }
                    None => line.to_string(),
                },
            })
            .collect();
        (count > 0).then(|| (lines.join("\n"), count))
    }

    /// Secret parameters in a URL's query and fragment, or in a bare `a=1&b=2` list.
    fn redact_parameters(&self, text: &str) -> Option<(String, usize)> {
        if !text.contains('=') {
            return None;
        }
        let split = text.find(['?', '#']);
        let bare = split.is_none() && !text.contains(char::is_whitespace);
        let start = match split {
            Some(i) => i + 1,
            None if bare => 0,
            None => return None,
        };
        let mut count = 0;
        let mut out = String::with_capacity(text.len());
        out.push_str(&text[..start]);
        // Each run between separators is `name=value` or left as it is.
        let mut rest = &text[start..];
        while !rest.is_empty() {
            let end = rest.find(['&', ';', '#', '?']).unwrap_or(rest.len());
            let pair = &rest[..end];
            match pair.split_once('=') {
                Some((name, value)) if !value.is_empty() && self.is_secret_key(name) => {
                    count += 1;
                    out.push_str(name);
                    out.push('=');
                    out.push_str(MARKER);
                }
                _ => out.push_str(pair),
            }
            if end < rest.len() {
                out.push_str(&rest[end..end + 1]);
                rest = &rest[end + 1..];
            } else {
                rest = "";
            }
        }
        (count > 0).then_some((out, count))
    }

    /// Redact a list of `{field, old, new}` changes: a secret field hides both values.
    pub fn redact_changes(&self, changes: &mut Value) -> usize {
        let Value::Array(items) = changes else { return self.redact(changes) };
        let mut count = 0;
        for change in items {
            let secret = change.get("field").and_then(Value::as_str).is_some_and(|f| self.is_secret_key(f));
            for side in ["old", "new"] {
                if let Some(v) = change.get_mut(side) {
                    count += if secret { mark(v) } else { self.redact(v) };
                }
            }
        }
        count
    }
}

/// Replace a value by the marker (nulls stay null); 1 when replaced.
fn mark(value: &mut Value) -> usize {
    if value.is_null() {
        return 0;
    }
    *value = Value::String(MARKER.into());
    1
}

/// A parameter or key name as meant: `+` is a space, `%xx` its byte.
fn decode_component(text: &str) -> String {
    if !text.contains(['%', '+']) {
        return text.to_string();
    }
    percent_decode_str(&text.replace('+', " ")).decode_utf8_lossy().into_owned()
}

fn normalise(key: &str) -> String {
    key.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// The lower-cased words of a key: split at non-alphanumerics and camelCase humps.
fn words(key: &str) -> impl Iterator<Item = String> + '_ {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in key.chars() {
        if (!c.is_alphanumeric() || (c.is_uppercase() && previous_lower)) && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        if c.is_alphanumeric() {
            current.extend(c.to_lowercase());
        }
        previous_lower = c.is_lowercase();
    }
    words.push(current);
    words.into_iter().filter(|w| !w.is_empty())
}

/// `Name: value` with a header-like name.
fn header_line(line: &str) -> Option<(&str, &str)> {
    let (name, value) = line.split_once(':')?;
    let is_name = !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    (is_name && value.starts_with(' ')).then_some((name, value))
}

/// A bearer or basic credential, or a JSON Web Token, whoever sent it under whatever key.
fn is_credential(text: &str) -> bool {
    let text = text.trim();
    let token = ["Bearer ", "bearer ", "Basic ", "basic "].iter().find_map(|p| text.strip_prefix(p));
    if token.is_some_and(|t| t.len() >= 8 && !t.contains(char::is_whitespace)) {
        return true;
    }
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() == 3
        && text.starts_with("eyJ")
        && text.len() >= 24
        && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
}

/// 13 to 19 digits (spaces and dashes allowed) that pass the Luhn check.
pub fn looks_like_card_number(text: &str) -> bool {
    if text.len() > 40 || !text.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '-') {
        return false;
    }
    let digits: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { *d })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn redactor() -> Redactor {
        Redactor::with_defaults::<&str>(&[])
    }

    #[test]
    fn nested_secrets_and_card_numbers_are_replaced() {
        let mut body = json!({
            "user": {"name": "ana", "Password": "hunter2", "profile": {"api_key": "k-123", "x-Api-Key": "k"}},
            "headers": [{"Authorization": "Bearer abc"}, {"Cookie": "sid=1"}],
            "payment": {"number": "4111 1111 1111 1111", "amount": "1234567890123"},
            "refresh_token": null,
        });
        assert_eq!(redactor().redact(&mut body), 6);
        assert_eq!(body["user"]["Password"], MARKER);
        assert_eq!(body["user"]["name"], "ana");
        assert_eq!(body["user"]["profile"]["api_key"], MARKER);
        assert_eq!(body["headers"][0]["Authorization"], MARKER);
        assert_eq!(body["headers"][1]["Cookie"], MARKER);
        assert_eq!(body["payment"]["number"], MARKER, "a Luhn-valid card number");
        assert_eq!(body["payment"]["amount"], "1234567890123", "digits that fail Luhn stay");
        assert_eq!(body["refresh_token"], Value::Null);
    }

    #[test]
    fn key_names_match_as_fragments_and_short_words_as_whole_words() {
        let r = redactor();
        for key in ["auth", "X-Auth", "authHeader", "pwd", "user_pwd", "passphrase", "credentials", "bearer", "jwt",
                    "api.key", "x-api-key", "pass%77ord", "access+token", "PIN", "otp_code"] {
            assert!(r.is_secret_key(key), "{key}");
        }
        for key in ["author", "oauth_provider", "authority", "name", "spinner", "pinned", "description", "footprint"] {
            assert!(!r.is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn added_keys_extend_the_built_in_list() {
        let r = Redactor::with_defaults(&["ssn"]);
        assert!(r.is_secret_key("customer_ssn") && r.is_secret_key("password"));
    }

    #[test]
    fn header_lists_lines_urls_fragments_numbers_and_embedded_json() {
        let r = redactor();
        let mut value = json!({
            "headers": [{"name": "Authorization", "value": "Basic dXNlcjpwYXNz"}, {"name": "Accept", "value": "*/*"}],
            "pairs": [["Cookie", "sid=S1"], ["Host", "example.com"]],
            "raw_headers": "Host: example.com\nX-Api-Key: S2\nAccept: */*",
            "url": "https://example.com/cb?code=1&client_secret=S3#access_token=S4&state=x",
            "query": "page=2&token=S5",
            "link": "/reset?pass%77ord=S6",
            "card": 4111111111111111u64,
            "amount": 1234567890123u64,
            "body": "{\"user\":\"ana\",\"password\":\"S7\"}",
            "text": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
            "note": "a=b is not a secret; nor is this sentence",
        });
        let count = r.redact(&mut value);
        let text = value.to_string();
        for secret in ["dXNlcjpwYXNz", "S1", "S2", "S3", "S4", "S5", "S6", "4111111111111111", "S7", "eyJhbGci"] {
            assert!(!text.contains(secret), "{secret} left in {text}");
        }
        assert_eq!(count, 10, "{text}");
        assert_eq!(value["headers"][1]["value"], "*/*");
        assert_eq!(value["pairs"][1][1], "example.com");
        assert_eq!(value["raw_headers"], format!("Host: example.com\nX-Api-Key: {MARKER}\nAccept: */*"));
        assert_eq!(value["url"], format!("https://example.com/cb?code=1&client_secret={MARKER}#access_token={MARKER}&state=x"));
        assert_eq!(value["query"], format!("page=2&token={MARKER}"));
        assert_eq!(value["amount"], 1234567890123u64);
        let body: Value = serde_json::from_str(value["body"].as_str().unwrap()).unwrap();
        assert_eq!(body, json!({"user": "ana", "password": MARKER}), "still JSON, as sent");
        assert_eq!(value["note"], "a=b is not a secret; nor is this sentence");
    }

    #[test]
    fn changes_to_secret_fields_hide_both_values() {
        let redactor = Redactor::new(&["password"]);
        let mut changes = json!([{"field": "password_hash", "old": "a", "new": "b"}, {"field": "name", "old": "x", "new": "y"}]);
        redactor.redact_changes(&mut changes);
        assert_eq!(changes[0]["old"], MARKER);
        assert_eq!(changes[0]["new"], MARKER);
        assert_eq!(changes[1]["new"], "y");
    }
}
