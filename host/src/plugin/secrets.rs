//! Secret settings never enter a plugin. The plugin holds placeholders such as
//! `{{secret:password}}`; the host swaps in the values only in a request that is
//! leaving for an allowed destination, and swaps them back out of the response.

/// The placeholder a plugin sees instead of the secret setting `key`.
pub fn placeholder(key: &str) -> String {
    format!("{{{{secret:{key}}}}}")
}

const OPEN: &str = "{{secret:";
const CLOSE: &str = "}}";

/// Base64 fragments of a secret that sits inside a larger encoded blob are
/// scrubbed only from this many characters: shorter ones (of a secret of one or
/// two bytes) would be a letter or two, found in any text.
const MIN_FRAGMENT_CHARS: usize = 4;

/// How a secret is written into the part of a request it goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Header values and opaque bodies: as is.
    Raw,
    /// Inside a JSON string: escaped so that it cannot end the string.
    JsonString,
    /// Inside a URL: every byte but letters and digits percent-encoded.
    Url,
    /// A form body (`application/x-www-form-urlencoded`).
    Form,
}

/// The secret settings of one call.
#[derive(Clone, Default)]
pub struct SecretVault {
    entries: Vec<(String, String)>,
    /// The forms of every value that scrubbing looks for, made on first use.
    forms: std::sync::OnceLock<std::sync::Arc<Forms>>,
}

/// Every written form of every secret, lower-cased, longest first.
#[derive(Default)]
struct Forms {
    /// (form, index of its entry).
    list: Vec<(Vec<u8>, usize)>,
    /// Whether some form starts with this (lower-cased) byte.
    first: Vec<bool>,
}

impl Forms {
    fn of(entries: &[(String, String)]) -> Self {
        let mut list: Vec<(Vec<u8>, usize)> = Vec::new();
        for (index, (_, value)) in entries.iter().enumerate() {
            for form in forms_of(value) {
                let form = form.to_ascii_lowercase();
                if !form.is_empty() && !list.iter().any(|(f, _)| *f == form) {
                    list.push((form, index));
                }
            }
        }
        // Longest first: a longer form is never left half replaced by a
        // shorter one inside it.
        list.sort_by_key(|f| std::cmp::Reverse(f.0.len()));
        let mut first = vec![false; 256];
        for (form, _) in &list {
            first[usize::from(form[0])] = true;
        }
        Forms { list, first }
    }
}

/// Vaults with this many distinct sets of secrets are remembered per plugin;
/// past it the cache starts again (a host serving more clinics than this
/// makes the forms once per call, as without the cache).
const FORMS_CACHE_ENTRIES: usize = 512;

/// The scrubbing forms of the secret sets a plugin was called with lately.
///
/// Making every encoded form of every secret was a fifth of a cheap call, and
/// every call of one clinic has the same secrets: the forms are made once per
/// set and shared. The cache holds the same values as the settings it came
/// from, in memory, for as long as the plugin is loaded.
#[derive(Default)]
pub struct FormsCache {
    recent: std::sync::Mutex<FormsBySecrets>,
}

/// Shared forms by the (key, value) pairs they were made from.
type FormsBySecrets = std::collections::HashMap<Vec<(String, String)>, std::sync::Arc<Forms>>;

impl FormsCache {
    /// Gives `vault` the forms of its secrets, made now if no earlier vault
    /// of this cache had the same ones.
    pub fn attach(&self, vault: &mut SecretVault) {
        if vault.entries.is_empty() {
            return;
        }
        let known = self.recent().get(&vault.entries).cloned();
        let forms = match known {
            Some(forms) => forms,
            None => {
                // Made outside the lock: other calls need not wait for it.
                let forms = std::sync::Arc::new(Forms::of(&vault.entries));
                let mut recent = self.recent();
                if recent.len() >= FORMS_CACHE_ENTRIES {
                    recent.clear();
                }
                recent.insert(vault.entries.clone(), forms.clone());
                forms
            }
        };
        // A vault is attached right after its last insert; one that already
        // made its forms keeps them (they are the same).
        let _ = vault.forms.set(forms);
    }

    /// Secret sets remembered; for tests.
    pub fn len(&self) -> usize {
        self.recent().len()
    }

    /// The map; a call that panicked while holding it left nothing half made.
    fn recent(&self) -> std::sync::MutexGuard<'_, FormsBySecrets> {
        self.recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for SecretVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys only: a vault must never end up in a log with its values.
        let keys: Vec<&str> = self.entries.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("SecretVault").field("keys", &keys).finish()
    }
}

/// A placeholder naming a secret the plugin has no value for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "placeholder {{{{secret:{0}}}}} names no secret setting of this plugin that has a value; \
     an admin must set '{0}'"
)]
pub struct UnknownSecret(pub String);

impl SecretVault {
    /// Sets the value of `key`; a later value replaces an earlier one, so the
    /// department's value (inserted after the organisation's) wins.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let (key, value) = (key.into(), value.into());
        self.forms = std::sync::OnceLock::new();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn value(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Replaces every placeholder in `text`.
    pub fn substitute(&self, text: &str, encoding: Encoding) -> Result<String, UnknownSecret> {
        if !text.contains(OPEN) {
            return Ok(text.to_owned());
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find(OPEN) {
            out.push_str(&rest[..start]);
            let after = &rest[start + OPEN.len()..];
            let Some(end) = after.find(CLOSE) else {
                out.push_str(&rest[start..]);
                return Ok(out);
            };
            let key = &after[..end];
            let value = self
                .value(key)
                .ok_or_else(|| UnknownSecret(key.to_owned()))?;
            encode_into(&mut out, value, encoding);
            rest = &after[end + CLOSE.len()..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Replaces every placeholder in a body, which need not be UTF-8.
    pub fn substitute_bytes(
        &self,
        body: &[u8],
        encoding: Encoding,
    ) -> Result<Vec<u8>, UnknownSecret> {
        if !contains(body, OPEN.as_bytes()) {
            return Ok(body.to_vec());
        }
        match std::str::from_utf8(body) {
            Ok(text) => Ok(self.substitute(text, encoding)?.into_bytes()),
            // Placeholders are only honoured in text bodies.
            Err(_) => Ok(body.to_vec()),
        }
    }

    /// Puts placeholders back wherever `text` holds a secret value, in any of
    /// the forms listed at [`forms_of`]: what a provider echoes, a plugin
    /// repeats, or an error message quotes.
    pub fn redact(&self, text: &str) -> String {
        if self.entries.is_empty() {
            return text.to_owned();
        }
        match self.scrub(text.as_bytes()) {
            None => text.to_owned(),
            // Forms are whole UTF-8 strings and ASCII case folding keeps
            // every other byte: the result stays UTF-8.
            Some(out) => String::from_utf8(out)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        }
    }

    /// [`redact`](Self::redact) in place.
    pub fn redact_in_place(&self, text: &mut String) {
        if !self.entries.is_empty() {
            let out = self.redact(text);
            *text = out;
        }
    }

    /// [`redact`](Self::redact) for a body that may not be UTF-8.
    pub fn redact_bytes(&self, body: Vec<u8>) -> Vec<u8> {
        if self.entries.is_empty() {
            return body;
        }
        self.scrub(&body).unwrap_or(body)
    }

    fn forms(&self) -> &Forms {
        self.forms
            .get_or_init(|| std::sync::Arc::new(Forms::of(&self.entries)))
    }

    /// The scrubbed bytes, or None when nothing matched.
    fn scrub(&self, input: &[u8]) -> Option<Vec<u8>> {
        let forms = self.forms();
        if forms.list.is_empty() {
            return None;
        }
        let lower = input.to_ascii_lowercase();
        let mut out: Option<Vec<u8>> = None;
        let mut copied = 0;
        let mut i = 0;
        while i < lower.len() {
            if forms.first[usize::from(lower[i])]
                && let Some((form, index)) = forms
                    .list
                    .iter()
                    .find(|(form, _)| lower[i..].starts_with(form))
            {
                let out = out.get_or_insert_with(|| Vec::with_capacity(input.len()));
                out.extend_from_slice(&input[copied..i]);
                out.extend_from_slice(placeholder(&self.entries[*index].0).as_bytes());
                i += form.len();
                copied = i;
                continue;
            }
            i += 1;
        }
        out.map(|mut out| {
            out.extend_from_slice(&input[copied..]);
            out
        })
    }
}

/// Every form in which `value` may come back, each then matched regardless of
/// ASCII case:
///
/// - as the host wrote it into a request: raw (headers, opaque bodies),
///   JSON-string-escaped, percent-encoded (every byte but letters and digits)
///   and form-encoded;
/// - base64, standard and URL-safe alphabets, with and without padding: the
///   value alone; the value at the end of a larger blob at any alignment (the
///   password of HTTP Basic `user:secret`); and the characters that only the
///   value determines when it sits at the start or in the middle of a blob at
///   any alignment (`secret:`, `key:secret:more`), when that is at least
///   [`MIN_FRAGMENT_CHARS`] characters.
///
/// An empty value has no form. Other encodings (hex, `\u` escapes of letters,
/// base64 of a percent-encoded value, ...) are not recognised.
fn forms_of(value: &str) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    if value.is_empty() {
        return Vec::new();
    }
    let mut forms = Vec::new();
    for encoding in [
        Encoding::Raw,
        Encoding::JsonString,
        Encoding::Url,
        Encoding::Form,
    ] {
        let mut out = String::new();
        encode_into(&mut out, value, encoding);
        forms.push(out.into_bytes());
    }
    let bytes = value.as_bytes();
    for engine in [STANDARD, URL_SAFE] {
        let padded = engine.encode(bytes);
        forms.push(padded.trim_end_matches('=').as_bytes().to_vec());
        forms.push(padded.into_bytes());
        for align in 0..3usize {
            // The value after `align` bytes of something else: the first
            // characters of its encoding depend on those bytes too.
            let lead = [0, 2, 3][align];
            let mut shifted = vec![0u8; align];
            shifted.extend_from_slice(bytes);
            let padded = engine.encode(&shifted);
            let unpadded = padded.trim_end_matches('=');
            let mut fragments = Vec::new();
            if align > 0 {
                // At the end of the blob: padding and all are the value's own.
                fragments.push(&padded[lead..]);
                fragments.push(&unpadded[lead..]);
            }
            // Followed by more: the last character of a partial group also
            // depends on what follows.
            let partial = shifted.len() % 3 != 0;
            let end = unpadded.len() - usize::from(partial);
            if end > lead {
                fragments.push(&unpadded[lead..end]);
            }
            forms.extend(
                fragments
                    .into_iter()
                    .filter(|f| f.len() >= MIN_FRAGMENT_CHARS)
                    .map(|f| f.as_bytes().to_vec()),
            );
        }
    }
    forms
}

fn encode_into(out: &mut String, value: &str, encoding: Encoding) {
    match encoding {
        Encoding::Raw => out.push_str(value),
        Encoding::JsonString => {
            let quoted = serde_json::to_string(value).unwrap_or_default();
            out.push_str(&quoted[1..quoted.len().saturating_sub(1)]);
        }
        Encoding::Url => {
            out.extend(percent_encoding::utf8_percent_encode(
                value,
                percent_encoding::NON_ALPHANUMERIC,
            ));
        }
        Encoding::Form => {
            out.extend(url::form_urlencoded::byte_serialize(value.as_bytes()));
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> SecretVault {
        let mut v = SecretVault::default();
        v.insert("password", "s3cr\"et pass/word");
        v.insert("pin", "42");
        v
    }

    #[test]
    fn placeholders_are_replaced_with_the_right_encoding() {
        let v = vault();
        assert_eq!(
            v.substitute("Bearer {{secret:password}}", Encoding::Raw)
                .unwrap(),
            "Bearer s3cr\"et pass/word"
        );
        assert_eq!(
            v.substitute(r#"{"p":"{{secret:password}}"}"#, Encoding::JsonString)
                .unwrap(),
            r#"{"p":"s3cr\"et pass/word"}"#
        );
        assert_eq!(
            v.substitute("/orgs/{{secret:password}}/x", Encoding::Url)
                .unwrap(),
            "/orgs/s3cr%22et%20pass%2Fword/x"
        );
        assert_eq!(
            v.substitute("p={{secret:password}}", Encoding::Form)
                .unwrap(),
            "p=s3cr%22et+pass%2Fword"
        );
        assert_eq!(
            v.substitute("no {{secret:pin", Encoding::Raw).unwrap(),
            "no {{secret:pin"
        );
        assert_eq!(
            v.substitute("{{secret:nope}}", Encoding::Raw),
            Err(UnknownSecret("nope".into()))
        );
    }

    #[test]
    fn a_later_value_of_a_key_wins() {
        let mut v = vault();
        v.insert("pin", "organisation");
        v.insert("pin", "department");
        assert_eq!(
            v.substitute("{{secret:pin}}", Encoding::Raw).unwrap(),
            "department"
        );
    }

    #[test]
    fn echoed_secrets_are_scrubbed_from_responses() {
        let v = vault();
        let echoed = "you sent s3cr\"et pass/word and 42";
        assert_eq!(
            v.redact(echoed),
            "you sent {{secret:password}} and {{secret:pin}}"
        );
        assert_eq!(
            v.redact_bytes(echoed.as_bytes().to_vec()),
            b"you sent {{secret:password}} and {{secret:pin}}".to_vec()
        );
        assert!(!format!("{v:?}").contains("s3cr"));
    }

    fn one(value: &str) -> SecretVault {
        let mut v = SecretVault::default();
        v.insert("k", value);
        v
    }

    fn b64(engine: base64::engine::GeneralPurpose, data: &str) -> String {
        use base64::Engine as _;
        engine.encode(data)
    }

    /// `text` with the secret `value` in it is scrubbed of it entirely.
    fn assert_scrubbed(value: &str, text: &str, form: &str) {
        let v = one(value);
        let out = v.redact(text);
        assert!(out.contains("{{secret:k}}"), "{form}: {text} gave {out}");
        assert!(!out.contains(text), "{form}: {out}");
        let bytes = v.redact_bytes(text.as_bytes().to_vec());
        assert_eq!(bytes, out.as_bytes(), "{form}: bytes and text agree");
    }

    #[test]
    fn the_forms_the_host_writes_are_scrubbed() {
        let value = "Ab\"c d/é+1";
        let mut json = String::new();
        encode_into(&mut json, value, Encoding::JsonString);
        let mut url = String::new();
        encode_into(&mut url, value, Encoding::Url);
        let mut form = String::new();
        encode_into(&mut form, value, Encoding::Form);
        assert_eq!(json, "Ab\\\"c d/é+1");
        assert_eq!(url, "Ab%22c%20d%2F%C3%A9%2B1");
        assert_eq!(form, "Ab%22c+d%2F%C3%A9%2B1");
        let v = one(value);
        for (name, written) in [
            ("raw", value),
            ("json", &json),
            ("url", &url),
            ("form", &form),
        ] {
            let text = format!("before {written} after");
            assert_eq!(v.redact(&text), "before {{secret:k}} after", "{name}");
        }
        // Lower-case hex digits of the percent-encoding, too.
        assert_eq!(
            v.redact(&format!("x{}x", url.to_ascii_lowercase())),
            "x{{secret:k}}x"
        );
    }

    #[test]
    fn any_ascii_case_of_a_form_is_scrubbed() {
        let v = one("SeCrEt-Token");
        assert_eq!(v.redact("got secret-token"), "got {{secret:k}}");
        assert_eq!(v.redact("GOT SECRET-TOKEN!"), "GOT {{secret:k}}!");
        let upper_b64 =
            b64(base64::engine::general_purpose::STANDARD, "SeCrEt-Token").to_ascii_uppercase();
        assert_scrubbed("SeCrEt-Token", &format!("auth {upper_b64}"), "upper base64");
    }

    #[test]
    fn base64_of_the_value_alone_is_scrubbed_in_both_alphabets() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE};
        // Bytes whose encoding differs between the alphabets ('+/' vs '-_').
        let value = "\u{3e}\u{3f}\u{3e}?>~~~";
        for engine in [STANDARD, URL_SAFE] {
            let padded = b64(engine, value);
            let unpadded = padded.trim_end_matches('=').to_owned();
            for (name, text) in [("padded", &padded), ("unpadded", &unpadded)] {
                let v = one(value);
                assert_eq!(
                    v.redact(&format!("{{\"echo\":\"{text}\"}}")),
                    "{\"echo\":\"{{secret:k}}\"}",
                    "{name} {text}"
                );
            }
        }
    }

    #[test]
    fn base64_of_basic_auth_pairs_is_scrubbed() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        for secret in ["pw", "pass", "password1", "Sixteen-chars-pw"] {
            // The secret at the end, after a user name of every length mod 3.
            for user in ["u", "us", "use", "merchant-7"] {
                let blob = format!("{user}:{secret}");
                for encoded in [b64(STANDARD, &blob), b64(URL_SAFE_NO_PAD, &blob)] {
                    if secret.len() >= 3 {
                        assert_scrubbed(secret, &format!("Basic {encoded}"), "user:secret");
                    }
                }
            }
            // The secret first (`secret:`), and in the middle.
            for (prefix, suffix) in [("", ":"), ("x", ":y"), ("xy", ":yz"), ("k:", ":more")] {
                let blob = format!("{prefix}{secret}{suffix}");
                if secret.len() >= 4 {
                    assert_scrubbed(secret, &b64(STANDARD, &blob), "embedded");
                }
            }
        }
    }

    #[test]
    fn a_secret_cannot_be_decoded_from_what_is_left() {
        use base64::Engine as _;
        use base64::engine::general_purpose::STANDARD;
        let secret = "tok3n-V4lue";
        let v = one(secret);
        for user in ["a", "ab", "abc"] {
            let encoded = b64(STANDARD, &format!("{user}:{secret}"));
            let out = v.redact(&encoded);
            // What is left is at most the user's part: it decodes to no part
            // of the secret longer than a character.
            let left = out.replace("{{secret:k}}", "");
            let decoded = STANDARD
                .decode(format!("{left}{}", "=".repeat((4 - left.len() % 4) % 4)))
                .unwrap_or_default();
            let decoded = String::from_utf8_lossy(&decoded);
            assert!(
                !decoded.contains(&secret[..2]),
                "{user}: {left} → {decoded}"
            );
        }
    }

    #[test]
    fn short_secrets_are_scrubbed_too() {
        let v = one("a1B2");
        assert_eq!(v.redact("pin A1b2 ok"), "pin {{secret:k}} ok");
        let encoded = b64(base64::engine::general_purpose::STANDARD, "a1B2");
        assert_eq!(v.redact(&encoded), "{{secret:k}}");
        let one_byte = one("7");
        assert_eq!(one_byte.redact("x7y"), "x{{secret:k}}y");
        // Nothing to find for an empty value.
        let empty = one("");
        assert_eq!(empty.redact("anything"), "anything");
    }

    #[test]
    fn longer_forms_win_and_non_utf8_bodies_are_scrubbed() {
        let mut v = SecretVault::default();
        v.insert("short", "abcd");
        v.insert("long", "xxabcdxx");
        assert_eq!(
            v.redact("[xxabcdxx] [abcd]"),
            "[{{secret:long}}] [{{secret:short}}]"
        );
        let mut body = vec![0xff, 0xfe];
        body.extend_from_slice(b"ABCD");
        body.push(0x80);
        let mut expected = vec![0xff, 0xfe];
        expected.extend_from_slice(b"{{secret:short}}");
        expected.push(0x80);
        assert_eq!(v.redact_bytes(body), expected);
        // A changed value is looked for in its new forms.
        v.insert("short", "wxyz");
        assert_eq!(v.redact("abcd wxyz"), "abcd {{secret:short}}");
    }

    #[test]
    fn vaults_with_the_same_secrets_share_their_forms_and_others_get_their_own() {
        let cache = FormsCache::default();
        let vault_of = |value: &str| {
            let mut v = SecretVault::default();
            v.insert("password", value);
            v.insert("user", "clinic-7");
            cache.attach(&mut v);
            v
        };
        let (a1, a2, b) = (
            vault_of("alpha-secret"),
            vault_of("alpha-secret"),
            vault_of("beta-secret"),
        );
        let forms = |v: &SecretVault| v.forms.get().cloned().expect("attached");
        assert!(std::sync::Arc::ptr_eq(&forms(&a1), &forms(&a2)));
        assert!(!std::sync::Arc::ptr_eq(&forms(&a1), &forms(&b)));
        assert_eq!(cache.len(), 2);
        // Each scrubs its own values, in every form, and nothing else's.
        let text = "alpha-secret beta-secret YWxwaGEtc2VjcmV0";
        assert_eq!(
            a2.redact(text),
            "{{secret:password}} beta-secret {{secret:password}}"
        );
        assert_eq!(
            b.redact(text),
            "alpha-secret {{secret:password}} YWxwaGEtc2VjcmV0"
        );
        // A clone keeps the shared forms; a later insert makes new ones.
        let mut c = a1.clone();
        assert!(std::sync::Arc::ptr_eq(&forms(&a1), &forms(&c)));
        c.insert("password", "gamma-secret");
        assert_eq!(
            c.redact("alpha-secret gamma-secret"),
            "alpha-secret {{secret:password}}"
        );
        // A vault without secrets is never remembered.
        let mut empty = SecretVault::default();
        cache.attach(&mut empty);
        assert_eq!(cache.len(), 2);
    }
}
