//! Apollo Federation 2 composition: subgraph SDLs in, a supergraph (link v1.0 + join v0.5) out,
//! in the layout Apollo's composition prints, loadable by Switchyard's gateway. See
//! docs/composition.md for what is supported and checked.

mod emit;
mod error;
mod finish;
mod merge;
mod model;
mod prelude;
mod rules;
mod subgraph;
pub mod synthetic;
mod types;
mod verify;

use std::collections::HashSet;

pub use error::{CompositionError, CompositionErrors, codes};
pub use subgraph::Subgraph;

/// A successful composition.
#[derive(Debug, Clone)]
pub struct Composed {
    pub supergraph_sdl: String,
    /// What composition left out or changed without failing, one line each:
    /// `[subgraph] Type.field: message (CODE)`.
    pub hints: Vec<String>,
}

/// Composes Federation 2 subgraphs into a supergraph.
///
/// Subgraph order decides the order of `join__Graph` values and of fields first defined in
/// several subgraphs; types are printed sorted by name.
pub fn compose(subgraphs: &[Subgraph]) -> Result<Composed, CompositionErrors> {
    let fail = |errors| Err(CompositionErrors { errors });
    if subgraphs.is_empty() {
        return fail(vec![CompositionError::new(
            codes::NO_SUBGRAPHS,
            "no subgraphs to compose",
        )]);
    }
    let mut errors = check_names(subgraphs);
    if !errors.is_empty() {
        return fail(errors);
    }
    let names: HashSet<&str> = subgraphs.iter().map(|s| s.name.as_str()).collect();
    let mut parsed = Vec::with_capacity(subgraphs.len());
    let mut facts = Vec::with_capacity(subgraphs.len());
    for (result, errs) in parse_all(subgraphs, &names) {
        errors.extend(errs);
        if let Some((p, f)) = result {
            parsed.push(p);
            facts.push(f);
        }
    }
    if !errors.is_empty() {
        return fail(errors);
    }
    let mut hints: Vec<String> = facts
        .iter_mut()
        .flat_map(|f| std::mem::take(&mut f.hints))
        .collect();
    let mut merger = merge::Merger::new(&parsed);
    for (g, f) in facts.iter().enumerate() {
        merger.add(g, f);
    }
    merger.finish();
    errors.extend(std::mem::take(&mut merger.errors));
    if !errors.is_empty() {
        return fail(errors);
    }
    hints.append(&mut merger.hints);
    let types: Vec<&model::MergedType> = merger.types.values().collect();
    let sdl = emit::print(&parsed, &types);
    let schema = match apollo_compiler::Schema::parse_and_validate(&sdl, "supergraph.graphql") {
        Ok(schema) => schema,
        Err(e) => {
            let msgs: Vec<String> = e.errors.iter().map(|d| d.error.to_string()).collect();
            return fail(vec![CompositionError::new(
                codes::INTERNAL,
                format!("the composed supergraph is invalid: {}", msgs.join("; ")),
            )]);
        }
    };
    let errors = verify::field_sets(&schema, &types, &parsed);
    if !errors.is_empty() {
        return fail(errors);
    }
    Ok(Composed {
        supergraph_sdl: sdl,
        hints,
    })
}

type Checked = (
    Option<(subgraph::Parsed, rules::Facts)>,
    Vec<CompositionError>,
);

/// Parses, validates and checks every subgraph, on as many threads as there are cores.
fn parse_all(subgraphs: &[Subgraph], names: &HashSet<&str>) -> Vec<Checked> {
    let one = |s: &Subgraph| -> Checked {
        match subgraph::parse(s) {
            Ok(p) => {
                let mut errors = Vec::new();
                let facts = rules::check(&p, names, &mut errors);
                (Some((p, facts)), errors)
            }
            Err(errors) => (None, errors),
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = subgraphs.len().div_ceil(threads.clamp(1, 8)).max(8);
    if subgraphs.len() <= chunk {
        return subgraphs.iter().map(one).collect();
    }
    std::thread::scope(|scope| {
        let workers: Vec<_> = subgraphs
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(one).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("subgraph worker panicked"))
            .collect()
    })
}

fn check_names(subgraphs: &[Subgraph]) -> Vec<CompositionError> {
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for s in subgraphs {
        if s.name.is_empty() || s.name == "_" || s.name.chars().any(char::is_control) {
            errors.push(CompositionError::new(
                codes::INVALID_SUBGRAPH_NAME,
                format!(
                    "invalid subgraph name {:?}: it must be non-empty, not \"_\", and printable",
                    s.name
                ),
            ));
        } else if !seen.insert(s.name.as_str()) {
            errors.push(
                CompositionError::new(
                    codes::DUPLICATE_SUBGRAPH_NAME,
                    "another subgraph has the same name",
                )
                .in_subgraph(&s.name),
            );
        }
    }
    errors
}
