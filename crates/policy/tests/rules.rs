//! API keys, authorization, CORS, body limits and header transforms, alone and chained.

mod common;

use common::{Req, chain, policy};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;
use switchyard_config::*;
use switchyard_core::ManualClock;

fn api_key(key: &str, id: &str, plan: &str) -> ApiKey {
    ApiKey {
        id: id.to_owned(),
        sha256: Sha256::digest(key.as_bytes()).into(),
        metadata: BTreeMap::from([("plan".to_owned(), plan.to_owned())]),
    }
}

fn keys(source: CredentialSource) -> Policy {
    policy(
        "keys",
        PolicyKind::ApiKey(ApiKeyPolicy {
            source,
            keys: vec![
                api_key("gold-key", "alice", "gold"),
                api_key("free-key", "bob", "free"),
            ],
            forward_id: Some("x-api-key-id".to_owned()),
            keep_credential: false,
        }),
    )
}

#[test]
fn an_api_key_in_a_header_authenticates_and_is_not_sent_upstream() {
    let clock = ManualClock::new();
    let chain = chain(
        &[keys(CredentialSource::Header("x-api-key".into()))],
        &clock,
    );
    let mut req = Req::get("/")
        .header("x-api-key", "gold-key")
        .header("x-api-key-id", "spoofed");
    let identity = req.run(&chain).unwrap().identity.unwrap();
    assert_eq!(
        (identity.id.as_str(), identity.meta("plan")),
        ("alice", Some("gold"))
    );
    assert!(!req.headers.contains_key("x-api-key"));
    assert_eq!(
        req.headers["x-api-key-id"], "alice",
        "the client's own value is replaced"
    );
    assert_eq!(Req::get("/").reason(&chain), "key_missing");
    assert_eq!(
        Req::get("/").header("x-api-key", "guess").reason(&chain),
        "unknown_key"
    );
    let answer = Req::get("/").run(&chain).unwrap_err();
    assert_eq!(answer.status, 401);
    assert!(
        answer
            .headers
            .iter()
            .any(|(n, v)| n == "www-authenticate" && v == "ApiKey header=\"x-api-key\"")
    );
}

#[test]
fn an_api_key_in_the_query_is_removed_from_the_query_sent_upstream() {
    let clock = ManualClock::new();
    let chain = chain(&[keys(CredentialSource::Query("api_key".into()))], &clock);
    let mut req = Req::get("/movies?page=2&api_key=free-key");
    assert_eq!(req.run(&chain).unwrap().identity.unwrap().id, "bob");
    assert_eq!(req.uri, "/movies?page=2");
}

fn authorize(rules: Vec<ClaimRule>) -> Policy {
    policy("admins", PolicyKind::Authorize(AuthorizePolicy { rules }))
}

#[test]
fn authorization_checks_claims_after_authentication() {
    let clock = ManualClock::new();
    let rule = ClaimRule {
        claim: "plan".into(),
        any_of: vec!["gold".into(), "platinum".into()],
        all_of: Vec::new(),
    };
    let keys = keys(CredentialSource::Header("x-api-key".into()));
    let chain = chain(&[keys.clone(), authorize(vec![rule.clone()])], &clock);
    assert_eq!(
        Req::get("/").header("x-api-key", "gold-key").reason(&chain),
        "passed"
    );
    let answer = Req::get("/")
        .header("x-api-key", "free-key")
        .run(&chain)
        .unwrap_err();
    assert_eq!(
        (answer.status.as_u16(), answer.reason),
        (403, "claim_required")
    );
    let body: serde_json::Value = serde_json::from_slice(&answer.body_bytes().unwrap()).unwrap();
    assert_eq!(body["detail"], "`plan` must hold one of [gold, platinum]");
    // Without an authentication policy before it, authorization answers 401.
    let alone = common::chain(&[authorize(vec![rule])], &clock);
    assert_eq!(Req::get("/").run(&alone).unwrap_err().status, 401);
}

#[test]
fn all_of_needs_every_value() {
    let clock = ManualClock::new();
    let rule = ClaimRule {
        claim: "plan".into(),
        any_of: Vec::new(),
        all_of: vec!["gold".into(), "beta".into()],
    };
    let chain = chain(
        &[
            keys(CredentialSource::Header("x-api-key".into())),
            authorize(vec![rule]),
        ],
        &clock,
    );
    assert_eq!(
        Req::get("/").header("x-api-key", "gold-key").reason(&chain),
        "claim_required"
    );
}

fn cors(credentials: bool, origins: Vec<CorsOrigin>) -> Policy {
    policy(
        "web",
        PolicyKind::Cors(CorsPolicy {
            origins,
            methods: vec!["GET".into(), "POST".into(), "PUT".into()],
            headers: vec!["authorization".into(), "x-trace".into()],
            expose: vec!["x-request-id".into()],
            credentials,
            max_age: Some(Duration::from_secs(600)),
        }),
    )
}

fn origins() -> Vec<CorsOrigin> {
    vec![
        CorsOrigin::Exact("https://app.example.com".into()),
        CorsOrigin::Wildcard {
            scheme: "https://".into(),
            suffix: ".example.org".into(),
        },
    ]
}

fn preflight(origin: &str, method: &str, headers: &str) -> Req {
    let req = Req::get("/movies")
        .method("OPTIONS")
        .header("origin", origin)
        .header("access-control-request-method", method);
    if headers.is_empty() {
        req
    } else {
        req.header("access-control-request-headers", headers)
    }
}

#[test]
fn the_cors_preflight_matrix() {
    let clock = ManualClock::new();
    let chain = chain(&[cors(true, origins())], &clock);
    let cases = [
        (
            "https://app.example.com",
            "PUT",
            "authorization, x-trace",
            204,
            "cors_preflight",
        ),
        ("https://APP.example.com", "GET", "", 204, "cors_preflight"),
        (
            "https://eu.example.org",
            "POST",
            "content-type",
            204,
            "cors_preflight",
        ),
        ("https://example.org", "GET", "", 403, "cors_origin"),
        ("http://app.example.com", "GET", "", 403, "cors_origin"),
        ("https://evil.com", "GET", "", 403, "cors_origin"),
        (
            "https://app.example.com.evil.com",
            "GET",
            "",
            403,
            "cors_origin",
        ),
        ("https://app.example.com", "DELETE", "", 403, "cors_method"),
        (
            "https://app.example.com",
            "GET",
            "x-secret",
            403,
            "cors_header",
        ),
        ("https://eu.example.org:8443", "GET", "", 403, "cors_origin"),
    ];
    for (origin, method, headers, status, reason) in cases {
        let answer = preflight(origin, method, headers).run(&chain).unwrap_err();
        assert_eq!(
            (answer.status.as_u16(), answer.reason),
            (status, reason),
            "{origin} {method} {headers}"
        );
    }
    let answer = preflight("https://app.example.com", "PUT", "X-Trace")
        .run(&chain)
        .unwrap_err();
    let get = |name: &str| {
        answer
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.to_str().unwrap().to_owned())
    };
    assert_eq!(
        get("access-control-allow-origin").as_deref(),
        Some("https://app.example.com")
    );
    assert_eq!(
        get("access-control-allow-credentials").as_deref(),
        Some("true")
    );
    assert_eq!(
        get("access-control-allow-methods").as_deref(),
        Some("GET, POST, PUT")
    );
    assert_eq!(
        get("access-control-allow-headers").as_deref(),
        Some("x-trace")
    );
    assert_eq!(get("access-control-max-age").as_deref(), Some("600"));
    assert_eq!(get("vary").as_deref(), Some("origin"));
    assert_eq!(answer.body_bytes(), None, "a preflight answer has no body");
}

#[test]
fn cors_marks_allowed_actual_requests_and_leaves_others_unmarked() {
    let clock = ManualClock::new();
    let chain = chain(&[cors(false, origins())], &clock);
    let passed = Req::get("/")
        .header("origin", "https://app.example.com")
        .run(&chain)
        .unwrap();
    let names: Vec<String> = passed
        .response_headers
        .iter()
        .map(|(n, v)| format!("{n}={}", v.to_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            "access-control-allow-origin=https://app.example.com",
            "vary=origin",
            "access-control-expose-headers=x-request-id"
        ]
    );
    let passed = Req::get("/")
        .header("origin", "https://evil.com")
        .run(&chain)
        .unwrap();
    assert!(
        passed
            .response_headers
            .iter()
            .all(|(n, _)| !n.as_str().starts_with("access-control"))
    );
    let any = common::chain(&[cors(false, vec![CorsOrigin::Any])], &clock);
    let passed = Req::get("/")
        .header("origin", "https://x.test")
        .run(&any)
        .unwrap();
    assert_eq!(passed.response_headers[0].1, "*");
    // A request without Origin gets only `Vary: Origin`, so a cache keys on it.
    let plain = Req::get("/").run(&chain).unwrap().response_headers;
    assert_eq!(plain.len(), 1);
    assert_eq!(
        (plain[0].0.as_str(), plain[0].1.to_str().unwrap()),
        ("vary", "origin")
    );
    let anyone = Req::get("/").run(&any).unwrap().response_headers;
    assert!(anyone.is_empty(), "`*` answers every origin alike");
}

#[test]
fn a_declared_body_over_the_limit_is_refused_and_the_limit_is_passed_on() {
    let clock = ManualClock::new();
    let chain = chain(&[policy("small", PolicyKind::BodyLimit(1024))], &clock);
    let answer = Req::get("/")
        .method("POST")
        .header("content-length", "1025")
        .run(&chain)
        .unwrap_err();
    assert_eq!(
        (answer.status.as_u16(), answer.reason),
        (413, "body_too_large")
    );
    let passed = Req::get("/")
        .method("POST")
        .header("content-length", "1024")
        .run(&chain)
        .unwrap();
    assert_eq!(
        passed.max_body,
        Some(1024),
        "a streamed body is held to the limit by the proxy"
    );
}

#[test]
fn header_transforms_fill_in_the_identity_and_path_parameters() {
    let clock = ManualClock::new();
    let transform = policy(
        "ids",
        PolicyKind::RequestHeaders(RequestHeadersPolicy {
            set: vec![
                ("x-caller".into(), "{identity.id}/{meta.plan}".into()),
                ("x-movie".into(), "movie-{param.id}".into()),
                ("x-claim".into(), "{claim.missing}".into()),
            ],
            remove: vec!["cookie".into()],
        }),
    );
    let chain = chain(
        &[
            keys(CredentialSource::Header("x-api-key".into())),
            transform,
        ],
        &clock,
    );
    let mut req = Req::get("/movies/7")
        .header("x-api-key", "gold-key")
        .header("cookie", "a=b")
        .header("x-claim", "forged");
    req.params = vec![("id".into(), "7".into())];
    req.run(&chain).unwrap();
    assert_eq!(req.headers["x-caller"], "alice/gold");
    assert_eq!(req.headers["x-movie"], "movie-7");
    assert!(!req.headers.contains_key("cookie"));
    assert!(
        !req.headers.contains_key("x-claim"),
        "a value that cannot be filled is removed, not left to the client"
    );
}

#[test]
fn query_transforms_replace_client_values_and_encode_what_they_set() {
    let clock = ManualClock::new();
    let transform = policy(
        "query",
        PolicyKind::RequestQuery(RequestQueryPolicy {
            set: vec![
                ("caller".into(), "{identity.id} ({meta.plan})".into()),
                ("movie".into(), "{param.id}".into()),
                ("tier".into(), "{claim.tier}".into()),
            ],
            remove: vec!["debug".into()],
        }),
    );
    let chain = chain(
        &[
            keys(CredentialSource::Header("x-api-key".into())),
            transform,
        ],
        &clock,
    );
    // `%63aller` is `caller` spelled with an escape: it is the client's value all the same.
    let mut req =
        Req::get("/movies/7?page=2&caller=mallory&%63aller=eve&debug=1&tier=root&q=a%20b")
            .header("x-api-key", "gold-key");
    req.params = vec![("id".into(), "7/8".into())];
    req.run(&chain).unwrap();
    assert_eq!(req.uri.path(), "/movies/7");
    assert_eq!(
        req.uri.query(),
        Some("page=2&q=a%20b&caller=alice%20%28gold%29&movie=7%2F8"),
        "client values replaced, an unfillable value left out, the rest kept as sent"
    );
    let mut bare = Req::get("/movies?debug=1").header("x-api-key", "free-key");
    bare.run(&chain).unwrap();
    assert_eq!(bare.uri, "/movies?caller=bob%20%28free%29");
}

#[test]
fn the_first_policy_that_answers_ends_the_chain() {
    let clock = ManualClock::new();
    let limit = policy(
        "per-key",
        PolicyKind::RateLimit(RateLimitPolicy {
            requests: 1,
            per: Duration::from_secs(60),
            burst: 1,
            key: vec![RateKey::ApiKey],
            max_keys: 100,
            redis: None,
        }),
    );
    let chain = chain(
        &[keys(CredentialSource::Header("x-api-key".into())), limit],
        &clock,
    );
    assert_eq!(
        Req::get("/").header("x-api-key", "gold-key").reason(&chain),
        "passed"
    );
    assert_eq!(
        Req::get("/").header("x-api-key", "gold-key").reason(&chain),
        "rate_limited"
    );
    assert_eq!(
        Req::get("/").header("x-api-key", "free-key").reason(&chain),
        "passed",
        "another key, another budget"
    );
    // Refused by authentication, an unknown key never spends anyone's budget.
    for _ in 0..3 {
        assert_eq!(
            Req::get("/").header("x-api-key", "nope").reason(&chain),
            "unknown_key"
        );
    }
}

#[test]
fn a_refusal_after_cors_still_carries_the_cors_headers() {
    let clock = ManualClock::new();
    let chain = chain(
        &[
            cors(false, origins()),
            keys(CredentialSource::Header("x-api-key".into())),
        ],
        &clock,
    );
    let answer = Req::get("/")
        .header("origin", "https://app.example.com")
        .run(&chain)
        .unwrap_err();
    assert_eq!(answer.status, 401);
    let origin = answer
        .headers
        .iter()
        .find(|(n, _)| n == "access-control-allow-origin");
    assert_eq!(
        origin.map(|(_, v)| v.to_str().unwrap()),
        Some("https://app.example.com"),
        "so the page can read the 401"
    );
}

#[test]
fn a_client_cannot_supply_an_identity_header_under_an_underscore_spelling() {
    let clock = ManualClock::new();
    let chain = chain(
        &[keys(CredentialSource::Header("x-api-key".into()))],
        &clock,
    );
    let mut req = Req::get("/")
        .header("x-api-key", "gold-key")
        .header("x_api_key_id", "admin");
    req.run(&chain).unwrap();
    assert!(
        !req.headers.contains_key("x_api_key_id"),
        "CGI-style services would read it as X-Api-Key-Id"
    );
    assert_eq!(req.headers["x-api-key-id"], "alice");
}

#[test]
fn a_repeated_credential_is_refused_as_ambiguous() {
    let clock = ManualClock::new();
    let chain = chain(
        &[keys(CredentialSource::Header("x-api-key".into()))],
        &clock,
    );
    let answer = Req::get("/")
        .header("x-api-key", "gold-key")
        .header("x-api-key", "other")
        .run(&chain)
        .unwrap_err();
    assert_eq!(
        (answer.status.as_u16(), answer.reason),
        (400, "credentials_ambiguous")
    );
    let query = common::chain(&[keys(CredentialSource::Query("api_key".into()))], &clock);
    let answer = Req::get("/?api_key=gold-key&api_key=x")
        .run(&query)
        .unwrap_err();
    assert_eq!(answer.reason, "credentials_ambiguous");
}

#[test]
fn only_the_scope_claim_is_split_on_spaces() {
    let clock = ManualClock::new();
    let mut key = api_key("k", "carol", "x");
    key.metadata.insert("role".into(), "not admin".into());
    let keys = policy(
        "keys",
        PolicyKind::ApiKey(ApiKeyPolicy {
            source: CredentialSource::Header("x-api-key".into()),
            keys: vec![key],
            forward_id: None,
            keep_credential: false,
        }),
    );
    let admins = authorize(vec![ClaimRule {
        claim: "role".into(),
        any_of: vec!["admin".into()],
        all_of: Vec::new(),
    }]);
    let chain = chain(&[keys, admins], &clock);
    assert_eq!(
        Req::get("/").header("x-api-key", "k").reason(&chain),
        "claim_required"
    );
}
