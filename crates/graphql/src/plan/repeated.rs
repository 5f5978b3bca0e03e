//! Marks the entity fetches of a plan that send the same operation to the same subgraph as
//! another fetch of the plan: only those keep their answers for, and look for answers from, the
//! others (`execute/answered.rs`), so that no other fetch pays for it.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Fetch, PlanNode};

/// `root` with [`Fetch::repeated`] set on every entity fetch whose operation another one sends.
pub(super) fn mark(root: PlanNode) -> PlanNode {
    let mut sent: HashMap<(String, String), usize> = HashMap::new();
    count(&root, &mut sent);
    if sent.values().all(|n| *n < 2) {
        return root;
    }
    marked(root, &sent)
}

fn count(node: &PlanNode, sent: &mut HashMap<(String, String), usize>) {
    match node {
        PlanNode::Fetch(f) if f.entity.is_some() => {
            *sent
                .entry((f.service.clone(), f.operation.clone()))
                .or_default() += 1;
        }
        PlanNode::Fetch(_) => {}
        PlanNode::Sequence(nodes) | PlanNode::Parallel(nodes) => {
            nodes.iter().for_each(|n| count(n, sent));
        }
        PlanNode::Condition { node, .. } => count(node, sent),
    }
}

fn marked(node: PlanNode, sent: &HashMap<(String, String), usize>) -> PlanNode {
    match node {
        PlanNode::Fetch(f) => {
            let key = (f.service.clone(), f.operation.clone());
            if f.entity.is_some() && sent.get(&key).is_some_and(|n| *n >= 2) {
                let mut fetch = Fetch::clone(&f);
                fetch.repeated = true;
                PlanNode::Fetch(Arc::new(fetch))
            } else {
                PlanNode::Fetch(f)
            }
        }
        PlanNode::Sequence(nodes) => {
            PlanNode::Sequence(nodes.into_iter().map(|n| marked(n, sent)).collect())
        }
        PlanNode::Parallel(nodes) => {
            PlanNode::Parallel(nodes.into_iter().map(|n| marked(n, sent)).collect())
        }
        PlanNode::Condition {
            variable,
            include,
            node,
        } => PlanNode::Condition {
            variable,
            include,
            node: Box::new(marked(*node, sent)),
        },
    }
}
