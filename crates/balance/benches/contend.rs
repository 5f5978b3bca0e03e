//! Two threads picking at once, timed only while both run: what sharing the endpoints' stats
//! between cores costs a pick.
//! `cargo bench -p switchyard-balance --bench contend [-- rounds] [algorithm...]`.
//!
//! divan's threaded rows (`pick`) start each sample with `std::sync::Barrier`, which puts all
//! but the last thread to sleep; on this VM waking a thread on the other vCPU takes long enough
//! that one thread often finished its sample before the other began, so those rows mix
//! contended and uncontended time. Here the threads spin until both are running, pick until
//! told to stop, and each divides the time it ran by the picks it made. Beside the picks, the
//! one-way cost of moving a cache line from one core to the other, measured by two spinning
//! threads passing a counter back and forth: on a shared VM it changes with where the host puts
//! the two vCPUs, and the two-thread rows follow it.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use switchyard_balance::{Balancer, EndpointSet, PickContext};

/// How long each measurement picks.
const RUN: Duration = Duration::from_millis(200);
const SIZES: [usize; 2] = [10, 1000];
const ALGORITHMS: [&str; 2] = ["least_request", "edge"];

/// A line transfer above this is the two vCPUs far apart (another core complex, or the host
/// busy); at or below, near. This host shows two clusters, 30-70 and 190-250 ns.
const FAR_NS: f64 = 100.0;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(9);
    // Algorithm names among the arguments run only those.
    let only: Vec<&str> = ALGORITHMS
        .into_iter()
        .filter(|name| args.iter().any(|a| a == name))
        .collect();
    let algorithms = if only.is_empty() {
        ALGORITHMS.to_vec()
    } else {
        only
    };
    println!(
        "{rounds} rounds of {} ms per measurement, medians in ns per pick and per thread; the \
         two threads sharing one set are sorted by the line transfer measured just before and \
         just after (rounds where the two disagree are left out), [rounds]",
        RUN.as_millis()
    );
    println!();
    println!(
        "| algorithm | endpoints | one thread | two threads, a set each | two threads, one set, \
         near | far | line transfer, near | far |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for name in algorithms {
        for n in SIZES {
            let mut rows = Rows::default();
            for _ in 0..rounds {
                rows.measure(name, n);
            }
            rows.print(name, n);
        }
    }
}

/// One algorithm and size's measurements, per column.
#[derive(Default)]
struct Rows {
    one: Vec<f64>,
    own: Vec<f64>,
    near: Vec<f64>,
    far: Vec<f64>,
    near_transfer: Vec<f64>,
    far_transfer: Vec<f64>,
}

impl Rows {
    /// One round: one thread, two threads with a set each, and two threads sharing a set,
    /// filed as near or far by the line transfer just before and just after.
    fn measure(&mut self, name: &str, n: usize) {
        self.one.push(picking(name, n, 1, true));
        self.own.push(picking(name, n, 2, false));
        let before = line_transfer_ns();
        let shared = picking(name, n, 2, true);
        let after = line_transfer_ns();
        eprintln!("{name} {n}: transfer {before:.1} -> {after:.1}, shared {shared:.1}");
        let far = before > FAR_NS;
        if far != (after > FAR_NS) {
            return;
        }
        let (picks, transfers) = if far {
            (&mut self.far, &mut self.far_transfer)
        } else {
            (&mut self.near, &mut self.near_transfer)
        };
        picks.push(shared);
        transfers.push((before + after) / 2.0);
    }

    fn print(self, name: &str, n: usize) {
        println!(
            "| {name} | {n} | {} | {} | {} | {} | {} | {} |",
            median(self.one),
            median(self.own),
            median(self.near),
            median(self.far),
            median(self.near_transfer),
            median(self.far_transfer)
        );
    }
}

fn median(mut xs: Vec<f64>) -> String {
    if xs.is_empty() {
        return "–".to_owned();
    }
    xs.sort_by(f64::total_cmp);
    format!("{:.1} [{}]", xs[xs.len() / 2], xs.len())
}

/// Nanoseconds per pick and record, per thread, with `threads` threads picking at once from
/// one set (`shared`) or each from its own.
fn picking(name: &str, n: usize, threads: usize, shared: bool) -> f64 {
    let sets: Vec<(EndpointSet, Box<dyn Balancer>)> = (0..if shared { 1 } else { threads })
        .map(|_| {
            let set = common::set(n);
            let balancer = common::policy(name).build(&set, 0);
            (set, balancer)
        })
        .collect();
    let ready = AtomicUsize::new(0);
    let go = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let per_thread: Vec<f64> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (set, balancer) = &sets[t % sets.len()];
                let (ready, go, stop) = (&ready, &go, &stop);
                s.spawn(move || {
                    ready.fetch_add(1, Ordering::SeqCst);
                    while !go.load(Ordering::Acquire) {
                        std::hint::spin_loop();
                    }
                    let start = Instant::now();
                    let mut picks = 0u64;
                    let ctx = PickContext::default();
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..64 {
                            let mut pick = balancer.pick(set, &ctx).expect("an endpoint");
                            pick.record(set, common::success());
                            std::hint::black_box(pick.index());
                        }
                        picks += 64;
                    }
                    start.elapsed().as_nanos() as f64 / picks as f64
                })
            })
            .collect();
        while ready.load(Ordering::SeqCst) < threads {
            std::hint::spin_loop();
        }
        go.store(true, Ordering::Release);
        std::thread::sleep(RUN);
        stop.store(true, Ordering::Relaxed);
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    per_thread.iter().sum::<f64>() / per_thread.len() as f64
}

/// One-way time to move a cache line between the two threads' cores: they take turns
/// incrementing one counter, each waiting (spinning) to see the other's increment.
fn line_transfer_ns() -> f64 {
    const PASSES: u64 = 200_000;
    let counter = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for parity in 0..2 {
            let counter = &counter;
            s.spawn(move || {
                let mut mine = parity;
                while mine < 2 * PASSES {
                    if counter.load(Ordering::Acquire) == mine {
                        counter.store(mine + 1, Ordering::Release);
                        mine += 2;
                    } else {
                        std::hint::spin_loop();
                    }
                }
            });
        }
    });
    start.elapsed().as_nanos() as f64 / (2 * PASSES) as f64
}
