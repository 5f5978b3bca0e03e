//! GCRA on a manual clock: exact bursts and refills, no overshoot under contention, bounded
//! memory under a flood of keys.

use super::*;
use crate::chain::Exchange;
use http::{HeaderMap, Method, Uri};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use switchyard_core::ManualClock;

const SECOND: u64 = 1_000_000_000;

#[test]
fn a_fresh_key_gets_its_burst_then_one_request_per_interval() {
    // 10 per second, bursts of 5: interval 100 ms.
    let gcra = Gcra::new(10, SECOND, 5);
    let mut tat = 0;
    let now = 50 * SECOND;
    for left in (0..5).rev() {
        let (d, next) = gcra.decide(tat, now);
        assert!(d.allowed);
        assert_eq!(d.remaining, left);
        tat = next;
    }
    let (refused, same) = gcra.decide(tat, now);
    assert!(!refused.allowed);
    assert_eq!(same, tat, "a refusal leaves the state alone");
    assert_eq!(refused.retry_after_ns, SECOND / 10);
    assert_eq!(refused.reset_ns, SECOND / 2);
    // One interval later exactly one more fits.
    let later = now + SECOND / 10;
    let (d, next) = gcra.decide(tat, later);
    assert!(d.allowed);
    assert_eq!(d.remaining, 0);
    assert!(!gcra.decide(next, later).0.allowed);
    // After the whole burst window the full burst is back.
    let (d, _) = gcra.decide(next, later + SECOND / 2);
    assert_eq!((d.allowed, d.remaining), (true, 4));
}

#[test]
fn over_a_long_run_the_admitted_rate_is_the_configured_rate() {
    let gcra = Gcra::new(100, 60 * SECOND, 10);
    let (mut tat, mut admitted) = (0, 0);
    // One attempt every 10 ms for 10 minutes.
    for step in 0..60_000u64 {
        let (d, next) = gcra.decide(tat, step * SECOND / 100);
        if d.allowed {
            admitted += 1;
            tat = next;
        }
    }
    // 100 per minute for 10 minutes, plus the initial burst.
    assert_eq!(admitted, 1000 + 10 - 1);
}

fn limiter(requests: u64, burst: u64, max_keys: usize, clock: &ManualClock) -> RateLimit {
    let policy = RateLimitPolicy {
        requests,
        per: Duration::from_secs(1),
        burst,
        key: vec![RateKey::ClientIp],
        max_keys,
        redis: None,
    };
    RateLimit::new(
        "per-client",
        &policy,
        &Timebase::new(Arc::new(clock.clone()), 0),
        &PolicyMetrics::default(),
    )
}

fn admit(limit: &RateLimit, ip: IpAddr) -> Result<Passed, Answer> {
    let mut uri = Uri::from_static("/");
    let mut headers = HeaderMap::new();
    let ex = Exchange {
        method: &Method::GET,
        uri: &mut uri,
        headers: &mut headers,
        client_ip: ip,
        route: "r",
        params: &[],
    };
    let mut passed = Passed::default();
    let name = Arc::from("per-client");
    let result = {
        let admitted = limit.admit(&name, &ex, &mut passed);
        let mut admitted = std::pin::pin!(admitted);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match admitted.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(result) => result,
            std::task::Poll::Pending => panic!("a local limit waited"),
        }
    };
    result.map(|()| passed)
}

#[test]
fn answers_carry_the_ietf_headers_and_a_429_says_when_to_retry() {
    let clock = ManualClock::new();
    let limit = limiter(2, 2, 100, &clock);
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let passed = admit(&limit, ip).unwrap();
    let headers: Vec<String> = passed
        .response_headers
        .iter()
        .map(|(n, v)| format!("{n}: {}", v.to_str().unwrap()))
        .collect();
    assert_eq!(
        headers,
        [
            "ratelimit-policy: \"per-client\";q=2;w=1",
            "ratelimit: \"per-client\";r=1;t=1"
        ]
    );
    admit(&limit, ip).unwrap();
    let refused = admit(&limit, ip).unwrap_err();
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.reason, "rate_limited");
    let retry = refused
        .headers
        .iter()
        .find(|(n, _)| n == header::RETRY_AFTER)
        .unwrap();
    assert_eq!(retry.1, "1");
    clock.advance(Duration::from_millis(500));
    admit(&limit, ip).unwrap();
}

#[test]
fn keys_are_limited_separately() {
    let clock = ManualClock::new();
    let limit = limiter(1, 1, 100, &clock);
    let a = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
    let b = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    assert!(admit(&limit, a).is_ok());
    assert!(admit(&limit, a).is_err());
    assert!(admit(&limit, b).is_ok());
}

#[test]
fn concurrent_requests_never_exceed_the_limit() {
    let clock = ManualClock::new();
    let limit = Arc::new(limiter(1, 50, 100, &clock));
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let limit = limit.clone();
            std::thread::spawn(move || (0..100).filter(|_| admit(&limit, ip).is_ok()).count())
        })
        .collect();
    let admitted: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(
        admitted, 50,
        "exactly the burst, however the threads interleave"
    );
}

#[test]
fn a_flood_of_distinct_keys_stays_within_max_keys() {
    let clock = ManualClock::new();
    let limit = limiter(10, 10, 1000, &clock);
    for i in 0..50_000u32 {
        let ip = IpAddr::V4(Ipv4Addr::from(0x7f00_0000 | i));
        assert!(admit(&limit, ip).is_ok(), "a new key always has its burst");
        if i % 1000 == 0 {
            clock.advance(Duration::from_millis(1));
        }
    }
    let held = limit.keys_held();
    assert!(held <= 1000 + super::SHARDS, "held {held} keys");
    assert!(held >= 500, "the table is used, held {held}");
}

#[test]
fn eviction_drops_idle_keys_first_and_an_active_one_only_when_all_are_active() {
    let mut map = Tats::default();
    let now = 100;
    map.extend([(1, 50), (2, 100), (3, 180), (4, 150)]);
    evict(&mut map, now);
    let mut kept: Vec<u64> = map.keys().copied().collect();
    kept.sort_unstable();
    assert_eq!(kept, [3, 4], "idle keys (TAT passed) go, active ones stay");
    evict(&mut map, now);
    assert_eq!(
        map.keys().copied().collect::<Vec<_>>(),
        [3],
        "then the one closest to idle"
    );
}
