//! Redaction before storage: values under secret-looking keys, and strings that
//! look like payment card numbers, are replaced by a marker anywhere in an
//! event's request, response, details and changes.

use serde_json::Value;

pub const MARKER: &str = "[REDACTED]";

/// Key fragments that mark a secret, matched case-insensitively, ignoring `_` and `-`.
pub const DEFAULT_SECRET_KEYS: [&str; 14] = [
    "password", "passwd", "secret", "token", "authorization", "cookie", "apikey", "privatekey",
    "cardnumber", "cvv", "cvc", "sessionkey", "accesskey", "clientsecret",
];

#[derive(Clone, Debug)]
pub struct Redactor {
    fragments: Vec<String>,
}

impl Redactor {
    pub fn new<S: AsRef<str>>(keys: &[S]) -> Self {
        Redactor { fragments: keys.iter().map(|k| normalise(k.as_ref())).filter(|k| !k.is_empty()).collect() }
    }

    pub fn is_secret_key(&self, key: &str) -> bool {
        let key = normalise(key);
        self.fragments.iter().any(|f| key.contains(f.as_str()))
    }

    /// Redact in place; returns how many values were replaced.
    pub fn redact(&self, value: &mut Value) -> usize {
        match value {
            Value::Object(map) => map
                .iter_mut()
                .map(|(key, v)| {
                    if self.is_secret_key(key) && !v.is_null() {
                        *v = Value::String(MARKER.into());
                        1
                    } else {
                        self.redact(v)
                    }
                })
                .sum(),
            Value::Array(items) => items.iter_mut().map(|v| self.redact(v)).sum(),
            Value::String(s) if looks_like_card_number(s) => {
                *s = MARKER.into();
                1
            }
            _ => 0,
        }
    }

    /// Redact a list of `{field, old, new}` changes: a secret field hides both values.
    pub fn redact_changes(&self, changes: &mut Value) -> usize {
        let Value::Array(items) = changes else { return self.redact(changes) };
        let mut count = 0;
        for change in items {
            let secret = change.get("field").and_then(Value::as_str).is_some_and(|f| self.is_secret_key(f));
            for side in ["old", "new"] {
                if let Some(v) = change.get_mut(side) {
                    if secret && !v.is_null() {
                        *v = Value::String(MARKER.into());
                        count += 1;
                    } else {
                        count += self.redact(v);
                    }
                }
            }
        }
        count
    }
}

fn normalise(key: &str) -> String {
    key.chars().filter(|c| *c != '_' && *c != '-' && *c != ' ').flat_map(char::to_lowercase).collect()
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
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_secrets_and_card_numbers_are_replaced() {
        let redactor = Redactor::new(&DEFAULT_SECRET_KEYS);
        let mut body = json!({
            "user": {"name": "ana", "Password": "hunter2", "profile": {"api_key": "k-123", "x-Api-Key": "k"}},
            "headers": [{"Authorization": "Bearer abc"}, {"Cookie": "sid=1"}],
            "payment": {"number": "4111 1111 1111 1111", "amount": "1234567890123"},
            "refresh_token": null,
        });
        assert_eq!(redactor.redact(&mut body), 6);
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
    fn changes_to_secret_fields_hide_both_values() {
        let redactor = Redactor::new(&["password"]);
        let mut changes = json!([{"field": "password_hash", "old": "a", "new": "b"}, {"field": "name", "old": "x", "new": "y"}]);
        redactor.redact_changes(&mut changes);
        assert_eq!(changes[0]["old"], MARKER);
        assert_eq!(changes[0]["new"], MARKER);
        assert_eq!(changes[1]["new"], "y");
    }
}
