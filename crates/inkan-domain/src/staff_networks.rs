//! IP制限: the networks an organization's staff may work from.
//!
//! An organization that sets a list is reachable by its staff (pages and API keys) only from an
//! address inside one of the networks; an empty list restricts nothing. Signer and completion
//! links never consult it: a vendor signs from wherever they are.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::DomainError;

/// Most networks one organization may list: a city's offices, branch offices and VPN exits.
pub const MAX_STAFF_NETWORKS: usize = 200;

/// An organization's IP restriction: IPv4 and IPv6 networks in CIDR notation, kept in their
/// canonical form (host bits cleared), sorted and without repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct StaffNetworks(Vec<IpNet>);

impl StaffNetworks {
    /// No restriction.
    pub fn unrestricted() -> StaffNetworks {
        StaffNetworks(Vec::new())
    }

    /// The list of `networks`, normalised.
    pub fn new(networks: impl IntoIterator<Item = IpNet>) -> Result<StaffNetworks, DomainError> {
        let mut list: Vec<IpNet> = networks.into_iter().map(|n| n.trunc()).collect();
        list.sort();
        list.dedup();
        if list.len() > MAX_STAFF_NETWORKS {
            return Err(DomainError::InvalidValue {
                what: "許可するネットワーク (allowed networks)",
                why: format!(
                    "{MAX_STAFF_NETWORKS} 件までです ({} given; at most {MAX_STAFF_NETWORKS})",
                    list.len()
                ),
            });
        }
        Ok(StaffNetworks(list))
    }

    /// Parses a list written one network per line (commas and spaces also separate). A bare
    /// address stands for itself alone (`/32`, `/128`); `#` starts a comment.
    pub fn parse_list(text: &str) -> Result<StaffNetworks, DomainError> {
        let entries = text
            .lines()
            .map(|line| line.split('#').next().unwrap_or_default())
            .flat_map(|line| line.split([',', ' ', '\t', '\u{3000}']))
            .map(str::trim)
            .filter(|entry| !entry.is_empty());
        let networks = entries
            .enumerate()
            .map(|(i, entry)| parse_network(entry, i + 1))
            .collect::<Result<Vec<_>, _>>()?;
        StaffNetworks::new(networks)
    }

    /// True when the list restricts nothing.
    pub fn is_unrestricted(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether staff may work from `address` (always, when the list is empty). An IPv4 address
    /// seen as IPv4-mapped IPv6 (`::ffff:192.0.2.7`) is judged as the IPv4 address it is.
    pub fn permits(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.is_unrestricted() || self.0.iter().any(|net| net.contains(&address))
    }

    /// The networks, sorted.
    pub fn networks(&self) -> &[IpNet] {
        &self.0
    }

    /// This list with `network` added.
    pub fn with(&self, network: IpNet) -> Result<StaffNetworks, DomainError> {
        StaffNetworks::new(self.0.iter().copied().chain([network]))
    }
}

/// One entry of a list; `position` (from 1) names it in the error.
fn parse_network(entry: &str, position: usize) -> Result<IpNet, DomainError> {
    let parsed = if entry.contains('/') {
        IpNet::from_str(entry).ok()
    } else {
        IpAddr::from_str(entry).ok().map(IpNet::from)
    };
    parsed.ok_or_else(|| DomainError::InvalidValue {
        what: "許可するネットワーク (allowed networks)",
        why: format!(
            "{position} 件目の「{}」は IPv4 または IPv6 のアドレスか CIDR (192.0.2.0/24, \
             2001:db8::/32) ではありません (entry {position} is not an IP address or a CIDR network)",
            entry.chars().filter(|c| !c.is_control()).take(60).collect::<String>()
        ),
    })
}

impl FromStr for StaffNetworks {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StaffNetworks::parse_list(s)
    }
}

/// One network per line, as the settings page shows it and the store keeps it.
impl fmt::Display for StaffNetworks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, net) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{net}")?;
        }
        Ok(())
    }
}

/// As a JSON array of CIDR strings.
impl Serialize for StaffNetworks {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|n| n.to_string()))
    }
}

impl<'de> Deserialize<'de> for StaffNetworks {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = Vec::<String>::deserialize(deserializer)?;
        let networks = entries
            .iter()
            .enumerate()
            .map(|(i, e)| parse_network(e.trim(), i + 1))
            .collect::<Result<Vec<_>, _>>()
            .map_err(serde::de::Error::custom)?;
        StaffNetworks::new(networks).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_empty_list_restricts_nothing() {
        let list = StaffNetworks::parse_list("  \n# only a comment\n").unwrap();
        assert!(list.is_unrestricted());
        assert!(list.permits(ip("198.51.100.7")));
        assert!(list.permits(ip("2001:db8::1")));
    }

    #[test]
    fn networks_of_both_families_admit_exactly_their_addresses() {
        let list = StaffNetworks::parse_list(
            "203.0.113.0/24  # 本庁舎\n198.51.100.7\n2001:db8:10::/48, 192.0.2.0/28",
        )
        .unwrap();
        assert_eq!(list.networks().len(), 4);
        assert!(list.permits(ip("203.0.113.200")));
        assert!(!list.permits(ip("203.0.114.1")));
        assert!(list.permits(ip("198.51.100.7")));
        assert!(!list.permits(ip("198.51.100.8")));
        assert!(list.permits(ip("192.0.2.15")));
        assert!(!list.permits(ip("192.0.2.16")));
        assert!(list.permits(ip("2001:db8:10:ffff::1")));
        assert!(!list.permits(ip("2001:db8:11::1")));
        // An IPv4 client seen through an IPv6 socket.
        assert!(list.permits(ip("::ffff:203.0.113.9")));
        assert!(!list.permits(ip("::ffff:203.0.114.9")));
    }

    #[test]
    fn the_list_is_canonical_sorted_and_without_repeats() {
        let list = StaffNetworks::parse_list("203.0.113.77/24\n192.0.2.1\n203.0.113.0/24").unwrap();
        assert_eq!(list.to_string(), "192.0.2.1/32\n203.0.113.0/24");
        let again: StaffNetworks = list.to_string().parse().unwrap();
        assert_eq!(again, list);
        let json = serde_json::to_string(&list).unwrap();
        assert_eq!(json, r#"["192.0.2.1/32","203.0.113.0/24"]"#);
        assert_eq!(serde_json::from_str::<StaffNetworks>(&json).unwrap(), list);
    }

    #[test]
    fn a_wrong_entry_is_named_by_its_position() {
        let e = StaffNetworks::parse_list("203.0.113.0/24\n203.0.113.0/33").unwrap_err();
        let message = e.to_string();
        assert!(message.contains("2 件目"), "{message}");
        assert!(message.contains("203.0.113.0/33"), "{message}");
        assert!(StaffNetworks::parse_list("192.0.2.256").is_err());
        assert!(StaffNetworks::parse_list("example.jp").is_err());
        assert!(serde_json::from_str::<StaffNetworks>(r#"["10.0.0.0/8","x"]"#).is_err());
        let many: String = (0..=MAX_STAFF_NETWORKS)
            .map(|i| format!("10.{}.{}.0/24\n", i / 256, i % 256))
            .collect();
        assert!(StaffNetworks::parse_list(&many).is_err());
    }
}
