//! `check`: what a proposed subgraph change would break for clients, without publishing it.
//!
//! Composes the variant's current subgraphs and the proposed set, derives the client-facing API
//! schema of both supergraphs, diffs them and classifies each change (docs/registry.md,
//! "Checks"). Given operations, a breaking change counts only if an operation uses it.

mod diff;
mod usage;

use apollo_compiler::Schema;
use apollo_compiler::validation::Valid;
use serde::Serialize;
use switchyard_compose::{Subgraph, compose};

/// What to check: the variant's subgraphs now, and one subgraph to add or replace (by name).
#[derive(Debug, Clone)]
pub struct CheckInput<'a> {
    pub current: &'a [Subgraph],
    pub proposed: Subgraph,
    /// Executable documents (persisted queries, recorded operations). `None`: every breaking
    /// change counts.
    pub operations: Option<&'a [String]>,
}

/// The answer of [`check()`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// Whether the proposed subgraph set composes.
    pub composes: bool,
    /// Composition errors of the proposed set, `[subgraph] Type.field: message (CODE)`.
    pub composition_errors: Vec<String>,
    /// Changes to the API schema, in schema order (empty when the proposed set does not compose).
    pub changes: Vec<SchemaChange>,
    /// `!composes` or some change is still [`Severity::Breaking`].
    pub breaking: bool,
    /// Operations that were given but do not validate against the current API schema.
    pub skipped: Vec<SkippedOperation>,
    /// Anything else worth saying (the current set failing to compose, for one).
    pub notes: Vec<String>,
}

/// One change to the API schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaChange {
    pub kind: SchemaChangeKind,
    /// A schema coordinate: `Movie`, `Movie.title`, `Query.movie(id:)`, `Genre.DRAMA`.
    pub coordinate: String,
    pub severity: Severity,
    pub message: String,
    /// With operations given: the operations (name, or `#i` for the anonymous operation of the
    /// i-th document, from 0) that use what changed.
    pub used_by: Option<Vec<String>>,
}

/// How bad a change is for existing clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Existing operations may fail validation or get unexpected nulls.
    Breaking,
    /// Existing operations still validate, but a client may behave differently.
    Dangerous,
    Safe,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Breaking => "breaking",
            Self::Dangerous => "dangerous",
            Self::Safe => "safe",
        }
    }
}

/// What changed. (Named `SchemaChangeKind`: the crate's `ChangeKind` is a version's
/// added/updated/removed subgraph.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaChangeKind {
    TypeAdded,
    TypeRemoved,
    TypeKindChanged,
    FieldAdded,
    FieldRemoved,
    /// An output field's type: breaking unless only made non-null.
    FieldTypeChanged,
    /// An optional argument (nullable or with a default).
    ArgumentAdded,
    RequiredArgumentAdded,
    ArgumentRemoved,
    /// Breaking unless only made nullable.
    ArgumentTypeChanged,
    ArgumentDefaultChanged,
    /// An optional input field (nullable or with a default).
    InputFieldAdded,
    RequiredInputFieldAdded,
    InputFieldRemoved,
    /// Breaking unless only made nullable.
    InputFieldTypeChanged,
    InputFieldDefaultChanged,
    EnumValueAdded,
    EnumValueRemoved,
    UnionMemberAdded,
    UnionMemberRemoved,
    InterfaceImplementationAdded,
    InterfaceImplementationRemoved,
}

impl SchemaChangeKind {
    pub fn as_str(self) -> &'static str {
        use SchemaChangeKind as K;
        match self {
            K::TypeAdded => "type_added",
            K::TypeRemoved => "type_removed",
            K::TypeKindChanged => "type_kind_changed",
            K::FieldAdded => "field_added",
            K::FieldRemoved => "field_removed",
            K::FieldTypeChanged => "field_type_changed",
            K::ArgumentAdded => "argument_added",
            K::RequiredArgumentAdded => "required_argument_added",
            K::ArgumentRemoved => "argument_removed",
            K::ArgumentTypeChanged => "argument_type_changed",
            K::ArgumentDefaultChanged => "argument_default_changed",
            K::InputFieldAdded => "input_field_added",
            K::RequiredInputFieldAdded => "required_input_field_added",
            K::InputFieldRemoved => "input_field_removed",
            K::InputFieldTypeChanged => "input_field_type_changed",
            K::InputFieldDefaultChanged => "input_field_default_changed",
            K::EnumValueAdded => "enum_value_added",
            K::EnumValueRemoved => "enum_value_removed",
            K::UnionMemberAdded => "union_member_added",
            K::UnionMemberRemoved => "union_member_removed",
            K::InterfaceImplementationAdded => "interface_implementation_added",
            K::InterfaceImplementationRemoved => "interface_implementation_removed",
        }
    }
}

/// An operation document that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedOperation {
    /// `#i`: the i-th document given, from 0.
    pub document: String,
    pub reason: String,
}

/// Checks a proposed subgraph against a variant's current subgraphs.
pub fn check(input: CheckInput) -> CheckReport {
    let mut report = CheckReport {
        composes: false,
        composition_errors: Vec::new(),
        changes: Vec::new(),
        breaking: true,
        skipped: Vec::new(),
        notes: Vec::new(),
    };
    let mut proposed_set: Vec<Subgraph> = input.current.to_vec();
    match proposed_set
        .iter_mut()
        .find(|s| s.name == input.proposed.name)
    {
        Some(existing) => *existing = input.proposed.clone(),
        None => proposed_set.push(input.proposed.clone()),
    }
    // The two sides are independent: compose and derive them on two threads.
    let (proposed_api, current_api) = std::thread::scope(|scope| {
        let current = (!input.current.is_empty()).then(|| scope.spawn(|| api_of(input.current)));
        let proposed = api_of(&proposed_set);
        let current = current.map(|h| h.join().expect("check: composition thread panicked"));
        (proposed, current)
    });
    let proposed_api = match proposed_api {
        Ok(api) => api,
        Err(errors) => {
            report.composition_errors = errors;
            return report;
        }
    };
    report.composes = true;
    let current_api = match current_api {
        None => None,
        Some(Ok(api)) => Some(api),
        Some(Err(errors)) => {
            report.notes.push(format!(
                "the current subgraphs do not compose: {}",
                errors.join("; ")
            ));
            None
        }
    };
    let Some(current_api) = current_api else {
        report
            .notes
            .push("nothing to compare with: no change is reported".into());
        report.breaking = false;
        if input.operations.is_some() {
            report
                .notes
                .push("operations not checked: there is no current API schema".into());
        }
        return report;
    };
    let (changes, keys): (Vec<_>, Vec<_>) =
        diff::diff(&current_api, &proposed_api).into_iter().unzip();
    report.changes = changes;
    if let Some(operations) = input.operations {
        let used = usage::collect(&current_api, operations, &mut report.skipped);
        let n = used.len();
        for (change, keys) in report.changes.iter_mut().zip(&keys) {
            let users: Vec<String> = used
                .iter()
                .filter(|op| keys.iter().any(|k| op.uses(k)))
                .map(|op| op.name.clone())
                .collect();
            if change.severity == Severity::Breaking && users.is_empty() {
                change.severity = Severity::Safe;
                let s = if n == 1 { "" } else { "s" };
                change.message =
                    format!("{} (unused by the {n} operation{s} given)", change.message);
            }
            change.used_by = Some(users);
        }
    }
    report.breaking = report
        .changes
        .iter()
        .any(|c| c.severity == Severity::Breaking);
    report
}

/// Composes a subgraph set and derives its API schema; the errors as strings.
fn api_of(subgraphs: &[Subgraph]) -> Result<Valid<Schema>, Vec<String>> {
    let composed = compose(subgraphs)
        .map_err(|e| e.errors.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    // Composition validated the supergraph already: parse it only, and derive what clients
    // see exactly as the gateway does.
    let supergraph = Schema::parse(&composed.supergraph_sdl, "supergraph.graphql")
        .map_err(|e| vec![format!("supergraph: {}", messages(&e.errors))])?;
    switchyard_graphql::api_schema(&supergraph).map_err(|e| vec![e.to_string()])
}

/// apollo-compiler's diagnostics, one line each (`message at line:column`), joined by `; `.
fn messages(errors: &apollo_compiler::validation::DiagnosticList) -> String {
    let all: Vec<String> = errors
        .iter()
        .map(|d| match d.line_column_range() {
            Some(at) => format!("{} at {}:{}", d.error, at.start.line, at.start.column),
            None => d.error.to_string(),
        })
        .collect();
    all.join("; ")
}
