//! `graphql.registry`: a GraphQL route that takes its supergraph from a registry variant.

use std::time::Duration;
use switchyard_config::{Action, RegistrySource, RegistryStore, Secret};

fn errors(yaml: &str) -> Vec<String> {
    match switchyard_config::parse(yaml, "cfg.yaml") {
        Ok(_) => panic!("expected errors, but the config was accepted:\n{yaml}"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

fn route(graphql: &str) -> String {
    format!(
        "\
listeners:
  - name: public
    address: 127.0.0.1:8080
routes:
  - name: graph
    graphql: {graphql}
"
    )
}

#[test]
fn a_registry_source_is_read_with_a_default_poll_of_one_second() {
    let yaml = route("{registry: {url: 'http://127.0.0.1:4100/', graph: movies, variant: prod}}");
    let config = switchyard_config::parse(&yaml, "cfg.yaml").unwrap();
    let Action::GraphQL(g) = &config.routes[0].action else {
        panic!("not a graphql route");
    };
    assert_eq!(
        g.registry,
        Some(RegistrySource {
            url: Some("http://127.0.0.1:4100".into()),
            graph: "movies".into(),
            variant: "prod".into(),
            poll: Duration::from_secs(1),
            token: None,
            cache: None,
        })
    );
    assert!(g.supergraph_sdl.is_empty());
    assert!(g.supergraph_path.as_os_str().is_empty());
    assert_eq!(
        g.registry.as_ref().unwrap().supergraph_url().as_deref(),
        Some("http://127.0.0.1:4100/graphs/movies/variants/prod/supergraph")
    );
}

#[test]
fn poll_and_token_are_taken() {
    let yaml =
        route("{registry: {url: 'http://r:4100', graph: g, variant: v, poll: 250ms, token: abc}}");
    let config = switchyard_config::parse(&yaml, "cfg.yaml").unwrap();
    let Action::GraphQL(g) = &config.routes[0].action else {
        panic!("not a graphql route");
    };
    let source = g.registry.as_ref().unwrap();
    assert_eq!(source.poll, Duration::from_millis(250));
    assert_eq!(source.token.as_deref(), Some("abc"));
}

#[test]
fn exactly_one_of_supergraph_and_registry() {
    assert_eq!(
        errors(&route("{subgraphs: {}}")),
        ["cfg.yaml:5:11: routes[0].graphql: a graphql route needs supergraph (a file) or registry"]
    );
    assert_eq!(
        errors(&route(
            "{supergraph: sg.graphql, registry: {url: 'http://r', graph: g, variant: v}}"
        )),
        [
            "cfg.yaml:6:27: routes[0].graphql.supergraph: give either supergraph (a file) or registry, not both"
        ]
    );
}

#[test]
fn bad_registry_fields_are_named_with_their_position() {
    assert_eq!(
        errors(&route(
            "{registry: {url: 'https://r/x', graph: 'a b', variant: '', poll: 0s}}"
        )),
        [
            "cfg.yaml:6:31: routes[0].graphql.registry.url: `https://r/x` is not a registry base URL such as http://127.0.0.1:4100 (http only, no path)",
            "cfg.yaml:6:53: routes[0].graphql.registry.graph: `a b` is not a graph name (1 to 64 of A-Z a-z 0-9 _ -)",
            "cfg.yaml:6:69: routes[0].graphql.registry.variant: `` is not a variant name (1 to 64 of A-Z a-z 0-9 _ -)",
            "cfg.yaml:6:79: routes[0].graphql.registry.poll: must be longer than zero",
        ]
    );
    assert!(
        errors(&route("{registry: {url: 'http://r', graph: g}}"))[0].contains("variant"),
        "a missing field is named"
    );
}

fn embedding(registry: &str) -> String {
    format!(
        "{}registry: {registry}\n",
        route("{registry: {graph: movies, variant: prod}}")
    )
}

#[test]
fn a_source_without_url_follows_the_embedded_registry() {
    let config = switchyard_config::parse(&embedding("{}"), "/etc/sy/cfg.yaml").unwrap();
    let Action::GraphQL(g) = &config.routes[0].action else {
        panic!("not a graphql route");
    };
    let source = g.registry.as_ref().unwrap();
    assert_eq!(source.url, None);
    assert_eq!(source.supergraph_url(), None);
    assert_eq!(source.describe(), "movies@prod in the embedded registry");
    let registry = config.registry.unwrap();
    assert_eq!(registry.address, "127.0.0.1:4100".parse().unwrap());
    assert_eq!(
        registry.store,
        RegistryStore::Sqlite("/etc/sy/switchyard-registry.db".into()),
        "the default store is a SQLite file beside the config"
    );
    assert_eq!(registry.token, None);
    assert_eq!(registry.introspect_hosts, None, "any host by default");
}

#[test]
fn the_embedded_registry_takes_an_introspection_allow_list() {
    let yaml = embedding("{introspect_hosts: [Subgraphs.Internal, '*.svc.cluster.local']}");
    let registry = switchyard_config::parse(&yaml, "cfg.yaml")
        .unwrap()
        .registry
        .unwrap();
    assert_eq!(
        registry.introspect_hosts,
        Some(vec![
            "subgraphs.internal".to_owned(),
            "*.svc.cluster.local".to_owned()
        ])
    );
    assert_eq!(
        errors(&embedding("{introspect_hosts: ['http://x/']}")),
        [
            "cfg.yaml:7:31: registry.introspect_hosts[0]: `http://x/` is not a host name, an IP address or `*.` and a domain"
        ]
    );
}

#[test]
fn an_introspection_allow_list_entry_is_a_host_without_port() {
    use switchyard_config::introspect_host;
    for (given, kept) in [
        ("Subgraphs.Internal", "subgraphs.internal"),
        ("*.svc.cluster.local", "*.svc.cluster.local"),
        ("10.0.0.7", "10.0.0.7"),
        ("[::1]", "::1"),
        ("fd00::7", "fd00::7"),
    ] {
        assert_eq!(introspect_host(given).as_deref(), Ok(kept), "{given}");
    }
    for bad in [
        "*.",
        "*",
        "",
        "a..b",
        ".example.com",
        "example.com:8080",
        "h/x",
    ] {
        assert!(introspect_host(bad).is_err(), "{bad} accepted");
    }
    assert_eq!(
        introspect_host("subgraphs:4001").unwrap_err(),
        "`subgraphs:4001` is not a host name, an IP address or `*.` and a domain (without a port)"
    );
}

#[test]
fn the_embedded_registry_takes_address_store_and_token() {
    let yaml = embedding(
        "{address: '0.0.0.0:4200', store: 'postgresql://u:pw@127.0.0.1/r', token: 0123456789abcdef}",
    );
    let registry = switchyard_config::parse(&yaml, "cfg.yaml")
        .unwrap()
        .registry
        .unwrap();
    assert_eq!(registry.address, "0.0.0.0:4200".parse().unwrap());
    assert_eq!(
        registry.store,
        RegistryStore::Postgres(Secret("postgresql://u:pw@127.0.0.1/r".into()))
    );
    assert!(
        !format!("{registry:?}").contains("pw"),
        "the database URL and the token never show in Debug (logs)"
    );
}

#[test]
fn a_source_without_url_needs_an_embedded_registry() {
    assert_eq!(
        errors(&route("{registry: {graph: movies, variant: prod}}")),
        [
            "cfg.yaml:6:33: routes[0].graphql.registry.url: no `url`, and this config embeds no registry: give the registry's url, or add a top-level `registry` section to serve one from this gateway"
        ]
    );
}

#[test]
fn bad_embedded_registry_fields_are_named() {
    assert_eq!(
        errors(&embedding("{address: '0.0.0.0:4200'}")),
        [
            "cfg.yaml:7:21: registry.address: the registry on 0.0.0.0:4200 is off loopback: give it a `token` so that writes are not open to the network (or bind it to 127.0.0.1)"
        ]
    );
    assert_eq!(
        errors(&embedding("{token: short}")),
        ["cfg.yaml:7:19: registry.token: a token needs at least 16 characters"]
    );
    assert_eq!(
        errors(&embedding("{store: 'mysql://u:secret@h/db'}")),
        [
            "cfg.yaml:7:19: registry.store: use sqlite:PATH (a file, created on first start) or postgresql://user@host:port/db"
        ]
    );
}

#[test]
fn a_cache_file_is_resolved_beside_the_config_and_only_for_a_remote_registry() {
    let yaml = route("{registry: {url: 'http://r:4100', graph: g, variant: v, cache: sg.cache}}");
    let config = switchyard_config::parse(&yaml, "/etc/sy/cfg.yaml").unwrap();
    let Action::GraphQL(g) = &config.routes[0].action else {
        panic!("not a graphql route");
    };
    let cache = g.registry.as_ref().unwrap().cache.as_deref();
    assert_eq!(cache, Some(std::path::Path::new("/etc/sy/sg.cache")));
    let embedded = format!(
        "{}registry: {{}}\n",
        route("{registry: {graph: g, variant: v, cache: sg.cache}}")
    );
    assert_eq!(
        errors(&embedded),
        [
            "cfg.yaml:6:55: routes[0].graphql.registry.cache: a cache is for a remote registry (with `url`): the embedded registry's store is already on disk"
        ]
    );
}

#[test]
fn two_variants_cannot_share_a_cache_file() {
    let source = |variant: &str, file: &str| {
        format!(
            "{{registry: {{url: 'http://r:4100', graph: g, variant: {variant}, cache: {file}}}}}"
        )
    };
    let two = |second: &str| {
        format!(
            "{}  - name: other\n    graphql: {second}\n",
            route(&source("prod", "sg.cache"))
        )
    };
    // The same variant on two routes may share its file; another variant may not.
    switchyard_config::parse(&two(&source("prod", "sg.cache")), "cfg.yaml").unwrap();
    switchyard_config::parse(&two(&source("staging", "staging.cache")), "cfg.yaml").unwrap();
    assert_eq!(
        errors(&two(&source("staging", "sg.cache"))),
        [
            "cfg.yaml:8:83: routes[1].graphql.registry.cache: `sg.cache` is already the cache of g@prod at http://r:4100: give each registry variant its own file"
        ]
    );
}
