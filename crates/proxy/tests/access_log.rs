//! The JSON access log written to a file: exactly one line per request, however the request
//! ended (proxied, no route, upstream timeout, direct response, connect failure, refused before
//! routing), with each field matching what the client saw.

use bytes::Bytes;
use http::Method;
use http_body_util::Full;
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use switchyard_testkit::{Backend, BackendConfig, Reply, TestGateway, raw};

/// A log file path unique to this process and test, removed when dropped.
struct LogFile(PathBuf);

impl LogFile {
    fn new() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("switchyard-access-{}-{n}.log", std::process::id());
        let path = std::env::temp_dir().join(name);
        let _ = std::fs::remove_file(&path);
        Self(path)
    }

    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.0)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The writer is a background thread: waits (up to a few seconds) for `n` lines.
    async fn wait_for_lines(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let lines = self.lines();
            if lines.len() >= n || Instant::now() > deadline {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for LogFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A port with nothing listening on it.
fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

fn config(log: &LogFile, backend: SocketAddr, dead: SocketAddr) -> String {
    format!(
        r#"listeners: [{{name: public, address: '127.0.0.1:0'}}]
access_log: {{ to: '{}' }}
routes:
  - name: api
    match: {{ path: {{ prefix: /api }} }}
    proxy: {{ cluster: backend }}
  - name: slow
    match: {{ path: {{ prefix: /slow }} }}
    proxy: {{ cluster: backend, timeout: 200ms }}
  - name: direct
    match: {{ path: {{ exact: /direct }} }}
    respond: {{ status: 201, body: "made here" }}
  - name: dead
    match: {{ path: {{ prefix: /dead }} }}
    proxy: {{ cluster: dead }}
clusters:
  - name: backend
    endpoints: [{{address: "{backend}"}}]
  - name: dead
    endpoints: [{{address: "{dead}"}}]
"#,
        log.0.display()
    )
}

/// What one request should have logged.
struct Expected {
    what: &'static str,
    request_id: String,
    path: &'static str,
    method: &'static str,
    route: Value,
    cluster: Value,
    endpoint: Value,
    status: u16,
    reason: Value,
    attempts: u64,
    request_bytes: u64,
    response_bytes: u64,
    /// Whether an upstream was tried (then `upstream_ms` is a number, else null).
    upstream: bool,
}

impl Expected {
    /// A request the gateway answered itself, with `status`, `request_id` (from the response
    /// header) and a body of `response_bytes`.
    fn new(
        what: &'static str,
        (method, path): (&'static str, &'static str),
        status: u16,
        request_id: &str,
        response_bytes: usize,
    ) -> Self {
        Self {
            what,
            request_id: request_id.to_owned(),
            path,
            method,
            route: Value::Null,
            cluster: Value::Null,
            endpoint: Value::Null,
            status,
            reason: Value::Null,
            attempts: 0,
            request_bytes: 0,
            response_bytes: response_bytes as u64,
            upstream: false,
        }
    }

    fn of(what: &'static str, method: &'static str, path: &'static str, reply: &Reply) -> Self {
        let request_id = reply
            .header("x-request-id")
            .unwrap_or_else(|| panic!("{what}: no x-request-id"));
        Self::new(
            what,
            (method, path),
            reply.status,
            request_id,
            reply.body.len(),
        )
    }

    fn proxied(mut self, route: &str, cluster: &str, endpoint: SocketAddr) -> Self {
        self.route = route.into();
        self.cluster = cluster.into();
        self.endpoint = endpoint.to_string().into();
        self.attempts = 1;
        self.upstream = true;
        self
    }

    fn reason(mut self, reason: &str) -> Self {
        self.reason = reason.into();
        self
    }

    fn check(&self, line: &Value) {
        let what = self.what;
        assert_eq!(
            line["request_id"],
            self.request_id.as_str(),
            "{what}: {line}"
        );
        assert_eq!(line["method"], self.method, "{what}: {line}");
        assert_eq!(line["path"], self.path, "{what}: {line}");
        assert_eq!(line["protocol"], "HTTP/1.1", "{what}: {line}");
        assert_eq!(line["route"], self.route, "{what}: {line}");
        assert_eq!(line["cluster"], self.cluster, "{what}: {line}");
        assert_eq!(line["endpoint"], self.endpoint, "{what}: {line}");
        assert_eq!(line["status"], self.status, "{what}: {line}");
        assert_eq!(line["reason"], self.reason, "{what}: {line}");
        assert_eq!(line["attempts"], self.attempts, "{what}: {line}");
        assert_eq!(line["request_bytes"], self.request_bytes, "{what}: {line}");
        assert_eq!(
            line["response_bytes"], self.response_bytes,
            "{what}: {line}"
        );
        assert_rfc3339_millis(&line["time"], what);
        let duration = line["duration_ms"]
            .as_f64()
            .unwrap_or_else(|| panic!("{what}: duration_ms: {line}"));
        assert!(duration >= 0.0, "{what}: {line}");
        if self.upstream {
            let upstream = line["upstream_ms"]
                .as_f64()
                .unwrap_or_else(|| panic!("{what}: upstream_ms: {line}"));
            assert!((0.0..=duration).contains(&upstream), "{what}: {line}");
        } else {
            assert_eq!(line["upstream_ms"], Value::Null, "{what}: {line}");
        }
    }
}

/// `2026-11-30T11:41:08.123Z`
fn assert_rfc3339_millis(time: &Value, what: &str) {
    let text = time
        .as_str()
        .unwrap_or_else(|| panic!("{what}: time {time}"));
    let shape: String = text
        .chars()
        .map(|c| if c.is_ascii_digit() { 'd' } else { c })
        .collect();
    assert_eq!(shape, "dddd-dd-ddTdd:dd:dd.dddZ", "{what}: time {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_line_per_request_with_what_the_client_saw() {
    let log = LogFile::new();
    let backend = Backend::start(BackendConfig::named("b")).await;
    let dead = closed_port();
    let gateway = TestGateway::start(&config(&log, backend.address(), dead)).await;
    let client = gateway.client();
    let mut expected = Vec::new();

    let reply = client.get("/api/ok").await;
    assert_eq!(reply.status, 200);
    expected.push(Expected::of("proxied", "GET", "/api/ok", &reply).proxied(
        "api",
        "backend",
        backend.address(),
    ));

    let post = client
        .request(Method::POST, "", "/api/upload")
        .body(Full::new(Bytes::from(vec![b'p'; 100])))
        .unwrap();
    let reply = client.send(post).await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["body_bytes"], 100);
    let mut upload = Expected::of("upload", "POST", "/api/upload", &reply).proxied(
        "api",
        "backend",
        backend.address(),
    );
    upload.request_bytes = 100;
    expected.push(upload);

    let reply = client.get("/nowhere").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["code"], "route_not_found");
    expected.push(Expected::of("no route", "GET", "/nowhere", &reply).reason("route_not_found"));

    let started = Instant::now();
    let reply = client.get("/slow?delay_ms=2000").await;
    assert_eq!(reply.status, 504);
    assert!(started.elapsed() < Duration::from_millis(1500));
    expected.push(
        Expected::of("timeout", "GET", "/slow", &reply)
            .proxied("slow", "backend", backend.address())
            .reason("upstream_timeout"),
    );

    let reply = client.get("/direct").await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.text(), "made here");
    let mut direct = Expected::of("direct", "GET", "/direct", &reply);
    direct.route = "direct".into();
    expected.push(direct);

    let reply = client.get("/dead").await;
    assert_eq!(reply.status, 502);
    assert_eq!(reply.json()["code"], "upstream_connect_failure");
    expected.push(
        Expected::of("connect failure", "GET", "/dead", &reply)
            .proxied("dead", "dead", dead)
            .reason("upstream_connect_failure"),
    );

    // Refused before routing: an HTTP/1.1 request without Host.
    let text = raw::exchange(
        gateway.address(),
        b"GET /api/no-host HTTP/1.1\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(raw::status_of(&text), Some(400), "{text}");
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let request_id = head
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .unwrap();
    let no_host = Expected::new(
        "no host",
        ("GET", "/api/no-host"),
        400,
        request_id,
        body.len(),
    );
    expected.push(no_host.reason("bad_host"));

    let lines = log.wait_for_lines(expected.len()).await;
    assert_eq!(lines.len(), expected.len(), "{lines:#?}");
    let by_id: HashMap<String, Value> = lines
        .iter()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
            (value["request_id"].as_str().unwrap().to_owned(), value)
        })
        .collect();
    assert_eq!(
        by_id.len(),
        expected.len(),
        "request ids are unique: {lines:#?}"
    );
    for e in &expected {
        let line = by_id
            .get(&e.request_id)
            .unwrap_or_else(|| panic!("{}: no line for {}: {lines:#?}", e.what, e.request_id));
        e.check(line);
    }

    let timeout = &by_id[&expected[3].request_id];
    let upstream_ms = timeout["upstream_ms"].as_f64().unwrap();
    assert!((150.0..1500.0).contains(&upstream_ms), "{timeout}");
    assert!(
        timeout["duration_ms"].as_f64().unwrap() >= 190.0,
        "{timeout}"
    );

    assert!(gateway.shutdown(Duration::from_secs(5)).await);
    assert_eq!(log.lines().len(), expected.len(), "no line written twice");
}
