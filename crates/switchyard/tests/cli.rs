//! The binary end to end: `check`, `schema`, `--version`, `run` with reload on file change and
//! SIGHUP and drain on SIGTERM, `demo`, and `subgraph`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use switchyard_testkit::{Backend, BackendConfig, Client};

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("switchyard-cli-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

fn config(backend: &Backend, marker: &str) -> String {
    format!(
        "listeners: [{{name: public, address: '127.0.0.1:0'}}]\n\
         access_log: {{to: \"off\"}}\n\
         drain_timeout: 5s\n\
         routes:\n  - name: all\n    proxy: {{cluster: c, response_headers: {{set: {{x-marker: {marker}}}}}}}\n\
         clusters:\n  - name: c\n    endpoints: [{{address: \"{}\"}}]\n",
        backend.address()
    )
}

#[test]
fn check_accepts_a_good_file_and_names_every_error_in_a_bad_one() {
    let good = temp_file(
        "good.yaml",
        "listeners: [{name: p, address: '127.0.0.1:0'}]\n",
    );
    let out = Command::new(BIN).arg("check").arg(&good).output().unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ok (1 listeners, 0 routes, 0 clusters)")
    );

    let bad_text = "listeners: [{name: p, address: nowhere}]\nroutes:\n  - name: r\n    proxy: {cluster: ghost}\n";
    let bad = temp_file("bad.yaml", bad_text);
    let out = Command::new(BIN).arg("check").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let file = bad.display();
    assert!(
        stderr.contains(&format!(
            "{file}:1:32: listeners[0].address: `nowhere` is not an IP address"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{file}:4:22: routes[0].proxy.cluster: unknown cluster `ghost`"
        )),
        "{stderr}"
    );
    let _ = std::fs::remove_file(good);
    let _ = std::fs::remove_file(bad);
}

#[test]
fn schema_and_version() {
    let out = Command::new(BIN).arg("schema").output().unwrap();
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(schema["properties"]["listeners"].is_object());
    assert!(
        schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "listeners")
    );
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("switchyard {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn sim_prints_the_same_report_for_the_same_seed_and_refuses_unknown_scenarios() {
    let sim = |seed: &str| {
        let args = [
            "sim",
            "--scenario",
            "sinkhole",
            "--load",
            "0.5",
            "--seed",
            seed,
            "--seeds",
            "1",
        ];
        Command::new(BIN).args(args).output().unwrap()
    };
    let (a, b) = (sim("3"), sim("3"));
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert_eq!(a.stdout, b.stdout, "deterministic");
    let report = String::from_utf8(a.stdout).unwrap();
    let table = report
        .split("### sinkhole at load 0.5")
        .nth(1)
        .expect("a table per scenario and load");
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| ")).collect();
    // The header, then the five shipped algorithms, three baselines and six ablations.
    assert_eq!(rows.len(), 15, "{report}");
    assert!(rows[1].starts_with("| edge |"), "{report}");
    assert!(
        rows.iter()
            .any(|r| r.starts_with("| round_robin + blacklist |")),
        "Netflix's old baseline is compared: {report}"
    );
    assert!(report.contains("| **round_robin + blacklist / edge** |"));
    let bad = Command::new(BIN)
        .args(["sim", "--scenario", "meteor"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown scenario `meteor`"));
    let bad = Command::new(BIN)
        .args(["sim", "--load", "0"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--load 0"));
    let bad = Command::new(BIN)
        .args(["sim", "--load", "0.5", "--headline-load", "0.9"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr)
            .contains("--headline-load 0.9: not one of the --load values")
    );
}

/// Runs `switchyard sim` with `args`, one seed, writing into `dir`; it must succeed.
fn sim_into(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new(BIN)
        .arg("sim")
        .args(args)
        .args(["--seeds", "1", "--out"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sim_writes_the_report_with_charts_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    sim_into(dir.path(), &["--scenario", "herd", "--load", "0.7"]);
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let readme = read("README.md");
    assert!(readme.contains("![latency](herd-latency.svg)"), "{readme}");
    assert!(
        readme.contains("simulated requests/s"),
        "the speed is reported"
    );
    for chart in [
        "errors-by-load",
        "errors-over-time",
        "share-over-time",
        "p99-over-time",
        "latency",
    ] {
        let svg = read(&format!("herd-{chart}.svg"));
        assert!(
            svg.starts_with("<svg") && svg.contains("<polyline"),
            "{chart}"
        );
    }
    let results = read("results.csv");
    assert_eq!(results.lines().count(), 1 + 14, "{results}");
    assert!(
        results
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("herd,0.7,edge,")
    );
    let timeline = read("timeline.csv");
    // Seventy 100 ms bins (0 to 7 s) per algorithm, each with its p99.
    assert_eq!(timeline.lines().count(), 1 + 14 * 70);
    assert!(
        timeline
            .starts_with("scenario,load,algorithm,from_s,requests,errors,watched_share,p99_s\n")
    );
    assert!(readme.contains("p99 1 s after start / end ms"), "{readme}");
}

#[test]
fn sim_sweeps_edges_tunables_and_refuses_an_unknown_fleet() {
    let dir = tempfile::tempdir().unwrap();
    sim_into(
        dir.path(),
        &["--sweep", "--scenario", "sinkhole", "--load", "0.7"],
    );
    let sweeps = std::fs::read_to_string(dir.path().join("sweeps-small.md")).unwrap();
    assert!(sweeps.contains("(small fleet, load 0.7)"), "{sweeps}");
    // One table per tunable, each with its default in bold.
    let tables = sweeps.matches("\n## ").count();
    assert!(tables >= 10, "{sweeps}");
    assert_eq!(sweeps.matches("| **").count(), tables, "{sweeps}");
    let bad = Command::new(BIN)
        .args(["sim", "--fleet", "huge"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--fleet huge: expected small or large"));
}

/// Lines of a child's output, read on a thread.
fn lines(reader: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a line containing `needle` and returns the text after it up to a space.
fn find(rx: &mpsc::Receiver<String>, needle: &str) -> String {
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("expected output did not come");
        if let Some(at) = line.find(needle) {
            let rest = &line[at + needle.len()..];
            return rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
        }
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

async fn marker(client: &Client) -> Option<String> {
    client.get("/").await.header("x-marker").map(str::to_owned)
}

async fn wait_for_marker(client: &Client, want: &str) {
    for _ in 0..100 {
        if marker(client).await.as_deref() == Some(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("marker never became {want}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_reloads_on_change_and_sighup_and_drains_on_sigterm() {
    let backend = Backend::start(BackendConfig::named("b")).await;
    let path = temp_file("run.yaml", &config(&backend, "one"));
    let mut child = Command::new(BIN)
        .args(["run", "-c"])
        .arg(&path)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = lines(child.stderr.take().unwrap());
    let address = find(&stderr, "address=").parse().unwrap();
    let client = Client::http1(address);
    assert_eq!(marker(&client).await.as_deref(), Some("one"));

    std::fs::write(&path, config(&backend, "two")).unwrap();
    wait_for_marker(&client, "two").await;

    std::fs::write(&path, "listeners: [oops").unwrap();
    signal(&child, "HUP");
    find(&stderr, "config rejected");
    assert_eq!(
        marker(&client).await.as_deref(),
        Some("two"),
        "a broken file changes nothing"
    );

    std::fs::write(&path, config(&backend, "three")).unwrap();
    signal(&child, "HUP");
    wait_for_marker(&client, "three").await;

    // Counted before the request starts: on a multi-threaded runtime it may reach the
    // backend before this task reads the count again.
    let hits = backend.hits();
    let slow_client = client.clone();
    let in_flight = tokio::spawn(async move { slow_client.get("/?delay_ms=500").await });
    while backend.hits() == hits {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    signal(&child, "TERM");
    assert_eq!(
        in_flight.await.unwrap().status,
        200,
        "the request in flight finished"
    );
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success());
    let _ = std::fs::remove_file(path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_its_tour_with_no_setup() {
    let mut child = Command::new(BIN)
        .args(["demo", "--port", "0"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = lines(child.stdout.take().unwrap());
    let base = find(&stdout, "gateway on ")
        .trim_end_matches(',')
        .to_owned();
    let address = base.trim_start_matches("http://").parse().unwrap();
    let client = Client::http1(address);
    let movie = client.get("/movies/42").await;
    assert_eq!(movie.status, 200);
    assert!(
        movie.json()["backend"]
            .as_str()
            .unwrap()
            .starts_with("movies-")
    );
    assert_eq!(
        client.get("/api/talent/7").await.json()["path"],
        "/talent/7"
    );
    assert_eq!(client.get("/healthz").await.text(), "ok\n");
    assert_eq!(client.get("/nope").await.status, 404);
    let query = r#"{"query": "{ movie(id: \"2\") { title production { name } cast { name } } }"}"#;
    let request = client
        .request(http::Method::POST, "", "/graphql")
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(query)))
        .unwrap();
    let graph = client.send(request).await.unwrap().json();
    // One answer from three subgraphs: movies (title), productions, talent.
    assert_eq!(graph["data"]["movie"]["title"], "The Switchman");
    assert_eq!(
        graph["data"]["movie"]["production"]["name"],
        "Ironhorse Pictures"
    );
    assert_eq!(graph["data"]["movie"]["cast"][0]["name"], "Ada Brennan");
    demo_policies(&client, &stdout).await;
    // That graph came from the registry embedded in the gateway: one version per subgraph.
    let registry = find(&stdout, "embedded in the gateway on http://");
    let registry = registry.trim_end_matches(':');
    let registry = Client::http1(registry.parse().unwrap());
    let history = registry.get("/graphs/movies/variants/demo/versions").await;
    assert_eq!(history.status, 200, "{}", history.text());
    let versions = history.json()["versions"].as_array().unwrap().len();
    assert_eq!(versions, 3);
    // The admin listener shows the balancer's view of the fleet the demo drives.
    let admin = find(&stdout, "curl -s http://");
    let admin = admin.trim_end_matches("/metrics");
    let admin = Client::http1(admin.parse().unwrap());
    let clusters = admin.get("/clusters").await.json();
    let fleet = clusters["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "fleet")
        .unwrap_or_else(|| panic!("{clusters}"));
    assert_eq!(fleet["balancer"], "edge");
    assert!(fleet["endpoints"].as_array().unwrap().len() >= 4, "{fleet}");
    signal(&child, "INT");
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success());
}

/// The demo's printed API key and tokens give the 401, 200, 403 and 429 the tour promises.
async fn demo_policies(client: &Client, stdout: &mpsc::Receiver<String>) {
    let key = find(stdout, "x-api-key: ")
        .trim_end_matches('\'')
        .to_owned();
    let reader = find(stdout, "Bearer ").trim_end_matches('\'').to_owned();
    let guest = find(stdout, "Bearer ").trim_end_matches('\'').to_owned();
    let get = |header: Option<(&'static str, String)>| {
        let mut request = client.request(http::Method::GET, "", "/protected/key/1");
        if let Some((name, value)) = header {
            let path = if name == "authorization" {
                "/protected/token/1"
            } else {
                "/protected/key/1"
            };
            request = client
                .request(http::Method::GET, "", path)
                .header(name, value);
        }
        let request = request.body(http_body_util::Full::default()).unwrap();
        async move { client.send(request).await.unwrap() }
    };
    assert_eq!(get(None).await.status, 401);
    for _ in 0..5 {
        assert_eq!(get(Some(("x-api-key", key.clone()))).await.status, 200);
    }
    let limited = get(Some(("x-api-key", key.clone()))).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.json()["reason"], "rate_limited");
    let ok = get(Some(("authorization", format!("Bearer {reader}")))).await;
    assert_eq!(ok.status, 200);
    let forbidden = get(Some(("authorization", format!("Bearer {guest}")))).await;
    assert_eq!(forbidden.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subgraph_serves_a_fixture_until_sigterm() {
    let fixtures = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../graphql/tests/fixtures/movies"
    );
    let mut child = Command::new(BIN)
        .arg("subgraph")
        .arg("--sdl")
        .arg(format!("{fixtures}/movies.graphql"))
        .arg("--data")
        .arg(format!("{fixtures}/movies.json"))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = lines(child.stdout.take().unwrap());
    let address = find(&stdout, "listening ").parse().unwrap();
    let client = Client::http1(address);
    let query = r#"{"query": "{ movies { id title } _service { sdl } }"}"#;
    let request = client
        .request(http::Method::POST, "", "/graphql")
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(query)))
        .unwrap();
    let reply = client.send(request).await.unwrap();
    assert_eq!(reply.status, 200);
    let answer = reply.json();
    assert_eq!(answer["data"]["movies"][1]["id"], "2");
    assert_eq!(answer["data"]["movies"][1]["title"], "The Switchman");
    assert_eq!(answer["data"]["movies"].as_array().unwrap().len(), 4);
    assert!(
        answer["data"]["_service"]["sdl"]
            .as_str()
            .unwrap()
            .contains("type Movie @key(fields: \"id\")")
    );
    signal(&child, "TERM");
    let counters: serde_json::Value = serde_json::from_str(&find(&stdout, "")).unwrap();
    assert_eq!(counters["name"], "movies");
    assert_eq!(counters["requests"], 1);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success());
}

#[test]
fn hash_key_prints_the_config_form_of_a_key_read_from_stdin() {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .arg("hash-key")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"switchyard-demo-key\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "sha256:e6fd654eabfbdddfaee4db115c6ae06d1c202a4f7c3b9469b05d28bce3ca8b0b\n"
    );
}

#[test]
fn check_reports_a_policy_key_that_does_not_parse() {
    let dir = std::env::temp_dir().join(format!("sy-check-pem-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad-pem.yaml");
    let yaml = "listeners: [{name: p, address: '127.0.0.1:0'}]\n\
                policies:\n  - name: users\n    jwt: {algorithms: [RS256], keys: [{pem: 'not a key'}]}\n";
    std::fs::write(&path, yaml).unwrap();
    let output = Command::new(BIN).arg("check").arg(&path).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr.trim_end(),
        format!(
            "{}:3:11: policies[0]: keys[0]: `pem` is not an RSA, EC or Ed25519 public key in PEM form",
            path.display()
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}
