//! IP addresses and blocks as the analyst writes them (`--actor`, `--ioc`):
//! parsed once, compared as numbers. A shared leaf.

use std::net::IpAddr;

/// An address block, `203.0.113.0/24` or `2001:db8::/48`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub base: IpAddr,
    pub bits: u8,
}

impl Block {
    /// `BASE/BITS`; the error says what is wrong, without the flag's name.
    pub fn parse(text: &str) -> Result<Block, String> {
        let (base, bits) = text
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("'{text}' is not a CIDR block"))?;
        let base: IpAddr = base
            .trim()
            .parse()
            .map_err(|_| format!("'{base}' is not an IP address"))?;
        let max = if base.is_ipv4() { 32 } else { 128 };
        let bits: u8 = bits
            .trim()
            .parse()
            .ok()
            .filter(|&b| b <= max)
            .ok_or_else(|| format!("the prefix must be 0 to {max}"))?;
        Ok(Block { base, bits })
    }

    /// Whether `ip` lies in the block (an address of the other family
    /// never does).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (ip, base, width) = match (ip, self.base) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                (u128::from(u32::from(a)), u128::from(u32::from(b)), 32)
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
            _ => return false,
        };
        let shift = width - u32::from(self.bits);
        shift >= width || (ip >> shift) == (base >> shift)
    }
}

impl std::fmt::Display for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.base, self.bits)
    }
}

/// An address as a row or an analyst writes it, if it is one: trimmed,
/// with brackets and a port taken off (`[2001:db8::1]:443`,
/// `203.0.113.7:50432`), and an IPv4-mapped IPv6 address as IPv4.
pub(crate) fn address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let bare = match text.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => match text.rsplit_once(':') {
            // One colon: IPv4 with a port (IPv6 has at least two).
            Some((host, port))
                if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) =>
            {
                host
            }
            _ => text,
        },
    };
    let ip: IpAddr = bare.parse().ok()?;
    Some(ip.to_canonical())
}

/// Text meant as an address where the alternative is a session id
/// (`--actor`): digits and dots with a dot, or anything with a colon (a
/// session id is a GUID: hex digits and dashes, never a colon).
pub(crate) fn looks_like_ip(text: &str) -> bool {
    let v4 = text.contains('.') && text.chars().all(|c| c.is_ascii_digit() || c == '.');
    v4 || text.contains(':')
}

/// Text meant as an address where the alternative is a phrase (`--ioc`):
/// digits and dots, or hex digits, colons and dots with two colons (a typo
/// in an address, not a phrase with a colon like `Re: invoice`).
pub(crate) fn looks_like_address(value: &str) -> bool {
    let v4 = value.contains('.') && value.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let v6 = value.matches(':').count() >= 2
        && value
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    v4 || v6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_contain_their_family_only() {
        let b = Block::parse("203.0.113.0/24").unwrap();
        assert!(b.contains("203.0.113.200".parse().unwrap()));
        assert!(!b.contains("203.0.114.1".parse().unwrap()));
        assert!(!b.contains("2001:db8::1".parse().unwrap()));
        let v6 = Block::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(
            Block::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(Block::parse("10.0.0.0/33").is_err());
        assert!(Block::parse("10.0.0/8").is_err());
    }

    #[test]
    fn addresses_lose_ports_brackets_and_mapping() {
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        for text in [
            " 203.0.113.7 ",
            "203.0.113.7:50432",
            "[::ffff:203.0.113.7]:443",
            "::ffff:203.0.113.7",
        ] {
            assert_eq!(address(text), Some(v4), "{text}");
        }
        assert_eq!(address("[2001:db8::1]:443"), "2001:db8::1".parse().ok());
        assert_eq!(address("2001:db8::1"), "2001:db8::1".parse().ok());
        assert_eq!(address("not an ip"), None);
    }
}
