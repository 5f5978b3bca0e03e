//! A subgraph's response body decoded straight into response-tree nodes, once per call and
//! shared by every client request that made it: no JSON value with a hash index per object is
//! built first, and a request copies what it merges by symbol table, not by hashing keys again.

use std::fmt;

use apollo_compiler::response::JsonValue;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json_bytes::serde_json::Number;

use super::tree::{Leaf, Node, NodeId, Sym, Tree};

/// A decoded subgraph response.
#[derive(Debug)]
pub struct Decoded {
    pub(crate) tree: Tree,
    /// The response's top value.
    pub(crate) root: NodeId,
}

impl Decoded {
    /// Decodes a JSON text (any JSON value; a GraphQL response is an object).
    pub fn from_slice(bytes: &[u8]) -> Result<Decoded, serde_json::Error> {
        // UTF-8 is checked once for the whole body (a reader of bytes checks every string and
        // key on its own, at a cost per call that short strings do not amortize).
        let text = std::str::from_utf8(bytes).map_err(serde::de::Error::custom)?;
        let mut tree = Tree::default();
        let mut de = serde_json::Deserializer::from_str(text);
        let root = Value(&mut tree, 0).deserialize(&mut de)?;
        de.end()?;
        Ok(Decoded { tree, root })
    }

    /// Whether the response is a JSON object.
    pub fn is_object(&self) -> bool {
        matches!(self.tree.node(self.root), Node::Object(_))
    }

    /// The top-level field `key` of the response.
    pub(crate) fn field(&self, key: &str) -> Option<NodeId> {
        self.tree.field(self.root, key)
    }

    /// Whether the response has `data` that is not `null`.
    pub fn has_data(&self) -> bool {
        self.field("data")
            .is_some_and(|d| !matches!(self.tree.node(d), Node::Leaf(Leaf::Null)))
    }

    /// The whole response as a JSON value (a copy; for tests and diagnostics).
    pub fn to_json(&self) -> JsonValue {
        self.tree.to_json(self.root)
    }
}

/// Deepest nesting of lists and objects decoded (as serde_json's default), so that a hostile
/// answer cannot exhaust the stack.
const MAX_DEPTH: u32 = 128;

/// Decodes one JSON value, at the given nesting depth, into the tree.
struct Value<'t>(&'t mut Tree, u32);

impl Value<'_> {
    /// The seed for a value nested in this one.
    fn nested<E: serde::de::Error>(&mut self) -> Result<Value<'_>, E> {
        if self.1 >= MAX_DEPTH {
            return Err(E::custom("JSON nested too deeply"));
        }
        Ok(Value(&mut *self.0, self.1 + 1))
    }
}

impl<'de> DeserializeSeed<'de> for Value<'_> {
    type Value = NodeId;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<NodeId, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Value<'_> {
    type Value = NodeId;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<NodeId, E> {
        Ok(self.0.leaf(Leaf::Null))
    }

    fn visit_none<E>(self) -> Result<NodeId, E> {
        Ok(self.0.leaf(Leaf::Null))
    }

    fn visit_bool<E>(self, b: bool) -> Result<NodeId, E> {
        Ok(self.0.leaf(Leaf::Bool(b)))
    }

    fn visit_i64<E>(self, n: i64) -> Result<NodeId, E> {
        Ok(self.0.leaf(Leaf::Number(n.into())))
    }

    fn visit_u64<E>(self, n: u64) -> Result<NodeId, E> {
        Ok(self.0.leaf(Leaf::Number(n.into())))
    }

    fn visit_f64<E>(self, n: f64) -> Result<NodeId, E> {
        let leaf = Number::from_f64(n).map_or(Leaf::Null, Leaf::Number);
        Ok(self.0.leaf(leaf))
    }

    fn visit_str<E>(self, s: &str) -> Result<NodeId, E> {
        Ok(self.0.leaf(Leaf::String(s.into())))
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<NodeId, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(self.nested()?)? {
            items.push(item);
        }
        Ok(self.0.list(items))
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<NodeId, A::Error> {
        let mut fields: Vec<(Sym, NodeId)> = Vec::with_capacity(map.size_hint().unwrap_or(4));
        while let Some(key) = map.next_key_seed(Key(&mut *self.0))? {
            let value = map.next_value_seed(self.nested()?)?;
            // A repeated key keeps its first place and its last value, as a JSON map would.
            match fields.iter_mut().find(|(k, _)| *k == key) {
                Some(field) => field.1 = value,
                None => fields.push((key, value)),
            }
        }
        Ok(self.0.object(fields))
    }
}

/// Decodes an object key, interned in the tree.
struct Key<'t>(&'t mut Tree);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = Sym;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Sym, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = Sym;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, s: &str) -> Result<Sym, E> {
        Ok(self.0.intern(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json_bytes::json;

    #[test]
    fn a_response_decodes_to_the_json_it_is() {
        let text = r#"{"data": {"a": [1, -2, 2.5, true, null, "x\"y"], "b": {"c": {}}, "a": "last"},
                      "errors": []}"#;
        let decoded = Decoded::from_slice(text.as_bytes()).unwrap();
        assert!(decoded.is_object() && decoded.has_data());
        assert_eq!(
            decoded.to_json(),
            json!({"data": {"a": "last", "b": {"c": {}}}, "errors": []})
        );
        let null_data = Decoded::from_slice(br#"{"data": null}"#).unwrap();
        assert!(!null_data.has_data());
        assert!(!Decoded::from_slice(b"[1]").unwrap().is_object());
    }

    #[test]
    fn malformed_or_trailing_text_is_an_error() {
        for bad in ["", "{", r#"{"a": }"#, "{} {}", "[1,]", r#"{"a" 1}"#] {
            assert!(Decoded::from_slice(bad.as_bytes()).is_err(), "{bad}");
        }
        let not_utf8 = b"{\"a\": \"\xff\"}";
        assert!(Decoded::from_slice(not_utf8).is_err(), "invalid UTF-8");
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(
            Decoded::from_slice(deep.as_bytes()).is_err(),
            "nesting is bounded"
        );
    }
}
