//! The request pipeline: one short driver calling the phases in order (check, route, act),
//! then the one place that turns a fault into a response and the access-log wrapper.

use crate::access_log::{LogRecord, LoggedBody};
use crate::body::{ClientBody, ProxyBody};
use crate::fault::Fault;
use crate::forward::forward;
use crate::framing::AmbiguousFraming;
use crate::headers::{X_REQUEST_ID, request_id};
use crate::metrics::RouteMetrics;
use crate::policies;
use crate::router::{Params, RouteQuery};
use crate::runtime::{RouteAction, Runtime, fill_string};
use http::{HeaderValue, Request, Response, Version, header};
use hyper::body::Incoming;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use switchyard_policy::Answer;

/// Per-request state, typed, filled in as the request moves through the phases.
#[derive(Debug)]
pub struct RequestCtx {
    pub start: Instant,
    pub client: SocketAddr,
    pub client_ip: HeaderValue,
    pub host: String,
    pub request_id: HeaderValue,
    pub max_body: Option<u64>,
    /// Whether the access log is on; the log record is filled only then.
    pub logging: bool,
    pub log: LogRecord,
    /// The matched route's counters (none matched: the runtime's `unrouted`).
    pub route_metrics: Option<Arc<RouteMetrics>>,
}

/// The client end of a connection, with what every request on it needs, formatted once.
#[derive(Debug, Clone)]
pub struct Peer {
    pub address: SocketAddr,
    /// The client IP as a header value, for `X-Forwarded-For`.
    pub ip: HeaderValue,
    /// The listener the connection came in on (its policies apply to routes without their own).
    pub listener: Arc<str>,
}

impl Peer {
    pub fn new(address: SocketAddr, listener: &str) -> Self {
        let ip = HeaderValue::from_str(&address.ip().to_string())
            .unwrap_or(HeaderValue::from_static("unknown"));
        Self {
            address,
            ip,
            listener: Arc::from(listener),
        }
    }
}

/// Handles one request against the runtime current when it arrived.
pub async fn handle(
    runtime: Arc<Runtime>,
    peer: Peer,
    max_body: Option<u64>,
    req: Request<Incoming>,
) -> Response<LoggedBody> {
    let listener = Arc::clone(&peer.listener);
    let mut ctx = RequestCtx {
        start: Instant::now(),
        client: peer.address,
        client_ip: peer.ip,
        host: String::new(),
        request_id: request_id(req.headers()),
        max_body,
        logging: runtime.access_log.is_on(),
        log: LogRecord::default(),
        route_metrics: None,
    };
    if ctx.logging {
        describe(&mut ctx, &req);
    }
    let response = match run(
        &runtime,
        &listener,
        &mut ctx,
        req.map(ClientBody::Streaming),
    )
    .await
    {
        Ok(response) => response,
        Err(fault) => {
            ctx.log.reason = Some(fault.code());
            fault.respond()
        }
    };
    finish(&runtime, ctx, response)
}

async fn run(
    runtime: &Runtime,
    listener: &str,
    ctx: &mut RequestCtx,
    mut req: Request<ClientBody>,
) -> Result<Response<ProxyBody>, Fault> {
    check_request(&req)?;
    ctx.host = request_host(&req).ok_or(Fault::BadHost)?;
    if ctx.logging {
        ctx.log.host.clone_from(&ctx.host);
    }
    let query = RouteQuery {
        host: &ctx.host,
        path: req.uri().path(),
        query: req.uri().query(),
        method: req.method().as_str(),
        headers: req.headers(),
    };
    let (route, routed, params) = runtime.routes.find(&query).ok_or(Fault::RouteNotFound)?;
    if ctx.logging {
        ctx.log.route = Some(route.name.clone());
    }
    ctx.route_metrics = Some(Arc::clone(&routed.metrics));
    let chain = match &routed.policies {
        Some(chain) => Some(chain),
        None if runtime.listener_policies.is_empty() => None,
        None => runtime.listener_policies.get(listener),
    };
    let Some(chain) = chain.filter(|c| !c.is_empty()) else {
        return act(&routed.action, ctx, req, params).await;
    };
    let answered = |answer: Box<Answer>| {
        runtime.metrics.policy_answered(&route.name, &answer);
        Ok(policies::respond(*answer))
    };
    let mut passed = match policies::apply(chain, ctx, &mut req, &route.name, &params).await {
        Ok(passed) => passed,
        Err(answer) => return answered(answer),
    };
    if let Some(check) = passed.body_check.take() {
        req = match policies::check_body(&check, ctx, req).await {
            Ok(req) => req,
            Err(answer) => return answered(answer),
        };
    }
    let response_check = passed.response_check.take();
    let mut response = match act(&routed.action, ctx, req, params).await {
        Ok(response) => match response_check {
            Some(check) => policies::check_response(check, response),
            None => response,
        },
        // A fault answered here still carries the policies' headers (CORS above all).
        Err(fault) => {
            ctx.log.reason = Some(fault.code());
            fault.respond()
        }
    };
    policies::finish(passed, response.headers_mut());
    Ok(response)
}

async fn act(
    action: &RouteAction,
    ctx: &mut RequestCtx,
    req: Request<ClientBody>,
    params: Params,
) -> Result<Response<ProxyBody>, Fault> {
    match action {
        RouteAction::Proxy(route) => forward(route, ctx, req, &params).await,
        RouteAction::GraphQL(route) => crate::graphql::serve(route, ctx, req).await,
        RouteAction::Respond(r) => {
            let mut response = Response::new(ProxyBody::full(r.body.clone()));
            *response.status_mut() = r.status;
            for (name, value) in &r.headers {
                response.headers_mut().insert(name.clone(), value.clone());
            }
            Ok(response)
        }
        RouteAction::Redirect { to, status } => {
            let location = fill_string(to, &params);
            let mut response = Response::new(ProxyBody::empty());
            *response.status_mut() = *status;
            let value = HeaderValue::from_str(&location).map_err(|_| Fault::BadPath)?;
            response.headers_mut().insert(header::LOCATION, value);
            Ok(response)
        }
    }
}

/// RFC 9112 framing and Host checks that hyper leaves to us.
fn check_request<B>(req: &Request<B>) -> Result<(), Fault> {
    let headers = req.headers();
    // hyper removes Content-Length when Transfer-Encoding is present, so the listener marks
    // such requests from their bytes (framing.rs).
    if req.extensions().get::<AmbiguousFraming>().is_some()
        || headers.contains_key(header::TRANSFER_ENCODING)
            && headers.contains_key(header::CONTENT_LENGTH)
    {
        return Err(Fault::AmbiguousFraming);
    }
    let hosts = headers.get_all(header::HOST).iter().count();
    // RFC 9112 3.2: every HTTP/1.1 request needs a Host, absolute-form targets included.
    let needs_host = req.version() == Version::HTTP_11;
    if hosts > 1 || (needs_host && hosts == 0) {
        return Err(Fault::BadHost);
    }
    if !req.uri().path().starts_with('/') {
        return Err(Fault::BadPath);
    }
    Ok(())
}

/// The request's host, lower-case, without port: the URI authority (HTTP/2, absolute-form)
/// or else the Host header.
fn request_host<B>(req: &Request<B>) -> Option<String> {
    let raw = match req.uri().authority() {
        Some(authority) => authority.host(),
        None => match req.headers().get(header::HOST) {
            Some(value) => {
                let text = value.to_str().ok()?;
                let authority: http::uri::Authority = text.parse().ok()?;
                return Some(normalize_host(authority.host()));
            }
            None => "",
        },
    };
    Some(normalize_host(raw))
}

fn normalize_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn describe<B>(ctx: &mut RequestCtx, req: &Request<B>) {
    let log = &mut ctx.log;
    log.method = req.method().as_str().to_owned();
    log.path = req.uri().path().to_owned();
    log.protocol = match req.version() {
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP/1.1",
    };
    log.client = ctx.client.to_string();
    log.request_id = ctx.request_id.to_str().unwrap_or_default().to_owned();
}

fn finish(
    runtime: &Runtime,
    mut ctx: RequestCtx,
    response: Response<ProxyBody>,
) -> Response<LoggedBody> {
    let (mut parts, body) = response.into_parts();
    parts
        .headers
        .insert(X_REQUEST_ID.clone(), ctx.request_id.clone());
    ctx.log.status = parts.status.as_u16();
    let route = ctx.route_metrics.as_deref().unwrap_or(&runtime.unrouted);
    route.observe(parts.status, ctx.start.elapsed().as_secs_f64());
    let body = LoggedBody::new(body, &runtime.access_log, ctx.log, ctx.start);
    Response::from_parts(parts, body)
}
