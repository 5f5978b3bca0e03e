//! A JWKS URL over https, against a real TLS server on 127.0.0.1 whose certificate the test
//! CA signed: trusted when `ca_file` names the CA, refused (no keys) when it does not.

mod common;
#[path = "common/jwks.rs"]
mod jwks;

use jwks::{CA_PEM, JwksServer, reason, remote, token, users};
use switchyard_core::ManualClock;

#[tokio::test]
async fn https_with_the_ca_file_is_trusted() {
    let server = JwksServer::start(true, jwks::jwks(&["rsa-jwk"])).await;
    assert!(server.url.starts_with("https://127.0.0.1:"));
    let chain = users(remote(&server.url, Some(CA_PEM)), &ManualClock::new());
    assert_eq!(reason(&chain, &token("rsa-jwk", "alice")).await, "passed");
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn https_with_an_untrusted_certificate_fails() {
    let server = JwksServer::start(true, jwks::jwks(&["rsa-jwk"])).await;
    let chain = users(remote(&server.url, None), &ManualClock::new());
    assert_eq!(
        reason(&chain, &token("rsa-jwk", "alice")).await,
        "jwks_unavailable"
    );
    assert_eq!(
        server.hits(),
        0,
        "no request is sent over an untrusted connection"
    );
}
