//! Request header edits whose values are templates over the identity and the path parameters:
//! `{identity.id}`, `{claim.NAME}`, `{meta.NAME}`, `{param.NAME}`; split once per config.

use crate::chain::Exchange;
use crate::identity::Identity;
use http::{HeaderName, HeaderValue};
use switchyard_config::RequestHeadersPolicy;

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
}
