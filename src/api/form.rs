//! Reading the fields of settings forms: required text, optional text and
//! whole numbers in a range, each refused with a message naming the field.

use leptos::prelude::ServerFnError;

/// Trimmed, required, at most `max` characters.
pub fn text(label: &str, value: &str, max: usize) -> Result<String, ServerFnError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(crate::error::invalid(format!("{label} is required")));
    }
    if value.chars().count() > max {
        return Err(crate::error::invalid(format!("{label} is longer than {max} characters")));
    }
    Ok(value.to_string())
}

/// Trimmed, `None` when blank, cut at 500 characters.
pub fn optional(value: &str) -> Option<String> {
    Some(value.trim()).filter(|v| !v.is_empty()).map(|v| v.chars().take(500).collect())
}

/// A whole number in `range`; `default` when blank.
pub fn number(label: &str, value: &str, default: i32, range: std::ops::RangeInclusive<i32>) -> Result<i32, ServerFnError> {
    let value = value.trim();
    let n = if value.is_empty() {
        default
    } else {
        value.parse().map_err(|_| crate::error::invalid(format!("{label} must be a whole number")))?
    };
    if !range.contains(&n) {
        return Err(crate::error::invalid(format!("{label} must be from {} to {}", range.start(), range.end())));
    }
    Ok(n)
}
