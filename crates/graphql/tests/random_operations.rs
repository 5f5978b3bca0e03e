//! Property test: random valid operations against every fixture supergraph never panic the
//! planner, and every plan it returns only sends subgraph operations that parse.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use apollo_compiler::schema::{ExtendedType, FieldDefinition};
use apollo_compiler::{ExecutableDocument, Schema};
use proptest::prelude::*;
use switchyard_graphql::{Plan, PlanNode, Planner, Supergraph};

fn supergraph(name: &str) -> Supergraph {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .join("supergraph.graphql");
    Supergraph::parse(
        &std::fs::read_to_string(&path).unwrap(),
        "supergraph.graphql",
    )
    .unwrap()
}

/// Writes a random selection set on `ty`, at most `depth` levels deep.
fn selection(schema: &Schema, ty: &str, depth: u32, rng: &mut fastrand::Rng, out: &mut String) {
    let fields: Vec<(&apollo_compiler::Name, &FieldDefinition)> = match schema.types.get(ty) {
        Some(ExtendedType::Object(o)) => o.fields.iter().map(|(n, f)| (n, &*f.node)).collect(),
        Some(ExtendedType::Interface(i)) => i.fields.iter().map(|(n, f)| (n, &*f.node)).collect(),
        _ => Vec::new(),
    };
    out.push('{');
    let mut wrote = false;
    if rng.u8(..4) == 0 {
        out.push_str(" __typename");
        wrote = true;
    }
    for (name, field) in &fields {
        let inner = field.ty.inner_named_type();
        let composite = matches!(
            schema.types.get(inner.as_str()),
            Some(ExtendedType::Object(_) | ExtendedType::Interface(_) | ExtendedType::Union(_))
        );
        if composite && depth == 0 {
            continue;
        }
        if rng.u8(..3) == 0 {
            continue;
        }
        if !arguments_fillable(field) {
            continue;
        }
        if rng.u8(..5) == 0 {
            let _ = write!(out, " a{}: ", rng.u16(..));
        } else {
            out.push(' ');
        }
        out.push_str(name);
        write_arguments(field, rng, out);
        if rng.u8(..8) == 0 {
            out.push_str(" @include(if: true)");
        }
        if composite {
            out.push(' ');
            abstract_or_object(schema, inner, depth - 1, rng, out);
        }
        wrote = true;
    }
    if !wrote {
        out.push_str(" __typename");
    }
    out.push_str(" }");
}

/// A selection on `ty`; unions get fragments on members, interfaces sometimes too.
fn abstract_or_object(
    schema: &Schema,
    ty: &str,
    depth: u32,
    rng: &mut fastrand::Rng,
    out: &mut String,
) {
    let members: Vec<String> = match schema.types.get(ty) {
        Some(ExtendedType::Union(u)) => u.members.iter().map(|m| m.name.to_string()).collect(),
        Some(ExtendedType::Interface(_)) if rng.bool() => schema
            .types
            .iter()
            .filter(|(n, t)| t.is_object() && schema.is_subtype(ty, n))
            .map(|(n, _)| n.to_string())
            .collect(),
        _ => return selection(schema, ty, depth, rng, out),
    };
    out.push_str("{ __typename");
    for member in members {
        let _ = write!(out, " ... on {member} ");
        selection(schema, &member, depth, rng, out);
    }
    out.push_str(" }");
}

/// Only arguments of scalar types are filled, so the operation stays valid.
fn arguments_fillable(field: &FieldDefinition) -> bool {
    field.arguments.iter().all(|a| {
        !a.ty.is_non_null()
            || a.default_value.is_some()
            || matches!(
                a.ty.inner_named_type().as_str(),
                "ID" | "String" | "Int" | "Boolean"
            )
    })
}

fn write_arguments(field: &FieldDefinition, rng: &mut fastrand::Rng, out: &mut String) {
    let required: Vec<_> = field
        .arguments
        .iter()
        .filter(|a| a.ty.is_non_null() && a.default_value.is_none())
        .collect();
    if required.is_empty() {
        return;
    }
    out.push('(');
    for (i, a) in required.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let value = match a.ty.inner_named_type().as_str() {
            "Int" => rng.u8(..10).to_string(),
            "Boolean" => rng.bool().to_string(),
            _ => format!("\"{}\"", rng.u8(..5)),
        };
        let _ = write!(out, "{}: {value}", a.name);
    }
    out.push(')');
}

fn fetches(node: &PlanNode, out: &mut Vec<String>) {
    match node {
        PlanNode::Fetch(f) => out.push(f.operation.clone()),
        PlanNode::Sequence(n) | PlanNode::Parallel(n) => n.iter().for_each(|n| fetches(n, out)),
        PlanNode::Condition { node, .. } => fetches(node, out),
    }
}

/// Plans one random operation; returns whether the generator made a valid one.
fn check(graph: &str, seed: u64) -> bool {
    let sg = supergraph(graph);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut query = String::new();
    let depth = rng.u32(1..5);
    selection(&sg.api, "Query", depth, &mut rng, &mut query);
    let Ok(doc) = ExecutableDocument::parse_and_validate(&sg.api, &query, "random.graphql") else {
        return false; // the generator made something invalid: not the planner's business
    };
    let operation = doc.operations.iter().next().unwrap();
    let labels: BTreeSet<String> = if rng.bool() {
        sg.override_labels().map(str::to_owned).collect()
    } else {
        BTreeSet::new()
    };
    let plan: Plan = match Planner::plan(&sg, &doc, operation, &labels) {
        Ok(plan) => plan,
        Err(_) => return true, // a clean error is fine; a panic is not
    };
    let mut operations = Vec::new();
    if let Some(root) = &plan.root {
        fetches(root, &mut operations);
    }
    for op in operations {
        let parsed = apollo_compiler::ast::Document::parse(&op, "fetch.graphql");
        assert!(
            parsed.is_ok(),
            "{graph} seed {seed}: unparsable fetch {op}\nfor {query}"
        );
    }
    true
}

/// The generator is only useful if it mostly makes valid operations.
#[test]
fn the_generator_mostly_makes_valid_operations() {
    let valid = (0..300u64).filter(|seed| check("products", *seed)).count();
    assert!(valid > 200, "{valid} of 300 valid");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_operations_never_panic_the_planner(
        graph in prop::sample::select(vec!["movies", "products", "abstract", "keys", "requires", "fed1"]),
        seed in any::<u64>(),
    ) {
        check(graph, seed);
    }
}
