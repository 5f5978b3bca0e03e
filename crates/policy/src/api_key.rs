//! API key authentication: the key from a header or query parameter, looked up by its SHA-256
//! (the config holds hashes only), its id and metadata becoming the request's identity.

use crate::answer::Answer;
use crate::chain::Exchange;
use crate::identity::Identity;
use http::{HeaderName, HeaderValue, StatusCode, Uri, header};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use switchyard_config::{ApiKeyPolicy, CredentialSource};

#[derive(Debug)]
pub(crate) struct ApiKeys {
    source: Source,
    by_hash: HashMap<[u8; 32], Owner>,
    forward_id: Option<HeaderName>,
    keep_credential: bool,
    challenge: HeaderValue,
}

#[derive(Debug)]
enum Source {
    Header(HeaderName),
    Query(String),
}

#[derive(Debug)]
struct Owner {
    id: String,
    metadata: Arc<BTreeMap<String, String>>,
}

impl ApiKeys {
    pub(crate) fn new(p: &ApiKeyPolicy) -> Self {
        let (source, challenge) = match &p.source {
            CredentialSource::Header(h) => (
                Source::Header(HeaderName::try_from(h.as_str()).unwrap_or(X_API_KEY)),
                format!("ApiKey header=\"{h}\""),
            ),
            CredentialSource::Query(q) => {
                (Source::Query(q.clone()), format!("ApiKey query=\"{q}\""))
            }
        };
        let owners = p.keys.iter().map(|k| {
            let owner = Owner {
                id: k.id.clone(),
                metadata: Arc::new(k.metadata.clone()),
            };
            (k.sha256, owner)
        });
        Self {
            source,
            by_hash: owners.collect(),
            forward_id: p
                .forward_id
                .as_ref()
                .and_then(|h| HeaderName::try_from(h.as_str()).ok()),
            keep_credential: p.keep_credential,
            challenge: HeaderValue::try_from(challenge)
                .unwrap_or(HeaderValue::from_static("ApiKey")),
        }
    }

    pub(crate) fn authenticate(
        &self,
        name: &Arc<str>,
        ex: &mut Exchange<'_>,
    ) -> Result<Identity, Answer> {
        let reject = |reason, detail: &str| {
            Answer::problem(StatusCode::UNAUTHORIZED, name, reason, detail.to_owned())
                .with_header(header::WWW_AUTHENTICATE, self.challenge.clone())
        };
        let repeated = match &self.source {
            Source::Header(h) => Answer::repeated(ex.headers, h),
            Source::Query(q) => ex
                .uri
                .query()
                .is_some_and(|query| pairs(query).filter(|(k, _)| k == q).nth(1).is_some()),
        };
        if repeated {
            return Err(Answer::ambiguous(name, "API key"));
        }
        let digest = match self.presented(ex) {
            Some(key) if !key.is_empty() => sha256(key),
            _ => return Err(reject("key_missing", "the request carries no API key")),
        };
        let Some(owner) = self.by_hash.get(&digest) else {
            return Err(reject("unknown_key", "the API key is not known"));
        };
        if !self.keep_credential {
            self.remove_credential(ex);
        }
        if let Some(h) = &self.forward_id {
            ex.headers.remove(h);
            if let Ok(v) = HeaderValue::try_from(owner.id.as_str()) {
                ex.headers.insert(h.clone(), v);
            }
        }
        Ok(Identity {
            id: owner.id.clone(),
            api_key: true,
            claims: None,
            metadata: Some(owner.metadata.clone()),
        })
    }

    fn presented<'e>(&self, ex: &'e Exchange<'_>) -> Option<&'e [u8]> {
        match &self.source {
            Source::Header(h) => ex.headers.get(h).map(HeaderValue::as_bytes),
            Source::Query(q) => query_param(ex.uri.query()?, q).map(str::as_bytes),
        }
    }

    fn remove_credential(&self, ex: &mut Exchange<'_>) {
        match &self.source {
            Source::Header(h) => {
                ex.headers.remove(h);
            }
            Source::Query(q) => {
                if let Some(uri) = without_param(ex.uri, q) {
                    *ex.uri = uri;
                }
            }
        }
    }
}

const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// The form an API key takes in the config: `sha256:` and 64 hex digits.
pub fn key_hash(key: &str) -> String {
    format!("sha256:{}", crate::hex(&sha256(key.as_bytes())))
}

fn sha256(key: &[u8]) -> [u8; 32] {
    Sha256::digest(key).into()
}

/// The first value of `name` in a query string (as sent, not percent-decoded).
pub(crate) fn query_param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    pairs(query).find_map(|(k, v)| (k == name).then_some(v))
}

/// The `name=value` pairs of a query string, as sent.
fn pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// `uri` without any `name=` pair in its query.
fn without_param(uri: &Uri, name: &str) -> Option<Uri> {
    let query = uri.query()?;
    let kept: Vec<&str> = query
        .split('&')
        .zip(pairs(query))
        .filter(|(_, (k, _))| *k != name)
        .map(|(pair, _)| pair)
        .collect();
    let path_and_query = if kept.is_empty() {
        uri.path().to_owned()
    } else {
        format!("{}?{}", uri.path(), kept.join("&"))
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = path_and_query.parse().ok();
    Uri::from_parts(parts).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_key_is_removed_and_the_rest_kept() {
        let uri: Uri = "/movies?api_key=s3cret&page=2".parse().unwrap();
        assert_eq!(query_param(uri.query().unwrap(), "api_key"), Some("s3cret"));
        assert_eq!(without_param(&uri, "api_key").unwrap(), "/movies?page=2");
        let only: Uri = "/movies?api_key=s3cret".parse().unwrap();
        assert_eq!(without_param(&only, "api_key").unwrap(), "/movies");
    }
}
