//! Who the request is from, as established by an authentication policy; later policies
//! (authorization, rate limits, header transforms) read it.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// An authenticated caller.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// The API key's id, or the token's `sub`.
    pub id: String,
    /// Whether `id` is an API key id (rate limits keyed by `api_key` use it).
    pub api_key: bool,
    /// The token's claims (JWT).
    pub claims: Option<Arc<Map<String, Value>>>,
    /// The key's metadata (API key).
    pub metadata: Option<Arc<BTreeMap<String, String>>>,
}

impl Identity {
    /// A claim's text (strings as they are, numbers and booleans printed), falling back to the
    /// key's metadata so one `authorize` rule serves both kinds of identity.
    pub fn claim_text(&self, name: &str) -> Option<String> {
        if let Some(value) = self.claims.as_ref().and_then(|c| c.get(name)) {
            return match value {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            };
        }
        self.meta(name).map(str::to_owned)
    }

    pub fn meta(&self, name: &str) -> Option<&str> {
        self.metadata.as_ref()?.get(name).map(String::as_str)
    }

    /// The values a claim holds: a list's strings, or a string. Only OAuth's space-separated
    /// `scope` (and `scp`) is split, so a claim `role: "not admin"` does not hold `admin`.
    pub fn claim_values(&self, name: &str) -> Vec<&str> {
        let spaced = name == "scope" || name == "scp";
        let split = |s| split_values(s, spaced);
        if let Some(value) = self.claims.as_ref().and_then(|c| c.get(name)) {
            return match value {
                Value::String(s) => split(s),
                Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
        }
        self.meta(name).map(split).unwrap_or_default()
    }
}

fn split_values(s: &str, spaced: bool) -> Vec<&str> {
    if spaced {
        s.split(' ').filter(|v| !v.is_empty()).collect()
    } else {
        vec![s]
    }
}
