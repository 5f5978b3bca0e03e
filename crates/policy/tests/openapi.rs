//! Request validation against a real-world sized OpenAPI 3.0 document (fixtures/openapi,
//! 130 operations): a table of requests and the verdicts they must get.

mod common;

use common::{Req, chain, policy};
use serde_json::{Value, json};
use switchyard_config::{OpenApiPolicy, PolicyKind};
use switchyard_core::ManualClock;
use switchyard_policy::{Answer, Chain};

const STUDIO: &str = include_str!("fixtures/openapi/studio.yaml");
const UUID: &str = "0b8f3c5e-7f1a-4c1e-9a0e-2d4c6b8a1f3e";

fn studio(reject_unknown: bool) -> Chain {
    let kind = PolicyKind::OpenApi(OpenApiPolicy {
        spec_path: "studio.yaml".into(),
        spec_text: STUDIO.to_owned(),
        max_body_bytes: 4096,
        reject_unknown,
        report_responses: false,
    });
    chain(&[policy("studio-api", kind)], &ManualClock::new())
}

/// The verdict on a request: `ok`, or the reason and every violation's pointer; the body, if
/// any, is checked as the proxy would once it has read it.
fn verdict(chain: &Chain, mut req: Req, body: Option<Value>) -> (String, Vec<String>) {
    let explain = |a: &Answer| {
        (
            a.reason.to_owned(),
            a.violations.iter().map(|v| v.pointer.clone()).collect(),
        )
    };
    match req.run(chain) {
        Err(answer) => explain(&answer),
        Ok(passed) => match (passed.body_check, body) {
            (Some(check), body) => {
                let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
                match check.check(Some("application/json; charset=utf-8"), &bytes) {
                    Ok(()) => ("ok".to_owned(), Vec::new()),
                    Err(answer) => explain(&answer),
                }
            }
            (None, None) => ("ok".to_owned(), Vec::new()),
            (None, Some(_)) => panic!("a body was given but the operation takes none"),
        },
    }
}

fn movie() -> Value {
    json!({"name": "Night Freight", "year": 1999, "rating": 8.5, "tags": ["noir"], "status": "published", "released": null})
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

/// What, the request, its body, the expected reason and violation pointers.
type Case = (
    &'static str,
    Req,
    Option<Value>,
    &'static str,
    Vec<&'static str>,
);

#[test]
fn the_verdict_table() {
    let api = studio(true);
    let post = |path: &str| {
        Req::get(path)
            .method("POST")
            .header("x-idempotency-key", UUID)
    };
    let cases: Vec<Case> = vec![
        (
            "list, no parameters",
            Req::get("/movies"),
            None,
            "ok",
            vec![],
        ),
        (
            "list with every parameter",
            Req::get("/movies?limit=10&offset=0&sort=-year&tag=noir&tag=crime&q=night%20freight"),
            None,
            "ok",
            vec![],
        ),
        (
            "limit above its maximum",
            Req::get("/movies?limit=101"),
            None,
            "request_invalid",
            vec!["/query/limit"],
        ),
        (
            "limit not an integer",
            Req::get("/reviews?limit=ten"),
            None,
            "request_invalid",
            vec!["/query/limit"],
        ),
        (
            "several bad parameters, all reported",
            Req::get("/stunts?limit=0&offset=-1&sort=budget"),
            None,
            "request_invalid",
            vec!["/query/limit", "/query/offset", "/query/sort"],
        ),
        (
            "an array item too long",
            Req::get(&format!("/props?tag={}", "x".repeat(31))),
            None,
            "request_invalid",
            vec!["/query/tag/0"],
        ),
        (
            "get by a valid id",
            Req::get("/talent/ada-brennan-7"),
            None,
            "ok",
            vec![],
        ),
        (
            "an id against its pattern",
            Req::get("/talent/Ada_Brennan"),
            None,
            "request_invalid",
            vec!["/path/id"],
        ),
        (
            "a boolean query parameter",
            Req::get("/movies/m1?include=true"),
            None,
            "ok",
            vec![],
        ),
        (
            "not a boolean",
            Req::get("/movies/m1?include=yes"),
            None,
            "request_invalid",
            vec!["/query/include"],
        ),
        (
            "unknown path",
            Req::get("/spaceships"),
            None,
            "unknown_operation",
            vec![],
        ),
        (
            "known path, unknown method",
            Req::get("/movies/m1").method("PATCH"),
            None,
            "method_not_allowed",
            vec![],
        ),
        (
            "create, valid",
            post("/movies"),
            Some(movie()),
            "ok",
            vec![],
        ),
        (
            "create without the required header",
            Req::get("/movies").method("POST"),
            Some(movie()),
            "request_invalid",
            vec!["/header/x-idempotency-key"],
        ),
        (
            "a header against its format",
            Req::get("/movies")
                .method("POST")
                .header("x-idempotency-key", "not-a-uuid"),
            Some(movie()),
            "request_invalid",
            vec!["/header/x-idempotency-key"],
        ),
        (
            "body missing",
            post("/awards"),
            None,
            "request_invalid",
            vec!["/body"],
        ),
        (
            "body without required fields",
            post("/awards"),
            Some(json!({"rating": 5})),
            "request_invalid",
            vec!["/body", "/body"],
        ),
        (
            "a field of the wrong type",
            post("/movies"),
            Some(with(movie(), "year", json!("1999"))),
            "request_invalid",
            vec!["/body/year"],
        ),
        (
            "an unknown field (additionalProperties: false)",
            post("/movies"),
            Some(with(movie(), "budget", json!(1))),
            "request_invalid",
            vec!["/body"],
        ),
        (
            "3.0 exclusiveMaximum: true",
            post("/ratings"),
            Some(with(movie(), "rating", json!(10))),
            "request_invalid",
            vec!["/body/rating"],
        ),
        (
            "3.0 nullable: null allowed",
            post("/releases"),
            Some(with(movie(), "contact", Value::Null)),
            "ok",
            vec![],
        ),
        (
            "a format (email)",
            post("/agents"),
            Some(with(movie(), "contact", json!("nobody"))),
            "request_invalid",
            vec!["/body/contact"],
        ),
        (
            "an enum",
            post("/scripts"),
            Some(with(movie(), "status", json!("lost"))),
            "request_invalid",
            vec!["/body/status"],
        ),
        (
            "duplicate tags (uniqueItems)",
            post("/sets"),
            Some(with(movie(), "tags", json!(["a", "a"]))),
            "request_invalid",
            vec!["/body/tags"],
        ),
        (
            "nested: an empty tag",
            Req::get("/costumes/c1").method("PUT"),
            Some(with(movie(), "tags", json!(["a", ""]))),
            "request_invalid",
            vec!["/body/tags/1"],
        ),
    ];
    for (what, req, body, reason, pointers) in cases {
        let (got_reason, got_pointers) = verdict(&api, req, body);
        assert_eq!(
            (got_reason.as_str(), got_pointers),
            (
                reason,
                pointers.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>()
            ),
            "{what}"
        );
    }
}

#[test]
fn a_problem_document_lists_every_violation() {
    let api = studio(true);
    let answer = Req::get("/movies?limit=0&sort=up").run(&api).unwrap_err();
    assert_eq!(answer.status, 400);
    let body: Value = serde_json::from_slice(&answer.body_bytes().unwrap()).unwrap();
    assert_eq!(body["reason"], "request_invalid");
    assert_eq!(
        body["detail"],
        "the request breaks 2 rules of the API's OpenAPI document"
    );
    assert_eq!(body["errors"][0]["pointer"], "/query/limit");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("minimum of 1"),
        "{body}"
    );
    assert_eq!(body["errors"][1]["pointer"], "/query/sort");
}

#[test]
fn the_wrong_media_type_is_415_and_unknown_operations_can_be_let_through() {
    let api = studio(true);
    let passed = Req::get("/movies")
        .method("POST")
        .header("x-idempotency-key", UUID)
        .run(&api)
        .unwrap();
    let check = passed.body_check.expect("the operation has a body");
    let answer = check.check(Some("text/plain"), b"hello").unwrap_err();
    assert_eq!(
        (answer.status.as_u16(), answer.reason),
        (415, "unsupported_media_type")
    );
    let answer = check
        .check(Some("application/json"), b"{not json")
        .unwrap_err();
    assert_eq!(answer.reason, "request_invalid");
    let open = studio(false);
    assert_eq!(Req::get("/spaceships").reason(&open), "passed");
}

#[test]
fn a_broken_document_is_a_config_error_naming_the_place() {
    let kind = |text: &str| {
        PolicyKind::OpenApi(OpenApiPolicy {
            spec_path: "api.yaml".into(),
            spec_text: text.to_owned(),
            max_body_bytes: 1024,
            reject_unknown: true,
            report_responses: false,
        })
    };
    let compile = |text: &str| {
        let time = switchyard_policy::Timebase::system();
        switchyard_policy::Policies::compile(&[policy("api", kind(text))], &time, None)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        compile("openapi: 2.0\npaths: {}\n"),
        "test.yaml:1:1: api: api.yaml: `openapi: 2.0` is not 3.0 or 3.1"
    );
    let dangling = "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      parameters: [{$ref: '#/components/parameters/Nope'}]\n";
    assert_eq!(
        compile(dangling),
        "test.yaml:1:1: api: api.yaml: GET /a: /paths/~1a/get/parameters/0: `$ref: #/components/parameters/Nope` points at nothing"
    );
}

// ---------------------------------------------------------------------------------------------
// Report-only response validation.
// ---------------------------------------------------------------------------------------------

const CATALOG: &str = r#"openapi: 3.0.3
info: { title: catalog, version: "1" }
paths:
  /movies/{id}:
    get:
      responses:
        '200':
          description: a movie
          content:
            application/json:
              schema: { $ref: '#/components/schemas/Movie' }
        4XX:
          $ref: '#/components/responses/Problem'
    delete:
      responses:
        '204': { description: gone }
        default: { description: anything else }
components:
  responses:
    Problem:
      description: a problem
      content:
        application/problem+json:
          schema: { type: object, required: [title] }
  schemas:
    Movie:
      type: object
      required: [id, title]
      properties:
        id: { type: integer }
        title: { type: string }
        rating: { type: number, nullable: true }
"#;

fn catalog(metrics: &switchyard_policy::PolicyMetrics) -> Chain {
    let kind = PolicyKind::OpenApi(OpenApiPolicy {
        spec_path: "catalog.yaml".into(),
        spec_text: CATALOG.to_owned(),
        max_body_bytes: 4096,
        reject_unknown: true,
        report_responses: true,
    });
    let time = switchyard_policy::Timebase::system();
    let policies = [policy("catalog", kind)];
    switchyard_policy::Policies::compile_counted(&policies, &time, None, metrics)
        .unwrap()
        .chain(&["catalog".to_owned()])
}

/// The pointers of the mismatches found in a response to `method path`.
fn response_verdict(
    chain: &Chain,
    method: &str,
    status: u16,
    content_type: Option<&str>,
    body: Option<Value>,
) -> Vec<String> {
    let mut req = Req::get("/movies/7").method(method);
    let passed = req.run(chain).expect("the request is valid");
    let mut check = passed.response_check.expect("responses are checked");
    let status = http::StatusCode::from_u16(status).unwrap();
    let wants_body = check.head(status, content_type);
    let bytes = body.map(|b| b.to_string().into_bytes());
    if bytes.is_some() {
        assert_eq!(wants_body, Some(4096), "a JSON schema applies to this body");
    }
    let found = check.finish(bytes.as_deref());
    found.into_iter().map(|v| v.pointer).collect()
}

/// Method, status, content type, body, and the mismatches' pointers.
type ResponseCase<'a> = (&'a str, u16, Option<&'a str>, Option<Value>, Vec<&'a str>);

#[test]
fn responses_are_checked_by_status_media_type_and_schema() {
    let metrics = switchyard_policy::PolicyMetrics::default();
    let chain = catalog(&metrics);
    let json = Some("application/json; charset=utf-8");
    let problem = Some("application/problem+json");
    let cases: Vec<ResponseCase> = vec![
        (
            "GET",
            200,
            json,
            Some(json!({"id": 7, "title": "Heat", "rating": null})),
            vec![],
        ),
        (
            "GET",
            200,
            json,
            Some(json!({"id": "7", "title": "Heat"})),
            vec!["/body/id"],
        ),
        ("GET", 200, json, Some(json!({"id": 7})), vec!["/body"]),
        (
            "GET",
            200,
            Some("text/html"),
            None,
            vec!["/header/content-type"],
        ),
        (
            "GET",
            404,
            problem,
            Some(json!({"title": "no such movie"})),
            vec![],
        ),
        (
            "GET",
            429,
            problem,
            Some(json!({"detail": "slow down"})),
            vec!["/body"],
        ),
        ("GET", 500, json, None, vec!["/status"]),
        ("DELETE", 204, None, None, vec![]),
        ("DELETE", 503, Some("text/plain"), None, vec![]),
    ];
    for (method, status, content_type, body, expected) in cases {
        let shown = format!("{method} {status} {content_type:?} {body:?}");
        let found = response_verdict(&chain, method, status, content_type, body);
        assert_eq!(found, expected, "{shown}");
    }
    // A body that is not JSON, and a body too large to have been read (head checked only).
    let mut req = Req::get("/movies/7");
    let mut check = req.run(&chain).unwrap().response_check.unwrap();
    assert_eq!(check.head(http::StatusCode::OK, json), Some(4096));
    let found = check.finish(Some(b"{not json"));
    assert_eq!(found[0].pointer, "/body");
    let mut check = req.run(&chain).unwrap().response_check.unwrap();
    check.head(http::StatusCode::OK, json);
    assert!(check.finish(None).is_empty());

    let mut registry = prometheus_client::registry::Registry::default();
    metrics.register(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(
        text.contains("response_mismatches_total{policy=\"catalog\"} 6"),
        "{text}"
    );
}

#[test]
fn responses_are_not_checked_unless_asked() {
    let passed = Req::get("/movies/42").run(&studio(true)).unwrap();
    assert!(passed.response_check.is_none());
}
