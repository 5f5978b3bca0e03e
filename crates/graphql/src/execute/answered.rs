//! Entity answers a query has already received, by subgraph operation and representation: a
//! later fetch of the same operation whose representations were all answered before makes no
//! call (a per-request entity cache, as a DataLoader keeps per request).
//!
//! Only queries keep it (after a mutation an entity may have changed), and only for the fetches
//! the plan marks as repeated ([`Fetch::repeated`]), so that other fetches pay nothing for it.
//! Only answers from calls without errors are kept, so that a reused answer never hides an error
//! its first place got.

use std::collections::HashMap;

use apollo_compiler::response::JsonValue;

use super::Answer;
use super::tree::{Node, NodeId};
use crate::plan::Fetch;

/// The entity answers of one request, per subgraph operation.
#[derive(Debug, Default)]
pub(crate) struct Answered {
    on: bool,
    operations: Vec<Operation>,
}

/// The answers one subgraph operation gave, by representation.
#[derive(Debug)]
struct Operation {
    service: String,
    text: String,
    answers: HashMap<JsonValue, (Answer, NodeId), ahash::RandomState>,
}

impl Operation {
    fn is(&self, fetch: &Fetch) -> bool {
        self.text == fetch.operation && self.service == fetch.service
    }
}

impl Answered {
    /// Answers kept for this request (a query; not a mutation).
    pub fn kept() -> Self {
        Answered {
            on: true,
            operations: Vec::new(),
        }
    }

    /// Whether answers are kept.
    pub fn on(&self) -> bool {
        self.on
    }

    /// The answer to each of `reps` for `fetch`'s operation, if every one was received before.
    pub fn all(&self, fetch: &Fetch, reps: &[JsonValue]) -> Option<Vec<(Answer, NodeId)>> {
        let operation = self.operations.iter().find(|o| o.is(fetch))?;
        reps.iter()
            .map(|rep| operation.answers.get(rep).cloned())
            .collect()
    }

    /// Keeps the answers `body` gives to `reps` (sent in this order), unless it reports errors
    /// or is not one answer per representation.
    pub fn record(&mut self, fetch: &Fetch, reps: Vec<JsonValue>, body: &Answer) {
        if !self.on || has_errors(body) {
            return;
        }
        let Some(items) = entities(body) else {
            return;
        };
        if items.len() != reps.len() {
            return;
        }
        let operation = match self.operations.iter().position(|o| o.is(fetch)) {
            Some(i) => &mut self.operations[i],
            None => {
                self.operations.push(Operation {
                    service: fetch.service.clone(),
                    text: fetch.operation.clone(),
                    answers: HashMap::default(),
                });
                self.operations.last_mut().expect("just pushed")
            }
        };
        for (rep, item) in reps.into_iter().zip(items) {
            if matches!(body.tree.node(*item), Node::Object(_)) {
                operation.answers.insert(rep, (body.clone(), *item));
            }
        }
    }
}

/// Whether a subgraph response has a non-empty `errors` list (or a malformed one).
fn has_errors(body: &Answer) -> bool {
    match body.field("errors").map(|e| body.tree.node(e)) {
        None => false,
        Some(Node::List(errors)) => !errors.is_empty(),
        Some(_) => true,
    }
}

/// The `data._entities` list of a subgraph response.
fn entities(body: &Answer) -> Option<&[NodeId]> {
    let data = body.field("data")?;
    match body.tree.node(body.tree.field(data, "_entities")?) {
        Node::List(items) => Some(items),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execute::Decoded;
    use crate::plan::Fetch;
    use crate::sel::SelSet;
    use serde_json_bytes::json;
    use std::sync::Arc;

    fn fetch(service: &str, operation: &str) -> Fetch {
        Fetch {
            graph: Default::default(),
            service: service.into(),
            operation: operation.into(),
            variables: Vec::new(),
            selection: SelSet::default(),
            entity: None,
            repeated: true,
        }
    }

    fn answer(text: &str) -> Answer {
        Arc::new(Decoded::from_slice(text.as_bytes()).unwrap())
    }

    #[test]
    fn an_operation_is_answered_again_only_when_every_representation_was() {
        let mut answered = Answered::kept();
        let inventory = fetch(
            "inventory",
            "query($r:[_Any!]!){_entities(representations:$r){... on P{s}}}",
        );
        let (one, two) = (json!({"upc": "1"}), json!({"upc": "2"}));
        let body = answer(r#"{"data": {"_entities": [{"s": 1}, null]}}"#);
        answered.record(&inventory, vec![one.clone(), two.clone()], &body);
        let known = answered
            .all(&inventory, std::slice::from_ref(&one))
            .unwrap();
        assert_eq!(body.tree.to_json(known[0].1), json!({"s": 1}));
        assert!(
            answered.all(&inventory, &[one.clone(), two]).is_none(),
            "a null answer is not kept"
        );
        let other = fetch(
            "inventory",
            "query($r:[_Any!]!){_entities(representations:$r){... on P{t}}}",
        );
        assert!(
            answered.all(&other, std::slice::from_ref(&one)).is_none(),
            "another operation"
        );
        let elsewhere = fetch("products", &inventory.operation);
        assert!(
            answered.all(&elsewhere, &[one]).is_none(),
            "another subgraph"
        );
    }

    #[test]
    fn answers_with_errors_or_outside_queries_are_not_kept() {
        let inventory = fetch("inventory", "query { _entities }");
        let rep = json!({"upc": "1"});
        let with_errors =
            answer(r#"{"data": {"_entities": [{"s": 1}]}, "errors": [{"message": "x"}]}"#);
        let mut answered = Answered::kept();
        answered.record(&inventory, vec![rep.clone()], &with_errors);
        assert!(
            answered
                .all(&inventory, std::slice::from_ref(&rep))
                .is_none()
        );
        let fine = answer(r#"{"data": {"_entities": [{"s": 1}]}, "errors": []}"#);
        let mut mutation = Answered::default();
        mutation.record(&inventory, vec![rep.clone()], &fine);
        assert!(
            mutation
                .all(&inventory, std::slice::from_ref(&rep))
                .is_none()
        );
        answered.record(&inventory, vec![rep.clone()], &fine);
        assert!(answered.all(&inventory, &[rep]).is_some());
    }
}
