//! The event loop: a virtual clock, a heap of events ordered by (time, sequence number), the
//! servers' queues, and the real balancers picking and recording.

use crate::config::{Config, ServerState, exponential};
use crate::report::{Collector, Report, RunFacts};
use crate::server::{Request, Requests, Server};
use crate::timeline::Timeline;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Duration;
use switchyard_balance::{
    Balancer, EndpointSet, EndpointSpec, Outcome, OutcomeKind, PickContext, Timebase,
};
use switchyard_core::{ManualClock, Rng};

/// Something that happens at a virtual time. The sequence number breaks ties in scheduling
/// order, so the run does not depend on how the heap orders equal times.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Event {
    at_ns: u64,
    seq: u64,
    kind: Kind,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// The next request arrives at a balancer.
    Arrival,
    /// Request (slab id) reaches its server.
    AtServer(u32),
    /// Request finishes service.
    Done(u32),
    /// Request's response reaches its balancer.
    AtBalancer(u32),
    /// A sick server answers request (slab id) with a 503.
    Refused(u32),
    /// An episode of server (index) begins or ends.
    Episode(usize),
    /// The balancer gives up on request (slab id, serial) if it is still unanswered.
    Deadline(u32, u64),
}

/// One balancer: its own view of the servers present and its algorithm.
struct Front {
    set: EndpointSet,
    balancer: Box<dyn Balancer>,
    /// Server index of each endpoint index of `set`.
    servers: Vec<usize>,
    /// Seeds for rebuilding the balancer when membership changes.
    seeds: Rng,
}

impl Front {
    fn new(cfg: &Config, clock: &ManualClock, present: &[usize], seed: u64) -> Self {
        let time = Timebase::new(Arc::new(clock.clone()));
        let set = EndpointSet::new(&specs(present), time, cfg.stat_params.clone());
        let mut seeds = Rng::seeded(seed);
        // Non-zero: a zero seed would switch the balancer to thread-local randomness.
        let balancer = cfg.policy.build(&set, seeds.u64() | 1);
        Front {
            set,
            balancer,
            servers: present.to_vec(),
            seeds,
        }
    }

    /// Membership is now `present`: endpoints that stay keep their stats, new ones start
    /// fresh (probation, warm-up), as on a discovery update.
    fn update(&mut self, cfg: &Config, present: &[usize]) {
        self.set = self.set.update(&specs(present));
        self.balancer = cfg.policy.build(&self.set, self.seeds.u64() | 1);
        self.servers = present.to_vec();
    }
}

fn specs(servers: &[usize]) -> Vec<EndpointSpec> {
    servers
        .iter()
        .map(|i| EndpointSpec::new(format!("s{i}")))
        .collect()
}

pub(crate) struct Engine<'a> {
    cfg: &'a Config,
    clock: ManualClock,
    now_ns: u64,
    seq: u64,
    events: BinaryHeap<Reverse<Event>>,
    /// Arrival times, balancer choices and each request's work, drawn in arrival order from
    /// one stream: request k is the same under every policy (common random numbers), so
    /// policies compare on the same traffic.
    rng: Rng,
    fronts: Vec<Front>,
    servers: Vec<Server>,
    requests: Requests,
    stats: Collector,
    /// Measurement window `[start, end)` on arrival times.
    window: (u64, u64),
    /// Measured requests not yet answered; the run ends once the window is over and this is 0.
    outstanding: u64,
    mean_gap_s: f64,
    delay_ns: u64,
    processed: u64,
    picked: u64,
    timeout_ns: Option<u64>,
}

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The state of server `i` at `at_ns`.
fn state_at(cfg: &Config, i: usize, at_ns: u64) -> Option<ServerState> {
    cfg.state_at(i, Duration::from_nanos(at_ns))
}

fn secs_to_ns(s: f64) -> u64 {
    // Saturating float-to-int cast; the sub-nanosecond rounding is immaterial.
    (s * 1e9).round() as u64
}

impl<'a> Engine<'a> {
    pub fn new(cfg: &'a Config) -> Self {
        let mut seeds = Rng::seeded(cfg.seed);
        let rng = Rng::seeded(seeds.u64());
        let clock = ManualClock::new();
        let mut servers: Vec<Server> = cfg.servers.iter().map(Server::new).collect();
        for (i, server) in servers.iter_mut().enumerate() {
            server.set_state(state_at(cfg, i, 0));
        }
        let present: Vec<usize> = (0..servers.len()).filter(|i| servers[*i].present).collect();
        let fronts = (0..cfg.balancers.max(1))
            .map(|_| Front::new(cfg, &clock, &present, seeds.u64()))
            .collect();
        let start = ns(cfg.warmup);
        let end = start.saturating_add(ns(cfg.duration));
        let bin_s = cfg.bin.as_secs_f64().max(1e-3);
        let bins = (end as f64 / 1e9 / bin_s).ceil() as usize;
        let timeline = Timeline::new(bins, bin_s, cfg.servers.len());
        let mut engine = Self {
            cfg,
            clock,
            now_ns: 0,
            seq: 0,
            events: BinaryHeap::new(),
            rng,
            fronts,
            servers,
            requests: Requests::default(),
            stats: Collector::new(cfg.servers.len(), timeline),
            window: (start, end),
            outstanding: 0,
            mean_gap_s: 1.0 / cfg.arrival_rate(),
            delay_ns: ns(cfg.network_delay),
            processed: 0,
            picked: 0,
            timeout_ns: cfg.timeout.map(ns),
        };
        for e in &cfg.episodes {
            engine.schedule(ns(e.from), Kind::Episode(e.server));
            engine.schedule(ns(e.until), Kind::Episode(e.server));
        }
        engine
    }

    pub fn run(mut self) -> Report {
        self.simulate();
        let facts = RunFacts {
            events: self.processed,
            simulated_requests: self.picked,
            now_ns: self.now_ns,
            measured_from_s: self.cfg.warmup.as_secs_f64(),
            events_s: self.event_times(),
        };
        self.stats.finish(facts)
    }

    /// Episode starts and ends after the start and before the end of the measurement window.
    fn event_times(&self) -> Vec<f64> {
        let mut times: Vec<u64> = (self.cfg.episodes.iter())
            .flat_map(|e| [ns(e.from), ns(e.until)])
            .filter(|t| self.window.0 < *t && *t < self.window.1)
            .collect();
        times.sort_unstable();
        times.dedup();
        times.into_iter().map(|t| t as f64 / 1e9).collect()
    }

    fn simulate(&mut self) {
        if self.cfg.servers.is_empty() || !self.mean_gap_s.is_finite() || self.mean_gap_s <= 0.0 {
            return;
        }
        let first = secs_to_ns(exponential(&mut self.rng, self.mean_gap_s));
        self.schedule(first, Kind::Arrival);
        while let Some(Reverse(event)) = self.events.pop() {
            if event.at_ns >= self.window.1 && self.outstanding == 0 {
                break;
            }
            if event.at_ns > self.now_ns {
                self.clock
                    .advance(Duration::from_nanos(event.at_ns - self.now_ns));
                self.now_ns = event.at_ns;
            }
            self.processed += 1;
            match event.kind {
                Kind::Arrival => self.arrival(),
                Kind::AtServer(id) => self.at_server(id),
                Kind::Done(id) => self.done(id),
                Kind::AtBalancer(id) => self.at_balancer(id),
                Kind::Refused(id) => self.refuse(id),
                Kind::Episode(server) => self.episode(server),
                Kind::Deadline(id, serial) => self.deadline(id, serial),
            }
        }
    }

    fn schedule(&mut self, at_ns: u64, kind: Kind) {
        self.seq += 1;
        let seq = self.seq;
        self.events.push(Reverse(Event { at_ns, seq, kind }));
    }

    fn arrival(&mut self) {
        let gap = secs_to_ns(exponential(&mut self.rng, self.mean_gap_s));
        self.schedule(self.now_ns.saturating_add(gap), Kind::Arrival);
        let measured = (self.window.0..self.window.1).contains(&self.now_ns);
        let work = self.cfg.service.sample(&mut self.rng);
        let front_index = self.rng.below(self.fronts.len());
        let front = &self.fronts[front_index];
        let picked = front.balancer.pick(&front.set, &PickContext::default());
        let server = picked.as_ref().map(|p| front.servers[p.index()]);
        self.stats.requests += u64::from(measured);
        self.stats.arrived(self.now_ns, server);
        let (Some(pick), Some(server)) = (picked, server) else {
            self.stats.no_endpoint += u64::from(measured);
            self.stats.failed(self.now_ns);
            return;
        };
        self.picked += 1;
        if measured {
            self.outstanding += 1;
            self.stats.sent[server] += 1;
        }
        let id = self.requests.insert(Request {
            pick: Some(pick),
            serial: self.picked,
            front: front_index,
            server,
            start_ns: self.now_ns,
            work,
            measured,
            outcome: OutcomeKind::Success,
            utilization: None,
        });
        if let Some(timeout) = self.timeout_ns {
            let at = self.now_ns.saturating_add(timeout);
            self.schedule(at, Kind::Deadline(id, self.picked));
        }
        self.travel(id, Kind::AtServer(id));
    }

    /// The balancer stops waiting for a request still unanswered: a `Timeout` for its
    /// endpoint and an error for the client. The server still serves it (nobody told it).
    fn deadline(&mut self, id: u32, serial: u64) {
        let Some(request) = self.requests.live_serial(id, serial) else {
            return;
        };
        let Some(mut pick) = request.pick.take() else {
            return;
        };
        let (front, measured, start_ns) = (request.front, request.measured, request.start_ns);
        pick.record(&self.fronts[front].set, Outcome::of(OutcomeKind::Timeout));
        self.stats.failed(start_ns);
        if measured {
            self.outstanding -= 1;
            self.stats.timeouts += 1;
        }
    }

    /// Sends a request or response over the network: at once without delay.
    fn travel(&mut self, id: u32, to: Kind) {
        match (self.delay_ns, to) {
            (0, Kind::AtServer(_)) => self.at_server(id),
            (0, _) => self.at_balancer(id),
            (delay, to) => self.schedule(self.now_ns.saturating_add(delay), to),
        }
    }

    fn at_server(&mut self, id: u32) {
        let server = &mut self.servers[self.requests.server(id)];
        if let Some(after) = server.sick_ns {
            match after {
                0 => self.refuse(id),
                after => self.schedule(self.now_ns.saturating_add(after), Kind::Refused(id)),
            }
        } else if server.full() {
            let utilization = server.utilization();
            self.requests
                .answer(id, OutcomeKind::Overloaded, utilization);
            self.travel(id, Kind::AtBalancer(id));
        } else if let Some(speed) = server.admit(id) {
            self.start_service(id, speed);
        }
    }

    fn start_service(&mut self, id: u32, speed: f64) {
        let work = self.requests.work(id) / speed;
        self.schedule(self.now_ns.saturating_add(secs_to_ns(work)), Kind::Done(id));
    }

    fn done(&mut self, id: u32) {
        let server = &mut self.servers[self.requests.server(id)];
        // Measured as the answer leaves, counting the answered request (as ORCA servers and
        // `switchyard_orca`'s layer report).
        let utilization = server.utilization();
        let next = server.finish();
        if let Some((next, speed)) = next {
            self.start_service(next, speed);
        }
        self.requests.answer(id, OutcomeKind::Success, utilization);
        self.travel(id, Kind::AtBalancer(id));
    }

    /// A sick server's fast 503.
    fn refuse(&mut self, id: u32) {
        let utilization = self.servers[self.requests.server(id)].utilization();
        self.requests
            .answer(id, OutcomeKind::Overloaded, utilization);
        self.travel(id, Kind::AtBalancer(id));
    }

    /// An episode of `server` began or ended: it takes its state for now, and the balancers
    /// learn of it joining or leaving.
    fn episode(&mut self, server: usize) {
        let was_present = self.servers[server].present;
        self.servers[server].set_state(state_at(self.cfg, server, self.now_ns));
        if self.servers[server].present != was_present {
            let present: Vec<usize> = (0..self.servers.len())
                .filter(|i| self.servers[*i].present)
                .collect();
            for front in &mut self.fronts {
                front.update(self.cfg, &present);
            }
        }
    }

    fn at_balancer(&mut self, id: u32) {
        let request = self.requests.remove(id);
        // Without its pick, the balancer gave up on it before the answer came.
        let Some(mut pick) = request.pick else {
            return;
        };
        let utilization = request.utilization.filter(|_| self.cfg.report_utilization);
        pick.record(
            &self.fronts[request.front].set,
            Outcome {
                kind: request.outcome,
                utilization,
            },
        );
        drop(pick);
        let success = request.outcome == OutcomeKind::Success;
        let took = self.now_ns - request.start_ns;
        match success {
            true => self.stats.succeeded(request.start_ns, took),
            false => self.stats.failed(request.start_ns),
        }
        if request.measured {
            self.outstanding -= 1;
            match success {
                true => self.stats.latency.record(took),
                false => self.stats.overloaded += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServiceTime;
    use switchyard_balance::Policy;

    #[test]
    fn balancers_see_virtual_time_and_reported_utilization() {
        let service = ServiceTime::Exponential {
            mean: Duration::from_millis(10),
        };
        let mut cfg = Config::identical(4, service, 0.8, Policy::Random);
        cfg.balancers = 2;
        cfg.duration = Duration::from_secs(1);
        cfg.network_delay = Duration::from_millis(1);
        for report in [true, false] {
            cfg.report_utilization = report;
            let mut engine = Engine::new(&cfg);
            engine.simulate();
            assert!(engine.now_ns >= ns(cfg.warmup + cfg.duration) - 50_000_000);
            let mut held = 0;
            for front in &engine.fronts {
                let now = front.set.now_ns();
                assert_eq!(now, engine.now_ns + 1, "the timebase counts from 1");
                let stats = (0..4).map(|i| front.set.stats(i));
                let reported = stats
                    .clone()
                    .filter_map(|s| s.utilization(now, u64::MAX, u64::MAX));
                assert_eq!(reported.count(), if report { 4 } else { 0 });
                held += stats.map(|s| s.in_flight() as usize).sum::<usize>();
            }
            // Picks are held until the response: the balancers' in-flight counts are exactly
            // the requests still in the system.
            assert_eq!(held, engine.requests.live());
        }
    }
}
