//! Read results kept between requests until the data they come from changes.
//! Each value is stored with the version of the data it was computed from
//! (e.g. the deriving worker's position and the minute); a lookup with any
//! other version misses, so a value is never served past a change. When a
//! version moves, one request computes the new value and the others that
//! miss it meanwhile wait for it instead of running the same scan beside it;
//! misses of other keys do not wait.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

/// At most this many keys are kept by default; past it the map starts over.
const MAX_KEYS: usize = 1000;

pub struct Memo<K, V> {
    entries: Mutex<HashMap<K, (String, V)>>,
    max_keys: usize,
    /// Per key being computed, held while it is.
    computing: Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo::bounded(MAX_KEYS)
    }
}

impl<K, V> Memo<K, V> {
    /// A memo of at most `max_keys` keys (for large values).
    pub fn bounded(max_keys: usize) -> Self {
        Memo { entries: Mutex::new(HashMap::new()), max_keys, computing: Mutex::new(HashMap::new()) }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Memo<K, V> {
    /// The value kept for `key` at `version`, or the one `compute` gives, kept.
    pub async fn get_or_compute<E, F: Future<Output = Result<V, E>>>(
        &self,
        key: &K,
        version: String,
        compute: impl FnOnce() -> F,
    ) -> Result<V, E> {
        if let Some(value) = self.get(key, &version) {
            return Ok(value);
        }
        let gate = self.computing.lock().unwrap_or_else(PoisonError::into_inner).entry(key.clone()).or_default().clone();
        let computed = async {
            let _computing = gate.lock().await;
            if let Some(value) = self.get(key, &version) {
                return Ok(value);
            }
            let value = compute().await?;
            self.put(key.clone(), version, value.clone());
            Ok(value)
        }
        .await;
        let mut computing = self.computing.lock().unwrap_or_else(PoisonError::into_inner);
        if Arc::strong_count(&gate) == 2 {
            computing.remove(key);
        }
        computed
    }

    /// The value kept for `key`, if it was computed at `version`.
    pub fn get(&self, key: &K, version: &str) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get(key).filter(|(at, _)| at == version).map(|(_, value)| value.clone())
    }

    /// Keep `value`, computed for `key` at `version`.
    fn put(&self, key: K, version: String, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.max_keys && !entries.contains_key(&key) {
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

    #[tokio::test]
    async fn concurrent_misses_compute_once() {
        let memo = std::sync::Arc::new(Memo::<&str, usize>::default());
        let computed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let lookups = (0..8).map(|_| {
            let (memo, computed) = (memo.clone(), computed.clone());
            tokio::spawn(async move {
                memo.get_or_compute(&"a", "1".into(), || async {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    Ok::<_, ()>(computed.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1)
                })
                .await
            })
        });
        for lookup in lookups.collect::<Vec<_>>() {
            assert_eq!(lookup.await.unwrap(), Ok(1), "every caller gets the one value computed");
        }
        assert_eq!(computed.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_miss_does_not_wait_for_another_keys() {
        let memo = std::sync::Arc::new(Memo::<&str, usize>::default());
        let (started, computing) = tokio::sync::oneshot::channel();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let slow = tokio::spawn({
            let memo = memo.clone();
            async move {
                memo.get_or_compute(&"slow", "1".into(), || async {
                    started.send(()).unwrap();
                    released.await.unwrap();
                    Ok::<_, ()>(1)
                })
                .await
            }
        });
        computing.await.unwrap();
        let fast = memo.get_or_compute(&"fast", "1".into(), || async { Ok::<_, ()>(2) });
        let fast = tokio::time::timeout(std::time::Duration::from_secs(5), fast).await;
        assert_eq!(fast, Ok(Ok(2)), "served while another key is computed");
        release.send(()).unwrap();
        assert_eq!(slow.await.unwrap(), Ok(1));
        assert!(memo.computing.lock().unwrap().is_empty(), "no gate is left behind");
    }

    #[test]
    fn it_stays_bounded() {
        let memo = Memo::<usize, usize>::default();
        for key in 0..super::MAX_KEYS * 3 {
            memo.put(key, "v".into(), key);
        }
        assert!(memo.entries.lock().unwrap().len() <= super::MAX_KEYS);
        assert_eq!(memo.get(&(super::MAX_KEYS * 3 - 1), "v"), Some(super::MAX_KEYS * 3 - 1));
    }
}
