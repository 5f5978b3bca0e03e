//! A small, fast, seedable random source (wraps `fastrand`), cheap to clone per thread.

/// Random numbers: seeded in tests and simulation, from entropy when serving.
#[derive(Debug, Clone)]
pub struct Rng(fastrand::Rng);

impl Rng {
    pub fn seeded(seed: u64) -> Self {
        Self(fastrand::Rng::with_seed(seed))
    }

    pub fn from_entropy() -> Self {
        Self(fastrand::Rng::new())
    }

    /// Uniform in `0..n`; `n` must be non-zero.
    pub fn below(&mut self, n: usize) -> usize {
        self.0.usize(..n)
    }

    pub fn u64(&mut self) -> u64 {
        self.0.u64(..)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        self.0.f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let (mut a, mut b) = (Rng::seeded(7), Rng::seeded(7));
        let xs: Vec<usize> = (0..16).map(|_| a.below(1000)).collect();
        let ys: Vec<usize> = (0..16).map(|_| b.below(1000)).collect();
        assert_eq!(xs, ys);
    }
}
