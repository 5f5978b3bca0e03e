//! GraphQL subgraph calls through Switchyard clusters: balanced, admitted, retried on connect
//! failure, and every outcome recorded, exactly like proxied requests.

use crate::body::{BodyWatch, RequestBody};
use crate::cluster::Cluster;
use crate::inflight::{CallKey, Inflight, Role, follow};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, Version, header};
use http_body_util::{BodyExt, Limited};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use switchyard_balance::{Outcome, OutcomeKind, PickContext};
use switchyard_graphql::{
    Answer, Decoded, FetchError, FetchFuture, SubgraphClient, SubgraphRequest,
};
use tokio::time::Instant;

/// Largest subgraph response body read.
const MAX_RESPONSE_BYTES: usize = 64 << 20;

/// Where one subgraph is served.
#[derive(Debug)]
pub struct SubgraphTarget {
    pub cluster: Arc<Cluster>,
    pub path: http::uri::PathAndQuery,
    pub headers: HeaderRules,
}

/// Which headers travel between the client and this subgraph.
#[derive(Debug, Default)]
pub struct HeaderRules {
    pub propagate: Vec<HeaderName>,
    pub set: Vec<(HeaderName, HeaderValue)>,
    pub response: Vec<HeaderName>,
}

/// The subgraphs of one GraphQL route, by name.
#[derive(Debug, Default)]
pub struct ClusterSubgraphs {
    pub targets: HashMap<String, SubgraphTarget>,
    /// Whether identical concurrent query calls share one (`dedupe` in the config).
    pub dedupe: bool,
    pub inflight: Inflight,
}

impl ClusterSubgraphs {
    /// Whether any subgraph call carries client headers (else requests need not keep them).
    pub fn propagates_headers(&self) -> bool {
        self.targets
            .values()
            .any(|t| !t.headers.propagate.is_empty())
    }
}

/// A [`ClusterSubgraphs`] with what one client request brings: its deadline and headers, and
/// the subgraph response headers to pass back.
pub struct DeadlineClient<'a> {
    pub subgraphs: &'a ClusterSubgraphs,
    pub deadline: Instant,
    pub client_headers: &'a HeaderMap,
    pub collected: Mutex<Vec<(HeaderName, HeaderValue)>>,
}

impl SubgraphClient for DeadlineClient<'_> {
    fn fetch<'a>(&'a self, service: &'a str, request: SubgraphRequest) -> FetchFuture<'a> {
        Box::pin(async move {
            let target = self.subgraphs.targets.get(service).ok_or(FetchError {
                message: format!("no cluster serves subgraph `{service}`"),
                code: "SUBREQUEST_HTTP_ERROR",
            })?;
            let shareable = self.subgraphs.dedupe
                && !request.is_mutation()
                && target.headers.response.is_empty();
            let body = Bytes::from(request.body());
            let mut headers = HeaderMap::new();
            for name in &target.headers.propagate {
                for value in self.client_headers.get_all(name) {
                    headers.append(name.clone(), value.clone());
                }
            }
            for (name, value) in &target.headers.set {
                headers.insert(name.clone(), value.clone());
            }
            if shareable {
                return self.shared_call(service, target, body, headers).await;
            }
            let (answer, passed_back) = call(target, body, headers, self.deadline).await?;
            if !passed_back.is_empty() {
                let mut collected = self.collected.lock().unwrap_or_else(|p| p.into_inner());
                collected.extend(passed_back);
            }
            Ok(answer)
        })
    }
}

impl DeadlineClient<'_> {
    /// The call made once for all concurrent identical requests (no headers pass back).
    async fn shared_call(
        &self,
        service: &str,
        target: &SubgraphTarget,
        body: Bytes,
        headers: HeaderMap,
    ) -> Result<Answer, FetchError> {
        let key = CallKey {
            service: service.to_owned(),
            body: body.clone(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect(),
        };
        match self.subgraphs.inflight.join(key, self.deadline) {
            Role::Follower(answer) => match follow(answer, self.deadline).await {
                Some(answer) => answer,
                // The leader's client went away before the answer: make the call after all.
                None => call(target, body, headers, self.deadline)
                    .await
                    .map(|a| a.0),
            },
            Role::Leader(leader) => {
                let answer = call(target, body, headers, self.deadline)
                    .await
                    .map(|a| a.0);
                leader.finish(&answer);
                answer
            }
        }
    }
}

/// Headers to pass back to the client, per the target's `response` rule.
type PassedBack = Vec<(HeaderName, HeaderValue)>;

async fn call(
    target: &SubgraphTarget,
    body: Bytes,
    headers: HeaderMap,
    deadline: Instant,
) -> Result<(Answer, PassedBack), FetchError> {
    let cluster = &target.cluster;
    let _permit = tokio::time::timeout_at(deadline, cluster.admit())
        .await
        .map_err(|_| failed("timed out waiting for a connection", "GATEWAY_TIMEOUT"))?
        .map_err(|_| failed("cluster overloaded", "SUBREQUEST_HTTP_ERROR"))?;
    cluster.retry_budget.record_request();
    let membership = cluster.membership();
    let mut tried: Vec<u64> = Vec::new();
    loop {
        let context = PickContext {
            tried: &tried,
            hash: None,
        };
        let mut held = crate::capacity::pick(cluster, &membership, &context, deadline)
            .await
            .ok_or_else(|| failed("no endpoint available", "SUBREQUEST_HTTP_ERROR"))?;
        let endpoint = held.pick().endpoint().id;
        tried.push(endpoint);
        let authority = membership
            .authority(endpoint)
            .ok_or_else(|| failed("endpoint vanished", "SUBREQUEST_HTTP_ERROR"))?;
        let mut request = build(cluster, authority, &target.path, body.clone())?;
        for (name, value) in &headers {
            request.headers_mut().append(name.clone(), value.clone());
        }
        let sent = tokio::time::timeout_at(deadline, cluster.client.request(request)).await;
        let response = match sent {
            Err(_) => {
                held.record(&membership.set, outcome(OutcomeKind::Timeout, None));
                return Err(failed("subgraph did not answer in time", "GATEWAY_TIMEOUT"));
            }
            Ok(Err(e)) => {
                let kind = if e.is_connect() {
                    OutcomeKind::ConnectFailure
                } else {
                    OutcomeKind::Reset
                };
                held.record(&membership.set, outcome(kind, None));
                // Nothing reached the subgraph on a connect failure, so any operation may retry.
                let retry = kind == OutcomeKind::ConnectFailure
                    && tried.len() <= cluster.config.retries.attempts as usize
                    && tried.len() < membership.set.len()
                    && cluster.retry_budget.try_retry();
                if retry {
                    continue;
                }
                return Err(failed(&e.to_string(), "SUBREQUEST_HTTP_ERROR"));
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status().as_u16();
        let passed_back: PassedBack = target
            .headers
            .response
            .iter()
            .flat_map(|name| {
                response
                    .headers()
                    .get_all(name)
                    .iter()
                    .map(move |v| (name.clone(), v.clone()))
            })
            .collect();
        let utilization = response
            .headers()
            .get(&cluster.config.balancing.utilization_header)
            .and_then(|v| switchyard_orca::parse(v.as_bytes()));
        let read = tokio::time::timeout_at(
            deadline,
            Limited::new(response.into_body(), MAX_RESPONSE_BYTES).collect(),
        )
        .await;
        let kind = match status {
            503 | 429 => OutcomeKind::Overloaded,
            500..=599 => OutcomeKind::ServerError,
            _ => OutcomeKind::Success,
        };
        held.record(&membership.set, outcome(kind, utilization));
        let bytes = match read {
            Err(_) => return Err(failed("subgraph did not answer in time", "GATEWAY_TIMEOUT")),
            Ok(Err(e)) => return Err(failed(&e.to_string(), "SUBREQUEST_HTTP_ERROR")),
            Ok(Ok(collected)) => collected.to_bytes(),
        };
        return decode(status, bytes).map(|answer| (Arc::new(answer), passed_back));
    }
}

fn build(
    cluster: &Cluster,
    authority: http::uri::Authority,
    path: &http::uri::PathAndQuery,
    body: Bytes,
) -> Result<Request<RequestBody>, FetchError> {
    let uri = Uri::builder()
        .scheme("http")
        .authority(authority)
        .path_and_query(path.clone())
        .build()
        .map_err(|e| failed(&e.to_string(), "SUBREQUEST_HTTP_ERROR"))?;
    let mut request = Request::new(RequestBody::bytes(body, Arc::new(BodyWatch::default())));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = uri;
    *request.version_mut() = match cluster.config.protocol {
        switchyard_config::UpstreamProtocol::Http1 => Version::HTTP_11,
        switchyard_config::UpstreamProtocol::Http2 => Version::HTTP_2,
    };
    let headers = request.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/graphql-response+json, application/json"),
    );
    Ok(request)
}

/// A subgraph's answer: any JSON object is a GraphQL response (errors included); anything
/// else is an HTTP failure.
fn decode(status: u16, bytes: Bytes) -> Result<Decoded, FetchError> {
    let parsed = Decoded::from_slice(&bytes).ok();
    match parsed {
        Some(answer) if answer.is_object() && (status < 500 || answer.has_data()) => Ok(answer),
        _ if status >= 300 => Err(failed(
            &format!("subgraph answered with HTTP status {status}"),
            "SUBREQUEST_HTTP_ERROR",
        )),
        _ => Err(failed(
            "subgraph answered with something other than a JSON object",
            "SUBREQUEST_MALFORMED_RESPONSE",
        )),
    }
}

fn outcome(kind: OutcomeKind, utilization: Option<f64>) -> Outcome {
    Outcome { kind, utilization }
}

fn failed(message: &str, code: &'static str) -> FetchError {
    FetchError {
        message: message.to_owned(),
        code,
    }
}
