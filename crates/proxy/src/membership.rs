//! One version of a cluster's endpoints with the balancer built for it, and each endpoint's
//! parsed authority. Swapped whole when discovery changes the endpoints.

use http::uri::Authority;
use std::collections::HashMap;
use switchyard_balance::{Balancer, EndpointSet, EndpointSpec, Policy, ZoneAware, ZoneParams};

#[derive(Debug)]
pub struct Membership {
    pub set: EndpointSet,
    pub balancer: Box<dyn Balancer>,
    authorities: HashMap<u64, Authority>,
}

impl Membership {
    /// Builds the balancer (zone-aware when `local_zone` is given) and parses addresses once.
    pub fn build(set: EndpointSet, policy: &Policy, local_zone: Option<&str>) -> Self {
        // Seed 0: thread-local randomness, no shared state between worker threads.
        let global = policy.build(&set, 0);
        let balancer: Box<dyn Balancer> = match local_zone {
            Some(zone) => {
                let local = set.subset(|e| e.zone.as_deref() == Some(zone));
                let local_balancer = policy.build(&local, 0);
                Box::new(ZoneAware::new(
                    local,
                    local_balancer,
                    global,
                    ZoneParams::default(),
                ))
            }
            None => global,
        };
        let authorities = set
            .iter()
            .filter_map(|e| Some((e.id, e.address.parse().ok()?)))
            .collect();
        Self {
            set,
            balancer,
            authorities,
        }
    }

    /// The endpoint list this membership was built from.
    pub fn specs(&self) -> Vec<EndpointSpec> {
        let spec = |e: &std::sync::Arc<switchyard_balance::Endpoint>| EndpointSpec {
            address: e.address.clone(),
            weight: e.weight,
            zone: e.zone.clone(),
        };
        self.set.iter().map(spec).collect()
    }

    pub fn authority(&self, endpoint_id: u64) -> Option<Authority> {
        self.authorities.get(&endpoint_id).cloned()
    }
}
