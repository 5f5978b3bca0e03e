//! Balancer invariants on a manual clock: ejection, probation, warm-up, decay, outlier
//! detection, and the edge algorithm's response to a sinkhole.

use proptest::prelude::*;
use std::sync::Arc;
use std::time::Duration;
use switchyard_balance::*;
use switchyard_core::ManualClock;

fn set_on(clock: &ManualClock, n: usize) -> EndpointSet {
    let specs: Vec<EndpointSpec> = (0..n)
        .map(|i| EndpointSpec::new(format!("10.0.0.{i}:80")))
        .collect();
    EndpointSet::new(
        &specs,
        Timebase::new(Arc::new(clock.clone())),
        StatParams::default(),
    )
}

/// An established endpoint (index 0) and one that joins at 200 s (index 1), at 200 s.
fn one_joins_at_200_s(clock: &ManualClock) -> EndpointSet {
    let old = set_on(clock, 1);
    clock.advance(Duration::from_secs(200));
    old.update(&[
        EndpointSpec::new("10.0.0.0:80"),
        EndpointSpec::new("new:80"),
    ])
}

/// Both endpoints of `set` learn a capacity of 10: five in flight (four others) at 50 %
/// utilization.
fn learn_a_capacity_of_ten(set: &EndpointSet) {
    for i in 0..2 {
        let held: Vec<Pick> = (0..4).map(|_| set.pick(i)).collect();
        set.pick(i).record(
            set,
            Outcome {
                kind: OutcomeKind::Success,
                utilization: Some(0.5),
            },
        );
        drop(held);
        assert_eq!(set.capacity(i), Some(10.0));
    }
}

/// `edge` with its defaults but no warm-up (endpoints of a fresh test set are all new).
fn edge_without_warm_up() -> Policy {
    Policy::Edge(EdgeParams {
        warm_up: None,
        ..EdgeParams::default()
    })
}

/// Asserts that 100 picks in a row all go to `index`.
fn always_picks(balancer: &dyn Balancer, set: &EndpointSet, index: usize, why: &str) {
    for _ in 0..100 {
        let pick = balancer.pick(set, &PickContext::default()).unwrap();
        assert_eq!(pick.index(), index, "{why}");
    }
}

fn policies() -> Vec<Policy> {
    vec![
        Policy::RoundRobin { warm_up: None },
        Policy::Random,
        Policy::LeastRequest {
            bias: 1.0,
            warm_up: None,
        },
        Policy::PeakEwma {
            default_rtt_ns: 30_000_000,
        },
        Policy::RingHash {
            points_per_weight: 64,
        },
        Policy::Maglev { table_size: 1021 },
        edge_without_warm_up(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn never_picks_an_ejected_endpoint_outside_panic(n in 4usize..40, seed in any::<u64>(), ejected_share in 0.0f64..0.5) {
        let clock = ManualClock::new();
        let set = set_on(&clock, n);
        let ejected: Vec<usize> = (0..((n as f64 * ejected_share) as usize)).collect();
        for &i in &ejected {
            set.set_active_health(i, false);
        }
        for policy in policies() {
            let balancer = policy.build(&set, seed);
            for k in 0..200u64 {
                let pick = balancer.pick(&set, &PickContext { tried: &[], hash: Some(k.wrapping_mul(seed | 1)) }).unwrap();
                prop_assert!(!ejected.contains(&pick.index()), "{policy:?} picked ejected {}", pick.index());
            }
        }
    }

    #[test]
    fn panic_mode_balances_over_all_when_too_few_are_available(n in 4usize..40, seed in any::<u64>()) {
        let clock = ManualClock::new();
        let set = set_on(&clock, n);
        for i in 0..(n * 3 / 4) {
            set.set_active_health(i, false);
        }
        let balancer = Policy::Random.build(&set, seed);
        let picked_unhealthy = (0..400).any(|_| balancer.pick(&set, &PickContext::default()).unwrap().index() < n * 3 / 4);
        prop_assert!(picked_unhealthy, "in panic, unavailable endpoints still take traffic");
    }

    #[test]
    fn probation_holds_a_new_endpoint_to_its_limit(n in 2usize..20, seed in any::<u64>()) {
        let clock = ManualClock::new();
        let set = set_on(&clock, n);
        // Endpoint 0 has answered; the others are new.
        set.pick(0).record(&set, Outcome::of(OutcomeKind::Success));
        let edge = edge_without_warm_up().build(&set, seed);
        let held: Vec<Pick> = (0..n * 4).filter_map(|_| edge.pick(&set, &PickContext::default())).collect();
        for i in 1..n {
            prop_assert!(set.stats(i).in_flight() <= 1, "endpoint {i} has {} in flight unanswered", set.stats(i).in_flight());
        }
        prop_assert_eq!(held.len(), n * 4, "the answered endpoint takes the rest");
    }

    #[test]
    fn probation_never_refuses_when_nothing_else_can_take_the_request(n in 1usize..5, seed in any::<u64>()) {
        let clock = ManualClock::new();
        let set = set_on(&clock, n);
        let edge = edge_without_warm_up().build(&set, seed);
        let held: Vec<Pick> = (0..n * 3).filter_map(|_| edge.pick(&set, &PickContext::default())).collect();
        prop_assert_eq!(held.len(), n * 3);
    }

    #[test]
    fn a_fleet_on_probation_still_spreads_by_in_flight(n in 2usize..30, seed in any::<u64>()) {
        // A gateway just started: no endpoint has answered, so every one is on full probation
        // after its first request; the requests of the first round trip still spread evenly.
        let clock = ManualClock::new();
        let set = set_on(&clock, n);
        let edge = Policy::Edge(EdgeParams::default()).build(&set, seed);
        let held: Vec<Pick> = (0..n * 6).filter_map(|_| edge.pick(&set, &PickContext::default())).collect();
        prop_assert_eq!(held.len(), n * 6);
        let most = (0..n).map(|i| set.stats(i).in_flight()).max().unwrap();
        // The scan of small clusters finds the least loaded; choice of two, the less loaded
        // of those it drew.
        let bound = if n <= 8 { 6 } else { 12 };
        prop_assert!(most <= bound, "{most} in flight on one endpoint, {n} endpoints");
    }
}

#[test]
fn an_answer_ends_probation() {
    let clock = ManualClock::new();
    let set = set_on(&clock, 2);
    let edge = edge_without_warm_up().build(&set, 1);
    let mut first = edge.pick(&set, &PickContext::default()).unwrap();
    first.record(&set, Outcome::of(OutcomeKind::Success));
    let held: Vec<Pick> = (0..10)
        .filter_map(|_| edge.pick(&set, &PickContext::default()))
        .collect();
    assert!(
        set.stats(first.index()).in_flight() > 2,
        "the answered endpoint takes more than one"
    );
    drop(held);
}

#[test]
fn warm_up_share_follows_the_ramp() {
    let clock = ManualClock::new();
    let set = one_joins_at_200_s(&clock);
    let window = Duration::from_secs(90);
    let warm_up = WarmUp {
        window_ns: window.as_nanos() as u64,
        min_weight: 0.1,
        aggression: 1.0,
    };
    for (age, expected) in [(9u64, 0.1), (45, 0.5), (72, 0.8), (90, 1.0)] {
        let params = EdgeParams {
            warm_up: Some(warm_up),
            use_probation: false,
            ..EdgeParams::default()
        };
        let edge = Policy::Edge(params).build(&set, age);
        // The new endpoint was first seen at 200 s on the set's timebase.
        let target = Duration::from_secs(200 + age);
        let now = Duration::from_nanos(set.now_ns());
        clock.advance(target.saturating_sub(now));
        let picks = 20_000;
        let new = (0..picks)
            .filter(|_| edge.pick(&set, &PickContext::default()).unwrap().index() == 1)
            .count();
        // Ties between two idle endpoints split evenly, so the new one's share of a fair half is the ramp.
        let relative = new as f64 / (picks as f64 / 2.0);
        assert!(
            (relative - expected).abs() < 0.05,
            "age {age}s: relative share {relative}, ramp {expected}"
        );
    }
}

/// A warming endpoint may hold only its ramp's share of its capacity in flight (at least one),
/// so a newcomer that is slow at first cannot pile up requests.
#[test]
fn edge_holds_a_warming_endpoint_to_its_ramp_share_of_capacity() {
    let clock = ManualClock::new();
    let set = one_joins_at_200_s(&clock);
    clock.advance(Duration::from_secs(9)); // ramp 0.1
    learn_a_capacity_of_ten(&set);
    let mut took_one = 0;
    for seed in 1..=300 {
        let params = EdgeParams {
            use_probation: false,
            warm_up: Some(WarmUp {
                min_weight: 0.1,
                ..WarmUp::default()
            }),
            ..EdgeParams::default()
        };
        let edge = Policy::Edge(params).build(&set, seed);
        let held: Vec<Pick> = (0..8)
            .map(|_| edge.pick(&set, &PickContext::default()).unwrap())
            .collect();
        let new = held.iter().filter(|p| p.index() == 1).count();
        assert!(
            new <= 1,
            "seed {seed}: {new} in flight on a 10 % warm endpoint of capacity 10"
        );
        took_one += new;
    }
    assert!(took_one > 0, "the warming endpoint still gets requests");
}

/// A set of one old endpoint and one that joined 45 s ago (ramp 0.625), each answered once,
/// in `old_ms` and `new_ms`.
fn old_and_joiner(clock: &ManualClock, old_ms: u64, new_ms: u64) -> EndpointSet {
    let set = one_joins_at_200_s(clock);
    clock.advance(Duration::from_secs(45));
    for (i, ms) in [(0, old_ms), (1, new_ms)] {
        let pick = set.pick(i);
        clock.advance(Duration::from_millis(ms));
        let mut pick = pick;
        pick.record(&set, Outcome::of(OutcomeKind::Success));
    }
    set
}

/// Warm-up caps a joiner's share; relative latency still counts below that cap, so a joiner
/// four times slower than its peer takes a fraction of what one as fast takes (a cold server
/// in a red-black deploy).
#[test]
fn a_warming_endpoint_slower_than_its_peers_takes_less_than_its_ramp() {
    let share = |new_ms| {
        let clock = ManualClock::new();
        let set = old_and_joiner(&clock, 10, new_ms);
        let edge = Policy::Edge(EdgeParams::default()).build(&set, 5);
        let picks = 20_000;
        let new = (0..picks)
            .filter(|_| edge.pick(&set, &PickContext::default()).unwrap().index() == 1)
            .count();
        new as f64 / picks as f64
    };
    let (as_fast, slow) = (share(9), share(40));
    assert!(as_fast > 0.2, "as fast: {as_fast}");
    assert!(
        slow < as_fast / 5.0,
        "four times slower: {slow}, as fast: {as_fast}"
    );
}

/// A joiner four times slower than its warm peer stays out while the peer reports room, and
/// takes about its ramp's share once the peer reports it is busy: the fleet then needs the
/// joiner (an autoscale under load), and its latency weighs with `k_latency_warming` (1)
/// instead of `k_latency` (2).
#[test]
fn a_slow_joiner_is_kept_out_while_the_warm_fleet_has_room_and_used_once_it_is_busy() {
    let share = |old_utilization| {
        let clock = ManualClock::new();
        let set = one_joins_at_200_s(&clock);
        clock.advance(Duration::from_secs(45));
        for (i, ms, utilization) in [(0, 10, Some(old_utilization)), (1, 40, None)] {
            let mut pick = set.pick(i);
            clock.advance(Duration::from_millis(ms));
            let kind = OutcomeKind::Success;
            pick.record(&set, Outcome { kind, utilization });
        }
        // Three in flight on the old one: with room it scores 4 x 1.6 = 6.4 against the
        // joiner's 4^2 = 16; busy, 4 x 2.8 = 11.2 against 4^1.
        let busy: Vec<Pick> = (0..3).map(|_| set.pick(0)).collect();
        let edge = Policy::Edge(EdgeParams::default()).build(&set, 9);
        let picks = 10_000;
        let joiner = (0..picks)
            .filter(|_| edge.pick(&set, &PickContext::default()).unwrap().index() == 1)
            .count();
        drop(busy);
        joiner as f64 / picks as f64
    };
    let (room, busy) = (share(0.3), share(0.9));
    assert!(room < 0.02, "warm fleet with room: {room}");
    assert!(busy > 0.4, "warm fleet busy (ramp 0.625): {busy}");
}

/// Relative latency weighs as a power: a server three times slower than its peer, with nothing
/// in flight, is passed over while the peer still has room (half full); one 1.2 times slower
/// is not (a small difference in latency does not outweigh a real difference in load).
#[test]
fn a_much_slower_server_waits_until_its_peers_fill_up() {
    let pick_with_peer_half_full = |slow_ms| {
        let clock = ManualClock::new();
        let set = set_on(&clock, 2);
        learn_a_capacity_of_ten(&set);
        for (i, ms) in [(0, 10), (1, slow_ms)] {
            let mut pick = set.pick(i);
            clock.advance(Duration::from_millis(ms));
            pick.record(&set, Outcome::of(OutcomeKind::Success));
        }
        let busy: Vec<Pick> = (0..5).map(|_| set.pick(0)).collect();
        let edge = edge_without_warm_up().build(&set, 3);
        let chosen = edge.pick(&set, &PickContext::default()).unwrap().index();
        drop(busy);
        chosen
    };
    assert_eq!(pick_with_peer_half_full(30), 0, "three times slower");
    assert_eq!(pick_with_peer_half_full(12), 1, "1.2 times slower");
}

/// Endpoints that joined together are warm relative to each other: with no older endpoint
/// left (a red-black deploy once the old group is gone), warm-up holds none of them back,
/// and `edge` picks exactly as it would without warm-up.
#[test]
fn endpoints_that_joined_together_are_not_held_back() {
    let clock = ManualClock::new();
    let old = set_on(&clock, 10);
    clock.advance(Duration::from_secs(200));
    let specs: Vec<EndpointSpec> = (0..10)
        .map(|i| EndpointSpec::new(format!("new-{i}:80")))
        .collect();
    let set = old.update(&specs);
    clock.advance(Duration::from_secs(9));
    for i in 0..10 {
        set.pick(i).record(&set, Outcome::of(OutcomeKind::Success));
    }
    let picks = |warm_up| {
        let params = EdgeParams {
            warm_up,
            ..EdgeParams::default()
        };
        let edge = Policy::Edge(params).build(&set, 7);
        let held: Vec<Pick> = (0..50)
            .map(|_| edge.pick(&set, &PickContext::default()).unwrap())
            .collect();
        held.iter().map(Pick::index).collect::<Vec<_>>()
    };
    assert_eq!(picks(Some(WarmUp::default())), picks(None));
}

/// When every warm endpoint is over capacity, a warming one over its ramp's cap is still
/// taken before them, however slow: it has room; they would shed.
#[test]
fn a_joiner_over_its_ramp_is_taken_before_a_peer_over_capacity() {
    let clock = ManualClock::new();
    let set = old_and_joiner(&clock, 10, 100);
    learn_a_capacity_of_ten(&set);
    let full: Vec<Pick> = (0..10).map(|_| set.pick(0)).collect();
    let capped: Vec<Pick> = (0..7).map(|_| set.pick(1)).collect();
    for seed in 1..=50 {
        let edge = Policy::Edge(EdgeParams::default()).build(&set, seed);
        let pick = edge.pick(&set, &PickContext::default()).unwrap();
        assert_eq!(pick.index(), 1, "seed {seed}");
    }
    drop((full, capped));
}

#[test]
fn round_robin_slow_start_admits_newcomers_gradually() {
    let clock = ManualClock::new();
    let old = set_on(&clock, 1);
    clock.advance(Duration::from_secs(100));
    let set = old.update(&[
        EndpointSpec::new("10.0.0.0:80"),
        EndpointSpec::new("new:80"),
    ]);
    clock.advance(Duration::from_secs(9));
    let rr = Policy::RoundRobin {
        warm_up: Some(WarmUp {
            min_weight: 0.1,
            ..WarmUp::default()
        }),
    }
    .build(&set, 3);
    let new = (0..10_000)
        .filter(|_| rr.pick(&set, &PickContext::default()).unwrap().index() == 1)
        .count();
    assert!(
        new < 1_500,
        "a 9 s old endpoint gets about 10 % of its turns: {new} of 5000"
    );
}

#[test]
fn error_score_decays_on_the_clock() {
    let clock = ManualClock::new();
    let set = set_on(&clock, 1);
    let half_life = set.params().decay_half_life_ns;
    for _ in 0..50 {
        set.pick(0)
            .record(&set, Outcome::of(OutcomeKind::Overloaded));
    }
    let high = set.stats(0).error_score(set.now_ns(), half_life);
    assert!(high > 0.99, "{high}");
    clock.advance(Duration::from_secs(10));
    let later = set.stats(0).error_score(set.now_ns(), half_life);
    assert!(
        (later - high / 2.0).abs() < 1e-6,
        "halves in one half-life: {later}"
    );
    clock.advance(Duration::from_secs(60));
    assert!(set.stats(0).error_score(set.now_ns(), half_life) < 0.02);
}

#[test]
fn with_overload_as_failure_load_shedding_ejects_like_ribbons_blacklist() {
    let clock = ManualClock::new();
    let specs: Vec<EndpointSpec> = (0..10)
        .map(|i| EndpointSpec::new(format!("10.0.0.{i}:80")))
        .collect();
    let mut params = StatParams::default();
    params.outlier.overload_is_failure = true;
    params.outlier.consecutive_5xx = 3;
    let set = EndpointSet::new(&specs, Timebase::new(Arc::new(clock.clone())), params);
    for _ in 0..2 {
        set.pick(0)
            .record(&set, Outcome::of(OutcomeKind::Overloaded));
    }
    assert!(set.is_available(0, set.now_ns()));
    set.pick(0)
        .record(&set, Outcome::of(OutcomeKind::Overloaded));
    assert!(
        !set.is_available(0, set.now_ns()),
        "the third 503 in a row ejects"
    );
}

#[test]
fn consecutive_5xx_eject_but_load_shedding_never_does() {
    let clock = ManualClock::new();
    let set = set_on(&clock, 10);
    for _ in 0..50 {
        set.pick(0)
            .record(&set, Outcome::of(OutcomeKind::Overloaded));
    }
    assert!(
        set.is_available(0, set.now_ns()),
        "503s move load; they do not eject"
    );
    for _ in 0..5 {
        set.pick(1)
            .record(&set, Outcome::of(OutcomeKind::ServerError));
    }
    assert!(
        !set.is_available(1, set.now_ns()),
        "5 consecutive 500s eject"
    );
    clock.advance(Duration::from_secs(31));
    assert!(
        set.is_available(1, set.now_ns()),
        "the first ejection lasts 30 s"
    );
    for _ in 0..5 {
        set.pick(1)
            .record(&set, Outcome::of(OutcomeKind::ConnectFailure));
    }
    clock.advance(Duration::from_secs(31));
    assert!(!set.is_available(1, set.now_ns()), "the second lasts 60 s");
}

#[test]
fn ejection_never_takes_more_than_the_allowed_share() {
    let clock = ManualClock::new();
    let set = set_on(&clock, 20);
    for i in 0..20 {
        for _ in 0..5 {
            set.pick(i)
                .record(&set, Outcome::of(OutcomeKind::ConnectFailure));
        }
    }
    let ejected = (0..20)
        .filter(|&i| !set.is_available(i, set.now_ns()))
        .count();
    assert_eq!(ejected, 2, "10 % of 20");
}

#[test]
fn success_rate_outliers_are_ejected() {
    let clock = ManualClock::new();
    let set = set_on(&clock, 10);
    for i in 0..10 {
        for k in 0..200 {
            let failed = i == 3 && k % 2 == 0;
            let kind = if failed {
                OutcomeKind::ServerError
            } else {
                OutcomeKind::Success
            };
            let mut p = set.pick(i);
            p.record(&set, Outcome::of(kind));
        }
    }
    assert_eq!(interval_tick(&set, set.now_ns()), vec![3]);
}

#[test]
fn edge_starves_a_sinkhole_that_least_request_feeds() {
    let clock = ManualClock::new();
    let set = set_on(&clock, 5);
    let share = |policy: Policy| {
        let balancer = policy.build(&set, 11);
        let mut sink = 0;
        for _ in 0..5_000 {
            let mut pick = balancer.pick(&set, &PickContext::default()).unwrap();
            let kind = if pick.index() == 0 {
                OutcomeKind::Overloaded
            } else {
                OutcomeKind::Success
            };
            if pick.index() == 0 {
                sink += 1;
            }
            pick.record(&set, Outcome::of(kind));
            clock.advance(Duration::from_millis(1));
        }
        sink as f64 / 5_000.0
    };
    let least = share(Policy::LeastRequest {
        bias: 1.0,
        warm_up: None,
    });
    let edge = share(edge_without_warm_up());
    assert!(
        least > 0.15,
        "least_request gives the sinkhole about 1/5: {least}"
    );
    assert!(edge < 0.03, "edge starves it: {edge}");
}

#[test]
fn edge_shifts_load_from_a_server_reporting_high_utilization() {
    let clock = ManualClock::new();
    let set = set_on(&clock, 2);
    let edge = edge_without_warm_up().build(&set, 5);
    let mut busy = 0;
    let mut held = Vec::new();
    for k in 0..2_000 {
        let mut pick = edge.pick(&set, &PickContext::default()).unwrap();
        let utilization = if pick.index() == 0 { 0.9 } else { 0.2 };
        pick.record(
            &set,
            Outcome {
                kind: OutcomeKind::Success,
                utilization: Some(utilization),
            },
        );
        busy += usize::from(pick.index() == 0);
        held.push(pick);
        if k % 4 == 3 {
            held.clear();
        }
    }
    assert!(
        busy < 800,
        "the busy server gets clearly less than half: {busy}"
    );
}

#[test]
fn an_endpoint_left_alone_is_probed_again() {
    let clock = ManualClock::new();
    let set = set_on(&clock, 2);
    let edge = edge_without_warm_up().build(&set, 9);
    for _ in 0..20 {
        set.pick(0)
            .record(&set, Outcome::of(OutcomeKind::Overloaded));
        set.pick(1).record(&set, Outcome::of(OutcomeKind::Success));
    }
    let picks = |n| {
        (0..n)
            .filter(|_| edge.pick(&set, &PickContext::default()).unwrap().index() == 0)
            .count()
    };
    assert_eq!(picks(50), 0, "a failing endpoint loses every comparison");
    clock.advance(Duration::from_millis(3_100));
    set.pick(1).record(&set, Outcome::of(OutcomeKind::Success));
    assert_eq!(picks(50), 1, "after 3 s alone it is tried exactly once");
}

/// In a small cluster `edge` scans every endpoint: a request always goes to the least loaded
/// one, where choice of two would often miss it.
#[test]
fn edge_scans_small_clusters_for_the_least_loaded() {
    let clock = ManualClock::new();
    let set = set_on(&clock, 6);
    let params = |scan_up_to| EdgeParams {
        warm_up: None,
        scan_up_to,
        ..EdgeParams::default()
    };
    // Every endpoint answered once (no probation); five of them then hold requests.
    for i in 0..6 {
        set.pick(i).record(&set, Outcome::of(OutcomeKind::Success));
    }
    let held: Vec<Pick> = (0..5).flat_map(|i| [set.pick(i), set.pick(i)]).collect();
    let scanning = Policy::Edge(params(8)).build(&set, 3);
    let two = Policy::Edge(params(0)).build(&set, 3);
    let free = |balancer: &dyn Balancer| {
        (0..300)
            .filter(|_| {
                balancer
                    .pick(&set, &PickContext::default())
                    .unwrap()
                    .index()
                    == 5
            })
            .count()
    };
    assert_eq!(free(scanning.as_ref()), 300);
    let by_two = free(two.as_ref());
    assert!(
        by_two < 200,
        "choice of two finds it only when drawn: {by_two}"
    );
    drop(held);
}

/// The default scans a cluster of sixty (the simulator's large fleet: docs/balancing.md).
#[test]
fn by_default_edge_scans_a_cluster_of_sixty() {
    let clock = ManualClock::new();
    let set = set_on(&clock, 60);
    for i in 0..60 {
        set.pick(i).record(&set, Outcome::of(OutcomeKind::Success));
    }
    let held: Vec<Pick> = (0..59).map(|i| set.pick(i)).collect();
    let edge = edge_without_warm_up().build(&set, 5);
    always_picks(
        edge.as_ref(),
        &set,
        59,
        "the one endpoint with nothing in flight",
    );
    drop(held);
}

/// Two load failures in a row put an endpoint over `edge`'s error threshold (error_alpha 0.3),
/// so an idle sinkhole loses to a busy healthy endpoint after two requests, not seven.
#[test]
fn two_load_failures_in_a_row_filter_an_endpoint() {
    let clock = ManualClock::new();
    let set = set_on(&clock, 2);
    for _ in 0..2 {
        set.pick(0)
            .record(&set, Outcome::of(OutcomeKind::Overloaded));
    }
    set.pick(1).record(&set, Outcome::of(OutcomeKind::Success));
    let held: Vec<Pick> = (0..3).map(|_| set.pick(1)).collect();
    let edge = edge_without_warm_up().build(&set, 5);
    always_picks(edge.as_ref(), &set, 1, "the failing endpoint is filtered");
    drop(held);
}

proptest! {
    /// After a red-black deploy every endpoint is new and warming: the scan of a small
    /// cluster must still place every request (it once passed over all of them now and then).
    #[test]
    fn a_fleet_that_is_all_new_still_takes_every_request(n in 1usize..=8, seed in any::<u64>()) {
        let clock = ManualClock::new();
        let old = set_on(&clock, n);
        clock.advance(Duration::from_secs(200));
        let specs: Vec<EndpointSpec> = (0..n).map(|i| EndpointSpec::new(format!("new-{i}:80"))).collect();
        let set = old.update(&specs);
        let edge = Policy::Edge(EdgeParams::default()).build(&set, seed);
        for i in 0..n {
            // Each has answered once: out of probation, still early on its ramp.
            set.pick(i).record(&set, Outcome::of(OutcomeKind::Success));
        }
        for _ in 0..200 {
            prop_assert!(edge.pick(&set, &PickContext::default()).is_some());
        }
    }
}
