//! Entity fetches against the response tree: the de-duplicated representations of the objects at
//! a fetch's sources, and the answers merged back into those objects, each answer stored once per
//! source and shared by the objects it extends there.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher as _, Hasher};

use apollo_compiler::response::{JsonMap, JsonValue, ResponseDataPathSegment};

use super::inputs::Inputs;
use super::tree::{Copying, Node, NodeId, ROOT, Sym, Tree};
use super::{Answer, Path};
use crate::plan::{EntitySource, EntityStep, PathSeg};

type FastMap<K, V> = HashMap<K, V, ahash::RandomState>;

/// Which representation of an entity fetch each object at its sources stands for.
#[derive(Debug, Default)]
pub(super) struct Reps {
    /// Number of (distinct) representations.
    pub count: usize,
    /// Each object taking part, once however many places reach it.
    slots: Vec<Slot>,
}

/// An object taking part in an entity fetch.
#[derive(Debug, Clone, Copy)]
struct Slot {
    object: NodeId,
    /// Its representation.
    rep: usize,
    /// The source (place in the query) it was found at.
    source: usize,
}

impl Reps {
    /// The representations of the objects at `entity`'s sources in `tree`.
    pub fn collect(tree: &Tree, entity: &EntityStep) -> (Vec<JsonValue>, Reps) {
        let mut out = Reps::default();
        let mut reps: Vec<JsonValue> = Vec::new();
        // Keyed by the hash of what an object's representation would hold, hashed and compared
        // in place: a representation is built only for an object unlike all before it.
        let mut index: FastMap<u64, Vec<usize>> = FastMap::default();
        let mut seen: HashSet<NodeId, ahash::RandomState> = HashSet::default();
        let hasher = ahash::RandomState::new();
        let mut walked = Walked::new(tree);
        let inputs = Inputs::resolve(tree, &entity.inputs);
        for (s, source) in entity.sources.iter().enumerate() {
            walked.next_source();
            let Some(steps) = steps(tree, &source.path) else {
                continue;
            };
            visit(tree, ROOT, &steps, &mut walked, &mut |object| {
                if !taking_part(tree, object, source) || !seen.insert(object) {
                    return;
                }
                let rep = (|| {
                    let mut h = hasher.build_hasher();
                    inputs.hash(tree, object, &mut h)?;
                    let same = index.entry(h.finish()).or_default();
                    let known = same.iter().find(|i| {
                        matches!(&reps[**i], JsonValue::Object(r) if same_selected(tree, object, r, entity, &inputs))
                    });
                    if let Some(i) = known {
                        return Some(*i);
                    }
                    let rep = representation(tree, object, entity, &inputs)?;
                    same.push(reps.len());
                    reps.push(rep);
                    Some(reps.len() - 1)
                })();
                if let Some(rep) = rep {
                    out.slots.push(Slot {
                        object,
                        rep,
                        source: s,
                    });
                }
            });
        }
        out.count = reps.len();
        (reps, out)
    }

    /// Merges `answers` (one per representation) into the objects they stand for. Objects keep
    /// their place in the tree while fetches run meanwhile: those only add fields below them
    /// (the plan orders fetches that make objects along a fetch's paths before it).
    pub fn merge(&self, tree: &mut Tree, entity: &EntityStep, body: &Answer, answers: &[NodeId]) {
        self.merge_with(tree, entity, |rep| (body, answers[rep]));
    }

    /// [`Reps::merge`] with answers received earlier in the request, each from its own call.
    pub fn merge_known(&self, tree: &mut Tree, entity: &EntityStep, known: &[(Answer, NodeId)]) {
        self.merge_with(tree, entity, |rep| (&known[rep].0, known[rep].1));
    }

    /// Merges the answer `answer_of(rep)` (a subgraph response and its node) into each object.
    /// An answer is copied once per source and shared by the objects it extends there.
    fn merge_with<'a>(
        &self,
        tree: &mut Tree,
        entity: &EntityStep,
        answer_of: impl Fn(usize) -> (&'a Answer, NodeId),
    ) {
        let mut stored: Vec<Option<NodeId>> = vec![None; self.count * entity.sources.len()];
        let mut copying: Vec<Copying> = Vec::new();
        for slot in &self.slots {
            let (body, answer) = answer_of(slot.rep);
            if !matches!(body.tree.node(answer), Node::Object(_)) {
                continue;
            }
            let at = slot.source * self.count + slot.rep;
            let answer = match stored[at] {
                Some(copied) => copied,
                None => {
                    let from = copying_of(&mut copying, tree, body);
                    let copied = tree.copy(&mut copying[from], answer);
                    stored[at] = Some(copied);
                    copied
                }
            };
            merge_entity(tree, slot.object, answer, &entity.tys);
        }
    }

    /// For each representation, the paths of the objects it stands for (for error paths; only
    /// computed when a subgraph reports errors or fails).
    pub fn targets(&self, tree: &Tree, entity: &EntityStep) -> Vec<Vec<Path>> {
        let reps: FastMap<NodeId, usize> = self.slots.iter().map(|s| (s.object, s.rep)).collect();
        let mut targets: Vec<Vec<Path>> = vec![Vec::new(); self.count];
        for source in &entity.sources {
            visit_paths(
                tree,
                ROOT,
                &source.path,
                &mut Vec::new(),
                &mut |path, object| {
                    if let Some(rep) = reps.get(&object) {
                        targets[*rep].push(path.clone());
                    }
                },
            );
        }
        targets
    }
}

/// Whether `object` is of a type this source takes.
fn taking_part(tree: &Tree, object: NodeId, source: &EntitySource) -> bool {
    tree.typename(object)
        .is_some_and(|t| source.types.iter().any(|x| x == t))
}

/// The representation of `object` for this fetch; `None` when a selected field is missing.
fn representation(
    tree: &Tree,
    object: NodeId,
    entity: &EntityStep,
    inputs: &Inputs<'_>,
) -> Option<JsonValue> {
    let mut rep = inputs.select(tree, object)?;
    if let Some(name) = &entity.typename_as {
        rep.insert("__typename", JsonValue::String(name.as_str().into()));
    }
    Some(JsonValue::Object(rep))
}

/// Whether `rep` is what this fetch's representation of `object` would be.
fn same_selected(
    tree: &Tree,
    object: NodeId,
    rep: &JsonMap,
    entity: &EntityStep,
    inputs: &Inputs<'_>,
) -> bool {
    if entity.typename_as.is_some() {
        // The representation's `__typename` was replaced: compare a fresh one.
        return representation(tree, object, entity, inputs)
            .is_some_and(|r| matches!(r, JsonValue::Object(m) if m == *rep));
    }
    inputs.same(tree, object, rep)
}

/// The index in `copying` of the copy state for `body`, added on first use (one per subgraph
/// answer, so a key table is built once per answer however many entities it gives).
fn copying_of(copying: &mut Vec<Copying>, tree: &mut Tree, body: &Answer) -> usize {
    match copying.iter().position(|c| c.is_of(body)) {
        Some(i) => i,
        None => {
            copying.push(tree.copying(body));
            copying.len() - 1
        }
    }
}

/// Merges an entity answer into its object. An interface's name (from an `@interfaceObject`)
/// gives way to the concrete type.
fn merge_entity(tree: &mut Tree, target: NodeId, answer: NodeId, asked: &[apollo_compiler::Name]) {
    let known = tree.typename(target);
    let abstract_name = known.is_some_and(|k| asked.iter().any(|t| t == k));
    if abstract_name && tree.field(answer, "__typename").is_some() {
        tree.remove_field(target, "__typename");
    }
    tree.merge(target, answer);
}

/// Which nodes a walk along one source's path has been through. A node is reached by one query
/// path (see `tree`), so a node met again is met at the same step, with the same objects below.
struct Walked {
    stamps: Vec<u32>,
    stamp: u32,
}

impl Walked {
    fn new(tree: &Tree) -> Self {
        Walked {
            stamps: vec![0; tree.len()],
            stamp: 0,
        }
    }

    /// Starts the walk of the next source.
    fn next_source(&mut self) {
        self.stamp += 1;
    }

    /// Whether this walk meets `id` for the first time.
    fn first(&mut self, id: NodeId) -> bool {
        let slot = &mut self.stamps[id as usize];
        let first = *slot != self.stamp;
        *slot = self.stamp;
        first
    }
}

/// A step of a source's path, its key interned in the tree.
#[derive(Clone, Copy)]
enum Step {
    Key(Sym),
    List,
}

/// `path` with its keys interned; `None` when a key is in no object of the tree (then nothing
/// is at the path).
fn steps(tree: &Tree, path: &[PathSeg]) -> Option<Vec<Step>> {
    path.iter()
        .map(|seg| match seg {
            PathSeg::Key(key) => tree.sym(key.as_str()).map(Step::Key),
            PathSeg::List => Some(Step::List),
        })
        .collect()
}

/// Calls `f` once with every object at `steps` below object `id`, however many places reach
/// it.
fn visit(tree: &Tree, id: NodeId, steps: &[Step], walked: &mut Walked, f: &mut dyn FnMut(NodeId)) {
    let Some((first, rest)) = steps.split_first() else {
        return f(id);
    };
    let Step::Key(key) = first else {
        return;
    };
    if let Some(value) = tree.get(id, *key) {
        visit_value(tree, value, rest, walked, f);
    }
}

fn visit_value(
    tree: &Tree,
    id: NodeId,
    segs: &[Step],
    walked: &mut Walked,
    f: &mut dyn FnMut(NodeId),
) {
    if !walked.first(id) {
        return;
    }
    match (tree.node(id), segs.first()) {
        (Node::List(items), Some(Step::List)) => {
            for item in items {
                visit_value(tree, *item, &segs[1..], walked, f);
            }
        }
        (Node::Object(_), _) => visit(tree, id, segs, walked, f),
        _ => {}
    }
}

/// [`visit`], with each object's path.
fn visit_paths(
    tree: &Tree,
    id: NodeId,
    segs: &[PathSeg],
    path: &mut Path,
    f: &mut dyn FnMut(&Path, NodeId),
) {
    let Some((first, rest)) = segs.split_first() else {
        return f(path, id);
    };
    let PathSeg::Key(key) = first else {
        return;
    };
    if let Some(value) = tree.field(id, key.as_str()) {
        path.push(ResponseDataPathSegment::Field(key.clone()));
        visit_value_paths(tree, value, rest, path, f);
        path.pop();
    }
}

fn visit_value_paths(
    tree: &Tree,
    id: NodeId,
    segs: &[PathSeg],
    path: &mut Path,
    f: &mut dyn FnMut(&Path, NodeId),
) {
    match (tree.node(id), segs.first()) {
        (Node::List(items), Some(PathSeg::List)) => {
            for (i, item) in items.iter().enumerate() {
                path.push(ResponseDataPathSegment::ListIndex(i));
                visit_value_paths(tree, *item, &segs[1..], path, f);
                path.pop();
            }
        }
        (Node::Object(_), _) => visit_paths(tree, id, segs, path, f),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execute::Decoded;
    use crate::sel::{FieldSel, Sel, SelSet};
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

    /// Merges `answers` (a list, one per representation) as a subgraph would send them.
    fn merge(reps: &Reps, tree: &mut Tree, entity: &EntityStep, answers: JsonValue) {
        let body = Answer::new(Decoded::from_slice(answers.to_string().as_bytes()).unwrap());
        let Node::List(items) = body.tree.node(body.root) else {
            unreachable!()
        };
        reps.merge(tree, entity, &body, items);
    }

    fn data(products: JsonValue) -> Tree {
        let mut tree = Tree::default();
        let data = tree.insert(&json!({ "products": products }));
        tree.merge(ROOT, data);
        tree
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
        let answers = json!([{"name": "one"}, {"name": "one'"}, {"name": "two"}]);
        merge(&slots, &mut data, &entity, answers);
        let merged = data.to_json(ROOT);
        let names: Vec<Option<&str>> = merged["products"]
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

    #[test]
    fn an_object_reached_from_many_places_takes_part_once() {
        let mut data = data(json!([
            {"__typename": "Product", "upc": "1", "dims": {"w": 1, "h": 2}},
            {"__typename": "Product", "upc": "1", "dims": {"w": 1, "h": 2}},
        ]));
        let entity = step();
        let (_, slots) = Reps::collect(&data, &entity);
        // Both products get the one answer, whose `related` object they then share.
        let answers = json!([{"related": {"__typename": "Product", "upc": "9"}}]);
        merge(&slots, &mut data, &entity, answers);
        let related = EntityStep {
            sources: vec![EntitySource {
                path: vec![
                    PathSeg::Key(name("products")),
                    PathSeg::List,
                    PathSeg::Key(name("related")),
                ],
                types: [name("Product")].into(),
            }],
            inputs: SelSet(vec![Sel::Field(FieldSel::leaf(name("upc")))]),
            ..step()
        };
        let (reps, slots) = Reps::collect(&data, &related);
        assert_eq!(JsonValue::Array(reps), json!([{"upc": "9"}]));
        assert_eq!(slots.slots.len(), 1, "one object, not one per place");
        merge(&slots, &mut data, &related, json!([{"name": "nine"}]));
        assert_eq!(
            data.to_json(ROOT)["products"],
            json!([
                {"__typename": "Product", "upc": "1", "dims": {"w": 1, "h": 2}, "related": {"__typename": "Product", "upc": "9", "name": "nine"}},
                {"__typename": "Product", "upc": "1", "dims": {"w": 1, "h": 2}, "related": {"__typename": "Product", "upc": "9", "name": "nine"}},
            ])
        );
        let paths: Vec<usize> = slots
            .targets(&data, &related)
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(paths, [2], "errors reach every place");
    }
}
