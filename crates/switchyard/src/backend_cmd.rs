//! `switchyard backend`: one real test backend as its own process, for benchmarks on loopback
//! (bench/fleet.sh). It is testkit's [`Backend`]: every request waits `--latency` (its service
//! time) under a concurrency limit that sheds 503 beyond it, so it has a real capacity of
//! `limit / latency` requests per second. A schedule can make it sick (503 in about 1 ms) or
//! slow (latency multiplied) for a while. On SIGTERM or SIGINT it prints its counters as one
//! JSON line and exits.

use anyhow::Context;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use switchyard_testkit::{Backend, BackendConfig};
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::Instant;

/// What `switchyard backend` was asked to be.
#[derive(Debug, Clone, clap::Args)]
pub struct BackendArgs {
    /// Address to listen on (port 0 picks a free one; the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Name sent in the `x-backend` response header and in the counters.
    #[arg(long, default_value = "backend")]
    pub name: String,
    /// Service time of every request.
    #[arg(long, default_value = "0ms", value_parser = humantime::parse_duration)]
    pub latency: Duration,
    /// Requests handled at once; beyond it, 503 at once (shed).
    #[arg(long, value_name = "N")]
    pub concurrency_limit: Option<usize>,
    /// Add `endpoint-load-metrics: TEXT application_utilization=U` (in flight / limit).
    #[arg(long)]
    pub report_utilization: bool,
    /// Start answering 503 in about 1 ms this long after t0.
    #[arg(long, value_parser = humantime::parse_duration, requires = "sick_for")]
    pub sick_from: Option<Duration>,
    /// How long the sickness lasts; then the backend heals.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub sick_for: Option<Duration>,
    /// Multiply the latency by this while slow.
    #[arg(long, default_value_t = 1.0)]
    pub slow_factor: f64,
    /// Be slow from this long after t0 (default: from t0).
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub slow_from: Duration,
    /// How long the slowness lasts.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub slow_for: Option<Duration>,
    /// Unix time in seconds (fractions allowed) that the schedule counts from (default: when
    /// this process starts), so that several processes share one clock.
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub t0: Option<f64>,
    /// Also print the counters so far as a JSON line (with `t`, seconds after t0) this often.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub report_every: Option<Duration>,
}

/// A window of the schedule, as offsets from t0.
#[derive(Debug, Clone, Copy)]
struct Window {
    from: Duration,
    until: Duration,
}

impl Window {
    fn new(from: Option<Duration>, length: Option<Duration>) -> Option<Self> {
        let (from, length) = (from?, length?);
        Some(Self {
            from,
            until: from + length,
        })
    }

    fn contains(&self, at: Duration) -> bool {
        self.from <= at && at < self.until
    }
}

/// The backend's behaviour over time.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    latency: Duration,
    sick: Option<Window>,
    slow: Option<Window>,
    slow_factor: f64,
}

impl Schedule {
    /// (status override, latency) at `at` after t0; status 0 means "as configured".
    fn state(&self, at: Duration) -> (u16, Duration) {
        if self.sick.is_some_and(|w| w.contains(at)) {
            return (503, Duration::ZERO);
        }
        match self.slow.filter(|w| w.contains(at)) {
            Some(_) => (0, self.latency.mul_f64(self.slow_factor.max(0.0))),
            None => (0, self.latency),
        }
    }

    /// The first moment after `at` where the state may change.
    fn next_change(&self, at: Duration) -> Option<Duration> {
        [self.sick, self.slow]
            .into_iter()
            .flatten()
            .flat_map(|w| [w.from, w.until])
            .filter(|&t| t > at)
            .min()
    }
}

/// Counters printed at exit.
#[derive(Debug, Default)]
struct SickCount {
    /// Requests handled (`hits`) when the sickness started and ended.
    at_start: Option<u64>,
    at_end: Option<u64>,
}

pub fn run(args: BackendArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: BackendArgs) -> anyhow::Result<ExitCode> {
    let mut config = BackendConfig::named(&args.name).latency(args.latency);
    if let Some(limit) = args.concurrency_limit {
        config = config.concurrency_limit(limit);
    }
    if args.report_utilization {
        config = config.report_utilization();
    }
    http::HeaderValue::from_str(&args.name).context("--name must be a valid header value")?;
    let t0 = match args.t0 {
        Some(unix) => instant_of_unix(unix),
        None => Instant::now(),
    };
    let schedule = Schedule {
        latency: args.latency,
        sick: Window::new(args.sick_from, args.sick_for),
        slow: Window::new(Some(args.slow_from), args.slow_for),
        slow_factor: args.slow_factor,
    };
    let backend = Backend::start_on(args.listen, config).await;
    let mut sick = SickCount::default();
    apply(&backend, &schedule, t0, &mut sick);
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    println!("listening {}", backend.address());
    std::io::stdout().flush()?;
    let far = Duration::from_secs(3600);
    let mut next_report = args.report_every.map(|every| next_tick(t0, every));
    loop {
        // Every turn, not only when the schedule's timer fires: a report due at the same
        // moment may win the select, and the change must not be skipped.
        apply(&backend, &schedule, t0, &mut sick);
        let now = since(t0);
        let wake = schedule
            .next_change(now)
            .map(|at| t0 + at)
            .unwrap_or_else(|| Instant::now() + far);
        let report_at = next_report.unwrap_or_else(|| Instant::now() + far);
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            _ = tokio::time::sleep_until(report_at) => {
                print_progress(&backend, report_at.saturating_duration_since(t0))?;
                next_report = args.report_every.map(|every| next_tick(t0, every));
            }
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    print_counters(&backend, &sick)?;
    Ok(ExitCode::SUCCESS)
}

/// The first `t0 + k * every` (k >= 0) after now.
fn next_tick(t0: Instant, every: Duration) -> Instant {
    let every = every.max(Duration::from_millis(1));
    let now = Instant::now();
    if now < t0 {
        return t0;
    }
    let k = (now - t0).as_nanos() / every.as_nanos() + 1;
    t0 + every * u32::try_from(k).unwrap_or(u32::MAX)
}

/// Counters so far, `t` seconds after t0 (no `name`: the last line at exit has it).
fn print_progress(backend: &Backend, t: Duration) -> anyhow::Result<()> {
    let line = serde_json::json!({
        "t": (t.as_secs_f64() * 1000.0).round() / 1000.0,
        "requests": backend.requests(),
        "handled": backend.hits(),
    });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

/// Sets the backend to what the schedule says now, noting when sickness starts and ends.
fn apply(backend: &Backend, schedule: &Schedule, t0: Instant, sick: &mut SickCount) {
    let (status, latency) = schedule.state(since(t0));
    if status != 0 && sick.at_start.is_none() {
        sick.at_start = Some(backend.hits());
    }
    if status == 0 && sick.at_start.is_some() && sick.at_end.is_none() {
        sick.at_end = Some(backend.hits());
    }
    backend.set_status(status);
    backend.set_latency(latency);
}

fn print_counters(backend: &Backend, sick: &SickCount) -> anyhow::Result<()> {
    let requests = backend.requests();
    let handled = backend.hits();
    let sick_503 = match (sick.at_start, sick.at_end) {
        (Some(start), Some(end)) => end - start,
        (Some(start), None) => handled - start,
        _ => 0,
    };
    let counters = serde_json::json!({
        "name": backend.name(),
        "address": backend.address().to_string(),
        "requests": requests,
        "handled": handled,
        "shed": requests.saturating_sub(handled),
        "sick_503": sick_503,
        "ok": handled - sick_503,
        "connections": backend.connections(),
    });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{counters}")?;
    out.flush()?;
    Ok(())
}

/// Time since t0 (zero before it).
fn since(t0: Instant) -> Duration {
    Instant::now().saturating_duration_since(t0)
}

/// The monotonic instant of a Unix time (in the past or the future).
pub fn instant_of_unix(unix_seconds: f64) -> Instant {
    let now_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let now = Instant::now();
    let offset = unix_seconds - now_unix;
    if offset >= 0.0 {
        now + Duration::from_secs_f64(offset)
    } else {
        now.checked_sub(Duration::from_secs_f64(-offset))
            .unwrap_or(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn schedule_is_sick_then_heals_and_slow_for_a_while() {
        let s = Schedule {
            latency: 10 * MS,
            sick: Window::new(Some(100 * MS), Some(50 * MS)),
            slow: Window::new(Some(Duration::ZERO), Some(20 * MS)),
            slow_factor: 4.0,
        };
        assert_eq!(s.state(Duration::ZERO), (0, 40 * MS));
        assert_eq!(s.state(20 * MS), (0, 10 * MS));
        assert_eq!(s.state(100 * MS), (503, Duration::ZERO));
        assert_eq!(s.state(150 * MS), (0, 10 * MS));
        assert_eq!(s.next_change(Duration::ZERO), Some(20 * MS));
        assert_eq!(s.next_change(20 * MS), Some(100 * MS));
        assert_eq!(s.next_change(120 * MS), Some(150 * MS));
        assert_eq!(s.next_change(150 * MS), None);
    }
}
