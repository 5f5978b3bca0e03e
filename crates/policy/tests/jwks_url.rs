//! JWT keys from a JWKS URL, against a real server on 127.0.0.1: fetched at once (a token
//! waits for the first fetch), every failure kind refused as `jwks_unavailable` before a good
//! fetch, the last good keys kept until `max_stale` on the manual clock, and the fetch task
//! gone with its policy.

mod common;
#[path = "common/jwks.rs"]
mod jwks;

use common::{Req, policy};
use jwks::{JwksServer, Reply, reason, remote, token, until_passes, users};
use std::sync::Arc;
use std::time::Duration;
use switchyard_config::{JwtKey, JwtKeyMaterial, PolicyKind};
use switchyard_core::ManualClock;
use switchyard_policy::{Policies, Timebase};

#[tokio::test]
async fn keys_fetched_from_the_url_verify_tokens() {
    let server = JwksServer::start(false, jwks::jwks(&["rsa-jwk", "ec-jwk"])).await;
    let clock = ManualClock::new();
    let chain = users(remote(&server.url, None), &clock);
    // The first token waits for the first fetch rather than being refused.
    assert_eq!(reason(&chain, &token("rsa-jwk", "alice")).await, "passed");
    assert_eq!(reason(&chain, &token("ec-jwk", "bob")).await, "passed");
    let passed = Req::get("/")
        .bearer(&token("rsa-jwk", "carol"))
        .run_async(&chain)
        .await
        .unwrap();
    assert_eq!(passed.identity.unwrap().id, "carol");
    assert_eq!(server.hits(), 1, "one fetch serves every token");
    let request = &server.requests()[0];
    assert!(
        request.starts_with("GET /jwks?tenant=t1 HTTP/1.1\r\n"),
        "{request}"
    );
    let port = server
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    let host = format!("host: 127.0.0.1:{port}\r\n");
    assert!(request.to_ascii_lowercase().contains(&host), "{request}");
}

#[tokio::test]
async fn before_a_good_fetch_tokens_get_jwks_unavailable() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/jwks", listener.local_addr().unwrap())
    };
    let cases = [
        ("a 503", Some(Reply::Status(503))),
        ("a redirect", Some(Reply::Status(302))),
        ("not JSON", Some(Reply::Json("<html>".into()))),
        ("no keys", Some(Reply::Json(r#"{"keys": []}"#.into()))),
        ("over 1 MiB", Some(Reply::Big(1 << 21))),
        ("a closed port", None),
    ];
    for (what, reply) in cases {
        let server = match reply {
            Some(reply) => Some(JwksServer::start(false, reply).await),
            None => None,
        };
        let url = server.as_ref().map_or(closed.clone(), |s| s.url.clone());
        let chain = users(remote(&url, None), &ManualClock::new());
        let answer = Req::get("/")
            .bearer(&token("rsa-jwk", "alice"))
            .run_async(&chain)
            .await
            .unwrap_err();
        assert_eq!(
            (answer.status.as_u16(), answer.reason),
            (401, "jwks_unavailable"),
            "{what}"
        );
        let body: serde_json::Value =
            serde_json::from_slice(&answer.body_bytes().unwrap()).unwrap();
        assert_eq!(
            body["detail"], "no fetch of the JWKS URL has succeeded yet",
            "{what}"
        );
        let challenge = answer.headers.iter().find(|(n, _)| n == "www-authenticate");
        assert_eq!(
            challenge.unwrap().1,
            "Bearer error=\"invalid_token\", error_description=\"jwks_unavailable\"",
            "{what}"
        );
    }
}

#[tokio::test]
async fn keys_that_cannot_be_used_are_skipped_and_the_rest_verify() {
    let jwks::Reply::Json(good) = jwks::jwks(&["rsa-jwk"]) else {
        unreachable!()
    };
    let mut doc: serde_json::Value = serde_json::from_str(&good).unwrap();
    let rsa = doc["keys"][0].clone();
    let mut enc = rsa.clone();
    enc["kid"] = "enc".into();
    enc["use"] = "enc".into();
    let keys = doc["keys"].as_array_mut().unwrap();
    keys.push(serde_json::json!({"kty": "EC", "kid": "odd", "crv": "P-999", "x": "AA", "y": "AA"}));
    keys.push(serde_json::json!({"kty": "oct", "kid": "short", "k": "c2hvcnQ"}));
    keys.push(serde_json::json!({"kty": "XYZ", "kid": "unknown-type"}));
    keys.push(enc);
    let server = JwksServer::start(false, Reply::Json(doc.to_string())).await;
    let chain = users(remote(&server.url, None), &ManualClock::new());
    assert_eq!(reason(&chain, &token("rsa-jwk", "alice")).await, "passed");
    assert_eq!(reason(&chain, &token("enc", "bob")).await, "unknown_kid");
}

#[tokio::test]
async fn a_hung_fetch_times_out_and_the_retry_succeeds() {
    let server = JwksServer::start(false, Reply::Hang).await;
    let clock = ManualClock::new();
    let mut p = remote(&server.url, None);
    p.jwks_url.as_mut().unwrap().timeout = Duration::from_millis(200);
    let chain = users(p, &clock);
    let alice = token("rsa-jwk", "alice");
    assert_eq!(reason(&chain, &alice).await, "jwks_unavailable");
    // Were the hung fetch not cut off, no retry would ever come.
    server.set(jwks::jwks(&["rsa-jwk"]));
    until_passes(&chain, &alice, &clock).await;
    assert!(server.hits() >= 2);
}

#[tokio::test]
async fn the_last_good_keys_are_used_until_max_stale() {
    let server = JwksServer::start(false, jwks::jwks(&["rsa-jwk"])).await;
    let clock = ManualClock::new();
    let chain = users(remote(&server.url, None), &clock);
    let alice = token("rsa-jwk", "alice");
    assert_eq!(reason(&chain, &alice).await, "passed");
    server.set(Reply::Status(500));
    clock.advance(Duration::from_secs(60));
    server.wait_for_hits(2).await;
    assert_eq!(reason(&chain, &alice).await, "passed", "cached");
    assert_eq!(
        reason(&chain, &token("rsa-jwk", "bob")).await,
        "passed",
        "verified"
    );
    clock.advance(Duration::from_secs(240));
    assert_eq!(
        reason(&chain, &alice).await,
        "passed",
        "300 s old: not beyond max_stale"
    );
    clock.advance(Duration::from_secs(1));
    let answer = Req::get("/")
        .bearer(&alice)
        .run_async(&chain)
        .await
        .unwrap_err();
    assert_eq!(answer.reason, "jwks_unavailable", "a cached token too");
    let body: serde_json::Value = serde_json::from_slice(&answer.body_bytes().unwrap()).unwrap();
    assert_eq!(
        body["detail"],
        "the last good fetch of the JWKS URL is older than max_stale (300s)"
    );
    assert_eq!(
        reason(&chain, &token("rsa-jwk", "carol")).await,
        "jwks_unavailable"
    );
    // The server recovers: the next retry brings the keys back.
    server.set(jwks::jwks(&["rsa-jwk"]));
    until_passes(&chain, &alice, &clock).await;
}

#[tokio::test]
async fn a_stopped_server_leaves_the_keys_until_max_stale() {
    let server = JwksServer::start(false, jwks::jwks(&["rsa-jwk"])).await;
    let clock = ManualClock::new();
    let chain = users(remote(&server.url, None), &clock);
    let alice = token("rsa-jwk", "alice");
    assert_eq!(reason(&chain, &alice).await, "passed");
    server.stop();
    clock.advance(Duration::from_secs(300));
    assert_eq!(reason(&chain, &token("rsa-jwk", "bob")).await, "passed");
    clock.advance(Duration::from_secs(1));
    assert_eq!(reason(&chain, &alice).await, "jwks_unavailable");
}

#[tokio::test]
async fn configured_keys_still_verify_while_the_url_is_down() {
    let server = JwksServer::start(false, Reply::Status(503)).await;
    let mut p = remote(&server.url, None);
    p.keys = vec![JwtKey {
        kid: Some("hs".to_owned()),
        material: JwtKeyMaterial::Secret(jwks::SECRET.to_owned()),
    }];
    let chain = users(p, &ManualClock::new());
    assert_eq!(reason(&chain, &token("hs", "alice")).await, "passed");
    assert_eq!(
        reason(&chain, &token("rsa-jwk", "bob")).await,
        "jwks_unavailable"
    );
}

#[tokio::test]
async fn the_fetch_task_ends_with_its_policy() {
    let server = JwksServer::start(false, jwks::jwks(&["rsa-jwk"])).await;
    let clock = ManualClock::new();
    let chain = users(remote(&server.url, None), &clock);
    assert_eq!(reason(&chain, &token("rsa-jwk", "alice")).await, "passed");
    clock.advance(Duration::from_secs(60));
    server.wait_for_hits(2).await;
    drop(chain);
    for _ in 0..10 {
        clock.advance(Duration::from_secs(60));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.hits(), 2, "no fetch after the policy is dropped");
}

#[tokio::test]
async fn a_reload_keeps_an_unchanged_policy_and_its_keys() {
    let server = JwksServer::start(false, jwks::jwks(&["rsa-jwk"])).await;
    let clock = ManualClock::new();
    let time = Timebase::new(Arc::new(clock.clone()), common::NOW);
    let config = [policy("users", PolicyKind::Jwt(remote(&server.url, None)))];
    let first = Policies::compile(&config, &time, None).unwrap();
    let names = ["users".to_owned()];
    assert_eq!(
        reason(&first.chain(&names), &token("rsa-jwk", "a")).await,
        "passed"
    );
    let second = Policies::compile(&config, &time, Some(&first)).unwrap();
    drop(first);
    assert_eq!(
        reason(&second.chain(&names), &token("rsa-jwk", "b")).await,
        "passed"
    );
    assert_eq!(
        server.hits(),
        1,
        "the kept policy had its keys: no new fetch"
    );
    clock.advance(Duration::from_secs(60));
    server.wait_for_hits(2).await;
}
