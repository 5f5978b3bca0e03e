//! What the admin listener shows of upstream clusters: per-cluster counters of balancer state
//! changes (kept for the life of the process), and every endpoint's live balancer state, read
//! at scrape time as Prometheus gauges and as the `/clusters` JSON document.

use crate::cluster::{Cluster, ClusterEvents, EndpointState};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

/// The clusters' counter families, one per process.
#[derive(Debug, Default)]
pub struct ClusterMetrics {
    ejections: Family<ClusterLabel, Counter>,
    health_changes: Family<ClusterLabel, Counter>,
    membership_changes: Family<ClusterLabel, Counter>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClusterLabel {
    cluster: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabel {
    cluster: String,
    endpoint: String,
}

impl ClusterMetrics {
    pub(crate) fn register(&self, r: &mut Registry) {
        r.register(
            "upstream_ejections",
            "Endpoints taken out by outlier detection, by cluster",
            self.ejections.clone(),
        );
        r.register(
            "upstream_health_changes",
            "Active health check verdicts that changed (healthy or unhealthy), by cluster",
            self.health_changes.clone(),
        );
        r.register(
            "upstream_membership_changes",
            "Endpoint lists replaced by discovery (DNS, a watched file), by cluster",
            self.membership_changes.clone(),
        );
    }

    /// The counters a cluster named `cluster` bumps; the same series for every build of it.
    pub fn events(&self, cluster: &str) -> ClusterEvents {
        let label = ClusterLabel {
            cluster: cluster.to_owned(),
        };
        ClusterEvents {
            ejections: self.ejections.get_or_create_owned(&label),
            health_changes: self.health_changes.get_or_create_owned(&label),
            membership_changes: self.membership_changes.get_or_create_owned(&label),
        }
    }
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// The per-endpoint families of one scrape.
#[derive(Default)]
struct EndpointFamilies {
    in_flight: Family<EndpointLabel, Gauge>,
    awaiting: Family<EndpointLabel, Gauge>,
    requests: Family<EndpointLabel, Counter>,
    available: Family<EndpointLabel, Gauge>,
    error_score: Family<EndpointLabel, FloatGauge>,
    latency: Family<EndpointLabel, FloatGauge>,
    utilization: Family<EndpointLabel, FloatGauge>,
    capacity: Family<EndpointLabel, FloatGauge>,
}

impl EndpointFamilies {
    fn observe(&self, label: &EndpointLabel, state: &EndpointState) {
        let s = &state.stats;
        self.in_flight
            .get_or_create(label)
            .set(i64::from(s.in_flight));
        self.awaiting
            .get_or_create(label)
            .set(i64::from(s.awaiting));
        self.requests.get_or_create(label).inc_by(s.requests);
        self.available
            .get_or_create(label)
            .set(i64::from(s.available()));
        self.error_score.get_or_create(label).set(s.error_score);
        let optional = [
            (&self.latency, s.latency_ms.map(|ms| ms / 1e3)),
            (&self.utilization, s.utilization),
            (&self.capacity, s.capacity),
        ];
        for (family, value) in optional {
            if let Some(v) = value {
                family.get_or_create(label).set(v);
            }
        }
    }

    fn into_registry(self) -> Registry {
        let mut r = Registry::with_prefix("switchyard_endpoint");
        r.register(
            "in_flight",
            "Requests picked and not finished",
            self.in_flight,
        );
        r.register("awaiting", "Requests sent and not answered", self.awaiting);
        r.register(
            "requests",
            "Times the balancer chose the endpoint (a request that waited for room and was \
             chosen again counts each time)",
            self.requests,
        );
        r.register(
            "available",
            "1 unless ejected by outlier detection or failed by active health checks",
            self.available,
        );
        r.register(
            "error_score",
            "Time-decayed share of attempts that failed for load or connection reasons",
            self.error_score,
        );
        r.register(
            "latency_seconds",
            "Peak-EWMA latency estimate (after the first answer)",
            self.latency,
        );
        r.register(
            "utilization",
            "Last reported utilization, faded by its age (while fresh)",
            self.utilization,
        );
        r.register(
            "capacity",
            "Requests served at once, learned from utilization reports (while fresh)",
            self.capacity,
        );
        r
    }
}

/// Clusters in name order, for stable output.
fn sorted(clusters: &HashMap<String, Arc<Cluster>>) -> Vec<(&String, &Arc<Cluster>)> {
    let mut all: Vec<_> = clusters.iter().collect();
    all.sort_by(|a, b| a.0.cmp(b.0));
    all
}

/// Every endpoint's balancer state as gauges, in a registry of its own (built per scrape).
pub(crate) fn endpoint_registry(clusters: &HashMap<String, Arc<Cluster>>) -> Registry {
    let families = EndpointFamilies::default();
    for (name, cluster) in sorted(clusters) {
        for state in cluster.endpoint_states() {
            let label = EndpointLabel {
                cluster: name.clone(),
                endpoint: state.address.clone(),
            };
            families.observe(&label, &state);
        }
    }
    families.into_registry()
}

/// The `/clusters` document: each cluster's balancer, counters and endpoints.
pub(crate) fn clusters_json(clusters: &HashMap<String, Arc<Cluster>>) -> Value {
    let clusters: Vec<Value> = sorted(clusters)
        .into_iter()
        .map(|(name, cluster)| {
            let endpoints: Vec<Value> = cluster.endpoint_states().iter().map(endpoint).collect();
            json!({
                "name": name,
                "balancer": cluster.config.balancing.kind.name(),
                "panic": cluster.in_panic(),
                "ejections": cluster.events.ejections.get(),
                "health_changes": cluster.events.health_changes.get(),
                "membership_changes": cluster.events.membership_changes.get(),
                "endpoints": endpoints,
            })
        })
        .collect();
    json!({ "clusters": clusters })
}

fn endpoint(state: &EndpointState) -> Value {
    let s = &state.stats;
    json!({
        "address": state.address,
        "zone": state.zone,
        "weight": state.weight,
        "available": s.available(),
        "active_healthy": s.active_healthy,
        "ejected": s.ejected,
        "ejections": s.ejections,
        "in_flight": s.in_flight,
        "awaiting": s.awaiting,
        "requests": s.requests,
        "answered": s.answered,
        "error_score": s.error_score,
        "latency_ms": s.latency_ms,
        "utilization": s.utilization,
        "capacity": s.capacity,
        "age_s": s.age_s,
    })
}
