//! Rate limits: GCRA (the generic cell rate algorithm: smooth, with bursts) keyed by what the
//! policy names, held in a sharded in-memory table of bounded size, or shared by every gateway
//! through Redis (`redis.rs`). Answers carry the IETF `RateLimit-Policy` / `RateLimit` headers;
//! a 429 also carries `Retry-After`.

mod redis;

use crate::answer::Answer;
use crate::chain::{Exchange, Passed};
use crate::metrics::PolicyMetrics;
use crate::time::Timebase;
use http::{HeaderName, HeaderValue, StatusCode, header};
use sha2::Digest;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};
use switchyard_config::{RateKey, RateLimitPolicy};

/// GCRA's two numbers: one request's share of the period, and how far ahead of now the
/// theoretical arrival time (TAT) may run, which is the burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    interval_ns: u64,
    tolerance_ns: u64,
}

/// One request's fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Requests that could be sent right now after this one.
    pub remaining: u64,
    /// Until a refused request would be allowed.
    pub retry_after_ns: u64,
    /// Until the full burst is available again.
    pub reset_ns: u64,
}

impl Gcra {
    /// `requests` per `per_ns`, with up to `burst` at once.
    pub fn new(requests: u64, per_ns: u64, burst: u64) -> Self {
        let interval_ns = (per_ns / requests.max(1)).max(1);
        Self {
            interval_ns,
            tolerance_ns: interval_ns.saturating_mul(burst.max(1)),
        }
    }

    /// The decision for a request at `now` given the key's stored TAT (0 when new), and the
    /// TAT to store.
    pub fn decide(&self, tat: u64, now: u64) -> (Decision, u64) {
        let next = tat.max(now).saturating_add(self.interval_ns);
        let ahead = next - now;
        if ahead > self.tolerance_ns {
            let decision = Decision {
                allowed: false,
                remaining: 0,
                retry_after_ns: ahead - self.tolerance_ns,
                reset_ns: tat.saturating_sub(now),
            };
            return (decision, tat);
        }
        let decision = Decision {
            allowed: true,
            remaining: (self.tolerance_ns - ahead) / self.interval_ns,
            retry_after_ns: 0,
            reset_ns: ahead,
        };
        (decision, next)
    }
}

/// Key hash -> theoretical arrival time.
type Tats = HashMap<u64, u64, BuildHasherDefault<Prehashed>>;

/// The keys' TATs, sharded, at most `per_shard` keys in each shard.
#[derive(Debug)]
struct Table {
    shards: Box<[Mutex<Tats>]>,
    per_shard: usize,
}

const SHARDS: usize = 32;

impl Table {
    fn new(max_keys: usize) -> Self {
        let shards = (0..SHARDS).map(|_| Mutex::new(HashMap::default()));
        Self {
            shards: shards.collect(),
            per_shard: max_keys.div_ceil(SHARDS).max(1),
        }
    }

    fn update(&self, key: u64, now: u64, gcra: &Gcra) -> Decision {
        let shard = &self.shards[(key >> 32) as usize % SHARDS];
        let mut map = shard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tat = map.get(&key).copied().unwrap_or(0);
        let (decision, next) = gcra.decide(tat, now);
        if decision.allowed {
            if tat == 0 && map.len() >= self.per_shard {
                evict(&mut map, now);
            }
            map.insert(key, next);
        }
        decision
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        let lens = self.shards.iter().map(|s| s.lock().map_or(0, |m| m.len()));
        lens.sum()
    }
}

/// Makes room: first every key whose TAT has passed (a full bucket, the same as no entry, so
/// nothing is lost), then, if the shard is all active keys, the one closest to full.
fn evict(map: &mut Tats, now: u64) {
    let before = map.len();
    map.retain(|_, tat| *tat > now);
    if map.len() == before
        && let Some((&oldest, _)) = map.iter().min_by_key(|(_, tat)| **tat)
    {
        map.remove(&oldest);
    }
}

/// Keys are already hashes; the table uses them as they are.
#[derive(Debug, Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[derive(Debug)]
pub(crate) struct RateLimit {
    gcra: Gcra,
    key: Vec<RateKey>,
    table: Table,
    hasher: std::hash::RandomState,
    time: Timebase,
    policy_header: HeaderValue,
    /// The structured-field item name (`"policy"`), for the `RateLimit` header.
    item: String,
    /// Redis, when the limit is shared, and the prefix of this policy's keys there.
    shared: Option<(redis::Shared, Vec<u8>)>,
}

const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

impl RateLimit {
    pub(crate) fn new(
        name: &str,
        p: &RateLimitPolicy,
        time: &Timebase,
        metrics: &PolicyMetrics,
    ) -> Self {
        let per_ns = u64::try_from(p.per.as_nanos()).unwrap_or(u64::MAX);
        let gcra = Gcra::new(p.requests, per_ns, p.burst);
        let item = sf_string(name);
        let window = p.per.as_secs().max(1);
        let policy_header = format!("{item};q={};w={window}", p.requests);
        // The settings are part of the key: a changed limit starts afresh, as it does locally.
        let prefix = format!("switchyard:rl:{name}:{}:{}:", gcra.interval_ns, p.burst);
        let shared = p.redis.as_ref().map(|r| {
            let failures = metrics.store_failures(name, r.fail_open);
            (redis::Shared::new(r, failures), prefix.into_bytes())
        });
        Self {
            gcra,
            key: p.key.clone(),
            table: Table::new(p.max_keys),
            hasher: std::hash::RandomState::new(),
            time: time.clone(),
            policy_header: HeaderValue::try_from(policy_header)
                .unwrap_or(HeaderValue::from_static("")),
            item,
            shared,
        }
    }

    pub(crate) async fn admit(
        &self,
        name: &Arc<str>,
        ex: &Exchange<'_>,
        passed: &mut Passed,
    ) -> Result<(), Answer> {
        let decision = match &self.shared {
            None => {
                let key = self.key_hash(ex, passed);
                self.table.update(key, self.time.nanos(), &self.gcra)
            }
            Some((shared, prefix)) => {
                // Hashed, so a long header value does not make a long Redis key.
                let mut digest = sha2::Sha256::new();
                self.key_parts(ex, passed, |part| digest.update(part));
                let mut key = prefix.clone();
                key.extend_from_slice(crate::hex(&digest.finalize()).as_bytes());
                match shared.decide(&key, &self.gcra).await {
                    Ok(decision) => decision,
                    Err(e) => return store_failed(name, shared, &e),
                }
            }
        };
        let reset = secs_up(decision.reset_ns);
        let state = format!("{};r={};t={reset}", self.item, decision.remaining);
        let state = HeaderValue::try_from(state).unwrap_or(HeaderValue::from_static(""));
        if decision.allowed {
            passed
                .response_headers
                .push((RATELIMIT_POLICY, self.policy_header.clone()));
            passed.response_headers.push((RATELIMIT, state));
            return Ok(());
        }
        let retry = secs_up(decision.retry_after_ns).max(1);
        let detail = format!("the rate limit is exceeded; retry in {retry} s");
        Err(
            Answer::problem(StatusCode::TOO_MANY_REQUESTS, name, "rate_limited", detail)
                .with_header(header::RETRY_AFTER, HeaderValue::from(retry))
                .with_header(RATELIMIT_POLICY, self.policy_header.clone())
                .with_header(RATELIMIT, state),
        )
    }

    fn key_hash(&self, ex: &Exchange<'_>, passed: &Passed) -> u64 {
        let mut h = self.hasher.build_hasher();
        self.key_parts(ex, passed, |part| h.write(part));
        h.finish()
    }

    /// Feeds the parts of the request's key to `sink`, each followed by a 0xff separator
    /// (a byte no header value or UTF-8 text holds).
    fn key_parts(&self, ex: &Exchange<'_>, passed: &Passed, mut sink: impl FnMut(&[u8])) {
        let identity = passed.identity.as_ref();
        for part in &self.key {
            match part {
                RateKey::ClientIp => sink(&ip_bytes(ex.client_ip)),
                RateKey::Route => sink(ex.route.as_bytes()),
                // Without an API key identity, callers are told apart by their address rather
                // than sharing one bucket.
                RateKey::ApiKey => match identity.filter(|i| i.api_key) {
                    Some(i) => sink(i.id.as_bytes()),
                    None => sink(&ip_bytes(ex.client_ip)),
                },
                RateKey::Header(name) => {
                    let value = ex.headers.get(name.as_str()).map(HeaderValue::as_bytes);
                    sink(value.unwrap_or(b"\0absent"));
                }
                RateKey::Claim(claim) => {
                    let value = identity.and_then(|i| i.claim_text(claim));
                    sink(value.as_deref().unwrap_or("\0absent").as_bytes());
                }
            }
            sink(&[0xff]);
        }
    }

    #[cfg(test)]
    fn keys_held(&self) -> usize {
        self.table.len()
    }
}

/// Redis gave no decision: allow or refuse as configured, and say so (at most once a second
/// per policy in the log; every time in the policy's failure count).
fn store_failed(
    name: &Arc<str>,
    shared: &redis::Shared,
    e: &redis::StoreError,
) -> Result<(), Answer> {
    let failures = shared.failures.get();
    let outcome = if shared.fail_open {
        "allowed"
    } else {
        "refused"
    };
    if shared.log.allow() {
        tracing::warn!(policy = %name, error = %e, failures, outcome, "shared rate limit unavailable");
    }
    if shared.fail_open {
        return Ok(());
    }
    let detail = "the shared rate limit cannot be checked right now".to_owned();
    Err(Answer::problem(
        StatusCode::SERVICE_UNAVAILABLE,
        name,
        "rate_limit_unavailable",
        detail,
    ))
}

/// An address as 16 bytes (IPv4 mapped into IPv6), so either family keys the same way.
fn ip_bytes(ip: std::net::IpAddr) -> [u8; 16] {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        std::net::IpAddr::V6(v6) => v6.octets(),
    }
}

fn secs_up(ns: u64) -> u64 {
    ns.div_ceil(1_000_000_000)
}

/// A structured-field string (RFC 9651): quoted, with `"` and `\` escaped, printable ASCII.
fn sf_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars().filter(|c| (' '..='~').contains(c)) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests;
