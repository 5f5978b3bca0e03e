//! Compiles a `graphql` route: loads the supergraph and ties each subgraph to its cluster.

use crate::cluster::Cluster;
use crate::graphql::GraphQLRoute;
use crate::runtime::BuildError;
use crate::subgraph::{ClusterSubgraphs, HeaderRules, SubgraphTarget};
use std::collections::HashMap;
use std::sync::Arc;
use switchyard_config::{GraphQLAction, PersistedQueryManifest};
use switchyard_graphql::{ExecOptions, Gateway, Limits, PersistedQueries, Supergraph};

/// Builds the route; `previous` is the gateway already serving the same SDL, kept so its plan
/// cache survives a reload.
pub fn build(
    action: &GraphQLAction,
    clusters: &HashMap<String, Arc<Cluster>>,
    previous: Option<(Arc<Gateway>, Option<PersistedQueryManifest>)>,
) -> Result<GraphQLRoute, BuildError> {
    let options = ExecOptions {
        expose_subgraph_errors: action.expose_subgraph_errors,
        introspection: action.introspection,
    };
    let limits = Limits {
        max_depth: action.limits.max_depth,
        max_aliases: action.limits.max_aliases,
        max_root_fields: action.limits.max_root_fields,
        max_cost: action.limits.max_cost,
    };
    let same_manifest = previous.as_ref().map(|p| &p.1) == Some(&action.persisted_queries);
    let reusable = previous
        .map(|p| p.0)
        .filter(|g| g.options() == options && g.limits() == limits && same_manifest);
    let gateway = match reusable {
        Some(g) => g,
        None => {
            let path = match &action.registry {
                Some(r) => r.describe(),
                None => action.supergraph_path.display().to_string(),
            };
            let supergraph = Supergraph::parse(&action.supergraph_sdl, &path)
                .map_err(|e| invalid(&action.origin, &format!("{path}: {e}")))?;
            let mut gateway = Gateway::new(Arc::new(supergraph), options, limits);
            if let Some(m) = &action.persisted_queries {
                let persisted = PersistedQueries::with_manifest(&m.json, m.only)
                    .map_err(|e| invalid(&action.origin, &format!("{}: {e}", m.path.display())))?;
                gateway = gateway.with_persisted_queries(persisted);
            }
            Arc::new(gateway)
        }
    };
    let subgraphs = targets(action, clusters, gateway.supergraph())?;
    Ok(GraphQLRoute {
        propagates_headers: subgraphs.propagates_headers(),
        gateway,
        sdl: action.supergraph_sdl.clone(),
        supergraph_path: action.supergraph_path.clone(),
        persisted_queries: action.persisted_queries.clone(),
        subgraphs,
        timeout: action.timeout,
    })
}

fn targets(
    action: &GraphQLAction,
    clusters: &HashMap<String, Arc<Cluster>>,
    supergraph: &Supergraph,
) -> Result<ClusterSubgraphs, BuildError> {
    let mut out = ClusterSubgraphs {
        dedupe: action.dedupe,
        ..ClusterSubgraphs::default()
    };
    for subgraph in &supergraph.subgraphs {
        let cluster_name = action
            .subgraphs
            .get(&subgraph.name)
            .unwrap_or(&subgraph.name);
        let Some(cluster) = clusters.get(cluster_name) else {
            let msg = format!(
                "subgraph `{}` has no cluster: define a cluster named `{}` or map it under `subgraphs`",
                subgraph.name, subgraph.name
            );
            return Err(invalid(&action.origin, &msg));
        };
        let path = action
            .subgraph_path
            .clone()
            .unwrap_or_else(|| url_path(&subgraph.url));
        let path = path
            .parse()
            .map_err(|_| invalid(&action.origin, &format!("bad subgraph path `{path}`")))?;
        out.targets.insert(
            subgraph.name.clone(),
            SubgraphTarget {
                cluster: cluster.clone(),
                path,
                headers: header_rules(action, &subgraph.name),
            },
        );
    }
    // A supergraph file is fixed, so a name it lacks is a typo. A registry's supergraph
    // changes: rules may name a subgraph before it is published, or after it is removed.
    if action.registry.is_none() {
        let named = action
            .subgraph_headers
            .keys()
            .map(|n| ("subgraph_headers", n));
        let mapped = action.subgraphs.keys().map(|n| ("subgraphs", n));
        if let Some((field, name)) = named
            .chain(mapped)
            .find(|(_, name)| supergraph.graph_named(name).is_none())
        {
            let msg = format!("{field}: `{name}` is not a subgraph of this supergraph");
            return Err(invalid(&action.origin, &msg));
        }
    }
    Ok(out)
}

/// The route's header rules plus those for `subgraph` (names and values validated by config).
fn header_rules(action: &GraphQLAction, subgraph: &str) -> HeaderRules {
    let own = action.subgraph_headers.get(subgraph);
    let all = std::iter::once(&action.headers).chain(own);
    let mut rules = HeaderRules::default();
    for h in all {
        rules
            .propagate
            .extend(h.propagate.iter().filter_map(|n| n.parse().ok()));
        rules
            .response
            .extend(h.response.iter().filter_map(|n| n.parse().ok()));
        rules.set.extend(
            h.set
                .iter()
                .filter_map(|(n, v)| Some((n.parse().ok()?, http::HeaderValue::from_str(v).ok()?))),
        );
    }
    rules
}

/// The path of a subgraph routing URL (`http://host:4001/graphql` -> `/graphql`).
fn url_path(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    match after_scheme.find('/') {
        Some(i) => after_scheme[i..].to_owned(),
        None => "/".to_owned(),
    }
}

fn invalid(origin: &str, message: &str) -> BuildError {
    BuildError::Route(format!("{origin}: {message}"))
}
