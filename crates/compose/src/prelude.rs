//! The federation and link definitions a subgraph uses without declaring them, under the names
//! its `@link(import:)` gives them, so that apollo-compiler can validate the subgraph.

use std::collections::HashSet;
use std::fmt::Write;

use crate::subgraph::FedNames;

/// Definitions to add to a subgraph that defines the names in `defined` itself.
pub(crate) fn definitions(
    names: &FedNames,
    defined: &HashSet<String>,
    needs_query: bool,
) -> String {
    let mut out = String::new();
    let mut add = |name: &str, text: String| {
        if !defined.contains(name) {
            let _ = writeln!(out, "{text}");
        }
    };
    let fs = &names.field_set;
    let directives: [(&str, String); 14] = [
        (
            &names.key,
            format!("(fields: {fs}!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE"),
        ),
        (
            &names.requires,
            format!("(fields: {fs}!) on FIELD_DEFINITION"),
        ),
        (
            &names.provides,
            format!("(fields: {fs}!) on FIELD_DEFINITION"),
        ),
        (
            &names.external,
            "(reason: String) on OBJECT | FIELD_DEFINITION".into(),
        ),
        (
            &names.shareable,
            " repeatable on OBJECT | FIELD_DEFINITION".into(),
        ),
        (
            &names.override_,
            "(from: String!, label: String) on FIELD_DEFINITION".into(),
        ),
        (&names.inaccessible, format!(" on {INACCESSIBLE_LOCATIONS}")),
        (
            &names.tag,
            format!("(name: String!) repeatable on {INACCESSIBLE_LOCATIONS} | SCHEMA"),
        ),
        (&names.interface_object, " on OBJECT".into()),
        (&names.extends, " on OBJECT | INTERFACE".into()),
        (
            &names.compose_directive,
            "(name: String!) repeatable on SCHEMA".into(),
        ),
        (&names.authenticated, format!(" on {AUTH_LOCATIONS}")),
        (
            &names.requires_scopes,
            format!("(scopes: [[{}!]!]!) on {AUTH_LOCATIONS}", names.scope),
        ),
        (
            &names.policy,
            format!(
                "(policies: [[{}!]!]!) on {AUTH_LOCATIONS}",
                names.policy_scalar
            ),
        ),
    ];
    for (name, rest) in directives {
        add(&format!("@{name}"), format!("directive @{name}{rest}"));
    }
    for scalar in [
        fs,
        &names.scope,
        &names.policy_scalar,
        "link__Import",
        "_Any",
    ] {
        add(scalar, format!("scalar {scalar}"));
    }
    add(
        "@link",
        "directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA".into(),
    );
    add(
        "link__Purpose",
        "enum link__Purpose { SECURITY EXECUTION }".into(),
    );
    if needs_query {
        add("_Service", "type _Service { sdl: String }".into());
        add("Query", "type Query { _service: _Service! }".into());
    }
    out
}

pub(crate) const INACCESSIBLE_LOCATIONS: &str = "FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION";

const AUTH_LOCATIONS: &str = "FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM";
