//! The verification keys of a `jwt` policy (inline secrets and PEMs, JWKS documents from a
//! file or a URL), each with its algorithm family, and the choice of candidate keys for a
//! token.

use super::Refusal;
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use switchyard_config::{JwtKeyMaterial, JwtPolicy};

pub(super) struct Key {
    pub(super) kid: Option<String>,
    family: AlgorithmFamily,
    /// The one algorithm a JWK says it is for, if it says.
    only: Option<Algorithm>,
    pub(super) decoding: DecodingKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("family", &self.family)
            .finish()
    }
}

pub(super) fn compile(p: &JwtPolicy) -> Result<Vec<Key>, String> {
    let mut keys = Vec::new();
    for (i, k) in p.keys.iter().enumerate() {
        let (decoding, family) = match &k.material {
            JwtKeyMaterial::Secret(s) => (
                hmac(s.as_bytes()).map_err(|e| format!("keys[{i}]: {e}"))?,
                AlgorithmFamily::Hmac,
            ),
            JwtKeyMaterial::Pem(pem) => public_pem(pem).map_err(|e| format!("keys[{i}]: {e}"))?,
        };
        keys.push(Key {
            kid: k.kid.clone(),
            family,
            only: None,
            decoding,
        });
    }
    if let Some(text) = &p.jwks {
        keys.extend(jwks(text)?);
    }
    Ok(keys)
}

fn hmac(secret: &[u8]) -> Result<DecodingKey, String> {
    if secret.len() < 32 {
        return Err("an HMAC secret needs at least 32 bytes".to_owned());
    }
    DecodingKey::from_secret(secret).map_err(|e| e.to_string())
}

/// An RSA, EC or Ed25519 public key in PEM.
fn public_pem(pem: &str) -> Result<(DecodingKey, AlgorithmFamily), String> {
    let bytes = pem.as_bytes();
    if let Ok(k) = DecodingKey::from_rsa_pem(bytes) {
        return Ok((k, AlgorithmFamily::Rsa));
    }
    if let Ok(k) = DecodingKey::from_ec_pem(bytes) {
        return Ok((k, AlgorithmFamily::Ec));
    }
    if let Ok(k) = DecodingKey::from_ed_pem(bytes) {
        return Ok((k, AlgorithmFamily::Ed));
    }
    Err("`pem` is not an RSA, EC or Ed25519 public key in PEM form".to_owned())
}

fn jwks(text: &str) -> Result<Vec<Key>, String> {
    let set: JwkSet =
        serde_json::from_str(text).map_err(|e| format!("the JWKS cannot be read: {e}"))?;
    let mut keys = Vec::with_capacity(set.keys.len());
    for (i, jwk) in set.keys.iter().enumerate() {
        if let Some(key) = jwk_key(jwk).map_err(|e| format!("JWKS keys[{i}]: {e}"))? {
            keys.push(key);
        }
    }
    Ok(keys)
}

/// A fetched JWKS document's keys, and why each key that cannot be used was skipped (an
/// identity provider may publish keys of kinds this gateway does not verify with). Fails when
/// the document is not a JWKS or holds no usable key.
pub(super) fn remote_jwks(body: &[u8]) -> Result<(Vec<Key>, Vec<String>), String> {
    #[derive(serde::Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let doc: Document =
        serde_json::from_slice(body).map_err(|e| format!("the JWKS cannot be read: {e}"))?;
    let (mut keys, mut skipped) = (Vec::new(), Vec::new());
    for (i, value) in doc.keys.into_iter().enumerate() {
        let kid = value
            .get("kid")
            .and_then(|k| k.as_str())
            .unwrap_or("")
            .to_owned();
        let jwk = serde_json::from_value::<Jwk>(value).map_err(|e| e.to_string());
        match jwk.and_then(|jwk| jwk_key(&jwk)) {
            Ok(Some(key)) => keys.push(key),
            Ok(None) => {}
            Err(e) => skipped.push(format!("keys[{i}] (kid `{kid}`): {e}")),
        }
    }
    if keys.is_empty() {
        return Err("the JWKS holds no key that can verify a signature".to_owned());
    }
    Ok((keys, skipped))
}

/// The key of one JWK; none for a key published for encryption, which never verifies a
/// signature.
fn jwk_key(jwk: &Jwk) -> Result<Option<Key>, String> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return Ok(None);
    }
    let decoding = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    if decoding.family() == AlgorithmFamily::Hmac
        && decoding.try_get_as_bytes().map_or(0, <[u8]>::len) < 32
    {
        return Err("an HMAC secret needs at least 32 bytes".to_owned());
    }
    let only = jwk
        .common
        .key_algorithm
        .and_then(|a| a.to_string().parse::<Algorithm>().ok());
    Ok(Some(Key {
        kid: jwk.common.key_id.clone(),
        family: decoding.family(),
        only,
        decoding,
    }))
}

/// The keys that may have signed a token with this `kid` and `alg`: the keys of both lists
/// (configured, fetched) with that `kid` (or every key when the token names none) whose
/// family fits the algorithm.
pub(super) fn candidates<'k>(
    lists: [&'k [Key]; 2],
    kid: Option<&str>,
    alg: Algorithm,
) -> Result<Vec<&'k Key>, Refusal> {
    let keys = lists.into_iter().flatten();
    let named: Vec<&Key> = match kid {
        Some(kid) => keys.filter(|k| k.kid.as_deref() == Some(kid)).collect(),
        None => keys.collect(),
    };
    if named.is_empty() {
        return Err((
            "unknown_kid",
            format!("no key has kid `{}`", kid.unwrap_or_default()),
        ));
    }
    let fitting: Vec<&Key> = named
        .into_iter()
        .filter(|k| k.family == alg.family() && k.only.is_none_or(|a| a == alg))
        .collect();
    if fitting.is_empty() {
        return Err((
            "wrong_key_type",
            format!("no key of the token's kid fits algorithm {alg:?}"),
        ));
    }
    Ok(fitting)
}

/// Why a token's header could not be read: an algorithm the library does not know (`none`
/// included) is refused as not allowed; anything else is malformed.
pub(super) fn header_refusal(token: &str) -> Refusal {
    let header = token.split('.').next().unwrap_or_default();
    let decoded =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header.trim_end_matches('='));
    let alg = decoded
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("alg").and_then(|a| a.as_str()).map(str::to_owned));
    match alg {
        Some(alg) => (
            "algorithm_not_allowed",
            format!("algorithm `{alg}` is not allowed"),
        ),
        None => (
            "token_malformed",
            "the token is not a well-formed JWT".to_owned(),
        ),
    }
}
