//! Zone-aware balancing on top of any algorithm: prefer endpoints in the gateway's own zone
//! while they have capacity; spill over to every zone as the local ones fill up or fail (as
//! Ribbon's zone avoidance and Envoy's zone-aware routing do).

use crate::Balancer;
use crate::endpoint::{EndpointSet, Pick};
use crate::select::PickContext;
use std::sync::atomic::{AtomicU64, Ordering};

/// When the local zone counts as having capacity.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneParams {
    /// At least this share of local endpoints must be available (0.7).
    pub min_available: f64,
    /// Local requests in flight per endpoint may be at most this multiple of the cluster-wide
    /// figure, plus one (2.0).
    pub max_load_ratio: f64,
}

impl Default for ZoneParams {
    fn default() -> Self {
        Self {
            min_available: 0.7,
            max_load_ratio: 2.0,
        }
    }
}

/// Picks from the local zone's endpoints while the zone is healthy and not hot, else from all.
#[derive(Debug)]
pub struct ZoneAware {
    local: EndpointSet,
    local_balancer: Box<dyn Balancer>,
    global_balancer: Box<dyn Balancer>,
    params: ZoneParams,
    /// Cached decision: bit 63 = prefer local, low bits = time it was made.
    decision: AtomicU64,
}

const RECHECK_NS: u64 = 20_000_000;
const LOCAL_BIT: u64 = 1 << 63;

impl ZoneAware {
    pub fn new(
        local: EndpointSet,
        local_balancer: Box<dyn Balancer>,
        global_balancer: Box<dyn Balancer>,
        params: ZoneParams,
    ) -> Self {
        Self {
            local,
            local_balancer,
            global_balancer,
            params,
            decision: AtomicU64::new(0),
        }
    }

    /// The local zone's endpoints.
    pub fn local(&self) -> &EndpointSet {
        &self.local
    }

    fn prefer_local(&self, all: &EndpointSet) -> bool {
        let now = all.now_ns();
        let cached = self.decision.load(Ordering::Relaxed);
        if cached != 0 && now.saturating_sub(cached & !LOCAL_BIT) < RECHECK_NS {
            return cached & LOCAL_BIT != 0;
        }
        let local = self.local_has_capacity(all, now);
        self.decision
            .store(now | if local { LOCAL_BIT } else { 0 }, Ordering::Relaxed);
        local
    }

    fn local_has_capacity(&self, all: &EndpointSet, now: u64) -> bool {
        let n = self.local.len();
        if n == 0 {
            return false;
        }
        let available = (0..n).filter(|&i| self.local.is_available(i, now)).count();
        let load = |set: &EndpointSet| {
            (0..set.len())
                .map(|i| f64::from(set.stats(i).in_flight()))
                .sum::<f64>()
                / set.len().max(1) as f64
        };
        available as f64 >= self.params.min_available * n as f64
            && load(&self.local) <= self.params.max_load_ratio * load(all) + 1.0
    }
}

impl Balancer for ZoneAware {
    fn pick(&self, set: &EndpointSet, ctx: &PickContext<'_>) -> Option<Pick> {
        if self.prefer_local(set)
            && let Some(pick) = self.local_balancer.pick(&self.local, ctx)
        {
            return Some(pick);
        }
        self.global_balancer.pick(set, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::EndpointSpec;
    use crate::params::StatParams;
    use crate::policy::Policy;
    use crate::time::Timebase;
    use std::sync::Arc;

    fn zoned() -> (EndpointSet, ZoneAware) {
        let specs: Vec<EndpointSpec> = (0..6)
            .map(|i| EndpointSpec {
                address: format!("e{i}"),
                weight: 1,
                zone: Some(if i < 2 { "a" } else { "b" }.into()),
            })
            .collect();
        let all = EndpointSet::new(
            &specs,
            Timebase::new(Arc::new(switchyard_core::SystemClock)),
            StatParams::default(),
        );
        let local = all.subset(|e| e.zone.as_deref() == Some("a"));
        let policy = Policy::LeastRequest {
            bias: 1.0,
            warm_up: None,
        };
        let zone = ZoneAware::new(
            local.clone(),
            policy.build(&local, 1),
            policy.build(&all, 2),
            ZoneParams::default(),
        );
        (all, zone)
    }

    #[test]
    fn stays_local_while_the_zone_has_capacity() {
        let (all, zone) = zoned();
        let picks: Vec<Pick> = (0..4)
            .map(|_| zone.pick(&all, &PickContext::default()).unwrap())
            .collect();
        assert!(
            picks
                .iter()
                .all(|p| p.endpoint().zone.as_deref() == Some("a"))
        );
    }

    #[test]
    fn spills_over_when_local_endpoints_fill_up() {
        let (all, zone) = zoned();
        let mut held = Vec::new();
        for _ in 0..60 {
            held.push(zone.pick(&all, &PickContext::default()).unwrap());
            zone.decision.store(0, Ordering::Relaxed);
        }
        let remote = held
            .iter()
            .filter(|p| p.endpoint().zone.as_deref() == Some("b"))
            .count();
        // Local endpoints may carry up to 2x the cluster mean + 1: L <= 4R + 3 here, so 2L + 4R = 60
        // settles near R = 4.5 per remote endpoint, 18 in all.
        assert!(
            (15..=21).contains(&remote),
            "load spilled to zone b: {remote} of 60"
        );
    }

    #[test]
    fn spills_over_when_local_endpoints_fail() {
        let (all, zone) = zoned();
        all.set_active_health(0, false);
        let picks: Vec<Pick> = (0..50)
            .map(|_| zone.pick(&all, &PickContext::default()).unwrap())
            .collect();
        let remote = picks
            .iter()
            .filter(|p| p.endpoint().zone.as_deref() == Some("b"))
            .count();
        // Half the local zone is down: every endpoint left takes a share, zone b four of five.
        assert!(remote > 30, "load spilled to zone b: {remote} of 50");
    }
}
