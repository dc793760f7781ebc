//! Texts of a manifest (setting labels and help) in any language, keyed by
//! BCP 47 language tag, English (`en`) required; and picking the caller's
//! language from an `Accept-Language` header.

use std::collections::BTreeMap;

use language_tags::LanguageTag;
use serde::{Deserialize, Serialize};

/// The language every text must have, and the one shown when the caller's is missing.
pub const FALLBACK_LANGUAGE: &str = "en";

/// Why a text's languages were refused; the message says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error(
        "'{tag}' is not a BCP 47 language tag ({reason}); write one such as \"en\", \"nl\", \"fr-BE\" or \"sv\""
    )]
    BadTag { tag: String, reason: String },
    #[error("needs an English text (en = \"...\"); other languages are optional")]
    NoEnglish,
    #[error("'{0}' is empty")]
    Empty(String),
    #[error("'{first}' and '{second}' are the same language tag")]
    Duplicate { first: String, second: String },
}

/// One text in several languages, as written in `plugin.toml`:
/// `label = { en = "API key", nl = "API-sleutel", "fr-BE" = "Clé API" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Label(BTreeMap<String, String>);

/// A text as shown to one caller: the language picked and the text in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Picked<'a> {
    pub language: &'a str,
    pub text: &'a str,
}

impl Label {
    /// A text from `(language tag, text)` pairs, unchecked (see [`Label::check`]).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Label(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    /// The languages as written, with their texts.
    pub fn languages(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The text in `language`, compared as BCP 47 does: case-insensitively.
    pub fn get(&self, language: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(language))
            .map(|(_, v)| v.as_str())
    }

    /// The English text (present in every checked label).
    pub fn en(&self) -> &str {
        self.get(FALLBACK_LANGUAGE).unwrap_or_default()
    }

    /// Every tag well-formed and registered (RFC 5646), each language once,
    /// no text empty, English present.
    pub fn check(&self) -> Result<(), LabelError> {
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        for (tag, text) in &self.0 {
            let parsed = LanguageTag::parse(tag).map_err(|e| LabelError::BadTag {
                tag: tag.clone(),
                reason: e.to_string(),
            })?;
            parsed.validate().map_err(|e| LabelError::BadTag {
                tag: tag.clone(),
                reason: e.to_string(),
            })?;
            if text.trim().is_empty() {
                return Err(LabelError::Empty(tag.clone()));
            }
            if let Some(first) = seen.insert(tag.to_ascii_lowercase(), tag) {
                return Err(LabelError::Duplicate {
                    first: first.to_owned(),
                    second: tag.clone(),
                });
            }
        }
        if self.get(FALLBACK_LANGUAGE).is_none() {
            return Err(LabelError::NoEnglish);
        }
        Ok(())
    }

    /// The text in the first of `wanted` it has (RFC 4647 lookup: "nl-BE" falls
    /// back to "nl"), else in English.
    pub fn pick(&self, wanted: &Languages) -> Picked<'_> {
        for range in &wanted.0 {
            let mut range = range.as_str();
            loop {
                if let Some((language, text)) =
                    self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(range))
                {
                    return Picked { language, text };
                }
                // Drop the last subtag, and a single-letter one left before it.
                match range.rsplit_once('-') {
                    Some((rest, _)) => {
                        range = match rest.rsplit_once('-') {
                            Some((shorter, last)) if last.len() == 1 => shorter,
                            _ => rest,
                        };
                    }
                    None => break,
                }
            }
        }
        let (language, text) = self
            .0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(FALLBACK_LANGUAGE))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .unwrap_or((FALLBACK_LANGUAGE, ""));
        Picked { language, text }
    }
}

/// The languages a caller reads, best first (from `Accept-Language`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Languages(Vec<String>);

impl Languages {
    /// From an `Accept-Language` value: by quality, best first; `q=0`
    /// ("not this one") and `*` (any: English serves) are left out.
    pub fn from_accept_language(header: &str) -> Self {
        Languages(
            accept_language::parse_with_quality(header)
                .into_iter()
                .filter(|(tag, q)| *q > 0.0 && tag != "*")
                .map(|(tag, _)| tag)
                .collect(),
        )
    }

    /// The tags, best first.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(pairs: &[(&str, &str)]) -> Label {
        Label::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn any_registered_tag_is_taken_and_english_is_required() {
        let l = label(&[
            ("en", "API key"),
            ("nl", "API-sleutel"),
            ("fr", "Clé API"),
            ("fr-BE", "Clé API"),
            ("sv", "API-nyckel"),
            ("nb", "API-nøkkel"),
            ("zh-Hant-TW", "API 金鑰"),
        ]);
        assert_eq!(l.check(), Ok(()));
        assert_eq!(
            label(&[("nl", "API-sleutel")]).check(),
            Err(LabelError::NoEnglish)
        );
        for bad in ["english", "nl_NL", "x", "en-", "12", "nl--BE"] {
            assert!(
                matches!(
                    label(&[("en", "a"), (bad, "b")]).check(),
                    Err(LabelError::BadTag { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            label(&[("en", "a"), ("NL", "b"), ("nl", "c")]).check(),
            Err(LabelError::Duplicate { .. })
        ));
        assert_eq!(
            label(&[("en", "a"), ("nl", " ")]).check(),
            Err(LabelError::Empty("nl".into()))
        );
    }

    #[test]
    fn the_callers_language_is_picked_else_english() {
        let l = label(&[("en", "Key"), ("nl", "Sleutel"), ("fr-BE", "Clé")]);
        let pick = |header: &str| {
            let p = l.pick(&Languages::from_accept_language(header));
            (p.language, p.text)
        };
        assert_eq!(pick("nl"), ("nl", "Sleutel"));
        assert_eq!(pick("nl-BE, fr;q=0.5"), ("nl", "Sleutel"));
        assert_eq!(pick("FR-be"), ("fr-BE", "Clé"));
        assert_eq!(pick("de, fr-BE;q=0.8, nl;q=0.9"), ("nl", "Sleutel"));
        assert_eq!(pick("de"), ("en", "Key"));
        assert_eq!(pick(""), ("en", "Key"));
        assert_eq!(pick("nl;q=0, *"), ("en", "Key"));
        assert_eq!(pick("zh-Hant-x-private"), ("en", "Key"));
    }
}
