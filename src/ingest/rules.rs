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
use crate::model::{Outcome, RuleDefinition, RuleImpact};
use crate::store::rules::Recorded;

/// What rules match on, of one event or of a group of them; an app of none is "".
struct Subject<'a> {
    environment: &'a str,
    organization_id: &'a str,
    organization_name: Option<&'a str>,
    app_id: &'a str,
    app_name: Option<&'a str>,
    event_type: &'a str,
    outcome: Outcome,
}

impl<'a> Subject<'a> {
    fn of(e: &'a NewEvent) -> Self {
        Subject {
            environment: &e.environment,
            organization_id: &e.organization_id,
            organization_name: e.organization_name.as_deref(),
            app_id: e.app_id.as_deref().unwrap_or_default(),
            app_name: e.app_name.as_deref(),
            event_type: &e.event_type,
            outcome: e.outcome,
        }
    }
}

/// Whether a rule matches what an event is.
fn matches(rule: &RuleDefinition, s: &Subject) -> bool {
    let either = |pattern: &str, id: &str, name: Option<&str>| glob(pattern, id) || name.is_some_and(|n| glob(pattern, n));
    glob(&rule.environment, s.environment)
        && either(&rule.organization, s.organization_id, s.organization_name)
        && either(&rule.app, s.app_id, s.app_name)
        && glob(&rule.event_type, s.event_type)
        && rule.outcome.unwrap_or(Outcome::Success) == s.outcome
}

impl Recorded {
    fn subject(&self) -> Subject<'_> {
        Subject {
            environment: &self.environment,
            organization_id: &self.organization_id,
            organization_name: self.organization_name.as_deref(),
            app_id: &self.app_id,
            app_name: self.app_name.as_deref(),
            event_type: &self.event_type,
            outcome: self.outcome,
        }
    }
}

/// What `rule`, placed after the rules `earlier`, would have done to the
/// events `recorded` over `days` days: the first matching rule decides, and
/// a sampling rule keeps one in n of what it decides.
pub fn impact<'a>(earlier: impl Iterator<Item = &'a RuleDefinition> + Clone, rule: &RuleDefinition, recorded: &[Recorded], days: u32) -> RuleImpact {
    let mut impact = RuleImpact { days, recorded: 0, matched: 0, decided_earlier: 0, dropped: 0 };
    for group in recorded {
        impact.recorded += group.events;
        let subject = group.subject();
        if matches(rule, &subject) {
            impact.matched += group.events;
            if earlier.clone().any(|r| matches(r, &subject)) {
                impact.decided_earlier += group.events;
            }
        }
    }
    let decided = impact.matched - impact.decided_earlier;
    impact.dropped = match rule.keep_one_in {
        None => decided,
        Some(n) => decided - decided / i64::from(n.max(1)),
    };
    impact
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
        let subject = Subject::of(e);
        let (id, rule) = self.0.iter().find(|(_, rule)| matches(rule, &subject))?;
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
