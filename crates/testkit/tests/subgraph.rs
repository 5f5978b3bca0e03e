//! Tests of the data-driven federation subgraph server, over real HTTP.

use bytes::Bytes;
use http::Method;
use http_body_util::Full;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchyard_testkit::{Client, Reply, Subgraph, SubgraphOptions};

const PRODUCTS: &str = r#"
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3",
                    import: ["@key", "@shareable", "@external", "@requires"])

type Query {
  topProducts(first: Int = 5): [Product]
  products(first: Int): [Product]
  product(upc: ID!): Product
  me: User
  broken: String
}

type Mutation {
  addProduct(name: String): Product
}

type Product @key(fields: "upc") {
  upc: ID!
  name: String
  price: Int
  weight: Int
  rating: Float
  production: Production
  tags: [Tag]
}

type Production @key(fields: "id") {
  id: ID!
  studio: String
}

type Tag {
  id: ID!
  label: String
}

type User @key(fields: "id") {
  id: ID!
  username: String @shareable
}
"#;

fn products_data() -> Value {
    json!({
        "Query": {
            "topProducts": [{"__typename": "Product", "upc": "1"}, {"upc": "2"}],
            "me": {"__typename": "User", "id": "1"},
            "broken": {"$error": "the broken field broke"}
        },
        "Mutation": {"addProduct": {"upc": "3"}},
        "entities": {
            "Product": [
                {"upc": "1", "name": "Table", "price": 899, "weight": 100, "rating": 4,
                 "production": {"__typename": "Production", "id": "p1"}, "tags": [{"id": "t1"}]},
                {"upc": "2", "name": "Couch", "price": 1299, "weight": 1000,
                 "production": {"$error": "production unknown"}},
                {"upc": "3", "name": "Chair", "price": 54, "weight": 50}
            ],
            "Production": [{"id": "p1", "studio": "Acme"}],
            "Tag": [{"id": "t0", "label": "metal"}, {"id": "t1", "label": "wood"}],
            "User": [{"id": "1", "username": "@ada"}]
        }
    })
}

async fn products() -> Subgraph {
    Subgraph::start("products", PRODUCTS, products_data()).await
}

async fn post(subgraph: &Subgraph, body: Value) -> Reply {
    post_text(
        subgraph,
        body.to_string(),
        "application/graphql-response+json",
    )
    .await
}

async fn post_text(subgraph: &Subgraph, body: String, accept: &str) -> Reply {
    let client = Client::http1(subgraph.address());
    let request = client
        .request(Method::POST, "", "/graphql")
        .header("content-type", "application/json")
        .header("accept", accept)
        .body(Full::new(Bytes::from(body)))
        .expect("request");
    client.send(request).await.expect("send")
}

async fn query(subgraph: &Subgraph, query: &str, variables: Value) -> Value {
    let reply = post(subgraph, json!({"query": query, "variables": variables})).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

#[tokio::test]
async fn root_fields_are_completed_from_entity_rows() {
    let subgraph = products().await;
    let body = json!({"query": "{ topProducts { upc name price } me { username } }"});
    let reply = post(&subgraph, body.clone()).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("application/graphql-response+json; charset=utf-8")
    );
    let expected = json!({"data": {
        "topProducts": [
            {"upc": "1", "name": "Table", "price": 899},
            {"upc": "2", "name": "Couch", "price": 1299}
        ],
        "me": {"username": "@ada"}
    }});
    assert_eq!(reply.json(), expected);
    assert_eq!(subgraph.requests(), vec![body]);
    assert_eq!(subgraph.request_count(), 1);
    assert!(
        subgraph
            .url()
            .ends_with(&format!("{}/graphql", subgraph.address()))
    );
}

#[tokio::test]
async fn fields_with_arguments_look_rows_up() {
    let subgraph = products().await;
    let response = query(
        &subgraph,
        r#"query($upc: ID!) {
            chair: product(upc: "3") { name }
            table: product(upc: $upc) { name }
            none: product(upc: "9") { name }
            products(first: 2) { upc }
            all: products { upc }
        }"#,
        json!({"upc": 1}),
    )
    .await;
    let expected = json!({"data": {
        "chair": {"name": "Chair"},
        "table": {"name": "Table"},
        "none": null,
        "products": [{"upc": "1"}, {"upc": "2"}],
        "all": [{"upc": "1"}, {"upc": "2"}, {"upc": "3"}]
    }});
    assert_eq!(response, expected);
}

#[tokio::test]
async fn nested_references_are_resolved() {
    let subgraph = products().await;
    let response = query(
        &subgraph,
        r#"{ product(upc: "1") { production { id studio } tags { label } rating } }"#,
        json!({}),
    )
    .await;
    let expected = json!({"data": {"product": {
        "production": {"id": "p1", "studio": "Acme"},
        "tags": [{"label": "wood"}],
        "rating": 4.0
    }}});
    assert_eq!(response, expected);
}

#[tokio::test]
async fn entities_merge_rows_with_representations() {
    let subgraph = products().await;
    let representations = json!([
        {"__typename": "Product", "upc": "1"},
        {"__typename": "Product", "upc": "77", "name": "Stub"},
        {"__typename": "Product", "upc": "2", "name": "Sofa"},
        {"__typename": "Product", "upc": 3, "weight": 50},
        {"__typename": "Nowhere", "id": "1"}
    ]);
    let response = query(
        &subgraph,
        "query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Product { upc name price } } }",
        json!({"r": representations}),
    )
    .await;
    let expected = json!({"data": {"_entities": [
        {"__typename": "Product", "upc": "1", "name": "Table", "price": 899},
        {"__typename": "Product", "upc": "77", "name": "Stub", "price": null},
        // The row for upc 2 says "Couch": a row must agree on every shared field.
        {"__typename": "Product", "upc": "2", "name": "Sofa", "price": null},
        {"__typename": "Product", "upc": "3", "name": "Chair", "price": 54},
        null
    ]}});
    assert_eq!(response, expected);
}

#[tokio::test]
async fn service_sdl_is_the_original_sdl() {
    let subgraph = products().await;
    let response = query(&subgraph, "{ _service { sdl } }", json!({})).await;
    assert_eq!(response["data"]["_service"]["sdl"], PRODUCTS);
}

#[tokio::test]
async fn stored_errors_raise_field_errors_with_paths() {
    let subgraph = products().await;
    let response = query(
        &subgraph,
        "{ broken topProducts { upc production { id } } }",
        json!({}),
    )
    .await;
    assert_eq!(response["data"]["broken"], Value::Null);
    assert_eq!(response["data"]["topProducts"][0]["production"]["id"], "p1");
    assert_eq!(
        response["data"]["topProducts"][1]["production"],
        Value::Null
    );
    let errors: Vec<(Value, Value)> = response["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| (e["message"].clone(), e["path"].clone()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (json!("the broken field broke"), json!(["broken"])),
            (
                json!("production unknown"),
                json!(["topProducts", 1, "production"])
            ),
        ]
    );
}

const INVENTORY: &str = r#"
extend schema @link(url: "https://specs.apollo.dev/federation/v2.0",
                    import: ["@key", "@external", "@requires"])

type Product @key(fields: "upc") {
  upc: ID!
  weight: Int @external
  price: Int @external
  inStock: Boolean
  shippingEstimate: Int @requires(fields: "price weight")
}
"#;

#[tokio::test]
async fn computed_fields_see_representation_fields() {
    let computed = |ty: &str, field: &str, object: &serde_json::Map<String, Value>, _: &_| {
        if (ty, field) != ("Product", "shippingEstimate") {
            return None;
        }
        let price = object.get("price")?.as_i64()?;
        let weight = object.get("weight")?.as_i64()?;
        Some(json!(price / 100 + weight / 10))
    };
    let options = SubgraphOptions {
        computed: Some(Arc::new(computed)),
        ..SubgraphOptions::default()
    };
    let data = json!({"entities": {"Product": [{"upc": "1", "inStock": true}]}});
    let subgraph = Subgraph::start_with("inventory", INVENTORY, data, options).await;
    let representations =
        json!([{"__typename": "Product", "upc": "1", "price": 899, "weight": 100}]);
    let response = query(
        &subgraph,
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { inStock shippingEstimate } } }",
        json!({"r": representations}),
    )
    .await;
    let expected = json!({"data": {"_entities": [{"inStock": true, "shippingEstimate": 18}]}});
    assert_eq!(response, expected);
}

const FED1_REVIEWS: &str = r#"
extend type Query {
  me: User
}

type Review {
  body: String
  author: User
}

extend type User @key(fields: "id") {
  id: ID! @external
  reviews: [Review]
}

extend type Product @key(fields: "upc") {
  upc: String! @external
  reviews: [Review]
}
"#;

#[tokio::test]
async fn federation_1_sdl_is_served() {
    let data = json!({
        "Query": {"me": {"id": "1"}},
        "entities": {
            "User": [{"id": "1", "reviews": [{"body": "Love it", "author": {"id": "1"}}]}],
            "Product": [{"upc": "1", "reviews": [{"body": "Love it", "author": {"id": 1}}]}]
        }
    });
    let subgraph = Subgraph::start("reviews", FED1_REVIEWS, data).await;
    let response = query(
        &subgraph,
        r#"query($r: [_Any!]!) {
            me { reviews { body } }
            _entities(representations: $r) { ... on Product { upc reviews { author { id } } } }
        }"#,
        json!({"r": [{"__typename": "Product", "upc": 1}]}),
    )
    .await;
    let expected = json!({"data": {
        "me": {"reviews": [{"body": "Love it"}]},
        "_entities": [{"upc": "1", "reviews": [{"author": {"id": "1"}}]}]
    }});
    assert_eq!(response, expected);
}

#[tokio::test]
async fn get_requests_are_served_and_mutations_need_post() {
    let subgraph = products().await;
    let client = Client::http1(subgraph.address());
    let path = concat!(
        "/graphql?query=query%20Q(%24u%3A%20ID!)%20%7B%20product(upc%3A%20%24u)%20%7B%20name",
        "%20%7D%20%7D&variables=%7B%22u%22%3A%223%22%7D&operationName=Q"
    );
    let reply = client.get(path).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"data": {"product": {"name": "Chair"}}})
    );
    assert_eq!(
        subgraph.requests()[0],
        json!({
            "query": "query Q($u: ID!) { product(upc: $u) { name } }",
            "variables": {"u": "3"},
            "operationName": "Q"
        })
    );

    let mutation = "mutation { addProduct(name: \"x\") { name } }";
    let reply = client
        .get("/graphql?query=mutation+%7B+addProduct+%7B+name+%7D+%7D")
        .await;
    assert_eq!(reply.status, 405, "{}", reply.text());
    let response = query(&subgraph, mutation, json!({})).await;
    assert_eq!(response, json!({"data": {"addProduct": {"name": "Chair"}}}));
}

#[tokio::test]
async fn invalid_requests_get_errors() {
    let subgraph = products().await;
    for bad in ["{ nope }", "{ topProducts { upc ", "{ product { name } }"] {
        let response = query(&subgraph, bad, json!({})).await;
        assert!(response.get("data").is_none(), "{response}");
        let errors = response["errors"].as_array().expect("errors");
        assert!(
            !errors.is_empty() && errors[0]["message"].is_string(),
            "{response}"
        );
    }
    let response = query(
        &subgraph,
        "query($u: ID!) { product(upc: $u) { name } }",
        json!({}),
    )
    .await;
    assert!(response.get("data").is_none(), "{response}");
    assert!(response["errors"][0]["message"].is_string(), "{response}");

    let reply = post_text(&subgraph, "not json".into(), "application/json").await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert!(reply.json()["errors"][0]["message"].is_string());
    assert_eq!(subgraph.requests().last(), Some(&json!("not json")));
}

#[tokio::test]
async fn options_shape_every_answer() {
    let options = SubgraphOptions {
        latency: Duration::from_millis(150),
        response_headers: vec![("x-subgraph".into(), "products".into())],
        status: Some(503),
        ..SubgraphOptions::default()
    };
    let subgraph = Subgraph::start_with("products", PRODUCTS, products_data(), options).await;
    let started = Instant::now();
    let reply = post(&subgraph, json!({"query": "{ me { id } }"})).await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("x-subgraph"), Some("products"));
    assert!(reply.json()["errors"][0]["message"].is_string());
    assert_eq!(subgraph.request_count(), 1);
}

#[tokio::test]
#[should_panic(expected = "subgraph broken: unusable SDL")]
async fn a_bad_sdl_panics_with_the_diagnostics() {
    Subgraph::start("broken", "type Query { a: Nowhere }", json!({})).await;
}

const MEDIA: &str = r#"
extend schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/federation/v2.9",
        import: ["@key", "@interfaceObject", "@cost", "@listSize", "@authenticated",
                 "@requiresScopes", "@policy", "@tag", "@override", "@composeDirective"])
  @composeDirective(name: "@custom")

directive @custom on FIELD_DEFINITION

type Query {
  search: [SearchResult] @listSize(assumedSize: 10)
  node(id: ID!): Node
  secret: String @authenticated @requiresScopes(scopes: [["read"]]) @policy(policies: [["p"]])
}

union SearchResult = Book | Movie

interface Node @key(fields: "id") {
  id: ID!
}

type Book implements Node @key(fields: "id") {
  id: ID!
  title: String @tag(name: "public") @custom
}

type Movie implements Node @key(fields: "id") {
  id: ID!
  title: String @override(from: "legacy", label: "percent(5)") @cost(weight: 2)
}

type Media @interfaceObject @key(fields: "id") {
  id: ID!
  rating: Int
}

type Draft @key(fields: "id", resolvable: false) {
  id: ID!
}
"#;

#[tokio::test]
async fn unions_interfaces_and_entity_interfaces_resolve() {
    let data = json!({
        "Query": {"search": [{"__typename": "Book", "id": "b1"}, {"id": "m1"}]},
        "entities": {
            "Book": [{"id": "b1", "title": "Dune"}],
            "Movie": [{"id": "m1", "title": "Alien"}],
            "Media": [{"id": "b1", "rating": 5}]
        }
    });
    let subgraph = Subgraph::start("media", MEDIA, data).await;
    let representations = json!([
        {"__typename": "Node", "id": "m1"},
        {"__typename": "Media", "id": "b1"},
        {"__typename": "Draft", "id": "d1"}
    ]);
    let response = query(
        &subgraph,
        r#"query($r: [_Any!]!) {
            search { __typename ... on Book { title } ... on Movie { title } }
            node(id: "m1") { __typename ... on Movie { title } }
            _entities(representations: $r) { __typename ... on Movie { title } ... on Media { rating } }
        }"#,
        json!({"r": representations}),
    )
    .await;
    let expected = json!({"data": {
        "search": [{"__typename": "Book", "title": "Dune"}, {"__typename": "Movie", "title": "Alien"}],
        "node": {"__typename": "Movie", "title": "Alien"},
        "_entities": [{"__typename": "Movie", "title": "Alien"}, {"__typename": "Media", "rating": 5}, null]
    }});
    assert_eq!(response, expected);
}
