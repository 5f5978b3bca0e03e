//! Requests to answers: authorization, routing, reading the body, and one function per route.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_compose::{Subgraph, compose};

use super::body::{author_and_message, json_answer, read_json};
use super::problem::{Answer, Problem};
use super::route::Route;
use super::{Registry, auth, check, introspect, view};
use crate::{Compose, ComposeError, Delete, Publish, Published, SubgraphRecord, VariantRef};

/// Answers one request; every failure becomes a problem+json answer.
pub(crate) async fn answer(registry: &Registry, req: Request<Incoming>) -> Answer {
    match route(registry, req).await {
        Ok(answer) => answer,
        Err(problem) => problem.respond(),
    }
}

async fn route(registry: &Registry, req: Request<Incoming>) -> Result<Answer, Problem> {
    let route = Route::parse(req.uri().path())?;
    let method = req.method().clone();
    let read = method == Method::GET || method == Method::HEAD;
    if !route.accepts(&method) {
        return Err(Problem::method_not_allowed(route.allow()));
    }
    if !read
        && let Some(token) = &registry.config.token
        && !auth::authorized(req.headers(), token)
    {
        return Err(Problem::unauthorized());
    }
    match (&route, &method) {
        (Route::Graphs, _) if read => list_graphs(registry).await,
        (Route::Variants(graph), _) if read => list_variants(registry, graph).await,
        (Route::Supergraph(at), _) if read => supergraph(registry, at, req.headers()).await,
        (Route::Versions(at), _) if read => history(registry, at, req.uri().query()).await,
        (Route::Version(at, n), _) if read => version(registry, at, *n).await,
        (Route::Subgraph(at, name), &Method::PUT) => publish(registry, at, name, req).await,
        (Route::Subgraph(at, name), &Method::DELETE) => delete(registry, at, name, req).await,
        (Route::Rollback(at), &Method::POST) => rollback(registry, at, req).await,
        (Route::Check(at), &Method::POST) => check::check(registry, at, req).await,
        _ => Err(Problem::method_not_allowed(route.allow())),
    }
}

async fn list_graphs(registry: &Registry) -> Result<Answer, Problem> {
    let graphs = registry.store.list_graphs().await?;
    Ok(json_answer(StatusCode::OK, &json!({ "graphs": graphs })))
}

async fn list_variants(registry: &Registry, graph: &str) -> Result<Answer, Problem> {
    let variants = registry.store.list_variants(graph).await?;
    if variants.is_empty() {
        return Err(Problem::not_found(format!("unknown graph {graph:?}")));
    }
    Ok(json_answer(
        StatusCode::OK,
        &json!({ "graph": graph, "variants": variants }),
    ))
}

/// What gateways poll: the version number first (one indexed row), the SDL only when changed.
async fn supergraph(
    registry: &Registry,
    at: &VariantRef,
    headers: &HeaderMap,
) -> Result<Answer, Problem> {
    let number = registry.store.current_version_number(at).await?;
    if number == 0 {
        return Err(Problem::not_found(format!("{at} has no version yet")));
    }
    let etag = format!("\"{number}\"");
    if matches_etag(headers, &etag) {
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        tag(response.headers_mut(), &etag, number);
        return Ok(response);
    }
    let Some(current) = registry.store.current(at).await? else {
        return Err(Problem::not_found(format!("{at} has no version yet")));
    };
    let mut response = Response::new(Full::new(Bytes::from(current.supergraph)));
    let headers = response.headers_mut();
    // The version read may be newer than the number polled above: tag what is sent.
    let number = current.summary.number;
    tag(headers, &format!("\"{number}\""), number);
    let kind = HeaderValue::from_static("application/graphql; charset=utf-8");
    headers.insert(header::CONTENT_TYPE, kind);
    Ok(response)
}

fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().trim_start_matches("W/"))
        .any(|v| v == etag || v == "*")
}

fn tag(headers: &mut HeaderMap, etag: &str, number: u64) {
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert("x-registry-version", HeaderValue::from(number));
}

async fn history(
    registry: &Registry,
    at: &VariantRef,
    query: Option<&str>,
) -> Result<Answer, Problem> {
    let mut limit = 20;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("limit", n)) => {
                limit = n
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| Problem::bad_request("limit must be a number from 1 to 1000"))?;
            }
            _ => return Err(Problem::bad_request(format!("unknown parameter {pair:?}"))),
        }
    }
    let versions = registry.store.history(at, limit).await?;
    let list: Vec<Value> = versions.iter().map(view::summary).collect();
    let body = json!({ "graph": at.graph, "variant": at.variant, "versions": list });
    Ok(json_answer(StatusCode::OK, &body))
}

async fn version(registry: &Registry, at: &VariantRef, number: u64) -> Result<Answer, Problem> {
    // An unknown variant answers its own 404 before an unknown version.
    registry.store.current_version_number(at).await?;
    match registry.store.version(at, number).await? {
        Some(record) => Ok(json_answer(StatusCode::OK, &view::record(&record))),
        None => Err(Problem::not_found(format!("{at} has no version {number}"))),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishBody {
    url: String,
    #[serde(default)]
    sdl: Option<String>,
    #[serde(default)]
    introspect: bool,
    #[serde(default)]
    message: Option<String>,
}

async fn publish(
    registry: &Registry,
    at: &VariantRef,
    name: &str,
    req: Request<Incoming>,
) -> Result<Answer, Problem> {
    let (author, header_message) = author_and_message(req.headers())?;
    let body: PublishBody = read_json(registry, req).await?;
    if body.url.trim().is_empty() {
        return Err(Problem::bad_request("url must not be empty"));
    }
    if body.introspect && !introspect::allowed(&body.url, &registry.config) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "introspection_forbidden",
            format!(
                "this registry may not introspect {}: its host is not in the registry's \
                 introspection allow-list; publish the SDL instead",
                body.url
            ),
        ));
    }
    let sdl = match (body.sdl, body.introspect) {
        (Some(sdl), false) => sdl,
        (None, true) => introspect::fetch_sdl(&body.url, &registry.config)
            .await
            .map_err(|e| Problem::new(StatusCode::BAD_GATEWAY, "introspection_failed", e))?,
        _ => {
            return Err(Problem::bad_request(
                "give either \"sdl\" or \"introspect\": true",
            ));
        }
    };
    let change = Publish {
        subgraph: name.to_owned(),
        url: body.url,
        sdl,
        author,
        message: header_message.or(body.message).unwrap_or_default(),
    };
    registry.store.ensure_variant(at).await?;
    let published = registry
        .store
        .publish(at, change, composer())
        .await
        .map_err(|e| Problem::store(e, at))?;
    Ok(published_answer(published))
}

async fn delete(
    registry: &Registry,
    at: &VariantRef,
    name: &str,
    req: Request<Incoming>,
) -> Result<Answer, Problem> {
    let (author, message) = author_and_message(req.headers())?;
    let change = Delete {
        subgraph: name.to_owned(),
        author,
        message: message.unwrap_or_default(),
    };
    let published = registry
        .store
        .delete_subgraph(at, change, composer())
        .await
        .map_err(|e| Problem::store(e, at))?;
    Ok(published_answer(published))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    to: u64,
}

async fn rollback(
    registry: &Registry,
    at: &VariantRef,
    req: Request<Incoming>,
) -> Result<Answer, Problem> {
    let (author, _) = author_and_message(req.headers())?;
    let body: RollbackBody = read_json(registry, req).await?;
    let published = registry.store.rollback(at, body.to, &author).await?;
    Ok(published_answer(published))
}

/// The composition the store runs inside its serialized section.
fn composer() -> Compose {
    Box::new(|records: &[SubgraphRecord]| {
        let subgraphs: Vec<Subgraph> = records
            .iter()
            .map(|r| Subgraph {
                name: r.name.clone(),
                url: r.url.clone(),
                sdl: r.sdl.clone(),
            })
            .collect();
        compose(&subgraphs)
            .map(|composed| composed.supergraph_sdl)
            .map_err(|errors| -> ComposeError { Box::new(errors) })
    })
}

fn published_answer(published: Published) -> Answer {
    let status = if published.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let body = json!({ "version": published.number, "created": published.created });
    json_answer(status, &body)
}
