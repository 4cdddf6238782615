//! Where a key may be used from: its IP allowlist (IPv4 and IPv6 networks; empty: anywhere).

use super::FieldError;
use ipnet::IpNet;
use std::net::IpAddr;

/// The most networks one key's allowlist may hold.
pub const MAX_ALLOWED_NETWORKS: usize = 100;

/// An allowlist as given: addresses or CIDRs, each made a network (`10.1.2.3` is `10.1.2.3/32`,
/// `10.1.2.3/8` is `10.0.0.0/8`), duplicates dropped. Every bad entry is named, by its place and text.
pub fn ip_allowlist<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<Vec<IpNet>, FieldError> {
    let entries: Vec<&str> = entries.into_iter().map(str::trim).filter(|e| !e.is_empty()).collect();
    if entries.len() > MAX_ALLOWED_NETWORKS {
        return Err(FieldError::new("ip_allowlist", format!("must have at most {MAX_ALLOWED_NETWORKS} entries")));
    }
    let mut networks = Vec::with_capacity(entries.len());
    let mut bad = Vec::new();
    for (place, entry) in entries.iter().enumerate() {
        match entry.parse::<IpNet>().or_else(|_| entry.parse::<IpAddr>().map(IpNet::from)) {
            Ok(network) => {
                let network = network.trunc();
                if !networks.contains(&network) {
                    networks.push(network);
                }
            }
            // Quoted with escapes: an entry may hold anything, and the reason is shown as text.
            Err(_) => bad.push(format!("entry {} ({:?})", place + 1, entry.chars().take(64).collect::<String>())),
        }
    }
    match bad.as_slice() {
        [] => Ok(networks),
        [one] => {
            Err(FieldError::new("ip_allowlist", format!("has {one}, which is not an IPv4 or IPv6 address or CIDR")))
        }
        many => Err(FieldError::new(
            "ip_allowlist",
            format!("has {}, which are not IPv4 or IPv6 addresses or CIDRs", many.join(", ")),
        )),
    }
}

/// The caller's address a verification names (`ip`), if any.
pub fn caller_ip(raw: Option<&str>) -> Result<Option<IpAddr>, FieldError> {
    match raw.map(str::trim).filter(|ip| !ip.is_empty()) {
        None => Ok(None),
        Some(ip) => ip
            .parse::<IpAddr>()
            .map(|ip| Some(ip.to_canonical()))
            .map_err(|_| FieldError::new("ip", "must be an IPv4 or IPv6 address, like 203.0.113.7")),
    }
}

/// Whether an allowlist lets `ip` in: none lets anything in; one only an address within it (an
/// IPv4 address written as IPv6, `::ffff:a.b.c.d`, counts as IPv4).
pub fn allows(allowlist: Option<&[IpNet]>, ip: Option<IpAddr>) -> bool {
    allowlist.is_none_or(|list| ip.is_some_and(|ip| list.iter().any(|network| network.contains(&ip.to_canonical()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(entries: &[&str]) -> Result<Vec<String>, String> {
        ip_allowlist(entries.iter().copied()).map(|n| n.iter().map(ToString::to_string).collect()).map_err(|e| e.reason)
    }

    #[test]
    fn entries_become_networks_and_bad_ones_are_named() {
        assert_eq!(
            parsed(&["10.1.2.3", " 10.9.9.9/8 ", "2001:db8::1/32", "10.0.0.0/8", ""]),
            Ok(vec!["10.1.2.3/32".into(), "10.0.0.0/8".into(), "2001:db8::/32".into()])
        );
        assert_eq!(
            parsed(&["10.0.0.0/8", "10.0.0.300"]),
            Err("has entry 2 (\"10.0.0.300\"), which is not an IPv4 or IPv6 address or CIDR".into())
        );
        assert_eq!(
            parsed(&["x", "1.2.3.4/33"]),
            Err("has entry 1 (\"x\"), entry 2 (\"1.2.3.4/33\"), which are not IPv4 or IPv6 addresses or CIDRs".into())
        );
        let many: Vec<String> = (0..101).map(|i| format!("10.0.{i}.0/24")).collect();
        assert!(ip_allowlist(many.iter().map(String::as_str)).is_err());
        assert!(ip_allowlist(many[..100].iter().map(String::as_str)).is_ok());
    }

    #[test]
    fn an_allowlist_lets_in_only_addresses_within_it() {
        let list = ip_allowlist(["10.0.0.0/8", "2001:db8::/32"]).expect("valid");
        let ip = |s: &str| caller_ip(Some(s)).expect("an address");
        let list = Some(list.as_slice());
        assert!(allows(list, ip("10.200.0.1")));
        assert!(allows(list, ip("::ffff:10.0.0.1")));
        assert!(allows(list, ip("2001:db8:1::5")));
        assert!(!allows(list, ip("11.0.0.1")));
        assert!(!allows(list, None), "no address named: not let in");
        assert!(allows(None, None), "no allowlist: anywhere");
        assert!(!allows(Some(&[]), ip("10.0.0.1")), "an empty list: nowhere");
        assert_eq!(caller_ip(Some("localhost")).unwrap_err().field, "ip");
    }
}
