//! Compositions that succeed: what the supergraph says, and that the gateway loads it.

use switchyard_compose::{Subgraph, compose};
use switchyard_graphql::Supergraph;

fn sg(name: &str, sdl: &str) -> Subgraph {
    Subgraph {
        name: name.into(),
        url: format!("http://{name}.invalid/graphql"),
        sdl: sdl.into(),
    }
}

/// Composes, checks the gateway loads the result, and returns it.
fn supergraph(subgraphs: &[Subgraph]) -> String {
    let sdl = compose(subgraphs)
        .unwrap_or_else(|e| panic!("{e}"))
        .supergraph_sdl;
    Supergraph::parse(&sdl, "composed.graphql").unwrap_or_else(|e| panic!("{e}\n{sdl}"));
    sdl
}

fn has(sdl: &str, text: &str) {
    assert!(sdl.contains(text), "missing {text:?} in:\n{sdl}");
}

#[test]
fn renamed_imports_and_namespaced_directives() {
    let a = sg(
        "a",
        r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: [{name: "@key", as: "@primaryKey"}, "FieldSet"])
        type Query { t: T }
        type T @primaryKey(fields: "id") { id: ID! n: Int @federation__shareable }"#,
    );
    let b = sg(
        "b",
        r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", as: "fed", import: ["@shareable"])
        type T @fed__key(fields: "id") { id: ID! n: Int @shareable }"#,
    );
    let sdl = supergraph(&[a, b]);
    has(
        &sdl,
        "type T\n  @join__type(graph: A, key: \"id\")\n  @join__type(graph: B, key: \"id\")\n{\n  id: ID!\n  n: Int\n}",
    );
}

#[test]
fn output_nullability_differences_merge_to_the_nullable_type() {
    let link = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])"#;
    let a = sg(
        "a",
        &format!(
            "{link} type Query {{ t: T }} type T @key(fields: \"id\") {{ id: ID! n: String! @shareable l(x: Int): [Int!] @shareable }}"
        ),
    );
    let b = sg(
        "b",
        &format!(
            "{link} type T @key(fields: \"id\") {{ id: ID! n: String @shareable l(x: Int!): [Int] @shareable }}"
        ),
    );
    let sdl = supergraph(&[a, b]);
    has(
        &sdl,
        "n: String @join__field(graph: A, type: \"String!\") @join__field(graph: B, type: \"String\")",
    );
    has(
        &sdl,
        "l(x: Int!): [Int] @join__field(graph: A, type: \"[Int!]\") @join__field(graph: B, type: \"[Int]\")",
    );
}

#[test]
fn renamed_root_types_become_query_and_mutation() {
    let a = sg(
        "a",
        r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
        schema { query: RootQuery mutation: RootMutation }
        type RootQuery { t: T self: RootQuery }
        type RootMutation { set(n: Int): T }
        type T @key(fields: "id") { id: ID! }"#,
    );
    let sdl = supergraph(&[a]);
    has(&sdl, "{\n  query: Query\n  mutation: Mutation\n}");
    has(
        &sdl,
        "type Query\n  @join__type(graph: A)\n{\n  t: T\n  self: Query\n}",
    );
    has(
        &sdl,
        "type Mutation\n  @join__type(graph: A)\n{\n  set(n: Int): T\n}",
    );
    assert!(!sdl.contains("RootQuery"), "{sdl}");
}

#[test]
fn inaccessible_and_tag_are_kept_and_hidden_from_the_api() {
    let a = sg(
        "a",
        r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@inaccessible", "@tag"])
        type Query { t: T @tag(name: "public") secret: Int @inaccessible }
        type T @key(fields: "id") { id: ID! }"#,
    );
    let sdl = supergraph(&[a]);
    has(
        &sdl,
        "@link(url: \"https://specs.apollo.dev/inaccessible/v0.2\", for: SECURITY)",
    );
    has(&sdl, "secret: Int @inaccessible");
    has(&sdl, "t: T @tag(name: \"public\")");
    let loaded = Supergraph::parse(&sdl, "composed.graphql").unwrap();
    assert!(
        loaded
            .api
            .get_object("Query")
            .unwrap()
            .fields
            .get("secret")
            .is_none()
    );
}

#[test]
fn input_only_enums_keep_the_common_values_and_output_enums_all() {
    let link =
        r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])"#;
    let a = sg(
        "a",
        &format!("{link} type Query {{ a(k: In): Out }} enum In {{ X Y }} enum Out {{ P }}"),
    );
    let b = sg(
        "b",
        &format!("{link} type Query {{ b(k: In): Out }} enum In {{ X Z }} enum Out {{ Q }}"),
    );
    let sdl = supergraph(&[a, b]);
    has(
        &sdl,
        "enum In\n  @join__type(graph: A)\n  @join__type(graph: B)\n{\n  X @join__enumValue(graph: A) @join__enumValue(graph: B)\n}",
    );
    has(
        &sdl,
        "{\n  P @join__enumValue(graph: A)\n  Q @join__enumValue(graph: B)\n}",
    );
}

#[test]
fn an_overridden_key_field_is_marked_used_overridden() {
    let a = sg(
        "a",
        r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
        type Query { t: T } type T @key(fields: "id") { id: ID! n: Int }"#,
    );
    let b = sg(
        "b",
        r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@override"])
        type T @key(fields: "id") { id: ID! @override(from: "a") n: Int @override(from: "a") }"#,
    );
    let sdl = supergraph(&[a, b]);
    has(
        &sdl,
        "id: ID! @join__field(graph: A, usedOverridden: true) @join__field(graph: B, override: \"a\")",
    );
    has(&sdl, "n: Int @join__field(graph: B, override: \"a\")");
}

#[test]
fn interfaces_unions_and_extensions_merge() {
    let link = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable", "@external"])"#;
    let a = sg(
        "a",
        &format!(
            "{link} type Query {{ s: [S] n: Node }} interface Node {{ id: ID! }} type A implements Node @key(fields: \"id\") {{ id: ID! }} union S = A"
        ),
    );
    let b = sg(
        "b",
        &format!(
            "{link} interface Node {{ id: ID! }} type B implements Node @key(fields: \"id\") {{ id: ID! }} union S = B extend type A @key(fields: \"id\") {{ id: ID! x: Int }}"
        ),
    );
    let sdl = supergraph(&[a, b]);
    has(
        &sdl,
        "type A implements Node\n  @join__implements(graph: A, interface: \"Node\")\n  @join__type(graph: A, key: \"id\")\n  @join__type(graph: B, key: \"id\", extension: true)\n",
    );
    has(
        &sdl,
        "@join__unionMember(graph: A, member: \"A\")\n  @join__unionMember(graph: B, member: \"B\")\n = A | B",
    );
}

#[test]
fn type_level_shareable_covers_its_own_block_only() {
    let link = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])"#;
    let a = format!(
        "{link} type Query {{ v: V }} type V @shareable {{ x: Int }} extend type V {{ y: Int }}"
    );
    let b = format!("{link} type Query {{ w: V }} type V @shareable {{ x: Int y: Int }}");
    let err = compose(&[sg("a", &a), sg("b", &b)]).unwrap_err();
    let lines: Vec<String> = err.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            r#"[a] V.y: non-shareable field is resolved from several subgraphs: "a" and "b"; it is not marked @shareable in "a" (INVALID_FIELD_SHARING)"#
        ]
    );
}

#[test]
fn hints_tell_what_was_left_out() {
    let link = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable", "@authenticated"])"#;
    let a = sg(
        "a",
        &format!(
            "{link} type Query {{ a(k: In, x: Int): Int @shareable @authenticated }} enum In {{ X Y }}"
        ),
    );
    let b = sg(
        "b",
        &format!("{link} type Query {{ a(k: In): Int @shareable }} enum In {{ X }}"),
    );
    let composed = compose(&[a, b]).unwrap();
    assert_eq!(
        composed.hints,
        [
            "[a] Query.a: @authenticated is left out of the supergraph: Switchyard's gateway does not enforce it yet (DIRECTIVE_DROPPED)",
            "In.Y: left out of the supergraph: input enum value not defined in every subgraph that defines the enum (INCONSISTENT_ENUM_VALUE_FOR_INPUT_ENUM)",
            "Query.a(x:): left out of the supergraph: argument not defined in every subgraph that defines the field (INCONSISTENT_ARGUMENT_PRESENCE)",
        ]
    );
    assert!(
        composed.supergraph_sdl.contains("  a(k: In): Int\n"),
        "{}",
        composed.supergraph_sdl
    );
}

#[test]
fn federation_1_and_2_subgraphs_mix() {
    let fed2 = sg(
        "products",
        r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])
        type Query { products: [Product] }
        type Product @key(fields: "upc") { upc: String! name: String @shareable }"#,
    );
    let fed1 = sg(
        "stock",
        r#"
        scalar _FieldSet
        directive @key(fields: _FieldSet!) repeatable on OBJECT | INTERFACE
        extend type Product @key(fields: "upc") { upc: String! @external name: String stock: Int unused: Int @external }"#,
    );
    let composed = compose(&[fed2, fed1]).unwrap_or_else(|e| panic!("{e}"));
    Supergraph::parse(&composed.supergraph_sdl, "composed.graphql").unwrap();
    has(
        &composed.supergraph_sdl,
        "type Product\n  @join__type(graph: PRODUCTS, key: \"upc\")\n  @join__type(graph: STOCK, key: \"upc\")\n{\n  upc: String!\n  name: String\n  stock: Int @join__field(graph: STOCK)\n}",
    );
    assert_eq!(
        composed.hints,
        [
            "[stock] Product.unused: left out of the supergraph: @external field not used by any @key, @requires or @provides (EXTERNAL_UNUSED; a hint for Federation 1 subgraphs)"
        ]
    );
}

#[test]
fn a_field_may_return_a_subtype_in_one_subgraph() {
    let link = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])"#;
    let a = sg(
        "a",
        &format!(
            "{link} type Query {{ t: Node @shareable u: [R!] @shareable }} interface Node {{ id: ID! }} type A implements Node @key(fields: \"id\") {{ id: ID! }} union R = A"
        ),
    );
    let b = sg(
        "b",
        &format!(
            "{link} type Query {{ t: A! @shareable u: [A!]! @shareable }} type A @key(fields: \"id\") {{ id: ID! }}"
        ),
    );
    let sdl = supergraph(&[a, b]);
    has(
        &sdl,
        "t: Node @join__field(graph: A, type: \"Node\") @join__field(graph: B, type: \"A!\")",
    );
    has(
        &sdl,
        "u: [R!] @join__field(graph: A, type: \"[R!]\") @join__field(graph: B, type: \"[A!]!\")",
    );
}
