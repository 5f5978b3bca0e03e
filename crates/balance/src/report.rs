//! A read-only report of what the balancer knows of one endpoint right now, for the admin API,
//! metrics and tests: every signal `edge` judges, decayed to now as a pick would see it.

use crate::endpoint::EndpointSet;
use std::sync::atomic::Ordering;

/// One endpoint as the balancer sees it at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointReport {
    /// Requests picked and not finished (their response body may still stream).
    pub in_flight: u32,
    /// Requests sent and not answered yet (what the server is still working on).
    pub awaiting: u32,
    /// Times it was picked so far (an attempt, or a pick given up to wait for room).
    pub requests: u64,
    /// Whether it has answered since it joined (probation ends then).
    pub answered: bool,
    /// Time-decayed share of attempts that failed for load or connection reasons, in [0, 1].
    pub error_score: f64,
    /// Peak-EWMA latency estimate in milliseconds; `None` before the first answer.
    pub latency_ms: Option<f64>,
    /// Last reported utilization, faded by its age; `None` if absent or stale.
    pub utilization: Option<f64>,
    /// Requests it serves at once, learned from its utilization reports while they are fresh.
    pub capacity: Option<f64>,
    /// The last verdict of active health checks (true when none run).
    pub active_healthy: bool,
    /// Taken out by outlier detection right now.
    pub ejected: bool,
    /// Times outlier detection has taken it out.
    pub ejections: u64,
    /// Seconds since this balancer learned of it; `None` for endpoints present when the
    /// cluster was first built (not new, so never warming up).
    pub age_s: Option<f64>,
}

impl EndpointReport {
    /// Neither ejected by outlier detection nor failed by active health checks.
    pub fn available(&self) -> bool {
        self.active_healthy && !self.ejected
    }
}

impl EndpointSet {
    /// What the balancer knows of `index` now.
    pub fn report(&self, index: usize) -> EndpointReport {
        let now = self.now_ns();
        let params = self.params();
        let stats = self.stats(index);
        let age = stats.age_ns(now);
        EndpointReport {
            in_flight: stats.in_flight(),
            awaiting: stats.awaiting(),
            requests: stats.requests(),
            answered: stats.answered(),
            error_score: stats.error_score(now, params.decay_half_life_ns),
            latency_ms: stats.latency_ns(now, params.ewma_tau_ns).map(|ns| ns / 1e6),
            utilization: stats.utilization(
                now,
                params.decay_half_life_ns,
                params.utilization_stale_ns,
            ),
            capacity: stats.capacity(now, params.utilization_stale_ns),
            active_healthy: stats.active_healthy.load(Ordering::Relaxed),
            ejected: stats.outlier().is_ejected(now),
            ejections: stats.outlier().ejections(),
            age_s: (age != u64::MAX).then(|| age as f64 / 1e9),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Outcome, OutcomeKind};

    #[test]
    fn a_report_shows_what_the_outcomes_taught() {
        let set = EndpointSet::with_weights(&[1, 1]);
        let fresh = set.report(1);
        assert_eq!((fresh.requests, fresh.answered), (0, false));
        assert_eq!(
            (fresh.latency_ms, fresh.utilization, fresh.capacity),
            (None, None, None)
        );
        let _held = set.pick(0);
        let mut answered = set.pick(0);
        let mut third = set.pick(0);
        let before = set.report(0);
        assert_eq!(
            (before.in_flight, before.awaiting, before.requests),
            (3, 3, 3)
        );
        let report = |u| Outcome {
            kind: OutcomeKind::Success,
            utilization: Some(u),
        };
        answered.record(&set, report(0.75));
        third.record(&set, report(0.5));
        let after = set.report(0);
        assert_eq!((after.in_flight, after.awaiting), (3, 1));
        assert!(after.answered && after.available());
        let utilization = after.utilization.unwrap();
        assert!((0.49..=0.5).contains(&utilization), "{utilization}");
        // awaiting 3 at a utilization of 0.75: a capacity of 4, nudged by the next sample.
        let capacity = after.capacity.unwrap();
        assert!((3.9..4.1).contains(&capacity), "{capacity}");
        assert_eq!(after.error_score, 0.0);
        assert_eq!(after.age_s, None, "present when the set was built");
    }
}
