//! Checks of a `jwt` policy's `jwks_url`: a URL the gateway can fetch (plain `http` only to a
//! loopback host unless allowed), its durations, and its CA file.

use crate::located::Located;
use crate::model::JwksUrl;
use crate::raw_policy::RawJwksUrl;
use crate::values::Checker;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

const URL_HINT: &str =
    "a JWKS URL is https://host[:port]/path, e.g. https://login.example.com/.well-known/jwks.json";

pub(crate) fn jwks_url(c: &mut Checker, r: &RawJwksUrl, path: &str) -> JwksUrl {
    let https = check_url(c, &r.url, r.allow_insecure_http, &format!("{path}.url"));
    let refresh = c.duration_or(r.refresh.as_ref(), &format!("{path}.refresh"), 300);
    let stale_path = format!("{path}.max_stale");
    let max_stale = c.duration_or(r.max_stale.as_ref(), &stale_path, 3600);
    if max_stale < refresh {
        stale_before_refresh(c, r, refresh, &stale_path);
    }
    let ca_pem = r.ca_file.as_ref().and_then(|f| {
        let ca_path = format!("{path}.ca_file");
        if https == Some(false) {
            c.error(f, &ca_path, "`ca_file` applies to https URLs only");
        }
        ca_file(c, f, &ca_path)
    });
    JwksUrl {
        url: r.url.value.clone(),
        refresh,
        max_stale,
        timeout: c.duration_or(r.timeout.as_ref(), &format!("{path}.timeout"), 2),
        ca_pem,
    }
}

/// `max_stale` is shorter than `refresh`: the keys would lapse between two good fetches.
fn stale_before_refresh(c: &mut Checker, r: &RawJwksUrl, refresh: Duration, path: &str) {
    let refresh = humantime::format_duration(refresh);
    match &r.max_stale {
        Some(at) => {
            let msg = format!(
                "must be at least `refresh` ({refresh}): the keys would lapse between two good fetches"
            );
            c.error(at, path, &msg);
        }
        None => {
            let msg = format!(
                "the default (1h) is shorter than `refresh` ({refresh}); set max_stale to at least refresh"
            );
            c.error(&r.url, path, &msg);
        }
    }
}

/// Checks the URL; `Some(true)` for https, `Some(false)` for http, `None` when it is no URL.
fn check_url(
    c: &mut Checker,
    url: &Located<String>,
    insecure_ok: bool,
    path: &str,
) -> Option<bool> {
    let parts = match split(&url.value) {
        Ok(parts) => parts,
        Err(msg) => {
            c.error(url, path, &msg);
            return None;
        }
    };
    let https = parts.scheme.eq_ignore_ascii_case("https");
    if !https && !insecure_ok && !is_loopback(parts.host) {
        let msg = "plain http is allowed only to a loopback host (127.0.0.0/8, ::1, localhost): \
                   anyone on the path could swap the keys and sign their own tokens; use https, \
                   or set `allow_insecure_http: true`";
        c.error(url, path, msg);
    }
    Some(https)
}

/// The parts of `scheme://host[:port][/path][?query]` that are checked.
#[derive(Debug, PartialEq)]
struct Parts<'a> {
    scheme: &'a str,
    /// Without the brackets of an IPv6 literal.
    host: &'a str,
}

fn split(url: &str) -> Result<Parts<'_>, String> {
    if url
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(URL_HINT.to_owned());
    }
    let (scheme, rest) = url.split_once("://").ok_or(URL_HINT)?;
    if !["http", "https"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
    {
        return Err(format!("scheme `{scheme}` is not supported; use https"));
    }
    if rest.contains('#') {
        return Err("a JWKS URL cannot hold a fragment (`#...`)".to_owned());
    }
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("a JWKS URL cannot hold user info (`user:password@`)".to_owned());
    }
    let host = host(authority).ok_or(URL_HINT)?;
    Ok(Parts { scheme, host })
}

/// The host of `host[:port]` or `[v6][:port]`, if both are well-formed.
fn host(authority: &str) -> Option<&str> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']')?;
            host.parse::<Ipv6Addr>().ok()?;
            (host, after.strip_prefix(':'))
        }
        None => {
            let (host, port) = match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            };
            let name_ok = host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
            (name_ok.then_some(host)?, port)
        }
    };
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    (!host.is_empty() && port_ok).then_some(host)
}

/// 127.0.0.0/8, ::1 and `localhost`: traffic that never leaves the machine.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn ca_file(c: &mut Checker, file: &Located<String>, path: &str) -> Option<String> {
    let resolved = c.resolve_path(&file.value);
    match std::fs::read_to_string(&resolved) {
        Ok(text) if text.contains("-----BEGIN CERTIFICATE-----") => Some(text),
        Ok(_) => {
            let msg = format!("`{}` holds no PEM certificate", resolved.display());
            c.error(file, path, &msg);
            None
        }
        Err(e) => {
            let msg = format!("cannot read `{}`: {e}", resolved.display());
            c.error(file, path, &msg);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_loopback() {
        let host = |url| split(url).map(|p| p.host);
        assert_eq!(
            host("https://login.example.com/jwks"),
            Ok("login.example.com")
        );
        assert_eq!(host("http://127.0.0.1:8080/k?x=1"), Ok("127.0.0.1"));
        assert_eq!(host("http://[::1]:80/k"), Ok("::1"));
        assert_eq!(host("https://h?q"), Ok("h"));
        assert!(host("https:///jwks").is_err());
        assert!(host("https://h:0/").is_err());
        assert!(host("https://h:99999/").is_err());
        assert!(host("https://[zz]/").is_err());
        assert!(host("https://a b/").is_err());
        assert!(is_loopback("127.1.2.3") && is_loopback("::1") && is_loopback("LocalHost"));
        assert!(!is_loopback("10.0.0.1") && !is_loopback("localhost.example.com"));
    }
}
