//! Where Inkan's outbound requests may go. OCSP and CRL addresses, CA issuer links and TSA URLs
//! come from certificates and configuration, webhook URLs from any API key: a server that
//! followed them blindly could be made to call its own admin ports, a cloud metadata endpoint
//! or a database on the private network. One policy decides for every fetch:
//!
//! - loopback, private, link-local, unique-local, CGNAT, multicast and unspecified addresses
//!   are refused unless a configured range allows them, whether the URL names the address or a
//!   host name resolves to it (the check runs on every resolution, so a name that changes its
//!   answer gains nothing);
//! - an origin configured by name (the built-in PKI's own URL) is allowed as it is;
//! - plain `http` is refused where the policy says so (webhooks carry contract data);
//! - redirects are never followed; timeouts and response sizes are bounded by [`crate::http`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;

/// The egress policy.
#[derive(Debug, Clone, Default)]
pub struct Egress {
    /// No restriction at all: the command-line tools, where the operator typed the URLs.
    open: bool,
    /// Internal ranges that are allowed anyway (an internal TSA, a test receiver).
    pub allowed_networks: Vec<IpNet>,
    /// Origins (`http://127.0.0.1:8080`) allowed whatever they resolve to: the built-in PKI.
    pub allowed_origins: Vec<String>,
    /// Whether `http://` URLs are allowed (OCSP, CRL and TSA are plain HTTP by design).
    pub allow_http: bool,
}

/// Why a URL may not be fetched.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{url}: {why}")]
pub struct Refused {
    pub url: String,
    pub why: String,
}

impl Egress {
    /// No restriction (command-line tools run by the operator).
    pub fn open() -> Egress {
        Egress {
            open: true,
            allow_http: true,
            ..Egress::default()
        }
    }

    /// Public addresses only, over http or https, plus what is allowed by name or range.
    pub fn restricted(allowed_networks: Vec<IpNet>, allowed_origins: Vec<String>) -> Egress {
        Egress {
            open: false,
            allowed_networks,
            allowed_origins: allowed_origins
                .iter()
                .filter_map(|o| origin_of(o))
                .collect(),
            allow_http: true,
        }
    }

    /// The same policy, with plain http refused (webhooks).
    pub fn https_only(mut self) -> Egress {
        self.allow_http = false;
        self
    }

    /// Whether `url` may be fetched; host names are checked again when they are resolved.
    pub fn check(&self, url: &str) -> Result<(), Refused> {
        if self.open {
            return Ok(());
        }
        let refused = |why: &str| Refused {
            url: url.to_string(),
            why: why.to_string(),
        };
        let parsed = url::Url::parse(url).map_err(|e| refused(&format!("not a URL ({e})")))?;
        if self.origin_allowed(&parsed) {
            return Ok(());
        }
        match parsed.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err(refused("only https:// is allowed here")),
            other => return Err(refused(&format!("the scheme {other}: is not allowed"))),
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(refused("credentials in the URL are not allowed"));
        }
        let ip = match parsed.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            Some(url::Host::Domain(d))
                if d.eq_ignore_ascii_case("localhost") || d.ends_with(".localhost") =>
            {
                Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
            }
            Some(url::Host::Domain(_)) => None,
            None => return Err(refused("the URL has no host")),
        };
        match ip {
            Some(ip) if !self.address_allowed(ip) => Err(refused(&format!(
                "{ip} is a loopback, private or link-local address; requests to it are not allowed"
            ))),
            _ => Ok(()),
        }
    }

    fn origin_allowed(&self, url: &url::Url) -> bool {
        let origin = url.origin().ascii_serialization();
        self.allowed_origins.contains(&origin)
    }

    /// Whether a resolved address may be connected to.
    pub fn address_allowed(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.open || !is_internal(ip) || self.allowed_networks.iter().any(|n| n.contains(&ip))
    }

    /// An HTTP client that follows no redirect and connects only to allowed addresses.
    pub fn client(&self) -> reqwest::Client {
        let builder = reqwest::Client::builder()
            .user_agent(concat!("inkan/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(std::time::Duration::from_secs(10));
        let builder = if self.open {
            builder
        } else {
            builder.dns_resolver(Arc::new(Resolver {
                egress: self.clone(),
            }))
        };
        builder.build().unwrap_or_else(|_| reqwest::Client::new())
    }
}

/// `scheme://host[:port]` of a URL, as [`url::Origin`] serialises it.
fn origin_of(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()
        .map(|u| u.origin().ascii_serialization())
}

/// Addresses no outbound request should reach unless configured.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
                || (a == 192 && b == 0 && v4.octets()[2] == 0) // 192.0.0.0/24, IETF
                || a >= 240
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
                || v6 == Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0) // NAT64 well-known prefix base
        }
    }
}

/// Name resolution that drops the addresses the policy refuses (so a host name that resolves
/// to 127.0.0.1 or 169.254.169.254 cannot be reached through DNS either).
struct Resolver {
    egress: Egress,
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let egress = self.egress.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| egress.address_allowed(a.ip()))
                .collect();
            if allowed.is_empty() {
                let err: Box<dyn std::error::Error + Send + Sync> = format!(
                    "{host} resolves only to addresses requests may not reach ({})",
                    found
                        .iter()
                        .map(|a| a.ip().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
                .into();
                return Err(err);
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn internal_addresses_are_refused_unless_allowed() {
        let egress = Egress::restricted(
            vec!["10.1.0.0/16".parse().unwrap()],
            vec!["http://127.0.0.1:8080/pki".into()],
        );
        for bad in [
            "http://127.0.0.1/hook",
            "http://127.1.2.3:9000/",
            "http://localhost:8080/",
            "http://api.localhost/",
            "http://10.0.0.1/",
            "http://172.16.5.5/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]/",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://0.0.0.0/",
            "http://100.64.0.1/",
            "ftp://example.jp/",
            "file:///etc/passwd",
            "http://user:pw@example.jp/",
        ] {
            assert!(egress.check(bad).is_err(), "{bad}");
        }
        for good in [
            "https://tsa.example.jp/tsa",
            "http://ocsp.example.jp/",
            "http://203.0.113.5/crl",
            "http://10.1.2.3/tsa",
            "http://127.0.0.1:8080/pki/ocsp",
        ] {
            assert!(egress.check(good).is_ok(), "{good}");
        }
        let webhooks = egress.clone().https_only();
        assert!(webhooks.check("http://hooks.example.jp/").is_err());
        assert!(webhooks.check("https://hooks.example.jp/").is_ok());
        assert!(Egress::open().check("http://127.0.0.1/").is_ok());
    }
}
