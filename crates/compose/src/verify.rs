//! Checks of the printed supergraph: every key, `@requires` and `@provides` field set must
//! still hold against the merged types (merging can drop input enum values and arguments that
//! a field set uses), as the gateway parses them when it loads the supergraph.

use apollo_compiler::executable::FieldSet;
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Schema};

use crate::error::{CompositionError, codes};
use crate::model::MergedType;
use crate::subgraph::Parsed;

/// The field sets of `types` that do not validate against `schema`.
pub(crate) fn field_sets(
    schema: &Valid<Schema>,
    types: &[&MergedType],
    graphs: &[Parsed],
) -> Vec<CompositionError> {
    let mut errors = Vec::new();
    let mut check = |code, g: usize, on: &Name, ty: &Name, field: Option<&Name>, text: &str| {
        if let Err(e) = FieldSet::parse_and_validate(schema, on.clone(), text, "field set") {
            let msgs: Vec<String> = e.errors.iter().map(|d| d.error.to_string()).collect();
            let what = match code {
                codes::KEY_INVALID_FIELDS => "@key",
                codes::REQUIRES_INVALID_FIELDS => "@requires",
                _ => "@provides",
            };
            errors.push(
                CompositionError::new(
                    code,
                    format!(
                        "{what}(fields: \"{text}\") is invalid in the supergraph: {}",
                        msgs.join("; ")
                    ),
                )
                .in_subgraph(&graphs[g].name)
                .on(ty, field.map(Name::as_str)),
            );
        }
    };
    for t in types {
        for s in &t.sources {
            for (key, _) in &s.keys {
                check(
                    codes::KEY_INVALID_FIELDS,
                    s.graph,
                    &t.name,
                    &t.name,
                    None,
                    key,
                );
            }
        }
        for (field_name, f) in &t.fields {
            for s in &f.sources {
                if let Some(r) = &s.requires {
                    let code = codes::REQUIRES_INVALID_FIELDS;
                    check(code, s.graph, &t.name, &t.name, Some(field_name), r);
                }
                if let Some(p) = &s.provides {
                    let target = f.ty.inner_named_type();
                    let code = codes::PROVIDES_INVALID_FIELDS;
                    check(code, s.graph, target, &t.name, Some(field_name), p);
                }
            }
        }
    }
    errors
}
