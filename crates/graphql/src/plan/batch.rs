//! Batching: the entity fetches of one plan step that go to the same subgraph become one request.
//!
//! Sibling fetches in a `Parallel` that ask the same subgraph the same thing for objects at
//! different places share one `_entities` call (their representations de-duplicated together);
//! siblings asking about disjoint types share one call with both selections side by side.

use std::sync::Arc;

use apollo_compiler::executable::Operation;

use super::{EntityStep, Fetch, PlanNode, collapse, operation_text};
use crate::sel::{Sel, SelSet};

/// `node` with each `Parallel`'s batchable sibling fetches merged.
pub(super) fn batch(node: PlanNode, operation: &Operation) -> PlanNode {
    match node {
        PlanNode::Parallel(nodes) => {
            let mut out: Vec<PlanNode> = Vec::with_capacity(nodes.len());
            for node in nodes.into_iter().map(|n| batch(n, operation)) {
                let PlanNode::Fetch(fetch) = &node else {
                    out.push(node);
                    continue;
                };
                let joined = out.iter().enumerate().find_map(|(i, n)| match n {
                    PlanNode::Fetch(earlier) => merged(earlier, fetch, operation).map(|m| (i, m)),
                    _ => None,
                });
                match joined {
                    Some((i, m)) => out[i] = PlanNode::Fetch(Arc::new(m)),
                    None => out.push(node),
                }
            }
            collapse(out, PlanNode::Parallel)
        }
        node => node.map_children(&mut |n| batch(n, operation)),
    }
}

/// One fetch doing the work of entity fetches `a` and `b`, when they can share a request.
fn merged(a: &Fetch, b: &Fetch, operation: &Operation) -> Option<Fetch> {
    let (Some(ea), Some(eb)) = (&a.entity, &b.entity) else {
        return None;
    };
    if a.graph != b.graph || ea.typename_as != eb.typename_as {
        return None;
    }
    let mut sources = ea.sources.clone();
    sources.extend(eb.sources.iter().cloned());
    if a.selection == b.selection && ea.inputs == eb.inputs && ea.tys == eb.tys {
        return Some(Fetch {
            graph: a.graph,
            service: a.service.clone(),
            operation: a.operation.clone(),
            variables: a.variables.clone(),
            selection: a.selection.clone(),
            entity: Some(EntityStep {
                sources,
                ..ea.clone()
            }),
            repeated: false,
        });
    }
    if ea.typename_as.is_some() || !disjoint(ea, eb) || !fragments_only(&[a, b]) {
        return None;
    }
    let selection = SelSet(
        a.selection
            .0
            .iter()
            .chain(&b.selection.0)
            .cloned()
            .collect(),
    );
    let (text, variables) = operation_text(operation, &selection, true);
    Some(Fetch {
        graph: a.graph,
        service: a.service.clone(),
        operation: text,
        variables,
        selection,
        entity: Some(EntityStep {
            sources,
            tys: ea.tys.iter().chain(&eb.tys).cloned().collect(),
            inputs: SelSet(ea.inputs.0.iter().chain(&eb.inputs.0).cloned().collect()),
            typename_as: None,
        }),
        repeated: false,
    })
}

/// Whether no object type takes part in both fetches (so their fragments cannot overlap).
fn disjoint(a: &EntityStep, b: &EntityStep) -> bool {
    let types = |e: &EntityStep| -> Vec<apollo_compiler::Name> {
        e.sources
            .iter()
            .flat_map(|s| s.types.iter().cloned())
            .chain(e.tys.iter().cloned())
            .collect()
    };
    let (ta, tb) = (types(a), types(b));
    ta.iter().all(|t| !tb.contains(t))
}

/// Whether every top-level selection of the fetches (and their inputs) is a type condition.
fn fragments_only(fetches: &[&Fetch]) -> bool {
    fetches.iter().all(|f| {
        let inputs = f.entity.as_ref().map_or(&[][..], |e| &e.inputs.0[..]);
        f.selection
            .0
            .iter()
            .chain(inputs)
            .all(|s| matches!(s, Sel::On(..)))
    })
}
