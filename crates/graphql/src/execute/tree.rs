//! The response tree a plan fills in: an arena of values in which an entity answer is stored once
//! per place in the query and shared by every object it extends there.
//!
//! A subgraph answer is converted into nodes once; merging it into an object links the object's
//! new fields to the answer's nodes instead of copying them. Sharing is limited to objects at
//! one place in the query (one entity source), so every node is reached by one query path:
//! what later fetches add to a shared node is what each of its places would have received.
//!
//! Object keys are interned per tree ([`Sym`]): walks and merges compare and copy integers, and
//! building or dropping an object touches no reference count per key.
//!
//! A subgraph's response is decoded into a tree of its own (`decode`), shared by the client
//! requests that made the call; a request copies the objects and lists it merges into its
//! tree and refers to the answer's leaves in place (the tree keeps the answer alive).

use std::collections::HashMap;
use std::sync::Arc;

use apollo_compiler::response::{JsonMap, JsonValue};
use serde_json_bytes::ByteString;
use serde_json_bytes::serde_json::Number;

use super::decode::Decoded;

/// A node's index in the tree.
pub type NodeId = u32;

/// The root object (the response's `data`).
pub const ROOT: NodeId = 0;

/// An object key, interned in its tree.
pub type Sym = u32;

/// The key `__typename`, interned first in every tree.
pub const TYPENAME: Sym = 0;

/// The keys a tree's objects use, and their type names, each stored once.
#[derive(Debug)]
struct Keys {
    index: HashMap<ByteString, Sym, ahash::RandomState>,
    names: Vec<ByteString>,
}

impl Default for Keys {
    fn default() -> Self {
        let mut keys = Keys {
            index: HashMap::default(),
            names: Vec::new(),
        };
        keys.intern(&ByteString::from("__typename"));
        keys
    }
}

impl Keys {
    fn intern(&mut self, key: &ByteString) -> Sym {
        if let Some(sym) = self.index.get(key.as_str()) {
            return *sym;
        }
        self.add(key.clone())
    }

    fn intern_str(&mut self, key: &str) -> Sym {
        if let Some(sym) = self.index.get(key) {
            return *sym;
        }
        self.add(key.into())
    }

    fn add(&mut self, key: ByteString) -> Sym {
        let sym = self.names.len() as Sym;
        self.names.push(key.clone());
        self.index.insert(key, sym);
        sym
    }
}

/// One value of the response.
#[derive(Debug, Clone)]
pub enum Node {
    /// A scalar or `null`.
    Leaf(Leaf),
    List(Vec<NodeId>),
    /// Fields in the order they arrived.
    Object(Vec<(Sym, NodeId)>),
}

/// A scalar or `null`: a JSON value without the room an object's map takes, so that nodes
/// stay small (40 bytes, against 88 for a [`JsonValue`]) and walks touch fewer cache lines.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Leaf {
    Null,
    Bool(bool),
    Number(Number),
    String(ByteString),
}

impl Leaf {
    /// The leaf of a scalar or `null`; `None` for an object or a list.
    fn of(value: &JsonValue) -> Option<Leaf> {
        Some(match value {
            JsonValue::Null => Leaf::Null,
            JsonValue::Bool(b) => Leaf::Bool(*b),
            JsonValue::Number(n) => Leaf::Number(n.clone()),
            JsonValue::String(s) => Leaf::String(s.clone()),
            JsonValue::Array(_) | JsonValue::Object(_) => return None,
        })
    }

    pub fn to_json(&self) -> JsonValue {
        match self {
            Leaf::Null => JsonValue::Null,
            Leaf::Bool(b) => JsonValue::Bool(*b),
            Leaf::Number(n) => JsonValue::Number(n.clone()),
            Leaf::String(s) => JsonValue::String(s.clone()),
        }
    }

    /// Whether `value` is this leaf.
    pub fn is(&self, value: &JsonValue) -> bool {
        match (self, value) {
            (Leaf::Null, JsonValue::Null) => true,
            (Leaf::Bool(a), JsonValue::Bool(b)) => a == b,
            (Leaf::Number(a), JsonValue::Number(b)) => a == b,
            (Leaf::String(a), JsonValue::String(b)) => a == b,
            _ => false,
        }
    }

    pub fn write_json(&self, out: &mut Vec<u8>) {
        // Writing JSON to a Vec cannot fail.
        match self {
            Leaf::Null => out.extend_from_slice(b"null"),
            Leaf::Bool(true) => out.extend_from_slice(b"true"),
            Leaf::Bool(false) => out.extend_from_slice(b"false"),
            Leaf::Number(n) => drop(serde_json::to_writer(&mut *out, n)),
            Leaf::String(s) => drop(serde_json::to_writer(&mut *out, s.as_str())),
        }
    }
}

/// A copy in progress from one subgraph answer into a tree.
pub struct Copying {
    answer: Arc<Decoded>,
    /// The answer's index among the tree's `docs`.
    doc: u32,
    /// Per key of the answer, the tree's symbol for it ([`NONE`] until met).
    keys: Vec<Sym>,
}

impl Copying {
    /// Whether this copies from `answer`.
    pub fn is_of(&self, answer: &Arc<Decoded>) -> bool {
        Arc::ptr_eq(&self.answer, answer)
    }
}

/// A place in the arena: a node of this tree, or a leaf of a subgraph answer it refers to.
#[derive(Debug)]
enum Slot {
    Own(Node),
    /// Leaf `node` of answer `docs[doc]`.
    Ref {
        doc: u32,
        node: NodeId,
    },
}

/// The response data as an arena of nodes; the root is an object.
#[derive(Debug)]
pub struct Tree {
    nodes: Vec<Slot>,
    /// The subgraph answers whose leaves this tree refers to.
    docs: Vec<Arc<Decoded>>,
    keys: Keys,
    /// Per node, its `__typename` when that is a string, interned with the keys ([`NONE`] if
    /// none): asked of every object the walks and the shaper meet, so kept rather than
    /// searched for.
    typenames: Vec<Sym>,
}

const NONE: NodeId = NodeId::MAX;

impl Default for Tree {
    fn default() -> Self {
        Tree {
            nodes: vec![Slot::Own(Node::Object(Vec::new()))],
            docs: Vec::new(),
            keys: Keys::default(),
            typenames: vec![NONE],
        }
    }
}

impl Tree {
    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn node(&self, id: NodeId) -> &Node {
        match &self.nodes[id as usize] {
            Slot::Own(node) => node,
            Slot::Ref { doc, node } => self.docs[*doc as usize].tree.node(*node),
        }
    }

    /// Node `id` of this tree, to change (objects and lists are always the tree's own).
    fn own_mut(&mut self, id: NodeId) -> Option<&mut Node> {
        match &mut self.nodes[id as usize] {
            Slot::Own(node) => Some(node),
            Slot::Ref { .. } => None,
        }
    }

    /// The fields of object `id` (none when it is not an object).
    pub fn fields(&self, id: NodeId) -> &[(Sym, NodeId)] {
        match self.node(id) {
            Node::Object(fields) => fields,
            _ => &[],
        }
    }

    /// The interned `key`; `None` when no object of the tree has it (a type name may be
    /// interned without being a key).
    #[inline]
    pub fn sym(&self, key: &str) -> Option<Sym> {
        self.keys.index.get(key).copied()
    }

    /// The key `sym` stands for.
    pub fn key(&self, sym: Sym) -> &str {
        self.keys.names[sym as usize].as_str()
    }

    /// The value of `key` in object `id`.
    #[inline]
    pub fn field(&self, id: NodeId, key: &str) -> Option<NodeId> {
        self.get(id, self.sym(key)?)
    }

    /// The value of the field keyed `sym` in object `id`.
    #[inline]
    pub fn get(&self, id: NodeId, sym: Sym) -> Option<NodeId> {
        let fields = self.fields(id);
        position(fields, sym).map(|i| fields[i].1)
    }

    /// The `__typename` of object `id`, when it has one that is a string.
    pub fn typename(&self, id: NodeId) -> Option<&str> {
        let sym = self.typenames[id as usize];
        (sym != NONE).then(|| self.key(sym))
    }

    fn push(&mut self, node: Node) -> NodeId {
        self.push_slot(Slot::Own(node))
    }

    fn push_slot(&mut self, slot: Slot) -> NodeId {
        self.nodes.push(slot);
        self.typenames.push(NONE);
        (self.nodes.len() - 1) as NodeId
    }

    /// Interns object key `key`.
    pub fn intern(&mut self, key: &str) -> Sym {
        self.keys.intern_str(key)
    }

    /// Stores a leaf.
    pub fn leaf(&mut self, leaf: Leaf) -> NodeId {
        self.push(Node::Leaf(leaf))
    }

    /// Stores a list of stored nodes.
    pub fn list(&mut self, items: Vec<NodeId>) -> NodeId {
        self.push(Node::List(items))
    }

    /// Stores an object of stored nodes. Its fields are this tree's own nodes (decoded or
    /// inserted, never references to an answer: copies take the answer's type name instead).
    pub fn object(&mut self, fields: Vec<(Sym, NodeId)>) -> NodeId {
        let typename = position(&fields, TYPENAME).map(|i| &self.nodes[fields[i].1 as usize]);
        // Interned by `&str`: the name is copied only the first time it is met.
        let typename = match typename {
            Some(Slot::Own(Node::Leaf(Leaf::String(s)))) => self.keys.intern_str(s.as_str()),
            _ => NONE,
        };
        self.object_of_type(fields, typename)
    }

    fn object_of_type(&mut self, fields: Vec<(Sym, NodeId)>, typename: Sym) -> NodeId {
        let id = self.push(Node::Object(fields));
        self.typenames[id as usize] = typename;
        id
    }

    /// Starts copying from `answer`: the tree keeps it, to refer to its leaves.
    pub fn copying(&mut self, answer: &Arc<Decoded>) -> Copying {
        self.docs.push(answer.clone());
        Copying {
            answer: answer.clone(),
            doc: (self.docs.len() - 1) as u32,
            keys: vec![NONE; answer.tree.keys.names.len()],
        }
    }

    /// Copies node `id` of the answer `from` copies: objects and lists as new nodes (they may
    /// be merged into), leaves as references.
    pub fn copy(&mut self, from: &mut Copying, id: NodeId) -> NodeId {
        let Copying { answer, doc, keys } = from;
        self.copy_node(&answer.tree, *doc, keys, id)
    }

    fn copy_node(&mut self, answer: &Tree, doc: u32, keys: &mut [Sym], id: NodeId) -> NodeId {
        match answer.node(id) {
            Node::Leaf(_) => self.push_slot(Slot::Ref { doc, node: id }),
            Node::List(items) => {
                let items = items
                    .iter()
                    .map(|i| self.copy_node(answer, doc, keys, *i))
                    .collect();
                self.list(items)
            }
            Node::Object(fields) => {
                let fields = fields
                    .iter()
                    .map(|(k, v)| {
                        let k = self.copied_key(answer, keys, *k);
                        (k, self.copy_node(answer, doc, keys, *v))
                    })
                    .collect();
                let typename = answer.typenames[id as usize];
                let typename = match typename {
                    NONE => NONE,
                    t => self.copied_key(answer, keys, t),
                };
                self.object_of_type(fields, typename)
            }
        }
    }

    /// This tree's symbol for `answer`'s symbol `sym`.
    fn copied_key(&mut self, answer: &Tree, keys: &mut [Sym], sym: Sym) -> Sym {
        let known = &mut keys[sym as usize];
        if *known == NONE {
            *known = self.keys.intern(&answer.keys.names[sym as usize]);
        }
        *known
    }

    /// Stores `value` as new nodes.
    pub fn insert(&mut self, value: &JsonValue) -> NodeId {
        let node = match value {
            JsonValue::Object(map) => return self.insert_map(map),
            JsonValue::Array(items) => Node::List(items.iter().map(|v| self.insert(v)).collect()),
            scalar => Node::Leaf(Leaf::of(scalar).unwrap_or(Leaf::Null)),
        };
        self.push(node)
    }

    /// Stores object `map` as new nodes.
    pub fn insert_map(&mut self, map: &JsonMap) -> NodeId {
        let fields: Vec<(Sym, NodeId)> = map
            .iter()
            .map(|(k, v)| (self.keys.intern(k), self.insert(v)))
            .collect();
        self.object(fields)
    }

    /// Removes field `key` from object `id`.
    pub fn remove_field(&mut self, id: NodeId, key: &str) {
        let Some(sym) = self.sym(key) else {
            return;
        };
        if let Some(Node::Object(fields)) = self.own_mut(id) {
            fields.retain(|(k, _)| *k != sym);
        }
        if sym == TYPENAME {
            self.typenames[id as usize] = NONE;
        }
    }

    /// Merges object `source` into object `target`: objects field by field, lists item by item.
    /// A field `target` lacks is linked to `source`'s node, not copied; `__typename` is kept.
    pub fn merge(&mut self, target: NodeId, source: NodeId) {
        if target == source {
            return;
        }
        for i in 0..self.fields(source).len() {
            let (key, from) = self.fields(source)[i];
            match position(self.fields(target), key) {
                Some(_) if key == TYPENAME => {}
                Some(at) => self.merge_field(target, at, from),
                None => {
                    if key == TYPENAME {
                        self.typenames[target as usize] = self.typenames[source as usize];
                    }
                    if let Some(Node::Object(fields)) = self.own_mut(target) {
                        fields.push((key, from));
                    }
                }
            }
        }
    }

    /// Merges node `from` into field `at` of object `target`.
    fn merge_field(&mut self, target: NodeId, at: usize, from: NodeId) {
        let into = self.fields(target)[at].1;
        if let Some(replacement) = self.merge_value(into, from)
            && let Some(Node::Object(fields)) = self.own_mut(target)
        {
            fields[at].1 = replacement;
        }
    }

    /// Merges `from` into `into`; `Some(from)` when `into` is to be replaced by it instead.
    fn merge_value(&mut self, into: NodeId, from: NodeId) -> Option<NodeId> {
        match (self.node(into), self.node(from)) {
            (Node::Object(_), Node::Object(_)) => self.merge(into, from),
            (Node::List(a), Node::List(b)) if a.len() == b.len() => {
                for j in 0..b.len() {
                    let (a, b) = (self.item(into, j), self.item(from, j));
                    match (self.node(a), self.node(b)) {
                        (Node::Object(_), Node::Object(_)) => self.merge(a, b),
                        _ => self.set_item(into, j, b),
                    }
                }
            }
            _ => return Some(from),
        }
        None
    }

    fn item(&self, list: NodeId, j: usize) -> NodeId {
        match self.node(list) {
            Node::List(items) => items[j],
            _ => unreachable!("item of a list node"),
        }
    }

    fn set_item(&mut self, list: NodeId, j: usize, value: NodeId) {
        if let Some(Node::List(items)) = self.own_mut(list) {
            items[j] = value;
        }
    }

    /// Writes node `id` as JSON.
    pub fn write_json(&self, id: NodeId, out: &mut Vec<u8>) {
        match self.node(id) {
            Node::Leaf(leaf) => leaf.write_json(out),
            Node::List(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.write_json(*item, out);
                }
                out.push(b']');
            }
            Node::Object(fields) => {
                out.push(b'{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    // Writing JSON to a Vec cannot fail.
                    drop(serde_json::to_writer(&mut *out, self.key(*key)));
                    out.push(b':');
                    self.write_json(*value, out);
                }
                out.push(b'}');
            }
        }
    }

    /// Node `id` as a JSON value (a copy).
    pub fn to_json(&self, id: NodeId) -> JsonValue {
        match self.node(id) {
            Node::Leaf(leaf) => leaf.to_json(),
            Node::List(items) => JsonValue::Array(items.iter().map(|i| self.to_json(*i)).collect()),
            Node::Object(fields) => JsonValue::Object(
                fields
                    .iter()
                    .map(|(k, v)| (self.keys.names[*k as usize].clone(), self.to_json(*v)))
                    .collect(),
            ),
        }
    }
}

/// Where `key` is among `fields`: a scan (GraphQL objects are mostly a handful of fields).
#[inline]
fn position(fields: &[(Sym, NodeId)], key: Sym) -> Option<usize> {
    fields.iter().position(|(k, _)| *k == key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json_bytes::json;

    fn tree_of(value: JsonValue) -> (Tree, NodeId) {
        let mut tree = Tree::default();
        let id = tree.insert(&value);
        (tree, id)
    }

    #[test]
    fn a_merged_answer_is_linked_not_copied_and_reads_back_whole() {
        let (mut tree, a) = tree_of(json!({"__typename": "P", "upc": "1"}));
        let b = tree.insert(&json!({"__typename": "P", "upc": "1"}));
        let answer = tree.insert(&json!({"__typename": "P", "reviews": [{"id": 1}]}));
        let before = tree.nodes.len();
        tree.merge(a, answer);
        tree.merge(b, answer);
        assert_eq!(tree.nodes.len(), before, "no node was copied");
        assert_eq!(tree.field(a, "reviews"), tree.field(b, "reviews"));
        assert_eq!(
            tree.to_json(a),
            json!({"__typename": "P", "upc": "1", "reviews": [{"id": 1}]})
        );
    }

    #[test]
    fn a_node_is_small() {
        assert!(
            std::mem::size_of::<Node>() <= 40,
            "{}",
            std::mem::size_of::<Node>()
        );
    }

    #[test]
    fn leaves_write_and_read_back_as_the_json_they_came_from() {
        let value = json!({"n": null, "t": true, "f": false, "i": -3, "x": 1.5, "s": "a\"b"});
        let (tree, id) = tree_of(value.clone());
        assert_eq!(tree.to_json(id), value);
        let mut out = Vec::new();
        tree.write_json(id, &mut out);
        assert_eq!(serde_json::from_slice::<JsonValue>(&out).unwrap(), value);
        for (sym, leaf) in tree.fields(id) {
            let Node::Leaf(leaf) = tree.node(*leaf) else {
                unreachable!()
            };
            assert!(leaf.is(&value[tree.key(*sym)]));
            assert!(!leaf.is(&json!("other")));
        }
    }

    #[test]
    fn an_answer_is_copied_with_keys_and_type_names_remapped_and_leaves_shared() {
        let text = br#"{"b": 1, "o": {"__typename": "T", "s": "x", "l": [{"b": 2}]}}"#;
        let answer = Arc::new(Decoded::from_slice(text).unwrap());
        let (mut tree, a) = tree_of(json!({"a": 0, "o": {"__typename": "U", "k": 1}}));
        let mut copying = tree.copying(&answer);
        let copied = tree.copy(&mut copying, answer.root);
        tree.merge(a, copied);
        assert_eq!(
            tree.to_json(a),
            json!({"a": 0, "o": {"__typename": "U", "k": 1, "s": "x", "l": [{"b": 2}]}, "b": 1})
        );
        let o = tree.field(copied, "o").unwrap();
        assert_eq!(
            tree.typename(o),
            Some("T"),
            "the answer's type name came along"
        );
        assert_eq!(tree.typename(tree.field(a, "o").unwrap()), Some("U"));
        let s = tree.field(o, "s").unwrap();
        assert!(
            matches!(tree.nodes[s as usize], Slot::Ref { .. }),
            "leaves are referred to"
        );
        drop(answer);
        assert_eq!(
            tree.to_json(s),
            json!("x"),
            "the tree keeps the answer alive"
        );
    }

    #[test]
    fn keys_are_interned_once_per_tree_and_read_back_by_name() {
        let (mut tree, a) = tree_of(json!({"__typename": "P", "upc": "1", "x": {"upc": "2"}}));
        let b = tree.insert(&json!({"upc": "3"}));
        assert_eq!(
            tree.keys.names.len(),
            4,
            "__typename, upc, x and the type name P"
        );
        let upc = tree.sym("upc").unwrap();
        assert_eq!(tree.key(upc), "upc");
        assert_eq!(tree.sym("__typename"), Some(TYPENAME));
        assert_eq!(tree.sym("nope"), None);
        assert_eq!(tree.field(a, "nope"), None);
        let x = tree.get(a, tree.sym("x").unwrap()).unwrap();
        assert_eq!(tree.to_json(tree.get(x, upc).unwrap()), json!("2"));
        assert_eq!(tree.to_json(tree.get(b, upc).unwrap()), json!("3"));
        assert_eq!(tree.typename(a), Some("P"));
    }

    #[test]
    fn merging_goes_field_by_field_and_item_by_item() {
        let (mut tree, a) = tree_of(json!({"x": {"y": 1}, "l": [{"a": 1}, 2], "s": "old"}));
        let b = tree.insert(&json!({"x": {"z": 2}, "l": [{"b": 2}, 3], "s": "new"}));
        tree.merge(a, b);
        assert_eq!(
            tree.to_json(a),
            json!({"x": {"y": 1, "z": 2}, "l": [{"a": 1, "b": 2}, 3], "s": "new"})
        );
        let mut out = Vec::new();
        tree.write_json(a, &mut out);
        let written: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            written,
            serde_json::json!({"x": {"y": 1, "z": 2}, "l": [{"a": 1, "b": 2}, 3], "s": "new"})
        );
    }

    #[test]
    fn lists_of_other_lengths_are_replaced_and_typenames_kept() {
        let (mut tree, a) = tree_of(json!({"__typename": "I", "l": [1, 2]}));
        let b = tree.insert(&json!({"__typename": "P", "l": [3]}));
        tree.merge(a, b);
        assert_eq!(tree.to_json(a), json!({"__typename": "I", "l": [3]}));
        assert_eq!(tree.typename(a), Some("I"));
        tree.remove_field(a, "__typename");
        assert_eq!(tree.typename(a), None);
        tree.merge(a, b);
        assert_eq!(tree.typename(a), Some("P"), "a merged __typename is found");
    }
}
