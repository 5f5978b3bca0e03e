//! Request header and query-string edits whose values are templates over the identity and the
//! path parameters: `{identity.id}`, `{claim.NAME}`, `{meta.NAME}`, `{param.NAME}`; split once
//! per config.

use crate::chain::Exchange;
use crate::identity::Identity;
use http::{HeaderName, HeaderValue, Uri};
use switchyard_config::{RequestHeadersPolicy, RequestQueryPolicy};
use switchyard_core::percent_decode;

#[derive(Debug)]
pub(crate) struct RequestHeaders {
    set: Vec<(HeaderName, Vec<Piece>)>,
    remove: Vec<HeaderName>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    IdentityId,
    Claim(String),
    Meta(String),
    Param(String),
}

impl RequestHeaders {
    pub(crate) fn new(p: &RequestHeadersPolicy) -> Self {
        let set = p.set.iter().filter_map(|(name, value)| {
            Some((HeaderName::try_from(name.as_str()).ok()?, pieces(value)))
        });
        let remove = p
            .remove
            .iter()
            .filter_map(|n| HeaderName::try_from(n.as_str()).ok());
        Self {
            set: set.collect(),
            remove: remove.collect(),
        }
    }

    /// Removes, then sets; a header whose value needs something the request lacks (no
    /// identity, no such claim) is removed rather than set, so a client cannot supply it.
    pub(crate) fn apply(&self, ex: &mut Exchange<'_>, identity: Option<&Identity>) {
        for name in &self.remove {
            ex.headers.remove(name);
        }
        for (name, pieces) in &self.set {
            let value =
                fill(pieces, identity, ex.params).and_then(|v| HeaderValue::try_from(v).ok());
            match value {
                Some(v) => {
                    ex.headers.insert(name.clone(), v);
                }
                None => {
                    ex.headers.remove(name);
                }
            }
        }
    }
}

#[derive(Debug)]
pub(crate) struct RequestQuery {
    set: Vec<(String, Vec<Piece>)>,
    remove: Vec<String>,
}

impl RequestQuery {
    pub(crate) fn new(p: &RequestQueryPolicy) -> Self {
        Self {
            set: p.set.iter().map(|(n, v)| (n.clone(), pieces(v))).collect(),
            remove: p.remove.clone(),
        }
    }

    /// Drops every pair named in `remove` or `set` (names compared decoded, so `%61pi_key`
    /// is `api_key`), then appends each `set` parameter whose value can be filled; like a
    /// header, one that cannot (no identity, no such claim) is left out, not taken from the
    /// client.
    pub(crate) fn apply(&self, ex: &mut Exchange<'_>, identity: Option<&Identity>) {
        let query = ex.uri.query().unwrap_or_default();
        let dropped = |pair: &&str| {
            let name = percent_decode(pair.split('=').next().unwrap_or_default(), true);
            self.remove.contains(&name) || self.set.iter().any(|(n, _)| *n == name)
        };
        let mut kept: Vec<String> = query
            .split('&')
            .filter(|pair| !pair.is_empty() && !dropped(pair))
            .map(str::to_owned)
            .collect();
        for (name, pieces) in &self.set {
            if let Some(value) = fill(pieces, identity, ex.params) {
                kept.push(format!("{}={}", encode(name), encode(&value)));
            }
        }
        if let Some(uri) = with_query(ex.uri, &kept.join("&")) {
            *ex.uri = uri;
        }
    }
}

/// `uri` with its query replaced (none when `query` is empty).
fn with_query(uri: &Uri, query: &str) -> Option<Uri> {
    let path_and_query = if query.is_empty() {
        uri.path().to_owned()
    } else {
        format!("{}?{query}", uri.path())
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    Uri::from_parts(parts).ok()
}

/// Percent-encodes all but RFC 3986's unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn pieces(template: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        if open > 0 {
            out.push(Piece::Text(rest[..open].to_owned()));
        }
        let inner = &rest[open + 1..open + close];
        out.push(placeholder(inner));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest.to_owned()));
    }
    out
}

fn placeholder(inner: &str) -> Piece {
    if inner == "identity.id" {
        return Piece::IdentityId;
    }
    let (kind, name) = inner.split_once('.').unwrap_or(("", inner));
    match kind {
        "claim" => Piece::Claim(name.to_owned()),
        "meta" => Piece::Meta(name.to_owned()),
        "param" => Piece::Param(name.to_owned()),
        _ => Piece::Text(format!("{{{inner}}}")),
    }
}

fn fill(
    pieces: &[Piece],
    identity: Option<&Identity>,
    params: &[(String, String)],
) -> Option<String> {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::IdentityId => {
                out.push_str(Some(identity?.id.as_str()).filter(|id| !id.is_empty())?)
            }
            Piece::Claim(c) => out.push_str(&identity?.claim_text(c)?),
            Piece::Meta(m) => out.push_str(identity?.meta(m)?),
            Piece::Param(p) => out.push_str(&params.iter().find(|(k, _)| k == p)?.1),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_splits_into_text_and_placeholders() {
        let got = pieces("user={identity.id};plan={meta.plan}/{param.id}");
        let want = vec![
            Piece::Text("user=".into()),
            Piece::IdentityId,
            Piece::Text(";plan=".into()),
            Piece::Meta("plan".into()),
            Piece::Text("/".into()),
            Piece::Param("id".into()),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(encode("plain-1.2_x~"), "plain-1.2_x~");
    }
}
