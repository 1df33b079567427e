//! Recording rules at ingest: which valid events are dropped or sampled
//! before storage. The first matching rule decides. Patterns match with `*`
//! as any text; a rule without an outcome matches successes only, so
//! failures and denials are dropped only by a rule that names them. Sampling
//! keeps one event in n, chosen by a hash of the event's id, so a retried
//! batch is sampled the same way.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::NewEvent;
use crate::model::{Outcome, RuleDefinition};

/// Whether a rule matches an event.
fn matches(rule: &RuleDefinition, e: &NewEvent) -> bool {
    let either = |pattern: &str, id: &str, name: Option<&str>| glob(pattern, id) || name.is_some_and(|n| glob(pattern, n));
    glob(&rule.environment, &e.environment)
        && either(&rule.organization, &e.organization_id, e.organization_name.as_deref())
        && either(&rule.app, e.app_id.as_deref().unwrap_or_default(), e.app_name.as_deref())
        && glob(&rule.event_type, &e.event_type)
        && rule.outcome.unwrap_or(Outcome::Success) == e.outcome
}

/// Whether a matching rule drops this event (a sampling rule keeps one in n).
fn drops(rule: &RuleDefinition, e: &NewEvent) -> bool {
    match rule.keep_one_in {
        None => true,
        Some(n) => !sampled_in(&e.id, n.max(1) as u64),
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any text (none included).
pub fn glob(pattern: &str, text: &str) -> bool {
    let mut pieces = pattern.split('*');
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Whether an event id falls in the kept one-in-`n`.
fn sampled_in(id: &str, n: u64) -> bool {
    let hash = Sha256::digest(id.as_bytes());
    u64::from_be_bytes(hash[..8].try_into().expect("8 bytes")) % n == 0
}

/// The rules in force, in order, by id.
#[derive(Clone, Debug, Default)]
pub struct Rules(pub Vec<(i64, RuleDefinition)>);

impl Rules {
    /// The id of the rule that drops this event, if one does.
    pub fn dropping(&self, e: &NewEvent) -> Option<i64> {
        let (id, rule) = self.0.iter().find(|(_, rule)| matches(rule, e))?;
        drops(rule, e).then_some(*id)
    }
}

/// The rules as last read, shared by the requests of one instance; read
/// again after [`RuleCache::FRESH`] (so other instances' changes apply within
/// seconds) or at once after a change here.
#[derive(Default)]
pub struct RuleCache(RwLock<Option<(Instant, Arc<Rules>)>>);

impl RuleCache {
    pub const FRESH: Duration = Duration::from_secs(2);

    pub fn fresh(&self) -> Option<Arc<Rules>> {
        let cached = self.0.read().expect("rule cache lock");
        cached.as_ref().filter(|(at, _)| at.elapsed() < Self::FRESH).map(|(_, rules)| rules.clone())
    }

    pub fn store(&self, rules: Rules) -> Arc<Rules> {
        let rules = Arc::new(rules);
        *self.0.write().expect("rule cache lock") = Some((Instant::now(), rules.clone()));
        rules
    }

    pub fn invalidate(&self) {
        *self.0.write().expect("rule cache lock") = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_match_any_text() {
        assert!(glob("*", ""));
        assert!(glob("app.*", "app.view"));
        assert!(glob("*.view", "app.view"));
        assert!(glob("a*b*c", "a-b-b-c"));
        assert!(glob("dev", "dev"));
        assert!(!glob("dev", "devel"));
        assert!(!glob("app.*", "user.login"));
        assert!(!glob("a*bc", "abc-c"));
    }

    #[test]
    fn one_in_n_is_kept_and_the_same_each_time() {
        let kept = (0..10_000).filter(|i| sampled_in(&format!("evt_{i}"), 10)).count();
        assert!((850..1150).contains(&kept), "{kept}");
        assert_eq!(sampled_in("evt_42", 10), sampled_in("evt_42", 10));
    }
}
