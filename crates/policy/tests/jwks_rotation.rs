//! Key rotation at a JWKS URL: a token naming a new `kid` has the keys fetched early and
//! passes at once; such early fetches are rate-limited on the manual clock; a key dropped from
//! the document ends its cached tokens.

mod common;
#[path = "common/jwks.rs"]
mod jwks;

use jwks::{JwksServer, reason, remote, token, users};
use std::time::Duration;
use switchyard_core::ManualClock;

#[tokio::test]
async fn a_token_naming_a_new_kid_has_the_keys_fetched_and_passes() {
    let server = JwksServer::start(false, jwks::jwks(&["rsa-jwk"])).await;
    let chain = users(remote(&server.url, None), &ManualClock::new());
    assert_eq!(reason(&chain, &token("rsa-jwk", "alice")).await, "passed");
    server.set(jwks::jwks(&["rsa-jwk", "ec-jwk"]));
    assert_eq!(reason(&chain, &token("ec-jwk", "bob")).await, "passed");
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn unknown_kid_refetches_are_rate_limited() {
    let server = JwksServer::start(false, jwks::jwks(&["rsa-jwk"])).await;
    let clock = ManualClock::new();
    let chain = users(remote(&server.url, None), &clock);
    assert_eq!(reason(&chain, &token("nobody", "a")).await, "unknown_kid");
    assert_eq!(server.hits(), 2, "the first fetch and one early refetch");
    for kid in ["nobody-2", "nobody-3", "ec-jwk"] {
        assert_eq!(
            reason(&chain, &token(kid, "a")).await,
            "unknown_kid",
            "{kid}"
        );
    }
    server.set(jwks::jwks(&["rsa-jwk", "ec-jwk"]));
    assert_eq!(reason(&chain, &token("ec-jwk", "b")).await, "unknown_kid");
    assert_eq!(server.hits(), 2, "no refetch within 30 s of the last");
    clock.advance(Duration::from_secs(30));
    assert_eq!(reason(&chain, &token("ec-jwk", "c")).await, "passed");
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn a_key_dropped_from_the_document_ends_its_cached_tokens() {
    let server = JwksServer::start(false, jwks::jwks(&["rsa-jwk", "ec-jwk"])).await;
    let clock = ManualClock::new();
    let chain = users(remote(&server.url, None), &clock);
    let alice = token("rsa-jwk", "alice");
    assert_eq!(reason(&chain, &alice).await, "passed");
    assert_eq!(reason(&chain, &alice).await, "passed", "now cached");
    server.set(jwks::jwks(&["ec-jwk"]));
    clock.advance(Duration::from_secs(60));
    server.wait_for_hits(2).await;
    // The refresh's answer may still be on its way: wait for the cached token to go.
    for _ in 0..2000 {
        match reason(&chain, &alice).await {
            "passed" => tokio::time::sleep(Duration::from_millis(5)).await,
            other => return assert_eq!(other, "unknown_kid"),
        }
    }
    panic!("the token of the dropped key still passes");
}
