//! JWT authentication: a bearer token verified against the policy's keys (inline, a JWKS file,
//! or a JWKS URL fetched in the background) with an explicit algorithm allow-list, then `iss`,
//! `aud`, `exp` and `nbf` checked on the injected clock. Verified tokens are cached, so a
//! repeated token costs no signature check.

mod cache;
mod fetch;
mod keys;
mod refresh;
mod remote;

use crate::answer::Answer;
use crate::chain::Exchange;
use crate::identity::Identity;
use crate::time::Timebase;
use cache::{Cache, Verified};
use http::{HeaderName, HeaderValue, StatusCode, header};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use keys::Key;
use remote::{KeySet, Remote};
use serde_json::{Map, Value};
use std::sync::Arc;
use switchyard_config::JwtPolicy;

#[derive(Debug)]
pub(crate) struct JwtAuth {
    algorithms: Vec<Algorithm>,
    /// Configured keys (inline and `jwks_file`).
    keys: Vec<Key>,
    /// Keys fetched from `jwks_url`, with the task fetching them.
    remote: Option<Remote>,
    /// One per allowed algorithm: the library wants every algorithm of a validation to be of
    /// the key's family.
    validations: Vec<(Algorithm, Validation)>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: u64,
    forward: Vec<(String, HeaderName)>,
    keep_credential: bool,
    time: Timebase,
    cache: Cache,
}

/// Why a token was refused: the reason code and the detail for the problem body.
type Refusal = (&'static str, String);

impl JwtAuth {
    pub(crate) fn new(p: &JwtPolicy, time: &Timebase) -> Result<Self, String> {
        let algorithms: Vec<Algorithm> =
            p.algorithms.iter().filter_map(|a| a.parse().ok()).collect();
        let keys = keys::compile(p)?;
        let remote = p.jwks_url.as_ref().map(|u| Remote::start(u, time));
        let validations = algorithms
            .iter()
            .map(|a| (*a, signature_only(*a)))
            .collect();
        let forward = p
            .forward_claims
            .iter()
            .filter_map(|(claim, h)| Some((claim.clone(), HeaderName::try_from(h.as_str()).ok()?)));
        Ok(Self {
            algorithms,
            keys,
            remote: remote.transpose()?,
            validations,
            issuers: p.issuers.clone(),
            audiences: p.audiences.clone(),
            leeway: p.leeway.as_secs(),
            forward: forward.collect(),
            keep_credential: p.keep_credential,
            time: time.clone(),
            cache: Cache::new(16 * 1024),
        })
    }

    pub(crate) async fn authenticate(
        &self,
        name: &Arc<str>,
        ex: &mut Exchange<'_>,
    ) -> Result<Identity, Answer> {
        let verified = self.verified(ex).await.map_err(|(reason, detail)| {
            if reason == "credentials_ambiguous" {
                return Answer::ambiguous(name, "Authorization header");
            }
            let challenge =
                format!("Bearer error=\"invalid_token\", error_description=\"{reason}\"");
            let challenge =
                HeaderValue::try_from(challenge).unwrap_or(HeaderValue::from_static("Bearer"));
            Answer::problem(StatusCode::UNAUTHORIZED, name, reason, detail)
                .with_header(header::WWW_AUTHENTICATE, challenge)
        })?;
        for (claim, h) in &self.forward {
            let value = verified.claims.get(claim).and_then(claim_header);
            match value {
                Some(v) => ex.headers.insert(h.clone(), v),
                None => ex.headers.remove(h),
            };
        }
        if !self.keep_credential {
            ex.headers.remove(header::AUTHORIZATION);
        }
        Ok(Identity {
            id: verified.subject.clone(),
            api_key: false,
            claims: Some(verified.claims.clone()),
            metadata: None,
        })
    }

    async fn verified(&self, ex: &Exchange<'_>) -> Result<Arc<Verified>, Refusal> {
        if Answer::repeated(ex.headers, header::AUTHORIZATION) {
            let detail = "the request carries more than one Authorization header".to_owned();
            return Err(("credentials_ambiguous", detail));
        }
        let token = bearer(ex).ok_or((
            "token_missing",
            "the request carries no bearer token".to_owned(),
        ))?;
        if let Some(remote) = &self.remote {
            remote.first_fetch().await;
        }
        let now = self.time.unix_secs();
        let fetched = self.remote.as_ref().and_then(Remote::fresh);
        let key_set = fetched.as_ref().map_or(0, |s| s.generation);
        if let Some(hit) = self.cache.get(token).filter(|hit| hit.key_set == key_set) {
            self.check_times(&hit, now)?;
            return Ok(hit);
        }
        let (claims, key_set) = self.signature(token, fetched).await?;
        let verified = Verified::new(claims, key_set).map_err(|d| ("token_malformed", d))?;
        let verified = Arc::new(verified);
        self.check_claims(&verified)?;
        self.check_times(&verified, now)?;
        self.cache.insert(token, verified.clone(), now);
        Ok(verified)
    }

    /// The claims of a token whose signature verifies with a configured key or a fresh fetched
    /// one, and the fetched set's generation (0: none). An unknown `kid` first asks for an
    /// early refetch; with no fresh fetched keys it is refused as `jwks_unavailable`.
    async fn signature(
        &self,
        token: &str,
        mut fetched: Option<Arc<KeySet>>,
    ) -> Result<(Map<String, Value>, u64), Refusal> {
        let mut result = self.verify_signature(token, fetched.as_deref());
        if let Some(remote) = &self.remote {
            let unknown = |r: &Result<_, Refusal>| matches!(r, Err(("unknown_kid", _)));
            if unknown(&result) && fetched.is_some() && remote.refetch_for_unknown_kid().await {
                fetched = remote.fresh();
                result = self.verify_signature(token, fetched.as_deref());
            }
            if unknown(&result) && fetched.is_none() {
                return Err(("jwks_unavailable", remote.unavailable()));
            }
        }
        result.map(|claims| (claims, fetched.map_or(0, |s| s.generation)))
    }

    fn verify_signature(
        &self,
        token: &str,
        fetched: Option<&KeySet>,
    ) -> Result<Map<String, Value>, Refusal> {
        let header = match jsonwebtoken::decode_header(token) {
            Ok(h) => h,
            Err(_) => return Err(keys::header_refusal(token)),
        };
        if !self.algorithms.contains(&header.alg) {
            return Err((
                "algorithm_not_allowed",
                format!("algorithm {:?} is not allowed", header.alg),
            ));
        }
        let fetched = fetched.map_or(&[][..], |s| &s.keys[..]);
        let candidates =
            keys::candidates([&self.keys, fetched], header.kid.as_deref(), header.alg)?;
        let validation = self.validations.iter().find(|(a, _)| *a == header.alg);
        let Some((_, validation)) = validation else {
            return Err((
                "algorithm_not_allowed",
                format!("algorithm {:?} is not allowed", header.alg),
            ));
        };
        let mut last = ErrorKind::InvalidSignature;
        for key in candidates {
            match jsonwebtoken::decode::<Map<String, Value>>(token, &key.decoding, validation) {
                Ok(data) => return Ok(data.claims),
                Err(e) => last = e.into_kind(),
            }
        }
        Err(match last {
            ErrorKind::InvalidSignature => {
                ("bad_signature", "the signature does not verify".to_owned())
            }
            ErrorKind::InvalidAlgorithm => (
                "wrong_key_type",
                "the key does not fit the algorithm".to_owned(),
            ),
            other => (
                "token_malformed",
                format!("the token cannot be read ({other:?})"),
            ),
        })
    }

    fn check_claims(&self, v: &Verified) -> Result<(), Refusal> {
        if !self.issuers.is_empty() && !v.issuer.as_ref().is_some_and(|i| self.issuers.contains(i))
        {
            return Err((
                "wrong_issuer",
                "the token's issuer is not accepted".to_owned(),
            ));
        }
        if !self.audiences.is_empty() && !v.audiences.iter().any(|a| self.audiences.contains(a)) {
            return Err((
                "wrong_audience",
                "the token is not meant for this audience".to_owned(),
            ));
        }
        Ok(())
    }

    fn check_times(&self, v: &Verified, now: u64) -> Result<(), Refusal> {
        if v.expires
            .is_some_and(|exp| now >= exp.saturating_add(self.leeway))
        {
            return Err(("expired", "the token has expired".to_owned()));
        }
        if v.not_before
            .is_some_and(|nbf| now.saturating_add(self.leeway) < nbf)
        {
            return Err(("not_yet_valid", "the token is not valid yet".to_owned()));
        }
        Ok(())
    }
}

/// Claims are checked by the policy, on its clock; the library checks the signature only.
fn signature_only(alg: Algorithm) -> Validation {
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive).
fn bearer<'e>(ex: &'e Exchange<'_>) -> Option<&'e str> {
    let value = ex.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn claim_header(value: &Value) -> Option<HeaderValue> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => {
            let items: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            items.join(" ")
        }
        _ => return None,
    };
    HeaderValue::try_from(text).ok()
}
