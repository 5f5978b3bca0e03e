//! Marks the entity fetches of a plan that send the same operation to the same subgraph as
//! another fetch of the plan: only those keep their answers for, and look for answers from, the
//! others (`execute/answered.rs`), so that no other fetch pays for it.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Fetch, PlanNode};

/// `root` with [`Fetch::repeated`] set on every entity fetch whose operation another one sends.
pub(super) fn mark(root: PlanNode) -> PlanNode {
    let repeated = repeated(&root);
    if !repeated.contains(&true) {
        return root;
    }
    let mut marks = repeated.into_iter();
    root.map_fetches(&mut |fetch| {
        if !marks.next().unwrap_or(false) {
            return fetch;
        }
        let mut fetch = Fetch::clone(&fetch);
        fetch.repeated = true;
        Arc::new(fetch)
    })
}

/// Per fetch, in plan order, whether it is an entity fetch whose operation another one sends.
fn repeated(root: &PlanNode) -> Vec<bool> {
    let mut sent: HashMap<(&str, &str), usize> = HashMap::new();
    root.each_fetch(&mut |f| {
        if f.entity.is_some() {
            *sent.entry((&f.service, &f.operation)).or_default() += 1;
        }
    });
    let mut repeated = Vec::new();
    root.each_fetch(&mut |f| {
        let key = (f.service.as_str(), f.operation.as_str());
        repeated.push(f.entity.is_some() && sent.get(&key).is_some_and(|n| *n >= 2));
    });
    repeated
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::EntityStep;
    use crate::sel::SelSet;

    fn fetch(service: &str, operation: &str, entity: bool) -> PlanNode {
        PlanNode::Fetch(Arc::new(Fetch {
            graph: 0,
            service: service.into(),
            operation: operation.into(),
            variables: Vec::new(),
            selection: SelSet::default(),
            entity: entity.then(|| EntityStep {
                sources: Vec::new(),
                tys: Vec::new(),
                inputs: SelSet::default(),
                typename_as: None,
            }),
            repeated: false,
        }))
    }

    #[test]
    fn only_entity_fetches_sending_an_operation_twice_are_marked() {
        let plan = PlanNode::Sequence(vec![
            fetch("a", "{ x }", false),
            fetch("a", "{ x }", false),
            PlanNode::Parallel(vec![fetch("inv", "E", true), fetch("inv", "F", true)]),
            fetch("other", "E", true),
            fetch("inv", "E", true),
        ]);
        let mut marks = Vec::new();
        mark(plan).each_fetch(&mut |f| marks.push(f.repeated));
        assert_eq!(marks, [false, false, true, false, false, true]);
    }
}
