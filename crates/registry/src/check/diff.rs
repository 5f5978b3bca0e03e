//! Diffs two API schemas into classified [`SchemaChange`]s. Descriptions and directives
//! (`@deprecated` included) are ignored.

use apollo_compiler::ast::{FieldDefinition, InputValueDefinition, Type};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Node, Schema};

use super::{SchemaChange, SchemaChangeKind as K, Severity};

/// The changes, each with the usage keys an operation must have for the change to affect it
/// (see `usage`).
pub(crate) fn diff(old: &Schema, new: &Schema) -> Vec<(SchemaChange, Vec<String>)> {
    let mut out = Changes(Vec::new());
    for (name, old_ty) in old.types.iter().filter(|(_, t)| !t.is_built_in()) {
        match new.types.get(name) {
            None => out.push(
                K::TypeRemoved,
                name,
                Severity::Breaking,
                format!("type `{name}` was removed"),
            ),
            Some(new_ty) if kind(old_ty) != kind(new_ty) => out.push(
                K::TypeKindChanged,
                name,
                Severity::Breaking,
                format!("`{name}` changed from {} to {}", kind(old_ty), kind(new_ty)),
            ),
            Some(new_ty) => out.type_changes(name, old_ty, new_ty),
        }
    }
    for (name, ty) in new.types.iter().filter(|(_, t)| !t.is_built_in()) {
        if !old.types.contains_key(name) {
            out.push(
                K::TypeAdded,
                name,
                Severity::Safe,
                format!("{} `{name}` was added", kind(ty)),
            );
        }
    }
    out.0
}

struct Changes(Vec<(SchemaChange, Vec<String>)>);

impl Changes {
    fn push(&mut self, kind: K, coordinate: &str, severity: Severity, message: String) {
        let keys = vec![super::usage::key(kind, coordinate)];
        self.push_used_by(kind, coordinate, severity, message, keys);
    }

    fn push_used_by(
        &mut self,
        kind: K,
        coordinate: &str,
        severity: Severity,
        message: String,
        keys: Vec<String>,
    ) {
        let change = SchemaChange {
            kind,
            coordinate: coordinate.to_owned(),
            severity,
            message,
            used_by: None,
        };
        self.0.push((change, keys));
    }

    fn type_changes(&mut self, name: &str, old: &ExtendedType, new: &ExtendedType) {
        match (old, new) {
            (ExtendedType::Object(o), ExtendedType::Object(n)) => {
                self.implementations(name, &o.implements_interfaces, &n.implements_interfaces);
                self.fields(name, o.fields.values().map(|f| &***f), &n.fields);
            }
            (ExtendedType::Interface(o), ExtendedType::Interface(n)) => {
                self.implementations(name, &o.implements_interfaces, &n.implements_interfaces);
                self.fields(name, o.fields.values().map(|f| &***f), &n.fields);
            }
            (ExtendedType::Union(o), ExtendedType::Union(n)) => {
                for m in o.members.iter().filter(|m| !n.members.contains(*m)) {
                    // Breaks fragments on the member inside a selection of the union.
                    self.push_used_by(
                        K::UnionMemberRemoved,
                        name,
                        Severity::Breaking,
                        format!("`{m}` was removed from union `{name}`"),
                        vec![format!("{name}>{m}")],
                    );
                }
                for m in n.members.iter().filter(|m| !o.members.contains(*m)) {
                    self.push(
                        K::UnionMemberAdded,
                        name,
                        Severity::Dangerous,
                        format!(
                            "`{m}` was added to union `{name}`: clients that switch on \
                             `__typename` may not handle it"
                        ),
                    );
                }
            }
            (ExtendedType::Enum(o), ExtendedType::Enum(n)) => {
                for v in o.values.keys().filter(|v| !n.values.contains_key(*v)) {
                    self.push(
                        K::EnumValueRemoved,
                        &format!("{name}.{v}"),
                        Severity::Breaking,
                        format!("enum value `{v}` was removed from `{name}`"),
                    );
                }
                for v in n.values.keys().filter(|v| !o.values.contains_key(*v)) {
                    self.push(
                        K::EnumValueAdded,
                        &format!("{name}.{v}"),
                        Severity::Dangerous,
                        format!(
                            "enum value `{v}` was added to `{name}`: clients with exhaustive \
                             switches may not handle it"
                        ),
                    );
                }
            }
            (ExtendedType::InputObject(o), ExtendedType::InputObject(n)) => {
                for (f, of) in &o.fields {
                    let coordinate = format!("{name}.{f}");
                    match n.fields.get(f) {
                        None => self.push(
                            K::InputFieldRemoved,
                            &coordinate,
                            Severity::Breaking,
                            format!("input field `{coordinate}` was removed"),
                        ),
                        Some(nf) => self.input_value(
                            &coordinate,
                            of,
                            nf,
                            K::InputFieldTypeChanged,
                            K::InputFieldDefaultChanged,
                            "input field",
                        ),
                    }
                }
                for (f, nf) in n.fields.iter().filter(|(f, _)| !o.fields.contains_key(*f)) {
                    let coordinate = format!("{name}.{f}");
                    if required(nf) {
                        self.push(
                            K::RequiredInputFieldAdded,
                            &coordinate,
                            Severity::Breaking,
                            format!("required input field `{coordinate}: {}` was added", nf.ty),
                        );
                    } else {
                        self.push(
                            K::InputFieldAdded,
                            &coordinate,
                            Severity::Safe,
                            format!("optional input field `{coordinate}` was added"),
                        );
                    }
                }
            }
            // Scalars: nothing a client sees but the name (and `@specifiedBy`, ignored).
            _ => {}
        }
    }

    fn implementations(
        &mut self,
        name: &str,
        old: &apollo_compiler::collections::IndexSet<apollo_compiler::schema::ComponentName>,
        new: &apollo_compiler::collections::IndexSet<apollo_compiler::schema::ComponentName>,
    ) {
        for i in old.iter().filter(|i| !new.contains(*i)) {
            // Breaks fragments on the type inside a selection of the interface, and the reverse.
            self.push_used_by(
                K::InterfaceImplementationRemoved,
                name,
                Severity::Breaking,
                format!("`{name}` no longer implements `{i}`"),
                vec![format!("{i}>{name}"), format!("{name}>{i}")],
            );
        }
        for i in new.iter().filter(|i| !old.contains(*i)) {
            self.push(
                K::InterfaceImplementationAdded,
                name,
                Severity::Dangerous,
                format!(
                    "`{name}` now implements `{i}`: clients that switch on `__typename` of \
                     `{i}` may not handle it"
                ),
            );
        }
    }

    fn fields<'a>(
        &mut self,
        name: &str,
        old: impl Iterator<Item = &'a FieldDefinition>,
        new: &apollo_compiler::collections::IndexMap<
            apollo_compiler::Name,
            apollo_compiler::schema::Component<FieldDefinition>,
        >,
    ) {
        let mut old_names = Vec::new();
        for of in old {
            old_names.push(of.name.clone());
            let coordinate = format!("{name}.{}", of.name);
            let Some(nf) = new.get(&of.name) else {
                self.push(
                    K::FieldRemoved,
                    &coordinate,
                    Severity::Breaking,
                    format!("field `{coordinate}` was removed"),
                );
                continue;
            };
            if of.ty != nf.ty {
                let (severity, how) = match output_change(&of.ty, &nf.ty) {
                    Compat::Same | Compat::Compatible => (Severity::Safe, "made non-null"),
                    Compat::Nullability => (Severity::Breaking, "made nullable"),
                    Compat::Incompatible => (Severity::Breaking, "changed incompatibly"),
                };
                self.push(
                    K::FieldTypeChanged,
                    &coordinate,
                    severity,
                    format!(
                        "field `{coordinate}` type {how}: `{}` -> `{}`",
                        of.ty, nf.ty
                    ),
                );
            }
            self.arguments(&coordinate, &of.arguments, &nf.arguments);
        }
        for nf in new.values().filter(|f| !old_names.contains(&f.name)) {
            self.push(
                K::FieldAdded,
                &format!("{name}.{}", nf.name),
                Severity::Safe,
                format!("field `{name}.{}` was added", nf.name),
            );
        }
    }

    fn arguments(
        &mut self,
        field: &str,
        old: &[Node<InputValueDefinition>],
        new: &[Node<InputValueDefinition>],
    ) {
        for oa in old {
            let coordinate = format!("{field}({}:)", oa.name);
            match new.iter().find(|a| a.name == oa.name) {
                None => self.push(
                    K::ArgumentRemoved,
                    &coordinate,
                    Severity::Breaking,
                    format!("argument `{coordinate}` was removed"),
                ),
                Some(na) => self.input_value(
                    &coordinate,
                    oa,
                    na,
                    K::ArgumentTypeChanged,
                    K::ArgumentDefaultChanged,
                    "argument",
                ),
            }
        }
        for na in new.iter().filter(|a| !old.iter().any(|o| o.name == a.name)) {
            let coordinate = format!("{field}({}:)", na.name);
            if required(na) {
                self.push(
                    K::RequiredArgumentAdded,
                    &coordinate,
                    Severity::Breaking,
                    format!(
                        "required argument `{coordinate}` of type `{}` was added",
                        na.ty
                    ),
                );
            } else {
                self.push(
                    K::ArgumentAdded,
                    &coordinate,
                    Severity::Safe,
                    format!("optional argument `{coordinate}` was added"),
                );
            }
        }
    }

    /// An argument or input field present on both sides: its type and default.
    fn input_value(
        &mut self,
        coordinate: &str,
        old: &InputValueDefinition,
        new: &InputValueDefinition,
        type_kind: K,
        default_kind: K,
        what: &str,
    ) {
        if old.ty != new.ty {
            let (severity, how) = match input_change(&old.ty, &new.ty) {
                Compat::Same | Compat::Compatible => (Severity::Safe, "made nullable"),
                Compat::Nullability => (Severity::Breaking, "made non-null"),
                Compat::Incompatible => (Severity::Breaking, "changed incompatibly"),
            };
            self.push(
                type_kind,
                coordinate,
                severity,
                format!(
                    "{what} `{coordinate}` type {how}: `{}` -> `{}`",
                    old.ty, new.ty
                ),
            );
        }
        let show = |d: &Option<Node<apollo_compiler::ast::Value>>| {
            d.as_ref()
                .map_or_else(|| "none".to_owned(), |v| v.to_string())
        };
        let (od, nd) = (show(&old.default_value), show(&new.default_value));
        if od != nd {
            self.push(
                default_kind,
                coordinate,
                Severity::Dangerous,
                format!("{what} `{coordinate}` default changed: {od} -> {nd}"),
            );
        }
    }
}

fn required(v: &InputValueDefinition) -> bool {
    v.ty.is_non_null() && v.default_value.is_none()
}

fn kind(ty: &ExtendedType) -> &'static str {
    match ty {
        ExtendedType::Scalar(_) => "scalar",
        ExtendedType::Object(_) => "object type",
        ExtendedType::Interface(_) => "interface",
        ExtendedType::Union(_) => "union",
        ExtendedType::Enum(_) => "enum",
        ExtendedType::InputObject(_) => "input type",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compat {
    Same,
    /// Only nullability changed, in the direction clients cannot notice.
    Compatible,
    /// Only nullability changed, in the direction that breaks clients.
    Nullability,
    Incompatible,
}

impl Compat {
    fn and(self, other: Compat) -> Compat {
        use Compat::*;
        match (self, other) {
            (Incompatible, _) | (_, Incompatible) => Incompatible,
            (Nullability, _) | (_, Nullability) => Nullability,
            (Compatible, _) | (_, Compatible) => Compatible,
            _ => Same,
        }
    }
}

/// Output position: a result may become non-null (clients handled null), not nullable.
fn output_change(old: &Type, new: &Type) -> Compat {
    match (old.is_non_null(), new.is_non_null()) {
        (false, true) => Compat::Compatible.and(output_change(old, &new.clone().nullable())),
        (true, false) => Compat::Nullability.and(output_change(&old.clone().nullable(), new)),
        _ => inner(old, new, output_change),
    }
}

/// Input position: an argument or input field may become nullable (clients always sent a
/// value), not non-null.
fn input_change(old: &Type, new: &Type) -> Compat {
    match (old.is_non_null(), new.is_non_null()) {
        (true, false) => Compat::Compatible.and(input_change(&old.clone().nullable(), new)),
        (false, true) => Compat::Nullability.and(input_change(old, &new.clone().nullable())),
        _ => inner(old, new, input_change),
    }
}

/// Same nullability on both sides: compare list item types or names.
fn inner(old: &Type, new: &Type, rec: fn(&Type, &Type) -> Compat) -> Compat {
    match (old, new) {
        (Type::Named(a) | Type::NonNullNamed(a), Type::Named(b) | Type::NonNullNamed(b)) => {
            if a == b {
                Compat::Same
            } else {
                Compat::Incompatible
            }
        }
        (Type::List(a) | Type::NonNullList(a), Type::List(b) | Type::NonNullList(b)) => rec(a, b),
        _ => Compat::Incompatible,
    }
}
