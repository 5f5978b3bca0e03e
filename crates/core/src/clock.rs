//! Monotonic clocks: the system one for serving, a manual one for tests and simulation.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A monotonic time source.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Instant;

    /// Nanoseconds since this clock's own fixed origin: cheaper than `now()` for callers that
    /// only subtract times (balancer stats). Only differences between two readings mean
    /// anything.
    fn now_nanos(&self) -> u64 {
        nanos(self.now().saturating_duration_since(process_origin()))
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A fixed instant early in the process, the origin of the default `now_nanos`.
fn process_origin() -> Instant {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *ORIGIN.get_or_init(|| Instant::now() - Duration::from_secs(1))
}

/// The real monotonic clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to; clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    origin: Instant,
    elapsed_nanos: Arc<AtomicU64>,
}

impl ManualClock {
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
            elapsed_nanos: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.elapsed_nanos.fetch_add(nanos, Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.origin + Duration::from_nanos(self.elapsed_nanos.load(Ordering::SeqCst))
    }

    fn now_nanos(&self) -> u64 {
        self.elapsed_nanos.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_time() {
        let a = ManualClock::new();
        let b = a.clone();
        let t0 = b.now();
        a.advance(Duration::from_millis(5));
        assert_eq!(b.now() - t0, Duration::from_millis(5));
    }
}

/// A clock read from memory: a background thread stores the time every millisecond, so
/// `now()` costs an atomic load instead of a clock syscall (about 50 ns on a virtual machine).
/// The balancer's stats work on a scale of milliseconds to seconds; this is nginx's cached
/// time idea. Every `CoarseClock` shares one ticker thread, started on first use.
#[derive(Debug, Clone, Copy, Default)]
pub struct CoarseClock;

struct Ticker {
    origin: Instant,
    elapsed_nanos: AtomicU64,
}

static TICKER: std::sync::OnceLock<&'static Ticker> = std::sync::OnceLock::new();

impl CoarseClock {
    /// How far behind the real time `now()` may be.
    pub const RESOLUTION: Duration = Duration::from_millis(1);

    fn ticker() -> &'static Ticker {
        TICKER.get_or_init(|| {
            let ticker: &'static Ticker = Box::leak(Box::new(Ticker {
                origin: Instant::now(),
                elapsed_nanos: AtomicU64::new(0),
            }));
            let spawned = std::thread::Builder::new()
                .name("coarse-clock".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(Self::RESOLUTION);
                        let nanos =
                            u64::try_from(ticker.origin.elapsed().as_nanos()).unwrap_or(u64::MAX);
                        ticker.elapsed_nanos.store(nanos, Ordering::Relaxed);
                    }
                });
            if spawned.is_err() {
                // Without a ticker the time would stand still: fall back to reading it.
                ticker.elapsed_nanos.store(u64::MAX, Ordering::Relaxed);
            }
            ticker
        })
    }
}

impl Clock for CoarseClock {
    fn now(&self) -> Instant {
        let ticker = Self::ticker();
        match ticker.elapsed_nanos.load(Ordering::Relaxed) {
            u64::MAX => Instant::now(),
            nanos => ticker.origin + Duration::from_nanos(nanos),
        }
    }

    /// One atomic load: the ticker's nanoseconds since its own origin.
    fn now_nanos(&self) -> u64 {
        let ticker = Self::ticker();
        match ticker.elapsed_nanos.load(Ordering::Relaxed) {
            u64::MAX => nanos(ticker.origin.elapsed()),
            nanos => nanos,
        }
    }
}

#[cfg(test)]
mod coarse_tests {
    use super::*;

    #[test]
    fn coarse_time_moves_and_stays_close_to_real_time() {
        let clock = CoarseClock;
        let a = clock.now();
        std::thread::sleep(Duration::from_millis(20));
        let b = clock.now();
        assert!(b > a, "the ticker advances the time");
        assert!(Instant::now().saturating_duration_since(b) < Duration::from_millis(200));
    }
}
