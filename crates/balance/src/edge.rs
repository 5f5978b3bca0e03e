//! `edge`: Netflix-style edge balancing. Choice of two, scored on this balancer's own view first
//! (requests in flight, client health) and the server's report second (utilization); with
//! filtering of endpoints over thresholds, probation for endpoints that have not answered yet,
//! and warm-up of new endpoints. See docs/balancing.md for the reasoning and the defaults.

use crate::Balancer;
use crate::endpoint::{EndpointSet, Pick};
use crate::policy::WarmUp;
use crate::select::{Draw, PickContext, View, ramp};

/// `edge`'s parameters (defaults in `Default`).
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeParams {
    /// Requests allowed in flight to an endpoint that has not answered yet (1).
    pub max_probation: u32,
    /// Slow start for new endpoints (90 s, from 25 %, linear); `None` turns it off.
    pub warm_up: Option<WarmUp>,
    /// Weight of reported utilization in the score (2: a fully busy server scores 3x).
    pub k_util: f64,
    /// Weight of the error score in the score (10: an always-failing server scores 11x).
    pub k_err: f64,
    /// Filter out endpoints whose error score exceeds this (0.5).
    pub error_threshold: f64,
    /// Filter out endpoints whose fresh reported utilization exceeds this (0.95).
    pub utilization_threshold: f64,
    /// Choice-of-two rounds before falling back to the best seen (5).
    pub attempts: usize,
    /// An endpoint not picked for this long is admitted first, once, so stale bad stats get
    /// refreshed by a real answer (3 s; 0 turns probing off).
    pub probe_after_ns: u64,
    /// Score by projected utilization, `(in flight + 1) / estimated capacity`, where reports
    /// allow an estimate, and filter endpoints it would push past 1 (true; docs/balancing.md
    /// has the simulator's numbers).
    pub capacity_aware: bool,
    /// Weight of relative latency in the score: `1 + k_latency * (latency / fastest - 1)` among
    /// the warm, healthy endpoints compared (peak-EWMA latency; 0 turns it off; 2; see
    /// docs/balancing.md).
    pub k_latency: f64,
    /// Clusters of at most this many endpoints are scanned in full (the best of all rather
    /// than the better of two: about 1.5 µs at 60, and far fewer load errors and a lower p99 in
    /// the simulator's 60-server fleet, and its 72 and 120 during autoscale and red-black
    /// deploys); 0 never scans (128).
    pub scan_up_to: usize,
    /// Ablation switches, for the simulator: each turns one factor off.
    pub use_utilization: bool,
    pub use_client_health: bool,
    pub use_probation: bool,
}

impl Default for EdgeParams {
    fn default() -> Self {
        Self {
            max_probation: 1,
            warm_up: Some(WarmUp::default()),
            k_util: 2.0,
            k_err: 10.0,
            error_threshold: 0.5,
            utilization_threshold: 0.95,
            attempts: 5,
            probe_after_ns: 3_000_000_000,
            capacity_aware: true,
            k_latency: 2.0,
            scan_up_to: 128,
            use_utilization: true,
            use_client_health: true,
            use_probation: true,
        }
    }
}

#[derive(Debug)]
pub struct Edge {
    params: EdgeParams,
    draw: Draw,
}

/// What the candidates of one round know of each other.
#[derive(Default)]
struct Peers {
    capacity: Option<f64>,
    fastest: Option<f64>,
    /// What an endpoint without a latency estimate is taken to have: new endpoints are
    /// presumed as slow as the slowest compared (they are usually cold).
    slowest: Option<f64>,
}

/// Whether a candidate may take this request, and its score if so.
enum Verdict {
    Admit(f64),
    /// Held back by warm-up (over its ramp's share): usable if no endpoint is admitted, before
    /// any that is filtered.
    Held(f64),
    /// Over a threshold: usable only if nothing better turns up.
    Filtered(f64),
    /// On probation with its allowance in flight: only if no other endpoint can take it.
    Full,
}

impl Edge {
    pub fn new(params: EdgeParams, seed: u64) -> Self {
        Self {
            params,
            draw: Draw::new(seed),
        }
    }

    /// The capacity estimate of `i`, when scoring by projected utilization.
    fn capacity(&self, view: &View<'_>, i: usize) -> Option<f64> {
        let p = &self.params;
        (p.capacity_aware && p.use_utilization)
            .then(|| {
                view.set
                    .stats(i)
                    .capacity(view.now_ns, view.set.params().utilization_stale_ns)
            })
            .flatten()
    }

    /// The latency estimate of `i`, when latency counts and it has answered.
    fn measured_latency(&self, view: &View<'_>, i: usize) -> Option<f64> {
        let tau = view.set.params().ewma_tau_ns;
        (self.params.k_latency > 0.0)
            .then(|| view.set.stats(i).latency_ns(view.now_ns, tau))
            .flatten()
    }

    /// Whether `i` is a fair yardstick of latency, one the others are compared with: warm (a
    /// joiner's first answers set no pace) and not failing (fast errors would make every
    /// healthy endpoint look slow).
    fn yardstick(&self, warm_share: f64, error_score: f64) -> bool {
        warm_share >= 1.0 && error_score <= self.params.error_threshold
    }

    /// What the candidates compared in one round tell about each other, in one pass.
    fn peers(&self, view: &View<'_>, candidates: impl Iterator<Item = usize>) -> Peers {
        let half_life = view.set.params().decay_half_life_ns;
        let mut peers = Peers::default();
        for i in candidates {
            if peers.capacity.is_none() {
                peers.capacity = self.capacity(view, i);
            }
            let Some(l) = self.measured_latency(view, i) else {
                continue;
            };
            let error_score = view.set.stats(i).error_score(view.now_ns, half_life);
            if !self.yardstick(self.warm_share(view, i), error_score) {
                continue;
            }
            peers.fastest = Some(peers.fastest.map_or(l, |f: f64| f.min(l)));
            peers.slowest = Some(peers.slowest.map_or(l, |s: f64| s.max(l)));
        }
        peers
    }

    /// `peers.capacity`: the capacity to use when `i` has no estimate of its own yet (a new
    /// endpoint takes its rival's, so it is neither starved nor flooded before its first
    /// reports); `peers.fastest`: the latency relative latency is measured against.
    fn judge(&self, view: &View<'_>, i: usize, peers: &Peers) -> Verdict {
        let assumed = peers.capacity;
        let p = &self.params;
        let sp = view.set.params();
        let stats = view.set.stats(i);
        let in_flight = stats.in_flight();
        if p.use_probation && !stats.answered() && in_flight >= p.max_probation {
            return Verdict::Full;
        }
        let last_picked = stats
            .last_picked_ns
            .load(std::sync::atomic::Ordering::Relaxed);
        if p.probe_after_ns > 0
            && last_picked != 0
            && view.now_ns.saturating_sub(last_picked) > p.probe_after_ns
        {
            return Verdict::Admit(0.0);
        }
        let err = if p.use_client_health {
            stats.error_score(view.now_ns, sp.decay_half_life_ns)
        } else {
            0.0
        };
        let capacity = self.capacity(view, i).or(assumed);
        // Reported utilization counts only where no capacity estimate does.
        let util = match (p.use_utilization, capacity) {
            (true, None) => {
                stats.utilization(view.now_ns, sp.decay_half_life_ns, sp.utilization_stale_ns)
            }
            _ => None,
        };
        let load = match capacity {
            Some(c) => (f64::from(in_flight) + 1.0) / c,
            None => {
                (f64::from(in_flight) + 1.0) * (1.0 + p.k_util * util.unwrap_or(0.0))
                    / f64::from(view.set.weight(i))
            }
        };
        // Relative latency counts for warming endpoints too: warm-up caps a joiner's share, and
        // a joiner slower than its peers takes less than that cap. An endpoint without an
        // estimate is presumed as slow as the slowest compared (it is usually cold).
        let warm = self.warm_share(view, i);
        let slowness = match peers.fastest {
            Some(fastest) if err <= p.error_threshold => self
                .measured_latency(view, i)
                .or(peers.slowest)
                .map_or(1.0, |own| {
                    1.0 + p.k_latency * (own / fastest - 1.0).max(0.0)
                }),
            _ => 1.0,
        };
        let score = load * (1.0 + p.k_err * err) * slowness;
        let full = match capacity {
            Some(_) => load > 1.0,
            None => util.is_some_and(|u| u > p.utilization_threshold),
        };
        if err > p.error_threshold || full {
            return Verdict::Filtered(score);
        }
        // A warming endpoint may hold its ramp's share of its capacity in flight (at least one
        // request: however slow its first requests, it holds few of them), and takes part in
        // its ramp's share of picks.
        let capped = capacity
            .is_some_and(|c| warm < 1.0 && f64::from(in_flight) + 1.0 > (warm * c).max(1.0));
        let drawn = warm >= 1.0 || self.draw.unit() < warm;
        if capped || !drawn {
            return Verdict::Held(score);
        }
        Verdict::Admit(score)
    }

    /// Where `i` is on its warm-up ramp, relative to the longest-known endpoint's: 1 once warm
    /// (or without warm-up).
    fn warm_share(&self, view: &View<'_>, i: usize) -> f64 {
        let Some(w) = self.params.warm_up else {
            return 1.0;
        };
        let share = |age| ramp(age, w.window_ns, w.min_weight, w.aggression);
        let own = share(view.set.stats(i).age_ns(view.now_ns));
        if own >= 1.0 {
            return 1.0;
        }
        // Relative to the longest-known endpoint: endpoints that joined together share alike.
        (own / share(view.set.oldest_age_ns(view.now_ns))).min(1.0)
    }

    /// Whether `i` is still held back by warm-up.
    fn warming(&self, view: &View<'_>, i: usize) -> bool {
        self.warm_share(view, i) < 1.0
    }
}

impl Edge {
    /// When every random draw was an endpoint on full probation: the best of all the others,
    /// by a full scan (rare, so its O(n) cost does not matter).
    fn scan(&self, view: &View<'_>) -> Option<usize> {
        let scored = (0..view.set.len())
            .filter(|&i| view.usable(i))
            .filter_map(|i| match self.judge(view, i, &Peers::default()) {
                Verdict::Admit(score) | Verdict::Held(score) | Verdict::Filtered(score) => {
                    Some((score, i))
                }
                Verdict::Full => None,
            });
        scored.min_by(|a, b| a.0.total_cmp(&b.0)).map(|(_, i)| i)
    }
}

impl Edge {
    /// The best usable endpoint of all: admitted first, else filtered, else on full probation.
    /// The scan starts at a random endpoint, so ties do not always go to the same one.
    fn pick_by_scan(&self, view: &View<'_>) -> Option<usize> {
        let n = view.set.len();
        let start = self.draw.below(n.max(1));
        let peers = self.peers(view, (0..n).filter(|&i| view.usable(i)));
        let order = || (0..n).map(|k| (start + k) % n).filter(|&i| view.usable(i));
        // A warming endpoint is seen as often as choice of two would draw it (2 in n), so the
        // scan gives it no more than its ramp allows ...
        let seen = |i: usize| !self.warming(view, i) || self.draw.below(n) < 2;
        let mut best = Best::default();
        for i in order().filter(|&i| seen(i)) {
            best.consider(self, view, &peers, i);
        }
        // ... unless it saw none (a fleet that is all new, as after a red-black deploy: every
        // endpoint was passed over); then they all compete as usual.
        if best.is_empty() {
            for i in order() {
                best.consider(self, view, &peers, i);
            }
        }
        best.chosen()
    }
}

/// The best candidates of a scan so far, by verdict.
#[derive(Default)]
struct Best {
    admitted: Option<(f64, usize)>,
    held: Option<(f64, usize)>,
    filtered: Option<(f64, usize)>,
    full: Option<usize>,
}

impl Best {
    fn consider(&mut self, edge: &Edge, view: &View<'_>, peers: &Peers, i: usize) {
        let (slot, score) = match edge.judge(view, i, peers) {
            Verdict::Admit(score) => (&mut self.admitted, score),
            Verdict::Held(score) => (&mut self.held, score),
            Verdict::Filtered(score) => (&mut self.filtered, score),
            Verdict::Full => return fewest_in_flight(view, &mut self.full, i),
        };
        if slot.is_none_or(|(s, _)| score < s) {
            *slot = Some((score, i));
        }
    }

    fn is_empty(&self) -> bool {
        self.admitted.is_none()
            && self.held.is_none()
            && self.filtered.is_none()
            && self.full.is_none()
    }

    fn chosen(&self) -> Option<usize> {
        self.admitted
            .or(self.held)
            .or(self.filtered)
            .map(|(_, i)| i)
            .or(self.full)
    }
}

/// Keeps in `slot` whichever of it and `i` has fewer requests in flight. When every endpoint is
/// on full probation (a gateway just started: none has answered yet), requests still spread
/// by in-flight count instead of piling onto whichever endpoint a scan met first.
fn fewest_in_flight(view: &View<'_>, slot: &mut Option<usize>, i: usize) {
    let in_flight = |j: usize| view.set.stats(j).in_flight();
    if slot.is_none_or(|j| in_flight(i) < in_flight(j)) {
        *slot = Some(i);
    }
}

impl Balancer for Edge {
    fn pick(&self, set: &EndpointSet, ctx: &PickContext<'_>) -> Option<Pick> {
        let view = View::new(set, ctx);
        if set.len() <= self.params.scan_up_to {
            return self.pick_by_scan(&view).map(|i| set.pick(i));
        }
        // Rounds of choice of two until one admits; what was held back, filtered or full in
        // the rounds before is the fallback.
        let mut best = Best::default();
        for _ in 0..self.params.attempts.max(1) {
            let (a, b) = self.draw.two(&view);
            let peers = self.peers(&view, [a, b].into_iter().flatten());
            for i in [a, b].into_iter().flatten() {
                best.consider(self, &view, &peers, i);
            }
            if let Some((_, i)) = best.admitted {
                return Some(set.pick(i));
            }
            if a.is_none() {
                break;
            }
        }
        let fallback = best.held.or(best.filtered).map(|(_, i)| i);
        let chosen = fallback.or_else(|| self.scan(&view)).or(best.full);
        chosen.map(|i| set.pick(i))
    }
}
