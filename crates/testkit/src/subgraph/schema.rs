//! Turns a Federation 1 or 2 subgraph SDL into an executable schema: federation directive and
//! scalar definitions, `_Service`, `_Entity` and the `_entities`/`_service` root fields.

use apollo_compiler::ast::{Definition, Document, OperationType, Value};
use apollo_compiler::validation::Valid;
use apollo_compiler::{Node, Schema};
use std::collections::HashSet;

/// Federation directives: name and everything after it. Each is defined as `@NAME` and as
/// `@federation__NAME`, unless the SDL defines that name itself.
const DIRECTIVES: &[(&str, &str)] = &[
    (
        "key",
        "(fields: federation__FieldSet!, resolvable: Boolean = true) \
         repeatable on OBJECT | INTERFACE",
    ),
    (
        "requires",
        "(fields: federation__FieldSet!) on FIELD_DEFINITION",
    ),
    (
        "provides",
        "(fields: federation__FieldSet!) on FIELD_DEFINITION",
    ),
    ("external", "(reason: String) on OBJECT | FIELD_DEFINITION"),
    ("shareable", " repeatable on OBJECT | FIELD_DEFINITION"),
    (
        "override",
        "(from: String!, label: String) on FIELD_DEFINITION",
    ),
    (
        "inaccessible",
        " on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR \
         | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION",
    ),
    ("interfaceObject", " on OBJECT"),
    (
        "tag",
        "(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION \
         | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT \
         | INPUT_FIELD_DEFINITION | SCHEMA",
    ),
    ("extends", " on OBJECT | INTERFACE"),
    ("composeDirective", "(name: String!) repeatable on SCHEMA"),
    (
        "authenticated",
        " on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM",
    ),
    (
        "requiresScopes",
        "(scopes: [[federation__Scope!]!]!) \
         on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM",
    ),
    (
        "policy",
        "(policies: [[federation__Policy!]!]!) \
         on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM",
    ),
    (
        "cost",
        "(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION \
         | INPUT_FIELD_DEFINITION | OBJECT | SCALAR",
    ),
    (
        "listSize",
        "(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], \
         requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION",
    ),
    (
        "context",
        "(name: String!) repeatable on INTERFACE | OBJECT | UNION",
    ),
    (
        "fromContext",
        "(field: federation__ContextFieldValue) on ARGUMENT_DEFINITION",
    ),
];

const LINK: &str = "directive @link(url: String, as: String, import: [link__Import], \
                    for: link__Purpose) repeatable on SCHEMA";

/// Scalars the directives above (or Federation 1 SDLs) refer to.
const SCALARS: &[&str] = &[
    "_Any",
    "FieldSet",
    "_FieldSet",
    "federation__FieldSet",
    "federation__Scope",
    "federation__Policy",
    "federation__ContextFieldValue",
    "link__Import",
];

/// What the builder needs to know about the SDL before adding to it.
#[derive(Default)]
struct Survey {
    /// Names of types and directives the SDL defines (not merely extends).
    defined: HashSet<String>,
    /// Object types with a resolvable `@key`, in SDL order.
    entities: Vec<String>,
    query: Option<String>,
    /// Fields the SDL gives the query type.
    query_fields: HashSet<String>,
}

/// Builds and validates the executable schema, or explains why the SDL is not usable.
pub(super) fn build(name: &str, sdl: &str) -> Result<Valid<Schema>, String> {
    let path = format!("{name}.graphql");
    let document = Document::parse(sdl, &path).map_err(|e| e.errors.to_string())?;
    let survey = survey(&document);
    Schema::builder()
        .adopt_orphan_extensions()
        .parse(prelude(&survey.defined), "federation-definitions.graphql")
        .add_ast(&document)
        .parse(additions(&survey), "federation-entities.graphql")
        .build()
        .map_err(|e| e.errors.to_string())?
        .validate()
        .map_err(|e| e.errors.to_string())
}

fn survey(document: &Document) -> Survey {
    let mut survey = Survey::default();
    for definition in &document.definitions {
        survey_roots(&mut survey, definition);
        if definition.is_extension_definition() {
            continue;
        }
        if let Some(name) = definition.name() {
            survey.defined.insert(name.to_string());
        }
    }
    for definition in &document.definitions {
        survey_object(&mut survey, definition);
    }
    survey
}

fn survey_roots(survey: &mut Survey, definition: &Definition) {
    let roots = match definition {
        Definition::SchemaDefinition(def) => &def.root_operations,
        Definition::SchemaExtension(def) => &def.root_operations,
        _ => return,
    };
    for root in roots {
        if root.0 == OperationType::Query {
            survey.query = Some(root.1.to_string());
        }
    }
}

fn survey_object(survey: &mut Survey, definition: &Definition) {
    let (name, fields) = match definition {
        Definition::ObjectTypeDefinition(def) => (&def.name, &def.fields),
        Definition::ObjectTypeExtension(def) => (&def.name, &def.fields),
        _ => return,
    };
    let query = survey.query.as_deref().unwrap_or("Query");
    if name == query {
        survey
            .query_fields
            .extend(fields.iter().map(|f| f.name.to_string()));
    }
    let resolvable = ["key", "federation__key"]
        .iter()
        .flat_map(|key| definition.directives().get_all(key))
        .any(is_resolvable);
    if resolvable && !survey.entities.iter().any(|e| e == name.as_str()) {
        survey.entities.push(name.to_string());
    }
}

fn is_resolvable(key: &Node<apollo_compiler::ast::Directive>) -> bool {
    key.specified_argument_by_name("resolvable")
        .is_none_or(|value| !matches!(**value, Value::Boolean(false)))
}

/// Definitions of the federation directives and scalars the SDL does not define itself.
fn prelude(defined: &HashSet<String>) -> String {
    let mut text = String::new();
    if !defined.contains("link__Purpose") {
        text.push_str("enum link__Purpose { SECURITY EXECUTION }\n");
    }
    if !defined.contains("link") {
        text.push_str(LINK);
        text.push('\n');
    }
    for scalar in SCALARS.iter().filter(|s| !defined.contains(**s)) {
        text.push_str(&format!("scalar {scalar}\n"));
    }
    for (name, rest) in DIRECTIVES {
        for full in [name.to_string(), format!("federation__{name}")] {
            if !defined.contains(&full) {
                text.push_str(&format!("directive @{full}{rest}\n"));
            }
        }
    }
    text
}

/// `_Service`, `_Entity` and the federation root fields, as far as the SDL lacks them.
fn additions(survey: &Survey) -> String {
    let mut text = String::new();
    if !survey.defined.contains("_Service") {
        text.push_str("type _Service { sdl: String }\n");
    }
    let has_entities = survey.defined.contains("_Entity") || !survey.entities.is_empty();
    if !survey.defined.contains("_Entity") && has_entities {
        text.push_str(&format!(
            "union _Entity = {}\n",
            survey.entities.join(" | ")
        ));
    }
    let mut fields = Vec::new();
    if has_entities && !survey.query_fields.contains("_entities") {
        fields.push("_entities(representations: [_Any!]!): [_Entity]!");
    }
    if !survey.query_fields.contains("_service") {
        fields.push("_service: _Service!");
    }
    if !fields.is_empty() {
        let query = survey.query.as_deref().unwrap_or("Query");
        text.push_str(&format!("extend type {query} {{ {} }}\n", fields.join(" ")));
    }
    text
}
