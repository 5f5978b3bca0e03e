//! Composition errors: a code (Apollo's name where one exists), where, and what.

use std::fmt;

/// One reason a composition failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompositionError {
    pub code: &'static str,
    pub subgraph: Option<String>,
    pub type_name: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

impl CompositionError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        CompositionError {
            code,
            subgraph: None,
            type_name: None,
            field: None,
            message: message.into(),
        }
    }

    pub(crate) fn in_subgraph(mut self, subgraph: &str) -> Self {
        self.subgraph = Some(subgraph.to_owned());
        self
    }

    pub(crate) fn on(mut self, type_name: &str, field: Option<&str>) -> Self {
        self.type_name = Some(type_name.to_owned());
        self.field = field.map(str::to_owned);
        self
    }
}

impl fmt::Display for CompositionError {
    /// `[subgraph] Type.field: message (CODE)`, leaving out what is unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(subgraph) = &self.subgraph {
            write!(f, "[{subgraph}] ")?;
        }
        if let Some(type_name) = &self.type_name {
            f.write_str(type_name)?;
            if let Some(field) = &self.field {
                write!(f, ".{field}")?;
            }
            f.write_str(": ")?;
        }
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for CompositionError {}

/// Every error a failed composition found, in a stable order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("composition failed:\n{}", list(.errors))]
pub struct CompositionErrors {
    pub errors: Vec<CompositionError>,
}

fn list(errors: &[CompositionError]) -> String {
    let lines: Vec<String> = errors.iter().map(|e| format!("  - {e}")).collect();
    lines.join("\n")
}

/// Error codes; Apollo's names where Apollo has the rule, ours (marked) otherwise.
pub mod codes {
    pub const NO_SUBGRAPHS: &str = "NO_SUBGRAPHS"; // ours
    pub const INVALID_SUBGRAPH_NAME: &str = "INVALID_SUBGRAPH_NAME";
    pub const DUPLICATE_SUBGRAPH_NAME: &str = "DUPLICATE_SUBGRAPH_NAME"; // ours
    pub const INVALID_GRAPHQL: &str = "INVALID_GRAPHQL";
    pub const UNKNOWN_FEDERATION_LINK_VERSION: &str = "UNKNOWN_FEDERATION_LINK_VERSION";
    pub const INVALID_LINK_DIRECTIVE_USAGE: &str = "INVALID_LINK_DIRECTIVE_USAGE";
    pub const TYPE_KIND_MISMATCH: &str = "TYPE_KIND_MISMATCH";
    pub const FIELD_TYPE_MISMATCH: &str = "FIELD_TYPE_MISMATCH";
    pub const FIELD_ARGUMENT_TYPE_MISMATCH: &str = "FIELD_ARGUMENT_TYPE_MISMATCH";
    pub const FIELD_ARGUMENT_DEFAULT_MISMATCH: &str = "FIELD_ARGUMENT_DEFAULT_MISMATCH";
    pub const REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH: &str =
        "REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH";
    pub const REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH: &str =
        "REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH";
    pub const EMPTY_MERGED_INPUT_TYPE: &str = "EMPTY_MERGED_INPUT_TYPE";
    pub const EMPTY_MERGED_ENUM_TYPE: &str = "EMPTY_MERGED_ENUM_TYPE";
    pub const ENUM_VALUE_MISMATCH: &str = "ENUM_VALUE_MISMATCH";
    pub const INVALID_FIELD_SHARING: &str = "INVALID_FIELD_SHARING";
    pub const KEY_INVALID_FIELDS: &str = "KEY_INVALID_FIELDS";
    pub const KEY_FIELDS_HAS_ARGS: &str = "KEY_FIELDS_HAS_ARGS";
    pub const KEY_FIELDS_SELECT_INVALID_TYPE: &str = "KEY_FIELDS_SELECT_INVALID_TYPE";
    pub const REQUIRES_INVALID_FIELDS: &str = "REQUIRES_INVALID_FIELDS";
    pub const REQUIRES_FIELDS_MISSING_EXTERNAL: &str = "REQUIRES_FIELDS_MISSING_EXTERNAL";
    pub const PROVIDES_INVALID_FIELDS: &str = "PROVIDES_INVALID_FIELDS";
    pub const PROVIDES_FIELDS_MISSING_EXTERNAL: &str = "PROVIDES_FIELDS_MISSING_EXTERNAL";
    pub const PROVIDES_ON_NON_OBJECT_FIELD: &str = "PROVIDES_ON_NON_OBJECT_FIELD";
    pub const EXTERNAL_UNUSED: &str = "EXTERNAL_UNUSED";
    pub const EXTERNAL_MISSING_ON_BASE: &str = "EXTERNAL_MISSING_ON_BASE";
    pub const OVERRIDE_FROM_SELF_ERROR: &str = "OVERRIDE_FROM_SELF_ERROR";
    pub const OVERRIDE_FROM_UNKNOWN_SUBGRAPH: &str = "OVERRIDE_FROM_UNKNOWN_SUBGRAPH"; // ours
    pub const OVERRIDE_SOURCE_HAS_OVERRIDE: &str = "OVERRIDE_SOURCE_HAS_OVERRIDE";
    pub const OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE: &str =
        "OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE";
    pub const OVERRIDE_LABEL_INVALID: &str = "OVERRIDE_LABEL_INVALID";
    pub const INTERFACE_OBJECT_USAGE_ERROR: &str = "INTERFACE_OBJECT_USAGE_ERROR";
    pub const NO_QUERIES: &str = "NO_QUERIES";
    pub const INTERNAL: &str = "INTERNAL"; // ours: the output failed its own validation
}
