//! The embedded schema registry's section (`registry:` at the top level) and the check that a
//! GraphQL route following "the embedded registry" has one to follow.

use crate::located::Located;
use crate::model::{EmbeddedRegistry, RegistryStore, Secret};
use crate::raw::{RawEmbeddedRegistry, RawRoute};
use crate::values::Checker;
use std::net::SocketAddr;

const DEFAULT_STORE: &str = "sqlite:switchyard-registry.db";

/// The registry's listener (loopback unless a token protects writes) and its store.
pub(crate) fn registry(c: &mut Checker, raw: &RawEmbeddedRegistry) -> Option<EmbeddedRegistry> {
    let address = match &raw.address {
        Some(a) => c.socket_addr(a, "registry.address")?,
        None => SocketAddr::from(([127, 0, 0, 1], 4100)),
    };
    if let Some(token) = &raw.token
        && token.value.len() < 16
    {
        c.error(
            token,
            "registry.token",
            "a token needs at least 16 characters",
        );
        return None;
    }
    if let (None, Some(at)) = (&raw.token, &raw.address)
        && !address.ip().is_loopback()
    {
        let msg = format!(
            "the registry on {address} is off loopback: give it a `token` so that writes are \
             not open to the network (or bind it to 127.0.0.1)"
        );
        c.error(at, "registry.address", &msg);
        return None;
    }
    let store = store(c, raw)?;
    let introspect_hosts = introspect_hosts(c, raw.introspect_hosts.as_deref())?;
    Some(EmbeddedRegistry {
        address,
        store,
        token: raw.token.as_ref().map(|t| Secret(t.value.clone())),
        introspect_hosts,
    })
}

/// Host names, IP addresses, or `*.` and a domain; lower-cased.
fn introspect_hosts(
    c: &mut Checker,
    raw: Option<&[Located<String>]>,
) -> Option<Option<Vec<String>>> {
    let Some(raw) = raw else {
        return Some(None);
    };
    let before = c.errors.len();
    let hosts = raw
        .iter()
        .enumerate()
        .map(|(i, h)| {
            introspect_host(&h.value).unwrap_or_else(|msg| {
                c.error(h, &format!("registry.introspect_hosts[{i}]"), &msg);
                String::new()
            })
        })
        .collect();
    (c.errors.len() == before).then_some(Some(hosts))
}

/// One entry of an introspection allow-list, lower-cased: a host name, an IP address (IPv6
/// with or without brackets), or `*.` and a domain (its subdomains). A port, a scheme or a
/// path is an error: the list names hosts, and `host:port` would never match one.
pub fn introspect_host(pattern: &str) -> Result<String, String> {
    let lower = pattern.to_ascii_lowercase();
    let bare = lower.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<std::net::Ipv6Addr>().is_ok() {
        return Ok(bare.to_owned());
    }
    let name = lower.strip_prefix("*.").unwrap_or(&lower);
    let labels_ok = name.split('.').all(|label| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    if labels_ok {
        return Ok(lower);
    }
    let port = name
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let hint = if port { " (without a port)" } else { "" };
    Err(format!(
        "`{pattern}` is not a host name, an IP address or `*.` and a domain{hint}"
    ))
}

fn store(c: &mut Checker, raw: &RawEmbeddedRegistry) -> Option<RegistryStore> {
    let spec = raw
        .store
        .as_ref()
        .map_or(DEFAULT_STORE, |s| s.value.as_str());
    if let Some(path) = spec.strip_prefix("sqlite:")
        && !path.is_empty()
    {
        return Some(RegistryStore::Sqlite(c.resolve_path(path)));
    }
    if spec.starts_with("postgresql://") || spec.starts_with("postgres://") {
        return Some(RegistryStore::Postgres(Secret(spec.to_owned())));
    }
    if let Some(at) = &raw.store {
        // The value may be a database URL with a password: name its form, not its text.
        let msg =
            "use sqlite:PATH (a file, created on first start) or postgresql://user@host:port/db";
        c.error(at, "registry.store", msg);
    }
    None
}

/// Without an embedded registry, every GraphQL route's `registry` needs a `url`.
pub(crate) fn check_sources(c: &mut Checker, routes: &[RawRoute]) {
    for (i, route) in routes.iter().enumerate() {
        let Some(source) = route.graphql.as_ref().and_then(|g| g.registry.as_ref()) else {
            continue;
        };
        if source.url.is_none() {
            let msg = "no `url`, and this config embeds no registry: give the registry's url, \
                       or add a top-level `registry` section to serve one from this gateway";
            c.error(
                &source.graph,
                &format!("routes[{i}].graphql.registry.url"),
                msg,
            );
        }
    }
}

/// Two routes may share a supergraph cache file only if they follow the same registry variant:
/// each would otherwise overwrite the other's copy and refuse it at the next start.
pub(crate) fn check_cache_files(c: &mut Checker, routes: &[RawRoute]) {
    let mut owners: Vec<(std::path::PathBuf, String)> = Vec::new();
    for (i, route) in routes.iter().enumerate() {
        let Some(source) = route.graphql.as_ref().and_then(|g| g.registry.as_ref()) else {
            continue;
        };
        let Some(cache) = &source.cache else { continue };
        let file = c.resolve_path(&cache.value);
        let url = source.url.as_ref().map_or("", |u| u.value.as_str());
        let variant = format!("{}@{} at {url}", source.graph.value, source.variant.value);
        match owners.iter().find(|(f, _)| *f == file) {
            Some((_, other)) if *other != variant => {
                let msg = format!(
                    "`{}` is already the cache of {other}: give each registry variant its own file",
                    cache.value
                );
                c.error(cache, &format!("routes[{i}].graphql.registry.cache"), &msg);
            }
            Some(_) => {}
            None => owners.push((file, variant)),
        }
    }
}
