//! A small key-value cache with expiry, private to this plugin and the calling
//! organisation. Entries may vanish at any time; keys up to 256 bytes, values
//! up to 64 KiB.

use std::time::Duration;

use crate::host;

pub fn get(key: &str) -> Option<Vec<u8>> {
    host::cache_get(key)
}

/// A UTF-8 value.
pub fn get_string(key: &str) -> Option<String> {
    get(key).and_then(|v| String::from_utf8(v).ok())
}

pub fn set(key: &str, value: impl AsRef<[u8]>, ttl: Duration) {
    let ms = u32::try_from(ttl.as_millis()).unwrap_or(u32::MAX);
    host::cache_set(key, value.as_ref(), ms);
}

pub fn delete(key: &str) {
    host::cache_delete(key);
}
