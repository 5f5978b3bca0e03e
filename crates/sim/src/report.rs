//! What a run measured: response times (a log-linear histogram, exact mean), errors, and each
//! server's share of the requests; rendered as a plain struct, `Debug` or CSV.

use crate::timeline::{Recovery, Timeline, ratio};
use std::fmt::Write as _;

/// The quantiles of [`Report::tail`]: a latency distribution for charts.
pub const TAIL_QUANTILES: [f64; 10] = [0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999];

/// Counts of nanosecond values in log-linear buckets: exact below 256 ns, then 128 buckets per
/// power of two (relative error under 0.4 %). Fixed size, so memory does not grow with a run.
#[derive(Debug, Clone)]
pub(crate) struct Histogram {
    counts: Vec<u64>,
    total: u64,
    sum_ns: u128,
    max_ns: u64,
}

const LINEAR: u64 = 256;
const SUB: u64 = 128;
const BUCKETS: usize = (LINEAR + 56 * SUB) as usize;

impl Histogram {
    pub fn new() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            total: 0,
            sum_ns: 0,
            max_ns: 0,
        }
    }

    fn index(v: u64) -> usize {
        if v < LINEAR {
            return v as usize;
        }
        let shift = 63 - v.leading_zeros() as u64 - 7;
        let top = v >> shift;
        (LINEAR + (shift - 1) * SUB + (top - SUB)) as usize
    }

    /// The midpoint of bucket `i`.
    fn value(i: usize) -> f64 {
        let i = i as u64;
        if i < LINEAR {
            return i as f64;
        }
        let shift = (i - LINEAR) / SUB + 1;
        let top = (i - LINEAR) % SUB + SUB;
        ((top << shift) as f64) + ((1u64 << shift) as f64) / 2.0
    }

    pub fn record(&mut self, ns: u64) {
        self.counts[Self::index(ns)] += 1;
        self.total += 1;
        self.sum_ns += u128::from(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    pub fn mean_s(&self) -> f64 {
        match self.total {
            0 => 0.0,
            n => self.sum_ns as f64 / n as f64 / 1e9,
        }
    }

    /// The value at quantile `q` in (0, 1], in seconds (0 when empty).
    pub fn quantile_s(&self, q: f64) -> f64 {
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total.max(1));
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank && c > 0 {
                return Self::value(i).min(self.max_ns as f64) / 1e9;
            }
        }
        0.0
    }
}

/// Response-time summary in seconds, from the balancer's pick to the response reaching it.
#[derive(Debug, Clone, PartialEq)]
pub struct Latency {
    /// Exact mean.
    pub mean: f64,
    /// Percentiles, within 0.4 % (histogram buckets).
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    /// The value at each of [`TAIL_QUANTILES`].
    pub tail: Vec<f64>,
}

/// The result of one run. Every count covers the measured requests only (those that arrived
/// in the measurement window), each followed to its response.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Measured requests.
    pub requests: u64,
    pub successes: u64,
    /// Answered 503 by a server over its concurrency limit.
    pub overloaded: u64,
    /// The balancer had no endpoint to offer.
    pub no_endpoint: u64,
    /// The balancer gave up waiting ([`Config::timeout`](crate::Config::timeout)).
    pub timeouts: u64,
    /// (overloaded + no_endpoint + timeouts) / requests.
    pub error_rate: f64,
    /// Time in system of successful requests.
    pub latency: Latency,
    /// Share of the measured requests sent to each server (by index), summing to 1.
    pub share: Vec<f64>,
    /// Events processed in the whole run, warm-up and drain included.
    pub events: u64,
    /// Requests picked in the whole run, warm-up and drain included.
    pub simulated_requests: u64,
    /// Virtual time simulated, in seconds.
    pub simulated_time: f64,
    /// Requests, errors and each server's traffic over time, warm-up included.
    pub timeline: Timeline,
    /// How long after each episode's start and end the error rate settled.
    pub recovery: Vec<Recovery>,
}

impl Report {
    /// Measured requests that ended in a load-related error (503, no endpoint, timeout).
    pub fn load_errors(&self) -> u64 {
        self.overloaded + self.no_endpoint + self.timeouts
    }

    /// The load-related error rate of several runs' measured requests pooled together.
    pub fn pooled_error_rate(reports: &[Report]) -> f64 {
        let errors = reports.iter().map(Report::load_errors).sum();
        ratio(errors, reports.iter().map(|r| r.requests).sum())
    }

    /// `key,value` lines, shares as `share.<index>`; the same report gives the same bytes.
    pub fn to_csv(&self) -> String {
        let l = &self.latency;
        let mut out = String::from("key,value\n");
        let rows: [(&str, f64); 15] = [
            ("requests", self.requests as f64),
            ("successes", self.successes as f64),
            ("overloaded", self.overloaded as f64),
            ("no_endpoint", self.no_endpoint as f64),
            ("timeouts", self.timeouts as f64),
            ("error_rate", self.error_rate),
            ("latency_mean_s", l.mean),
            ("latency_p50_s", l.p50),
            ("latency_p90_s", l.p90),
            ("latency_p99_s", l.p99),
            ("latency_p999_s", l.p999),
            ("latency_max_s", l.max),
            ("events", self.events as f64),
            ("simulated_requests", self.simulated_requests as f64),
            ("simulated_time_s", self.simulated_time),
        ];
        for (key, value) in rows {
            let _ = writeln!(out, "{key},{value}");
        }
        for (i, s) in self.share.iter().enumerate() {
            let _ = writeln!(out, "share.{i},{s}");
        }
        for r in &self.recovery {
            let after = r.after_s.map_or(String::from("never"), |s| s.to_string());
            let _ = writeln!(out, "recovery_after_event_at.{},{after}", r.at_s);
        }
        out
    }
}

/// Accumulates the measured requests during a run.
#[derive(Debug)]
pub(crate) struct Collector {
    pub latency: Histogram,
    pub requests: u64,
    pub overloaded: u64,
    pub no_endpoint: u64,
    pub timeouts: u64,
    pub sent: Vec<u64>,
    pub timeline: Timeline,
}

/// What the run was, for the parts of the report the collector cannot see.
pub(crate) struct RunFacts {
    pub events: u64,
    pub simulated_requests: u64,
    pub now_ns: u64,
    /// Start of the measurement window, in seconds.
    pub measured_from_s: f64,
    /// Episode starts and ends inside the run, in seconds, ascending.
    pub events_s: Vec<f64>,
}

impl Collector {
    pub fn new(servers: usize, timeline: Timeline) -> Self {
        Self {
            latency: Histogram::new(),
            requests: 0,
            overloaded: 0,
            no_endpoint: 0,
            timeouts: 0,
            sent: vec![0; servers],
            timeline,
        }
    }

    /// A request arrived at `at_ns` (measured or not) and was sent to `server` (if any).
    pub fn arrived(&mut self, at_ns: u64, server: Option<usize>) {
        if let Some(bin) = self.timeline.bin(at_ns) {
            self.timeline.requests[bin] += 1;
            if let Some(server) = server {
                self.timeline.sent[bin][server] += 1;
            }
        }
    }

    /// The request that arrived at `at_ns` succeeded after `ns`.
    pub fn succeeded(&mut self, at_ns: u64, ns: u64) {
        if let Some(bin) = self.timeline.bin(at_ns) {
            self.timeline.latency[bin].record(ns);
        }
    }

    /// The request that arrived at `at_ns` ended in a load-related error.
    pub fn failed(&mut self, at_ns: u64) {
        if let Some(bin) = self.timeline.bin(at_ns) {
            self.timeline.errors[bin] += 1;
        }
    }

    pub fn finish(self, facts: RunFacts) -> Report {
        let h = &self.latency;
        let picked: u64 = self.sent.iter().sum();
        let errors = self.overloaded + self.no_endpoint + self.timeouts;
        let recovery = self
            .timeline
            .recovery(facts.measured_from_s, &facts.events_s);
        Report {
            requests: self.requests,
            successes: h.total,
            overloaded: self.overloaded,
            no_endpoint: self.no_endpoint,
            timeouts: self.timeouts,
            error_rate: ratio(errors, self.requests),
            latency: Latency {
                mean: h.mean_s(),
                p50: h.quantile_s(0.5),
                p90: h.quantile_s(0.9),
                p99: h.quantile_s(0.99),
                p999: h.quantile_s(0.999),
                max: h.max_ns as f64 / 1e9,
                tail: TAIL_QUANTILES.map(|q| h.quantile_s(q)).to_vec(),
            },
            share: self.sent.iter().map(|&n| ratio(n, picked)).collect(),
            events: facts.events,
            simulated_requests: facts.simulated_requests,
            simulated_time: facts.now_ns as f64 / 1e9,
            timeline: self.timeline,
            recovery,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut last = 0;
        for v in (0..2_000_000u64).step_by(7).chain([u64::MAX / 3, u64::MAX]) {
            let i = Histogram::index(v);
            assert!(i >= last && i < BUCKETS, "{v}");
            last = i;
            let mid = Histogram::value(i);
            assert!(
                (mid - v as f64).abs() <= 0.004 * v as f64 + 0.5,
                "{v} -> {mid}"
            );
        }
    }

    #[test]
    fn quantiles_of_a_uniform_sample() {
        let mut h = Histogram::new();
        (1..=10_000u64).for_each(|v| h.record(v * 1000));
        assert!((h.quantile_s(0.5) / 5e-3 - 1.0).abs() < 0.005);
        assert!((h.quantile_s(0.99) / 9.9e-3 - 1.0).abs() < 0.005);
        assert!((h.mean_s() - 5.0005e-3).abs() < 1e-12);
    }
}
