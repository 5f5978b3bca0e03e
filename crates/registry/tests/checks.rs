//! `check`: a table of subgraph changes with the expected classification, composition failure,
//! operations deciding what is breaking, and the demo's movies graph.

use switchyard_compose::Subgraph;
use switchyard_registry::{
    CheckInput, CheckReport, SchemaChangeKind as K, Severity, Severity::*, check,
};

const FED: &str = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])
"#;

fn sub(name: &str, body: &str) -> Subgraph {
    Subgraph {
        name: name.into(),
        url: format!("http://{name}:4000/graphql"),
        sdl: format!("{FED}{body}"),
    }
}

fn run(current: &[Subgraph], proposed: Subgraph, operations: Option<&[String]>) -> CheckReport {
    check(CheckInput {
        current,
        proposed,
        operations,
    })
}

fn triples(report: &CheckReport) -> Vec<(K, String, Severity)> {
    let mut t: Vec<_> = report
        .changes
        .iter()
        .map(|c| (c.kind, c.coordinate.clone(), c.severity))
        .collect();
    t.sort();
    t
}

type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(K, &'static str, Severity)],
);

const CASES: &[Case] = &[
    (
        "type removed",
        "type Query { movie: Movie } type Movie { id: ID } type Actor { name: String }",
        "type Query { movie: Movie } type Movie { id: ID }",
        &[(K::TypeRemoved, "Actor", Breaking)],
    ),
    (
        "type added",
        "type Query { movie: Movie } type Movie { id: ID }",
        "type Query { movie: Movie } type Movie { id: ID } type Actor { name: String }",
        &[(K::TypeAdded, "Actor", Safe)],
    ),
    (
        "type kind changed",
        "type Query { released(on: Day): Boolean } scalar Day",
        "type Query { released(on: Day): Boolean } enum Day { TODAY }",
        &[(K::TypeKindChanged, "Day", Breaking)],
    ),
    (
        "field removed from an object",
        "type Query { movie: Movie } type Movie { id: ID title: String }",
        "type Query { movie: Movie } type Movie { id: ID }",
        &[(K::FieldRemoved, "Movie.title", Breaking)],
    ),
    (
        "field removed from an interface (and its implementation)",
        "type Query { node: Node } interface Node { id: ID name: String } type Movie implements Node { id: ID name: String }",
        "type Query { node: Node } interface Node { id: ID } type Movie implements Node { id: ID name: String }",
        &[(K::FieldRemoved, "Node.name", Breaking)],
    ),
    (
        "field added",
        "type Query { movie: Movie } type Movie { id: ID }",
        "type Query { movie: Movie } type Movie { id: ID title: String }",
        &[(K::FieldAdded, "Movie.title", Safe)],
    ),
    (
        "field made inaccessible reads as removed",
        "type Query { movie: Movie } type Movie { id: ID title: String }",
        "type Query { movie: Movie } type Movie { id: ID title: String @federation__inaccessible }",
        &[(K::FieldRemoved, "Movie.title", Breaking)],
    ),
    (
        "output made nullable",
        "type Query { title: String! }",
        "type Query { title: String }",
        &[(K::FieldTypeChanged, "Query.title", Breaking)],
    ),
    (
        "output made non-null",
        "type Query { title: String titles: [String] }",
        "type Query { title: String! titles: [String!]! }",
        &[
            (K::FieldTypeChanged, "Query.title", Safe),
            (K::FieldTypeChanged, "Query.titles", Safe),
        ],
    ),
    (
        "output type changed incompatibly",
        "type Query { year: String tags: [String] list: [String] }",
        "type Query { year: Int tags: String list: [[String]] }",
        &[
            (K::FieldTypeChanged, "Query.list", Breaking),
            (K::FieldTypeChanged, "Query.tags", Breaking),
            (K::FieldTypeChanged, "Query.year", Breaking),
        ],
    ),
    (
        "list item made nullable in output",
        "type Query { titles: [String!]! }",
        "type Query { titles: [String]! }",
        &[(K::FieldTypeChanged, "Query.titles", Breaking)],
    ),
    (
        "argument removed",
        "type Query { movie(id: ID, lang: String): String }",
        "type Query { movie(id: ID): String }",
        &[(K::ArgumentRemoved, "Query.movie(lang:)", Breaking)],
    ),
    (
        "argument made non-null",
        "type Query { movie(id: ID): String }",
        "type Query { movie(id: ID!): String }",
        &[(K::ArgumentTypeChanged, "Query.movie(id:)", Breaking)],
    ),
    (
        "argument made nullable",
        "type Query { movie(id: ID!, ids: [ID!]!): String }",
        "type Query { movie(id: ID, ids: [ID]): String }",
        &[
            (K::ArgumentTypeChanged, "Query.movie(id:)", Safe),
            (K::ArgumentTypeChanged, "Query.movie(ids:)", Safe),
        ],
    ),
    (
        "argument type changed incompatibly",
        "type Query { movie(id: ID): String }",
        "type Query { movie(id: Int): String }",
        &[(K::ArgumentTypeChanged, "Query.movie(id:)", Breaking)],
    ),
    (
        "required argument added",
        "type Query { movie(id: ID): String }",
        "type Query { movie(id: ID, lang: String!): String }",
        &[(K::RequiredArgumentAdded, "Query.movie(lang:)", Breaking)],
    ),
    (
        "optional arguments added (nullable, or non-null with a default)",
        "type Query { movie(id: ID): String }",
        "type Query { movie(id: ID, lang: String, limit: Int! = 10): String }",
        &[
            (K::ArgumentAdded, "Query.movie(lang:)", Safe),
            (K::ArgumentAdded, "Query.movie(limit:)", Safe),
        ],
    ),
    (
        "argument default changed",
        "type Query { movies(limit: Int = 10): [String] }",
        "type Query { movies(limit: Int = 20): [String] }",
        &[(K::ArgumentDefaultChanged, "Query.movies(limit:)", Dangerous)],
    ),
    (
        "input fields: required added, optional added, removed",
        "type Query { movies(filter: Filter): [String] } input Filter { year: Int genre: String }",
        "type Query { movies(filter: Filter): [String] } input Filter { year: Int lang: String! after: Int page: Int! = 1 }",
        &[
            (K::RequiredInputFieldAdded, "Filter.lang", Breaking),
            (K::InputFieldAdded, "Filter.after", Safe),
            (K::InputFieldAdded, "Filter.page", Safe),
            (K::InputFieldRemoved, "Filter.genre", Breaking),
        ],
    ),
    (
        "input fields: made non-null, made nullable, changed, default changed",
        "type Query { movies(filter: Filter): [String] } input Filter { year: Int genre: String! lang: String first: Int = 10 }",
        "type Query { movies(filter: Filter): [String] } input Filter { year: Int! genre: String lang: Int first: Int = 5 }",
        &[
            (K::InputFieldTypeChanged, "Filter.genre", Safe),
            (K::InputFieldTypeChanged, "Filter.lang", Breaking),
            (K::InputFieldTypeChanged, "Filter.year", Breaking),
            (K::InputFieldDefaultChanged, "Filter.first", Dangerous),
        ],
    ),
    (
        "enum value removed",
        "type Query { movies(genre: Genre): [String] } enum Genre { DRAMA COMEDY }",
        "type Query { movies(genre: Genre): [String] } enum Genre { DRAMA }",
        &[(K::EnumValueRemoved, "Genre.COMEDY", Breaking)],
    ),
    (
        "enum value added",
        "type Query { genre: Genre } enum Genre { DRAMA }",
        "type Query { genre: Genre } enum Genre { DRAMA COMEDY }",
        &[(K::EnumValueAdded, "Genre.COMEDY", Dangerous)],
    ),
    (
        "union member removed",
        "type Query { search: Result } union Result = Movie | Person type Movie { id: ID } type Person { id: ID }",
        "type Query { search: Result } union Result = Movie type Movie { id: ID } type Person { id: ID }",
        &[(K::UnionMemberRemoved, "Result", Breaking)],
    ),
    (
        "union member added",
        "type Query { search: Result } union Result = Movie type Movie { id: ID } type Person { id: ID }",
        "type Query { search: Result } union Result = Movie | Person type Movie { id: ID } type Person { id: ID }",
        &[(K::UnionMemberAdded, "Result", Dangerous)],
    ),
    (
        "interface implementation removed",
        "type Query { node: Node } interface Node { id: ID } type Movie implements Node { id: ID } type Show implements Node { id: ID }",
        "type Query { node: Node } interface Node { id: ID } type Movie { id: ID } type Show implements Node { id: ID }",
        &[(K::InterfaceImplementationRemoved, "Movie", Breaking)],
    ),
    (
        "interface implementation added",
        "type Query { node: Node } interface Node { id: ID } type Movie { id: ID } type Show implements Node { id: ID }",
        "type Query { node: Node } interface Node { id: ID } type Movie implements Node { id: ID } type Show implements Node { id: ID }",
        &[(K::InterfaceImplementationAdded, "Movie", Dangerous)],
    ),
    (
        "descriptions and deprecations are ignored",
        "type Query { title: String }",
        "\"The root\" type Query { \"A title\" title: String @deprecated(reason: \"no\") }",
        &[],
    ),
];

#[test]
fn the_table_of_changes() {
    let mut failures = Vec::new();
    for (name, old, new, expected) in CASES {
        let report = run(&[sub("a", old)], sub("a", new), None);
        let mut want: Vec<_> = expected
            .iter()
            .map(|(k, c, s)| (*k, (*c).to_owned(), *s))
            .collect();
        want.sort();
        let got = triples(&report);
        let breaking = want.iter().any(|(_, _, s)| *s == Breaking);
        if !report.composes || got != want || report.breaking != breaking {
            failures.push(format!(
                "{name}: composes={} breaking={} errors={:?}\n  got  {got:?}\n  want {want:?}",
                report.composes, report.breaking, report.composition_errors
            ));
        }
        for c in &report.changes {
            assert!(c.used_by.is_none(), "{name}: no operations, no used_by");
            assert!(!c.message.is_empty());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn two_subgraphs_a_field_contributed_by_the_other_is_removed() {
    let movies = sub(
        "movies",
        r#"type Query { movie(id: ID!): Movie } type Movie @key(fields: "id") { id: ID! title: String! }"#,
    );
    let reviews = sub(
        "reviews",
        r#"type Movie @key(fields: "id") { id: ID! reviews: [Review!]! } type Review { stars: Int! }"#,
    );
    let reviews_v2 = sub(
        "reviews",
        r#"type Movie @key(fields: "id") { id: ID! rating: Float }"#,
    );
    let report = run(&[movies.clone(), reviews], reviews_v2, None);
    assert!(report.composes, "{:?}", report.composition_errors);
    assert_eq!(
        triples(&report),
        vec![
            (K::TypeRemoved, "Review".into(), Breaking),
            (K::FieldAdded, "Movie.rating".into(), Safe),
            (K::FieldRemoved, "Movie.reviews".into(), Breaking),
        ]
    );
    assert!(report.breaking);

    // A new subgraph (added by name) adding a shareable copy of a field changes nothing.
    let copy = sub(
        "copy",
        r#"type Movie @key(fields: "id") { id: ID! title: String! @shareable }"#,
    );
    let movies_shareable = sub(
        "movies",
        r#"type Query { movie(id: ID!): Movie } type Movie @key(fields: "id") { id: ID! title: String! @shareable }"#,
    );
    let report = run(&[movies_shareable], copy, None);
    assert!(report.composes, "{:?}", report.composition_errors);
    assert_eq!(triples(&report), vec![]);
    assert!(!report.breaking);
    let _ = movies;
}

#[test]
fn a_proposal_that_does_not_compose_is_breaking_with_the_errors() {
    let a = sub("a", "type Query { hello: String }");
    let b = sub("b", "type Query { hello: String }");
    let report = run(&[a], b, None);
    assert!(!report.composes);
    assert!(report.breaking);
    assert!(report.changes.is_empty());
    assert_eq!(
        report.composition_errors.len(),
        1,
        "{:?}",
        report.composition_errors
    );
    let error = &report.composition_errors[0];
    assert!(
        error.contains("Query.hello") && error.contains("INVALID_FIELD_SHARING"),
        "{error}"
    );

    let broken = sub("a", "type Query { hello: Nope }");
    let report = run(&[sub("a", "type Query { hello: String }")], broken, None);
    assert!(!report.composes && report.breaking);
    assert!(
        report.composition_errors[0].contains("INVALID_GRAPHQL"),
        "{:?}",
        report.composition_errors
    );
}

#[test]
fn operations_decide_what_is_breaking() {
    let old = sub(
        "a",
        "type Query { movie(id: ID!): Movie movies(genre: Genre, filter: Filter): [Movie] } \
         type Movie { id: ID! title: String year: Int } \
         enum Genre { DRAMA COMEDY HORROR } input Filter { genre: Genre }",
    );
    let new = sub(
        "a",
        "type Query { movie(id: ID!, lang: String!): Movie movies(genre: Genre, filter: Filter): [Movie] } \
         type Movie { id: ID! } \
         enum Genre { DRAMA } input Filter { genre: Genre }",
    );
    let ops: Vec<String> = [
        "query A { movie(id: 1) { title } }",
        "query B { movies(genre: DRAMA) { id } }",
        "{ movies { ...F } } fragment F on Movie { title }",
        "query Bad { nope }",
        "query V($f: Filter) { movies(filter: $f) { id } }",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let report = run(&[old], new, Some(&ops));
    assert!(report.composes);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].document, "#3");
    assert_eq!(
        report.skipped[0].reason,
        "type `Query` does not have a field `nope` at 1:13"
    );
    let by = |coordinate: &str| {
        report
            .changes
            .iter()
            .find(|c| c.coordinate == coordinate)
            .unwrap_or_else(|| panic!("no change at {coordinate}: {:?}", report.changes))
    };
    let title = by("Movie.title");
    assert_eq!(title.severity, Breaking);
    assert_eq!(title.used_by, Some(vec!["A".to_owned(), "#2".to_owned()]));
    let year = by("Movie.year");
    assert_eq!(year.severity, Safe);
    assert_eq!(year.used_by, Some(vec![]));
    assert!(
        year.message.ends_with("(unused by the 4 operations given)"),
        "{}",
        year.message
    );
    // A new required argument breaks every selection of the field.
    let lang = by("Query.movie(lang:)");
    assert_eq!(
        (lang.kind, lang.severity),
        (K::RequiredArgumentAdded, Breaking)
    );
    assert_eq!(lang.used_by, Some(vec!["A".to_owned()]));
    // COMEDY is reachable from V's variable; nobody can send HORROR but V.
    let comedy = by("Genre.COMEDY");
    assert_eq!(comedy.severity, Breaking);
    assert_eq!(comedy.used_by, Some(vec!["V".to_owned()]));
    assert_eq!(by("Genre.HORROR").used_by, Some(vec!["V".to_owned()]));
    assert!(report.breaking);

    // Only B: its DRAMA literal survives, so nothing it uses breaks.
    let only_b = vec![ops[1].clone()];
    let report = run(
        &[sub(
            "a",
            "type Query { movies(genre: Genre): [String] } enum Genre { DRAMA COMEDY }",
        )],
        sub(
            "a",
            "type Query { movies(genre: Genre): [String] } enum Genre { DRAMA }",
        ),
        Some(&only_b),
    );
    // (B selects `{ id }` on a list of scalars here: invalid, so skipped.)
    assert_eq!(report.skipped.len(), 1);
    let ok = vec!["query B { movies(genre: DRAMA) }".to_owned()];
    let report = run(
        &[sub(
            "a",
            "type Query { movies(genre: Genre): [String] } enum Genre { DRAMA COMEDY }",
        )],
        sub(
            "a",
            "type Query { movies(genre: Genre): [String] } enum Genre { DRAMA }",
        ),
        Some(&ok),
    );
    assert_eq!(
        triples(&report),
        vec![(K::EnumValueRemoved, "Genre.COMEDY".into(), Safe)]
    );
    assert!(!report.breaking);

    // Dangerous changes keep their severity; used_by names who may notice.
    let ops: Vec<String> = vec![
        "query G { movies(genre: DRAMA) }".into(),
        "query L { movies(limit: 3) }".into(),
        "query N { other }".into(),
    ];
    let report = run(
        &[sub(
            "a",
            "type Query { movies(genre: Genre, limit: Int = 10): [String] other: Int } enum Genre { DRAMA }",
        )],
        sub(
            "a",
            "type Query { movies(genre: Genre, limit: Int = 20): [String] other: Int } enum Genre { DRAMA COMEDY }",
        ),
        Some(&ops),
    );
    let used: Vec<_> = report
        .changes
        .iter()
        .map(|c| {
            (
                c.coordinate.as_str(),
                c.severity,
                c.used_by.clone().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        used,
        vec![
            ("Genre.COMEDY", Dangerous, vec!["G".to_owned()]),
            (
                "Query.movies(limit:)",
                Dangerous,
                vec!["G".to_owned(), "L".to_owned()]
            ),
        ]
    );
    assert!(!report.breaking);
}

#[test]
fn the_demo_movies_graph() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../graphql/tests/fixtures/movies"
    );
    let load = |name: &str| Subgraph {
        name: name.into(),
        url: format!("http://{name}:4000/graphql"),
        sdl: std::fs::read_to_string(format!("{dir}/{name}.graphql")).unwrap(),
    };
    let current = [load("movies"), load("productions"), load("talent")];
    let mut talent = load("talent");
    talent.sdl = talent
        .sdl
        .replace("  born: Int\n", "  born: Int!\n")
        .replace("  name: String!\n", "")
        .replace("talent(id: ID!)", "talent(id: ID!, locale: String)");
    let ops = vec![
        "query Cast { movie(id: \"1\") { title cast { name born } } }".to_owned(),
        "query Born { talent(id: \"2\") { born movies { title } } }".to_owned(),
    ];
    let report = run(&current, talent, Some(&ops));
    assert!(report.composes, "{:?}", report.composition_errors);
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(
        triples(&report),
        vec![
            (K::FieldRemoved, "Talent.name".into(), Breaking),
            (K::FieldTypeChanged, "Talent.born".into(), Safe),
            (K::ArgumentAdded, "Query.talent(locale:)".into(), Safe),
        ]
    );
    let name = &report
        .changes
        .iter()
        .find(|c| c.coordinate == "Talent.name")
        .unwrap();
    assert_eq!(name.used_by, Some(vec!["Cast".to_owned()]));
    assert!(report.breaking);
}

#[test]
fn a_first_subgraph_has_nothing_to_compare_with() {
    let report = run(&[], sub("a", "type Query { hello: String }"), None);
    assert!(report.composes && !report.breaking);
    assert!(report.changes.is_empty());
    assert!(
        report.notes[0].contains("nothing to compare with"),
        "{:?}",
        report.notes
    );
}

#[test]
fn a_removed_union_member_or_implementation_breaks_only_fragments_on_it() {
    let old = sub(
        "a",
        "type Query { search: Result node: Node movie: Movie } union Result = Movie | Person \
         interface Node { id: ID } type Movie implements Node { id: ID } \
         type Person implements Node { id: ID }",
    );
    let new = sub(
        "a",
        "type Query { search: Result node: Node movie: Movie } union Result = Movie \
         interface Node { id: ID } type Movie { id: ID } type Person implements Node { id: ID }",
    );
    let ops: Vec<String> = [
        "query P { search { ... on Person { id } } }",
        "query M { search { ... on Movie { id } } node { id } }",
        "query N { node { ...F } } fragment F on Movie { id }",
        "query R { movie { ... on Node { id } } }",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let report = run(&[old], new, Some(&ops));
    let got: Vec<_> = report
        .changes
        .iter()
        .map(|c| {
            (
                c.kind,
                c.coordinate.as_str(),
                c.severity,
                c.used_by.clone().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                K::InterfaceImplementationRemoved,
                "Movie",
                Breaking,
                vec!["N".to_owned(), "R".to_owned()]
            ),
            (
                K::UnionMemberRemoved,
                "Result",
                Breaking,
                vec!["P".to_owned()]
            ),
        ]
    );
}
