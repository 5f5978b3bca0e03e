//! Paths to routes: `/graphs`, `/graphs/{g}/variants`, and under
//! `/graphs/{g}/variants/{v}`: `subgraphs/{name}`, `supergraph`, `versions`, `versions/{n}`,
//! `rollback`, `check`. Names are checked here, so handlers see only valid ones.

use crate::{VariantRef, check_name};

use super::problem::Problem;

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Graphs,
    Variants(String),
    Subgraph(VariantRef, String),
    Supergraph(VariantRef),
    Versions(VariantRef),
    Version(VariantRef, u64),
    Rollback(VariantRef),
    Check(VariantRef),
}

impl Route {
    /// The methods the route accepts, for 405 answers.
    pub fn allow(&self) -> &'static str {
        match self {
            Self::Subgraph(..) => "PUT, DELETE",
            Self::Rollback(_) | Self::Check(_) => "POST",
            _ => "GET, HEAD",
        }
    }

    /// Whether the route answers `method`.
    pub fn accepts(&self, method: &http::Method) -> bool {
        let name = method.as_str();
        self.allow().split(", ").any(|m| m == name)
    }

    /// Parses a path; unknown paths are 404, invalid names 400.
    pub fn parse(path: &str) -> Result<Self, Problem> {
        let parts: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
        let unknown = || Problem::not_found(format!("no such path {path:?}; see docs/registry.md"));
        match parts.as_slice() {
            ["graphs"] => Ok(Self::Graphs),
            ["graphs", graph, "variants"] => Ok(Self::Variants(name(graph)?)),
            ["graphs", graph, "variants", variant, rest @ ..] => {
                let at = VariantRef::new(name(graph)?, name(variant)?);
                match rest {
                    ["subgraphs", subgraph] => Ok(Self::Subgraph(at, name(subgraph)?)),
                    ["supergraph"] => Ok(Self::Supergraph(at)),
                    ["versions"] => Ok(Self::Versions(at)),
                    ["versions", number] => {
                        let n = number.parse().map_err(|_| {
                            Problem::bad_request(format!("{number:?} is not a version number"))
                        })?;
                        Ok(Self::Version(at, n))
                    }
                    ["rollback"] => Ok(Self::Rollback(at)),
                    ["check"] => Ok(Self::Check(at)),
                    _ => Err(unknown()),
                }
            }
            _ => Err(unknown()),
        }
    }
}

fn name(text: &str) -> Result<String, Problem> {
    check_name(text).map_err(|e| Problem::bad_request(e.to_string()))?;
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_to_routes() {
        let prod = VariantRef::new("movies", "prod");
        assert_eq!(Route::parse("/graphs").unwrap(), Route::Graphs);
        assert_eq!(
            Route::parse("/graphs/movies/variants/").unwrap(),
            Route::Variants("movies".into())
        );
        assert_eq!(
            Route::parse("/graphs/movies/variants/prod/subgraphs/talent").unwrap(),
            Route::Subgraph(prod.clone(), "talent".into())
        );
        assert_eq!(
            Route::parse("/graphs/movies/variants/prod/versions/3").unwrap(),
            Route::Version(prod, 3)
        );
        let status = |path| Route::parse(path).unwrap_err().status.as_u16();
        assert_eq!(status("/"), 404);
        assert_eq!(status("/graphs/movies/variants/prod/nope"), 404);
        assert_eq!(status("/graphs/mo%20vies/variants"), 400);
        assert_eq!(status("/graphs/movies/variants/prod/versions/x"), 400);
    }
}
