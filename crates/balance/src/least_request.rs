//! Least request by choice of two: of two random endpoints, the one with fewer requests in
//! flight (Envoy's `weight / (active + 1)^bias` when weights differ or warm-up applies).

use crate::Balancer;
use crate::endpoint::{EndpointSet, Pick};
use crate::policy::WarmUp;
use crate::select::{Draw, PickContext, View, ramp};

#[derive(Debug)]
pub struct LeastRequest {
    weighted: bool,
    bias: f64,
    warm_up: Option<WarmUp>,
    draw: Draw,
}

impl LeastRequest {
    pub fn new(set: &EndpointSet, bias: f64, warm_up: Option<WarmUp>, seed: u64) -> Self {
        let first = (!set.is_empty()).then(|| set.weight(0));
        let weighted = (0..set.len()).any(|i| Some(set.weight(i)) != first);
        Self {
            weighted,
            bias,
            warm_up,
            draw: Draw::new(seed),
        }
    }

    /// Higher is better.
    fn desirability(&self, view: &View<'_>, i: usize) -> f64 {
        let stats = view.set.stats(i);
        let active = f64::from(stats.in_flight()) + 1.0;
        let mut weight = f64::from(view.set.weight(i));
        if let Some(w) = self.warm_up {
            let age = stats.age_ns(view.now_ns);
            weight *= ramp(age, w.window_ns, w.min_weight, w.aggression);
        }
        if self.weighted || self.warm_up.is_some() {
            weight / active.powf(self.bias)
        } else {
            1.0 / active
        }
    }
}

impl Balancer for LeastRequest {
    fn pick(&self, set: &EndpointSet, ctx: &PickContext<'_>) -> Option<Pick> {
        let view = View::new(set, ctx);
        let chosen = match self.draw.two(&view) {
            (Some(a), Some(b)) => {
                let (da, db) = (self.desirability(&view, a), self.desirability(&view, b));
                if db > da { b } else { a }
            }
            (Some(a), None) => a,
            _ => return None,
        };
        Some(set.pick(chosen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_the_less_loaded() {
        let set = EndpointSet::with_weights(&[1, 1]);
        let lr = LeastRequest::new(&set, 1.0, None, 3);
        let _busy: Vec<Pick> = (0..5).map(|_| set.pick(0)).collect();
        let ctx = PickContext::default();
        assert!((0..50).all(|_| lr.pick(&set, &ctx).unwrap().index() == 1));
    }
}
