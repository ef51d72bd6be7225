//! `NO_PROXY`: the hosts reached without the proxy, matched as curl matches them (`lib/noproxy.c`).
//!
//! - Entries are separated by commas and/or blanks; empty entries are skipped.
//! - `*` as the whole list: no host uses the proxy.
//! - A host name entry matches that name and every name under it (`example.org` matches `example.org` and
//!   `a.example.org`, not `badexample.org`); a leading dot is ignored (`.example.org` is the same entry), as are
//!   trailing dots on both sides, and case.
//! - An IP address entry (IPv6 without brackets) matches that address; with `/bits` (CIDR), every address in
//!   the range. A host name is never resolved to compare it with an address: `localhost` does not match
//!   `127.0.0.1`.
//! - Two additions to curl, both harmless: a port in an entry (`example.org:8443`, `[::1]:8080`) is ignored
//!   (curl's entry would match nothing), and a leading `*.` is read as `.`.

use std::net::IpAddr;

use ipnet::IpNet;

/// A parsed `NO_PROXY` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    /// `*`: nothing is proxied.
    all: bool,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// A host name, lower case, without leading or trailing dots.
    Name(String),
    /// An address range (a single address is a range of one).
    Addresses(IpNet),
}

impl NoProxy {
    /// Parses a list (the value of `NO_PROXY`, or the entries of `[network] no_proxy` joined by commas).
    pub fn parse(list: &str) -> Self {
        if list.trim() == "*" {
            return Self {
                all: true,
                entries: Vec::new(),
            };
        }
        let entries = list
            .split(|c: char| c == ',' || c.is_ascii_whitespace())
            .filter(|token| !token.is_empty())
            .filter_map(Entry::parse)
            .collect();
        Self {
            all: false,
            entries,
        }
    }

    /// Whether nothing is listed.
    pub fn is_empty(&self) -> bool {
        !self.all && self.entries.is_empty()
    }

    /// Whether `host` (a URL's host: a name, an IPv4 address, or an IPv6 address with or without brackets) is
    /// reached without the proxy.
    pub fn matches(&self, host: &str) -> bool {
        if self.all {
            return true;
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return self.entries.iter().any(|entry| match entry {
                Entry::Addresses(net) => net.contains(&ip),
                Entry::Name(_) => false,
            });
        }
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        if name.is_empty() {
            return false;
        }
        self.entries.iter().any(|entry| match entry {
            Entry::Name(pattern) => {
                name == *pattern
                    || name
                        .strip_suffix(pattern.as_str())
                        .is_some_and(|head| head.ends_with('.'))
            }
            Entry::Addresses(_) => false,
        })
    }
}

impl Entry {
    fn parse(token: &str) -> Option<Self> {
        let token = without_port(token);
        let (address, bits) = match token.split_once('/') {
            Some((address, bits)) => (address, Some(bits)),
            None => (token, None),
        };
        if let Ok(ip) = address.parse::<IpAddr>() {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            // curl: no bits (or 0) is the address alone; more bits than the address has match nothing.
            let bits = match bits.map(str::parse::<u8>) {
                None | Some(Ok(0)) => max,
                Some(Ok(bits)) if bits <= max => bits,
                Some(_) => return None,
            };
            return IpNet::new(ip, bits)
                .ok()
                .map(|net| Self::Addresses(net.trunc()));
        }
        if bits.is_some() {
            return None;
        }
        let name = token.strip_prefix('*').unwrap_or(token);
        let name = name.trim_start_matches('.').trim_end_matches('.');
        (!name.is_empty()).then(|| Self::Name(name.to_ascii_lowercase()))
    }
}

/// The entry without a port: `host:8443` and `[::1]:8080` lose theirs; a bare IPv6 address keeps its colons.
fn without_port(token: &str) -> &str {
    if let Some(rest) = token.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match token.rsplit_once(':') {
        Some((host, port))
            if !host.contains(':')
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            host
        }
        _ => token,
    }
}

#[cfg(test)]
mod tests {
    use super::NoProxy;

    fn matches(list: &str, host: &str) -> bool {
        NoProxy::parse(list).matches(host)
    }

    #[test]
    fn names_match_themselves_and_what_is_under_them() {
        for (list, host, want) in [
            ("example.org", "example.org", true),
            ("example.org", "www.example.org", true),
            ("example.org", "a.b.example.org", true),
            ("example.org", "badexample.org", false),
            ("example.org", "example.org.evil.net", false),
            ("example.org", "org", false),
            (".example.org", "example.org", true),
            (".example.org", "www.example.org", true),
            ("*.example.org", "www.example.org", true),
            ("EXAMPLE.org", "www.Example.ORG", true),
            ("example.org.", "example.org", true),
            ("example.org", "example.org.", true),
            ("www.example.org", "example.org", false),
            ("localhost", "localhost", true),
            ("localhost", "127.0.0.1", false),
        ] {
            assert_eq!(matches(list, host), want, "{list:?} vs {host:?}");
        }
    }

    #[test]
    fn lists_are_separated_by_commas_and_blanks() {
        let list = NoProxy::parse(" intranet.local,, 10.0.0.0/8 \t .corp , ");
        assert!(list.matches("a.intranet.local"));
        assert!(list.matches("10.4.2.1"));
        assert!(list.matches("dispatch.corp"));
        assert!(!list.matches("example.org"));
        assert!(NoProxy::parse("").is_empty());
        assert!(NoProxy::parse(" , ").is_empty());
        assert!(!NoProxy::parse("a").is_empty());
    }

    #[test]
    fn a_star_alone_means_every_host() {
        assert!(matches("*", "example.org"));
        assert!(matches(" * ", "10.1.1.1"));
        // As in curl, a star within a list is not a wildcard.
        assert!(!matches("example.org,*", "other.net"));
    }

    #[test]
    fn addresses_match_exactly_or_by_range_and_never_by_name() {
        for (list, host, want) in [
            ("127.0.0.1", "127.0.0.1", true),
            ("127.0.0.1", "127.0.0.2", false),
            ("127.0.0.0/8", "127.200.0.1", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("192.168.1.0/24", "192.168.1.77", true),
            ("192.168.1.0/24", "192.168.2.77", false),
            ("192.168.1.5/0", "192.168.1.5", true),
            ("192.168.1.5/0", "192.168.1.6", false),
            ("10.0.0.0/33", "10.0.0.0", false),
            ("::1", "[::1]", true),
            ("::1", "::1", true),
            ("fe80::/10", "[fe80::1234]", true),
            ("fe80::/10", "[2001:db8::1]", false),
            ("127.0.0.1", "localhost", false),
            ("example.org", "93.184.216.34", false),
        ] {
            assert_eq!(matches(list, host), want, "{list:?} vs {host:?}");
        }
    }

    #[test]
    fn a_port_in_an_entry_is_ignored() {
        assert!(matches("example.org:8443", "example.org"));
        assert!(matches("127.0.0.1:9000", "127.0.0.1"));
        assert!(matches("[::1]:8080", "[::1]"));
        assert!(matches("::1", "[::1]"), "a bare IPv6 address is not a port");
    }
}
