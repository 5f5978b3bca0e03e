//! A subgraph publishing itself by URL: the registry POSTs `{ _service { sdl } }` to it.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, header};
use serde_json::Value;

use super::ServerConfig;
use super::client::{self, Limits};

const QUERY: &str = r#"{"query":"{ _service { sdl } }"}"#;

/// Whether the allow-list (if any) lets introspection reach `url`'s host.
pub(crate) fn allowed(url: &str, config: &ServerConfig) -> bool {
    let Some(hosts) = &config.introspect_hosts else {
        return true;
    };
    let Some(host) = url
        .parse::<http::Uri>()
        .ok()
        .and_then(|u| u.host().map(str::to_ascii_lowercase))
    else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    hosts.iter().any(|pattern| {
        let pattern = pattern.to_ascii_lowercase();
        match pattern.strip_prefix("*.") {
            // `*.` alone names no domain: nothing matches it.
            Some("") => false,
            Some(suffix) => host
                .strip_suffix(suffix)
                .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1),
            None => host == pattern,
        }
    })
}

/// The subgraph's SDL as its `_service` field gives it, or why not.
pub(crate) async fn fetch_sdl(url: &str, config: &ServerConfig) -> Result<String, String> {
    let mut headers = HeaderMap::new();
    let json = HeaderValue::from_static("application/json");
    headers.insert(header::CONTENT_TYPE, json.clone());
    headers.insert(header::ACCEPT, json);
    let limits = Limits {
        timeout: config.introspect_timeout,
        max_body: config.introspect_limit,
    };
    let reply = client::send(
        Method::POST,
        url,
        headers,
        Bytes::from_static(QUERY.as_bytes()),
        limits,
    )
    .await
    .map_err(|e| format!("cannot read _service {{ sdl }} from {url}: {e}"))?;
    if !reply.status.is_success() {
        return Err(format!(
            "cannot read _service {{ sdl }} from {url}: it answered {}",
            reply.status
        ));
    }
    let answer: Value = serde_json::from_slice(&reply.body)
        .map_err(|e| format!("{url} answered _service {{ sdl }} with invalid JSON: {e}"))?;
    match answer.pointer("/data/_service/sdl") {
        Some(Value::String(sdl)) => Ok(sdl.clone()),
        _ => {
            let errors = answer
                .get("errors")
                .map_or_else(String::new, |e| format!(": {e}"));
            Err(format!("{url} gave no _service.sdl{errors}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(hosts: &[&str], url: &str) -> bool {
        let config = ServerConfig {
            introspect_hosts: Some(hosts.iter().map(|h| (*h).to_owned()).collect()),
            ..ServerConfig::default()
        };
        allowed(url, &config)
    }

    #[test]
    fn hosts_match_exactly_or_under_a_wildcard_domain() {
        assert!(allowed(
            "http://anything:1/graphql",
            &ServerConfig::default()
        ));
        let list = ["Subgraphs.Internal", "*.svc.cluster.local", "::1"];
        assert!(allows(&list, "http://subgraphs.internal:4001/graphql"));
        assert!(allows(
            &list,
            "http://movies.prod.svc.cluster.local/graphql"
        ));
        assert!(allows(&list, "http://[::1]:4001/graphql"));
        assert!(
            !allows(&list, "http://svc.cluster.local/graphql"),
            "the domain itself"
        );
        assert!(!allows(&list, "http://evilsvc.cluster.local/graphql"));
        assert!(!allows(&list, "http://subgraphs.internal.evil.com/graphql"));
        assert!(!allows(&list, "http://169.254.169.254/latest/meta-data"));
        assert!(!allows(&list, "not a url"));
        assert!(
            !allows(&["*."], "http://example.com./graphql"),
            "`*.` names no domain"
        );
    }
}
