//! Shapes merged subgraph data into the client's response, written straight to JSON: its field
//! order and aliases, only what it asked for, and GraphQL null propagation for non-null fields.

use apollo_compiler::ast::Type;
use apollo_compiler::executable::{ExecutableDocument, SelectionSet};
use apollo_compiler::response::{GraphQLError, JsonMap, ResponseDataPathSegment};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Name, Schema};

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;

use crate::collect::{self, Collected, Conditions};
use crate::execute::{Leaf, Node, NodeId, ROOT, Sym, Tree};

/// Walks the client's selections over `data`.
pub struct Shaper<'a> {
    schema: &'a Schema,
    doc: &'a ExecutableDocument,
    variables: &'a JsonMap,
    errors: &'a mut Vec<GraphQLError>,
    /// The merged subgraph data.
    tree: &'a Tree,
    /// Where the JSON of an object under a selection set of the document was written, when it
    /// was written without errors: an object the response tree shares among many places (an
    /// entity answer) is written once and copied after. Cleared when output is cut back.
    written: HashMap<(NodeId, usize), Range<usize>, ahash::RandomState>,
    /// Field collection per (selection set of the document, runtime type): done once per
    /// request, not once per object (a list of 100 objects of one type collects once).
    /// Keyed by the addresses of the set and of the type's name (names of the schema and the
    /// document, alive and unmoved while shaping).
    collected: HashMap<(usize, usize), Rc<[Asked]>, ahash::RandomState>,
}

/// A field asked of an object, and its response key as interned in the tree (`None` when no
/// object has that key).
struct Asked {
    field: Collected,
    key: Option<Sym>,
}

/// A selection set, and whether it is the document's own (then its address is stable for the
/// whole request and keys the field collection cache) rather than a merged copy.
#[derive(Clone, Copy)]
struct SetRef<'s> {
    set: &'s SelectionSet,
    in_document: bool,
}

impl SetRef<'_> {
    /// The set's address, when it is the document's own (stable for the whole request).
    fn address(self) -> Option<usize> {
        self.in_document
            .then(|| std::ptr::from_ref(self.set) as usize)
    }
}

impl<'s> From<&'s Cow<'_, SelectionSet>> for SetRef<'s> {
    fn from(set: &'s Cow<'_, SelectionSet>) -> Self {
        SetRef {
            set,
            in_document: matches!(set, Cow::Borrowed(_)),
        }
    }
}

/// Where a value is in the response, kept on the stack as the walk goes down (no name is
/// cloned per field) and written out only for an error.
enum Path<'p> {
    Root,
    Field(&'p Name, &'p Path<'p>),
    Index(usize, &'p Path<'p>),
}

impl Path<'_> {
    fn to_vec(&self) -> Vec<ResponseDataPathSegment> {
        let mut segments = Vec::new();
        let mut at = self;
        loop {
            match at {
                Path::Root => break,
                Path::Field(name, up) => {
                    segments.push(ResponseDataPathSegment::Field((*name).clone()));
                    at = up;
                }
                Path::Index(i, up) => {
                    segments.push(ResponseDataPathSegment::ListIndex(*i));
                    at = up;
                }
            }
        }
        segments.reverse();
        segments
    }
}

/// A null that must replace the nearest nullable ancestor.
struct NullBubble;

/// What a value wrote.
enum Written {
    Value,
    Null,
}

/// A GraphQL name as a JSON string (names need no escaping).
fn write_name(out: &mut Vec<u8>, name: &str) {
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.push(b'"');
}

impl<'a> Shaper<'a> {
    pub fn new(
        schema: &'a Schema,
        doc: &'a ExecutableDocument,
        variables: &'a JsonMap,
        errors: &'a mut Vec<GraphQLError>,
        tree: &'a Tree,
    ) -> Self {
        Shaper {
            schema,
            doc,
            variables,
            errors,
            tree,
            written: HashMap::default(),
            collected: HashMap::default(),
        }
    }

    /// Writes the response `data` for the root selection to `out` as JSON: `null` when a null
    /// reached the root.
    pub fn write_root(&mut self, set: &SelectionSet, root_type: &Name, out: &mut Vec<u8>) {
        let path = Path::Root;
        let set = SetRef {
            set,
            in_document: true,
        };
        let mark = out.len();
        if self.object(set, root_type, ROOT, &path, out).is_err() {
            out.truncate(mark);
            out.extend_from_slice(b"null");
        }
    }

    /// The fields `set` asks of a `runtime` object, cached when `set` is the document's own.
    fn collected(&mut self, set: SetRef<'_>, runtime: &Name) -> Rc<[Asked]> {
        let collect = |s: &Self| -> Rc<[Asked]> {
            let conditions = Conditions::Evaluate(s.variables);
            let fields = collect::collect(s.schema, s.doc, set.set, runtime, conditions);
            let asked = fields.into_iter().map(|field| Asked {
                key: s.tree.sym(field.first().response_key()),
                field,
            });
            asked.collect()
        };
        let Some(address) = set.address() else {
            return collect(self);
        };
        let key = (address, runtime.as_str().as_ptr() as usize);
        if let Some(fields) = self.collected.get(&key) {
            return fields.clone();
        }
        let fields = collect(self);
        self.collected.insert(key, fields.clone());
        fields
    }

    fn object(
        &mut self,
        set: SetRef<'_>,
        static_type: &Name,
        data: NodeId,
        path: &Path<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), NullBubble> {
        let key = set.address().map(|address| (data, address));
        if let Some(range) = key.and_then(|k| self.written.get(&k)) {
            out.extend_from_within(range.clone());
            return Ok(());
        }
        let (start, errors) = (out.len(), self.errors.len());
        self.write_object(set, static_type, data, path, out)?;
        if let Some(key) = key.filter(|_| self.errors.len() == errors) {
            self.written.insert(key, start..out.len());
        }
        Ok(())
    }

    fn write_object(
        &mut self,
        set: SetRef<'_>,
        static_type: &Name,
        data: NodeId,
        path: &Path<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), NullBubble> {
        let tree = self.tree;
        let runtime = self.runtime_type(static_type, data);
        let fields = self.collected(set, runtime);
        out.push(b'{');
        for (n, Asked { field, key: sym }) in fields.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            let first = field.first();
            let key = first.response_key();
            write_name(out, key);
            out.push(b':');
            if first.name == "__typename" {
                write_name(out, runtime);
                continue;
            }
            let raw = sym.and_then(|sym| tree.get(data, sym));
            if matches!(first.name.as_str(), "__schema" | "__type") {
                match raw {
                    Some(raw) => tree.write_json(raw, out),
                    None => out.extend_from_slice(b"null"),
                }
                continue;
            }
            let path = Path::Field(key, path);
            let selection = field.selection();
            let written = self.value(
                &first.definition.ty,
                raw,
                selection.as_ref().map(SetRef::from),
                &path,
                out,
            );
            written?;
        }
        out.push(b'}');
        Ok(())
    }

    /// Writes one value of type `ty`. A null in a non-null position bubbles up to the nearest
    /// nullable ancestor, which discards what it wrote and writes `null` instead.
    fn value(
        &mut self,
        ty: &Type,
        raw: Option<NodeId>,
        selection: Option<SetRef<'_>>,
        path: &Path<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), NullBubble> {
        let mark = out.len();
        match (
            self.nullable(ty, raw, selection, path, out),
            ty.is_non_null(),
        ) {
            (Ok(Written::Null), true) => {
                self.null_error(path);
                Err(NullBubble)
            }
            (Ok(_), _) => Ok(()),
            (Err(bubble), true) => Err(bubble),
            (Err(NullBubble), false) => {
                out.truncate(mark);
                self.written.clear();
                out.extend_from_slice(b"null");
                Ok(())
            }
        }
    }

    fn nullable(
        &mut self,
        ty: &Type,
        raw: Option<NodeId>,
        selection: Option<SetRef<'_>>,
        path: &Path<'_>,
        out: &mut Vec<u8>,
    ) -> Result<Written, NullBubble> {
        let tree = self.tree;
        match (ty, raw.map(|r| (r, tree.node(r)))) {
            (Type::List(item) | Type::NonNullList(item), Some((_, Node::List(items)))) => {
                out.push(b'[');
                for (i, raw_item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    let path = Path::Index(i, path);
                    let written = self.value(item, Some(*raw_item), selection, &path, out);
                    written?;
                }
                out.push(b']');
                Ok(Written::Value)
            }
            (Type::List(_) | Type::NonNullList(_), _)
            | (_, None | Some((_, Node::Leaf(Leaf::Null)))) => {
                out.extend_from_slice(b"null");
                Ok(Written::Null)
            }
            (_, Some((id, Node::Object(_)))) => match selection {
                Some(set) => {
                    self.object(set, ty.inner_named_type(), id, path, out)?;
                    Ok(Written::Value)
                }
                None => {
                    out.extend_from_slice(b"null");
                    Ok(Written::Null)
                }
            },
            (_, Some((leaf, _))) if selection.is_none() => {
                tree.write_json(leaf, out);
                Ok(Written::Value)
            }
            _ => {
                out.extend_from_slice(b"null");
                Ok(Written::Null)
            }
        }
    }

    /// The object type of `data`: its `__typename` when that names an object type, else the
    /// static type.
    fn runtime_type<'n>(&self, static_type: &'n Name, data: NodeId) -> &'n Name
    where
        'a: 'n,
    {
        let typename = self.tree.typename(data);
        if typename == Some(static_type.as_str()) {
            return static_type;
        }
        let named = typename.and_then(|t| match self.schema.types.get(t) {
            Some(ExtendedType::Object(o)) => Some(&o.name),
            _ => None,
        });
        named.unwrap_or(static_type)
    }

    /// Records why a non-null field is null, unless a subgraph error already explains it.
    fn null_error(&mut self, path: &Path<'_>) {
        let path = path.to_vec();
        let path = path.as_slice();
        let explained = self
            .errors
            .iter()
            .any(|e| e.path.is_empty() || e.path.starts_with(path) || path.starts_with(&e.path));
        if !explained {
            self.errors.push(GraphQLError {
                message: "Cannot return null for non-nullable field".into(),
                locations: Vec::new(),
                path: path.to_vec(),
                extensions: JsonMap::new(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json_bytes::json;

    /// Shapes the tree `build` makes for `query` over a small schema.
    fn shape(query: &str, build: impl FnOnce(&mut Tree)) -> (String, Vec<GraphQLError>) {
        let sdl = "type Query { items: [Item] } \
                   type Item { o: O, bad: String! } type O { x: Int }";
        let schema = Schema::parse_and_validate(sdl, "schema.graphql").unwrap();
        let doc = ExecutableDocument::parse_and_validate(&schema, query, "q.graphql").unwrap();
        let operation = doc.operations.get(None).unwrap();
        let mut tree = Tree::default();
        build(&mut tree);
        let (variables, mut errors, mut out) = (JsonMap::new(), Vec::new(), Vec::new());
        let mut shaper = Shaper::new(&schema, &doc, &variables, &mut errors, &tree);
        shaper.write_root(&operation.selection_set, operation.object_type(), &mut out);
        (String::from_utf8(out).unwrap(), errors)
    }

    #[test]
    fn a_shared_object_is_written_whole_at_every_place_even_after_a_null_cut_output_back() {
        let (json, errors) = shape("{ items { o { x } bad } }", |tree| {
            let data = tree.insert(&json!({"items": [{"bad": null}, {"bad": "ok"}]}));
            tree.merge(ROOT, data);
            let answer = tree.insert(&json!({"o": {"x": 1}}));
            let items = tree.field(ROOT, "items").unwrap();
            let items: Vec<NodeId> = match tree.node(items) {
                Node::List(items) => items.clone(),
                _ => unreachable!(),
            };
            // Both items link to the one `o` node.
            for item in items {
                tree.merge(item, answer);
            }
        });
        // The first item is written (its `o` too), then cut back to null for its `bad`; the
        // second must not copy the bytes the first item's `o` had.
        assert_eq!(json, r#"{"items":[null,{"o":{"x":1},"bad":"ok"}]}"#);
        assert_eq!(errors.len(), 1);
        let field = |f: &str| ResponseDataPathSegment::Field(Name::new(f).unwrap());
        let at = [
            field("items"),
            ResponseDataPathSegment::ListIndex(0),
            field("bad"),
        ];
        assert_eq!(errors[0].path, at);
    }
}
