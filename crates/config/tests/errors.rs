//! Every error the config crate can report, as the user sees it (`file:line:column: path: message`),
//! plus the defaults and `${ENV}` interpolation of configs that pass.
//!
//! Each YAML snippet starts on line 1 right after `"\`, so the line numbers in the expected
//! errors can be read off the snippet.

use std::time::Duration;
use switchyard_config::{
    AccessLogTarget, Action, BalancerKind, Config, HostMatch, PathMatch, RetryOn, RetryPolicy,
    UpstreamProtocol, ValueKind, interpolate,
};

/// Parses `yaml` as `cfg.yaml`, expects it to be rejected, and returns every rendered error.
fn errors(yaml: &str) -> Vec<String> {
    match switchyard_config::parse(yaml, "cfg.yaml") {
        Ok(_) => panic!("expected errors, but the config was accepted:\n{yaml}"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

/// A config of one listener and one cluster `c` of one endpoint, with `fields` added to the
/// cluster's flow mapping (they start at column 54 of line 3).
fn one_cluster(fields: &str) -> String {
    format!(
        "listeners: [{{name: public, address: '127.0.0.1:8080'}}]\n\
         clusters:\n  - {{name: c, endpoints: [{{address: '10.0.0.1:80'}}], {fields}}}\n"
    )
}

/// Parses `yaml` as `cfg.yaml` and expects it to be accepted.
fn config(yaml: &str) -> Config {
    switchyard_config::parse(yaml, "cfg.yaml")
        .unwrap_or_else(|e| panic!("expected the config to be accepted, got:\n{e}"))
}

// ---------------------------------------------------------------------------------------------
// Reading the file, `${ENV}` and YAML/serde errors (these stop at the first problem).
// ---------------------------------------------------------------------------------------------

#[test]
fn a_missing_file_is_named_with_the_os_reason() {
    let path = std::env::temp_dir().join("switchyard-config-test-no-such-dir/cfg.yaml");
    let reason = std::fs::read_to_string(&path).unwrap_err();
    let err = switchyard_config::load(&path).unwrap_err();
    let rendered: Vec<String> = err.0.iter().map(ToString::to_string).collect();
    assert_eq!(
        rendered,
        [format!(
            "{}:0:0: cannot read the config file: {reason}",
            path.display()
        )]
    );
}

#[test]
fn a_missing_env_var_is_named_with_its_position() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:${SWITCHYARD_TEST_SURELY_UNSET_PORT}
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:3:24: environment variable `SWITCHYARD_TEST_SURELY_UNSET_PORT` is not set and has no default"
        ]
    );
}

#[test]
fn every_missing_env_var_is_reported() {
    let yaml = "\
listeners:
  - name: ${SWITCHYARD_TEST_SURELY_UNSET_NAME}
    address: ${SWITCHYARD_TEST_SURELY_UNSET_HOST}:${SWITCHYARD_TEST_SURELY_UNSET_PORT}
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:2:11: environment variable `SWITCHYARD_TEST_SURELY_UNSET_NAME` is not set and has no default",
            "cfg.yaml:3:14: environment variable `SWITCHYARD_TEST_SURELY_UNSET_HOST` is not set and has no default",
            "cfg.yaml:3:51: environment variable `SWITCHYARD_TEST_SURELY_UNSET_PORT` is not set and has no default",
        ]
    );
}

#[test]
fn a_missing_env_var_column_counts_characters_not_bytes() {
    let yaml = "\
listeners:
  - name: \"café-${SWITCHYARD_TEST_SURELY_UNSET_SUFFIX}\"
    address: 127.0.0.1:8080
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:2:17: environment variable `SWITCHYARD_TEST_SURELY_UNSET_SUFFIX` is not set and has no default"
        ]
    );
}

#[test]
fn a_yaml_syntax_error_is_reported_where_the_parser_stopped() {
    let yaml = "\
listeners: [
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:1:12: listeners: unclosed bracket '['"]
    );
}

#[test]
fn an_empty_file_is_an_error() {
    assert_eq!(errors(""), ["cfg.yaml:1:1: unexpected end of file"]);
}

#[test]
fn two_yaml_documents_in_one_file_are_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
---
listeners:
  - name: admin
    address: 127.0.0.1:9090
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:5:1: only single YAML document expected but multiple found"]
    );
}

#[test]
fn a_key_given_twice_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
    address: 127.0.0.1:8081
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:4:5: listeners[0]: duplicate mapping key `address` is not allowed here"]
    );
}

#[test]
fn a_misspelled_field_gets_a_suggestion() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
clusters:
  - name: movies
    endpoints:
      - adress: 10.0.0.1:80
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:7:9: clusters[0].endpoints[0].adress: unknown field `adress`, expected one of address, weight, zone; did you mean `address`?"
        ]
    );
}

#[test]
fn a_misspelled_section_gets_a_suggestion() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
cluster:
  - name: movies
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:4:1: cluster: unknown field `cluster`, expected one of listeners, routes, clusters, policies, access_log, zone, drain_timeout, admin, registry; did you mean `clusters`?"
        ]
    );
}

#[test]
fn an_unknown_field_with_no_close_match_lists_the_expected_ones() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
clusters:
  - name: movies
    endpoints:
      - address: 10.0.0.1:80
    timeout: 5s
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:8:5: clusters[0].timeout: unknown field `timeout`, expected one of name, endpoints, balancer, warm_up, capacity_wait, hash_on, edge, least_request_bias, utilization_header, panic_threshold, outlier_detection, health_check, prefer_local_zone, discovery, protocol, connect_timeout, request_timeout, idle_timeout, retries, max_connections, max_pending"
        ]
    );
}

#[test]
fn a_config_without_listeners_is_rejected() {
    let yaml = "\
routes: []
";
    assert_eq!(errors(yaml), ["cfg.yaml:1:1: missing field `listeners`"]);
}

#[test]
fn a_missing_required_field_names_the_enclosing_entry() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
clusters:
  - name: movies
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:5:11: clusters[0].endpoints: a cluster needs at least one endpoint"]
    );
}

#[test]
fn text_where_a_number_belongs_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: hello
    respond:
      status: OK
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:7:15: routes[0].respond.status: invalid u16"]
    );
}

#[test]
fn a_single_value_where_a_list_belongs_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: hello
    match:
      methods: GET
    respond: {status: 200}
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:7:16: routes[0].match.methods: expected sequence start"]
    );
}

// ---------------------------------------------------------------------------------------------
// Listeners, drain_timeout.
// ---------------------------------------------------------------------------------------------

#[test]
fn an_empty_listener_list_is_rejected() {
    let yaml = "\
listeners: []
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:1:1: listeners: at least one listener is required"]
    );
}

#[test]
fn duplicate_listener_names_are_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
  - name: public
    address: 127.0.0.1:8081
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:4:11: listeners[1].name: duplicate name `public`"]
    );
}

#[test]
fn an_empty_name_is_rejected() {
    let yaml = "\
listeners:
  - name: \"\"
    address: 127.0.0.1:8080
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:2:11: listeners[0].name: name must not be empty"]
    );
}

#[test]
fn a_listener_address_must_be_an_ip_and_port() {
    let yaml = "\
listeners:
  - name: public
    address: localhost:8080
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:3:14: listeners[0].address: `localhost:8080` is not an IP address and port such as 127.0.0.1:8080"
        ]
    );
}

#[test]
fn header_limits_below_their_minimum_are_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
    max_header_bytes: 512
    max_headers: 0
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:4:23: listeners[0].max_header_bytes: must be at least 1024",
            "cfg.yaml:5:18: listeners[0].max_headers: must be at least 1",
        ]
    );
}

#[test]
fn a_duration_without_a_unit_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
    header_read_timeout: 10
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:4:26: listeners[0].header_read_timeout: `10` is not a duration such as 250ms or 5s (time unit needed, for example 10sec or 10ms)"
        ]
    );
}

#[test]
fn drain_timeout_must_be_a_duration() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
drain_timeout: soon
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:4:16: drain_timeout: `soon` is not a duration such as 250ms or 5s (expected number at 0)"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Clusters, endpoints, retries.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_cluster_without_endpoints_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
clusters:
  - name: movies
    endpoints: []
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:5:11: clusters[0].endpoints: a cluster needs at least one endpoint"]
    );
}

#[test]
fn duplicate_cluster_names_are_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
clusters:
  - name: movies
    endpoints: [{address: \"10.0.0.1:80\"}]
  - name: movies
    endpoints: [{address: \"10.0.0.2:80\"}]
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:7:11: clusters[1].name: duplicate name `movies`"]
    );
}

#[test]
fn an_endpoint_without_a_port_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
clusters:
  - name: movies
    endpoints:
      - address: 10.0.0.1
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:7:18: clusters[0].endpoints[0].address: `10.0.0.1` is not a host:port such as 127.0.0.1:9000"
        ]
    );
}

#[test]
fn an_endpoint_weight_of_zero_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
clusters:
  - name: movies
    endpoints:
      - address: 10.0.0.1:80
        weight: 0
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:8:17: clusters[0].endpoints[0].weight: weight must be at least 1"]
    );
}

#[test]
fn an_unknown_balancer_lists_the_known_ones() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
clusters:
  - name: movies
    endpoints:
      - address: 10.0.0.1:80
    balancer: least_connections
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:8:15: clusters[0].balancer: unknown balancer `least_connections`; expected edge, round_robin, weighted_round_robin, random, least_request, peak_ewma, ring_hash or maglev"
        ]
    );
}

#[test]
fn an_unknown_protocol_lists_the_known_ones() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
clusters:
  - name: movies
    endpoints:
      - address: 10.0.0.1:80
    protocol: http3
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:8:15: clusters[0].protocol: unknown protocol `http3`; expected `http1` or `http2`"
        ]
    );
}

#[test]
fn cluster_timeouts_must_be_durations() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
clusters:
  - name: movies
    endpoints:
      - address: 10.0.0.1:80
    connect_timeout: fast
    request_timeout: 30
    idle_timeout: 1 fortnight
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:8:22: clusters[0].connect_timeout: `fast` is not a duration such as 250ms or 5s (expected number at 0)",
            "cfg.yaml:9:22: clusters[0].request_timeout: `30` is not a duration such as 250ms or 5s (time unit needed, for example 30sec or 30ms)",
            "cfg.yaml:10:19: clusters[0].idle_timeout: `1 fortnight` is not a duration such as 250ms or 5s (unknown time unit \"fortnight\", supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations))",
        ]
    );
}

#[test]
fn max_connections_of_zero_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
clusters:
  - name: movies
    endpoints:
      - address: 10.0.0.1:80
    max_connections: 0
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:8:22: clusters[0].max_connections: must be at least 1"]
    );
}

#[test]
fn a_retry_budget_outside_zero_to_one_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
clusters:
  - name: movies
    endpoints:
      - address: 10.0.0.1:80
    retries:
      budget: 1.5
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:9:15: clusters[0].retries.budget: budget is a fraction between 0 and 1"]
    );
}

#[test]
fn an_unknown_retry_condition_lists_the_known_ones() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
clusters:
  - name: movies
    endpoints:
      - address: 10.0.0.1:80
    retries:
      on: [connect_failure, 500]
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:9:29: clusters[0].retries.on[1]: unknown retry condition `500`; expected connect_failure, reset, 502, 503 or 504"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Routes: names and match conditions.
// ---------------------------------------------------------------------------------------------

#[test]
fn duplicate_route_names_are_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: hello
    respond: {status: 200}
  - name: hello
    respond: {status: 204}
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:7:11: routes[1].name: duplicate name `hello`"]
    );
}

#[test]
fn a_host_with_a_port_or_a_bare_star_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: hello
    match:
      hosts: [api.example.com:8443, \"*\"]
    respond: {status: 200}
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:7:15: routes[0].match.hosts[0]: `api.example.com:8443` is not a host name or a wildcard like *.example.com",
            "cfg.yaml:7:37: routes[0].match.hosts[1]: `*` is not a host name or a wildcard like *.example.com",
        ]
    );
}

#[test]
fn a_method_list_written_as_one_string_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: hello
    match:
      methods: [\"GET,POST\"]
    respond: {status: 200}
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:7:17: routes[0].match.methods[0]: `GET,POST` is not an HTTP method"]
    );
}

#[test]
fn a_path_with_two_conditions_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: hello
    match:
      path: {exact: /a, prefix: /b}
    respond: {status: 200}
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:5:11: routes[0].match.path: give exactly one of exact, prefix, template or regex"
        ]
    );
}

#[test]
fn exact_and_prefix_paths_without_a_leading_slash_are_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: health
    match: {path: {exact: healthz}}
    respond: {status: 200}
  - name: api
    match: {path: {prefix: api}}
    respond: {status: 200}
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:6:27: routes[0].match.path.exact: path `healthz` must start with `/`",
            "cfg.yaml:9:28: routes[1].match.path.prefix: path `api` must start with `/`",
        ]
    );
}

/// A route whose path is `template: {template}`; the template is on line 8, column 19.
fn template_route(template: &str) -> String {
    format!(
        "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: movie
    match:
      path:
        template: {template}
    respond: {{status: 200}}
"
    )
}

#[test]
fn a_template_without_a_leading_slash_is_rejected() {
    assert_eq!(
        errors(&template_route("movies/{id}")),
        [
            "cfg.yaml:8:19: routes[0].match.path.template: template `movies/{id}` must start with `/`"
        ]
    );
}

#[test]
fn a_template_parameter_sharing_its_segment_is_rejected() {
    assert_eq!(
        errors(&template_route("/movies/id-{id}")),
        [
            "cfg.yaml:8:19: routes[0].match.path.template: segment `id-{id}`: a parameter must fill a whole segment, like {id}"
        ]
    );
}

#[test]
fn a_template_parameter_name_with_a_dash_is_rejected() {
    assert_eq!(
        errors(&template_route("/movies/{movie-id}")),
        [
            "cfg.yaml:8:19: routes[0].match.path.template: `{movie-id}` is not a parameter name (letters, digits, _)"
        ]
    );
}

#[test]
fn a_template_parameter_used_twice_is_rejected() {
    assert_eq!(
        errors(&template_route("/movies/{id}/similar/{id}")),
        [
            "cfg.yaml:8:19: routes[0].match.path.template: parameter `id` appears twice in `/movies/{id}/similar/{id}`"
        ]
    );
}

#[test]
fn a_catch_all_before_the_last_segment_is_rejected() {
    assert_eq!(
        errors(&template_route("/files/{*path}/raw")),
        [
            "cfg.yaml:8:19: routes[0].match.path.template: catch-all `{*path}` must be the last segment"
        ]
    );
}

#[test]
fn an_invalid_path_regex_is_reported_on_one_line() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: movie
    match:
      path:
        regex: '/movies/(\\d+'
    respond: {status: 200}
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:8:16: routes[0].match.path.regex: invalid regular expression: unclosed group"]
    );
}

#[test]
fn a_path_regex_cannot_break_out_of_its_anchors() {
    // Wrapped as `^(?:/a)|(/b)$` this would compile, and match any path starting with /a.
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: movie
    match:
      path:
        regex: '/a)|(/b'
    respond: {status: 200}
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:8:16: routes[0].match.path.regex: invalid regular expression: unopened group"]
    );
}

#[test]
fn a_header_condition_with_an_invalid_name_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: canary
    match:
      headers:
        - name: x canary
    respond: {status: 200}
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:8:17: routes[0].match.headers[0].name: `x canary` is not a valid header name"]
    );
}

#[test]
fn a_header_condition_with_both_exact_and_regex_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: canary
    match:
      headers:
        - name: x-canary
          exact: \"1\"
          regex: \"[01]\"
    respond: {status: 200}
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:10:18: routes[0].match.headers[0]: give at most one of exact and regex"]
    );
}

#[test]
fn a_query_condition_with_an_invalid_regex_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: paged
    match:
      query:
        - name: page
          regex: \"[0-9\"
    respond: {status: 200}
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:9:18: routes[0].match.query[0].regex: invalid regular expression: unclosed character class"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Routes: actions (proxy, respond, redirect).
// ---------------------------------------------------------------------------------------------

#[test]
fn a_route_without_an_action_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: hello
    match: {path: {exact: /}}
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:5:11: routes[0]: a route needs exactly one of proxy, respond, redirect or graphql"
        ]
    );
}

#[test]
fn a_route_with_two_actions_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: hello
    respond: {status: 200}
    redirect: {to: /hi}
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:5:11: routes[0]: a route needs exactly one of proxy, respond, redirect or graphql"
        ]
    );
}

#[test]
fn unknown_cluster_is_named_with_the_known_ones() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: movies
    proxy: {cluster: movie}
clusters:
  - name: talent
    endpoints: [{address: \"10.0.0.2:80\"}]
  - name: movies
    endpoints: [{address: \"10.0.0.1:80\"}]
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:6:22: routes[0].proxy.cluster: unknown cluster `movie` (known: movies, talent)"]
    );
}

#[test]
fn unknown_cluster_when_none_are_defined_says_so() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: movies
    proxy: {cluster: movies}
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:6:22: routes[0].proxy.cluster: unknown cluster `movies`: no clusters are defined"
        ]
    );
}

#[test]
fn a_strip_prefix_without_a_leading_slash_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: api
    proxy:
      cluster: movies
      strip_prefix: api
clusters:
  - name: movies
    endpoints: [{address: \"10.0.0.1:80\"}]
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:8:21: routes[0].proxy.strip_prefix: path `api` must start with `/`"]
    );
}

#[test]
fn a_rewrite_using_a_parameter_the_route_lacks_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: movies
    match: {path: {template: \"/movies/{id}\"}}
    proxy:
      cluster: movies
      rewrite: /v2/films/{film}
clusters:
  - name: movies
    endpoints: [{address: \"10.0.0.1:80\"}]
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:9:16: routes[0].proxy.rewrite: `{film}` is not a parameter of this route's path template"
        ]
    );
}

#[test]
fn a_rewrite_that_is_not_a_template_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: movies
    match: {path: {template: \"/movies/{id}\"}}
    proxy:
      cluster: movies
      rewrite: v2/films/{id}
clusters:
  - name: movies
    endpoints: [{address: \"10.0.0.1:80\"}]
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:9:16: routes[0].proxy.rewrite: template `v2/films/{id}` must start with `/`"]
    );
}

#[test]
fn strip_prefix_and_rewrite_together_are_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: movies
    match: {path: {template: \"/api/movies/{id}\"}}
    proxy:
      cluster: movies
      strip_prefix: /api
      rewrite: /movies/{id}
clusters:
  - name: movies
    endpoints: [{address: \"10.0.0.1:80\"}]
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:9:21: routes[0].proxy.strip_prefix: give strip_prefix or rewrite, not both"]
    );
}

#[test]
fn header_edits_with_invalid_names_or_values_are_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: movies
    proxy:
      cluster: movies
      request_headers:
        set: {\"x forwarded\": \"1\"}
        add: {x-note: \"line\\nbreak\"}
        remove: [\"bad header\"]
clusters:
  - name: movies
    endpoints: [{address: \"10.0.0.1:80\"}]
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:9:30: routes[0].proxy.request_headers.set.x forwarded: `x forwarded` is not a valid header name",
            "cfg.yaml:10:23: routes[0].proxy.request_headers.add.x-note: header value has characters a header cannot hold",
            "cfg.yaml:11:18: routes[0].proxy.request_headers.remove[0]: `bad header` is not a valid header name",
        ]
    );
}

#[test]
fn a_route_timeout_without_a_unit_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: movies
    proxy:
      cluster: movies
      timeout: 2
clusters:
  - name: movies
    endpoints: [{address: \"10.0.0.1:80\"}]
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:8:16: routes[0].proxy.timeout: `2` is not a duration such as 250ms or 5s (time unit needed, for example 2sec or 2ms)"
        ]
    );
}

#[test]
fn a_respond_status_outside_200_to_599_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: hello
    respond:
      status: 100
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:7:15: routes[0].respond.status: status must be between 200 and 599"]
    );
}

#[test]
fn a_respond_header_with_an_invalid_name_is_named_by_its_field() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: hello
    respond:
      status: 200
      headers:
        content type: text/plain
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:9:23: routes[0].respond.headers.content type: `content type` is not a valid header name"
        ]
    );
}

#[test]
fn a_redirect_with_a_non_redirect_status_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: old
    redirect:
      to: /new
      status: 200
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:8:15: routes[0].redirect.status: redirect status must be 301, 302, 303, 307 or 308"
        ]
    );
}

#[test]
fn a_redirect_using_a_parameter_the_route_lacks_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: old-movies
    match: {path: {template: \"/old/movies/{id}\"}}
    redirect: {to: \"/movies/{movie}\"}
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:7:20: routes[0].redirect.to: `{movie}` is not a parameter of this route's path template"
        ]
    );
}

#[test]
fn a_redirect_target_that_is_not_a_valid_template_is_rejected() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: old-files
    match: {path: {template: \"/old/{*rest}\"}}
    redirect: {to: \"/files/{*rest}/raw\"}
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:7:20: routes[0].redirect.to: catch-all `{*rest}` must be the last segment"]
    );
}

// ---------------------------------------------------------------------------------------------
// All errors at once.
// ---------------------------------------------------------------------------------------------

#[test]
fn every_error_in_a_file_is_reported_not_only_the_first() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:80800
routes:
  - name: movies
    match: {path: {prefix: movies}}
    proxy: {cluster: movie}
clusters:
  - name: movies
    balancer: fastest
    endpoints:
      - address: 10.0.0.1:80
        weight: 0
drain_timeout: 30
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:3:14: listeners[0].address: `127.0.0.1:80800` is not an IP address and port such as 127.0.0.1:8080",
            "cfg.yaml:13:17: clusters[0].endpoints[0].weight: weight must be at least 1",
            "cfg.yaml:10:15: clusters[0].balancer: unknown balancer `fastest`; expected edge, round_robin, weighted_round_robin, random, least_request, peak_ewma, ring_hash or maglev",
            "cfg.yaml:6:28: routes[0].match.path.prefix: path `movies` must start with `/`",
            "cfg.yaml:7:22: routes[0].proxy.cluster: unknown cluster `movie` (known: movies)",
            "cfg.yaml:14:16: drain_timeout: `30` is not a duration such as 250ms or 5s (time unit needed, for example 30sec or 30ms)",
        ]
    );
}

#[test]
fn all_errors_render_one_per_line() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
    max_headers: 0
drain_timeout: 30
";
    let err = switchyard_config::parse(yaml, "cfg.yaml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "cfg.yaml:4:18: listeners[0].max_headers: must be at least 1\n\
         cfg.yaml:5:16: drain_timeout: `30` is not a duration such as 250ms or 5s (time unit needed, for example 30sec or 30ms)"
    );
}

// ---------------------------------------------------------------------------------------------
// Configs that pass: defaults, normalisation, interpolation.
// ---------------------------------------------------------------------------------------------

#[test]
fn defaults_fill_every_optional_field() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: movies
    proxy: {cluster: movies}
clusters:
  - name: movies
    endpoints:
      - address: 10.0.0.1:80
";
    let config = config(yaml);

    let listener = &config.listeners[0];
    assert_eq!(listener.address, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(listener.max_header_bytes, 16384);
    assert_eq!(listener.max_headers, 100);
    assert_eq!(listener.header_read_timeout, Duration::from_secs(10));
    assert_eq!(listener.max_request_body_bytes, None);

    let cluster = &config.clusters[0];
    assert_eq!(cluster.endpoints[0].weight, 1);
    assert_eq!(
        cluster.balancing.kind,
        BalancerKind::Edge,
        "edge is the default"
    );
    assert_eq!(cluster.balancing.warm_up, Some(Duration::from_secs(90)));
    assert_eq!(cluster.balancing.capacity_wait, Duration::from_millis(50));
    assert_eq!(
        cluster.balancing.utilization_header,
        "endpoint-load-metrics"
    );
    assert_eq!(cluster.balancing.panic_threshold, 0.5);
    assert_eq!(cluster.balancing.outlier.consecutive_5xx, 5);
    assert_eq!(cluster.balancing.outlier.max_ejection_percent, 0.1);
    assert_eq!(cluster.balancing.health_check, None);
    assert_eq!(
        cluster.balancing.discovery,
        switchyard_config::Discovery::Static
    );
    assert_eq!(cluster.protocol, UpstreamProtocol::Http1);
    assert_eq!(cluster.connect_timeout, Duration::from_secs(1));
    assert_eq!(cluster.request_timeout, Duration::from_secs(15));
    assert_eq!(cluster.idle_timeout, Duration::from_secs(60));
    assert_eq!(
        cluster.retries,
        RetryPolicy {
            attempts: 1,
            on: RetryOn::ALL,
            budget: 0.2,
            min_per_second: 10,
        }
    );
    assert_eq!(cluster.max_connections, 1024);
    assert_eq!(cluster.max_pending, 1024);

    let route = &config.routes[0];
    assert!(matches!(&route.path, PathMatch::Prefix(p) if p == "/"));
    assert!(route.hosts.is_empty() && route.methods.is_empty());
    assert!(route.headers.is_empty() && route.query.is_empty());
    let Action::Proxy(proxy) = &route.action else {
        panic!("expected a proxy action, got {:?}", route.action);
    };
    assert_eq!(proxy.cluster, "movies");
    assert_eq!(proxy.strip_prefix, None);
    assert_eq!(proxy.rewrite, None);
    assert_eq!(proxy.host_rewrite, None);
    assert!(proxy.request_headers.is_empty() && proxy.response_headers.is_empty());
    assert_eq!(proxy.timeout, None);

    assert_eq!(config.access_log, AccessLogTarget::Stdout);
    assert_eq!(config.drain_timeout, Duration::from_secs(15));
}

#[test]
fn retries_given_in_part_keep_the_other_defaults() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
clusters:
  - name: movies
    endpoints:
      - address: 10.0.0.1:80
    retries:
      on: [503, reset]
";
    let on = RetryOn {
        reset: true,
        status_503: true,
        ..RetryOn::default()
    };
    assert_eq!(
        config(yaml).clusters[0].retries,
        RetryPolicy {
            attempts: 1,
            on,
            budget: 0.2,
            min_per_second: 10,
        }
    );
}

#[test]
fn a_redirect_defaults_to_302() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: old
    redirect: {to: /new}
";
    let config = config(yaml);
    let Action::Redirect(redirect) = &config.routes[0].action else {
        panic!("expected a redirect, got {:?}", config.routes[0].action);
    };
    assert_eq!((redirect.to.as_str(), redirect.status), ("/new", 302));
}

#[test]
fn names_are_normalised() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: api
    match:
      hosts: [API.Example.com, \"*.Example.com\"]
      methods: [get, HEAD]
      headers:
        - {name: X-Canary, exact: \"1\"}
        - {name: X-Debug, invert: true}
      query:
        - {name: Page, regex: \"[0-9]+\"}
    respond:
      status: 200
      headers: {Content-Type: text/plain}
";
    let config = config(yaml);
    let route = &config.routes[0];
    assert_eq!(
        route.hosts,
        [
            HostMatch::Exact("api.example.com".to_owned()),
            HostMatch::Suffix(".example.com".to_owned()),
        ]
    );
    assert_eq!(route.methods, ["GET", "HEAD"]);
    assert_eq!(route.headers[0].name, "x-canary");
    assert!(matches!(&route.headers[0].kind, ValueKind::Exact(v) if v == "1"));
    assert!(!route.headers[0].invert);
    assert_eq!(route.headers[1].name, "x-debug");
    assert!(matches!(route.headers[1].kind, ValueKind::Present));
    assert!(route.headers[1].invert);
    assert_eq!(
        route.query[0].name, "Page",
        "query names are kept as written"
    );
    let ValueKind::Regex(page) = &route.query[0].kind else {
        panic!("expected a regex, got {:?}", route.query[0].kind);
    };
    assert!(
        page.is_match("12") && !page.is_match("12a"),
        "regexes are anchored"
    );
    let Action::Respond(respond) = &route.action else {
        panic!("expected a respond action, got {:?}", route.action);
    };
    assert_eq!(
        respond.headers,
        [("content-type".to_owned(), "text/plain".to_owned())]
    );
}

#[test]
fn access_log_targets() {
    let target = |to: &str| {
        let yaml = format!(
            "\
listeners:
  - name: public
    address: 127.0.0.1:8080
access_log:
  to: {to}
"
        );
        config(&yaml).access_log
    };
    assert_eq!(target("stdout"), AccessLogTarget::Stdout);
    assert_eq!(target("stderr"), AccessLogTarget::Stderr);
    assert_eq!(target("off"), AccessLogTarget::Off);
    assert_eq!(
        target("/var/log/switchyard.log"),
        AccessLogTarget::File("/var/log/switchyard.log".to_owned())
    );
}

#[test]
fn an_unset_env_var_with_a_default_takes_the_default() {
    let yaml = "\
listeners:
  - name: public
    address: 127.0.0.1:${SWITCHYARD_TEST_SURELY_UNSET_PORT:-8080}
";
    assert_eq!(
        config(yaml).listeners[0].address,
        "127.0.0.1:8080".parse().unwrap()
    );
}

/// The environment of the `interpolate` tests.
fn env(name: &str) -> Option<String> {
    match name {
        "PORT" => Some("9090".to_owned()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

#[test]
fn interpolate_replaces_set_vars_and_uses_defaults_for_unset_ones() {
    let text =
        "a: ${PORT}\nb: ${PORT:-8080}\nc: ${HOST:-127.0.0.1}\nd: ${HOST:-}\ne: ${EMPTY:-x}\n";
    assert_eq!(
        interpolate(text, env).unwrap(),
        "a: 9090\nb: 9090\nc: 127.0.0.1\nd: \ne: \n"
    );
}

#[test]
fn interpolate_keeps_escaped_and_unterminated_dollars() {
    let text = "a: $${PORT}\nb: cost $5\nc: ${PORT\n";
    assert_eq!(
        interpolate(text, env).unwrap(),
        "a: ${PORT}\nb: cost $5\nc: ${PORT\n"
    );
}

#[test]
fn interpolate_reports_every_missing_var_with_its_position() {
    let missing = interpolate("a: ${PORT}\nb: ${HOST}:${ZONE}\n", env).unwrap_err();
    let found: Vec<(&str, u64, u64)> = missing
        .iter()
        .map(|m| (m.name.as_str(), m.line, m.column))
        .collect();
    assert_eq!(found, [("HOST", 2, 4), ("ZONE", 2, 12)]);
}

// ---------------------------------------------------------------------------------------------
// docs/config.md: its complete example is valid and its error examples are real.
// ---------------------------------------------------------------------------------------------

const DOCS: &str = include_str!("../../../docs/config.md");

/// The fenced blocks (language, text) of the `## {heading}` section of docs/config.md.
fn doc_blocks(heading: &str) -> Vec<(&'static str, &'static str)> {
    let start = DOCS
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("docs/config.md has no `## {heading}` section"));
    let section = &DOCS[start + 1..];
    let section = section[3..]
        .find("\n## ")
        .map_or(section, |end| &section[..end + 3]);
    section
        .split("```")
        .skip(1)
        .step_by(2)
        .map(|block| {
            block
                .split_once('\n')
                .expect("a fenced block has a first line")
        })
        .collect()
}

#[test]
fn the_complete_example_in_the_docs_is_valid() {
    let blocks = doc_blocks("Complete example");
    let [("yaml", yaml)] = blocks.as_slice() else {
        panic!("expected one yaml block in the complete example, got {blocks:?}");
    };
    let config = switchyard_config::parse(yaml, "docs/config.md")
        .unwrap_or_else(|e| panic!("the example in docs/config.md is invalid:\n{e}"));
    assert_eq!(config.listeners.len(), 2);
    assert_eq!(config.routes.len(), 6);
    assert_eq!(config.clusters.len(), 5);
    let fleet = &config.clusters[3].balancing;
    assert_eq!(fleet.kind, switchyard_config::BalancerKind::Edge);
    assert!(fleet.prefer_local_zone && fleet.health_check.is_some());
    assert_eq!(config.zone.as_deref(), Some("eu-west-1a"));
}

#[test]
fn the_error_examples_in_the_docs_are_real() {
    let blocks = doc_blocks("Errors");
    let examples: Vec<(&str, &str)> = blocks
        .windows(2)
        .filter_map(|pair| match pair {
            [("yaml", yaml), ("text", output)] => Some((*yaml, *output)),
            _ => None,
        })
        .collect();
    assert_eq!(
        examples.len(),
        2,
        "expected two yaml/text pairs in `## Errors`"
    );
    for (yaml, output) in examples {
        assert_eq!(errors(yaml).join("\n"), output.trim_end());
    }
}

#[test]
fn the_schema_covers_every_section() {
    let schema = switchyard_config::json_schema();
    let properties = schema["properties"]
        .as_object()
        .expect("the schema has properties");
    let mut sections: Vec<&str> = properties.keys().map(String::as_str).collect();
    sections.sort_unstable();
    assert_eq!(
        sections,
        [
            "access_log",
            "admin",
            "clusters",
            "drain_timeout",
            "listeners",
            "policies",
            "registry",
            "routes",
            "zone"
        ]
    );
    assert_eq!(schema["required"], serde_json::json!(["listeners"]));
}

#[test]
fn zero_timeouts_are_rejected() {
    let yaml = "listeners: [{name: p, address: '127.0.0.1:0', header_read_timeout: 0s}]\n";
    assert_eq!(
        errors(yaml),
        vec!["cfg.yaml:1:68: listeners[0].header_read_timeout: must be longer than zero"]
    );
}

#[test]
fn host_rewrite_must_be_a_host() {
    let yaml = "listeners: [{name: p, address: '127.0.0.1:0'}]\n\
                routes: [{name: r, proxy: {cluster: c, host_rewrite: 'bad host/'}}]\n\
                clusters: [{name: c, endpoints: [{address: '127.0.0.1:1'}]}]\n";
    assert_eq!(
        errors(yaml),
        vec![
            "cfg.yaml:2:54: routes[0].proxy.host_rewrite: `bad host/` is not a host name or host:port"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// The admin listener.
// ---------------------------------------------------------------------------------------------

#[test]
fn an_admin_listener_off_loopback_needs_a_token() {
    let yaml = "\
listeners: [{name: public, address: 127.0.0.1:8080}]
admin:
  address: 0.0.0.0:9901
";
    assert_eq!(
        errors(yaml),
        [
            "cfg.yaml:3:12: admin.address: the admin listener on 0.0.0.0:9901 is off loopback: give it a `token` (or bind it to 127.0.0.1)"
        ]
    );
}

#[test]
fn a_short_admin_token_is_refused() {
    let yaml = "\
listeners: [{name: public, address: 127.0.0.1:8080}]
admin: {address: 0.0.0.0:9901, token: short}
";
    assert_eq!(
        errors(yaml),
        ["cfg.yaml:2:39: admin.token: a token needs at least 16 characters"]
    );
}

#[test]
fn the_admin_listener_defaults_to_loopback_and_hides_its_token() {
    let yaml = "\
listeners: [{name: public, address: 127.0.0.1:8080}]
admin: {token: a-token-that-is-long-enough}
";
    let admin = config(yaml).admin.expect("admin configured");
    assert_eq!(admin.address, "127.0.0.1:9901".parse().unwrap());
    let shown = format!("{admin:?}");
    assert!(!shown.contains("a-token-that-is-long-enough"), "{shown}");
    let none = "listeners: [{name: public, address: 127.0.0.1:8080}]\n";
    assert_eq!(config(none).admin, None);
}

#[test]
fn capacity_wait_defaults_to_50ms_for_edge_only_and_can_be_set_or_turned_off() {
    let yaml = one_cluster;
    let wait = |cluster: &str| config(&yaml(cluster)).clusters[0].balancing.capacity_wait;
    assert_eq!(wait("balancer: round_robin"), Duration::ZERO);
    assert_eq!(wait("capacity_wait: 200ms"), Duration::from_millis(200));
    assert_eq!(wait("capacity_wait: 'off'"), Duration::ZERO);
    assert_eq!(
        wait("balancer: least_request, capacity_wait: 20ms"),
        Duration::from_millis(20)
    );
    assert_eq!(
        errors(&yaml("capacity_wait: soon")),
        [
            "cfg.yaml:3:69: clusters[0].capacity_wait: `soon` is not a duration such as 250ms or 5s (expected number at 0)"
        ]
    );
    let hashed = "balancer: maglev, hash_on: {client_ip: true}";
    assert_eq!(
        wait(&format!("{hashed}, capacity_wait: 'off'")),
        Duration::ZERO
    );
    assert_eq!(
        errors(&yaml(&format!("{hashed}, capacity_wait: 20ms"))),
        [
            "cfg.yaml:3:115: clusters[0].capacity_wait: ring_hash and maglev always pick the key's endpoint, so they cannot wait for room elsewhere; remove capacity_wait or set it to off"
        ]
    );
}

#[test]
fn warm_up_is_an_error_on_a_balancer_that_does_not_ramp_up_new_endpoints() {
    let yaml = one_cluster;
    let window = |cluster: &str| config(&yaml(cluster)).clusters[0].balancing.warm_up;
    assert_eq!(window(""), Some(Duration::from_secs(90)), "edge's default");
    assert_eq!(window("balancer: round_robin"), None);
    assert_eq!(
        window("balancer: least_request, warm_up: 30s"),
        Some(Duration::from_secs(30))
    );
    assert_eq!(window("balancer: random, warm_up: 'off'"), None);
    assert_eq!(
        errors(&yaml("balancer: peak_ewma, warm_up: 30s")),
        [
            "cfg.yaml:3:84: clusters[0].warm_up: peak_ewma does not ramp up new endpoints (edge, round_robin and least_request do); remove warm_up or set it to off"
        ]
    );
    assert_eq!(
        errors(&yaml("balancer: random, warm_up: soon")),
        [
            "cfg.yaml:3:81: clusters[0].warm_up: random does not ramp up new endpoints (edge, round_robin and least_request do); remove warm_up or set it to off"
        ],
        "one error, not a second one about the duration"
    );
}

#[test]
fn edge_weighs_a_joiners_latency_by_its_own_power_once_the_fleet_is_busy() {
    let yaml = |edge: &str| one_cluster(&format!("edge: {{{edge}}}"));
    let edge = |settings: &str| config(&yaml(settings)).clusters[0].balancing.edge.clone();
    let defaults = edge("");
    assert_eq!(
        (
            defaults.k_latency,
            defaults.k_latency_warming,
            defaults.busy_fleet_at
        ),
        (2.0, 1.0, 0.8)
    );
    let set = edge("k_latency_warming: 2, busy_fleet_at: 0.9");
    assert_eq!((set.k_latency_warming, set.busy_fleet_at), (2.0, 0.9));
    let [error] = &errors(&yaml("k_latency_warming: -1"))[..] else {
        panic!("one error expected");
    };
    assert!(
        error.starts_with("cfg.yaml:3:")
            && error.contains("clusters[0].edge.k_latency_warming: must be zero or more"),
        "{error}"
    );
}
