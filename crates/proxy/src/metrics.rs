//! The gateway's Prometheus metrics: families that live as long as the process (a reload
//! keeps every count), and per-route handles taken once per config so a request only bumps
//! atomics.

use crate::cluster::Cluster;
use crate::cluster_report::{ClusterMetrics, endpoint_registry};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::Arc;
use switchyard_policy::{Answer, PolicyMetrics};

/// Every metric family; one per gateway process.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RouteClass, Counter>,
    durations: Family<RouteLabel, Histogram, fn() -> Histogram>,
    policy_answers: Family<PolicyAnswer, Counter>,
    reloads: Family<Outcome, Counter>,
    supergraph_updates: Family<RouteOutcome, Counter>,
    supergraph_versions: Family<RouteLabel, Gauge>,
    pub policy: PolicyMetrics,
    pub clusters: ClusterMetrics,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteClass {
    route: String,
    code: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PolicyAnswer {
    route: String,
    policy: String,
    reason: &'static str,
    code: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteOutcome {
    route: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Seconds until the response head is ready: 100 µs to ~13 s.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut metrics = Self {
            registry: Registry::with_prefix("switchyard"),
            requests: Family::default(),
            durations: Family::new_with_constructor(duration_histogram),
            policy_answers: Family::default(),
            reloads: Family::default(),
            supergraph_updates: Family::default(),
            supergraph_versions: Family::default(),
            policy: PolicyMetrics::default(),
            clusters: ClusterMetrics::default(),
        };
        metrics.register();
        metrics
    }
}

impl Metrics {
    fn register(&mut self) {
        let r = &mut self.registry;
        r.register(
            "requests",
            "Requests answered, by route (empty: none matched) and status class",
            self.requests.clone(),
        );
        r.register(
            "request_duration_seconds",
            "Time from the request's arrival to its response head, by route",
            self.durations.clone(),
        );
        r.register(
            "policy_answers",
            "Requests a policy answered itself (refused, or a CORS preflight), by route, \
             policy, reason code and status",
            self.policy_answers.clone(),
        );
        r.register(
            "config_reloads",
            "Config reloads, by outcome (applied or rejected)",
            self.reloads.clone(),
        );
        r.register(
            "supergraph_updates",
            "Registry supergraph polls that found something, by route and outcome (applied, \
             rejected: does not load, fetch_failed: registry unreachable or erroring)",
            self.supergraph_updates.clone(),
        );
        r.register(
            "supergraph_version",
            "Registry version of the supergraph a registry-backed GraphQL route serves",
            self.supergraph_versions.clone(),
        );
        self.policy.register(r);
        self.clusters.register(r);
    }

    /// Counts a registry poll outcome for `route`.
    pub fn supergraph_update(&self, route: &str, outcome: &'static str) {
        let label = RouteOutcome {
            route: route.to_owned(),
            outcome,
        };
        self.supergraph_updates.get_or_create(&label).inc();
    }

    /// Records the registry version `route` serves.
    pub fn supergraph_version(&self, route: &str, version: u64) {
        let label = RouteLabel {
            route: route.to_owned(),
        };
        let v = i64::try_from(version).unwrap_or(i64::MAX);
        self.supergraph_versions.get_or_create(&label).set(v);
    }

    /// The handles one route's requests update.
    pub fn route(&self, route: &str) -> Arc<RouteMetrics> {
        let classes = CLASSES.map(|code| {
            self.requests.get_or_create_owned(&RouteClass {
                route: route.to_owned(),
                code,
            })
        });
        let duration = self.durations.get_or_create_owned(&RouteLabel {
            route: route.to_owned(),
        });
        Arc::new(RouteMetrics { classes, duration })
    }

    /// Counts a request a policy answered on `route`.
    pub fn policy_answered(&self, route: &str, answer: &Answer) {
        self.policy_answers
            .get_or_create(&PolicyAnswer {
                route: route.to_owned(),
                policy: answer.policy.to_string(),
                reason: answer.reason,
                code: answer.status.as_u16(),
            })
            .inc();
    }

    /// Counts a reload attempt.
    pub fn reloaded(&self, applied: bool) {
        let outcome = if applied { "applied" } else { "rejected" };
        self.reloads.get_or_create(&Outcome { outcome }).inc();
    }

    /// The Prometheus text exposition of every family, and of the live state of the
    /// endpoints of `clusters` (the serving config's).
    pub fn render(&self, clusters: &HashMap<String, Arc<Cluster>>) -> String {
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        let mut out = String::with_capacity(16 * 1024);
        // Writing to a String cannot fail.
        let _ = encode_registry(&mut out, &self.registry);
        let _ = encode_registry(&mut out, &endpoint_registry(clusters));
        let _ = encode_eof(&mut out);
        out
    }
}

/// One route's counters by status class, and its latency histogram.
#[derive(Debug)]
pub struct RouteMetrics {
    classes: [Counter; 5],
    duration: Histogram,
}

impl RouteMetrics {
    pub fn observe(&self, status: http::StatusCode, seconds: f64) {
        let class = usize::from(status.as_u16() / 100).clamp(1, 5) - 1;
        self.classes[class].inc();
        self.duration.observe(seconds);
    }
}
