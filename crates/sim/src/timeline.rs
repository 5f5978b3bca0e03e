//! Errors, traffic and latency over time: requests binned by arrival, and how long the fleet
//! takes to recover after each event (a server turning slow, sick, joining or leaving).

use crate::coarse::Coarse;
use std::ops::Range;

/// Requests by arrival time, in bins of `bin_s` seconds from the start of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    pub bin_s: f64,
    /// Requests that arrived in each bin.
    pub requests: Vec<u64>,
    /// Of those, how many ended in a load-related error (503, no endpoint, timeout).
    pub errors: Vec<u64>,
    /// Of those, how many were sent to each server: `sent[bin][server]`.
    pub sent: Vec<Vec<u64>>,
    /// Response times of those that succeeded.
    pub latency: Vec<Coarse>,
}

impl Timeline {
    pub(crate) fn new(bins: usize, bin_s: f64, servers: usize) -> Self {
        Self {
            bin_s,
            requests: vec![0; bins],
            errors: vec![0; bins],
            sent: vec![vec![0; servers]; bins],
            latency: vec![Coarse::default(); bins],
        }
    }

    /// Adds `other`'s counts, bin by bin (as far as both reach).
    pub(crate) fn add(&mut self, other: &Timeline) {
        for i in 0..self.requests.len().min(other.requests.len()) {
            self.requests[i] += other.requests[i];
            self.errors[i] += other.errors[i];
            for (a, b) in self.sent[i].iter_mut().zip(&other.sent[i]) {
                *a += b;
            }
            self.latency[i].merge(&other.latency[i]);
        }
    }

    /// The bins wholly inside `[from_s, to_s)`.
    pub fn bins_between(&self, from_s: f64, to_s: f64) -> Range<usize> {
        // The epsilon absorbs 0.4 / 0.1 = 4.000...1.
        let start = (from_s / self.bin_s - 1e-9).ceil() as usize;
        let end = ((to_s / self.bin_s + 1e-9).floor() as usize).min(self.requests.len());
        start..end.max(start)
    }

    /// The `q` quantile of the successful requests that arrived in `bins`, in seconds; `None`
    /// when none did.
    pub fn latency_quantile(&self, bins: Range<usize>, q: f64) -> Option<f64> {
        let mut pooled = Coarse::default();
        for h in &self.latency[bins] {
            pooled.merge(h);
        }
        pooled.quantile_s(q)
    }

    /// The bin of a request that arrived at `ns`, if the timeline covers it.
    pub(crate) fn bin(&self, ns: u64) -> Option<usize> {
        let i = (ns as f64 / 1e9 / self.bin_s) as usize;
        (i < self.requests.len()).then_some(i)
    }

    /// Load-related error rate of bin `i` (0 when it saw no request).
    pub fn error_rate(&self, i: usize) -> f64 {
        ratio(self.errors[i], self.requests[i])
    }

    /// Share of bin `i`'s sent requests that went to `server`.
    pub fn share(&self, i: usize, server: usize) -> f64 {
        ratio(self.sent[i][server], self.sent[i].iter().sum())
    }

    /// For each event time (seconds, ascending), how long after it the error rate was back at
    /// the level before the first event and stayed there until the next event (or the end):
    /// `None` if it never got back. "Back" is the error rate of the bins from `from_s` to the
    /// first event plus the larger of one percentage point and half of it.
    pub fn recovery(&self, from_s: f64, events_s: &[f64]) -> Vec<Recovery> {
        let Some(&first) = events_s.first() else {
            return Vec::new();
        };
        let bins = |a: f64, b: f64| self.bins_between(a, b);
        let before = bins(from_s, first);
        let baseline = ratio(
            self.errors[before.clone()].iter().sum(),
            self.requests[before].iter().sum(),
        );
        let threshold = baseline + (baseline / 2.0).max(0.01);
        let end_s = self.requests.len() as f64 * self.bin_s;
        events_s
            .iter()
            .enumerate()
            .map(|(k, &at_s)| {
                let next = events_s.get(k + 1).copied().unwrap_or(end_s);
                let segment = bins(at_s, next);
                let last_bad = segment
                    .clone()
                    .rev()
                    .find(|&i| self.error_rate(i) > threshold);
                let after_s = match last_bad {
                    Some(i) if i + 1 == segment.end => None,
                    Some(i) => Some((i + 1) as f64 * self.bin_s - at_s),
                    None => Some(0.0),
                };
                Recovery { at_s, after_s }
            })
            .collect()
    }
}

/// How long the error rate took to settle after an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovery {
    /// When the event happened (seconds from the start of the run).
    pub at_s: f64,
    /// Seconds until the error rate was back for good; `None`: not before the next event.
    pub after_s: Option<f64>,
}

pub(crate) fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeline(rates: &[u64]) -> Timeline {
        let mut t = Timeline::new(rates.len(), 0.1, 1);
        for (i, &e) in rates.iter().enumerate() {
            t.requests[i] = 100;
            t.errors[i] = e;
        }
        t
    }

    #[test]
    fn recovery_is_the_end_of_the_last_bad_bin_after_the_event() {
        // Bins of 100 ms; events at 0.4 s and 0.8 s; baseline 0 %, threshold 1 %.
        let t = timeline(&[0, 0, 1, 0, 30, 9, 2, 0, 40, 1, 0, 0]);
        let r = t.recovery(0.0, &[0.4, 0.8]);
        assert_eq!(r.len(), 2);
        assert!((r[0].after_s.unwrap() - 0.3).abs() < 1e-9, "{r:?}");
        assert!((r[1].after_s.unwrap() - 0.1).abs() < 1e-9, "{r:?}");
    }

    #[test]
    fn still_erring_at_the_next_event_is_not_recovered() {
        let t = timeline(&[0, 0, 50, 50, 0, 0]);
        let r = t.recovery(0.0, &[0.2, 0.4]);
        assert_eq!(r[0].after_s, None);
        assert_eq!(r[1].after_s, Some(0.0));
    }

    #[test]
    fn latency_in_a_window_pools_its_bins_only() {
        let mut t = timeline(&[0, 0, 0, 0]);
        for (bin, ms) in [(0, 1), (1, 50), (2, 2), (3, 2)] {
            (0..100).for_each(|_| t.latency[bin].record(ms * 1_000_000));
        }
        let p99 = |a, b| t.latency_quantile(t.bins_between(a, b), 0.99).unwrap();
        assert!((p99(0.1, 0.2) - 0.05).abs() < 0.002);
        assert!((p99(0.2, 0.4) - 0.002).abs() < 0.0001);
        assert!((p99(0.0, 0.2) - 0.05).abs() < 0.002);
        assert_eq!(t.latency_quantile(t.bins_between(0.4, 0.5), 0.99), None);
    }
}
