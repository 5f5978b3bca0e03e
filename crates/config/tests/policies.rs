//! The `policies:` section: a full example that passes with its defaults, and each error as the
//! user sees it (`file:line:column: path: message`).

use std::time::Duration;
use switchyard_config::{CorsOrigin, CredentialSource, PolicyKind, RateKey};

fn errors(yaml: &str) -> Vec<String> {
    match switchyard_config::parse(yaml, "cfg.yaml") {
        Ok(_) => panic!("expected errors, but the config was accepted:\n{yaml}"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

const HASH: &str = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

#[test]
fn policies_are_read_with_their_defaults_and_routes_and_listeners_list_them() {
    let yaml = format!(
        "\
listeners: [{{name: public, address: '127.0.0.1:0', policies: [web]}}]
policies:
  - name: keys
    api_key:
      keys: [{{id: alice, hash: '{HASH}', metadata: {{plan: gold}}}}]
  - name: limit
    rate_limit: {{requests: 100, per: 1m, key: [api_key, 'header:X-Tenant']}}
  - name: web
    cors: {{allow_origins: ['https://*.example.com', 'https://app.test']}}
routes:
  - name: api
    policies: [keys, limit]
    respond: {{status: 200}}
  - name: open
    respond: {{status: 200}}
"
    );
    let config = switchyard_config::parse(&yaml, "cfg.yaml").unwrap();
    assert_eq!(config.listeners[0].policies, ["web"]);
    assert_eq!(
        config.routes[0].policies.as_deref(),
        Some(&["keys".to_owned(), "limit".to_owned()][..])
    );
    assert_eq!(config.routes[1].policies, None);
    let PolicyKind::ApiKey(keys) = &config.policies[0].kind else {
        panic!()
    };
    assert_eq!(keys.source, CredentialSource::Header("x-api-key".into()));
    assert_eq!(keys.keys[0].sha256[0], 0x2c);
    let PolicyKind::RateLimit(limit) = &config.policies[1].kind else {
        panic!()
    };
    assert_eq!(
        (limit.requests, limit.per, limit.burst, limit.max_keys),
        (100, Duration::from_secs(60), 100, 100_000)
    );
    assert_eq!(
        limit.key,
        [RateKey::ApiKey, RateKey::Header("x-tenant".into())]
    );
    let PolicyKind::Cors(cors) = &config.policies[2].kind else {
        panic!()
    };
    assert_eq!(
        cors.origins[0],
        CorsOrigin::Wildcard {
            scheme: "https://".into(),
            suffix: ".example.com".into()
        }
    );
    assert_eq!(cors.methods, ["GET", "HEAD", "POST"]);
    assert_eq!(config.policies[0].origin, "cfg.yaml:3:11: policies[0]");
}

#[test]
fn each_policy_error_names_its_place() {
    let yaml = "\
listeners: [{name: public, address: '127.0.0.1:0', policies: [nope]}]
policies:
  - name: two
    body_limit: 10
    cors: {allow_origins: ['*']}
  - name: keys
    api_key: {keys: [{id: a, hash: 'md5:abc'}]}
  - name: users
    jwt: {algorithms: [HS256, none], keys: [{kid: k}]}
  - name: limit
    rate_limit: {requests: 0, per: 1s, key: [client_ip, 'cookie:x']}
  - name: web
    cors: {allow_origins: ['*', 'example.com'], allow_credentials: true}
  - name: ids
    request_headers: {set: {x-user: '{identity.name}'}}
  - name: people
    basic_auth: {realm: 'a\"b', users: [{name: alice, hash: 'secret'}]}
routes:
  - name: api
    policies: [keys, missing]
    respond: {status: 200}
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:3:11: policies[0]: a policy needs exactly one of api_key, jwt, basic_auth, authorize, rate_limit, cors, body_limit, request_headers, request_query, openapi",
            "cfg.yaml:7:36: policies[1].api_key.keys[0].hash: a key hash is `sha256:` and 64 hex digits (see `switchyard hash-key`)",
            "cfg.yaml:6:11: policies[1].api_key.keys: an api_key policy needs at least one key",
            "cfg.yaml:9:31: policies[2].jwt.algorithms[1]: unknown algorithm `none`; expected one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA",
            "cfg.yaml:9:51: policies[2].jwt.keys[0]: a key needs `secret` or `pem`",
            "cfg.yaml:8:11: policies[2].jwt.keys: give `keys`, `jwks_file` or `jwks_url`",
            "cfg.yaml:11:28: policies[3].rate_limit.requests: must be at least 1",
            "cfg.yaml:11:57: policies[3].rate_limit.key[1]: unknown rate limit key `cookie:x`; expected client_ip, route, api_key, header:NAME or claim:NAME",
            "cfg.yaml:13:33: policies[4].cors.allow_origins[1]: an origin is `*` or `scheme://host[:port]`, e.g. https://app.example.com",
            "cfg.yaml:12:11: policies[4].cors.allow_credentials: credentials cannot be allowed for the origin `*` (the Fetch standard forbids it); list the origins",
            "cfg.yaml:15:37: policies[5].request_headers.set.x-user: unknown placeholder `{identity.name}`; expected {identity.id}, {claim.NAME}, {meta.NAME} or {param.NAME}",
            "cfg.yaml:17:60: policies[6].basic_auth.users[0].hash: a password hash is bcrypt (`$2y$...`, 60 characters, as `htpasswd -nB NAME` writes)",
            "cfg.yaml:17:25: policies[6].basic_auth.realm: a realm cannot hold quotes, backslashes or control characters",
            "cfg.yaml:1:63: listeners[0].policies[0]: no policy is named `nope`",
            "cfg.yaml:20:22: routes[0].policies[1]: no policy is named `missing`",
        ]
    );
}

#[test]
fn query_transforms_and_response_reporting_are_checked() {
    let dir = std::env::temp_dir().join(format!("switchyard-cfg-query-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("api.yaml"), "openapi: 3.1.0\npaths: {}\n").unwrap();
    let yaml = "\
listeners: [{name: public, address: '127.0.0.1:0'}]
policies:
  - name: query
    request_query: {set: {caller: '{identity.name}', '': x}, remove: ['']}
  - name: api
    openapi: {spec: api.yaml, responses: enforce}
";
    let path = dir.join("cfg.yaml");
    std::fs::write(&path, yaml).unwrap();
    let err = switchyard_config::load(&path).unwrap_err();
    let shown: Vec<String> = err.0.iter().map(ToString::to_string).collect();
    let file = path.display();
    assert_eq!(
        shown,
        [
            format!("{file}:4:58: policies[0].request_query.set.: a query parameter needs a name"),
            format!(
                "{file}:4:35: policies[0].request_query.set.caller: unknown placeholder `{{identity.name}}`; expected {{identity.id}}, {{claim.NAME}}, {{meta.NAME}} or {{param.NAME}}"
            ),
            format!(
                "{file}:4:71: policies[0].request_query.remove[0]: a query parameter needs a name"
            ),
            format!(
                "{file}:6:42: policies[1].openapi.responses: unknown `enforce`; expected `report` or `off`"
            ),
        ]
    );
    let ok = yaml
        .replace("'{identity.name}', '': x", "'{identity.id}'")
        .replace("remove: ['']", "remove: [debug]")
        .replace("enforce", "report");
    std::fs::write(&path, ok).unwrap();
    let config = switchyard_config::load(&path).unwrap();
    match &config.policies[0].kind {
        PolicyKind::RequestQuery(q) => {
            assert_eq!(q.set, [("caller".to_owned(), "{identity.id}".to_owned())]);
            assert_eq!(q.remove, ["debug"]);
        }
        other => panic!("{other:?}"),
    }
    match &config.policies[1].kind {
        PolicyKind::OpenApi(o) => assert!(o.report_responses),
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(&dir).ok();
}
