//! `POST /graphs/{g}/variants/{v}/check`: what publishing a subgraph would break, without
//! publishing it ([`crate::check()`] against the variant's current subgraphs).

use http::{Request, StatusCode};
use hyper::body::Incoming;
use serde::Deserialize;
use switchyard_compose::Subgraph;

use super::Registry;
use super::body::{json_answer, read_json};
use super::problem::{Answer, Problem};
use crate::{CheckInput, VariantRef, check_name};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckBody {
    /// The subgraph to add or replace.
    name: String,
    sdl: String,
    /// Default: the subgraph's current URL.
    #[serde(default)]
    url: Option<String>,
    /// Executable documents; a breaking change counts only if one of them uses it.
    #[serde(default)]
    operations: Option<Vec<String>>,
}

pub(crate) async fn check(
    registry: &Registry,
    at: &VariantRef,
    req: Request<Incoming>,
) -> Result<Answer, Problem> {
    let body: CheckBody = read_json(registry, req).await?;
    check_name(&body.name).map_err(|e| Problem::bad_request(e.to_string()))?;
    let current: Vec<Subgraph> = registry
        .store
        .current(at)
        .await?
        .map(|version| version.subgraphs)
        .unwrap_or_default()
        .into_iter()
        .map(|s| Subgraph {
            name: s.name,
            url: s.url,
            sdl: s.sdl,
        })
        .collect();
    let url = body.url.unwrap_or_else(|| {
        current.iter().find(|s| s.name == body.name).map_or_else(
            || format!("http://{}.invalid/graphql", body.name),
            |s| s.url.clone(),
        )
    });
    let proposed = Subgraph {
        name: body.name,
        url,
        sdl: body.sdl,
    };
    // Composition and diffing are CPU work: off the reactor.
    let report = tokio::task::spawn_blocking(move || {
        crate::check(CheckInput {
            current: &current,
            proposed,
            operations: body.operations.as_deref(),
        })
    })
    .await
    .map_err(|e| Problem::from(crate::StoreError::Task(e)))?;
    let value = serde_json::to_value(&report)
        .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    Ok(json_answer(StatusCode::OK, &value))
}
