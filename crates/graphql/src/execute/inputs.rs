//! An entity fetch's input selection resolved against one response tree, its keys interned once
//! per fetch, and what it takes from an object: hashed, compared with a representation, or
//! copied into one.

use std::hash::{Hash, Hasher};

use apollo_compiler::Name;
use apollo_compiler::response::{JsonMap, JsonValue};

use super::tree::{Node, NodeId, Sym, Tree};
use crate::json::field;
use crate::sel::{Sel, SelSet};

/// The input selection of an entity fetch, as one tree knows its keys.
pub(super) struct Inputs<'s>(Vec<Input<'s>>);

enum Input<'s> {
    Field {
        key: &'s Name,
        /// `None` when no object of the tree has the key (then no object has the field).
        sym: Option<Sym>,
        sub: Option<Inputs<'s>>,
    },
    On(&'s Name, Inputs<'s>),
}

impl<'s> Inputs<'s> {
    pub fn resolve(tree: &Tree, set: &'s SelSet) -> Self {
        let inputs = set.0.iter().map(|sel| match sel {
            Sel::Field(f) => Input::Field {
                key: f.response_key(),
                sym: tree.sym(f.response_key()),
                sub: f.selection.as_ref().map(|sub| Inputs::resolve(tree, sub)),
            },
            Sel::On(ty, sub) => Input::On(ty, Inputs::resolve(tree, sub)),
        });
        Inputs(inputs.collect())
    }

    /// The fields of `object` these inputs select, each with its sub-selection; `None` when
    /// one is missing.
    fn each(
        &self,
        tree: &Tree,
        object: NodeId,
        f: &mut impl FnMut(&'s Name, NodeId, Option<&Inputs<'s>>) -> Option<()>,
    ) -> Option<()> {
        for input in &self.0 {
            match input {
                Input::Field { key, sym, sub } => {
                    let value = tree.get(object, (*sym)?)?;
                    f(key, value, sub.as_ref())?;
                }
                Input::On(ty, sub) => {
                    if tree.typename(object) == Some(ty.as_str()) {
                        sub.each(tree, object, f)?;
                    }
                }
            }
        }
        Some(())
    }

    /// Hashes what [`Inputs::select`] would take from `object`; `None` when a selected field
    /// is missing.
    pub fn hash(&self, tree: &Tree, object: NodeId, h: &mut impl Hasher) -> Option<()> {
        self.each(tree, object, &mut |key, value, sub| {
            key.as_str().hash(h);
            match sub {
                Some(sub) => sub.hash_value(tree, value, h),
                None => {
                    hash_whole(tree, value, h);
                    Some(())
                }
            }
        })
    }

    fn hash_value(&self, tree: &Tree, id: NodeId, h: &mut impl Hasher) -> Option<()> {
        match tree.node(id) {
            Node::Object(_) => self.hash(tree, id, h),
            Node::List(items) => {
                items.len().hash(h);
                items.iter().try_for_each(|i| self.hash_value(tree, *i, h))
            }
            Node::Leaf(leaf) => {
                leaf.hash(h);
                Some(())
            }
        }
    }

    /// Whether `rep` holds exactly what these inputs select from `object`.
    pub fn same(&self, tree: &Tree, object: NodeId, rep: &JsonMap) -> bool {
        let mut matched = 0;
        let all = self.each(tree, object, &mut |key, value, sub| {
            let held = field(rep, key.as_str())?;
            matched += 1;
            let same = match sub {
                Some(sub) => sub.same_value(tree, value, held),
                None => same_json(tree, value, held),
            };
            same.then_some(())
        });
        all.is_some() && matched == rep.len()
    }

    fn same_value(&self, tree: &Tree, id: NodeId, held: &JsonValue) -> bool {
        match (tree.node(id), held) {
            (Node::Object(_), JsonValue::Object(h)) => self.same(tree, id, h),
            (Node::List(items), JsonValue::Array(h)) => {
                items.len() == h.len()
                    && items
                        .iter()
                        .zip(h)
                        .all(|(i, h)| self.same_value(tree, *i, h))
            }
            _ => same_json(tree, id, held),
        }
    }

    /// What these inputs select from `object`; `None` when a selected field is missing.
    pub fn select(&self, tree: &Tree, object: NodeId) -> Option<JsonMap> {
        let mut out = JsonMap::new();
        self.each(tree, object, &mut |key, value, sub| {
            let value = match sub {
                Some(sub) => sub.select_value(tree, value)?,
                None => tree.to_json(value),
            };
            out.insert(key.as_str(), value);
            Some(())
        })?;
        Some(out)
    }

    fn select_value(&self, tree: &Tree, id: NodeId) -> Option<JsonValue> {
        match tree.node(id) {
            Node::Object(_) => self.select(tree, id).map(JsonValue::Object),
            Node::List(items) => items
                .iter()
                .map(|i| self.select_value(tree, *i))
                .collect::<Option<Vec<_>>>()
                .map(JsonValue::Array),
            Node::Leaf(leaf) => Some(leaf.to_json()),
        }
    }
}

/// Hashes a whole value (a leaf field, perhaps of a JSON-like custom scalar).
fn hash_whole(tree: &Tree, id: NodeId, h: &mut impl Hasher) {
    match tree.node(id) {
        Node::Leaf(leaf) => leaf.hash(h),
        Node::List(items) => {
            items.len().hash(h);
            items.iter().for_each(|i| hash_whole(tree, *i, h));
        }
        Node::Object(fields) => {
            fields.len().hash(h);
            for (k, v) in fields {
                k.hash(h);
                hash_whole(tree, *v, h);
            }
        }
    }
}

/// Whether node `id` holds exactly `value`.
fn same_json(tree: &Tree, id: NodeId, value: &JsonValue) -> bool {
    match (tree.node(id), value) {
        (Node::Leaf(leaf), value) => leaf.is(value),
        (Node::List(items), JsonValue::Array(values)) => {
            items.len() == values.len()
                && items
                    .iter()
                    .zip(values)
                    .all(|(i, v)| same_json(tree, *i, v))
        }
        (Node::Object(fields), JsonValue::Object(map)) => {
            fields.len() == map.len()
                && fields
                    .iter()
                    .all(|(k, v)| field(map, tree.key(*k)).is_some_and(|m| same_json(tree, *v, m)))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sel::FieldSel;
    use serde_json_bytes::json;

    fn leaf(name: &str) -> Sel {
        Sel::Field(FieldSel::leaf(Name::new(name).unwrap()))
    }

    fn map(value: JsonValue) -> JsonMap {
        match value {
            JsonValue::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_key_no_object_has_selects_nothing_and_a_rep_must_match_exactly() {
        let mut tree = Tree::default();
        let object = tree.insert(&json!({"__typename": "P", "upc": "1", "w": 2}));
        let set = SelSet(vec![leaf("upc"), leaf("w")]);
        let inputs = Inputs::resolve(&tree, &set);
        let rep = inputs.select(&tree, object).unwrap();
        assert_eq!(JsonValue::Object(rep.clone()), json!({"upc": "1", "w": 2}));
        assert!(inputs.same(&tree, object, &rep));
        assert!(!inputs.same(&tree, object, &map(json!({"upc": "1", "w": 3}))));
        assert!(!inputs.same(&tree, object, &map(json!({"upc": "1", "w": 2, "x": 0}))));
        let missing = SelSet(vec![leaf("upc"), leaf("nowhere")]);
        let missing = Inputs::resolve(&tree, &missing);
        assert!(missing.select(&tree, object).is_none());
        assert!(
            missing
                .hash(&tree, object, &mut ahash::AHasher::default())
                .is_none()
        );
    }
}
