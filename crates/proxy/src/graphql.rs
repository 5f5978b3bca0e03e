//! The GraphQL action: GraphQL over HTTP (POST JSON, GET for queries) in front of the federated
//! gateway, with a deadline for the whole operation.

use crate::body::{ClientBody, ProxyBody};
use crate::fault::Fault;
use crate::pipeline::RequestCtx;
use crate::subgraph::{ClusterSubgraphs, DeadlineClient};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use std::sync::Arc;
use std::time::Duration;
use switchyard_graphql::{Gateway, Request as GraphQLRequest, request_error};

/// Largest GraphQL request body accepted when the listener sets no limit.
const DEFAULT_MAX_BODY: u64 = 2 << 20;

/// A compiled `graphql` route.
#[derive(Debug)]
pub struct GraphQLRoute {
    pub gateway: Arc<Gateway>,
    /// The supergraph SDL the gateway serves (to keep the gateway over reloads).
    pub sdl: String,
    pub supergraph_path: std::path::PathBuf,
    pub persisted_queries: Option<switchyard_config::PersistedQueryManifest>,
    pub subgraphs: ClusterSubgraphs,
    /// `subgraphs.propagates_headers()`, computed once.
    pub propagates_headers: bool,
    pub timeout: Duration,
}

/// The two response media types of GraphQL over HTTP.
#[derive(Clone, Copy, PartialEq)]
enum MediaType {
    /// `application/graphql-response+json`: request errors get 4xx.
    GraphQLResponse,
    /// `application/json`: every well-formed GraphQL response is 200.
    Json,
}

pub async fn serve(
    route: &GraphQLRoute,
    ctx: &mut RequestCtx,
    req: Request<ClientBody>,
) -> Result<Response<ProxyBody>, Fault> {
    let media = media_type(req.headers());
    let method = req.method().clone();
    // Copied only when some subgraph call propagates client headers (decided per config).
    let client_headers = if route.propagates_headers {
        req.headers().clone()
    } else {
        http::HeaderMap::new()
    };
    let mut request = match read_request(ctx, req).await? {
        Ok(request) => request,
        Err(message) => return Ok(reply(media, request_error(&message, "BAD_REQUEST"))),
    };
    if let Err(response) = route.gateway.resolve_persisted(&mut request) {
        return Ok(reply(media, response));
    }
    let prepared = match prepare(&route.gateway, &request).await {
        Ok(p) => p,
        Err(response) => return Ok(reply(media, response)),
    };
    if method == Method::GET && !prepared.operation().is_query() {
        return Ok(method_not_allowed("only queries may be sent with GET"));
    }
    let deadline = tokio::time::Instant::now() + route.timeout;
    let client = DeadlineClient {
        subgraphs: &route.subgraphs,
        deadline,
        client_headers: &client_headers,
        collected: std::sync::Mutex::new(Vec::new()),
    };
    let run = route.gateway.run(&prepared, &request.variables, &client);
    match tokio::time::timeout_at(deadline, run).await {
        Ok(response) => {
            let mut out = reply(media, response);
            let collected = client
                .collected
                .into_inner()
                .unwrap_or_else(|p| p.into_inner());
            for (name, value) in collected {
                out.headers_mut().append(name, value);
            }
            Ok(out)
        }
        Err(_) => {
            let mut response = request_error("the operation timed out", "GATEWAY_TIMEOUT");
            response.status = 504;
            Ok(reply(media, response))
        }
    }
}

/// The request's validated operation and plan: from the cache, or planned on a blocking thread
/// so that a large operation never stalls the reactor.
async fn prepare(
    gateway: &Arc<Gateway>,
    request: &GraphQLRequest,
) -> Result<Arc<switchyard_graphql::Prepared>, switchyard_graphql::Response> {
    let key = gateway.plan_key(request)?;
    if let Some(hit) = gateway.cached(&key) {
        return Ok(hit);
    }
    let gateway = Arc::clone(gateway);
    match tokio::task::spawn_blocking(move || gateway.prepare_uncached(key)).await {
        Ok(result) => result,
        Err(_) => Err(request_error(
            "query planning failed",
            "QUERY_PLANNING_FAILED",
        )),
    }
}

/// The GraphQL request of a GET or POST; `Ok(Err(message))` for a request that is not one.
async fn read_request(
    ctx: &RequestCtx,
    req: Request<ClientBody>,
) -> Result<Result<GraphQLRequest, String>, Fault> {
    match *req.method() {
        Method::GET => {
            Ok(GraphQLRequest::from_query(req.uri().query().unwrap_or(""))
                .map_err(|e| e.to_string()))
        }
        Method::POST => {
            let json = req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json"));
            if !json {
                return Ok(Err(
                    "POST requests need Content-Type: application/json".into()
                ));
            }
            let limit = ctx.max_body.unwrap_or(DEFAULT_MAX_BODY);
            let body = Limited::new(req.into_body(), limit as usize)
                .collect()
                .await
                .map_err(
                    |e| match e.downcast_ref::<http_body_util::LengthLimitError>() {
                        Some(_) => Fault::BodyTooLarge,
                        None => Fault::MalformedBody,
                    },
                )?
                .to_bytes();
            Ok(GraphQLRequest::from_json(&body).map_err(|e| e.to_string()))
        }
        _ => Err(Fault::MethodNotAllowed),
    }
}

fn media_type(headers: &http::HeaderMap) -> MediaType {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.contains("application/json") && !accept.contains("application/graphql-response+json")
    {
        MediaType::Json
    } else {
        MediaType::GraphQLResponse
    }
}

fn reply(media: MediaType, response: switchyard_graphql::Response) -> Response<ProxyBody> {
    let (status, content_type) = match media {
        MediaType::GraphQLResponse => (response.status, "application/graphql-response+json"),
        MediaType::Json if response.status == 504 => (504, "application/json"),
        MediaType::Json => (200, "application/json"),
    };
    let mut out = Response::new(ProxyBody::full(response.body));
    *out.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    out.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    out
}

fn method_not_allowed(message: &str) -> Response<ProxyBody> {
    let mut response = reply(
        MediaType::GraphQLResponse,
        request_error(message, "METHOD_NOT_ALLOWED"),
    );
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    response
}
