//! DNS discovery against a real (tiny) DNS server on 127.0.0.1 over UDP: answers built with
//! hickory-proto's message types, changed by the test while the resolver runs.

use hickory_resolver::proto::op::{Message, ResponseCode};
use hickory_resolver::proto::rr::rdata::{A, AAAA, SRV};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchyard_balance::EndpointSpec;
use switchyard_config::Discovery;
use switchyard_discovery::start;
use tokio::net::UdpSocket;
use tokio::sync::watch;

/// Longest wait for an expected list: a 1 s TTL plus slack for a slow machine.
const WAIT: Duration = Duration::from_secs(5);

/// The records the server answers with, by lowercased name without the final dot.
#[derive(Default)]
struct ZoneData {
    records: HashMap<(String, RecordType), Vec<RData>>,
    ttl: u32,
    /// Answer every query with SERVFAIL.
    fail: bool,
    /// Queries seen, by (name, type).
    queries: HashMap<(String, RecordType), usize>,
}

#[derive(Clone)]
struct Zone(Arc<Mutex<ZoneData>>);

impl Zone {
    fn new(ttl: u32) -> Self {
        Self(Arc::new(Mutex::new(ZoneData {
            ttl,
            ..ZoneData::default()
        })))
    }

    fn set(&self, name: &str, kind: RecordType, data: Vec<RData>) {
        let mut zone = self.0.lock().unwrap();
        zone.records.insert((name.to_owned(), kind), data);
    }

    fn set_a(&self, name: &str, ips: &[&str]) {
        let data = ips
            .iter()
            .map(|ip| RData::A(A(ip.parse().unwrap())))
            .collect();
        self.set(name, RecordType::A, data);
    }

    fn fail(&self, fail: bool) {
        self.0.lock().unwrap().fail = fail;
    }

    fn queries(&self, name: &str, kind: RecordType) -> usize {
        let zone = self.0.lock().unwrap();
        zone.queries
            .get(&(name.to_owned(), kind))
            .copied()
            .unwrap_or(0)
    }

    fn answer(&self, request: &Message) -> Message {
        let mut zone = self.0.lock().unwrap();
        let mut response = Message::response(request.metadata.id, request.metadata.op_code);
        response.metadata.recursion_desired = request.metadata.recursion_desired;
        response.metadata.recursion_available = true;
        response.metadata.authoritative = true;
        for query in &request.queries {
            response.add_query(query.clone());
            let name = query.name().to_ascii().trim_end_matches('.').to_lowercase();
            let key = (name.clone(), query.query_type());
            *zone.queries.entry(key.clone()).or_default() += 1;
            if zone.fail {
                response.metadata.response_code = ResponseCode::ServFail;
                continue;
            }
            match zone.records.get(&key) {
                Some(data) => {
                    for rdata in data {
                        let record =
                            Record::from_rdata(query.name().clone(), zone.ttl, rdata.clone());
                        response.add_answer(record);
                    }
                }
                // Another type of a known name: NOERROR with no answer; an unknown name: NXDOMAIN.
                None if zone.records.keys().any(|(n, _)| *n == name) => {}
                None => response.metadata.response_code = ResponseCode::NXDomain,
            }
        }
        response
    }
}

/// Serves `zone` on 127.0.0.1, a new port; stops with the test's runtime.
async fn serve(zone: Zone) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let Ok(request) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let Ok(bytes) = zone.answer(&request).to_vec() else {
                continue;
            };
            let _ = socket.send_to(&bytes, peer).await;
        }
    });
    addr
}

fn dns(name: &str, port: u16, srv: bool, max_interval: Duration, server: SocketAddr) -> Discovery {
    Discovery::Dns {
        name: name.to_owned(),
        port,
        srv,
        max_interval,
        server: Some(server.to_string()),
    }
}

fn spec(address: &str, weight: u32) -> EndpointSpec {
    EndpointSpec {
        address: address.to_owned(),
        weight,
        zone: None,
    }
}

async fn wait_for(rx: &mut watch::Receiver<Vec<EndpointSpec>>, want: &[EndpointSpec]) {
    let found = tokio::time::timeout(WAIT, rx.wait_for(|list| list == want))
        .await
        .is_ok();
    assert!(found, "wanted {want:?}, have {:?}", *rx.borrow());
}

/// Waits until the server has seen `more` further queries for `name`.
async fn wait_for_queries(zone: &Zone, name: &str, kind: RecordType, more: usize) {
    let target = zone.queries(name, kind) + more;
    let seen = tokio::time::timeout(WAIT, async {
        while zone.queries(name, kind) < target {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(seen.is_ok(), "the resolver did not ask again for {name}");
    // Let the resolver act on the answer before the test looks at the list.
    tokio::time::sleep(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn a_records_are_re_resolved_when_the_ttl_runs_out() {
    let zone = Zone::new(1);
    zone.set_a("api.test", &["127.0.0.1"]);
    let server = serve(zone.clone()).await;
    // max_interval is long: only the 1 s TTL can explain a quick update.
    let d = start(
        "api",
        &dns("api.test", 8080, false, Duration::from_secs(60), server),
        Vec::new(),
    );
    let mut rx = d.endpoints.clone();
    wait_for(&mut rx, &[spec("127.0.0.1:8080", 1)]).await;

    zone.set_a("api.test", &["127.0.0.3", "127.0.0.2"]);
    let changed = std::time::Instant::now();
    wait_for(
        &mut rx,
        &[spec("127.0.0.2:8080", 1), spec("127.0.0.3:8080", 1)],
    )
    .await;
    assert!(
        changed.elapsed() < Duration::from_secs(3),
        "picked up at the TTL"
    );
}

#[tokio::test]
async fn ipv6_answers_are_bracketed() {
    let zone = Zone::new(1);
    zone.set_a("dual.test", &["127.0.0.1"]);
    zone.set(
        "dual.test",
        RecordType::AAAA,
        vec![RData::AAAA(AAAA("::1".parse().unwrap()))],
    );
    let server = serve(zone.clone()).await;
    let d = start(
        "dual",
        &dns("dual.test.", 80, false, Duration::from_secs(60), server),
        Vec::new(),
    );
    let mut rx = d.endpoints.clone();
    wait_for(&mut rx, &[spec("127.0.0.1:80", 1), spec("[::1]:80", 1)]).await;
}

#[tokio::test]
async fn max_interval_bounds_a_long_ttl() {
    let zone = Zone::new(3600);
    zone.set_a("long.test", &["127.0.0.1"]);
    let server = serve(zone.clone()).await;
    let d = start(
        "long",
        &dns("long.test", 80, false, Duration::from_secs(1), server),
        Vec::new(),
    );
    let mut rx = d.endpoints.clone();
    wait_for(&mut rx, &[spec("127.0.0.1:80", 1)]).await;
    zone.set_a("long.test", &["127.0.0.9"]);
    wait_for(&mut rx, &[spec("127.0.0.9:80", 1)]).await;
}

#[tokio::test]
async fn failures_and_empty_answers_keep_the_last_good_list() {
    let zone = Zone::new(1);
    zone.set_a("flaky.test", &["127.0.0.1", "127.0.0.2"]);
    let server = serve(zone.clone()).await;
    let d = start(
        "flaky",
        &dns("flaky.test", 80, false, Duration::from_secs(60), server),
        Vec::new(),
    );
    let mut rx = d.endpoints.clone();
    let good = [spec("127.0.0.1:80", 1), spec("127.0.0.2:80", 1)];
    wait_for(&mut rx, &good).await;
    rx.mark_unchanged();

    zone.fail(true);
    wait_for_queries(&zone, "flaky.test", RecordType::A, 1).await;
    assert!(!rx.has_changed().unwrap(), "SERVFAIL keeps the list");

    zone.fail(false);
    zone.set_a("flaky.test", &[]);
    wait_for_queries(&zone, "flaky.test", RecordType::A, 1).await;
    assert!(!rx.has_changed().unwrap(), "an empty answer keeps the list");
    assert_eq!(*rx.borrow(), good);
}

#[tokio::test]
async fn srv_records_map_to_weighted_endpoints_of_the_best_priority() {
    let zone = Zone::new(1);
    let name = |s: &str| Name::from_ascii(s).unwrap();
    zone.set(
        "_http._tcp.svc.test",
        RecordType::SRV,
        vec![
            RData::SRV(SRV::new(10, 5, 8081, name("a.svc.test."))),
            RData::SRV(SRV::new(10, 0, 8082, name("b.svc.test."))),
            RData::SRV(SRV::new(20, 9, 9999, name("backup.svc.test."))),
        ],
    );
    zone.set_a("a.svc.test", &["127.0.0.1"]);
    zone.set_a("b.svc.test", &["127.0.0.2"]);
    zone.set(
        "b.svc.test",
        RecordType::AAAA,
        vec![RData::AAAA(AAAA("::1".parse().unwrap()))],
    );
    zone.set_a("backup.svc.test", &["127.0.0.99"]);
    let server = serve(zone.clone()).await;
    let discovery = dns(
        "_http._tcp.svc.test",
        0,
        true,
        Duration::from_secs(60),
        server,
    );
    let d = start("svc", &discovery, Vec::new());
    let mut rx = d.endpoints.clone();
    wait_for(
        &mut rx,
        &[
            spec("127.0.0.1:8081", 5),
            spec("127.0.0.2:8082", 1),
            spec("[::1]:8082", 1),
        ],
    )
    .await;

    // The best priority's targets vanish: the backups take over.
    zone.set_a("a.svc.test", &[]);
    zone.set("b.svc.test", RecordType::AAAA, Vec::new());
    zone.set_a("b.svc.test", &[]);
    wait_for(&mut rx, &[spec("127.0.0.99:9999", 9)]).await;
}

#[tokio::test]
async fn static_endpoints_stand_until_dns_answers() {
    let zone = Zone::new(1);
    let server = serve(zone.clone()).await;
    let seed = vec![spec("10.0.0.1:80", 1)];
    let d = start(
        "late",
        &dns("late.test", 80, false, Duration::from_secs(60), server),
        seed.clone(),
    );
    let mut rx = d.endpoints.clone();
    assert_eq!(*rx.borrow(), seed);
    wait_for_queries(&zone, "late.test", RecordType::A, 1).await;
    assert_eq!(*rx.borrow(), seed, "NXDOMAIN keeps the static list");
    zone.set_a("late.test", &["127.0.0.1"]);
    wait_for(&mut rx, &[spec("127.0.0.1:80", 1)]).await;
}

#[tokio::test]
async fn an_ip_address_needs_no_query() {
    let zone = Zone::new(1);
    let server = serve(zone.clone()).await;
    let d = start(
        "ip",
        &dns("::1", 80, false, Duration::from_secs(60), server),
        Vec::new(),
    );
    let mut rx = d.endpoints.clone();
    wait_for(&mut rx, &[spec("[::1]:80", 1)]).await;
    assert!(zone.0.lock().unwrap().queries.is_empty());
}
