//! Peak-EWMA by choice of two (as in Finagle, linkerd and tower): cost is the latency
//! estimate times the requests in flight plus one.

use crate::Balancer;
use crate::endpoint::{EndpointSet, Pick};
use crate::select::{Draw, PickContext, View};

#[derive(Debug)]
pub struct PeakEwmaBalancer {
    default_rtt_ns: f64,
    draw: Draw,
}

impl PeakEwmaBalancer {
    pub fn new(default_rtt_ns: u64, seed: u64) -> Self {
        Self {
            default_rtt_ns: default_rtt_ns as f64,
            draw: Draw::new(seed),
        }
    }

    fn cost(&self, view: &View<'_>, i: usize) -> f64 {
        let stats = view.set.stats(i);
        let tau = view.set.params().ewma_tau_ns;
        let rtt = stats.latency.get(view.now_ns, tau, self.default_rtt_ns);
        rtt * (f64::from(stats.in_flight()) + 1.0)
    }
}

impl Balancer for PeakEwmaBalancer {
    fn pick(&self, set: &EndpointSet, ctx: &PickContext<'_>) -> Option<Pick> {
        let view = View::new(set, ctx);
        let chosen = match self.draw.two(&view) {
            (Some(a), Some(b)) => {
                if self.cost(&view, b) < self.cost(&view, a) {
                    b
                } else {
                    a
                }
            }
            (Some(a), None) => a,
            _ => return None,
        };
        Some(set.pick(chosen))
    }
}
