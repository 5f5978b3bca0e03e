//! Checks within one subgraph (`@key`, `@requires`, `@provides`, `@external`, `@override`), and
//! the facts they learn that merging needs (which fields keys and requires select).

use std::collections::HashSet;

use apollo_compiler::executable::{FieldSet, Selection, SelectionSet};
use apollo_compiler::schema::{ExtendedType, FieldDefinition};
use apollo_compiler::{Name, Node};

use crate::error::{CompositionError, codes};
use crate::subgraph::Parsed;

/// What a subgraph's field sets select, as (type, field) pairs in its own type names.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    pub key_fields: HashSet<(Name, Name)>,
    pub requires_fields: HashSet<(Name, Name)>,
    used_external: HashSet<(Name, Name)>,
    /// Things composition leaves out, worth telling the subgraph's owner.
    pub hints: Vec<String>,
    /// Federation 1 `@external` fields nothing uses: left out, as Apollo's upgrade does.
    pub unused_external: HashSet<(Name, Name)>,
}

/// Checks one subgraph; `subgraphs` are the names of all subgraphs being composed.
pub(crate) fn check(
    p: &Parsed,
    subgraphs: &HashSet<&str>,
    errors: &mut Vec<CompositionError>,
) -> Facts {
    let mut facts = Facts::default();
    let mut err = |code, ty: &str, field: Option<&str>, msg: String| {
        errors.push(
            CompositionError::new(code, msg)
                .in_subgraph(&p.name)
                .on(ty, field),
        );
    };
    for (type_name, ty) in &p.schema.types {
        let fields = match ty {
            ExtendedType::Object(o) => &o.fields,
            ExtendedType::Interface(i) => &i.fields,
            _ => continue,
        };
        for key in ty.directives().get_all(p.names.key.as_str()) {
            let text = str_arg(key, "fields");
            match field_set(p, type_name, text) {
                Err(msg) => err(
                    codes::KEY_INVALID_FIELDS,
                    type_name,
                    None,
                    format!("invalid @key(fields: \"{text}\"): {msg}"),
                ),
                Ok(set) => {
                    let mut selected = Vec::new();
                    collect(&set.selection_set, &mut selected, &mut |f| {
                        if !f.definition.arguments.is_empty() {
                            err(
                                codes::KEY_FIELDS_HAS_ARGS,
                                type_name,
                                None,
                                format!(
                                    "@key(fields: \"{text}\") selects field {} which has arguments",
                                    f.name
                                ),
                            );
                        }
                        let inner = p.schema.types.get(f.definition.ty.inner_named_type());
                        if f.definition.ty.is_list()
                            || matches!(
                                inner,
                                Some(ExtendedType::Interface(_) | ExtendedType::Union(_))
                            )
                        {
                            err(
                                codes::KEY_FIELDS_SELECT_INVALID_TYPE,
                                type_name,
                                None,
                                format!(
                                    "@key(fields: \"{text}\") selects field {} of type {}: lists, interfaces and unions are not allowed in keys",
                                    f.name, f.definition.ty
                                ),
                            );
                        }
                    });
                    facts.used_external.extend(selected.iter().cloned());
                    facts.key_fields.extend(selected);
                }
            }
        }
        for (field_name, def) in fields {
            check_field(
                p, type_name, field_name, def, subgraphs, &mut facts, &mut err,
            );
        }
    }
    facts.hints = dropped_directives(p);
    for (type_name, ty) in &p.schema.types {
        let ExtendedType::Object(o) = ty else {
            continue;
        };
        for (field_name, def) in &o.fields {
            if !is_external(p, ty, def)
                || facts
                    .used_external
                    .contains(&(type_name.clone(), field_name.clone()))
            {
                continue;
            }
            let implements_field =
                o.implements_interfaces
                    .iter()
                    .any(|i| match p.schema.types.get(&i.name) {
                        Some(ExtendedType::Interface(iface)) => {
                            iface.fields.contains_key(field_name)
                        }
                        _ => false,
                    });
            if implements_field {
                continue;
            }
            if p.federation_1 {
                facts.hints.push(format!(
                    "[{}] {type_name}.{field_name}: left out of the supergraph: @external field not used by any @key, @requires or @provides (EXTERNAL_UNUSED; a hint for Federation 1 subgraphs)",
                    p.name
                ));
                facts
                    .unused_external
                    .insert((type_name.clone(), field_name.clone()));
            } else {
                err(
                    codes::EXTERNAL_UNUSED,
                    type_name,
                    Some(field_name),
                    "field is marked @external but is not used by any @key, @requires or @provides"
                        .into(),
                );
            }
        }
    }
    facts
}

fn check_field(
    p: &Parsed,
    type_name: &Name,
    field_name: &Name,
    def: &FieldDefinition,
    subgraphs: &HashSet<&str>,
    facts: &mut Facts,
    err: &mut impl FnMut(&'static str, &str, Option<&str>, String),
) {
    let n = &p.names;
    let field = Some(field_name.as_str());
    if let Some(d) = def.directives.get(n.requires.as_str()) {
        let text = str_arg(d, "fields");
        match field_set(p, type_name, text) {
            Err(msg) => err(
                codes::REQUIRES_INVALID_FIELDS,
                type_name,
                field,
                format!("invalid @requires(fields: \"{text}\"): {msg}"),
            ),
            Ok(set) => {
                for f in set.selection_set.fields() {
                    if !external_field(p, type_name, &f.name) {
                        err(
                            codes::REQUIRES_FIELDS_MISSING_EXTERNAL,
                            type_name,
                            field,
                            format!(
                                "@requires(fields: \"{text}\") selects {type_name}.{}, which is not marked @external",
                                f.name
                            ),
                        );
                    }
                }
                let mut selected = Vec::new();
                collect(&set.selection_set, &mut selected, &mut |_| {});
                facts.used_external.extend(selected.iter().cloned());
                facts.requires_fields.extend(selected);
            }
        }
    }
    if let Some(d) = def.directives.get(n.provides.as_str()) {
        let text = str_arg(d, "fields");
        let target = def.ty.inner_named_type();
        match p.schema.types.get(target) {
            Some(ExtendedType::Object(_) | ExtendedType::Interface(_) | ExtendedType::Union(_)) => {
                match field_set(p, target, text) {
                    Err(msg) => err(
                        codes::PROVIDES_INVALID_FIELDS,
                        type_name,
                        field,
                        format!("invalid @provides(fields: \"{text}\"): {msg}"),
                    ),
                    Ok(set) => {
                        for f in set.selection_set.fields() {
                            if !external_field(p, target, &f.name) {
                                err(
                                    codes::PROVIDES_FIELDS_MISSING_EXTERNAL,
                                    type_name,
                                    field,
                                    format!(
                                        "@provides(fields: \"{text}\") selects {target}.{}, which is not marked @external",
                                        f.name
                                    ),
                                );
                            }
                        }
                        let mut selected = Vec::new();
                        collect(&set.selection_set, &mut selected, &mut |_| {});
                        facts.used_external.extend(selected);
                    }
                }
            }
            _ => err(
                codes::PROVIDES_ON_NON_OBJECT_FIELD,
                type_name,
                field,
                format!(
                    "@provides on a field of type {}, which is not an object, interface or union",
                    def.ty
                ),
            ),
        }
    }
    if let Some(d) = def.directives.get(n.override_.as_str()) {
        let from = str_arg(d, "from");
        if from == p.name {
            err(
                codes::OVERRIDE_FROM_SELF_ERROR,
                type_name,
                field,
                format!("@override(from: \"{from}\") names its own subgraph"),
            );
        } else if !subgraphs.contains(from) {
            err(
                codes::OVERRIDE_FROM_UNKNOWN_SUBGRAPH,
                type_name,
                field,
                format!("@override(from: \"{from}\") names a subgraph that is not being composed"),
            );
        }
        if def.directives.has(n.external.as_str()) {
            err(
                codes::OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE,
                type_name,
                field,
                "@override cannot be used on an @external field".into(),
            );
        }
        let label = d
            .specified_argument_by_name("label")
            .and_then(|v| v.as_str());
        if let Some(label) = label.filter(|l| !valid_label(l)) {
            err(
                codes::OVERRIDE_LABEL_INVALID,
                type_name,
                field,
                format!(
                    "invalid @override label \"{label}\": expected percent(N) with 0 <= N <= 100, or a name"
                ),
            );
        }
    }
}

/// `@authenticated`, `@requiresScopes` and `@policy` are not carried into the supergraph (the
/// gateway does not enforce them yet): one hint per use.
fn dropped_directives(p: &Parsed) -> Vec<String> {
    let n = &p.names;
    let auth = [&n.authenticated, &n.requires_scopes, &n.policy];
    let mut hints = Vec::new();
    let mut check = |at: String, names: Vec<&Name>| {
        for name in names
            .into_iter()
            .filter(|d| auth.iter().any(|a| a.as_str() == d.as_str()))
        {
            hints.push(format!(
                "[{}] {at}: @{name} is left out of the supergraph: Switchyard's gateway does not enforce it yet (DIRECTIVE_DROPPED)",
                p.name
            ));
        }
    };
    for (type_name, ty) in &p.schema.types {
        if ty.is_built_in() {
            continue;
        }
        check(
            type_name.to_string(),
            ty.directives().iter().map(|d| &d.name).collect(),
        );
        let fields = match ty {
            ExtendedType::Object(o) => &o.fields,
            ExtendedType::Interface(i) => &i.fields,
            _ => continue,
        };
        for (field_name, def) in fields {
            check(
                format!("{type_name}.{field_name}"),
                def.directives.iter().map(|d| &d.name).collect(),
            );
        }
    }
    hints
}

/// `percent(N)` (N up to 100, at most 8 decimals) or `[A-Za-z][A-Za-z0-9_\-:./]*`.
fn valid_label(label: &str) -> bool {
    if let Some(n) = label
        .strip_prefix("percent(")
        .and_then(|r| r.strip_suffix(')'))
    {
        return n.parse::<f64>().is_ok_and(|v| (0.0..=100.0).contains(&v))
            && n.chars().all(|c| c.is_ascii_digit() || c == '.');
    }
    let mut chars = label.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_-:./".contains(c))
}

/// Whether `ty.field` is `@external` in this subgraph (on the field, or on its type).
pub(crate) fn is_external(p: &Parsed, ty: &ExtendedType, def: &FieldDefinition) -> bool {
    def.directives.has(p.names.external.as_str()) || ty.directives().has(p.names.external.as_str())
}

fn external_field(p: &Parsed, ty: &Name, field: &Name) -> bool {
    let Some(t) = p.schema.types.get(ty) else {
        return false;
    };
    let def = match t {
        ExtendedType::Object(o) => o.fields.get(field),
        ExtendedType::Interface(i) => i.fields.get(field),
        _ => None,
    };
    def.is_some_and(|d| is_external(p, t, d))
}

fn field_set(p: &Parsed, ty: &Name, text: &str) -> Result<FieldSet, String> {
    FieldSet::parse_and_validate(&p.schema, ty.clone(), text, "field set")
        .map(|f| f.into_inner())
        .map_err(|e| {
            let msgs: Vec<String> = e.errors.iter().map(|d| d.error.to_string()).collect();
            msgs.join("; ")
        })
}

/// Every (parent type, field) a selection set selects, at any depth; `each` sees every field.
fn collect(
    set: &SelectionSet,
    out: &mut Vec<(Name, Name)>,
    each: &mut impl FnMut(&Node<apollo_compiler::executable::Field>),
) {
    for sel in &set.selections {
        match sel {
            Selection::Field(f) => {
                each(f);
                out.push((set.ty.clone(), f.name.clone()));
                collect(&f.selection_set, out, each);
            }
            Selection::InlineFragment(frag) => collect(&frag.selection_set, out, each),
            Selection::FragmentSpread(_) => {}
        }
    }
}

/// A string argument of a directive ("" when absent: validation already required it).
pub(crate) fn str_arg<'a>(d: &'a apollo_compiler::ast::Directive, name: &str) -> &'a str {
    d.specified_argument_by_name(name)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
}
