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

/// An address as a row writes it (`ClientIP`, trimmed), if it is one.
pub(crate) fn address(text: &str) -> Option<IpAddr> {
    text.trim().parse().ok()
}

/// Text meant as an address: digits and dots with a dot, or anything with
/// a colon (a session id is a GUID: hex digits and dashes).
pub(crate) fn looks_like_ip(text: &str) -> bool {
    let v4 = text.contains('.') && text.chars().all(|c| c.is_ascii_digit() || c == '.');
    v4 || text.contains(':')
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
}
