//! Validated config of how a cluster balances, checks health and finds its endpoints.

use crate::located::Located;
use crate::raw::RawCluster;
use crate::raw_balancing::*;
use crate::values::{Checker, is_header_name};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalancerKind {
    Edge,
    RoundRobin,
    Random,
    LeastRequest,
    PeakEwma,
    RingHash,
    Maglev,
}

impl BalancerKind {
    /// The name the config gives it (`weighted_round_robin` is `round_robin`).
    pub fn name(self) -> &'static str {
        match self {
            BalancerKind::Edge => "edge",
            BalancerKind::RoundRobin => "round_robin",
            BalancerKind::Random => "random",
            BalancerKind::LeastRequest => "least_request",
            BalancerKind::PeakEwma => "peak_ewma",
            BalancerKind::RingHash => "ring_hash",
            BalancerKind::Maglev => "maglev",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashOn {
    Header(String),
    Cookie(String),
    ClientIp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EdgeSettings {
    pub max_probation: u32,
    pub error_threshold: f64,
    pub utilization_threshold: f64,
    pub k_util: f64,
    pub k_err: f64,
    pub capacity_aware: bool,
    pub k_latency: f64,
    pub k_latency_warming: f64,
    pub busy_fleet_at: f64,
    pub scan_up_to: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutlierSettings {
    pub consecutive_5xx: u32,
    pub consecutive_gateway_failure: u32,
    pub base_ejection_time: Duration,
    pub max_ejection_time: Duration,
    pub max_ejection_percent: f64,
    pub interval: Duration,
    pub success_rate_stdev_factor: f64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthProbe {
    Http { path: String, expected: Vec<u16> },
    Tcp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheck {
    pub probe: HealthProbe,
    pub interval: Duration,
    pub timeout: Duration,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
    pub jitter: f64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discovery {
    Static,
    Dns {
        name: String,
        port: u16,
        srv: bool,
        max_interval: Duration,
        server: Option<String>,
    },
    File(String),
}

/// Everything about choosing an endpoint, per cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Balancing {
    pub kind: BalancerKind,
    /// Slow start window; `None` is off (default 90s for `edge`, off for the others).
    pub warm_up: Option<Duration>,
    /// How long a request waits for an endpoint under its learned capacity; zero is off
    /// (default 50ms for `edge`, off for the others).
    pub capacity_wait: Duration,
    pub hash_on: HashOn,
    pub edge: EdgeSettings,
    pub least_request_bias: f64,
    /// Response header carrying ORCA load reports (default `endpoint-load-metrics`).
    pub utilization_header: String,
    pub panic_threshold: f64,
    pub outlier: OutlierSettings,
    pub health_check: Option<HealthCheck>,
    pub prefer_local_zone: bool,
    pub discovery: Discovery,
}

pub(crate) fn balancing(c: &mut Checker, k: &RawCluster, path: &str) -> Balancing {
    let kind = kind(c, k.balancer.as_ref(), &format!("{path}.balancer"));
    Balancing {
        kind,
        warm_up: warm_up(c, k, kind, path),
        capacity_wait: capacity_wait(c, k, kind, path),
        hash_on: hash_on(c, k.hash_on.as_ref(), &format!("{path}.hash_on")),
        edge: edge(c, k.edge.as_ref(), &format!("{path}.edge")),
        least_request_bias: k.least_request_bias.as_ref().map_or(1.0, |b| b.value),
        utilization_header: utilization_header(c, k.utilization_header.as_ref(), path),
        panic_threshold: fraction(
            c,
            k.panic_threshold.as_ref(),
            &format!("{path}.panic_threshold"),
            0.5,
        ),
        outlier: outlier(
            c,
            k.outlier_detection.as_ref(),
            &format!("{path}.outlier_detection"),
        ),
        health_check: k
            .health_check
            .as_ref()
            .and_then(|h| health_check(c, h, &format!("{path}.health_check"))),
        prefer_local_zone: k.prefer_local_zone,
        discovery: discovery(c, k.discovery.as_ref(), &format!("{path}.discovery")),
    }
}

fn kind(c: &mut Checker, raw: Option<&Located<String>>, path: &str) -> BalancerKind {
    let Some(v) = raw else {
        return BalancerKind::Edge;
    };
    match v.value.as_str() {
        "edge" => BalancerKind::Edge,
        "round_robin" | "weighted_round_robin" => BalancerKind::RoundRobin,
        "random" => BalancerKind::Random,
        "least_request" => BalancerKind::LeastRequest,
        "peak_ewma" => BalancerKind::PeakEwma,
        "ring_hash" => BalancerKind::RingHash,
        "maglev" => BalancerKind::Maglev,
        other => {
            let msg = format!(
                "unknown balancer `{other}`; expected edge, round_robin, weighted_round_robin, random, \
                 least_request, peak_ewma, ring_hash or maglev"
            );
            c.error(v, path, &msg);
            BalancerKind::Edge
        }
    }
}

/// The warm-up window of a new endpoint: 90 s by default for `edge`, off for the others. Only
/// `edge`, `round_robin` and `least_request` ramp a new endpoint up; on the others a window
/// would do nothing, so setting one is an error rather than silently ignored.
fn warm_up(c: &mut Checker, k: &RawCluster, kind: BalancerKind, path: &str) -> Option<Duration> {
    let path = format!("{path}.warm_up");
    let ramps = matches!(
        kind,
        BalancerKind::Edge | BalancerKind::RoundRobin | BalancerKind::LeastRequest
    );
    if !ramps {
        if let Some(raw) = k.warm_up.as_ref().filter(|v| v.value != "off") {
            let msg = format!(
                "{} does not ramp up new endpoints (edge, round_robin and least_request do); \
                 remove warm_up or set it to off",
                kind.name()
            );
            c.error(raw, &path, &msg);
        }
        return None;
    }
    let default = (kind == BalancerKind::Edge).then(|| Duration::from_secs(90));
    duration_or_off(c, k.warm_up.as_ref(), &path, default)
}

/// How long a request may wait for room under an endpoint's learned capacity: 50 ms by
/// default for `edge`, off for the others. The hashing balancers always pick the key's
/// endpoint, so waiting and picking again gains nothing there: an error.
fn capacity_wait(c: &mut Checker, k: &RawCluster, kind: BalancerKind, path: &str) -> Duration {
    let path = format!("{path}.capacity_wait");
    let default = (kind == BalancerKind::Edge).then(|| Duration::from_millis(50));
    let wait = duration_or_off(c, k.capacity_wait.as_ref(), &path, default).unwrap_or_default();
    let hashing = matches!(kind, BalancerKind::RingHash | BalancerKind::Maglev);
    if let Some(raw) = k
        .capacity_wait
        .as_ref()
        .filter(|_| hashing && !wait.is_zero())
    {
        let msg = "ring_hash and maglev always pick the key's endpoint, so they cannot wait \
                   for room elsewhere; remove capacity_wait or set it to off";
        c.error(raw, &path, msg);
    }
    wait
}

/// A duration, or `off` (`None`); absent: `default`.
fn duration_or_off(
    c: &mut Checker,
    raw: Option<&Located<String>>,
    path: &str,
    default: Option<Duration>,
) -> Option<Duration> {
    match raw {
        None => default,
        Some(v) if v.value == "off" => None,
        Some(v) => Some(c.duration_or(Some(v), path, 90)),
    }
}

fn hash_on(c: &mut Checker, raw: Option<&Located<RawHashOn>>, path: &str) -> HashOn {
    let Some(h) = raw else {
        return HashOn::ClientIp;
    };
    match (&h.header, &h.cookie, h.client_ip) {
        (Some(name), None, false) => {
            if !is_header_name(&name.value) {
                c.error(
                    name,
                    &format!("{path}.header"),
                    &format!("`{}` is not a valid header name", name.value),
                );
            }
            HashOn::Header(name.value.to_ascii_lowercase())
        }
        (None, Some(name), false) => HashOn::Cookie(name.value.clone()),
        (None, None, true) => HashOn::ClientIp,
        _ => {
            c.error(
                h,
                path,
                "give exactly one of header, cookie or client_ip: true",
            );
            HashOn::ClientIp
        }
    }
}

fn edge(c: &mut Checker, raw: Option<&RawEdge>, path: &str) -> EdgeSettings {
    let e = raw.cloned().unwrap_or_default();
    let at = |field: &str| format!("{path}.{field}");
    EdgeSettings {
        max_probation: e.max_probation.as_ref().map_or(1, |v| v.value),
        error_threshold: fraction(c, e.error_threshold.as_ref(), &at("error_threshold"), 0.5),
        utilization_threshold: fraction(
            c,
            e.utilization_threshold.as_ref(),
            &at("utilization_threshold"),
            0.95,
        ),
        k_util: non_negative(c, e.k_util.as_ref(), &at("k_util"), 2.0),
        k_err: non_negative(c, e.k_err.as_ref(), &at("k_err"), 10.0),
        capacity_aware: e.capacity_aware.as_ref().is_none_or(|v| v.value),
        k_latency: non_negative(c, e.k_latency.as_ref(), &at("k_latency"), 2.0),
        k_latency_warming: non_negative(
            c,
            e.k_latency_warming.as_ref(),
            &at("k_latency_warming"),
            1.0,
        ),
        busy_fleet_at: non_negative(c, e.busy_fleet_at.as_ref(), &at("busy_fleet_at"), 0.8),
        scan_up_to: e.scan_up_to.as_ref().map_or(128, |v| v.value),
    }
}

fn outlier(c: &mut Checker, raw: Option<&RawOutlier>, path: &str) -> OutlierSettings {
    let o = raw.cloned().unwrap_or_default();
    let percent = o.max_ejection_percent.as_ref().map_or(10.0, |v| v.value);
    if let Some(v) = o
        .max_ejection_percent
        .as_ref()
        .filter(|v| !(0.0..=100.0).contains(&v.value))
    {
        c.error(
            v,
            &format!("{path}.max_ejection_percent"),
            "a percentage between 0 and 100",
        );
    }
    OutlierSettings {
        consecutive_5xx: o.consecutive_5xx.as_ref().map_or(5, |v| v.value),
        consecutive_gateway_failure: o
            .consecutive_gateway_failure
            .as_ref()
            .map_or(5, |v| v.value),
        base_ejection_time: c.duration_or(
            o.base_ejection_time.as_ref(),
            &format!("{path}.base_ejection_time"),
            30,
        ),
        max_ejection_time: c.duration_or(
            o.max_ejection_time.as_ref(),
            &format!("{path}.max_ejection_time"),
            300,
        ),
        max_ejection_percent: percent / 100.0,
        interval: c.duration_or(o.interval.as_ref(), &format!("{path}.interval"), 10),
        success_rate_stdev_factor: non_negative(
            c,
            o.success_rate_stdev_factor.as_ref(),
            &format!("{path}.success_rate_stdev_factor"),
            1.9,
        ),
    }
}

fn health_check(c: &mut Checker, h: &Located<RawHealthCheck>, path: &str) -> Option<HealthCheck> {
    let probe = match (&h.http, h.tcp) {
        (Some(p), false) => {
            if !p.value.starts_with('/') {
                c.error(
                    p,
                    &format!("{path}.http"),
                    &format!("path `{}` must start with `/`", p.value),
                );
            }
            let expected = h.expected_statuses.iter().map(|s| s.value).collect();
            HealthProbe::Http {
                path: p.value.clone(),
                expected,
            }
        }
        (None, true) => HealthProbe::Tcp,
        _ => {
            c.error(h, path, "give exactly one of http: PATH or tcp: true");
            return None;
        }
    };
    Some(HealthCheck {
        probe,
        interval: c.duration_or(h.interval.as_ref(), &format!("{path}.interval"), 5),
        timeout: c.duration_or(h.timeout.as_ref(), &format!("{path}.timeout"), 1),
        healthy_threshold: h.healthy_threshold.as_ref().map_or(2, |v| v.value.max(1)),
        unhealthy_threshold: h.unhealthy_threshold.as_ref().map_or(3, |v| v.value.max(1)),
        jitter: fraction(c, h.jitter.as_ref(), &format!("{path}.jitter"), 0.1),
    })
}

fn discovery(c: &mut Checker, raw: Option<&Located<RawDiscovery>>, path: &str) -> Discovery {
    let Some(d) = raw else {
        return Discovery::Static;
    };
    match (&d.dns, &d.file) {
        (Some(dns), None) => {
            if dns.port.is_none() && !dns.srv {
                c.error(
                    &dns.name,
                    &format!("{path}.dns.port"),
                    "a port is needed unless srv: true",
                );
            }
            if let Some(server) = &dns.server {
                c.socket_addr(server, &format!("{path}.dns.server"));
            }
            Discovery::Dns {
                name: dns.name.value.clone(),
                port: dns.port.as_ref().map_or(0, |p| p.value),
                srv: dns.srv,
                max_interval: c.duration_or(
                    dns.max_interval.as_ref(),
                    &format!("{path}.dns.max_interval"),
                    30,
                ),
                server: dns.server.as_ref().map(|s| s.value.clone()),
            }
        }
        (None, Some(file)) => Discovery::File(file.value.clone()),
        _ => {
            c.error(d, path, "give exactly one of dns or file");
            Discovery::Static
        }
    }
}

fn utilization_header(c: &mut Checker, raw: Option<&Located<String>>, path: &str) -> String {
    let Some(v) = raw else {
        return "endpoint-load-metrics".to_owned();
    };
    if !is_header_name(&v.value) {
        c.error(
            v,
            &format!("{path}.utilization_header"),
            &format!("`{}` is not a valid header name", v.value),
        );
    }
    v.value.to_ascii_lowercase()
}

fn fraction(c: &mut Checker, raw: Option<&Located<f64>>, path: &str, default: f64) -> f64 {
    let Some(v) = raw else { return default };
    if !(0.0..=1.0).contains(&v.value) {
        c.error(v, path, "a fraction between 0 and 1");
    }
    v.value
}

fn non_negative(c: &mut Checker, raw: Option<&Located<f64>>, path: &str, default: f64) -> f64 {
    let Some(v) = raw else { return default };
    if !(v.value >= 0.0 && v.value.is_finite()) {
        c.error(v, path, "must be zero or more");
    }
    v.value
}
