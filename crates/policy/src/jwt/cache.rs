//! Verified tokens by their text, so a repeated token skips the signature check; expiry is
//! still checked on every use, and so is the fetched key set a token was verified with.
//! Bounded: a full shard drops its expired tokens, then empties.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};

/// What a verified token says, read once.
#[derive(Debug)]
pub(crate) struct Verified {
    pub(crate) claims: Arc<Map<String, Value>>,
    pub(crate) subject: String,
    pub(crate) issuer: Option<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) expires: Option<u64>,
    pub(crate) not_before: Option<u64>,
    /// The generation of the fetched key set it was verified with (0: configured keys only).
    /// A hit counts only while that set is current, so a key dropped from the JWKS URL's
    /// document (or keys gone stale) also ends its cached tokens.
    pub(crate) key_set: u64,
}

impl Verified {
    pub(crate) fn new(claims: Map<String, Value>, key_set: u64) -> Result<Self, String> {
        let time = |name: &str| match claims.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_f64().map(|f| f as u64))
                .map(Some)
                .ok_or(format!("`{name}` is not a number")),
        };
        let expires = time("exp")?;
        let not_before = time("nbf")?;
        let audiences = match claims.get("aud") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        Ok(Self {
            subject: claims
                .get("sub")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            issuer: claims.get("iss").and_then(Value::as_str).map(str::to_owned),
            audiences,
            expires,
            not_before,
            key_set,
            claims: Arc::new(claims),
        })
    }
}

const SHARDS: usize = 16;

#[derive(Debug)]
pub(crate) struct Cache {
    shards: Vec<Mutex<HashMap<Box<str>, Arc<Verified>>>>,
    per_shard: usize,
    hasher: RandomState,
}

impl Cache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_shard: capacity.div_ceil(SHARDS),
            hasher: RandomState::new(),
        }
    }

    fn shard(&self, token: &str) -> &Mutex<HashMap<Box<str>, Arc<Verified>>> {
        let index = self.hasher.hash_one(token) as usize % SHARDS;
        &self.shards[index]
    }

    pub(crate) fn get(&self, token: &str) -> Option<Arc<Verified>> {
        let map = self.shard(token).lock().ok()?;
        map.get(token).cloned()
    }

    pub(crate) fn insert(&self, token: &str, verified: Arc<Verified>, now: u64) {
        let Ok(mut map) = self.shard(token).lock() else {
            return;
        };
        if map.len() >= self.per_shard {
            map.retain(|_, v| v.expires.is_none_or(|exp| exp > now));
            if map.len() >= self.per_shard {
                map.clear();
            }
        }
        map.insert(token.into(), verified);
    }
}
