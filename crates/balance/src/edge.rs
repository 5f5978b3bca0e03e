//! `edge`: Netflix-style edge balancing. Choice of two, scored on this balancer's own view first
//! (requests in flight, client health) and the server's report second (utilization); with
//! filtering of endpoints over thresholds, probation for endpoints that have not answered yet,
//! and warm-up of new endpoints. See docs/balancing.md for the reasoning and the defaults.

use crate::Balancer;
use crate::endpoint::{EndpointSet, Pick};
use crate::policy::WarmUp;
use crate::select::{Draw, PickContext, View, ramp};
use std::cell::RefCell;
use std::sync::atomic::Ordering;

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
    /// Weight of relative latency in the score, an exponent: `(latency / fastest) ^ k_latency`
    /// among the warm, healthy endpoints compared (peak-EWMA latency; 0 turns it off; 2: a
    /// server three times slower scores nine times higher, one 1.2 times slower 1.44; see
    /// docs/balancing.md).
    pub k_latency: f64,
    /// The same exponent for an endpoint still warming up, once the warm endpoints compared all
    /// report at least `busy_fleet_at` utilization (1): the fleet then needs its joiners, and
    /// warm-up already caps their share. While a warm endpoint has room, `k_latency` applies
    /// to joiners too, so a cold one stays out. Never above `k_latency`. See docs/balancing.md.
    pub k_latency_warming: f64,
    /// The reported utilization from which the warm endpoints count as busy (0.8; above 1 never).
    pub busy_fleet_at: f64,
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
            k_latency_warming: 1.0,
            busy_fleet_at: 0.8,
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
    /// The least reported utilization among the warm, healthy endpoints compared: whether the
    /// warm part of the fleet has room left.
    least_utilization: Option<f64>,
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

    /// Reads what a pick judges of endpoint `i`, once.
    #[inline]
    fn read(&self, view: &View<'_>, i: usize) -> Candidate {
        let p = &self.params;
        let sp = view.set.params();
        let stats = view.set.stats(i);
        let capacity = (p.capacity_aware && p.use_utilization)
            .then(|| stats.capacity(view.now_ns, sp.utilization_stale_ns))
            .flatten();
        // Reported utilization counts only where no capacity estimate does.
        let utilization = (p.use_utilization && capacity.is_none())
            .then(|| stats.utilization(view.now_ns, sp.decay_half_life_ns, sp.utilization_stale_ns))
            .flatten();
        let latency = (p.k_latency > 0.0)
            .then(|| stats.latency_ns(view.now_ns, sp.ewma_tau_ns))
            .flatten();
        Candidate {
            index: i,
            in_flight: stats.in_flight(),
            answered: stats.answered(),
            last_picked_ns: stats.last_picked_ns.load(Ordering::Relaxed),
            error_score: stats.error_score(view.now_ns, sp.decay_half_life_ns),
            capacity,
            utilization,
            latency,
            warm: self.warm_share(view, i),
            weight: view.set.weight(i),
        }
    }

    /// Whether `c` is a fair yardstick of latency, one the others are compared with: warm (a
    /// joiner's first answers set no pace) and not failing (fast errors would make every
    /// healthy endpoint look slow).
    fn yardstick(&self, c: &Candidate) -> bool {
        c.warm >= 1.0 && c.error_score <= self.params.error_threshold
    }

    /// `i`'s fresh reported utilization, if utilization counts.
    fn reported(&self, view: &View<'_>, i: usize) -> Option<f64> {
        let sp = view.set.params();
        let (half_life, stale) = (sp.decay_half_life_ns, sp.utilization_stale_ns);
        (self.params.use_utilization)
            .then(|| view.set.stats(i).utilization(view.now_ns, half_life, stale))
            .flatten()
    }

    /// What the candidates compared in one round tell about each other, in one pass (the warm
    /// endpoints' reports are read only when a warming one is compared).
    fn peers<'c>(
        &self,
        view: &View<'_>,
        candidates: impl Iterator<Item = &'c Candidate> + Clone,
    ) -> Peers {
        let warming = candidates.clone().any(|c| c.warm < 1.0);
        let mut peers = Peers::default();
        for c in candidates {
            if peers.capacity.is_none() {
                peers.capacity = c.capacity;
            }
            if !self.yardstick(c) {
                continue;
            }
            if let Some(u) = warming.then(|| self.reported(view, c.index)).flatten() {
                peers.least_utilization =
                    Some(peers.least_utilization.map_or(u, |l: f64| l.min(u)));
            }
            let Some(l) = c.latency else {
                continue;
            };
            peers.fastest = Some(peers.fastest.map_or(l, |f: f64| f.min(l)));
            peers.slowest = Some(peers.slowest.map_or(l, |s: f64| s.max(l)));
        }
        peers
    }

    /// `peers.capacity`: the capacity to use when `c` has no estimate of its own yet (a new
    /// endpoint takes its rival's, so it is neither starved nor flooded before its first
    /// reports); `peers.fastest`: the latency relative latency is measured against.
    fn judge(&self, view: &View<'_>, c: &Candidate, peers: &Peers) -> Verdict {
        let p = &self.params;
        if p.use_probation && !c.answered && c.in_flight >= p.max_probation {
            return Verdict::Full;
        }
        if p.probe_after_ns > 0
            && c.last_picked_ns != 0
            && view.now_ns.saturating_sub(c.last_picked_ns) > p.probe_after_ns
        {
            return Verdict::Admit(0.0);
        }
        let err = if p.use_client_health {
            c.error_score
        } else {
            0.0
        };
        let capacity = c.capacity.or(peers.capacity);
        let util = c.utilization.filter(|_| capacity.is_none());
        let in_flight = f64::from(c.in_flight);
        let load = match capacity {
            Some(cap) => (in_flight + 1.0) / cap,
            None => {
                (in_flight + 1.0) * (1.0 + p.k_util * util.unwrap_or(0.0)) / f64::from(c.weight)
            }
        };
        let slowness = self.slowness(c, peers, err);
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
        let warm = c.warm;
        let capped =
            capacity.is_some_and(|cap| warm < 1.0 && in_flight + 1.0 > (warm * cap).max(1.0));
        let drawn = warm >= 1.0 || self.draw.unit() < warm;
        if capped || !drawn {
            return Verdict::Held(score);
        }
        Verdict::Admit(score)
    }

    /// How much relative latency multiplies `c`'s score: `(latency / fastest) ^ power` among
    /// the warm, healthy endpoints compared, 1 for a failing endpoint (fast errors are not
    /// speed). It counts for warming endpoints too: warm-up caps a joiner's share, and a
    /// joiner slower than its peers takes less than that cap. One without an estimate is
    /// presumed as slow as the slowest compared (it is usually cold). A joiner's power drops
    /// to `k_latency_warming` (never above `k_latency`, so 0 there turns relative latency off
    /// for all) once every warm endpoint compared is busy: the fleet needs it.
    #[inline]
    fn slowness(&self, c: &Candidate, peers: &Peers, err: f64) -> f64 {
        let p = &self.params;
        let Some(fastest) = peers.fastest.filter(|_| err <= p.error_threshold) else {
            return 1.0;
        };
        let busy = peers
            .least_utilization
            .is_some_and(|u| u >= p.busy_fleet_at);
        let power = if c.warm < 1.0 && busy {
            p.k_latency_warming.min(p.k_latency)
        } else {
            p.k_latency
        };
        c.latency
            .or(peers.slowest)
            .map_or(1.0, |own| (own / fastest).max(1.0).powf(power))
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
}

impl Edge {
    /// When every random draw was an endpoint on full probation: the best of all the others,
    /// by a full scan (rare, so its O(n) cost does not matter).
    fn scan(&self, view: &View<'_>) -> Option<usize> {
        let scored = (0..view.set.len())
            .filter(|&i| view.usable(i))
            .filter_map(
                |i| match self.judge(view, &self.read(view, i), &Peers::default()) {
                    Verdict::Admit(score) | Verdict::Held(score) | Verdict::Filtered(score) => {
                        Some((score, i))
                    }
                    Verdict::Full => None,
                },
            );
        scored.min_by(|a, b| a.0.total_cmp(&b.0)).map(|(_, i)| i)
    }
}

thread_local! {
    /// The candidates of this thread's last scan, kept so that a scan allocates nothing once
    /// the thread has scanned a cluster of this size.
    static SCANNED: RefCell<Vec<Candidate>> = const { RefCell::new(Vec::new()) };
}

impl Edge {
    /// The best usable endpoint of all: admitted first, else filtered, else on full probation.
    /// Each endpoint is read once; the scan starts at a random endpoint, so ties do not always
    /// go to the same one.
    fn pick_by_scan(&self, view: &View<'_>) -> Option<usize> {
        let n = view.set.len();
        let start = self.draw.below(n.max(1));
        SCANNED.with_borrow_mut(|scanned| {
            scanned.clear();
            scanned.extend(
                (0..n)
                    .filter(|&i| view.usable(i))
                    .map(|i| self.read(view, i)),
            );
            let peers = self.peers(view, scanned.iter());
            let split = scanned.partition_point(|c| c.index < start);
            let order = || scanned[split..].iter().chain(&scanned[..split]);
            // A warming endpoint is seen as often as choice of two would draw it (2 in n), so
            // the scan gives it no more than its ramp allows ...
            let seen = |c: &&Candidate| c.warm >= 1.0 || self.draw.below(n) < 2;
            let mut best = Best::default();
            for c in order().filter(seen) {
                best.consider(self, view, &peers, c);
            }
            // ... unless it saw none (a fleet that is all new, as after a red-black deploy:
            // every endpoint was passed over); then they all compete as usual.
            if best.is_empty() {
                for c in order() {
                    best.consider(self, view, &peers, c);
                }
            }
            best.chosen()
        })
    }
}

/// What one pick knows of a candidate, read from its stats once: the peers' pass and the
/// judging both use it.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    index: usize,
    in_flight: u32,
    answered: bool,
    last_picked_ns: u64,
    error_score: f64,
    /// Its own capacity estimate, when scoring by projected utilization.
    capacity: Option<f64>,
    /// Fresh reported utilization, where no capacity estimate of its own counts.
    utilization: Option<f64>,
    /// The latency estimate, when latency counts and it has answered.
    latency: Option<f64>,
    /// Where it is on its warm-up ramp (1 once warm).
    warm: f64,
    weight: u32,
}

/// The best candidates of a scan so far, by verdict.
#[derive(Default)]
struct Best {
    admitted: Option<(f64, usize)>,
    held: Option<(f64, usize)>,
    filtered: Option<(f64, usize)>,
    /// On full probation, the fewest in flight: when every endpoint is (a gateway just
    /// started: none has answered yet), requests still spread by in-flight count instead of
    /// piling onto whichever endpoint a scan met first.
    full: Option<(u32, usize)>,
}

impl Best {
    fn consider(&mut self, edge: &Edge, view: &View<'_>, peers: &Peers, c: &Candidate) {
        let (slot, score) = match edge.judge(view, c, peers) {
            Verdict::Admit(score) => (&mut self.admitted, score),
            Verdict::Held(score) => (&mut self.held, score),
            Verdict::Filtered(score) => (&mut self.filtered, score),
            Verdict::Full => {
                if self.full.is_none_or(|(f, _)| c.in_flight < f) {
                    self.full = Some((c.in_flight, c.index));
                }
                return;
            }
        };
        if slot.is_none_or(|(s, _)| score < s) {
            *slot = Some((score, c.index));
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
            .or(self.full.map(|(_, i)| i))
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
            let ca = a.map(|i| self.read(&view, i));
            let cb = b.map(|i| self.read(&view, i));
            let peers = self.peers(&view, ca.iter().chain(&cb));
            for c in ca.iter().chain(&cb) {
                best.consider(self, &view, &peers, c);
            }
            if let Some((_, i)) = best.admitted {
                return Some(set.pick(i));
            }
            if a.is_none() {
                break;
            }
        }
        let fallback = best.held.or(best.filtered).map(|(_, i)| i);
        let chosen = (fallback.or_else(|| self.scan(&view))).or(best.full.map(|(_, i)| i));
        chosen.map(|i| set.pick(i))
    }
}
