//! The forward phase: pick an endpoint, send the request over the cluster's pooled client with
//! a deadline, retry eligible failures on a different endpoint within the budget, and hand
//! back the upstream response with its headers cleaned.

use crate::body::{BodyWatch, ClientBody, ProxyBody, RequestBody};
use crate::capacity::Held;
use crate::cluster::Cluster;
use crate::fault::Fault;
use crate::headers::{X_REQUEST_ID, add_forwarding, remove_hop_by_hop};
use crate::membership::Membership;
use crate::pipeline::RequestCtx;
use crate::runtime::{ProxyRoute, fill_template};
use http::uri::PathAndQuery;
use http::{HeaderMap, Method, Request, Response, Uri, Version, header};
use hyper::body::Incoming;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use switchyard_balance::{Outcome, OutcomeKind, PickContext};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

/// What one attempt came to.
enum Attempt {
    Answered(Response<Incoming>),
    Failed(Fault),
}

pub async fn forward(
    route: &ProxyRoute,
    ctx: &mut RequestCtx,
    req: Request<ClientBody>,
    params: &[(String, String)],
) -> Result<Response<ProxyBody>, Fault> {
    let cluster = &route.cluster;
    if ctx.logging {
        ctx.log.cluster = Some(cluster.config.name.clone());
    }
    let (parts, body) = req.into_parts();
    check_declared_length(&parts.headers, ctx.max_body)?;
    let path = upstream_path(route, &parts.uri, params)?;
    let hash = crate::affinity::hash(&cluster.config.balancing, &parts.headers, ctx.client);
    let mut headers = parts.headers;
    if let Some(host) = absolute_form_host(&parts.uri, parts.version) {
        headers.insert(header::HOST, host);
    }
    let headers = upstream_headers(route, ctx, headers);
    let watch = Arc::new(BodyWatch::default());
    ctx.log.request_body = Some(Arc::clone(&watch));
    let body = RequestBody::new(body, ctx.max_body, Arc::clone(&watch));
    let retryable = is_idempotent(&parts.method) && http_body::Body::is_end_stream(&body);
    let upstream = Upstream {
        cluster,
        membership: cluster.membership(),
        hash,
        method: parts.method,
        path,
        watch,
    };
    cluster.retry_budget.record_request();
    let deadline = Instant::now() + route.timeout;
    let permit = tokio::time::timeout_at(deadline, cluster.admit())
        .await
        .map_err(|_| Fault::UpstreamTimeout)?
        .map_err(|_| Fault::Overloaded)?;
    let (response, held) = upstream
        .send(ctx, body, headers, retryable, deadline)
        .await?;
    Ok(downstream_response(route, response, held, permit))
}

/// The parts of the upstream request that every attempt reuses.
struct Upstream<'a> {
    cluster: &'a Cluster,
    membership: Arc<Membership>,
    hash: Option<u64>,
    method: Method,
    path: PathAndQuery,
    watch: Arc<BodyWatch>,
}

impl Upstream<'_> {
    /// Tries endpoints until one answers acceptably, retries run out, or the deadline passes.
    async fn send(
        &self,
        ctx: &mut RequestCtx,
        body: RequestBody,
        mut headers: HeaderMap,
        retryable: bool,
        deadline: Instant,
    ) -> Result<(Response<Incoming>, Held), Fault> {
        let policy = &self.cluster.config.retries;
        let mut tried: Vec<u64> = Vec::new();
        let mut body = Some(body);
        loop {
            let pick_ctx = PickContext {
                tried: &tried,
                hash: self.hash,
            };
            let set = &self.membership.set;
            let mut held = self.pick(&pick_ctx, deadline).await?;
            let endpoint = held.pick().endpoint();
            let endpoint_id = endpoint.id;
            tried.push(endpoint_id);
            ctx.log.attempts += 1;
            if ctx.logging {
                ctx.log.endpoint = Some(endpoint.address.clone());
            }
            let body = body
                .take()
                .unwrap_or_else(|| RequestBody::empty(Arc::clone(&self.watch)));
            let may_retry =
                retryable && tried.len() <= policy.attempts as usize && tried.len() < set.len();
            // Copy the headers only when another attempt may need them.
            let attempt_headers = if may_retry {
                headers.clone()
            } else {
                std::mem::take(&mut headers)
            };
            let started = Instant::now();
            let outcome = self
                .attempt(endpoint_id, body, attempt_headers, deadline)
                .await;
            ctx.log.upstream_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
            self.record(&mut held, &outcome);
            match outcome {
                Attempt::Answered(response) => {
                    let status = response.status().as_u16();
                    if may_retry
                        && policy.on.status(status)
                        && self.cluster.retry_budget.try_retry()
                    {
                        continue;
                    }
                    return Ok((response, held));
                }
                Attempt::Failed(fault) => {
                    if may_retry && self.retries_on(fault) && self.cluster.retry_budget.try_retry()
                    {
                        continue;
                    }
                    return Err(fault);
                }
            }
        }
    }

    /// Picks an endpoint, waiting for room under its learned capacity (`capacity.rs`).
    async fn pick(&self, ctx: &PickContext<'_>, deadline: Instant) -> Result<Held, Fault> {
        crate::capacity::pick(self.cluster, &self.membership, ctx, deadline)
            .await
            .ok_or(Fault::NoEndpoint)
    }

    /// Tells the balancer how the attempt went, and logs an ejection if it caused one.
    fn record(&self, held: &mut Held, outcome: &Attempt) {
        let Some(kind) = outcome_kind(outcome) else {
            return;
        };
        let utilization = match outcome {
            Attempt::Answered(r) => {
                reported_utilization(r, &self.cluster.config.balancing.utilization_header)
            }
            Attempt::Failed(_) => None,
        };
        if held.record(&self.membership.set, Outcome { kind, utilization }) {
            self.cluster.events.ejections.inc();
            tracing::warn!(
                cluster = %self.cluster.config.name,
                endpoint = %held.pick().endpoint().address,
                outcome = ?kind,
                "ejected after consecutive failures"
            );
        }
    }

    fn retries_on(&self, fault: Fault) -> bool {
        let on = &self.cluster.config.retries.on;
        match fault {
            Fault::UpstreamConnect => on.connect_failure,
            Fault::UpstreamReset => on.reset,
            _ => false,
        }
    }

    async fn attempt(
        &self,
        endpoint: u64,
        body: RequestBody,
        headers: HeaderMap,
        deadline: Instant,
    ) -> Attempt {
        let request = match self.request(endpoint, body, headers) {
            Ok(request) => request,
            Err(fault) => return Attempt::Failed(fault),
        };
        match tokio::time::timeout_at(deadline, self.cluster.client.request(request)).await {
            Err(_) => Attempt::Failed(Fault::UpstreamTimeout),
            Ok(Ok(response)) => Attempt::Answered(response),
            Ok(Err(e)) => Attempt::Failed(self.classify(&e)),
        }
    }

    /// A client-side body problem is the client's fault, not the upstream's.
    fn classify(&self, e: &hyper_util::client::legacy::Error) -> Fault {
        if self.watch.too_large.load(Ordering::Relaxed) {
            Fault::BodyTooLarge
        } else if self.watch.malformed.load(Ordering::Relaxed) {
            Fault::MalformedBody
        } else if e.is_connect() {
            Fault::UpstreamConnect
        } else {
            Fault::UpstreamReset
        }
    }

    fn request(
        &self,
        endpoint: u64,
        body: RequestBody,
        headers: HeaderMap,
    ) -> Result<Request<RequestBody>, Fault> {
        let authority = self
            .membership
            .authority(endpoint)
            .ok_or(Fault::UpstreamConnect)?;
        let uri = Uri::builder()
            .scheme("http")
            .authority(authority)
            .path_and_query(self.path.clone())
            .build()
            .map_err(|_| Fault::BadPath)?;
        let mut request = Request::new(body);
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = uri;
        *request.version_mut() = match self.cluster.config.protocol {
            switchyard_config::UpstreamProtocol::Http1 => Version::HTTP_11,
            switchyard_config::UpstreamProtocol::Http2 => Version::HTTP_2,
        };
        *request.headers_mut() = headers;
        Ok(request)
    }
}

/// The load the endpoint reported on its response (ORCA `endpoint-load-metrics`), if any.
fn reported_utilization(response: &Response<Incoming>, header: &str) -> Option<f64> {
    switchyard_orca::parse(response.headers().get(header)?.as_bytes())
}

/// What the balancer learns from an attempt; `None` when the client, not the endpoint, failed.
fn outcome_kind(attempt: &Attempt) -> Option<OutcomeKind> {
    Some(match attempt {
        Attempt::Answered(r) => match r.status().as_u16() {
            503 | 429 => OutcomeKind::Overloaded,
            500..=599 => OutcomeKind::ServerError,
            _ => OutcomeKind::Success,
        },
        Attempt::Failed(Fault::UpstreamConnect) => OutcomeKind::ConnectFailure,
        Attempt::Failed(Fault::UpstreamReset) => OutcomeKind::Reset,
        Attempt::Failed(Fault::UpstreamTimeout) => OutcomeKind::Timeout,
        Attempt::Failed(_) => return None,
    })
}

fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// A declared Content-Length over the limit is refused before anything is sent.
fn check_declared_length(headers: &HeaderMap, limit: Option<u64>) -> Result<(), Fault> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match (declared, limit) {
        (Some(length), Some(limit)) if length > limit => Err(Fault::BodyTooLarge),
        _ => Ok(()),
    }
}

/// The path sent upstream: rewritten from the template, or with the prefix stripped.
fn upstream_path(
    route: &ProxyRoute,
    uri: &Uri,
    params: &[(String, String)],
) -> Result<PathAndQuery, Fault> {
    let path = uri.path();
    let new_path = if let Some(template) = &route.rewrite {
        fill_template(template, params)
    } else if let Some(prefix) = &route.strip_prefix {
        let rest = path
            .strip_prefix(prefix.trim_end_matches('/'))
            .unwrap_or(path);
        if rest.starts_with('/') {
            rest.to_owned()
        } else {
            format!("/{rest}")
        }
    } else {
        return Ok(uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/")));
    };
    let full = match uri.query() {
        Some(query) => format!("{new_path}?{query}"),
        None => new_path,
    };
    full.parse().map_err(|_| Fault::BadPath)
}

/// RFC 9112 3.2.2: for an HTTP/1 absolute-form target, the Host sent on is the target's
/// authority (which routing used), never the client's Host header.
fn absolute_form_host(uri: &Uri, version: Version) -> Option<http::HeaderValue> {
    if version == Version::HTTP_2 {
        return None;
    }
    let authority = uri.authority()?;
    let host = match authority.port() {
        Some(port) => format!("{}:{port}", authority.host()),
        None => authority.host().to_owned(),
    };
    http::HeaderValue::from_str(&host).ok()
}

fn upstream_headers(route: &ProxyRoute, ctx: &RequestCtx, mut headers: HeaderMap) -> HeaderMap {
    remove_hop_by_hop(&mut headers);
    add_forwarding(&mut headers, ctx.client, &ctx.client_ip, &ctx.host, "http");
    headers.insert(X_REQUEST_ID.clone(), ctx.request_id.clone());
    if let Some(host) = &route.host_rewrite {
        headers.insert(header::HOST, host.clone());
    } else if !headers.contains_key(header::HOST)
        && let Ok(host) = http::HeaderValue::from_str(&ctx.host)
    {
        headers.insert(header::HOST, host);
    }
    route.request_headers.apply(&mut headers);
    headers
}

fn downstream_response(
    route: &ProxyRoute,
    response: Response<Incoming>,
    held: Held,
    permit: OwnedSemaphorePermit,
) -> Response<ProxyBody> {
    let (mut parts, body) = response.into_parts();
    remove_hop_by_hop(&mut parts.headers);
    parts
        .headers
        .remove(route.cluster.config.balancing.utilization_header.as_str());
    route.response_headers.apply(&mut parts.headers);
    Response::from_parts(parts, ProxyBody::upstream(body, held, permit))
}
