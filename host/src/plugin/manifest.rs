//! The plugin manifest: what a plugin declares about itself, embedded in its
//! `.wasm` as the custom section [`MANIFEST_SECTION`] (the TOML text of its
//! `plugin.toml`). Parsed and validated before anything is compiled.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use vetpay_money::Currency;

use super::contract_version::ContractVersion;
use super::egress::Destination;
pub use super::label::Label;

/// Name of the custom section that holds the manifest.
pub const MANIFEST_SECTION: &str = "vetpay:manifest";

/// Largest manifest accepted, so a hostile file cannot make the parser work hard.
const MAX_MANIFEST_BYTES: usize = 64 * 1024;

/// Why a manifest was refused. Each message says what to fix in `plugin.toml`.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(
        "the file has no '{MANIFEST_SECTION}' custom section: build the plugin with vetpay-sdk's \
         export_plugin! macro, which embeds plugin.toml"
    )]
    Missing,
    #[error("the file has {0} '{MANIFEST_SECTION}' sections; a plugin must embed exactly one")]
    Duplicate(usize),
    #[error("the manifest is {0} bytes; at most {MAX_MANIFEST_BYTES} are accepted")]
    TooLarge(usize),
    #[error("the manifest is not UTF-8 text")]
    NotUtf8,
    #[error("the manifest is not valid plugin.toml: {0}")]
    Syntax(String),
    #[error("manifest field '{field}': {message}")]
    Invalid { field: String, message: String },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ManifestError {
    ManifestError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// An export of the contract that a plugin says it really implements.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    Process,
    Abort,
    Status,
    ChargeToken,
    RefundToken,
    SaveCard,
    ListTerminals,
    Reconcile,
}

impl Capability {
    pub const ALL: [Capability; 8] = [
        Capability::Process,
        Capability::Abort,
        Capability::Status,
        Capability::ChargeToken,
        Capability::RefundToken,
        Capability::SaveCard,
        Capability::ListTerminals,
        Capability::Reconcile,
    ];

    /// The export's name in the WIT contract.
    pub fn export_name(self) -> &'static str {
        match self {
            Capability::Process => "process",
            Capability::Abort => "abort",
            Capability::Status => "status",
            Capability::ChargeToken => "charge-token",
            Capability::RefundToken => "refund-token",
            Capability::SaveCard => "save-card",
            Capability::ListTerminals => "list-terminals",
            Capability::Reconcile => "reconcile",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.export_name())
    }
}

/// The type of a setting's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SettingType {
    Text,
    Integer,
    Boolean,
    Url,
    Choice,
}

/// Where a setting is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SettingScope {
    Organisation,
    Department,
    /// Either level; the department's value wins.
    Both,
}

/// One entry of the settings schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SettingSpec {
    pub key: String,
    #[serde(rename = "type")]
    pub kind: SettingType,
    pub scope: SettingScope,
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// The allowed values of a `choice` setting.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// The smallest value of an `integer` setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// The largest value of an `integer` setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// By BCP 47 language tag; `en` is required, any other language optional.
    pub label: Label,
    /// As `label`: `en` required when there is help at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Label>,
}

/// A validated manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Manifest {
    pub id: String,
    pub name: String,
    /// Semantic version, such as "1.2.0".
    #[schema(value_type = String)]
    pub version: semver::Version,
    /// The WIT contract version it was built against, such as "1.0.0".
    #[schema(value_type = String)]
    pub contract: ContractVersion,
    pub markets: Vec<String>,
    /// ISO 4217 codes.
    #[schema(value_type = Vec<String>)]
    pub currencies: Vec<Currency>,
    pub capabilities: BTreeSet<Capability>,
    /// Destinations as scheme://host:port.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub allowed_hosts: Vec<Destination>,
    #[serde(default)]
    pub settings: Vec<SettingSpec>,
    /// The terminal types an admin may register for this plugin (such as
    /// "Connect@Cloud"); empty (or left out, as in older manifests): any type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terminal_types: Vec<String>,
}

impl Manifest {
    /// Parses and validates the TOML text of a manifest.
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge(bytes.len()));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| ManifestError::NotUtf8)?;
        let manifest: Manifest =
            toml::from_str(text).map_err(|e| ManifestError::Syntax(e.to_string()))?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// The schema entry for `key`.
    pub fn setting(&self, key: &str) -> Option<&SettingSpec> {
        self.settings.iter().find(|s| s.key == key)
    }

    /// Whether the manifest says the plugin implements `capability`.
    pub fn supports(&self, capability: Capability) -> bool {
        self.capabilities.contains(&capability)
    }

    /// Whether a terminal of `terminal_type` may be registered for this
    /// plugin; the refusal names the types it takes.
    pub fn check_terminal_type(&self, terminal_type: &str) -> Result<(), String> {
        if self.terminal_types.is_empty() || self.terminal_types.iter().any(|t| t == terminal_type)
        {
            return Ok(());
        }
        let allowed: Vec<String> = self
            .terminal_types
            .iter()
            .map(|t| format!("'{t}'"))
            .collect();
        Err(format!(
            "plugin '{}' takes terminals of type {}, got '{terminal_type}'",
            self.id,
            allowed.join(" or ")
        ))
    }

    fn validate(&self) -> Result<(), ManifestError> {
        if !is_identifier(&self.id, 63) {
            return Err(invalid(
                "id",
                format!(
                    "'{}' must be 2 to 63 characters of a-z, 0-9 and '-', starting with a letter",
                    self.id
                ),
            ));
        }
        if self.name.trim().is_empty() || self.name.len() > 200 {
            return Err(invalid("name", "must be 1 to 200 characters"));
        }
        ContractVersion::check_supported(&self.contract).map_err(|m| invalid("contract", m))?;
        if self.markets.is_empty() {
            return Err(invalid(
                "markets",
                "list at least one ISO 3166-1 alpha-2 code, such as \"US\"",
            ));
        }
        let mut seen = BTreeSet::new();
        for market in &self.markets {
            let upper = market.len() == 2 && market.bytes().all(|b| b.is_ascii_uppercase());
            if !upper || isocountry::CountryCode::for_alpha2(market).is_err() {
                return Err(invalid(
                    "markets",
                    format!(
                        "'{market}' is not an ISO 3166-1 alpha-2 code (such as \"US\", \"DK\")"
                    ),
                ));
            }
            if !seen.insert(market) {
                return Err(invalid("markets", format!("'{market}' is listed twice")));
            }
        }
        if self.currencies.is_empty() {
            return Err(invalid(
                "currencies",
                "list at least one ISO 4217 code, such as \"USD\"",
            ));
        }
        if self.capabilities.is_empty() {
            return Err(invalid(
                "capabilities",
                format!(
                    "list the exports the plugin implements, among: {}",
                    Capability::ALL.map(|c| c.export_name()).join(", ")
                ),
            ));
        }
        for host in &self.allowed_hosts {
            host.validate().map_err(|m| invalid("allowed-hosts", m))?;
        }
        self.validate_terminal_types()?;
        self.validate_settings()
    }

    fn validate_terminal_types(&self) -> Result<(), ManifestError> {
        let mut seen = BTreeSet::new();
        for t in &self.terminal_types {
            if t.trim().is_empty() || t.trim() != t || t.chars().count() > 64 {
                return Err(invalid(
                    "terminal-types",
                    format!("'{t}': each type is 1 to 64 characters without surrounding spaces"),
                ));
            }
            if !seen.insert(t) {
                return Err(invalid("terminal-types", format!("'{t}' is listed twice")));
            }
        }
        Ok(())
    }

    fn validate_settings(&self) -> Result<(), ManifestError> {
        let mut keys = BTreeSet::new();
        for s in &self.settings {
            let field = format!("settings.{}", s.key);
            if !is_identifier(&s.key, 64) {
                return Err(invalid(
                    "settings",
                    format!(
                        "key '{}' must be 2 to 64 characters of a-z, 0-9 and '-', starting with a letter",
                        s.key
                    ),
                ));
            }
            if !keys.insert(&s.key) {
                return Err(invalid(
                    "settings",
                    format!("key '{}' is declared twice", s.key),
                ));
            }
            s.label
                .check()
                .map_err(|e| invalid(format!("{field}.label"), e.to_string()))?;
            if let Some(help) = &s.help {
                help.check()
                    .map_err(|e| invalid(format!("{field}.help"), e.to_string()))?;
            }
            if s.secret && s.default.is_some() {
                return Err(invalid(field, "a secret setting cannot have a default"));
            }
            if (s.kind == SettingType::Choice) == s.choices.is_empty() {
                return Err(invalid(
                    field,
                    "a 'choice' setting lists its 'choices'; other types have none",
                ));
            }
            if s.kind != SettingType::Integer && (s.min.is_some() || s.max.is_some()) {
                return Err(invalid(
                    field,
                    "only an 'integer' setting has a min or a max",
                ));
            }
            if let (Some(min), Some(max)) = (s.min, s.max)
                && min > max
            {
                return Err(invalid(field, "min must not be above max"));
            }
            if let Some(default) = &s.default {
                s.check_value(default)
                    .map_err(|m| invalid(field.clone(), format!("default: {m}")))?;
            }
        }
        Ok(())
    }
}

impl SettingSpec {
    /// Checks a value against the declared type; the message tells an admin what
    /// is expected.
    pub fn check_value(&self, value: &str) -> Result<(), String> {
        match self.kind {
            SettingType::Text => Ok(()),
            SettingType::Integer => {
                let n = value
                    .parse::<i64>()
                    .map_err(|_| format!("'{}' expects a whole number, got '{value}'", self.key))?;
                let (min, max) = (self.min.unwrap_or(i64::MIN), self.max.unwrap_or(i64::MAX));
                if (min..=max).contains(&n) {
                    Ok(())
                } else {
                    Err(format!(
                        "'{}' expects a whole number from {} to {}, got {n}",
                        self.key,
                        self.min.map_or("any".to_owned(), |m| m.to_string()),
                        self.max.map_or("any".to_owned(), |m| m.to_string()),
                    ))
                }
            }
            SettingType::Boolean => match value {
                "true" | "false" => Ok(()),
                _ => Err(format!(
                    "'{}' expects true or false, got '{value}'",
                    self.key
                )),
            },
            SettingType::Url => match url::Url::parse(value) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
                _ => Err(format!(
                    "'{}' expects an absolute http(s) URL, got '{value}'",
                    self.key
                )),
            },
            SettingType::Choice => {
                if self.choices.iter().any(|c| c == value) {
                    Ok(())
                } else {
                    Err(format!(
                        "'{}' expects one of {}, got '{value}'",
                        self.key,
                        self.choices.join(", ")
                    ))
                }
            }
        }
    }
}

fn is_identifier(s: &str, max: usize) -> bool {
    (2..=max).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "example"
name = "Example"
version = "1.2.3"
contract = "0.1.0"
markets = ["US"]
currencies = ["USD"]
capabilities = ["process", "status"]
allowed-hosts = ["https://api.example.com"]

[[settings]]
key = "api-key"
type = "text"
scope = "organisation"
secret = true
label = { en = "API key", da = "API-nøgle" }
"#;

    #[test]
    fn a_good_manifest_parses() {
        let m = Manifest::parse(GOOD.as_bytes()).unwrap();
        assert_eq!(m.id, "example");
        assert!(m.supports(Capability::Status));
        assert!(!m.supports(Capability::Reconcile));
        assert_eq!(
            m.allowed_hosts[0].to_string(),
            "https://api.example.com:443"
        );
        assert!(m.setting("api-key").unwrap().secret);
    }

    fn refused(from: &str, to: &str) -> String {
        let text = GOOD.replace(from, to);
        assert_ne!(text, GOOD, "replacement {from:?} did not apply");
        Manifest::parse(text.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn each_invalid_field_is_named() {
        assert!(refused("\"example\"", "\"Bad_Id\"").contains("manifest field 'id'"));
        assert!(refused("[\"US\"]", "[\"USA\"]").contains("'USA' is not an ISO 3166-1"));
        assert!(refused("[\"US\"]", "[\"XX\"]").contains("markets"));
        assert!(refused("[\"USD\"]", "[\"XXX\"]").contains("ISO 4217"));
        assert!(refused("\"0.1.0\"", "\"1.0.0\"").contains("contract"));
        assert!(refused("[\"process\", \"status\"]", "[\"fly\"]").contains("capabilities"));
        assert!(refused("https://api.example.com", "ftp://x").contains("allowed-hosts"));
        assert!(refused("da = \"API-nøgle\"", "da = \"\"").contains("'da' is empty"));
        assert!(refused("secret = true", "secret = true\ndefault = \"x\"").contains("default"));
        assert!(refused("name = \"Example\"", "name = \"Example\"\nextra = 1").contains("extra"));
    }

    #[test]
    fn labels_take_any_language_with_english_required() {
        let any = GOOD.replace(
            "label = { en = \"API key\", da = \"API-nøgle\" }",
            "label = { en = \"API key\", nl = \"API-sleutel\", fr = \"Clé API\", sv = \"API-nyckel\", \"fr-BE\" = \"Clé API\" }\n\
             help = { en = \"From the dashboard\", nl = \"Uit het dashboard\" }",
        );
        let m = Manifest::parse(any.as_bytes()).unwrap();
        let spec = m.setting("api-key").unwrap();
        assert_eq!(spec.label.get("nl"), Some("API-sleutel"));
        assert_eq!(spec.label.get("sv"), Some("API-nyckel"));
        assert_eq!(spec.label.get("fr-be"), Some("Clé API"));
        assert_eq!(spec.help.as_ref().unwrap().en(), "From the dashboard");
        // Danish is no longer required.
        let english_only = GOOD.replace(", da = \"API-nøgle\"", "");
        assert!(Manifest::parse(english_only.as_bytes()).is_ok());

        let no_english = refused("en = \"API key\", da", "nl = \"API-sleutel\", da");
        assert_eq!(
            no_english,
            "manifest field 'settings.api-key.label': needs an English text (en = \"...\"); other languages are optional"
        );
        let bad_tag = refused("da = \"API-nøgle\"", "nl_NL = \"API-sleutel\"");
        assert!(
            bad_tag.starts_with(
                "manifest field 'settings.api-key.label': 'nl_NL' is not a BCP 47 language tag"
            ),
            "{bad_tag}"
        );
        assert!(
            refused("da = \"API-nøgle\"", "english = \"x\"").contains("'english' is not a BCP 47")
        );
        let help_without_english = refused(
            "label = { en = \"API key\", da = \"API-nøgle\" }",
            "label = { en = \"API key\" }\nhelp = { nl = \"Uit het dashboard\" }",
        );
        assert!(
            help_without_english.contains("'settings.api-key.help': needs an English"),
            "{help_without_english}"
        );
    }

    #[test]
    fn integer_settings_keep_to_min_and_max() {
        let text = GOOD.replace(
            "[[settings]]",
            "[[settings]]\nkey = \"timeout-s\"\ntype = \"integer\"\nmin = 1\nmax = 60\ndefault = \"30\"\n\
             scope = \"organisation\"\nlabel = { en = \"Timeout (s)\" }\n\n[[settings]]",
        );
        let m = Manifest::parse(text.as_bytes()).unwrap();
        let spec = m.setting("timeout-s").unwrap();
        assert_eq!((spec.min, spec.max), (Some(1), Some(60)));
        assert!(spec.check_value("60").is_ok());
        assert!(spec.check_value("61").unwrap_err().contains("from 1 to 60"));
        assert!(
            Manifest::parse(
                text.replace("default = \"30\"", "default = \"0\"")
                    .as_bytes()
            )
            .unwrap_err()
            .to_string()
            .contains("default")
        );
        assert!(
            Manifest::parse(text.replace("min = 1", "min = 90").as_bytes())
                .unwrap_err()
                .to_string()
                .contains("min must not be above max")
        );
    }

    #[test]
    fn terminal_types_are_optional_and_checked() {
        let m = Manifest::parse(GOOD.as_bytes()).unwrap();
        assert!(m.terminal_types.is_empty());
        assert!(m.check_terminal_type("anything").is_ok());
        let text = GOOD.replace(
            "allowed-hosts",
            "terminal-types = [\"Connect@Cloud\", \"Baxi\"]\nallowed-hosts",
        );
        let m = Manifest::parse(text.as_bytes()).unwrap();
        assert!(m.check_terminal_type("Baxi").is_ok());
        assert_eq!(
            m.check_terminal_type("Lane").unwrap_err(),
            "plugin 'example' takes terminals of type 'Connect@Cloud' or 'Baxi', got 'Lane'"
        );
        assert!(
            refused(
                "allowed-hosts",
                "terminal-types = [\"A\", \"A\"]\nallowed-hosts"
            )
            .contains("'A' is listed twice")
        );
        assert!(
            refused("allowed-hosts", "terminal-types = [\" \"]\nallowed-hosts")
                .contains("terminal-types")
        );
    }
}
