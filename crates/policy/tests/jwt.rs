//! JWT policy: every supported algorithm verifies, and the usual attacks fail with the right
//! reason; claims checked on the injected clock, also for cached tokens.

mod common;

use common::{NOW, Req, chain, policy};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use std::time::Duration;
use switchyard_config::{JwtKey, JwtKeyMaterial, JwtPolicy, PolicyKind};
use switchyard_core::ManualClock;
use switchyard_policy::Chain;

const SECRET: &str = "a-test-secret-that-is-long-enough-for-hs512";
const RSA_KEY: &str = include_str!("keys/rsa.key");
const RSA_PUB: &str = include_str!("keys/rsa.pub");
const EC256_KEY: &str = include_str!("keys/ec256.key");
const EC256_PUB: &str = include_str!("keys/ec256.pub");
const EC384_KEY: &str = include_str!("keys/ec384.key");
const EC384_PUB: &str = include_str!("keys/ec384.pub");
const ED_KEY: &str = include_str!("keys/ed.key");
const ED_PUB: &str = include_str!("keys/ed.pub");
const JWKS: &str = include_str!("keys/jwks.json");

fn key(kid: &str, material: JwtKeyMaterial) -> JwtKey {
    JwtKey {
        kid: Some(kid.to_owned()),
        material,
    }
}

fn all_keys() -> Vec<JwtKey> {
    vec![
        key("hs", JwtKeyMaterial::Secret(SECRET.to_owned())),
        key("rsa", JwtKeyMaterial::Pem(RSA_PUB.to_owned())),
        key("ec256", JwtKeyMaterial::Pem(EC256_PUB.to_owned())),
        key("ec384", JwtKeyMaterial::Pem(EC384_PUB.to_owned())),
        key("ed", JwtKeyMaterial::Pem(ED_PUB.to_owned())),
    ]
}

fn jwt(algorithms: &[&str], keys: Vec<JwtKey>) -> JwtPolicy {
    JwtPolicy {
        algorithms: algorithms.iter().map(|a| (*a).to_owned()).collect(),
        keys,
        jwks: None,
        jwks_url: None,
        issuers: vec!["https://issuer.test".to_owned()],
        audiences: vec!["movies".to_owned()],
        leeway: Duration::from_secs(30),
        forward_claims: vec![("sub".to_owned(), "x-user".to_owned())],
        keep_credential: false,
    }
}

fn users(p: JwtPolicy, clock: &ManualClock) -> Chain {
    chain(&[policy("users", PolicyKind::Jwt(p))], clock)
}

fn claims() -> Value {
    json!({"sub": "alice", "iss": "https://issuer.test", "aud": "movies", "exp": NOW + 600, "scope": "read write"})
}

fn sign(alg: Algorithm, kid: &str, claims: &Value) -> String {
    let key = match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            EncodingKey::from_secret(SECRET.as_bytes()).unwrap()
        }
        Algorithm::ES256 => EncodingKey::from_ec_pem(EC256_KEY.as_bytes()).unwrap(),
        Algorithm::ES384 => EncodingKey::from_ec_pem(EC384_KEY.as_bytes()).unwrap(),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(ED_KEY.as_bytes()).unwrap(),
        _ => EncodingKey::from_rsa_pem(RSA_KEY.as_bytes()).unwrap(),
    };
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    encode(&header, claims, &key).unwrap()
}

const ALL: [(Algorithm, &str, &str); 12] = [
    (Algorithm::HS256, "HS256", "hs"),
    (Algorithm::HS384, "HS384", "hs"),
    (Algorithm::HS512, "HS512", "hs"),
    (Algorithm::RS256, "RS256", "rsa"),
    (Algorithm::RS384, "RS384", "rsa"),
    (Algorithm::RS512, "RS512", "rsa"),
    (Algorithm::PS256, "PS256", "rsa"),
    (Algorithm::PS384, "PS384", "rsa"),
    (Algorithm::PS512, "PS512", "rsa"),
    (Algorithm::ES256, "ES256", "ec256"),
    (Algorithm::ES384, "ES384", "ec384"),
    (Algorithm::EdDSA, "EdDSA", "ed"),
];

#[test]
fn a_valid_token_of_every_supported_algorithm_passes() {
    let clock = ManualClock::new();
    for (alg, name, kid) in ALL {
        let chain = users(jwt(&[name], all_keys()), &clock);
        let mut req = Req::get("/").bearer(&sign(alg, kid, &claims()));
        let passed = req
            .run(&chain)
            .unwrap_or_else(|a| panic!("{name}: {}", a.reason));
        assert_eq!(passed.identity.unwrap().id, "alice", "{name}");
        assert_eq!(
            req.headers["x-user"], "alice",
            "{name}: the subject goes upstream"
        );
        assert!(
            !req.headers.contains_key("authorization"),
            "{name}: the token does not"
        );
    }
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn with_claims(token: &str, claims: &Value) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = base64url(&serde_json::to_vec(claims).unwrap());
    parts.join(".")
}

#[test]
fn the_attack_list_fails_with_the_right_reason() {
    let clock = ManualClock::new();
    let rs_only = users(jwt(&["RS256"], all_keys()), &clock);
    let rs_and_hs = users(jwt(&["RS256", "HS256", "ES256"], all_keys()), &clock);
    let good = sign(Algorithm::RS256, "rsa", &claims());
    let alg_none = format!(
        "{}.{}.",
        base64url(br#"{"alg":"none","typ":"JWT"}"#),
        good.split('.').nth(1).unwrap()
    );
    // HS256 "signed" with the RSA public key, as in the key-confusion attack.
    let mut confused_header = Header::new(Algorithm::HS256);
    confused_header.kid = Some("rsa".to_owned());
    let confused = encode(
        &confused_header,
        &claims(),
        &EncodingKey::from_secret(RSA_PUB.as_bytes()).unwrap(),
    )
    .unwrap();
    let mut expired = claims();
    expired["exp"] = json!(NOW - 31);
    let mut early = claims();
    early["nbf"] = json!(NOW + 31);
    let mut issuer = claims();
    issuer["iss"] = json!("https://evil.test");
    let mut audience = claims();
    audience["aud"] = json!(["other"]);
    let mut tampered_claims = claims();
    tampered_claims["sub"] = json!("mallory");
    let truncated = &good[..good.len() - 10];
    let cases: Vec<(&str, &Chain, String, &str)> = vec![
        ("alg none", &rs_only, alg_none, "algorithm_not_allowed"),
        (
            "HS256 with the RSA public key, HS not allowed",
            &rs_only,
            confused.clone(),
            "algorithm_not_allowed",
        ),
        (
            "HS256 with the RSA public key, HS allowed",
            &rs_and_hs,
            confused,
            "wrong_key_type",
        ),
        (
            "ES256 token naming the RSA key",
            &rs_and_hs,
            sign(Algorithm::ES256, "rsa", &claims()),
            "wrong_key_type",
        ),
        (
            "expired beyond the leeway",
            &rs_only,
            sign(Algorithm::RS256, "rsa", &expired),
            "expired",
        ),
        (
            "not yet valid beyond the leeway",
            &rs_only,
            sign(Algorithm::RS256, "rsa", &early),
            "not_yet_valid",
        ),
        (
            "wrong issuer",
            &rs_only,
            sign(Algorithm::RS256, "rsa", &issuer),
            "wrong_issuer",
        ),
        (
            "wrong audience",
            &rs_only,
            sign(Algorithm::RS256, "rsa", &audience),
            "wrong_audience",
        ),
        (
            "unknown kid",
            &rs_only,
            sign(Algorithm::RS256, "nobody", &claims()),
            "unknown_kid",
        ),
        (
            "tampered payload",
            &rs_only,
            with_claims(&good, &tampered_claims),
            "bad_signature",
        ),
        (
            "truncated signature",
            &rs_only,
            truncated.to_owned(),
            "bad_signature",
        ),
        (
            "not a JWT",
            &rs_only,
            "abc.def".to_owned(),
            "token_malformed",
        ),
        (
            "garbage header",
            &rs_only,
            format!("!!.{}", &good[good.find('.').unwrap() + 1..]),
            "token_malformed",
        ),
    ];
    for (what, chain, token, want) in cases {
        let mut req = Req::get("/").bearer(&token);
        let got = req.run(chain).err().map(|a| (a.status.as_u16(), a.reason));
        assert_eq!(got, Some((401, want)), "{what}");
    }
    let mut none = Req::get("/");
    assert_eq!(none.reason(&rs_only), "token_missing");
    let mut basic = Req::get("/").header("authorization", "Basic YWxpY2U6cHc=");
    assert_eq!(basic.reason(&rs_only), "token_missing");
}

#[test]
fn a_refusal_says_why_in_a_problem_document_and_a_bearer_challenge() {
    let clock = ManualClock::new();
    let chain = users(jwt(&["RS256"], all_keys()), &clock);
    let answer = Req::get("/").bearer("abc.def").run(&chain).unwrap_err();
    let body: Value = serde_json::from_slice(&answer.body_bytes().unwrap()).unwrap();
    assert_eq!(body["status"], 401);
    assert_eq!(body["policy"], "users");
    assert_eq!(body["reason"], "token_malformed");
    assert_eq!(body["type"], "urn:switchyard:problem:token_malformed");
    let challenge = &answer
        .headers
        .iter()
        .find(|(n, _)| n == "www-authenticate")
        .unwrap()
        .1;
    assert_eq!(
        challenge,
        "Bearer error=\"invalid_token\", error_description=\"token_malformed\""
    );
}

#[test]
fn a_cached_token_still_expires_on_the_clock() {
    let clock = ManualClock::new();
    let chain = users(jwt(&["ES256"], all_keys()), &clock);
    let token = sign(Algorithm::ES256, "ec256", &claims());
    assert_eq!(Req::get("/").bearer(&token).reason(&chain), "passed");
    assert_eq!(Req::get("/").bearer(&token).reason(&chain), "passed");
    clock.advance(Duration::from_secs(600 + 29));
    assert_eq!(
        Req::get("/").bearer(&token).reason(&chain),
        "passed",
        "within the leeway"
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(Req::get("/").bearer(&token).reason(&chain), "expired");
}

#[test]
fn keys_from_a_jwks_document_verify_and_keep_their_algorithm() {
    let clock = ManualClock::new();
    let mut p = jwt(&["RS256", "RS384", "ES256"], Vec::new());
    p.jwks = Some(JWKS.to_owned());
    let chain = users(p, &clock);
    assert_eq!(
        Req::get("/")
            .bearer(&sign(Algorithm::RS256, "rsa-jwk", &claims()))
            .reason(&chain),
        "passed"
    );
    assert_eq!(
        Req::get("/")
            .bearer(&sign(Algorithm::ES256, "ec-jwk", &claims()))
            .reason(&chain),
        "passed"
    );
    // The JWK says RS256; the same key with RS384 is refused.
    assert_eq!(
        Req::get("/")
            .bearer(&sign(Algorithm::RS384, "rsa-jwk", &claims()))
            .reason(&chain),
        "wrong_key_type"
    );
}

#[test]
fn a_short_hmac_secret_is_a_config_error() {
    let p = jwt(
        &["HS256"],
        vec![key("hs", JwtKeyMaterial::Secret("short".to_owned()))],
    );
    let time = switchyard_policy::Timebase::system();
    let err =
        switchyard_policy::Policies::compile(&[policy("users", PolicyKind::Jwt(p))], &time, None)
            .unwrap_err();
    assert_eq!(
        err.to_string(),
        "test.yaml:1:1: users: keys[0]: an HMAC secret needs at least 32 bytes"
    );
}

#[test]
fn two_authorization_headers_are_refused_as_ambiguous() {
    let clock = ManualClock::new();
    let chain = users(jwt(&["RS256"], all_keys()), &clock);
    let good = sign(Algorithm::RS256, "rsa", &claims());
    let answer = Req::get("/")
        .bearer(&good)
        .bearer("forged")
        .run(&chain)
        .unwrap_err();
    assert_eq!(
        (answer.status.as_u16(), answer.reason),
        (400, "credentials_ambiguous")
    );
}

#[test]
fn a_token_is_expired_from_the_second_its_exp_names() {
    let clock = ManualClock::new();
    let mut p = jwt(&["RS256"], all_keys());
    p.leeway = Duration::ZERO;
    let chain = users(p, &clock);
    let mut at_exp = claims();
    at_exp["exp"] = json!(NOW);
    assert_eq!(
        Req::get("/")
            .bearer(&sign(Algorithm::RS256, "rsa", &at_exp))
            .reason(&chain),
        "expired"
    );
}
