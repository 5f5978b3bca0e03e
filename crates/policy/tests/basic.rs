//! Basic authentication against bcrypt hashes (checked off the reactor, remembered after).

mod common;

use base64::Engine;
use common::{Req, chain, policy};
use std::collections::BTreeMap;
use switchyard_config::{BasicAuthPolicy, BasicUser, PolicyKind};
use switchyard_core::ManualClock;

fn basic(password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("alice:{password}"));
    format!("Basic {encoded}")
}

fn users() -> PolicyKind {
    let hash = bcrypt::hash("correct horse", 4).unwrap();
    PolicyKind::BasicAuth(BasicAuthPolicy {
        realm: "movies".into(),
        users: vec![BasicUser {
            name: "alice".into(),
            hash,
            metadata: BTreeMap::from([("team".into(), "ops".into())]),
        }],
        keep_credential: false,
    })
}

#[tokio::test]
async fn a_right_password_authenticates_and_a_wrong_one_or_none_is_refused() {
    let clock = ManualClock::new();
    let chain = chain(&[policy("people", users())], &clock);
    let mut ok = Req::get("/").header("authorization", &basic("correct horse"));
    let passed = ok.run_async(&chain).await.unwrap();
    let identity = passed.identity.unwrap();
    assert_eq!(
        (identity.id.as_str(), identity.meta("team")),
        ("alice", Some("ops"))
    );
    assert!(
        !ok.headers.contains_key("authorization"),
        "the password stays at the gateway"
    );
    // Remembered: the same pair again passes (without another bcrypt check).
    let mut again = Req::get("/").header("authorization", &basic("correct horse"));
    assert!(again.run_async(&chain).await.is_ok());
    for (what, mut req, reason) in [
        (
            "wrong password",
            Req::get("/").header("authorization", &basic("battery staple")),
            "bad_credentials",
        ),
        (
            "unknown user",
            Req::get("/").header("authorization", "Basic Ym9iOmNvcnJlY3QgaG9yc2U="),
            "bad_credentials",
        ),
        ("no credentials", Req::get("/"), "credentials_missing"),
        (
            "not base64",
            Req::get("/").header("authorization", "Basic !!!"),
            "credentials_missing",
        ),
        (
            "a bearer token",
            Req::get("/").header("authorization", "Bearer abc"),
            "credentials_missing",
        ),
    ] {
        let answer = req.run_async(&chain).await.unwrap_err();
        assert_eq!(
            (answer.status.as_u16(), answer.reason),
            (401, reason),
            "{what}"
        );
        let challenge = answer
            .headers
            .iter()
            .find(|(n, _)| n == "www-authenticate")
            .unwrap();
        assert_eq!(challenge.1, "Basic realm=\"movies\", charset=\"UTF-8\"");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_checks_beyond_the_cap_are_refused_at_once_not_queued() {
    let clock = ManualClock::new();
    // Cost 12: each check takes long enough that all requests below overlap.
    let hash = bcrypt::hash("correct horse", 12).unwrap();
    let kind = PolicyKind::BasicAuth(BasicAuthPolicy {
        realm: "movies".into(),
        users: vec![BasicUser {
            name: "alice".into(),
            hash,
            metadata: BTreeMap::new(),
        }],
        keep_credential: false,
    });
    let chain = chain(&[policy("people", kind)], &clock);
    let cap = std::thread::available_parallelism().map_or(2, |n| n.get() * 2);
    let guesses = (0..cap + 8).map(|i| {
        let chain = &chain;
        async move {
            let mut req = Req::get("/").header("authorization", &basic(&format!("guess {i}")));
            req.run_async(chain).await.unwrap_err().reason
        }
    });
    let reasons = futures_join_all(guesses).await;
    let busy = reasons
        .iter()
        .filter(|r| **r == "credentials_check_busy")
        .count();
    let checked = reasons.iter().filter(|r| **r == "bad_credentials").count();
    assert_eq!((busy, checked), (8, cap), "{reasons:?}");
}

/// Polls every future in one task, so they all start before any bcrypt check ends.
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut pending: Vec<_> = futures.map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        for (i, f) in pending.iter_mut().enumerate() {
            if done[i].is_none()
                && let std::task::Poll::Ready(v) = f.as_mut().poll(cx)
            {
                done[i] = Some(v);
            }
        }
        if done.iter().all(Option::is_some) {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    done.into_iter().map(|d| d.expect("all done")).collect()
}
