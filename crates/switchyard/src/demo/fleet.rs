//! The demo's fleet: five instances behind the `edge` balancer, with trouble on a schedule
//! (one slow throughout, one that turns sick for a while, one that joins late and starts cold),
//! a steady background load, and a share table printed every few seconds so a user can watch
//! the balancer react.

use std::time::{Duration, Instant};
use switchyard_proxy::ReloadHandle;
use switchyard_testkit::{Backend, BackendConfig, Client};

/// When things happen, from the demo's start.
const SICK_AT: Duration = Duration::from_secs(20);
const SICK_FOR: Duration = Duration::from_secs(20);
const LATE_JOINS_AT: Duration = Duration::from_secs(15);
const COLD_FOR: Duration = Duration::from_secs(10);
const REPORT_EVERY: Duration = Duration::from_secs(5);
const LOAD_PER_SECOND: u64 = 300;

/// The fleet's backends, by role.
pub struct Fleet {
    pub fast: [Backend; 2],
    pub slow: Backend,
    pub flaky: Backend,
    pub late: Backend,
}

fn instance(name: &str, latency_ms: u64) -> BackendConfig {
    BackendConfig::named(name)
        .latency(Duration::from_millis(latency_ms))
        .concurrency_limit(20)
        .report_utilization()
}

impl Fleet {
    pub async fn start() -> Self {
        Self {
            fast: [
                Backend::start(instance("fleet-fast-1", 5)).await,
                Backend::start(instance("fleet-fast-2", 5)).await,
            ],
            slow: Backend::start(instance("fleet-slow", 15)).await,
            flaky: Backend::start(instance("fleet-flaky", 5)).await,
            late: Backend::start(instance("fleet-late", 5)).await,
        }
    }

    /// The endpoint list for the config, with or without the late joiner.
    pub fn endpoints(&self, with_late: bool) -> String {
        let mut all = vec![&self.fast[0], &self.fast[1], &self.slow, &self.flaky];
        if with_late {
            all.push(&self.late);
        }
        let list: Vec<String> = all
            .iter()
            .map(|b| format!("{{ address: \"{}\" }}", b.address()))
            .collect();
        list.join(", ")
    }

    fn all(&self) -> [&Backend; 5] {
        [
            &self.fast[0],
            &self.fast[1],
            &self.slow,
            &self.flaky,
            &self.late,
        ]
    }
}

/// Runs the schedule, the background load and the reports until the process ends.
pub async fn run(
    fleet: Fleet,
    client: Client,
    reload: ReloadHandle,
    grown: switchyard_config::Config,
) {
    let start = Instant::now();
    tokio::spawn(background_load(client));
    let mut joined = false;
    let mut last_hits = [0u64; 5];
    let mut ticker = tokio::time::interval(Duration::from_millis(250));
    let mut next_report = REPORT_EVERY;
    loop {
        ticker.tick().await;
        let t = start.elapsed();
        schedule(&fleet, t, &mut joined, &reload, &grown);
        if t >= next_report {
            next_report += REPORT_EVERY;
            report(&fleet, t, &mut last_hits, &reload);
        }
    }
}

fn schedule(
    fleet: &Fleet,
    t: Duration,
    joined: &mut bool,
    reload: &ReloadHandle,
    grown: &switchyard_config::Config,
) {
    let sick = t >= SICK_AT && t < SICK_AT + SICK_FOR;
    fleet.flaky.set_status(if sick { 503 } else { 0 });
    fleet
        .flaky
        .set_latency(Duration::from_millis(if sick { 1 } else { 5 }));
    if t >= LATE_JOINS_AT && !*joined {
        *joined = true;
        if reload.reload(grown).is_ok() {
            println!(
                "[{:>3}s] fleet-late joins (cold: 4x slower for {}s; edge warms it up)",
                t.as_secs(),
                COLD_FOR.as_secs()
            );
        }
    }
    let cold = *joined && t < LATE_JOINS_AT + COLD_FOR;
    fleet
        .late
        .set_latency(Duration::from_millis(if cold { 20 } else { 5 }));
}

fn report(fleet: &Fleet, t: Duration, last_hits: &mut [u64; 5], reload: &ReloadHandle) {
    let hits: Vec<u64> = fleet.all().iter().map(|b| b.hits()).collect();
    let delta: Vec<u64> = hits
        .iter()
        .zip(last_hits.iter())
        .map(|(h, l)| h - l)
        .collect();
    let total = delta.iter().sum::<u64>().max(1);
    let states = reload.endpoint_states("fleet").unwrap_or_default();
    let cells: Vec<String> = fleet
        .all()
        .iter()
        .zip(&delta)
        .map(|(b, d)| {
            let state = states.iter().find(|s| s.address == b.address().to_string());
            let note = match state {
                None => " (not in cluster)".to_owned(),
                Some(s) if !s.stats.available() => " (ejected)".to_owned(),
                Some(s) if s.stats.error_score > 0.05 => {
                    format!(" (error score {:.2})", s.stats.error_score)
                }
                Some(_) => String::new(),
            };
            format!(
                "{} {:>3}%{note}",
                b.name().trim_start_matches("fleet-"),
                d * 100 / total
            )
        })
        .collect();
    println!("[{:>3}s] /fleet shares: {}", t.as_secs(), cells.join(" | "));
    last_hits.copy_from_slice(&hits);
}

async fn background_load(client: Client) {
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / LOAD_PER_SECOND));
    loop {
        ticker.tick().await;
        let client = client.clone();
        tokio::spawn(async move {
            if let Ok(request) = client
                .request(http::Method::GET, "", "/fleet")
                .body(Default::default())
            {
                let _ = client.send(request).await;
            }
        });
    }
}
