//! Where a plugin may send HTTP requests: exact scheme, host and port.
//!
//! The allow-list of a plugin is the manifest's `allowed-hosts` plus the
//! destinations an admin added for that plugin (for example a provider's sandbox
//! or a local simulator). Nothing else is reachable, redirects included.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The admin setting that extends a plugin's allow-list; named in every denial.
pub const ADMIN_ALLOWED_HOSTS_SETTING: &str = "allowed-hosts";

/// One allowed destination.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Destination {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

impl Destination {
    /// The destination of an absolute URL; `None` for a URL without a host or
    /// with a scheme other than http(s).
    pub fn of_url(url: &url::Url) -> Option<Destination> {
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return None;
        }
        Some(Destination {
            scheme: scheme.to_owned(),
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default()?,
        })
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.scheme != "http" && self.scheme != "https" {
            return Err(format!("'{self}': the scheme must be http or https"));
        }
        if self.host.is_empty() {
            return Err(format!("'{self}': the host is empty"));
        }
        if self.host.contains('*') {
            return Err(format!(
                "'{self}': wildcards are refused; name each host a plugin may reach"
            ));
        }
        Ok(())
    }
}

impl FromStr for Destination {
    type Err = String;
    /// Accepts `scheme://host[:port]` (no path, no credentials); the port defaults
    /// to the scheme's.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let url = url::Url::parse(s).map_err(|e| {
            format!("'{s}' is not a destination like https://api.example.com:443 ({e})")
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("'{s}': a destination carries no credentials"));
        }
        if url.path() != "/" && !url.path().is_empty() || url.query().is_some() {
            return Err(format!(
                "'{s}': a destination is scheme://host:port, without a path or query"
            ));
        }
        let d = Destination::of_url(&url)
            .ok_or_else(|| format!("'{s}': the scheme must be http or https"))?;
        d.validate()?;
        Ok(d)
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // IPv6 hosts come bracketed from `url`, so this round-trips.
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

impl Serialize for Destination {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Destination {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A plugin's allow-list for one call.
#[derive(Debug, Clone, Default)]
pub struct EgressPolicy {
    pub manifest: Vec<Destination>,
    pub admin: Vec<Destination>,
}

/// A refused destination, with what an admin would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub destination: String,
    pub setting: String,
    pub message: String,
}

impl EgressPolicy {
    pub fn check(&self, plugin_id: &str, url: &url::Url) -> Result<Destination, Denial> {
        let Some(dest) = Destination::of_url(url) else {
            return Err(Denial {
                destination: url.origin().ascii_serialization(),
                setting: ADMIN_ALLOWED_HOSTS_SETTING.to_owned(),
                message: format!(
                    "plugin '{plugin_id}' may only use http or https URLs with a host, not '{}'",
                    url.scheme()
                ),
            });
        };
        if self.manifest.contains(&dest) || self.admin.contains(&dest) {
            return Ok(dest);
        }
        Err(Denial {
            destination: dest.to_string(),
            setting: ADMIN_ALLOWED_HOSTS_SETTING.to_owned(),
            message: format!(
                "plugin '{plugin_id}' may not contact {dest}: it is neither in the plugin \
                 manifest's allowed-hosts nor in the admin setting '{ADMIN_ALLOWED_HOSTS_SETTING}' \
                 of this plugin; an admin who trusts it can add it there"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn exact_scheme_host_and_port_are_required() {
        let policy = EgressPolicy {
            manifest: vec!["https://api.example.com".parse().unwrap()],
            admin: vec!["http://127.0.0.1:8080".parse().unwrap()],
        };
        assert!(
            policy
                .check("p", &url("https://api.example.com/v1/x?y=1"))
                .is_ok()
        );
        assert!(
            policy
                .check("p", &url("https://API.example.com:443/"))
                .is_ok()
        );
        assert!(
            policy
                .check("p", &url("http://127.0.0.1:8080/login"))
                .is_ok()
        );
        for bad in [
            "http://api.example.com/",
            "https://api.example.com:8443/",
            "https://evil.example.com/",
            "https://api.example.com.evil.io/",
            "http://127.0.0.1:8081/",
            "http://localhost:8080/",
        ] {
            let denial = policy.check("p", &url(bad)).unwrap_err();
            assert_eq!(denial.setting, ADMIN_ALLOWED_HOSTS_SETTING, "{bad}");
            assert!(denial.message.contains("may not contact"), "{bad}");
        }
        assert!(policy.check("p", &url("file:///etc/passwd")).is_err());
    }

    #[test]
    fn destinations_parse_strictly() {
        assert_eq!(
            "https://h.example"
                .parse::<Destination>()
                .unwrap()
                .to_string(),
            "https://h.example:443"
        );
        assert!("https://h.example/path".parse::<Destination>().is_err());
        assert!("https://u:p@h.example".parse::<Destination>().is_err());
        assert!("ftp://h.example".parse::<Destination>().is_err());
        assert!("h.example".parse::<Destination>().is_err());
    }
}
