//! Monotonic clocks: the system one for serving, a manual one for tests and simulation.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
///
/// The ticker sleeps while nobody reads the time (no read for [`CoarseClock::IDLE_AFTER`]):
/// an idle gateway then wakes for nothing (a thousand wake-ups a second cost about 3 % of a
/// core on a virtual machine). The first read after that reads the real time and wakes it.
#[derive(Debug, Clone, Copy, Default)]
pub struct CoarseClock;

struct Ticker {
    origin: Instant,
    /// Nanoseconds since `origin` as of the last tick; `u64::MAX` without a ticker thread.
    elapsed_nanos: AtomicU64,
    /// Set by readers, cleared by each tick: whether the time was read since the last tick.
    read: AtomicBool,
    /// The ticker is parked: readers read the real time, and the first one wakes it.
    asleep: AtomicBool,
    thread: OnceLock<std::thread::Thread>,
}

static TICKER: OnceLock<&'static Ticker> = OnceLock::new();

impl CoarseClock {
    /// How far behind the real time `now()` may be.
    pub const RESOLUTION: Duration = Duration::from_millis(1);

    /// How long the time must go unread before the ticker sleeps.
    pub const IDLE_AFTER: Duration = Duration::from_millis(100);

    fn ticker() -> &'static Ticker {
        TICKER.get_or_init(|| {
            let ticker: &'static Ticker = Box::leak(Box::new(Ticker {
                origin: Instant::now(),
                elapsed_nanos: AtomicU64::new(0),
                read: AtomicBool::new(true),
                asleep: AtomicBool::new(false),
                thread: OnceLock::new(),
            }));
            let spawned = std::thread::Builder::new()
                .name("coarse-clock".into())
                .spawn(move || ticker.run());
            if spawned.is_err() {
                // Without a ticker the time would stand still: fall back to reading it.
                ticker.elapsed_nanos.store(u64::MAX, Ordering::Relaxed);
            }
            ticker
        })
    }

    /// Whether the ticker is asleep for want of readers (for tests and diagnostics).
    pub fn ticker_asleep() -> bool {
        Self::ticker().asleep.load(Ordering::Relaxed)
    }
}

impl Ticker {
    fn run(&self) {
        let _ = self.thread.set(std::thread::current());
        let idle_ticks = CoarseClock::IDLE_AFTER.as_millis() / CoarseClock::RESOLUTION.as_millis();
        let mut quiet = 0;
        loop {
            std::thread::sleep(CoarseClock::RESOLUTION);
            self.store_now();
            if self.read.swap(false, Ordering::Relaxed) {
                quiet = 0;
                continue;
            }
            quiet += 1;
            if quiet >= idle_ticks {
                self.sleep_until_read();
                quiet = 0;
            }
        }
    }

    /// Parks until a reader wakes the ticker (a reader that saw it awake just before got a
    /// time at most one tick old).
    fn sleep_until_read(&self) {
        self.asleep.store(true, Ordering::SeqCst);
        while self.asleep.load(Ordering::SeqCst) {
            std::thread::park();
        }
        self.store_now();
    }

    /// Stores the real time; never moves the stored time back (a reader that woke the
    /// ticker may have stored a later one).
    fn store_now(&self) -> u64 {
        let now = nanos(self.origin.elapsed());
        self.elapsed_nanos
            .fetch_max(now, Ordering::Relaxed)
            .max(now)
    }

    /// The time, as a reader: the stored tick while the ticker runs; the real time (and a
    /// wake-up) while it sleeps.
    fn elapsed(&self) -> u64 {
        if self.asleep.load(Ordering::Relaxed) {
            return self.wake();
        }
        if !self.read.load(Ordering::Relaxed) {
            self.read.store(true, Ordering::Relaxed);
        }
        match self.elapsed_nanos.load(Ordering::Relaxed) {
            u64::MAX => nanos(self.origin.elapsed()),
            nanos => nanos,
        }
    }

    #[cold]
    fn wake(&self) -> u64 {
        let now = self.store_now();
        self.read.store(true, Ordering::Relaxed);
        if self.asleep.swap(false, Ordering::SeqCst)
            && let Some(thread) = self.thread.get()
        {
            thread.unpark();
        }
        now
    }
}

impl Clock for CoarseClock {
    fn now(&self) -> Instant {
        let ticker = Self::ticker();
        ticker.origin + Duration::from_nanos(ticker.elapsed())
    }

    /// One atomic load (two more, read-mostly, for the ticker's state): the ticker's
    /// nanoseconds since its own origin.
    fn now_nanos(&self) -> u64 {
        Self::ticker().elapsed()
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

    #[test]
    fn the_ticker_sleeps_while_unread_and_the_next_read_has_the_real_time() {
        let clock = CoarseClock;
        clock.now();
        // Other tests of this crate may read the clock meanwhile: wait until a quiet spell.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !CoarseClock::ticker_asleep() {
            assert!(Instant::now() < deadline, "the ticker never slept");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(50));
        let before = Instant::now();
        let read = clock.now();
        assert!(
            read >= before,
            "a read while the ticker sleeps is the real time"
        );
        assert!(!CoarseClock::ticker_asleep(), "and wakes the ticker");
        let a = clock.now_nanos();
        std::thread::sleep(Duration::from_millis(20));
        assert!(clock.now_nanos() > a, "which ticks again");
    }
}
