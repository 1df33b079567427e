//! The terms free text matches (migration 25): what an event's `search_text`
//! holds, split once by Vigil when the event is written, and the terms a
//! query asks for, split the same way.
//!
//! The text of an event is its actor (name, e-mail, id), type, target (name,
//! id), request path, reason and client IP, lower-cased. Its terms are
//! - every run of letters and digits ("role", "update", "126"): the *runs*;
//! - every whitespace-separated word with punctuation inside, the punctuation
//!   at its ends cut off ("role.update", "ana@acme.example", "api/roles/42"):
//!   the *words*.
//!
//! `search_text` stores the distinct runs separated by spaces, then, when
//! there are any, a newline and the distinct words. A term never holds
//! whitespace, so the database reads the terms back with plain string
//! functions (`vigil_words`, and `split_part(search_text, E'\n', 1)` for the
//! runs the word counts keep) instead of a regular expression per event.

use std::collections::HashSet;

use crate::ingest::NewEvent;

/// What `search_text` holds between two terms.
const BETWEEN_TERMS: &str = " ";
/// What `search_text` holds between its runs and its words.
const BEFORE_WORDS: &str = "\n";

/// The LIKE patterns under which a stored text holds a term starting with
/// `prefix` (already escaped for LIKE): a term starts at the start of the
/// text or right after a space or the newline, so no row is split into its
/// terms to test a prefix.
pub fn term_start_patterns(prefix: &str) -> [String; 3] {
    [format!("{prefix}%"), format!("%{BETWEEN_TERMS}{prefix}%"), format!("%{BEFORE_WORDS}{prefix}%")]
}

/// The distinct terms of a text, in the order they first occur.
#[derive(Debug, PartialEq, Eq)]
pub struct Terms {
    pub runs: Vec<String>,
    pub words: Vec<String>,
}

impl Terms {
    /// The terms of a text (lower-cased here).
    pub fn of(text: &str) -> Terms {
        let text = text.to_lowercase();
        let runs = text.split(|c: char| !c.is_alphanumeric()).filter(|run| !run.is_empty());
        let words = text
            .split_whitespace()
            .map(|word| word.trim_matches(|c: char| !c.is_alphanumeric()))
            .filter(|word| word.chars().any(|c| !c.is_alphanumeric()));
        Terms { runs: distinct(runs), words: distinct(words) }
    }

    /// The terms of what an event says about who, what and where (its client
    /// IP as validation wrote it: the canonical form the database stores).
    pub fn of_event(e: &NewEvent) -> Terms {
        let parts = [
            e.actor_name.as_deref(),
            e.actor_email.as_deref(),
            e.actor_id.as_deref(),
            Some(e.event_type.as_str()),
            e.target_name.as_deref(),
            e.target_id.as_deref(),
            e.request_path.as_deref(),
            e.reason.as_deref(),
            e.client_ip.as_deref(),
        ];
        Terms::of(&parts.into_iter().flatten().collect::<Vec<_>>().join(" "))
    }

    /// As `search_text` stores them.
    pub fn stored(&self) -> String {
        let mut text = self.runs.join(BETWEEN_TERMS);
        if !self.words.is_empty() {
            text.push_str(BEFORE_WORDS);
            text.push_str(&self.words.join(BETWEEN_TERMS));
        }
        text
    }

    /// Every term, runs first.
    pub fn all(self) -> Vec<String> {
        let mut all = self.runs;
        all.extend(self.words);
        all
    }
}

/// Each term once, in the order they first occur (a set: an event's text may
/// hold thousands of words).
fn distinct<'a>(terms: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen = HashSet::new();
    terms.filter(|term| seen.insert(*term)).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(terms: &[&str]) -> Vec<String> {
        terms.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn runs_of_letters_and_digits_and_words_with_punctuation_inside() {
        let terms = Terms::of("Ana Lima ana@Acme.example role.update (api/roles/42) -- one-time, 126.0.1.2 role");
        assert_eq!(terms.runs, strings(&["ana", "lima", "acme", "example", "role", "update", "api", "roles", "42", "one", "time", "126", "0", "1", "2"]));
        assert_eq!(terms.words, strings(&["ana@acme.example", "role.update", "api/roles/42", "one-time", "126.0.1.2"]));
    }

    #[test]
    fn stored_as_runs_then_a_newline_and_the_words() {
        assert_eq!(Terms::of("usr_7 Signed in").stored(), "usr 7 signed in\nusr_7");
        assert_eq!(Terms::of("plain words only").stored(), "plain words only");
        assert_eq!(Terms::of("").stored(), "");
    }

    #[test]
    fn letters_beyond_ascii_are_letters() {
        let terms = Terms::of("Zoë Ærø-Öst");
        assert_eq!(terms.runs, strings(&["zoë", "ærø", "öst"]));
        assert_eq!(terms.words, strings(&["ærø-öst"]));
    }
}
