//! Persisted queries: automatic (clients send a query's SHA-256 instead of its text once the
//! gateway has seen it, `extensions.persistedQuery` version 1) and a manifest of known operations
//! that can also serve as an allow-list.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use apollo_compiler::response::JsonValue;
use sha2::{Digest, Sha256};

use crate::request::Request;

/// Most automatically persisted queries remembered; the store starts over when full.
const CAPACITY: usize = 4096;

/// Known operations (from a manifest) and automatically persisted ones, by id.
#[derive(Debug, Default)]
pub struct PersistedQueries {
    learned: Mutex<HashMap<String, String>>,
    manifest: HashMap<String, String>,
    bodies: HashSet<String>,
    /// Allow-list mode: only the manifest's operations run.
    only: bool,
}

/// Why a persisted-query request cannot be answered (codes as clients expect them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApqError {
    /// The hash is unknown: the client retries with the full query.
    NotFound,
    /// The query's hash is not the hash sent.
    HashMismatch,
    /// Allow-list mode and the operation is not in the manifest.
    NotAllowed,
}

/// A manifest that cannot be read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("persisted query manifest: {0}")]
pub struct ManifestError(pub String);

impl PersistedQueries {
    /// Loads a manifest: Apollo's format (`{"format": "apollo-persisted-query-manifest",
    /// "operations": [{"id", "body", ...}]}`) or a plain `{"id": "body"}` object. With `only`,
    /// operations outside it are refused.
    pub fn with_manifest(json: &str, only: bool) -> Result<Self, ManifestError> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| ManifestError(e.to_string()))?;
        let manifest = match value.get("operations") {
            Some(serde_json::Value::Array(ops)) => ops
                .iter()
                .map(|op| {
                    let id = op.get("id").and_then(|v| v.as_str());
                    let body = op.get("body").and_then(|v| v.as_str());
                    match (id, body) {
                        (Some(id), Some(body)) => Ok((id.to_owned(), body.to_owned())),
                        _ => Err(ManifestError("an operation lacks `id` or `body`".into())),
                    }
                })
                .collect::<Result<HashMap<_, _>, _>>()?,
            _ => serde_json::from_value(value).map_err(|_| {
                ManifestError("expected Apollo's manifest format or {id: body}".into())
            })?,
        };
        Ok(PersistedQueries {
            bodies: manifest.values().cloned().collect(),
            manifest,
            only,
            learned: Mutex::default(),
        })
    }

    /// Fills in `request.query` from the manifest or the learned store, learns a new one, and
    /// in allow-list mode refuses operations outside the manifest.
    pub fn resolve(&self, request: &mut Request) -> Result<(), ApqError> {
        if let Some(hash) = requested_hash(request) {
            self.by_hash(request, hash)?;
        }
        let known = request
            .query
            .as_ref()
            .is_some_and(|q| self.bodies.contains(q));
        if self.only && !known {
            return Err(ApqError::NotAllowed);
        }
        Ok(())
    }

    fn by_hash(&self, request: &mut Request, hash: String) -> Result<(), ApqError> {
        if let Some(body) = self.manifest.get(&hash) {
            if request.query.as_ref().is_some_and(|q| q != body) {
                return Err(ApqError::HashMismatch);
            }
            request.query = Some(body.clone());
            return Ok(());
        }
        if self.only {
            return Err(ApqError::NotAllowed);
        }
        let mut learned = self.learned.lock().unwrap_or_else(|p| p.into_inner());
        match &request.query {
            None => {
                let query = learned.get(&hash).ok_or(ApqError::NotFound)?;
                request.query = Some(query.clone());
            }
            Some(query) => {
                if sha256_hex(query) != hash {
                    return Err(ApqError::HashMismatch);
                }
                if learned.len() >= CAPACITY {
                    learned.clear();
                }
                learned.insert(hash, query.clone());
            }
        }
        Ok(())
    }
}

fn requested_hash(request: &Request) -> Option<String> {
    let persisted = request.extensions.get("persistedQuery")?.as_object()?;
    let version = persisted.get("version").and_then(JsonValue::as_i64);
    if version.is_some_and(|v| v != 1) {
        return None;
    }
    let hash = persisted.get("sha256Hash")?.as_str()?;
    Some(hash.to_ascii_lowercase())
}

/// Lower-case hex SHA-256 of `text`.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
