//! Which addresses a live call may not reach, as explicit tables taken from IANA's
//! special-purpose address registries (IPv4 and IPv6) and the cloud providers' metadata
//! documentation.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Cloud metadata services: AWS (IMDS, ECS task and EKS pod credentials, IPv4 and IPv6), GCP and
/// Azure IMDS, Azure's WireServer, Oracle, Alibaba and Tencent. Most lie in ranges refused anyway;
/// they are named so a refusal says what they are, and the WireServer is a public address.
const METADATA: [IpAddr; 9] = [
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
    IpAddr::V4(Ipv4Addr::new(169, 254, 170, 2)),
    IpAddr::V4(Ipv4Addr::new(169, 254, 170, 23)),
    IpAddr::V4(Ipv4Addr::new(169, 254, 0, 23)),
    IpAddr::V4(Ipv4Addr::new(168, 63, 129, 16)),
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
    IpAddr::V4(Ipv4Addr::new(192, 0, 0, 192)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23)),
];

/// Refused IPv4 ranges: network, prefix length, what the range is. The first match names it.
const V4: [(Ipv4Addr, u8, &str); 15] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8, "an unspecified (this-network) address"),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "a private address"),
    (Ipv4Addr::new(100, 64, 0, 0), 10, "a shared (CGNAT) address"),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "a loopback address"),
    (Ipv4Addr::new(169, 254, 0, 0), 16, "a link-local address"),
    (Ipv4Addr::new(172, 16, 0, 0), 12, "a private address"),
    (Ipv4Addr::new(192, 0, 0, 0), 24, "a reserved (IETF protocol) address"),
    (Ipv4Addr::new(192, 0, 2, 0), 24, "a documentation address"),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "a private address"),
    (Ipv4Addr::new(198, 18, 0, 0), 15, "a benchmarking address"),
    (Ipv4Addr::new(198, 51, 100, 0), 24, "a documentation address"),
    (Ipv4Addr::new(203, 0, 113, 0), 24, "a documentation address"),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "a multicast address"),
    (Ipv4Addr::new(255, 255, 255, 255), 32, "a broadcast address"),
    (Ipv4Addr::new(240, 0, 0, 0), 4, "a reserved address"),
];

/// Refused IPv6 ranges, as [`V4`]. Forms that carry an IPv4 address are judged by that address
/// first ([`embedded_v4`]).
const V6: [(Ipv6Addr, u8, &str); 9] = [
    (Ipv6Addr::UNSPECIFIED, 128, "an unspecified address"),
    (Ipv6Addr::LOCALHOST, 128, "a loopback address"),
    (Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48, "a local-use NAT64 address"),
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64, "a discard-only address"),
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32, "a documentation address"),
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7, "a unique-local address"),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10, "a link-local address"),
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10, "a site-local address"),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8, "a multicast address"),
];

/// Whether a live call may not reach `ip`: loopback, private, link-local, unique-local, shared
/// (CGNAT), multicast, broadcast, unspecified, reserved, documentation and cloud metadata
/// addresses, also when written as an IPv4-mapped, IPv4-compatible, NAT64 or 6to4 IPv6 address.
pub fn is_forbidden(ip: IpAddr) -> bool {
    class(ip).is_some()
}

/// What kind of refused address `ip` is ("a private address"), or `None` when it may be reached.
pub(crate) fn class(ip: IpAddr) -> Option<&'static str> {
    if METADATA.contains(&ip) {
        return Some("a cloud metadata address");
    }
    match ip {
        IpAddr::V4(v4) => {
            V4.iter().find(|(net, len, _)| same_prefix(v4.to_bits(), net.to_bits(), 32 - len)).map(|(_, _, c)| *c)
        }
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => class(IpAddr::V4(v4)),
            None => {
                V6.iter().find(|(net, len, _)| same_prefix(v6.to_bits(), net.to_bits(), 128 - len)).map(|(_, _, c)| *c)
            }
        },
    }
}

/// Whether `a` and `b` agree on all but their last `host_bits` bits.
fn same_prefix<T: Into<u128>>(a: T, b: T, host_bits: u8) -> bool {
    a.into() >> host_bits == b.into() >> host_bits
}

/// The IPv4 address an IPv6 one stands for: IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
/// `::a.b.c.d` (deprecated, still routed by some stacks; `::` and `::1` are their own classes),
/// NAT64 `64:ff9b::a.b.c.d` and 6to4 `2002:aabb:ccdd::`. A connection to one of these reaches
/// (or is relayed to) that IPv4 address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = ip.to_bits();
    let low = Ipv4Addr::from_bits(bits as u32);
    match bits >> 32 {
        0 if bits > 1 => Some(low),
        0xffff | 0x0064_ff9b_0000_0000_0000_0000 => Some(low),
        _ if bits >> 112 == 0x2002 => Some(Ipv4Addr::from_bits((bits >> 80) as u32)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("a test address")
    }

    #[test]
    fn names_each_refused_class() {
        for (addr, expected) in [
            ("127.0.0.1", "a loopback address"),
            ("127.255.255.254", "a loopback address"),
            ("10.0.0.5", "a private address"),
            ("172.31.255.255", "a private address"),
            ("192.168.1.1", "a private address"),
            ("169.254.1.1", "a link-local address"),
            ("100.64.0.1", "a shared (CGNAT) address"),
            ("224.0.0.251", "a multicast address"),
            ("255.255.255.255", "a broadcast address"),
            ("0.0.0.0", "an unspecified (this-network) address"),
            ("0.1.2.3", "an unspecified (this-network) address"),
            ("240.0.0.1", "a reserved address"),
            ("169.254.169.254", "a cloud metadata address"),
            ("100.100.100.200", "a cloud metadata address"),
            ("168.63.129.16", "a cloud metadata address"),
            ("fd00:ec2::254", "a cloud metadata address"),
            ("::", "an unspecified address"),
            ("::1", "a loopback address"),
            ("fe80::1", "a link-local address"),
            ("fd12:3456::1", "a unique-local address"),
            ("ff02::1", "a multicast address"),
            ("::ffff:127.0.0.1", "a loopback address"),
            ("::ffff:169.254.169.254", "a cloud metadata address"),
            ("::10.0.0.5", "a private address"),
            ("64:ff9b::7f00:1", "a loopback address"),
            ("2002:a00:5::1", "a private address"),
        ] {
            assert_eq!(class(ip(addr)), Some(expected), "{addr}");
        }
    }

    #[test]
    fn public_addresses_may_be_reached() {
        for addr in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(!is_forbidden(ip(addr)), "{addr}");
        }
    }

    /// Refused IPv4 ranges, for the properties below.
    const REFUSED_V4: [([u8; 4], u8); 10] = [
        ([0, 0, 0, 0], 8),
        ([10, 0, 0, 0], 8),
        ([100, 64, 0, 0], 10),
        ([127, 0, 0, 0], 8),
        ([169, 254, 0, 0], 16),
        ([172, 16, 0, 0], 12),
        ([192, 168, 0, 0], 16),
        ([224, 0, 0, 0], 4),
        ([240, 0, 0, 0], 4),
        ([198, 18, 0, 0], 15),
    ];

    fn in_range(net: [u8; 4], len: u8, host: u32) -> Ipv4Addr {
        let mask = u32::MAX >> len;
        Ipv4Addr::from_bits((u32::from_be_bytes(net) & !mask) | (host & mask))
    }

    proptest! {
        #[test]
        fn every_address_of_a_refused_v4_range_is_forbidden(range in 0..REFUSED_V4.len(), host: u32) {
            let (net, len) = REFUSED_V4[range];
            prop_assert!(is_forbidden(IpAddr::V4(in_range(net, len, host))));
        }

        #[test]
        fn every_address_of_a_refused_v6_range_is_forbidden(range in 0usize..4, host: u128) {
            let (net, len) = [(0xfc00u128 << 112, 7u8), (0xfe80 << 112, 10), (0xff00 << 112, 8), (1, 128)][range];
            let mask = if len == 128 { 0 } else { u128::MAX >> len };
            prop_assert!(is_forbidden(IpAddr::V6(Ipv6Addr::from_bits((net & !mask) | (host & mask)))));
        }

        #[test]
        fn ipv6_forms_of_an_ipv4_address_are_judged_as_it(v4: u32) {
            let v4 = Ipv4Addr::from_bits(v4);
            let expected = is_forbidden(IpAddr::V4(v4));
            let nat64 = Ipv6Addr::from_bits((0x64_ff9b_u128 << 96) | u128::from(v4.to_bits()));
            let six_to_four = Ipv6Addr::from_bits((0x2002_u128 << 112) | (u128::from(v4.to_bits()) << 80));
            for form in [v4.to_ipv6_mapped(), v4.to_ipv6_compatible(), nat64, six_to_four] {
                prop_assert_eq!(is_forbidden(IpAddr::V6(form)), expected, "{}", form);
            }
        }

        #[test]
        fn ordinary_public_addresses_may_be_reached(v4 in 0x0b00_0000u32..0x6400_0000, v6 in 0x2400u128..0x3000, host: u128) {
            // 11.0.0.0–99.255.255.255 and 2400::/6…2fff::/16 hold no special-purpose range.
            prop_assert!(!is_forbidden(IpAddr::V4(Ipv4Addr::from_bits(v4))));
            prop_assert!(!is_forbidden(IpAddr::V6(Ipv6Addr::from_bits((v6 << 112) | (host >> 16)))));
        }
    }
}
