//! Response times in sixteenth-of-an-octave buckets: small enough to keep one per timeline
//! bin, and a quantile within 3.2 %, for latency in time windows around events.

/// Sixteen buckets per power of two.
const SUB_BITS: u32 = 4;
const SUB: u64 = 1 << SUB_BITS;
/// Values below 2^12 ns (4 µs) share the first bucket; values from 2^40 ns (18 min) the last.
const LOWEST_OCTAVE: u32 = 12;
const OCTAVES: u32 = 28;
const BUCKETS: usize = (OCTAVES as u64 * SUB) as usize;

/// Counts of nanosecond values; empty (no allocation) until the first one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Coarse {
    counts: Vec<u32>,
    total: u64,
}

impl Coarse {
    fn index(ns: u64) -> usize {
        let octave = 63 - ns.max(1).leading_zeros();
        if octave < LOWEST_OCTAVE {
            return 0;
        }
        let part = (ns >> (octave - SUB_BITS)) & (SUB - 1);
        let i = u64::from(octave - LOWEST_OCTAVE) * SUB + part;
        (i as usize).min(BUCKETS - 1)
    }

    /// The middle of bucket `i`, in seconds: it spans 2^o (1 + k/16) to 2^o (1 + (k+1)/16).
    fn value_s(i: usize) -> f64 {
        let (i, sub) = (i as u64, SUB as f64);
        let octave = (i / SUB) as i32 + LOWEST_OCTAVE as i32;
        let k = (i % SUB) as f64;
        2f64.powi(octave) * (1.0 + (k + 0.5) / sub) / 1e9
    }

    pub fn record(&mut self, ns: u64) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
        }
        self.counts[Self::index(ns)] += 1;
        self.total += 1;
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: &Coarse) {
        if other.total == 0 {
            return;
        }
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
    }

    /// The value at quantile `q` in (0, 1], in seconds; `None` when empty.
    pub fn quantile_s(&self, q: f64) -> Option<f64> {
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total.max(1));
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += u64::from(c);
            if seen >= rank {
                return Some(Self::value_s(i));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quantile_is_within_three_percent() {
        let mut h = Coarse::default();
        assert_eq!(h.quantile_s(0.99), None);
        (1..=10_000u64).for_each(|v| h.record(v * 10_000));
        for (q, exact) in [(0.5, 0.05), (0.99, 0.099), (0.01, 0.001)] {
            let got = h.quantile_s(q).unwrap();
            assert!((got / exact - 1.0).abs() < 0.032, "{q}: {got} vs {exact}");
        }
    }

    #[test]
    fn merged_counts_are_the_counts_of_both() {
        let (mut a, mut b) = (Coarse::default(), Coarse::default());
        (0..99).for_each(|_| a.record(1_000_000));
        b.record(1_000_000_000);
        a.merge(&b);
        assert_eq!(a.total(), 100);
        assert!(a.quantile_s(0.99).unwrap() < 0.0011);
        assert!(a.quantile_s(1.0).unwrap() > 0.95);
        assert_eq!(Coarse::index(0), 0);
        assert_eq!(Coarse::index(u64::MAX), BUCKETS - 1);
    }
}
