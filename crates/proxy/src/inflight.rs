//! De-duplication of identical in-flight subgraph calls: concurrent client requests that need
//! the same call (same subgraph, body and headers) share one, and each gets its answer.
//!
//! Followers get the answer oldest request first (earliest deadline; a route's requests share
//! one timeout). Requests sharing calls move through their plan together, and the one answered
//! first at one call reaches the next call first; answered in joining order, or in its reverse,
//! the order a request arrived in is lost and the first to arrive can be the last to finish.
//! Oldest first keeps every step in arrival order, so each request waits about as long as the
//! others (docs/graphql.md, Performance).

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use std::collections::HashMap;
use std::sync::Mutex;
use switchyard_graphql::FetchError;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// A subgraph call's answer as shared with the requests waiting for it.
type Shared = Result<switchyard_graphql::Answer, FetchError>;

/// Where a follower waits for the answer.
pub type Waiting = oneshot::Receiver<Shared>;

/// What makes two subgraph calls the same call.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallKey {
    pub service: String,
    pub body: Bytes,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// A request waiting for a call: its deadline, and where its answer goes.
type Follower = (Instant, oneshot::Sender<Shared>);

/// The calls in flight on one GraphQL route, by key, each with its followers in joining order.
#[derive(Debug, Default)]
pub struct Inflight {
    calls: Mutex<HashMap<CallKey, Vec<Follower>>>,
}

/// Whether this request makes the call or waits for another's.
pub enum Role<'a> {
    Leader(Leader<'a>),
    Follower(Waiting),
}

impl Inflight {
    /// Joins the call for `key` for a request due by `deadline`: the first request in leads,
    /// the others follow.
    pub fn join(&self, key: CallKey, deadline: Instant) -> Role<'_> {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(followers) = calls.get_mut(&key) {
            let (sender, receiver) = oneshot::channel();
            followers.push((deadline, sender));
            return Role::Follower(receiver);
        }
        calls.insert(key.clone(), Vec::new());
        Role::Leader(Leader {
            inflight: self,
            key: Some(key),
        })
    }

    /// Number of calls in flight.
    pub fn len(&self) -> usize {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether no call is in flight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ends the call for `key`, returning its followers.
    fn forget(&self, key: &CallKey) -> Vec<Follower> {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        calls.remove(key).unwrap_or_default()
    }
}

/// The request making a shared call. Dropped without [`Leader::finish`] (its client went
/// away), it leaves the followers to make the call themselves.
pub struct Leader<'a> {
    inflight: &'a Inflight,
    key: Option<CallKey>,
}

impl Leader<'_> {
    /// Hands `answer` to every follower, the earliest deadline first (ties in joining order);
    /// later requests make a new call.
    pub fn finish(mut self, answer: &Shared) {
        if let Some(key) = self.key.take() {
            let mut followers = self.inflight.forget(&key);
            followers.sort_by_key(|(deadline, _)| *deadline);
            for (_, follower) in followers {
                // A follower that stopped waiting (its client went away) needs nothing.
                let _ = follower.send(answer.clone());
            }
        }
    }
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // Dropping the senders tells the followers to call themselves.
            self.inflight.forget(&key);
        }
    }
}

/// Waits for the leader's answer until `deadline`; `None` when the leader went away without
/// one (the follower then makes the call itself).
pub async fn follow(answer: Waiting, deadline: Instant) -> Option<Shared> {
    match tokio::time::timeout_at(deadline, answer).await {
        Err(_) => Some(Err(FetchError {
            message: "subgraph did not answer in time".into(),
            code: "GATEWAY_TIMEOUT",
        })),
        Ok(Err(_)) => None,
        Ok(Ok(answer)) => Some(answer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn key() -> CallKey {
        CallKey {
            service: "talent".into(),
            body: Bytes::from_static(b"{\"query\":\"{ a }\"}"),
            headers: Vec::new(),
        }
    }

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[tokio::test]
    async fn followers_get_the_leaders_answer_and_later_calls_lead_again() {
        let inflight = Inflight::default();
        let Role::Leader(leader) = inflight.join(key(), later()) else {
            panic!("the first call leads");
        };
        let Role::Follower(waiting) = inflight.join(key(), later()) else {
            panic!("an identical call follows");
        };
        let decoded = switchyard_graphql::Decoded::from_slice(br#"{"data": {"a": 1}}"#).unwrap();
        leader.finish(&Ok(std::sync::Arc::new(decoded)));
        let answer = follow(waiting, later()).await.unwrap().unwrap();
        assert_eq!(
            answer.to_json(),
            serde_json_bytes::json!({"data": {"a": 1}})
        );
        assert!(inflight.is_empty());
        assert!(matches!(inflight.join(key(), later()), Role::Leader(_)));
    }

    /// Requests sharing calls move through their plans together: answered in joining order (or
    /// its reverse), the request that arrived first could finish last.
    #[tokio::test]
    async fn followers_are_answered_the_oldest_request_first() {
        let inflight = std::sync::Arc::new(Inflight::default());
        let Role::Leader(leader) = inflight.join(key(), later()) else {
            panic!("the first call leads");
        };
        let answered = std::sync::Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        let now = Instant::now();
        for (id, due_in_s) in [(1, 3), (2, 1), (3, 2), (4, 1)] {
            let deadline = now + Duration::from_secs(due_in_s);
            let Role::Follower(waiting) = inflight.join(key(), deadline) else {
                panic!("an identical call follows");
            };
            let answered = answered.clone();
            tasks.push(tokio::spawn(async move {
                follow(waiting, deadline).await.unwrap().unwrap();
                answered.lock().unwrap().push(id);
            }));
        }
        tokio::task::yield_now().await;
        let decoded = switchyard_graphql::Decoded::from_slice(br#"{"data": {}}"#).unwrap();
        leader.finish(&Ok(std::sync::Arc::new(decoded)));
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*answered.lock().unwrap(), [2, 4, 3, 1]);
    }

    #[tokio::test]
    async fn a_leader_that_goes_away_lets_its_followers_call_themselves() {
        let inflight = Inflight::default();
        let leader = inflight.join(key(), later());
        let Role::Follower(waiting) = inflight.join(key(), later()) else {
            panic!("an identical call follows");
        };
        drop(leader);
        assert!(follow(waiting, later()).await.is_none());
        assert!(inflight.is_empty());
    }

    #[tokio::test]
    async fn a_follower_waits_no_longer_than_its_own_deadline() {
        let inflight = Inflight::default();
        let _leader = inflight.join(key(), later());
        let Role::Follower(waiting) = inflight.join(key(), later()) else {
            panic!("an identical call follows");
        };
        let answer = follow(waiting, Instant::now() + Duration::from_millis(20)).await;
        assert_eq!(answer.unwrap().unwrap_err().code, "GATEWAY_TIMEOUT");
    }

    #[test]
    fn different_bodies_or_headers_are_different_calls() {
        let inflight = Inflight::default();
        let _a = inflight.join(key(), later());
        let other_body = CallKey {
            body: Bytes::from_static(b"{\"query\":\"{ b }\"}"),
            ..key()
        };
        assert!(matches!(
            inflight.join(other_body, later()),
            Role::Leader(_)
        ));
        let other_headers = CallKey {
            headers: vec![(
                HeaderName::from_static("authorization"),
                HeaderValue::from_static("Bearer x"),
            )],
            ..key()
        };
        assert!(matches!(
            inflight.join(other_headers, later()),
            Role::Leader(_)
        ));
    }
}
