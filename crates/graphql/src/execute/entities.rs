//! Entity fetches against the response tree: the de-duplicated representations of the objects at
//! a fetch's paths, and the answers merged back into those objects in one walk, without paths.

use std::collections::HashMap;
use std::hash::{BuildHasher as _, Hash, Hasher};

use apollo_compiler::response::{JsonMap, JsonValue, ResponseDataPathSegment};

use super::{Path, deep_merge};
use crate::json::{field, field_mut, typename};
use crate::plan::{EntitySource, EntityStep, PathSeg};
use crate::sel::{Sel, SelSet};

/// Which representation of an entity fetch each object at its sources stands for.
#[derive(Debug, Default)]
pub(super) struct Reps {
    /// Number of (distinct) representations.
    pub count: usize,
    /// For the k-th object met walking the sources (in order, depth first): its representation,
    /// or `None` when it takes no part (another type, or a key field missing).
    slots: Vec<Option<usize>>,
}

impl Reps {
    /// The representations of the objects at `entity`'s sources in `data`.
    pub fn collect(data: &JsonMap, entity: &EntityStep) -> (Vec<JsonValue>, Reps) {
        let mut out = Reps::default();
        let mut reps: Vec<JsonValue> = Vec::new();
        // Keyed by the hash of what an object's representation would hold, hashed and compared
        // in place: a representation is built only for an object unlike all before it.
        let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
        let hasher = ahash::RandomState::new();
        for source in &entity.sources {
            visit(data, &source.path, &mut Vec::new(), &mut |_, object| {
                let slot = taking_part(object, source).then(|| {
                    let mut h = hasher.build_hasher();
                    hash_selected(object, &entity.inputs, &mut h)?;
                    let same = index.entry(h.finish()).or_default();
                    let known = same.iter().find(|i| {
                        matches!(&reps[**i], JsonValue::Object(r) if same_selected(object, &entity.inputs, r, entity))
                    });
                    if let Some(i) = known {
                        return Some(*i);
                    }
                    let rep = representation(object, entity)?;
                    same.push(reps.len());
                    reps.push(rep);
                    Some(reps.len() - 1)
                });
                out.slots.push(slot.flatten());
            });
        }
        out.count = reps.len();
        (reps, out)
    }

    /// Merges `answers` (one per representation) into the objects they stand for. The walk
    /// meets the objects in the order [`Reps::collect`] did: fetches running meanwhile only add
    /// fields below them, never objects along their paths (the plan orders those first).
    pub fn merge(&self, data: &mut JsonMap, entity: &EntityStep, answers: &[JsonValue]) {
        let mut k = 0;
        for source in &entity.sources {
            visit_mut(data, &source.path, &mut |object| {
                let slot = self.slots.get(k).copied().flatten();
                k += 1;
                if let Some(JsonValue::Object(answer)) = slot.map(|i| &answers[i]) {
                    merge_entity(object, answer, &entity.tys);
                }
            });
        }
    }

    /// For each representation, the paths of the objects it stands for (for error paths; only
    /// computed when a subgraph reports errors or fails).
    pub fn targets(&self, data: &JsonMap, entity: &EntityStep) -> Vec<Vec<Path>> {
        let mut targets: Vec<Vec<Path>> = vec![Vec::new(); self.count];
        let mut k = 0;
        for source in &entity.sources {
            visit(data, &source.path, &mut Vec::new(), &mut |path, _| {
                if let Some(Some(i)) = self.slots.get(k) {
                    targets[*i].push(path.clone());
                }
                k += 1;
            });
        }
        targets
    }
}

/// Whether `object` is of a type this source takes.
fn taking_part(object: &JsonMap, source: &EntitySource) -> bool {
    typename(object).is_some_and(|t| source.types.iter().any(|x| x == t))
}

/// The representation of `object` for this fetch; `None` when a selected field is missing.
fn representation(object: &JsonMap, entity: &EntityStep) -> Option<JsonValue> {
    let mut rep = select(object, &entity.inputs)?;
    if let (Some(name), JsonValue::Object(map)) = (&entity.typename_as, &mut rep) {
        map.insert("__typename", JsonValue::String(name.as_str().into()));
    }
    Some(rep)
}

/// Merges an entity answer into its object. An interface's name (from an `@interfaceObject`)
/// gives way to the concrete type.
fn merge_entity(target: &mut JsonMap, answer: &JsonMap, asked: &[apollo_compiler::Name]) {
    let known = typename(target);
    let abstract_name = known.is_some_and(|k| asked.iter().any(|t| t == k));
    if abstract_name && answer.contains_key("__typename") {
        target.remove("__typename");
    }
    deep_merge(target, answer);
}

/// Calls `f` with every object at `segs` below `data`, and its path.
fn visit(data: &JsonMap, segs: &[PathSeg], path: &mut Path, f: &mut dyn FnMut(&Path, &JsonMap)) {
    let Some((first, rest)) = segs.split_first() else {
        return f(path, data);
    };
    let PathSeg::Key(key) = first else {
        return;
    };
    if let Some(value) = field(data, key.as_str()) {
        path.push(ResponseDataPathSegment::Field(key.clone()));
        visit_value(value, rest, path, f);
        path.pop();
    }
}

fn visit_value(
    value: &JsonValue,
    segs: &[PathSeg],
    path: &mut Path,
    f: &mut dyn FnMut(&Path, &JsonMap),
) {
    match (value, segs.first()) {
        (JsonValue::Array(items), Some(PathSeg::List)) => {
            for (i, item) in items.iter().enumerate() {
                path.push(ResponseDataPathSegment::ListIndex(i));
                visit_value(item, &segs[1..], path, f);
                path.pop();
            }
        }
        (JsonValue::Object(map), _) => visit(map, segs, path, f),
        _ => {}
    }
}

/// [`visit`] for changing the objects (and without their paths).
fn visit_mut(data: &mut JsonMap, segs: &[PathSeg], f: &mut dyn FnMut(&mut JsonMap)) {
    let Some((first, rest)) = segs.split_first() else {
        return f(data);
    };
    let PathSeg::Key(key) = first else {
        return;
    };
    if let Some(value) = field_mut(data, key.as_str()) {
        visit_value_mut(value, rest, f);
    }
}

fn visit_value_mut(value: &mut JsonValue, segs: &[PathSeg], f: &mut dyn FnMut(&mut JsonMap)) {
    match (value, segs.first()) {
        (JsonValue::Array(items), Some(PathSeg::List)) => {
            for item in items.iter_mut() {
                visit_value_mut(item, &segs[1..], f);
            }
        }
        (JsonValue::Object(map), _) => visit_mut(map, segs, f),
        _ => {}
    }
}

/// Hashes what [`select`] would take from `object`; `None` when a selected field is missing.
fn hash_selected(object: &JsonMap, inputs: &SelSet, h: &mut impl Hasher) -> Option<()> {
    for sel in &inputs.0 {
        match sel {
            Sel::Field(f) => {
                let key = f.response_key().as_str();
                let value = field(object, key)?;
                key.hash(h);
                match &f.selection {
                    Some(sub) => hash_selected_value(value, sub, h)?,
                    None => value.hash(h),
                }
            }
            Sel::On(ty, sub) => {
                if typename(object) == Some(ty.as_str()) {
                    hash_selected(object, sub, h)?;
                }
            }
        }
    }
    Some(())
}

fn hash_selected_value(value: &JsonValue, sub: &SelSet, h: &mut impl Hasher) -> Option<()> {
    match value {
        JsonValue::Object(map) => hash_selected(map, sub, h),
        JsonValue::Array(items) => {
            items.len().hash(h);
            items
                .iter()
                .try_for_each(|i| hash_selected_value(i, sub, h))
        }
        other => {
            other.hash(h);
            Some(())
        }
    }
}

/// Whether `rep` is what this fetch's representation of `object` would be.
fn same_selected(object: &JsonMap, inputs: &SelSet, rep: &JsonMap, entity: &EntityStep) -> bool {
    if entity.typename_as.is_some() {
        // The representation's `__typename` was replaced: compare a fresh one.
        return representation(object, entity)
            .is_some_and(|r| matches!(r, JsonValue::Object(m) if m == *rep));
    }
    same_map(object, inputs, rep)
}

/// Whether `rep` holds exactly what `inputs` selects from `object`.
fn same_map(object: &JsonMap, inputs: &SelSet, rep: &JsonMap) -> bool {
    let mut matched = 0;
    same_into(object, inputs, rep, &mut matched) && matched == rep.len()
}

fn same_into(object: &JsonMap, inputs: &SelSet, rep: &JsonMap, matched: &mut usize) -> bool {
    inputs.0.iter().all(|sel| match sel {
        Sel::Field(f) => {
            let key = f.response_key().as_str();
            let (Some(value), Some(held)) = (field(object, key), field(rep, key)) else {
                return false;
            };
            *matched += 1;
            same_value(value, f.selection.as_ref(), held)
        }
        Sel::On(ty, sub) => {
            typename(object) != Some(ty.as_str()) || same_into(object, sub, rep, matched)
        }
    })
}

fn same_value(value: &JsonValue, sub: Option<&SelSet>, held: &JsonValue) -> bool {
    match (sub, value, held) {
        (Some(sub), JsonValue::Object(map), JsonValue::Object(h)) => same_map(map, sub, h),
        (Some(sub), JsonValue::Array(items), JsonValue::Array(h)) => {
            items.len() == h.len()
                && items
                    .iter()
                    .zip(h)
                    .all(|(i, h)| same_value(i, Some(sub), h))
        }
        _ => value == held,
    }
}

/// The part of `object` that `inputs` selects; `None` when a selected field is missing.
fn select(object: &JsonMap, inputs: &SelSet) -> Option<JsonValue> {
    let mut out = JsonMap::new();
    select_into(object, inputs, &mut out)?;
    Some(JsonValue::Object(out))
}

fn select_into(object: &JsonMap, inputs: &SelSet, out: &mut JsonMap) -> Option<()> {
    for sel in &inputs.0 {
        match sel {
            Sel::Field(f) => {
                let key = f.response_key().as_str();
                let value = field(object, key)?;
                let value = match &f.selection {
                    Some(sub) => select_value(value, sub)?,
                    None => value.clone(),
                };
                out.insert(key, value);
            }
            Sel::On(ty, sub) => {
                if typename(object) == Some(ty.as_str()) {
                    select_into(object, sub, out)?;
                }
            }
        }
    }
    Some(())
}

fn select_value(value: &JsonValue, sub: &SelSet) -> Option<JsonValue> {
    match value {
        JsonValue::Object(map) => select(map, sub),
        JsonValue::Array(items) => items
            .iter()
            .map(|i| select_value(i, sub))
            .collect::<Option<Vec<_>>>()
            .map(JsonValue::Array),
        other => Some(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sel::FieldSel;
    use apollo_compiler::Name;
    use serde_json_bytes::json;

    fn name(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    /// Products at `products.@`, keyed by `upc` and `dims { w h }`.
    fn step() -> EntityStep {
        let dims = FieldSel {
            selection: Some(SelSet(vec![
                Sel::Field(FieldSel::leaf(name("w"))),
                Sel::Field(FieldSel::leaf(name("h"))),
            ])),
            ..FieldSel::leaf(name("dims"))
        };
        let inputs = SelSet(vec![
            Sel::Field(FieldSel::leaf(name("__typename"))),
            Sel::Field(FieldSel::leaf(name("upc"))),
            Sel::Field(dims),
        ]);
        EntityStep {
            sources: vec![EntitySource {
                path: vec![PathSeg::Key(name("products")), PathSeg::List],
                types: [name("Product")].into(),
            }],
            tys: vec![name("Product")],
            inputs: SelSet(vec![Sel::On(name("Product"), inputs)]),
            typename_as: None,
        }
    }

    fn data(products: JsonValue) -> JsonMap {
        match json!({ "products": products }) {
            JsonValue::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn equal_keys_share_a_representation_and_every_object_gets_the_answer() {
        let mut data = data(json!([
            {"__typename": "Product", "upc": "1", "dims": {"w": 1, "h": 2}, "seen": "a"},
            {"__typename": "Product", "upc": "1", "dims": {"w": 1, "h": 2}, "seen": "b"},
            {"__typename": "Product", "upc": "1", "dims": {"w": 1, "h": 3}},
            {"__typename": "Product", "upc": "2"},
            {"__typename": "Review", "upc": "1", "dims": {"w": 1, "h": 2}},
            {"__typename": "Product", "upc": "2", "dims": {"w": 1, "h": 2}},
        ]));
        let entity = step();
        let (reps, slots) = Reps::collect(&data, &entity);
        assert_eq!(
            JsonValue::Array(reps),
            json!([
                {"__typename": "Product", "upc": "1", "dims": {"w": 1, "h": 2}},
                {"__typename": "Product", "upc": "1", "dims": {"w": 1, "h": 3}},
                {"__typename": "Product", "upc": "2", "dims": {"w": 1, "h": 2}},
            ])
        );
        let answers = vec![
            json!({"name": "one"}),
            json!({"name": "one'"}),
            json!({"name": "two"}),
        ];
        slots.merge(&mut data, &entity, &answers);
        let names: Vec<Option<&str>> = data["products"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.get("name").and_then(|n| n.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                Some("one"),
                Some("one"),
                Some("one'"),
                None,
                None,
                Some("two")
            ]
        );
        let targets = slots.targets(&data, &entity);
        let paths: Vec<usize> = targets.iter().map(Vec::len).collect();
        assert_eq!(paths, [2, 1, 1]);
    }
}
