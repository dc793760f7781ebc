//! Secret settings never enter a plugin. The plugin holds placeholders such as
//! `{{secret:password}}`; the host swaps in the values only in a request that is
//! leaving for an allowed destination, and swaps them back out of the response.

/// The placeholder a plugin sees instead of the secret setting `key`.
pub fn placeholder(key: &str) -> String {
    format!("{{{{secret:{key}}}}}")
}

const OPEN: &str = "{{secret:";
const CLOSE: &str = "}}";

/// Responses are scrubbed only of secrets at least this long: shorter values
/// would turn up by chance in ordinary text and corrupt it.
const MIN_REDACTED_LEN: usize = 6;

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

    /// Puts placeholders back where a response echoes a secret value.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (key, value) in &self.entries {
            if value.len() >= MIN_REDACTED_LEN && out.contains(value.as_str()) {
                out = out.replace(value.as_str(), &placeholder(key));
            }
        }
        out
    }

    /// [`redact`](Self::redact) for a body that may not be UTF-8.
    pub fn redact_bytes(&self, body: Vec<u8>) -> Vec<u8> {
        let mut out = body;
        for (key, value) in &self.entries {
            if value.len() >= MIN_REDACTED_LEN && contains(&out, value.as_bytes()) {
                out = replace_bytes(&out, value.as_bytes(), placeholder(key).as_bytes());
            }
        }
        out
    }
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

fn replace_bytes(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
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
        assert_eq!(v.redact(echoed), "you sent {{secret:password}} and 42");
        assert_eq!(
            v.redact_bytes(echoed.as_bytes().to_vec()),
            b"you sent {{secret:password}} and 42".to_vec()
        );
        assert!(!format!("{v:?}").contains("s3cr"));
    }
}
