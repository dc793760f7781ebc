//! The plugin cache: small values with expiry, private to one plugin and one
//! organisation. Lets stateless plugins reuse a login token, or hand the
//! provider's handle of a running transaction to a concurrent `abort`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_KEY_BYTES: usize = 256;
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Entries per plugin and organisation; the soonest to expire go first.
pub const MAX_ENTRIES_PER_SCOPE: usize = 1024;
pub const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

/// Whose entries these are.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    pub plugin: String,
    pub organisation: String,
}

/// A store behind the `cache` import. In memory by default; a shared store can
/// be put behind it when several hosts serve one organisation.
/// A failing store behaves as an empty cache: plugins treat the cache as a hint.
#[async_trait::async_trait]
pub trait PluginCache: Send + Sync + 'static {
    async fn get(&self, scope: &Scope, key: &str) -> Option<Vec<u8>>;
    async fn set(&self, scope: &Scope, key: &str, value: Vec<u8>, ttl: Duration);
    async fn delete(&self, scope: &Scope, key: &str);
}

/// A scope's entries: value and expiry by key.
type Entries = HashMap<String, (Vec<u8>, Instant)>;

#[derive(Default)]
pub struct MemoryCache {
    scopes: Mutex<HashMap<Scope, Entries>>,
}

#[async_trait::async_trait]
impl PluginCache for MemoryCache {
    async fn get(&self, scope: &Scope, key: &str) -> Option<Vec<u8>> {
        let scopes = self.scopes.lock().unwrap_or_else(|p| p.into_inner());
        let (value, expires) = scopes.get(scope)?.get(key)?;
        (*expires > Instant::now()).then(|| value.clone())
    }

    async fn set(&self, scope: &Scope, key: &str, value: Vec<u8>, ttl: Duration) {
        let now = Instant::now();
        let mut scopes = self.scopes.lock().unwrap_or_else(|p| p.into_inner());
        let entries = scopes.entry(scope.clone()).or_default();
        if entries.len() >= MAX_ENTRIES_PER_SCOPE && !entries.contains_key(key) {
            entries.retain(|_, (_, expires)| *expires > now);
            if entries.len() >= MAX_ENTRIES_PER_SCOPE
                && let Some(first) = entries
                    .iter()
                    .min_by_key(|(_, (_, expires))| *expires)
                    .map(|(k, _)| k.clone())
            {
                entries.remove(&first);
            }
        }
        entries.insert(key.to_owned(), (value, now + ttl.min(MAX_TTL)));
    }

    async fn delete(&self, scope: &Scope, key: &str) {
        let mut scopes = self.scopes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entries) = scopes.get_mut(scope) {
            entries.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(org: &str) -> Scope {
        Scope {
            plugin: "p".into(),
            organisation: org.into(),
        }
    }

    #[tokio::test]
    async fn entries_expire_and_stay_in_their_scope() {
        let cache = MemoryCache::default();
        let ttl = Duration::from_millis(40);
        cache.set(&scope("a"), "token", b"t1".to_vec(), ttl).await;
        assert_eq!(cache.get(&scope("a"), "token").await, Some(b"t1".to_vec()));
        assert_eq!(cache.get(&scope("b"), "token").await, None);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(cache.get(&scope("a"), "token").await, None);
    }

    #[tokio::test]
    async fn a_full_scope_evicts_the_soonest_to_expire() {
        let cache = MemoryCache::default();
        let s = scope("a");
        let minute = Duration::from_secs(60);
        cache
            .set(&s, "short", vec![1], Duration::from_secs(1))
            .await;
        for i in 1..MAX_ENTRIES_PER_SCOPE {
            cache.set(&s, &format!("k{i}"), vec![2], minute).await;
        }
        cache.set(&s, "new", vec![3], minute).await;
        assert_eq!(cache.get(&s, "short").await, None);
        assert_eq!(cache.get(&s, "new").await, Some(vec![3]));
        cache.delete(&s, "new").await;
        assert_eq!(cache.get(&s, "new").await, None);
    }
}
