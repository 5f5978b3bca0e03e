//! A `jwt` policy's `jwks_url`: defaults, the CA file read relative to the config, and each
//! error as the user sees it (`file:line:column: path: message`).

use std::time::Duration;
use switchyard_config::{JwksUrl, PolicyKind};

fn config(jwks_url: &str, file: &str) -> Result<Vec<JwksUrl>, Vec<String>> {
    let yaml = format!(
        "\
listeners: [{{name: public, address: '127.0.0.1:0'}}]
policies:
  - name: users
    jwt:
      algorithms: [RS256]
      jwks_url: {jwks_url}
routes: [{{name: api, policies: [users], respond: {{status: 200}}}}]
"
    );
    match switchyard_config::parse(&yaml, file) {
        Ok(c) => Ok(c
            .policies
            .into_iter()
            .filter_map(|p| match p.kind {
                PolicyKind::Jwt(j) => j.jwks_url,
                _ => None,
            })
            .collect()),
        Err(e) => Err(e.0.iter().map(ToString::to_string).collect()),
    }
}

fn errors(jwks_url: &str) -> Vec<String> {
    config(jwks_url, "cfg.yaml").expect_err("the config should be refused")
}

#[test]
fn a_jwks_url_is_read_with_its_defaults() {
    let got = config("{url: 'https://login.example.com/jwks'}", "cfg.yaml").unwrap();
    assert_eq!(
        got,
        [JwksUrl {
            url: "https://login.example.com/jwks".to_owned(),
            refresh: Duration::from_secs(300),
            max_stale: Duration::from_secs(3600),
            timeout: Duration::from_secs(2),
            ca_pem: None,
        }]
    );
    let got = config(
        "{url: 'https://idp.test:8443/k?tenant=a', refresh: 1m, max_stale: 10m, timeout: 500ms}",
        "cfg.yaml",
    )
    .unwrap();
    assert_eq!(
        (got[0].refresh, got[0].max_stale, got[0].timeout),
        (
            Duration::from_secs(60),
            Duration::from_secs(600),
            Duration::from_millis(500)
        )
    );
}

#[test]
fn plain_http_is_for_loopback_hosts_unless_allowed() {
    for url in [
        "http://127.0.0.1:9000/jwks",
        "http://127.8.9.10/jwks",
        "http://[::1]:9000/jwks",
        "http://localhost/jwks",
    ] {
        assert!(
            config(&format!("{{url: '{url}'}}"), "cfg.yaml").is_ok(),
            "{url}"
        );
    }
    let allowed = "{url: 'http://10.0.0.1/jwks', allow_insecure_http: true}";
    assert!(config(allowed, "cfg.yaml").is_ok());
    assert_eq!(
        errors("{url: 'http://idp.example.com/jwks'}"),
        [
            "cfg.yaml:6:23: policies[0].jwt.jwks_url.url: plain http is allowed only to a loopback host (127.0.0.0/8, ::1, localhost): anyone on the path could swap the keys and sign their own tokens; use https, or set `allow_insecure_http: true`"
        ]
    );
}

#[test]
fn each_jwks_url_error_names_its_place() {
    let cases = [
        (
            "{url: 'ftp://idp.test/jwks'}",
            "cfg.yaml:6:23: policies[0].jwt.jwks_url.url: scheme `ftp` is not supported; use https",
        ),
        (
            "{url: 'idp.test/jwks'}",
            "cfg.yaml:6:23: policies[0].jwt.jwks_url.url: a JWKS URL is https://host[:port]/path, e.g. https://login.example.com/.well-known/jwks.json",
        ),
        (
            "{url: 'https:///jwks'}",
            "cfg.yaml:6:23: policies[0].jwt.jwks_url.url: a JWKS URL is https://host[:port]/path, e.g. https://login.example.com/.well-known/jwks.json",
        ),
        (
            "{url: 'https://me:pw@idp.test/jwks'}",
            "cfg.yaml:6:23: policies[0].jwt.jwks_url.url: a JWKS URL cannot hold user info (`user:password@`)",
        ),
        (
            "{url: 'https://idp.test/jwks', refresh: 10m, max_stale: 5m}",
            "cfg.yaml:6:73: policies[0].jwt.jwks_url.max_stale: must be at least `refresh` (10m): the keys would lapse between two good fetches",
        ),
        (
            "{url: 'https://idp.test/jwks', refresh: 2h}",
            "cfg.yaml:6:23: policies[0].jwt.jwks_url.max_stale: the default (1h) is shorter than `refresh` (2h); set max_stale to at least refresh",
        ),
        (
            "{url: 'https://idp.test/jwks', refresh: 0s}",
            "cfg.yaml:6:57: policies[0].jwt.jwks_url.refresh: must be longer than zero",
        ),
        (
            "{url: 'https://idp.test/jwks', timeout: soon}",
            "cfg.yaml:6:57: policies[0].jwt.jwks_url.timeout: `soon` is not a duration such as 250ms or 5s (expected number at 0)",
        ),
    ];
    for (given, want) in cases {
        assert_eq!(errors(given), [want], "{given}");
    }
}

#[test]
fn a_ca_file_is_read_relative_to_the_config() {
    let dir = std::env::temp_dir().join(format!("switchyard-jwks-url-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    std::fs::write(dir.join("ca.pem"), pem).unwrap();
    std::fs::write(dir.join("not-pem.txt"), "hello").unwrap();
    let file = dir.join("cfg.yaml").display().to_string();
    let got = config("{url: 'https://idp.test/jwks', ca_file: ca.pem}", &file).unwrap();
    assert_eq!(got[0].ca_pem.as_deref(), Some(pem));
    let refused = |given: &str| config(given, &file).unwrap_err();
    let at =
        |col: u32, msg: &str| format!("{file}:6:{col}: policies[0].jwt.jwks_url.ca_file: {msg}");
    assert_eq!(
        refused("{url: 'https://idp.test/jwks', ca_file: missing.pem}"),
        [at(
            57,
            &format!(
                "cannot read `{}`: No such file or directory (os error 2)",
                dir.join("missing.pem").display()
            )
        )]
    );
    assert_eq!(
        refused("{url: 'https://idp.test/jwks', ca_file: not-pem.txt}"),
        [at(
            57,
            &format!(
                "`{}` holds no PEM certificate",
                dir.join("not-pem.txt").display()
            )
        )]
    );
    assert_eq!(
        refused("{url: 'http://127.0.0.1/jwks', ca_file: ca.pem}"),
        [at(57, "`ca_file` applies to https URLs only")]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
