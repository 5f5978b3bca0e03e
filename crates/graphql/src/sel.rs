//! Selection trees the planner builds for subgraph operations, and how they print as GraphQL.

use std::fmt::{self, Write as _};

use apollo_compiler::ast::{Argument, DirectiveList, Value};
use apollo_compiler::{Name, Node};

/// A field in a subgraph selection.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSel {
    pub alias: Option<Name>,
    pub name: Name,
    pub arguments: Vec<Node<Argument>>,
    /// Only `@skip` / `@include` survive into subgraph operations.
    pub directives: DirectiveList,
    pub selection: Option<SelSet>,
}

impl FieldSel {
    /// A field without alias, arguments or sub-selection.
    pub fn leaf(name: Name) -> Self {
        FieldSel {
            alias: None,
            name,
            arguments: Vec::new(),
            directives: DirectiveList::default(),
            selection: None,
        }
    }

    /// The key this field has in the response.
    pub fn response_key(&self) -> &Name {
        self.alias.as_ref().unwrap_or(&self.name)
    }
}

/// One selection: a field or an inline fragment on a type.
#[derive(Debug, Clone, PartialEq)]
pub enum Sel {
    Field(FieldSel),
    On(Name, SelSet),
}

/// An ordered selection set; fields with the same response key are merged as they are added.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SelSet(pub Vec<Sel>);

/// One step from a selection set into a nested one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step {
    Field(Name),
    On(Name),
}

impl SelSet {
    /// Adds `field` (merging it with a field of the same response key) and returns its step.
    pub fn add_field(&mut self, field: FieldSel) -> Step {
        let key = field.response_key().clone();
        let existing = self.0.iter_mut().find_map(|s| match s {
            Sel::Field(f) if *f.response_key() == key => Some(f),
            _ => None,
        });
        match existing {
            Some(f) => {
                if f.selection.is_none() {
                    f.selection = field.selection;
                }
                if f.directives != field.directives {
                    // Reached unconditionally by one path: the field must be fetched.
                    f.directives = DirectiveList::default();
                }
            }
            None => self.0.push(Sel::Field(field)),
        }
        Step::Field(key)
    }

    /// Adds an (empty) inline fragment on `ty` unless present, and returns its step.
    pub fn add_on(&mut self, ty: &Name) -> Step {
        let present = self.0.iter().any(|s| matches!(s, Sel::On(t, _) if t == ty));
        if !present {
            self.0.push(Sel::On(ty.clone(), SelSet::default()));
        }
        Step::On(ty.clone())
    }

    /// The nested selection set reached by `path`, created on the way for fields.
    pub fn at_mut(&mut self, path: &[Step]) -> &mut SelSet {
        let Some((first, rest)) = path.split_first() else {
            return self;
        };
        let next = self.0.iter_mut().find_map(|s| match (s, first) {
            (Sel::Field(f), Step::Field(key)) if f.response_key() == key => {
                Some(f.selection.get_or_insert_with(SelSet::default))
            }
            (Sel::On(t, set), Step::On(ty)) if t == ty => Some(set),
            _ => None,
        });
        next.expect("planner path points at a selection it added")
            .at_mut(rest)
    }

    /// Merges every selection of `other` into this set.
    pub fn merge(&mut self, other: &SelSet) {
        for sel in &other.0 {
            match sel {
                Sel::Field(f) => {
                    let step = self.add_field(FieldSel {
                        selection: None,
                        ..f.clone()
                    });
                    if let Some(sub) = &f.selection {
                        self.at_mut(&[step]).merge(sub);
                    }
                }
                Sel::On(ty, sub) => {
                    let step = self.add_on(ty);
                    self.at_mut(&[step]).merge(sub);
                }
            }
        }
    }

    /// Variables referenced by arguments and directives anywhere in this set.
    pub fn variables(&self, out: &mut Vec<Name>) {
        for sel in &self.0 {
            match sel {
                Sel::Field(f) => {
                    for a in &f.arguments {
                        value_variables(&a.value, out);
                    }
                    for d in f.directives.iter() {
                        for a in &d.arguments {
                            value_variables(&a.value, out);
                        }
                    }
                    if let Some(sub) = &f.selection {
                        sub.variables(out);
                    }
                }
                Sel::On(_, sub) => sub.variables(out),
            }
        }
    }

    /// Writes this set as GraphQL, on one line: `{ a b { c } ... on T { d } }`.
    pub fn write(&self, out: &mut String) {
        out.push('{');
        for sel in &self.0 {
            out.push(' ');
            match sel {
                Sel::Field(f) => write_field(f, out),
                Sel::On(ty, sub) => {
                    let _ = write!(out, "... on {ty} ");
                    sub.write(out);
                }
            }
        }
        out.push_str(" }");
    }

    /// Writes this set indented, one selection per line, for plan display.
    pub fn write_pretty(&self, out: &mut dyn fmt::Write, indent: usize) -> fmt::Result {
        writeln!(out, "{{")?;
        for sel in &self.0 {
            write!(out, "{:width$}", "", width = indent + 2)?;
            match sel {
                Sel::Field(f) => {
                    let mut head = String::new();
                    write_field_head(f, &mut head);
                    write!(out, "{head}")?;
                    match &f.selection {
                        Some(sub) => {
                            write!(out, " ")?;
                            sub.write_pretty(out, indent + 2)?;
                        }
                        None => writeln!(out)?,
                    }
                }
                Sel::On(ty, sub) => {
                    write!(out, "... on {ty} ")?;
                    sub.write_pretty(out, indent + 2)?;
                }
            }
        }
        writeln!(out, "{:width$}}}", "", width = indent)
    }
}

fn write_field(f: &FieldSel, out: &mut String) {
    write_field_head(f, out);
    if let Some(sub) = &f.selection {
        out.push(' ');
        sub.write(out);
    }
}

fn write_field_head(f: &FieldSel, out: &mut String) {
    if let Some(alias) = &f.alias {
        let _ = write!(out, "{alias}: ");
    }
    out.push_str(&f.name);
    if !f.arguments.is_empty() {
        out.push('(');
        for (i, a) in f.arguments.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{}: {}", a.name, a.value);
        }
        out.push(')');
    }
    for d in f.directives.iter() {
        let _ = write!(out, " {d}");
    }
}

fn value_variables(value: &Value, out: &mut Vec<Name>) {
    match value {
        Value::Variable(v) if !out.contains(v) => out.push(v.clone()),
        Value::List(items) => items.iter().for_each(|v| value_variables(v, out)),
        Value::Object(fields) => fields.iter().for_each(|(_, v)| value_variables(v, out)),
        _ => {}
    }
}

impl SelSet {
    /// True when nothing but empty fragments is selected (a fetch not worth sending).
    pub fn is_empty_fetch(&self) -> bool {
        self.0
            .iter()
            .all(|s| matches!(s, Sel::On(_, sub) if sub.is_empty_fetch()))
    }
}
