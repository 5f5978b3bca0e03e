//! DNS discovery: A/AAAA records of a name on the configured port, or SRV records resolved to
//! addresses, re-resolved when the answer's TTL runs out and at least every `max_interval`.

use crate::Publisher;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::proto::rr::rdata::SRV;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use switchyard_balance::EndpointSpec;

/// Shortest time between two lookups, whatever the TTL (a TTL of 0 must not spin).
const MIN_REFRESH: Duration = Duration::from_secs(1);

/// What to resolve, from the cluster's `discovery.dns`.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) name: String,
    /// Port of A/AAAA endpoints (SRV records carry their own).
    pub(crate) port: u16,
    pub(crate) srv: bool,
    pub(crate) max_interval: Duration,
    /// `ip:port` of the server to ask; `None` reads the system's configuration.
    pub(crate) server: Option<String>,
}

/// One lookup's endpoints (sorted, without duplicates) and how long they are valid.
#[derive(Debug, PartialEq)]
struct Answer {
    endpoints: Vec<EndpointSpec>,
    valid_for: Duration,
}

/// Resolves `target` until the cluster is dropped. Success waits for the TTL (clamped to
/// [1 s, max_interval]); a failure or an empty answer retries after 1 s, doubling up to
/// `max_interval`.
pub(crate) async fn run(target: Target, mut publisher: Publisher) {
    let source = format!("dns {}", target.name);
    let max = target.max_interval.max(MIN_REFRESH);
    let mut resolver = None;
    let mut retry = MIN_REFRESH;
    loop {
        let wait = match lookup(&mut resolver, &target).await {
            Ok(answer) if !answer.endpoints.is_empty() => {
                publisher.offer(&source, answer.endpoints);
                retry = MIN_REFRESH;
                answer.valid_for.clamp(MIN_REFRESH, max)
            }
            Ok(_) => {
                publisher.offer(&source, Vec::new());
                backoff(&mut retry, max)
            }
            Err(e) => {
                tracing::warn!(
                    cluster = %publisher.cluster(),
                    name = %target.name,
                    "DNS lookup failed, keeping the last good list: {e}"
                );
                backoff(&mut retry, max)
            }
        };
        tokio::time::sleep(wait).await;
        if publisher.is_closed() {
            return;
        }
    }
}

/// The current retry delay; doubles the next one, up to `max`.
fn backoff(retry: &mut Duration, max: Duration) -> Duration {
    let wait = (*retry).min(max);
    *retry = (*retry * 2).min(max);
    wait
}

/// One round: builds the resolver if needed (a missing /etc/resolv.conf may appear later),
/// clears its cache (so `max_interval` really asks the server), then looks up.
async fn lookup(resolver: &mut Option<TokioResolver>, target: &Target) -> Result<Answer, String> {
    if resolver.is_none() {
        *resolver = Some(build(target.server.as_deref())?);
    }
    let resolver = resolver.as_ref().expect("built above");
    resolver.clear_cache();
    if target.srv {
        srv_endpoints(resolver, &target.name).await
    } else {
        ip_endpoints(resolver, &target.name, target.port).await
    }
}

/// A resolver asking `server` (UDP, TCP when an answer is truncated), or the system's.
fn build(server: Option<&str>) -> Result<TokioResolver, String> {
    let mut builder = match server {
        Some(server) => {
            let addr: SocketAddr = server
                .parse()
                .map_err(|_| format!("DNS server `{server}` is not an ip:port"))?;
            let mut name_server = NameServerConfig::udp_and_tcp(addr.ip());
            for connection in &mut name_server.connections {
                connection.port = addr.port();
            }
            let config = ResolverConfig::from_name_servers(vec![name_server]);
            let mut builder =
                TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
            // Asked of this server, not of /etc/hosts.
            builder.options_mut().use_hosts_file = ResolveHosts::Never;
            builder
        }
        None => TokioResolver::builder_tokio()
            .map_err(|e| format!("cannot read the system's resolver configuration: {e}"))?,
    };
    builder.options_mut().ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    builder.build().map_err(|e| e.to_string())
}

/// A and AAAA records of `name`, each as `ip:port`.
async fn ip_endpoints(resolver: &TokioResolver, name: &str, port: u16) -> Result<Answer, String> {
    let (ips, valid_until) = match resolve_ips(resolver, name).await? {
        Some(found) => found,
        None => return Ok(Answer::empty()),
    };
    let endpoints = ips
        .into_iter()
        .map(|ip| (SocketAddr::new(ip, port), 1))
        .collect();
    Ok(Answer::new(endpoints, valid_until))
}

/// The addresses of `name` and until when they are valid; `None` when it has none.
async fn resolve_ips(
    resolver: &TokioResolver,
    name: &str,
) -> Result<Option<(Vec<std::net::IpAddr>, Instant)>, String> {
    match resolver.lookup_ip(name).await {
        Ok(lookup) => Ok(Some((lookup.iter().collect(), lookup.valid_until()))),
        Err(e) if no_records(&e) => Ok(None),
        Err(e) => Err(format!("{name}: {e}")),
    }
}

fn no_records(e: &NetError) -> bool {
    e.is_no_records_found() || e.is_nx_domain()
}

/// SRV records of `name`, each target resolved to addresses on the record's port, with the
/// record's weight (at least 1). Only the best (lowest) priority that yields any address is
/// used: higher priorities are backups (RFC 2782), and the balancer has no notion of backup.
/// A target without addresses is skipped; a target whose lookup fails fails the round.
async fn srv_endpoints(resolver: &TokioResolver, name: &str) -> Result<Answer, String> {
    let lookup = match resolver.srv_lookup(name).await {
        Ok(lookup) => lookup,
        Err(e) if no_records(&e) => return Ok(Answer::empty()),
        Err(e) => return Err(format!("{name}: {e}")),
    };
    let mut valid_until = lookup.valid_until();
    let mut records: Vec<&SRV> = lookup
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::SRV(srv) => Some(srv),
            _ => None,
        })
        .collect();
    records.sort_by_key(|srv| srv.priority);
    for group in records.chunk_by(|a, b| a.priority == b.priority) {
        let mut endpoints = Vec::new();
        for srv in group {
            // A target of "." means "no service here".
            if srv.target.is_root() {
                continue;
            }
            let target = srv.target.to_ascii();
            let Some((ips, until)) = resolve_ips(resolver, &target).await? else {
                continue;
            };
            valid_until = valid_until.min(until);
            let weight = u32::from(srv.weight.max(1));
            endpoints.extend(
                ips.into_iter()
                    .map(|ip| (SocketAddr::new(ip, srv.port), weight)),
            );
        }
        if !endpoints.is_empty() {
            return Ok(Answer::new(endpoints, valid_until));
        }
    }
    Ok(Answer {
        endpoints: Vec::new(),
        valid_for: valid_until.saturating_duration_since(Instant::now()),
    })
}

impl Answer {
    fn empty() -> Self {
        Self {
            endpoints: Vec::new(),
            valid_for: Duration::ZERO,
        }
    }

    /// Sorts by address (IPv4 first, then by IP and port) and merges duplicates, adding up
    /// their weights (two SRV records naming one address give it both shares).
    fn new(mut endpoints: Vec<(SocketAddr, u32)>, valid_until: Instant) -> Self {
        endpoints.sort_by_key(|(addr, _)| *addr);
        let mut merged: Vec<(SocketAddr, u32)> = Vec::with_capacity(endpoints.len());
        for (addr, weight) in endpoints {
            match merged.last_mut() {
                Some((last, w)) if *last == addr => *w = w.saturating_add(weight),
                _ => merged.push((addr, weight)),
            }
        }
        let endpoints = merged
            .into_iter()
            .map(|(addr, weight)| EndpointSpec {
                address: addr.to_string(),
                weight,
                zone: None,
            })
            .collect();
        Self {
            endpoints,
            valid_for: valid_until.saturating_duration_since(Instant::now()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_sorted_merged_and_bracket_ipv6() {
        let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
        let until = Instant::now() + Duration::from_secs(5);
        let answer = Answer::new(
            vec![
                (addr("[::1]:80"), 1),
                (addr("10.0.0.10:80"), 2),
                (addr("10.0.0.9:80"), 1),
                (addr("10.0.0.10:80"), 3),
            ],
            until,
        );
        let got: Vec<(&str, u32)> = answer
            .endpoints
            .iter()
            .map(|e| (e.address.as_str(), e.weight))
            .collect();
        assert_eq!(
            got,
            [("10.0.0.9:80", 1), ("10.0.0.10:80", 5), ("[::1]:80", 1)]
        );
        assert!(answer.valid_for <= Duration::from_secs(5));
        assert!(answer.valid_for > Duration::from_secs(4));
    }

    #[test]
    fn backoff_doubles_up_to_the_max() {
        let max = Duration::from_secs(5);
        let mut retry = MIN_REFRESH;
        let waits: Vec<u64> = (0..5).map(|_| backoff(&mut retry, max).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 5, 5]);
    }

    #[test]
    fn a_bad_server_is_an_error_not_a_panic() {
        let e = build(Some("not-an-address")).unwrap_err();
        assert!(e.contains("not-an-address"), "{e}");
    }
}
