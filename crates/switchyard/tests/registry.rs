//! `switchyard registry` end to end: `serve` on a fresh SQLite file, then `publish` the demo's
//! three subgraphs, `history`, `fetch`, `rollback`, `delete`, and failures that exit 1 with the
//! registry's error.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");
const TOKEN: &str = "cli-test-token";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../graphql/tests/fixtures/movies")
        .join(name)
}

/// `registry serve` as a child process, killed on drop.
struct Registry {
    child: Child,
    url: String,
    dir: PathBuf,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn serve(tag: &str) -> Registry {
    let dir = std::env::temp_dir().join(format!(
        "switchyard-registry-cli-{}-{tag}",
        std::process::id()
    ));
    let store = format!("sqlite:{}", dir.join("registry.db").display());
    let mut child = Command::new(BIN)
        .args([
            "registry",
            "serve",
            "--address",
            "127.0.0.1:0",
            "--store",
            &store,
        ])
        .args(["--token-env", "TEST_REGISTRY_TOKEN"])
        .env("TEST_REGISTRY_TOKEN", TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .trim()
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    Registry {
        child,
        url: format!("http://{address}"),
        dir,
    }
}

impl Registry {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("registry")
            .args(&args[..1])
            .args(["--registry", &self.url])
            .args(&args[1..])
            .env("SWITCHYARD_REGISTRY_TOKEN", TOKEN)
            .env("USER", "cli-test")
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {stderr}");
        String::from_utf8(out.stdout).unwrap()
    }
}

#[test]
fn serve_publish_history_fetch_rollback_delete() {
    let registry = serve("flow");
    for (i, name) in ["movies", "productions", "talent"].into_iter().enumerate() {
        let schema = fixture(&format!("{name}.graphql"));
        let url = format!("http://{name}:4001/graphql");
        let out = registry.ok(&[
            "publish",
            "movies@prod",
            "--name",
            name,
            "--url",
            &url,
            "--schema",
            schema.to_str().unwrap(),
            "--message",
            "first",
        ]);
        assert_eq!(out, format!("movies@prod: version {} (created)\n", i + 1));
    }
    let history = registry.ok(&["history", "movies@prod"]);
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(lines.len(), 3, "{history}");
    assert!(lines[0].starts_with("3\t"), "{history}");
    assert!(
        lines[0].contains("\tcli-test\ttalent added\tfirst"),
        "{history}"
    );

    let supergraph = registry.ok(&["fetch", "movies@prod"]);
    assert!(supergraph.contains("TALENT @join__graph"), "{supergraph}");

    // check: removing Movie.year is breaking (exit 1), adding a field is safe (exit 0).
    let movies = std::fs::read_to_string(fixture("movies.graphql")).unwrap();
    let proposed = std::env::temp_dir().join(format!(
        "switchyard-registry-check-{}.graphql",
        std::process::id()
    ));
    std::fs::write(&proposed, movies.replace("  year: Int\n", "")).unwrap();
    let schema = proposed.to_str().unwrap();
    let out = registry.run(&[
        "check",
        "movies@prod",
        "--name",
        "movies",
        "--schema",
        schema,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("breaking\tMovie.year"), "{stdout}");
    assert!(stdout.ends_with("movies@prod: breaking\n"), "{stdout}");
    std::fs::write(
        &proposed,
        movies.replace("  year: Int\n", "  year: Int\n  rating: Float\n"),
    )
    .unwrap();
    let out = registry.ok(&[
        "check",
        "movies@prod",
        "--name",
        "movies",
        "--schema",
        schema,
    ]);
    assert!(out.ends_with("movies@prod: safe\n"), "{out}");
    let _ = std::fs::remove_file(&proposed);

    let out = registry.ok(&["rollback", "movies@prod", "--to", "1"]);
    assert_eq!(out, "movies@prod: version 4 (created)\n");
    let supergraph = registry.ok(&["fetch", "movies@prod"]);
    assert!(!supergraph.contains("TALENT"), "{supergraph}");

    registry.ok(&["rollback", "movies@prod", "--to", "2"]);
    let out = registry.ok(&["delete", "movies@prod", "--name", "productions"]);
    assert_eq!(out, "movies@prod: version 6 (created)\n");
    let out = registry.run(&["delete", "movies@prod", "--name", "productions"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("404"));
}

#[test]
fn failures_exit_1_with_the_registrys_error() {
    let registry = serve("failures");
    let bad = std::env::temp_dir().join(format!(
        "switchyard-registry-bad-{}.graphql",
        std::process::id()
    ));
    std::fs::write(&bad, "type Query { x: Nope }").unwrap();
    let out = registry.run(&[
        "publish",
        "movies@prod",
        "--name",
        "bad",
        "--url",
        "http://bad",
        "--schema",
        bad.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&bad);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("422") && stderr.contains("[bad]") && stderr.contains("Nope"),
        "{stderr}"
    );

    let out = Command::new(BIN)
        .args([
            "registry",
            "fetch",
            "--registry",
            &registry.url,
            "movies@prod",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("404"));

    let out = Command::new(BIN)
        .args([
            "registry",
            "rollback",
            "--registry",
            &registry.url,
            "movies@prod",
            "--to",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));

    let out = Command::new(BIN)
        .args([
            "registry",
            "serve",
            "--address",
            "0.0.0.0:0",
            "--store",
            "sqlite:/nonexistent/x.db",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("without a token"));
}

#[test]
fn serve_refuses_an_introspection_host_with_a_port() {
    let out = Command::new(BIN)
        .args(["registry", "serve", "--address", "127.0.0.1:0"])
        .args(["--introspect-host", "subgraphs:4001"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`subgraphs:4001` is not a host name") && stderr.contains("without a port"),
        "{stderr}"
    );
}
