//! The operator's keys: what protects data at rest (plugin secrets, sealed with
//! XChaCha20-Poly1305) and what API keys are hashed under (HMAC-SHA256).
//!
//! A [`Keyring`] has one primary key, used for everything new, and any number of
//! previous keys, only ever used to open or verify what older keys made. That is
//! how the key is rotated: start every host with the new key as primary and the
//! old one as previous, run `vetpay vault rekey`, then drop the old key.

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Bytes in a key.
pub const KEY_BYTES: usize = 32;

/// The prefix of every sealed value, naming the format.
const SEALED_PREFIX: &str = "vp1:";

/// Why the keyring could not be built or a value not be opened.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "the key must be {KEY_BYTES} bytes written as 64 hex digits or base64; {0} \
         (generate one with `vetpay vault new-key`)"
    )]
    BadKey(&'static str),
    #[error("reading the key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("the key file {0} can be read by others; make it mode 0600")]
    KeyFileMode(String),
    /// A sealed value names a key that is not in the keyring.
    #[error(
        "a value is sealed under key {0}, which this host does not have; start it with that \
         key as a previous key (--previous-key-file) until `vetpay vault rekey` has run"
    )]
    UnknownKey(String),
    /// A sealed value was changed, truncated or moved to another row.
    #[error("a sealed value does not open: it was altered or belongs elsewhere")]
    Tampered,
}

/// One key, with the id that sealed values carry.
#[derive(Clone)]
struct Key {
    id: String,
    bytes: Zeroizing<[u8; KEY_BYTES]>,
}

impl Key {
    fn new(bytes: [u8; KEY_BYTES]) -> Self {
        // The id is a hash of the key, short and safe to show.
        let digest = Sha256::digest([b"vetpay key id:".as_slice(), &bytes].concat());
        Key {
            id: hex::encode(&digest[..4]),
            bytes: Zeroizing::new(bytes),
        }
    }

    /// A subkey for one purpose, so that the same key never serves two.
    fn derive(&self, purpose: &str) -> Zeroizing<[u8; KEY_BYTES]> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.bytes.as_slice())
            .expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        Zeroizing::new(mac.finalize().into_bytes().into())
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.derive("vetpay seal v1").as_slice().into())
    }
}

/// The keys of a host; cheap to clone.
#[derive(Clone)]
pub struct Keyring {
    inner: Arc<Inner>,
}

struct Inner {
    primary: Key,
    previous: Vec<Key>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Ids only: key material never reaches a log.
        f.debug_struct("Keyring")
            .field("primary", &self.inner.primary.id)
            .field(
                "previous",
                &self
                    .inner
                    .previous
                    .iter()
                    .map(|k| &k.id)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Parses a key written as 64 hex digits or as base64 (with or without padding).
pub fn parse_key(text: &str) -> Result<[u8; KEY_BYTES], VaultError> {
    let text = text.trim();
    let bytes = if text.len() == 2 * KEY_BYTES && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).map_err(|_| VaultError::BadKey("the hex does not decode"))?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| B64.decode(text))
            .map_err(|_| VaultError::BadKey("it is neither hex nor base64"))?
    };
    bytes
        .try_into()
        .map_err(|_| VaultError::BadKey("it has the wrong length"))
}

/// A new random key, as 64 hex digits.
pub fn new_key_text() -> Zeroizing<String> {
    let key = XChaCha20Poly1305::generate_key(&mut OsRng);
    Zeroizing::new(hex::encode(key.as_slice()))
}

/// Reads a key file, refusing one that others may read.
pub fn read_key_file(path: &Path) -> Result<[u8; KEY_BYTES], VaultError> {
    let shown = path.display().to_string();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|source| VaultError::KeyFile {
            path: shown.clone(),
            source,
        })?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(VaultError::KeyFileMode(shown));
        }
    }
    let text =
        Zeroizing::new(
            std::fs::read_to_string(path).map_err(|source| VaultError::KeyFile {
                path: shown.clone(),
                source,
            })?,
        );
    parse_key(&text)
}

/// The key file at `path`, made (mode 0600) with a new key if it does not exist.
/// This is the embedded default: `secret.key` beside the SQLite database.
pub fn key_file_or_create(path: &Path) -> Result<[u8; KEY_BYTES], VaultError> {
    if !path.exists() {
        let shown = path.display().to_string();
        let io = |source| VaultError::KeyFile {
            path: shown.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                use std::io::Write;
                file.write_all(new_key_text().as_bytes()).map_err(io)?;
                file.write_all(b"\n").map_err(io)?;
                file.sync_all().map_err(io)?;
            }
            // Another process made it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
    }
    read_key_file(path)
}

impl Keyring {
    pub fn new(primary: [u8; KEY_BYTES], previous: Vec<[u8; KEY_BYTES]>) -> Self {
        let primary = Key::new(primary);
        let previous = previous
            .into_iter()
            .map(Key::new)
            .filter(|k| k.id != primary.id)
            .collect();
        Keyring {
            inner: Arc::new(Inner { primary, previous }),
        }
    }

    /// A keyring with one new random key, kept only in memory: for a host whose
    /// database lives no longer than the process (the demo's, a test's).
    pub fn ephemeral() -> Self {
        Self::new(
            XChaCha20Poly1305::generate_key(&mut OsRng).into(),
            Vec::new(),
        )
    }

    /// The id of the primary key (safe to show).
    pub fn primary_id(&self) -> &str {
        &self.inner.primary.id
    }

    fn keys(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.inner.primary).chain(self.inner.previous.iter())
    }

    /// Seals `plaintext` under the primary key. `context` binds the value to
    /// where it is stored (table, row, column): a sealed value copied elsewhere
    /// does not open.
    pub fn seal(&self, plaintext: &str, context: &str) -> String {
        let key = &self.inner.primary;
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = key
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("sealing in memory cannot fail");
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{}:{}", key.id, B64.encode(blob))
    }

    /// Whether `stored` is a sealed value (rather than one stored in clear by an
    /// older version).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(SEALED_PREFIX)
    }

    /// Whether `stored` is sealed under the primary key (so `rekey` can skip it).
    pub fn is_current(&self, stored: &str) -> bool {
        stored
            .strip_prefix(SEALED_PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(id, _)| id == self.inner.primary.id)
    }

    /// Opens what [`seal`](Self::seal) made with the same `context`.
    pub fn open(&self, stored: &str, context: &str) -> Result<Zeroizing<String>, VaultError> {
        let rest = stored
            .strip_prefix(SEALED_PREFIX)
            .ok_or(VaultError::Tampered)?;
        let (id, blob) = rest.split_once(':').ok_or(VaultError::Tampered)?;
        let key = self
            .keys()
            .find(|k| k.id == id)
            .ok_or_else(|| VaultError::UnknownKey(id.to_owned()))?;
        let blob = B64.decode(blob).map_err(|_| VaultError::Tampered)?;
        if blob.len() < 24 {
            return Err(VaultError::Tampered);
        }
        let (nonce, sealed) = blob.split_at(24);
        let plain = key
            .cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Tampered)?;
        String::from_utf8(plain)
            .map(Zeroizing::new)
            .map_err(|_| VaultError::Tampered)
    }

    /// The keyed hash an API key is stored under, with the primary key.
    pub fn hash_api_key(&self, secret: &str) -> String {
        hash_with(&self.inner.primary, secret)
    }

    /// The keyed hash of an API key under every key of the ring, primary first:
    /// a key stored under a previous key is still found (and then re-hashed).
    pub fn api_key_hashes(&self, secret: &str) -> Vec<String> {
        self.keys().map(|k| hash_with(k, secret)).collect()
    }
}

fn hash_with(key: &Key, secret: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.derive("vetpay api key v1").as_slice())
        .expect("HMAC takes any key length");
    mac.update(secret.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let ring = Keyring::ephemeral();
        let sealed = ring.seal("hunter2", "plugin_settings:o:p::password");
        assert!(Keyring::is_sealed(&sealed));
        assert!(!sealed.contains("hunter2"));
        assert_eq!(
            &*ring.open(&sealed, "plugin_settings:o:p::password").unwrap(),
            "hunter2"
        );
        assert!(matches!(
            ring.open(&sealed, "plugin_settings:o:p::pin"),
            Err(VaultError::Tampered)
        ));
        let other = Keyring::ephemeral();
        assert!(matches!(
            other.open(&sealed, "plugin_settings:o:p::password"),
            Err(VaultError::UnknownKey(_))
        ));
        let mut flipped = sealed.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert!(
            ring.open(
                std::str::from_utf8(&flipped).unwrap(),
                "plugin_settings:o:p::password"
            )
            .is_err()
        );
    }

    #[test]
    fn a_rotated_ring_opens_old_values_and_finds_old_hashes() {
        let old: [u8; KEY_BYTES] = [7; KEY_BYTES];
        let new: [u8; KEY_BYTES] = [9; KEY_BYTES];
        let before = Keyring::new(old, vec![]);
        let sealed = before.seal("v", "c");
        let hash = before.hash_api_key("key");
        let after = Keyring::new(new, vec![old]);
        assert_eq!(&*after.open(&sealed, "c").unwrap(), "v");
        assert!(!after.is_current(&sealed));
        assert!(after.is_current(&after.seal("v", "c")));
        let hashes = after.api_key_hashes("key");
        assert_eq!(hashes.len(), 2);
        assert_ne!(hashes[0], hash);
        assert_eq!(hashes[1], hash);
    }

    #[test]
    fn keys_parse_from_hex_and_base64_only_at_the_right_length() {
        let hex_key = new_key_text();
        let bytes = parse_key(&hex_key).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert_eq!(parse_key(&b64).unwrap(), bytes);
        assert!(parse_key("abcd").is_err());
        assert!(parse_key(&"0".repeat(63)).is_err());
    }

    #[test]
    fn a_created_key_file_is_private_and_stable() {
        let dir = std::env::temp_dir().join(format!("vetpay-vault-{}", uuid::Uuid::new_v4()));
        let path = dir.join("secret.key");
        let first = key_file_or_create(&path).unwrap();
        assert_eq!(key_file_or_create(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                read_key_file(&path),
                Err(VaultError::KeyFileMode(_))
            ));
        }
        std::fs::remove_dir_all(dir).ok();
    }
}
