//! Operation limits checked before planning: depth, aliases, root fields and an estimated cost.

use apollo_compiler::ExecutableDocument;
use apollo_compiler::executable::{Operation, Selection, SelectionSet};

/// Most list items the cost estimate assumes when a field gives no `first`/`last`/`limit`.
const ASSUMED_LIST_SIZE: u64 = 10;

/// Limits on one operation; `None` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_depth: Option<u32>,
    pub max_aliases: Option<u32>,
    pub max_root_fields: Option<u32>,
    pub max_cost: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: Some(32),
            max_aliases: Some(64),
            max_root_fields: Some(32),
            max_cost: None,
        }
    }
}

/// What an operation measures, fragments expanded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measure {
    pub depth: u32,
    pub aliases: u32,
    pub root_fields: u32,
    pub cost: u64,
}

impl Limits {
    /// The first limit `operation` exceeds, as a message for the client.
    pub fn check(
        &self,
        doc: &ExecutableDocument,
        operation: &Operation,
    ) -> Result<Measure, String> {
        let measure = measure(doc, operation);
        let over = |value: u64, limit: Option<u64>| limit.is_some_and(|l| value > l);
        if over(measure.depth.into(), self.max_depth.map(u64::from)) {
            return Err(format!(
                "operation depth {} exceeds the limit of {}",
                measure.depth,
                self.max_depth.unwrap_or_default()
            ));
        }
        if over(measure.aliases.into(), self.max_aliases.map(u64::from)) {
            return Err(format!(
                "operation uses {} aliases, more than the limit of {}",
                measure.aliases,
                self.max_aliases.unwrap_or_default()
            ));
        }
        if over(
            measure.root_fields.into(),
            self.max_root_fields.map(u64::from),
        ) {
            return Err(format!(
                "operation selects {} root fields, more than the limit of {}",
                measure.root_fields,
                self.max_root_fields.unwrap_or_default()
            ));
        }
        if over(measure.cost, self.max_cost) {
            return Err(format!(
                "operation's estimated cost {} exceeds the limit of {}",
                measure.cost,
                self.max_cost.unwrap_or_default()
            ));
        }
        Ok(measure)
    }
}

/// Measures an operation. Fragment cycles cannot occur (validation rejects them), but the walk
/// stops at a depth of 256 regardless.
pub fn measure(doc: &ExecutableDocument, operation: &Operation) -> Measure {
    let mut m = Measure::default();
    m.root_fields = count_root_fields(doc, &operation.selection_set);
    m.cost = walk(doc, &operation.selection_set, 1, &mut m);
    m
}

fn count_root_fields(doc: &ExecutableDocument, set: &SelectionSet) -> u32 {
    set.selections
        .iter()
        .map(|s| match s {
            Selection::Field(_) => 1,
            Selection::InlineFragment(i) => count_root_fields(doc, &i.selection_set),
            Selection::FragmentSpread(f) => doc
                .fragments
                .get(&f.fragment_name)
                .map_or(0, |d| count_root_fields(doc, &d.selection_set)),
        })
        .sum()
}

/// Walks a selection set at `depth`, returning its cost (each field 1, times the list size for
/// everything below a list field).
fn walk(doc: &ExecutableDocument, set: &SelectionSet, depth: u32, m: &mut Measure) -> u64 {
    if depth > 256 {
        return 0;
    }
    let mut cost: u64 = 0;
    for selection in &set.selections {
        cost = cost.saturating_add(match selection {
            Selection::Field(f) => {
                m.depth = m.depth.max(depth);
                m.aliases += u32::from(f.alias.is_some());
                let below = walk(doc, &f.selection_set, depth + 1, m);
                let items = if f.definition.ty.is_list() {
                    list_size(f)
                } else {
                    1
                };
                1u64.saturating_add(items.saturating_mul(below))
            }
            Selection::InlineFragment(i) => walk(doc, &i.selection_set, depth, m),
            Selection::FragmentSpread(f) => doc
                .fragments
                .get(&f.fragment_name)
                .map_or(0, |d| walk(doc, &d.selection_set, depth, m)),
        });
    }
    cost
}

/// The list size a field asks for (`first`, `last` or `limit` literal), else the assumption.
fn list_size(field: &apollo_compiler::executable::Field) -> u64 {
    ["first", "last", "limit"]
        .iter()
        .find_map(|a| field.specified_argument_by_name(a))
        .and_then(|v| v.to_i32())
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(ASSUMED_LIST_SIZE)
}
