//! The affinity key of a request for `ring_hash` and `maglev`: a header, a cookie, or the
//! client's IP, hashed. Other algorithms get no key (and no hashing cost).

use http::HeaderMap;
use std::net::SocketAddr;
use switchyard_config::{BalancerKind, Balancing, HashOn};

pub fn hash(balancing: &Balancing, headers: &HeaderMap, client: SocketAddr) -> Option<u64> {
    if !matches!(
        balancing.kind,
        BalancerKind::RingHash | BalancerKind::Maglev
    ) {
        return None;
    }
    match &balancing.hash_on {
        HashOn::Header(name) => headers.get(name.as_str()).map(|v| fnv(v.as_bytes())),
        HashOn::Cookie(name) => cookie(headers, name).map(|v| fnv(v.as_bytes())),
        HashOn::ClientIp => Some(fnv(client.ip().to_string().as_bytes())),
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// FNV-1a with a final mix: stable across processes, so every gateway maps a key alike.
fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_named_cookie() {
        let mut h = HeaderMap::new();
        h.append("cookie", "a=1; session=xyz".parse().unwrap());
        assert_eq!(cookie(&h, "session"), Some("xyz"));
        assert_eq!(cookie(&h, "missing"), None);
    }
}
