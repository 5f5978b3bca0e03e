//! Helpers shared by the policy tests: building policies from the config model, running a
//! chain against a request, reading the answer.

#![allow(dead_code)]

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use switchyard_config::{Policy, PolicyKind};
use switchyard_core::ManualClock;
use switchyard_policy::{Answer, Chain, Exchange, Passed, Policies, Timebase};

/// The output of a future that must not wait: a chain without shared (Redis) limits never does.
pub fn ready<T>(future: impl std::future::Future<Output = T>) -> T {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(value) => value,
        std::task::Poll::Pending => panic!("a local policy chain waited"),
    }
}

/// The Unix time at the start of every test.
pub const NOW: u64 = 1_800_000_000;

pub fn policy(name: &str, kind: PolicyKind) -> Policy {
    Policy {
        name: name.to_owned(),
        origin: format!("test.yaml:1:1: {name}"),
        kind,
    }
}

pub fn chain(policies: &[Policy], clock: &ManualClock) -> Chain {
    let time = Timebase::new(Arc::new(clock.clone()), NOW);
    let compiled = Policies::compile(policies, &time, None).expect("policies compile");
    let names: Vec<String> = policies.iter().map(|p| p.name.clone()).collect();
    compiled.chain(&names)
}

/// A request to run through a chain.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub ip: IpAddr,
    pub params: Vec<(String, String)>,
}

impl Req {
    pub fn get(uri: &str) -> Self {
        Self {
            method: Method::GET,
            uri: uri.parse().unwrap(),
            headers: HeaderMap::new(),
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            params: Vec::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = HeaderName::try_from(name).unwrap();
        self.headers
            .append(name, HeaderValue::try_from(value).unwrap());
        self
    }

    pub fn method(mut self, m: &str) -> Self {
        self.method = m.parse().unwrap();
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// Runs a chain that never waits; the request (as it would go upstream) is left in `self`.
    pub fn run(&mut self, chain: &Chain) -> Result<Passed, Box<Answer>> {
        ready(self.run_async(chain))
    }

    /// Runs a chain that may wait (Basic authentication, shared limits).
    pub async fn run_async(&mut self, chain: &Chain) -> Result<Passed, Box<Answer>> {
        let mut ex = Exchange {
            method: &self.method,
            uri: &mut self.uri,
            headers: &mut self.headers,
            client_ip: self.ip,
            route: "test-route",
            params: &self.params,
        };
        chain.apply(&mut ex).await
    }

    pub fn reason(&mut self, chain: &Chain) -> &'static str {
        match self.run(chain) {
            Ok(_) => "passed",
            Err(answer) => answer.reason,
        }
    }
}
