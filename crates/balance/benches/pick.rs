//! Micro-benchmarks: one pick plus its outcome record, per algorithm, at 10, 100 and 1,000
//! endpoints, on one thread and with two threads contending (and, to tell contention from the
//! machine, two threads each with a set of its own; divan starts them with a sleeping barrier,
//! so on a VM they often do not overlap: `benches/contend.rs` times two threads only while
//! both run). Heap allocations per pick are
//! counted by divan's allocation profiler (`cargo bench -p switchyard-balance`). The set uses
//! the coarse clock, as the proxy does.

mod common;

use switchyard_balance::{EndpointSet, PickContext, Policy};

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

fn main() {
    divan::main();
}

const SIZES: [usize; 4] = [10, 60, 100, 1000];

fn bench(bencher: divan::Bencher, name: &str, n: usize) {
    let set = common::set(n);
    let policy = common::policy(name);
    let balancer = policy.build(&set, 0);
    let key = std::sync::atomic::AtomicU64::new(0);
    // Only the hashing policies read the key; the others are not charged for making one.
    let hashing = matches!(policy, Policy::Maglev { .. } | Policy::RingHash { .. });
    bencher.bench(|| {
        let hash = hashing
            .then(|| key.fetch_add(0x9E37_79B9_7F4A_7C15, std::sync::atomic::Ordering::Relaxed));
        let ctx = PickContext { tried: &[], hash };
        let mut pick = balancer.pick(&set, &ctx).unwrap();
        pick.record(&set, common::success());
        divan::black_box(pick.index())
    });
}

#[divan::bench(args = SIZES)]
fn edge(bencher: divan::Bencher, n: usize) {
    bench(bencher, "edge", n);
}

#[divan::bench(args = SIZES)]
fn least_request(bencher: divan::Bencher, n: usize) {
    bench(bencher, "least_request", n);
}

#[divan::bench(args = SIZES)]
fn peak_ewma(bencher: divan::Bencher, n: usize) {
    bench(bencher, "peak_ewma", n);
}

#[divan::bench(args = SIZES)]
fn round_robin(bencher: divan::Bencher, n: usize) {
    bench(bencher, "round_robin", n);
}

#[divan::bench(args = SIZES)]
fn random(bencher: divan::Bencher, n: usize) {
    bench(bencher, "random", n);
}

#[divan::bench(args = SIZES)]
fn maglev(bencher: divan::Bencher, n: usize) {
    bench(bencher, "maglev", n);
}

#[divan::bench(args = SIZES, threads = [2])]
fn edge_two_threads(bencher: divan::Bencher, n: usize) {
    bench(bencher, "edge", n);
}

#[divan::bench(args = SIZES, threads = [2])]
fn least_request_two_threads(bencher: divan::Bencher, n: usize) {
    bench(bencher, "least_request", n);
}

/// The same pick, but each thread picks from a set of its own: nothing is shared between the
/// threads. Against the shared two-thread rows, this is what sharing the endpoints' stats
/// between cores costs, and whether the machine's two cores slow each other down.
#[divan::bench(args = [1000], threads = [1, 2])]
fn least_request_private_set(bencher: divan::Bencher, n: usize) {
    bench_private(bencher, "least_request", n);
}

#[divan::bench(args = [1000], threads = [1, 2])]
fn edge_private_set(bencher: divan::Bencher, n: usize) {
    bench_private(bencher, "edge", n);
}

/// One thread's own set and balancer, for [`bench_private`].
struct Private {
    name: &'static str,
    n: usize,
    set: EndpointSet,
    balancer: Box<dyn switchyard_balance::Balancer>,
}

fn bench_private(bencher: divan::Bencher, name: &'static str, n: usize) {
    thread_local! {
        static PRIVATE: std::cell::RefCell<Vec<Private>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let policy = common::policy(name);
    bencher.bench(|| {
        PRIVATE.with_borrow_mut(|sets| {
            let at = match sets.iter().position(|p| p.name == name && p.n == n) {
                Some(at) => at,
                None => {
                    let set = common::set(n);
                    let balancer = policy.build(&set, 0);
                    sets.push(Private {
                        name,
                        n,
                        set,
                        balancer,
                    });
                    sets.len() - 1
                }
            };
            let Private { set, balancer, .. } = &sets[at];
            let ctx = PickContext {
                tried: &[],
                hash: None,
            };
            let mut pick = balancer.pick(set, &ctx).unwrap();
            pick.record(set, common::success());
            divan::black_box(pick.index())
        })
    });
}
