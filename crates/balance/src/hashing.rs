//! Consistent hashing for affinity: a ring (Karger et al., as in Envoy's `ring_hash`) and
//! Maglev's lookup table (Eisenbud et al., NSDI 2016). Adding or removing one of N endpoints
//! moves about 1/N of keys.

use crate::Balancer;
use crate::endpoint::{EndpointSet, Pick};
use crate::select::{Draw, PickContext, View};

/// FNV-1a, then a splitmix finalizer: stable across processes and releases.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Points on a ring, each owned by an endpoint; a key goes to the first point at or after it.
#[derive(Debug)]
pub struct RingHash {
    ring: Box<[(u64, usize)]>,
    draw: Draw,
}

impl RingHash {
    /// Each endpoint gets `points_per_weight * weight` points, independent of the others, so
    /// a membership change only adds or removes that endpoint's points.
    pub fn new(set: &EndpointSet, points_per_weight: usize, seed: u64) -> Self {
        let mut ring = Vec::new();
        for i in 0..set.len() {
            // Weights above 256 count as 256, bounding the ring (SRV weights reach 65 535).
            let points = points_per_weight as u64 * u64::from(set.weight(i).min(256));
            let address = &set.get(i).address;
            for replica in 0..points.max(1) {
                ring.push((hash_bytes(format!("{address}_{replica}").as_bytes()), i));
            }
        }
        ring.sort_unstable();
        Self {
            ring: ring.into(),
            draw: Draw::new(seed),
        }
    }
}

impl Balancer for RingHash {
    fn pick(&self, set: &EndpointSet, ctx: &PickContext<'_>) -> Option<Pick> {
        let view = View::new(set, ctx);
        let key = ctx.hash.unwrap_or_else(|| self.draw.next_u64());
        let start = self.ring.partition_point(|(point, _)| *point < key);
        let n = self.ring.len();
        let found = (0..n)
            .map(|k| self.ring[(start + k) % n].1)
            .find(|&i| view.usable(i))?;
        Some(set.pick(found))
    }
}

/// Maglev: each endpoint fills table slots in its own permutation order until the table is
/// full, which balances slots within one of each other and moves few keys on change.
#[derive(Debug)]
pub struct Maglev {
    table: Box<[usize]>,
    draw: Draw,
}

impl Maglev {
    /// `table_size` should be a prime well above the endpoint count (Envoy uses 65537).
    pub fn new(set: &EndpointSet, table_size: usize, seed: u64) -> Self {
        Self {
            table: populate(set, table_size).into(),
            draw: Draw::new(seed),
        }
    }

    /// How many table slots each endpoint owns.
    pub fn slots(&self, endpoints: usize) -> Vec<usize> {
        let mut counts = vec![0; endpoints];
        for &i in self.table.iter() {
            counts[i] += 1;
        }
        counts
    }
}

fn populate(set: &EndpointSet, m: usize) -> Vec<usize> {
    let n = set.len();
    if n == 0 || m == 0 {
        return Vec::new();
    }
    let perms: Vec<(u64, u64)> = (0..n)
        .map(|i| {
            let h = hash_bytes(set.get(i).address.as_bytes());
            let offset = h % m as u64;
            let skip = mix(h ^ 0x5bd1_e995) % (m as u64 - 1) + 1;
            (offset, skip)
        })
        .collect();
    let max_weight = (0..n).map(|i| set.weight(i)).max().unwrap_or(1) as u64;
    let mut next = vec![0u64; n];
    let mut credit = vec![0u64; n];
    let mut table = vec![usize::MAX; m];
    let mut filled = 0;
    while filled < m {
        for i in 0..n {
            credit[i] += u64::from(set.weight(i));
            if credit[i] < max_weight {
                continue;
            }
            credit[i] -= max_weight;
            let (offset, skip) = perms[i];
            loop {
                let slot = ((offset + next[i] * skip) % m as u64) as usize;
                next[i] += 1;
                if table[slot] == usize::MAX {
                    table[slot] = i;
                    filled += 1;
                    break;
                }
            }
            if filled == m {
                break;
            }
        }
    }
    table
}

impl Balancer for Maglev {
    fn pick(&self, set: &EndpointSet, ctx: &PickContext<'_>) -> Option<Pick> {
        let view = View::new(set, ctx);
        if self.table.is_empty() {
            return None;
        }
        let key = ctx.hash.unwrap_or_else(|| self.draw.next_u64());
        let m = self.table.len();
        let start = (key % m as u64) as usize;
        let found = (0..m)
            .map(|k| self.table[(start + k) % m])
            .find(|&i| view.usable(i))?;
        Some(set.pick(found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::EndpointSpec;
    use crate::params::StatParams;
    use crate::time::Timebase;
    use std::sync::Arc;

    fn set(n: usize) -> EndpointSet {
        let specs: Vec<EndpointSpec> = (0..n)
            .map(|i| EndpointSpec::new(format!("10.0.0.{i}:80")))
            .collect();
        EndpointSet::new(
            &specs,
            Timebase::new(Arc::new(switchyard_core::SystemClock)),
            StatParams::default(),
        )
    }

    fn owners(b: &dyn Balancer, s: &EndpointSet, keys: u64) -> Vec<String> {
        (0..keys)
            .map(|k| {
                let ctx = PickContext {
                    tried: &[],
                    hash: Some(mix(k)),
                };
                s.get(b.pick(s, &ctx).unwrap().index()).address.clone()
            })
            .collect()
    }

    fn moved_share(before: &[String], after: &[String]) -> f64 {
        before.iter().zip(after).filter(|(a, b)| a != b).count() as f64 / before.len() as f64
    }

    #[test]
    fn maglev_table_is_balanced_within_one_percent() {
        let s = set(10);
        let m = Maglev::new(&s, 65_537, 0);
        let slots = m.slots(10);
        let (min, max) = (*slots.iter().min().unwrap(), *slots.iter().max().unwrap());
        assert!((max - min) as f64 / (65_537.0 / 10.0) < 0.01, "{slots:?}");
    }

    #[test]
    fn adding_one_of_n_moves_about_one_nth_of_keys() {
        for build in [
            |s: &EndpointSet| Box::new(Maglev::new(s, 65_537, 0)) as Box<dyn Balancer>,
            |s: &EndpointSet| Box::new(RingHash::new(s, 256, 0)) as Box<dyn Balancer>,
        ] {
            let (s10, s11) = (set(10), set(11));
            let before = owners(&*build(&s10), &s10, 20_000);
            let after = owners(&*build(&s11), &s11, 20_000);
            let moved = moved_share(&before, &after);
            assert!(
                (0.05..0.15).contains(&moved),
                "moved {moved}, ideal 1/11 = 0.09"
            );
        }
    }
}
