//! Checks of the `policies:` section and of the policy names routes and listeners list.

use crate::located::Located;
use crate::model::*;
use crate::raw_policy::*;
use crate::values::{Checker, is_header_name, is_header_value, is_token};
use std::collections::HashSet;

/// JOSE `alg` names a `jwt` policy may allow.
pub const JWT_ALGORITHMS: [&str; 12] = [
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
    "ES384", "EdDSA",
];

pub(crate) fn policies(c: &mut Checker, raw: &[RawPolicy]) -> Vec<Policy> {
    let mut seen = HashSet::new();
    raw.iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let path = format!("policies[{i}]");
            c.unique(&mut seen, &p.name, &format!("{path}.name"));
            let kind = kind(c, p, &path)?;
            Some(Policy {
                name: p.name.value.clone(),
                origin: c.origin(&p.name, &path),
                kind,
            })
        })
        .collect()
}

/// Checks that each listed name is a defined policy.
pub(crate) fn names(
    c: &mut Checker,
    raw: &[Located<String>],
    defined: &HashSet<&str>,
    path: &str,
) -> Vec<String> {
    let mut names = Vec::with_capacity(raw.len());
    for (i, name) in raw.iter().enumerate() {
        if !defined.contains(name.value.as_str()) {
            let msg = format!("no policy is named `{}`", name.value);
            c.error(name, &format!("{path}[{i}]"), &msg);
        }
        names.push(name.value.clone());
    }
    names
}

fn kind(c: &mut Checker, p: &RawPolicy, path: &str) -> Option<PolicyKind> {
    let given = [
        p.api_key.is_some(),
        p.jwt.is_some(),
        p.basic_auth.is_some(),
        p.authorize.is_some(),
        p.rate_limit.is_some(),
        p.cors.is_some(),
        p.body_limit.is_some(),
        p.request_headers.is_some(),
        p.request_query.is_some(),
        p.openapi.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        let msg = "a policy needs exactly one of api_key, jwt, basic_auth, authorize, rate_limit, \
                   cors, body_limit, request_headers, request_query, openapi";
        c.error(&p.name, path, msg);
        return None;
    }
    Some(if let Some(k) = &p.api_key {
        PolicyKind::ApiKey(api_key(c, k, &p.name, &format!("{path}.api_key")))
    } else if let Some(j) = &p.jwt {
        PolicyKind::Jwt(jwt(c, j, &p.name, &format!("{path}.jwt")))
    } else if let Some(b) = &p.basic_auth {
        PolicyKind::BasicAuth(basic_auth(c, b, &p.name, &format!("{path}.basic_auth")))
    } else if let Some(a) = &p.authorize {
        PolicyKind::Authorize(authorize(a))
    } else if let Some(r) = &p.rate_limit {
        PolicyKind::RateLimit(rate_limit(c, r, &format!("{path}.rate_limit")))
    } else if let Some(x) = &p.cors {
        PolicyKind::Cors(cors(c, x, &p.name, &format!("{path}.cors")))
    } else if let Some(b) = &p.body_limit {
        PolicyKind::BodyLimit(b.value)
    } else if let Some(o) = &p.openapi {
        PolicyKind::OpenApi(openapi(c, o, &format!("{path}.openapi"))?)
    } else if let Some(q) = &p.request_query {
        PolicyKind::RequestQuery(request_query(c, q, &format!("{path}.request_query")))
    } else {
        let h = p.request_headers.as_ref()?;
        PolicyKind::RequestHeaders(request_headers(c, h, &format!("{path}.request_headers")))
    })
}

fn openapi(c: &mut Checker, o: &RawOpenApi, path: &str) -> Option<OpenApiPolicy> {
    let spec_path = c.resolve_path(&o.spec.value);
    let spec_text = match std::fs::read_to_string(&spec_path) {
        Ok(text) => text,
        Err(e) => {
            let msg = format!("cannot read `{}`: {e}", spec_path.display());
            c.error(&o.spec, &format!("{path}.spec"), &msg);
            return None;
        }
    };
    let reject_unknown = switch(
        c,
        o.unknown_operations.as_ref(),
        &format!("{path}.unknown_operations"),
        ("reject", "allow"),
        true,
    );
    let report_responses = switch(
        c,
        o.responses.as_ref(),
        &format!("{path}.responses"),
        ("report", "off"),
        false,
    );
    Some(OpenApiPolicy {
        spec_path,
        spec_text,
        max_body_bytes: o.max_body_bytes.as_ref().map_or(1 << 20, |m| m.value),
        reject_unknown,
        report_responses,
    })
}

/// A setting of two words, `on` (true) or `off` (false); `default` when absent.
fn switch(
    c: &mut Checker,
    v: Option<&Located<String>>,
    path: &str,
    (on, off): (&str, &str),
    default: bool,
) -> bool {
    let Some(v) = v else { return default };
    match v.value.as_str() {
        w if w == on => true,
        w if w == off => false,
        other => {
            let msg = format!("unknown `{other}`; expected `{on}` or `{off}`");
            c.error(v, path, &msg);
            default
        }
    }
}

fn header_name(c: &mut Checker, v: &Located<String>, path: &str) -> String {
    if !is_header_name(&v.value) {
        c.error(
            v,
            path,
            &format!("`{}` is not a valid header name", v.value),
        );
    }
    v.value.to_ascii_lowercase()
}

fn api_key(c: &mut Checker, k: &RawApiKey, name: &Located<String>, path: &str) -> ApiKeyPolicy {
    let source = match (&k.header, &k.query) {
        (Some(_), Some(q)) => {
            c.error(
                q,
                &format!("{path}.query"),
                "give `header` or `query`, not both",
            );
            CredentialSource::Query(q.value.clone())
        }
        (None, Some(q)) => CredentialSource::Query(q.value.clone()),
        (Some(h), None) => CredentialSource::Header(header_name(c, h, &format!("{path}.header"))),
        (None, None) => CredentialSource::Header("x-api-key".to_owned()),
    };
    let mut keys: Vec<ApiKey> = k
        .keys
        .iter()
        .enumerate()
        .filter_map(|(i, key)| api_key_entry(c, key, &format!("{path}.keys[{i}]")))
        .collect();
    if let Some(file) = &k.keys_file {
        keys.extend(keys_file(c, file, &format!("{path}.keys_file")));
    }
    if keys.is_empty() {
        c.error(
            name,
            &format!("{path}.keys"),
            "an api_key policy needs at least one key",
        );
    }
    let forward_id = k
        .forward_id
        .as_ref()
        .map(|h| header_name(c, h, &format!("{path}.forward_id")));
    ApiKeyPolicy {
        source,
        keys,
        forward_id,
        keep_credential: k.keep_credential,
    }
}

fn api_key_entry(c: &mut Checker, key: &RawKey, path: &str) -> Option<ApiKey> {
    let Some(sha256) = sha256_hex(&key.hash.value) else {
        let msg = "a key hash is `sha256:` and 64 hex digits (see `switchyard hash-key`)";
        c.error(&key.hash, &format!("{path}.hash"), msg);
        return None;
    };
    Some(ApiKey {
        id: key.id.value.clone(),
        sha256,
        metadata: key.metadata.clone(),
    })
}

fn sha256_hex(text: &str) -> Option<[u8; 32]> {
    let hex = text.strip_prefix("sha256:")?;
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn keys_file(c: &mut Checker, file: &Located<String>, path: &str) -> Vec<ApiKey> {
    let resolved = c.resolve_path(&file.value);
    let text = match std::fs::read_to_string(&resolved) {
        Ok(text) => text,
        Err(e) => {
            let msg = format!("cannot read `{}`: {e}", resolved.display());
            c.error(file, path, &msg);
            return Vec::new();
        }
    };
    let name = resolved.display().to_string();
    let raw: Vec<RawKey> = match serde_saphyr::from_str(&text) {
        Ok(raw) => raw,
        Err(e) => {
            let at = e
                .location()
                .map_or(String::new(), |l| format!(":{}:{}", l.line(), l.column()));
            let msg = format!("{name}{at}: {}", crate::yaml_message(&e));
            c.error(file, path, &msg);
            return Vec::new();
        }
    };
    let mut keys = Vec::with_capacity(raw.len());
    for (i, key) in raw.iter().enumerate() {
        match sha256_hex(&key.hash.value) {
            Some(sha256) => keys.push(ApiKey {
                id: key.id.value.clone(),
                sha256,
                metadata: key.metadata.clone(),
            }),
            None => {
                let msg = format!(
                    "{name}:{}:{}: keys[{i}].hash is not `sha256:` and 64 hex digits",
                    key.hash.line, key.hash.column
                );
                c.error(file, path, &msg);
            }
        }
    }
    keys
}

fn basic_auth(
    c: &mut Checker,
    b: &RawBasicAuth,
    name: &Located<String>,
    path: &str,
) -> BasicAuthPolicy {
    let mut users = Vec::new();
    for (i, u) in b.users.iter().enumerate() {
        if !is_bcrypt(&u.hash.value) {
            c.error(&u.hash, &format!("{path}.users[{i}].hash"), BCRYPT_HINT);
        }
        users.push(BasicUser {
            name: u.name.value.clone(),
            hash: u.hash.value.clone(),
            metadata: u.metadata.clone(),
        });
    }
    if let Some(file) = &b.htpasswd {
        users.extend(htpasswd(c, file, &format!("{path}.htpasswd")));
    }
    if users.is_empty() {
        c.error(
            name,
            &format!("{path}.users"),
            "a basic_auth policy needs at least one user",
        );
    }
    // One cost for all: an unknown name is checked at that cost, so timing tells no names.
    let costs: std::collections::BTreeSet<&str> =
        users.iter().filter_map(|u| u.hash.get(4..6)).collect();
    if costs.len() > 1 {
        let msg = "every password hash of a policy needs the same bcrypt cost (the `$2y$NN$` part), \
                   so that response times do not tell which user names exist";
        c.error(name, &format!("{path}.users"), msg);
    }
    let realm = b.realm.as_ref().map_or("switchyard", |r| r.value.as_str());
    if realm.contains(['"', '\\']) || !is_header_value(realm) {
        let at = b.realm.as_ref().expect("only a given realm can be bad");
        c.error(
            at,
            &format!("{path}.realm"),
            "a realm cannot hold quotes, backslashes or control characters",
        );
    }
    BasicAuthPolicy {
        realm: realm.to_owned(),
        users,
        keep_credential: b.keep_credential,
    }
}

const BCRYPT_HINT: &str =
    "a password hash is bcrypt (`$2y$...`, 60 characters, as `htpasswd -nB NAME` writes)";

fn is_bcrypt(hash: &str) -> bool {
    hash.len() == 60 && ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p))
}

fn htpasswd(c: &mut Checker, file: &Located<String>, path: &str) -> Vec<BasicUser> {
    let resolved = c.resolve_path(&file.value);
    let text = match std::fs::read_to_string(&resolved) {
        Ok(text) => text,
        Err(e) => {
            let msg = format!("cannot read `{}`: {e}", resolved.display());
            c.error(file, path, &msg);
            return Vec::new();
        }
    };
    let mut users = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once(':') {
            Some((name, hash)) if !name.is_empty() && is_bcrypt(hash) => users.push(BasicUser {
                name: name.to_owned(),
                hash: hash.to_owned(),
                metadata: std::collections::BTreeMap::new(),
            }),
            _ => {
                let msg = format!("{}:{}: {BCRYPT_HINT}", resolved.display(), n + 1);
                c.error(file, path, &msg);
            }
        }
    }
    users
}

fn jwt(c: &mut Checker, j: &RawJwt, name: &Located<String>, path: &str) -> JwtPolicy {
    for (i, a) in j.algorithms.iter().enumerate() {
        if !JWT_ALGORITHMS.contains(&a.value.as_str()) {
            let msg = format!(
                "unknown algorithm `{}`; expected one of {}",
                a.value,
                JWT_ALGORITHMS.join(", ")
            );
            c.error(a, &format!("{path}.algorithms[{i}]"), &msg);
        }
    }
    if j.algorithms.is_empty() {
        c.error_at(
            0,
            0,
            &format!("{path}.algorithms"),
            "list at least one algorithm",
        );
    }
    let keys = j
        .keys
        .iter()
        .enumerate()
        .filter_map(|(i, k)| jwt_key(c, k, &format!("{path}.keys[{i}]")))
        .collect::<Vec<_>>();
    let jwks = j.jwks_file.as_ref().and_then(|f| {
        let resolved = c.resolve_path(&f.value);
        std::fs::read_to_string(&resolved)
            .map_err(|e| {
                let msg = format!("cannot read `{}`: {e}", resolved.display());
                c.error(f, &format!("{path}.jwks_file"), &msg);
            })
            .ok()
    });
    let jwks_url = j
        .jwks_url
        .as_ref()
        .map(|u| crate::jwks_url::jwks_url(c, u, &format!("{path}.jwks_url")));
    if keys.is_empty() && j.jwks_file.is_none() && jwks_url.is_none() {
        let msg = "give `keys`, `jwks_file` or `jwks_url`";
        c.error(name, &format!("{path}.keys"), msg);
    }
    let forward_claims = j
        .forward_claims
        .iter()
        .map(|(claim, h)| {
            let header = header_name(c, h, &format!("{path}.forward_claims.{claim}"));
            (claim.clone(), header)
        })
        .collect();
    JwtPolicy {
        algorithms: j.algorithms.iter().map(|a| a.value.clone()).collect(),
        keys,
        jwks,
        jwks_url,
        issuers: j.issuers.iter().map(|v| v.value.clone()).collect(),
        audiences: j.audiences.iter().map(|v| v.value.clone()).collect(),
        leeway: c.duration_or_zero(j.leeway.as_ref(), &format!("{path}.leeway"), 30),
        forward_claims,
        keep_credential: j.keep_credential.unwrap_or(true),
    }
}

fn jwt_key(c: &mut Checker, k: &RawJwtKey, path: &str) -> Option<JwtKey> {
    let material = match (&k.secret, &k.pem) {
        (Some(s), None) => JwtKeyMaterial::Secret(s.value.clone()),
        (None, Some(p)) => JwtKeyMaterial::Pem(p.value.clone()),
        (Some(s), Some(_)) => {
            c.error(s, path, "give `secret` or `pem`, not both");
            return None;
        }
        (None, None) => {
            let at = k.kid.as_ref().map_or((0, 0), |k| (k.line, k.column));
            c.error_at(at.0, at.1, path, "a key needs `secret` or `pem`");
            return None;
        }
    };
    Some(JwtKey {
        kid: k.kid.as_ref().map(|k| k.value.clone()),
        material,
    })
}

fn authorize(a: &RawAuthorize) -> AuthorizePolicy {
    let rule = |claim: &str, r: &RawClaimRule| ClaimRule {
        claim: claim.to_owned(),
        any_of: r.any_of.clone(),
        all_of: r.all_of.clone(),
    };
    let mut rules: Vec<ClaimRule> = a.scopes.iter().map(|r| rule("scope", r)).collect();
    rules.extend(a.claims.iter().map(|(claim, r)| rule(claim, r)));
    AuthorizePolicy { rules }
}

fn rate_limit(c: &mut Checker, r: &RawRateLimit, path: &str) -> RateLimitPolicy {
    if r.requests.value == 0 {
        c.error(
            &r.requests,
            &format!("{path}.requests"),
            "must be at least 1",
        );
    }
    let per = c.duration_or(Some(&r.per), &format!("{path}.per"), 1);
    let burst = r.burst.as_ref().map_or(r.requests.value, |b| b.value);
    if let Some(b) = r.burst.as_ref().filter(|b| b.value == 0) {
        c.error(b, &format!("{path}.burst"), "must be at least 1");
    }
    let mut key: Vec<RateKey> = r
        .key
        .iter()
        .enumerate()
        .filter_map(|(i, k)| rate_key(c, k, &format!("{path}.key[{i}]")))
        .collect();
    if key.is_empty() {
        key.push(RateKey::ClientIp);
    }
    RateLimitPolicy {
        requests: r.requests.value.max(1),
        per,
        burst: burst.max(1),
        key,
        max_keys: c.size_or(r.max_keys.as_ref(), &format!("{path}.max_keys"), 100_000, 1),
        redis: r
            .redis
            .as_ref()
            .map(|s| redis(c, s, &format!("{path}.redis"))),
    }
}

fn redis(c: &mut Checker, r: &RawRedis, path: &str) -> RedisStore {
    let scheme_ok = ["redis://", "rediss://", "redis+unix://", "unix://"]
        .iter()
        .any(|s| r.url.value.starts_with(s));
    if !scheme_ok {
        c.error(
            &r.url,
            &format!("{path}.url"),
            "a Redis URL starts with redis:// (e.g. redis://127.0.0.1:6379)",
        );
    }
    let fail_open = match r.on_failure.as_ref().map(|f| f.value.as_str()) {
        None | Some("allow") => true,
        Some("deny") => false,
        Some(other) => {
            let msg = format!("unknown `{other}`; expected `allow` or `deny`");
            c.error(
                r.on_failure.as_ref().expect("matched Some"),
                &format!("{path}.on_failure"),
                &msg,
            );
            true
        }
    };
    let timeout = match &r.timeout {
        None => std::time::Duration::from_millis(50),
        Some(t) => c.duration_or(Some(t), &format!("{path}.timeout"), 1),
    };
    RedisStore {
        url: r.url.value.clone(),
        timeout,
        fail_open,
    }
}

fn rate_key(c: &mut Checker, k: &Located<String>, path: &str) -> Option<RateKey> {
    let key = match k.value.split_once(':') {
        None => match k.value.as_str() {
            "client_ip" => RateKey::ClientIp,
            "route" => RateKey::Route,
            "api_key" => RateKey::ApiKey,
            _ => return rate_key_error(c, k, path),
        },
        Some(("header", name)) if is_header_name(name) => {
            RateKey::Header(name.to_ascii_lowercase())
        }
        Some(("claim", name)) if !name.is_empty() => RateKey::Claim(name.to_owned()),
        Some(_) => return rate_key_error(c, k, path),
    };
    Some(key)
}

fn rate_key_error(c: &mut Checker, k: &Located<String>, path: &str) -> Option<RateKey> {
    let msg = format!(
        "unknown rate limit key `{}`; expected client_ip, route, api_key, header:NAME or claim:NAME",
        k.value
    );
    c.error(k, path, &msg);
    None
}

fn cors(c: &mut Checker, x: &RawCors, name: &Located<String>, path: &str) -> CorsPolicy {
    let origins = x
        .allow_origins
        .iter()
        .enumerate()
        .filter_map(|(i, o)| cors_origin(c, o, &format!("{path}.allow_origins[{i}]")))
        .collect::<Vec<_>>();
    if x.allow_credentials && origins.contains(&CorsOrigin::Any) {
        c.error(
            name,
            &format!("{path}.allow_credentials"),
            "credentials cannot be allowed for the origin `*` (the Fetch standard forbids it); list the origins",
        );
    }
    let methods = if x.allow_methods.is_empty() {
        vec!["GET".to_owned(), "HEAD".to_owned(), "POST".to_owned()]
    } else {
        let methods = x.allow_methods.iter().enumerate().map(|(i, m)| {
            if !is_token(&m.value) {
                c.error(
                    m,
                    &format!("{path}.allow_methods[{i}]"),
                    "not a method name",
                );
            }
            m.value.to_ascii_uppercase()
        });
        methods.collect()
    };
    let names = |c: &mut Checker, list: &[Located<String>], field: &str| -> Vec<String> {
        let names = list.iter().enumerate();
        names
            .map(|(i, h)| header_name(c, h, &format!("{path}.{field}[{i}]")))
            .collect()
    };
    CorsPolicy {
        origins,
        methods,
        headers: names(c, &x.allow_headers, "allow_headers"),
        expose: names(c, &x.expose_headers, "expose_headers"),
        credentials: x.allow_credentials,
        max_age: x
            .max_age
            .as_ref()
            .map(|m| c.duration_or(Some(m), &format!("{path}.max_age"), 0)),
    }
}

fn cors_origin(c: &mut Checker, o: &Located<String>, path: &str) -> Option<CorsOrigin> {
    let text = o.value.trim_end_matches('/').to_ascii_lowercase();
    if text == "*" {
        return Some(CorsOrigin::Any);
    }
    let Some((scheme, host)) = text.split_once("://") else {
        let msg = "an origin is `*` or `scheme://host[:port]`, e.g. https://app.example.com";
        c.error(o, path, msg);
        return None;
    };
    let scheme = format!("{scheme}://");
    Some(match host.strip_prefix('*') {
        Some(suffix) if suffix.starts_with('.') => CorsOrigin::Wildcard {
            scheme,
            suffix: suffix.to_owned(),
        },
        _ => CorsOrigin::Exact(text),
    })
}

fn request_headers(c: &mut Checker, h: &RawRequestHeaders, path: &str) -> RequestHeadersPolicy {
    let set = crate::validate::header_map(c, &h.set, &format!("{path}.set"));
    for (name, value) in &h.set {
        check_placeholders(c, value, &format!("{path}.set.{name}"));
    }
    let remove = h.remove.iter().enumerate();
    let remove = remove
        .map(|(i, name)| header_name(c, name, &format!("{path}.remove[{i}]")))
        .collect();
    RequestHeadersPolicy { set, remove }
}

fn request_query(c: &mut Checker, q: &RawRequestQuery, path: &str) -> RequestQueryPolicy {
    let mut set = Vec::with_capacity(q.set.len());
    for (name, value) in &q.set {
        let field = format!("{path}.set.{name}");
        if name.is_empty() {
            c.error(value, &field, "a query parameter needs a name");
        }
        check_placeholders(c, value, &field);
        set.push((name.clone(), value.value.clone()));
    }
    let remove = q.remove.iter().enumerate().map(|(i, name)| {
        if name.value.is_empty() {
            c.error(
                name,
                &format!("{path}.remove[{i}]"),
                "a query parameter needs a name",
            );
        }
        name.value.clone()
    });
    RequestQueryPolicy {
        remove: remove.collect(),
        set,
    }
}

/// `{identity.id}`, `{claim.X}`, `{meta.X}`, `{param.X}` are the placeholders a value may use.
fn check_placeholders(c: &mut Checker, value: &Located<String>, path: &str) {
    let mut rest = value.value.as_str();
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            c.error(value, path, "a `{` is not closed");
            return;
        };
        let inner = &rest[open + 1..open + close];
        let known = inner == "identity.id"
            || ["claim.", "meta.", "param."]
                .iter()
                .any(|p| inner.strip_prefix(p).is_some_and(|n| !n.is_empty()));
        if !known {
            let msg = format!(
                "unknown placeholder `{{{inner}}}`; expected {{identity.id}}, {{claim.NAME}}, {{meta.NAME}} or {{param.NAME}}"
            );
            c.error(value, path, &msg);
        }
        rest = &rest[open + close + 1..];
    }
}
