//! The JSON the API answers with, built from the store's records.

use std::time::SystemTime;

use serde_json::{Value, json};

use crate::{SubgraphChange, VersionRecord, VersionSummary};

/// RFC 3339 in UTC with milliseconds, e.g. `2026-12-01T04:30:00.123Z`.
fn time(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

fn change(c: &SubgraphChange) -> Value {
    json!({"subgraph": c.subgraph, "kind": c.kind.as_str(), "sdl_diff": c.sdl_diff})
}

/// One history entry: number, id, author, message, time and the diff summary.
pub(crate) fn summary(s: &VersionSummary) -> Value {
    json!({
        "version": s.number,
        "id": s.id,
        "author": s.author,
        "message": s.message,
        "created_at": time(s.created_at),
        "changes": s.changes.iter().map(change).collect::<Vec<_>>(),
    })
}

/// A whole version: the summary, its subgraphs and its supergraph.
pub(crate) fn record(r: &VersionRecord) -> Value {
    let mut value = summary(&r.summary);
    let subgraphs: Vec<Value> = r
        .subgraphs
        .iter()
        .map(|s| json!({"name": s.name, "url": s.url, "sdl": s.sdl}))
        .collect();
    value["subgraphs"] = Value::Array(subgraphs);
    value["supergraph"] = Value::String(r.supergraph.clone());
    value
}
