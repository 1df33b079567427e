//! Read results kept between requests until the data they come from changes.
//! Each value is stored with the version of the data it was computed from
//! (e.g. the deriving worker's position and the minute); a lookup with any
//! other version misses, so a value is never served past a change.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};

/// At most this many keys are kept; past it the map starts over.
const MAX_KEYS: usize = 1000;

pub struct Memo<K, V>(Mutex<HashMap<K, (String, V)>>);

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo(Mutex::new(HashMap::new()))
    }
}

impl<K: Hash + Eq, V: Clone> Memo<K, V> {
    /// The value kept for `key`, if it was computed at `version`.
    pub fn get(&self, key: &K, version: &str) -> Option<V> {
        let entries = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get(key).filter(|(at, _)| at == version).map(|(_, value)| value.clone())
    }

    /// Keep `value`, computed for `key` at `version`.
    pub fn put(&self, key: K, version: String, value: V) {
        let mut entries = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_KEYS && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(key, (version, value));
    }
}

#[cfg(test)]
mod tests {
    use super::Memo;

    #[test]
    fn a_value_is_served_only_at_its_version() {
        let memo = Memo::<&str, i32>::default();
        assert_eq!(memo.get(&"a", "1"), None);
        memo.put("a", "1".into(), 10);
        assert_eq!(memo.get(&"a", "1"), Some(10));
        assert_eq!(memo.get(&"a", "2"), None, "another version misses");
        assert_eq!(memo.get(&"b", "1"), None);
        memo.put("a", "2".into(), 20);
        assert_eq!(memo.get(&"a", "1"), None, "replaced");
        assert_eq!(memo.get(&"a", "2"), Some(20));
    }

    #[test]
    fn it_stays_bounded() {
        let memo = Memo::<usize, usize>::default();
        for key in 0..super::MAX_KEYS * 3 {
            memo.put(key, "v".into(), key);
        }
        assert!(memo.0.lock().unwrap().len() <= super::MAX_KEYS);
        assert_eq!(memo.get(&(super::MAX_KEYS * 3 - 1), "v"), Some(super::MAX_KEYS * 3 - 1));
    }
}
