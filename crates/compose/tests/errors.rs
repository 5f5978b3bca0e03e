//! Every composition rule, with the exact errors it reports.

use switchyard_compose::{Subgraph, compose};

const LINK: &str = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable", "@external", "@requires", "@provides", "@override", "@interfaceObject"])"#;

/// A Federation 2 subgraph importing the usual directives.
fn sg(name: &str, body: &str) -> Subgraph {
    raw(name, &format!("{LINK}\n{body}"))
}

/// A subgraph exactly as given.
fn raw(name: &str, sdl: &str) -> Subgraph {
    Subgraph {
        name: name.into(),
        url: format!("http://{name}.invalid/graphql"),
        sdl: sdl.into(),
    }
}

fn errors(subgraphs: &[Subgraph]) -> Vec<String> {
    match compose(subgraphs) {
        Ok(c) => vec![format!("composed:\n{}", c.supergraph_sdl)],
        Err(e) => e.errors.iter().map(ToString::to_string).collect(),
    }
}

const Q: &str = "type Query { a: Int }";

#[test]
fn every_rule_reports_exactly() {
    let cases: Vec<(&str, Vec<Subgraph>, Vec<&str>)> = vec![
        (
            "no subgraphs",
            vec![],
            vec![r#"no subgraphs to compose (NO_SUBGRAPHS)"#],
        ),
        (
            "duplicate name",
            vec![sg("a", Q), sg("a", "type Query { b: Int }")],
            vec![r#"[a] another subgraph has the same name (DUPLICATE_SUBGRAPH_NAME)"#],
        ),
        (
            "reserved and empty names",
            vec![sg("_", Q), sg("", Q)],
            vec![
                r#"invalid subgraph name "_": it must be non-empty, not "_", and printable (INVALID_SUBGRAPH_NAME)"#,
                r#"invalid subgraph name "": it must be non-empty, not "_", and printable (INVALID_SUBGRAPH_NAME)"#,
            ],
        ),
        (
            "syntax error",
            vec![sg("a", "type Query { a: }")],
            vec![r#"[a] syntax error: expected a Type (line 2, column 17) (INVALID_GRAPHQL)"#],
        ),
        (
            "unknown type",
            vec![sg("a", "type Query { a: Nope }")],
            vec![
                r#"[a] cannot find type `Nope` in this document (line 2, column 17) (INVALID_GRAPHQL)"#,
            ],
        ),
        (
            "federation 3",
            vec![raw(
                "a",
                &format!(
                    "extend schema @link(url: \"https://specs.apollo.dev/federation/v3.0\")\n{Q}"
                ),
            )],
            vec![
                r#"[a] unsupported federation version v3.0 in @link(url: "https://specs.apollo.dev/federation/v3.0") (UNKNOWN_FEDERATION_LINK_VERSION)"#,
            ],
        ),
        (
            "unknown import",
            vec![raw(
                "a",
                &format!(
                    "extend schema @link(url: \"https://specs.apollo.dev/federation/v2.7\", import: [\"@nope\"])\n{Q}"
                ),
            )],
            vec![
                r#"[a] cannot import `@nope` as `@nope` from https://specs.apollo.dev/federation/v2.7: not a federation definition this composer supports (INVALID_LINK_DIRECTIVE_USAGE)"#,
            ],
        ),
        (
            "field type mismatch",
            vec![
                sg(
                    "a",
                    "type Query { t: T } type T @key(fields: \"id\") { id: ID! n: String @shareable }",
                ),
                sg(
                    "b",
                    "type T @key(fields: \"id\") { id: ID! n: Int @shareable }",
                ),
            ],
            vec![
                r#"[b] T.n: type is String in subgraph "a" but Int in subgraph "b" (FIELD_TYPE_MISMATCH)"#,
            ],
        ),
        (
            "list shape mismatch",
            vec![
                sg(
                    "a",
                    "type Query { t: T } type T @key(fields: \"id\") { id: ID! n: [String] @shareable }",
                ),
                sg(
                    "b",
                    "type T @key(fields: \"id\") { id: ID! n: String @shareable }",
                ),
            ],
            vec![
                r#"[b] T.n: type is [String] in subgraph "a" but String in subgraph "b" (FIELD_TYPE_MISMATCH)"#,
            ],
        ),
        (
            "field resolved by two subgraphs without @shareable",
            vec![
                sg(
                    "a",
                    "type Query { t: T } type T @key(fields: \"id\") { id: ID! n: String }",
                ),
                sg(
                    "b",
                    "type T @key(fields: \"id\") { id: ID! n: String @shareable }",
                ),
            ],
            vec![
                r#"[a] T.n: non-shareable field is resolved from several subgraphs: "a" and "b"; it is not marked @shareable in "a" (INVALID_FIELD_SHARING)"#,
            ],
        ),
        (
            "root field in two subgraphs",
            vec![sg("a", Q), sg("b", Q)],
            vec![
                r#"[a] Query.a: non-shareable field is resolved from several subgraphs: "a" and "b"; it is not marked @shareable in "a" (INVALID_FIELD_SHARING)"#,
            ],
        ),
        (
            "value type in two subgraphs",
            vec![
                sg("a", "type Query { v: V } type V { x: Int }"),
                sg("b", "type Query { w: V } type V { x: Int }"),
            ],
            vec![
                r#"[a] V.x: non-shareable field is resolved from several subgraphs: "a" and "b"; it is not marked @shareable in "a" (INVALID_FIELD_SHARING)"#,
            ],
        ),
        (
            "override from an unknown subgraph",
            vec![sg(
                "a",
                "type Query { t: T } type T @key(fields: \"id\") { id: ID! n: Int @override(from: \"nope\") }",
            )],
            vec![
                r#"[a] T.n: @override(from: "nope") names a subgraph that is not being composed (OVERRIDE_FROM_UNKNOWN_SUBGRAPH)"#,
            ],
        ),
        (
            "override from itself",
            vec![sg(
                "a",
                "type Query { t: T } type T @key(fields: \"id\") { id: ID! n: Int @override(from: \"a\") }",
            )],
            vec![
                r#"[a] T.n: @override(from: "a") names its own subgraph (OVERRIDE_FROM_SELF_ERROR)"#,
            ],
        ),
        (
            "override of an override",
            vec![
                sg(
                    "a",
                    "type Query { t: T } type T @key(fields: \"id\") { id: ID! n: Int @override(from: \"b\") }",
                ),
                sg(
                    "b",
                    "type T @key(fields: \"id\") { id: ID! n: Int @override(from: \"a\") }",
                ),
            ],
            vec![
                r#"[a] T.n: @override(from: "b") names a subgraph whose field has an @override itself (OVERRIDE_SOURCE_HAS_OVERRIDE)"#,
                r#"[b] T.n: @override(from: "a") names a subgraph whose field has an @override itself (OVERRIDE_SOURCE_HAS_OVERRIDE)"#,
            ],
        ),
        (
            "override label",
            vec![
                sg(
                    "a",
                    "type Query { t: T } type T @key(fields: \"id\") { id: ID! n: Int }",
                ),
                sg(
                    "b",
                    "type T @key(fields: \"id\") { id: ID! n: Int @override(from: \"a\", label: \"percent(150)\") }",
                ),
            ],
            vec![
                r#"[b] T.n: invalid @override label "percent(150)": expected percent(N) with 0 <= N <= 100, or a name (OVERRIDE_LABEL_INVALID)"#,
            ],
        ),
        (
            "override on an external field",
            vec![
                sg(
                    "a",
                    "type Query { t: T } type T @key(fields: \"id\") { id: ID! n: Int }",
                ),
                sg(
                    "b",
                    "type T @key(fields: \"id\") { id: ID! n: Int @external @override(from: \"a\") m: Int @requires(fields: \"n\") }",
                ),
            ],
            vec![
                r#"[b] T.n: @override cannot be used on an @external field (OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE)"#,
            ],
        ),
        (
            "key naming a missing field",
            vec![sg(
                "a",
                "type Query { t: T } type T @key(fields: \"nope\") { id: ID! }",
            )],
            vec![
                r#"[a] T: invalid @key(fields: "nope"): type `T` does not have a field `nope` (KEY_INVALID_FIELDS)"#,
            ],
        ),
        (
            "key selecting a list",
            vec![sg(
                "a",
                "type Query { t: T } type T @key(fields: \"ids\") { ids: [ID!]! }",
            )],
            vec![
                r#"[a] T: @key(fields: "ids") selects field ids of type [ID!]!: lists, interfaces and unions are not allowed in keys (KEY_FIELDS_SELECT_INVALID_TYPE)"#,
            ],
        ),
        (
            "key selecting a field with arguments",
            vec![sg(
                "a",
                "type Query { t: T } type T @key(fields: \"id\") { id(x: Int): ID! }",
            )],
            vec![
                r#"[a] T: @key(fields: "id") selects field id which has arguments (KEY_FIELDS_HAS_ARGS)"#,
            ],
        ),
        (
            "external field nothing uses",
            vec![
                sg(
                    "a",
                    "type Query { t: T } type T @key(fields: \"id\") { id: ID! n: Int }",
                ),
                sg(
                    "b",
                    "type T @key(fields: \"id\") { id: ID! n: Int @external }",
                ),
            ],
            vec![
                r#"[b] T.n: field is marked @external but is not used by any @key, @requires or @provides (EXTERNAL_UNUSED)"#,
            ],
        ),
        (
            "external field no subgraph resolves",
            vec![
                sg(
                    "a",
                    "type Query { t: T } type T @key(fields: \"id\") { id: ID! }",
                ),
                sg(
                    "b",
                    "type T @key(fields: \"id\") { id: ID! n: Int @external m: Int @requires(fields: \"n\") }",
                ),
            ],
            vec![
                r#"[b] T.n: field is marked @external in every subgraph that defines it: no subgraph resolves it (EXTERNAL_MISSING_ON_BASE)"#,
            ],
        ),
        (
            "requires naming a missing field",
            vec![sg(
                "a",
                "type Query { t: T } type T @key(fields: \"id\") { id: ID! m: Int @requires(fields: \"nope\") }",
            )],
            vec![
                r#"[a] T.m: invalid @requires(fields: "nope"): type `T` does not have a field `nope` (REQUIRES_INVALID_FIELDS)"#,
            ],
        ),
        (
            "requires a field that is not external",
            vec![sg(
                "a",
                "type Query { t: T } type T @key(fields: \"id\") { id: ID! n: Int m: Int @requires(fields: \"n\") }",
            )],
            vec![
                r#"[a] T.m: @requires(fields: "n") selects T.n, which is not marked @external (REQUIRES_FIELDS_MISSING_EXTERNAL)"#,
            ],
        ),
        (
            "provides naming a missing field",
            vec![sg(
                "a",
                "type Query { t: T @provides(fields: \"nope\") } type T @key(fields: \"id\") { id: ID! }",
            )],
            vec![
                r#"[a] Query.t: invalid @provides(fields: "nope"): type `T` does not have a field `nope` (PROVIDES_INVALID_FIELDS)"#,
            ],
        ),
        (
            "provides a field that is not external",
            vec![sg(
                "a",
                "type Query { t: T @provides(fields: \"n\") } type T @key(fields: \"id\") { id: ID! n: Int }",
            )],
            vec![
                r#"[a] Query.t: @provides(fields: "n") selects T.n, which is not marked @external (PROVIDES_FIELDS_MISSING_EXTERNAL)"#,
            ],
        ),
        (
            "provides on a scalar field",
            vec![sg("a", "type Query { t: Int @provides(fields: \"n\") }")],
            vec![
                r#"[a] Query.t: @provides on a field of type Int, which is not an object, interface or union (PROVIDES_ON_NON_OBJECT_FIELD)"#,
            ],
        ),
        (
            "type kind mismatch",
            vec![
                sg("a", "type Query { k: K } enum K { A }"),
                sg("b", "type Query { l: K } type K { a: Int }"),
            ],
            vec![
                r#"[b] K: type K is an enum in subgraph "a" but an object type in subgraph "b" (TYPE_KIND_MISMATCH)"#,
            ],
        ),
        (
            "enum in input and output positions with different values",
            vec![
                sg("a", "type Query { k(k: K): K } enum K { A B }"),
                sg("b", "type Query { l: K } enum K { A }"),
            ],
            vec![
                r#"[b] K: enum K is used as both input and output type, and value B is not defined in every subgraph defining the enum (ENUM_VALUE_MISMATCH)"#,
            ],
        ),
        (
            "input enum with no common value",
            vec![
                sg("a", "type Query { k(k: K): Int } enum K { A }"),
                sg("b", "type Query { l(k: K): Int } enum K { B }"),
            ],
            vec![
                r#"[a] K: input enum K has no value defined in every subgraph (EMPTY_MERGED_ENUM_TYPE)"#,
            ],
        ),
        (
            "required input field missing in a subgraph",
            vec![
                sg(
                    "a",
                    "type Query { a(i: I): Int } input I { x: Int! y: Int }",
                ),
                sg("b", "type Query { b(i: I): Int } input I { y: Int }"),
            ],
            vec![
                r#"[a] I.x: field x is required but not defined in every subgraph that defines I (REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH)"#,
            ],
        ),
        (
            "input type with no common field",
            vec![
                sg("a", "type Query { a(i: I): Int } input I { x: Int }"),
                sg("b", "type Query { b(i: I): Int } input I { y: Int }"),
            ],
            vec![
                r#"[a] I: input type I has no field defined in every subgraph that defines it (EMPTY_MERGED_INPUT_TYPE)"#,
            ],
        ),
        (
            "required argument missing in a subgraph",
            vec![
                sg(
                    "a",
                    "type Query { t: T } type T @key(fields: \"id\") { id: ID! n(x: Int!): Int @shareable }",
                ),
                sg(
                    "b",
                    "type T @key(fields: \"id\") { id: ID! n: Int @shareable }",
                ),
            ],
            vec![
                r#"[a] T.n(x:): argument n(x:) is required but not defined in every subgraph that defines n (REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH)"#,
            ],
        ),
        (
            "argument type and default mismatch",
            vec![
                sg(
                    "a",
                    "type Query { t: T } type T @key(fields: \"id\") { id: ID! n(x: Int = 1, y: Int): Int @shareable }",
                ),
                sg(
                    "b",
                    "type T @key(fields: \"id\") { id: ID! n(x: Int = 2, y: String): Int @shareable }",
                ),
            ],
            vec![
                r#"[b] T.n(x:): default value is 1 in subgraph "a" but 2 in subgraph "b" (FIELD_ARGUMENT_DEFAULT_MISMATCH)"#,
                r#"[b] T.n(y:): type is Int in subgraph "a" but String in subgraph "b" (FIELD_ARGUMENT_TYPE_MISMATCH)"#,
            ],
        ),
        (
            "requires using an input enum value merging dropped",
            vec![
                sg(
                    "a",
                    "type Query { t: T } enum U { CM IN } type T @key(fields: \"id\") { id: ID! d(unit: U): Int }",
                ),
                sg(
                    "b",
                    "enum U { CM IN } type T @key(fields: \"id\") { id: ID! d(unit: U): Int @external m: Int @requires(fields: \"d(unit: CM)\") }",
                ),
                sg("c", "type Query { c(u: U): Int } enum U { IN }"),
            ],
            vec![
                r#"[b] T.m: @requires(fields: "d(unit: CM)") is invalid in the supergraph: value `CM` does not exist on `U` (REQUIRES_INVALID_FIELDS)"#,
            ],
        ),
        (
            "interface object without an interface",
            vec![sg(
                "a",
                "type Query { m: M } type M @key(fields: \"id\") @interfaceObject { id: ID! }",
            )],
            vec![
                r#"[a] M: @interfaceObject type M is not an interface in any other subgraph (INTERFACE_OBJECT_USAGE_ERROR)"#,
            ],
        ),
        (
            "no query fields",
            vec![sg("a", "type T @key(fields: \"id\") { id: ID! }")],
            vec![r#"no subgraph defines a Query field (NO_QUERIES)"#],
        ),
    ];
    let mut failures = Vec::new();
    for (what, subgraphs, expected) in cases {
        let actual = errors(&subgraphs);
        if actual != expected {
            failures.push(format!("{what}:\n    {}", actual.join("\n    ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
