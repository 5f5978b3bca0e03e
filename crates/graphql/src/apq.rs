//! Automatic persisted queries: clients send a query's SHA-256 instead of its text once the
//! gateway has seen it (`extensions.persistedQuery`, version 1).

use std::collections::HashMap;
use std::sync::Mutex;

use apollo_compiler::response::JsonValue;
use sha2::{Digest, Sha256};

use crate::request::Request;

/// Most queries remembered; the store starts over when full.
const CAPACITY: usize = 4096;

/// Query texts by SHA-256 (lower-case hex).
#[derive(Debug, Default)]
pub struct PersistedQueries {
    queries: Mutex<HashMap<String, String>>,
}

/// Why a persisted-query request cannot be answered (codes as clients expect them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApqError {
    /// The hash is unknown: the client retries with the full query.
    NotFound,
    /// The query's hash is not the hash sent.
    HashMismatch,
}

impl PersistedQueries {
    /// Fills in `request.query` from the store, or stores the query it carries.
    pub fn resolve(&self, request: &mut Request) -> Result<(), ApqError> {
        let Some(hash) = requested_hash(request) else {
            return Ok(());
        };
        let mut queries = self.queries.lock().unwrap_or_else(|p| p.into_inner());
        match &request.query {
            None => {
                let query = queries.get(&hash).ok_or(ApqError::NotFound)?;
                request.query = Some(query.clone());
            }
            Some(query) => {
                if sha256_hex(query) != hash {
                    return Err(ApqError::HashMismatch);
                }
                if queries.len() >= CAPACITY {
                    queries.clear();
                }
                queries.insert(hash, query.clone());
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
