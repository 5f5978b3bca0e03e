//! Header work on the way through: hop-by-hop removal, forwarding headers, request ids, and the
//! configured edits (compiled once per config into typed names and values).

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use std::net::SocketAddr;
use switchyard_config::HeaderEdits as EditsConfig;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
static FORWARDED: HeaderName = HeaderName::from_static("forwarded");
static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// Removes the headers that describe one connection, not the message (RFC 9110 7.6.1),
/// including any that `Connection` itself names.
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        &header::CONNECTION,
        &KEEP_ALIVE,
        &PROXY_CONNECTION,
        &header::TE,
        &header::TRAILER,
        &header::TRANSFER_ENCODING,
        &header::UPGRADE,
    ] {
        headers.remove(name);
    }
}

/// Appends the client to `X-Forwarded-For` and `Forwarded`; sets `X-Forwarded-Proto/-Host`.
pub fn add_forwarding(
    headers: &mut HeaderMap,
    client: SocketAddr,
    client_ip: &HeaderValue,
    host: &str,
    proto: &'static str,
) {
    let xff = match headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(prior) => HeaderValue::from_str(&format!("{prior}, {}", client.ip())).ok(),
        None => Some(client_ip.clone()),
    };
    if let Some(v) = xff {
        headers.insert(X_FORWARDED_FOR.clone(), v);
    }
    headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static(proto));
    if let Ok(v) = HeaderValue::from_str(host) {
        headers.insert(X_FORWARDED_HOST.clone(), v);
    }
    let node = match client {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => format!("\"[{}]\"", a.ip()),
    };
    let element = format!("for={node};host=\"{host}\";proto={proto}");
    if let Ok(v) = HeaderValue::from_str(&element) {
        headers.append(FORWARDED.clone(), v);
    }
}

/// Keeps a sane client-supplied request id, or makes a new random one.
pub fn request_id(headers: &HeaderMap) -> HeaderValue {
    let given = headers.get(&X_REQUEST_ID).filter(|v| {
        let b = v.as_bytes();
        !b.is_empty() && b.len() <= 128 && b.iter().all(|c| c.is_ascii_graphic())
    });
    match given {
        Some(v) => v.clone(),
        None => {
            let mut id = [0u8; 32];
            let (hi, lo) = (fastrand::u64(..), fastrand::u64(..));
            for (i, byte) in id.iter_mut().enumerate() {
                let word = if i < 16 { hi } else { lo };
                let nibble = (word >> ((15 - i % 16) * 4)) & 0xf;
                *byte = b"0123456789abcdef"[nibble as usize];
            }
            HeaderValue::from_bytes(&id).unwrap_or_else(|_| HeaderValue::from_static("0"))
        }
    }
}

/// Header edits with names and values parsed once.
#[derive(Debug, Clone, Default)]
pub struct HeaderEdits {
    remove: Vec<HeaderName>,
    set: Vec<(HeaderName, HeaderValue)>,
    add: Vec<(HeaderName, HeaderValue)>,
}

impl HeaderEdits {
    /// Config validation has already checked names and values; any that fail here are skipped.
    pub fn compile(config: &EditsConfig) -> Self {
        let pair = |(n, v): &(String, String)| {
            Some((
                HeaderName::from_bytes(n.as_bytes()).ok()?,
                HeaderValue::from_str(v).ok()?,
            ))
        };
        Self {
            remove: config
                .remove
                .iter()
                .filter_map(|n| HeaderName::from_bytes(n.as_bytes()).ok())
                .collect(),
            set: config.set.iter().filter_map(pair).collect(),
            add: config.add.iter().filter_map(pair).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.set.is_empty() && self.add.is_empty()
    }

    /// Applies remove, then set, then add.
    pub fn apply(&self, headers: &mut HeaderMap) {
        for name in &self.remove {
            headers.remove(name);
        }
        for (name, value) in &self.set {
            headers.insert(name.clone(), value.clone());
        }
        for (name, value) in &self.add {
            headers.append(name.clone(), value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_connection_named_headers_go() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        remove_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-kept"));
    }

    #[test]
    fn forwarding_appends() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        let client: SocketAddr = "[::1]:5000".parse().unwrap();
        add_forwarding(
            &mut h,
            client,
            &HeaderValue::from_static("::1"),
            "a.example",
            "http",
        );
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, ::1");
        assert_eq!(
            h["forwarded"],
            "for=\"[::1]\";host=\"a.example\";proto=http"
        );
    }
}
