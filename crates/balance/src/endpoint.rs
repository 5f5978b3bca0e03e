//! Endpoints and what the balancer learns about each: counters and decaying stats in atomics,
//! shared by every request; the [`Pick`] guard that reports one request's outcome.

use crate::decay::{Decaying, PeakEwma, Sample};
use crate::outlier::OutlierState;
use crate::params::StatParams;
use crate::time::Timebase;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// How an attempt ended, as far as the balancer cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeKind {
    /// Answered with a non-5xx status.
    Success,
    /// Refused for load (503, 429): move load away, but it is not broken.
    Overloaded,
    /// Any other 5xx.
    ServerError,
    /// Could not connect.
    ConnectFailure,
    /// Connection reset or closed mid-exchange.
    Reset,
    /// No answer before the deadline.
    Timeout,
}

impl OutcomeKind {
    /// Failures that count against client health (`edge`'s error score).
    pub fn is_error(self) -> bool {
        !matches!(self, OutcomeKind::Success | OutcomeKind::ServerError)
    }

    /// Failures of the connection itself (outlier detection's "gateway failures").
    pub fn is_gateway_failure(self) -> bool {
        matches!(
            self,
            OutcomeKind::ConnectFailure | OutcomeKind::Reset | OutcomeKind::Timeout
        )
    }
}

/// One attempt's result, reported through [`Pick::record`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    pub kind: OutcomeKind,
    /// Utilization in [0, 1] the endpoint reported on this response, if any.
    pub utilization: Option<f64>,
}

impl Outcome {
    pub fn of(kind: OutcomeKind) -> Self {
        Self {
            kind,
            utilization: None,
        }
    }
}

/// What is known about one endpoint, laid out (`repr(C)`, the endpoint aligned to a cache
/// line) as two 64-byte lines. The first holds all that a pick writes and all that
/// `least_request` reads of a candidate (in-flight counts, health, ejection), so a candidate
/// costs it one line; the second, what `edge` also judges (errors, utilization, capacity,
/// latency, age). A line one thread writes must be fetched again by the other cores when they
/// next read it, so fewer lines per pick keeps threads that pick at once from slowing each
/// other down (docs/benchmarks.md, balancer micro-benchmarks, eighth pass).
#[derive(Debug)]
#[repr(C)]
pub struct EndpointStats {
    /// Two counts in one word, so a pick changes both with one atomic add: requests in flight
    /// (low 32 bits: picked, guard not dropped) and requests *awaiting* an answer (high 32
    /// bits: picked, outcome not recorded; what the server is still working on, as it counts
    /// them in its utilization, a streaming response body no longer counting).
    pub(crate) flights: AtomicU64,
    pub(crate) answered: AtomicBool,
    /// Set by active health checks; true until a check says otherwise.
    pub(crate) active_healthy: AtomicBool,
    pub(crate) outlier: OutlierState,
    pub(crate) requests: AtomicU64,
    pub(crate) last_picked_ns: AtomicU64,
    // The second line.
    pub(crate) first_seen_ns: u64,
    pub(crate) errors: Decaying,
    pub(crate) utilization: Sample,
    /// Requests the endpoint serves at once, estimated from reported utilization (a running
    /// median of
    /// `awaiting / utilization`); 0 until a report allows an estimate.
    pub(crate) capacity: AtomicU64,
    pub(crate) latency: PeakEwma,
}

impl EndpointStats {
    fn new(now_ns: u64) -> Self {
        Self {
            flights: AtomicU64::new(0),
            answered: AtomicBool::new(false),
            first_seen_ns: now_ns,
            last_picked_ns: AtomicU64::new(0),
            errors: Decaying::default(),
            latency: PeakEwma::default(),
            utilization: Sample::default(),
            capacity: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            outlier: OutlierState::default(),
            active_healthy: AtomicBool::new(true),
        }
    }

    pub fn in_flight(&self) -> u32 {
        (self.flights.load(Ordering::Relaxed) & IN_FLIGHT) as u32
    }

    pub fn answered(&self) -> bool {
        self.answered.load(Ordering::Relaxed)
    }

    /// Attempts sent to this endpoint so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Client health as this balancer sees it: a time-decayed EWMA, in [0, 1], of attempts
    /// that failed for load or connection reasons.
    pub fn error_score(&self, now_ns: u64, half_life_ns: u64) -> f64 {
        self.errors.get(now_ns, half_life_ns)
    }

    /// The peak-EWMA latency estimate in nanoseconds, decayed to `now_ns`; `None` before the
    /// first answer (or when it has decayed to nothing).
    pub fn latency_ns(&self, now_ns: u64, tau_ns: u64) -> Option<f64> {
        self.answered()
            .then(|| self.latency.get(now_ns, tau_ns, 0.0))
            .filter(|l| *l > 0.0)
    }

    /// The last reported utilization, faded by its age; `None` if absent or stale.
    pub fn utilization(&self, now_ns: u64, half_life_ns: u64, stale_ns: u64) -> Option<f64> {
        let (value, age) = self.utilization.get(now_ns)?;
        (age <= stale_ns).then(|| value * crate::decay::decay_factor(age, half_life_ns))
    }

    /// Estimated concurrency capacity (requests served at once), if reports allowed one and
    /// still come: the estimate lapses once the last utilization report is older than
    /// `stale_ns` (a server that stops reporting, say a new version without them, is no
    /// longer held to what an old one could serve).
    pub fn capacity(&self, now_ns: u64, stale_ns: u64) -> Option<f64> {
        let (_, age) = self.utilization.get(now_ns)?;
        if age > stale_ns {
            return None;
        }
        self.learned_capacity()
    }

    fn learned_capacity(&self) -> Option<f64> {
        let bits = self.capacity.load(Ordering::Relaxed);
        (bits != 0).then(|| f64::from_bits(bits))
    }

    /// Requests sent to the endpoint that it has not answered yet.
    pub fn awaiting(&self) -> u32 {
        (self.flights.load(Ordering::Relaxed) >> 32) as u32
    }

    /// Folds one utilization report into the capacity estimate: the requests this balancer
    /// was awaiting answers to (the answering one included, as the server counted it when it
    /// reported) over the utilization they produced. After reports lapsed (`afresh`), the
    /// old estimate is forgotten rather than blended.
    fn learn_capacity(&self, utilization: f64, afresh: bool) {
        let awaiting = f64::from(self.awaiting());
        if utilization < 0.05 || awaiting < 2.0 {
            return;
        }
        let sample = awaiting / utilization;
        let next = match self.learned_capacity().filter(|_| !afresh) {
            None => sample,
            // Toward the sample by at most a small share of the estimate: the median of the
            // samples, not their mean, which the rare sample far too high would drag up.
            Some(current) => {
                let step = CAPACITY_STEP * current;
                current + (sample - current).clamp(-step, step)
            }
        };
        self.capacity
            .store(next.max(1.0).to_bits(), Ordering::Relaxed);
    }

    /// Outlier-detection state (ejections so far).
    pub fn outlier(&self) -> &OutlierState {
        &self.outlier
    }

    /// How long this balancer has known the endpoint, for warm-up; `u64::MAX` for endpoints
    /// present when the cluster was built (established servers, not new ones).
    pub fn age_ns(&self, now_ns: u64) -> u64 {
        age_since(self.first_seen_ns, now_ns)
    }

    pub fn first_seen_ns(&self) -> u64 {
        self.first_seen_ns
    }
}

/// Time since `first_seen_ns`; `u64::MAX` for 0 (present when the cluster was built).
fn age_since(first_seen_ns: u64, now_ns: u64) -> u64 {
    match first_seen_ns {
        0 => u64::MAX,
        first => now_ns.saturating_sub(first),
    }
}

/// One upstream instance: where it is, its static attributes, and its live stats (first, on
/// a cache line of their own).
#[derive(Debug)]
#[repr(C, align(64))]
pub struct Endpoint {
    pub stats: EndpointStats,
    /// Unique for the life of the process; survives membership updates.
    pub id: u64,
    pub weight: u32,
    pub address: String,
    pub zone: Option<String>,
}

/// The endpoints of one cluster as of one membership version, with the cluster's timebase.
/// Cheap to clone (one `Arc`).
#[derive(Debug, Clone)]
pub struct EndpointSet {
    inner: Arc<SetInner>,
}

#[derive(Debug)]
pub struct SetInner {
    endpoints: Box<[Arc<Endpoint>]>,
    pub(crate) time: Timebase,
    pub(crate) params: StatParams,
    availability: Availability,
    /// When the longest-known endpoint was first seen (0: present when the cluster was built).
    oldest_seen_ns: u64,
}

impl std::ops::Deref for EndpointSet {
    type Target = SetInner;
    fn deref(&self) -> &SetInner {
        &self.inner
    }
}

impl EndpointSet {
    fn from_parts(endpoints: Box<[Arc<Endpoint>]>, time: Timebase, params: StatParams) -> Self {
        let availability = Availability::default();
        let oldest_seen_ns = (endpoints.iter())
            .map(|e| e.stats.first_seen_ns)
            .min()
            .unwrap_or(0);
        Self {
            inner: Arc::new(SetInner {
                endpoints,
                time,
                params,
                availability,
                oldest_seen_ns,
            }),
        }
    }
}

/// How many endpoints were available when last counted (recounted at most every 50 ms, so
/// the panic check costs O(1) per pick).
#[derive(Debug, Default)]
struct Availability {
    available: AtomicU64,
    counted_at_ns: AtomicU64,
}

const RECOUNT_NS: u64 = 50_000_000;

/// What an endpoint is, before it has stats.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EndpointSpec {
    pub address: String,
    pub weight: u32,
    pub zone: Option<String>,
}

impl EndpointSpec {
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            weight: 1,
            zone: None,
        }
    }
}

impl EndpointSet {
    /// A cluster's first set. Its endpoints are not new servers, only new to this balancer
    /// (the gateway just started), so they are not warmed up; they are on probation until they
    /// answer. Endpoints added later by [`EndpointSet::update`] are new: both apply.
    pub fn new(specs: &[EndpointSpec], time: Timebase, params: StatParams) -> Self {
        let endpoints = specs.iter().map(|s| Arc::new(endpoint(s, 0))).collect();
        Self::from_parts(endpoints, time, params)
    }

    /// A set with the given weights on the system clock, for tests and simple uses.
    pub fn with_weights(weights: &[u32]) -> Self {
        let specs: Vec<EndpointSpec> = weights
            .iter()
            .enumerate()
            .map(|(i, w)| EndpointSpec {
                address: format!("e{i}"),
                weight: *w,
                zone: None,
            })
            .collect();
        let time = Timebase::new(Arc::new(switchyard_core::SystemClock));
        Self::new(&specs, time, StatParams::default())
    }

    /// The next membership: endpoints still present keep their stats (and in-flight counts);
    /// new ones start fresh.
    pub fn update(&self, specs: &[EndpointSpec]) -> Self {
        let now = self.time.now_ns();
        let endpoints = specs
            .iter()
            .map(|s| {
                let kept = self
                    .endpoints
                    .iter()
                    .find(|e| e.address == s.address && e.weight == s.weight && e.zone == s.zone);
                kept.cloned().unwrap_or_else(|| Arc::new(endpoint(s, now)))
            })
            .collect();
        Self::from_parts(endpoints, self.time.clone(), self.params.clone())
    }

    /// The endpoints that satisfy `keep`, sharing their stats with this set.
    pub fn subset(&self, keep: impl Fn(&Endpoint) -> bool) -> Self {
        let endpoints = self.endpoints.iter().filter(|e| keep(e)).cloned().collect();
        Self::from_parts(endpoints, self.time.clone(), self.params.clone())
    }

    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    pub fn get(&self, index: usize) -> &Arc<Endpoint> {
        &self.endpoints[index]
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Endpoint>> {
        self.endpoints.iter()
    }

    pub fn weight(&self, index: usize) -> u32 {
        self.endpoints[index].weight.max(1)
    }

    pub fn stats(&self, index: usize) -> &EndpointStats {
        &self.endpoints[index].stats
    }

    /// How long this balancer has known its longest-known endpoint (`u64::MAX` if that one was
    /// present when the cluster was built): warm-up is relative to it, so a set whose
    /// endpoints all joined together (a red-black deploy, once the old group is gone) is not
    /// held back.
    pub fn oldest_age_ns(&self, now_ns: u64) -> u64 {
        age_since(self.oldest_seen_ns, now_ns)
    }

    pub fn now_ns(&self) -> u64 {
        self.time.now_ns()
    }

    pub fn params(&self) -> &StatParams {
        &self.params
    }

    /// Whether `index` may take traffic: not ejected by outlier detection and not failed by
    /// active health checks.
    pub fn is_available(&self, index: usize, now_ns: u64) -> bool {
        let stats = &self.endpoints[index].stats;
        stats.active_healthy.load(Ordering::Relaxed) && !stats.outlier.is_ejected(now_ns)
    }

    /// Panic mode: too few endpoints are available, so balance over all of them rather than
    /// overload the few (or fail everything).
    pub fn in_panic(&self, now_ns: u64) -> bool {
        let a = &self.availability;
        let counted = a.counted_at_ns.load(Ordering::Relaxed);
        let available = if counted == 0 || now_ns.saturating_sub(counted) > RECOUNT_NS {
            let n = (0..self.len())
                .filter(|&i| self.is_available(i, now_ns))
                .count() as u64;
            a.available.store(n, Ordering::Relaxed);
            a.counted_at_ns.store(now_ns, Ordering::Relaxed);
            n
        } else {
            a.available.load(Ordering::Relaxed)
        };
        (available as f64) < self.params.panic_threshold * self.len() as f64
    }

    /// Forces a recount of available endpoints at the next pick (after a health change).
    pub fn availability_changed(&self) {
        self.availability.counted_at_ns.store(0, Ordering::Relaxed);
    }

    /// Sets the active health check verdict for `index`.
    pub fn set_active_health(&self, index: usize, healthy: bool) {
        self.endpoints[index]
            .stats
            .active_healthy
            .store(healthy, Ordering::Relaxed);
        self.availability_changed();
    }

    /// The capacity `index` learned from its utilization reports, while they are fresh.
    pub fn capacity(&self, index: usize) -> Option<f64> {
        let now = self.time.now_ns();
        self.stats(index)
            .capacity(now, self.params.utilization_stale_ns)
    }

    /// Whether `index` awaits fewer answers than its learned capacity (from its utilization
    /// reports), so that one more request there would likely be served. `true` without an
    /// estimate.
    pub fn has_room(&self, index: usize) -> bool {
        let awaiting = f64::from(self.stats(index).awaiting());
        self.capacity(index)
            .is_none_or(|c| awaiting < capacity_limit(c))
    }

    /// Marks `index` as chosen; it counts as in flight until the returned guard drops.
    pub fn pick(&self, index: usize) -> Pick {
        let stats = &self.endpoints[index].stats;
        let now = self.time.now_ns();
        let before = stats.flights.fetch_add(AWAITING | 1, Ordering::Relaxed);
        crate::decay::bump(&stats.requests, 1);
        stats.last_picked_ns.store(now, Ordering::Relaxed);
        Pick {
            index,
            endpoint: Arc::clone(&self.endpoints[index]),
            started_ns: now,
            position: (before >> 32) as u32 + 1,
            recorded: false,
        }
    }
}

/// The most answers an endpoint of learned capacity `c` may be awaiting at once: the whole
/// places in `c`, allowing an estimate to sit a little under the server's true limit.
/// Capacity samples err high (requests on their way count for the balancer, not yet for the
/// server), so an estimate of 8.6 for a server of 8 is common, and rounding it would offer the
/// server a ninth request to shed.
fn capacity_limit(c: f64) -> f64 {
    (c + CAPACITY_SLACK).floor().max(1.0)
}

/// The most one capacity sample moves the estimate, as a share of it.
const CAPACITY_STEP: f64 = 0.01;

/// How far under a whole number an estimate may sit and still count it.
const CAPACITY_SLACK: f64 = 0.1;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// One request awaiting an answer, in `EndpointStats::flights`.
const AWAITING: u64 = 1 << 32;
/// The in-flight half of `EndpointStats::flights`.
const IN_FLIGHT: u64 = u32::MAX as u64;

fn endpoint(spec: &EndpointSpec, now_ns: u64) -> Endpoint {
    Endpoint {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        address: spec.address.clone(),
        weight: spec.weight.max(1),
        zone: spec.zone.clone(),
        stats: EndpointStats::new(now_ns),
    }
}

/// One chosen endpoint. Report the outcome with [`Pick::record`] when the response head
/// arrives (or the attempt fails); dropping the guard ends the in-flight count.
///
/// It holds its endpoint, not the set: a clone of the set's `Arc` per pick would write one
/// cache line that every thread picking from the set shares.
#[derive(Debug)]
pub struct Pick {
    index: usize,
    endpoint: Arc<Endpoint>,
    started_ns: u64,
    /// Answers the endpoint awaited when this pick was made, this one included: concurrent
    /// picks of one endpoint each get their own place in line.
    position: u32,
    recorded: bool,
}

impl Pick {
    pub fn index(&self) -> usize {
        self.index
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Whether this pick's place in its endpoint's line lies beyond the capacity learned from
    /// utilization reports, so the endpoint would likely shed it. `false` without an estimate.
    /// Of concurrent picks of one endpoint with room for one, exactly one is within capacity.
    /// `set` says how long reports stay fresh; they are judged as of the pick (no clock read).
    pub fn over_capacity(&self, set: &EndpointSet) -> bool {
        self.endpoint()
            .stats
            .capacity(self.started_ns, set.params.utilization_stale_ns)
            .is_some_and(|c| f64::from(self.position) > capacity_limit(c))
    }

    /// Whether the outcome has been recorded.
    pub fn is_recorded(&self) -> bool {
        self.recorded
    }

    /// Feeds the outcome into the endpoint's stats and outlier detection (once); true if it
    /// made outlier detection eject the endpoint. `set` is the set it was picked from, or one
    /// that replaced it (the endpoint is then looked up); without the endpoint, the stats learn
    /// and nothing is ejected.
    pub fn record(&mut self, set: &EndpointSet, outcome: Outcome) -> bool {
        if std::mem::replace(&mut self.recorded, true) {
            return false;
        }
        let now = set.time.now_ns();
        let params = &set.params;
        let stats = &self.endpoint.stats;
        let latency = now.saturating_sub(self.started_ns) as f64;
        let failed = if outcome.kind.is_error() { 1.0 } else { 0.0 };
        stats
            .errors
            .blend(failed, params.error_alpha, now, params.decay_half_life_ns);
        if !outcome.kind.is_gateway_failure() {
            stats.answered.store(true, Ordering::Relaxed);
            stats.latency.observe(latency, now, params.ewma_tau_ns);
        }
        if let Some(u) = outcome.utilization.filter(|u| u.is_finite()) {
            let u = u.clamp(0.0, 1.0);
            let lapsed = stats
                .utilization
                .get(now)
                .is_none_or(|(_, age)| age > params.utilization_stale_ns);
            stats.utilization.set(u, now);
            // A shed request was not counted in the report it carries.
            if outcome.kind == OutcomeKind::Success {
                stats.learn_capacity(u, lapsed);
            }
        }
        stats.flights.fetch_sub(AWAITING, Ordering::Relaxed);
        self.index_in(set)
            .is_some_and(|i| crate::outlier::observe(set, i, outcome.kind, now))
    }
}

impl Pick {
    /// Where `set` holds this pick's endpoint: at its index when `set` is the one it was picked
    /// from.
    fn index_in(&self, set: &EndpointSet) -> Option<usize> {
        let at = |i: usize| {
            set.endpoints
                .get(i)
                .is_some_and(|e| Arc::ptr_eq(e, &self.endpoint))
        };
        if at(self.index) {
            return Some(self.index);
        }
        (0..set.len()).find(|&i| at(i))
    }
}

impl Drop for Pick {
    fn drop(&mut self) {
        let done = if self.recorded { 1 } else { AWAITING | 1 };
        self.endpoint
            .stats
            .flights
            .fetch_sub(done, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn capacity_is_learned_from_utilization_reports() {
        let set = EndpointSet::with_weights(&[1]);
        assert_eq!(set.capacity(0), None);
        // Four requests in flight (the answering one included), the server reports half its
        // workers busy: 8 slots.
        for _ in 0..200 {
            let others: Vec<Pick> = (0..3).map(|_| set.pick(0)).collect();
            set.pick(0).record(
                &set,
                Outcome {
                    kind: OutcomeKind::Success,
                    utilization: Some(0.5),
                },
            );
            drop(others);
        }
        let capacity = set.capacity(0).unwrap();
        assert!((capacity - 8.0).abs() < 0.01, "{capacity}");
        // A shed answer teaches nothing: the server did not count it.
        let others: Vec<Pick> = (0..9).map(|_| set.pick(0)).collect();
        set.pick(0).record(
            &set,
            Outcome {
                kind: OutcomeKind::Overloaded,
                utilization: Some(1.0),
            },
        );
        drop(others);
        assert_eq!(set.capacity(0), Some(capacity));
    }

    /// One answer from endpoint 0 of `set` reporting `utilization` while `awaiting` answers
    /// are awaited (the answering one included): a capacity sample of `awaiting / utilization`.
    fn sample(set: &EndpointSet, awaiting: usize, utilization: f64) {
        let mut picks: Vec<Pick> = (0..awaiting).map(|_| set.pick(0)).collect();
        picks[0].record(
            set,
            Outcome {
                kind: OutcomeKind::Success,
                utilization: Some(utilization),
            },
        );
    }

    #[test]
    fn samples_far_too_high_barely_move_the_capacity_estimate() {
        let set = EndpointSet::with_weights(&[1]);
        sample(&set, 4, 0.5);
        assert_eq!(set.capacity(0), Some(8.0));
        // Ten answers read after a stall, each while nine were awaited of a server reporting
        // three in flight of eight: samples of 24.
        for _ in 0..10 {
            sample(&set, 9, 3.0 / 8.0);
        }
        let capacity = set.capacity(0).unwrap();
        assert!(capacity < 8.9, "{capacity}");
        let eight: Vec<Pick> = (0..8).map(|_| set.pick(0)).collect();
        assert!(!set.has_room(0), "still eight places, not nine: {capacity}");
        drop(eight);
        // Samples of the true limit bring it back, and a real change is followed.
        for _ in 0..20 {
            sample(&set, 4, 0.5);
        }
        assert_eq!(set.capacity(0), Some(8.0));
        for _ in 0..100 {
            sample(&set, 8, 0.5);
        }
        assert_eq!(set.capacity(0), Some(16.0), "the server's limit doubled");
    }

    #[test]
    fn an_estimate_a_little_under_a_whole_number_counts_it() {
        let set = EndpointSet::with_weights(&[1]);
        sample(&set, 2, 0.25);
        sample(&set, 7, 0.9);
        let capacity = set.capacity(0).unwrap();
        assert!((7.9..8.0).contains(&capacity), "{capacity}");
        let seven: Vec<Pick> = (0..7).map(|_| set.pick(0)).collect();
        assert!(set.has_room(0), "an eighth place at {capacity}");
        let eighth = set.pick(0);
        assert!(!set.has_room(0));
        drop((seven, eighth));
    }

    #[test]
    fn an_answered_request_stops_counting_against_capacity() {
        let set = EndpointSet::with_weights(&[1]);
        sample(&set, 2, 1.0);
        assert_eq!(set.capacity(0), Some(2.0));
        let mut streaming = set.pick(0);
        let waiting = set.pick(0);
        assert!(!waiting.over_capacity(&set), "second in line, capacity 2");
        assert!(!set.has_room(0));
        let third = set.pick(0);
        assert!(third.over_capacity(&set), "third in line, capacity 2");
        drop(third);
        streaming.record(&set, Outcome::of(OutcomeKind::Success));
        assert_eq!(set.stats(0).in_flight(), 2, "its body still streams");
        assert_eq!(set.stats(0).awaiting(), 1);
        assert!(set.has_room(0));
        assert!(!set.pick(0).over_capacity(&set));
    }

    #[test]
    fn a_capacity_lapses_when_reports_stop_and_is_then_learned_afresh() {
        let clock = switchyard_core::ManualClock::new();
        let time = Timebase::new(Arc::new(clock.clone()));
        let set = EndpointSet::new(&[EndpointSpec::new("e0")], time, StatParams::default());
        let stale = Duration::from_nanos(set.params().utilization_stale_ns);
        sample(&set, 2, 1.0);
        let held = [set.pick(0), set.pick(0)];
        assert!(!set.has_room(0), "two awaited, capacity 2");
        assert!(set.pick(0).over_capacity(&set));
        clock.advance(stale + Duration::from_millis(1));
        assert_eq!(set.capacity(0), None, "no report for longer than {stale:?}");
        assert!(set.has_room(0), "no longer held to the old estimate");
        assert!(!set.pick(0).over_capacity(&set));
        drop(held);
        // Reports resume from a server that serves 10 at once: learned from them alone, not
        // blended with the 2 it could serve before.
        sample(&set, 10, 1.0);
        assert_eq!(set.capacity(0), Some(10.0));
    }

    #[test]
    fn of_concurrent_picks_only_those_within_capacity_get_through() {
        let set = EndpointSet::with_weights(&[1]);
        sample(&set, 3, 1.0);
        assert_eq!(set.capacity(0), Some(3.0));
        let _busy = set.pick(0);
        // Two more picks race for the two places left, and a third for none.
        let picks: Vec<Pick> = (0..3).map(|_| set.pick(0)).collect();
        let over: Vec<bool> = picks.iter().map(|p| p.over_capacity(&set)).collect();
        assert_eq!(over, [false, false, true]);
    }

    #[test]
    fn an_outcome_recorded_into_a_replacing_set_finds_its_endpoint() {
        let set = EndpointSet::with_weights(&[1, 1]);
        let pick = set.pick(1);
        let kept = [EndpointSpec::new(pick.endpoint().address.clone())];
        let replaced = set.update(&kept);
        assert_eq!(pick.index_in(&set), Some(1));
        assert_eq!(pick.index_in(&replaced), Some(0), "moved from index 1 to 0");
        assert_eq!(pick.index_in(&EndpointSet::with_weights(&[1, 1])), None);
    }

    #[test]
    fn what_a_pick_writes_and_least_request_reads_shares_one_cache_line() {
        use std::mem::{offset_of, size_of};
        let end = |offset: usize, size: usize| offset + size;
        let first_line = [
            end(offset_of!(EndpointStats, flights), 8),
            end(offset_of!(EndpointStats, active_healthy), 1),
            end(
                offset_of!(EndpointStats, outlier),
                size_of::<OutlierState>(),
            ),
            end(offset_of!(EndpointStats, requests), 8),
            end(offset_of!(EndpointStats, last_picked_ns), 8),
        ];
        assert!(first_line.iter().all(|&e| e <= 64), "{first_line:?}");
        assert_eq!(offset_of!(Endpoint, stats), 0);
        assert_eq!(std::mem::align_of::<Endpoint>(), 64);
        assert_eq!(offset_of!(EndpointStats, first_seen_ns), 64);
        assert!(
            size_of::<EndpointStats>() <= 128,
            "edge reads two lines, not three"
        );
    }

    #[test]
    fn pick_counts_in_flight_until_dropped() {
        let set = EndpointSet::with_weights(&[1, 1]);
        let a = set.pick(1);
        let b = set.pick(1);
        assert_eq!(set.stats(1).in_flight(), 2);
        drop(a);
        assert_eq!(set.stats(1).in_flight(), 1);
        drop(b);
        assert_eq!(set.stats(1).in_flight(), 0);
        assert_eq!(set.stats(0).in_flight(), 0);
    }

    #[test]
    fn update_keeps_stats_of_endpoints_that_stay() {
        let specs = [EndpointSpec::new("a"), EndpointSpec::new("b")];
        let set = EndpointSet::new(
            &specs,
            Timebase::new(Arc::new(switchyard_core::SystemClock)),
            StatParams::default(),
        );
        let mut p = set.pick(1);
        p.record(&set, Outcome::of(OutcomeKind::Success));
        let next = set.update(&[EndpointSpec::new("b"), EndpointSpec::new("c")]);
        assert!(next.stats(0).answered(), "b kept what it learned");
        assert_eq!(next.stats(0).in_flight(), 1, "and its request in flight");
        assert!(!next.stats(1).answered(), "c is new");
        drop(p);
        assert_eq!(next.stats(0).in_flight(), 0);
    }
}
