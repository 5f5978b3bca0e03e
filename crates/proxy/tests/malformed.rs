//! Malformed and smuggling-shaped HTTP/1.x requests (RFC 9112) and the listener's limits, sent
//! as raw bytes: the gateway refuses each with the exact status, the backend never sees it, and
//! the gateway keeps serving afterwards.
//!
//! Who answers: hyper's HTTP/1 parser refuses some requests before the gateway sees them and
//! answers with a bare status line and an empty body, then closes the connection: conflicting
//! or invalid Content-Length values (400), a Transfer-Encoding whose last coding is not
//! `chunked` or any Transfer-Encoding in HTTP/1.0 (400), obs-fold (400), an unparsable request
//! line or header name (400), too large a head (431), too many headers (431). A head that
//! stalls gets no answer at all, only a closed connection. For everything else the gateway
//! answers itself with its `application/problem+json` body, and these tests check it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use switchyard_testkit::{Backend, BackendConfig, TestGateway, raw};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An upper bound for one exchange: every case here ends with the gateway closing the
/// connection (the requests say `Connection: close` when the refusal itself would not close),
/// so this only limits how long a broken gateway can stall a test.
const WAIT: Duration = Duration::from_secs(5);

const MAX_BODY: usize = 1024;

fn config(upstream: SocketAddr, extra_routes: &str, extra_clusters: &str) -> String {
    format!(
        r#"listeners:
  - name: public
    address: 127.0.0.1:0
    max_header_bytes: 8192
    max_headers: 20
    header_read_timeout: 300ms
    max_request_body_bytes: {MAX_BODY}
access_log: {{ to: "off" }}
routes:
{extra_routes}  - name: all
    proxy: {{ cluster: backend, timeout: 5s }}
clusters:
  - name: backend
    endpoints: [ {{ address: "{upstream}" }} ]
{extra_clusters}"#
    )
}

/// A gateway in front of one real backend.
struct Rig {
    backend: Backend,
    gateway: TestGateway,
}

impl Rig {
    async fn start() -> Self {
        Self::with("", "").await
    }

    async fn with(extra_routes: &str, extra_clusters: &str) -> Self {
        let backend = Backend::start(BackendConfig::named("b")).await;
        let yaml = config(backend.address(), extra_routes, extra_clusters);
        let gateway = TestGateway::start(&yaml).await;
        Self { backend, gateway }
    }

    async fn send(&self, bytes: impl AsRef<[u8]>) -> Reply {
        Reply::parse(&raw::exchange(self.gateway.address(), bytes.as_ref(), WAIT).await)
    }

    /// The refused request never reached the backend, and the gateway still proxies.
    async fn assert_refused_and_healthy(&self) {
        assert_eq!(
            self.backend.hits(),
            0,
            "the backend must not see a refused request"
        );
        self.assert_healthy(0).await;
    }

    /// A normal request still goes through (the backend had `before` hits until now).
    async fn assert_healthy(&self, before: u64) {
        let reply = self.gateway.get("/").await;
        assert_eq!(reply.status, 200, "gateway still healthy: {}", reply.text());
        assert_eq!(self.backend.hits(), before + 1);
    }
}

/// One response read off the wire, plus whatever followed it.
#[derive(Debug)]
struct Reply {
    text: String,
    status: Option<u16>,
    headers: Vec<(String, String)>,
    body: String,
    /// What came after this response (a smuggled request's answer would be here).
    rest: String,
}

impl Reply {
    fn parse(text: &str) -> Self {
        let status = raw::status_of(text);
        let (head, after) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
        let headers: Vec<(String, String)> = head
            .lines()
            .skip(1)
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(after.len())
            .min(after.len());
        let (body, rest) = after.split_at(length);
        Self {
            text: text.to_owned(),
            status,
            headers,
            body: body.to_owned(),
            rest: rest.to_owned(),
        }
    }

    /// Every response in `text`, in order.
    fn parse_all(text: &str) -> Vec<Self> {
        let mut replies = vec![Self::parse(text)];
        while let Some(next) = replies.last().filter(|r| !r.rest.is_empty()) {
            let next = Self::parse(&next.rest);
            replies.push(next);
        }
        replies
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as the backend's JSON description of the request it received.
    fn seen_by_backend(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not the backend's JSON ({e}): {}", self.text))
    }

    /// hyper's own answer to a request it could not parse: status only, empty body.
    fn assert_bare(&self, status: u16) {
        assert_eq!(self.status, Some(status), "{}", self.text);
        assert_eq!(self.body, "", "{}", self.text);
        assert_eq!(self.rest, "", "one response only: {}", self.text);
    }

    /// The gateway's problem+json answer with this status and reason code.
    fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, Some(status), "{}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        let problem: serde_json::Value = serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("problem body is not JSON ({e}): {}", self.text));
        assert_eq!(problem["status"], status, "{}", self.text);
        assert_eq!(problem["code"], code, "{}", self.text);
        assert_eq!(self.rest, "", "one response only: {}", self.text);
    }
}

/// Connects, sends `bytes`, and reads until the gateway closes; returns what it sent and how
/// long the close took, or `None` if it kept the connection open for `limit`.
async fn until_closed(
    address: SocketAddr,
    bytes: &[u8],
    limit: Duration,
) -> Option<(String, Duration)> {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let started = Instant::now();
    stream.write_all(bytes).await.expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout_at((started + limit).into(), stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    Some((
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicting_content_lengths_are_refused() {
    let rig = Rig::start().await;
    for head in [
        "Content-Length: 5\r\nContent-Length: 6\r\n",
        "Content-Length: 5, 6\r\n",
        "Content-Length: +5\r\n",
        "Content-Length: 5 5\r\n",
    ] {
        let reply = rig
            .send(format!("POST / HTTP/1.1\r\nHost: a\r\n{head}\r\nhello!"))
            .await;
        reply.assert_bare(400);
    }
    rig.assert_refused_and_healthy().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_length_with_transfer_encoding_is_refused_and_closes() {
    let rig = Rig::start().await;
    // The classic CL.TE and TE.CL shapes, with a request smuggled behind the first one.
    for head in [
        "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
    ] {
        let bytes = format!(
            "POST / HTTP/1.1\r\nHost: a\r\n{head}\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
        );
        let (text, _) = until_closed(rig.gateway.address(), bytes.as_bytes(), WAIT)
            .await
            .expect("the gateway closes the connection after refusing ambiguous framing");
        let reply = Reply::parse(&text);
        reply.assert_problem(400, "ambiguous_framing");
        assert_eq!(reply.header("connection"), Some("close"), "{text}");
    }
    rig.assert_refused_and_healthy().await;
}

/// The listener follows each pipelined message's framing to find the next head, so only the
/// ambiguous request is refused, text in a body that looks like headers is not taken for a
/// head, and nothing after the refused request is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_judged_one_by_one() {
    let rig = Rig::start().await;
    let lookalike = "Transfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n";
    let bytes = format!(
        "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n{lookalike}\
         POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
         5;name=value\r\nhello\r\n4\r\n\r\n\r\n\r\n0\r\nX-Trailer: 1\r\n\r\n\
         \r\nGET /c HTTP/1.1\nHost: a\n\n\
         POST /d HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n\
         0\r\n\r\n\
         GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
        lookalike.len()
    );
    let (text, _) = until_closed(rig.gateway.address(), bytes.as_bytes(), WAIT)
        .await
        .expect("the gateway closes the connection after the ambiguous request");
    let replies = Reply::parse_all(&text);
    assert_eq!(replies.len(), 4, "{text}");
    for (reply, (path, body_bytes)) in
        replies
            .iter()
            .zip([("/a", lookalike.len()), ("/b", 9), ("/c", 0)])
    {
        assert_eq!(reply.status, Some(200), "{text}");
        let seen = reply.seen_by_backend();
        assert_eq!(seen["path"], path, "{text}");
        assert_eq!(seen["body_bytes"], body_bytes, "{text}");
    }
    replies[3].assert_problem(400, "ambiguous_framing");
    assert!(!text.contains("/smuggled"), "{text}");
    assert_eq!(rig.backend.hits(), 3);
    rig.assert_healthy(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_encoding_must_end_in_chunked() {
    let rig = Rig::start().await;
    for (version, coding) in [
        ("1.1", "gzip"),
        ("1.1", "chunked, gzip"),
        ("1.1", "identity"),
        // HTTP/1.0 has no Transfer-Encoding at all.
        ("1.0", "chunked"),
    ] {
        let reply = rig
            .send(format!(
                "POST / HTTP/{version}\r\nHost: a\r\nTransfer-Encoding: {coding}\r\n\r\n0\r\n\r\n"
            ))
            .await;
        reply.assert_bare(400);
    }
    rig.assert_refused_and_healthy().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obs_fold_is_refused() {
    let rig = Rig::start().await;
    for fold in [" folded", "\tfolded"] {
        let reply = rig
            .send(format!(
                "GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n{fold}\r\n\r\n"
            ))
            .await;
        reply.assert_bare(400);
    }
    rig.assert_refused_and_healthy().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http11_needs_exactly_one_host() {
    let rig = Rig::start().await;
    let missing = rig
        .send("GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        .await;
    missing.assert_problem(400, "bad_host");
    let twice = rig
        .send("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n")
        .await;
    twice.assert_problem(400, "bad_host");
    let absolute_without_host = rig
        .send("GET http://a/ HTTP/1.1\r\nConnection: close\r\n\r\n")
        .await;
    absolute_without_host.assert_problem(400, "bad_host");
    rig.assert_refused_and_healthy().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http10_without_host_is_allowed() {
    let rig = Rig::start().await;
    let text = raw::exchange(rig.gateway.address(), b"GET /old HTTP/1.0\r\n\r\n", WAIT).await;
    // hyper answers an HTTP/1.0 request in HTTP/1.0 (so not `raw::status_of`).
    assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
    assert_eq!(rig.backend.hits(), 1);
    rig.assert_healthy(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absolute_form_target_sets_the_host() {
    let routes = "  - name: example\n    match: { hosts: [example.com] }\n    proxy: { cluster: backend, response_headers: { set: { x-route: example } } }\n";
    let rig = Rig::with(routes, "").await;
    // RFC 9112 3.2.2: the target's authority wins over the Host header.
    let reply = rig
        .send("GET http://example.com/x HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n")
        .await;
    assert_eq!(reply.status, Some(200), "{}", reply.text);
    assert_eq!(reply.header("x-route"), Some("example"), "{}", reply.text);
    let seen = reply.seen_by_backend();
    assert_eq!(seen["path"], "/x");
    assert_eq!(seen["headers"]["host"], "example.com", "{}", reply.text);
    // The same request in origin-form goes by its Host header instead.
    let reply = rig
        .send("GET /x HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n")
        .await;
    assert_eq!(reply.status, Some(200), "{}", reply.text);
    assert_eq!(reply.header("x-route"), None, "{}", reply.text);
    rig.assert_healthy(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_large_a_head_is_431() {
    let rig = Rig::start().await;
    let big = "a".repeat(9000);
    let reply = rig
        .send(format!("GET / HTTP/1.1\r\nHost: a\r\nX-Big: {big}\r\n\r\n"))
        .await;
    reply.assert_bare(431);
    rig.assert_refused_and_healthy().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_headers_is_431() {
    let rig = Rig::start().await;
    let headers: String = (0..20).map(|i| format!("X-H{i}: v\r\n")).collect();
    let reply = rig
        .send(format!("GET / HTTP/1.1\r\nHost: a\r\n{headers}\r\n"))
        .await;
    reply.assert_bare(431);
    rig.assert_refused_and_healthy().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_body_over_the_limit_is_413() {
    let rig = Rig::start().await;
    let body = "x".repeat(MAX_BODY + 1);
    let reply = rig
        .send(format!(
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ))
        .await;
    reply.assert_problem(413, "body_too_large");
    assert_eq!(reply.header("connection"), Some("close"));
    rig.assert_refused_and_healthy().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_400() {
    let rig = Rig::start().await;
    for bytes in [
        &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n"[..],
        b"hello there\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n",
        b"GET / HTTP/7.1\r\nHost: a\r\n\r\n",
        b"G\x00T / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Name: v\r\nHost: a\r\n\r\n",
    ] {
        let reply = rig.send(bytes).await;
        reply.assert_bare(400);
    }
    rig.assert_refused_and_healthy().await;
}

/// Slowloris: whatever a client sends before its head stalls, the listener's 300ms
/// `header_read_timeout` closes the connection (without an answer) well within seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_heads_are_cut_off() {
    let rig = Rig::start().await;
    for partial in [
        &b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: "[..],
        b"GET",
        // Nothing at all, and part of the HTTP/2 preface: the protocol is not known yet.
        b"",
        b"PRI * HTTP/2.0\r\n",
    ] {
        let shown = String::from_utf8_lossy(partial);
        let (text, took) = until_closed(rig.gateway.address(), partial, Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("{shown:?}: the connection must be closed"));
        assert!(
            took >= Duration::from_millis(250),
            "{shown:?}: closed after {took:?}"
        );
        assert!(
            took < Duration::from_secs(3),
            "{shown:?}: closed after {took:?}"
        );
        assert_eq!(text, "", "{shown:?}: no answer to a head that never came");
    }
    rig.assert_refused_and_healthy().await;
    // The wait for the protocol does not get in the way of h2c prior knowledge.
    assert_eq!(rig.gateway.h2c().get("/").await.status, 200);
}

/// Slowloris by trickling: a header line every 100ms does not extend the head's deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_head_is_cut_off() {
    let rig = Rig::start().await;
    let mut stream = TcpStream::connect(rig.gateway.address()).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let closed_after = loop {
        assert!(started.elapsed() < Duration::from_secs(5), "never closed");
        // The pace of the trickle is the behaviour under test, not a synchronisation.
        match tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => break started.elapsed(),
            Ok(Ok(n)) => panic!("unexpected answer: {}", String::from_utf8_lossy(&buf[..n])),
            Err(_) => {
                if stream.write_all(b"X-Trickle: 1\r\n").await.is_err() {
                    break started.elapsed();
                }
            }
        }
    };
    assert!(
        closed_after < Duration::from_secs(3),
        "closed after {closed_after:?}"
    );
    rig.assert_refused_and_healthy().await;
}

/// A raw upstream: reports every byte each connection sent until the gateway closed it, and
/// never answers.
async fn recording_upstream() -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let _ = stream.read_to_end(&mut seen).await;
                let _ = tx.send(seen);
            });
        }
    });
    (address, rx)
}

/// A rig whose `/upload` route goes to a recording upstream instead of the backend.
async fn upload_rig() -> (Rig, tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>) {
    let (recorder, seen) = recording_upstream().await;
    let routes = "  - name: upload\n    match: { path: { prefix: /upload } }\n    proxy: { cluster: recorder, timeout: 5s }\n";
    let clusters =
        format!("  - name: recorder\n    endpoints: [ {{ address: \"{recorder}\" }} ]\n");
    (Rig::with(routes, &clusters).await, seen)
}

/// What reached the upstream for one request that failed mid-body.
async fn upstream_saw(seen: &mut tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>) -> String {
    let bytes = tokio::time::timeout(WAIT, seen.recv())
        .await
        .expect("the gateway closes its upstream connection")
        .expect("recorder running");
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A chunked body streams, so the gateway has already chosen the upstream when the body turns
/// out malformed: the client still gets 400 malformed_body, and the gateway cuts the upstream
/// connection before the body is complete. What the upstream sees: hyper's client writes the
/// head together with the first body data, so when the body fails before any data (bad size,
/// bare LF) it sees a connection opened and closed with nothing on it; when some chunks came
/// first, it sees the head and those chunks, never the last chunk. A real `Backend` counts a
/// hit as soon as a head arrives, so a raw recording upstream shows exactly what was sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_chunked_framing_is_400() {
    let (rig, mut seen) = upload_rig().await;
    for body in [
        "zz\r\nhello\r\n0\r\n\r\n",
        "5\r\nhelloXX0\r\n\r\n",
        "5\nhello\r\n0\r\n\r\n",
        "5;ext\nhello\r\n0\r\n\r\n",
        "fffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
        // Every data byte arrives; only the end of the trailer section is broken.
        "5\r\nhello\r\n0\r\nX-Trailer: 1\rX\r\n\r\n",
    ] {
        let reply = rig
            .send(format!(
                "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n{body}"
            ))
            .await;
        reply.assert_problem(400, "malformed_body");
        assert_eq!(reply.header("connection"), Some("close"), "{}", reply.text);
        let upstream = upstream_saw(&mut seen).await;
        assert!(
            !upstream.contains("\r\n0\r\n\r\n"),
            "{body:?}: upstream saw {upstream:?}"
        );
    }
    rig.assert_refused_and_healthy().await;
}

/// Like a malformed body, an over-long chunked body is found out while it streams: 413, and the
/// upstream gets at most the limit's worth of data and never the last chunk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_body_over_the_limit_is_413() {
    let (rig, mut seen) = upload_rig().await;
    let chunk = format!("{:x}\r\n{}\r\n", 600, "#".repeat(600));
    let reply = rig
        .send(format!(
            "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n{chunk}{chunk}0\r\n\r\n"
        ))
        .await;
    reply.assert_problem(413, "body_too_large");
    assert_eq!(reply.header("connection"), Some("close"), "{}", reply.text);
    let upstream = upstream_saw(&mut seen).await;
    assert!(
        !upstream.contains("\r\n0\r\n\r\n"),
        "upstream saw {upstream:?}"
    );
    let forwarded = upstream.matches('#').count();
    assert!(
        forwarded <= MAX_BODY,
        "{forwarded} body bytes went upstream"
    );
    rig.assert_refused_and_healthy().await;
}
