//! Passive outlier detection: eject endpoints that keep failing, for a time that grows with
//! each ejection, never more than a share of the cluster. Load shedding (503/429) is not
//! breakage: it moves load (through `edge`'s scores) but never ejects.

use crate::endpoint::{EndpointSet, OutcomeKind};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Per-endpoint outlier counters: 32 bytes, so that they share the cache line that every pick
/// reads and writes anyway (`EndpointStats`).
#[derive(Debug, Default)]
#[repr(C)]
pub struct OutlierState {
    /// Read by every pick: first.
    ejected_until_ns: AtomicU64,
    consecutive_5xx: AtomicU32,
    consecutive_gateway: AtomicU32,
    times_ejected: AtomicU32,
    ejections: AtomicU32,
    /// This interval's attempts: successes in the high 32 bits, all in the low 32 (one atomic
    /// add per outcome).
    window: AtomicU64,
}

impl OutlierState {
    pub fn is_ejected(&self, now_ns: u64) -> bool {
        self.ejected_until_ns.load(Ordering::Relaxed) > now_ns
    }

    /// How many times this endpoint has been ejected in all.
    pub fn ejections(&self) -> u64 {
        u64::from(self.ejections.load(Ordering::Relaxed))
    }
}

/// Updates the counters with one outcome and ejects if a consecutive threshold is reached;
/// true if this outcome ejected the endpoint.
pub(crate) fn observe(set: &EndpointSet, index: usize, kind: OutcomeKind, now_ns: u64) -> bool {
    let state = &set.stats(index).outlier;
    let p = &set.params().outlier;
    let shed_counts = p.overload_is_failure && matches!(kind, OutcomeKind::Overloaded);
    if matches!(kind, OutcomeKind::Success)
        || matches!(kind, OutcomeKind::Overloaded) && !shed_counts
    {
        crate::decay::bump(&state.window, (1 << 32) | 1);
        // Plain loads first: stores only when a streak is actually running.
        if state.consecutive_5xx.load(Ordering::Relaxed) != 0 {
            state.consecutive_5xx.store(0, Ordering::Relaxed);
        }
        if state.consecutive_gateway.load(Ordering::Relaxed) != 0 {
            state.consecutive_gateway.store(0, Ordering::Relaxed);
        }
        return false;
    }
    crate::decay::bump(&state.window, 1);
    let (c5xx, cgw) = match kind {
        OutcomeKind::ServerError | OutcomeKind::Overloaded => {
            state.consecutive_gateway.store(0, Ordering::Relaxed);
            (state.consecutive_5xx.fetch_add(1, Ordering::Relaxed) + 1, 0)
        }
        _ => (
            state.consecutive_5xx.fetch_add(1, Ordering::Relaxed) + 1,
            state.consecutive_gateway.fetch_add(1, Ordering::Relaxed) + 1,
        ),
    };
    let by_5xx = p.consecutive_5xx > 0 && c5xx >= p.consecutive_5xx;
    let by_gateway = p.consecutive_gateway > 0 && cgw >= p.consecutive_gateway;
    (by_5xx || by_gateway) && !state.is_ejected(now_ns) && eject(set, index, now_ns)
}

/// Ejects `index` unless that would take more than the allowed share of the cluster out.
pub fn eject(set: &EndpointSet, index: usize, now_ns: u64) -> bool {
    let p = &set.params().outlier;
    let ejected = (0..set.len())
        .filter(|&i| set.stats(i).outlier.is_ejected(now_ns))
        .count();
    let allowed = ((set.len() as f64 * p.max_ejection_percent).floor() as usize).max(1);
    if ejected + 1 > allowed {
        return false;
    }
    let state = &set.stats(index).outlier;
    let times = state.times_ejected.fetch_add(1, Ordering::Relaxed) + 1;
    let duration = p
        .base_ejection_ns
        .saturating_mul(u64::from(times))
        .min(p.max_ejection_ns);
    state
        .ejected_until_ns
        .store(now_ns.saturating_add(duration), Ordering::Relaxed);
    state.ejections.fetch_add(1, Ordering::Relaxed);
    state.consecutive_5xx.store(0, Ordering::Relaxed);
    state.consecutive_gateway.store(0, Ordering::Relaxed);
    set.availability_changed();
    true
}

/// Runs once per detection interval: success-rate ejection over the interval's counts, then
/// resets the windows and lets endpoints that stayed in earn back their ejection multiplier.
/// Returns the indices ejected.
pub fn interval_tick(set: &EndpointSet, now_ns: u64) -> Vec<usize> {
    let p = &set.params().outlier;
    let rates: Vec<(usize, f64)> = (0..set.len())
        .filter_map(|i| {
            let o = &set.stats(i).outlier;
            let window = o.window.swap(0, Ordering::Relaxed);
            let (total, success) = (window & 0xFFFF_FFFF, window >> 32);
            if !o.is_ejected(now_ns) && o.times_ejected.load(Ordering::Relaxed) > 0 {
                o.times_ejected.fetch_sub(1, Ordering::Relaxed);
            }
            (total >= p.success_rate_min_requests).then(|| (i, success as f64 / total as f64))
        })
        .collect();
    if rates.len() < p.success_rate_min_hosts {
        return Vec::new();
    }
    let mean = rates.iter().map(|(_, r)| r).sum::<f64>() / rates.len() as f64;
    let var = rates.iter().map(|(_, r)| (r - mean).powi(2)).sum::<f64>() / rates.len() as f64;
    let threshold = mean - p.success_rate_stdev_factor * var.sqrt();
    rates
        .iter()
        .filter(|(_, r)| *r < threshold)
        .filter(|(i, _)| eject(set, *i, now_ns))
        .map(|(i, _)| *i)
        .collect()
}
