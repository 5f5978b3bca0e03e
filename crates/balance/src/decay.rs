//! Values that fade: an `f64` stored with the time it was last updated, in two atomics.
//! Updates race benignly (the stats are estimates), and never take a lock.

use std::sync::atomic::{AtomicU64, Ordering};

/// A value that halves every `half_life` without new observations.
#[derive(Debug, Default)]
pub struct Decaying {
    bits: AtomicU64,
    at_ns: AtomicU64,
}

impl Decaying {
    /// The value as of `now_ns`.
    pub fn get(&self, now_ns: u64, half_life_ns: u64) -> f64 {
        let value = f64::from_bits(self.bits.load(Ordering::Relaxed));
        if value == 0.0 {
            return 0.0;
        }
        let at = self.at_ns.load(Ordering::Relaxed);
        value * decay_factor(now_ns.saturating_sub(at), half_life_ns)
    }

    /// Decays the value to `now_ns`, then moves it toward `x` by `alpha` (an EWMA of `x` per
    /// observation that also fades with time).
    pub fn blend(&self, x: f64, alpha: f64, now_ns: u64, half_life_ns: u64) {
        let current = self.get(now_ns, half_life_ns);
        if current == 0.0 && x == 0.0 {
            // Nothing to record, and no cache line to dirty (the common case: successes).
            return;
        }
        let value = current * (1.0 - alpha) + x * alpha;
        self.bits.store(value.to_bits(), Ordering::Relaxed);
        self.at_ns.store(now_ns, Ordering::Relaxed);
    }
}

/// Adds `n` to a statistics counter with a plain load and store rather than a locked
/// read-modify-write (about 1 ns instead of 15 on this machine). Two threads bumping the same
/// counter at the same instant may lose one increment: fine for sampled statistics (attempt
/// counts, success-rate windows), never used where counts must balance (requests in flight).
pub(crate) fn bump(counter: &AtomicU64, n: u64) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
}

/// `0.5 ^ (elapsed / half_life)`.
pub fn decay_factor(elapsed_ns: u64, half_life_ns: u64) -> f64 {
    if elapsed_ns == 0 {
        return 1.0;
    }
    if half_life_ns == 0 {
        return 0.0;
    }
    exp2_neg(elapsed_ns as f64 / half_life_ns as f64)
}

/// `2^-x` for `x >= 0`, without libm: the integer part scales the exponent bits, the fraction
/// goes through a degree-8 Taylor polynomial (relative error under 1e-6, exact at integers).
/// A third of the cost of `exp()`, which `edge` would otherwise call per candidate per pick.
pub(crate) fn exp2_neg(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return 1.0;
    }
    if x >= 1022.0 {
        return 0.0;
    }
    let whole = x.floor();
    let y = (x - whole) * std::f64::consts::LN_2;
    // e^-y, y in [0, ln 2), by Horner's rule; multiplying by 1/k (not dividing by k: eight
    // divisions were most of a pick's cost).
    const INV: [f64; 8] = [1.0, 0.5, 1.0 / 3.0, 0.25, 0.2, 1.0 / 6.0, 1.0 / 7.0, 0.125];
    let mut poly = 1.0;
    for inv in INV.iter().rev() {
        poly = 1.0 - y * inv * poly;
    }
    let scale = f64::from_bits((1023 - whole as u64) << 52);
    poly * scale
}

/// `e^-x` for `x >= 0`, through [`exp2_neg`].
fn exp_neg(x: f64) -> f64 {
    exp2_neg(x * std::f64::consts::LOG2_E)
}

/// A sample with the time it was taken (e.g. reported utilization).
#[derive(Debug, Default)]
pub struct Sample {
    bits: AtomicU64,
    at_ns: AtomicU64,
}

impl Sample {
    /// Stores `value` as of `now_ns`. The same value at the same time (within one tick of the
    /// coarse clock) writes nothing, so the line stays valid in the other cores' caches.
    pub fn set(&self, value: f64, now_ns: u64) {
        let bits = value.to_bits();
        if self.at_ns.load(Ordering::Relaxed) == now_ns && self.bits.load(Ordering::Relaxed) == bits
        {
            return;
        }
        self.bits.store(bits, Ordering::Relaxed);
        self.at_ns.store(now_ns, Ordering::Relaxed);
    }

    /// The value and its age, if one was ever set.
    pub fn get(&self, now_ns: u64) -> Option<(f64, u64)> {
        let at = self.at_ns.load(Ordering::Relaxed);
        (at != 0).then(|| {
            (
                f64::from_bits(self.bits.load(Ordering::Relaxed)),
                now_ns.saturating_sub(at),
            )
        })
    }
}

/// The least weight a sample below the estimate has, however soon it follows the last: a busy
/// endpoint's estimate comes back from a stall within tens of samples (docs/balancing.md,
/// *Peak-EWMA latency*).
const MIN_SAMPLE_WEIGHT: f64 = 0.05;

/// Peak-sensitive EWMA of latency (as in Finagle and linkerd): a sample above the estimate
/// replaces it at once; below, it blends in with weight `1 - exp(-elapsed / tau)`, and at
/// least [`MIN_SAMPLE_WEIGHT`] (one sample per clock tick).
#[derive(Debug, Default)]
pub struct PeakEwma {
    value: Sample,
}

impl PeakEwma {
    pub fn observe(&self, sample_ns: f64, now_ns: u64, tau_ns: u64) {
        let next = match self.value.get(now_ns) {
            None => sample_ns,
            Some((current, _)) if sample_ns > current => sample_ns,
            Some((current, 0)) => current,
            Some((current, elapsed)) => {
                let w = exp_neg(elapsed as f64 / tau_ns.max(1) as f64).min(1.0 - MIN_SAMPLE_WEIGHT);
                current * w + sample_ns * (1.0 - w)
            }
        };
        self.value.set(next, now_ns);
    }

    /// The estimate, decayed toward `default_ns` while no samples arrive.
    pub fn get(&self, now_ns: u64, tau_ns: u64, default_ns: f64) -> f64 {
        match self.value.get(now_ns) {
            None => default_ns,
            Some((current, elapsed)) => {
                let w = exp_neg(elapsed as f64 / tau_ns.max(1) as f64);
                current * w + default_ns * (1.0 - w)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    #[test]
    fn halves_every_half_life() {
        let d = Decaying::default();
        d.blend(8.0, 1.0, SEC, 10 * SEC);
        assert!((d.get(11 * SEC, 10 * SEC) - 4.0).abs() < 1e-9);
        assert!((d.get(31 * SEC, 10 * SEC) - 1.0).abs() < 1e-9);
        d.blend(3.0, 0.5, 31 * SEC, 10 * SEC);
        assert!(
            (d.get(31 * SEC, 10 * SEC) - 2.0).abs() < 1e-9,
            "halfway from 1 to 3"
        );
    }

    #[test]
    fn fast_exponential_matches_libm() {
        for i in 0..20_000 {
            let x = f64::from(i) / 500.0;
            let want = (-x * std::f64::consts::LN_2).exp();
            let got = exp2_neg(x);
            assert!((got / want - 1.0).abs() < 1e-6, "2^-{x}: {got} vs {want}");
        }
        assert_eq!(exp2_neg(0.0), 1.0);
        assert_eq!(exp2_neg(3.0), 0.125);
        assert_eq!(exp2_neg(5000.0), 0.0);
    }

    /// A stall (one slow sample) fades within tens of samples that follow it closely, not over
    /// the ten seconds time alone would take.
    #[test]
    fn a_peak_fades_within_tens_of_samples() {
        let ms = 1_000_000;
        let e = PeakEwma::default();
        e.observe(10.0 * ms as f64, SEC, 10 * SEC);
        e.observe(100.0 * ms as f64, SEC + ms, 10 * SEC);
        for k in 1..=20 {
            e.observe(10.0 * ms as f64, SEC + (1 + 2 * k) * ms, 10 * SEC);
        }
        let now = SEC + 41 * ms;
        let estimate = e.get(now, 10 * SEC, 0.0) / ms as f64;
        assert!(
            estimate < 50.0,
            "40 ms after a 100 ms sample: {estimate} ms"
        );
        assert!(
            estimate > 10.0,
            "the peak still counts a little: {estimate} ms"
        );
    }

    #[test]
    fn peak_ewma_jumps_up_and_eases_down() {
        let e = PeakEwma::default();
        e.observe(10.0, SEC, 10 * SEC);
        e.observe(100.0, 2 * SEC, 10 * SEC);
        assert_eq!(e.get(2 * SEC, 10 * SEC, 30.0), 100.0);
        e.observe(10.0, 12 * SEC, 10 * SEC);
        let eased = e.get(12 * SEC, 10 * SEC, 30.0);
        assert!(eased > 10.0 && eased < 100.0, "{eased}");
        assert!(
            (e.get(1000 * SEC, 10 * SEC, 30.0) - 30.0).abs() < 1e-6,
            "forgets toward the default"
        );
    }
}
