//! Which addresses a plugin's requests may reach, decided on the address itself.
//!
//! The allow-list (`egress`) matches destinations by name; this module checks
//! what a name or literal really points at. Loopback, private, link-local,
//! shared (CGNAT), multicast, unspecified and reserved addresses, and the IPv6
//! forms that embed one of them, are refused unless the operator allowed their
//! range in the server's configuration. Names are resolved here, at connect
//! time, by the HTTP client's resolver ([`GuardedResolver`]), and the connection
//! is made only to the addresses that passed: a name that changes its answer
//! between check and connect (DNS rebinding) gains nothing.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;

/// The server option that allows a range; named in every refusal.
pub const OPERATOR_OPTION: &str = "--allow-private-network";

/// Why an address is special.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    Loopback,
    Private,
    LinkLocal,
    SharedCgnat,
    UniqueLocal,
    Multicast,
    Unspecified,
    Broadcast,
    Reserved,
}

impl fmt::Display for AddressKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressKind::Loopback => "a loopback address",
            AddressKind::Private => "a private address (RFC 1918)",
            AddressKind::LinkLocal => "a link-local address (cloud metadata lives here)",
            AddressKind::SharedCgnat => "a shared address (CGNAT, RFC 6598)",
            AddressKind::UniqueLocal => "a unique local IPv6 address",
            AddressKind::Multicast => "a multicast address",
            AddressKind::Unspecified => "the unspecified address",
            AddressKind::Broadcast => "the broadcast address",
            AddressKind::Reserved => "a reserved address",
        })
    }
}

fn net(s: &str) -> IpNet {
    s.parse().expect("a valid built-in range")
}

/// What kind of special address `ip` is, or `None` for an ordinary public one.
pub fn classify(ip: IpAddr) -> Option<AddressKind> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressKind> {
    use AddressKind::*;
    let ranges: [(&str, AddressKind); 13] = [
        ("0.0.0.0/8", Unspecified),
        ("10.0.0.0/8", Private),
        ("100.64.0.0/10", SharedCgnat),
        ("127.0.0.0/8", Loopback),
        ("169.254.0.0/16", LinkLocal),
        ("172.16.0.0/12", Private),
        ("192.0.0.0/24", Reserved),
        ("192.168.0.0/16", Private),
        ("198.18.0.0/15", Reserved),
        ("224.0.0.0/4", Multicast),
        ("255.255.255.255/32", Broadcast),
        ("240.0.0.0/4", Reserved),
        ("192.88.99.0/24", Reserved),
    ];
    let ip = IpAddr::V4(ip);
    ranges
        .iter()
        .find(|(r, _)| net(r).contains(&ip))
        .map(|(_, k)| *k)
}

/// The IPv4 address an IPv6 address carries, in the forms that route to it:
/// IPv4-mapped, IPv4-compatible, NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] && !(s[6] == 0 && s[7] <= 1) {
        return Some(low);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(low);
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressKind> {
    use AddressKind::*;
    if ip.is_unspecified() {
        return Some(Unspecified);
    }
    if ip.is_loopback() {
        return Some(Loopback);
    }
    if let Some(v4) = embedded_v4(ip) {
        return classify_v4(v4);
    }
    let ranges: [(&str, AddressKind); 5] = [
        ("fc00::/7", UniqueLocal),
        ("fe80::/10", LinkLocal),
        ("fec0::/10", Reserved),
        ("ff00::/8", Multicast),
        ("100::/64", Reserved),
    ];
    let ip = IpAddr::V6(ip);
    ranges
        .iter()
        .find(|(r, _)| net(r).contains(&ip))
        .map(|(_, k)| *k)
}

/// Host names that always mean this machine or a cloud's internal network,
/// refused by name before anything is resolved.
fn special_name(host: &str) -> Option<AddressKind> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let is = |suffix: &str| host == suffix || host.ends_with(&format!(".{suffix}"));
    if is("localhost") || host == "localhost.localdomain" {
        Some(AddressKind::Loopback)
    } else if is("internal") || is("local") || is("home.arpa") || is("intranet") || is("lan") {
        // metadata.google.internal, mDNS names and home networks.
        Some(AddressKind::Private)
    } else {
        None
    }
}

/// An address or name the operator has not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{target} is {kind}; plugins may not reach it unless the operator allows its range \
     in the server's configuration (`vetpay serve {OPERATOR_OPTION} CIDR`); an \
     organisation admin cannot allow it"
)]
pub struct Refused {
    pub target: String,
    pub kind: AddressKind,
}

/// Why an operator's allowance was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllowanceError {
    #[error("'{0}' is not an address range such as 127.0.0.0/8 or ::1/128")]
    NotARange(String),
    #[error("'{0}' would allow every address; allow the ranges you need, one by one")]
    Wildcard(String),
}

/// The operator's decision on special addresses; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct NetworkPolicy {
    inner: Arc<PolicyInner>,
}

#[derive(Debug, Default, Clone)]
struct PolicyInner {
    allowed: Vec<IpNet>,
    /// Names answered here instead of by DNS (as `curl --resolve` does), still
    /// checked like any answer.
    names: HashMap<String, Vec<IpAddr>>,
}

impl NetworkPolicy {
    /// Public addresses only: the default.
    pub fn public_only() -> Self {
        Self::default()
    }

    /// Loopback allowed as well: for the demo and the tests, whose simulators
    /// listen on 127.0.0.1.
    pub fn with_loopback() -> Self {
        Self::public_only()
            .allow(net("127.0.0.0/8"))
            .allow(net("::1/128"))
    }

    /// Allows a range of special addresses.
    pub fn allow(mut self, range: IpNet) -> Self {
        Arc::make_mut(&mut self.inner).allowed.push(range);
        self
    }

    /// Parses an operator's allowance, refusing wildcards.
    pub fn parse_allowance(text: &str) -> Result<IpNet, AllowanceError> {
        let text = text.trim();
        let range: IpNet = text
            .parse()
            .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| AllowanceError::NotARange(text.to_owned()))?;
        if range.prefix_len() == 0 {
            return Err(AllowanceError::Wildcard(text.to_owned()));
        }
        Ok(range.trunc())
    }

    /// Answers `name` with `addrs` instead of asking DNS (as `curl --resolve`
    /// does, or a test's resolver); the answer is checked like any other, when
    /// a request connects.
    pub fn pin_name(mut self, name: &str, addrs: Vec<IpAddr>) -> Self {
        Arc::make_mut(&mut self.inner)
            .names
            .insert(name.trim_end_matches('.').to_ascii_lowercase(), addrs);
        self
    }

    pub fn allowed_ranges(&self) -> &[IpNet] {
        &self.inner.allowed
    }

    fn allows(&self, ip: IpAddr) -> bool {
        let v4 = match ip {
            IpAddr::V6(v6) => embedded_v4(v6).map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        self.inner
            .allowed
            .iter()
            .any(|n| n.contains(&ip) || v4.is_some_and(|v4| n.contains(&v4)))
    }

    /// Whether a connection to `ip` may be made.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Refused> {
        match classify(ip) {
            Some(kind) if !self.allows(ip) => Err(Refused {
                target: ip.to_string(),
                kind,
            }),
            _ => Ok(()),
        }
    }

    /// The check made when a destination is configured (an admin's allowed
    /// host): literal addresses in every spelling the URL parser accepts, and
    /// names that always mean a local or internal network. Other names are
    /// checked on what they resolve to, when a request connects.
    pub fn check_host(&self, host: &str) -> Result<(), Refused> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return self.check_ip(ip);
        }
        self.check_name(bare, host)
    }

    /// Refuses a name that always means this machine or an internal network,
    /// unless its usual addresses are allowed; `shown` is what the refusal names.
    fn check_name(&self, name: &str, shown: &str) -> Result<(), Refused> {
        match special_name(name) {
            Some(AddressKind::Loopback) if self.allows(IpAddr::V4(Ipv4Addr::LOCALHOST)) => Ok(()),
            Some(kind) => Err(Refused {
                target: shown.to_owned(),
                kind,
            }),
            None => Ok(()),
        }
    }

    /// Resolves `name` and keeps the addresses that pass; refused if none does.
    pub async fn resolve(&self, name: &str) -> Result<Vec<IpAddr>, ResolveError> {
        let key = name.trim_end_matches('.').to_ascii_lowercase();
        let found: Vec<IpAddr> = match self.inner.names.get(&key) {
            Some(addrs) => addrs.clone(),
            None => {
                self.check_name(&key, name).map_err(ResolveError::Refused)?;
                tokio::net::lookup_host((key.as_str(), 0))
                    .await
                    .map_err(|e| ResolveError::Lookup(name.to_owned(), e.kind()))?
                    .map(|a| a.ip())
                    .collect()
            }
        };
        let mut first_refusal = None;
        let passed: Vec<IpAddr> = found
            .into_iter()
            .filter(|ip| match self.check_ip(*ip) {
                Ok(()) => true,
                Err(r) => {
                    first_refusal.get_or_insert(r);
                    false
                }
            })
            .collect();
        match (passed.is_empty(), first_refusal) {
            (false, _) => Ok(passed),
            (true, Some(r)) => Err(ResolveError::Refused(Refused {
                target: format!("{name} ({})", r.target),
                kind: r.kind,
            })),
            (true, None) => Err(ResolveError::Lookup(
                name.to_owned(),
                std::io::ErrorKind::NotFound,
            )),
        }
    }
}

/// Why a name gave no address to connect to.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Refused(Refused),
    #[error("{0} could not be resolved ({1})")]
    Lookup(String, std::io::ErrorKind),
}

/// The HTTP client's resolver: every name a plugin's request connects to, on
/// every redirect hop, goes through [`NetworkPolicy::resolve`].
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    pub policy: NetworkPolicy,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = policy.resolve(&name).await?;
            // The port is the connector's to set.
            let addrs: reqwest::dns::Addrs =
                Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// The refusal somewhere in an error's chain of sources, if the resolver made one.
pub fn refusal_in(error: &(dyn std::error::Error + 'static)) -> Option<Refused> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(ResolveError::Refused(r)) = e.downcast_ref::<ResolveError>() {
            return Some(r.clone());
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn special_addresses_are_refused_in_every_spelling() {
        let policy = NetworkPolicy::public_only();
        for (addr, kind) in [
            ("127.0.0.1", AddressKind::Loopback),
            ("127.255.1.2", AddressKind::Loopback),
            ("::1", AddressKind::Loopback),
            ("0.0.0.0", AddressKind::Unspecified),
            ("::", AddressKind::Unspecified),
            ("10.1.2.3", AddressKind::Private),
            ("172.31.0.1", AddressKind::Private),
            ("192.168.1.1", AddressKind::Private),
            ("169.254.169.254", AddressKind::LinkLocal),
            ("fe80::1", AddressKind::LinkLocal),
            ("100.100.1.1", AddressKind::SharedCgnat),
            ("fd00::1", AddressKind::UniqueLocal),
            ("224.0.0.1", AddressKind::Multicast),
            ("ff02::1", AddressKind::Multicast),
            ("255.255.255.255", AddressKind::Broadcast),
            ("::ffff:127.0.0.1", AddressKind::Loopback),
            ("::ffff:169.254.169.254", AddressKind::LinkLocal),
            ("::10.0.0.1", AddressKind::Private),
            ("64:ff9b::a9fe:a9fe", AddressKind::LinkLocal),
            ("2002:7f00:1::", AddressKind::Loopback),
        ] {
            let refused = policy.check_ip(ip(addr)).unwrap_err();
            assert_eq!(refused.kind, kind, "{addr}");
            assert!(refused.to_string().contains(OPERATOR_OPTION), "{addr}");
        }
        for public in ["93.184.216.34", "2606:4700::1111", "8.8.8.8", "172.32.0.1"] {
            assert!(policy.check_ip(ip(public)).is_ok(), "{public}");
        }
    }

    #[test]
    fn the_operator_allows_ranges_but_never_everything() {
        let policy = NetworkPolicy::with_loopback();
        assert!(policy.check_ip(ip("127.0.0.1")).is_ok());
        assert!(policy.check_ip(ip("::1")).is_ok());
        assert!(policy.check_ip(ip("::ffff:127.0.0.1")).is_ok());
        assert!(policy.check_ip(ip("10.0.0.1")).is_err());
        assert!(policy.check_host("localhost").is_ok());
        assert!(policy.check_host("metadata.google.internal").is_err());
        for wildcard in ["0.0.0.0/0", "::/0", "*"] {
            assert!(
                NetworkPolicy::parse_allowance(wildcard).is_err(),
                "{wildcard}"
            );
        }
        assert_eq!(
            NetworkPolicy::parse_allowance("10.1.2.3/8").unwrap(),
            net("10.0.0.0/8")
        );
        assert_eq!(
            NetworkPolicy::parse_allowance("10.1.2.3").unwrap(),
            net("10.1.2.3/32")
        );
    }

    #[test]
    fn names_are_refused_by_what_they_mean_or_resolve_to() {
        let policy = NetworkPolicy::public_only()
            .pin_name("rebind.test", vec![ip("127.0.0.1")])
            .pin_name("mixed.test", vec![ip("10.0.0.1"), ip("93.184.216.34")]);
        for name in [
            "localhost",
            "LOCALHOST.",
            "api.localhost",
            "metadata.google.internal",
            "printer.local",
        ] {
            assert!(policy.check_host(name).is_err(), "{name}");
        }
        // A name that looks public passes configuration; what it resolves to
        // is judged at connect time.
        assert!(policy.check_host("rebind.test").is_ok());
        assert!(policy.check_host("[::1]").is_err());
        assert!(policy.check_host("api.example.com").is_ok());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            assert!(matches!(
                policy.resolve("rebind.test").await,
                Err(ResolveError::Refused(_))
            ));
            assert!(matches!(
                policy.resolve("localhost").await,
                Err(ResolveError::Refused(_))
            ));
            // Only the address that passed is connected to.
            assert_eq!(
                policy.resolve("mixed.test").await.unwrap(),
                vec![ip("93.184.216.34")]
            );
        });
    }
}
